//! Runs one scrape loop per target and keeps each target's health. Loops
//! are spread over the interval (by a hash of the target) so that targets do
//! not all fire at once, and each runs on its own task: a slow target never
//! delays another.

use super::catalog::Catalog;
use super::fetch::{self, Guard};
use super::ingest::{self, IngestError, SeriesCache, TargetLabels};
use crate::store;
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use vitrine_exposition::{ACCEPT_HEADER, format_for_content_type};
use vitrine_scrape_config::{ScrapeTarget, import_prometheus_yml};
use vitrine_tsdb::{Db, Labels};

/// What the targets page shows about a target.
#[derive(Clone, Debug, Default)]
pub struct Health {
    pub up: bool,
    /// Milliseconds since the epoch of the last scrape.
    pub last_scrape_ms: i64,
    pub duration_secs: f64,
    pub samples: usize,
    pub series_added: usize,
    /// Samples of the last scrape refused for a time more than 10 minutes ahead.
    pub future_samples: usize,
    /// The last error in plain words.
    pub error: Option<String>,
}

/// A target row, loaded.
#[derive(Clone)]
pub struct TargetRow {
    pub id: i64,
    pub client_id: i64,
    pub project: String,
    pub environment: String,
    pub config: String,
}

/// The single target of a stored prometheus.yml document.
pub fn load_target(config: &str) -> Result<ScrapeTarget, String> {
    let import = import_prometheus_yml(config).map_err(|e| e.to_string())?;
    let dropped = import.jobs.iter().any(|job| !job.dropped_targets.is_empty());
    import
        .jobs
        .into_iter()
        .flat_map(|job| job.targets)
        .next()
        .ok_or_else(|| {
            if dropped {
                "the target's relabel_configs drop it, so it is not scraped".to_string()
            } else {
                "the stored configuration has no target".to_string()
            }
        })
}

/// Everything that shapes a target's series (its labels come from `relabel_configs`, applied when it was built).
pub fn target_labels(target: &ScrapeTarget, row: &TargetRow, max_series_per_client: usize) -> TargetLabels {
    TargetLabels {
        tenant: store::tenant(row.client_id),
        target_id: row.id,
        labels: target.target_labels().to_vec(),
        project: row.project.clone(),
        environment: row.environment.clone(),
        honor_labels: target.honor_labels(),
        honor_timestamps: target.honor_timestamps(),
        metric_relabel: target.metric_relabel_configs().to_vec(),
        limits: *target.limits(),
        max_series_per_client,
    }
}

pub struct Scraper {
    pool: SqlitePool,
    store: Arc<Db>,
    guard: Guard,
    max_series_per_client: usize,
    health: RwLock<HashMap<i64, Health>>,
    /// Metadata and exemplars the scrapes declared.
    pub catalog: Catalog,
    /// Running loops by target: the version they run and the signal that ends them.
    loops: Mutex<HashMap<i64, (i64, tokio::sync::watch::Sender<bool>)>>,
    changed: Notify,
    /// Samples refused for a time too far ahead, since the start.
    future_samples: AtomicU64,
    /// The targets table's summary (count, ids, versions) at the last sync.
    synced: Mutex<Option<(i64, i64, i64)>>,
}

impl Scraper {
    pub fn new(
        pool: SqlitePool,
        store: Arc<Db>,
        guard: Guard,
        max_series_per_client: usize,
        catalog: Catalog,
    ) -> Arc<Scraper> {
        Arc::new(Scraper {
            pool,
            store,
            guard,
            max_series_per_client,
            health: RwLock::default(),
            catalog,
            loops: Mutex::default(),
            changed: Notify::new(),
            future_samples: AtomicU64::new(0),
            synced: Mutex::new(None),
        })
    }

