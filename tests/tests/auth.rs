//! Logging in and out, sessions, login limits, CSRF, invitations, form
//! errors and the plain HTTP answers (404, 413, health, metrics, language).

use reqwest::Method;
use std::time::Duration;
use vitrine_tests::*;

const INVALID_LOGIN: &str = "The e-mail address or the password is not correct.";
const CSRF_REJECTED: &str = "The form expired";
const INVITE_INVALID: &str = "This invitation link cannot be used";
const NOT_FOUND: &str = "Page not found";
const REQUIRED: &str = "This field is required.";

/// Follows redirects by hand and returns every location on the way and the final response.
async fn follow(client: &Client, path: &str) -> (Vec<String>, Response) {
    let mut hops = vec![];
    let mut response = client.get(path).await;
    while response.status == 303 && hops.len() < 5 {
        let next = response.location().expect("a redirect has a location").to_string();
        hops.push(next.clone());
        response = client.get(&next).await;
    }
    (hops, response)
}

/// The Retry-After header as seconds.
fn retry_after(response: &Response) -> u64 {
    response
        .header("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", response.headers))
        .parse()
        .expect("Retry-After in seconds")
}

#[tokio::test]
async fn login_redirects_to_the_home_of_the_person() {
    let server = Server::start();

    let owner = server.client();
    let response = owner.login(OWNER.0, OWNER.1).await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/"));
    let cookie = response
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("vitrine_session="))
        .expect("login sets the session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "VITRINE_SECURE_COOKIES=false: {cookie}");
    let (hops, home) = follow(&owner, "/").await;
    assert_eq!(hops, ["/agency"]);
    home.expect_status(200).expect_text("Clients of Demo Agency");
    assert!(meta_content(&home.body, "csrf-token").is_some_and(|t| t.len() >= 32));
    assert!(home.contains("ACME Shop") && home.contains("Globex"));

    let acme = server.client();
    acme.login(ACME_ADMIN.0, ACME_ADMIN.1).await.expect_status(303);
    let (hops, home) = follow(&acme, "/").await;
    assert_eq!(hops, ["/clients/acme"]);
    home.expect_status(200).expect_text("ACME Shop");
    assert!(!home.contains("Globex"), "a client person sees only their client");

    // The e-mail address is not case-sensitive.
    server
        .client()
        .login("Admin@ACME.example", ACME_ADMIN.1)
        .await
        .expect_status(303);
}

#[tokio::test]
async fn login_follows_only_local_next_addresses() {
    let server = Server::start();
    let login = |next: &'static str| {
        let client = server.client();
        async move {
            client
                .post_form("/login", &[("email", OWNER.0), ("password", OWNER.1), ("next", next)])
                .await
        }
    };
    let response = login("/clients/globex").await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/clients/globex"));
    for evil in ["//evil.example/x", "https://evil.example/", "/\\evil.example"] {
        let response = login(evil).await;
        response.expect_status(303);
        assert_eq!(response.location(), Some("/"), "next={evil}");
    }

    // The login page keeps `next` from the redirect of an anonymous visitor.
    let anonymous = server.client();
    let response = anonymous.get("/clients/acme").await;
    response.expect_status(303);
    let location = response.location().unwrap().to_string();
    assert_eq!(percent_decode(&location), "/login?next=/clients/acme");
    let page = anonymous.get(&location).await;
    page.expect_status(200);
    assert_eq!(
        tag_attr(&page.body, "input", ("name", "next"), "value").as_deref(),
        Some("/clients/acme")
    );
    let page = anonymous.get("/login?next=//evil.example").await;
    assert_eq!(tag_attr(&page.body, "input", ("name", "next"), "value"), None);
}

