//! Incidents of a client's status page, as Atlassian Statuspage models them: a title, an
//! impact, the components affected (each showing a state while the incident is open, at
//! least as bad as what its sources say) and a timeline of updates from investigating to
//! resolved, then a post-mortem. Texts are kept per language (English, German, French) and
//! shown in the reader's, else the client's, else whichever was written. Agency people
//! write them on the status settings page, deploy and CI scripts through the API with a
//! token of the scope `status:write`.

use crate::tenancy::{FormCheck, Result, TenancyError};
use app::dto::{ComponentState, FieldProblem, IncidentStatus, IncidentView, UpdateView};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use std::collections::{BTreeMap, HashMap};

/// The languages a text may be written in.
pub const LANGUAGES: [&str; 3] = ["en", "de", "fr"];
/// Statuspage's impacts of an incident.
pub const IMPACTS: [&str; 4] = ["none", "minor", "major", "critical"];

/// A text by language.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Texts(pub BTreeMap<String, String>);

impl Texts {
    /// In `language`, else in `fallback`, else any that was written.
    pub fn pick(&self, language: &str, fallback: &str) -> String {
        [language, fallback]
            .iter()
            .find_map(|l| self.0.get(*l).filter(|t| !t.is_empty()))
            .or_else(|| self.0.values().find(|t| !t.is_empty()))
            .cloned()
            .unwrap_or_default()
    }

    fn parse(raw: &str) -> Texts {
        serde_json::from_str(raw).unwrap_or_default()
    }

    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|t| t.trim().is_empty())
    }
}

#[derive(Clone, Debug)]
pub struct Update {
    pub id: i64,
    pub status: IncidentStatus,
    pub body: Texts,
    pub created_ms: i64,
}

#[derive(Clone, Debug)]
pub struct Incident {
    pub id: i64,
    pub title: Texts,
    pub impact: String,
    pub status: IncidentStatus,
    pub postmortem: Texts,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub monitoring_ms: Option<i64>,
    pub resolved_ms: Option<i64>,
    /// Affected components and what each shows meanwhile.
    pub components: Vec<(i64, ComponentState)>,
    /// Newest first.
    pub updates: Vec<Update>,
}

impl Incident {
    /// The incident in a language, its times in the page's zone (`local` turns ms into text).
    pub fn view(
        &self,
        language: &str,
        fallback: &str,
        names: &HashMap<i64, String>,
        local: impl Fn(i64) -> String,
    ) -> IncidentView {
        IncidentView {
            id: self.id,
            title: self.title.pick(language, fallback),
            impact: self.impact.clone(),
            status: self.status,
            started: local(self.created_ms),
            month: local(self.created_ms).get(..7).unwrap_or_default().to_string(),
            resolved: self.resolved_ms.map(&local),
            components: self
                .components
                .iter()
                .filter_map(|(id, impact)| Some((names.get(id)?.clone(), *impact)))
                .collect(),
            updates: self
                .updates
                .iter()
                .map(|u| UpdateView {
                    status: u.status,
                    body: u.body.pick(language, fallback),
                    at: local(u.created_ms),
                })
                .collect(),
            postmortem: self.postmortem.pick(language, fallback),
        }
    }
}

/// A new incident, checked.
#[derive(Clone, Debug)]
pub struct NewIncident {
    pub title: Texts,
    pub impact: String,
    pub status: IncidentStatus,
    pub body: Texts,
    pub components: Vec<(i64, ComponentState)>,
}

/// One update, checked.
#[derive(Clone, Debug)]
pub struct NewUpdate {
    pub status: IncidentStatus,
    pub body: Texts,
}

fn texts_from_form(check: &mut FormCheck<'_>, form: &[(String, String)], field: &str, max: usize) -> Option<Texts> {
    let mut texts = BTreeMap::new();
    for language in LANGUAGES {
        let name = format!("{field}_{language}");
        let value = form.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v.trim());
        if value.chars().count() > max {
            check.problem(&name, FieldProblem::TooLong);
            return None;
        }
        if !value.is_empty() {
            texts.insert(language.to_string(), value.to_string());
        }
    }
    if texts.is_empty() {
        check.problem(&format!("{field}_en"), FieldProblem::Required);
        return None;
    }
    Some(Texts(texts))
}

fn parse_status(raw: &str) -> std::result::Result<IncidentStatus, FieldProblem> {
    IncidentStatus::parse(if raw.is_empty() { "investigating" } else { raw }).ok_or(FieldProblem::InvalidChoice)
}