    /// Samples refused since the start because their time was more than 10 minutes ahead.
    pub fn future_samples_total(&self) -> u64 {
        self.future_samples.load(Ordering::Relaxed)
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Tells the manager that targets were added, changed or removed.
    pub fn targets_changed(&self) {
        self.changed.notify_one();
    }

    /// How many targets are scraped, and how many of them are up.
    pub fn counts(&self) -> (usize, usize) {
        let health = self.health.read().unwrap_or_else(|p| p.into_inner());
        (health.len(), health.values().filter(|h| h.up).count())
    }

    pub fn health(&self, target: i64) -> Option<Health> {
        self.health
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&target)
            .cloned()
    }

    /// Keeps the loops in step with the targets table, forever.
    pub async fn run(self: Arc<Self>) {
        loop {
            if let Err(e) = self.sync().await {
                tracing::error!(error = %e, "loading scrape targets");
            }
            tokio::select! {
                _ = self.changed.notified() => {},
                _ = tokio::time::sleep(Duration::from_secs(5)) => {},
            }
        }
    }

    /// Brings the loops in step with the targets table. One cheap summary query per round;
    /// only when it changed are the targets' versions compared, and only new or changed
    /// targets are loaded.
    async fn sync(self: &Arc<Self>) -> Result<(), sqlx::Error> {
        let summary: (i64, i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(SUM(updated_at), 0) FROM targets")
                .fetch_one(&self.pool)
                .await?;
        if *self.synced.lock().unwrap_or_else(|p| p.into_inner()) == Some(summary) {
            return Ok(());
        }
        let versions: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>("SELECT id, updated_at FROM targets")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect();
        let wanted: Vec<i64> = {
            let mut loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
            loops.retain(|id, (version, stop)| {
                let keep = versions.get(id) == Some(version);
                if !keep {
                    let _ = stop.send(true);
                }
                keep
            });
            self.health
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|id, _| versions.contains_key(id));
            versions.keys().filter(|id| !loops.contains_key(id)).copied().collect()
        };
        for id in wanted {
            let row: Option<(i64, i64, String, String, String, i64)> = sqlx::query_as(
                "SELECT t.id, t.client_id, p.slug, e.name, t.config, t.updated_at
                 FROM targets t JOIN projects p ON p.id = t.project_id JOIN environments e ON e.id = t.environment_id
                 WHERE t.id = ?",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            let Some((id, client_id, project, environment, config, updated_at)) = row else {
                continue;
            };
            let row = TargetRow {
                id,
                client_id,
                project,
                environment,
                config,
            };
            let (stop, stopped) = tokio::sync::watch::channel(false);
            tokio::spawn(self.clone().scrape_loop(row, stopped));
            self.loops
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, (updated_at, stop));
        }
        *self.synced.lock().unwrap_or_else(|p| p.into_inner()) = Some(summary);
        Ok(())
    }

    fn set_health(&self, id: i64, health: Health) {
        self.health
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, health);
    }

    /// Scrapes one target until it is removed or changed; then its series are marked stale.
    async fn scrape_loop(self: Arc<Self>, row: TargetRow, mut stop: tokio::sync::watch::Receiver<bool>) {
        let opened = crate::tenancy::targets::open_config(row.client_id, &row.config).map_err(|e| e.to_string());
        let target = match opened.and_then(|config| load_target(&config)) {
            Ok(target) => target,
            Err(e) => {
                self.set_health(
                    row.id,
                    Health {
                        error: Some(e),
                        ..Health::default()
                    },
                );
                return;
            }
        };
        let labels = Arc::new(target_labels(&target, &row, self.max_series_per_client));
        let client = match fetch::client(&target, &self.guard) {
            Ok(client) => client,
            Err(e) => {
                self.set_health(
                    row.id,
                    Health {
                        error: Some(e.to_string()),
                        ..Health::default()
                    },
                );
                return;
            }
        };
        let interval = target.interval().as_std().max(Duration::from_millis(100));
        // Spread the targets over the interval.
        let offset = labels_hash(&labels) % interval.as_millis().max(1) as u64;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_millis(offset), interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut cache = SeriesCache::default();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            let health;
            (health, cache) = self.clone().scrape_once(&client, &target, &labels, cache).await;
            self.set_health(row.id, health);
        }
        if let Err(e) = ingest::mark_stale(&self.store, &mut cache, store::now_ms()) {
            tracing::warn!(error = %e, "marking a removed target's series stale");
        }
        self.catalog.forget_target(labels.tenant, row.id);
    }

    /// Fetches once, then parses and stores the answer, marks series stale after a failed
    /// scrape and writes the scrape's own series, all on one blocking thread (never on the
    /// async workers that serve HTTP); gives the cache back with the target's health.
    async fn scrape_once(
        self: Arc<Self>,
        client: &reqwest::Client,
        target: &ScrapeTarget,
        labels: &Arc<TargetLabels>,
        cache: SeriesCache,
    ) -> (Health, SeriesCache) {
        let started = Instant::now();
        let scrape_ms = store::now_ms();
        let fetched = fetch::fetch(client, target, &self.guard, ACCEPT_HEADER, cache.last_body_len)
            .await
            .map_err(|e| e.to_string());
        let labels = labels.clone();
        let stored = tokio::task::spawn_blocking(move || {
            let mut cache = cache;
            let health = self.store_scrape(&labels, &mut cache, fetched, started, scrape_ms);
            (health, cache)
        })
        .await;
        stored.unwrap_or_else(|e| {
            let health = Health {
                last_scrape_ms: scrape_ms,
                duration_secs: started.elapsed().as_secs_f64(),
                error: Some(format!("storing the scrape failed: {e}")),
                ..Health::default()
            };
            (health, SeriesCache::default())
        })
    }

    /// The blocking half of [`Scraper::scrape_once`].
    fn store_scrape(
        &self,
        labels: &TargetLabels,
        cache: &mut SeriesCache,
        fetched: Result<fetch::Fetched, String>,
        started: Instant,
        scrape_ms: i64,
    ) -> Health {
        let store = &self.store;
        let outcome = fetched.and_then(|answer| {
            let format = format_for_content_type(answer.content_type.as_deref());
            ingest::ingest(store, &self.catalog, labels, cache, &answer.body, format, scrape_ms)
                .map_err(|e| e.to_string())
        });
        let duration = started.elapsed().as_secs_f64();
        let health = match &outcome {
            Ok(report) => {
                self.future_samples.fetch_add(report.future as u64, Ordering::Relaxed);
                Health {
                    up: true,
                    last_scrape_ms: scrape_ms,
                    duration_secs: duration,
                    samples: report.post_relabel,
                    series_added: report.added,
                    future_samples: report.future,
                    error: None,
                }
            }
            Err(e) => {
                if let Err(stale) = ingest::mark_stale(store, cache, scrape_ms) {
                    tracing::warn!(error = %stale, "marking series stale");
                }
                Health {
                    up: false,
                    last_scrape_ms: scrape_ms,
                    duration_secs: duration,
                    error: Some(e.clone()),
                    ..Health::default()
                }
            }
        };
        let report = outcome.as_ref().ok();
        let values = [
            ("up", if health.up { 1.0 } else { 0.0 }),
            ("scrape_duration_seconds", duration),
            ("scrape_samples_scraped", report.map_or(0.0, |r| r.scraped as f64)),
            (
                "scrape_samples_post_metric_relabeling",
                report.map_or(0.0, |r| r.post_relabel as f64),
            ),
            ("scrape_series_added", report.map_or(0.0, |r| r.added as f64)),
        ];
        if let Err(e) = append_report(store, labels, cache, &values, scrape_ms) {
            tracing::warn!(error = %e, "storing scrape health");
        }
        health
    }
}

