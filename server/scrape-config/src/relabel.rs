//! Relabelling exactly as Prometheus 2.42 (`model/relabel`).
//!
//! A [`RelabelConfig`] is built from a [`RelabelSpec`] (the fields as written in
//! `prometheus.yml`, all optional) and validated with Prometheus' rules and messages.
//! [`relabel()`] applies a list of them to a label set.
//!
//! All eleven actions of Prometheus 2.42 are supported: `replace` (the default), `keep`,
//! `drop`, `keepequal` and `dropequal` (new in 2.41), `hashmod`, `labelmap`, `labeldrop`,
//! `labelkeep`, `lowercase` and `uppercase` (new in 2.36).
//!
//! Regular expressions use Go's RE2 syntax, anchored as `^(?:…)$`; replacement templates use
//! Go's `$1`, `${1}`, `${name}` expansion. Two deliberate differences from 2.42, both about
//! configurations that can only produce broken label names: `lowercase`, `uppercase`,
//! `keepequal` and `dropequal` require `target_label` to be a plain label name (later
//! Prometheus versions require this too), and `labeldrop`/`labelkeep` treat an empty
//! `source_labels: []` like an absent one.

use std::fmt;
use std::str::FromStr;

use md5::{Digest, Md5};
use regex::Regex;
use thiserror::Error;

use crate::go_regex;
use crate::labels::is_valid_label_name;

/// What a relabelling step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Match `regex` against the joined source values; on a match, set `target_label`
    /// (expanded) to `replacement` (expanded). An empty result deletes the label.
    #[default]
    Replace,
    /// Drop the label set unless `regex` matches the joined source values.
    Keep,
    /// Drop the label set if `regex` matches the joined source values.
    Drop,
    /// Drop the label set unless the joined source values equal the value of `target_label`.
    KeepEqual,
    /// Drop the label set if the joined source values equal the value of `target_label`.
    DropEqual,
    /// Set `target_label` to the MD5 hash of the joined source values modulo `modulus`.
    HashMod,
    /// Copy every label whose name matches `regex` to the name given by `replacement`.
    LabelMap,
    /// Remove every label whose name matches `regex`.
    LabelDrop,
    /// Remove every label whose name does not match `regex`.
    LabelKeep,
    /// Set `target_label` to the joined source values in lower case.
    Lowercase,
    /// Set `target_label` to the joined source values in upper case.
    Uppercase,
}

impl Action {
    /// Every action, in the order Prometheus documents them.
    pub const ALL: [Action; 11] = [
        Action::Replace,
        Action::Lowercase,
        Action::Uppercase,
        Action::Keep,
        Action::Drop,
        Action::KeepEqual,
        Action::DropEqual,
        Action::HashMod,
        Action::LabelMap,
        Action::LabelDrop,
        Action::LabelKeep,
    ];

    /// The name used in `prometheus.yml`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = RelabelConfigError;

    /// Parses an action name case-insensitively, as Prometheus does.
    fn from_str(s: &str) -> Result<Action, RelabelConfigError> {
        let lower = s.to_lowercase();
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == lower)
            .ok_or_else(|| RelabelConfigError::UnknownAction(s.to_owned()))
    }
}

/// Why a relabelling configuration was refused. The messages are Prometheus' own.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RelabelConfigError {
    /// `action` is not one of the known actions.
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    /// A name in `source_labels` is not a valid label name.
    #[error("{0:?} is not a valid label name")]
    InvalidSourceLabel(String),
    /// `regex` does not compile.
    #[error("invalid regex {regex:?}: {reason}")]
    InvalidRegex {
        /// The regular expression as written.
        regex: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `hashmod` without a non-zero `modulus`.
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ModulusRequired,
    /// The action needs a `target_label`.
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    TargetLabelRequired(Action),
    /// `target_label` is not valid for the action.
    #[error("{target:?} is invalid 'target_label' for {action} action")]
    InvalidTargetLabel {
        /// The target label as written.
        target: String,
        /// The action.
        action: Action,
    },
    /// `replacement` was set for an action that does not use it.
    #[error("'replacement' can not be set for {0} action")]
    ReplacementNotAllowed(Action),
    /// `replacement` is not a valid label name template for `labelmap`.
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement {
        /// The replacement as written.
        replacement: String,
        /// The action.
        action: Action,
    },
    /// `keepequal`/`dropequal` with fields other than `source_labels` and `target_label`.
    #[error("{0} action requires only 'source_labels' and `target_label`, and no other fields")]
    OnlySourceAndTarget(Action),
    /// `labeldrop`/`labelkeep` with fields other than `regex`.
    #[error("{0} action requires only 'regex', and no other fields")]
    OnlyRegex(Action),
}

/// A regular expression in Go (RE2) syntax, anchored at both ends as Prometheus does.
#[derive(Clone)]
pub struct RelabelRegex {
    source: String,
    regex: Regex,
}

