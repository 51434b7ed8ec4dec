//! Quiet hours: recurring times in which a client is not told of alarms of some severities
//! (Alertmanager's `mute_time_intervals` on the client's route), e.g. "warnings not on
//! weekdays 22:00–07:00, Europe/Berlin". A time may run through midnight into the next day.
//! Thresholds are still watched; an alarm that still goes on when the quiet hours end is told
//! then, as after a silence. Agency people add and remove them on the channels page.

use crate::tenancy::{FormCheck, Result, TenancyError};
use app::dto::{FieldProblem, QuietHoursView, THRESHOLD_SEVERITIES};
use jiff::tz::TimeZone;
use sqlx::{SqliteConnection, SqlitePool};
use vitrine_promql::Labels;

/// The most quiet hours one client may have.
pub const MAX_PER_CLIENT: i64 = 20;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// One stored set of quiet hours.
#[derive(Clone, Debug, PartialEq)]
pub struct QuietHours {
    pub id: i64,
    pub name: String,
    /// ISO weekdays: Monday 1 … Sunday 7, ascending.
    pub weekdays: Vec<u8>,
    /// Minutes after midnight, local time: from (included) …
    pub start_minute: u16,
    /// … to (excluded; 1440 is midnight at the day's end); at or before `start_minute` it ends
    /// the next day.
    pub end_minute: u16,
    /// An IANA zone, e.g. Europe/Berlin.
    pub time_zone: String,
    /// The severities it quiets; empty: every one.
    pub severities: Vec<String>,
}

impl QuietHours {
    /// Whether the quiet hours hold at `ms` (a zone that no longer reads is UTC).
    pub fn holds_at(&self, ms: i64) -> bool {
        let Ok(at) = jiff::Timestamp::from_millisecond(ms) else {
            return false;
        };
        let zone = TimeZone::get(&self.time_zone).unwrap_or(TimeZone::UTC);
        let local = at.to_zoned(zone);
        let day = local.weekday().to_monday_one_offset() as u8;
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        let listed = |d: u8| self.weekdays.contains(&d);
        let yesterday = if day == 1 { 7 } else { day - 1 };
        if self.start_minute < self.end_minute {
            listed(day) && (self.start_minute..self.end_minute).contains(&minute)
        } else {
            (listed(day) && minute >= self.start_minute) || (listed(yesterday) && minute < self.end_minute)
        }
    }

    /// Whether it quiets an alert with these labels (by its `severity`).
    pub fn quiets(&self, labels: &Labels) -> bool {
        self.severities.is_empty() || self.severities.iter().any(|s| s == labels.value("severity"))
    }
}

/// Whether one of `hours` (those that hold now) quiets an alert with `labels`.
pub fn quieted(hours: &[QuietHours], labels: &Labels) -> bool {
    hours.iter().any(|h| h.quiets(labels))
}

/// `HH:MM` as minutes after midnight; `24:00` is the end of the day.
fn parse_clock(raw: &str) -> std::result::Result<u16, FieldProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldProblem::Required);
    }
    let (h, m) = raw.split_once(':').ok_or(FieldProblem::InvalidClock)?;
    match (h.parse::<u16>(), m.parse::<u16>()) {
        (Ok(24), Ok(0)) => Ok(MINUTES_PER_DAY),
        (Ok(h), Ok(m)) if h < 24 && m < 60 => Ok(h * 60 + m),
        _ => Err(FieldProblem::InvalidClock),
    }
}

fn parse_zone(raw: &str) -> std::result::Result<String, FieldProblem> {
    let raw = raw.trim();
    match TimeZone::get(raw) {
        Ok(_) if !raw.is_empty() => Ok(raw.to_string()),
        _ => Err(FieldProblem::InvalidChoice),
    }
}

/// Quiet hours to store, checked already.
#[derive(Clone, Debug, PartialEq)]
pub struct NewQuietHours {
    pub name: String,
    pub weekdays: Vec<u8>,
    pub start_minute: u16,
    pub end_minute: u16,
    pub time_zone: String,
    pub severities: Vec<String>,
}

