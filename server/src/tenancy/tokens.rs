//! API tokens: 256 random bits, shown once, stored as their SHA-256. A token
//! belongs to one client and reads only that client's data.
//!
//! The functions for people (list, create, revoke) take a [`ScopedClient`], which only the
//! scoped access layer hands out, so they never reach another client's tokens.

use super::model::{Name, Role};
use super::scope::{Caller, ScopedClient};
use super::{FormCheck, Result, TenancyError, now};
use app::dto::{ApiTokenRow, FieldProblem, TOKEN_EXPIRY_DAYS, TOKEN_SCOPES};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use subtle::ConstantTimeEq;

/// Tokens start with this, so they are recognisable in configs and secret scanners.
const PREFIX: &str = "vit_";

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What a new token is: its name, who made it, until when it works (seconds since the epoch;
/// `None`: until revoked) and what it may do besides reading (some of [`TOKEN_SCOPES`]).
pub struct NewToken<'a> {
    pub name: &'a str,
    pub created_by: Option<i64>,
    pub expires_at: Option<i64>,
    pub scopes: Vec<&'static str>,
}

/// Creates a token for a client; returns its id and the token (the only time it exists in
/// clear). A name the client's tokens in use have already is [`TenancyError::Duplicate`]: a
/// token is revoked by its name in the list.
pub async fn create(db: &SqlitePool, agency_id: i64, client_id: i64, new: &NewToken<'_>) -> Result<(i64, String)> {
    let name = new.name;
    let in_use: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE client_id = ? AND name = ? AND revoked_at IS NULL
                        AND (expires_at IS NULL OR expires_at > ?))",
    )
    .bind(client_id)
    .bind(name)
    .bind(now())
    .fetch_one(db)
    .await?;
    if in_use {
        return Err(TenancyError::Duplicate);
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{PREFIX}{}", hex::encode(bytes));
    let id = sqlx::query_scalar(
        "INSERT INTO api_tokens (agency_id, client_id, name, token_hash, created_by, created_at, expires_at, scopes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(agency_id)
    .bind(client_id)
    .bind(name)
    .bind(hex::encode(hash(&token)))
    .bind(new.created_by)
    .bind(now())
    .bind(new.expires_at)
    .bind(scopes_text(&new.scopes))
    .fetch_one(db)
    .await?;
    Ok((id, token))
}

/// When tokens were last used, kept in memory and written in one transaction every few
/// seconds ([`TokenUses::write`]): an API request writes nothing to the database.
#[derive(Default)]
pub struct TokenUses(std::sync::Mutex<std::collections::HashMap<i64, i64>>);

impl TokenUses {
    fn record(&self, token_id: i64, at: i64) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(token_id, at);
    }

    /// A use recorded but not written yet.
    fn pending(&self, token_id: i64) -> Option<i64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&token_id).copied()
    }

    /// Writes the uses recorded since the last call.
    pub async fn write(&self, db: &SqlitePool) -> Result<()> {
        let uses = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        if uses.is_empty() {
            return Ok(());
        }
        let mut tx = crate::db::write(db).await?;
        for (id, at) in uses {
            sqlx::query("UPDATE api_tokens SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes the recorded uses every `period`, for ever.
    pub async fn write_every(self: std::sync::Arc<Self>, db: SqlitePool, period: std::time::Duration) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.write(&db).await {
                tracing::warn!(error = %e, "recording API token use");
            }
        }
    }
}

/// The stored form of scopes: `read` and the others, space-separated.
fn scopes_text(scopes: &[&str]) -> String {
    std::iter::once("read")
        .chain(scopes.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The scopes besides `read` of a stored list, known ones only.
fn scopes_of(stored: &str) -> Vec<&'static str> {
    TOKEN_SCOPES
        .into_iter()
        .filter(|s| stored.split(' ').any(|t| t == *s))
        .collect()
}

/// Whose a presented token is and what it may do.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenOwner {
    pub agency_id: i64,
    pub client_id: i64,
    /// Besides reading: some of [`TOKEN_SCOPES`].
    pub scopes: Vec<&'static str>,
}

/// Who a presented token belongs to, if it is valid, not revoked and not expired; the use is
/// recorded in `uses`.
pub async fn client_of(db: &SqlitePool, presented: &str, uses: &TokenUses) -> Result<TokenOwner> {
    let digest = hash(presented);
    let row: Option<(i64, i64, i64, String, String)> = sqlx::query_as(
        "SELECT id, agency_id, client_id, token_hash, scopes FROM api_tokens
         WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
    )
    .bind(hex::encode(digest))
    .bind(now())
    .fetch_optional(db)
    .await?;
    let (id, agency_id, client_id, stored, scopes) = row.ok_or(TenancyError::NotFound)?;
    let stored = hex::decode(stored).unwrap_or_default();
    if !bool::from(stored.as_slice().ct_eq(&digest)) {
        return Err(TenancyError::NotFound);
    }
    uses.record(id, now());
    Ok(TokenOwner {
        agency_id,
        client_id,
        scopes: scopes_of(&scopes),
    })
}

