//! E-mail subscribers of a status page, with double opt-in: a sign-up gets the same answer
//! for known and new addresses and sends one mail (a confirmation link valid 24 hours, or,
//! for an address already confirmed, the link to manage it); unconfirmed addresses are
//! forgotten after 7 days. Confirmed subscribers get every incident's news (or only that of
//! the components they chose) through the durable outbox, each mail with RFC 8058's
//! one-click unsubscribe and a link to manage the subscription. Links are signed, so no
//! token is stored.

use super::page::Published;
use crate::notify::alert::MailContext;
use crate::notify::outbox::{self, NewMail};
use crate::tenancy::model::Email;
use app::Locale;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::SqlitePool;
use subtle::ConstantTimeEq;

const MAC_CONTEXT: &str = "status subscriber";
/// How long a confirmation link works.
pub const CONFIRM_HOURS: i64 = 24;
/// How long an unconfirmed address is kept.
pub const UNCONFIRMED_DAYS: i64 = 7;

fn signature(message: &str) -> Option<String> {
    let mac = crate::secrets::mac(MAC_CONTEXT, message).ok()?;
    Some(URL_SAFE_NO_PAD.encode(&mac[..18]))
}

fn verify_signature(message: &str, presented: &str) -> bool {
    signature(message).is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(presented.as_bytes())))
}

/// The token of a confirmation link: `id.expires.signature`.
pub fn confirm_token(id: i64, expires_ms: i64) -> Option<String> {
    Some(format!(
        "{id}.{expires_ms}.{}",
        signature(&format!("confirm {id} {expires_ms}"))?
    ))
}

/// The subscriber a confirmation token names, if it is signed and not expired.
pub fn verify_confirm(token: &str, now_ms: i64) -> Option<i64> {
    let mut parts = token.split('.');
    let id: i64 = parts.next()?.parse().ok()?;
    let expires: i64 = parts.next()?.parse().ok()?;
    let presented = parts.next()?;
    (parts.next().is_none() && expires > now_ms && verify_signature(&format!("confirm {id} {expires}"), presented))
        .then_some(id)
}

/// The token of a subscriber's manage and unsubscribe links: `id.signature`.
pub fn manage_token(id: i64) -> Option<String> {
    Some(format!("{id}.{}", signature(&format!("manage {id}"))?))
}

pub fn verify_manage(token: &str) -> Option<i64> {
    let (id, presented) = token.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    verify_signature(&format!("manage {id}"), presented).then_some(id)
}

/// A subscriber of a page.
#[derive(Clone, Debug)]
pub struct Subscriber {
    pub id: i64,
    /// The components chosen; empty: all.
    pub components: Vec<i64>,
}

fn parse_components(raw: &str) -> Vec<i64> {
    raw.split_whitespace().filter_map(|id| id.parse().ok()).collect()
}

fn join_components(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")
}

/// A subscriber of this client.
pub async fn get(db: &SqlitePool, client_id: i64, id: i64) -> Result<Option<Subscriber>, sqlx::Error> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, components FROM subscribers WHERE id = ? AND client_id = ?")
            .bind(id)
            .bind(client_id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(id, components)| Subscriber {
        id,
        components: parse_components(&components),
    }))
}

/// Signs up `email` (checked by the caller) for the page: a new or unconfirmed address gets the
/// confirmation link, a confirmed one the link to manage it. Both through the outbox.
pub async fn sign_up(
    db: &SqlitePool,
    page: &Published,
    email: &Email,
    components: &[i64],
    locale: Locale,
    mail: &MailContext,
) -> Result<(), sqlx::Error> {
    let (base, host) = (mail.public_base.as_str(), mail.host.as_str());
    let now = crate::store::now_ms();
    let language = app::language_tag(locale);
    let mut tx = crate::db::write(db).await?;
    let (id, confirmed): (i64, Option<i64>) = sqlx::query_as(
        "INSERT INTO subscribers (agency_id, client_id, email, language, components, created_ms)
         SELECT agency_id, id, ?, ?, ?, ? FROM clients WHERE id = ?
         ON CONFLICT (client_id, email) DO UPDATE SET
             language = CASE WHEN confirmed_ms IS NULL THEN excluded.language ELSE language END,
             components = CASE WHEN confirmed_ms IS NULL THEN excluded.components ELSE components END
         RETURNING id, confirmed_ms",
    )
    .bind(email.as_str())
    .bind(language)
    .bind(join_components(components))
    .bind(now)
    .bind(page.client_id)
    .fetch_one(&mut *tx)
    .await?;
    let title = app::status::page_title(locale, &page.name);
    let page_url = format!("{base}/status/{}", page.slug);
    let (mail, link) = match confirmed {
        Some(_) => {
            let link = format!("{page_url}/subscription/{}", manage_token(id).unwrap_or_default());
            (app::mail::subscription_known_mail(locale, &title, &link), link)
        }
        None => {
            let expires = now + CONFIRM_HOURS * 3_600_000;
            let link = format!(
                "{page_url}/subscribe/confirm/{}",
                confirm_token(id, expires).unwrap_or_default()
            );
            (
                app::mail::subscription_confirm_mail(locale, &title, &link, CONFIRM_HOURS),
                link,
            )
        }
    };
    let agency_id: i64 = sqlx::query_scalar("SELECT agency_id FROM clients WHERE id = ?")
        .bind(page.client_id)
        .fetch_one(&mut *tx)
        .await?;
    outbox::enqueue(
        &mut tx,
        &NewMail {
            agency_id,
            client_id: Some(page.client_id),
            kind: "status_subscription",
            recipient: email.as_str().to_string(),
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            // The agency's outbox page must not show a link that confirms or manages for them.
            private_link: Some(link),
            ..NewMail::default()
        },
        host,
    )
    .await?;
    tx.commit().await
}

