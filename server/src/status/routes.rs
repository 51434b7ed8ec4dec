//! The status routes: the public page (`/status/{page}`), its Statuspage-shaped JSON and its
//! stylesheet, for anyone and without a cookie; the agency's settings page of a client's
//! status page (`/clients/{client}/status`: publish, time zone, components, their sources,
//! overrides); the probe forms on an environment's targets page.

use super::components;
use super::feeds;
use super::incidents::{self, ApiIncident, ApiUpdate, NewIncident, NewUpdate};
use super::page::{self, Document, Incidents, Kind, Rendered};
use super::probes::{self, NewProbe};
use super::subscribers;
use crate::http::AppState;
use crate::http::api::ApiClient;
use crate::http::pages::{
    CheckedForm, ClientAccess, EnvironmentAccess, FormFields, field, path_param, put_flash, take_flash,
};
use crate::http::render;
use crate::http::targets::{Extras, redirect_with, render_targets};
use crate::tenancy::TenancyError;
use app::Locale;
use app::dto::*;
use axum::extract::{RawPathParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

const FLASH: &str = "flash_status";

/// The stylesheet of the public pages: small, self-hosted, light and dark.
const STYLESHEET: &str = include_str!("../../../style/status.css");

#[derive(Deserialize)]
pub struct LanguageQuery {
    lang: Option<String>,
}

/// The page's language: `?lang=` (the switcher, no cookie), else the browser's.
fn language(query: &LanguageQuery, headers: &HeaderMap) -> Locale {
    match query.lang.as_deref() {
        Some(tag @ ("en" | "de" | "fr")) => app::locale_from_tag(&[tag]),
        _ => render::locale(None, headers),
    }
}

/// What every public answer carries: cacheable by anyone for a short while, varying by
/// language and encoding, never framed, nothing loaded from elsewhere.
fn public_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        // Kept by anyone but checked each time (a 304 when unchanged): during an outage a
        // reload shows the news at once.
        HeaderValue::from_static("public, no-cache"),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Accept-Encoding"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|part| {
                let mut pieces = part.trim().split(';');
                let coding = pieces.next().unwrap_or("").trim();
                let refused = pieces.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                (coding == "gzip" || coding == "x-gzip") && !refused
            })
        })
}

/// The rendered page as an answer: `304` when the browser has these bytes, gzip when accepted.
fn serve(rendered: Rendered, request: &HeaderMap, content_type: &'static str) -> Response {
    let etag = rendered.etag.to_str().unwrap_or("");
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(request) {
        let mut response = rendered.gzip.clone().into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        rendered.html.clone().into_response()
    };
    let headers = response.headers_mut();
    // Room for all of them at once.
    headers.reserve(10);
    public_headers(headers);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::ETAG, rendered.etag);
    headers.insert(header::LAST_MODIFIED, rendered.last_modified);
    response
}

/// A page that is not published answers like one that does not exist.
fn not_found() -> Response {
    let mut response = (StatusCode::NOT_FOUND, "Not found\n").into_response();
    public_headers(response.headers_mut());
    response
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "status page failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "The status page cannot be shown right now.\n",
    )
        .into_response()
}

/// A public document of a client in a language, from the cache or built now.
pub async fn rendered(
    state: &AppState,
    published: &page::Published,
    kind: Kind,
    locale: Locale,
) -> Result<Option<Rendered>, sqlx::Error> {
    let pages = &state.status;
    let key = (published.client_id, kind, locale);
    let version = pages.board.version(published.client_id);
    if let Some(cached) = pages.cache.get(key, version) {
        return Ok(Some(cached));
    }
    let which = match kind {
        Kind::Page => Incidents::Unresolved,
        _ => Incidents::LastYear,
    };
    let snapshot = page::snapshot(&state.db, &pages.board, pages.weights, published, which).await?;
    let language = app::language_tag(locale);
    let url = format!("{}/status/{}", state.public_base, published.slug);
    let text = match kind {
        Kind::Page => app::status::render(locale, snapshot.page(language)),
        Kind::History => app::status::render_history(locale, snapshot.history(language)),
        Kind::Rss => feeds::rss(&snapshot, &url, locale),
        Kind::Atom => feeds::atom(&snapshot, &url, locale),
        Kind::Badge => app::status::state_badge(locale, snapshot.overall(), None),
        Kind::ComponentBadge(id) => match snapshot.components.iter().find(|c| c.component.id == id) {
            Some(shown) => app::status::state_badge(locale, shown.public.state, Some(&shown.public)),
            None => return Ok(None),
        },
        Kind::Widget => app::status::render_widget(locale, snapshot.page(language), &url),
    };
    Ok(Some(pages.cache.put(key, version, text)))
}

