//! HTTP(S) probes, as blackbox_exporter's `http` prober checks a site: the method, headers
//! and body sent, the status codes, a keyword present or absent, a JSON value, the maximum
//! latency, redirects followed or not, and the TLS certificate's expiry. Each run's result
//! goes into the client's store under blackbox_exporter's names (`probe_success`,
//! `probe_duration_seconds`, `probe_http_status_code`, `probe_ssl_earliest_cert_expiry`, …)
//! with `job="probe"`, `instance` (the address) and `probe` (its name), through the same
//! ingestion as a scrape; every connection goes through the scrapes' address guard.

use crate::scrape::fetch::{self, FetchError, Guard};
use crate::scrape::ingest::{self, SeriesCache, TargetLabels};
use crate::scrape::manager::Scraper;
use crate::store;
use crate::tenancy::{FormCheck, TenancyError, is_unique_violation};
use app::dto::{FieldProblem, ProbeFailure, ProbeHealth, ProbeRow};
use reqwest::header::{HeaderName, HeaderValue};
use sqlx::SqlitePool;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use vitrine_exposition::Format;
use vitrine_scrape_config::Limits;
use vitrine_tsdb::Db;

/// The most of an answer a probe reads to look for its keyword or JSON value.
const MAX_BODY: usize = 2 << 20;
/// Methods a probe may send.
const METHODS: [&str; 5] = ["GET", "HEAD", "POST", "PUT", "OPTIONS"];

/// What one probe checks, parsed.
#[derive(Clone, Debug)]
pub struct Probe {
    pub id: i64,
    pub client_id: i64,
    pub project: String,
    pub environment: String,
    pub name: String,
    pub url: reqwest::Url,
    pub method: reqwest::Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: String,
    pub expect_status: StatusCodes,
    pub keyword: String,
    pub keyword_absent: bool,
    /// A JSON pointer and the value it must have.
    pub json: Option<(String, String)>,
    pub max_latency: Option<Duration>,
    pub follow_redirects: bool,
    pub tls_skip_verify: bool,
    pub interval: Duration,
    pub timeout: Duration,
}

/// Accepted status codes: ranges such as `200-399` and single codes, comma-separated.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusCodes(Vec<(u16, u16)>);

impl StatusCodes {
    pub fn parse(raw: &str) -> Result<StatusCodes, FieldProblem> {
        let raw = if raw.trim().is_empty() { "200-399" } else { raw };
        let code = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or(FieldProblem::InvalidChoice)
        };
        let ranges = raw
            .split(',')
            .map(|part| match part.split_once('-') {
                Some((low, high)) => {
                    let (low, high) = (code(low)?, code(high)?);
                    if low <= high {
                        Ok((low, high))
                    } else {
                        Err(FieldProblem::InvalidChoice)
                    }
                }
                None => code(part).map(|c| (c, c)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StatusCodes(ranges))
    }

    pub fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|(low, high)| (*low..=*high).contains(&code))
    }

    /// `200-399`, `200,204`: as typed, normalised.
    pub fn text(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(low, high)| {
                if low == high {
                    low.to_string()
                } else {
                    format!("{low}-{high}")
                }
            })
            .collect();
        parts.join(",")
    }
}

/// What one run found.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub duration: Duration,
    pub status_code: Option<u16>,
    pub content_length: Option<u64>,
    pub redirects: u32,
    pub tls: bool,
    /// The server certificate's `notAfter` (seconds since the epoch).
    pub cert_expiry_secs: Option<i64>,
    pub failure: Option<ProbeFailure>,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.failure.is_none()
    }

    /// The run as blackbox_exporter answers `/probe`.
    pub fn exposition(&self) -> String {
        let mut text = String::new();
        let mut gauge = |name: &str, help: &str, value: f64| {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
        };
        gauge(
            "probe_success",
            "Displays whether or not the probe was a success",
            if self.success() { 1.0 } else { 0.0 },
        );
        gauge(
            "probe_duration_seconds",
            "Returns how long the probe took to complete in seconds",
            self.duration.as_secs_f64(),
        );
        if let Some(code) = self.status_code {
            gauge("probe_http_status_code", "Response HTTP status code", f64::from(code));
            gauge(
                "probe_http_redirects",
                "The number of redirects",
                f64::from(self.redirects),
            );
            gauge(
                "probe_http_ssl",
                "Indicates if SSL was used for the final redirect",
                if self.tls { 1.0 } else { 0.0 },
            );
            gauge(
                "probe_failed_due_to_regex",
                "Indicates if probe failed due to regex",
                if matches!(
                    self.failure,
                    Some(ProbeFailure::KeywordMissing { .. } | ProbeFailure::KeywordFound { .. })
                ) {
                    1.0
                } else {
                    0.0
                },
            );
        }
        if let Some(length) = self.content_length {
            gauge(
                "probe_http_content_length",
                "Length of http content response",
                length as f64,
            );
        }
        if let Some(expiry) = self.cert_expiry_secs {
            gauge(
                "probe_ssl_earliest_cert_expiry",
                "Returns last SSL chain expiry in unixtime",
                expiry as f64,
            );
        }
        text
    }
}

