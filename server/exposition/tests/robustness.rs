//! No panics, no endless loops, sane output and exact error positions on
//! any input; round trips of generated documents.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use vitrine_exposition::{Entry, EntryRef, Format, Label, ParseError, Parser};

const FORMATS: [Format; 2] = [Format::PrometheusText, Format::OpenMetrics];

const TEXT_DOC: &str = r#"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 12345.67
node_cpu_seconds_total{cpu="0",mode="user"} 1.2e+03 1700000000000
# comment
http_request_duration_seconds_bucket{handler="/api",le="0.005"} 3
http_request_duration_seconds_bucket{handler="/api",le="+Inf",} 7
http_request_duration_seconds_sum{handler="/a\"p\\i\n"} NaN
weird { a = "b" , c="d" }	-Inf
"#;

const OM_DOC: &str = r#"# HELP http_requests Requests.
# TYPE http_requests counter
# UNIT http_requests_seconds seconds
http_requests_total{code="200",path="/a\"b\\c\nd"} 1027 1395066363.000
http_requests_created{code="200"} 1395066363.5
# TYPE h histogram
h_bucket{le="0.1"} 8 # {trace_id="abc"} 0.054
h_bucket{le="+Inf"} 17 # {} 9.8 1520879607.789
h_count 17
h_sum 324789.3
# TYPE s stateset
s{s="a"} 1
# EOF
"#;

/// Runs a parser to the end and checks every invariant. Returns the entries
/// (owned) and the error, if any.
fn drive(input: &[u8], format: Format) -> (Vec<Entry<'_>>, Option<ParseError>) {
    let mut owned = Parser::new(input, format);
    let mut lent = Parser::new(input, format);
    let mut entries = Vec::new();
    let mut calls = 0usize;
    let error = loop {
        calls += 1;
        assert!(calls <= input.len() + 2, "more entries than bytes");
        let a = owned.next_entry();
        let b = lent.next_entry_ref().map(|o| o.map(|e| e.to_entry()));
        assert_eq!(key(&a), key(&b), "owned and lending APIs disagree");
        match a {
            Ok(Some(e)) => {
                check_entry(input, &e);
                entries.push(e);
            }
            Ok(None) => break None,
            Err(e) => {
                check_error(input, &e);
                break Some(e);
            }
        }
    };
    // Stopped parsers stay stopped.
    assert_eq!(owned.next_entry(), Ok(None));
    assert!(matches!(lent.next_entry_ref(), Ok(None)));
    (entries, error)
}

/// A comparison key that treats NaN values as equal when their bits are.
fn key(r: &Result<Option<Entry<'_>>, ParseError>) -> String {
    let bits = match r {
        Ok(Some(Entry::Sample(s))) => format!(
            "{:x} {:?}",
            s.value.to_bits(),
            s.exemplar.as_ref().map(|x| x.value.to_bits())
        ),
        _ => String::new(),
    };
    format!("{r:?} {bits}")
}

fn entries_key(e: &[Entry<'_>]) -> Vec<String> {
    e.iter().map(|x| key(&Ok(Some(x.clone())))).collect()
}

fn in_input(input: &[u8], s: &str) -> bool {
    let start = input.as_ptr() as usize;
    let p = s.as_ptr() as usize;
    p >= start && p + s.len() <= start + input.len()
}

fn is_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b':')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

