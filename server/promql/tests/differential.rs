//! The evaluator against the real Prometheus 2.42: the same data in both, every query of
//! `differential/queries.rs` run as a range query on both, series, timestamps and values
//! compared (values relatively within 1e-5, NaN equal to NaN). Prints every difference and
//! the pass rate. Skipped, with the reason printed, where `prometheus` or `promtool` is not
//! installed.

mod differential {
    pub mod data;
    pub mod prometheus;
    pub mod queries;
}

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use differential::data::{self, Dataset};
use differential::prometheus::{Prometheus, find_executable};
use differential::queries::{INSTANT_ONLY, QUERIES};
use vitrine_promql::eval::{EvalOptions, MemoryStorage, Value, eval_instant, eval_range};
use vitrine_promql::{Labels, parse};

/// Queries whose difference is known and explained in the README; they are run and
/// reported, but do not fail the test.
const KNOWN_DIFFERENCES: &[&str] = &[];

const DEFAULT_START: i64 = 7 * 60_000 + 13_000;
const DEFAULT_END: i64 = 3 * 3_600_000 + 59 * 60_000;
const DEFAULT_STEP: i64 = 67_000;

type Answer = Result<BTreeMap<Labels, Vec<(i64, f64)>>, String>;

fn storage(data: &Dataset) -> MemoryStorage {
    let mut s = MemoryStorage::new();
    for series in data.all_series() {
        s.add(Labels::new(series.labels.clone()), series.samples.iter().copied());
    }
    s
}

fn parse_value(v: &serde_json::Value) -> f64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN)
}

