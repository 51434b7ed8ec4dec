//! Thresholds and the alert rules they drive (Prometheus' `rules/`). A threshold belongs to one
//! environment of a client's project (or to the whole project): a measured value (a PromQL
//! expression, confined to its place), a comparator and a line, how long it must be crossed,
//! a severity, a unit and its explanation for the client in English, German and French.
//! This module is the one way the rest of the server reads thresholds and their state.

pub mod alerting;
pub mod confine;
pub mod evaluator;
pub mod import;
pub mod preview;
pub mod recording;
pub mod silences;
pub mod templates;
pub mod unit_test;

use crate::tenancy::model::Name;
use crate::tenancy::scope::{Caller, ScopedClient};
use crate::tenancy::{FormCheck, Result, TenancyError, is_unique_violation, now};
use alerting::Alert;
use app::dto::{Comparison, FieldProblem, THRESHOLD_SEVERITIES, THRESHOLD_UNITS};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use vitrine_promql::Expr;

/// What a threshold means for the client, in one language.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// What it means for the client's business when the line is crossed.
    pub meaning: String,
    /// What the agency does then.
    pub action: String,
    /// Who is told, and how fast.
    pub audience: String,
}

/// The explanation in each language the product speaks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Explanations {
    pub en: Explanation,
    pub de: Explanation,
    pub fr: Explanation,
}

impl Explanations {
    /// The text for a language tag (`de`, `fr`; anything else English); each part not
    /// written in that language is the English one.
    pub fn for_language(&self, language: &str) -> Explanation {
        let chosen = match language {
            "de" => &self.de,
            "fr" => &self.fr,
            _ => &self.en,
        };
        let or_english = |part: &str, english: &str| {
            if part.trim().is_empty() {
                english.to_string()
            } else {
                part.to_string()
            }
        };
        Explanation {
            meaning: or_english(&chosen.meaning, &self.en.meaning),
            action: or_english(&chosen.action, &self.en.action),
            audience: or_english(&chosen.audience, &self.en.audience),
        }
    }
}

/// A threshold as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    pub id: i64,
    pub client_id: i64,
    pub project: String,
    /// `None`: every environment of the project.
    pub environment: Option<String>,
    pub name: String,
    pub template: Option<String>,
    pub expr: String,
    pub comparator: Comparison,
    pub value: f64,
    pub warning: Option<f64>,
    pub for_secs: u32,
    pub keep_firing_for_secs: u32,
    pub severity: String,
    pub unit: String,
    pub explanations: Explanations,
}

impl Threshold {
    /// The measured value confined to the threshold's place, as it is evaluated.
    pub fn measured(&self) -> std::result::Result<Expr, String> {
        let mut expr = vitrine_promql::parse(&self.expr).map_err(|e| e.to_string())?;
        confine::confine(
            &mut expr,
            &confine::Place {
                project: &self.project,
                environment: self.environment.as_deref(),
            },
        );
        Ok(expr)
    }

    /// The alert rule's expression: `(measured) comparator value`, confined; the measured value
    /// itself for [`Comparison::Found`].
    pub fn rule_expr(&self) -> std::result::Result<Expr, String> {
        if self.comparator == Comparison::Found {
            return self.measured();
        }
        let measured = vitrine_promql::print(&self.measured()?);
        let text = format!("({measured}) {} {}", self.comparator.op(), go_float(self.value));
        vitrine_promql::parse(&text).map_err(|e| e.to_string())
    }

    /// The explanation in `language`, its templates (Prometheus': `{{ $labels.instance }}`,
    /// `{{ $value | humanize }}`, …) expanded for `alert`; as written without one. `$labels` are
    /// the alert's labels, `$externalURL` is `external_url`.
    pub fn explanation(&self, language: &str, alert: Option<&Alert>, external_url: &str) -> Explanation {
        let text = self.explanations.for_language(language);
        let Some(alert) = alert else {
            return text;
        };
        let none = vitrine_promql::Labels::from_pairs(&[]);
        let data = vitrine_promql::template::AlertData {
            labels: &alert.labels,
            external_labels: &none,
            external_url,
            value: alert.value,
            query: None,
        };
        let expand = |part: &str| vitrine_promql::template::expand_or_error(part, &data);
        Explanation {
            meaning: expand(&text.meaning),
            action: expand(&text.action),
            audience: expand(&text.audience),
        }
    }

