//! The demo client's application: a small web shop that does not exist,
//! serving realistic Prometheus metrics on its own loopback port, so the demo
//! has live data to scrape: requests by method, route and status, a latency
//! histogram, active users following the time of day, orders and revenue.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use rand::Rng;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const ROUTES: [(&str, &str, f64); 8] = [
    ("GET", "/", 4.0),
    ("GET", "/products", 3.0),
    ("GET", "/products/{id}", 6.0),
    ("GET", "/cart", 1.5),
    ("POST", "/cart", 0.8),
    ("POST", "/checkout", 0.3),
    ("GET", "/api/search", 2.0),
    ("POST", "/login", 0.4),
];
const STATUSES: [(&str, f64); 4] = [("200", 0.93), ("301", 0.03), ("404", 0.035), ("500", 0.005)];
const BUCKETS: [f64; 8] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
const PRODUCTS: [(&str, u64); 3] = [("shoes", 7_990), ("jacket", 12_900), ("socks", 990)];

/// A misbehaviour switched on for a while (`vitrine demo misbehave`): more failed requests and
/// slower answers, so the demo's thresholds have something to say.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trouble {
    /// The share of requests answered with 500, 0 to 1.
    pub error_rate: f64,
    /// Added to every answer's time, in seconds.
    pub extra_latency_secs: f64,
    pub until: Instant,
}

struct Shop {
    last: Instant,
    trouble: Option<Trouble>,
    requests: Vec<u64>,
    buckets: Vec<[u64; 8]>,
    count: Vec<u64>,
    sum: Vec<f64>,
    orders_ok: u64,
    orders_failed: u64,
    refunds: u64,
    revenue: [u64; 3],
}

impl Shop {
    fn new() -> Shop {
        Shop {
            last: Instant::now(),
            trouble: None,
            requests: vec![0; ROUTES.len() * STATUSES.len()],
            buckets: vec![[0; 8]; ROUTES.len()],
            count: vec![0; ROUTES.len()],
            sum: vec![0.0; ROUTES.len()],
            orders_ok: 0,
            orders_failed: 0,
            refunds: 0,
            revenue: [0; 3],
        }
    }

    /// Visitors now, following the time of day (UTC), between about 20 and 180.
    fn visitors() -> f64 {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let day = (secs % 86_400.0) / 86_400.0;
        100.0 + 80.0 * (std::f64::consts::TAU * (day - 0.375)).sin()
    }

    /// Moves the simulation forward to now.
    fn advance(&mut self) {
        let elapsed = self.last.elapsed().as_secs_f64().min(3600.0);
        self.last = Instant::now();
        let mut rng = rand::thread_rng();
        let load = Shop::visitors() / 100.0;
        let trouble = self.trouble.filter(|t| t.until > Instant::now());
        self.trouble = trouble;
        let server_error = STATUSES.iter().position(|(status, _)| *status == "500").unwrap_or(0);
        for (r, (_, route, rate)) in ROUTES.iter().enumerate() {
            let expected = rate * load * elapsed;
            let n = (expected * rng.gen_range(0.7..1.3)).round() as u64;
            for _ in 0..n {
                let roll: f64 = rng.r#gen();
                let mut acc = 0.0;
                let status = STATUSES
                    .iter()
                    .position(|(_, p)| {
                        acc += p;
                        roll < acc
                    })
                    .unwrap_or(0);
                let status = match trouble {
                    Some(t) if rng.gen_bool(t.error_rate.clamp(0.0, 1.0)) => server_error,
                    _ => status,
                };
                self.requests[r * STATUSES.len() + status] += 1;
                let base = if route.starts_with("/api") { 0.04 } else { 0.12 };
                let latency = base * (1.0 + rng.r#gen::<f64>().powi(3) * 20.0) * load.max(0.5)
                    + trouble.map_or(0.0, |t| t.extra_latency_secs * rng.gen_range(0.8..1.2));
                for (b, le) in BUCKETS.iter().enumerate() {
                    if latency <= *le {
                        self.buckets[r][b] += 1;
                    }
                }
                self.count[r] += 1;
                self.sum[r] += latency;
                if *route == "/checkout" && status == 0 {
                    if rng.gen_bool(0.97) {
                        self.orders_ok += 1;
                        let p = rng.gen_range(0..PRODUCTS.len());
                        self.revenue[p] += PRODUCTS[p].1 * rng.gen_range(1..4);
                    } else {
                        self.orders_failed += 1;
                    }
                    if rng.gen_bool(0.02) {
                        self.refunds += 1;
                    }
                }
            }
        }
    }

    fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        out.push_str("# HELP http_requests_total Requests answered by the shop.\n# TYPE http_requests_total counter\n");
        for (r, (method, route, _)) in ROUTES.iter().enumerate() {
            for (s, (status, _)) in STATUSES.iter().enumerate() {
                let n = self.requests[r * STATUSES.len() + s];
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (r, (method, route, _)) in ROUTES.iter().enumerate() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (b, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    self.buckets[r][b]
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                self.count[r]
            );
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{labels}}} {}", self.sum[r]);
            let _ = writeln!(out, "http_request_duration_seconds_count{{{labels}}} {}", self.count[r]);
        }
        let mut rng = rand::thread_rng();
        let users = (Shop::visitors() * rng.gen_range(0.9..1.1)).round();
        out.push_str(
            "# HELP active_users Visitors with a session in the last five minutes.\n# TYPE active_users gauge\n",
        );
        let _ = writeln!(out, "active_users {users}");
        out.push_str("# HELP queue_depth Jobs waiting in the background queue.\n# TYPE queue_depth gauge\n");
        let _ = writeln!(out, "queue_depth {}", rng.gen_range(0..(users as u64 / 20 + 2)));
        out.push_str(
            "# HELP business_transactions_total Orders and refunds.\n# TYPE business_transactions_total counter\n",
        );
        let _ = writeln!(
            out,
            "business_transactions_total{{type=\"order\",status=\"ok\"}} {}",
            self.orders_ok
        );
        let _ = writeln!(
            out,
            "business_transactions_total{{type=\"order\",status=\"failed\"}} {}",
            self.orders_failed
        );
        let _ = writeln!(
            out,
            "business_transactions_total{{type=\"refund\",status=\"ok\"}} {}",
            self.refunds
        );
        out.push_str("# HELP business_revenue_total Revenue in cents.\n# TYPE business_revenue_total counter\n");
        for (p, (product, _)) in PRODUCTS.iter().enumerate() {
            let _ = writeln!(
                out,
                "business_revenue_total{{product=\"{product}\",currency=\"EUR\"}} {}",
                self.revenue[p]
            );
        }
        out.push_str("# HELP shop_build_info The running version of the shop.\n# TYPE shop_build_info gauge\n");
        out.push_str("shop_build_info{version=\"1.4.2\"} 1\n");
        out
    }
}