fn check_labels(input: &[u8], labels: &[Label<'_>], sample: bool) {
    for (i, (n, v)) in labels.iter().enumerate() {
        assert!(is_label_name(n) && in_input(input, n), "{n:?}");
        assert!(!(sample && *n == "__name__"));
        assert!(labels[..i].iter().all(|(m, _)| m != n), "duplicate {n}");
        assert!(v.len() <= input.len());
    }
}

fn check_entry(input: &[u8], e: &Entry<'_>) {
    match e {
        Entry::Help { metric, text } => {
            assert!(is_metric_name(metric) && in_input(input, metric));
            assert!(text.len() <= input.len());
        }
        Entry::Type { metric, .. } => assert!(is_metric_name(metric) && in_input(input, metric)),
        Entry::Unit { metric, unit } => {
            assert!(is_metric_name(metric) && in_input(input, metric));
            assert!(unit.is_empty() || metric.ends_with(&format!("_{unit}")));
        }
        Entry::Sample(s) => {
            assert!(is_metric_name(s.name) && in_input(input, s.name), "{:?}", s.name);
            check_labels(input, &s.labels, true);
            if let Some(x) = &s.exemplar {
                assert!(s.name.ends_with("_total") || s.name.ends_with("_bucket"));
                check_labels(input, &x.labels, false);
            }
        }
    }
}

fn check_error(input: &[u8], e: &ParseError) {
    let lines: Vec<&[u8]> = input.split(|&c| c == b'\n').collect();
    assert!(e.line >= 1 && e.line <= lines.len(), "{e} for {} lines", lines.len());
    assert!(
        e.column >= 1 && e.column <= lines[e.line - 1].len() + 1,
        "{e}: line has {} bytes",
        lines[e.line - 1].len()
    );
    assert!(!e.message.is_empty());
    assert_eq!(
        e.to_string(),
        format!("line {}, column {}: {}", e.line, e.column, e.message)
    );
}

/// `PROPTEST_CASES` overrides the default number of cases (for long runs).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const INTERESTING: &[u8] = b"{}\",=\\ \t\n#\0\r.eE+-_:aZ09HELPTYUNIOF\xff\xc3\xa9";

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        3 => proptest::sample::select(INTERESTING),
        1 => any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), byte).prop_map(|(p, b)| Mutation::Replace(p, b)),
        (any::<usize>(), 1usize..40).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
    ]
}

fn apply(doc: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut d = doc.to_vec();
    for m in muts {
        let len = d.len();
        match *m {
            Mutation::Insert(p, b) => d.insert(p % (len + 1), b),
            Mutation::Delete(p) if len > 0 => {
                d.remove(p % len);
            }
            Mutation::Replace(p, b) if len > 0 => d[p % len] = b,
            Mutation::Duplicate(p, n) if len > 0 => {
                let s = p % len;
                let e = (s + n).min(len);
                let chunk = d[s..e].to_vec();
                d.splice(e..e, chunk);
            }
            _ => {}
        }
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        for f in FORMATS {
            drive(&input, f);
        }
    }

    #[test]
    fn arbitrary_interesting_bytes(
        input in proptest::collection::vec(proptest::sample::select(INTERESTING), 0..256)
    ) {
        for f in FORMATS {
            drive(&input, f);
        }
    }

    #[test]
    fn mutated_documents(muts in proptest::collection::vec(mutation(), 1..8)) {
        for (doc, f) in [(TEXT_DOC, Format::PrometheusText), (OM_DOC, Format::OpenMetrics)] {
            let input = apply(doc.as_bytes(), &muts);
            drive(&input, f);
            // The other format must cope as well.
            let other = if f == Format::OpenMetrics { Format::PrometheusText } else { Format::OpenMetrics };
            drive(&input, other);
        }
    }
}

#[test]
fn valid_documents_parse() {
    let (e, err) = drive(TEXT_DOC.as_bytes(), Format::PrometheusText);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(e.len(), 8);
    let (e, err) = drive(OM_DOC.as_bytes(), Format::OpenMetrics);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(e.len(), 12);
}

#[test]
fn every_prefix_of_valid_documents() {
    for (doc, f) in [(TEXT_DOC, Format::PrometheusText), (OM_DOC, Format::OpenMetrics)] {
        let full = drive(doc.as_bytes(), f).0;
        for cut in 0..=doc.len() {
            let (entries, err) = drive(&doc.as_bytes()[..cut], f);
            // A prefix yields a prefix of the entries (the last one may be cut
            // short, e.g. a shorter value or a HELP text).
            let stable = entries.len().saturating_sub(1);
            assert_eq!(
                entries_key(&entries[..stable]),
                entries_key(&full[..stable]),
                "cut at {cut}"
            );
            if f == Format::OpenMetrics && cut < doc.len() - 1 {
                assert!(err.is_some(), "OpenMetrics prefix without # EOF accepted: {cut}");
            }
        }
    }
}

