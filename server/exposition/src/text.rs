//! The Prometheus text format 0.0.4, following `promlex.l` / `promparse.go`
//! of Prometheus 2.42 token by token.
//!
//! Prometheus appends a `\n` to the body before lexing; here the end of the
//! input plays that role wherever a line break is expected.

use std::borrow::Cow;

use crate::common::{
    PErr, Src, check_duplicates, err, got, is_lname_start, is_name_start, quoted, scan_lname, scan_name, unescape,
};
use crate::float::{parse_float, parse_int_timestamp};
use crate::{Core, MetricType, Raw};

/// `[ \t]*` from `i` (the `<*>[ \t]+` whitespace token outside the states
/// where Prometheus' lexer skips NUL bytes).
#[inline]
fn blank(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t') = b.get(i) {
        i += 1;
    }
    i
}

/// Bytes that end a value token `[^{ \t\n]+` (golex classes never include
/// NUL).
#[inline]
fn ends_value(c: u8) -> bool {
    matches!(c, b'{' | b' ' | b'\t' | b'\n' | 0)
}

/// Position after the line break that ends the line containing `i` (or the
/// end of the input).
fn after_line(b: &[u8], i: usize) -> usize {
    match b.get(i..).and_then(|rest| rest.iter().position(|&c| c == b'\n')) {
        Some(p) => i + p + 1,
        None => b.len(),
    }
}

enum Hash<'a> {
    /// A comment: continue at this position.
    Skip(usize),
    /// A NUL byte where Prometheus' lexer returns EOF: stop quietly.
    Stop,
    /// A HELP or TYPE line, and the position after it.
    Meta(Raw<'a>, usize),
}

pub(crate) fn next<'a>(c: &mut Core<'a>) -> Result<Option<Raw<'a>>, PErr> {
    let src = c.src;
    let b = src.b;
    loop {
        let i = blank(b, c.pos);
        let Some(&ch) = b.get(i) else {
            c.pos = b.len();
            return Ok(None);
        };
        match ch {
            b'\n' => c.pos = i + 1,
            // `\0 return tEOF`: Prometheus stops reading here, without error.
            0 => return Ok(None),
            b'#' => match hash(src, i)? {
                Hash::Skip(p) => c.pos = p,
                Hash::Stop => return Ok(None),
                Hash::Meta(raw, p) => {
                    c.pos = p;
                    return Ok(Some(raw));
                }
            },
            ch if is_name_start(ch) => {
                let (raw, p) = sample(c, i)?;
                c.pos = p;
                return Ok(Some(raw));
            }
            _ => {
                return err(
                    i,
                    format!("expected a metric name, a comment or a blank line, got {}", got(b, i)),
                );
            }
        }
    }
}

