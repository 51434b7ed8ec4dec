//! The public status page under load, against Debian's nginx serving the same bytes as a
//! static file:
//!
//! 1. `vitrine serve --demo` (the release binary if built, else the debug one) seeds
//!    ACME's published page `/status/acme` (3 components, 90 days of history). The server
//!    is stopped (SIGTERM) and 17 more components are written into its SQLite database
//!    with the `sqlite3` CLI, each with a source copied from an existing one and its own
//!    90 days of state changes (outages, degradations and maintenance of different
//!    lengths, so the bars differ); then it is started again on the same data: 20
//!    components × 90 days.
//! 2. The page's size: uncompressed and gzip (goal ≤ 30 KB gzip).
//! 3. The exact gzip bytes Vitrine sends are given to nginx (`/usr/sbin/nginx`, its own
//!    configuration in a temporary directory, 2 workers) to serve as a static file with
//!    `Content-Encoding: gzip`; both must answer 200 with the same body.
//! 4. `wrk -t2 -c50 -d10s -H 'Accept-Encoding: gzip'` against Vitrine, then against nginx
//!    (after a 2 s warm-up each, one server at a time); requests per second of each and
//!    the ratio (goal ≥ 0.8, must be ≥ 0.5). wrk runs on the same cores as the server.
//! 5. The rebuild after a state change: signed in as the demo's agency owner, a
//!    component's state is set by hand (degraded performance, then back to derived);
//!    after each change the first GET of the page (the cached page is stale: it is
//!    rebuilt) is timed against the second (from the cache).
//!
//! `cargo build --release -p vitrine`, then
//! `VITRINE_BENCH=1 cargo bench -p vitrine-tests --bench status_page`
//! (needs Debian's wrk, nginx and sqlite3 packages; `VITRINE_BIN` points at another
//! binary; `VITRINE_BENCH_STATUS_SECS` (10) is the duration of each wrk run).

mod common;

use common::{
    HttpAnswer, Nginx, Rng, VitrineServer, free_port, http_exchange, human_bytes, process_and_children_cpu_seconds,
    process_cpu_seconds, program_version, section, skip_unless_enabled, thousands, vitrine_binary_any,
};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PAGE: &str = "/status/acme";
const CLIENT: &str = "acme";
/// Components on the page once it is grown.
const COMPONENTS: usize = 20;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;
const SEED: u64 = 0x5747_0500_0000_0001;
/// wrk's threads and connections.
const WRK_THREADS: usize = 2;
const WRK_CONNECTIONS: usize = 50;
const WARM_UP_SECS: u64 = 2;
/// nginx' worker processes (one per core of the machine this was written for).
const NGINX_WORKERS: usize = 2;
/// State changes timed in part 5 (each: set by hand, then cleared).
const REBUILD_ROUNDS: usize = 5;
/// Goals.
const GOAL_GZIP_BYTES: usize = 30_000;
const GOAL_RATIO: f64 = 0.8;
const FLOOR_RATIO: f64 = 0.5;

const GZIP: (&str, &str) = ("Accept-Encoding", "gzip");
const TIMEOUT: Duration = Duration::from_secs(60);

