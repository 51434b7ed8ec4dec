//! Running PromQL for one client: the one way the API, the Explore page and (later) dashboards
//! and thresholds evaluate a query. It applies the configured limits — evaluation timeout,
//! samples in memory, series in a result — and lets each client run only a few queries at a
//! time, so one client cannot starve the others; all running queries together hold at most
//! `query_memory_budget_bytes` of samples (a query that would go over answers "busy" at once,
//! the others run on). A query whose caller goes away (a closed connection) is cancelled
//! instead of running on.

use crate::config::Config;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vitrine_promql::{EvalError, EvalOptions, Expr, Value};
use vitrine_tsdb::{Budget, Db, MemoryPool, QueryMemory, SelectError, Tenant};

/// The limits of one query, from the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryLimits {
    pub timeout: Duration,
    pub max_samples: usize,
    pub max_series_returned: usize,
    pub max_series_per_selector: usize,
    pub concurrent_per_client: usize,
    pub threads: usize,
    /// What all running queries together may hold in decoded samples.
    pub memory_budget_bytes: usize,
}

impl QueryLimits {
    pub fn from_config(config: &Config) -> QueryLimits {
        QueryLimits {
            timeout: Duration::from_secs(config.query_timeout_secs.max(1)),
            max_samples: config.query_max_samples,
            max_series_returned: config.query_max_series,
            max_series_per_selector: config.query_max_series_per_selector,
            concurrent_per_client: config.query_concurrency_per_client.max(1),
            threads: config.query_threads.clamp(1, 64),
            memory_budget_bytes: config.query_memory_budget_bytes,
        }
    }
}

/// What a query is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// The value at one time (ms).
    Instant(i64),
    /// Every `step` ms from `start` to `end`.
    Range { start: i64, end: i64, step: i64 },
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The engine's own error, with Prometheus' text.
    #[error("{0}")]
    Eval(#[from] EvalError),
    #[error(
        "the query returned {found} series, more than the limit of {limit}; narrow it down with label matchers or an aggregation"
    )]
    TooManySeries { found: usize, limit: usize },
    #[error("this client already runs {0} queries at once; try again in a moment")]
    Busy(usize),
    #[error("the query could not run: {0}")]
    Internal(String),
}

impl From<SelectError> for QueryError {
    fn from(e: SelectError) -> QueryError {
        QueryError::Eval(e.into())
    }
}

/// The query runner shared by every request.
pub struct Queries {
    tsdb: Arc<Db>,
    limits: QueryLimits,
    running: Mutex<HashMap<Tenant, usize>>,
    memory: Arc<MemoryPool>,
}

impl Queries {
    pub fn new(tsdb: Arc<Db>, limits: QueryLimits) -> Arc<Queries> {
        Arc::new(Queries {
            tsdb,
            memory: Arc::new(MemoryPool::new(limits.memory_budget_bytes)),
            limits,
            running: Mutex::default(),
        })
    }

    /// Evaluates `expr` over the client's series. `timeout` may shorten the configured one.
    pub async fn run(
        self: &Arc<Self>,
        tenant: Tenant,
        expr: Expr,
        span: Span,
        timeout: Option<Duration>,
    ) -> Result<Value, QueryError> {
        let slot = self.take_slot(tenant)?;
        let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
        let opts = EvalOptions {
            timeout: Some(timeout.map_or(self.limits.timeout, |t| t.min(self.limits.timeout))),
            max_samples: self.limits.max_samples,
            max_series_per_selector: Some(self.limits.max_series_per_selector),
            max_samples_loaded: Some(self.limits.max_samples),
            cancel: Some(cancel.0.clone()),
            threads: self.limits.threads,
            ..EvalOptions::default()
        };
        let queries = self.clone();
        let value = tokio::task::spawn_blocking(move || {
            // The slot is held until the evaluation ends, even when the caller has gone.
            let _slot = slot;
            let memory = QueryMemory::new(queries.memory.clone());
            let storage = vitrine_promql::eval::TsdbQueryable {
                db: &queries.tsdb,
                tenant,
                memory: Some(&memory),
            };
            match span {
                Span::Instant(t) => vitrine_promql::eval_instant(&storage, &expr, t, &opts),
                Span::Range { start, end, step } => {
                    vitrine_promql::eval_range(&storage, &expr, start, end, step, &opts).map(Value::Matrix)
                }
            }
        })
        .await
        .map_err(|e| QueryError::Internal(e.to_string()))??;
        let found = match &value {
            Value::Vector(v) => v.len(),
            Value::Matrix(m) => m.len(),
            Value::Scalar { .. } | Value::String { .. } => 1,
        };
        if found > self.limits.max_series_returned {
            return Err(QueryError::TooManySeries {
                found,
                limit: self.limits.max_series_returned,
            });
        }
        Ok(value)
    }

