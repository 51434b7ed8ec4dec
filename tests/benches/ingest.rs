//! Ingestion, Vitrine against Prometheus 2.42 measured in the same run:
//!
//! a) throughput of exposition bytes → parse → labels (cached per target by
//!    raw series text, as Prometheus' scrape cache) → append → commit, on
//!    one core, in process, over node exporter captures and application pages;
//! b) resident memory per active series: 100,000 series × 120 samples
//!    appended through `Db` (in a child process, so nothing else shares its
//!    heap) against Prometheus scraping the same 100,000 series every second;
//! c) CPU seconds per million scraped samples: Prometheus, then the release
//!    `vitrine` binary (`serve --demo`, the targets imported with `vitrine
//!    targets import`), each scraping the same 40 node exporter and 40
//!    application targets on loopback every second — one after the other, never
//!    both at once. CPU is the process' utime + stime; samples are the
//!    server's own appended-samples counter over the same wall-clock window.
//!
//! `cargo build --release -p vitrine`, then
//! `VITRINE_BENCH=1 cargo bench -p vitrine-tests --bench ingest`
//! (needs Debian's prometheus and prometheus-node-exporter packages; `VITRINE_BIN`
//! points at another binary).

mod common;

use common::{
    AppSim, Handler, NodeExporter, Prometheus, TargetServer, VitrineServer, human_bytes, load_average,
    process_cpu_seconds, push_float, require_program, rss, section, skip_unless_enabled, splitmix64, thousands,
    thread_cpu_seconds, vitrine_binary,
};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use vitrine_exposition::{EntryRef, Format, Parser};
use vitrine_tsdb::head::SeriesRef;
use vitrine_tsdb::{Db, Labels, Options, Tenant};

const TENANT: Tenant = 1;
/// Distinct node exporter captures and application pages, cycled through.
const PAGES: usize = 100;
/// Targets of each kind (node exporter, application) in a) and c).
const TARGETS_PER_KIND: usize = 40;
/// Scrape rounds over all targets in a), after the first one.
const ROUNDS: usize = 200;
/// 2023-11-14 22:13:20 UTC, in milliseconds.
const T0_MS: i64 = 1_700_000_000_000;
/// b): series and samples per series.
const MEMORY_SERIES: usize = 100_000;
const MEMORY_SAMPLES: usize = 120;
/// c): how long Prometheus is watched idle, and then each server scraping.
const IDLE_WINDOW: Duration = Duration::from_secs(15);
const SCRAPE_WINDOW: Duration = Duration::from_secs(40);
/// c): after all targets are up (their first scrapes create the series), before the window.
const WARM_UP: Duration = Duration::from_secs(6);
const TARGETS_UP_WITHIN: Duration = Duration::from_secs(90);
/// c): vitrine's demo targets scrape every 15 s: their first scrapes pass, then two rounds are watched.
const VITRINE_SETTLE: Duration = Duration::from_secs(20);
const VITRINE_IDLE_WINDOW: Duration = Duration::from_secs(30);
const GOAL_SAMPLES_PER_S: f64 = 1_000_000.0;
const GOAL_BYTES_PER_SERIES: f64 = 1024.0;
const CHILD_ENV: &str = "VITRINE_BENCH_CHILD";

