//! What a client may use, from its contract: the one check every gated place calls
//! ([`of`], [`require_more`], [`missing`]); nowhere else reads contracts to decide. A contract is in force while
//! it is active, and after a failed payment or a cancellation until its grace period ends; then
//! the add-ons' features stop (nothing is deleted) and the client has what [`FLOOR`] allows.

use super::catalogue::{Feature, Grant, Limit};
use sqlx::SqliteExecutor;

/// What a client without a contract in force may have.
pub const FLOOR: Floor = Floor {
    projects: 1,
    subscribers: 0,
    retention_days: 90,
};

pub struct Floor {
    pub projects: i64,
    pub subscribers: i64,
    pub retention_days: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entitlements {
    features: Vec<Feature>,
    projects: i64,
    subscribers: i64,
    retention_days: i64,
    /// While a grace period runs: when the paid features stop (ms).
    pub ends_ms: Option<i64>,
}

impl Entitlements {
    fn floor() -> Entitlements {
        Entitlements {
            features: Vec::new(),
            projects: FLOOR.projects,
            subscribers: FLOOR.subscribers,
            retention_days: FLOOR.retention_days,
            ends_ms: None,
        }
    }

    /// What the contract's items grant, if it is in force at `now_ms`.
    pub fn from_contract(
        status: &str,
        grace_until_ms: Option<i64>,
        grants: &[(String, i64)],
        now_ms: i64,
    ) -> Entitlements {
        let mut entitled = Entitlements::floor();
        let in_grace = grace_until_ms.is_some_and(|until| now_ms < until);
        let (in_force, ends_ms) = match status {
            "active" => (true, None),
            "past_due" | "canceled" => (in_grace, grace_until_ms),
            _ => (false, None),
        };
        if !in_force {
            return entitled;
        }
        entitled.ends_ms = ends_ms;
        let (mut projects, mut subscribers, mut retention) = (0, 0, 0);
        for (key, amount) in grants {
            match Grant::parse(key) {
                Some(Grant::Feature(feature)) if !entitled.features.contains(&feature) => {
                    entitled.features.push(feature)
                }
                Some(Grant::Limit(Limit::Projects)) => projects += amount,
                Some(Grant::Limit(Limit::Subscribers)) => subscribers += amount,
                Some(Grant::Limit(Limit::RetentionDays)) => retention = retention.max(*amount),
                _ => {}
            }
        }
        entitled.projects = entitled.projects.max(projects);
        entitled.subscribers = entitled.subscribers.max(subscribers);
        entitled.retention_days = entitled.retention_days.max(retention);
        entitled
    }

    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    pub fn limit(&self, limit: Limit) -> i64 {
        match limit {
            Limit::Projects => self.projects,
            Limit::Subscribers => self.subscribers,
            Limit::RetentionDays => self.retention_days,
        }
    }
}

/// What the client may use at `now_ms`.
pub async fn of<'e>(db: impl SqliteExecutor<'e>, client_id: i64, now_ms: i64) -> Result<Entitlements, sqlx::Error> {
    /// The contract's status and grace end, and one of its items' grant and amount.
    type Row = (String, Option<i64>, Option<String>, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.status, c.grace_until_ms, i.grants, i.amount
         FROM contracts c
         LEFT JOIN contract_items ci ON ci.client_id = c.client_id
         LEFT JOIN catalogue_items i ON i.id = ci.item_id
         WHERE c.client_id = ?",
    )
    .bind(client_id)
    .fetch_all(db)
    .await?;
    let Some((status, grace_until_ms, _, _)) = rows.first() else {
        return Ok(Entitlements::floor());
    };
    let grants: Vec<(String, i64)> = rows
        .iter()
        .filter_map(|(_, _, grants, amount)| Some((grants.clone()?, amount.unwrap_or(0))))
        .collect();
    Ok(Entitlements::from_contract(status, *grace_until_ms, &grants, now_ms))
}

/// The client may not use this: it comes with an add-on it has not bought (or whose grace
/// period ran out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotEntitled(pub Grant);

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("not in the contract")]
    NotEntitled(NotEntitled),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Ok when the client may have one more of `limit` than the `current` it has.
pub async fn require_more<'e>(
    db: impl SqliteExecutor<'e>,
    client_id: i64,
    limit: Limit,
    current: i64,
) -> Result<(), Refused> {
    match current < of(db, client_id, super::now_ms()).await?.limit(limit) {
        true => Ok(()),
        false => Err(Refused::NotEntitled(NotEntitled(Grant::Limit(limit)))),
    }
}

/// What a settings page shows when the client lacks `feature`: the add-on that brings it.
pub async fn missing(
    db: &sqlx::SqlitePool,
    client: &crate::tenancy::scope::ScopedClient,
    feature: Feature,
    language: &str,
) -> Result<Option<app::dto::AddOnNeeded>, sqlx::Error> {
    if of(db, client.id, super::now_ms()).await?.has(feature) {
        return Ok(None);
    }
    let grant = Grant::Feature(feature);
    Ok(Some(
        super::catalogue::needed(db, client.agency_id, &client.slug, grant, language).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants() -> Vec<(String, i64)> {
        vec![
            ("status_page".into(), 0),
            ("projects".into(), 2),
            ("projects".into(), 3),
            ("retention_days".into(), 365),
            ("retention_days".into(), 180),
            ("subscribers".into(), 1000),
        ]
    }

    #[test]
    fn an_active_contract_grants_its_features_and_adds_up_its_limits() {
        let entitled = Entitlements::from_contract("active", None, &grants(), 0);
        assert!(entitled.has(Feature::StatusPage));
        assert!(!entitled.has(Feature::ClientMails));
        assert_eq!(entitled.limit(Limit::Projects), 5);
        assert_eq!(entitled.limit(Limit::RetentionDays), 365);
        assert_eq!(entitled.limit(Limit::Subscribers), 1000);
        assert_eq!(entitled.ends_ms, None);
    }

    #[test]
    fn a_failed_payment_keeps_everything_until_the_grace_period_ends() {
        let day = 86_400_000;
        let during = Entitlements::from_contract("past_due", Some(14 * day), &grants(), 13 * day);
        assert!(during.has(Feature::StatusPage));
        assert_eq!(during.ends_ms, Some(14 * day));
        let after = Entitlements::from_contract("past_due", Some(14 * day), &grants(), 14 * day);
        assert_eq!(after, Entitlements::floor());
        let canceled = Entitlements::from_contract("canceled", Some(day), &grants(), 2 * day);
        assert_eq!(canceled.limit(Limit::RetentionDays), FLOOR.retention_days);
    }

    #[test]
    fn a_contract_waiting_for_its_payment_grants_nothing_yet() {
        assert_eq!(
            Entitlements::from_contract("checkout", None, &grants(), 0),
            Entitlements::floor()
        );
        assert_eq!(
            Entitlements::from_contract("unknown", None, &grants(), 0),
            Entitlements::floor()
        );
    }
}
