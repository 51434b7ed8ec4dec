//! The scoped access layer: every read and write of tenant data by a signed-in
//! person goes through [`Scope`], which filters by the caller's agency and, for
//! client people, by their client.

use super::model::{Email, Language, Name, Role, Slug};
use super::{FormCheck, Result, TenancyError, invites, is_unique_violation, now};
use app::dto::{ClientSummary, EnvironmentSummary, FieldProblem, ProjectSummary};
use sqlx::SqlitePool;

/// Who is making the request, loaded from the session for every request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: i64,
    pub email: String,
    pub language: Option<String>,
    pub agency_id: i64,
    /// Set for client people: the one client they belong to.
    pub client_id: Option<i64>,
    pub client_slug: Option<String>,
    pub role: Role,
}

impl Caller {
    pub async fn load(db: &SqlitePool, user_id: i64) -> Result<Option<Caller>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            user_id: i64,
            email: String,
            language: Option<String>,
            agency_id: i64,
            client_id: Option<i64>,
            client_slug: Option<String>,
            role: String,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT u.id AS user_id, u.email, u.language, m.agency_id, m.client_id, c.slug AS client_slug, m.role
             FROM users u
             JOIN memberships m ON m.user_id = u.id
             LEFT JOIN clients c ON c.id = m.client_id
             WHERE u.id = ?",
        )
        .bind(user_id)
        .fetch_optional(db)
        .await?;
        Ok(row.and_then(|row| {
            Some(Caller {
                role: Role::parse(&row.role)?,
                user_id: row.user_id,
                email: row.email,
                language: row.language,
                agency_id: row.agency_id,
                client_id: row.client_id,
                client_slug: row.client_slug,
            })
        }))
    }

    /// The page a person lands on after login.
    pub fn home(&self) -> String {
        match &self.client_slug {
            Some(slug) => format!("/clients/{slug}"),
            None => "/agency".to_string(),
        }
    }
}

/// A client the caller may see. Only [`Scope`] creates these.
#[derive(Clone, Debug)]
pub struct ScopedClient {
    pub id: i64,
    pub agency_id: i64,
    pub slug: String,
    _scoped: (),
}

/// A project of a [`ScopedClient`]. Only [`Scope`] creates these.
#[derive(Clone, Debug)]
pub struct ScopedProject {
    pub id: i64,
    pub client_id: i64,
    pub agency_id: i64,
    pub slug: String,
    _scoped: (),
}

pub struct Scope<'a> {
    db: &'a SqlitePool,
    caller: &'a Caller,
}

