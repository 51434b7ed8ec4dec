//! The data set of the differential test: four hours of a small system (counters with
//! resets, gauges, classic histograms, intermittent and sparse series, NaN and ±Inf values),
//! generated deterministically.
//!
//! The first three hours are written as OpenMetrics text and backfilled into Prometheus with
//! `promtool`; the last hour goes through Prometheus' remote-write receiver, the only way to
//! give it staleness markers (OpenMetrics text cannot carry them) — its head only accepts
//! samples newer than the backfilled blocks.

use std::fmt::Write as _;

/// 2023-12-31T22:00:00Z: the data crosses midnight and a new year.
pub const T0: i64 = 1_704_060_000_000;
pub const SPLIT: i64 = T0 + 3 * 3_600_000;
pub const END: i64 = T0 + 4 * 3_600_000;
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// Labels and samples of one series, to remote-write.
pub type Batch<'a> = (&'a [(String, String)], Vec<(i64, f64)>);

pub struct Series {
    /// Sorted by name, `__name__` included.
    pub labels: Vec<(String, String)>,
    pub samples: Vec<(i64, f64)>,
}

pub struct Family {
    pub name: &'static str,
    pub typ: &'static str,
    pub series: Vec<Series>,
}

pub struct Dataset {
    pub families: Vec<Family>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A scrape-like jitter: a multiple of 250 ms in [-1 s, +1 s].
    fn jitter(&mut self) -> i64 {
        (self.below(9) as i64 - 4) * 250
    }
}

fn labels(name: &str, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut l: Vec<(String, String)> = pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    l.push(("__name__".into(), name.into()));
    l.sort();
    l
}

/// Scrape times every `interval` ms from `from` to `to` (excluded), jittered.
fn times(rng: &mut Rng, from: i64, to: i64, interval: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let j = t + rng.jitter();
        if out.last().is_none_or(|l| j > *l) && j >= from {
            out.push(j);
        }
        t += interval;
    }
    out
}

fn stale() -> f64 {
    f64::from_bits(STALE_NAN)
}