/// The hot path of the public pages: the request is read in place (no header map copied).
async fn public_document(state: &AppState, request: axum::extract::Request, kind: Kind) -> Response {
    use axum::extract::FromRequestParts;
    let (mut parts, _) = request.into_parts();
    let PublicPage { published, locale } = match PublicPage::from_request_parts(&mut parts, state).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let headers = &parts.headers;
    match rendered(state, &published, kind, locale).await {
        Ok(Some(page)) => {
            let mut response = serve(page, headers, kind.content_type());
            if kind == Kind::Widget {
                // The widget is made to be framed by the client's own sites.
                response.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors *",
                    ),
                );
            }
            response
        }
        Ok(None) => not_found(),
        Err(e) => failed(e),
    }
}

pub async fn public_page(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    public_document(&state, request, Kind::Page).await
}

pub async fn history_page(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    public_document(&state, request, Kind::History).await
}

pub async fn badge(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    public_document(&state, request, Kind::Badge).await
}

pub async fn component_badge(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let component = request
        .uri()
        .path()
        .rsplit('/')
        .nth(1)
        .and_then(|id| id.parse::<i64>().ok())
        .unwrap_or(-1);
    public_document(&state, request, Kind::ComponentBadge(component)).await
}

/// `GET /status/{page}/components/{component}/response-time.svg`: how long the component's
/// first probe took over the last 24 hours, drawn on the server, in the page's light or dark.
pub async fn response_time(State(state): State<AppState>, page: PublicPage, params: RawPathParams) -> Response {
    let PublicPage { published, locale } = page;
    let id = path_param(&params, "component").parse::<i64>().unwrap_or(-1);
    let listed = match components::load(&state.db, Some(published.client_id)).await {
        Ok(listed) => listed,
        Err(e) => return failed(e),
    };
    let probe = listed
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| c.sources.iter().find(|s| s.kind == components::SourceKind::Probe));
    let Some(probe) = probe else {
        return not_found();
    };
    let selector = match probes::duration_selector(&state.db, published.client_id, probe.source_id).await {
        Ok(Some(selector)) => selector,
        Ok(None) => return not_found(),
        Err(e) => return failed(e),
    };
    let Ok(expr) = vitrine_promql::parse(&selector) else {
        return not_found();
    };
    let end = crate::store::now_ms();
    let (start, step) = (end - 86_400_000, 300_000);
    let value = state
        .queries
        .run(
            crate::store::tenant(published.client_id),
            expr,
            crate::query::Span::Range { start, end, step },
            None,
        )
        .await;
    let lines: Vec<crate::chart::ChartSeries> = match value {
        Ok(vitrine_promql::Value::Matrix(matrix)) => matrix
            .iter()
            .take(1)
            .map(|series| crate::chart::ChartSeries {
                colour: 0,
                points: series.points.iter().map(|p| (p.t, p.v)).collect(),
            })
            .collect(),
        Ok(_) => Vec::new(),
        Err(e) => return failed(e),
    };
    let chart = crate::chart::Chart {
        series: &lines,
        start_ms: start,
        end_ms: end,
        step_ms: step,
        locale,
        unit: Some("s"),
        marks: crate::chart::Marks::default(),
        markers: &[],
    }
    .svg();
    // As an image the chart has no page around it: its own colour for the text and axes.
    let themed = chart.replacen(
        "class=\"chart\"",
        "class=\"chart\"><style>svg{color:#1d1f21}@media (prefers-color-scheme: dark){svg{color:#eceef0}}</style><g",
        1,
    );
    let themed = match themed.rfind("</svg>") {
        Some(end) => format!("{}</g></svg>", &themed[..end]),
        None => themed,
    };
    let mut response = themed.into_response();
    let headers = response.headers_mut();
    public_headers(headers);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    response
}

pub async fn widget(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    public_document(&state, request, Kind::Widget).await
}

pub async fn rss_feed(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    public_document(&state, request, Kind::Rss).await
}

pub async fn atom_feed(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    public_document(&state, request, Kind::Atom).await
}