fn main() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("memory") {
        memory_child();
        return;
    }
    skip_unless_enabled("ingest");
    require_program("prometheus");
    require_program("prometheus-node-exporter");
    let vitrine = vitrine_binary();

    section("Captures");
    let exporter = NodeExporter::start();
    let node_pages: Vec<String> = (0..PAGES).map(|_| exporter.scrape()).collect();
    println!(
        "{PAGES} scrapes of {} ({} samples each on average)",
        exporter.version,
        thousands(node_pages.iter().map(|p| sample_lines(p)).sum::<u64>() / PAGES as u64)
    );
    drop(exporter);
    let mut app = AppSim::new(0xa11ce);
    let app_pages: Vec<String> = (0..PAGES)
        .map(|_| {
            app.step();
            app.page()
        })
        .collect();
    println!("{PAGES} application pages of {} samples", AppSim::SERIES);

    let vitrine_memory = vitrine_memory();
    let throughput = vitrine_throughput(&node_pages, &app_pages);
    let prometheus_memory = prometheus_memory();
    let prometheus_cpu = prometheus_cpu(&node_pages, &app_pages);
    let vitrine_cpu = vitrine_cpu(&vitrine, &node_pages, &app_pages);

    section("ingest: summary");
    println!("{:<44}{:>16}{:>16}{:>10}", "", "Prometheus", "Vitrine", "V/P");
    let prometheus_rate = 1e6 / prometheus_cpu.net_per_million;
    println!(
        "{:<44}{:>16}{:>16}{:>10.2}",
        "a) samples/s per CPU core (steady state)",
        thousands(prometheus_rate as u64),
        thousands(throughput.per_cpu_second as u64),
        throughput.per_cpu_second / prometheus_rate
    );
    println!(
        "{:<44}{:>16.0}{:>16.0}{:>10.2}",
        "b) resident bytes per active series",
        prometheus_memory.per_series,
        vitrine_memory.per_series,
        vitrine_memory.per_series / prometheus_memory.per_series
    );
    println!(
        "{:<44}{:>16.3}{:>16.3}{:>10.2}",
        "c) CPU-s per million scraped samples, net",
        prometheus_cpu.net_per_million,
        vitrine_cpu.net_per_million,
        vitrine_cpu.net_per_million / prometheus_cpu.net_per_million
    );
    println!(
        "{:<44}{:>16.3}{:>16.3}{:>10.2}",
        "   … whole process (idle and demo included)",
        prometheus_cpu.gross_per_million,
        vitrine_cpu.gross_per_million,
        vitrine_cpu.gross_per_million / prometheus_cpu.gross_per_million
    );
    println!(
        "goals: a) ≥ {} samples/s/core: {}; b) ≤ 1 KiB per series: {}",
        thousands(GOAL_SAMPLES_PER_S as u64),
        verdict(throughput.per_cpu_second >= GOAL_SAMPLES_PER_S),
        verdict(vitrine_memory.per_series <= GOAL_BYTES_PER_SERIES)
    );
    println!(
        "notes: a) Vitrine's is in process (parse + append + commit, one core); Prometheus' is 1 / its net c). \
         c) both are the real servers (Vitrine: the release binary, `serve --demo`) scraping the same 80 loopback \
         targets every second over HTTP, one after the other, for the same {} s; net leaves out each server's CPU \
         before the targets were added and, for Vitrine, the samples of the demo's own targets (every 15 s); whole \
         process is all CPU over all samples appended. b) Prometheus' RSS includes its scrape cache and Go's garbage \
         headroom; Vitrine's covers the store only.",
        SCRAPE_WINDOW.as_secs()
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn sample_lines(page: &str) -> u64 {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count() as u64
}

// ---------------------------------------------------------------------------
// a) throughput, in process
// ---------------------------------------------------------------------------

/// FxHash (rustc's): the scrape cache's keys are short and trusted.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        for b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ *b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Cache = HashMap<Vec<u8>, SeriesRef, BuildHasherDefault<FxHasher>>;

struct Target<'p> {
    pages: &'p [String],
    job: &'static str,
    instance: String,
    cache: Cache,
}

/// The raw series text of a sample (`name{labels}` as on the page), or a
/// key built from the parsed name and labels if the name is not a slice of the page.
fn series_key<'k>(
    page: &'k [u8],
    name: &str,
    labels: &[(&str, std::borrow::Cow<str>)],
    buf: &'k mut Vec<u8>,
) -> &'k [u8] {
    let start = (name.as_ptr() as usize).wrapping_sub(page.as_ptr() as usize);
    if start < page.len() {
        let line = &page[start..];
        let line = &line[..line.iter().position(|b| *b == b'\n').unwrap_or(line.len())];
        if labels.is_empty() {
            return &line[..name.len()];
        }
        // Values and timestamps hold no '}': the last one closes the labels.
        if let Some(close) = line.iter().rposition(|b| *b == b'}') {
            return &line[..=close];
        }
    }
    buf.clear();
    buf.extend_from_slice(name.as_bytes());
    for (n, v) in labels {
        buf.push(0);
        buf.extend_from_slice(n.as_bytes());
        buf.push(1);
        buf.extend_from_slice(v.as_bytes());
    }
    buf
}