fn failure_of(err: FetchError, timeout: Duration) -> ProbeFailure {
    match err {
        FetchError::Refused(why) => ProbeFailure::Refused { why },
        FetchError::Timeout(_) => ProbeFailure::Timeout {
            secs: timeout.as_secs(),
        },
        FetchError::Connect(detail) if is_certificate_problem(&detail) => ProbeFailure::Certificate { detail },
        FetchError::Tls(detail) => ProbeFailure::Certificate { detail },
        other => ProbeFailure::Connect {
            detail: other.to_string(),
        },
    }
}

fn is_certificate_problem(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    ["certificate", "handshake", "tls", "unknownissuer"]
        .iter()
        .any(|word| lower.contains(word))
}

/// The `notAfter` of a DER certificate, in seconds since the epoch.
fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// The JSON value at `pointer` as text: strings bare, everything else as JSON.
fn json_text(body: &[u8], pointer: &str) -> Result<Option<String>, ProbeFailure> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| ProbeFailure::NotJson)?;
    Ok(value.pointer(pointer).map(|found| match found {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }))
}

/// Runs `probe` once through the guard.
pub async fn run(probe: &Probe, guard: &Guard) -> Outcome {
    let started = Instant::now();
    let failed = |failure: ProbeFailure| Outcome {
        duration: started.elapsed(),
        status_code: None,
        content_length: None,
        redirects: 0,
        tls: false,
        cert_expiry_secs: None,
        failure: Some(failure),
    };
    let client = match fetch::probe_client(guard, probe.timeout, probe.follow_redirects, probe.tls_skip_verify) {
        Ok(client) => client,
        Err(e) => return failed(failure_of(e, probe.timeout)),
    };
    if let Err(e) = fetch::check_literal(guard, &probe.url) {
        return failed(failure_of(e, probe.timeout));
    }
    let mut request = client.request(probe.method.clone(), probe.url.clone());
    for (name, value) in &probe.headers {
        request = request.header(name, value);
    }
    if !probe.body.is_empty() {
        request = request.body(probe.body.clone());
    }
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(e) => return failed(failure_of(fetch::describe(e, probe.timeout), probe.timeout)),
    };
    let status = response.status().as_u16();
    let tls = response.url().scheme() == "https";
    let redirects = u32::from(response.url() != &probe.url);
    let cert_expiry_secs = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .and_then(not_after);
    let mut body = Vec::new();
    let mut read_error = None;
    let needs_body = !probe.keyword.is_empty() || probe.json.is_some();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if needs_body && body.len() < MAX_BODY {
                    body.extend_from_slice(&chunk[..chunk.len().min(MAX_BODY - body.len())]);
                }
            }
            Ok(None) => break,
            Err(e) => {
                read_error = Some(failure_of(fetch::describe(e, probe.timeout), probe.timeout));
                break;
            }
        }
    }
    let duration = started.elapsed();
    let failure = read_error.or_else(|| check_answer(probe, status, &body, duration));
    Outcome {
        duration,
        status_code: Some(status),
        content_length: response.content_length(),
        redirects,
        tls,
        cert_expiry_secs,
        failure,
    }
}

/// What is wrong with an answer, checked in the order a reader expects: the status, the
/// keyword, the JSON value, the time it took.
fn check_answer(probe: &Probe, status: u16, body: &[u8], duration: Duration) -> Option<ProbeFailure> {
    if !probe.expect_status.contains(status) {
        return Some(ProbeFailure::Status {
            got: status,
            expected: probe.expect_status.text(),
        });
    }
    if !probe.keyword.is_empty() {
        let text = String::from_utf8_lossy(body);
        let found = text.contains(&probe.keyword);
        if found == probe.keyword_absent {
            let keyword = probe.keyword.clone();
            return Some(if found {
                ProbeFailure::KeywordFound { keyword }
            } else {
                ProbeFailure::KeywordMissing { keyword }
            });
        }
    }
    if let Some((pointer, expected)) = &probe.json {
        match json_text(body, pointer) {
            Err(failure) => return Some(failure),
            Ok(got) if got.as_deref() != Some(expected.as_str()) => {
                return Some(ProbeFailure::JsonMismatch {
                    pointer: pointer.clone(),
                    expected: expected.clone(),
                    got,
                });
            }
            Ok(_) => {}
        }
    }
    match probe.max_latency {
        Some(limit) if duration > limit => Some(ProbeFailure::TooSlow {
            millis: duration.as_millis() as u64,
            limit_millis: limit.as_millis() as u64,
        }),
        _ => None,
    }
}

