//! The scoped access layer: every read and write of tenant data by a signed-in
//! person goes through [`Scope`], which filters by the caller's agency and, for
//! client people, by their client.

use super::model::{Email, Language, Name, Role, Slug};
use super::{FormCheck, Result, TenancyError, invites, is_unique_violation, now, targets};
use app::dto::{ClientSummary, EnvironmentSummary, FieldProblem, ProjectSummary};
use sqlx::SqlitePool;
use vitrine_scrape_config::ScrapeTarget;

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
    /// Sessions signed in under an older generation are over (see [`Caller::end_sessions`]).
    pub session_generation: i64,
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
            session_generation: i64,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT u.id AS user_id, u.email, u.language, m.agency_id, m.client_id, c.slug AS client_slug, m.role,
                    u.session_generation
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
                session_generation: row.session_generation,
            })
        }))
    }

    /// Ends every session of this person, on every device; returns the new generation, under
    /// which a session signed in from now on lives.
    pub async fn end_sessions(&self, db: &SqlitePool) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "UPDATE users SET session_generation = session_generation + 1 WHERE id = ? RETURNING session_generation",
        )
        .bind(self.user_id)
        .fetch_one(db)
        .await?)
    }

    /// Sets a new password (hashed with argon2id) and ends every session of this person.
    pub async fn change_password(&self, db: &SqlitePool, phc: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "UPDATE users SET password_hash = ?, session_generation = session_generation + 1
             WHERE id = ? RETURNING session_generation",
        )
        .bind(phc)
        .bind(self.user_id)
        .fetch_one(db)
        .await?)
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

/// An environment of a [`ScopedProject`]. Only [`Scope`] creates these.
#[derive(Clone, Debug)]
pub struct ScopedEnvironment {
    pub id: i64,
    pub project_id: i64,
    pub client_id: i64,
    pub agency_id: i64,
    pub name: String,
    /// For headings: the names of the project and the client.
    pub project_name: String,
    pub client_name: String,
    _scoped: (),
}

/// A scrape target of a [`ScopedEnvironment`]. Only [`Scope`] creates these.
#[derive(Clone, Debug)]
pub struct ScopedTarget {
    pub id: i64,
    pub environment_id: i64,
    pub client_id: i64,
    pub job: String,
    /// The address without credentials.
    pub url: String,
    _scoped: (),
}

/// A target as listed on the targets page.
#[derive(Clone, Debug)]
pub struct TargetListing {
    pub id: i64,
    pub job: String,
    /// The address without credentials.
    pub url: String,
    /// How often it is scraped (read from the stored configuration), e.g. `15s`.
    pub interval: Option<String>,
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

    /// An environment (by name) of a visible project.
    pub async fn environment(&self, project: &ScopedProject, name: &str) -> Result<ScopedEnvironment> {
        let row: Option<(i64, String, String, String)> = sqlx::query_as(
            "SELECT e.id, e.name, p.name, c.name
             FROM environments e JOIN projects p ON p.id = e.project_id JOIN clients c ON c.id = e.client_id
             WHERE e.project_id = ? AND e.client_id = ? AND e.agency_id = ? AND e.name = ?",
        )
        .bind(project.id)
        .bind(project.client_id)
        .bind(project.agency_id)
        .bind(name)
        .fetch_optional(self.db)
        .await?;
        let (id, name, project_name, client_name) = row.ok_or(TenancyError::NotFound)?;
        Ok(ScopedEnvironment {
            id,
            project_id: project.id,
            client_id: project.client_id,
            agency_id: project.agency_id,
            name,
            project_name,
            client_name,
            _scoped: (),
        })
    }

