//! Each agency's own Stripe account, through async-stripe: its keys (sealed at rest, never
//! shown again), the client's customer (created once, with an idempotency key), a Checkout
//! Session in subscription mode with one line item per add-on, a subscription the agency
//! creates directly (Stripe sends the invoice), a Customer Portal link, and add-ons added or
//! removed later as subscription items with proration.

use super::Settings;
use super::catalogue::Item;
use super::contracts::{self, Subscription};
use crate::secrets;
use secrecy::{ExposeSecret, SecretString};
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::time::Duration;
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest as _};
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_billing::subscription::{
    CreateSubscription, CreateSubscriptionAddInvoiceItems, CreateSubscriptionItems, RetrieveSubscription,
    UpdateSubscription, UpdateSubscriptionItems, UpdateSubscriptionProrationBehavior,
};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
};
use stripe_core::customer::CreateCustomer;

/// What an agency's Stripe keys are sealed for.
pub fn keys_context(agency_id: i64) -> String {
    format!("stripe_accounts agency {agency_id}")
}

/// How long one request to Stripe may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The metadata key that names the Vitrine client of a Stripe object.
pub const CLIENT_METADATA: &str = "vitrine_client";

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// The agency has not entered its Stripe keys.
    #[error("no Stripe keys")]
    NoKeys,
    /// Keys that are not Stripe's: the secret key starts with sk_ or rk_, the webhook secret with whsec_.
    #[error("not Stripe keys")]
    BadKeys,
    /// An item to bill has no Stripe price yet.
    #[error("no Stripe price for {0}")]
    NoPrice(String),
    #[error("nothing chosen")]
    NothingChosen,
    /// The contract runs on a Stripe subscription that changes only through Stripe (or no
    /// longer runs).
    #[error("the contract is in another state")]
    WrongState,
    #[error("Stripe: {0}")]
    Stripe(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
}

impl From<stripe::StripeError> for BillingError {
    fn from(error: stripe::StripeError) -> BillingError {
        // The secret key never reaches this text: async-stripe marks its header sensitive.
        BillingError::Stripe(match error {
            stripe::StripeError::Stripe(errors, status) => {
                format!("{status}: {}", errors.message.as_deref().unwrap_or("no message"))
            }
            other => other.to_string(),
        })
    }
}

pub struct Keys {
    pub secret_key: SecretString,
    pub webhook_secret: SecretString,
}

/// The agency's keys, opened.
pub async fn keys(db: &SqlitePool, agency_id: i64) -> Result<Option<Keys>, BillingError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT secret_key, webhook_secret FROM stripe_accounts WHERE agency_id = ?")
            .bind(agency_id)
            .fetch_optional(db)
            .await?;
    let Some((secret_key, webhook_secret)) = row else {
        return Ok(None);
    };
    let context = keys_context(agency_id);
    Ok(Some(Keys {
        secret_key: secrets::open(&secret_key, &context)?.into(),
        webhook_secret: secrets::open(&webhook_secret, &context)?.into(),
    }))
}

/// Whether the agency has entered its keys.
pub async fn has_keys(db: &SqlitePool, agency_id: i64) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT agency_id FROM stripe_accounts WHERE agency_id = ?")
        .bind(agency_id)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

fn is_key(text: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| text.starts_with(prefix))
        && text.len() <= 255
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Stores the agency's keys sealed, replacing any before.
pub async fn set_keys(
    db: &SqlitePool,
    agency_id: i64,
    secret_key: &str,
    webhook_secret: &str,
) -> Result<(), BillingError> {
    let (secret_key, webhook_secret) = (secret_key.trim(), webhook_secret.trim());
    if !is_key(secret_key, &["sk_", "rk_"]) || !is_key(webhook_secret, &["whsec_"]) {
        return Err(BillingError::BadKeys);
    }
    let context = keys_context(agency_id);
    sqlx::query(
        "INSERT INTO stripe_accounts (agency_id, secret_key, webhook_secret, updated_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (agency_id) DO UPDATE SET secret_key = excluded.secret_key,
             webhook_secret = excluded.webhook_secret, updated_ms = excluded.updated_ms",
    )
    .bind(agency_id)
    .bind(secrets::seal(secret_key, &context)?)
    .bind(secrets::seal(webhook_secret, &context)?)
    .bind(super::now_ms())
    .execute(db)
    .await?;
    Ok(())
}

