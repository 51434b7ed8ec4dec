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

/// Most metric names whose HELP/TYPE/UNIT a client's targets may declare; later names are
/// not kept (their samples are). The default of `catalog_max_entries_per_client`.
pub const DEFAULT_MAX_ENTRIES_PER_CLIENT: usize = 10_000;
/// Longer HELP texts are cut (at a character boundary), longer UNITs and names not kept.
pub const MAX_HELP_BYTES: usize = 1024;
pub const MAX_UNIT_BYTES: usize = 64;
pub const MAX_METRIC_NAME_BYTES: usize = 512;

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

/// One declaration of a scrape, kept until the scrape has succeeded.
#[derive(Debug)]
pub struct Declaration {
    metric: String,
    field: Field,
    value: String,
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

/// A metric's declarations and the targets that declared them: when the last of these
/// targets is removed, the metric is forgotten.
struct Declared {
    meta: MetricMeta,
    targets: Vec<i64>,
}

pub struct Catalog {
    max_entries_per_client: usize,
    metadata: RwLock<HashMap<Tenant, HashMap<String, Declared>>>,
    exemplars: Mutex<HashMap<Tenant, TenantExemplars>>,
}

impl Default for Catalog {
    fn default() -> Catalog {
        Catalog::new(DEFAULT_MAX_ENTRIES_PER_CLIENT)
    }
}

impl MetricMeta {
    fn get(&self, field: Field) -> &str {
        match field {
            Field::Kind => &self.kind,
            Field::Help => &self.help,
            Field::Unit => &self.unit,
        }
    }

