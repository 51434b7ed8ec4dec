//! "Forgot your password?": a single-use link that expires, mailed through the outbox in the
//! transaction that makes it. Asking answers the same for known and unknown addresses, so the
//! form tells nobody who has an account. The token is 256 random bits, only its SHA-256 is
//! stored; using it sets the password, raises the person's session generation (every session
//! ends) and uses up every other open link of the person.

use super::invites::token_hash;
use super::model::NewPassword;
use super::{Result, TenancyError, now, password};
use crate::notify::alert::MailContext;
use crate::notify::outbox::{NewMail, enqueue};
use rand::RngCore;
use sqlx::SqlitePool;

/// Makes a reset link for the person with this address, if there is one, and writes its mail
/// (in the person's language, else English); `true` when a mail was written.
pub async fn request(db: &SqlitePool, email: &str, ttl_secs: i64, base: &MailContext) -> Result<bool> {
    #[derive(sqlx::FromRow)]
    struct Person {
        id: i64,
        email: String,
        language: Option<String>,
        agency_id: i64,
        client_id: Option<i64>,
    }
    let person: Option<Person> = sqlx::query_as(
        "SELECT u.id, u.email, u.language, m.agency_id, m.client_id FROM users u
         JOIN memberships m ON m.user_id = u.id WHERE u.email = ? COLLATE NOCASE",
    )
    .bind(email.trim())
    .fetch_optional(db)
    .await?;
    let Some(Person {
        id: user_id,
        email,
        language,
        agency_id,
        client_id,
    }) = person
    else {
        return Ok(false);
    };
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let link = format!("{}/password/reset/{token}", base.public_base);
    let locale = app::locale_from_tag(&[language.as_deref().unwrap_or("en")]);
    let mail = app::mail::reset_mail(locale, &link, ttl_secs / 60);
    let mut tx = crate::db::write(db).await?;
    sqlx::query("INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(user_id)
        .bind(token_hash(&token))
        .bind(now())
        .bind(now().saturating_add(ttl_secs))
        .execute(&mut *tx)
        .await?;
    let new = NewMail {
        agency_id,
        client_id,
        private_link: Some(link),
        kind: "password-reset",
        recipient: email,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        ..NewMail::default()
    };
    enqueue(&mut tx, &new, &base.host).await?;
    tx.commit().await?;
    Ok(true)
}

/// The address a usable (unused, unexpired) link is for.
pub async fn find(db: &SqlitePool, token: &str) -> Result<String> {
    let email: Option<String> = sqlx::query_scalar(
        "SELECT u.email FROM password_resets r JOIN users u ON u.id = r.user_id
         WHERE r.token_hash = ? AND r.used_at IS NULL AND r.expires_at > ?",
    )
    .bind(token_hash(token))
    .bind(now())
    .fetch_optional(db)
    .await?;
    email.ok_or(TenancyError::NotFound)
}

/// Sets the password from the form (`password`, `password_confirm`); the link works once, and
/// every session of the person ends.
pub async fn reset(db: &SqlitePool, token: &str, form: &[(String, String)]) -> Result<()> {
    let password = NewPassword::from_form(form)?;
    let phc = password::hash(password.expose().to_string()).await?;
    let mut tx = crate::db::write(db).await?;
    let user_id: Option<i64> = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
         RETURNING user_id",
    )
    .bind(now())
    .bind(token_hash(token))
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    let user_id = user_id.ok_or(TenancyError::NotFound)?;
    sqlx::query("UPDATE users SET password_hash = ?, session_generation = session_generation + 1 WHERE id = ?")
        .bind(&phc)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL")
        .bind(now())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::admin;

    #[tokio::test]
    async fn a_link_is_mailed_to_a_known_address_only_and_works_once() {
        let db = crate::tenancy::test_db().await;
        admin::create_agency(&db, "ag", "Agency").await.unwrap();
        admin::create_client(&db, "ag", "shop", "Shop", "de").await.unwrap();
        let place = admin::Placement {
            agency: "ag",
            client: Some("shop"),
            role: crate::tenancy::model::Role::ClientAdmin,
        };
        admin::create_user(&db, "ann@shop.de", "a long enough password", place)
            .await
            .unwrap();
        let base = MailContext::new("https://v.example");
        assert!(!request(&db, "nobody@shop.de", 3600, &base).await.unwrap());
        assert!(request(&db, "Ann@Shop.de", 3600, &base).await.unwrap());
        let (text, link): (String, String) =
            sqlx::query_as("SELECT body_text, private_link FROM outbox WHERE kind = 'password-reset'")
                .fetch_one(&db)
                .await
                .unwrap();
        assert!(text.contains(&link), "{text}");
        let token = link.rsplit('/').next().unwrap().to_string();
        assert_eq!(find(&db, &token).await.unwrap(), "ann@shop.de");
        let form: Vec<(String, String)> = [
            ("password", "a brand new passphrase"),
            ("password_confirm", "a brand new passphrase"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        reset(&db, &token, &form).await.unwrap();
        assert!(matches!(reset(&db, &token, &form).await, Err(TenancyError::NotFound)));
        assert!(matches!(find(&db, &token).await, Err(TenancyError::NotFound)));
        // An expired link does nothing.
        assert!(request(&db, "ann@shop.de", -1, &base).await.unwrap());
        let expired: String = sqlx::query_scalar("SELECT private_link FROM outbox ORDER BY id DESC LIMIT 1")
            .fetch_one(&db)
            .await
            .unwrap();
        let expired = expired.rsplit('/').next().unwrap().to_string();
        assert!(matches!(find(&db, &expired).await, Err(TenancyError::NotFound)));
    }
}
