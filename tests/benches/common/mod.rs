//! Helpers shared by the benchmarks: the on/off switch, finding programs and
//! free loopback ports, a node exporter, a Prometheus and a `vitrine serve`
//! in temporary directories, a tiny HTTP target server, RSS and CPU readings, and the
//! synthetic application series.
//!
//! Everything here talks to 127.0.0.1 only.

#![allow(dead_code)] // each benchmark uses a part of this module

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub const INSTALL_HINT: &str =
    "install Debian's packages with `apt-get update && apt-get install -y prometheus prometheus-node-exporter`";

/// Exits with one line unless `VITRINE_BENCH=1`: the benchmarks are slow and need extra programs.
pub fn skip_unless_enabled(bench: &str) {
    if std::env::var("VITRINE_BENCH").as_deref() != Ok("1") {
        println!("{bench}: skipped (run with `VITRINE_BENCH=1 cargo bench -p vitrine-tests --bench {bench}`)");
        std::process::exit(0);
    }
}

/// Prints a section heading.
pub fn section(title: &str) {
    println!();
    println!("== {title}");
}

// ---------------------------------------------------------------------------
// Programs and paths
// ---------------------------------------------------------------------------

/// The path of a program from `PATH`; panics with the install hint when missing.
pub fn require_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{name}` was not found in PATH: {INSTALL_HINT}");
}

/// The first line of `PROGRAM --version` (Prometheus' tools print it on stderr).
pub fn program_version(program: &Path) -> String {
    let out = Command::new(program)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("running {} --version: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines().next().unwrap_or("").trim().to_string()
}

fn target_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| if dir.is_absolute() { dir } else { workspace.join(dir) })
        .unwrap_or_else(|| workspace.join("target"))
}

/// The release `vitrine` binary: `VITRINE_BIN`, else `<workspace>/target/release/vitrine`.
pub fn vitrine_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("VITRINE_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "VITRINE_BIN={} does not exist: build it with `cargo build --release -p vitrine`",
            path.display()
        );
        return path;
    }
    let path = target_dir().join("release").join("vitrine");
    assert!(
        path.is_file(),
        "the vitrine binary is missing at {}: build it first with `cargo build --release -p vitrine` (or set VITRINE_BIN)",
        path.display()
    );
    path
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

/// Bytes of every regular file under `dir` for which `count` holds, and the
/// same per top-level entry (for a breakdown).
pub fn file_bytes(dir: &Path, count: &dyn Fn(&Path) -> bool) -> (u64, Vec<(String, u64)>) {
    fn walk(path: &Path, count: &dyn Fn(&Path) -> bool) -> u64 {
        let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        if meta.is_dir() {
            let mut total = 0;
            for entry in fs::read_dir(path).unwrap_or_else(|e| panic!("listing {}: {e}", path.display())) {
                total += walk(&entry.expect("directory entry").path(), count);
            }
            total
        } else if meta.is_file() && count(path) {
            meta.len()
        } else {
            0
        }
    }
    let mut parts = Vec::new();
    let mut total = 0;
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for entry in entries {
        let bytes = walk(&entry, count);
        total += bytes;
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        parts.push((name, bytes));
    }
    (total, parts)
}

// ---------------------------------------------------------------------------
// Numbers for people
// ---------------------------------------------------------------------------

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in binary units with three significant digits.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else if value.abs() >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else if value.abs() >= 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

// ---------------------------------------------------------------------------
// Memory and CPU of processes
// ---------------------------------------------------------------------------

/// Resident memory from `/proc/<pid>/status`, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rss {
    pub total: u64,
    pub anon: u64,
    pub file: u64,
}

/// `pid` is a process id or `"self"`.
pub fn rss(pid: &str) -> Rss {
    let path = format!("/proc/{pid}/status");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut rss = Rss::default();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
        match key {
            "VmRSS" => rss.total = kib * 1024,
            "RssAnon" => rss.anon = kib * 1024,
            "RssFile" => rss.file = kib * 1024,
            _ => {}
        }
    }
    assert!(rss.total > 0, "no VmRSS in {path}");
    rss
}

/// User + system CPU seconds of a whole process (all its threads), from `/proc/<pid>/stat`.
pub fn process_cpu_seconds(pid: u32) -> f64 {
    let path = format!("/proc/{pid}/stat");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let after = &text[text.rfind(')').expect("stat has a command name") + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After ")": field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (utime + stime) as f64 / ticks
}

/// The 1, 5 and 15 minute load averages as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// CPU seconds used by the calling thread (nanosecond resolution).
pub fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

// ---------------------------------------------------------------------------
// HTTP on loopback
// ---------------------------------------------------------------------------

/// A plain HTTP/1.0 GET (no chunking, the server closes): status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> io::Result<(u16, Vec<u8>)> {
    http_request(
        addr,
        "GET",
        path,
        &[("Accept", "text/plain")],
        &[],
        Duration::from_secs(60),
    )
}

fn wait_for_http(addr: SocketAddr, path: &str, within: Duration, what: &str, log: &Path) {
    let start = Instant::now();
    loop {
        if let Ok((200, _)) = http_get(addr, path) {
            return;
        }
        if start.elapsed() > within {
            panic!(
                "{what} did not answer 200 on http://{addr}{path} within {within:?}; its log:\n{}",
                log_tail(log)
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Answers a GET path with a body (text format 0.0.4), or `None` for 404.
pub type Handler = Arc<dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync>;

/// A tiny HTTP/1.1 server on 127.0.0.1 for scrape targets: one thread per
/// connection, one request per connection.
pub struct TargetServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TargetServer {
    pub fn start(handler: Handler) -> TargetServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the target server");
        let addr = listener.local_addr().expect("target server address");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let handler = handler.clone();
                        thread::spawn(move || {
                            let _ = serve_one(stream, &handler);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(2)),
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        TargetServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(mut stream: TcpStream, handler: &Handler) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 || buf.len() > 64 * 1024 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    match handler(&path) {
        Some(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        None => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?,
    }
    stream.flush()
}

// ---------------------------------------------------------------------------
// Node exporter and Prometheus in temporary directories
// ---------------------------------------------------------------------------

/// Debian's `prometheus-node-exporter` on a free loopback port; killed on drop.
pub struct NodeExporter {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
    _dir: TempDir,
    pub version: String,
}

impl NodeExporter {
    pub fn start() -> NodeExporter {
        let program = require_program("prometheus-node-exporter");
        let version = program_version(&program);
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = dir.path().join("node-exporter.log");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("address");
        let child = Command::new(&program)
            .arg(format!("--web.listen-address={addr}"))
            // Needs the system bus, which containers lack: it would log an error per scrape.
            .arg("--no-collector.systemd")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("node exporter log"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let exporter = NodeExporter {
            child,
            addr,
            log,
            _dir: dir,
            version,
        };
        wait_for_http(
            addr,
            "/metrics",
            Duration::from_secs(20),
            "the node exporter",
            &exporter.log,
        );
        exporter
    }

    /// One scrape of `/metrics` (text format 0.0.4).
    pub fn scrape(&self) -> String {
        let (status, body) = http_get(self.addr, "/metrics")
            .unwrap_or_else(|e| panic!("scraping the node exporter at {}: {e}", self.addr));
        assert_eq!(
            status,
            200,
            "node exporter answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        String::from_utf8(body).expect("node exporter output is UTF-8")
    }

    /// Lines of its log that report errors (collectors that fail).
    pub fn error_lines(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("level=error"))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's `prometheus` with its data and configuration in a temporary
/// directory, listening on a free loopback port; killed on drop. Its scrape
/// targets come from a file (`set_targets`), which starts empty.
pub struct Prometheus {
    child: Child,
    pub addr: SocketAddr,
    dir: TempDir,
    pub version: String,
}

impl Prometheus {
    /// `job` is the body of one `scrape_configs` entry after `job_name`, indented by four spaces.
    pub fn start(job_name: &str, job: &str) -> Prometheus {
        Prometheus::start_with_flags(job_name, job, &[])
    }

    /// [`Prometheus::start`] with extra command-line flags (e.g. `--web.enable-remote-write-receiver`).
    pub fn start_with_flags(job_name: &str, job: &str, flags: &[&str]) -> Prometheus {
        let program = require_program("prometheus");
        let version = program_version(&program);
        let dir = tempfile::tempdir().expect("temporary directory");
        let targets = dir.path().join("targets.json");
        fs::write(&targets, "[]").expect("writing the targets file");
        let config = dir.path().join("prometheus.yml");
        let yaml = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: {job_name}\n{job}    file_sd_configs:\n      - files: ['{}']\n",
            targets.display()
        );
        fs::write(&config, yaml).expect("writing prometheus.yml");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("address");
        let log = dir.path().join("prometheus.log");
        let child = Command::new(&program)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("prometheus log"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let prometheus = Prometheus {
            child,
            addr,
            dir,
            version,
        };
        wait_for_http(addr, "/-/ready", Duration::from_secs(60), "Prometheus", &log);
        prometheus
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Replaces the scrape targets (file service discovery; Prometheus watches the file).
    pub fn set_targets(&self, groups: &serde_json::Value) {
        let tmp = self.dir.path().join("targets.json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(groups).expect("targets as JSON")).expect("writing targets");
        fs::rename(&tmp, self.dir.path().join("targets.json")).expect("replacing the targets file");
    }

    /// Its own metrics, summed per metric name over all label sets.
    pub fn metrics(&self) -> HashMap<String, f64> {
        server_metrics(self.addr, "Prometheus")
    }

    pub fn metric(&self, name: &str) -> f64 {
        self.metrics().get(name).copied().unwrap_or(0.0)
    }

    /// How many of its active targets were scraped and are up (`/api/v1/targets`).
    pub fn targets_up(&self) -> usize {
        let (status, body) = http_get(self.addr, "/api/v1/targets?state=active")
            .unwrap_or_else(|e| panic!("reading Prometheus' /api/v1/targets: {e}"));
        assert_eq!(status, 200, "Prometheus' /api/v1/targets answered {status}");
        let answer: serde_json::Value = serde_json::from_slice(&body).expect("/api/v1/targets is JSON");
        answer["data"]["activeTargets"]
            .as_array()
            .map_or(0, |targets| targets.iter().filter(|t| t["health"] == "up").count())
    }

    pub fn log_tail(&self) -> String {
        log_tail(&self.dir.path().join("prometheus.log"))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server's `/metrics` (text format), summed per metric name over all label sets.
pub fn server_metrics(addr: SocketAddr, what: &str) -> HashMap<String, f64> {
    let (status, body) = http_get(addr, "/metrics").unwrap_or_else(|e| panic!("reading {what}'s /metrics: {e}"));
    assert_eq!(status, 200, "{what}'s /metrics answered {status}");
    let mut out = HashMap::new();
    for line in String::from_utf8_lossy(&body).lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let value: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        *out.entry(line[..name_end].to_string()).or_insert(0.0) += value;
    }
    out
}

/// The release `vitrine` binary serving the demo (`vitrine serve --demo`) from
/// a fresh temporary data directory on a free loopback port; killed on drop
/// (the node exporter the demo starts ends with it).
pub struct VitrineServer {
    child: Child,
    binary: PathBuf,
    pub addr: SocketAddr,
    dir: TempDir,
    pub version: String,
}

impl VitrineServer {
    /// Runs `vitrine migrate`, then starts `vitrine serve --demo` and waits until it is ready.
    pub fn start_demo(binary: &Path) -> VitrineServer {
        VitrineServer::start_demo_with_env(binary, &[])
    }

    /// [`VitrineServer::start_demo`] with extra settings for `serve` (e.g. `VITRINE_MAX_SERIES_PER_CLIENT`).
    pub fn start_demo_with_env(binary: &Path, env: &[(&str, &str)]) -> VitrineServer {
        let version = program_version(binary);
        let dir = tempfile::Builder::new()
            .prefix("vitrine-bench-")
            .tempdir()
            .expect("temporary directory");
        for sub in ["data", "site"] {
            fs::create_dir_all(dir.path().join(sub)).expect("creating the data and site directories");
        }
        let out = vitrine_command(binary, dir.path())
            .arg("migrate")
            .output()
            .unwrap_or_else(|e| panic!("running {} migrate: {e}", binary.display()));
        assert!(
            out.status.success(),
            "`vitrine migrate` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = dir.path().join("serve.out");
        let log = dir.path().join("serve.log");
        let child = vitrine_command(binary, dir.path())
            .args(["serve", "--demo"])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).expect("vitrine's output file"))
            .stderr(fs::File::create(&log).expect("vitrine's log"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} serve --demo: {e}", binary.display()));
        let mut server = VitrineServer {
            child,
            binary: binary.to_path_buf(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dir,
            version,
        };
        const LISTENING: &str = "Vitrine listening on http://";
        let started = Instant::now();
        server.addr = loop {
            let text = fs::read_to_string(&stdout).unwrap_or_default();
            let found = text
                .lines()
                .find_map(|l| l.trim().strip_prefix(LISTENING))
                .and_then(|a| a.trim_end_matches('/').parse::<SocketAddr>().ok());
            if let Some(addr) = found {
                break addr;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "`vitrine serve --demo` exited ({status}) before listening; its log:\n{}",
                    log_tail(&log)
                );
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!(
                    "`vitrine serve --demo` printed no `{LISTENING}…` within 60 s; its log:\n{}",
                    log_tail(&log)
                );
            }
            thread::sleep(Duration::from_millis(50));
        };
        assert!(
            server.addr.ip().is_loopback(),
            "vitrine listens on {}, not loopback",
            server.addr
        );
        wait_for_http(server.addr, "/health/ready", Duration::from_secs(30), "vitrine", &log);
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs an operator command against the server's data directory; its standard output.
    pub fn run(&self, args: &[&str]) -> String {
        let out = vitrine_command(&self.binary, self.dir.path())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running vitrine {}: {e}", args.join(" ")));
        assert!(
            out.status.success(),
            "`vitrine {}` failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A file in the server's temporary directory (removed on drop).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Its own metrics, summed per metric name over all label sets.
    pub fn metrics(&self) -> HashMap<String, f64> {
        server_metrics(self.addr, "vitrine")
    }

    pub fn log_tail(&self) -> String {
        log_tail(&self.dir.path().join("serve.log"))
    }
}

impl Drop for VitrineServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `vitrine` with only the bench's settings: nothing inherited from `VITRINE_*` variables.
fn vitrine_command(binary: &Path, dir: &Path) -> Command {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VITRINE_") {
            command.env_remove(name);
        }
    }
    command
        .current_dir(dir)
        .env("VITRINE_DATA_DIR", dir.join("data"))
        .env("VITRINE_SITE_ROOT", dir.join("site"))
        .env("VITRINE_LISTEN", "127.0.0.1:0")
        .env("VITRINE_SCRAPE_ALLOW", "127.0.0.0/8")
        .env("VITRINE_LOG", "warn")
        .env("NO_COLOR", "1");
    command
}

// ---------------------------------------------------------------------------
// Both servers over data that was loaded beforehand (query benchmarks)
// ---------------------------------------------------------------------------

/// An operator command of `binary` on the data directory `data`, without a
/// server: its standard output, or both outputs in the error when it fails.
pub fn vitrine_cli(binary: &Path, data: &Path, args: &[&str]) -> Result<String, String> {
    let out = vitrine_command(binary, data)
        .env("VITRINE_DATA_DIR", data)
        .args(args)
        .output()
        .map_err(|e| format!("running {} {}: {e}", binary.display(), args.join(" ")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    Err(format!(
        "`vitrine {}` failed ({})\n--- stdout\n{stdout}\n--- stderr\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    ))
}

impl VitrineServer {
    /// `vitrine serve` (no demo, nothing to scrape) over the existing data
    /// directory `data`, which outlives the server, on a free loopback port;
    /// `env` adds settings (e.g. query limits). Waits until it is ready.
    pub fn serve_data(binary: &Path, data: &Path, env: &[(&str, &str)]) -> VitrineServer {
        let dir = tempfile::Builder::new()
            .prefix("vitrine-bench-")
            .tempdir()
            .expect("temporary directory");
        fs::create_dir(dir.path().join("site")).expect("creating the site directory");
        // `vitrine_command` (and so `run`) uses `<dir>/data`: a link keeps them on `data`,
        // and removing the temporary directory removes the link, not the data.
        std::os::unix::fs::symlink(data, dir.path().join("data")).expect("linking the data directory");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = dir.path().join("serve.log");
        let child = vitrine_command(binary, dir.path())
            .arg("serve")
            .env("VITRINE_LISTEN", addr.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("vitrine's log"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} serve: {e}", binary.display()));
        let server = VitrineServer {
            child,
            binary: binary.to_path_buf(),
            addr,
            dir,
            version: program_version(binary),
        };
        wait_for_http(addr, "/health/ready", Duration::from_secs(120), "vitrine serve", &log);
        server
    }
}

/// An agency on a fresh data directory with its owner signed in, to a server that does not
/// evaluate rules while the benchmark sets up its clients through the agency's forms.
pub struct BenchAgency {
    pub server: VitrineServer,
    owner: vitrine_tests::Client,
    csrf: String,
}

impl BenchAgency {
    /// Migrates `data`, makes the agency `bench` and its owner, and serves it.
    pub async fn start(binary: &Path, data: &Path) -> BenchAgency {
        let cli = |args: &[&str]| vitrine_cli(binary, data, args).unwrap_or_else(|e| panic!("{e}"));
        cli(&["migrate"]);
        cli(&["agency", "create", "--slug", "bench", "--name", "Bench agency"]);
        let created = cli(&[
            "user",
            "create",
            "--email",
            "owner@bench.example",
            "--agency",
            "bench",
            "--role",
            "agency_owner",
        ]);
        let password = created
            .lines()
            .find_map(|l| l.strip_prefix("password: "))
            .expect("the generated password")
            .trim()
            .to_string();
        let server = VitrineServer::serve_data(binary, data, &[("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "86400")]);
        let owner = vitrine_tests::Client::new(&format!("http://{}", server.addr));
        assert_eq!(owner.login("owner@bench.example", &password).await.status, 303);
        let csrf = owner.csrf().await;
        BenchAgency { server, owner, csrf }
    }

    /// Posts one of the agency's forms, which must succeed.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) {
        let mut fields = fields.to_vec();
        fields.push(("csrf", &self.csrf));
        let response = self.owner.post_form(path, &fields).await;
        assert!(
            response.status == 303 || response.status == 201,
            "{path}: {}",
            response.summary()
        );
    }

    /// A client made through the forms (clients are tenants 1, 2, … in the order they are
    /// made): the project `shop` with the environment `live`, `rules` imported as its thresholds.
    pub async fn add_client(&self, slug: &str, name: &str, rules: &str) {
        self.post("/agency/clients", &[("name", name), ("slug", slug), ("language", "en")])
            .await;
        self.post(
            &format!("/clients/{slug}/projects"),
            &[("name", "Shop"), ("slug", "shop")],
        )
        .await;
        self.post(
            &format!("/clients/{slug}/projects/shop/environments"),
            &[("name", "live")],
        )
        .await;
        self.post(
            &format!("/clients/{slug}/thresholds/import"),
            &[("place", "shop/live"), ("rules", rules)],
        )
        .await;
    }
}

impl Prometheus {
    /// Debian's `prometheus` serving the TSDB directory `data` (blocks from
    /// `promtool tsdb create-blocks-from`; it outlives the server) with no
    /// scrape job and a 20-year retention, so nothing is added or deleted.
    /// Waits until it is ready, i.e. has opened the blocks.
    pub fn serve_blocks(data: &Path) -> Prometheus {
        Prometheus::serve_blocks_with(data, "scrape_configs: []\n")
    }

    /// [`Prometheus::serve_blocks`] with this `prometheus.yml` (e.g. rule files to evaluate).
    pub fn serve_blocks_with(data: &Path, config_yaml: &str) -> Prometheus {
        let program = require_program("prometheus");
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("prometheus.yml");
        fs::write(&config, config_yaml).expect("writing prometheus.yml");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = dir.path().join("prometheus.log");
        let flags = [
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", data.display()),
            "--storage.tsdb.retention.time=20y".to_string(),
            format!("--web.listen-address={addr}"),
        ];
        let child = Command::new(&program)
            .args(&flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("prometheus log"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let prometheus = Prometheus {
            child,
            addr,
            dir,
            version: program_version(&program),
        };
        wait_for_http(addr, "/-/ready", Duration::from_secs(300), "Prometheus", &log);
        prometheus
    }
}

// ---------------------------------------------------------------------------
// Randomness and number formatting
// ---------------------------------------------------------------------------

/// xoshiro256++ seeded through SplitMix64: the same numbers on every machine and release.
pub struct Rng([u64; 4]);

pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut s = [0u64; 4];
        let mut x = seed;
        for slot in &mut s {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            *slot = splitmix64(x);
        }
        Rng(s)
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            0
        } else if lambda < 30.0 {
            let limit = (-lambda).exp();
            let mut k = 0;
            let mut p = self.f64();
            while p > limit {
                k += 1;
                p *= self.f64();
            }
            k
        } else {
            (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64
        }
    }
}

/// Formats a float as Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which the
/// Prometheus client libraries use: the shortest text that reads back to the
/// same number, with an exponent below 1e-4 and from 1e21 on.
pub fn push_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
    } else {
        // Rust's `{:e}` is the shortest round-trip form too; its exponent decides the notation.
        let sci = format!("{v:e}");
        let (mantissa, exp) = sci.split_once('e').expect("exponent form");
        let exp: i32 = exp.parse().expect("exponent");
        if (-4..21).contains(&exp) {
            let _ = write!(out, "{v}");
        } else {
            let sign = if exp < 0 { '-' } else { '+' };
            let _ = write!(out, "{mantissa}e{sign}{:02}", exp.abs());
        }
    }
}

pub fn float_text(v: f64) -> String {
    let mut s = String::new();
    push_float(&mut s, v);
    s
}

// ---------------------------------------------------------------------------
// The application a client runs: request counters, latency histograms,
// gauges and business counters, as a client library exposes them.
// ---------------------------------------------------------------------------

const ROUTES: [(&str, &str); 20] = [
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/logout"),
    ("GET", "/dashboard"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/:id"),
    ("PUT", "/api/v1/users/:id"),
    ("DELETE", "/api/v1/users/:id"),
    ("GET", "/api/v1/orders"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/orders/:id"),
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/:id"),
    ("GET", "/api/v1/search"),
    ("POST", "/api/v1/checkout"),
    ("GET", "/static/*"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
];
const STATUSES: [(&str, f64); 4] = [("200", 0.92), ("302", 0.03), ("404", 0.04), ("500", 0.01)];
/// client_golang's default buckets.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const QUEUES: [&str; 3] = ["emails", "webhooks", "exports"];
const TX_TYPES: [(&str, f64); 4] = [
    ("order", 0.05),
    ("refund", 0.004),
    ("signup", 0.02),
    ("subscription_renewal", 0.01),
];
const TX_STATUSES: [(&str, f64); 3] = [("completed", 0.9), ("failed", 0.07), ("pending", 0.03)];
/// Products and their prices in cents.
const PRODUCTS: [(&str, f64); 5] = [
    ("starter", 999.0),
    ("basic", 1999.0),
    ("pro", 4999.0),
    ("team", 14900.0),
    ("addon-storage", 250.0),
];
const CURRENCIES: [(&str, f64); 3] = [("EUR", 0.6), ("USD", 0.3), ("GBP", 0.1)];

struct RouteState {
    rate: f64,
    median_s: f64,
    requests: [f64; 4],
    buckets: [u64; 12],
    sum: f64,
    count: u64,
}

/// Simulates one application instance, 15 s of traffic per `step`.
pub struct AppSim {
    rng: Rng,
    steps: u64,
    routes: Vec<RouteState>,
    active_users: f64,
    queue_depth: [f64; 3],
    transactions: [[f64; 3]; 4],
    revenue: [[f64; 3]; 5],
}

impl AppSim {
    pub fn new(seed: u64) -> AppSim {
        let mut rng = Rng::new(seed);
        let routes = (0..ROUTES.len())
            .map(|i| RouteState {
                // A long tail: a few busy routes, many quiet ones.
                rate: 30.0 / (i as f64 + 1.0) * (0.5 + rng.f64()),
                median_s: 0.01 + 0.2 * rng.f64() * rng.f64(),
                requests: [0.0; 4],
                buckets: [0; 12],
                sum: 0.0,
                count: 0,
            })
            .collect();
        AppSim {
            rng,
            steps: 0,
            routes,
            active_users: 250.0,
            queue_depth: [0.0; 3],
            transactions: [[0.0; 3]; 4],
            revenue: [[0.0; 3]; 5],
        }
    }

    /// Series per page.
    pub const SERIES: usize = 20 * 4 + 20 * 14 + 1 + 3 + 4 * 3 + 5 * 3;

    /// Advances 15 seconds.
    pub fn step(&mut self) {
        let rng = &mut self.rng;
        self.steps += 1;
        let seconds = self.steps as f64 * 15.0;
        let daily = 1.0 + 0.6 * (std::f64::consts::TAU * seconds / 86_400.0).sin();
        for route in &mut self.routes {
            for (s, (_, share)) in STATUSES.iter().enumerate() {
                let n = rng.poisson(route.rate * 15.0 * daily * share);
                route.requests[s] += n as f64;
                for _ in 0..n {
                    let slow = if s == 3 { 3.0 } else { 1.0 };
                    let latency = route.median_s * slow * (0.6 * rng.normal()).exp();
                    let bucket = BUCKETS.iter().position(|le| latency <= *le).unwrap_or(BUCKETS.len());
                    route.buckets[bucket] += 1;
                    route.sum += latency;
                    route.count += 1;
                }
            }
        }
        let target = 300.0 * daily;
        self.active_users = (self.active_users + (target - self.active_users) * 0.1 + 6.0 * rng.normal())
            .round()
            .max(0.0);
        for depth in &mut self.queue_depth {
            *depth = if rng.f64() < 0.05 {
                *depth + rng.below(200) as f64
            } else {
                (*depth * 0.6 - rng.poisson(2.0) as f64).max(0.0).floor()
            };
        }
        for (t, (_, rate)) in TX_TYPES.iter().enumerate() {
            for (s, (_, share)) in TX_STATUSES.iter().enumerate() {
                let n = rng.poisson(rate * 15.0 * daily * share);
                self.transactions[t][s] += n as f64;
                if t == 0 && s == 0 {
                    for _ in 0..n {
                        let product = rng.below(PRODUCTS.len() as u64) as usize;
                        let pick = rng.f64();
                        let currency = if pick < CURRENCIES[0].1 {
                            0
                        } else if pick < CURRENCIES[0].1 + CURRENCIES[1].1 {
                            1
                        } else {
                            2
                        };
                        let quantity = 1.0 + rng.below(3) as f64;
                        self.revenue[product][currency] += PRODUCTS[product].1 * quantity;
                    }
                }
            }
        }
    }

    /// The page a scrape would get (Prometheus text format 0.0.4).
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP http_requests_total Requests handled, by method, route and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for (route, (method, path)) in self.routes.iter().zip(ROUTES) {
            for (s, (status, _)) in STATUSES.iter().enumerate() {
                let _ = write!(
                    out,
                    "http_requests_total{{method=\"{method}\",route=\"{path}\",status=\"{status}\"}} "
                );
                push_float(out, route.requests[s]);
                out.push('\n');
            }
        }
        out.push_str("# HELP http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (route, (method, path)) in self.routes.iter().zip(ROUTES) {
            let mut cumulative = 0;
            for (i, count) in route.buckets.iter().enumerate() {
                cumulative += count;
                let le = BUCKETS.get(i).map_or_else(|| "+Inf".to_string(), |b| float_text(*b));
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{path}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = write!(
                out,
                "http_request_duration_seconds_sum{{method=\"{method}\",route=\"{path}\"}} "
            );
            push_float(out, route.sum);
            out.push('\n');
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{method=\"{method}\",route=\"{path}\"}} {}",
                route.count
            );
        }
        out.push_str("# HELP active_users Users with a session active in the last five minutes.\n");
        out.push_str("# TYPE active_users gauge\n");
        out.push_str("active_users ");
        push_float(out, self.active_users);
        out.push('\n');
        out.push_str("# HELP queue_depth Jobs waiting, by queue.\n");
        out.push_str("# TYPE queue_depth gauge\n");
        for (queue, depth) in QUEUES.iter().zip(self.queue_depth) {
            let _ = write!(out, "queue_depth{{queue=\"{queue}\"}} ");
            push_float(out, depth);
            out.push('\n');
        }
        out.push_str("# HELP business_transactions_total Business transactions, by type and outcome.\n");
        out.push_str("# TYPE business_transactions_total counter\n");
        for (t, (kind, _)) in TX_TYPES.iter().enumerate() {
            for (s, (status, _)) in TX_STATUSES.iter().enumerate() {
                let _ = write!(
                    out,
                    "business_transactions_total{{type=\"{kind}\",status=\"{status}\"}} "
                );
                push_float(out, self.transactions[t][s]);
                out.push('\n');
            }
        }
        out.push_str("# HELP business_revenue_total Revenue in cents, by product and currency.\n");
        out.push_str("# TYPE business_revenue_total counter\n");
        for (p, (product, _)) in PRODUCTS.iter().enumerate() {
            for (c, (currency, _)) in CURRENCIES.iter().enumerate() {
                let _ = write!(
                    out,
                    "business_revenue_total{{product=\"{product}\",currency=\"{currency}\"}} "
                );
                push_float(out, self.revenue[p][c]);
                out.push('\n');
            }
        }
    }

    pub fn page(&self) -> String {
        let mut out = String::with_capacity(64 * 1024);
        self.render(&mut out);
        out
    }
}

// ---------------------------------------------------------------------------
// A small reader of the text format (for pages we made or the node exporter's),
// and the conversion of many scrapes into one OpenMetrics file for backfilling.
// ---------------------------------------------------------------------------

pub struct TextSample<'a> {
    pub name: &'a str,
    /// Label values stay escaped as on the page (the same escaping as OpenMetrics').
    pub labels: Vec<(&'a str, &'a str)>,
    pub value: &'a str,
}

pub struct TextFamily<'a> {
    pub name: &'a str,
    /// counter, gauge, histogram, summary or untyped.
    pub kind: &'a str,
    pub samples: Vec<TextSample<'a>>,
}

fn belongs(family: &TextFamily, sample: &str) -> bool {
    if sample == family.name {
        return true;
    }
    let Some(suffix) = sample.strip_prefix(family.name) else {
        return false;
    };
    match family.kind {
        "summary" => suffix == "_sum" || suffix == "_count",
        "histogram" => suffix == "_sum" || suffix == "_count" || suffix == "_bucket",
        _ => false,
    }
}

fn parse_sample(line: &str) -> TextSample<'_> {
    let bad = || -> ! { panic!("unreadable sample line: {line:?}") };
    let name_end = line.find(['{', ' ', '\t']).unwrap_or_else(|| bad());
    let name = &line[..name_end];
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            inner = inner.trim_start_matches([' ', ',']);
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = inner.find('=').unwrap_or_else(|| bad());
            let label = inner[..eq].trim();
            let value_start = inner[eq + 1..].strip_prefix('"').unwrap_or_else(|| bad());
            let bytes = value_start.as_bytes();
            let mut i = 0;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            if i >= bytes.len() {
                bad();
            }
            labels.push((label, &value_start[..i]));
            inner = &value_start[i + 1..];
        }
    }
    let value = rest.split_whitespace().next().unwrap_or_else(|| bad());
    TextSample { name, labels, value }
}

/// The families of a text-format page, in page order.
pub fn parse_text(page: &str) -> Vec<TextFamily<'_>> {
    let mut families: Vec<TextFamily> = Vec::new();
    for line in page.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap_or("");
            let kind = parts.next().unwrap_or("untyped");
            families.push(TextFamily {
                name,
                kind,
                samples: Vec::new(),
            });
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let sample = parse_sample(line);
        match families.last_mut() {
            Some(family) if belongs(family, sample.name) => family.samples.push(sample),
            _ => families.push(TextFamily {
                name: sample.name,
                kind: "untyped",
                samples: vec![sample],
            }),
        }
    }
    families
}

struct OmFamily {
    name: String,
    kind: &'static str,
    /// Series text (`name{labels}`) by series number.
    series: Vec<String>,
    series_index: HashMap<String, u32>,
    /// Metrics (a histogram's or summary's series without `le`/`quantile` form one).
    groups: Vec<Vec<(u32, u32, Box<str>)>>,
    group_index: HashMap<String, usize>,
}

/// Collects many scrapes and writes them as one OpenMetrics file with
/// timestamps, as `promtool tsdb create-blocks-from openmetrics` reads it:
/// each metric family once (`# TYPE`), its metrics one after the other, the
/// points of a metric in time order, `# EOF` at the end.
#[derive(Default)]
pub struct OpenMetricsBuilder {
    families: Vec<OmFamily>,
    by_text_name: HashMap<String, usize>,
    om_names: HashSet<String>,
    pub samples: u64,
}