/// Who may run any PromQL over a client's data, on the Explore page or with an API token (and so
/// manages the client's tokens): agency people and the client's admins. A token reads everything
/// of its client, more than a viewer's pages show.
pub fn may_query(role: Role) -> bool {
    role.is_agency() || role == Role::ClientAdmin
}

fn require_query_rights(caller: &Caller) -> Result<()> {
    if may_query(caller.role) {
        Ok(())
    } else {
        Err(TenancyError::Forbidden)
    }
}

/// The client's tokens, active ones first, newest first, with their last use (also one not
/// written yet). Never their hashes.
pub async fn list(
    db: &SqlitePool,
    uses: &TokenUses,
    caller: &Caller,
    client: &ScopedClient,
) -> Result<Vec<ApiTokenRow>> {
    require_query_rights(caller)?;
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        name: String,
        created_at: i64,
        created_by: Option<String>,
        last_used_at: Option<i64>,
        revoked_at: Option<i64>,
        expires_at: Option<i64>,
        scopes: String,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT t.id, t.name, t.created_at, u.email AS created_by, t.last_used_at, t.revoked_at, t.expires_at,
                t.scopes
         FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by
         WHERE t.client_id = ? AND t.agency_id = ?
         ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id DESC",
    )
    .bind(client.id)
    .bind(client.agency_id)
    .fetch_all(db)
    .await?;
    let ms = |secs: i64| secs.saturating_mul(1000);
    let now = now();
    Ok(rows
        .into_iter()
        .map(|row| ApiTokenRow {
            id: row.id,
            name: row.name,
            created_ms: ms(row.created_at),
            created_by: row.created_by,
            last_used_ms: row.last_used_at.max(uses.pending(row.id)).map(ms),
            revoked_ms: row.revoked_at.map(ms),
            expires_ms: row.expires_at.map(ms),
            expired: row.expires_at.is_some_and(|at| at <= now),
            scopes: scopes_of(&row.scopes).into_iter().map(str::to_string).collect(),
        })
        .collect())
}

/// The form's `expires_in_days`: empty for a token that works until revoked, or one of
/// [`TOKEN_EXPIRY_DAYS`].
fn parse_expiry_days(raw: &str) -> std::result::Result<Option<i64>, FieldProblem> {
    match raw.trim() {
        "" => Ok(None),
        days => days
            .parse::<i64>()
            .ok()
            .filter(|days| TOKEN_EXPIRY_DAYS.contains(days))
            .map(Some)
            .ok_or(FieldProblem::InvalidChoice),
    }
}

/// Creates a token named by the form's `name` field that expires after the form's
/// `expires_in_days` and may what the form's `scope` fields (checkboxes, each one of
/// [`TOKEN_SCOPES`]) say; returns the name and the token (shown once).
pub async fn create_for(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    form: &[(String, String)],
) -> Result<(String, String)> {
    require_query_rights(caller)?;
    let mut check = FormCheck::new(form);
    let name = check.field("name", Name::parse);
    let days = check.field("expires_in_days", parse_expiry_days);
    let scopes = check.field("scope", |_| {
        form.iter()
            .filter(|(field, _)| field == "scope")
            .map(|(_, value)| {
                TOKEN_SCOPES
                    .into_iter()
                    .find(|s| s == value)
                    .ok_or(FieldProblem::InvalidChoice)
            })
            .collect::<std::result::Result<Vec<_>, _>>()
    });
    let (name, days, scopes) = check.finish(|| Some((name?, days?, scopes?)))?;
    let new = NewToken {
        name: name.as_str(),
        created_by: Some(caller.user_id),
        expires_at: days.map(|days| now() + days * 86_400),
        scopes,
    };
    match create(db, client.agency_id, client.id, &new).await {
        Ok((_, token)) => Ok((name.as_str().to_string(), token)),
        Err(TenancyError::Duplicate) => Err(FormCheck::new(form).fail("name", FieldProblem::Taken)),
        Err(e) => Err(e),
    }
}

