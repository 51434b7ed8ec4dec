//! Aggregation operators (`aggregation` of Prometheus 2.42's engine).

use super::engine::{Result, exec_err};
use super::gosort;
use super::{Matrix, Point, Sample, Series, Vector};
use crate::ast::AggregateOp;
use crate::labels::{DerivedLabels, FxHashMap, KeyIds, Labels, METRIC_NAME, is_valid_label_name};

pub(crate) enum Param<'a> {
    Number(f64),
    Label(&'a str),
}

struct Group {
    labels: Labels,
    acc: Acc,
    heap: Vec<Sample>,
}

/// The running number of one group, for every aggregation but `topk`, `bottomk` and
/// `quantile` (which keep samples): Prometheus 2.42's arithmetic, in its order.
#[derive(Clone, Copy)]
struct Acc {
    value: f64,
    mean: f64,
    count: i64,
}

impl Acc {
    fn new(op: AggregateOp, v: f64) -> Acc {
        let value = match op {
            AggregateOp::Stdvar | AggregateOp::Stddev => 0.0,
            AggregateOp::Group => 1.0,
            _ => v,
        };
        Acc {
            value,
            mean: v,
            count: 1,
        }
    }

    fn add(&mut self, op: AggregateOp, v: f64) {
        match op {
            AggregateOp::Sum => self.value += v,
            AggregateOp::Avg => {
                self.count += 1;
                if self.mean.is_infinite() {
                    if v.is_infinite() && (self.mean > 0.0) == (v > 0.0) {
                        // Infinities of the same sign: the mean is right already.
                        return;
                    }
                    if !v.is_infinite() && !v.is_nan() {
                        // An infinite mean stays so whatever finite value comes.
                        return;
                    }
                }
                let n = self.count as f64;
                self.mean += v / n - self.mean / n;
            }
            AggregateOp::Max => {
                if self.value < v || self.value.is_nan() {
                    self.value = v;
                }
            }
            AggregateOp::Min => {
                if self.value > v || self.value.is_nan() {
                    self.value = v;
                }
            }
            AggregateOp::Count | AggregateOp::CountValues => self.count += 1,
            AggregateOp::Stdvar | AggregateOp::Stddev => {
                self.count += 1;
                let delta = v - self.mean;
                self.mean += delta / self.count as f64;
                self.value += delta * (v - self.mean);
            }
            AggregateOp::Group | AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Quantile => {}
        }
    }

    fn result(&self, op: AggregateOp) -> f64 {
        match op {
            AggregateOp::Avg => self.mean,
            AggregateOp::Count | AggregateOp::CountValues => self.count as f64,
            AggregateOp::Stdvar => self.value / self.count as f64,
            AggregateOp::Stddev => (self.value / self.count as f64).sqrt(),
            _ => self.value,
        }
    }
}

/// `vectorByValueHeap.Less`: NaN first, then ascending.
pub(crate) fn by_value_less(a: &Sample, b: &Sample) -> bool {
    if a.v.is_nan() {
        return true;
    }
    a.v < b.v
}

/// `vectorByReverseValueHeap.Less`: NaN first, then descending.
pub(crate) fn by_reverse_value_less(a: &Sample, b: &Sample) -> bool {
    if a.v.is_nan() {
        return true;
    }
    a.v > b.v
}

/// Whether `f` converts to an int64 without overflow (`convertibleToInt64`).
fn convertible_to_int64(f: f64) -> bool {
    (-9_223_372_036_854_775_808.0..=9_223_372_036_854_774_784.0).contains(&f)
}

/// `strconv.FormatFloat(v, 'f', -1, 64)`.
pub(crate) fn format_float_f_shortest(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v}")
    }
}

/// Aggregates `vec` by the grouping keys `key(i)` of its samples.
/// The key of the group a series with labels `l` falls in.
pub(crate) fn group_key(l: &Labels, grouping: &[String], without: bool, out: &mut Vec<u8>) {
    if without {
        l.key_without(grouping, out);
    } else {
        l.key_with(grouping, out);
    }
}

