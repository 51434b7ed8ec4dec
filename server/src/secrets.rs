//! Secrets at rest. Every credential Vitrine stores (today the targets' configurations with
//! their basic-auth passwords and bearer tokens; later SMTP passwords, Stripe keys, webhook
//! URLs) is sealed with XChaCha20-Poly1305 under one key: `<data_dir>/secret.key` (0600,
//! made at the first start) or `VITRINE_SECRET_KEY`. A sealed value names what it belongs
//! to (its context, e.g. the client of a target) as associated data, so a value copied
//! into another client's row does not open. `vitrine secrets rotate` seals everything
//! under a new key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// What a sealed value starts with; the version of the format.
const PREFIX: &str = "sealed1:";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key {0}")]
    Key(String),
    #[error(
        "a stored secret does not open with the secret key: the key is not the one it was sealed with, or the value was changed"
    )]
    Open,
    #[error("no secret key is loaded")]
    NoKey,
    #[error("reading or writing the secret key {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The key that seals and opens stored secrets.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    pub fn generate() -> SecretKey {
        SecretKey(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// 32 bytes in standard base64, as in `secret.key` and `VITRINE_SECRET_KEY`.
    pub fn parse(text: &str) -> Result<SecretKey, SecretError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::Key("is not base64".into()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SecretError::Key("must be 32 bytes (44 characters of base64)".into()))?;
        Ok(SecretKey(bytes))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// `plain` sealed for `context`: `sealed1:` and base64 of the nonce and the ciphertext.
    pub fn seal(&self, plain: &str, context: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plain.as_bytes(),
            aad: context.as_bytes(),
        };
        // Encrypting into a Vec fails only when the message exceeds the cipher's limit
        // (256 GiB); stored values are far below.
        let sealed = self.cipher().encrypt(&nonce, payload).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(bytes))
    }

    /// The plain text of a value sealed for `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, SecretError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(SecretError::Open)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let plain = self
            .cipher()
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| SecretError::Open)?;
        String::from_utf8(plain).map_err(|_| SecretError::Open)
    }
}

pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("secret.key")
}

/// The key from `VITRINE_SECRET_KEY` when given, else from `secret.key`, made (0600) when missing.
pub fn load_or_create(data_dir: &Path, from_env: Option<&str>) -> Result<SecretKey, SecretError> {
    if let Some(text) = from_env {
        return SecretKey::parse(text).map_err(|e| match e {
            SecretError::Key(why) => SecretError::Key(format!("in VITRINE_SECRET_KEY {why}")),
            other => other,
        });
    }
    let path = key_file(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => SecretKey::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            write_key(&path, &key)?;
            tracing::info!(path = %path.display(), "made a new secret key: back it up, stored credentials cannot be read without it");
            Ok(key)
        }
        Err(source) => Err(SecretError::Io { path, source }),
    }
}

/// Writes the key readable by its owner only, replacing the file in one step.
pub fn write_key(path: &Path, key: &SecretKey) -> Result<(), SecretError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    };
    let partial = path.with_extension("key.new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(io)?;
    file.write_all(format!("{}\n", key.to_base64()).as_bytes())
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}

/// The process's key, loaded at start (`install`).
static KEY: RwLock<Option<SecretKey>> = RwLock::new(None);

pub fn install(key: SecretKey) {
    *KEY.write().unwrap_or_else(|p| p.into_inner()) = Some(key);
}

fn with_key<T>(f: impl FnOnce(&SecretKey) -> T) -> Result<T, SecretError> {
    let key = KEY.read().unwrap_or_else(|p| p.into_inner());
    match key.as_ref() {
        Some(key) => Ok(f(key)),
        // Unit tests store targets without a start: one fixed key serves them.
        None if cfg!(test) => Ok(f(&SecretKey([7; 32]))),
        None => Err(SecretError::NoKey),
    }
}

/// What a target's configuration is sealed for: its client.
pub fn target_context(client_id: i64) -> String {
    format!("targets.config client {client_id}")
}

/// HMAC-SHA256 of `message` under a key derived from the process's key for `context`: signs
/// links that work without a login (unsubscribing from mails).
pub fn mac(context: &str, message: &str) -> Result<[u8; 32], SecretError> {
    use hmac::{Hmac, Mac};
    type HmacSha256 = Hmac<sha2::Sha256>;
    fn sign(key: &[u8], data: &[u8]) -> Result<[u8; 32], SecretError> {
        // HMAC takes keys of any length: this never fails.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key).map_err(|e| SecretError::Key(e.to_string()))?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().into())
    }
    with_key(|key| sign(&sign(&key.0, context.as_bytes())?, message.as_bytes()))?
}

pub fn seal(plain: &str, context: &str) -> Result<String, SecretError> {
    with_key(|key| key.seal(plain, context))
}

