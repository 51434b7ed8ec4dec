//! Pieces shared by the two format parsers: character classes, label value
//! scanning and unescaping, duplicate detection, error construction.

use std::borrow::Cow;

use crate::Label;

/// An error before it is turned into a [`crate::ParseError`]: a byte offset
/// into the input (the offending byte or the start of the offending token)
/// and a message.
#[derive(Debug)]
pub(crate) struct PErr {
    pub pos: usize,
    pub msg: String,
}

pub(crate) fn err<T>(pos: usize, msg: impl Into<String>) -> Result<T, PErr> {
    Err(PErr { pos, msg: msg.into() })
}

const NAME_START: u8 = 1;
const NAME_CONT: u8 = 2;
const LNAME_START: u8 = 4;
const LNAME_CONT: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let letter = c.is_ascii_alphabetic() || c == b'_';
        let mut f = 0;
        if letter || c == b':' {
            f |= NAME_START | NAME_CONT;
        }
        if c.is_ascii_digit() {
            f |= NAME_CONT | LNAME_CONT;
        }
        if letter {
            f |= LNAME_START | LNAME_CONT;
        }
        t[i] = f;
        i += 1;
    }
    t
};

/// `[a-zA-Z_:]`
#[inline]
pub(crate) fn is_name_start(c: u8) -> bool {
    CLASS[c as usize] & NAME_START != 0
}

/// `[a-zA-Z_]`
#[inline]
pub(crate) fn is_lname_start(c: u8) -> bool {
    CLASS[c as usize] & LNAME_START != 0
}

/// End of a metric name (`[a-zA-Z0-9_:]*`) starting at `i`.
#[inline]
pub(crate) fn scan_name(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if CLASS[c as usize] & NAME_CONT == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// End of a label name (`[a-zA-Z0-9_]*`) starting at `i`.
#[inline]
pub(crate) fn scan_lname(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if CLASS[c as usize] & LNAME_CONT == 0 {
            break;
        }
        i += 1;
    }
    i
}

/// The input, plus its longest valid UTF-8 prefix (validated once): `&str`
/// tokens are sliced out of that prefix, and only tokens past the first
/// invalid byte are validated one by one (which keeps error positions and
/// their order exact).
#[derive(Clone, Copy)]
pub(crate) struct Src<'a> {
    pub b: &'a [u8],
    valid: &'a str,
}

impl<'a> Src<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Src<'a> {
        let valid = match std::str::from_utf8(b) {
            Ok(s) => s,
            Err(e) => b
                .get(..e.valid_up_to())
                .and_then(|v| std::str::from_utf8(v).ok())
                .unwrap_or_default(),
        };
        Src { b, valid }
    }

    /// Bytes `a..e` as `&str`, or an error at the first invalid byte.
    #[inline]
    pub(crate) fn str(&self, a: usize, e: usize, what: &str) -> Result<&'a str, PErr> {
        if let Some(s) = self.valid.get(a..e) {
            return Ok(s);
        }
        let raw = self.b.get(a..e).unwrap_or_default();
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s),
            Err(x) => err(a + x.valid_up_to(), format!("invalid UTF-8 in {what}")),
        }
    }

    /// Bytes `a..e`, which the caller has checked to be ASCII, as `&str`.
    #[inline]
    pub(crate) fn ascii(&self, a: usize, e: usize) -> &'a str {
        // Never fails on ASCII ranges; the fallback keeps this total.
        self.str(a, e, "").unwrap_or_default()
    }
}

/// Undoes escaping: `\\` → `\`, `\n` → line feed and, when `quote` is set,
/// `\"` → `"`. Any other backslash is kept as is (like Go's
/// `strings.Replacer` that Prometheus uses). Borrows when there is nothing to
/// replace.
pub(crate) fn unescape(raw: &str, quote: bool) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let Some(first) = bytes.iter().position(|&c| c == b'\\') else {
        return Cow::Borrowed(raw);
    };
    let mut out = String::with_capacity(raw.len());
    let mut last = 0;
    let mut i = first;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let rep = match bytes.get(i + 1) {
                Some(b'\\') => Some('\\'),
                Some(b'n') => Some('\n'),
                Some(b'"') if quote => Some('"'),
                _ => None,
            };
            if let Some(r) = rep {
                // `last` and `i` sit next to ASCII bytes: char boundaries.
                out.push_str(&raw[last..i]);
                out.push(r);
                i += 2;
                last = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&raw[last..]);
    Cow::Owned(out)
}

/// Byte offset of `s` (a sub-slice of `input`) in `input`.
#[inline]
pub(crate) fn offset_in(input: &[u8], s: &str) -> usize {
    (s.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize)
}