/// The components of this client named by `ids`.
async fn own_components(db: &SqlitePool, client_id: i64, ids: &[i64]) -> std::result::Result<Vec<i64>, sqlx::Error> {
    let mine: Vec<i64> = sqlx::query_scalar("SELECT id FROM components WHERE client_id = ?")
        .bind(client_id)
        .fetch_all(db)
        .await?;
    Ok(ids.iter().copied().filter(|id| mine.contains(id)).collect())
}

impl NewIncident {
    /// From the settings page's form: `title_en`…, `impact`, `status`, `body_en`…, the
    /// checked `component` ids and the `component_state` they show.
    pub async fn from_form(db: &SqlitePool, client_id: i64, form: &[(String, String)]) -> Result<NewIncident> {
        let mut check = FormCheck::new(form);
        let title = texts_from_form(&mut check, form, "title", 200);
        let body = texts_from_form(&mut check, form, "body", 5000);
        let impact = check.field("impact", |raw| {
            IMPACTS
                .iter()
                .find(|i| **i == raw)
                .map(|i| i.to_string())
                .ok_or(FieldProblem::InvalidChoice)
        });
        let status = check.field("status", parse_status);
        let state = check.field("component_state", |raw| {
            ComponentState::parse(raw)
                .filter(|s| *s != ComponentState::Operational)
                .ok_or(FieldProblem::InvalidChoice)
        });
        let ids: Vec<i64> = form
            .iter()
            .filter(|(n, _)| n == "component")
            .filter_map(|(_, v)| v.parse().ok())
            .collect();
        let ids = own_components(db, client_id, &ids).await?;
        check.finish(|| {
            let state = state?;
            Some(NewIncident {
                title: title?,
                impact: impact?,
                status: status?,
                body: body?,
                components: ids.into_iter().map(|id| (id, state)).collect(),
            })
        })
    }
}

impl NewUpdate {
    pub fn from_form(form: &[(String, String)]) -> Result<NewUpdate> {
        let mut check = FormCheck::new(form);
        let body = texts_from_form(&mut check, form, "body", 5000);
        let status = check.field("status", parse_status);
        check.finish(|| {
            Some(NewUpdate {
                status: status?,
                body: body?,
            })
        })
    }
}

/// What the API takes: Statuspage's fields, texts as a string (in the client's language)
/// or an object by language.
#[derive(Deserialize)]
pub struct ApiIncident {
    pub name: ApiText,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub impact: Option<String>,
    #[serde(default)]
    pub body: Option<ApiText>,
    /// Component id → state while open (Statuspage's `components` object).
    #[serde(default)]
    pub components: BTreeMap<String, String>,
}

#[derive(Deserialize)]
pub struct ApiUpdate {
    pub status: String,
    pub body: ApiText,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum ApiText {
    Plain(String),
    ByLanguage(BTreeMap<String, String>),
}

impl ApiText {
    fn texts(self, language: &str) -> std::result::Result<Texts, String> {
        let texts = match self {
            ApiText::Plain(text) => BTreeMap::from([(language.to_string(), text)]),
            ApiText::ByLanguage(map) => map,
        };
        if let Some(other) = texts.keys().find(|l| !LANGUAGES.contains(&l.as_str())) {
            return Err(format!("{other:?} is not a language of the page (en, de, fr)"));
        }
        let texts = Texts(texts);
        if texts.is_empty() {
            return Err("the text is empty".into());
        }
        Ok(texts)
    }
}

impl ApiIncident {
    /// Checks the request; a component of another client is refused like a missing one.
    pub async fn check(
        self,
        db: &SqlitePool,
        client_id: i64,
        language: &str,
    ) -> std::result::Result<NewIncident, String> {
        let title = self.name.texts(language).map_err(|e| format!("name: {e}"))?;
        let status = IncidentStatus::parse(self.status.as_deref().unwrap_or("investigating"))
            .ok_or("status: one of investigating, identified, monitoring, resolved")?;
        let impact = self.impact.unwrap_or_else(|| "minor".into());
        if !IMPACTS.contains(&impact.as_str()) {
            return Err("impact: one of none, minor, major, critical".into());
        }
        let body = match self.body {
            Some(body) => body.texts(language).map_err(|e| format!("body: {e}"))?,
            None => title.clone(),
        };
        let mut components = Vec::new();
        for (id, state) in self.components {
            let parsed = id.parse::<i64>().ok();
            let own = match parsed {
                Some(id) => own_components(db, client_id, &[id]).await.map_err(|e| e.to_string())?,
                None => vec![],
            };
            let Some(id) = own.first() else {
                return Err(format!("components: no component {id:?}"));
            };
            let state = ComponentState::parse(&state)
                .ok_or_else(|| format!("components: {state:?} is not a component status"))?;
            components.push((*id, state));
        }
        Ok(NewIncident {
            title,
            impact,
            status,
            body,
            components,
        })
    }
}

impl ApiUpdate {
    pub fn check(self, language: &str) -> std::result::Result<NewUpdate, String> {
        Ok(NewUpdate {
            status: IncidentStatus::parse(&self.status)
                .ok_or("status: one of investigating, identified, monitoring, resolved")?,
            body: self.body.texts(language).map_err(|e| format!("body: {e}"))?,
        })
    }
}

/// Opens an incident with its first update; returns its id.
pub async fn open(db: &SqlitePool, agency_id: i64, client_id: i64, new: &NewIncident) -> Result<i64> {
    let now = crate::store::now_ms();
    let mut tx = crate::db::write(db).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (agency_id, client_id, title, impact, status, created_ms, updated_ms, monitoring_ms, resolved_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, CASE WHEN ?5 = 'monitoring' THEN ?6 END, CASE WHEN ?5 = 'resolved' THEN ?6 END)
         RETURNING id",
    )
    .bind(agency_id)
    .bind(client_id)
    .bind(new.title.json())
    .bind(&new.impact)
    .bind(new.status.as_str())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    for (component, state) in &new.components {
        sqlx::query(
            "INSERT INTO incident_components (client_id, incident_id, component_id, impact) VALUES (?, ?, ?, ?)",
        )
        .bind(client_id)
        .bind(id)
        .bind(component)
        .bind(state.as_str())
        .execute(&mut *tx)
        .await?;
    }
    insert_update(&mut tx, client_id, id, new.status, &new.body, now).await?;
    tx.commit().await?;
    Ok(id)
}

