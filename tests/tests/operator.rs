//! The operator's side of the binary: the CLI that starts an installation
//! without the demo, configuration errors, restart and graceful shutdown.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use vitrine_tests::{Server, binary};

fn vitrine(data: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .env("VITRINE_DATA_DIR", data)
        .env("VITRINE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting vitrine");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("writing stdin");
    }
    drop(input);
    child.wait_with_output().expect("waiting for vitrine")
}

#[track_caller]
fn succeeds(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[track_caller]
fn fails_with(output: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "should have failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(stderr.contains(message), "expected {message:?} in: {stderr}");
}

#[tokio::test]
async fn an_operator_starts_without_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    succeeds(&vitrine(&data, &["migrate"], None));
    assert!(data.join("vitrine.db").exists());
    // Only the owner may read the data directory and the database.
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("vitrine.db")), 0o600, "the database");
    succeeds(&vitrine(
        &data,
        &["agency", "create", "--slug", "north", "--name", "North Agency"],
        None,
    ));
    fails_with(
        &vitrine(&data, &["agency", "create", "--slug", "north", "--name", "Again"], None),
        "exists already",
    );
    fails_with(
        &vitrine(&data, &["agency", "create", "--slug", "No Slug", "--name", "X"], None),
        "slug",
    );
    succeeds(&vitrine(
        &data,
        &[
            "client",
            "create",
            "--agency",
            "north",
            "--slug",
            "shop",
            "--name",
            "The Shop",
            "--language",
            "de",
        ],
        None,
    ));
    fails_with(
        &vitrine(
            &data,
            &["client", "create", "--agency", "south", "--slug", "x2", "--name", "X"],
            None,
        ),
        "agency south does not exist",
    );
    let out = succeeds(&vitrine(
        &data,
        &[
            "user",
            "create",
            "--email",
            "boss@north.example",
            "--agency",
            "north",
            "--role",
            "agency_owner",
        ],
        None,
    ));
    let password = out
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .expect("a generated password is printed")
        .to_string();
    assert!(password.len() >= 12);
    succeeds(&vitrine(
        &data,
        &[
            "user",
            "create",
            "--email",
            "ann@shop.example",
            "--agency",
            "north",
            "--client",
            "shop",
            "--role",
            "client_viewer",
            "--password-stdin",
        ],
        Some("ann's long password\n"),
    ));
    fails_with(
        &vitrine(
            &data,
            &[
                "user",
                "create",
                "--email",
                "x@y.example",
                "--agency",
                "north",
                "--role",
                "king",
            ],
            None,
        ),
        "agency_owner, agency_admin, agency_staff, client_admin, client_viewer",
    );
    fails_with(
        &vitrine(
            &data,
            &[
                "user",
                "create",
                "--email",
                "x@y.example",
                "--agency",
                "north",
                "--role",
                "client_admin",
            ],
            None,
        ),
        "role",
    );

    let data_env = data.to_str().unwrap();
    let server = Server::start_with(&[("VITRINE_DATA_DIR", data_env)]);
    let boss = server.login(("boss@north.example", &password)).await;
    boss.get("/agency").await.expect_status(200).expect_text("The Shop");
    let ann = server.login(("ann@shop.example", "ann's long password")).await;
    let home = ann.get("/").await;
    assert_eq!(home.location(), Some("/clients/shop"));
    // A viewer sees the client but no forms to change it.
    let page = ann.get("/clients/shop").await;
    page.expect_status(200).expect_text("The Shop");
    assert!(!page.contains("/invites"), "a viewer must not get the invitation form");
}

#[tokio::test]
async fn sessions_survive_a_restart_because_the_key_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_env = data.to_str().unwrap();
    let cookie = {
        let server = Server::start_with(&[("VITRINE_DATA_DIR", data_env)]);
        let client = server.login(vitrine_tests::ACME_ADMIN).await;
        client.get("/clients/acme").await.expect_status(200);
        client.session_cookie().expect("session cookie")
    };
    let key = std::fs::read(data.join("session.key")).unwrap();
    let server = Server::start_with(&[("VITRINE_DATA_DIR", data_env)]);
    assert_eq!(
        std::fs::read(data.join("session.key")).unwrap(),
        key,
        "the key must not change at start"
    );
    let client = server.client();
    client.set_session_cookie(&cookie);
    client
        .get("/clients/acme")
        .await
        .expect_status(200)
        .expect_text("ACME Shop");
}

