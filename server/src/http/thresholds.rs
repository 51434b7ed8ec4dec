//! The thresholds page of a client (`/clients/{client}/thresholds`): every threshold with its
//! explanation in the viewer's language and its state now; agency people add one from a
//! template and delete them, and add and remove recording rules. Reads and writes go through
//! `rules`, scoped by `ClientAccess`.

use super::AppState;
use super::pages::{CheckedForm, ClientAccess, path_param, put_flash, take_flash};
use super::render;
use crate::rules::alerting::AlertState;
use crate::rules::recording::RecordingRule;
use crate::rules::silences::{self, Silence};
use crate::rules::{self, Threshold, templates};
use crate::tenancy::TenancyError;
use app::dto::*;
use app::{Locale, language_tag};
use axum::extract::{Query, RawPathParams, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

const FLASH: &str = "flash_thresholds";

fn language(locale: Locale) -> usize {
    templates::language_index(language_tag(locale))
}

#[derive(Deserialize)]
pub struct ThresholdsQuery {
    template: Option<String>,
}

pub async fn thresholds_page(
    State(state): State<AppState>,
    access: ClientAccess,
    Query(query): Query<ThresholdsQuery>,
) -> Response {
    let form = query
        .template
        .as_deref()
        .and_then(templates::find)
        .filter(|_| access.who.caller.role.is_agency())
        .map(|template| template_form(template, access.who.locale));
    let notice = take_flash(&access, FLASH).await;
    let forms = Forms {
        threshold: form,
        ..Forms::default()
    };
    render_page(&state, &access, forms, notice, StatusCode::OK).await
}

/// The page's forms as typed, with their problems, and what was tried out.
#[derive(Default)]
struct Forms {
    threshold: Option<FormState>,
    maintenance: Option<FormState>,
    /// The new threshold's form tried out.
    preview: Option<ThresholdPreview>,
    /// A stored threshold tested: its id.
    tested: Option<(i64, ThresholdPreview)>,
    /// The rule file import form as typed, with why it was refused.
    import: Option<FormState>,
    /// The new recording rule's form as typed, with its problems.
    recording: Option<FormState>,
}

fn now_ms() -> i64 {
    crate::tenancy::now() * 1000
}

/// The form of a new threshold filled from a template: its name in the viewer's language,
/// its explanation in every language.
fn template_form(template: &templates::Template, locale: Locale) -> FormState {
    let mut values = vec![
        ("template".to_string(), template.id.to_string()),
        ("name".to_string(), template.name[language(locale)].to_string()),
        ("expr".to_string(), template.expr.to_string()),
        ("comparator".to_string(), template.comparator.to_string()),
        ("value".to_string(), template.value.to_string()),
        (
            "warning".to_string(),
            template.warning.map(|w| w.to_string()).unwrap_or_default(),
        ),
        (
            "for".to_string(),
            vitrine_promql::format_duration(i64::from(template.for_secs) * 1000),
        ),
        ("severity".to_string(), template.severity.to_string()),
        ("unit".to_string(), template.unit.to_string()),
    ];
    for (text, tag) in template.explanation.iter().zip(["en", "de", "fr"]) {
        values.push((format!("meaning_{tag}"), text.meaning.to_string()));
        values.push((format!("action_{tag}"), text.action.to_string()));
        values.push((format!("audience_{tag}"), text.audience.to_string()));
    }
    FormState {
        values,
        problems: Vec::new(),
    }
}

async fn render_page(
    state: &AppState,
    access: &ClientAccess,
    forms: Forms,
    notice: Option<ThresholdNotice>,
    status: StatusCode,
) -> Response {
    let who = &access.who;
    let listed = match rules::of_client(&state.db, access.client.id).await {
        Ok(listed) => listed,
        Err(e) => return who.failure(state, e).await,
    };
    let now = now_ms();
    let client_silences = match silences::of_client(&state.db, access.client.id, now).await {
        Ok(list) => list,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let mut thresholds = Vec::with_capacity(listed.len());
    for threshold in &listed {
        match view_of(state, threshold, &client_silences, now, who.locale).await {
            Ok(mut view) => {
                view.preview = forms
                    .tested
                    .as_ref()
                    .filter(|(id, _)| *id == threshold.id)
                    .map(|(_, p)| p.clone());
                thresholds.push(view);
            }
            Err(e) => return render::internal(state, who.locale, e).await,
        }
    }
    let summary = match who.scope(state).summaries(Some(&access.client)).await {
        Ok(mut list) if !list.is_empty() => list.remove(0),
        Ok(_) => return who.problem(state, Problem::NotFound).await,
        Err(e) => return who.failure(state, e).await,
    };
    let can_manage = who.caller.role.is_agency();
    let silence_views = client_silences
        .iter()
        .map(|silence| silence_view(silence, &listed, now))
        .collect();
    let mut places = Vec::new();
    for project in &summary.projects {
        for environment in &project.environments {
            places.push((
                format!("{}/{}", project.slug, environment.name),
                format!("{} · {}", project.name, environment.name),
            ));
        }
        places.push((format!("{}/*", project.slug), format!("{} · *", project.name)));
    }
    let recording_rules = match rules::recording::of_client(&state.db, access.client.id).await {
        Ok(list) => list.iter().map(|r| recording_view(state, r, &places)).collect(),
        Err(e) => return who.failure(state, e).await,
    };
    let page = ThresholdsPage {
        client_name: summary.name.clone(),
        client_slug: access.client.slug.clone(),
        thresholds,
        can_manage,
        templates: templates::TEMPLATES
            .iter()
            .map(|t| (t.id.to_string(), t.name[language(who.locale)].to_string()))
            .collect(),
        places,
        form: forms.threshold.filter(|_| can_manage),
        notice,
        can_silence: silences::may_silence(who.caller.role),
        silences: silence_views,
        maintenance_form: forms.maintenance,
        preview: forms.preview,
        import_form: forms.import.filter(|_| can_manage),
        recording_rules,
        recording_form: forms.recording.filter(|_| can_manage),
    };
    render::page(
        state,
        who.locale,
        Some(who.viewer()),
        Page::Thresholds(Box::new(page)),
        status,
    )
    .await
}

/// A recording rule as the page lists it, its place named as in `places`.
fn recording_view(state: &AppState, rule: &RecordingRule, places: &[(String, String)]) -> RecordingRuleView {
    let key = format!("{}/{}", rule.project, rule.environment.as_deref().unwrap_or("*"));
    let health = state.rules.recording_health(rule.id);
    RecordingRuleView {
        id: rule.id,
        record: rule.record.clone(),
        place: places
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key, |(_, label)| label.clone()),
        expr: rule.expr.clone(),
        effective: rule
            .confined()
            .map(|e| vitrine_promql::print(&e))
            .unwrap_or_else(|_| rule.expr.clone()),
        labels: rule.labels.clone(),
        last_ms: health.last_ms,
        error: health.error,
        series: health.series,
    }
}

/// Adds a recording rule of the form (agency people): it runs from the next round.
pub async fn create_recording(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    match rules::recording::create(&state.db, &who.caller, &access.client, &form).await {
        Ok(record) => {
            tracing::info!(client = %access.client.slug, %record, "recording rule added");
            put_flash(&access, FLASH, ThresholdNotice::RecordingAdded { record }).await;
            Redirect::to(&format!("/clients/{}/thresholds#recordings", access.client.slug)).into_response()
        }
        Err(TenancyError::Invalid(form)) => {
            let forms = Forms {
                recording: Some(form),
                ..Forms::default()
            };
            render_page(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Removes a recording rule (agency people); what it recorded stays in the store.
pub async fn delete_recording(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    let who = &access.who;
    let id = path_param(&params, "recording").parse::<i64>().unwrap_or(-1);
    match rules::recording::delete(&state.db, &who.caller, &access.client, id).await {
        Ok(record) => {
            tracing::info!(client = %access.client.slug, recording_rule = id, "recording rule deleted");
            put_flash(&access, FLASH, ThresholdNotice::RecordingDeleted { record }).await;
            Redirect::to(&format!("/clients/{}/thresholds#recordings", access.client.slug)).into_response()
        }
        Err(e) => who.failure(&state, e).await,
    }
}

fn silence_view(silence: &Silence, thresholds: &[Threshold], now: i64) -> SilenceView {
    let state = match silence.state(now) {
        silences::SilenceState::Active => SilenceState::Active,
        silences::SilenceState::Pending => SilenceState::Planned,
        silences::SilenceState::Expired => SilenceState::Ended,
    };
    SilenceView {
        id: silence.uuid.clone(),
        state,
        thresholds: thresholds
            .iter()
            .filter(|t| silence.matches(&alert_labels(t)))
            .map(|t| t.name.clone())
            .collect(),
        matchers: silence.matchers.iter().map(ToString::to_string).collect(),
        starts_ms: silence.starts_ms,
        ends_ms: silence.ends_ms,
        created_by: silence.created_by.clone(),
        comment: silence.comment.clone(),
    }
}

/// The labels every alert of the threshold has, whatever its series adds.
fn alert_labels(t: &Threshold) -> vitrine_promql::Labels {
    vitrine_promql::Labels::new(
        t.alert_labels()
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    )
}

/// The state the page shows: firing with every firing alert muted is Silenced (pending ones
/// are Watching, muted or not: no mail would go out yet anyway).
pub(crate) fn view_state(state: &AppState, t: &Threshold, active: &[&Silence]) -> ThresholdState {
    let firing: Vec<_> = state
        .rules
        .alerts(t.id)
        .into_iter()
        .filter(|a| a.state == AlertState::Firing)
        .collect();
    match state.rules.status(t.id).state {
        Some(AlertState::Firing)
            if !firing.is_empty() && firing.iter().all(|a| active.iter().any(|s| s.matches(&a.labels))) =>
        {
            ThresholdState::Silenced
        }
        Some(AlertState::Firing) => ThresholdState::Firing,
        Some(AlertState::Pending) => ThresholdState::Pending,
        _ => ThresholdState::Ok,
    }
}

async fn view_of(
    state: &AppState,
    t: &Threshold,
    client_silences: &[Silence],
    now: i64,
    locale: Locale,
) -> Result<ThresholdView, sqlx::Error> {
    let status = state.rules.status(t.id);
    let labels = alert_labels(t);
    let active: Vec<&Silence> = client_silences
        .iter()
        .filter(|s| s.state(now) == silences::SilenceState::Active)
        .collect();
    let muted = active
        .iter()
        .filter(|s| s.matches(&labels))
        .max_by_key(|s| s.ends_ms)
        .map(|s| (s.ends_ms, s.created_by.clone(), s.comment.clone()));
    let history = rules::evaluator::history(&state.db, t.id, 20)
        .await?
        .into_iter()
        .map(|(s, value, at)| {
            let s = match s.as_str() {
                "firing" => ThresholdState::Firing,
                "pending" => ThresholdState::Pending,
                _ => ThresholdState::Ok,
            };
            (s, value, at)
        })
        .collect();
    let mails = rules::evaluator::mails(&state.db, t.id, 10)
        .await?
        .into_iter()
        .map(|(alarm, at_ms, recipients, delivered)| ThresholdMails {
            alarm,
            at_ms,
            recipients: u32::try_from(recipients).unwrap_or(0),
            delivered: u32::try_from(delivered).unwrap_or(0),
        })
        .collect();
    // Templates in the text read for the alert that fires (or waits), as the mails say them.
    let alerts = state.rules.alerts(t.id);
    let shown = [AlertState::Firing, AlertState::Pending]
        .iter()
        .find_map(|wanted| alerts.iter().find(|a| a.state == *wanted));
    let explanation = t.explanation(language_tag(locale), shown, &state.public_base);
    Ok(ThresholdView {
        id: t.id,
        name: t.name.clone(),
        project: t.project.clone(),
        environment: t.environment.clone(),
        comparison: t.comparator,
        value: t.value,
        warning: t.warning,
        unit: t.unit.clone(),
        for_secs: t.for_secs,
        severity: t.severity.clone(),
        state: view_state(state, t, &active),
        since_ms: status.since_ms,
        value_now: status.value,
        meaning: explanation.meaning,
        action: explanation.action,
        audience: explanation.audience,
        effective_expr: t.rule_expr().map(|e| vitrine_promql::print(&e)).unwrap_or_else(|e| e),
        muted,
        history,
        mails,
        preview: None,
    })
}

pub async fn create_threshold(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    match rules::create(&state.db, &who.caller, &access.client, &form).await {
        Ok(id) => {
            let name = form
                .iter()
                .find(|(n, _)| n == "name")
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default();
            tracing::info!(client = %access.client.slug, threshold = id, "threshold created");
            put_flash(&access, FLASH, ThresholdNotice::Created { name }).await;
            Redirect::to(&format!("/clients/{}/thresholds#threshold-{id}", access.client.slug)).into_response()
        }
        Err(TenancyError::Invalid(form)) => {
            let forms = Forms {
                threshold: Some(form),
                ..Forms::default()
            };
            render_page(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

pub async fn delete_threshold(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    let who = &access.who;
    // An id that is not a number names no threshold: the same 404 as a missing one.
    let id = path_param(&params, "threshold").parse::<i64>().unwrap_or(-1);
    match rules::delete(&state.db, &who.caller, &access.client, id).await {
        Ok(name) => {
            tracing::info!(client = %access.client.slug, threshold = id, "threshold deleted");
            put_flash(&access, FLASH, ThresholdNotice::Deleted { name }).await;
            Redirect::to(&format!("/clients/{}/thresholds", access.client.slug)).into_response()
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Mutes one threshold's mails for a while, or plans a maintenance (see
/// [`silences::create_from_form`]).
pub async fn create_silence(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let now = now_ms();
    match silences::create_from_form(&state.db, &who.caller, &access.client, &form, now).await {
        Ok(uuid) => {
            tracing::info!(client = %access.client.slug, silence = %uuid, "silence created");
            let silence = silences::get(&state.db, access.client.id, &uuid).await;
            let (starts_ms, ends_ms) = silence.map_or((now, now), |s| (s.starts_ms, s.ends_ms));
            let (notice, anchor) = match form.iter().find(|(n, _)| n == "threshold") {
                Some((_, id)) => (ThresholdNotice::Muted { until_ms: ends_ms }, format!("threshold-{id}")),
                None => (
                    ThresholdNotice::MaintenancePlanned { starts_ms },
                    "silences".to_string(),
                ),
            };
            put_flash(&access, FLASH, notice).await;
            Redirect::to(&format!("/clients/{}/thresholds#{anchor}", access.client.slug)).into_response()
        }
        Err(TenancyError::Invalid(form)) => {
            let forms = Forms {
                maintenance: Some(form),
                ..Forms::default()
            };
            render_page(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Ends a mute or maintenance now.
pub async fn expire_silence(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    let who = &access.who;
    let uuid = path_param(&params, "silence");
    match silences::expire_from_form(&state.db, &who.caller, &access.client, &uuid, now_ms()).await {
        Ok(()) => {
            tracing::info!(client = %access.client.slug, silence = %uuid, "silence ended");
            put_flash(&access, FLASH, ThresholdNotice::SilenceEnded).await;
            Redirect::to(&format!("/clients/{}/thresholds#silences", access.client.slug)).into_response()
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Tries out the new threshold's form: the page again with the form as typed and the preview
/// (or the form's problems).
pub async fn preview_threshold(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    match rules::check_form(&state.db, &who.caller, &access.client, &form).await {
        Ok((_, threshold)) => {
            let tenant = crate::store::tenant(access.client.id);
            let preview = rules::preview::preview(&state.queries, tenant, &threshold, now_ms(), who.locale).await;
            let forms = Forms {
                threshold: Some(FormState {
                    values: form,
                    problems: Vec::new(),
                }),
                preview: Some(preview),
                ..Forms::default()
            };
            render_page(&state, &access, forms, None, StatusCode::OK).await
        }
        Err(TenancyError::Invalid(form)) => {
            let forms = Forms {
                threshold: Some(form),
                ..Forms::default()
            };
            render_page(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Tests a stored threshold now: the page again with the result on its card.
pub async fn test_threshold(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    let who = &access.who;
    if !who.caller.role.is_agency() {
        return who.failure(&state, TenancyError::Forbidden).await;
    }
    let id = path_param(&params, "threshold").parse::<i64>().unwrap_or(-1);
    let threshold = match rules::of_client(&state.db, access.client.id).await {
        Ok(list) => list.into_iter().find(|t| t.id == id),
        Err(e) => return who.failure(&state, e).await,
    };
    let Some(threshold) = threshold else {
        return who.failure(&state, TenancyError::NotFound).await;
    };
    let tenant = crate::store::tenant(access.client.id);
    let preview = rules::preview::preview(&state.queries, tenant, &threshold, now_ms(), who.locale).await;
    let forms = Forms {
        tested: Some((id, preview)),
        ..Forms::default()
    };
    render_page(&state, &access, forms, None, StatusCode::OK).await
}

/// Imports the alerting rules of a pasted Prometheus rule file as thresholds of the chosen
/// place (agency people); a file that cannot be read stays in the form with the reason.
pub async fn import_rules(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    if !who.caller.role.is_agency() {
        return who.failure(&state, TenancyError::Forbidden).await;
    }
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str());
    let refuse = |problem: FieldProblem, reason: String| {
        let mut values = form.clone();
        values.push(("rules_error".into(), reason));
        Forms {
            import: Some(FormState {
                values,
                problems: vec![("rules".into(), problem)],
            }),
            ..Forms::default()
        }
    };
    let place = match rules::place_of(&state.db, &access.client, field("place")).await {
        Ok(Some(place)) => place,
        Ok(None) => {
            let forms = refuse(FieldProblem::InvalidChoice, field("place").to_string());
            return render_page(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(e) => return who.failure(&state, e).await,
    };
    let destination = rules::import::Destination {
        agency_id: access.client.agency_id,
        client_id: access.client.id,
        project_id: place.0,
        environment_id: place.1,
    };
    match rules::import::import(&state.db, &destination, field("rules")).await {
        Ok(report) => {
            tracing::info!(client = %access.client.slug, made = report.created.len(), "rules imported");
            put_flash(&access, FLASH, ThresholdNotice::Imported(report)).await;
            Redirect::to(&format!("/clients/{}/thresholds", access.client.slug)).into_response()
        }
        Err(rules::import::RuleImportError::Tenancy(e)) => who.failure(&state, e).await,
        Err(e) => {
            let forms = refuse(FieldProblem::InvalidQuery, e.to_string());
            render_page(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
