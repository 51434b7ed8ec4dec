//! A status page's components: each is derived from probes (failing a number of times in
//! a row), scrape targets (down) and thresholds (in alarm), each source with the impact the
//! agency gave it; the worst failing source sets the state, an override set by hand wins,
//! and a component whose every source is muted by an active maintenance is under
//! maintenance. Every change of state is kept (`component_states`), from which the daily
//! uptime is computed.

use super::probes::Prober;
use super::uptime::Change;
use crate::rules::alerting::AlertState;
use crate::rules::evaluator::Evaluator;
use crate::rules::silences::{self, Silence};
use crate::scrape::manager::Scraper;
use crate::store;
use crate::tenancy::scope::{Caller, ScopedClient};
use crate::tenancy::{FormCheck, Result, TenancyError, is_unique_violation};
use app::dto::{ComponentState, FieldProblem};
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::Notify;
use vitrine_promql::Labels;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Probe,
    Target,
    Threshold,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Probe => "probe",
            SourceKind::Target => "target",
            SourceKind::Threshold => "threshold",
        }
    }

    fn parse(raw: &str) -> Option<SourceKind> {
        [SourceKind::Probe, SourceKind::Target, SourceKind::Threshold]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

#[derive(Clone, Debug)]
pub struct Source {
    pub id: i64,
    pub kind: SourceKind,
    pub source_id: i64,
    pub impact: ComponentState,
    pub failures: u32,
}

#[derive(Clone, Debug)]
pub struct Component {
    pub id: i64,
    pub client_id: i64,
    pub group_name: String,
    pub name: String,
    pub description: String,
    pub override_state: Option<ComponentState>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub sources: Vec<Source>,
}

/// The components of one client (`Some`) or of all, in page order, with their sources.
pub async fn load(db: &SqlitePool, client_id: Option<i64>) -> std::result::Result<Vec<Component>, sqlx::Error> {
    type ComponentRow = (i64, i64, String, String, String, Option<String>, i64, i64);
    let rows: Vec<ComponentRow> = sqlx::query_as(
        "SELECT id, client_id, group_name, name, description, override_state, created_ms, updated_ms
         FROM components WHERE ?1 IS NULL OR client_id = ?1 ORDER BY client_id, position, id",
    )
    .bind(client_id)
    .fetch_all(db)
    .await?;
    let sources: Vec<(i64, i64, String, i64, String, i64)> = sqlx::query_as(
        "SELECT id, component_id, kind, source_id, impact, failures FROM component_sources
         WHERE ?1 IS NULL OR client_id = ?1 ORDER BY id",
    )
    .bind(client_id)
    .fetch_all(db)
    .await?;
    let mut by_component: HashMap<i64, Vec<Source>> = HashMap::new();
    for (id, component, kind, source_id, impact, failures) in sources {
        let (Some(kind), Some(impact)) = (SourceKind::parse(&kind), ComponentState::parse(&impact)) else {
            continue;
        };
        by_component.entry(component).or_default().push(Source {
            id,
            kind,
            source_id,
            impact,
            failures: failures.max(1) as u32,
        });
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, client_id, group_name, name, description, override_state, created_ms, updated_ms)| Component {
                id,
                client_id,
                group_name,
                name,
                description,
                override_state: override_state.as_deref().and_then(ComponentState::parse),
                created_ms,
                updated_ms,
                sources: by_component.remove(&id).unwrap_or_default(),
            },
        )
        .collect())
}

/// Who may change a status page: agency people.
fn may_manage(caller: &Caller) -> Result<()> {
    if caller.role.is_agency() {
        Ok(())
    } else {
        Err(TenancyError::Forbidden)
    }
}

/// `probe:12`, `target:3`, `threshold:5`: a source of this client, checked.
async fn parse_source(db: &SqlitePool, client_id: i64, raw: &str) -> Option<(SourceKind, i64)> {
    let (kind, id) = raw.split_once(':')?;
    let kind = SourceKind::parse(kind)?;
    let id: i64 = id.parse().ok()?;
    let table = match kind {
        SourceKind::Probe => "probes",
        SourceKind::Target => "targets",
        SourceKind::Threshold => "thresholds",
    };
    let found: Option<i64> = sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE id = ? AND client_id = ?"))
        .bind(id)
        .bind(client_id)
        .fetch_optional(db)
        .await
        .ok()
        .flatten();
    found.map(|id| (kind, id))
}

