//! Fetching a target's `/metrics` over HTTP, guarded against server-side
//! request forgery: every address a target's name resolves to, every IP
//! literal and every redirect hop is checked against the address policy
//! before a connection is made.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use vitrine_scrape_config::{AddressPolicy, Auth, ScrapeTarget};

/// Resolves host names. The system resolver in production; tests inject their own
/// so no name is ever looked up and no packet leaves the machine.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: String) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;
}

pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// The policy plus the resolver: what every scrape connection goes through.
#[derive(Clone)]
pub struct Guard {
    pub policy: Arc<AddressPolicy>,
    pub lookup: Arc<dyn Lookup>,
    /// The operator's ceiling for one answer, decompressed (`scrape_max_body_bytes_limit`):
    /// a target's `body_size_limit`, imported or typed, can lower it, never raise it.
    pub max_body_bytes: u64,
}

/// The default of `scrape_max_body_bytes_limit`.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 << 20;

struct GuardedResolver(Guard);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = guard.lookup.lookup(host.clone()).await?;
            let mut refused = None;
            let allowed: Vec<SocketAddr> = ips
                .into_iter()
                .filter(|ip| match guard.policy.check(*ip) {
                    Ok(()) => true,
                    Err(why) => {
                        refused = Some(why);
                        false
                    }
                })
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() {
                let reason = match refused {
                    Some(why) => format!("{host} resolves to {why}"),
                    None => format!("{host} has no address"),
                };
                return Err(Box::new(FetchError::Refused(reason)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("the target answered HTTP {0}")]
    Status(u16),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the answer is larger than the limit of {0} bytes (after decompression)")]
    TooLarge(u64),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("TLS settings are not usable: {0}")]
    Tls(String),
}

/// Walks an error's sources for a refusal by the guard.
fn refusal(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(FetchError::Refused(why)) = e.downcast_ref::<FetchError>() {
            return Some(why.clone());
        }
        current = e.source();
    }
    None
}

pub fn describe(err: reqwest::Error, timeout: Duration) -> FetchError {
    if let Some(why) = refusal(&err) {
        return FetchError::Refused(why);
    }
    if err.is_timeout() {
        return FetchError::Timeout(timeout);
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        text = format!("{text}: {e}");
        source = e.source();
    }
    FetchError::Connect(text)
}

/// A client builder whose every connection goes through the guard: the guarded resolver,
/// redirects checked hop by hop (or none followed), no proxy from the environment.
fn guarded(guard: &Guard, follow_redirects: bool) -> reqwest::ClientBuilder {
    let policy = guard.policy.clone();
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if !follow_redirects {
            return attempt.stop();
        }
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects");
        }
        let literal = attempt
            .url()
            .host_str()
            .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok());
        match literal.map(|ip| policy.check(ip)) {
            Some(Err(why)) => attempt.error(FetchError::Refused(format!("redirect to {why}"))),
            _ => attempt.follow(),
        }
    });
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
        .redirect(redirect)
        .no_proxy()
        .user_agent(concat!("Vitrine/", env!("CARGO_PKG_VERSION")))
}

/// The HTTP client for one target: its TLS settings, through the guard.
pub fn client(target: &ScrapeTarget, guard: &Guard) -> Result<reqwest::Client, FetchError> {
    let mut builder = guarded(guard, true).timeout(target.timeout().as_std());
    let tls = target.tls();
    if let Some(pem) = &tls.ca_pem {
        let certs =
            reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| FetchError::Tls(e.to_string()))?;
        builder = builder.tls_built_in_root_certs(false);
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if tls.insecure_skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| FetchError::Tls(e.to_string()))
}

/// The HTTP client of a status page's probe: through the guard, the peer's certificate kept
/// for its expiry, redirects followed or not, invalid certificates accepted when asked.
pub fn probe_client(
    guard: &Guard,
    timeout: Duration,
    follow_redirects: bool,
    accept_invalid_certs: bool,
) -> Result<reqwest::Client, FetchError> {
    guarded(guard, follow_redirects)
        .timeout(timeout)
        .tls_info(true)
        .danger_accept_invalid_certs(accept_invalid_certs)
        .build()
        .map_err(|e| FetchError::Tls(e.to_string()))
}

