//! Error mails: a threshold that raises its alarm mails every person of its client through a
//! real SMTP server (aiosmtpd), in their language, with the explanation; the end of the alarm
//! is mailed too. While the mail server is down nothing is lost: every mail arrives once it is
//! back, none twice, each with its one Message-ID; after a `kill -9` mid-send every mail arrives
//! and at most the one in flight twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use vitrine_tests::*;

/// A header's value, folded lines joined and RFC 2047 encoded words (`=?utf-8?b?…?=`) decoded.
fn header(mail: &str, name: &str) -> Option<String> {
    let mut lines = mail.lines().take_while(|line| !line.is_empty()).peekable();
    let mut value = None;
    while let Some(line) = lines.next() {
        let Some(first) = line.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")) else {
            continue;
        };
        let mut folded = first.to_string();
        while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
            folded.push_str(next);
            lines.next();
        }
        value = Some(folded);
        break;
    }
    let value = value?;
    // Whitespace between two encoded words is dropped, any other is kept.
    let mut decoded = String::new();
    let mut previous_encoded = false;
    for (i, word) in value.split_whitespace().enumerate() {
        let encoded = word
            .strip_prefix("=?utf-8?b?")
            .or_else(|| word.strip_prefix("=?UTF-8?B?"))
            .and_then(|w| w.strip_suffix("?="));
        if i > 0 && !(previous_encoded && encoded.is_some()) {
            decoded.push(' ');
        }
        match encoded {
            Some(b64) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
                decoded.push_str(&String::from_utf8(bytes).ok()?);
            }
            None => decoded.push_str(word),
        }
        previous_encoded = encoded.is_some();
    }
    Some(decoded)
}

