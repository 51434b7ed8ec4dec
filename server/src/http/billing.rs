//! The agency's billing page (`/agency/billing`: catalogue, Stripe keys, every contract), a
//! client's contract page (`/clients/{client}/contract`), and Stripe's webhook
//! (`/webhooks/stripe/{agency}`). Agency owners and admins change the catalogue, the keys and
//! contracts; a client's admin sees the client's own contract, pays through Checkout and opens
//! the Customer Portal; client viewers and agency staff see no prices.

use super::AppState;
use super::pages::{CheckedForm, ClientAccess, SignedIn, path_param, put_flash, take_flash};
use super::render;
use crate::billing::catalogue::{self, Item};
use crate::billing::stripe::{self as stripe_account, Account, BillingError, Customer};
use crate::billing::{contracts, webhook};
use crate::tenancy::TenancyError;
use crate::tenancy::model::Role;
use app::dto::*;
use axum::body::Bytes;
use axum::extract::{Query, RawPathParams, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

const FLASH: &str = "flash_contract";

#[derive(Deserialize)]
pub struct BillingQuery {
    edit: Option<i64>,
    notice: Option<String>,
}

/// The caller's language for texts kept per language.
fn language(who: &SignedIn) -> &'static str {
    app::language_tag(who.locale)
}

pub async fn billing_page(State(state): State<AppState>, who: SignedIn, Query(query): Query<BillingQuery>) -> Response {
    if !who.caller.role.may_manage_billing() {
        return who.problem(&state, Problem::NotFound).await;
    }
    let notice = match query.notice.as_deref() {
        Some("keys") => Some(BillingNotice::KeysSaved),
        _ => None,
    };
    render_billing(&state, &who, query.edit, None, None, notice, StatusCode::OK).await
}

async fn render_billing(
    state: &AppState,
    who: &SignedIn,
    editing: Option<i64>,
    item_form: Option<FormState>,
    keys_form: Option<FormState>,
    notice: Option<BillingNotice>,
    status: StatusCode,
) -> Response {
    let agency_id = who.caller.agency_id;
    let loaded = tokio::try_join!(
        catalogue::list(&state.db, agency_id),
        stripe_account::has_keys(&state.db, agency_id),
        contracts::of_agency(&state.db, agency_id),
        sqlx::query_as::<_, (i64, String, String)>(
            "SELECT id, slug, name FROM clients WHERE agency_id = ? ORDER BY name"
        )
        .bind(agency_id)
        .fetch_all(&state.db),
        sqlx::query_scalar::<_, String>("SELECT slug FROM agencies WHERE id = ?")
            .bind(agency_id)
            .fetch_one(&state.db),
    );
    let (items, has_stripe_keys, contracts, clients, agency_slug) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let mut rows = Vec::with_capacity(clients.len());
    for (id, slug, name) in clients {
        let contract = match contracts.iter().find(|(client, _)| *client == id) {
            Some((_, contract)) => match contract_view(state, id, contract, language(who)).await {
                Ok(view) => Some(view),
                Err(e) => return render::internal(state, who.locale, e).await,
            },
            None => None,
        };
        rows.push(ContractRow {
            client_slug: slug,
            client_name: name,
            contract,
        });
    }
    let page = BillingPage {
        items: items.iter().map(|item| item.to_dto(language(who))).collect(),
        editing: editing.filter(|id| items.iter().any(|item| item.id == *id)),
        item_form,
        has_stripe_keys,
        webhook_url: format!("{}/webhooks/stripe/{agency_slug}", state.public_base),
        keys_form,
        contracts: rows,
        notice,
    };
    render::page(
        state,
        who.locale,
        Some(who.viewer()),
        Page::Billing(Box::new(page)),
        status,
    )
    .await
}

/// A contract as the pages show it, its items' names in `language`.
async fn contract_view(
    state: &AppState,
    client_id: i64,
    contract: &contracts::Contract,
    language: &str,
) -> Result<ContractView, sqlx::Error> {
    let items = catalogue::of_contract(&state.db, client_id).await?;
    let mut monthly: Vec<(String, i64)> = Vec::new();
    for item in &items {
        match monthly.iter_mut().find(|(currency, _)| *currency == item.currency) {
            Some((_, cents)) => *cents += item.monthly_cents,
            None => monthly.push((item.currency.clone(), item.monthly_cents)),
        }
    }
    let stops_on = contract
        .grace_until_ms
        .filter(|_| matches!(contract.status.as_str(), "past_due" | "canceled"))
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.strftime("%Y-%m-%d").to_string());
    Ok(ContractView {
        billing: contract.billing.clone(),
        status: contract.status.clone(),
        stops_on,
        note: contract.note.clone(),
        monthly,
        item_names: items.iter().map(|item| item.name(language).to_string()).collect(),
    })
}

