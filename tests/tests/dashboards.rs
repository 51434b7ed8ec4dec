//! Dashboards: the demo client admin finds "Is my application OK?" from the client home, reads
//! every panel with its explanation and a sentence about the period, switches environment and
//! period through the address (the queries are confined to the environment: stage, which has no
//! targets, has no data), and cannot add dashboards; the agency owner adds the default dashboard
//! to a project; another client's dashboard is not found.

use vitrine_tests::*;

/// The id of the first dashboard on `client`'s dashboards page.
async fn first_dashboard(person: &Client, client: &str) -> String {
    let page = person.get(&format!("/clients/{client}/dashboards")).await;
    page.expect_status(200);
    between(&page.body, &format!("/clients/{client}/dashboards/"), "?")
        .unwrap_or_else(|| panic!("{client} has no dashboard: {}", page.summary()))
        .to_string()
}

#[tokio::test]
async fn the_client_reads_its_dashboard_per_environment_and_period() {
    let server = Server::start();
    let acme = server.login(ACME_ADMIN).await;
    acme.get("/clients/acme")
        .await
        .expect_status(200)
        .expect_text("href=\"/clients/acme/dashboards\"");
    let landing = acme.get("/clients/acme/dashboards").await;
    landing
        .expect_status(200)
        .expect_text("Is my application OK?")
        .expect_text("live")
        .expect_text("stage");
    let id = first_dashboard(&acme, "acme").await;

    let live = acme.get(&format!("/clients/acme/dashboards/{id}")).await;
    live.expect_status(200)
        .expect_text("Is my application OK?")
        .expect_text("Errors seen by visitors")
        .expect_text("The share of page views that ended with an error page")
        .expect_text("How fast pages load")
        .expect_text("Requests per second")
        .expect_text("aria-current=\"page\">live<")
        .expect_text("aria-current=\"page\">Last 24 hours<");
    assert_eq!(
        live.body.matches("<article class=\"card panel").count(),
        7,
        "{}",
        live.summary()
    );
    // The alert list says how the environment's thresholds are.
    assert!(
        live.contains("thresholds are OK.") || live.contains("raise the alarm:"),
        "{}",
        live.summary()
    );
    assert!(live.body.matches("<svg").count() >= 6, "a panel without a chart");
    // The error rate threshold of the demo is drawn on its panel, with its explanation.
    assert!(
        live.body.contains("/clients/acme/thresholds#threshold-"),
        "{}",
        live.summary()
    );

    // Stage has no targets: every panel says so, nothing of live leaks in.
    let stage = acme
        .get(&format!("/clients/acme/dashboards/{id}?environment=stage&range=7d"))
        .await;
    stage
        .expect_status(200)
        .expect_text("aria-current=\"page\">stage<")
        .expect_text("aria-current=\"page\">Last 7 days<");
    assert_eq!(
        stage.body.matches("No data in this period.").count(),
        6,
        "{}",
        stage.summary()
    );
    stage.expect_text("No thresholds watch this environment yet.");
    // Every value of a panel as CSV, and a table of its series behind the chart.
    live.expect_text("The values").expect_text(&format!(
        "/clients/acme/dashboards/{id}/panels/6/csv?environment=live&amp;range=24h"
    ));
    let csv = acme
        .get(&format!(
            "/clients/acme/dashboards/{id}/panels/6/csv?environment=live&range=1h"
        ))
        .await;
    csv.expect_status(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.header("content-disposition")
            .is_some_and(|d| d.contains("shop-live-panel-6.csv"))
    );
    assert!(csv.body.starts_with("time,series,value\n"), "{}", csv.body);
    acme.get(&format!("/clients/acme/dashboards/{id}/panels/99/csv"))
        .await
        .expect_status(404);
    // An environment or period the project does not have falls back to live and 24 hours.
    acme.get(&format!("/clients/acme/dashboards/{id}?environment=nope&range=1y"))
        .await
        .expect_status(200)
        .expect_text("aria-current=\"page\">live<")
        .expect_text("aria-current=\"page\">Last 24 hours<");
    // In German, the same dashboard in German.
    let german = acme
        .send(
            acme.request(reqwest::Method::GET, &format!("/clients/acme/dashboards/{id}"))
                .header("Accept-Language", "de"),
        )
        .await;
    german.expect_status(200).expect_text("Läuft meine Anwendung?");

    // The client's admin cannot add dashboards; no such dashboard is the same 404.
    let csrf = acme.csrf().await;
    acme.post_form("/clients/acme/projects/shop/dashboards", &[("csrf", csrf.as_str())])
        .await
        .expect_status(403);
    acme.get("/clients/acme/dashboards/999999").await.expect_status(404);
    acme.get("/clients/acme/dashboards/x").await.expect_status(404);
    let globex = server.login(GLOBEX_ADMIN).await;
    globex
        .get(&format!("/clients/acme/dashboards/{id}"))
        .await
        .expect_status(404);
    let own = first_dashboard(&globex, "globex").await;
    globex
        .get(&format!("/clients/globex/dashboards/{id}"))
        .await
        .expect_status(if own == id { 200 } else { 404 });
}

