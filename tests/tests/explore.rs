//! The Explore page, black-box: agency people and a client's admins run PromQL over the demo
//! data and get a chart with its table of series, or the values at one time; errors are shown
//! at their place and in words; viewers and other clients get the 404 page.

use std::time::{Duration, Instant};
use vitrine_tests::*;

const ACME: &str = "/clients/acme/explore";

/// The Explore page of `client` with these form fields.
fn explore(client: &str, params: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params(&format!("http://vitrine/clients/{client}/explore"), params)
        .expect("a valid address");
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

/// The rows of the series table: the text of each `<tr>` in its body.
fn series_rows(page: &Response) -> Vec<String> {
    let text = page.text();
    let Some(table) = between(&text, "<tbody>", "</tbody>") else {
        return vec![];
    };
    table
        .split("<tr>")
        .skip(1)
        .map(|row| row.split("</tr>").next().unwrap_or_default().to_string())
        .collect()
}

/// Loads the page until the demo shop's first scrapes appear in its table.
async fn page_with_up(person: &Client, path: &str) -> Response {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = person.get(path).await;
        page.expect_status(200);
        if series_rows(&page).iter().any(|row| row.contains("job=\"shop\"")) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "no series of up after 60 s: {}",
            page.summary()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn agency_people_and_client_admins_chart_up_with_its_series_table() {
    let server = Server::start();
    let owner = server.login(OWNER).await;
    let admin = server.login(ACME_ADMIN).await;

    // The way in: the agency's client list and the client page.
    let agency = owner.get("/agency").await;
    assert!(
        agency.body.contains(&format!("href=\"{ACME}\"")),
        "{}",
        agency.summary()
    );
    let client = admin.get("/clients/acme").await;
    assert!(
        client.body.contains(&format!("href=\"{ACME}\"")),
        "{}",
        client.summary()
    );

    // An empty form: defaults, help and examples from the client's own metrics, no result.
    let empty = admin.get(ACME).await;
    empty
        .expect_status(200)
        .expect_text("PromQL is the query language of Prometheus");
    assert!(!empty.body.contains("<svg"));
    assert!(empty.body.contains("value=\"1h\" selected"), "{}", empty.summary());
    let up_example = format!("href=\"{ACME}?q=up&amp;mode=range&amp;range=1h\"");
    assert!(empty.body.contains(&up_example), "{}", empty.summary());

    for person in [&owner, &admin] {
        let page = page_with_up(person, &explore("acme", &[("q", "up")])).await;
        page.expect_text("a point every 15s");
        let text = page.text();
        let svg = between(&text, "<svg", "</svg>").expect("a chart");
        assert!(
            svg.contains("viewBox=\"0 0 900 320\"") && svg.contains("<polyline"),
            "{svg}"
        );
        assert!(!svg.contains("job"), "label text in the chart: {svg}");
        let rows = series_rows(&page);
        let shop = rows
            .iter()
            .find(|row| row.contains("job=\"shop\""))
            .unwrap_or_else(|| panic!("no row for the demo shop: {rows:?}"));
        assert!(shop.contains("class=\"swatch\"") && shop.contains(">up<"), "{shop}");
        assert!(shop.contains("<span title=\"1\">1</span>"), "up is 1: {shop}");
    }

    // The query stays in the form, so the address can be shared.
    let page = admin
        .get(&explore("acme", &[("q", "sum by (job) (up)"), ("range", "15m")]))
        .await;
    page.expect_status(200);
    assert!(
        page.text().contains(">sum by (job) (up)</textarea>"),
        "{}",
        page.summary()
    );
    assert!(page.body.contains("value=\"15m\" selected"));

    // Instant mode: the values at one time, no chart.
    let page = admin.get(&explore("acme", &[("q", "up"), ("mode", "instant")])).await;
    page.expect_status(200).expect_text("Values at this time");
    assert!(!page.body.contains("<svg"));
    assert!(!series_rows(&page).is_empty());
    let page = admin
        .get(&explore("acme", &[("q", "1 + 1"), ("mode", "instant")]))
        .await;
    page.expect_status(200).expect_text("A single number:");
    assert!(page.text().contains(">2</span>"), "{}", page.summary());
    let page = admin
        .get(&explore("acme", &[("q", "up[1m]"), ("mode", "instant")]))
        .await;
    page.expect_status(200).expect_text(" @ ");
}

#[tokio::test]
async fn errors_are_shown_at_their_place_and_in_plain_words() {
    let server = Server::start();
    let admin = server.login(ACME_ADMIN).await;

    let page = admin.get(&explore("acme", &[("q", "up +* 2")])).await;
    page.expect_status(200)
        .expect_text("The query cannot be read.")
        .expect_text("(line 1, column 5)")
        .expect_text("unexpected &lt;op:*&gt;");
    assert!(
        page.text().contains("<code>up +<mark>*</mark> 2</code>"),
        "{}",
        page.summary()
    );

    // An unclosed parenthesis is marked at the end of the query.
    let page = admin.get(&explore("acme", &[("q", "sum(rate(up[5m])")])).await;
    page.expect_status(200).expect_text("unclosed left parenthesis");
    assert!(page.text().contains("<mark> </mark></code>"), "{}", page.summary());

    // Evaluation errors: in words, with the engine's text as a detail.
    let page = admin.get(&explore("acme", &[("q", "up[5m]")])).await;
    page.expect_status(200)
        .expect_text("The query cannot be shown like this.")
        .expect_text("Technical details")
        .expect_text("range vector");

    // Fields that cannot be used: each says why; the query does not run; nothing breaks.
    let page = admin
        .get(&explore(
            "acme",
            &[("q", "up"), ("range", "2w"), ("end", "soon"), ("step", "fast")],
        ))
        .await;
    page.expect_status(200)
        .expect_text("Choose one of the time ranges.")
        .expect_text("Write the end as YYYY-MM-DD HH:MM")
        .expect_text("Write the step as a duration");
    assert!(!page.body.contains("<svg"));
    let page = admin
        .get(&explore("acme", &[("q", "up"), ("range", "30d"), ("step", "1s")]))
        .await;
    page.expect_status(200).expect_text("Choose a step of at least 3m56s");
    for raw in [
        "q=%ZZ&mode=%",
        "q=up&end=1e30",
        "q=up&step=-1",
        "q=%00&mode=instant",
        "range=&step=&end=",
    ] {
        admin.get(&format!("{ACME}?{raw}")).await.expect_status(200);
    }
    // A past end in UTC is honoured.
    let page = admin
        .get(&explore("acme", &[("q", "up"), ("end", "2024-01-31 14:00")]))
        .await;
    page.expect_status(200)
        .expect_text("From 2024-01-31 13:00:00 UTC to 2024-01-31 14:00:00 UTC")
        .expect_text("The query found no data in this time range.");

    // Label values are text, never markup: not in the table, not in the chart.
    let evil = "label_replace(up, \"evil\", \"<script>alert(1)</script>\", \"\", \"\")";
    let page = page_with_up(&admin, &explore("acme", &[("q", evil)])).await;
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.summary());
    assert!(page.body.contains("&lt;script&gt;alert(1)"), "{}", page.summary());
    // Nor is the query itself, which a shared link carries: it cannot close the text box.
    let page = admin
        .get(&explore("acme", &[("q", "up</textarea><b id=\"injected\">x</b>")]))
        .await;
    page.expect_status(200);
    assert!(!page.body.contains("<b id=\"injected\">"), "{}", page.summary());
    assert!(
        page.body
            .contains("up&lt;/textarea&gt;&lt;b id=\"injected\"&gt;x&lt;/b&gt;</textarea>"),
        "{}",
        page.summary()
    );
}

#[tokio::test]
async fn viewers_and_other_clients_get_the_not_found_page() {
    let server = Server::start();
    let out = std::process::Command::new(binary())
        .args([
            "user",
            "create",
            "--email",
            "viewer@acme.example",
            "--agency",
            "demo",
            "--client",
            "acme",
            "--role",
            "client_viewer",
            "--password-stdin",
        ])
        .env("VITRINE_DATA_DIR", server.data_dir())
        .env("VITRINE_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"a viewer's long password\n")?;
            child.wait_with_output()
        })
        .expect("running vitrine user create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let viewer = server.login(("viewer@acme.example", "a viewer's long password")).await;
    let missing = viewer.get("/clients/no-such-client/explore?q=up").await;
    missing.expect_status(404).expect_text("Page not found");
    let page = viewer.get(&explore("acme", &[("q", "up")])).await;
    page.expect_status(404);
    assert_eq!(page.normalized(), missing.normalized());
    let client = viewer.get("/clients/acme").await;
    client.expect_status(200);
    assert!(!client.body.contains(ACME), "a viewer gets the Explore link");

    let globex = server.login(GLOBEX_ADMIN).await;
    let page = globex.get(&explore("acme", &[("q", "up")])).await;
    page.expect_status(404).expect_text("Page not found");
    assert!(!page.contains("ACME"));
    // Globex's own page shows globex's data only: its targets are not acme's.
    let own = globex
        .get(&explore("globex", &[("q", "up"), ("mode", "instant")]))
        .await;
    own.expect_status(200)
        .expect_text("The query found no value at this time.");
}
