//! The engine at agency scale: 1,000,000 active series scraped every 15 s,
//! after 2 h of samples (480 per series), Vitrine's store against Prometheus
//! 2.42 and VictoriaMetrics 1.79 fed the same series and samples, then a live
//! loopback scrape of the same million series, one server at a time.
//!
//! Phases (each can be left out, see `VITRINE_BENCH_SCALE_PHASES`):
//!
//! - `vitrine`: `vitrine_tsdb::Db` in a child process of the bench (its RSS
//!   is its own), once per shape: (a) 1,000 tenants × 20 targets × 50 series,
//!   (b) 10 tenants × 100,000 series. Per 15 s step, one appender and one
//!   commit per target; series references are kept between steps as a scrape
//!   cache keeps them. The synthetic samples lie in [now − 5 h, now − 1 h)
//!   (2 h, aligned to 2 h), so that head compaction takes all of them. Figures:
//!   anonymous and total RSS per active series, CPU per million samples
//!   appended, restart (drop the store, open it again: the log is replayed; then after
//!   a checkpoint, as the server writes at shutdown),
//!   compaction CPU (`compact_head(true)` + `compact_blocks(false)`), bytes per
//!   sample on disk after it, and the latency of a tenant's label names and
//!   values (`label_pairs`) and of the regex selector `{__name__=~"node_.*|http_.*"}`
//!   (`select`, and `series` for labels only), on the head and on the blocks.
//! - `churn`: a child appends 100,000 series (`VITRINE_BENCH_CHURN_SERIES`) for 24 h
//!   (`VITRINE_BENCH_CHURN_HOURS`) of synthetic samples; every hour 10 % of the targets,
//!   picked at random, are replaced by new ones (a new `pod` label on their 50 series, as
//!   a deployment replaces pods), and the head is compacted as the server does. The
//!   anonymous RSS per active series of hour 4 and of the last hour must stay flat.
//! - `crash`: a child appends 100,000 series (`VITRINE_BENCH_CRASH_SERIES`)
//!   and prints each step it has committed; it is killed with SIGKILL after a
//!   few seconds, the store is opened again and every acknowledged sample is
//!   checked bit for bit.
//! - `prometheus`: Debian's Prometheus with `--web.enable-remote-write-receiver`,
//!   fed the same series (shape (a)'s, with a `tenant` label) through remote
//!   write: snappy-compressed protobuf `WriteRequest`s of ~20,000 samples (a
//!   series with `VITRINE_BENCH_SCALE_WINDOW` = 20 consecutive samples per
//!   request, 1,000 series), three requests in flight. RSS per series once it
//!   is idle, CPU per million samples, the label and selector latencies over
//!   its HTTP API, disk bytes per sample of the head written as a block (the
//!   admin API's snapshot writes the head with the compactor: Prometheus has
//!   no call that compacts a head spanning less than 3 h), and restart
//!   (SIGTERM, start again on the same data, until `/-/ready` answers 200).
//! - `victoriametrics`: Debian's VictoriaMetrics fed the same samples as
//!   Prometheus text with millisecond timestamps through
//!   `/api/v1/import/prometheus` (same requests): RSS per series, CPU per
//!   million samples, and bytes per sample after force_flush + force_merge.
//! - `live-prometheus`, `live-vitrine`: a target server in the bench serves
//!   the million series as 20,000 targets × 50 series (`VITRINE_BENCH_LIVE_TARGETS`
//!   for fewer, larger targets); each server scrapes them every 15 s for
//!   `VITRINE_BENCH_LIVE_SECS` (600) — Prometheus through file_sd, then the
//!   release `vitrine serve --demo` with the targets imported by `vitrine
//!   targets import` into acme/shop/stage — and CPU seconds per million
//!   scraped samples are compared. Then, while Vitrine keeps scraping, the p95
//!   of a dashboard range query over its HTTP API (`sum by (job)
//!   (rate(process_cpu_seconds_total[5m]))`, the last hour, step 15 s), and the
//!   same once the targets are gone and the server is idle.
//!
//! Full size (about an hour on 2 cores; needs Debian's prometheus and
//! victoria-metrics packages and `cargo build --release -p vitrine` first):
//!
//! `VITRINE_BENCH=1 cargo bench -p vitrine-tests --bench scale`
//!
//! A quick run: `VITRINE_BENCH=1 VITRINE_BENCH_SCALE_SERIES=20000 VITRINE_BENCH_LIVE_SECS=60
//! VITRINE_BENCH_CRASH_SERIES=20000 cargo bench -p vitrine-tests --bench scale`
//!
//! Settings (environment):
//! - `VITRINE_BENCH_SCALE_SERIES` (1000000): active series, a multiple of 1,000;
//! - `VITRINE_BENCH_SCALE_HOURS` (2): hours of samples at 15 s in the bulk phases;
//! - `VITRINE_BENCH_SCALE_PHASES` (all): a comma list of vitrine, churn, crash, prometheus,
//!   victoriametrics, live-prometheus, live-vitrine;
//! - `VITRINE_BENCH_SCALE_SHAPES` (a,b): the tenant shapes of the vitrine phase;
//! - `VITRINE_BENCH_SCALE_QUERY_RUNS` (7): runs per latency figure (the median is shown);
//! - `VITRINE_BENCH_SCALE_WINDOW` (20): samples per series per remote-write / import request;
//! - `VITRINE_BENCH_SCALE_VM_MERGE_SECS` (300): longest wait for VictoriaMetrics' merges;
//! - `VITRINE_BENCH_LIVE_SECS` (600), `VITRINE_BENCH_LIVE_TARGETS` (series / 50),
//!   `VITRINE_BENCH_LIVE_QUERIES` (40): the live phases;
//! - `VITRINE_BENCH_CHURN_SERIES` (100000), `VITRINE_BENCH_CHURN_HOURS` (24): the churn phase;
//! - `VITRINE_BENCH_CRASH_SERIES` (100000): the kill -9 phase.

mod common;

use common::{
    Handler, Prometheus, TargetServer, VictoriaMetrics, VitrineServer, file_bytes, http_get, http_request, human_bytes,
    labels_hash, load_average, process_cpu_seconds, program_version, push_float, require_program, rss, section,
    skip_unless_enabled, splitmix64, thousands, thread_cpu_seconds, url_encode, vitrine_binary, wait_cpu_idle,
};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::ops::Range;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use vitrine_tsdb::head::SeriesRef;
use vitrine_tsdb::{Db, Labels, MatchOp, Matcher, Options, Tenant};

const STEP_MS: i64 = 15_000;
const HOUR_MS: i64 = 3_600_000;
/// Series per target in the bulk phases (and the smallest live target).
const PER_TARGET: usize = 50;
const CHILD_ENV: &str = "VITRINE_BENCH_CHILD";
const SEED: u64 = 0x5ca1_e000_0000_0001;
const REGEX: &str = "node_.*|http_.*";
const DASHBOARD_QUERY: &str = "sum by (job) (rate(process_cpu_seconds_total[5m]))";
/// Goals.
const GOAL_BYTES_PER_SERIES: f64 = 300.0;
const GOAL_RESTART_S: f64 = 30.0;

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// 1,000 tenants × 20 targets × 50 series (at 1M series).
    A,
    /// 10 tenants × 100,000 series (at 1M series).
    B,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::A => "a",
            Shape::B => "b",
        }
    }

    fn targets_per_tenant(self, series: usize) -> usize {
        match self {
            Shape::A => 20,
            Shape::B => series / PER_TARGET / 10,
        }
    }

    fn tenants(self, series: usize) -> usize {
        series / PER_TARGET / self.targets_per_tenant(series)
    }

    fn describe(self, series: usize) -> String {
        format!(
            "({}) {} tenants × {} targets × {PER_TARGET} series",
            self.name(),
            thousands(self.tenants(series) as u64),
            thousands(self.targets_per_tenant(series) as u64)
        )
    }

    /// The tenant whose labels and selector are timed: one in the middle.
    fn probe_tenant(self, series: usize) -> usize {
        self.tenants(series) / 2
    }
}

#[derive(Clone, Debug)]
struct Config {
    series: usize,
    steps: usize,
    phases: Vec<String>,
    shapes: Vec<Shape>,
    query_runs: usize,
    window: usize,
    vm_merge_secs: u64,
    live_secs: u64,
    live_targets: usize,
    live_queries: usize,
    crash_series: usize,
    churn_series: usize,
    churn_hours: usize,
}

const PHASES: [&str; 7] = [
    "vitrine",
    "churn",
    "crash",
    "prometheus",
    "victoriametrics",
    "live-prometheus",
    "live-vitrine",
];

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