async fn insert_update(
    tx: &mut sqlx::SqliteConnection,
    client_id: i64,
    incident_id: i64,
    status: IncidentStatus,
    body: &Texts,
    now: i64,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO incident_updates (client_id, incident_id, status, body, created_ms) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(client_id)
    .bind(incident_id)
    .bind(status.as_str())
    .bind(body.json())
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

/// Adds an update to an incident of this client and moves it to the update's status;
/// `NotFound` for another client's. Returns the incident's title (in `language`).
pub async fn update(db: &SqlitePool, client_id: i64, id: i64, new: &NewUpdate, language: &str) -> Result<String> {
    let now = crate::store::now_ms();
    let mut tx = crate::db::write(db).await?;
    let title: Option<String> = sqlx::query_scalar(
        "UPDATE incidents SET status = ?1, updated_ms = ?2,
             monitoring_ms = CASE WHEN ?1 = 'monitoring' THEN COALESCE(monitoring_ms, ?2) ELSE monitoring_ms END,
             resolved_ms = CASE WHEN ?1 = 'resolved' THEN COALESCE(resolved_ms, ?2) ELSE NULL END
         WHERE id = ?3 AND client_id = ?4 RETURNING title",
    )
    .bind(new.status.as_str())
    .bind(now)
    .bind(id)
    .bind(client_id)
    .fetch_optional(&mut *tx)
    .await?;
    let title = title.ok_or(TenancyError::NotFound)?;
    insert_update(&mut tx, client_id, id, new.status, &new.body, now).await?;
    tx.commit().await?;
    Ok(Texts::parse(&title).pick(language, language))
}

/// Sets the post-mortem of an incident of this client; returns its title.
pub async fn set_postmortem(
    db: &SqlitePool,
    client_id: i64,
    id: i64,
    form: &[(String, String)],
    language: &str,
) -> Result<String> {
    let mut check = FormCheck::new(form);
    let texts = texts_from_form(&mut check, form, "postmortem", 20_000);
    let texts = check.finish(|| texts)?;
    let title: Option<String> = sqlx::query_scalar(
        "UPDATE incidents SET postmortem = ?, updated_ms = ? WHERE id = ? AND client_id = ? RETURNING title",
    )
    .bind(texts.json())
    .bind(crate::store::now_ms())
    .bind(id)
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    let title = title.ok_or(TenancyError::NotFound)?;
    Ok(Texts::parse(&title).pick(language, language))
}

type IncidentRow = (i64, String, String, String, String, i64, i64, Option<i64>, Option<i64>);

/// A client's incidents, newest first: unresolved only, or all since `since_ms`.
pub async fn of_client(
    db: &SqlitePool,
    client_id: i64,
    unresolved_only: bool,
    since_ms: i64,
) -> std::result::Result<Vec<Incident>, sqlx::Error> {
    let rows: Vec<IncidentRow> = sqlx::query_as(
        "SELECT id, title, impact, status, postmortem, created_ms, updated_ms, monitoring_ms, resolved_ms
         FROM incidents WHERE client_id = ?1 AND (resolved_ms IS NULL OR (?2 = 0 AND created_ms >= ?3))
         ORDER BY created_ms DESC, id DESC LIMIT 200",
    )
    .bind(client_id)
    .bind(unresolved_only)
    .bind(since_ms)
    .fetch_all(db)
    .await?;
    let updates: Vec<(i64, i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, incident_id, status, body, created_ms FROM incident_updates WHERE client_id = ?
         ORDER BY created_ms DESC, id DESC",
    )
    .bind(client_id)
    .fetch_all(db)
    .await?;
    let affected: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT incident_id, component_id, impact FROM incident_components WHERE client_id = ?")
            .bind(client_id)
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, title, impact, status, postmortem, created_ms, updated_ms, monitoring_ms, resolved_ms)| Incident {
                id,
                title: Texts::parse(&title),
                impact,
                status: IncidentStatus::parse(&status).unwrap_or(IncidentStatus::Investigating),
                postmortem: Texts::parse(&postmortem),
                created_ms,
                updated_ms,
                monitoring_ms,
                resolved_ms,
                components: affected
                    .iter()
                    .filter(|(incident, _, _)| *incident == id)
                    .filter_map(|(_, component, impact)| Some((*component, ComponentState::parse(impact)?)))
                    .collect(),
                updates: updates
                    .iter()
                    .filter(|(_, incident, ..)| *incident == id)
                    .map(|(update, _, status, body, created_ms)| Update {
                        id: *update,
                        status: IncidentStatus::parse(status).unwrap_or(IncidentStatus::Investigating),
                        body: Texts::parse(body),
                        created_ms: *created_ms,
                    })
                    .collect(),
            },
        )
        .collect())
}

