#![allow(dead_code)]

use std::borrow::Cow;

use vitrine_exposition::{Entry, Format, ParseError, Parser, Sample};

pub fn parse(input: &[u8], format: Format) -> Result<Vec<Entry<'_>>, ParseError> {
    let mut p = Parser::new(input, format);
    let mut out = Vec::new();
    while let Some(e) = p.next_entry()? {
        out.push(e);
    }
    // Finished parsers stay finished.
    assert_eq!(p.next_entry(), Ok(None));
    Ok(out)
}

pub fn text(input: &str) -> Vec<Entry<'_>> {
    parse(input.as_bytes(), Format::PrometheusText).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

pub fn om(input: &str) -> Vec<Entry<'_>> {
    parse(input.as_bytes(), Format::OpenMetrics).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

/// The error for `input`, after any number of good entries; also checks
/// that the parser stays stopped afterwards.
pub fn error(input: &[u8], format: Format) -> ParseError {
    let mut p = Parser::new(input, format);
    loop {
        match p.next_entry() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("{:?}: no error", String::from_utf8_lossy(input)),
            Err(e) => {
                assert_eq!(p.next_entry(), Ok(None));
                return e;
            }
        }
    }
}

/// Asserts the error position and that the message contains `needle`.
#[track_caller]
pub fn assert_error(input: &str, format: Format, line: usize, column: usize, needle: &str) {
    let e = error(input.as_bytes(), format);
    assert_eq!((e.line, e.column), (line, column), "{input:?}: wrong position for {e}");
    assert!(
        e.message.contains(needle),
        "{input:?}: message {:?} lacks {needle:?}",
        e.message
    );
}

pub fn samples<'a>(entries: &[Entry<'a>]) -> Vec<Sample<'a>> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

pub fn sample<'a>(entries: &[Entry<'a>]) -> Sample<'a> {
    let s = samples(entries);
    assert_eq!(s.len(), 1, "{entries:?}");
    s.into_iter().next().unwrap()
}

pub fn labels(s: &Sample<'_>) -> Vec<(String, String)> {
    s.labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

pub fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

#[allow(clippy::ptr_arg)] // the point is to look at the Cow itself
pub fn is_borrowed(c: &Cow<'_, str>) -> bool {
    matches!(c, Cow::Borrowed(_))
}
