//! Prometheus rule files into thresholds, and thresholds back into a rule file.
//!
//! An alerting rule `query > 0.8` becomes a threshold: the query is its measured value, `>` its
//! comparison and 0.8 its line (a number on the left, `0.8 < query`, is turned around); its `for`,
//! its `severity` label, its name and its `description` (or `summary`) annotation as the English
//! explanation come along. What has no place in a threshold is listed, not dropped silently:
//! other labels and annotations, group intervals. Any other expression (`absent(up)`, `a > b`)
//! becomes a threshold whose query is the condition itself. A recording rule becomes a
//! recording rule of the place, with its labels (those of the place excepted). The export
//! writes every recording rule and threshold of a client with its confined expression, a file
//! `promtool check rules` accepts.

use super::recording::{self, NewRecordingRule, RecordingRule};
use super::{Explanation, Explanations, NewThreshold, Threshold, insert};
use crate::tenancy::TenancyError;
use app::dto::{Comparison, ImportNote, RulesImported, SkipReason, THRESHOLD_SEVERITIES};
use sqlx::SqlitePool;
use vitrine_promql::{BinaryOp, Expr};
use vitrine_scrape_config::rule_file::{Rule, RuleKind, parse_rule_file};

#[derive(Debug, thiserror::Error)]
pub enum RuleImportError {
    /// The file cannot be read as a rule file (line, column and hint in the text).
    #[error("{0}")]
    File(#[from] vitrine_scrape_config::ImportError),
    /// A rule's expression is not PromQL.
    #[error("{rule} (line {line}, column {column}): {message}")]
    Expr {
        rule: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A label or annotation is not a template Prometheus can expand.
    #[error("{rule} (the rule at line {line}): {message}")]
    Template { rule: String, line: usize, message: String },
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
}

/// Where the imported thresholds go.
pub struct Destination {
    pub agency_id: i64,
    pub client_id: i64,
    pub project_id: i64,
    /// `None`: the whole project.
    pub environment_id: Option<i64>,
}

/// The measured value, the comparison and the line of `query op number` (or `number op
/// query`), parentheses around the whole looked through; `None` for anything else.
pub fn split_comparison(expr: &Expr) -> Option<(Expr, Comparison, f64)> {
    let Expr::Binary(binary) = expr else {
        if let Expr::Paren(inner) = expr {
            return split_comparison(&inner.expr);
        }
        return None;
    };
    if binary.return_bool {
        return None;
    }
    let comparison = |op: BinaryOp, flipped: bool| {
        Some(match (op, flipped) {
            (BinaryOp::Gtr, false) | (BinaryOp::Lss, true) => Comparison::Above,
            (BinaryOp::Gte, false) | (BinaryOp::Lte, true) => Comparison::AtLeast,
            (BinaryOp::Lss, false) | (BinaryOp::Gtr, true) => Comparison::Below,
            (BinaryOp::Lte, false) | (BinaryOp::Gte, true) => Comparison::AtMost,
            (BinaryOp::Eql, _) => Comparison::Equal,
            (BinaryOp::Neq, _) => Comparison::NotEqual,
            _ => return None,
        })
    };
    match (&*binary.lhs, &*binary.rhs) {
        (query, Expr::Number(n)) if !matches!(query, Expr::Number(_)) => {
            Some(((*binary.lhs).clone(), comparison(binary.op, false)?, n.value))
        }
        (Expr::Number(n), query) if !matches!(query, Expr::Number(_)) => {
            Some(((*binary.rhs).clone(), comparison(binary.op, true)?, n.value))
        }
        _ => None,
    }
}

/// A Grafana unit guessed from the metric names in the query.
fn guess_unit(query: &str) -> &'static str {
    // A rate of a seconds counter (CPU seconds) is a share of time, not a duration.
    let durations = query.replace("_seconds_total", "");
    if query.contains("_bytes") {
        "bytes"
    } else if durations.contains("_seconds") || durations.contains("duration") || durations.contains("latency") {
        "s"
    } else {
        "short"
    }
}

fn annotation<'a>(rule: &'a Rule, name: &str) -> Option<&'a str> {
    rule.annotations
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Imports the rules of a rule file into one place: alerting rules as thresholds, recording
/// rules as recording rules. Nothing is stored when the file or any rule's expression is wrong;
/// a rule whose name the place has already is skipped.
pub async fn import(db: &SqlitePool, destination: &Destination, text: &str) -> Result<RulesImported, RuleImportError> {
    let file = parse_rule_file(text)?;
    let mut imported = RulesImported::default();
    let mut new = Vec::new();
    let mut recordings = Vec::new();
    for (g, group) in file.groups.iter().enumerate() {
        if let Some(interval) = &group.interval {
            imported.notes.push(ImportNote::GroupInterval {
                group: group.name.clone(),
                interval: interval.to_string(),
            });
        }
        for (r, rule) in group.rules.iter().enumerate() {
            let path = format!("groups[{g}].rules[{r}].expr");
            let expr = vitrine_promql::parse(rule.expr.trim()).map_err(|e| RuleImportError::Expr {
                rule: path.clone(),
                line: rule.expr_line,
                column: rule.expr_column,
                message: e.to_string(),
            })?;
            // As `promtool check rules`: every label and annotation must be a valid template.
            for (part, (key, text)) in [("labels", &rule.labels), ("annotations", &rule.annotations)]
                .into_iter()
                .flat_map(|(part, list)| list.iter().map(move |entry| (part, entry)))
            {
                vitrine_promql::template::check(text).map_err(|e| RuleImportError::Template {
                    rule: format!("groups[{g}].rules[{r}].{part}.{key}"),
                    line: rule.line,
                    message: e.to_string(),
                })?;
            }
            let name = match &rule.kind {
                RuleKind::Record(record) => {
                    let (labels, reserved): (Vec<_>, Vec<_>) = rule
                        .labels
                        .iter()
                        .cloned()
                        .partition(|(n, _)| n != "project" && n != "environment");
                    for (label, _) in reserved {
                        imported.notes.push(ImportNote::Label {
                            rule: record.clone(),
                            label,
                        });
                    }
                    let mut labels = labels;
                    labels.sort();
                    recordings.push(NewRecordingRule {
                        agency_id: destination.agency_id,
                        client_id: destination.client_id,
                        project_id: destination.project_id,
                        environment_id: destination.environment_id,
                        record: record.clone(),
                        expr: vitrine_promql::print(&expr),
                        labels,
                    });
                    continue;
                }
                RuleKind::Alert(name) => name.clone(),
            };
            // Not `query > number`: the expression is the condition, as Prometheus reads it.
            let (query, comparator, value) = split_comparison(&expr).unwrap_or((expr, Comparison::Found, 0.0));
            let severity = rule
                .labels
                .iter()
                .find(|(n, _)| n == "severity")
                .map(|(_, v)| v.as_str())
                .filter(|s| THRESHOLD_SEVERITIES.contains(s))
                .unwrap_or("warning");
            for (label, _) in rule.labels.iter().filter(|(n, _)| n != "severity") {
                imported.notes.push(ImportNote::Label {
                    rule: name.clone(),
                    label: label.clone(),
                });
            }
            for (key, _) in rule
                .annotations
                .iter()
                .filter(|(n, _)| n != "summary" && n != "description")
            {
                imported.notes.push(ImportNote::Annotation {
                    rule: name.clone(),
                    annotation: key.clone(),
                });
            }
            let meaning = annotation(rule, "description")
                .or_else(|| annotation(rule, "summary"))
                .unwrap_or(&name)
                .trim()
                .to_string();
            let query = vitrine_promql::print(&query);
            if let Some(keep) = &rule.keep_firing_for {
                imported.notes.push(ImportNote::KeepFiringFor {
                    rule: name.clone(),
                    duration: keep.to_string(),
                });
            }
            let for_secs = rule
                .for_duration
                .map_or(0, |d| u32::try_from(d.as_millis() / 1000).unwrap_or(u32::MAX));
            new.push(NewThreshold {
                agency_id: destination.agency_id,
                client_id: destination.client_id,
                project_id: destination.project_id,
                environment_id: destination.environment_id,
                name,
                template: None,
                unit: guess_unit(&query).to_string(),
                expr: query,
                comparator,
                value,
                warning: None,
                for_secs,
                severity: severity.to_string(),
                explanations: Explanations {
                    en: Explanation {
                        meaning,
                        ..Explanation::default()
                    },
                    ..Explanations::default()
                },
            });
        }
    }
    for rule in recordings {
        match recording::insert(db, &rule).await {
            Ok(Some(_)) => imported.recorded.push(rule.record),
            Ok(None) => imported.skipped.push((rule.record, SkipReason::TooMany)),
            Err(TenancyError::Duplicate) => imported.skipped.push((rule.record, SkipReason::Exists)),
            Err(e) => return Err(e.into()),
        }
    }
    for threshold in new {
        match insert(db, &threshold).await {
            Ok(_) => imported.created.push(threshold.name),
            Err(TenancyError::Duplicate) => imported.skipped.push((threshold.name, SkipReason::Exists)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(imported)
}

/// Quotes a YAML scalar (as a JSON string, which YAML reads the same).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// A group of the exported file: its name, its recording rules and its thresholds.
type Group<'a> = (String, Vec<&'a RecordingRule>, Vec<&'a Threshold>);

/// The group of the place (`project/environment` or `project/*`), added when new.
fn group_of<'g, 'a>(groups: &'g mut Vec<Group<'a>>, project: &str, environment: Option<&str>) -> &'g mut Group<'a> {
    let name = format!("{project}/{}", environment.unwrap_or("*"));
    let i = match groups.iter().position(|(n, _, _)| *n == name) {
        Some(i) => i,
        None => {
            groups.push((name, Vec::new(), Vec::new()));
            groups.len() - 1
        }
    };
    &mut groups[i]
}

/// The recording rules and thresholds as a Prometheus rule file: a group per project and
/// environment, its recording rules first (in the order they run) with their confined
/// expression and labels (the place's among them), then each threshold an alerting rule with its
/// confined expression, `for`, severity and explanation.
pub fn export(recordings: &[RecordingRule], thresholds: &[Threshold]) -> String {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for r in recordings {
        group_of(&mut groups, &r.project, r.environment.as_deref()).1.push(r);
    }
    for t in thresholds {
        group_of(&mut groups, &t.project, t.environment.as_deref()).2.push(t);
    }
    let mut out = String::from("groups:\n");
    for (name, recorded, list) in groups {
        out.push_str(&format!("  - name: {}\n    rules:\n", quoted(&name)));
        for r in recorded {
            let expr = r
                .confined()
                .map(|e| vitrine_promql::print(&e))
                .unwrap_or_else(|_| r.expr.clone());
            out.push_str(&format!("      - record: {}\n", quoted(&r.record)));
            out.push_str(&format!("        expr: {}\n", quoted(&expr)));
            out.push_str("        labels:\n");
            let mut labels = r.labels.clone();
            labels.push(("project".into(), r.project.clone()));
            if let Some(environment) = &r.environment {
                labels.push(("environment".into(), environment.clone()));
            }
            labels.sort();
            for (label, value) in labels {
                out.push_str(&format!("          {label}: {}\n", quoted(&value)));
            }
        }
        for t in list {
            let expr = t
                .rule_expr()
                .map(|e| vitrine_promql::print(&e))
                .unwrap_or_else(|_| t.expr.clone());
            let text = t.explanations.for_language("en");
            out.push_str(&format!("      - alert: {}\n", quoted(&t.name)));
            out.push_str(&format!("        expr: {}\n", quoted(&expr)));
            if t.for_secs > 0 {
                out.push_str(&format!("        for: {}s\n", t.for_secs));
            }
            if t.keep_firing_for_secs > 0 {
                out.push_str(&format!("        keep_firing_for: {}s\n", t.keep_firing_for_secs));
            }
            out.push_str(&format!(
                "        labels:\n          severity: {}\n",
                quoted(&t.severity)
            ));
            out.push_str(&format!(
                "        annotations:\n          summary: {}\n          description: {}\n",
                quoted(&t.name),
                quoted(&text.meaning)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Option<(String, Comparison, f64)> {
        let expr = vitrine_promql::parse(text).unwrap();
        split_comparison(&expr).map(|(q, c, v)| (vitrine_promql::print(&q), c, v))
    }

    #[test]
    fn a_comparison_with_a_number_is_a_threshold() {
        assert_eq!(
            split("rate(process_cpu_seconds_total[5m]) > 0.8"),
            Some(("rate(process_cpu_seconds_total[5m])".into(), Comparison::Above, 0.8))
        );
        assert_eq!(split("(up == 0)"), Some(("up".into(), Comparison::Equal, 0.0)));
        assert_eq!(split("10 < queue"), Some(("queue".into(), Comparison::Above, 10.0)));
        assert_eq!(split("1.5e9 >= mem"), Some(("mem".into(), Comparison::AtMost, 1.5e9)));
        for other in ["up > bool 0", "absent(up)", "a > b", "up and on() hour() > 8", "up + 1"] {
            assert_eq!(split(other), None, "{other}");
        }
    }

    #[test]
    fn units_are_guessed_from_the_metric_names() {
        assert_eq!(guess_unit("process_resident_memory_bytes"), "bytes");
        assert_eq!(
            guess_unit("histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))"),
            "s"
        );
        assert_eq!(guess_unit("rate(http_requests_total[5m])"), "short");
        assert_eq!(guess_unit("rate(process_cpu_seconds_total[5m])"), "short");
    }
}
