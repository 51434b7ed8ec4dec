//! The benchmark's data: a web shop on 10 instances, exactly 10,000 series
//! over 7 days, one sample a minute, the same on every run (fixed seeds).
//!
//! * `http_requests_total` by instance × 50 routes × 4 statuses (2,000
//!   series): Poisson request counts with a long tail of route popularity,
//!   a daily and weekly rhythm, and error incidents (an hour of a route
//!   answering 500 far more often and slower);
//! * `http_request_duration_seconds` by instance × route: 9 buckets (`+Inf`
//!   included), `_sum` and `_count` (5,500 series), log-normal latencies;
//! * `http_requests_in_flight` by instance × route (500 gauges);
//! * `http_response_size_bytes_total` by instance × route (500);
//! * `db_queries_total` and `db_query_duration_seconds` (a summary of `_sum`
//!   and `_count`) by instance × 10 tables × 4 operations (400 + 800);
//! * `cache_requests_total` by instance × 8 caches × hit/miss (160);
//! * 14 process and Go runtime series per instance (140).
//!
//! Every instance restarts 0 to 2 times in the week: its counters start
//! again from zero, so `rate()` meets counter resets as in real data. Each
//! instance is scraped at its own offset into the minute (whole seconds, so
//! that no timestamp depends on how a parser rounds fractions).
//!
//! The data is written as OpenMetrics text with timestamps, one file per
//! 18-hour window aligned as promtool's blocks of `--max-block-duration=18h`:
//! promtool parses its whole input once per block it writes (and once more
//! for the time range), so one window per file parses every sample twice
//! instead of ten times, and no file is larger than ~1.3 GB (Vitrine's
//! import reads its file into memory). Within a file each metric family
//! comes once, each metric's points in time order (a histogram's buckets,
//! sum and count together per point), as OpenMetrics requires.

use crate::common::{Rng, push_float, splitmix64};
use std::fmt::Write as _;
use std::io::{self, Write};

pub const SERIES: usize = 10_000;
/// One sample a minute: 7 days × 10,000 series are 100.8 M samples. At 15 s
/// it would be 403 M, and loading them into both stores alone would take
/// most of an hour on two shared cores.
pub const STEP_S: i64 = 60;
pub const SPAN_S: i64 = 7 * 86_400;
pub const POINTS: i64 = SPAN_S / STEP_S;
pub const SAMPLES: u64 = SERIES as u64 * POINTS as u64;
/// The span of one file, and of the blocks promtool writes from it.
pub const FILE_WINDOW_S: i64 = 18 * 3600;
pub const PROMTOOL_BLOCK_FLAG: &str = "--max-block-duration=18h";
/// Changes whenever the data changes, so kept data of another version is not reused.
pub const VERSION: &str = "query_latency data v1";

