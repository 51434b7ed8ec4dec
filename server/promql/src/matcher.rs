//! Label matchers, with regular expressions in Go's (RE2) syntax compiled by the `regex`
//! crate, anchored as Prometheus anchors them (`^(?:…)$`).
//!
//! The two syntaxes are nearly the same; the differences that change results are rewritten
//! before compiling (the approach of `vitrine-scrape-config`'s `go_regex`):
//!
//! * `\d`, `\w`, `\s`, `\b` (and their negations) are ASCII-only in Go but Unicode-aware in
//!   Rust: they become explicit ASCII classes (`\s` is `[\t\n\f\r ]` in Go).
//! * `\Q…\E` literal text exists in Go only: it becomes escaped characters.
//! * Inside a character class Go takes `[`, `&&`, `--` and `~~` literally, Rust reads nested
//!   classes and set operations: those characters are escaped.
//! * A `{` that does not start a valid repetition (`{n}`, `{n,}`, `{n,m}`) is a literal in Go.
//! * Octal escapes (`\123`) are enabled; flags other than Go's `i`, `m`, `s`, `U` are refused.

use std::fmt;

use regex::{Regex, RegexBuilder};

use crate::go;

/// How a matcher compares a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// A label matcher such as `job=~"api|web"`. Equality ignores the compiled regex.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    /// The anchored regex of `=~` and `!~` matchers.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    /// A matcher; a regex matcher's pattern is compiled, and a pattern longer than
    /// `max_regex_bytes` is refused. The error is the message Prometheus would give (close to
    /// Go's `regexp` messages, not always identical).
    pub fn new(op: MatchOp, name: &str, value: &str, max_regex_bytes: usize) -> Result<Self, String> {
        let regex = match op {
            MatchOp::Equal | MatchOp::NotEqual => None,
            MatchOp::Regex | MatchOp::NotRegex => {
                if value.len() > max_regex_bytes {
                    return Err(format!(
                        "regular expression is too long: {} bytes, the limit is {max_regex_bytes} bytes",
                        value.len()
                    ));
                }
                Some(compile_anchored(value, max_regex_bytes)?)
            }
        };
        Ok(Matcher {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
            regex,
        })
    }

    /// Whether the matcher accepts the label value `v` (an absent label has the value "").
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => self.value == v,
            (MatchOp::NotEqual, _) => self.value != v,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            (_, None) => unreachable!("regex matchers always have a regex"),
        }
    }

    /// The compiled, anchored regex of a `=~` or `!~` matcher.
    pub fn regex(&self) -> Option<&Regex> {
        self.regex.as_ref()
    }
}

impl fmt::Display for Matcher {
    /// Prometheus' `Matcher.String()`: `name="value"` with the value quoted as Go's `%q`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.name, self.op.as_str(), go::quote(&self.value))
    }
}

/// Compiles `^(?:pattern)$` as Go would read it.
fn compile_anchored(pattern: &str, max_regex_bytes: usize) -> Result<Regex, String> {
    let anchored = format!("^(?:{pattern})$");
    check_go_syntax(pattern).map_err(|e| format!("error parsing regexp: {e}"))?;
    let translated = vitrine_goregex::translate(&anchored);
    RegexBuilder::new(&translated)
        .octal(true)
        .size_limit(max_regex_bytes.saturating_mul(64).max(1 << 20))
        .build()
        .map_err(|e| go_error(&e, &anchored))
}