/// The inline part with this Content-ID, its base64 body decoded.
fn inline_png(mail: &str, content_id: &str) -> Option<Vec<u8>> {
    let at = mail.find(&format!("Content-ID: <{content_id}>"))?;
    let part = &mail[at..];
    let body_start = part
        .find("\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| part.find("\n\n").map(|i| i + 2))?;
    let body: String = part[body_start..]
        .lines()
        .take_while(|line| !line.starts_with("--") && !line.trim().is_empty())
        .collect();
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(body.trim()).ok()
}

/// The plain text part, quoted-printable soft line breaks joined.
fn text_of(mail: &str) -> String {
    mail.replace("=\r\n", "").replace("=\n", "").replace("=C2=A0", "\u{a0}")
}

fn serve(smtp: &SmtpServer) -> Server {
    serve_with(smtp, &[])
}

fn serve_with(smtp: &SmtpServer, more: &[(&str, &str)]) -> Server {
    let url = smtp.url();
    let mut env = vec![
        ("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "1"),
        ("VITRINE_NOTIFY_GROUP_WAIT_SECS", "0"),
        ("VITRINE_NOTIFY_GROUP_INTERVAL_SECS", "1"),
        ("VITRINE_SMTP_URL", url.as_str()),
        ("VITRINE_MAIL_FROM", "Vitrine Alerts <alerts@agency.example>"),
        ("VITRINE_OUTBOX_BACKOFF_BASE_MS", "200"),
        ("VITRINE_OUTBOX_BACKOFF_MAX_SECS", "2"),
    ];
    env.extend_from_slice(more);
    Server::start_with(&env)
}

#[tokio::test]
async fn the_alarm_and_its_end_are_mailed_to_the_clients_people() {
    let smtp = SmtpServer::start();
    let server = serve(&smtp);
    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    add_queue_threshold(&server, "Queue too long").await;

    let mails = smtp.wait_for(1, Duration::from_secs(60));
    let alarm = &mails[0];
    assert_eq!(header(alarm, "To").as_deref(), Some(GLOBEX_ADMIN.0), "{alarm}");
    assert_eq!(
        header(alarm, "From").as_deref(),
        Some("\"Vitrine Alerts\" <alerts@agency.example>"),
        "{alarm}"
    );
    assert_eq!(
        header(alarm, "Subject").as_deref(),
        Some("[FIRING:1] Queue too long — Globex / portal / live"),
        "{alarm}"
    );
    assert!(
        header(alarm, "Message-ID").is_some_and(|id| id.starts_with('<') && id.ends_with("@127.0.0.1>")),
        "{alarm}"
    );
    assert!(alarm.contains("multipart/alternative"), "{alarm}");
    assert!(alarm.contains("text/plain") && alarm.contains("text/html"), "{alarm}");
    let text = text_of(alarm);
    assert!(text.contains("Orders wait in the queue"), "{text}");
    assert!(text.contains("We add a worker within the hour."), "{text}");
    assert!(text.contains("the value is 50"), "{text}");
    assert!(text.contains("/clients/globex/thresholds#threshold-"), "{text}");
    // The chart of the last hours is inline beside the HTML, which shows it by its Content-ID.
    assert!(alarm.contains("multipart/related"), "{alarm}");
    assert!(text.contains("src=3D\"cid:chart@127.0.0.1\""), "{text}");
    let png = inline_png(alarm, "chart@127.0.0.1").unwrap_or_else(|| panic!("no chart part: {alarm}"));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 5_000,
        "{} bytes",
        png.len()
    );
    // Only globex's people: acme's admin gets nothing.
    assert!(mails.iter().all(|m| !m.contains(ACME_ADMIN.0)));

    // RFC 8058: a one-click unsubscribe link, signed, working without a login.
    assert_eq!(
        header(alarm, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click"),
        "{alarm}"
    );
    let link = header(alarm, "List-Unsubscribe").unwrap_or_else(|| panic!("no List-Unsubscribe: {alarm}"));
    let link = link.trim_start_matches('<').trim_end_matches('>').to_string();
    assert!(link.starts_with(&server.url("/unsubscribe/")), "{link}");
    assert!(text.contains(&link), "the mail's text lacks the link: {text}");

    value.store(1, Ordering::Relaxed);
    let mails = smtp.wait_for(2, Duration::from_secs(60));
    let resolved = text_of(&mails[1]);
    assert!(resolved.contains("RESOLVED"), "{resolved}");
    assert!(resolved.contains("Back to normal."), "{resolved}");
    assert_eq!(mails.len(), 2, "more mails than the alarm and its end");
    // The threshold's history says which mails went out.
    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get("/clients/globex/thresholds").await;
    page.expect_text("Mails sent")
        .expect_text("alarm mailed (recipients: 1)")
        .expect_text("all-clear mailed (recipients: 1)");

    // Opening the link only asks; a made-up one is not found; the mail program's POST stops
    // the mails, and the next alarm mails nobody.
    let anonymous = server.client();
    let asked = anonymous.get(&link.replace(&server.url(""), "")).await;
    asked
        .expect_status(200)
        .expect_text("Stop the error mails of Globex to admin@globex.example?");
    let forged = format!("{}x", &link[..link.len() - 1]);
    anonymous
        .get(&forged.replace(&server.url(""), ""))
        .await
        .expect_status(404);
    let stopped = reqwest::Client::new()
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 200);
    let page = stopped.text().await.unwrap();
    assert!(visible(&page).contains("gets no more error mails of Globex"), "{page}");
    value.store(50, Ordering::Relaxed);
    let owner = server.login(OWNER).await;
    let page = owner.get("/clients/globex/thresholds").await;
    let threshold = between(&page.body, "id=\"threshold-", "\"")
        .expect("the threshold")
        .to_string();
    wait_for_threshold_card(&owner, "globex", &threshold, ">Alarm<").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 2, "an unsubscribed person was mailed");
    // Signed in, the person switches them on again, for critical thresholds only.
    let account = globex.get("/account").await;
    account.expect_text("Error mails").expect_text("Customer portal");
    let csrf = globex.csrf().await;
    let saved = globex
        .post_form(
            "/account/mails",
            &[
                ("csrf", csrf.as_str()),
                ("alerts", "on"),
                ("severity", "critical"),
                ("project", "portal"),
            ],
        )
        .await;
    saved.expect_status(303);
    let account = globex.get(saved.location().unwrap_or_default()).await;
    account.expect_text("Your mail settings are saved.");
    assert!(
        account.body.contains("name=\"severity\" value=\"warning\">")
            && account
                .body
                .contains("id=\"mail-alerts\" name=\"alerts\" value=\"on\" checked"),
        "{}",
        account.summary()
    );
    // The alarm raised meanwhile was told to nobody; its end goes to whoever wants it now.
    value.store(1, Ordering::Relaxed);
    let mails = smtp.wait_for(3, Duration::from_secs(30));
    assert!(mails[2].contains("[RESOLVED] Queue too long"), "{}", mails[2]);
}

