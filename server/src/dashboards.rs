//! Dashboards: each belongs to a project of a client; the environment is chosen on the page and
//! put into every query as thresholds do (the reserved `project` and `environment` matchers).
//! A dashboard's model is Vitrine's own JSON (`schema` 1): panels in a 24-column grid, each with
//! its title and "what does this show?" text per language, its queries, unit and the thresholds
//! it draws (named by template id or by name). Projects start with "Is my application OK?",
//! written for a shop owner.

pub mod grafana;

use crate::rules::confine::{Place, confine};
use crate::tenancy::scope::ScopedClient;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

/// The model's version; a stored model of another version is refused, not guessed at.
pub const SCHEMA: u32 = 1;

/// A text in every language the product speaks; a language left empty reads as English.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Texts {
    pub en: String,
    #[serde(default)]
    pub de: String,
    #[serde(default)]
    pub fr: String,
}

impl Texts {
    pub fn for_language(&self, language: &str) -> String {
        let chosen = match language {
            "de" => &self.de,
            "fr" => &self.fr,
            _ => &self.en,
        };
        if chosen.trim().is_empty() { &self.en } else { chosen }.clone()
    }

    fn new(en: &str, de: &str, fr: &str) -> Texts {
        Texts {
            en: en.into(),
            de: de.into(),
            fr: fr.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    /// Lines over the time range.
    Timeseries,
    /// The value now, large, with the line over the range below it.
    Stat,
    /// Every threshold of the environment with its state (Grafana's alert list); no queries.
    Alerts,
}

/// One query of a panel and how its series are named (`{{method}} {{route}}`, Grafana's
/// `legendFormat`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PanelQuery {
    pub expr: String,
    #[serde(default)]
    pub legend: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Panel {
    pub kind: PanelKind,
    pub title: Texts,
    /// What the panel shows, for a reader who is not a monitoring expert.
    pub explanation: Texts,
    pub queries: Vec<PanelQuery>,
    /// A Grafana unit id.
    #[serde(default = "short")]
    pub unit: String,
    /// Columns of 24 (Grafana's `gridPos.w`).
    #[serde(default = "half")]
    pub width: u8,
    /// The thresholds drawn, by template id (`error-rate`) or name.
    #[serde(default)]
    pub thresholds: Vec<String>,
}

fn short() -> String {
    "short".into()
}

fn half() -> u8 {
    12
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub schema: u32,
    pub title: Texts,
    /// What the dashboard is for.
    #[serde(default)]
    pub description: Texts,
    pub panels: Vec<Panel>,
}

/// A stored dashboard.
#[derive(Clone, Debug)]
pub struct Dashboard {
    pub id: i64,
    pub project_slug: String,
    pub project_name: String,
    pub model: Model,
}

/// A panel's query confined to the place, as it runs.
pub fn confined(expr: &str, project: &str, environment: &str) -> Result<vitrine_promql::Expr, String> {
    let mut parsed = vitrine_promql::parse(expr).map_err(|e| e.to_string())?;
    confine(
        &mut parsed,
        &Place {
            project,
            environment: Some(environment),
        },
    );
    Ok(parsed)
}

/// Grafana's `legendFormat`: `{{label}}` replaced by the series' label values; empty: the
/// series' labels as PromQL writes them.
pub fn legend(format: &str, labels: &vitrine_promql::Labels) -> String {
    if format.trim().is_empty() {
        let pairs: Vec<String> = labels
            .iter()
            .filter(|(n, _)| !matches!(*n, "project" | "environment" | "__name__"))
            .map(|(n, v)| format!("{n}=\"{v}\""))
            .collect();
        return format!("{{{}}}", pairs.join(", "));
    }
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = rest[start + 2..start + end].trim();
        out.push_str(labels.get(name).unwrap_or(""));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// "Is my application OK?": reachable, errors, speed, traffic, visitors and orders, with the
/// thresholds of the templates drawn on their panels.
pub fn default_model() -> Model {
    let panel = |kind, title: Texts, explanation: Texts, expr: &str, unit: &str, width, thresholds: &[&str]| Panel {
        kind,
        queries: vec![PanelQuery {
            expr: expr.into(),
            // The requests by status are named by it; the others have one series, unnamed.
            legend: if expr.starts_with("sum by (status)") {
                "{{status}}".into()
            } else {
                String::new()
            },
        }],
        title,
        explanation,
        unit: unit.into(),
        width,
        thresholds: thresholds.iter().map(|t| t.to_string()).collect(),
    };
    Model {
        schema: SCHEMA,
        title: Texts::new(
            "Is my application OK?",
            "Läuft meine Anwendung?",
            "Mon application va-t-elle bien ?",
        ),
        description: Texts::new(
            "The few figures that say whether your visitors can use your application: can it be reached, does it answer without errors, how fast, and is business going on.",
            "Die wenigen Zahlen, die zeigen, ob Ihre Besucher Ihre Anwendung nutzen können: Ist sie erreichbar, antwortet sie ohne Fehler, wie schnell, und läuft das Geschäft?",
            "Les quelques chiffres qui disent si vos visiteurs peuvent utiliser votre application : est-elle joignable, répond-elle sans erreur, à quelle vitesse, et l’activité continue-t-elle ?",
        ),
        panels: vec![
            Panel {
                kind: PanelKind::Alerts,
                title: Texts::new("Thresholds", "Grenzwerte", "Seuils"),
                explanation: Texts::new(
                    "Every threshold the agency watches for this environment, and whether it raises the alarm now. Open one to read what it means and what the agency does.",
                    "Jeder Grenzwert, den die Agentur für diese Umgebung beobachtet, und ob er gerade Alarm schlägt. Öffnen Sie einen, um zu lesen, was er bedeutet und was die Agentur tut.",
                    "Chaque seuil que l’agence surveille pour cet environnement, et s’il déclenche l’alerte en ce moment. Ouvrez-en un pour lire ce qu’il signifie et ce que fait l’agence.",
                ),
                queries: Vec::new(),
                unit: short(),
                width: 24,
                thresholds: Vec::new(),
            },
            panel(
                PanelKind::Stat,
                Texts::new("Reachable", "Erreichbar", "Joignable"),
                Texts::new(
                    "How much of the time Vitrine could reach your application in the chosen period. 100 % means it answered every check.",
                    "Wie oft Vitrine Ihre Anwendung im gewählten Zeitraum erreichen konnte. 100 % heißt: Sie hat jede Prüfung beantwortet.",
                    "La part du temps où Vitrine a pu joindre votre application sur la période choisie. 100 % veut dire qu’elle a répondu à chaque contrôle.",
                ),
                "avg(up)",
                "percentunit",
                8,
                &["target-down"],
            ),
            panel(
                PanelKind::Stat,
                Texts::new("Visitors now", "Besucher jetzt", "Visiteurs en ce moment"),
                Texts::new(
                    "People with a session in the last five minutes.",
                    "Personen mit einer Sitzung in den letzten fünf Minuten.",
                    "Les personnes ayant une session dans les cinq dernières minutes.",
                ),
                "sum(active_users)",
                "short",
                8,
                &[],
            ),
            panel(
                PanelKind::Stat,
                Texts::new(
                    "Orders in the last hour",
                    "Bestellungen in der letzten Stunde",
                    "Commandes dans la dernière heure",
                ),
                Texts::new(
                    "Orders completed in the hour before the end of the chosen period.",
                    "Abgeschlossene Bestellungen in der Stunde vor dem Ende des gewählten Zeitraums.",
                    "Commandes conclues dans l’heure précédant la fin de la période choisie.",
                ),
                r#"sum(increase(business_transactions_total{type="order",status="ok"}[1h]))"#,
                "short",
                8,
                &["no-orders"],
            ),
            panel(
                PanelKind::Timeseries,
                Texts::new(
                    "Errors seen by visitors",
                    "Fehler, die Besucher sehen",
                    "Erreurs vues par les visiteurs",
                ),
                Texts::new(
                    "The share of page views that ended with an error page (HTTP 5xx). A few tenths of a percent happen; when it rises, visitors cannot order.",
                    "Der Anteil der Seitenaufrufe, die mit einer Fehlerseite endeten (HTTP 5xx). Ein paar Zehntel Prozent kommen vor; steigt er, können Besucher nicht bestellen.",
                    "La part des pages vues qui se sont terminées par une page d’erreur (HTTP 5xx). Quelques dixièmes de pour cent arrivent ; s’il monte, les visiteurs ne peuvent pas commander.",
                ),
                r#"sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))"#,
                "percentunit",
                12,
                &["error-rate"],
            ),
            panel(
                PanelKind::Timeseries,
                Texts::new(
                    "How fast pages load",
                    "Wie schnell Seiten laden",
                    "Vitesse de chargement des pages",
                ),
                Texts::new(
                    "95 of 100 pages were answered faster than this. Above one second visitors notice it and some leave.",
                    "95 von 100 Seiten wurden schneller beantwortet. Über einer Sekunde merken es Besucher, und manche gehen.",
                    "95 pages sur 100 ont été servies plus vite que cela. Au-delà d’une seconde, les visiteurs le remarquent et certains partent.",
                ),
                r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"#,
                "s",
                12,
                &["slow-pages"],
            ),
            panel(
                PanelKind::Timeseries,
                Texts::new("Requests per second", "Anfragen pro Sekunde", "Requêtes par seconde"),
                Texts::new(
                    "How busy the application is: page views and other requests each second, by status (200 is fine, 500 is an error).",
                    "Wie beschäftigt die Anwendung ist: Seitenaufrufe und andere Anfragen pro Sekunde, nach Status (200 ist gut, 500 ein Fehler).",
                    "L’activité de l’application : pages vues et autres requêtes par seconde, par statut (200 c’est bien, 500 une erreur).",
                ),
                r#"sum by (status) (rate(http_requests_total[5m]))"#,
                "reqps",
                24,
                &[],
            ),
        ],
    }
}

/// Most panels, queries per panel and characters per text a dashboard may have.
const MAX_PANELS: usize = 100;
const MAX_QUERIES: usize = 10;
const MAX_TEXT: usize = 4000;

/// Reads a dashboard in Vitrine's JSON and checks it as the pages will use it: the schema,
/// titles, widths of 1 to 24 columns, units, and every query as PromQL; the error names the
/// place (`panels[2].queries[0].expr: …`).
pub fn read_model(json: &str) -> Result<Model, String> {
    let model: Model = serde_json::from_str(json).map_err(|e| format!("not a Vitrine dashboard: {e}"))?;
    if model.schema != SCHEMA {
        return Err(format!(
            "schema {} is not known: this Vitrine reads schema {SCHEMA}",
            model.schema
        ));
    }
    if model.title.en.trim().is_empty() {
        return Err("title.en: a dashboard needs an English title".into());
    }
    if model.panels.len() > MAX_PANELS {
        return Err(format!("panels: at most {MAX_PANELS}"));
    }
    let texts = |t: &Texts| [&t.en, &t.de, &t.fr].into_iter().all(|s| s.chars().count() <= MAX_TEXT);
    if !texts(&model.title) || !texts(&model.description) {
        return Err(format!("title, description: at most {MAX_TEXT} characters"));
    }
    for (i, panel) in model.panels.iter().enumerate() {
        let at = format!("panels[{i}]");
        if panel.title.en.trim().is_empty() {
            return Err(format!("{at}.title.en: every panel needs an English title"));
        }
        if !texts(&panel.title) || !texts(&panel.explanation) {
            return Err(format!("{at}: texts of at most {MAX_TEXT} characters"));
        }
        if !(1..=24).contains(&panel.width) {
            return Err(format!("{at}.width: {} is not 1 to 24 columns", panel.width));
        }
        if panel.unit.is_empty() || panel.unit.len() > 32 {
            return Err(format!("{at}.unit: a Grafana unit id such as short, percent or s"));
        }
        let wanted = if panel.kind == PanelKind::Alerts {
            0..=0
        } else {
            1..=MAX_QUERIES
        };
        if !wanted.contains(&panel.queries.len()) {
            return Err(format!(
                "{at}.queries: {} to {} queries for this kind of panel",
                wanted.start(),
                wanted.end()
            ));
        }
        for (j, query) in panel.queries.iter().enumerate() {
            vitrine_promql::parse(&query.expr).map_err(|e| format!("{at}.queries[{j}].expr: {e}"))?;
        }
    }
    Ok(model)
}

/// A dashboard's JSON as the import reads it: Vitrine's own model (it has `schema`), or a
/// Grafana dashboard, converted, with what the conversion left out.
pub fn import_text(json: &str) -> Result<(Model, Option<app::dto::DashboardImported>), String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("schema").is_some() {
        return read_model(json).map(|model| (model, None));
    }
    let (model, report) = grafana::import(json)?;
    // What Vitrine stores is always a model it reads back.
    let checked = read_model(&serde_json::to_string(&model).map_err(|e| e.to_string())?)?;
    Ok((checked, Some(report)))
}

/// Stores `model` as a dashboard of the client's project; its id.
pub async fn insert(db: &SqlitePool, client_id: i64, project_id: i64, model: &Model) -> Result<i64, sqlx::Error> {
    let json = serde_json::to_string(model).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let now = crate::tenancy::now() * 1000;
    sqlx::query_scalar(
        "INSERT INTO dashboards (client_id, project_id, model, position, created_ms, updated_ms)
         VALUES (?, ?, ?, (SELECT COUNT(*) FROM dashboards WHERE project_id = ?), ?, ?) RETURNING id",
    )
    .bind(client_id)
    .bind(project_id)
    .bind(json)
    .bind(project_id)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    project_slug: String,
    project_name: String,
    model: String,
}

impl Row {
    fn dashboard(self) -> Option<Dashboard> {
        match read_model(&self.model) {
            Ok(model) => Some(Dashboard {
                id: self.id,
                project_slug: self.project_slug,
                project_name: self.project_name,
                model,
            }),
            Err(e) => {
                tracing::warn!(dashboard = self.id, error = %e, "a dashboard that cannot be read");
                None
            }
        }
    }
}

const SELECT: &str = "SELECT d.id, p.slug AS project_slug, p.name AS project_name, d.model
     FROM dashboards d JOIN projects p ON p.id = d.project_id";

/// The client's dashboards, by project and position.
pub async fn of_client(db: &SqlitePool, client: &ScopedClient) -> Result<Vec<Dashboard>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE d.client_id = ? ORDER BY p.slug, d.position, d.id"
    ))
    .bind(client.id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().filter_map(Row::dashboard).collect())
}

