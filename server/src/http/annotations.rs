//! Grafana's annotation HTTP API over a client's markers, with the client's API token, so deploy
//! scripts written for Grafana work unchanged: `POST /api/annotations` (`time`, `timeEnd`,
//! `tags`, `text`, `dashboardUID`, `panelId`; Vitrine also reads `project` and `environment`, or
//! the tags `project:SLUG` and `environment:NAME`), `GET /api/annotations` (`from`, `to`, `tags`,
//! `limit`), `PATCH`/`PUT`/`DELETE /api/annotations/{id}`. Answers and errors in Grafana's shape
//! (`{"message": …}`); writing needs a token with the scope `annotations:write`.

use super::AppState;
use super::api::ApiClient;
use crate::markers::{self, Filter, Marker, MarkerError, NewMarker};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

const ANNOTATIONS_WRITE: &str = "annotations:write";
/// Grafana's default and Vitrine's ceiling for one listing.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 5000;

fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(json!({ "message": text.into() }))).into_response()
}

/// Why a request is refused, before anything is done: its status and message.
type Refusal = (StatusCode, String);

fn refusal_answer((status, text): Refusal) -> Response {
    message(status, text)
}

fn now_ms() -> i64 {
    crate::tenancy::now() * 1000
}

fn may_write(client: &ApiClient) -> Result<(), Refusal> {
    if client.scopes.contains(&ANNOTATIONS_WRITE) {
        Ok(())
    } else {
        Err((
            StatusCode::FORBIDDEN,
            format!("this API token may only read: writing needs a token with the scope {ANNOTATIONS_WRITE}"),
        ))
    }
}

/// A marker in Grafana's shape.
fn annotation_json(marker: &Marker) -> Value {
    json!({
        "id": marker.id,
        "alertId": 0,
        "dashboardId": 0,
        "dashboardUID": marker.dashboard_uid,
        "panelId": marker.panel_id.unwrap_or(0),
        "userId": 0,
        "login": marker.created_by,
        "email": "",
        "avatarUrl": "",
        "newState": "",
        "prevState": "",
        "time": marker.time_ms,
        "timeEnd": marker.time_end_ms,
        "text": marker.text,
        "tags": marker.tags,
        "created": marker.created_ms,
        "updated": marker.updated_ms,
        "data": {},
        "project": marker.project,
        "environment": marker.environment,
    })
}

/// The body of a POST, PUT or PATCH: every field optional (PATCH keeps what is missing).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Body {
    time: Option<i64>,
    time_end: Option<i64>,
    text: Option<String>,
    tags: Option<Vec<String>>,
    #[serde(rename = "dashboardUID")]
    dashboard_uid: Option<String>,
    panel_id: Option<i64>,
    project: Option<String>,
    environment: Option<String>,
}

fn body(bytes: &Bytes) -> Result<Body, Refusal> {
    serde_json::from_slice(bytes).map_err(|e| (StatusCode::BAD_REQUEST, format!("bad request data: {e}")))
}

