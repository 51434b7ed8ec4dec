//! Label sets and label matchers.

use regex::Regex;
use std::fmt;

/// A label set: sorted by name, names unique, no empty values (an empty
/// value means "no such label", as in Prometheus).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Sorts the pairs and drops empty values; for a repeated name the last value wins.
    pub fn new(mut pairs: Vec<(String, String)>) -> Labels {
        pairs.retain(|(_, value)| !value.is_empty());
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match out.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => out.push(pair),
            }
        }
        Labels(out)
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
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
        self.0
    }

    /// A stable 64-bit hash (FNV-1a over names and values with separators).
    pub fn hash64(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, value) in &self.0 {
            for byte in name.bytes().chain([0xff]).chain(value.bytes()).chain([0xfe]) {
                hash ^= byte as u64;
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.get("__name__").unwrap_or("");
        f.write_str(name)?;
        f.write_str("{")?;
        let mut first = true;
        for (n, v) in self.iter().filter(|(n, _)| *n != "__name__") {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// `name op "value"`; a missing label matches as the empty string.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
}

impl Matcher {
    pub fn new(op: MatchOp, name: &str, value: &str) -> Result<Matcher, regex::Error> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(Regex::new(&format!("^(?s:{value})$"))?),
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// A regex matcher with a regex compiled elsewhere (the PromQL parser
    /// translates Go's syntax); it must be anchored.
    pub fn with_regex(op: MatchOp, name: &str, value: &str, regex: Regex) -> Matcher {
        Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex: Some(regex),
        }
    }

    /// The same name and value under another operator (not for regex operators: use [`Matcher::new`]).
    pub fn with_op(mut self, op: MatchOp) -> Matcher {
        self.op = op;
        self
    }

    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.to_string(),
            op: MatchOp::Equal,
            value: value.to_string(),
            regex: None,
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Whether the matcher accepts a series that lacks the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_unique_and_without_empty_values() {
        let l = Labels::from_pairs(&[("b", "2"), ("a", "1"), ("c", ""), ("b", "3")]);
        assert_eq!(l.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "3")]);
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("c"), None);
        assert_ne!(l.hash64(), Labels::from_pairs(&[("a", "1"), ("b", "2")]).hash64());
        assert_ne!(
            Labels::from_pairs(&[("a", "bc")]).hash64(),
            Labels::from_pairs(&[("ab", "c")]).hash64()
        );
    }

    #[test]
    fn matchers_are_anchored_and_treat_missing_as_empty() {
        let l = Labels::from_pairs(&[("job", "node"), ("__name__", "up")]);
        assert!(Matcher::new(MatchOp::Regex, "job", "no.*").unwrap().matches_labels(&l));
        assert!(!Matcher::new(MatchOp::Regex, "job", "o").unwrap().matches_labels(&l));
        assert!(Matcher::new(MatchOp::NotRegex, "env", ".+").unwrap().matches_labels(&l));
        assert!(Matcher::new(MatchOp::Equal, "env", "").unwrap().matches_labels(&l));
        assert!(Matcher::new(MatchOp::NotEqual, "job", "x").unwrap().matches_labels(&l));
        assert!(Matcher::new(MatchOp::Regex, "job", "(").is_err());
        assert_eq!(l.to_string(), "up{job=\"node\"}");
    }
}