    /// The explanation in English as the annotations of `alert` (what Grafana, amtool and
    /// webhooks show), or of the rule (templates as written).
    pub fn annotations(&self, alert: Option<&Alert>, external_url: &str) -> serde_json::Value {
        let text = self.explanation("en", alert, external_url);
        serde_json::json!({
            "summary": self.name,
            "description": text.meaning,
            "action": text.action,
            "audience": text.audience,
        })
    }

    /// The line to draw on charts (none when the query is the condition).
    pub fn line(&self) -> Option<f64> {
        (self.comparator != Comparison::Found).then_some(self.value)
    }

    /// The labels every alert of this threshold carries besides the result's own: its name,
    /// severity and id, and its place (what silences and routes match on).
    pub fn alert_labels(&self) -> Vec<(&'static str, String)> {
        let mut labels = vec![
            ("alertname", self.name.clone()),
            ("severity", self.severity.clone()),
            ("threshold_id", self.id.to_string()),
            ("project", self.project.clone()),
        ];
        if let Some(environment) = &self.environment {
            labels.push(("environment", environment.clone()));
        }
        labels
    }
}

/// A number as PromQL reads it back exactly.
fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v:?}")
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    client_id: i64,
    project: String,
    environment: Option<String>,
    name: String,
    template: Option<String>,
    expr: String,
    comparator: String,
    value: f64,
    warning: Option<f64>,
    for_secs: i64,
    keep_firing_for_secs: i64,
    severity: String,
    unit: String,
    explanations: String,
}

impl Row {
    fn into_threshold(self) -> Threshold {
        Threshold {
            id: self.id,
            client_id: self.client_id,
            project: self.project,
            environment: self.environment,
            name: self.name,
            template: self.template,
            expr: self.expr,
            comparator: Comparison::parse(&self.comparator).unwrap_or(Comparison::Above),
            value: self.value,
            warning: self.warning,
            for_secs: u32::try_from(self.for_secs).unwrap_or(0),
            keep_firing_for_secs: u32::try_from(self.keep_firing_for_secs).unwrap_or(0),
            severity: self.severity,
            unit: self.unit,
            explanations: serde_json::from_str(&self.explanations).unwrap_or_default(),
        }
    }
}

const SELECT: &str = "SELECT t.id, t.client_id, p.slug AS project, e.name AS environment, t.name, t.template,
        t.expr, t.comparator, t.value, t.warning, t.for_secs, t.keep_firing_for_secs, t.severity, t.unit,
        t.explanations
     FROM thresholds t
     JOIN projects p ON p.id = t.project_id
     LEFT JOIN environments e ON e.id = t.environment_id";

/// Every threshold of every client, for the evaluator.
pub async fn all(db: &SqlitePool) -> Result<Vec<Threshold>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} ORDER BY t.client_id, t.id"))
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(Row::into_threshold).collect())
}

/// The thresholds of a client, by project, environment and name. `client_id` is the caller's
/// own: a [`ScopedClient`]'s id, or the client of a verified API token.
pub async fn of_client(db: &SqlitePool, client_id: i64) -> Result<Vec<Threshold>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE t.client_id = ? ORDER BY p.slug, e.name, t.name"
    ))
    .bind(client_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Row::into_threshold).collect())
}

/// Agency people manage thresholds; client people read them.
fn may_manage(caller: &Caller) -> Result<()> {
    if caller.role.is_agency() {
        Ok(())
    } else {
        Err(TenancyError::Forbidden)
    }
}

fn parse_number(raw: &str) -> std::result::Result<f64, FieldProblem> {
    let raw = raw.trim().replace(',', ".");
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ if raw.is_empty() => Err(FieldProblem::Required),
        _ => Err(FieldProblem::InvalidNumber),
    }
}

/// A duration as Prometheus writes it (`5m`, `1h30m`, `90s`), at most a day.
fn parse_duration(raw: &str) -> std::result::Result<u32, FieldProblem> {
    let raw = raw.trim();
    if raw.is_empty() || raw == "0" {
        return Ok(0);
    }
    vitrine_promql::parse(&format!("x[{raw}]"))
        .ok()
        .and_then(|expr| match expr {
            Expr::MatrixSelector(m) => u32::try_from(m.range / 1000).ok(),
            _ => None,
        })
        .filter(|secs| *secs <= 86_400)
        .ok_or(FieldProblem::InvalidDuration)
}

