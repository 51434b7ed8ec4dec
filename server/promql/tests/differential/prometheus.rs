//! A real Prometheus on loopback, fed with the data set: backfilled blocks made by `promtool`
//! from OpenMetrics text, then remote-written samples (with staleness markers). Asked through
//! its HTTP API with plain HTTP/1.0 requests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::data::{Batch, Dataset};

pub struct Prometheus {
    child: Child,
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

/// Starts Prometheus on the data directory `dir` and a free loopback port.
fn spawn(binary: &Path, dir: &Path, flags: &[&str]) -> Result<(Child, u16), String> {
    let port = free_port();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("prometheus.log"))
        .map_err(|e| e.to_string())?;
    let child = Command::new(binary)
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
        .arg("--storage.tsdb.retention.time=20y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .arg("--log.level=warn")
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| e.to_string())?;
    Ok((child, port))
}

/// The path of an executable on `PATH`.
pub fn find_executable(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Prometheus {
    pub fn start(data: &Dataset) -> Result<Prometheus, String> {
        let prometheus = find_executable("prometheus").ok_or("no prometheus")?;
        let promtool = find_executable("promtool").ok_or("no promtool")?;
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vitrine-promql-diff-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let input = dir.join("data.om");
        std::fs::write(&input, data.openmetrics()).map_err(|e| e.to_string())?;
        let tsdb = dir.join("tsdb");
        let out = Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&tsdb)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "promtool failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, "global:\n  evaluation_interval: 1m\nscrape_configs: []\n")
            .map_err(|e| e.to_string())?;
        let (child, port) = spawn(&prometheus, &dir, &[])?;
        let p = Prometheus {
            child,
            port,
            dir,
            binary: prometheus,
        };
        p.wait_ready()?;
        p.remote_write_all(data)?;
        Ok(p)
    }

    /// Restarts Prometheus on the same data with further flags (the remote-written samples
    /// come back from its write-ahead log).
    pub fn restart(&mut self, flags: &[&str]) -> Result<(), String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, port) = spawn(&self.binary, &self.dir, flags)?;
        self.child = child;
        self.port = port;
        self.wait_ready()
    }

    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok((200, _)) = self.request("GET", "/-/ready", &[], &[]) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "prometheus did not become ready; see {}",
                    self.log_path().display()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("prometheus.log")
    }

    /// Sends the samples from the split on, in windows of ten minutes across all series so
    /// that the head accepts them in time order.
    fn remote_write_all(&self, data: &Dataset) -> Result<(), String> {
        let part = data.remote_write_part();
        let Some(min) = part.iter().flat_map(|(_, s)| s.iter().map(|(t, _)| *t)).min() else {
            return Ok(());
        };
        let max = part.iter().flat_map(|(_, s)| s.iter().map(|(t, _)| *t)).max().unwrap();
        let mut from = min;
        while from <= max {
            let to = from + 600_000;
            let batch: Vec<Batch<'_>> = part
                .iter()
                .map(|(l, s)| {
                    (
                        *l,
                        s.iter()
                            .copied()
                            .filter(|(t, _)| *t >= from && *t < to)
                            .collect::<Vec<_>>(),
                    )
                })
                .filter(|(_, s)| !s.is_empty())
                .collect();
            let body = snappy_literal(&write_request(&batch));
            let (status, text) = self.request(
                "POST",
                "/api/v1/write",
                &[
                    ("Content-Type", "application/x-protobuf"),
                    ("Content-Encoding", "snappy"),
                    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
                ],
                &body,
            )?;
            if status / 100 != 2 {
                return Err(format!("remote write: {status} {text}"));
            }
            from = to;
        }
        Ok(())
    }

    /// `/api/v1/query_range`: the parsed JSON answer.
    pub fn query_range(&self, query: &str, start: i64, end: i64, step: i64) -> Result<serde_json::Value, String> {
        let path = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step={}",
            urlencode(query),
            seconds(start),
            seconds(end),
            seconds(step)
        );
        let (_, body) = self.request("GET", &path, &[], &[])?;
        serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
    }

    /// `/api/v1/query`: the parsed JSON answer.
    pub fn query(&self, query: &str, time: i64) -> Result<serde_json::Value, String> {
        let path = format!("/api/v1/query?query={}&time={}", urlencode(query), seconds(time));
        let (_, body) = self.request("GET", &path, &[], &[])?;
        serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, String), String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(|e| e.to_string())?;
        let mut req = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        s.write_all(body).map_err(|e| e.to_string())?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&resp);
        let (head, body) = text.split_once("\r\n\r\n").ok_or("malformed HTTP response")?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("malformed status line")?;
        Ok((status, body.to_owned()))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("KEEP_PROMETHEUS_DIR").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Milliseconds as the decimal seconds the API takes.
pub fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, field << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A `prometheus.WriteRequest` protobuf.
fn write_request(series: &[Batch<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (labels, samples) in series {
        let mut ts = Vec::new();
        for (n, v) in labels.iter() {
            let mut l = Vec::new();
            field_bytes(&mut l, 1, n.as_bytes());
            field_bytes(&mut l, 2, v.as_bytes());
            field_bytes(&mut ts, 1, &l);
        }
        for (t, v) in samples {
            let mut s = Vec::new();
            varint(&mut s, 1 << 3 | 1);
            s.extend_from_slice(&v.to_bits().to_le_bytes());
            varint(&mut s, 2 << 3);
            varint(&mut s, *t as u64);
            field_bytes(&mut ts, 2, &s);
        }
        field_bytes(&mut out, 1, &ts);
    }
    out
}

/// Snappy's block format with literals only (valid, uncompressed).
fn snappy_literal(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, data.len() as u64);
    for chunk in data.chunks(65_536) {
        let n = chunk.len() - 1;
        if n < 60 {
            out.push((n as u8) << 2);
        } else if n < 256 {
            out.push(60 << 2);
            out.push(n as u8);
        } else {
            out.push(61 << 2);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        out.extend_from_slice(chunk);
    }
    out
}
