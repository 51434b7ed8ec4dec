//! A client's notification channels (Alertmanager's receivers): besides the client's people,
//! who get the error mails as they chose, the agency may tell a team address, a webhook (the
//! JSON Alertmanager 0.25 posts, version 4), a Slack incoming webhook or PagerDuty (Events API
//! v2) of every alarm and every all-clear, optionally only of some severities. The address, URL
//! or routing key is sealed like the targets' credentials and never shown again; pages show the
//! address or the URL's host. Messages go through the outbox in the transaction of the alarm,
//! with its retries; every URL passes the scrape guard when it is sent.

use super::alert::MailContext;
use super::inhibit;
use super::outbox::{Http, NewMail, enqueue};
use super::timing::{self, NotifyTiming};
use crate::rules::Threshold;
use crate::rules::alerting::{Alert, AlertState, fingerprint, labels_object, rfc3339};
use crate::tenancy::scope::{Caller, ScopedClient};
use crate::tenancy::{FormCheck, TenancyError, is_unique_violation};
use app::dto::{
    AlertmanagerImported, AlertmanagerNote, AlertmanagerNoteKind, CHANNEL_KINDS, ChannelView, FieldProblem,
    THRESHOLD_SEVERITIES,
};
use app::mail::AlertMail;
use serde_json::{Value, json};
use sqlx::{SqliteConnection, SqlitePool};
use vitrine_scrape_config::alertmanager_config::{AlertmanagerConfig, Integration, NoteKind, RouteTimers};

/// PagerDuty's Events API v2, where PagerDuty channels send unless they name another URL.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// Longest name, address or URL a channel may have (bytes).
const MAX_FIELD: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An address outside the client's people (a team mailbox).
    Email,
    /// Alertmanager's webhook JSON (version 4).
    Webhook,
    /// A Slack incoming webhook.
    Slack,
    /// PagerDuty's Events API v2 with an integration's routing key.
    PagerDuty,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        CHANNEL_KINDS[self as usize]
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        [Kind::Email, Kind::Webhook, Kind::Slack, Kind::PagerDuty]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

/// A channel to make: its secret `target` (address, URL or routing key) and, for PagerDuty,
/// the events URL.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChannel {
    pub kind: Kind,
    pub name: String,
    pub target: String,
    pub url: Option<String>,
    /// `None`: every severity.
    pub severities: Option<Vec<String>>,
}

/// What the sealed target is sealed for: the channel's client.
pub fn context(client_id: i64) -> String {
    format!("channels.target client {client_id}")
}

/// An `http(s)://host…` URL, else why not.
fn check_url(raw: &str) -> Result<String, FieldProblem> {
    let raw = raw.trim();
    if raw.len() > MAX_FIELD {
        return Err(FieldProblem::TooLong);
    }
    match reqwest::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(url.to_string())
        }
        _ => Err(FieldProblem::InvalidUrl),
    }
}

/// Reads the channel form: `kind`, `name`, `target`, `url` (PagerDuty, optional) and `severity`
/// (checkboxes; all ticked or none: every severity).
pub fn from_form(form: &[(String, String)]) -> crate::tenancy::Result<NewChannel> {
    let mut check = FormCheck::new(form);
    let kind = check.field("kind", |raw| Kind::parse(raw).ok_or(FieldProblem::InvalidChoice));
    let name = check.field("name", |raw| match raw.trim() {
        "" => Err(FieldProblem::Required),
        name if name.len() > 200 => Err(FieldProblem::TooLong),
        name => Ok(name.to_string()),
    });
    let target = check.field("target", |raw| {
        let raw = raw.trim();
        match kind {
            _ if raw.is_empty() => Err(FieldProblem::Required),
            Some(Kind::Email) => crate::tenancy::model::Email::parse(raw).map(|e| e.as_str().to_string()),
            Some(Kind::Webhook | Kind::Slack) => check_url(raw),
            // Integration keys are 32 letters and digits; allow a little room.
            Some(Kind::PagerDuty) if raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Ok(raw.to_string())
            }
            Some(Kind::PagerDuty) => Err(FieldProblem::InvalidRoutingKey),
            None => Ok(raw.to_string()),
        }
    });
    let url = check.field("url", |raw| match (kind, raw.trim()) {
        (Some(Kind::PagerDuty), "") | (Some(Kind::Email | Kind::Webhook | Kind::Slack) | None, _) => Ok(None),
        (Some(Kind::PagerDuty), raw) => check_url(raw).map(Some),
    });
    let mut severities = Vec::new();
    for (_, severity) in form.iter().filter(|(n, _)| n == "severity") {
        if THRESHOLD_SEVERITIES.contains(&severity.as_str()) {
            severities.push(severity.clone());
        } else {
            check.problem("severity", FieldProblem::InvalidChoice);
        }
    }
    let every = severities.is_empty() || severities.len() == THRESHOLD_SEVERITIES.len();
    check.finish(|| {
        Some(NewChannel {
            kind: kind?,
            name: name?,
            target: target?,
            url: url?,
            severities: (!every).then_some(severities),
        })
    })
}

