//! Alertmanager 0.25's API v2 for one client (`/api/v2/...`), so `amtool` and Grafana's
//! Alertmanager data source list the client's alerts and list, add and expire its silences.
//! Authenticated by the client's API token like the Prometheus API; reading needs any token,
//! changing silences one created with the scope `silences:write` (403 otherwise). Another
//! client's silence is not found, exactly like a missing one.

use super::AppState;
use super::api::{ApiClient, ApiError, parse_time};
use crate::rules::alerting::{AlertState, fingerprint, labels_object, rfc3339};
use crate::rules::silences::{self, NewSilence, Silence, SilenceError, SilenceMatcher};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vitrine_promql::{MatchOp, Matcher};

/// The scope that changes silences.
const SILENCES_WRITE: &str = "silences:write";
/// The receiver every alert of a client goes to: its people's mailboxes.
const RECEIVER: &str = "email";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Alertmanager answers a bad request with the message as a JSON string.
fn bad_request(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(Value::String(message.into()))).into_response()
}

fn silence_error(e: SilenceError) -> Response {
    match e {
        SilenceError::Invalid(message) => bad_request(message),
        SilenceError::NotFound => StatusCode::NOT_FOUND.into_response(),
        SilenceError::Database(e) => ApiError::internal(e).into_response(),
    }
}

/// One `filter` matcher as amtool sends it: `name="value"`, `name=~"regex"`, `name!=value`, ….
fn parse_filter(raw: &str) -> Result<Matcher, String> {
    let raw = raw.trim();
    let at = raw
        .find(['=', '!'])
        .ok_or_else(|| format!("bad matcher format: {raw}"))?;
    let (name, rest) = raw.split_at(at);
    let (op, value) = [
        ("=~", MatchOp::Regex),
        ("!~", MatchOp::NotRegex),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ]
    .into_iter()
    .find_map(|(text, op)| rest.strip_prefix(text).map(|value| (op, value.trim())))
    .ok_or_else(|| format!("bad matcher format: {raw}"))?;
    let value = if value.starts_with('"') {
        serde_json::from_str::<String>(value).map_err(|_| format!("bad matcher format: {raw}"))?
    } else {
        value.to_string()
    };
    Matcher::new(op, name.trim(), &value, 4096)
}

/// The `filter` matchers of the query; a bad one's message.
fn filters(query: Option<&str>) -> Result<Vec<Matcher>, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    pairs
        .iter()
        .filter(|(k, _)| k == "filter")
        .map(|(_, v)| parse_filter(v))
        .collect()
}

fn flag(query: Option<&str>, name: &str) -> bool {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    pairs.iter().find(|(k, _)| k == name).is_none_or(|(_, v)| v != "false")
}

/// Alertmanager's `matchFilterLabels`: every filter matcher accepts the value of its label (an
/// equality filter for the empty value also accepts a missing label, and the reverse).
fn matches_filters(filters: &[Matcher], value_of: impl Fn(&str) -> Option<String>) -> bool {
    filters.iter().all(|m| {
        let value = value_of(&m.name);
        let negative = matches!(m.op, MatchOp::NotEqual | MatchOp::NotRegex);
        let skip = m.value.is_empty() && (value.is_some() == negative);
        skip || m.matches(value.as_deref().unwrap_or(""))
    })
}

fn silence_json(silence: &Silence, now: i64) -> Value {
    json!({
        "id": silence.uuid,
        "status": {"state": silence.state(now).as_str()},
        "updatedAt": rfc3339(silence.updated_ms),
        "comment": silence.comment,
        "createdBy": silence.created_by,
        "startsAt": rfc3339(silence.starts_ms),
        "endsAt": rfc3339(silence.ends_ms),
        "matchers": silence.matchers,
    })
}

/// `GET /api/v2/status`: what amtool checks before it talks to us.
pub async fn status(State(state): State<AppState>, _client: ApiClient) -> Response {
    Json(json!({
        "cluster": {"name": "vitrine", "peers": [], "status": "disabled"},
        "config": {"original": format!("route:\n  receiver: {RECEIVER}\nreceivers:\n- name: {RECEIVER}\n")},
        "uptime": rfc3339(state.started_ms),
        "versionInfo": {
            "branch": "vitrine",
            "buildDate": "",
            "buildUser": "vitrine",
            "goVersion": "",
            "revision": concat!("vitrine-", env!("CARGO_PKG_VERSION")),
            "version": "0.25.0",
        },
    }))
    .into_response()
}