/// The impact field: one of the three bad states.
fn parse_impact(raw: &str) -> std::result::Result<ComponentState, FieldProblem> {
    match ComponentState::parse(raw) {
        Some(
            state @ (ComponentState::DegradedPerformance | ComponentState::PartialOutage | ComponentState::MajorOutage),
        ) => Ok(state),
        _ => Err(FieldProblem::InvalidChoice),
    }
}

fn parse_failures(raw: &str) -> std::result::Result<u32, FieldProblem> {
    match raw.trim() {
        "" => Ok(1),
        raw => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or(FieldProblem::InvalidNumber),
    }
}

/// A source to add to a component.
pub struct NewSource {
    pub kind: SourceKind,
    pub source_id: i64,
    pub impact: ComponentState,
    pub failures: u32,
}

async fn source_from_form(
    db: &SqlitePool,
    client_id: i64,
    form: &[(String, String)],
    check: &mut FormCheck<'_>,
) -> Option<NewSource> {
    let raw = form.iter().find(|(n, _)| n == "source").map_or("", |(_, v)| v.as_str());
    let source = parse_source(db, client_id, raw).await;
    if source.is_none() {
        check.problem("source", FieldProblem::InvalidChoice);
    }
    let impact = check.field("impact", parse_impact);
    let failures = check.field("failures", parse_failures);
    let (kind, source_id) = source?;
    Some(NewSource {
        kind,
        source_id,
        impact: impact?,
        failures: failures?,
    })
}

async fn insert_source(
    tx: &mut sqlx::SqliteConnection,
    agency_id: i64,
    client_id: i64,
    component_id: i64,
    source: &NewSource,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO component_sources (agency_id, client_id, component_id, kind, source_id, impact, failures)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (component_id, kind, source_id) DO UPDATE SET impact = excluded.impact, failures = excluded.failures",
    )
    .bind(agency_id)
    .bind(client_id)
    .bind(component_id)
    .bind(source.kind.as_str())
    .bind(source.source_id)
    .bind(source.impact.as_str())
    .bind(source.failures)
    .execute(tx)
    .await?;
    Ok(())
}

/// Adds a component with its first source (agency people); returns its name.
pub async fn create(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    form: &[(String, String)],
) -> Result<String> {
    may_manage(caller)?;
    let mut check = FormCheck::new(form);
    let text = |max: usize, required: bool| {
        move |raw: &str| match raw.trim() {
            "" if required => Err(FieldProblem::Required),
            _ if raw.chars().count() > max => Err(FieldProblem::TooLong),
            trimmed => Ok(trimmed.to_string()),
        }
    };
    let name = check.field("name", text(100, true));
    let group = check.field("group", text(100, false));
    let description = check.field("description", text(500, false));
    let source = source_from_form(db, client.id, form, &mut check).await;
    let (name, group, description, source) = check.finish(|| Some((name?, group?, description?, source?)))?;
    let new = NewComponent {
        group,
        name,
        description,
        sources: vec![source],
    };
    match insert(db, client.agency_id, client.id, &new, store::now_ms()).await {
        Ok(_) => Ok(new.name),
        Err(TenancyError::Duplicate) => Err(FormCheck::new(form).fail("name", FieldProblem::Taken)),
        Err(e) => Err(e),
    }
}

/// A component to add, with its sources.
pub struct NewComponent {
    pub group: String,
    pub name: String,
    pub description: String,
    pub sources: Vec<NewSource>,
}