#[test]
fn pathological_inputs_stay_linear() {
    let started = Instant::now();
    // 100k labels on one line, with a repeat at the end.
    let mut line = String::from("m{");
    for i in 0..100_000 {
        line.push_str(&format!("l{i}=\"v\","));
    }
    line.push_str("l99999=\"x\"} 1\n");
    let e = drive(line.as_bytes(), Format::PrometheusText).1.unwrap();
    assert!(e.message.contains("duplicate"));
    // Long runs of blanks, comments, escapes and digits.
    let mut big = Vec::new();
    big.extend(std::iter::repeat_n(b' ', 500_000));
    big.extend_from_slice(b"a{b=\"");
    big.extend(std::iter::repeat_n(b'\\', 200_000));
    big.extend_from_slice(b"\"} ");
    big.extend(std::iter::repeat_n(b'9', 100_000));
    big.push(b'\n');
    big.extend(std::iter::repeat_n(b'#', 200_000));
    for f in FORMATS {
        drive(&big, f);
    }
    let many_lines = "\n".repeat(1_000_000);
    drive(many_lines.as_bytes(), Format::PrometheusText);
    assert!(started.elapsed() < Duration::from_secs(20));
}

// ---------------------------------------------------------------------------
// Round trips of generated documents.

#[derive(Debug, Clone)]
struct Gen {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    ts: Option<i64>,
}

fn name_strategy() -> impl Strategy<Value = String> {
    "[a-zA-Z_:][a-zA-Z0-9_:]{0,20}"
}

fn gen_sample() -> impl Strategy<Value = Gen> {
    let value = prop_oneof![
        any::<f64>(),
        (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ];
    (
        name_strategy(),
        proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,10}", any::<String>(), 0..6),
        value,
        proptest::option::of(0i64..4_000_000_000_000),
    )
        .prop_map(|(name, labels, value, ts)| Gen {
            name,
            labels: labels.into_iter().filter(|(n, _)| n != "__name__").collect(),
            value,
            ts,
        })
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:e}")
    }
}

fn render(samples: &[Gen], om: bool) -> String {
    let mut out = String::new();
    for s in samples {
        out.push_str(&s.name);
        out.push('{');
        for (i, (n, v)) in s.labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("{n}=\"{}\"", escape(v)));
        }
        out.push_str("} ");
        out.push_str(&go_float(s.value));
        if let Some(ts) = s.ts {
            if om {
                out.push_str(&format!(" {}.{:03}", ts / 1000, ts % 1000));
            } else {
                out.push_str(&format!(" {ts}"));
            }
        }
        out.push('\n');
    }
    if om {
        out.push_str("# EOF\n");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(500), ..ProptestConfig::default() })]

    #[test]
    fn round_trip(samples in proptest::collection::vec(gen_sample(), 0..20)) {
        for om in [false, true] {
            let doc = render(&samples, om);
            let f = if om { Format::OpenMetrics } else { Format::PrometheusText };
            let mut p = Parser::new(doc.as_bytes(), f);
            let mut i = 0;
            while let Some(e) = p.next_entry_ref().unwrap_or_else(|e| panic!("{e}\n{doc}")) {
                let EntryRef::Sample(s) = e else { panic!("unexpected {e:?}") };
                let g = &samples[i];
                prop_assert_eq!(s.name, g.name.as_str());
                let got: Vec<(String, String)> =
                    s.labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
                prop_assert_eq!(&got, &g.labels);
                prop_assert_eq!(s.value.to_bits(), if g.value.is_nan() {
                    vitrine_exposition::NORMAL_NAN_BITS
                } else {
                    g.value.to_bits()
                });
                if om {
                    // Float seconds with 3 decimals: ts*1000 may land just
                    // below the integer and truncate, as in Prometheus.
                    if let (Some(a), Some(b)) = (s.timestamp_ms, g.ts) {
                        prop_assert!(a == b || a == b - 1, "{} vs {}", a, b);
                    } else {
                        prop_assert_eq!(s.timestamp_ms, g.ts);
                    }
                } else {
                    prop_assert_eq!(s.timestamp_ms, g.ts);
                }
                i += 1;
            }
            prop_assert_eq!(i, samples.len());
        }
    }
}