fn parse_expr(raw: &str) -> std::result::Result<String, FieldProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldProblem::Required);
    }
    match vitrine_promql::parse(raw) {
        Ok(expr) if matches!(expr.value_type(), vitrine_promql::ValueType::Vector) => Ok(raw.to_string()),
        _ => Err(FieldProblem::InvalidQuery),
    }
}

fn one_of(choices: &'static [&'static str]) -> impl Fn(&str) -> std::result::Result<String, FieldProblem> {
    move |raw| {
        choices
            .iter()
            .find(|c| **c == raw.trim())
            .map(|c| c.to_string())
            .ok_or(FieldProblem::InvalidChoice)
    }
}

/// An explanation's part: plain text, or a template Prometheus would expand (`{{ $value }}`).
fn text(raw: &str) -> std::result::Result<String, FieldProblem> {
    let raw = raw.trim();
    if raw.chars().count() > 2000 {
        Err(FieldProblem::TooLong)
    } else if vitrine_promql::template::check(raw).is_err() {
        Err(FieldProblem::InvalidTemplate)
    } else {
        Ok(raw.to_string())
    }
}

/// Creates a threshold of the client from the form: `place` (`project/environment` or
/// `project/*`), `name`, `expr`, `comparator`, `value`, `warning`, `for`, `severity`, `unit`,
/// `template`, and `meaning_en`, `action_en`, `audience_en` (and `_de`, `_fr`).
pub async fn create(db: &SqlitePool, caller: &Caller, client: &ScopedClient, form: &[(String, String)]) -> Result<i64> {
    let (new, _) = check_form(db, caller, client, form).await?;
    match insert(db, &new).await {
        Err(TenancyError::Duplicate) => Err(FormCheck::new(form).fail("name", FieldProblem::Taken)),
        other => other,
    }
}

/// The threshold a form describes (see [`create`]), checked, not stored; and the threshold as
/// it would be evaluated (id 0), for a preview.
pub async fn check_form(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    form: &[(String, String)],
) -> Result<(NewThreshold, Threshold)> {
    may_manage(caller)?;
    let mut check = FormCheck::new(form);
    let name = check.field("name", Name::parse);
    let expr = check.field("expr", parse_expr);
    let comparator = check.field("comparator", |raw| {
        Comparison::parse(raw).ok_or(FieldProblem::InvalidChoice)
    });
    // A query that is its own condition has no line.
    let found = form
        .iter()
        .any(|(n, v)| n == "comparator" && v.trim() == Comparison::Found.op());
    let value = check.field("value", |raw| {
        if found && raw.trim().is_empty() {
            Ok(0.0)
        } else {
            parse_number(raw)
        }
    });
    let warning = check.field("warning", |raw| {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            parse_number(raw).map(Some)
        }
    });
    let for_secs = check.field("for", parse_duration);
    let severity = check.field("severity", one_of(&THRESHOLD_SEVERITIES));
    let unit = check.field("unit", one_of(&THRESHOLD_UNITS));
    let template = form
        .iter()
        .find(|(n, _)| n == "template")
        .and_then(|(_, v)| templates::find(v))
        .map(|t| t.id.to_string());
    let mut texts = Vec::new();
    for language in ["en", "de", "fr"] {
        for part in ["meaning", "action", "audience"] {
            texts.push(check.field(&format!("{part}_{language}"), text));
        }
    }
    let place_raw = form.iter().find(|(n, _)| n == "place").map_or("", |(_, v)| v.as_str());
    let place = place_of(db, client, place_raw).await?;
    if place.is_none() {
        check.problem("place", FieldProblem::InvalidChoice);
    }
    if texts
        .first()
        .is_some_and(|meaning| meaning.as_deref().is_some_and(str::is_empty))
    {
        check.problem("meaning_en", FieldProblem::Required);
    }
    let parsed = (|| {
        let texts: Vec<String> = texts.into_iter().collect::<Option<_>>()?;
        Some((
            name?,
            expr?,
            comparator?,
            value?,
            warning?,
            for_secs?,
            severity?,
            unit?,
            texts,
            place?,
        ))
    })();
    let (name, expr, comparator, value, warning, for_secs, severity, unit, texts, (project_id, environment_id)) =
        check.finish(|| parsed)?;
    let explanation = |i: usize| Explanation {
        meaning: texts[i].clone(),
        action: texts[i + 1].clone(),
        audience: texts[i + 2].clone(),
    };
    let explanations = Explanations {
        en: explanation(0),
        de: explanation(3),
        fr: explanation(6),
    };
    let (project, environment) = place_raw.split_once('/').unwrap_or((place_raw, "*"));
    let evaluated = Threshold {
        id: 0,
        client_id: client.id,
        project: project.to_string(),
        environment: (environment != "*").then(|| environment.to_string()),
        name: name.as_str().to_string(),
        template: template.clone(),
        expr: expr.clone(),
        comparator,
        value,
        warning,
        for_secs,
        keep_firing_for_secs: 0,
        severity: severity.clone(),
        unit: unit.clone(),
        explanations: explanations.clone(),
    };
    let new = NewThreshold {
        agency_id: client.agency_id,
        client_id: client.id,
        project_id,
        environment_id,
        name: name.as_str().to_string(),
        template,
        expr,
        comparator,
        value,
        warning,
        for_secs,
        severity,
        unit,
        explanations,
    };
    Ok((new, evaluated))
}

