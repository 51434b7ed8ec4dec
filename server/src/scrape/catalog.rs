//! What scrapes tell besides samples: HELP/TYPE/UNIT per metric name and
//! client, and the latest exemplar of each series, kept in memory for the
//! query API (`/api/v1/metadata`, `/api/v1/query_exemplars`).

use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;
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

/// What a `# TYPE`, `# HELP` or `# UNIT` line declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Kind,
    Help,
    Unit,
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
    /// Records what a scrape declared for `metric`. Every scrape repeats the
    /// same declarations, so the usual case only reads and compares.
    pub fn declare(&self, tenant: Tenant, metric: &str, field: Field, value: &str) {
        let get = |meta: &MetricMeta| match field {
            Field::Kind => meta.kind == value,
            Field::Help => meta.help == value,
            Field::Unit => meta.unit == value,
        };
        let known = self
            .metadata
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .and_then(|m| m.get(metric).map(get));
        if known == Some(true) {
            return;
        }
        let mut all = self.metadata.write().unwrap_or_else(|p| p.into_inner());
        let meta = all.entry(tenant).or_default().entry(metric.to_string()).or_default();
        let slot = match field {
            Field::Kind => &mut meta.kind,
            Field::Help => &mut meta.help,
            Field::Unit => &mut meta.unit,
        };
        *slot = value.to_string();
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
        catalog.declare(1, "http_requests_total", Field::Kind, "counter");
        catalog.declare(1, "http_requests_total", Field::Help, "Requests.");
        catalog.declare(1, "http_requests_total", Field::Help, "Requests.");
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