pub fn open(sealed: &str, context: &str) -> Result<String, SecretError> {
    with_key(|key| key.open(sealed, context))?
}

/// Seals what is still stored in the clear (rows from before sealing existed); returns
/// how many. Run at every start, after the migrations.
pub async fn seal_stored(db: &SqlitePool) -> Result<usize, SecretError> {
    let rows: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, client_id, config FROM targets WHERE config NOT LIKE 'sealed1:%'")
            .fetch_all(db)
            .await?;
    for (id, client_id, config) in &rows {
        sqlx::query("UPDATE targets SET config = ? WHERE id = ?")
            .bind(seal(config, &target_context(*client_id))?)
            .bind(id)
            .execute(db)
            .await?;
    }
    Ok(rows.len())
}

/// A column that holds sealed values: its table, the column naming a row, and what a row's
/// value is sealed for (from the row's owner: its client, or its agency).
struct SealedColumn {
    table: &'static str,
    column: &'static str,
    row: &'static str,
    owner: &'static str,
    context: fn(i64) -> String,
}

const SEALED_COLUMNS: [SealedColumn; 5] = [
    SealedColumn {
        table: "targets",
        column: "config",
        row: "id",
        owner: "client_id",
        context: target_context,
    },
    SealedColumn {
        table: "channels",
        column: "target",
        row: "id",
        owner: "client_id",
        context: crate::notify::channels::context,
    },
    SealedColumn {
        table: "outbox",
        column: "http_url",
        row: "id",
        owner: "client_id",
        context: |_| crate::notify::outbox::HTTP_URL_CONTEXT.to_string(),
    },
    SealedColumn {
        table: "stripe_accounts",
        column: "secret_key",
        row: "agency_id",
        owner: "agency_id",
        context: crate::billing::stripe::keys_context,
    },
    SealedColumn {
        table: "stripe_accounts",
        column: "webhook_secret",
        row: "agency_id",
        owner: "agency_id",
        context: crate::billing::stripe::keys_context,
    },
];

/// Seals every stored secret again under `new`, in one transaction. The caller keeps the
/// new key (`write_key`) before, and makes it the key in use after.
pub async fn reseal_all(db: &SqlitePool, old: &SecretKey, new: &SecretKey) -> Result<usize, SecretError> {
    let mut tx = crate::db::write(db).await?;
    let mut count = 0;
    for sealed in &SEALED_COLUMNS {
        let (table, column, row, owner) = (sealed.table, sealed.column, sealed.row, sealed.owner);
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
            "SELECT {row}, COALESCE({owner}, 0), {column} FROM {table} WHERE {column} IS NOT NULL"
        ))
        .fetch_all(&mut *tx)
        .await?;
        for (id, client_id, value) in &rows {
            let context = (sealed.context)(*client_id);
            let plain = if is_sealed(value) {
                old.open(value, &context)?
            } else {
                value.clone()
            };
            sqlx::query(&format!("UPDATE {table} SET {column} = ? WHERE {row} = ?"))
                .bind(new.seal(&plain, &context))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        count += rows.len();
    }
    tx.commit().await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let key = SecretKey::generate();
        let sealed = key.seal("password: hunter2", "targets.config client 1");
        assert!(is_sealed(&sealed) && !sealed.contains("hunter2"), "{sealed}");
        assert_eq!(
            key.open(&sealed, "targets.config client 1").unwrap(),
            "password: hunter2"
        );
        assert!(matches!(
            key.open(&sealed, "targets.config client 2"),
            Err(SecretError::Open)
        ));
        assert!(matches!(
            SecretKey::generate().open(&sealed, "targets.config client 1"),
            Err(SecretError::Open)
        ));
        assert_ne!(
            sealed,
            key.seal("password: hunter2", "targets.config client 1"),
            "a fresh nonce each time"
        );
        let mut changed = sealed.clone().into_bytes();
        let last = changed.len() - 2;
        changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
        assert!(
            key.open(std::str::from_utf8(&changed).unwrap(), "targets.config client 1")
                .is_err()
        );
        for garbage in ["", "sealed1:", "sealed1:!!!", "plain text"] {
            assert!(key.open(garbage, "x").is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn keys_are_read_back_and_refused_when_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let made = load_or_create(dir.path(), None).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_file(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = load_or_create(dir.path(), None).unwrap();
        assert_eq!(made.0, again.0);
        let from_env = load_or_create(dir.path(), Some(&SecretKey::generate().to_base64())).unwrap();
        assert_ne!(made.0, from_env.0);
        let err = load_or_create(dir.path(), Some("too short")).unwrap_err();
        assert!(err.to_string().contains("VITRINE_SECRET_KEY"), "{err}");
        assert!(SecretKey::parse(&STANDARD.encode([1u8; 31])).is_err());
    }
}