fn item_id(params: &RawPathParams) -> i64 {
    path_param(params, "item").parse().unwrap_or(-1)
}

pub async fn create_item(State(state): State<AppState>, who: SignedIn, CheckedForm(form): CheckedForm) -> Response {
    save_item(state, who, None, form).await
}

pub async fn update_item(
    State(state): State<AppState>,
    who: SignedIn,
    params: RawPathParams,
    CheckedForm(form): CheckedForm,
) -> Response {
    save_item(state, who, Some(item_id(&params)), form).await
}

async fn save_item(state: AppState, who: SignedIn, id: Option<i64>, form: Vec<(String, String)>) -> Response {
    if !who.caller.role.may_manage_billing() {
        return who.problem(&state, Problem::NotFound).await;
    }
    let parsed = match catalogue::Form::parse(&form) {
        Ok(parsed) => parsed,
        Err(TenancyError::Invalid(form)) => {
            return render_billing(
                &state,
                &who,
                id,
                Some(form),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return who.failure(&state, e).await,
    };
    match catalogue::save(&state.db, who.caller.agency_id, id, &parsed).await {
        Ok(Some(_)) => {
            tracing::info!(agency = who.caller.agency_id, item = %parsed.key, "catalogue item saved");
            let notice = BillingNotice::ItemSaved {
                name: parsed.names[0].clone(),
            };
            render_billing(&state, &who, None, None, None, Some(notice), StatusCode::OK).await
        }
        Ok(None) => who.problem(&state, Problem::NotFound).await,
        Err(e) if crate::tenancy::is_unique_violation(&e) => {
            let taken = match crate::tenancy::FormCheck::new(&form).fail("key", FieldProblem::Taken) {
                TenancyError::Invalid(form) => form,
                _ => FormState::default(),
            };
            render_billing(
                &state,
                &who,
                id,
                Some(taken),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => render::internal(&state, who.locale, e).await,
    }
}

pub async fn archive_item(
    State(state): State<AppState>,
    who: SignedIn,
    params: RawPathParams,
    CheckedForm(form): CheckedForm,
) -> Response {
    if !who.caller.role.may_manage_billing() {
        return who.problem(&state, Problem::NotFound).await;
    }
    let archived = form.iter().any(|(name, value)| name == "archived" && value == "1");
    match catalogue::set_archived(&state.db, who.caller.agency_id, item_id(&params), archived).await {
        Ok(true) => Redirect::to("/agency/billing#catalogue").into_response(),
        Ok(false) => who.problem(&state, Problem::NotFound).await,
        Err(e) => render::internal(&state, who.locale, e).await,
    }
}

pub async fn save_keys(State(state): State<AppState>, who: SignedIn, CheckedForm(form): CheckedForm) -> Response {
    if !who.caller.role.may_manage_billing() {
        return who.problem(&state, Problem::NotFound).await;
    }
    let get = |name: &str| form.iter().find(|(key, _)| key == name).map_or("", |(_, v)| v.as_str());
    match stripe_account::set_keys(
        &state.db,
        who.caller.agency_id,
        get("secret_key"),
        get("webhook_secret"),
    )
    .await
    {
        Ok(()) => {
            tracing::info!(agency = who.caller.agency_id, "Stripe keys stored");
            Redirect::to("/agency/billing?notice=keys#stripe").into_response()
        }
        Err(BillingError::BadKeys) => {
            // The keys typed are not shown again, even refused.
            let form = FormState {
                values: vec![],
                problems: vec![("secret_key".into(), FieldProblem::InvalidStripeId)],
            };
            render_billing(
                &state,
                &who,
                None,
                None,
                Some(form),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "storing the Stripe keys");
            who.problem(&state, Problem::Internal).await
        }
    }
}

#[derive(Deserialize)]
pub struct ContractQuery {
    checkout: Option<String>,
}

pub async fn contract_page(
    State(state): State<AppState>,
    access: ClientAccess,
    Query(query): Query<ContractQuery>,
) -> Response {
    let notice = match query.checkout.as_deref() {
        Some("done") => Some(BillingNotice::CheckoutReturned),
        _ => take_flash(&access, FLASH).await,
    };
    render_contract(&state, &access, notice, None, StatusCode::OK).await
}

async fn render_contract(
    state: &AppState,
    access: &ClientAccess,
    notice: Option<BillingNotice>,
    problem: Option<BillingProblem>,
    status: StatusCode,
) -> Response {
    let who = &access.who;
    if !who.caller.role.may_see_contract() {
        return who.problem(state, Problem::Forbidden).await;
    }
    let client_id = access.client.id;
    let loaded = tokio::try_join!(
        sqlx::query_scalar::<_, String>("SELECT name FROM clients WHERE id = ?")
            .bind(client_id)
            .fetch_one(&state.db),
        catalogue::list(&state.db, access.client.agency_id),
        contracts::get(&state.db, client_id),
        contracts::item_ids(&state.db, client_id),
        stripe_account::has_keys(&state.db, access.client.agency_id),
    );
    let (client_name, items, contract, chosen, stripe_ready) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let view = match &contract {
        Some(contract) => match contract_view(state, client_id, contract, language(who)).await {
            Ok(view) => Some(view),
            Err(e) => return render::internal(state, who.locale, e).await,
        },
        None => None,
    };
    let page = ContractPage {
        client_name,
        client_slug: access.client.slug.clone(),
        contract: view,
        items: items
            .iter()
            .filter(|item| !item.archived || chosen.contains(&item.id))
            .map(|item| (item.to_dto(language(who)), chosen.contains(&item.id)))
            .collect(),
        can_manage: who.caller.role.may_manage_billing(),
        can_pay: who.caller.role == Role::ClientAdmin && stripe_ready,
        stripe_ready,
        notice,
        problem,
    };
    render::page(
        state,
        who.locale,
        Some(who.viewer()),
        Page::Contract(Box::new(page)),
        status,
    )
    .await
}

/// The catalogue items ticked in the form (only the client's agency's).
async fn chosen_items(
    state: &AppState,
    access: &ClientAccess,
    form: &[(String, String)],
) -> Result<Vec<Item>, sqlx::Error> {
    let ids: Vec<i64> = form
        .iter()
        .filter(|(name, _)| name == "item")
        .filter_map(|(_, value)| value.parse().ok())
        .collect();
    let items = catalogue::list(&state.db, access.client.agency_id).await?;
    Ok(items.into_iter().filter(|item| ids.contains(&item.id)).collect())
}

fn back(access: &ClientAccess) -> Response {
    Redirect::to(&format!("/clients/{}/contract", access.client.slug)).into_response()
}

async fn refused(state: &AppState, access: &ClientAccess, error: BillingError) -> Response {
    let problem = match error {
        BillingError::NoKeys | BillingError::BadKeys => BillingProblem::NoKeys,
        BillingError::NoPrice(item) => BillingProblem::NoPrice { item },
        BillingError::NothingChosen => BillingProblem::NothingChosen,
        BillingError::WrongState => BillingProblem::WrongState,
        BillingError::Stripe(message) => {
            tracing::warn!(client = %access.client.slug, %message, "Stripe refused a request");
            BillingProblem::Stripe { message }
        }
        BillingError::Database(e) => return render::internal(state, access.who.locale, e).await,
        BillingError::Secret(e) => {
            tracing::error!(error = %e, "the Stripe keys do not open");
            BillingProblem::NoKeys
        }
    };
    render_contract(state, access, None, Some(problem), StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn record_contract(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    if !who.caller.role.may_manage_billing() {
        return who.problem(&state, Problem::Forbidden).await;
    }
    let recorded = async {
        let items = chosen_items(&state, &access, &form).await?;
        let mut tx = state.db.begin().await?;
        if contracts::get(&mut *tx, access.client.id)
            .await?
            .as_ref()
            .is_some_and(contracts::runs_on_stripe)
        {
            return Ok::<_, BillingError>(false);
        }
        let note = form
            .iter()
            .find(|(name, _)| name == "note")
            .map_or("", |(_, v)| v.trim());
        let ids: Vec<i64> = items.iter().map(|item| item.id).collect();
        contracts::record(
            &mut tx,
            access.client.agency_id,
            access.client.id,
            &ids,
            &note.chars().take(500).collect::<String>(),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    };
    match recorded.await {
        Ok(true) => {
            tracing::info!(client = %access.client.slug, "contract recorded");
            put_flash(&access, FLASH, BillingNotice::Recorded).await;
            back(&access)
        }
        Ok(false) => refused(&state, &access, BillingError::WrongState).await,
        Err(e) => refused(&state, &access, e).await,
    }
}

/// The Stripe request of one of the contract's buttons.
enum StripeAction {
    Checkout,
    Subscribe,
    Change,
    Portal,
}

async fn stripe_action(
    state: &AppState,
    access: &ClientAccess,
    form: &[(String, String)],
    action: StripeAction,
) -> Response {
    let who = &access.who;
    let role = who.caller.role;
    let allowed = match action {
        StripeAction::Checkout => role.may_see_contract(),
        StripeAction::Portal => role == Role::ClientAdmin || role.may_manage_billing(),
        StripeAction::Subscribe | StripeAction::Change => role.may_manage_billing(),
    };
    if !allowed {
        return who.problem(state, Problem::Forbidden).await;
    }
    let base = format!("{}/clients/{}/contract", state.public_base, access.client.slug);
    let done = async {
        let account = Account::open(&state.db, access.client.agency_id, &state.billing).await?;
        let customer = Customer::load(&state.db, access.client.id).await?;
        // The agency picks the items; the client admin pays for those of the waiting contract.
        let items = match role.may_manage_billing() {
            true => chosen_items(state, access, form).await?,
            false => catalogue::of_contract(&state.db, access.client.id).await?,
        };
        Ok::<_, BillingError>(match action {
            StripeAction::Checkout => {
                let url = account
                    .checkout(&state.db, &customer, &items, &format!("{base}?checkout=done"), &base)
                    .await?;
                if !role.may_manage_billing() {
                    return Ok(Redirect::to(&url).into_response());
                }
                // A client without a contract in force waits for this payment with these items.
                let mut tx = state.db.begin().await?;
                let waiting = contracts::get(&mut *tx, access.client.id)
                    .await?
                    .is_none_or(|c| c.status == "checkout" || c.status == "canceled");
                if waiting {
                    let ids: Vec<i64> = items.iter().map(|item| item.id).collect();
                    sqlx::query("UPDATE contracts SET billing = 'stripe', status = 'checkout', grace_until_ms = NULL WHERE client_id = ?")
                        .bind(access.client.id)
                        .execute(&mut *tx)
                        .await?;
                    contracts::set_items(&mut tx, access.client.agency_id, access.client.id, &ids).await?;
                }
                tx.commit().await?;
                Redirect::to(&url).into_response()
            }
            StripeAction::Subscribe => {
                account.subscribe(&state.db, &customer, &items).await?;
                put_flash(access, FLASH, BillingNotice::SubscriptionCreated).await;
                back(access)
            }
            StripeAction::Change => {
                account.change(&state.db, &customer, &items).await?;
                put_flash(access, FLASH, BillingNotice::SubscriptionChanged).await;
                back(access)
            }
            StripeAction::Portal => Redirect::to(&account.portal(&state.db, &customer, &base).await?).into_response(),
        })
    };
    match done.await {
        Ok(response) => response,
        Err(e) => refused(state, access, e).await,
    }
}

pub async fn stripe_checkout(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    stripe_action(&state, &access, &form, StripeAction::Checkout).await
}

pub async fn stripe_subscribe(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    stripe_action(&state, &access, &form, StripeAction::Subscribe).await
}

pub async fn stripe_change(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    stripe_action(&state, &access, &form, StripeAction::Change).await
}

pub async fn stripe_portal(
    State(state): State<AppState>,
    access: ClientAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    stripe_action(&state, &access, &form, StripeAction::Portal).await
}

/// Stripe's webhook: 200 once the event is stored (the worker applies it), 400 for anything
/// not signed by the agency's secret, an unknown agency included.
pub async fn stripe_webhook(
    State(state): State<AppState>,
    params: RawPathParams,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    match webhook::receive(&state.db, &path_param(&params, "agency"), signature, &body).await {
        Ok(new) => {
            if new {
                state.stripe_events.wake();
            }
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                r#"{"received":true}"#,
            )
                .into_response()
        }
        Err(webhook::Refusal::BadRequest) => (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            r#"{"error":"the request is not signed by this agency's Stripe webhook secret"}"#,
        )
            .into_response(),
        Err(webhook::Refusal::Failed(e)) => {
            tracing::error!(error = %e, "storing a Stripe event");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