/// A threshold to store, checked already.
pub struct NewThreshold {
    pub agency_id: i64,
    pub client_id: i64,
    pub project_id: i64,
    pub environment_id: Option<i64>,
    pub name: String,
    pub template: Option<String>,
    pub expr: String,
    pub comparator: Comparison,
    pub value: f64,
    pub warning: Option<f64>,
    pub for_secs: u32,
    pub severity: String,
    pub unit: String,
    pub explanations: Explanations,
}

impl NewThreshold {
    /// A template's threshold for an environment, named in the client's `language` (a tag),
    /// held `for_secs`.
    pub fn from_template(
        template: &templates::Template,
        place: &crate::tenancy::targets::Place,
        language: &str,
        for_secs: u32,
    ) -> NewThreshold {
        let [en, de, fr] = &template.explanation;
        NewThreshold {
            agency_id: place.agency_id,
            client_id: place.client_id,
            project_id: place.project_id,
            environment_id: Some(place.environment_id),
            name: template.name[templates::language_index(language)].to_string(),
            template: Some(template.id.to_string()),
            expr: template.expr.to_string(),
            comparator: Comparison::parse(template.comparator).unwrap_or(Comparison::Above),
            value: template.value,
            warning: template.warning,
            for_secs,
            severity: template.severity.to_string(),
            unit: template.unit.to_string(),
            explanations: Explanations {
                en: en.to_explanation(),
                de: de.to_explanation(),
                fr: fr.to_explanation(),
            },
        }
    }
}