/// Whether a targets page lists a target scraped every `interval` (which it reads from the
/// stored, sealed configuration).
fn lists_interval(page: &str, interval: &str) -> bool {
    page.contains(&format!("every <!>{interval}")) || page.contains(&format!("every {interval}"))
}

/// The demo's targets as the owner sees them on the targets page of ACME's shop, live.
async fn demo_targets_page(server: &Server) -> String {
    let owner = server.login(vitrine_tests::OWNER).await;
    let page = owner.get(&vitrine_tests::targets_path("acme", "shop", "live")).await;
    page.expect_status(200);
    page.body
}

/// `vitrine secrets rotate` seals the stored credentials under a new key: they open with
/// it after a restart and no longer with the old one.
#[tokio::test]
async fn rotating_the_secret_key_reseals_the_stored_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_env = data.to_str().unwrap();
    let key_file = data.join("secret.key");
    {
        let server = Server::start_with(&[("VITRINE_DATA_DIR", data_env)]);
        let page = demo_targets_page(&server).await;
        assert!(lists_interval(&page, "15s"), "the demo targets' intervals: {page}");
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    // The server was killed: its control file says it may still run.
    fails_with(&vitrine(&data, &["secrets", "rotate"], None), "stop it");
    std::fs::remove_file(data.join("control")).unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: orders\n    scrape_interval: 30s\n    basic_auth: {username: u, password: rotate-me-secret}\n    static_configs: [{targets: ['127.0.0.1:9']}]\n",
    )
    .unwrap();
    let import = [
        "targets",
        "import",
        config.to_str().unwrap(),
        "--client",
        "acme",
        "--project",
        "api",
        "--environment",
        "live",
    ];
    succeeds(&vitrine(&data, &import, None));
    let out = succeeds(&vitrine(&data, &["secrets", "rotate"], None));
    assert!(out.contains("sealed under a new key"), "{out}");
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(old_key, new_key);
    {
        let server = Server::start_with(&[("VITRINE_DATA_DIR", data_env)]);
        let page = demo_targets_page(&server).await;
        assert!(lists_interval(&page, "15s"), "not opened with the new key: {page}");
        let owner = server.login(vitrine_tests::OWNER).await;
        let api = owner.get(&vitrine_tests::targets_path("acme", "api", "live")).await;
        api.expect_status(200);
        assert!(lists_interval(&api.body, "30s"), "the imported target: {}", api.body);
    }
    std::fs::remove_file(data.join("control")).unwrap();
    // With the old key the demo's own targets are made anew, but the others do not open.
    let server = Server::start_with(&[("VITRINE_DATA_DIR", data_env), ("VITRINE_SECRET_KEY", old_key.trim())]);
    let owner = server.login(vitrine_tests::OWNER).await;
    let mut page = String::new();
    for _ in 0..50 {
        let response = owner.get(&vitrine_tests::targets_path("acme", "api", "live")).await;
        page = response.body;
        if page.contains("does not open with the secret key") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(page.contains("does not open with the secret key"), "{page}");
}

#[test]
fn a_bad_configuration_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vitrine.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nlisen = 1\n").unwrap();
    let out = vitrine(
        &dir.path().join("data"),
        &["--config", file.to_str().unwrap(), "migrate"],
        None,
    );
    fails_with(&out, "vitrine.toml");
    fails_with(&out, "lisen");
    let out = Command::new(binary())
        .args(["migrate"])
        .env("VITRINE_LISTEN", "nowhere")
        .output()
        .unwrap();
    fails_with(&out, "VITRINE_LISTEN");
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary())
        .args(["serve"])
        .env("VITRINE_DATA_DIR", dir.path().join("data"))
        .env("VITRINE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting vitrine");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    assert!(first.starts_with("Vitrine listening on "), "{first}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