/// The labels of the group a series with labels `l` falls in.
fn group_labels(l: &Labels, grouping: &[String], without: bool) -> Labels {
    let mut m = l.clone();
    if without {
        m.del_all(grouping);
        m.del(METRIC_NAME);
    } else {
        m.keep(grouping);
    }
    m
}

/// Whether [`aggregate_matrix`] computes `op`: the aggregations without a parameter.
pub(crate) fn by_series(op: AggregateOp) -> bool {
    use AggregateOp::*;
    matches!(op, Sum | Avg | Count | Group | Min | Max | Stddev | Stdvar)
}

/// A range aggregation computed series by series rather than step by step.
pub(crate) struct MatrixAggregate {
    pub matrix: Matrix,
    /// Per step: the input samples and the output samples, for the sample limit.
    pub inputs: Vec<i64>,
    pub outputs: Vec<i64>,
}

/// Aggregates a whole range result (points at `start + k * interval`, `steps` of them) at
/// once, for an `op` of [`by_series`]: every group's number at every step takes the samples
/// in the order the step-by-step evaluation takes them (series order), so the results are the
/// same bit for bit, and the groups come in the order it creates them (by the first step they
/// have a sample, then by their first series with a sample at that step). Without the vector
/// of every step and a hash lookup per sample, it is several times faster.
#[allow(clippy::too_many_arguments)]
pub(crate) fn aggregate_matrix(
    op: AggregateOp,
    grouping: &[String],
    without: bool,
    input: &Matrix,
    start: i64,
    interval: i64,
    steps: usize,
    check_done: &dyn Fn() -> Result<()>,
) -> Result<MatrixAggregate> {
    struct RangeGroup {
        labels: Labels,
        accs: Vec<Option<Acc>>,
        /// The first step with a sample, and the first series with a sample at that step.
        first: (usize, usize),
    }
    let mut ids = KeyIds::default();
    let mut key = Vec::new();
    let mut groups: Vec<RangeGroup> = Vec::new();
    let mut inputs = vec![0i64; steps];
    for (si, series) in input.iter().enumerate() {
        if si % 256 == 0 {
            check_done()?;
        }
        group_key(&series.labels, grouping, without, &mut key);
        let gi = ids.id(&key) as usize;
        if gi == groups.len() {
            groups.push(RangeGroup {
                labels: group_labels(&series.labels, grouping, without),
                accs: vec![None; steps],
                first: (usize::MAX, usize::MAX),
            });
        }
        let group = &mut groups[gi];
        for p in &series.points {
            let Some(k) = usize::try_from((p.t - start) / interval).ok().filter(|k| *k < steps) else {
                continue;
            };
            inputs[k] += 1;
            match &mut group.accs[k] {
                Some(acc) => acc.add(op, p.v),
                empty => *empty = Some(Acc::new(op, p.v)),
            }
            if k < group.first.0 {
                group.first = (k, si);
            }
        }
    }
    groups.sort_by_key(|g| g.first);
    let mut outputs = vec![0i64; steps];
    let matrix = groups
        .into_iter()
        .filter(|g| g.first.0 != usize::MAX)
        .map(|g| Series {
            labels: g.labels,
            points: g
                .accs
                .iter()
                .enumerate()
                .filter_map(|(k, acc)| {
                    let acc = acc.as_ref()?;
                    outputs[k] += 1;
                    Some(Point {
                        t: start + k as i64 * interval,
                        v: acc.result(op),
                    })
                })
                .collect(),
        })
        .collect();
    Ok(MatrixAggregate {
        matrix,
        inputs,
        outputs,
    })
}

