//! Stripe's webhook, `POST /webhooks/stripe/<agency>`: the `Stripe-Signature` header is checked
//! as Stripe specifies (HMAC-SHA256 of `{t}.{raw body}` under the agency's signing secret,
//! compared in constant time against every `v1` signature — Stripe sends several while a
//! secret rolls — within 300 seconds, other schemes ignored), the event is stored once by its
//! id and answered at once; [`Worker`] applies the stored events to the contracts.

use super::contracts::{self, Subscription};
use super::stripe::{Account, BillingError, CLIENT_METADATA};
use super::{Settings, now_ms};
use crate::notify::outbox::Outbox;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sqlx::{SqliteConnection, SqlitePool};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How old a signed request may be, as Stripe's libraries accept.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a webhook request is refused: all answer the same 400.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no valid Stripe-Signature header")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Expired,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// Checks `header` for `body` under `secret` at `now` (seconds).
pub fn verify(header: &str, body: &[u8], secret: &str, now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for pair in header.split(',') {
        let Some((scheme, value)) = pair.trim().split_once('=') else {
            continue;
        };
        match scheme {
            "t" => timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Malformed)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    // Every signature is compared, in constant time each.
    let matched = signatures.iter().fold(false, |found, signature| {
        found | bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_slice(), signature.as_slice()))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if timestamp < now - TOLERANCE_SECS {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

/// The envelope of an event.
#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
}

/// The request was refused (400) or failed here (500).
pub enum Refusal {
    BadRequest,
    Failed(sqlx::Error),
}

/// Checks and stores one webhook request of the agency `slug`; an unknown agency, one without
/// keys, a bad signature and a body that is no event are the same refusal. The same event again
/// is accepted and stored once.
pub async fn receive(db: &SqlitePool, slug: &str, signature: &str, body: &[u8]) -> Result<bool, Refusal> {
    let agency: Option<i64> = sqlx::query_scalar("SELECT id FROM agencies WHERE slug = ?")
        .bind(slug)
        .fetch_optional(db)
        .await
        .map_err(Refusal::Failed)?;
    let Some(agency_id) = agency else {
        return Err(Refusal::BadRequest);
    };
    let keys = match super::stripe::keys(db, agency_id).await {
        Ok(Some(keys)) => keys,
        Ok(None) => return Err(Refusal::BadRequest),
        Err(BillingError::Database(e)) => return Err(Refusal::Failed(e)),
        Err(e) => {
            tracing::error!(agency = slug, error = %e, "the agency's Stripe keys do not open");
            return Err(Refusal::BadRequest);
        }
    };
    if let Err(e) = verify(signature, body, keys.webhook_secret.expose_secret(), now_ms() / 1000) {
        tracing::warn!(agency = slug, error = %e, "a Stripe webhook request was refused");
        return Err(Refusal::BadRequest);
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
        return Err(Refusal::BadRequest);
    };
    let payload = std::str::from_utf8(body).map_err(|_| Refusal::BadRequest)?;
    let stored = sqlx::query(
        "INSERT INTO stripe_events (agency_id, event_id, kind, created, payload, received_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (agency_id, event_id) DO NOTHING",
    )
    .bind(agency_id)
    .bind(&envelope.id)
    .bind(&envelope.kind)
    .bind(envelope.created)
    .bind(payload)
    .bind(now_ms())
    .execute(db)
    .await
    .map_err(Refusal::Failed)?;
    let new = stored.rows_affected() == 1;
    tracing::info!(agency = slug, event = %envelope.id, kind = %envelope.kind, new, "Stripe event received");
    Ok(new)
}

/// The fields of the event objects Vitrine reads.
#[derive(Deserialize)]
struct Event {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    object: Object,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Object {
    id: String,
    customer: Option<String>,
    /// A checkout session's and (in older API versions) an invoice's subscription.
    subscription: Option<String>,
    status: Option<String>,
    client_reference_id: Option<String>,
    metadata: Option<std::collections::HashMap<String, String>>,
    items: Option<Items>,
    /// Newer invoices name their subscription here.
    parent: Option<InvoiceParent>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Items {
    data: Vec<ItemObject>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ItemObject {
    id: String,
    price: PriceObject,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PriceObject {
    id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InvoiceParent {
    subscription_details: Option<SubscriptionDetails>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SubscriptionDetails {
    subscription: Option<String>,
}

impl Object {
    fn metadata_client(&self) -> Option<i64> {
        self.metadata
            .as_ref()
            .and_then(|metadata| metadata.get(CLIENT_METADATA))
            .or(self.client_reference_id.as_ref())
            .and_then(|id| id.parse().ok())
    }

    fn subscription_id(&self) -> Option<&str> {
        self.subscription.as_deref().or_else(|| {
            self.parent
                .as_ref()
                .and_then(|parent| parent.subscription_details.as_ref())
                .and_then(|details| details.subscription.as_deref())
        })
    }

    fn as_subscription(&self) -> Subscription {
        Subscription {
            id: self.id.clone(),
            customer: self.customer.clone().unwrap_or_default(),
            status: self.status.clone().unwrap_or_default(),
            items: self
                .items
                .iter()
                .flat_map(|items| &items.data)
                .map(|item| (item.id.clone(), item.price.id.clone()))
                .collect(),
        }
    }
}

/// Applies stored events in the order Stripe created them, each once.
pub struct Worker {
    db: SqlitePool,
    settings: Arc<Settings>,
    outbox: Arc<Outbox>,
    wake: Notify,
}

/// How often stored events are looked at without a wake-up (a failed one is retried then).
const ROUND: Duration = Duration::from_secs(30);

impl Worker {
    pub fn new(db: SqlitePool, settings: Arc<Settings>, outbox: Arc<Outbox>) -> Arc<Worker> {
        Arc::new(Worker {
            db,
            settings,
            outbox,
            wake: Notify::new(),
        })
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn run(self: Arc<Self>) {
        loop {
            if let Err(e) = self.apply_pending().await {
                tracing::error!(error = %e, "applying Stripe events");
            }
            let _ = tokio::time::timeout(ROUND, self.wake.notified()).await;
        }
    }

    /// Applies every stored event not yet applied; returns how many were.
    pub async fn apply_pending(&self) -> Result<usize, sqlx::Error> {
        let pending: Vec<(i64, String, String, i64, String)> = sqlx::query_as(
            "SELECT agency_id, event_id, kind, created, payload FROM stripe_events
             WHERE processed_ms IS NULL ORDER BY created, received_ms LIMIT 100",
        )
        .fetch_all(&self.db)
        .await?;
        let mut applied = 0;
        for (agency_id, event_id, kind, created, payload) in pending {
            let outcome = self.apply(agency_id, &kind, created, &payload).await;
            let problem = match &outcome {
                Ok(_) => None,
                // Stripe could not be asked now: the event stays pending and is tried again.
                Err(BillingError::Stripe(why)) => {
                    tracing::warn!(event = %event_id, error = %why, "a Stripe event waits: Stripe did not answer");
                    sqlx::query("UPDATE stripe_events SET problem = ? WHERE agency_id = ? AND event_id = ?")
                        .bind(why)
                        .bind(agency_id)
                        .bind(&event_id)
                        .execute(&self.db)
                        .await?;
                    continue;
                }
                Err(e) => Some(e.to_string()),
            };
            sqlx::query("UPDATE stripe_events SET processed_ms = ?, problem = ? WHERE agency_id = ? AND event_id = ?")
                .bind(now_ms())
                .bind(&problem)
                .bind(agency_id)
                .bind(&event_id)
                .execute(&self.db)
                .await?;
            tracing::info!(event = %event_id, %kind, problem = problem.as_deref().unwrap_or(""), "Stripe event applied");
            applied += 1;
        }
        Ok(applied)
    }

    async fn apply(&self, agency_id: i64, kind: &str, created: i64, payload: &str) -> Result<(), BillingError> {
        let event: Event =
            serde_json::from_str(payload).map_err(|e| BillingError::Stripe(format!("not an event: {e}")))?;
        let object = event.data.object;
        let now = now_ms();
        let grace_ms = self.settings.grace_ms;
        // checkout.session.completed names the subscription; its items are asked of Stripe.
        let fresh = match kind {
            "checkout.session.completed" => match object.subscription.as_deref() {
                Some(id) => Some(
                    Account::open(&self.db, agency_id, &self.settings)
                        .await?
                        .subscription(id)
                        .await?,
                ),
                None => return Ok(()),
            },
            _ => None,
        };
        let mut tx = self.db.begin().await?;
        let subscription = fresh.as_ref().map(|s| s.id.as_str()).or(match kind {
            k if k.starts_with("customer.subscription.") => Some(object.id.as_str()),
            _ => object.subscription_id(),
        });
        let client = contracts::client_of(
            &mut tx,
            agency_id,
            subscription,
            object.customer.as_deref(),
            object.metadata_client(),
        )
        .await?;
        let Some(client_id) = client else {
            return Err(BillingError::WrongState);
        };
        let before = match kind {
            "checkout.session.completed" => match &fresh {
                Some(state) => {
                    contracts::apply_subscription(&mut tx, agency_id, client_id, state, None, now, grace_ms).await?
                }
                None => None,
            },
            "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
                let mut state = object.as_subscription();
                if kind.ends_with("deleted") {
                    state.status = "canceled".into();
                }
                contracts::apply_subscription(&mut tx, agency_id, client_id, &state, Some(created), now, grace_ms)
                    .await?
            }
            "invoice.paid" => contracts::apply_payment(&mut tx, client_id, true, created, now, grace_ms).await?,
            "invoice.payment_failed" => {
                contracts::apply_payment(&mut tx, client_id, false, created, now, grace_ms).await?
            }
            _ => None,
        };
        let told = match before {
            Some(before) => self.tell_if_lapsing(&mut tx, client_id, &before).await?,
            None => false,
        };
        tx.commit().await?;
        if told {
            self.outbox.wake();
        }
        Ok(())
    }

    /// Mails the client's admins and the agency's owners and admins when the contract has just
    /// started running out (a failed payment, a cancellation): what stops, and when.
    async fn tell_if_lapsing(
        &self,
        tx: &mut SqliteConnection,
        client_id: i64,
        before: &str,
    ) -> Result<bool, BillingError> {
        let Some(contract) = contracts::get(&mut *tx, client_id).await? else {
            return Ok(false);
        };
        let (Some(ends_ms), true) = (contract.grace_until_ms, contract.status != before) else {
            return Ok(false);
        };
        if !matches!(contract.status.as_str(), "past_due" | "canceled") {
            return Ok(false);
        }
        super::mails::lapsing(tx, client_id, contract.status == "canceled", ends_ms, &self.settings).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &str) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    const BODY: &str = r#"{"id":"evt_1","type":"invoice.paid","created":1}"#;

    #[test]
    fn a_signature_made_with_the_secret_is_accepted() {
        let header = format!("t=1000,v1={}", sign("whsec_a", 1000, BODY));
        assert_eq!(verify(&header, BODY.as_bytes(), "whsec_a", 1100), Ok(()));
    }

    #[test]
    fn any_of_several_v1_signatures_may_match_while_a_secret_rolls() {
        let header = format!(
            "t=1000,v1={},v1={},v0=abc,v2=zzz",
            sign("whsec_new", 1000, BODY),
            sign("whsec_old", 1000, BODY)
        );
        assert_eq!(verify(&header, BODY.as_bytes(), "whsec_old", 1000), Ok(()));
        assert_eq!(verify(&header, BODY.as_bytes(), "whsec_new", 1000), Ok(()));
        assert_eq!(
            verify(&header, BODY.as_bytes(), "whsec_other", 1000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_forged_or_changed_or_old_request_is_refused() {
        let good = sign("whsec_a", 1000, BODY);
        let header = format!("t=1000,v1={good}");
        assert_eq!(verify(&header, b"{}", "whsec_a", 1000), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(&header, BODY.as_bytes(), "whsec_b", 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&format!("t=1001,v1={good}"), BODY.as_bytes(), "whsec_a", 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, BODY.as_bytes(), "whsec_a", 1301),
            Err(SignatureError::Expired)
        );
        assert_eq!(verify(&header, BODY.as_bytes(), "whsec_a", 1300), Ok(()));
        for malformed in ["", "v1=abc", "t=x,v1=abc", &format!("t=1000,v0={good}"), "t=1000"] {
            assert_eq!(
                verify(malformed, BODY.as_bytes(), "whsec_a", 1000),
                Err(SignatureError::Malformed),
                "{malformed}"
            );
        }
    }

    #[test]
    fn invoices_name_their_subscription_in_either_api_version() {
        let old: Object = serde_json::from_str(r#"{"id":"in_1","subscription":"sub_1"}"#).unwrap();
        assert_eq!(old.subscription_id(), Some("sub_1"));
        let new: Object =
            serde_json::from_str(r#"{"id":"in_1","parent":{"subscription_details":{"subscription":"sub_2"}}}"#)
                .unwrap();
        assert_eq!(new.subscription_id(), Some("sub_2"));
    }
}
