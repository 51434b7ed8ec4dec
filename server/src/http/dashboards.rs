//! The dashboards of a client (`/clients/{client}/dashboards`): every project with its
//! environments' state and its dashboards, and one dashboard for one environment and period
//! (`?environment=live&range=24h`, so the address can be shared). Panels run through the pages'
//! query runner, confined to the project and the chosen environment; agency people add the
//! default dashboard to a project and import Grafana dashboards.

use super::AppState;
use super::pages::{CheckedForm, ClientAccess, path_param, put_flash, take_flash};
use super::render;
use super::thresholds::view_state;
use crate::chart::{Chart, ChartSeries, Marks};
use crate::dashboards::{self, Dashboard, Panel, PanelKind};
use crate::markers::{self, NewMarker};
use crate::query::Span;
use crate::rules::alerting::AlertState;
use crate::rules::{self, Threshold, silences};
use crate::tenancy::TenancyError;
use app::dto::*;
use app::language_tag;
use axum::extract::{Query, RawPathParams, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vitrine_promql::Value;

/// Series one panel draws at most.
const MAX_SERIES: usize = 10;

const FLASH: &str = "flash_dashboards";

fn now_ms() -> i64 {
    crate::tenancy::now() * 1000
}

fn range_ms(range: &str) -> i64 {
    const HOUR: i64 = 3_600_000;
    match range {
        "1h" => HOUR,
        "6h" => 6 * HOUR,
        "7d" => 7 * 24 * HOUR,
        "30d" => 30 * 24 * HOUR,
        _ => 24 * HOUR,
    }
}

/// The thresholds of the place a panel shows: in the project, of the environment or the whole
/// project; named by template id or by name, or every one for an alert list.
fn linked<'a>(panel: &Panel, thresholds: &'a [Threshold], project: &str, environment: &str) -> Vec<&'a Threshold> {
    thresholds
        .iter()
        .filter(|t| t.project == project && t.environment.as_deref().is_none_or(|e| e == environment))
        .filter(|t| {
            panel.kind == PanelKind::Alerts
                || panel
                    .thresholds
                    .iter()
                    .any(|key| t.template.as_deref() == Some(key.as_str()) || t.name == *key)
        })
        .collect()
}

pub async fn dashboards_page(State(state): State<AppState>, access: ClientAccess) -> Response {
    let imported = take_flash(&access, FLASH).await;
    render_list(&state, &access, None, imported, StatusCode::OK).await
}

async fn render_list(
    state: &AppState,
    access: &ClientAccess,
    import_form: Option<FormState>,
    imported: Option<(i64, DashboardImported)>,
    status: StatusCode,
) -> Response {
    let who = &access.who;
    let summary = match who.scope(state).summaries(Some(&access.client)).await {
        Ok(mut list) if !list.is_empty() => list.remove(0),
        Ok(_) => return who.problem(state, Problem::NotFound).await,
        Err(e) => return who.failure(state, e).await,
    };
    let (listed, thresholds) = match tokio::try_join!(
        async {
            dashboards::of_client(&state.db, &access.client)
                .await
                .map_err(TenancyError::from)
        },
        rules::of_client(&state.db, access.client.id)
    ) {
        Ok(both) => both,
        Err(e) => return who.failure(state, e).await,
    };
    let language = language_tag(who.locale);
    let projects = summary
        .projects
        .iter()
        .map(|project| ProjectDashboards {
            slug: project.slug.clone(),
            name: project.name.clone(),
            environments: project
                .environments
                .iter()
                .map(|env| {
                    let watched: Vec<&Threshold> = thresholds
                        .iter()
                        .filter(|t| t.project == project.slug && t.environment.as_deref().is_none_or(|e| e == env.name))
                        .collect();
                    EnvironmentState {
                        name: env.name.clone(),
                        thresholds: u32::try_from(watched.len()).unwrap_or(u32::MAX),
                        firing: u32::try_from(
                            watched
                                .iter()
                                .filter(|t| state.rules.status(t.id).state == Some(AlertState::Firing))
                                .count(),
                        )
                        .unwrap_or(u32::MAX),
                    }
                })
                .collect(),
            dashboards: listed
                .iter()
                .filter(|d| d.project_slug == project.slug)
                .map(|d| (d.id, d.model.title.for_language(language)))
                .collect(),
        })
        .collect();
    let page = DashboardsPage {
        client_name: summary.name.clone(),
        client_slug: access.client.slug.clone(),
        projects,
        can_manage: who.caller.role.is_agency(),
        import_form,
        imported,
    };
    render::page(
        state,
        who.locale,
        Some(who.viewer()),
        Page::Dashboards(Box::new(page)),
        status,
    )
    .await
}

