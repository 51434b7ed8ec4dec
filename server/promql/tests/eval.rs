//! The evaluator on small in-memory data, against values computed by hand.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use vitrine_promql::eval::{EvalError, EvalOptions, MemoryStorage, STALE_NAN, Value, eval_instant, eval_range};
use vitrine_promql::{Labels, parse};

const S: i64 = 1000;

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

fn stale() -> f64 {
    f64::from_bits(STALE_NAN)
}

/// `up{job,instance}` every 15 s for 10 minutes with values 1, a counter with a reset, a
/// gauge with a staleness marker, and a histogram.
fn store() -> MemoryStorage {
    let mut s = MemoryStorage::new();
    for (job, inst) in [("a", "1"), ("a", "2"), ("b", "1")] {
        s.add(
            l(&[("__name__", "up"), ("job", job), ("instance", inst)]),
            (0..=40).map(|i| (i * 15 * S, if job == "b" && i > 20 { 0.0 } else { 1.0 })),
        );
    }
    // 0, 10, 20, ..., reset to 5 at 60 s, then +10 every 15 s.
    let counter: Vec<(i64, f64)> = (0..=40)
        .map(|i| {
            let v = if i < 4 {
                10.0 * i as f64
            } else {
                5.0 + 10.0 * (i - 4) as f64
            };
            (i * 15 * S, v)
        })
        .collect();
    s.add(l(&[("__name__", "requests_total"), ("job", "a")]), counter);
    s.add(
        l(&[("__name__", "gauge"), ("k", "x")]),
        [(0, 3.0), (60 * S, 5.0), (120 * S, stale()), (300 * S, 7.0)],
    );
    for (le, c) in [("0.1", 2.0), ("1", 6.0), ("10", 8.0), ("+Inf", 10.0)] {
        s.add(
            l(&[("__name__", "h_bucket"), ("le", le), ("job", "a")]),
            [(0, c), (60 * S, c * 2.0)],
        );
    }
    s
}

fn instant_at(s: &MemoryStorage, q: &str, t: i64, opts: &EvalOptions) -> Result<Value, EvalError> {
    let e = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    eval_instant(s, &e, t, opts)
}

/// The vector of an instant query, as (labels, value) in result order.
fn vector(s: &MemoryStorage, q: &str, t: i64) -> Vec<(String, f64)> {
    match instant_at(s, q, t, &EvalOptions::default()).unwrap_or_else(|e| panic!("{q}: {e}")) {
        Value::Vector(v) => v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect(),
        other => panic!("{q}: not a vector: {other:?}"),
    }
}

/// The single value of an instant query.
fn one(s: &MemoryStorage, q: &str, t: i64) -> f64 {
    let v = vector(s, q, t);
    assert_eq!(v.len(), 1, "{q}: {v:?}");
    v[0].1
}

fn range(s: &MemoryStorage, q: &str, start: i64, end: i64, step: i64) -> Vec<(String, Vec<(i64, f64)>)> {
    let e = parse(q).unwrap();
    eval_range(s, &e, start, end, step, &EvalOptions::default())
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .into_iter()
        .map(|s| (s.labels.to_string(), s.points.iter().map(|p| (p.t, p.v)).collect()))
        .collect()
}

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

fn err(s: &MemoryStorage, q: &str, t: i64) -> String {
    instant_at(s, q, t, &EvalOptions::default()).unwrap_err().to_string()
}

#[test]
fn lookback_includes_exactly_five_minutes() {
    let s = store();
    // The gauge's last sample before 300 s is the staleness marker at 120 s.
    assert!(vector(&s, "gauge", 119 * S).iter().all(|(_, v)| *v == 5.0));
    assert!(vector(&s, "gauge", 120 * S).is_empty());
    assert!(vector(&s, "gauge", 299 * S).is_empty());
    assert_eq!(one(&s, "gauge", 300 * S), 7.0);
    // Five minutes after its last sample (300 s) a series is still there, not 1 ms later.
    assert_eq!(one(&s, "gauge", 600 * S), 7.0);
    assert!(vector(&s, "gauge", 600 * S + 1).is_empty());
    let short = EvalOptions {
        lookback_delta_ms: 30 * S,
        ..EvalOptions::default()
    };
    assert!(matches!(instant_at(&s, "gauge", 331 * S, &short), Ok(Value::Vector(v)) if v.is_empty()));
}

