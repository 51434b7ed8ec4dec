//! Bytes per sample on disk, Vitrine against Prometheus and VictoriaMetrics,
//! on the same data: a live node exporter scraped a few thousand times plus an
//! application's series, written as one OpenMetrics file with timestamps 15 s
//! apart, then backfilled into Prometheus with `promtool tsdb
//! create-blocks-from openmetrics`, into VictoriaMetrics 1.79 through
//! `/api/v1/import/prometheus` (the same samples as Prometheus text with
//! millisecond timestamps; then `/internal/force_flush` and
//! `/internal/force_merge`, and the data directory is measured once merges
//! have settled), and into Vitrine with `vitrine import openmetrics` +
//! `vitrine tsdb compact`.
//!
//! `VITRINE_BENCH=1 cargo bench -p vitrine-tests --bench storage_size`
//! (needs `cargo build --release -p vitrine` first, and Debian's prometheus,
//! prometheus-node-exporter and victoria-metrics packages).

mod common;

use common::{
    AppSim, INSTALL_HINT, NodeExporter, OpenMetricsBuilder, SampleDigest, VictoriaMetrics, file_bytes, human_bytes,
    labels_hash, program_version, require_program, section, skip_unless_enabled, thousands, url_encode, vitrine_binary,
};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use vitrine_tsdb::{Db, MatchOp, Matcher, Options};

/// Scrapes of the node exporter (and steps of the application).
const SCRAPES: u32 = 2_000;
const STEP_S: i64 = 15;
/// promtool's block span for `--max-block-duration=48h`, and Vitrine's largest block span.
const PROMETHEUS_BLOCK_S: i64 = 18 * 3600;
const VITRINE_BLOCK_S: i64 = 31 * 86_400;
/// The projection: 20 projects × 500 series × 90 days at one sample per 15 s.
const PROJECTION_SAMPLES: f64 = 20.0 * 500.0 * 90.0 * 86_400.0 / 15.0;

