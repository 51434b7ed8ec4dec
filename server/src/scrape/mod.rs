//! Scraping: targets → HTTP fetch → exposition parser → relabelling → the store.

pub mod catalog;
pub mod fetch;
pub mod ingest;
pub mod manager;