async fn document(state: &AppState, params: &RawPathParams, document: Document) -> Response {
    let slug = path_param(params, "page");
    let found = match state.status.published(&state.db, &slug).await {
        Ok(found) => found,
        Err(e) => return failed(e),
    };
    let Some(published) = found else {
        return not_found();
    };
    let which = match document {
        Document::Incidents => Incidents::LastYear,
        _ => Incidents::Unresolved,
    };
    let pages = &state.status;
    let snapshot = match page::snapshot(&state.db, &pages.board, pages.weights, &published, which).await {
        Ok(snapshot) => snapshot,
        Err(e) => return failed(e),
    };
    let url = format!("{}/status/{slug}", state.public_base);
    let mut response = axum::Json(page::json(&snapshot, &url, document)).into_response();
    public_headers(response.headers_mut());
    // Statuspage's widgets read the JSON from other sites.
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

pub async fn incidents_json(State(state): State<AppState>, params: RawPathParams) -> Response {
    document(&state, &params, Document::Incidents).await
}

pub async fn unresolved_json(State(state): State<AppState>, params: RawPathParams) -> Response {
    document(&state, &params, Document::Unresolved).await
}

pub async fn summary_json(State(state): State<AppState>, params: RawPathParams) -> Response {
    document(&state, &params, Document::Summary).await
}

pub async fn status_json(State(state): State<AppState>, params: RawPathParams) -> Response {
    document(&state, &params, Document::Status).await
}

pub async fn components_json(State(state): State<AppState>, params: RawPathParams) -> Response {
    document(&state, &params, Document::Components).await
}

pub async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

/// The page's forms as typed, with their problems.
#[derive(Default)]
struct Forms {
    settings: Option<FormState>,
    component: Option<FormState>,
    incident: Option<FormState>,
}

pub async fn settings_page(State(state): State<AppState>, access: ClientAccess) -> Response {
    let notice = take_flash(&access, FLASH).await;
    render_settings(&state, &access, Forms::default(), notice, StatusCode::OK).await
}

async fn render_settings(
    state: &AppState,
    access: &ClientAccess,
    forms: Forms,
    notice: Option<StatusNotice>,
    status: StatusCode,
) -> Response {
    let who = &access.who;
    let client = access.client.id;
    let loaded = tokio::try_join!(
        sqlx::query_as::<_, (String, String)>("SELECT name, language FROM clients WHERE id = ?")
            .bind(client)
            .fetch_one(&state.db),
        page::settings(&state.db, client),
        components::load(&state.db, Some(client)),
        components::choices(&state.db, client),
        incidents::of_client(&state.db, client, false, crate::store::now_ms() - 30 * 86_400_000),
    );
    let ((client_name, client_language), settings, listed, choices, incidents) = match loaded {
        Ok(all) => all,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let board = &state.status.board;
    let name_of = |kind: &str, id: i64| {
        let key = format!("{kind}:{id}");
        choices
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key.clone(), |(_, name)| name.clone())
    };
    let names: std::collections::HashMap<i64, String> = listed.iter().map(|c| (c.id, c.name.clone())).collect();
    let zone = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = |ms: i64| page::local_time(&zone, ms);
    let language = app::language_tag(who.locale);
    let incidents = incidents
        .iter()
        .map(|i| i.view(language, &client_language, &names, local))
        .collect();
    let rows = listed
        .into_iter()
        .map(|c| ComponentRow {
            id: c.id,
            state: board.state(c.id),
            override_state: c.override_state,
            sources: c
                .sources
                .iter()
                .map(|s| SourceRow {
                    id: s.id,
                    kind: s.kind.as_str().to_string(),
                    name: name_of(s.kind.as_str(), s.source_id),
                    impact: s.impact,
                    failures: s.failures,
                    failing: board.failing(s),
                })
                .collect(),
            group_name: c.group_name,
            name: c.name,
            description: c.description,
        })
        .collect();
    let can_manage = who.caller.role.is_agency();
    let language = app::language_tag(who.locale);
    let feature = crate::billing::catalogue::Feature::StatusPage;
    let addon_needed = match crate::billing::entitlements::missing(&state.db, &access.client, feature, language).await {
        Ok(needed) => needed,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let page = StatusSettingsPage {
        addon_needed,
        client_name,
        client_slug: access.client.slug.clone(),
        public_url: format!("{}/status/{}", state.public_base, access.client.slug),
        published: settings.published,
        time_zone: settings.time_zone,
        components: rows,
        choices,
        can_manage,
        form: forms.component.filter(|_| can_manage),
        settings_form: forms.settings.filter(|_| can_manage),
        notice,
        incidents,
        incident_form: forms.incident.filter(|_| can_manage),
    };
    render::page(
        state,
        who.locale,
        Some(who.viewer()),
        Page::StatusSettings(Box::new(page)),
        status,
    )
    .await
}

fn back(access: &ClientAccess, anchor: &str) -> Response {
    Redirect::to(&format!("/clients/{}/status#{anchor}", access.client.slug)).into_response()
}

pub async fn save_settings(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    match page::save_settings(&state.db, &who.caller, &access.client, &form).await {
        Ok(()) => {
            state.status.settings_changed(access.client.id);
            tracing::info!(client = %access.client.slug, "status page settings saved");
            put_flash(&access, FLASH, StatusNotice::Saved).await;
            back(&access, "settings")
        }
        Err(TenancyError::Invalid(form)) => {
            let forms = Forms {
                settings: Some(form),
                ..Forms::default()
            };
            render_settings(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

pub async fn create_component(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    match components::create(&state.db, &who.caller, &access.client, &form).await {
        Ok(name) => {
            state.status.board.client_changed(access.client.id);
            tracing::info!(client = %access.client.slug, %name, "component created");
            put_flash(&access, FLASH, StatusNotice::ComponentCreated { name }).await;
            back(&access, "components")
        }
        Err(TenancyError::Invalid(form)) => {
            let forms = Forms {
                component: Some(form),
                ..Forms::default()
            };
            render_settings(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// The component id in the path: one that is not a number names none (the same 404).
fn component_id(params: &RawPathParams) -> i64 {
    path_param(params, "component").parse::<i64>().unwrap_or(-1)
}

pub async fn add_source(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let id = component_id(&params);
    match components::add_source(&state.db, &who.caller, &access.client, id, &form).await {
        Ok(name) => {
            state.status.board.client_changed(access.client.id);
            put_flash(&access, FLASH, StatusNotice::SourceAdded { name }).await;
            back(&access, &format!("component-{id}"))
        }
        Err(TenancyError::Invalid(form)) => {
            let forms = Forms {
                component: Some(form),
                ..Forms::default()
            };
            render_settings(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

pub async fn override_component(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let id = component_id(&params);
    match components::set_override(&state.db, &who.caller, &access.client, id, field(&form, "state")).await {
        Ok(name) => {
            state.status.board.client_changed(access.client.id);
            tracing::info!(client = %access.client.slug, component = id, "component state set by hand");
            put_flash(&access, FLASH, StatusNotice::Overridden { name }).await;
            back(&access, &format!("component-{id}"))
        }
        Err(TenancyError::Invalid(_)) => who.failure(&state, TenancyError::NotFound).await,
        Err(e) => who.failure(&state, e).await,
    }
}

pub async fn delete_component(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    let who = &access.who;
    let id = component_id(&params);
    match components::delete(&state.db, &who.caller, &access.client, id).await {
        Ok(name) => {
            state.status.board.client_changed(access.client.id);
            put_flash(&access, FLASH, StatusNotice::ComponentDeleted { name }).await;
            back(&access, "components")
        }
        Err(e) => who.failure(&state, e).await,
    }
}

pub async fn add_probe(
    State(state): State<AppState>,
    access: EnvironmentAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    if !who.caller.role.may_manage_projects() {
        return who.failure(&state, TenancyError::Forbidden).await;
    }
    let environment = &access.environment;
    let place = probes::Place {
        agency_id: environment.agency_id,
        client_id: environment.client_id,
        project_id: environment.project_id,
        environment_id: environment.id,
    };
    let inserted = match NewProbe::from_form(&form) {
        Ok(probe) => probes::insert(&state.db, place, &probe, None)
            .await
            .map(|_| probe.name)
            .map_err(|e| match e {
                TenancyError::Duplicate => crate::tenancy::FormCheck::new(&form).fail("name", FieldProblem::Taken),
                other => other,
            }),
        Err(e) => Err(e),
    };
    match inserted {
        Ok(name) => {
            state.status.board.prober().probes_changed();
            tracing::info!(client = %access.client.slug, %name, "probe added");
            redirect_with(&access, Some(TargetsNotice::ProbeAdded { name }), None).await
        }
        Err(TenancyError::Invalid(form)) => {
            render_targets(
                &state,
                &access,
                Extras::probe_form(form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

pub async fn delete_probe(
    State(state): State<AppState>,
    access: EnvironmentAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    let who = &access.who;
    if !who.caller.role.may_manage_projects() {
        return who.failure(&state, TenancyError::Forbidden).await;
    }
    let id = path_param(&params, "probe").parse::<i64>().unwrap_or(-1);
    let environment = &access.environment;
    match probes::delete(&state.db, environment.client_id, environment.id, id).await {
        Ok(name) => {
            state.status.board.prober().probes_changed();
            state.status.board.client_changed(environment.client_id);
            redirect_with(&access, Some(TargetsNotice::ProbeDeleted { name }), None).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// The incident id in the path: one that is not a number names none (the same 404).
fn incident_id(params: &RawPathParams) -> i64 {
    path_param(params, "incident").parse::<i64>().unwrap_or(-1)
}

/// Re-renders the settings page with the incident form as typed.
async fn incident_form_again(state: &AppState, access: &ClientAccess, form: FormState) -> Response {
    let forms = Forms {
        incident: Some(form),
        ..Forms::default()
    };
    render_settings(state, access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn open_incident(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    if let Err(e) = incidents::may_write(&who.caller) {
        return who.failure(&state, e).await;
    }
    let new = match NewIncident::from_form(&state.db, access.client.id, &form).await {
        Ok(new) => new,
        Err(TenancyError::Invalid(form)) => return incident_form_again(&state, &access, form).await,
        Err(e) => return who.failure(&state, e).await,
    };
    match incidents::open(&state.db, access.client.agency_id, access.client.id, &new).await {
        Ok(id) => {
            state.status.board.client_changed(access.client.id);
            announce(&state, access.client.id, id).await;
            tracing::info!(client = %access.client.slug, incident = id, "incident opened");
            let title = new.title.pick(app::language_tag(who.locale), "en");
            put_flash(&access, FLASH, StatusNotice::IncidentOpened { title }).await;
            back(&access, &format!("incident-{id}"))
        }
        Err(e) => who.failure(&state, e).await,
    }
}

pub async fn update_incident(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let id = incident_id(&params);
    let update = match NewUpdate::from_form(&form) {
        Ok(update) => update,
        Err(TenancyError::Invalid(form)) => return incident_form_again(&state, &access, form).await,
        Err(e) => return who.failure(&state, e).await,
    };
    let language = app::language_tag(who.locale);
    let written = match incidents::may_write(&who.caller) {
        Ok(()) => incidents::update(&state.db, access.client.id, id, &update, language).await,
        Err(e) => Err(e),
    };
    match written {
        Ok(title) => {
            state.status.board.client_changed(access.client.id);
            announce(&state, access.client.id, id).await;
            tracing::info!(client = %access.client.slug, incident = id, status = update.status.as_str(), "incident updated");
            put_flash(&access, FLASH, StatusNotice::IncidentUpdated { title }).await;
            back(&access, &format!("incident-{id}"))
        }
        Err(e) => who.failure(&state, e).await,
    }
}

pub async fn incident_postmortem(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let id = incident_id(&params);
    let language = app::language_tag(who.locale);
    let written = match incidents::may_write(&who.caller) {
        Ok(()) => incidents::set_postmortem(&state.db, access.client.id, id, &form, language).await,
        Err(e) => Err(e),
    };
    match written {
        Ok(title) => {
            state.status.board.client_changed(access.client.id);
            put_flash(&access, FLASH, StatusNotice::IncidentUpdated { title }).await;
            back(&access, &format!("incident-{id}"))
        }
        Err(TenancyError::Invalid(form)) => incident_form_again(&state, &access, form).await,
        Err(e) => who.failure(&state, e).await,
    }
}

/// The scope a token needs to write incidents and component states.
pub const STATUS_WRITE: &str = "status:write";

/// An answer of the write API: `{"message": …}` with a status.
fn api_message(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(serde_json::json!({ "message": message.into() }))).into_response()
}

fn api_refusal(e: crate::http::api::ApiError) -> Response {
    api_message(e.status, e.message)
}

async fn client_language(state: &AppState, client_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT language FROM clients WHERE id = ?")
        .bind(client_id)
        .fetch_one(&state.db)
        .await
}

/// `POST /api/v1/status/incidents`: opens an incident (Statuspage's fields `name`, `status`,
/// `impact`, `body`, `components`: {id: status}); answers 201 with its id.
pub async fn api_open_incident(State(state): State<AppState>, client: ApiClient, body: axum::body::Bytes) -> Response {
    if let Err(e) = client.require(STATUS_WRITE) {
        return api_refusal(e);
    }
    let request: ApiIncident = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return api_message(StatusCode::BAD_REQUEST, format!("the body is not an incident: {e}")),
    };
    let language = match client_language(&state, client.client_id).await {
        Ok(language) => language,
        Err(e) => return failed(e),
    };
    let new = match request.check(&state.db, client.client_id, &language).await {
        Ok(new) => new,
        Err(why) => return api_message(StatusCode::UNPROCESSABLE_ENTITY, why),
    };
    match incidents::open(&state.db, client.agency_id, client.client_id, &new).await {
        Ok(id) => {
            state.status.board.client_changed(client.client_id);
            tracing::info!(
                client = client.client_id,
                incident = id,
                "incident opened through the API"
            );
            (
                StatusCode::CREATED,
                axum::Json(serde_json::json!({ "id": id.to_string() })),
            )
                .into_response()
        }
        Err(e) => failed(e),
    }
}

/// `POST /api/v1/status/incidents/{incident}/updates`: `{"status": …, "body": …}`.
pub async fn api_update_incident(
    State(state): State<AppState>,
    client: ApiClient,
    params: RawPathParams,
    body: axum::body::Bytes,
) -> Response {
    if let Err(e) = client.require(STATUS_WRITE) {
        return api_refusal(e);
    }
    let request: ApiUpdate = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return api_message(StatusCode::BAD_REQUEST, format!("the body is not an update: {e}")),
    };
    let language = match client_language(&state, client.client_id).await {
        Ok(language) => language,
        Err(e) => return failed(e),
    };
    let update = match request.check(&language) {
        Ok(update) => update,
        Err(why) => return api_message(StatusCode::UNPROCESSABLE_ENTITY, why),
    };
    let id = incident_id(&params);
    match incidents::update(&state.db, client.client_id, id, &update, &language).await {
        Ok(_) => {
            state.status.board.client_changed(client.client_id);
            announce(&state, client.client_id, id).await;
            api_message(StatusCode::OK, "updated")
        }
        Err(TenancyError::NotFound) => api_message(StatusCode::NOT_FOUND, "no such incident"),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
pub struct ApiComponentState {
    /// A component status, or null to follow the sources again.
    status: Option<String>,
}

/// `PUT /api/v1/status/components/{component}`: `{"status": "major_outage"}` sets the state by
/// hand, `{"status": null}` gives it back to the sources.
pub async fn api_set_component(
    State(state): State<AppState>,
    client: ApiClient,
    params: RawPathParams,
    body: axum::body::Bytes,
) -> Response {
    if let Err(e) = client.require(STATUS_WRITE) {
        return api_refusal(e);
    }
    let request: ApiComponentState = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return api_message(
                StatusCode::BAD_REQUEST,
                format!("the body is not a component state: {e}"),
            );
        }
    };
    let state_name = request.status.unwrap_or_default();
    match components::override_state(&state.db, client.client_id, component_id(&params), &state_name).await {
        Ok(_) => {
            state.status.board.client_changed(client.client_id);
            api_message(StatusCode::OK, "updated")
        }
        Err(TenancyError::NotFound) => api_message(StatusCode::NOT_FOUND, "no such component"),
        Err(TenancyError::Invalid(_)) => api_message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "status: one of operational, degraded_performance, partial_outage, major_outage, under_maintenance, or null",
        ),
        Err(e) => failed(e),
    }
}

/// A small public page of the subscriptions, with the public headers but never cached by others.
async fn message_page(
    published: &page::Published,
    locale: Locale,
    status: StatusCode,
    message: PublicMessage,
) -> Response {
    let html = app::status::render_message(locale, &published.name, &published.slug, message);
    let mut response = (status, axum::response::Html(html)).into_response();
    public_headers(response.headers_mut());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A published page named in the path (`{page}`) and the reader's language; any other
/// slug is the public 404.
pub struct PublicPage {
    published: std::sync::Arc<page::Published>,
    locale: Locale,
}

impl axum::extract::FromRequestParts<AppState> for PublicPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        let query: LanguageQuery =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or(LanguageQuery { lang: None });
        let locale = language(&query, &parts.headers);
        match state.status.published(&state.db, &path_param(&params, "page")).await {
            Ok(Some(published)) => Ok(PublicPage { published, locale }),
            Ok(None) => Err(not_found()),
            Err(e) => Err(failed(e)),
        }
    }
}

/// The components of the page among the submitted `component` fields.
async fn chosen_components(
    state: &AppState,
    client_id: i64,
    form: &[(String, String)],
) -> Result<Vec<i64>, sqlx::Error> {
    let own: Vec<i64> = components::load(&state.db, Some(client_id))
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    Ok(form
        .iter()
        .filter(|(n, _)| n == "component")
        .filter_map(|(_, v)| v.parse().ok())
        .filter(|id| own.contains(id))
        .collect())
}

/// `POST /status/{page}/subscribe`: the same answer for every valid address; a confirmation
/// or manage mail goes to it; sign-ups are limited per client address and per e-mail address.
pub async fn subscribe(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    page: PublicPage,
    headers: HeaderMap,
    FormFields(form): FormFields,
) -> Response {
    let PublicPage { published, locale } = page;
    let Ok(email) = crate::tenancy::model::Email::parse(field(&form, "email")) else {
        return message_page(
            &published,
            locale,
            StatusCode::UNPROCESSABLE_ENTITY,
            PublicMessage::BadAddress,
        )
        .await;
    };
    let ip = crate::http::address_key(state.client_ip(peer.ip(), &headers));
    let pages = &state.status;
    if !pages.signups_by_ip.allow(&ip) || !pages.signups_by_address.allow(email.as_str()) {
        return message_page(
            &published,
            locale,
            StatusCode::TOO_MANY_REQUESTS,
            PublicMessage::RateLimited,
        )
        .await;
    }
    let followers: i64 = match sqlx::query_scalar("SELECT COUNT(*) FROM subscribers WHERE client_id = ? AND email != ?")
        .bind(published.client_id)
        .bind(email.as_str())
        .fetch_one(&state.db)
        .await
    {
        Ok(count) => count,
        Err(e) => return failed(e),
    };
    let limit = crate::billing::catalogue::Limit::Subscribers;
    match crate::billing::entitlements::require_more(&state.db, published.client_id, limit, followers).await {
        Ok(()) => {}
        Err(crate::billing::entitlements::Refused::NotEntitled(_)) => {
            return message_page(
                &published,
                locale,
                StatusCode::FORBIDDEN,
                PublicMessage::SubscriptionsFull,
            )
            .await;
        }
        Err(crate::billing::entitlements::Refused::Database(e)) => return failed(e),
    }
    let chosen = match chosen_components(&state, published.client_id, &form).await {
        Ok(chosen) => chosen,
        Err(e) => return failed(e),
    };
    let context = crate::notify::alert::MailContext::new(&state.public_base);
    match subscribers::sign_up(&state.db, &published, &email, &chosen, locale, &context).await {
        Ok(()) => {
            state.outbox.wake();
            message_page(&published, locale, StatusCode::OK, PublicMessage::SignedUp).await
        }
        Err(e) => failed(e),
    }
}

fn token_in_path(params: &RawPathParams) -> String {
    path_param(params, "token")
}

/// The subscriber a manage token names, if they belong to the page in the path.
async fn subscriber_in_path(
    state: &AppState,
    published: &page::Published,
    params: &RawPathParams,
) -> Result<Option<subscribers::Subscriber>, sqlx::Error> {
    match subscribers::verify_manage(&token_in_path(params)) {
        Some(id) => subscribers::get(&state.db, published.client_id, id).await,
        None => Ok(None),
    }
}

fn page_url(published: &page::Published, rest: &str, locale: Locale) -> String {
    format!("/status/{}/{rest}?lang={}", published.slug, app::language_tag(locale))
}

pub async fn confirm_ask(page: PublicPage, params: RawPathParams) -> Response {
    let PublicPage { published, locale } = page;
    let token = token_in_path(&params);
    let message = match subscribers::verify_confirm(&token, crate::store::now_ms()) {
        Some(_) => PublicMessage::ConfirmAsk {
            action: page_url(&published, &format!("subscribe/confirm/{token}"), locale),
        },
        None => PublicMessage::LinkInvalid,
    };
    message_page(&published, locale, StatusCode::OK, message).await
}

pub async fn confirm(State(state): State<AppState>, page: PublicPage, params: RawPathParams) -> Response {
    let PublicPage { published, locale } = page;
    let Some(id) = subscribers::verify_confirm(&token_in_path(&params), crate::store::now_ms()) else {
        return message_page(&published, locale, StatusCode::NOT_FOUND, PublicMessage::LinkInvalid).await;
    };
    match subscribers::confirm(&state.db, published.client_id, id).await {
        Ok(true) => {
            let manage = subscribers::manage_token(id).unwrap_or_default();
            let manage = page_url(&published, &format!("subscription/{manage}"), locale);
            message_page(&published, locale, StatusCode::OK, PublicMessage::Confirmed { manage }).await
        }
        Ok(false) => message_page(&published, locale, StatusCode::NOT_FOUND, PublicMessage::LinkInvalid).await,
        Err(e) => failed(e),
    }
}

async fn manage_page(
    state: &AppState,
    published: &page::Published,
    subscriber: &subscribers::Subscriber,
    locale: Locale,
    saved: bool,
) -> Response {
    let listed = match components::load(&state.db, Some(published.client_id)).await {
        Ok(listed) => listed,
        Err(e) => return failed(e),
    };
    let token = subscribers::manage_token(subscriber.id).unwrap_or_default();
    let message = PublicMessage::Manage {
        action: page_url(published, &format!("subscription/{token}"), locale),
        unsubscribe: page_url(published, &format!("unsubscribe/{token}"), locale),
        components: listed
            .into_iter()
            .map(|c| (c.id, c.name, subscriber.components.contains(&c.id)))
            .collect(),
        saved,
    };
    message_page(published, locale, StatusCode::OK, message).await
}

pub async fn subscription_page(State(state): State<AppState>, page: PublicPage, params: RawPathParams) -> Response {
    let PublicPage { published, locale } = page;
    match subscriber_in_path(&state, &published, &params).await {
        Ok(Some(subscriber)) => manage_page(&state, &published, &subscriber, locale, false).await,
        Ok(None) => message_page(&published, locale, StatusCode::NOT_FOUND, PublicMessage::LinkInvalid).await,
        Err(e) => failed(e),
    }
}

pub async fn save_subscription(
    State(state): State<AppState>,
    page: PublicPage,
    params: RawPathParams,
    FormFields(form): FormFields,
) -> Response {
    let PublicPage { published, locale } = page;
    let subscriber = match subscriber_in_path(&state, &published, &params).await {
        Ok(Some(subscriber)) => subscriber,
        Ok(None) => return message_page(&published, locale, StatusCode::NOT_FOUND, PublicMessage::LinkInvalid).await,
        Err(e) => return failed(e),
    };
    let saved = match chosen_components(&state, published.client_id, &form).await {
        Ok(chosen) => subscribers::set_components(&state.db, published.client_id, subscriber.id, &chosen)
            .await
            .map(|()| chosen),
        Err(e) => Err(e),
    };
    match saved {
        Ok(chosen) => {
            let subscriber = subscribers::Subscriber {
                components: chosen,
                ..subscriber
            };
            manage_page(&state, &published, &subscriber, locale, true).await
        }
        Err(e) => failed(e),
    }
}

pub async fn unsubscribe_ask(page: PublicPage, params: RawPathParams) -> Response {
    let PublicPage { published, locale } = page;
    let token = token_in_path(&params);
    let message = match subscribers::verify_manage(&token) {
        Some(_) => PublicMessage::UnsubscribeAsk {
            action: page_url(&published, &format!("unsubscribe/{token}"), locale),
        },
        None => PublicMessage::LinkInvalid,
    };
    message_page(&published, locale, StatusCode::OK, message).await
}

/// `POST /status/{page}/unsubscribe/{token}`: the button, and RFC 8058's one-click POST.
pub async fn unsubscribe(State(state): State<AppState>, page: PublicPage, params: RawPathParams) -> Response {
    let PublicPage { published, locale } = page;
    let Some(id) = subscribers::verify_manage(&token_in_path(&params)) else {
        return message_page(&published, locale, StatusCode::NOT_FOUND, PublicMessage::LinkInvalid).await;
    };
    match subscribers::unsubscribe(&state.db, published.client_id, id).await {
        Ok(()) => message_page(&published, locale, StatusCode::OK, PublicMessage::Unsubscribed).await,
        Err(e) => failed(e),
    }
}

/// Queues the incident's latest news for the page's subscribers (logged, never failing the
/// request that wrote the incident: it is written).
async fn announce(state: &AppState, client_id: i64, incident_id: i64) {
    let context = crate::notify::alert::MailContext::new(&state.public_base);
    match subscribers::announce(&state.db, client_id, incident_id, &context).await {
        Ok(0) => {}
        Ok(queued) => {
            state.outbox.wake();
            tracing::info!(
                client = client_id,
                incident = incident_id,
                queued,
                "incident news queued for subscribers"
            );
        }
        Err(e) => tracing::error!(error = %e, incident = incident_id, "queuing the incident's news"),
    }
}