/// Imports a pasted Grafana (or Vitrine) dashboard into the chosen project (agency people); a
/// text that is not one stays in the form with the reason.
pub async fn import_dashboard(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    if !who.caller.role.is_agency() {
        return who.failure(&state, TenancyError::Forbidden).await;
    }
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str());
    let refuse = async |field_name: &str, problem: FieldProblem, reason: String| {
        let mut values = form.clone();
        values.retain(|(n, _)| n != "csrf");
        values.push(("json_error".into(), reason));
        let form = FormState {
            values,
            problems: vec![(field_name.into(), problem)],
        };
        render_list(&state, &access, Some(form), None, StatusCode::UNPROCESSABLE_ENTITY).await
    };
    let project = match who.scope(&state).project(&access.client, field("project")).await {
        Ok(project) => project,
        Err(TenancyError::NotFound) => return refuse("project", FieldProblem::InvalidChoice, String::new()).await,
        Err(e) => return who.failure(&state, e).await,
    };
    let (model, report) = match dashboards::import_text(field("json")) {
        Ok(imported) => imported,
        Err(reason) => return refuse("json", FieldProblem::InvalidDashboard, reason).await,
    };
    match dashboards::insert(&state.db, access.client.id, project.id, &model).await {
        Ok(id) => {
            tracing::info!(client = %access.client.slug, dashboard = id, "dashboard imported");
            let report = report.unwrap_or_else(|| DashboardImported {
                title: model.title.en.clone(),
                panels: model.panels.len(),
                notes: Vec::new(),
            });
            put_flash(&access, FLASH, (id, report)).await;
            Redirect::to(&format!("/clients/{}/dashboards", access.client.slug)).into_response()
        }
        Err(e) => who.failure(&state, e.into()).await,
    }
}

#[derive(Deserialize)]
pub struct DashboardQuery {
    environment: Option<String>,
    range: Option<String>,
}

/// The dashboard id in the path: one that is not a number names none (the same 404).
fn dashboard_id(params: &RawPathParams) -> i64 {
    path_param(params, "dashboard").parse::<i64>().unwrap_or(-1)
}

pub async fn dashboard_page(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    Query(query): Query<DashboardQuery>,
) -> Response {
    let shown = Shown {
        id: dashboard_id(&params),
        environment: query.environment,
        range: query.range,
    };
    render_dashboard(&state, &access, shown, None, StatusCode::OK).await
}

/// Which dashboard, environment and period to show.
struct Shown {
    id: i64,
    environment: Option<String>,
    range: Option<String>,
}

