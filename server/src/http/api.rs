//! The Prometheus HTTP API for one client, authenticated by the client's API
//! token (`Authorization: Bearer …`, or as the password of HTTP Basic auth,
//! which is how `promtool` sends it). Same envelope, result shapes, time
//! formats and error types as Prometheus; texts stay Prometheus' English.

use super::AppState;
use crate::query::{QueryError, Span};
use crate::rules::alerting::{AlertState, labels_object, rfc3339};
use crate::store;
use crate::tenancy::tokens;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use vitrine_promql::eval::store_matcher;
use vitrine_tsdb::{Labels, MatchOp, Matcher, Tenant};

/// Prometheus' error envelope.
pub struct ApiError {
    pub(crate) status: StatusCode,
    kind: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    fn bad_data(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "bad_data",
            message: message.into(),
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %message, "API request failed");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "internal",
            message: "internal error".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "status": "error", "errorType": self.kind, "error": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"vitrine\""),
            );
        }
        response
    }
}

fn success(data: Value) -> Response {
    axum::Json(json!({ "status": "success", "data": data })).into_response()
}

/// The client whose token came with the request.
pub struct ApiClient {
    pub tenant: Tenant,
    /// The client the token belongs to.
    pub client_id: i64,
    pub agency_id: i64,
    /// What the token may do besides reading.
    pub scopes: Vec<&'static str>,
}

impl ApiClient {
    /// `Ok` when the token was created with `scope`; a read token gets 403.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError {
                status: StatusCode::FORBIDDEN,
                kind: "forbidden",
                message: format!("this API token may only read: writing needs a token with the scope {scope}"),
            })
        }
    }
}

fn presented_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(token.trim().to_string());
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    pair.split_once(':').map(|(_, password)| password.to_string())
}

impl FromRequestParts<AppState> for ApiClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |message: &str| ApiError {
            status: StatusCode::UNAUTHORIZED,
            kind: "unauthorized",
            message: message.to_string(),
        };
        let token = presented_token(&parts.headers).ok_or_else(|| unauthorized("an API token is required"))?;
        match tokens::client_of(&state.db, &token, &state.token_uses).await {
            Ok(owner) => Ok(ApiClient {
                tenant: store::tenant(owner.client_id),
                client_id: owner.client_id,
                agency_id: owner.agency_id,
                scopes: owner.scopes,
            }),
            Err(crate::tenancy::TenancyError::NotFound) => Err(unauthorized("the API token is not valid")),
            Err(e) => Err(ApiError::internal(e)),
        }
    }
}

/// Query parameters, GET or form POST, with repeated keys (`match[]`).
pub struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: Option<&str>, body: &[u8]) -> Params {
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        pairs.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default());
        Params(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A time parameter (RFC 3339 or Unix seconds) in milliseconds, or `default`.
    fn time(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(raw) => parse_time(raw).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter \"{name}\": cannot parse \"{raw}\" to a valid timestamp"
                ))
            }),
        }
    }
}

/// Prometheus' `parseTime`: Unix seconds with a fraction, or RFC 3339.
pub fn parse_time(raw: &str) -> Option<i64> {
    if let Ok(seconds) = raw.parse::<f64>() {
        return seconds.is_finite().then(|| (seconds * 1000.0).round() as i64);
    }
    let parsed = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok()?;
    Some((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `match[]` selectors as store matchers, each selector one list.
fn selectors(params: &Params) -> Result<Vec<Vec<Matcher>>, ApiError> {
    params
        .all("match[]")
        .map(|raw| {
            let invalid = |e: String| ApiError::bad_data(format!("invalid parameter \"match[]\": {e}"));
            let expr = vitrine_promql::parse(raw).map_err(|e| invalid(e.to_string()))?;
            let vitrine_promql::Expr::VectorSelector(selector) = expr else {
                return Err(invalid("1:1: parse error: expected a vector selector".into()));
            };
            Ok(selector.matchers.iter().map(store_matcher).collect())
        })
        .collect()
}

/// The labels of the client's series matching any of the selectors (all series without
/// any), with data in `[start, end]`: from the store's indexes, no sample is read.
async fn matching_series(state: &AppState, tenant: Tenant, params: &Params) -> Result<Vec<Labels>, ApiError> {
    let mut lists = selectors(params)?;
    if lists.is_empty() {
        lists.push(vec![
            Matcher::new(MatchOp::Regex, "__name__", ".+").map_err(ApiError::internal)?,
        ]);
    }
    let start = params.time("start", i64::MIN / 2)?;
    let end = params.time("end", i64::MAX / 2)?;
    state
        .queries
        .read_index(tenant, move |tsdb, budget| {
            let mut all: BTreeSet<Labels> = BTreeSet::new();
            for matchers in &lists {
                all.extend(tsdb.series_within(tenant, matchers, start, end, budget)?);
            }
            Ok(all.into_iter().collect())
        })
        .await
        .map_err(query_error)
}

fn labels_json(labels: &Labels) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(n, v)| (n.to_string(), Value::String(v.to_string())))
            .collect(),
    )
}