/// The errors Go's `regexp/syntax` reports that the `regex` crate does not (or words
/// differently): Perl flags other than `imsU`, stacked repetitions (`a**`), repeat counts above
/// 1000 or reversed, repetitions with nothing to repeat, and unknown escapes.
fn check_go_syntax(p: &str) -> Result<(), String> {
    let chars: Vec<char> = p.chars().collect();
    let text = |from: usize, to: usize| chars[from..to.min(chars.len())].iter().collect::<String>();
    let mut i = 0;
    let mut in_class = false;
    // Where the previous repetition operator started, if the last item was one.
    let mut last_repeat: Option<usize> = None;
    // Whether there is something a repetition could apply to.
    let mut have_operand = false;
    while i < chars.len() {
        let c = chars[i];
        if in_class {
            match c {
                '\\' => {
                    check_escape(&chars, i, true).map_err(|e| format!("invalid escape sequence: `{e}`"))?;
                    i += 2;
                }
                '[' if chars.get(i + 1) == Some(&':') => {
                    match chars[i + 2..].windows(2).position(|w| w == [':', ']']) {
                        Some(len) => i += len + 4,
                        None => i += 1,
                    }
                }
                ']' => {
                    in_class = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        let repeat_len = match c {
            '*' | '+' | '?' => Some(1),
            '{' => repeat_len(&chars[i..]),
            _ => None,
        };
        if let Some(len) = repeat_len {
            let mut end = i + len;
            if c == '{' {
                let inner = text(i + 1, i + len - 1);
                let (min, max) = match inner.split_once(',') {
                    Some((a, b)) => (
                        a.parse::<u32>().unwrap_or(u32::MAX),
                        if b.is_empty() {
                            None
                        } else {
                            Some(b.parse::<u32>().unwrap_or(u32::MAX))
                        },
                    ),
                    None => (
                        inner.parse::<u32>().unwrap_or(u32::MAX),
                        Some(inner.parse::<u32>().unwrap_or(u32::MAX)),
                    ),
                };
                if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
                    return Err(format!("invalid repeat count: `{}`", text(i, end)));
                }
            }
            if chars.get(end) == Some(&'?') {
                end += 1;
            }
            if let Some(start) = last_repeat {
                return Err(format!("invalid nested repetition operator: `{}`", text(start, end)));
            }
            if !have_operand {
                return Err(format!("missing argument to repetition operator: `{}`", text(i, end)));
            }
            last_repeat = Some(i);
            i = end;
            continue;
        }
        last_repeat = None;
        match c {
            '\\' => {
                if chars.get(i + 1) == Some(&'Q') {
                    let rest = text(i + 2, chars.len());
                    let len = rest
                        .find("\\E")
                        .map_or(rest.chars().count(), |b| rest[..b].chars().count() + 2);
                    i += 2 + len;
                    have_operand = true;
                    continue;
                }
                check_escape(&chars, i, false).map_err(|e| format!("invalid escape sequence: `{e}`"))?;
                have_operand = true;
                i += 2;
                if matches!(chars.get(i - 1), Some('p' | 'P')) && chars.get(i) == Some(&'{') {
                    while i < chars.len() && chars[i] != '}' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '[' => {
                in_class = true;
                have_operand = true;
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
            }
            '(' => {
                have_operand = false;
                if chars.get(i + 1) == Some(&'?') {
                    let from = i;
                    i += 2;
                    if chars.get(i) == Some(&'P') && chars.get(i + 1) == Some(&'<') {
                        i += 2;
                        continue;
                    }
                    loop {
                        match chars.get(i) {
                            Some('i' | 'm' | 's' | 'U' | '-') => i += 1,
                            Some(':') => {
                                i += 1;
                                break;
                            }
                            Some(')') if i > from + 2 => {
                                i += 1;
                                break;
                            }
                            _ => return Err(format!("invalid or unsupported Perl syntax: `{}`", text(from, i + 1))),
                        }
                    }
                } else {
                    i += 1;
                }
            }
            '|' => {
                have_operand = false;
                i += 1;
            }
            _ => {
                have_operand = true;
                i += 1;
            }
        }
    }
    Ok(())
}

/// The length of a repetition `{n}`, `{n,}` or `{n,m}` at the start of the text.
fn repeat_len(chars: &[char]) -> Option<usize> {
    vitrine_goregex::is_repeat(chars).then(|| chars.iter().position(|c| *c == '}').expect("closed") + 1)
}

/// Checks the escape at `chars[i]` (a backslash) against Go's list; the error is its text.
fn check_escape(chars: &[char], i: usize, in_class: bool) -> Result<(), String> {
    let Some(&e) = chars.get(i + 1) else {
        return Ok(()); // A trailing backslash: the regex crate reports it.
    };
    let ok = match e {
        // `\1` alone would be a backreference, which Go does not support; `\12` is octal.
        '1'..='7' => matches!(chars.get(i + 2), Some('0'..='7')),
        '0' | 'a' | 'f' | 't' | 'n' | 'r' | 'v' | 'x' | 'p' | 'P' | 'd' | 'D' | 's' | 'S' | 'w' | 'W' => true,
        'b' | 'B' | 'A' | 'z' => !in_class,
        c if c.is_ascii_punctuation() => true,
        _ => false,
    };
    if ok { Ok(()) } else { Err(format!("\\{e}")) }
}

/// Go's `regexp` error text for the commonest mistakes, else the `regex` crate's reason.
fn go_error(e: &regex::Error, anchored: &str) -> String {
    let msg = match e {
        regex::Error::Syntax(msg) => msg
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .map(str::to_owned)
            .unwrap_or_else(|| msg.trim().to_owned()),
        regex::Error::CompiledTooBig(_) => return "error parsing regexp: expression too large".to_owned(),
        other => other.to_string(),
    };
    let go = if msg.contains("unclosed group") {
        format!("missing closing ): `{anchored}`")
    } else if msg.contains("unopened group") {
        format!("unexpected ): `{anchored}`")
    } else if msg.contains("unclosed character class") {
        let from = anchored.rfind('[').unwrap_or(0);
        format!("missing closing ]: `{}`", &anchored[from..])
    } else if msg.contains("repetition operator missing expression") {
        "missing argument to repetition operator".to_owned()
    } else if msg.contains("incomplete escape sequence") {
        "trailing backslash at end of expression: ``".to_owned()
    } else if msg.contains("unrecognized escape sequence") {
        "invalid escape sequence".to_owned()
    } else if msg.contains("invalid character class range") {
        "invalid character class range".to_owned()
    } else {
        msg
    };
    format!("error parsing regexp: {go}")
}