impl OpenMetricsBuilder {
    /// Adds one scrape's page; `target` labels are attached as a scrape would (job, instance).
    pub fn add_page(&mut self, scrape: u32, page: &str, target: &[(&str, &str)]) {
        for family in parse_text(page) {
            let index = match self.by_text_name.get(family.name) {
                Some(i) => *i,
                None => {
                    let (mut name, mut kind) = match family.kind {
                        "counter" => match family.name.strip_suffix("_total") {
                            Some(base) => (base.to_string(), "counter"),
                            // OpenMetrics counters end in _total; others stay untyped.
                            None => (family.name.to_string(), "unknown"),
                        },
                        "gauge" => (family.name.to_string(), "gauge"),
                        "histogram" => (family.name.to_string(), "histogram"),
                        "summary" => (family.name.to_string(), "summary"),
                        _ => (family.name.to_string(), "unknown"),
                    };
                    if self.om_names.contains(&name) {
                        name = family.name.to_string();
                        kind = "unknown";
                        assert!(!self.om_names.contains(&name), "two families named {name}");
                    }
                    self.om_names.insert(name.clone());
                    self.families.push(OmFamily {
                        name,
                        kind,
                        series: Vec::new(),
                        series_index: HashMap::new(),
                        groups: Vec::new(),
                        group_index: HashMap::new(),
                    });
                    self.by_text_name
                        .insert(family.name.to_string(), self.families.len() - 1);
                    self.families.len() - 1
                }
            };
            let om = &mut self.families[index];
            for sample in family.samples {
                let mut series = String::with_capacity(128);
                let mut group = String::with_capacity(128);
                series.push_str(sample.name);
                group.push_str(family.name);
                let all = sample.labels.iter().chain(target.iter());
                for (i, (label, value)) in all.enumerate() {
                    series.push(if i == 0 { '{' } else { ',' });
                    let _ = write!(series, "{label}=\"{value}\"");
                    if *label != "le" && *label != "quantile" {
                        let _ = write!(group, ",{label}=\"{value}\"");
                    }
                }
                if !sample.labels.is_empty() || !target.is_empty() {
                    series.push('}');
                }
                let series_number = match om.series_index.get(&series) {
                    Some(n) => *n,
                    None => {
                        let n = om.series.len() as u32;
                        om.series.push(series.clone());
                        om.series_index.insert(series, n);
                        n
                    }
                };
                let group_number = match om.group_index.get(&group) {
                    Some(g) => *g,
                    None => {
                        om.groups.push(Vec::new());
                        om.group_index.insert(group, om.groups.len() - 1);
                        om.groups.len() - 1
                    }
                };
                om.groups[group_number].push((scrape, series_number, sample.value.into()));
                self.samples += 1;
            }
        }
    }

