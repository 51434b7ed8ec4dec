//! Public status pages: HTTP probes, components derived from probes, targets and
//! thresholds, their state history and daily uptime, the public page and its JSON.

pub mod components;
pub mod feeds;
pub mod incidents;
pub mod page;
pub mod probes;
pub mod routes;
pub mod subscribers;
pub mod uptime;
