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
