//! Rule evaluation, Vitrine against Prometheus 2.42 on the same series and rules: 1,000 clients
//! × 10 series (a shop's `up`, request counters by status, a latency histogram, queue length
//! and memory), 10 alerting rules per client (error ratios, p95 and p99 from the histogram,
//! `up == 0`, `absent`, a queue, memory, no traffic), 10,000 rules in all.
//!
//! Vitrine: a fresh data directory (no demo), 1,000 clients made through the agency's forms,
//! each with the project `shop` and environment `live` and the rules imported as thresholds
//! on the thresholds page; the series written into the store beforehand (the server stopped)
//! with the labels scraping gives them. Prometheus: the same series with a `client` label,
//! written as OpenMetrics and turned into blocks by `promtool tsdb create-blocks-from`, and
//! 1,000 rule groups whose selectors filter on `client`. Both evaluate every 5 s. The samples
//! cover the hour up to when each side's data is made, at 15 s, so rates stay defined for the
//! few minutes a side runs (and both write their `ALERTS` into the head after the data);
//! 10 % of the clients have a high error ratio, 5 % are slow, 2 % have a long queue: those
//! alarms fire on both sides, and the rules' health and state of one client are printed
//! from both sides' `/api/v1/rules` as a check.
//!
//! After 3 rounds to warm up, the process CPU seconds (`/proc`) and the wall time of the next
//! 10 rounds (100,000 evaluations, counted by `vitrine_rule_evaluations_total` and
//! `prometheus_rule_evaluations_total`) are printed side by side with the rounds each missed.
//! One server runs at a time. Goal: Vitrine ≤ 0.5 × Prometheus.
//!
//! `cargo build --release -p vitrine`, then
//! `VITRINE_BENCH=1 cargo bench -p vitrine-tests --bench rule_evaluation`
//! (needs Debian's prometheus package; about 5 minutes). `VITRINE_BENCH_RULE_CLIENTS` sets
//! fewer clients for a quick run.

mod common;

use common::{
    BenchAgency, Prometheus, VitrineServer, http_request, process_cpu_seconds, require_program, section,
    skip_unless_enabled, thousands, vitrine_binary, vitrine_cli,
};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use vitrine_tsdb::{Db, Labels, Options};

const STEP_S: i64 = 15;
const HISTORY_S: i64 = 3_900;
const INTERVAL_S: u64 = 5;
const RULES_PER_CLIENT: usize = 10;
const ROUNDS: u64 = 10;
const WARM_UP_ROUNDS: u64 = 3;

