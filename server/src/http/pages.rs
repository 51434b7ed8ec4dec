//! Request handlers for the pages and their forms, and the extractors that
//! establish who is asking (session), what they may see (scope) and that a
//! form really comes from our own page (CSRF token).

use super::render::{self, locale};
use super::{AppState, Metrics};
use crate::tenancy::model::Language;
use crate::tenancy::password;
use crate::tenancy::scope::{Caller, Scope, ScopedClient, ScopedEnvironment, ScopedProject, ScopedTarget};
use crate::tenancy::{TenancyError, invites, tokens, totp};
use app::Locale;
use app::dto::*;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use subtle::ConstantTimeEq;
use tower_sessions::Session;
use tower_sessions::session::Error as SessionError;

const USER_ID: &str = "user_id";
/// A login whose password was right and whose code is still to come:
/// (user id, since when in seconds, e-mail, where to go next).
const PENDING_LOGIN: &str = "pending_login";
/// How long the code may take after the password.
const PENDING_LOGIN_SECS: u64 = 5 * 60;
const CSRF: &str = "csrf";
/// When the session was signed in (seconds) and the person's session generation then: it ends
/// after `session_max_secs`, or when the person signs out everywhere or changes the password.
const SIGNED_IN: &str = "signed_in";
const FLASH_TOKEN: &str = "flash_token";

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn session_of(parts: &Parts) -> Option<Session> {
    parts.extensions.get::<Session>().cloned()
}

/// A signed-in person. Anonymous requests are redirected to the login page.
pub struct SignedIn {
    pub caller: Caller,
    pub csrf: String,
    pub session: Session,
    pub locale: Locale,
}

impl SignedIn {
    pub fn viewer(&self) -> Viewer {
        Viewer {
            email: self.caller.email.clone(),
            home: self.caller.home(),
            csrf: self.csrf.clone(),
            language: self.caller.language.clone(),
        }
    }

    pub(super) fn scope<'a>(&'a self, state: &'a AppState) -> Scope<'a> {
        Scope::new(&state.db, &self.caller)
    }

    pub(super) async fn problem(&self, state: &AppState, problem: Problem) -> Response {
        render::problem(state, self.locale, Some(self.viewer()), problem).await
    }

    /// The response for a failed tenancy operation that is not a form problem.
    pub(crate) async fn failure(&self, state: &AppState, err: TenancyError) -> Response {
        match err {
            TenancyError::NotFound | TenancyError::Invalid(_) => self.problem(state, Problem::NotFound).await,
            TenancyError::Forbidden => self.problem(state, Problem::Forbidden).await,
            other => render::internal(state, self.locale, other).await,
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || {
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let target = if parts.method == axum::http::Method::GET {
                format!("/login?next={}", urlencode(path))
            } else {
                "/login".to_string()
            };
            Redirect::to(&target).into_response()
        };
        let Some(session) = session_of(parts) else {
            return Err(to_login());
        };
        let user_id: Option<i64> = session.get(USER_ID).await.ok().flatten();
        let csrf: Option<String> = session.get(CSRF).await.ok().flatten();
        let signed_in: Option<(u64, i64)> = session.get(SIGNED_IN).await.ok().flatten();
        let (Some(user_id), Some(csrf), Some((since, generation))) = (user_id, csrf, signed_in) else {
            return Err(to_login());
        };
        let caller = match Caller::load(&state.db, user_id).await {
            Ok(caller) => caller,
            Err(e) => return Err(render::internal(state, locale(None, &parts.headers), e).await),
        };
        // Gone: the person was removed, the session is older than its maximum lifetime, or the
        // person signed out everywhere or changed the password since.
        let Some(caller) = caller.filter(|caller| {
            now_secs().saturating_sub(since) < state.config.session_max_secs && caller.session_generation == generation
        }) else {
            let _ = session.flush().await;
            return Err(to_login());
        };
        let locale = locale(caller.language.as_deref(), &parts.headers);
        Ok(SignedIn {
            caller,
            csrf,
            session,
            locale,
        })
    }
}

pub(crate) fn path_param(params: &RawPathParams, name: &str) -> String {
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
        .unwrap_or_default()
}

/// A client named in the path (`{client}`) that the signed-in person may see;
/// anything else is answered with the same 404 as a client that does not exist.
pub struct ClientAccess {
    pub who: SignedIn,
    pub client: ScopedClient,
}

impl FromRequestParts<AppState> for ClientAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match who.scope(state).client(&path_param(&params, "client")).await {
            Ok(client) => Ok(ClientAccess { who, client }),
            Err(e) => Err(who.failure(state, e).await),
        }
    }
}

