//! Silences, as Alertmanager 0.25 keeps them: matchers over an alert's labels, a start and an
//! end, who made it and why. While a silence is active the alerts of its client it matches send
//! no mail and show as muted; one that starts later is a planned maintenance; ending one early
//! sets its end to now. The same rows serve the pages, Alertmanager's API v2 (so `amtool`
//! works) and the evaluator. Every function takes the client's id from a scoped caller or a
//! verified token: another client's silence is not found, exactly like a missing one.

use crate::tenancy::model::Role;
use crate::tenancy::scope::{Caller, ScopedClient};
use crate::tenancy::{FormCheck, TenancyError};
use app::dto::{FieldProblem, MUTE_HOURS};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use vitrine_promql::{Labels, MatchOp, Matcher};

/// Longest regex a silence matcher may compile to (bytes of pattern).
const MAX_REGEX_BYTES: usize = 4096;
/// At most this many matchers per silence, and this many bytes per name, value and comment.
const MAX_MATCHERS: usize = 32;
const MAX_TEXT: usize = 4096;

/// One matcher as Alertmanager's API writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl SilenceMatcher {
    pub fn equal(name: &str, value: &str) -> SilenceMatcher {
        SilenceMatcher {
            name: name.to_string(),
            value: value.to_string(),
            is_regex: false,
            is_equal: true,
        }
    }

    fn op(&self) -> MatchOp {
        match (self.is_regex, self.is_equal) {
            (false, true) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::Regex,
            (true, false) => MatchOp::NotRegex,
        }
    }

    fn compile(&self) -> Result<Matcher, String> {
        Matcher::new(self.op(), &self.name, &self.value, MAX_REGEX_BYTES)
    }
}

impl std::fmt::Display for SilenceMatcher {
    /// `name="value"`, `name!~"value"`, … as amtool writes matchers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op().as_str(), self.value)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SilenceState {
    /// Starts later: a planned maintenance.
    Pending,
    Active,
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

/// A silence as stored.
#[derive(Clone, Debug)]
pub struct Silence {
    pub uuid: String,
    pub client_id: i64,
    pub matchers: Vec<SilenceMatcher>,
    compiled: Vec<Matcher>,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub created_by: String,
    pub comment: String,
    pub updated_ms: i64,
}

impl Silence {
    pub fn state(&self, now_ms: i64) -> SilenceState {
        if now_ms < self.starts_ms {
            SilenceState::Pending
        } else if now_ms < self.ends_ms {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// Whether every matcher accepts the labels (a missing label is the empty string).
    pub fn matches(&self, labels: &Labels) -> bool {
        self.compiled.iter().all(|m| m.matches(labels.value(&m.name)))
    }
}

/// A silence to create or to replace one with.
#[derive(Clone, Debug)]
pub struct NewSilence {
    pub matchers: Vec<SilenceMatcher>,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub created_by: String,
    pub comment: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    /// The request cannot be a silence; the text is Alertmanager's.
    #[error("{0}")]
    Invalid(String),
    #[error("silence not found")]
    NotFound,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl NewSilence {
    /// Alertmanager's checks (`silence.validateSilence` and the API's), with its messages.
    fn check(&self, now_ms: i64) -> Result<Vec<Matcher>, SilenceError> {
        let invalid = |text: String| Err(SilenceError::Invalid(text));
        if self.matchers.is_empty() {
            return invalid("invalid silence: at least one matcher required".into());
        }
        if self.matchers.len() > MAX_MATCHERS {
            return invalid(format!("invalid silence: at most {MAX_MATCHERS} matchers"));
        }
        if self.comment.len() > MAX_TEXT || self.created_by.len() > MAX_TEXT {
            return invalid(format!(
                "invalid silence: comment and author are limited to {MAX_TEXT} bytes"
            ));
        }
        let mut compiled = Vec::with_capacity(self.matchers.len());
        for matcher in &self.matchers {
            if !vitrine_scrape_config::is_valid_label_name(&matcher.name) {
                return invalid(format!("invalid silence: invalid label name {:?}", matcher.name));
            }
            if matcher.value.len() > MAX_TEXT {
                return invalid(format!(
                    "invalid silence: a matcher's value is limited to {MAX_TEXT} bytes"
                ));
            }
            match matcher.compile() {
                Ok(m) => compiled.push(m),
                Err(e) => {
                    return invalid(format!(
                        "invalid silence: invalid regular expression {:?}: {e}",
                        matcher.value
                    ));
                }
            }
        }
        if compiled.iter().all(|m| m.matches("")) {
            return invalid("invalid silence: at least one matcher must not match the empty string".into());
        }
        if self.starts_ms >= self.ends_ms {
            return invalid("Failed to create silence: start time must be before end time".into());
        }
        if self.ends_ms < now_ms {
            return invalid("Failed to create silence: end time can't be in the past".into());
        }
        Ok(compiled)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    uuid: String,
    client_id: i64,
    matchers: String,
    starts_ms: i64,
    ends_ms: i64,
    created_by: String,
    comment: String,
    updated_ms: i64,
}

impl Row {
    fn into_silence(self) -> Silence {
        let matchers: Vec<SilenceMatcher> = serde_json::from_str(&self.matchers).unwrap_or_default();
        // Checked when stored; a matcher that no longer compiles matches nothing.
        let compiled = matchers
            .iter()
            .map(|m| {
                m.compile()
                    .unwrap_or_else(|_| Matcher::new(MatchOp::Regex, &m.name, "$^", 16).expect("valid"))
            })
            .collect();
        Silence {
            uuid: self.uuid,
            client_id: self.client_id,
            matchers,
            compiled,
            starts_ms: self.starts_ms,
            ends_ms: self.ends_ms,
            created_by: self.created_by,
            comment: self.comment,
            updated_ms: self.updated_ms,
        }
    }
}

const SELECT: &str =
    "SELECT uuid, client_id, matchers, starts_ms, ends_ms, created_by, comment, updated_ms FROM silences";

/// Expired silences are kept this long (Alertmanager's default `--data.retention`), then pruned.
pub const RETENTION_MS: i64 = 120 * 3600 * 1000;

/// The client's silences, those ending last first (expired ones within the retention).
pub async fn of_client(db: &SqlitePool, client_id: i64, now_ms: i64) -> Result<Vec<Silence>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE client_id = ? AND ends_ms > ? ORDER BY ends_ms DESC, id DESC"
    ))
    .bind(client_id)
    .bind(now_ms - RETENTION_MS)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Row::into_silence).collect())
}

