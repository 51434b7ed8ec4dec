//! The public page of a client and its JSON in the shape of Atlassian Statuspage's public
//! API (`/api/v2/summary.json`, `status.json`, `components.json`), so existing Statuspage
//! widgets and monitors read it. Pages are rendered from a cache keyed by client and
//! language and rebuilt when the client's version changes (a state, a component, a
//! setting) or after a minute (today's bar grows during an outage), never per request;
//! each entry keeps its gzip form and an `ETag` of its bytes.

use super::components::{self, Board};
use super::incidents::{self, Incident};
use super::uptime::{self, Weights};
use crate::http::RateLimit;
use crate::tenancy::scope::{Caller, ScopedClient};
use crate::tenancy::{FormCheck, Result, TenancyError};
use app::Locale;
use app::dto::{
    ComponentState, FieldProblem, IncidentStatus, IncidentView, PublicComponent, PublicGroup, PublicHistory,
    PublicStatusPage,
};
use axum::http::HeaderValue;
use jiff::tz::TimeZone;
use sha2::Digest;
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How many days of bars the page shows.
pub const DAYS: usize = 90;
/// The longest a rendered page is served before it is rebuilt.
const MAX_AGE: Duration = Duration::from_secs(60);

/// A client's page settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub published: bool,
    pub time_zone: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            published: false,
            time_zone: "UTC".into(),
        }
    }
}

pub async fn settings(db: &SqlitePool, client_id: i64) -> std::result::Result<Settings, sqlx::Error> {
    let row: Option<(bool, String)> =
        sqlx::query_as("SELECT published, time_zone FROM status_pages WHERE client_id = ?")
            .bind(client_id)
            .fetch_optional(db)
            .await?;
    Ok(row.map_or_else(Settings::default, |(published, time_zone)| Settings {
        published,
        time_zone,
    }))
}

/// Publishes or hides the page and sets its time zone (agency people).
pub async fn save_settings(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    form: &[(String, String)],
) -> Result<()> {
    if !caller.role.is_agency() {
        return Err(TenancyError::Forbidden);
    }
    let mut check = FormCheck::new(form);
    let zone = check.field("time_zone", |raw| {
        let raw = raw.trim();
        match TimeZone::get(raw) {
            Ok(_) if !raw.is_empty() => Ok(raw.to_string()),
            _ => Err(FieldProblem::InvalidChoice),
        }
    });
    let published = form.iter().any(|(n, v)| n == "published" && v == "on");
    let zone = check.finish(|| zone)?;
    store(db, client, published, &zone).await
}

/// Writes a client's page settings.
pub async fn store(db: &SqlitePool, client: &ScopedClient, published: bool, time_zone: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO status_pages (client_id, agency_id, published, time_zone, updated_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (client_id) DO UPDATE SET published = excluded.published, time_zone = excluded.time_zone,
             updated_ms = excluded.updated_ms",
    )
    .bind(client.id)
    .bind(client.agency_id)
    .bind(published)
    .bind(time_zone)
    .bind(crate::store::now_ms())
    .execute(db)
    .await?;
    Ok(())
}

/// A published page's client.
#[derive(Clone, Debug)]
pub struct Published {
    pub client_id: i64,
    pub name: String,
    pub slug: String,
    /// The client's language: texts not written in the reader's are shown in it.
    pub language: String,
    pub settings: Settings,
    /// The contract lets the public follow the page by e-mail.
    pub subscribers: bool,
}

/// The client behind a public slug, if its page is published and the client's contract has the
/// status page add-on (without it the page is not there, whatever its setting).
pub async fn published(db: &SqlitePool, slug: &str) -> std::result::Result<Option<Published>, sqlx::Error> {
    let row: Option<(i64, String, String, String)> = sqlx::query_as(
        "SELECT c.id, c.name, c.language, s.time_zone FROM clients c JOIN status_pages s ON s.client_id = c.id
         WHERE c.slug = ? AND s.published = 1",
    )
    .bind(slug)
    .fetch_optional(db)
    .await?;
    let Some((client_id, name, language, time_zone)) = row else {
        return Ok(None);
    };
    let entitled = crate::billing::entitlements::of(db, client_id, crate::store::now_ms()).await?;
    if !entitled.has(crate::billing::catalogue::Feature::StatusPage) {
        return Ok(None);
    }
    Ok(Some(Published {
        client_id,
        name,
        slug: slug.to_string(),
        language,
        settings: Settings {
            published: true,
            time_zone,
        },
        subscribers: entitled.limit(crate::billing::catalogue::Limit::Subscribers) > 0,
    }))
}

