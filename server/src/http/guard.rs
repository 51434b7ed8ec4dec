//! Cross-site request protection, part one: a state-changing request that a
//! browser marks as coming from another site is refused before any handler
//! runs (this also covers the login form, which has no session yet). Part two
//! is the per-session token every signed-in form carries (see `pages`).

use super::{AppState, render};
use app::dto::Problem;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;

pub async fn cross_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && is_cross_site(request.headers(), &state.public_base) {
        let locale = render::locale(None, request.headers());
        return render::problem(&state, locale, None, Problem::CsrfRejected).await;
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, public_base: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Not a browser, or a very old one: the session token still applies.
        return false;
    };
    let Ok(origin) = origin.to_str() else { return true };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    let public_host = public_base.split_once("://").map_or("", |(_, rest)| rest);
    !(origin_host == host || origin_host == public_host) || origin_host.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let base = "https://status.example.com";
        assert!(!is_cross_site(&headers(&[]), base));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")]), base));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")]), base));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")]), base));
        assert!(!is_cross_site(
            &headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]),
            base
        ));
        assert!(!is_cross_site(
            &headers(&[("origin", "https://status.example.com"), ("host", "internal:8080")]),
            base
        ));
        assert!(is_cross_site(
            &headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:3000")]),
            base
        ));
        assert!(is_cross_site(
            &headers(&[("origin", "null"), ("host", "127.0.0.1:3000")]),
            base
        ));
    }
}