/// What pages show of a target: an address as it is, of a URL only its host, of a routing key
/// its last four characters.
fn shown(kind: Kind, target: &str) -> String {
    match kind {
        Kind::Email => target.to_string(),
        Kind::Webhook | Kind::Slack => reqwest::Url::parse(target)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default(),
        Kind::PagerDuty => {
            let tail: String = target
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        }
    }
}

/// Only agency people set up channels; the client's people see them.
fn may_manage(caller: &Caller) -> bool {
    caller.role.is_agency()
}

/// Stores a channel of the client; a name the client uses already is refused.
pub async fn create(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    form: &[(String, String)],
) -> crate::tenancy::Result<String> {
    if !may_manage(caller) {
        return Err(TenancyError::Forbidden);
    }
    let new = from_form(form)?;
    match insert(db, client.id, &new, Some(caller.user_id)).await {
        Ok(_) => Ok(new.name),
        Err(TenancyError::Duplicate) => Err(FormCheck::new(form).fail("name", FieldProblem::Taken)),
        Err(e) => Err(e),
    }
}

/// Stores `new` for the client (also from imports); `Duplicate` when the name is taken.
pub async fn insert(
    db: &SqlitePool,
    client_id: i64,
    new: &NewChannel,
    created_by: Option<i64>,
) -> crate::tenancy::Result<i64> {
    let sealed = crate::secrets::seal(&new.target, &context(client_id))?;
    let result = sqlx::query_scalar(
        "INSERT INTO channels (client_id, kind, name, target, shown, url, severities, created_by, created_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(client_id)
    .bind(new.kind.as_str())
    .bind(&new.name)
    .bind(sealed)
    .bind(shown(new.kind, &new.target))
    .bind(new.url.as_deref())
    .bind(new.severities.as_ref().map(|s| s.join(" ")))
    .bind(created_by)
    .bind(crate::tenancy::now() * 1000)
    .fetch_one(db)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(TenancyError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// The client's channels, by name.
pub async fn of_client(db: &SqlitePool, client_id: i64) -> Result<Vec<ChannelView>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        kind: String,
        name: String,
        shown: String,
        severities: Option<String>,
        created_ms: i64,
        created_by: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT ch.id, ch.kind, ch.name, ch.shown, ch.severities, ch.created_ms, u.email AS created_by
         FROM channels ch LEFT JOIN users u ON u.id = ch.created_by
         WHERE ch.client_id = ? ORDER BY ch.name",
    )
    .bind(client_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ChannelView {
            id: row.id,
            kind: row.kind,
            name: row.name,
            shown: row.shown,
            severities: severities_of(row.severities).unwrap_or_default(),
            created_ms: row.created_ms,
            created_by: row.created_by,
        })
        .collect())
}

/// The stored severities: `None` for every one.
fn severities_of(stored: Option<String>) -> Option<Vec<String>> {
    stored.map(|s| s.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect())
}

/// Deletes one of the client's channels; its messages still in the outbox are sent.
pub async fn delete(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    id: i64,
) -> crate::tenancy::Result<String> {
    if !may_manage(caller) {
        return Err(TenancyError::Forbidden);
    }
    sqlx::query_scalar("DELETE FROM channels WHERE id = ? AND client_id = ? RETURNING name")
        .bind(id)
        .bind(client.id)
        .fetch_optional(db)
        .await?
        .ok_or(TenancyError::NotFound)
}

/// A channel with its target opened, to send to.
struct Open {
    id: i64,
    kind: Kind,
    name: String,
    shown: String,
    target: String,
    url: Option<String>,
    severities: Option<Vec<String>>,
}