/// The client's silences in effect at `now_ms`.
pub async fn active(db: &SqlitePool, client_id: i64, now_ms: i64) -> Result<Vec<Silence>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE client_id = ? AND starts_ms <= ? AND ends_ms > ? ORDER BY id"
    ))
    .bind(client_id)
    .bind(now_ms)
    .bind(now_ms)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Row::into_silence).collect())
}

/// One silence of the client by its UUID.
pub async fn get(db: &SqlitePool, client_id: i64, uuid: &str) -> Result<Silence, SilenceError> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE client_id = ? AND uuid = ?"))
        .bind(client_id)
        .bind(uuid)
        .fetch_optional(db)
        .await?;
    row.map(Row::into_silence).ok_or(SilenceError::NotFound)
}

/// The UUIDs of the silences in `silences` that mute an alert with these labels.
pub fn silenced_by<'a>(silences: &'a [Silence], labels: &Labels, now_ms: i64) -> Vec<&'a str> {
    silences
        .iter()
        .filter(|s| s.state(now_ms) == SilenceState::Active && s.matches(labels))
        .map(|s| s.uuid.as_str())
        .collect()
}

fn random_uuid() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Whether `old` may be changed into `new` in place (Alertmanager's `canUpdate`): the same
/// matchers, an active one keeps its start and does not end in the past, a pending one does
/// not start in the past; an expired one never.
fn can_update(old: &Silence, new: &NewSilence, now_ms: i64) -> bool {
    if old.matchers != new.matchers {
        return false;
    }
    match old.state(now_ms) {
        SilenceState::Active => new.starts_ms == old.starts_ms && new.ends_ms >= now_ms,
        SilenceState::Pending => new.starts_ms >= now_ms,
        SilenceState::Expired => false,
    }
}

/// Creates a silence for the client, or replaces the client's silence `replace` (in place when
/// Alertmanager would, otherwise by ending it and creating a new one); returns its UUID. A
/// start in the past is moved to now, as Alertmanager does.
pub async fn put(
    db: &SqlitePool,
    agency_id: i64,
    client_id: i64,
    replace: Option<&str>,
    mut new: NewSilence,
    now_ms: i64,
) -> Result<String, SilenceError> {
    new.check(now_ms)?;
    let matchers = serde_json::to_string(&new.matchers).unwrap_or_default();
    let mut tx = crate::db::write(db).await?;
    if let Some(uuid) = replace {
        let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE client_id = ? AND uuid = ?"))
            .bind(client_id)
            .bind(uuid)
            .fetch_optional(&mut *tx)
            .await?;
        let old = row.map(Row::into_silence).ok_or(SilenceError::NotFound)?;
        if can_update(&old, &new, now_ms) {
            sqlx::query(
                "UPDATE silences SET starts_ms = ?, ends_ms = ?, created_by = ?, comment = ?, updated_ms = ?
                 WHERE client_id = ? AND uuid = ?",
            )
            .bind(new.starts_ms)
            .bind(new.ends_ms)
            .bind(&new.created_by)
            .bind(&new.comment)
            .bind(now_ms)
            .bind(client_id)
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(old.uuid);
        }
        end(&mut tx, &old, now_ms).await?;
    }
    new.starts_ms = new.starts_ms.max(now_ms);
    let uuid = random_uuid();
    sqlx::query(
        "INSERT INTO silences (uuid, agency_id, client_id, matchers, starts_ms, ends_ms, created_by, comment, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&uuid)
    .bind(agency_id)
    .bind(client_id)
    .bind(matchers)
    .bind(new.starts_ms)
    .bind(new.ends_ms)
    .bind(&new.created_by)
    .bind(&new.comment)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM silences WHERE client_id = ? AND ends_ms <= ?")
        .bind(client_id)
        .bind(now_ms - RETENTION_MS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(uuid)
}

/// Ends `old` now: an active one ends now, a pending one starts and ends now.
async fn end(tx: &mut sqlx::SqliteConnection, old: &Silence, now_ms: i64) -> Result<(), sqlx::Error> {
    let (starts, ends) = match old.state(now_ms) {
        SilenceState::Expired => return Ok(()),
        SilenceState::Active => (old.starts_ms, now_ms),
        SilenceState::Pending => (now_ms, now_ms),
    };
    sqlx::query("UPDATE silences SET starts_ms = ?, ends_ms = ?, updated_ms = ? WHERE client_id = ? AND uuid = ?")
        .bind(starts)
        .bind(ends)
        .bind(now_ms)
        .bind(old.client_id)
        .bind(&old.uuid)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Ends the client's silence `uuid` now (an expired one stays as it is).
pub async fn expire(db: &SqlitePool, client_id: i64, uuid: &str, now_ms: i64) -> Result<(), SilenceError> {
    let old = get(db, client_id, uuid).await?;
    let mut conn = db.acquire().await?;
    end(&mut conn, &old, now_ms).await?;
    Ok(())
}

/// Who may mute alerts and plan maintenance on the pages: agency people and the client's admins.
pub fn may_silence(role: Role) -> bool {
    role.is_agency() || role == Role::ClientAdmin
}

/// A date and time in UTC as a `datetime-local` field sends it (`2026-12-24T22:00`, seconds
/// optional, a space for the `T` too), in ms.
pub(crate) fn parse_utc(raw: &str) -> std::result::Result<i64, FieldProblem> {
    let raw = raw.trim().replace(' ', "T");
    let with_seconds = if raw.len() == 16 { format!("{raw}:00") } else { raw };
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let parsed = time::PrimitiveDateTime::parse(&with_seconds, &format).map_err(|_| {
        if with_seconds.is_empty() || with_seconds == ":00" {
            FieldProblem::Required
        } else {
            FieldProblem::InvalidTime
        }
    })?;
    Ok((parsed.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A silence from the thresholds page; returns its UUID. With a `threshold` field (its id) it
/// mutes that threshold's mails from now for `hours` (one of [`MUTE_HOURS`]); otherwise it plans
/// a maintenance of `place` (`*` for every threshold, `project/*`, `project/environment`) from
/// `starts` to `ends` (UTC). `comment` says why. A threshold of another client is `NotFound`.
pub async fn create_from_form(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    form: &[(String, String)],
    now_ms: i64,
) -> crate::tenancy::Result<String> {
    if !may_silence(caller.role) {
        return Err(TenancyError::Forbidden);
    }
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.trim());
    let mut check = FormCheck::new(form);
    let comment = check.field("comment", |raw| {
        if raw.len() > 500 {
            Err(FieldProblem::TooLong)
        } else {
            Ok(raw.trim().to_string())
        }
    });
    let (matchers, starts_ms, ends_ms) = if form.iter().any(|(n, _)| n == "threshold") {
        let id = field("threshold").parse::<i64>().unwrap_or(-1);
        let threshold = super::of_client(db, client.id)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(TenancyError::NotFound)?;
        let hours = check.field("hours", |raw| {
            raw.parse::<i64>()
                .ok()
                .filter(|h| MUTE_HOURS.contains(h))
                .ok_or(FieldProblem::InvalidChoice)
        });
        let matchers = vec![
            SilenceMatcher::equal("alertname", &threshold.name),
            SilenceMatcher::equal("threshold_id", &threshold.id.to_string()),
        ];
        (matchers, Some(now_ms), hours.map(|h| now_ms + h * 3_600_000))
    } else {
        let place = field("place");
        let matchers = match place {
            "*" => Some(vec![SilenceMatcher {
                name: "threshold_id".into(),
                value: ".+".into(),
                is_regex: true,
                is_equal: true,
            }]),
            _ => match (super::place_of(db, client, place).await?, place.split_once('/')) {
                (Some(_), Some((project, "*"))) => Some(vec![SilenceMatcher::equal("project", project)]),
                (Some(_), Some((project, environment))) => Some(vec![
                    SilenceMatcher::equal("project", project),
                    SilenceMatcher::equal("environment", environment),
                ]),
                _ => None,
            },
        };
        if matchers.is_none() {
            check.problem("place", FieldProblem::InvalidChoice);
        }
        let starts = check.field("starts", parse_utc);
        let ends = check.field("ends", parse_utc);
        if let (Some(starts), Some(ends)) = (starts, ends)
            && (ends <= starts || ends <= now_ms)
        {
            check.problem("ends", FieldProblem::EndBeforeStart);
        }
        (matchers.unwrap_or_default(), starts, ends)
    };
    let (comment, starts_ms, ends_ms) = check.finish(|| Some((comment?, starts_ms?, ends_ms?)))?;
    let new = NewSilence {
        matchers,
        starts_ms,
        ends_ms,
        created_by: caller.email.clone(),
        comment,
    };
    match put(db, client.agency_id, client.id, None, new, now_ms).await {
        Ok(uuid) => Ok(uuid),
        Err(SilenceError::Database(e)) => Err(e.into()),
        Err(SilenceError::NotFound) => Err(TenancyError::NotFound),
        // The form's fields are checked above; what is left is a time already past.
        Err(SilenceError::Invalid(_)) => Err(FormCheck::new(form).fail("ends", FieldProblem::EndBeforeStart)),
    }
}

/// Ends a silence of the client from the page.
pub async fn expire_from_form(
    db: &SqlitePool,
    caller: &Caller,
    client: &ScopedClient,
    uuid: &str,
    now_ms: i64,
) -> crate::tenancy::Result<()> {
    if !may_silence(caller.role) {
        return Err(TenancyError::Forbidden);
    }
    match expire(db, client.id, uuid, now_ms).await {
        Ok(()) => Ok(()),
        Err(SilenceError::Database(e)) => Err(e.into()),
        Err(_) => Err(TenancyError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::admin;

    fn new(matchers: Vec<SilenceMatcher>, starts_ms: i64, ends_ms: i64) -> NewSilence {
        NewSilence {
            matchers,
            starts_ms,
            ends_ms,
            created_by: "anna@agency.test".into(),
            comment: "deploy".into(),
        }
    }

    async fn two_clients() -> (SqlitePool, i64, i64, i64) {
        let db = crate::tenancy::test_db().await;
        let agency = admin::create_agency(&db, "ag", "Agency").await.unwrap();
        let shop = admin::create_client(&db, "ag", "shop", "Shop", "en").await.unwrap();
        let other = admin::create_client(&db, "ag", "other", "Other", "en").await.unwrap();
        (db, agency, shop, other)
    }

    #[test]
    fn times_read_as_the_browser_sends_them() {
        assert_eq!(parse_utc("2023-11-14T22:13"), Ok(1_700_000_000_000 - 20_000));
        assert_eq!(parse_utc("2023-11-14 22:13:20"), Ok(1_700_000_000_000));
        assert_eq!(parse_utc(""), Err(FieldProblem::Required));
        assert_eq!(parse_utc("tomorrow"), Err(FieldProblem::InvalidTime));
    }

    #[test]
    fn matchers_read_like_alertmanagers() {
        let labels = Labels::from_pairs(&[("alertname", "Errors"), ("env", "live")]);
        let silence = |matchers: Vec<SilenceMatcher>| {
            let compiled = matchers.iter().map(|m| m.compile().unwrap()).collect();
            Silence {
                uuid: "u".into(),
                client_id: 1,
                matchers,
                compiled,
                starts_ms: 0,
                ends_ms: 10,
                created_by: String::new(),
                comment: String::new(),
                updated_ms: 0,
            }
        };
        let regex = |name: &str, value: &str, is_equal| SilenceMatcher {
            name: name.into(),
            value: value.into(),
            is_regex: true,
            is_equal,
        };
        assert!(silence(vec![SilenceMatcher::equal("alertname", "Errors")]).matches(&labels));
        assert!(!silence(vec![SilenceMatcher::equal("alertname", "Error")]).matches(&labels));
        // Regexes are anchored, as in Alertmanager.
        assert!(silence(vec![regex("env", "li.*", true)]).matches(&labels));
        assert!(!silence(vec![regex("env", "iv", true)]).matches(&labels));
        assert!(!silence(vec![regex("env", "live|test", false)]).matches(&labels));
        let s = silence(vec![SilenceMatcher::equal("alertname", "Errors")]);
        assert_eq!(silenced_by(std::slice::from_ref(&s), &labels, 5), ["u"]);
        assert!(silenced_by(std::slice::from_ref(&s), &labels, 10).is_empty());
        assert_eq!(s.matchers[0].to_string(), "alertname=\"Errors\"");
    }

    #[test]
    fn a_silence_that_would_mute_everything_or_ends_first_is_refused() {
        let problem = |n: NewSilence| match n.check(1000) {
            Err(SilenceError::Invalid(text)) => text,
            other => panic!("{other:?}"),
        };
        let all = SilenceMatcher {
            name: "alertname".into(),
            value: ".*".into(),
            is_regex: true,
            is_equal: true,
        };
        assert!(problem(new(vec![], 1000, 2000)).contains("at least one matcher required"));
        assert!(problem(new(vec![all], 1000, 2000)).contains("must not match the empty string"));
        let one = vec![SilenceMatcher::equal("alertname", "A")];
        assert!(problem(new(one.clone(), 2000, 2000)).contains("start time must be before end time"));
        assert!(problem(new(one.clone(), 0, 500)).contains("end time can't be in the past"));
        let bad = vec![SilenceMatcher {
            name: "a".into(),
            value: "(".into(),
            is_regex: true,
            is_equal: true,
        }];
        assert!(problem(new(bad, 1000, 2000)).contains("invalid regular expression"));
        let bad_name = vec![SilenceMatcher::equal("1a", "x")];
        assert!(problem(new(bad_name, 1000, 2000)).contains("invalid label name"));
    }

    #[tokio::test]
    async fn silences_are_made_changed_and_ended_within_their_client_only() {
        let (db, agency, shop, other) = two_clients().await;
        let one = vec![SilenceMatcher::equal("alertname", "Errors")];
        let uuid = put(&db, agency, shop, None, new(one.clone(), 1_000, 10_000), 1_000)
            .await
            .unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(active(&db, shop, 2_000).await.unwrap().len(), 1);
        assert!(active(&db, other, 2_000).await.unwrap().is_empty());
        // The other client neither sees, changes nor ends it.
        assert!(matches!(get(&db, other, &uuid).await, Err(SilenceError::NotFound)));
        assert!(matches!(
            expire(&db, other, &uuid, 2_000).await,
            Err(SilenceError::NotFound)
        ));
        assert!(matches!(
            put(&db, agency, other, Some(&uuid), new(one.clone(), 1_000, 20_000), 2_000).await,
            Err(SilenceError::NotFound)
        ));
        // A longer end with the same matchers changes it in place.
        let same = put(&db, agency, shop, Some(&uuid), new(one.clone(), 1_000, 20_000), 2_000)
            .await
            .unwrap();
        assert_eq!(same, uuid);
        assert_eq!(get(&db, shop, &uuid).await.unwrap().ends_ms, 20_000);
        // Other matchers: the old one ends and a new one starts.
        let two = vec![SilenceMatcher::equal("alertname", "Slow")];
        let replaced = put(&db, agency, shop, Some(&uuid), new(two, 1_000, 20_000), 3_000)
            .await
            .unwrap();
        assert_ne!(replaced, uuid);
        assert_eq!(get(&db, shop, &uuid).await.unwrap().state(3_000), SilenceState::Expired);
        assert_eq!(get(&db, shop, &replaced).await.unwrap().starts_ms, 3_000);
        // Ending early; a planned one ends before it starts.
        expire(&db, shop, &replaced, 4_000).await.unwrap();
        assert!(active(&db, shop, 4_000).await.unwrap().is_empty());
        let planned = put(&db, agency, shop, None, new(one, 50_000, 60_000), 4_000)
            .await
            .unwrap();
        assert_eq!(
            get(&db, shop, &planned).await.unwrap().state(4_000),
            SilenceState::Pending
        );
        expire(&db, shop, &planned, 5_000).await.unwrap();
        let ended = get(&db, shop, &planned).await.unwrap();
        assert_eq!((ended.starts_ms, ended.ends_ms), (5_000, 5_000));
        assert_eq!(of_client(&db, shop, 5_000).await.unwrap().len(), 3);
        assert!(
            of_client(&db, shop, 5_000 + RETENTION_MS + 60_000)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
