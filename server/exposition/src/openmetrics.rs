//! OpenMetrics 1.0 text, following `openmetricslex.l` /
//! `openmetricsparse.go` of Prometheus 2.42 token by token: single spaces
//! only, no blank lines, no comments, `# EOF` last, float-second
//! timestamps, exemplars on `_total` / `_bucket` samples.

use std::borrow::Cow;

use crate::common::{
    PErr, check_duplicates, err, got, is_lname_start, is_name_start, quoted, scan_lname, scan_name, unescape,
};
use crate::float::{parse_float, seconds_to_millis};
use crate::{Core, MetricType, Raw};

/// End of a `[^ \n]+` token (value or timestamp) starting at `i`; golex
/// classes never include NUL.
#[inline]
fn scan_token(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if matches!(c, b' ' | b'\n' | 0) {
            break;
        }
        i += 1;
    }
    i
}

#[inline]
fn exemplar_follows(b: &[u8], space: usize) -> bool {
    b.get(space..space + 4) == Some(b" # {")
}

pub(crate) fn next<'a>(c: &mut Core<'a>) -> Result<Option<Raw<'a>>, PErr> {
    let b = c.src.b;
    let i = c.pos;
    match b.get(i) {
        None => err(i, "data does not end with # EOF"),
        Some(b'#') => hash(c, i),
        Some(&ch) if is_name_start(ch) => {
            let (raw, p) = sample(c, i)?;
            c.pos = p;
            Ok(Some(raw))
        }
        Some(_) => err(i, format!("expected a metric name or \"# \", got {}", got(b, i))),
    }
}

/// A line starting with `#` at `i`: `# HELP`, `# TYPE`, `# UNIT` or
/// `# EOF`. Anything else is an error, OpenMetrics has no comments.
fn hash<'a>(c: &mut Core<'a>, i: usize) -> Result<Option<Raw<'a>>, PErr> {
    let src = c.src;
    let b = src.b;
    if b.get(i + 1) != Some(&b' ') {
        return err(i + 1, format!("expected a space after '#', got {}", got(b, i + 1)));
    }
    let k = i + 2;
    let (rest, kind): (&[u8], u8) = match b.get(k) {
        Some(b'H') => (b"ELP ", b'H'),
        Some(b'T') => (b"YPE ", b'T'),
        Some(b'U') => (b"NIT ", b'U'),
        Some(b'E') => (b"OF", b'E'),
        _ => return err(k, not_a_keyword(b, k)),
    };
    // Prometheus' lexer skips NUL bytes in its comment state.
    let skip_nul = |mut i: usize| {
        while b.get(i) == Some(&0) {
            i += 1;
        }
        i
    };
    let mut j = k + 1;
    for &want in rest {
        j = skip_nul(j);
        if b.get(j) != Some(&want) {
            return err(j, not_a_keyword(b, j));
        }
        j += 1;
    }
    j = skip_nul(j);
    if kind == b'E' {
        if b.get(j) == Some(&b'\n') {
            j = skip_nul(j + 1);
        }
        if j < b.len() {
            return err(j, "unexpected data after # EOF");
        }
        c.pos = j;
        return Ok(None);
    }
    let what = match kind {
        b'H' => "HELP",
        b'T' => "TYPE",
        _ => "UNIT",
    };
    let m = j;
    if !b.get(m).is_some_and(|&ch| is_name_start(ch)) {
        return err(m, format!("expected metric name after {what}, got {}", got(b, m)));
    }
    let e = scan_name(b, m);
    let metric = src.ascii(m, e);
    if b.get(e) != Some(&b' ') {
        return err(
            e,
            format!(
                "expected a space and text after the metric name in {what}, got {}",
                got(b, e)
            ),
        );
    }
    let ts = e + 1;
    let Some(len) = b.get(ts..).and_then(|r| r.iter().position(|&ch| ch == b'\n')) else {
        return err(
            b.len(),
            format!("expected line break at the end of {what}, got end of input"),
        );
    };
    let text = &b[ts..ts + len];
    let raw = match kind {
        b'H' => {
            let s = src.str(ts, ts + len, "help text")?;
            // OpenMetrics uses label value escaping in HELP, `\"` included.
            Raw::Help(metric, unescape(s, true))
        }
        b'T' => {
            let kind = match text {
                b"counter" => MetricType::Counter,
                b"gauge" => MetricType::Gauge,
                b"histogram" => MetricType::Histogram,
                b"gaugehistogram" => MetricType::GaugeHistogram,
                b"summary" => MetricType::Summary,
                b"info" => MetricType::Info,
                b"stateset" => MetricType::StateSet,
                b"unknown" => MetricType::Unknown,
                _ => return err(ts, format!("invalid metric type {}", quoted(text))),
            };
            Raw::Type(metric, kind)
        }
        _ => {
            // A non-empty unit must be a `_`-separated suffix of the name.
            let name = metric.as_bytes();
            let ok = text.is_empty()
                || (name.len() > text.len() && name.ends_with(text) && name[name.len() - text.len() - 1] == b'_');
            if !ok {
                return err(
                    ts,
                    format!("unit {} is not a suffix of metric \"{metric}\"", quoted(text)),
                );
            }
            // A suffix of an ASCII name is ASCII.
            Raw::Unit(metric, src.ascii(ts, ts + len))
        }
    };
    c.pos = ts + len + 1;
    Ok(Some(raw))
}