fn refused(e: MarkerError) -> Response {
    match e {
        MarkerError::Invalid(text) => message(StatusCode::BAD_REQUEST, text),
        MarkerError::Database(e) => {
            tracing::error!(error = %e, "annotations");
            message(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// `POST /api/annotations`
pub async fn create(State(state): State<AppState>, client: ApiClient, bytes: Bytes) -> Response {
    let body = match may_write(&client).and_then(|()| body(&bytes)) {
        Ok(body) => body,
        Err(refusal) => return refusal_answer(refusal),
    };
    let Some(text) = body.text.filter(|t| !t.trim().is_empty()) else {
        return message(StatusCode::BAD_REQUEST, "text field should not be empty");
    };
    let time_ms = body.time.filter(|t| *t > 0).unwrap_or_else(now_ms);
    let new = NewMarker {
        project: body.project,
        environment: body.environment,
        time_ms,
        time_end_ms: body.time_end.unwrap_or(time_ms),
        text,
        tags: body.tags.unwrap_or_default(),
        dashboard_uid: body.dashboard_uid,
        panel_id: body.panel_id,
        // Made through the API: pages say so in the reader's language.
        created_by: String::new(),
    };
    let new = match new.checked() {
        Ok(new) => new,
        Err(e) => return refused(e),
    };
    match markers::insert(&state.db, client.client_id, &new).await {
        Ok(id) => {
            tracing::info!(
                client_id = client.client_id,
                marker = id,
                "annotation added through the API"
            );
            Json(json!({ "message": "Annotation added", "id": id })).into_response()
        }
        Err(e) => refused(e.into()),
    }
}

/// `GET /api/annotations?from=…&to=…&tags=…&limit=…`
pub async fn list(State(state): State<AppState>, client: ApiClient, RawQuery(query): RawQuery) -> Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let number = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<i64>().ok())
    };
    let now = now_ms();
    let filter = Filter {
        from_ms: number("from").unwrap_or(0),
        to_ms: number("to").unwrap_or(now.saturating_add(365 * 86_400_000)),
        tags: pairs
            .iter()
            .filter(|(k, _)| k == "tags")
            .map(|(_, v)| v.clone())
            .collect(),
        limit: number("limit").unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
        project: pairs.iter().find(|(k, _)| k == "project").map(|(_, v)| v.as_str()),
        environment: pairs.iter().find(|(k, _)| k == "environment").map(|(_, v)| v.as_str()),
    };
    match markers::list(&state.db, client.client_id, &filter).await {
        Ok(list) => Json(list.iter().map(annotation_json).collect::<Vec<_>>()).into_response(),
        Err(e) => refused(e.into()),
    }
}

/// `PATCH` or `PUT /api/annotations/{id}`: the fields given replace the marker's.
pub async fn update(
    State(state): State<AppState>,
    client: ApiClient,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let body = match may_write(&client).and_then(|()| body(&bytes)) {
        Ok(body) => body,
        Err(refusal) => return refusal_answer(refusal),
    };
    let not_found = || message(StatusCode::NOT_FOUND, "Could not find annotation to update");
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let current = match markers::get(&state.db, client.client_id, id).await {
        Ok(Some(marker)) => marker,
        Ok(None) => return not_found(),
        Err(e) => return refused(e.into()),
    };
    let time_ms = body.time.unwrap_or(current.time_ms);
    let new = NewMarker {
        project: body.project.or(current.project),
        environment: body.environment.or(current.environment),
        time_ms,
        time_end_ms: body.time_end.unwrap_or(current.time_end_ms.max(time_ms)),
        text: body.text.unwrap_or(current.text),
        tags: body.tags.unwrap_or(current.tags),
        dashboard_uid: current.dashboard_uid,
        panel_id: current.panel_id,
        created_by: current.created_by,
    };
    let new = match new.checked() {
        Ok(new) => new,
        Err(e) => return refused(e),
    };
    match markers::update(&state.db, client.client_id, id, &new).await {
        Ok(true) => Json(json!({ "message": "Annotation patched" })).into_response(),
        Ok(false) => not_found(),
        Err(e) => refused(e.into()),
    }
}

/// `DELETE /api/annotations/{id}`
pub async fn delete(State(state): State<AppState>, client: ApiClient, Path(id): Path<String>) -> Response {
    if let Err(refusal) = may_write(&client) {
        return refusal_answer(refusal);
    }
    let Ok(id) = id.parse::<i64>() else {
        return message(StatusCode::NOT_FOUND, "Could not find annotation to delete");
    };
    match markers::delete(&state.db, client.client_id, id).await {
        Ok(true) => Json(json!({ "message": "Annotation deleted" })).into_response(),
        Ok(false) => message(StatusCode::NOT_FOUND, "Could not find annotation to delete"),
        Err(e) => refused(e.into()),
    }
}