/// One scrape: parse the page, append every sample at `t`, commit. Returns the samples.
fn scrape_into(db: &Db, target: &mut Target, page: &str, t: i64, key_buf: &mut Vec<u8>) -> u64 {
    let bytes = page.as_bytes();
    let mut parser = Parser::new(bytes, Format::PrometheusText);
    let mut appender = db.appender();
    let mut samples = 0;
    loop {
        let entry = match parser.next_entry_ref() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => panic!("parsing a page failed: {e}"),
        };
        let EntryRef::Sample(sample) = entry else {
            continue;
        };
        let key = series_key(bytes, sample.name, sample.labels, key_buf);
        let series = match target.cache.get(key) {
            Some(series) => *series,
            None => {
                let mut pairs: Vec<(String, String)> = Vec::with_capacity(sample.labels.len() + 3);
                pairs.push(("__name__".to_string(), sample.name.to_string()));
                pairs.extend(sample.labels.iter().map(|(n, v)| (n.to_string(), v.to_string())));
                pairs.push(("job".to_string(), target.job.to_string()));
                pairs.push(("instance".to_string(), target.instance.clone()));
                let series = appender.series(TENANT, &Labels::new(pairs));
                target.cache.insert(key.to_vec(), series);
                series
            }
        };
        appender.add(series, sample.timestamp_ms.unwrap_or(t), sample.value);
        samples += 1;
    }
    let report = appender.commit().expect("committing a scrape");
    assert_eq!(
        report.appended as u64, samples,
        "every sample must be appended: {report:?}"
    );
    samples
}

struct Throughput {
    per_cpu_second: f64,
}

fn vitrine_throughput(node_pages: &[String], app_pages: &[String]) -> Throughput {
    section("a) throughput: exposition → parse → append, one core, in process");
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = Db::open(dir.path(), Options::default()).expect("opening the store");
    let mut targets: Vec<Target> = (0..TARGETS_PER_KIND)
        .map(|i| Target {
            pages: node_pages,
            job: "node",
            instance: format!("node-{i:02}:9100"),
            cache: Cache::default(),
        })
        .chain((0..TARGETS_PER_KIND).map(|i| Target {
            pages: app_pages,
            job: "app",
            instance: format!("app-{i:02}:8080"),
            cache: Cache::default(),
        }))
        .collect();
    let mut key_buf = Vec::new();
    let round = |targets: &mut [Target], r: usize, key_buf: &mut Vec<u8>| -> u64 {
        let t = T0_MS + r as i64 * 15_000;
        let mut samples = 0;
        for (j, target) in targets.iter_mut().enumerate() {
            // Targets start at different pages, as if they were different machines.
            let page = &target.pages[(r + j) % target.pages.len()];
            samples += scrape_into(&db, target, page, t, key_buf);
        }
        samples
    };

    let (wall, cpu) = (Instant::now(), thread_cpu_seconds());
    let first = round(&mut targets, 0, &mut key_buf);
    let (first_wall, first_cpu) = (wall.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu);
    println!(
        "first scrape of {} targets (creates {} series): {} samples in {first_wall:.3} s = {} samples per CPU-second",
        targets.len(),
        thousands(db.head().stats().series as u64),
        thousands(first),
        thousands((first as f64 / first_cpu) as u64)
    );

    let (wall, cpu) = (Instant::now(), thread_cpu_seconds());
    let mut samples = 0;
    for r in 1..=ROUNDS {
        samples += round(&mut targets, r, &mut key_buf);
    }
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu);
    let per_cpu_second = samples as f64 / cpu;
    println!(
        "steady state: {ROUNDS} rounds × {} targets = {} samples in {wall:.2} s wall, {cpu:.2} s CPU",
        targets.len(),
        thousands(samples)
    );
    println!(
        "Vitrine: {} samples/s (wall), {} samples/s per CPU-second; goal ≥ {}: {}",
        thousands((samples as f64 / wall) as u64),
        thousands(per_cpu_second as u64),
        thousands(GOAL_SAMPLES_PER_S as u64),
        verdict(per_cpu_second >= GOAL_SAMPLES_PER_S)
    );
    let stats = db.head().stats();
    println!(
        "head: {} series, {} samples, {} in chunks ({:.2} bytes per sample)",
        thousands(stats.series as u64),
        thousands(stats.samples as u64),
        human_bytes(stats.chunk_bytes as f64),
        stats.chunk_bytes as f64 / stats.samples as f64
    );
    Throughput { per_cpu_second }
}

