//! Silences: Debian's `amtool` lists the client's alerts and adds, lists and expires silences
//! against Vitrine's Alertmanager API; a muted alarm sends no mail until the silence ends, then
//! the mail arrives in a real SMTP server (aiosmtpd). Writing needs a token with the scope
//! `silences:write` (a read token is refused), and another client's silence is not found. On the
//! thresholds page a client admin mutes a threshold with one click and plans a maintenance.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use vitrine_tests::*;

/// Runs Debian's `amtool` against the server with a token; (success, stdout, stderr).
fn amtool(server: &Server, token: &str, args: &[&str]) -> (bool, String, String) {
    let config = server.data_dir().join(format!("amtool-{}.yml", &token[..12]));
    std::fs::write(&config, format!("authorization:\n  credentials: {token}\n")).expect("writing amtool's HTTP config");
    let out = std::process::Command::new("amtool")
        .arg(format!("--alertmanager.url={}", server.url("/")))
        .arg(format!("--http.config.file={}", config.display()))
        .args(args)
        .output()
        .expect("running amtool (Debian package prometheus-alertmanager)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn api_get(server: &Server, path: &str, token: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("the API answers");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn amtool_mutes_an_alarm_and_its_mail_goes_out_when_the_silence_ends() {
    let smtp = SmtpServer::start();
    let server = Server::start_with(&[
        ("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "1"),
        ("VITRINE_NOTIFY_GROUP_WAIT_SECS", "0"),
        ("VITRINE_NOTIFY_GROUP_INTERVAL_SECS", "1"),
        ("VITRINE_SMTP_URL", &smtp.url()),
    ]);
    let writer = server.scoped_token("globex", Some("silences:write"));
    let reader = server.token("globex");

    // A silence made before the trouble starts: amtool prints its id.
    let (ok, id, err) = amtool(
        &server,
        &writer,
        &[
            "silence",
            "add",
            "alertname=Queue too long",
            "--comment=Deploy of the new checkout",
            "--author=anna@agency.example",
            "--duration=1h",
        ],
    );
    assert!(ok, "amtool silence add: {err}");
    let id = id.trim().to_string();
    assert_eq!(id.len(), 36, "{id}");
    // A read token may not add one.
    let (ok, _, err) = amtool(&server, &reader, &["silence", "add", "alertname=x", "--comment=no"]);
    assert!(!ok && err.contains("403"), "a read token added a silence: {err}");
    let (ok, listed, err) = amtool(&server, &reader, &["silence", "query"]);
    assert!(ok, "{err}");
    assert!(
        listed.contains(&id) && listed.contains("Deploy of the new checkout") && listed.contains("anna@agency.example"),
        "{listed}"
    );

    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    add_queue_threshold(&server, "Queue too long").await;

    // It fires, muted: the page says so, amtool and the API show the silence on the alert.
    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get("/clients/globex/thresholds").await;
    let threshold = between(&page.body, "id=\"threshold-", "\"")
        .expect("the threshold")
        .to_string();
    let card = wait_for_threshold_card(&globex, "globex", &threshold, ">Muted<").await;
    assert!(
        card.contains("muted until") && card.contains("anna@agency.example"),
        "{card}"
    );
    let (ok, alerts, err) = amtool(&server, &reader, &["alert", "query", "--silenced"]);
    assert!(ok && alerts.contains("Queue too long"), "{alerts} {err}");
    let (status, alerts) = api_get(&server, "/api/v2/alerts", &reader).await;
    assert_eq!(status, 200, "{alerts}");
    let alerts: serde_json::Value = serde_json::from_str(&alerts).unwrap();
    assert_eq!(alerts[0]["status"]["state"], "suppressed", "{alerts}");
    assert_eq!(alerts[0]["status"]["silencedBy"][0], id.as_str(), "{alerts}");
    assert_eq!(alerts[0]["labels"]["project"], "portal", "{alerts}");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        smtp.messages().is_empty(),
        "a muted alarm was mailed: {:?}",
        smtp.messages()
    );

    // Another client's token, even one that may write, neither sees nor ends it.
    let acme = server.scoped_token("acme", Some("silences:write"));
    let (status, _) = api_get(&server, &format!("/api/v2/silence/{id}"), &acme).await;
    assert_eq!(status, 404);
    let (status, listed) = api_get(&server, "/api/v2/silences", &acme).await;
    assert!(status == 200 && !listed.contains(&id), "{listed}");
    let (status, alerts) = api_get(&server, "/api/v2/alerts", &acme).await;
    assert_eq!((status, alerts.as_str()), (200, "[]"));
    let (ok, _, err) = amtool(&server, &acme, &["silence", "expire", &id]);
    assert!(!ok && err.contains("404"), "acme expired globex's silence: {err}");
    // Nor does a read token of the client.
    let (ok, _, _) = amtool(&server, &reader, &["silence", "expire", &id]);
    assert!(!ok, "a read token expired a silence");
    wait_for_threshold_card(&globex, "globex", &threshold, ">Muted<").await;

    // Ended: the alarm is mailed at once.
    let (ok, _, err) = amtool(&server, &writer, &["silence", "expire", &id]);
    assert!(ok, "amtool silence expire: {err}");
    let mails = smtp.wait_for(1, Duration::from_secs(30));
    assert!(mails[0].contains("[FIRING:1] Queue too long"), "{}", mails[0]);
    wait_for_threshold_card(&globex, "globex", &threshold, ">Alarm<").await;
    let (ok, listed, _) = amtool(&server, &reader, &["silence", "query"]);
    assert!(ok && !listed.contains(&id), "{listed}");
    let (ok, listed, _) = amtool(&server, &reader, &["silence", "query", "--expired"]);
    assert!(ok && listed.contains(&id), "{listed}");

    // Muted with one click on the page while it fires, then ended there; then it is resolved
    // and the client, told of the alarm, is told of its end.
    let csrf = globex.csrf().await;
    let response = globex
        .post_form(
            "/clients/globex/silences",
            &[
                ("csrf", csrf.as_str()),
                ("threshold", threshold.as_str()),
                ("hours", "4"),
                ("comment", "We know, the agency is on it"),
            ],
        )
        .await;
    response.expect_status(303);
    let card = threshold_card(&globex, "globex", &threshold).await;
    assert!(card.contains(">Muted<") && card.contains("muted until"), "{card}");
    let page = globex.get("/clients/globex/thresholds").await;
    page.expect_text("We know, the agency is on it");
    let (_, listed) = api_get(&server, "/api/v2/silences", &reader).await;
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let page_silence = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"]["state"] == "active")
        .expect("the page's silence in the API")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        listed.to_string().contains("threshold_id"),
        "the one-click silence matches the threshold: {listed}"
    );
    value.store(1, Ordering::Relaxed);
    let ended = globex
        .post_form(
            &format!("/clients/globex/silences/{page_silence}/expire"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    ended.expect_status(303);
    let mails = smtp.wait_for(2, Duration::from_secs(30));
    assert!(mails[1].contains("[RESOLVED] Queue too long"), "{}", mails[1]);
    assert_eq!(smtp.messages().len(), 2, "a mail went out twice");
}

#[tokio::test]
async fn a_maintenance_is_planned_on_the_page_and_bad_times_are_explained() {
    let server = Server::start();
    let globex = server.login(GLOBEX_ADMIN).await;
    let csrf = globex.csrf().await;
    let form = |starts: &'static str, ends: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("place", "portal/live".to_string()),
            ("starts", starts.to_string()),
            ("ends", ends.to_string()),
            ("comment", "Move to the new server".to_string()),
        ]
    };
    let send = async |fields: Vec<(&str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        globex.post_form("/clients/globex/silences", &fields).await
    };
    let response = send(form("2099-01-02T03:00", "2099-01-02T02:00")).await;
    response
        .expect_status(422)
        .expect_text("The end must come after the start and lie in the future.")
        .expect_text("Move to the new server");
    send(form("next week", "2099-01-02T02:00"))
        .await
        .expect_status(422)
        .expect_text("Enter a date and time such as 2026-12-24 22:00.");
    let response = send(form("2099-01-02T01:00", "2099-01-02T03:00")).await;
    response.expect_status(303);
    let page = globex.get("/clients/globex/thresholds").await;
    page.expect_text("The maintenance is planned from 2099-01-02 01:00")
        .expect_text("Planned")
        .expect_text("project=\"portal\", environment=\"live\"")
        .expect_text("Move to the new server");
    // amtool sees it as a pending silence.
    let (ok, listed, err) = amtool(&server, &server.token("globex"), &["silence", "query", "-o", "json"]);
    assert!(ok, "{err}");
    assert!(listed.contains("\"state\":\"pending\""), "{listed}");
    // Another client's place is not a choice.
    let mut foreign = form("2099-01-02T01:00", "2099-01-02T03:00");
    foreign[1].1 = "shop/live".to_string();
    send(foreign)
        .await
        .expect_status(422)
        .expect_text("Choose one of the options.");
}