/// A project (`{project}`) of a client in the path, both visible to the caller.
pub struct ProjectAccess {
    pub access: ClientAccess,
    pub project: ScopedProject,
}

impl FromRequestParts<AppState> for ProjectAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let access = ClientAccess::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let who = &access.who;
        match who
            .scope(state)
            .project(&access.client, &path_param(&params, "project"))
            .await
        {
            Ok(project) => Ok(ProjectAccess { access, project }),
            Err(e) => Err(who.failure(state, e).await),
        }
    }
}

/// An environment (`{environment}`, its name) of a project in the path, all visible to the caller.
pub struct EnvironmentAccess {
    pub who: SignedIn,
    pub client: ScopedClient,
    pub project: ScopedProject,
    pub environment: ScopedEnvironment,
}

impl FromRequestParts<AppState> for EnvironmentAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ProjectAccess { access, project } = ProjectAccess::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ClientAccess { who, client } = access;
        match who
            .scope(state)
            .environment(&project, &path_param(&params, "environment"))
            .await
        {
            Ok(environment) => Ok(EnvironmentAccess {
                who,
                client,
                project,
                environment,
            }),
            Err(e) => Err(who.failure(state, e).await),
        }
    }
}

/// A target (`{target}`, its numeric id) of an environment in the path. An id that is
/// not a number, or names a target of any other environment, is the same 404.
pub struct TargetAccess {
    pub access: EnvironmentAccess,
    pub target: ScopedTarget,
}

impl FromRequestParts<AppState> for TargetAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let access = EnvironmentAccess::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let who = &access.who;
        let found = match path_param(&params, "target").parse::<i64>() {
            Ok(id) => who.scope(state).target(&access.environment, id).await,
            Err(_) => Err(TenancyError::NotFound),
        };
        match found {
            Ok(target) => Ok(TargetAccess { access, target }),
            Err(e) => Err(who.failure(state, e).await),
        }
    }
}

/// The fields of a submitted form, in order. A body that is not a form gives
/// no fields (so the page shows "required" beside each); a body over the
/// limit gives the 413 page.
pub struct FormFields(pub Vec<(String, String)>);

impl FromRequest<AppState> for FormFields {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let locale = locale(None, request.headers());
        match Bytes::from_request(request, state).await {
            Ok(body) => Ok(FormFields(serde_urlencoded::from_bytes(&body).unwrap_or_default())),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(render::problem(state, locale, None, Problem::TooLarge).await)
            }
            Err(rejection) => Err(rejection.into_response()),
        }
    }
}

/// The fields of a form sent by a signed-in person, accepted only when its
/// `csrf` field equals the token of the session.
pub struct CheckedForm(pub Vec<(String, String)>);

impl FromRequest<AppState> for CheckedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let locale = locale(None, request.headers());
        let expected: Option<String> = match request.extensions().get::<Session>() {
            Some(session) => session.get(CSRF).await.ok().flatten(),
            None => None,
        };
        let FormFields(fields) = FormFields::from_request(request, state).await?;
        let sent = field(&fields, CSRF);
        match expected {
            Some(expected) if bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) => Ok(CheckedForm(fields)),
            _ => Err(render::problem(state, locale, None, Problem::CsrfRejected).await),
        }
    }
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e[1..].to_string())
        .unwrap_or_default()
}

/// Only same-site paths are followed after login, never `//host` or `/\host`;
/// characters outside ASCII are percent-encoded for the `Location` header.
fn safe_next(next: &str) -> Option<String> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    ok.then(|| {
        let mut encoded = String::with_capacity(next.len());
        for c in next.chars() {
            if c.is_ascii() {
                encoded.push(c);
            } else {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    encoded.push_str(&format!("%{byte:02X}"));
                }
            }
        }
        encoded
    })
}

