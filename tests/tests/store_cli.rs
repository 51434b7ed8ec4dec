//! The operator's commands for the time-series store, black-box: backfill an
//! OpenMetrics file, statistics, compaction, snapshots (offline and while the
//! server runs), and the clear error when a server holds the store.

use std::path::Path;
use std::process::{Command, Output};
use vitrine_tests::{Server, binary};

fn vitrine(data: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env("VITRINE_DATA_DIR", data)
        .env("VITRINE_LOG", "warn")
        .output()
        .expect("running vitrine")
}

#[track_caller]
fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An OpenMetrics file with timestamps: 3 series × 500 samples 15 s apart,
/// written newest first to prove that the order does not matter.
fn backfill_file(dir: &Path) -> std::path::PathBuf {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = now_s - 3 * 3600;
    let mut text = String::from("# TYPE http_requests counter\n");
    for i in (0..500u64).rev() {
        for route in ["/", "/cart", "/checkout"] {
            text.push_str(&format!(
                "http_requests_total{{route=\"{route}\"}} {} {}\n",
                i * 3,
                start + i * 15
            ));
        }
    }
    text.push_str("# TYPE old gauge\nold 1 1000000000\n# EOF\n");
    let path = dir.join("backfill.om");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_openmetrics_backfill_is_imported_compacted_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    stdout_of(&vitrine(&data, &["migrate"]));
    stdout_of(&vitrine(
        &data,
        &["agency", "create", "--slug", "ag", "--name", "Agency"],
    ));
    stdout_of(&vitrine(
        &data,
        &["client", "create", "--agency", "ag", "--slug", "shop", "--name", "Shop"],
    ));
    let file = backfill_file(dir.path());
    let out = stdout_of(&vitrine(
        &data,
        &["import", "openmetrics", file.to_str().unwrap(), "--client", "shop"],
    ));
    assert!(out.contains("imported 1500 samples of 3 series"), "{out}");
    assert!(
        out.contains("1 samples older than the retention of 90 days skipped"),
        "{out}"
    );
    let missing = vitrine(
        &data,
        &["import", "openmetrics", file.to_str().unwrap(), "--client", "nope"],
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("client nope does not exist"));
    let broken = dir.path().join("broken.om");
    std::fs::write(&broken, "up 1 1700000000\nup{ 2 1700000015\n# EOF\n").unwrap();
    let err = vitrine(
        &data,
        &["import", "openmetrics", broken.to_str().unwrap(), "--client", "shop"],
    );
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );

    stdout_of(&vitrine(&data, &["tsdb", "compact"]));
    let stats = stdout_of(&vitrine(&data, &["tsdb", "stats"]));
    assert!(stats.contains("client Shop"), "{stats}");
    assert!(stats.contains("blocks: 1500 samples"), "{stats}");
    let snapshot = dir.path().join("backup");
    stdout_of(&vitrine(&data, &["tsdb", "snapshot", snapshot.to_str().unwrap()]));
    assert!(snapshot.join("tenants").is_dir());
    let again = vitrine(&data, &["tsdb", "snapshot", snapshot.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

#[test]
fn while_serving_the_commands_go_through_the_server_and_imports_are_refused() {
    let server = Server::start();
    let data = server.data_dir();
    let stats = stdout_of(&vitrine(&data, &["tsdb", "stats"]));
    assert!(stats.contains("head:"), "{stats}");
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("live-backup");
    stdout_of(&vitrine(&data, &["tsdb", "snapshot", snapshot.to_str().unwrap()]));
    assert!(snapshot.join("tenants").is_dir());
    stdout_of(&vitrine(&data, &["tsdb", "compact"]));
    let file = backfill_file(dir.path());
    let refused = vitrine(
        &data,
        &["import", "openmetrics", file.to_str().unwrap(), "--client", "acme"],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("in use by another process"), "{stderr}");
}

#[test]
fn targets_are_imported_from_a_prometheus_yml_on_the_command_line() {
    let server = Server::start();
    let data = server.data_dir();
    let seed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/scrape-config/tests/fixtures/seed003_prometheus.yml");
    let args = [
        "targets",
        "import",
        seed.to_str().unwrap(),
        "--client",
        "globex",
        "--project",
        "portal",
        "--environment",
        "stage",
    ];
    let out = stdout_of(&vitrine(&data, &args));
    assert!(out.contains("3 targets added, 0 already there"), "{out}");
    assert!(
        out.contains("evaluation_interval"),
        "what is not imported is listed: {out}"
    );
    let again = stdout_of(&vitrine(&data, &args));
    assert!(again.contains("0 targets added, 3 already there"), "{again}");
    let wrong = vitrine(
        &data,
        &[
            "targets",
            "import",
            seed.to_str().unwrap(),
            "--client",
            "acme",
            "--project",
            "portal",
            "--environment",
            "stage",
        ],
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("does not exist"));
    let broken =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/scrape-config/tests/fixtures/seed000_prometheus.yml");
    let failed = vitrine(
        &data,
        &[
            "targets",
            "import",
            broken.to_str().unwrap(),
            "--client",
            "globex",
            "--project",
            "portal",
            "--environment",
            "stage",
        ],
    );
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("line 19"), "{stderr}");
}