fn main() {
    skip_unless_enabled("storage_size");
    let promtool = require_program("promtool");
    require_program("prometheus-node-exporter");
    VictoriaMetrics::program();
    let vitrine = vitrine_binary();
    let work = tempfile::tempdir().expect("temporary directory");
    let work_dir = work.path().to_path_buf();
    // With VITRINE_BENCH_KEEP=1 the OpenMetrics file and both stores stay for a look.
    let _cleanup = if std::env::var("VITRINE_BENCH_KEEP").as_deref() == Ok("1") {
        println!("keeping the files in {}", work.keep().display());
        None
    } else {
        Some(work)
    };

    section("Data");
    let exporter = NodeExporter::start();
    println!("node exporter: {} on {}", exporter.version, exporter.addr);
    let mut builder = OpenMetricsBuilder::default();
    let mut app = AppSim::new(0x5eed);
    let started = Instant::now();
    let mut node_samples = 0;
    for i in 0..SCRAPES {
        let page = exporter.scrape();
        let before = builder.samples;
        builder.add_page(i, &page, &[("instance", "localhost:9100"), ("job", "node")]);
        node_samples += builder.samples - before;
        app.step();
        builder.add_page(i, &app.page(), &[("instance", "app-1:8080"), ("job", "app")]);
    }
    println!(
        "{SCRAPES} scrapes in {:.1} s; {} node exporter samples, {} application samples",
        started.elapsed().as_secs_f64(),
        thousands(node_samples),
        thousands(builder.samples - node_samples)
    );
    let errors = exporter.error_lines();
    if !errors.is_empty() {
        println!(
            "node exporter logged {} error lines, the first: {}",
            errors.len(),
            errors[0]
        );
    }
    drop(exporter);
    let samples = builder.samples;
    let series = builder.series();
    println!(
        "{} samples in {} series ({} of them never changed)",
        thousands(samples),
        thousands(series),
        thousands(builder.constant_series())
    );
    let t0 = first_timestamp_s();
    let file = work_dir.join("data.om.txt");
    {
        let mut out =
            BufWriter::with_capacity(1 << 20, fs::File::create(&file).expect("creating the OpenMetrics file"));
        builder
            .write(&mut out, t0, STEP_S)
            .expect("writing the OpenMetrics file");
        out.flush().expect("writing the OpenMetrics file");
    }
    let expected = builder.digest(t0, STEP_S);
    assert_eq!(expected.samples, samples);
    let text_file = work_dir.join("data.prom.txt");
    {
        let mut out = BufWriter::with_capacity(
            1 << 20,
            fs::File::create(&text_file).expect("creating the Prometheus text file"),
        );
        builder
            .write_prometheus_text(&mut out, t0, STEP_S)
            .expect("writing the Prometheus text file");
        out.flush().expect("writing the Prometheus text file");
    }
    drop(builder);
    let file_len = fs::metadata(&file).expect("OpenMetrics file").len();
    println!(
        "OpenMetrics file: {} ({:.1} bytes per sample), timestamps from {t0} s every {STEP_S} s",
        human_bytes(file_len as f64),
        file_len as f64 / samples as f64
    );

    section("Prometheus");
    println!("promtool: {}", program_version(&promtool));
    let blocks = work_dir.join("prometheus");
    let started = Instant::now();
    let out = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=48h"])
        .arg(&file)
        .arg(&blocks)
        .output()
        .unwrap_or_else(|e| panic!("running promtool: {e}; {INSTALL_HINT}"));
    check(&out, "promtool tsdb create-blocks-from openmetrics", "");
    println!("promtool took {:.1} s", started.elapsed().as_secs_f64());
    let (stored_samples, stored_series, block_count) = prometheus_block_stats(&blocks);
    println!(
        "{block_count} block(s), {} samples, {} series",
        thousands(stored_samples),
        thousands(stored_series)
    );
    assert_eq!(
        stored_samples, samples,
        "promtool stored a different number of samples than the file holds"
    );
    let (prometheus_bytes, _) = file_bytes(&blocks, &|_| true);
    let prometheus_per_sample = prometheus_bytes as f64 / samples as f64;
    let (chunk_bytes, _) = file_bytes(&blocks, &|p| p.parent().is_some_and(|d| d.ends_with("chunks")));
    let (index_bytes, _) = file_bytes(&blocks, &|p| p.ends_with("index"));
    println!(
        "on disk: {} = {prometheus_per_sample:.3} bytes per sample (chunks {}, index {})",
        human_bytes(prometheus_bytes as f64),
        human_bytes(chunk_bytes as f64),
        human_bytes(index_bytes as f64)
    );

    let (vm_bytes, vm_version) = victoria_metrics(&text_file, samples, series, t0);
    let vm_per_sample = vm_bytes as f64 / samples as f64;

    section("Vitrine");
    println!("binary: {}", vitrine.display());
    let data = work_dir.join("vitrine");
    let steps: [(&str, Vec<String>); 5] = [
        ("migrate", vec!["migrate".into()]),
        ("agency", words("agency create --slug bench --name Bench")),
        (
            "client",
            words("client create --agency bench --slug bench --name Bench"),
        ),
        (
            "import",
            vec![
                "import".into(),
                "openmetrics".into(),
                file.display().to_string(),
                "--client".into(),
                "bench".into(),
            ],
        ),
        ("compact", words("tsdb compact")),
    ];
    for (step, args) in &steps {
        let started = Instant::now();
        let out = run_vitrine(&vitrine, &data, args);
        let hint = match *step {
            "import" | "compact" => {
                "\n(this needs `vitrine import openmetrics` and `vitrine tsdb compact`: is the binary current? \
                 rebuild it with `cargo build --release -p vitrine`)"
            }
            _ => "",
        };
        check(&out, &format!("vitrine {}", args.join(" ")), hint);
        let seconds = started.elapsed().as_secs_f64();
        if *step == "import" || *step == "compact" {
            println!("vitrine {} took {seconds:.1} s", args[..2].join(" "));
            let stdout = String::from_utf8_lossy(&out.stdout);
            for line in stdout.lines() {
                println!("  | {line}");
            }
            // "imported N samples …": all of them, or bytes per sample would be wrong.
            if let Some(imported) = stdout
                .split_whitespace()
                .skip_while(|w| *w != "imported")
                .nth(1)
                .and_then(|n| n.replace(',', "").parse::<u64>().ok())
            {
                assert_eq!(
                    imported, samples,
                    "vitrine imported a different number of samples than the file holds"
                );
            }
        }
    }
    let stats = run_vitrine(&vitrine, &data, &words("tsdb stats"));
    if stats.status.success() {
        println!("vitrine tsdb stats:");
        for line in String::from_utf8_lossy(&stats.stdout).lines() {
            println!("  | {line}");
        }
    } else {
        println!(
            "(vitrine tsdb stats failed: {})",
            String::from_utf8_lossy(&stats.stderr).trim()
        );
    }
    let is_store = |path: &Path| {
        !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("vitrine.db"))
    };
    let (vitrine_bytes, parts) = file_bytes(&data, &is_store);
    let vitrine_per_sample = vitrine_bytes as f64 / samples as f64;
    println!(
        "on disk (every file but vitrine.db*): {} = {vitrine_per_sample:.3} bytes per sample",
        human_bytes(vitrine_bytes as f64)
    );
    for (name, bytes) in parts.iter().filter(|(_, b)| *b > 0) {
        println!("  {name}: {}", human_bytes(*bytes as f64));
    }

    verify_vitrine(&data, expected);

    section("storage_size: bytes per sample on disk");
    println!(
        "{} samples, {} series, {SCRAPES} scrapes 15 s apart (node exporter + application)",
        thousands(samples),
        thousands(series)
    );
    println!(
        "{:<36}{:>14}{:>17}{:>14}{:>12}{:>12}",
        "", "Prometheus", "VictoriaMetrics", "Vitrine", "Vitrine/P", "Vitrine/VM"
    );
    println!(
        "{:<36}{:>14}{:>17}{:>14}{:>12.3}{:>12.3}",
        "bytes on disk",
        thousands(prometheus_bytes),
        thousands(vm_bytes),
        thousands(vitrine_bytes),
        vitrine_bytes as f64 / prometheus_bytes as f64,
        vitrine_bytes as f64 / vm_bytes as f64
    );
    println!(
        "{:<36}{:>14.3}{:>17.3}{:>14.3}{:>12.3}{:>12.3}",
        "bytes per sample",
        prometheus_per_sample,
        vm_per_sample,
        vitrine_per_sample,
        vitrine_per_sample / prometheus_per_sample,
        vitrine_per_sample / vm_per_sample
    );
    println!(
        "{:<36}{:>14}{:>17}{:>14}{:>12.3}{:>12.3}",
        "20 projects × 500 series × 90 days",
        human_bytes(prometheus_per_sample * PROJECTION_SAMPLES),
        human_bytes(vm_per_sample * PROJECTION_SAMPLES),
        human_bytes(vitrine_per_sample * PROJECTION_SAMPLES),
        vitrine_per_sample / prometheus_per_sample,
        vitrine_per_sample / vm_per_sample
    );
    println!(
        "(projection: {} samples × each store's bytes per sample; VictoriaMetrics {vm_version}: its whole \
         -storageDataPath after force_flush + force_merge; known anchor on 24 h of node exporter data at 15 s: \
         Prometheus 1.35, VictoriaMetrics 0.35 bytes per sample)",
        thousands(PROJECTION_SAMPLES as u64)
    );
}