// ---------------------------------------------------------------------------
// b) memory per active series
// ---------------------------------------------------------------------------

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const STATUSES: [&str; 4] = ["200", "301", "404", "500"];

/// Series `i` of 100,000: 50 instances × 100 routes × 5 methods × 4 statuses, 6 labels.
fn memory_labels(i: usize) -> [(&'static str, String); 6] {
    [
        ("__name__", "http_requests_total".to_string()),
        ("job", "api".to_string()),
        ("instance", format!("app-{:02}:8080", i / 2000)),
        ("route", format!("/api/r{:03}", i / 20 % 100)),
        ("method", METHODS[i / 4 % 5].to_string()),
        ("status", STATUSES[i % 4].to_string()),
    ]
}

/// The counter increment of series `i` at scrape `k`: often zero, else small.
fn increment(i: usize, k: u64) -> f64 {
    let h = splitmix64(((i as u64) << 24) ^ k);
    if h.is_multiple_of(4) {
        0.0
    } else {
        ((h >> 32) % 10) as f64
    }
}

struct Memory {
    per_series: f64,
}

/// Runs in a child process: the store's RSS growth for 100,000 series × 120 samples.
fn memory_child() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = Db::open(dir.path(), Options::default()).expect("opening the store");
    // The bench's own bookkeeping is allocated before the first reading.
    let mut refs: Vec<SeriesRef> = Vec::with_capacity(MEMORY_SERIES);
    let mut values = vec![0.0f64; MEMORY_SERIES];
    let label_bytes: usize = (0..MEMORY_SERIES)
        .map(|i| memory_labels(i).iter().map(|(n, v)| n.len() + v.len()).sum::<usize>())
        .sum();
    let before = rss("self");
    let started = Instant::now();
    for k in 0..MEMORY_SAMPLES as u64 {
        let t = T0_MS + k as i64 * 1000;
        let mut appender = db.appender();
        for (i, value) in values.iter_mut().enumerate() {
            *value += increment(i, k);
            let series = if k == 0 {
                let labels = Labels::new(memory_labels(i).into_iter().map(|(n, v)| (n.to_string(), v)).collect());
                let series = appender.series(TENANT, &labels);
                refs.push(series);
                series
            } else {
                refs[i]
            };
            appender.add(series, t, *value);
        }
        let report = appender.commit().expect("committing");
        assert_eq!(report.appended, MEMORY_SERIES, "{report:?}");
    }
    let after = rss("self");
    // Memory the allocator keeps after frees (the first commit's label copies,
    // log buffers) counts in RSS; trimming shows what the store holds live.
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe { libc::malloc_trim(0) };
    let trimmed = rss("self");
    let stats = db.head().stats();
    assert_eq!(stats.series, MEMORY_SERIES);
    println!(
        "RESULT before={} after={} trimmed={} anon_before={} anon_after={} label_bytes={} chunk_bytes={} seconds={:.2}",
        before.total,
        after.total,
        trimmed.total,
        before.anon,
        after.anon,
        label_bytes,
        stats.chunk_bytes,
        started.elapsed().as_secs_f64()
    );
}

