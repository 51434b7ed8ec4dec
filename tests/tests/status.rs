//! Public status pages, black-box: the demo's published page for ACME (no cookie, no
//! script, nothing from another site, cached with an ETag, gzip), Statuspage's JSON fields,
//! an unpublished page that looks like a missing one, and a component that follows a real
//! probe of a loopback site going down and coming back, and a state set by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vitrine_tests::*;

/// A loopback site that answers 200 "Welcome" or, once `broken` is set, 500.
async fn site(broken: Arc<AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let broken = broken.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf).await;
                let answer: &[u8] = if broken.load(Ordering::SeqCst) {
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\nconnection: close\r\n\r\nerror"
                } else {
                    b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nWelcome"
                };
                let _ = stream.write_all(answer).await;
            });
        }
    });
    format!("http://{addr}/")
}

async fn summary(anonymous: &Client, slug: &str) -> serde_json::Value {
    let response = anonymous.get(&format!("/status/{slug}/api/v2/summary.json")).await;
    response.expect_status(200);
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.summary()))
}

fn component_status(summary: &serde_json::Value, name: &str) -> String {
    summary["components"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == name))
        .and_then(|c| c["status"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_demos_public_page_is_private_light_and_cached() {
    let server = Server::start();
    let anonymous = server.client();
    let page = anonymous.get("/status/acme").await;
    page.expect_status(200).expect_text("ACME Shop").expect_text("Checkout");
    assert_eq!(page.set_cookies(), Vec::<String>::new(), "a public page sets no cookie");
    assert!(!page.body.contains("<script"), "no script: {}", page.summary());
    for tag in ["link", "img", "script", "iframe"] {
        for element in tags(&page.body, tag) {
            for attribute in ["href", "src"] {
                if let Some(address) = attr(element, attribute) {
                    assert!(!address.contains("//"), "{element} loads from another site");
                }
            }
        }
    }
    assert_eq!(page.header("vary"), Some("Accept-Language, Accept-Encoding"));
    assert!(page.header("cache-control").is_some_and(|c| c.starts_with("public")));
    let etag = page.header("etag").expect("an ETag").to_string();
    // 90 bars for each of the demo's three components.
    assert_eq!(page.body.matches("<rect").count(), 3 * 90, "{}", page.summary());

    let again = anonymous
        .send(
            anonymous
                .request(reqwest::Method::GET, "/status/acme")
                .header("If-None-Match", &etag),
        )
        .await;
    assert_eq!(again.status, 304, "{}", again.summary());
    assert!(again.body.is_empty());

    // Without decompression, whichever features the workspace build gives reqwest.
    let raw = reqwest::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(server.url("/status/acme"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.headers().get("content-encoding").and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let gzip = raw.bytes().await.unwrap();
    assert_eq!(&gzip[..2], &[0x1f, 0x8b]);
    assert!(
        gzip.len() * 4 < page.body.len(),
        "gzip {} bytes of {}",
        gzip.len(),
        page.body.len()
    );

    // The language by the browser, or the switcher's ?lang= without a cookie.
    let german = anonymous
        .send(
            anonymous
                .request(reqwest::Method::GET, "/status/acme")
                .header("Accept-Language", "de-DE"),
        )
        .await;
    german.expect_text("lang=\"de\"").expect_text("Tagen");
    let french = anonymous.get("/status/acme?lang=fr").await;
    french.expect_text("lang=\"fr\"").expect_text("jours");
    assert_eq!(french.set_cookies(), Vec::<String>::new());
    french.expect_text("Europe/Berlin");

    // Badges and the widget for the client's own sites.
    let badge = anonymous.get("/status/acme/badge.svg?lang=en").await;
    badge
        .expect_status(200)
        .expect_text("<svg")
        .expect_text("status: Operational");
    assert_eq!(badge.header("content-type"), Some("image/svg+xml"));
    let checkout = summary(&anonymous, "acme").await["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Checkout")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .unwrap();
    let component = anonymous
        .get(&format!("/status/acme/components/{checkout}/badge.svg?lang=en"))
        .await;
    component.expect_status(200).expect_text("Checkout: Operational · 99.");
    let chart = anonymous
        .get(&format!("/status/acme/components/{checkout}/response-time.svg"))
        .await;
    chart
        .expect_status(200)
        .expect_text("<svg")
        .expect_text("prefers-color-scheme: dark");
    assert_eq!(chart.header("content-type"), Some("image/svg+xml"));
    page.expect_text(&format!("/status/acme/components/{checkout}/response-time.svg"));
    let shop_data = anonymous.get("/status/acme/api/v2/components.json").await;
    let shop_data: serde_json::Value = serde_json::from_str(&shop_data.body).unwrap();
    let shop_data = shop_data["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Shop data")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .unwrap();
    let unprobed = anonymous
        .get(&format!("/status/acme/components/{shop_data}/response-time.svg"))
        .await;
    assert_eq!(unprobed.status, 404, "a component without a probe has no chart");
    let missing = anonymous.get("/status/acme/components/999999/badge.svg").await;
    assert_eq!(missing.status, 404);
    let widget = anonymous.get("/status/acme/widget?lang=en").await;
    widget.expect_status(200).expect_text("All systems operational");
    assert!(
        widget
            .header("content-security-policy")
            .is_some_and(|p| p.contains("frame-ancestors *"))
    );
    assert!(
        page.header("content-security-policy")
            .is_some_and(|p| p.contains("frame-ancestors 'none'"))
    );

    let css = anonymous.get("/status.css").await;
    css.expect_status(200);
    assert!(css.header("content-type").is_some_and(|t| t.starts_with("text/css")));
}

#[tokio::test]
async fn the_json_has_statuspages_fields() {
    let server = Server::start();
    let anonymous = server.client();
    let summary = summary(&anonymous, "acme").await;
    let page = &summary["page"];
    for field in ["id", "name", "url", "time_zone", "updated_at"] {
        assert!(page[field].is_string(), "page.{field}: {summary}");
    }
    assert_eq!(page["time_zone"], "Europe/Berlin");
    assert!(page["url"].as_str().unwrap().ends_with("/status/acme"));
    assert!(summary["incidents"].is_array() && summary["scheduled_maintenances"].is_array());
    assert_eq!(summary["status"]["indicator"], "none", "{summary}");
    assert_eq!(summary["status"]["description"], "All Systems Operational");
    let components = summary["components"].as_array().unwrap();
    assert_eq!(components.len(), 4, "three components and their group: {summary}");
    for component in components {
        for field in ["id", "name", "status", "created_at", "updated_at", "page_id"] {
            assert!(component[field].is_string(), "{field}: {component}");
        }
        for field in ["showcase", "group", "only_show_if_degraded"] {
            assert!(component[field].is_boolean(), "{field}: {component}");
        }
        assert!(component["position"].is_u64(), "{component}");
        assert!(
            [
                "operational",
                "degraded_performance",
                "partial_outage",
                "major_outage",
                "under_maintenance"
            ]
            .contains(&component["status"].as_str().unwrap()),
            "{component}"
        );
    }
    let group = components.iter().find(|c| c["group"] == true).unwrap();
    assert_eq!(group["name"], "Online shop");
    let members: Vec<&str> = group["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for member in &members {
        let child = components.iter().find(|c| c["id"] == *member).unwrap();
        assert_eq!(child["group_id"], group["id"]);
    }
    let status = anonymous.get("/status/acme/api/v2/status.json").await;
    let status: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    assert_eq!(status["status"], summary["status"]);
    assert!(status.get("components").is_none());
    let listed = anonymous.get("/status/acme/api/v2/components.json").await;
    let listed: serde_json::Value = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(listed["components"], summary["components"]);
}

#[tokio::test]
async fn an_unpublished_page_is_the_same_404_as_a_missing_one() {
    let server = Server::start();
    let anonymous = server.client();
    let unpublished = anonymous.get("/status/globex").await;
    let missing = anonymous.get("/status/no-such-client").await;
    assert_eq!(unpublished.status, 404);
    assert_eq!(unpublished.body, missing.body);
    for suffix in ["/api/v2/summary.json", "/api/v2/status.json", "/api/v2/components.json"] {
        let unpublished = anonymous.get(&format!("/status/globex{suffix}")).await;
        let missing = anonymous.get(&format!("/status/no-such-client{suffix}")).await;
        assert_eq!(
            (unpublished.status, &unpublished.body),
            (404, &missing.body),
            "{suffix}"
        );
    }
    // Acme's admin may look at the settings, not change them.
    let acme = server.login(ACME_ADMIN).await;
    let csrf = acme.csrf().await;
    acme.get("/clients/acme/status")
        .await
        .expect_status(200)
        .expect_text("Checkout")
        .expect_text("/status/acme/badge.svg\" alt=\"ACME Shop\"&gt;")
        .expect_text("/status/acme/widget");
    let refused = acme
        .post_form("/clients/acme/status", &[("csrf", csrf.as_str()), ("time_zone", "UTC")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.summary());
    summary(&anonymous, "acme").await;
}

#[tokio::test]
async fn a_component_follows_its_probe_down_and_back_and_a_state_set_by_hand() {
    let server = Server::start();
    let broken = Arc::new(AtomicBool::new(false));
    let url = site(broken.clone()).await;
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let targets = targets_path("globex", "portal", "live");
    owner
        .post_form(
            &targets.replace("/targets", "/probes"),
            &[
                ("csrf", csrf.as_str()),
                ("name", "Portal home"),
                ("url", url.as_str()),
                ("keyword", "Welcome"),
                ("interval_secs", "10"),
                ("timeout_secs", "5"),
            ],
        )
        .await
        .expect_status(303);
    let page = owner.get(&targets).await;
    let probe = between(&page.body, "id=\"probe-", "\"")
        .expect("the probe is listed")
        .to_string();
    let bad = owner
        .post_form(
            "/clients/globex/status/components",
            &[("csrf", csrf.as_str()), ("name", ""), ("source", "probe:999999")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.summary());
    let source = format!("probe:{probe}");
    owner
        .post_form(
            "/clients/globex/status/components",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Customer portal"),
                ("source", source.as_str()),
                ("impact", "major_outage"),
                ("failures", "1"),
            ],
        )
        .await
        .expect_status(303);
    owner
        .post_form(
            "/clients/globex/status",
            &[
                ("csrf", csrf.as_str()),
                ("published", "on"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await
        .expect_status(303);
    let anonymous = server.client();
    let wait_for = async |wanted: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let summary = summary(&anonymous, "globex").await;
            if component_status(&summary, "Customer portal") == wanted {
                return summary;
            }
            assert!(Instant::now() < deadline, "not {wanted} within 60 s: {summary}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    wait_for("operational").await;
    let healthy = anonymous.get("/status/globex").await;
    healthy.expect_text("All systems operational");

    broken.store(true, Ordering::SeqCst);
    let down = wait_for("major_outage").await;
    assert_eq!(down["status"]["indicator"], "critical");
    let page = anonymous.get("/status/globex").await;
    page.expect_text("Major outage");
    assert_ne!(page.header("etag"), healthy.header("etag"), "the page was rebuilt");
    let targets_page = owner.get(&targets).await;
    targets_page.expect_text("HTTP 500");

    broken.store(false, Ordering::SeqCst);
    wait_for("operational").await;
    let after = anonymous.get("/status/globex").await;
    after.expect_text("Days with problems");

    // A state set by hand wins at once, and is taken back.
    let settings = owner.get("/clients/globex/status").await;
    let component = between(&settings.body, "id=\"component-", "\"").unwrap().to_string();
    let path = format!("/clients/globex/status/components/{component}/override");
    owner
        .post_form(&path, &[("csrf", csrf.as_str()), ("state", "under_maintenance")])
        .await
        .expect_status(303);
    wait_for("under_maintenance").await;
    owner
        .post_form(&path, &[("csrf", csrf.as_str()), ("state", "")])
        .await
        .expect_status(303);
    wait_for("operational").await;
}

/// An incident opened on the page in two languages shows on the public page in the reader's,
/// sets its component's state, is in Statuspage's JSON, the feeds and the history; a deploy
/// script resolves it through the API with a `status:write` token, while a read token and
/// another client's token are refused.
#[tokio::test]
async fn an_incident_reaches_the_page_the_json_the_feeds_and_is_resolved_through_the_api() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let anonymous = server.client();
    let checkout = summary(&anonymous, "acme").await["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Checkout")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .unwrap();
    let refused = owner
        .post_form(
            "/clients/acme/status/incidents",
            &[
                ("csrf", csrf.as_str()),
                ("impact", "major"),
                ("component_state", "partial_outage"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        422,
        "a title and a message are needed: {}",
        refused.summary()
    );
    owner
        .post_form(
            "/clients/acme/status/incidents",
            &[
                ("csrf", csrf.as_str()),
                ("title_en", "Payments fail"),
                ("title_de", "Zahlungen schlagen fehl"),
                ("body_en", "Some payments fail. We are looking into it."),
                ("body_de", "Einige Zahlungen schlagen fehl. Wir sehen uns das an."),
                ("impact", "major"),
                ("status", "investigating"),
                ("component", checkout.as_str()),
                ("component_state", "partial_outage"),
            ],
        )
        .await
        .expect_status(303);

    let deadline = Instant::now() + Duration::from_secs(30);
    let open = loop {
        let open = summary(&anonymous, "acme").await;
        if component_status(&open, "Checkout") == "partial_outage" {
            break open;
        }
        assert!(
            Instant::now() < deadline,
            "the incident did not set the component: {open}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let incident = &open["incidents"][0];
    assert_eq!(
        incident["name"], "Zahlungen schlagen fehl",
        "in the client's language: {open}"
    );
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["impact"], "major");
    assert!(incident["resolved_at"].is_null());
    assert_eq!(incident["incident_updates"][0]["status"], "investigating");
    assert_eq!(incident["components"][0]["name"], "Checkout");
    let id = incident["id"].as_str().unwrap().to_string();

    let english = anonymous.get("/status/acme?lang=en").await;
    english
        .expect_text("Current incidents")
        .expect_text("Payments fail")
        .expect_text("Some payments fail");
    let german = anonymous.get("/status/acme?lang=de").await;
    german
        .expect_text("Aktuelle Störungen")
        .expect_text("Zahlungen schlagen fehl");
    let french = anonymous.get("/status/acme?lang=fr").await;
    french.expect_text("Zahlungen schlagen fehl");

    let rss = anonymous.get("/status/acme/feed.rss?lang=en").await;
    rss.expect_status(200)
        .expect_text("<rss version=\"2.0\">")
        .expect_text("<title>Payments fail</title>");
    assert!(
        rss.header("content-type")
            .is_some_and(|t| t.starts_with("application/rss+xml"))
    );
    let atom = anonymous.get("/status/acme/feed.atom").await;
    atom.expect_status(200)
        .expect_text("http://www.w3.org/2005/Atom")
        .expect_text("<entry>");

    let path = format!("/api/v1/status/incidents/{id}/updates");
    let post = async |token: &str, body: &str| {
        let response = reqwest::Client::new()
            .post(server.url(&path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let resolved = r#"{"status": "resolved", "body": {"en": "Payments work again.", "de": "Zahlungen gehen wieder."}}"#;
    let reader = server.scoped_token("acme", None);
    assert_eq!(post(&reader, resolved).await.0, 403);
    let other = server.scoped_token("globex", Some("status:write"));
    assert_eq!(
        post(&other, resolved).await.0,
        404,
        "another client's incident is not found"
    );
    let writer = server.scoped_token("acme", Some("status:write"));
    assert_eq!(post(&writer, r#"{"status": "fixed", "body": "x"}"#).await.0, 422);
    assert_eq!(post(&writer, "not json").await.0, 400);
    let (status, body) = post(&writer, resolved).await;
    assert_eq!(status, 200, "{body}");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let after = summary(&anonymous, "acme").await;
        if component_status(&after, "Checkout") == "operational" && after["incidents"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "resolving did not end the incident: {after}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let unresolved = anonymous.get("/status/acme/api/v2/incidents/unresolved.json").await;
    let unresolved: serde_json::Value = serde_json::from_str(&unresolved.body).unwrap();
    assert_eq!(unresolved["incidents"], serde_json::json!([]));
    let all = anonymous.get("/status/acme/api/v2/incidents.json").await;
    let all: serde_json::Value = serde_json::from_str(&all.body).unwrap();
    let past = &all["incidents"][0];
    assert_eq!(past["status"], "resolved");
    assert!(past["resolved_at"].is_string(), "{all}");
    assert_eq!(past["incident_updates"].as_array().unwrap().len(), 2);
    assert_eq!(past["incident_updates"][0]["body"], "Zahlungen gehen wieder.");
    let history = anonymous.get("/status/acme/history?lang=en").await;
    history
        .expect_status(200)
        .expect_text("Payments fail")
        .expect_text("Payments work again.")
        .expect_text("Resolved");
    assert!(!history.body.contains("<script"));

    // A component's state through the API, and back.
    let component = format!("/api/v1/status/components/{checkout}");
    let put = async |token: &str, body: &str| {
        reqwest::Client::new()
            .put(server.url(&component))
            .bearer_auth(token)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(put(&other, r#"{"status": "major_outage"}"#).await, 404);
    assert_eq!(put(&writer, r#"{"status": "broken"}"#).await, 422);
    assert_eq!(put(&writer, r#"{"status": "major_outage"}"#).await, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while component_status(&summary(&anonymous, "acme").await, "Checkout") != "major_outage" {
        assert!(Instant::now() < deadline, "the API's state was not shown");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(put(&writer, r#"{"status": null}"#).await, 200);
}

/// The mails that reached `to`, with quoted-printable soft breaks joined.
fn mails_to(smtp: &SmtpServer, to: &str) -> Vec<String> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.lines().any(|l| l.eq_ignore_ascii_case(&format!("To: {to}"))))
        .map(|m| m.replace("=\r\n", "").replace("=\n", "").replace("=3D", "="))
        .collect()
}

async fn wait_for_mails(smtp: &SmtpServer, to: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mails = mails_to(smtp, to);
        if mails.len() >= count {
            return mails;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {count} mails to {to} arrived",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The first link in `mail` that starts with `prefix` (an absolute URL's path part).
fn link(mail: &str, prefix: &str) -> String {
    let start = mail.find(prefix).unwrap_or_else(|| panic!("no {prefix} in {mail}"));
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/._-?=".contains(*c))
        .collect()
}

/// Double opt-in through a real SMTP server: the same answer for a known and a new address,
/// nothing before the confirmation, the confirmation by a button (not by opening the link),
/// an incident's news in the subscriber's mail with RFC 8058's one-click unsubscribe, and
/// nothing after it; sign-ups are limited.
#[tokio::test]
async fn a_subscriber_confirms_gets_the_incident_and_leaves_with_one_click() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let server = Server::start_with(&[
        ("VITRINE_SMTP_URL", url.as_str()),
        ("VITRINE_OUTBOX_BACKOFF_BASE_MS", "200"),
    ]);
    let anonymous = server.client();
    let fan = "fan@example.com";
    let first = anonymous
        .post_form("/status/acme/subscribe?lang=en", &[("email", fan)])
        .await;
    first.expect_status(200).expect_text("Please check your inbox");
    assert_eq!(first.set_cookies(), Vec::<String>::new());
    let bad = anonymous
        .post_form("/status/acme/subscribe?lang=en", &[("email", "not an address")])
        .await;
    assert_eq!(bad.status, 422);

    let mails = wait_for_mails(&smtp, fan, 1).await;
    let confirm = link(&mails[0], "/status/acme/subscribe/confirm/");
    let opened = anonymous.get(&confirm).await;
    opened.expect_status(200).expect_text("<button");
    // Opening the link (what a mail scanner does) confirms nothing.
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let open_incident = async |title: &str| {
        owner
            .post_form(
                "/clients/acme/status/incidents",
                &[
                    ("csrf", csrf.as_str()),
                    ("title_en", title),
                    ("body_en", "We are looking into it."),
                    ("impact", "minor"),
                    ("status", "investigating"),
                    ("component_state", "degraded_performance"),
                ],
            )
            .await
            .expect_status(303);
    };
    open_incident("Before the confirmation").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mails_to(&smtp, fan).len(), 1, "no news before the confirmation");

    anonymous
        .post_form(&confirm, &[])
        .await
        .expect_status(200)
        .expect_text("Subscribed");
    open_incident("Slow checkout").await;
    let mails = wait_for_mails(&smtp, fan, 2).await;
    let news = &mails[1];
    assert!(news.contains("Slow checkout"), "{news}");
    assert!(
        news.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{news}"
    );
    let unsubscribe = link(news, "/status/acme/unsubscribe/");

    // The same answer for an address that is known now; it gets the manage link, not a second confirmation.
    let again = anonymous
        .post_form("/status/acme/subscribe?lang=en", &[("email", fan)])
        .await;
    assert_eq!(again.body, first.body);
    let mails = wait_for_mails(&smtp, fan, 3).await;
    assert!(mails[2].contains("/status/acme/subscription/"), "{}", mails[2]);
    assert!(!mails[2].contains("/subscribe/confirm/"));

    // RFC 8058: a POST with List-Unsubscribe=One-Click, no cookie, no page.
    let response = reqwest::Client::new()
        .post(server.url(&unsubscribe))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    open_incident("After leaving").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mails_to(&smtp, fan).len(), 3, "no news after unsubscribing");

    // A fourth sign-up of one address within a day is refused.
    let sign_up = async || {
        anonymous
            .post_form("/status/acme/subscribe?lang=en", &[("email", fan)])
            .await
            .status
    };
    assert_eq!(sign_up().await, 200, "the third");
    assert_eq!(sign_up().await, 429, "the fourth");
}