async fn opened(tx: &mut SqliteConnection, client_id: i64, only: Option<i64>) -> Result<Vec<Open>, sqlx::Error> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, String, String, String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT id, kind, name, shown, target, url, severities FROM channels
         WHERE client_id = ? AND (? IS NULL OR id = ?) ORDER BY id",
    )
    .bind(client_id)
    .bind(only)
    .bind(only)
    .fetch_all(&mut *tx)
    .await?;
    let mut open = Vec::new();
    for (id, kind, name, shown, sealed, url, severities) in rows {
        let (Some(kind), Ok(target)) = (Kind::parse(&kind), crate::secrets::open(&sealed, &context(client_id))) else {
            tracing::warn!(
                channel = id,
                "a channel's target cannot be opened: is this the right secret key?"
            );
            continue;
        };
        open.push(Open {
            id,
            kind,
            name,
            shown,
            target,
            url,
            severities: severities_of(severities),
        });
    }
    Ok(open)
}

/// What a notice says, once for every channel: the mail in the client's language (without the
/// personal links), the alerts it is about, where the client's page is.
pub struct Message<'a> {
    pub agency_id: i64,
    pub threshold: &'a Threshold,
    pub mail: &'a AlertMail,
    pub rendered: &'a app::mail::RenderedMail,
    pub locale: app::Locale,
    pub alerts: &'a [Alert],
    pub chart_png: Option<Vec<u8>>,
    /// The server's public address (Alertmanager's `externalURL`) and the Message-IDs' host.
    pub context: &'a MailContext,
    /// A test from the channels page: about no threshold.
    pub test: bool,
}

/// Writes the notice's message for every channel of the client that wants its severity (or
/// only for channel `only`: the "send a test" button); returns how many.
pub async fn enqueue_all(
    tx: &mut SqliteConnection,
    message: &Message<'_>,
    only: Option<i64>,
    entitled: &crate::billing::entitlements::Entitlements,
) -> Result<usize, sqlx::Error> {
    let channels = opened(tx, message.threshold.client_id, only).await?;
    // Slack, webhooks and PagerDuty come with an add-on; the agency's own address always works.
    let chat = entitled.has(crate::billing::catalogue::Feature::ChatAlerts);
    let mut count = 0;
    for channel in channels.iter().filter(|c| {
        c.severities
            .as_ref()
            .is_none_or(|s| s.contains(&message.threshold.severity))
            && (chat || c.kind == Kind::Email)
    }) {
        let mut row = NewMail {
            agency_id: message.agency_id,
            client_id: Some(message.threshold.client_id),
            threshold_id: (!message.test).then_some(message.threshold.id),
            chart_png: None,
            unsubscribe_url: None,
            private_link: None,
            kind: match (message.test, message.mail.firing) {
                (true, _) => "test",
                (false, true) => "alert",
                (false, false) => "resolved",
            },
            recipient: channel.target.clone(),
            subject: message.rendered.subject.clone(),
            text: message.rendered.text.clone(),
            html: message.rendered.html.clone(),
            channel_id: Some(channel.id),
            http: None,
        };
        let payload = match channel.kind {
            Kind::Email => {
                row.chart_png = message.chart_png.clone();
                None
            }
            Kind::Webhook => Some((channel.target.clone(), webhook_payload(&channel.name, message))),
            Kind::Slack => Some((channel.target.clone(), slack_payload(message))),
            Kind::PagerDuty => {
                // The routing key is in the body: the outbox page hides it.
                row.private_link = Some(channel.target.clone());
                let url = channel.url.clone().unwrap_or_else(|| PAGERDUTY_EVENTS_URL.to_string());
                Some((url, pagerduty_payload(&channel.target, message)))
            }
        };
        if let Some((url, body)) = payload {
            row.recipient = format!("{} ({}, {})", channel.name, channel.kind.as_str(), channel.shown);
            row.text = body.to_string();
            row.html = String::new();
            row.http = Some(Http { url });
        }
        enqueue(tx, &row, &message.context.host).await?;
        count += 1;
    }
    Ok(count)
}

