//! Everything HTTP: the route table, the middleware stack, sessions and CSRF,
//! rendering pages, health and metrics.

mod account;
mod admin;
mod alertmanager;
mod annotations;
pub(crate) mod api;
mod billing;
mod channels;
mod client_ip;
mod dashboards;
mod demo;
mod explore;
mod guard;
mod limiter;
mod mail_settings;
mod metrics;
mod outbox;
pub(crate) mod pages;
pub(crate) mod render;
mod resets;
pub mod routes;
pub(crate) mod targets;
mod thresholds;

use crate::config::Config;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use leptos::prelude::LeptosOptions;
use sqlx::SqlitePool;
use std::sync::Arc;
use std::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::{Key, SameSite};
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

pub use client_ip::TrustedProxies;
pub use limiter::{LoginLimiter, LoginLimits, RateLimit, address_key};
pub use metrics::Metrics;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub leptos: LeptosOptions,
    pub limiter: Arc<LoginLimiter>,
    /// Whose `X-Forwarded-For` names the client (`trusted_proxies`).
    pub trusted_proxies: Arc<TrustedProxies>,
    pub metrics: Arc<Metrics>,
    /// Base of links we hand out, e.g. `http://127.0.0.1:3000`.
    pub public_base: Arc<str>,
    /// The time-series store.
    pub tsdb: Arc<vitrine_tsdb::Db>,
    /// The scrape loops and their targets' health.
    pub scraper: Arc<crate::scrape::manager::Scraper>,
    /// Runs PromQL for the API and the pages, within the query limits.
    pub queries: Arc<crate::query::Queries>,
    /// The demo's shop (with `serve --demo`): its misbehaviour is switched on from the agency page
    /// and by `vitrine demo misbehave`.
    pub demo_shop: Option<crate::demo_app::DemoShop>,
    /// Every mail leaves through here.
    pub outbox: Arc<crate::notify::outbox::Outbox>,
    /// Evaluates the thresholds; their state now.
    pub rules: Arc<crate::rules::evaluator::Evaluator>,
    /// The status pages: probes, component states, rendered public pages.
    pub status: Arc<crate::status::page::StatusPages>,
    /// Token of the operator endpoints (`vitrine tsdb …` while serving).
    pub operator_token: Arc<str>,
    /// When API tokens were used, written in batches.
    pub token_uses: Arc<crate::tenancy::tokens::TokenUses>,
    /// Billing's settings: Stripe's address, the grace period.
    pub billing: Arc<crate::billing::Settings>,
    /// Applies the Stripe events the webhook stored.
    pub stripe_events: Arc<crate::billing::webhook::Worker>,
    /// When the server started (ms since the epoch).
    pub started_ms: i64,
}

impl AppState {
    /// The address of the person behind a request that arrived from `peer`.
    pub fn client_ip(&self, peer: std::net::IpAddr, headers: &axum::http::HeaderMap) -> std::net::IpAddr {
        self.trusted_proxies.client(peer, headers)
    }
}

/// The whole application: the route table plus the middleware stack.
pub fn router(state: AppState, sessions: SqliteStore, session_key: Key) -> Router {
    let config = &state.config;
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("vitrine_session")
        .with_secure(config.secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            i64::try_from(config.session_idle_secs).unwrap_or(i64::MAX),
        )))
        .with_signed(session_key);
    // Files of the built site for GET/HEAD; every other unknown request gets the 404 page too.
    let assets = ServeDir::new(&config.site_root)
        .call_fallback_on_method_not_allowed(true)
        .not_found_service(axum::routing::any(render::not_found).with_state(state.clone()));
    // The public status pages (`/status…`) carry no session and set their own headers
    // (`status::routes::public_headers`: CSP without frames, nosniff, referrer): they skip the
    // session layer, the cross-site guard (no session to ride on) and the header layers, so a
    // cached page costs little more than its bytes.
    let mut router = Router::new();
    let mut public_status = Router::new();
    for (spec, method_router) in routes::table() {
        // Stripe's webhook too: it carries no session and is authenticated by its signature.
        let light = spec.path.starts_with("/status") || spec.path.starts_with("/webhooks/");
        if spec.access == routes::Access::Public && light {
            public_status = public_status.route(spec.path, method_router);
        } else {
            router = router.route(spec.path, method_router);
        }
    }
    let hsts = || {
        tower::util::option_layer(config.secure_cookies.then(|| {
            SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            )
        }))
    };
    let public_status = public_status
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(hsts())
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn_with_state(state.clone(), observe));
    router
        .fallback_service(assets)
        .layer(middleware::from_fn_with_state(state.clone(), guard::cross_origin))
        .layer(session_layer)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Over HTTPS (secure cookies on): browsers keep to HTTPS for this host for a year.
        .layer(hsts())
        // A bug must cost one request a 500, never the connection or the process.
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .merge(public_status)
        .with_state(state)
}

/// Counts and times every request by its route pattern (not the raw path,
/// which would give one series per client slug).
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The pattern is shared (an Arc), not copied.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", |p| p.as_str());
    let method = match request.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        _ => "OTHER",
    };
    let response = next.run(request).await;
    state
        .metrics
        .observe(route, method, response.status().as_u16(), started.elapsed());
    response
}
