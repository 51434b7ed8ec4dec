//! Thresholds: made from a template's fields by agency people, read by the client's people
//! with their explanation, evaluated by the server every second here: watching (pending),
//! then the alarm (firing) after its `for`, then back to normal, with the `ALERTS` series in
//! the client's store. Another client never sees or changes them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use vitrine_tests::*;

fn threshold_form<'a>(csrf: &'a str, name: &'a str, expr: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("place", "portal/live"),
        ("name", name),
        ("expr", expr),
        ("comparator", ">"),
        ("value", "10"),
        ("warning", ""),
        ("for", "3s"),
        ("severity", "warning"),
        ("unit", "short"),
        (
            "meaning_en",
            "Orders wait in the queue: customers get their confirmation late.",
        ),
        ("action_en", "We add a worker within the hour."),
        ("audience_en", "The agency's developers by e-mail."),
        ("meaning_de", "Bestellungen warten in der Warteschlange."),
        ("action_de", ""),
        ("audience_de", ""),
    ]
}

#[tokio::test]
async fn a_threshold_watches_then_alarms_then_is_back_to_normal() {
    let server = Server::start_with(&[
        ("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "1"),
        ("VITRINE_NOTIFY_GROUP_WAIT_SECS", "0"),
        ("VITRINE_NOTIFY_GROUP_INTERVAL_SECS", "1"),
    ]);
    let value = Arc::new(AtomicU64::new(1));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;

    // The form keeps what was typed and says what is wrong.
    let response = owner
        .post_form(
            "/clients/globex/thresholds",
            &threshold_form(&csrf, "Queue too long", "sum(queue_length"),
        )
        .await;
    response
        .expect_status(422)
        .expect_text("This is not a PromQL query that gives a list of series");
    assert!(
        response.contains("Orders wait in the queue"),
        "the typed explanation is lost"
    );
    // Double braces in an explanation are a Prometheus template, or refused.
    let mut form = threshold_form(&csrf, "Queue too long", "max(queue_length)");
    form.retain(|(name, _)| *name != "action_en");
    form.push(("action_en", "We call {{ nosuchfunction }}."));
    owner
        .post_form("/clients/globex/thresholds", &form)
        .await
        .expect_status(422)
        .expect_text("is not a Prometheus template, e.g. {{ $value | humanize }} or {{ $labels.instance }}");

    let response = owner
        .post_form(
            "/clients/globex/thresholds",
            &threshold_form(&csrf, "Queue too long", "max(queue_length)"),
        )
        .await;
    response.expect_status(303);
    let location = response.location().unwrap_or_default().to_string();
    let id = location.rsplit("#threshold-").next().unwrap_or_default().to_string();
    assert!(id.parse::<i64>().is_ok(), "{location}");
    // The same name in the same place once.
    owner
        .post_form(
            "/clients/globex/thresholds",
            &threshold_form(&csrf, "Queue too long", "max(queue_length)"),
        )
        .await
        .expect_status(422)
        .expect_text("This name is already in use.");

    // Globex's admin reads it, with the explanation and the query as it is checked.
    let globex = server.login(GLOBEX_ADMIN).await;
    let ok = threshold_card(&globex, "globex", &id).await;
    for needle in [
        "Queue too long",
        ">OK<",
        "Orders wait in the queue",
        "We add a worker within the hour.",
        "Alarm when the value is above 10 for 3",
        r#"(max(queue_length{environment="live",project="portal"})) &gt; 10"#,
    ] {
        assert!(ok.contains(needle), "{needle:?} is not on the card: {ok}");
    }
    assert!(!ok.contains("Delete threshold"), "a client person may delete: {ok}");

    value.store(50, Ordering::Relaxed);
    let pending = wait_for_threshold_card(&globex, "globex", &id, ">Watching<").await;
    assert!(pending.contains("The value is 50"), "{pending}");
    let firing = wait_for_threshold_card(&globex, "globex", &id, ">Alarm<").await;
    assert!(firing.contains("Crossed: the value is 50"), "{firing}");
    let page = globex.get("/clients/globex/thresholds").await;
    page.expect_text("At least one threshold is crossed");

    // The alarm is in globex's store as Prometheus writes it, and in no other client's.
    let token = server.token("globex");
    let alerts = reqwest::Client::new()
        .get(server.url("/api/v1/query"))
        .query(&[("query", r#"ALERTS{alertstate="firing",alertname="Queue too long"}"#)])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(alerts.contains("\"severity\":\"warning\""), "{alerts}");
    let acme_token = server.token("acme");
    let elsewhere = reqwest::Client::new()
        .get(server.url("/api/v1/query"))
        .query(&[("query", r#"ALERTS{alertname="Queue too long"}"#)])
        .bearer_auth(&acme_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(elsewhere.contains("\"result\":[]"), "{elsewhere}");

    // Grafana's alert list reads the Prometheus API: globex's token sees the rule firing.
    let api = |path: &'static str, token: String| {
        let url = server.url(path);
        async move {
            let answer: serde_json::Value = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer
        }
    };
    let listed = api("/api/v1/alerts", token.clone()).await;
    let alert = &listed["data"]["alerts"][0];
    assert_eq!(alert["state"], "firing", "{listed}");
    assert_eq!(alert["labels"]["alertname"], "Queue too long", "{listed}");
    assert_eq!(alert["annotations"]["summary"], "Queue too long", "{listed}");
    assert_eq!(alert["value"], "50", "{listed}");
    let rules = api("/api/v1/rules", token.clone()).await;
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "portal/live", "{rules}");
    let rule = &group["rules"][0];
    assert_eq!(rule["type"], "alerting", "{rules}");
    assert_eq!(rule["state"], "firing", "{rules}");
    assert_eq!(rule["health"], "ok", "{rules}");
    assert_eq!(rule["duration"], 3, "{rules}");
    assert_eq!(
        rule["query"], r#"(max(queue_length{environment="live",project="portal"})) > 10"#,
        "{rules}"
    );
    let acme_rules = api("/api/v1/rules", acme_token.clone()).await;
    assert!(!acme_rules.to_string().contains("Queue too long"), "{acme_rules}");
    let acme_alerts = api("/api/v1/alerts", acme_token.clone()).await;
    assert!(!acme_alerts.to_string().contains("Queue too long"), "{acme_alerts}");

    value.store(2, Ordering::Relaxed);
    // The state shows at once; its history entry is written with the all-clear mail.
    let resolved = wait_for_threshold_card(&globex, "globex", &id, "back to normal").await;
    assert!(
        resolved.contains(">OK<") && resolved.contains("alarm raised"),
        "{resolved}"
    );

    // German readers get the German text, and English where none was written.
    let card_de = {
        let de = server.login(GLOBEX_ADMIN).await;
        let csrf = de.csrf().await;
        de.post_form("/account/language", &[("language", "de"), ("csrf", &csrf)])
            .await
            .expect_status(303);
        threshold_card(&de, "globex", &id).await
    };
    assert!(
        card_de.contains("Bestellungen warten in der Warteschlange."),
        "{card_de}"
    );
    assert!(card_de.contains("We add a worker within the hour."), "{card_de}");
}

#[tokio::test]
async fn thresholds_stay_with_their_client() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    owner
        .post_form(
            "/clients/globex/thresholds",
            &threshold_form(&csrf, "Globex queue", "max(queue_length)"),
        )
        .await
        .expect_status(303);
    let page = owner.get("/clients/globex/thresholds").await;
    let globex_id = between(&page.body, "id=\"threshold-", "\"").unwrap().to_string();

    // Acme's people see acme's thresholds (the demo's) and nothing of globex.
    let acme = server.login(ACME_ADMIN).await;
    let own = acme.get("/clients/acme/thresholds").await;
    own.expect_status(200).expect_text("Fehlerquote");
    assert!(!own.contains("Globex queue"));
    acme.get("/clients/globex/thresholds").await.expect_status(404);
    let acme_csrf = acme.csrf().await;
    // A client person may not add or delete thresholds of the own client either.
    acme.post_form(
        "/clients/acme/thresholds",
        &threshold_form(&acme_csrf, "Mine", "max(queue_length)")
            .into_iter()
            .map(|(n, v)| if n == "place" { (n, "shop/live") } else { (n, v) })
            .collect::<Vec<_>>(),
    )
    .await
    .expect_status(403);
    let acme_id = between(&own.body, "id=\"threshold-", "\"").unwrap().to_string();
    acme.post_form(
        &format!("/clients/acme/thresholds/{acme_id}/delete"),
        &[("csrf", &acme_csrf)],
    )
    .await
    .expect_status(403);

    // Even the agency cannot reach globex's threshold under acme's address, nor put one of
    // acme's into a place of globex.
    owner
        .post_form(
            &format!("/clients/acme/thresholds/{globex_id}/delete"),
            &[("csrf", &csrf)],
        )
        .await
        .expect_status(404);
    owner
        .post_form(
            "/clients/acme/thresholds",
            &threshold_form(&csrf, "Wrong place", "max(queue_length)"),
        )
        .await
        .expect_status(422)
        .expect_text("Choose one of the options.");
    owner
        .get("/clients/globex/thresholds")
        .await
        .expect_text("Globex queue");

    // Deleted by the agency: gone.
    let response = owner
        .post_form(
            &format!("/clients/globex/thresholds/{globex_id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    response.expect_status(303);
    let page = owner.get("/clients/globex/thresholds").await;
    page.expect_text("The threshold Globex queue was deleted.");
    assert!(!page.contains(&format!("id=\"threshold-{globex_id}\"")));
}

#[tokio::test]
async fn a_template_fills_the_form_in_every_language() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let page = owner.get("/clients/globex/thresholds?template=error-rate").await;
    page.expect_status(200);
    for needle in [
        "Error rate above 3 %",
        "Out of every 100 visits",
        "Von 100 Aufrufen Ihrer Anwendung",
        "Sur 100 visites de votre application",
        "value=\"5m\"",
        "value=\"0.03\"",
    ] {
        page.expect_text(needle);
    }
    // Client people get no form.
    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get("/clients/globex/thresholds?template=error-rate").await;
    page.expect_status(200);
    assert!(!page.contains("Out of every 100 visits") && !page.contains("New threshold"));
}

#[tokio::test]
async fn a_watching_threshold_keeps_its_start_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [
        ("VITRINE_DATA_DIR", data.to_str().unwrap()),
        ("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "1"),
        ("VITRINE_NOTIFY_GROUP_WAIT_SECS", "0"),
        ("VITRINE_NOTIFY_GROUP_INTERVAL_SECS", "1"),
    ];
    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    let (id, since) = {
        let server = Server::start_with(&env);
        server.scrape_every_second(&host, "globex", "portal", "live");
        let owner = server.login(OWNER).await;
        let csrf = owner.csrf().await;
        let mut form = threshold_form(&csrf, "Queue too long", "max(queue_length)");
        form.retain(|(n, _)| *n != "for");
        form.push(("for", "1h"));
        let response = owner.post_form("/clients/globex/thresholds", &form).await;
        response.expect_status(303);
        let id = response
            .location()
            .unwrap()
            .rsplit("#threshold-")
            .next()
            .unwrap()
            .to_string();
        let card = wait_for_threshold_card(&owner, "globex", &id, ">Watching<").await;
        let since = between(&card, " since ", ";").unwrap().to_string();
        (id, since)
    };
    let server = Server::start_with(&env);
    let owner = server.login(OWNER).await;
    let card = wait_for_threshold_card(&owner, "globex", &id, ">Watching<").await;
    assert!(
        card.contains(&format!(" since {since};")),
        "the `for` started again at the restart (was since {since}): {card}"
    );
}

/// The demo shop's answers with status 500 so far, summed over routes.
async fn server_errors(metrics_url: &str) -> f64 {
    let text = reqwest::get(metrics_url).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("http_requests_total{") && l.contains("status=\"500\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn the_demo_shop_misbehaves_on_demand() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let page = owner.get(&targets_path("acme", "shop", "live")).await;
    let shop = targets_on_page(&page.body)
        .into_iter()
        .find(|t| t.job == "shop")
        .unwrap_or_else(|| panic!("no demo shop target: {}", page.summary()))
        .url;
    owner.get("/agency").await.expect_text("Make the demo shop misbehave");

    let said = server.cli(&[
        "demo",
        "misbehave",
        "--error-rate",
        "1",
        "--latency",
        "0s",
        "--for",
        "1m",
    ]);
    assert!(said.contains("100 % of requests with an error"), "{said}");
    let before = server_errors(&shop).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = server_errors(&shop).await;
    assert!(after > before, "no errors while misbehaving: {before} → {after}");
    owner
        .get("/agency")
        .await
        .expect_text("The demo shop misbehaves for 1 more minutes");

    // Client people have no switch; the operator endpoint wants the operator's token.
    let acme = server.login(ACME_ADMIN).await;
    let csrf = acme.csrf().await;
    acme.post_form("/agency/demo/misbehave", &[("csrf", &csrf)])
        .await
        .expect_status(404);
    let anonymous = reqwest::Client::new()
        .post(server.url("/admin/demo/misbehave"))
        .body("1 0 60")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 404);
    // The agency's button.
    let csrf = owner.csrf().await;
    let response = owner.post_form("/agency/demo/misbehave", &[("csrf", &csrf)]).await;
    response.expect_status(303);
    owner.get("/agency").await.expect_text("misbehaves for 10 more minutes");
}

#[tokio::test]
async fn a_threshold_is_tried_out_before_it_is_stored_and_tested_after() {
    let server = Server::start();
    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    // Tried until the first samples are scraped.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let tried = loop {
        let tried = owner
            .post_form(
                "/clients/globex/thresholds/preview",
                &threshold_form(&csrf, "Queue too long", "max(queue_length)"),
            )
            .await;
        tried
            .expect_status(200)
            .expect_text("Tried out on the data of the last days");
        if !tried.contains("Right now there is no value") || std::time::Instant::now() > deadline {
            break tried;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tried
        .expect_text("Tried out on the data of the last days")
        .expect_text("Right now the value is 50: the line is crossed.")
        .expect_text("it would have raised the alarm")
        // The form keeps what was typed, and nothing is stored yet.
        .expect_text("Orders wait in the queue");
    assert!(
        tried.body.contains("<svg") && tried.body.contains("class=\"chart\""),
        "no chart"
    );
    assert!(
        !owner
            .get("/clients/globex/thresholds")
            .await
            .contains("Delete threshold")
    );
    owner
        .post_form(
            "/clients/globex/thresholds/preview",
            &threshold_form(&csrf, "Queue too long", "max(queue_length"),
        )
        .await
        .expect_status(422)
        .expect_text("This is not a PromQL query that gives a list of series");

    let created = owner
        .post_form(
            "/clients/globex/thresholds",
            &threshold_form(&csrf, "Queue too long", "max(queue_length)"),
        )
        .await;
    created.expect_status(303);
    let id = created
        .location()
        .unwrap_or_default()
        .rsplit("#threshold-")
        .next()
        .unwrap_or_default()
        .to_string();
    value.store(2, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tested = owner
        .post_form(
            &format!("/clients/globex/thresholds/{id}/test"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    tested.expect_status(200);
    let card = threshold_card(&owner, "globex", &id).await;
    assert!(
        !card.contains("Right now the value"),
        "a test is shown only in its answer"
    );
    assert!(
        tested.contains("Right now the value is 2: within the line."),
        "{}",
        tested.summary()
    );
    // Client people read thresholds; they do not test them.
    let globex = server.login(GLOBEX_ADMIN).await;
    let csrf = globex.csrf().await;
    let refused = globex
        .post_form(
            &format!("/clients/globex/thresholds/{id}/test"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.summary());
}
