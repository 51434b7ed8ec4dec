//! Prometheus rule files (`groups:` of alerting and recording rules), read as Prometheus'
//! `rulefmt` reads them: strict about unknown keys, every error with a line, a column and a
//! hint. The expressions are kept as text: the caller parses them as PromQL.

use crate::PromDuration;
use crate::import::{ImportError, duration, entries, invalid, items, join, load, string};
use crate::labels::is_valid_label_name;
use crate::yaml::Node;

/// A rule file: its groups in order.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    /// The groups, in the file's order.
    pub groups: Vec<RuleGroup>,
}

/// One group of rules, evaluated together at its interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    /// Unique in the file.
    pub name: String,
    /// `None`: the global evaluation interval.
    pub interval: Option<PromDuration>,
    /// The rules, in order.
    pub rules: Vec<Rule>,
}

/// What a rule makes.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// An alerting rule and its alert's name.
    Alert(String),
    /// A recording rule and the series name it writes.
    Record(String),
}

/// One rule as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Alert or record, and its name.
    pub kind: RuleKind,
    /// The PromQL expression as written.
    pub expr: String,
    /// Where the expression starts (1-based), for the caller's PromQL errors.
    pub expr_line: usize,
    /// The column of the expression's start (1-based).
    pub expr_column: usize,
    /// `for` of an alerting rule.
    pub for_duration: Option<PromDuration>,
    /// `keep_firing_for` of an alerting rule.
    pub keep_firing_for: Option<PromDuration>,
    /// Extra labels, in the file's order.
    pub labels: Vec<(String, String)>,
    /// Annotations of an alerting rule, in the file's order.
    pub annotations: Vec<(String, String)>,
    /// Where the rule starts (1-based).
    pub line: usize,
}

fn text_map(node: &Node, path: &str, what: &str, check_names: bool) -> Result<Vec<(String, String)>, ImportError> {
    let mut out = Vec::new();
    for (key, value) in entries(node, path, what)? {
        let name = key.key_text();
        if check_names && !is_valid_label_name(&name) {
            return Err(invalid(
                &join(path, &name),
                key,
                format!("invalid label name: {name}"),
                "label names start with a letter or _ and contain only letters, digits and _",
            ));
        }
        out.push((name.clone(), string(value, &join(path, &name))?.unwrap_or_default()));
    }
    Ok(out)
}

