//! Go (RE2) regular expressions on top of the `regex` crate.
//!
//! The two syntaxes are nearly the same. The differences that change results for
//! relabelling are handled here:
//!
//! * `\d`, `\w`, `\s`, `\b` (and their negations) are ASCII-only in Go but Unicode-aware in
//!   Rust: they are rewritten to explicit ASCII classes (`\s` is `[\t\n\f\r ]` in Go).
//! * `\Q…\E` literal text exists in Go only: it is rewritten to escaped characters.
//! * Inside a character class Go takes `[`, `&&`, `--` and `~~` literally, Rust reads nested
//!   classes and set operations: those characters are escaped.
//! * Octal escapes (`\123`) are enabled.
//!
//! Replacement templates are expanded with Go's `Regexp.Expand` rules ([`expand`]).

use regex::{Captures, Regex, RegexBuilder};

/// Compiles a Go regular expression.
///
/// Errors are the `regex` crate's message about the pattern as written by the user.
pub(crate) fn compile(go_pattern: &str) -> Result<Regex, String> {
    let translated = vitrine_goregex::translate(go_pattern);
    RegexBuilder::new(&translated).octal(true).build().map_err(|e| match e {
        regex::Error::Syntax(msg) => last_line(&msg),
        regex::Error::CompiledTooBig(limit) => format!("the compiled regex exceeds the size limit of {limit} bytes"),
        other => other.to_string(),
    })
}

/// The `error: …` line of a multi-line `regex` syntax error, which is the part that stays
/// meaningful once the pattern has been rewritten.
fn last_line(msg: &str) -> String {
    msg.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| msg.trim().to_owned())
}

/// Expands a replacement template the way Go's `Regexp.ExpandString` does.
///
/// `$name` and `${name}` are replaced by the named or numbered group (an unknown or
/// unmatched group gives the empty string); the name is the longest run of letters, digits
/// and `_`, so `$1x` means the group named `1x`; `$$` is a literal `$`; a `$` not followed by
/// a valid name is kept as is.
pub(crate) fn expand(re: &Regex, caps: &Captures<'_>, template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = extract_name(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        match group_number(name) {
            Some(n) => {
                if let Some(m) = caps.get(n) {
                    out.push_str(m.as_str());
                }
            }
            None => {
                if let Some(index) = re.capture_names().position(|n| n == Some(name))
                    && let Some(m) = caps.get(index)
                {
                    out.push_str(m.as_str());
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// Go's `extract`: the name after a `$`, and the text after it.
fn extract_name(s: &str) -> Option<(&str, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|c| c.is_alphabetic() || c.is_numeric() || *c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let mut rest = &body[len..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    Some((name, rest))
}

/// The group number a name stands for: all ASCII digits, no leading zero, below 10⁸.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || (name.len() > 1 && name.starts_with('0')) || name.len() > 8 {
        return None;
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchored(p: &str) -> Regex {
        compile(&format!("^(?:{p})$")).unwrap()
    }

    fn exp(p: &str, input: &str, template: &str) -> String {
        let re = anchored(p);
        let caps = re.captures(input).expect("matches");
        expand(&re, &caps, template)
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(anchored(r"\d+").is_match("123"));
        assert!(!anchored(r"\d").is_match("٣")); // Arabic-Indic digit three
        assert!(!anchored(r"\w").is_match("é"));
        assert!(anchored(r"\W").is_match("é"));
        assert!(anchored(r"\D").is_match("٣"));
        assert!(!anchored(r"\s").is_match("\u{a0}"));
        assert!(!anchored(r"\s").is_match("\u{b}")); // Go's \s has no vertical tab
        assert!(anchored(r"[\d_]+").is_match("1_2"));
        assert!(anchored(r"[\D]").is_match("x"));
        assert!(!anchored(r"[\D]").is_match("1"));
        assert!(anchored(r"[^\w]").is_match("-"));
        assert!(anchored(r"a\b.*").is_match("a b"));
        assert!(!anchored(r"a\b.*").is_match("ab"));
        assert!(anchored(r"a\Bb").is_match("ab"));
        // A non-ASCII letter is not a word character for Go's \b either.
        assert!(anchored(r"a\bé").is_match("aé"));
    }

    #[test]
    fn go_only_syntax() {
        assert!(anchored(r"\Q1.5*\E").is_match("1.5*"));
        assert!(!anchored(r"\Q1.5\E").is_match("125"));
        // Without \E the literal runs to the end of the pattern, swallowing the anchor's ")" as in Go.
        assert!(compile(r"^(?:\Qa[b)$").is_err());
        assert!(compile(r"\Qa[b").unwrap().is_match("a[b"));
        assert!(anchored(r"[[]").is_match("["));
        assert!(anchored(r"[]a]+").is_match("]a"));
        assert!(anchored(r"[^]a]").is_match("b"));
        assert!(anchored(r"[a&&b]+").is_match("a&b"));
        assert!(anchored(r"[a~~]+").is_match("a~"));
        assert!(anchored(r"[a-c--]+").is_match("b-"));
        assert!(anchored(r"[[:alpha:]]+").is_match("abc"));
        assert!(anchored(r"[[:^digit:]x]+").is_match("ax"));
        assert!(anchored(r"\101").is_match("A"));
    }

    #[test]
    fn common_syntax_passes_through() {
        assert!(anchored(r"(?i)foo").is_match("FOO"));
        assert!(anchored(r"(?P<name>a+)b").is_match("aab"));
        assert!(anchored(r"\pL+").is_match("Äb"));
        assert!(anchored(r"\x41\.").is_match("A."));
        assert!(anchored(".").is_match("é"));
        assert!(!anchored(".").is_match("\n"));
        assert!(anchored("(?s).").is_match("\n"));
    }

    #[test]
    fn errors_are_one_line() {
        let err = compile("^(?:(abc)$").unwrap_err();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.contains("unclosed group"), "{err}");
    }

    #[test]
    fn expand_like_go() {
        assert_eq!(exp("(a)(b)", "ab", "$2$1"), "ba");
        assert_eq!(exp("(a)(b)", "ab", "${1}x"), "ax");
        assert_eq!(exp("(a)(b)", "ab", "$1x"), ""); // group "1x" does not exist
        assert_eq!(exp("(a)(b)", "ab", "$$1"), "$1");
        assert_eq!(exp("(a)(b)", "ab", "$"), "$");
        assert_eq!(exp("(a)(b)", "ab", "x$-y"), "x$-y");
        assert_eq!(exp("(a)(b)", "ab", "${1"), "${1");
        assert_eq!(exp("(a)(b)", "ab", "$3"), "");
        assert_eq!(exp("(a)(b)", "ab", "$01"), ""); // leading zero: a name, not a number
        assert_eq!(exp("(a)(b)", "ab", "$0"), "ab");
        assert_eq!(exp("(?P<first>a)(?P<second>b)", "ab", "${second}-$first"), "b-a");
        assert_eq!(exp("(?P<first>a)(b)?", "a", "[$2]"), "[]");
        // Go takes letters beyond ASCII into the name: `$1é` is the group named "1é".
        assert_eq!(exp("(.*)", "x", "é$1é"), "é");
        assert_eq!(exp("(.*)", "x", "é${1}é"), "éxé");
        assert_eq!(exp("(.*)", "x", "${é}"), "");
    }
}
