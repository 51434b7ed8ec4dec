//! Recording rules as Prometheus evaluates them: at every round a client's rules run one after
//! the other (so a later rule reads what an earlier one wrote, as in a Prometheus rule group)
//! before its thresholds, each expression confined to its project and environment, and the
//! result is written back into the client's store as the series `record`, with the rule's labels
//! and its place's (a figure summed over a whole environment stays in that environment). A
//! series the rule no longer gives gets a staleness marker. Agency people add and remove them
//! on the thresholds page, and imported rule files bring theirs.

use super::confine::{self, Place};
use crate::tenancy::scope::{Caller, ScopedClient};
use crate::tenancy::{FormCheck, Result, TenancyError, is_unique_violation};
use app::dto::FieldProblem;
use sqlx::SqlitePool;
use vitrine_promql::{Expr, Labels, MatchOp, Value, ValueType};
use vitrine_scrape_config::rule_file::is_valid_metric_name;

/// The most recording rules one client may have.
pub const MAX_RULES: i64 = 200;

/// The labels a rule may not set: its place sets them.
const RESERVED: [&str; 3] = ["__name__", "project", "environment"];

/// One stored rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordingRule {
    pub id: i64,
    pub client_id: i64,
    pub project: String,
    /// `None`: every environment of the project.
    pub environment: Option<String>,
    /// The name of the series written.
    pub record: String,
    /// As written.
    pub expr: String,
    /// Set on every series written, sorted by name.
    pub labels: Vec<(String, String)>,
}

impl RecordingRule {
    /// The expression as it is evaluated: confined to the rule's place.
    pub fn confined(&self) -> std::result::Result<Expr, String> {
        let mut expr = vitrine_promql::parse(&self.expr).map_err(|e| e.to_string())?;
        confine::confine(
            &mut expr,
            &Place {
                project: &self.project,
                environment: self.environment.as_deref(),
            },
        );
        Ok(expr)
    }

    /// The series written for one of the result's: named `record`, with the rule's labels, and
    /// the place's (which the result may have lost to an aggregation).
    fn recorded(&self, result: &Labels) -> Labels {
        let mut labels = result.clone();
        labels.set("__name__", &self.record);
        for (name, value) in &self.labels {
            labels.set(name, value);
        }
        labels.set("project", &self.project);
        if let Some(environment) = &self.environment {
            labels.set("environment", environment);
        }
        labels
    }

    /// What the rule writes of an evaluation's result: each series' labels and value. A
    /// scalar is one series without labels (as Prometheus records it); two series that end up
    /// with the same labels are an error, as in Prometheus.
    pub fn samples(&self, value: Value) -> std::result::Result<Vec<(Labels, f64)>, String> {
        let samples: Vec<(Labels, f64)> = match value {
            Value::Vector(samples) => samples.into_iter().map(|s| (self.recorded(&s.labels), s.v)).collect(),
            Value::Scalar { v, .. } => vec![(self.recorded(&Labels::empty()), v)],
            _ => return Err("the expression gives neither series nor a number".into()),
        };
        let mut seen = std::collections::HashSet::with_capacity(samples.len());
        match samples.iter().find(|(labels, _)| !seen.insert(labels)) {
            Some((labels, _)) => Err(format!(
                "vector contains metrics with the same labelset after applying rule labels: {labels}"
            )),
            None => Ok(samples),
        }
    }
}

/// A rule to store, checked already.
#[derive(Clone, Debug)]
pub struct NewRecordingRule {
    pub agency_id: i64,
    pub client_id: i64,
    pub project_id: i64,
    pub environment_id: Option<i64>,
    pub record: String,
    pub expr: String,
    pub labels: Vec<(String, String)>,
}

/// A series name as Prometheus allows it for a recording rule (`job:http_requests:rate5m`).
fn parse_record(raw: &str) -> std::result::Result<String, FieldProblem> {
    let raw = raw.trim();
    match raw {
        "" => Err(FieldProblem::Required),
        _ if is_valid_metric_name(raw) => Ok(raw.to_string()),
        _ => Err(FieldProblem::InvalidMetricName),
    }
}

/// A PromQL expression whose value is series or a number.
pub fn parse_expr(raw: &str) -> std::result::Result<String, FieldProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldProblem::Required);
    }
    match vitrine_promql::parse(raw) {
        Ok(expr) if matches!(expr.value_type(), ValueType::Vector | ValueType::Scalar) => Ok(raw.to_string()),
        _ => Err(FieldProblem::InvalidQuery),
    }
}