/// Rejects a label set that names a label twice, or (for samples, where the
/// metric name is the implicit `__name__`) that has a `__name__` label. The
/// error points at the first label that repeats an earlier one.
pub(crate) fn check_duplicates<'a>(
    input: &[u8],
    labels: &[Label<'a>],
    is_sample: bool,
    scratch: &mut Vec<(&'a str, usize)>,
) -> Result<(), PErr> {
    let bad = if labels.len() <= 16 {
        let mut bad = None;
        'outer: for (i, (name, _)) in labels.iter().enumerate() {
            if is_sample && *name == "__name__" {
                bad = Some(i);
                break;
            }
            for (prev, _) in &labels[..i] {
                if prev == name {
                    bad = Some(i);
                    break 'outer;
                }
            }
        }
        bad
    } else {
        scratch.clear();
        scratch.extend(labels.iter().enumerate().map(|(i, (n, _))| (*n, i)));
        scratch.sort_unstable();
        let mut bad: Option<usize> = None;
        let mut keep_min = |i: usize| {
            if bad.is_none_or(|b| i < b) {
                bad = Some(i);
            }
        };
        for w in scratch.windows(2) {
            if w[0].0 == w[1].0 {
                keep_min(w[1].1);
            }
        }
        if is_sample {
            for (n, i) in scratch.iter() {
                if *n == "__name__" {
                    keep_min(*i);
                }
            }
        }
        bad
    };
    match bad.and_then(|i| labels.get(i)) {
        None => Ok(()),
        Some((name, _)) => {
            let msg = if *name == "__name__" && is_sample {
                "label name \"__name__\" is not allowed: it duplicates the metric name".to_string()
            } else {
                format!("duplicate label name \"{name}\"")
            };
            err(offset_in(input, name), msg)
        }
    }
}

/// A short description of what is at `pos`, for "expected X, got Y" messages.
pub(crate) fn got(b: &[u8], pos: usize) -> String {
    match b.get(pos) {
        None => "end of input".to_string(),
        Some(b'\n') => "line break".to_string(),
        Some(&c) if c < 0x80 => format!("{:?}", c as char),
        Some(_) => {
            let end = b.len().min(pos + 4);
            let tail = b.get(pos..end).unwrap_or_default();
            let valid = match std::str::from_utf8(tail) {
                Ok(s) => s,
                Err(e) => tail
                    .get(..e.valid_up_to())
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .unwrap_or_default(),
            };
            match valid.chars().next() {
                Some(ch) => format!("{ch:?}"),
                None => format!("byte 0x{:02x}", b[pos]),
            }
        }
    }
}

/// Quotes (a prefix of) a token for an error message.
pub(crate) fn quoted(tok: &[u8]) -> String {
    const MAX: usize = 64;
    let cut = tok.get(..MAX).unwrap_or(tok);
    let s = String::from_utf8_lossy(cut);
    if cut.len() < tok.len() {
        format!("{s:?}…")
    } else {
        format!("{s:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_matches_go_replacer() {
        assert!(matches!(unescape("plain", true), Cow::Borrowed("plain")));
        assert_eq!(unescape(r#"a\"b"#, true), "a\"b");
        assert_eq!(unescape(r#"a\"b"#, false), r#"a\"b"#);
        assert_eq!(unescape(r"a\\nb", true), r"a\nb");
        assert_eq!(unescape(r"a\nb", true), "a\nb");
        assert_eq!(unescape(r"\t\x", true), r"\t\x");
        assert_eq!(unescape(r"end\", true), r"end\");
        assert_eq!(unescape(r"é\\ü\n", true), "é\\ü\n");
    }

    #[test]
    fn character_classes() {
        assert!(is_name_start(b':') && is_name_start(b'_') && is_name_start(b'Z'));
        assert!(!is_name_start(b'1') && !is_name_start(b'-'));
        assert!(!is_lname_start(b':') && is_lname_start(b'_'));
        assert_eq!(scan_name(b"ab:c_9 x", 0), 6);
        assert_eq!(scan_lname(b"ab:c", 0), 2);
    }

    #[test]
    fn duplicate_detection_small_and_large() {
        let input = b"x";
        let mut scratch = Vec::new();
        let mk =
            |names: &[&'static str]| -> Vec<Label<'static>> { names.iter().map(|n| (*n, Cow::Borrowed(""))).collect() };
        assert!(check_duplicates(input, &mk(&["a", "b"]), true, &mut scratch).is_ok());
        assert!(check_duplicates(input, &mk(&["a", "b", "a"]), true, &mut scratch).is_err());
        assert!(check_duplicates(input, &mk(&["__name__"]), true, &mut scratch).is_err());
        assert!(check_duplicates(input, &mk(&["__name__"]), false, &mut scratch).is_ok());
        let names: Vec<String> = (0..40).map(|i| format!("l{i}")).collect();
        let leaked: Vec<&'static str> = names.iter().map(|s| &*Box::leak(s.clone().into_boxed_str())).collect();
        assert!(check_duplicates(input, &mk(&leaked), true, &mut scratch).is_ok());
        let mut dup = leaked.clone();
        dup.push("l3");
        assert!(check_duplicates(input, &mk(&dup), true, &mut scratch).is_err());
    }
}