#[tokio::test]
async fn the_agency_adds_the_default_dashboard_to_a_project() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let before = owner.get("/clients/globex/dashboards").await;
    let count = |body: &str| body.matches("class=\"dashboard-title\"").count();
    let had = count(&before.body);
    let csrf = owner.csrf().await;
    let added = owner
        .post_form("/clients/globex/projects/portal/dashboards", &[("csrf", csrf.as_str())])
        .await;
    added.expect_status(303);
    let location = added.location().unwrap_or_default().to_string();
    assert!(location.starts_with("/clients/globex/dashboards/"), "{location}");
    owner
        .get(&location)
        .await
        .expect_status(200)
        .expect_text("Customer portal");
    assert_eq!(count(&owner.get("/clients/globex/dashboards").await.body), had + 1);
    owner
        .post_form("/clients/globex/projects/nope/dashboards", &[("csrf", csrf.as_str())])
        .await
        .expect_status(404);
}

async fn api(
    method: reqwest::Method,
    server: &Server,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// Grafana's annotation API sets, lists, changes and deletes markers with a token that may; the
/// marker shows on the dashboard of its environment only; the client admin adds and removes
/// markers on the page; a threshold's alarm is a marker by itself.
#[tokio::test]
async fn markers_come_from_grafanas_api_the_page_and_alarms() {
    use reqwest::Method;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let server = Server::start_with(&[
        ("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "1"),
        ("VITRINE_NOTIFY_GROUP_WAIT_SECS", "0"),
        ("VITRINE_NOTIFY_GROUP_INTERVAL_SECS", "1"),
    ]);
    let writer = server.scoped_token("globex", Some("annotations:write"));
    let reader = server.scoped_token("globex", None);
    let acme = server.scoped_token("acme", Some("annotations:write"));
    let body = serde_json::json!({"text": "Deploy v1.4", "tags": ["deploy", "environment:live"]});
    let (status, denied) = api(Method::POST, &server, "/api/annotations", &reader, Some(body.clone())).await;
    assert_eq!(status, 403, "{denied}");
    let (status, added) = api(Method::POST, &server, "/api/annotations", &writer, Some(body)).await;
    assert_eq!(
        (status, added["message"].as_str()),
        (200, Some("Annotation added")),
        "{added}"
    );
    let id = added["id"].as_i64().expect("an id");
    let (status, listed) = api(
        Method::GET,
        &server,
        "/api/annotations?tags=deploy&limit=10",
        &reader,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["id"].as_i64(), Some(id), "{listed}");
    assert_eq!(listed[0]["text"], "Deploy v1.4");
    assert_eq!(listed[0]["environment"], "live");
    assert!(listed[0]["time"].as_i64().is_some_and(|t| t > 1_700_000_000_000));
    // Another client's token finds nothing to change.
    let (status, _) = api(
        Method::PATCH,
        &server,
        &format!("/api/annotations/{id}"),
        &acme,
        Some(serde_json::json!({"text": "x"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = api(Method::GET, &server, "/api/annotations", &acme, None).await;
    assert_eq!(status, 200);

    let globex = server.login(GLOBEX_ADMIN).await;
    let dashboard = first_dashboard(&globex, "globex").await;
    let live = format!("/clients/globex/dashboards/{dashboard}?environment=live");
    globex.get(&live).await.expect_status(200).expect_text("Deploy v1.4");
    let stage = globex
        .get(&format!("/clients/globex/dashboards/{dashboard}?environment=stage"))
        .await;
    assert!(!stage.contains("Deploy v1.4"), "a live marker on stage");
    let (status, patched) = api(
        Method::PATCH,
        &server,
        &format!("/api/annotations/{id}"),
        &writer,
        Some(serde_json::json!({"text": "Deploy v1.4.1"})),
    )
    .await;
    assert_eq!((status, patched["message"].as_str()), (200, Some("Annotation patched")));
    globex.get(&live).await.expect_text("Deploy v1.4.1");
    let (status, _) = api(
        Method::DELETE,
        &server,
        &format!("/api/annotations/{id}"),
        &writer,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!globex.get(&live).await.contains("Deploy v1.4.1"));

    // On the page: a marker with an end before its start is refused with the form kept.
    let csrf = globex.csrf().await;
    let path = format!("/clients/globex/dashboards/{dashboard}/markers");
    globex
        .post_form(
            &path,
            &[
                ("csrf", csrf.as_str()),
                ("environment", "live"),
                ("range", "24h"),
                ("text", "Newsletter sent"),
                ("starts", "2026-12-01T10:00"),
                ("ends", "2026-12-01T09:00"),
            ],
        )
        .await
        .expect_status(422)
        .expect_text("Newsletter sent");
    let added = globex
        .post_form(
            &path,
            &[
                ("csrf", csrf.as_str()),
                ("environment", "live"),
                ("range", "24h"),
                ("text", "Newsletter sent"),
            ],
        )
        .await;
    added.expect_status(303);
    let page = globex.get(&live).await;
    page.expect_text("Newsletter sent");
    let marker = between(&page.body, "id=\"marker-", "\"")
        .expect("the marker")
        .to_string();
    globex
        .post_form(
            &format!("/clients/globex/markers/{marker}/delete"),
            &[
                ("csrf", csrf.as_str()),
                ("dashboard", dashboard.as_str()),
                ("environment", "live"),
                ("range", "24h"),
            ],
        )
        .await
        .expect_status(303);
    assert!(!globex.get(&live).await.contains("Newsletter sent"));

    // A threshold's alarm is a marker by itself.
    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    add_queue_threshold(&server, "Queue too long").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !globex.get(&live).await.contains("Alarm: Queue too long") {
        assert!(std::time::Instant::now() < deadline, "no marker of the alarm");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    value.store(0, Ordering::Relaxed);
}

/// A dashboard goes out as Vitrine's JSON and back in, to another client's project; a file
/// with a broken query is refused with the place of the problem.
#[tokio::test]
async fn a_dashboard_goes_out_as_json_and_back_in() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let id = first_dashboard(&owner, "acme").await;
    let json = server.cli(&["dashboards", "export", "--client", "acme", "--dashboard", &id]);
    assert!(
        json.contains("\"schema\": 1") && json.contains("Is my application OK?"),
        "{json}"
    );
    let renamed = json.replace("Is my application OK?", "Is the portal OK?");
    let file = server.data_dir().join("dashboard.json");
    std::fs::write(&file, &renamed).expect("writing the file");
    let file = file.to_str().expect("a UTF-8 path");
    let out = server.cli(&[
        "dashboards",
        "import",
        file,
        "--client",
        "globex",
        "--project",
        "portal",
    ]);
    let address = out.lines().last().expect("the address");
    let path = &address[address.find("/clients/").expect("a dashboard address")..];
    owner
        .get(path)
        .await
        .expect_status(200)
        .expect_text("Is the portal OK?");

    let broken = renamed.replacen("avg(up)", "avg(up", 1);
    let bad = server.data_dir().join("broken.json");
    std::fs::write(&bad, broken).expect("writing the file");
    let err = server.cli_failing(&[
        "dashboards",
        "import",
        bad.to_str().expect("a UTF-8 path"),
        "--client",
        "globex",
        "--project",
        "portal",
    ]);
    assert!(err.contains("panels[1].queries[0].expr"), "{err}");
    let err = server.cli_failing(&["dashboards", "export", "--client", "globex", "--dashboard", &id]);
    assert!(err.contains("has no dashboard"), "{err}");
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/grafana/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Seed 003's two dashboards and published community dashboards (node_exporter, Redis,
/// Prometheus' own, an old-schema one) import from the command line; every panel of each
/// renders without an error box, and what could not come along is listed.
#[tokio::test]
async fn grafana_dashboards_import_and_every_panel_renders() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    for name in [
        "seed003-system-overview.json",
        "seed003-api-performance.json",
        "node-exporter-full.json",
        "redis.json",
        "prometheus-2-stats.json",
        "old-schema.json",
    ] {
        let out = server.cli(&[
            "dashboards",
            "import",
            &fixture(name),
            "--client",
            "acme",
            "--project",
            "shop",
        ]);
        let imported = out
            .lines()
            .find(|l| l.starts_with("Dashboard ") && l.contains(" imported with "))
            .unwrap_or_else(|| panic!("{name}: no report: {out}"));
        let panels: usize = imported
            .rsplit(" imported with ")
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name}: {imported}"));
        assert!(panels > 0, "{name}: no panel imported: {out}");
        println!("{name}: {panels} panels, {} notes", out.lines().count() - 3);
        let address = out.lines().last().expect("the address");
        let path = &address[address.find("/clients/").expect("a dashboard address")..];
        let page = owner.get(&format!("{path}?environment=live")).await;
        page.expect_status(200);
        assert!(
            !page.body.contains("This panel&#x27;s query cannot run")
                && !page.body.contains("This panel's query cannot run"),
            "{name}: a panel cannot run: {}",
            page.summary()
        );
        assert!(
            page.body.matches("class=\"panel").count() >= panels,
            "{name}: fewer panels drawn than imported"
        );
    }
    let out = server.cli(&[
        "dashboards",
        "import",
        &fixture("seed003-api-performance.json"),
        "--client",
        "globex",
        "--project",
        "portal",
    ]);
    assert!(
        out.contains("Dashboard API Performance imported with 2 panels.")
            && out.contains("Panel Response Time: the heatmap is drawn as lines."),
        "{out}"
    );
}

/// The import form on the dashboards page: agency people paste a Grafana dashboard and read
/// what the import did; a text that is no dashboard stays with the reason; client people have
/// no form and may not post it.
#[tokio::test]
async fn a_grafana_dashboard_is_imported_through_the_form() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let json = std::fs::read_to_string(fixture("seed003-system-overview.json")).expect("the seed's dashboard");
    owner
        .post_form(
            "/clients/globex/dashboards/import",
            &[
                ("csrf", csrf.as_str()),
                ("project", "portal"),
                ("json", "{\"title\": \"x\"}"),
            ],
        )
        .await
        .expect_status(422)
        .expect_text("This is not a Grafana or Vitrine dashboard Vitrine can read:")
        .expect_text("neither panels nor rows");
    owner
        .post_form(
            "/clients/globex/dashboards/import",
            &[("csrf", csrf.as_str()), ("project", "portal"), ("json", json.as_str())],
        )
        .await
        .expect_status(303);
    let page = owner.get("/clients/globex/dashboards").await;
    page.expect_text("Dashboard VALEO-NeuroERP System Overview imported with 2 panels.")
        .expect_text("Open the imported dashboard");
    let globex = server.login(GLOBEX_ADMIN).await;
    let csrf = globex.csrf().await;
    let page = globex.get("/clients/globex/dashboards").await;
    page.expect_text("VALEO-NeuroERP System Overview");
    assert!(
        !page.body.contains("/dashboards/import"),
        "client people get no import form"
    );
    let forbidden = globex
        .post_form(
            "/clients/globex/dashboards/import",
            &[("csrf", csrf.as_str()), ("project", "portal"), ("json", json.as_str())],
        )
        .await;
    assert_eq!(forbidden.status, 403);
}