pub async fn series(
    State(state): State<AppState>,
    client: ApiClient,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let params = Params::parse(q.as_deref(), &body);
    if params.all("match[]").next().is_none() {
        return ApiError::bad_data("no match[] parameter provided").into_response();
    }
    match matching_series(&state, client.tenant, &params).await {
        Ok(found) => success(Value::Array(found.iter().map(labels_json).collect())),
        Err(e) => e.into_response(),
    }
}

pub async fn labels(
    State(state): State<AppState>,
    client: ApiClient,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let params = Params::parse(q.as_deref(), &body);
    if params.all("match[]").next().is_none() {
        return match label_pairs(&state, client.tenant, &params).await {
            Ok(pairs) => success(json!(pairs.iter().map(|(n, _)| n).collect::<BTreeSet<_>>())),
            Err(e) => e.into_response(),
        };
    }
    match matching_series(&state, client.tenant, &params).await {
        Ok(found) => {
            let names: BTreeSet<&str> = found.iter().flat_map(|l| l.iter().map(|(n, _)| n)).collect();
            success(json!(names))
        }
        Err(e) => e.into_response(),
    }
}

/// Without `match[]`: every label pair of the client's data in `[start, end]`, from the
/// store's postings, as Prometheus answers.
async fn label_pairs(
    state: &AppState,
    tenant: Tenant,
    params: &Params,
) -> Result<BTreeSet<(String, String)>, ApiError> {
    let start = params.time("start", i64::MIN / 2)?;
    let end = params.time("end", i64::MAX / 2)?;
    state
        .queries
        .read_index(tenant, move |tsdb, _| Ok(tsdb.label_pairs(tenant, start, end)))
        .await
        .map_err(query_error)
}

pub async fn label_values(
    State(state): State<AppState>,
    client: ApiClient,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let params = Params::parse(q.as_deref(), &[]);
    if !vitrine_scrape_config::is_valid_label_name(&name) {
        return ApiError::bad_data(format!("invalid label name: \"{name}\"")).into_response();
    }
    if params.all("match[]").next().is_none() {
        return match label_pairs(&state, client.tenant, &params).await {
            Ok(pairs) => success(json!(
                pairs
                    .iter()
                    .filter(|(n, _)| *n == name)
                    .map(|(_, v)| v)
                    .collect::<Vec<_>>()
            )),
            Err(e) => e.into_response(),
        };
    }
    match matching_series(&state, client.tenant, &params).await {
        Ok(found) => {
            let values: BTreeSet<&str> = found.iter().filter_map(|l| l.get(&name)).collect();
            success(json!(values))
        }
        Err(e) => e.into_response(),
    }
}

pub async fn metadata(State(state): State<AppState>, client: ApiClient, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref(), &[]);
    let limit = match params.get("limit").map(str::parse::<i64>) {
        None => -1,
        Some(Ok(limit)) => limit,
        Some(Err(_)) => return ApiError::bad_data("limit must be a number").into_response(),
    };
    let wanted = params.get("metric").filter(|m| !m.is_empty());
    let mut all: Vec<(String, crate::scrape::catalog::MetricMeta)> = state
        .scraper
        .catalog
        .metadata(client.tenant)
        .into_iter()
        .filter(|(name, _)| wanted.is_none_or(|w| w == name))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    if limit >= 0 {
        all.truncate(limit as usize);
    }
    let data: serde_json::Map<String, Value> = all
        .into_iter()
        .map(|(name, meta)| {
            (
                name,
                json!([{ "type": meta.kind, "help": meta.help, "unit": meta.unit }]),
            )
        })
        .collect();
    success(Value::Object(data))
}