/// Labels as `team="web", tier="1"` (braces optional; none at all is fine), sorted by name; the
/// labels of the place and the metric name are not the rule's to set.
pub fn parse_labels(raw: &str) -> std::result::Result<Vec<(String, String)>, FieldProblem> {
    if raw.trim().is_empty() {
        return Ok(Vec::new());
    }
    let matchers = crate::notify::inhibit::parse_matchers(raw).map_err(|_| FieldProblem::InvalidLabels)?;
    let mut labels = Vec::with_capacity(matchers.len());
    for m in matchers {
        if m.op != MatchOp::Equal || RESERVED.contains(&m.name.as_str()) {
            return Err(FieldProblem::InvalidLabels);
        }
        labels.push((m.name, m.value));
    }
    labels.sort();
    labels.dedup_by(|a, b| a.0 == b.0);
    Ok(labels)
}

fn labels_json(labels: &[(String, String)]) -> String {
    serde_json::to_string(labels).unwrap_or_default()
}

/// Stores a rule; the same name and labels in the same place is [`TenancyError::Duplicate`],
/// `None` when the client has [`MAX_RULES`] already.
pub async fn insert(db: &SqlitePool, rule: &NewRecordingRule) -> Result<Option<i64>> {
    let mut tx = crate::db::write(db).await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recording_rules WHERE client_id = ?")
        .bind(rule.client_id)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_RULES {
        return Ok(None);
    }
    let inserted = sqlx::query_scalar(
        "INSERT INTO recording_rules (agency_id, client_id, project_id, environment_id, record, expr, labels,
             created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(rule.agency_id)
    .bind(rule.client_id)
    .bind(rule.project_id)
    .bind(rule.environment_id)
    .bind(&rule.record)
    .bind(&rule.expr)
    .bind(labels_json(&rule.labels))
    .bind(crate::store::now_ms())
    .fetch_one(&mut *tx)
    .await;
    match inserted {
        Ok(id) => {
            tx.commit().await?;
            Ok(Some(id))
        }
        Err(e) if is_unique_violation(&e) => Err(TenancyError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// Creates a recording rule of the client from the form: `place` (`project/environment` or
/// `project/*`), `record`, `expr` and `labels`; agency people only.
pub async fn create(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    form: &[(String, String)],
) -> Result<String> {
    if !caller.role.is_agency() {
        return Err(TenancyError::Forbidden);
    }
    let mut check = FormCheck::new(form);
    let record = check.field("record", parse_record);
    let expr = check.field("expr", parse_expr);
    let labels = check.field("labels", parse_labels);
    let place_raw = form.iter().find(|(n, _)| n == "place").map_or("", |(_, v)| v.as_str());
    let place = super::place_of(db, client, place_raw).await?;
    if place.is_none() {
        check.problem("place", FieldProblem::InvalidChoice);
    }
    let (record, expr, labels, (project_id, environment_id)) =
        check.finish(|| Some((record?, expr?, labels?, place?)))?;
    let rule = NewRecordingRule {
        agency_id: client.agency_id,
        client_id: client.id,
        project_id,
        environment_id,
        record,
        expr,
        labels,
    };
    match insert(db, &rule).await {
        Ok(Some(_)) => Ok(rule.record),
        Ok(None) => Err(FormCheck::new(form).fail("record", FieldProblem::TooMany)),
        Err(TenancyError::Duplicate) => Err(FormCheck::new(form).fail("record", FieldProblem::Taken)),
        Err(e) => Err(e),
    }
}

/// Removes one of the client's rules (agency people); another client's is the same
/// `NotFound`. Returns the name of the series it wrote.
pub async fn delete(db: &SqlitePool, caller: &Caller, client: &ScopedClient, id: i64) -> Result<String> {
    if !caller.role.is_agency() {
        return Err(TenancyError::Forbidden);
    }
    let record: Option<String> =
        sqlx::query_scalar("DELETE FROM recording_rules WHERE id = ? AND client_id = ? RETURNING record")
            .bind(id)
            .bind(client.id)
            .fetch_optional(db)
            .await?;
    record.ok_or(TenancyError::NotFound)
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    client_id: i64,
    project: String,
    environment: Option<String>,
    record: String,
    expr: String,
    labels: String,
}

impl Row {
    fn into_rule(self) -> RecordingRule {
        RecordingRule {
            id: self.id,
            client_id: self.client_id,
            project: self.project,
            environment: self.environment,
            record: self.record,
            expr: self.expr,
            labels: serde_json::from_str(&self.labels).unwrap_or_default(),
        }
    }
}

const SELECT: &str = "SELECT r.id, r.client_id, p.slug AS project, e.name AS environment, r.record, r.expr, r.labels
     FROM recording_rules r
     JOIN projects p ON p.id = r.project_id
     LEFT JOIN environments e ON e.id = r.environment_id";

/// Every rule of every client, in the order they run (by client, then as added).
pub async fn all(db: &SqlitePool) -> Result<Vec<RecordingRule>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} ORDER BY r.client_id, r.id"))
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(Row::into_rule).collect())
}

/// The rules of a client, in the order they run. `client_id` is the caller's own: a
/// [`ScopedClient`]'s id, or the client of a verified API token.
pub async fn of_client(db: &SqlitePool, client_id: i64) -> Result<Vec<RecordingRule>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} WHERE r.client_id = ? ORDER BY r.id"))
        .bind(client_id)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(Row::into_rule).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitrine_promql::eval::Sample;

    fn rule(environment: Option<&str>, labels: &[(&str, &str)]) -> RecordingRule {
        RecordingRule {
            id: 1,
            client_id: 1,
            project: "shop".into(),
            environment: environment.map(str::to_string),
            record: "job:http_requests:rate5m".into(),
            expr: "sum by (job) (rate(http_requests_total[5m]))".into(),
            labels: labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        }
    }

    fn sample(pairs: &[(&str, &str)], v: f64) -> Sample {
        Sample {
            labels: Labels::from_pairs(pairs),
            t: 0,
            v,
        }
    }

    #[test]
    fn the_expression_is_confined_to_the_place() {
        assert_eq!(
            vitrine_promql::print(&rule(Some("live"), &[]).confined().unwrap()),
            r#"sum by (job) (rate(http_requests_total{environment="live",project="shop"}[5m]))"#
        );
    }

    #[test]
    fn a_recorded_series_has_the_name_the_rule_labels_and_the_place() {
        let rule = rule(Some("live"), &[("team", "web"), ("job", "all")]);
        let value = Value::Vector(vec![
            sample(&[("__name__", "x"), ("job", "shop"), ("project", "other")], 2.5),
            sample(&[("instance", "a")], 1.0),
        ]);
        let written = rule.samples(value).unwrap();
        let expected = |pairs: &[(&str, &str)]| Labels::from_pairs(pairs);
        assert_eq!(
            written,
            vec![
                (
                    expected(&[
                        ("__name__", "job:http_requests:rate5m"),
                        ("environment", "live"),
                        ("job", "all"),
                        ("project", "shop"),
                        ("team", "web"),
                    ]),
                    2.5
                ),
                (
                    expected(&[
                        ("__name__", "job:http_requests:rate5m"),
                        ("environment", "live"),
                        ("instance", "a"),
                        ("job", "all"),
                        ("project", "shop"),
                        ("team", "web"),
                    ]),
                    1.0
                ),
            ]
        );
        // A number is one series; a project-wide rule sets no environment.
        let written = self::rule(None, &[]).samples(Value::Scalar { t: 0, v: 3.0 }).unwrap();
        assert_eq!(
            written,
            vec![(
                expected(&[("__name__", "job:http_requests:rate5m"), ("project", "shop")]),
                3.0
            )]
        );
    }

    #[test]
    fn two_series_with_the_same_labels_after_the_rule_labels_are_an_error() {
        let rule = rule(Some("live"), &[("job", "all")]);
        let value = Value::Vector(vec![sample(&[("job", "a")], 1.0), sample(&[("job", "b")], 2.0)]);
        let err = rule.samples(value).unwrap_err();
        assert!(
            err.starts_with("vector contains metrics with the same labelset"),
            "{err}"
        );
    }

    #[test]
    fn the_form_reads_names_expressions_and_labels() {
        assert_eq!(parse_record(" job:up:sum "), Ok("job:up:sum".into()));
        assert_eq!(parse_record("1up"), Err(FieldProblem::InvalidMetricName));
        assert_eq!(parse_record("a-b"), Err(FieldProblem::InvalidMetricName));
        assert_eq!(parse_record(""), Err(FieldProblem::Required));
        assert_eq!(parse_expr("sum(up)"), Ok("sum(up)".into()));
        assert_eq!(parse_expr("scalar(sum(up))"), Ok("scalar(sum(up))".into()));
        assert_eq!(parse_expr("up[5m]"), Err(FieldProblem::InvalidQuery));
        assert_eq!(parse_expr("sum(up"), Err(FieldProblem::InvalidQuery));
        assert_eq!(parse_labels(""), Ok(vec![]));
        assert_eq!(
            parse_labels(r#"tier="1", team="web""#),
            Ok(vec![("team".into(), "web".into()), ("tier".into(), "1".into())])
        );
        for bad in [
            r#"team=~"w.*""#,
            r#"project="other""#,
            r#"environment="x""#,
            "team",
            r#"__name__="x""#,
        ] {
            assert_eq!(parse_labels(bad), Err(FieldProblem::InvalidLabels), "{bad}");
        }
    }
}
