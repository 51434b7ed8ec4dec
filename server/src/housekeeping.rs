//! What the database keeps, and for how long: a threshold's history (its state changes) and a
//! client's markers as long as the client's measurements (`retention_days`), mails that were
//! sent or given up [`OUTBOX_KEEP_DAYS`] days, expired password-reset links a day, status page
//! components' state changes the longer of 92 days and the retention (the 90-day bars need
//! them), addresses never confirmed for a status page's mails 7 days. Run hourly
//! while serving, so the tables do not grow without end.

use sqlx::SqlitePool;
use std::time::Duration;

const DAY_MS: i64 = 86_400_000;
/// Sent and given-up mails stay on the outbox page (and in a threshold's history) this long.
pub const OUTBOX_KEEP_DAYS: i64 = 90;
const EVERY: Duration = Duration::from_secs(3600);

/// How many rows one pass deleted, per table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub threshold_events: u64,
    pub markers: u64,
    pub outbox: u64,
    pub password_resets: u64,
    pub component_states: u64,
    pub unconfirmed_subscribers: u64,
}

/// Deletes what is older than it is kept, as of `now_ms`.
pub async fn prune(db: &SqlitePool, now_ms: i64) -> Result<Pruned, sqlx::Error> {
    let threshold_events = sqlx::query(
        "DELETE FROM threshold_events WHERE id IN (
             SELECT e.id FROM threshold_events e
             JOIN thresholds t ON t.id = e.threshold_id JOIN clients c ON c.id = t.client_id
             WHERE e.at_ms < ? - c.retention_days * ?)",
    )
    .bind(now_ms)
    .bind(DAY_MS)
    .execute(db)
    .await?
    .rows_affected();
    let markers = sqlx::query(
        "DELETE FROM markers WHERE id IN (
             SELECT m.id FROM markers m JOIN clients c ON c.id = m.client_id
             WHERE m.time_end_ms < ? - c.retention_days * ?)",
    )
    .bind(now_ms)
    .bind(DAY_MS)
    .execute(db)
    .await?
    .rows_affected();
    let outbox = sqlx::query("DELETE FROM outbox WHERE state IN ('sent', 'dead') AND created_ms < ?")
        .bind(now_ms - OUTBOX_KEEP_DAYS * DAY_MS)
        .execute(db)
        .await?
        .rows_affected();
    let password_resets = sqlx::query("DELETE FROM password_resets WHERE expires_at < ?")
        .bind(now_ms / 1000 - 86_400)
        .execute(db)
        .await?
        .rows_affected();
    // The state in force at the cut is kept (the newest older row), so the first day's bar
    // still knows where it started.
    let component_states = sqlx::query(
        "DELETE FROM component_states WHERE id IN (
             SELECT s.id FROM component_states s JOIN clients c ON c.id = s.client_id
             WHERE s.at_ms < ?1 - MAX(c.retention_days, 92) * ?2
               AND EXISTS (SELECT 1 FROM component_states later WHERE later.component_id = s.component_id
                   AND later.id > s.id AND later.at_ms < ?1 - MAX(c.retention_days, 92) * ?2))",
    )
    .bind(now_ms)
    .bind(DAY_MS)
    .execute(db)
    .await?
    .rows_affected();
    let unconfirmed_subscribers = sqlx::query("DELETE FROM subscribers WHERE confirmed_ms IS NULL AND created_ms < ?")
        .bind(now_ms - crate::status::subscribers::UNCONFIRMED_DAYS * DAY_MS)
        .execute(db)
        .await?
        .rows_affected();
    Ok(Pruned {
        threshold_events,
        markers,
        outbox,
        password_resets,
        component_states,
        unconfirmed_subscribers,
    })
}

/// Prunes every hour until the process ends.
pub async fn run(db: SqlitePool) {
    let mut every = tokio::time::interval(EVERY);
    loop {
        every.tick().await;
        match prune(&db, crate::tenancy::now() * 1000).await {
            Ok(pruned) if pruned != Pruned::default() => tracing::info!(?pruned, "old history pruned"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning old history"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn history_older_than_the_clients_retention_goes_and_the_rest_stays() {
        let db = crate::tenancy::test_db().await;
        let now = 1_000 * DAY_MS;
        for sql in [
            "INSERT INTO agencies (id, slug, name, created_at) VALUES (1, 'a', 'A', 0)",
            "INSERT INTO clients (id, agency_id, slug, name, created_at, retention_days) VALUES (1, 1, 'short', 'S', 0, 7)",
            "INSERT INTO clients (id, agency_id, slug, name, created_at, retention_days) VALUES (2, 1, 'long', 'L', 0, 365)",
            "INSERT INTO projects (id, agency_id, client_id, slug, name, created_at) VALUES (1, 1, 1, 'p', 'P', 0)",
            "INSERT INTO projects (id, agency_id, client_id, slug, name, created_at) VALUES (2, 1, 2, 'p', 'P', 0)",
        ] {
            sqlx::query(sql).execute(&db).await.unwrap();
        }
        for (id, client, project) in [(1, 1, 1), (2, 2, 2)] {
            sqlx::query(
                "INSERT INTO thresholds (id, agency_id, client_id, project_id, name, expr, comparator, value, for_secs,
                     severity, unit, explanations, created_at, updated_at)
                 VALUES (?, 1, ?, ?, 'T', 'up', '<', 1, 0, 'critical', 'short', '{}', 0, 0)",
            )
            .bind(id)
            .bind(client)
            .bind(project)
            .execute(&db)
            .await
            .unwrap();
        }
        // Thirty days ago: past the short client's 7 days, within the long one's year.
        let old = now - 30 * DAY_MS;
        for threshold in [1, 2] {
            for at in [old, now] {
                sqlx::query(
                    "INSERT INTO threshold_events (threshold_id, labels, state, value, at_ms) VALUES (?, '{}', 'firing', 1, ?)",
                )
                .bind(threshold)
                .bind(at)
                .execute(&db)
                .await
                .unwrap();
            }
        }
        for client in [1, 2] {
            sqlx::query(
                "INSERT INTO markers (client_id, time_ms, time_end_ms, text, created_by, created_ms, updated_ms)
                 VALUES (?, ?, ?, 'deploy', 'x', 0, 0)",
            )
            .bind(client)
            .bind(old)
            .bind(old)
            .execute(&db)
            .await
            .unwrap();
        }
        for (state, created) in [
            ("sent", now - 100 * DAY_MS),
            ("pending", now - 100 * DAY_MS),
            ("sent", now),
        ] {
            sqlx::query(
                "INSERT INTO outbox (agency_id, kind, recipient, subject, body_text, body_html, message_id, state,
                     next_attempt_ms, created_ms)
                 VALUES (1, 'alert', 'a@b.example', 's', 't', 'h', ?, ?, 0, ?)",
            )
            .bind(format!("<{state}{created}@x>"))
            .bind(state)
            .bind(created)
            .execute(&db)
            .await
            .unwrap();
        }
        let pruned = prune(&db, now).await.unwrap();
        assert_eq!(
            pruned,
            Pruned {
                threshold_events: 1,
                markers: 1,
                outbox: 1,
                password_resets: 0,
                component_states: 0,
                unconfirmed_subscribers: 0,
            }
        );
        // A second pass finds nothing more.
        assert_eq!(prune(&db, now).await.unwrap(), Pruned::default());
    }
}
