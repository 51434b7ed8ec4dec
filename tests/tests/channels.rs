//! Notification channels: a threshold's alarm and its end reach a webhook (Alertmanager's JSON,
//! version 4), Slack and PagerDuty (Events API v2) stand-ins on loopback (the demo's
//! `scrape_allow`) and a team address in
//! a real SMTP server (aiosmtpd); an answer 5xx is retried, a 4xx given up; a URL to a private
//! address `scrape_allow` does not permit is refused when it is sent; the seed's Alertmanager
//! configuration imports with what is not taken over listed; the client's people read the page
//! without the secret parts of URLs and cannot change it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use vitrine_tests::*;

/// Submits globex's channel form as the agency owner.
async fn post_channel(owner: &Client, fields: &[(&str, &str)]) -> Response {
    let csrf = owner.csrf().await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    owner.post_form("/clients/globex/channels", &form).await
}

async fn add_channel(owner: &Client, fields: &[(&str, &str)]) {
    post_channel(owner, fields).await.expect_status(303);
}

/// The id of the channel `name` on globex's channels page.
async fn channel_id(owner: &Client, name: &str) -> String {
    let page = owner.get("/clients/globex/channels").await;
    page.expect_status(200);
    let at = page
        .body
        .find(&format!("<strong>{name}</strong>"))
        .unwrap_or_else(|| panic!("no channel {name}: {}", page.summary()));
    let start = page.body[..at].rfind("id=\"channel-").expect("the channel's id") + "id=\"channel-".len();
    page.body[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_alarm_and_its_end_reach_every_channel() {
    let smtp = SmtpServer::start();
    let recorder = HttpRecorder::start();
    let server = Server::start_with(&[
        ("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "1"),
        ("VITRINE_NOTIFY_GROUP_WAIT_SECS", "0"),
        ("VITRINE_NOTIFY_GROUP_INTERVAL_SECS", "1"),
        ("VITRINE_SMTP_URL", &smtp.url()),
    ]);
    let value = Arc::new(AtomicU64::new(0));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    add_queue_threshold(&server, "Queue too long").await;
    let owner = server.login(OWNER).await;
    let (hook, slack, pagerduty) = (
        recorder.url("/hook"),
        recorder.url("/services/T0/B0/secret"),
        recorder.url("/v2/enqueue"),
    );
    add_channel(
        &owner,
        &[("kind", "webhook"), ("name", "Ops webhook"), ("target", &hook)],
    )
    .await;
    add_channel(
        &owner,
        &[
            ("kind", "slack"),
            ("name", "Shop channel"),
            ("target", &slack),
            ("severity", "critical"),
            ("severity", "warning"),
        ],
    )
    .await;
    add_channel(
        &owner,
        &[
            ("kind", "pagerduty"),
            ("name", "On call"),
            ("target", "0123456789abcdef0123456789abcdef"),
            ("url", &pagerduty),
        ],
    )
    .await;
    add_channel(
        &owner,
        &[("kind", "email"), ("name", "Team"), ("target", "team@globex.example")],
    )
    .await;
    // Only info: the critical alarm does not go there.
    add_channel(
        &owner,
        &[
            ("kind", "webhook"),
            ("name", "Info only"),
            ("target", &recorder.url("/info")),
            ("severity", "info"),
        ],
    )
    .await;

    // The client's admin reads the page: no secret part of a URL or key, no way to change it.
    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get("/clients/globex/channels").await;
    page.expect_status(200)
        .expect_text("Shop channel")
        .expect_text("team@globex.example")
        .expect_text("…cdef");
    assert!(
        !page.body.contains("secret") && !page.body.contains("0123456789abcdef"),
        "{}",
        page.summary()
    );
    assert!(
        !page.body.contains("/delete"),
        "the client's people cannot delete: {}",
        page.summary()
    );
    let csrf = globex.csrf().await;
    globex
        .post_form(
            "/clients/globex/channels",
            &[
                ("csrf", csrf.as_str()),
                ("kind", "email"),
                ("name", "x"),
                ("target", "x@y.example"),
            ],
        )
        .await
        .expect_status(403);

    value.store(50, Ordering::Relaxed);
    let fired = recorder.wait_for("/hook", |r| r.body.contains("\"firing\"")).await;
    assert_eq!(fired.method, "POST");
    assert_eq!(fired.header("content-type"), Some("application/json"));
    let payload = fired.json();
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["status"], "firing");
    assert_eq!(payload["receiver"], "Ops webhook");
    assert_eq!(payload["externalURL"], server.url("").trim_end_matches('/'));
    assert_eq!(payload["commonLabels"]["project"], "portal");
    assert_eq!(payload["commonLabels"]["severity"], "critical");
    assert_eq!(payload["alerts"][0]["labels"]["alertname"], "Queue too long");
    assert_eq!(payload["alerts"][0]["status"], "firing");
    assert_eq!(payload["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(payload["alerts"][0]["fingerprint"].as_str().map(str::len), Some(16));
    assert!(
        payload["commonAnnotations"]["description"]
            .as_str()
            .unwrap()
            .contains("Orders wait")
    );

    let slack_fired = recorder
        .wait_for("/services/T0/B0/secret", |r| r.body.contains("danger"))
        .await
        .json();
    assert!(
        slack_fired["text"].as_str().unwrap().contains("Queue too long"),
        "{slack_fired}"
    );
    assert!(
        slack_fired["attachments"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Orders wait"),
        "{slack_fired}"
    );
    assert!(
        slack_fired["attachments"][0]["title_link"]
            .as_str()
            .unwrap()
            .contains("/clients/globex/thresholds#threshold-"),
        "{slack_fired}"
    );

    let trigger = recorder
        .wait_for("/v2/enqueue", |r| r.body.contains("trigger"))
        .await
        .json();
    assert_eq!(trigger["routing_key"], "0123456789abcdef0123456789abcdef");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["payload"]["class"], "Queue too long");
    assert!(
        trigger["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING:1] Queue too long"),
        "{trigger}"
    );
    let dedup_key = trigger["dedup_key"].as_str().unwrap().to_string();

    value.store(0, Ordering::Relaxed);
    let resolved = recorder
        .wait_for("/hook", |r| r.body.contains("\"resolved\""))
        .await
        .json();
    assert_eq!(resolved["alerts"][0]["status"], "resolved");
    assert_ne!(resolved["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    recorder
        .wait_for("/services/T0/B0/secret", |r| r.body.contains("\"good\""))
        .await;
    let resolve = recorder
        .wait_for("/v2/enqueue", |r| r.body.contains("resolve\""))
        .await
        .json();
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], dedup_key.as_str());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let team = loop {
        let team: Vec<String> = smtp
            .messages()
            .into_iter()
            .filter(|m| m.contains("To: team@globex.example"))
            .collect();
        if team.len() >= 2 {
            break team;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the team address got {} mails",
            team.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(team.len(), 2, "the alarm and its end");
    assert!(
        team.iter().all(|m| !m.contains("List-Unsubscribe")),
        "a team address has no personal unsubscribe link"
    );
    assert_eq!(
        recorder.to("/hook").len(),
        2,
        "one message for the alarm, one for its end"
    );
    assert!(
        recorder.to("/info").is_empty(),
        "the info-only channel got the critical alarm"
    );

    // The outbox lists the messages without the routing key.
    let outbox = owner.get("/agency/outbox").await;
    outbox.expect_status(200).expect_text("On call (pagerduty, …cdef)");
    assert!(!outbox.body.contains("0123456789abcdef"), "{}", outbox.summary());
}

#[tokio::test]
async fn a_failed_message_is_retried_a_refused_one_given_up_and_private_addresses_are_guarded() {
    let recorder = HttpRecorder::start();
    let server = Server::start_with(&[("VITRINE_OUTBOX_BACKOFF_BASE_MS", "200")]);
    let owner = server.login(OWNER).await;
    add_channel(
        &owner,
        &[
            ("kind", "webhook"),
            ("name", "Flaky"),
            ("target", &recorder.url("/flaky")),
        ],
    )
    .await;
    add_channel(
        &owner,
        &[("kind", "slack"), ("name", "Gone"), ("target", &recorder.url("/gone"))],
    )
    .await;
    recorder.answer("/flaky", 503);
    recorder.answer("/flaky", 429);
    recorder.answer("/gone", 404);
    for name in ["Flaky", "Gone"] {
        let id = channel_id(&owner, name).await;
        let csrf = owner.csrf().await;
        owner
            .post_form(
                &format!("/clients/globex/channels/{id}/test"),
                &[("csrf", csrf.as_str())],
            )
            .await
            .expect_status(303);
    }
    let third = recorder.wait_for("/flaky", |_| true).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while recorder.to("/flaky").len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "not retried: {:?}",
            recorder.to("/flaky")
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let tries = recorder.to("/flaky");
    assert!(
        tries.iter().all(|t| t.body == third.body),
        "a retry sends the same message"
    );
    assert!(
        third.json()["alerts"][0]["labels"]["alertname"]
            .as_str()
            .unwrap()
            .contains("test"),
        "{}",
        third.body
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(recorder.to("/gone").len(), 1, "a 404 is not retried");
    assert_eq!(
        recorder.to("/flaky").len(),
        3,
        "delivered on the third try, then left alone"
    );
    let outbox = owner.get("/agency/outbox").await;
    outbox.expect_status(200).expect_text("HTTP 404");

    // A private address scrape_allow does not permit: refused when sent (the demo permits
    // only loopback).
    add_channel(
        &owner,
        &[
            ("kind", "webhook"),
            ("name", "Inside"),
            ("target", "http://10.11.12.13/hook"),
        ],
    )
    .await;
    let id = channel_id(&owner, "Inside").await;
    let csrf = owner.csrf().await;
    owner
        .post_form(
            &format!("/clients/globex/channels/{id}/test"),
            &[("csrf", csrf.as_str())],
        )
        .await
        .expect_status(303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let outbox = owner.get("/agency/outbox").await;
        if outbox.contains("refused: 10.11.12.13") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never refused: {}",
            outbox.summary()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_form_explains_its_problems_and_the_seed_alertmanager_configuration_imports() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    post_channel(
        &owner,
        &[
            ("kind", "webhook"),
            ("name", "Files"),
            ("target", "ftp://files.example/hook"),
        ],
    )
    .await
    .expect_status(422)
    .expect_text("ftp://files.example/hook")
    .expect_text("http:// or https://");
    add_channel(
        &owner,
        &[("kind", "email"), ("name", "Team"), ("target", "team@globex.example")],
    )
    .await;
    post_channel(
        &owner,
        &[("kind", "email"), ("name", "Team"), ("target", "other@globex.example")],
    )
    .await
    .expect_status(422)
    .expect_text("other@globex.example");
    let csrf = owner.csrf().await;

    let seed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../server/scrape-config/tests/fixtures/seed003_alertmanager.yml"
    ))
    .unwrap();
    owner
        .post_form(
            "/clients/globex/channels/import",
            &[("csrf", csrf.as_str()), ("config", seed.as_str())],
        )
        .await
        .expect_status(303);
    let page = owner.get("/clients/globex/channels").await;
    page.expect_status(200)
        .expect_text("Channels made: team-email")
        .expect_text("taken over from the file's route: The first message goes out 30\u{a0}s after")
        .expect_text("a reminder goes out every 1\u{a0}h.")
        .expect_text("The agency set these for this client.")
        .expect_text("route.group_by (line 5)")
        .expect_text("receivers[0].email_configs[0].smarthost (line 16)")
        .expect_text("receivers[0].email_configs[0].auth_password (line 18) still holds");
    assert!(page.body.contains("team@valeo-neuroerp.com"));
    let inhibiting = "inhibit_rules:\n  - source_matchers: ['severity=\"critical\"']\n    target_match: {severity: warning}\n    equal: [environment]\n  - source_matchers: ['severity=critical']\n";
    owner
        .post_form(
            "/clients/globex/channels/import",
            &[("csrf", csrf.as_str()), ("config", inhibiting)],
        )
        .await
        .expect_status(303);
    owner
        .get("/clients/globex/channels")
        .await
        .expect_text("Rules that keep alarms quiet while a bigger one goes on: 1 taken over.")
        .expect_text("inhibit_rules[1] (line 5)")
        .expect_text("alarms with severity=\"warning\" and the same environment stay quiet.");
    let page = owner
        .post_form(
            "/clients/globex/channels/import",
            &[
                ("csrf", csrf.as_str()),
                ("config", "receivers:\n  - name: a\n    emial_configs: []\n"),
            ],
        )
        .await;
    page.expect_status(422).expect_text("line 3");
}
