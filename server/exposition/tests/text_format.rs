//! The Prometheus text format 0.0.4, as Prometheus 2.42 parses it.

mod common;

use common::*;
use vitrine_exposition::{Entry, Format, MetricType, NORMAL_NAN_BITS, Parser};

const T: Format = Format::PrometheusText;

#[test]
fn full_document() {
    let doc = r#"# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# 	TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25",} 7.424100000000001e-05
go_gc_duration_seconds{quantile="0.5",a="b"} 8.3835e-05
go_gc_duration_seconds{ quantile="0.8", a="b"} 8.3835e-05
go_gc_duration_seconds{ quantile="0.9", a="b"} 8.3835e-05
# Hrandom comment starting with prefix of HELP
#
wind_speed{A="2",c="3"} 12345
# comment with escaped \n newline
# comment with escaped \ escape character
# HELP nohelp1
# HELP nohelp2 
go_gc_duration_seconds{ quantile="1.0", a="b" } 8.3835e-05
go_gc_duration_seconds { quantile="1.0", a="b" } 8.3835e-05
go_gc_duration_seconds { quantile= "1.0", a= "b", } 8.3835e-05
go_gc_duration_seconds { quantile = "1.0", a = "b" } 8.3835e-05
go_gc_duration_seconds_count 99
some:aggregate:rate5m{a_b="c"}	1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33  	123123
_metric_starting_with_underscore 1
testmetric{_label_starting_with_underscore="foo"} 1
testmetric{label="\"bar\""} 1"#;
    let e = text(doc);
    assert_eq!(
        e[0],
        Entry::Help {
            metric: "go_gc_duration_seconds",
            text: "A summary of the GC invocation durations.".into()
        }
    );
    assert_eq!(
        e[1],
        Entry::Type {
            metric: "go_gc_duration_seconds",
            kind: MetricType::Summary
        }
    );
    // `# HELP nohelp1` (no blank after the name) is a help entry with an
    // empty text, as is `# HELP nohelp2 `.
    assert!(e.contains(&Entry::Help {
        metric: "nohelp1",
        text: "".into()
    }));
    assert!(e.contains(&Entry::Help {
        metric: "nohelp2",
        text: "".into()
    }));
    let s = samples(&e);
    assert_eq!(s.len(), 16);
    assert_eq!(labels(&s[1]), l(&[("quantile", "0.25")]));
    assert_eq!(s[1].value, 7.424100000000001e-05);
    assert_eq!(labels(&s[3]), l(&[("quantile", "0.8"), ("a", "b")]));
    for x in &s[6..10] {
        assert_eq!(labels(x), l(&[("quantile", "1.0"), ("a", "b")]));
    }
    assert_eq!(s[11].name, "some:aggregate:rate5m");
    assert_eq!(s[12].name, "go_goroutines");
    assert_eq!(s[12].timestamp_ms, Some(123123));
    assert_eq!(s[15].labels[0].1, "\"bar\"");
}

