//! "Forgot your password?" (`/password/forgot`) and the page of a reset link
//! (`/password/reset/{token}`). Asking gives the same answer for every address and is limited
//! per address and per IP like logins; the link's page sets the new password.

use super::pages::FormFields;
use super::{AppState, render};
use crate::notify::alert::MailContext;
use crate::tenancy::{TenancyError, resets};
use app::dto::{ForgotPage, FormState, LoginError, Page, ResetPage};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;

/// How long a reset link works.
const RESET_TTL_SECS: i64 = 3600;

pub async fn forgot_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let locale = render::locale(None, &headers);
    render::page(
        &state,
        locale,
        None,
        Page::Forgot(ForgotPage::default()),
        StatusCode::OK,
    )
    .await
}

pub async fn forgot_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    FormFields(form): FormFields,
) -> Response {
    let locale = render::locale(None, &headers);
    let email = form
        .iter()
        .find(|(n, _)| n == "email")
        .map_or("", |(_, v)| v.trim())
        .to_lowercase();
    let ip = state.client_ip(peer.ip(), &headers);
    // Every request counts like a failed login, for the address and for the IP.
    if let Err(wait) = state.limiter.begin(&format!("password reset {email}"), ip) {
        let page = ForgotPage {
            email,
            sent: false,
            error: Some(LoginError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }),
        };
        return render::page(&state, locale, None, Page::Forgot(page), StatusCode::TOO_MANY_REQUESTS).await;
    }
    let context = MailContext::new(&state.public_base);
    match resets::request(&state.db, &email, RESET_TTL_SECS, &context).await {
        Ok(mailed) => {
            if mailed {
                state.outbox.wake();
            }
            tracing::info!(%ip, mailed, "password reset asked for");
            let page = ForgotPage {
                email: String::new(),
                sent: true,
                error: None,
            };
            render::page(&state, locale, None, Page::Forgot(page), StatusCode::OK).await
        }
        Err(e) => render::internal(&state, locale, e).await,
    }
}

async fn reset_form(
    state: &AppState,
    headers: &HeaderMap,
    token: String,
    form: FormState,
    status: StatusCode,
) -> Response {
    let locale = render::locale(None, headers);
    match resets::find(&state.db, &token).await {
        Ok(email) => {
            let page = ResetPage { token, email, form };
            render::page(state, locale, None, Page::ResetPassword(page), status).await
        }
        Err(TenancyError::NotFound) => {
            render::page(state, locale, None, Page::ResetInvalid, StatusCode::NOT_FOUND).await
        }
        Err(e) => render::internal(state, locale, e).await,
    }
}

pub async fn reset_page(State(state): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    reset_form(&state, &headers, token, FormState::default(), StatusCode::OK).await
}

pub async fn reset_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    FormFields(form): FormFields,
) -> Response {
    match resets::reset(&state.db, &token, &form).await {
        Ok(()) => {
            tracing::info!("password set through a reset link");
            Redirect::to("/login?notice=password-set").into_response()
        }
        Err(TenancyError::Invalid(form)) => {
            let form = FormState {
                values: Vec::new(),
                ..form
            };
            reset_form(&state, &headers, token, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(TenancyError::NotFound) => {
            let locale = render::locale(None, &headers);
            render::page(&state, locale, None, Page::ResetInvalid, StatusCode::NOT_FOUND).await
        }
        Err(e) => render::internal(&state, render::locale(None, &headers), e).await,
    }
}