/// What the sealed headers of a client's probe are sealed for.
fn headers_context(client_id: i64) -> String {
    format!("probes.headers client {client_id}")
}

/// `Name: value` lines, checked.
fn parse_headers(raw: &str) -> Result<Vec<(HeaderName, HeaderValue)>, FieldProblem> {
    raw.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (name, value) = line.split_once(':').ok_or(FieldProblem::InvalidChoice)?;
            let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| FieldProblem::InvalidChoice)?;
            let value = HeaderValue::from_str(value.trim()).map_err(|_| FieldProblem::InvalidChoice)?;
            Ok((name, value))
        })
        .collect()
}

/// A probe as the form gives it, checked.
#[derive(Clone, Debug)]
pub struct NewProbe {
    pub name: String,
    pub url: String,
    pub method: String,
    pub headers: String,
    pub body: String,
    pub expect_status: String,
    pub keyword: String,
    pub keyword_absent: bool,
    pub json_pointer: String,
    pub json_value: String,
    pub max_latency_ms: u32,
    pub follow_redirects: bool,
    pub tls_skip_verify: bool,
    pub interval_secs: u32,
    pub timeout_secs: u32,
}

impl NewProbe {
    /// A GET of `url` every minute that expects 2xx or 3xx: the demo's and the tests' start.
    pub fn get(name: &str, url: &str) -> NewProbe {
        NewProbe {
            name: name.to_string(),
            url: url.to_string(),
            method: "GET".into(),
            headers: String::new(),
            body: String::new(),
            expect_status: "200-399".into(),
            keyword: String::new(),
            keyword_absent: false,
            json_pointer: String::new(),
            json_value: String::new(),
            max_latency_ms: 0,
            follow_redirects: true,
            tls_skip_verify: false,
            interval_secs: 60,
            timeout_secs: 10,
        }
    }

    pub fn from_form(form: &[(String, String)]) -> crate::tenancy::Result<NewProbe> {
        let mut check = FormCheck::new(form);
        let text = |max: usize| {
            move |raw: &str| {
                if raw.chars().count() > max {
                    Err(FieldProblem::TooLong)
                } else {
                    Ok(raw.trim().to_string())
                }
            }
        };
        let required = |max: usize| {
            move |raw: &str| match raw.trim() {
                "" => Err(FieldProblem::Required),
                _ if raw.chars().count() > max => Err(FieldProblem::TooLong),
                trimmed => Ok(trimmed.to_string()),
            }
        };
        let seconds = |low: u32, high: u32, default: u32| {
            move |raw: &str| {
                let raw = raw.trim().trim_end_matches('s');
                if raw.is_empty() {
                    return Ok(default);
                }
                raw.parse::<u32>()
                    .ok()
                    .filter(|n| (low..=high).contains(n))
                    .ok_or(FieldProblem::InvalidNumber)
            }
        };
        let name = check.field("name", required(100));
        let url = check.field("url", |raw| {
            let raw = raw.trim();
            match reqwest::Url::parse(raw) {
                Ok(url)
                    if ["http", "https"].contains(&url.scheme()) && url.host_str().is_some() && raw.len() <= 2048 =>
                {
                    Ok(raw.to_string())
                }
                _ if raw.is_empty() => Err(FieldProblem::Required),
                _ => Err(FieldProblem::InvalidUrl),
            }
        });
        let method = check.field("method", |raw| {
            let raw = if raw.is_empty() { "GET" } else { raw };
            METHODS
                .iter()
                .find(|m| **m == raw)
                .map(|m| m.to_string())
                .ok_or(FieldProblem::InvalidChoice)
        });
        let headers = check.field("headers", |raw| {
            if raw.len() > 8192 {
                return Err(FieldProblem::TooLong);
            }
            parse_headers(raw).map(|_| raw.trim().to_string())
        });
        let body = check.field("body", text(65536));
        let expect_status = check.field("expect_status", |raw| StatusCodes::parse(raw).map(|c| c.text()));
        let keyword = check.field("keyword", text(500));
        let json_pointer = check.field("json_pointer", |raw| {
            let raw = raw.trim();
            if raw.is_empty() || raw.starts_with('/') && raw.len() <= 500 {
                Ok(raw.to_string())
            } else {
                Err(FieldProblem::InvalidChoice)
            }
        });
        let json_value = check.field("json_value", text(500));
        let max_latency_ms = check.field("max_latency_ms", |raw| {
            let raw = raw.trim().trim_end_matches("ms");
            if raw.is_empty() {
                return Ok(0);
            }
            raw.parse::<u32>()
                .ok()
                .filter(|n| *n <= 120_000)
                .ok_or(FieldProblem::InvalidNumber)
        });
        let interval_secs = check.field("interval_secs", seconds(10, 86400, 60));
        let timeout_secs = check.field("timeout_secs", seconds(1, 120, 10));
        let on = |name: &str| form.iter().any(|(n, v)| n == name && (v == "on" || v == "1"));
        let keyword_absent = on("keyword_absent");
        let follow_redirects = !on("no_redirects");
        let tls_skip_verify = on("tls_skip_verify");
        check.finish(|| {
            Some(NewProbe {
                name: name?,
                url: url?,
                method: method?,
                headers: headers?,
                body: body?,
                expect_status: expect_status?,
                keyword: keyword?,
                keyword_absent,
                json_pointer: json_pointer?,
                json_value: json_value?,
                max_latency_ms: max_latency_ms?,
                follow_redirects,
                tls_skip_verify,
                interval_secs: interval_secs?,
                timeout_secs: timeout_secs?.min(interval_secs?),
            })
        })
    }
}

