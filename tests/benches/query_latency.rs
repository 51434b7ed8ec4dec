//! PromQL query latency, Vitrine against Prometheus 2.42 on the same data,
//! both asked over HTTP (`GET /api/v1/query_range`), neither with a result
//! cache.
//!
//! Data (see `query_latency/data.rs`): a web shop on 10 instances, exactly
//! 10,000 series (request counters by route and status, a latency histogram,
//! gauges, database, cache and process series, with restarts and error
//! incidents), 7 days at one sample a minute (100.8 M samples), ending at a
//! 54-hour boundary (now rounded down), written as OpenMetrics files of 18
//! hours each. Each file goes into Prometheus with `promtool tsdb
//! create-blocks-from openmetrics` and into Vitrine with `vitrine import
//! openmetrics`, then is deleted. Vitrine's store is then compacted (`vitrine
//! tsdb compact`, as its own maintenance would); Prometheus compacts the
//! blocks itself after it starts, and the timing waits until it has, and
//! until both servers are idle.
//!
//! Before any timing both stores must hold every series and sample, and for
//! each of the 15 cases (5 queries × 1 h at 15 s, 24 h at 1 m, 7 d at 10 m,
//! all ending at the data's end) Vitrine's answer must be Prometheus' (same
//! series, same timestamps, values equal up to 1e-9 relative): a fast wrong
//! answer is worth nothing. Differences are printed and make the benchmark
//! exit non-zero (after the table). Then each case runs once to warm up and
//! N times (9, fewer when slow) alternating between the servers; the table
//! shows the medians. Goal: Vitrine ≤ 0.5 × Prometheus on every case.
//!
//! `cargo build --release -p vitrine`, then
//! `VITRINE_BENCH=1 cargo bench -p vitrine-tests --bench query_latency`
//! (needs Debian's prometheus package, which brings promtool; `VITRINE_BIN`
//! points at another binary). Generating and loading the data takes a few
//! minutes; the queries at most about 12.
//!
//! `VITRINE_BENCH_QUERY_DATA=DIR` (absolute) keeps both loaded stores in DIR
//! (`DIR/prometheus`, `DIR/vitrine`, ~0.4 GB) and reuses them on the next run,
//! which then only starts the servers and times the queries: for re-running
//! after rebuilding the binary. Delete `DIR/vitrine.loaded` to load only
//! Vitrine's side again (after a change of its store format), or the whole DIR
//! to start over; data older than 60 days is loaded again anyway (Vitrine
//! would drop it after a client's 90 days of retention).
//!
//! Vitrine spreads a large range query's series over the machine's cores
//! (`query_threads`); Prometheus 2.42 evaluates a query on one.
//! `VITRINE_BENCH_QUERY_THREADS=1` runs Vitrine with one thread per query.

mod common;
#[path = "query_latency/data.rs"]
mod data;
#[path = "query_latency/results.rs"]
mod results;

