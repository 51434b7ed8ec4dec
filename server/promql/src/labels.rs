//! Label sets as the evaluator handles them: sorted by name, names unique, no empty values
//! (an empty value means "no such label", as in Prometheus). Cheap to clone: the pairs are
//! shared until one copy changes.

use std::fmt;
use std::sync::Arc;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// A label set, ordered as Prometheus' `labels.Compare` orders them.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Arc<Vec<(String, String)>>);

impl Labels {
    /// Sorts the pairs and drops empty values; for a repeated name the last value wins.
    pub fn new(mut pairs: Vec<(String, String)>) -> Labels {
        pairs.retain(|(_, v)| !v.is_empty());
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match out.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => out.push(pair),
            }
        }
        Labels(Arc::new(out))
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect())
    }

    pub fn empty() -> Labels {
        Labels::default()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// The value of `name`, or "" when the label is absent (as Prometheus' `Labels.Get`).
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_pairs(self) -> Vec<(String, String)> {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }

    /// Sets a label; an empty value deletes it (as Prometheus' `labels.Builder`).
    pub fn set(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            self.del(name);
            return;
        }
        match self.0.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) => {
                if self.0[i].1 != value {
                    Arc::make_mut(&mut self.0)[i].1 = value.to_owned();
                }
            }
            Err(i) => Arc::make_mut(&mut self.0).insert(i, (name.to_owned(), value.to_owned())),
        }
    }

    pub fn del(&mut self, name: &str) {
        if let Ok(i) = self.0.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Arc::make_mut(&mut self.0).remove(i);
        }
    }

    /// Deletes every label named in `names`.
    pub fn del_all<S: AsRef<str>>(&mut self, names: &[S]) {
        if self.0.iter().any(|(n, _)| names.iter().any(|x| x.as_ref() == n)) {
            Arc::make_mut(&mut self.0).retain(|(n, _)| !names.iter().any(|x| x.as_ref() == n));
        }
    }

    /// Keeps only the labels named in `names`.
    pub fn keep<S: AsRef<str>>(&mut self, names: &[S]) {
        if self.0.iter().any(|(n, _)| !names.iter().any(|x| x.as_ref() == n)) {
            Arc::make_mut(&mut self.0).retain(|(n, _)| names.iter().any(|x| x.as_ref() == n));
        }
    }

    /// The set without `__name__` (Prometheus' `dropMetricName`).
    pub fn without_name(&self) -> Labels {
        let mut l = self.clone();
        l.del(METRIC_NAME);
        l
    }

    /// A key identifying the values of the labels named in `names` (sorted), absent labels
    /// included as absent (Prometheus' `BytesWithLabels`).
    pub(crate) fn key_with(&self, names: &[String], out: &mut Vec<u8>) {
        out.clear();
        out.push(0xfe);
        let mut j = 0;
        for (n, v) in self.0.iter() {
            while j < names.len() && names[j].as_str() < n.as_str() {
                j += 1;
            }
            if j < names.len() && names[j] == *n {
                push_pair(out, n, v);
            }
        }
    }

    /// A key identifying the values of all labels but `__name__` and those named in `names`
    /// (sorted) (Prometheus' `BytesWithoutLabels` with the metric name added to `names`).
    pub(crate) fn key_without(&self, names: &[String], out: &mut Vec<u8>) {
        out.clear();
        out.push(0xfe);
        let mut j = 0;
        for (n, v) in self.0.iter() {
            while j < names.len() && names[j].as_str() < n.as_str() {
                j += 1;
            }
            if n == METRIC_NAME || (j < names.len() && names[j] == *n) {
                continue;
            }
            push_pair(out, n, v);
        }
    }

    /// Prometheus' `MatchLabels(on, names...)`: with `on`, the labels named; without, all the
    /// others but `__name__`.
    pub(crate) fn match_labels(&self, on: bool, names: &[String]) -> Labels {
        let pairs = self
            .0
            .iter()
            .filter(|(n, _)| {
                let listed = names.iter().any(|x| x == n);
                on == listed && (on || n != METRIC_NAME)
            })
            .cloned()
            .collect();
        Labels(Arc::new(pairs))
    }
}

/// A fast non-cryptographic hasher (the "Fx" hash of rustc) for the evaluator's maps, like
/// Prometheus' xxhash of label sets.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b) ^ (rest.len() as u64) << 59);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn finish(&self) -> u64 {
        // The multiplication leaves the low bits weak (aligned addresses, short keys), and the
        // hash table takes its bucket from them: bring the strong high bits down.
        self.0.rotate_left(26)
    }
}

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub(crate) type FxHashSet<K> = std::collections::HashSet<K, FxBuild>;