#[tokio::test]
async fn the_next_address_is_never_put_into_the_page_as_markup() {
    let server = Server::start();
    let client = server.client();
    let page = client
        .get("/login?next=%2F%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    page.expect_status(200);
    assert!(
        !page.body.contains("<script>alert(1)"),
        "next is put into the page unescaped"
    );
    assert_eq!(
        tag_attr(&page.body, "input", ("name", "next"), "value").as_deref(),
        Some("/\"><script>alert(1)</script>")
    );
}

#[tokio::test]
async fn login_with_a_non_ascii_next_address_still_redirects() {
    // `next` passes the same-site check but is not plain ASCII.
    let server = Server::start();
    let client = server.client();
    let response = client
        .post_form(
            "/login",
            &[("email", OWNER.0), ("password", OWNER.1), ("next", "/clients/müller")],
        )
        .await;
    assert_eq!(
        response.status, 303,
        "login with next=/clients/müller answered {} {:?}",
        response.status, response.body
    );
    let raw = response.headers.get("location").expect("a Location header").as_bytes();
    let location = String::from_utf8_lossy(raw);
    assert!(
        location == "/" || percent_decode(&location) == "/clients/müller",
        "Location {location:?}"
    );
}

#[tokio::test]
async fn failed_logins_get_one_generic_answer() {
    let server = Server::start();
    let wrong_password = server.client().login(OWNER.0, "not-the-password").await;
    let unknown_email = server.client().login("nobody@agency.example", OWNER.1).await;
    for response in [&wrong_password, &unknown_email] {
        response.expect_status(401).expect_text(INVALID_LOGIN);
        assert_eq!(
            response.set_cookies(),
            Vec::<String>::new(),
            "a failed login sets no cookie"
        );
        assert!(
            !response.body.contains("password\" value="),
            "the password is never echoed"
        );
    }
    // The echoed address is kept in the form, otherwise the pages are the same.
    assert_eq!(
        input_value_by_id(&wrong_password.body, "login-email").as_deref(),
        Some(OWNER.0)
    );
    assert_eq!(
        wrong_password.normalized().replace(OWNER.0, "EMAIL"),
        unknown_email.normalized().replace("nobody@agency.example", "EMAIL"),
        "the answers tell apart a wrong password and an unknown address"
    );
    // An empty form is a failed login too, not an error.
    server
        .client()
        .post_form("/login", &[])
        .await
        .expect_status(401)
        .expect_text(INVALID_LOGIN);
}

#[tokio::test]
async fn anonymous_visitors_get_no_cookie() {
    let server = Server::start();
    let client = server.client();
    for path in [
        "/login",
        "/",
        "/health/live",
        "/health/ready",
        "/no-such-page",
        "/login?next=/agency",
    ] {
        let response = client.get(path).await;
        assert_eq!(
            response.set_cookies(),
            Vec::<String>::new(),
            "GET {path} ({}) set a cookie",
            response.status
        );
    }
    let response = client.get("/clients/acme").await;
    response.expect_status(303);
    assert_eq!(response.set_cookies(), Vec::<String>::new());
    assert_eq!(client.session_cookie(), None);
}

#[tokio::test]
async fn login_gives_a_new_session_id() {
    let server = Server::start();

    // A made-up cookie is not adopted.
    let victim = server.client();
    victim.set_session_cookie("forged-session-id");
    let response = victim.login(OWNER.0, OWNER.1).await;
    response.expect_status(303);
    let issued = response.session_cookie().expect("login sets the session cookie");
    assert_ne!(issued, "forged-session-id");
    assert!(!issued.contains("forged-session-id"));

    // A real session cookie planted before login (session fixation): the
    // victim gets a new id, and the planted one does not become the victim's session.
    let attacker = server.login(ACME_ADMIN).await;
    let planted = attacker.session_cookie().unwrap();
    let victim = server.client();
    victim.set_session_cookie(&planted);
    let response = victim.login(OWNER.0, OWNER.1).await;
    response.expect_status(303);
    let issued = response.session_cookie().expect("login sets the session cookie");
    assert_ne!(issued, planted, "the session id did not change at login");
    victim.get("/agency").await.expect_status(200);
    let stale = attacker.get("/agency").await;
    assert_ne!(stale.status, 200, "the planted cookie opens the victim's pages");
    assert!(!stale.contains("Clients of Demo Agency"));

    // Signing in again in the same browser also changes the id.
    let before = victim.session_cookie().unwrap();
    let response = victim.login(GLOBEX_ADMIN.0, GLOBEX_ADMIN.1).await;
    response.expect_status(303);
    assert_ne!(response.session_cookie().expect("a new cookie"), before);
    let (hops, _) = follow(&victim, "/").await;
    assert_eq!(hops, ["/clients/globex"]);
}

#[tokio::test]
async fn an_idle_session_ends() {
    let server = Server::start_with(&[("VITRINE_SESSION_IDLE_SECS", "2")]);
    let person = server.login(ACME_ADMIN).await;
    let cookie = person.session_cookie().unwrap();
    person.get("/clients/acme").await.expect_status(200);
    tokio::time::sleep(Duration::from_millis(3200)).await;
    // The browser would drop the cookie itself; a kept copy must not work either.
    let keeper = server.client();
    keeper.set_session_cookie(&cookie);
    let response = keeper.get("/clients/acme").await;
    response.expect_status(303);
    assert!(response.location().unwrap().starts_with("/login"));
}

/// Whether `client`'s session still opens acme's page (or is sent to the login).
async fn signed_in(client: &Client) -> bool {
    let response = client.get("/clients/acme").await;
    match response.status {
        200 => true,
        303 if response.location().is_some_and(|to| to.starts_with("/login")) => false,
        _ => panic!("neither the page nor the login: {}", response.summary()),
    }
}

#[tokio::test]
async fn a_session_ends_at_its_maximum_lifetime_however_busy() {
    let server = Server::start_with(&[("VITRINE_SESSION_MAX_SECS", "3")]);
    let person = server.login(ACME_ADMIN).await;
    // A request every half second: never idle, and still over after three seconds.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert!(signed_in(&person).await, "ended before its lifetime");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!signed_in(&person).await, "still signed in after the maximum lifetime");
    // Signing in again starts a new lifetime.
    assert!(signed_in(&server.login(ACME_ADMIN).await).await);
}

#[tokio::test]
async fn signing_out_everywhere_ends_the_sessions_on_every_device() {
    let server = Server::start();
    let laptop = server.login(ACME_ADMIN).await;
    let phone = server.login(ACME_ADMIN).await;
    let colleague = server.login(OWNER).await;
    let page = laptop.get("/account").await;
    page.expect_status(200).expect_text("Sign out everywhere");
    let csrf = laptop.csrf().await;
    let response = laptop
        .post_form("/account/sign-out-everywhere", &[("csrf", &csrf)])
        .await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/login?notice=signed-out-everywhere"));
    laptop
        .get("/login?notice=signed-out-everywhere")
        .await
        .expect_text("You are signed out on every device and browser.");
    assert!(!signed_in(&laptop).await && !signed_in(&phone).await);
    // Another person's sessions are theirs.
    assert!(signed_in(&colleague).await);
    assert!(signed_in(&server.login(ACME_ADMIN).await).await);
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_keeps_this_one() {
    let server = Server::start();
    let (email, old) = ACME_ADMIN;
    let laptop = server.login(ACME_ADMIN).await;
    let phone = server.login(ACME_ADMIN).await;
    let new = "a brand new long password";
    let change = |current: &'static str, password: &'static str, confirm: &'static str| {
        let laptop = &laptop;
        async move {
            let csrf = laptop.csrf().await;
            laptop
                .post_form(
                    "/account/password",
                    &[
                        ("password_current", current),
                        ("password", password),
                        ("password_confirm", confirm),
                        ("csrf", &csrf),
                    ],
                )
                .await
        }
    };
    let response = change("not my password", new, new).await;
    response
        .expect_status(422)
        .expect_text("This is not your current password.");
    assert!(!response.contains(new), "a typed password is put back into the page");
    change(old, "short", "short")
        .await
        .expect_status(422)
        .expect_text("The password needs at least 12 characters.");
    change(old, new, "a different long password")
        .await
        .expect_status(422)
        .expect_text("The two passwords differ.");
    // Nothing changed so far.
    assert!(signed_in(&phone).await);
    server.client().login(email, old).await.expect_status(303);

    let response = change(old, new, new).await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/account?notice=password-changed"));
    laptop
        .get("/account?notice=password-changed")
        .await
        .expect_text("Your password is changed.");
    assert!(signed_in(&laptop).await, "the session that changed the password ended");
    assert!(!signed_in(&phone).await, "another session outlived the password change");
    server.client().login(email, old).await.expect_status(401);
    server.login((email, new)).await;
}

#[tokio::test]
async fn wrong_current_passwords_count_like_failed_logins() {
    let server = Server::start_with(&[("VITRINE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "2")]);
    let person = server.login(ACME_ADMIN).await;
    let csrf = person.csrf().await;
    let form = [
        ("password_current", "a wrong guess"),
        ("password", "a brand new long password"),
        ("password_confirm", "a brand new long password"),
        ("csrf", csrf.as_str()),
    ];
    person.post_form("/account/password", &form).await.expect_status(422);
    person.post_form("/account/password", &form).await.expect_status(422);
    person
        .post_form("/account/password", &form)
        .await
        .expect_status(429)
        .expect_text("Too many wrong passwords.");
}

#[tokio::test]
async fn responses_carry_the_protective_headers() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let anonymous = server.client();
    let responses = [
        ("GET /login", anonymous.get("/login").await),
        ("GET /no-such-page", anonymous.get("/no-such-page").await),
        ("GET /agency", owner.get("/agency").await),
        ("GET /clients/acme", owner.get("/clients/acme").await),
        ("POST /login (wrong)", anonymous.login(OWNER.0, "wrong").await),
    ];
    for (what, response) in &responses {
        for (header, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(response.header(header), Some(value), "{what}: {header}");
        }
        assert!(
            response
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{what}"
        );
        let policy = response.header("content-security-policy").unwrap_or_default();
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval' 'nonce-",
            "style-src 'self';",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(directive), "{what}: {directive} missing in {policy:?}");
        }
        // The nonce in the policy is the one on the page's inline loader, and only there.
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|n| n.split('\'').next())
            .unwrap();
        assert!(
            response.contains(&format!("nonce=\"{nonce}\"")),
            "{what}: the loader has no nonce"
        );
        assert!(!response.text().contains(" style=\""), "{what}: an inline style");
        assert_eq!(
            response.header("strict-transport-security"),
            None,
            "{what}: HSTS over plain HTTP"
        );
    }
    let first = responses[0].1.header("content-security-policy");
    assert_ne!(
        first,
        responses[1].1.header("content-security-policy"),
        "a nonce used twice"
    );
}

