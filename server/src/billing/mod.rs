//! Billing: the agency's catalogue of a base plan and add-ons, each client's contract and what
//! it entitles the client to, and each agency's own Stripe account (Checkout, subscriptions,
//! the Customer Portal, and the webhook whose events change contracts).

pub mod catalogue;
pub mod contracts;
pub mod entitlements;
pub mod mails;
pub mod stripe;
pub mod webhook;

pub use crate::store::now_ms;

/// What billing needs of the configuration.
pub struct Settings {
    /// Stripe's API (`stripe_api_base`).
    pub api_base: String,
    /// `billing_grace_days` in milliseconds.
    pub grace_ms: i64,
    /// Where the mails' links point.
    pub mail: crate::notify::alert::MailContext,
}

impl Settings {
    pub fn new(config: &crate::config::Config, public_base: &str) -> Settings {
        Settings {
            api_base: config.stripe_api_base.clone(),
            grace_ms: i64::from(config.billing_grace_days) * 86_400_000,
            mail: crate::notify::alert::MailContext::new(public_base),
        }
    }
}
