//! The page of who is told (`/clients/{client}/channels`): the client's people with the mails
//! they chose, and the channels the agency set up (a team address, a webhook, Slack,
//! PagerDuty), which agency people add, test, delete and import from an Alertmanager
//! configuration. Reads and writes go through `notify::channels`, scoped by `ClientAccess`.

use super::AppState;
use super::pages::{CheckedForm, ClientAccess, path_param, put_flash, take_flash};
use super::render;
use crate::notify::alert::MailContext;
use crate::notify::channels;
use crate::notify::inhibit;
use crate::notify::preferences;
use crate::notify::quiet_hours;
use crate::notify::timing::{self, NotifyTiming};
use crate::tenancy::TenancyError;
use app::dto::*;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

const FLASH: &str = "flash_channels";

/// The page's forms as typed, with their problems.
#[derive(Default)]
struct Forms {
    channel: Option<FormState>,
    import: Option<FormState>,
    timing: Option<FormState>,
    inhibit: Option<FormState>,
    hours: Option<FormState>,
}

pub async fn channels_page(State(state): State<AppState>, access: ClientAccess) -> Response {
    let notice = take_flash(&access, FLASH).await;
    render_page(&state, &access, Forms::default(), notice, StatusCode::OK).await
}

async fn render_page(
    state: &AppState,
    access: &ClientAccess,
    forms: Forms,
    notice: Option<ChannelNotice>,
    status: StatusCode,
) -> Response {
    let who = &access.who;
    let (client_name, people, listed) = match tokio::try_join!(
        sqlx::query_scalar::<_, String>("SELECT name FROM clients WHERE id = ?")
            .bind(access.client.id)
            .fetch_one(&state.db),
        preferences::people(&state.db, access.client.id),
        channels::of_client(&state.db, access.client.id)
    ) {
        Ok(both) => both,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let (timing, own_timing, inhibit_rules, hours) = match client_timing(state, access.client.id).await {
        Ok(all) => all,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let time_zone = match crate::status::page::settings(&state.db, access.client.id).await {
        Ok(settings) => settings.time_zone,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let can_manage = who.caller.role.is_agency();
    let language = app::language_tag(who.locale);
    use crate::billing::catalogue::Feature;
    let (mails_addon_needed, chat_addon_needed) = match tokio::try_join!(
        crate::billing::entitlements::missing(&state.db, &access.client, Feature::ClientMails, language),
        crate::billing::entitlements::missing(&state.db, &access.client, Feature::ChatAlerts, language)
    ) {
        Ok(both) => both,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let page = ChannelsPage {
        mails_addon_needed,
        chat_addon_needed,
        client_name,
        client_slug: access.client.slug.clone(),
        people: people
            .into_iter()
            .map(|person| PersonMails {
                email: person.email,
                alerts: person.wants.alerts,
                severities: person.wants.severities,
                projects: person.wants.projects,
            })
            .collect(),
        channels: listed,
        can_manage,
        form: forms.channel.filter(|_| can_manage),
        import_form: forms.import.filter(|_| can_manage),
        timing,
        own_timing,
        timing_form: forms.timing.filter(|_| can_manage),
        inhibit_rules,
        inhibit_form: forms.inhibit.filter(|_| can_manage),
        quiet_hours: quiet_hours::views(&hours, crate::store::now_ms()),
        quiet_hours_form: forms.hours.filter(|_| can_manage),
        time_zone,
        notice,
    };
    render::page(
        state,
        who.locale,
        Some(who.viewer()),
        Page::Channels(Box::new(page)),
        status,
    )
    .await
}

/// When the client is told, whether it has timers of its own, its inhibition rules and its
/// quiet hours.
async fn client_timing(
    state: &AppState,
    client_id: i64,
) -> Result<(NotifyTiming, bool, Vec<InhibitRuleView>, Vec<quiet_hours::QuietHours>), sqlx::Error> {
    let mut conn = state.db.acquire().await?;
    let timing = timing::of(&mut conn, client_id, state.rules.timing()).await?;
    let own = timing::has_own(&mut conn, client_id).await?;
    let inhibit_rules = inhibit::views(&mut conn, client_id).await?;
    Ok((
        timing,
        own,
        inhibit_rules,
        quiet_hours::of_client(&mut conn, client_id).await?,
    ))
}

/// Agency people only: `Err` is the answer for anyone else.
async fn agency_only(state: &AppState, access: &ClientAccess) -> Result<(), Response> {
    match access.who.caller.role.is_agency() {
        true => Ok(()),
        false => Err(access.who.failure(state, TenancyError::Forbidden).await),
    }
}

/// What a per-client list on this page (quiet hours, inhibition rules) needs to add an entry
/// from its form.
struct AddForm<T> {
    /// The entry the form describes, or the form with its problems.
    parse: fn(&[(String, String)]) -> crate::tenancy::Result<T>,
    /// The page with the form as typed.
    forms: fn(FormState) -> Forms,
    /// The field that says when the client has as many as it may.
    full_field: &'static str,
    /// Where the page opens after.
    anchor: &'static str,
    what: &'static str,
}

/// Adds an entry to one of the client's lists (agency people): `insert` stores it in a
/// transaction and returns its id, `None` when the client has as many as it may.
async fn add_from_form<T>(
    state: &AppState,
    access: &ClientAccess,
    form: &[(String, String)],
    add: AddForm<T>,
    insert: impl AsyncFnOnce(&mut sqlx::SqliteConnection, i64, &T) -> Result<Option<i64>, TenancyError>,
    notice: impl FnOnce(T) -> ChannelNotice,
) -> Response {
    if let Err(refused) = agency_only(state, access).await {
        return refused;
    }
    let who = &access.who;
    let refused = async |problem: FormState| {
        render_page(
            state,
            access,
            (add.forms)(problem),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await
    };
    let entry = match (add.parse)(form) {
        Ok(entry) => entry,
        Err(TenancyError::Invalid(problem)) => return refused(problem).await,
        Err(e) => return who.failure(state, e).await,
    };
    let added = async {
        let mut tx = crate::db::write(&state.db).await?;
        let id = insert(&mut tx, access.client.id, &entry).await?;
        tx.commit().await?;
        Ok::<_, TenancyError>(id)
    };
    match added.await {
        Ok(Some(id)) => {
            tracing::info!(client = %access.client.slug, id, "{} added", add.what);
            put_flash(access, FLASH, notice(entry)).await;
            back(access, add.anchor)
        }
        Ok(None) => match crate::tenancy::FormCheck::new(form).fail(add.full_field, FieldProblem::TooMany) {
            TenancyError::Invalid(problem) => refused(problem).await,
            e => who.failure(state, e).await,
        },
        Err(e) => who.failure(state, e).await,
    }
}

/// Adds quiet hours to the client (agency people).
pub async fn add_quiet_hours(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let add = AddForm {
        parse: quiet_hours::from_form,
        forms: |hours| Forms {
            hours: Some(hours),
            ..Forms::default()
        },
        full_field: "name",
        anchor: "quiet-hours",
        what: "quiet hours",
    };
    let insert = async |conn: &mut sqlx::SqliteConnection, client_id: i64, hours: &quiet_hours::NewQuietHours| {
        quiet_hours::insert(conn, client_id, hours).await
    };
    add_from_form(&state, &access, &form, add, insert, |hours| {
        ChannelNotice::QuietHoursAdded { name: hours.name }
    })
    .await
}

/// Removes one of the client's quiet hours (agency people).
pub async fn delete_quiet_hours(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    if let Err(refused) = agency_only(&state, &access).await {
        return refused;
    }
    let id = path_param(&params, "hours").parse::<i64>().unwrap_or(-1);
    match quiet_hours::delete(&state.db, access.client.id, id).await {
        Ok(name) => {
            tracing::info!(client = %access.client.slug, quiet_hours = id, "quiet hours removed");
            put_flash(&access, FLASH, ChannelNotice::QuietHoursDeleted { name }).await;
            back(&access, "quiet-hours")
        }
        Err(e) => access.who.failure(&state, e).await,
    }
}

fn back(access: &ClientAccess, anchor: &str) -> Response {
    Redirect::to(&format!("/clients/{}/channels#{anchor}", access.client.slug)).into_response()
}

pub async fn create_channel(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    match channels::create(&state.db, &who.caller, &access.client, &form).await {
        Ok(name) => {
            tracing::info!(client = %access.client.slug, %name, "channel created");
            put_flash(&access, FLASH, ChannelNotice::Created { name }).await;
            back(&access, "channels")
        }
        Err(TenancyError::Invalid(form)) => {
            let forms = Forms {
                channel: Some(form),
                ..Forms::default()
            };
            render_page(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// The channel id in the path: one that is not a number names none (the same 404).
fn channel_id(params: &RawPathParams) -> i64 {
    path_param(params, "channel").parse::<i64>().unwrap_or(-1)
}

pub async fn delete_channel(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    let who = &access.who;
    let id = channel_id(&params);
    match channels::delete(&state.db, &who.caller, &access.client, id).await {
        Ok(name) => {
            tracing::info!(client = %access.client.slug, channel = id, "channel deleted");
            put_flash(&access, FLASH, ChannelNotice::Deleted { name }).await;
            back(&access, "channels")
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Sends a test message to one channel through the outbox (it says that it is a test).
pub async fn test_channel(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    let who = &access.who;
    let id = channel_id(&params);
    match channels::send_test(
        &state.db,
        &who.caller,
        &access.client,
        id,
        &MailContext::new(&state.public_base),
    )
    .await
    {
        Ok(name) => {
            state.outbox.wake();
            tracing::info!(client = %access.client.slug, channel = id, "channel test queued");
            put_flash(&access, FLASH, ChannelNotice::TestQueued { name }).await;
            back(&access, &format!("channel-{id}"))
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Makes channels of the receivers of a pasted Alertmanager configuration (agency people); a
/// file that cannot be read stays in the form with the reason.
pub async fn import_alertmanager(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    if let Err(refused) = agency_only(&state, &access).await {
        return refused;
    }
    let who = &access.who;
    let text = form.iter().find(|(n, _)| n == "config").map_or("", |(_, v)| v.as_str());
    let parsed = vitrine_scrape_config::alertmanager_config::parse_alertmanager_config(text);
    let config = match parsed {
        Ok(config) => config,
        Err(e) => {
            let mut values = form.clone();
            values.push(("config_error".into(), e.to_string()));
            let forms = Forms {
                import: Some(FormState {
                    values,
                    problems: vec![("config".into(), FieldProblem::InvalidChoice)],
                }),
                ..Forms::default()
            };
            return render_page(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let defaults = state.rules.timing();
    match channels::import(&state.db, access.client.id, &config, Some(who.caller.user_id), defaults).await {
        Ok(report) => {
            tracing::info!(client = %access.client.slug, made = report.created.len(), "alertmanager configuration imported");
            put_flash(&access, FLASH, ChannelNotice::Imported(report)).await;
            back(&access, "channels")
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Sets when the client is told (agency people): the three timers of the form, or with
/// `action=reset` the agency's usual ones again.
pub async fn save_timing(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    if let Err(refused) = agency_only(&state, &access).await {
        return refused;
    }
    let who = &access.who;
    let reset = form.iter().any(|(n, v)| n == "action" && v == "reset");
    let chosen = match reset {
        true => None,
        false => match timing::from_form(&form) {
            Ok(chosen) => Some(chosen),
            Err(TenancyError::Invalid(form)) => {
                let forms = Forms {
                    timing: Some(form),
                    ..Forms::default()
                };
                return render_page(&state, &access, forms, None, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
            Err(e) => return who.failure(&state, e).await,
        },
    };
    let saved = async {
        let mut tx = crate::db::write(&state.db).await?;
        timing::set(&mut tx, access.client.id, chosen).await?;
        tx.commit().await?;
        Ok::<_, TenancyError>(())
    };
    match saved.await {
        Ok(()) => {
            tracing::info!(client = %access.client.slug, ?chosen, "notification timing set");
            let notice = match chosen {
                Some(_) => ChannelNotice::TimingSaved,
                None => ChannelNotice::TimingReset,
            };
            put_flash(&access, FLASH, notice).await;
            back(&access, "timing")
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Adds an inhibition rule to the client (agency people).
pub async fn add_inhibit_rule(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let add = AddForm {
        parse: inhibit::from_form,
        forms: |rule| Forms {
            inhibit: Some(rule),
            ..Forms::default()
        },
        full_field: "source",
        anchor: "quiet",
        what: "inhibition rule",
    };
    let insert = async |conn: &mut sqlx::SqliteConnection, client_id: i64, rule: &inhibit::NewRule| {
        Ok(inhibit::insert(conn, client_id, rule).await?)
    };
    add_from_form(&state, &access, &form, add, insert, |_| ChannelNotice::InhibitRuleAdded).await
}

/// Removes one of the client's inhibition rules (agency people).
pub async fn delete_inhibit_rule(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    if let Err(refused) = agency_only(&state, &access).await {
        return refused;
    }
    let who = &access.who;
    let id = path_param(&params, "rule").parse::<i64>().unwrap_or(-1);
    match inhibit::delete(&state.db, access.client.id, id).await {
        Ok(()) => {
            tracing::info!(client = %access.client.slug, rule = id, "inhibition rule deleted");
            put_flash(&access, FLASH, ChannelNotice::InhibitRuleDeleted).await;
            back(&access, "quiet")
        }
        Err(e) => who.failure(&state, e).await,
    }
}