fn prometheus_answer(p: &Prometheus, query: &str, start: i64, end: i64, step: i64) -> Answer {
    let json = p
        .query_range(query, start, end, step)
        .map_err(|e| format!("HTTP: {e}"))?;
    if json["status"] != "success" {
        return Err(json["error"].as_str().unwrap_or("?").to_owned());
    }
    let mut out = BTreeMap::new();
    for series in json["data"]["result"].as_array().into_iter().flatten() {
        let labels = labels_of(&series["metric"]);
        let points = series["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (ms(&p[0]), parse_value(&p[1])))
            .collect();
        out.insert(labels, points);
    }
    Ok(out)
}

fn vitrine_answer(s: &MemoryStorage, query: &str, start: i64, end: i64, step: i64, opts: &EvalOptions) -> Answer {
    let expr = parse(query).map_err(|e| e.to_string())?;
    let mat = eval_range(s, &expr, start, end, step, opts).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for series in mat {
        if out
            .insert(
                series.labels.clone(),
                series.points.iter().map(|p| (p.t, p.v)).collect(),
            )
            .is_some()
        {
            return Err(format!("duplicate series {}", series.labels));
        }
    }
    Ok(out)
}

/// Values compared, and those equal only within the tolerance (not bit for bit).
static VALUES: AtomicUsize = AtomicUsize::new(0);
static INEXACT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static CURRENT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn same_value(a: f64, b: f64) -> bool {
    VALUES.fetch_add(1, Ordering::Relaxed);
    if a.to_bits() != b.to_bits() && !(a.is_nan() && b.is_nan()) {
        INEXACT.fetch_add(1, Ordering::Relaxed);
        if std::env::var_os("SHOW_INEXACT").is_some() {
            println!("inexact: {a:e} vs {b:e} in {}", CURRENT.with(|c| c.borrow().clone()));
        }
    }
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    (a - b).abs() <= 1e-5 * a.abs().max(b.abs())
}

/// The differences between two answers, described; empty when they agree.
fn compare(want: &Answer, got: &Answer) -> Vec<String> {
    match (want, got) {
        (Err(w), Err(g)) => {
            if w == g {
                Vec::new()
            } else {
                vec![format!(
                    "  both fail, differently:\n    prometheus: {w}\n    vitrine:    {g}"
                )]
            }
        }
        (Err(w), Ok(_)) => vec![format!("  prometheus fails ({w}), vitrine answers")],
        (Ok(_), Err(g)) => vec![format!("  vitrine fails ({g}), prometheus answers")],
        (Ok(w), Ok(g)) => {
            let mut diffs = Vec::new();
            for (labels, wp) in w {
                let Some(gp) = g.get(labels) else {
                    diffs.push(format!("  missing series {labels} ({} points)", wp.len()));
                    continue;
                };
                let mut i = 0;
                let mut j = 0;
                let mut shown = 0;
                while i < wp.len() || j < gp.len() {
                    let d = match (wp.get(i), gp.get(j)) {
                        (Some(a), Some(b)) if a.0 == b.0 => {
                            i += 1;
                            j += 1;
                            (!same_value(a.1, b.1)).then(|| format!("at {}: {} != {}", a.0, a.1, b.1))
                        }
                        (Some(a), Some(b)) if a.0 < b.0 => {
                            i += 1;
                            Some(format!("at {}: {} missing", a.0, a.1))
                        }
                        (Some(a), None) => {
                            i += 1;
                            Some(format!("at {}: {} missing", a.0, a.1))
                        }
                        (_, Some(b)) => {
                            j += 1;
                            Some(format!("at {}: extra {}", b.0, b.1))
                        }
                        (None, None) => None,
                    };
                    if let Some(d) = d {
                        if shown < 4 {
                            diffs.push(format!("  {labels} {d}"));
                        }
                        shown += 1;
                    }
                }
                if shown > 4 {
                    diffs.push(format!("  {labels}: {} differing points in all", shown));
                }
            }
            for labels in g.keys().filter(|l| !w.contains_key(*l)) {
                diffs.push(format!("  extra series {labels}"));
            }
            diffs
        }
    }
}

/// An instant query's answer: vector samples in Prometheus' order, or the other types.
#[derive(Debug)]
enum Instant {
    Scalar(i64, f64),
    String(i64, String),
    Vector(Vec<(Labels, i64, f64)>),
    Matrix(BTreeMap<Labels, Vec<(i64, f64)>>),
}

fn labels_of(metric: &serde_json::Value) -> Labels {
    Labels::new(
        metric
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
            .collect(),
    )
}

fn ms(v: &serde_json::Value) -> i64 {
    (v.as_f64().unwrap() * 1000.0).round() as i64
}

fn prometheus_instant(p: &Prometheus, query: &str, t: i64) -> Result<Instant, String> {
    let json = p.query(query, t).map_err(|e| format!("HTTP: {e}"))?;
    if json["status"] != "success" {
        return Err(json["error"].as_str().unwrap_or("?").to_owned());
    }
    let r = &json["data"]["result"];
    Ok(match json["data"]["resultType"].as_str() {
        Some("scalar") => Instant::Scalar(ms(&r[0]), parse_value(&r[1])),
        Some("string") => Instant::String(ms(&r[0]), r[1].as_str().unwrap_or("").to_owned()),
        Some("vector") => Instant::Vector(
            r.as_array()
                .into_iter()
                .flatten()
                .map(|s| (labels_of(&s["metric"]), ms(&s["value"][0]), parse_value(&s["value"][1])))
                .collect(),
        ),
        _ => Instant::Matrix(
            r.as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let points = s["values"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| (ms(&p[0]), parse_value(&p[1])))
                        .collect();
                    (labels_of(&s["metric"]), points)
                })
                .collect(),
        ),
    })
}

fn vitrine_instant(s: &MemoryStorage, query: &str, t: i64, opts: &EvalOptions) -> Result<Instant, String> {
    let expr = parse(query).map_err(|e| e.to_string())?;
    Ok(match eval_instant(s, &expr, t, opts).map_err(|e| e.to_string())? {
        Value::Scalar { t, v } => Instant::Scalar(t, v),
        Value::String { t, v } => Instant::String(t, v),
        Value::Vector(v) => Instant::Vector(v.into_iter().map(|s| (s.labels, s.t, s.v)).collect()),
        Value::Matrix(m) => Instant::Matrix(
            m.into_iter()
                .map(|s| (s.labels, s.points.iter().map(|p| (p.t, p.v)).collect()))
                .collect(),
        ),
    })
}

