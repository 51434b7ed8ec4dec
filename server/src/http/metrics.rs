//! Vitrine's own request counter and latency histogram, in the Prometheus
//! text format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    buckets: [u64; BUCKETS.len() + 1],
}

/// By route pattern, then by method and status: a request to a known route allocates nothing.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<String, ByMethodAndStatus>>,
}

type ByMethodAndStatus = BTreeMap<(&'static str, u16), Series>;

impl Metrics {
    pub fn observe(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        let seconds = took.as_secs_f64();
        let slot = BUCKETS.iter().position(|le| seconds <= *le).unwrap_or(BUCKETS.len());
        let mut series = self.series.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let by_route = match series.get_mut(route) {
            Some(by_route) => by_route,
            None => series.entry(route.to_string()).or_default(),
        };
        let entry = by_route.entry((method, status)).or_default();
        entry.count += 1;
        entry.sum += seconds;
        entry.buckets[slot] += 1;
    }

    pub fn render(&self) -> String {
        let series = self.series.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = String::new();
        out.push_str("# HELP vitrine_http_requests_total HTTP requests answered, by route, method and status.\n");
        out.push_str("# TYPE vitrine_http_requests_total counter\n");
        let all = || {
            series
                .iter()
                .flat_map(|(route, by)| by.iter().map(move |((method, status), s)| (route, *method, *status, s)))
        };
        for (route, method, status, s) in all() {
            let labels = labels(route, method, status);
            let _ = writeln!(out, "vitrine_http_requests_total{{{labels}}} {}", s.count);
        }
        out.push_str("# HELP vitrine_http_request_duration_seconds Time to answer HTTP requests.\n");
        out.push_str("# TYPE vitrine_http_request_duration_seconds histogram\n");
        for (route, method, status, s) in all() {
            let labels = labels(route, method, status);
            let mut cumulative = 0;
            for (le, count) in BUCKETS.iter().zip(s.buckets.iter()) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "vitrine_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "vitrine_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(out, "vitrine_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(
                out,
                "vitrine_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// The store's and the scrapers' own figures, in the text format.
pub fn render_store(tsdb: &vitrine_tsdb::Db, targets: usize, targets_up: usize, future_samples: u64) -> String {
    let stats = tsdb.stats();
    let blocks: usize = stats.tenants.iter().map(|(_, t)| t.blocks.len()).sum();
    let block_bytes: u64 = stats
        .tenants
        .iter()
        .flat_map(|(_, t)| t.blocks.iter())
        .map(|b| b.bytes)
        .sum();
    let gauges = [
        (
            "vitrine_tsdb_head_series",
            "Series in the head.",
            stats.head.series as f64,
        ),
        (
            "vitrine_tsdb_head_symbols",
            "Distinct label names and values of the head's series.",
            stats.head.symbols as f64,
        ),
        (
            "vitrine_tsdb_head_samples",
            "Samples in the head.",
            stats.head.samples as f64,
        ),
        (
            "vitrine_tsdb_head_chunk_bytes",
            "Bytes of the head's chunks.",
            stats.head.chunk_bytes as f64,
        ),
        (
            "vitrine_tsdb_wal_bytes",
            "Bytes of the write-ahead log.",
            stats.wal_bytes as f64,
        ),
        ("vitrine_tsdb_blocks", "Blocks on disk.", blocks as f64),
        (
            "vitrine_tsdb_open_block_files",
            "Block chunk files open now (at most tsdb_max_open_files).",
            stats.open_block_files as f64,
        ),
        (
            "vitrine_tsdb_block_bytes",
            "Bytes of the blocks on disk.",
            block_bytes as f64,
        ),
        ("vitrine_scrape_targets", "Scrape targets.", targets as f64),
        (
            "vitrine_scrape_targets_up",
            "Scrape targets whose last scrape worked.",
            targets_up as f64,
        ),
    ];
    let mut out = String::new();
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    }
    let _ = writeln!(
        out,
        "# HELP vitrine_tsdb_samples_appended_total Samples appended since the start.\n# TYPE vitrine_tsdb_samples_appended_total counter\nvitrine_tsdb_samples_appended_total {}",
        tsdb.samples_appended()
    );
    let _ = writeln!(
        out,
        "# HELP vitrine_scrape_samples_future_total Scraped samples refused because their time was more than 10 minutes ahead.\n# TYPE vitrine_scrape_samples_future_total counter\nvitrine_scrape_samples_future_total {future_samples}"
    );
    out
}

fn labels(route: &str, method: &str, status: u16) -> String {
    let route = route.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    format!("route=\"{route}\",method=\"{method}\",status=\"{status}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.observe("/a", "GET", 200, Duration::from_millis(3));
        m.observe("/a", "GET", 200, Duration::from_millis(300));
        m.observe("/\"x\"", "POST", 404, Duration::from_secs(20));
        let text = m.render();
        assert!(text.contains("vitrine_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2"));
        assert!(text.contains("route=\"/a\",method=\"GET\",status=\"200\",le=\"0.005\"} 1"));
        assert!(text.contains("route=\"/a\",method=\"GET\",status=\"200\",le=\"0.5\"} 2"));
        assert!(text.contains("route=\"/\\\"x\\\"\",method=\"POST\",status=\"404\",le=\"10\"} 0"));
        assert!(text.contains("route=\"/\\\"x\\\"\",method=\"POST\",status=\"404\",le=\"+Inf\"} 1"));
    }
}
