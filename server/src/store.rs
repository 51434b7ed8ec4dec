//! The embedded time-series store in `<data_dir>/tsdb`: opening it, keeping
//! it compact and within each client's retention, and the `vitrine tsdb`
//! commands. A client's id is its tenant in the store.

use crate::config::Config;
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use vitrine_tsdb::db::{DAY_MS, Stats};
use vitrine_tsdb::{Db, DbError, Options, Tenant};

pub fn dir(config: &Config) -> PathBuf {
    config.data_dir.join("tsdb")
}

/// The store's options from the configuration.
pub fn options(config: &Config) -> Options {
    Options {
        max_open_files: config.tsdb_max_open_files.max(16),
        compaction_threads: config.compaction_threads.max(1),
        ..Options::default()
    }
}

pub fn open(config: &Config) -> Result<Arc<Db>, DbError> {
    let db = Db::open(&dir(config), options(config))?;
    tracing::info!(
        records = db.replay.records,
        truncated_bytes = db.replay.truncated_bytes,
        "time-series store open"
    );
    Ok(Arc::new(db))
}

/// The tenant of a client.
pub fn tenant(client_id: i64) -> Tenant {
    Tenant::try_from(client_id).unwrap_or(Tenant::MAX)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Compacts every minute, checkpoints the write-ahead log every half hour (a restart then
/// replays at most half an hour of samples) and applies retention every hour, off the async
/// threads.
pub async fn maintain(db: Arc<Db>, pool: SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut minutes = 0u64;
    loop {
        tick.tick().await;
        let store = db.clone();
        let compacted = tokio::task::spawn_blocking(move || {
            store.compact_head(false)?;
            store.compact_blocks(false)
        })
        .await;
        if let Ok(Err(e)) = compacted {
            tracing::error!(error = %e, "compaction failed");
        }
        if minutes % 30 == 29 {
            let store = db.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.checkpoint()).await {
                tracing::error!(error = %e, "checkpointing the write-ahead log failed");
            }
        }
        if minutes.is_multiple_of(60)
            && let Err(e) = apply_retention(&db, &pool).await
        {
            tracing::error!(error = %e, "retention failed");
        }
        minutes += 1;
    }
}

async fn apply_retention(db: &Arc<Db>, pool: &SqlitePool) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let clients: Vec<(i64, i64)> = sqlx::query_as("SELECT id, retention_days FROM clients")
        .fetch_all(pool)
        .await?;
    let store = db.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let known: std::collections::HashSet<Tenant> = clients.iter().map(|(client, _)| tenant(*client)).collect();
        for (client, days) in clients {
            let removed = store.apply_retention(tenant(client), now_ms() - days * DAY_MS)?;
            if removed > 0 {
                tracing::info!(client, removed, "blocks past retention removed");
            }
        }
        // The data of a client that no longer exists goes with it.
        for gone in store.tenants().into_iter().filter(|t| !known.contains(t)) {
            store.delete_tenant(gone)?;
            tracing::info!(tenant = gone, "the data of a deleted client removed from the store");
        }
        Ok(())
    })
    .await??;
    Ok(())
}

/// `vitrine tsdb stats`: series, samples, bytes per sample, per-block sizes.
pub fn print_stats(stats: &Stats, names: &std::collections::HashMap<Tenant, String>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let head = &stats.head;
    let _ = writeln!(
        out,
        "head: {} series, {} samples, {} bytes of chunks ({:.2} B/sample); write-ahead log {} bytes",
        head.series,
        head.samples,
        head.chunk_bytes,
        per_sample(head.chunk_bytes as u64, head.samples as u64),
        stats.wal_bytes
    );
    let (mut total_bytes, mut total_samples) = (0u64, 0u64);
    for (tenant, t) in &stats.tenants {
        let name = names.get(tenant).map_or("(deleted client)", String::as_str);
        let _ = writeln!(out, "client {name} (tenant {tenant}): {} blocks", t.blocks.len());
        for b in &t.blocks {
            let _ = writeln!(
                out,
                "  {} .. {}  level {}  {} series  {} samples  {} bytes  {:.3} B/sample",
                format_ms(b.min_t),
                format_ms(b.max_t),
                b.level,
                b.series,
                b.samples,
                b.bytes,
                per_sample(b.bytes, b.samples)
            );
            total_bytes += b.bytes;
            total_samples += b.samples;
        }
    }
    let _ = writeln!(
        out,
        "blocks: {total_samples} samples in {total_bytes} bytes ({:.3} B/sample)",
        per_sample(total_bytes, total_samples)
    );
    out
}