/// The client's own timers, set on its channels page: the first mail waits `group_wait`, an
/// alarm that lasts is told again every `repeat_interval` with the same subject and says it is a
/// reminder, the end waits for `group_interval`; the client's admin may not change them.
#[tokio::test]
async fn an_alarm_is_told_after_group_wait_and_again_while_it_lasts() {
    let smtp = SmtpServer::start();
    let server = serve(&smtp);
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let timing = |wait: &'static str, interval: &'static str, repeat: &'static str| {
        vec![
            ("group_wait", wait),
            ("group_interval", interval),
            ("repeat_interval", repeat),
            ("action", "save"),
        ]
    };
    let mut refused = timing("soon", "0s", "4h");
    refused.push(("csrf", csrf.as_str()));
    owner
        .post_form("/clients/globex/channels/timing", &refused)
        .await
        .expect_status(422)
        .expect_text("soon");
    let mut fields = timing("4s", "2s", "6s");
    fields.push(("csrf", csrf.as_str()));
    owner
        .post_form("/clients/globex/channels/timing", &fields)
        .await
        .expect_status(303);
    owner
        .get("/clients/globex/channels")
        .await
        .expect_text("The first message goes out 4\u{a0}s after the alarm is raised")
        .expect_text("a reminder goes out every 6\u{a0}s.");
    let globex = server.login(GLOBEX_ADMIN).await;
    let globex_csrf = globex.csrf().await;
    let mut theirs = timing("0s", "1s", "1s");
    theirs.push(("csrf", globex_csrf.as_str()));
    globex
        .post_form("/clients/globex/channels/timing", &theirs)
        .await
        .expect_status(403);

    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    add_queue_threshold(&server, "Queue too long").await;
    let page = owner.get("/clients/globex/thresholds").await;
    let threshold = between(&page.body, "id=\"threshold-", "\"")
        .expect("the threshold")
        .to_string();
    wait_for_threshold_card(&owner, "globex", &threshold, ">Alarm<").await;
    let fired = std::time::Instant::now();
    let first = smtp.wait_for(1, Duration::from_secs(30));
    assert!(
        fired.elapsed() >= Duration::from_secs(2),
        "the first mail did not wait for group_wait: {:?}",
        fired.elapsed()
    );
    let reminders = smtp.wait_for(2, Duration::from_secs(30));
    let reminder = text_of(&reminders[1]);
    assert_eq!(header(&reminders[1], "Subject"), header(&first[0], "Subject"));
    assert!(reminder.contains("A reminder: this alarm is still on."), "{reminder}");
    assert!(reminder.contains("we remind you every 6\u{a0}s"), "{reminder}");
    assert_ne!(header(&reminders[1], "Message-ID"), header(&first[0], "Message-ID"));

    value.store(1, Ordering::Relaxed);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !smtp.messages().iter().any(|m| m.contains("[RESOLVED] Queue too long")) {
        assert!(
            std::time::Instant::now() < deadline,
            "no all-clear: {:?}",
            smtp.messages()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let told = smtp.messages().len();
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(smtp.messages().len(), told, "a mail after the all-clear");
}

/// An inhibition rule on the channels page: while the critical alarm goes on, the warning of
/// the same environment is not mailed; the client's admin may read the rule but not change it.
#[tokio::test]
async fn a_warning_stays_quiet_while_a_critical_alarm_of_its_environment_goes_on() {
    let smtp = SmtpServer::start();
    let server = serve(&smtp);
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    owner
        .post_form(
            "/clients/globex/channels/quiet",
            &[
                ("csrf", csrf.as_str()),
                ("source", "severity="),
                ("target", "x"),
                ("equal", ""),
            ],
        )
        .await
        .expect_status(422)
        .expect_text("Enter matchers such as");
    owner
        .post_form(
            "/clients/globex/channels/quiet",
            &[
                ("csrf", csrf.as_str()),
                ("source", r#"severity="critical""#),
                ("target", r#"severity="warning""#),
                ("equal", "environment"),
            ],
        )
        .await
        .expect_status(303);
    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get("/clients/globex/channels").await;
    page.expect_text(r#"While an alarm with severity="critical" goes on, alarms with severity="warning" and the same environment stay quiet."#);
    let rule = between(&page.body, "id=\"quiet-", "\"").expect("the rule").to_string();
    let globex_csrf = globex.csrf().await;
    globex
        .post_form(
            &format!("/clients/globex/channels/quiet/{rule}/delete"),
            &[("csrf", globex_csrf.as_str())],
        )
        .await
        .expect_status(403);

    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    // The critical alarm first: the warning, held longer, fires while it goes on.
    add_queue_threshold(&server, "Queue too long").await;
    owner
        .post_form(
            "/clients/globex/thresholds",
            &[
                ("csrf", csrf.as_str()),
                ("place", "portal/live"),
                ("name", "Queue growing"),
                ("expr", "max(queue_length)"),
                ("comparator", ">"),
                ("value", "5"),
                ("for", "5s"),
                ("severity", "warning"),
                ("unit", "short"),
                ("meaning_en", "Orders start to wait."),
            ],
        )
        .await
        .expect_status(303);
    let mails = smtp.wait_for(1, Duration::from_secs(60));
    assert!(mails[0].contains("[FIRING:1] Queue too long"), "{}", mails[0]);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let subjects: Vec<String> = smtp.messages().iter().filter_map(|m| header(m, "Subject")).collect();
    assert_eq!(subjects, ["[FIRING:1] Queue too long — Globex / portal / live"]);
    // Alertmanager's API says which alert quiets the warning, as amtool and Grafana read it.
    let alerts: serde_json::Value = reqwest::Client::new()
        .get(server.url("/api/v2/alerts"))
        .bearer_auth(server.token("globex"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status_of = |name: &str| {
        alerts
            .as_array()
            .and_then(|list| list.iter().find(|a| a["labels"]["alertname"] == name))
            .map(|a| a["status"].clone())
            .unwrap_or_else(|| panic!("no alert {name}: {alerts}"))
    };
    let quiet = status_of("Queue growing");
    assert_eq!(quiet["state"], "suppressed", "{quiet}");
    let source = status_of("Queue too long");
    assert_eq!(source["state"], "active", "{source}");
    let fingerprint = alerts
        .as_array()
        .and_then(|list| list.iter().find(|a| a["labels"]["alertname"] == "Queue too long"))
        .map(|a| a["fingerprint"].clone())
        .unwrap();
    assert_eq!(quiet["inhibitedBy"], serde_json::json!([fingerprint]), "{alerts}");
    // Without the rule the warning is told.
    owner
        .post_form(
            &format!("/clients/globex/channels/quiet/{rule}/delete"),
            &[("csrf", csrf.as_str())],
        )
        .await
        .expect_status(303);
    let mails = smtp.wait_for(2, Duration::from_secs(30));
    assert!(mails[1].contains("[FIRING:1] Queue growing"), "{}", mails[1]);
}

/// Quiet hours on the channels page: while they hold, the alarm of their severity is not
/// mailed (the page says they hold now); once they are removed, the alarm that still goes on
/// is mailed. A wrong form stays with its reasons; the client's admin may not remove them.
#[tokio::test]
async fn an_alarm_is_not_mailed_during_quiet_hours_and_is_once_they_end() {
    let smtp = SmtpServer::start();
    let server = serve(&smtp);
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    owner
        .post_form(
            "/clients/globex/channels/hours",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Never"),
                ("from", "25:00"),
                ("to", "07:00"),
                ("time_zone", "Mars/Olympus"),
            ],
        )
        .await
        .expect_status(422)
        .expect_text("Enter a time of day such as 22:00.")
        .expect_text("Never");
    // Every day, all day: they hold whenever the test runs.
    let mut always = vec![
        ("csrf", csrf.as_str()),
        ("name", "Always"),
        ("from", "00:00"),
        ("to", "24:00"),
        ("time_zone", "Europe/Berlin"),
        ("severity", "critical"),
    ];
    let days: Vec<String> = (1..=7).map(|d| d.to_string()).collect();
    always.extend(days.iter().map(|d| ("day", d.as_str())));
    owner
        .post_form("/clients/globex/channels/hours", &always)
        .await
        .expect_status(303);
    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get("/clients/globex/channels").await;
    page.expect_text("Quiet now")
        .expect_text("Mon, Tue, Wed, Thu, Fri, Sat, Sun, 00:00–24:00 (Europe/Berlin): critical alarms are not told.");
    let hours = between(&page.body, "id=\"hours-", "\"")
        .expect("the quiet hours")
        .to_string();
    let globex_csrf = globex.csrf().await;
    globex
        .post_form(
            &format!("/clients/globex/channels/hours/{hours}/delete"),
            &[("csrf", globex_csrf.as_str())],
        )
        .await
        .expect_status(403);

    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    add_queue_threshold(&server, "Queue too long").await;
    let page = owner.get("/clients/globex/thresholds").await;
    let id = between(&page.body, "id=\"threshold-", "\"")
        .expect("the threshold")
        .to_string();
    wait_for_threshold_card(&owner, "globex", &id, ">Alarm<").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(smtp.messages().is_empty(), "a mail left during quiet hours");
    owner
        .post_form(
            &format!("/clients/globex/channels/hours/{hours}/delete"),
            &[("csrf", csrf.as_str())],
        )
        .await
        .expect_status(303);
    owner
        .get("/clients/globex/channels")
        .await
        .expect_text("The quiet hours Always are removed");
    let mails = smtp.wait_for(1, Duration::from_secs(30));
    assert!(mails[0].contains("[FIRING:1] Queue too long"), "{}", mails[0]);
}

/// `kill -9` while the outbox sends: after the restart every mail arrives, and at most the one
/// that was in flight arrives twice, with the same Message-ID.
#[tokio::test]
async fn a_crash_mid_send_loses_no_mail_and_repeats_at_most_the_one_in_flight() {
    const MAILS: usize = 100;
    let mut smtp = SmtpServer::start();
    smtp.stop();
    let mut server = serve(&smtp);
    let owner = server.login(OWNER).await;
    for i in 0..MAILS {
        owner
            .invite("globex", &format!("person{i}@globex.example"), "viewer")
            .await;
    }
    smtp.resume();
    // Killed as soon as the first mails are in, while the others are being sent.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while smtp.messages().len() < 3 {
        assert!(std::time::Instant::now() < deadline, "no mail was sent");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let before = smtp.messages().len();
    assert!(
        before < MAILS,
        "all {before} mails left before the kill: nothing was in flight"
    );
    let data = server.data_dir();
    let _again = serve_with(&smtp, &[("VITRINE_DATA_DIR", data.to_str().expect("a UTF-8 path"))]);
    let message_ids = || {
        smtp.messages()
            .iter()
            .filter_map(|m| header(m, "Message-ID"))
            .collect::<Vec<_>>()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut ids = message_ids();
        ids.sort();
        ids.dedup();
        if ids.len() == MAILS {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {MAILS} mails arrived after the restart ({before} before the kill)",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ids = message_ids();
    assert!(
        ids.len() <= MAILS + 1,
        "{} mails for {MAILS} distinct ones: more than the one in flight was sent twice",
        ids.len()
    );
}

#[tokio::test]
async fn mails_wait_while_the_mail_server_is_down_and_arrive_once_it_is_back() {
    let mut smtp = SmtpServer::start();
    smtp.stop();
    let server = serve(&smtp);
    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    add_queue_threshold(&server, "Queue too long").await;
    add_queue_threshold(&server, "Queue far too long").await;
    // Both alarms are raised and their mails fail for longer than the backoff cap.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.log().matches("mail not sent").count() < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "no failed deliveries: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    smtp.resume();
    let mails = smtp.wait_for(2, Duration::from_secs(30));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mails_later = smtp.messages();
    assert_eq!(mails_later.len(), mails.len(), "mails arrived twice");
    let mut ids: Vec<String> = mails_later.iter().filter_map(|m| header(m, "Message-ID")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "{mails_later:?}");
}

#[tokio::test]
async fn without_a_mail_server_the_agency_reads_the_mails_in_its_outbox() {
    let server = Server::start_with(&[
        ("VITRINE_RULE_EVALUATION_INTERVAL_SECS", "1"),
        ("VITRINE_NOTIFY_GROUP_WAIT_SECS", "0"),
        ("VITRINE_NOTIFY_GROUP_INTERVAL_SECS", "1"),
    ]);
    let value = Arc::new(AtomicU64::new(50));
    let host = serve_queue_length(value.clone());
    server.scrape_every_second(&host, "globex", "portal", "live");
    add_queue_threshold(&server, "Queue too long").await;
    let owner = server.login(OWNER).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let page = loop {
        let page = owner.get("/agency/outbox").await;
        page.expect_status(200);
        if page.contains("[FIRING:1] Queue too long") && page.contains(">written to mail/<") {
            break page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sent alarm mail: {}",
            page.summary()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    page.expect_text("No mail server is configured")
        .expect_text(GLOBEX_ADMIN.0)
        .expect_text("Orders wait in the queue")
        // The recipient's personal unsubscribe link works without a login: not shown here.
        .expect_text("[personal link, not shown]");
    assert!(!page.contains("/unsubscribe/"), "{}", page.summary());
    // The mail is a file in the data directory, as it would have left.
    let files: Vec<_> = std::fs::read_dir(server.data_dir().join("mail")).unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    // Client people have no outbox; nothing of it is theirs.
    let globex = server.login(GLOBEX_ADMIN).await;
    globex.get("/agency/outbox").await.expect_status(404);
    let csrf = globex.csrf().await;
    globex
        .post_form("/agency/outbox/1/retry", &[("csrf", &csrf)])
        .await
        .expect_status(404);
    // A sent mail is not sent again.
    let csrf = owner.csrf().await;
    owner
        .post_form("/agency/outbox/1/retry", &[("csrf", &csrf)])
        .await
        .expect_status(404);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_a_mailed_link_that_works_once() {
    let smtp = SmtpServer::start();
    let server = serve(&smtp);
    let anonymous = server.client();
    anonymous.get("/login").await.expect_text("Forgot your password?");
    anonymous.get("/password/forgot").await.expect_status(200);
    // Known or unknown address: the same answer; only the known one gets a mail.
    let unknown = anonymous
        .post_form("/password/forgot", &[("email", "nobody@globex.example")])
        .await;
    let known = anonymous
        .post_form("/password/forgot", &[("email", "Admin@Globex.example")])
        .await;
    for answer in [&unknown, &known] {
        answer
            .expect_status(200)
            .expect_text("If an account signs in with this address, a link to choose a new password is on its way.");
    }
    assert_eq!(
        unknown.normalized(),
        known.normalized(),
        "the answers tell the addresses apart"
    );
    let mails = smtp.wait_for(1, Duration::from_secs(30));
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(header(&mails[0], "To").as_deref(), Some(GLOBEX_ADMIN.0));
    let text = text_of(&mails[0]);
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/password/reset/"))
        .unwrap_or_else(|| panic!("no link: {text}"))
        .to_string();
    let path = link.replace(&server.url(""), "");
    // The agency's outbox does not show the link.
    let owner = server.login(OWNER).await;
    let outbox = owner.get("/agency/outbox").await;
    outbox
        .expect_text("Set a new password for Vitrine")
        .expect_text("[personal link, not shown]");
    assert!(!outbox.contains(&path), "{}", outbox.summary());

    anonymous
        .get(&path)
        .await
        .expect_status(200)
        .expect_text("The new password for admin@globex.example");
    anonymous
        .post_form(
            &path,
            &[
                ("password", "a new and long passphrase"),
                ("password_confirm", "another one entirely"),
            ],
        )
        .await
        .expect_status(422);
    let set = anonymous
        .post_form(
            &path,
            &[
                ("password", "a new and long passphrase"),
                ("password_confirm", "a new and long passphrase"),
            ],
        )
        .await;
    set.expect_status(303);
    assert_eq!(set.location(), Some("/login?notice=password-set"));
    let again = anonymous.get(&path).await;
    again.expect_status(404).expect_text("This link does not work");
    let fresh = server.client();
    assert_eq!(
        fresh.login(GLOBEX_ADMIN.0, GLOBEX_ADMIN.1).await.status,
        401,
        "the old password still works"
    );
    let signed_in = fresh.login(GLOBEX_ADMIN.0, "a new and long passphrase").await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.summary());
    // Asking again and again for one address is limited like logins.
    let mut last = 0;
    for _ in 0..6 {
        last = anonymous
            .post_form("/password/forgot", &[("email", "someone@globex.example")])
            .await
            .status;
    }
    assert_eq!(last, 429);
}

#[tokio::test]
async fn an_invitation_is_mailed_with_its_link_in_the_clients_language() {
    let smtp = SmtpServer::start();
    let server = serve(&smtp);
    let owner = server.login(OWNER).await;
    let link = owner.invite("acme", "new.person@acme.example", "viewer").await;
    let mails = smtp.wait_for(1, Duration::from_secs(30));
    let mail = &mails[0];
    assert_eq!(header(mail, "To").as_deref(), Some("new.person@acme.example"));
    // ACME's language is German.
    assert_eq!(
        header(mail, "Subject").as_deref(),
        Some("ACME Shop auf Vitrine: Ihr Zugang"),
        "{mail}"
    );
    assert!(text_of(mail).contains(&link), "the mail lacks the link {link}: {mail}");
    let outbox = owner.get("/agency/outbox").await;
    assert!(!outbox.contains(&link), "{}", outbox.summary());
}