#[test]
fn help_escapes_only_backslash_and_newline() {
    let e = text("# HELP m a\\\\b\\nc \\\"d\\\" \\t\n");
    assert_eq!(
        e[0],
        Entry::Help {
            metric: "m",
            text: "a\\b\nc \\\"d\\\" \\t".into()
        }
    );
    // Borrowed when nothing is escaped.
    match &text("# HELP m plain text\n")[0] {
        Entry::Help { text, .. } => assert!(is_borrowed(text)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn help_text_starts_after_one_blank() {
    // The lexer's text token starts right after the name; Prometheus drops
    // its first byte.
    let e = text("# HELP m   two leading\n# HELP n\tx\n");
    assert_eq!(
        e[0],
        Entry::Help {
            metric: "m",
            text: "  two leading".into()
        }
    );
    assert_eq!(
        e[1],
        Entry::Help {
            metric: "n",
            text: "x".into()
        }
    );
}

#[test]
fn help_must_be_utf8() {
    let e = error(b"# HELP m ok\xff\n", T);
    assert_eq!((e.line, e.column), (1, 12));
    assert!(e.message.contains("invalid UTF-8 in help text"), "{e}");
    assert_eq!(
        text("# HELP m \u{e9}t\u{e9}\n")[0],
        Entry::Help {
            metric: "m",
            text: "\u{e9}t\u{e9}".into()
        }
    );
}

#[test]
fn type_values() {
    let cases = [
        ("counter", MetricType::Counter),
        ("gauge", MetricType::Gauge),
        ("histogram", MetricType::Histogram),
        ("summary", MetricType::Summary),
        ("untyped", MetricType::Unknown),
    ];
    for (word, kind) in cases {
        let doc = format!("# TYPE m {word}\n");
        let e = parse(doc.as_bytes(), T).unwrap();
        assert_eq!(e, vec![Entry::Type { metric: "m", kind }]);
    }
    for bad in ["unknown", "info", "stateset", "gaugehistogram", "Counter"] {
        assert_error(&format!("# TYPE m {bad}\n"), T, 1, 10, "invalid metric type");
    }
    // Trailing blanks and a second blank before the type are not accepted.
    assert_error("# TYPE m counter \n", T, 1, 10, "invalid metric type \"counter \"");
    assert_error("# TYPE m  counter\n", T, 1, 10, "invalid metric type \" counter\"");
    assert_error("# TYPE m\n", T, 1, 9, "invalid metric type \"\"");
}

#[test]
fn comments_are_skipped() {
    let doc = "#\n#comment\n# comment\n#\tcomment\n# HELP\n# HELPER x\n# TYPEx y\n#HELP m x\n# H\n m 1\n";
    let e = text(doc);
    assert_eq!(e.len(), 1);
    assert_eq!(sample(&e).name, "m");
    // A tab after `#` still introduces HELP/TYPE in this format.
    assert_eq!(
        text("#\tTYPE m counter\n")[0],
        Entry::Type {
            metric: "m",
            kind: MetricType::Counter
        }
    );
}

#[test]
fn metadata_errors() {
    assert_error("# HELP \n", T, 1, 8, "expected metric name after HELP");
    assert_error("# TYPE 1m counter\n", T, 1, 8, "expected metric name after TYPE");
    assert_error(
        "ok 1\n# HELP ",
        T,
        2,
        8,
        "expected metric name after HELP, got end of input",
    );
}

#[test]
fn blank_lines_are_skipped() {
    let e = text("\n\n   \n\t\na 1\n\n \t \nb 2\n\n");
    assert_eq!(samples(&e).len(), 2);
    assert!(text("").is_empty());
    assert!(text("\n").is_empty());
    assert!(text("# only a comment").is_empty());
}

#[test]
fn last_line_needs_no_newline() {
    assert_eq!(sample(&text("a 1")).value, 1.0);
    assert_eq!(sample(&text("a 1 2")).timestamp_ms, Some(2));
    assert_eq!(sample(&text("a{b=\"c\"} 1   ")).value, 1.0);
    assert_eq!(
        text("# TYPE a gauge"),
        vec![Entry::Type {
            metric: "a",
            kind: MetricType::Gauge
        }]
    );
}

#[test]
fn label_set_forms() {
    let s = sample(&text("a{b=\"1\",c=\"2\",} 1\n"));
    assert_eq!(labels(&s), l(&[("b", "1"), ("c", "2")]));
    // The comma between pairs is optional in Prometheus 2.42.
    let s = sample(&text("a{b=\"1\" c=\"2\"d=\"3\"} 1\n"));
    assert_eq!(labels(&s), l(&[("b", "1"), ("c", "2"), ("d", "3")]));
    let s = sample(&text("a{} 1\n"));
    assert!(s.labels.is_empty());
    // The value may follow `}` directly, and blanks may precede `{`.
    let s = sample(&text("a \t{b=\"1\"}7\n"));
    assert_eq!((labels(&s), s.value), (l(&[("b", "1")]), 7.0));
    // Order as written, names and values borrowed.
    let s = sample(&text("a{z=\"1\",a=\"2\"} 1\n"));
    assert_eq!(labels(&s), l(&[("z", "1"), ("a", "2")]));
    assert!(s.labels.iter().all(|(_, v)| is_borrowed(v)));
}

#[test]
fn label_set_errors() {
    assert_error("a{b=\"1\",,c=\"2\"} 1\n", T, 1, 9, "expected label name");
    assert_error("a{,b=\"1\"} 1\n", T, 1, 3, "expected label name");
    assert_error("a{b} 1\n", T, 1, 4, "expected '='");
    assert_error("a{b=c} 1\n", T, 1, 5, "expected quoted label value");
    assert_error("a{b='c'} 1\n", T, 1, 5, "expected quoted label value");
    assert_error("a{1b=\"c\"} 1\n", T, 1, 3, "expected label name");
    assert_error("a{b:c=\"d\"} 1\n", T, 1, 4, "expected '='");
    assert_error("a{b=\"c\"} 1\nx{y=\"z", T, 2, 5, "unterminated label value");
    assert_error("a{b=\"c\"}{d=\"e\"} 1\n", T, 1, 9, "expected value after metric");
    assert_error(
        "a{b=\"c\"\n} 1\n",
        T,
        1,
        8,
        "expected label name or '}', got line break",
    );
    assert_error("{b=\"c\"} 1\n", T, 1, 1, "expected a metric name");
}

#[test]
fn label_value_escapes() {
    let s = sample(&text(r#"a{b="x\\y\"z\nw\tq"} 1"#));
    assert_eq!(s.labels[0].1, "x\\y\"z\nw\\tq");
    assert!(!is_borrowed(&s.labels[0].1));
    // A raw line feed inside a label value is accepted by Prometheus' lexer;
    // line numbers keep counting inside it.
    let e = parse(b"a{b=\"x\ny\"} 1\nbad\n", T);
    let err = e.unwrap_err();
    assert_eq!((err.line, err.column), (3, 4));
    let s = sample(&text("a{b=\"x\ny\"} 1\n"));
    assert_eq!(s.labels[0].1, "x\ny");
    // A backslash before a line break is not an escape.
    assert_error("a{b=\"x\\\ny\"} 1\n", T, 1, 7, "invalid escape");
}

#[test]
fn label_values_must_be_utf8() {
    let e = error(b"a{b=\"ok\xff\"} 1\n", T);
    assert_eq!((e.line, e.column), (1, 8));
    assert!(e.message.contains("invalid UTF-8"), "{e}");
    let s = sample(&text("a{b=\"h\u{e9}\u{1F600}\"} 1\n"));
    assert_eq!(s.labels[0].1, "h\u{e9}\u{1F600}");
}

#[test]
fn duplicate_label_names() {
    assert_error("a{b=\"1\",c=\"2\",b=\"3\"} 1\n", T, 1, 15, "duplicate label name \"b\"");
    assert_error("a{__name__=\"x\"} 1\n", T, 1, 3, "__name__");
    // Many labels take the sorting path; the first repeat is reported.
    let mut line = String::from("m{");
    for i in 0..40 {
        line.push_str(&format!("l{i}=\"v\","));
    }
    line.push_str("l7=\"again\",l3=\"again\"} 1\n");
    let e = error(line.as_bytes(), T);
    assert_eq!(e.column, line.find("l7=\"again").unwrap() + 1);
    assert!(e.message.contains("\"l7\""), "{e}");
}

#[test]
fn values() {
    let v = |s: &str| sample(&text(&format!("a {s}\n"))).value;
    assert_eq!(v("1"), 1.0);
    assert_eq!(v("-1.5e3"), -1500.0);
    assert_eq!(v("+Inf"), f64::INFINITY);
    assert_eq!(v("-Inf"), f64::NEG_INFINITY);
    assert_eq!(v("Inf"), f64::INFINITY);
    assert_eq!(v("inf"), f64::INFINITY);
    assert_eq!(v("NaN").to_bits(), NORMAL_NAN_BITS);
    assert_eq!(v("nan").to_bits(), NORMAL_NAN_BITS);
    assert_eq!(v(".5"), 0.5);
    assert_eq!(v("1e-400"), 0.0);
    assert_error("a 1_000\n", T, 1, 3, "unsupported character in float");
    assert_error("a 0x1p3\n", T, 1, 3, "unsupported character in float");
    assert_error("a 0x10\n", T, 1, 3, "invalid syntax");
    assert_error("a true\n", T, 1, 3, "invalid value \"true\"");
    assert_error("a -NaN\n", T, 1, 3, "invalid syntax");
    assert_error("a 1e400\n", T, 1, 3, "out of range");
    assert_error("a\n", T, 1, 2, "expected value after metric, got line break");
    assert_error("a", T, 1, 2, "expected value after metric, got end of input");
    assert_error("a-b 1\n", T, 1, 2, "invalid value \"-b\"");
}

#[test]
fn timestamps() {
    assert_eq!(sample(&text("a 1 1520879607789\n")).timestamp_ms, Some(1520879607789));
    assert_eq!(sample(&text("a 1 0\n")).timestamp_ms, Some(0));
    assert_error("a 1 -1\n", T, 1, 5, "expected timestamp or line break");
    assert_error("a 1 1.5\n", T, 1, 6, "expected line break after timestamp");
    assert_error("a 1 2 3\n", T, 1, 7, "expected line break after timestamp");
    assert_error("a 1 99999999999999999999\n", T, 1, 5, "out of range");
    assert_error("a 1 2x\n", T, 1, 6, "expected line break after timestamp");
}

#[test]
fn tabs_and_spaces_between_tokens() {
    let s = sample(&text("\t a\t{\tb\t=\t\"c\"\t,\t}\t 1 \t 2\t \n"));
    assert_eq!((labels(&s), s.value, s.timestamp_ms), (l(&[("b", "c")]), 1.0, Some(2)));
}

#[test]
fn crlf_is_not_tolerated() {
    // Like Prometheus: `\r` becomes part of the token.
    assert_error("a 1\r\n", T, 1, 3, "invalid value \"1\\r\"");
    assert_error("a 1 2\r\n", T, 1, 6, "expected line break after timestamp");
    assert_error("# TYPE a gauge\r\n", T, 1, 10, "invalid metric type");
    // Comments and HELP text keep the `\r`.
    let e = text("# comment\r\n# HELP a x\r\n");
    assert_eq!(
        e,
        vec![Entry::Help {
            metric: "a",
            text: "x\r".into()
        }]
    );
    // `\r` alone on a line is not blank.
    assert_error("\r\n", T, 1, 1, "expected a metric name");
}

#[test]
fn metric_name_validation() {
    assert_eq!(sample(&text(":a:b_c9 1\n")).name, ":a:b_c9");
    assert_error("9a 1\n", T, 1, 1, "expected a metric name");
    assert_error("\u{e9} 1\n", T, 1, 1, "got '\u{e9}'");
    assert_error("a 1\n.b 2\n", T, 2, 1, "got '.'");
}

#[test]
fn nul_bytes_like_prometheus() {
    // NUL at the start of a line: Prometheus' lexer returns EOF there.
    let e = parse(b"a 1\n\0b 2\n", T).unwrap();
    assert_eq!(samples(&e).len(), 1);
    let e = parse(b"a 1\n  \0garbage{{{\n", T).unwrap();
    assert_eq!(samples(&e).len(), 1);
    // ... and inside a `#comment` without a blank after `#`.
    let e = parse(b"#x\0y\nb 2\n", T).unwrap();
    assert!(e.is_empty());
    // Inside `# comments` they are skipped.
    let e = parse(b"# x\0y\nb 2\n", T).unwrap();
    assert_eq!(samples(&e).len(), 1);
    // NULs are allowed inside label values and HELP texts.
    let e = parse(b"a{b=\"x\0y\"} 1\n# HELP h a\0b\n", T).unwrap();
    assert_eq!(samples(&e)[0].labels[0].1, "x\0y");
    assert_eq!(
        e[1],
        Entry::Help {
            metric: "h",
            text: "a\0b".into()
        }
    );
    // Elsewhere they are errors.
    let err = error(b"a\0 1\n", T);
    assert_eq!((err.line, err.column), (1, 2));
    let err = error(b"a 1\0\n", T);
    assert_eq!((err.line, err.column), (1, 4));
}

#[test]
fn parser_stops_after_error() {
    let mut p = Parser::new(b"a 1\nbad line\nc 3\n", T);
    assert!(matches!(p.next_entry(), Ok(Some(Entry::Sample(_)))));
    let e = p.next_entry().unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2, column 5: invalid value \"line\": invalid syntax"
    );
    assert_eq!(p.next_entry(), Ok(None));
    assert_eq!(p.next_entry(), Ok(None));
}

#[test]
fn ref_api_matches_owned_api() {
    let doc = b"# HELP a x\\ny\na{b=\"1\",c=\"\\\"\"} 1 2\nd 3\n";
    let owned = parse(doc, T).unwrap();
    let mut p = Parser::new(doc, T);
    let mut via_ref = Vec::new();
    while let Some(e) = p.next_entry_ref().unwrap() {
        via_ref.push(e.to_entry());
    }
    assert_eq!(owned, via_ref);
}

#[test]
fn no_exemplars_in_text_format() {
    assert_error(
        "a_total 1 # {b=\"c\"} 1\n",
        T,
        1,
        11,
        "expected timestamp or line break",
    );
}

#[test]
fn iterator_interface() {
    let mut it = Parser::new(b"a 1\nb 2\n", T);
    assert!(it.next().unwrap().is_ok());
    assert!(it.next().unwrap().is_ok());
    assert!(it.next().is_none());
}
