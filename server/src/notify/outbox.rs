//! The durable outbox: a mail (or a channel's message) is a row written in the transaction of
//! the change that causes it; one worker sends due rows through SMTP (lettre; STARTTLS, implicit
//! TLS or plain to a local relay, from `smtp_url`) or, without `smtp_url`, into `mail/` in the
//! data directory, and posts channels' JSON over HTTP through the scrape guard. A transient
//! failure (SMTP 4xx; HTTP 5xx, 408, 429; no connection, a timeout) is retried with exponential
//! backoff up to `outbox_backoff_max_secs`; a permanent one (SMTP 5xx, another HTTP 4xx, a
//! refused address) and the last attempt make the row dead. A row keeps its Message-ID across
//! retries, so a mail resent after a crash mid-send is recognisable as the same mail.

use crate::scrape::fetch::{FetchError, Guard, post_json};
use lettre::message::header::ContentType;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rand::RngCore;
use sqlx::{SqliteConnection, SqlitePool};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A mail to store in the outbox.
#[derive(Default)]
pub struct NewMail {
    pub agency_id: i64,
    pub client_id: Option<i64>,
    /// The threshold an error mail is about.
    pub threshold_id: Option<i64>,
    /// A chart the HTML part shows as `cid:chart@HOST` (see [`chart_cid`]).
    pub chart_png: Option<Vec<u8>>,
    /// The recipient's one-click unsubscribe link (RFC 8058), sent as `List-Unsubscribe`.
    pub unsubscribe_url: Option<String>,
    /// A single-use link in the text (password reset, invitation), hidden on the outbox page.
    pub private_link: Option<String>,
    pub kind: &'static str,
    /// An address, or for a channel's HTTP message what the outbox page calls it.
    pub recipient: String,
    pub subject: String,
    /// The plain text part, or the JSON an HTTP message posts.
    pub text: String,
    pub html: String,
    /// The notification channel it goes to (none: one of the client's people).
    pub channel_id: Option<i64>,
    /// Posted over HTTP instead of mailed.
    pub http: Option<Http>,
}

/// Where a channel's message is posted.
pub struct Http {
    pub url: String,
}

/// What an HTTP message's URL is sealed for (URLs of Slack and webhooks hold their secret).
pub const HTTP_URL_CONTEXT: &str = "outbox.http_url";
/// Longest wait for a channel's answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The Content-ID of a mail's chart, for `<img src="cid:…">` in its HTML part.
pub fn chart_cid(host: &str) -> String {
    format!("chart@{host}")
}

/// Writes `mail` in the caller's transaction; the worker sends it after the commit.
pub async fn enqueue(tx: &mut SqliteConnection, mail: &NewMail, host: &str) -> Result<i64, sqlx::Error> {
    let mut random = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let message_id = format!("<{}@{host}>", hex::encode(random));
    let http_url = match &mail.http {
        Some(http) => {
            Some(crate::secrets::seal(&http.url, HTTP_URL_CONTEXT).map_err(|e| sqlx::Error::Encode(Box::new(e)))?)
        }
        None => None,
    };
    sqlx::query_scalar(
        "INSERT INTO outbox (agency_id, client_id, threshold_id, chart_png, unsubscribe_url, private_link, kind,
             recipient, subject, body_text, body_html, message_id, next_attempt_ms, created_ms, channel_id, http_url)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(mail.agency_id)
    .bind(mail.client_id)
    .bind(mail.threshold_id)
    .bind(mail.chart_png.as_deref())
    .bind(mail.unsubscribe_url.as_deref())
    .bind(mail.private_link.as_deref())
    .bind(mail.kind)
    .bind(&mail.recipient)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(message_id)
    .bind(now_ms())
    .bind(now_ms())
    .bind(mail.channel_id)
    .bind(http_url)
    .fetch_one(&mut *tx)
    .await
}

/// Where mails go.
pub enum Delivery {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `.eml` file per mail in this directory.
    Files(PathBuf),
}

/// Why a delivery failed, and whether trying again can help.
#[derive(Debug)]
pub struct Failure {
    pub transient: bool,
    pub message: String,
}

pub struct Settings {
    pub from: Mailbox,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub max_attempts: u32,
}

pub struct Outbox {
    db: SqlitePool,
    delivery: Delivery,
    settings: Settings,
    /// Every channel URL is checked against the scrape address policy when it is posted to.
    guard: Guard,
    wake: tokio::sync::Notify,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    recipient: String,
    subject: String,
    body_text: String,
    body_html: String,
    chart_png: Option<Vec<u8>>,
    unsubscribe_url: Option<String>,
    message_id: String,
    attempts: i64,
    created_ms: i64,
    http_url: Option<String>,
}

impl Outbox {
    pub fn new(db: SqlitePool, delivery: Delivery, settings: Settings, guard: Guard) -> Arc<Outbox> {
        Arc::new(Outbox {
            db,
            delivery,
            settings,
            guard,
            wake: tokio::sync::Notify::new(),
        })
    }