async fn render_dashboard(
    state: &AppState,
    access: &ClientAccess,
    shown: Shown,
    marker_form: Option<FormState>,
    status: StatusCode,
) -> Response {
    let (id, query) = (shown.id, &shown);
    let who = &access.who;
    let dashboard = match dashboards::get(&state.db, &access.client, id).await {
        Ok(Some(dashboard)) => dashboard,
        Ok(None) => return who.failure(state, TenancyError::NotFound).await,
        Err(e) => return who.failure(state, e.into()).await,
    };
    let (client_name, environments) = match environments_of(state, access, &dashboard).await {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let (environment, range) = chosen(&environments, query.environment.clone(), query.range.clone());
    let now = now_ms();
    let (thresholds, active) = match tokio::try_join!(rules::of_client(&state.db, access.client.id), async {
        silences::active(&state.db, access.client.id, now)
            .await
            .map_err(TenancyError::from)
    }) {
        Ok(both) => both,
        Err(e) => return who.failure(state, e).await,
    };
    let active: Vec<&silences::Silence> = active.iter().collect();
    let start = now - range_ms(&range);
    let filter = markers::Filter {
        from_ms: start,
        to_ms: now,
        tags: Vec::new(),
        limit: 200,
        project: Some(&dashboard.project_slug),
        environment: Some(&environment),
    };
    let marked = match markers::list(&state.db, access.client.id, &filter).await {
        Ok(list) => list,
        Err(e) => return who.failure(state, e.into()).await,
    };
    let place = Place {
        dashboard: &dashboard,
        environment: &environment,
        start,
        end: now,
        markers: marked.iter().map(|m| (m.time_ms, m.time_end_ms)).collect(),
    };
    let mut panels = Vec::with_capacity(dashboard.model.panels.len());
    for panel in &dashboard.model.panels {
        let links = linked(panel, &thresholds, &dashboard.project_slug, &environment);
        panels.push(panel_view(state, access, panel, &place, &links, &active, who.locale).await);
    }
    let language = language_tag(who.locale);
    let page = DashboardPage {
        client_name,
        client_slug: access.client.slug.clone(),
        dashboard_id: dashboard.id,
        title: dashboard.model.title.for_language(language),
        description: dashboard.model.description.for_language(language),
        project_name: dashboard.project_name.clone(),
        environments,
        environment,
        range,
        end_ms: now,
        panels,
        markers: marked
            .into_iter()
            .map(|m| MarkerView {
                id: m.id,
                time_ms: m.time_ms,
                time_end_ms: m.time_end_ms,
                text: m.text,
                tags: m.tags,
                created_by: m.created_by,
                alarm: m.threshold_id.is_some(),
            })
            .collect(),
        can_mark: silences::may_silence(who.caller.role),
        marker_form,
    };
    render::page(
        state,
        who.locale,
        Some(who.viewer()),
        Page::Dashboard(Box::new(page)),
        status,
    )
    .await
}

/// The client's name and the environments of the dashboard's project, as the caller sees them.
async fn environments_of(
    state: &AppState,
    access: &ClientAccess,
    dashboard: &Dashboard,
) -> Result<(String, Vec<String>), Box<Response>> {
    let who = &access.who;
    match who.scope(state).summaries(Some(&access.client)).await {
        Ok(list) => Ok(list
            .into_iter()
            .next()
            .map(|client| {
                let environments = client
                    .projects
                    .iter()
                    .find(|p| p.slug == dashboard.project_slug)
                    .map(|p| p.environments.iter().map(|e| e.name.clone()).collect())
                    .unwrap_or_default();
                (client.name, environments)
            })
            .unwrap_or_default()),
        Err(e) => Err(Box::new(who.failure(state, e).await)),
    }
}

/// The environment and period asked for, or live (else the first) and the last 24 hours.
fn chosen(environments: &[String], environment: Option<String>, range: Option<String>) -> (String, String) {
    let environment = environment
        .filter(|e| environments.contains(e))
        .or_else(|| environments.iter().find(|e| *e == "live").cloned())
        .or_else(|| environments.first().cloned())
        .unwrap_or_default();
    let range = range
        .filter(|r| DASHBOARD_RANGES.contains(&r.as_str()))
        .unwrap_or_else(|| "24h".into());
    (environment, range)
}

/// Where and when a dashboard is shown, and the markers drawn on its panels.
struct Place<'a> {
    dashboard: &'a Dashboard,
    environment: &'a str,
    start: i64,
    end: i64,
    markers: Vec<(i64, i64)>,
}

/// Whether `value` is across `line` the way the threshold watches.
fn crosses(comparison: Comparison, value: f64, line: f64) -> bool {
    match comparison {
        Comparison::Above => value > line,
        Comparison::AtLeast => value >= line,
        Comparison::Below => value < line,
        Comparison::AtMost => value <= line,
        Comparison::Equal => value == line,
        Comparison::NotEqual => value != line,
        Comparison::Found => false,
    }
}

/// The highest, lowest and latest values over the series (the latest of the series highest at
/// its end); `None` without a finite value.
fn stats_of(series: &[ChartSeries]) -> Option<PanelStats> {
    let mut points = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(_, v)| v.is_finite());
    let &(first_t, first_v) = points.next()?;
    let (mut max, mut max_at, mut min, mut min_at) = (first_v, first_t, first_v, first_t);
    for &(t, v) in points {
        if v > max {
            (max, max_at) = (v, t);
        }
        if v < min {
            (min, min_at) = (v, t);
        }
    }
    let last = series
        .iter()
        .filter_map(|s| s.points.iter().rev().find(|(_, v)| v.is_finite()).map(|p| p.1))
        .reduce(f64::max)?;
    Some(PanelStats {
        last,
        max,
        max_at,
        min,
        min_at,
    })
}