#[tokio::test]
async fn session_cookie_is_secure_when_configured() {
    let server = Server::start_with(&[("VITRINE_SECURE_COOKIES", "true")]);
    let response = server.client().login(OWNER.0, OWNER.1).await;
    response.expect_status(303);
    let cookie = response
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("vitrine_session="))
        .expect("login sets the session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(response.header("strict-transport-security"), Some("max-age=31536000"));
}

#[tokio::test]
async fn an_account_is_locked_after_its_failures() {
    let server = Server::start_with(&[("VITRINE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")]);
    let client = server.client();
    for attempt in 1..=3 {
        let response = client.login(OWNER.0, "wrong password").await;
        assert_eq!(response.status, 401, "attempt {attempt}");
    }
    // Even the right password is refused now, also when spelled in capitals.
    for email in [OWNER.0, "OWNER@Agency.Example"] {
        let response = server.client().login(email, OWNER.1).await;
        response.expect_status(429);
        let wait = retry_after(&response);
        assert!((1..=900).contains(&wait), "Retry-After {wait}");
        let text = response.text();
        let shown = format!("Too many failed attempts. Try again in {wait} s.");
        let shown_earlier = format!("Too many failed attempts. Try again in {} s.", wait + 1);
        assert!(text.contains(&shown) || text.contains(&shown_earlier), "{text}");
        assert_eq!(response.set_cookies(), Vec::<String>::new());
    }
    // Another account is not affected.
    let other = server.client();
    other.login(ACME_ADMIN.0, ACME_ADMIN.1).await.expect_status(303);
    other.get("/clients/acme").await.expect_status(200);
}

