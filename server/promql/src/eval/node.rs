//! The tree the evaluator walks: the parser's tree after Prometheus' `PreprocessExpr`
//! (step-invariant parts wrapped, `@ start()`/`@ end()` resolved), with the series of every
//! selector loaded, and offsets that the `@` modifier adjusts during evaluation
//! (`setOffsetForAtModifier`), as Prometheus 2.42's engine does.

use std::cell::Cell;

use super::storage::{Queryable, StoredSeries};
use super::{EvalError, EvalOptions};
use crate::ast::*;
use crate::functions::Function;
use crate::matcher::Matcher;

pub(crate) struct VsNode {
    pub matchers: Vec<Matcher>,
    pub original_offset: i64,
    /// The offset in effect: the original one, adjusted for `@` relative to the evaluation
    /// start.
    pub offset: Cell<i64>,
    pub timestamp: Option<i64>,
    pub series: Vec<StoredSeries>,
}

pub(crate) struct SubqueryNode {
    pub expr: Box<Node>,
    pub range: i64,
    pub step: i64,
    pub original_offset: i64,
    pub offset: Cell<i64>,
    pub timestamp: Option<i64>,
}

pub(crate) enum Node {
    Number(f64),
    String(String),
    Vector(Box<VsNode>),
    Matrix(Box<VsNode>, i64),
    Subquery(SubqueryNode),
    Paren(Box<Node>),
    Unary(bool, Box<Node>),
    Binary {
        op: BinaryOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
        return_bool: bool,
        matching: Option<VectorMatching>,
    },
    Aggregate {
        op: AggregateOp,
        expr: Box<Node>,
        param: Option<Box<Node>>,
        /// Sorted.
        grouping: Vec<String>,
        without: bool,
    },
    Call {
        func: &'static Function,
        args: Vec<Node>,
    },
    StepInvariant(Box<Node>),
}