/// The quiet hours of a form: `name`, one `day` per weekday (1–7), `from` and `to` (`HH:MM`),
/// `time_zone`, and one `severity` per severity quieted (none: every one).
pub fn from_form(form: &[(String, String)]) -> Result<NewQuietHours> {
    let mut check = FormCheck::new(form);
    let name = check.field("name", |raw| match raw.trim() {
        "" => Err(FieldProblem::Required),
        name if name.chars().count() > 100 => Err(FieldProblem::TooLong),
        name => Ok(name.to_string()),
    });
    let mut weekdays: Vec<u8> = Vec::new();
    for (_, value) in form.iter().filter(|(n, _)| n == "day") {
        match value.trim().parse::<u8>() {
            Ok(d @ 1..=7) => weekdays.push(d),
            _ => check.problem("day", FieldProblem::InvalidChoice),
        }
    }
    weekdays.sort_unstable();
    weekdays.dedup();
    if weekdays.is_empty() {
        check.problem("day", FieldProblem::Required);
    }
    let mut severities: Vec<String> = Vec::new();
    for (_, value) in form.iter().filter(|(n, _)| n == "severity") {
        match THRESHOLD_SEVERITIES.iter().find(|s| **s == value.trim()) {
            Some(s) => severities.push(s.to_string()),
            None => check.problem("severity", FieldProblem::InvalidChoice),
        }
    }
    severities.sort();
    severities.dedup();
    // All of them is the same as none chosen.
    if severities.len() == THRESHOLD_SEVERITIES.len() {
        severities.clear();
    }
    let start = check.field("from", |raw| {
        parse_clock(raw).and_then(|m| {
            if m == MINUTES_PER_DAY {
                Err(FieldProblem::InvalidClock)
            } else {
                Ok(m)
            }
        })
    });
    let end = check.field("to", parse_clock);
    let zone = check.field("time_zone", parse_zone);
    if start.is_some() && start == end {
        check.problem("to", FieldProblem::EndBeforeStart);
    }
    check.finish(|| {
        Some(NewQuietHours {
            name: name?,
            weekdays,
            start_minute: start?,
            end_minute: end?,
            time_zone: zone?,
            severities,
        })
    })
}

fn days_text(days: &[u8]) -> String {
    days.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

/// Stores quiet hours for the client; `None` when it has [`MAX_PER_CLIENT`] already.
pub async fn insert(conn: &mut SqliteConnection, client_id: i64, hours: &NewQuietHours) -> Result<Option<i64>> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM quiet_hours WHERE client_id = ?")
        .bind(client_id)
        .fetch_one(&mut *conn)
        .await?;
    if count >= MAX_PER_CLIENT {
        return Ok(None);
    }
    let id = sqlx::query_scalar(
        "INSERT INTO quiet_hours (client_id, name, weekdays, start_minute, end_minute, time_zone, severities,
             created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(client_id)
    .bind(&hours.name)
    .bind(days_text(&hours.weekdays))
    .bind(i64::from(hours.start_minute))
    .bind(i64::from(hours.end_minute))
    .bind(&hours.time_zone)
    .bind(hours.severities.join(" "))
    .bind(crate::store::now_ms())
    .fetch_one(conn)
    .await?;
    Ok(Some(id))
}

/// Removes one of the client's quiet hours; another client's is the same `NotFound`.
pub async fn delete(db: &SqlitePool, client_id: i64, id: i64) -> Result<String> {
    let name: Option<String> =
        sqlx::query_scalar("DELETE FROM quiet_hours WHERE id = ? AND client_id = ? RETURNING name")
            .bind(id)
            .bind(client_id)
            .fetch_optional(db)
            .await?;
    name.ok_or(TenancyError::NotFound)
}

/// The client's quiet hours, as added.
pub async fn of_client(
    conn: &mut SqliteConnection,
    client_id: i64,
) -> std::result::Result<Vec<QuietHours>, sqlx::Error> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, String, String, i64, i64, String, String)> = sqlx::query_as(
        "SELECT id, name, weekdays, start_minute, end_minute, time_zone, severities FROM quiet_hours
         WHERE client_id = ? ORDER BY id",
    )
    .bind(client_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, weekdays, start, end, time_zone, severities)| QuietHours {
            id,
            name,
            weekdays: weekdays.split(',').filter_map(|d| d.parse().ok()).collect(),
            start_minute: u16::try_from(start).unwrap_or(0),
            end_minute: u16::try_from(end).unwrap_or(0),
            time_zone,
            severities: severities.split_whitespace().map(str::to_string).collect(),
        })
        .collect())
}