/// Where a probe goes: the scoped environment's ids.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    pub agency_id: i64,
    pub client_id: i64,
    pub project_id: i64,
    pub environment_id: i64,
}

/// Stores a probe; `Duplicate` when the environment has one of that name. The headers
/// (which may hold credentials) are sealed.
pub async fn insert(
    db: &SqlitePool,
    place: Place,
    probe: &NewProbe,
    builtin: Option<&str>,
) -> crate::tenancy::Result<i64> {
    let headers = if probe.headers.is_empty() {
        String::new()
    } else {
        crate::secrets::seal(&probe.headers, &headers_context(place.client_id))?
    };
    let now = store::now_ms();
    let result = sqlx::query_scalar(
        "INSERT INTO probes (agency_id, client_id, project_id, environment_id, name, url, method, headers, body,
             expect_status, keyword, keyword_absent, json_pointer, json_value, max_latency_ms, follow_redirects,
             tls_skip_verify, interval_secs, timeout_secs, builtin, created_ms, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(place.agency_id)
    .bind(place.client_id)
    .bind(place.project_id)
    .bind(place.environment_id)
    .bind(&probe.name)
    .bind(&probe.url)
    .bind(&probe.method)
    .bind(headers)
    .bind(&probe.body)
    .bind(&probe.expect_status)
    .bind(&probe.keyword)
    .bind(probe.keyword_absent)
    .bind(&probe.json_pointer)
    .bind(&probe.json_value)
    .bind(probe.max_latency_ms)
    .bind(probe.follow_redirects)
    .bind(probe.tls_skip_verify)
    .bind(probe.interval_secs)
    .bind(probe.timeout_secs)
    .bind(builtin)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(TenancyError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// Points the demo's built-in probe `builtin` at its address of this start (or adds it).
pub async fn upsert_builtin(
    db: &SqlitePool,
    place: Place,
    probe: &NewProbe,
    builtin: &str,
) -> crate::tenancy::Result<i64> {
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM probes WHERE environment_id = ? AND builtin = ?")
        .bind(place.environment_id)
        .bind(builtin)
        .fetch_optional(db)
        .await?;
    match existing {
        Some(id) => {
            sqlx::query("UPDATE probes SET url = ?, updated_ms = ? WHERE id = ?")
                .bind(&probe.url)
                .bind(store::now_ms())
                .bind(id)
                .execute(db)
                .await?;
            Ok(id)
        }
        None => insert(db, place, probe, Some(builtin)).await,
    }
}

/// Removes a probe of the environment, and the status pages' links to it; `NotFound` for
/// a probe of any other environment.
pub async fn delete(db: &SqlitePool, client_id: i64, environment_id: i64, id: i64) -> crate::tenancy::Result<String> {
    let mut tx = crate::db::write(db).await?;
    let name: Option<String> =
        sqlx::query_scalar("DELETE FROM probes WHERE id = ? AND environment_id = ? AND client_id = ? RETURNING name")
            .bind(id)
            .bind(environment_id)
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await?;
    let name = name.ok_or(TenancyError::NotFound)?;
    sqlx::query("DELETE FROM component_sources WHERE client_id = ? AND kind = 'probe' AND source_id = ?")
        .bind(client_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(name)
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    client_id: i64,
    project: String,
    environment: String,
    name: String,
    url: String,
    method: String,
    headers: String,
    body: String,
    expect_status: String,
    keyword: String,
    keyword_absent: bool,
    json_pointer: String,
    json_value: String,
    max_latency_ms: i64,
    follow_redirects: bool,
    tls_skip_verify: bool,
    interval_secs: i64,
    timeout_secs: i64,
    updated_ms: i64,
}

const SELECT: &str = "SELECT p.id, p.client_id, pr.slug AS project, e.name AS environment, p.name, p.url, p.method,
        p.headers, p.body, p.expect_status, p.keyword, p.keyword_absent, p.json_pointer, p.json_value,
        p.max_latency_ms, p.follow_redirects, p.tls_skip_verify, p.interval_secs, p.timeout_secs, p.updated_ms
     FROM probes p JOIN projects pr ON pr.id = p.project_id JOIN environments e ON e.id = p.environment_id";

impl Row {
    fn probe(self) -> Result<Probe, String> {
        let headers = if self.headers.is_empty() {
            Vec::new()
        } else {
            let open =
                crate::secrets::open(&self.headers, &headers_context(self.client_id)).map_err(|e| e.to_string())?;
            parse_headers(&open).map_err(|_| "the stored headers cannot be read".to_string())?
        };
        Ok(Probe {
            id: self.id,
            client_id: self.client_id,
            project: self.project,
            environment: self.environment,
            name: self.name,
            url: reqwest::Url::parse(&self.url).map_err(|e| e.to_string())?,
            method: reqwest::Method::from_bytes(self.method.as_bytes()).map_err(|e| e.to_string())?,
            headers,
            body: self.body,
            expect_status: StatusCodes::parse(&self.expect_status).map_err(|_| "bad status codes".to_string())?,
            keyword: self.keyword,
            keyword_absent: self.keyword_absent,
            json: (!self.json_pointer.is_empty()).then_some((self.json_pointer, self.json_value)),
            max_latency: (self.max_latency_ms > 0).then(|| Duration::from_millis(self.max_latency_ms as u64)),
            follow_redirects: self.follow_redirects,
            tls_skip_verify: self.tls_skip_verify,
            interval: Duration::from_secs(self.interval_secs.max(1) as u64),
            timeout: Duration::from_secs(self.timeout_secs.max(1) as u64),
        })
    }
}

/// An environment's probes for its targets page, with their last run.
pub async fn of_environment(
    db: &SqlitePool,
    prober: &Prober,
    environment_id: i64,
) -> Result<Vec<ProbeRow>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} WHERE p.environment_id = ? ORDER BY p.name"))
        .bind(environment_id)
        .fetch_all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| ProbeRow {
            id: row.id,
            health: prober.health(row.id),
            name: row.name,
            method: row.method,
            url: row.url,
            interval_secs: row.interval_secs as u32,
            expect_status: row.expect_status,
            keyword: row.keyword,
            keyword_absent: row.keyword_absent,
            json_check: if row.json_pointer.is_empty() {
                String::new()
            } else {
                format!("{} = {}", row.json_pointer, row.json_value)
            },
        })
        .collect())
}