/// The published page of a client, if it is published.
pub async fn published_client(db: &SqlitePool, client_id: i64) -> std::result::Result<Option<Published>, sqlx::Error> {
    let slug: Option<String> = sqlx::query_scalar("SELECT slug FROM clients WHERE id = ?")
        .bind(client_id)
        .fetch_optional(db)
        .await?;
    match slug {
        Some(slug) => published(db, &slug).await,
        None => Ok(None),
    }
}

/// `2026-12-07 15:04` in a time zone.
pub fn local_time(zone: &TimeZone, ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// A component with what the page and the JSON show of it.
pub struct Shown {
    pub component: components::Component,
    pub public: PublicComponent,
    /// When it was last changed: its settings or its state.
    pub changed_ms: i64,
}

/// Everything a public page shows, read once.
pub struct Snapshot {
    pub client_name: String,
    pub slug: String,
    pub language: String,
    pub zone: TimeZone,
    pub time_zone: String,
    pub now_ms: i64,
    pub components: Vec<Shown>,
    /// Unresolved ones (the page and the summary), or those of the last year (the history).
    pub incidents: Vec<Incident>,
    /// The page offers to follow it by e-mail.
    pub subscribe: bool,
}

impl Snapshot {
    pub fn overall(&self) -> ComponentState {
        self.components
            .iter()
            .map(|c| c.public.state)
            .max()
            .unwrap_or(ComponentState::Operational)
    }

    /// `2026-12-07 15:04` in the page's time zone.
    pub fn local_time(&self, ms: i64) -> String {
        local_time(&self.zone, ms)
    }

    /// RFC 3339 with the page's offset, as Statuspage writes times.
    pub fn rfc3339(&self, ms: i64) -> String {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| {
                t.to_zoned(self.zone.clone())
                    .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// The incidents in a language.
    pub fn incident_views(&self, language: &str) -> Vec<IncidentView> {
        let names: HashMap<i64, String> = self
            .components
            .iter()
            .map(|c| (c.component.id, c.component.name.clone()))
            .collect();
        self.incidents
            .iter()
            .map(|i| i.view(language, &self.language, &names, |ms| self.local_time(ms)))
            .collect()
    }

    pub fn history(&self, language: &str) -> PublicHistory {
        PublicHistory {
            client_name: self.client_name.clone(),
            slug: self.slug.clone(),
            time_zone: self.time_zone.clone(),
            incidents: self.incident_views(language),
        }
    }

    pub fn page(&self, language: &str) -> PublicStatusPage {
        let mut groups: Vec<PublicGroup> = Vec::new();
        for shown in &self.components {
            let name = &shown.component.group_name;
            match groups.iter_mut().find(|g| &g.name == name) {
                Some(group) => group.components.push(shown.public.clone()),
                None => groups.push(PublicGroup {
                    name: name.clone(),
                    components: vec![shown.public.clone()],
                }),
            }
        }
        PublicStatusPage {
            client_name: self.client_name.clone(),
            slug: self.slug.clone(),
            overall: self.overall(),
            groups,
            time_zone: self.time_zone.clone(),
            updated: self.local_time(self.now_ms),
            incidents: self.incident_views(language),
            subscribe: self.subscribe,
        }
    }
}

/// Which incidents a snapshot reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Incidents {
    Unresolved,
    LastYear,
}

/// Reads a client's components with their bars, and its incidents.
pub async fn snapshot(
    db: &SqlitePool,
    board: &Board,
    weights: Weights,
    page: &Published,
    which: Incidents,
) -> std::result::Result<Snapshot, sqlx::Error> {
    let (client_id, settings) = (page.client_id, &page.settings);
    let now_ms = crate::store::now_ms();
    let zone = TimeZone::get(&settings.time_zone).unwrap_or(TimeZone::UTC);
    let since_ms = now_ms - (DAYS as i64 + 2) * 86_400_000;
    let mut shown = Vec::new();
    for component in components::load(db, Some(client_id)).await? {
        let changes = components::changes(db, component.id, since_ms).await?;
        let days = uptime::days(&changes, now_ms, &zone, DAYS, weights);
        let changed_ms = changes
            .last()
            .map_or(component.updated_ms, |c| c.at_ms.max(component.updated_ms));
        let public = PublicComponent {
            id: component.id,
            name: component.name.clone(),
            description: component.description.clone(),
            state: board.state(component.id),
            uptime_30: uptime::over(&days, 30),
            uptime_90: uptime::over(&days, DAYS),
            days,
            probed: component
                .sources
                .iter()
                .any(|s| s.kind == components::SourceKind::Probe),
        };
        shown.push(Shown {
            component,
            public,
            changed_ms,
        });
    }
    let incidents = match which {
        Incidents::Unresolved => incidents::of_client(db, client_id, true, 0).await?,
        Incidents::LastYear => incidents::of_client(db, client_id, false, now_ms - 366 * 86_400_000).await?,
    };
    Ok(Snapshot {
        client_name: page.name.clone(),
        slug: page.slug.clone(),
        language: page.language.clone(),
        subscribe: page.subscribers,
        zone,
        time_zone: settings.time_zone.clone(),
        now_ms,
        components: shown,
        incidents,
    })
}

/// A rendered page, as served.
#[derive(Clone)]
pub struct Rendered {
    pub html: bytes::Bytes,
    pub gzip: bytes::Bytes,
    /// A strong validator of the bytes: `"…"`.
    pub etag: HeaderValue,
    /// When these bytes were first built (an HTTP date).
    pub last_modified: HeaderValue,
}

struct Entry {
    version: u64,
    built: Instant,
    page: Rendered,
}

/// Which of a client's public documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Page,
    History,
    Rss,
    Atom,
    /// The overall state as an SVG badge.
    Badge,
    /// A component's state and 90-day uptime as an SVG badge.
    ComponentBadge(i64),
    /// The banner alone, for an `<iframe>` on another site.
    Widget,
}

impl Kind {
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Page | Kind::History | Kind::Widget => "text/html; charset=utf-8",
            Kind::Badge | Kind::ComponentBadge(_) => "image/svg+xml",
            Kind::Rss => "application/rss+xml; charset=utf-8",
            Kind::Atom => "application/atom+xml; charset=utf-8",
        }
    }
}