impl RelabelRegex {
    /// Compiles `^(?:source)$`.
    pub fn new(source: &str) -> Result<RelabelRegex, RelabelConfigError> {
        let regex =
            go_regex::compile(&format!("^(?:{source})$")).map_err(|reason| RelabelConfigError::InvalidRegex {
                regex: source.to_owned(),
                reason,
            })?;
        Ok(RelabelRegex {
            source: source.to_owned(),
            regex,
        })
    }

    /// The expression as written, without the anchors.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// On a match, `template` expanded with the groups of the match (Go's `Expand` rules).
    fn expand_match(&self, text: &str, template: &str) -> Option<String> {
        let caps = self.regex.captures(text)?;
        Some(go_regex::expand(&self.regex, &caps, template))
    }
}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelabelRegex({:?})", self.source)
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &RelabelRegex) -> bool {
        self.source == other.source
    }
}

impl Eq for RelabelRegex {}

/// The fields of a `relabel_config` as written, before defaults and validation.
///
/// `None` means "not set": the defaults are `separator: ";"`, `regex: "(.*)"`,
/// `replacement: "$1"`, `action: replace`, `modulus: 0`, no target label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelabelSpec {
    /// Labels whose values are joined with `separator` to form the input.
    pub source_labels: Vec<String>,
    /// The separator between source values.
    pub separator: Option<String>,
    /// The label written by `replace`, `hashmod`, `lowercase`, `uppercase`, or compared by
    /// `keepequal`/`dropequal`.
    pub target_label: Option<String>,
    /// The regular expression (Go syntax, anchored).
    pub regex: Option<String>,
    /// The modulus for `hashmod`.
    pub modulus: Option<u64>,
    /// The replacement template for `replace` and `labelmap`.
    pub replacement: Option<String>,
    /// The action.
    pub action: Option<Action>,
}

/// One validated relabelling step. Build it with [`RelabelConfig::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelabelConfig {
    source_labels: Vec<String>,
    separator: String,
    target_label: String,
    regex: RelabelRegex,
    modulus: u64,
    replacement: String,
    action: Action,
}

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";

