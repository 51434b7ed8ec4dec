//! The evaluator: a port of Prometheus 2.42's `evaluator` (`promql/engine.go`).

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::node::{Node, SubqueryNode, VsNode, set_offset_for_at_modifier};
use super::storage::is_stale;
use super::{EvalError, EvalOptions, Matrix, Point, Sample, Series, Vector, aggr, binop, functions};
use crate::ast::{BinaryOp, ValueType};
use crate::labels::{DerivedLabels, FxHashSet, KeyIds, Labels, LabelsIndex};

pub(crate) type Result<T> = std::result::Result<T, EvalError>;

/// Gives each input series of a [`Evaluator::range_eval`] a key (grouping key, signature).
pub(crate) type Prep<'p> = &'p dyn Fn(&Labels, &mut Vec<u8>);

/// The series a range function slides over: labels and samples.
type Sources<'s> = Vec<(&'s Labels, &'s [(i64, f64)])>;

pub(crate) enum Val {
    Matrix(Matrix),
    String(String),
}

pub(crate) fn exec_err(msg: impl Into<String>) -> EvalError {
    EvalError::Execution(msg.into())
}

/// The inputs of one step of [`Evaluator::range_eval`].
pub(crate) struct StepArgs<'a> {
    pub ts: i64,
    pub vectors: &'a [Vector],
    series_idx: &'a [Vec<usize>],
    helpers: &'a [Vec<u32>],
}

impl StepArgs<'_> {
    /// The key the preparation function gave the series of the `k`-th sample of argument
    /// `arg` (grouping key or matching signature).
    pub fn key(&self, arg: usize, k: usize) -> u32 {
        self.helpers[arg][self.series_idx[arg][k]]
    }
}

pub(crate) struct Evaluator<'o> {
    pub start: i64,
    pub end: i64,
    pub interval: i64,
    pub current_samples: i64,
    pub opts: &'o EvalOptions,
    deadline: Option<Instant>,
}

/// Whether two samples of the vector have the same labels (`ContainsSameLabelset`).
pub(crate) fn vector_has_duplicates(v: &[Sample]) -> bool {
    match v.len() {
        0 | 1 => false,
        2 => v[0].labels == v[1].labels,
        _ => {
            let mut seen = FxHashSet::with_capacity_and_hasher(v.len(), Default::default());
            v.iter().any(|s| !seen.insert(&s.labels))
        }
    }
}

fn matrix_has_duplicates(m: &[Series]) -> bool {
    match m.len() {
        0 | 1 => false,
        2 => m[0].labels == m[1].labels,
        _ => {
            let mut seen = FxHashSet::with_capacity_and_hasher(m.len(), Default::default());
            m.iter().any(|s| !seen.insert(&s.labels))
        }
    }
}

const SAME_LABELSET: &str = "vector cannot contain metrics with the same labelset";

impl<'o> Evaluator<'o> {
    pub fn new(start: i64, end: i64, interval: i64, opts: &'o EvalOptions, deadline: Option<Instant>) -> Self {
        Evaluator {
            start,
            end,
            interval,
            current_samples: 0,
            opts,
            deadline,
        }
    }

