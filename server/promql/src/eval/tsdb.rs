//! The evaluator over one tenant of Vitrine's store.

use vitrine_tsdb::{Db, Tenant};

use super::storage::{Queryable, StoredSeries};
use crate::labels::Labels;
use crate::matcher::{MatchOp, Matcher};

/// One tenant of a [`Db`], as the evaluator reads it.
///
/// Only equality matchers are handed to the store (they select candidates through its
/// postings); every matcher is then applied here, with Go's regular expression semantics.
pub struct TsdbQueryable<'a> {
    pub db: &'a Db,
    pub tenant: Tenant,
}

impl Queryable for TsdbQueryable<'_> {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<StoredSeries>, String> {
        let exact: Vec<vitrine_tsdb::Matcher> = matchers
            .iter()
            .filter(|m| m.op == MatchOp::Equal && !m.value.is_empty())
            .map(|m| vitrine_tsdb::Matcher::equal(&m.name, &m.value))
            .collect();
        let found = self
            .db
            .select(self.tenant, &exact, mint, maxt)
            .map_err(|e| e.to_string())?;
        Ok(found
            .into_iter()
            .filter_map(|s| {
                let labels = Labels::new(s.labels.into_pairs());
                matchers
                    .iter()
                    .all(|m| m.matches(labels.value(&m.name)))
                    .then_some(StoredSeries {
                        labels,
                        samples: s.samples,
                    })
            })
            .collect())
    }
}
