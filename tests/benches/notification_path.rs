//! The notification path, Vitrine against Alertmanager 0.25: 1,000 alerts fire at once across
//! 100 clients (10 per client, one group per client), each group told in one mail delivered
//! to a real SMTP server (Debian's `aiosmtpd`).
//!
//! Vitrine: a fresh data directory, 100 clients made through the agency's forms, each with the
//! threshold `queue_length > 10` on shop/live and a team address as its channel; 10 series per
//! client (3 hours at one sample a minute, so every mail's chart has its lines) written into
//! the store beforehand. It starts with `group_wait` 0 and evaluates every 2 s: the first round
//! raises 100 alarms of 10 alerts, and every mail carries its chart (PNG, drawn with plotters).
//! Alertmanager: the same 1,000 alerts in one POST to `/api/v2/alerts`, grouped by client and
//! alert name, `group_wait` 0, one e-mail receiver whose address names the client. The time to
//! the last mail counts from when the alerts became active (Vitrine: the round's time, the
//! alerts' `activeAt`; Alertmanager: the POST) to the last file aiosmtpd wrote. Vitrine's chart
//! times come from its `/metrics` (`vitrine_mail_chart_render_seconds`). Goal: the last mail
//! sooner than Alertmanager's, charts at p95 under 50 ms.
//!
//! `cargo build --release -p vitrine`, then
//! `VITRINE_BENCH=1 cargo bench -p vitrine-tests --bench notification_path`
//! (needs Debian's prometheus-alertmanager and python3-aiosmtpd; about 2 minutes).

mod common;

use common::{
    BenchAgency, VitrineServer, free_port, http_request, require_program, section, skip_unless_enabled, vitrine_binary,
    vitrine_cli,
};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use vitrine_tests::SmtpServer;
use vitrine_tsdb::{Db, Labels, Options};

const CLIENTS: usize = 100;
const ALERTS_PER_CLIENT: usize = 10;
const HISTORY_MIN: i64 = 180;

fn client_slug(i: usize) -> String {
    format!("n{i:03}")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// When the first and the last of `count` mails arrived (ms), waiting at most `within`.
fn mail_times_ms(smtp: &SmtpServer, count: usize, within: Duration) -> (i64, i64) {
    smtp.wait_for(count, within);
    let dir = smtp.maildir().join("new");
    let times: Vec<i64> = std::fs::read_dir(&dir)
        .expect("aiosmtpd's Maildir")
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .map(|t| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64))
        .collect();
    (
        times.iter().copied().min().unwrap_or(0),
        times.iter().copied().max().unwrap_or(0),
    )
}

async fn set_up_vitrine(binary: &Path, data: &Path) {
    let agency = BenchAgency::start(binary, data).await;
    let rules = "groups:\n  - name: shop\n    rules:\n      - alert: QueueLong\n        expr: queue_length > 10\n        labels:\n          severity: critical\n        annotations:\n          description: 'Orders wait in the queue of {{ $labels.instance }}.'\n";
    for i in 0..CLIENTS {
        let slug = client_slug(i);
        agency.add_client(&slug, &format!("Client {i}"), rules).await;
        let team = format!("team@{slug}.example");
        agency
            .post(
                &format!("/clients/{slug}/channels"),
                &[("kind", "email"), ("name", "Team"), ("target", &team)],
            )
            .await;
    }
    drop(agency);
    let db = Db::open(&data.join("tsdb"), Options::default()).expect("opening Vitrine's store");
    let end = now_ms() / 60_000 * 60_000;
    for i in 0..CLIENTS {
        let tenant = vitrine_tsdb::Tenant::try_from(i + 1).expect("a tenant");
        let mut app = db.appender();
        for a in 0..ALERTS_PER_CLIENT {
            let instance = format!("web-{a}:8080");
            let labels = Labels::from_pairs(&[
                ("__name__", "queue_length"),
                ("environment", "live"),
                ("instance", &instance),
                ("job", "shop"),
                ("project", "shop"),
            ]);
            let series = app.series(tenant, &labels);
            for m in 0..=HISTORY_MIN {
                // Calm, then long queues for the last half hour.
                let v = if m > HISTORY_MIN - 30 {
                    40.0 + a as f64
                } else {
                    3.0 + (m % 5) as f64
                };
                app.add(series, end - (HISTORY_MIN - m) * 60_000, v);
            }
        }
        app.commit().expect("writing the series");
    }
    db.checkpoint().expect("a checkpoint");
}

struct Figures {
    to_first_mail_s: f64,
    to_last_mail_s: f64,
    mails: usize,
}