/// Whether `name` is a metric name Prometheus accepts (`[a-zA-Z_:][a-zA-Z0-9_:]*`), as a
/// recording rule's `record` must be.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn rule(node: &Node, path: &str) -> Result<Rule, ImportError> {
    let mut alert = None;
    let mut record = None;
    let mut expr = None;
    let mut for_duration = None;
    let mut keep_firing_for = None;
    let mut labels = Vec::new();
    let mut annotations = Vec::new();
    for (key, value) in entries(node, path, "a rule")? {
        let name = key.key_text();
        let at = join(path, &name);
        match name.as_str() {
            "alert" => alert = Some((string(value, &at)?.unwrap_or_default(), key)),
            "record" => record = Some((string(value, &at)?.unwrap_or_default(), key)),
            "expr" => expr = Some((string(value, &at)?.unwrap_or_default(), value)),
            "for" => for_duration = Some((duration(value, &at)?, key)),
            "keep_firing_for" => keep_firing_for = Some((duration(value, &at)?, key)),
            "labels" => labels = text_map(value, &at, "the rule's labels", true)?,
            "annotations" => annotations = text_map(value, &at, "the rule's annotations", false)?,
            _ => {
                return Err(invalid(
                    &at,
                    key,
                    format!("field {name} not found in type rulefmt.Rule"),
                    "a rule has alert or record, expr, and for, keep_firing_for, labels, annotations",
                ));
            }
        }
    }
    let kind = match (alert, record) {
        (Some(_), Some((_, key))) => {
            return Err(invalid(
                path,
                key,
                "only one of 'record' and 'alert' must be set",
                "a rule either records a series or raises an alert: split it into two rules",
            ));
        }
        (None, None) => {
            return Err(invalid(
                path,
                node,
                "one of 'record' or 'alert' must be set",
                "start the rule with `- alert: Name` or `- record: name`",
            ));
        }
        (Some((name, key)), None) => {
            if name.trim().is_empty() {
                return Err(invalid(
                    &join(path, "alert"),
                    key,
                    "alert name must not be empty",
                    "name the alert",
                ));
            }
            RuleKind::Alert(name)
        }
        (None, Some((name, key))) => {
            if !is_valid_metric_name(&name) {
                return Err(invalid(
                    &join(path, "record"),
                    key,
                    format!("invalid recording rule name: {name}"),
                    "a recorded series is named like a metric: letters, digits, _ and :, e.g. job:errors:rate5m",
                ));
            }
            if let Some((_, key)) = &for_duration {
                return Err(invalid(
                    &join(path, "for"),
                    key,
                    "invalid field 'for' in recording rule",
                    "only alerting rules wait: remove `for`",
                ));
            }
            if !annotations.is_empty() {
                return Err(invalid(
                    &join(path, "annotations"),
                    node,
                    "invalid field 'annotations' in recording rule",
                    "only alerting rules have annotations: remove them",
                ));
            }
            RuleKind::Record(name)
        }
    };
    let Some((expr, expr_node)) = expr.filter(|(e, _)| !e.trim().is_empty()) else {
        return Err(invalid(
            &join(path, "expr"),
            node,
            "field 'expr' must be set in rule",
            "add `expr:` with the PromQL query of the rule",
        ));
    };
    Ok(Rule {
        kind,
        expr,
        expr_line: expr_node.line,
        expr_column: expr_node.column,
        for_duration: for_duration.and_then(|(d, _)| d),
        keep_firing_for: keep_firing_for.and_then(|(d, _)| d),
        labels,
        annotations,
        line: node.line,
    })
}