/// Stores a component of a client (from the form and the demo); `Duplicate` when the name is taken.
pub async fn insert(
    db: &SqlitePool,
    agency_id: i64,
    client_id: i64,
    new: &NewComponent,
    created_ms: i64,
) -> Result<i64> {
    let mut tx = crate::db::write(db).await?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO components (agency_id, client_id, group_name, name, description, position, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, (SELECT COALESCE(MAX(position), 0) + 1 FROM components WHERE client_id = ?2), ?6, ?6)
         RETURNING id",
    )
    .bind(agency_id)
    .bind(client_id)
    .bind(&new.group)
    .bind(&new.name)
    .bind(&new.description)
    .bind(created_ms)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Err(TenancyError::Duplicate),
        Err(e) => return Err(e.into()),
    };
    for source in &new.sources {
        insert_source(&mut tx, agency_id, client_id, id, source).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// The name of a component of this client; `NotFound` for any other.
async fn name_of(db: &SqlitePool, client: &ScopedClient, id: i64) -> Result<String> {
    sqlx::query_scalar("SELECT name FROM components WHERE id = ? AND client_id = ?")
        .bind(id)
        .bind(client.id)
        .fetch_optional(db)
        .await?
        .ok_or(TenancyError::NotFound)
}

/// Adds a source to a component (or changes its impact); returns the component's name.
pub async fn add_source(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    id: i64,
    form: &[(String, String)],
) -> Result<String> {
    let name = name_of(db, client, id).await?;
    may_manage(caller)?;
    let mut check = FormCheck::new(form);
    let source = source_from_form(db, client.id, form, &mut check).await;
    let source = check.finish(|| source)?;
    let mut tx = crate::db::write(db).await?;
    insert_source(&mut tx, client.agency_id, client.id, id, &source).await?;
    touch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(name)
}

async fn touch(tx: &mut sqlx::SqliteConnection, id: i64) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("UPDATE components SET updated_ms = ? WHERE id = ?")
        .bind(store::now_ms())
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Sets the state by hand (`state` empty: back to what the sources say), for agency people.
pub async fn set_override(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    id: i64,
    state: &str,
) -> Result<String> {
    name_of(db, client, id).await?;
    may_manage(caller)?;
    override_state(db, client.id, id, state).await
}

/// Sets the state of a component of this client by hand (`state` empty: back to the
/// sources); `NotFound` for another client's. Returns its name.
pub async fn override_state(db: &SqlitePool, client_id: i64, id: i64, state: &str) -> Result<String> {
    let state = match state {
        "" => None,
        raw => Some(
            ComponentState::parse(raw).ok_or_else(|| FormCheck::new(&[]).fail("state", FieldProblem::InvalidChoice))?,
        ),
    };
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE components SET override_state = ?, updated_ms = ? WHERE id = ? AND client_id = ? RETURNING name",
    )
    .bind(state.map(ComponentState::as_str))
    .bind(store::now_ms())
    .bind(id)
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    name.ok_or(TenancyError::NotFound)
}

pub async fn delete(db: &SqlitePool, caller: &Caller, client: &ScopedClient, id: i64) -> Result<String> {
    let name = name_of(db, client, id).await?;
    may_manage(caller)?;
    sqlx::query("DELETE FROM components WHERE id = ? AND client_id = ?")
        .bind(id)
        .bind(client.id)
        .execute(db)
        .await?;
    Ok(name)
}

/// The sources a client's components may use, as (`kind:id`, words), for the forms.
pub async fn choices(db: &SqlitePool, client_id: i64) -> std::result::Result<Vec<(String, String)>, sqlx::Error> {
    let probes = super::probes::names(db, client_id).await?;
    let targets: Vec<(i64, String)> = sqlx::query_as(
        "SELECT t.id, p.name || ' / ' || e.name || ' / ' || t.job || ' ' || t.url
         FROM targets t JOIN projects p ON p.id = t.project_id JOIN environments e ON e.id = t.environment_id
         WHERE t.client_id = ? ORDER BY 2",
    )
    .bind(client_id)
    .fetch_all(db)
    .await?;
    let thresholds: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM thresholds WHERE client_id = ? ORDER BY name")
            .bind(client_id)
            .fetch_all(db)
            .await?;
    let mut all = Vec::new();
    for (kind, list) in [
        (SourceKind::Probe, probes),
        (SourceKind::Target, targets),
        (SourceKind::Threshold, thresholds),
    ] {
        all.extend(
            list.into_iter()
                .map(|(id, name)| (format!("{}:{id}", kind.as_str()), name)),
        );
    }
    Ok(all)
}

