//! The agency's outbox page (`/agency/outbox`): every mail written for the agency's clients and
//! how its delivery went; a failed one can be tried again. Agency people only; the rows are
//! the caller's agency's (`notify::outbox::list` and `retry` filter by it).

use super::AppState;
use super::pages::{CheckedForm, SignedIn, path_param};
use super::render;
use crate::notify::outbox;
use app::dto::*;
use axum::extract::{Query, RawPathParams, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct OutboxQuery {
    notice: Option<String>,
}

pub async fn outbox_page(State(state): State<AppState>, who: SignedIn, Query(query): Query<OutboxQuery>) -> Response {
    if !who.caller.role.is_agency() {
        return who.problem(&state, Problem::NotFound).await;
    }
    let messages = match outbox::list(&state.db, who.caller.agency_id, 200).await {
        Ok(messages) => messages,
        Err(e) => return render::internal(&state, who.locale, e).await,
    };
    let page = OutboxPage {
        smtp: state.outbox.by_smtp(),
        messages,
        retried: query.notice.as_deref() == Some("retried"),
    };
    render::page(
        &state,
        who.locale,
        Some(who.viewer()),
        Page::Outbox(Box::new(page)),
        StatusCode::OK,
    )
    .await
}

pub async fn retry_mail(
    State(state): State<AppState>,
    who: SignedIn,
    params: RawPathParams,
    _form: CheckedForm,
) -> Response {
    if !who.caller.role.is_agency() {
        return who.problem(&state, Problem::NotFound).await;
    }
    let id = path_param(&params, "mail").parse::<i64>().unwrap_or(-1);
    match outbox::retry(&state.db, who.caller.agency_id, id).await {
        Ok(true) => {
            state.outbox.wake();
            Redirect::to("/agency/outbox?notice=retried").into_response()
        }
        Ok(false) => who.problem(&state, Problem::NotFound).await,
        Err(e) => render::internal(&state, who.locale, e).await,
    }
}
