//! The Prometheus HTTP API, black-box: a client's API token reads that
//! client's series, labels, metadata and exemplars and nothing of another
//! client's, on every endpoint of the route table marked `token`.

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use vitrine_tests::{Server, percent_encode, routes};

/// A target scraping Vitrine's own /metrics every second, for one environment.
fn scrape_vitrine(server: &Server, client: &str, project: &str, environment: &str) {
    server.scrape_every_second(server.host(), client, project, environment);
}

async fn get(server: &Server, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn wait_for_series(server: &Server, token: &str, selector: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = get(server, Some(token), &format!("/api/v1/series?match[]={selector}")).await;
        if body["data"].as_array().is_some_and(|a| !a.is_empty()) {
            return;
        }
        assert!(Instant::now() < deadline, "no series {selector} after 60 s: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn values(body: &Value, label: &str) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s[label].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_token_reads_only_its_clients_data_on_every_endpoint() {
    let server = Server::start();
    let acme = server.token("acme");
    let globex = server.token("globex");
    scrape_vitrine(&server, "acme", "shop", "stage");
    scrape_vitrine(&server, "globex", "portal", "live");
    wait_for_series(&server, &acme, "up").await;
    wait_for_series(&server, &globex, "up").await;
    // The demo shop scrapes for acme only (every 15 s): its business series are acme's alone.
    wait_for_series(&server, &acme, "business_revenue_total").await;

    // Every token route refuses requests without a valid token, in Prometheus' envelope.
    let token_routes: Vec<_> = routes().into_iter().filter(|r| r.access == "token").collect();
    assert!(token_routes.len() >= 6, "{token_routes:?}");
    for route in &token_routes {
        let path = route.path.replace("{name}", "job");
        let method: reqwest::Method = route.method.parse().unwrap();
        for bearer in [None, Some("vit_0000"), Some(&globex[..globex.len() - 1])] {
            let mut request = reqwest::Client::new().request(method.clone(), server.url(&path));
            if let Some(b) = bearer {
                request = request.bearer_auth(b);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{route:?} with {bearer:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["status"], "error");
            assert_eq!(body["errorType"], "unauthorized");
        }
    }

    // series
    let (status, body) = get(&server, Some(&acme), "/api/v1/series?match[]=up").await;
    assert_eq!(status, 200);
    assert!(values(&body, "project").iter().all(|p| p == "shop"), "{body}");
    let (_, body) = get(&server, Some(&globex), "/api/v1/series?match[]={__name__=~\".%2B\"}").await;
    assert!(!values(&body, "project").is_empty());
    assert!(values(&body, "project").iter().all(|p| p == "portal"), "{body}");
    let (_, body) = get(&server, Some(&globex), "/api/v1/series?match[]=business_revenue_total").await;
    assert_eq!(body["data"], Value::Array(vec![]), "globex must not see acme's shop");

    // labels and label values
    let (_, body) = get(&server, Some(&globex), "/api/v1/label/project/values").await;
    assert_eq!(body["data"], serde_json::json!(["portal"]));
    let (_, body) = get(&server, Some(&acme), "/api/v1/label/project/values").await;
    assert_eq!(body["data"], serde_json::json!(["shop"]));
    let (_, body) = get(&server, Some(&globex), "/api/v1/label/__name__/values").await;
    assert!(
        !body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "business_revenue_total")
    );
    let (_, body) = get(&server, Some(&acme), "/api/v1/labels?match[]=business_revenue_total").await;
    assert!(
        body["data"].as_array().unwrap().iter().any(|n| n == "currency"),
        "{body}"
    );
    let (_, body) = get(&server, Some(&globex), "/api/v1/labels").await;
    assert!(
        !body["data"].as_array().unwrap().iter().any(|n| n == "currency"),
        "{body}"
    );

    // metadata
    let (_, body) = get(&server, Some(&acme), "/api/v1/metadata?metric=business_revenue_total").await;
    assert_eq!(body["data"]["business_revenue_total"][0]["type"], "counter", "{body}");
    let (_, body) = get(&server, Some(&globex), "/api/v1/metadata").await;
    assert!(body["data"].get("business_revenue_total").is_none(), "{body}");
    assert!(body["data"].get("vitrine_http_requests_total").is_some(), "{body}");

    // exemplars (text-format targets have none) and errors
    let (status, body) = get(&server, Some(&globex), "/api/v1/query_exemplars?query=up").await;
    assert_eq!((status, &body["data"]), (200, &Value::Array(vec![])));
    let (status, body) = get(&server, Some(&acme), "/api/v1/query_exemplars?query=sum(").await;
    assert_eq!((status, body["errorType"].as_str()), (400, Some("bad_data")));
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid parameter \"query\": 1:5: parse error"),
        "{body}"
    );
    let (status, body) = get(&server, Some(&acme), "/api/v1/series").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("no match[] parameter provided"))
    );
    let (status, body) = get(&server, Some(&acme), "/api/v1/series?match[]=rate(up[5m])").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(&server, Some(&acme), "/api/v1/labels?start=yesterday").await;
    assert_eq!(status, 400, "{body}");

    // buildinfo, and the token as the password of Basic auth (as promtool sends it)
    let response = reqwest::Client::new()
        .get(server.url("/api/v1/status/buildinfo"))
        .basic_auth("t", Some(&acme))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["version"], "2.42.0");

    // PromQL: instant and range queries, scoped to the token's client.
    let (status, body) = get(&server, Some(&acme), "/api/v1/query?query=sum%20by%20(project)%20(up)").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["resultType"], "vector");
    assert_eq!(
        values(
            &serde_json::json!({"data": body["data"]["result"].as_array().unwrap().iter().map(|r| r["metric"].clone()).collect::<Vec<_>>()}),
            "project"
        ),
        ["shop"]
    );
    let (_, body) = get(
        &server,
        Some(&globex),
        "/api/v1/query?query=count(business_revenue_total)",
    )
    .await;
    assert_eq!(
        body["data"]["result"],
        Value::Array(vec![]),
        "globex sees none of acme's series: {body}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let range = format!("/api/v1/query_range?query=up&start={}&end={now}&step=1", now - 20);
    let (status, body) = get(&server, Some(&acme), &range).await;
    assert_eq!(
        (status, body["data"]["resultType"].as_str()),
        (200, Some("matrix")),
        "{body}"
    );
    let series = body["data"]["result"].as_array().unwrap();
    assert!(
        !series.is_empty() && series.iter().all(|s| s["metric"]["project"] == "shop"),
        "{body}"
    );
    // Points one step apart, ending at the range's end.
    for s in series {
        let points = s["values"].as_array().unwrap();
        assert!(
            points
                .windows(2)
                .all(|w| w[1][0].as_f64().unwrap() - w[0][0].as_f64().unwrap() == 1.0),
            "{body}"
        );
        assert_eq!(points.last().unwrap()[0].as_f64(), Some(now as f64), "{body}");
    }
    let (_, body) = get(&server, Some(&globex), &range).await;
    assert!(
        body["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["metric"]["project"] == "portal"),
        "{body}"
    );
    let (status, body) = get(&server, Some(&acme), "/api/v1/query?query=").await;
    assert_eq!((status, body["errorType"].as_str()), (400, Some("bad_data")), "{body}");
    let (status, body) = get(
        &server,
        Some(&acme),
        &format!("/api/v1/query_range?query=up&start={now}&end={}&step=0", now - 1),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(&server, Some(&acme), "/api/v1/query?query=rate(up)").await;
    assert_eq!((status, body["errorType"].as_str()), (400, Some("bad_data")), "{body}");

    // promtool (Debian's prometheus package; .ci/run installs it) with the token in the URL.
    let url = format!("http://t:{acme}@{}", server.host());
    let out = Command::new("promtool")
        .args(["query", "instant", &url, "up"])
        .output()
        .expect("promtool is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "promtool: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("up{") && text.contains("project=\"shop\"") && !text.contains("portal"),
        "{text}"
    );
    let out = Command::new("promtool")
        .args([
            "query",
            "range",
            "--start",
            &(now - 10).to_string(),
            "--end",
            &now.to_string(),
            "--step",
            "1s",
            &url,
            "up",
        ])
        .output()
        .expect("promtool");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("up{"));
}

/// With room for a thousand samples for all queries together, a query that decodes more
/// answers 503 "try again" at once; a small one of the same client still runs.
#[tokio::test]
async fn a_query_over_the_servers_memory_for_queries_answers_503_at_once() {
    let budget = 1000 * 16;
    let server = Server::start_with(&[("VITRINE_QUERY_MEMORY_BUDGET_BYTES", &budget.to_string())]);
    let acme = server.token("acme");
    wait_for_series(&server, &acme, "up").await;
    // Vitrine's own /metrics, scraped every second, until it holds more than a thousand samples.
    scrape_vitrine(&server, "acme", "shop", "stage");
    let everything = format!(
        "/api/v1/query?query={}",
        percent_encode("count_over_time({__name__=~\".+\"}[1h])")
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let (status, body) = loop {
        let started = Instant::now();
        let (status, body) = get(&server, Some(&acme), &everything).await;
        if status == 503 {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "took {:?}",
                started.elapsed()
            );
            break (status, body);
        }
        assert!(
            Instant::now() < deadline,
            "still answered within the budget after 60 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        (status, body["errorType"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(
        body["error"].as_str().unwrap().contains("try again in a moment"),
        "{body}"
    );
    let (status, body) = get(&server, Some(&acme), "/api/v1/query?query=vector(1)").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn query_limits_answer_in_prometheus_envelope_and_spare_other_clients() {
    let server = Server::start_with(&[
        ("VITRINE_QUERY_MAX_SERIES", "2"),
        ("VITRINE_QUERY_CONCURRENCY_PER_CLIENT", "1"),
    ]);
    let acme = server.token("acme");
    let globex = server.token("globex");

    // Three series where two are allowed: 422 execution, with the count.
    let three = "vector(1) or label_replace(vector(1), \"a\", \"b\", \"\", \"\") or label_replace(vector(1), \"a\", \"c\", \"\", \"\")";
    let url = format!("/api/v1/query?query={}", percent_encode(three));
    let (status, body) = get(&server, Some(&acme), &url).await;
    assert_eq!((status, body["errorType"].as_str()), (422, Some("execution")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("3 series"), "{body}");

    // One query at a time for acme: while a slow one runs (a median over a day of 1 s points at 10,000 steps; it ends by its 3 s timeout),
    // acme's next query gets 503 unavailable, and globex's runs.
    let slow = format!(
        "/api/v1/query_range?timeout=3s&start=0&end=10000&step=1&query={}",
        percent_encode("quantile_over_time(0.5, vector(1)[1d:1s])")
    );
    let slow_server = server.url(&slow);
    let slow_token = acme.clone();
    let running = tokio::spawn(async move {
        let response = reqwest::Client::new()
            .get(slow_server)
            .bearer_auth(slow_token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = get(&server, Some(&acme), "/api/v1/query?query=vector(1)").await;
    assert_eq!(
        (status, body["errorType"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    let (status, body) = get(&server, Some(&globex), "/api/v1/query?query=vector(1)").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = running.await.unwrap();
    assert_eq!((status, body["errorType"].as_str()), (503, Some("timeout")), "{body}");
    let (status, body) = get(&server, Some(&acme), "/api/v1/query?query=vector(1)").await;
    assert_eq!(status, 200, "the slot is free again: {body}");

    // Too many points per series: 400 bad_data with Prometheus' text.
    let (status, body) = get(
        &server,
        Some(&acme),
        "/api/v1/query_range?query=vector(1)&start=0&end=100000&step=1",
    )
    .await;
    assert_eq!((status, body["errorType"].as_str()), (400, Some("bad_data")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("11,000 points"), "{body}");
}
