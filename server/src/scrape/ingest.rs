//! One scrape's body into the store: parse, add the target's labels, apply
//! `metric_relabel_configs`, enforce the limits, append, and mark series
//! that disappeared as stale. A scrape is all or nothing: on any error no
//! sample of it is stored.

use super::catalog::{Catalog, Exemplar, Field};
use rustc_hash::{FxHashMap, FxHashSet};
use vitrine_exposition::{EntryRef, Format, ParseError, Parser};
use vitrine_scrape_config::{Limits, RelabelConfig, relabel};
use vitrine_tsdb::head::SeriesRef;
use vitrine_tsdb::{Db, Labels, STALE_NAN, Tenant};

/// The labels Vitrine sets from where a target belongs; nothing a target
/// sends or a relabelling rule writes can change them.
pub const RESERVED: [&str; 2] = ["project", "environment"];

/// Everything about a target that shapes its series.
pub struct TargetLabels {
    pub tenant: Tenant,
    /// The target's row id: what it declared is forgotten when it goes.
    pub target_id: i64,
    /// `job`, `instance` and the target's own labels, after target relabelling.
    pub labels: Vec<(String, String)>,
    pub project: String,
    pub environment: String,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub metric_relabel: Vec<RelabelConfig>,
    pub limits: Limits,
    /// Most series a client may have in the head (cardinality limit).
    pub max_series_per_client: usize,
}

/// How far ahead of the scrape a sample's own timestamp may be (Prometheus'
/// out-of-bounds rule); later samples are refused and counted.
pub const MAX_FUTURE_MS: i64 = 10 * 60 * 1000;

/// What one target remembers between scrapes: the series of each raw
/// label set (`None`: dropped by relabelling), and the series of the last scrape.
/// References the store has forgotten since (a series quiet past a head
/// compaction) are dropped when the store's epoch changes, so such a series
/// is looked up by its labels again instead of written nowhere.
#[derive(Default)]
pub struct SeriesCache {
    series: FxHashMap<String, Option<SeriesRef>>,
    last_scrape: FxHashSet<SeriesRef>,
    /// The store's epoch the references were checked at.
    epoch: u64,
    /// Reused for the next scrape's series, so steady scrapes allocate no set.
    spare: FxHashSet<SeriesRef>,
    /// Size of the last answer, to size the next buffer.
    pub last_body_len: usize,
    /// The scrape's own series (`up`, `scrape_duration_seconds`, …), in the order they are written.
    pub report: Vec<SeriesRef>,
}

