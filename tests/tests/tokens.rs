//! API tokens in the UI, black-box: created on the client page (shown once), they open the
//! Prometheus API for that client; revoked, they stop working at once. Client viewers do not
//! see or manage tokens, and nobody reaches another client's tokens.

use vitrine_tests::*;

/// One row of the tokens table: id, name and the whole row (tags included).
#[derive(Debug)]
struct TokenSeen {
    id: String,
    name: String,
    row: String,
}

fn tokens_on_page(html: &str) -> Vec<TokenSeen> {
    visible(html)
        .split("<tr id=\"token-")
        .skip(1)
        .map(|part| {
            let row = &part[..part.find("</tr>").unwrap_or(part.len())];
            let name = between(row, "<th scope=\"row\">", "<").unwrap_or_default();
            TokenSeen {
                id: row.chars().take_while(char::is_ascii_digit).collect(),
                name: unescape(name),
                row: row.to_string(),
            }
        })
        .collect()
}

/// The token shown once on the page after it was created.
fn new_token(page: &Response) -> Option<String> {
    let text = page.text();
    let tag = between(&text, "id=\"new-token\"", "</code>")?;
    tag.split_once('>').map(|(_, token)| token.to_string())
}

async fn query_up(server: &Server, auth: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> u16 {
    let request = reqwest::Client::new().get(server.url("/api/v1/query?query=up"));
    auth(request).send().await.expect("API request").status().as_u16()
}

/// Creates a token named `name` on `client`'s page; returns the token shown once, in the
/// answer to the form, and that answer.
async fn create(person: &Client, csrf: &str, client: &str, name: &str) -> (String, Response) {
    let page = person
        .post_form(&format!("/clients/{client}/tokens"), &[("name", name), ("csrf", csrf)])
        .await;
    page.expect_status(201)
        .expect_text(&format!("The token {name} was created"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let token = new_token(&page).unwrap_or_else(|| panic!("no new token on the page: {}", page.summary()));
    (token, page)
}

/// The id of the listed token called `name` on `client`'s page.
async fn token_id(person: &Client, client: &str, name: &str) -> String {
    let page = person.get(&format!("/clients/{client}")).await;
    page.expect_status(200);
    tokens_on_page(&page.body)
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("token {name} is not listed: {}", page.summary()))
        .id
}

#[tokio::test]
async fn a_token_made_in_the_ui_opens_the_api_until_it_is_revoked() {
    let server = Server::start();
    let admin = server.login(ACME_ADMIN).await;
    let csrf = admin.csrf().await;

    let page = admin.get("/clients/acme").await;
    page.expect_status(200)
        .expect_text("API tokens")
        .expect_text("No API tokens yet.");

    let (token, shown) = create(&admin, &csrf, "acme", "grafana").await;
    assert!(token.starts_with("vit_") && token.len() == 68, "not a token: {token}");
    // How to use it, with the real token and the server's address.
    shown
        .expect_text(&format!("promtool query instant http://t:{token}@{} up", server.host()))
        .expect_text(&format!("Authorization: Bearer {token}"))
        .expect_text(&server.base);
    let page_with_token = admin.get("/clients/acme").await;
    assert!(
        new_token(&page_with_token).is_none(),
        "the token is shown a second time"
    );
    // Nowhere in the database, the session store included: only its hash is kept.
    for file in ["vitrine.db", "vitrine.db-wal"] {
        let bytes = std::fs::read(server.data_dir().join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token is stored in {file}"
        );
    }
    let listed = tokens_on_page(&page_with_token.body);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].row.contains("admin@acme.example"), "{}", listed[0].row);
    assert!(listed[0].row.contains("never"), "{}", listed[0].row);
    assert!(!page_with_token.body.contains(&token), "the token is still on the page");

    // The token works with Bearer and as promtool's Basic password; the page shows it was used.
    assert_eq!(query_up(&server, |r| r.bearer_auth(&token)).await, 200);
    assert_eq!(query_up(&server, |r| r.basic_auth("t", Some(&token))).await, 200);
    let used = tokens_on_page(&admin.get("/clients/acme").await.body);
    assert!(!used[0].row.contains("never"), "last use not shown: {}", used[0].row);

    // Without the CSRF token nothing is revoked.
    let id = token_id(&admin, "acme", "grafana").await;
    let revoke = format!("/clients/acme/tokens/{id}/revoke");
    admin.post_form(&revoke, &[("csrf", "wrong")]).await.expect_status(403);
    assert_eq!(query_up(&server, |r| r.bearer_auth(&token)).await, 200);

    let response = admin.post_form(&revoke, &[("csrf", csrf.as_str())]).await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/clients/acme#api-tokens"));
    let page = admin.get("/clients/acme").await;
    page.expect_status(200).expect_text("The token grafana was revoked.");
    let row = &tokens_on_page(&page.body)[0];
    assert!(
        row.row.contains("revoked") && !row.row.contains("/revoke"),
        "{}",
        row.row
    );
    assert_eq!(query_up(&server, |r| r.bearer_auth(&token)).await, 401);
    assert_eq!(query_up(&server, |r| r.basic_auth("t", Some(&token))).await, 401);
    // Revoking again changes nothing.
    admin
        .post_form(&revoke, &[("csrf", csrf.as_str())])
        .await
        .expect_status(303);

    // An empty name is refused beside the field, and no token is made.
    let response = admin
        .post_form("/clients/acme/tokens", &[("name", "  "), ("csrf", csrf.as_str())])
        .await;
    response.expect_status(422).expect_text("This field is required.");
    assert!(new_token(&response).is_none());
    assert_eq!(tokens_on_page(&response.body).len(), 1);
}