pub async fn home(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    match SignedIn::from_request_parts(&mut parts, &state).await {
        Ok(who) => Redirect::to(&who.caller.home()).into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    notice: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> Response {
    if session.get::<i64>(USER_ID).await.ok().flatten().is_some() {
        return Redirect::to("/").into_response();
    }
    let notice = match query.notice.as_deref() {
        Some("logged-out") => Some(Notice::LoggedOut),
        Some("signed-out-everywhere") => Some(Notice::SignedOutEverywhere),
        Some("password-set") => Some(Notice::PasswordSet),
        _ => None,
    };
    let next = query.next.as_deref().and_then(safe_next);
    let page = Page::Login(LoginPage {
        next,
        notice,
        ..LoginPage::default()
    });
    render::page(&state, locale(None, &headers), None, page, StatusCode::OK).await
}

pub async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    FormFields(form): FormFields,
) -> Response {
    let locale = locale(None, &headers);
    if form.iter().any(|(name, _)| name == "code") {
        return login_code(&state, peer, &headers, session, &form).await;
    }
    let email = field(&form, "email").trim().to_string();
    let account = email.to_lowercase();
    let next = safe_next(field(&form, "next"));
    let refuse = |error: LoginError, status: StatusCode| {
        let page = Page::Login(LoginPage {
            email: email.clone(),
            next: next.clone(),
            error: Some(error),
            ..LoginPage::default()
        });
        render::page(&state, locale, None, page, status)
    };
    let ip = state.client_ip(peer.ip(), &headers);
    let attempt = match state.limiter.begin(&account, ip) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut response = refuse(
                LoginError::RateLimited { retry_after_secs },
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            return response;
        }
    };
    let user: Option<(i64, Option<String>)> =
        match sqlx::query_as("SELECT id, password_hash FROM users WHERE email = ?")
            .bind(&account)
            .fetch_optional(&state.db)
            .await
        {
            Ok(user) => user,
            Err(e) => return render::internal(&state, locale, e).await,
        };
    let (user_id, stored) = match user {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let verified = password::verify(field(&form, "password").to_string(), stored).await;
    let Some(user_id) = user_id.filter(|_| verified) else {
        // The reservation stays: it was this failure.
        tracing::info!(%ip, "login failed");
        return refuse(LoginError::InvalidCredentials, StatusCode::UNAUTHORIZED).await;
    };
    state.limiter.succeeded(attempt);
    match totp::is_enabled(&state.db, user_id).await {
        Ok(false) => sign_in(&state, locale, session, user_id, next).await,
        Ok(true) => {
            let pending = (user_id, now_secs(), account, next.clone());
            if let Err(e) = session.insert(PENDING_LOGIN, pending).await {
                return render::internal(&state, locale, e).await;
            }
            code_page(&state, locale, None, StatusCode::OK).await
        }
        Err(e) => render::internal(&state, locale, e).await,
    }
}

pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The second step of a login: the code from the person's authenticator app.
async fn code_page(state: &AppState, locale: Locale, error: Option<LoginError>, status: StatusCode) -> Response {
    let page = Page::Login(LoginPage {
        code_step: true,
        error,
        ..LoginPage::default()
    });
    render::page(state, locale, None, page, status).await
}

/// Checks the code of a login whose password was right; counted like a password guess.
async fn login_code(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    session: Session,
    form: &[(String, String)],
) -> Response {
    let locale = locale(None, headers);
    let pending: Option<(i64, u64, String, Option<String>)> = session.get(PENDING_LOGIN).await.ok().flatten();
    let Some((user_id, _since, account, next)) =
        pending.filter(|p| now_secs().saturating_sub(p.1) < PENDING_LOGIN_SECS)
    else {
        // No password step, or too long ago: start again.
        let page = Page::Login(LoginPage {
            error: Some(LoginError::InvalidCredentials),
            ..LoginPage::default()
        });
        return render::page(state, locale, None, page, StatusCode::UNAUTHORIZED).await;
    };
    let ip = state.client_ip(peer.ip(), headers);
    let attempt = match state.limiter.begin(&account, ip) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let error = Some(LoginError::RateLimited { retry_after_secs });
            return code_page(state, locale, error, StatusCode::TOO_MANY_REQUESTS).await;
        }
    };
    match totp::check(&state.db, user_id, field(form, "code"), now_secs()).await {
        Ok(true) => {
            state.limiter.succeeded(attempt);
            let _ = session.remove_value(PENDING_LOGIN).await;
            sign_in(state, locale, session, user_id, next).await
        }
        Ok(false) => {
            tracing::info!(%ip, "login code refused");
            code_page(state, locale, Some(LoginError::InvalidCode), StatusCode::UNAUTHORIZED).await
        }
        Err(e) => render::internal(state, locale, e).await,
    }
}

