//! Tenant isolation, driven by the route table the binary prints
//! (`vitrine routes`), so a new route is covered without editing this file.

use vitrine_tests::*;

const NOT_FOUND: &str = "Page not found";

/// Form fields that would be valid for any of the signed-in forms.
const PLAUSIBLE: [(&str, &str); 5] = [
    ("name", "intruder"),
    ("slug", "intruder"),
    ("email", "intruder@evil.example"),
    ("role", "admin"),
    ("language", "en"),
];

fn with_csrf(token: &str) -> Vec<(&str, &str)> {
    let mut fields = PLAUSIBLE.to_vec();
    fields.push(("csrf", token));
    fields
}

/// Sends the route's request with its parameters filled in.
async fn call(client: &Client, route: &Route, path: &str, csrf: Option<&str>) -> Response {
    match route.method.as_str() {
        "GET" => client.get(path).await,
        "POST" => match csrf {
            Some(token) => client.post_form(path, &with_csrf(token)).await,
            None => client.post_form(path, &PLAUSIBLE).await,
        },
        other => panic!(
            "the route table has a method this test does not know: {other} {}",
            route.path
        ),
    }
}

fn client_routes(table: &[Route]) -> Vec<Route> {
    table.iter().filter(|r| r.path.contains("{client}")).cloned().collect()
}

/// Objects of both demo clients that routes name by id: a target of globex (portal, live;
/// added by the owner through the form, as the demo has none there), the first demo target of
/// acme (shop, live), and an API token of each, made on the client pages.
struct Fixture {
    globex_target: String,
    acme_target: String,
    globex: ClientIds,
    acme: ClientIds,
}

/// The ids of a client's API token, threshold, silence and channel (acme's threshold and
/// planned maintenance from the demo, the rest made here).
struct ClientIds {
    token: String,
    threshold: String,
    silence: String,
    channel: String,
    dashboard: String,
    /// A marker, also an annotation of Grafana's API.
    marker: String,
    /// A status page component and an HTTP probe (acme's from the demo).
    component: String,
    probe: String,
    incident: String,
    /// An inhibition rule and a recording rule (acme's recording rule from the demo).
    inhibit_rule: String,
    recording: String,
    /// Quiet hours.
    hours: String,
}