pub(crate) fn aggregate(
    op: AggregateOp,
    grouping: &[String],
    without: bool,
    param: Param<'_>,
    vec: &[Sample],
    key: impl Fn(usize) -> u32,
    cache: &mut DerivedLabels,
) -> Result<Vector> {
    let num = match param {
        Param::Number(n) => n,
        Param::Label(_) => 0.0,
    };
    let mut k: i64 = 0;
    if matches!(op, AggregateOp::Topk | AggregateOp::Bottomk) {
        if !convertible_to_int64(num) {
            return Err(exec_err(format!(
                "Scalar value {} overflows int64",
                crate::go::format_float(num)
            )));
        }
        k = num as i64;
        if k < 1 {
            return Ok(Vec::new());
        }
    }
    let q = if op == AggregateOp::Quantile { num } else { 0.0 };
    let mut value_label = "";
    let mut recompute = false;
    let mut grouping: Vec<String> = grouping.to_vec();
    if op == AggregateOp::CountValues {
        value_label = match param {
            Param::Label(l) => l,
            Param::Number(_) => "",
        };
        if !is_valid_label_name(value_label) {
            return Err(exec_err(format!(
                "invalid label name {}",
                crate::go::quote(value_label)
            )));
        }
        if !without {
            grouping.push(value_label.to_owned());
            grouping.sort();
            recompute = true;
        }
    }

    let mut index: FxHashMap<u32, usize> = FxHashMap::default();
    let mut keys = KeyIds::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut buf = Vec::new();
    for (si, s) in vec.iter().enumerate() {
        let mut metric = s.labels.clone();
        if op == AggregateOp::CountValues {
            metric.set(value_label, &format_float_f_shortest(s.v));
            recompute = true;
        }
        let gkey = if recompute {
            group_key(&metric, &grouping, without, &mut buf);
            keys.id(&buf)
        } else {
            key(si)
        };
        let Some(&gi) = index.get(&gkey) else {
            let m = if op == AggregateOp::CountValues {
                group_labels(&metric, &grouping, without)
            } else {
                cache.get(&metric, |m| group_labels(m, &grouping, without))
            };
            let mut g = Group {
                labels: m,
                acc: Acc::new(op, s.v),
                heap: Vec::new(),
            };
            match op {
                AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Quantile => {
                    let input_len = vec.len() as i64;
                    let size = if k > input_len {
                        input_len
                    } else if k == 0 {
                        1
                    } else {
                        k
                    };
                    g.heap = Vec::with_capacity(size.clamp(1, 1 << 16) as usize);
                    g.heap.push(Sample {
                        labels: s.labels.clone(),
                        t: 0,
                        v: s.v,
                    });
                }
                _ => {}
            }
            index.insert(gkey, groups.len());
            groups.push(g);
            continue;
        };
        let g = &mut groups[gi];
        match op {
            AggregateOp::Topk | AggregateOp::Bottomk => {
                let less = if op == AggregateOp::Topk {
                    by_value_less
                } else {
                    by_reverse_value_less
                };
                let top = g.heap[0].v;
                let better = if op == AggregateOp::Topk { top < s.v } else { top > s.v };
                if (g.heap.len() as i64) < k || better || top.is_nan() {
                    let item = Sample {
                        labels: s.labels.clone(),
                        t: 0,
                        v: s.v,
                    };
                    if g.heap.len() as i64 == k {
                        if k == 1 {
                            g.heap[0] = item;
                            continue;
                        }
                        gosort::heap_pop(&mut g.heap, less);
                    }
                    gosort::heap_push(&mut g.heap, item, less);
                }
            }
            AggregateOp::Quantile => g.heap.push(s.clone()),
            _ => g.acc.add(op, s.v),
        }
    }

    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        let value = match op {
            AggregateOp::Topk | AggregateOp::Bottomk => {
                // The heap has the worst element on top: reverse it.
                if g.heap.len() > 1 {
                    let less = if op == AggregateOp::Topk {
                        by_value_less
                    } else {
                        by_reverse_value_less
                    };
                    gosort::sort(&mut g.heap, |a, b| less(b, a));
                }
                out.extend(g.heap.into_iter().map(|s| Sample {
                    labels: s.labels,
                    t: 0,
                    v: s.v,
                }));
                continue;
            }
            AggregateOp::Quantile => quantile(q, &mut g.heap),
            _ => g.acc.result(op),
        };
        out.push(Sample {
            labels: g.labels,
            t: 0,
            v: value,
        });
    }
    Ok(out)
}