    /// Reads the client's series index (the API's series, labels, label values, exemplars) as
    /// a query: in one of the client's concurrent slots, on a blocking thread, within the
    /// per-selector series limit, cancelled when the caller goes away.
    pub async fn read_index<T: Send + 'static>(
        self: &Arc<Self>,
        tenant: Tenant,
        read: impl FnOnce(&Db, &Budget<'_>) -> Result<T, SelectError> + Send + 'static,
    ) -> Result<T, QueryError> {
        let slot = self.take_slot(tenant)?;
        let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
        let flag = cancel.0.clone();
        let queries = self.clone();
        let found = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let memory = QueryMemory::new(queries.memory.clone());
            let budget = Budget::new(
                queries.limits.max_series_per_selector,
                queries.limits.max_samples,
                Some(&flag),
            )
            .with_memory(Some(&memory));
            read(&queries.tsdb, &budget)
        })
        .await
        .map_err(|e| QueryError::Internal(e.to_string()))??;
        drop(cancel);
        Ok(found)
    }

    fn take_slot(self: &Arc<Self>, tenant: Tenant) -> Result<Slot, QueryError> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let count = running.entry(tenant).or_default();
        if *count >= self.limits.concurrent_per_client {
            return Err(QueryError::Busy(*count));
        }
        *count += 1;
        Ok(Slot {
            queries: self.clone(),
            tenant,
        })
    }
}

/// One of a client's concurrent query slots, given back on drop.
struct Slot {
    queries: Arc<Queries>,
    tenant: Tenant,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.queries.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.tenant) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.tenant);
            }
        }
    }
}