fn main() {
    skip_unless_enabled("status_page");
    let wrk = program("wrk", "wrk");
    let sqlite3 = program("sqlite3", "sqlite3");
    let (binary, profile) = vitrine_binary_any();
    let secs: u64 = match std::env::var("VITRINE_BENCH_STATUS_SECS") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("VITRINE_BENCH_STATUS_SECS={v} is not a number of seconds")),
        Err(_) => 10,
    };
    let cores = thread::available_parallelism().map_or(0, |n| n.get());

    section("status_page: setup");
    println!("vitrine: {} ({profile} build)", binary.display());
    if profile == "debug" {
        println!(
            "  NOTE: no release build at target/release/vitrine: these are the debug build's figures, \
             not the product's (build with `cargo build --release -p vitrine`)"
        );
    }
    println!("version: {}", program_version(&binary));
    println!("machine: {cores} CPU cores (wrk and the server under test share them)");

    // 1. The demo, grown to 20 components.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let env = [("VITRINE_LISTEN", listen.as_str()), ("VITRINE_SECURE_COOKIES", "false")];
    let mut server = VitrineServer::start_demo_with_env(&binary, &env);
    let addr = server.addr;
    let seeded = wait_for_page(addr, Duration::from_secs(60));
    println!(
        "`vitrine serve --demo` on http://{addr}: {PAGE} answers 200 with {} components",
        component_ids(&seeded).len()
    );
    match server.stop(Duration::from_secs(60)) {
        Some(took) => println!("stopped with SIGTERM in {:.1} s", took.as_secs_f64()),
        None => println!("did not stop within 60 s of SIGTERM: killed"),
    }
    let database = server.database();
    let grown = grow_page(&sqlite3, &database, now_ms());
    println!(
        "{}: added {} components (now {}), {} state changes in all over 90 days ({} incidents on the new ones)",
        database.display(),
        grown.added,
        grown.components,
        thousands(grown.states as u64),
        grown.incidents
    );
    let started = Instant::now();
    server.start_again(&["serve", "--demo"], &env);
    // Ready, and nothing has asked for the page yet: the first GET builds it.
    let ready = started.elapsed();
    let (cold, _) = timed_get(addr, &[GZIP]);
    println!(
        "started again on the same data: ready after {:.1} s; the first GET of {PAGE} (builds it) {cold:.2} ms",
        ready.as_secs_f64()
    );
    let html = get(addr, PAGE, &[]);
    let ids = component_ids(&String::from_utf8_lossy(&html.body));
    assert_eq!(
        ids.len(),
        COMPONENTS,
        "the page shows {} components, not {COMPONENTS}",
        ids.len()
    );

    // 2. Size.
    section("status_page: size of /status/acme (20 components × 90 days)");
    assert!(
        html.header("content-encoding").is_none(),
        "the page came compressed without Accept-Encoding"
    );
    let gz = get(addr, PAGE, &[GZIP]);
    assert_eq!(
        gz.header("content-encoding"),
        Some("gzip"),
        "no `Content-Encoding: gzip` for `Accept-Encoding: gzip`"
    );
    println!(
        "uncompressed:  {:>9} bytes ({})",
        thousands(html.body.len() as u64),
        human_bytes(html.body.len() as f64)
    );
    println!(
        "gzip:          {:>9} bytes ({}, {:.1} % of uncompressed) — goal ≤ 30 KB ({} bytes) gzip: {}",
        thousands(gz.body.len() as u64),
        human_bytes(gz.body.len() as f64),
        100.0 * gz.body.len() as f64 / html.body.len() as f64,
        thousands(GOAL_GZIP_BYTES as u64),
        verdict(gz.body.len() <= GOAL_GZIP_BYTES)
    );
    println!("response headers: about {} bytes", thousands(header_bytes(&gz) as u64));

    // 3. nginx serving the same bytes.
    section("status_page: nginx serving the same bytes");
    let nginx = Nginx::serve_gzipped(PAGE, &gz.body, "text/html; charset=utf-8", NGINX_WORKERS);
    println!(
        "{} ({}), master + {NGINX_WORKERS} worker processes (this machine has {cores} cores), on http://{}",
        Nginx::PROGRAM,
        nginx.version,
        nginx.addr
    );
    println!("its configuration:");
    for line in nginx.config().lines() {
        println!("    {line}");
    }
    let from_nginx = get(nginx.addr, PAGE, &[GZIP]);
    assert_eq!(
        from_nginx.header("content-encoding"),
        Some("gzip"),
        "nginx sent no `Content-Encoding: gzip`"
    );
    let vitrine_now = get(addr, PAGE, &[GZIP]);
    assert_eq!(
        from_nginx.body.len(),
        vitrine_now.body.len(),
        "nginx and Vitrine send bodies of different lengths"
    );
    println!(
        "both answer 200 with Content-Encoding: gzip and the same {}-byte body ({}); headers: vitrine about {} bytes, \
         nginx about {} bytes",
        thousands(from_nginx.body.len() as u64),
        if from_nginx.body == vitrine_now.body {
            "identical bytes"
        } else {
            "same length, bytes differ: the page was rebuilt since"
        },
        thousands(header_bytes(&vitrine_now) as u64),
        thousands(header_bytes(&from_nginx) as u64)
    );

    // 4. Throughput.
    section("status_page: throughput with wrk");
    println!(
        "{} -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{secs}s --latency -H 'Accept-Encoding: gzip' URL \
         ({}; after a {WARM_UP_SECS} s warm-up; one server at a time; wrk runs on the same {cores} cores)",
        wrk.display(),
        wrk_version(&wrk)
    );
    let vitrine_url = format!("http://{addr}{PAGE}");
    let nginx_url = format!("http://{}{PAGE}", nginx.addr);
    run_wrk(&wrk, &vitrine_url, WARM_UP_SECS);
    let vitrine_pid = server.pid();
    let cpu = process_cpu_seconds(vitrine_pid);
    let vitrine_run = run_wrk(&wrk, &vitrine_url, secs);
    let vitrine_cpu = process_cpu_seconds(vitrine_pid) - cpu;
    run_wrk(&wrk, &nginx_url, WARM_UP_SECS);
    let cpu = process_and_children_cpu_seconds(nginx.pid());
    let nginx_run = run_wrk(&wrk, &nginx_url, secs);
    let nginx_cpu = process_and_children_cpu_seconds(nginx.pid()) - cpu;
    vitrine_run.print("vitrine", vitrine_cpu);
    nginx_run.print("nginx", nginx_cpu);
    let ratio = vitrine_run.requests_per_s / nginx_run.requests_per_s;
    println!(
        "ratio vitrine/nginx: {ratio:.2} — goal ≥ {GOAL_RATIO} (must ≥ {FLOOR_RATIO}): {}",
        ratio_verdict(ratio)
    );
    drop(nginx);

    // 5. Rebuild after a state change.
    section("status_page: rebuilding the page after a state change");
    let component = ids[0];
    let rebuild = time_rebuilds(addr, component);
    let (mut uncached, mut cached): (Vec<f64>, Vec<f64>) = rebuild.iter().copied().unzip();
    println!(
        "signed in as the demo's agency owner; POST /clients/{CLIENT}/status/components/{component}/override \
         with state=degraded_performance, then state= (back to derived), {REBUILD_ROUNDS} times; 1 s after each \
         change (the state is derived and written), two GETs of {PAGE} with Accept-Encoding: gzip"
    );
    for (i, (first, second)) in rebuild.iter().enumerate() {
        println!(
            "  change {:>2} ({:<20}): first GET (rebuilt) {first:>8.2} ms, second GET (cached) {second:>6.2} ms",
            i + 1,
            if i % 2 == 0 { "degraded_performance" } else { "cleared" }
        );
    }
    let uncached_median = median(&mut uncached);
    let cached_median = median(&mut cached);
    println!(
        "first GET after a change (rebuild): median {uncached_median:.2} ms, max {:.2} ms over {} changes",
        uncached.last().copied().unwrap_or(0.0),
        uncached.len()
    );
    println!(
        "second GET (from the cache):        median {cached_median:.2} ms, max {:.2} ms",
        cached.last().copied().unwrap_or(0.0)
    );
    println!("first GET after the restart (cold start, includes the first build): {cold:.2} ms");

    section("status_page: summary");
    println!("binary: {profile} build; {cores} cores; wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{secs}s");
    println!(
        "page: {COMPONENTS} components × 90 days, {} bytes uncompressed, {} bytes gzip (goal ≤ 30 KB gzip: {})",
        thousands(html.body.len() as u64),
        thousands(gz.body.len() as u64),
        verdict(gz.body.len() <= GOAL_GZIP_BYTES)
    );
    println!(
        "requests/s: vitrine {:.0}, nginx {:.0}, ratio {ratio:.2} (goal ≥ {GOAL_RATIO}, must ≥ {FLOOR_RATIO}: {})",
        vitrine_run.requests_per_s,
        nginx_run.requests_per_s,
        ratio_verdict(ratio)
    );
    println!("rebuild after a state change: {uncached_median:.2} ms (median), cached: {cached_median:.2} ms (median)");
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A program from `PATH`; panics naming the Debian package when it is missing.
fn program(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not in PATH: install Debian's package with `apt-get update && apt-get install -y {package}`")
        })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis() as i64
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn ratio_verdict(ratio: f64) -> &'static str {
    if ratio >= GOAL_RATIO {
        "met"
    } else if ratio >= FLOOR_RATIO {
        "goal NOT met, floor met"
    } else {
        "NOT met (below the floor)"
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// A GET of `path`; panics unless it answers 200.
fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpAnswer {
    let answer = http_exchange(addr, "GET", path, headers, &[], TIMEOUT)
        .unwrap_or_else(|e| panic!("GET http://{addr}{path}: {e}"));
    assert_eq!(
        answer.status,
        200,
        "GET http://{addr}{path} answered {}: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    answer
}

/// A GET of the page, timed (ms, from connecting to the last byte).
fn timed_get(addr: SocketAddr, headers: &[(&str, &str)]) -> (f64, HttpAnswer) {
    let started = Instant::now();
    let answer = get(addr, PAGE, headers);
    (started.elapsed().as_secs_f64() * 1000.0, answer)
}

/// Waits until the page answers 200; its HTML.
fn wait_for_page(addr: SocketAddr, within: Duration) -> String {
    let started = Instant::now();
    loop {
        match http_exchange(addr, "GET", PAGE, &[], &[], TIMEOUT) {
            Ok(answer) if answer.status == 200 => return String::from_utf8_lossy(&answer.body).into_owned(),
            _ if started.elapsed() > within => panic!("{PAGE} did not answer 200 within {within:?}"),
            _ => thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// About how many bytes the status line and headers take.
fn header_bytes(answer: &HttpAnswer) -> usize {
    "HTTP/1.1 200 OK\r\n\r\n".len() + answer.headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>()
}

/// The ids of the components on the public page, in page order (`<article id="component-N"
/// class="component">`, the attributes in any order).
fn component_ids(html: &str) -> Vec<i64> {
    html.split("<article ")
        .skip(1)
        .filter_map(|rest| {
            let tag = rest.split('>').next()?;
            if !tag.contains("class=\"component\"") {
                return None;
            }
            let at = tag.find("id=\"component-")? + "id=\"component-".len();
            tag[at..].split('"').next()?.parse().ok()
        })
        .collect()
}

/// The state class (`st-ok`, `st-degraded`, …) the page shows for a component.
fn shown_state(html: &str, id: i64) -> Option<String> {
    let at = html.find(&format!("id=\"component-{id}\""))?;
    let rest = &html[at..];
    let start = rest.find("class=\"state ")? + "class=\"state ".len();
    Some(rest[start..].split('"').next()?.to_string())
}

// ---------------------------------------------------------------------------
// 1. Growing the page in the database
// ---------------------------------------------------------------------------

struct Grown {
    added: usize,
    components: usize,
    states: usize,
    incidents: usize,
}

/// The components added to the demo's three: (group, name, description).
const MORE: [(&str, &str, &str); 17] = [
    ("Online shop", "Search", "Finding products"),
    ("Online shop", "Product images", "Pictures and zoom"),
    ("Online shop", "Customer accounts", "Signing in and order history"),
    ("Online shop", "Reviews", "Reading and writing reviews"),
    ("Online shop", "Recommendations", "Products you may like"),
    ("Online shop", "Gift cards", "Buying and redeeming gift cards"),
    ("Payments", "Card payments", "Visa, Mastercard, American Express"),
    ("Payments", "PayPal", "Paying with PayPal"),
    ("Payments", "Invoices", "Paying by invoice"),
    ("Order API", "Orders", "Creating and reading orders"),
    ("Order API", "Webhooks", "Order events sent to partners"),
    ("Order API", "Inventory sync", "Stock levels from the warehouse"),
    ("Delivery", "Shipping rates", "Prices and delivery dates"),
    ("Delivery", "Parcel tracking", "Where the parcel is"),
    ("Delivery", "Store locator", "Shops near you"),
    ("", "Newsletter", "Signing up and the weekly mail"),
    ("", "Back office", "The shop team's administration"),
];

/// A quoted SQL text literal.
fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Runs SQL through the `sqlite3` CLI (stopping at the first error); its output rows.
fn sqlite(sqlite3: &Path, database: &Path, sql: &str) -> Vec<Vec<String>> {
    let mut child = Command::new(sqlite3)
        .args(["-batch", "-bail", "-noheader", "-separator", "|"])
        .arg(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", sqlite3.display()));
    child
        .stdin
        .take()
        .expect("sqlite3's input")
        .write_all(sql.as_bytes())
        .expect("writing to sqlite3");
    let out = child.wait_with_output().expect("waiting for sqlite3");
    assert!(
        out.status.success(),
        "sqlite3 failed ({}): {}\n--- the SQL (start)\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        &sql[..sql.len().min(2000)]
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

fn one_row(rows: Vec<Vec<String>>, what: &str) -> Vec<String> {
    rows.into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {what} in the database"))
}

/// 90 days of state changes of one component, oldest first, ending operational: created
/// operational 91 days ago, then 1 to 5 incidents on different days, from 5 minutes to 8
/// hours long (now and then a day or more), some escalating.
fn history(rng: &mut Rng, now: i64) -> (Vec<(i64, &'static str)>, usize) {
    let incidents = 1 + rng.below(5) as usize;
    let mut days: Vec<i64> = Vec::new();
    while days.len() < incidents {
        let day = 1 + rng.below(89) as i64;
        if !days.contains(&day) {
            days.push(day);
        }
    }
    // Oldest first: most days ago first.
    days.sort_unstable_by(|a, b| b.cmp(a));
    let starts: Vec<i64> = days
        .iter()
        .map(|day| now - day * DAY_MS + rng.below(DAY_MS as u64) as i64)
        .collect();
    let mut rows = vec![(now - 91 * DAY_MS, "operational")];
    for (i, &start) in starts.iter().enumerate() {
        let long = rng.f64() < 0.1;
        let length = if long {
            12 * HOUR_MS + rng.below(24 * HOUR_MS as u64) as i64
        } else {
            // Log-uniform between 5 minutes and 8 hours.
            let (low, high) = ((5 * MINUTE_MS) as f64, (8 * HOUR_MS) as f64);
            (low.ln() + rng.f64() * (high.ln() - low.ln())).exp() as i64
        };
        let limit = starts.get(i + 1).copied().unwrap_or(now - HOUR_MS) - MINUTE_MS;
        let end = (start + length).min(limit).max(start + MINUTE_MS);
        let pick = rng.f64();
        let state = match pick {
            p if p < 0.40 => "degraded_performance",
            p if p < 0.65 => "partial_outage",
            p if p < 0.85 => "major_outage",
            _ => "under_maintenance",
        };
        rows.push((start, state));
        if state == "degraded_performance" && rng.f64() < 0.3 {
            // It got worse before it got better.
            rows.push((start + (end - start) / 3, "major_outage"));
        }
        rows.push((end, "operational"));
    }
    (rows, incidents)
}

/// Adds components up to [`COMPONENTS`] to ACME's page, each with a source copied from an
/// existing one and 90 days of history. The server must be stopped.
fn grow_page(sqlite3: &Path, database: &Path, now: i64) -> Grown {
    let place = one_row(
        sqlite(
            sqlite3,
            database,
            &format!(
                "SELECT c.agency_id, c.client_id, (SELECT COUNT(*) FROM components WHERE client_id = c.client_id),
                        (SELECT MAX(position) FROM components WHERE client_id = c.client_id)
                 FROM components c JOIN clients k ON k.id = c.client_id WHERE k.slug = {} ORDER BY c.id LIMIT 1;",
                sql_text(CLIENT)
            ),
        ),
        "component of acme",
    );
    let (agency, client) = (&place[0], &place[1]);
    let existing: usize = place[2].parse().expect("a count");
    let mut position: i64 = place[3].parse().expect("a position");
    let sources = sqlite(
        sqlite3,
        database,
        &format!(
            "SELECT kind, source_id, impact, failures FROM component_sources WHERE client_id = {client} ORDER BY id;"
        ),
    );
    assert!(!sources.is_empty(), "the demo's components have no sources to copy");
    let wanted = COMPONENTS.saturating_sub(existing);
    assert!(wanted <= MORE.len(), "more components wanted than named");
    let made = now - 91 * DAY_MS;
    let mut sql = String::from("PRAGMA foreign_keys = ON;\nBEGIN IMMEDIATE;\n");
    let mut incidents = 0;
    for (i, (group, name, description)) in MORE.iter().take(wanted).enumerate() {
        position += 1;
        let _ = writeln!(
            sql,
            "INSERT INTO components (agency_id, client_id, group_name, name, description, position, created_ms, updated_ms) \
             VALUES ({agency}, {client}, {}, {}, {}, {position}, {made}, {made});",
            sql_text(group),
            sql_text(name),
            sql_text(description)
        );
        let id = format!(
            "(SELECT id FROM components WHERE client_id = {client} AND name = {})",
            sql_text(name)
        );
        let source = &sources[i % sources.len()];
        let _ = writeln!(
            sql,
            "INSERT INTO component_sources (agency_id, client_id, component_id, kind, source_id, impact, failures) \
             VALUES ({agency}, {client}, {id}, {}, {}, {}, {});",
            sql_text(&source[0]),
            source[1],
            sql_text(&source[2]),
            source[3]
        );
        let mut rng = Rng::new(SEED ^ i as u64);
        let (rows, count) = history(&mut rng, now);
        incidents += count;
        // In time order: the page reads a component's changes by row id.
        for (at_ms, state) in rows {
            let _ = writeln!(
                sql,
                "INSERT INTO component_states (client_id, component_id, state, at_ms) VALUES ({client}, {id}, {}, {at_ms});",
                sql_text(state)
            );
        }
    }
    sql.push_str("COMMIT;\n");
    sqlite(sqlite3, database, &sql);
    let counts = one_row(
        sqlite(
            sqlite3,
            database,
            &format!(
                "SELECT (SELECT COUNT(*) FROM components WHERE client_id = {client}),
                        (SELECT COUNT(*) FROM component_states WHERE client_id = {client});"
            ),
        ),
        "counts",
    );
    Grown {
        added: wanted,
        components: counts[0].parse().expect("a count"),
        states: counts[1].parse().expect("a count"),
        incidents,
    }
}

// ---------------------------------------------------------------------------
// 4. wrk
// ---------------------------------------------------------------------------

struct WrkRun {
    seconds: f64,
    requests_per_s: f64,
    transfer: String,
    latency: String,
    percentiles: String,
    problems: Vec<String>,
}

impl WrkRun {
    fn print(&self, name: &str, cpu_s: f64) {
        let requests = self.requests_per_s * self.seconds;
        println!(
            "{name:<8} Requests/sec: {:>10.2}   Transfer/sec: {:>9}   latency avg/stdev/max: {}   {}",
            self.requests_per_s, self.transfer, self.latency, self.percentiles
        );
        if requests > 0.0 {
            println!(
                "{:<8} server CPU {cpu_s:.2} s over the run = {:.1} µs per request",
                "",
                cpu_s * 1e6 / requests
            );
        }
        for problem in &self.problems {
            println!("{:<8} WARNING: {problem}", "");
        }
    }
}

fn wrk_version(wrk: &Path) -> String {
    // `wrk -v` prints its version and the usage, and exits with 1.
    let out = Command::new(wrk).arg("-v").output();
    out.map(|o| {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let first = text.lines().next().unwrap_or("").trim();
        first.split(" Copyright").next().unwrap_or(first).to_string()
    })
    .unwrap_or_else(|_| "wrk".into())
}

fn run_wrk(wrk: &Path, url: &str, secs: u64) -> WrkRun {
    let out = Command::new(wrk)
        .arg(format!("-t{WRK_THREADS}"))
        .arg(format!("-c{WRK_CONNECTIONS}"))
        .arg(format!("-d{secs}s"))
        .arg("--latency")
        .args(["-H", "Accept-Encoding: gzip"])
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", wrk.display()));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wrk failed ({}): {text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let after = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|rest| rest.trim().to_string())
    };
    let requests_per_s = after("Requests/sec:")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no `Requests/sec:` in wrk's output:\n{text}"));
    let latency = after("Latency")
        .map(|v| v.split_whitespace().take(3).collect::<Vec<_>>().join(" / "))
        .unwrap_or_default();
    let percentiles = ["50%", "99%"]
        .iter()
        .filter_map(|p| after(p).map(|v| format!("p{} {v}", p.trim_end_matches('%'))))
        .collect::<Vec<_>>()
        .join(", ");
    let problems = ["Non-2xx or 3xx responses:", "Socket errors:"]
        .iter()
        .filter_map(|label| after(label).map(|v| format!("{label} {v}")))
        .collect();
    WrkRun {
        seconds: secs as f64,
        requests_per_s,
        transfer: after("Transfer/sec:").unwrap_or_default(),
        latency,
        percentiles,
        problems,
    }
}

// ---------------------------------------------------------------------------
// 5. Rebuild after a state change
// ---------------------------------------------------------------------------

/// The CSRF token of a signed-in page: a form's hidden field, else the head's meta.
fn csrf_of(html: &str) -> Option<String> {
    const FIELD: &str = "name=\"csrf\" value=\"";
    html.find(FIELD)
        .and_then(|at| html[at + FIELD.len()..].split('"').next())
        .map(str::to_string)
        .or_else(|| vitrine_tests::meta_content(html, "csrf-token"))
}

/// Per change of the component's state: (first GET, second GET) in ms.
fn time_rebuilds(addr: SocketAddr, component: i64) -> Vec<(f64, f64)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let owner = vitrine_tests::Client::new(&format!("http://{addr}"));
    let settings = format!("/clients/{CLIENT}/status");
    let csrf = runtime.block_on(async {
        let (email, password) = vitrine_tests::OWNER;
        let login = owner.login(email, password).await;
        assert_eq!(login.status, 303, "signing in as {email} failed: {}", login.summary());
        let page = owner.get(&settings).await;
        assert_eq!(page.status, 200, "{settings} answered {}", page.status);
        csrf_of(&page.body).unwrap_or_else(|| panic!("no CSRF token on {settings}"))
    });
    let path = format!("/clients/{CLIENT}/status/components/{component}/override");
    let mut times = Vec::new();
    for _ in 0..REBUILD_ROUNDS {
        for (state, class) in [("degraded_performance", "st-degraded"), ("", "st-ok")] {
            let answer = runtime.block_on(owner.post_form(&path, &[("csrf", csrf.as_str()), ("state", state)]));
            assert_eq!(
                answer.status,
                303,
                "POST {path} state={state} answered {}: {}",
                answer.status,
                answer.summary()
            );
            // The board derives the new state and writes it within milliseconds of the
            // change; that bumps the page's version once more. Wait for it, so that the
            // first GET below is the one rebuild and the second is served from the cache.
            thread::sleep(Duration::from_secs(1));
            let (first, _) = timed_get(addr, &[GZIP]);
            let (second, _) = timed_get(addr, &[GZIP]);
            times.push((first, second));
            let html = get(addr, PAGE, &[]);
            let shown = shown_state(&String::from_utf8_lossy(&html.body), component);
            if shown.as_deref() != Some(class) {
                println!(
                    "  WARNING: after state={state:?} the page shows {shown:?} for component {component}, not {class}"
                );
            }
        }
    }
    times
}