/// Reads a Prometheus rule file (`groups:` with `name`, `interval`, `rules`).
///
/// ```
/// use vitrine_scrape_config::rule_file::{parse_rule_file, RuleKind};
/// let file = parse_rule_file("groups:\n  - name: shop\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 5m\n").unwrap();
/// assert_eq!(file.groups[0].rules[0].kind, RuleKind::Alert("Down".into()));
/// assert_eq!(file.groups[0].rules[0].for_duration.unwrap().to_string(), "5m");
/// let err = parse_rule_file("groups:\n  - name: shop\n    rules:\n      - alert: Down\n        exp: up\n").unwrap_err();
/// assert_eq!((err.line(), err.column()), (5, 9));
/// ```
pub fn parse_rule_file(text: &str) -> Result<RuleFile, ImportError> {
    let Some(root) = load(text, "groups")? else {
        return Ok(RuleFile { groups: Vec::new() });
    };
    let mut groups_node = None;
    for (key, value) in entries(&root, "", "the top level of a rule file")? {
        match key.key_text().as_str() {
            "groups" => groups_node = Some(value),
            other => {
                return Err(invalid(
                    other,
                    key,
                    format!("field {other} not found in type rulefmt.RuleGroups"),
                    "a rule file has one top-level key, `groups:`",
                ));
            }
        }
    }
    let mut groups: Vec<RuleGroup> = Vec::new();
    let Some(list) = groups_node else {
        return Ok(RuleFile { groups });
    };
    for (i, item) in items(list, "groups", "a list of rule groups")?.iter().enumerate() {
        let path = format!("groups[{i}]");
        let mut name = None;
        let mut interval = None;
        let mut rules = Vec::new();
        for (key, value) in entries(item, &path, "a rule group")? {
            let field = key.key_text();
            let at = join(&path, &field);
            match field.as_str() {
                "name" => name = Some((string(value, &at)?.unwrap_or_default(), key)),
                "interval" => interval = duration(value, &at)?,
                "rules" => {
                    for (j, rule_node) in items(value, &at, "a list of rules")?.iter().enumerate() {
                        rules.push(rule(rule_node, &format!("{at}[{j}]"))?);
                    }
                }
                "limit" => {}
                _ => {
                    return Err(invalid(
                        &at,
                        key,
                        format!("field {field} not found in type rulefmt.RuleGroup"),
                        "a group has name, interval, limit and rules",
                    ));
                }
            }
        }
        let Some((name, key)) = name.filter(|(n, _)| !n.trim().is_empty()) else {
            return Err(invalid(
                &path,
                item,
                "Groupname must not be empty",
                "give the group a `name:`",
            ));
        };
        if groups.iter().any(|g| g.name == name) {
            return Err(invalid(
                &join(&path, "name"),
                key,
                format!("groupname: \"{name}\" is repeated in the same file"),
                "group names must be unique: rename one of them",
            ));
        }
        groups.push(RuleGroup { name, interval, rules });
    }
    Ok(RuleFile { groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_rules_read_as_written() {
        let text = "groups:\n  - name: valeo-neuroerp\n    rules:\n      - alert: HighCPUUsage\n        expr: rate(process_cpu_seconds_total[5m]) > 0.8\n        for: 5m\n        labels:\n          severity: warning\n        annotations:\n          summary: High CPU usage detected\n      - record: job:cpu:rate5m\n        expr: sum by (job) (rate(process_cpu_seconds_total[5m]))\n";
        let file = parse_rule_file(text).unwrap();
        let group = &file.groups[0];
        assert_eq!(group.name, "valeo-neuroerp");
        let alert = &group.rules[0];
        assert_eq!(alert.kind, RuleKind::Alert("HighCPUUsage".into()));
        assert_eq!(alert.expr, "rate(process_cpu_seconds_total[5m]) > 0.8");
        assert_eq!((alert.expr_line, alert.expr_column), (5, 15));
        assert_eq!(alert.labels, [("severity".to_string(), "warning".to_string())]);
        assert_eq!(alert.annotations[0].1, "High CPU usage detected");
        assert_eq!(group.rules[1].kind, RuleKind::Record("job:cpu:rate5m".into()));
    }

    #[test]
    fn mistakes_are_refused_with_their_place() {
        let refused = |text: &str| parse_rule_file(text).unwrap_err();
        let both = refused("groups:\n- name: a\n  rules:\n  - alert: A\n    record: a\n    expr: up\n");
        assert!(both.message().contains("only one of 'record' and 'alert'"), "{both}");
        let none = refused("groups:\n- name: a\n  rules:\n  - expr: up\n");
        assert!(
            none.message().contains("one of 'record' or 'alert' must be set"),
            "{none}"
        );
        let no_expr = refused("groups:\n- name: a\n  rules:\n  - alert: A\n");
        assert!(no_expr.message().contains("field 'expr' must be set"), "{no_expr}");
        let twice = refused("groups:\n- name: a\n- name: a\n");
        assert!(twice.message().contains("is repeated in the same file"), "{twice}");
        assert_eq!(twice.line(), 3);
        let bad_record = refused("groups:\n- name: a\n  rules:\n  - record: 'a b'\n    expr: up\n");
        assert!(
            bad_record.message().contains("invalid recording rule name"),
            "{bad_record}"
        );
        let record_for = refused("groups:\n- name: a\n  rules:\n  - record: a\n    expr: up\n    for: 5m\n");
        assert!(record_for.message().contains("invalid field 'for'"), "{record_for}");
        let bad_label = refused("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    labels:\n      1x: y\n");
        assert!(bad_label.message().contains("invalid label name"), "{bad_label}");
        let syntax = refused("groups:\n- name: a\n  rules: [\n");
        assert!(matches!(syntax, ImportError::Syntax { .. }), "{syntax}");
        assert!(parse_rule_file("").unwrap().groups.is_empty());
    }
}
