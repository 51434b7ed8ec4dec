//! Go's regular expressions (RE2 syntax, as Prometheus uses them in label
//! matchers and relabelling) for Rust's `regex` crate, which reads some of the
//! same text differently. Shared by the PromQL parser and the relabelling code.

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\f\r ";

/// Rewrites a Go (RE2) pattern into the Rust `regex` syntax with the same meaning:
/// `\d`, `\w`, `\s` and `\b` stay ASCII-only as in Go, `\Q…\E` quotes literally, and a
/// `{` that does not start a repetition is a literal, as Go reads it.
pub fn translate(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // Position right after a class's opening `[` or `[^`, where `]` is literal.
    let mut class_start = false;
    while i < chars.len() {
        let c = chars[i];
        let at_class_start = std::mem::replace(&mut class_start, false);
        match c {
            '\\' if i + 1 < chars.len() => {
                let e = chars[i + 1];
                i += 2;
                match e {
                    'Q' => {
                        // Literal text up to `\E` or the end of the pattern.
                        while i < chars.len() {
                            if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                                i += 2;
                                break;
                            }
                            push_literal(&mut out, chars[i]);
                            i += 1;
                        }
                    }
                    'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                        let set = match e.to_ascii_lowercase() {
                            'd' => DIGIT,
                            'w' => WORD,
                            _ => SPACE,
                        };
                        let negated = e.is_ascii_uppercase();
                        match (in_class, negated) {
                            (true, false) => out.push_str(set),
                            _ => {
                                out.push('[');
                                if negated {
                                    out.push('^');
                                }
                                out.push_str(set);
                                out.push(']');
                            }
                        }
                    }
                    'b' | 'B' if !in_class => {
                        out.push_str("(?-u:\\");
                        out.push(e);
                        out.push(')');
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_start = true;
            }
            ']' if in_class && at_class_start => {
                out.push_str("\\]");
                i += 1;
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
                i += 1;
            }
            '[' if in_class => {
                // `[:alpha:]` is a POSIX class in both syntaxes; any other `[` is literal in Go.
                if chars.get(i + 1) == Some(&':')
                    && let Some(len) = chars[i + 2..].windows(2).position(|w| w == [':', ']'])
                {
                    out.extend(&chars[i..i + 2 + len + 2]);
                    i += 2 + len + 2;
                } else {
                    out.push_str("\\[");
                    i += 1;
                }
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            '-' if in_class && chars.get(i + 1) == Some(&'-') => {
                out.push_str("-\\-");
                i += 2;
            }
            '{' if !in_class && !is_repeat(&chars[i..]) => {
                out.push_str("\\{");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Whether the text starts with a repetition Go recognises: `{n}`, `{n,}` or `{n,m}`.
pub fn is_repeat(chars: &[char]) -> bool {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let from = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > from
    };
    if !digits(&mut i) {
        return false;
    }
    if chars.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    chars.get(i) == Some(&'}')
}

fn push_literal(out: &mut String, c: char) {
    if regex_syntax_meta(c) {
        out.push('\\');
    }
    out.push(c);
}

fn regex_syntax_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' | '&' | '-' | '~'
    )
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn go_meanings_survive_the_translation() {
        assert_eq!(translate("a{"), "a\\{");
        assert_eq!(translate("a{2}"), "a{2}");
        assert!(translate("\\d").contains("0-9"));
    }
}