async fn panel_view(
    state: &AppState,
    access: &ClientAccess,
    panel: &Panel,
    place: &Place<'_>,
    links: &[&Threshold],
    active: &[&silences::Silence],
    locale: app::Locale,
) -> PanelView {
    let language = language_tag(locale);
    let step = super::explore::auto_step(place.end - place.start);
    let data = run_panel(state, access, panel, place, step).await;
    let error = data.error;
    let series: Vec<ChartSeries> = data.series.iter().map(|s| s.chart.clone()).collect();
    let legends = data
        .series
        .iter()
        .filter(|s| s.legend)
        .map(|s| (crate::chart::colour(s.chart.colour).to_string(), s.name.clone()))
        .collect();
    let rows = data
        .series
        .iter()
        .filter_map(|s| {
            let stats = stats_of(std::slice::from_ref(&s.chart))?;
            Some(PanelRow {
                colour: crate::chart::colour(s.chart.colour).to_string(),
                name: s.name.clone(),
                last: stats.last,
                min: stats.min,
                max: stats.max,
            })
        })
        .collect();
    let first = links.first();
    let thresholds = links
        .iter()
        .map(|t| {
            let line = t.value;
            let crossed_at = series
                .iter()
                .flat_map(|s| s.points.iter())
                .filter(|(_, v)| crosses(t.comparator, *v, line))
                .map(|(at, _)| *at)
                .min();
            let alerts = state.rules.alerts(t.id);
            let shown = alerts.iter().find(|a| a.state != AlertState::Inactive);
            let explanation = t.explanation(language, shown, &state.public_base);
            PanelThreshold {
                id: t.id,
                name: t.name.clone(),
                state: view_state(state, t, active),
                comparison: t.comparator,
                line,
                meaning: explanation.meaning,
                action: explanation.action,
                crossed_at,
            }
        })
        .collect();
    let chart = Chart {
        series: &series,
        start_ms: place.start,
        end_ms: place.end,
        step_ms: step,
        locale,
        unit: Some(&panel.unit),
        marks: Marks {
            line: first.and_then(|t| t.line()),
            warning: first.and_then(|t| t.warning),
            crossed_at: None,
        },
        markers: &place.markers,
    };
    // Drawn about as wide as the panel stands on a wide page; a wide one again for phones.
    let span = u32::from(panel.width.clamp(1, 24));
    let charted = panel.kind != PanelKind::Alerts;
    let chart_svg = if charted {
        chart.svg_width(span * crate::chart::WIDTH / 24)
    } else {
        String::new()
    };
    let chart_svg_phone = (charted && span > 12).then(|| chart.svg_width(crate::chart::WIDTH / 2));
    PanelView {
        kind: match panel.kind {
            PanelKind::Timeseries => "timeseries",
            PanelKind::Stat => "stat",
            PanelKind::Alerts => "alerts",
        }
        .into(),
        title: panel.title.for_language(language),
        explanation: panel.explanation.for_language(language),
        width: panel.width,
        chart_svg,
        chart_svg_phone,
        rows,
        unit: panel.unit.clone(),
        legends,
        stats: stats_of(&series),
        thresholds,
        error,
    }
}

/// The marker form: `text`, `starts` and `ends` (UTC, `datetime-local`; no start: now), for the
/// dashboard's project and the shown `environment`.
fn marker_from_form(form: &[(String, String)], project: &str, by: &str) -> Result<NewMarker, FormState> {
    let mut check = crate::tenancy::FormCheck::new(form);
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.trim());
    let text = check.field("text", |raw| match raw.trim() {
        "" => Err(FieldProblem::Required),
        text if text.chars().count() > 500 => Err(FieldProblem::TooLong),
        text => Ok(text.to_string()),
    });
    let time = |name: &str, check: &mut crate::tenancy::FormCheck<'_>| {
        if field(name).is_empty() {
            return None;
        }
        check.field(name, silences::parse_utc)
    };
    let starts = time("starts", &mut check).unwrap_or_else(now_ms);
    let ends = time("ends", &mut check);
    if ends.is_some_and(|ends| ends < starts) {
        check.problem("ends", FieldProblem::EndBeforeStart);
    }
    let environment = field("environment").to_string();
    check
        .finish(|| {
            Some(NewMarker {
                project: Some(project.to_string()),
                environment: (!environment.is_empty()).then_some(environment),
                time_ms: starts,
                time_end_ms: ends.unwrap_or(starts),
                text: text?,
                tags: Vec::new(),
                dashboard_uid: None,
                panel_id: None,
                created_by: by.to_string(),
            })
        })
        .map_err(|e| match e {
            TenancyError::Invalid(form) => form,
            _ => FormState::default(),
        })
}