/// Stores a threshold; a name taken in its place is [`TenancyError::Duplicate`].
pub async fn insert(db: &SqlitePool, t: &NewThreshold) -> Result<i64> {
    let inserted = sqlx::query_scalar(
        "INSERT INTO thresholds (agency_id, client_id, project_id, environment_id, name, template, expr, comparator,
             value, warning, for_secs, severity, unit, explanations, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(t.agency_id)
    .bind(t.client_id)
    .bind(t.project_id)
    .bind(t.environment_id)
    .bind(&t.name)
    .bind(&t.template)
    .bind(&t.expr)
    .bind(t.comparator.op())
    .bind(t.value)
    .bind(t.warning)
    .bind(i64::from(t.for_secs))
    .bind(&t.severity)
    .bind(&t.unit)
    .bind(serde_json::to_string(&t.explanations).unwrap_or_default())
    .bind(now())
    .bind(now())
    .fetch_one(db)
    .await;
    match inserted {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(TenancyError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// The project and environment ids of `project/environment` (or `project/*`) of the client.
pub(crate) async fn place_of(db: &SqlitePool, client: &ScopedClient, raw: &str) -> Result<Option<(i64, Option<i64>)>> {
    let Some((project, environment)) = raw.split_once('/') else {
        return Ok(None);
    };
    let project_id: Option<i64> = sqlx::query_scalar("SELECT id FROM projects WHERE client_id = ? AND slug = ?")
        .bind(client.id)
        .bind(project)
        .fetch_optional(db)
        .await?;
    let Some(project_id) = project_id else {
        return Ok(None);
    };
    if environment == "*" {
        return Ok(Some((project_id, None)));
    }
    let environment_id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM environments WHERE project_id = ? AND name = ?")
            .bind(project_id)
            .bind(environment)
            .fetch_optional(db)
            .await?;
    Ok(environment_id.map(|id| (project_id, Some(id))))
}

/// Deletes a threshold of the client; another client's is `NotFound`, like a missing one.
pub async fn delete(db: &SqlitePool, caller: &Caller, client: &ScopedClient, id: i64) -> Result<String> {
    may_manage(caller)?;
    let name: Option<String> =
        sqlx::query_scalar("DELETE FROM thresholds WHERE id = ? AND client_id = ? AND agency_id = ? RETURNING name")
            .bind(id)
            .bind(client.id)
            .bind(client.agency_id)
            .fetch_optional(db)
            .await?;
    name.ok_or(TenancyError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threshold(expr: &str, comparator: Comparison, value: f64) -> Threshold {
        Threshold {
            id: 7,
            client_id: 1,
            project: "shop".into(),
            environment: Some("live".into()),
            name: "Errors".into(),
            template: None,
            expr: expr.into(),
            comparator,
            value,
            warning: None,
            for_secs: 60,
            keep_firing_for_secs: 0,
            severity: "critical".into(),
            unit: "percentunit".into(),
            explanations: Explanations::default(),
        }
    }

    #[test]
    fn the_rule_compares_the_confined_value_with_the_line() {
        let t = threshold("up", Comparison::Below, 1.0);
        assert_eq!(
            vitrine_promql::print(&t.rule_expr().unwrap()),
            r#"(up{environment="live",project="shop"}) < 1"#
        );
        let t = threshold("rate(x[5m]) / rate(y[5m])", Comparison::AtLeast, 0.03);
        assert_eq!(
            vitrine_promql::print(&t.rule_expr().unwrap()),
            r#"(rate(x{environment="live",project="shop"}[5m]) / rate(y{environment="live",project="shop"}[5m])) >= 0.03"#
        );
        // A query that is its own condition is evaluated as it is, and has no line to draw.
        let t = threshold("absent(up{job=\"shop\"})", Comparison::Found, 0.0);
        assert_eq!(
            vitrine_promql::print(&t.rule_expr().unwrap()),
            r#"absent(up{environment="live",job="shop",project="shop"})"#
        );
        assert_eq!(t.line(), None);
        assert_eq!(threshold("up", Comparison::Below, 1.0).line(), Some(1.0));
    }

    #[test]
    fn numbers_durations_and_queries_from_forms() {
        assert_eq!(parse_number("0,03"), Ok(0.03));
        assert_eq!(parse_number(" 2.5 "), Ok(2.5));
        assert_eq!(parse_number(""), Err(FieldProblem::Required));
        assert_eq!(parse_number("NaN"), Err(FieldProblem::InvalidNumber));
        assert_eq!(parse_number("1e999"), Err(FieldProblem::InvalidNumber));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration(""), Ok(0));
        assert_eq!(parse_duration("2d"), Err(FieldProblem::InvalidDuration));
        assert_eq!(parse_duration("soon"), Err(FieldProblem::InvalidDuration));
        assert_eq!(parse_expr("sum(up)"), Ok("sum(up)".into()));
        assert_eq!(parse_expr("1 + 1"), Err(FieldProblem::InvalidQuery));
        assert_eq!(parse_expr("sum(up"), Err(FieldProblem::InvalidQuery));
    }

    #[test]
    fn an_empty_translation_falls_back_to_english() {
        let mut e = Explanations::default();
        e.en.meaning = "Errors".into();
        e.en.action = "We fix it.".into();
        e.fr.meaning = "Erreurs".into();
        assert_eq!(e.for_language("fr").meaning, "Erreurs");
        assert_eq!(e.for_language("fr").action, "We fix it.");
        assert_eq!(e.for_language("de").meaning, "Errors");
    }
}
