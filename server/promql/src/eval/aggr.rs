//! Aggregation operators (`aggregation` of Prometheus 2.42's engine).

use super::engine::{Result, exec_err};
use super::gosort;
use super::{Sample, Vector};
use crate::ast::AggregateOp;
use crate::labels::{DerivedLabels, FxHashMap, KeyIds, Labels, METRIC_NAME, is_valid_label_name};

pub(crate) enum Param<'a> {
    Number(f64),
    Label(&'a str),
}

struct Group {
    labels: Labels,
    value: f64,
    mean: f64,
    count: i64,
    heap: Vec<Sample>,
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
            let group_labels = |m: &Labels| {
                let mut m = m.clone();
                if without {
                    m.del_all(&grouping);
                    m.del(METRIC_NAME);
                } else {
                    m.keep(&grouping);
                }
                m
            };
            let m = if op == AggregateOp::CountValues {
                group_labels(&metric)
            } else {
                cache.get(&metric, group_labels)
            };
            let mut g = Group {
                labels: m,
                value: s.v,
                mean: s.v,
                count: 1,
                heap: Vec::new(),
            };
            match op {
                AggregateOp::Stdvar | AggregateOp::Stddev => g.value = 0.0,
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
                AggregateOp::Group => g.value = 1.0,
                _ => {}
            }
            index.insert(gkey, groups.len());
            groups.push(g);
            continue;
        };
        let g = &mut groups[gi];
        match op {
            AggregateOp::Sum => g.value += s.v,
            AggregateOp::Avg => {
                g.count += 1;
                if g.mean.is_infinite() {
                    if s.v.is_infinite() && (g.mean > 0.0) == (s.v > 0.0) {
                        // Infinities of the same sign: the mean is right already.
                        continue;
                    }
                    if !s.v.is_infinite() && !s.v.is_nan() {
                        // An infinite mean stays so whatever finite value comes.
                        continue;
                    }
                }
                let n = g.count as f64;
                g.mean += s.v / n - g.mean / n;
            }
            AggregateOp::Group => {}
            AggregateOp::Max => {
                if g.value < s.v || g.value.is_nan() {
                    g.value = s.v;
                }
            }
            AggregateOp::Min => {
                if g.value > s.v || g.value.is_nan() {
                    g.value = s.v;
                }
            }
            AggregateOp::Count | AggregateOp::CountValues => g.count += 1,
            AggregateOp::Stdvar | AggregateOp::Stddev => {
                g.count += 1;
                let delta = s.v - g.mean;
                g.mean += delta / g.count as f64;
                g.value += delta * (s.v - g.mean);
            }
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
        }
    }

    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        let value = match op {
            AggregateOp::Avg => g.mean,
            AggregateOp::Count | AggregateOp::CountValues => g.count as f64,
            AggregateOp::Stdvar => g.value / g.count as f64,
            AggregateOp::Stddev => (g.value / g.count as f64).sqrt(),
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
            _ => g.value,
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

    fn run(op: AggregateOp, grouping: &[&str], without: bool, param: Param<'_>, vec: &[Sample]) -> Vec<(String, f64)> {
        let mut grouping: Vec<String> = grouping.iter().map(|s| s.to_string()).collect();
        grouping.sort();
        let mut ids = KeyIds::default();
        let mut key = Vec::new();
        let keys: Vec<u32> = vec
            .iter()
            .map(|s| {
                group_key(&s.labels, &grouping, without, &mut key);
                ids.id(&key)
            })
            .collect();
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
}