fn per_sample(bytes: u64, samples: u64) -> f64 {
    if samples == 0 {
        0.0
    } else {
        bytes as f64 / samples as f64
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_ms(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => ms.to_string(),
    }
}

/// Compacts everything: the whole head into blocks, blocks into the largest spans.
pub fn compact_all(db: &Db) -> std::io::Result<String> {
    let written = db.compact_head(true)?;
    let merged = db.compact_blocks(true)?;
    Ok(format!(
        "compacted: {written} blocks written from the head, {merged} merges\n"
    ))
}

/// A consistent copy of the store into `dest`, which must not exist yet.
pub fn snapshot(db: &Db, dest: &Path) -> std::io::Result<String> {
    if dest.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists already; choose a new directory", dest.display()),
        ));
    }
    db.snapshot(dest)?;
    Ok(format!("snapshot written to {}\n", dest.display()))
}

/// How the CLI reaches a server that holds the store: `<data_dir>/control`
/// holds its address and a token; written at start (mode 0600), removed at stop.
pub fn control_file(data_dir: &Path) -> PathBuf {
    data_dir.join("control")
}

pub fn write_control(data_dir: &Path, base: &str, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(control_file(data_dir))?;
    writeln!(file, "{base}\n{token}")
}

/// What `vitrine tsdb` was asked to do.
pub enum TsdbCommand {
    Stats,
    Compact,
    Snapshot(PathBuf),
}

/// Runs a `vitrine tsdb` command on the store directly, or through the
/// running server when it holds the store.
pub async fn run_command(config: &Config, pool: &SqlitePool, command: TsdbCommand) -> Result<String, String> {
    match Db::open(&dir(config), options(config)) {
        Ok(db) => {
            let db = Arc::new(db);
            let names = client_names(pool).await;
            tokio::task::spawn_blocking(move || match command {
                TsdbCommand::Stats => Ok(print_stats(&db.stats(), &names)),
                TsdbCommand::Compact => compact_all(&db),
                TsdbCommand::Snapshot(dest) => snapshot(&db, &dest),
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
        }
        Err(DbError::Locked(_)) => {
            let (path, body) = match command {
                TsdbCommand::Stats => ("/admin/tsdb/stats", None),
                TsdbCommand::Compact => ("/admin/tsdb/compact", Some(String::new())),
                TsdbCommand::Snapshot(dest) => {
                    let dest = std::path::absolute(&dest).map_err(|e| e.to_string())?;
                    ("/admin/tsdb/snapshot", Some(dest.display().to_string()))
                }
            };
            through_server(config, path, body).await
        }
        Err(e) => Err(e.to_string()),
    }
}

pub async fn client_names(pool: &SqlitePool) -> std::collections::HashMap<Tenant, String> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM clients")
        .fetch_all(pool)
        .await
        .unwrap_or_default();
    rows.into_iter().map(|(id, name)| (tenant(id), name)).collect()
}

/// Asks the running server (its control endpoint, with the operator token from the control
/// file): GET `path`, or POST `body` to it.
pub async fn through_server(config: &Config, path: &str, body: Option<String>) -> Result<String, String> {
    let control_path = control_file(&config.data_dir);
    let control = std::fs::read_to_string(&control_path).map_err(|e| {
        format!(
            "the store is in use, but {} cannot be read ({e}); is the server running as another user?",
            control_path.display()
        )
    })?;
    let mut lines = control.lines();
    let (Some(base), Some(token)) = (lines.next(), lines.next()) else {
        return Err(format!("{} is damaged; restart the server", control_path.display()));
    };
    // The control endpoint is on this machine: never through an HTTP(S)_PROXY, which
    // would see the operator token.
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let request = match body {
        None => client.get(format!("{base}{path}")),
        Some(body) => client.post(format!("{base}{path}")).body(body),
    };
    let response = request
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("asking the server at {base}: {e}"))?;
    let ok = response.status().is_success();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if ok { Ok(text) } else { Err(text) }
}

/// What `vitrine import openmetrics` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub samples: u64,
    pub series: usize,
    pub blocks: usize,
    pub too_old: u64,
    pub duplicates: u64,
}

