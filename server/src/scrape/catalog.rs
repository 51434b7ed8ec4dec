//! What scrapes tell besides samples: HELP/TYPE/UNIT per metric name and
//! client, and the latest exemplar of each series, kept in memory for the
//! query API (`/api/v1/metadata`, `/api/v1/query_exemplars`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, RwLock};
use vitrine_tsdb::Tenant;
use vitrine_tsdb::head::SeriesRef;

/// Most exemplars kept per client; the oldest series' exemplar goes first.
pub const EXEMPLARS_PER_CLIENT: usize = 10_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricMeta {
    /// `counter`, `gauge`, `histogram`, … as declared by `# TYPE`.
    pub kind: String,
    pub help: String,
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: i64,
}

#[derive(Default)]
struct TenantExemplars {
    by_series: HashMap<SeriesRef, Exemplar>,
    order: VecDeque<SeriesRef>,
}

#[derive(Default)]
pub struct Catalog {
    metadata: RwLock<HashMap<Tenant, HashMap<String, MetricMeta>>>,
    exemplars: Mutex<HashMap<Tenant, TenantExemplars>>,
}

impl Catalog {
    /// Records what a scrape declared for `metric` (only what changed takes the write lock).
    pub fn declare(&self, tenant: Tenant, metric: &str, update: impl Fn(&mut MetricMeta)) {
        let current = self
            .metadata
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .and_then(|m| m.get(metric).cloned());
        let mut next = current.clone().unwrap_or_default();
        update(&mut next);
        if current.as_ref() != Some(&next) {
            self.metadata
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .entry(tenant)
                .or_default()
                .insert(metric.to_string(), next);
        }
    }

    pub fn metadata(&self, tenant: Tenant) -> HashMap<String, MetricMeta> {
        self.metadata
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .cloned()
            .unwrap_or_default()
    }

    pub fn record_exemplar(&self, tenant: Tenant, series: SeriesRef, exemplar: Exemplar) {
        let mut all = self.exemplars.lock().unwrap_or_else(|p| p.into_inner());
        let mine = all.entry(tenant).or_default();
        if mine.by_series.insert(series, exemplar).is_none() {
            mine.order.push_back(series);
            while mine.order.len() > EXEMPLARS_PER_CLIENT {
                if let Some(oldest) = mine.order.pop_front() {
                    mine.by_series.remove(&oldest);
                }
            }
        }
    }

    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the query API (/api/v1/query_exemplars) reads it")
    )]
    pub fn exemplar(&self, tenant: Tenant, series: SeriesRef) -> Option<Exemplar> {
        self.exemplars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)?
            .by_series
            .get(&series)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_exemplars_are_kept_per_client() {
        let catalog = Catalog::default();
        catalog.declare(1, "http_requests_total", |m| m.kind = "counter".into());
        catalog.declare(1, "http_requests_total", |m| m.help = "Requests.".into());
        assert_eq!(
            catalog.metadata(1)["http_requests_total"],
            MetricMeta {
                kind: "counter".into(),
                help: "Requests.".into(),
                unit: String::new()
            }
        );
        assert!(catalog.metadata(2).is_empty());
        for series in 0..(EXEMPLARS_PER_CLIENT as u32 + 5) {
            catalog.record_exemplar(
                1,
                series,
                Exemplar {
                    labels: vec![],
                    value: series as f64,
                    timestamp_ms: 0,
                },
            );
        }
        assert!(catalog.exemplar(1, 0).is_none(), "the oldest went first");
        assert_eq!(
            catalog.exemplar(1, EXEMPLARS_PER_CLIENT as u32).map(|e| e.value),
            Some(EXEMPLARS_PER_CLIENT as f64)
        );
        assert!(catalog.exemplar(2, 5).is_none());
    }
}
