//! A client's contract: the catalogue items it has, how it is billed (through the agency's
//! Stripe account, or recorded by hand for agencies that bill by bank transfer) and its state.
//! Stripe's events change it through [`apply_subscription`] and [`apply_payment`], which
//! compare the event's time and the subscription's state with what is stored, so events that
//! arrive late or twice change nothing.

use sqlx::{SqliteConnection, SqlitePool};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Contract {
    pub billing: String,
    pub status: String,
    pub stripe_subscription_id: Option<String>,
    pub stripe_event_created: i64,
    pub grace_until_ms: Option<i64>,
    pub note: String,
}

pub async fn get<'e>(db: impl sqlx::SqliteExecutor<'e>, client_id: i64) -> Result<Option<Contract>, sqlx::Error> {
    sqlx::query_as(
        "SELECT billing, status, stripe_subscription_id, stripe_event_created, grace_until_ms, note
         FROM contracts WHERE client_id = ?",
    )
    .bind(client_id)
    .fetch_optional(db)
    .await
}

/// The catalogue ids of the contract's items.
pub async fn item_ids<'e>(db: impl sqlx::SqliteExecutor<'e>, client_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT item_id FROM contract_items WHERE client_id = ? ORDER BY item_id")
        .bind(client_id)
        .fetch_all(db)
        .await
}

/// Replaces the contract's items with those of `items` that are in the agency's catalogue.
pub async fn set_items(
    tx: &mut SqliteConnection,
    agency_id: i64,
    client_id: i64,
    items: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM contract_items WHERE client_id = ?")
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
    for item in items {
        sqlx::query(
            "INSERT OR IGNORE INTO contract_items (client_id, item_id)
             SELECT ?, id FROM catalogue_items WHERE agency_id = ? AND id = ?",
        )
        .bind(client_id)
        .bind(agency_id)
        .bind(item)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// A recorded contract (billed by the agency itself), active at once, with `items`.
pub async fn record(
    tx: &mut SqliteConnection,
    agency_id: i64,
    client_id: i64,
    items: &[i64],
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO contracts (client_id, agency_id, billing, status, note, updated_ms)
         VALUES (?, ?, 'recorded', 'active', ?, ?)
         ON CONFLICT (client_id) DO UPDATE SET billing = 'recorded', status = 'active', grace_until_ms = NULL,
             stripe_subscription_id = NULL, stripe_checkout_id = NULL, note = excluded.note,
             updated_ms = excluded.updated_ms",
    )
    .bind(client_id)
    .bind(agency_id)
    .bind(note)
    .bind(super::now_ms())
    .execute(&mut *tx)
    .await?;
    set_items(tx, agency_id, client_id, items).await
}

/// A recorded contract with every item of the agency's catalogue that is offered.
pub async fn record_everything(
    tx: &mut SqliteConnection,
    agency_id: i64,
    client_id: i64,
    note: &str,
) -> Result<(), sqlx::Error> {
    super::catalogue::ensure_default(tx, agency_id).await?;
    let items: Vec<i64> = sqlx::query_scalar("SELECT id FROM catalogue_items WHERE agency_id = ? AND archived = 0")
        .bind(agency_id)
        .fetch_all(&mut *tx)
        .await?;
    record(tx, agency_id, client_id, &items, note).await
}

/// Whether the contract is billed by a Stripe subscription that still runs: then its items
/// change through Stripe, not by hand.
pub fn runs_on_stripe(contract: &Contract) -> bool {
    contract.billing == "stripe" && contract.stripe_subscription_id.is_some() && contract.status != "canceled"
}

/// A subscription's state as an event carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    /// Stripe's status: active, trialing, past_due, unpaid, canceled, incomplete, incomplete_expired, paused.
    pub status: String,
    /// (subscription item id, price id)
    pub items: Vec<(String, String)>,
}

/// The contract status a subscription's Stripe status means.
pub fn status_of(stripe_status: &str) -> &'static str {
    match stripe_status {
        "active" | "trialing" => "active",
        "past_due" | "unpaid" | "paused" => "past_due",
        "canceled" | "incomplete_expired" => "canceled",
        _ => "checkout",
    }
}