/// Where a marker form leads back to: the dashboard in the environment and period it was sent from.
fn shown_from(form: &[(String, String)], id: i64) -> Shown {
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    Shown {
        id,
        environment: field("environment"),
        range: field("range"),
    }
}

fn back_to(access: &ClientAccess, shown: &Shown) -> Response {
    let query = serde_urlencoded::to_string([
        ("environment", shown.environment.as_deref().unwrap_or("")),
        ("range", shown.range.as_deref().unwrap_or("24h")),
    ])
    .unwrap_or_default();
    Redirect::to(&format!(
        "/clients/{}/dashboards/{}?{query}#markers",
        access.client.slug, shown.id
    ))
    .into_response()
}

/// One series of a panel: its name (the legend, or the labels) and its points.
struct NamedSeries {
    name: String,
    /// Named by the panel's legend (else by its labels).
    legend: bool,
    chart: ChartSeries,
}

/// What a panel's queries give over the place and period (at most [`MAX_SERIES`] series), or why
/// they could not run.
struct PanelData {
    series: Vec<NamedSeries>,
    error: Option<String>,
}

async fn run_panel(state: &AppState, access: &ClientAccess, panel: &Panel, place: &Place<'_>, step: i64) -> PanelData {
    let tenant = crate::store::tenant(access.client.id);
    let mut data = PanelData {
        series: Vec::new(),
        error: None,
    };
    for query in &panel.queries {
        let expr = match dashboards::confined(&query.expr, &place.dashboard.project_slug, place.environment) {
            Ok(expr) => expr,
            Err(e) => {
                data.error = Some(e);
                break;
            }
        };
        let span = Span::Range {
            start: place.start,
            end: place.end,
            step,
        };
        match state.queries.run(tenant, expr, span, None).await {
            Ok(Value::Matrix(matrix)) => {
                for s in matrix {
                    if data.series.len() >= MAX_SERIES {
                        break;
                    }
                    data.series.push(NamedSeries {
                        name: dashboards::legend(&query.legend, &s.labels),
                        legend: !query.legend.is_empty(),
                        chart: ChartSeries {
                            colour: data.series.len(),
                            points: s.points.iter().map(|p| (p.t, p.v)).collect(),
                        },
                    });
                }
            }
            Ok(_) => data.error = Some("the query does not give a list of series".into()),
            Err(e) => data.error = Some(e.to_string()),
        }
    }
    data
}

/// A CSV field: quoted when it holds a comma, a quote or a line break; a leading `=`, `+`, `-`
/// or `@` made harmless for spreadsheets (OWASP's CSV injection advice).
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `GET …/dashboards/{dashboard}/panels/{panel}/csv`: a panel's values in the environment and
/// period of the address, one line per series and time (`time,series,value`, times in UTC).
pub async fn panel_csv(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    Query(query): Query<DashboardQuery>,
) -> Response {
    let who = &access.who;
    let dashboard = match dashboards::get(&state.db, &access.client, dashboard_id(&params)).await {
        Ok(Some(dashboard)) => dashboard,
        Ok(None) => return who.failure(&state, TenancyError::NotFound).await,
        Err(e) => return who.failure(&state, e.into()).await,
    };
    let index = path_param(&params, "panel").parse::<usize>().ok();
    let Some(panel) = index.and_then(|i| dashboard.model.panels.get(i)) else {
        return who.failure(&state, TenancyError::NotFound).await;
    };
    let environments = match environments_of(&state, &access, &dashboard).await {
        Ok((_, list)) => list,
        Err(response) => return *response,
    };
    let (environment, range) = chosen(&environments, query.environment, query.range);
    let now = now_ms();
    let place = Place {
        dashboard: &dashboard,
        environment: &environment,
        start: now - range_ms(&range),
        end: now,
        markers: Vec::new(),
    };
    let data = run_panel(
        &state,
        &access,
        panel,
        &place,
        super::explore::auto_step(place.end - place.start),
    )
    .await;
    let mut csv = String::from("time,series,value\n");
    for series in &data.series {
        for (t, v) in &series.chart.points {
            csv.push_str(&format!(
                "{},{},{}\n",
                crate::rules::alerting::rfc3339(*t),
                csv_field(&series.name),
                vitrine_promql::json::format_value(*v)
            ));
        }
    }
    let name = format!(
        "{}-{}-panel-{}.csv",
        dashboard.project_slug,
        environment,
        index.unwrap_or(0)
    );
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", name.replace(['"', '\\'], "")),
            ),
        ],
        csv,
    )
        .into_response()
}