/// The state each component shows because of open incidents (the worst, when several).
pub async fn open_impacts(db: &SqlitePool) -> std::result::Result<HashMap<i64, ComponentState>, sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT ic.component_id, ic.impact FROM incident_components ic
         JOIN incidents i ON i.id = ic.incident_id WHERE i.resolved_ms IS NULL",
    )
    .fetch_all(db)
    .await?;
    let mut impacts: HashMap<i64, ComponentState> = HashMap::new();
    for (component, impact) in rows {
        if let Some(state) = ComponentState::parse(&impact) {
            let entry = impacts.entry(component).or_insert(state);
            *entry = (*entry).max(state);
        }
    }
    Ok(impacts)
}

/// Who may write incidents on the pages: agency people.
pub fn may_write(caller: &crate::tenancy::scope::Caller) -> Result<()> {
    if caller.role.is_agency() {
        Ok(())
    } else {
        Err(TenancyError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_shown_in_the_readers_language_else_the_clients_else_any() {
        let texts = Texts(BTreeMap::from([
            ("de".to_string(), "Wir untersuchen".to_string()),
            ("fr".to_string(), "Nous examinons".to_string()),
        ]));
        assert_eq!(texts.pick("fr", "de"), "Nous examinons");
        assert_eq!(texts.pick("en", "de"), "Wir untersuchen");
        assert_eq!(texts.pick("en", "en"), "Wir untersuchen");
        assert_eq!(Texts::default().pick("en", "de"), "");
    }

    #[test]
    fn api_texts_are_plain_or_by_language_and_checked() {
        let plain: ApiText = serde_json::from_str("\"Checkout is down\"").unwrap();
        assert_eq!(plain.texts("de").unwrap().pick("de", "de"), "Checkout is down");
        let by: ApiText = serde_json::from_str(r#"{"en": "Down", "de": "Ausgefallen"}"#).unwrap();
        assert_eq!(by.texts("en").unwrap().pick("de", "en"), "Ausgefallen");
        let bad: ApiText = serde_json::from_str(r#"{"es": "Caído"}"#).unwrap();
        assert!(bad.texts("en").unwrap_err().contains("\"es\""));
        let empty: ApiText = serde_json::from_str("\"  \"").unwrap();
        assert!(empty.texts("en").is_err());
        let update: ApiUpdate = serde_json::from_str(r#"{"status": "fixed", "body": "x"}"#).unwrap();
        assert!(update.check("en").is_err());
    }
}