    fn child(&self, start: i64, end: i64, interval: i64) -> Evaluator<'o> {
        Evaluator {
            start,
            end,
            interval,
            current_samples: self.current_samples,
            opts: self.opts,
            deadline: self.deadline,
        }
    }

    fn max_samples(&self) -> i64 {
        self.opts.max_samples.min(i64::MAX as usize) as i64
    }

    /// Prometheus' `contextDone`: the timeout and the cancellation flag.
    pub fn check_done(&self) -> Result<()> {
        if let Some(c) = &self.opts.cancel
            && c.load(Ordering::Relaxed)
        {
            return Err(EvalError::Canceled);
        }
        if let Some(d) = self.deadline
            && Instant::now() >= d
        {
            return Err(EvalError::Timeout);
        }
        Ok(())
    }

    /// The evaluation timestamps.
    fn steps(&self) -> impl Iterator<Item = i64> + use<> {
        let (start, end, interval) = (self.start, self.end, self.interval);
        let n = if end < start { 0 } else { (end - start) / interval + 1 };
        (0..n).map(move |i| start + i * interval)
    }

    /// Prometheus' `rangeEval`: evaluates `exprs` (skipping absent and string ones), then calls
    /// `f` at every step with the samples of each at that step, and assembles the results
    /// into series. `prep` gives each input series a key (as a number: equal keys, equal numbers),
    /// handed to `f` through [`StepArgs::key`].
    pub fn range_eval(
        &mut self,
        exprs: &[Option<&Node>],
        prep: Option<Prep<'_>>,
        f: &mut dyn FnMut(&mut Evaluator<'o>, &StepArgs<'_>) -> Result<Vector>,
    ) -> Result<Matrix> {
        let original_num_samples = self.current_samples;
        let mut matrixes: Vec<Matrix> = Vec::with_capacity(exprs.len());
        for e in exprs {
            match e {
                Some(e) if e.value_type() != ValueType::String => match self.eval(e)? {
                    Val::Matrix(m) => matrixes.push(m),
                    Val::String(_) => matrixes.push(Vec::new()),
                },
                _ => matrixes.push(Vec::new()),
            }
        }
        let helpers: Vec<Vec<u32>> = match prep {
            Some(prep) => {
                let (mut ids, mut key) = (KeyIds::default(), Vec::new());
                matrixes
                    .iter()
                    .map(|m| {
                        m.iter()
                            .map(|s| {
                                prep(&s.labels, &mut key);
                                ids.id(&key)
                            })
                            .collect()
                    })
                    .collect()
            }
            None => matrixes.iter().map(|m| vec![0; m.len()]).collect(),
        };
        let mut cursors: Vec<Vec<usize>> = matrixes.iter().map(|m| vec![0; m.len()]).collect();
        let mut vectors: Vec<Vector> = matrixes.iter().map(|m| Vec::with_capacity(m.len())).collect();
        let mut series_idx: Vec<Vec<usize>> = matrixes.iter().map(|m| Vec::with_capacity(m.len())).collect();
        let mut out: Vec<Series> = Vec::new();
        let mut out_index = LabelsIndex::default();
        let mut temp_num_samples = self.current_samples;
        let max = self.max_samples();
        for ts in self.steps() {
            self.check_done()?;
            self.current_samples = temp_num_samples;
            for (i, m) in matrixes.iter().enumerate() {
                vectors[i].clear();
                series_idx[i].clear();
                for (si, series) in m.iter().enumerate() {
                    let c = cursors[i][si];
                    if let Some(p) = series.points.get(c)
                        && p.t == ts
                    {
                        if self.current_samples < max {
                            vectors[i].push(Sample {
                                labels: series.labels.clone(),
                                t: p.t,
                                v: p.v,
                            });
                            series_idx[i].push(si);
                            cursors[i][si] += 1;
                            self.current_samples += 1;
                        } else {
                            return Err(EvalError::TooManySamples);
                        }
                    }
                }
            }
            let args = StepArgs {
                ts,
                vectors: &vectors,
                series_idx: &series_idx,
                helpers: &helpers,
            };
            let result = f(self, &args)?;
            if vector_has_duplicates(&result) {
                return Err(exec_err(SAME_LABELSET));
            }
            self.current_samples += result.len() as i64;
            temp_num_samples += result.len() as i64;
            if self.current_samples > max {
                return Err(EvalError::TooManySamples);
            }
            if self.end == self.start {
                // An instant evaluation keeps the order of the result.
                let mat: Matrix = result
                    .into_iter()
                    .map(|s| Series {
                        labels: s.labels,
                        points: vec![Point { t: ts, v: s.v }],
                    })
                    .collect();
                self.current_samples = original_num_samples + mat.len() as i64;
                return Ok(mat);
            }
            for s in result {
                match out_index.get(&s.labels) {
                    Some(i) => out[i].points.push(Point { t: ts, v: s.v }),
                    None => {
                        out_index.insert(&s.labels, out.len());
                        out.push(Series {
                            labels: s.labels,
                            points: vec![Point { t: ts, v: s.v }],
                        });
                    }
                }
            }
        }
        let total: usize = out.iter().map(|s| s.points.len()).sum();
        self.current_samples = original_num_samples + total as i64;
        Ok(out)
    }

    pub fn eval(&mut self, node: &Node) -> Result<Val> {
        self.check_done()?;
        match node {
            Node::Aggregate {
                op,
                expr,
                param,
                grouping,
                without,
            } => {
                let (op, without) = (*op, *without);
                if param.is_none() && aggr::by_series(op) {
                    return self.aggregate_by_series(op, grouping, without, expr).map(Val::Matrix);
                }
                let prep = |l: &Labels, out: &mut Vec<u8>| aggr::group_key(l, grouping, without, out);
                let mut cache = DerivedLabels::default();
                if let Some(p) = param
                    && let Node::String(s) = p.unwrap_arg()
                {
                    let m = self.range_eval(&[Some(expr)], Some(&prep), &mut |_, a| {
                        aggr::aggregate(
                            op,
                            grouping,
                            without,
                            aggr::Param::Label(s),
                            &a.vectors[0],
                            |k| a.key(0, k),
                            &mut cache,
                        )
                    })?;
                    return Ok(Val::Matrix(m));
                }
                let has_param = param.is_some();
                let m = self.range_eval(&[param.as_deref(), Some(expr)], Some(&prep), &mut |_, a| {
                    let p = if has_param { a.vectors[0][0].v } else { 0.0 };
                    aggr::aggregate(
                        op,
                        grouping,
                        without,
                        aggr::Param::Number(p),
                        &a.vectors[1],
                        |k| a.key(1, k),
                        &mut cache,
                    )
                })?;
                Ok(Val::Matrix(m))
            }
            Node::Call { func, args } => self.eval_call(func, args),
            Node::Paren(e) => self.eval(e),
            Node::Unary(neg, e) => {
                let Val::Matrix(mut mat) = self.eval(e)? else {
                    unreachable!("unary operators apply to numbers")
                };
                if *neg {
                    for s in &mut mat {
                        s.labels = s.labels.without_name();
                        for p in &mut s.points {
                            p.v = -p.v;
                        }
                    }
                    if matrix_has_duplicates(&mat) {
                        return Err(exec_err(SAME_LABELSET));
                    }
                }
                Ok(Val::Matrix(mat))
            }
            Node::Binary {
                op,
                lhs,
                rhs,
                return_bool,
                matching,
            } => self.eval_binary(*op, lhs, rhs, *return_bool, matching.as_ref()),
            Node::Number(v) => {
                let v = *v;
                let m = self.range_eval(&[], None, &mut |_, _| {
                    Ok(vec![Sample {
                        labels: Labels::empty(),
                        t: 0,
                        v,
                    }])
                })?;
                Ok(Val::Matrix(m))
            }
            Node::String(s) => Ok(Val::String(s.clone())),
            Node::Vector(vs) => self.eval_vector_selector(vs).map(Val::Matrix),
            Node::Matrix(vs, range) => {
                if self.start != self.end {
                    return Err(exec_err("cannot do range evaluation of matrix selector"));
                }
                self.matrix_selector(vs, *range).map(Val::Matrix)
            }
            Node::Subquery(sq) => self.eval_subquery(sq),
            Node::StepInvariant(inner) => self.eval_step_invariant(inner),
        }
    }

    /// An aggregation without parameter through [`aggr::aggregate_matrix`], counting samples
    /// against the limit exactly as [`Evaluator::range_eval`] does.
    fn aggregate_by_series(
        &mut self,
        op: crate::ast::AggregateOp,
        grouping: &[String],
        without: bool,
        expr: &Node,
    ) -> Result<Matrix> {
        let original_num_samples = self.current_samples;
        let input = match self.eval(expr)? {
            Val::Matrix(m) => m,
            Val::String(_) => Vec::new(),
        };
        let steps = self.steps().count();
        let done = || self.check_done();
        let result = aggr::aggregate_matrix(op, grouping, without, &input, self.start, self.interval, steps, &done)?;
        let max = self.max_samples();
        let mut temp_num_samples = self.current_samples;
        for (inputs, outputs) in result.inputs.iter().zip(&result.outputs) {
            if (*inputs > 0 && temp_num_samples + inputs > max) || temp_num_samples + inputs + outputs > max {
                return Err(EvalError::TooManySamples);
            }
            temp_num_samples += outputs;
        }
        let total: usize = result.matrix.iter().map(|s| s.points.len()).sum();
        self.current_samples = original_num_samples + total as i64;
        Ok(result.matrix)
    }

    fn eval_step_invariant(&mut self, inner: &Node) -> Result<Val> {
        if matches!(inner, Node::Number(_) | Node::String(_)) {
            return self.eval(inner);
        }
        let mut child = self.child(self.start, self.start, self.interval);
        let res = child.eval(inner)?;
        self.current_samples = child.current_samples;
        if matches!(inner, Node::Matrix(..) | Node::Subquery(_)) {
            return Ok(res);
        }
        let Val::Matrix(mut mat) = res else { return Ok(res) };
        let max = self.max_samples();
        for s in &mut mat {
            if s.points.len() != 1 {
                return Err(exec_err("unexpected error: unexpected number of samples"));
            }
            let v = s.points[0].v;
            let mut ts = self.start + self.interval;
            while ts <= self.end {
                s.points.push(Point { t: ts, v });
                self.current_samples += 1;
                if self.current_samples > max {
                    return Err(EvalError::TooManySamples);
                }
                ts += self.interval;
            }
        }
        Ok(Val::Matrix(mat))
    }

    fn eval_subquery(&mut self, sq: &SubqueryNode) -> Result<Val> {
        let offset = sq.offset.get();
        let range = sq.range;
        let interval = if sq.step != 0 {
            sq.step
        } else {
            self.opts.default_subquery_step_ms
        };
        let first = self.start - offset - range;
        let mut start = interval * (first / interval);
        if start < first {
            start += interval;
        }
        if start != self.start {
            set_offset_for_at_modifier(start, &sq.expr);
        }
        let mut child = self.child(start, self.end - offset, interval);
        let res = child.eval(&sq.expr)?;
        self.current_samples = child.current_samples;
        Ok(res)
    }

    /// Prometheus' `vectorSelectorSingle`: the last sample at or before `ts - offset`, if within
    /// the lookback delta and not a staleness marker.
    fn selector_single(&self, samples: &[(i64, f64)], offset: i64, ts: i64) -> Option<(i64, f64)> {
        let ref_time = ts - offset;
        let i = samples.partition_point(|(t, _)| *t <= ref_time);
        if i == 0 {
            return None;
        }
        let (t, v) = samples[i - 1];
        if t < ref_time - self.opts.lookback_delta_ms || is_stale(v) {
            return None;
        }
        Some((t, v))
    }

    fn eval_vector_selector(&mut self, vs: &VsNode) -> Result<Matrix> {
        let offset = vs.offset.get();
        let max = self.max_samples();
        let mut mat = Vec::with_capacity(vs.series.len());
        for s in &vs.series {
            let mut points = Vec::new();
            for ts in self.steps() {
                if let Some((_, v)) = self.selector_single(&s.samples, offset, ts) {
                    if self.current_samples < max {
                        points.push(Point { t: ts, v });
                        self.current_samples += 1;
                    } else {
                        return Err(EvalError::TooManySamples);
                    }
                }
            }
            if !points.is_empty() {
                mat.push(Series {
                    labels: s.labels.clone(),
                    points,
                });
            }
        }
        Ok(mat)
    }

    /// Prometheus' `vectorSelector`: the instant vector at `ts`, samples keeping their own
    /// timestamps.
    pub fn vector_selector_at(&mut self, vs: &VsNode, ts: i64) -> Result<Vector> {
        let offset = vs.offset.get();
        let max = self.max_samples();
        let mut vec = Vec::with_capacity(vs.series.len());
        for s in &vs.series {
            if let Some((t, v)) = self.selector_single(&s.samples, offset, ts) {
                vec.push(Sample {
                    labels: s.labels.clone(),
                    t,
                    v,
                });
                self.current_samples += 1;
                if self.current_samples > max {
                    return Err(EvalError::TooManySamples);
                }
            }
        }
        Ok(vec)
    }

    fn matrix_selector(&mut self, vs: &VsNode, range: i64) -> Result<Matrix> {
        let maxt = self.start - vs.offset.get();
        let mint = maxt - range;
        let mut mat = Vec::with_capacity(vs.series.len());
        for s in &vs.series {
            self.check_done()?;
            let mut window = Window::new(&s.samples);
            let range = window.advance(mint, maxt);
            // Prometheus' `matrixIterSlice` checks the limit before it takes each sample.
            if self.current_samples + range.len() as i64 > self.max_samples() {
                return Err(EvalError::TooManySamples);
            }
            self.current_samples += range.len() as i64;
            let points: Vec<Point> = window.samples()[range].iter().map(|&(t, v)| Point { t, v }).collect();
            if !points.is_empty() {
                mat.push(Series {
                    labels: s.labels.clone(),
                    points,
                });
            }
        }
        Ok(mat)
    }

    fn eval_binary(
        &mut self,
        op: BinaryOp,
        lhs: &Node,
        rhs: &Node,
        return_bool: bool,
        matching: Option<&crate::ast::VectorMatching>,
    ) -> Result<Val> {
        let (lt, rt) = (lhs.value_type(), rhs.value_type());
        let mut cache = DerivedLabels::default();
        let m = match (lt, rt) {
            (ValueType::Scalar, ValueType::Scalar) => self.range_eval(&[Some(lhs), Some(rhs)], None, &mut |_, a| {
                let v = binop::scalar_binop(op, a.vectors[0][0].v, a.vectors[1][0].v);
                Ok(vec![Sample {
                    labels: Labels::empty(),
                    t: 0,
                    v,
                }])
            })?,
            (ValueType::Vector, ValueType::Vector) => {
                let matching = matching.cloned().unwrap_or_else(|| crate::ast::VectorMatching {
                    card: crate::ast::Cardinality::OneToOne,
                    matching_labels: Vec::new(),
                    on: false,
                    include: Vec::new(),
                });
                let mut names = matching.matching_labels.clone();
                names.sort();
                let on = matching.on;
                let prep = |l: &Labels, out: &mut Vec<u8>| {
                    if on {
                        l.key_with(&names, out)
                    } else {
                        l.key_without(&names, out)
                    }
                };
                self.range_eval(&[Some(lhs), Some(rhs)], Some(&prep), &mut |_, a| {
                    let (l, r) = (&a.vectors[0], &a.vectors[1]);
                    let lk = |k: usize| a.key(0, k);
                    let rk = |k: usize| a.key(1, k);
                    match op {
                        BinaryOp::And => Ok(binop::vector_and(l, r, lk, rk)),
                        BinaryOp::Or => Ok(binop::vector_or(l, r, lk, rk)),
                        BinaryOp::Unless => Ok(binop::vector_unless(l, r, lk, rk)),
                        _ => binop::vector_binop(op, l, r, &matching, return_bool, lk, rk, &mut cache),
                    }
                })?
            }
            (ValueType::Vector, _) => self.range_eval(&[Some(lhs), Some(rhs)], None, &mut |_, a| {
                Ok(binop::vector_scalar_binop(
                    op,
                    &a.vectors[0],
                    a.vectors[1][0].v,
                    false,
                    return_bool,
                    &mut cache,
                ))
            })?,
            _ => self.range_eval(&[Some(lhs), Some(rhs)], None, &mut |_, a| {
                Ok(binop::vector_scalar_binop(
                    op,
                    &a.vectors[1],
                    a.vectors[0][0].v,
                    true,
                    return_bool,
                    &mut cache,
                ))
            })?,
        };
        Ok(Val::Matrix(m))
    }

    fn eval_call(&mut self, func: &'static crate::functions::Function, args: &[Node]) -> Result<Val> {
        let name = func.name;
        let mut fctx = functions::FnCtx::default();
        if name == "timestamp"
            && let Node::Vector(vs) = args[0].unwrap_arg()
        {
            let m = self.range_eval(&[], None, &mut |ev, a| {
                if let Some(t) = vs.timestamp {
                    // Prometheus sets the offset so that the selector reads at the `@` time,
                    // dropping any written offset.
                    vs.offset.set(a.ts - t);
                }
                let vec = ev.vector_selector_at(vs, a.ts)?;
                Ok(functions::timestamp(&vec, &mut fctx))
            })?;
            return Ok(Val::Matrix(m));
        }

        // The matrix argument, if any: a range selector or a subquery.
        let matrix_arg = args
            .iter()
            .position(|a| matches!(a.unwrap_arg(), Node::Matrix(..) | Node::Subquery(_)));
        let Some(mi) = matrix_arg else {
            let exprs: Vec<Option<&Node>> = args.iter().map(Some).collect();
            let m = self.range_eval(&exprs, None, &mut |_, a| {
                let vals: Vec<functions::Arg<'_>> = a.vectors.iter().map(|v| v.as_slice()).collect();
                functions::call(name, &vals, args, a.ts, &mut fctx)
            })?;
            return Ok(Val::Matrix(m));
        };

        // The series to slide over, with the range and offset the functions see.
        let mut subquery_samples = 0i64;
        let owned: Vec<(Labels, Vec<(i64, f64)>)>;
        let (sources, range, offset): (Sources<'_>, i64, i64) = match args[mi].unwrap_arg() {
            sub @ Node::Subquery(sq) => {
                let Val::Matrix(mat) = self.eval(sub)? else {
                    unreachable!("subqueries are of instant vectors")
                };
                let offset = match sq.timestamp {
                    Some(t) => sq.original_offset + (self.start - t),
                    None => sq.offset.get(),
                };
                subquery_samples = mat.iter().map(|s| s.points.len() as i64).sum();
                owned = mat
                    .into_iter()
                    .map(|s| (s.labels, s.points.into_iter().map(|p| (p.t, p.v)).collect()))
                    .collect();
                let sources = owned.iter().map(|(l, s)| (l, s.as_slice())).collect();
                (sources, sq.range, offset)
            }
            Node::Matrix(vs, range) => (
                vs.series.iter().map(|s| (&s.labels, s.samples.as_slice())).collect(),
                *range,
                vs.offset.get(),
            ),
            _ => unreachable!(),
        };

        // The other arguments are scalars, evaluated over all steps.
        let mut other: Vec<Option<Matrix>> = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            if i == mi {
                other.push(None);
                continue;
            }
            match self.eval(a)? {
                Val::Matrix(m) => other.push(Some(m)),
                Val::String(_) => other.push(None),
            }
        }

        let max = self.max_samples();
        let steps: Vec<i64> = self.steps().collect();
        let scalars: Vec<&Matrix> = other.iter().flatten().collect();
        let slide_one =
            |samples: &[(i64, f64)]| slide(name, samples, &steps, range, offset, &scalars, &|| self.check_done());
        // Series are independent: large evaluations are shared among threads, and the
        // outcomes are then taken in series order, as Prometheus takes them.
        let threads = if sources.len() * steps.len() >= PARALLEL_WORK {
            self.opts.threads.clamp(1, sources.len())
        } else {
            1
        };
        let outcomes: Vec<Slid> = if threads == 1 {
            sources.iter().map(|(_, samples)| slide_one(samples)).collect()
        } else {
            let per_thread = sources.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let workers: Vec<_> = sources
                    .chunks(per_thread)
                    .map(|chunk| {
                        scope.spawn(|| chunk.iter().map(|(_, samples)| slide_one(samples)).collect::<Vec<_>>())
                    })
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                    .collect()
            })
        };
        let mut mat: Matrix = Vec::with_capacity(sources.len());
        let mut last_window = 0i64;
        for (&(labels, _), outcome) in sources.iter().zip(outcomes) {
            // The samples of the series' windows count as they did one after another.
            let base = self.current_samples - last_window;
            if base + outcome.peak_window as i64 > max {
                return Err(EvalError::TooManySamples);
            }
            let out_points = outcome.points?;
            last_window = outcome.last_window as i64;
            self.current_samples = base + last_window;
            if !out_points.is_empty() {
                if self.current_samples + out_points.len() as i64 > max {
                    return Err(EvalError::TooManySamples);
                }
                self.current_samples += out_points.len() as i64;
                let metric = if name == "last_over_time" {
                    labels.clone()
                } else {
                    labels.without_name()
                };
                mat.push(Series {
                    labels: metric,
                    points: out_points,
                });
            }
        }
        self.current_samples -= last_window;
        self.current_samples -= subquery_samples;

        if name == "absent_over_time" {
            let steps_n = steps.len();
            if mat.iter().any(|s| s.points.len() == steps_n) {
                return Ok(Val::Matrix(Vec::new()));
            }
            let mut found: FxHashSet<i64> = FxHashSet::default();
            for (i, s) in mat.iter().enumerate() {
                found.extend(s.points.iter().map(|p| p.t));
                if i > 0 && found.len() == steps_n {
                    return Ok(Val::Matrix(Vec::new()));
                }
            }
            let points = steps
                .iter()
                .filter(|ts| !found.contains(ts))
                .map(|&t| Point { t, v: 1.0 })
                .collect();
            let labels = match args[mi].unparen() {
                Node::Matrix(vs, _) => functions::absent_labels(&vs.matchers),
                _ => Labels::empty(),
            };
            return Ok(Val::Matrix(vec![Series { labels, points }]));
        }
        if matrix_has_duplicates(&mat) {
            return Err(exec_err(SAME_LABELSET));
        }
        Ok(Val::Matrix(mat))
    }
}