/// The rules of one client: (name, expression with `SELECTOR` where the client's matchers go).
const RULES: [(&str, &str); RULES_PER_CLIENT] = [
    (
        "ErrorRatioCritical",
        r#"sum(rate(http_requests_total{SELECTOR,status="500"}[5m])) / sum(rate(http_requests_total{SELECTOR}[5m])) > 0.03"#,
    ),
    (
        "ErrorRatioWarning",
        r#"sum(rate(http_requests_total{SELECTOR,status="500"}[5m])) / sum(rate(http_requests_total{SELECTOR}[5m])) > 0.01"#,
    ),
    (
        "SlowPagesP95",
        r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{SELECTOR}[5m]))) > 1"#,
    ),
    (
        "SlowPagesP99",
        r#"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{SELECTOR}[5m]))) > 2"#,
    ),
    ("ShopDown", r#"up{SELECTOR} == 0"#),
    ("ShopMissing", r#"absent(up{SELECTOR})"#),
    ("QueueLong", r#"queue_length{SELECTOR} > 100"#),
    ("MemoryHigh", r#"process_resident_memory_bytes{SELECTOR} > 1e9"#),
    ("NoTraffic", r#"sum(rate(http_requests_total{SELECTOR}[5m])) == 0"#),
    ("QueueMissing", r#"absent(queue_length{SELECTOR})"#),
];

const BUCKETS: [&str; 4] = ["0.25", "1", "2.5", "+Inf"];

/// The metric names of [`series_of`], each once.
const FAMILIES: [&str; 6] = [
    "up",
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_count",
    "queue_length",
    "process_resident_memory_bytes",
];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn client_slug(i: usize) -> String {
    format!("c{i:04}")
}

/// A series' labels (the client's own left out) and its value at each step.
type Series = (Vec<(&'static str, String)>, Box<dyn Fn(i64) -> f64>);

/// The 10 series of client `i`.
fn series_of(i: usize) -> Vec<Series> {
    let base = |name: &'static str| {
        vec![
            ("__name__", name.to_string()),
            ("job", "shop".into()),
            ("instance", "web-1:8080".into()),
        ]
    };
    let with = |name: &'static str, label: &'static str, value: &str| {
        let mut labels = base(name);
        labels.push((label, value.to_string()));
        labels
    };
    let failing = i.is_multiple_of(10);
    let slow = i % 20 == 5;
    let queued = i % 50 == 7;
    let per_step = |rps: f64| move |step: i64| rps * (STEP_S * step) as f64;
    let errors = if failing { 0.5 } else { 0.01 };
    let (fast, medium, slowish) = if slow { (2.0, 4.0, 9.0) } else { (8.0, 9.5, 9.9) };
    let queue = if queued { 150.0 } else { 10.0 + (i % 7) as f64 };
    let memory = 2e8 + i as f64 * 1000.0;
    vec![
        (base("up"), Box::new(|_| 1.0)),
        (with("http_requests_total", "status", "200"), Box::new(per_step(10.0))),
        (with("http_requests_total", "status", "500"), Box::new(per_step(errors))),
        (
            with("http_request_duration_seconds_bucket", "le", BUCKETS[0]),
            Box::new(per_step(fast)),
        ),
        (
            with("http_request_duration_seconds_bucket", "le", BUCKETS[1]),
            Box::new(per_step(medium)),
        ),
        (
            with("http_request_duration_seconds_bucket", "le", BUCKETS[2]),
            Box::new(per_step(slowish)),
        ),
        (
            with("http_request_duration_seconds_bucket", "le", BUCKETS[3]),
            Box::new(per_step(10.0)),
        ),
        (base("http_request_duration_seconds_count"), Box::new(per_step(10.0))),
        (base("queue_length"), Box::new(move |_| queue)),
        (base("process_resident_memory_bytes"), Box::new(move |_| memory)),
    ]
}

/// The first and the last sample time (seconds) and how many steps.
fn time_range() -> (i64, i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let end = now / STEP_S * STEP_S;
    (end - HISTORY_S, HISTORY_S / STEP_S)
}

fn vitrine_rule_file() -> String {
    let mut out = String::from("groups:\n  - name: shop\n    rules:\n");
    for (name, expr) in RULES {
        let expr = expr.replace("{SELECTOR,", "{").replace("{SELECTOR}", "");
        let _ = write!(
            out,
            "      - alert: {name}\n        expr: '{expr}'\n        for: 30s\n        labels:\n          severity: critical\n"
        );
    }
    out
}

fn prometheus_rule_file(clients: usize) -> String {
    let mut out = String::from("groups:\n");
    for i in 0..clients {
        let slug = client_slug(i);
        let _ = write!(out, "  - name: {slug}\n    rules:\n");
        for (name, expr) in RULES {
            let expr = expr.replace("SELECTOR", &format!("client=\"{slug}\""));
            let _ = write!(
                out,
                "      - alert: {name}\n        expr: '{expr}'\n        for: 30s\n        labels:\n          severity: critical\n"
            );
        }
    }
    out
}

/// Waits until `count()` has grown by `evaluations` from `from`; the CPU seconds and wall
/// seconds it took, and the count reached.
fn measure(pid: u32, evaluations: u64, count: &dyn Fn() -> f64, within: Duration) -> (f64, f64) {
    let start = count();
    let cpu = process_cpu_seconds(pid);
    let began = Instant::now();
    while count() < start + evaluations as f64 {
        assert!(
            began.elapsed() < within,
            "{evaluations} evaluations did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (process_cpu_seconds(pid) - cpu, began.elapsed().as_secs_f64())
}

fn wait_for(count: &dyn Fn() -> f64, at_least: f64, within: Duration, what: &str) {
    let began = Instant::now();
    while count() < at_least {
        assert!(
            began.elapsed() < within,
            "{what}: {} of {at_least} within {within:?}",
            count()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Figures {
    cpu: f64,
    wall: f64,
    missed: f64,
}

async fn set_up_vitrine(binary: &Path, data: &Path, clients: usize) {
    let agency = BenchAgency::start(binary, data).await;
    let rules = vitrine_rule_file();
    let started = Instant::now();
    for i in 0..clients {
        agency.add_client(&client_slug(i), &format!("Client {i}"), &rules).await;
    }
    println!(
        "{clients} clients with {} thresholds made through the forms in {:.0} s",
        thousands((clients * RULES_PER_CLIENT) as u64),
        started.elapsed().as_secs_f64()
    );
    drop(agency);
    // The series, written with the labels a scrape of shop/live gives them; clients are
    // tenants 1…n in the order they were made.
    let db = Db::open(&data.join("tsdb"), Options::default()).expect("opening Vitrine's store");
    let (t0, steps) = time_range();
    for i in 0..clients {
        let tenant = vitrine_tsdb::Tenant::try_from(i + 1).expect("a tenant");
        let series = series_of(i);
        let mut app = db.appender();
        let refs: Vec<_> = series
            .iter()
            .map(|(labels, _)| {
                let mut pairs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (*n, v.as_str())).collect();
                pairs.push(("project", "shop"));
                pairs.push(("environment", "live"));
                app.series(tenant, &Labels::from_pairs(&pairs))
            })
            .collect();
        for step in 0..=steps {
            for (r, (_, value)) in refs.iter().zip(&series) {
                app.add(*r, (t0 + step * STEP_S) * 1000, value(step));
            }
        }
        app.commit().expect("writing the series");
    }
    db.checkpoint().expect("a checkpoint");
}

fn run_vitrine(binary: &Path, clients: usize) -> Figures {
    section("Vitrine");
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("the data directory");
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(set_up_vitrine(binary, &data, clients));
    let server = VitrineServer::serve_data(
        binary,
        &data,
        &[("VITRINE_RULE_EVALUATION_INTERVAL_SECS", &INTERVAL_S.to_string())],
    );
    let evaluations = || {
        server
            .metrics()
            .get("vitrine_rule_evaluations_total")
            .copied()
            .unwrap_or(0.0)
    };
    let per_round = (clients * RULES_PER_CLIENT) as u64;
    wait_for(
        &evaluations,
        (WARM_UP_ROUNDS * per_round) as f64,
        Duration::from_secs(600),
        "Vitrine's warm-up rounds",
    );
    let missed = || {
        server
            .metrics()
            .get("vitrine_rule_group_iterations_missed_total")
            .copied()
            .unwrap_or(0.0)
    };
    let missed_before = missed();
    let (cpu, wall) = measure(server.pid(), ROUNDS * per_round, &evaluations, Duration::from_secs(900));
    // The CLI shares the database with the busy server: it may find it locked for a moment.
    let token = (0..20)
        .find_map(|_| {
            vitrine_cli(
                binary,
                &data,
                &["token", "create", "--client", "c0000", "--name", "bench"],
            )
            .map_err(|_| std::thread::sleep(Duration::from_millis(500)))
            .ok()
        })
        .expect("a token of c0000");
    let token = token.lines().last().unwrap_or_default().trim();
    let (_, body) = http_request(
        server.addr,
        "GET",
        "/api/v1/rules",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
        Duration::from_secs(10),
    )
    .expect("Vitrine's /api/v1/rules");
    println!("client c0000 (a failing one) on Vitrine: {}", rule_states(&body));
    Figures {
        cpu,
        wall,
        missed: (missed() - missed_before) / clients as f64,
    }
}

/// How a client's rules are (from `/api/v1/rules`): by health and by state, as a check that
/// both sides evaluate the same rules on the same data.
fn rule_states(body: &[u8]) -> String {
    let rules: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let mut counts = std::collections::BTreeMap::new();
    for group in rules["data"]["groups"].as_array().into_iter().flatten() {
        for rule in group["rules"].as_array().into_iter().flatten() {
            let key = format!(
                "{} {}",
                rule["health"].as_str().unwrap_or("?"),
                rule["state"].as_str().unwrap_or("?")
            );
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    format!("{counts:?}")
}

fn run_prometheus(clients: usize) -> Figures {
    section("Prometheus");
    let promtool = require_program("promtool");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (t0, steps) = time_range();
    let mut text = String::new();
    // OpenMetrics wants each metric family's series together.
    let all: Vec<_> = (0..clients).map(|i| (i, series_of(i))).collect();
    for name in &FAMILIES {
        let _ = writeln!(text, "# TYPE {name} gauge");
        for (i, series) in &all {
            for (labels, value) in series.iter().filter(|(l, _)| l[0].1 == *name) {
                let mut pairs: Vec<String> = labels[1..].iter().map(|(n, v)| format!("{n}=\"{v}\"")).collect();
                pairs.push(format!("client=\"{}\"", client_slug(*i)));
                let set = pairs.join(",");
                for step in 0..=steps {
                    let _ = writeln!(text, "{name}{{{set}}} {} {}", value(step), t0 + step * STEP_S);
                }
            }
        }
    }
    text.push_str("# EOF\n");
    let input = dir.path().join("series.om");
    std::fs::write(&input, text).expect("writing the OpenMetrics file");
    let data = dir.path().join("data");
    let out = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&data)
        .output()
        .expect("running promtool");
    assert!(
        out.status.success(),
        "promtool tsdb create-blocks-from failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, prometheus_rule_file(clients)).expect("writing the rules");
    let config = format!(
        "global:\n  evaluation_interval: {INTERVAL_S}s\nrule_files:\n  - {}\nscrape_configs: []\n",
        rules.display()
    );
    let prometheus = Prometheus::serve_blocks_with(&data, &config);
    let evaluations = || prometheus.metric("prometheus_rule_evaluations_total");
    let per_round = (clients * RULES_PER_CLIENT) as u64;
    wait_for(
        &evaluations,
        (WARM_UP_ROUNDS * per_round) as f64,
        Duration::from_secs(600),
        "Prometheus' warm-up rounds",
    );
    let missed_before = prometheus.metric("prometheus_rule_group_iterations_missed_total");
    let (cpu, wall) = measure(
        prometheus.pid(),
        ROUNDS * per_round,
        &evaluations,
        Duration::from_secs(900),
    );
    let (_, body) = http_request(
        prometheus.addr,
        "GET",
        "/api/v1/rules",
        &[],
        b"",
        Duration::from_secs(30),
    )
    .expect("Prometheus' rules API");
    let all: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    let first = serde_json::json!({"status": "success", "data": {"groups": [all["data"]["groups"]
        .as_array()
        .and_then(|groups| groups.iter().find(|g| g["name"] == "c0000"))
        .cloned()
        .unwrap_or_default()]}});
    println!(
        "client c0000 (a failing one) on Prometheus: {}",
        rule_states(&serde_json::to_vec(&first).unwrap_or_default())
    );
    Figures {
        cpu,
        wall,
        missed: (prometheus.metric("prometheus_rule_group_iterations_missed_total") - missed_before) / clients as f64,
    }
}

fn main() {
    skip_unless_enabled("rule_evaluation");
    let clients = env_number("VITRINE_BENCH_RULE_CLIENTS", 1000);
    let binary = vitrine_binary();
    println!(
        "{clients} clients × 10 series, {} alerting rules, evaluated every {INTERVAL_S} s; CPU over {ROUNDS} rounds after {WARM_UP_ROUNDS}",
        thousands((clients * RULES_PER_CLIENT) as u64)
    );
    let vitrine = run_vitrine(&binary, clients);
    let prometheus = run_prometheus(clients);
    section("Rule evaluation");
    println!(
        "{:<12} {:>14} {:>12} {:>16}",
        "", "CPU s/10 rounds", "wall s", "missed rounds"
    );
    for (name, f) in [("Vitrine", &vitrine), ("Prometheus", &prometheus)] {
        println!("{name:<12} {:>14.2} {:>12.1} {:>16.1}", f.cpu, f.wall, f.missed);
    }
    let ratio = vitrine.cpu / prometheus.cpu;
    println!(
        "Vitrine / Prometheus CPU: {ratio:.2} (goal ≤ 0.5: {})",
        if ratio <= 0.5 { "met" } else { "not met" }
    );
}
