//! Making the demo shop misbehave (more errors, slower answers) for a while, so a new user sees
//! a threshold watch, raise its alarm, mail it and recover: from the agency page (agency
//! people) or with `vitrine demo misbehave` (the operator, through the control endpoint).

use super::AppState;
use super::admin::Operator;
use super::pages::{CheckedForm, SignedIn};
use app::dto::Problem;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use std::time::Duration;

/// The agency page's button: 30 % errors and 2 s more per answer, for 10 minutes.
pub const BUTTON: (f64, f64, Duration) = (0.3, 2.0, Duration::from_secs(600));

pub async fn misbehave_button(State(state): State<AppState>, who: SignedIn, _form: CheckedForm) -> Response {
    let Some(shop) = state.demo_shop.as_ref().filter(|_| who.caller.role.is_agency()) else {
        return who.problem(&state, Problem::NotFound).await;
    };
    let (error_rate, latency, duration) = BUTTON;
    shop.misbehave(error_rate, latency, duration);
    tracing::info!(user_id = who.caller.user_id, "demo shop misbehaves");
    Redirect::to("/agency?notice=misbehaving").into_response()
}

/// `POST /admin/demo/misbehave` with `error_rate latency_secs for_secs` in the body.
pub async fn misbehave_operator(State(state): State<AppState>, _: Operator, body: String) -> Response {
    let Some(shop) = state.demo_shop.as_ref() else {
        return (
            StatusCode::CONFLICT,
            "the server does not run the demo (serve --demo)\n",
        )
            .into_response();
    };
    let numbers: Vec<f64> = body.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    let [error_rate, latency, secs] = numbers[..] else {
        return (StatusCode::BAD_REQUEST, "expected: error_rate latency_secs for_secs\n").into_response();
    };
    if !(0.0..=1.0).contains(&error_rate) || !(0.0..=60.0).contains(&latency) || !(0.0..=86_400.0).contains(&secs) {
        return (
            StatusCode::BAD_REQUEST,
            "the error rate is between 0 and 1, the latency at most 60 s, the duration at most a day\n",
        )
            .into_response();
    }
    shop.misbehave(error_rate, latency, Duration::from_secs_f64(secs));
    format!(
        "The demo shop now answers {:.0} % of requests with an error and {latency} s slower, for {secs} s.\n",
        error_rate * 100.0
    )
    .into_response()
}