/// Adds a marker to the dashboard's project and environment (agency people, client admins).
pub async fn create_marker(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let id = dashboard_id(&params);
    let dashboard = match dashboards::get(&state.db, &access.client, id).await {
        Ok(Some(dashboard)) => dashboard,
        Ok(None) => return who.failure(&state, TenancyError::NotFound).await,
        Err(e) => return who.failure(&state, e.into()).await,
    };
    if !silences::may_silence(who.caller.role) {
        return who.failure(&state, TenancyError::Forbidden).await;
    }
    let shown = shown_from(&form, id);
    let new = match marker_from_form(&form, &dashboard.project_slug, &who.caller.email) {
        Ok(new) => new,
        Err(form) => {
            return render_dashboard(&state, &access, shown, Some(form), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match markers::insert(&state.db, access.client.id, &new).await {
        Ok(marker) => {
            tracing::info!(client = %access.client.slug, marker, "marker added");
            back_to(&access, &shown)
        }
        Err(e) => who.failure(&state, e.into()).await,
    }
}

/// Deletes one of the client's markers (agency people, client admins).
pub async fn delete_marker(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let id = path_param(&params, "marker").parse::<i64>().unwrap_or(-1);
    match markers::get(&state.db, access.client.id, id).await {
        Ok(Some(_)) => {}
        Ok(None) => return who.failure(&state, TenancyError::NotFound).await,
        Err(e) => return who.failure(&state, e.into()).await,
    }
    if !silences::may_silence(who.caller.role) {
        return who.failure(&state, TenancyError::Forbidden).await;
    }
    if let Err(e) = markers::delete(&state.db, access.client.id, id).await {
        return who.failure(&state, e.into()).await;
    }
    let dashboard = form
        .iter()
        .find(|(n, _)| n == "dashboard")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .unwrap_or(-1);
    back_to(&access, &shown_from(&form, dashboard))
}

/// Adds "Is my application OK?" to one of the client's projects (agency people) and opens it.
pub async fn add_default_dashboard(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    let who = &access.who;
    // A project that is not there is the same 404 for everyone; then the role.
    let project = match who
        .scope(&state)
        .project(&access.client, &path_param(&params, "project"))
        .await
    {
        Ok(project) => project,
        Err(e) => return who.failure(&state, e).await,
    };
    if !who.caller.role.is_agency() {
        return who.failure(&state, TenancyError::Forbidden).await;
    }
    match dashboards::insert(&state.db, access.client.id, project.id, &dashboards::default_model()).await {
        Ok(id) => {
            tracing::info!(client = %access.client.slug, dashboard = id, "default dashboard added");
            Redirect::to(&format!("/clients/{}/dashboards/{id}", access.client.slug)).into_response()
        }
        Err(e) => who.failure(&state, e.into()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_harmless_in_spreadsheets() {
        assert_eq!(csv_field("GET /cart"), "GET /cart");
        assert_eq!(csv_field("{route=\"/a,b\"}"), "\"{route=\"\"/a,b\"\"}\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-5"), "-5");
        assert_eq!(csv_field("@sum"), "'@sum");
    }

    #[test]
    fn the_sentence_figures_come_from_every_series() {
        let series = vec![
            ChartSeries {
                colour: 0,
                points: vec![(1, 0.2), (2, f64::NAN), (3, 0.1)],
            },
            ChartSeries {
                colour: 1,
                points: vec![(1, 0.5), (2, 0.05)],
            },
        ];
        assert_eq!(
            stats_of(&series),
            Some(PanelStats {
                last: 0.1,
                max: 0.5,
                max_at: 1,
                min: 0.05,
                min_at: 2,
            })
        );
        assert_eq!(stats_of(&[]), None);
        assert!(crosses(Comparison::Above, 0.04, 0.03) && !crosses(Comparison::Below, 0.04, 0.03));
    }
}