/// Imports the Prometheus text file into a fresh VictoriaMetrics, checks that
/// it holds every series and sample, lets it merge, and returns the bytes of its
/// data directory and its version.
fn victoria_metrics(text_file: &Path, samples: u64, series: u64, t0: i64) -> (u64, String) {
    section("VictoriaMetrics");
    let vm = VictoriaMetrics::start(&[]);
    println!("VictoriaMetrics {} (pid {}) on {}", vm.version, vm.pid(), vm.addr);
    let text = fs::read(text_file).expect("reading the Prometheus text file");
    let started = Instant::now();
    // Requests of about 8 MiB, cut at line ends.
    let mut rest = &text[..];
    let mut requests = 0;
    while !rest.is_empty() {
        let mut end = rest.len().min(8 << 20);
        while end < rest.len() && rest[end - 1] != b'\n' {
            end += 1;
        }
        vm.import_prometheus(&rest[..end])
            .unwrap_or_else(|e| panic!("importing into VictoriaMetrics failed: {e}\n{}", vm.log_tail()));
        rest = &rest[end..];
        requests += 1;
    }
    vm.force_flush();
    println!(
        "imported {} ({requests} requests to /api/v1/import/prometheus) in {:.1} s",
        human_bytes(text.len() as f64),
        started.elapsed().as_secs_f64()
    );
    drop(text);
    // Every series and sample must be there, or bytes per sample would be wrong.
    let span_s = (SCRAPES as i64 - 1) * STEP_S;
    let end_s = t0 + span_s;
    let count = |query: &str| -> u64 {
        let path = format!("/api/v1/query?query={}&time={end_s}", url_encode(query));
        let body = vm.get(&path);
        let answer: serde_json::Value = serde_json::from_slice(&body).expect("VictoriaMetrics answers JSON");
        answer["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("unexpected answer to {query}: {answer}")) as u64
    };
    let window = format!("{}s", span_s + 60);
    let (mut stored_samples, mut stored_series) = (0, 0);
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(60) {
        stored_samples = count(&format!("sum(count_over_time({{__name__=~\".+\"}}[{window}]))"));
        stored_series = count(&format!("count(last_over_time({{__name__=~\".+\"}}[{window}]))"));
        if stored_samples == samples && stored_series == series {
            break;
        }
        vm.force_flush();
        std::thread::sleep(Duration::from_secs(1));
    }
    println!(
        "VictoriaMetrics holds {} samples in {} series (queried with count_over_time)",
        thousands(stored_samples),
        thousands(stored_series)
    );
    assert_eq!(
        stored_samples, samples,
        "VictoriaMetrics holds a different number of samples than the file holds"
    );
    assert_eq!(
        stored_series, series,
        "VictoriaMetrics holds a different number of series than the file holds"
    );
    let started = Instant::now();
    let settled = vm.force_merge_and_settle(Duration::from_secs(5), Duration::from_secs(300));
    let (bytes, parts) = file_bytes(&vm.data_dir(), &|_| true);
    println!(
        "force_merge: {} after {:.1} s; on disk: {} = {:.3} bytes per sample",
        if settled { "settled" } else { "NOT settled within 300 s" },
        started.elapsed().as_secs_f64(),
        human_bytes(bytes as f64),
        bytes as f64 / samples as f64
    );
    for (name, bytes) in parts.iter().filter(|(_, b)| *b > 0) {
        println!("  {name}: {}", human_bytes(*bytes as f64));
    }
    (bytes, vm.version.clone())
}

/// The first scrape's time: a few days ago (inside a client's default
/// retention of 90 days, or the import would skip the samples), at a multiple
/// of 18 h, and such that the data crosses no 31-day boundary either: then
/// neither store cuts it at a block boundary.
fn first_timestamp_s() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs() as i64;
    let span = (SCRAPES as i64 - 1) * STEP_S;
    let mut t0 = (now - 3 * 86_400).div_euclid(PROMETHEUS_BLOCK_S) * PROMETHEUS_BLOCK_S;
    while t0.div_euclid(VITRINE_BLOCK_S) != (t0 + span).div_euclid(VITRINE_BLOCK_S) {
        t0 -= PROMETHEUS_BLOCK_S;
    }
    t0
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn run_vitrine(binary: &Path, data: &Path, args: &[String]) -> Output {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VITRINE_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .env("VITRINE_DATA_DIR", data)
        .env("VITRINE_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()))
}

#[track_caller]
fn check(out: &Output, what: &str, hint: &str) {
    if !out.status.success() {
        panic!(
            "`{what}` failed ({}){hint}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Reads the store back through `vitrine-tsdb` (after the binary has
/// exited) and checks that it holds every sample of the file bit for bit:
/// a small size is worth nothing if it is lossy.
fn verify_vitrine(data: &Path, expected: SampleDigest) {
    let dir = data.join("tsdb");
    assert!(
        dir.join("tenants").is_dir(),
        "no time-series store at {} to read back (has the data directory's layout changed?)",
        dir.display()
    );
    let db =
        Db::open(&dir, Options::default()).unwrap_or_else(|e| panic!("opening Vitrine's store to read it back: {e}"));
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").expect("matcher")];
    let mut got = SampleDigest::default();
    for (tenant, _) in db.stats().tenants {
        for series in db
            .select(tenant, &all, i64::MIN, i64::MAX)
            .expect("reading the store back")
        {
            let key = labels_hash(series.labels.iter());
            for (t, v) in series.samples {
                got.add(key, t, v);
            }
        }
    }
    assert_eq!(
        got.samples, expected.samples,
        "Vitrine's store gives back a different number of samples than were imported"
    );
    assert_eq!(
        got, expected,
        "Vitrine's store does not give back the imported samples bit for bit"
    );
    println!(
        "read back through vitrine-tsdb: all {} samples bit for bit",
        thousands(got.samples)
    );
}

/// Samples, series and blocks from the `meta.json` of every block promtool wrote.
fn prometheus_block_stats(dir: &Path) -> (u64, u64, usize) {
    let mut samples = 0;
    let mut series = 0;
    let mut blocks = 0;
    for entry in fs::read_dir(dir).expect("promtool's output directory") {
        let meta = entry.expect("directory entry").path().join("meta.json");
        let Ok(text) = fs::read_to_string(&meta) else {
            continue;
        };
        let json: serde_json::Value = serde_json::from_str(&text).expect("meta.json is JSON");
        samples += json["stats"]["numSamples"].as_u64().expect("numSamples");
        series += json["stats"]["numSeries"].as_u64().expect("numSeries");
        blocks += 1;
    }
    assert!(blocks > 0, "promtool wrote no block into {}", dir.display());
    (samples, series, blocks)
}
