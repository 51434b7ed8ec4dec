//! When a client is told of a threshold's alarm, as an Alertmanager route's timers: the first
//! notice waits `group_wait` after the alarm is raised (alerts of the same threshold that fire
//! meanwhile go in the same mail), a change (more or fewer alerts, the end) is told at the
//! earliest `group_interval` after the last notice, and an alarm that goes on unchanged is told
//! again every `repeat_interval`. Each client has its own (set on its channels page or taken
//! from an imported Alertmanager configuration); a client without any uses the server's.

use crate::tenancy::{FormCheck, TenancyError};
use app::dto::FieldProblem;
use sqlx::SqliteConnection;
use vitrine_scrape_config::PromDuration;
use vitrine_scrape_config::alertmanager_config::RouteTimers;

pub use app::dto::NotifyTiming;

/// The longest any timer may be: a day.
const MAX_SECS: u32 = 24 * 3600;

/// The timers of the form's `group_wait`, `group_interval` and `repeat_interval`, each a
/// duration as Alertmanager writes it (`30s`, `5m`, `4h`, `1h30m`) of at most a day; the
/// last two above zero.
pub fn from_form(form: &[(String, String)]) -> crate::tenancy::Result<NotifyTiming> {
    let mut check = FormCheck::new(form);
    let group_wait_secs = check.field("group_wait", |raw| parse(raw, 0));
    let group_interval_secs = check.field("group_interval", |raw| parse(raw, 1));
    let repeat_interval_secs = check.field("repeat_interval", |raw| parse(raw, 1));
    check.finish(|| {
        Some(NotifyTiming {
            group_wait_secs: group_wait_secs?,
            group_interval_secs: group_interval_secs?,
            repeat_interval_secs: repeat_interval_secs?,
        })
    })
}

/// The timers an Alertmanager configuration's top route sets, the others from `base`; a timer
/// beyond a day is taken as a day.
pub fn with_route(base: NotifyTiming, timers: &RouteTimers) -> NotifyTiming {
    let secs = |d: Option<PromDuration>, or: u32| {
        d.map_or(or, |d| {
            u32::try_from(d.as_millis() / 1000).unwrap_or(u32::MAX).min(MAX_SECS)
        })
    };
    NotifyTiming {
        group_wait_secs: secs(timers.group_wait, base.group_wait_secs),
        group_interval_secs: secs(timers.group_interval, base.group_interval_secs).max(1),
        repeat_interval_secs: secs(timers.repeat_interval, base.repeat_interval_secs).max(1),
    }
}

/// A duration in whole seconds, at least `min` and at most [`MAX_SECS`].
fn parse(raw: &str, min: u32) -> Result<u32, FieldProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldProblem::Required);
    }
    let secs = raw
        .parse::<PromDuration>()
        .map_err(|_| FieldProblem::InvalidDuration)?
        .as_millis()
        / 1000;
    match u32::try_from(secs) {
        Ok(secs) if (min..=MAX_SECS).contains(&secs) => Ok(secs),
        _ => Err(FieldProblem::InvalidDuration),
    }
}

/// The client's timers, or `defaults` when it has none of its own.
pub async fn of(
    conn: &mut SqliteConnection,
    client_id: i64,
    defaults: NotifyTiming,
) -> Result<NotifyTiming, sqlx::Error> {
    let own: Option<(u32, u32, u32)> = sqlx::query_as(
        "SELECT group_wait_secs, group_interval_secs, repeat_interval_secs FROM notification_timing
         WHERE client_id = ?",
    )
    .bind(client_id)
    .fetch_optional(conn)
    .await?;
    Ok(own.map_or(
        defaults,
        |(group_wait_secs, group_interval_secs, repeat_interval_secs)| NotifyTiming {
            group_wait_secs,
            group_interval_secs,
            repeat_interval_secs,
        },
    ))
}

/// Whether the client has timers of its own.
pub async fn has_own(conn: &mut SqliteConnection, client_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM notification_timing WHERE client_id = ?)")
        .bind(client_id)
        .fetch_one(conn)
        .await
}

/// Gives the client its own timers (`Some`) or the server's again (`None`).
pub async fn set(
    conn: &mut SqliteConnection,
    client_id: i64,
    timing: Option<NotifyTiming>,
) -> Result<(), TenancyError> {
    match timing {
        Some(t) => {
            sqlx::query(
                "INSERT INTO notification_timing (client_id, group_wait_secs, group_interval_secs, repeat_interval_secs)
                 VALUES (?, ?, ?, ?)
                 ON CONFLICT (client_id) DO UPDATE SET group_wait_secs = excluded.group_wait_secs,
                     group_interval_secs = excluded.group_interval_secs,
                     repeat_interval_secs = excluded.repeat_interval_secs",
            )
            .bind(client_id)
            .bind(t.group_wait_secs)
            .bind(t.group_interval_secs)
            .bind(t.repeat_interval_secs)
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM notification_timing WHERE client_id = ?")
                .bind(client_id)
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_form_takes_alertmanager_durations() {
        let timing = from_form(&form(&[
            ("group_wait", "0s"),
            ("group_interval", "1m30s"),
            ("repeat_interval", "2h"),
        ]))
        .unwrap();
        assert_eq!(
            timing,
            NotifyTiming {
                group_wait_secs: 0,
                group_interval_secs: 90,
                repeat_interval_secs: 7200,
            }
        );
        let Err(TenancyError::Invalid(state)) = from_form(&form(&[
            ("group_wait", "soon"),
            ("group_interval", "0s"),
            ("repeat_interval", "25h"),
        ])) else {
            panic!("accepted");
        };
        let fields: Vec<&str> = state.problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["group_wait", "group_interval", "repeat_interval"]);
    }

    #[test]
    fn an_imported_route_sets_only_what_it_names() {
        let timers = RouteTimers {
            group_wait: None,
            group_interval: PromDuration::from_secs(60),
            repeat_interval: PromDuration::from_secs(365 * 24 * 3600),
        };
        assert_eq!(
            with_route(NotifyTiming::ALERTMANAGER, &timers),
            NotifyTiming {
                group_wait_secs: 30,
                group_interval_secs: 60,
                repeat_interval_secs: MAX_SECS,
            }
        );
    }

    #[tokio::test]
    async fn a_client_has_its_own_timers_or_the_servers() {
        let db = crate::tenancy::test_db().await;
        crate::tenancy::admin::create_agency(&db, "ag", "Agency").await.unwrap();
        let client = crate::tenancy::admin::create_client(&db, "ag", "shop", "Shop", "en")
            .await
            .unwrap();
        let mut conn = db.acquire().await.unwrap();
        let own = NotifyTiming {
            group_wait_secs: 1,
            group_interval_secs: 2,
            repeat_interval_secs: 3,
        };
        assert_eq!(
            of(&mut conn, client, NotifyTiming::ALERTMANAGER).await.unwrap(),
            NotifyTiming::ALERTMANAGER
        );
        set(&mut conn, client, Some(own)).await.unwrap();
        assert_eq!(of(&mut conn, client, NotifyTiming::ALERTMANAGER).await.unwrap(), own);
        assert!(has_own(&mut conn, client).await.unwrap());
        set(&mut conn, client, None).await.unwrap();
        assert_eq!(
            of(&mut conn, client, NotifyTiming::ALERTMANAGER).await.unwrap(),
            NotifyTiming::ALERTMANAGER
        );
    }
}