/// Replaces the session by a fresh record with a new id for `user_id`, signed in now under
/// the person's session `generation`: nothing from before carries over, and a session id
/// planted before the login is worthless.
pub(super) async fn start_session(session: &Session, user_id: i64, generation: i64) -> Result<(), SessionError> {
    session.clear().await;
    session.cycle_id().await?;
    session.insert(USER_ID, user_id).await?;
    session.insert(SIGNED_IN, (now_secs(), generation)).await?;
    session.insert(CSRF, random_token()).await
}

/// Starts the signed-in session of `user_id` and goes on to `next`.
async fn sign_in(state: &AppState, locale: Locale, session: Session, user_id: i64, next: Option<String>) -> Response {
    let generation: i64 = match sqlx::query_scalar("SELECT session_generation FROM users WHERE id = ?")
        .bind(user_id)
        .fetch_one(&state.db)
        .await
    {
        Ok(generation) => generation,
        Err(e) => return render::internal(state, locale, e).await,
    };
    if let Err(e) = start_session(&session, user_id, generation).await {
        return render::internal(state, locale, e).await;
    }
    tracing::info!(user_id, "login");
    Redirect::to(next.as_deref().unwrap_or("/")).into_response()
}

pub async fn logout(who: SignedIn, _form: CheckedForm) -> Response {
    let _ = who.session.flush().await;
    Redirect::to("/login?notice=logged-out").into_response()
}

/// Sets the signed-in person's own language (empty: follow the browser).
pub async fn set_language(State(state): State<AppState>, who: SignedIn, CheckedForm(form): CheckedForm) -> Response {
    let language = match field(&form, "language") {
        "" => None,
        other => match Language::parse(other) {
            Ok(language) => Some(language.as_str()),
            Err(_) => return who.problem(&state, Problem::NotFound).await,
        },
    };
    if let Err(e) = who.scope(&state).set_own_language(language).await {
        return who.failure(&state, e).await;
    }
    Redirect::to(&who.caller.home()).into_response()
}

async fn render_agency(state: &AppState, who: &SignedIn, client_form: FormState, status: StatusCode) -> Response {
    let scope = who.scope(state);
    let loaded = async { Ok::<_, TenancyError>((scope.agency_name().await?, scope.summaries(None).await?)) };
    match loaded.await {
        Ok((agency_name, clients)) => {
            let home = AgencyHome {
                agency_name,
                clients,
                can_create_client: who.caller.role.may_create_clients(),
                client_form,
                demo: state.demo_shop.as_ref().map(|shop| match shop.trouble() {
                    Some(trouble) => DemoShopState::Misbehaving {
                        minutes_left: trouble
                            .until
                            .saturating_duration_since(std::time::Instant::now())
                            .as_secs()
                            .div_ceil(60),
                    },
                    None => DemoShopState::Normal,
                }),
            };
            render::page(state, who.locale, Some(who.viewer()), Page::AgencyHome(home), status).await
        }
        Err(e) => who.failure(state, e).await,
    }
}

pub async fn agency_home(State(state): State<AppState>, who: SignedIn) -> Response {
    if !who.caller.role.is_agency() {
        return who.problem(&state, Problem::NotFound).await;
    }
    render_agency(&state, &who, FormState::default(), StatusCode::OK).await
}

