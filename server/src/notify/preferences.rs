//! Which error mails a person wants from their client: all (the default), none (after the
//! one-click unsubscribe of RFC 8058 or switched off on the account page), or those of some
//! severities and projects. Every error mail carries a signed link that unsubscribes without a
//! login; the signature is an HMAC under the server's secret key, so a link names one person
//! and one client and cannot be made up for another.

use app::dto::{FieldProblem, MailSettings, THRESHOLD_SEVERITIES};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::SqlitePool;
use subtle::ConstantTimeEq;

const MAC_CONTEXT: &str = "mail unsubscribe";

/// What a person wants mailed.
#[derive(Clone, Debug, PartialEq)]
pub struct Preferences {
    pub alerts: bool,
    pub severities: Vec<String>,
    /// `None`: every project.
    pub projects: Option<Vec<String>>,
}

impl Default for Preferences {
    fn default() -> Preferences {
        Preferences {
            alerts: true,
            severities: THRESHOLD_SEVERITIES.iter().map(|s| s.to_string()).collect(),
            projects: None,
        }
    }
}

impl Preferences {
    /// Whether a mail about a threshold of this severity in this project is wanted.
    pub fn wants(&self, severity: &str, project: &str) -> bool {
        self.alerts
            && self.severities.iter().any(|s| s == severity)
            && self.projects.as_ref().is_none_or(|p| p.iter().any(|p| p == project))
    }

    /// From the stored columns.
    pub fn from_row(alerts: Option<bool>, severities: Option<String>, projects: Option<String>) -> Preferences {
        let Some(alerts) = alerts else {
            return Preferences::default();
        };
        Preferences {
            alerts,
            severities: severities
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            projects: projects.and_then(|p| serde_json::from_str(&p).ok()),
        }
    }
}

pub async fn get(db: &SqlitePool, user_id: i64, client_id: i64) -> Result<Preferences, sqlx::Error> {
    let row: Option<(bool, String, Option<String>)> =
        sqlx::query_as("SELECT alerts, severities, projects FROM mail_preferences WHERE user_id = ? AND client_id = ?")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(db)
            .await?;
    Ok(match row {
        Some((alerts, severities, projects)) => Preferences::from_row(Some(alerts), Some(severities), projects),
        None => Preferences::default(),
    })
}

/// One of a client's people: their language (or the client's) and the mails they want.
pub struct Person {
    pub user_id: i64,
    pub email: String,
    pub language: String,
    pub wants: Preferences,
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    user_id: i64,
    email: String,
    language: String,
    alerts: Option<bool>,
    severities: Option<String>,
    projects: Option<String>,
}

/// The client's people, by address.
pub async fn people(db: impl sqlx::SqliteExecutor<'_>, client_id: i64) -> Result<Vec<Person>, sqlx::Error> {
    let rows: Vec<PersonRow> = sqlx::query_as(
        "SELECT u.id AS user_id, u.email, COALESCE(u.language, c.language) AS language, p.alerts, p.severities,
                p.projects
         FROM memberships m
         JOIN users u ON u.id = m.user_id JOIN clients c ON c.id = m.client_id
         LEFT JOIN mail_preferences p ON p.user_id = u.id AND p.client_id = m.client_id
         WHERE m.client_id = ? ORDER BY u.email",
    )
    .bind(client_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Person {
            user_id: row.user_id,
            email: row.email,
            language: row.language,
            wants: Preferences::from_row(row.alerts, row.severities, row.projects),
        })
        .collect())
}

pub async fn set(db: &SqlitePool, user_id: i64, client_id: i64, preferences: &Preferences) -> Result<(), sqlx::Error> {
    let projects = preferences
        .projects
        .as_ref()
        .map(|p| serde_json::to_string(p).unwrap_or_default());
    sqlx::query(
        "INSERT INTO mail_preferences (user_id, client_id, alerts, severities, projects, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id, client_id) DO UPDATE SET alerts = excluded.alerts,
             severities = excluded.severities, projects = excluded.projects, updated_ms = excluded.updated_ms",
    )
    .bind(user_id)
    .bind(client_id)
    .bind(preferences.alerts)
    .bind(preferences.severities.join(" "))
    .bind(projects)
    .bind(crate::tenancy::now() * 1000)
    .execute(db)
    .await?;
    Ok(())
}

/// The settings form on the account page: `alerts` (a checkbox), `severity` and `project`
/// (checkboxes, repeated) among `projects`, the client's project slugs. Every project
/// ticked is `None` (also the ones added later).
pub fn from_form(form: &[(String, String)], projects: &[String]) -> Result<Preferences, (String, FieldProblem)> {
    fn values<'a>(form: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
        form.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    let mut severities = Vec::new();
    for severity in values(form, "severity") {
        if !THRESHOLD_SEVERITIES.contains(&severity) {
            return Err(("severity".into(), FieldProblem::InvalidChoice));
        }
        severities.push(severity.to_string());
    }
    let mut chosen = Vec::new();
    for project in values(form, "project") {
        if !projects.iter().any(|p| p == project) {
            return Err(("project".into(), FieldProblem::InvalidChoice));
        }
        chosen.push(project.to_string());
    }
    Ok(Preferences {
        alerts: values(form, "alerts").any(|v| v == "on"),
        severities,
        projects: (chosen.len() < projects.len()).then_some(chosen),
    })
}