/// The selector of a probe's answer times, confined to its place: for its chart.
pub async fn duration_selector(db: &SqlitePool, client_id: i64, id: i64) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT pr.slug, e.name, p.name FROM probes p
         JOIN projects pr ON pr.id = p.project_id JOIN environments e ON e.id = p.environment_id
         WHERE p.id = ? AND p.client_id = ?",
    )
    .bind(id)
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    let quote = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    Ok(row.map(|(project, environment, name)| {
        format!(
            "probe_duration_seconds{{job=\"probe\",probe=\"{}\",project=\"{}\",environment=\"{}\"}}",
            quote(&name),
            quote(&project),
            quote(&environment)
        )
    }))
}

/// The client's probes by id and name, for the status page's sources.
pub async fn names(db: &SqlitePool, client_id: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, pr.name || ' / ' || e.name || ' / ' || p.name
         FROM probes p JOIN projects pr ON pr.id = p.project_id JOIN environments e ON e.id = p.environment_id
         WHERE p.client_id = ? ORDER BY 2",
    )
    .bind(client_id)
    .fetch_all(db)
    .await
}

/// Runs every probe at its interval, each on its own task, and keeps their last results.
pub struct Prober {
    pool: SqlitePool,
    store: Arc<Db>,
    scraper: Arc<Scraper>,
    health: RwLock<HashMap<i64, ProbeHealth>>,
    /// Each probe's series between runs.
    caches: Mutex<HashMap<i64, SeriesCache>>,
    running: Mutex<HashSet<i64>>,
    changed: Notify,
}

impl Prober {
    pub fn new(pool: SqlitePool, store: Arc<Db>, scraper: Arc<Scraper>) -> Arc<Prober> {
        Arc::new(Prober {
            pool,
            store,
            scraper,
            health: RwLock::default(),
            caches: Mutex::default(),
            running: Mutex::default(),
            changed: Notify::new(),
        })
    }

    pub fn probes_changed(&self) {
        self.changed.notify_one();
    }