/// Prometheus' `relabelTarget`: a label name in which `$1`, `${1}`, `$name`, `${name}` may appear.
fn is_valid_target_template(s: &str) -> bool {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    PATTERN
        .get_or_init(|| {
            go_regex::compile(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$").expect("the target label pattern compiles")
        })
        .is_match(s)
}

impl RelabelConfig {
    /// Applies the defaults and validates like Prometheus' `relabel.Config.UnmarshalYAML`.
    ///
    /// ```
    /// use vitrine_scrape_config::{Action, RelabelConfig, RelabelSpec};
    /// let err = RelabelConfig::new(RelabelSpec { action: Some(Action::HashMod), ..Default::default() })
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "relabel configuration for hashmod requires non-zero modulus");
    /// ```
    pub fn new(spec: RelabelSpec) -> Result<RelabelConfig, RelabelConfigError> {
        use Action::*;
        use RelabelConfigError as E;

        for name in &spec.source_labels {
            if !is_valid_label_name(name) {
                return Err(E::InvalidSourceLabel(name.clone()));
            }
        }
        let regex_set = spec.regex.is_some();
        let regex = RelabelRegex::new(spec.regex.as_deref().unwrap_or(DEFAULT_REGEX))?;
        let action = spec.action.unwrap_or_default();
        let c = RelabelConfig {
            source_labels: spec.source_labels,
            separator: spec.separator.unwrap_or_else(|| DEFAULT_SEPARATOR.to_owned()),
            target_label: spec.target_label.unwrap_or_default(),
            regex,
            modulus: spec.modulus.unwrap_or(0),
            replacement: spec.replacement.unwrap_or_else(|| DEFAULT_REPLACEMENT.to_owned()),
            action,
        };
        let invalid_target = || E::InvalidTargetLabel {
            target: c.target_label.clone(),
            action,
        };

        if c.modulus == 0 && action == HashMod {
            return Err(E::ModulusRequired);
        }
        if matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && c.target_label.is_empty()
        {
            return Err(E::TargetLabelRequired(action));
        }
        if action == Replace && !is_valid_target_template(&c.target_label) {
            return Err(invalid_target());
        }
        if matches!(action, Lowercase | Uppercase | KeepEqual | DropEqual | HashMod)
            && !is_valid_label_name(&c.target_label)
        {
            return Err(invalid_target());
        }
        if matches!(action, Lowercase | Uppercase | KeepEqual | DropEqual) && c.replacement != DEFAULT_REPLACEMENT {
            return Err(E::ReplacementNotAllowed(action));
        }
        if action == LabelMap && !is_valid_target_template(&c.replacement) {
            return Err(E::InvalidReplacement {
                replacement: c.replacement.clone(),
                action,
            });
        }
        if matches!(action, KeepEqual | DropEqual)
            && (regex_set || c.modulus != 0 || c.separator != DEFAULT_SEPARATOR || c.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(E::OnlySourceAndTarget(action));
        }
        if matches!(action, LabelDrop | LabelKeep)
            && (!c.source_labels.is_empty()
                || !c.target_label.is_empty()
                || c.modulus != 0
                || c.separator != DEFAULT_SEPARATOR
                || c.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(E::OnlyRegex(action));
        }
        Ok(c)
    }

    /// The source labels.
    pub fn source_labels(&self) -> &[String] {
        &self.source_labels
    }

    /// The separator between source values.
    pub fn separator(&self) -> &str {
        &self.separator
    }

    /// The target label (empty when the action has none).
    pub fn target_label(&self) -> &str {
        &self.target_label
    }

    /// The regular expression.
    pub fn regex(&self) -> &RelabelRegex {
        &self.regex
    }

    /// The modulus (0 unless the action is `hashmod`).
    pub fn modulus(&self) -> u64 {
        self.modulus
    }

    /// The replacement template.
    pub fn replacement(&self) -> &str {
        &self.replacement
    }

    /// The action.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The shortest [`RelabelSpec`] describing this step: the action always, every other
    /// field only where it differs from its default. [`RelabelConfig::new`] turns it back
    /// into an equal config.
    ///
    /// It is not necessarily the spec the config was built from: a field written with its
    /// default value (`separator: ";"`) is left out, and the action is named even where it
    /// was the default `replace`.
    ///
    /// ```
    /// use vitrine_scrape_config::{Action, RelabelConfig, RelabelSpec};
    /// let config = RelabelConfig::new(RelabelSpec {
    ///     source_labels: vec!["__name__".into()],
    ///     separator: Some(";".into()),
    ///     regex: Some("go_.*".into()),
    ///     action: Some(Action::Drop),
    ///     ..Default::default()
    /// })
    /// .unwrap();
    /// let spec = config.spec();
    /// assert_eq!(spec.separator, None);
    /// assert_eq!(spec.regex.as_deref(), Some("go_.*"));
    /// assert_eq!(RelabelConfig::new(spec), Ok(config));
    /// ```
    pub fn spec(&self) -> RelabelSpec {
        let unless = |value: &str, default: &str| (value != default).then(|| value.to_owned());
        RelabelSpec {
            source_labels: self.source_labels.clone(),
            separator: unless(&self.separator, DEFAULT_SEPARATOR),
            target_label: unless(&self.target_label, ""),
            // Left out when it is the default, as `keepequal` and `dropequal` refuse any regex.
            regex: unless(self.regex.as_str(), DEFAULT_REGEX),
            modulus: (self.modulus != 0).then_some(self.modulus),
            replacement: unless(&self.replacement, DEFAULT_REPLACEMENT),
            action: Some(self.action),
        }
    }

    /// Applies this step; `false` means the label set is dropped.
    fn apply(&self, labels: &mut Vec<(String, String)>) -> bool {
        let val = self
            .source_labels
            .iter()
            .map(|n| get(labels, n))
            .collect::<Vec<_>>()
            .join(&self.separator);
        match self.action {
            Action::Drop => return !self.regex.is_match(&val),
            Action::Keep => return self.regex.is_match(&val),
            Action::DropEqual => return get(labels, &self.target_label) != val,
            Action::KeepEqual => return get(labels, &self.target_label) == val,
            Action::Replace => {
                // No match: nothing happens. An invalid expanded target: nothing happens either
                // (2.42 deletes the unexpanded target name, which can never be a present label).
                if let Some(target) = self.regex.expand_match(&val, &self.target_label)
                    && is_valid_label_name(&target)
                {
                    let value = self.regex.expand_match(&val, &self.replacement).unwrap_or_default();
                    set(labels, &target, value);
                }
            }
            Action::Lowercase => set(labels, &self.target_label, go_lowercase(&val)),
            Action::Uppercase => set(labels, &self.target_label, go_uppercase(&val)),
            Action::HashMod => {
                let value = hashmod(&val, self.modulus);
                set(labels, &self.target_label, value.to_string());
            }
            Action::LabelMap => {
                let snapshot = labels.clone();
                for (name, value) in snapshot {
                    if let Some(new_name) = self.regex.expand_match(&name, &self.replacement) {
                        set(labels, &new_name, value);
                    }
                }
            }
            Action::LabelDrop => labels.retain(|(name, _)| !self.regex.is_match(name)),
            Action::LabelKeep => labels.retain(|(name, _)| self.regex.is_match(name)),
        }
        true
    }
}

/// Prometheus' hash for `hashmod`: the last 8 bytes of the MD5 of `value`, read big-endian,
/// modulo `modulus`.
///
/// ```
/// // The value from Prometheus' own relabel tests.
/// assert_eq!(vitrine_scrape_config::hashmod("baz", 1000), 976);
/// ```
pub fn hashmod(value: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(value.as_bytes());
    let mut last = [0u8; 8];
    last.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(last) % modulus.max(1)
}