#[tokio::test]
async fn an_address_is_locked_after_its_failures_across_accounts() {
    let window = 4;
    let server = Server::start_with(&[
        ("VITRINE_LOGIN_MAX_FAILURES_PER_IP", "3"),
        ("VITRINE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "100"),
        ("VITRINE_LOGIN_WINDOW_SECS", "4"),
    ]);
    let client = server.client();
    for email in ["a@acme.example", ACME_ADMIN.0, "c@globex.example"] {
        client.login(email, "wrong password").await.expect_status(401);
    }
    let response = client.login(OWNER.0, OWNER.1).await;
    response.expect_status(429).expect_text("Too many failed attempts.");
    let wait = retry_after(&response);
    assert!(
        (1..=window).contains(&wait),
        "Retry-After {wait} with a window of {window} s"
    );
    server
        .client()
        .login(GLOBEX_ADMIN.0, GLOBEX_ADMIN.1)
        .await
        .expect_status(429);

    // After the announced time the address may try again.
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    client.login(OWNER.0, OWNER.1).await.expect_status(303);
}

/// A parallel burst gets no more guesses than slow ones: each attempt is counted before its
/// password is checked.
#[tokio::test]
async fn fifty_parallel_wrong_logins_get_five_guesses() {
    let server = Server::start();
    let client = server.client();
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = client.clone();
        attempts.spawn(async move { client.login(OWNER.0, "wrong password").await.status });
    }
    let statuses = attempts.join_all().await;
    let guessed = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    // Three at once, then each must wait longer (a slow machine may let one or two more in);
    // never more than the limit of five.
    assert!((3..=5).contains(&guessed), "{guessed} guesses: {statuses:?}");
    assert_eq!(guessed + refused, 50, "{statuses:?}");
}

/// Logging in from the address a trusted proxy names in X-Forwarded-For.
async fn login_from(client: &Client, forwarded_for: &str, (email, password): (&str, &str)) -> u16 {
    let request = client
        .request(Method::POST, "/login")
        .header("x-forwarded-for", forwarded_for)
        .form(&[("email", email), ("password", password)]);
    client.send(request).await.status
}

/// Behind a proxy each person has their own address: a guesser locks the account only for
/// itself. From a peer that is not a trusted proxy the header changes nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_a_guesser_locks_only_itself_out() {
    let limits = [("VITRINE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "2")];
    let proxied = Server::start_with(&[limits[0], ("VITRINE_TRUSTED_PROXIES", "127.0.0.1")]);
    let client = proxied.client();
    let wrong = (OWNER.0, "wrong password");
    for _ in 0..2 {
        assert_eq!(login_from(&client, "203.0.113.1", wrong).await, 401);
    }
    assert_eq!(login_from(&client, "203.0.113.1", OWNER).await, 429);
    assert_eq!(login_from(&proxied.client(), "203.0.113.2", OWNER).await, 303);

    let direct = Server::start_with(&limits);
    let client = direct.client();
    assert_eq!(login_from(&client, "203.0.113.1", wrong).await, 401);
    assert_eq!(login_from(&client, "203.0.113.2", wrong).await, 401);
    assert_eq!(login_from(&direct.client(), "203.0.113.3", OWNER).await, 429);
}

/// The code an authenticator app shows for the base32 `key` now (RFC 6238, SHA-1, six digits).
fn code_now(key: &str) -> String {
    use hmac::Mac;
    let mut bits = 0u64;
    let mut count = 0;
    let mut secret = Vec::new();
    for c in key.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {key}"),
        };
        bits = (bits << 5) | u64::from(value);
        count += 5;
        if count >= 8 {
            count -= 8;
            secret.push((bits >> count) as u8);
        }
    }
    let step = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30;
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&secret).unwrap();
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

/// An agency person with a second factor signs in with the password and then the code of
/// their app; a wrong code, or the same code twice, does not sign in.
#[tokio::test]
async fn agency_people_can_sign_in_with_a_code_as_well() {
    let server = Server::start();
    let out = server.cli(&["user", "two-factor", "--email", OWNER.0]);
    let key = out
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .unwrap_or_else(|| panic!("no key printed: {out}"))
        .to_string();
    assert!(
        out.contains("otpauth://totp/Vitrine:owner%40agency.example?secret="),
        "{out}"
    );

    let client = server.client();
    let asked = client.login(OWNER.0, OWNER.1).await;
    asked.expect_status(200).expect_text("six-digit code");
    assert!(asked.contains("autocomplete=\"one-time-code\""), "{}", asked.summary());
    client.get("/agency").await.expect_status(303);
    let wrong = if code_now(&key) == "000000" { "111111" } else { "000000" };
    client
        .post_form("/login", &[("code", wrong)])
        .await
        .expect_status(401)
        .expect_text("This code is not correct");
    let code = code_now(&key);
    client.post_form("/login", &[("code", &code)]).await.expect_status(303);
    client.get("/agency").await.expect_status(200);

    // The same code once more, after the password again: refused.
    let again = server.client();
    again.login(OWNER.0, OWNER.1).await.expect_status(200);
    again.post_form("/login", &[("code", &code)]).await.expect_status(401);
    // A code without the password step first signs in nobody.
    server
        .client()
        .post_form("/login", &[("code", &code)])
        .await
        .expect_status(401);
    // Switched off, the password is enough again.
    server.cli(&["user", "two-factor", "--email", OWNER.0, "--off"]);
    server.client().login(OWNER.0, OWNER.1).await.expect_status(303);
}