    /// The delivery `smtp_url` names (`smtp://…`, `smtps://…`, `?tls=required|opportunistic`),
    /// or files in `dir` without one.
    pub fn delivery(smtp_url: &str, dir: PathBuf) -> Result<Delivery, String> {
        if smtp_url.trim().is_empty() {
            return Ok(Delivery::Files(dir));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url.trim())
            .map_err(|e| format!("smtp_url: {e}"))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Delivery::Smtp(transport))
    }

    /// Tells the worker that a mail waits (it also looks every second).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends due mails until the process ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.send_due().await {
                Ok(sent) if sent > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reading the outbox"),
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), self.wake.notified()).await;
        }
    }

    /// Sends every mail that is due now; returns how many were tried.
    pub async fn send_due(&self) -> Result<usize, sqlx::Error> {
        let due: Vec<Row> = sqlx::query_as(
            "SELECT id, recipient, subject, body_text, body_html, chart_png, unsubscribe_url, message_id, attempts, created_ms,
                    http_url
             FROM outbox
             WHERE state IN ('pending', 'failed') AND next_attempt_ms <= ? ORDER BY next_attempt_ms, id LIMIT 50",
        )
        .bind(now_ms())
        .fetch_all(&self.db)
        .await?;
        for row in &due {
            let result = self.deliver(row).await;
            self.record(row, result).await?;
        }
        Ok(due.len())
    }

    async fn record(&self, row: &Row, result: Result<(), Failure>) -> Result<(), sqlx::Error> {
        let attempts = row.attempts + 1;
        match result {
            Ok(()) => {
                sqlx::query(
                    "UPDATE outbox SET state = 'sent', attempts = ?, sent_ms = ?, last_error = NULL WHERE id = ?",
                )
                .bind(attempts)
                .bind(now_ms())
                .bind(row.id)
                .execute(&self.db)
                .await?;
                tracing::info!(id = row.id, message_id = %row.message_id, "mail sent");
            }
            Err(failure) => {
                let dead = !failure.transient || attempts >= i64::from(self.settings.max_attempts);
                let wait = backoff_ms(&self.settings, attempts);
                sqlx::query(
                    "UPDATE outbox SET state = ?, attempts = ?, next_attempt_ms = ?, last_error = ? WHERE id = ?",
                )
                .bind(if dead { "dead" } else { "failed" })
                .bind(attempts)
                .bind(now_ms().saturating_add(i64::try_from(wait).unwrap_or(i64::MAX)))
                .bind(&failure.message)
                .bind(row.id)
                .execute(&self.db)
                .await?;
                tracing::warn!(id = row.id, attempts, dead, error = %failure.message, "mail not sent");
            }
        }
        Ok(())
    }

    async fn deliver(&self, row: &Row) -> Result<(), Failure> {
        let permanent = |message: String| Failure {
            transient: false,
            message,
        };
        if let Some(sealed) = &row.http_url {
            let url = crate::secrets::open(sealed, HTTP_URL_CONTEXT)
                .map_err(|e| permanent(format!("the channel's URL cannot be opened: {e}")))?;
            return match post_json(&self.guard, &url, &row.body_text, HTTP_TIMEOUT).await {
                Ok(status) => http_outcome(status),
                Err(FetchError::Refused(why)) => Err(permanent(format!("refused: {why}"))),
                Err(e) => Err(Failure {
                    transient: true,
                    message: e.to_string(),
                }),
            };
        }
        let to: Mailbox = row
            .recipient
            .parse()
            .map_err(|e| permanent(format!("the address {} is not valid: {e}", row.recipient)))?;
        let created = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(row.created_ms).unwrap_or(0));
        let mut message = Message::builder()
            .from(self.settings.from.clone())
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(row.message_id.clone()))
            .date(created)
            .multipart(body(row))
            .map_err(|e| permanent(format!("the mail cannot be built: {e}")))?;
        let headers = message.headers_mut();
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_string(),
        ));
        if let Some(url) = &row.unsubscribe_url {
            // RFC 8058: mail programs offer "unsubscribe" and POST this body to the link.
            headers.insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ));
            headers.insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_string(),
            ));
        }
        match &self.delivery {
            Delivery::Smtp(transport) => transport.send(message).await.map(|_| ()).map_err(|e| Failure {
                // 5xx answers are final; everything else (4xx, no connection, a timeout) may pass later.
                transient: !e.is_permanent(),
                message: e.to_string(),
            }),
            Delivery::Files(dir) => {
                let path = dir.join(format!("{:08}.eml", row.id));
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&path, message.formatted()).await
                };
                write.await.map_err(|e| Failure {
                    transient: true,
                    message: format!("writing {}: {e}", path.display()),
                })
            }
        }
    }
}

