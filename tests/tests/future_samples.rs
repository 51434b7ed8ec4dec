//! One client's target sending samples with a time far in the future (a
//! broken clock, or `253402300799000`, the year 9999) must not stop the store
//! for everybody: such samples are refused and counted, and after a head
//! compaction every other client's new samples are still stored.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};
use vitrine_tests::Server;

/// A loopback `/metrics` endpoint that answers every request with `body`.
fn serve_metrics(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let host = listener.local_addr().expect("its address").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    host
}

async fn query(server: &Server, token: &str, promql: &str) -> Value {
    let response = reqwest::Client::new()
        .get(server.url("/api/v1/query"))
        .query(&[("query", promql)])
        .bearer_auth(token)
        .send()
        .await
        .expect("query request");
    response.json().await.expect("a JSON answer")
}

/// The single value of an instant vector, if it has one.
fn scalar(answer: &Value) -> Option<f64> {
    answer["data"]["result"].as_array()?.first()?["value"][1]
        .as_str()?
        .parse()
        .ok()
}

async fn wait_for(server: &Server, token: &str, promql: &str, what: &str) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = query(server, token, promql).await;
        if let Some(v) = scalar(&answer).filter(|v| *v > 0.0) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: `{promql}` gave {answer} for 60 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_target_from_the_far_future_stops_no_other_clients_ingestion() {
    let server = Server::start();
    let acme = server.token("acme");
    let globex = server.token("globex");
    server.scrape_every_second(server.host(), "acme", "shop", "stage");
    let broken = serve_metrics("# TYPE future_sample gauge\nfuture_sample 1 253402300799000\nplain_sample 1\n");
    server.scrape_every_second(&broken, "globex", "portal", "live");

    wait_for(&server, &globex, "count(plain_sample)", "globex's target is scraped").await;
    assert_eq!(
        query(&server, &globex, "future_sample").await["data"]["result"],
        serde_json::json!([]),
        "the far-future sample is not stored"
    );
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("vitrine_scrape_samples_future_total "))
        .and_then(|v| v.parse().ok())
        .expect("the counter in /metrics");
    assert!(refused >= 1.0, "{refused} refused samples counted");

    // Compact the whole head, as `vitrine tsdb compact` does while serving: the head must
    // still take the present, for acme as for everybody.
    wait_for(&server, &acme, "count(count_over_time(up[30s]))", "acme is scraped").await;
    server.cli(&["tsdb", "compact"]);
    let compacted = Instant::now();
    let deadline = compacted + Duration::from_secs(60);
    loop {
        // Only samples taken after the compaction count.
        let window = compacted.elapsed().as_secs().max(1);
        let promql = format!("count(count_over_time(up[{window}s]))");
        if scalar(&query(&server, &acme, &promql).await).is_some_and(|v| v > 0.0) && window >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "acme's samples after the compaction are not stored"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    wait_for(
        &server,
        &globex,
        "count(count_over_time(plain_sample[3s]))",
        "globex goes on too",
    )
    .await;
}
