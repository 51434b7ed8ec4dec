//! The signed-in person's own page (`/account`): changing the password (which ends every other
//! session), switching the sign-in code from an authenticator app on (a new key shown as a QR
//! code, confirmed by the app's first code) and off (with a current code, counted like a
//! login's), and signing out everywhere.

use super::pages::{CheckedForm, SignedIn, field, now_secs, start_session};
use super::{AppState, render};
use crate::secrets;
use crate::tenancy::model::NewPassword;
use crate::tenancy::{TenancyError, password, totp};
use app::dto::{AccountNotice, AccountPage, FieldProblem, FormState, Page, TwoFactor};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;

/// A key made on this page and not confirmed yet: (the key sealed, since when in seconds).
const PENDING_TWO_FACTOR: &str = "pending_two_factor";
/// How long a new key waits for its first code.
const SETUP_SECS: u64 = 15 * 60;

fn pending_context(user_id: i64) -> String {
    format!("session.totp user {user_id}")
}

#[derive(Deserialize)]
pub struct AccountQuery {
    notice: Option<String>,
}

pub async fn account_page(State(state): State<AppState>, who: SignedIn, Query(query): Query<AccountQuery>) -> Response {
    let notice = match query.notice.as_deref() {
        Some("two-factor-on") => Some(AccountNotice::TwoFactorOn),
        Some("two-factor-off") => Some(AccountNotice::TwoFactorOff),
        Some("password-changed") => Some(AccountNotice::PasswordChanged),
        Some("mail-settings-saved") => Some(AccountNotice::MailSettingsSaved),
        _ => None,
    };
    render_account(&state, &who, notice, Refused::Nothing, StatusCode::OK).await
}

/// What the page shows as refused when it comes back from a form.
enum Refused {
    Nothing,
    /// The code typed to confirm or switch off the sign-in code.
    Code,
    /// The password form, with its problems.
    Password(FormState),
}