/// What an event (created at `event_created`, or None for a state fresh from Stripe's API) does
/// to a contract: the new status and grace end, or nothing when it is older than the last one
/// applied, or would bring a cancelled subscription back.
pub fn transition(
    contract: &Contract,
    event_created: Option<i64>,
    subscription_id: &str,
    status: &str,
    now_ms: i64,
    grace_ms: i64,
) -> Option<(&'static str, Option<i64>)> {
    let same = contract.stripe_subscription_id.as_deref() == Some(subscription_id);
    if same && event_created.is_some_and(|created| created < contract.stripe_event_created) {
        return None;
    }
    if same && contract.status == "canceled" {
        return None;
    }
    let status = status_of(status);
    let grace = match status {
        "active" | "checkout" => None,
        // A grace period that runs already is not restarted by the next failure.
        _ => Some(contract.grace_until_ms.unwrap_or(now_ms + grace_ms)),
    };
    Some((status, grace))
}

/// Applies a subscription's state (from `checkout.session.completed` or
/// `customer.subscription.*`) to the agency's client it belongs to; returns the client and the
/// status before, or None when the event changes nothing.
pub async fn apply_subscription(
    tx: &mut SqliteConnection,
    agency_id: i64,
    client_id: i64,
    subscription: &Subscription,
    event_created: Option<i64>,
    now_ms: i64,
    grace_ms: i64,
) -> Result<Option<String>, sqlx::Error> {
    let Some(contract) = get(&mut *tx, client_id).await? else {
        return Ok(None);
    };
    let Some((status, grace)) = transition(
        &contract,
        event_created,
        &subscription.id,
        &subscription.status,
        now_ms,
        grace_ms,
    ) else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE contracts SET billing = 'stripe', status = ?, grace_until_ms = ?, stripe_subscription_id = ?,
             stripe_customer_id = ?, stripe_event_created = MAX(stripe_event_created, COALESCE(?, 0)), updated_ms = ?
         WHERE client_id = ? AND agency_id = ?",
    )
    .bind(status)
    .bind(grace)
    .bind(&subscription.id)
    .bind(&subscription.customer)
    .bind(event_created)
    .bind(now_ms)
    .bind(client_id)
    .bind(agency_id)
    .execute(&mut *tx)
    .await?;
    if !subscription.items.is_empty() {
        sqlx::query("DELETE FROM contract_items WHERE client_id = ?")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        for (item_id, price) in &subscription.items {
            sqlx::query(
                "INSERT OR IGNORE INTO contract_items (client_id, item_id, stripe_item_id)
                 SELECT ?, id, ? FROM catalogue_items WHERE agency_id = ? AND stripe_price_id = ? AND stripe_price_id != ''",
            )
            .bind(client_id)
            .bind(item_id)
            .bind(agency_id)
            .bind(price)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(Some(contract.status))
}

/// An invoice paid (`paid`) or failed: a failure starts the grace period, a payment ends it.
/// Returns the status before when it changed.
pub async fn apply_payment(
    tx: &mut SqliteConnection,
    client_id: i64,
    paid: bool,
    event_created: i64,
    now_ms: i64,
    grace_ms: i64,
) -> Result<Option<String>, sqlx::Error> {
    let Some(contract) = get(&mut *tx, client_id).await? else {
        return Ok(None);
    };
    if contract.status == "canceled" || event_created < contract.stripe_event_created {
        return Ok(None);
    }
    let (status, grace) = match paid {
        true => ("active", None),
        false => ("past_due", Some(contract.grace_until_ms.unwrap_or(now_ms + grace_ms))),
    };
    if status == contract.status && grace == contract.grace_until_ms {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE contracts SET status = ?, grace_until_ms = ?, stripe_event_created = MAX(stripe_event_created, ?),
             updated_ms = ? WHERE client_id = ?",
    )
    .bind(status)
    .bind(grace)
    .bind(event_created)
    .bind(now_ms)
    .bind(client_id)
    .execute(&mut *tx)
    .await?;
    Ok(Some(contract.status))
}

/// The client an agency's Stripe object belongs to: by the subscription or customer stored on
/// its contract, else by the client id Vitrine put in the metadata, always within the agency.
pub async fn client_of(
    db: &mut SqliteConnection,
    agency_id: i64,
    subscription: Option<&str>,
    customer: Option<&str>,
    metadata_client: Option<i64>,
) -> Result<Option<i64>, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT client_id FROM contracts WHERE agency_id = ?1
            AND ((?2 IS NOT NULL AND stripe_subscription_id = ?2) OR (?3 IS NOT NULL AND stripe_customer_id = ?3))
         ORDER BY stripe_subscription_id = ?2 DESC LIMIT 1",
    )
    .bind(agency_id)
    .bind(subscription)
    .bind(customer)
    .fetch_optional(&mut *db)
    .await?;
    if found.is_some() {
        return Ok(found);
    }
    match metadata_client {
        Some(client) => {
            sqlx::query_scalar("SELECT client_id FROM contracts WHERE agency_id = ? AND client_id = ?")
                .bind(agency_id)
                .bind(client)
                .fetch_optional(&mut *db)
                .await
        }
        None => Ok(None),
    }
}