    pub fn series(&self) -> u64 {
        self.families.iter().map(|f| f.series.len() as u64).sum()
    }

    /// Series whose value never changed.
    pub fn constant_series(&self) -> u64 {
        let mut first: HashMap<(usize, u32), &str> = HashMap::new();
        let mut changed: HashSet<(usize, u32)> = HashSet::new();
        for (f, family) in self.families.iter().enumerate() {
            for group in &family.groups {
                for (_, series, value) in group {
                    let seen = first.entry((f, *series)).or_insert(value);
                    if *seen != &**value {
                        changed.insert((f, *series));
                    }
                }
            }
        }
        (first.len() - changed.len()) as u64
    }

    /// How many samples, and an order-independent digest of them (see [`SampleDigest`]),
    /// with scrape `i` at `t0 + i × step` seconds.
    pub fn digest(&self, t0_s: i64, step_s: i64) -> SampleDigest {
        let mut digest = SampleDigest::default();
        for family in &self.families {
            let keys: Vec<u64> = family
                .series
                .iter()
                .map(|series| {
                    let line = format!("{series} 0");
                    let sample = parse_sample(&line);
                    let mut pairs: Vec<(String, String)> = vec![("__name__".to_string(), sample.name.to_string())];
                    pairs.extend(sample.labels.iter().map(|(n, v)| (n.to_string(), unescape(v))));
                    labels_hash(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
                })
                .collect();
            for group in &family.groups {
                for (scrape, series, value) in group {
                    let v: f64 = value.parse().unwrap_or_else(|_| {
                        panic!("unreadable value {value:?} of {}", family.series[*series as usize])
                    });
                    digest.add(keys[*series as usize], (t0_s + *scrape as i64 * step_s) * 1000, v);
                }
            }
        }
        digest
    }

    /// Writes the file; scrape `i` is stamped `t0 + i × step` (seconds).
    pub fn write(&self, out: &mut impl Write, t0_s: i64, step_s: i64) -> io::Result<()> {
        for family in &self.families {
            writeln!(out, "# TYPE {} {}", family.name, family.kind)?;
            for group in &family.groups {
                for (scrape, series, value) in group {
                    let t = t0_s + *scrape as i64 * step_s;
                    writeln!(out, "{} {} {t}.000", family.series[*series as usize], value)?;
                }
            }
        }
        writeln!(out, "# EOF")
    }
}

/// Label values as escaped in the text formats → the value.
fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A label set's hash, as a store sees it: sorted by name, empty values dropped.
pub fn labels_hash<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut pairs: Vec<(&str, &str)> = pairs.filter(|(_, v)| !v.is_empty()).collect();
    pairs.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, value) in pairs {
        for byte in name.bytes().chain([0xff]).chain(value.bytes()).chain([0xfe]) {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// An order-independent digest of (series, timestamp, value bits) triples,
/// to check that a store gives back every sample bit for bit. Every NaN counts as one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleDigest {
    pub samples: u64,
    pub sum: u64,
}

impl SampleDigest {
    pub fn add(&mut self, labels_hash: u64, t_ms: i64, v: f64) {
        let bits = if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() };
        let h = splitmix64(splitmix64(labels_hash ^ t_ms as u64) ^ bits);
        self.samples += 1;
        self.sum = self.sum.wrapping_add(h);
    }
}