/// The labels a maintenance silence is matched against for a source: its place (and, for a
/// threshold, its alert's labels).
#[derive(Clone, Debug, Default)]
pub struct SourcePlaces {
    pub labels: HashMap<(i64, &'static str), Labels>,
}

async fn places(db: &SqlitePool) -> std::result::Result<SourcePlaces, sqlx::Error> {
    let mut places = SourcePlaces::default();
    for (kind, table) in [("probe", "probes"), ("target", "targets")] {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
            "SELECT x.id, p.slug, e.name FROM {table} x
             JOIN projects p ON p.id = x.project_id JOIN environments e ON e.id = x.environment_id"
        ))
        .fetch_all(db)
        .await?;
        for (id, project, environment) in rows {
            let labels = Labels::from_pairs(&[("project", project.as_str()), ("environment", environment.as_str())]);
            places.labels.insert((id, kind), labels);
        }
    }
    for threshold in crate::rules::all(db).await.unwrap_or_default() {
        let pairs: Vec<(&str, String)> = threshold.alert_labels();
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
        places
            .labels
            .insert((threshold.id, "threshold"), Labels::from_pairs(&pairs));
    }
    Ok(places)
}

/// Keeps every component's state: derives it every few seconds, writes each change, and
/// tells the public pages when a client's states changed.
pub struct Board {
    pool: SqlitePool,
    prober: Arc<Prober>,
    scraper: Arc<Scraper>,
    rules: Arc<Evaluator>,
    /// The state of each component as last written.
    current: Mutex<Option<HashMap<i64, ComponentState>>>,
    /// Per client: a number that grows whenever its page may look different.
    versions: RwLock<HashMap<i64, u64>>,
    changed: Notify,
}

impl Board {
    pub fn new(pool: SqlitePool, prober: Arc<Prober>, scraper: Arc<Scraper>, rules: Arc<Evaluator>) -> Arc<Board> {
        Arc::new(Board {
            pool,
            prober,
            scraper,
            rules,
            current: Mutex::new(None),
            versions: RwLock::default(),
            changed: Notify::new(),
        })
    }

    pub fn prober(&self) -> &Arc<Prober> {
        &self.prober
    }

