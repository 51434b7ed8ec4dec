//! Markers on the time axis (Grafana's annotations): what happened when — a deployment, a
//! newsletter, a cache cleared — drawn on every panel of their place (a client, or one project
//! and environment), as a line or, with an end, a region. They come from the dashboard page,
//! from Grafana's annotation API (deploy scripts written for Grafana work unchanged) and from
//! the thresholds: every alarm is a marker from when it was raised to when it was over. Every
//! function takes the client's id from a scoped caller or a verified token.

use sqlx::{SqliteConnection, SqlitePool};

/// Longest text, most tags and longest tag a marker may have.
const MAX_TEXT: usize = 4000;
const MAX_TAGS: usize = 32;
const MAX_TAG: usize = 100;

#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub id: i64,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub time_ms: i64,
    pub time_end_ms: i64,
    pub text: String,
    pub tags: Vec<String>,
    pub dashboard_uid: Option<String>,
    pub panel_id: Option<i64>,
    /// The threshold whose alarm it marks.
    pub threshold_id: Option<i64>,
    pub created_by: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A marker to store (or the new values of one).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewMarker {
    pub project: Option<String>,
    pub environment: Option<String>,
    pub time_ms: i64,
    pub time_end_ms: i64,
    pub text: String,
    pub tags: Vec<String>,
    pub dashboard_uid: Option<String>,
    pub panel_id: Option<i64>,
    pub created_by: String,
}

/// Why a marker is refused.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    #[error("{0}")]
    Invalid(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl NewMarker {
    /// Checks the limits; tags `project:SLUG` and `environment:NAME` set the place when it is not
    /// given otherwise.
    pub fn checked(mut self) -> Result<NewMarker, MarkerError> {
        if self.text.chars().count() > MAX_TEXT {
            return Err(MarkerError::Invalid(format!(
                "text is longer than {MAX_TEXT} characters"
            )));
        }
        if self.tags.len() > MAX_TAGS || self.tags.iter().any(|t| t.chars().count() > MAX_TAG) {
            return Err(MarkerError::Invalid(format!(
                "at most {MAX_TAGS} tags of at most {MAX_TAG} characters"
            )));
        }
        if self.time_ms < 0 {
            return Err(MarkerError::Invalid("time must be milliseconds since 1970".into()));
        }
        if self.time_end_ms < self.time_ms {
            self.time_end_ms = self.time_ms;
        }
        for tag in &self.tags {
            if let Some(project) = tag.strip_prefix("project:") {
                self.project.get_or_insert_with(|| project.to_string());
            }
            if let Some(environment) = tag.strip_prefix("environment:") {
                self.environment.get_or_insert_with(|| environment.to_string());
            }
        }
        Ok(self)
    }
}

fn now_ms() -> i64 {
    crate::tenancy::now() * 1000
}

pub async fn insert(db: &SqlitePool, client_id: i64, new: &NewMarker) -> Result<i64, sqlx::Error> {
    let now = now_ms();
    sqlx::query_scalar(
        "INSERT INTO markers (client_id, project, environment, time_ms, time_end_ms, text, tags, dashboard_uid,
             panel_id, created_by, created_ms, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(client_id)
    .bind(&new.project)
    .bind(&new.environment)
    .bind(new.time_ms)
    .bind(new.time_end_ms)
    .bind(&new.text)
    .bind(serde_json::to_string(&new.tags).unwrap_or_else(|_| "[]".into()))
    .bind(&new.dashboard_uid)
    .bind(new.panel_id)
    .bind(&new.created_by)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Which markers to list: those overlapping `[from_ms, to_ms]` with every tag of `tags`, of the
/// place (markers of every project or environment included), newest first, at most `limit`.
#[derive(Clone, Debug, Default)]
pub struct Filter<'a> {
    pub from_ms: i64,
    pub to_ms: i64,
    pub tags: Vec<String>,
    pub limit: i64,
    pub project: Option<&'a str>,
    pub environment: Option<&'a str>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    project: Option<String>,
    environment: Option<String>,
    time_ms: i64,
    time_end_ms: i64,
    text: String,
    tags: String,
    dashboard_uid: Option<String>,
    panel_id: Option<i64>,
    threshold_id: Option<i64>,
    created_by: String,
    created_ms: i64,
    updated_ms: i64,
}

impl From<Row> for Marker {
    fn from(row: Row) -> Marker {
        Marker {
            id: row.id,
            project: row.project,
            environment: row.environment,
            time_ms: row.time_ms,
            time_end_ms: row.time_end_ms,
            text: row.text,
            tags: serde_json::from_str(&row.tags).unwrap_or_default(),
            dashboard_uid: row.dashboard_uid,
            panel_id: row.panel_id,
            threshold_id: row.threshold_id,
            created_by: row.created_by,
            created_ms: row.created_ms,
            updated_ms: row.updated_ms,
        }
    }
}

const COLUMNS: &str = "id, project, environment, time_ms, time_end_ms, text, tags, dashboard_uid, panel_id,
     threshold_id, created_by, created_ms, updated_ms";

pub async fn list(db: &SqlitePool, client_id: i64, filter: &Filter<'_>) -> Result<Vec<Marker>, sqlx::Error> {
    // Tags are matched after reading: a client has few markers in a range.
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM markers
         WHERE client_id = ? AND time_ms <= ? AND time_end_ms >= ?
           AND (? IS NULL OR project IS NULL OR project = ?)
           AND (? IS NULL OR environment IS NULL OR environment = ?)
         ORDER BY time_ms DESC, id DESC"
    ))
    .bind(client_id)
    .bind(filter.to_ms)
    .bind(filter.from_ms)
    .bind(filter.project)
    .bind(filter.project)
    .bind(filter.environment)
    .bind(filter.environment)
    .fetch_all(db)
    .await?;
    let limit = usize::try_from(filter.limit.max(1)).unwrap_or(usize::MAX);
    Ok(rows
        .into_iter()
        .map(Marker::from)
        .filter(|m| filter.tags.iter().all(|t| m.tags.contains(t)))
        .take(limit)
        .collect())
}

