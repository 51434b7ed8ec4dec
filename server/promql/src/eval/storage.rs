//! What the evaluator reads series from.

use super::EvalError;
use crate::labels::Labels;
use crate::matcher::Matcher;
use std::sync::atomic::AtomicBool;

/// The bit pattern Prometheus writes to mark a series stale (`value.StaleNaN`).
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// Whether `v` is a staleness marker (the exact bit pattern, not any NaN).
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN
}

/// One series as read from storage: its labels and its samples (timestamp in milliseconds,
/// value), in increasing time order. Staleness markers are samples with the value
/// [`STALE_NAN`].
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// What one selection may load: the evaluation's limits, for a storage that checks them
/// before it loads anything (and a cancellation it checks while it reads).
#[derive(Clone, Copy, Debug, Default)]
pub struct SelectLimits<'a> {
    pub max_series: Option<usize>,
    pub max_samples: Option<usize>,
    pub cancel: Option<&'a AtomicBool>,
}

/// A source of series, already scoped to one tenant.
///
/// `select` returns the series matching every matcher (an absent label matches as ""), with
/// their samples in `[mint, maxt]` (both ends included). Series without samples in that range
/// may be left out or returned empty; samples outside it are ignored. The order does not
/// matter: the evaluator sorts by labels, as Prometheus' merged block queriers return them.
/// A storage that knows a selection is over `limits` refuses it with
/// [`EvalError::TooManySeries`] or [`EvalError::TooManySamples`] instead of loading it.
pub trait Queryable {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        limits: &SelectLimits<'_>,
    ) -> Result<Vec<StoredSeries>, EvalError>;
}

impl<Q: Queryable + ?Sized> Queryable for &Q {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        limits: &SelectLimits<'_>,
    ) -> Result<Vec<StoredSeries>, EvalError> {
        (**self).select(matchers, mint, maxt, limits)
    }
}

/// Series kept in memory: for tests, and for evaluating over data already at hand.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    series: Vec<StoredSeries>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds samples to the series with these labels (created if new). Samples are kept sorted
    /// by time; a sample at a timestamp already present replaces the old one.
    pub fn add(&mut self, labels: Labels, samples: impl IntoIterator<Item = (i64, f64)>) {
        let idx = match self.series.iter().position(|s| s.labels == labels) {
            Some(i) => i,
            None => {
                self.series.push(StoredSeries {
                    labels,
                    samples: Vec::new(),
                });
                self.series.len() - 1
            }
        };
        let s = &mut self.series[idx].samples;
        s.extend(samples);
        s.sort_by_key(|(t, _)| *t);
        // Keep the last written value for a repeated timestamp.
        let mut out: Vec<(i64, f64)> = Vec::with_capacity(s.len());
        for (t, v) in s.drain(..) {
            match out.last_mut() {
                Some(last) if last.0 == t => last.1 = v,
                _ => out.push((t, v)),
            }
        }
        *s = out;
    }

    /// Adds one sample.
    pub fn push(&mut self, labels: &Labels, t: i64, v: f64) {
        match self.series.iter_mut().find(|s| s.labels == *labels) {
            Some(s) if s.samples.last().is_none_or(|(last, _)| *last < t) => s.samples.push((t, v)),
            _ => self.add(labels.clone(), [(t, v)]),
        }
    }

    pub fn series(&self) -> &[StoredSeries] {
        &self.series
    }
}

impl Queryable for MemoryStorage {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        _limits: &SelectLimits<'_>,
    ) -> Result<Vec<StoredSeries>, EvalError> {
        Ok(self
            .series
            .iter()
            .filter(|s| matchers.iter().all(|m| m.matches(s.labels.value(&m.name))))
            .filter_map(|s| {
                let from = s.samples.partition_point(|(t, _)| *t < mint);
                let to = s.samples.partition_point(|(t, _)| *t <= maxt);
                (from < to).then(|| StoredSeries {
                    labels: s.labels.clone(),
                    samples: s.samples[from..to].to_vec(),
                })
            })
            .collect())
    }
}
