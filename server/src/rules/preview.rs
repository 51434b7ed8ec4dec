//! A threshold tried out before it is stored, or tested: its measured value over the last day
//! with the line drawn, how often it would have raised the alarm in the last week (evaluated
//! every minute, as if it had existed), and what it says now. Runs through the pages' query
//! runner and its limits.

use super::Threshold;
use crate::chart::{Chart, ChartSeries, Marks};
use crate::query::{Queries, Span};
use app::dto::ThresholdPreview;
use std::sync::Arc;
use vitrine_promql::Value;
use vitrine_tsdb::Tenant;

const DAY_MS: i64 = 86_400_000;
/// The chart's step over the day, and the step the week is evaluated at.
const CHART_STEP_MS: i64 = 5 * 60_000;
const WEEK_STEP_MS: i64 = 60_000;
const MAX_SERIES: usize = 10;

/// How many alarms the rule's result over time would have raised: a run of a series present at
/// consecutive steps that lasts the threshold's `for` fires once.
pub fn alarms_in(series: &[Vec<i64>], step_ms: i64, for_ms: i64) -> usize {
    let mut alarms = 0;
    for times in series {
        let mut start: Option<i64> = None;
        let mut previous = i64::MIN;
        let mut fired = false;
        for &t in times {
            if start.is_none() || t - previous > step_ms {
                start = Some(t);
                fired = false;
            }
            previous = t;
            if !fired && start.is_some_and(|s| t - s >= for_ms) {
                alarms += 1;
                fired = true;
            }
        }
    }
    alarms
}

pub async fn preview(
    queries: &Arc<Queries>,
    tenant: Tenant,
    threshold: &Threshold,
    now_ms: i64,
    locale: app::Locale,
) -> ThresholdPreview {
    match run(queries, tenant, threshold, now_ms, locale).await {
        Ok(preview) => preview,
        Err(error) => ThresholdPreview {
            chart_svg: String::new(),
            alarms_in_week: 0,
            value_now: None,
            crossed_now: false,
            error: Some(error),
        },
    }
}

async fn run(
    queries: &Arc<Queries>,
    tenant: Tenant,
    threshold: &Threshold,
    now_ms: i64,
    locale: app::Locale,
) -> Result<ThresholdPreview, String> {
    let measured = threshold.measured()?;
    let rule = threshold.rule_expr()?;
    let start = now_ms - DAY_MS;
    let day = queries
        .run(
            tenant,
            measured.clone(),
            Span::Range {
                start,
                end: now_ms,
                step: CHART_STEP_MS,
            },
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    let Value::Matrix(day) = day else {
        return Err("the measured value is not a list of series".into());
    };
    let lines: Vec<ChartSeries> = day
        .iter()
        .take(MAX_SERIES)
        .enumerate()
        .map(|(i, s)| ChartSeries {
            colour: i,
            points: s.points.iter().map(|p| (p.t, p.v)).collect(),
        })
        .collect();
    let chart_svg = Chart {
        series: &lines,
        start_ms: start,
        end_ms: now_ms,
        step_ms: CHART_STEP_MS,
        locale,
        unit: Some(&threshold.unit),
        marks: Marks {
            line: threshold.line(),
            warning: threshold.warning,
            crossed_at: None,
        },
        markers: &[],
    }
    .svg();
    let week = queries
        .run(
            tenant,
            rule.clone(),
            Span::Range {
                start: now_ms - 7 * DAY_MS,
                end: now_ms,
                step: WEEK_STEP_MS,
            },
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    let times: Vec<Vec<i64>> = match week {
        Value::Matrix(week) => week.iter().map(|s| s.points.iter().map(|p| p.t).collect()).collect(),
        _ => Vec::new(),
    };
    let alarms_in_week = alarms_in(&times, WEEK_STEP_MS, i64::from(threshold.for_secs) * 1000);
    let now = queries
        .run(tenant, measured, Span::Instant(now_ms), None)
        .await
        .map_err(|e| e.to_string())?;
    let value_now = match now {
        Value::Vector(samples) => samples.iter().map(|s| s.v).filter(|v| v.is_finite()).reduce(f64::max),
        _ => None,
    };
    let crossed = queries
        .run(tenant, rule, Span::Instant(now_ms), None)
        .await
        .map_err(|e| e.to_string())?;
    let crossed_now = matches!(crossed, Value::Vector(samples) if !samples.is_empty());
    Ok(ThresholdPreview {
        chart_svg,
        alarms_in_week,
        value_now,
        crossed_now,
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_as_long_as_the_for_fires_once() {
        let minute = 60_000;
        // Present for 6 minutes, a gap, present for 2: with for = 5 minutes, one alarm.
        let series = vec![(0..=6).chain(10..=12).map(|m| m * minute).collect::<Vec<i64>>()];
        assert_eq!(alarms_in(&series, minute, 5 * minute), 1);
        assert_eq!(alarms_in(&series, minute, 2 * minute), 2);
        // Without a `for`, every run fires; two series count apart.
        let two = vec![series[0].clone(), vec![3 * minute]];
        assert_eq!(alarms_in(&two, minute, 0), 3);
        assert_eq!(alarms_in(&[], minute, 0), 0);
    }
}