impl Config {
    fn from_env() -> Config {
        let series: usize = env_number("VITRINE_BENCH_SCALE_SERIES", 1_000_000);
        assert!(
            series >= 1000 && series.is_multiple_of(1000),
            "VITRINE_BENCH_SCALE_SERIES must be a multiple of 1,000 (shape (a) has 1,000 series per tenant)"
        );
        let hours: f64 = env_number("VITRINE_BENCH_SCALE_HOURS", 2.0);
        let steps = ((hours * 3_600_000.0 / STEP_MS as f64).round() as usize).max(2);
        let phases: Vec<String> = std::env::var("VITRINE_BENCH_SCALE_PHASES")
            .map(|v| {
                v.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_else(|_| PHASES.iter().map(|p| p.to_string()).collect());
        for p in &phases {
            assert!(
                PHASES.contains(&p.as_str()),
                "unknown phase {p:?} in VITRINE_BENCH_SCALE_PHASES (known: {})",
                PHASES.join(", ")
            );
        }
        let shapes = std::env::var("VITRINE_BENCH_SCALE_SHAPES")
            .unwrap_or_else(|_| "a,b".into())
            .split(',')
            .map(|s| match s.trim() {
                "a" => Shape::A,
                "b" => Shape::B,
                other => panic!("unknown shape {other:?} in VITRINE_BENCH_SCALE_SHAPES (a or b)"),
            })
            .collect();
        let live_targets: usize = env_number("VITRINE_BENCH_LIVE_TARGETS", series / PER_TARGET);
        assert!(
            live_targets > 0
                && series.is_multiple_of(live_targets)
                && (series / live_targets).is_multiple_of(PER_TARGET),
            "VITRINE_BENCH_LIVE_TARGETS must divide the series into targets of a multiple of {PER_TARGET} series"
        );
        let churn_series: usize = env_number("VITRINE_BENCH_CHURN_SERIES", 100_000);
        assert!(
            churn_series >= 1000 && churn_series.is_multiple_of(1000),
            "VITRINE_BENCH_CHURN_SERIES must be a multiple of 1,000"
        );
        let crash_series: usize = env_number("VITRINE_BENCH_CRASH_SERIES", 100_000);
        assert!(
            crash_series >= 1000 && crash_series.is_multiple_of(1000),
            "VITRINE_BENCH_CRASH_SERIES must be a multiple of 1,000"
        );
        Config {
            series,
            steps,
            phases,
            shapes,
            query_runs: env_number("VITRINE_BENCH_SCALE_QUERY_RUNS", 7usize).max(1),
            window: env_number("VITRINE_BENCH_SCALE_WINDOW", 20usize).max(1),
            vm_merge_secs: env_number("VITRINE_BENCH_SCALE_VM_MERGE_SECS", 300u64),
            live_secs: env_number("VITRINE_BENCH_LIVE_SECS", 600u64),
            live_targets,
            live_queries: env_number("VITRINE_BENCH_LIVE_QUERIES", 40usize).max(1),
            crash_series,
            churn_series,
            churn_hours: env_number("VITRINE_BENCH_CHURN_HOURS", 24usize).max(4),
        }
    }

    fn has(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }

    fn samples(&self) -> u64 {
        (self.series * self.steps) as u64
    }
}

// ---------------------------------------------------------------------------
// The synthetic series: what a node exporter and an application expose
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Kind {
    /// Grows by up to this much per scrape (a quarter of the scrapes see no change).
    Counter(i64),
    /// A random walk around a base value, by up to `step` per scrape (half of them unchanged).
    Gauge(i64, i64),
    Const(i64),
}

/// How the integer state becomes the exposed value (as a client library rounds it).
#[derive(Clone, Copy)]
enum Unit {
    One,
    Div(f64),
    Mul(f64),
}

struct Spec {
    name: &'static str,
    labels: &'static [(&'static str, &'static str)],
    kind: Kind,
    unit: Unit,
}

const fn c(name: &'static str, labels: &'static [(&'static str, &'static str)], max: i64, unit: Unit) -> Spec {
    Spec {
        name,
        labels,
        kind: Kind::Counter(max),
        unit,
    }
}

const fn g(
    name: &'static str,
    labels: &'static [(&'static str, &'static str)],
    base: i64,
    step: i64,
    unit: Unit,
) -> Spec {
    Spec {
        name,
        labels,
        kind: Kind::Gauge(base, step),
        unit,
    }
}

const fn k(name: &'static str, labels: &'static [(&'static str, &'static str)], value: i64, unit: Unit) -> Spec {
    Spec {
        name,
        labels,
        kind: Kind::Const(value),
        unit,
    }
}

const CENTI: Unit = Unit::Div(100.0);
const PAGE: Unit = Unit::Mul(4096.0);
const CPU: &str = "node_cpu_seconds_total";

/// A node exporter's 50 series (of a 2-CPU machine), families contiguous.
const NODE: [Spec; PER_TARGET] = [
    c(CPU, &[("cpu", "0"), ("mode", "idle")], 1500, CENTI),
    c(CPU, &[("cpu", "0"), ("mode", "iowait")], 10, CENTI),
    c(CPU, &[("cpu", "0"), ("mode", "irq")], 2, CENTI),
    c(CPU, &[("cpu", "0"), ("mode", "nice")], 0, CENTI),
    c(CPU, &[("cpu", "0"), ("mode", "softirq")], 4, CENTI),
    c(CPU, &[("cpu", "0"), ("mode", "steal")], 0, CENTI),
    c(CPU, &[("cpu", "0"), ("mode", "system")], 30, CENTI),
    c(CPU, &[("cpu", "0"), ("mode", "user")], 80, CENTI),
    c(CPU, &[("cpu", "1"), ("mode", "idle")], 1500, CENTI),
    c(CPU, &[("cpu", "1"), ("mode", "iowait")], 10, CENTI),
    c(CPU, &[("cpu", "1"), ("mode", "irq")], 2, CENTI),
    c(CPU, &[("cpu", "1"), ("mode", "nice")], 0, CENTI),
    c(CPU, &[("cpu", "1"), ("mode", "softirq")], 4, CENTI),
    c(CPU, &[("cpu", "1"), ("mode", "steal")], 0, CENTI),
    c(CPU, &[("cpu", "1"), ("mode", "system")], 30, CENTI),
    c(CPU, &[("cpu", "1"), ("mode", "user")], 80, CENTI),
    g("node_load1", &[], 50, 20, CENTI),
    g("node_load5", &[], 50, 8, CENTI),
    g("node_load15", &[], 50, 3, CENTI),
    g("node_memory_Buffers_bytes", &[], 20_000, 10, PAGE),
    g("node_memory_Cached_bytes", &[], 500_000, 200, PAGE),
    g("node_memory_MemAvailable_bytes", &[], 1_000_000, 500, PAGE),
    g("node_memory_MemFree_bytes", &[], 300_000, 500, PAGE),
    k("node_memory_MemTotal_bytes", &[], 2_000_000, PAGE),
    g(
        "node_filesystem_avail_bytes",
        &[("device", "/dev/vda1"), ("fstype", "ext4"), ("mountpoint", "/")],
        5_000_000,
        50,
        PAGE,
    ),
    g(
        "node_filesystem_avail_bytes",
        &[("device", "/dev/vdb1"), ("fstype", "ext4"), ("mountpoint", "/var")],
        8_000_000,
        80,
        PAGE,
    ),
    k(
        "node_filesystem_size_bytes",
        &[("device", "/dev/vda1"), ("fstype", "ext4"), ("mountpoint", "/")],
        10_000_000,
        PAGE,
    ),
    k(
        "node_filesystem_size_bytes",
        &[("device", "/dev/vdb1"), ("fstype", "ext4"), ("mountpoint", "/var")],
        20_000_000,
        PAGE,
    ),
    c(
        "node_network_receive_bytes_total",
        &[("device", "eth0")],
        2_000_000,
        Unit::One,
    ),
    c(
        "node_network_receive_bytes_total",
        &[("device", "lo")],
        50_000,
        Unit::One,
    ),
    c(
        "node_network_transmit_bytes_total",
        &[("device", "eth0")],
        1_000_000,
        Unit::One,
    ),
    c(
        "node_network_transmit_bytes_total",
        &[("device", "lo")],
        50_000,
        Unit::One,
    ),
    c(
        "node_network_receive_packets_total",
        &[("device", "eth0")],
        2_000,
        Unit::One,
    ),
    c(
        "node_network_receive_packets_total",
        &[("device", "lo")],
        100,
        Unit::One,
    ),
    c(
        "node_disk_io_time_seconds_total",
        &[("device", "vda")],
        1500,
        Unit::Div(1000.0),
    ),
    c("node_disk_read_bytes_total", &[("device", "vda")], 1000, PAGE),
    c("node_disk_reads_completed_total", &[("device", "vda")], 50, Unit::One),
    c("node_disk_writes_completed_total", &[("device", "vda")], 200, Unit::One),
    c("node_disk_written_bytes_total", &[("device", "vda")], 3000, PAGE),
    c("node_context_switches_total", &[], 60_000, Unit::One),
    c("node_intr_total", &[], 30_000, Unit::One),
    c("node_forks_total", &[], 100, Unit::One),
    g("node_procs_blocked", &[], 0, 1, Unit::One),
    g("node_procs_running", &[], 2, 2, Unit::One),
    g("node_entropy_available_bits", &[], 3500, 30, Unit::One),
    g("node_sockstat_TCP_inuse", &[], 40, 3, Unit::One),
    g("node_netstat_Tcp_CurrEstab", &[], 30, 3, Unit::One),
    k("node_boot_time_seconds", &[], 1_700_000_000, Unit::One),
    c("process_cpu_seconds_total", &[], 5, CENTI),
    g("process_resident_memory_bytes", &[], 5000, 20, PAGE),
];

const REQ: &str = "http_requests_total";
const BUCKET: &str = "http_request_duration_seconds_bucket";
const GC: &str = "go_gc_duration_seconds";
const ORDERS: &[(&str, &str)] = &[("route", "/api/orders")];

/// An application's 50 series (a Go service with a database and a cache), families contiguous.
const APP: [Spec; PER_TARGET] = [
    c(
        REQ,
        &[("method", "GET"), ("route", "/"), ("status", "200")],
        200,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/"), ("status", "404")],
        6,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/"), ("status", "500")],
        2,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/api/orders"), ("status", "200")],
        100,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/api/orders"), ("status", "404")],
        3,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/api/orders"), ("status", "500")],
        1,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/api/users"), ("status", "200")],
        60,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/api/users"), ("status", "404")],
        2,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/api/users"), ("status", "500")],
        1,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/login"), ("status", "200")],
        20,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/login"), ("status", "404")],
        1,
        Unit::One,
    ),
    c(
        REQ,
        &[("method", "GET"), ("route", "/login"), ("status", "500")],
        0,
        Unit::One,
    ),
    c(BUCKET, &[("route", "/api/orders"), ("le", "0.05")], 20, Unit::One),
    c(BUCKET, &[("route", "/api/orders"), ("le", "0.1")], 40, Unit::One),
    c(BUCKET, &[("route", "/api/orders"), ("le", "0.25")], 60, Unit::One),
    c(BUCKET, &[("route", "/api/orders"), ("le", "0.5")], 70, Unit::One),
    c(BUCKET, &[("route", "/api/orders"), ("le", "1")], 75, Unit::One),
    c(BUCKET, &[("route", "/api/orders"), ("le", "+Inf")], 80, Unit::One),
    c("http_request_duration_seconds_sum", ORDERS, 2000, Unit::Div(1000.0)),
    c("http_request_duration_seconds_count", ORDERS, 80, Unit::One),
    g("http_requests_in_flight", &[], 3, 2, Unit::One),
    g(GC, &[("quantile", "0")], 20, 5, Unit::Div(1e6)),
    g(GC, &[("quantile", "0.25")], 40, 5, Unit::Div(1e6)),
    g(GC, &[("quantile", "0.5")], 60, 5, Unit::Div(1e6)),
    g(GC, &[("quantile", "0.75")], 90, 5, Unit::Div(1e6)),
    g(GC, &[("quantile", "1")], 300, 20, Unit::Div(1e6)),
    c("go_gc_duration_seconds_sum", &[], 500, Unit::Div(1e6)),
    c("go_gc_duration_seconds_count", &[], 3, Unit::One),
    g("go_goroutines", &[], 40, 3, Unit::One),
    g("go_memstats_alloc_bytes", &[], 5_000_000, 200_000, Unit::One),
    c("go_memstats_alloc_bytes_total", &[], 10_000_000, Unit::One),
    g("go_memstats_heap_inuse_bytes", &[], 1500, 20, Unit::Mul(8192.0)),
    g("go_threads", &[], 12, 1, Unit::One),
    c("process_cpu_seconds_total", &[], 300, CENTI),
    g("process_open_fds", &[], 30, 2, Unit::One),
    g("process_resident_memory_bytes", &[], 10_000, 30, PAGE),
    k("process_start_time_seconds", &[], 170_000_001_234, CENTI),
    g("process_virtual_memory_bytes", &[], 200_000, 10, PAGE),
    c("db_queries_total", &[("op", "delete")], 5, Unit::One),
    c("db_queries_total", &[("op", "insert")], 20, Unit::One),
    c("db_queries_total", &[("op", "select")], 300, Unit::One),
    c("db_queries_total", &[("op", "update")], 30, Unit::One),
    g("db_connections_idle", &[], 5, 1, Unit::One),
    g("db_connections_open", &[], 10, 1, Unit::One),
    c("cache_hits_total", &[], 500, Unit::One),
    c("cache_misses_total", &[], 40, Unit::One),
    g("queue_depth", &[("queue", "emails")], 0, 3, Unit::One),
    g("queue_depth", &[("queue", "webhooks")], 0, 3, Unit::One),
    c("business_orders_total", &[("status", "completed")], 3, Unit::One),
    c("business_orders_total", &[("status", "failed")], 1, Unit::One),
];

fn hash(series: u64, step: u64) -> u64 {
    splitmix64(SEED ^ series.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ step)
}

impl Spec {
    fn start(&self, series: u64) -> i64 {
        let h = hash(series, u64::MAX) >> 8;
        match self.kind {
            Kind::Counter(max) => (h % (max as u64 * 5_000 + 1)) as i64,
            Kind::Gauge(base, step) => (base + (h % (4 * step as u64 + 1)) as i64 - 2 * step).max(0),
            Kind::Const(v) => v,
        }
    }

    fn advance(&self, series: u64, step: u64, state: i64) -> i64 {
        let h = hash(series, step);
        match self.kind {
            Kind::Counter(max) => {
                if h & 3 == 0 || max == 0 {
                    state
                } else {
                    state + ((h >> 8) % (max as u64 + 1)) as i64
                }
            }
            Kind::Gauge(base, size) => {
                if h & 1 == 0 || size == 0 {
                    return state;
                }
                let mut next = state + ((h >> 8) % (2 * size as u64 + 1)) as i64 - size;
                if next > 2 * base + 4 * size {
                    next -= 2 * size;
                }
                next.max(0)
            }
            Kind::Const(_) => state,
        }
    }

    fn value(&self, state: i64) -> f64 {
        match self.unit {
            Unit::One => state as f64,
            Unit::Div(d) => state as f64 / d,
            Unit::Mul(m) => state as f64 * m,
        }
    }

    /// The value of `series` at step `step`, advancing its state (steps in order from 0).
    fn sample(&self, series: u64, step: u64, state: &mut i64) -> f64 {
        *state = if step == 0 {
            self.start(series)
        } else {
            self.advance(series, step, *state)
        };
        self.value(*state)
    }

    fn is_counter(&self) -> bool {
        matches!(self.kind, Kind::Counter(_))
    }
}

/// Even targets are node exporters, odd ones applications.
fn spec_of(target: usize, j: usize) -> &'static Spec {
    if target.is_multiple_of(2) {
        &NODE[j % PER_TARGET]
    } else {
        &APP[j % PER_TARGET]
    }
}

fn job_of(target: usize) -> &'static str {
    if target.is_multiple_of(2) { "node" } else { "app" }
}

fn instance_of(target: usize) -> String {
    if target.is_multiple_of(2) {
        format!("node-{target:05}:9100")
    } else {
        format!("app-{target:05}:8080")
    }
}