/// A line starting with `#` at `i`.
fn hash(src: Src<'_>, i: usize) -> Result<Hash<'_>, PErr> {
    let b = src.b;
    if !matches!(b.get(i + 1), Some(b' ' | b'\t')) {
        // `#` not followed by blanks: a comment up to the line break, but the
        // lexer treats a NUL byte in it as the end of the input.
        let mut k = i + 1;
        loop {
            match b.get(k) {
                None => return Ok(Hash::Skip(b.len())),
                Some(b'\n') => return Ok(Hash::Skip(k + 1)),
                Some(0) => return Ok(Hash::Stop),
                Some(_) => k += 1,
            }
        }
    }
    let k = blank(b, i + 1);
    let kind = match b.get(k) {
        Some(0) => return Ok(Hash::Stop),
        Some(b'H') => (b"ELP", true),
        Some(b'T') => (b"YPE", false),
        // Any other comment; NUL bytes are skipped inside comments.
        _ => return Ok(Hash::Skip(after_line(b, k))),
    };
    let m = match keyword(b, k + 1, kind.0) {
        Ok(m) => m,
        Err(fail) => return Ok(Hash::Skip(after_line(b, fail))),
    };
    meta(src, m, kind.1).map(|(raw, p)| Hash::Meta(raw, p))
}

/// Matches the rest of `HELP[\t ]+` / `TYPE[\t ]+` from `i`, skipping NUL
/// bytes as Prometheus' lexer does in its comment state. Returns where the
/// metric name should start, or the position where matching failed.
fn keyword(b: &[u8], mut i: usize, rest: &[u8]) -> Result<usize, usize> {
    let skip_nul = |mut i: usize| {
        while b.get(i) == Some(&0) {
            i += 1;
        }
        i
    };
    for &want in rest {
        i = skip_nul(i);
        if b.get(i) != Some(&want) {
            return Err(i);
        }
        i += 1;
    }
    i = skip_nul(i);
    if !matches!(b.get(i), Some(b' ' | b'\t')) {
        return Err(i);
    }
    while let Some(b' ' | b'\t' | 0) = b.get(i) {
        i += 1;
    }
    Ok(i)
}

/// `# HELP name text` / `# TYPE name type`, the metric name starting at `m`.
fn meta(src: Src<'_>, m: usize, help: bool) -> Result<(Raw<'_>, usize), PErr> {
    let b = src.b;
    let what = if help { "HELP" } else { "TYPE" };
    if !b.get(m).is_some_and(|&c| is_name_start(c)) {
        return err(m, format!("expected metric name after {what}, got {}", got(b, m)));
    }
    let e = scan_name(b, m);
    let metric = src.ascii(m, e);
    let (rest, line_end) = match b.get(e..).and_then(|r| r.iter().position(|&c| c == b'\n')) {
        Some(p) => (&b[e..e + p], e + p + 1),
        None => (&b[e..], b.len()),
    };
    // The text token: the line after the name minus its first byte; a run of
    // blanks (with NULs) alone is whitespace and leaves the text empty; a NUL
    // right after the name ends the text (and then the line, in error).
    let (text, text_at, nul_after) = match rest.first() {
        None => (&rest[..0], e, false),
        Some(0) => (&rest[..0], e, true),
        Some(b' ' | b'\t') if rest.iter().all(|c| matches!(c, b' ' | b'\t' | 0)) => (&rest[..0], e, false),
        Some(_) => (&rest[1..], e + 1, false),
    };
    let raw = if help {
        let s = src.str(text_at, text_at + text.len(), "help text")?;
        Raw::Help(metric, unescape(s, false))
    } else {
        let kind = match text {
            b"counter" => MetricType::Counter,
            b"gauge" => MetricType::Gauge,
            b"histogram" => MetricType::Histogram,
            b"summary" => MetricType::Summary,
            b"untyped" => MetricType::Unknown,
            _ => return err(text_at, format!("invalid metric type {}", quoted(text))),
        };
        Raw::Type(metric, kind)
    };
    if nul_after {
        return err(e, format!("expected line break after metadata, got {}", got(b, e)));
    }
    Ok((raw, line_end))
}

/// A sample line whose metric name starts at `i`.
fn sample<'a>(c: &mut Core<'a>, i: usize) -> Result<(Raw<'a>, usize), PErr> {
    let src = c.src;
    let b = src.b;
    let e = scan_name(b, i);
    let name = src.ascii(i, e);
    c.labels.clear();
    c.exemplar_labels.clear();
    let mut j = blank(b, e);
    if b.get(j) == Some(&b'{') {
        j = labels(c, j + 1)?;
        j = blank(b, j);
    }
    let vs = j;
    while b.get(j).is_some_and(|&ch| !ends_value(ch)) {
        j += 1;
    }
    if j == vs {
        return err(vs, format!("expected value after metric, got {}", got(b, vs)));
    }
    let tok = &b[vs..j];
    let value = parse_float(tok).map_err(|fe| PErr {
        pos: vs,
        msg: format!("invalid value {}: {}", quoted(tok), fe.describe()),
    })?;
    j = blank(b, j);
    let (timestamp_ms, next) = match b.get(j) {
        None => (None, b.len()),
        Some(b'\n') => (None, j + 1),
        Some(ch) if ch.is_ascii_digit() => {
            let ts_start = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            let tok = &b[ts_start..j];
            let Some(ts) = parse_int_timestamp(tok) else {
                return err(
                    ts_start,
                    format!("invalid timestamp {}: value out of range", quoted(tok)),
                );
            };
            j = blank(b, j);
            match b.get(j) {
                None => (Some(ts), b.len()),
                Some(b'\n') => (Some(ts), j + 1),
                Some(_) => {
                    return err(j, format!("expected line break after timestamp, got {}", got(b, j)));
                }
            }
        }
        Some(_) => {
            return err(j, format!("expected timestamp or line break, got {}", got(b, j)));
        }
    };
    check_duplicates(b, &c.labels, true, &mut c.scratch)?;
    Ok((
        Raw::Sample {
            name,
            value,
            timestamp_ms,
            exemplar: None,
        },
        next,
    ))
}

/// The label set after `{` (at `j`); returns the position after `}`.
/// Blanks are allowed around every token, the comma between pairs is
/// optional and a trailing comma is allowed (as in Prometheus 2.42).
fn labels(c: &mut Core<'_>, mut j: usize) -> Result<usize, PErr> {
    let src = c.src;
    let b = src.b;
    loop {
        j = blank(b, j);
        match b.get(j) {
            Some(b'}') => return Ok(j + 1),
            Some(&ch) if is_lname_start(ch) => {}
            _ => {
                return err(j, format!("expected label name or '}}', got {}", got(b, j)));
            }
        }
        let ls = j;
        j = scan_lname(b, j);
        let lname = src.ascii(ls, j);
        j = blank(b, j);
        if b.get(j) != Some(&b'=') {
            return err(j, format!("expected '=' after label name, got {}", got(b, j)));
        }
        j += 1;
        // Whitespace before the value; the lexer is in its label-value state
        // here and skips NUL bytes after the first blank.
        if let Some(b' ' | b'\t') = b.get(j) {
            j += 1;
            while let Some(b' ' | b'\t' | 0) = b.get(j) {
                j += 1;
            }
        }
        if b.get(j) != Some(&b'"') {
            return err(j, format!("expected quoted label value, got {}", got(b, j)));
        }
        let (close, escaped) = scan_value(b, j)?;
        let s = src.str(j + 1, close, "label value")?;
        let value = if escaped { unescape(s, true) } else { Cow::Borrowed(s) };
        c.labels.push((lname, value));
        j = blank(b, close + 1);
        if b.get(j) == Some(&b',') {
            j += 1;
        }
    }
}

/// `\"(\\.|[^\\"])*\"` starting at the opening quote `q`, NUL bytes allowed
/// anywhere inside (Prometheus skips them in this state), raw line breaks
/// allowed, but not a backslash followed by a line break. Returns the
/// position of the closing quote and whether there was a backslash.
fn scan_value(b: &[u8], q: usize) -> Result<(usize, bool), PErr> {
    let mut j = q + 1;
    let mut escaped = false;
    loop {
        match b.get(j) {
            None => return err(q, "unterminated label value"),
            Some(b'"') => return Ok((j, escaped)),
            Some(b'\\') => {
                escaped = true;
                let esc = j;
                j += 1;
                while b.get(j) == Some(&0) {
                    j += 1;
                }
                match b.get(j) {
                    None => return err(q, "unterminated label value"),
                    Some(b'\n') => {
                        return err(esc, "invalid escape sequence in label value: '\\' before a line break");
                    }
                    Some(_) => j += 1,
                }
            }
            Some(_) => j += 1,
        }
    }
}
