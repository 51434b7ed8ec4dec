//! PromQL functions, ported from Prometheus 2.42's `promql/functions.go` and `quantile.go`.

use regex::Regex;

use super::aggr::{by_reverse_value_less, by_value_less, quantile};
use super::engine::{Result, exec_err};
use super::node::Node;
use super::{Point, Sample, Vector, gomath, gosort, gotime};
use crate::labels::{DerivedLabels, FxHashMap, Labels, METRIC_NAME, is_valid_label_name};
use crate::matcher::{MatchOp, Matcher};

/// An evaluated argument of an instant-vector function at one step: a vector (a scalar is a
/// vector of one sample; a string argument is empty).
pub(crate) type Arg<'a> = &'a [Sample];

fn scalar(arg: &Arg<'_>) -> f64 {
    arg[0].v
}

/// What a call site keeps across steps (Prometheus' `EvalNodeHelper`): the compiled regex of
/// `label_replace`.
#[derive(Default)]
pub(crate) struct FnCtx {
    regex: Option<Regex>,
    names: DerivedLabels,
}

/// The string of a string-literal argument (`stringFromArg`).
fn string_arg(args: &[Node], i: usize) -> &str {
    match args[i].unwrap_arg() {
        Node::String(s) => s,
        _ => "",
    }
}

fn one(v: f64) -> Vector {
    vec![Sample {
        labels: Labels::empty(),
        t: 0,
        v,
    }]
}

/// Go's `math.Max`.
fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// Go's `math.Min`.
fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

/// Go's `time.Duration.Seconds()` of a duration in milliseconds.
fn duration_seconds(ms: i64) -> f64 {
    let ns = ms as i128 * 1_000_000;
    let sec = (ns / 1_000_000_000) as i64;
    let nsec = (ns % 1_000_000_000) as i64;
    sec as f64 + nsec as f64 / 1e9
}