/// Revokes a token of the client (at once: [`client_of`] refuses it from now on) and returns its
/// name. A token of another client is `NotFound`, exactly like a missing one; revoking twice
/// keeps the first time.
pub async fn revoke(db: &SqlitePool, caller: &Caller, client: &ScopedClient, id: i64) -> Result<String> {
    require_query_rights(caller)?;
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?)
         WHERE id = ? AND client_id = ? AND agency_id = ? RETURNING name",
    )
    .bind(now())
    .bind(id)
    .bind(client.id)
    .bind(client.agency_id)
    .fetch_optional(db)
    .await?;
    name.ok_or(TenancyError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::admin;
    use crate::tenancy::scope::Scope;

    fn read_only(name: &str, expires_at: Option<i64>) -> NewToken<'_> {
        NewToken {
            name,
            created_by: None,
            expires_at,
            scopes: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_token_opens_its_client_until_revoked_and_only_its_hash_is_stored() {
        let db = crate::tenancy::test_db().await;
        let agency = admin::create_agency(&db, "ag", "Agency").await.unwrap();
        let client = admin::create_client(&db, "ag", "shop", "Shop", "en").await.unwrap();
        let (id, token) = create(&db, agency, client, &read_only("grafana", None)).await.unwrap();
        assert!(token.starts_with("vit_") && token.len() == 4 + 64);
        assert_eq!(
            client_of(&db, &token, &TokenUses::default()).await.unwrap().client_id,
            client
        );
        assert!(matches!(
            client_of(&db, "vit_wrong", &TokenUses::default()).await,
            Err(TenancyError::NotFound)
        ));
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
        assert!(matches!(
            client_of(&db, &token, &TokenUses::default()).await,
            Err(TenancyError::NotFound)
        ));
        // A name is free again once its token is revoked; in use, it is refused.
        create(&db, agency, client, &read_only("grafana", None)).await.unwrap();
        assert!(matches!(
            create(&db, agency, client, &read_only("grafana", None)).await,
            Err(TenancyError::Duplicate)
        ));
    }

    #[tokio::test]
    async fn a_token_stops_working_when_it_expires_and_its_name_is_free_then() {
        let db = crate::tenancy::test_db().await;
        let agency = admin::create_agency(&db, "ag", "Agency").await.unwrap();
        let client = admin::create_client(&db, "ag", "shop", "Shop", "en").await.unwrap();
        let (_, later) = create(&db, agency, client, &read_only("later", Some(now() + 60)))
            .await
            .unwrap();
        assert_eq!(
            client_of(&db, &later, &TokenUses::default()).await.unwrap().client_id,
            client
        );
        let (_, expired) = create(&db, agency, client, &read_only("grafana", Some(now() - 1)))
            .await
            .unwrap();
        assert!(matches!(
            client_of(&db, &expired, &TokenUses::default()).await,
            Err(TenancyError::NotFound)
        ));
        create(&db, agency, client, &read_only("grafana", None)).await.unwrap();
    }

    #[test]
    fn a_token_expires_after_one_of_the_offered_lifetimes_or_never() {
        assert_eq!(parse_expiry_days(""), Ok(None));
        assert_eq!(parse_expiry_days("90"), Ok(Some(90)));
        for wrong in ["0", "-30", "7", "forever", "99999999999999999999"] {
            assert_eq!(parse_expiry_days(wrong), Err(FieldProblem::InvalidChoice), "{wrong}");
        }
    }

    async fn person(db: &SqlitePool, email: &str, client: Option<&str>, role: Role) -> Caller {
        let place = admin::Placement {
            agency: "ag",
            client,
            role,
        };
        let id = admin::create_user(db, email, "a long enough password", place)
            .await
            .unwrap();
        Caller::load(db, id).await.unwrap().unwrap()
    }

    fn form(name: &str) -> Vec<(String, String)> {
        vec![("name".to_string(), name.to_string())]
    }

    #[tokio::test]
    async fn a_token_writes_silences_only_when_made_so() {
        let db = crate::tenancy::test_db().await;
        admin::create_agency(&db, "ag", "Agency").await.unwrap();
        admin::create_client(&db, "ag", "alpha", "Alpha", "en").await.unwrap();
        let ann = person(&db, "ann@alpha.de", Some("alpha"), Role::ClientAdmin).await;
        let alpha = Scope::new(&db, &ann).client("alpha").await.unwrap();
        let uses = TokenUses::default();
        let mut writer = form("amtool");
        writer.push(("scope".into(), "silences:write".into()));
        let (_, written) = create_for(&db, &ann, &alpha, &writer).await.unwrap();
        assert_eq!(
            client_of(&db, &written, &uses).await.unwrap().scopes,
            ["silences:write"]
        );
        let listed = list(&db, &uses, &ann, &alpha).await.unwrap();
        assert_eq!(listed[0].scopes, ["silences:write"]);
        let mut wrong = form("admin");
        wrong.push(("scope".into(), "everything:write".into()));
        assert!(matches!(
            create_for(&db, &ann, &alpha, &wrong).await,
            Err(TenancyError::Invalid(state)) if state.problem("scope") == Some(FieldProblem::InvalidChoice)
        ));
    }

    #[tokio::test]
    async fn admins_manage_their_clients_tokens_and_nobody_reaches_another_clients() {
        let db = crate::tenancy::test_db().await;
        admin::create_agency(&db, "ag", "Agency").await.unwrap();
        admin::create_client(&db, "ag", "alpha", "Alpha", "en").await.unwrap();
        admin::create_client(&db, "ag", "beta", "Beta", "en").await.unwrap();
        let boss = person(&db, "boss@ag.de", None, Role::AgencyStaff).await;
        let ann = person(&db, "ann@alpha.de", Some("alpha"), Role::ClientAdmin).await;
        let vic = person(&db, "vic@alpha.de", Some("alpha"), Role::ClientViewer).await;
        let alpha = Scope::new(&db, &ann).client("alpha").await.unwrap();
        let beta = Scope::new(&db, &boss).client("beta").await.unwrap();

        let (name, token) = create_for(&db, &ann, &alpha, &form(" grafana ")).await.unwrap();
        assert_eq!(name, "grafana");
        let uses = TokenUses::default();
        let owner = client_of(&db, &token, &uses).await.unwrap();
        assert_eq!((owner.client_id, owner.scopes.len()), (alpha.id, 0));
        assert!(matches!(
            create_for(&db, &ann, &alpha, &form("grafana")).await,
            Err(TenancyError::Invalid(state)) if state.problem("name") == Some(FieldProblem::Taken)
        ));
        let (_, beta_token) = create_for(&db, &boss, &beta, &form("ci")).await.unwrap();
        create_for(&db, &boss, &beta, &form("grafana")).await.unwrap();
        assert!(matches!(
            create_for(&db, &ann, &alpha, &form("  ")).await,
            Err(TenancyError::Invalid(state)) if state.problem("name").is_some()
        ));

        let listed = list(&db, &uses, &ann, &alpha).await.unwrap();
        assert_eq!(listed.len(), 1, "only alpha's token: {listed:?}");
        assert_eq!(listed[0].created_by.as_deref(), Some("ann@alpha.de"));
        assert!(listed[0].last_used_ms.is_some() && listed[0].revoked_ms.is_none());
        // Written in one go later, the use stays.
        uses.write(&db).await.unwrap();
        let listed = list(&db, &TokenUses::default(), &ann, &alpha).await.unwrap();
        assert!(listed[0].last_used_ms.is_some());
        let beta_id = list(&db, &TokenUses::default(), &boss, &beta).await.unwrap()[0].id;

        // A viewer of alpha sees the client but not its tokens.
        let vic_alpha = Scope::new(&db, &vic).client("alpha").await.unwrap();
        assert!(matches!(
            list(&db, &TokenUses::default(), &vic, &vic_alpha).await,
            Err(TenancyError::Forbidden)
        ));
        assert!(matches!(
            create_for(&db, &vic, &vic_alpha, &form("x")).await,
            Err(TenancyError::Forbidden)
        ));
        assert!(matches!(
            revoke(&db, &vic, &vic_alpha, listed[0].id).await,
            Err(TenancyError::Forbidden)
        ));

        // Beta's token id under alpha is not found, like an id that does not exist.
        assert!(matches!(
            revoke(&db, &ann, &alpha, beta_id).await,
            Err(TenancyError::NotFound)
        ));
        assert!(matches!(
            revoke(&db, &ann, &alpha, i64::MAX).await,
            Err(TenancyError::NotFound)
        ));
        assert!(
            client_of(&db, &beta_token, &TokenUses::default()).await.is_ok(),
            "beta's token still works"
        );

        assert_eq!(revoke(&db, &ann, &alpha, listed[0].id).await.unwrap(), "grafana");
        assert!(matches!(
            client_of(&db, &token, &TokenUses::default()).await,
            Err(TenancyError::NotFound)
        ));
        let first = list(&db, &TokenUses::default(), &ann, &alpha).await.unwrap()[0].revoked_ms;
        assert!(first.is_some());
        assert_eq!(revoke(&db, &ann, &alpha, listed[0].id).await.unwrap(), "grafana");
        assert_eq!(
            list(&db, &TokenUses::default(), &ann, &alpha).await.unwrap()[0].revoked_ms,
            first
        );
    }
}
