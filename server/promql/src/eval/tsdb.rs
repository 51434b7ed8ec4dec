//! The evaluator over one tenant of Vitrine's store.

use vitrine_tsdb::{Budget, Db, QueryMemory, SelectError, Tenant};

use super::EvalError;
use super::storage::{Queryable, SelectLimits, StoredSeries};
use crate::labels::Labels;
use crate::matcher::{MatchOp, Matcher};

/// One tenant of a [`Db`], as the evaluator reads it. Every matcher goes to the store, which
/// selects through its postings, and the limits too: a selection over them is refused from
/// the indexes, before a sample is read.
pub struct TsdbQueryable<'a> {
    pub db: &'a Db,
    pub tenant: Tenant,
    /// The query's share of the memory all running queries may hold, if one is set.
    pub memory: Option<&'a QueryMemory>,
}

impl From<SelectError> for EvalError {
    fn from(e: SelectError) -> EvalError {
        match e {
            SelectError::TooManySamples(_) => EvalError::TooManySamples,
            SelectError::TooManySeries(n) => EvalError::TooManySeries(n),
            SelectError::Canceled => EvalError::Canceled,
            SelectError::OutOfMemory(bytes) => EvalError::OutOfMemory(bytes),
            SelectError::Io(e) => EvalError::Storage(e.to_string()),
        }
    }
}

impl Queryable for TsdbQueryable<'_> {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        limits: &SelectLimits<'_>,
    ) -> Result<Vec<StoredSeries>, EvalError> {
        let matchers: Vec<vitrine_tsdb::Matcher> = matchers.iter().map(store_matcher).collect();
        let budget = Budget::new(
            limits.max_series.unwrap_or(usize::MAX),
            limits.max_samples.unwrap_or(usize::MAX),
            limits.cancel,
        )
        .with_memory(self.memory);
        let found = self.db.select_within(self.tenant, &matchers, mint, maxt, &budget)?;
        Ok(found
            .into_iter()
            .map(|s| StoredSeries {
                labels: Labels::new(s.labels.into_pairs()),
                samples: s.samples,
            })
            .collect())
    }
}

/// A PromQL matcher as the store's, keeping its regex compiled with Go's semantics.
pub fn store_matcher(m: &Matcher) -> vitrine_tsdb::Matcher {
    let op = match m.op {
        MatchOp::Equal => vitrine_tsdb::MatchOp::Equal,
        MatchOp::NotEqual => vitrine_tsdb::MatchOp::NotEqual,
        MatchOp::Regex => vitrine_tsdb::MatchOp::Regex,
        MatchOp::NotRegex => vitrine_tsdb::MatchOp::NotRegex,
    };
    match m.regex() {
        Some(regex) => vitrine_tsdb::Matcher::with_regex(op, &m.name, &m.value, regex.clone()),
        None => vitrine_tsdb::Matcher::equal(&m.name, &m.value).with_op(op),
    }
}
