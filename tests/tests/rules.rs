//! Prometheus rule files: seed 003's alerting rules import as thresholds (from the command line
//! and from the form), recording rules as recording rules that write their series into the
//! client's store, what cannot come along is listed, a broken file is refused with its place,
//! and the export is a rule file Debian's `promtool check rules` accepts.

use std::process::Command;
use vitrine_tests::*;

const SEED_003_RULES: &str = include_str!("../../server/scrape-config/tests/fixtures/seed003_rules.yml");

fn write(server: &Server, name: &str, text: &str) -> String {
    let path = server.data_dir().join(name);
    std::fs::write(&path, text).expect("writing a rule file");
    path.to_str().expect("a UTF-8 path").to_string()
}

/// `vitrine rules import FILE` into globex's portal/ENVIRONMENT.
fn import_args<'a>(file: &'a str, environment: &'a str) -> [&'a str; 9] {
    [
        "rules",
        "import",
        file,
        "--client",
        "globex",
        "--project",
        "portal",
        "--environment",
        environment,
    ]
}

fn promtool_check(path: &str) -> (bool, String) {
    let out = Command::new("promtool")
        .args(["check", "rules", path])
        .output()
        .expect("running promtool (Debian package prometheus)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn seed_003s_rules_become_thresholds_and_go_back_out_as_a_rule_file() {
    let server = Server::start();
    let file = write(&server, "rules.yml", SEED_003_RULES);
    let out = server.cli(&import_args(&file, "live"));
    assert!(
        out.contains("Thresholds made: 3 (HighCPUUsage, HighMemoryUsage, HighErrorRate)"),
        "{out}"
    );
    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get("/clients/globex/thresholds").await;
    page.expect_status(200)
        .expect_text("HighErrorRate")
        .expect_text("High error rate detected")
        .expect_text("Alarm when the value is above 0.1 for 5")
        .expect_text("Alarm when the value is above 0.8 for 5")
        .expect_text("Alarm when the value is above 1.4");
    // Parts of the explanation not written yet are left out, not shown empty.
    assert!(
        !page.body.contains("<dd> </dd>") && !page.body.contains("<dd></dd>"),
        "{}",
        page.summary()
    );
    // Once more: the names are taken, nothing is doubled.
    let again = server.cli(&import_args(&file, "live"));
    assert!(
        again.contains("Thresholds made: 0")
            && again
                .contains("Not made: HighCPUUsage: a threshold or computed figure of this name exists here already."),
        "{again}"
    );

    // The export (with acme's demo thresholds too) is a rule file promtool accepts.
    for client in ["globex", "acme"] {
        let exported = server.cli(&["rules", "export", "--client", client]);
        let path = write(&server, &format!("{client}-export.yml"), &exported);
        let (ok, checked) = promtool_check(&path);
        assert!(ok, "promtool refused the export of {client}: {checked}\n{exported}");
        assert!(checked.contains("SUCCESS"), "{checked}");
    }
    let exported = server.cli(&["rules", "export", "--client", "globex"]);
    assert!(exported.contains(r#"expr: "(sum(rate(http_requests_total{environment=\"live\",project=\"portal\",status=~\"5.*\"}[5m]))) > 0.1""#), "{exported}");
    // What goes out comes back in: the export imports into another environment.
    let path = write(&server, "roundtrip.yml", &exported);
    let back = server.cli(&import_args(&path, "stage"));
    assert!(back.contains("Thresholds made: 3"), "{back}");
}

#[tokio::test]
async fn a_broken_rule_file_is_refused_with_its_place_and_nothing_is_stored() {
    let server = Server::start();
    let broken = "groups:\n  - name: shop\n    rules:\n      - alert: Fine\n        expr: up == 0\n      - alert: Broken\n        expr: sum(rate(x[5m])\n";
    let file = write(&server, "broken.yml", broken);
    let err = server.cli_failing(&import_args(&file, "live"));
    assert!(err.contains("groups[0].rules[1].expr (line 7, column 15)"), "{err}");
    let owner = server.login(OWNER).await;
    assert!(!owner.get("/clients/globex/thresholds").await.contains("Fine"));

    // The form: a recording rule is made as one; a rule that is not a comparison with a number
    // is made with its query as the condition.
    let csrf = owner.csrf().await;
    let mixed = "groups:\n  - name: shop\n    interval: 1m\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n      - alert: Absent\n        expr: absent(up)\n      - alert: Down\n        expr: up == 0\n        labels:\n          severity: critical\n          team: web\n";
    let response = owner
        .post_form(
            "/clients/globex/thresholds/import",
            &[("csrf", csrf.as_str()), ("place", "portal/*"), ("rules", mixed)],
        )
        .await;
    response.expect_status(303);
    let page = owner.get("/clients/globex/thresholds").await;
    page.expect_text("Thresholds made: 2 (Absent, Down)")
        .expect_text("Computed figures made: 1 (job:up:sum)")
        .expect_text("Alarm when the query finds a series for")
        .expect_text("Down: the label team is not imported.")
        .expect_text("Group shop: its interval 1m is not used");
    let refused = owner
        .post_form(
            "/clients/globex/thresholds/import",
            &[("csrf", csrf.as_str()), ("place", "portal/live"), ("rules", broken)],
        )
        .await;
    refused
        .expect_status(422)
        .expect_text("line 7, column 15")
        .expect_text("alert: Broken");
    // Client people do not import.
    let globex = server.login(GLOBEX_ADMIN).await;
    let csrf = globex.csrf().await;
    let forbidden = globex
        .post_form(
            "/clients/globex/thresholds/import",
            &[("csrf", csrf.as_str()), ("place", "portal/live"), ("rules", mixed)],
        )
        .await;
    assert_eq!(forbidden.status, 403);
}

/// An imported rule's description with Prometheus templates reads, on the page and in the alarm
/// mail, with the alert's labels and value; one that is not a template is refused at import.
#[tokio::test]
async fn templates_in_an_imported_description_are_expanded_for_the_alert() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;
    let server = Server::start_with(&[
        ("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "1"),
        ("VITRINE_NOTIFY_GROUP_WAIT_SECS", "0"),
        ("VITRINE_NOTIFY_GROUP_INTERVAL_SECS", "1"),
    ]);
    let value = Arc::new(AtomicU64::new(1234));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    let rules = "groups:\n  - name: queue\n    rules:\n      - alert: QueueLong\n        expr: queue_length > 10\n        labels:\n          severity: critical\n        annotations:\n          description: '{{ $value | humanize }} orders wait on {{ $labels.instance | stripPort }} ({{ $labels.project }}).'\n";
    let file = write(&server, "queue.yml", rules);
    let out = server.cli(&import_args(&file, "live"));
    assert!(out.contains("QueueLong"), "{out}");
    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get("/clients/globex/thresholds").await;
    let id = between(&page.body, "id=\"threshold-", "\"")
        .expect("the imported threshold")
        .to_string();
    let card = wait_for_threshold_card(&globex, "globex", &id, "1.234k orders wait on 127.0.0.1 (portal).").await;
    assert!(!card.contains("{{"), "{card}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mail = loop {
        let mails: Vec<String> = std::fs::read_dir(server.data_dir().join("mail"))
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(mail) = mails.into_iter().find(|m| m.contains("QueueLong")) {
            break mail;
        }
        assert!(std::time::Instant::now() < deadline, "no alarm mail");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let text = mail.replace("=\r\n", "").replace("=\n", "");
    assert!(text.contains("1.234k orders wait on 127.0.0.1 (portal)."), "{text}");

    let bad = write(
        &server,
        "bad.yml",
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations:\n          summary: '{{ nosuchfunction $value }}'\n",
    );
    let out = server.cli_failing(&import_args(&bad, "live"));
    assert!(
        out.contains("groups[0].rules[0].annotations.summary (the rule at line 4)") && out.contains("nosuchfunction"),
        "{out}"
    );
}

async fn api_get(server: &Server, token: &str, path: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("an API request");
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.expect("a JSON answer")
}

/// The instant value of `query` for a client's token: (labels, value) of each series.
async fn instant(server: &Server, token: &str, query: &str) -> Vec<(serde_json::Value, String)> {
    let path = format!("/api/v1/query?query={}", percent_encode(query));
    let body = api_get(server, token, &path).await;
    body["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|s| {
            (
                s["metric"].clone(),
                s["value"][1].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Recording rules run in the order of their file, each reading what the one before wrote; the
/// series land in the client's store with the rule's labels and the place's, only the client
/// reads them, a threshold alarms on one, they go out in the export promtool accepts, and a
/// removed rule's series end at once (a staleness marker, not five minutes of the last value).
#[tokio::test]
async fn recording_rules_write_their_series_into_the_clients_store() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;
    let server = Server::start_with(&[("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "1")]);
    let value = Arc::new(AtomicU64::new(21));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    let rules = "groups:\n  - name: queue\n    rules:\n      - record: portal:queue_length:max\n        expr: max(queue_length)\n        labels:\n          team: web\n          project: other\n      - record: portal:queue_length:doubled\n        expr: portal:queue_length:max * 2\n      - alert: QueueLong\n        expr: portal:queue_length:doubled > 10\n        labels:\n          severity: critical\n";
    let file = write(&server, "recording.yml", rules);
    let out = server.cli(&import_args(&file, "live"));
    assert!(
        out.contains("Computed figures made: 2 (portal:queue_length:max, portal:queue_length:doubled)")
            && out.contains("Thresholds made: 1 (QueueLong)")
            && out.contains("portal:queue_length:max: the label project is not imported."),
        "{out}"
    );
    let token = server.token("globex");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let doubled = loop {
        let found = instant(&server, &token, "portal:queue_length:doubled").await;
        if !found.is_empty() {
            break found;
        }
        assert!(std::time::Instant::now() < deadline, "nothing recorded after 60 s");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(doubled.len(), 1, "{doubled:?}");
    let (labels, v) = &doubled[0];
    assert_eq!(v, "42", "{doubled:?}");
    assert_eq!(
        labels,
        &serde_json::json!({
            "__name__": "portal:queue_length:doubled",
            "environment": "live",
            "project": "portal",
            "team": "web",
        })
    );
    // Another client's token does not see them.
    let acme = server.token("acme");
    assert!(instant(&server, &acme, "portal:queue_length:max").await.is_empty());
    assert!(instant(&server, &acme, "{__name__=~\"portal:.*\"}").await.is_empty());

    // Prometheus' rules API lists them, healthy, in the place's group.
    let listed = api_get(&server, &token, "/api/v1/rules?type=record").await;
    let group = &listed["data"]["groups"][0];
    assert_eq!(group["name"], "portal/live", "{listed}");
    let names: Vec<&str> = group["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["portal:queue_length:max", "portal:queue_length:doubled"],
        "{listed}"
    );
    assert_eq!(group["rules"][0]["type"], "recording");
    assert_eq!(group["rules"][0]["health"], "ok", "{listed}");
    assert_eq!(group["rules"][0]["labels"], serde_json::json!({"team": "web"}));
    assert_eq!(
        group["rules"][0]["query"],
        r#"max(queue_length{environment="live",project="portal"})"#
    );

    // The threshold on the recorded series raises its alarm.
    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get("/clients/globex/thresholds").await;
    let id = between(&page.body, "id=\"threshold-", "\"")
        .expect("QueueLong")
        .to_string();
    wait_for_threshold_card(&globex, "globex", &id, ">Alarm<").await;
    let page = globex.get("/clients/globex/thresholds").await;
    page.expect_text("Computed figures")
        .expect_text("portal:queue_length:doubled")
        .expect_text("Last computed");

    // The export has them first, with the place's labels, and promtool accepts it.
    let exported = server.cli(&["rules", "export", "--client", "globex"]);
    let path = write(&server, "recording-export.yml", &exported);
    let (ok, checked) = promtool_check(&path);
    assert!(ok, "promtool refused the export: {checked}\n{exported}");
    assert!(
        exported.contains("      - record: \"portal:queue_length:max\"\n        expr: \"max(queue_length{environment=\\\"live\\\",project=\\\"portal\\\"})\"\n        labels:\n          environment: \"live\"\n          project: \"portal\"\n          team: \"web\"\n"),
        "{exported}"
    );

    // Removed, the rule's series end with the next round.
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let page = owner.get("/clients/globex/thresholds").await;
    let first = between(&page.body, "id=\"recording-", "\"")
        .expect("a recording rule")
        .to_string();
    owner
        .post_form(
            &format!("/clients/globex/recordings/{first}/delete"),
            &[("csrf", csrf.as_str())],
        )
        .await
        .expect_status(303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !instant(&server, &token, "portal:queue_length:max").await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the removed rule's series lingers"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // The rule after it reads nothing now, fails nothing, and its series ends too.
    while !instant(&server, &token, "portal:queue_length:doubled").await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the series of the rule that read it lingers"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Agency people add a recording rule on the thresholds page: a wrong name or expression stays
/// in the form with the reason, the same one twice is refused, client people may not.
#[tokio::test]
async fn recording_rules_are_added_on_the_thresholds_page_by_agency_people() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let form = |record: &'static str, expr: &'static str, labels: &'static str| {
        vec![
            ("place", "portal/live"),
            ("record", record),
            ("expr", expr),
            ("labels", labels),
        ]
    };
    let post = async |client: &Client, csrf: &str, fields: Vec<(&str, &str)>| {
        let mut fields = fields;
        fields.push(("csrf", csrf));
        client.post_form("/clients/globex/recordings", &fields).await
    };
    post(&owner, &csrf, form("1bad", "sum(up", r#"project="x""#))
        .await
        .expect_status(422)
        .expect_text("Enter a series name of letters, digits, _ and :")
        .expect_text("This is not a PromQL query")
        .expect_text("Enter labels as name=")
        .expect_text("1bad");
    post(&owner, &csrf, form("portal:up:sum", "sum(up)", r#"team="web""#))
        .await
        .expect_status(303);
    owner
        .get("/clients/globex/thresholds")
        .await
        .expect_text("The figure portal:up:sum is computed from the next check on.")
        .expect_text(r#"sum(up{environment="live",project="portal"})"#);
    post(&owner, &csrf, form("portal:up:sum", "sum(up)", r#"team="web""#))
        .await
        .expect_status(422)
        .expect_text("This name is already in use.");
    let globex = server.login(GLOBEX_ADMIN).await;
    let csrf = globex.csrf().await;
    let page = globex.get("/clients/globex/thresholds").await;
    page.expect_text("portal:up:sum");
    assert!(
        !page.body.contains("action=\"/clients/globex/recordings\""),
        "client people get no form"
    );
    let forbidden = post(&globex, &csrf, form("portal:up:count", "count(up)", "")).await;
    assert_eq!(forbidden.status, 403);
}