impl Node {
    pub fn value_type(&self) -> ValueType {
        match self {
            Node::Number(_) => ValueType::Scalar,
            Node::String(_) => ValueType::String,
            Node::Vector(_) | Node::Aggregate { .. } => ValueType::Vector,
            Node::Matrix(..) | Node::Subquery(_) => ValueType::Matrix,
            Node::Paren(e) | Node::Unary(_, e) | Node::StepInvariant(e) => e.value_type(),
            Node::Binary { lhs, rhs, .. } => {
                if lhs.value_type() == ValueType::Scalar && rhs.value_type() == ValueType::Scalar {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Node::Call { func, .. } => func.return_type,
        }
    }

    /// Without the parentheses around it (`unwrapParenExpr`).
    pub fn unparen(&self) -> &Node {
        match self {
            Node::Paren(e) => e.unparen(),
            other => other,
        }
    }

    /// Without a step-invariant wrapper and parentheses, in the order Prometheus unwraps
    /// them: parentheses, the wrapper, parentheses.
    pub fn unwrap_arg(&self) -> &Node {
        match self.unparen() {
            Node::StepInvariant(e) => e.unparen(),
            other => other,
        }
    }

    fn is_unsafe_function(name: &str) -> bool {
        // Prometheus 2.42's `AtModifierUnsafeFunctions`.
        matches!(
            name,
            "days_in_month"
                | "day_of_month"
                | "day_of_week"
                | "day_of_year"
                | "hour"
                | "minute"
                | "month"
                | "year"
                | "predict_linear"
                | "time"
                | "timestamp"
        )
    }
}

/// The timestamp of an `@`; `start()`/`end()` stay unresolved (ignored) in `raw` parts.
fn at_time(at: Option<AtModifier>, b: &Builder) -> Option<i64> {
    match at? {
        AtModifier::Timestamp(t) => Some(t),
        AtModifier::Start if !b.raw => Some(b.start),
        AtModifier::End if !b.raw => Some(b.end),
        _ => None,
    }
}

fn vs_node(vs: &VectorSelector, b: &Builder) -> VsNode {
    let timestamp = at_time(vs.at, b);
    VsNode {
        matchers: vs.matchers.clone(),
        original_offset: vs.offset,
        offset: Cell::new(vs.offset),
        timestamp,
        series: Vec::new(),
    }
}

/// Builds the evaluation tree (`PreprocessExpr`): the result, and whether it is step
/// invariant as a whole (then wrapped).
pub(crate) fn preprocess(expr: &Expr, start: i64, end: i64) -> Node {
    let b = Builder { start, end, raw: false };
    let (node, invariant) = b.build(expr);
    b.wrap(node, invariant)
}

/// Prometheus 2.42 does not preprocess the parameter of an aggregation: nothing in it is
/// wrapped as step invariant, and `@ start()`/`@ end()` in it are not resolved (so ignored),
/// although `@ <time>` offsets are still adjusted. `raw` builds such parts.
#[derive(Clone, Copy)]
struct Builder {
    start: i64,
    end: i64,
    raw: bool,
}

impl Builder {
    fn wrap(&self, node: Node, invariant: bool) -> Node {
        if invariant && !self.raw {
            Node::StepInvariant(Box::new(node))
        } else {
            node
        }
    }

    fn build(&self, expr: &Expr) -> (Node, bool) {
        match expr {
            Expr::Number(n) => (Node::Number(n.value), true),
            Expr::String(s) => (Node::String(s.value.clone()), true),
            Expr::VectorSelector(vs) => {
                let n = vs_node(vs, self);
                let inv = n.timestamp.is_some();
                (Node::Vector(Box::new(n)), inv)
            }
            Expr::MatrixSelector(ms) => {
                let n = vs_node(&ms.selector, self);
                let inv = n.timestamp.is_some();
                (Node::Matrix(Box::new(n), ms.range), inv)
            }
            Expr::Subquery(sq) => {
                let (inner, inv) = self.build(&sq.expr);
                let timestamp = at_time(sq.at, self);
                let node = Node::Subquery(SubqueryNode {
                    expr: Box::new(self.wrap(inner, inv)),
                    range: sq.range,
                    step: sq.step,
                    original_offset: sq.offset,
                    offset: Cell::new(sq.offset),
                    timestamp,
                });
                (node, timestamp.is_some())
            }
            Expr::Paren(p) => {
                let (inner, inv) = self.build(&p.expr);
                (Node::Paren(Box::new(inner)), inv)
            }
            Expr::Unary(u) => {
                let (inner, inv) = self.build(&u.expr);
                (Node::Unary(u.op == UnaryOp::Neg, Box::new(inner)), inv)
            }
            Expr::Binary(b) => {
                let (lhs, li) = self.build(&b.lhs);
                let (rhs, ri) = self.build(&b.rhs);
                let both = li && ri;
                let (lhs, rhs) = if both {
                    (lhs, rhs)
                } else {
                    (self.wrap(lhs, li), self.wrap(rhs, ri))
                };
                let node = Node::Binary {
                    op: b.op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                    return_bool: b.return_bool,
                    matching: b.matching.clone(),
                };
                (node, both)
            }
            Expr::Aggregate(a) => {
                // Only the aggregated expression decides (the parameter is not looked at).
                let (inner, inv) = self.build(&a.expr);
                let raw = Builder { raw: true, ..*self };
                let param = a.param.as_ref().map(|p| Box::new(raw.build(p).0));
                let mut grouping = a.grouping.clone();
                grouping.sort();
                let node = Node::Aggregate {
                    op: a.op,
                    expr: Box::new(inner),
                    param,
                    grouping,
                    without: a.without,
                };
                (node, inv)
            }
            Expr::Call(c) => {
                let mut invariant = !Node::is_unsafe_function(c.func.name);
                let built: Vec<(Node, bool)> = c.args.iter().map(|a| self.build(a)).collect();
                for (_, inv) in &built {
                    invariant = invariant && *inv;
                }
                let args = if invariant {
                    built.into_iter().map(|(n, _)| n).collect()
                } else {
                    built.into_iter().map(|(n, inv)| self.wrap(n, inv)).collect()
                };
                (Node::Call { func: c.func, args }, invariant)
            }
        }
    }
}

/// A subquery on the way from the root to a node: what `subqueryTimes` sums.
#[derive(Clone, Copy)]
struct SubqInfo {
    original_offset: i64,
    range: i64,
    timestamp: Option<i64>,
}

/// Prometheus' `subqueryTimes`: the sum of the offsets and ranges of the subqueries on the
/// path, restarted at the innermost `@`, and that `@` timestamp.
fn subquery_times(path: &[SubqInfo]) -> (i64, i64, Option<i64>) {
    let (mut offset, mut range, mut ts) = (0i64, 0i64, None);
    for s in path {
        offset += s.original_offset;
        range += s.range;
        if let Some(t) = s.timestamp {
            offset = s.original_offset;
            range = s.range;
            ts = Some(t);
        }
    }
    (offset, range, ts)
}

/// Prometheus' `setOffsetForAtModifier`: adjusts the offsets of selectors and subqueries
/// with `@` so that an evaluation at `eval_time` reads at the `@` time.
pub(crate) fn set_offset_for_at_modifier(eval_time: i64, node: &Node) {
    fn get_offset(eval_time: i64, ts: Option<i64>, original: i64, path: &[SubqInfo]) -> i64 {
        let Some(ts) = ts else { return original };
        let (mut subq_offset, _, subq_ts) = subquery_times(path);
        if let Some(st) = subq_ts {
            subq_offset += eval_time - st;
        }
        original + (eval_time - ts) - subq_offset
    }
    fn walk(eval_time: i64, node: &Node, path: &mut Vec<SubqInfo>) {
        match node {
            Node::Vector(vs) | Node::Matrix(vs, _) => {
                vs.offset
                    .set(get_offset(eval_time, vs.timestamp, vs.original_offset, path));
            }
            Node::Subquery(sq) => {
                sq.offset
                    .set(get_offset(eval_time, sq.timestamp, sq.original_offset, path));
                path.push(SubqInfo {
                    original_offset: sq.original_offset,
                    range: sq.range,
                    timestamp: sq.timestamp,
                });
                walk(eval_time, &sq.expr, path);
                path.pop();
            }
            Node::Number(_) | Node::String(_) => {}
            Node::Paren(e) | Node::Unary(_, e) | Node::StepInvariant(e) => walk(eval_time, e, path),
            Node::Binary { lhs, rhs, .. } => {
                walk(eval_time, lhs, path);
                walk(eval_time, rhs, path);
            }
            Node::Aggregate { expr, param, .. } => {
                // Prometheus' Children() of an aggregation: the expression, then the parameter.
                walk(eval_time, expr, path);
                if let Some(p) = param {
                    walk(eval_time, p, path);
                }
            }
            Node::Call { args, .. } => {
                for a in args {
                    walk(eval_time, a, path);
                }
            }
        }
    }
    walk(eval_time, node, &mut Vec::new());
}

/// Loads the series of every selector (`populateSeries`), each over the time range
/// Prometheus would ask its storage for (`getTimeRangesForSelector`); the samples are cut to
/// that range as Prometheus' block queriers cut them.
pub(crate) fn populate<Q: Queryable + ?Sized>(
    node: &mut Node,
    storage: &Q,
    start: i64,
    end: i64,
    opts: &EvalOptions,
) -> Result<(), EvalError> {
    let mut path = Vec::new();
    populate_walk(node, storage, start, end, opts, &mut path, 0)
}

#[allow(clippy::too_many_arguments)]
fn populate_walk<Q: Queryable + ?Sized>(
    node: &mut Node,
    storage: &Q,
    start: i64,
    end: i64,
    opts: &EvalOptions,
    path: &mut Vec<SubqInfo>,
    eval_range: i64,
) -> Result<(), EvalError> {
    match node {
        Node::Vector(vs) => load(vs, storage, start, end, opts, path, eval_range),
        Node::Matrix(vs, range) => {
            let range = *range;
            load(vs, storage, start, end, opts, path, range)
        }
        Node::Subquery(sq) => {
            path.push(SubqInfo {
                original_offset: sq.original_offset,
                range: sq.range,
                timestamp: sq.timestamp,
            });
            let r = populate_walk(&mut sq.expr, storage, start, end, opts, path, 0);
            path.pop();
            r
        }
        Node::Number(_) | Node::String(_) => Ok(()),
        Node::Paren(e) | Node::Unary(_, e) | Node::StepInvariant(e) => {
            populate_walk(e, storage, start, end, opts, path, 0)
        }
        Node::Binary { lhs, rhs, .. } => {
            populate_walk(lhs, storage, start, end, opts, path, 0)?;
            populate_walk(rhs, storage, start, end, opts, path, 0)
        }
        Node::Aggregate { expr, param, .. } => {
            populate_walk(expr, storage, start, end, opts, path, 0)?;
            if let Some(p) = param {
                populate_walk(p, storage, start, end, opts, path, 0)?;
            }
            Ok(())
        }
        Node::Call { args, .. } => {
            for a in args {
                populate_walk(a, storage, start, end, opts, path, 0)?;
            }
            Ok(())
        }
    }
}

fn load<Q: Queryable + ?Sized>(
    vs: &mut VsNode,
    storage: &Q,
    start: i64,
    end: i64,
    opts: &EvalOptions,
    path: &[SubqInfo],
    eval_range: i64,
) -> Result<(), EvalError> {
    let (mut s, mut e) = (start, end);
    let (subq_offset, subq_range, subq_ts) = subquery_times(path);
    if let Some(t) = subq_ts {
        s = t;
        e = t;
    }
    if let Some(t) = vs.timestamp {
        s = t;
        e = t;
    } else {
        s = s - subq_offset - subq_range;
        e -= subq_offset;
    }
    if eval_range == 0 {
        s -= opts.lookback_delta_ms;
    } else {
        s -= eval_range;
    }
    s -= vs.original_offset;
    e -= vs.original_offset;
    let limits = super::storage::SelectLimits {
        max_series: opts.max_series_per_selector,
        max_samples: opts.max_samples_loaded,
        cancel: opts.cancel.as_deref(),
    };
    let mut series = storage.select(&vs.matchers, s, e, &limits)?;
    if let Some(max) = opts.max_series_per_selector
        && series.len() > max
    {
        return Err(EvalError::TooManySeries(max));
    }
    for ser in &mut series {
        ser.samples.retain(|(t, _)| *t >= s && *t <= e);
    }
    series.retain(|ser| !ser.samples.is_empty());
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    vs.series = series;
    Ok(())
}