    /// The targets of a visible environment, by job and address.
    pub async fn targets(&self, environment: &ScopedEnvironment) -> Result<Vec<TargetListing>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, job, url, config FROM targets
             WHERE environment_id = ? AND client_id = ? AND agency_id = ? ORDER BY job, url, id",
        )
        .bind(environment.id)
        .bind(environment.client_id)
        .bind(environment.agency_id)
        .fetch_all(self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, job, url, config)| TargetListing {
                id,
                job,
                url,
                // Only the interval leaves this function; the configuration holds credentials.
                interval: targets::open_config(environment.client_id, &config)
                    .ok()
                    .and_then(|config| crate::scrape::manager::load_target(&config).ok())
                    .map(|target| target.interval().to_string()),
            })
            .collect())
    }

    /// A target (by the id in the address) of a visible environment; a target of any
    /// other environment, project or client is `NotFound`, exactly like a missing one.
    pub async fn target(&self, environment: &ScopedEnvironment, id: i64) -> Result<ScopedTarget> {
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT id, job, url FROM targets WHERE id = ? AND environment_id = ? AND client_id = ? AND agency_id = ?",
        )
        .bind(id)
        .bind(environment.id)
        .bind(environment.client_id)
        .bind(environment.agency_id)
        .fetch_optional(self.db)
        .await?;
        let (id, job, url) = row.ok_or(TenancyError::NotFound)?;
        Ok(ScopedTarget {
            id,
            environment_id: environment.id,
            client_id: environment.client_id,
            job,
            url,
            _scoped: (),
        })
    }

    /// Whether the caller may add, test and delete targets (agency people); `Forbidden` otherwise.
    pub fn may_manage_targets(&self) -> Result<()> {
        self.require(self.caller.role.may_manage_projects())
    }

    /// Stores a target in an environment; `Duplicate` when the environment has the
    /// same job and address already.
    pub async fn create_target(&self, environment: &ScopedEnvironment, target: &ScrapeTarget) -> Result<ScopedTarget> {
        self.may_manage_targets()?;
        let place = targets::Place {
            agency_id: environment.agency_id,
            client_id: environment.client_id,
            project_id: environment.project_id,
            environment_id: environment.id,
        };
        let id = targets::insert(self.db, place, target, None).await?;
        Ok(ScopedTarget {
            id,
            environment_id: environment.id,
            client_id: environment.client_id,
            job: target.job().to_string(),
            url: target.url().as_str().to_string(),
            _scoped: (),
        })
    }

    /// Removes a target.
    pub async fn delete_target(&self, target: &ScopedTarget) -> Result<()> {
        self.may_manage_targets()?;
        sqlx::query("DELETE FROM targets WHERE id = ? AND environment_id = ? AND client_id = ?")
            .bind(target.id)
            .bind(target.environment_id)
            .bind(target.client_id)
            .execute(self.db)
            .await?;
        Ok(())
    }

    /// The stored configuration of a target (a prometheus.yml document with its
    /// credentials), for a test scrape. Never for display.
    pub async fn target_config(&self, target: &ScopedTarget) -> Result<String> {
        self.may_manage_targets()?;
        let config: Option<String> =
            sqlx::query_scalar("SELECT config FROM targets WHERE id = ? AND environment_id = ? AND client_id = ?")
                .bind(target.id)
                .bind(target.environment_id)
                .bind(target.client_id)
                .fetch_optional(self.db)
                .await?;
        targets::open_config(target.client_id, &config.ok_or(TenancyError::NotFound)?)
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
        let projects: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE client_id = ?")
            .bind(client.id)
            .fetch_one(self.db)
            .await?;
        use crate::billing::entitlements::{Refused, require_more};
        match require_more(self.db, client.id, crate::billing::catalogue::Limit::Projects, projects).await {
            Ok(()) => {}
            Err(Refused::NotEntitled(_)) => return Err(FormCheck::new(form).fail("name", FieldProblem::LimitReached)),
            Err(Refused::Database(e)) => return Err(e.into()),
        }
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
        base: &crate::notify::alert::MailContext,
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
        let token = invites::create(self.db, client, &email, role, Some(self.caller.user_id), ttl_secs, base).await?;
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
            .create_invite(
                &alpha,
                &form(&[("email", "New@Alpha.de"), ("role", "viewer")]),
                3600,
                &crate::notify::alert::MailContext::new("https://v.example"),
            )
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
                .create_invite(
                    &alpha,
                    &form(&[("email", "new@alpha.de")]),
                    3600,
                    &crate::notify::alert::MailContext::new("https://v.example")
                )
                .await,
            Err(TenancyError::Invalid(_))
        ));
        // An expired invitation cannot be used.
        let (_, expired) = scope
            .create_invite(
                &alpha,
                &form(&[("email", "late@alpha.de")]),
                0,
                &crate::notify::alert::MailContext::new("https://v.example"),
            )
            .await
            .unwrap();
        assert!(matches!(
            invites::accept(&db, &expired, &ok).await,
            Err(TenancyError::NotFound)
        ));
    }

    fn scrape_target(job: &str, url: &str) -> ScrapeTarget {
        let url = vitrine_scrape_config::ScrapeUrl::parse(url).unwrap();
        ScrapeTarget::builder(job, url).build().unwrap()
    }

    #[tokio::test]
    async fn targets_belong_to_one_environment_of_one_client() {
        let db = two_clients().await;
        let boss = caller(&db, "boss@ag.de", None, Role::AgencyStaff).await;
        let scope = Scope::new(&db, &boss);
        let alpha = scope.client("alpha").await.unwrap();
        let beta = scope.client("beta").await.unwrap();
        let alpha_live = scope
            .environment(&scope.project(&alpha, "shop").await.unwrap(), "live")
            .await
            .unwrap();
        let beta_shop = scope.project(&beta, "shop").await.unwrap();
        let beta_live = scope.environment(&beta_shop, "live").await.unwrap();
        let beta_stage = scope.environment(&beta_shop, "stage").await.unwrap();
        assert_eq!(
            (beta_live.client_name.as_str(), beta_live.project_name.as_str()),
            ("Beta", "Shop B")
        );
        // Alpha's shop has no stage environment; the name of beta's does not help.
        let alpha_shop = scope.project(&alpha, "shop").await.unwrap();
        assert!(matches!(
            scope.environment(&alpha_shop, "stage").await,
            Err(TenancyError::NotFound)
        ));

        let ours = scope
            .create_target(&alpha_live, &scrape_target("node", "http://10.0.0.1:9100/metrics"))
            .await
            .unwrap();
        let theirs = scope
            .create_target(&beta_live, &scrape_target("node", "http://10.0.0.1:9100/metrics"))
            .await
            .unwrap();
        // The same job and address twice in one environment is refused.
        assert!(matches!(
            scope
                .create_target(&alpha_live, &scrape_target("node", "http://10.0.0.1:9100/metrics"))
                .await,
            Err(TenancyError::Duplicate)
        ));
        let listed = scope.targets(&alpha_live).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].id, listed[0].job.as_str(), listed[0].url.as_str()),
            (ours.id, "node", "http://10.0.0.1:9100/metrics")
        );
        assert_eq!(listed[0].interval.as_deref(), Some("15s"));
        assert_eq!(scope.target(&alpha_live, ours.id).await.unwrap().job, "node");
        // Another client's target, by its id, under our environment: not found.
        assert!(matches!(
            scope.target(&alpha_live, theirs.id).await,
            Err(TenancyError::NotFound)
        ));
        // The same client, another environment: not found either.
        assert!(matches!(
            scope.target(&beta_stage, theirs.id).await,
            Err(TenancyError::NotFound)
        ));
        assert!(matches!(
            scope.target(&alpha_live, i64::MAX).await,
            Err(TenancyError::NotFound)
        ));

        // A person of alpha never reaches beta's environment, so never its targets.
        let ann = caller(&db, "ann@alpha.de", Some("alpha"), Role::ClientAdmin).await;
        let ann_scope = Scope::new(&db, &ann);
        assert!(matches!(ann_scope.client("beta").await, Err(TenancyError::NotFound)));

        scope.delete_target(&ours).await.unwrap();
        assert!(scope.targets(&alpha_live).await.unwrap().is_empty());
        assert_eq!(
            scope.targets(&beta_live).await.unwrap().len(),
            1,
            "beta's target is untouched"
        );
    }

    #[tokio::test]
    async fn client_people_see_targets_but_do_not_change_them() {
        let db = two_clients().await;
        let boss = caller(&db, "boss@ag.de", None, Role::AgencyOwner).await;
        let scope = Scope::new(&db, &boss);
        let alpha = scope.client("alpha").await.unwrap();
        let live = scope
            .environment(&scope.project(&alpha, "shop").await.unwrap(), "live")
            .await
            .unwrap();
        let target = scope
            .create_target(&live, &scrape_target("shop", "https://shop.example/metrics"))
            .await
            .unwrap();
        assert!(scope.target_config(&target).await.unwrap().contains("shop.example"));
        // Stored sealed; a row from before sealing existed is sealed at the next start.
        let stored = || sqlx::query_scalar::<_, String>("SELECT config FROM targets WHERE id = ?").bind(target.id);
        let sealed = stored().fetch_one(&db).await.unwrap();
        assert!(
            crate::secrets::is_sealed(&sealed) && !sealed.contains("shop.example"),
            "{sealed}"
        );
        let plain = scope.target_config(&target).await.unwrap();
        sqlx::query("UPDATE targets SET config = ? WHERE id = ?")
            .bind(&plain)
            .bind(target.id)
            .execute(&db)
            .await
            .unwrap();
        assert_eq!(crate::secrets::seal_stored(&db).await.unwrap(), 1);
        assert!(crate::secrets::is_sealed(&stored().fetch_one(&db).await.unwrap()));
        assert_eq!(scope.target_config(&target).await.unwrap(), plain);
        assert_eq!(
            crate::secrets::seal_stored(&db).await.unwrap(),
            0,
            "nothing left in the clear"
        );

        for role in [Role::ClientViewer, Role::ClientAdmin] {
            let person = caller(&db, &format!("{}@alpha.de", role.as_str()), Some("alpha"), role).await;
            let mine = Scope::new(&db, &person);
            let alpha = mine.client("alpha").await.unwrap();
            let live = mine
                .environment(&mine.project(&alpha, "shop").await.unwrap(), "live")
                .await
                .unwrap();
            let listed = mine.targets(&live).await.unwrap();
            assert_eq!(listed.len(), 1, "{role:?} lists the targets");
            let seen = mine.target(&live, target.id).await.unwrap();
            assert!(matches!(mine.may_manage_targets(), Err(TenancyError::Forbidden)));
            assert!(matches!(
                mine.create_target(&live, &scrape_target("x", "http://x.example/"))
                    .await,
                Err(TenancyError::Forbidden)
            ));
            assert!(matches!(mine.delete_target(&seen).await, Err(TenancyError::Forbidden)));
            // The stored configuration (with its credentials) is not for them either.
            assert!(matches!(mine.target_config(&seen).await, Err(TenancyError::Forbidden)));
        }
        assert_eq!(scope.targets(&live).await.unwrap().len(), 1, "nothing was deleted");
    }
}