// ---------------------------------------------------------------------------
// More HTTP on loopback: any method, extra headers, a request body
// ---------------------------------------------------------------------------

/// One HTTP/1.0 request (the server closes; no chunking): status and body.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<(u16, Vec<u8>)> {
    http_exchange(addr, method, path, headers, body, timeout).map(|answer| (answer.status, answer.body))
}

/// Percent-encodes a query parameter value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Sends `signal` to a process we started.
pub fn send_signal(pid: u32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions; `pid` is our own child.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

/// Waits until a process' CPU use stays below `share` of one core over
/// `window`, for at most `within`; returns whether it did.
pub fn wait_cpu_idle(pid: u32, share: f64, window: Duration, within: Duration) -> bool {
    let started = Instant::now();
    loop {
        let before = process_cpu_seconds(pid);
        thread::sleep(window);
        if (process_cpu_seconds(pid) - before) / window.as_secs_f64() < share {
            return true;
        }
        if started.elapsed() > within {
            return false;
        }
    }
}

impl Prometheus {
    /// The TSDB directory of a server made by [`Prometheus::start`] or [`Prometheus::start_with_flags`].
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops the server with `signal` (`libc::SIGTERM` or `libc::SIGKILL`), waits for it
    /// to exit, starts it again with the same command line and data, and waits until
    /// `/-/ready` answers 200 (at most `within`). Returns the seconds from the new start to ready.
    pub fn restart(&mut self, signal: i32, within: Duration) -> f64 {
        let pid = self.child.id();
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).expect("Prometheus' command line");
        let mut parts = cmdline
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let program = parts.next().expect("a program in the command line");
        let args: Vec<String> = parts.collect();
        send_signal(pid, signal);
        let _ = self.child.wait();
        let log = self.dir.path().join("prometheus.log");
        let log_file = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&log)
            .expect("prometheus log");
        let started = Instant::now();
        self.child = Command::new(&program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program} again: {e}"));
        wait_for_http(self.addr, "/-/ready", within, "Prometheus (restarted)", &log);
        started.elapsed().as_secs_f64()
    }
}

