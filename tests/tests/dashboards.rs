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
        6,
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
