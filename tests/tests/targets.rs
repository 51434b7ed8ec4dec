//! The targets page of an environment: listing with health, adding (with every
//! form error), test scrapes, deleting, importing a prometheus.yml, the
//! read-only view of client people, and the address guard.
//!
//! No request leaves the machine: the targets are the server's own `/metrics`,
//! `localhost`, and 169.254.169.254, which the guard refuses before connecting.

use std::time::{Duration, Instant};
use vitrine_tests::*;

const SEED_000: &str = include_str!("../../server/scrape-config/tests/fixtures/seed000_prometheus.yml");
const SEED_000_FIXED: &str = include_str!("../../server/scrape-config/tests/fixtures/seed000_prometheus_fixed.yml");

/// The owner, signed in, with the session's CSRF token.
async fn owner(server: &Server) -> (Client, String) {
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    (owner, csrf)
}

/// Posts the form with the CSRF token added.
async fn post(client: &Client, path: &str, csrf: &str, fields: &[(&str, &str)]) -> Response {
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    client.post_form(path, &all).await
}

/// The text of the element whose start tag contains `marker`, up to `end`.
fn part<'a>(html: &'a str, marker: &str, end: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in the page"));
    let rest = &html[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The number in "… with N series …" of a test scrape's result.
fn series_count(page: &Response) -> u64 {
    let text = page.text();
    let result = part(&text, "id=\"test-result\"", "</section>");
    let found = between(result, " with ", " series").unwrap_or_else(|| panic!("no series count: {}", page.summary()));
    found
        .replace(',', "")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a count: {found:?}"))
}

/// Reloads the page until the target's health badge reads `health`.
async fn wait_for_health(client: &Client, path: &str, id: i64, health: &str) -> TargetSeen {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = client.get(path).await;
        page.expect_status(200);
        let row = targets_on_page(&page.body).into_iter().find(|t| t.id == id);
        match row {
            Some(row) if row.health == health => return row,
            Some(row) if Instant::now() > deadline => {
                panic!("target {id} is still {:?}, not {health:?}: {}", row.health, row.row)
            }
            None => panic!("target {id} is not listed: {}", page.summary()),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

#[tokio::test]
async fn the_owner_adds_tests_watches_and_deletes_a_target() {
    let server = Server::start();
    let (owner, csrf) = owner(&server).await;
    let path = targets_path("acme", "shop", "stage");

    // The client page links each environment chip to its targets page.
    let client_page = owner.get("/clients/acme").await;
    client_page.expect_status(200);
    assert!(
        client_page.body.contains(&format!("href=\"{path}\"")),
        "{}",
        client_page.summary()
    );

    let empty = owner.get(&path).await;
    empty
        .expect_status(200)
        .expect_text("A target is an address")
        .expect_text("No targets in this environment yet.")
        .expect_text("Add a target")
        .expect_text("Import from prometheus.yml");

    // The server's own /metrics (loopback, which the demo allows), scraped every second,
    // with basic auth that the server does not ask for.
    let own_metrics = server.url("/metrics");
    let secret = "Pa55word-not-for-pages";
    let added = post(
        &owner,
        &path,
        &csrf,
        &[
            ("job", "portal-self"),
            ("url", &own_metrics),
            ("interval", "1s"),
            ("timeout", "1s"),
            ("labels", "team=shop\ntier=gold"),
            ("auth", "basic"),
            ("username", "scraper"),
            ("password", secret),
            ("action", "save"),
        ],
    )
    .await;
    added.expect_status(303);
    assert_eq!(added.location(), Some(path.as_str()));

    let page = owner.get(&path).await;
    page.expect_status(200).expect_text("The target portal-self was added.");
    assert!(!page.body.contains(secret), "the password is shown on the page");
    // Stored sealed: the password is nowhere in the database's files.
    for file in ["vitrine.db", "vitrine.db-wal"] {
        let bytes = std::fs::read(server.data_dir().join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the password is stored in the clear in {file}"
        );
    }
    let listed = targets_on_page(&page.body);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let target = &listed[0];
    assert_eq!(
        (target.job.as_str(), target.url.as_str()),
        ("portal-self", own_metrics.as_str())
    );
    assert!(target.row.contains("every 1s"), "{}", target.row);
    // The notice is shown once.
    let again = owner.get(&path).await;
    assert!(!again.contains("was added"), "the notice is shown twice");

    // The scraper picks the new target up and it turns up within seconds.
    let up = wait_for_health(&owner, &path, target.id, "up").await;
    assert!(up.row.contains("<time datetime=\""), "{}", up.row);
    assert!(up.row.contains(" UTC"), "{}", up.row);
    assert!(up.row.contains(" ms<"), "{}", up.row);
    assert!(up.row.contains("ago") || up.row.contains("just now"), "{}", up.row);
    assert!(up.row.contains("status up"), "{}", up.row);

    // A test scrape shows what the target answers.
    let tested = post(&owner, &format!("{path}/{}/test", target.id), &csrf, &[]).await;
    tested
        .expect_status(200)
        .expect_text("Test scrape of portal-self")
        .expect_text("Metric types")
        .expect_text("The first lines of the answer")
        .expect_text("vitrine_http_requests_total");
    assert!(series_count(&tested) > 0, "{}", tested.summary());
    assert!(tested.body.contains("<pre class=\"answer\">"));
    assert!(!tested.body.contains(secret));

    // The same job and address again: refused beside the address, values kept.
    let again = post(
        &owner,
        &path,
        &csrf,
        &[
            ("job", "portal-self"),
            ("url", &own_metrics),
            ("interval", "1s"),
            ("timeout", "1s"),
        ],
    )
    .await;
    again
        .expect_status(422)
        .expect_text("already exists in this environment");
    assert_eq!(
        input_value_by_id(&again.body, "add-url").as_deref(),
        Some(own_metrics.as_str())
    );
    assert_eq!(targets_on_page(&again.body).len(), 1);

    // Deleting removes it.
    let deleted = post(&owner, &format!("{path}/{}/delete", target.id), &csrf, &[]).await;
    deleted.expect_status(303);
    let page = owner.get(&path).await;
    page.expect_status(200)
        .expect_text("The target portal-self was deleted.")
        .expect_text("No targets in this environment yet.");
    // And it is gone for good: its address answers 404.
    owner
        .post_form(&format!("{path}/{}/test", target.id), &[("csrf", csrf.as_str())])
        .await
        .expect_status(404);
    assert!(!server.log().contains(secret), "the password is in the log");
}

#[tokio::test]
async fn form_errors_are_shown_beside_the_fields_and_keep_what_was_typed() {
    let server = Server::start();
    let (owner, csrf) = owner(&server).await;
    let path = targets_path("acme", "api", "live");
    let token = "tok-never-echoed-42";
    let rules = "- source_labels: [__address__]\n  target_label: host\n    action: replace\n";
    let refused = post(
        &owner,
        &path,
        &csrf,
        &[
            ("job", "api"),
            ("url", "ftp://api.example.com/metrics"),
            ("interval", "every minute"),
            ("timeout", "10s"),
            ("labels", "team=api\nproject=other"),
            ("auth", "bearer"),
            ("bearer_token", token),
            ("relabel_configs", rules),
            ("action", "save"),
        ],
    )
    .await;
    refused
        .expect_status(422)
        .expect_text("Please correct the marked fields.");
    let html = refused.text();
    let url = part(&html, "id=\"add-url-message\"", "</div>");
    assert!(
        url.contains("This address cannot be used") && url.contains("ftp"),
        "{url}"
    );
    let interval = part(&html, "id=\"add-interval-message\"", "</div>");
    assert!(
        interval.contains("Not a usable duration") && interval.contains("15s, 1m30s"),
        "{interval}"
    );
    let labels = part(&html, "id=\"add-labels-message\"", "</div>");
    assert!(labels.contains("Line 2:") && labels.contains("reserved"), "{labels}");
    let yaml = part(&html, "id=\"add-relabel_configs-message\"", "</div>");
    assert!(yaml.contains("Line 3, column "), "{yaml}");
    assert!(yaml.contains("Hint:") && yaml.contains("indentation"), "{yaml}");

    // What was typed is still there, except the secret.
    assert_eq!(input_value_by_id(&html, "add-job").as_deref(), Some("api"));
    assert_eq!(
        input_value_by_id(&html, "add-url").as_deref(),
        Some("ftp://api.example.com/metrics")
    );
    assert_eq!(
        input_value_by_id(&html, "add-interval").as_deref(),
        Some("every minute")
    );
    assert!(html.contains("team=api\nproject=other</textarea>"), "labels not kept");
    assert!(html.contains(&format!("{rules}</textarea>")), "rules not kept");
    assert!(
        tags(&html, "input")
            .iter()
            .any(|t| t.contains("id=\"add-auth-bearer\"") && t.contains(" checked")),
        "the bearer choice is not kept"
    );
    assert!(!refused.body.contains(token), "the token is echoed");

    // A reserved label alone, a timeout longer than the interval and a URL with credentials.
    let refused = post(
        &owner,
        &path,
        &csrf,
        &[
            ("job", "api"),
            ("url", "https://user:pw@api.example.com/metrics"),
            ("interval", "5s"),
            ("timeout", "6s"),
            ("labels", "__address__=x"),
        ],
    )
    .await;
    refused.expect_status(422);
    let html = refused.text();
    let url = part(&html, "id=\"add-url-message\"", "</div>");
    assert!(url.contains("credentials"), "{url}");
    let labels = part(&html, "id=\"add-labels-message\"", "</div>");
    assert!(labels.contains("Line 1:") && labels.contains("__address__"), "{labels}");
    // The URL is refused, so the target was never built: the timeout is checked once it is fixed.
    let refused = post(
        &owner,
        &path,
        &csrf,
        &[
            ("job", "api"),
            ("url", "https://api.example.com/metrics"),
            ("interval", "5s"),
            ("timeout", "6s"),
        ],
    )
    .await;
    refused.expect_status(422);
    let timeout = part(&refused.text(), "id=\"add-timeout-message\"", "</div>").to_string();
    assert!(timeout.contains("longer than the scrape interval"), "{timeout}");

    // Nothing was saved by any of this.
    let page = owner.get(&path).await;
    assert!(targets_on_page(&page.body).is_empty(), "{}", page.summary());
}

#[tokio::test]
async fn importing_prometheus_yml_reports_errors_and_everything_not_imported() {
    let server = Server::start();
    let (owner, csrf) = owner(&server).await;
    let path = targets_path("acme", "api", "live");
    let import = format!("{path}/import");

    // The user's own file from seed 000: one line is indented wrongly.
    let broken = post(&owner, &import, &csrf, &[("prometheus_yml", SEED_000)]).await;
    broken.expect_status(422);
    let html = broken.text();
    let message = part(&html, "id=\"import-prometheus_yml-message\"", "</div>");
    assert!(message.contains("Line 19, column 17"), "{message}");
    assert!(message.contains("mapping values are not allowed"), "{message}");
    assert!(
        message.contains("Hint:") && message.contains("indentation"),
        "{message}"
    );
    assert!(
        message.contains("metrics_path: /metrics"),
        "the excerpt shows the line: {message}"
    );
    assert!(
        html.contains("- job_name: prometheus\n    metrics_path"),
        "the text is kept"
    );
    assert!(targets_on_page(&broken.body).is_empty());

    // The fixed file imports: one target, and every setting left out is listed.
    let imported = post(&owner, &import, &csrf, &[("prometheus_yml", SEED_000_FIXED)]).await;
    imported.expect_status(303);
    assert_eq!(imported.location(), Some(path.as_str()));
    let page = owner.get(&path).await;
    page.expect_status(200)
        .expect_text("Import finished")
        .expect_text("Jobs read: 1. Targets added: 1.");
    let report = part(&page.text(), "id=\"import-report\"", "</section>").to_string();
    let alerting = part(&report, "<code>alerting</code>", "</li>");
    assert!(
        alerting.contains("needs attention") && alerting.contains("line 7"),
        "{alerting}"
    );
    assert!(alerting.contains("Alertmanager"), "{alerting}");
    let evaluation = part(&report, "<code>global.evaluation_interval</code>", "</li>");
    assert!(
        evaluation.contains("harmless") && evaluation.contains("line 5"),
        "{evaluation}"
    );
    let listed = targets_on_page(&page.body);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0].job.as_str(), listed[0].url.as_str()),
        ("prometheus", "http://localhost:9090/metrics")
    );

    // Importing again adds nothing and says so.
    post(&owner, &import, &csrf, &[("prometheus_yml", SEED_000_FIXED)])
        .await
        .expect_status(303);
    let page = owner.get(&path).await;
    page.expect_text("Targets added: 0.")
        .expect_text("already present, skipped:");
    assert_eq!(targets_on_page(&page.body).len(), 1);

    // Secrets in a refused file are not shown again; line numbers stay.
    let with_secret =
        "scrape_configs:\n  - job_name: x\n    basic_auth:\n      password: hunter2-secret\n    static_configs: [\n";
    let refused = post(&owner, &import, &csrf, &[("prometheus_yml", with_secret)]).await;
    refused
        .expect_status(422)
        .expect_text("Passwords and tokens were removed");
    assert!(!refused.body.contains("hunter2-secret"));
    assert!(
        refused.text().contains("password: '(removed)'"),
        "{}",
        refused.summary()
    );

    // An empty paste is "required".
    post(&owner, &import, &csrf, &[("prometheus_yml", "  \n")])
        .await
        .expect_status(422)
        .expect_text("This field is required.");
}