/// The client as Stripe's customer sees it.
pub struct Customer {
    pub client_id: i64,
    pub agency_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub language: String,
}

impl Customer {
    pub async fn load(db: &SqlitePool, client_id: i64) -> Result<Customer, sqlx::Error> {
        let (agency_id, name, language): (i64, String, String) =
            sqlx::query_as("SELECT agency_id, name, language FROM clients WHERE id = ?")
                .bind(client_id)
                .fetch_one(db)
                .await?;
        // The client's first admin gets Stripe's invoices and receipts.
        let email: Option<String> = sqlx::query_scalar(
            "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE m.client_id = ? AND m.role = 'client_admin' ORDER BY m.id LIMIT 1",
        )
        .bind(client_id)
        .fetch_optional(db)
        .await?;
        Ok(Customer {
            client_id,
            agency_id,
            name,
            email,
            language,
        })
    }

    fn metadata(&self) -> HashMap<String, String> {
        HashMap::from([(CLIENT_METADATA.to_string(), self.client_id.to_string())])
    }
}

/// The agency's Stripe account, reached at `api_base` (Stripe's, or a stand-in in tests).
pub struct Account {
    client: stripe::Client,
    grace_ms: i64,
}

impl Account {
    pub async fn open(db: &SqlitePool, agency_id: i64, settings: &Settings) -> Result<Account, BillingError> {
        let keys = keys(db, agency_id).await?.ok_or(BillingError::NoKeys)?;
        let client = stripe::ClientBuilder::new(keys.secret_key.expose_secret())
            .url(settings.api_base.as_str())
            .timeout(TIMEOUT)
            .build()?;
        Ok(Account {
            client,
            grace_ms: settings.grace_ms,
        })
    }

