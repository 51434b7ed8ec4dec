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
mod cache;
pub mod db;
mod enc;
pub mod head;
mod head_chunks;
pub mod labels;
mod postings;
mod slots;
pub mod wal;
pub mod xor;

pub use db::{Db, DbError, Options};
pub use labels::{Labels, MatchOp, Matcher};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// What a decoded sample costs in memory, for [`MemoryPool`]: a timestamp and a value.
pub const BYTES_PER_SAMPLE: usize = 16;

/// The memory all running queries together may hold in decoded samples
/// (`query_memory_budget_bytes`): each query reserves as it decodes, through its
/// [`QueryMemory`], and gives everything back when it ends.
#[derive(Debug)]
pub struct MemoryPool {
    limit_bytes: usize,
    used: AtomicUsize,
}

impl MemoryPool {
    pub fn new(limit_bytes: usize) -> MemoryPool {
        MemoryPool {
            limit_bytes,
            used: AtomicUsize::new(0),
        }
    }

    /// Bytes reserved by running queries now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit_bytes)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// One query's share of a [`MemoryPool`], given back when the query ends (on drop).
#[derive(Debug)]
pub struct QueryMemory {
    pool: Arc<MemoryPool>,
    reserved: AtomicUsize,
}

impl QueryMemory {
    pub fn new(pool: Arc<MemoryPool>) -> QueryMemory {
        QueryMemory {
            pool,
            reserved: AtomicUsize::new(0),
        }
    }

    /// Reserves room for `samples` more decoded samples, or refuses when the running
    /// queries together would hold more than the pool.
    pub fn reserve(&self, samples: usize) -> Result<(), SelectError> {
        let bytes = samples.saturating_mul(BYTES_PER_SAMPLE);
        if !self.pool.reserve(bytes) {
            return Err(SelectError::OutOfMemory(self.pool.limit_bytes));
        }
        self.reserved.fetch_add(bytes, Ordering::AcqRel);
        Ok(())
    }
}

impl Drop for QueryMemory {
    fn drop(&mut self) {
        self.pool.release(*self.reserved.get_mut());
    }
}

/// What one select may load: checked from the indexes before any sample is read (series
/// counted, samples estimated from the chunks' counts), and again while samples are decoded.
pub struct Budget<'a> {
    max_series: usize,
    max_samples: usize,
    cancel: Option<&'a AtomicBool>,
    memory: Option<&'a QueryMemory>,
    loaded: Cell<usize>,
}

impl<'a> Budget<'a> {
    pub fn new(max_series: usize, max_samples: usize, cancel: Option<&'a AtomicBool>) -> Budget<'a> {
        Budget {
            max_series,
            max_samples,
            cancel,
            memory: None,
            loaded: Cell::new(0),
        }
    }

    /// Reserves what the select decodes in the query's share of the memory pool too.
    pub fn with_memory(mut self, memory: Option<&'a QueryMemory>) -> Budget<'a> {
        self.memory = memory;
        self
    }

    /// No limit: for compaction, deletion and snapshots.
    pub fn unlimited() -> Budget<'static> {
        Budget::new(usize::MAX, usize::MAX, None)
    }

    /// Refuses more than the budget's series.
    pub fn series(&self, n: usize) -> Result<(), SelectError> {
        if n > self.max_series {
            return Err(SelectError::TooManySeries(self.max_series));
        }
        Ok(())
    }

    /// Refuses a selection expected to load more samples than allowed.
    pub(crate) fn expect(&self, samples: usize) -> Result<(), SelectError> {
        if samples > self.max_samples {
            return Err(SelectError::TooManySamples(self.max_samples));
        }
        self.check()
    }

    /// Counts samples decoded.
    pub(crate) fn charge(&self, samples: usize) -> Result<(), SelectError> {
        let loaded = self.loaded.get().saturating_add(samples);
        self.loaded.set(loaded);
        self.expect(loaded)?;
        match self.memory {
            Some(memory) => memory.reserve(samples),
            None => Ok(()),
        }
    }

    /// Stops when the query was cancelled.
    pub fn check(&self) -> Result<(), SelectError> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(SelectError::Canceled);
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("the selection would load more than {0} samples")]
    TooManySamples(usize),
    #[error("the selection would load more than {0} series")]
    TooManySeries(usize),
    #[error("the selection was canceled")]
    Canceled,
    #[error("the running queries together would hold more than {0} bytes")]
    OutOfMemory(usize),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<SelectError> for std::io::Error {
    fn from(e: SelectError) -> std::io::Error {
        match e {
            SelectError::Io(e) => e,
            other => std::io::Error::other(other.to_string()),
        }
    }
}

/// Samples of a chunk expected in `[mint, maxt]`: its count times the share of its time
/// span inside the range (samples are about evenly spaced).
pub(crate) fn expected_samples(count: u32, min_t: i64, max_t: i64, mint: i64, maxt: i64) -> usize {
    if max_t < mint || min_t > maxt {
        return 0;
    }
    let span = (max_t as i128 - min_t as i128 + 1) as f64;
    let inside = (max_t.min(maxt) as i128 - min_t.max(mint) as i128 + 1) as f64;
    (count as f64 * (inside / span)).ceil() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_share_the_memory_pool_and_give_it_back_when_they_end() {
        let pool = Arc::new(MemoryPool::new(100 * BYTES_PER_SAMPLE));
        let first = QueryMemory::new(pool.clone());
        let budget = Budget::new(10, 1000, None).with_memory(Some(&first));
        budget.charge(60).unwrap();
        let second = QueryMemory::new(pool.clone());
        assert!(
            matches!(second.reserve(50), Err(SelectError::OutOfMemory(_))),
            "60 + 50 > 100"
        );
        second.reserve(40).unwrap();
        assert_eq!(pool.used(), 100 * BYTES_PER_SAMPLE);
        drop(first);
        assert_eq!(pool.used(), 40 * BYTES_PER_SAMPLE);
        second.reserve(60).unwrap();
        drop(second);
        assert_eq!(pool.used(), 0);
    }
}
