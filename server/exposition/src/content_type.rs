//! Content negotiation, as Prometheus 2.42 scrapes.

use crate::Format;

/// The `Accept` header Prometheus 2.42 sends on scrapes: OpenMetrics 1.0.0
/// preferred, then OpenMetrics 0.0.1, then the text format 0.0.4, then
/// anything.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The parser format for a scrape response's `Content-Type`.
///
/// Like `textparse.New` in Prometheus 2.42: OpenMetrics only when the media
/// type (case-insensitive, surrounding whitespace ignored, any `version`
/// parameter accepted) is `application/openmetrics-text`; the text format
/// for everything else, including a missing or empty header and a header
/// that Go's `mime.ParseMediaType` rejects (Prometheus then falls back to
/// the text parser).
pub fn format_for_content_type(content_type: Option<&str>) -> Format {
    match content_type {
        Some(ct) if is_openmetrics(ct) => Format::OpenMetrics,
        _ => Format::PrometheusText,
    }
}

fn is_openmetrics(ct: &str) -> bool {
    let (base, params) = match ct.find(';') {
        Some(i) => (&ct[..i], &ct[i..]),
        None => (ct, ""),
    };
    // Go lower-cases with Unicode rules, but no non-ASCII character lowers
    // into this ASCII string except the Kelvin sign (to 'k', absent here).
    base.trim().eq_ignore_ascii_case("application/openmetrics-text") && params_ok(params)
}

/// RFC 2045 tspecials.
fn is_tspecial(c: char) -> bool {
    "()<>@,;:\\\"/[]?=".contains(c)
}

fn is_token_char(c: char) -> bool {
    c > ' ' && c < '\u{7f}' && !is_tspecial(c)
}

fn consume_token(v: &str) -> (&str, &str) {
    let end = v.find(|c: char| !is_token_char(c)).unwrap_or(v.len());
    v.split_at(end)
}

/// Go's `consumeValue`: a token or a quoted string. `None` when nothing
/// valid was consumed.
fn consume_value(v: &str) -> Option<(String, &str)> {
    if !v.starts_with('"') {
        let (tok, rest) = consume_token(v);
        return if tok.is_empty() {
            None
        } else {
            Some((tok.to_string(), rest))
        };
    }
    let mut out = String::new();
    let mut chars = v.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &v[i + 1..])),
            '\\' if chars.peek().is_some_and(|&(_, n)| is_tspecial(n)) => {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            }
            '\r' | '\n' => return None,
            _ => out.push(c),
        }
    }
    None
}

/// Go's `consumeMediaParam`: `; key = value`.
fn consume_param(v: &str) -> Option<(String, String, &str)> {
    let rest = v.trim_start().strip_prefix(';')?.trim_start();
    let (key, rest) = consume_token(rest);
    if key.is_empty() {
        return None;
    }
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let (value, rest) = consume_value(rest)?;
    Some((key.to_ascii_lowercase(), value, rest))
}

/// The parameter loop of Go's `mime.ParseMediaType`, reporting only whether
/// it succeeds.
fn params_ok(mut v: &str) -> bool {
    let mut seen: Vec<(String, String)> = Vec::new();
    loop {
        v = v.trim_start();
        if v.is_empty() {
            return true;
        }
        match consume_param(v) {
            None => return v.trim() == ";",
            Some((key, value, rest)) => {
                if seen.iter().any(|(k, val)| *k == key && *val != value) {
                    return false;
                }
                seen.push((key, value));
                v = rest;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        use Format::*;
        let f = |s| format_for_content_type(Some(s));
        assert_eq!(format_for_content_type(None), PrometheusText);
        assert_eq!(f(""), PrometheusText);
        assert_eq!(f("text/plain; version=0.0.4; charset=utf-8"), PrometheusText);
        assert_eq!(f("application/openmetrics-text"), OpenMetrics);
        assert_eq!(
            f("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            OpenMetrics
        );
        assert_eq!(f("application/openmetrics-text;version=0.0.1"), OpenMetrics);
        assert_eq!(f("  Application/OpenMetrics-Text ;version=1.0.0"), OpenMetrics);
        assert_eq!(f("application/openmetrics-text;"), OpenMetrics);
        assert_eq!(f("application/openmetrics-text; charset=\"utf-8\""), OpenMetrics);
        // Rejected by mime.ParseMediaType, so Prometheus falls back.
        assert_eq!(f("application/openmetrics-text; version"), PrometheusText);
        assert_eq!(f("application/openmetrics-text;;"), PrometheusText);
        assert_eq!(f("application/openmetrics-text; a=1; a=2"), PrometheusText);
        assert_eq!(f("application/openmetrics-text; a=1; a=1"), OpenMetrics);
        assert_eq!(f("application/openmetrics-text; a=\"x"), PrometheusText);
        assert_eq!(f("application/openmetrics-text x"), PrometheusText);
        assert_eq!(f("application/vnd.google.protobuf"), PrometheusText);
        assert_eq!(f("application/openmetrics-textx"), PrometheusText);
    }

    #[test]
    fn accept_header_prefers_openmetrics() {
        assert!(ACCEPT_HEADER.starts_with("application/openmetrics-text;version=1.0.0,"));
        assert!(ACCEPT_HEADER.ends_with("*/*;q=0.1"));
    }
}