/// Go's `strings.ToLower`: one-to-one simple case mapping per character.
fn go_lowercase(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            // The only character whose simple and full lowercase mappings differ.
            '\u{130}' => 'i',
            _ => single(c.to_lowercase()).unwrap_or(c),
        })
        .collect()
}

/// Go's `strings.ToUpper`: one-to-one simple case mapping per character.
fn go_uppercase(s: &str) -> String {
    s.chars().map(|c| single(c.to_uppercase()).unwrap_or(c)).collect()
}

fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let first = it.next()?;
    if it.next().is_some() { None } else { Some(first) }
}

fn find(labels: &[(String, String)], name: &str) -> Result<usize, usize> {
    labels.binary_search_by(|(n, _)| n.as_str().cmp(name))
}

fn get<'a>(labels: &'a [(String, String)], name: &str) -> &'a str {
    find(labels, name).map(|i| labels[i].1.as_str()).unwrap_or("")
}

/// Sets a label, keeping the order; an empty value deletes it (empty means absent).
fn set(labels: &mut Vec<(String, String)>, name: &str, value: String) {
    match (find(labels, name), value.is_empty()) {
        (Ok(i), true) => {
            labels.remove(i);
        }
        (Ok(i), false) => labels[i].1 = value,
        (Err(_), true) => {}
        (Err(i), false) => labels.insert(i, (name.to_owned(), value)),
    }
}

