//! Scrape target configuration, relabelling, `prometheus.yml` import and the address guard.
//!
//! Pure logic for Vitrine's scraper: no network, no database.
//!
//! * [`ScrapeTarget`] — one endpoint to scrape, valid by construction ([`ScrapeTarget::builder`]):
//!   a [`ScrapeUrl`], interval and timeout ([`PromDuration`]), job name, extra labels,
//!   [`Auth`] with [`Secret`]s that never print, [`TlsConfig`], relabelling and [`Limits`].
//!   Building a target applies its relabelling like Prometheus does, so its URL and labels
//!   are the ones that will really be used.
//! * [`PromDuration`] — durations in Prometheus syntax (`15s`, `1m30s`, `1w`).
//! * [`relabel()`] with [`RelabelConfig`] — Prometheus 2.42 relabelling, all eleven actions,
//!   Go regex and template semantics, the same `hashmod` hash.
//! * [`import_prometheus_yml`] — turns a `prometheus.yml` into jobs and targets, listing
//!   every setting it did not import ([`Unsupported`]) and failing with a line, a column
//!   and a hint ([`ImportError`]). [`ScrapeTarget::to_prometheus_yml`] writes a target
//!   back as a `prometheus.yml` that imports into an equal target (secrets included), and
//!   [`parse_relabel_configs`] reads a list of relabel rules typed into a form.
//! * [`rule_file::parse_rule_file`] — reads a Prometheus rule file (`groups:` of alerting and
//!   recording rules) as strictly as Prometheus' `rulefmt`, errors with line, column and hint.
//! * [`AddressPolicy`] — refuses loopback, private, link-local, metadata and other
//!   non-public addresses (also in their IPv6 disguises) unless allow-listed; the
//!   [`address`] module lists every range covered.
//!
//! Everything is re-exported at the crate root; the modules hold the longer explanations.

#![warn(missing_docs)]

pub mod address;
pub mod alertmanager_config;
pub mod duration;
mod export;
mod go_regex;
pub mod import;
pub mod labels;
pub mod relabel;
pub mod rule_file;
pub mod rule_test;
pub mod secret;
pub mod size;
pub mod target;
mod yaml;

#[cfg(test)]
mod roundtrip_tests;

pub use address::{AddressPolicy, Embedding, Forbidden, IpNet, PolicyError, RangeKind, classify};
pub use duration::{DurationError, PromDuration};
pub use import::{
    GlobalDefaults, Import, ImportError, ImportedJob, Unsupported, import_prometheus_yml, parse_relabel_configs,
};
pub use labels::{RESERVED_LABEL_NAMES, is_valid_label_name, reserved_label_reason};
pub use relabel::{Action, RelabelConfig, RelabelConfigError, RelabelRegex, RelabelSpec, hashmod, relabel};
pub use secret::Secret;
pub use size::{ByteSizeError, parse_byte_size};
pub use target::{
    Auth, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, Limits, Scheme, ScrapeTarget, ScrapeUrl, TargetBuilder, TargetError,
    TlsConfig, UrlError,
};
