//! Vitrine's embedded time-series store.
//!
//! - [`head`]: recent samples in memory (Gorilla chunks, [`xor`]) with postings per tenant and label pair;
//! - [`wal`]: the write-ahead log that makes the head durable, replayed at start;
//! - [`block`]: immutable, compressed blocks on disk, one directory per tenant;
//! - [`db`]: the store that ties them together (append, select, compaction, retention, deletion).
//!
//! The tenant (a client) is part of every series key: no matcher can reach
//! another tenant's series.

mod bits;
pub mod block;
pub mod db;
mod enc;
pub mod head;
pub mod labels;
pub mod wal;
pub mod xor;

pub use db::{Db, DbError, Options};
pub use labels::{Labels, MatchOp, Matcher};

/// The client a series belongs to.
pub type Tenant = u32;

/// The bit pattern Prometheus writes to mark a series stale.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN
}

/// One series and its samples, as a query reads them.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesData {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error("out of order sample")]
    OutOfOrder,
    #[error("duplicate sample for timestamp")]
    DuplicateTimestamp,
    #[error("out of bounds: older than the head")]
    OutOfBounds,
    #[error("unknown series reference")]
    UnknownSeries,
}
