//! Password hashing with argon2id, off the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// At most one argon2 run per core at a time (each holds 19 MiB): a burst of logins
/// queues here instead of taking the memory and every core.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Hashed once per process so that a login for an unknown e-mail costs the
/// same as one for a known e-mail: the response time does not reveal accounts.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_blocking("vitrine dummy password"));

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        // Hashing with default parameters and a fresh salt only fails on
        // impossible parameter combinations.
        .unwrap_or_default()
}

/// Hashes a new password (argon2id, PHC string).
pub async fn hash(password: String) -> Result<String, tokio::task::JoinError> {
    // The semaphore is never closed, so acquiring only waits.
    let _turn = HASHING.acquire().await;
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await
}

/// Checks a password against a stored hash, or against a dummy hash when
/// there is none, so that both paths take the same time.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let _turn = HASHING.acquire().await;
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let matches = PasswordHash::new(&phc)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        known && matches
    })
    .await
    .unwrap_or(false)
}

/// Computes the dummy hash now rather than during the first login.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(phc.clone())).await);
        assert!(!verify("wrong".into(), Some(phc)).await);
        assert!(!verify("vitrine dummy password".into(), None).await);
        assert!(!verify("x".into(), Some("not a phc string".into())).await);
    }
}