pub async fn query_exemplars(
    State(state): State<AppState>,
    client: ApiClient,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let params = Params::parse(q.as_deref(), &body);
    let Some(query) = params.get("query") else {
        return ApiError::bad_data("invalid parameter \"query\": no query given").into_response();
    };
    let expr = match vitrine_promql::parse(query) {
        Ok(expr) => expr,
        Err(e) => return ApiError::bad_data(e.api_message("query")).into_response(),
    };
    let (start, end) = match (params.time("start", i64::MIN / 2), params.time("end", i64::MAX / 2)) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let mut selectors = Vec::new();
    collect_selectors(&expr, &mut selectors);
    let tenant = client.tenant;
    // Exemplars are kept for series of the head: list those, as a query would.
    let listed = state
        .queries
        .read_index(tenant, move |tsdb, budget| {
            let mut found: BTreeSet<Labels> = BTreeSet::new();
            for matchers in &selectors {
                found.extend(tsdb.series_within(tenant, matchers, i64::MIN / 2, i64::MAX / 2, budget)?);
            }
            Ok(found
                .into_iter()
                .filter_map(|labels| Some((tsdb.head().find(tenant, &labels)?, labels)))
                .collect::<Vec<_>>())
        })
        .await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => return query_error(e).into_response(),
    };
    let mut out = Vec::new();
    for (reference, labels) in listed {
        let Some(exemplar) = state.scraper.catalog.exemplar(tenant, reference) else {
            continue;
        };
        if exemplar.timestamp_ms < start || exemplar.timestamp_ms > end {
            continue;
        }
        let exemplar_labels = Labels::new(exemplar.labels.clone());
        out.push(json!({
            "seriesLabels": labels_json(&labels),
            "exemplars": [{
                "labels": labels_json(&exemplar_labels),
                "value": vitrine_promql::json::format_value(exemplar.value),
                "timestamp": exemplar.timestamp_ms as f64 / 1000.0,
            }],
        }));
    }
    success(Value::Array(out))
}

fn collect_selectors(expr: &vitrine_promql::Expr, out: &mut Vec<Vec<Matcher>>) {
    if let vitrine_promql::Expr::VectorSelector(selector) = expr {
        out.push(selector.matchers.iter().map(store_matcher).collect());
    }
    for child in expr.children() {
        collect_selectors(child, out);
    }
}

/// A step or duration parameter: float seconds or a Prometheus duration (`15s`), in milliseconds.
fn duration_param(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    let Some(raw) = params.get(name).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if let Ok(seconds) = raw.parse::<f64>()
        && seconds.is_finite()
    {
        return Ok(Some((seconds * 1000.0).round() as i64));
    }
    raw.parse::<vitrine_scrape_config::PromDuration>()
        .map(|d| Some(d.as_millis() as i64))
        .map_err(|_| {
            ApiError::bad_data(format!(
                "invalid parameter \"{name}\": cannot parse \"{raw}\" to a valid duration"
            ))
        })
}

/// Runs the `query` parameter within the query limits and maps the errors to Prometheus'
/// error types.
async fn evaluate(
    state: &AppState,
    tenant: Tenant,
    params: &Params,
    span: Span,
) -> Result<vitrine_promql::Value, ApiError> {
    let query = params.get("query").unwrap_or("");
    let expr = vitrine_promql::parse(query).map_err(|e| ApiError::bad_data(e.api_message("query")))?;
    let timeout = duration_param(params, "timeout")?.map(|ms| std::time::Duration::from_millis(ms.max(1) as u64));
    state
        .queries
        .run(tenant, expr, span, timeout)
        .await
        .map_err(query_error)
}