#[test]
fn ranges_are_closed_at_both_ends_and_skip_staleness_markers() {
    let s = store();
    assert_eq!(one(&s, "count_over_time(gauge[60s])", 60 * S), 2.0);
    assert_eq!(one(&s, "count_over_time(gauge[60s])", 60 * S - 1), 1.0);
    assert_eq!(one(&s, "count_over_time(gauge[5m])", 300 * S), 3.0);
    assert_eq!(one(&s, "last_over_time(gauge[5m])", 299 * S), 5.0);
    match instant_at(&s, "gauge[2m]", 120 * S, &EvalOptions::default()).unwrap() {
        Value::Matrix(m) => {
            assert_eq!(m.len(), 1);
            assert_eq!(
                m[0].points.iter().map(|p| (p.t, p.v)).collect::<Vec<_>>(),
                [(0, 3.0), (60 * S, 5.0)]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn offset_and_at() {
    let s = store();
    assert_eq!(one(&s, "gauge offset 1m", 60 * S), 3.0);
    assert_eq!(one(&s, "gauge offset -4m", 60 * S), 7.0);
    assert_eq!(one(&s, "gauge @ 60", 500 * S), 5.0);
    assert_eq!(one(&s, "gauge @ 90 offset 30s", 500 * S), 5.0);
    // @ start() and end() in a range query: the same value at every step.
    let r = range(&s, "gauge @ end()", 0, 300 * S, 100 * S);
    assert_eq!(r[0].1, [(0, 7.0), (100 * S, 7.0), (200 * S, 7.0), (300 * S, 7.0)]);
    let r = range(&s, "gauge @ start()", 60 * S, 300 * S, 120 * S);
    assert_eq!(r[0].1, [(60 * S, 5.0), (180 * S, 5.0), (300 * S, 5.0)]);
    // The name stays on a plain selector.
    assert_eq!(vector(&s, "gauge @ 60", 0)[0].0, r#"{__name__="gauge", k="x"}"#);
}

#[test]
fn subqueries_are_aligned_to_their_step() {
    let s = store();
    // At 100 s, [1m:15s] covers 40 s – 100 s: steps at 45, 60, 75 and 90 s.
    match instant_at(&s, "up{job=\"b\"}[1m:15s]", 100 * S, &EvalOptions::default()).unwrap() {
        Value::Matrix(m) => {
            let ts: Vec<i64> = m[0].points.iter().map(|p| p.t / S).collect();
            assert_eq!(ts, [45, 60, 75, 90]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(one(&s, "count_over_time(up{job=\"b\"}[1m:15s])", 100 * S), 4.0);
    // Without a step, the default (1 minute) is used: 0 s and 60 s.
    assert_eq!(one(&s, "count_over_time(up{job=\"b\"}[100s:])", 100 * S), 2.0);
    let opts = EvalOptions {
        default_subquery_step_ms: 10 * S,
        ..EvalOptions::default()
    };
    match instant_at(&s, "count_over_time(up{job=\"b\"}[100s:])", 100 * S, &opts).unwrap() {
        Value::Vector(v) => assert_eq!(v[0].v, 11.0),
        other => panic!("{other:?}"),
    }
    // Subquery of a rate: at 300 s, rates at 240 s and 300 s.
    assert!(approx(
        one(&s, "max_over_time(rate(requests_total[1m])[1m:1m])", 300 * S),
        2.0 / 3.0
    ));
}

#[test]
fn rates() {
    let s = store();
    // Over [60 s, 120 s]: 5, 15, 25, 35, 45 with no reset; covers the whole range.
    assert_eq!(one(&s, "increase(requests_total[1m])", 120 * S), 40.0);
    assert!(approx(one(&s, "rate(requests_total[1m])", 120 * S), 40.0 / 60.0));
    // Over [0, 60 s]: 0 10 20 30 5 with a reset: 30 - 0 + 5 = 35; the first sample is at
    // zero, so no extrapolation before it.
    assert_eq!(one(&s, "increase(requests_total[1m])", 60 * S), 35.0);
    assert_eq!(one(&s, "resets(requests_total[1m])", 300 * S), 0.0);
    assert_eq!(one(&s, "resets(requests_total[5m])", 120 * S), 1.0);
    assert_eq!(one(&s, "changes(up{job=\"b\"}[10m])", 600 * S), 1.0);
    // 0 to 30 over 0 s – 45 s in [0, 50 s]: extrapolated by the 5 s to the end (less than
    // 1.1 times the 15 s between samples).
    let v = one(&s, "delta(requests_total[50s])", 50 * S);
    assert!(approx(v, 30.0 * 50.0 / 45.0), "{v}");
    // With the first sample 40 s after the start (more than 1.1 intervals), only half an
    // interval is added there: [-40 s, 50 s] has 0 at 0 s ... 30 at 45 s.
    let v = one(&s, "delta(requests_total[90s])", 50 * S);
    assert!(approx(v, 30.0 * (45.0 + 7.5 + 5.0) / 45.0), "{v}");
    assert_eq!(one(&s, "irate(requests_total[1m])", 60 * S), 5.0 / 15.0);
    assert_eq!(one(&s, "idelta(requests_total[1m])", 60 * S), -25.0);
    assert_eq!(one(&s, "deriv(requests_total[45s])", 165 * S), 10.0 / 15.0);
    // predict_linear: the line through the last minute, 60 s ahead.
    let v = one(&s, "predict_linear(requests_total[1m], 60)", 300 * S);
    assert!((v - (5.0 + 10.0 * 16.0 + 40.0)).abs() < 1e-9, "{v}");
}

#[test]
fn over_time_functions() {
    let s = store();
    let q = |f: &str| one(&s, &format!("{f}(requests_total[1m])"), 120 * S);
    // 5 15 25 35 45
    assert_eq!(q("sum_over_time"), 125.0);
    assert_eq!(q("avg_over_time"), 25.0);
    assert_eq!(q("min_over_time"), 5.0);
    assert_eq!(q("max_over_time"), 45.0);
    assert_eq!(q("count_over_time"), 5.0);
    assert_eq!(q("last_over_time"), 45.0);
    assert_eq!(q("present_over_time"), 1.0);
    assert_eq!(q("stdvar_over_time"), 200.0);
    assert_eq!(q("stddev_over_time"), 200f64.sqrt());
    assert_eq!(one(&s, "quantile_over_time(0.5, requests_total[1m])", 120 * S), 25.0);
    assert_eq!(one(&s, "quantile_over_time(0.25, requests_total[1m])", 120 * S), 15.0);
    // last_over_time keeps the name, the others drop it.
    assert_eq!(
        vector(&s, "last_over_time(requests_total[1m])", 120 * S)[0].0,
        r#"{__name__="requests_total", job="a"}"#
    );
    assert_eq!(
        vector(&s, "sum_over_time(requests_total[1m])", 120 * S)[0].0,
        r#"{job="a"}"#
    );
    // absent_over_time gives the labels of the equality matchers.
    assert_eq!(
        vector(&s, "absent_over_time(nope{a=\"b\", c=~\"d\"}[1m])", 120 * S),
        [(r#"{a="b"}"#.to_owned(), 1.0)]
    );
    assert!(vector(&s, "absent_over_time(gauge[1m])", 120 * S).is_empty());
    let v = one(&s, "holt_winters(requests_total[1m], 0.5, 0.5)", 120 * S);
    assert!((v - 45.0).abs() < 1e-9, "{v}");
    assert_eq!(
        err(&s, "holt_winters(requests_total[1m], 0, 0.5)", 120 * S),
        "invalid smoothing factor. Expected: 0 < sf < 1, got: 0.000000"
    );
}

#[test]
fn aggregations() {
    let s = store();
    let t = 600 * S; // up{job="b"} is 0 by then.
    assert_eq!(one(&s, "sum(up)", t), 2.0);
    assert_eq!(
        vector(&s, "sum by (job) (up)", t),
        [(r#"{job="a"}"#.to_owned(), 2.0), (r#"{job="b"}"#.to_owned(), 0.0)]
    );
    assert_eq!(
        vector(&s, "max without (instance) (up)", t),
        [(r#"{job="a"}"#.to_owned(), 1.0), (r#"{job="b"}"#.to_owned(), 0.0)]
    );
    assert!(approx(one(&s, "avg(up)", t), 2.0 / 3.0));
    assert_eq!(one(&s, "count(up)", t), 3.0);
    assert_eq!(one(&s, "min(up)", t), 0.0);
    assert_eq!(one(&s, "group(up)", t), 1.0);
    assert!(approx(one(&s, "stdvar(up)", t), 2.0 / 9.0));
    assert!(approx(one(&s, "stddev(up)", t), (2.0f64 / 9.0).sqrt()));
    assert_eq!(one(&s, "quantile(0.5, up)", t), 1.0);
    assert_eq!(one(&s, "quantile(0.25, up)", t), 0.5);
    assert_eq!(
        vector(&s, "topk(1, up)", t),
        [(r#"{__name__="up", instance="1", job="a"}"#.to_owned(), 1.0)]
    );
    assert_eq!(
        vector(&s, "bottomk(1, up)", t),
        [(r#"{__name__="up", instance="1", job="b"}"#.to_owned(), 0.0)]
    );
    assert_eq!(
        vector(&s, "count_values(\"v\", up)", t),
        [(r#"{v="1"}"#.to_owned(), 2.0), (r#"{v="0"}"#.to_owned(), 1.0)]
    );
    assert_eq!(err(&s, "topk(1e20, up)", t), "Scalar value 1e+20 overflows int64");
    assert_eq!(err(&s, "count_values(\"a-b\", up)", t), "invalid label name \"a-b\"");
}

#[test]
fn binary_operators() {
    let s = store();
    let t = 600 * S;
    // Arithmetic drops the name; comparisons filter and keep it.
    assert_eq!(vector(&s, "gauge * 2", t), [(r#"{k="x"}"#.to_owned(), 14.0)]);
    assert_eq!(vector(&s, "up > 0", t).len(), 2);
    assert_eq!(
        vector(&s, "up > 0", t)[0].0,
        r#"{__name__="up", instance="1", job="a"}"#
    );
    assert_eq!(
        vector(&s, "up == bool 0", t).iter().map(|s| s.1).collect::<Vec<_>>(),
        [0.0, 1.0, 0.0]
    );
    assert_eq!(vector(&s, "up == bool 0", t)[0].0, r#"{instance="1", job="a"}"#);
    assert!(matches!(
        instant_at(&s, "2 > bool 1", t, &EvalOptions::default()).unwrap(),
        Value::Scalar { v, .. } if v == 1.0
    ));
    assert_eq!(vector(&s, "1 < up", t).len(), 0);
    assert_eq!(vector(&s, "0.5 < up", t)[0].1, 1.0);
    // Matching.
    assert_eq!(
        vector(&s, "up * on(job) group_left sum by (job) (up)", t),
        [
            (r#"{instance="1", job="a"}"#.to_owned(), 2.0),
            (r#"{instance="1", job="b"}"#.to_owned(), 0.0),
            (r#"{instance="2", job="a"}"#.to_owned(), 2.0)
        ]
    );
    assert_eq!(
        vector(&s, "gauge + ignoring(k) requests_total", t).len(),
        0,
        "the job label differs"
    );
    assert_eq!(vector(&s, "gauge + on() requests_total", t)[0].1, 7.0 + 365.0);
    assert_eq!(vector(&s, "up and on(job) requests_total", t).len(), 2);
    assert_eq!(vector(&s, "up unless on(job) requests_total", t).len(), 1);
    assert_eq!(vector(&s, "gauge or up", t).len(), 4);
    assert_eq!(
        err(&s, "requests_total + on() up", t),
        "found duplicate series for the match group {} on the right hand-side of the operation: \
         [{__name__=\"up\", instance=\"1\", job=\"b\"}, {__name__=\"up\", instance=\"1\", job=\"a\"}];\
         many-to-many matching not allowed: matching labels must be unique on one side"
    );
    assert_eq!(
        err(&s, "up + on(job) group_right requests_total", t),
        "found duplicate series for the match group {job=\"a\"} on the left hand-side of the operation: \
         [{__name__=\"up\", instance=\"2\", job=\"a\"}, {__name__=\"up\", instance=\"1\", job=\"a\"}];\
         many-to-many matching not allowed: matching labels must be unique on one side"
    );
    assert_eq!(
        err(&s, "up * ignoring(instance) up", t),
        "found duplicate series for the match group {job=\"a\"} on the right hand-side of the operation: \
         [{__name__=\"up\", instance=\"2\", job=\"a\"}, {__name__=\"up\", instance=\"1\", job=\"a\"}];\
         many-to-many matching not allowed: matching labels must be unique on one side"
    );
    assert!(
        vector(&s, "up * on(instance) group_left gauge", t).is_empty(),
        "no match at all is no error"
    );
}

#[test]
fn functions() {
    let s = store();
    let t = 600 * S;
    assert_eq!(one(&s, "abs(gauge - 10)", t), 3.0);
    assert_eq!(one(&s, "clamp(gauge, 0, 5)", t), 5.0);
    assert!(vector(&s, "clamp(gauge, 5, 0)", t).is_empty());
    assert_eq!(one(&s, "clamp_min(gauge, 10)", t), 10.0);
    assert_eq!(one(&s, "clamp_max(gauge, 1)", t), 1.0);
    assert_eq!(one(&s, "round(gauge / 3)", t), 2.0);
    assert_eq!(one(&s, "round(gauge / 3, 0.5)", t), 2.5);
    assert_eq!(one(&s, "round(-2.5 * gauge / gauge)", t), -2.0);
    assert_eq!(one(&s, "sgn(gauge - 10)", t), -1.0);
    assert_eq!(one(&s, "sqrt(gauge + 9)", t), 4.0);
    assert_eq!(one(&s, "log2(gauge + 1)", t), 3.0);
    assert_eq!(one(&s, "timestamp(gauge)", t), 300.0);
    assert_eq!(one(&s, "timestamp(gauge @ 100)", t), 60.0);
    assert!(matches!(instant_at(&s, "time()", t, &EvalOptions::default()), Ok(Value::Scalar { v, .. }) if v == 600.0));
    assert_eq!(vector(&s, "vector(3)", t), [("{}".to_owned(), 3.0)]);
    assert!(matches!(
        instant_at(&s, "scalar(up)", t, &EvalOptions::default()),
        Ok(Value::Scalar { v, .. }) if v.is_nan()
    ));
    assert_eq!(
        vector(&s, "sort_desc(up)", t).iter().map(|s| s.1).collect::<Vec<_>>(),
        [1.0, 1.0, 0.0]
    );
    assert_eq!(vector(&s, "sort(up)", t)[0].1, 0.0);
    assert_eq!(
        vector(&s, "absent(nope{job=\"x\", a=~\"y\"})", t),
        [(r#"{job="x"}"#.to_owned(), 1.0)]
    );
    assert!(vector(&s, "absent(up)", t).is_empty());
    // Dates, in UTC: 1709214300 is 2024-02-29T13:45:00Z, a Thursday.
    for (f, want) in [
        ("year", 2024.0),
        ("month", 2.0),
        ("day_of_month", 29.0),
        ("day_of_week", 4.0),
        ("day_of_year", 60.0),
        ("days_in_month", 29.0),
        ("hour", 13.0),
        ("minute", 45.0),
    ] {
        assert_eq!(one(&s, &format!("{f}(vector(1709214300))"), t), want, "{f}");
    }
    assert_eq!(one(&s, "year()", t), 1970.0);
}

#[test]
fn histogram_quantile_on_classic_buckets() {
    let s = store();
    // Buckets 2, 6, 8, 10: the median is in (0.1, 1]: 0.1 + 0.9 * (5 - 2) / 4.
    let v = one(&s, "histogram_quantile(0.5, h_bucket)", 0);
    assert!((v - (0.1 + 0.9 * 3.0 / 4.0)).abs() < 1e-12, "{v}");
    // In the +Inf bucket: the highest finite bound.
    assert_eq!(one(&s, "histogram_quantile(0.95, h_bucket)", 0), 10.0);
    // In the lowest bucket: from zero.
    assert_eq!(one(&s, "histogram_quantile(0.1, h_bucket)", 0), 0.05);
    assert_eq!(one(&s, "histogram_quantile(2, h_bucket)", 0), f64::INFINITY);
    // The name and le are dropped.
    assert_eq!(vector(&s, "histogram_quantile(0.5, h_bucket)", 0)[0].0, r#"{job="a"}"#);
    let v = one(&s, "histogram_quantile(0.5, rate(h_bucket[1m]))", 60 * S);
    assert!(approx(v, 0.775), "{v}");
}

#[test]
fn label_functions() {
    let s = store();
    let t = 600 * S;
    assert_eq!(
        vector(&s, r#"label_replace(gauge, "dst", "<$1>", "k", "(.*)")"#, t)[0].0,
        r#"{__name__="gauge", dst="<x>", k="x"}"#
    );
    // No match: unchanged. An empty result deletes the label.
    assert_eq!(
        vector(&s, r#"label_replace(gauge, "k", "y", "k", "nomatch")"#, t)[0].0,
        r#"{__name__="gauge", k="x"}"#
    );
    assert_eq!(
        vector(&s, r#"label_replace(gauge, "k", "", "k", ".*")"#, t)[0].0,
        r#"{__name__="gauge"}"#
    );
    // Go's $name parsing: "$1x" is the group named "1x", which does not exist.
    assert_eq!(
        vector(&s, r#"label_replace(gauge, "d", "$1x-${1}x", "k", "(.)")"#, t)[0].0,
        r#"{__name__="gauge", d="-xx", k="x"}"#
    );
    assert_eq!(
        vector(&s, r#"label_join(up{job="b"}, "d", "/", "job", "instance", "none")"#, t)[0].0,
        r#"{__name__="up", d="b/1/", instance="1", job="b"}"#
    );
    assert_eq!(
        err(&s, r#"label_replace(up, "a-b", "", "job", "")"#, t),
        "invalid destination label name in label_replace(): a-b"
    );
    assert_eq!(
        err(&s, r#"label_replace(up, "instance", "", "instance", ".*")"#, t),
        "vector cannot contain metrics with the same labelset"
    );
}

#[test]
fn range_queries() {
    let s = store();
    let r = range(&s, "gauge", 0, 300 * S, 60 * S);
    assert_eq!(
        r,
        [(
            r#"{__name__="gauge", k="x"}"#.to_owned(),
            vec![(0, 3.0), (60 * S, 5.0), (300 * S, 7.0)]
        )]
    );
    // Scalars make one series without labels.
    let r = range(&s, "time() * 2", 0, 120 * S, 60 * S);
    assert_eq!(
        r,
        [("{}".to_owned(), vec![(0, 0.0), (60 * S, 120.0), (120 * S, 240.0)])]
    );
    // Series come sorted by labels.
    let r = range(&s, "up", 0, 60 * S, 60 * S);
    let names: Vec<&str> = r.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        names,
        [
            r#"{__name__="up", instance="1", job="a"}"#,
            r#"{__name__="up", instance="1", job="b"}"#,
            r#"{__name__="up", instance="2", job="a"}"#
        ]
    );
    let e = parse("up[5m]").unwrap();
    assert_eq!(
        eval_range(&s, &e, 0, 60 * S, 60 * S, &EvalOptions::default())
            .unwrap_err()
            .to_string(),
        "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"
    );
    let e = parse("up").unwrap();
    assert!(matches!(
        eval_range(&s, &e, 0, 60 * S, 0, &EvalOptions::default()),
        Err(EvalError::BadData(_))
    ));
    assert_eq!(
        eval_range(&s, &e, 0, 20_000 * S, S, &EvalOptions::default())
            .unwrap_err()
            .to_string(),
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
    );
}

#[test]
fn limits() {
    let s = store();
    let e = parse("up").unwrap();
    let few = EvalOptions {
        max_samples: 5,
        ..EvalOptions::default()
    };
    assert_eq!(
        eval_range(&s, &e, 0, 60 * S, 15 * S, &few).unwrap_err().to_string(),
        "query processing would load too many samples into memory in query execution"
    );
    assert!(eval_range(&s, &e, 0, 0, 15 * S, &few).is_ok());
    let none = EvalOptions {
        timeout: Some(Duration::ZERO),
        ..EvalOptions::default()
    };
    assert_eq!(eval_range(&s, &e, 0, 60 * S, 15 * S, &none), Err(EvalError::Timeout));
    let cancel = Arc::new(AtomicBool::new(true));
    let canceled = EvalOptions {
        cancel: Some(cancel),
        ..EvalOptions::default()
    };
    assert_eq!(
        eval_range(&s, &e, 0, 60 * S, 15 * S, &canceled)
            .unwrap_err()
            .to_string(),
        "query was canceled in expression evaluation"
    );
    let series = EvalOptions {
        max_series_per_selector: Some(2),
        ..EvalOptions::default()
    };
    assert_eq!(
        eval_range(&s, &e, 0, 60 * S, 15 * S, &series),
        Err(EvalError::TooManySeries(2))
    );
}

#[test]
fn instant_value_types() {
    let s = store();
    let opts = EvalOptions::default();
    assert_eq!(
        instant_at(&s, "\"hello\"", 5 * S, &opts).unwrap(),
        Value::String {
            t: 5 * S,
            v: "hello".into()
        }
    );
    assert_eq!(
        instant_at(&s, "1 + 1", 5 * S, &opts).unwrap(),
        Value::Scalar { t: 5 * S, v: 2.0 }
    );
    match instant_at(&s, "up", 7 * S, &opts).unwrap() {
        Value::Vector(v) => assert!(v.iter().all(|s| s.t == 7 * S), "samples carry the evaluation time"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn range_functions_on_threads_answer_as_on_one() {
    // 500 series × 481 steps: enough for the series to be shared among threads.
    let mut s = MemoryStorage::new();
    for i in 0..500i64 {
        let samples = (0..=480i64).filter(|k| (k + i) % 37 != 0).map(|k| {
            let v = if (k * 7 + i) % 101 == 0 {
                stale()
            } else {
                (k * (i % 13 + 1) + (k / 60) * i) as f64 / 4.0
            };
            (k * 15 * S, v)
        });
        s.add(l(&[("__name__", "m"), ("i", &i.to_string())]), samples);
    }
    let run = |query: &str, threads: usize, max_samples: usize| {
        let opts = EvalOptions {
            threads,
            max_samples,
            ..EvalOptions::default()
        };
        eval_range(&s, &parse(query).unwrap(), 0, 7200 * S, 15 * S, &opts)
    };
    for query in [
        "rate(m[5m])",
        "avg_over_time(m[10m])",
        "holt_winters(m[10m], 0.5, 0.5)",
        "quantile_over_time(0.9, m[5m])",
        "last_over_time(m[1m])",
    ] {
        let one = run(query, 1, 50_000_000);
        assert!(matches!(&one, Ok(m) if m.len() == 500), "{query}");
        assert_eq!(
            format!("{:?}", run(query, 3, 50_000_000)),
            format!("{one:?}"),
            "{query}"
        );
        // The sample limit fails or passes the same way, wherever the series are computed.
        let mut outcomes = Vec::new();
        for max in [40, 2_000, 100_000, 200_000, 230_000, 260_000, 300_000] {
            let one = run(query, 1, max);
            assert_eq!(
                format!("{:?}", run(query, 4, max)),
                format!("{one:?}"),
                "{query} with {max}"
            );
            outcomes.push(one.is_ok());
        }
        assert_eq!((outcomes[0], outcomes[6]), (false, true), "{query}: {outcomes:?}");
    }
    assert!(run("holt_winters(m[10m], 2, 0.5)", 4, 50_000_000).is_err());
    assert_eq!(
        run("holt_winters(m[10m], 2, 0.5)", 4, 50_000_000),
        run("holt_winters(m[10m], 2, 0.5)", 1, 50_000_000)
    );
}
