//! Selecting series through an inverted index, shared by the head and the blocks (as
//! Prometheus' `PostingsForMatchers`): equality matchers intersect their postings lists; a
//! matcher that rejects the empty value selects the union of the lists of the values it
//! accepts; one that accepts the empty value removes the series with a value it rejects. No
//! series' labels are read, and regular expressions run once per distinct value, not per series.

use crate::labels::{MatchOp, Matcher};

/// An index of series numbers (ascending lists) by label pair.
pub(crate) trait Postings {
    /// The series with this label pair; `None` when no series has it.
    fn pair(&self, name: &str, value: &str) -> Option<&[u32]>;
    /// The lists of the values of `name` that `keep` accepts.
    fn values_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Vec<&[u32]>;
    /// Every series.
    fn every(&self) -> Vec<u32>;
}

fn union(lists: Vec<&[u32]>) -> Vec<u32> {
    let mut out: Vec<u32> = lists.into_iter().flatten().copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Elements of sorted `small` that are in sorted `large`.
fn intersect(small: &[u32], large: &[u32]) -> Vec<u32> {
    small
        .iter()
        .copied()
        .filter(|s| large.binary_search(s).is_ok())
        .collect()
}

/// The series matching every matcher, ascending. Exact: no further label check is needed.
pub(crate) fn select(index: &impl Postings, matchers: &[Matcher]) -> Vec<u32> {
    let equality = |m: &Matcher| m.op == MatchOp::Equal && !m.value.is_empty();
    // Equality first: the shortest lists, no regex run.
    let mut ordered: Vec<&Matcher> = matchers.iter().collect();
    ordered.sort_by_key(|m| !equality(m));
    let mut selected: Option<Vec<u32>> = None;
    let mut excluded: Vec<Vec<u32>> = Vec::new();
    for m in ordered {
        let list = if equality(m) {
            match index.pair(&m.name, &m.value) {
                Some(list) => list.to_vec(),
                None => return Vec::new(),
            }
        } else if !m.matches_empty() {
            union(index.values_where(&m.name, &|v| m.matches(v)))
        } else {
            excluded.push(union(index.values_where(&m.name, &|v| !m.matches(v))));
            continue;
        };
        let narrowed = match selected {
            None => list,
            Some(so_far) if so_far.len() <= list.len() => intersect(&so_far, &list),
            Some(so_far) => intersect(&list, &so_far),
        };
        if narrowed.is_empty() {
            return Vec::new();
        }
        selected = Some(narrowed);
    }
    let mut out = selected.unwrap_or_else(|| index.every());
    for gone in excluded.iter().filter(|l| !l.is_empty()) {
        out.retain(|s| gone.binary_search(s).is_err());
    }
    out
}
