//! The Explore page of a client: PromQL over the client's data, as a chart over a time range or
//! a table at one time. The form is a GET form, so the address holds the query and can be
//! shared with anyone who may see the client.
//!
//! Queries run through [`crate::query::Queries`] like the API's (limits, per-client
//! concurrency); the tenant comes from the scoped client, never from the request.

use super::AppState;
use super::api::parse_time;
use super::pages::ClientAccess;
use super::render;
use crate::chart::{self, ChartSeries, HOUR, MINUTE, ROUND_SPANS, SECOND};
use crate::query::{QueryError, Span};
use crate::tenancy::tokens;
use app::dto::*;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::time::Instant;
use vitrine_promql::{EvalError, Value, format_duration};
use vitrine_scrape_config::PromDuration;
use vitrine_tsdb::{Matcher, Tenant};

/// Prometheus refuses range queries with more points than this (its API's resolution limit).
const MAX_POINTS: i64 = 11_000;
/// The automatic step aims at about this many points: enough for a chart 900 units wide.
const TARGET_POINTS: i64 = 250;
/// The smallest automatic step: 15 s is the usual scrape interval, and a finer step only
/// repeats samples.
const MIN_AUTO_STEP: i64 = 15 * SECOND;
/// The series table lists at most this many series; a page of thousands helps nobody.
const MAX_ROWS: usize = 500;
/// Points listed per series when an instant query returns a range vector (`up[5m]`).
const MAX_POINTS_LISTED: usize = 100;
/// The latest end time accepted: the last millisecond of the year 9999.
const LATEST_END: i64 = 253_402_300_799_999;
/// Metric name prefixes of client libraries and scrapes themselves, left out of the examples:
/// the client's own metrics say more.
const PLUMBING: [&str; 4] = ["go_", "process_", "promhttp_", "scrape_"];

/// The Explore form, read and checked: what to evaluate, or what to say about the fields.
#[derive(Debug)]
struct Request {
    form: ExploreForm,
    problems: Vec<(String, ExploreProblem)>,
    end_ms: i64,
    range_ms: i64,
    step_ms: i64,
    auto_step_ms: i64,
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// A duration in Prometheus syntax (`15s`, `1h30m`) or in seconds (`30`, `0.5`), in milliseconds.
fn parse_duration(raw: &str) -> Option<i64> {
    if let Ok(seconds) = raw.parse::<f64>() {
        return (seconds.is_finite() && seconds > 0.0 && seconds < 1e12).then(|| (seconds * 1000.0).round() as i64);
    }
    let millis = raw.parse::<PromDuration>().ok()?.as_millis();
    i64::try_from(millis).ok().filter(|ms| *ms > 0)
}

/// The end time: `YYYY-MM-DD HH:MM[:SS]` in UTC (also with `T`), RFC 3339 or Unix seconds.
fn parse_end(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let utc = || {
        let (date, time) = raw.split_once([' ', 'T'])?;
        let seconds = if time.len() == 5 { ":00" } else { "" };
        parse_time(&format!("{date}T{time}{seconds}Z"))
    };
    parse_time(raw).or_else(utc).filter(|ms| (0..=LATEST_END).contains(ms))
}

/// The step for a range when none is given: about [`TARGET_POINTS`] points, rounded up to a
/// round span of at least [`MIN_AUTO_STEP`].
pub(crate) fn auto_step(range_ms: i64) -> i64 {
    let raw = (range_ms / TARGET_POINTS).max(MIN_AUTO_STEP);
    ROUND_SPANS
        .into_iter()
        .find(|step| *step >= raw)
        .unwrap_or(ROUND_SPANS[ROUND_SPANS.len() - 1])
}

impl Request {
    fn parse(params: &[(String, String)], now_ms: i64) -> Request {
        let mode = match field(params, "mode") {
            "instant" => ExploreMode::Instant,
            _ => ExploreMode::Range,
        };
        let form = ExploreForm {
            query: field(params, "q").to_string(),
            mode,
            range: Some(field(params, "range").trim())
                .filter(|r| !r.is_empty())
                .unwrap_or(EXPLORE_DEFAULT_RANGE)
                .to_string(),
            end: field(params, "end").trim().to_string(),
            step: field(params, "step").trim().to_string(),
        };
        let mut problems = vec![];
        let mut refuse = |name: &str, problem| problems.push((name.to_string(), problem));
        let end_ms = if form.end.is_empty() {
            now_ms
        } else {
            parse_end(&form.end).unwrap_or_else(|| {
                refuse("end", ExploreProblem::End);
                now_ms
            })
        };
        let range_ms = Some(form.range.as_str())
            .filter(|r| EXPLORE_RANGES.contains(r))
            .and_then(parse_duration)
            .unwrap_or_else(|| {
                refuse("range", ExploreProblem::Range);
                HOUR
            });
        let auto_step_ms = auto_step(range_ms);
        let step_ms = if form.step.is_empty() {
            auto_step_ms
        } else {
            match parse_duration(&form.step) {
                // The range of an instant query is not used, so neither is its step.
                Some(step) if mode == ExploreMode::Range && range_ms / step > MAX_POINTS => {
                    // Rounded up to whole seconds.
                    let min_step = ((range_ms / MAX_POINTS + SECOND - 1) / SECOND).max(1) * SECOND;
                    refuse(
                        "step",
                        ExploreProblem::TooManyPoints {
                            min_step: format_duration(min_step),
                        },
                    );
                    auto_step_ms
                }
                Some(step) => step,
                None => {
                    refuse("step", ExploreProblem::Step);
                    auto_step_ms
                }
            }
        };
        Request {
            form,
            problems,
            end_ms,
            range_ms,
            step_ms,
            auto_step_ms,
        }
    }