fn vitrine_memory() -> Memory {
    section("b) memory per active series: Vitrine (child process, store only)");
    let exe = std::env::current_exe().expect("the bench's own path");
    let out = Command::new(exe)
        .env(CHILD_ENV, "memory")
        .output()
        .expect("starting the memory child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the memory child failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("the memory child printed no result:\n{stdout}"));
    let fields: HashMap<&str, f64> = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k, v.parse().expect("a number")))
        .collect();
    let per_series = (fields["after"] - fields["before"]) / MEMORY_SERIES as f64;
    println!(
        "{} series × {MEMORY_SAMPLES} samples, {:.0} label bytes per series on average, appended in {:.1} s",
        thousands(MEMORY_SERIES as u64),
        fields["label_bytes"] / MEMORY_SERIES as f64,
        fields["seconds"]
    );
    println!(
        "RSS {} → {} (anonymous {} → {}); chunks {:.0} bytes per series",
        human_bytes(fields["before"]),
        human_bytes(fields["after"]),
        human_bytes(fields["anon_before"]),
        human_bytes(fields["anon_after"]),
        fields["chunk_bytes"] / MEMORY_SERIES as f64
    );
    println!(
        "Vitrine: {per_series:.0} bytes per series ({:.0} after malloc_trim); goal ≤ 1 KiB: {}",
        (fields["trimmed"] - fields["before"]) / MEMORY_SERIES as f64,
        verdict(per_series <= GOAL_BYTES_PER_SERIES)
    );
    Memory { per_series }
}

/// The 100,000 series as a target page; every request advances the counters one scrape.
fn memory_target() -> TargetServer {
    let prefixes: Vec<String> = (0..MEMORY_SERIES)
        .map(|i| {
            let labels = memory_labels(i);
            let mut line = format!("{}{{", labels[0].1);
            for (j, (n, v)) in labels[1..].iter().enumerate() {
                if j > 0 {
                    line.push(',');
                }
                line.push_str(&format!("{n}=\"{v}\""));
            }
            line.push_str("} ");
            line
        })
        .collect();
    let state = Mutex::new((0u64, vec![0.0f64; MEMORY_SERIES]));
    let handler: Handler = Arc::new(move |path: &str| {
        if path != "/metrics" {
            return None;
        }
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let (k, values) = &mut *state;
        let mut body = String::with_capacity(12 << 20);
        body.push_str("# HELP http_requests_total Requests handled.\n# TYPE http_requests_total counter\n");
        for (i, (prefix, value)) in prefixes.iter().zip(values.iter_mut()).enumerate() {
            *value += increment(i, *k);
            body.push_str(prefix);
            push_float(&mut body, *value);
            body.push('\n');
        }
        *k += 1;
        Some(body.into_bytes())
    });
    TargetServer::start(handler)
}

fn prometheus_memory() -> Memory {
    section("b) memory per active series: Prometheus scraping the same 100,000 series every second");
    let prometheus = Prometheus::start("series", "    honor_labels: true\n");
    println!(
        "{} (pid {}) on {}",
        prometheus.version,
        prometheus.pid(),
        prometheus.addr
    );
    thread::sleep(Duration::from_secs(5));
    let before = rss(&prometheus.pid().to_string());
    let heap_before = prometheus.metric("go_memstats_heap_inuse_bytes");
    let target = memory_target();
    prometheus.set_targets(&serde_json::json!([{ "targets": [target.addr.to_string()] }]));
    let started = Instant::now();
    let wanted_samples = (MEMORY_SERIES * MEMORY_SAMPLES) as f64;
    let (series, appended) = loop {
        thread::sleep(Duration::from_secs(2));
        let m = prometheus.metrics();
        let series = m.get("prometheus_tsdb_head_series").copied().unwrap_or(0.0);
        let appended = m
            .get("prometheus_tsdb_head_samples_appended_total")
            .copied()
            .unwrap_or(0.0);
        if series >= MEMORY_SERIES as f64 && appended >= wanted_samples {
            break (series, appended);
        }
        if started.elapsed() > Duration::from_secs(300) {
            panic!(
                "Prometheus did not reach {MEMORY_SERIES} series and {wanted_samples} samples within 5 minutes \
                 (has {series} series, {appended} samples); its log:\n{}",
                prometheus.log_tail()
            );
        }
    };
    let after = rss(&prometheus.pid().to_string());
    let heap_after = prometheus.metric("go_memstats_heap_inuse_bytes");
    drop(target);
    let per_series = (after.total as f64 - before.total as f64) / MEMORY_SERIES as f64;
    println!(
        "{} head series, {} samples appended after {:.0} s",
        thousands(series as u64),
        thousands(appended as u64),
        started.elapsed().as_secs_f64()
    );
    println!(
        "RSS {} → {} (anonymous {} → {}); Go heap in use {} → {}",
        human_bytes(before.total as f64),
        human_bytes(after.total as f64),
        human_bytes(before.anon as f64),
        human_bytes(after.anon as f64),
        human_bytes(heap_before),
        human_bytes(heap_after)
    );
    println!(
        "Prometheus: {per_series:.0} bytes per series (Go heap in use: {:.0})",
        (heap_after - heap_before) / MEMORY_SERIES as f64
    );
    Memory { per_series }
}