/// Series × steps of a range function from which its series are shared among threads.
const PARALLEL_WORK: usize = 20_000;

/// What sliding a range function over one series gives.
struct Slid {
    /// The result's points, or the first error of the function.
    points: Result<Vec<Point>>,
    /// The most samples a window held when it grew (before the error, if any), and the
    /// samples of the last window: the sample limit counts them.
    peak_window: usize,
    last_window: usize,
}

/// A range function (`rate`, `avg_over_time`, …) over one series at every step.
fn slide(
    name: &str,
    samples: &[(i64, f64)],
    steps: &[i64],
    range: i64,
    offset: i64,
    scalars: &[&Matrix],
    check_done: &dyn Fn() -> Result<()>,
) -> Slid {
    const LANES: usize = 4;
    // `avg_over_time` takes its steps LANES at a time (see `avg_over_time_lanes`), the other
    // functions one by one.
    let batch = if name == "avg_over_time" { LANES } else { 1 };
    let mut window = Window::new(samples);
    let mut points: Vec<Point> = Vec::with_capacity(16);
    let mut args: Vec<f64> = Vec::with_capacity(scalars.len());
    let (mut peak_window, mut last_window) = (0, 0);
    let mut out = Vec::new();
    let mut error = None;
    for (b, chunk) in steps.chunks(batch).enumerate() {
        // Prometheus checks only between series; a wide window over many steps can take
        // long, so the timeout and cancellation are honoured within a series too.
        if (b * batch) % 256 < batch
            && let Err(e) = check_done()
        {
            error = Some(e);
            break;
        }
        let mut windows: [std::ops::Range<usize>; LANES] = Default::default();
        for (lane, &ts) in chunk.iter().enumerate() {
            let maxt = ts - offset;
            let current = window.advance(maxt - range, maxt);
            if current.len() > last_window {
                peak_window = peak_window.max(current.len());
            }
            last_window = current.len();
            windows[lane] = current;
        }
        let samples = window.samples();
        if batch == LANES {
            let means = functions::avg_over_time_lanes(windows.clone().map(|w| &samples[w]));
            for ((&ts, w), v) in chunk.iter().zip(&windows).zip(means) {
                if !w.is_empty() {
                    out.push(Point { t: ts, v });
                }
            }
            continue;
        }
        let (step, ts, current) = (b, chunk[0], &samples[windows[0].clone()]);
        if current.is_empty() {
            continue;
        }
        points.clear();
        points.extend(current.iter().map(|&(t, v)| Point { t, v }));
        args.clear();
        args.extend(scalars.iter().map(|m| m[0].points[step].v));
        match functions::call_range(name, &points, range, offset, ts, &args) {
            Ok(Some(v)) => out.push(Point { t: ts, v }),
            Ok(None) => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    Slid {
        points: match error {
            Some(e) => Err(e),
            None => Ok(out),
        },
        peak_window,
        last_window,
    }
}

/// The samples of one series in a sliding time window: staleness markers dropped, the bounds
/// moved forward as the window moves.
struct Window<'s> {
    samples: std::borrow::Cow<'s, [(i64, f64)]>,
    from: usize,
    to: usize,
}

impl<'s> Window<'s> {
    fn new(samples: &'s [(i64, f64)]) -> Self {
        let samples = if samples.iter().any(|(_, v)| is_stale(*v)) {
            samples.iter().copied().filter(|(_, v)| !is_stale(*v)).collect()
        } else {
            std::borrow::Cow::Borrowed(samples)
        };
        Window {
            samples,
            from: 0,
            to: 0,
        }
    }

    fn samples(&self) -> &[(i64, f64)] {
        &self.samples
    }

    /// Where the samples in `[mint, maxt]` are in [`Window::samples`].
    fn advance(&mut self, mint: i64, maxt: i64) -> std::ops::Range<usize> {
        let s = &self.samples[..];
        if self.from > 0 && s[self.from - 1].0 >= mint {
            self.from = s.partition_point(|(t, _)| *t < mint);
        }
        while self.from < s.len() && s[self.from].0 < mint {
            self.from += 1;
        }
        if self.to > 0 && s[self.to - 1].0 > maxt {
            self.to = s.partition_point(|(t, _)| *t <= maxt);
        }
        self.to = self.to.max(self.from);
        while self.to < s.len() && s[self.to].0 <= maxt {
            self.to += 1;
        }
        self.from..self.to
    }
}