fn simple(vals: &[Arg<'_>], names: &mut DerivedLabels, f: impl Fn(f64) -> f64) -> Vector {
    vals[0]
        .iter()
        .map(|s| Sample {
            labels: names.without_name(&s.labels),
            t: 0,
            v: f(s.v),
        })
        .collect()
}

/// Calls the function `name` at step `ts`.
pub(crate) fn call(name: &str, vals: &[Arg<'_>], args: &[Node], ts: i64, ctx: &mut FnCtx) -> Result<Vector> {
    Ok(match name {
        "time" => one(ts as f64 / 1000.0),
        "pi" => one(std::f64::consts::PI),
        "sort" => {
            let mut v = vals[0].to_vec();
            gosort::sort(&mut v, |a, b| by_reverse_value_less(b, a));
            v
        }
        "sort_desc" => {
            let mut v = vals[0].to_vec();
            gosort::sort(&mut v, |a, b| by_value_less(b, a));
            v
        }
        "clamp" => {
            let (min, max) = (scalar(&vals[1]), scalar(&vals[2]));
            if max < min {
                return Ok(Vec::new());
            }
            simple(vals, &mut ctx.names, |v| go_max(min, go_min(max, v)))
        }
        "clamp_max" => {
            let max = scalar(&vals[1]);
            simple(vals, &mut ctx.names, |v| go_min(max, v))
        }
        "clamp_min" => {
            let min = scalar(&vals[1]);
            simple(vals, &mut ctx.names, |v| go_max(min, v))
        }
        "round" => {
            let to_nearest = if args.len() >= 2 { scalar(&vals[1]) } else { 1.0 };
            // Prometheus multiplies by the inverse, for fewer rounding surprises.
            let inverse = 1.0 / to_nearest;
            simple(vals, &mut ctx.names, |v| (v * inverse + 0.5).floor() / inverse)
        }
        "scalar" => {
            let v = vals[0];
            one(if v.len() != 1 { f64::NAN } else { v[0].v })
        }
        "vector" => one(scalar(&vals[0])),
        "absent" => {
            if !vals[0].is_empty() {
                return Ok(Vec::new());
            }
            let labels = match args[0].unparen() {
                Node::Vector(vs) | Node::Matrix(vs, _) => absent_labels(&vs.matchers),
                _ => Labels::empty(),
            };
            vec![Sample { labels, t: 0, v: 1.0 }]
        }
        "abs" => simple(vals, &mut ctx.names, f64::abs),
        "ceil" => simple(vals, &mut ctx.names, f64::ceil),
        "floor" => simple(vals, &mut ctx.names, f64::floor),
        "exp" => simple(vals, &mut ctx.names, gomath::exp),
        "sqrt" => simple(vals, &mut ctx.names, f64::sqrt),
        "ln" => simple(vals, &mut ctx.names, gomath::log),
        "log2" => simple(vals, &mut ctx.names, gomath::log2),
        "log10" => simple(vals, &mut ctx.names, gomath::log10),
        "sin" => simple(vals, &mut ctx.names, gomath::sin),
        "cos" => simple(vals, &mut ctx.names, gomath::cos),
        "tan" => simple(vals, &mut ctx.names, gomath::tan),
        "asin" => simple(vals, &mut ctx.names, gomath::asin),
        "acos" => simple(vals, &mut ctx.names, gomath::acos),
        "atan" => simple(vals, &mut ctx.names, gomath::atan),
        "sinh" => simple(vals, &mut ctx.names, gomath::sinh),
        "cosh" => simple(vals, &mut ctx.names, gomath::cosh),
        "tanh" => simple(vals, &mut ctx.names, gomath::tanh),
        "asinh" => simple(vals, &mut ctx.names, gomath::asinh),
        "acosh" => simple(vals, &mut ctx.names, gomath::acosh),
        "atanh" => simple(vals, &mut ctx.names, gomath::atanh),
        "rad" => simple(vals, &mut ctx.names, |v| v * std::f64::consts::PI / 180.0),
        "deg" => simple(vals, &mut ctx.names, |v| v * 180.0 / std::f64::consts::PI),
        "sgn" => simple(vals, &mut ctx.names, |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        }),
        "timestamp" => timestamp(vals[0], ctx),
        "histogram_quantile" => histogram_quantile(scalar(&vals[0]), vals[1]),
        // The native-histogram functions skip float samples: nothing to do for floats.
        "histogram_count" | "histogram_sum" | "histogram_fraction" => Vec::new(),
        "label_replace" => label_replace(vals[0], args, ctx)?,
        "label_join" => label_join(vals[0], args)?,
        "days_in_month" => date(vals, ts, &mut ctx.names, gotime::days_in_month),
        "day_of_month" => date(vals, ts, &mut ctx.names, |t| gotime::date(t).2 as f64),
        "day_of_week" => date(vals, ts, &mut ctx.names, gotime::weekday),
        "day_of_year" => date(vals, ts, &mut ctx.names, |t| gotime::date(t).3 as f64 + 1.0),
        "hour" => date(vals, ts, &mut ctx.names, gotime::hour),
        "minute" => date(vals, ts, &mut ctx.names, gotime::minute),
        "month" => date(vals, ts, &mut ctx.names, |t| gotime::date(t).1 as f64),
        "year" => date(vals, ts, &mut ctx.names, |t| gotime::date(t).0 as f64),
        other => {
            return Err(exec_err(format!(
                "function {} is not supported",
                crate::go::quote(other)
            )));
        }
    })
}

/// Calls the range-vector function `name` at step `ts` on the points of one series in the
/// range (and offset) of its selector; `scalars` are its other arguments, in order. At most
/// one value comes out.
pub(crate) fn call_range(
    name: &str,
    points: &[Point],
    range: i64,
    offset: i64,
    ts: i64,
    scalars: &[f64],
) -> Result<Option<f64>> {
    let p = points;
    Ok(match name {
        "rate" => extrapolated_rate(p, range, offset, ts, true, true),
        "increase" => extrapolated_rate(p, range, offset, ts, true, false),
        "delta" => extrapolated_rate(p, range, offset, ts, false, false),
        "irate" => instant_value(p, true),
        "idelta" => instant_value(p, false),
        "holt_winters" => holt_winters(p, scalars[0], scalars[1])?,
        "avg_over_time" => Some(avg_over_time(p)),
        "count_over_time" => Some(p.len() as f64),
        "last_over_time" => Some(p[p.len() - 1].v),
        "max_over_time" => {
            let mut max = p[0].v;
            for x in p {
                if x.v > max || max.is_nan() {
                    max = x.v;
                }
            }
            Some(max)
        }
        "min_over_time" => {
            let mut min = p[0].v;
            for x in p {
                if x.v < min || min.is_nan() {
                    min = x.v;
                }
            }
            Some(min)
        }
        "sum_over_time" => {
            let (mut sum, mut c) = (0.0, 0.0);
            for x in p {
                (sum, c) = kahan_sum_inc(x.v, sum, c);
            }
            Some(if sum.is_infinite() { sum } else { sum + c })
        }
        "quantile_over_time" => {
            let mut values: Vec<Sample> = p
                .iter()
                .map(|x| Sample {
                    labels: Labels::empty(),
                    t: 0,
                    v: x.v,
                })
                .collect();
            Some(quantile(scalars[0], &mut values))
        }
        "stddev_over_time" => Some(variance_over_time(p).sqrt()),
        "stdvar_over_time" => Some(variance_over_time(p)),
        "absent_over_time" | "present_over_time" => Some(1.0),
        "deriv" => {
            if p.len() < 2 {
                return Ok(None);
            }
            // An intercept time near the samples avoids floating point accuracy issues.
            Some(linear_regression(p, p[0].t).0)
        }
        "predict_linear" => {
            if p.len() < 2 {
                return Ok(None);
            }
            let (slope, intercept) = linear_regression(p, ts);
            Some(slope * scalars[0] + intercept)
        }
        "resets" => {
            let mut resets = 0;
            let mut prev = p[0].v;
            for x in &p[1..] {
                if x.v < prev {
                    resets += 1;
                }
                prev = x.v;
            }
            Some(resets as f64)
        }
        "changes" => {
            let mut changes = 0;
            let mut prev = p[0].v;
            for x in &p[1..] {
                if x.v != prev && !(x.v.is_nan() && prev.is_nan()) {
                    changes += 1;
                }
                prev = x.v;
            }
            Some(changes as f64)
        }
        other => {
            return Err(exec_err(format!(
                "function {} is not supported",
                crate::go::quote(other)
            )));
        }
    })
}

/// `timestamp()`: the time of each sample, in seconds.
pub(crate) fn timestamp(vec: &[Sample], ctx: &mut FnCtx) -> Vector {
    vec.iter()
        .map(|s| Sample {
            labels: ctx.names.without_name(&s.labels),
            t: 0,
            v: s.t as f64 / 1000.0,
        })
        .collect()
}

/// The date functions: of each sample's value, or of the evaluation time without argument.
fn date(vals: &[Arg<'_>], ts: i64, names: &mut DerivedLabels, f: impl Fn(i64) -> f64) -> Vector {
    if vals.is_empty() {
        return one(f(ts / 1000));
    }
    vals[0]
        .iter()
        .map(|s| Sample {
            labels: names.without_name(&s.labels),
            t: 0,
            v: f(go_f64_to_i64(s.v)),
        })
        .collect()
}

/// Go's `int64(f)` on amd64: truncation, and the "integer indefinite" value for NaN and values
/// out of range.
fn go_f64_to_i64(f: f64) -> i64 {
    if f.is_nan() || !(-(2f64.powi(63))..2f64.powi(63)).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Neumaier's improved Kahan summation step (`kahanSumInc`).
fn kahan_sum_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

fn avg_over_time(points: &[Point]) -> f64 {
    let mut mean = Mean::default();
    for p in points {
        mean.add(p.v);
    }
    mean.value()
}

/// `avg_over_time` of several windows at once, each as [`avg_over_time`] computes it: a
/// window's mean is a chain of dependent divisions, and chains side by side keep the
/// processor busy. An empty window gives NaN (the function has no value there).
pub(crate) fn avg_over_time_lanes<const N: usize>(windows: [&[(i64, f64)]; N]) -> [f64; N] {
    let mut means = [Mean::default(); N];
    let longest = windows.iter().map(|w| w.len()).max().unwrap_or(0);
    for i in 0..longest {
        for (mean, window) in means.iter_mut().zip(&windows) {
            if let Some(&(_, v)) = window.get(i) {
                mean.add(v);
            }
        }
    }
    std::array::from_fn(|lane| {
        if windows[lane].is_empty() {
            f64::NAN
        } else {
            means[lane].value()
        }
    })
}

/// The running mean of `avg_over_time` (Prometheus 2.42's arithmetic).
#[derive(Clone, Copy, Default)]
struct Mean {
    mean: f64,
    count: f64,
    c: f64,
}

impl Mean {
    fn add(&mut self, v: f64) {
        self.count += 1.0;
        if self.mean.is_infinite() {
            if v.is_infinite() && (self.mean > 0.0) == (v > 0.0) {
                return;
            }
            if !v.is_infinite() && !v.is_nan() {
                return;
            }
        }
        (self.mean, self.c) = kahan_sum_inc(v / self.count - self.mean / self.count, self.mean, self.c);
    }

    fn value(&self) -> f64 {
        if self.mean.is_infinite() {
            self.mean
        } else {
            self.mean + self.c
        }
    }
}

fn variance_over_time(points: &[Point]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for p in points {
        count += 1.0;
        let delta = p.v - (mean + c_mean);
        (mean, c_mean) = kahan_sum_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_sum_inc(delta * (p.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// The least-squares line through the points: its slope and its value at `intercept_time`
/// (`linearRegression`).
fn linear_regression(points: &[Point], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0f64, 0.0, 0.0, 0.0);
    let init_y = points[0].v;
    let mut const_y = true;
    for (i, p) in points.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_sum_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_sum_inc(p.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_sum_inc(x * p.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_sum_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sum_x, sum_y, sum_xy, sum_x2) = (sum_x + c_x, sum_y + c_y, sum_xy + c_xy, sum_x2 + c_x2);
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `rate`, `increase` and `delta` (`extrapolatedRate`).
fn extrapolated_rate(
    points: &[Point],
    range: i64,
    offset: i64,
    ts: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let range_start = ts - (range + offset);
    let range_end = ts - offset;
    if points.len() < 2 {
        return None;
    }
    let first = points[0];
    let last = points[points.len() - 1];
    let mut result = last.v - first.v;
    if is_counter {
        let mut prev = first.v;
        for p in &points[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    let mut duration_to_start = (first.t - range_start) as f64 / 1000.0;
    let duration_to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let average_duration_between_samples = sampled_interval / (points.len() - 1) as f64;
    if is_counter && result > 0.0 && first.v >= 0.0 {
        // Counters cannot go below zero: do not extrapolate past the zero point.
        let duration_to_zero = sampled_interval * (first.v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    let threshold = average_duration_between_samples * 1.1;
    let mut extrapolate_to_interval = sampled_interval;
    if duration_to_start < threshold {
        extrapolate_to_interval += duration_to_start;
    } else {
        extrapolate_to_interval += average_duration_between_samples / 2.0;
    }
    if duration_to_end < threshold {
        extrapolate_to_interval += duration_to_end;
    } else {
        extrapolate_to_interval += average_duration_between_samples / 2.0;
    }
    let mut factor = extrapolate_to_interval / sampled_interval;
    if is_rate {
        factor /= duration_seconds(range);
    }
    Some(result * factor)
}

/// `irate` and `idelta` (`instantValue`).
fn instant_value(points: &[Point], is_rate: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let last = points[points.len() - 1];
    let previous = points[points.len() - 2];
    let mut result = if is_rate && last.v < previous.v {
        // Counter reset.
        last.v
    } else {
        last.v - previous.v
    };
    let sampled_interval = last.t - previous.t;
    if sampled_interval == 0 {
        return None;
    }
    if is_rate {
        result /= sampled_interval as f64 / 1000.0;
    }
    Some(result)
}

fn holt_winters(points: &[Point], sf: f64, tf: f64) -> Result<Option<f64>> {
    if sf <= 0.0 || sf >= 1.0 {
        return Err(exec_err(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
            crate::go::format_float_f(sf)
        )));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(exec_err(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {}",
            crate::go::format_float_f(tf)
        )));
    }
    if points.len() < 2 {
        return Ok(None);
    }
    let (mut s0, mut s1) = (0.0f64, points[0].v);
    let mut b = points[1].v - points[0].v;
    for (i, p) in points.iter().enumerate().skip(1) {
        let x = sf * p.v;
        // The trend at this point.
        b = if i - 1 == 0 { b } else { tf * (s1 - s0) + (1.0 - tf) * b };
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Ok(Some(s1))
}

/// The labels `absent()` gives: those of the equality matchers, unless a label is matched
/// more than once or otherwise (`createLabelsForAbsentFunction`).
pub(crate) fn absent_labels(matchers: &[Matcher]) -> Labels {
    let mut m = Labels::empty();
    let mut empty: Vec<&str> = Vec::new();
    for ma in matchers {
        if ma.name == METRIC_NAME {
            continue;
        }
        if ma.op == MatchOp::Equal && !m.has(&ma.name) {
            m.set(&ma.name, &ma.value);
        } else {
            empty.push(&ma.name);
        }
    }
    for name in empty {
        m.del(name);
    }
    m
}

/// A classic histogram bucket: upper bound and cumulative count.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    upper: f64,
    count: f64,
}

fn histogram_quantile(q: f64, vec: &[Sample]) -> Vector {
    let mut groups: Vec<(Labels, Vec<Bucket>)> = Vec::new();
    let mut index: FxHashMap<Labels, usize> = FxHashMap::default();
    for s in vec {
        let Some(upper) = s.labels.get("le").and_then(parse_go_float) else {
            // No bucket label or a malformed one: skipped.
            continue;
        };
        let mut sig = s.labels.clone();
        sig.del("le");
        match index.get(&sig) {
            Some(&i) => groups[i].1.push(Bucket { upper, count: s.v }),
            None => {
                let mut metric = sig.clone();
                metric.del(METRIC_NAME);
                index.insert(sig, groups.len());
                groups.push((metric, vec![Bucket { upper, count: s.v }]));
            }
        }
    }
    groups
        .into_iter()
        .map(|(labels, mut buckets)| Sample {
            labels,
            t: 0,
            v: bucket_quantile(q, &mut buckets),
        })
        .collect()
}

/// `strconv.ParseFloat(s, 64)`, for bucket bounds.
fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.strip_prefix(['+', '-']).unwrap_or(&lower);
    match body {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => {
            return if body.len() == lower.len() {
                Some(f64::NAN)
            } else {
                None
            };
        }
        _ => {}
    }
    if body.starts_with("0x") {
        return parse_hex_float(&lower);
    }
    let mut digits = false;
    let mut chars = body.bytes().peekable();
    // Go accepts underscores only in base-prefixed numbers: not here.
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            digits = true;
            chars.next();
        } else {
            break;
        }
    }
    if chars.peek() == Some(&b'.') {
        chars.next();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() {
                digits = true;
                chars.next();
            } else {
                break;
            }
        }
    }
    if !digits {
        return None;
    }
    if chars.peek() == Some(&b'e') {
        chars.next();
        if matches!(chars.peek(), Some(b'+') | Some(b'-')) {
            chars.next();
        }
        let mut exp_digits = false;
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() {
                exp_digits = true;
                chars.next();
            } else {
                break;
            }
        }
        if !exp_digits {
            return None;
        }
    }
    if chars.next().is_some() {
        return None;
    }
    // Out of range is an error in Go (the value is ±Inf, but with an error: skipped).
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's hexadecimal floating-point syntax: `0x1.8p3`.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = rest.strip_prefix("0x")?;
    let (mantissa, exp) = rest.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// The `q`-quantile of a classic histogram's buckets (`bucketQuantile`), with Prometheus
/// 2.42's fixes for buckets with the same bound (added up) and for counts that decrease with
/// the bound (raised to the highest count below).
fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    gosort::sort(buckets, |a, b| a.upper < b.upper);
    if buckets[buckets.len() - 1].upper != f64::INFINITY {
        return f64::NAN;
    }
    coalesce_buckets(buckets);
    ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // sort.Search over all buckets but the last.
    let (mut b, mut j) = (0usize, buckets.len() - 1);
    while b < j {
        let h = (b + j) / 2;
        if buckets[h].count.partial_cmp(&rank).is_none_or(|o| o.is_lt()) {
            b = h + 1;
        } else {
            j = h;
        }
    }
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].upper;
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return buckets[0].upper;
    }
    let mut bucket_start = 0.0;
    let bucket_end = buckets[b].upper;
    let mut count = buckets[b].count;
    if b > 0 {
        bucket_start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

fn coalesce_buckets(buckets: &mut Vec<Bucket>) {
    let mut last = buckets[0];
    let mut i = 0;
    for k in 1..buckets.len() {
        let b = buckets[k];
        if b.upper == last.upper {
            last.count += b.count;
        } else {
            buckets[i] = last;
            last = b;
            i += 1;
        }
    }
    buckets[i] = last;
    buckets.truncate(i + 1);
}

fn ensure_monotonic(buckets: &mut [Bucket]) {
    let mut max = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        if b.count > max {
            max = b.count;
        } else if b.count < max {
            b.count = max;
        }
    }
}

fn label_replace(vec: &[Sample], args: &[Node], ctx: &mut FnCtx) -> Result<Vector> {
    let dst = string_arg(args, 1);
    let repl = string_arg(args, 2);
    let src = string_arg(args, 3);
    let regex_str = string_arg(args, 4);
    if ctx.regex.is_none() {
        let m = Matcher::new(MatchOp::Regex, "", regex_str, usize::MAX / 64)
            .map_err(|_| exec_err(format!("invalid regular expression in label_replace(): {regex_str}")))?;
        if !is_valid_label_name(dst) {
            return Err(exec_err(format!(
                "invalid destination label name in label_replace(): {dst}"
            )));
        }
        ctx.regex = m.regex().cloned();
    }
    let re = ctx.regex.as_ref().expect("compiled above");
    let mut out = Vec::with_capacity(vec.len());
    for s in vec {
        let src_val = s.labels.value(src);
        let labels = match re.captures(src_val) {
            None => s.labels.clone(),
            Some(caps) => {
                let res = go_expand(re, repl, src_val, &caps);
                let mut l = s.labels.clone();
                l.del(dst);
                if !res.is_empty() {
                    l.set(dst, &res);
                }
                l
            }
        };
        out.push(Sample { labels, t: 0, v: s.v });
    }
    Ok(out)
}

/// Go's `Regexp.ExpandString`: `$1`, `${1}`, `$name`, `${name}`, `$$`.
pub(crate) fn go_expand(re: &Regex, template: &str, src: &str, caps: &regex::Captures<'_>) -> String {
    let _ = src;
    let mut out = String::new();
    let mut t = template;
    while let Some(pos) = t.find('$') {
        out.push_str(&t[..pos]);
        t = &t[pos + 1..];
        if let Some(rest) = t.strip_prefix('$') {
            out.push('$');
            t = rest;
            continue;
        }
        let Some((name, num, rest)) = go_extract(t) else {
            out.push('$');
            continue;
        };
        t = rest;
        if let Some(num) = num {
            if let Some(m) = caps.get(num) {
                out.push_str(m.as_str());
            }
        } else {
            for (i, n) in re.capture_names().enumerate() {
                if n == Some(name) {
                    if let Some(m) = caps.get(i) {
                        out.push_str(m.as_str());
                    }
                    break;
                }
            }
        }
    }
    out.push_str(t);
    out
}

/// Go's `extract`: a leading `name` or `{name}`, its number if it is one, and the rest.
fn go_extract(s: &str) -> Option<(&str, Option<usize>, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|(_, c)| !(c.is_alphabetic() || c.is_numeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let mut rest = &body[end..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => num = Some(n * 10 + (b - b'0') as usize),
            _ => {
                num = None;
                break;
            }
        }
    }
    if name.starts_with('0') && name.len() > 1 {
        num = None;
    }
    Some((name, num, rest))
}

fn label_join(vec: &[Sample], args: &[Node]) -> Result<Vector> {
    let dst = string_arg(args, 1);
    let sep = string_arg(args, 2);
    let mut srcs = Vec::new();
    for i in 3..args.len() {
        let src = string_arg(args, i);
        if !is_valid_label_name(src) {
            return Err(exec_err(format!("invalid source label name in label_join(): {src}")));
        }
        srcs.push(src);
    }
    if !is_valid_label_name(dst) {
        return Err(exec_err(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    Ok(vec
        .iter()
        .map(|s| {
            let joined = srcs.iter().map(|n| s.labels.value(n)).collect::<Vec<_>>().join(sep);
            let mut l = s.labels.clone();
            if joined.is_empty() {
                l.del(dst);
            } else {
                l.set(dst, &joined);
            }
            Sample {
                labels: l,
                t: 0,
                v: s.v,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(i64, f64)]) -> Vec<Point> {
        v.iter().map(|&(t, v)| Point { t, v }).collect()
    }

    #[test]
    fn rate_extrapolates_like_prometheus() {
        // Samples every 10s from 0 to 50 in a 60s window ending at 60: 5 intervals of 10s.
        let p = pts(&[
            (0, 0.0),
            (10_000, 10.0),
            (20_000, 20.0),
            (30_000, 30.0),
            (40_000, 40.0),
            (50_000, 50.0),
        ]);
        // Starts at zero: no extrapolation before the first sample; 10s to the end.
        assert_eq!(extrapolated_rate(&p, 60_000, 0, 60_000, true, false), Some(60.0));
        assert_eq!(extrapolated_rate(&p, 60_000, 0, 60_000, true, true), Some(1.0));
        // With an offset of 10s, the range ends at the last sample.
        assert_eq!(extrapolated_rate(&p, 60_000, 10_000, 70_000, true, false), Some(60.0));
        // A reset adds the value before it.
        let p = pts(&[(10_000, 5.0), (20_000, 8.0), (30_000, 2.0), (40_000, 4.0)]);
        // Increase 4 - 5 + 8 = 7 over 30s, extrapolated by 10s before and 0s after.
        let got = extrapolated_rate(&p, 40_000, 0, 40_000, true, false).unwrap();
        assert!((got - 7.0 * 40.0 / 30.0).abs() < 1e-12, "{got}");
        assert!(extrapolated_rate(&p, 40_000, 0, 40_000, false, false).unwrap() < 0.0);
        assert_eq!(extrapolated_rate(&p[..1], 40_000, 0, 40_000, true, false), None);
    }

    #[test]
    fn instant_values() {
        let p = pts(&[(0, 3.0), (5_000, 10.0), (15_000, 4.0)]);
        assert_eq!(instant_value(&p, true), Some(0.4));
        assert_eq!(instant_value(&p, false), Some(-6.0));
        assert_eq!(instant_value(&p[..1], false), None);
    }

    #[test]
    fn over_time() {
        let p = pts(&[(0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0)]);
        assert_eq!(avg_over_time(&p), 2.5);
        assert_eq!(variance_over_time(&p), 1.25);
        let inf = pts(&[(0, f64::INFINITY), (1, 1.0)]);
        assert_eq!(avg_over_time(&inf), f64::INFINITY);
    }

    #[test]
    fn averages_side_by_side_are_the_averages_one_by_one() {
        let values = [
            1.5,
            -2.25,
            1e300,
            3.0,
            f64::INFINITY,
            7.0,
            f64::NEG_INFINITY,
            0.1,
            f64::NAN,
            2.0,
        ];
        let windows: Vec<Vec<(i64, f64)>> = vec![
            (0..7).map(|i| (i, values[(i * 3 % 10) as usize] * i as f64)).collect(),
            vec![],
            (0..3).map(|i| (i, values[i as usize])).collect(),
            (0..10).map(|i| (i, values[i as usize])).collect(),
        ];
        let lanes = avg_over_time_lanes([&windows[0][..], &windows[1][..], &windows[2][..], &windows[3][..]]);
        for (window, lane) in windows.iter().zip(lanes) {
            let one = if window.is_empty() {
                f64::NAN
            } else {
                avg_over_time(&pts(window))
            };
            // Bit for bit, but a NaN's sign: which NaN an addition passes on (the input's or the
            // processor's own from inf - inf) depends on how the compiler ordered the operands.
            let same = one.to_bits() == lane.to_bits() || (one.is_nan() && lane.is_nan());
            assert!(same, "{window:?}: {one} vs {lane}");
        }
    }

    #[test]
    fn regression() {
        let p = pts(&[(0, 1.0), (1000, 3.0), (2000, 5.0)]);
        let (slope, intercept) = linear_regression(&p, 0);
        assert_eq!((slope, intercept), (2.0, 1.0));
        let (slope, intercept) = linear_regression(&p, 3000);
        assert_eq!((slope, intercept), (2.0, 7.0));
        let c = pts(&[(0, 4.0), (1000, 4.0)]);
        assert_eq!(linear_regression(&c, 0), (0.0, 4.0));
    }

    #[test]
    fn holt_winters_smooths() {
        let p = pts(&[(0, 1.0), (1, 2.0), (2, 3.0)]);
        // s1 = 1, b = 1; i=1: s = .5*2 + .5*(1+1) = 2; i=2: b = .5*(2-1) + .5*1 = 1, s = 1.5 + .5*3 = 3
        assert_eq!(holt_winters(&p, 0.5, 0.5).unwrap(), Some(3.0));
        assert!(holt_winters(&p, 1.0, 0.5).is_err());
    }

    #[test]
    fn bucket_quantiles() {
        let b = |v: &[(f64, f64)]| {
            v.iter()
                .map(|&(upper, count)| Bucket { upper, count })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bucket_quantile(0.5, &mut b(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)])),
            1.0
        );
        assert_eq!(
            bucket_quantile(0.75, &mut b(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)])),
            1.5
        );
        // Falls in the +Inf bucket: the highest finite bound.
        assert_eq!(
            bucket_quantile(0.99, &mut b(&[(1.0, 10.0), (f64::INFINITY, 20.0)])),
            1.0
        );
        // No +Inf bucket.
        assert!(bucket_quantile(0.5, &mut b(&[(1.0, 10.0)])).is_nan());
        // Non-monotonic counts are raised.
        assert_eq!(
            bucket_quantile(0.5, &mut b(&[(1.0, 10.0), (2.0, 5.0), (f64::INFINITY, 20.0)])),
            bucket_quantile(0.5, &mut b(&[(1.0, 10.0), (2.0, 10.0), (f64::INFINITY, 20.0)]))
        );
        assert_eq!(parse_go_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_go_float("0.25"), Some(0.25));
        assert_eq!(parse_go_float("1e3"), Some(1000.0));
        assert_eq!(parse_go_float("0x1p-2"), Some(0.25));
        assert_eq!(parse_go_float("abc"), None);
        assert_eq!(parse_go_float(""), None);
    }

    #[test]
    fn go_expansion() {
        let re = Regex::new("^(?:(?P<a>[a-z]+)-(\\d+))$").unwrap();
        let caps = re.captures("abc-12").unwrap();
        assert_eq!(
            go_expand(&re, "$1/$2/${a}/$a/$$/$3/$1x/${1}x/$", "abc-12", &caps),
            "abc/12/abc/abc/$///abcx/$"
        );
    }

    #[test]
    fn go_math() {
        assert_eq!(go_max(f64::INFINITY, f64::NAN), f64::INFINITY);
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert_eq!(go_min(-0.0, 0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(duration_seconds(1500), 1.5);
        assert_eq!(go_f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(go_f64_to_i64(-1.9), -1);
    }
}
