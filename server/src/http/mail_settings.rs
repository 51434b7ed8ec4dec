//! Which error mails a client person gets: the section of the account page (`/account#mails`,
//! saved by `POST /account/mails`) and the page of a mail's unsubscribe link
//! (`/unsubscribe/{token}`), which needs no login: opening it asks, `POST` (a button, or the
//! mail program's one-click request of RFC 8058) stops the mails.

use super::pages::{CheckedForm, SignedIn};
use super::{AppState, render};
use crate::notify::preferences;
use app::dto::{MailSettings, Page, Problem, UnsubscribePage};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

/// The client's projects: (slug, name), by name.
async fn projects(state: &AppState, client_id: i64) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT slug, name FROM projects WHERE client_id = ? ORDER BY name, slug")
        .bind(client_id)
        .fetch_all(&state.db)
        .await
}

/// The settings of a client person (agency people get no error mails: `None`).
pub async fn of(state: &AppState, who: &SignedIn) -> Result<Option<MailSettings>, sqlx::Error> {
    let Some(client_id) = who.caller.client_id else {
        return Ok(None);
    };
    let client_name: String = sqlx::query_scalar("SELECT name FROM clients WHERE id = ?")
        .bind(client_id)
        .fetch_one(&state.db)
        .await?;
    let wanted = preferences::get(&state.db, who.caller.user_id, client_id).await?;
    let projects = projects(state, client_id).await?;
    Ok(Some(preferences::settings_view(&client_name, &wanted, &projects)))
}

pub async fn save(State(state): State<AppState>, who: SignedIn, CheckedForm(form): CheckedForm) -> Response {
    let Some(client_id) = who.caller.client_id else {
        return render::problem(&state, who.locale, Some(who.viewer()), Problem::NotFound).await;
    };
    let slugs: Vec<String> = match projects(&state, client_id).await {
        Ok(projects) => projects.into_iter().map(|(slug, _)| slug).collect(),
        Err(e) => return render::internal(&state, who.locale, e).await,
    };
    let wanted = match preferences::from_form(&form, &slugs) {
        Ok(wanted) => wanted,
        // Only a forged form names another choice.
        Err((field, problem)) => {
            tracing::info!(%field, ?problem, "mail settings refused");
            return render::problem(&state, who.locale, Some(who.viewer()), Problem::NotFound).await;
        }
    };
    match preferences::set(&state.db, who.caller.user_id, client_id, &wanted).await {
        Ok(()) => {
            tracing::info!(
                user_id = who.caller.user_id,
                alerts = wanted.alerts,
                "mail settings saved"
            );
            Redirect::to("/account?notice=mail-settings-saved#mails").into_response()
        }
        Err(e) => render::internal(&state, who.locale, e).await,
    }
}

/// The unsubscribe page of a valid link; a link that names nobody (made up, or of someone no
/// longer with the client) is not found.
async fn unsubscribe_page(state: &AppState, headers: &HeaderMap, token: String, stop: bool) -> Response {
    let locale = render::locale(None, headers);
    let owner = match preferences::link_owner(&state.db, &token).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return render::problem(state, locale, None, Problem::NotFound).await,
        Err(e) => return render::internal(state, locale, e).await,
    };
    let (user_id, client_id, email, client_name) = owner;
    if stop {
        if let Err(e) = preferences::unsubscribe(&state.db, user_id, client_id).await {
            return render::internal(state, locale, e).await;
        }
        tracing::info!(user_id, client_id, "unsubscribed from error mails");
    }
    let page = UnsubscribePage {
        token,
        email,
        client_name,
        done: stop,
    };
    render::page(state, locale, None, Page::Unsubscribe(page), StatusCode::OK).await
}

pub async fn unsubscribe_ask(State(state): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    unsubscribe_page(&state, &headers, token, false).await
}

/// The button's request and the mail program's one-click `POST` (its body,
/// `List-Unsubscribe=One-Click`, says nothing more: any body stops the mails).
pub async fn unsubscribe_stop(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    unsubscribe_page(&state, &headers, token, true).await
}
