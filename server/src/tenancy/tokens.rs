//! API tokens: 256 random bits, shown once, stored as their SHA-256. A token
//! belongs to one client and reads only that client's data.

use super::{Result, TenancyError, now};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use subtle::ConstantTimeEq;

/// Tokens start with this, so they are recognisable in configs and secret scanners.
const PREFIX: &str = "vit_";

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Creates a token for a client; returns its id and the token (the only time it exists in clear).
pub async fn create(
    db: &SqlitePool,
    agency_id: i64,
    client_id: i64,
    name: &str,
    created_by: Option<i64>,
) -> Result<(i64, String)> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{PREFIX}{}", hex::encode(bytes));
    let id = sqlx::query_scalar(
        "INSERT INTO api_tokens (agency_id, client_id, name, token_hash, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(agency_id)
    .bind(client_id)
    .bind(name)
    .bind(hex::encode(hash(&token)))
    .bind(created_by)
    .bind(now())
    .fetch_one(db)
    .await?;
    Ok((id, token))
}

/// The client a presented token belongs to, if it is valid and not revoked.
pub async fn client_of(db: &SqlitePool, presented: &str) -> Result<i64> {
    let digest = hash(presented);
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("SELECT id, client_id, token_hash FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL")
            .bind(hex::encode(digest))
            .fetch_optional(db)
            .await?;
    let (id, client_id, stored) = row.ok_or(TenancyError::NotFound)?;
    let stored = hex::decode(stored).unwrap_or_default();
    if !bool::from(stored.as_slice().ct_eq(&digest)) {
        return Err(TenancyError::NotFound);
    }
    // Best effort: a failed bookkeeping write must not fail the request.
    let _ = sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
        .bind(now())
        .bind(id)
        .execute(db)
        .await;
    Ok(client_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::admin;

    #[tokio::test]
    async fn a_token_opens_its_client_until_revoked_and_only_its_hash_is_stored() {
        let db = crate::tenancy::test_db().await;
        let agency = admin::create_agency(&db, "ag", "Agency").await.unwrap();
        let client = admin::create_client(&db, "ag", "shop", "Shop", "en").await.unwrap();
        let (id, token) = create(&db, agency, client, "grafana", None).await.unwrap();
        assert!(token.starts_with("vit_") && token.len() == 4 + 64);
        assert_eq!(client_of(&db, &token).await.unwrap(), client);
        assert!(matches!(client_of(&db, "vit_wrong").await, Err(TenancyError::NotFound)));
        let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
            .fetch_one(&db)
            .await
            .unwrap();
        assert!(!stored.contains(&token[4..]));
        sqlx::query("UPDATE api_tokens SET revoked_at = 1 WHERE id = ?")
            .bind(id)
            .execute(&db)
            .await
            .unwrap();
        assert!(matches!(client_of(&db, &token).await, Err(TenancyError::NotFound)));
    }
}