/// The labels a page carries for series `j` of a target with `per_target` series
/// (a `shard` label tells apart the copies of a target larger than 50 series).
fn page_labels(j: usize, per_target: usize, target: usize) -> Vec<(&'static str, String)> {
    let spec = spec_of(target, j);
    let mut labels: Vec<(&'static str, String)> = spec.labels.iter().map(|(n, v)| (*n, v.to_string())).collect();
    if per_target > PER_TARGET {
        labels.push(("shard", (j / PER_TARGET).to_string()));
    }
    labels
}

/// Every label of series `j` of a target as a store holds it (name, job,
/// instance, the page's labels), plus `tenant` when given (for stores without tenants).
fn series_labels(target: usize, j: usize, per_target: usize, tenant: Option<usize>) -> Vec<(String, String)> {
    let spec = spec_of(target, j);
    let mut labels = vec![
        ("__name__".to_string(), spec.name.to_string()),
        ("job".to_string(), job_of(target).to_string()),
        ("instance".to_string(), instance_of(target)),
    ];
    labels.extend(
        page_labels(j, per_target, target)
            .into_iter()
            .map(|(n, v)| (n.to_string(), v)),
    );
    if let Some(t) = tenant {
        labels.push(("tenant".to_string(), tenant_label(t)));
    }
    labels.sort();
    labels
}

fn tenant_label(t: usize) -> String {
    format!("t{t:04}")
}

/// The first sample's time of the bulk phases: `steps` samples 15 s apart end
/// at least an hour before now (so head compaction takes them all), from a
/// multiple of 2 h (so they fill Prometheus' block range).
fn bulk_t0_ms(steps: usize) -> i64 {
    let span = steps as i64 * STEP_MS;
    let latest_end = vitrine_tsdb::db::system_now_ms() - HOUR_MS - 60_000;
    (latest_end - span).div_euclid(2 * HOUR_MS) * 2 * HOUR_MS
}

fn describe_t0(t0: i64, steps: usize) -> String {
    let now = vitrine_tsdb::db::system_now_ms();
    let end = t0 + steps as i64 * STEP_MS;
    format!(
        "synthetic samples in [now − {:.2} h, now − {:.2} h) (t0 = {t0} ms, a multiple of 2 h)",
        (now - t0) as f64 / HOUR_MS as f64,
        (now - end) as f64 / HOUR_MS as f64
    )
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn p95(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64) * 0.95).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Runs `f` `runs` times; the median in milliseconds and the last result.
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let out = f();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        last = Some(out);
    }
    (median(&mut times), last.expect("at least one run"))
}

fn result(key: &str, value: f64) {
    println!("RESULT {key}={value}");
}

type Figures = HashMap<String, f64>;

/// Runs this bench again as a child (`VITRINE_BENCH_CHILD=kind`), relays its
/// output and collects its `RESULT key=value` lines; `None` if it failed.
fn run_child(kind: &str, env: &[(&str, String)]) -> Option<Figures> {
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut child = Command::new(exe)
        .env(CHILD_ENV, kind)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting a child of the bench");
    let mut figures = Figures::new();
    let stdout = child.stdout.take().expect("the child's output");
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some((key, value)) = line.strip_prefix("RESULT ").and_then(|r| r.split_once('=')) {
            figures.insert(key.to_string(), value.parse().unwrap_or(f64::NAN));
        } else {
            println!("  | {line}");
        }
    }
    let status = child.wait().expect("waiting for the child");
    if !status.success() {
        println!("FAILED: the {kind} child exited with {status}");
        return None;
    }
    Some(figures)
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

fn main() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("vitrine-a") => return vitrine_child(&Config::from_env(), Shape::A),
        Ok("vitrine-b") => return vitrine_child(&Config::from_env(), Shape::B),
        Ok("crash") => return crash_child(),
        Ok("churn") => return churn_child(&Config::from_env()),
        _ => {}
    }
    skip_unless_enabled("scale");
    let cfg = Config::from_env();
    let started = Instant::now();
    section("Settings");
    println!(
        "{} active series, {} samples per series (15 s apart, {:.1} h) = {} samples per bulk phase",
        thousands(cfg.series as u64),
        cfg.steps,
        cfg.steps as f64 * STEP_MS as f64 / HOUR_MS as f64,
        thousands(cfg.samples())
    );
    println!("phases: {}; shapes: {:?}", cfg.phases.join(", "), cfg.shapes);
    println!(
        "machine: {} cores, load average {}",
        thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let vitrine_bin = if cfg.has("live-vitrine") {
        Some(vitrine_binary())
    } else {
        None
    };
    if cfg.has("prometheus") || cfg.has("live-prometheus") {
        println!("Prometheus: {}", program_version(&require_program("prometheus")));
    }
    if cfg.has("victoriametrics") {
        println!("VictoriaMetrics: {}", VictoriaMetrics::program().display());
    }
    if let Some(bin) = &vitrine_bin {
        println!("vitrine: {} ({})", program_version(bin), bin.display());
    }

    let mut report = Report::default();
    let mut timings: Vec<(String, f64)> = Vec::new();
    let phase = |name: &str, timings: &mut Vec<(String, f64)>, f: &mut dyn FnMut()| {
        let started = Instant::now();
        f();
        timings.push((name.to_string(), started.elapsed().as_secs_f64()));
    };
    if cfg.has("vitrine") {
        for shape in cfg.shapes.clone() {
            phase(&format!("vitrine ({})", shape.name()), &mut timings, &mut || {
                section(&format!(
                    "Vitrine in process (child), shape {}",
                    shape.describe(cfg.series)
                ));
                let kind = format!("vitrine-{}", shape.name());
                if let Some(f) = run_child(&kind, &[]) {
                    report.vitrine.insert(shape.name(), f);
                }
            });
        }
    }
    if cfg.has("churn") {
        phase("churn", &mut timings, &mut || {
            section(&format!(
                "Churn: {} active series, {CHURN_PERCENT} % of the targets replaced every hour for {} h (child)",
                thousands(cfg.churn_series as u64),
                cfg.churn_hours
            ));
            report.churn = run_child("churn", &[]);
        });
    }
    if cfg.has("crash") {
        phase("crash", &mut timings, &mut || report.crash = crash_phase(&cfg));
    }
    if cfg.has("prometheus") {
        phase("prometheus", &mut timings, &mut || {
            report.prometheus = prometheus_bulk(&cfg)
        });
    }
    if cfg.has("victoriametrics") {
        phase("victoriametrics", &mut timings, &mut || {
            report.victoria = victoria_bulk(&cfg)
        });
    }
    let live = LiveShape::new(&cfg);
    if cfg.has("live-prometheus") {
        phase("live-prometheus", &mut timings, &mut || {
            report.live_prometheus = live_prometheus(&cfg, &live)
        });
    }
    if let Some(bin) = &vitrine_bin {
        phase("live-vitrine", &mut timings, &mut || {
            report.live_vitrine = live_vitrine(&cfg, &live, bin)
        });
    }

    section("scale: phases");
    for (name, seconds) in &timings {
        println!("{name:<20}{seconds:>8.0} s");
    }
    println!("{:<20}{:>8.0} s", "total", started.elapsed().as_secs_f64());
    report.print(&cfg, &live);
}

// ---------------------------------------------------------------------------
// Vitrine in process (child)
// ---------------------------------------------------------------------------