fn run_vitrine(binary: &Path) -> (Figures, f64, f64) {
    section("Vitrine");
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("the data directory");
    tokio::runtime::Runtime::new()
        .expect("a runtime")
        .block_on(set_up_vitrine(binary, &data));
    let server = VitrineServer::serve_data(
        binary,
        &data,
        &[
            ("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "2"),
            ("VITRINE_NOTIFY_GROUP_WAIT_SECS", "0"),
            ("VITRINE_SMTP_URL", &smtp.url()),
            ("VITRINE_MAIL_FROM", "alerts@bench.example"),
        ],
    );
    let (first, last) = mail_times_ms(&smtp, CLIENTS, Duration::from_secs(300));
    let token = vitrine_cli(
        binary,
        &data,
        &["token", "create", "--client", &client_slug(0), "--name", "bench"],
    )
    .expect("a token");
    let token = token.lines().last().unwrap_or_default().trim().to_string();
    let (_, body) = http_request(
        server.addr,
        "GET",
        "/api/v1/alerts",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
        Duration::from_secs(10),
    )
    .expect("Vitrine's /api/v1/alerts");
    let alerts: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    let active_at = alerts["data"]["alerts"][0]["activeAt"]
        .as_str()
        .expect("an active alert")
        .to_string();
    let active_ms = parse_rfc3339_ms(&active_at);
    let metrics = server.metrics();
    let quantile = |q: &str| {
        let text = String::from_utf8_lossy(
            &http_request(server.addr, "GET", "/metrics", &[], b"", Duration::from_secs(10))
                .expect("/metrics")
                .1,
        )
        .into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("vitrine_mail_chart_render_seconds{{quantile=\"{q}\"}} ")))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let drawn = metrics
        .get("vitrine_mail_chart_render_seconds_count")
        .copied()
        .unwrap_or(0.0);
    println!("charts drawn: {drawn}");
    let mails = smtp.messages();
    let with_chart = mails.iter().filter(|m| m.contains("image/png")).count();
    println!("{} mails, {with_chart} with a chart", mails.len());
    (
        Figures {
            to_first_mail_s: (first - active_ms) as f64 / 1000.0,
            to_last_mail_s: (last - active_ms) as f64 / 1000.0,
            mails: mails.len(),
        },
        quantile("0.5") * 1000.0,
        quantile("0.95") * 1000.0,
    )
}

/// Milliseconds of an RFC 3339 time as the APIs write it (`2026-12-07T23:40:05.123Z`).
fn parse_rfc3339_ms(text: &str) -> i64 {
    let out = Command::new("date")
        .args(["-u", "-d", text, "+%s%3N"])
        .output()
        .expect("running date");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a time")
}

fn run_alertmanager() -> Figures {
    section("Alertmanager");
    let smtp = SmtpServer::start();
    let program = require_program("prometheus-alertmanager");
    let dir = tempfile::tempdir().expect("temporary directory");
    let port = smtp.url().rsplit(':').next().unwrap_or_default().to_string();
    let config = format!(
        "global:\n  smtp_smarthost: 127.0.0.1:{port}\n  smtp_from: alerts@bench.example\n  smtp_require_tls: false\nroute:\n  receiver: team\n  group_by: [client, alertname]\n  group_wait: 0s\n  group_interval: 1m\n  repeat_interval: 4h\nreceivers:\n  - name: team\n    email_configs:\n      - to: 'team@{{{{ .GroupLabels.client }}}}.example'\n"
    );
    let config_path = dir.path().join("alertmanager.yml");
    std::fs::write(&config_path, config).expect("writing alertmanager.yml");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("an address");
    let mut child = Command::new(&program)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!("--storage.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--cluster.listen-address=")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("alertmanager.log")).expect("a log"))
        .spawn()
        .expect("starting prometheus-alertmanager");
    let began = Instant::now();
    while !matches!(
        http_request(addr, "GET", "/-/ready", &[], b"", Duration::from_secs(1)),
        Ok((200, _))
    ) {
        assert!(began.elapsed() < Duration::from_secs(30), "Alertmanager is not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let starts = "2026-01-01T00:00:00Z";
    let alerts: Vec<serde_json::Value> = (0..CLIENTS)
        .flat_map(|i| {
            (0..ALERTS_PER_CLIENT).map(move |a| {
                serde_json::json!({
                    "labels": {
                        "alertname": "QueueLong",
                        "client": client_slug(i),
                        "instance": format!("web-{a}:8080"),
                        "severity": "critical",
                    },
                    "annotations": {"description": format!("Orders wait in the queue of web-{a}:8080.")},
                    "startsAt": starts,
                })
            })
        })
        .collect();
    let body = serde_json::to_vec(&alerts).expect("JSON");
    let posted = now_ms();
    let (status, answer) = http_request(
        addr,
        "POST",
        "/api/v2/alerts",
        &[("Content-Type", "application/json")],
        &body,
        Duration::from_secs(30),
    )
    .expect("posting the alerts");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let (first, last) = mail_times_ms(&smtp, CLIENTS, Duration::from_secs(300));
    let mails = smtp.messages().len();
    let _ = child.kill();
    let _ = child.wait();
    Figures {
        to_first_mail_s: (first - posted) as f64 / 1000.0,
        to_last_mail_s: (last - posted) as f64 / 1000.0,
        mails,
    }
}

fn main() {
    skip_unless_enabled("notification_path");
    require_program("aiosmtpd");
    let binary = vitrine_binary();
    println!(
        "{} alerts firing at once across {CLIENTS} clients, one mail per client to aiosmtpd",
        CLIENTS * ALERTS_PER_CLIENT
    );
    let (vitrine, p50, p95) = run_vitrine(&binary);
    let alertmanager = run_alertmanager();
    section("Notification path");
    println!(
        "{:<14} {:>19} {:>18} {:>8}",
        "", "to the first mail s", "to the last mail s", "mails"
    );
    for (name, f) in [("Vitrine", &vitrine), ("Alertmanager", &alertmanager)] {
        println!(
            "{name:<14} {:>19.2} {:>18.2} {:>8}",
            f.to_first_mail_s, f.to_last_mail_s, f.mails
        );
    }
    println!("Vitrine's charts: p50 {p50:.1} ms, p95 {p95:.1} ms (goal p95 < 50 ms)");
    let ratio = vitrine.to_last_mail_s / alertmanager.to_last_mail_s;
    println!(
        "Vitrine / Alertmanager time to the last mail: {ratio:.2} (goal < 1: {})",
        if ratio < 1.0 { "met" } else { "not met" }
    );
}