/// Backfills an OpenMetrics file with timestamps into a client's blocks, like
/// `promtool tsdb create-blocks-from openmetrics`: samples in any order,
/// overlapping existing data (merged at compaction, one sample per
/// timestamp), samples older than the retention skipped and counted.
pub fn import_openmetrics(
    db: &Db,
    tenant: Tenant,
    text: &[u8],
    keep_from_ms: i64,
    progress: &mut dyn FnMut(u64),
) -> Result<Imported, String> {
    use std::collections::HashMap;
    use vitrine_exposition::{EntryRef, Format, Parser};
    use vitrine_tsdb::{Labels, SeriesData};

    let mut parser = Parser::new(text, Format::OpenMetrics);
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut series: Vec<SeriesData> = Vec::new();
    let mut report = Imported::default();
    let mut key = String::new();
    loop {
        let entry = match parser.next_entry_ref() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => return Err(format!("{e}")),
        };
        let EntryRef::Sample(sample) = entry else { continue };
        let Some(t) = sample.timestamp_ms else {
            return Err(format!(
                "sample {} without a timestamp after {} samples: every sample of a backfill needs one",
                sample.name, report.samples
            ));
        };
        if t < keep_from_ms {
            report.too_old += 1;
            continue;
        }
        key.clear();
        key.push_str(sample.name);
        for (n, v) in sample.labels {
            key.push('\u{0}');
            key.push_str(n);
            key.push('\u{1}');
            key.push_str(v);
        }
        let at = match index.get(&key) {
            Some(at) => *at,
            None => {
                let mut pairs: Vec<(String, String)> = vec![("__name__".into(), sample.name.to_string())];
                pairs.extend(sample.labels.iter().map(|(n, v)| (n.to_string(), v.to_string())));
                series.push(SeriesData {
                    labels: Labels::new(pairs),
                    samples: Vec::new(),
                });
                index.insert(key.clone(), series.len() - 1);
                series.len() - 1
            }
        };
        series[at].samples.push((t, sample.value));
        report.samples += 1;
        if report.samples.is_multiple_of(1_000_000) {
            progress(report.samples);
        }
    }
    drop(index);
    for s in &mut series {
        s.samples.sort_by_key(|(t, _)| *t);
        let before = s.samples.len();
        s.samples.dedup_by_key(|(t, _)| *t);
        report.duplicates += (before - s.samples.len()) as u64;
    }
    series.retain(|s| !s.samples.is_empty());
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    report.series = series.len();
    report.samples -= report.duplicates;
    // One block per window of the largest block span, as compaction would make them.
    let span = Options::default().max_block_range_ms;
    let mut windows: std::collections::BTreeMap<i64, Vec<SeriesData>> = std::collections::BTreeMap::new();
    for s in series {
        let mut rest = s.samples.as_slice();
        while let Some(first) = rest.first() {
            let window = first.0.div_euclid(span);
            let end = rest.partition_point(|(t, _)| t.div_euclid(span) == window);
            windows.entry(window).or_default().push(SeriesData {
                labels: s.labels.clone(),
                samples: rest[..end].to_vec(),
            });
            rest = &rest[end..];
        }
    }
    for (window, list) in windows {
        db.write_block(tenant, 1, window * span, (window + 1) * span, &list)
            .map_err(|e| e.to_string())?;
        report.blocks += 1;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitrine_tsdb::{MatchOp, Matcher};

    #[test]
    fn an_openmetrics_backfill_in_any_order_lands_in_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        let file = b"# TYPE up gauge\nup{job=\"a\"} 1 1700000030\nup{job=\"a\"} 0 1700000015\nup{job=\"b\"} 1 1700000015\nup{job=\"a\"} 1 1600000000\nup{job=\"a\"} 0 1700000015\n# EOF\n";
        let report = import_openmetrics(&db, 3, file, 1_650_000_000_000, &mut |_| {}).unwrap();
        assert_eq!(
            report,
            Imported {
                samples: 3,
                series: 2,
                blocks: 1,
                too_old: 1,
                duplicates: 1
            }
        );
        let all = db
            .select(
                3,
                &[Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()],
                0,
                i64::MAX,
            )
            .unwrap();
        assert_eq!(all[0].samples, vec![(1_700_000_015_000, 0.0), (1_700_000_030_000, 1.0)]);
        let err = import_openmetrics(&db, 3, b"up 1\n# EOF\n", 0, &mut |_| {}).unwrap_err();
        assert!(err.contains("without a timestamp"), "{err}");
        let err = import_openmetrics(&db, 3, b"up 1 1700000000\n", 0, &mut |_| {}).unwrap_err();
        assert!(err.contains("EOF"), "{err}");
    }
}