/// A cached document: a client's, of a kind, in a language.
pub type Key = (i64, Kind, Locale);

/// The rendered pages by client, kind and language.
#[derive(Default)]
pub struct PageCache {
    entries: RwLock<HashMap<Key, Entry>>,
}

impl PageCache {
    /// The cached page if it is still current.
    pub fn get(&self, key: Key, version: u64) -> Option<Rendered> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&key)
            .filter(|e| e.version == version && e.built.elapsed() < MAX_AGE)
            .map(|e| e.page.clone())
    }

    /// Keeps a newly rendered page; the same bytes as before keep their `Last-Modified`.
    pub fn put(&self, key: Key, version: u64, html: String) -> Rendered {
        let etag = format!("\"{}\"", &hex::encode(sha2::Sha256::digest(html.as_bytes()))[..32]);
        // Hex digits between quotes: always a valid header value.
        let etag = HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let last_modified = entries.get(&key).filter(|e| e.page.etag == etag).map_or_else(
            || {
                HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now()))
                    .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
            },
            |e| e.page.last_modified.clone(),
        );
        let page = Rendered {
            gzip: gzip(html.as_bytes()).into(),
            html: html.into(),
            etag,
            last_modified,
        };
        entries.insert(
            key,
            Entry {
                version,
                built: Instant::now(),
                page: page.clone(),
            },
        );
        page
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec does not fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Statuspage's overall indicator and its words for the worst state.
fn indicator(state: ComponentState) -> (&'static str, &'static str) {
    match state {
        ComponentState::Operational => ("none", "All Systems Operational"),
        ComponentState::UnderMaintenance => ("maintenance", "Service Under Maintenance"),
        ComponentState::DegradedPerformance => ("minor", "Minor Service Outage"),
        ComponentState::PartialOutage => ("major", "Partial System Outage"),
        ComponentState::MajorOutage => ("critical", "Major Service Outage"),
    }
}

/// Which of Statuspage's documents.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Document {
    Summary,
    Status,
    Components,
    /// The last 50 incidents (the snapshot of the last year).
    Incidents,
    Unresolved,
}