// ---------------------------------------------------------------------------
// VictoriaMetrics (Debian's single-node `victoria-metrics`)
// ---------------------------------------------------------------------------

/// Debian's `victoria-metrics` with its data in a temporary directory, on a
/// free loopback port; killed on drop.
pub struct VictoriaMetrics {
    child: Child,
    pub addr: SocketAddr,
    dir: TempDir,
    pub version: String,
}

impl VictoriaMetrics {
    /// The program: `victoria-metrics` (Debian) or `victoria-metrics-prod` (upstream's name).
    pub fn program() -> PathBuf {
        let path = std::env::var_os("PATH").unwrap_or_default();
        for name in ["victoria-metrics", "victoria-metrics-prod"] {
            for dir in std::env::split_paths(&path) {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return candidate;
                }
            }
        }
        panic!(
            "neither `victoria-metrics` nor `victoria-metrics-prod` is in PATH: install Debian's package with \
             `apt-get install -y --no-install-recommends victoria-metrics`"
        );
    }

    /// Starts it with `-storageDataPath` in a fresh temporary directory, a 10-year
    /// retention (backfilled data is never dropped) and `flags`; waits for `/health`.
    pub fn start(flags: &[&str]) -> VictoriaMetrics {
        let program = VictoriaMetrics::program();
        let dir = tempfile::tempdir().expect("temporary directory");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = dir.path().join("victoria-metrics.log");
        let child = Command::new(&program)
            .arg(format!("-storageDataPath={}", dir.path().join("data").display()))
            .arg(format!("-httpListenAddr={addr}"))
            .arg("-retentionPeriod=10y")
            .arg("-loggerLevel=WARN")
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).expect("victoria-metrics log"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let mut vm = VictoriaMetrics {
            child,
            addr,
            dir,
            version: String::new(),
        };
        wait_for_http(addr, "/health", Duration::from_secs(60), "VictoriaMetrics", &log);
        let (_, body) = http_get(addr, "/metrics").unwrap_or_else(|e| panic!("reading VictoriaMetrics' /metrics: {e}"));
        vm.version = String::from_utf8_lossy(&body)
            .lines()
            .find_map(|l| l.strip_prefix("vm_app_version{"))
            .and_then(|l| l.split("version=\"").nth(1))
            .and_then(|l| l.split('"').next())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| {
                // Debian's build carries no version string: the package's version then.
                Command::new("dpkg-query")
                    .args(["-W", "-f=${Version}", "victoria-metrics"])
                    .output()
                    .ok()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                    .filter(|v| !v.is_empty())
                    .map_or_else(|| "(unknown version)".to_string(), |v| format!("{v} (Debian package)"))
            });
        vm
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Its own metrics, summed per metric name over all label sets.
    pub fn metrics(&self) -> HashMap<String, f64> {
        server_metrics(self.addr, "VictoriaMetrics")
    }

    /// Its own metrics, one entry per series as written (`name{labels}` → value).
    pub fn metric_lines(&self) -> HashMap<String, f64> {
        let (status, body) =
            http_get(self.addr, "/metrics").unwrap_or_else(|e| panic!("reading VictoriaMetrics' /metrics: {e}"));
        assert_eq!(status, 200, "VictoriaMetrics' /metrics answered {status}");
        String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                Some((series.to_string(), value.parse().ok()?))
            })
            .collect()
    }

    /// Posts Prometheus text (samples with millisecond timestamps) to `/api/v1/import/prometheus`.
    pub fn import_prometheus(&self, body: &[u8]) -> Result<(), String> {
        match http_request(
            self.addr,
            "POST",
            "/api/v1/import/prometheus",
            &[("Content-Type", "text/plain")],
            body,
            Duration::from_secs(300),
        ) {
            Ok((200 | 204, _)) => Ok(()),
            Ok((status, body)) => Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body))),
            Err(e) => Err(e.to_string()),
        }
    }

    /// GET a path; panics unless it answers 200.
    pub fn get(&self, path: &str) -> Vec<u8> {
        let (status, body) = http_get(self.addr, path).unwrap_or_else(|e| panic!("VictoriaMetrics GET {path}: {e}"));
        assert_eq!(
            status,
            200,
            "VictoriaMetrics GET {path} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        body
    }

    /// `/internal/force_flush`: buffered rows become searchable and reach the disk.
    pub fn force_flush(&self) {
        self.get("/internal/force_flush");
    }

    /// `/internal/force_merge` (every partition), then waits until no merge runs and
    /// the data directory's size has stayed the same for `stable` (at most `within`).
    /// Returns whether it settled.
    pub fn force_merge_and_settle(&self, stable: Duration, within: Duration) -> bool {
        self.get("/internal/force_merge");
        let started = Instant::now();
        let mut last = (u64::MAX, Instant::now());
        loop {
            thread::sleep(Duration::from_millis(500));
            let size = file_bytes(&self.data_dir(), &|_| true).0;
            let merging: f64 = self
                .metric_lines()
                .iter()
                .filter(|(k, _)| k.starts_with("vm_active_merges"))
                .map(|(_, v)| *v)
                .sum();
            if size != last.0 || merging > 0.0 {
                last = (size, Instant::now());
            } else if last.1.elapsed() >= stable {
                return true;
            }
            if started.elapsed() > within {
                return false;
            }
        }
    }

    /// Rows in the storage (`vm_rows` of the storage parts), after a flush.
    pub fn stored_rows(&self) -> f64 {
        self.metric_lines()
            .iter()
            .filter(|(k, _)| k.starts_with("vm_rows{type=\"storage/"))
            .map(|(_, v)| *v)
            .sum()
    }

    pub fn log_tail(&self) -> String {
        log_tail(&self.dir.path().join("victoria-metrics.log"))
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OpenMetricsBuilder {
    /// Writes every sample as Prometheus text with a millisecond timestamp
    /// (`series value t_ms`, what `/api/v1/import/prometheus` reads); scrape
    /// `i` is stamped `t0 + i × step` (seconds).
    pub fn write_prometheus_text(&self, out: &mut impl Write, t0_s: i64, step_s: i64) -> io::Result<()> {
        for family in &self.families {
            for group in &family.groups {
                for (scrape, series, value) in group {
                    let t_ms = (t0_s + *scrape as i64 * step_s) * 1000;
                    writeln!(out, "{} {} {t_ms}", family.series[*series as usize], value)?;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Status page benchmark: any build of the binary, a restart on the same data,
// HTTP answers with their headers, Debian's nginx serving one file
// ---------------------------------------------------------------------------

/// The `vitrine` binary and its profile: `VITRINE_BIN`, else the release build,
/// else the debug build (for a quick run; its figures are not the product's).
pub fn vitrine_binary_any() -> (PathBuf, &'static str) {
    if std::env::var_os("VITRINE_BIN").is_some() {
        return (vitrine_binary(), "VITRINE_BIN");
    }
    let release = target_dir().join("release").join("vitrine");
    if release.is_file() {
        return (release, "release");
    }
    let debug = target_dir().join("debug").join("vitrine");
    assert!(
        debug.is_file(),
        "no vitrine binary at {} or {}: build it with `cargo build --release -p vitrine`",
        release.display(),
        debug.display()
    );
    (debug, "debug")
}

impl VitrineServer {
    /// The SQLite database in the server's data directory (`<data>/vitrine.db`, see `server/src/config.rs`).
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("data").join("vitrine.db")
    }

    /// Stops the server with SIGTERM and waits until it has exited (SIGKILL after `within`);
    /// returns how long the clean shutdown took, or `None` when it had to be killed.
    pub fn stop(&mut self, within: Duration) -> Option<Duration> {
        let started = Instant::now();
        send_signal(self.child.id(), libc::SIGTERM);
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(started.elapsed());
            }
            if started.elapsed() > within {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the binary again with `args` (e.g. `serve --demo`) on the same directory and
    /// address (after [`VitrineServer::stop`]); `env` adds settings. Its output is appended
    /// to the first start's files. Waits until `/health/ready` answers 200.
    pub fn start_again(&mut self, args: &[&str], env: &[(&str, &str)]) {
        let append = |name: &str| {
            fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(self.dir.path().join(name))
                .unwrap_or_else(|e| panic!("opening {name}: {e}"))
        };
        let log = self.dir.path().join("serve.log");
        self.child = vitrine_command(&self.binary, self.dir.path())
            .args(args)
            .env("VITRINE_LISTEN", self.addr.to_string())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(append("serve.out"))
            .stderr(append("serve.log"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} {} again: {e}", self.binary.display(), args.join(" ")));
        wait_for_http(
            self.addr,
            "/health/ready",
            Duration::from_secs(120),
            "vitrine (started again)",
            &log,
        );
    }
}

/// An HTTP answer with its headers (names in lower case).
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// The first header of this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.0 request (the server closes; no chunking): status, headers and the body's
/// exact bytes (not decoded, whatever its `Content-Encoding`).
pub fn http_exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<HttpAnswer> {
    assert!(addr.ip().is_loopback(), "benchmarks talk to loopback only, not {addr}");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf)?;
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("HTTP response without a header end"))?;
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line: {status_line}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(HttpAnswer {
        status,
        headers,
        body: buf[end + 4..].to_vec(),
    })
}

/// User + system CPU seconds of a process and its direct children (nginx' master and
/// workers), from `/proc/<pid>/task/<pid>/children`.
pub fn process_and_children_cpu_seconds(pid: u32) -> f64 {
    let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    process_cpu_seconds(pid)
        + children
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
            .map(process_cpu_seconds)
            .sum::<f64>()
}

/// Debian's `nginx` (`/usr/sbin/nginx`) with its own configuration, logs and pid file in a
/// temporary directory, serving one file, pre-gzipped, at one path on a free loopback port;
/// stopped on drop.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    dir: TempDir,
    pub version: String,
}

impl Nginx {
    pub const PROGRAM: &'static str = "/usr/sbin/nginx";

    /// Serves `gzipped` (already gzip bytes) at `path` with `Content-Encoding: gzip` and
    /// `content_type`, with `workers` worker processes. Waits until `path` answers 200.
    pub fn serve_gzipped(path: &str, gzipped: &[u8], content_type: &str, workers: usize) -> Nginx {
        use std::os::unix::fs::PermissionsExt;
        let program = Path::new(Nginx::PROGRAM);
        assert!(
            program.is_file(),
            "{} is missing: install Debian's package with `apt-get install -y nginx`",
            program.display()
        );
        let out = Command::new(program)
            .arg("-v")
            .output()
            .unwrap_or_else(|e| panic!("running {} -v: {e}", program.display()));
        let version = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let dir = tempfile::Builder::new()
            .prefix("vitrine-bench-nginx-")
            .tempdir()
            .expect("temporary directory");
        // The workers run as an unprivileged user when started by root: they must read the file.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("opening the directory");
        let www = dir.path().join("www");
        fs::create_dir(&www).expect("creating the document root");
        fs::set_permissions(&www, fs::Permissions::from_mode(0o755)).expect("opening the document root");
        let file = www.join("page.html.gz");
        fs::write(&file, gzipped).expect("writing the page");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("opening the page");
        let temp = dir.path().join("temp");
        fs::create_dir(&temp).expect("creating nginx' temporary directory");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let d = dir.path().display();
        let config = format!(
            "daemon off;\n\
             master_process on;\n\
             worker_processes {workers};\n\
             error_log {d}/error.log warn;\n\
             pid {d}/nginx.pid;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
             \x20   access_log off;\n\
             \x20   client_body_temp_path {d}/temp/body;\n\
             \x20   proxy_temp_path {d}/temp/proxy;\n\
             \x20   fastcgi_temp_path {d}/temp/fastcgi;\n\
             \x20   uwsgi_temp_path {d}/temp/uwsgi;\n\
             \x20   scgi_temp_path {d}/temp/scgi;\n\
             \x20   types {{ }}\n\
             \x20   default_type \"{content_type}\";\n\
             \x20   server {{\n\
             \x20       listen {addr};\n\
             \x20       root {www};\n\
             \x20       location = {path} {{\n\
             \x20           add_header Content-Encoding gzip;\n\
             \x20           try_files /page.html.gz =404;\n\
             \x20       }}\n\
             \x20   }}\n\
             }}\n",
            www = www.display(),
        );
        let conf = dir.path().join("nginx.conf");
        fs::write(&conf, config).expect("writing nginx.conf");
        let log = dir.path().join("error.log");
        let child = Command::new(program)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(&log)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.path().join("nginx.stderr")).expect("nginx' stderr"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let nginx = Nginx {
            child,
            addr,
            dir,
            version,
        };
        wait_for_http(addr, path, Duration::from_secs(20), "nginx", &log);
        nginx
    }

    /// The master process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> String {
        fs::read_to_string(self.dir.path().join("nginx.conf")).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        log_tail(&self.dir.path().join("error.log"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT: a graceful stop of the master and its workers.
        send_signal(self.child.id(), libc::SIGQUIT);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