/// Cancels the evaluation when the request future is dropped before it finishes.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitrine_tsdb::{Labels, Options};

    fn queries(limits: QueryLimits) -> (tempfile::TempDir, Arc<Queries>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
        let mut app = db.appender();
        for i in 0..5 {
            let labels = Labels::from_pairs(&[("__name__", "up"), ("instance", &format!("i{i}"))]);
            let series = app.series(1, &labels);
            app.add(series, 1_000, 1.0);
        }
        app.commit().unwrap();
        (dir, Queries::new(db, limits))
    }

    fn limits() -> QueryLimits {
        QueryLimits {
            timeout: Duration::from_secs(10),
            max_samples: 1_000_000,
            max_series_returned: 3,
            max_series_per_selector: 100,
            concurrent_per_client: 1,
            threads: 2,
            memory_budget_bytes: usize::MAX,
        }
    }

    #[tokio::test]
    async fn results_larger_than_the_limit_are_refused_with_the_count() {
        let (_dir, q) = queries(limits());
        let ok = q
            .run(1, vitrine_promql::parse("sum(up)").unwrap(), Span::Instant(1_000), None)
            .await
            .unwrap();
        assert!(matches!(ok, Value::Vector(v) if v.len() == 1 && v[0].v == 5.0));
        let err = q
            .run(1, vitrine_promql::parse("up").unwrap(), Span::Instant(1_000), None)
            .await
            .unwrap_err();
        assert!(matches!(err, QueryError::TooManySeries { found: 5, limit: 3 }), "{err}");
    }

    #[tokio::test]
    async fn a_client_at_its_concurrency_limit_is_refused_while_others_run() {
        let (_dir, q) = queries(limits());
        let held = q.take_slot(1).unwrap();
        let busy = q
            .run(1, vitrine_promql::parse("sum(up)").unwrap(), Span::Instant(1_000), None)
            .await;
        assert!(matches!(busy, Err(QueryError::Busy(1))));
        // Another client is not affected, and the slot comes back when released.
        let other = q
            .run(2, vitrine_promql::parse("sum(up)").unwrap(), Span::Instant(1_000), None)
            .await
            .unwrap();
        assert!(matches!(other, Value::Vector(v) if v.is_empty()));
        drop(held);
        assert!(
            q.run(1, vitrine_promql::parse("sum(up)").unwrap(), Span::Instant(1_000), None)
                .await
                .is_ok()
        );
        assert!(q.running.lock().unwrap().is_empty());
    }

    /// Running queries hold 98 of the 100 samples' worth the server allows: a query that
    /// needs five more is refused at once, one that needs one runs; all is given back.
    #[tokio::test]
    async fn a_query_over_the_shared_memory_budget_answers_busy_at_once() {
        let (_dir, q) = queries(QueryLimits {
            memory_budget_bytes: 100 * vitrine_tsdb::BYTES_PER_SAMPLE,
            concurrent_per_client: 4,
            max_series_returned: 100,
            ..limits()
        });
        let running = QueryMemory::new(q.memory.clone());
        running.reserve(98).unwrap();
        let started = std::time::Instant::now();
        let refused = q
            .run(1, vitrine_promql::parse("up").unwrap(), Span::Instant(1_000), None)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, QueryError::Eval(EvalError::OutOfMemory(_))),
            "{refused}"
        );
        assert!(refused.to_string().contains("try again in a moment"), "{refused}");
        assert!(started.elapsed() < Duration::from_secs(1));
        let small = q
            .run(2, vitrine_promql::parse("up").unwrap(), Span::Instant(1_000), None)
            .await
            .unwrap();
        assert!(matches!(small, Value::Vector(v) if v.is_empty()));
        let one = q
            .run(
                1,
                vitrine_promql::parse("up{instance=\"i0\"}").unwrap(),
                Span::Instant(1_000),
                None,
            )
            .await
            .unwrap();
        assert!(matches!(one, Value::Vector(v) if v.len() == 1));
        assert_eq!(
            q.memory.used(),
            98 * vitrine_tsdb::BYTES_PER_SAMPLE,
            "finished queries gave theirs back"
        );
        drop(running);
        assert!(
            q.run(1, vitrine_promql::parse("up").unwrap(), Span::Instant(1_000), None)
                .await
                .is_ok()
        );
        assert_eq!(q.memory.used(), 0);
    }

    #[tokio::test]
    async fn a_selector_over_the_limits_is_refused_with_prometheus_error() {
        let run = |max_series_per_selector: usize, max_samples: usize, promql: &'static str| async move {
            let (_dir, q) = queries(QueryLimits {
                max_samples,
                max_series_per_selector,
                max_series_returned: 100,
                ..limits()
            });
            q.run(1, vitrine_promql::parse(promql).unwrap(), Span::Instant(1_000), None)
                .await
                .map_err(|e| e.to_string())
        };
        let every = "count_over_time({__name__=~\".+\"}[30d])";
        assert_eq!(
            run(4, 100, every).await.unwrap_err(),
            "query would load more than 4 series from one selector"
        );
        // Five series of one sample each: within the series limit, over the samples.
        assert_eq!(
            run(10, 4, every).await.unwrap_err(),
            "query processing would load too many samples into memory in query execution"
        );
        let four = run(10, 4, "up{instance!=\"i4\"}").await;
        assert!(four.is_ok(), "{four:?}");
    }

    #[test]
    fn dropping_the_request_cancels_the_evaluation() {
        let flag = Arc::new(AtomicBool::new(false));
        drop(CancelOnDrop(flag.clone()));
        assert!(flag.load(Ordering::Relaxed));
    }
}
