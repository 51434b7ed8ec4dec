//! The mails of a contract that starts running out: to the client's admins and the agency's
//! owners and admins, each in their language, through the outbox.

use super::Settings;
use super::stripe::BillingError;
use crate::notify::outbox::{NewMail, enqueue};
use sqlx::SqliteConnection;

/// Writes the mails saying that the client's add-ons stop at `ends_ms` (a failed payment, or a
/// cancelled subscription when `ended`), and that nothing is deleted.
pub async fn lapsing(
    tx: &mut SqliteConnection,
    client_id: i64,
    ended: bool,
    ends_ms: i64,
    settings: &Settings,
) -> Result<usize, BillingError> {
    let (agency_id, slug, name): (i64, String, String) =
        sqlx::query_as("SELECT agency_id, slug, name FROM clients WHERE id = ?")
            .bind(client_id)
            .fetch_one(&mut *tx)
            .await?;
    let items = super::catalogue::of_contract(&mut *tx, client_id).await?;
    let people: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT u.email, u.language, c.language FROM memberships m JOIN users u ON u.id = m.user_id
         JOIN clients c ON c.id = ?1
         WHERE (m.client_id = ?1 AND m.role = 'client_admin')
            OR (m.client_id IS NULL AND m.agency_id = c.agency_id AND m.role IN ('agency_owner', 'agency_admin'))
         ORDER BY m.id",
    )
    .bind(client_id)
    .fetch_all(&mut *tx)
    .await?;
    let date = jiff::Timestamp::from_millisecond(ends_ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let link = format!("{}/clients/{slug}/contract", settings.mail.public_base);
    for (email, language, client_language) in &people {
        let language = language.as_deref().unwrap_or(client_language);
        let locale = app::locale_from_tag(&[language]);
        let names: Vec<String> = items
            .iter()
            .filter(|item| item.kind == "addon")
            .map(|item| item.name(language).to_string())
            .collect();
        let mail = app::mail::contract_lapse_mail(locale, &name, ended, &date, &names, &link);
        let new = NewMail {
            agency_id,
            client_id: Some(client_id),
            kind: "billing",
            recipient: email.clone(),
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            ..NewMail::default()
        };
        enqueue(&mut *tx, &new, &settings.mail.host).await?;
    }
    Ok(people.len())
}
