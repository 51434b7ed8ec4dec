//! OpenMetrics 1.0 text, as Prometheus 2.42 parses it.

mod common;

use common::*;
use vitrine_exposition::{Entry, Exemplar, Format, MetricType, NORMAL_NAN_BITS, Parser};

const O: Format = Format::OpenMetrics;

#[test]
fn full_document() {
    // Prometheus' own test document (openmetricsparse_test.go, 2.42).
    let mut doc = String::from(
        r#"# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
# UNIT go_gc_duration_seconds seconds
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25"} 7.424100000000001e-05
go_gc_duration_seconds{quantile="0.5",a="b"} 8.3835e-05
# HELP nohelp1 
# HELP help2 escape \ \n \\ \" \x chars
# UNIT nounit 
go_gc_duration_seconds{quantile="1.0",a="b"} 8.3835e-05
go_gc_duration_seconds_count 99
some:aggregate:rate5m{a_b="c"} 1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33 123.123
# TYPE hh histogram
hh_bucket{le="+Inf"} 1
# TYPE gh gaugehistogram
gh_bucket{le="+Inf"} 1
# TYPE hhh histogram
hhh_bucket{le="+Inf"} 1 # {aa="bb"} 4
# TYPE ggh gaugehistogram
ggh_bucket{le="+Inf"} 1 # {cc="dd",xx="yy"} 4 123.123
# TYPE ii info
ii{foo="bar"} 1
# TYPE ss stateset
ss{ss="foo"} 1
ss{ss="bar"} 0
ss{A="a"} 0
# TYPE un unknown
_metric_starting_with_underscore 1
testmetric{_label_starting_with_underscore="foo"} 1
testmetric{label="\"bar\""} 1
# TYPE foo counter
foo_total 17.0 1520879607.789 # {xx="yy"} 5"#,
    );
    doc.push_str("\n# HELP metric foo\x00bar");
    doc.push_str("\nnull_byte_metric{a=\"abc\x00\"} 1");
    doc.push_str("\n# EOF\n");
    let e = om(&doc);
    assert_eq!(e.len(), 37);
    assert_eq!(
        e[2],
        Entry::Unit {
            metric: "go_gc_duration_seconds",
            unit: "seconds"
        }
    );
    assert_eq!(
        e[6],
        Entry::Help {
            metric: "nohelp1",
            text: "".into()
        }
    );
    assert_eq!(
        e[7],
        Entry::Help {
            metric: "help2",
            text: "escape \\ \n \\ \" \\x chars".into()
        }
    );
    assert_eq!(
        e[8],
        Entry::Unit {
            metric: "nounit",
            unit: ""
        }
    );
    let Entry::Sample(g) = &e[14] else { panic!() };
    assert_eq!((g.name, g.value, g.timestamp_ms), ("go_goroutines", 33.0, Some(123123)));
    let Entry::Sample(h) = &e[20] else { panic!() };
    assert_eq!(
        h.exemplar,
        Some(Exemplar {
            labels: vec![("aa", "bb".into())],
            value: 4.0,
            timestamp_ms: None
        })
    );
    let Entry::Sample(h) = &e[22] else { panic!() };
    assert_eq!(
        h.exemplar,
        Some(Exemplar {
            labels: vec![("cc", "dd".into()), ("xx", "yy".into())],
            value: 4.0,
            timestamp_ms: Some(123123)
        })
    );
    let kinds: Vec<MetricType> = e
        .iter()
        .filter_map(|x| match x {
            Entry::Type { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    use MetricType::*;
    assert_eq!(
        kinds,
        vec![
            Summary,
            Gauge,
            Histogram,
            GaugeHistogram,
            Histogram,
            GaugeHistogram,
            Info,
            StateSet,
            Unknown,
            Counter
        ]
    );
    let Entry::Sample(f) = &e[34] else { panic!() };
    assert_eq!(
        (f.name, f.value, f.timestamp_ms),
        ("foo_total", 17.0, Some(1520879607789))
    );
    assert_eq!(f.exemplar.as_ref().unwrap().labels, vec![("xx", "yy".into())]);
    assert_eq!(
        e[35],
        Entry::Help {
            metric: "metric",
            text: "foo\0bar".into()
        }
    );
    let Entry::Sample(n) = &e[36] else { panic!() };
    assert_eq!(n.labels[0].1, "abc\0");
}

/// Prometheus 2.42's `TestOpenMetricsParseErrors` inputs: all must fail
/// (the first two succeed).
#[test]
fn prometheus_error_cases() {
    assert!(parse(b"# EOF", O).unwrap().is_empty());
    assert!(parse(b"# EOF\n", O).unwrap().is_empty());
    let cases: &[&str] = &[
        "",
        "\n",
        "metric",
        "metric 1",
        "metric 1\n",
        "metric_total 1 # {aa=\"bb\"} 4",
        "a\n#EOF\n",
        "\n\n#EOF\n",
        " a 1\n#EOF\n",
        "9\n#EOF\n",
        "# TYPE u untyped\n#EOF\n",
        "# TYPE c counter \n#EOF\n",
        "#  TYPE c counter\n#EOF\n",
        "# TYPE \n#EOF\n",
        "# TYPE m\n#EOF\n",
        "# UNIT metric suffix\n#EOF\n",
        "# UNIT metricsuffix suffix\n#EOF\n",
        "# UNIT m suffix\n#EOF\n",
        "# UNIT \n#EOF\n",
        "# UNIT m\n#EOF\n",
        "# HELP \n#EOF\n",
        "# HELP m\n#EOF\n",
        "a\t1\n#EOF\n",
        "a 1\t2\n#EOF\n",
        "a 1 2 \n#EOF\n",
        "a 1 2 #\n#EOF\n",
        "a 1 1z\n#EOF\n",
        " # EOF\n",
        "# EOF\na 1",
        "# EOF\n\n",
        "# EOFa 1",
        "#\tTYPE c counter\n",
        "# TYPE c  counter\n",
        "a 1 1 1\n# EOF\n",
        "a{b='c'} 1\n# EOF\n",
        "a{b=\"c\",} 1\n# EOF\n",
        "a{,b=\"c\"} 1\n# EOF\n",
        "a{b=\"c\"d=\"e\"} 1\n# EOF\n",
        "a{b=\"c\",,d=\"e\"} 1\n# EOF\n",
        "a{b=\n# EOF\n",
        "a{\u{ff}=\"foo\"} 1\n# EOF\n",
        "a true\n",
        "something_weird{problem=\"\n# EOF\n",
        "empty_label_name{=\"\"} 0\n# EOF\n",
        "foo 1_2\n\n# EOF\n",
        "foo 0x1p-3\n\n# EOF\n",
        "foo 0x1P-3\n\n# EOF\n",
        "foo 0 1_2\n\n# EOF\n",
        "custom_metric_total 1 # {aa=bb}\n# EOF\n",
        "custom_metric_total 1 # {aa=\"bb\"}\n# EOF\n",
        "custom_metric_total 1 # {aa=\"bb\"}",
        "custom_metric 1 # {aa=\"bb\"}",
        "custom_metric_total 1 # {aa=\"bb\",,cc=\"dd\"} 1",
        "custom_metric_total 1 # {aa=\"bb\"} 1_2",
        "custom_metric_total 1 # {aa=\"bb\"} 0x1p-3",
        "custom_metric_total 1 # {aa=\"bb\"} true",
        "custom_metric_total 1 # {aa=\"bb\",cc=}",
        "{b=\"c\",} 1",
        "a 1 NaN",
        "a 1 -Inf",
        "a 1 Inf",
        "# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 NaN",
        "# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 -Inf",
        "# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 Inf",
    ];
    for c in cases {
        let _ = error(c.as_bytes(), O);
    }
    let _ = error(b"a{b=\"\xff\"} 1\n# EOF\n", O);
    let _ = error(b"custom_metric_total 1 # {aa=\"\xff\"} 9.0\n# EOF\n", O);
}

/// Prometheus 2.42's `TestOMNullByteHandling`.
#[test]
fn nul_bytes_like_prometheus() {
    for ok in [
        &b"null_byte_metric{a=\"abc\x00\"} 1\n# EOF\n"[..],
        b"a{b=\"\x00ss\"} 1\n# EOF\n",
        b"a{b=\"\x00\"} 1\n# EOF\n",
        b"a{b=\"\x00\"} 1\n# EOF",
    ] {
        assert_eq!(samples(&parse(ok, O).unwrap()).len(), 1);
    }
    for bad in [
        &b"a{b=\x00\"ssss\"} 1\n# EOF\n"[..],
        b"a{b=\"\x00",
        b"a{b\x00=\"hiih\"}\t1",
        b"a\x00{b=\"ddd\"} 1",
        b"#",
        b"# H",
        b"custom_metric_total 1 # {b=\x00\"ssss\"} 1\n",
        b"custom_metric_total 1 # {b=\"\x00ss\"} 1\n",
    ] {
        let _ = error(bad, O);
    }
    // NULs inside the keyword and after `# EOF` are skipped by the lexer.
    assert_eq!(
        parse(b"# H\0ELP \0m x\n# EOF\n\0\0", O).unwrap(),
        vec![Entry::Help {
            metric: "m",
            text: "x".into()
        }]
    );
}

#[test]
fn eof_is_required_and_final() {
    assert_error("a 1\n", O, 2, 1, "data does not end with # EOF");
    assert_error("a 1", O, 1, 4, "data does not end with # EOF");
    assert_error("", O, 1, 1, "data does not end with # EOF");
    assert_error("# EOF\na 1\n", O, 2, 1, "unexpected data after # EOF");
    assert_error("# EOF\n\n", O, 2, 1, "unexpected data after # EOF");
    assert_error("# EOF ", O, 1, 6, "unexpected data after # EOF");
    assert_error("# EOF\r\n", O, 1, 6, "unexpected data after # EOF");
    assert_error("# EO\n", O, 1, 5, "expected HELP, TYPE, UNIT or EOF");
    let mut p = Parser::new(b"a 1\n# EOF\n", O);
    assert!(p.next_entry().unwrap().is_some());
    assert_eq!(p.next_entry(), Ok(None));
    assert_eq!(p.next_entry(), Ok(None));
}

#[test]
fn no_comments_blank_lines_or_extra_blanks() {
    assert_error("# a comment\n# EOF\n", O, 1, 3, "OpenMetrics has no comments");
    assert_error("#comment\n# EOF\n", O, 1, 2, "expected a space after '#'");
    assert_error("a 1\n\n# EOF\n", O, 2, 1, "expected a metric name");
    assert_error(" a 1\n# EOF\n", O, 1, 1, "expected a metric name");
    assert_error("a  1\n# EOF\n", O, 1, 3, "expected value after metric");
    assert_error("a 1  2\n# EOF\n", O, 1, 5, "expected timestamp");
    assert_error(
        "a{b=\"c\", d=\"e\"} 1\n# EOF\n",
        O,
        1,
        9,
        "expected label name after ','",
    );
    assert_error("a {b=\"c\"} 1\n# EOF\n", O, 1, 3, "invalid value");
    assert_error("a 1 \n# EOF\n", O, 1, 5, "expected timestamp");
    assert_error("#  HELP a x\n# EOF\n", O, 1, 3, "expected HELP");
    assert_error("# HELP  a x\n# EOF\n", O, 1, 8, "expected metric name after HELP");
}

#[test]
fn metadata() {
    let e = om(
        "# TYPE a gaugehistogram\n# TYPE b info\n# TYPE c stateset\n# TYPE d unknown\n# UNIT e_seconds seconds\n# HELP f say \\\"hi\\\"\\n\n# EOF\n",
    );
    assert_eq!(
        e,
        vec![
            Entry::Type {
                metric: "a",
                kind: MetricType::GaugeHistogram
            },
            Entry::Type {
                metric: "b",
                kind: MetricType::Info
            },
            Entry::Type {
                metric: "c",
                kind: MetricType::StateSet
            },
            Entry::Type {
                metric: "d",
                kind: MetricType::Unknown
            },
            Entry::Unit {
                metric: "e_seconds",
                unit: "seconds"
            },
            Entry::Help {
                metric: "f",
                text: "say \"hi\"\n".into()
            },
        ]
    );
    assert_error("# TYPE a untyped\n# EOF\n", O, 1, 10, "invalid metric type \"untyped\"");
    assert_error(
        "# TYPE a counter \n# EOF\n",
        O,
        1,
        10,
        "invalid metric type \"counter \"",
    );
    assert_error("# TYPE a\n# EOF\n", O, 1, 9, "expected a space and text");
    assert_error("# HELP a x", O, 1, 11, "expected line break");
    assert_error(
        "# UNIT a_seconds bytes\n# EOF\n",
        O,
        1,
        18,
        "unit \"bytes\" is not a suffix",
    );
    assert_error("# UNIT seconds seconds\n# EOF\n", O, 1, 16, "not a suffix");
    assert_error("# UNIT aseconds seconds\n# EOF\n", O, 1, 17, "not a suffix");
    let e = error(b"# HELP a x\xff\n# EOF\n", O);
    assert_eq!((e.line, e.column), (1, 11));
    assert!(e.message.contains("invalid UTF-8 in help text"), "{e}");
}

#[test]
fn float_second_timestamps() {
    let ts = |t: &str| {
        let doc = format!("a 1 {t}\n# EOF\n");
        sample(&parse(doc.as_bytes(), O).unwrap()).timestamp_ms
    };
    assert_eq!(ts("1520879607.789"), Some(1520879607789));
    assert_eq!(ts("123.123"), Some(123123));
    assert_eq!(ts("1"), Some(1000));
    assert_eq!(ts("-1.5"), Some(-1500));
    assert_eq!(ts("1e3"), Some(1_000_000));
    // int64(ts*1000) truncates the float product, as in Prometheus.
    assert_eq!(ts("1.001"), Some(1000));
    assert_eq!(ts("0.0005"), Some(0));
    assert_error("a 1 NaN\n# EOF\n", O, 1, 5, "invalid timestamp \"NaN\"");
    assert_error("a 1 +Inf\n# EOF\n", O, 1, 5, "invalid timestamp");
    assert_error("a 1 1_0\n# EOF\n", O, 1, 5, "unsupported character in float");
    assert_error(
        "a 1 2 3\n# EOF\n",
        O,
        1,
        6,
        "expected line break or exemplar after timestamp",
    );
}

#[test]
fn exemplars() {
    let s = sample(&om("a_total 1 # {} 2\n# EOF\n"));
    assert_eq!(
        s.exemplar,
        Some(Exemplar {
            labels: vec![],
            value: 2.0,
            timestamp_ms: None
        })
    );
    let s = sample(&om("a_bucket{le=\"1\"} 3 10.5 # {t=\"x\\\"y\"} 0.5 9.25\n# EOF\n"));
    assert_eq!(s.timestamp_ms, Some(10500));
    assert_eq!(
        s.exemplar,
        Some(Exemplar {
            labels: vec![("t", "x\"y".into())],
            value: 0.5,
            timestamp_ms: Some(9250)
        })
    );
    let s = sample(&om("a_total 1 # {a=\"b\"} NaN\n# EOF\n"));
    assert_eq!(s.exemplar.unwrap().value.to_bits(), NORMAL_NAN_BITS);
    // Only _total and _bucket samples may carry exemplars in 2.42.
    assert_error("a 1 # {a=\"b\"} 1\n# EOF\n", O, 1, 5, "does not support exemplars");
    assert_error(
        "a_count 1 # {a=\"b\"} 1\n# EOF\n",
        O,
        1,
        11,
        "does not support exemplars",
    );
    assert_error(
        "a_total 1 # {a=\"b\",a=\"c\"} 1\n# EOF\n",
        O,
        1,
        20,
        "duplicate label name \"a\"",
    );
    assert_error(
        "a_total 1 # {a=\"b\"}\n# EOF\n",
        O,
        1,
        20,
        "expected a space and a value after exemplar labels",
    );
    assert_error(
        "a_total 1 # {a=\"b\"} 1 NaN\n# EOF\n",
        O,
        1,
        23,
        "invalid exemplar timestamp",
    );
    assert_error(
        "a_total 1 # {a=\"b\"} 1 2 3\n# EOF\n",
        O,
        1,
        24,
        "expected line break after exemplar timestamp",
    );
    assert_error(
        "a_total 1 # {a=\"b\"} 1 2",
        O,
        1,
        24,
        "expected line break after exemplar timestamp",
    );
    assert_error("a_total 1 # {a=\"b\"} 1", O, 1, 22, "data does not end with # EOF");
    assert_error("a_total 1 # {a=\"\0\"} 1\n# EOF\n", O, 1, 17, "NUL byte");
    assert_error("a_total 1 # x\n# EOF\n", O, 1, 11, "invalid timestamp \"#\"");
    // An exemplar label may be __name__: it does not name the sample.
    let s = sample(&om("a_total 1 # {__name__=\"x\"} 1\n# EOF\n"));
    assert_eq!(s.exemplar.unwrap().labels[0].0, "__name__");
}

#[test]
fn suffixes_are_plain_names() {
    let doc = "# TYPE a counter\na_total 1\na_created 1.5e9\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 2\nh_created 3\n# TYPE g gaugehistogram\ng_gcount 1\ng_gsum 2\n# TYPE i info\ni_info{v=\"1\"} 1\n# TYPE s stateset\ns{s=\"a\"} 1\nother 5\na_total 2\n# EOF\n";
    let names: Vec<&str> = samples(&om(doc)).iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "a_total",
            "a_created",
            "h_bucket",
            "h_count",
            "h_sum",
            "h_created",
            "g_gcount",
            "g_gsum",
            "i_info",
            "s",
            "other",
            "a_total"
        ]
    );
}

#[test]
fn label_sets() {
    let s = sample(&om("a{b=\"1\",c=\"x\\\\y\\nz\"} 1\n# EOF\n"));
    assert_eq!(labels(&s), l(&[("b", "1"), ("c", "x\\y\nz")]));
    assert!(sample(&om("a{} 1\n# EOF\n")).labels.is_empty());
    assert_error("a{b=\"1\",} 1\n# EOF\n", O, 1, 9, "expected label name after ','");
    assert_error("a{b=\"1\"c=\"2\"} 1\n# EOF\n", O, 1, 8, "expected ',' or '}'");
    assert_error("a{b=\"x\ny\"} 1\n# EOF\n", O, 1, 7, "line break in label value");
    assert_error("a{b=\"x\\\ny\"} 1\n# EOF\n", O, 1, 7, "invalid escape");
    assert_error("a{b=\"x", O, 1, 5, "unterminated label value");
    assert_error("a{b=\"1\",b=\"2\"} 1\n# EOF\n", O, 1, 9, "duplicate label name");
    assert_error("a{__name__=\"b\"} 1\n# EOF\n", O, 1, 3, "__name__");
    let e = error(b"a{b=\"\xe2\x82\"} 1\n# EOF\n", O);
    assert_eq!((e.line, e.column), (1, 6));
}

#[test]
fn values() {
    let v = |s: &str| sample(&parse(format!("a {s}\n# EOF\n").as_bytes(), O).unwrap()).value;
    assert_eq!(v("17.0"), 17.0);
    assert_eq!(v("-Inf"), f64::NEG_INFINITY);
    assert_eq!(v("+Inf"), f64::INFINITY);
    assert_eq!(v("NaN").to_bits(), NORMAL_NAN_BITS);
    assert_eq!(v("1e-3"), 0.001);
    assert_error("a 1\r\n# EOF\n", O, 1, 3, "invalid value \"1\\r\"");
    assert_error("a 1_0\n# EOF\n", O, 1, 3, "unsupported character in float");
}

#[test]
fn error_positions_on_later_lines() {
    let doc = "# TYPE a counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} oops\n# EOF\n";
    assert_error(doc, O, 3, 16, "invalid value \"oops\"");
}

#[test]
fn interleaved_families_are_not_rejected() {
    // OpenMetrics forbids this, Prometheus 2.42 does not check it.
    let e = om("# TYPE a counter\n# TYPE b gauge\na_total 1\nb 2\na_total 3\n# TYPE a counter\nb 4\n# EOF\n");
    assert_eq!(samples(&e).len(), 4);
}