/// The account page's view of the settings.
pub fn settings_view(client_name: &str, preferences: &Preferences, projects: &[(String, String)]) -> MailSettings {
    MailSettings {
        client_name: client_name.to_string(),
        alerts: preferences.alerts,
        severities: preferences.severities.clone(),
        projects: projects
            .iter()
            .map(|(slug, name)| {
                let wanted = preferences.projects.as_ref().is_none_or(|p| p.contains(slug));
                (slug.clone(), name.clone(), wanted)
            })
            .collect(),
    }
}

fn signature(user_id: i64, client_id: i64) -> Option<String> {
    let mac = crate::secrets::mac(MAC_CONTEXT, &format!("{user_id} {client_id}")).ok()?;
    Some(URL_SAFE_NO_PAD.encode(&mac[..18]))
}

/// The token of the unsubscribe link of a person's mails from a client.
pub fn unsubscribe_token(user_id: i64, client_id: i64) -> Option<String> {
    Some(format!("{user_id}.{client_id}.{}", signature(user_id, client_id)?))
}

/// The person and client a token names, if its signature is right.
pub fn verify(token: &str) -> Option<(i64, i64)> {
    let mut parts = token.split('.');
    let user_id: i64 = parts.next()?.parse().ok()?;
    let client_id: i64 = parts.next()?.parse().ok()?;
    let presented = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let expected = signature(user_id, client_id)?;
    bool::from(expected.as_bytes().ct_eq(presented.as_bytes())).then_some((user_id, client_id))
}

/// Who an unsubscribe link names (their address and the client's name) while they still belong
/// to the client.
pub async fn link_owner(db: &SqlitePool, token: &str) -> Result<Option<(i64, i64, String, String)>, sqlx::Error> {
    let Some((user_id, client_id)) = verify(token) else {
        return Ok(None);
    };
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT u.email, c.name FROM memberships m JOIN users u ON u.id = m.user_id JOIN clients c ON c.id = m.client_id
         WHERE m.user_id = ? AND m.client_id = ?",
    )
    .bind(user_id)
    .bind(client_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(email, client)| (user_id, client_id, email, client)))
}

/// Stops every error mail of the client to the person (the rest of their settings is kept).
pub async fn unsubscribe(db: &SqlitePool, user_id: i64, client_id: i64) -> Result<(), sqlx::Error> {
    let mut preferences = get(db, user_id, client_id).await?;
    preferences.alerts = false;
    set(db, user_id, client_id, &preferences).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_names_one_person_and_client_and_cannot_be_made_up() {
        let token = unsubscribe_token(7, 3).unwrap();
        assert_eq!(verify(&token), Some((7, 3)));
        let other = unsubscribe_token(8, 3).unwrap();
        let signature = other.rsplit('.').next().unwrap();
        assert_eq!(verify(&format!("7.3.{signature}")), None);
        assert_eq!(verify(&format!("{token}.x")), None);
        for bad in ["", "7", "7.3", "x.3.abc", "7.3.", "7.3.AAAA"] {
            assert_eq!(verify(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_choose_severities_and_projects() {
        let all = Preferences::default();
        assert!(all.wants("critical", "shop") && all.wants("info", "api"));
        let projects = ["shop".to_string(), "api".to_string()];
        let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
        };
        let chosen = from_form(
            &form(&[("alerts", "on"), ("severity", "critical"), ("project", "shop")]),
            &projects,
        )
        .unwrap();
        assert!(chosen.wants("critical", "shop"));
        assert!(!chosen.wants("warning", "shop") && !chosen.wants("critical", "api"));
        // Every project ticked: also the ones added later.
        let every = from_form(
            &form(&[
                ("alerts", "on"),
                ("severity", "warning"),
                ("project", "shop"),
                ("project", "api"),
            ]),
            &projects,
        )
        .unwrap();
        assert_eq!(every.projects, None);
        let off = from_form(&form(&[("severity", "critical")]), &projects).unwrap();
        assert!(!off.wants("critical", "shop"));
        assert_eq!(
            from_form(&form(&[("project", "elsewhere")]), &projects),
            Err(("project".to_string(), FieldProblem::InvalidChoice))
        );
        assert_eq!(
            from_form(&form(&[("severity", "panic")]), &projects),
            Err(("severity".to_string(), FieldProblem::InvalidChoice))
        );
    }

    #[tokio::test]
    async fn unsubscribing_keeps_the_other_settings() {
        let db = crate::tenancy::test_db().await;
        crate::tenancy::admin::create_agency(&db, "ag", "Agency").await.unwrap();
        let client = crate::tenancy::admin::create_client(&db, "ag", "shop", "Shop", "en")
            .await
            .unwrap();
        let place = crate::tenancy::admin::Placement {
            agency: "ag",
            client: Some("shop"),
            role: crate::tenancy::model::Role::ClientViewer,
        };
        let user = crate::tenancy::admin::create_user(&db, "ann@shop.de", "a long enough password", place)
            .await
            .unwrap();
        let token = unsubscribe_token(user, client).unwrap();
        let (who, whose, email, name) = link_owner(&db, &token).await.unwrap().unwrap();
        assert_eq!(
            (who, whose, email.as_str(), name.as_str()),
            (user, client, "ann@shop.de", "Shop")
        );
        let only_critical = Preferences {
            alerts: true,
            severities: vec!["critical".into()],
            projects: None,
        };
        set(&db, user, client, &only_critical).await.unwrap();
        unsubscribe(&db, user, client).await.unwrap();
        let after = get(&db, user, client).await.unwrap();
        assert!(!after.alerts && after.severities == ["critical"]);
        // A link of someone who no longer belongs to the client names nobody.
        assert!(
            link_owner(&db, &unsubscribe_token(user, client + 1).unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
}