/// Refuses an address whose host is an IP literal the policy forbids (names are checked
/// by the guarded resolver when they are looked up).
pub fn check_literal(guard: &Guard, url: &reqwest::Url) -> Result<(), FetchError> {
    let literal = url
        .host_str()
        .and_then(|h| h.trim_matches(['[', ']']).parse::<IpAddr>().ok());
    match literal {
        Some(ip) => guard
            .policy
            .check(ip)
            .map_err(|why| FetchError::Refused(why.to_string())),
        None => Ok(()),
    }
}

/// Posts `body` as JSON to `url` through the guard (a notification channel's message);
/// returns the status of the answer, whose body is not read.
pub async fn post_json(guard: &Guard, url: &str, body: &str, timeout: Duration) -> Result<u16, FetchError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| FetchError::Connect(format!("{url} is not a URL: {e}")))?;
    check_literal(guard, &parsed)?;
    let client = guarded(guard, true)
        .timeout(timeout)
        .build()
        .map_err(|e| FetchError::Tls(e.to_string()))?;
    let response = client
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| describe(e, timeout))?;
    Ok(response.status().as_u16())
}

/// One answer: the body (decompressed) and its content type.
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

/// Fetches the target's page; `size_hint` (the last answer's size) saves re-growing the buffer.
pub async fn fetch(
    client: &reqwest::Client,
    target: &ScrapeTarget,
    guard: &Guard,
    accept: &str,
    size_hint: usize,
) -> Result<Fetched, FetchError> {
    let url = target.url();
    if let Some(ip) = url.ip() {
        guard
            .policy
            .check(ip)
            .map_err(|why| FetchError::Refused(why.to_string()))?;
    }
    let timeout = target.timeout().as_std();
    let mut request = client.get(url.as_str()).header(reqwest::header::ACCEPT, accept).header(
        "X-Prometheus-Scrape-Timeout-Seconds",
        format!("{}", timeout.as_secs_f64()),
    );
    request = match target.auth() {
        Auth::None => request,
        Auth::Basic { username, password } => request.basic_auth(username, Some(password.expose())),
        Auth::Bearer(token) => request.bearer_auth(token.expose()),
    };
    let mut response = request.send().await.map_err(|e| describe(e, timeout))?;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let limit = target
        .limits()
        .body_size_limit
        .map_or(guard.max_body_bytes, |own| own.min(guard.max_body_bytes));
    let expected = response.content_length().map_or(size_hint, |n| n as usize);
    let mut body = Vec::with_capacity(expected.min(limit as usize) + 1024);
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(e, timeout))? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(FetchError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, content_type })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use vitrine_scrape_config::{Limits, ScrapeUrl};

    /// Answers every name with fixed addresses and counts the lookups.
    struct FakeLookup(Vec<IpAddr>, AtomicUsize);

    impl Lookup for FakeLookup {
        fn lookup(&self, _host: String) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            let ips = self.0.clone();
            Box::pin(async move { Ok(ips) })
        }
    }

    fn guard(ips: &[&str], allow: &[&str]) -> (Guard, Arc<FakeLookup>) {
        let lookup = Arc::new(FakeLookup(
            ips.iter().map(|ip| ip.parse().unwrap()).collect(),
            AtomicUsize::new(0),
        ));
        let guard = Guard {
            policy: Arc::new(AddressPolicy::parse(allow.iter().copied()).unwrap()),
            lookup: lookup.clone(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        };
        (guard, lookup)
    }

    fn target(url: &str) -> ScrapeTarget {
        ScrapeTarget::builder("test", ScrapeUrl::parse(url).unwrap())
            .build()
            .unwrap()
    }

    async fn refused(url: &str, guard: &Guard) -> String {
        let t = target(url);
        let client = client(&t, guard).unwrap();
        match fetch(&client, &t, guard, "*/*", 0).await {
            Err(FetchError::Refused(why)) => why,
            Err(other) => panic!("{url}: expected a refusal, got {other}"),
            Ok(_) => panic!("{url}: expected a refusal, got an answer"),
        }
    }

    #[tokio::test]
    async fn names_resolving_to_forbidden_addresses_are_refused_before_connecting() {
        for ip in [
            "169.254.169.254",
            "10.0.0.1",
            "100.64.1.1",
            "::ffff:127.0.0.1",
            "fe80::1",
            "fc00::1",
            "0.0.0.0",
        ] {
            let (guard, lookup) = guard(&[ip], &[]);
            let why = refused("http://metrics.example.test:9100/metrics", &guard).await;
            assert!(why.contains("not allowed"), "{ip}: {why}");
            assert_eq!(
                lookup.1.load(Ordering::SeqCst),
                1,
                "the name was looked up once, through the guard"
            );
        }
    }

    #[tokio::test]
    async fn ip_literals_are_refused_without_any_lookup() {
        let (guard, lookup) = guard(&[], &[]);
        for url in [
            "http://127.0.0.1:9/metrics",
            "http://[::1]:9/metrics",
            "http://[::ffff:7f00:1]:9/",
            "http://169.254.169.254/",
        ] {
            let why = refused(url, &guard).await;
            assert!(why.contains("not allowed"), "{url}: {why}");
        }
        assert_eq!(lookup.1.load(Ordering::SeqCst), 0);
    }

    /// A loopback server (allowed by the allow-list) that redirects to the cloud metadata address.
    #[tokio::test]
    async fn every_redirect_hop_is_checked() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route(
                "/metrics",
                axum::routing::get(|| async {
                    axum::response::Redirect::temporary("http://169.254.169.254/latest/meta-data/")
                }),
            )
            .route(
                "/named",
                axum::routing::get(|| async { axum::response::Redirect::temporary("http://inside.test/") }),
            )
            .route("/ok", axum::routing::get(|| async { "up 1\n" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let (guard, _) = guard(&["10.1.2.3"], &["127.0.0.1/32"]);
        let why = refused(&format!("http://{addr}/metrics"), &guard).await;
        assert!(why.contains("169.254.169.254"), "{why}");
        let why = refused(&format!("http://{addr}/named"), &guard).await;
        assert!(why.contains("10.1.2.3"), "{why}");
        let t = target(&format!("http://{addr}/ok"));
        let fetched = fetch(&client(&t, &guard).unwrap(), &t, &guard, "*/*", 0).await.unwrap();
        assert_eq!(fetched.body, b"up 1\n");
    }

    /// A target's own body_size_limit (as a prometheus.yml import may set it) cannot raise
    /// the operator's ceiling; it can lower it.
    #[tokio::test]
    async fn the_operators_body_limit_caps_the_targets_own() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/metrics", axum::routing::get(|| async { "x 1\n".repeat(1000) }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let (mut guard, _) = guard(&[], &["127.0.0.1/32"]);
        guard.max_body_bytes = 2048;
        let url = ScrapeUrl::parse(&format!("http://{addr}/metrics")).unwrap();
        let with_limit = |limit| {
            ScrapeTarget::builder("test", url.clone())
                .limits(Limits {
                    body_size_limit: limit,
                    ..Limits::default()
                })
                .build()
                .unwrap()
        };
        for (own, expected) in [(None, 2048), (Some(1 << 30), 2048), (Some(1024), 1024)] {
            let t = with_limit(own);
            match fetch(&client(&t, &guard).unwrap(), &t, &guard, "*/*", 0).await {
                Err(FetchError::TooLarge(limit)) => assert_eq!(limit, expected, "own limit {own:?}"),
                Err(other) => panic!("own limit {own:?}: {other}"),
                Ok(_) => panic!("own limit {own:?}: a 4,000-byte answer was accepted"),
            }
        }
        guard.max_body_bytes = 1 << 20;
        let t = with_limit(Some(1 << 30));
        let fetched = fetch(&client(&t, &guard).unwrap(), &t, &guard, "*/*", 0).await.unwrap();
        assert_eq!(fetched.body.len(), 4000);
    }
}