/// An incident as Statuspage's API writes it, its texts in the client's language.
fn incident_json(
    snapshot: &Snapshot,
    incident: &Incident,
    page_url: &str,
    components: &[serde_json::Value],
) -> serde_json::Value {
    use serde_json::json;
    let language = &snapshot.language;
    let time = |ms: Option<i64>| ms.map(|ms| snapshot.rfc3339(ms));
    let affected: Vec<&serde_json::Value> = components
        .iter()
        .filter(|c| {
            incident
                .components
                .iter()
                .any(|(id, _)| c["id"] == serde_json::Value::String(id.to_string()))
        })
        .collect();
    json!({
        "id": incident.id.to_string(),
        "name": incident.title.pick(language, language),
        "status": incident.status.as_str(),
        "created_at": snapshot.rfc3339(incident.created_ms),
        "updated_at": snapshot.rfc3339(incident.updated_ms),
        "monitoring_at": time(incident.monitoring_ms),
        "resolved_at": time(incident.resolved_ms),
        "impact": incident.impact,
        "shortlink": format!("{page_url}/history#incident-{}", incident.id),
        "started_at": snapshot.rfc3339(incident.created_ms),
        "page_id": snapshot.slug,
        "postmortem_body": (!incident.postmortem.is_empty()).then(|| incident.postmortem.pick(language, language)),
        "incident_updates": incident.updates.iter().map(|u| json!({
            "id": u.id.to_string(),
            "status": u.status.as_str(),
            "body": u.body.pick(language, language),
            "incident_id": incident.id.to_string(),
            "created_at": snapshot.rfc3339(u.created_ms),
            "updated_at": snapshot.rfc3339(u.created_ms),
            "display_at": snapshot.rfc3339(u.created_ms),
            "affected_components": incident.components.iter().map(|(id, state)| json!({
                "code": id.to_string(),
                "name": snapshot.components.iter().find(|c| c.component.id == *id).map(|c| c.component.name.clone()),
                "old_status": "operational",
                "new_status": if u.status == IncidentStatus::Resolved { "operational" } else { state.as_str() },
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "components": affected,
    })
}

/// The JSON of one document, as Statuspage's public API v2 answers.
pub fn json(snapshot: &Snapshot, url: &str, document: Document) -> serde_json::Value {
    use serde_json::json;
    let updated = snapshot
        .components
        .iter()
        .map(|c| c.changed_ms)
        .max()
        .unwrap_or(snapshot.now_ms);
    let page = json!({
        "id": snapshot.slug,
        "name": snapshot.client_name,
        "url": url,
        "time_zone": snapshot.time_zone,
        "updated_at": snapshot.rfc3339(updated),
    });
    let (indicator, description) = indicator(snapshot.overall());
    let status = json!({"indicator": indicator, "description": description});
    let mut components = Vec::new();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (position, shown) in snapshot.components.iter().enumerate() {
        let c = &shown.component;
        let group_id = (!c.group_name.is_empty()).then(|| format!("group-{}", slug_of(&c.group_name)));
        if let Some(id) = &group_id {
            match groups.iter_mut().find(|(g, _)| g == id) {
                Some((_, members)) => members.push(c.id.to_string()),
                None => groups.push((id.clone(), vec![c.id.to_string()])),
            }
        }
        components.push(json!({
            "id": c.id.to_string(),
            "name": c.name,
            "status": shown.public.state.as_str(),
            "created_at": snapshot.rfc3339(c.created_ms),
            "updated_at": snapshot.rfc3339(shown.changed_ms),
            "position": position + 1,
            "description": (!c.description.is_empty()).then_some(&c.description),
            "showcase": true,
            "start_date": snapshot.rfc3339(c.created_ms).get(..10),
            "group_id": group_id,
            "page_id": snapshot.slug,
            "group": false,
            "only_show_if_degraded": false,
        }));
    }
    for (id, members) in groups {
        let in_group: Vec<&Shown> = snapshot
            .components
            .iter()
            .filter(|s| members.contains(&s.component.id.to_string()))
            .collect();
        let worst = in_group
            .iter()
            .map(|s| s.public.state)
            .max()
            .unwrap_or(ComponentState::Operational);
        let first = in_group.first().map(|s| &s.component);
        components.push(json!({
            "id": id,
            "name": first.map(|c| c.group_name.clone()),
            "status": worst.as_str(),
            "created_at": first.map(|c| snapshot.rfc3339(c.created_ms)),
            "updated_at": in_group.iter().map(|s| s.changed_ms).max().map(|ms| snapshot.rfc3339(ms)),
            "position": components.len() + 1,
            "description": null,
            "showcase": false,
            "start_date": null,
            "group_id": null,
            "page_id": snapshot.slug,
            "group": true,
            "only_show_if_degraded": false,
            "components": members,
        }));
    }
    let incidents: Vec<serde_json::Value> = snapshot
        .incidents
        .iter()
        .filter(|i| document != Document::Unresolved || i.resolved_ms.is_none())
        .take(50)
        .map(|i| incident_json(snapshot, i, url, &components))
        .collect();
    match document {
        Document::Status => json!({"page": page, "status": status}),
        Document::Components => json!({"page": page, "components": components}),
        Document::Incidents | Document::Unresolved => json!({"page": page, "incidents": incidents}),
        Document::Summary => json!({
            "page": page,
            "components": components,
            "incidents": incidents,
            "scheduled_maintenances": [],
            "status": status,
        }),
    }
}

/// A group name as an id: lowercase letters and digits, the rest `-`.
fn slug_of(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// What the status routes share: the board of states and the rendered pages.
pub struct StatusPages {
    pub board: Arc<Board>,
    pub cache: PageCache,
    pub weights: Weights,
    /// Sign-ups to the pages' mails per client address (10 an hour) and per e-mail address
    /// (3 a day): a form cannot be used to flood anyone's inbox.
    pub signups_by_ip: RateLimit,
    pub signups_by_address: RateLimit,
    /// What each slug asked for names (a published page or none), so a cached page costs
    /// no query; emptied when any page's settings change, entries live [`SLUG_TTL`].
    slugs: RwLock<HashMap<String, SlugAnswer>>,
}

/// When a slug was looked up, and the published page it names (if any).
type SlugAnswer = (Instant, Option<Arc<Published>>);

/// How long a slug's answer is trusted without asking the database again.
const SLUG_TTL: Duration = Duration::from_secs(10);
/// Most slugs remembered (unknown ones too, so random addresses cost one query each).
const MAX_SLUGS: usize = 10_000;

impl StatusPages {
    pub fn new(board: Arc<Board>, weights: Weights) -> Arc<StatusPages> {
        Arc::new(StatusPages {
            board,
            cache: PageCache::default(),
            weights,
            signups_by_ip: RateLimit::new(10, Duration::from_secs(3600)),
            signups_by_address: RateLimit::new(3, Duration::from_secs(86_400)),
            slugs: RwLock::default(),
        })
    }

    /// The published page behind a slug, remembered for a few seconds.
    pub async fn published(
        &self,
        db: &SqlitePool,
        slug: &str,
    ) -> std::result::Result<Option<Arc<Published>>, sqlx::Error> {
        if let Some((at, known)) = self.slugs.read().unwrap_or_else(|p| p.into_inner()).get(slug)
            && at.elapsed() < SLUG_TTL
        {
            return Ok(known.clone());
        }
        let found = published(db, slug).await?.map(Arc::new);
        let mut slugs = self.slugs.write().unwrap_or_else(|p| p.into_inner());
        if slugs.len() >= MAX_SLUGS {
            slugs.clear();
        }
        slugs.insert(slug.to_string(), (Instant::now(), found.clone()));
        Ok(found)
    }

    /// A page's settings changed (published, hidden, another time zone): forget every slug.
    pub fn settings_changed(&self, client_id: i64) {
        self.slugs.write().unwrap_or_else(|p| p.into_inner()).clear();
        self.board.client_changed(client_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_rebuild_keeps_its_etag_and_last_modified() {
        let cache = PageCache::default();
        let key = (1, Kind::Page, Locale::en);
        let first = cache.put(key, 1, "<p>a</p>".into());
        assert!(cache.get(key, 1).is_some());
        assert!(cache.get(key, 2).is_none(), "a new version is rebuilt");
        assert!(cache.get((1, Kind::Page, Locale::de), 1).is_none());
        assert!(cache.get((1, Kind::History, Locale::en), 1).is_none());
        assert!(cache.get((2, Kind::Page, Locale::en), 1).is_none());
        let again = cache.put(key, 2, "<p>a</p>".into());
        assert_eq!(
            (again.etag.clone(), again.last_modified.clone()),
            (first.etag.clone(), first.last_modified)
        );
        let changed = cache.put(key, 3, "<p>b</p>".into());
        assert_ne!(changed.etag, first.etag);
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&changed.gzip[..]), &mut plain).unwrap();
        assert_eq!(plain, b"<p>b</p>");
    }
}