pub fn generate() -> Dataset {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut families = Vec::new();

    // Counters: requests by job, instance and code. The web job goes away at the split (stale
    // marker); api instance 1 restarts twice (resets).
    let mut requests = Vec::new();
    for job in ["api", "web"] {
        for instance in ["0", "1", "2"] {
            for code in ["200", "500"] {
                let end = if job == "web" { SPLIT } else { END };
                let mut v = if code == "200" { 1000.0 } else { 3.0 };
                let mut samples = Vec::new();
                for (i, t) in times(&mut rng, T0, end, 15_000).into_iter().enumerate() {
                    // api instance 1 restarts at 45 min, 2h30 and 3h15.
                    if job == "api" && instance == "1" && matches!(i, 180 | 600 | 780) {
                        v = (rng.below(5)) as f64;
                    } else if code == "200" {
                        v += (rng.below(40) + 5) as f64;
                    } else if rng.below(4) == 0 {
                        v += (rng.below(3) + 1) as f64;
                    }
                    samples.push((t, v));
                }
                if job == "web" {
                    samples.push((SPLIT + 15_000 + rng.jitter(), stale()));
                }
                requests.push(Series {
                    labels: labels(
                        "http_requests_total",
                        &[("job", job), ("instance", instance), ("code", code)],
                    ),
                    samples,
                });
            }
        }
    }
    families.push(Family {
        name: "http_requests",
        typ: "counter",
        series: requests,
    });

    // CPU seconds: 2 instances x 2 CPUs x 3 modes, scraped every 30 s, fractional increments.
    let mut cpu = Vec::new();
    for instance in ["0", "1"] {
        for c in ["0", "1"] {
            for mode in ["idle", "user", "system"] {
                let mut v = 10_000.0 * (1.0 + rng.f());
                let mut samples = Vec::new();
                for t in times(&mut rng, T0, END, 30_000) {
                    v += match mode {
                        "idle" => 20.0 + 8.0 * rng.f(),
                        "user" => 6.0 * rng.f(),
                        _ => 2.0 * rng.f(),
                    };
                    samples.push((t, v));
                }
                cpu.push(Series {
                    labels: labels(
                        "node_cpu_seconds_total",
                        &[("instance", instance), ("cpu", c), ("mode", mode)],
                    ),
                    samples,
                });
            }
        }
    }
    families.push(Family {
        name: "node_cpu_seconds",
        typ: "counter",
        series: cpu,
    });

    // Memory gauges: a random walk; instance 2 goes stale at 3h30 and comes back at 3h45.
    let mut memory = Vec::new();
    for instance in ["0", "1", "2"] {
        let mut v = 2e9 + 1e9 * rng.f();
        let mut samples = Vec::new();
        let gone = T0 + 3 * 3_600_000 + 30 * 60_000;
        let back = T0 + 3 * 3_600_000 + 45 * 60_000;
        for t in times(&mut rng, T0, END, 15_000) {
            if instance == "2" && t >= gone && t < back {
                if samples
                    .last()
                    .is_none_or(|(_, v): &(i64, f64)| v.to_bits() != STALE_NAN)
                {
                    samples.push((t, stale()));
                }
                continue;
            }
            v += (rng.f() - 0.48) * 5e7;
            samples.push((t, v.round()));
        }
        memory.push(Series {
            labels: labels("memory_usage_bytes", &[("instance", instance), ("job", "node")]),
            samples,
        });
    }
    families.push(Family {
        name: "memory_usage_bytes",
        typ: "gauge",
        series: memory,
    });

    // Temperatures: negative values, a NaN now and then, and sensors reading ±Inf.
    let mut temps = Vec::new();
    for sensor in ["a", "b", "c", "d"] {
        let mut samples = Vec::new();
        for (i, t) in times(&mut rng, T0, END, 20_000).into_iter().enumerate() {
            let base = match sensor {
                "a" => 20.0 + 5.0 * ((i as f64) / 40.0).sin(),
                "b" => -5.0 + 3.0 * rng.f(),
                _ => 40.0 + 10.0 * rng.f(),
            };
            let v = match sensor {
                "c" if i % 37 == 5 => f64::NAN,
                "d" if i % 50 == 7 => f64::INFINITY,
                "d" if i % 50 == 30 => f64::NEG_INFINITY,
                _ => (base * 100.0).round() / 100.0,
            };
            samples.push((t, v));
        }
        temps.push(Series {
            labels: labels(
                "temperature_celsius",
                &[("sensor", sensor), ("room", if sensor < "c" { "lab" } else { "hall" })],
            ),
            samples,
        });
    }
    families.push(Family {
        name: "temperature_celsius",
        typ: "gauge",
        series: temps,
    });

    // A classic histogram per job; the web histogram resets at 2h.
    let bounds = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"];
    let mut hist = Vec::new();
    for job in ["api", "web"] {
        let ts = times(&mut rng, T0, END, 15_000);
        let mut counts = [0f64; 8];
        let mut sum = 0.0;
        let mut series: Vec<Vec<(i64, f64)>> = vec![Vec::new(); 10];
        for &t in &ts {
            if job == "web" && t - T0 >= 2 * 3_600_000 && t - T0 < 2 * 3_600_000 + 15_000 {
                counts = [0.0; 8];
                sum = 0.0;
            }
            let n = rng.below(30);
            for _ in 0..n {
                let x: f64 = -(1.0 - rng.f()).ln() * if job == "api" { 0.3 } else { 0.8 };
                sum += x;
                for (i, b) in bounds.iter().enumerate() {
                    let ub: f64 = if *b == "+Inf" {
                        f64::INFINITY
                    } else {
                        b.parse().unwrap()
                    };
                    if x <= ub {
                        counts[i] += 1.0;
                    }
                }
            }
            for (i, c) in counts.iter().enumerate() {
                series[i].push((t, *c));
            }
            series[8].push((t, counts[7]));
            series[9].push((t, (sum * 1e6).round() / 1e6));
        }
        for (i, b) in bounds.iter().enumerate() {
            hist.push(Series {
                labels: labels("request_duration_seconds_bucket", &[("job", job), ("le", b)]),
                samples: std::mem::take(&mut series[i]),
            });
        }
        hist.push(Series {
            labels: labels("request_duration_seconds_count", &[("job", job)]),
            samples: std::mem::take(&mut series[8]),
        });
        hist.push(Series {
            labels: labels("request_duration_seconds_sum", &[("job", job)]),
            samples: std::mem::take(&mut series[9]),
        });
    }
    families.push(Family {
        name: "request_duration_seconds",
        typ: "histogram",
        series: hist,
    });

    // A histogram whose buckets are not monotonic and has two spellings of one bound, and no
    // +Inf bucket for one group.
    let mut weird = Vec::new();
    for (group, les) in [
        ("x", &["0.1", "1", "1.0", "10", "+Inf"][..]),
        ("y", &["1", "2", "4"][..]),
    ] {
        for (i, le) in les.iter().enumerate() {
            let mut samples = Vec::new();
            for (k, t) in times(&mut rng, T0, END, 60_000).into_iter().enumerate() {
                let base = (k as f64 + 1.0) * (i as f64 + 1.0) * 3.0;
                // Bucket 2 of x dips below bucket 1 every fifth sample.
                let v = if group == "x" && i == 2 && k % 5 == 0 {
                    base / 4.0
                } else {
                    base
                };
                samples.push((t, v));
            }
            weird.push(Series {
                labels: labels("weird_histogram_bucket", &[("group", group), ("le", le)]),
                samples,
            });
        }
    }
    families.push(Family {
        name: "weird_histogram_bucket",
        typ: "unknown",
        series: weird,
    });

    // Intermittent: a queue that reports in bursts, with gaps longer than the lookback delta;
    // in the last hour a worker that comes and goes with staleness markers.
    let mut queue = Vec::new();
    for worker in ["a", "b"] {
        let mut samples = Vec::new();
        for t in times(&mut rng, T0, END, 15_000) {
            let minute = (t - T0) / 60_000;
            let on = if worker == "a" {
                (minute / 20) % 2 == 0
            } else {
                minute % 45 < 12 || t >= SPLIT
            };
            if t >= SPLIT && worker == "b" {
                // After the split: 10 minutes on, then a staleness marker, 5 minutes off.
                let m = (t - SPLIT) / 60_000;
                if m % 15 < 10 {
                    samples.push((t, (rng.below(50)) as f64));
                } else if samples
                    .last()
                    .is_none_or(|(_, v): &(i64, f64)| v.to_bits() != STALE_NAN)
                {
                    samples.push((t, stale()));
                }
                continue;
            }
            if on {
                samples.push((t, (rng.below(100)) as f64));
            }
        }
        queue.push(Series {
            labels: labels("queue_length", &[("worker", worker)]),
            samples,
        });
    }
    families.push(Family {
        name: "queue_length",
        typ: "gauge",
        series: queue,
    });

    // Up: 1, with instance 2 of the api down for a while.
    let mut up = Vec::new();
    for job in ["api", "web"] {
        for instance in ["0", "1", "2"] {
            let end = if job == "web" { SPLIT } else { END };
            let mut samples: Vec<(i64, f64)> = times(&mut rng, T0, end, 15_000)
                .into_iter()
                .map(|t| {
                    let down = job == "api" && instance == "2" && (t - T0) / 60_000 % 70 > 60;
                    (t, if down { 0.0 } else { 1.0 })
                })
                .collect();
            if job == "web" {
                samples.push((SPLIT + 15_000, stale()));
            }
            up.push(Series {
                labels: labels("up", &[("job", job), ("instance", instance)]),
                samples,
            });
        }
    }
    families.push(Family {
        name: "up",
        typ: "gauge",
        series: up,
    });

    // Info metrics to join on, with an extra label.
    let mut info = Vec::new();
    for (instance, version, team) in [("0", "1.2.3", "blue"), ("1", "1.2.3", "red"), ("2", "1.3.0", "blue")] {
        info.push(Series {
            labels: labels(
                "build_info",
                &[
                    ("instance", instance),
                    ("version", version),
                    ("team", team),
                    ("job", "api"),
                ],
            ),
            samples: times(&mut rng, T0, END, 60_000).into_iter().map(|t| (t, 1.0)).collect(),
        });
    }
    families.push(Family {
        name: "build_info",
        typ: "gauge",
        series: info,
    });

    // Sparse: a batch job reporting every 10 minutes (longer than the lookback delta).
    let mut batch = Vec::new();
    let mut last = T0 as f64 / 1000.0;
    let mut samples = Vec::new();
    for t in times(&mut rng, T0, END, 600_000) {
        if rng.below(3) > 0 {
            last = t as f64 / 1000.0 - 30.0;
        }
        samples.push((t, last));
    }
    batch.push(Series {
        labels: labels("batch_last_success_timestamp_seconds", &[("job", "batch")]),
        samples,
    });
    families.push(Family {
        name: "batch_last_success_timestamp_seconds",
        typ: "gauge",
        series: batch,
    });

    // Two counters with the same labels but their names: dropping the names collides them.
    let mut disk = Vec::new();
    for name in ["disk_reads_total", "disk_writes_total"] {
        let mut v = 0.0;
        let samples = times(&mut rng, T0, END, 30_000)
            .into_iter()
            .map(|t| {
                v += rng.below(1000) as f64;
                (t, v)
            })
            .collect();
        disk.push((name, samples));
    }
    for (name, samples) in disk {
        families.push(Family {
            name: if name == "disk_reads_total" {
                "disk_reads"
            } else {
                "disk_writes"
            },
            typ: "counter",
            series: vec![Series {
                labels: labels(name, &[("device", "sda")]),
                samples,
            }],
        });
    }

    // Labels to play with in label_replace/label_join, and values for the date functions.
    let mut misc = Vec::new();
    for (i, (path, host)) in [
        ("/api/v1/users", "web-01.example.com"),
        ("/health", "web-02"),
        ("/", "db_3"),
    ]
    .into_iter()
    .enumerate()
    {
        misc.push(Series {
            labels: labels("path_hits", &[("path", path), ("host", host), ("idx", &i.to_string())]),
            samples: times(&mut rng, T0, END, 30_000)
                .into_iter()
                .map(|t| (t, (i as f64 + 1.0) * ((t - T0) / 30_000) as f64))
                .collect(),
        });
    }
    families.push(Family {
        name: "path_hits",
        typ: "gauge",
        series: misc,
    });
    let mut dates = Vec::new();
    for (name, v) in [
        ("leap", 1_709_214_300.0),
        ("epoch", 0.0),
        ("before_epoch", -86_401.5),
        ("future", 4_102_444_800.0),
        ("nan", f64::NAN),
    ] {
        dates.push(Series {
            labels: labels("some_timestamp_seconds", &[("which", name)]),
            samples: times(&mut rng, T0, END, 60_000).into_iter().map(|t| (t, v)).collect(),
        });
    }
    families.push(Family {
        name: "some_timestamp_seconds",
        typ: "gauge",
        series: dates,
    });

    // A gauge at second-exact times with no jitter, for exact window boundaries.
    let samples = (0..)
        .map(|i| T0 + i * 30_000)
        .take_while(|t| *t < END)
        .map(|t| (t, ((t - T0) / 30_000 % 17) as f64 - 8.0))
        .collect();
    families.push(Family {
        name: "exact_gauge",
        typ: "gauge",
        series: vec![Series {
            labels: labels("exact_gauge", &[("k", "v")]),
            samples,
        }],
    });

    // A sparse gauge at exact 5-minute times: the lookback delta and range boundaries fall
    // exactly on samples. A staleness marker at an exact time after the split.
    let mut samples: Vec<(i64, f64)> = (0..)
        .map(|k| (T0 + k * 300_000, k as f64))
        .take_while(|(t, _)| *t < END)
        .filter(|(t, _)| *t < SPLIT + 10 * 60_000 || *t >= SPLIT + 20 * 60_000)
        .collect();
    samples.push((SPLIT + 10 * 60_000, stale()));
    samples.sort_by_key(|(t, _)| *t);
    families.push(Family {
        name: "exact_sparse",
        typ: "gauge",
        series: vec![Series {
            labels: labels("exact_sparse", &[("k", "v")]),
            samples,
        }],
    });

    Dataset { families }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Go's `strconv.ParseFloat` reads back Rust's shortest representation exactly.
fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

impl Dataset {
    /// The samples before [`SPLIT`] as OpenMetrics text (timestamps are multiples of 250 ms,
    /// exact in binary, so that Prometheus' `int64(ts * 1000)` gets them back).
    pub fn openmetrics(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.typ);
            for s in &f.series {
                let name = &s.labels.iter().find(|(n, _)| n == "__name__").unwrap().1;
                let rest: Vec<String> = s
                    .labels
                    .iter()
                    .filter(|(n, _)| n != "__name__")
                    .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
                    .collect();
                for &(t, v) in s.samples.iter().filter(|(t, _)| *t < SPLIT) {
                    assert!(v.to_bits() != STALE_NAN, "staleness markers are remote-written");
                    let _ = writeln!(
                        out,
                        "{name}{{{}}} {} {}.{:03}",
                        rest.join(","),
                        value(v),
                        t.div_euclid(1000),
                        t.rem_euclid(1000)
                    );
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }

    /// The samples from [`SPLIT`] on, by series.
    pub fn remote_write_part(&self) -> Vec<Batch<'_>> {
        self.families
            .iter()
            .flat_map(|f| &f.series)
            .filter_map(|s| {
                let later: Vec<(i64, f64)> = s.samples.iter().copied().filter(|(t, _)| *t >= SPLIT).collect();
                (!later.is_empty()).then_some((s.labels.as_slice(), later))
            })
            .collect()
    }

    pub fn all_series(&self) -> impl Iterator<Item = &Series> {
        self.families.iter().flat_map(|f| &f.series)
    }
}
