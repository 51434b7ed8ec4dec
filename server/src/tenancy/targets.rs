//! Storing scrape targets. Each row holds its target as a prometheus.yml
//! document (`ScrapeTarget::to_prometheus_yml`), sealed with the secret key for its client
//! (it holds the credentials), which the scrape manager opens and imports again; the URL
//! is kept apart (without credentials) for lists.

use super::{Result, TenancyError, is_unique_violation, now};
use crate::secrets;
use sqlx::SqlitePool;
use vitrine_scrape_config::ScrapeTarget;

/// The environment a target belongs to, with its owners.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    pub agency_id: i64,
    pub client_id: i64,
    pub project_id: i64,
    pub environment_id: i64,
}

/// The place of an environment named by slugs, for the operator's command line and the demo.
pub async fn place_of(db: &SqlitePool, client: &str, project: &str, environment: &str) -> Result<Place> {
    let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT e.agency_id, e.client_id, e.project_id, e.id
         FROM environments e JOIN projects p ON p.id = e.project_id JOIN clients c ON c.id = e.client_id
         WHERE c.slug = ? AND p.slug = ? AND e.name = ?",
    )
    .bind(client)
    .bind(project)
    .bind(environment)
    .fetch_optional(db)
    .await?;
    let (agency_id, client_id, project_id, environment_id) = row.ok_or(TenancyError::NotFound)?;
    Ok(Place {
        agency_id,
        client_id,
        project_id,
        environment_id,
    })
}

/// Adds a target; `Duplicate` when the environment has the same job and URL.
/// `builtin` names the demo's own targets, whose address changes at each start.
pub async fn insert(db: &SqlitePool, place: Place, target: &ScrapeTarget, builtin: Option<&str>) -> Result<i64> {
    let now = now();
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO targets (agency_id, client_id, project_id, environment_id, job, url, config, builtin, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(place.agency_id)
    .bind(place.client_id)
    .bind(place.project_id)
    .bind(place.environment_id)
    .bind(target.job())
    // A ScrapeUrl never holds credentials: they live in the configuration only.
    .bind(target.url().as_str())
    .bind(sealed_config(place.client_id, target)?)
    .bind(builtin)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await;
    match inserted {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(TenancyError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// A target's configuration as stored: sealed for its client.
fn sealed_config(client_id: i64, target: &ScrapeTarget) -> Result<String> {
    Ok(secrets::seal(
        &target.to_prometheus_yml(),
        &secrets::target_context(client_id),
    )?)
}

/// The configuration (a prometheus.yml document with its credentials) of a stored target
/// of `client_id`. Never for display.
pub fn open_config(client_id: i64, stored: &str) -> Result<String> {
    Ok(secrets::open(stored, &secrets::target_context(client_id))?)
}

/// Adds the demo's own target, or moves it to its new address.
/// Returns the target's id.
pub async fn upsert_builtin(db: &SqlitePool, place: Place, target: &ScrapeTarget, builtin: &str) -> Result<i64> {
    let existing: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, url, config FROM targets WHERE builtin = ? AND environment_id = ?")
            .bind(builtin)
            .bind(place.environment_id)
            .fetch_optional(db)
            .await?;
    let Some((id, url, config)) = existing else {
        return insert(db, place, target, Some(builtin)).await;
    };
    let same = url == target.url().as_str()
        && open_config(place.client_id, &config).is_ok_and(|config| config == target.to_prometheus_yml());
    if !same {
        // updated_at is the target's version for the scrape manager: it always moves.
        sqlx::query("UPDATE targets SET url = ?, config = ?, updated_at = MAX(updated_at + 1, ?) WHERE id = ?")
            .bind(target.url().as_str())
            .bind(sealed_config(place.client_id, target)?)
            .bind(now())
            .bind(id)
            .execute(db)
            .await?;
    }
    Ok(id)
}

/// What `vitrine targets import` did.
#[derive(Debug, Default)]
pub struct Imported {
    pub added: usize,
    pub duplicates: usize,
}

/// Imports every static target of a prometheus.yml into one environment.
pub async fn import(db: &SqlitePool, place: Place, targets: &[ScrapeTarget]) -> Result<Imported> {
    let mut report = Imported::default();
    for target in targets {
        match insert(db, place, target, None).await {
            Ok(_) => report.added += 1,
            Err(TenancyError::Duplicate) => report.duplicates += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}
