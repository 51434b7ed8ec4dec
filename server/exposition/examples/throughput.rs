//! Parser throughput on a realistic 10,000-line exposition (node-exporter
//! and Go-service-like names and labels, histograms), on one core.
//!
//! `cargo run -p vitrine-exposition --release --example throughput`

use std::fmt::Write;
use std::hint::black_box;
use std::time::{Duration, Instant};

use vitrine_exposition::{Entry, EntryRef, Format, Parser};

const LINES: usize = 10_000;

fn family(out: &mut String, lines: &mut usize, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    *lines += 2;
}

/// A node-exporter plus instrumented-service body of exactly `LINES` lines.
fn generate(openmetrics: bool) -> String {
    let mut out = String::new();
    let mut lines = 0usize;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let modes = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"];
    let total = if openmetrics { "_total" } else { "" };
    let counter_family = |n: &str| {
        if openmetrics {
            n.trim_end_matches("_total").to_string()
        } else {
            n.to_string()
        }
    };

    family(
        &mut out,
        &mut lines,
        &counter_family("node_cpu_seconds_total"),
        "counter",
        "Seconds the CPUs spent in each mode.",
    );
    for cpu in 0..64 {
        for mode in modes {
            let v = (rnd() % 100_000_000) as f64 / 100.0;
            let _ = writeln!(out, "node_cpu_seconds{total}{{cpu=\"{cpu}\",mode=\"{mode}\"}} {v}");
            lines += 1;
        }
    }
    let devices = ["nvme0n1", "nvme1n1", "sda", "sdb", "dm-0", "dm-1", "loop0", "loop1"];
    for metric in [
        "node_disk_read_bytes_total",
        "node_disk_written_bytes_total",
        "node_disk_io_time_seconds_total",
        "node_disk_reads_completed_total",
    ] {
        family(
            &mut out,
            &mut lines,
            &counter_family(metric),
            "counter",
            "Disk statistic from /proc/diskstats.",
        );
        for d in devices {
            let base = metric.trim_end_matches("_total");
            let _ = writeln!(
                out,
                "{base}{total}{{device=\"{d}\"}} {:e}",
                (rnd() % 10_000_000_000) as f64 * 512.0
            );
            lines += 1;
        }
    }
    let mounts = [
        ("/dev/nvme0n1p2", "ext4", "/"),
        ("/dev/nvme0n1p1", "vfat", "/boot/efi"),
        ("tmpfs", "tmpfs", "/run"),
        ("/dev/mapper/data", "xfs", "/var/lib/vitrine"),
    ];
    for metric in [
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
        "node_filesystem_free_bytes",
        "node_filesystem_files",
    ] {
        family(&mut out, &mut lines, metric, "gauge", "Filesystem statistic.");
        for (dev, fs, mp) in mounts {
            let _ = writeln!(
                out,
                "{metric}{{device=\"{dev}\",fstype=\"{fs}\",mountpoint=\"{mp}\"}} {:e}",
                (rnd() % 1_000_000_000_000) as f64
            );
            lines += 1;
        }
    }
    // Instrumented HTTP service: histograms.
    let handlers = [
        "/api/v1/query",
        "/api/v1/query_range",
        "/api/v1/series",
        "/api/v1/labels",
        "/metrics",
        "/-/healthy",
        "/login",
        "/dashboards/:id",
    ];
    let methods = ["GET", "POST"];
    let codes = ["200", "400", "500"];
    let les = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
    ];
    let hist = "http_request_duration_seconds";
    family(&mut out, &mut lines, hist, "histogram", "Latency of HTTP requests.");
    'outer: for round in 0.. {
        for h in handlers {
            for m in methods {
                for c in codes {
                    if lines + les.len() + 2 + 1 > LINES - usize::from(openmetrics) {
                        break 'outer;
                    }
                    let inst = format!("instance=\"10.0.{}.{}:9100\"", round % 250, (round * 7) % 250);
                    let mut count = 0u64;
                    for le in les {
                        count += rnd() % 1000;
                        let _ = write!(
                            out,
                            "{hist}_bucket{{handler=\"{h}\",method=\"{m}\",code=\"{c}\",{inst},le=\"{le}\"}} {count}"
                        );
                        if openmetrics && le == "0.1" {
                            let _ = write!(out, " # {{trace_id=\"{:016x}\"}} 0.067 1700000000.123", rnd());
                        }
                        out.push('\n');
                    }
                    let _ = writeln!(
                        out,
                        "{hist}_sum{{handler=\"{h}\",method=\"{m}\",code=\"{c}\",{inst}}} {}",
                        count as f64 * 0.0375
                    );
                    let _ = writeln!(
                        out,
                        "{hist}_count{{handler=\"{h}\",method=\"{m}\",code=\"{c}\",{inst}}} {count}"
                    );
                    lines += les.len() + 2;
                }
            }
        }
    }
    while lines < LINES - usize::from(openmetrics) {
        let _ = writeln!(
            out,
            "go_memstats_alloc_bytes{{instance=\"pad{lines}\"}} {}",
            rnd() % 100_000_000
        );
        lines += 1;
    }
    if openmetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn measure(label: &str, body: &[u8], format: Format, owned: bool) {
    // Warm up and count.
    let mut samples_per_body = 0usize;
    let mut p = Parser::new(body, format);
    while let Some(e) = p.next_entry_ref().expect("valid body") {
        if matches!(e, EntryRef::Sample(_)) {
            samples_per_body += 1;
        }
    }
    let started = Instant::now();
    let mut rounds = 0usize;
    let mut sink = 0f64;
    while started.elapsed() < Duration::from_secs(2) {
        let mut p = Parser::new(body, format);
        if owned {
            while let Some(e) = p.next_entry().expect("valid body") {
                if let Entry::Sample(s) = e {
                    sink += s.value + s.labels.len() as f64;
                }
            }
        } else {
            while let Some(e) = p.next_entry_ref().expect("valid body") {
                if let EntryRef::Sample(s) = e {
                    sink += s.value + s.labels.len() as f64;
                }
            }
        }
        rounds += 1;
    }
    black_box(sink);
    let secs = started.elapsed().as_secs_f64();
    let samples = (samples_per_body * rounds) as f64;
    println!(
        "{label:<42} {:>6.2} M samples/s  {:>7.1} MB/s  ({samples_per_body} samples, {} bytes per body)",
        samples / secs / 1e6,
        (body.len() * rounds) as f64 / secs / 1e6,
        body.len(),
    );
}

fn main() {
    let text = generate(false);
    let om = generate(true);
    assert_eq!(text.lines().count(), LINES);
    assert_eq!(om.lines().count(), LINES);
    if cfg!(debug_assertions) {
        println!("(debug build: run with --release for meaningful numbers)");
    }
    measure(
        "text 0.0.4, next_entry_ref (reused buffers)",
        text.as_bytes(),
        Format::PrometheusText,
        false,
    );
    measure(
        "text 0.0.4, next_entry (owned Vec)",
        text.as_bytes(),
        Format::PrometheusText,
        true,
    );
    measure("OpenMetrics, next_entry_ref", om.as_bytes(), Format::OpenMetrics, false);
    measure(
        "OpenMetrics, next_entry (owned Vec)",
        om.as_bytes(),
        Format::OpenMetrics,
        true,
    );
}