fn labels_hash(labels: &TargetLabels) -> u64 {
    let pairs: Vec<(&str, &str)> = labels.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    Labels::from_pairs(&pairs).hash64() ^ labels.tenant as u64
}

/// The series Prometheus writes for every scrape (`up`, `scrape_duration_seconds`, …),
/// by the references the cache keeps for them. When the head has forgotten one (a head
/// compaction), the commit leaves it out and the second round looks them up by labels.
fn append_report(
    store: &Db,
    target: &TargetLabels,
    cache: &mut SeriesCache,
    values: &[(&str, f64)],
    scrape_ms: i64,
) -> Result<(), IngestError> {
    for _ in 0..2 {
        let mut appender = store.appender();
        if cache.report.len() != values.len() {
            cache.report = values
                .iter()
                .map(|(name, _)| {
                    let mut pairs: Vec<(String, String)> = target.labels.clone();
                    pairs.push(("__name__".into(), name.to_string()));
                    pairs.push(("project".into(), target.project.clone()));
                    pairs.push(("environment".into(), target.environment.clone()));
                    appender.series(target.tenant, &Labels::new(pairs))
                })
                .collect();
        }
        for (series, (_, value)) in cache.report.iter().zip(values) {
            appender.add(*series, scrape_ms, *value);
        }
        if appender.commit().map_err(IngestError::Store)?.series_gone == 0 {
            break;
        }
        cache.report.clear();
    }
    Ok(())
}