/// Anyone (here a client's admin) switches the sign-in code on from their account page:
/// the new key is shown as a QR code and as text and counts only once the app's first
/// code is right; then the login asks for a code, and a current code switches it off.
#[tokio::test]
async fn the_sign_in_code_is_switched_on_and_off_on_the_account_page() {
    let server = Server::start();
    let person = server.login(ACME_ADMIN).await;
    let csrf = person.csrf().await;
    person
        .get("/account")
        .await
        .expect_status(200)
        .expect_text("You sign in with your password alone");
    let made = person.post_form("/account/two-factor", &[("csrf", &csrf)]).await;
    made.expect_status(303);
    assert_eq!(made.location(), Some("/account#two-factor"));
    let page = person.get("/account").await;
    page.expect_status(200).expect_text("scan this code");
    assert!(
        page.body.contains("<svg") && page.body.contains("role=\"img\""),
        "no QR code"
    );
    let key: String = page
        .body
        .split("<code class=\"secret-key\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap_or_else(|| panic!("no key on the page: {}", page.summary()))
        .split_whitespace()
        .collect();
    assert_eq!(key.len(), 32, "160 bits in base32: {key}");

    // A wrong first code switches nothing on: the password alone still signs in.
    let wrong = if code_now(&key) == "000000" { "111111" } else { "000000" };
    person
        .post_form("/account/two-factor/confirm", &[("csrf", &csrf), ("code", wrong)])
        .await
        .expect_status(422)
        .expect_text("This code is not correct");
    server
        .client()
        .login(ACME_ADMIN.0, ACME_ADMIN.1)
        .await
        .expect_status(303);

    let code = code_now(&key);
    let confirmed = person
        .post_form("/account/two-factor/confirm", &[("csrf", &csrf), ("code", &code)])
        .await;
    confirmed.expect_status(303);
    assert_eq!(confirmed.location(), Some("/account?notice=two-factor-on"));
    person
        .get("/account?notice=two-factor-on")
        .await
        .expect_text("from now on Vitrine asks for a code");
    let other = server.client();
    other
        .login(ACME_ADMIN.0, ACME_ADMIN.1)
        .await
        .expect_status(200)
        .expect_text("six-digit code");
    // The code that confirmed the key is used up.
    other.post_form("/login", &[("code", &code)]).await.expect_status(401);

    // Switching off needs a current code; the confirming one does not count again.
    person
        .post_form("/account/two-factor/off", &[("csrf", &csrf), ("code", &code)])
        .await
        .expect_status(422);
    let mut next = code_now(&key);
    while next == code {
        tokio::time::sleep(Duration::from_secs(1)).await;
        next = code_now(&key);
    }
    let off = person
        .post_form("/account/two-factor/off", &[("csrf", &csrf), ("code", &next)])
        .await;
    off.expect_status(303);
    assert_eq!(off.location(), Some("/account?notice=two-factor-off"));
    server
        .client()
        .login(ACME_ADMIN.0, ACME_ADMIN.1)
        .await
        .expect_status(303);
}

#[tokio::test]
async fn signed_in_forms_need_the_session_token() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let token = owner.csrf().await;
    let other_token = server.login(ACME_ADMIN).await.csrf().await;
    assert_ne!(token, other_token, "every session has its own token");

    let attempts: [(&str, Vec<(&str, &str)>); 4] = [
        ("without a token", vec![]),
        ("with a wrong token", vec![("csrf", "0000")]),
        ("with an empty token", vec![("csrf", "")]),
        ("with another session's token", vec![("csrf", other_token.as_str())]),
    ];
    for (i, (how, token_field)) in attempts.iter().enumerate() {
        let slug = format!("forged-{i}");
        let mut fields = vec![("name", "Forged Ltd"), ("slug", slug.as_str()), ("language", "en")];
        fields.extend(token_field.iter().copied());
        let response = owner.post_form("/agency/clients", &fields).await;
        assert_eq!(response.status, 403, "POST {how}: {}", response.summary());
        response.expect_text(CSRF_REJECTED);
    }
    let response = owner
        .post_form(
            "/clients/acme/projects",
            &[("name", "Forged"), ("slug", "forged"), ("csrf", "nope")],
        )
        .await;
    response.expect_status(403).expect_text(CSRF_REJECTED);
    let response = owner.post_form("/logout", &[]).await;
    response.expect_status(403);

    // Nothing was created and the session still works.
    let agency = owner.get("/agency").await;
    agency.expect_status(200);
    assert!(
        !agency.contains("Forged"),
        "a form without the right token was carried out"
    );
    assert!(!owner.get("/clients/acme").await.contains("forged"));

    // With the token the same form works.
    let response = owner
        .post_form(
            "/agency/clients",
            &[
                ("name", "Forged Ltd"),
                ("slug", "forged-ok"),
                ("language", "en"),
                ("csrf", &token),
            ],
        )
        .await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/clients/forged-ok"));
    owner
        .get("/clients/forged-ok")
        .await
        .expect_status(200)
        .expect_text("Forged Ltd");
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_anything_else() {
    let server = Server::start();

    // The login form: refused even with the right password, and no session is made.
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "http://evil.example"),
        ("origin", "null"),
    ] {
        let client = server.client();
        let request = client
            .request(Method::POST, "/login")
            .header(header, value)
            .form(&[("email", OWNER.0), ("password", OWNER.1)]);
        let response = client.send(request).await;
        assert_eq!(response.status, 403, "{header}: {value}");
        response.expect_text(CSRF_REJECTED);
        assert_eq!(response.set_cookies(), Vec::<String>::new());
    }

    // A signed-in form with a valid token but sent from another site.
    let owner = server.login(OWNER).await;
    let token = owner.csrf().await;
    let create = |header: &'static str, value: String, slug: &'static str| {
        owner
            .request(Method::POST, "/agency/clients")
            .header(header, value)
            .form(&[
                ("name", slug),
                ("slug", slug),
                ("language", "en"),
                ("csrf", token.as_str()),
            ])
    };
    let response = owner
        .send(create("sec-fetch-site", "cross-site".into(), "cross-one"))
        .await;
    response.expect_status(403).expect_text(CSRF_REJECTED);
    let response = owner
        .send(create("origin", "http://evil.example".into(), "cross-two"))
        .await;
    response.expect_status(403).expect_text(CSRF_REJECTED);
    let agency = owner.get("/agency").await;
    assert!(!agency.contains("cross-one") && !agency.contains("cross-two"));
    owner.get("/clients/cross-one").await.expect_status(404);

    // The same requests from our own pages pass.
    let response = owner
        .send(create("sec-fetch-site", "same-origin".into(), "same-one"))
        .await;
    response.expect_status(303);
    let response = owner.send(create("origin", server.base.clone(), "same-two")).await;
    response.expect_status(303);
    owner.get("/clients/same-two").await.expect_status(200);
}