    /// The client's Stripe customer: the one its contract names, or a new one (created once,
    /// whatever happens to the answer: the idempotency key names the client).
    async fn customer(&self, db: &SqlitePool, customer: &Customer) -> Result<String, BillingError> {
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT stripe_customer_id FROM contracts WHERE client_id = ? AND stripe_customer_id IS NOT NULL",
        )
        .bind(customer.client_id)
        .fetch_optional(db)
        .await?;
        if let Some(id) = stored {
            return Ok(id);
        }
        let mut request = CreateCustomer::new()
            .name(customer.name.clone())
            .metadata(customer.metadata())
            .preferred_locales(vec![customer.language.clone()]);
        if let Some(email) = &customer.email {
            request = request.email(email.clone());
        }
        let key = IdempotencyKey::new(format!(
            "vitrine-customer-{}-{}",
            customer.agency_id, customer.client_id
        ))
        .map_err(|e| BillingError::Stripe(e.to_string()))?;
        let created = request
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await?;
        let id = created.id.to_string();
        sqlx::query(
            "INSERT INTO contracts (client_id, agency_id, billing, status, stripe_customer_id, updated_ms)
             VALUES (?, ?, 'stripe', 'checkout', ?, ?)
             ON CONFLICT (client_id) DO UPDATE SET stripe_customer_id = excluded.stripe_customer_id",
        )
        .bind(customer.client_id)
        .bind(customer.agency_id)
        .bind(&id)
        .bind(super::now_ms())
        .execute(db)
        .await?;
        Ok(id)
    }

    /// A Checkout Session in subscription mode for `items` (each a line item at its monthly
    /// price, its setup fee as a one-time line item); returns the address the client admin pays
    /// at. The contract changes when Stripe reports the session completed.
    pub async fn checkout(
        &self,
        db: &SqlitePool,
        customer: &Customer,
        items: &[Item],
        success_url: &str,
        cancel_url: &str,
    ) -> Result<String, BillingError> {
        let prices = prices(items)?;
        let customer_id = self.customer(db, customer).await?;
        let mut line_items: Vec<CreateCheckoutSessionLineItems> = prices
            .recurring
            .iter()
            .chain(&prices.setup)
            .map(|price| CreateCheckoutSessionLineItems {
                price: Some(price.clone()),
                quantity: Some(1),
                ..CreateCheckoutSessionLineItems::new()
            })
            .collect();
        line_items.truncate(20);
        let mut subscription_data = CreateCheckoutSessionSubscriptionData::new();
        subscription_data.metadata = Some(customer.metadata());
        let mut request = CreateCheckoutSession::new()
            .mode(stripe_checkout::CheckoutSessionMode::Subscription)
            .customer(customer_id)
            .line_items(line_items)
            .success_url(success_url)
            .cancel_url(cancel_url)
            .client_reference_id(customer.client_id.to_string())
            .metadata(customer.metadata())
            .subscription_data(subscription_data);
        {
            let locale: stripe_checkout::CheckoutSessionLocale = customer
                .language
                .parse()
                .unwrap_or(stripe_checkout::CheckoutSessionLocale::Auto);
            request = request.locale(locale);
        }
        let session = request.send(&self.client).await?;
        sqlx::query("UPDATE contracts SET stripe_checkout_id = ?, updated_ms = ? WHERE client_id = ?")
            .bind(session.id.as_str())
            .bind(super::now_ms())
            .bind(customer.client_id)
            .execute(db)
            .await?;
        session
            .url
            .ok_or_else(|| BillingError::Stripe("the Checkout Session has no address".into()))
    }

    /// A subscription the agency starts for the client: Stripe sends the invoice (due in 14
    /// days), the setup fees are on the first one. The contract follows at once.
    pub async fn subscribe(&self, db: &SqlitePool, customer: &Customer, items: &[Item]) -> Result<(), BillingError> {
        let prices = prices(items)?;
        let customer_id = self.customer(db, customer).await?;
        let subscription = CreateSubscription::new()
            .customer(customer_id)
            .items(
                prices
                    .recurring
                    .iter()
                    .map(|price| CreateSubscriptionItems {
                        price: Some(price.clone()),
                        quantity: Some(1),
                        ..CreateSubscriptionItems::new()
                    })
                    .collect::<Vec<_>>(),
            )
            .add_invoice_items(
                prices
                    .setup
                    .iter()
                    .map(|price| CreateSubscriptionAddInvoiceItems {
                        price: Some(price.clone()),
                        quantity: Some(1),
                        ..CreateSubscriptionAddInvoiceItems::new()
                    })
                    .collect::<Vec<_>>(),
            )
            .collection_method(stripe_billing::SubscriptionCollectionMethod::SendInvoice)
            .days_until_due(14u32)
            .metadata(customer.metadata())
            .send(&self.client)
            .await?;
        self.follow(db, customer, &subscription).await
    }

    /// The subscription as Stripe holds it now.
    pub async fn subscription(&self, id: &str) -> Result<Subscription, BillingError> {
        let subscription = RetrieveSubscription::new(id).send(&self.client).await?;
        Ok(subscription_state(&subscription))
    }

    /// Adds and removes subscription items so the subscription bills `items`, prorated.
    pub async fn change(&self, db: &SqlitePool, customer: &Customer, items: &[Item]) -> Result<(), BillingError> {
        let contract = contracts::get(db, customer.client_id).await?;
        let Some(subscription_id) = contract
            .filter(contracts::runs_on_stripe)
            .and_then(|c| c.stripe_subscription_id)
        else {
            return Err(BillingError::WrongState);
        };
        let wanted = prices(items)?.recurring;
        let billed: Vec<(String, String)> = sqlx::query_as(
            "SELECT ci.stripe_item_id, i.stripe_price_id FROM contract_items ci JOIN catalogue_items i ON i.id = ci.item_id
             WHERE ci.client_id = ? AND ci.stripe_item_id IS NOT NULL",
        )
        .bind(customer.client_id)
        .fetch_all(db)
        .await?;
        let mut changes: Vec<UpdateSubscriptionItems> = billed
            .iter()
            .filter(|(_, price)| !wanted.contains(price))
            .map(|(item, _)| UpdateSubscriptionItems {
                id: Some(item.clone()),
                deleted: Some(true),
                ..UpdateSubscriptionItems::new()
            })
            .collect();
        changes.extend(
            wanted
                .iter()
                .filter(|price| !billed.iter().any(|(_, billed)| billed == *price))
                .map(|price| UpdateSubscriptionItems {
                    price: Some(price.clone()),
                    quantity: Some(1),
                    ..UpdateSubscriptionItems::new()
                }),
        );
        if changes.is_empty() {
            return Ok(());
        }
        let subscription = UpdateSubscription::new(subscription_id.as_str())
            .items(changes)
            .proration_behavior(UpdateSubscriptionProrationBehavior::CreateProrations)
            .send(&self.client)
            .await?;
        self.follow(db, customer, &subscription).await
    }

    /// Makes the contract what `subscription` (fresh from Stripe) says.
    async fn follow(
        &self,
        db: &SqlitePool,
        customer: &Customer,
        subscription: &stripe_billing::Subscription,
    ) -> Result<(), BillingError> {
        let mut tx = db.begin().await?;
        contracts::apply_subscription(
            &mut tx,
            customer.agency_id,
            customer.client_id,
            &subscription_state(subscription),
            None,
            super::now_ms(),
            self.grace_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A Customer Portal session where the client admin sees invoices and changes the card.
    pub async fn portal(&self, db: &SqlitePool, customer: &Customer, return_url: &str) -> Result<String, BillingError> {
        let customer_id = self.customer(db, customer).await?;
        let mut request = CreateBillingPortalSession::new()
            .customer(customer_id)
            .return_url(return_url);
        {
            let locale: stripe_billing::BillingPortalSessionLocale = customer
                .language
                .parse()
                .unwrap_or(stripe_billing::BillingPortalSessionLocale::Auto);
            request = request.locale(locale);
        }
        Ok(request.send(&self.client).await?.url)
    }
}

fn subscription_state(subscription: &stripe_billing::Subscription) -> Subscription {
    Subscription {
        id: subscription.id.to_string(),
        customer: subscription.customer.id().to_string(),
        status: subscription.status.as_str().to_string(),
        items: subscription
            .items
            .data
            .iter()
            .map(|item| (item.id.to_string(), item.price.id.to_string()))
            .collect(),
    }
}

struct Prices {
    recurring: Vec<String>,
    setup: Vec<String>,
}

/// The Stripe prices that bill `items`: each needs its monthly price, and its setup price when
/// it has a setup fee.
fn prices(items: &[Item]) -> Result<Prices, BillingError> {
    if items.is_empty() {
        return Err(BillingError::NothingChosen);
    }
    let mut prices = Prices {
        recurring: Vec::new(),
        setup: Vec::new(),
    };
    for item in items {
        if item.stripe_price_id.is_empty() || (item.setup_cents > 0 && item.stripe_setup_price_id.is_empty()) {
            return Err(BillingError::NoPrice(item.name_en.clone()));
        }
        prices.recurring.push(item.stripe_price_id.clone());
        if item.setup_cents > 0 {
            prices.setup.push(item.stripe_setup_price_id.clone());
        }
    }
    Ok(prices)
}