/// The running demo shop: its metrics address and the switch for its misbehaviour.
#[derive(Clone)]
pub struct DemoShop {
    pub metrics_url: String,
    /// Its pages: `/` (the home page) and `/checkout` (JSON).
    pub base_url: String,
    shop: Arc<Mutex<Shop>>,
}

impl DemoShop {
    /// Makes the shop misbehave from now for `duration` (replacing a misbehaviour still on).
    pub fn misbehave(&self, error_rate: f64, extra_latency_secs: f64, duration: std::time::Duration) {
        let mut shop = self.shop.lock().unwrap_or_else(|p| p.into_inner());
        // Requests until now were answered before the trouble began.
        shop.advance();
        shop.trouble = Some(Trouble {
            error_rate: error_rate.clamp(0.0, 1.0),
            extra_latency_secs: extra_latency_secs.max(0.0),
            until: Instant::now() + duration,
        });
    }

    /// The misbehaviour on now, if any.
    pub fn trouble(&self) -> Option<Trouble> {
        current_trouble(&self.shop)
    }
}

/// Starts the demo shop on a free loopback port.
pub async fn start() -> std::io::Result<DemoShop> {
    let shop = Arc::new(Mutex::new(Shop::new()));
    let handle = shop.clone();
    let pages = shop.clone();
    let checkout = shop.clone();
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let shop = shop.clone();
                async move {
                    let mut shop = shop.lock().unwrap_or_else(|p| p.into_inner());
                    shop.advance();
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                        shop.render(),
                    )
                        .into_response()
                }
            }),
        )
        // The pages the demo's probes open: slower while the shop misbehaves, and the
        // checkout answers 503 then.
        .route(
            "/",
            get(move || {
                let trouble = current_trouble(&pages);
                async move {
                    if let Some(trouble) = trouble {
                        tokio::time::sleep(std::time::Duration::from_secs_f64(trouble.extra_latency_secs.min(5.0)))
                            .await;
                    }
                    axum::response::Html("<h1>ACME Shop</h1><button>Add to cart</button>").into_response()
                }
            }),
        )
        .route(
            "/checkout",
            get(move || {
                let trouble = current_trouble(&checkout);
                async move {
                    match trouble {
                        Some(_) => (StatusCode::SERVICE_UNAVAILABLE, "Payment provider unreachable").into_response(),
                        None => axum::Json(serde_json::json!({"status": "ok", "payment": "ready"})).into_response(),
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "demo shop stopped");
        }
    });
    Ok(DemoShop {
        metrics_url: format!("http://{addr}/metrics"),
        base_url: format!("http://{addr}"),
        shop: handle,
    })
}

fn current_trouble(shop: &Mutex<Shop>) -> Option<Trouble> {
    let shop = shop.lock().unwrap_or_else(|p| p.into_inner());
    shop.trouble.filter(|t| t.until > Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shop_counts_up_and_renders_every_series() {
        let mut shop = Shop::new();
        shop.last = Instant::now() - std::time::Duration::from_secs(600);
        shop.advance();
        let text = shop.render();
        let total: u64 = shop.requests.iter().sum();
        assert!(total > 100, "{total}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with("http_requests_total{")).count(),
            32
        );
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/\",le=\"+Inf\"}"));
        assert!(text.contains("business_revenue_total{product=\"shoes\",currency=\"EUR\"}"));
        // Histogram buckets are cumulative and end at the count.
        for r in 0..ROUTES.len() {
            assert!(shop.buckets[r].windows(2).all(|w| w[0] <= w[1]));
            assert!(shop.buckets[r][7] <= shop.count[r]);
        }
    }
}