    pub fn health(&self, id: i64) -> Option<ProbeHealth> {
        self.health.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    /// Loads the probes every few seconds (at once when told of a change) and starts each
    /// when it is due; a changed probe runs at once, a new start spreads them over their interval.
    pub async fn run(self: Arc<Self>) {
        // Per probe: its version and when it runs next.
        let mut schedule: HashMap<i64, (i64, Instant)> = HashMap::new();
        let mut probes: Vec<(Probe, i64)> = Vec::new();
        let mut loaded_at: Option<Instant> = None;
        loop {
            if loaded_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(5)) {
                match self.load().await {
                    Ok(now) => probes = now,
                    Err(e) => tracing::error!(error = %e, "loading probes"),
                }
                loaded_at = Some(Instant::now());
                self.forget_removed(&probes);
            }
            let now = Instant::now();
            let mut next = now + Duration::from_secs(1);
            for (probe, version) in &probes {
                let due = match schedule.get(&probe.id) {
                    Some((v, at)) if v == version => *at,
                    Some(_) => now,
                    None => now + spread(probe.id, probe.interval),
                };
                if due <= now {
                    self.clone().start(probe.clone());
                    schedule.insert(probe.id, (*version, now + probe.interval));
                } else {
                    schedule.insert(probe.id, (*version, due));
                    next = next.min(due);
                }
            }
            schedule.retain(|id, _| probes.iter().any(|(p, _)| p.id == *id));
            tokio::select! {
                _ = self.changed.notified() => loaded_at = None,
                _ = tokio::time::sleep_until(next.into()) => {},
            }
        }
    }

    async fn load(&self) -> Result<Vec<(Probe, i64)>, sqlx::Error> {
        let rows: Vec<Row> = sqlx::query_as(SELECT).fetch_all(&self.pool).await?;
        let mut probes = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, version) = (row.id, row.updated_ms);
            match row.probe() {
                Ok(probe) => probes.push((probe, version)),
                Err(e) => tracing::warn!(probe = id, error = %e, "a stored probe cannot be read"),
            }
        }
        Ok(probes)
    }

    /// Marks the series of removed probes stale and forgets their results.
    fn forget_removed(&self, probes: &[(Probe, i64)]) {
        let live: HashSet<i64> = probes.iter().map(|(p, _)| p.id).collect();
        self.health
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|id, _| live.contains(id));
        let gone: Vec<SeriesCache> = {
            let mut caches = self.caches.lock().unwrap_or_else(|p| p.into_inner());
            let ids: Vec<i64> = caches.keys().filter(|id| !live.contains(id)).copied().collect();
            ids.iter().filter_map(|id| caches.remove(id)).collect()
        };
        for mut cache in gone {
            if let Err(e) = ingest::mark_stale(&self.store, &mut cache, store::now_ms()) {
                tracing::warn!(error = %e, "marking a removed probe's series stale");
            }
        }
    }

    /// Runs one probe on its own task unless its last run is still going.
    fn start(self: Arc<Self>, probe: Probe) {
        if !self.running.lock().unwrap_or_else(|p| p.into_inner()).insert(probe.id) {
            return;
        }
        tokio::spawn(async move {
            let ran_ms = store::now_ms();
            let outcome = run(&probe, self.scraper.guard()).await;
            let id = probe.id;
            let this = self.clone();
            let stored = tokio::task::spawn_blocking(move || this.store_outcome(&probe, &outcome, ran_ms)).await;
            if let Err(e) = stored {
                tracing::warn!(probe = id, error = %e, "storing a probe's result");
            }
            self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        });
    }

    fn store_outcome(&self, probe: &Probe, outcome: &Outcome, ran_ms: i64) {
        let labels = TargetLabels {
            tenant: store::tenant(probe.client_id),
            // The catalog keys what a source declared by id; probes take the negative ids so
            // they never meet a scrape target's.
            target_id: -probe.id,
            labels: vec![
                ("instance".into(), probe.url.to_string()),
                ("job".into(), "probe".into()),
                ("probe".into(), probe.name.clone()),
            ],
            project: probe.project.clone(),
            environment: probe.environment.clone(),
            honor_labels: false,
            honor_timestamps: false,
            metric_relabel: Vec::new(),
            limits: Limits::default(),
            max_series_per_client: usize::MAX,
        };
        let mut cache = self
            .caches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&probe.id)
            .unwrap_or_default();
        let text = outcome.exposition();
        if let Err(e) = ingest::ingest(
            &self.store,
            &self.scraper.catalog,
            &labels,
            &mut cache,
            text.as_bytes(),
            Format::PrometheusText,
            ran_ms,
        ) {
            tracing::warn!(probe = probe.id, error = %e, "storing a probe's result");
        }
        self.caches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(probe.id, cache);
        let mut health = self.health.write().unwrap_or_else(|p| p.into_inner());
        let before = health.get(&probe.id).map_or(0, |h| h.failures_in_row);
        health.insert(
            probe.id,
            ProbeHealth {
                success: outcome.success(),
                last_ms: ran_ms,
                duration_ms: outcome.duration.as_secs_f64() * 1000.0,
                status_code: outcome.status_code,
                cert_expiry_ms: outcome.cert_expiry_secs.map(|s| s.saturating_mul(1000)),
                failure: outcome.failure.clone(),
                failures_in_row: if outcome.success() { 0 } else { before + 1 },
            },
        );
    }
}