const SEED: u64 = 0x5107_da7a_2026_0001;
const INSTANCES: usize = 10;
const ROUTES: [(&str, &str); 50] = [
    ("GET", "/"),
    ("GET", "/search"),
    ("GET", "/category/:slug"),
    ("GET", "/product/:id"),
    ("GET", "/static/*"),
    ("GET", "/images/*"),
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/:id"),
    ("GET", "/cart"),
    ("POST", "/cart/items"),
    ("GET", "/api/v1/search"),
    ("GET", "/api/v1/recommendations"),
    ("POST", "/api/v1/events"),
    ("GET", "/api/v1/stock/:sku"),
    ("GET", "/api/v1/prices"),
    ("GET", "/product/:id/reviews"),
    ("GET", "/api/v1/cart"),
    ("POST", "/api/v1/cart"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/checkout"),
    ("POST", "/checkout"),
    ("POST", "/checkout/payment"),
    ("GET", "/checkout/confirmation"),
    ("GET", "/account"),
    ("GET", "/account/orders"),
    ("GET", "/account/orders/:id"),
    ("GET", "/wishlist"),
    ("POST", "/wishlist/items"),
    ("PUT", "/cart/items/:id"),
    ("DELETE", "/cart/items/:id"),
    ("GET", "/api/v1/categories"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/orders/:id"),
    ("POST", "/logout"),
    ("GET", "/register"),
    ("POST", "/register"),
    ("PUT", "/account"),
    ("GET", "/account/addresses"),
    ("POST", "/account/addresses"),
    ("POST", "/product/:id/reviews"),
    ("POST", "/webhooks/payment"),
    ("POST", "/webhooks/shipping"),
    ("GET", "/sitemap.xml"),
    ("GET", "/robots.txt"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/admin"),
    ("GET", "/admin/orders"),
    ("POST", "/admin/products"),
];
/// Statuses and their shares of a route's requests, normally and during an incident.
const STATUSES: [&str; 4] = ["200", "301", "404", "500"];
const SHARES: [f64; 4] = [0.955, 0.02, 0.02, 0.005];
const INCIDENT_SHARES: [f64; 4] = [0.86, 0.02, 0.02, 0.1];
/// Upper bounds of the latency buckets before `+Inf`.
const BUCKETS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
const BUCKET_LABELS: [&str; 9] = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"];
const TABLES: [&str; 10] = [
    "users",
    "products",
    "categories",
    "orders",
    "order_items",
    "carts",
    "cart_items",
    "reviews",
    "stock",
    "sessions",
];
const OPERATIONS: [(&str, f64); 4] = [("select", 0.8), ("insert", 0.07), ("update", 0.11), ("delete", 0.02)];
const CACHES: [&str; 8] = [
    "product",
    "category",
    "price",
    "stock",
    "session",
    "search",
    "recommendation",
    "template",
];

/// A route's traffic: requests per second on one instance at load 1, and latencies.
struct Route {
    rate: f64,
    median_s: f64,
    bytes: f64,
    normal: Latency,
    incident: Latency,
}

/// The share of requests in each bucket (not cumulative, `+Inf` last) and
/// their mean latency there.
struct Latency {
    share: [f64; 9],
    mean_s: [f64; 9],
}

impl Latency {
    fn log_normal(median_s: f64, sigma: f64) -> Latency {
        let cdf = |x: f64| normal_cdf((x.ln() - median_s.ln()) / sigma);
        let mut share = [0.0; 9];
        let mut mean_s = [0.0; 9];
        let mut below = 0.0;
        let mut lower = BUCKETS[0] / 2.0;
        for (j, upper) in BUCKETS.iter().chain([&(BUCKETS[7] * 4.0)]).enumerate() {
            let at = if j == 8 { 1.0 } else { cdf(*upper) };
            share[j] = at - below;
            below = at;
            // The geometric middle of the bucket stands for its requests.
            mean_s[j] = (lower * upper).sqrt();
            lower = *upper;
        }
        Latency { share, mean_s }
    }
}

/// Φ(x), from the Abramowitz–Stegun approximation of erf (error < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

struct Instance {
    /// `job="shop",instance="…"`.
    labels: String,
    /// Seconds after the minute at which it is scraped.
    offset_s: i64,
    /// Its share of the traffic relative to the others (the load balancer is not perfect).
    weight: f64,
    /// The minutes (indices of points) at whose sample it has just restarted.
    restarts: Vec<i64>,
    /// When the process running at the first point started.
    first_start_s: i64,
}

impl Instance {
    fn restarted_at(&self, k: i64) -> bool {
        self.restarts.binary_search(&k).is_ok()
    }

    /// `process_start_time_seconds` at point `k`.
    fn started_s(&self, k: i64, start_s: i64) -> i64 {
        match self.restarts.iter().rev().find(|r| **r <= k) {
            Some(r) => start_s + r * STEP_S + self.offset_s - 17,
            None => self.first_start_s,
        }
    }
}

struct World {
    start_s: i64,
    routes: Vec<Route>,
    instances: Vec<Instance>,
}

impl World {
    /// Traffic relative to the week's average: a daily wave peaking in the
    /// afternoon (UTC) and quieter weekends.
    fn load(&self, t_s: i64) -> f64 {
        let day = (t_s.rem_euclid(86_400)) as f64 / 86_400.0;
        let daily = 1.0 + 0.55 * (std::f64::consts::TAU * (day - 0.375)).sin();
        // 1970-01-01 was a Thursday: day 2 and 3 of each week (from Thursday) are Saturday and Sunday.
        let weekday = t_s.div_euclid(86_400).rem_euclid(7);
        if weekday == 2 || weekday == 3 {
            0.75 * daily
        } else {
            daily
        }
    }

    /// About one hour in a hundred, a route has an incident: more 500s, slower answers.
    fn incident(&self, route: usize, t_s: i64) -> bool {
        let hour = t_s.div_euclid(3600) as u64;
        splitmix64(SEED ^ ((route as u64) << 40) ^ hour).is_multiple_of(97)
    }
}

/// How the values of a metric move from one point to the next.
#[derive(Clone, Copy)]
enum Kind {
    Requests { route: usize, status: usize },
    Duration { route: usize },
    InFlight { route: usize },
    ResponseBytes { route: usize },
    DbQueries { per_s: f64 },
    DbDuration { per_s: f64, mean_s: f64 },
    Cache { per_s: f64 },
    Cpu,
    Resident,
    Virtual,
    OpenFds,
    MaxFds,
    StartTime,
    Goroutines,
    Threads,
    Alloc,
    HeapInuse,
    Mallocs,
    Gc,
    Up,
}

impl Kind {
    /// Counters (and a histogram's or summary's series) start again from zero at a restart.
    fn resets(self) -> bool {
        matches!(
            self,
            Kind::Requests { .. }
                | Kind::Duration { .. }
                | Kind::ResponseBytes { .. }
                | Kind::DbQueries { .. }
                | Kind::DbDuration { .. }
                | Kind::Cache { .. }
                | Kind::Cpu
                | Kind::Mallocs
                | Kind::Gc
        )
    }
}

/// One metric: its series (one, or a histogram's or summary's several) and their values.
struct Metric {
    /// The text of each series before its value: `name{labels} `.
    lines: Vec<String>,
    values: Vec<f64>,
    instance: usize,
    kind: Kind,
    rng: Rng,
}

struct Family {
    /// `# TYPE name type`.
    header: String,
    metrics: Vec<Metric>,
}

/// Writes the data window by window; the values carry over from one window to the next.
pub struct Generator {
    world: World,
    families: Vec<Family>,
    next_point: i64,
}

impl Generator {
    /// The data of the 7 days that end at `end_s` (the last point is a minute before).
    pub fn new(end_s: i64) -> Generator {
        assert!(end_s % STEP_S == 0, "the end must be on a minute");
        let start_s = end_s - SPAN_S;
        let mut rng = Rng::new(SEED);
        let routes = (0..ROUTES.len())
            .map(|r| {
                // A long tail: a few busy routes, many quiet ones; checkout and payment are slow.
                let median_s = 0.012 + 0.15 * rng.f64() * rng.f64() + if r == 21 || r == 22 { 0.25 } else { 0.0 };
                Route {
                    rate: 18.0 / (r as f64 + 1.0).powf(0.9) * (0.85 + 0.3 * rng.f64()),
                    median_s,
                    bytes: 800.0 + 60_000.0 * rng.f64() * rng.f64(),
                    normal: Latency::log_normal(median_s, 0.7),
                    incident: Latency::log_normal(median_s * 2.5, 0.9),
                }
            })
            .collect();
        let instances = (0..INSTANCES)
            .map(|i| {
                let mut restarts: Vec<i64> = (0..rng.below(3))
                    .map(|_| 1 + rng.below(POINTS as u64 - 1) as i64)
                    .collect();
                restarts.sort_unstable();
                restarts.dedup();
                Instance {
                    labels: format!("job=\"shop\",instance=\"shop-{:02}:8080\"", i + 1),
                    offset_s: 3 + 5 * i as i64,
                    weight: 0.9 + 0.2 * rng.f64(),
                    restarts,
                    first_start_s: start_s - 3600 - rng.below(5 * 86_400) as i64,
                }
            })
            .collect();
        let world = World {
            start_s,
            routes,
            instances,
        };
        let families = families(&world);
        let series: usize = families.iter().flat_map(|f| &f.metrics).map(|m| m.lines.len()).sum();
        assert_eq!(series, SERIES, "the data must hold exactly {SERIES} series");
        Generator {
            world,
            families,
            next_point: 0,
        }
    }

    /// The points of each file: `[first, end)` indices, one range per 18-hour window.
    pub fn windows(&self) -> Vec<(i64, i64)> {
        let window = |k: i64| (self.world.start_s + k * STEP_S).div_euclid(FILE_WINDOW_S);
        let mut out: Vec<(i64, i64)> = Vec::new();
        for k in 0..POINTS {
            match out.last_mut() {
                Some(last) if window(last.0) == window(k) => last.1 = k + 1,
                _ => out.push((k, k + 1)),
            }
        }
        out
    }

    /// Writes points `first..end` as one OpenMetrics file (the next window
    /// after the previous call); returns the number of samples.
    pub fn write_window(&mut self, first: i64, end: i64, out: &mut impl Write) -> io::Result<u64> {
        assert_eq!(first, self.next_point, "windows are written in order");
        self.next_point = end;
        let mut text = String::with_capacity(4 << 20);
        let mut samples = 0;
        for family in &mut self.families {
            text.push_str(&family.header);
            for metric in &mut family.metrics {
                let instance = &self.world.instances[metric.instance];
                for k in first..end {
                    advance(metric, &self.world, k);
                    let t = self.world.start_s + k * STEP_S + instance.offset_s;
                    for (line, value) in metric.lines.iter().zip(&metric.values) {
                        text.push_str(line);
                        push_value(&mut text, *value);
                        let _ = writeln!(text, " {t}");
                    }
                    samples += metric.lines.len() as u64;
                }
                if text.len() > 3 << 20 {
                    out.write_all(text.as_bytes())?;
                    text.clear();
                }
            }
        }
        text.push_str("# EOF\n");
        out.write_all(text.as_bytes())?;
        Ok(samples)
    }
}

/// Integers as integers (most values), everything else as Go writes floats.
fn push_value(out: &mut String, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        push_float(out, v);
    }
}

/// Moves a metric to point `k`.
fn advance(metric: &mut Metric, world: &World, k: i64) {
    let instance = &world.instances[metric.instance];
    let t_s = world.start_s + k * STEP_S;
    let load = world.load(t_s) * instance.weight;
    let minute = STEP_S as f64;
    let restarted = instance.restarted_at(k);
    if restarted && metric.kind.resets() {
        metric.values.iter_mut().for_each(|v| *v = 0.0);
    }
    let rng = &mut metric.rng;
    let v = &mut metric.values;
    match metric.kind {
        Kind::Requests { route, status } => {
            let shares = if world.incident(route, t_s) {
                INCIDENT_SHARES
            } else {
                SHARES
            };
            v[0] += rng.poisson(world.routes[route].rate * minute * load * shares[status]) as f64;
        }
        Kind::Duration { route } => {
            let r = &world.routes[route];
            let latency = if world.incident(route, t_s) {
                &r.incident
            } else {
                &r.normal
            };
            let expected = r.rate * minute * load;
            let mut cumulative = 0.0;
            for j in 0..9 {
                let n = rng.poisson(expected * latency.share[j]) as f64;
                cumulative += n;
                v[j] += cumulative;
                v[9] += n * latency.mean_s[j] * (0.9 + 0.2 * rng.f64());
            }
            v[10] += cumulative;
        }
        Kind::InFlight { route } => {
            let r = &world.routes[route];
            let slow = if world.incident(route, t_s) { 2.5 } else { 1.0 };
            v[0] = rng.poisson(r.rate * load * r.median_s * slow * 1.3) as f64;
        }
        Kind::ResponseBytes { route } => {
            let r = &world.routes[route];
            v[0] += (r.rate * minute * load * r.bytes * (1.0 + 0.05 * rng.normal()))
                .max(0.0)
                .round();
        }
        Kind::DbQueries { per_s } | Kind::Cache { per_s } => v[0] += rng.poisson(per_s * minute * load) as f64,
        Kind::DbDuration { per_s, mean_s } => {
            let n = rng.poisson(per_s * minute * load) as f64;
            v[0] += n * mean_s * (0.8 + 0.4 * rng.f64());
            v[1] += n;
        }
        Kind::Cpu => v[0] += minute * (0.05 + 0.25 * load) * (1.0 + 0.1 * rng.normal()).max(0.0),
        Kind::Resident => v[0] = (150e6 + 60e6 * load + 5e6 * rng.normal()).round(),
        Kind::Virtual => v[0] = ((1.2e9 + 1e8 * load) / 4096.0).round() * 4096.0,
        Kind::OpenFds => v[0] = 25.0 + rng.poisson(30.0 * load) as f64,
        Kind::MaxFds => v[0] = 1_048_576.0,
        Kind::StartTime => v[0] = instance.started_s(k, world.start_s) as f64,
        Kind::Goroutines => v[0] = 30.0 + rng.poisson(80.0 * load) as f64,
        Kind::Threads => {
            if restarted || v[0] == 0.0 {
                v[0] = 12.0;
            } else if rng.f64() < 0.01 {
                v[0] = (v[0] + 1.0).min(24.0);
            }
        }
        Kind::Alloc => v[0] = (20e6 + 40e6 * rng.f64() * load).round(),
        Kind::HeapInuse => v[0] = (30e6 + 50e6 * rng.f64() * load).round(),
        Kind::Mallocs => v[0] += rng.poisson(50_000.0 * minute * load) as f64,
        Kind::Gc => {
            let n = rng.poisson(0.3 * minute * load) as f64;
            v[0] += n * 0.0003 * (0.7 + 0.6 * rng.f64());
            v[1] += n;
        }
        Kind::Up => v[0] = if restarted { 0.0 } else { 1.0 },
    }
}

/// Every family in file order, with every series.
fn families(world: &World) -> Vec<Family> {
    let mut seed = 0;
    let mut metric = |instance: usize, kind: Kind, lines: Vec<String>| {
        seed += 1;
        Metric {
            values: vec![0.0; lines.len()],
            lines,
            instance,
            kind,
            rng: Rng::new(splitmix64(SEED ^ seed)),
        }
    };
    let per_instance = |f: &mut dyn FnMut(usize, &str) -> Vec<Metric>| -> Vec<Metric> {
        world
            .instances
            .iter()
            .enumerate()
            .flat_map(|(i, instance)| f(i, &instance.labels))
            .collect()
    };
    let family = |name: &str, kind: &str, metrics: Vec<Metric>| Family {
        header: format!("# TYPE {name} {kind}\n"),
        metrics,
    };
    let route_labels =
        |labels: &str, r: usize| format!("{labels},method=\"{}\",route=\"{}\"", ROUTES[r].0, ROUTES[r].1);
    let mut out = Vec::new();

    let requests = per_instance(&mut |i, labels| {
        let mut list = Vec::new();
        for r in 0..ROUTES.len() {
            for (s, status) in STATUSES.iter().enumerate() {
                let line = format!(
                    "http_requests_total{{{},status=\"{status}\"}} ",
                    route_labels(labels, r)
                );
                list.push(metric(i, Kind::Requests { route: r, status: s }, vec![line]));
            }
        }
        list
    });
    out.push(family("http_requests", "counter", requests));

    let durations = per_instance(&mut |i, labels| {
        (0..ROUTES.len())
            .map(|r| {
                let labels = route_labels(labels, r);
                let mut lines: Vec<String> = BUCKET_LABELS
                    .iter()
                    .map(|le| format!("http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} "))
                    .collect();
                lines.push(format!("http_request_duration_seconds_sum{{{labels}}} "));
                lines.push(format!("http_request_duration_seconds_count{{{labels}}} "));
                metric(i, Kind::Duration { route: r }, lines)
            })
            .collect()
    });
    out.push(family("http_request_duration_seconds", "histogram", durations));

    let in_flight = per_instance(&mut |i, labels| {
        (0..ROUTES.len())
            .map(|r| {
                let line = format!("http_requests_in_flight{{{}}} ", route_labels(labels, r));
                metric(i, Kind::InFlight { route: r }, vec![line])
            })
            .collect()
    });
    out.push(family("http_requests_in_flight", "gauge", in_flight));

    let bytes = per_instance(&mut |i, labels| {
        (0..ROUTES.len())
            .map(|r| {
                let line = format!("http_response_size_bytes_total{{{}}} ", route_labels(labels, r));
                metric(i, Kind::ResponseBytes { route: r }, vec![line])
            })
            .collect()
    });
    out.push(family("http_response_size_bytes", "counter", bytes));

    // Database work per table and operation: busy tables first.
    let table_rate = |t: usize, share: f64| 40.0 / (t as f64 + 1.0) * share;
    let queries = per_instance(&mut |i, labels| {
        let mut list = Vec::new();
        for (t, table) in TABLES.iter().enumerate() {
            for (op, share) in OPERATIONS {
                let line = format!("db_queries_total{{{labels},table=\"{table}\",operation=\"{op}\"}} ");
                list.push(metric(
                    i,
                    Kind::DbQueries {
                        per_s: table_rate(t, share),
                    },
                    vec![line],
                ));
            }
        }
        list
    });
    out.push(family("db_queries", "counter", queries));
    let query_durations = per_instance(&mut |i, labels| {
        let mut list = Vec::new();
        for (t, table) in TABLES.iter().enumerate() {
            for (o, (op, share)) in OPERATIONS.iter().enumerate() {
                let labels = format!("{labels},table=\"{table}\",operation=\"{op}\"");
                let lines = vec![
                    format!("db_query_duration_seconds_sum{{{labels}}} "),
                    format!("db_query_duration_seconds_count{{{labels}}} "),
                ];
                let kind = Kind::DbDuration {
                    per_s: table_rate(t, *share),
                    mean_s: 0.0008 * (1 + o + t % 3) as f64,
                };
                list.push(metric(i, kind, lines));
            }
        }
        list
    });
    out.push(family("db_query_duration_seconds", "summary", query_durations));

    let caches = per_instance(&mut |i, labels| {
        let mut list = Vec::new();
        for (c, cache) in CACHES.iter().enumerate() {
            let hit_ratio = 0.6 + 0.04 * c as f64;
            for (result, share) in [("hit", hit_ratio), ("miss", 1.0 - hit_ratio)] {
                let line = format!("cache_requests_total{{{labels},cache=\"{cache}\",result=\"{result}\"}} ");
                let per_s = 60.0 / (c as f64 + 1.0) * share;
                list.push(metric(i, Kind::Cache { per_s }, vec![line]));
            }
        }
        list
    });
    out.push(family("cache_requests", "counter", caches));

    // The process and runtime series a Go client library exposes, per instance.
    let process: [(&str, &str, Kind, &[&str]); 13] = [
        (
            "process_cpu_seconds",
            "counter",
            Kind::Cpu,
            &["process_cpu_seconds_total"],
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            Kind::Resident,
            &["process_resident_memory_bytes"],
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            Kind::Virtual,
            &["process_virtual_memory_bytes"],
        ),
        ("process_open_fds", "gauge", Kind::OpenFds, &["process_open_fds"]),
        ("process_max_fds", "gauge", Kind::MaxFds, &["process_max_fds"]),
        (
            "process_start_time_seconds",
            "gauge",
            Kind::StartTime,
            &["process_start_time_seconds"],
        ),
        ("go_goroutines", "gauge", Kind::Goroutines, &["go_goroutines"]),
        ("go_threads", "gauge", Kind::Threads, &["go_threads"]),
        (
            "go_memstats_alloc_bytes",
            "gauge",
            Kind::Alloc,
            &["go_memstats_alloc_bytes"],
        ),
        (
            "go_memstats_heap_inuse_bytes",
            "gauge",
            Kind::HeapInuse,
            &["go_memstats_heap_inuse_bytes"],
        ),
        (
            "go_memstats_mallocs",
            "counter",
            Kind::Mallocs,
            &["go_memstats_mallocs_total"],
        ),
        (
            "go_gc_duration_seconds",
            "summary",
            Kind::Gc,
            &["go_gc_duration_seconds_sum", "go_gc_duration_seconds_count"],
        ),
        ("up", "gauge", Kind::Up, &["up"]),
    ];
    for (name, kind_name, kind, names) in process {
        let metrics = per_instance(&mut |i, labels| {
            let lines = names.iter().map(|n| format!("{n}{{{labels}}} ")).collect();
            vec![metric(i, kind, lines)]
        });
        out.push(family(name, kind_name, metrics));
    }
    out
}
