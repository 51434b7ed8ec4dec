//! The evaluator against the real Prometheus 2.42: the same data in both (Prometheus
//! backfilled with promtool and fed by remote write; Vitrine's store with the same samples, the
//! older part compacted into blocks, the rest in the head, next to another client's copy that
//! must never show), every query of `differential/queries.rs` run as a range query on both,
//! series, timestamps and values compared (values relatively within 1e-5, NaN equal to NaN).
//! Vitrine's answers are written by its API's JSON writer (`vitrine_promql::json`) with its
//! API's error texts, and read back with the same code as Prometheus' HTTP answers.
//! Prints every difference and the pass rate.
//!
//! The checks that pass are listed in `differential/baseline.txt`: the test fails when one of
//! them no longer passes, and when more than 10 % of the queries that should succeed return
//! nothing on Prometheus (an empty answer on both sides proves nothing). New passing checks are
//! reported; `UPDATE_BASELINE=1` writes the file anew.
//!
//! `cargo test -p vitrine-promql --features tsdb --test differential` (the workspace build
//! has the feature). Skipped, with the reason printed, where `prometheus` or `promtool` is not
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
use std::collections::BTreeSet;
use vitrine_promql::eval::{EvalOptions, TsdbQueryable, Value, eval_instant, eval_range};
use vitrine_promql::{Labels, json, parse};
use vitrine_tsdb::{Db, Options};

const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential/baseline.txt");

/// The client whose data is queried, and another one holding a doubled copy.
const TENANT: u32 = 1;
const OTHER_TENANT: u32 = 2;

const DEFAULT_START: i64 = 7 * 60_000 + 13_000;
const DEFAULT_END: i64 = 3 * 3_600_000 + 59 * 60_000;
const DEFAULT_STEP: i64 = 67_000;

type Answer = Result<BTreeMap<Labels, Vec<(i64, f64)>>, String>;

/// Vitrine's store with the data set for [`TENANT`] and a doubled copy for [`OTHER_TENANT`]; the
/// head is compacted as a running server would, so the queries read blocks and the head.
fn store(data: &Dataset, dir: &std::path::Path) -> Db {
    let db = Db::open(dir, Options::default()).unwrap_or_else(|e| panic!("opening the store: {e}"));
    let mut app = db.appender();
    for series in data.all_series() {
        let labels = vitrine_tsdb::Labels::new(series.labels.clone());
        let ours = app.series(TENANT, &labels);
        let theirs = app.series(OTHER_TENANT, &labels);
        for &(t, v) in &series.samples {
            app.add(ours, t, v);
            // Staleness markers stay markers; other values differ.
            app.add(theirs, t, if v.is_nan() { v } else { v * 2.0 + 1.0 });
        }
    }
    app.commit().unwrap();
    let blocks = db.compact_head(false).unwrap();
    assert!(blocks > 0, "the older data is in blocks");
    db
}

fn parse_value(v: &serde_json::Value) -> f64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN)
}

/// A range answer from the API's JSON, Prometheus' or Vitrine's.
fn range_answer(json: &serde_json::Value) -> Answer {
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
        if out.insert(labels.clone(), points).is_some() {
            return Err(format!("duplicate series {labels}"));
        }
    }
    Ok(out)
}

fn prometheus_answer(p: &Prometheus, query: &str, start: i64, end: i64, step: i64) -> Answer {
    range_answer(
        &p.query_range(query, start, end, step)
            .map_err(|e| format!("HTTP: {e}"))?,
    )
}

/// Vitrine's answer as its API gives it: evaluated over the store, written by the API's JSON
/// writer, with the API's error texts.
fn vitrine_json(s: &TsdbQueryable<'_>, query: &str, span: (i64, i64, i64), opts: &EvalOptions) -> serde_json::Value {
    let (start, end, step) = span;
    let value = parse(query).map_err(|e| e.api_message("query")).and_then(|expr| {
        if start == end {
            eval_instant(s, &expr, start, opts).map_err(|e| e.to_string())
        } else {
            eval_range(s, &expr, start, end, step, opts)
                .map(Value::Matrix)
                .map_err(|e| e.to_string())
        }
    });
    match value {
        Ok(value) => serde_json::from_str(&json::answer(&value)).expect("the API's JSON parses"),
        Err(error) => serde_json::json!({ "status": "error", "error": error }),
    }
}

fn vitrine_answer(s: &TsdbQueryable<'_>, query: &str, start: i64, end: i64, step: i64, opts: &EvalOptions) -> Answer {
    range_answer(&vitrine_json(s, query, (start, end, step), opts))
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

/// An instant answer from the API's JSON, Prometheus' or Vitrine's.
fn instant_answer(json: &serde_json::Value) -> Result<Instant, String> {
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
        _ => Instant::Matrix(range_answer(json)?),
    })
}

fn prometheus_instant(p: &Prometheus, query: &str, t: i64) -> Result<Instant, String> {
    instant_answer(&p.query(query, t).map_err(|e| format!("HTTP: {e}"))?)
}

fn vitrine_instant(s: &TsdbQueryable<'_>, query: &str, t: i64, opts: &EvalOptions) -> Result<Instant, String> {
    instant_answer(&vitrine_json(s, query, (t, t, 1), opts))
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
    both_failed: usize,
    error_text_differs: usize,
    /// `[phase] query` of every check, and of those that passed: the baseline's lines.
    checked: BTreeSet<String>,
    passed: BTreeSet<String>,
    /// Range queries Prometheus answered, and how many of those answers had no point.
    answered: usize,
    answered_empty: usize,
}

