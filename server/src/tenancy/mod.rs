//! Agencies, clients, projects, environments, people and what they may see.
//!
//! [`scope::Scope`] is the only way request handlers reach tenant data: it
//! takes the caller's identity and answers `NotFound` for anything the caller
//! may not see, exactly as for things that do not exist.

pub mod admin;
pub mod invites;
pub mod model;
pub mod password;
pub mod resets;
pub mod scope;
pub mod targets;
pub mod tokens;
pub mod totp;

use app::dto::{FieldProblem, FormState};

#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// Does not exist, or the caller may not see it (indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// The caller sees the object but their role does not allow the action.
    #[error("not allowed for this role")]
    Forbidden,
    /// The object exists already (a unique key of the table).
    #[error("already exists")]
    Duplicate,
    /// A form with problems; the values are kept so nothing typed is lost.
    #[error("invalid input")]
    Invalid(FormState),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("password hashing: {0}")]
    Hashing(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
}

pub type Result<T, E = TenancyError> = std::result::Result<T, E>;

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Parses the fields of a submitted form, collecting every problem at once.
pub struct FormCheck<'a> {
    submitted: &'a [(String, String)],
    state: FormState,
}

impl<'a> FormCheck<'a> {
    pub fn new(submitted: &'a [(String, String)]) -> FormCheck<'a> {
        // What the page shows again: never secrets.
        let kept = submitted
            .iter()
            .filter(|(name, _)| !name.starts_with("password") && name != "csrf")
            .cloned()
            .collect();
        let state = FormState {
            values: kept,
            problems: vec![],
        };
        FormCheck { submitted, state }
    }

    /// Parses one submitted field; remembers the problem if it fails.
    pub fn field<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, FieldProblem>) -> Option<T> {
        let raw = self
            .submitted
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str());
        match parse(raw) {
            Ok(value) => Some(value),
            Err(problem) => {
                self.problem(name, problem);
                None
            }
        }
    }

    pub fn problem(&mut self, name: &str, problem: FieldProblem) {
        self.state.problems.push((name.to_string(), problem));
    }

    /// The parsed values if every field was fine, else the form with its problems.
    pub fn finish<T>(self, parsed: impl FnOnce() -> Option<T>) -> Result<T> {
        match (self.state.has_problems(), parsed()) {
            (false, Some(value)) => Ok(value),
            _ => Err(TenancyError::Invalid(self.state)),
        }
    }

    /// The form with one more problem, for checks the database makes (uniqueness).
    pub fn fail(mut self, name: &str, problem: FieldProblem) -> TenancyError {
        self.problem(name, problem);
        TenancyError::Invalid(self.state)
    }
}

pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|e| e.is_unique_violation())
}

/// A fresh in-memory database with every migration applied.
#[cfg(test)]
pub async fn test_db() -> sqlx::SqlitePool {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .expect("in-memory sqlite");
    sqlx::migrate!("../migrations").run(&pool).await.expect("migrations");
    pool
}
