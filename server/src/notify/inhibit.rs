//! Inhibition rules as Alertmanager 0.25 applies them: while an alert that matches a rule's
//! source matchers fires, the client is not told of alerts that match its target matchers and
//! have the same values for every label of `equal` (an alert matching both is not quieted by
//! itself). A client's rules are set by agency people on its channels page or come from the
//! `inhibit_rules` of an imported alertmanager.yml; they quiet alerts as a silence does, so
//! what was told still ends with its all-clear.

use crate::tenancy::{FormCheck, TenancyError};
use app::dto::{FieldProblem, InhibitRuleView};
use sqlx::{SqliteConnection, SqlitePool};
use vitrine_promql::{Expr, Labels, Matcher};

/// The most rules one client may have.
pub const MAX_RULES: usize = 50;

/// One rule, its matchers compiled.
#[derive(Clone, Debug)]
pub struct InhibitRule {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels.value(&m.name)))
}

impl InhibitRule {
    /// Whether `source` (firing) quiets `target` under this rule.
    fn quiets(&self, source: &Labels, target: &Labels) -> bool {
        source != target
            && all_match(&self.target, target)
            && all_match(&self.source, source)
            && self.equal.iter().all(|name| source.value(name) == target.value(name))
    }
}

/// The alerts of `firing` that quiet an alert with `labels` under one of `rules` (Alertmanager's
/// `inhibitedBy`); empty: it is told.
pub fn inhibited_by<'a>(rules: &[InhibitRule], firing: &'a [Labels], labels: &Labels) -> Vec<&'a Labels> {
    firing
        .iter()
        .filter(|source| rules.iter().any(|rule| rule.quiets(source, labels)))
        .collect()
}

/// Matchers as Alertmanager writes them in a list or between braces: `severity="critical"`,
/// `{alertname=~"Disk.*", environment!="stage"}`; one at least, each well formed.
pub fn parse_matchers(raw: &str) -> Result<Vec<Matcher>, FieldProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldProblem::Required);
    }
    let braced = if raw.starts_with('{') {
        raw.to_string()
    } else {
        format!("{{{raw}}}")
    };
    match vitrine_promql::parse(&braced) {
        Ok(Expr::VectorSelector(selector)) if selector.name.is_empty() && !selector.matchers.is_empty() => {
            Ok(selector.matchers)
        }
        _ => Err(FieldProblem::InvalidMatchers),
    }
}