use common::{
    Prometheus, VitrineServer, human_bytes, load_average, process_cpu_seconds, program_version, require_program,
    section, skip_unless_enabled, thousands, vitrine_binary, vitrine_cli,
};
use data::Generator;
use results::Matrix;
use std::fs;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const QUERIES: [(&str, &str); 5] = [
    (
        "sum by route of rates",
        "sum by (route) (rate(http_requests_total[5m]))",
    ),
    (
        "p95 from the histogram",
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    (
        "error ratio",
        "sum(rate(http_requests_total{status=\"500\"}[5m])) / sum(rate(http_requests_total[5m]))",
    ),
    ("avg_over_time 1h", "avg_over_time(http_requests_in_flight[1h])"),
    (
        "topk 5 routes",
        "topk(5, sum by (route) (rate(http_requests_total[5m])))",
    ),
];
/// Name, range and step in seconds.
const RANGES: [(&str, i64, i64); 3] = [
    ("1h / 15s", 3600, 15),
    ("24h / 1m", 86_400, 60),
    ("7d / 10m", 7 * 86_400, 600),
];
const GOAL: f64 = 0.5;
const MAX_RUNS: usize = 9;
/// Timed runs of both servers in one case stay within about this long.
const CASE_BUDGET_S: f64 = 40.0;
/// The data ends at a multiple of 54 h, a block span of Prometheus' compaction.
const ALIGN_S: i64 = 54 * 3600;
const KEEP_VAR: &str = "VITRINE_BENCH_QUERY_DATA";
const KEEP_MAX_AGE_S: i64 = 60 * 86_400;
const CLIENT: &str = "shop";
/// Prometheus' defaults (`--query.timeout=2m`, `--query.max-samples=50000000`), for Vitrine too.
const VITRINE_LIMITS: [(&str, &str); 2] = [
    ("VITRINE_QUERY_TIMEOUT_SECS", "120"),
    ("VITRINE_QUERY_MAX_SAMPLES", "50000000"),
];
/// A server counts as idle below this share of one core.
const IDLE_CPU: f64 = 0.03;

fn main() {
    skip_unless_enabled("query_latency");
    if !run() {
        // After `run` has returned, so that both servers have been stopped.
        std::process::exit(1);
    }
}

/// Everything; false when an answer was wrong or a query failed.
fn run() -> bool {
    let promtool = require_program("promtool");
    let prometheus_program = require_program("prometheus");
    let vitrine = vitrine_binary();
    section("Versions");
    println!("Prometheus: {}", program_version(&prometheus_program));
    println!("promtool:   {}", program_version(&promtool));
    println!("Vitrine:    {} ({})", program_version(&vitrine), vitrine.display());

    let stores = Stores::open();
    section("Data");
    println!(
        "{} series, one sample every {} s for 7 days: {} samples, until {} s (a multiple of 54 h)",
        thousands(data::SERIES as u64),
        data::STEP_S,
        thousands(data::SAMPLES),
        stores.end_s
    );
    stores.load(&promtool, &vitrine);

    section("Servers");
    let started = Instant::now();
    let prometheus = Prometheus::serve_blocks(&stores.prometheus_dir());
    println!(
        "Prometheus on {} ready after {:.1} s",
        prometheus.addr,
        started.elapsed().as_secs_f64()
    );
    settle_prometheus(&prometheus, !stores.prometheus_loaded);
    stores.mark("prometheus");
    // A name of its own per run: a reused store keeps the tokens of earlier runs.
    let token_name = format!(
        "query-latency-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let token = vitrine_cli(
        &vitrine,
        &stores.vitrine_dir(),
        &["token", "create", "--client", CLIENT, "--name", &token_name],
    )
    .unwrap_or_else(|e| panic!("creating an API token: {e}"))
    .lines()
    .last()
    .map(|l| l.trim().to_string())
    .filter(|l| !l.is_empty())
    .expect("`vitrine token create` printed the token on its last line");
    let started = Instant::now();
    let threads = std::env::var("VITRINE_BENCH_QUERY_THREADS").ok();
    let mut env = VITRINE_LIMITS.to_vec();
    if let Some(threads) = &threads {
        env.push(("VITRINE_QUERY_THREADS", threads));
    }
    println!(
        "Vitrine's threads per query: {}",
        threads.as_deref().unwrap_or("the default (the cores, at most 8)")
    );
    let server = VitrineServer::serve_data(&vitrine, &stores.vitrine_dir(), &env);
    println!(
        "Vitrine on {} ready after {:.1} s",
        server.addr,
        started.elapsed().as_secs_f64()
    );
    let http = Http::new();
    let sides = [
        Side {
            name: "Prometheus",
            addr: prometheus.addr,
            token: None,
            pid: prometheus.pid(),
        },
        Side {
            name: "Vitrine",
            addr: server.addr,
            token: Some(token),
            pid: server.pid(),
        },
    ];
    let mut contents_ok = true;
    for side in &sides {
        contents_ok &= check_contents(&http, side, stores.end_s);
    }
    for side in &sides {
        wait_idle(side.pid, side.name, Duration::from_secs(600), &|| String::new());
    }

    section("Queries");
    println!("load average before: {}", load_average());
    let mut answers_ok = true;
    let mut outcomes = Vec::new();
    for (q, (_, query)) in QUERIES.iter().enumerate() {
        for (r, (_, range_s, step_s)) in RANGES.iter().enumerate() {
            let span = (stores.end_s - range_s, stores.end_s, *step_s);
            let outcome = run_case(&http, &sides, query, span);
            outcome.print(q, r, outcomes.len() + 1);
            answers_ok &= outcome.is_ok();
            outcomes.push((q, r, outcome));
        }
    }
    println!("load average after: {}", load_average());

    section("query_latency: median latency over HTTP, Vitrine against Prometheus");
    println!(
        "{} series, {} samples (one a minute for 7 days); {}; {}",
        thousands(data::SERIES as u64),
        thousands(data::SAMPLES),
        prometheus.version,
        server.version
    );
    for (name, query) in QUERIES {
        println!("  {name:<24}{query}");
    }
    print_table(&outcomes);
    if !contents_ok {
        println!();
        println!("FAILED: a server does not hold all the data (see \"Servers\" above): no figure means anything.");
    }
    if !answers_ok {
        println!();
        println!("FAILED: some answers differ or a query failed (see above); the figures of those cases mean nothing.");
    }
    contents_ok && answers_ok
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs() as i64
}

// ---------------------------------------------------------------------------
// The two stores: generated, loaded, kept
// ---------------------------------------------------------------------------

/// Where the stores live (a temporary directory, or `VITRINE_BENCH_QUERY_DATA`)
/// and which of them already hold the data.
struct Stores {
    root: PathBuf,
    _temp: Option<TempDir>,
    end_s: i64,
    prometheus_loaded: bool,
    vitrine_loaded: bool,
}

impl Stores {
    fn open() -> Stores {
        let now = now_s();
        let fresh_end = now.div_euclid(ALIGN_S) * ALIGN_S;
        let Some(dir) = std::env::var_os(KEEP_VAR) else {
            let temp = tempfile::Builder::new()
                .prefix("query-latency-")
                .tempdir()
                .expect("temporary directory");
            return Stores {
                root: temp.path().to_path_buf(),
                _temp: Some(temp),
                end_s: fresh_end,
                prometheus_loaded: false,
                vitrine_loaded: false,
            };
        };
        let root = PathBuf::from(dir);
        // Cargo runs benchmarks in the package's directory, not where the command was typed.
        assert!(
            root.is_absolute(),
            "{KEEP_VAR} must be an absolute path, not {}",
            root.display()
        );
        fs::create_dir_all(&root).unwrap_or_else(|e| panic!("creating {KEEP_VAR}={}: {e}", root.display()));
        // A side's marker names the data version and end; both sides must hold the same data.
        let loaded_end = |side: &str| -> Option<i64> {
            let text = fs::read_to_string(root.join(format!("{side}.loaded"))).ok()?;
            text.trim()
                .strip_prefix(data::VERSION)?
                .trim()
                .strip_prefix("end=")?
                .parse()
                .ok()
        };
        let (p, v) = (loaded_end("prometheus"), loaded_end("vitrine"));
        let end_s = p.or(v).filter(|end| now - end < KEEP_MAX_AGE_S).unwrap_or(fresh_end);
        let stores = Stores {
            root,
            _temp: None,
            end_s,
            prometheus_loaded: p == Some(end_s),
            vitrine_loaded: v == Some(end_s),
        };
        for (side, loaded) in [
            ("prometheus", stores.prometheus_loaded),
            ("vitrine", stores.vitrine_loaded),
        ] {
            let dir = stores.root.join(side);
            if loaded {
                println!("{KEEP_VAR}: reusing {}", dir.display());
            } else {
                let _ = fs::remove_file(stores.root.join(format!("{side}.loaded")));
                if dir.exists() {
                    fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("removing the old {}: {e}", dir.display()));
                }
                println!("{KEEP_VAR}: loading {}", dir.display());
            }
        }
        stores
    }

    fn prometheus_dir(&self) -> PathBuf {
        self.root.join("prometheus")
    }

    fn vitrine_dir(&self) -> PathBuf {
        self.root.join("vitrine")
    }

    /// Records that a side holds the data (only meaningful in a kept directory).
    fn mark(&self, side: &str) {
        let text = format!("{} end={}\n", data::VERSION, self.end_s);
        fs::write(self.root.join(format!("{side}.loaded")), text).expect("writing a marker of loaded data");
    }

    /// Generates the data window by window and loads each file into the sides that lack it.
    fn load(&self, promtool: &Path, vitrine: &Path) {
        if self.prometheus_loaded && self.vitrine_loaded {
            println!("both stores were loaded before: nothing to generate");
            return;
        }
        let vitrine_dir = self.vitrine_dir();
        if !self.vitrine_loaded {
            fs::create_dir_all(&vitrine_dir).expect("creating Vitrine's data directory");
            for args in [
                &["migrate"][..],
                &["agency", "create", "--slug", "bench", "--name", "Bench"],
                &[
                    "client", "create", "--agency", "bench", "--slug", CLIENT, "--name", "Shop",
                ],
            ] {
                vitrine_cli(vitrine, &vitrine_dir, args).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let mut generator = Generator::new(self.end_s);
        let (mut generate, mut promtool_s, mut import_s) = (0.0, 0.0, 0.0);
        let (mut samples, mut bytes) = (0u64, 0u64);
        let windows = generator.windows();
        println!(
            "{} OpenMetrics files of up to 18 h; each is loaded into {} and deleted",
            windows.len(),
            match (self.prometheus_loaded, self.vitrine_loaded) {
                (false, false) => "both stores",
                (true, false) => "Vitrine only",
                _ => "Prometheus only",
            }
        );
        for (n, (first, end)) in windows.into_iter().enumerate() {
            let file = self.root.join(format!("window-{n:02}.om"));
            let started = Instant::now();
            let mut out = BufWriter::with_capacity(1 << 20, fs::File::create(&file).expect("creating a data file"));
            let written = generator
                .write_window(first, end, &mut out)
                .and_then(|n| out.flush().map(|_| n))
                .unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
            let size = fs::metadata(&file).expect("the data file").len();
            let g = started.elapsed().as_secs_f64();
            let mut line = format!(
                "  file {n}: {} samples, {}; written in {g:.1} s",
                thousands(written),
                human_bytes(size as f64)
            );
            generate += g;
            samples += written;
            bytes += size;
            if !self.prometheus_loaded {
                let started = Instant::now();
                let out = Command::new(promtool)
                    .args([
                        "tsdb",
                        "create-blocks-from",
                        "openmetrics",
                        "--quiet",
                        data::PROMTOOL_BLOCK_FLAG,
                    ])
                    .arg(&file)
                    .arg(self.prometheus_dir())
                    .output()
                    .unwrap_or_else(|e| panic!("running promtool: {e}"));
                if !out.status.success() {
                    panic!(
                        "promtool tsdb create-blocks-from openmetrics {} failed ({}):\n{}{}",
                        file.display(),
                        out.status,
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                let s = started.elapsed().as_secs_f64();
                promtool_s += s;
                line += &format!(", promtool {s:.1} s");
            }
            if !self.vitrine_loaded {
                let started = Instant::now();
                let path = file.display().to_string();
                let report = vitrine_cli(
                    vitrine,
                    &vitrine_dir,
                    &["import", "openmetrics", &path, "--client", CLIENT],
                )
                .unwrap_or_else(|e| panic!("{e}"));
                let s = started.elapsed().as_secs_f64();
                import_s += s;
                line += &format!(", vitrine import {s:.1} s");
                // "imported N samples of M series into B blocks; K samples older than … skipped; …"
                let number_after = |word: &str| -> Option<u64> {
                    let mut words = report.split_whitespace();
                    words.find(|w| *w == word)?;
                    words.next()?.replace(',', "").parse().ok()
                };
                assert_eq!(
                    number_after("imported"),
                    Some(written),
                    "vitrine import did not take every sample of the file: {report}"
                );
            }
            println!("{line}");
            fs::remove_file(&file).unwrap_or_else(|e| panic!("removing {}: {e}", file.display()));
        }
        assert_eq!(
            samples,
            data::SAMPLES,
            "the generator wrote a different number of samples"
        );
        println!(
            "generated {} of OpenMetrics text ({:.1} bytes per sample) in {generate:.0} s",
            human_bytes(bytes as f64),
            bytes as f64 / samples as f64
        );
        if !self.prometheus_loaded {
            println!("promtool took {promtool_s:.0} s in all");
        }
        if !self.vitrine_loaded {
            let started = Instant::now();
            let compacted = vitrine_cli(vitrine, &vitrine_dir, &["tsdb", "compact"]).unwrap_or_else(|e| panic!("{e}"));
            let compact_s = started.elapsed().as_secs_f64();
            println!(
                "vitrine import took {import_s:.0} s in all, vitrine tsdb compact {compact_s:.0} s: {}",
                compacted.trim()
            );
            match vitrine_cli(vitrine, &vitrine_dir, &["tsdb", "stats"]) {
                Ok(stats) => stats.lines().for_each(|l| println!("  | {l}")),
                Err(e) => println!("(vitrine tsdb stats failed: {e})"),
            }
            self.mark("vitrine");
        }
    }
}

// ---------------------------------------------------------------------------
// The servers: settled, idle, holding the data
// ---------------------------------------------------------------------------

struct Side {
    name: &'static str,
    addr: SocketAddr,
    token: Option<String>,
    pid: u32,
}

/// Waits for Prometheus to compact the backfilled blocks as it would its own:
/// it first looks for work a minute after it starts (then every minute), and
/// one round compacts until nothing is left to do.
fn settle_prometheus(prometheus: &Prometheus, fresh: bool) {
    const TRIGGERED: &str = "prometheus_tsdb_compactions_triggered_total";
    let started = Instant::now();
    let blocks_before = prometheus.metric("prometheus_tsdb_blocks_loaded");
    if fresh {
        println!("waiting for Prometheus' first compaction round (a minute after its start) …");
        if prometheus.metrics().contains_key(TRIGGERED) {
            while prometheus.metric(TRIGGERED) < 1.0 {
                assert!(
                    started.elapsed() < Duration::from_secs(300),
                    "Prometheus started no compaction within 5 minutes; its log:\n{}",
                    prometheus.log_tail()
                );
                thread::sleep(Duration::from_secs(1));
            }
        } else {
            thread::sleep(Duration::from_secs(75));
        }
    }
    let state = || {
        let m = prometheus.metrics();
        let get = |name: &str| m.get(name).copied().unwrap_or(0.0);
        format!(
            "{} blocks, {} compactions",
            get("prometheus_tsdb_blocks_loaded"),
            get("prometheus_tsdb_compactions_total")
        )
    };
    wait_idle(prometheus.pid(), "Prometheus", Duration::from_secs(1800), &state);
    println!(
        "Prometheus settled after {:.0} s: {blocks_before} blocks at start, now {}; failed compactions: {}",
        started.elapsed().as_secs_f64(),
        state(),
        prometheus.metric("prometheus_tsdb_compactions_failed_total")
    );
}

/// Waits until a process used less than `IDLE_CPU` of a core over 5 s and `state` did not change.
fn wait_idle(pid: u32, what: &str, within: Duration, state: &dyn Fn() -> String) {
    let started = Instant::now();
    let window = Duration::from_secs(5);
    let mut reported = Instant::now();
    loop {
        let (before, cpu_before) = (state(), process_cpu_seconds(pid));
        thread::sleep(window);
        let used = (process_cpu_seconds(pid) - cpu_before) / window.as_secs_f64();
        let after = state();
        if used < IDLE_CPU && before == after {
            println!(
                "{what} is idle ({:.1} % of a core) after {:.0} s",
                used * 100.0,
                started.elapsed().as_secs_f64()
            );
            return;
        }
        assert!(
            started.elapsed() < within,
            "{what} was not idle within {within:?} ({:.0} % of a core; {after})",
            used * 100.0
        );
        if reported.elapsed() > Duration::from_secs(30) {
            println!("  {what} still busy: {:.0} % of a core; {after}", used * 100.0);
            reported = Instant::now();
        }
    }
}

/// Both servers must hold all 10,000 series and every sample before their speed means anything.
/// Samples are counted per metric name (`count_over_time` drops the name, so
/// it cannot count all names at once) and day (at most 6.5 M samples a query,
/// far below the limit of 50 M).
fn check_contents(http: &Http, side: &Side, end_s: i64) -> bool {
    let started = Instant::now();
    let counted = (|| -> Result<(usize, f64, f64), String> {
        let value = |query: &str, t: i64| -> Result<f64, String> {
            let params = [("query", query.to_string()), ("time", t.to_string())];
            let (_, body) = http.get(side, "/api/v1/query", &params)?;
            results::single_value(&body)
        };
        let (_, body) = http.get(side, "/api/v1/label/__name__/values", &[])?;
        let names = results::string_list(&body)?;
        let series = value("count({__name__=~\".+\"})", end_s)?;
        let mut samples = 0.0;
        for name in &names {
            for day in 0..7 {
                samples += value(&format!("sum(count_over_time({name}[1d]))"), end_s - day * 86_400)?;
            }
        }
        Ok((names.len(), series, samples))
    })();
    match counted {
        Ok((names, series, samples)) if series == data::SERIES as f64 && samples == data::SAMPLES as f64 => {
            println!(
                "{} holds all {} series ({names} metric names) and {} samples (counted in {:.1} s)",
                side.name,
                thousands(series as u64),
                thousands(samples as u64),
                started.elapsed().as_secs_f64()
            );
            true
        }
        Ok((_, series, samples)) => {
            println!(
                "WRONG CONTENTS: {} holds {series} series and {samples} samples instead of {} and {}",
                side.name,
                data::SERIES,
                data::SAMPLES
            );
            false
        }
        Err(e) => {
            println!("FAILED to count what {} holds: {e}", side.name);
            false
        }
    }
}

// ---------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------

/// A plain HTTP/1.1 client with keep-alive (as Grafana asks), no compression, no proxy.
struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    fn new() -> Http {
        Http {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime"),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(300))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// GET `path?params` from a side: the seconds from sending the request to
    /// the answer's last byte, and the answer; any status but 200 is an error.
    fn get(&self, side: &Side, path: &str, params: &[(&str, String)]) -> Result<(f64, Vec<u8>), String> {
        let mut request = self.client.get(format!("http://{}{path}", side.addr)).query(params);
        if let Some(token) = &side.token {
            request = request.bearer_auth(token);
        }
        let request = request.build().map_err(|e| e.to_string())?;
        self.runtime.block_on(async {
            let started = Instant::now();
            let response = self.client.execute(request).await.map_err(|e| format!("{e:?}"))?;
            let status = response.status();
            let body = response.bytes().await.map_err(|e| format!("{e:?}"))?;
            let seconds = started.elapsed().as_secs_f64();
            if status != reqwest::StatusCode::OK {
                return Err(format!("HTTP {status}: {}", results::excerpt(&body)));
            }
            Ok((seconds, body.to_vec()))
        })
    }
}

/// What one case gave: the answer's size, each side's timed runs, and what went wrong.
struct Outcome {
    series: usize,
    points: usize,
    bytes: [usize; 2],
    runs: [Vec<f64>; 2],
    errors: [Option<String>; 2],
    differences: Option<(Vec<String>, usize)>,
}

impl Outcome {
    fn is_ok(&self) -> bool {
        self.errors.iter().all(Option::is_none) && self.differences.is_none()
    }

    fn median_ms(&self, side: usize) -> Option<f64> {
        let mut runs = self.runs[side].clone();
        if runs.is_empty() || self.errors[side].is_some() {
            return None;
        }
        runs.sort_by(f64::total_cmp);
        Some(runs[runs.len() / 2] * 1000.0)
    }

    fn print(&self, q: usize, r: usize, number: usize) {
        println!(
            "[{number:>2}/{}] {} over {}: {} series, {} points",
            QUERIES.len() * RANGES.len(),
            QUERIES[q].0,
            RANGES[r].0,
            self.series,
            thousands(self.points as u64)
        );
        for (side, name) in ["Prometheus", "Vitrine"].iter().enumerate() {
            if let Some(error) = &self.errors[side] {
                println!("    {name:<11}FAILED: {error}");
                continue;
            }
            let runs = &self.runs[side];
            let min = runs.iter().copied().fold(f64::INFINITY, f64::min) * 1000.0;
            let max = runs.iter().copied().fold(0.0, f64::max) * 1000.0;
            println!(
                "    {name:<11}median {:>9.1} ms of {} runs ({min:.1} … {max:.1} ms), answer {}",
                self.median_ms(side).unwrap_or(f64::NAN),
                runs.len(),
                human_bytes(self.bytes[side] as f64)
            );
        }
        if let Some((shown, count)) = &self.differences {
            println!("    WRONG ANSWER: Vitrine's answer differs from Prometheus' in {count} places:");
            for line in shown {
                println!("      {line}");
            }
        }
    }
}

/// One query over one range: both answers compared, a warm-up, then N runs alternating.
fn run_case(http: &Http, sides: &[Side; 2], query: &str, (start, end, step): (i64, i64, i64)) -> Outcome {
    let params = [
        ("query", query.to_string()),
        ("start", start.to_string()),
        ("end", end.to_string()),
        ("step", step.to_string()),
    ];
    let mut outcome = Outcome {
        series: 0,
        points: 0,
        bytes: [0; 2],
        runs: [Vec::new(), Vec::new()],
        errors: [None, None],
        differences: None,
    };
    // The warm-up answers are the ones compared.
    let mut answers: [Option<Matrix>; 2] = [None, None];
    let mut warm_up = [0.0; 2];
    for (i, side) in sides.iter().enumerate() {
        match http
            .get(side, "/api/v1/query_range", &params)
            .and_then(|(s, body)| Matrix::parse(&body).map(|m| (s, body.len(), m)))
        {
            Ok((seconds, bytes, matrix)) => {
                warm_up[i] = seconds;
                outcome.bytes[i] = bytes;
                answers[i] = Some(matrix);
            }
            Err(e) => outcome.errors[i] = Some(e),
        }
    }
    if let [Some(expected), Some(got)] = &answers {
        outcome.series = expected.series();
        outcome.points = expected.points();
        let (shown, count) = expected.differences(got);
        if count > 0 {
            outcome.differences = Some((shown, count));
        }
    }
    // As many runs as fit the budget (odd, for a plain median), at least one.
    let pair_s: f64 = warm_up.iter().sum();
    let mut runs = ((CASE_BUDGET_S / pair_s.max(1e-3)) as usize).clamp(1, MAX_RUNS);
    if runs.is_multiple_of(2) {
        runs -= 1;
    }
    for run in 0..runs {
        // Alternating who goes first, so neither always meets the other's leftovers.
        for i in [run % 2, 1 - run % 2] {
            if outcome.errors[i].is_some() {
                continue;
            }
            match http.get(&sides[i], "/api/v1/query_range", &params) {
                Ok((seconds, _)) => outcome.runs[i].push(seconds),
                Err(e) => outcome.errors[i] = Some(e),
            }
        }
    }
    outcome
}

fn print_table(outcomes: &[(usize, usize, Outcome)]) {
    println!();
    println!(
        "{:<24}{:<11}{:>7}{:>10}{:>6}{:>16}{:>13}{:>11}  goal ≤ {GOAL}",
        "query", "range/step", "series", "points", "runs", "Prometheus ms", "Vitrine ms", "ratio V/P"
    );
    let mut met = 0;
    for (q, r, o) in outcomes {
        let runs = o.runs[0].len().max(o.runs[1].len());
        let ms = |side: usize| o.median_ms(side).map_or("failed".to_string(), |m| format!("{m:.1}"));
        let (ratio, verdict) = match (o.median_ms(0), o.median_ms(1)) {
            (Some(p), Some(v)) if o.differences.is_none() => {
                let ratio = v / p;
                if ratio <= GOAL {
                    met += 1;
                }
                (format!("{ratio:.2}"), if ratio <= GOAL { "met" } else { "NOT met" })
            }
            (Some(p), Some(v)) => (format!("{:.2}", v / p), "WRONG ANSWER"),
            _ => ("-".to_string(), "FAILED"),
        };
        println!(
            "{:<24}{:<11}{:>7}{:>10}{:>6}{:>16}{:>13}{:>11}  {verdict}",
            QUERIES[*q].0,
            RANGES[*r].0,
            o.series,
            thousands(o.points as u64),
            runs,
            ms(0),
            ms(1),
            ratio
        );
    }
    println!("goal met in {met} of {} cases", outcomes.len());
}