impl<'a> Scope<'a> {
    pub fn new(db: &'a SqlitePool, caller: &'a Caller) -> Scope<'a> {
        Scope { db, caller }
    }

    pub async fn agency_name(&self) -> Result<String> {
        let (name,): (String,) = sqlx::query_as("SELECT name FROM agencies WHERE id = ?")
            .bind(self.caller.agency_id)
            .fetch_one(self.db)
            .await?;
        Ok(name)
    }

    /// A client by slug, if the caller may see it.
    pub async fn client(&self, slug: &str) -> Result<ScopedClient> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, slug FROM clients
             WHERE slug = ? AND agency_id = ? AND (? IS NULL OR id = ?)",
        )
        .bind(slug)
        .bind(self.caller.agency_id)
        .bind(self.caller.client_id)
        .bind(self.caller.client_id)
        .fetch_optional(self.db)
        .await?;
        let (id, slug) = row.ok_or(TenancyError::NotFound)?;
        Ok(ScopedClient {
            id,
            agency_id: self.caller.agency_id,
            slug,
            _scoped: (),
        })
    }

    /// A project of a visible client.
    pub async fn project(&self, client: &ScopedClient, slug: &str) -> Result<ScopedProject> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, slug FROM projects WHERE client_id = ? AND agency_id = ? AND slug = ?")
                .bind(client.id)
                .bind(client.agency_id)
                .bind(slug)
                .fetch_optional(self.db)
                .await?;
        let (id, slug) = row.ok_or(TenancyError::NotFound)?;
        Ok(ScopedProject {
            id,
            client_id: client.id,
            agency_id: client.agency_id,
            slug,
            _scoped: (),
        })
    }

    /// Every visible client (or just `only`) with its projects and environments, in three queries.
    pub async fn summaries(&self, only: Option<&ScopedClient>) -> Result<Vec<ClientSummary>> {
        let agency = self.caller.agency_id;
        let mine = self.caller.client_id;
        let only = only.map(|c| c.id);
        let filter = "agency_id = ? AND (? IS NULL OR client_id = ?) AND (? IS NULL OR client_id = ?)";
        let clients: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, slug, name, language FROM clients
             WHERE agency_id = ? AND (? IS NULL OR id = ?) AND (? IS NULL OR id = ?) ORDER BY name, id",
        )
        .bind(agency)
        .bind(mine)
        .bind(mine)
        .bind(only)
        .bind(only)
        .fetch_all(self.db)
        .await?;
        let projects: Vec<(i64, i64, String, String)> = sqlx::query_as(&format!(
            "SELECT id, client_id, slug, name FROM projects WHERE {filter} ORDER BY name, id"
        ))
        .bind(agency)
        .bind(mine)
        .bind(mine)
        .bind(only)
        .bind(only)
        .fetch_all(self.db)
        .await?;
        let environments: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT project_id, name FROM environments WHERE {filter} ORDER BY name, id"
        ))
        .bind(agency)
        .bind(mine)
        .bind(mine)
        .bind(only)
        .bind(only)
        .fetch_all(self.db)
        .await?;
        Ok(clients
            .into_iter()
            .map(|(client_id, slug, name, language)| ClientSummary {
                slug,
                name,
                language,
                projects: projects
                    .iter()
                    .filter(|p| p.1 == client_id)
                    .map(|(project_id, _, slug, name)| ProjectSummary {
                        slug: slug.clone(),
                        name: name.clone(),
                        environments: environments
                            .iter()
                            .filter(|e| e.0 == *project_id)
                            .map(|(_, name)| EnvironmentSummary { name: name.clone() })
                            .collect(),
                    })
                    .collect(),
            })
            .collect())
    }

    /// The caller's own language setting; nobody else's.
    pub async fn set_own_language(&self, language: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE users SET language = ? WHERE id = ?")
            .bind(language)
            .bind(self.caller.user_id)
            .execute(self.db)
            .await?;
        Ok(())
    }

    fn require(&self, allowed: bool) -> Result<()> {
        if allowed { Ok(()) } else { Err(TenancyError::Forbidden) }
    }

    pub async fn create_client(&self, form: &[(String, String)]) -> Result<ScopedClient> {
        self.require(self.caller.role.may_create_clients())?;
        let mut check = FormCheck::new(form);
        let name = check.field("name", Name::parse);
        let slug = check.field("slug", Slug::parse);
        let language = check.field("language", Language::parse);
        let (name, slug, language) = check.finish(|| Some((name?, slug?, language?)))?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO clients (agency_id, slug, name, language, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(self.caller.agency_id)
        .bind(slug.as_str())
        .bind(name.as_str())
        .bind(language.as_str())
        .bind(now())
        .fetch_one(self.db)
        .await;
        match inserted {
            Ok(id) => Ok(ScopedClient {
                id,
                agency_id: self.caller.agency_id,
                slug: slug.to_string(),
                _scoped: (),
            }),
            Err(e) if is_unique_violation(&e) => Err(FormCheck::new(form).fail("slug", FieldProblem::Taken)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn create_project(&self, client: &ScopedClient, form: &[(String, String)]) -> Result<()> {
        self.require(self.caller.role.may_manage_projects())?;
        let mut check = FormCheck::new(form);
        let name = check.field("name", Name::parse);
        let slug = check.field("slug", Slug::parse);
        let (name, slug) = check.finish(|| Some((name?, slug?)))?;
        let inserted =
            sqlx::query("INSERT INTO projects (agency_id, client_id, slug, name, created_at) VALUES (?, ?, ?, ?, ?)")
                .bind(client.agency_id)
                .bind(client.id)
                .bind(slug.as_str())
                .bind(name.as_str())
                .bind(now())
                .execute(self.db)
                .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(FormCheck::new(form).fail("slug", FieldProblem::Taken)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn create_environment(&self, project: &ScopedProject, form: &[(String, String)]) -> Result<()> {
        self.require(self.caller.role.may_manage_projects())?;
        let mut check = FormCheck::new(form);
        let name = check.field("name", Slug::parse);
        let name = check.finish(|| name)?;
        let inserted = sqlx::query(
            "INSERT INTO environments (agency_id, client_id, project_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(project.agency_id)
        .bind(project.client_id)
        .bind(project.id)
        .bind(name.as_str())
        .bind(now())
        .execute(self.db)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(FormCheck::new(form).fail("name", FieldProblem::Taken)),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates a single-use invitation; returns the address and the secret token.
    pub async fn create_invite(
        &self,
        client: &ScopedClient,
        form: &[(String, String)],
        ttl_secs: u64,
    ) -> Result<(Email, String)> {
        self.require(self.caller.role.may_invite())?;
        let mut check = FormCheck::new(form);
        let email = check.field("email", Email::parse);
        let role = check.field("role", |raw| match raw {
            "admin" => Ok(Role::ClientAdmin),
            "viewer" | "" => Ok(Role::ClientViewer),
            _ => Err(FieldProblem::InvalidChoice),
        });
        let (email, role) = check.finish(|| Some((email?, role?)))?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
            .bind(email.as_str())
            .fetch_optional(self.db)
            .await?;
        if exists.is_some() {
            return Err(FormCheck::new(form).fail("email", FieldProblem::Taken));
        }
        let token = invites::create(self.db, client, &email, role, Some(self.caller.user_id), ttl_secs).await?;
        Ok((email, token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::admin::{self, Placement};
    use crate::tenancy::test_db;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    async fn caller(db: &SqlitePool, email: &str, client: Option<&str>, role: Role) -> Caller {
        let id = admin::create_user(
            db,
            email,
            "a long enough password",
            Placement {
                agency: "ag",
                client,
                role,
            },
        )
        .await
        .unwrap();
        Caller::load(db, id).await.unwrap().unwrap()
    }

    async fn two_clients() -> SqlitePool {
        let db = test_db().await;
        admin::create_agency(&db, "ag", "Agency").await.unwrap();
        let a = admin::create_client(&db, "ag", "alpha", "Alpha", "en").await.unwrap();
        let b = admin::create_client(&db, "ag", "beta", "Beta", "de").await.unwrap();
        admin::create_project(&db, a, "shop", "Shop", &["live"]).await.unwrap();
        admin::create_project(&db, b, "shop", "Shop B", &["live", "stage"])
            .await
            .unwrap();
        db
    }

    #[tokio::test]
    async fn a_client_person_sees_only_their_client() {
        let db = two_clients().await;
        let ann = caller(&db, "ann@alpha.de", Some("alpha"), Role::ClientAdmin).await;
        let scope = Scope::new(&db, &ann);
        assert_eq!(ann.home(), "/clients/alpha");
        let alpha = scope.client("alpha").await.unwrap();
        assert!(matches!(scope.client("beta").await, Err(TenancyError::NotFound)));
        assert!(matches!(scope.client("gamma").await, Err(TenancyError::NotFound)));
        let all = scope.summaries(None).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].slug, "alpha");
        assert_eq!(all[0].projects[0].environments.len(), 1);
        // A client admin invites but does not set up projects.
        assert!(matches!(
            scope
                .create_project(&alpha, &form(&[("name", "X"), ("slug", "x")]))
                .await,
            Err(TenancyError::Forbidden)
        ));
        assert!(matches!(
            scope.create_client(&form(&[("name", "X"), ("slug", "x")])).await,
            Err(TenancyError::Forbidden)
        ));
        // The language setting changes the caller's own row only.
        let boss = caller(&db, "boss@ag.de", None, Role::AgencyOwner).await;
        scope.set_own_language(Some("de")).await.unwrap();
        assert_eq!(
            Caller::load(&db, ann.user_id)
                .await
                .unwrap()
                .unwrap()
                .language
                .as_deref(),
            Some("de")
        );
        assert_eq!(Caller::load(&db, boss.user_id).await.unwrap().unwrap().language, None);
    }

    #[tokio::test]
    async fn agency_people_see_every_client_of_their_agency_only() {
        let db = two_clients().await;
        admin::create_agency(&db, "other", "Other").await.unwrap();
        admin::create_client(&db, "other", "omega", "Omega", "en")
            .await
            .unwrap();
        let boss = caller(&db, "boss@ag.de", None, Role::AgencyOwner).await;
        let scope = Scope::new(&db, &boss);
        let slugs: Vec<String> = scope
            .summaries(None)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.slug)
            .collect();
        assert_eq!(slugs, ["alpha", "beta"]);
        assert!(matches!(scope.client("omega").await, Err(TenancyError::NotFound)));
        let beta = scope.client("beta").await.unwrap();
        assert_eq!(
            scope.summaries(Some(&beta)).await.unwrap()[0].projects[0]
                .environments
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn forms_report_every_problem_and_keep_the_values() {
        let db = two_clients().await;
        let boss = caller(&db, "boss@ag.de", None, Role::AgencyAdmin).await;
        let scope = Scope::new(&db, &boss);
        let Err(TenancyError::Invalid(state)) = scope
            .create_client(&form(&[("name", ""), ("slug", "Bad Slug"), ("csrf", "t")]))
            .await
        else {
            panic!("expected form problems")
        };
        assert_eq!(state.problem("name"), Some(app::dto::FieldProblem::Required));
        assert_eq!(state.problem("slug"), Some(app::dto::FieldProblem::InvalidSlug));
        assert_eq!(state.value("slug"), "Bad Slug");
        assert_eq!(state.value("csrf"), "", "the token is not echoed");
        let Err(TenancyError::Invalid(state)) = scope
            .create_client(&form(&[("name", "Again"), ("slug", "alpha")]))
            .await
        else {
            panic!("expected a taken slug")
        };
        assert_eq!(state.problem("slug"), Some(app::dto::FieldProblem::Taken));
        let alpha = scope.client("alpha").await.unwrap();
        let project = scope.project(&alpha, "shop").await.unwrap();
        scope
            .create_environment(&project, &form(&[("name", "stage")]))
            .await
            .unwrap();
        assert!(matches!(
            scope.create_environment(&project, &form(&[("name", "stage")])).await,
            Err(TenancyError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn an_invitation_works_once() {
        let db = two_clients().await;
        let boss = caller(&db, "boss@ag.de", None, Role::AgencyStaff).await;
        let scope = Scope::new(&db, &boss);
        let alpha = scope.client("alpha").await.unwrap();
        let (email, token) = scope
            .create_invite(&alpha, &form(&[("email", "New@Alpha.de"), ("role", "viewer")]), 3600)
            .await
            .unwrap();
        assert_eq!(email.as_str(), "new@alpha.de");
        assert_eq!(invites::find(&db, &token).await.unwrap().client_name, "Alpha");
        let mismatch = form(&[("password", "a long password"), ("password_confirm", "another one")]);
        assert!(matches!(
            invites::accept(&db, &token, &mismatch).await,
            Err(TenancyError::Invalid(_))
        ));
        let ok = form(&[("password", "a long password"), ("password_confirm", "a long password")]);
        invites::accept(&db, &token, &ok).await.unwrap();
        assert!(matches!(
            invites::accept(&db, &token, &ok).await,
            Err(TenancyError::NotFound)
        ));
        assert!(matches!(invites::find(&db, &token).await, Err(TenancyError::NotFound)));
        // The address has an account now: inviting it again is refused.
        assert!(matches!(
            scope
                .create_invite(&alpha, &form(&[("email", "new@alpha.de")]), 3600)
                .await,
            Err(TenancyError::Invalid(_))
        ));
        // An expired invitation cannot be used.
        let (_, expired) = scope
            .create_invite(&alpha, &form(&[("email", "late@alpha.de")]), 0)
            .await
            .unwrap();
        assert!(matches!(
            invites::accept(&db, &expired, &ok).await,
            Err(TenancyError::NotFound)
        ));
    }
}