/// Label names separated by commas or spaces.
fn parse_equal(raw: &str) -> Result<Vec<String>, FieldProblem> {
    let names: Vec<String> = raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    let valid = |n: &String| {
        n.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match names.iter().all(valid) {
        true => Ok(names),
        false => Err(FieldProblem::InvalidLabelName),
    }
}

fn written(matchers: &[Matcher]) -> String {
    matchers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// A new rule of the form's `source`, `target` and `equal`.
pub fn from_form(form: &[(String, String)]) -> crate::tenancy::Result<NewRule> {
    let mut check = FormCheck::new(form);
    let source = check.field("source", parse_matchers);
    let target = check.field("target", parse_matchers);
    let equal = check.field("equal", parse_equal);
    check.finish(|| {
        Some(NewRule {
            source: written(&source?),
            target: written(&target?),
            equal: equal?,
        })
    })
}

/// A rule to store: the matchers as written back, the label names.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRule {
    pub source: String,
    pub target: String,
    pub equal: Vec<String>,
}

impl NewRule {
    /// The rule of matchers already read (from an Alertmanager configuration).
    pub fn of(source: &[Matcher], target: &[Matcher], equal: &[String]) -> NewRule {
        NewRule {
            source: written(source),
            target: written(target),
            equal: equal.to_vec(),
        }
    }
}

/// Stores a rule for the client; `None` when it has [`MAX_RULES`] already.
pub async fn insert(conn: &mut SqliteConnection, client_id: i64, rule: &NewRule) -> Result<Option<i64>, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inhibit_rules WHERE client_id = ?")
        .bind(client_id)
        .fetch_one(&mut *conn)
        .await?;
    if count >= MAX_RULES as i64 {
        return Ok(None);
    }
    sqlx::query_scalar(
        "INSERT INTO inhibit_rules (client_id, source, target, equal, created_ms) VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(client_id)
    .bind(&rule.source)
    .bind(&rule.target)
    .bind(rule.equal.join(","))
    .bind(crate::store::now_ms())
    .fetch_one(conn)
    .await
    .map(Some)
}

/// Removes one of the client's rules; another client's is the same `NotFound`.
pub async fn delete(db: &SqlitePool, client_id: i64, id: i64) -> crate::tenancy::Result<()> {
    let done = sqlx::query("DELETE FROM inhibit_rules WHERE id = ? AND client_id = ?")
        .bind(id)
        .bind(client_id)
        .execute(db)
        .await?;
    match done.rows_affected() {
        0 => Err(TenancyError::NotFound),
        _ => Ok(()),
    }
}

async fn rows(conn: &mut SqliteConnection, client_id: i64) -> Result<Vec<(i64, String, String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, source, target, equal FROM inhibit_rules WHERE client_id = ? ORDER BY id")
        .bind(client_id)
        .fetch_all(conn)
        .await
}

fn equal_of(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// The client's rules, compiled (a stored rule that no longer reads is left out).
pub async fn of_client(conn: &mut SqliteConnection, client_id: i64) -> Result<Vec<InhibitRule>, sqlx::Error> {
    Ok(rows(conn, client_id)
        .await?
        .into_iter()
        .filter_map(|(_, source, target, equal)| {
            Some(InhibitRule {
                source: parse_matchers(&source).ok()?,
                target: parse_matchers(&target).ok()?,
                equal: equal_of(&equal),
            })
        })
        .collect())
}

/// The client's rules as its channels page lists them.
pub async fn views(conn: &mut SqliteConnection, client_id: i64) -> Result<Vec<InhibitRuleView>, sqlx::Error> {
    Ok(rows(conn, client_id)
        .await?
        .into_iter()
        .map(|(id, source, target, equal)| InhibitRuleView {
            id,
            source,
            target,
            equal: equal_of(&equal),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs)
    }

    fn rule(source: &str, target: &str, equal: &[&str]) -> InhibitRule {
        InhibitRule {
            source: parse_matchers(source).unwrap(),
            target: parse_matchers(target).unwrap(),
            equal: equal.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_firing_source_quiets_targets_with_the_same_equal_labels_only() {
        let rules = [rule(
            r#"alertname="Site down""#,
            r#"{severity=~"warning|critical"}"#,
            &["environment"],
        )];
        let down_live = labels(&[
            ("alertname", "Site down"),
            ("environment", "live"),
            ("severity", "critical"),
        ]);
        let slow_live = labels(&[
            ("alertname", "Slow pages"),
            ("environment", "live"),
            ("severity", "warning"),
        ]);
        let slow_stage = labels(&[
            ("alertname", "Slow pages"),
            ("environment", "stage"),
            ("severity", "warning"),
        ]);
        let firing = [down_live.clone(), slow_stage.clone()];
        assert_eq!(inhibited_by(&rules, &firing, &slow_live), [&down_live]);
        assert!(inhibited_by(&rules, &firing, &slow_stage).is_empty());
        // The source matches the target matchers too, but does not quiet itself.
        assert!(inhibited_by(&rules, &firing, &down_live).is_empty());
        // Nothing fires: nothing is quiet.
        assert!(inhibited_by(&rules, &[], &slow_live).is_empty());
    }

    #[test]
    fn the_form_reads_alertmanager_matchers_and_label_names() {
        let form: Vec<(String, String)> = [
            ("source", r#"severity="critical""#),
            ("target", r#"{severity="warning", alertname!~"Backup.*"}"#),
            ("equal", "project, environment"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .to_vec();
        let rule = from_form(&form).unwrap();
        assert_eq!(rule.source, r#"severity="critical""#);
        assert_eq!(rule.target, r#"severity="warning", alertname!~"Backup.*""#);
        assert_eq!(rule.equal, ["project", "environment"]);
        for (source, equal) in [("severity=", ""), ("", ""), ("up", ""), (r#"a="b""#, "2x")] {
            let form: Vec<(String, String)> = [("source", source), ("target", r#"a="b""#), ("equal", equal)]
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .to_vec();
            assert!(from_form(&form).is_err(), "{source:?} {equal:?}");
        }
    }
}