/// Creates an invitation to acme as the owner and returns the link's path from the answer;
/// the link is in no log and not on the page after it.
async fn invite(server: &Server, email: &str) -> String {
    let owner = server.login(OWNER).await;
    let path = owner.invite("acme", email, "viewer").await;
    let token = path.strip_prefix("/invite/").unwrap_or_default();
    assert_eq!(token.len(), 64, "{path}");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{path}");
    assert!(server.log_contains("invitation created") && !server.log_contains(token));
    let again = owner.get("/clients/acme").await;
    again.expect_status(200);
    assert!(!again.contains(token), "the link is shown twice: {}", again.summary());
    path
}

#[tokio::test]
async fn an_invitation_link_works_once() {
    let server = Server::start();
    let path = invite(&server, "new@acme.example").await;
    let password = "a new long password";

    let guest = server.client();
    let page = guest.get(&path).await;
    page.expect_status(200)
        .expect_text("Set your password")
        .expect_text("new@acme.example")
        .expect_text("ACME Shop");

    let response = guest
        .post_form(&path, &[("password", password), ("password_confirm", password)])
        .await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/login?notice=password-set"));
    guest
        .get("/login?notice=password-set")
        .await
        .expect_text("Your password is set. You can log in now.");

    // The new person signs in and sees acme, and only acme.
    let person = server.login(("new@acme.example", password)).await;
    let (hops, home) = follow(&person, "/").await;
    assert_eq!(hops, ["/clients/acme"]);
    home.expect_status(200)
        .expect_text("ACME Shop")
        .expect_text("Online shop");
    person.get("/clients/globex").await.expect_status(404);
    // Invited as a viewer: may not invite others.
    let token = person.csrf().await;
    let response = person
        .post_form(
            "/clients/acme/invites",
            &[("email", "third@acme.example"), ("role", "admin"), ("csrf", &token)],
        )
        .await;
    response.expect_status(403);

    // The link is used up: GET and POST.
    let again = server.client();
    again.get(&path).await.expect_status(404).expect_text(INVITE_INVALID);
    let other = "another password!";
    let response = again
        .post_form(&path, &[("password", other), ("password_confirm", other)])
        .await;
    response.expect_status(404).expect_text(INVITE_INVALID);
    server
        .client()
        .login("new@acme.example", other)
        .await
        .expect_status(401);
    server.login(("new@acme.example", password)).await;
}

#[tokio::test]
async fn problems_with_the_new_password_are_shown_and_keep_the_link() {
    let server = Server::start();
    let path = invite(&server, "new@acme.example").await;
    let password = "a new long password";
    let guest = server.client();

    let response = guest
        .post_form(&path, &[("password", "short"), ("password_confirm", "short")])
        .await;
    response
        .expect_status(422)
        .expect_text("The password needs at least 12 characters.");
    let response = guest
        .post_form(&path, &[("password", password), ("password_confirm", "something else")])
        .await;
    response.expect_status(422).expect_text("The two passwords differ.");
    assert!(
        !response.body.contains(password),
        "the password is echoed into the page"
    );
    let response = guest.post_form(&path, &[("password", password)]).await;
    response.expect_status(422);

    // None of that used the link up.
    guest.get(&path).await.expect_status(200);
    let response = guest
        .post_form(&path, &[("password", password), ("password_confirm", password)])
        .await;
    response.expect_status(303);
    server.login(("new@acme.example", password)).await;
}

#[tokio::test]
async fn an_invitation_link_expires() {
    let server = Server::start_with(&[("VITRINE_INVITE_TTL_SECS", "1")]);
    let path = invite(&server, "late@acme.example").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let guest = server.client();
    guest.get(&path).await.expect_status(404).expect_text(INVITE_INVALID);
    let password = "a new long password";
    guest
        .post_form(&path, &[("password", password), ("password_confirm", password)])
        .await
        .expect_status(404)
        .expect_text(INVITE_INVALID);
    server
        .client()
        .login("late@acme.example", password)
        .await
        .expect_status(401);
}

#[tokio::test]
async fn an_unknown_invitation_link_is_refused() {
    let server = Server::start();
    let client = server.client();
    for token in ["0".repeat(64), "nonsense".to_string()] {
        let path = format!("/invite/{token}");
        client.get(&path).await.expect_status(404).expect_text(INVITE_INVALID);
        let password = "a new long password";
        client
            .post_form(&path, &[("password", password), ("password_confirm", password)])
            .await
            .expect_status(404)
            .expect_text(INVITE_INVALID);
    }
}