impl Tally {
    fn record(&mut self, phase: &str, query: &str, both_fail: bool, diffs: Vec<String>) {
        self.checks += 1;
        assert!(
            self.checked.insert(format!("[{phase}] {query}")),
            "[{phase}] {query} is checked twice: the baseline needs one name per check"
        );
        if both_fail {
            self.both_failed += 1;
        }
        if diffs.is_empty() || both_fail {
            self.passed.insert(format!("[{phase}] {query}"));
            if !diffs.is_empty() {
                self.error_text_differs += 1;
                println!("[{phase}] {query}\n{}", diffs.join("\n"));
            }
            return;
        }
        println!("[{phase}] DIFFERS: {query}\n{}", diffs.join("\n"));
    }

    fn report(&self, phase: &str) {
        println!(
            "{phase}: {}/{} answer like Prometheus ({:.1}%); {} fail on both ({} with differently worded errors)",
            self.passed.len(),
            self.checks,
            100.0 * self.passed.len() as f64 / self.checks.max(1) as f64,
            self.both_failed,
            self.error_text_differs
        );
    }
}

fn run_range_phase(phase: &str, prom: &Prometheus, store: &TsdbQueryable<'_>, opts: &EvalOptions, tally: &mut Tally) {
    for query in QUERIES {
        let (start, end, step) = query.range.unwrap_or((DEFAULT_START, DEFAULT_END, DEFAULT_STEP));
        let name = match query.range {
            None => query.q.to_owned(),
            Some(_) => format!(
                "{} from T0+{}s to T0+{}s step {}s",
                query.q,
                start / 1000,
                end / 1000,
                step / 1000
            ),
        };
        let (start, end) = (data::T0 + start, data::T0 + end);
        let want = prometheus_answer(prom, query.q, start, end, step);
        let got = vitrine_answer(store, query.q, start, end, step, opts);
        if let Ok(answer) = &want {
            tally.answered += 1;
            if answer.values().all(Vec::is_empty) {
                tally.answered_empty += 1;
                if std::env::var_os("VERBOSE").is_some() {
                    println!("[{phase}] empty on Prometheus: {}", query.q);
                }
            }
        }
        let both_fail = want.is_err() && got.is_err();
        CURRENT.with(|c| *c.borrow_mut() = query.q.to_owned());
        tally.record(phase, &name, both_fail, compare(&want, &got));
    }
}

/// Compares the checks that passed with the baseline file (or rewrites it with
/// `UPDATE_BASELINE=1`); the regressions, if any.
fn against_baseline(passed: &BTreeSet<String>) -> Vec<String> {
    let text: String = passed.iter().map(|line| format!("{line}\n")).collect();
    if std::env::var_os("UPDATE_BASELINE").is_some() {
        std::fs::write(BASELINE, text).unwrap_or_else(|e| panic!("writing {BASELINE}: {e}"));
        println!("baseline written: {} passing checks in {BASELINE}", passed.len());
        return Vec::new();
    }
    let baseline_text = std::fs::read_to_string(BASELINE).unwrap_or_else(|e| panic!("reading {BASELINE}: {e}"));
    let baseline: BTreeSet<String> = baseline_text.lines().map(str::to_owned).collect();
    let new = passed.difference(&baseline).count();
    if new > 0 {
        println!("{new} checks pass that the baseline does not list: record them with UPDATE_BASELINE=1");
    }
    println!("baseline: {} checks, {} pass now", baseline.len(), passed.len());
    baseline.difference(passed).cloned().collect()
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
    let dir = std::env::temp_dir().join(format!("vitrine-differential-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = store(&data, &dir);
    let store = TsdbQueryable {
        db: &db,
        tenant: TENANT,
        memory: None,
    };
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
    // (A query listed with several ranges is one instant query.)
    let mut instant_queries = BTreeSet::new();
    for q in QUERIES
        .iter()
        .map(|q| q.q)
        .chain(INSTANT_ONLY.iter().copied())
        .filter(|q| instant_queries.insert(*q))
    {
        for t in times {
            let want = prometheus_instant(&prom, q, t);
            let got = vitrine_instant(&store, q, t, &defaults);
            let both_fail = want.is_err() && got.is_err();
            let phase = format!("instant at T0+{}ms", t - data::T0);
            instant.record(&phase, q, both_fail, compare_instant(q, &want, &got));
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
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);

    range.report("range queries");
    instant.report("instant queries");
    limited.report("range queries, max samples 2500 and 600");
    lookback.report("range queries, lookback delta 1m");
    let tallies = [&range, &instant, &limited, &lookback];
    let checks: usize = tallies.iter().map(|t| t.checks).sum();
    let passed: BTreeSet<String> = tallies.iter().flat_map(|t| t.passed.iter().cloned()).collect();
    println!(
        "in all: {}/{checks} checks pass ({:.2}%), {} queries",
        passed.len(),
        100.0 * passed.len() as f64 / checks as f64,
        QUERIES.len() + INSTANT_ONLY.len()
    );
    println!(
        "{} values compared, {} of them not bit for bit equal (within 1e-5)",
        VALUES.load(Ordering::Relaxed),
        INEXACT.load(Ordering::Relaxed)
    );
    println!(
        "range queries answered by Prometheus: {}, of them empty: {} ({:.1}%)",
        range.answered,
        range.answered_empty,
        100.0 * range.answered_empty as f64 / range.answered.max(1) as f64
    );
    assert!(QUERIES.len() >= 150);
    assert!(
        range.answered_empty * 10 <= range.answered,
        "more than 10 % of the range queries Prometheus answers are empty: the data or the queries prove too little"
    );
    let regressions = against_baseline(&passed);
    assert!(
        regressions.is_empty(),
        "checks of the baseline that no longer pass: {regressions:#?}"
    );
}