    fn set(&mut self, field: Field, value: String) {
        let slot = match field {
            Field::Kind => &mut self.kind,
            Field::Help => &mut self.help,
            Field::Unit => &mut self.unit,
        };
        *slot = value;
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Catalog {
    pub fn new(max_entries_per_client: usize) -> Catalog {
        Catalog {
            max_entries_per_client,
            metadata: RwLock::default(),
            exemplars: Mutex::default(),
        }
    }

    /// What a scrape of `target` declared for `metric`, to be kept with [`Catalog::declare`]
    /// once the scrape succeeded; `None` when the catalog already holds it (every scrape
    /// repeats the same declarations, so the usual case only reads and compares) or when
    /// it is not kept (too long a name or unit).
    pub fn pending(&self, tenant: Tenant, target: i64, metric: &str, field: Field, value: &str) -> Option<Declaration> {
        let value = match field {
            Field::Help => cut(value, MAX_HELP_BYTES),
            Field::Unit if value.len() > MAX_UNIT_BYTES => return None,
            Field::Kind | Field::Unit => value,
        };
        if metric.len() > MAX_METRIC_NAME_BYTES {
            return None;
        }
        let known = self
            .metadata
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .and_then(|m| m.get(metric))
            .is_some_and(|d| d.targets.contains(&target) && d.meta.get(field) == value);
        (!known).then(|| Declaration {
            metric: metric.to_owned(),
            field,
            value: value.to_owned(),
        })
    }

    /// Keeps what a successful scrape of `target` declared, up to the client's limit of
    /// metric names.
    pub fn declare(&self, tenant: Tenant, target: i64, declarations: Vec<Declaration>) {
        if declarations.is_empty() {
            return;
        }
        let mut all = self.metadata.write().unwrap_or_else(|p| p.into_inner());
        let mine = all.entry(tenant).or_default();
        for Declaration { metric, field, value } in declarations {
            let full = mine.len() >= self.max_entries_per_client;
            let declared = match mine.get_mut(&metric) {
                Some(declared) => declared,
                None if full => continue,
                None => mine.entry(metric).or_insert(Declared {
                    meta: MetricMeta::default(),
                    targets: Vec::new(),
                }),
            };
            declared.meta.set(field, value);
            if !declared.targets.contains(&target) {
                declared.targets.push(target);
            }
        }
    }

    /// Forgets what a removed (or changed) target declared: metrics no other target of the
    /// client declares go.
    pub fn forget_target(&self, tenant: Tenant, target: i64) {
        let mut all = self.metadata.write().unwrap_or_else(|p| p.into_inner());
        let Some(mine) = all.get_mut(&tenant) else { return };
        mine.retain(|_, declared| {
            declared.targets.retain(|t| *t != target);
            !declared.targets.is_empty()
        });
        if mine.is_empty() {
            all.remove(&tenant);
        }
    }

    pub fn metadata(&self, tenant: Tenant) -> HashMap<String, MetricMeta> {
        self.metadata
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .map(|m| m.iter().map(|(name, d)| (name.clone(), d.meta.clone())).collect())
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

    /// What one successful scrape of `target` declares.
    fn scrape(catalog: &Catalog, tenant: Tenant, target: i64, lines: &[(&str, Field, &str)]) {
        let declared = lines
            .iter()
            .filter_map(|(metric, field, value)| catalog.pending(tenant, target, metric, *field, value))
            .collect();
        catalog.declare(tenant, target, declared);
    }

    #[test]
    fn metadata_and_exemplars_are_kept_per_client() {
        let catalog = Catalog::default();
        scrape(
            &catalog,
            1,
            7,
            &[
                ("http_requests_total", Field::Kind, "counter"),
                ("http_requests_total", Field::Help, "Requests."),
            ],
        );
        assert!(
            catalog
                .pending(1, 7, "http_requests_total", Field::Help, "Requests.")
                .is_none(),
            "a repeated declaration is already known"
        );
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

    #[test]
    fn a_client_keeps_at_most_its_limit_of_metric_names() {
        let catalog = Catalog::new(3);
        let names: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
        let lines: Vec<_> = names.iter().map(|n| (n.as_str(), Field::Kind, "gauge")).collect();
        scrape(&catalog, 1, 7, &lines);
        let kept = catalog.metadata(1);
        assert_eq!(kept.len(), 3);
        // Known names still change; the other client has its own limit.
        let first = kept.keys().next().unwrap().clone();
        scrape(&catalog, 1, 7, &[(first.as_str(), Field::Help, "Now explained.")]);
        assert_eq!(catalog.metadata(1)[&first].help, "Now explained.");
        scrape(&catalog, 2, 8, &lines);
        assert_eq!(catalog.metadata(2).len(), 3);
    }

    #[test]
    fn long_texts_are_cut_or_refused() {
        let catalog = Catalog::default();
        let help = "ä".repeat(MAX_HELP_BYTES); // two bytes each
        let unit = "u".repeat(MAX_UNIT_BYTES + 1);
        let name = "n".repeat(MAX_METRIC_NAME_BYTES + 1);
        scrape(
            &catalog,
            1,
            7,
            &[
                ("m", Field::Help, &help),
                ("m", Field::Unit, &unit),
                (&name, Field::Kind, "gauge"),
            ],
        );
        let kept = catalog.metadata(1);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept["m"].help, "ä".repeat(MAX_HELP_BYTES / 2));
        assert_eq!(kept["m"].unit, "");
        assert!(
            catalog.pending(1, 7, "m", Field::Help, &help).is_none(),
            "the cut text is known"
        );
    }

    #[test]
    fn a_removed_target_takes_what_only_it_declared() {
        let catalog = Catalog::default();
        scrape(
            &catalog,
            1,
            7,
            &[("shared", Field::Kind, "gauge"), ("only_seven", Field::Kind, "counter")],
        );
        scrape(&catalog, 1, 8, &[("shared", Field::Kind, "gauge")]);
        catalog.forget_target(1, 7);
        let kept = catalog.metadata(1);
        assert!(
            kept.contains_key("shared") && !kept.contains_key("only_seven"),
            "{kept:?}"
        );
        catalog.forget_target(1, 8);
        assert!(catalog.metadata(1).is_empty());
    }
}