/// `GET /api/v2/silences`: the client's silences (expired ones for five days), matching the
/// `filter` matchers.
pub async fn list_silences(State(state): State<AppState>, client: ApiClient, RawQuery(q): RawQuery) -> Response {
    let filters = match filters(q.as_deref()) {
        Ok(filters) => filters,
        Err(message) => return bad_request(message),
    };
    let now = now_ms();
    match silences::of_client(&state.db, client.client_id, now).await {
        Ok(list) => {
            let listed: Vec<Value> = list
                .iter()
                .filter(|s| {
                    matches_filters(&filters, |name| {
                        s.matchers.iter().find(|m| m.name == name).map(|m| m.value.clone())
                    })
                })
                .map(|s| silence_json(s, now))
                .collect();
            Json(listed).into_response()
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// `GET /api/v2/silence/{id}`.
pub async fn get_silence(State(state): State<AppState>, client: ApiClient, Path(id): Path<String>) -> Response {
    match silences::get(&state.db, client.client_id, &id).await {
        Ok(silence) => Json(silence_json(&silence, now_ms())).into_response(),
        Err(e) => silence_error(e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: Option<String>,
    matchers: Vec<SilenceMatcher>,
    starts_at: String,
    ends_at: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v2/silences`: creates a silence, or changes the one named by `id`.
pub async fn post_silence(State(state): State<AppState>, client: ApiClient, body: Bytes) -> Response {
    if let Err(e) = client.require(SILENCES_WRITE) {
        return e.into_response();
    }
    let posted: PostableSilence = match serde_json::from_slice(&body) {
        Ok(posted) => posted,
        Err(e) => return bad_request(format!("parsing the silence: {e}")),
    };
    let (Some(starts_ms), Some(ends_ms)) = (parse_time(&posted.starts_at), parse_time(&posted.ends_at)) else {
        return bad_request("startsAt and endsAt must be RFC 3339 times");
    };
    let new = NewSilence {
        matchers: posted.matchers,
        starts_ms,
        ends_ms,
        created_by: posted.created_by,
        comment: posted.comment,
    };
    let replace = posted.id.filter(|id| !id.is_empty());
    match silences::put(
        &state.db,
        client.agency_id,
        client.client_id,
        replace.as_deref(),
        new,
        now_ms(),
    )
    .await
    {
        Ok(uuid) => {
            tracing::info!(client_id = client.client_id, silence = %uuid, "silence set through the API");
            Json(json!({ "silenceID": uuid })).into_response()
        }
        Err(e) => silence_error(e),
    }
}

/// `DELETE /api/v2/silence/{id}`: ends the silence now.
pub async fn delete_silence(State(state): State<AppState>, client: ApiClient, Path(id): Path<String>) -> Response {
    if let Err(e) = client.require(SILENCES_WRITE) {
        return e.into_response();
    }
    match silences::expire(&state.db, client.client_id, &id, now_ms()).await {
        Ok(()) => {
            tracing::info!(client_id = client.client_id, silence = %id, "silence ended through the API");
            StatusCode::OK.into_response()
        }
        Err(e) => silence_error(e),
    }
}

/// `GET /api/v2/alerts`: the client's firing alerts as Alertmanager holds them (pending ones
/// are not sent to an Alertmanager), with the silences that mute them and the alerts that
/// inhibit them; `active=false`, `silenced=false` and `inhibited=false` leave those out,
/// `filter` matchers choose by label.
pub async fn alerts(State(state): State<AppState>, client: ApiClient, RawQuery(q): RawQuery) -> Response {
    let filters = match filters(q.as_deref()) {
        Ok(filters) => filters,
        Err(message) => return bad_request(message),
    };
    let (want_active, want_silenced, want_inhibited) = (
        flag(q.as_deref(), "active"),
        flag(q.as_deref(), "silenced"),
        flag(q.as_deref(), "inhibited"),
    );
    let now = now_ms();
    let (slug, thresholds, active) = match tokio::try_join!(
        async {
            sqlx::query_scalar::<_, String>("SELECT slug FROM clients WHERE id = ?")
                .bind(client.client_id)
                .fetch_one(&state.db)
                .await
                .map_err(ApiError::internal)
        },
        async {
            crate::rules::of_client(&state.db, client.client_id)
                .await
                .map_err(ApiError::internal)
        },
        async {
            silences::active(&state.db, client.client_id, now)
                .await
                .map_err(ApiError::internal)
        }
    ) {
        Ok(both) => both,
        Err(e) => return e.into_response(),
    };
    let inhibit_rules = match state.db.acquire().await {
        Ok(mut conn) => crate::notify::inhibit::of_client(&mut conn, client.client_id).await,
        Err(e) => Err(e),
    };
    let inhibit_rules = match inhibit_rules {
        Ok(rules) => rules,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let firing = state.rules.firing_of(&thresholds);
    let interval_ms = i64::try_from(state.config.rule_evaluation_interval_secs).unwrap_or(60) * 1000;
    let mut listed = Vec::new();
    for threshold in &thresholds {
        let health = state.rules.health(threshold.id);
        for alert in state.rules.alerts(threshold.id) {
            if alert.state != AlertState::Firing
                || !matches_filters(&filters, |name| alert.labels.get(name).map(str::to_string))
            {
                continue;
            }
            let silenced_by = silences::silenced_by(&active, &alert.labels, now);
            let inhibited_by: Vec<String> =
                crate::notify::inhibit::inhibited_by(&inhibit_rules, &firing, &alert.labels)
                    .into_iter()
                    .map(fingerprint)
                    .collect();
            let quiet = !silenced_by.is_empty() || !inhibited_by.is_empty();
            if (!quiet && !want_active)
                || (!silenced_by.is_empty() && !want_silenced)
                || (!inhibited_by.is_empty() && !want_inhibited)
            {
                continue;
            }
            let state_text = if quiet { "suppressed" } else { "active" };
            listed.push(json!({
                "labels": labels_object(&alert.labels),
                "annotations": threshold.annotations(Some(&alert), &state.public_base),
                "startsAt": rfc3339(alert.fired_at),
                "endsAt": rfc3339(health.last_ms + 4 * interval_ms),
                "updatedAt": rfc3339(health.last_ms),
                "generatorURL": format!("{}/clients/{slug}/thresholds#threshold-{}", state.public_base, threshold.id),
                "fingerprint": fingerprint(&alert.labels),
                "receivers": [{"name": RECEIVER}],
                "status": {"state": state_text, "silencedBy": silenced_by, "inhibitedBy": inhibited_by},
            }));
        }
    }
    Json(listed).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_as_amtool_writes_them() {
        let m = parse_filter("alertname=\"Error rate\"").unwrap();
        assert_eq!(
            (m.name.as_str(), m.op, m.value.as_str()),
            ("alertname", MatchOp::Equal, "Error rate")
        );
        let m = parse_filter("env=~live.*").unwrap();
        assert_eq!((m.op, m.value.as_str()), (MatchOp::Regex, "live.*"));
        assert_eq!(parse_filter("severity!=\"info\"").unwrap().op, MatchOp::NotEqual);
        assert_eq!(parse_filter("a!~\"b\"").unwrap().op, MatchOp::NotRegex);
        assert!(parse_filter("nothing").is_err());
        assert!(parse_filter("a=\"unclosed").is_err());
    }

    #[test]
    fn filters_choose_like_alertmanager() {
        let value = |name: &str| (name == "env").then(|| "live".to_string());
        assert!(matches_filters(&[parse_filter("env=live").unwrap()], value));
        assert!(!matches_filters(&[parse_filter("env=test").unwrap()], value));
        // `x=""` accepts a missing label, `env!=""` a present one.
        assert!(matches_filters(&[parse_filter("x=\"\"").unwrap()], value));
        assert!(matches_filters(&[parse_filter("env!=\"\"").unwrap()], value));
        assert!(matches_filters(&[], value));
    }
}