#[tokio::test]
async fn client_people_see_the_targets_but_cannot_change_them() {
    let server = Server::start();
    let path = targets_path("acme", "shop", "live");
    let acme = server.login(ACME_ADMIN).await;
    let csrf = acme.csrf().await;
    let page = acme.get(&path).await;
    page.expect_status(200)
        .expect_text("A target is an address")
        .expect_text("The agency sets up the targets");
    let listed = targets_on_page(&page.body);
    assert!(listed.len() >= 2, "the demo's targets: {listed:?}");
    assert!(
        tags(&page.body, "form").iter().all(|f| !f.contains("/targets")),
        "a form on a read-only page"
    );
    assert!(!page.contains("Add a target") && !page.contains("Import from prometheus.yml"));
    assert!(!page.contains("Delete") && !page.contains(">Test scrape<"));

    // In German when the browser asks for it.
    let german = acme
        .send(
            acme.request(reqwest::Method::GET, &path)
                .header("accept-language", "de"),
        )
        .await;
    german
        .expect_status(200)
        .expect_text("Ziele von Online shop")
        .expect_text("Ein Ziel ist eine Adresse")
        .expect_text("Letzter Abruf");

    let id = listed[0].id.to_string();
    let own_metrics = server.url("/metrics");
    for (action, fields) in [
        (path.clone(), vec![("job", "mine"), ("url", own_metrics.as_str())]),
        (format!("{path}/import"), vec![("prometheus_yml", SEED_000_FIXED)]),
        (format!("{path}/{id}/test"), vec![]),
        (format!("{path}/{id}/delete"), vec![]),
    ] {
        let response = post(&acme, &action, &csrf, &fields).await;
        assert_eq!(response.status, 403, "POST {action}: {}", response.summary());
        response.expect_text("Not allowed");
    }
    let after = acme.get(&path).await;
    assert_eq!(
        targets_on_page(&after.body).iter().map(|t| t.id).collect::<Vec<_>>(),
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        "the targets changed"
    );
}