async fn fixture(server: &Server) -> Fixture {
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let globex = targets_path("globex", "portal", "live");
    let metrics = server.url("/metrics");
    owner
        .post_form(
            &globex,
            &[("csrf", csrf.as_str()), ("job", "portal"), ("url", metrics.as_str())],
        )
        .await
        .expect_status(303);
    let page = owner.get(&globex).await;
    page.expect_status(200);
    let globex_target = targets_on_page(&page.body)
        .first()
        .map(|t| t.id.to_string())
        .unwrap_or_else(|| panic!("globex's target is not listed: {}", page.summary()));
    let page = owner.get(&targets_path("acme", "shop", "live")).await;
    page.expect_status(200);
    let acme_target = targets_on_page(&page.body)
        .first()
        .map(|t| t.id.to_string())
        .unwrap_or_else(|| panic!("the demo has no target in acme's shop, live: {}", page.summary()));
    let token = async |client: &str| {
        let path = format!("/clients/{client}/tokens");
        owner
            .post_form(&path, &[("csrf", csrf.as_str()), ("name", "fixture")])
            .await
            .expect_status(201);
        let page = owner.get(&format!("/clients/{client}")).await;
        page.expect_status(200);
        between(&page.body, &format!("action=\"{path}/"), "/revoke\"")
            .unwrap_or_else(|| panic!("no token to revoke on {client}'s page: {}", page.summary()))
            .to_string()
    };
    let globex_token = token("globex").await;
    let acme_token = token("acme").await;
    owner
        .post_form(
            "/clients/globex/thresholds",
            &[
                ("csrf", csrf.as_str()),
                ("place", "portal/live"),
                ("name", "Portal down"),
                ("expr", "up"),
                ("comparator", "<"),
                ("value", "1"),
                ("for", "1m"),
                ("severity", "critical"),
                ("unit", "short"),
                ("meaning_en", "The portal cannot be reached."),
            ],
        )
        .await
        .expect_status(303);
    owner
        .post_form(
            "/clients/globex/silences",
            &[
                ("csrf", csrf.as_str()),
                ("place", "*"),
                ("starts", "2099-01-01T01:00"),
                ("ends", "2099-01-01T02:00"),
                ("comment", "Move"),
            ],
        )
        .await
        .expect_status(303);
    let on_thresholds_page = async |client: &str, prefix: &str| {
        let page = owner.get(&format!("/clients/{client}/thresholds")).await;
        page.expect_status(200);
        between(&page.body, prefix, "\"")
            .unwrap_or_else(|| panic!("{client} has no {prefix}: {}", page.summary()))
            .to_string()
    };
    let channel = async |client: &str| {
        let path = format!("/clients/{client}/channels");
        owner
            .post_form(
                &path,
                &[
                    ("csrf", csrf.as_str()),
                    ("kind", "email"),
                    ("name", "Team"),
                    ("target", "team@example.com"),
                ],
            )
            .await
            .expect_status(303);
        let page = owner.get(&path).await;
        page.expect_status(200);
        between(&page.body, "id=\"channel-", "\"")
            .unwrap_or_else(|| panic!("{client} has no channel: {}", page.summary()))
            .to_string()
    };
    let dashboard = async |client: &str| {
        let page = owner.get(&format!("/clients/{client}/dashboards")).await;
        page.expect_status(200);
        between(&page.body, &format!("/clients/{client}/dashboards/"), "?")
            .unwrap_or_else(|| panic!("{client} has no dashboard: {}", page.summary()))
            .to_string()
    };
    let marker = async |client: &str, dashboard: &str| {
        owner
            .post_form(
                &format!("/clients/{client}/dashboards/{dashboard}/markers"),
                &[("csrf", csrf.as_str()), ("environment", "live"), ("text", "Deploy")],
            )
            .await
            .expect_status(303);
        let page = owner
            .get(&format!("/clients/{client}/dashboards/{dashboard}?environment=live"))
            .await;
        between(&page.body, "id=\"marker-", "\"")
            .unwrap_or_else(|| panic!("{client} has no marker: {}", page.summary()))
            .to_string()
    };
    let probe = async |client: &str, project: &str| {
        let path = targets_path(client, project, "live");
        if client == "globex" {
            owner
                .post_form(
                    &path.replace("/targets", "/probes"),
                    &[
                        ("csrf", csrf.as_str()),
                        ("name", "Portal"),
                        ("url", "http://portal.example/"),
                    ],
                )
                .await
                .expect_status(303);
        }
        let page = owner.get(&path).await;
        between(&page.body, "id=\"probe-", "\"")
            .unwrap_or_else(|| panic!("{client} has no probe: {}", page.summary()))
            .to_string()
    };
    let component = async |client: &str, probe: &str| {
        let path = format!("/clients/{client}/status");
        if client == "globex" {
            let source = format!("probe:{probe}");
            owner
                .post_form(
                    &format!("{path}/components"),
                    &[
                        ("csrf", csrf.as_str()),
                        ("name", "Portal"),
                        ("source", source.as_str()),
                        ("impact", "major_outage"),
                    ],
                )
                .await
                .expect_status(303);
        }
        let page = owner.get(&path).await;
        between(&page.body, "id=\"component-", "\"")
            .unwrap_or_else(|| panic!("{client} has no component: {}", page.summary()))
            .to_string()
    };
    let incident = async |client: &str| {
        let path = format!("/clients/{client}/status");
        owner
            .post_form(
                &format!("{path}/incidents"),
                &[
                    ("csrf", csrf.as_str()),
                    ("title_en", "Slow pages"),
                    ("body_en", "We are looking into it."),
                    ("impact", "minor"),
                    ("status", "investigating"),
                    ("component_state", "degraded_performance"),
                ],
            )
            .await
            .expect_status(303);
        let page = owner.get(&path).await;
        between(&page.body, "id=\"incident-", "\"")
            .unwrap_or_else(|| panic!("{client} has no incident: {}", page.summary()))
            .to_string()
    };
    let inhibit_rule = async |client: &str| {
        let path = format!("/clients/{client}/channels");
        owner
            .post_form(
                &format!("{path}/quiet"),
                &[
                    ("csrf", csrf.as_str()),
                    ("source", r#"severity="critical""#),
                    ("target", r#"severity="warning""#),
                    ("equal", "environment"),
                ],
            )
            .await
            .expect_status(303);
        let page = owner.get(&path).await;
        between(&page.body, "id=\"quiet-", "\"")
            .unwrap_or_else(|| panic!("{client} has no inhibition rule: {}", page.summary()))
            .to_string()
    };
    owner
        .post_form(
            "/clients/globex/recordings",
            &[
                ("csrf", csrf.as_str()),
                ("place", "portal/live"),
                ("record", "portal:up:sum"),
                ("expr", "sum(up)"),
            ],
        )
        .await
        .expect_status(303);
    let recording = async |client: &str| on_thresholds_page(client, "id=\"recording-").await;
    let hours = async |client: &str| {
        let path = format!("/clients/{client}/channels");
        owner
            .post_form(
                &format!("{path}/hours"),
                &[
                    ("csrf", csrf.as_str()),
                    ("name", "Nights"),
                    ("day", "1"),
                    ("from", "22:00"),
                    ("to", "06:00"),
                    ("time_zone", "UTC"),
                ],
            )
            .await
            .expect_status(303);
        let page = owner.get(&path).await;
        between(&page.body, "id=\"hours-", "\"")
            .unwrap_or_else(|| panic!("{client} has no quiet hours: {}", page.summary()))
            .to_string()
    };
    let globex_probe = probe("globex", "portal").await;
    let acme_probe = probe("acme", "shop").await;
    let threshold = async |client: &str| on_thresholds_page(client, "id=\"threshold-").await;
    let silence = async |client: &str| on_thresholds_page(client, "id=\"silence-").await;
    Fixture {
        globex_target,
        acme_target,
        globex: ClientIds {
            token: globex_token,
            threshold: threshold("globex").await,
            silence: silence("globex").await,
            channel: channel("globex").await,
            marker: marker("globex", &dashboard("globex").await).await,
            dashboard: dashboard("globex").await,
            component: component("globex", &globex_probe).await,
            probe: globex_probe,
            incident: incident("globex").await,
            inhibit_rule: inhibit_rule("globex").await,
            recording: recording("globex").await,
            hours: hours("globex").await,
        },
        acme: ClientIds {
            token: acme_token,
            threshold: threshold("acme").await,
            silence: silence("acme").await,
            channel: channel("acme").await,
            marker: marker("acme", &dashboard("acme").await).await,
            dashboard: dashboard("acme").await,
            component: component("acme", &acme_probe).await,
            probe: acme_probe,
            incident: incident("acme").await,
            inhibit_rule: inhibit_rule("acme").await,
            recording: recording("acme").await,
            hours: hours("acme").await,
        },
    }
}

/// A route's path with its parameters filled in: the tenant's places, an invitation
/// token (`{token}`) and the id of the object the route names (`{api_token}`, `{threshold}`,
/// `{silence}`, `{channel}`, `{dashboard}`, `{marker}`, `{annotation}`, `{component}`, `{probe}`,
/// `{incident}`, `{rule}`, `{recording}`, `{hours}`).
fn fill(route: &Route, place: &Place<'_>, invite: &str, object: &str) -> String {
    route
        .fill(place, invite)
        .replace("{api_token}", object)
        .replace("{threshold}", object)
        .replace("{silence}", object)
        .replace("{channel}", object)
        .replace("{dashboard}", object)
        .replace("{marker}", object)
        .replace("{annotation}", object)
        .replace("{component}", object)
        .replace("{probe}", object)
        .replace("{incident}", object)
        .replace("{rule}", object)
        .replace("{recording}", object)
        .replace("{hours}", object)
        // Every dashboard has a second panel.
        .replace("{panel}", "1")
}

/// The id of the object `route` names among a client's `ids`.
fn object<'a>(route: &Route, ids: &'a ClientIds) -> &'a str {
    if route.path.contains("{threshold}") {
        &ids.threshold
    } else if route.path.contains("{silence}") {
        &ids.silence
    } else if route.path.contains("{channel}") {
        &ids.channel
    } else if route.path.contains("{marker}") || route.path.contains("{annotation}") {
        &ids.marker
    } else if route.path.contains("{dashboard}") {
        &ids.dashboard
    } else if route.path.contains("{component}") {
        &ids.component
    } else if route.path.contains("{probe}") {
        &ids.probe
    } else if route.path.contains("{incident}") {
        &ids.incident
    } else if route.path.contains("{rule}") {
        &ids.inhibit_rule
    } else if route.path.contains("{recording}") {
        &ids.recording
    } else if route.path.contains("{hours}") {
        &ids.hours
    } else {
        &ids.token
    }
}