fn vitrine_child(cfg: &Config, shape: Shape) {
    let n = cfg.series;
    let targets = n / PER_TARGET;
    let per_tenant = shape.targets_per_tenant(n);
    let steps = cfg.steps;
    let samples = cfg.samples();
    let pid = std::process::id();
    let dir = tempfile::Builder::new()
        .prefix("vitrine-scale-")
        .tempdir()
        .expect("temporary directory");
    let t0 = bulk_t0_ms(steps);
    let end = t0 + steps as i64 * STEP_MS - 1;
    println!("{}", describe_t0(t0, steps));
    println!("store in {}", dir.path().display());
    let db = Db::open(dir.path(), Options::default()).expect("opening the store");
    // The bench's own bookkeeping (a reference and a state per series), written once so
    // that its pages are resident before the first reading.
    let mut refs: Vec<SeriesRef> = vec![SeriesRef::MAX; n];
    let mut states: Vec<i64> = vec![-1; n];
    let mut values = [0f64; PER_TARGET];
    let before = rss("self");
    let cpu_start = process_cpu_seconds(pid);
    let wall = Instant::now();
    let mut relookups = 0u64;
    let mut next_report = Instant::now() + Duration::from_secs(30);
    for step in 0..steps {
        let t = t0 + step as i64 * STEP_MS;
        for target in 0..targets {
            let tenant = (target / per_tenant + 1) as Tenant;
            let base = target * PER_TARGET;
            let mut app = db.appender();
            for (j, value) in values.iter_mut().enumerate() {
                let series = base + j;
                if step == 0 {
                    let labels = Labels::new(series_labels(target, j, PER_TARGET, None));
                    refs[series] = app.series(tenant, &labels);
                }
                *value = spec_of(target, j).sample(series as u64, step as u64, &mut states[series]);
                app.add(refs[series], t, *value);
            }
            let report = app.commit().expect("committing a target's samples");
            let mut appended = report.appended;
            if report.series_gone > 0 {
                // The head forgot a series meanwhile: look the target's series up again.
                relookups += 1;
                let mut app = db.appender();
                for (j, value) in values.iter().enumerate() {
                    let labels = Labels::new(series_labels(target, j, PER_TARGET, None));
                    refs[base + j] = app.series(tenant, &labels);
                    app.add(refs[base + j], t, *value);
                }
                appended += app.commit().expect("committing again").appended;
            }
            assert_eq!(
                appended, PER_TARGET,
                "a target's samples were not all appended: {report:?}"
            );
        }
        if Instant::now() >= next_report || step + 1 == steps {
            next_report = Instant::now() + Duration::from_secs(30);
            println!(
                "step {}/{steps}: {:.0} s, {} samples/s, RSS {}",
                step + 1,
                wall.elapsed().as_secs_f64(),
                thousands(((step + 1) as f64 * n as f64 / wall.elapsed().as_secs_f64()) as u64),
                human_bytes(rss("self").total as f64)
            );
        }
    }
    let append_wall = wall.elapsed().as_secs_f64();
    let append_cpu = process_cpu_seconds(pid) - cpu_start;
    let after = rss("self");
    // The values alone (no store), to tell how much of the CPU is the bench's.
    let gen_cpu = {
        let started = thread_cpu_seconds();
        let rounds = 4.min(steps);
        let mut sum = 0.0;
        for step in steps..steps + rounds {
            for (series, state) in states.iter_mut().enumerate() {
                sum += spec_of(series / PER_TARGET, series % PER_TARGET).sample(series as u64, step as u64, state);
            }
        }
        std::hint::black_box(sum);
        (thread_cpu_seconds() - started) / (rounds * n) as f64 * 1e6
    };
    // SAFETY: malloc_trim only returns free heap memory to the system.
    unsafe { libc::malloc_trim(0) };
    let trimmed = rss("self");
    let stats = db.stats();
    println!(
        "appended {} samples in {append_wall:.1} s ({} samples/s), CPU {append_cpu:.1} s = {:.3} s per million \
         (of which generating the values ≈ {gen_cpu:.3}); {relookups} targets looked up again",
        thousands(samples),
        thousands((samples as f64 / append_wall) as u64),
        append_cpu / samples as f64 * 1e6
    );
    println!(
        "RSS {} → {} (anonymous {} → {}; after malloc_trim {} / {}); head: {} series, {} samples, {} in chunks \
         ({:.2} B/sample); write-ahead log {}",
        human_bytes(before.total as f64),
        human_bytes(after.total as f64),
        human_bytes(before.anon as f64),
        human_bytes(after.anon as f64),
        human_bytes(trimmed.total as f64),
        human_bytes(trimmed.anon as f64),
        thousands(stats.head.series as u64),
        thousands(stats.head.samples as u64),
        human_bytes(stats.head.chunk_bytes as f64),
        stats.head.chunk_bytes as f64 / stats.head.samples.max(1) as f64,
        human_bytes(stats.wal_bytes as f64)
    );
    assert_eq!(stats.head.series, n, "the head holds a different number of series");
    assert_eq!(
        stats.head.samples as u64, samples,
        "the head holds a different number of samples"
    );
    result("anon_per_series", (after.anon as f64 - before.anon as f64) / n as f64);
    result(
        "total_per_series",
        (after.total as f64 - before.total as f64) / n as f64,
    );
    result(
        "trimmed_anon_per_series",
        (trimmed.anon as f64 - before.anon as f64) / n as f64,
    );
    result("chunk_bytes_per_series", stats.head.chunk_bytes as f64 / n as f64);
    result("append_cpu_per_million", append_cpu / samples as f64 * 1e6);
    result("gen_cpu_per_million", gen_cpu);
    result("append_wall", append_wall);
    result("wal_bytes", stats.wal_bytes as f64);

    let tenant = (shape.probe_tenant(n) + 1) as Tenant;
    vitrine_queries(&db, tenant, t0, end, cfg.query_runs, "head");

    // Restart: the head comes back from the write-ahead log.
    let dropped = Instant::now();
    drop(db);
    let drop_s = dropped.elapsed().as_secs_f64();
    let opened = Instant::now();
    let db = Db::open(dir.path(), Options::default()).expect("opening the store again");
    let restart_s = opened.elapsed().as_secs_f64();
    let stats = db.stats();
    println!(
        "restart: closed in {drop_s:.1} s, opened in {restart_s:.1} s ({} log records replayed): {} series, {} samples; \
         RSS now {}",
        thousands(db.replay.records as u64),
        thousands(stats.head.series as u64),
        thousands(stats.head.samples as u64),
        human_bytes(rss("self").total as f64)
    );
    assert_eq!(
        stats.head.series, n,
        "after the restart the head holds a different number of series"
    );
    assert_eq!(
        stats.head.samples as u64, samples,
        "after the restart the head holds a different number of samples"
    );
    result("restart_replay_s", restart_s);

    // A clean shutdown (the server checkpoints the log when it stops), then the start from
    // the checkpoint.
    let checkpointed = Instant::now();
    db.checkpoint().expect("checkpointing the log");
    let checkpoint_s = checkpointed.elapsed().as_secs_f64();
    drop(db);
    let opened = Instant::now();
    let db = Db::open(dir.path(), Options::default()).expect("opening the store again");
    let clean_restart_s = opened.elapsed().as_secs_f64();
    println!(
        "restart after a clean shutdown: checkpoint written in {checkpoint_s:.1} s, opened in {clean_restart_s:.1} s \
         ({} records): {} series, {} samples",
        thousands(db.replay.records as u64),
        thousands(db.stats().head.series as u64),
        thousands(db.stats().head.samples as u64)
    );
    assert_eq!(
        db.stats().head.samples as u64,
        samples,
        "after the clean restart the head holds a different number of samples"
    );
    result("restart_s", clean_restart_s);

    // Compaction: the whole head into blocks, then merges.
    let (cpu_start, wall) = (process_cpu_seconds(pid), Instant::now());
    let written = db.compact_head(true).expect("compacting the head");
    let merged = db.compact_blocks(false).expect("merging blocks");
    let (compact_cpu, compact_wall) = (process_cpu_seconds(pid) - cpu_start, wall.elapsed().as_secs_f64());
    let stats = db.stats();
    let block_samples: u64 = stats
        .tenants
        .iter()
        .flat_map(|(_, t)| &t.blocks)
        .map(|b| b.samples)
        .sum();
    let blocks: usize = stats.tenants.iter().map(|(_, t)| t.blocks.len()).sum();
    let (disk, parts) = file_bytes(dir.path(), &|_| true);
    let (block_bytes, _) = file_bytes(&dir.path().join("tenants"), &|_| true);
    println!(
        "compaction: {written} blocks written, {merged} merges, in {compact_wall:.1} s, CPU {compact_cpu:.1} s = {:.3} s \
         per million; {blocks} blocks hold {} samples; the head keeps {} samples",
        compact_cpu / samples as f64 * 1e6,
        thousands(block_samples),
        thousands(stats.head.samples as u64)
    );
    println!(
        "on disk: {} = {:.3} B/sample (blocks {} = {:.3} B/sample); {}",
        human_bytes(disk as f64),
        disk as f64 / samples as f64,
        human_bytes(block_bytes as f64),
        block_bytes as f64 / samples as f64,
        parts
            .iter()
            .map(|(name, b)| format!("{name} {}", human_bytes(*b as f64)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(
        block_samples, samples,
        "the blocks hold a different number of samples than were appended"
    );
    result("compact_cpu_per_million", compact_cpu / samples as f64 * 1e6);
    result("compact_wall", compact_wall);
    result("disk_per_sample", disk as f64 / samples as f64);
    result("blocks_per_sample", block_bytes as f64 / samples as f64);

    vitrine_queries(&db, tenant, t0, end, cfg.query_runs, "blocks");

    drop(db);
    let opened = Instant::now();
    let db = Db::open(dir.path(), Options::default()).expect("opening the compacted store");
    let reopen_s = opened.elapsed().as_secs_f64();
    println!("restart after compaction: opened in {reopen_s:.2} s");
    result("restart_blocks_s", reopen_s);
    drop(db);
}

/// The tenant's label names and values, and the regex selector, on `where` (head or blocks).
fn vitrine_queries(db: &Db, tenant: Tenant, mint: i64, maxt: i64, runs: usize, place: &str) {
    let (pairs_ms, pairs) = timed(runs, || db.label_pairs(tenant, mint, maxt));
    let names = {
        let mut names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        names.dedup();
        names.len()
    };
    let matchers = [Matcher::new(MatchOp::Regex, "__name__", REGEX).expect("the regex")];
    let (select_ms, selected) = timed(runs, || db.select(tenant, &matchers, mint, maxt).expect("select"));
    let selected_samples: usize = selected.iter().map(|s| s.samples.len()).sum();
    let selected_series = selected.len();
    drop(selected);
    let (series_ms, series) = timed(runs, || db.series(tenant, &matchers, mint, maxt));
    println!(
        "{place}, tenant {tenant}: label_pairs {pairs_ms:.2} ms ({} pairs, {names} names); select {{__name__=~\"{REGEX}\"}} \
         {select_ms:.1} ms ({} series, {} samples); series (labels only) {series_ms:.2} ms ({} series) — medians of {runs}",
        pairs.len(),
        thousands(selected_series as u64),
        thousands(selected_samples as u64),
        series.len()
    );
    result(&format!("{place}_label_pairs_ms"), pairs_ms);
    result(&format!("{place}_select_ms"), select_ms);
    result(&format!("{place}_series_ms"), series_ms);
    result(&format!("{place}_selected_series"), selected_series as f64);
    result(&format!("{place}_selected_samples"), selected_samples as f64);
}

// ---------------------------------------------------------------------------
// kill -9 while appending
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Churn (child): pods replaced hour after hour
// ---------------------------------------------------------------------------

/// Share of the targets replaced by new ones (a new `pod` label on all their series) each hour.
const CHURN_PERCENT: u64 = 10;

/// The hour whose memory the last hour's is compared with: the head has been cut twice
/// by then (at 3 h and 4 h of data), so it holds what it holds in a steady state.
const CHURN_FIRST_HOUR: usize = 4;

fn churn_child(cfg: &Config) {
    let n = cfg.churn_series;
    let targets = n / PER_TARGET;
    let steps_per_hour = (HOUR_MS / STEP_MS) as usize;
    let steps = cfg.churn_hours * steps_per_hour;
    let pid = std::process::id();
    let dir = tempfile::Builder::new()
        .prefix("vitrine-churn-")
        .tempdir()
        .expect("temporary directory");
    let db = Db::open(dir.path(), Options::default()).expect("opening the store");
    let t0 = bulk_t0_ms(steps);
    println!("{}", describe_t0(t0, steps));
    let labels = |target: usize, j: usize, pod: u32| {
        let mut labels = series_labels(target, j, PER_TARGET, None);
        labels.push(("pod".to_string(), format!("{}-{pod}", instance_of(target))));
        Labels::new(labels)
    };
    let mut pods = vec![0u32; targets];
    let mut refs: Vec<SeriesRef> = vec![SeriesRef::MAX; n];
    let mut states: Vec<i64> = vec![-1; n];
    let mut replaced = 0u64;
    let cpu_start = process_cpu_seconds(pid);
    println!("| hour | series in the head | symbols | blocks | anonymous RSS | per active series | replaced so far |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut per_series = Vec::new();
    for step in 0..steps {
        if step > 0 && step.is_multiple_of(steps_per_hour) {
            let hour = step / steps_per_hour;
            // As the server's store loop does: cut the head once it spans 1.5 block ranges,
            // then merge blocks.
            db.compact_head(false).expect("compacting the head");
            db.compact_blocks(false).expect("merging blocks");
            let stats = db.stats();
            let anon = rss("self").anon as f64;
            per_series.push(anon / n as f64);
            // SAFETY: malloc_trim only returns free heap memory to the system.
            unsafe { libc::malloc_trim(0) };
            let trimmed = rss("self").anon as f64;
            println!(
                "| {hour} | {} | {} | {} | {} ({} after malloc_trim) | {:.0} B | {} |",
                thousands(stats.head.series as u64),
                thousands(stats.head.symbols as u64),
                thousands(stats.tenants.iter().map(|(_, t)| t.blocks.len() as u64).sum()),
                human_bytes(anon),
                human_bytes(trimmed),
                anon / n as f64,
                thousands(replaced)
            );
            for (target, pod) in pods.iter_mut().enumerate() {
                if splitmix64(SEED ^ ((hour as u64) << 32) ^ target as u64) % 100 < CHURN_PERCENT {
                    *pod += 1;
                    replaced += PER_TARGET as u64;
                    refs[target * PER_TARGET..(target + 1) * PER_TARGET].fill(SeriesRef::MAX);
                }
            }
        }
        let t = t0 + step as i64 * STEP_MS;
        for (target, pod) in pods.iter().enumerate() {
            let tenant = (target / 20 + 1) as Tenant;
            let mut app = db.appender();
            for j in 0..PER_TARGET {
                let series = target * PER_TARGET + j;
                if refs[series] == SeriesRef::MAX || !db.head().is_live(refs[series]) {
                    refs[series] = app.series(tenant, &labels(target, j, *pod));
                }
                let v = spec_of(target, j).sample(series as u64, step as u64, &mut states[series]);
                app.add(refs[series], t, v);
            }
            let report = app.commit().expect("committing");
            assert_eq!(report.appended, PER_TARGET, "{report:?}");
        }
    }
    let cpu = process_cpu_seconds(pid) - cpu_start;
    println!(
        "{} samples in {:.0} CPU s; {} series replaced",
        thousands((n * steps) as u64),
        cpu,
        thousands(replaced)
    );
    result("first_per_series", per_series[CHURN_FIRST_HOUR - 1]);
    result("last_per_series", *per_series.last().expect("hours of churn"));
    result("hours", per_series.len() as f64);
}

const CRASH_DIR_ENV: &str = "VITRINE_BENCH_CRASH_DIR";
/// The crash child's series go on for 30 days of samples (it is killed long before).
const CRASH_STEPS: usize = 30 * 24 * 240;

fn crash_child() {
    let n: usize = env_number("VITRINE_BENCH_CRASH_SERIES", 100_000);
    let dir = std::env::var(CRASH_DIR_ENV).expect("the crash child's directory");
    let db = Db::open(std::path::Path::new(&dir), Options::default()).expect("opening the store");
    let t0 = bulk_t0_ms(CRASH_STEPS);
    println!("T0 {t0}");
    let mut refs: Vec<SeriesRef> = vec![SeriesRef::MAX; n];
    let mut states: Vec<i64> = vec![-1; n];
    let stdout = std::io::stdout();
    for step in 0..CRASH_STEPS {
        let t = t0 + step as i64 * STEP_MS;
        for target in 0..n / PER_TARGET {
            let tenant = (target / 20 + 1) as Tenant;
            let mut app = db.appender();
            for j in 0..PER_TARGET {
                let series = target * PER_TARGET + j;
                if step == 0 || !db.head().is_live(refs[series]) {
                    refs[series] = app.series(tenant, &Labels::new(series_labels(target, j, PER_TARGET, None)));
                }
                let v = spec_of(target, j).sample(series as u64, step as u64, &mut states[series]);
                app.add(refs[series], t, v);
            }
            let report = app.commit().expect("committing");
            assert_eq!(report.appended, PER_TARGET, "{report:?}");
        }
        // Every commit of the step has returned: the step is acknowledged.
        let mut out = stdout.lock();
        let _ = std::io::Write::write_all(&mut out, format!("ACK {step}\n").as_bytes());
        let _ = std::io::Write::flush(&mut out);
    }
    println!("DONE");
}

fn crash_phase(cfg: &Config) -> Option<Figures> {
    let n = cfg.crash_series;
    section(&format!(
        "kill -9 while appending: {} series ({} tenants × 20 targets × 50 series)",
        thousands(n as u64),
        n / 1000
    ));
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("vitrine-crash-")
        .tempdir()
        .expect("temporary directory");
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut child = Command::new(exe)
        .env(CHILD_ENV, "crash")
        .env("VITRINE_BENCH_CRASH_SERIES", n.to_string())
        .env(CRASH_DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the crash child");
    let last_ack = Arc::new(AtomicI64::new(-1));
    let t0 = Arc::new(AtomicI64::new(i64::MIN));
    let reader = {
        let stdout = child.stdout.take().expect("the child's output");
        let (last_ack, t0) = (last_ack.clone(), t0.clone());
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(step) = line.strip_prefix("ACK ").and_then(|s| s.parse::<i64>().ok()) {
                    last_ack.store(step, Ordering::SeqCst);
                } else if let Some(t) = line.strip_prefix("T0 ").and_then(|s| s.parse::<i64>().ok()) {
                    t0.store(t, Ordering::SeqCst);
                } else {
                    println!("  | {line}");
                }
            }
        })
    };
    let waited = Instant::now();
    while last_ack.load(Ordering::SeqCst) < 0 {
        if waited.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            let _ = child.wait();
            println!("FAILED: the crash child acknowledged no step within 300 s");
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let first_ack_s = waited.elapsed().as_secs_f64();
    // Somewhere 2–12 s into the steady state, a different moment every run.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let delay_ms = 2000 + splitmix64(seed) % 10_000;
    thread::sleep(Duration::from_millis(delay_ms));
    let _ = child.kill(); // SIGKILL
    let status = child.wait().expect("waiting for the crash child");
    reader.join().expect("the crash child's reader");
    let acked = last_ack.load(Ordering::SeqCst);
    let t0 = t0.load(Ordering::SeqCst);
    println!(
        "first step acknowledged after {first_ack_s:.1} s (creates the series); killed {:.1} s later ({status}), \
         after step {acked} was acknowledged",
        delay_ms as f64 / 1000.0
    );
    let opened = Instant::now();
    let db = match Db::open(dir.path(), Options::default()) {
        Ok(db) => db,
        Err(e) => {
            println!("FAILED: the store does not open after kill -9: {e}");
            return None;
        }
    };
    let open_s = opened.elapsed().as_secs_f64();
    println!(
        "reopened in {open_s:.2} s ({} log records; {} torn bytes cut off)",
        thousands(db.replay.records as u64),
        thousands(db.replay.truncated_bytes)
    );
    // Expected: every series, samples 0..=acked bit for bit; at most one more step, also right.
    let mut by_hash: HashMap<u64, usize> = HashMap::with_capacity(n);
    for series in 0..n {
        let labels = series_labels(series / PER_TARGET, series % PER_TARGET, PER_TARGET, None);
        by_hash.insert(
            labels_hash(labels.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
            series,
        );
    }
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").expect("matcher")];
    let want = (acked + 1) as usize;
    let (mut found_series, mut lost, mut wrong, mut extra, mut unknown) = (0usize, 0u64, 0u64, 0u64, 0u64);
    for tenant in 1..=(n / 1000) as Tenant {
        let selected = db
            .select(tenant, &all, i64::MIN, i64::MAX)
            .expect("reading the store back");
        for data in selected {
            let Some(&series) = by_hash.get(&labels_hash(data.labels.iter())) else {
                unknown += 1;
                continue;
            };
            found_series += 1;
            let spec = spec_of(series / PER_TARGET, series % PER_TARGET);
            let mut state = 0;
            for (step, (t, v)) in data.samples.iter().enumerate() {
                let expected = spec.sample(series as u64, step as u64, &mut state);
                if *t != t0 + step as i64 * STEP_MS || v.to_bits() != expected.to_bits() || step > want {
                    wrong += 1;
                }
            }
            lost += want.saturating_sub(data.samples.len()) as u64;
            extra += data.samples.len().saturating_sub(want) as u64;
        }
    }
    lost += ((n - found_series) * want) as u64;
    // And the store goes on taking samples.
    let refs: Vec<(Tenant, SeriesRef)> = {
        let mut app = db.appender();
        (0..n)
            .map(|series| {
                let tenant = (series / PER_TARGET / 20 + 1) as Tenant;
                let labels = Labels::new(series_labels(
                    series / PER_TARGET,
                    series % PER_TARGET,
                    PER_TARGET,
                    None,
                ));
                (tenant, app.series(tenant, &labels))
            })
            .collect()
    };
    let mut app = db.appender();
    let t_next = t0 + (want as i64 + 1) * STEP_MS;
    for (_, s) in &refs {
        app.add(*s, t_next, 1.0);
    }
    let appended = app.commit().map(|r| r.appended).unwrap_or(0);
    let acked_samples = (want * n) as u64;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "acknowledged {} samples ({want} steps × {} series): {} lost, {} wrong, {} unknown series, {} samples of the \
         step cut short kept; the reopened store took {} new samples; phase took {seconds:.0} s",
        thousands(acked_samples),
        thousands(n as u64),
        thousands(lost),
        thousands(wrong),
        unknown,
        thousands(extra),
        thousands(appended as u64)
    );
    let ok = lost == 0 && wrong == 0 && unknown == 0 && appended == n;
    if !ok {
        println!("FAILED: kill -9 lost or changed acknowledged samples");
    }
    Some(Figures::from([
        ("acked".to_string(), acked_samples as f64),
        ("lost".to_string(), lost as f64),
        ("wrong".to_string(), wrong as f64),
        ("ok".to_string(), if ok { 1.0 } else { 0.0 }),
        ("open_s".to_string(), open_s),
        ("seconds".to_string(), seconds),
    ]))
}

// ---------------------------------------------------------------------------
// Feeding a peer: requests of `window` samples × `batch` series, in time order
// ---------------------------------------------------------------------------

struct Fed {
    requests: u64,
    bytes: u64,
    seconds: f64,
}

/// Walks the samples window by window (every series' next `window` steps),
/// `batch` series per request body made by `encode(series, steps)`, and posts
/// them with `senders` requests in flight.
fn feed(
    what: &str,
    cfg: &Config,
    batch: usize,
    senders: usize,
    encode: &mut dyn FnMut(Range<usize>, Range<usize>) -> Vec<u8>,
    post: &(dyn Fn(&[u8]) -> Result<(), String> + Sync),
) -> Result<Fed, String> {
    let (n, steps, window) = (cfg.series, cfg.steps, cfg.window);
    let started = Instant::now();
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(senders * 2);
    let rx = Mutex::new(rx);
    let failed: Mutex<Option<String>> = Mutex::new(None);
    let (mut requests, mut bytes) = (0u64, 0u64);
    let mut next_report = Instant::now() + Duration::from_secs(30);
    thread::scope(|scope| {
        for _ in 0..senders {
            scope.spawn(|| {
                loop {
                    let body = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(body) => body,
                        Err(_) => break,
                    };
                    if let Err(e) = post(&body) {
                        failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                    }
                }
            });
        }
        'windows: for from in (0..steps).step_by(window) {
            let to = (from + window).min(steps);
            for first in (0..n).step_by(batch) {
                let body = encode(first..(first + batch).min(n), from..to);
                requests += 1;
                bytes += body.len() as u64;
                if failed.lock().unwrap_or_else(|p| p.into_inner()).is_some() || tx.send(body).is_err() {
                    break 'windows;
                }
            }
            if Instant::now() >= next_report || to == steps {
                next_report = Instant::now() + Duration::from_secs(30);
                println!(
                    "{what}: steps {to}/{steps} sent after {:.0} s ({} samples/s)",
                    started.elapsed().as_secs_f64(),
                    thousands((to as f64 * n as f64 / started.elapsed().as_secs_f64()) as u64)
                );
            }
        }
        drop(tx);
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(Fed {
        requests,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The series' values, advanced in step order, shared by the encoders.
struct Values {
    states: Vec<i64>,
}

impl Values {
    fn new(n: usize) -> Values {
        Values { states: vec![0; n] }
    }

    fn sample(&mut self, series: usize, step: usize) -> f64 {
        spec_of(series / PER_TARGET, series % PER_TARGET).sample(series as u64, step as u64, &mut self.states[series])
    }
}

/// The shape (a) tenant of a bulk series.
fn tenant_a(series: usize) -> usize {
    series / PER_TARGET / 20
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited protobuf field.
fn put_bytes(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Every series' `TimeSeries.labels` fields (prometheus.Label, sorted by name), one after the other.
struct ProtoLabels {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl ProtoLabels {
    fn new(n: usize) -> ProtoLabels {
        let mut bytes = Vec::with_capacity(n * 180);
        let mut ends = Vec::with_capacity(n);
        let mut label = Vec::new();
        for series in 0..n {
            let target = series / PER_TARGET;
            for (name, value) in series_labels(target, series % PER_TARGET, PER_TARGET, Some(tenant_a(series))) {
                label.clear();
                put_bytes(&mut label, 1, name.as_bytes());
                put_bytes(&mut label, 2, value.as_bytes());
                put_bytes(&mut bytes, 1, &label);
            }
            ends.push(bytes.len());
        }
        ProtoLabels { bytes, ends }
    }

    fn of(&self, series: usize) -> &[u8] {
        let start = if series == 0 { 0 } else { self.ends[series - 1] };
        &self.bytes[start..self.ends[series]]
    }
}

/// Every series as Prometheus text before the value (`name{labels} `), one after the other.
struct TextPrefixes {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl TextPrefixes {
    fn new(n: usize) -> TextPrefixes {
        let mut bytes = Vec::with_capacity(n * 140);
        let mut ends = Vec::with_capacity(n);
        for series in 0..n {
            let target = series / PER_TARGET;
            let labels = series_labels(target, series % PER_TARGET, PER_TARGET, Some(tenant_a(series)));
            let name = &labels.iter().find(|(n, _)| n == "__name__").expect("a name").1;
            bytes.extend_from_slice(name.as_bytes());
            let mut first = true;
            for (label, value) in labels.iter().filter(|(n, _)| n != "__name__") {
                bytes.push(if first { b'{' } else { b',' });
                first = false;
                bytes.extend_from_slice(format!("{label}=\"{value}\"").as_bytes());
            }
            bytes.extend_from_slice(b"} ");
            ends.push(bytes.len());
        }
        TextPrefixes { bytes, ends }
    }

    fn of(&self, series: usize) -> &[u8] {
        let start = if series == 0 { 0 } else { self.ends[series - 1] };
        &self.bytes[start..self.ends[series]]
    }
}

// ---------------------------------------------------------------------------
// Prometheus: remote write of the same series and samples
// ---------------------------------------------------------------------------

fn prom_json(addr: SocketAddr, path: &str) -> Result<(f64, serde_json::Value), String> {
    let started = Instant::now();
    let (status, body) = http_get(addr, path).map_err(|e| format!("GET {path}: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if status != 200 {
        return Err(format!("GET {path}: HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("GET {path}: {e}"))?;
    Ok((seconds, json))
}

/// The value of a one-element instant vector (`sum(up)`).
fn prom_scalar(addr: SocketAddr, query: &str) -> Option<f64> {
    let (_, json) = prom_json(addr, &format!("/api/v1/query?query={}", url_encode(query))).ok()?;
    json["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

fn prometheus_bulk(cfg: &Config) -> Option<Figures> {
    let n = cfg.series;
    let samples = cfg.samples();
    section(&format!(
        "Prometheus: remote write of the same {} series × {} samples (shape (a) tenants as a `tenant` label)",
        thousands(n as u64),
        cfg.steps
    ));
    let mut prom = Prometheus::start_with_flags(
        "unused",
        "",
        &[
            "--web.enable-remote-write-receiver",
            "--web.enable-admin-api",
            "--storage.tsdb.retention.time=30d",
        ],
    );
    let pid = prom.pid();
    println!("{} (pid {pid}) on {}", prom.version, prom.addr);
    let labels = ProtoLabels::new(n);
    println!(
        "labels as protobuf: {:.0} bytes per series on average",
        labels.bytes.len() as f64 / n as f64
    );
    let t0 = bulk_t0_ms(cfg.steps);
    println!("{}", describe_t0(t0, cfg.steps));
    thread::sleep(Duration::from_secs(3));
    let before = rss(&pid.to_string());
    let (cpu_start, wall) = (process_cpu_seconds(pid), Instant::now());
    let mut values = Values::new(n);
    let mut raw = Vec::new();
    let mut scratch = Vec::new();
    let mut encoder = snap::raw::Encoder::new();
    let mut encode = |series: Range<usize>, steps: Range<usize>| -> Vec<u8> {
        raw.clear();
        for s in series {
            scratch.clear();
            scratch.extend_from_slice(labels.of(s));
            for step in steps.clone() {
                let v = values.sample(s, step);
                let t = t0 + step as i64 * STEP_MS;
                let mut sample = [0u8; 24];
                sample[0] = 0x09;
                sample[1..9].copy_from_slice(&v.to_le_bytes());
                sample[9] = 0x10;
                let mut len = 10;
                let mut x = t as u64;
                while x >= 0x80 {
                    sample[len] = x as u8 | 0x80;
                    x >>= 7;
                    len += 1;
                }
                sample[len] = x as u8;
                len += 1;
                put_bytes(&mut scratch, 2, &sample[..len]);
            }
            put_bytes(&mut raw, 1, &scratch);
        }
        encoder.compress_vec(&raw).expect("snappy compression")
    };
    let addr = prom.addr;
    let post = move |body: &[u8]| -> Result<(), String> {
        let headers = [
            ("Content-Encoding", "snappy"),
            ("Content-Type", "application/x-protobuf"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ("User-Agent", "vitrine-scale-bench"),
        ];
        match http_request(addr, "POST", "/api/v1/write", &headers, body, Duration::from_secs(300)) {
            Ok((200 | 204, _)) => Ok(()),
            Ok((status, body)) => Err(format!(
                "remote write: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            )),
            Err(e) => Err(format!("remote write: {e}")),
        }
    };
    let batch = (20_000 / cfg.window).max(1);
    let fed = match feed("Prometheus", cfg, batch, 3, &mut encode, &post) {
        Ok(fed) => fed,
        Err(e) => {
            println!("FAILED: {e}\n{}", prom.log_tail());
            return None;
        }
    };
    let sent_cpu = process_cpu_seconds(pid) - cpu_start;
    let settled = wait_cpu_idle(pid, 0.05, Duration::from_secs(2), Duration::from_secs(300));
    let cpu = process_cpu_seconds(pid) - cpu_start;
    let seconds = wall.elapsed().as_secs_f64();
    let m = prom.metrics();
    let appended = m
        .get("prometheus_tsdb_head_samples_appended_total")
        .copied()
        .unwrap_or(0.0);
    let series = m.get("prometheus_tsdb_head_series").copied().unwrap_or(0.0);
    let rejected: f64 = [
        "prometheus_tsdb_out_of_bound_samples_total",
        "prometheus_tsdb_out_of_order_samples_total",
    ]
    .iter()
    .filter_map(|k| m.get(*k))
    .sum();
    println!(
        "{} requests ({} compressed, {} samples each) in {:.1} s = {} samples/s; Prometheus CPU {sent_cpu:.1} s while \
         sent, {cpu:.1} s until idle{}",
        thousands(fed.requests),
        human_bytes(fed.bytes as f64),
        thousands((batch * cfg.window) as u64),
        fed.seconds,
        thousands((samples as f64 / fed.seconds) as u64),
        if settled { "" } else { " (NOT idle within 300 s)" }
    );
    println!(
        "head: {} series, {} samples appended, {} rejected",
        thousands(series as u64),
        thousands(appended as u64),
        rejected
    );
    if appended as u64 != samples || series as usize != n {
        println!(
            "FAILED: Prometheus holds {appended} samples in {series} series, not {samples} in {n}\n{}",
            prom.log_tail()
        );
        return None;
    }
    thread::sleep(Duration::from_secs(5));
    let after = rss(&pid.to_string());
    let heap = prom.metric("go_memstats_heap_inuse_bytes");
    println!(
        "RSS {} → {} (anonymous {} → {}), Go heap in use {}; {seconds:.0} s from the first request to idle",
        human_bytes(before.total as f64),
        human_bytes(after.total as f64),
        human_bytes(before.anon as f64),
        human_bytes(after.anon as f64),
        human_bytes(heap)
    );
    let mut f = Figures::new();
    f.insert(
        "anon_per_series".into(),
        (after.anon as f64 - before.anon as f64) / n as f64,
    );
    f.insert(
        "total_per_series".into(),
        (after.total as f64 - before.total as f64) / n as f64,
    );
    f.insert("cpu_per_million".into(), cpu / samples as f64 * 1e6);
    f.insert("wall".into(), seconds);

    // Label names and values of one tenant, and the regex selector.
    let tenant = tenant_label(Shape::A.probe_tenant(n));
    let (start_s, end_s) = (t0 / 1000, (t0 + cfg.steps as i64 * STEP_MS) / 1000);
    let last_s = end_s as f64 - STEP_MS as f64 / 1000.0;
    let of_tenant = url_encode(&format!("{{tenant=\"{tenant}\"}}"));
    let selector = format!("{{__name__=~\"{REGEX}\",tenant=\"{tenant}\"}}");
    let range_s = cfg.steps as i64 * STEP_MS / 1000;
    let cases: [(&str, String); 6] = [
        (
            "labels_ms",
            format!("/api/v1/labels?match[]={of_tenant}&start={start_s}&end={end_s}"),
        ),
        (
            "label_values_ms",
            format!("/api/v1/label/__name__/values?match[]={of_tenant}&start={start_s}&end={end_s}"),
        ),
        (
            "series_ms",
            format!(
                "/api/v1/series?match[]={}&start={start_s}&end={end_s}",
                url_encode(&selector)
            ),
        ),
        (
            "select_ms",
            format!(
                "/api/v1/query?query={}&time={last_s}",
                url_encode(&format!("{selector}[{range_s}s]"))
            ),
        ),
        ("all_labels_ms", format!("/api/v1/labels?start={start_s}&end={end_s}")),
        (
            "all_label_values_ms",
            format!("/api/v1/label/__name__/values?start={start_s}&end={end_s}"),
        ),
    ];
    for (key, path) in &cases {
        let mut times = Vec::new();
        let mut answer = serde_json::Value::Null;
        for _ in 0..cfg.query_runs {
            match prom_json(prom.addr, path) {
                Ok((s, json)) => {
                    times.push(s * 1000.0);
                    answer = json;
                }
                Err(e) => println!("query failed: {e}"),
            }
        }
        if times.is_empty() {
            continue;
        }
        let ms = median(&mut times);
        let data = &answer["data"];
        let size = if let Some(result) = data["result"].as_array() {
            let points: usize = result
                .iter()
                .map(|r| r["values"].as_array().map_or(0, |v| v.len()))
                .sum();
            format!("{} series, {} samples", result.len(), thousands(points as u64))
        } else {
            format!("{} entries", data.as_array().map_or(0, |a| a.len()))
        };
        println!("{key}: {ms:.2} ms ({size}) — GET {path}");
        f.insert((*key).into(), ms);
    }

    // Disk: the head written as a block (the snapshot runs the compactor over the head).
    let (wal_bytes, _) = file_bytes(&prom.data_dir().join("wal"), &|_| true);
    let (head_chunks, _) = file_bytes(&prom.data_dir().join("chunks_head"), &|_| true);
    let (cpu_start, wall) = (process_cpu_seconds(pid), Instant::now());
    match http_request(
        prom.addr,
        "POST",
        "/api/v1/admin/tsdb/snapshot",
        &[],
        &[],
        Duration::from_secs(1800),
    ) {
        Ok((200, body)) => {
            let cpu = process_cpu_seconds(pid) - cpu_start;
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let name = json["data"]["name"].as_str().unwrap_or_default().to_string();
            let (bytes, _) = file_bytes(&prom.data_dir().join("snapshots").join(&name), &|_| true);
            println!(
                "before: write-ahead log {}, head chunks {}; snapshot (the head as a block) in {:.1} s, CPU {cpu:.1} s \
                 = {:.3} s per million: {} = {:.3} B/sample",
                human_bytes(wal_bytes as f64),
                human_bytes(head_chunks as f64),
                wall.elapsed().as_secs_f64(),
                cpu / samples as f64 * 1e6,
                human_bytes(bytes as f64),
                bytes as f64 / samples as f64
            );
            f.insert("compact_cpu_per_million".into(), cpu / samples as f64 * 1e6);
            f.insert("disk_per_sample".into(), bytes as f64 / samples as f64);
        }
        Ok((status, body)) => println!("snapshot: HTTP {status}: {}", String::from_utf8_lossy(&body)),
        Err(e) => println!("snapshot failed: {e}"),
    }

    // Restart on the same data.
    let restart_s = prom.restart(libc::SIGTERM, Duration::from_secs(1800));
    let series_after = prom.metric("prometheus_tsdb_head_series");
    println!(
        "restart (SIGTERM, start again): ready after {restart_s:.1} s with {} head series",
        thousands(series_after as u64)
    );
    f.insert("restart_s".into(), restart_s);
    Some(f)
}

// ---------------------------------------------------------------------------
// VictoriaMetrics: the same samples as Prometheus text
// ---------------------------------------------------------------------------

fn victoria_bulk(cfg: &Config) -> Option<Figures> {
    let n = cfg.series;
    let samples = cfg.samples();
    section(&format!(
        "VictoriaMetrics: /api/v1/import/prometheus of the same {} series × {} samples",
        thousands(n as u64),
        cfg.steps
    ));
    let vm = VictoriaMetrics::start(&[]);
    let pid = vm.pid();
    println!("VictoriaMetrics {} (pid {pid}) on {}", vm.version, vm.addr);
    let prefixes = TextPrefixes::new(n);
    let t0 = bulk_t0_ms(cfg.steps);
    println!("{}", describe_t0(t0, cfg.steps));
    thread::sleep(Duration::from_secs(3));
    let before = rss(&pid.to_string());
    let (cpu_start, wall) = (process_cpu_seconds(pid), Instant::now());
    let mut values = Values::new(n);
    let mut text = String::new();
    let mut encode = |series: Range<usize>, steps: Range<usize>| -> Vec<u8> {
        let mut body = Vec::with_capacity(series.len() * steps.len() * 160);
        for s in series {
            for step in steps.clone() {
                let v = values.sample(s, step);
                body.extend_from_slice(prefixes.of(s));
                text.clear();
                push_float(&mut text, v);
                body.extend_from_slice(text.as_bytes());
                body.push(b' ');
                body.extend_from_slice((t0 + step as i64 * STEP_MS).to_string().as_bytes());
                body.push(b'\n');
            }
        }
        body
    };
    let post = |body: &[u8]| vm.import_prometheus(body);
    let batch = (20_000 / cfg.window).max(1);
    let fed = match feed("VictoriaMetrics", cfg, batch, 3, &mut encode, &post) {
        Ok(fed) => fed,
        Err(e) => {
            println!("FAILED: {e}\n{}", vm.log_tail());
            return None;
        }
    };
    let sent_cpu = process_cpu_seconds(pid) - cpu_start;
    vm.force_flush();
    let waited = Instant::now();
    let mut rows = vm.stored_rows();
    while rows < samples as f64 && waited.elapsed() < Duration::from_secs(300) {
        thread::sleep(Duration::from_secs(1));
        vm.force_flush();
        rows = vm.stored_rows();
    }
    let settled = wait_cpu_idle(pid, 0.05, Duration::from_secs(2), Duration::from_secs(300));
    let cpu = process_cpu_seconds(pid) - cpu_start;
    let seconds = wall.elapsed().as_secs_f64();
    // Series created (exact; /api/v1/series/count is an estimate and counts more).
    let series = vm
        .metrics()
        .get("vm_new_timeseries_created_total")
        .copied()
        .unwrap_or(0.0);
    println!(
        "{} requests ({} of text) in {:.1} s = {} samples/s; VictoriaMetrics CPU {sent_cpu:.1} s while sent, {cpu:.1} \
         s until idle{} ({seconds:.0} s from the first request); {} rows stored, {} series",
        thousands(fed.requests),
        human_bytes(fed.bytes as f64),
        fed.seconds,
        thousands((samples as f64 / fed.seconds) as u64),
        if settled { "" } else { " (NOT idle within 300 s)" },
        thousands(rows as u64),
        thousands(series as u64)
    );
    // Every row must be there. VictoriaMetrics 1.79 may give a series a second id when two of
    // its insert workers see it new at once (a request's lines are split between workers):
    // a few more series than label sets are its own, not lost data.
    if rows as u64 != samples || (series as usize) < n || series > n as f64 * 1.01 {
        println!(
            "FAILED: VictoriaMetrics holds {rows} rows in {series} series, not {samples} in {n}\n{}",
            vm.log_tail()
        );
        return None;
    }
    if series as usize != n {
        println!(
            "note: {} series ids for {} label sets ({} duplicates from concurrent inserts)",
            thousands(series as u64),
            thousands(n as u64),
            thousands(series as u64 - n as u64)
        );
    }
    thread::sleep(Duration::from_secs(5));
    let after = rss(&pid.to_string());
    println!(
        "RSS {} → {} (anonymous {} → {})",
        human_bytes(before.total as f64),
        human_bytes(after.total as f64),
        human_bytes(before.anon as f64),
        human_bytes(after.anon as f64)
    );
    let mut f = Figures::new();
    f.insert(
        "anon_per_series".into(),
        (after.anon as f64 - before.anon as f64) / n as f64,
    );
    f.insert(
        "total_per_series".into(),
        (after.total as f64 - before.total as f64) / n as f64,
    );
    f.insert("cpu_per_million".into(), cpu / samples as f64 * 1e6);
    let (cpu_start, wall) = (process_cpu_seconds(pid), Instant::now());
    let merged = vm.force_merge_and_settle(Duration::from_secs(10), Duration::from_secs(cfg.vm_merge_secs));
    let merge_cpu = process_cpu_seconds(pid) - cpu_start;
    let (bytes, parts) = file_bytes(&vm.data_dir(), &|_| true);
    println!(
        "force_merge: {} after {:.0} s (CPU {merge_cpu:.1} s); on disk {} = {:.3} B/sample ({})",
        if merged { "settled" } else { "NOT settled" },
        wall.elapsed().as_secs_f64(),
        human_bytes(bytes as f64),
        bytes as f64 / samples as f64,
        parts
            .iter()
            .map(|(name, b)| format!("{name} {}", human_bytes(*b as f64)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    f.insert("disk_per_sample".into(), bytes as f64 / samples as f64);
    f.insert("merge_cpu_per_million".into(), merge_cpu / samples as f64 * 1e6);
    Some(f)
}

// ---------------------------------------------------------------------------
// Live: loopback targets scraped every 15 s
// ---------------------------------------------------------------------------

struct LiveShape {
    targets: usize,
    per_target: usize,
}

impl LiveShape {
    fn new(cfg: &Config) -> LiveShape {
        LiveShape {
            targets: cfg.live_targets,
            per_target: cfg.series / cfg.live_targets,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} targets × {} series",
            thousands(self.targets as u64),
            thousands(self.per_target as u64)
        )
    }
}

/// The targets `/t/0` … on one loopback server; each request advances the target one scrape.
struct LiveTargets {
    server: TargetServer,
    scrapes: Arc<AtomicU64>,
}

/// A live target's scrape count and its counters' values.
type TargetState = Mutex<(u64, Vec<i64>)>;

fn live_targets(shape: &LiveShape) -> LiveTargets {
    let (targets, per_target) = (shape.targets, shape.per_target);
    let states: Arc<Vec<TargetState>> = Arc::new((0..targets).map(|_| Mutex::new((0, Vec::new()))).collect());
    let scrapes = Arc::new(AtomicU64::new(0));
    // The page order: a family's series together (spec by spec, the shards of each).
    let shards = per_target / PER_TARGET;
    let order: Arc<Vec<usize>> = Arc::new(
        (0..PER_TARGET)
            .flat_map(|spec| (0..shards).map(move |shard| shard * PER_TARGET + spec))
            .collect(),
    );
    let counter = scrapes.clone();
    let handler: Handler = Arc::new(move |path: &str| {
        let target: usize = path.strip_prefix("/t/")?.parse().ok().filter(|t| *t < targets)?;
        let mut state = states[target].lock().unwrap_or_else(|p| p.into_inner());
        let (step, values) = &mut *state;
        if values.is_empty() {
            values.resize(per_target, 0);
        }
        let mut page = String::with_capacity(per_target * 90);
        let mut family = "";
        for &j in order.iter() {
            let spec = spec_of(target, j);
            if spec.name != family {
                family = spec.name;
                page.push_str("# TYPE ");
                page.push_str(spec.name);
                page.push_str(if spec.is_counter() { " counter\n" } else { " gauge\n" });
            }
            page.push_str(spec.name);
            let labels = page_labels(j, per_target, target);
            for (i, (name, value)) in labels.iter().enumerate() {
                page.push(if i == 0 { '{' } else { ',' });
                page.push_str(name);
                page.push_str("=\"");
                page.push_str(value);
                page.push('"');
            }
            if !labels.is_empty() {
                page.push('}');
            }
            page.push(' ');
            let series = (target * per_target + j) as u64;
            push_float(&mut page, spec.sample(series, *step, &mut values[j]));
            page.push('\n');
        }
        *step += 1;
        counter.fetch_add(1, Ordering::Relaxed);
        Some(page.into_bytes())
    });
    LiveTargets {
        server: TargetServer::start(handler),
        scrapes,
    }
}

/// Waits until `f` reaches `wanted` (at most `within`); its last value.
fn wait_for(what: &str, wanted: f64, within: Duration, mut f: impl FnMut() -> f64) -> (f64, f64) {
    let started = Instant::now();
    let mut last_print = Instant::now();
    loop {
        let now = f();
        if now >= wanted || started.elapsed() > within {
            return (now, started.elapsed().as_secs_f64());
        }
        if last_print.elapsed() > Duration::from_secs(30) {
            last_print = Instant::now();
            println!(
                "  waiting for {what}: {} of {} after {:.0} s",
                thousands(now as u64),
                thousands(wanted as u64),
                started.elapsed().as_secs_f64()
            );
        }
        thread::sleep(Duration::from_secs(1));
    }
}

/// How long the first scrapes may take to create every series.
const LIVE_UP_WITHIN: Duration = Duration::from_secs(600);
/// After every series exists, before the window.
const LIVE_WARM_UP: Duration = Duration::from_secs(30);
/// Each server is watched this long before the targets are added.
const LIVE_IDLE: Duration = Duration::from_secs(15);

fn live_prometheus(cfg: &Config, shape: &LiveShape) -> Option<Figures> {
    section(&format!(
        "Live: Prometheus scraping {} every 15 s for {} s",
        shape.describe(),
        cfg.live_secs
    ));
    let targets = live_targets(shape);
    let prom = Prometheus::start_with_flags(
        "scale",
        "    scrape_interval: 15s\n    scrape_timeout: 10s\n",
        &["--storage.tsdb.retention.time=1d"],
    );
    let pid = prom.pid();
    println!(
        "{} (pid {pid}) on {}; load average {}",
        prom.version,
        prom.addr,
        load_average()
    );
    thread::sleep(Duration::from_secs(3));
    let before = rss(&pid.to_string());
    let (idle_cpu, idle_wall) = (process_cpu_seconds(pid), Instant::now());
    thread::sleep(LIVE_IDLE);
    let idle_rate = (process_cpu_seconds(pid) - idle_cpu) / idle_wall.elapsed().as_secs_f64();
    println!("idle (no targets): {idle_rate:.4} CPU-s/s");
    let groups: Vec<serde_json::Value> = (0..shape.targets)
        .map(|t| {
            serde_json::json!({
                "targets": [targets.server.addr.to_string()],
                "labels": { "__metrics_path__": format!("/t/{t}"), "job": job_of(t), "instance": instance_of(t) },
            })
        })
        .collect();
    prom.set_targets(&serde_json::Value::Array(groups));
    let (series, took) = wait_for("Prometheus' head series", cfg.series as f64, LIVE_UP_WITHIN, || {
        prom.metric("prometheus_tsdb_head_series")
    });
    let up = prom_scalar(prom.addr, "sum(up)").unwrap_or(0.0);
    println!(
        "{} head series after {took:.0} s, {} of {} targets up",
        thousands(series as u64),
        up,
        shape.targets
    );
    if series < cfg.series as f64 {
        println!("FAILED: Prometheus did not create every series\n{}", prom.log_tail());
        return None;
    }
    thread::sleep(LIVE_WARM_UP);
    let appended_start = prom.metric("prometheus_tsdb_head_samples_appended_total");
    let scrapes_start = targets.scrapes.load(Ordering::Relaxed);
    let (cpu_start, wall) = (process_cpu_seconds(pid), Instant::now());
    thread::sleep(Duration::from_secs(cfg.live_secs));
    let cpu = process_cpu_seconds(pid) - cpu_start;
    let window = wall.elapsed().as_secs_f64();
    let samples = prom.metric("prometheus_tsdb_head_samples_appended_total") - appended_start;
    let scrapes = targets.scrapes.load(Ordering::Relaxed) - scrapes_start;
    let after = rss(&pid.to_string());
    let up = prom_scalar(prom.addr, "sum(up)").unwrap_or(0.0);
    let per_million = cpu / samples * 1e6;
    let net = (cpu - idle_rate * window) / samples * 1e6;
    println!(
        "{} scrapes, {} samples in {window:.0} s = {}/s ({up} targets up at the end); CPU {cpu:.1} s = {per_million:.3} s \
         per million samples ({net:.3} without its idle CPU); RSS {} → {} (anonymous {} → {})",
        thousands(scrapes),
        thousands(samples as u64),
        thousands((samples / window) as u64),
        human_bytes(before.total as f64),
        human_bytes(after.total as f64),
        human_bytes(before.anon as f64),
        human_bytes(after.anon as f64)
    );
    drop(prom);
    drop(targets);
    Some(Figures::from([
        ("cpu_per_million".to_string(), net),
        ("gross_cpu_per_million".to_string(), per_million),
        (
            "anon_per_series".to_string(),
            (after.anon as f64 - before.anon as f64) / cfg.series as f64,
        ),
        (
            "total_per_series".to_string(),
            (after.total as f64 - before.total as f64) / cfg.series as f64,
        ),
    ]))
}

/// The prometheus.yml that `vitrine targets import` reads: one job per kind, every target's URL and instance.
fn live_yml(addr: SocketAddr, shape: &LiveShape) -> String {
    let mut yml = String::from("global:\n  scrape_interval: 15s\n  scrape_timeout: 10s\nscrape_configs:\n");
    for job in ["node", "app"] {
        yml.push_str(&format!("  - job_name: {job}\n    static_configs:\n"));
        for t in (0..shape.targets).filter(|t| job_of(*t) == job) {
            yml.push_str(&format!(
                "      - targets: ['http://{addr}/t/{t}']\n        labels:\n          instance: '{}'\n",
                instance_of(t)
            ));
        }
    }
    yml
}

fn vitrine_metric(metrics: &HashMap<String, f64>, name: &str) -> f64 {
    metrics.get(name).copied().unwrap_or(0.0)
}

/// `runs` dashboard queries over the last hour, about one a second; their latencies in ms.
fn dashboard_queries(addr: SocketAddr, token: &str, runs: usize) -> Result<Vec<f64>, String> {
    let auth = format!("Bearer {token}");
    let mut times = Vec::with_capacity(runs);
    let mut rng = common::Rng::new(0xda5b);
    for _ in 0..runs {
        let end = vitrine_tsdb::db::system_now_ms() as f64 / 1000.0;
        let path = format!(
            "/api/v1/query_range?query={}&start={:.3}&end={end:.3}&step=15",
            url_encode(DASHBOARD_QUERY),
            end - 3600.0
        );
        let started = Instant::now();
        let (status, body) = http_request(
            addr,
            "GET",
            &path,
            &[("Authorization", &auth)],
            &[],
            Duration::from_secs(120),
        )
        .map_err(|e| e.to_string())?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if status != 200 {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
        }
        times.push(ms);
        thread::sleep(Duration::from_millis(500 + rng.below(1000)));
    }
    Ok(times)
}

fn live_vitrine(cfg: &Config, shape: &LiveShape, binary: &std::path::Path) -> Option<Figures> {
    section(&format!(
        "Live: the vitrine binary scraping {} every 15 s for {} s",
        shape.describe(),
        cfg.live_secs
    ));
    let targets = live_targets(shape);
    let limit = (cfg.series * 2 + 100_000).to_string();
    let vitrine = VitrineServer::start_demo_with_env(binary, &[("VITRINE_MAX_SERIES_PER_CLIENT", &limit)]);
    let pid = vitrine.pid();
    println!(
        "{} (`serve --demo`, pid {pid}, VITRINE_MAX_SERIES_PER_CLIENT={limit}) on {}; load average {}",
        vitrine.version,
        vitrine.addr,
        load_average()
    );
    // The demo's own targets (every 15 s) create their series first.
    thread::sleep(Duration::from_secs(20));
    let demo = vitrine.metrics();
    let demo_up = vitrine_metric(&demo, "vitrine_scrape_targets_up");
    let demo_series = vitrine_metric(&demo, "vitrine_tsdb_head_series");
    let before = rss(&pid.to_string());
    let (idle_cpu, idle_wall) = (process_cpu_seconds(pid), Instant::now());
    thread::sleep(LIVE_IDLE);
    let idle_window = idle_wall.elapsed().as_secs_f64();
    let idle_rate = (process_cpu_seconds(pid) - idle_cpu) / idle_window;
    let idle_samples_rate = (vitrine_metric(&vitrine.metrics(), "vitrine_tsdb_samples_appended_total")
        - vitrine_metric(&demo, "vitrine_tsdb_samples_appended_total"))
        / idle_window;
    println!("idle (the demo's own targets only): {idle_rate:.4} CPU-s/s, {idle_samples_rate:.0} samples/s");
    let yml = vitrine.path("scale.yml");
    std::fs::write(&yml, live_yml(targets.server.addr, shape)).expect("writing the targets file");
    let started = Instant::now();
    let imported = vitrine.run(&[
        "targets",
        "import",
        &yml.to_string_lossy(),
        "--client",
        "acme",
        "--project",
        "shop",
        "--environment",
        "stage",
    ]);
    println!(
        "`vitrine targets import` took {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        imported.lines().next().unwrap_or("").trim()
    );
    if !imported.starts_with(&format!("{} targets added", shape.targets)) {
        println!("FAILED: not every target was imported:\n{imported}");
        return None;
    }
    let wanted_series = demo_series + cfg.series as f64;
    let (series, took) = wait_for("vitrine's head series", wanted_series, LIVE_UP_WITHIN, || {
        vitrine_metric(&vitrine.metrics(), "vitrine_tsdb_head_series")
    });
    let up = vitrine_metric(&vitrine.metrics(), "vitrine_scrape_targets_up");
    println!(
        "{} head series after {took:.0} s ({} from the demo), {} of {} targets up",
        thousands(series as u64),
        thousands(demo_series as u64),
        up - demo_up,
        shape.targets
    );
    if series < wanted_series {
        println!("FAILED: vitrine did not create every series\n{}", vitrine.log_tail());
        return None;
    }
    thread::sleep(LIVE_WARM_UP);
    let appended_start = vitrine_metric(&vitrine.metrics(), "vitrine_tsdb_samples_appended_total");
    let scrapes_start = targets.scrapes.load(Ordering::Relaxed);
    let (cpu_start, wall) = (process_cpu_seconds(pid), Instant::now());
    thread::sleep(Duration::from_secs(cfg.live_secs));
    let cpu = process_cpu_seconds(pid) - cpu_start;
    let window = wall.elapsed().as_secs_f64();
    let m = vitrine.metrics();
    let samples = vitrine_metric(&m, "vitrine_tsdb_samples_appended_total") - appended_start;
    let scrapes = targets.scrapes.load(Ordering::Relaxed) - scrapes_start;
    let up = vitrine_metric(&m, "vitrine_scrape_targets_up") - demo_up;
    let after = rss(&pid.to_string());
    let per_million = cpu / samples * 1e6;
    let net = (cpu - idle_rate * window) / (samples - idle_samples_rate * window) * 1e6;
    println!(
        "{} scrapes, {} samples in {window:.0} s = {}/s ({up} targets up at the end); CPU {cpu:.1} s = {per_million:.3} s \
         per million samples ({net:.3} without its idle CPU and the demo targets' samples); RSS {} → {} (anonymous {} → \
         {})",
        thousands(scrapes),
        thousands(samples as u64),
        thousands((samples / window) as u64),
        human_bytes(before.total as f64),
        human_bytes(after.total as f64),
        human_bytes(before.anon as f64),
        human_bytes(after.anon as f64)
    );
    let mut f = Figures::from([
        ("cpu_per_million".to_string(), net),
        ("gross_cpu_per_million".to_string(), per_million),
        (
            "anon_per_series".to_string(),
            (after.anon as f64 - before.anon as f64) / cfg.series as f64,
        ),
        (
            "total_per_series".to_string(),
            (after.total as f64 - before.total as f64) / cfg.series as f64,
        ),
    ]);

    // A dashboard's range query while scraping, then once the targets are gone.
    let token = vitrine
        .run(&["token", "create", "--client", "acme", "--name", "bench"])
        .lines()
        .last()
        .map(|l| l.trim().to_string())
        .unwrap_or_default();
    println!(
        "query: {DASHBOARD_QUERY}, the last hour, step 15 s, {} runs",
        cfg.live_queries
    );
    let busy = dashboard_queries(vitrine.addr, &token, cfg.live_queries);
    drop(targets);
    // The targets are down now: their series are marked stale once, then scrapes fail at once.
    thread::sleep(Duration::from_secs(20));
    let idle_settled = wait_cpu_idle(pid, 0.1, Duration::from_secs(3), Duration::from_secs(120));
    let idle_cpu_start = (process_cpu_seconds(pid), Instant::now());
    let idle = dashboard_queries(vitrine.addr, &token, cfg.live_queries);
    let idle_rate = (process_cpu_seconds(pid) - idle_cpu_start.0) / idle_cpu_start.1.elapsed().as_secs_f64();
    match (busy, idle) {
        (Ok(mut busy), Ok(mut idle)) => {
            let (busy_p95, idle_p95) = (p95(&mut busy), p95(&mut idle));
            println!(
                "p95 while scraping {busy_p95:.1} ms (median {:.1}); idle {idle_p95:.1} ms (median {:.1}; the server used \
                 {idle_rate:.2} CPU-s/s with the queries{})",
                median(&mut busy),
                median(&mut idle),
                if idle_settled { "" } else { ", NOT idle before them" }
            );
            f.insert("query_busy_p95_ms".into(), busy_p95);
            f.insert("query_idle_p95_ms".into(), idle_p95);
        }
        (busy, idle) => println!("FAILED: dashboard queries: {:?} / {:?}", busy.err(), idle.err()),
    }
    drop(vitrine);
    Some(f)
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Report {
    vitrine: HashMap<&'static str, Figures>,
    churn: Option<Figures>,
    crash: Option<Figures>,
    prometheus: Option<Figures>,
    victoria: Option<Figures>,
    live_prometheus: Option<Figures>,
    live_vitrine: Option<Figures>,
}

fn get(f: &Option<Figures>, key: &str) -> Option<f64> {
    f.as_ref().and_then(|f| f.get(key)).copied().filter(|v| v.is_finite())
}

fn cell(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if decimals == 0 => thousands(v.round().max(0.0) as u64),
        Some(v) => format!("{v:.decimals$}"),
        None => "—".to_string(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "—",
    }
}

impl Report {
    fn print(&self, cfg: &Config, live: &LiveShape) {
        section("scale: the engine at agency scale");
        println!(
            "{} active series at 15 s; bulk phases: {} samples per series ({:.1} h, synthetic timestamps ending ≥ 1 h \
             before now so compaction takes them all); peers fed shape (a)'s series with a `tenant` label; live: {}",
            thousands(cfg.series as u64),
            cfg.steps,
            cfg.steps as f64 / 240.0,
            live.describe()
        );
        println!();
        println!("| figure | Vitrine | Prometheus | VictoriaMetrics | ratio V/P | ratio V/VM | goal |");
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        let row = |figure: &str, v: Option<f64>, p: Option<f64>, m: Option<f64>, decimals: usize, goal: String| {
            println!(
                "| {figure} | {} | {} | {} | {} | {} | {goal} |",
                cell(v, decimals),
                cell(p, decimals),
                cell(m, decimals),
                cell(ratio(v, p), 2),
                cell(ratio(v, m), 2)
            );
        };
        let prom = &self.prometheus;
        let vm = &self.victoria;
        for shape in &cfg.shapes {
            let v = self.vitrine.get(shape.name()).cloned();
            // The peers hold shape (a)'s tenants: their per-tenant queries compare with (a) only.
            let prom_q = if *shape == Shape::A { prom.clone() } else { None };
            let s = shape.describe(cfg.series);
            let anon = get(&v, "anon_per_series");
            let vm_anon = get(vm, "anon_per_series");
            row(
                &format!("anonymous RSS per active series, B {s}"),
                anon,
                get(prom, "anon_per_series"),
                vm_anon,
                0,
                format!(
                    "≤ 300 and < VM: {}",
                    verdict(anon.map(|a| a <= GOAL_BYTES_PER_SERIES && vm_anon.is_none_or(|m| a < m)))
                ),
            );
            let total = get(&v, "total_per_series");
            row(
                &format!("total RSS per active series, B {s}"),
                total,
                get(prom, "total_per_series"),
                get(vm, "total_per_series"),
                0,
                String::new(),
            );
            let cpu = get(&v, "append_cpu_per_million");
            let p_cpu = get(prom, "cpu_per_million");
            row(
                &format!("CPU s per million samples appended {s}"),
                cpu,
                p_cpu,
                get(vm, "cpu_per_million"),
                3,
                format!("≤ 0.5 × Prometheus: {}", verdict(ratio(cpu, p_cpu).map(|r| r <= 0.5))),
            );
            let restart = get(&v, "restart_s");
            row(
                &format!("restart after a clean shutdown (Prometheus: SIGTERM), s {s}"),
                restart,
                get(prom, "restart_s"),
                None,
                1,
                format!("≤ 30 s: {}", verdict(restart.map(|r| r <= GOAL_RESTART_S))),
            );
            row(
                &format!("restart replaying 2 h of log (after a crash), s {s}"),
                get(&v, "restart_replay_s"),
                None,
                None,
                1,
                String::new(),
            );
            row(
                &format!("compaction CPU s per million samples {s}"),
                get(&v, "compact_cpu_per_million"),
                get(prom, "compact_cpu_per_million"),
                get(vm, "merge_cpu_per_million"),
                3,
                String::new(),
            );
            let disk = get(&v, "disk_per_sample");
            row(
                &format!("disk bytes per sample after compaction {s}"),
                disk,
                get(prom, "disk_per_sample"),
                get(vm, "disk_per_sample"),
                3,
                String::new(),
            );
            let days90 = 1e6 * 90.0 * 5760.0 / (1u64 << 30) as f64;
            row(
                &format!("90 days × 1M series at 15 s, GiB {s}"),
                disk.map(|d| d * days90),
                get(prom, "disk_per_sample").map(|d| d * days90),
                get(vm, "disk_per_sample").map(|d| d * days90),
                0,
                String::new(),
            );
            let p_labels = match (get(&prom_q, "labels_ms"), get(&prom_q, "label_values_ms")) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
            row(
                &format!("a tenant's label names + values, ms, head {s}"),
                get(&v, "head_label_pairs_ms"),
                p_labels,
                None,
                2,
                String::new(),
            );
            row(
                &format!("regex selector with samples, ms, head {s}"),
                get(&v, "head_select_ms"),
                get(&prom_q, "select_ms"),
                None,
                1,
                String::new(),
            );
            row(
                &format!("regex selector, labels only, ms, head {s}"),
                get(&v, "head_series_ms"),
                get(&prom_q, "series_ms"),
                None,
                2,
                String::new(),
            );
            row(
                &format!("a tenant's label names + values, ms, blocks {s}"),
                get(&v, "blocks_label_pairs_ms"),
                None,
                None,
                2,
                String::new(),
            );
            row(
                &format!("regex selector with samples, ms, blocks {s}"),
                get(&v, "blocks_select_ms"),
                None,
                None,
                1,
                String::new(),
            );
        }
        let (lv, lp) = (&self.live_vitrine, &self.live_prometheus);
        let cpu = get(lv, "cpu_per_million");
        let p_cpu = get(lp, "cpu_per_million");
        row(
            &format!(
                "live scrape: CPU s per million samples, net of idle ({})",
                live.describe()
            ),
            cpu,
            p_cpu,
            None,
            3,
            format!("≤ 0.5 × Prometheus: {}", verdict(ratio(cpu, p_cpu).map(|r| r <= 0.5))),
        );
        row(
            "live scrape: CPU s per million samples, whole process",
            get(lv, "gross_cpu_per_million"),
            get(lp, "gross_cpu_per_million"),
            None,
            3,
            String::new(),
        );
        row(
            "live scrape: anonymous RSS per active series, B (whole server)",
            get(lv, "anon_per_series"),
            get(lp, "anon_per_series"),
            None,
            0,
            String::new(),
        );
        let busy = get(lv, "query_busy_p95_ms");
        let idle = get(lv, "query_idle_p95_ms");
        println!(
            "| dashboard query p95 while scraping / idle, ms | {} / {} | — | — | {} (busy/idle) | — | ≤ 2 × idle: {} |",
            cell(busy, 1),
            cell(idle, 1),
            cell(ratio(busy, idle), 2),
            verdict(ratio(busy, idle).map(|r| r <= 2.0))
        );
        let churn = &self.churn;
        let (first, last) = (get(churn, "first_per_series"), get(churn, "last_per_series"));
        println!(
            "| churn ({CHURN_PERCENT} % of {} series replaced every hour): anonymous RSS per active series, B, hour \
             {CHURN_FIRST_HOUR} → hour {} | {} → {} | — | — | {} (last/first) | — | flat (≤ 1.1 ×): {} |",
            thousands(cfg.churn_series as u64),
            cell(get(churn, "hours"), 0),
            cell(first, 0),
            cell(last, 0),
            cell(ratio(last, first), 2),
            verdict(ratio(last, first).map(|r| r <= 1.1))
        );
        let c = &self.crash;
        println!(
            "| kill -9 at {} series: acknowledged samples lost | {} of {} | — | — | — | — | 0: {} |",
            thousands(cfg.crash_series as u64),
            cell(get(c, "lost"), 0),
            cell(get(c, "acked"), 0),
            verdict(get(c, "ok").map(|ok| ok == 1.0))
        );
        println!();
        println!(
            "notes: Vitrine's figures are the store in a child process (value generation included in its CPU); peers' \
             CPU is the server process from the first request until it is idle again (the bench's encoding is not in \
             it); Prometheus' disk figure is its head written as a block by the admin snapshot (its compactor), \
             VictoriaMetrics' its whole data directory after force_merge; Prometheus' label figure is \
             /api/v1/labels + /api/v1/label/__name__/values with match[]={{tenant=…}}, its selector figures are \
             /api/v1/query of the range selector (raw samples, JSON) and /api/v1/series over HTTP; 90 days \
             extrapolates the bytes per sample of 2 h blocks (larger blocks have relatively smaller indexes)."
        );
    }
}
