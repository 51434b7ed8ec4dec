//! Daily uptime from a component's state changes, as Atlassian Statuspage counts it: a day's
//! uptime is the share of it not in outage, a major outage counting fully, a partial outage
//! by its weight (30 % by default) and degraded performance or maintenance not at all. Days
//! are the calendar days of the page's time zone (23 or 25 hours at a clock change); the time
//! before a component existed is not counted.

use app::dto::{ComponentState, DayBar};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// How much an hour in each state counts as down.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    pub partial_outage: f64,
    pub degraded_performance: f64,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            partial_outage: 0.3,
            degraded_performance: 0.0,
        }
    }
}

impl Weights {
    fn of(&self, state: ComponentState) -> f64 {
        match state {
            ComponentState::MajorOutage => 1.0,
            ComponentState::PartialOutage => self.partial_outage,
            ComponentState::DegradedPerformance => self.degraded_performance,
            ComponentState::Operational | ComponentState::UnderMaintenance => 0.0,
        }
    }
}

/// A state change: from `at_ms` on, the component is in `state`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Change {
    pub at_ms: i64,
    pub state: ComponentState,
}

/// The last `count` days up to `now_ms` (today last), from changes sorted by time.
pub fn days(changes: &[Change], now_ms: i64, zone: &TimeZone, count: usize, weights: Weights) -> Vec<DayBar> {
    let Ok(now) = Timestamp::from_millisecond(now_ms) else {
        return Vec::new();
    };
    let today = now.to_zoned(zone.clone()).date();
    (0..count)
        .rev()
        .map(|back| {
            let date = today.checked_sub((back as i64).days()).unwrap_or(today);
            let bounds = date
                .to_zoned(zone.clone())
                .ok()
                .zip(date.tomorrow().ok().and_then(|d| d.to_zoned(zone.clone()).ok()));
            let Some((start, end)) = bounds else {
                return empty(date.to_string());
            };
            let start = start.timestamp().as_millisecond();
            let end = end.timestamp().as_millisecond().min(now_ms);
            day(changes, date.to_string(), start, end, weights)
        })
        .collect()
}

fn empty(date: String) -> DayBar {
    DayBar {
        date,
        worst: None,
        uptime: None,
        outage_minutes: 0,
    }
}

/// One day `[start, end)`.
fn day(changes: &[Change], date: String, start: i64, end: i64, weights: Weights) -> DayBar {
    let mut known = 0i64;
    let mut down = 0.0;
    let mut outage = 0i64;
    let mut worst: Option<ComponentState> = None;
    for (i, change) in changes.iter().enumerate() {
        let until = changes.get(i + 1).map_or(i64::MAX, |next| next.at_ms);
        let from = change.at_ms.max(start);
        let to = until.min(end);
        if to <= from {
            continue;
        }
        let span = to - from;
        known += span;
        down += weights.of(change.state) * span as f64;
        if matches!(
            change.state,
            ComponentState::PartialOutage | ComponentState::MajorOutage
        ) {
            outage += span;
        }
        worst = worst.max(Some(change.state));
    }
    if known == 0 {
        return empty(date);
    }
    DayBar {
        date,
        worst,
        uptime: Some(1.0 - down / known as f64),
        outage_minutes: (outage / 60_000) as u32,
    }
}

/// The uptime over the last `days` of `bars` (weighted by how much of each day is known).
pub fn over(bars: &[DayBar], days: usize) -> Option<f64> {
    let recent = &bars[bars.len().saturating_sub(days)..];
    let known: Vec<f64> = recent.iter().filter_map(|bar| bar.uptime).collect();
    (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentState::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    /// 2026-12-07 00:00 UTC.
    const MIDNIGHT: i64 = 1_796_601_600_000;

    fn change(at_ms: i64, state: ComponentState) -> Change {
        Change { at_ms, state }
    }

    #[test]
    fn a_day_counts_major_fully_partial_by_its_weight_and_degraded_not() {
        let changes = [
            change(MIDNIGHT - 2 * DAY, Operational),
            change(MIDNIGHT - DAY + 6 * HOUR, MajorOutage),
            change(MIDNIGHT - DAY + 9 * HOUR, Operational),
            change(MIDNIGHT - DAY + 12 * HOUR, PartialOutage),
            change(MIDNIGHT - DAY + 22 * HOUR, DegradedPerformance),
            change(MIDNIGHT + 2 * HOUR, Operational),
        ];
        let now = MIDNIGHT + 12 * HOUR;
        let bars = days(&changes, now, &TimeZone::UTC, 4, Weights::default());
        assert_eq!(
            bars.iter().map(|b| b.date.as_str()).collect::<Vec<_>>(),
            ["2026-12-04", "2026-12-05", "2026-12-06", "2026-12-07"]
        );
        assert_eq!(bars[0].worst, None, "before the component existed");
        assert_eq!((bars[1].worst, bars[1].uptime), (Some(Operational), Some(1.0)));
        // 3 h major + 10 h partial at 30 %: 6 h of 24 down.
        assert_eq!(bars[2].worst, Some(MajorOutage));
        assert!((bars[2].uptime.unwrap() - 0.75).abs() < 1e-9, "{:?}", bars[2]);
        assert_eq!(bars[2].outage_minutes, 13 * 60);
        // Today so far: 2 h degraded, 10 h fine.
        assert_eq!((bars[3].worst, bars[3].uptime), (Some(DegradedPerformance), Some(1.0)));
        let two = over(&bars, 2).unwrap();
        assert!((two - 0.875).abs() < 1e-9, "{two}");
        assert_eq!(over(&bars[..1], 30), None);
    }

    #[test]
    fn days_follow_the_pages_time_zone() {
        // 23:30 UTC on the 6th is already the 7th in Berlin.
        let changes = [
            change(MIDNIGHT - 2 * DAY, Operational),
            change(MIDNIGHT - HOUR / 2, MajorOutage),
            change(MIDNIGHT, Operational),
        ];
        let now = MIDNIGHT + 6 * HOUR;
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let utc = days(&changes, now, &TimeZone::UTC, 2, Weights::default());
        let local = days(&changes, now, &berlin, 2, Weights::default());
        assert_eq!(utc[0].date, "2026-12-06");
        assert_eq!(utc[0].worst, Some(MajorOutage));
        assert_eq!(local[1].date, "2026-12-07");
        assert_eq!(local[1].worst, Some(MajorOutage));
        assert_eq!(local[0].worst, Some(Operational));
        assert_eq!(local[1].outage_minutes, 30);
    }

    #[test]
    fn weights_are_configurable() {
        let changes = [change(MIDNIGHT, PartialOutage)];
        let strict = Weights {
            partial_outage: 1.0,
            degraded_performance: 0.5,
        };
        let bars = days(&changes, MIDNIGHT + HOUR, &TimeZone::UTC, 1, strict);
        assert_eq!(bars[0].uptime, Some(0.0));
    }
}
