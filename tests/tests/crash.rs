//! Reliability of the time-series store under `kill -9`: a writer process
//! appends steadily (with head compactions and log checkpoints along the
//! way) and prints what each commit acknowledged; it is killed at a random
//! moment, the store is reopened, and every acknowledged sample must be
//! there, uncorrupted. Twenty rounds on the same store with 100 series, and three
//! with 100,000 series (an agency-sized head: about 20 s in all).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vitrine_tsdb::{Db, Labels, MatchOp, Matcher, Options};

const SERIES: usize = 100;
const STEP_MS: i64 = 60_000;
const WRITER_ENV: &str = "VITRINE_CRASH_WRITER_DIR";
const WRITER_SERIES_ENV: &str = "VITRINE_CRASH_WRITER_SERIES";

fn labels(i: usize) -> Labels {
    Labels::from_pairs(&[
        ("__name__", "crash_test"),
        ("series", &i.to_string()),
        ("job", "writer"),
    ])
}

fn all(db: &Db) -> Vec<vitrine_tsdb::SeriesData> {
    db.select(
        1,
        &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
        i64::MIN,
        i64::MAX,
    )
    .unwrap()
}

/// The writer: runs only inside the child process started by the test below.
#[test]
fn writer_process() {
    let Some(dir) = std::env::var_os(WRITER_ENV) else {
        return;
    };
    let series_count: usize = std::env::var(WRITER_SERIES_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(SERIES);
    let db = Db::open(std::path::Path::new(&dir), Options::default()).expect("the store opens");
    let mut t = all(&db)
        .iter()
        .filter_map(|s| s.samples.last())
        .map(|x| x.0)
        .max()
        .map_or(0, |t| t + STEP_MS);
    let mut batch = 0u64;
    loop {
        let mut appender = db.appender();
        for i in 0..series_count {
            let series = appender.series(1, &labels(i));
            appender.add(series, t, (t / STEP_MS) as f64);
        }
        appender.commit().expect("commit");
        println!("ack {t}");
        t += STEP_MS;
        batch += 1;
        if batch.is_multiple_of(40) {
            db.compact_head(false).expect("compaction");
        }
        if batch.is_multiple_of(200) {
            db.compact_blocks(false).expect("merging blocks");
        }
    }
}

#[test]
fn kill_9_during_ingestion_loses_nothing_acknowledged() {
    kill_rounds(SERIES, 20, 100);
}

#[test]
fn kill_9_at_100000_series_loses_nothing_acknowledged() {
    kill_rounds(100_000, 3, 1500);
}

/// `rounds` times: a writer of `series_count` series runs for about `min_run_ms` (more each
/// round), is killed, and the reopened store must hold every acknowledged sample.
fn kill_rounds(series_count: usize, rounds: u64, min_run_ms: u64) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut total_lost = 0i64;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args(["--exact", "writer_process", "--nocapture", "--test-threads=1"])
            .env(WRITER_ENV, dir.path())
            .env(WRITER_SERIES_ENV, series_count.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the writer");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(t) = line.strip_prefix("ack ").and_then(|t| t.trim().parse::<i64>().ok()) {
                    let _ = tx.send(t);
                }
            }
        });
        // Wait until the writer is ingesting, then let it run a pseudo-random while.
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the writer acknowledges commits");
        let run_for = Duration::from_millis(min_run_ms + (round * 7919) % 600);
        let started = Instant::now();
        while started.elapsed() < run_for {
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().expect("kill -9");
        child.wait().unwrap();
        reader.join().unwrap();
        let last_acked = rx.try_iter().last().unwrap_or(first).max(first);

        let db = Db::open(dir.path(), Options::default()).expect("the store reopens after kill -9");
        let series = all(&db);
        assert_eq!(series.len(), series_count, "round {round}: every series is there");
        let mut recovered_last = i64::MAX;
        for s in &series {
            let mut expected = s.samples.first().unwrap().0;
            assert_eq!(expected, 0, "round {round}: {}: history starts at 0", s.labels);
            for (t, v) in &s.samples {
                assert_eq!(*t, expected, "round {round}: {}: a gap or a duplicate at {t}", s.labels);
                assert_eq!(
                    *v,
                    (*t / STEP_MS) as f64,
                    "round {round}: {}: a corrupt value at {t}",
                    s.labels
                );
                expected += STEP_MS;
            }
            recovered_last = recovered_last.min(s.samples.last().unwrap().0);
        }
        let lost = ((last_acked - recovered_last) / STEP_MS).max(0) * series_count as i64;
        println!(
            "round {round:2}: acknowledged up to t={last_acked}, recovered up to t={recovered_last}, samples lost: {lost}, blocks: {}",
            db.stats().tenants.first().map_or(0, |t| t.1.blocks.len())
        );
        total_lost += lost;
        assert_eq!(lost, 0, "round {round}: acknowledged samples were lost");
    }
    println!("{rounds} kills at {series_count} series: {total_lost} acknowledged samples lost");
}

const FULL_ENV: &str = "VITRINE_DISK_FULL_DIR";

/// The disk-full writer: runs only inside the child process started below.
/// A file-size limit (RLIMIT_FSIZE) makes writes fail as on a full disk.
#[test]
fn disk_full_process() {
    let Some(dir) = std::env::var_os(FULL_ENV) else { return };
    let db = Db::open(std::path::Path::new(&dir), Options::default()).expect("the store opens");
    let set_limit = |bytes: libc::rlim_t| {
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: plain system calls with valid arguments.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        }
    };
    set_limit(64 * 1024);
    let mut acked = 0i64;
    let mut failures = 0;
    let mut t = 0i64;
    let mut appender = db.appender();
    let mut pending = false;
    while failures < 3 {
        if !pending {
            for i in 0..SERIES {
                let series = appender.series(1, &labels(i));
                appender.add(series, t, (t / STEP_MS) as f64);
            }
        }
        match appender.commit() {
            Ok(_) => {
                acked = t;
                t += STEP_MS;
                pending = false;
            }
            Err(e) => {
                // The failed batch stays in the appender for the retry.
                println!("paused: {e}");
                failures += 1;
                pending = true;
            }
        }
    }
    // Space returns: the batch that failed is committed now.
    set_limit(libc::RLIM_INFINITY);
    appender.commit().expect("ingestion resumes");
    println!("resumed acked={acked} retried={t}");
}

#[test]
fn a_full_disk_pauses_ingestion_and_it_resumes_without_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "disk_full_process", "--nocapture", "--test-threads=1"])
        .env(FULL_ENV, dir.path())
        .output()
        .expect("starting the writer");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("paused: File too large"), "{stdout}");
    let resumed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("resumed acked="))
        .expect("resumed");
    let retried: i64 = resumed.split(" retried=").nth(1).unwrap().trim().parse().unwrap();
    let db = Db::open(dir.path(), Options::default()).expect("the store opens after the full disk");
    for s in all(&db) {
        let times: Vec<i64> = s.samples.iter().map(|x| x.0).collect();
        let expected: Vec<i64> = (0..=retried / STEP_MS).map(|i| i * STEP_MS).collect();
        assert_eq!(
            times, expected,
            "{}: every acknowledged sample and the retried batch, nothing else",
            s.labels
        );
    }
    println!("{stdout}");
}
