//! The route table. The router is built from it and `vitrine routes` prints
//! it, so the tenancy and CSRF tests cover every route there is.

use super::{
    AppState, account, admin, alertmanager, annotations, api, billing, channels, dashboards, demo, explore,
    mail_settings, outbox, pages, resets, targets, thresholds,
};
use crate::status::routes as status;
use axum::routing::{MethodRouter, get, post};
use serde::Serialize;

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone, no session needed.
    Public,
    /// Only signed-in people; anonymous visitors are sent to the login page.
    SignedIn,
    /// Only the operator's command line, with the token from `<data_dir>/control`; 404 for everyone else.
    Operator,
    /// Prometheus API clients with a client's API token; 401 in Prometheus' envelope otherwise.
    Token,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct RouteSpec {
    pub method: &'static str,
    /// axum path pattern; `{client}` and `{project}` are slugs, `{environment}` a name,
    /// `{target}` and `{api_token}` numeric ids, all resolved through the scoped access layer.
    pub path: &'static str,
    pub access: Access,
}

pub fn table() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    use Access::*;
    fn r(
        method: &'static str,
        path: &'static str,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> (RouteSpec, MethodRouter<AppState>) {
        (RouteSpec { method, path, access }, handler)
    }
    vec![
        r("GET", "/", Public, get(pages::home)),
        r("GET", "/login", Public, get(pages::login_page)),
        r("POST", "/login", Public, post(pages::login_submit)),
        r("POST", "/logout", SignedIn, post(pages::logout)),
        r("GET", "/account", SignedIn, get(account::account_page)),
        r("POST", "/account/language", SignedIn, post(pages::set_language)),
        r("POST", "/account/password", SignedIn, post(account::change_password)),
        r("POST", "/account/mails", SignedIn, post(mail_settings::save)),
        r(
            "POST",
            "/account/sign-out-everywhere",
            SignedIn,
            post(account::sign_out_everywhere),
        ),
        r("POST", "/account/two-factor", SignedIn, post(account::start_two_factor)),
        r(
            "POST",
            "/account/two-factor/confirm",
            SignedIn,
            post(account::confirm_two_factor),
        ),
        r(
            "POST",
            "/account/two-factor/off",
            SignedIn,
            post(account::switch_off_two_factor),
        ),
        r("GET", "/agency", SignedIn, get(pages::agency_home)),
        r("POST", "/agency/clients", SignedIn, post(pages::create_client)),
        r("GET", "/agency/outbox", SignedIn, get(outbox::outbox_page)),
        r("GET", "/agency/billing", SignedIn, get(billing::billing_page)),
        r("POST", "/agency/billing/items", SignedIn, post(billing::create_item)),
        r(
            "POST",
            "/agency/billing/items/{item}",
            SignedIn,
            post(billing::update_item),
        ),
        r(
            "POST",
            "/agency/billing/items/{item}/archive",
            SignedIn,
            post(billing::archive_item),
        ),
        r(
            "POST",
            "/agency/billing/stripe-keys",
            SignedIn,
            post(billing::save_keys),
        ),
        r(
            "GET",
            "/clients/{client}/contract",
            SignedIn,
            get(billing::contract_page),
        ),
        r(
            "POST",
            "/clients/{client}/contract/record",
            SignedIn,
            post(billing::record_contract),
        ),
        r(
            "POST",
            "/clients/{client}/contract/stripe/checkout",
            SignedIn,
            post(billing::stripe_checkout),
        ),
        r(
            "POST",
            "/clients/{client}/contract/stripe/subscribe",
            SignedIn,
            post(billing::stripe_subscribe),
        ),
        r(
            "POST",
            "/clients/{client}/contract/stripe/change",
            SignedIn,
            post(billing::stripe_change),
        ),
        r(
            "POST",
            "/clients/{client}/contract/stripe/portal",
            SignedIn,
            post(billing::stripe_portal),
        ),
        // Signed by the agency's Stripe secret instead of a session; Stripe's events are small.
        r(
            "POST",
            "/webhooks/stripe/{agency}",
            Public,
            post(billing::stripe_webhook).layer(axum::extract::DefaultBodyLimit::max(1 << 20)),
        ),
        r("POST", "/agency/demo/misbehave", SignedIn, post(demo::misbehave_button)),
        r(
            "POST",
            "/agency/outbox/{mail}/retry",
            SignedIn,
            post(outbox::retry_mail),
        ),
        r("GET", "/clients/{client}", SignedIn, get(pages::client_home)),
        r("GET", "/clients/{client}/explore", SignedIn, get(explore::explore_page)),
        r(
            "POST",
            "/clients/{client}/projects",
            SignedIn,
            post(pages::create_project),
        ),
        r(
            "POST",
            "/clients/{client}/projects/{project}/environments",
            SignedIn,
            post(pages::create_environment),
        ),
        r(
            "GET",
            "/clients/{client}/projects/{project}/environments/{environment}/targets",
            SignedIn,
            get(targets::targets_page),
        ),
        r(
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/targets",
            SignedIn,
            post(targets::add_target),
        ),
        r(
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/targets/import",
            SignedIn,
            post(targets::import_targets),
        ),
        r(
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/targets/{target}/test",
            SignedIn,
            post(targets::test_target),
        ),
        r(
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/targets/{target}/delete",
            SignedIn,
            post(targets::delete_target),
        ),
        r(
            "POST",
            "/clients/{client}/invites",
            SignedIn,
            post(pages::create_invite),
        ),
        r("POST", "/clients/{client}/tokens", SignedIn, post(pages::create_token)),
        r(
            "POST",
            "/clients/{client}/tokens/{api_token}/revoke",
            SignedIn,
            post(pages::revoke_token),
        ),
        r(
            "GET",
            "/clients/{client}/thresholds",
            SignedIn,
            get(thresholds::thresholds_page),
        ),
        r(
            "POST",
            "/clients/{client}/thresholds",
            SignedIn,
            post(thresholds::create_threshold),
        ),
        r(
            "POST",
            "/clients/{client}/thresholds/import",
            SignedIn,
            post(thresholds::import_rules),
        ),
        r(
            "POST",
            "/clients/{client}/thresholds/preview",
            SignedIn,
            post(thresholds::preview_threshold),
        ),
        r(
            "POST",
            "/clients/{client}/thresholds/{threshold}/test",
            SignedIn,
            post(thresholds::test_threshold),
        ),
        r(
            "POST",
            "/clients/{client}/thresholds/{threshold}/delete",
            SignedIn,
            post(thresholds::delete_threshold),
        ),
        r(
            "POST",
            "/clients/{client}/recordings",
            SignedIn,
            post(thresholds::create_recording),
        ),
        r(
            "POST",
            "/clients/{client}/recordings/{recording}/delete",
            SignedIn,
            post(thresholds::delete_recording),
        ),
        r(
            "POST",
            "/clients/{client}/silences",
            SignedIn,
            post(thresholds::create_silence),
        ),
        r(
            "POST",
            "/clients/{client}/silences/{silence}/expire",
            SignedIn,
            post(thresholds::expire_silence),
        ),
        r(
            "GET",
            "/clients/{client}/dashboards",
            SignedIn,
            get(dashboards::dashboards_page),
        ),
        r(
            "GET",
            "/clients/{client}/dashboards/{dashboard}",
            SignedIn,
            get(dashboards::dashboard_page),
        ),
        r(
            "POST",
            "/clients/{client}/dashboards/import",
            SignedIn,
            post(dashboards::import_dashboard),
        ),
        r(
            "POST",
            "/clients/{client}/projects/{project}/dashboards",
            SignedIn,
            post(dashboards::add_default_dashboard),
        ),
        r(
            "GET",
            "/clients/{client}/dashboards/{dashboard}/panels/{panel}/csv",
            SignedIn,
            get(dashboards::panel_csv),
        ),
        r(
            "POST",
            "/clients/{client}/dashboards/{dashboard}/markers",
            SignedIn,
            post(dashboards::create_marker),
        ),
        r(
            "POST",
            "/clients/{client}/markers/{marker}/delete",
            SignedIn,
            post(dashboards::delete_marker),
        ),
        r(
            "GET",
            "/clients/{client}/channels",
            SignedIn,
            get(channels::channels_page),
        ),
        r(
            "POST",
            "/clients/{client}/channels",
            SignedIn,
            post(channels::create_channel),
        ),
        r(
            "POST",
            "/clients/{client}/channels/import",
            SignedIn,
            post(channels::import_alertmanager),
        ),
        r(
            "POST",
            "/clients/{client}/channels/timing",
            SignedIn,
            post(channels::save_timing),
        ),
        r(
            "POST",
            "/clients/{client}/channels/quiet",
            SignedIn,
            post(channels::add_inhibit_rule),
        ),
        r(
            "POST",
            "/clients/{client}/channels/quiet/{rule}/delete",
            SignedIn,
            post(channels::delete_inhibit_rule),
        ),
        r(
            "POST",
            "/clients/{client}/channels/hours",
            SignedIn,
            post(channels::add_quiet_hours),
        ),
        r(
            "POST",
            "/clients/{client}/channels/hours/{hours}/delete",
            SignedIn,
            post(channels::delete_quiet_hours),
        ),
        r(
            "POST",
            "/clients/{client}/channels/{channel}/test",
            SignedIn,
            post(channels::test_channel),
        ),
        r(
            "POST",
            "/clients/{client}/channels/{channel}/delete",
            SignedIn,
            post(channels::delete_channel),
        ),
        r("GET", "/clients/{client}/status", SignedIn, get(status::settings_page)),
        r(
            "POST",
            "/clients/{client}/status",
            SignedIn,
            post(status::save_settings),
        ),
        r(
            "POST",
            "/clients/{client}/status/components",
            SignedIn,
            post(status::create_component),
        ),
        r(
            "POST",
            "/clients/{client}/status/components/{component}/sources",
            SignedIn,
            post(status::add_source),
        ),
        r(
            "POST",
            "/clients/{client}/status/components/{component}/override",
            SignedIn,
            post(status::override_component),
        ),
        r(
            "POST",
            "/clients/{client}/status/components/{component}/delete",
            SignedIn,
            post(status::delete_component),
        ),
        r(
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/probes",
            SignedIn,
            post(status::add_probe),
        ),
        r(
            "POST",
            "/clients/{client}/projects/{project}/environments/{environment}/probes/{probe}/delete",
            SignedIn,
            post(status::delete_probe),
        ),
        r(
            "POST",
            "/clients/{client}/status/incidents",
            SignedIn,
            post(status::open_incident),
        ),
        r(
            "POST",
            "/clients/{client}/status/incidents/{incident}/updates",
            SignedIn,
            post(status::update_incident),
        ),
        r(
            "POST",
            "/clients/{client}/status/incidents/{incident}/postmortem",
            SignedIn,
            post(status::incident_postmortem),
        ),
        r(
            "POST",
            "/api/v1/status/incidents",
            Token,
            post(status::api_open_incident),
        ),
        r(
            "POST",
            "/api/v1/status/incidents/{incident}/updates",
            Token,
            post(status::api_update_incident),
        ),
        r(
            "PUT",
            "/api/v1/status/components/{component}",
            Token,
            axum::routing::put(status::api_set_component),
        ),
        r("GET", "/status.css", Public, get(status::stylesheet)),
        r("GET", "/status/{page}/history", Public, get(status::history_page)),
        r("POST", "/status/{page}/subscribe", Public, post(status::subscribe)),
        r(
            "GET",
            "/status/{page}/subscribe/confirm/{token}",
            Public,
            get(status::confirm_ask),
        ),
        r(
            "POST",
            "/status/{page}/subscribe/confirm/{token}",
            Public,
            post(status::confirm),
        ),
        r(
            "GET",
            "/status/{page}/subscription/{token}",
            Public,
            get(status::subscription_page),
        ),
        r(
            "POST",
            "/status/{page}/subscription/{token}",
            Public,
            post(status::save_subscription),
        ),
        r(
            "GET",
            "/status/{page}/unsubscribe/{token}",
            Public,
            get(status::unsubscribe_ask),
        ),
        r(
            "POST",
            "/status/{page}/unsubscribe/{token}",
            Public,
            post(status::unsubscribe),
        ),
        r("GET", "/status/{page}/feed.rss", Public, get(status::rss_feed)),
        r("GET", "/status/{page}/badge.svg", Public, get(status::badge)),
        r(
            "GET",
            "/status/{page}/components/{component}/badge.svg",
            Public,
            get(status::component_badge),
        ),
        r("GET", "/status/{page}/widget", Public, get(status::widget)),
        r(
            "GET",
            "/status/{page}/components/{component}/response-time.svg",
            Public,
            get(status::response_time),
        ),
        r("GET", "/status/{page}/feed.atom", Public, get(status::atom_feed)),
        r(
            "GET",
            "/status/{page}/api/v2/incidents.json",
            Public,
            get(status::incidents_json),
        ),
        r(
            "GET",
            "/status/{page}/api/v2/incidents/unresolved.json",
            Public,
            get(status::unresolved_json),
        ),
        r("GET", "/status/{page}", Public, get(status::public_page)),
        r(
            "GET",
            "/status/{page}/api/v2/summary.json",
            Public,
            get(status::summary_json),
        ),
        r(
            "GET",
            "/status/{page}/api/v2/status.json",
            Public,
            get(status::status_json),
        ),
        r(
            "GET",
            "/status/{page}/api/v2/components.json",
            Public,
            get(status::components_json),
        ),
        r("GET", "/password/forgot", Public, get(resets::forgot_page)),
        r("POST", "/password/forgot", Public, post(resets::forgot_submit)),
        r("GET", "/password/reset/{token}", Public, get(resets::reset_page)),
        r("POST", "/password/reset/{token}", Public, post(resets::reset_submit)),
        r(
            "GET",
            "/unsubscribe/{token}",
            Public,
            get(mail_settings::unsubscribe_ask),
        ),
        r(
            "POST",
            "/unsubscribe/{token}",
            Public,
            post(mail_settings::unsubscribe_stop),
        ),
        r("GET", "/invite/{token}", Public, get(pages::invite_page)),
        r("POST", "/invite/{token}", Public, post(pages::invite_submit)),
        r("GET", "/health/live", Public, get(pages::health_live)),
        r("GET", "/health/ready", Public, get(pages::health_ready)),
        r("GET", "/metrics", Public, get(pages::metrics)),
        r("GET", "/api/v1/query", Token, get(api::query)),
        r("POST", "/api/v1/query", Token, post(api::query)),
        r("GET", "/api/v1/query_range", Token, get(api::query_range)),
        r("POST", "/api/v1/query_range", Token, post(api::query_range)),
        r("GET", "/api/v1/series", Token, get(api::series)),
        r("GET", "/api/v1/rules", Token, get(api::rules)),
        r("GET", "/api/v1/alerts", Token, get(api::alerts)),
        r("POST", "/api/v1/series", Token, post(api::series)),
        r("GET", "/api/v1/labels", Token, get(api::labels)),
        r("POST", "/api/v1/labels", Token, post(api::labels)),
        r("GET", "/api/v1/label/{name}/values", Token, get(api::label_values)),
        r("GET", "/api/v1/metadata", Token, get(api::metadata)),
        r("GET", "/api/v1/query_exemplars", Token, get(api::query_exemplars)),
        r("POST", "/api/v1/query_exemplars", Token, post(api::query_exemplars)),
        r("GET", "/api/v1/status/buildinfo", Token, get(api::buildinfo)),
        r("GET", "/api/annotations", Token, get(annotations::list)),
        r("POST", "/api/annotations", Token, post(annotations::create)),
        r(
            "PATCH",
            "/api/annotations/{annotation}",
            Token,
            axum::routing::patch(annotations::update),
        ),
        r(
            "PUT",
            "/api/annotations/{annotation}",
            Token,
            axum::routing::put(annotations::update),
        ),
        r(
            "DELETE",
            "/api/annotations/{annotation}",
            Token,
            axum::routing::delete(annotations::delete),
        ),
        r("GET", "/api/v2/status", Token, get(alertmanager::status)),
        r("GET", "/api/v2/alerts", Token, get(alertmanager::alerts)),
        r("GET", "/api/v2/silences", Token, get(alertmanager::list_silences)),
        r("POST", "/api/v2/silences", Token, post(alertmanager::post_silence)),
        r(
            "GET",
            "/api/v2/silence/{silence}",
            Token,
            get(alertmanager::get_silence),
        ),
        r(
            "DELETE",
            "/api/v2/silence/{silence}",
            Token,
            axum::routing::delete(alertmanager::delete_silence),
        ),
        r("GET", "/admin/tsdb/stats", Operator, get(admin::tsdb_stats)),
        r("POST", "/admin/tsdb/compact", Operator, post(admin::tsdb_compact)),
        r(
            "POST",
            "/admin/demo/misbehave",
            Operator,
            post(demo::misbehave_operator),
        ),
        r("POST", "/admin/tsdb/snapshot", Operator, post(admin::tsdb_snapshot)),
    ]
}

/// The table as JSON, for `vitrine routes`.
pub fn as_json() -> String {
    let specs: Vec<RouteSpec> = table().into_iter().map(|(spec, _)| spec).collect();
    serde_json::to_string_pretty(&specs).unwrap_or_default()
}