/// Confirms a subscriber of this client; `false` when there is none (forgotten meanwhile).
pub async fn confirm(db: &SqlitePool, client_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE subscribers SET confirmed_ms = COALESCE(confirmed_ms, ?) WHERE id = ? AND client_id = ?")
            .bind(crate::store::now_ms())
            .bind(id)
            .bind(client_id)
            .execute(db)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets which components a subscriber follows (empty: all).
pub async fn set_components(db: &SqlitePool, client_id: i64, id: i64, components: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE subscribers SET components = ? WHERE id = ? AND client_id = ?")
        .bind(join_components(components))
        .bind(id)
        .bind(client_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets a subscriber.
pub async fn unsubscribe(db: &SqlitePool, client_id: i64, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM subscribers WHERE id = ? AND client_id = ?")
        .bind(id)
        .bind(client_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Queues the news of an incident (its latest update) for every confirmed subscriber of the
/// client who follows one of its components (or all), in each one's language.
/// Nothing is sent while the page is not published.
pub async fn announce(
    db: &SqlitePool,
    client_id: i64,
    incident_id: i64,
    context: &MailContext,
) -> Result<usize, sqlx::Error> {
    let (base, host) = (context.public_base.as_str(), context.host.as_str());
    let Some(page) = super::page::published_client(db, client_id).await? else {
        return Ok(0);
    };
    let incidents = super::incidents::of_client(db, client_id, false, 0).await?;
    let Some(incident) = incidents.iter().find(|i| i.id == incident_id) else {
        return Ok(0);
    };
    let Some(update) = incident.updates.first() else {
        return Ok(0);
    };
    let names: std::collections::HashMap<i64, String> = super::components::load(db, Some(client_id))
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let zone = jiff::tz::TimeZone::get(&page.settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = |ms: i64| super::page::local_time(&zone, ms);
    let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT s.id, c.agency_id, s.email, s.language, s.components FROM subscribers s JOIN clients c ON c.id = s.client_id
         WHERE s.client_id = ? AND s.confirmed_ms IS NOT NULL",
    )
    .bind(page.client_id)
    .fetch_all(db)
    .await?;
    let affected: Vec<i64> = incident.components.iter().map(|(id, _)| *id).collect();
    let page_url = format!("{base}/status/{}", page.slug);
    let mut tx = crate::db::write(db).await?;
    let mut queued = 0;
    for (id, agency_id, email, language, components) in rows {
        let chosen = parse_components(&components);
        if !chosen.is_empty() && !affected.is_empty() && !chosen.iter().any(|c| affected.contains(c)) {
            continue;
        }
        let locale = app::locale_from_tag(&[language.as_str()]);
        let token = manage_token(id).unwrap_or_default();
        let unsubscribe = format!("{page_url}/unsubscribe/{token}");
        let affected_text: Vec<String> = incident
            .components
            .iter()
            .filter_map(|(component, state)| {
                Some(format!(
                    "{} ({})",
                    names.get(component)?,
                    app::status::state_text(locale, *state)
                ))
            })
            .collect();
        let mail = app::mail::incident_mail(
            locale,
            &app::mail::IncidentMail {
                page: app::status::page_title(locale, &page.name),
                title: incident.title.pick(&language, &page.language),
                status: app::status::incident_status_text(locale, update.status).to_string(),
                body: update.body.pick(&language, &page.language),
                affected: affected_text.join(", "),
                at: format!("{} ({})", local(update.created_ms), page.settings.time_zone),
                page_link: format!("{page_url}?lang={language}"),
                manage_link: format!("{page_url}/subscription/{token}"),
                unsubscribe_link: unsubscribe.clone(),
            },
        );
        outbox::enqueue(
            &mut tx,
            &NewMail {
                agency_id,
                client_id: Some(page.client_id),
                kind: "status_incident",
                recipient: email,
                subject: mail.subject,
                text: mail.text,
                html: mail.html,
                unsubscribe_url: Some(unsubscribe),
                ..NewMail::default()
            },
            host,
        )
        .await?;
        queued += 1;
    }
    tx.commit().await?;
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_signed_and_a_confirmation_expires() {
        let token = confirm_token(7, 2_000).unwrap();
        assert_eq!(verify_confirm(&token, 1_000), Some(7));
        assert_eq!(verify_confirm(&token, 2_000), None, "expired");
        assert_eq!(verify_confirm(&token.replace("7.", "8."), 1_000), None);
        assert_eq!(
            verify_confirm(&token.replace(".2000.", ".9000."), 1_000),
            None,
            "a later expiry is not signed"
        );
        let manage = manage_token(7).unwrap();
        assert_eq!(verify_manage(&manage), Some(7));
        assert_eq!(verify_manage(&manage.replacen('7', "8", 1)), None);
        assert_eq!(verify_manage("7"), None);
        assert_eq!(verify_manage(&token), None, "a confirmation is no manage link");
    }
}