/// A query runner's error in Prometheus' error types.
fn query_error(e: QueryError) -> ApiError {
    use vitrine_promql::EvalError as E;
    let (status, kind) = match &e {
        QueryError::Eval(E::Timeout) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
        QueryError::Eval(E::Canceled) => (StatusCode::SERVICE_UNAVAILABLE, "canceled"),
        QueryError::Busy(_) | QueryError::Eval(E::OutOfMemory(_)) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        QueryError::Eval(E::BadData(_)) => (StatusCode::BAD_REQUEST, "bad_data"),
        QueryError::Eval(E::Storage(_)) | QueryError::Internal(_) => return ApiError::internal(e),
        QueryError::Eval(E::TooManySamples | E::TooManySeries(_) | E::Execution(_))
        | QueryError::TooManySeries { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "execution"),
    };
    ApiError {
        status,
        kind,
        message: e.to_string(),
    }
}

/// A successful query answer (see [`vitrine_promql::json`]).
fn query_answer(value: &vitrine_promql::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        vitrine_promql::json::answer(value),
    )
        .into_response()
}

pub async fn query(
    State(state): State<AppState>,
    client: ApiClient,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let params = Params::parse(q.as_deref(), &body);
    let t = match params.time("time", store::now_ms()) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match evaluate(&state, client.tenant, &params, Span::Instant(t)).await {
        Ok(value) => query_answer(&value),
        Err(e) => e.into_response(),
    }
}