// ---------------------------------------------------------------------------
// c) CPU per million scraped samples: Prometheus, then the vitrine binary
// ---------------------------------------------------------------------------

/// One server's CPU per million samples over the scrape window.
struct ScrapeCpu {
    /// Without the CPU (and, for Vitrine, the demo targets' samples) of the server before the bench's targets.
    net_per_million: f64,
    /// All the process' CPU over all samples it appended in the window.
    gross_per_million: f64,
}

/// The bench's targets, `/node/0` … `/app/39` on one loopback server: node
/// exporter captures and application pages, each target starting at its own page.
fn mixed_targets(node_pages: &[String], app_pages: &[String]) -> TargetServer {
    let pages: Arc<(Vec<String>, Vec<String>)> = Arc::new((node_pages.to_vec(), app_pages.to_vec()));
    let counters: Arc<Vec<AtomicUsize>> = Arc::new((0..2 * TARGETS_PER_KIND).map(|_| AtomicUsize::new(0)).collect());
    let handler: Handler = Arc::new(move |path: &str| {
        let (kind, number) = path.trim_start_matches('/').split_once('/')?;
        let number: usize = number.parse().ok().filter(|n| *n < TARGETS_PER_KIND)?;
        let (list, slot) = match kind {
            "node" => (&pages.0, number),
            "app" => (&pages.1, TARGETS_PER_KIND + number),
            _ => return None,
        };
        let k = counters[slot].fetch_add(1, Ordering::Relaxed);
        Some(list[(k + number) % list.len()].clone().into_bytes())
    });
    TargetServer::start(handler)
}

/// (metrics path, instance label) of every target of [`mixed_targets`].
fn mixed_paths() -> Vec<(String, String)> {
    ["node", "app"]
        .iter()
        .flat_map(|kind| (0..TARGETS_PER_KIND).map(move |i| (format!("/{kind}/{i}"), format!("{kind}-{i:02}"))))
        .collect()
}

/// Polls `up` (how many targets are up) until it reaches `wanted`.
fn wait_until_up(what: &str, wanted: usize, mut up: impl FnMut() -> usize, log: impl Fn() -> String) -> f64 {
    let started = Instant::now();
    loop {
        let now = up();
        if now >= wanted {
            return started.elapsed().as_secs_f64();
        }
        if started.elapsed() > TARGETS_UP_WITHIN {
            panic!(
                "{what}: only {now} of {wanted} targets were up after {TARGETS_UP_WITHIN:?}; its log:\n{}",
                log()
            );
        }
        thread::sleep(Duration::from_millis(250));
    }
}

