#![recursion_limit = "256"]
//! Vitrine's user interface: Leptos components rendered on the server.
//!
//! The server decides what a request shows (after authentication and the
//! scoped tenant lookup) and hands a [`dto::Page`] to [`shell`]. Pages are plain
//! HTML with forms that work without JavaScript; only `#[island]` components
//! are compiled to WebAssembly and hydrated in the browser.

// The build.rs code generator that replaces this macro needs a second crate
// and gives nothing we use yet; the macro reads the same `locales/*.json`.
#[cfg(feature = "ssr")]
#[allow(deprecated)]
mod locales {
    leptos_i18n::load_locales!();
}
#[cfg(feature = "ssr")]
use locales::i18n;

// Everything but the islands is rendered on the server and never compiled to WebAssembly.
#[cfg(feature = "ssr")]
mod account;
/// The agency's catalogue and Stripe account; a client's contract.
#[cfg(feature = "ssr")]
pub mod billing;
#[cfg(feature = "ssr")]
pub mod channels;
#[cfg(feature = "ssr")]
pub mod dashboards;
#[cfg(feature = "ssr")]
pub mod dto;
#[cfg(feature = "ssr")]
mod explore;
mod islands;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
mod outbox;
#[cfg(feature = "ssr")]
mod pages;
#[cfg(feature = "ssr")]
pub mod status;
#[cfg(feature = "ssr")]
mod status_settings;
#[cfg(feature = "ssr")]
mod targets;
#[cfg(feature = "ssr")]
mod text;
#[cfg(feature = "ssr")]
pub mod thresholds;
#[cfg(feature = "ssr")]
pub mod units;

#[cfg(feature = "ssr")]
pub use explore::short_number;
#[cfg(feature = "ssr")]
pub use i18n::Locale;
#[cfg(feature = "ssr")]
pub use pages::shell;
#[cfg(feature = "ssr")]
pub use text::{language_tag, locale_from_tag};

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
