//! The languages of the product: English, German and French, chosen by the browser's
//! `Accept-Language` or by a person's own setting, and a client's language.

use reqwest::Method;
use vitrine_tests::*;

const FRENCH_LOGIN_TITLE: &str = "Connexion";
const FRENCH_LOGIN_INTRO: &str = "Connectez-vous pour voir l'état de vos applications.";
const FRENCH_LOGIN_INVALID: &str = "L'adresse e-mail ou le mot de passe n'est pas correct.";

/// The page as a person reads it: markers removed and entities decoded (French has
/// apostrophes, which may be written as entities).
fn read(response: &Response) -> String {
    unescape(&response.text())
}

#[track_caller]
fn expect_read(response: &Response, needle: &str) {
    assert!(
        read(response).contains(needle),
        "the page lacks {needle:?}:\n{}",
        response.summary()
    );
}

#[tokio::test]
async fn a_french_browser_gets_french_pages() {
    let server = Server::start();
    let browser = server.client();
    let french = browser
        .send(
            browser
                .request(Method::GET, "/login")
                .header("accept-language", "fr-FR,fr;q=0.9"),
        )
        .await;
    french.expect_status(200);
    expect_read(&french, FRENCH_LOGIN_TITLE);
    expect_read(&french, FRENCH_LOGIN_INTRO);
    assert!(french.body.contains(r#"<html lang="fr""#), "{}", french.summary());
    assert!(!french.contains("Log in") && !french.contains("Anmelden"));

    let refused = browser
        .send(
            browser
                .request(Method::POST, "/login")
                .header("accept-language", "fr-FR,fr;q=0.9")
                .form(&[("email", OWNER.0), ("password", "wrong")]),
        )
        .await;
    refused.expect_status(401);
    expect_read(&refused, FRENCH_LOGIN_INVALID);

    // French wins over German when it weighs more, and a region of French is French.
    let swiss = browser
        .send(
            browser
                .request(Method::GET, "/login")
                .header("accept-language", "de;q=0.5, fr-CH"),
        )
        .await;
    expect_read(&swiss, FRENCH_LOGIN_TITLE);
    assert!(swiss.body.contains(r#"<html lang="fr""#));
    // Pages for unknown addresses speak the browser's language too.
    let missing = browser
        .send(
            browser
                .request(Method::GET, "/no-such-page")
                .header("accept-language", "fr"),
        )
        .await;
    missing.expect_status(404);
    expect_read(&missing, "Page introuvable");

    // Without a wish the pages stay English.
    browser.get("/login").await.expect_text("Log in");
}

#[tokio::test]
async fn a_person_chooses_french() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let acme = server.login(ACME_ADMIN).await;
    let token = owner.csrf().await;

    let page = owner.get("/agency").await;
    assert!(
        page.body.contains(r#"<option value="fr""#) && page.contains("Français"),
        "the language menu offers French: {}",
        page.summary()
    );

    let response = owner
        .post_form("/account/language", &[("language", "fr"), ("csrf", &token)])
        .await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/agency"));

    // The setting wins over the browser's wish.
    let page = owner
        .send(owner.request(Method::GET, "/agency").header("accept-language", "en"))
        .await;
    page.expect_status(200);
    expect_read(&page, "Clients de Demo Agency");
    expect_read(&page, "Se déconnecter");
    assert!(page.body.contains(r#"<html lang="fr""#));
    let chosen = tags(&page.body, "option")
        .into_iter()
        .find(|tag| attr(tag, "value").as_deref() == Some("fr"))
        .expect("an option for French");
    assert!(chosen.contains("selected"), "French is shown as chosen: {chosen}");
    // Other pages follow, and only this person's setting changed.
    expect_read(&owner.get("/clients/acme").await, "Les projets de ACME Shop");
    acme.get("/clients/acme").await.expect_text("The projects of ACME Shop");

    // Back to following the browser.
    owner
        .post_form("/account/language", &[("language", ""), ("csrf", &token)])
        .await
        .expect_status(303);
    owner.get("/agency").await.expect_text("Clients of Demo Agency");
}

#[tokio::test]
async fn a_client_can_be_french() {
    let server = Server::start();
    server.cli(&[
        "client",
        "create",
        "--agency",
        "demo",
        "--slug",
        "bistro",
        "--name",
        "Le Bistro",
        "--language",
        "fr",
    ]);

    let owner = server.login(OWNER).await;
    let token = owner.csrf().await;
    let response = owner
        .post_form(
            "/agency/clients",
            &[
                ("name", "La Boulangerie"),
                ("slug", "boulangerie"),
                ("language", "fr"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(response.status, 303, "creating a French client: {}", response.summary());
    let agency = owner.get("/agency").await;
    agency.expect_status(200);
    assert!(agency.contains("Le Bistro") && agency.contains("La Boulangerie"));
    // The form offers French as a client's language.
    assert!(
        tags(&agency.body, "select")
            .iter()
            .any(|tag| attr(tag, "id").as_deref() == Some("client-language"))
    );
    let options = between(&agency.body, r#"id="client-language""#, "</select>").unwrap_or_default();
    assert!(options.contains(r#"value="fr""#), "{options}");

    // Other languages stay refused.
    let response = owner
        .post_form(
            "/agency/clients",
            &[
                ("name", "La Pizzeria"),
                ("slug", "pizzeria"),
                ("language", "it"),
                ("csrf", &token),
            ],
        )
        .await;
    assert!(
        (400..500).contains(&response.status),
        "language=it: {}",
        response.status
    );
}