async fn render_account(
    state: &AppState,
    who: &SignedIn,
    notice: Option<AccountNotice>,
    refused: Refused,
    status: StatusCode,
) -> Response {
    let two_factor = match two_factor_state(state, who).await {
        Ok(two_factor) => two_factor,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let (code_refused, password_form) = match refused {
        Refused::Nothing => (false, FormState::default()),
        Refused::Code => (true, FormState::default()),
        // A typed password is never put back into the page.
        Refused::Password(form) => (
            false,
            FormState {
                values: Vec::new(),
                ..form
            },
        ),
    };
    let mail_settings = match super::mail_settings::of(state, who).await {
        Ok(settings) => settings,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let page = AccountPage {
        mail_settings,
        email: who.caller.email.clone(),
        two_factor,
        notice,
        code_refused,
        password_form,
    };
    render::page(state, who.locale, Some(who.viewer()), Page::Account(page), status).await
}

async fn two_factor_state(state: &AppState, who: &SignedIn) -> Result<TwoFactor, TenancyError> {
    if totp::is_enabled(&state.db, who.caller.user_id).await? {
        return Ok(TwoFactor::On);
    }
    Ok(match pending_key(who).await? {
        Some(secret) => setting_up(&who.caller.email, &secret),
        None => TwoFactor::Off,
    })
}

async fn pending_key(who: &SignedIn) -> Result<Option<Vec<u8>>, TenancyError> {
    let pending: Option<(String, u64)> = who.session.get(PENDING_TWO_FACTOR).await.ok().flatten();
    let Some((sealed, _)) = pending.filter(|(_, since)| now_secs().saturating_sub(*since) < SETUP_SECS) else {
        return Ok(None);
    };
    let key = secrets::open(&sealed, &pending_context(who.caller.user_id))?;
    Ok(totp::decode_base32(&key))
}

/// The key as the page shows it: in groups of four, and as a QR code of the app's address.
fn setting_up(email: &str, secret: &[u8]) -> TwoFactor {
    let key = totp::base32(secret)
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let address = totp::otpauth_uri("Vitrine", email, secret);
    let qr_svg = qrcode::QrCode::new(address.as_bytes())
        .map(|code| {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build();
            // The XML declaration has no place inside an HTML page.
            svg.find("<svg").map(|at| svg[at..].to_string()).unwrap_or_default()
        })
        .unwrap_or_default();
    TwoFactor::SettingUp { key, qr_svg }
}

/// Makes a new key (replacing one not confirmed yet) and shows it.
pub async fn start_two_factor(State(state): State<AppState>, who: SignedIn, _form: CheckedForm) -> Response {
    let secret = totp::new_secret();
    let sealed = match secrets::seal(&totp::base32(&secret), &pending_context(who.caller.user_id)) {
        Ok(sealed) => sealed,
        Err(e) => return render::internal(&state, who.locale, e).await,
    };
    if let Err(e) = who.session.insert(PENDING_TWO_FACTOR, (sealed, now_secs())).await {
        return render::internal(&state, who.locale, e).await;
    }
    Redirect::to("/account#two-factor").into_response()
}

/// Switches the sign-in code on once the app's first code for the new key is right.
pub async fn confirm_two_factor(
    State(state): State<AppState>,
    who: SignedIn,
    CheckedForm(form): CheckedForm,
) -> Response {
    let user_id = who.caller.user_id;
    let secret = match pending_key(&who).await {
        Ok(Some(secret)) => secret,
        // No key made, or made too long ago: the page offers to make one.
        Ok(None) => return Redirect::to("/account#two-factor").into_response(),
        Err(e) => return render::internal(&state, who.locale, e).await,
    };
    match totp::confirm(&state.db, user_id, &secret, field(&form, "code"), now_secs()).await {
        Ok(true) => {
            let _ = who.session.remove_value(PENDING_TWO_FACTOR).await;
            tracing::info!(user_id, "sign-in code switched on");
            Redirect::to("/account?notice=two-factor-on").into_response()
        }
        Ok(false) => render_account(&state, &who, None, Refused::Code, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => render::internal(&state, who.locale, e).await,
    }
}

/// Switches the sign-in code off with a current code; wrong codes count as failed logins.
pub async fn switch_off_two_factor(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    who: SignedIn,
    CheckedForm(form): CheckedForm,
) -> Response {
    let user_id = who.caller.user_id;
    let ip = state.client_ip(peer.ip(), &headers);
    let Ok(attempt) = state.limiter.begin(&who.caller.email, ip) else {
        return render_account(&state, &who, None, Refused::Code, StatusCode::TOO_MANY_REQUESTS).await;
    };
    let switched_off = async {
        if !totp::check(&state.db, user_id, field(&form, "code"), now_secs()).await? {
            return Ok(false);
        }
        totp::disable(&state.db, user_id).await?;
        Ok::<_, TenancyError>(true)
    };
    match switched_off.await {
        Ok(true) => {
            state.limiter.succeeded(attempt);
            tracing::info!(user_id, "sign-in code switched off");
            Redirect::to("/account?notice=two-factor-off").into_response()
        }
        Ok(false) => {
            tracing::info!(%ip, user_id, "code to switch off the sign-in code refused");
            render_account(&state, &who, None, Refused::Code, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => render::internal(&state, who.locale, e).await,
    }
}

/// Changes the password when the current one is right (wrong ones count as failed logins) and
/// ends every other session: this one goes on as a fresh session.
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    who: SignedIn,
    CheckedForm(form): CheckedForm,
) -> Response {
    let user_id = who.caller.user_id;
    let ip = state.client_ip(peer.ip(), &headers);
    let refuse_current = |problem| {
        Refused::Password(FormState {
            values: Vec::new(),
            problems: vec![("password_current".to_string(), problem)],
        })
    };
    let Ok(attempt) = state.limiter.begin(&who.caller.email, ip) else {
        let refused = refuse_current(FieldProblem::TooManyAttempts);
        return render_account(&state, &who, None, refused, StatusCode::TOO_MANY_REQUESTS).await;
    };
    let stored: Option<String> = match sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
        .bind(user_id)
        .fetch_optional(&state.db)
        .await
    {
        Ok(stored) => stored.flatten(),
        Err(e) => return render::internal(&state, who.locale, e).await,
    };
    if !password::verify(field(&form, "password_current").to_string(), stored).await {
        tracing::info!(%ip, user_id, "current password refused");
        let refused = refuse_current(FieldProblem::PasswordWrong);
        return render_account(&state, &who, None, refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    state.limiter.succeeded(attempt);
    let changed = async {
        let new = NewPassword::from_form(&form)?;
        let phc = password::hash(new.expose().to_string()).await?;
        who.caller.change_password(&state.db, &phc).await
    };
    match changed.await {
        Ok(generation) => {
            if let Err(e) = start_session(&who.session, user_id, generation).await {
                return render::internal(&state, who.locale, e).await;
            }
            tracing::info!(user_id, "password changed, other sessions ended");
            Redirect::to("/account?notice=password-changed").into_response()
        }
        Err(TenancyError::Invalid(form)) => {
            render_account(
                &state,
                &who,
                None,
                Refused::Password(form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => render::internal(&state, who.locale, e).await,
    }
}

/// Ends every session of the person, this one included.
pub async fn sign_out_everywhere(State(state): State<AppState>, who: SignedIn, _form: CheckedForm) -> Response {
    if let Err(e) = who.caller.end_sessions(&state.db).await {
        return render::internal(&state, who.locale, e).await;
    }
    let _ = who.session.flush().await;
    tracing::info!(user_id = who.caller.user_id, "signed out everywhere");
    Redirect::to("/login?notice=signed-out-everywhere").into_response()
}
