//! The embedded SQLite database in the data directory.

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot open the database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("session store migration failed: {0}")]
    Sessions(sqlx::Error),
}

/// Opens (creating if needed) the database and applies every migration.
pub async fn open(data_dir: &Path, file: &Path) -> Result<SqlitePool, DbError> {
    std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
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
    Ok(pool)
}