impl SeriesCache {
    /// Drops the references the store no longer has, once per change of its epoch.
    fn forget_gone(&mut self, db: &Db, epoch: u64) {
        if self.epoch == epoch {
            return;
        }
        let head = db.head();
        self.series.retain(|_, series| series.is_none_or(|s| head.is_live(s)));
        self.last_scrape.retain(|s| head.is_live(*s));
        self.epoch = epoch;
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ingested {
    pub scraped: usize,
    pub post_relabel: usize,
    pub added: usize,
    /// Samples refused because their own time is more than [`MAX_FUTURE_MS`] ahead.
    pub future: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the answer is not valid metrics text: {0}")]
    Parse(#[from] ParseError),
    #[error("more than {0} samples (sample_limit)")]
    SampleLimit(u64),
    #[error("a series has more than {0} labels (label_limit)")]
    LabelLimit(u64),
    #[error("the label name {0:?} is longer than {1} characters")]
    LabelNameLength(String, u64),
    #[error("a value of the label {0:?} is longer than {1} characters")]
    LabelValueLength(String, u64),
    #[error("this client has reached its limit of {0} active series; new series are refused")]
    SeriesLimit(usize),
    #[error("the time-series store cannot write: {0}; ingestion is paused until it can")]
    Store(std::io::Error),
}

/// The labels of one sample after the target's labels and relabelling; `None` when dropped.
fn build_labels(name: &str, sample: &[(&str, std::borrow::Cow<'_, str>)], t: &TargetLabels) -> Option<Labels> {
    let mut labels: Vec<(String, String)> = Vec::with_capacity(sample.len() + t.labels.len() + 3);
    labels.push(("__name__".to_string(), name.to_string()));
    labels.extend(sample.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    for (name, value) in &t.labels {
        match labels.iter().position(|(n, _)| n == name) {
            Some(_) if t.honor_labels => {}
            Some(at) => {
                let scraped = std::mem::replace(&mut labels[at].1, value.clone());
                labels.push((format!("exported_{name}"), scraped));
            }
            None => labels.push((name.clone(), value.clone())),
        }
    }
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    if !relabel(&mut labels, &t.metric_relabel) {
        return None;
    }
    labels.retain(|(n, _)| !RESERVED.contains(&n.as_str()));
    labels.push(("project".to_string(), t.project.clone()));
    labels.push(("environment".to_string(), t.environment.clone()));
    Some(Labels::new(labels))
}

fn check_limits(labels: &Labels, limits: &Limits) -> Result<(), IngestError> {
    if let Some(max) = limits.label_limit.filter(|max| labels.len() as u64 > *max) {
        return Err(IngestError::LabelLimit(max));
    }
    for (n, v) in labels.iter() {
        if let Some(max) = limits
            .label_name_length_limit
            .filter(|max| n.chars().count() as u64 > *max)
        {
            return Err(IngestError::LabelNameLength(n.to_string(), max));
        }
        if let Some(max) = limits
            .label_value_length_limit
            .filter(|max| v.chars().count() as u64 > *max)
        {
            return Err(IngestError::LabelValueLength(n.to_string(), max));
        }
    }
    Ok(())
}

/// Parses `body` and appends its samples at `scrape_ms` (or their own
/// timestamps when honoured, unless more than [`MAX_FUTURE_MS`] ahead), plus
/// stale markers for series that vanished.
pub fn ingest(
    db: &Db,
    catalog: &Catalog,
    target: &TargetLabels,
    cache: &mut SeriesCache,
    body: &[u8],
    format: Format,
    scrape_ms: i64,
) -> Result<Ingested, IngestError> {
    // A head compaction that forgets series between the lookups and the commit
    // makes the commit leave their samples out; the next round writes them
    // (the rest are exact duplicates, ignored).
    let mut rounds = 0;
    loop {
        let (report, gone) = ingest_round(db, catalog, target, cache, body, format, scrape_ms)?;
        rounds += 1;
        if gone == 0 || rounds == 3 {
            return Ok(report);
        }
    }
}

/// One attempt of [`ingest`]; also returns how many samples were left out
/// because their series were forgotten meanwhile.
fn ingest_round(
    db: &Db,
    catalog: &Catalog,
    target: &TargetLabels,
    cache: &mut SeriesCache,
    body: &[u8],
    format: Format,
    scrape_ms: i64,
) -> Result<(Ingested, usize), IngestError> {
    let mut parser = Parser::new(body, format);
    let mut appender = db.appender_with_capacity(cache.last_scrape.len());
    cache.forget_gone(db, appender.epoch());
    let mut report = Ingested::default();
    cache.last_body_len = body.len();
    let mut seen = std::mem::take(&mut cache.spare);
    seen.clear();
    let mut key = String::new();
    let mut new_keys: Vec<(String, Option<SeriesRef>)> = Vec::new();
    let mut exemplars: Vec<(SeriesRef, Exemplar)> = Vec::new();
    // Kept only when the scrape succeeds.
    let mut declarations = Vec::new();
    let outcome = (|| {
        while let Some(entry) = parser.next_entry_ref()? {
            let (tenant, id) = (target.tenant, target.target_id);
            let sample = match entry {
                EntryRef::Sample(sample) => sample,
                EntryRef::Type { metric, kind } => {
                    declarations.extend(catalog.pending(tenant, id, metric, Field::Kind, kind.as_str()));
                    continue;
                }
                EntryRef::Help { metric, text } => {
                    declarations.extend(catalog.pending(tenant, id, metric, Field::Help, &text));
                    continue;
                }
                EntryRef::Unit { metric, unit } => {
                    declarations.extend(catalog.pending(tenant, id, metric, Field::Unit, unit));
                    continue;
                }
            };
            report.scraped += 1;
            key.clear();
            key.push_str(sample.name);
            for (n, v) in sample.labels {
                key.push('\u{0}');
                key.push_str(n);
                key.push('\u{1}');
                key.push_str(v);
            }
            let series = match cache.series.get(&key) {
                Some(known) => *known,
                None => {
                    let built = build_labels(sample.name, sample.labels, target);
                    let series = match built {
                        Some(labels) => {
                            check_limits(&labels, &target.limits)?;
                            let Some((series, created)) =
                                appender.series_within(target.tenant, &labels, target.max_series_per_client)
                            else {
                                return Err(IngestError::SeriesLimit(target.max_series_per_client));
                            };
                            report.added += usize::from(created);
                            Some(series)
                        }
                        None => None,
                    };
                    new_keys.push((key.clone(), series));
                    series
                }
            };
            let Some(series) = series else { continue };
            report.post_relabel += 1;
            if let Some(max) = target
                .limits
                .sample_limit
                .filter(|max| report.post_relabel as u64 > *max)
            {
                return Err(IngestError::SampleLimit(max));
            }
            let t = if target.honor_timestamps {
                sample.timestamp_ms.unwrap_or(scrape_ms)
            } else {
                scrape_ms
            };
            if t > scrape_ms.saturating_add(MAX_FUTURE_MS) {
                report.future += 1;
                continue;
            }
            appender.add(series, t, sample.value);
            seen.insert(series);
            if let Some(e) = sample.exemplar {
                exemplars.push((
                    series,
                    Exemplar {
                        labels: e.labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
                        value: e.value,
                        timestamp_ms: e.timestamp_ms.unwrap_or(t),
                    },
                ));
            }
        }
        Ok(())
    })();
    if let Err(e) = outcome {
        // Keep the new series durable (their references are in the head now), drop the samples.
        appender.rollback().map_err(IngestError::Store)?;
        return Err(e);
    }
    for gone in cache.last_scrape.difference(&seen) {
        appender.add(*gone, scrape_ms, f64::from_bits(STALE_NAN));
    }
    let committed = appender.commit().map_err(IngestError::Store)?;
    cache.series.extend(new_keys);
    cache.spare = std::mem::replace(&mut cache.last_scrape, seen);
    catalog.declare(target.tenant, target.target_id, declarations);
    for (series, exemplar) in exemplars {
        catalog.record_exemplar(target.tenant, series, exemplar);
    }
    Ok((report, committed.series_gone))
}

/// After a failed scrape: every series of the last scrape becomes stale.
pub fn mark_stale(db: &Db, cache: &mut SeriesCache, scrape_ms: i64) -> Result<(), IngestError> {
    if cache.last_scrape.is_empty() {
        return Ok(());
    }
    let mut appender = db.appender();
    for series in cache.last_scrape.drain() {
        appender.add(series, scrape_ms, f64::from_bits(STALE_NAN));
    }
    appender.commit().map(|_| ()).map_err(IngestError::Store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitrine_scrape_config::{Action, RelabelSpec};
    use vitrine_tsdb::{Matcher, Options};

    fn target(metric_relabel: Vec<RelabelConfig>, honor_labels: bool) -> TargetLabels {
        TargetLabels {
            tenant: 4,
            target_id: 1,
            labels: vec![
                ("instance".into(), "shop:8080".into()),
                ("job".into(), "shop".into()),
                ("team".into(), "web".into()),
            ],
            project: "shop".into(),
            environment: "live".into(),
            honor_labels,
            honor_timestamps: true,
            metric_relabel,
            limits: Limits::default(),
            max_series_per_client: 1000,
        }
    }

    fn store() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        (dir, db)
    }

    fn all(db: &Db, tenant: Tenant) -> Vec<vitrine_tsdb::SeriesData> {
        db.select(
            tenant,
            &[Matcher::new(vitrine_tsdb::MatchOp::Regex, "__name__", ".+").unwrap()],
            0,
            i64::MAX,
        )
        .unwrap()
    }

    const BODY: &[u8] = b"# TYPE http_requests_total counter\nhttp_requests_total{route=\"/\",job=\"app\",project=\"evil\"} 7\nup_custom 1\n";

    #[test]
    fn samples_get_the_target_labels_and_the_reserved_ones_cannot_be_forged() {
        let (_dir, db) = store();
        let mut cache = SeriesCache::default();
        let report = ingest(
            &db,
            &Catalog::default(),
            &target(vec![], false),
            &mut cache,
            BODY,
            Format::PrometheusText,
            1000,
        )
        .unwrap();
        assert_eq!(
            report,
            Ingested {
                scraped: 2,
                post_relabel: 2,
                added: 2,
                future: 0
            }
        );
        let series = all(&db, 4);
        let requests = series
            .iter()
            .find(|s| s.labels.get("__name__") == Some("http_requests_total"))
            .unwrap();
        assert_eq!(requests.labels.get("job"), Some("shop"));
        assert_eq!(requests.labels.get("exported_job"), Some("app"));
        assert_eq!(requests.labels.get("project"), Some("shop"));
        assert_eq!(requests.labels.get("environment"), Some("live"));
        assert_eq!(requests.labels.get("team"), Some("web"));
        assert_eq!(requests.samples, vec![(1000, 7.0)]);
        assert!(all(&db, 5).is_empty(), "another tenant sees nothing");
    }

    #[test]
    fn honor_labels_keeps_the_scraped_value_but_never_for_reserved_labels() {
        let (_dir, db) = store();
        let rewrite = RelabelConfig::new(RelabelSpec {
            target_label: Some("environment".into()),
            replacement: Some("stage".into()),
            action: Some(Action::Replace),
            ..Default::default()
        })
        .unwrap();
        ingest(
            &db,
            &Catalog::default(),
            &target(vec![rewrite], true),
            &mut SeriesCache::default(),
            BODY,
            Format::PrometheusText,
            1000,
        )
        .unwrap();
        let requests = all(&db, 4)
            .into_iter()
            .find(|s| s.labels.get("route").is_some())
            .unwrap();
        assert_eq!(requests.labels.get("job"), Some("app"));
        assert_eq!(requests.labels.get("exported_job"), None);
        assert_eq!(requests.labels.get("environment"), Some("live"));
        assert_eq!(requests.labels.get("project"), Some("shop"));
    }

    #[test]
    fn vanished_series_get_a_stale_marker_and_dropped_ones_are_not_stored() {
        let (_dir, db) = store();
        let drop = RelabelConfig::new(RelabelSpec {
            source_labels: vec!["__name__".into()],
            regex: Some("up_custom".into()),
            action: Some(Action::Drop),
            ..Default::default()
        })
        .unwrap();
        let t = target(vec![drop], false);
        let mut cache = SeriesCache::default();
        let first = ingest(
            &db,
            &Catalog::default(),
            &t,
            &mut cache,
            BODY,
            Format::PrometheusText,
            1000,
        )
        .unwrap();
        assert_eq!((first.scraped, first.post_relabel), (2, 1));
        ingest(
            &db,
            &Catalog::default(),
            &t,
            &mut cache,
            b"other 1\n",
            Format::PrometheusText,
            2000,
        )
        .unwrap();
        let series = all(&db, 4);
        assert_eq!(series.len(), 2, "up_custom was dropped");
        let requests = series.iter().find(|s| s.labels.get("route").is_some()).unwrap();
        assert_eq!(requests.samples.len(), 2);
        assert!(vitrine_tsdb::is_stale(requests.samples[1].1));
        mark_stale(&db, &mut cache, 3000).unwrap();
        let other = all(&db, 4)
            .into_iter()
            .find(|s| s.labels.get("__name__") == Some("other"))
            .unwrap();
        assert!(vitrine_tsdb::is_stale(other.samples[1].1));
    }

    #[test]
    fn a_broken_or_oversized_scrape_stores_nothing() {
        let (_dir, db) = store();
        let mut cache = SeriesCache::default();
        let broken = b"good 1\nbad{le=\"1\" 2\n";
        let err = ingest(
            &db,
            &Catalog::default(),
            &target(vec![], false),
            &mut cache,
            broken,
            Format::PrometheusText,
            1000,
        )
        .unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(all(&db, 4).is_empty());
        let mut limited = target(vec![], false);
        limited.limits.sample_limit = Some(1);
        let err = ingest(
            &db,
            &Catalog::default(),
            &limited,
            &mut cache,
            BODY,
            Format::PrometheusText,
            2000,
        )
        .unwrap_err();
        assert!(matches!(err, IngestError::SampleLimit(1)), "{err}");
        assert!(all(&db, 4).is_empty());
        let (_other_dir, fresh) = store();
        let mut small = target(vec![], false);
        small.max_series_per_client = 1;
        let err = ingest(
            &fresh,
            &Catalog::default(),
            &small,
            &mut SeriesCache::default(),
            BODY,
            Format::PrometheusText,
            3000,
        )
        .unwrap_err();
        assert!(matches!(err, IngestError::SeriesLimit(1)), "{err}");
        assert!(all(&fresh, 4).is_empty());
        // After the failures a good scrape works and restarts keep it.
        ingest(
            &db,
            &Catalog::default(),
            &target(vec![], false),
            &mut cache,
            BODY,
            Format::PrometheusText,
            4000,
        )
        .unwrap();
        assert_eq!(all(&db, 4).len(), 2);
    }

    fn errors_500(db: &Db) -> Vec<(i64, f64)> {
        db.select(4, &[Matcher::equal("status", "500")], 0, i64::MAX)
            .unwrap()
            .into_iter()
            .flat_map(|s| s.samples)
            .filter(|(_, v)| !vitrine_tsdb::is_stale(*v))
            .collect()
    }

    #[test]
    fn an_error_counter_that_returns_after_a_head_compaction_is_stored() {
        const HOUR: i64 = 3_600_000;
        let dir = tempfile::tempdir().unwrap();
        let mut t = target(vec![], false);
        t.honor_timestamps = false;
        let mut cache = SeriesCache::default();
        let catalog = Catalog::default();
        {
            let db = Db::open(dir.path(), Options::default()).unwrap();
            let scrape = |cache: &mut SeriesCache, body: &[u8], at: i64| {
                ingest(&db, &catalog, &t, cache, body, Format::PrometheusText, at).unwrap()
            };
            scrape(&mut cache, b"errors_total{status=\"500\"} 1\nup_custom 1\n", 0);
            // No error for five hours: the series goes stale and the head is compacted past it.
            let mut at = 15_000;
            while at < 5 * HOUR {
                scrape(&mut cache, b"up_custom 1\n", at);
                at += 15_000;
            }
            db.compact_head(false).unwrap();
            let report = scrape(&mut cache, b"errors_total{status=\"500\"} 2\nup_custom 1\n", 5 * HOUR);
            assert_eq!(report.added, 1, "the forgotten series is created again from its labels");
            assert_eq!(errors_500(&db), [(0, 1.0), (5 * HOUR, 2.0)], "queryable");
            db.compact_head(true).unwrap();
            assert_eq!(errors_500(&db), [(0, 1.0), (5 * HOUR, 2.0)], "compacted");
        }
        let db = Db::open(dir.path(), Options::default()).unwrap();
        assert_eq!(errors_500(&db), [(0, 1.0), (5 * HOUR, 2.0)], "after a restart");
    }

    #[test]
    fn samples_far_ahead_of_the_scrape_are_refused_and_counted() {
        let (_dir, db) = store();
        let now = 1_700_000_000_000;
        let body = format!(
            "future_sample 1 253402300799000\nsoon 1 {}\nlate 1 {}\nplain 1\n",
            now + MAX_FUTURE_MS,
            now + MAX_FUTURE_MS + 1
        );
        let report = ingest(
            &db,
            &Catalog::default(),
            &target(vec![], false),
            &mut SeriesCache::default(),
            body.as_bytes(),
            Format::PrometheusText,
            now,
        )
        .unwrap();
        assert_eq!(report.future, 2);
        let names: Vec<String> = all(&db, 4)
            .iter()
            .map(|s| s.labels.get("__name__").unwrap_or("").to_string())
            .collect();
        assert_eq!(names, ["plain", "soon"]);
        // With honor_timestamps off every sample takes the scrape's time.
        let mut ignoring = target(vec![], false);
        ignoring.honor_timestamps = false;
        let report = ingest(
            &db,
            &Catalog::default(),
            &ignoring,
            &mut SeriesCache::default(),
            body.as_bytes(),
            Format::PrometheusText,
            now + 15_000,
        )
        .unwrap();
        assert_eq!(report.future, 0);
        assert_eq!(all(&db, 4).len(), 4);
    }

    #[test]
    fn the_series_limit_is_exact_under_parallel_scrapes() {
        let (_dir, db) = store();
        let mut limited = target(vec![], false);
        limited.max_series_per_client = 250;
        let refused = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for worker in 0..8 {
                let (db, limited, refused) = (&db, &limited, &refused);
                scope.spawn(move || {
                    let body: String = (0..100)
                        .map(|i| format!("m{{worker=\"{worker}\",i=\"{i}\"}} 1\n"))
                        .collect();
                    let outcome = ingest(
                        db,
                        &Catalog::default(),
                        limited,
                        &mut SeriesCache::default(),
                        body.as_bytes(),
                        Format::PrometheusText,
                        1000,
                    );
                    if matches!(outcome, Err(IngestError::SeriesLimit(250))) {
                        refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(db.head().stats().series, 250, "never one series more than the limit");
        assert!(refused.into_inner() >= 5, "the scrapes past the limit are refused");
    }

    #[test]
    fn metadata_and_exemplars_are_recorded_for_the_client() {
        let (_dir, db) = store();
        let catalog = Catalog::default();
        let body = b"# TYPE rpc_seconds histogram\n# HELP rpc_seconds Time per call.\n# UNIT rpc_seconds seconds\nrpc_seconds_bucket{le=\"+Inf\"} 3 # {trace_id=\"abc\"} 0.42 1700000000.5\nrpc_seconds_count 3\nrpc_seconds_sum 1.2\n# EOF\n";
        ingest(
            &db,
            &catalog,
            &target(vec![], false),
            &mut SeriesCache::default(),
            body,
            Format::OpenMetrics,
            1000,
        )
        .unwrap();
        let meta = &catalog.metadata(4)["rpc_seconds"];
        assert_eq!(
            (meta.kind.as_str(), meta.help.as_str(), meta.unit.as_str()),
            ("histogram", "Time per call.", "seconds")
        );
        let labels = Labels::new(vec![
            ("__name__".into(), "rpc_seconds_bucket".into()),
            ("le".into(), "+Inf".into()),
            ("instance".into(), "shop:8080".into()),
            ("job".into(), "shop".into()),
            ("team".into(), "web".into()),
            ("project".into(), "shop".into()),
            ("environment".into(), "live".into()),
        ]);
        let series = db.head().find(4, &labels).expect("the bucket series");
        let exemplar = catalog.exemplar(4, series).expect("its exemplar");
        assert_eq!(exemplar.labels, vec![("trace_id".to_string(), "abc".to_string())]);
        assert_eq!((exemplar.value, exemplar.timestamp_ms), (0.42, 1_700_000_000_500));
        assert!(catalog.metadata(5).is_empty());
    }

    /// A scrape that fails (here: over its sample limit) leaves nothing in the catalog.
    #[test]
    fn a_failed_scrape_declares_nothing() {
        let (_dir, db) = store();
        let catalog = Catalog::default();
        let mut limited = target(vec![], false);
        limited.limits.sample_limit = Some(1);
        let body = b"# TYPE jobs gauge\n# HELP jobs Jobs waiting.\njobs{q=\"a\"} 1\njobs{q=\"b\"} 2\n";
        let outcome = ingest(
            &db,
            &catalog,
            &limited,
            &mut SeriesCache::default(),
            body,
            Format::PrometheusText,
            1000,
        );
        assert!(matches!(outcome, Err(IngestError::SampleLimit(1))), "{outcome:?}");
        assert!(catalog.metadata(4).is_empty());
    }
}