/// Whether the query has a subquery (`[range:step]`).
fn has_subquery(q: &str) -> bool {
    q.split('[')
        .skip(1)
        .any(|rest| rest.split(']').next().is_some_and(|inside| inside.contains(':')))
}

/// Differences between instant answers. Vectors must come in the same order, but where
/// Prometheus takes the order from a Go map, which is random: `histogram_quantile`'s
/// results, and the series of any evaluation over several steps (inside subqueries).
fn compare_instant(query: &str, want: &Result<Instant, String>, got: &Result<Instant, String>) -> Vec<String> {
    let as_range = |a: &Result<Instant, String>| -> Answer {
        match a {
            Err(e) => Err(e.clone()),
            Ok(Instant::Matrix(m)) => Ok(m.clone()),
            Ok(Instant::Vector(v)) => Ok(v.iter().map(|(l, t, v)| (l.clone(), vec![(*t, *v)])).collect()),
            Ok(Instant::Scalar(t, v)) => Ok([(Labels::empty(), vec![(*t, *v)])].into_iter().collect()),
            Ok(Instant::String(..)) => Ok(BTreeMap::new()),
        }
    };
    let mut diffs = compare(&as_range(want), &as_range(got));
    match (want, got) {
        (Ok(Instant::Vector(w)), Ok(Instant::Vector(g)))
            if diffs.is_empty() && !query.contains("histogram_quantile") && !has_subquery(query) =>
        {
            let wl: Vec<&Labels> = w.iter().map(|s| &s.0).collect();
            let gl: Vec<&Labels> = g.iter().map(|s| &s.0).collect();
            if wl != gl {
                diffs.push(format!(
                    "  order differs:\n    prometheus: {wl:?}\n    vitrine:    {gl:?}"
                ));
            }
        }
        (Ok(Instant::String(wt, w)), Ok(Instant::String(gt, g))) if (wt, w) != (gt, g) => {
            diffs.push(format!("  string {w:?} at {wt} != {g:?} at {gt}"));
        }
        (Ok(w), Ok(g)) if std::mem::discriminant(w) != std::mem::discriminant(g) => {
            diffs.push(format!("  result types differ: {w:?} / {g:?}"));
        }
        _ => {}
    }
    diffs
}

/// Counts the checks of one phase and prints every difference.
#[derive(Default)]
struct Tally {
    checks: usize,
    passed: usize,
    both_failed: usize,
    error_text_differs: usize,
    unexpected: Vec<String>,
}

impl Tally {
    fn record(&mut self, phase: &str, query: &str, both_fail: bool, diffs: Vec<String>) {
        self.checks += 1;
        if both_fail {
            self.both_failed += 1;
        }
        if diffs.is_empty() || both_fail {
            self.passed += 1;
            if !diffs.is_empty() {
                self.error_text_differs += 1;
                println!("[{phase}] {query}\n{}", diffs.join("\n"));
            }
            return;
        }
        println!("[{phase}] DIFFERS: {query}\n{}", diffs.join("\n"));
        if !KNOWN_DIFFERENCES.contains(&query) {
            self.unexpected.push(format!("[{phase}] {query}"));
        }
    }

    fn report(&self, phase: &str) {
        println!(
            "{phase}: {}/{} answer like Prometheus ({:.1}%); {} fail on both ({} with differently worded errors)",
            self.passed,
            self.checks,
            100.0 * self.passed as f64 / self.checks.max(1) as f64,
            self.both_failed,
            self.error_text_differs
        );
    }
}