fn prometheus_cpu(node_pages: &[String], app_pages: &[String]) -> ScrapeCpu {
    section("c) CPU per million scraped samples: Prometheus scraping node exporter and application targets");
    let target = mixed_targets(node_pages, app_pages);
    let prometheus = Prometheus::start("mixed", "");
    let pid = prometheus.pid();
    println!(
        "{} (pid {pid}) on {}; load average {}",
        prometheus.version,
        prometheus.addr,
        load_average()
    );
    thread::sleep(Duration::from_secs(3));
    let cpu = process_cpu_seconds(pid);
    thread::sleep(IDLE_WINDOW);
    let idle_rate = (process_cpu_seconds(pid) - cpu) / IDLE_WINDOW.as_secs_f64();
    let groups: Vec<serde_json::Value> = mixed_paths()
        .into_iter()
        .map(|(path, instance)| {
            serde_json::json!({
                "targets": [target.addr.to_string()],
                "labels": { "__metrics_path__": path, "instance": instance },
            })
        })
        .collect();
    prometheus.set_targets(&serde_json::Value::Array(groups));
    // Discovery, then the first scrapes (which create the series) pass before the window.
    let all_up = wait_until_up(
        "Prometheus",
        2 * TARGETS_PER_KIND,
        || prometheus.targets_up(),
        || prometheus.log_tail(),
    );
    thread::sleep(WARM_UP);
    let appended_start = prometheus.metric("prometheus_tsdb_head_samples_appended_total");
    let (cpu_start, wall) = (process_cpu_seconds(pid), Instant::now());
    thread::sleep(SCRAPE_WINDOW);
    let cpu = process_cpu_seconds(pid) - cpu_start;
    let window = wall.elapsed().as_secs_f64();
    let samples = prometheus.metric("prometheus_tsdb_head_samples_appended_total") - appended_start;
    let scraped = prometheus.metric("prometheus_tsdb_head_series");
    let up = prometheus.targets_up();
    drop(prometheus);
    drop(target);
    assert!(
        samples > 0.0,
        "Prometheus appended no samples while scraping: its targets were not scraped"
    );
    let gross = cpu / samples * 1e6;
    let net = (cpu - idle_rate * window) / samples * 1e6;
    println!(
        "{} targets at 1 s, all up {all_up:.1} s after they were set ({up} up at the end): {} samples in {window:.1} s \
         = {}/s ({} series); CPU {cpu:.2} s, idle {idle_rate:.4} CPU-s/s",
        2 * TARGETS_PER_KIND,
        thousands(samples as u64),
        thousands((samples / window) as u64),
        thousands(scraped as u64),
    );
    println!(
        "Prometheus: {net:.3} CPU-s per million samples without its idle CPU ({gross:.3} with it) = {} samples/s per core",
        thousands((1e6 / net) as u64)
    );
    ScrapeCpu {
        net_per_million: net,
        gross_per_million: gross,
    }
}

/// The prometheus.yml the vitrine binary imports: Prometheus' job, targets and intervals.
fn vitrine_scrape_yml(target: SocketAddr) -> String {
    let mut yml = String::from(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: mixed\n    static_configs:\n",
    );
    for (path, instance) in mixed_paths() {
        // A full URL carries the metrics path (Vitrine does not import `__metrics_path__` labels).
        yml.push_str(&format!(
            "      - targets: ['http://{target}{path}']\n        labels:\n          instance: {instance}\n"
        ));
    }
    yml
}

/// A figure of vitrine's `/metrics`, which must be there.
fn counter(metrics: &HashMap<String, f64>, name: &str) -> f64 {
    *metrics
        .get(name)
        .unwrap_or_else(|| panic!("vitrine's /metrics has no {name} (was it renamed?)"))
}