/// One of the client's dashboards; `None` when the client has no such dashboard.
pub async fn get(db: &SqlitePool, client: &ScopedClient, id: i64) -> Result<Option<Dashboard>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE d.client_id = ? AND d.id = ?"))
        .bind(client.id)
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.and_then(Row::dashboard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_dashboard_parses_and_reads_back() {
        let model = default_model();
        for panel in &model.panels {
            for query in &panel.queries {
                confined(&query.expr, "shop", "live").unwrap_or_else(|e| panic!("{}: {e}", query.expr));
            }
            for language in ["en", "de", "fr"] {
                assert!(!panel.title.for_language(language).is_empty());
                assert!(panel.explanation.for_language(language).len() > 20);
            }
            assert!((1..=24).contains(&panel.width));
        }
        let json = serde_json::to_string(&model).unwrap();
        assert_eq!(serde_json::from_str::<Model>(&json).unwrap(), model);
    }

    #[test]
    fn a_dashboard_file_is_read_or_refused_with_the_place() {
        let good = serde_json::to_string(&default_model()).unwrap();
        assert_eq!(read_model(&good).unwrap(), default_model());
        let mut bad = default_model();
        bad.panels[3].queries[0].expr = "sum(rate(x[5m])".into();
        let err = read_model(&serde_json::to_string(&bad).unwrap()).unwrap_err();
        assert!(err.starts_with("panels[3].queries[0].expr: "), "{err}");
        let mut wide = default_model();
        wide.panels[0].width = 30;
        assert!(
            read_model(&serde_json::to_string(&wide).unwrap())
                .unwrap_err()
                .starts_with("panels[0].width")
        );
        assert!(
            read_model("{\"schema\": 2, \"title\": {\"en\": \"x\"}, \"panels\": []}")
                .unwrap_err()
                .contains("schema 2")
        );
        assert!(
            read_model("not json")
                .unwrap_err()
                .starts_with("not a Vitrine dashboard")
        );
    }

    #[test]
    fn legends_name_series_as_grafana_does() {
        let labels = vitrine_promql::Labels::from_pairs(&[("method", "GET"), ("route", "/cart"), ("project", "shop")]);
        assert_eq!(legend("{{method}} {{ route }}", &labels), "GET /cart");
        assert_eq!(legend("", &labels), "{method=\"GET\", route=\"/cart\"}");
        assert_eq!(legend("{{missing}}!", &labels), "!");
        assert_eq!(legend("open {{method", &labels), "open {{method");
    }

    #[test]
    fn a_panel_query_is_confined_to_the_chosen_environment() {
        let expr = confined("sum(rate(http_requests_total[5m]))", "shop", "stage").unwrap();
        assert_eq!(
            vitrine_promql::print(&expr),
            r#"sum(rate(http_requests_total{environment="stage",project="shop"}[5m]))"#
        );
    }
}