#[tokio::test]
async fn logout_ends_the_session() {
    let server = Server::start();
    let person = server.login(ACME_ADMIN).await;
    person.get("/clients/acme").await.expect_status(200);
    let cookie = person.session_cookie().unwrap();
    let token = person.csrf().await;

    let response = person.post_form("/logout", &[("csrf", &token)]).await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/login?notice=logged-out"));
    person
        .get("/login?notice=logged-out")
        .await
        .expect_status(200)
        .expect_text("You are logged out.");
    let response = person.get("/clients/acme").await;
    response.expect_status(303);
    assert!(response.location().unwrap().starts_with("/login"));

    // The old cookie, kept by someone, opens nothing either.
    let thief = server.client();
    thief.set_session_cookie(&cookie);
    let response = thief.get("/clients/acme").await;
    response.expect_status(303);
    assert!(response.location().unwrap().starts_with("/login"));
    let response = thief
        .post_form(
            "/clients/acme/invites",
            &[("email", "x@acme.example"), ("csrf", &token)],
        )
        .await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/login"));
    assert!(!server.log_contains("invitation created"));
}

#[tokio::test]
async fn form_problems_are_shown_beside_the_fields_and_keep_what_was_typed() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let token = owner.csrf().await;
    let create = |name: &'static str, slug: &'static str| {
        let owner = owner.clone();
        let token = token.clone();
        async move {
            owner
                .post_form(
                    "/agency/clients",
                    &[("name", name), ("slug", slug), ("language", "de"), ("csrf", &token)],
                )
                .await
        }
    };

    let response = create("Neue Firma", "").await;
    response
        .expect_status(422)
        .expect_text(REQUIRED)
        .expect_text("Please correct the marked fields.");
    assert_eq!(
        input_value_by_id(&response.body, "client-name").as_deref(),
        Some("Neue Firma")
    );
    assert!(
        response.body.contains(r#"<option value="de" selected"#),
        "the language is kept"
    );

    let response = create("Neue Firma", "Neue Firma!").await;
    response
        .expect_status(422)
        .expect_text("Use 2 to 40 lowercase letters, digits and dashes, starting with a letter.");
    assert_eq!(
        input_value_by_id(&response.body, "client-name").as_deref(),
        Some("Neue Firma")
    );
    assert_eq!(
        input_value_by_id(&response.body, "client-slug").as_deref(),
        Some("Neue Firma!")
    );

    let response = create("Neue Firma", "acme").await;
    response.expect_status(422).expect_text("This name is already in use.");

    // What was typed is shown as text, never as markup.
    let response = create("<script>alert(1)</script>", "-").await;
    response.expect_status(422);
    assert!(
        !response.body.contains("<script>alert(1)"),
        "the name is put into the page unescaped"
    );
    assert_eq!(
        input_value_by_id(&response.body, "client-name").as_deref(),
        Some("<script>alert(1)</script>")
    );

    let agency = owner.get("/agency").await;
    assert!(!agency.contains("Neue Firma"), "a refused form created a client");

    // The same on the client page.
    let response = owner
        .post_form(
            "/clients/acme/projects",
            &[("name", "Webshop 2"), ("slug", ""), ("csrf", &token)],
        )
        .await;
    response.expect_status(422).expect_text(REQUIRED);
    assert_eq!(
        input_value_by_id(&response.body, "project-name").as_deref(),
        Some("Webshop 2")
    );
    let response = owner
        .post_form(
            "/clients/acme/invites",
            &[("email", "not-an-address"), ("csrf", &token)],
        )
        .await;
    response
        .expect_status(422)
        .expect_text("This is not a valid e-mail address.");
    assert_eq!(
        input_value_by_id(&response.body, "invite-email").as_deref(),
        Some("not-an-address")
    );
    let response = owner
        .post_form("/clients/acme/invites", &[("email", ACME_ADMIN.0), ("csrf", &token)])
        .await;
    response.expect_status(422).expect_text("This name is already in use.");
    assert!(!server.log_contains("invitation created"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let server = Server::start_with(&[("VITRINE_MAX_BODY_BYTES", "2048")]);
    let padding = "a".repeat(4096);

    let client = server.client();
    let body = format!("email={}&password={}&pad={padding}", OWNER.0, OWNER.1);
    let response = client.post_raw("/login", body).await;
    response.expect_status(413).expect_text("Too much data");
    assert_eq!(response.set_cookies(), Vec::<String>::new());

    let owner = server.login(OWNER).await;
    let token = owner.csrf().await;
    let response = owner
        .post_form(
            "/agency/clients",
            &[("name", padding.as_str()), ("slug", "big"), ("csrf", token.as_str())],
        )
        .await;
    response.expect_status(413);
    owner.get("/clients/big").await.expect_status(404);

    // A body under the limit is fine.
    let response = owner
        .post_form(
            "/agency/clients",
            &[("name", "Small"), ("slug", "small"), ("csrf", &token)],
        )
        .await;
    response.expect_status(303);
}

#[tokio::test]
async fn a_malformed_form_body_counts_as_empty_fields() {
    let server = Server::start();
    let path = invite(&server, "odd@acme.example").await;
    let guest = server.client();
    let response = guest.post_raw(&path, "%%%").await;
    response.expect_status(422).expect_text(REQUIRED);
    let response = guest.post_raw(&path, vec![0xffu8, 0xfe, b'=', 0x80]).await;
    response.expect_status(422).expect_text(REQUIRED);
    guest.get(&path).await.expect_status(200);

    let owner = server.login(OWNER).await;
    let token = owner.csrf().await;
    let response = owner.post_raw("/agency/clients", format!("csrf={token}&%%%")).await;
    response.expect_status(422).expect_text(REQUIRED);

    let response = server.client().post_raw("/login", "%%%").await;
    response.expect_status(401).expect_text(INVALID_LOGIN);
}

#[tokio::test]
async fn an_unknown_address_gives_the_not_found_page() {
    let server = Server::start();
    let client = server.client();
    for path in [
        "/no-such-page",
        "/clients",
        "/agency/unknown",
        "/pkg/vitrine.css",
        "/..%2f..%2fetc/passwd",
    ] {
        let response = client.get(path).await;
        assert_eq!(response.status, 404, "GET {path}");
        response.expect_text(NOT_FOUND);
        assert!(
            response
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "GET {path}: {:?}",
            response.header("content-type")
        );
    }
    // Also for a signed-in person.
    let owner = server.login(OWNER).await;
    owner
        .get("/no-such-page")
        .await
        .expect_status(404)
        .expect_text(NOT_FOUND);
}

#[tokio::test]
async fn a_post_to_an_unknown_address_gives_the_not_found_page() {
    let server = Server::start();
    let response = server.client().post_form("/no-such-page", &[("a", "b")]).await;
    assert_eq!(
        response.status,
        404,
        "POST to an unknown address: {} (allow: {:?}) {:?}",
        response.status,
        response.header("allow"),
        response.body
    );
    response.expect_text(NOT_FOUND);
}

#[tokio::test]
async fn health_and_metrics() {
    let server = Server::start();
    let client = server.client();
    for path in ["/health/live", "/health/ready"] {
        let response = client.get(path).await;
        response.expect_status(200);
        assert_eq!(response.body.trim(), "ok", "{path}");
    }
    client.get("/login").await.expect_status(200);
    client.get("/no-such-page-42").await.expect_status(404);
    let acme = server.login(ACME_ADMIN).await;
    acme.get("/clients/acme").await.expect_status(200);
    acme.get("/clients/globex").await.expect_status(404);

    let response = client.get("/metrics").await;
    response.expect_status(200);
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        response.header("content-type")
    );
    let text = &response.body;
    for expected in [
        "# TYPE vitrine_http_requests_total counter",
        "# TYPE vitrine_http_request_duration_seconds histogram",
        r#"vitrine_http_requests_total{route="/login",method="GET",status="200"} 1"#,
        r#"vitrine_http_requests_total{route="/login",method="POST",status="303"} 1"#,
        r#"vitrine_http_requests_total{route="/health/live",method="GET",status="200"} 1"#,
        r#"vitrine_http_requests_total{route="/clients/{client}",method="GET",status="200"} 1"#,
        r#"vitrine_http_requests_total{route="/clients/{client}",method="GET",status="404"} 1"#,
        r#"vitrine_http_request_duration_seconds_bucket{route="/login",method="GET",status="200",le="+Inf"} 1"#,
        r#"vitrine_http_request_duration_seconds_count{route="/login",method="GET",status="200"} 1"#,
    ] {
        assert!(text.contains(expected), "/metrics lacks {expected}:\n{text}");
    }
    // Series by route pattern, never by raw address.
    for raw in ["/clients/acme", "/clients/globex", "/no-such-page-42"] {
        assert!(
            !text.contains(&format!("route=\"{raw}\"")),
            "/metrics has a series for {raw}:\n{text}"
        );
    }
}

#[tokio::test]
async fn the_language_follows_the_browser() {
    let server = Server::start();
    let client = server.client();
    let german = client
        .send(
            client
                .request(Method::GET, "/login")
                .header("accept-language", "de-DE,de;q=0.9,en;q=0.5"),
        )
        .await;
    german.expect_status(200).expect_text("Anmelden");
    assert!(german.body.contains(r#"<html lang="de""#));
    let response = client
        .send(
            client
                .request(Method::POST, "/login")
                .header("accept-language", "de")
                .form(&[("email", OWNER.0), ("password", "wrong")]),
        )
        .await;
    response
        .expect_status(401)
        .expect_text("Die E-Mail-Adresse oder das Passwort ist nicht korrekt.");

    let english = client
        .send(
            client
                .request(Method::GET, "/login")
                .header("accept-language", "it, en;q=0.5"),
        )
        .await;
    english.expect_status(200).expect_text("Log in");
    assert!(!english.contains("Anmelden"));
    client.get("/login").await.expect_text("Log in");
}

#[tokio::test]
async fn a_person_chooses_their_own_language() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let acme = server.login(ACME_ADMIN).await;
    let token = owner.csrf().await;

    // Without the session token nothing changes.
    owner
        .post_form("/account/language", &[("language", "de")])
        .await
        .expect_status(403);
    owner.get("/agency").await.expect_text("Clients of Demo Agency");

    let response = owner
        .post_form("/account/language", &[("language", "de"), ("csrf", &token)])
        .await;
    response.expect_status(303);
    assert_eq!(response.location(), Some("/agency"));
    // The setting wins over the browser's wish.
    let page = owner
        .send(owner.request(Method::GET, "/agency").header("accept-language", "en"))
        .await;
    page.expect_status(200).expect_text("Kunden von Demo Agency");
    assert!(page.body.contains(r#"<html lang="de""#));
    // Only the person's own setting changed.
    acme.get("/clients/acme").await.expect_text("The projects of ACME Shop");

    let response = owner
        .post_form("/account/language", &[("language", "it"), ("csrf", &token)])
        .await;
    assert!(
        (400..500).contains(&response.status),
        "language=it: {}",
        response.status
    );
    owner.get("/agency").await.expect_text("Kunden von Demo Agency");

    // Empty: follow the browser again.
    owner
        .post_form("/account/language", &[("language", ""), ("csrf", &token)])
        .await
        .expect_status(303);
    owner.get("/agency").await.expect_text("Clients of Demo Agency");
}