    /// The version of a client's page: changes when a state, incident or setting changes.
    pub fn version(&self, client_id: i64) -> u64 {
        *self
            .versions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&client_id)
            .unwrap_or(&0)
    }

    /// A setting, component or override changed: the page is rebuilt and states derived now.
    pub fn client_changed(&self, client_id: i64) {
        *self
            .versions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(client_id)
            .or_default() += 1;
        self.changed.notify_one();
    }

    /// Whether a source fails now, by what its probe, target or threshold last reported.
    pub fn failing(&self, source: &Source) -> bool {
        match source.kind {
            SourceKind::Probe => self
                .prober
                .health(source.source_id)
                .is_some_and(|h| h.failures_in_row >= source.failures),
            SourceKind::Target => self.scraper.health(source.source_id).is_some_and(|h| !h.up),
            SourceKind::Threshold => self.rules.status(source.source_id).state == Some(AlertState::Firing),
        }
    }

    /// What a component's state is now: set by hand, else the worse of its sources and of
    /// the open incidents affecting it (`incident`).
    pub fn derive(
        &self,
        component: &Component,
        places: &SourcePlaces,
        maintenance: &[Silence],
        incident: Option<ComponentState>,
        now_ms: i64,
    ) -> ComponentState {
        if let Some(state) = component.override_state {
            return state;
        }
        let sources = self.sources_say(component, places, maintenance, now_ms);
        incident.map_or(sources, |incident| incident.max(sources))
    }

    /// What the sources say: the worst impact of those failing; under maintenance when a
    /// maintenance mutes every one.
    fn sources_say(
        &self,
        component: &Component,
        places: &SourcePlaces,
        maintenance: &[Silence],
        now_ms: i64,
    ) -> ComponentState {
        let muted = |source: &Source| {
            places
                .labels
                .get(&(source.source_id, source.kind.as_str()))
                .is_some_and(|labels| !silences::silenced_by(maintenance, labels, now_ms).is_empty())
        };
        let live: Vec<&Source> = component.sources.iter().filter(|s| !muted(s)).collect();
        if live.is_empty() && !component.sources.is_empty() {
            return ComponentState::UnderMaintenance;
        }
        live.into_iter()
            .filter(|s| self.failing(s))
            .map(|s| s.impact)
            .max()
            .unwrap_or(ComponentState::Operational)
    }

    /// Derives every component's state and writes the changes.
    pub async fn tick(&self) -> std::result::Result<(), sqlx::Error> {
        let now_ms = store::now_ms();
        let components = load(&self.pool, None).await?;
        let places = places(&self.pool).await?;
        let incidents = super::incidents::open_impacts(&self.pool).await?;
        if self.current.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
            let last: Vec<(i64, String)> = sqlx::query_as(
                "SELECT s.component_id, s.state FROM component_states s
                 WHERE s.id = (SELECT MAX(id) FROM component_states WHERE component_id = s.component_id)",
            )
            .fetch_all(&self.pool)
            .await?;
            let last = last
                .into_iter()
                .filter_map(|(id, state)| Some((id, ComponentState::parse(&state)?)))
                .collect();
            *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(last);
        }
        let mut silences_of: HashMap<i64, Vec<Silence>> = HashMap::new();
        let mut changes = Vec::new();
        for component in &components {
            let maintenance = match silences_of.entry(component.client_id) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(new) => {
                    new.insert(silences::active(&self.pool, component.client_id, now_ms).await?)
                }
            };
            let state = self.derive(
                component,
                &places,
                maintenance,
                incidents.get(&component.id).copied(),
                now_ms,
            );
            let known = self
                .current
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .and_then(|current| current.get(&component.id).copied());
            if known != Some(state) {
                changes.push((component.client_id, component.id, state));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = crate::db::write(&self.pool).await?;
        for (client_id, id, state) in &changes {
            sqlx::query("INSERT INTO component_states (client_id, component_id, state, at_ms) VALUES (?, ?, ?, ?)")
                .bind(client_id)
                .bind(id)
                .bind(state.as_str())
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let current = current.get_or_insert_default();
        let mut versions = self.versions.write().unwrap_or_else(|p| p.into_inner());
        for (client_id, id, state) in changes {
            tracing::info!(component = id, state = state.as_str(), "component state changed");
            current.insert(id, state);
            *versions.entry(client_id).or_default() += 1;
        }
        Ok(())
    }

    /// The state last written for a component.
    pub fn state(&self, component_id: i64) -> ComponentState {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(|c| c.get(&component_id).copied())
            .unwrap_or(ComponentState::Operational)
    }

    pub async fn run(self: Arc<Self>) {
        loop {
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "deriving component states");
            }
            tokio::select! {
                _ = self.changed.notified() => {},
                _ = tokio::time::sleep(Duration::from_secs(5)) => {},
            }
        }
    }
}

/// A component's state changes, oldest first, from `since_ms` on (with the one in force then).
pub async fn changes(
    db: &SqlitePool,
    component_id: i64,
    since_ms: i64,
) -> std::result::Result<Vec<Change>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, at_ms FROM component_states WHERE component_id = ?1 AND id >= COALESCE(
             (SELECT MAX(id) FROM component_states WHERE component_id = ?1 AND at_ms <= ?2), 0)
         ORDER BY id",
    )
    .bind(component_id)
    .bind(since_ms)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(state, at_ms)| {
            Some(Change {
                at_ms,
                state: ComponentState::parse(&state)?,
            })
        })
        .collect())
}

/// Writes past state changes of a component (the demo's history, so its bars have 90 days).
pub async fn write_history(db: &SqlitePool, client_id: i64, component_id: i64, history: &[Change]) -> Result<()> {
    let mut tx = crate::db::write(db).await?;
    for change in history {
        sqlx::query("INSERT INTO component_states (client_id, component_id, state, at_ms) VALUES (?, ?, ?, ?)")
            .bind(client_id)
            .bind(component_id)
            .bind(change.state.as_str())
            .bind(change.at_ms)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
