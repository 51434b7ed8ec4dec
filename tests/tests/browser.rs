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
    assert_site_laid_out(&site);
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
        // Without an SMTP server the mails are files there (status.mjs reads a confirmation link).
        .env("MAIL_DIR", server.data_dir().join("mail"))
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

/// target/site as scripts/setup.sh (`lay_out_site`) and cargo-leptos lay it out: the islands'
/// JavaScript and WebAssembly, the CSS, the public assets. The wasm must be the optimised
/// release build (the debug build is over 1 MB for a password toggle).
fn assert_site_laid_out(site: &std::path::Path) {
    for file in ["pkg/vitrine.js", "pkg/vitrine.wasm", "pkg/vitrine.css", "favicon.svg"] {
        assert!(
            site.join(file).is_file(),
            "{} is missing: build the site with scripts/test or scripts/run (or `cargo leptos build --release`)",
            site.join(file).display()
        );
    }
    let wasm = std::fs::metadata(site.join("pkg/vitrine.wasm"))
        .expect("reading the wasm")
        .len();
    assert!(
        wasm < 400_000,
        "pkg/vitrine.wasm has {wasm} bytes: not the wasm-release build made smaller by wasm-opt: build the site with scripts/test or `cargo leptos build --release`"
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

/// The client admin opens "Is my application OK?", switches environment and period; on a phone
/// in German, dark, the panels stack.
#[test]
fn client_admin_reads_the_dashboard_in_chromium() {
    drive("dashboard.mjs", "dashboard.png");
}

/// The agency owner adds a Slack channel on "Who is told"; the client admin reads the page on a
/// phone in French, dark.
#[test]
fn the_owner_adds_a_channel_and_the_client_admin_reads_who_is_told_in_chromium() {
    drive("channels.mjs", "channels.png");
}

/// The public status page on a phone: subscribe, confirm, see an incident; axe-core finds no
/// serious or critical violation, in light and dark.
#[test]
fn the_public_subscribes_to_the_status_page_and_sees_an_incident_on_a_phone_in_chromium() {
    drive("status.mjs", "status-phone.png");
}

/// Opens the thresholds page from the client home on a phone, in German: states and explanations.
#[test]
fn client_admin_reads_the_thresholds_on_a_phone_in_chromium() {
    drive("thresholds.mjs", "thresholds-phone-de.png");
}