    fn span(&self) -> Span {
        match self.form.mode {
            ExploreMode::Instant => Span::Instant(self.end_ms),
            ExploreMode::Range => Span::Range {
                start: self.end_ms.saturating_sub(self.range_ms),
                end: self.end_ms,
                step: self.step_ms,
            },
        }
    }
}

pub async fn explore_page(State(state): State<AppState>, access: ClientAccess, RawQuery(raw): RawQuery) -> Response {
    let who = &access.who;
    if !tokens::may_query(who.caller.role) {
        return who.problem(&state, Problem::NotFound).await;
    }
    let client_name = match who.scope(&state).summaries(Some(&access.client)).await {
        Ok(mut found) if !found.is_empty() => found.remove(0).name,
        Ok(_) => return who.problem(&state, Problem::NotFound).await,
        Err(e) => return who.failure(&state, e).await,
    };
    // An address that is not a valid query string is read as an empty form.
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let request = Request::parse(&params, crate::store::now_ms());
    let tenant = crate::store::tenant(access.client.id);
    let outcome = if request.form.query.trim().is_empty() || !request.problems.is_empty() {
        None
    } else {
        Some(evaluate(&state, tenant, &request, who.locale).await)
    };
    let page = ExplorePage {
        client_slug: access.client.slug.clone(),
        client_name,
        examples: examples(&state, tenant, &access.client.slug, &request.form),
        auto_step: format_duration(request.auto_step_ms),
        form: request.form,
        problems: request.problems,
        outcome,
    };
    render::page(
        &state,
        who.locale,
        Some(who.viewer()),
        Page::Explore(Box::new(page)),
        StatusCode::OK,
    )
    .await
}

async fn evaluate(state: &AppState, tenant: Tenant, request: &Request, locale: app::Locale) -> ExploreOutcome {
    // The query as typed (not trimmed), so the error's offsets point into what the page shows.
    let expr = match vitrine_promql::parse(&request.form.query) {
        Ok(expr) => expr,
        Err(e) => {
            return ExploreOutcome::Parse {
                message: e.message,
                start: e.start,
                end: e.end,
                line: e.line,
                column: e.column,
            };
        }
    };
    let started = Instant::now();
    let span = request.span();
    let value = match state.queries.run(tenant, expr, span, None).await {
        Ok(value) => value,
        Err(e) => return failed(state, e),
    };
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    match span {
        Span::Instant(time_ms) => ExploreOutcome::Table(ExploreTable {
            time_ms,
            result: instant_result(value),
            took_ms,
        }),
        Span::Range { start, end, step } => {
            ExploreOutcome::Graph(Box::new(graph(value, start, end, step, took_ms, locale)))
        }
    }
}

fn failed(state: &AppState, e: QueryError) -> ExploreOutcome {
    let failure = match &e {
        QueryError::Eval(EvalError::Timeout | EvalError::Canceled) => QueryFailure::Timeout {
            seconds: state.config.query_timeout_secs,
        },
        QueryError::Eval(EvalError::TooManySamples) => QueryFailure::TooManySamples,
        QueryError::Eval(EvalError::TooManySeries(_)) | QueryError::TooManySeries { .. } => QueryFailure::TooManySeries,
        QueryError::Busy(_) | QueryError::Eval(EvalError::OutOfMemory(_)) => QueryFailure::Busy,
        QueryError::Eval(EvalError::BadData(_)) => QueryFailure::Unsupported,
        QueryError::Eval(EvalError::Execution(_)) => QueryFailure::Execution,
        QueryError::Eval(EvalError::Storage(_)) | QueryError::Internal(_) => {
            // The details are ours, not the person's: they go to the log only.
            tracing::error!(error = %e, "explore query failed");
            return ExploreOutcome::Failed {
                failure: QueryFailure::Internal,
                detail: String::new(),
            };
        }
    };
    ExploreOutcome::Failed {
        failure,
        detail: e.to_string(),
    }
}

fn series_labels(labels: &vitrine_promql::Labels) -> SeriesLabels {
    SeriesLabels {
        name: labels.get(vitrine_promql::METRIC_NAME).map(str::to_string),
        labels: labels
            .iter()
            .filter(|(name, _)| *name != vitrine_promql::METRIC_NAME)
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
    }
}

fn graph(value: Value, start: i64, end: i64, step: i64, took_ms: f64, locale: app::Locale) -> ExploreGraph {
    // A range evaluation always gives a matrix.
    let matrix = match value {
        Value::Matrix(matrix) => matrix,
        Value::Vector(_) | Value::Scalar { .. } | Value::String { .. } => vec![],
    };
    let drawn = matrix.len().min(chart::MAX_SERIES);
    let lines: Vec<ChartSeries> = matrix
        .iter()
        .take(drawn)
        .enumerate()
        .map(|(i, series)| ChartSeries {
            colour: i,
            points: series.points.iter().map(|p| (p.t, p.v)).collect(),
        })
        .collect();
    let rows = matrix
        .iter()
        .take(MAX_ROWS)
        .enumerate()
        .map(|(i, series)| {
            let finite = || series.points.iter().map(|p| p.v).filter(|v| v.is_finite());
            SeriesRow {
                colour: (i < drawn).then(|| chart::colour(i).to_string()),
                labels: series_labels(&series.labels),
                last: series.points.last().map(|p| p.v),
                min: finite().reduce(f64::min),
                max: finite().reduce(f64::max),
            }
        })
        .collect();
    ExploreGraph {
        start_ms: start,
        end_ms: end,
        step: format_duration(step),
        chart_svg: if matrix.is_empty() {
            String::new()
        } else {
            chart::Chart {
                series: &lines,
                start_ms: start,
                end_ms: end,
                step_ms: step,
                locale,
                unit: None,
                marks: chart::Marks::default(),
                markers: &[],
            }
            .svg()
        },
        total: matrix.len(),
        drawn,
        rows,
        took_ms,
    }
}

fn instant_result(value: Value) -> InstantResult {
    match value {
        Value::Scalar { v, .. } => InstantResult::Scalar(v),
        Value::String { v, .. } => InstantResult::String(v),
        Value::Vector(samples) => InstantResult::Vector {
            total: samples.len(),
            rows: samples
                .iter()
                .take(MAX_ROWS)
                .map(|s| (series_labels(&s.labels), s.v))
                .collect(),
        },
        // A range selector (`up[5m]`) at one time: each series with its points.
        Value::Matrix(matrix) => InstantResult::Matrix {
            total: matrix.len(),
            rows: matrix
                .iter()
                .take(MAX_ROWS)
                .map(|s| {
                    let skip = s.points.len().saturating_sub(MAX_POINTS_LISTED);
                    let points = s.points[skip..].iter().map(|p| (p.t, p.v)).collect();
                    (series_labels(&s.labels), points)
                })
                .collect(),
        },
    }
}

/// Queries to try, made from the client's own metrics (as their targets declared them) that
/// have recent samples: `up`, a counter's rate, a histogram's 95th percentile, a gauge.
fn examples(state: &AppState, tenant: Tenant, client_slug: &str, form: &ExploreForm) -> Vec<ExploreExample> {
    let mut declared: Vec<(String, String)> = state
        .scraper
        .catalog
        .metadata(tenant)
        .into_iter()
        .filter(|(name, _)| !PLUMBING.iter().any(|prefix| name.starts_with(prefix)))
        .map(|(name, meta)| (name, meta.kind))
        .collect();
    declared.sort();
    let now = crate::store::now_ms();
    let has_samples = |series: &str| {
        !state
            .tsdb
            .head()
            .series(tenant, &[Matcher::equal("__name__", series)], now - 10 * MINUTE, now)
            .is_empty()
    };
    // The first declared metric of a kind whose series has recent samples (a few tries).
    let first = |kind: &str, series_of: &dyn Fn(&str) -> String| {
        declared
            .iter()
            .filter(|(_, k)| k == kind)
            .take(5)
            .find(|(name, _)| has_samples(&series_of(name)))
            .map(|(name, _)| name.clone())
    };
    let counter_series = |name: &str| {
        if name.ends_with("_total") {
            name.to_string()
        } else {
            format!("{name}_total")
        }
    };
    let bucket_series = |name: &str| format!("{name}_bucket");
    let mut found = vec![(ExampleKind::Up, "up".to_string(), "up".to_string())];
    if let Some(counter) = first("counter", &counter_series) {
        let query = format!("rate({}[5m])", counter_series(&counter));
        found.push((ExampleKind::Rate, counter, query));
    }
    if let Some(histogram) = first("histogram", &bucket_series) {
        let query = format!(
            "histogram_quantile(0.95, sum by (le) (rate({}[5m])))",
            bucket_series(&histogram)
        );
        found.push((ExampleKind::Quantile, histogram, query));
    }
    if let Some(gauge) = first("gauge", &|name: &str| name.to_string()) {
        found.push((ExampleKind::Gauge, gauge.clone(), gauge));
    }
    found
        .into_iter()
        .map(|(kind, metric, query)| {
            let params = [
                ("q", query.as_str()),
                ("mode", "range"),
                ("range", form.range.as_str()),
                ("end", form.end.as_str()),
            ];
            let kept: Vec<(&str, &str)> = params.into_iter().filter(|(_, v)| !v.is_empty()).collect();
            let href = format!(
                "{}?{}",
                explore_path(client_slug),
                serde_urlencoded::to_string(kept).unwrap_or_default()
            );
            ExploreExample {
                kind,
                metric,
                query,
                href,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn parse(pairs: &[(&str, &str)]) -> Request {
        let params: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Request::parse(&params, NOW)
    }

    #[test]
    fn an_empty_form_is_a_range_of_one_hour_until_now_with_an_automatic_step() {
        let request = parse(&[]);
        assert_eq!(request.form.mode, ExploreMode::Range);
        assert_eq!(request.form.range, "1h");
        assert!(request.problems.is_empty());
        assert_eq!(
            request.span(),
            Span::Range {
                start: NOW - HOUR,
                end: NOW,
                step: 15 * SECOND
            }
        );
        assert_eq!(format_duration(request.auto_step_ms), "15s");
    }

    #[test]
    fn the_automatic_step_gives_about_250_points_on_round_steps_of_at_least_15s() {
        let step = |range: &str| format_duration(auto_step(parse_duration(range).unwrap()));
        assert_eq!(step("5m"), "15s");
        assert_eq!(step("3h"), "1m");
        assert_eq!(step("24h"), "10m");
        assert_eq!(step("7d"), "1h");
        assert_eq!(step("30d"), "3h");
        for range in EXPLORE_RANGES {
            let range_ms = parse_duration(range).unwrap();
            assert!(range_ms / auto_step(range_ms) <= 300, "{range}");
        }
    }

    #[test]
    fn end_times_in_utc_rfc_3339_or_unix_seconds() {
        assert_eq!(parse_end("2023-11-14 22:13"), Some(1_699_999_980_000));
        assert_eq!(parse_end("2023-11-14T22:13"), Some(1_699_999_980_000));
        assert_eq!(parse_end(" 2023-11-14 22:13:20 "), Some(NOW));
        assert_eq!(parse_end("2023-11-14T23:13:20+01:00"), Some(NOW));
        assert_eq!(parse_end("1700000000"), Some(NOW));
        for bad in [
            "yesterday",
            "2023-13-01 00:00",
            "2023-11-14",
            "1e30",
            "-5",
            "99999-01-01 00:00",
            "NaN",
        ] {
            assert_eq!(parse_end(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_fields_are_reported_and_nothing_panics() {
        let request = parse(&[("q", "up"), ("range", "2w"), ("end", "soon"), ("step", "fast")]);
        let fields: Vec<&str> = request.problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["end", "range", "step"]);
        assert_eq!(request.form.range, "2w", "the value is kept as typed");
        for step in ["0", "-1s", "0s", "NaN", "inf", "1e300", ""] {
            let request = parse(&[("step", step)]);
            assert!(request.step_ms > 0, "{step}");
        }
        // Too many points: the smallest usable step is named.
        let request = parse(&[("range", "30d"), ("step", "1s")]);
        assert_eq!(
            request.problems,
            [(
                "step".to_string(),
                ExploreProblem::TooManyPoints {
                    min_step: "3m56s".to_string()
                }
            )]
        );
        // An instant query uses only the end time.
        let request = parse(&[
            ("mode", "instant"),
            ("range", "30d"),
            ("step", "1s"),
            ("end", "1700000000"),
        ]);
        assert!(request.problems.is_empty());
        assert_eq!(request.span(), Span::Instant(NOW));
        // A step in seconds, as the Prometheus API takes it.
        assert_eq!(parse(&[("step", "30")]).step_ms, 30 * SECOND);
        assert_eq!(parse(&[("step", "1m30s")]).step_ms, 90 * SECOND);
    }
}