fn vitrine_cpu(binary: &std::path::Path, node_pages: &[String], app_pages: &[String]) -> ScrapeCpu {
    section("c) CPU per million scraped samples: the vitrine binary scraping the same targets");
    let target = mixed_targets(node_pages, app_pages);
    let vitrine = VitrineServer::start_demo(binary);
    let pid = vitrine.pid();
    println!(
        "{} (`serve --demo`, pid {pid}) on {}; load average {}",
        vitrine.version,
        vitrine.addr,
        load_average()
    );
    // The demo's own targets (acme/shop/live: the demo shop, vitrine itself and a node
    // exporter when installed) are scraped every 15 s; their first scrapes create their series.
    thread::sleep(VITRINE_SETTLE);
    let before = vitrine.metrics();
    let demo_targets = before.get("vitrine_scrape_targets").copied().unwrap_or(0.0) as usize;
    let demo_up = before.get("vitrine_scrape_targets_up").copied().unwrap_or(0.0) as usize;
    let (cpu, wall) = (process_cpu_seconds(pid), Instant::now());
    thread::sleep(VITRINE_IDLE_WINDOW);
    let idle_cpu = process_cpu_seconds(pid) - cpu;
    let idle_window = wall.elapsed().as_secs_f64();
    let idle_samples = counter(&vitrine.metrics(), "vitrine_tsdb_samples_appended_total")
        - counter(&before, "vitrine_tsdb_samples_appended_total");
    let (idle_rate, idle_samples_rate) = (idle_cpu / idle_window, idle_samples / idle_window);
    println!(
        "idle ({demo_targets} demo targets every 15 s, {demo_up} up): {idle_rate:.4} CPU-s/s, {idle_samples_rate:.0} \
         samples/s"
    );

    let yml = vitrine.path("prometheus.yml");
    std::fs::write(&yml, vitrine_scrape_yml(target.addr)).expect("writing prometheus.yml");
    let yml = yml.to_string_lossy().into_owned();
    let imported = vitrine.run(&[
        "targets",
        "import",
        &yml,
        "--client",
        "acme",
        "--project",
        "shop",
        "--environment",
        "stage",
    ]);
    let wanted = format!("{} targets added", 2 * TARGETS_PER_KIND);
    assert!(
        imported.starts_with(&wanted) && !imported.contains("not imported"),
        "`vitrine targets import` did not add all {} targets:\n{imported}",
        2 * TARGETS_PER_KIND
    );
    // The running server loads new targets within 30 s.
    let all_up = wait_until_up(
        "vitrine",
        demo_up + 2 * TARGETS_PER_KIND,
        || {
            vitrine
                .metrics()
                .get("vitrine_scrape_targets_up")
                .copied()
                .unwrap_or(0.0) as usize
        },
        || vitrine.log_tail(),
    );
    println!(
        "`vitrine targets import` into acme/shop/stage: {}; all up {all_up:.1} s later",
        imported.lines().next().unwrap_or("").trim()
    );
    thread::sleep(WARM_UP);
    let appended_start = counter(&vitrine.metrics(), "vitrine_tsdb_samples_appended_total");
    let (cpu_start, wall) = (process_cpu_seconds(pid), Instant::now());
    thread::sleep(SCRAPE_WINDOW);
    let cpu = process_cpu_seconds(pid) - cpu_start;
    let window = wall.elapsed().as_secs_f64();
    let after = vitrine.metrics();
    let samples = counter(&after, "vitrine_tsdb_samples_appended_total") - appended_start;
    let series = after.get("vitrine_tsdb_head_series").copied().unwrap_or(0.0);
    let up = after.get("vitrine_scrape_targets_up").copied().unwrap_or(0.0);
    drop(vitrine);
    drop(target);
    assert!(samples > 0.0, "vitrine appended no samples while scraping");
    let demo_samples = idle_samples_rate * window;
    let gross = cpu / samples * 1e6;
    let net = (cpu - idle_rate * window) / (samples - demo_samples) * 1e6;
    println!(
        "{} targets at 1 s + the demo's {demo_targets} ({up} up at the end): {} samples in {window:.1} s = {}/s \
         ({} series in the head); CPU {cpu:.2} s",
        2 * TARGETS_PER_KIND,
        thousands(samples as u64),
        thousands((samples / window) as u64),
        thousands(series as u64),
    );
    println!(
        "Vitrine: {net:.3} CPU-s per million samples without its idle CPU and the demo targets' ~{} samples \
         ({gross:.3} whole process, demo targets included) = {} samples/s per core",
        thousands(demo_samples as u64),
        thousands((1e6 / net) as u64)
    );
    ScrapeCpu {
        net_per_million: net,
        gross_per_million: gross,
    }
}
