//! Billing, black-box, against a local Stripe stand-in (`vitrine_tests::stripe`): an agency's
//! keys, a new client sold two add-ons through Stripe Checkout (the session's line items are
//! the chosen add-ons; a signed `checkout.session.completed` switches them on), the webhook's
//! signature rules (forged, several v1, too old, unknown agency, the same event twice), a
//! failed payment (the grace period, here 0 days, and the mails) and a cancelled subscription
//! (features off, data kept); who may see and change the catalogue and contracts.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vitrine_tests::stripe::{FakeStripe, event, signature};
use vitrine_tests::*;

const OWNER: (&str, &str) = ("owner@agency.example", "vitrine-demo-owner");
const ACME_ADMIN: (&str, &str) = ("admin@acme.example", "vitrine-demo-client");
const SECRET_KEY: &str = "sk_test_vitrine";
const WEBHOOK_SECRET: &str = "whsec_vitrine_test";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Posts `body` to the demo agency's webhook with `header` as its Stripe-Signature.
async fn webhook(server: &Server, agency: &str, body: &str, header: &str) -> Response {
    let request = server
        .client()
        .request(reqwest::Method::POST, &format!("/webhooks/stripe/{agency}"))
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .body(body.to_string());
    server.client().send(request).await
}

/// Waits until `path` answers `status` to anyone.
async fn wait_for_status(server: &Server, path: &str, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = server.client().get(path).await;
        if response.status == status {
            return;
        }
        assert!(Instant::now() < deadline, "{path} still answers {}", response.summary());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The id of the catalogue item `key` on the billing page.
fn item_id(billing_page: &str, key: &str) -> String {
    let item = between(billing_page, &format!("id=\"item-{key}\""), "</li>")
        .unwrap_or_else(|| panic!("no item {key} on the billing page"));
    word_after(item, "/agency/billing?edit=")
        .unwrap_or_else(|| panic!("no edit link for {key}"))
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .to_string()
}

/// Saves a catalogue item's Stripe price, keeping everything else as the default catalogue has it.
async fn set_price(owner: &Client, csrf: &str, id: &str, (key, name): (&str, &str), grants: &str, price: &str) {
    let response = owner
        .post_form(
            &format!("/agency/billing/items/{id}"),
            &[
                ("csrf", csrf),
                ("key", key),
                ("grants", grants),
                ("name_en", name),
                ("monthly", "15"),
                ("currency", "eur"),
                ("stripe_price_id", price),
            ],
        )
        .await;
    response.expect_status(200).expect_text("saved");
}

#[tokio::test]
async fn add_ons_sold_through_stripe_switch_on_and_off_by_signed_events() {
    let stripe = FakeStripe::start(SECRET_KEY).await;
    let server = Server::start_with(&[
        ("VITRINE_STRIPE_API_BASE", &stripe.base()),
        ("VITRINE_BILLING_GRACE_DAYS", "0"),
    ]);
    // The keys from the command line: two lines on standard input, never printed.
    let mut child = Command::new(binary())
        .args(["billing", "stripe-keys", "--agency", "demo"])
        .env("VITRINE_DATA_DIR", server.data_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{SECRET_KEY}\n{WEBHOOK_SECRET}").unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{printed}");
    assert!(
        !printed.contains(SECRET_KEY) && !printed.contains(WEBHOOK_SECRET),
        "{printed}"
    );

    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let page = owner.get("/agency/billing").await;
    page.expect_status(200)
        .expect_text("Your Stripe keys are stored")
        .expect_text("/webhooks/stripe/demo");
    assert!(!page.contains(SECRET_KEY) && !page.contains(WEBHOOK_SECRET));
    let status_item = item_id(&page.body, "status-page");
    let mails_item = item_id(&page.body, "error-mails");
    let status_page = ("status-page", "Public status page");
    set_price(&owner, &csrf, &status_item, status_page, "status_page", "price_status").await;
    let mails = ("error-mails", "Error mails to your team");
    set_price(&owner, &csrf, &mails_item, mails, "client_mails", "price_mails").await;

    // A new client without a contract: its published status page is not there.
    owner
        .post_form(
            "/agency/clients",
            &[
                ("csrf", &csrf),
                ("name", "Neuer Shop"),
                ("slug", "newshop"),
                ("language", "de"),
            ],
        )
        .await;
    owner
        .post_form(
            "/clients/newshop/status",
            &[("csrf", &csrf), ("published", "on"), ("time_zone", "Europe/Berlin")],
        )
        .await;
    owner
        .get("/clients/newshop/status")
        .await
        .expect_status(200)
        .expect_text("Public status page");
    server.client().get("/status/newshop").await.expect_status(404);

    // Checkout with the two add-ons.
    let response = owner
        .post_form(
            "/clients/newshop/contract/stripe/checkout",
            &[("csrf", &csrf), ("item", &status_item), ("item", &mails_item)],
        )
        .await;
    assert_eq!(response.status, 303, "{}", response.summary());
    let pay_at = response.location().unwrap().to_string();
    assert!(
        pay_at.starts_with(&format!("{}checkout/cs_", stripe.base())),
        "{pay_at}"
    );
    let requests = stripe.requests();
    let customer = requests
        .iter()
        .find(|r| r.path == "/v1/customers")
        .expect("a customer was created");
    assert!(customer.idempotency_key.is_some(), "{customer:?}");
    let session = requests
        .iter()
        .find(|r| r.path == "/v1/checkout/sessions")
        .expect("a checkout session was created");
    assert_eq!(session.param("mode"), Some("subscription"));
    let mut prices = vec![
        session.param("line_items[0][price]"),
        session.param("line_items[1][price]"),
    ];
    prices.sort();
    assert_eq!(prices, [Some("price_mails"), Some("price_status")]);
    assert_eq!(session.param("line_items[2][price]"), None);
    server.client().get("/status/newshop").await.expect_status(404);

    // The client pays; Stripe reports the session completed.
    let session_id = pay_at.rsplit('/').next().unwrap();
    let completed = stripe.complete_checkout(session_id);
    let subscription_id = completed["subscription"].as_str().unwrap().to_string();
    let body = event("evt_completed", "checkout.session.completed", now(), completed);
    let t = now();

    // A forged signature, a stale one and an unknown agency change nothing: the same 400.
    let forged = webhook(&server, "demo", &body, &format!("t={t},v1={}", "ab".repeat(32))).await;
    assert_eq!(forged.status, 400, "{}", forged.summary());
    let stale = webhook(&server, "demo", &body, &signature(WEBHOOK_SECRET, t - 301, &body)).await;
    assert_eq!(stale.status, 400);
    let elsewhere = webhook(&server, "nobody", &body, &signature(WEBHOOK_SECRET, t, &body)).await;
    assert_eq!((elsewhere.status, elsewhere.text()), (forged.status, forged.text()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.client().get("/status/newshop").await.expect_status(404);

    // Signed correctly among several v1 signatures (a secret rolling): accepted, twice, applied once.
    let rolling = format!(
        "{},v1={},v0=ignored",
        signature("whsec_the_old_one", t, &body),
        signature(WEBHOOK_SECRET, t, &body).split("v1=").nth(1).unwrap()
    );
    webhook(&server, "demo", &body, &rolling).await.expect_status(200);
    webhook(&server, "demo", &body, &signature(WEBHOOK_SECRET, t, &body))
        .await
        .expect_status(200);
    wait_for_status(&server, "/status/newshop", 200).await;
    assert!(
        server.log_contains("new=false"),
        "the second delivery was not recognised"
    );
    let contract = owner.get("/clients/newshop/contract").await;
    contract
        .expect_status(200)
        .expect_text("paid through Stripe")
        .expect_text("in force");

    // A failed payment: the grace period (0 days here) ends at once; the agency is mailed.
    let invoice = serde_json::json!({
        "id": "in_failed", "object": "invoice", "customer": completed_customer(&stripe, &subscription_id),
        "parent": {"subscription_details": {"subscription": subscription_id}}, "status": "open"
    });
    let failed = event("evt_failed", "invoice.payment_failed", now() + 1, invoice);
    webhook(&server, "demo", &failed, &signature(WEBHOOK_SECRET, now(), &failed))
        .await
        .expect_status(200);
    wait_for_status(&server, "/status/newshop", 404).await;
    let mail = wait_for_mail(&server, "Neuer Shop").await;
    assert!(mail.contains("owner@agency.example"), "{mail}");
    assert!(
        mail.contains("Es werden keine Daten gel") || mail.contains("No data is deleted"),
        "{mail}"
    );

    // Cancelled: the features stay off, the settings and data stay.
    let mut cancelled = stripe.subscription(&subscription_id).unwrap();
    cancelled["status"] = "canceled".into();
    let deleted = event("evt_deleted", "customer.subscription.deleted", now() + 2, cancelled);
    webhook(&server, "demo", &deleted, &signature(WEBHOOK_SECRET, now(), &deleted))
        .await
        .expect_status(200);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = owner.get("/clients/newshop/contract").await;
        if page.contains("cancelled") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the contract was not cancelled: {}",
            page.summary()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    owner
        .get("/clients/newshop/status")
        .await
        .expect_status(200)
        .expect_text("Europe/Berlin");
    server.client().get("/status/newshop").await.expect_status(404);
    // The demo clients keep every add-on, recorded by hand.
    server.client().get("/status/acme").await.expect_status(200);
}

/// The customer of a subscription the stand-in holds.
fn completed_customer(stripe: &FakeStripe, subscription: &str) -> String {
    stripe.subscription(subscription).unwrap()["customer"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The first mail written to the data directory's `mail/` that mentions `needle`.
async fn wait_for_mail(server: &Server, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(entries) = std::fs::read_dir(server.data_dir().join("mail")) {
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if text.contains(needle) {
                    return text;
                }
            }
        }
        assert!(Instant::now() < deadline, "no mail mentions {needle}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn only_agency_owners_and_the_clients_admins_see_billing() {
    let server = Server::start();
    let acme_admin = server.login(ACME_ADMIN).await;
    // The client admin sees the own contract, not another client's, and not the catalogue.
    acme_admin
        .get("/clients/acme/contract")
        .await
        .expect_status(200)
        .expect_text("Public status page")
        .expect_text("in force");
    acme_admin.get("/clients/globex/contract").await.expect_status(404);
    acme_admin.get("/agency/billing").await.expect_status(404);
    let csrf = acme_admin.csrf().await;
    acme_admin
        .post_form("/clients/acme/contract/record", &[("csrf", &csrf)])
        .await
        .expect_status(403);
    acme_admin
        .post_form("/agency/billing/items", &[("csrf", &csrf), ("key", "free")])
        .await
        .expect_status(404);
    // A second agency's owner reaches none of the demo agency's items or contracts.
    server.cli(&["agency", "create", "--slug", "other", "--name", "Other Agency"]);
    let created = server.cli(&[
        "user",
        "create",
        "--email",
        "owner@other.example",
        "--agency",
        "other",
        "--role",
        "agency_owner",
    ]);
    let password = word_after(&created, "password: ").expect("a generated password");
    let other = server.login(("owner@other.example", password.as_str())).await;
    let other_csrf = other.csrf().await;
    other.get("/clients/acme/contract").await.expect_status(404);
    let theirs = other.get("/agency/billing").await;
    theirs.expect_status(200);
    assert!(!theirs.contains("ACME"), "another agency's contracts are listed");
    let owner = server.login(OWNER).await;
    let demo_item = item_id(&owner.get("/agency/billing").await.body, "sla");
    other
        .post_form(
            &format!("/agency/billing/items/{demo_item}"),
            &[
                ("csrf", &other_csrf),
                ("key", "sla"),
                ("grants", "service"),
                ("name_en", "Taken over"),
                ("monthly", "0"),
                ("currency", "eur"),
            ],
        )
        .await
        .expect_status(404);
    assert!(!owner.get("/agency/billing").await.contains("Taken over"));
}