fn not_a_keyword(b: &[u8], at: usize) -> String {
    format!(
        "expected HELP, TYPE, UNIT or EOF after \"# \" (OpenMetrics has no comments), got {}",
        got(b, at)
    )
}

/// A sample line whose metric name starts at `i`.
fn sample<'a>(c: &mut Core<'a>, i: usize) -> Result<(Raw<'a>, usize), PErr> {
    let src = c.src;
    let b = src.b;
    let e = scan_name(b, i);
    let name = src.ascii(i, e);
    c.labels.clear();
    c.exemplar_labels.clear();
    let mut j = e;
    if b.get(j) == Some(&b'{') {
        j = labels(c, j + 1, false)?;
    }
    let value = value_after(b, j, "metric")?;
    j = value.1;
    let value = value.0;
    let mut timestamp_ms = None;
    let mut exemplar_at = None;
    let next;
    match b.get(j) {
        None => return err(j, "data does not end with # EOF"),
        Some(b'\n') => next = j + 1,
        Some(b' ') if exemplar_follows(b, j) => {
            exemplar_at = Some(j + 1);
            next = 0;
        }
        Some(b' ') => {
            let (ts, end) = timestamp(b, j + 1, "timestamp")?;
            timestamp_ms = Some(ts);
            j = end;
            match b.get(j) {
                Some(b'\n') => next = j + 1,
                Some(b' ') if exemplar_follows(b, j) => {
                    exemplar_at = Some(j + 1);
                    next = 0;
                }
                _ => {
                    return err(
                        j,
                        format!("expected line break or exemplar after timestamp, got {}", got(b, j)),
                    );
                }
            }
        }
        Some(_) => {
            return err(
                j,
                format!("expected timestamp, exemplar or line break, got {}", got(b, j)),
            );
        }
    }
    let (exemplar, next) = match exemplar_at {
        None => (None, next),
        Some(h) => {
            // Prometheus 2.42 (`validateNameForExemplar`) only accepts
            // exemplars on counter totals and histogram buckets.
            if !(name.ends_with("_total") || name.ends_with("_bucket")) {
                return err(
                    h,
                    format!(
                        "metric name \"{name}\" does not support exemplars (only _total and _bucket samples may have one)"
                    ),
                );
            }
            let (ex, next) = exemplar(c, h + 3)?;
            (Some(ex), next)
        }
    };
    check_duplicates(b, &c.labels, true, &mut c.scratch)?;
    check_duplicates(b, &c.exemplar_labels, false, &mut c.scratch)?;
    Ok((
        Raw::Sample {
            name,
            value,
            timestamp_ms,
            exemplar,
        },
        next,
    ))
}

/// ` value` at `j` (a space, then `[^ \n]+`). Returns the value and the
/// position after it.
fn value_after(b: &[u8], j: usize, after: &str) -> Result<(f64, usize), PErr> {
    if b.get(j) != Some(&b' ') {
        return err(
            j,
            format!("expected a space and a value after {after}, got {}", got(b, j)),
        );
    }
    let vs = j + 1;
    let ve = scan_token(b, vs);
    if ve == vs {
        return err(vs, format!("expected value after {after}, got {}", got(b, vs)));
    }
    let tok = &b[vs..ve];
    match parse_float(tok) {
        Ok(v) => Ok((v, ve)),
        Err(fe) => err(vs, format!("invalid value {}: {}", quoted(tok), fe.describe())),
    }
}