/// The `q`-quantile of the values (`quantile`); sorts them.
pub(crate) fn quantile(q: f64, values: &mut [Sample]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    gosort::sort(values, by_value_less);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (n - 1.0).min(lower + 1.0);
    let weight = rank - rank.floor();
    values[lower as usize].v * (1.0 - weight) + values[upper as usize].v * weight
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(l: &[(&str, &str)], v: f64) -> Sample {
        Sample {
            labels: Labels::from_pairs(l),
            t: 0,
            v,
        }
    }

    /// The group key of each sample, as numbers.
    fn group_ids(vec: &[Sample], grouping: &[String], without: bool, ids: &mut KeyIds) -> Vec<u32> {
        let mut key = Vec::new();
        vec.iter()
            .map(|s| {
                group_key(&s.labels, grouping, without, &mut key);
                ids.id(&key)
            })
            .collect()
    }

    fn run(op: AggregateOp, grouping: &[&str], without: bool, param: Param<'_>, vec: &[Sample]) -> Vec<(String, f64)> {
        let mut grouping: Vec<String> = grouping.iter().map(|s| s.to_string()).collect();
        grouping.sort();
        let keys = group_ids(vec, &grouping, without, &mut KeyIds::default());
        aggregate(
            op,
            &grouping,
            without,
            param,
            vec,
            |i| keys[i],
            &mut DerivedLabels::default(),
        )
        .unwrap()
        .into_iter()
        .map(|s| (s.labels.to_string(), s.v))
        .collect()
    }

    fn input() -> Vec<Sample> {
        vec![
            s(&[("__name__", "m"), ("job", "a"), ("i", "1")], 1.0),
            s(&[("__name__", "m"), ("job", "a"), ("i", "2")], 3.0),
            s(&[("__name__", "m"), ("job", "b"), ("i", "1")], 10.0),
            s(&[("__name__", "m"), ("job", "b"), ("i", "2")], 10.0),
        ]
    }

    #[test]
    fn sums_averages_and_counts() {
        let v = input();
        assert_eq!(
            run(AggregateOp::Sum, &["job"], false, Param::Number(0.0), &v),
            [(r#"{job="a"}"#.into(), 4.0), (r#"{job="b"}"#.into(), 20.0)]
        );
        assert_eq!(
            run(AggregateOp::Avg, &["i"], true, Param::Number(0.0), &v),
            [(r#"{job="a"}"#.into(), 2.0), (r#"{job="b"}"#.into(), 10.0)]
        );
        assert_eq!(
            run(AggregateOp::Count, &[], false, Param::Number(0.0), &v),
            [("{}".into(), 4.0)]
        );
        assert_eq!(
            run(AggregateOp::Stddev, &["job"], false, Param::Number(0.0), &v),
            [(r#"{job="a"}"#.into(), 1.0), (r#"{job="b"}"#.into(), 0.0)]
        );
        assert_eq!(
            run(AggregateOp::Stdvar, &[], false, Param::Number(0.0), &v)[0].1,
            // mean 6, deviations -5 -3 4 4: (25 + 9 + 16 + 16) / 4
            16.5
        );
        assert_eq!(
            run(AggregateOp::Group, &["job"], false, Param::Number(0.0), &v)[1],
            (r#"{job="b"}"#.into(), 1.0)
        );
    }

    #[test]
    fn topk_bottomk_quantile_count_values() {
        let v = input();
        assert_eq!(
            run(AggregateOp::Topk, &[], false, Param::Number(2.0), &v),
            [
                (r#"{__name__="m", i="1", job="b"}"#.into(), 10.0),
                (r#"{__name__="m", i="2", job="b"}"#.into(), 10.0)
            ]
        );
        assert_eq!(
            run(AggregateOp::Bottomk, &["job"], false, Param::Number(1.0), &v),
            [
                (r#"{__name__="m", i="1", job="a"}"#.into(), 1.0),
                (r#"{__name__="m", i="1", job="b"}"#.into(), 10.0)
            ]
        );
        assert_eq!(
            run(AggregateOp::Quantile, &[], false, Param::Number(0.5), &v),
            [("{}".into(), 6.5)]
        );
        assert_eq!(
            run(AggregateOp::CountValues, &["job"], false, Param::Label("v"), &v),
            [
                (r#"{job="a", v="1"}"#.into(), 1.0),
                (r#"{job="a", v="3"}"#.into(), 1.0),
                (r#"{job="b", v="10"}"#.into(), 2.0)
            ]
        );
        assert!(run(AggregateOp::Topk, &[], false, Param::Number(0.0), &v).is_empty());
    }

    #[test]
    fn quantile_edges() {
        let mut v = vec![s(&[], 1.0), s(&[], 2.0)];
        assert_eq!(quantile(0.25, &mut v), 1.25);
        assert_eq!(quantile(-1.0, &mut v), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &mut v), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn aggregating_series_by_series_matches_step_by_step_bit_for_bit() {
        use AggregateOp::*;
        // 40 series over 30 steps with gaps, NaN and infinities, in three groups by `g`.
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        let (start, interval, steps) = (1_000, 15_000, 30usize);
        let input: Matrix = (0..40)
            .map(|i| Series {
                labels: Labels::from_pairs(&[
                    ("__name__", "m"),
                    ("g", ["a", "b", "c"][(i * 7 % 3) as usize]),
                    ("i", &i.to_string()),
                ]),
                points: (0..steps)
                    .filter_map(|k| {
                        let r = next();
                        let v = match r % 50 {
                            0 => f64::NAN,
                            1 => f64::INFINITY,
                            2 => f64::NEG_INFINITY,
                            _ => (r % 10_000) as f64 / 7.0 - 500.0,
                        };
                        // Series 0..3 start late, so that groups appear at different steps.
                        (r % 5 != 0 && k >= (i as usize % 4) * 3).then_some(Point {
                            t: start + k as i64 * interval,
                            v,
                        })
                    })
                    .collect(),
            })
            .collect();
        let ok = || Ok(());
        for op in [Sum, Avg, Count, Group, Min, Max, Stddev, Stdvar] {
            for (grouping, without) in [
                (vec![], false),
                (vec!["g".to_string()], false),
                (vec!["i".to_string()], true),
            ] {
                let fast = aggregate_matrix(op, &grouping, without, &input, start, interval, steps, &ok).unwrap();
                // Step by step, as range evaluation does.
                let mut slow: Vec<Series> = Vec::new();
                let (mut inputs, mut outputs) = (vec![0; steps], vec![0; steps]);
                let mut ids = KeyIds::default();
                for k in 0..steps {
                    let t = start + k as i64 * interval;
                    let vec: Vec<Sample> = input
                        .iter()
                        .filter_map(|s| {
                            s.points.iter().find(|p| p.t == t).map(|p| Sample {
                                labels: s.labels.clone(),
                                t,
                                v: p.v,
                            })
                        })
                        .collect();
                    inputs[k] = vec.len() as i64;
                    let keys = group_ids(&vec, &grouping, without, &mut ids);
                    let step = aggregate(
                        op,
                        &grouping,
                        without,
                        Param::Number(0.0),
                        &vec,
                        |i| keys[i],
                        &mut DerivedLabels::default(),
                    )
                    .unwrap();
                    outputs[k] = step.len() as i64;
                    for sample in step {
                        let point = Point { t, v: sample.v };
                        match slow.iter_mut().find(|s| s.labels == sample.labels) {
                            Some(series) => series.points.push(point),
                            None => slow.push(Series {
                                labels: sample.labels,
                                points: vec![point],
                            }),
                        }
                    }
                }
                let bits = |m: &Matrix| -> Vec<(String, Vec<(i64, u64)>)> {
                    m.iter()
                        .map(|s| {
                            (
                                s.labels.to_string(),
                                s.points.iter().map(|p| (p.t, p.v.to_bits())).collect(),
                            )
                        })
                        .collect()
                };
                assert_eq!(bits(&fast.matrix), bits(&slow), "{op:?} {grouping:?} without={without}");
                assert_eq!((fast.inputs, fast.outputs), (inputs, outputs));
            }
        }
    }
}