/// What globex's admin sees of globex's targets: ids, jobs and addresses.
async fn globex_targets(globex: &Client) -> Vec<(i64, String, String)> {
    let page = globex.get(&targets_path("globex", "portal", "live")).await;
    page.expect_status(200);
    targets_on_page(&page.body)
        .into_iter()
        .map(|t| (t.id, t.job, t.url))
        .collect()
}

#[test]
fn the_route_table_lists_the_tenant_routes() {
    let table = routes();
    let has = |method: &str, path: &str, access: &str| {
        table
            .iter()
            .any(|r| r.method == method && r.path == path && r.access == access)
    };
    for (method, path) in [
        ("GET", "/clients/{client}"),
        ("GET", "/clients/{client}/explore"),
        ("POST", "/clients/{client}/projects"),
        ("POST", "/clients/{client}/projects/{project}/environments"),
        ("POST", "/clients/{client}/invites"),
        ("POST", "/clients/{client}/tokens"),
        ("POST", "/clients/{client}/tokens/{api_token}/revoke"),
        (
            "GET",
            "/clients/{client}/projects/{project}/environments/{environment}/targets",
        ),
        (
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/targets",
        ),
        (
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/targets/import",
        ),
        (
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/targets/{target}/test",
        ),
        (
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/targets/{target}/delete",
        ),
        ("GET", "/agency"),
        ("POST", "/agency/clients"),
        ("POST", "/logout"),
    ] {
        assert!(
            has(method, path, "signed_in"),
            "the route table lacks signed-in {method} {path}: {table:?}"
        );
    }
    for (method, path) in [
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/invite/{token}"),
        ("POST", "/invite/{token}"),
    ] {
        assert!(
            has(method, path, "public"),
            "the route table lacks public {method} {path}: {table:?}"
        );
    }
    for route in &table {
        assert!(
            ["public", "signed_in", "operator", "token"].contains(&route.access.as_str()),
            "unknown access {route:?}"
        );
        assert!(
            !route.path.contains("{client}") || route.signed_in(),
            "a client's route is public: {route:?}"
        );
    }
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_the_login_page() {
    let table = routes();
    let signed_in: Vec<&Route> = table.iter().filter(|r| r.signed_in()).collect();
    assert!(signed_in.len() >= 6, "too few signed-in routes: {table:?}");
    let server = Server::start();
    let anonymous = server.client();
    for route in signed_in {
        for (client, project) in [("acme", "shop"), ("globex", "portal"), ("no-such-client", "none")] {
            let path = fill(route, &Place::new(client, project, "live", "1"), &"0".repeat(64), "1");
            let response = call(&anonymous, route, &path, None).await;
            assert_eq!(response.status, 303, "{} {path}: {}", route.method, response.summary());
            let location = response.location().unwrap_or_default();
            if route.method == "GET" {
                assert_eq!(
                    percent_decode(location),
                    format!("/login?next={path}"),
                    "{} {path}",
                    route.method
                );
            } else {
                assert_eq!(location, "/login", "{} {path}", route.method);
            }
            assert_eq!(response.set_cookies(), Vec::<String>::new(), "{} {path}", route.method);
        }
    }
    assert!(!server.log_contains("invitation created"));
}

#[tokio::test]
async fn a_client_person_cannot_reach_another_client() {
    let table = routes();
    let tenant_routes = client_routes(&table);
    assert!(tenant_routes.len() >= 4, "too few routes with {{client}}: {table:?}");
    let server = Server::start();
    let ids = fixture(&server).await;
    let foreign = Place::new("globex", "portal", "live", &ids.globex_target);
    let own = Place::new("acme", "shop", "live", &ids.acme_target);

    let globex = server.login(GLOBEX_ADMIN).await;
    let globex_targets_before = globex_targets(&globex).await;
    assert_eq!(globex_targets_before.len(), 1, "{globex_targets_before:?}");
    let globex_before = globex.get("/clients/globex").await;
    globex_before.expect_status(200).expect_text("Customer portal");
    let owner = server.login(OWNER).await;
    let agency_before = owner.get("/agency").await;
    agency_before.expect_status(200);

    let acme = server.login(ACME_ADMIN).await;
    let token = acme.csrf().await;
    for route in &tenant_routes {
        let path = fill(route, &foreign, "", object(route, &ids.globex));
        let response = call(&acme, route, &path, Some(&token)).await;
        assert_eq!(
            response.status,
            404,
            "acme's admin got {} for {} {path}: {}",
            response.status,
            route.method,
            response.summary()
        );
        response.expect_text(NOT_FOUND);
        assert!(!response.contains("Globex") && !response.contains("Customer portal"));
    }

    // Globex is unchanged: same page for its admin, same overview for the agency, no invitation.
    let globex_after = globex.get("/clients/globex").await;
    globex_after.expect_status(200);
    assert!(!globex_after.contains("intruder"), "{}", globex_after.summary());
    assert_eq!(
        globex_before.normalized(),
        globex_after.normalized(),
        "globex's page changed after acme's admin sent forms to it"
    );
    let agency_after = owner.get("/agency").await;
    assert_eq!(
        agency_before.normalized(),
        agency_after.normalized(),
        "the agency overview changed"
    );
    assert!(!server.log_contains("invitation created"), "{}", server.log());
    assert_eq!(
        globex_targets(&globex).await,
        globex_targets_before,
        "globex's targets changed after acme's admin sent forms to them"
    );

    // The same requests for acme's own client are not answered with 404, so
    // the 404s above are not just a broken request.
    for route in &tenant_routes {
        let path = fill(route, &own, "", object(route, &ids.acme));
        let response = call(&acme, route, &path, Some(&token)).await;
        assert_ne!(
            response.status,
            404,
            "{} {path} gives 404 for the own client too: {}",
            route.method,
            response.summary()
        );
        assert!(response.status < 500, "{} {path}: {}", route.method, response.summary());
    }
    assert!(
        server.log_contains("invitation created"),
        "the invitation to acme was not created"
    );
}

#[tokio::test]
async fn a_foreign_client_looks_exactly_like_a_missing_one() {
    let table = routes();
    let tenant_routes = client_routes(&table);
    assert!(!tenant_routes.is_empty());
    let server = Server::start();
    let ids = fixture(&server).await;
    let (globex_target, acme_target) = (&ids.globex_target, &ids.acme_target);
    let acme = server.login(ACME_ADMIN).await;
    let token = acme.csrf().await;

    // Two renderings of the same page differ only in the script nonce.
    let first = acme.get("/clients/no-such-client").await;
    let second = acme.get("/clients/no-such-client").await;
    assert_eq!(first.normalized(), second.normalized());

    for route in &tenant_routes {
        let foreign = fill(
            route,
            &Place::new("globex", "portal", "live", globex_target),
            "",
            object(route, &ids.globex),
        );
        let cases = [
            fill(
                route,
                &Place::new("no-such-client", "portal", "live", globex_target),
                "",
                object(route, &ids.globex),
            ),
            fill(
                route,
                &Place::new("no-such-client", "no-such-project", "none", "1"),
                "",
                "1",
            ),
        ];
        let foreign_response = call(&acme, route, &foreign, Some(&token)).await;
        foreign_response.expect_status(404);
        for missing in cases {
            let missing_response = call(&acme, route, &missing, Some(&token)).await;
            assert_eq!(missing_response.status, 404, "{} {missing}", route.method);
            assert_eq!(
                foreign_response.normalized(),
                missing_response.normalized(),
                "{} {foreign} and {missing} answer differently",
                route.method
            );
            for header in ["content-type", "cache-control", "set-cookie"] {
                assert_eq!(
                    foreign_response.header(header),
                    missing_response.header(header),
                    "{} {foreign} / {missing}: {header}",
                    route.method
                );
            }
        }
        let mut look_alike = vec![];
        let own_token = object(route, &ids.acme);
        if route.path.contains("{project}") {
            // A project of the own client that does not exist looks the same as well,
            look_alike.push((Place::new("acme", "no-such-project", "live", acme_target), own_token));
            // and a project of another client under the own client's address.
            look_alike.push((Place::new("acme", "portal", "live", acme_target), own_token));
        }
        if route.path.contains("{environment}") {
            // An environment the own project does not have.
            look_alike.push((
                Place::new("acme", "shop", "no-such-environment", acme_target),
                own_token,
            ));
        }
        if route.path.contains("{target}") {
            // Another client's target by its id under the own environment, an id that
            // does not exist, one that is not a number, and the own target under
            // another environment or project.
            look_alike.push((Place::new("acme", "shop", "live", globex_target), own_token));
            look_alike.push((Place::new("acme", "shop", "live", "999999999"), own_token));
            look_alike.push((Place::new("acme", "shop", "live", "not-a-number"), own_token));
            look_alike.push((Place::new("acme", "shop", "stage", acme_target), own_token));
            look_alike.push((Place::new("acme", "api", "live", acme_target), own_token));
        }
        if route.path.contains("{api_token}") {
            // Another client's API token by its id under the own client, an id that does
            // not exist and one that is not a number.
            let own = Place::new("acme", "shop", "live", acme_target);
            for id in [ids.globex.token.as_str(), "999999999", "not-a-number"] {
                look_alike.push((own, id));
            }
        }
        for (place, api_token) in look_alike {
            let path = fill(route, &place, "", api_token);
            let response = call(&acme, route, &path, Some(&token)).await;
            assert_eq!(response.status, 404, "{} {path}", route.method);
            assert_eq!(
                foreign_response.normalized(),
                response.normalized(),
                "{} {foreign} and {path} answer differently",
                route.method
            );
        }
    }
}

#[tokio::test]
async fn a_client_person_cannot_reach_the_agency() {
    let table = routes();
    let agency_routes: Vec<&Route> = table
        .iter()
        .filter(|r| r.signed_in() && (r.path == "/agency" || r.path.starts_with("/agency/")))
        .collect();
    assert!(agency_routes.len() >= 2, "too few agency routes: {table:?}");
    let server = Server::start();
    let acme = server.login(ACME_ADMIN).await;
    let token = acme.csrf().await;
    let missing = acme.get("/clients/no-such-client").await;
    for route in agency_routes {
        let response = call(&acme, route, &route.path, Some(&token)).await;
        assert_eq!(
            response.status,
            404,
            "{} {}: {}",
            route.method,
            route.path,
            response.summary()
        );
        response.expect_text(NOT_FOUND);
        assert!(!response.contains("Demo Agency") && !response.contains("Globex"));
        assert_eq!(
            missing.normalized(),
            response.normalized(),
            "{} {}",
            route.method,
            route.path
        );
    }
    let owner = server.login(OWNER).await;
    let agency = owner.get("/agency").await;
    agency.expect_status(200);
    assert!(!agency.contains("intruder"), "acme's admin created a client");
    owner.get("/clients/intruder").await.expect_status(404);
}

/// Operator routes (the `vitrine tsdb` commands while serving) answer 404 to
/// everyone without the token from `<data_dir>/control`, signed in or not.
#[tokio::test]
async fn operator_routes_need_the_control_token() {
    let table = routes();
    let operator: Vec<&Route> = table.iter().filter(|r| r.access == "operator").collect();
    assert!(operator.len() >= 3, "operator routes missing: {table:?}");
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let control = std::fs::read_to_string(server.data_dir().join("control")).expect("control file");
    let token = control.lines().nth(1).expect("token line").to_string();
    for route in operator {
        let method: reqwest::Method = route.method.parse().unwrap();
        for (who, client) in [("public", server.client()), ("owner", owner.clone())] {
            for bearer in [None, Some("wrong")] {
                let mut request = client
                    .request(method.clone(), &route.path)
                    .form(&[("csrf", csrf.as_str())]);
                if let Some(bearer) = bearer {
                    request = request.bearer_auth(bearer);
                }
                let response = client.send(request).await;
                assert_eq!(response.status, 404, "{who} with {bearer:?} reached {route:?}");
            }
        }
        if route.path.ends_with("/stats") {
            let response = server
                .client()
                .send(server.client().request(method, &route.path).bearer_auth(&token))
                .await;
            response.expect_status(200).expect_text("head:");
        }
    }
}
