//! Binary operators (`VectorAnd`, `VectorOr`, `VectorUnless`, `VectorBinop`,
//! `VectorscalarBinop`, `scalarBinop` of Prometheus 2.42).

use super::engine::{Result, exec_err};
use super::{Sample, Vector, gomath};
use crate::ast::{BinaryOp, Cardinality, VectorMatching};
use crate::labels::{DerivedLabels, FxHashMap, FxHashSet, Labels, METRIC_NAME};

fn btos(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Whether the operation drops the metric name of its result.
pub(crate) fn should_drop_metric_name(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Div | BinaryOp::Mul | BinaryOp::Pow | BinaryOp::Mod
    )
}

pub(crate) fn scalar_binop(op: BinaryOp, l: f64, r: f64) -> f64 {
    match op {
        BinaryOp::Add => l + r,
        BinaryOp::Sub => l - r,
        BinaryOp::Mul => l * r,
        BinaryOp::Div => l / r,
        BinaryOp::Pow => gomath::pow(l, r),
        BinaryOp::Mod => l % r,
        BinaryOp::Eql => btos(l == r),
        BinaryOp::Neq => btos(l != r),
        BinaryOp::Gtr => btos(l > r),
        BinaryOp::Lss => btos(l < r),
        BinaryOp::Gte => btos(l >= r),
        BinaryOp::Lte => btos(l <= r),
        BinaryOp::Atan2 => gomath::atan2(l, r),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => unreachable!("set operators between scalars"),
    }
}

/// The value of `l op r` between two vector elements and whether to keep it.
pub(crate) fn vector_elem_binop(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinaryOp::Add => (l + r, true),
        BinaryOp::Sub => (l - r, true),
        BinaryOp::Mul => (l * r, true),
        BinaryOp::Div => (l / r, true),
        BinaryOp::Pow => (gomath::pow(l, r), true),
        BinaryOp::Mod => (l % r, true),
        BinaryOp::Eql => (l, l == r),
        BinaryOp::Neq => (l, l != r),
        BinaryOp::Gtr => (l, l > r),
        BinaryOp::Lss => (l, l < r),
        BinaryOp::Gte => (l, l >= r),
        BinaryOp::Lte => (l, l <= r),
        BinaryOp::Atan2 => (gomath::atan2(l, r), true),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => unreachable!("set operators are not element-wise"),
    }
}

pub(crate) fn vector_and(
    lhs: &[Sample],
    rhs: &[Sample],
    lk: impl Fn(usize) -> u32,
    rk: impl Fn(usize) -> u32,
) -> Vector {
    if lhs.is_empty() || rhs.is_empty() {
        return Vec::new();
    }
    let right: FxHashSet<u32> = (0..rhs.len()).map(rk).collect();
    lhs.iter()
        .enumerate()
        .filter(|(i, _)| right.contains(&lk(*i)))
        .map(|(_, s)| s.clone())
        .collect()
}

pub(crate) fn vector_or(
    lhs: &[Sample],
    rhs: &[Sample],
    lk: impl Fn(usize) -> u32,
    rk: impl Fn(usize) -> u32,
) -> Vector {
    if lhs.is_empty() {
        return rhs.to_vec();
    } else if rhs.is_empty() {
        return lhs.to_vec();
    }
    let left: FxHashSet<u32> = (0..lhs.len()).map(lk).collect();
    let mut out = lhs.to_vec();
    out.extend(
        rhs.iter()
            .enumerate()
            .filter(|(j, _)| !left.contains(&rk(*j)))
            .map(|(_, s)| s.clone()),
    );
    out
}

pub(crate) fn vector_unless(
    lhs: &[Sample],
    rhs: &[Sample],
    lk: impl Fn(usize) -> u32,
    rk: impl Fn(usize) -> u32,
) -> Vector {
    if lhs.is_empty() || rhs.is_empty() {
        return lhs.to_vec();
    }
    let right: FxHashSet<u32> = (0..rhs.len()).map(rk).collect();
    lhs.iter()
        .enumerate()
        .filter(|(i, _)| !right.contains(&lk(*i)))
        .map(|(_, s)| s.clone())
        .collect()
}

/// The labels of the result of `lhs op rhs` (`resultMetric`).
fn result_metric(lhs: &Labels, rhs: &Labels, op: BinaryOp, matching: &VectorMatching) -> Labels {
    let mut l = lhs.clone();
    if should_drop_metric_name(op) {
        l.del(METRIC_NAME);
    }
    if matching.card == Cardinality::OneToOne {
        if matching.on {
            l.keep(&matching.matching_labels);
        } else {
            l.del_all(&matching.matching_labels);
        }
    }
    for name in &matching.include {
        // Included labels come from the "one" side.
        match rhs.get(name) {
            Some(v) => {
                let v = v.to_owned();
                l.set(name, &v)
            }
            None => l.del(name),
        }
    }
    l
}

