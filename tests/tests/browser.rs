//! The browser tests: Debian's headless Chromium, driven by playwright-core (the scripts in
//! tests/browser), against the real binary serving the real site (CSS, WebAssembly island);
//! each saves a screenshot to target/browser/.

use std::path::PathBuf;
use std::process::Command;
use vitrine_tests::Server;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `tests/browser/<script>` against a fresh demo server; it saves `target/browser/<shot>`.
fn drive(script: &str, shot: &str) {
    let root = workspace();
    let site = root.join("target/site");
    assert!(
        site.join("pkg/vitrine.wasm").exists(),
        "the site is not built at {}: run `cargo leptos build` first",
        site.display()
    );
    let driver = root.join("tests/browser");
    assert!(
        driver.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm ci` in {}",
        driver.display()
    );
    let server = Server::start_with(&[("VITRINE_SITE_ROOT", site.to_str().expect("utf-8 path"))]);
    let shots = root.join("target/browser");
    std::fs::create_dir_all(&shots).expect("creating target/browser");
    let screenshot = shots.join(shot);
    let _ = std::fs::remove_file(&screenshot);

    let output = Command::new("node")
        .arg(driver.join(script))
        .arg(&server.base)
        .arg(&screenshot)
        .output()
        .expect("running node (install nodejs)");
    assert!(
        output.status.success(),
        "the browser test {script} failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
    let size = std::fs::metadata(&screenshot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "the screenshot {} is missing or empty",
        screenshot.display()
    );
}

/// Logs in as the demo client admin (the password island must hydrate) and sees the client home.
#[test]
fn client_admin_logs_in_and_sees_the_client_home_in_chromium() {
    drive("login.mjs", "client-home.png");
}

/// Opens the Explore page from the client home, runs a query, sees the chart and its table.
#[test]
fn client_admin_explores_the_demo_data_in_chromium() {
    drive("explore.mjs", "explore.png");
}