/// What a one-off "test scrape" found, without storing anything.
#[derive(Clone, Debug, Default)]
pub struct TestScrape {
    pub samples: usize,
    pub series: usize,
    /// Metric names by declared type, e.g. ("counter", 12).
    pub types: Vec<(String, usize)>,
    /// The first lines of the answer.
    pub first_lines: Vec<String>,
    pub duration_secs: f64,
}

/// Fetches once and parses everything, to show what would be ingested or the exact error.
pub async fn test_scrape(config: &str, guard: &Guard) -> Result<TestScrape, String> {
    let target = load_target(config)?;
    let client = fetch::client(&target, guard).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let answer = fetch::fetch(&client, &target, guard, ACCEPT_HEADER, 0)
        .await
        .map_err(|e| e.to_string())?;
    let format = format_for_content_type(answer.content_type.as_deref());
    let mut parser = vitrine_exposition::Parser::new(&answer.body, format);
    let mut result = TestScrape {
        duration_secs: started.elapsed().as_secs_f64(),
        ..TestScrape::default()
    };
    let mut types: HashMap<String, usize> = HashMap::new();
    let mut series = std::collections::HashSet::new();
    while let Some(entry) = parser.next_entry().map_err(|e| e.to_string())? {
        match entry {
            vitrine_exposition::Entry::Type { kind, .. } => *types.entry(kind.as_str().to_string()).or_default() += 1,
            vitrine_exposition::Entry::Sample(s) => {
                result.samples += 1;
                let mut key = s.name.to_string();
                for (n, v) in &s.labels {
                    key.push_str(&format!("\u{0}{n}\u{1}{v}"));
                }
                series.insert(key);
            }
            _ => {}
        }
    }
    result.series = series.len();
    result.types = types.into_iter().collect();
    result.types.sort();
    result.first_lines = String::from_utf8_lossy(&answer.body)
        .lines()
        .take(12)
        .map(str::to_string)
        .collect();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::admin;
    use crate::tenancy::targets::{self, Place};
    use vitrine_scrape_config::{AddressPolicy, ScrapeUrl};
    use vitrine_tsdb::{MatchOp, Matcher, Options};

    async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
        for _ in 0..100 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// One async worker only: were a large answer parsed and stored on it, a task
    /// beside the scrape would not run for as long as that takes.
    #[tokio::test(flavor = "current_thread")]
    async fn a_large_answer_is_parsed_and_stored_off_the_async_worker() {
        let page: Arc<str> = (0..200_000)
            .map(|i| format!("big_series{{shard=\"{}\",n=\"{i}\"}} {i}\n", i % 7))
            .collect::<String>()
            .into();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/metrics", axum::routing::get(move || async move { page.to_string() }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let url = ScrapeUrl::parse(&format!("http://{addr}/metrics")).unwrap();
        let target = ScrapeTarget::builder("big", url).build().unwrap();
        let row = TargetRow {
            id: 1,
            client_id: 1,
            project: "web".into(),
            environment: "live".into(),
            config: String::new(),
        };
        let labels = Arc::new(target_labels(&target, &row, 1_000_000));
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
        let guard = Guard {
            policy: Arc::new(AddressPolicy::parse(["127.0.0.0/8"]).unwrap()),
            lookup: Arc::new(fetch::SystemLookup),
            max_body_bytes: fetch::DEFAULT_MAX_BODY_BYTES,
        };
        let pool = crate::tenancy::test_db().await;
        let scraper = Scraper::new(pool, db.clone(), guard.clone(), 1_000_000, Catalog::default());
        let client = fetch::client(&target, &guard).unwrap();
        let (done, mut finished) = tokio::sync::watch::channel(false);
        let beside = tokio::spawn(async move {
            let mut longest = Duration::ZERO;
            while !*finished.borrow_and_update() {
                let before = Instant::now();
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                    _ = finished.changed() => {}
                }
                longest = longest.max(before.elapsed());
            }
            longest
        });
        let started = Instant::now();
        let (health, _cache) = scraper
            .scrape_once(&client, &target, &labels, SeriesCache::default())
            .await;
        let took = started.elapsed();
        done.send(true).unwrap();
        let longest = beside.await.unwrap();
        assert!(health.up, "{health:?}");
        assert_eq!(health.samples, 200_000);
        assert!(
            longest * 4 < took,
            "the task beside waited {longest:?} at once during a scrape of {took:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn targets_are_scraped_and_a_removed_target_goes_stale() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(|| async { "# TYPE jobs gauge\njobs 3\n" }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let pool = crate::tenancy::test_db().await;
        admin::create_agency(&pool, "ag", "Agency").await.unwrap();
        let client = admin::create_client(&pool, "ag", "shop", "Shop", "en").await.unwrap();
        admin::create_project(&pool, client, "web", "Web", &["live"])
            .await
            .unwrap();
        let place: Place = targets::place_of(&pool, "shop", "web", "live").await.unwrap();
        let url = ScrapeUrl::parse(&format!("http://{addr}/metrics")).unwrap();
        let target = ScrapeTarget::builder("app", url)
            .interval("100ms".parse().unwrap())
            .timeout("100ms".parse().unwrap())
            .build()
            .unwrap();
        let id = targets::insert(&pool, place, &target, None).await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
        let guard = Guard {
            policy: Arc::new(AddressPolicy::parse(["127.0.0.0/8"]).unwrap()),
            lookup: Arc::new(fetch::SystemLookup),
            max_body_bytes: fetch::DEFAULT_MAX_BODY_BYTES,
        };
        let scraper = Scraper::new(pool.clone(), db.clone(), guard, 1000, Catalog::default());
        scraper.sync().await.unwrap();
        wait_for("the first scrape", || {
            scraper.health(id).is_some_and(|h| h.up && h.samples == 1)
        })
        .await;
        let select = |name: &str| {
            db.select(
                store::tenant(client),
                &[Matcher::new(MatchOp::Equal, "__name__", name).unwrap()],
                0,
                i64::MAX,
            )
            .unwrap()
        };
        let jobs = select("jobs");
        assert_eq!(jobs[0].labels.get("job"), Some("app"));
        assert_eq!(jobs[0].labels.get("instance"), Some(addr.to_string().as_str()));
        assert_eq!(jobs[0].labels.get("project"), Some("web"));
        assert_eq!(jobs[0].labels.get("environment"), Some("live"));
        assert_eq!(select("up")[0].samples.last().map(|s| s.1), Some(1.0));
        assert!(!select("scrape_duration_seconds").is_empty());
        assert_eq!(scraper.catalog.metadata(store::tenant(client))["jobs"].kind, "gauge");
        assert_eq!(scraper.counts(), (1, 1));

        sqlx::query("DELETE FROM targets WHERE id = ?")
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        scraper.sync().await.unwrap();
        wait_for("stale markers", || {
            select("jobs")[0]
                .samples
                .last()
                .is_some_and(|s| vitrine_tsdb::is_stale(s.1))
        })
        .await;
        assert!(scraper.health(id).is_none());
    }
}