pub async fn get(db: &SqlitePool, client_id: i64, id: i64) -> Result<Option<Marker>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM markers WHERE client_id = ? AND id = ?"))
        .bind(client_id)
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(Marker::from))
}

/// Replaces a marker's place, times, text and tags; `false` when the client has no such marker.
pub async fn update(db: &SqlitePool, client_id: i64, id: i64, new: &NewMarker) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE markers SET project = ?, environment = ?, time_ms = ?, time_end_ms = ?, text = ?, tags = ?,
             updated_ms = ?
         WHERE client_id = ? AND id = ?",
    )
    .bind(&new.project)
    .bind(&new.environment)
    .bind(new.time_ms)
    .bind(new.time_end_ms)
    .bind(&new.text)
    .bind(serde_json::to_string(&new.tags).unwrap_or_else(|_| "[]".into()))
    .bind(now_ms())
    .bind(client_id)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a marker; `false` when the client has no such marker.
pub async fn delete(db: &SqlitePool, client_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM markers WHERE client_id = ? AND id = ?")
        .bind(client_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The marker of an alarm the client is told of, in the alarm's transaction: from `since_ms`,
/// until [`alarm_over`] sets its end.
pub async fn alarm_raised(
    tx: &mut SqliteConnection,
    threshold: &crate::rules::Threshold,
    since_ms: i64,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO markers (client_id, project, environment, time_ms, time_end_ms, text, tags, threshold_id,
             created_by, created_ms, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, '[\"alarm\"]', ?, 'Vitrine', ?, ?)",
    )
    .bind(threshold.client_id)
    .bind(&threshold.project)
    .bind(&threshold.environment)
    .bind(since_ms)
    .bind(since_ms)
    .bind(&threshold.name)
    .bind(threshold.id)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Ends the marker of the threshold's alarm raised at `since_ms`.
pub async fn alarm_over(
    tx: &mut SqliteConnection,
    threshold_id: i64,
    since_ms: i64,
    at_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE markers SET time_end_ms = ?, updated_ms = ? WHERE threshold_id = ? AND time_ms = ?")
        .bind(at_ms)
        .bind(now_ms())
        .bind(threshold_id)
        .bind(since_ms)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_the_place_and_limits_hold() {
        let new = NewMarker {
            time_ms: 10,
            time_end_ms: 5,
            text: "Deploy v1.4".into(),
            tags: vec!["deploy".into(), "environment:live".into(), "project:shop".into()],
            ..NewMarker::default()
        }
        .checked()
        .unwrap();
        assert_eq!(
            (new.project.as_deref(), new.environment.as_deref()),
            (Some("shop"), Some("live"))
        );
        assert_eq!(new.time_end_ms, 10, "an end before the start is the start");
        let long = NewMarker {
            text: "x".repeat(MAX_TEXT + 1),
            ..NewMarker::default()
        };
        assert!(long.checked().is_err());
        let tags = NewMarker {
            tags: vec!["t".into(); MAX_TAGS + 1],
            ..NewMarker::default()
        };
        assert!(tags.checked().is_err());
    }

    #[tokio::test]
    async fn markers_list_by_time_place_and_tags_and_stay_with_their_client() {
        let db = crate::tenancy::test_db().await;
        sqlx::query("INSERT INTO agencies (id, slug, name, created_at) VALUES (1, 'a', 'A', 0)")
            .execute(&db)
            .await
            .unwrap();
        for id in [1, 2] {
            sqlx::query("INSERT INTO clients (id, agency_id, slug, name, created_at) VALUES (?, 1, ?, 'C', 0)")
                .bind(id)
                .bind(format!("c{id}"))
                .execute(&db)
                .await
                .unwrap();
        }
        let marker = |time_ms, environment: Option<&str>, tags: &[&str]| NewMarker {
            environment: environment.map(str::to_string),
            time_ms,
            time_end_ms: time_ms,
            text: "m".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            created_by: "test".into(),
            ..NewMarker::default()
        };
        let live = insert(&db, 1, &marker(100, Some("live"), &["deploy"])).await.unwrap();
        let everywhere = insert(&db, 1, &marker(200, None, &["newsletter"])).await.unwrap();
        insert(&db, 1, &marker(300, Some("stage"), &["deploy"])).await.unwrap();
        let other = insert(&db, 2, &marker(150, None, &[])).await.unwrap();
        let filter = |environment, tags: &[&str]| Filter {
            from_ms: 0,
            to_ms: 1000,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            limit: 100,
            project: None,
            environment,
        };
        let ids = |list: Vec<Marker>| list.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(
            ids(list(&db, 1, &filter(Some("live"), &[])).await.unwrap()),
            [everywhere, live]
        );
        assert_eq!(
            ids(list(&db, 1, &filter(Some("live"), &["deploy"])).await.unwrap()),
            [live]
        );
        assert_eq!(list(&db, 1, &filter(None, &[])).await.unwrap().len(), 3);
        // Another client's marker is not found, not changed, not deleted.
        assert!(get(&db, 1, other).await.unwrap().is_none());
        assert!(!update(&db, 1, other, &marker(1, None, &[])).await.unwrap());
        assert!(!delete(&db, 1, other).await.unwrap());
        assert!(delete(&db, 1, live).await.unwrap());
    }
}
