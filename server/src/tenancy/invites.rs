//! Single-use invitation links. The token is 256 random bits, only its
//! SHA-256 is stored; using it creates the person and marks it used in one
//! transaction.

use super::model::{Email, NewPassword, Role};
use super::scope::ScopedClient;
use super::{Result, TenancyError, now, password};
use crate::notify::alert::MailContext;
use crate::notify::outbox::{NewMail, enqueue};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes an invitation and, in the same transaction, its mail to the invited address (in the
/// client's language) with the link; returns the token.
pub(super) async fn create(
    db: &SqlitePool,
    client: &ScopedClient,
    email: &Email,
    role: Role,
    created_by: Option<i64>,
    ttl_secs: u64,
    base: &MailContext,
) -> Result<String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let created = now();
    let mut tx = crate::db::write(db).await?;
    let (client_name, language): (String, String) = sqlx::query_as("SELECT name, language FROM clients WHERE id = ?")
        .bind(client.id)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO invites (agency_id, client_id, email, role, token_hash, created_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(client.agency_id)
    .bind(client.id)
    .bind(email.as_str())
    .bind(role.as_str())
    .bind(token_hash(&token))
    .bind(created_by)
    .bind(created)
    .bind(created.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX)))
    .execute(&mut *tx)
    .await?;
    let link = format!("{}/invite/{token}", base.public_base);
    let locale = app::locale_from_tag(&[language.as_str()]);
    let days = i64::try_from(ttl_secs / 86_400).unwrap_or(i64::MAX).max(1);
    let mail = app::mail::invitation_mail(locale, &client_name, &link, days);
    let new = NewMail {
        agency_id: client.agency_id,
        client_id: Some(client.id),
        private_link: Some(link),
        kind: "invitation",
        recipient: email.as_str().to_string(),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        ..NewMail::default()
    };
    enqueue(&mut tx, &new, &base.host).await?;
    tx.commit().await?;
    Ok(token)
}

/// What the acceptance page shows about a usable invitation.
pub struct OpenInvite {
    pub email: String,
    pub client_name: String,
}

/// The invitation behind a token if it is unused and not expired.
pub async fn find(db: &SqlitePool, token: &str) -> Result<OpenInvite> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT i.email, c.name FROM invites i JOIN clients c ON c.id = i.client_id
         WHERE i.token_hash = ? AND i.used_at IS NULL AND i.expires_at > ?",
    )
    .bind(token_hash(token))
    .bind(now())
    .fetch_optional(db)
    .await?;
    let (email, client_name) = row.ok_or(TenancyError::NotFound)?;
    Ok(OpenInvite { email, client_name })
}

/// Sets the password and creates the membership; the token works once.
pub async fn accept(db: &SqlitePool, token: &str, form: &[(String, String)]) -> Result<()> {
    let password = NewPassword::from_form(form)?;
    // Hash before the transaction so the write lock is held only briefly.
    let phc = password::hash(password.expose().to_string()).await?;
    let mut tx = crate::db::write(db).await?;
    let invite: Option<(i64, i64, String, String)> = sqlx::query_as(
        "UPDATE invites SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
         RETURNING agency_id, client_id, email, role",
    )
    .bind(now())
    .bind(token_hash(token))
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    let (agency_id, client_id, email, role) = invite.ok_or(TenancyError::NotFound)?;
    let user_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(&email)
    .bind(&phc)
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    // Someone registered the address meanwhile: the invitation cannot be used.
    let user_id = user_id.ok_or(TenancyError::NotFound)?;
    sqlx::query("INSERT INTO memberships (user_id, agency_id, client_id, role) VALUES (?, ?, ?, ?)")
        .bind(user_id)
        .bind(agency_id)
        .bind(client_id)
        .bind(role)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