/// Sends a test message to one of the client's channels (agency people): a made-up alarm that
/// says it is a test, through the outbox like every other.
pub async fn send_test(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    id: i64,
    context: &MailContext,
) -> crate::tenancy::Result<String> {
    if !may_manage(caller) {
        return Err(TenancyError::Forbidden);
    }
    let mut tx = crate::db::write(db).await?;
    let (agency_id, client_name, language): (i64, String, String) =
        sqlx::query_as("SELECT agency_id, name, language FROM clients WHERE id = ?")
            .bind(client.id)
            .fetch_one(&mut *tx)
            .await?;
    let name: String = sqlx::query_scalar("SELECT name FROM channels WHERE id = ? AND client_id = ?")
        .bind(id)
        .bind(client.id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(TenancyError::NotFound)?;
    let locale = app::locale_from_tag(&[language.as_str()]);
    let now = crate::tenancy::now() * 1000;
    let test = app::mail::test_alert(locale);
    let threshold = Threshold {
        id: 0,
        client_id: client.id,
        project: String::new(),
        environment: None,
        name: test.threshold.clone(),
        template: None,
        expr: "vector(1)".into(),
        comparator: app::dto::Comparison::Found,
        value: 0.0,
        warning: None,
        for_secs: 0,
        keep_firing_for_secs: 0,
        severity: "info".into(),
        unit: "short".into(),
        explanations: crate::rules::Explanations {
            en: crate::rules::Explanation {
                meaning: test.meaning.clone(),
                action: test.action.clone(),
                audience: String::new(),
            },
            ..Default::default()
        },
    };
    let mail = AlertMail {
        client_name,
        link: format!("{}/clients/{}/channels#channel-{id}", context.public_base, client.slug),
        since_ms: now,
        ..test
    };
    let rendered = app::mail::alert_mail(locale, &mail);
    let alert = Alert {
        labels: vitrine_promql::Labels::from_pairs(&[("alertname", mail.threshold.as_str()), ("severity", "info")]),
        state: AlertState::Firing,
        value: 1.0,
        active_at: now,
        fired_at: now,
        resolved_at: 0,
        keep_firing_since: 0,
    };
    let message = Message {
        agency_id,
        threshold: &threshold,
        mail: &mail,
        rendered: &rendered,
        locale,
        alerts: std::slice::from_ref(&alert),
        chart_png: None,
        context,
        test: true,
    };
    let entitled = crate::billing::entitlements::of(&mut *tx, client.id, crate::billing::now_ms()).await?;
    enqueue_all(&mut tx, &message, Some(id), &entitled).await?;
    tx.commit().await?;
    Ok(name)
}

/// Makes a channel of every integration of the configuration's receivers that Vitrine can send
/// to: named after its receiver (with the kind, and a number when a receiver has several).
/// Names the client has already are left as they are; an address or URL that is not valid is
/// reported, not stored. The top route's timers become the client's (those it does not set
/// stay as the client has them, from `defaults` when it has none of its own), and its
/// inhibition rules are added to the client's.
pub async fn import(
    db: &SqlitePool,
    client_id: i64,
    config: &AlertmanagerConfig,
    created_by: Option<i64>,
    defaults: NotifyTiming,
) -> crate::tenancy::Result<AlertmanagerImported> {
    let mut report = AlertmanagerImported {
        notes: config
            .notes
            .iter()
            .map(|note| AlertmanagerNote {
                path: note.path.clone(),
                line: note.line,
                kind: match note.kind {
                    NoteKind::Setting => AlertmanagerNoteKind::Setting,
                    NoteKind::Placeholder => AlertmanagerNoteKind::Placeholder,
                    NoteKind::Unsupported => AlertmanagerNoteKind::Unsupported,
                },
            })
            .collect(),
        ..AlertmanagerImported::default()
    };
    for receiver in &config.receivers {
        let several = receiver.integrations.len() > 1;
        for (i, integration) in receiver.integrations.iter().enumerate() {
            let (kind, target, url) = match integration {
                Integration::Email { to } => (Kind::Email, to, None),
                Integration::Webhook { url } => (Kind::Webhook, url, None),
                Integration::Slack { url } => (Kind::Slack, url, None),
                Integration::PagerDuty { routing_key, url } => (Kind::PagerDuty, routing_key, url.as_deref()),
            };
            let name = if several {
                format!("{} {}", receiver.name, i + 1)
            } else {
                receiver.name.clone()
            };
            let form = [
                ("kind", kind.as_str()),
                ("name", name.as_str()),
                ("target", target.as_str()),
                ("url", url.unwrap_or("")),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()));
            let Ok(new) = from_form(&form) else {
                report.invalid.push(name);
                continue;
            };
            match insert(db, client_id, &new, created_by).await {
                Ok(_) => report.created.push(name),
                Err(TenancyError::Duplicate) => report.existed.push(name),
                Err(e) => return Err(e),
            }
        }
    }
    let mut tx = crate::db::write(db).await?;
    if config.timers != RouteTimers::default() {
        let taken = timing::with_route(timing::of(&mut tx, client_id, defaults).await?, &config.timers);
        timing::set(&mut tx, client_id, Some(taken)).await?;
        report.timing = Some(taken);
    }
    for (i, rule) in config.inhibit_rules.iter().enumerate() {
        let read = |matchers: &[String]| inhibit::parse_matchers(&matchers.join(", "));
        let (Ok(source), Ok(target)) = (read(&rule.source), read(&rule.target)) else {
            report.invalid.push(format!("inhibit_rules[{i}] (line {})", rule.line));
            continue;
        };
        match inhibit::insert(&mut tx, client_id, &inhibit::NewRule::of(&source, &target, &rule.equal)).await? {
            Some(_) => report.inhibit_rules += 1,
            None => report.invalid.push(format!("inhibit_rules[{i}] (line {})", rule.line)),
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// The alerts' common labels: those every alert has with the same value.
fn common_labels(alerts: &[Alert]) -> Value {
    let Some(first) = alerts.first() else {
        return json!({});
    };
    let common: serde_json::Map<String, Value> = first
        .labels
        .iter()
        .filter(|(name, value)| alerts.iter().all(|a| a.labels.get(name) == Some(*value)))
        .map(|(name, value)| (name.to_string(), json!(value)))
        .collect();
    Value::Object(common)
}

/// What Alertmanager 0.25 posts to a webhook (`version` 4), grouped by the threshold.
fn webhook_payload(receiver: &str, message: &Message<'_>) -> Value {
    let status = if message.mail.firing { "firing" } else { "resolved" };
    let external_url = &message.context.public_base;
    let alerts: Vec<Value> = message
        .alerts
        .iter()
        .map(|alert| {
            let resolved = alert.state == AlertState::Inactive;
            json!({
                "status": if resolved { "resolved" } else { "firing" },
                "labels": labels_object(&alert.labels),
                "annotations": message.threshold.annotations(Some(alert), external_url),
                "startsAt": rfc3339(alert.fired_at.max(alert.active_at)),
                "endsAt": if resolved { rfc3339(alert.resolved_at) } else { "0001-01-01T00:00:00Z".to_string() },
                "generatorURL": message.mail.link,
                "fingerprint": fingerprint(&alert.labels),
            })
        })
        .collect();
    let group_labels = json!({"alertname": message.threshold.name, "threshold_id": message.threshold.id.to_string()});
    json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname={:?}, threshold_id=\"{}\"}}", message.threshold.name, message.threshold.id),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": common_labels(message.alerts),
        "commonAnnotations": message.threshold.annotations(message.alerts.first(), external_url),
        "externalURL": message.context.public_base,
        "alerts": alerts,
    })
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A Slack incoming-webhook message: the subject as text, the status, rule and explanation in
/// an attachment coloured by the state, with a link to the client's page.
fn slack_payload(message: &Message<'_>) -> Value {
    let summary = app::mail::alert_summary(message.locale, message.mail);
    let mut text = format!("{}\n{}", slack_escape(&summary.status), slack_escape(&summary.rule));
    for (title, body) in &summary.sections {
        text.push_str(&format!("\n*{}:* {}", slack_escape(title), slack_escape(body)));
    }
    let colour = match (message.mail.firing, message.threshold.severity.as_str()) {
        (false, _) => "good",
        (true, "critical") => "danger",
        (true, _) => "warning",
    };
    json!({
        "text": slack_escape(&summary.subject),
        "attachments": [{
            "fallback": slack_escape(&summary.subject),
            "color": colour,
            "title": slack_escape(&summary.headline),
            "title_link": message.mail.link,
            "text": text,
            "mrkdwn_in": ["text"],
        }],
    })
}

/// PagerDuty's severities: critical, error, warning, info.
fn pagerduty_severity(severity: &str) -> &'static str {
    match severity {
        "critical" => "critical",
        "warning" => "warning",
        _ => "info",
    }
}