#[tokio::test]
async fn agency_people_manage_tokens_and_the_command_line_ones_are_listed() {
    let server = Server::start();
    let out = std::process::Command::new(binary())
        .args(["token", "create", "--client", "globex", "--name", "from-cli"])
        .env("VITRINE_DATA_DIR", server.data_dir())
        .env("VITRINE_LOG", "warn")
        .output()
        .expect("running vitrine token create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let owner = server.login(OWNER).await;
    let csrf = owner.csrf().await;
    let page = owner.get("/clients/globex").await;
    page.expect_status(200);
    let listed = tokens_on_page(&page.body);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].row.contains("command line"), "{}", listed[0].row);

    let (token, _) = create(&owner, &csrf, "globex", "reporting").await;
    assert_eq!(query_up(&server, |r| r.bearer_auth(&token)).await, 200);
    let page = owner.get("/clients/globex").await;
    let created = tokens_on_page(&page.body);
    assert!(
        created
            .iter()
            .any(|t| t.name == "reporting" && t.row.contains("owner@agency.example")),
        "{created:?}"
    );
    // Globex's admin sees the token the agency made for it.
    let globex = server.login(GLOBEX_ADMIN).await;
    token_id(&globex, "globex", "reporting").await;
}

#[tokio::test]
async fn viewers_and_other_clients_never_reach_a_clients_tokens() {
    let server = Server::start();
    let admin = server.login(ACME_ADMIN).await;
    let csrf = admin.csrf().await;
    let (token, _) = create(&admin, &csrf, "acme", "acme-dashboards").await;
    let id = token_id(&admin, "acme", "acme-dashboards").await;

    // A viewer of acme, invited by its admin.
    let link = admin.invite("acme", "viewer@acme.example", "viewer").await;
    let password = "a viewer's long password";
    server
        .client()
        .post_form(&link, &[("password", password), ("password_confirm", password)])
        .await
        .expect_status(303);
    let viewer = server.login(("viewer@acme.example", password)).await;
    let viewer_csrf = viewer.csrf().await;
    let page = viewer.get("/clients/acme").await;
    page.expect_status(200).expect_text("ACME Shop");
    assert!(
        !page.contains("API tokens") && !page.contains("/tokens") && !page.contains("acme-dashboards"),
        "a viewer sees the tokens: {}",
        page.summary()
    );
    viewer
        .post_form(
            "/clients/acme/tokens",
            &[("name", "sneaky"), ("csrf", viewer_csrf.as_str())],
        )
        .await
        .expect_status(403);
    viewer
        .post_form(
            &format!("/clients/acme/tokens/{id}/revoke"),
            &[("csrf", viewer_csrf.as_str())],
        )
        .await
        .expect_status(403);

    // Globex's admin: acme's tokens are not found, under acme's address or under globex's own.
    let globex = server.login(GLOBEX_ADMIN).await;
    let globex_csrf = globex.csrf().await;
    let missing = globex
        .post_form(
            "/clients/globex/tokens/999999999/revoke",
            &[("csrf", globex_csrf.as_str())],
        )
        .await;
    missing.expect_status(404).expect_text("Page not found");
    for path in [
        format!("/clients/globex/tokens/{id}/revoke"),
        format!("/clients/acme/tokens/{id}/revoke"),
        "/clients/globex/tokens/not-a-number/revoke".to_string(),
    ] {
        let response = globex.post_form(&path, &[("csrf", globex_csrf.as_str())]).await;
        response.expect_status(404);
        assert_eq!(response.normalized(), missing.normalized(), "{path}");
    }
    globex
        .post_form(
            "/clients/acme/tokens",
            &[("name", "sneaky"), ("csrf", globex_csrf.as_str())],
        )
        .await
        .expect_status(404);
    let globex_page = globex.get("/clients/globex").await;
    assert!(
        !globex_page.contains("acme-dashboards"),
        "globex lists acme's token: {}",
        globex_page.summary()
    );

    // Acme's token still works and acme still has only its own one token.
    assert_eq!(query_up(&server, |r| r.bearer_auth(&token)).await, 200);
    let listed = tokens_on_page(&admin.get("/clients/acme").await.body);
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["acme-dashboards"]
    );
    assert!(listed[0].row.contains("active"), "{}", listed[0].row);
}

#[tokio::test]
async fn a_token_may_be_made_to_expire_and_says_until_when() {
    let server = Server::start();
    let admin = server.login(ACME_ADMIN).await;
    let csrf = admin.csrf().await;
    let page = admin
        .post_form(
            "/clients/acme/tokens",
            &[("name", "for-a-month"), ("expires_in_days", "30"), ("csrf", &csrf)],
        )
        .await;
    page.expect_status(201).expect_text("The token for-a-month was created");
    let token = new_token(&page).unwrap();
    // The status column says until when ("until 2027-01-05 12:00:00 UTC").
    page.expect_text("until 20");
    assert_eq!(query_up(&server, |r| r.bearer_auth(&token)).await, 200);
    // Only the offered lifetimes.
    admin
        .post_form(
            "/clients/acme/tokens",
            &[
                ("name", "forever-and-a-day"),
                ("expires_in_days", "100000"),
                ("csrf", &csrf),
            ],
        )
        .await
        .expect_status(422)
        .expect_text("Choose one of the options.");
}
