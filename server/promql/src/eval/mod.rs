//! The PromQL evaluator, answering as Prometheus 2.42's engine (`promql/engine.go`,
//! `functions.go`, `quantile.go`) for float samples.
//!
//! The engine is a port of Prometheus' own: every expression is evaluated over all the steps
//! of the query at once into a matrix, step-invariant parts (`@`, literals) are evaluated once,
//! the `@` modifier works by adjusting offsets relative to the evaluation start, subqueries
//! evaluate on steps aligned to multiples of their resolution, and the sample limit is counted
//! at the same places. The results (values and series) are Prometheus' also where Prometheus
//! 2.42 has quirks; see the crate's README for the list.

mod aggr;
mod binop;
mod engine;
pub(crate) mod functions;
mod gomath;
mod gosort;
mod gotime;
mod node;
mod storage;
#[cfg(feature = "tsdb")]
mod tsdb;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

pub use storage::{MemoryStorage, Queryable, STALE_NAN, SelectLimits, StoredSeries, is_stale};
#[cfg(feature = "tsdb")]
pub use tsdb::{TsdbQueryable, store_matcher};

use crate::ast::{Expr, ValueType};
use crate::labels::Labels;

/// One value of a series at a time (milliseconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
}

/// A series of a range result: labels and points in increasing time order.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<Point>,
}

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

pub type Vector = Vec<Sample>;
pub type Matrix = Vec<Series>;

/// The result of an instant query.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar {
        t: i64,
        v: f64,
    },
    /// Every sample at the evaluation time, in Prometheus' order.
    Vector(Vector),
    /// For range selectors and subqueries: the points of each series.
    Matrix(Matrix),
    String {
        t: i64,
        v: String,
    },
}

/// Settings and limits of an evaluation. The defaults are Prometheus' (`--query.*` flags and
/// the HTTP API's resolution limit).
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// How far back an instant selector looks for a sample (`--query.lookback-delta`).
    pub lookback_delta_ms: i64,
    /// The resolution of subqueries written without one (`[30m:]`): Prometheus' global
    /// evaluation interval.
    pub default_subquery_step_ms: i64,
    /// The most samples held in memory at once (`--query.max-samples`).
    pub max_samples: usize,
    /// The longest an evaluation may run (`--query.timeout`).
    pub timeout: Option<Duration>,
    /// The most series a single selector may load; `None` for no limit (no Prometheus
    /// counterpart).
    pub max_series_per_selector: Option<usize>,
    /// The most samples a single selector may load from storage for the whole evaluation
    /// (a range query loads its selectors' samples once, for every step); `None` for no
    /// limit. No Prometheus counterpart: Prometheus streams, `max_samples` bounds what it
    /// holds at once.
    pub max_samples_loaded: Option<usize>,
    /// The most points per series of a range query (Prometheus' API refuses more than
    /// 11,000 steps).
    pub max_points_per_series: Option<usize>,
    /// Set to true from elsewhere to stop the evaluation.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Threads a large range function may use for its series (the same results as one).
    pub threads: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            default_subquery_step_ms: 60 * 1000,
            max_samples: 50_000_000,
            timeout: Some(Duration::from_secs(120)),
            max_series_per_selector: None,
            max_samples_loaded: None,
            max_points_per_series: Some(11_000),
            cancel: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
        }
    }
}