pub async fn query_range(
    State(state): State<AppState>,
    client: ApiClient,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let params = Params::parse(q.as_deref(), &body);
    let checked = (|| {
        let missing = |name: &str| {
            ApiError::bad_data(format!(
                "invalid parameter \"{name}\": cannot parse \"\" to a valid timestamp"
            ))
        };
        let start = params
            .get("start")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("start"))
            .and(params.time("start", 0))?;
        let end = params
            .get("end")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("end"))
            .and(params.time("end", 0))?;
        if end < start {
            return Err(ApiError::bad_data(
                "invalid parameter \"end\": end timestamp must not be before start time",
            ));
        }
        let step = duration_param(&params, "step")?
            .ok_or_else(|| ApiError::bad_data("invalid parameter \"step\": cannot parse \"\" to a valid duration"))?;
        if step <= 0 {
            return Err(ApiError::bad_data(
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        Ok((start, end, step))
    })();
    let (start, end, step) = match checked {
        Ok(checked) => checked,
        Err(e) => return e.into_response(),
    };
    match evaluate(&state, client.tenant, &params, Span::Range { start, end, step }).await {
        Ok(value) => query_answer(&value),
        Err(e) => e.into_response(),
    }
}

/// Reports a Prometheus 2.42-compatible version so Grafana enables its features.
pub async fn buildinfo(_client: ApiClient) -> Response {
    success(json!({
        "version": "2.42.0",
        "revision": concat!("vitrine-", env!("CARGO_PKG_VERSION")),
        "branch": "vitrine",
        "buildUser": "vitrine",
        "buildDate": "",
        "goVersion": "",
    }))
}

/// One alert in Prometheus' shape.
fn alert_json(alert: &crate::rules::alerting::Alert, annotations: &Value) -> Value {
    json!({
        "labels": labels_object(&alert.labels),
        "annotations": annotations,
        "state": alert.state.as_str(),
        "activeAt": rfc3339(alert.active_at),
        "value": vitrine_promql::json::format_value(alert.value),
    })
}

/// `GET /api/v1/alerts`: the client's pending and firing alerts.
pub async fn alerts(State(state): State<AppState>, client: ApiClient) -> Response {
    let thresholds = match crate::rules::of_client(&state.db, client.client_id).await {
        Ok(thresholds) => thresholds,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let mut alerts = Vec::new();
    for threshold in &thresholds {
        alerts.extend(
            state
                .rules
                .alerts(threshold.id)
                .iter()
                .map(|a| alert_json(a, &threshold.annotations(Some(a), &state.public_base))),
        );
    }
    success(json!({ "alerts": alerts }))
}

/// A rule's health in Prometheus' words, and its last evaluation.
fn health_json(health: crate::rules::evaluator::Health) -> [(&'static str, Value); 4] {
    let word = if health.error.is_some() {
        "err"
    } else if health.last_ms == 0 {
        "unknown"
    } else {
        "ok"
    };
    [
        ("health", json!(word)),
        ("lastError", json!(health.error.unwrap_or_default())),
        ("evaluationTime", json!(health.seconds)),
        ("lastEvaluation", json!(rfc3339(health.last_ms))),
    ]
}

/// `GET /api/v1/rules`: the client's recording rules and thresholds (as alerting rules), one
/// group per project and environment, in Prometheus' shape (`type=record` or `type=alert`
/// gives one kind).
pub async fn rules(State(state): State<AppState>, client: ApiClient, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref(), &[]);
    let (thresholds, recordings) = match (
        crate::rules::of_client(&state.db, client.client_id).await,
        crate::rules::recording::of_client(&state.db, client.client_id).await,
    ) {
        (Ok(thresholds), Ok(recordings)) => (thresholds, recordings),
        (Err(e), _) | (_, Err(e)) => return ApiError::internal(e).into_response(),
    };
    let wanted = params.get("type");
    let interval = state.config.rule_evaluation_interval_secs as f64;
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    let mut add = |group: String, rule: Value| match groups.iter_mut().find(|(name, _)| *name == group) {
        Some((_, rules)) => rules.push(rule),
        None => groups.push((group, vec![rule])),
    };
    for recording in recordings.iter().filter(|_| wanted.is_none_or(|t| t == "record")) {
        let group = format!(
            "{}/{}",
            recording.project,
            recording.environment.as_deref().unwrap_or("*")
        );
        let mut rule = json!({
            "name": recording.record,
            "query": recording.confined().map(|e| vitrine_promql::print(&e)).unwrap_or_else(|e| e),
            "labels": recording.labels.iter().map(|(n, v)| (n.clone(), json!(v))).collect::<serde_json::Map<String, Value>>(),
            "type": "recording",
        });
        for (key, value) in health_json(state.rules.recording_health(recording.id)) {
            rule[key] = value;
        }
        add(group, rule);
    }
    for threshold in thresholds.iter().filter(|_| wanted.is_none_or(|t| t == "alert")) {
        let group = format!(
            "{}/{}",
            threshold.project,
            threshold.environment.as_deref().unwrap_or("*")
        );
        let annotations = threshold.annotations(None, &state.public_base);
        let alerts = state.rules.alerts(threshold.id);
        let rule_state = if alerts.iter().any(|a| a.state == AlertState::Firing) {
            "firing"
        } else if alerts.iter().any(|a| a.state == AlertState::Pending) {
            "pending"
        } else {
            "inactive"
        };
        let mut rule = json!({
            "state": rule_state,
            "name": threshold.name,
            "query": threshold.rule_expr().map(|e| vitrine_promql::print(&e)).unwrap_or_else(|e| e),
            "duration": threshold.for_secs,
            "keepFiringFor": threshold.keep_firing_for_secs,
            "labels": {"severity": threshold.severity, "threshold_id": threshold.id.to_string()},
            "annotations": annotations,
            "alerts": alerts
                .iter()
                .map(|a| alert_json(a, &threshold.annotations(Some(a), &state.public_base)))
                .collect::<Vec<_>>(),
            "type": "alerting",
        });
        for (key, value) in health_json(state.rules.health(threshold.id)) {
            rule[key] = value;
        }
        add(group, rule);
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(name, rules)| json!({"name": name, "file": "vitrine", "rules": rules, "interval": interval, "limit": 0}))
        .collect();
    success(json!({ "groups": groups }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_come_as_bearer_or_as_the_basic_password() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer vit_abc"));
        assert_eq!(presented_token(&headers).as_deref(), Some("vit_abc"));
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("t:vit_def")
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&basic).unwrap());
        assert_eq!(presented_token(&headers).as_deref(), Some("vit_def"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(presented_token(&headers), None);
    }

    #[test]
    fn times_read_like_prometheus() {
        assert_eq!(parse_time("1700000000.5"), Some(1_700_000_000_500));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(parse_time("yesterday"), None);
    }
}