/// How the channels page lists them, and whether each holds at `now_ms`.
pub fn views(hours: &[QuietHours], now_ms: i64) -> Vec<QuietHoursView> {
    let clock = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    hours
        .iter()
        .map(|h| QuietHoursView {
            id: h.id,
            name: h.name.clone(),
            weekdays: h.weekdays.clone(),
            from: clock(h.start_minute),
            to: clock(h.end_minute),
            overnight: h.end_minute <= h.start_minute,
            time_zone: h.time_zone.clone(),
            severities: h.severities.clone(),
            now: h.holds_at(now_ms),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(days: &[u8], from: u16, to: u16, zone: &str) -> QuietHours {
        QuietHours {
            id: 1,
            name: "Nights".into(),
            weekdays: days.to_vec(),
            start_minute: from,
            end_minute: to,
            time_zone: zone.into(),
            severities: vec!["warning".into()],
        }
    }

    /// Milliseconds of a UTC time.
    fn at(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn quiet_hours_hold_in_their_zone_and_through_midnight() {
        // Weekdays 22:00–07:00 in Berlin (UTC+1 in December).
        let nights = hours(&[1, 2, 3, 4, 5], 22 * 60, 7 * 60, "Europe/Berlin");
        // Monday 2026-12-07 21:30 UTC is 22:30 in Berlin.
        assert!(nights.holds_at(at("2026-12-07T21:30:00Z")));
        // 20:59 UTC is 21:59 in Berlin: not yet.
        assert!(!nights.holds_at(at("2026-12-07T20:59:00Z")));
        // Tuesday 05:59 UTC is 06:59 in Berlin: still the Monday night.
        assert!(nights.holds_at(at("2026-12-08T05:59:00Z")));
        assert!(!nights.holds_at(at("2026-12-08T06:00:00Z")));
        // Saturday 2026-12-12 02:00 Berlin is Friday's night; Sunday 02:00 is no listed night.
        assert!(nights.holds_at(at("2026-12-12T01:00:00Z")));
        assert!(!nights.holds_at(at("2026-12-13T01:00:00Z")));
        // A day time: Saturday and Sunday 09:00–18:00 UTC.
        let weekend = hours(&[6, 7], 9 * 60, 18 * 60, "UTC");
        assert!(weekend.holds_at(at("2026-12-12T09:00:00Z")));
        assert!(!weekend.holds_at(at("2026-12-12T18:00:00Z")));
        assert!(!weekend.holds_at(at("2026-12-11T12:00:00Z")));
        // Quiets by severity.
        assert!(nights.quiets(&Labels::from_pairs(&[("severity", "warning")])));
        assert!(!nights.quiets(&Labels::from_pairs(&[("severity", "critical")])));
    }

    #[test]
    fn the_form_reads_days_clocks_zones_and_severities() {
        let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
        };
        let ok = from_form(&form(&[
            ("name", "Nights"),
            ("day", "5"),
            ("day", "1"),
            ("from", "22:00"),
            ("to", "07:30"),
            ("time_zone", "Europe/Berlin"),
            ("severity", "warning"),
            ("severity", "info"),
        ]))
        .unwrap();
        assert_eq!(ok.weekdays, [1, 5]);
        assert_eq!((ok.start_minute, ok.end_minute), (1320, 450));
        assert_eq!(ok.severities, ["info", "warning"]);
        let all_day = from_form(&form(&[
            ("name", "Sundays"),
            ("day", "7"),
            ("from", "00:00"),
            ("to", "24:00"),
            ("time_zone", "UTC"),
        ]))
        .unwrap();
        assert_eq!((all_day.start_minute, all_day.end_minute), (0, 1440));
        let sunday = QuietHours {
            id: 2,
            name: all_day.name,
            weekdays: all_day.weekdays,
            start_minute: 0,
            end_minute: 1440,
            time_zone: all_day.time_zone,
            severities: Vec::new(),
        };
        assert!(sunday.holds_at(at("2026-12-13T23:59:00Z")));
        assert!(!sunday.holds_at(at("2026-12-14T00:00:00Z")));
        assert!(all_day.severities.is_empty());
        let Err(TenancyError::Invalid(bad)) = from_form(&form(&[
            ("name", ""),
            ("day", "8"),
            ("from", "25:00"),
            ("to", "7"),
            ("time_zone", "Mars/Olympus"),
            ("severity", "loud"),
        ])) else {
            panic!("a wrong form was accepted");
        };
        for (field, problem) in [
            ("name", FieldProblem::Required),
            ("day", FieldProblem::InvalidChoice),
            ("from", FieldProblem::InvalidClock),
            ("to", FieldProblem::InvalidClock),
            ("time_zone", FieldProblem::InvalidChoice),
            ("severity", FieldProblem::InvalidChoice),
        ] {
            assert_eq!(bad.problem(field), Some(problem), "{field}");
        }
        let Err(TenancyError::Invalid(same)) = from_form(&form(&[
            ("name", "Never"),
            ("day", "1"),
            ("from", "10:00"),
            ("to", "10:00"),
            ("time_zone", "UTC"),
        ])) else {
            panic!("an empty time was accepted");
        };
        assert_eq!(same.problem("to"), Some(FieldProblem::EndBeforeStart));
    }
}