fn run_range_phase(phase: &str, prom: &Prometheus, store: &MemoryStorage, opts: &EvalOptions, tally: &mut Tally) {
    for query in QUERIES {
        let (start, end, step) = query.range.unwrap_or((DEFAULT_START, DEFAULT_END, DEFAULT_STEP));
        let (start, end) = (data::T0 + start, data::T0 + end);
        let want = prometheus_answer(prom, query.q, start, end, step);
        let got = vitrine_answer(store, query.q, start, end, step, opts);
        if std::env::var_os("VERBOSE").is_some() {
            match &want {
                Ok(m) => println!(
                    "{:>4} series {:>6} points  {}",
                    m.len(),
                    m.values().map(|p| p.len()).sum::<usize>(),
                    query.q
                ),
                Err(e) => println!("error: {e}  {}", query.q),
            }
        }
        let both_fail = want.is_err() && got.is_err();
        CURRENT.with(|c| *c.borrow_mut() = query.q.to_owned());
        tally.record(phase, query.q, both_fail, compare(&want, &got));
    }
}

#[test]
fn queries_answer_like_prometheus() {
    for tool in ["prometheus", "promtool"] {
        if find_executable(tool).is_none() {
            println!("SKIPPED: `{tool}` is not installed (Debian: apt-get install prometheus)");
            return;
        }
    }
    let data = data::generate();
    let mut prom = Prometheus::start(&data).unwrap_or_else(|e| panic!("starting Prometheus: {e}"));
    let store = storage(&data);
    let defaults = EvalOptions::default();

    // 1. Every query as a range query.
    let mut range = Tally::default();
    run_range_phase("range", &prom, &store, &defaults, &mut range);

    // 2. Every query, and some of other types, as instant queries at a few times, the order
    //    of vector elements included.
    let mut instant = Tally::default();
    let times = [
        data::T0 + 3_600_000 + 7_000,
        data::SPLIT + 1_000,
        data::SPLIT + 32 * 60_000 + 500,
        data::END - 1,
    ];
    for q in QUERIES.iter().map(|q| q.q).chain(INSTANT_ONLY.iter().copied()) {
        for t in times {
            let want = prometheus_instant(&prom, q, t);
            let got = vitrine_instant(&store, q, t, &defaults);
            let both_fail = want.is_err() && got.is_err();
            instant.record("instant", q, both_fail, compare_instant(q, &want, &got));
        }
    }

    // 3. Small sample limits: the same queries fail, where Prometheus counts samples.
    let mut limited = Tally::default();
    for limit in [2500, 600] {
        prom.restart(&[&format!("--query.max-samples={limit}")]).unwrap();
        let small = EvalOptions {
            max_samples: limit,
            ..EvalOptions::default()
        };
        run_range_phase(&format!("max-samples={limit}"), &prom, &store, &small, &mut limited);
    }

    // 4. A one-minute lookback delta.
    prom.restart(&["--query.lookback-delta=1m"]).unwrap();
    let mut lookback = Tally::default();
    let short = EvalOptions {
        lookback_delta_ms: 60_000,
        ..EvalOptions::default()
    };
    run_range_phase("lookback-1m", &prom, &store, &short, &mut lookback);

    range.report("range queries");
    instant.report("instant queries");
    limited.report("range queries, max samples 2500 and 600");
    lookback.report("range queries, lookback delta 1m");
    let checks = range.checks + instant.checks + limited.checks + lookback.checks;
    let passed = range.passed + instant.passed + limited.passed + lookback.passed;
    println!(
        "in all: {passed}/{checks} checks pass ({:.2}%), {} queries",
        100.0 * passed as f64 / checks as f64,
        QUERIES.len() + INSTANT_ONLY.len()
    );
    println!(
        "{} values compared, {} of them not bit for bit equal (within 1e-5)",
        VALUES.load(Ordering::Relaxed),
        INEXACT.load(Ordering::Relaxed)
    );
    assert!(QUERIES.len() >= 150);
    let unexpected: Vec<&String> = [&range, &instant, &limited, &lookback]
        .iter()
        .flat_map(|t| &t.unexpected)
        .collect();
    assert!(unexpected.is_empty(), "unexpected differences: {unexpected:#?}");
}
