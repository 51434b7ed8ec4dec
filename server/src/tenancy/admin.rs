//! Operator actions from the command line and the demo seed. They act with
//! the operator's full authority, so they are not reachable over HTTP.

use super::model::{Email, Language, Name, NewPassword, Role, Slug};
use super::{Result, TenancyError, now, password};
use sqlx::SqlitePool;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{field}: {problem:?}")]
    Invalid {
        field: &'static str,
        problem: app::dto::FieldProblem,
    },
    #[error("{0} does not exist")]
    Missing(String),
    #[error("{0} exists already")]
    Exists(String),
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        AdminError::Tenancy(e.into())
    }
}

fn parse<T>(field: &'static str, raw: &str, f: fn(&str) -> Result<T, app::dto::FieldProblem>) -> Result<T, AdminError> {
    f(raw).map_err(|problem| AdminError::Invalid { field, problem })
}

async fn id_of(db: &SqlitePool, table: &'static str, slug: &str) -> Result<Option<i64>, AdminError> {
    let query = format!("SELECT id FROM {table} WHERE slug = ?");
    Ok(sqlx::query_scalar(&query).bind(slug).fetch_optional(db).await?)
}

pub async fn create_agency(db: &SqlitePool, slug: &str, name: &str) -> Result<i64, AdminError> {
    let slug = parse("slug", slug, Slug::parse)?;
    let name = parse("name", name, Name::parse)?;
    if id_of(db, "agencies", slug.as_str()).await?.is_some() {
        return Err(AdminError::Exists(format!("agency {slug}")));
    }
    Ok(
        sqlx::query_scalar("INSERT INTO agencies (slug, name, created_at) VALUES (?, ?, ?) RETURNING id")
            .bind(slug.as_str())
            .bind(name.as_str())
            .bind(now())
            .fetch_one(db)
            .await?,
    )
}

pub async fn create_client(
    db: &SqlitePool,
    agency: &str,
    slug: &str,
    name: &str,
    language: &str,
) -> Result<i64, AdminError> {
    let agency_id = id_of(db, "agencies", agency)
        .await?
        .ok_or_else(|| AdminError::Missing(format!("agency {agency}")))?;
    let slug = parse("slug", slug, Slug::parse)?;
    let name = parse("name", name, Name::parse)?;
    let language = parse("language", language, Language::parse)?;
    if id_of(db, "clients", slug.as_str()).await?.is_some() {
        return Err(AdminError::Exists(format!("client {slug}")));
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO clients (agency_id, slug, name, language, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(agency_id)
    .bind(slug.as_str())
    .bind(name.as_str())
    .bind(language.as_str())
    .bind(now())
    .fetch_one(db)
    .await?)
}

/// Where a new person belongs: the agency (agency roles) or one of its clients.
pub struct Placement<'a> {
    pub agency: &'a str,
    pub client: Option<&'a str>,
    pub role: Role,
}

pub async fn create_user(
    db: &SqlitePool,
    email: &str,
    password: &str,
    place: Placement<'_>,
) -> Result<i64, AdminError> {
    let email = parse("email", email, Email::parse)?;
    let password = NewPassword::parse(password).map_err(|problem| AdminError::Invalid {
        field: "password",
        problem,
    })?;
    let agency_id = id_of(db, "agencies", place.agency)
        .await?
        .ok_or_else(|| AdminError::Missing(format!("agency {}", place.agency)))?;
    let client_id = match place.client {
        Some(slug) => {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM clients WHERE slug = ? AND agency_id = ?")
                .bind(slug)
                .bind(agency_id)
                .fetch_optional(db)
                .await?;
            Some(id.ok_or_else(|| AdminError::Missing(format!("client {slug} of agency {}", place.agency)))?)
        }
        None => None,
    };
    if place.role.is_agency() == client_id.is_some() {
        return Err(AdminError::Invalid {
            field: "role",
            problem: app::dto::FieldProblem::InvalidChoice,
        });
    }
    let phc = password::hash(password.expose().to_string())
        .await
        .map_err(TenancyError::from)?;
    let mut tx = crate::db::write(db).await?;
    let user_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(email.as_str())
    .bind(phc)
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    let user_id = user_id.ok_or_else(|| AdminError::Exists(format!("user {email}")))?;
    sqlx::query("INSERT INTO memberships (user_id, agency_id, client_id, role) VALUES (?, ?, ?, ?)")
        .bind(user_id)
        .bind(agency_id)
        .bind(client_id)
        .bind(place.role.as_str())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Adds a project with its environments (used by the demo seed).
pub async fn create_project(
    db: &SqlitePool,
    client_id: i64,
    slug: &str,
    name: &str,
    environments: &[&str],
) -> Result<(), AdminError> {
    let slug = parse("slug", slug, Slug::parse)?;
    let name = parse("name", name, Name::parse)?;
    let mut tx = crate::db::write(db).await?;
    let (project_id, agency_id): (i64, i64) = sqlx::query_as(
        "INSERT INTO projects (agency_id, client_id, slug, name, created_at)
         SELECT agency_id, id, ?, ?, ? FROM clients WHERE id = ? RETURNING id, agency_id",
    )
    .bind(slug.as_str())
    .bind(name.as_str())
    .bind(now())
    .bind(client_id)
    .fetch_one(&mut *tx)
    .await?;
    for env in environments {
        let env = parse("environment", env, Slug::parse)?;
        sqlx::query(
            "INSERT INTO environments (agency_id, client_id, project_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(agency_id)
        .bind(client_id)
        .bind(project_id)
        .bind(env.as_str())
        .bind(now())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