/// A binary arithmetic or comparison operation between two vectors (`VectorBinop`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn vector_binop(
    op: BinaryOp,
    lhs: &[Sample],
    rhs: &[Sample],
    matching: &VectorMatching,
    return_bool: bool,
    lk: impl Fn(usize) -> u32,
    rk: impl Fn(usize) -> u32,
    cache: &mut DerivedLabels,
) -> Result<Vector> {
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(Vec::new());
    }
    let one_to_many = matching.card == Cardinality::OneToMany;
    // For one-to-many, swap sides: the "one" side is always `rs`.
    let lk: &dyn Fn(usize) -> u32 = &lk;
    let rk: &dyn Fn(usize) -> u32 = &rk;
    let (ls, rs, lkey, rkey) = if one_to_many {
        (rhs, lhs, rk, lk)
    } else {
        (lhs, rhs, lk, rk)
    };

    let mut right_sigs: FxHashMap<u32, usize> = FxHashMap::with_capacity_and_hasher(rs.len(), Default::default());
    for (i, r) in rs.iter().enumerate() {
        let sig = rkey(i);
        if let Some(&dup) = right_sigs.get(&sig) {
            let one_side = if one_to_many { "left" } else { "right" };
            let matched = r.labels.match_labels(matching.on, &matching.matching_labels);
            return Err(exec_err(format!(
                "found duplicate series for the match group {matched} on the {one_side} hand-side of the operation: \
                 [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                r.labels, rs[dup].labels
            )));
        }
        right_sigs.insert(sig, i);
    }

    let mut matched: FxHashMap<u32, Option<FxHashSet<Labels>>> =
        FxHashMap::with_capacity_and_hasher(right_sigs.len(), Default::default());
    let mut out = Vec::new();
    for (i, l) in ls.iter().enumerate() {
        let sig = lkey(i);
        let Some(&ri) = right_sigs.get(&sig) else {
            continue;
        };
        let r = &rs[ri];
        let (vl, vr) = if one_to_many { (r.v, l.v) } else { (l.v, r.v) };
        let (mut value, keep) = vector_elem_binop(op, vl, vr);
        if return_bool {
            value = btos(keep);
        } else if !keep {
            continue;
        }
        let metric = cache.get2(&l.labels, &r.labels, |a, b| {
            let m = result_metric(a, b, op, matching);
            if return_bool { m.without_name() } else { m }
        });
        match matching.card {
            Cardinality::OneToOne => {
                if matched.contains_key(&sig) {
                    return Err(exec_err(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    ));
                }
                matched.insert(sig, None);
            }
            _ => {
                let set = matched.entry(sig).or_insert_with(|| Some(FxHashSet::default()));
                let set = set.get_or_insert_with(FxHashSet::default);
                if !set.insert(metric.clone()) {
                    return Err(exec_err(
                        "multiple matches for labels: grouping labels must ensure unique matches",
                    ));
                }
            }
        }
        out.push(Sample {
            labels: metric,
            t: 0,
            v: value,
        });
    }
    Ok(out)
}

/// A binary operation between a vector and a scalar (`VectorscalarBinop`); `swap` when the
/// scalar is the left operand.
pub(crate) fn vector_scalar_binop(
    op: BinaryOp,
    lhs: &[Sample],
    scalar: f64,
    swap: bool,
    return_bool: bool,
    cache: &mut DerivedLabels,
) -> Vector {
    let mut out = Vec::with_capacity(lhs.len());
    for s in lhs {
        let (lv, rv) = if swap { (scalar, s.v) } else { (s.v, scalar) };
        let (mut value, mut keep) = vector_elem_binop(op, lv, rv);
        // A comparison keeps the vector's value, also when the scalar is on the left.
        if op.is_comparison() && swap {
            value = rv;
        }
        if return_bool {
            value = btos(keep);
            keep = true;
        }
        if keep {
            let labels = if should_drop_metric_name(op) || return_bool {
                cache.without_name(&s.labels)
            } else {
                s.labels.clone()
            };
            out.push(Sample {
                labels,
                t: s.t,
                v: value,
            });
        }
    }
    out
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

    #[test]
    fn scalar_operations() {
        assert_eq!(scalar_binop(BinaryOp::Mod, -7.0, 3.0), -1.0);
        assert_eq!(scalar_binop(BinaryOp::Pow, 2.0, 10.0), 1024.0);
        assert_eq!(scalar_binop(BinaryOp::Gte, 2.0, 2.0), 1.0);
        assert_eq!(scalar_binop(BinaryOp::Neq, f64::NAN, f64::NAN), 1.0);
        assert!(scalar_binop(BinaryOp::Div, 0.0, 0.0).is_nan());
    }

    #[test]
    fn comparison_with_scalar_on_the_left_keeps_the_vector_value() {
        let v = [s(&[("__name__", "m"), ("a", "1")], 5.0), s(&[("a", "2")], 1.0)];
        let c = &mut DerivedLabels::default();
        let out = vector_scalar_binop(BinaryOp::Lss, &v, 3.0, true, false, c);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].v, 5.0);
        assert_eq!(out[0].labels.get("__name__"), Some("m"));
        let out = vector_scalar_binop(BinaryOp::Lss, &v, 3.0, true, true, c);
        assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), [1.0, 0.0]);
        assert_eq!(out[0].labels.get("__name__"), None);
        let out = vector_scalar_binop(BinaryOp::Sub, &v, 3.0, true, false, c);
        assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), [-2.0, 2.0]);
    }
}