/// A float-seconds timestamp token at `s`; NaN and infinities are refused.
fn timestamp(b: &[u8], s: usize, what: &str) -> Result<(i64, usize), PErr> {
    let e = scan_token(b, s);
    if e == s {
        return err(s, format!("expected {what}, got {}", got(b, s)));
    }
    let tok = &b[s..e];
    match parse_float(tok) {
        Ok(ts) if ts.is_finite() => Ok((seconds_to_millis(ts), e)),
        Ok(_) => err(s, format!("invalid {what} {}", quoted(tok))),
        Err(fe) => err(s, format!("invalid {what} {}: {}", quoted(tok), fe.describe())),
    }
}

/// The exemplar after `# {` (label set starting at `j`); returns the
/// exemplar value and timestamp and the position after the line.
fn exemplar(c: &mut Core<'_>, j: usize) -> Result<((f64, Option<i64>), usize), PErr> {
    let b = c.src.b;
    let j = labels(c, j, true)?;
    let (value, j) = value_after(b, j, "exemplar labels")?;
    match b.get(j) {
        None => err(j, "data does not end with # EOF"),
        Some(b'\n') => Ok(((value, None), j + 1)),
        Some(b' ') => {
            let (ts, j) = timestamp(b, j + 1, "exemplar timestamp")?;
            if b.get(j) == Some(&b'\n') {
                Ok(((value, Some(ts)), j + 1))
            } else {
                err(
                    j,
                    format!("expected line break after exemplar timestamp, got {}", got(b, j)),
                )
            }
        }
        Some(_) => err(
            j,
            format!("expected exemplar timestamp or line break, got {}", got(b, j)),
        ),
    }
}

/// A label set after `{` (at `j`), no whitespace anywhere, commas between
/// pairs, no trailing comma (Prometheus 2.42), `{}` allowed. Returns the
/// position after `}`.
fn labels(c: &mut Core<'_>, mut j: usize, exemplar: bool) -> Result<usize, PErr> {
    let src = c.src;
    let b = src.b;
    let mut first = true;
    loop {
        match b.get(j) {
            Some(b'}') => return Ok(j + 1),
            Some(b',') if !first => {
                j += 1;
                if !b.get(j).is_some_and(|&ch| is_lname_start(ch)) {
                    return err(j, format!("expected label name after ',', got {}", got(b, j)));
                }
            }
            Some(&ch) if first && is_lname_start(ch) => {}
            _ if first => {
                return err(j, format!("expected label name or '}}', got {}", got(b, j)));
            }
            _ => {
                return err(j, format!("expected ',' or '}}', got {}", got(b, j)));
            }
        }
        first = false;
        let ls = j;
        j = scan_lname(b, j);
        let lname = src.ascii(ls, j);
        if b.get(j) != Some(&b'=') {
            return err(j, format!("expected '=' after label name, got {}", got(b, j)));
        }
        j += 1;
        if b.get(j) != Some(&b'"') {
            return err(j, format!("expected quoted label value, got {}", got(b, j)));
        }
        let (close, escaped) = scan_value(b, j, exemplar)?;
        let s = src.str(j + 1, close, "label value")?;
        let value = if escaped { unescape(s, true) } else { Cow::Borrowed(s) };
        let out = if exemplar {
            &mut c.exemplar_labels
        } else {
            &mut c.labels
        };
        out.push((lname, value));
        j = close + 1;
    }
}

/// `\"(\\.|[^\\"\n])*\"` from the opening quote `q`. In sample labels
/// Prometheus' lexer skips NUL bytes (so they are allowed anywhere inside);
/// in exemplar labels it does not (so they are refused). Returns the
/// position of the closing quote and whether there was a backslash.
fn scan_value(b: &[u8], q: usize, exemplar: bool) -> Result<(usize, bool), PErr> {
    let mut j = q + 1;
    let mut escaped = false;
    loop {
        match b.get(j) {
            None => return err(q, "unterminated label value"),
            Some(b'"') => return Ok((j, escaped)),
            Some(b'\n') => return err(j, "line break in label value"),
            Some(0) if exemplar => return err(j, "NUL byte in exemplar label value"),
            Some(b'\\') => {
                escaped = true;
                let esc = j;
                j += 1;
                if !exemplar {
                    while b.get(j) == Some(&0) {
                        j += 1;
                    }
                }
                match b.get(j) {
                    None => return err(q, "unterminated label value"),
                    Some(b'\n') | Some(0) => {
                        return err(esc, "invalid escape sequence in label value");
                    }
                    Some(_) => j += 1,
                }
            }
            Some(_) => j += 1,
        }
    }
}