/// Applies `configs` in order to `labels`, like Prometheus' `relabel.Process`.
///
/// The labels are sorted by name first (stably, so of two labels with the same name the
/// first one is looked up) and stay sorted. Returns `false` when a step drops the label set;
/// `labels` is then left empty, as Prometheus returns an empty label set.
///
/// ```
/// use vitrine_scrape_config::{Action, RelabelConfig, RelabelSpec, relabel};
/// let keep_api = RelabelConfig::new(RelabelSpec {
///     source_labels: vec!["job".into()],
///     regex: Some("api-.*".into()),
///     action: Some(Action::Keep),
///     ..Default::default()
/// })
/// .unwrap();
/// let mut labels = vec![("job".to_string(), "api-eu".to_string())];
/// assert!(relabel(&mut labels, std::slice::from_ref(&keep_api)));
/// let mut labels = vec![("job".to_string(), "db".to_string())];
/// assert!(!relabel(&mut labels, &[keep_api]));
/// assert!(labels.is_empty());
/// ```
pub fn relabel(labels: &mut Vec<(String, String)>, configs: &[RelabelConfig]) -> bool {
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    for config in configs {
        if !config.apply(labels) {
            labels.clear();
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(action: Action) -> RelabelSpec {
        RelabelSpec {
            action: Some(action),
            ..Default::default()
        }
    }

    fn cfg(spec: RelabelSpec) -> RelabelConfig {
        RelabelConfig::new(spec).unwrap()
    }

    fn replace(sources: &[&str], regex: &str, target: &str, replacement: &str) -> RelabelConfig {
        cfg(RelabelSpec {
            source_labels: sources.iter().map(|s| s.to_string()).collect(),
            regex: Some(regex.into()),
            target_label: Some(target.into()),
            replacement: Some(replacement.into()),
            ..spec(Action::Replace)
        })
    }

    fn with_regex(action: Action, sources: &[&str], regex: &str) -> RelabelConfig {
        cfg(RelabelSpec {
            source_labels: sources.iter().map(|s| s.to_string()).collect(),
            regex: Some(regex.into()),
            ..spec(action)
        })
    }

    fn ls(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        v.sort();
        v
    }

    fn run(input: &[(&str, &str)], configs: &[RelabelConfig]) -> Option<Vec<(String, String)>> {
        let mut labels = ls(input);
        relabel(&mut labels, configs).then_some(labels)
    }

    const ABC: [(&str, &str); 3] = [("a", "foo"), ("b", "bar"), ("c", "baz")];

    #[test]
    fn replace_with_braced_group() {
        let out = run(&ABC, &[replace(&["a"], "f(.*)", "d", "ch${1}-ch${1}")]);
        assert_eq!(
            out,
            Some(ls(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "choo-choo")]))
        );
    }

    #[test]
    fn replace_chain_sees_previous_results() {
        let out = run(
            &ABC,
            &[
                replace(&["a", "b"], "f(.*);(.*)r", "a", "b${1}${2}m"),
                replace(&["c", "a"], "(b).*b(.*)ba(.*)", "d", "$1$2$2$3"),
            ],
        );
        assert_eq!(
            out,
            Some(ls(&[("a", "boobam"), ("b", "bar"), ("c", "baz"), ("d", "boooom")]))
        );
    }

    #[test]
    fn drop_stops_processing() {
        let configs = [
            with_regex(Action::Drop, &["a"], ".*o.*"),
            replace(&["a"], "f(.*)", "d", "ch$1-ch$1"),
        ];
        assert_eq!(run(&[("a", "foo")], &configs), None);
        assert_eq!(run(&[("a", "foo"), ("b", "bar")], &configs[..1]), None);
    }

    #[test]
    fn replace_with_inner_group() {
        assert_eq!(
            run(&[("a", "abc")], &[replace(&["a"], ".*(b).*", "d", "$1")]),
            Some(ls(&[("a", "abc"), ("d", "b")]))
        );
    }

    #[test]
    fn regex_is_anchored() {
        // "f|o" must match the whole value, not a part of it.
        assert_eq!(
            run(&[("a", "foo")], &[with_regex(Action::Drop, &["a"], "f|o")]),
            Some(ls(&[("a", "foo")]))
        );
        assert_eq!(
            run(&[("a", "foo")], &[with_regex(Action::Drop, &["a"], "no-match")]),
            Some(ls(&[("a", "foo")]))
        );
        assert_eq!(
            run(&[("a", "foo")], &[with_regex(Action::Keep, &["a"], "no-match")]),
            None
        );
        assert_eq!(
            run(&[("a", "foo")], &[with_regex(Action::Keep, &["a"], "f.*")]),
            Some(ls(&[("a", "foo")]))
        );
    }

    #[test]
    fn no_replacement_without_match() {
        assert_eq!(
            run(&[("a", "boo")], &[replace(&["a"], "f", "b", "bar")]),
            Some(ls(&[("a", "boo")]))
        );
    }

    #[test]
    fn hashmod_matches_prometheus() {
        let h = |target: &str, source: &str| {
            cfg(RelabelSpec {
                source_labels: vec![source.into()],
                target_label: Some(target.into()),
                modulus: Some(1000),
                ..spec(Action::HashMod)
            })
        };
        assert_eq!(
            run(&ABC, &[h("d", "c")]),
            Some(ls(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")]))
        );
        assert_eq!(
            run(&[("a", "foo\nbar")], &[h("b", "a")]),
            Some(ls(&[("a", "foo\nbar"), ("b", "734")]))
        );
        // The empty string hashes too: MD5("") = d41d8cd98f00b204e9800998ecf8427e.
        assert_eq!(hashmod("", u64::MAX), 0xe9800998ecf8427e);
        assert_eq!(hashmod("", 1000), 0xe9800998ecf8427e_u64 % 1000);
    }

    #[test]
    fn hashmod_sharding_example_from_the_docs() {
        // Keep one shard of four, as in the Prometheus documentation's sharding example.
        let configs = [
            cfg(RelabelSpec {
                source_labels: vec!["__address__".into()],
                modulus: Some(4),
                target_label: Some("__tmp_hash".into()),
                ..spec(Action::HashMod)
            }),
            with_regex(Action::Keep, &["__tmp_hash"], "^1$"),
        ];
        let mut kept = 0;
        for i in 0..100 {
            let address = format!("10.0.0.{i}:9100");
            let expected = hashmod(&address, 4) == 1;
            let out = run(&[("__address__", &address)], &configs);
            assert_eq!(out.is_some(), expected, "{address}");
            kept += usize::from(expected);
        }
        assert!(kept > 10 && kept < 40, "{kept}");
    }

    #[test]
    fn labelmap_copies_matching_names() {
        let c = cfg(RelabelSpec {
            regex: Some("(b.*)".into()),
            replacement: Some("bar_${1}".into()),
            ..spec(Action::LabelMap)
        });
        assert_eq!(
            run(&[("a", "foo"), ("b1", "bar"), ("b2", "baz")], &[c]),
            Some(ls(&[
                ("a", "foo"),
                ("b1", "bar"),
                ("b2", "baz"),
                ("bar_b1", "bar"),
                ("bar_b2", "baz")
            ]))
        );
        let meta = cfg(RelabelSpec {
            regex: Some("__meta_(my.*)".into()),
            replacement: Some("${1}".into()),
            ..spec(Action::LabelMap)
        });
        assert_eq!(
            run(
                &[
                    ("a", "foo"),
                    ("__meta_my_bar", "aaa"),
                    ("__meta_my_baz", "bbb"),
                    ("__meta_other", "ccc")
                ],
                &[meta]
            ),
            Some(ls(&[
                ("a", "foo"),
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
                ("my_bar", "aaa"),
                ("my_baz", "bbb"),
            ]))
        );
    }

    #[test]
    fn labelmap_kubernetes_node_labels_from_the_docs() {
        let c = cfg(RelabelSpec {
            regex: Some("__meta_kubernetes_node_label_(.+)".into()),
            ..spec(Action::LabelMap)
        });
        assert_eq!(
            run(
                &[("__meta_kubernetes_node_label_zone", "eu-1"), ("instance", "n1")],
                &[c]
            ),
            Some(ls(&[
                ("__meta_kubernetes_node_label_zone", "eu-1"),
                ("instance", "n1"),
                ("zone", "eu-1")
            ]))
        );
    }

    #[test]
    fn templated_target_label() {
        let c = replace(&["a"], "some-([^-]+)-([^,]+)", "${1}", "${2}");
        assert_eq!(
            run(&[("a", "some-name-value")], &[c]),
            Some(ls(&[("a", "some-name-value"), ("name", "value")]))
        );
        // Empty replacement: nothing to set.
        let c = replace(&["a"], "some-([^-]+)-([^,]+)", "${1}", "${3}");
        assert_eq!(
            run(&[("a", "some-name-value")], &[c]),
            Some(ls(&[("a", "some-name-value")]))
        );
        // Targets that expand to an invalid or empty name are ignored.
        let configs = [
            replace(&["a"], "some-([^-]+)-([^,]+)", "${3}", "${1}"),
            replace(&["a"], "some-([^-]+)(-[^,]+)", "${3}", "${1}"),
            replace(&["a"], "some-([^-]+)-([^,]+)", "${2}", "${1}"),
        ];
        assert_eq!(
            run(&[("a", "some-name-0")], &configs),
            Some(ls(&[("a", "some-name-0")]))
        );
    }

    #[test]
    fn real_life_tag_parsing() {
        let configs = [
            replace(
                &["__meta_sd_tags"],
                "(?:.+,|^)path:(/[^,]+).*",
                "__metrics_path__",
                "${1}",
            ),
            replace(&["__meta_sd_tags"], "(?:.+,|^)job:([^,]+).*", "job", "${1}"),
            replace(&["__meta_sd_tags"], "(?:.+,|^)label:([^=]+)=([^,]+).*", "${1}", "${2}"),
        ];
        assert_eq!(
            run(
                &[("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar")],
                &configs
            ),
            Some(ls(&[
                ("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"),
                ("__metrics_path__", "/secret"),
                ("job", "some-job"),
                ("foo", "bar"),
            ]))
        );
    }

    #[test]
    fn labeldrop_then_recreate_then_keep() {
        let configs = [
            cfg(RelabelSpec {
                regex: Some("^__meta_kubernetes_pod_container_port_name$".into()),
                ..spec(Action::LabelDrop)
            }),
            replace(
                &["__meta_kubernetes_pod_annotation_XXX_metrics_port"],
                "(.+)",
                "__meta_kubernetes_pod_container_port_name",
                "metrics",
            ),
            with_regex(
                Action::Keep,
                &["__meta_kubernetes_pod_container_port_name"],
                "^metrics$",
            ),
        ];
        assert_eq!(
            run(
                &[
                    ("__meta_kubernetes_pod_container_port_name", "foo"),
                    ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
                ],
                &configs
            ),
            Some(ls(&[
                ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
                ("__meta_kubernetes_pod_container_port_name", "metrics"),
            ]))
        );
    }

    #[test]
    fn labelkeep_and_labeldrop() {
        let input = [("a", "foo"), ("b1", "bar"), ("b2", "baz")];
        let keep = cfg(RelabelSpec {
            regex: Some("(b.*)".into()),
            ..spec(Action::LabelKeep)
        });
        let drop = cfg(RelabelSpec {
            regex: Some("(b.*)".into()),
            ..spec(Action::LabelDrop)
        });
        assert_eq!(run(&input, &[keep]), Some(ls(&[("b1", "bar"), ("b2", "baz")])));
        assert_eq!(run(&input, &[drop]), Some(ls(&[("a", "foo")])));
    }

    #[test]
    fn lowercase_and_uppercase() {
        let up = cfg(RelabelSpec {
            source_labels: vec!["foo".into()],
            target_label: Some("foo_uppercase".into()),
            ..spec(Action::Uppercase)
        });
        let low = cfg(RelabelSpec {
            source_labels: vec!["foo".into()],
            target_label: Some("foo_lowercase".into()),
            ..spec(Action::Lowercase)
        });
        assert_eq!(
            run(&[("foo", "bAr123Foo")], &[up.clone(), low.clone()]),
            Some(ls(&[
                ("foo", "bAr123Foo"),
                ("foo_lowercase", "bar123foo"),
                ("foo_uppercase", "BAR123FOO")
            ]))
        );
        // Go maps one character to one character: ß stays ß, İ becomes i.
        assert_eq!(go_uppercase("straße"), "STRAßE");
        assert_eq!(go_lowercase("İSTANBUL"), "istanbul");
        assert_eq!(go_lowercase("ΣΑΣ"), "σασ");
        // A missing source gives an empty value, which deletes the target.
        assert_eq!(
            run(&[("bar", "x"), ("foo_lowercase", "old")], &[low]),
            Some(ls(&[("bar", "x")]))
        );
    }

    #[test]
    fn keepequal_and_dropequal() {
        let input = [("__tmp_port", "1234"), ("__port1", "1234"), ("__port2", "5678")];
        let eq = |action, target: &str| {
            cfg(RelabelSpec {
                source_labels: vec!["__tmp_port".into()],
                target_label: Some(target.into()),
                ..spec(action)
            })
        };
        assert_eq!(run(&input, &[eq(Action::KeepEqual, "__port1")]), Some(ls(&input)));
        assert_eq!(run(&input, &[eq(Action::DropEqual, "__port1")]), None);
        assert_eq!(run(&input, &[eq(Action::DropEqual, "__port2")]), Some(ls(&input)));
        assert_eq!(run(&input, &[eq(Action::KeepEqual, "__port2")]), None);
        // A missing target equals an empty source value.
        assert_eq!(
            run(&[("x", "1")], &[eq(Action::KeepEqual, "missing")]),
            Some(ls(&[("x", "1")]))
        );
    }

    #[test]
    fn missing_and_empty_source_values() {
        // Missing labels count as empty strings, joined with the separator.
        let c = replace(&["a", "missing", "b"], "(.*)", "joined", "$1");
        assert_eq!(
            run(&[("a", "1"), ("b", "2")], &[c]),
            Some(ls(&[("a", "1"), ("b", "2"), ("joined", "1;;2")]))
        );
        // All empty: the default regex matches "", $1 is "", so the target is deleted.
        let c = replace(&["missing"], "(.*)", "a", "$1");
        assert_eq!(run(&[("a", "1"), ("b", "2")], &[c]), Some(ls(&[("b", "2")])));
        // A literal replacement on an empty value sets the label.
        let c = replace(&["missing"], "(.*)", "env", "prod");
        assert_eq!(run(&[("b", "2")], &[c]), Some(ls(&[("b", "2"), ("env", "prod")])));
        // keep with "" only matches an empty input.
        assert_eq!(
            run(&[("b", "2")], &[with_regex(Action::Keep, &["missing"], "")]),
            Some(ls(&[("b", "2")]))
        );
        assert_eq!(run(&[("b", "2")], &[with_regex(Action::Keep, &["b"], "")]), None);
        // No source labels at all: the input is the empty string.
        let c = replace(&[], "(.*)", "static", "value");
        assert_eq!(run(&[], &[c]), Some(ls(&[("static", "value")])));
    }

    #[test]
    fn custom_separator() {
        let c = cfg(RelabelSpec {
            source_labels: vec!["a".into(), "b".into()],
            separator: Some("::".into()),
            target_label: Some("c".into()),
            ..spec(Action::Replace)
        });
        assert_eq!(
            run(&[("a", "x"), ("b", "y")], &[c]),
            Some(ls(&[("a", "x"), ("b", "y"), ("c", "x::y")]))
        );
    }

    #[test]
    fn address_rewrite_from_the_docs() {
        // The classic Kubernetes example: replace the port of __address__ with an annotation.
        let c = replace(
            &["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
            r"([^:]+)(?::\d+)?;(\d+)",
            "__address__",
            "$1:$2",
        );
        assert_eq!(
            run(
                &[
                    ("__address__", "10.1.2.3:8080"),
                    ("__meta_kubernetes_pod_annotation_prometheus_io_port", "9102")
                ],
                &[c]
            ),
            Some(ls(&[
                ("__address__", "10.1.2.3:9102"),
                ("__meta_kubernetes_pod_annotation_prometheus_io_port", "9102"),
            ]))
        );
    }

    #[test]
    fn unsorted_input_is_sorted() {
        let mut labels = vec![("z".to_string(), "1".to_string()), ("a".to_string(), "2".to_string())];
        assert!(relabel(&mut labels, &[]));
        assert_eq!(labels, ls(&[("a", "2"), ("z", "1")]));
    }

    #[test]
    fn defaults() {
        let c = cfg(RelabelSpec {
            target_label: Some("t".into()),
            ..RelabelSpec::default()
        });
        assert_eq!(c.action(), Action::Replace);
        assert_eq!(c.separator(), ";");
        assert_eq!(c.regex().as_str(), "(.*)");
        assert_eq!(c.replacement(), "$1");
        assert_eq!(c.modulus(), 0);
        assert_eq!(c.target_label(), "t");
        assert!(c.source_labels().is_empty());
    }

    fn err(spec: RelabelSpec) -> String {
        RelabelConfig::new(spec).unwrap_err().to_string()
    }

    #[test]
    fn validation_messages_match_prometheus() {
        assert_eq!(
            err(RelabelSpec::default()),
            "relabel configuration for replace action requires 'target_label' value"
        );
        assert_eq!(
            err(spec(Action::Lowercase)),
            "relabel configuration for lowercase action requires 'target_label' value"
        );
        assert_eq!(
            err(RelabelSpec {
                target_label: Some("${3}".into()),
                ..spec(Action::Lowercase)
            }),
            r#""${3}" is invalid 'target_label' for lowercase action"#
        );
        assert_eq!(
            err(RelabelSpec {
                target_label: Some("0${3}".into()),
                ..spec(Action::Replace)
            }),
            r#""0${3}" is invalid 'target_label' for replace action"#
        );
        assert_eq!(
            err(RelabelSpec {
                target_label: Some("-${3}".into()),
                ..spec(Action::Replace)
            }),
            r#""-${3}" is invalid 'target_label' for replace action"#
        );
        assert_eq!(
            err(RelabelSpec {
                target_label: Some("t".into()),
                ..spec(Action::HashMod)
            }),
            "relabel configuration for hashmod requires non-zero modulus"
        );
        assert_eq!(
            err(RelabelSpec {
                target_label: Some("${1}".into()),
                modulus: Some(2),
                ..spec(Action::HashMod)
            }),
            r#""${1}" is invalid 'target_label' for hashmod action"#
        );
        assert_eq!(
            err(RelabelSpec {
                target_label: Some("t".into()),
                replacement: Some("x".into()),
                ..spec(Action::Uppercase)
            }),
            "'replacement' can not be set for uppercase action"
        );
        assert_eq!(
            err(RelabelSpec {
                replacement: Some("-x".into()),
                ..spec(Action::LabelMap)
            }),
            r#""-x" is invalid 'replacement' for labelmap action"#
        );
        assert_eq!(
            err(RelabelSpec {
                target_label: Some("t".into()),
                regex: Some("(.*)".into()),
                ..spec(Action::KeepEqual)
            }),
            "keepequal action requires only 'source_labels' and `target_label`, and no other fields"
        );
        assert_eq!(
            err(RelabelSpec {
                target_label: Some("t".into()),
                separator: Some(",".into()),
                ..spec(Action::DropEqual)
            }),
            "dropequal action requires only 'source_labels' and `target_label`, and no other fields"
        );
        for extra in [
            RelabelSpec {
                source_labels: vec!["a".into()],
                ..spec(Action::LabelDrop)
            },
            RelabelSpec {
                target_label: Some("a".into()),
                ..spec(Action::LabelDrop)
            },
            RelabelSpec {
                modulus: Some(3),
                ..spec(Action::LabelDrop)
            },
            RelabelSpec {
                replacement: Some("x".into()),
                ..spec(Action::LabelDrop)
            },
        ] {
            assert_eq!(
                err(extra),
                "labeldrop action requires only 'regex', and no other fields"
            );
        }
        assert_eq!(
            err(RelabelSpec {
                separator: Some(",".into()),
                ..spec(Action::LabelKeep)
            }),
            "labelkeep action requires only 'regex', and no other fields"
        );
        assert_eq!(
            err(RelabelSpec {
                source_labels: vec!["ok".into(), "not-ok".into()],
                ..spec(Action::Keep)
            }),
            r#""not-ok" is not a valid label name"#
        );
    }

    #[test]
    fn valid_configs_are_accepted() {
        for ok in [
            RelabelSpec {
                source_labels: vec!["a".into()],
                regex: Some("some-([^-]+)-([^,]+)".into()),
                replacement: Some("${1}".into()),
                target_label: Some("${3}".into()),
                ..spec(Action::Replace)
            },
            RelabelSpec {
                target_label: Some("t".into()),
                separator: Some(";".into()),
                replacement: Some("$1".into()),
                ..spec(Action::KeepEqual)
            },
            spec(Action::Keep),
            spec(Action::Drop),
            spec(Action::LabelMap),
            spec(Action::LabelKeep),
        ] {
            assert!(RelabelConfig::new(ok.clone()).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn invalid_regex_error() {
        let e = RelabelConfig::new(RelabelSpec {
            regex: Some("(abc".into()),
            ..spec(Action::Keep)
        })
        .unwrap_err();
        assert!(matches!(&e, RelabelConfigError::InvalidRegex { regex, .. } if regex == "(abc"));
        let msg = e.to_string();
        assert!(msg.starts_with(r#"invalid regex "(abc": "#), "{msg}");
        assert!(msg.contains("unclosed group"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        assert!(
            err(RelabelSpec {
                regex: Some("a{2,1}".into()),
                ..spec(Action::Keep)
            })
            .starts_with("invalid regex")
        );
    }

    #[test]
    fn target_template_validity() {
        for (s, valid) in [
            ("-label", false),
            ("label", true),
            ("label${1}", true),
            ("${1}label", true),
            ("${1}", true),
            ("${", false),
            ("$", false),
            ("${}", false),
            ("foo${", false),
            ("$1", true),
            ("asd$2asd", true),
            ("-foo${1}bar-", false),
            ("_${1}_", true),
            ("foo${bar}foo", true),
        ] {
            assert_eq!(is_valid_target_template(s), valid, "{s}");
        }
    }

    #[test]
    fn action_names() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
            assert_eq!(a.to_string().to_uppercase().parse::<Action>(), Ok(a));
        }
        assert_eq!(
            "replce".parse::<Action>().unwrap_err().to_string(),
            r#"unknown relabel action "replce""#
        );
    }
}