/// Every contract of the agency, for its billing page: (client id, contract).
pub async fn of_agency(db: &SqlitePool, agency_id: i64) -> Result<Vec<(i64, Contract)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        client_id: i64,
        #[sqlx(flatten)]
        contract: Contract,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT client_id, billing, status, stripe_subscription_id, stripe_event_created, grace_until_ms, note
         FROM contracts WHERE agency_id = ?",
    )
    .bind(agency_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|row| (row.client_id, row.contract)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn contract(status: &str, subscription: Option<&str>, event_created: i64, grace: Option<i64>) -> Contract {
        Contract {
            billing: "stripe".into(),
            status: status.into(),
            stripe_subscription_id: subscription.map(str::to_string),
            stripe_event_created: event_created,
            grace_until_ms: grace,
            note: String::new(),
        }
    }

    #[test]
    fn an_older_event_arriving_late_changes_nothing() {
        let now = contract("active", Some("sub_1"), 2000, None);
        assert_eq!(transition(&now, Some(1000), "sub_1", "past_due", 0, DAY), None);
        assert_eq!(
            transition(&now, Some(2000), "sub_1", "past_due", 0, DAY),
            Some(("past_due", Some(DAY)))
        );
    }

    #[test]
    fn a_cancelled_subscription_does_not_come_back() {
        let ended = contract("canceled", Some("sub_1"), 1000, Some(5 * DAY));
        assert_eq!(transition(&ended, Some(3000), "sub_1", "active", 0, DAY), None);
        // A new subscription of the same client starts over.
        assert_eq!(
            transition(&ended, Some(3000), "sub_2", "active", 0, DAY),
            Some(("active", None))
        );
    }

    #[test]
    fn a_second_failure_does_not_restart_the_grace_period() {
        let late = contract("past_due", Some("sub_1"), 1000, Some(3 * DAY));
        assert_eq!(
            transition(&late, Some(2000), "sub_1", "unpaid", 2 * DAY, 14 * DAY),
            Some(("past_due", Some(3 * DAY)))
        );
        assert_eq!(
            transition(&late, Some(2000), "sub_1", "active", 2 * DAY, 14 * DAY),
            Some(("active", None))
        );
    }

    #[test]
    fn stripe_statuses_map_to_contract_statuses() {
        for (stripe, ours) in [
            ("active", "active"),
            ("trialing", "active"),
            ("past_due", "past_due"),
            ("unpaid", "past_due"),
            ("canceled", "canceled"),
            ("incomplete_expired", "canceled"),
            ("incomplete", "checkout"),
            ("something-new", "checkout"),
        ] {
            assert_eq!(status_of(stripe), ours, "{stripe}");
        }
    }
}