/// Labels derived from others, kept across the steps of an evaluation (Prometheus'
/// `DropMetricName` and `resultMetric` caches). Entries are keyed by the addresses of the
/// source label sets, which the cache keeps alive so that an address cannot be reused.
#[derive(Default)]
pub(crate) struct DerivedLabels {
    one: FxHashMap<usize, (Labels, Labels)>,
    two: FxHashMap<(usize, usize), (Labels, Labels, Labels)>,
}

impl DerivedLabels {
    /// `f(l)`, computed once per source set.
    pub(crate) fn get(&mut self, l: &Labels, f: impl FnOnce(&Labels) -> Labels) -> Labels {
        let key = Arc::as_ptr(&l.0) as usize;
        self.one.entry(key).or_insert_with(|| (l.clone(), f(l))).1.clone()
    }

    /// `l` without `__name__`.
    pub(crate) fn without_name(&mut self, l: &Labels) -> Labels {
        if !l.has(METRIC_NAME) {
            return l.clone();
        }
        self.get(l, Labels::without_name)
    }

    /// `f(a, b)`, computed once per pair of source sets.
    pub(crate) fn get2(&mut self, a: &Labels, b: &Labels, f: impl FnOnce(&Labels, &Labels) -> Labels) -> Labels {
        let key = (Arc::as_ptr(&a.0) as usize, Arc::as_ptr(&b.0) as usize);
        self.two
            .entry(key)
            .or_insert_with(|| (a.clone(), b.clone(), f(a, b)))
            .2
            .clone()
    }
}

/// Small numbers for byte keys (grouping keys, matching signatures): equal keys get equal
/// numbers, so a step compares numbers, not bytes.
#[derive(Default)]
pub(crate) struct KeyIds(FxHashMap<Vec<u8>, u32>);

impl KeyIds {
    pub(crate) fn id(&mut self, key: &[u8]) -> u32 {
        if let Some(&id) = self.0.get(key) {
            return id;
        }
        let id = self.0.len() as u32;
        self.0.insert(key.to_vec(), id);
        id
    }
}

/// An index of label sets, with a fast path for a set seen before as the same allocation.
#[derive(Default)]
pub(crate) struct LabelsIndex {
    by_value: FxHashMap<Labels, usize>,
    /// Address → (the set, kept alive so that the address stays its own, index).
    by_address: FxHashMap<usize, (Labels, usize)>,
}

impl LabelsIndex {
    /// The index of `l`, if known, remembering its allocation for the next lookups.
    pub(crate) fn get(&mut self, l: &Labels) -> Option<usize> {
        let address = Arc::as_ptr(&l.0) as usize;
        if let Some((_, i)) = self.by_address.get(&address) {
            return Some(*i);
        }
        let i = *self.by_value.get(l)?;
        self.by_address.insert(address, (l.clone(), i));
        Some(i)
    }

    pub(crate) fn insert(&mut self, l: &Labels, i: usize) {
        self.by_value.insert(l.clone(), i);
        self.by_address.insert(Arc::as_ptr(&l.0) as usize, (l.clone(), i));
    }
}

fn push_pair(out: &mut Vec<u8>, n: &str, v: &str) {
    out.extend_from_slice(n.as_bytes());
    out.push(0xff);
    out.extend_from_slice(v.as_bytes());
    out.push(0xff);
}

impl fmt::Display for Labels {
    /// Prometheus' `Labels.String()`: `{__name__="up", job="node"}`, values quoted as Go's `%q`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (n, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}={}", crate::go::quote(v))?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Whether `name` is a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn building_and_editing() {
        let mut l = Labels::from_pairs(&[("b", "2"), ("a", "1"), ("c", ""), ("b", "3")]);
        assert_eq!(l.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "3")]);
        let copy = l.clone();
        l.set("c", "x");
        l.set("a", "");
        assert_eq!(l.to_string(), r#"{b="3", c="x"}"#);
        assert_eq!(copy.to_string(), r#"{a="1", b="3"}"#);
        l.keep(&["c"]);
        assert_eq!(l.to_string(), r#"{c="x"}"#);
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name(""));
    }

    #[test]
    fn keys() {
        let l = Labels::from_pairs(&[("__name__", "m"), ("a", "1"), ("b", "2")]);
        let (mut k1, mut k2) = (Vec::new(), Vec::new());
        l.key_with(&["a".into()], &mut k1);
        Labels::from_pairs(&[("a", "1")]).key_with(&["a".into()], &mut k2);
        assert_eq!(k1, k2);
        l.key_without(&["b".into()], &mut k1);
        Labels::from_pairs(&[("a", "1"), ("__name__", "other")]).key_without(&[], &mut k2);
        assert_eq!(k1, k2);
        assert_eq!(l.match_labels(false, &["b".into()]).to_string(), r#"{a="1"}"#);
    }
}