/// Where in its interval a probe runs, by its id: spread, and the same at every start.
fn spread(id: i64, interval: Duration) -> Duration {
    let millis = interval.as_millis().max(1) as u64;
    Duration::from_millis((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use std::pin::Pin;
    use vitrine_scrape_config::AddressPolicy;

    struct NoLookup;

    impl fetch::Lookup for NoLookup {
        fn lookup(
            &self,
            _host: String,
        ) -> Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
            Box::pin(async { Ok(vec!["127.0.0.1".parse().unwrap()]) })
        }
    }

    fn guard(allow: &[&str]) -> Guard {
        Guard {
            policy: Arc::new(AddressPolicy::parse(allow.iter().copied()).unwrap()),
            lookup: Arc::new(NoLookup),
            max_body_bytes: fetch::DEFAULT_MAX_BODY_BYTES,
        }
    }

    fn probe(url: &str) -> Probe {
        let new = NewProbe::get("Home", url);
        Probe {
            id: 1,
            client_id: 1,
            project: "shop".into(),
            environment: "live".into(),
            name: new.name,
            url: reqwest::Url::parse(url).unwrap(),
            method: reqwest::Method::GET,
            headers: vec![],
            body: String::new(),
            expect_status: StatusCodes::parse("200-399").unwrap(),
            keyword: String::new(),
            keyword_absent: false,
            json: None,
            max_latency: None,
            follow_redirects: true,
            tls_skip_verify: false,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
        }
    }

    async fn shop() -> std::net::SocketAddr {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/", get(|| async { "<h1>Welcome</h1><button>Add to cart</button>" }))
            .route(
                "/broken",
                get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "Database error") }),
            )
            .route(
                "/health",
                get(|| async { axum::Json(serde_json::json!({"status": "ok", "checks": {"db": true}})) }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "late"
                }),
            )
            .route("/moved", get(|| async { axum::response::Redirect::temporary("/") }))
            .route(
                "/echo",
                axum::routing::post(|headers: axum::http::HeaderMap, body: String| async move {
                    let token = headers.get("x-token").and_then(|v| v.to_str().ok()).unwrap_or("");
                    format!("{token}:{body}")
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    #[tokio::test]
    async fn a_probe_checks_status_keyword_json_latency_and_redirects() {
        let addr = shop().await;
        let guard = guard(&["127.0.0.1/32"]);
        let base = format!("http://{addr}");

        let ok = run(&probe(&format!("{base}/")), &guard).await;
        assert_eq!((ok.failure.clone(), ok.status_code), (None, Some(200)), "{ok:?}");

        let broken = run(&probe(&format!("{base}/broken")), &guard).await;
        assert_eq!(
            broken.failure,
            Some(ProbeFailure::Status {
                got: 503,
                expected: "200-399".into()
            })
        );
        let mut accepting = probe(&format!("{base}/broken"));
        accepting.expect_status = StatusCodes::parse("200-299, 503").unwrap();
        assert_eq!(run(&accepting, &guard).await.failure, None);

        let mut keyword = probe(&format!("{base}/"));
        keyword.keyword = "Add to cart".into();
        assert_eq!(run(&keyword, &guard).await.failure, None);
        keyword.keyword = "Checkout".into();
        assert_eq!(
            run(&keyword, &guard).await.failure,
            Some(ProbeFailure::KeywordMissing {
                keyword: "Checkout".into()
            })
        );
        let mut absent = probe(&format!("{base}/"));
        absent.keyword = "Welcome".into();
        absent.keyword_absent = true;
        let found = run(&absent, &guard).await;
        assert_eq!(
            found.failure,
            Some(ProbeFailure::KeywordFound {
                keyword: "Welcome".into()
            })
        );
        assert!(
            found.exposition().contains("probe_failed_due_to_regex 1\n"),
            "{}",
            found.exposition()
        );

        let mut json = probe(&format!("{base}/health"));
        json.json = Some(("/status".into(), "ok".into()));
        assert_eq!(run(&json, &guard).await.failure, None);
        json.json = Some(("/checks/db".into(), "false".into()));
        assert_eq!(
            run(&json, &guard).await.failure,
            Some(ProbeFailure::JsonMismatch {
                pointer: "/checks/db".into(),
                expected: "false".into(),
                got: Some("true".into())
            })
        );
        let mut not_json = probe(&format!("{base}/"));
        not_json.json = Some(("/status".into(), "ok".into()));
        assert_eq!(run(&not_json, &guard).await.failure, Some(ProbeFailure::NotJson));

        let mut slow = probe(&format!("{base}/slow"));
        slow.max_latency = Some(Duration::from_millis(100));
        assert!(
            matches!(run(&slow, &guard).await.failure, Some(ProbeFailure::TooSlow { limit_millis: 100, millis }) if millis >= 300)
        );
        slow.timeout = Duration::from_millis(100);
        slow.max_latency = None;
        assert!(matches!(
            run(&slow, &guard).await.failure,
            Some(ProbeFailure::Timeout { .. })
        ));

        let moved = run(&probe(&format!("{base}/moved")), &guard).await;
        assert_eq!((moved.failure.clone(), moved.redirects), (None, 1), "{moved:?}");
        let mut not_followed = probe(&format!("{base}/moved"));
        not_followed.follow_redirects = false;
        not_followed.expect_status = StatusCodes::parse("200").unwrap();
        assert_eq!(
            run(&not_followed, &guard).await.failure,
            Some(ProbeFailure::Status {
                got: 307,
                expected: "200".into()
            })
        );

        let mut post = probe(&format!("{base}/echo"));
        post.method = reqwest::Method::POST;
        post.headers = parse_headers("X-Token: s3cret\n").unwrap();
        post.body = "order=1".into();
        post.keyword = "s3cret:order=1".into();
        assert_eq!(run(&post, &guard).await.failure, None);
    }

    #[tokio::test]
    async fn a_probe_goes_through_the_address_guard() {
        let addr = shop().await;
        let refused = run(&probe(&format!("http://{addr}/")), &guard(&[])).await;
        assert!(
            matches!(&refused.failure, Some(ProbeFailure::Refused { why }) if why.contains("not allowed")),
            "{refused:?}"
        );
        let named = run(
            &probe(&format!("http://shop.example.test:{}/", addr.port())),
            &guard(&[]),
        )
        .await;
        assert!(
            matches!(&named.failure, Some(ProbeFailure::Refused { .. })),
            "{named:?}"
        );
        assert!(refused.exposition().starts_with("# HELP probe_success"));
        assert!(refused.exposition().contains("probe_success 0\n"));
        assert!(!refused.exposition().contains("probe_http_status_code"));
    }

    /// A loopback HTTPS server whose self-signed certificate expires in 10 days.
    async fn tls_shop() -> (std::net::SocketAddr, i64) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let expires = time::OffsetDateTime::now_utc() + time::Duration::days(10);
        let expires = expires.replace_nanosecond(0).unwrap();
        params.not_after = expires;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = [0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                        .await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        (addr, expires.unix_timestamp())
    }

    #[tokio::test]
    async fn an_https_probe_reads_the_certificates_expiry() {
        let (addr, expires) = tls_shop().await;
        let guard = guard(&["127.0.0.1/32"]);
        let url = format!("https://localhost:{}/", addr.port());
        let strict = run(&probe(&url), &guard).await;
        assert!(
            matches!(&strict.failure, Some(ProbeFailure::Certificate { .. })),
            "a self-signed certificate is refused: {strict:?}"
        );
        let mut lenient = probe(&url);
        lenient.tls_skip_verify = true;
        let outcome = run(&lenient, &guard).await;
        assert_eq!(outcome.failure, None, "{outcome:?}");
        assert_eq!(outcome.cert_expiry_secs, Some(expires));
        assert!(outcome.tls);
        assert!(
            outcome
                .exposition()
                .contains(&format!("probe_ssl_earliest_cert_expiry {expires}\n")),
            "{}",
            outcome.exposition()
        );
    }

    #[test]
    fn the_form_is_checked_field_by_field() {
        let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
        };
        let ok = NewProbe::from_form(&form(&[
            ("name", " Home "),
            ("url", "https://shop.example/"),
            ("expect_status", "200-299,301"),
            ("interval_secs", "30"),
            ("timeout_secs", "60"),
        ]))
        .unwrap();
        assert_eq!((ok.name.as_str(), ok.interval_secs, ok.timeout_secs), ("Home", 30, 30));
        assert_eq!(ok.expect_status, "200-299,301");
        let Err(TenancyError::Invalid(state)) = NewProbe::from_form(&form(&[
            ("url", "ftp://x"),
            ("expect_status", "600"),
            ("headers", "no colon here"),
            ("method", "DELETE"),
            ("json_pointer", "status"),
        ])) else {
            panic!("a bad form was accepted");
        };
        let fields: Vec<&str> = state.problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "url", "method", "headers", "expect_status", "json_pointer"]
        );
    }
}
