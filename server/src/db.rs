//! The embedded SQLite database in the data directory.

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot make {path} readable by its owner only: {source}")]
    Private { path: String, source: std::io::Error },
    #[error("cannot open the database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("session store migration failed: {0}")]
    Sessions(sqlx::Error),
}

/// Creates the data directory readable by its owner only (0700), or narrows an existing
/// one: it holds the database, the keys and the store.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// The database and its journal files readable by their owner only (0600).
fn private_files(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// A write transaction that takes SQLite's write lock at its start (`BEGIN IMMEDIATE`). Under
/// WAL, a deferred transaction that reads first and writes later fails at once with "database
/// is locked" when another connection wrote in between; this one waits up to `busy_timeout`
/// for the lock instead. Every transaction of the server writes, so every one starts here.
pub async fn write(db: &SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    db.begin_with("BEGIN IMMEDIATE").await
}

/// Opens (creating if needed) the database and applies every migration.
pub async fn open(data_dir: &Path, file: &Path) -> Result<SqlitePool, DbError> {
    private_dir(data_dir).map_err(|source| DbError::DataDir {
        path: data_dir.display().to_string(),
        source,
    })?;
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(|source| DbError::Open {
            path: file.display().to_string(),
            source,
        })?;
    sqlx::migrate!("../migrations").run(&pool).await?;
    tower_sessions_sqlx_store::SqliteStore::new(pool.clone())
        .migrate()
        .await
        .map_err(DbError::Sessions)?;
    private_files(file).map_err(|source| DbError::Private {
        path: file.display().to_string(),
        source,
    })?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::admin;

    async fn count(db: &SqlitePool, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(db)
            .await
            .unwrap()
    }

    /// Migration 0008 rebuilds `clients` so that a client's language may be French. It
    /// must not delete what belongs to the clients on the way (their foreign keys cascade),
    /// and must leave foreign keys enforced and pointing at the new table.
    #[tokio::test]
    async fn the_french_migration_keeps_what_belongs_to_a_client() {
        let before = tempfile::tempdir().unwrap();
        let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
        for entry in std::fs::read_dir(&all).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.as_str() < "0008_french.sql" {
                std::fs::copy(&path, before.path().join(&name)).unwrap();
            }
        }
        let options = SqliteConnectOptions::new().in_memory(true).foreign_keys(true);
        let db = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::migrate::Migrator::new(before.path())
            .await
            .unwrap()
            .run(&db)
            .await
            .unwrap();
        let french = sqlx::query("UPDATE clients SET language = 'fr'");
        admin::create_agency(&db, "ag", "Agency").await.unwrap();
        let shop = admin::create_client(&db, "ag", "shop", "Shop", "de").await.unwrap();
        admin::create_project(&db, shop, "web", "Web", &["live", "stage"])
            .await
            .unwrap();
        sqlx::query("INSERT INTO users (email, created_at) VALUES ('ann@shop.example', 0)")
            .execute(&db)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO memberships (user_id, agency_id, client_id, role)
             SELECT u.id, c.agency_id, c.id, 'client_admin' FROM users u, clients c",
        )
        .execute(&db)
        .await
        .unwrap();
        assert!(french.execute(&db).await.is_err(), "French is refused before 0008");

        sqlx::migrate!("../migrations").run(&db).await.unwrap();

        assert_eq!(count(&db, "clients").await, 1);
        assert_eq!(count(&db, "projects").await, 1);
        assert_eq!(count(&db, "environments").await, 2);
        assert_eq!(count(&db, "memberships").await, 1);
        let (language, retention): (String, i64) =
            sqlx::query_as("SELECT language, retention_days FROM clients WHERE slug = 'shop'")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!((language.as_str(), retention), ("de", 90));
        let enforced: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&db).await.unwrap();
        assert_eq!(enforced, 1, "foreign keys are on again after the migration");
        assert!(
            sqlx::query("PRAGMA foreign_key_check")
                .fetch_all(&db)
                .await
                .unwrap()
                .is_empty()
        );

        let bistro = admin::create_client(&db, "ag", "bistro", "Bistro", "fr").await.unwrap();
        let stored: String = sqlx::query_scalar("SELECT language FROM clients WHERE id = ?")
            .bind(bistro)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(stored, "fr");
        assert!(
            sqlx::query("UPDATE clients SET language = 'it'")
                .execute(&db)
                .await
                .is_err(),
            "the constraint still refuses other languages"
        );
        // The projects' foreign key follows the new table: deleting the client cascades.
        sqlx::query("DELETE FROM clients WHERE id = ?")
            .bind(shop)
            .execute(&db)
            .await
            .unwrap();
        assert_eq!(count(&db, "projects").await, 0);
        assert_eq!(count(&db, "environments").await, 0);
        assert_eq!(count(&db, "memberships").await, 0);
    }
}