/// A PagerDuty Events API v2 event: `trigger` for the alarm, `resolve` for the all-clear, with
/// one `dedup_key` per threshold so the all-clear resolves the incident the alarm opened.
fn pagerduty_payload(routing_key: &str, message: &Message<'_>) -> Value {
    let threshold = message.threshold;
    let dedup_key = if message.test {
        format!("vitrine/{}/test", message.context.host)
    } else {
        format!("vitrine/{}/threshold/{}", message.context.host, threshold.id)
    };
    if !message.mail.firing {
        return json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key});
    }
    let summary: String = message.rendered.subject.chars().take(1024).collect();
    let details: serde_json::Map<String, Value> = app::mail::alert_summary(message.locale, message.mail)
        .sections
        .into_iter()
        .map(|(title, body)| (title, json!(body)))
        .chain([
            ("value".to_string(), json!(message.mail.value)),
            ("alerts".to_string(), json!(message.alerts.len())),
        ])
        .collect();
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": summary,
            "source": message.mail.place,
            "severity": pagerduty_severity(&threshold.severity),
            "timestamp": rfc3339(message.mail.since_ms),
            "component": threshold.project,
            "group": threshold.environment.clone().unwrap_or_default(),
            "class": threshold.name,
            "custom_details": details,
        },
        "links": [{"href": message.mail.link, "text": message.mail.client_name}],
        "client": "Vitrine",
        "client_url": message.context.public_base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    fn problems(result: crate::tenancy::Result<NewChannel>) -> Vec<(String, FieldProblem)> {
        match result {
            Err(TenancyError::Invalid(state)) => state.problems,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn the_form_checks_each_kind_of_target() {
        let slack = from_form(&form(&[
            ("kind", "slack"),
            ("name", "Shop team"),
            ("target", " https://hooks.slack.com/services/T0/B0/xyz "),
            ("severity", "critical"),
        ]))
        .unwrap();
        assert_eq!(slack.kind, Kind::Slack);
        assert_eq!(slack.target, "https://hooks.slack.com/services/T0/B0/xyz");
        assert_eq!(slack.severities, Some(vec!["critical".to_string()]));
        let every = from_form(&form(&[
            ("kind", "email"),
            ("name", "Team"),
            ("target", "team@shop.example"),
        ]))
        .unwrap();
        assert_eq!(every.severities, None);
        let pd = from_form(&form(&[
            ("kind", "pagerduty"),
            ("name", "On call"),
            ("target", "0123456789abcdef0123456789abcdef"),
            ("url", "http://127.0.0.1:9/v2/enqueue"),
        ]))
        .unwrap();
        assert_eq!(pd.url.as_deref(), Some("http://127.0.0.1:9/v2/enqueue"));
        let fields = |p: Vec<(String, FieldProblem)>| p.into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(
            fields(problems(from_form(&form(&[
                ("kind", "webhook"),
                ("name", ""),
                ("target", "ftp://files.example/x"),
            ])))),
            ["name", "target"]
        );
        assert_eq!(
            problems(from_form(&form(&[
                ("kind", "pagerduty"),
                ("name", "x"),
                ("target", "key with spaces")
            ]))),
            [("target".to_string(), FieldProblem::InvalidRoutingKey)]
        );
        assert_eq!(
            fields(problems(from_form(&form(&[
                ("kind", "sms"),
                ("name", "x"),
                ("target", "x"),
                ("severity", "panic")
            ])))),
            ["kind", "severity"]
        );
        assert_eq!(
            problems(from_form(&form(&[
                ("kind", "email"),
                ("name", "x"),
                ("target", "not an address")
            ]))),
            [("target".to_string(), FieldProblem::InvalidEmail)]
        );
    }

    #[test]
    fn pages_show_no_secret_part_of_a_target() {
        assert_eq!(
            shown(Kind::Slack, "https://hooks.slack.com/services/T0/B0/secret"),
            "hooks.slack.com"
        );
        assert_eq!(shown(Kind::PagerDuty, "0123456789abcdef0123456789abcdef"), "…cdef");
        assert_eq!(shown(Kind::Email, "team@shop.example"), "team@shop.example");
    }

    #[test]
    fn slack_text_is_escaped() {
        assert_eq!(slack_escape("a < b & <@here>"), "a &lt; b &amp; &lt;@here&gt;");
    }
}