/// Why an evaluation failed. `Display` gives Prometheus' message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// `query timed out in expression evaluation`
    Timeout,
    /// `query was canceled in expression evaluation`
    Canceled,
    /// `query processing would load too many samples into memory in query execution`
    TooManySamples,
    /// A selector matched more series than `max_series_per_selector`.
    TooManySeries(usize),
    /// The running queries together would hold more than this many bytes of samples.
    OutOfMemory(usize),
    /// The storage failed.
    Storage(String),
    /// An error of the evaluation itself, with Prometheus' text (many-to-many matching,
    /// duplicate label sets, invalid regular expression in `label_replace`, …).
    Execution(String),
    /// The query parameters are refused (range query of a range vector, step, resolution).
    BadData(String),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Timeout => f.write_str("query timed out in expression evaluation"),
            EvalError::Canceled => f.write_str("query was canceled in expression evaluation"),
            EvalError::TooManySamples => {
                f.write_str("query processing would load too many samples into memory in query execution")
            }
            EvalError::TooManySeries(n) => write!(f, "query would load more than {n} series from one selector"),
            EvalError::OutOfMemory(bytes) => write!(
                f,
                "the queries running now hold the {} MiB the server allows for queries; try again in a moment",
                bytes >> 20
            ),
            EvalError::Storage(e) => write!(f, "expanding series: {e}"),
            EvalError::Execution(e) | EvalError::BadData(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for EvalError {}

/// Evaluates `expr` at `t_ms` (Prometheus' instant query).
pub fn eval_instant<Q: Queryable + ?Sized>(
    storage: &Q,
    expr: &Expr,
    t_ms: i64,
    opts: &EvalOptions,
) -> Result<Value, EvalError> {
    let mut node = node::preprocess(expr, t_ms, t_ms);
    node::populate(&mut node, storage, t_ms, t_ms, opts)?;
    node::set_offset_for_at_modifier(t_ms, &node);
    let mut ev = engine::Evaluator::new(t_ms, t_ms, 1, opts, deadline(opts));
    let val = ev.eval(&node)?;
    let mat = match val {
        engine::Val::String(s) => return Ok(Value::String { t: t_ms, v: s }),
        engine::Val::Matrix(m) => m,
    };
    match expr.value_type() {
        ValueType::Vector => Ok(Value::Vector(
            mat.into_iter()
                .map(|s| Sample {
                    labels: s.labels,
                    t: t_ms,
                    v: s.points[0].v,
                })
                .collect(),
        )),
        ValueType::Scalar => Ok(Value::Scalar {
            t: t_ms,
            v: mat.first().and_then(|s| s.points.first()).map_or(f64::NAN, |p| p.v),
        }),
        _ => Ok(Value::Matrix(mat)),
    }
}

/// Evaluates `expr` at every step from `start_ms` to `end_ms` (Prometheus' range query). The
/// series come sorted by labels, as Prometheus returns them.
pub fn eval_range<Q: Queryable + ?Sized>(
    storage: &Q,
    expr: &Expr,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    opts: &EvalOptions,
) -> Result<Matrix, EvalError> {
    if end_ms < start_ms {
        return Err(EvalError::BadData("end timestamp must not be before start time".into()));
    }
    if step_ms <= 0 {
        return Err(EvalError::BadData(
            "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
        ));
    }
    if let Some(max) = opts.max_points_per_series
        && (end_ms - start_ms) / step_ms > max as i64
    {
        return Err(EvalError::BadData(format!(
            "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
            thousands(max)
        )));
    }
    let t = expr.value_type();
    if t != ValueType::Vector && t != ValueType::Scalar {
        return Err(EvalError::BadData(format!(
            "invalid expression type {} for range query, must be Scalar or instant Vector",
            crate::go::quote(t.documented())
        )));
    }
    let mut node = node::preprocess(expr, start_ms, end_ms);
    node::populate(&mut node, storage, start_ms, end_ms, opts)?;
    node::set_offset_for_at_modifier(start_ms, &node);
    let mut ev = engine::Evaluator::new(start_ms, end_ms, step_ms, opts, deadline(opts));
    let mut mat = match ev.eval(&node)? {
        engine::Val::Matrix(m) => m,
        engine::Val::String(_) => unreachable!("range queries are of vectors or scalars"),
    };
    ev.check_done()?;
    mat.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(mat)
}

fn deadline(opts: &EvalOptions) -> Option<Instant> {
    opts.timeout.and_then(|t| Instant::now().checked_add(t))
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