/// What a channel's answer means: 2xx delivered; 408, 429 and 5xx may pass later; any other
/// answer will not (Alertmanager's retry rule).
fn http_outcome(status: u16) -> Result<(), Failure> {
    let message = format!("the channel answered HTTP {status}");
    match status {
        200..=299 => Ok(()),
        408 | 429 | 500..=599 => Err(Failure {
            transient: true,
            message,
        }),
        _ => Err(Failure {
            transient: false,
            message,
        }),
    }
}

/// Text and HTML as alternatives; a chart goes inline beside the HTML (multipart/related), where
/// the HTML shows it by its Content-ID.
fn body(row: &Row) -> MultiPart {
    let text = SinglePart::plain(row.body_text.clone());
    let html = SinglePart::html(row.body_html.clone());
    let Some(png) = &row.chart_png else {
        return MultiPart::alternative().singlepart(text).singlepart(html);
    };
    let host = row
        .message_id
        .rsplit('@')
        .next()
        .unwrap_or("vitrine>")
        .trim_end_matches('>');
    let chart = Attachment::new_inline(chart_cid(host))
        .body(png.clone(), ContentType::parse("image/png").expect("a valid type"));
    MultiPart::alternative()
        .singlepart(text)
        .multipart(MultiPart::related().singlepart(html).singlepart(chart))
}

/// The agency's mails, newest first: at most `limit`.
pub async fn list(db: &SqlitePool, agency_id: i64, limit: i64) -> Result<Vec<app::dto::OutboxMessage>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Listed {
        id: i64,
        client: Option<String>,
        recipient: String,
        subject: String,
        state: String,
        attempts: i64,
        last_error: Option<String>,
        created_ms: i64,
        sent_ms: Option<i64>,
        body_text: String,
        unsubscribe_url: Option<String>,
        private_link: Option<String>,
        posted: bool,
    }
    let rows: Vec<Listed> = sqlx::query_as(
        "SELECT o.id, c.name AS client, o.recipient, o.subject, o.state, o.attempts, o.last_error, o.created_ms,
                o.sent_ms, o.body_text, o.unsubscribe_url, o.private_link, o.http_url IS NOT NULL AS posted
         FROM outbox o LEFT JOIN clients c ON c.id = o.client_id
         WHERE o.agency_id = ? ORDER BY o.created_ms DESC, o.id DESC LIMIT ?",
    )
    .bind(agency_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            // Personal links work without a login: agency people do not see them.
            let text = [row.unsubscribe_url, row.private_link]
                .into_iter()
                .flatten()
                .filter(|url| !url.is_empty())
                .fold(row.body_text, |text, url| text.replace(&url, app::dto::LINK_REMOVED));
            app::dto::OutboxMessage {
                id: row.id,
                client: row.client,
                recipient: row.recipient,
                subject: row.subject,
                state: row.state,
                attempts: row.attempts,
                last_error: row.last_error,
                created_ms: row.created_ms,
                sent_ms: row.sent_ms,
                text,
                posted: row.posted,
            }
        })
        .collect())
}

/// Puts a failed or given-up mail of the agency back in the queue, due now; `false` when the
/// agency has no such mail.
pub async fn retry(db: &SqlitePool, agency_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE outbox SET state = 'pending', next_attempt_ms = ? WHERE id = ? AND agency_id = ?
         AND state IN ('failed', 'dead')",
    )
    .bind(now_ms())
    .bind(id)
    .bind(agency_id)
    .execute(db)
    .await?;
    Ok(changed.rows_affected() == 1)
}

impl Outbox {
    /// Whether mails leave through SMTP (or are only written to files).
    pub fn by_smtp(&self) -> bool {
        matches!(self.delivery, Delivery::Smtp(_))
    }
}

/// How long to wait after `attempts` failed attempts: base × 2^(attempts − 1), at most the cap.
fn backoff_ms(settings: &Settings, attempts: i64) -> u64 {
    let exponent = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX).min(32);
    settings
        .backoff_base_ms
        .saturating_mul(1u64 << exponent)
        .min(settings.backoff_max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_answers_are_told_apart_as_alertmanager_does() {
        assert!(http_outcome(200).is_ok() && http_outcome(202).is_ok());
        for transient in [408, 429, 500, 503] {
            assert!(http_outcome(transient).unwrap_err().transient, "{transient}");
        }
        for permanent in [301, 400, 401, 404, 410] {
            assert!(!http_outcome(permanent).unwrap_err().transient, "{permanent}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let settings = Settings {
            from: "Vitrine <vitrine@localhost>".parse().unwrap(),
            backoff_base_ms: 500,
            backoff_max_ms: 3_000,
            max_attempts: 5,
        };
        let waits: Vec<u64> = (1..=6).map(|n| backoff_ms(&settings, n)).collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000, 3000]);
        assert_eq!(backoff_ms(&settings, 1000), 3000);
    }
}