pub async fn create_client(State(state): State<AppState>, who: SignedIn, CheckedForm(form): CheckedForm) -> Response {
    if !who.caller.role.is_agency() {
        return who.problem(&state, Problem::NotFound).await;
    }
    match who.scope(&state).create_client(&form).await {
        Ok(client) => Redirect::to(&format!("/clients/{}", client.slug)).into_response(),
        Err(TenancyError::Invalid(form)) => render_agency(&state, &who, form, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => who.failure(&state, e).await,
    }
}

/// A secret a form just made, shown in this one response: never kept for a redirect (not in
/// the session either), never cached by the browser (render::page), never logged.
enum ShownOnce {
    Nothing,
    Token(TokenNotice),
    Invite(InviteCreated),
}

/// The client page, with what `shown` holds instead of the notices kept in the session.
async fn render_client(
    state: &AppState,
    access: &ClientAccess,
    failed_form: Option<ClientForm>,
    shown: ShownOnce,
    status: StatusCode,
) -> Response {
    let (token_notice, invite_created) = match shown {
        ShownOnce::Nothing => (None, None),
        ShownOnce::Token(notice) => (Some(notice), None),
        ShownOnce::Invite(invite) => (None, Some(invite)),
    };
    let who = &access.who;
    let summary = match who.scope(state).summaries(Some(&access.client)).await {
        Ok(mut list) if !list.is_empty() => list.remove(0),
        Ok(_) => return who.problem(state, Problem::NotFound).await,
        Err(e) => return who.failure(state, e).await,
    };
    let tokens = if tokens::may_query(who.caller.role) {
        let listed = match tokens::list(&state.db, &state.token_uses, &who.caller, &access.client).await {
            Ok(listed) => listed,
            Err(e) => return who.failure(state, e).await,
        };
        Some(ApiTokens {
            tokens: listed,
            api_base: state.public_base.to_string(),
            notice: match token_notice {
                Some(notice) => Some(notice),
                None => take_flash(access, FLASH_TOKEN).await,
            },
        })
    } else {
        None
    };
    let home = ClientHome {
        client: summary,
        can_manage_projects: who.caller.role.may_manage_projects(),
        can_invite: who.caller.role.may_invite(),
        can_see_contract: who.caller.role.may_see_contract(),
        failed_form,
        invite_created,
        tokens,
    };
    render::page(state, who.locale, Some(who.viewer()), Page::ClientHome(home), status).await
}

/// Keeps a notice for the next rendering of this client's page (not another client's).
pub(crate) async fn put_flash<T: Serialize>(access: &ClientAccess, key: &str, notice: T) {
    if let Err(e) = access.who.session.insert(key, (&access.client.slug, notice)).await {
        tracing::warn!(error = %e, key, "storing a notice in the session");
    }
}

/// The notice kept for this client's page, removed as it is shown: it appears once.
pub(crate) async fn take_flash<T: DeserializeOwned>(access: &ClientAccess, key: &str) -> Option<T> {
    let session = &access.who.session;
    let flash: Option<(String, T)> = session.get(key).await.ok().flatten();
    match flash {
        Some((client, notice)) if client == access.client.slug => {
            let _ = session.remove_value(key).await;
            Some(notice)
        }
        _ => None,
    }
}

pub async fn client_home(State(state): State<AppState>, access: ClientAccess) -> Response {
    render_client(&state, &access, None, ShownOnce::Nothing, StatusCode::OK).await
}

/// After a form on the client page: back to the page, or the page with the form's problems.
/// `section` is the fragment (`#…`) of the part of the page the form belongs to, or empty.
async fn after_client_form(
    state: &AppState,
    access: &ClientAccess,
    result: Result<(), TenancyError>,
    section: &str,
    failed: impl FnOnce(FormState) -> ClientForm,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/clients/{}{section}", access.client.slug)).into_response(),
        Err(TenancyError::Invalid(form)) => {
            render_client(
                state,
                access,
                Some(failed(form)),
                ShownOnce::Nothing,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => access.who.failure(state, e).await,
    }
}

pub async fn create_project(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let result = access.who.scope(&state).create_project(&access.client, &form).await;
    after_client_form(&state, &access, result, "", ClientForm::Project).await
}

pub async fn create_environment(
    State(state): State<AppState>,
    ProjectAccess { access, project }: ProjectAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let result = access.who.scope(&state).create_environment(&project, &form).await;
    let slug = project.slug.clone();
    after_client_form(&state, &access, result, "", |form| ClientForm::Environment {
        project: slug,
        form,
    })
    .await
}

pub async fn create_invite(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let ttl = state.config.invite_ttl_secs;
    let context = crate::notify::alert::MailContext::new(&state.public_base);
    match who
        .scope(&state)
        .create_invite(&access.client, &form, ttl, &context)
        .await
    {
        Ok((email, token)) => {
            state.outbox.wake();
            tracing::info!(client = %access.client.slug, email = %email, "invitation created");
            let invite = InviteCreated {
                email: email.as_str().to_string(),
                link: format!("{}/invite/{token}", state.public_base),
            };
            render_client(&state, &access, None, ShownOnce::Invite(invite), StatusCode::CREATED).await
        }
        Err(e) => after_client_form(&state, &access, Err(e), "", ClientForm::Invite).await,
    }
}

/// Where the client page shows its API tokens.
const TOKENS_SECTION: &str = "#api-tokens";

/// Creates an API token and shows it, once, in this response: it is never kept anywhere
/// but as its hash (not in the session for a redirect either), nor cached by the browser.
pub async fn create_token(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    match tokens::create_for(&state.db, &who.caller, &access.client, &form).await {
        Ok((name, token)) => {
            tracing::info!(client = %access.client.slug, name = %name, "API token created");
            let notice = TokenNotice::Created { name, token };
            // Pages are never cached (render::page), so neither is the token.
            render_client(&state, &access, None, ShownOnce::Token(notice), StatusCode::CREATED).await
        }
        Err(e) => after_client_form(&state, &access, Err(e), TOKENS_SECTION, ClientForm::Token).await,
    }
}

/// Revokes an API token (`{api_token}`, its id) of the client in the path.
pub async fn revoke_token(
    State(state): State<AppState>,
    access: ClientAccess,
    params: RawPathParams,
    CheckedForm(_form): CheckedForm,
) -> Response {
    let who = &access.who;
    // An id that is not a number names no token: the same 404 as a missing one.
    let id = path_param(&params, "api_token").parse::<i64>().unwrap_or(-1);
    let result = match tokens::revoke(&state.db, &who.caller, &access.client, id).await {
        Ok(name) => {
            tracing::info!(client = %access.client.slug, token = id, name = %name, "API token revoked");
            put_flash(&access, FLASH_TOKEN, TokenNotice::Revoked { name }).await;
            Ok(())
        }
        Err(e) => Err(e),
    };
    after_client_form(&state, &access, result, TOKENS_SECTION, ClientForm::Token).await
}

pub async fn invite_page(State(state): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let locale = locale(None, &headers);
    match invites::find(&state.db, &token).await {
        Ok(invite) => {
            let page = Page::AcceptInvite(AcceptInvite {
                token,
                email: invite.email,
                client_name: invite.client_name,
                form: FormState::default(),
            });
            render::page(&state, locale, None, page, StatusCode::OK).await
        }
        Err(TenancyError::NotFound) => {
            render::page(&state, locale, None, Page::InviteInvalid, StatusCode::NOT_FOUND).await
        }
        Err(e) => render::internal(&state, locale, e).await,
    }
}

pub async fn invite_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    FormFields(form): FormFields,
) -> Response {
    let locale = locale(None, &headers);
    let invite = match invites::find(&state.db, &token).await {
        Ok(invite) => invite,
        Err(TenancyError::NotFound) => {
            return render::page(&state, locale, None, Page::InviteInvalid, StatusCode::NOT_FOUND).await;
        }
        Err(e) => return render::internal(&state, locale, e).await,
    };
    match invites::accept(&state.db, &token, &form).await {
        Ok(()) => Redirect::to("/login?notice=password-set").into_response(),
        Err(TenancyError::Invalid(form)) => {
            let page = Page::AcceptInvite(AcceptInvite {
                token,
                email: invite.email,
                client_name: invite.client_name,
                form,
            });
            render::page(&state, locale, None, page, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(TenancyError::NotFound) => {
            render::page(&state, locale, None, Page::InviteInvalid, StatusCode::NOT_FOUND).await
        }
        Err(e) => render::internal(&state, locale, e).await,
    }
}

pub async fn health_live() -> &'static str {
    "ok\n"
}

pub async fn health_ready(State(state): State<AppState>) -> Response {
    match sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&state.db).await {
        Ok(_) => "ok\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let metrics: &Metrics = &state.metrics;
    let (targets, up) = state.scraper.counts();
    let future = state.scraper.future_samples_total();
    let tsdb = state.tsdb.clone();
    let store = tokio::task::spawn_blocking(move || super::metrics::render_store(&tsdb, targets, up, future))
        .await
        .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        metrics.render() + &store + &state.rules.render_metrics(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next("/clients/acme").as_deref(), Some("/clients/acme"));
        assert_eq!(safe_next("/clients/ä?x").as_deref(), Some("/clients/%C3%A4?x"));
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "",
            "/x\r\nSet-Cookie: a=b",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
        assert_eq!(urlencode("/clients/a b?x=1&y"), "%2Fclients%2Fa+b%3Fx%3D1%26y");
    }
}