#[tokio::test]
async fn a_metadata_address_can_be_saved_but_is_never_fetched() {
    let server = Server::start();
    let (owner, csrf) = owner(&server).await;
    let path = targets_path("globex", "portal", "stage");
    let metadata = "http://169.254.169.254/latest/meta-data/";

    // Testing before saving shows the refusal and saves nothing.
    let tested = post(
        &owner,
        &path,
        &csrf,
        &[("job", "metadata"), ("url", metadata), ("action", "test")],
    )
    .await;
    tested.expect_status(200).expect_text("The test scrape failed:");
    let result = part(&tested.text(), "id=\"test-result\"", "</section>").to_string();
    assert!(
        result.contains("refused") && result.contains("169.254.169.254"),
        "{result}"
    );
    assert!(result.contains("not allowed"), "{result}");
    assert!(targets_on_page(&tested.body).is_empty());
    assert_eq!(input_value_by_id(&tested.body, "add-url").as_deref(), Some(metadata));

    // Saved, it is listed; the test scrape and the scraper itself are refused.
    post(
        &owner,
        &path,
        &csrf,
        &[
            ("job", "metadata"),
            ("url", metadata),
            ("interval", "1s"),
            ("timeout", "1s"),
        ],
    )
    .await
    .expect_status(303);
    let page = owner.get(&path).await;
    let target = targets_on_page(&page.body).pop().expect("the target is listed");
    let tested = post(&owner, &format!("{path}/{}/test", target.id), &csrf, &[]).await;
    tested.expect_status(200);
    let result = part(&tested.text(), "id=\"test-result\"", "</section>").to_string();
    assert!(result.contains("refused: 169.254.169.254 is not allowed"), "{result}");
    let down = wait_for_health(&owner, &path, target.id, "down").await;
    assert!(down.row.contains("refused"), "{}", down.row);
}
