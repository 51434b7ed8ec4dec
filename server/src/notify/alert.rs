//! The error mails of a threshold: when an evaluation raises the alarm (an alert starts firing)
//! every person of the client gets a mail in their language, and another when the last of the
//! threshold's alerts is resolved. The mails are written to the outbox in the transaction that
//! stores the alert state, so a state change and its mails are kept or lost together.

use super::outbox::{NewMail, enqueue};
use crate::rules::Threshold;
use crate::rules::alerting::{Alert, AlertState, Transition};
use app::mail::{AlertMail, alert_mail};
use sqlx::SqliteConnection;

/// Where links in mails point and what Message-IDs end with.
#[derive(Clone, Debug)]
pub struct MailContext {
    /// The server's public address, e.g. `https://vitrine.agency.example`.
    pub public_base: String,
    /// The host part of Message-IDs.
    pub host: String,
}

impl MailContext {
    pub fn new(public_base: &str) -> MailContext {
        let host = public_base
            .split("://")
            .nth(1)
            .unwrap_or(public_base)
            .split(['/', ':'])
            .next()
            .filter(|h| !h.is_empty())
            .unwrap_or("vitrine.localhost")
            .to_string();
        MailContext {
            public_base: public_base.trim_end_matches('/').to_string(),
            host,
        }
    }
}

/// Writes the mails `transitions` call for (none, the alarm, or its end); returns how many.
pub async fn enqueue_mails(
    tx: &mut SqliteConnection,
    threshold: &Threshold,
    alerts: &[Alert],
    transitions: &[Transition],
    context: &MailContext,
) -> Result<usize, sqlx::Error> {
    let firing: Vec<&Alert> = alerts.iter().filter(|a| a.state == AlertState::Firing).collect();
    let raised = transitions.iter().find(|t| t.to == Some(AlertState::Firing));
    let ended = transitions
        .iter()
        .find(|t| t.from == Some(AlertState::Firing) && t.to == Some(AlertState::Inactive))
        .filter(|_| firing.is_empty());
    let (is_firing, transition) = match (raised, ended) {
        (Some(t), _) => (true, t),
        (None, Some(t)) => (false, t),
        (None, None) => return Ok(0),
    };
    let alert = alerts.iter().find(|a| a.labels == transition.labels);
    let fired_at = alert.map_or(transition.at, |a| a.fired_at);
    let lasted_secs = (!is_firing).then(|| u32::try_from((transition.at - fired_at).max(0) / 1000).unwrap_or(u32::MAX));
    let (agency_id, client_slug, client_name): (i64, String, String) =
        sqlx::query_as("SELECT agency_id, slug, name FROM clients WHERE id = ?")
            .bind(threshold.client_id)
            .fetch_one(&mut *tx)
            .await?;
    let recipients: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.email, COALESCE(u.language, c.language) FROM memberships m
         JOIN users u ON u.id = m.user_id JOIN clients c ON c.id = m.client_id
         WHERE m.client_id = ? ORDER BY u.email",
    )
    .bind(threshold.client_id)
    .fetch_all(&mut *tx)
    .await?;
    let place = match &threshold.environment {
        Some(environment) => format!("{} / {environment}", threshold.project),
        None => threshold.project.clone(),
    };
    for (email, language) in &recipients {
        let explanation = threshold.explanations.for_language(language);
        let mail = AlertMail {
            client_name: client_name.clone(),
            place: place.clone(),
            threshold: threshold.name.clone(),
            firing: is_firing,
            count: firing.len().max(1),
            value: transition.value,
            unit: threshold.unit.clone(),
            comparison: threshold.comparator,
            line: threshold.value,
            for_secs: threshold.for_secs,
            since_ms: fired_at,
            lasted_secs,
            meaning: explanation.meaning,
            action: explanation.action,
            audience: explanation.audience,
            link: format!(
                "{}/clients/{client_slug}/thresholds#threshold-{}",
                context.public_base, threshold.id
            ),
        };
        let rendered = alert_mail(app::locale_from_tag(&[language.as_str()]), &mail);
        let new = NewMail {
            agency_id,
            client_id: Some(threshold.client_id),
            kind: if is_firing { "alert" } else { "resolved" },
            recipient: email.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        };
        enqueue(tx, &new, &context.host).await?;
    }
    Ok(recipients.len())
}
