//! Operator endpoints for `vitrine tsdb …` while the server holds the store.
//! They need the token the server writes to `<data_dir>/control` at start
//! (readable only by the operator's account); without it they answer 404.

use super::AppState;
use crate::store;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let sent = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if bool::from(sent.as_bytes().ct_eq(state.operator_token.as_bytes())) && !sent.is_empty() {
            Ok(Operator)
        } else {
            Err(StatusCode::NOT_FOUND.into_response())
        }
    }
}

fn outcome(result: Result<Result<String, std::io::Error>, tokio::task::JoinError>) -> Response {
    match result {
        Ok(Ok(text)) => text.into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

pub async fn tsdb_stats(State(state): State<AppState>, _: Operator) -> Response {
    let names = store::client_names(&state.db).await;
    store::print_stats(&state.tsdb.stats(), &names).into_response()
}

pub async fn tsdb_compact(State(state): State<AppState>, _: Operator) -> Response {
    let db = state.tsdb.clone();
    outcome(tokio::task::spawn_blocking(move || store::compact_all(&db)).await)
}

pub async fn tsdb_snapshot(State(state): State<AppState>, _: Operator, body: String) -> Response {
    let db = state.tsdb.clone();
    let dir = std::path::PathBuf::from(body.trim());
    outcome(tokio::task::spawn_blocking(move || store::snapshot(&db, &dir)).await)
}
