//! Turning a [`Page`] into an HTML response, and choosing its language.

use super::AppState;
use app::Locale;
use app::dto::{Page, Problem, Viewer};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The language for a request: the person's own setting, else the browser's
/// `Accept-Language`, else English. Never a cookie.
pub fn locale(setting: Option<&str>, headers: &HeaderMap) -> Locale {
    if let Some(tag) = setting {
        return app::locale_from_tag(&[tag]);
    }
    let header = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut tags: Vec<(f32, &str)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse().ok())
                .unwrap_or(1.0);
            (!tag.is_empty() && tag != "*" && q > 0.0).then_some((q, tag))
        })
        .collect();
    tags.sort_by(|a, b| b.0.total_cmp(&a.0));
    let tags: Vec<&str> = tags.into_iter().map(|(_, tag)| tag).collect();
    app::locale_from_tag(&tags)
}

pub async fn page(
    state: &AppState,
    locale: Locale,
    viewer: Option<Viewer>,
    page: Page,
    status: StatusCode,
) -> Response {
    let options = state.leptos.clone();
    // A fresh nonce per page for Leptos' inline island loader, the only inline script.
    let nonce = leptos::nonce::Nonce::new();
    let policy = content_security_policy(&nonce);
    let handler = leptos_axum::render_app_async_with_context(
        move || leptos::prelude::provide_context(nonce.clone()),
        move || app::shell(options.clone(), locale, viewer.clone(), page.clone()),
    );
    let mut response = handler(Request::new(Body::empty())).await;
    *response.status_mut() = status;
    let headers = response.headers_mut();
    // Pages carry a person's data: never keep them in a shared cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// What a page may load: its own scripts, styles, images and the WebAssembly of the islands,
/// the inline loader with this page's nonce, nothing inline else; no frames around it
/// (the status-page widget will get its own, looser rule).
fn content_security_policy(nonce: &leptos::nonce::Nonce) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'nonce-{}'; style-src 'self'; \
         img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
        &**nonce
    )
}

pub fn status_of(problem: Problem) -> StatusCode {
    match problem {
        Problem::NotFound => StatusCode::NOT_FOUND,
        Problem::Forbidden | Problem::CsrfRejected => StatusCode::FORBIDDEN,
        Problem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Problem::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub async fn problem(state: &AppState, locale: Locale, viewer: Option<Viewer>, problem: Problem) -> Response {
    page(state, locale, viewer, Page::Problem(problem), status_of(problem)).await
}

/// The answer for addresses that match no route and no file.
pub async fn not_found(State(state): State<AppState>, headers: HeaderMap) -> Response {
    problem(&state, locale(None, &headers), None, Problem::NotFound).await
}

/// Logs an internal error and shows the generic error page.
pub async fn internal(state: &AppState, locale: Locale, err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "request failed");
    problem(state, locale, None, Problem::Internal).await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_setting_then_weighted_accept_language() {
        let mut headers = HeaderMap::new();
        assert_eq!(locale(None, &headers), Locale::en);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr;q=0.9, de-AT;q=0.95, en;q=0.1"),
        );
        assert_eq!(locale(None, &headers), Locale::de);
        assert_eq!(locale(Some("en"), &headers), Locale::en);
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("fr-FR,fr;q=0.9"));
        assert_eq!(locale(None, &headers), Locale::fr);
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("de;q=0.5, fr-CH"));
        assert_eq!(locale(None, &headers), Locale::fr);
        assert_eq!(locale(Some("de"), &headers), Locale::de);
        assert_eq!(locale(Some("fr"), &HeaderMap::new()), Locale::fr);
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static(";;,q=x,*"));
        assert_eq!(locale(None, &headers), Locale::en);
    }
}
