//! A stand-in for Stripe's API, for black-box tests of Vitrine's billing.
//!
//! Stripe cannot be reached from the machines the tests run on, and a mock inside the server
//! would test nothing of what goes over the wire. So this is a real HTTP server on a loopback
//! port that the `vitrine` process is pointed at (`VITRINE_STRIPE_API_BASE` = [`FakeStripe::base`];
//! async-stripe joins `v1/...` onto it). It answers the few endpoints Vitrine uses as Stripe
//! documents them: form-encoded requests with bracket notation, the `Authorization: Bearer` key,
//! the pinned `Stripe-Version`, the parameter names async-stripe 1.0.0-rc.10 may send (anything
//! else is refused as Stripe refuses it), required parameters, `Idempotency-Key` replays, and
//! Stripe's error envelope. Every answer is built from Stripe's own sample object for that
//! resource (`/work/shared/stripe/fixtures3.json`, read at run time) with the fields the request
//! determines filled in, so the product parses what it will parse in production.
//!
//! A test then plays the customer ([`FakeStripe::complete_checkout`]) and Stripe's webhook
//! delivery ([`event`], [`signature`]), and reads what the product asked for
//! ([`FakeStripe::requests`], [`FakeStripe::subscription`]).
//!
//! The stand-in knows no prices: any price id is accepted and answered with the `price` fixture
//! (a monthly recurring price of 20.00 USD) under that id.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// The API version async-stripe 1.0.0-rc.10 pins (`async-stripe-shared/src/version.rs`).
const STRIPE_VERSION: &str = "2026-09-30.endive";

/// Stripe's sample objects (the `fixtures3.json` of Stripe's OpenAPI repository).
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/stripe/fixtures3.json");

// The parameters each endpoint documents: the serde field names of async-stripe 1.0.0-rc.10's
// request builders (named beside each list).

/// `async-stripe-core/src/customer/requests.rs`: `CreateCustomerBuilder`.
const CREATE_CUSTOMER: &[&str] = &[
    "address",
    "balance",
    "business_name",
    "cash_balance",
    "description",
    "email",
    "expand",
    "individual_name",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "payment_method",
    "phone",
    "preferred_locales",
    "shipping",
    "source",
    "tax",
    "tax_exempt",
    "tax_id_data",
    "test_clock",
    "validate",
];

/// `RetrieveCustomerBuilder`, `RetrieveCheckoutSessionBuilder`, `RetrieveSubscriptionBuilder`.
const RETRIEVE: &[&str] = &["expand"];

/// `async-stripe-checkout/src/checkout_session/requests.rs`: `CreateCheckoutSessionBuilder`.
const CREATE_CHECKOUT_SESSION: &[&str] = &[
    "adaptive_pricing",
    "after_expiration",
    "allow_promotion_codes",
    "allowed_payment_method_types",
    "automatic_tax",
    "billing_address_collection",
    "branding_settings",
    "cancel_url",
    "client_reference_id",
    "consent_collection",
    "currency",
    "custom_fields",
    "custom_text",
    "customer",
    "customer_account",
    "customer_creation",
    "customer_email",
    "customer_update",
    "discounts",
    "excluded_payment_method_types",
    "expand",
    "expires_at",
    "integration_identifier",
    "invoice_creation",
    "line_items",
    "locale",
    "managed_payments",
    "metadata",
    "mode",
    "name_collection",
    "optional_items",
    "origin_context",
    "payment_intent_data",
    "payment_method_collection",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "permissions",
    "phone_number_collection",
    "redirect_on_completion",
    "return_url",
    "saved_payment_method_options",
    "setup_intent_data",
    "shipping_address_collection",
    "shipping_options",
    "submit_type",
    "subscription_data",
    "success_url",
    "tax_id_collection",
    "ui_mode",
    "wallet_options",
];

/// The same file: `CreateCheckoutSessionLineItems`.
const CHECKOUT_LINE_ITEM: &[&str] = &[
    "adjustable_quantity",
    "metadata",
    "price",
    "price_data",
    "quantity",
    "tax_rates",
];

/// The same file: `ListLineItemsCheckoutSessionBuilder`.
const LIST_LINE_ITEMS: &[&str] = &["ending_before", "expand", "limit", "starting_after"];

/// `async-stripe-billing/src/billing_portal_session/requests.rs`: `CreateBillingPortalSessionBuilder`.
const CREATE_PORTAL_SESSION: &[&str] = &[
    "configuration",
    "customer",
    "customer_account",
    "expand",
    "flow_data",
    "locale",
    "on_behalf_of",
    "return_url",
];

/// `async-stripe-billing/src/subscription/requests.rs`: `CreateSubscriptionBuilder`.
const CREATE_SUBSCRIPTION: &[&str] = &[
    "add_invoice_items",
    "application_fee_percent",
    "automatic_tax",
    "backdate_start_date",
    "billing_cycle_anchor",
    "billing_cycle_anchor_config",
    "billing_mode",
    "billing_schedules",
    "billing_thresholds",
    "cancel_at",
    "cancel_at_period_end",
    "collection_method",
    "currency",
    "customer",
    "customer_account",
    "days_until_due",
    "default_payment_method",
    "default_source",
    "default_tax_rates",
    "description",
    "discounts",
    "expand",
    "invoice_settings",
    "items",
    "metadata",
    "off_session",
    "on_behalf_of",
    "payment_behavior",
    "payment_settings",
    "pending_invoice_item_interval",
    "proration_behavior",
    "transfer_data",
    "trial_end",
    "trial_from_plan",
    "trial_period_days",
    "trial_settings",
];

/// The same file: `CreateSubscriptionItems`.
const CREATE_SUBSCRIPTION_ITEM: &[&str] = &[
    "billing_thresholds",
    "current_trial",
    "discounts",
    "metadata",
    "plan",
    "price",
    "price_data",
    "quantity",
    "tax_rates",
];

/// The same file: `UpdateSubscriptionBuilder`.
const UPDATE_SUBSCRIPTION: &[&str] = &[
    "add_invoice_items",
    "application_fee_percent",
    "automatic_tax",
    "billing_cycle_anchor",
    "billing_schedules",
    "billing_thresholds",
    "cancel_at",
    "cancel_at_period_end",
    "cancellation_details",
    "collection_method",
    "days_until_due",
    "default_payment_method",
    "default_source",
    "default_tax_rates",
    "description",
    "discounts",
    "expand",
    "invoice_settings",
    "items",
    "metadata",
    "off_session",
    "on_behalf_of",
    "pause_collection",
    "payment_behavior",
    "payment_settings",
    "pending_invoice_item_interval",
    "proration_behavior",
    "proration_date",
    "transfer_data",
    "trial_end",
    "trial_from_plan",
    "trial_settings",
];

/// The same file: `UpdateSubscriptionItems`.
const UPDATE_SUBSCRIPTION_ITEM: &[&str] = &[
    "billing_thresholds",
    "clear_usage",
    "current_trial",
    "deleted",
    "discounts",
    "id",
    "metadata",
    "plan",
    "price",
    "price_data",
    "quantity",
    "tax_rates",
];

/// The same file: `CancelSubscriptionBuilder`.
const CANCEL_SUBSCRIPTION: &[&str] = &["cancellation_details", "expand", "invoice_now", "prorate"];

const PRORATION_BEHAVIORS: &[&str] = &["always_invoice", "create_prorations", "none"];
const PAYMENT_BEHAVIORS: &[&str] = &[
    "allow_incomplete",
    "default_incomplete",
    "error_if_incomplete",
    "pending_if_incomplete",
];
const COLLECTION_METHODS: &[&str] = &["charge_automatically", "send_invoice"];
const CHECKOUT_MODES: &[&str] = &["payment", "setup", "subscription"];

/// A local HTTP server answering as Stripe's API; stopped when dropped.
pub struct FakeStripe {
    shared: Arc<Shared>,
    /// Its own runtime, so it keeps answering while a test blocks its thread (in
    /// `Server::start_with`, `Server::cli`, …) — also inside a single-threaded `#[tokio::test]`.
    runtime: Option<tokio::runtime::Runtime>,
}

/// One request the stand-in received.
#[derive(Clone, Debug)]
pub struct StripeRequest {
    pub method: String,
    /// Without the query string: `/v1/customers`.
    pub path: String,
    /// The form parameters (of the body, and of the query string for GET), decoded, in order.
    pub params: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
}

impl StripeRequest {
    /// The value of one form parameter ("line_items[0][price]").
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A webhook event body as Stripe sends it: the `event` fixture with id, type, created and data.object replaced.
///
/// `api_version` is set as well (the fixture has `null`): Stripe writes the endpoint's version
/// into every event it sends, here the one async-stripe rc.10 pins.
pub fn event(id: &str, kind: &str, created: i64, object: Value) -> String {
    let mut event = resource(fixtures(), "event");
    set(&mut event, "id", json!(id));
    set(&mut event, "type", json!(kind));
    set(&mut event, "created", json!(created));
    set(&mut event, "api_version", json!(STRIPE_VERSION));
    set(&mut event, "data", json!({ "object": object }));
    event.to_string()
}

/// The `Stripe-Signature` header value Stripe computes: `t={timestamp},v1={hex HMAC-SHA256(secret, "{timestamp}.{body}")}`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

impl FakeStripe {
    /// Starts on 127.0.0.1:0 in a background tokio task (works from inside #[tokio::test]); `secret_key` is the only accepted `Authorization: Bearer` key.
    pub async fn start(secret_key: &str) -> FakeStripe {
        let fixtures = Fixtures::load();
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port for the Stripe stand-in");
        listener
            .set_nonblocking(true)
            .expect("making the Stripe stand-in's socket non-blocking");
        let port = listener.local_addr().expect("the Stripe stand-in's address").port();
        let shared = Arc::new(Shared {
            secret: secret_key.to_string(),
            base: format!("http://127.0.0.1:{port}/"),
            fixtures,
            books: Mutex::default(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fake-stripe")
            .enable_all()
            .build()
            .expect("a runtime for the Stripe stand-in");
        let router = Router::new().fallback(handle).with_state(shared.clone());
        runtime.spawn(async move {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => {
                    if let Err(e) = axum::serve(listener, router).await {
                        eprintln!("the Stripe stand-in stopped: {e}");
                    }
                }
                Err(e) => eprintln!("the Stripe stand-in cannot listen: {e}"),
            }
        });
        FakeStripe {
            shared,
            runtime: Some(runtime),
        }
    }

    /// "http://127.0.0.1:PORT/" — what VITRINE_STRIPE_API_BASE is set to (note the trailing slash; async-stripe joins "v1/..." onto it).
    pub fn base(&self) -> String {
        self.shared.base.clone()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<StripeRequest> {
        self.shared.books().requests.clone()
    }

    /// The subscription as the stand-in holds it now (after creates/updates), as Stripe would return it.
    pub fn subscription(&self, id: &str) -> Option<Value> {
        self.shared.books().subscriptions.get(id).cloned()
    }

    /// Makes the checkout session `session_id` complete as a customer paying would: creates its subscription (status "active", one item per line item, metadata from `subscription_data[metadata]`) and returns the completed session object (status "complete", payment_status "paid", subscription set) to put in a `checkout.session.completed` event.
    ///
    /// As at Stripe, the session's own `metadata` is not copied: it stays on the session, and the
    /// subscription gets `subscription_data[metadata]` (and `subscription_data[description]`).
    /// Every line item becomes a subscription item, one-time prices too (the stand-in knows no
    /// price types; Stripe would put those on the first invoice only). A session without
    /// `customer` gets a new customer (with its `customer_email`). Completing a completed
    /// session again returns it unchanged.
    /// Panics if the stand-in holds no such session.
    pub fn complete_checkout(&self, session_id: &str) -> Value {
        let completed = {
            let mut books = self.shared.books();
            Desk {
                books: &mut books,
                fx: &self.shared.fixtures,
                base: &self.shared.base,
            }
            .complete_checkout(session_id)
        };
        completed.unwrap_or_else(|| {
            panic!("complete_checkout: the Stripe stand-in holds no checkout session {session_id:?}")
        })
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What the server's task and the test share.
struct Shared {
    secret: String,
    base: String,
    fixtures: Fixtures,
    books: Mutex<Books>,
}

impl Shared {
    fn books(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sample objects the answers are made of, checked once at start.
struct Fixtures {
    customer: Value,
    checkout_session: Value,
    checkout_item: Value,
    portal_session: Value,
    subscription: Value,
    subscription_item: Value,
    price: Value,
}

impl Fixtures {
    fn load() -> Fixtures {
        let all = fixtures();
        Fixtures {
            customer: resource(all, "customer"),
            checkout_session: resource(all, "checkout.session"),
            // A Checkout Session's line items are `item` objects; the `line_item` fixture is an
            // invoice's line item.
            checkout_item: resource(all, "item"),
            portal_session: resource(all, "billing_portal.session"),
            subscription: resource(all, "subscription"),
            subscription_item: resource(all, "subscription_item"),
            price: resource(all, "price"),
        }
    }
}

fn fixtures() -> &'static Value {
    static LOADED: OnceLock<Value> = OnceLock::new();
    LOADED.get_or_init(|| {
        let text = std::fs::read_to_string(FIXTURES)
            .unwrap_or_else(|e| panic!("reading Stripe's sample objects at {FIXTURES}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{FIXTURES} is not JSON: {e}"))
    })
}

fn resource(all: &Value, name: &str) -> Value {
    match all.get("resources").and_then(|r| r.get(name)) {
        Some(object @ Value::Object(_)) => object.clone(),
        _ => panic!("{FIXTURES} holds no object resources.{name:?}"),
    }
}

/// Everything the stand-in holds.
#[derive(Default)]
struct Books {
    requests: Vec<StripeRequest>,
    counters: HashMap<&'static str, u64>,
    customers: HashMap<String, Value>,
    sessions: HashMap<String, Session>,
    subscriptions: HashMap<String, Value>,
    /// The first successful answer to each idempotency key.
    replays: HashMap<String, Replay>,
}

impl Books {
    /// `{prefix}{N}`, N counting from 1 for each prefix.
    fn next(&mut self, prefix: &'static str) -> String {
        let n = self.counters.entry(prefix).or_default();
        *n += 1;
        format!("{prefix}{n}")
    }
}

#[derive(Clone)]
struct Session {
    object: Value,
    items: Vec<LineItem>,
    /// `subscription_data[metadata]` and `subscription_data[description]`.
    subscription_metadata: Map<String, Value>,
    subscription_description: Option<String>,
}

#[derive(Clone)]
struct LineItem {
    id: String,
    price: Value,
    quantity: u64,
}

struct Replay {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    body: Value,
}

/// An answer other than 200: status and Stripe's error envelope.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    body: Value,
}

fn failure(status: StatusCode, kind: &str, message: String, param: Option<&str>, code: Option<&str>) -> Failure {
    let mut error = Map::new();
    error.insert("type".into(), json!(kind));
    error.insert("message".into(), json!(message));
    if let Some(param) = param {
        error.insert("param".into(), json!(param));
    }
    if let Some(code) = code {
        error.insert("code".into(), json!(code));
    }
    Failure {
        status,
        body: json!({ "error": error }),
    }
}

fn invalid(message: impl Into<String>, param: Option<&str>) -> Failure {
    failure(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message.into(),
        param,
        None,
    )
}

fn missing(name: &str) -> Failure {
    invalid(format!("Missing required param: {name}."), Some(name))
}

fn unknown_parameter(name: &str) -> Failure {
    invalid(format!("Received unknown parameter: {name}"), Some(name))
}

/// A referenced object that does not exist (400 in a parameter, 404 in the path).
fn no_such(status: StatusCode, kind: &str, id: &str, param: &str) -> Failure {
    failure(
        status,
        "invalid_request_error",
        format!("No such {kind}: '{id}'"),
        Some(param),
        Some("resource_missing"),
    )
}

type Answer = Result<Value, Failure>;

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let idempotency_key = header_text(&headers, "idempotency-key").map(str::to_string);
    let decoded = decode(uri.query(), &body);
    let (answer, replayed, request_id) = {
        let mut books = shared.books();
        let request_id = books.next("req_fake");
        books.requests.push(StripeRequest {
            method: method.as_str().to_string(),
            path: path.clone(),
            params: decoded.as_ref().cloned().unwrap_or_default(),
            idempotency_key: idempotency_key.clone(),
        });
        let mut desk = Desk {
            books: &mut books,
            fx: &shared.fixtures,
            base: &shared.base,
        };
        let (answer, replayed) = match desk.answer(
            &shared.secret,
            &method,
            &path,
            &headers,
            &body,
            decoded,
            idempotency_key.as_deref(),
        ) {
            Ok((value, replayed)) => (Ok(value), replayed),
            Err(failure) => (Err(failure), false),
        };
        (answer, replayed, request_id)
    };
    let (status, body) = match answer {
        Ok(value) => (StatusCode::OK, value),
        Err(Failure { status, body }) => (status, body),
    };
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        HeaderName::from_static("stripe-version"),
        HeaderValue::from_static(STRIPE_VERSION),
    );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static("request-id"), value);
    }
    if let Some(key) = idempotency_key.and_then(|key| HeaderValue::from_str(&key).ok()) {
        headers.insert(HeaderName::from_static("idempotency-key"), key);
    }
    if replayed {
        headers.insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    response
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The query string's and the body's form parameters, in order.
fn decode(query: Option<&str>, body: &[u8]) -> Result<Vec<(String, String)>, Failure> {
    let mut pairs: Vec<(String, String)> = match query {
        Some(query) => serde_urlencoded::from_str(query).map_err(|e| {
            invalid(
                format!("Invalid request: the query string is not form-encoded ({e})."),
                None,
            )
        })?,
        None => Vec::new(),
    };
    if !body.is_empty() {
        let text = std::str::from_utf8(body).map_err(|_| invalid("Invalid request: the body is not UTF-8.", None))?;
        let more: Vec<(String, String)> = serde_urlencoded::from_str(text)
            .map_err(|e| invalid(format!("Invalid request: the body is not form-encoded ({e})."), None))?;
        pairs.extend(more);
    }
    Ok(pairs)
}

/// The parameters of a request: as sent, and as the tree their bracket names describe
/// (`items[0][price]` → `{"items": {"0": {"price": …}}}`; leaves are strings).
struct Params {
    pairs: Vec<(String, String)>,
    tree: Map<String, Value>,
}

impl Params {
    fn parse(pairs: Vec<(String, String)>) -> Result<Params, Failure> {
        let mut tree = Map::new();
        for (key, value) in &pairs {
            let path = split_key(key).ok_or_else(|| invalid(format!("Invalid parameter name: {key}"), Some(key)))?;
            insert(&mut tree, &path, value).map_err(|()| {
                invalid(
                    format!("Invalid hash: {key} is given both as a value and as a hash"),
                    Some(key),
                )
            })?;
        }
        Ok(Params { pairs, tree })
    }

    /// Refuses the first top-level name not in `allowed`.
    fn allow(&self, allowed: &[&str]) -> Result<(), Failure> {
        for (key, _) in &self.pairs {
            let top = key.split('[').next().unwrap_or_default();
            if !allowed.contains(&top) {
                return Err(unknown_parameter(top));
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.tree.get(name)
    }

    fn text(&self, name: &str) -> Result<Option<String>, Failure> {
        self.get(name).map(|v| text(v, name).map(str::to_string)).transpose()
    }

    fn required_text(&self, name: &str) -> Result<String, Failure> {
        match self.text(name)? {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(missing(name)),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, Failure> {
        self.get(name).map(|v| boolean(v, name)).transpose()
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, Failure> {
        self.get(name).map(|v| integer(v, name)).transpose()
    }

    fn one_of(&self, name: &str, values: &[&str]) -> Result<Option<String>, Failure> {
        let Some(value) = self.text(name)? else { return Ok(None) };
        if values.contains(&value.as_str()) {
            Ok(Some(value))
        } else {
            Err(invalid(
                format!("Invalid {name}: must be one of {}", values.join(", ")),
                Some(name),
            ))
        }
    }

    /// `metadata[...]` as a hash (empty if absent).
    fn metadata(&self, name: &str) -> Result<Map<String, Value>, Failure> {
        self.get(name).map_or(Ok(Map::new()), |v| metadata_hash(v, name))
    }

    /// The values of `expand[]`.
    fn expand(&self) -> Result<Vec<String>, Failure> {
        match self.get("expand") {
            None => Ok(Vec::new()),
            Some(Value::String(one)) if one.is_empty() => Ok(Vec::new()),
            Some(Value::String(one)) => Ok(vec![one.clone()]),
            Some(list) => array(list, "expand")?
                .into_iter()
                .map(|(name, v)| text(v, &name).map(str::to_string))
                .collect(),
        }
    }
}

/// `a[b][0]` → `["a", "b", "0"]`; `a[]` → `["a", ""]`; `None` if malformed.
fn split_key(key: &str) -> Option<Vec<String>> {
    let (top, mut rest) = match key.find('[') {
        Some(at) => (&key[..at], &key[at..]),
        None => (key, ""),
    };
    if top.is_empty() || top.contains(']') {
        return None;
    }
    let mut path = vec![top.to_string()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let segment = &inner[..close];
        if segment.contains('[') {
            return None;
        }
        path.push(segment.to_string());
        rest = &inner[close + 1..];
    }
    Some(path)
}

fn insert(node: &mut Map<String, Value>, path: &[String], value: &str) -> Result<(), ()> {
    let (first, rest) = path.split_first().ok_or(())?;
    let key = if first.is_empty() {
        node.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        if let Some(Value::Object(_)) = node.get(&key) {
            return Err(());
        }
        node.insert(key, Value::String(value.to_string()));
        return Ok(());
    }
    match node.entry(key).or_insert_with(|| Value::Object(Map::new())) {
        Value::Object(child) => insert(child, rest, value),
        _ => Err(()),
    }
}

fn text<'a>(value: &'a Value, name: &str) -> Result<&'a str, Failure> {
    value.as_str().ok_or_else(|| {
        invalid(
            format!("Invalid string: {name} must be a string, not a hash"),
            Some(name),
        )
    })
}

fn boolean(value: &Value, name: &str) -> Result<bool, Failure> {
    match text(value, name)? {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(invalid(format!("Invalid boolean: {other}"), Some(name))),
    }
}

fn integer(value: &Value, name: &str) -> Result<i64, Failure> {
    let raw = text(value, name)?;
    raw.parse::<i64>()
        .map_err(|_| invalid(format!("Invalid integer: {raw}"), Some(name)))
}

fn quantity(value: &Value, name: &str) -> Result<u64, Failure> {
    let raw = text(value, name)?;
    raw.parse::<u64>()
        .map_err(|_| invalid(format!("Invalid non-negative integer: {raw}"), Some(name)))
}

fn hash<'a>(value: &'a Value, name: &str) -> Result<Option<&'a Map<String, Value>>, Failure> {
    match value {
        Value::Object(map) => Ok(Some(map)),
        Value::String(empty) if empty.is_empty() => Ok(None),
        _ => Err(invalid(format!("Invalid hash: {name}"), Some(name))),
    }
}

/// A hash whose values are strings, within Stripe's limits (50 keys, keys of at most 40
/// characters, values of at most 500).
fn metadata_hash(value: &Value, name: &str) -> Result<Map<String, Value>, Failure> {
    let Some(map) = hash(value, name)? else {
        return Ok(Map::new());
    };
    if map.len() > 50 {
        return Err(invalid(format!("Invalid {name}: at most 50 keys"), Some(name)));
    }
    for (key, value) in map {
        let param = format!("{name}[{key}]");
        let value = text(value, &param)?;
        if key.chars().count() > 40 {
            return Err(invalid(
                format!("Invalid {name}: keys must be at most 40 characters ({key})"),
                Some(&param),
            ));
        }
        if value.chars().count() > 500 {
            return Err(invalid(
                format!("Invalid {name}: values must be at most 500 characters ({key})"),
                Some(&param),
            ));
        }
    }
    Ok(map.clone())
}

/// The elements of `name[0]`, `name[1]`, … in index order, each with its full name.
fn array<'a>(value: &'a Value, name: &str) -> Result<Vec<(String, &'a Value)>, Failure> {
    match value {
        Value::Object(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (key, element) in map {
                let index: usize = key
                    .parse()
                    .map_err(|_| invalid(format!("Invalid array: {name}"), Some(name)))?;
                entries.push((index, format!("{name}[{key}]"), element));
            }
            entries.sort_by_key(|(index, _, _)| *index);
            Ok(entries.into_iter().map(|(_, name, element)| (name, element)).collect())
        }
        Value::String(empty) if empty.is_empty() => Ok(Vec::new()),
        _ => Err(invalid(format!("Invalid array: {name}"), Some(name))),
    }
}

/// An element of an array of hashes, with every key in `allowed`.
fn object<'a>(value: &'a Value, name: &str, allowed: &[&str]) -> Result<&'a Map<String, Value>, Failure> {
    let Value::Object(map) = value else {
        return Err(invalid(format!("Invalid object: {name}"), Some(name)));
    };
    if let Some(key) = map.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(unknown_parameter(&format!("{name}[{key}]")));
    }
    Ok(map)
}

fn field_text(map: &Map<String, Value>, name: &str, key: &str) -> Result<Option<String>, Failure> {
    map.get(key)
        .map(|v| text(v, &format!("{name}[{key}]")).map(str::to_string))
        .transpose()
}

/// Sets `key` on an object (does nothing to anything else: never panics).
fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_string(), value);
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn or_null(value: Option<String>) -> Value {
    value.map_or(Value::Null, Value::String)
}

/// "sk_test_abc…wxyz" as Stripe quotes a wrong key: all but the prefix and the last four masked.
fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let prefix = key
        .match_indices('_')
        .nth(1)
        .map_or(0, |(at, _)| key[..=at].chars().count());
    let keep = chars.len().saturating_sub(4).max(prefix);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < prefix || i >= keep { *c } else { '*' })
        .collect()
}

/// The stand-in at work on one request, with the books locked.
struct Desk<'a> {
    books: &'a mut Books,
    fx: &'a Fixtures,
    base: &'a str,
}

impl Desk<'_> {
    /// The answer and whether it is an idempotent replay.
    #[allow(clippy::too_many_arguments)]
    fn answer(
        &mut self,
        secret: &str,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
        decoded: Result<Vec<(String, String)>, Failure>,
        idempotency_key: Option<&str>,
    ) -> Result<(Value, bool), Failure> {
        check_key(secret, headers)?;
        match header_text(headers, "stripe-version") {
            Some(STRIPE_VERSION) => {}
            Some(other) => {
                return Err(invalid(
                    format!(
                        "Invalid Stripe API version: {other} (this stand-in answers as {STRIPE_VERSION}, the version async-stripe 1.0.0-rc.10 pins)"
                    ),
                    None,
                ));
            }
            None => {
                return Err(invalid(
                    format!(
                        "No Stripe-Version header: this stand-in answers as {STRIPE_VERSION} only, the version async-stripe 1.0.0-rc.10 pins"
                    ),
                    None,
                ));
            }
        }
        if !body.is_empty() {
            let content_type = header_text(headers, "content-type").unwrap_or_default();
            let essence = content_type.split(';').next().unwrap_or_default().trim();
            if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
                return Err(invalid(
                    format!(
                        "Invalid request: unsupported Content-Type {content_type}. If error persists and you need assistance, please contact support@stripe.com."
                    ),
                    None,
                ));
            }
        }
        let pairs = decoded?;
        let idempotency_key = if method == Method::POST { idempotency_key } else { None };
        if let Some(key) = idempotency_key {
            if key.is_empty() || key.chars().count() > 255 {
                return Err(invalid("Idempotency-Key must be 1 to 255 characters", None));
            }
            if let Some(replay) = self.books.replays.get(key) {
                if replay.method != method.as_str() || replay.path != path {
                    return Err(failure(
                        StatusCode::BAD_REQUEST,
                        "idempotency_error",
                        format!(
                            "Keys for idempotent requests can only be used for the same endpoint they were first used for ('{} {}' vs '{} {}'). Try using a key other than '{key}' if you meant to execute a different request.",
                            replay.method, replay.path, method, path
                        ),
                        None,
                        None,
                    ));
                }
                if replay.params != pairs {
                    return Err(failure(
                        StatusCode::BAD_REQUEST,
                        "idempotency_error",
                        format!(
                            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                        ),
                        None,
                        None,
                    ));
                }
                return Ok((replay.body.clone(), true));
            }
        }
        let params = Params::parse(pairs.clone())?;
        let value = self.route(method, path, &params)?;
        if let Some(key) = idempotency_key {
            self.books.replays.insert(
                key.to_string(),
                Replay {
                    method: method.as_str().to_string(),
                    path: path.to_string(),
                    params: pairs,
                    body: value.clone(),
                },
            );
        }
        Ok((value, false))
    }

    fn route(&mut self, method: &Method, path: &str, params: &Params) -> Answer {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("POST", ["v1", "customers"]) => self.create_customer(params),
            ("GET", ["v1", "customers", id]) => {
                params.allow(RETRIEVE)?;
                self.books
                    .customers
                    .get(*id)
                    .cloned()
                    .ok_or_else(|| no_such(StatusCode::NOT_FOUND, "customer", id, "id"))
            }
            ("POST", ["v1", "checkout", "sessions"]) => self.create_checkout_session(params),
            ("GET", ["v1", "checkout", "sessions", id]) => self.retrieve_checkout_session(id, params),
            ("GET", ["v1", "checkout", "sessions", id, "line_items"]) => {
                params.allow(LIST_LINE_ITEMS)?;
                let session = self
                    .books
                    .sessions
                    .get(*id)
                    .ok_or_else(|| no_such(StatusCode::NOT_FOUND, "checkout.session", id, "session"))?;
                line_items_list(self.fx, id, &session.items, params)
            }
            ("POST", ["v1", "billing_portal", "sessions"]) => self.create_portal_session(params),
            ("POST", ["v1", "subscriptions"]) => self.create_subscription(params),
            ("GET", ["v1", "subscriptions", id]) => {
                params.allow(RETRIEVE)?;
                self.books
                    .subscriptions
                    .get(*id)
                    .cloned()
                    .ok_or_else(|| no_such(StatusCode::NOT_FOUND, "subscription", id, "id"))
            }
            ("POST", ["v1", "subscriptions", id]) => self.update_subscription(id, params),
            ("DELETE", ["v1", "subscriptions", id]) => self.cancel_subscription(id, params),
            _ => Err(failure(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                format!(
                    "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
                ),
                None,
                None,
            )),
        }
    }

    /// A customer the request names must exist, as Stripe checks.
    fn known_customer(&self, id: &str, param: &str) -> Result<(), Failure> {
        if self.books.customers.contains_key(id) {
            Ok(())
        } else {
            Err(no_such(StatusCode::BAD_REQUEST, "customer", id, param))
        }
    }

    fn create_customer(&mut self, params: &Params) -> Answer {
        params.allow(CREATE_CUSTOMER)?;
        let name = params.text("name")?;
        let email = params.text("email")?;
        let description = params.text("description")?;
        let phone = params.text("phone")?;
        let metadata = params.metadata("metadata")?;
        let locales = match params.get("preferred_locales") {
            None => Vec::new(),
            Some(list) => array(list, "preferred_locales")?
                .into_iter()
                .map(|(name, v)| text(v, &name).map(|s| json!(s)))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let id = self.books.next("cus_fake");
        Ok(self.new_customer(id, name, email, description, phone, metadata, locales))
    }

    #[allow(clippy::too_many_arguments)]
    fn new_customer(
        &mut self,
        id: String,
        name: Option<String>,
        email: Option<String>,
        description: Option<String>,
        phone: Option<String>,
        metadata: Map<String, Value>,
        preferred_locales: Vec<Value>,
    ) -> Value {
        let mut customer = self.fx.customer.clone();
        set(&mut customer, "id", json!(id));
        set(&mut customer, "created", json!(now()));
        set(&mut customer, "name", or_null(name));
        set(&mut customer, "email", or_null(email));
        set(&mut customer, "description", or_null(description));
        set(&mut customer, "phone", or_null(phone));
        set(&mut customer, "metadata", Value::Object(metadata));
        set(&mut customer, "preferred_locales", Value::Array(preferred_locales));
        // A new customer has no discount and no currency yet.
        set(&mut customer, "discount", Value::Null);
        set(&mut customer, "currency", Value::Null);
        self.books.customers.insert(id, customer.clone());
        customer
    }

    /// A price object for `id`: the `price` fixture under that id.
    fn price(&self, id: &str) -> Value {
        let mut price = self.fx.price.clone();
        set(&mut price, "id", json!(id));
        // The fixture's sample `transform_quantity` would divide quantities by 1592560163.
        set(&mut price, "transform_quantity", Value::Null);
        price
    }

    /// A price made from `price_data` (an inline price gets an id of its own at Stripe too).
    fn price_from_data(&mut self, data: &Value, name: &str) -> Result<Value, Failure> {
        let Value::Object(data) = data else {
            return Err(invalid(format!("Invalid object: {name}"), Some(name)));
        };
        let id = self.books.next("price_fake");
        let mut price = self.price(&id);
        if let Some(amount) = data.get("unit_amount") {
            let amount = integer(amount, &format!("{name}[unit_amount]"))?;
            set(&mut price, "unit_amount", json!(amount));
            set(&mut price, "unit_amount_decimal", json!(amount.to_string()));
        }
        if let Some(currency) = field_text(data, name, "currency")? {
            set(&mut price, "currency", json!(currency.to_lowercase()));
        }
        if let Some(product) = field_text(data, name, "product")? {
            set(&mut price, "product", json!(product));
        }
        match data.get("recurring") {
            Some(Value::Object(recurring)) => {
                let prefix = format!("{name}[recurring]");
                let mut value = price.get("recurring").cloned().unwrap_or_else(|| json!({}));
                if let Some(interval) = field_text(recurring, &prefix, "interval")? {
                    set(&mut value, "interval", json!(interval));
                }
                if let Some(count) = recurring.get("interval_count") {
                    set(
                        &mut value,
                        "interval_count",
                        json!(integer(count, &format!("{prefix}[interval_count]"))?),
                    );
                }
                set(&mut price, "recurring", value);
            }
            Some(_) => return Err(invalid(format!("Invalid hash: {name}[recurring]"), Some(name))),
            None => {}
        }
        Ok(price)
    }

    /// The price of a line item or subscription item: `price` (or the legacy `plan`) or `price_data`.
    fn item_price(&mut self, item: &Map<String, Value>, name: &str) -> Result<Option<Value>, Failure> {
        for key in ["price", "plan"] {
            if let Some(id) = field_text(item, name, key)? {
                if id.is_empty() {
                    return Err(missing(&format!("{name}[{key}]")));
                }
                return Ok(Some(self.price(&id)));
            }
        }
        match item.get("price_data") {
            Some(data) => self.price_from_data(data, &format!("{name}[price_data]")).map(Some),
            None => Ok(None),
        }
    }

    fn create_checkout_session(&mut self, params: &Params) -> Answer {
        params.allow(CREATE_CHECKOUT_SESSION)?;
        let mode = params.one_of("mode", CHECKOUT_MODES)?.ok_or_else(|| missing("mode"))?;
        let ui_mode = params.text("ui_mode")?.unwrap_or_else(|| "hosted_page".to_string());
        let hosted = ui_mode == "hosted_page";
        let success_url = params.text("success_url")?;
        if hosted && mode == "subscription" && success_url.as_deref().is_none_or(str::is_empty) {
            return Err(missing("success_url"));
        }
        if !hosted && success_url.is_some() {
            return Err(invalid(
                format!("success_url is not allowed when ui_mode is {ui_mode}"),
                Some("success_url"),
            ));
        }
        let customer = params.text("customer")?;
        let customer_email = params.text("customer_email")?;
        if customer.is_some() && customer_email.is_some() {
            return Err(invalid(
                "You may only specify one of these parameters: customer, customer_email.",
                Some("customer_email"),
            ));
        }
        if let Some(customer) = &customer {
            self.known_customer(customer, "customer")?;
        }
        let mut items = Vec::new();
        match params.get("line_items") {
            None if mode != "setup" => return Err(missing("line_items")),
            None => {}
            Some(list) => {
                for (name, element) in array(list, "line_items")? {
                    let item = object(element, &name, CHECKOUT_LINE_ITEM)?;
                    let price = self
                        .item_price(item, &name)?
                        .ok_or_else(|| missing(&format!("{name}[price]")))?;
                    let quantity = match item.get("quantity") {
                        Some(q) => quantity(q, &format!("{name}[quantity]"))?,
                        None => 1,
                    };
                    items.push(LineItem {
                        id: String::new(),
                        price,
                        quantity,
                    });
                }
                if items.is_empty() && mode != "setup" {
                    return Err(missing("line_items"));
                }
            }
        }
        let metadata = params.metadata("metadata")?;
        let (subscription_metadata, subscription_description) = match params.get("subscription_data") {
            None => (Map::new(), None),
            Some(data) => {
                let data = hash(data, "subscription_data")?.cloned().unwrap_or_default();
                let metadata = data
                    .get("metadata")
                    .map_or(Ok(Map::new()), |v| metadata_hash(v, "subscription_data[metadata]"))?;
                (metadata, field_text(&data, "subscription_data", "description")?)
            }
        };
        let allow_promotion_codes = params.boolean("allow_promotion_codes")?;
        for item in &mut items {
            item.id = self.books.next("li_fake");
        }
        let id = self.books.next("cs_test_fake");
        let now = now();
        let (subtotal, currency) = totals(&items);
        let mut session = self.fx.checkout_session.clone();
        set(&mut session, "id", json!(id));
        set(&mut session, "created", json!(now));
        set(&mut session, "expires_at", json!(now + 24 * 3600));
        set(&mut session, "mode", json!(mode));
        set(&mut session, "ui_mode", json!(ui_mode));
        set(&mut session, "customer", or_null(customer));
        set(&mut session, "customer_email", or_null(customer_email));
        set(&mut session, "customer_details", Value::Null);
        set(&mut session, "success_url", or_null(success_url));
        set(&mut session, "cancel_url", or_null(params.text("cancel_url")?));
        if let Some(return_url) = params.text("return_url")? {
            // Not in the fixture (a hosted session has none); embedded ones answer it.
            set(&mut session, "return_url", json!(return_url));
        }
        set(
            &mut session,
            "client_reference_id",
            or_null(params.text("client_reference_id")?),
        );
        set(&mut session, "metadata", Value::Object(metadata));
        set(&mut session, "locale", or_null(params.text("locale")?));
        set(
            &mut session,
            "allow_promotion_codes",
            allow_promotion_codes.map_or(Value::Null, Value::Bool),
        );
        set(&mut session, "status", json!("open"));
        set(
            &mut session,
            "payment_status",
            json!(if mode == "setup" {
                "no_payment_required"
            } else {
                "unpaid"
            }),
        );
        set(
            &mut session,
            "url",
            if hosted {
                json!(format!("{}checkout/{id}", self.base))
            } else {
                Value::Null
            },
        );
        set(&mut session, "subscription", Value::Null);
        set(&mut session, "invoice", Value::Null);
        set(&mut session, "payment_intent", Value::Null);
        set(&mut session, "setup_intent", Value::Null);
        set(
            &mut session,
            "amount_subtotal",
            subtotal.map_or(Value::Null, |a| json!(a)),
        );
        set(&mut session, "amount_total", subtotal.map_or(Value::Null, |a| json!(a)));
        set(&mut session, "currency", or_null(currency));
        set(
            &mut session,
            "total_details",
            json!({ "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 }),
        );
        // Sample values of the fixture that no request here asked for.
        for absent in [
            "shipping_cost",
            "currency_conversion",
            "collected_information",
            "after_expiration",
            "shipping_address_collection",
            "consent",
            "consent_collection",
            "permissions",
        ] {
            set(&mut session, absent, Value::Null);
        }
        set(
            &mut session,
            "custom_text",
            json!({ "after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null }),
        );
        if mode != "payment" {
            // Only payment-mode sessions create invoices on request.
            set(&mut session, "invoice_creation", Value::Null);
        }
        self.books.sessions.insert(
            id,
            Session {
                object: session.clone(),
                items,
                subscription_metadata,
                subscription_description,
            },
        );
        Ok(session)
    }

    fn retrieve_checkout_session(&self, id: &str, params: &Params) -> Answer {
        params.allow(RETRIEVE)?;
        let session = self
            .books
            .sessions
            .get(id)
            .ok_or_else(|| no_such(StatusCode::NOT_FOUND, "checkout.session", id, "session"))?;
        let mut object = session.object.clone();
        if params.expand()?.iter().any(|e| e == "line_items") {
            let list = line_items_list(self.fx, id, &session.items, &Params::parse(Vec::new())?)?;
            set(&mut object, "line_items", list);
        }
        Ok(object)
    }

    fn create_portal_session(&mut self, params: &Params) -> Answer {
        params.allow(CREATE_PORTAL_SESSION)?;
        let customer = params.required_text("customer")?;
        self.known_customer(&customer, "customer")?;
        let id = self.books.next("bps_fake");
        let mut session = self.fx.portal_session.clone();
        set(&mut session, "id", json!(id));
        set(&mut session, "created", json!(now()));
        set(&mut session, "customer", json!(customer));
        set(&mut session, "return_url", or_null(params.text("return_url")?));
        set(&mut session, "locale", or_null(params.text("locale")?));
        set(&mut session, "on_behalf_of", or_null(params.text("on_behalf_of")?));
        if let Some(configuration) = params.text("configuration")? {
            set(&mut session, "configuration", json!(configuration));
        }
        // The fixture's `flow` samples every flow at once; a session without `flow_data` has none.
        set(&mut session, "flow", Value::Null);
        set(&mut session, "livemode", json!(false));
        set(&mut session, "url", json!(format!("{}portal/{id}", self.base)));
        Ok(session)
    }

    fn create_subscription(&mut self, params: &Params) -> Answer {
        params.allow(CREATE_SUBSCRIPTION)?;
        let customer = params.required_text("customer")?;
        self.known_customer(&customer, "customer")?;
        let list = params.get("items").ok_or_else(|| missing("items"))?;
        let mut items = Vec::new();
        for (name, element) in array(list, "items")? {
            let item = object(element, &name, CREATE_SUBSCRIPTION_ITEM)?;
            let price = self
                .item_price(item, &name)?
                .ok_or_else(|| missing(&format!("{name}[price]")))?;
            let quantity = match item.get("quantity") {
                Some(q) => quantity(q, &format!("{name}[quantity]"))?,
                None => 1,
            };
            let metadata = item
                .get("metadata")
                .map_or(Ok(Map::new()), |v| metadata_hash(v, &format!("{name}[metadata]")))?;
            if items
                .iter()
                .any(|(p, _, _): &(Value, u64, Map<String, Value>)| p["id"] == price["id"])
            {
                return Err(duplicate_price(&price, &name));
            }
            items.push((price, quantity, metadata));
        }
        if items.is_empty() {
            return Err(missing("items"));
        }
        let collection_method = params
            .one_of("collection_method", COLLECTION_METHODS)?
            .unwrap_or_else(|| "charge_automatically".to_string());
        let days_until_due = params.integer("days_until_due")?;
        params.one_of("proration_behavior", PRORATION_BEHAVIORS)?;
        params.one_of("payment_behavior", PAYMENT_BEHAVIORS)?;
        let metadata = params.metadata("metadata")?;
        let description = params.text("description")?;
        let cancel_at_period_end = params.boolean("cancel_at_period_end")?.unwrap_or(false);
        let trial_days = params.integer("trial_period_days")?;
        let mut subscription = self.new_subscription(&customer, items, metadata, description);
        set(&mut subscription, "collection_method", json!(collection_method));
        set(
            &mut subscription,
            "days_until_due",
            days_until_due.map_or(Value::Null, |d| json!(d)),
        );
        if let Some(days) = trial_days.filter(|d| *d > 0) {
            let start = now();
            set(&mut subscription, "status", json!("trialing"));
            set(&mut subscription, "trial_start", json!(start));
            set(&mut subscription, "trial_end", json!(start + days * 86_400));
        }
        apply_cancel_at_period_end(&mut subscription, cancel_at_period_end);
        self.keep_subscription(&subscription);
        Ok(subscription)
    }

    /// A new active subscription from the `subscription` fixture (not yet kept).
    fn new_subscription(
        &mut self,
        customer: &str,
        items: Vec<(Value, u64, Map<String, Value>)>,
        metadata: Map<String, Value>,
        description: Option<String>,
    ) -> Value {
        let id = self.books.next("sub_fake");
        let now = now();
        let currency = items
            .first()
            .and_then(|(price, _, _)| price.get("currency").cloned())
            .unwrap_or_else(|| json!("usd"));
        let data: Vec<Value> = items
            .into_iter()
            .map(|(price, quantity, metadata)| self.new_item(&id, price, quantity, metadata, now))
            .collect();
        let mut subscription = self.fx.subscription.clone();
        set(&mut subscription, "id", json!(id));
        set(&mut subscription, "customer", json!(customer));
        set(&mut subscription, "created", json!(now));
        set(&mut subscription, "start_date", json!(now));
        set(&mut subscription, "billing_cycle_anchor", json!(now));
        set(&mut subscription, "currency", currency);
        set(&mut subscription, "status", json!("active"));
        set(&mut subscription, "metadata", Value::Object(metadata));
        set(&mut subscription, "description", or_null(description));
        set(&mut subscription, "collection_method", json!("charge_automatically"));
        set(&mut subscription, "days_until_due", Value::Null);
        set(&mut subscription, "cancel_at_period_end", json!(false));
        set(
            &mut subscription,
            "cancellation_details",
            json!({ "comment": null, "feedback": null, "reason": null }),
        );
        set(&mut subscription, "billing_schedules", json!([]));
        // Sample values of the fixture that a new, untouched subscription does not have.
        for absent in [
            "cancel_at",
            "canceled_at",
            "ended_at",
            "trial_start",
            "trial_end",
            "billing_cycle_anchor_config",
            "next_pending_invoice_item_invoice",
            "pause_collection",
            "pending_invoice_item_interval",
            "pending_update",
            "transfer_data",
            "billing_thresholds",
            "latest_invoice",
            "schedule",
        ] {
            set(&mut subscription, absent, Value::Null);
        }
        set(
            &mut subscription,
            "items",
            json!({
                "object": "list",
                "data": data,
                "has_more": false,
                "url": format!("/v1/subscription_items?subscription={id}"),
            }),
        );
        subscription
    }

    /// A subscription item from the `subscription_item` fixture, its period starting at `start`.
    fn new_item(
        &mut self,
        subscription: &str,
        price: Value,
        quantity: u64,
        metadata: Map<String, Value>,
        start: i64,
    ) -> Value {
        let id = self.books.next("si_fake");
        let mut item = self.fx.subscription_item.clone();
        set(&mut item, "id", json!(id));
        set(&mut item, "created", json!(start));
        set(&mut item, "subscription", json!(subscription));
        set(&mut item, "quantity", json!(quantity));
        set(&mut item, "metadata", Value::Object(metadata));
        set(&mut item, "discounts", json!([]));
        set(&mut item, "tax_rates", json!([]));
        set(&mut item, "billing_thresholds", Value::Null);
        set(&mut item, "current_period_start", json!(start));
        set(&mut item, "current_period_end", json!(period_end(&price, start)));
        let plan = plan_of(item.get("plan").cloned().unwrap_or_else(|| json!({})), &price);
        set(&mut item, "plan", plan);
        set(&mut item, "price", price);
        item
    }

    fn keep_subscription(&mut self, subscription: &Value) {
        if let Some(id) = subscription.get("id").and_then(Value::as_str) {
            self.books.subscriptions.insert(id.to_string(), subscription.clone());
        }
    }

    fn update_subscription(&mut self, id: &str, params: &Params) -> Answer {
        params.allow(UPDATE_SUBSCRIPTION)?;
        let mut subscription = self
            .books
            .subscriptions
            .get(id)
            .cloned()
            .ok_or_else(|| no_such(StatusCode::NOT_FOUND, "subscription", id, "id"))?;
        let not_after_cancel = params
            .pairs
            .iter()
            .map(|(key, _)| key.split('[').next().unwrap_or_default())
            .find(|top| !["metadata", "cancellation_details", "expand"].contains(top));
        if subscription["status"] == "canceled"
            && let Some(top) = not_after_cancel
        {
            return Err(invalid(
                "A canceled subscription can only update its cancellation_details and metadata.",
                Some(top),
            ));
        }
        params.one_of("proration_behavior", PRORATION_BEHAVIORS)?;
        params.one_of("payment_behavior", PAYMENT_BEHAVIORS)?;
        if let Some(list) = params.get("items") {
            let mut data: Vec<Value> = subscription["items"]["data"].as_array().cloned().unwrap_or_default();
            let start = now();
            for (name, element) in array(list, "items")? {
                let item = object(element, &name, UPDATE_SUBSCRIPTION_ITEM)?;
                let quantity = item
                    .get("quantity")
                    .map(|q| quantity(q, &format!("{name}[quantity]")))
                    .transpose()?;
                let deleted = item
                    .get("deleted")
                    .map(|d| boolean(d, &format!("{name}[deleted]")))
                    .transpose()?
                    .unwrap_or(false);
                let item_metadata = item
                    .get("metadata")
                    .map(|v| metadata_hash(v, &format!("{name}[metadata]")))
                    .transpose()?;
                let price = self.item_price(item, &name)?;
                match field_text(item, &name, "id")? {
                    Some(item_id) => {
                        let at = data
                            .iter()
                            .position(|existing| existing["id"] == item_id.as_str())
                            .ok_or_else(|| {
                                invalid(
                                    format!(
                                        "Invalid subscription_item id: {item_id} is not an item of subscription {id}"
                                    ),
                                    Some(&format!("{name}[id]")),
                                )
                            })?;
                        if deleted {
                            data.remove(at);
                            continue;
                        }
                        let existing = &mut data[at];
                        if let Some(quantity) = quantity {
                            set(existing, "quantity", json!(quantity));
                        }
                        if let Some(price) = price {
                            let plan = plan_of(existing.get("plan").cloned().unwrap_or_else(|| json!({})), &price);
                            set(existing, "plan", plan);
                            set(existing, "price", price);
                        }
                        if let Some(changes) = item_metadata {
                            let mut kept = existing["metadata"].as_object().cloned().unwrap_or_default();
                            merge_metadata(&mut kept, changes);
                            set(existing, "metadata", Value::Object(kept));
                        }
                    }
                    None => {
                        if deleted {
                            return Err(missing(&format!("{name}[id]")));
                        }
                        let price = price.ok_or_else(|| missing(&format!("{name}[price]")))?;
                        if data.iter().any(|existing| existing["price"]["id"] == price["id"]) {
                            return Err(duplicate_price(&price, &name));
                        }
                        let new = self.new_item(
                            id,
                            price,
                            quantity.unwrap_or(1),
                            item_metadata.unwrap_or_default(),
                            start,
                        );
                        data.push(new);
                    }
                }
            }
            if data.is_empty() {
                return Err(invalid(
                    format!(
                        "A subscription needs at least one item: cancel it instead (DELETE /v1/subscriptions/{id})."
                    ),
                    Some("items"),
                ));
            }
            set(&mut subscription["items"], "data", Value::Array(data));
        }
        match params.get("metadata") {
            Some(Value::String(empty)) if empty.is_empty() => set(&mut subscription, "metadata", json!({})),
            Some(changes) => {
                let changes = metadata_hash(changes, "metadata")?;
                let mut kept = subscription["metadata"].as_object().cloned().unwrap_or_default();
                merge_metadata(&mut kept, changes);
                set(&mut subscription, "metadata", Value::Object(kept));
            }
            None => {}
        }
        if let Some(method) = params.one_of("collection_method", COLLECTION_METHODS)? {
            set(&mut subscription, "collection_method", json!(method));
        }
        if let Some(days) = params.get("days_until_due") {
            let days = match days {
                Value::String(empty) if empty.is_empty() => Value::Null,
                days => json!(integer(days, "days_until_due")?),
            };
            set(&mut subscription, "days_until_due", days);
        }
        if let Some(description) = params.text("description")? {
            set(
                &mut subscription,
                "description",
                or_null(Some(description).filter(|d| !d.is_empty())),
            );
        }
        if let Some(at_period_end) = params.boolean("cancel_at_period_end")? {
            apply_cancel_at_period_end(&mut subscription, at_period_end);
        }
        self.keep_subscription(&subscription);
        Ok(subscription)
    }

    fn cancel_subscription(&mut self, id: &str, params: &Params) -> Answer {
        params.allow(CANCEL_SUBSCRIPTION)?;
        params.boolean("invoice_now")?;
        params.boolean("prorate")?;
        let mut subscription = self
            .books
            .subscriptions
            .get(id)
            .cloned()
            .ok_or_else(|| no_such(StatusCode::NOT_FOUND, "subscription", id, "id"))?;
        if subscription["status"] != "canceled" {
            let now = now();
            let mut details = json!({ "comment": null, "feedback": null, "reason": "cancellation_requested" });
            if let Some(given) = params.get("cancellation_details") {
                let given = hash(given, "cancellation_details")?.cloned().unwrap_or_default();
                for key in ["comment", "feedback"] {
                    if let Some(value) = field_text(&given, "cancellation_details", key)? {
                        set(&mut details, key, json!(value));
                    }
                }
            }
            set(&mut subscription, "status", json!("canceled"));
            set(&mut subscription, "canceled_at", json!(now));
            set(&mut subscription, "ended_at", json!(now));
            set(&mut subscription, "cancel_at", Value::Null);
            set(&mut subscription, "cancel_at_period_end", json!(false));
            set(&mut subscription, "cancellation_details", details);
            self.keep_subscription(&subscription);
        }
        Ok(subscription)
    }

    fn complete_checkout(&mut self, session_id: &str) -> Option<Value> {
        let mut session = self.books.sessions.get(session_id)?.clone();
        if session.object["status"] == "complete" {
            return Some(session.object);
        }
        let mode = session.object["mode"].as_str().unwrap_or("payment").to_string();
        let customer = match session.object["customer"].as_str() {
            Some(customer) => customer.to_string(),
            None => {
                let email = session.object["customer_email"].as_str().map(str::to_string);
                let id = self.books.next("cus_fake");
                self.new_customer(id.clone(), None, email, None, None, Map::new(), Vec::new());
                id
            }
        };
        let email = self
            .books
            .customers
            .get(&customer)
            .and_then(|c| c["email"].as_str().map(str::to_string))
            .or_else(|| session.object["customer_email"].as_str().map(str::to_string));
        let object = &mut session.object;
        match mode.as_str() {
            "subscription" => {
                let items = session
                    .items
                    .iter()
                    .map(|item| (item.price.clone(), item.quantity, Map::new()))
                    .collect();
                let subscription = self.new_subscription(
                    &customer,
                    items,
                    session.subscription_metadata.clone(),
                    session.subscription_description.clone(),
                );
                self.keep_subscription(&subscription);
                set(object, "subscription", subscription["id"].clone());
                set(object, "payment_status", json!("paid"));
            }
            "setup" => {
                set(object, "setup_intent", json!(self.books.next("seti_fake")));
                set(object, "payment_status", json!("no_payment_required"));
            }
            _ => {
                set(object, "payment_intent", json!(self.books.next("pi_fake")));
                set(object, "payment_status", json!("paid"));
            }
        }
        set(object, "status", json!("complete"));
        set(object, "customer", json!(customer));
        set(object, "url", Value::Null);
        set(
            object,
            "customer_details",
            json!({
                "address": { "city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null },
                "email": email,
                "name": null,
                "phone": null,
                "tax_exempt": "none",
                "tax_ids": [],
                "business_name": null,
                "individual_name": null,
            }),
        );
        let completed = session.object.clone();
        self.books.sessions.insert(session_id.to_string(), session);
        Some(completed)
    }
}

fn check_key(secret: &str, headers: &HeaderMap) -> Result<(), Failure> {
    let unauthorized =
        |message: String| failure(StatusCode::UNAUTHORIZED, "invalid_request_error", message, None, None);
    let Some(authorization) = header_text(headers, "authorization") else {
        return Err(unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.".to_string(),
        ));
    };
    let given = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .unwrap_or(authorization)
        .trim();
    if given == secret {
        Ok(())
    } else {
        Err(unauthorized(format!("Invalid API Key provided: {}", masked(given))))
    }
}

fn duplicate_price(price: &Value, name: &str) -> Failure {
    invalid(
        format!(
            "Cannot add multiple subscription items with the same plan: {}",
            price["id"].as_str().unwrap_or_default()
        ),
        Some(&format!("{name}[price]")),
    )
}

/// Stripe's metadata update: a key with an empty value is removed, the others set.
fn merge_metadata(kept: &mut Map<String, Value>, changes: Map<String, Value>) {
    for (key, value) in changes {
        if value.as_str().is_some_and(str::is_empty) {
            kept.remove(&key);
        } else {
            kept.insert(key, value);
        }
    }
}

/// `cancel_at_period_end`; as in current API versions, `cancel_at` then shows when it ends.
fn apply_cancel_at_period_end(subscription: &mut Value, at_period_end: bool) {
    set(subscription, "cancel_at_period_end", json!(at_period_end));
    let end = subscription["items"]["data"]
        .as_array()
        .and_then(|items| items.iter().filter_map(|i| i["current_period_end"].as_i64()).max());
    let cancel_at = match (at_period_end, end) {
        (true, Some(end)) => json!(end),
        _ => Value::Null,
    };
    set(subscription, "cancel_at", cancel_at);
}

/// The legacy `plan` of a subscription item, made to agree with its price.
fn plan_of(mut plan: Value, price: &Value) -> Value {
    let recurring = &price["recurring"];
    set(&mut plan, "id", price["id"].clone());
    set(&mut plan, "object", json!("plan"));
    set(&mut plan, "active", json!(true));
    set(&mut plan, "amount", price["unit_amount"].clone());
    set(&mut plan, "amount_decimal", price["unit_amount_decimal"].clone());
    set(&mut plan, "billing_scheme", json!("per_unit"));
    set(&mut plan, "created", price["created"].clone());
    set(&mut plan, "currency", price["currency"].clone());
    set(
        &mut plan,
        "interval",
        recurring.get("interval").cloned().unwrap_or_else(|| json!("month")),
    );
    set(
        &mut plan,
        "interval_count",
        recurring.get("interval_count").cloned().unwrap_or_else(|| json!(1)),
    );
    set(&mut plan, "livemode", json!(false));
    set(&mut plan, "metadata", json!({}));
    set(&mut plan, "meter", Value::Null);
    set(&mut plan, "nickname", Value::Null);
    set(&mut plan, "product", price["product"].clone());
    set(&mut plan, "tiers_mode", Value::Null);
    set(&mut plan, "transform_usage", Value::Null);
    set(&mut plan, "trial_period_days", Value::Null);
    set(&mut plan, "usage_type", json!("licensed"));
    plan
}

/// The end of the first billing period of `price` from `start`.
fn period_end(price: &Value, start: i64) -> i64 {
    let recurring = &price["recurring"];
    let count = recurring["interval_count"].as_i64().unwrap_or(1).clamp(1, 1000);
    match recurring["interval"].as_str().unwrap_or("month") {
        "day" => start + count * 86_400,
        "week" => start + count * 7 * 86_400,
        "year" => add_months(start, 12 * count),
        _ => add_months(start, count),
    }
}

/// `timestamp` plus whole calendar months (the day clamped to the month's length), in UTC.
fn add_months(timestamp: i64, months: i64) -> i64 {
    let (days, seconds) = (timestamp.div_euclid(86_400), timestamp.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let total = year * 12 + (month - 1) + months;
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let day = day.min(days_in_month(year, month));
    days_from_civil(year, month, day) * 86_400 + seconds
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The sum of the line items (unit amount × quantity) and their currency.
fn totals(items: &[LineItem]) -> (Option<i64>, Option<String>) {
    if items.is_empty() {
        return (None, None);
    }
    let sum = items
        .iter()
        .map(|item| {
            item.price["unit_amount"]
                .as_i64()
                .unwrap_or(0)
                .saturating_mul(item.quantity as i64)
        })
        .fold(0i64, i64::saturating_add);
    let currency = items[0].price["currency"].as_str().map(str::to_string);
    (Some(sum), currency)
}

/// A checkout session's line items as `GET /v1/checkout/sessions/{id}/line_items` lists them.
fn line_items_list(fx: &Fixtures, session: &str, items: &[LineItem], params: &Params) -> Answer {
    let limit = params.integer("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(invalid("Invalid limit: must be between 1 and 100", Some("limit")));
    }
    let mut rest: &[LineItem] = items;
    if let Some(after) = params.text("starting_after")? {
        let at = rest.iter().position(|item| item.id == after).ok_or_else(|| {
            invalid(
                format!("Invalid starting_after: {after} is not a line item of {session}"),
                Some("starting_after"),
            )
        })?;
        rest = &rest[at + 1..];
    }
    let shown = rest.len().min(limit as usize);
    let data: Vec<Value> = rest[..shown]
        .iter()
        .map(|item| {
            let amount = item.price["unit_amount"]
                .as_i64()
                .unwrap_or(0)
                .saturating_mul(item.quantity as i64);
            let mut object = fx.checkout_item.clone();
            set(&mut object, "id", json!(item.id));
            set(&mut object, "price", item.price.clone());
            set(&mut object, "quantity", json!(item.quantity));
            set(&mut object, "currency", item.price["currency"].clone());
            set(&mut object, "amount_subtotal", json!(amount));
            set(&mut object, "amount_total", json!(amount));
            set(&mut object, "amount_discount", json!(0));
            set(&mut object, "amount_tax", json!(0));
            set(&mut object, "adjustable_quantity", Value::Null);
            object
        })
        .collect();
    Ok(json!({
        "object": "list",
        "data": data,
        "has_more": shown < rest.len(),
        "url": format!("/v1/checkout/sessions/{session}/line_items"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_test_vitrine_fake_0123456789";

    async fn call(
        fake: &FakeStripe,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
        key: &str,
        version: &str,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let url = format!("{}{}", fake.base(), path.trim_start_matches('/'));
        let client = reqwest::Client::new();
        let mut request = client
            .request(method.clone(), url)
            .bearer_auth(key)
            .header("Stripe-Version", version);
        request = if method == reqwest::Method::GET {
            request.query(form)
        } else {
            request.form(form)
        };
        if let Some(idempotency_key) = idempotency_key {
            request = request.header("Idempotency-Key", idempotency_key);
        }
        let response = request.send().await.expect("the stand-in answers");
        let status = response.status().as_u16();
        let body = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}")),
        )
    }

    async fn post(fake: &FakeStripe, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        call(fake, reqwest::Method::POST, path, form, KEY, STRIPE_VERSION, None).await
    }

    async fn get(fake: &FakeStripe, path: &str) -> (u16, Value) {
        call(fake, reqwest::Method::GET, path, &[], KEY, STRIPE_VERSION, None).await
    }

    fn prices(subscription: &Value) -> Vec<String> {
        subscription["items"]["data"]
            .as_array()
            .expect("items.data")
            .iter()
            .map(|item| item["price"]["id"].as_str().expect("a price id").to_string())
            .collect()
    }

    fn keys(object: &Value) -> Vec<String> {
        let mut keys: Vec<String> = object.as_object().expect("an object").keys().cloned().collect();
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn a_customer_has_the_fixture_shape_and_the_request_data() {
        let fake = FakeStripe::start(KEY).await;
        let (status, customer) = post(
            &fake,
            "/v1/customers",
            &[
                ("name", "ACME GmbH"),
                ("email", "billing@acme.example"),
                ("metadata[client]", "acme"),
                ("preferred_locales[0]", "de"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{customer}");
        assert_eq!(keys(&customer), keys(&resource(fixtures(), "customer")));
        assert_eq!(customer["id"], "cus_fake1");
        assert_eq!(customer["object"], "customer");
        assert_eq!(customer["name"], "ACME GmbH");
        assert_eq!(customer["email"], "billing@acme.example");
        assert_eq!(customer["metadata"], json!({ "client": "acme" }));
        assert_eq!(customer["preferred_locales"], json!(["de"]));
        let requests = fake.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            (requests[0].method.as_str(), requests[0].path.as_str()),
            ("POST", "/v1/customers")
        );
        assert_eq!(requests[0].param("metadata[client]"), Some("acme"));
        assert_eq!(requests[0].idempotency_key, None);
        let (status, again) = get(&fake, "/v1/customers/cus_fake1").await;
        assert_eq!((status, &again), (200, &customer));
    }

    #[tokio::test]
    async fn unknown_parameters_and_malformed_forms_are_refused() {
        let fake = FakeStripe::start(KEY).await;
        let (status, error) = post(&fake, "/v1/customers", &[("name", "x"), ("nmae", "y")]).await;
        assert_eq!(status, 400);
        assert_eq!(error["error"]["type"], "invalid_request_error");
        assert_eq!(error["error"]["param"], "nmae");
        assert_eq!(error["error"]["message"], "Received unknown parameter: nmae");
        let (status, error) = post(
            &fake,
            "/v1/checkout/sessions",
            &[
                ("mode", "subscription"),
                ("success_url", "https://x/"),
                ("line_items[0][prize]", "price_a"),
            ],
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(error["error"]["param"], "line_items[0][prize]");
        for form in [
            &[("metadata[a", "1")][..],
            &[("metadata", "x"), ("metadata[a]", "1")][..],
            &[("[a]", "1")][..],
        ] {
            let (status, error) = post(&fake, "/v1/customers", form).await;
            assert_eq!(status, 400, "{form:?}: {error}");
        }
        let (status, error) = post(&fake, "/v1/invoices", &[]).await;
        assert_eq!(status, 404);
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Unrecognized request URL (POST: /v1/invoices)")
        );
        let (status, error) = get(&fake, "/v1/subscriptions/sub_missing").await;
        assert_eq!(status, 404);
        assert_eq!(error["error"]["code"], "resource_missing");
        assert!(fake.shared.books().customers.is_empty());
    }

    #[tokio::test]
    async fn a_wrong_key_or_version_is_refused() {
        let fake = FakeStripe::start(KEY).await;
        let (status, error) = call(
            &fake,
            reqwest::Method::POST,
            "/v1/customers",
            &[],
            "sk_test_other_key_9876",
            STRIPE_VERSION,
            None,
        )
        .await;
        assert_eq!(status, 401);
        assert_eq!(error["error"]["type"], "invalid_request_error");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("Invalid API Key provided: sk_test_"), "{message}");
        assert!(message.ends_with("9876") && !message.contains("other"), "{message}");
        let (status, error) = call(
            &fake,
            reqwest::Method::POST,
            "/v1/customers",
            &[],
            KEY,
            "2024-06-20",
            None,
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(error["error"]["type"], "invalid_request_error");
        assert!(fake.shared.books().customers.is_empty());
        assert_eq!(fake.requests().len(), 2);
    }

    #[tokio::test]
    async fn an_idempotency_key_replays_the_first_answer() {
        let fake = FakeStripe::start(KEY).await;
        let form = [("email", "a@acme.example")];
        let first = call(
            &fake,
            reqwest::Method::POST,
            "/v1/customers",
            &form,
            KEY,
            STRIPE_VERSION,
            Some("key-1"),
        )
        .await;
        let second = call(
            &fake,
            reqwest::Method::POST,
            "/v1/customers",
            &form,
            KEY,
            STRIPE_VERSION,
            Some("key-1"),
        )
        .await;
        assert_eq!(first.0, 200);
        assert_eq!(first, second);
        assert_eq!(fake.shared.books().customers.len(), 1);
        let (status, error) = call(
            &fake,
            reqwest::Method::POST,
            "/v1/customers",
            &[("email", "b@acme.example")],
            KEY,
            STRIPE_VERSION,
            Some("key-1"),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(error["error"]["type"], "idempotency_error");
        let (_, other) = call(
            &fake,
            reqwest::Method::POST,
            "/v1/customers",
            &form,
            KEY,
            STRIPE_VERSION,
            Some("key-2"),
        )
        .await;
        assert_eq!(other["id"], "cus_fake2");
        let keys: Vec<_> = fake.requests().into_iter().map(|r| r.idempotency_key).collect();
        assert_eq!(
            keys,
            [Some("key-1"), Some("key-1"), Some("key-1"), Some("key-2")].map(|k| k.map(String::from))
        );
    }

    #[tokio::test]
    async fn a_completed_checkout_makes_a_subscription_of_its_prices() {
        let fake = FakeStripe::start(KEY).await;
        let (_, customer) = post(&fake, "/v1/customers", &[("email", "billing@acme.example")]).await;
        let customer = customer["id"].as_str().unwrap().to_string();
        let (status, error) = post(
            &fake,
            "/v1/checkout/sessions",
            &[
                ("mode", "subscription"),
                ("customer", &customer),
                ("line_items[0][price]", "price_a"),
            ],
        )
        .await;
        assert_eq!(
            (status, &error["error"]["param"]),
            (400, &json!("success_url")),
            "{error}"
        );
        let (status, error) = post(
            &fake,
            "/v1/checkout/sessions",
            &[("mode", "subscription"), ("success_url", "https://x/")],
        )
        .await;
        assert_eq!(
            (status, &error["error"]["param"]),
            (400, &json!("line_items")),
            "{error}"
        );
        let (status, session) = post(
            &fake,
            "/v1/checkout/sessions",
            &[
                ("mode", "subscription"),
                ("customer", &customer),
                ("success_url", "https://vitrine.example/billing?done=1"),
                ("cancel_url", "https://vitrine.example/billing"),
                ("client_reference_id", "acme"),
                ("locale", "de"),
                ("metadata[client]", "acme"),
                ("subscription_data[metadata][client]", "acme"),
                ("line_items[0][price]", "price_monthly"),
                ("line_items[0][quantity]", "1"),
                ("line_items[1][price]", "price_slack"),
                ("line_items[1][quantity]", "2"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{session}");
        assert_eq!(keys(&session), keys(&resource(fixtures(), "checkout.session")));
        let id = session["id"].as_str().unwrap().to_string();
        assert_eq!(id, "cs_test_fake1");
        assert_eq!(session["status"], "open");
        assert_eq!(session["url"], json!(format!("{}checkout/{id}", fake.base())));
        assert_eq!(session["metadata"], json!({ "client": "acme" }));
        assert_eq!(session["locale"], "de");
        assert_eq!(session["amount_total"], 6000);

        let (status, items) = get(&fake, &format!("/v1/checkout/sessions/{id}/line_items")).await;
        assert_eq!(status, 200);
        assert_eq!(items["object"], "list");
        let listed: Vec<_> = items["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["price"]["id"].clone(), i["quantity"].clone()))
            .collect();
        assert_eq!(
            listed,
            [(json!("price_monthly"), json!(1)), (json!("price_slack"), json!(2))]
        );

        let completed = fake.complete_checkout(&id);
        assert_eq!(completed["status"], "complete");
        assert_eq!(completed["payment_status"], "paid");
        let subscription_id = completed["subscription"].as_str().expect("a subscription").to_string();
        let subscription = fake.subscription(&subscription_id).expect("kept");
        assert_eq!(keys(&subscription), keys(&resource(fixtures(), "subscription")));
        assert_eq!(subscription["status"], "active");
        assert_eq!(subscription["customer"], json!(customer));
        assert_eq!(subscription["metadata"], json!({ "client": "acme" }));
        assert_eq!(prices(&subscription), ["price_monthly", "price_slack"]);
        assert_eq!(subscription["items"]["data"][1]["quantity"], 2);
        assert_eq!(subscription["items"]["data"][0]["subscription"], json!(subscription_id));
        assert_eq!(fake.complete_checkout(&id), completed);
        let (_, held) = get(&fake, &format!("/v1/checkout/sessions/{id}")).await;
        assert_eq!(held, completed);
        let body = event("evt_1", "checkout.session.completed", 1_700_000_000, completed.clone());
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (parsed["type"].clone(), parsed["data"]["object"].clone()),
            (json!("checkout.session.completed"), completed)
        );

        let (status, portal) = post(
            &fake,
            "/v1/billing_portal/sessions",
            &[
                ("customer", &customer),
                ("return_url", "https://vitrine.example/billing"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{portal}");
        assert_eq!(portal["url"], json!(format!("{}portal/bps_fake1", fake.base())));
        let (status, error) = post(&fake, "/v1/billing_portal/sessions", &[("return_url", "https://x/")]).await;
        assert_eq!(
            (status, &error["error"]["message"]),
            (400, &json!("Missing required param: customer."))
        );
    }

    #[tokio::test]
    async fn a_subscription_update_adds_changes_and_deletes_items() {
        let fake = FakeStripe::start(KEY).await;
        let (_, customer) = post(&fake, "/v1/customers", &[("name", "Globex")]).await;
        let customer = customer["id"].as_str().unwrap().to_string();
        let (status, error) = post(&fake, "/v1/subscriptions", &[("customer", &customer)]).await;
        assert_eq!((status, &error["error"]["param"]), (400, &json!("items")));
        let (status, subscription) = post(
            &fake,
            "/v1/subscriptions",
            &[
                ("customer", &customer),
                ("collection_method", "send_invoice"),
                ("days_until_due", "14"),
                ("metadata[client]", "globex"),
                ("items[0][price]", "price_a"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{subscription}");
        let id = subscription["id"].as_str().unwrap().to_string();
        assert_eq!(subscription["days_until_due"], 14);
        let first_item = subscription["items"]["data"][0]["id"].as_str().unwrap().to_string();

        let path = format!("/v1/subscriptions/{id}");
        let (status, updated) = post(
            &fake,
            &path,
            &[
                ("items[0][price]", "price_b"),
                ("items[0][quantity]", "3"),
                ("proration_behavior", "none"),
                ("metadata[plan]", "pro"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(prices(&updated), ["price_a", "price_b"]);
        assert_eq!(updated["items"]["data"][1]["quantity"], 3);
        assert_eq!(updated["metadata"], json!({ "client": "globex", "plan": "pro" }));
        let (status, error) = post(&fake, &path, &[("items[0][price]", "price_b")]).await;
        assert_eq!(status, 400, "{error}");

        let (status, updated) = post(
            &fake,
            &path,
            &[
                ("items[0][id]", &first_item),
                ("items[0][deleted]", "true"),
                ("cancel_at_period_end", "true"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(prices(&updated), ["price_b"]);
        assert_eq!(updated["cancel_at_period_end"], true);
        assert_eq!(fake.subscription(&id).as_ref(), Some(&updated));
        let (_, held) = get(&fake, &path).await;
        assert_eq!(held, updated);

        let (status, canceled) = call(&fake, reqwest::Method::DELETE, &path, &[], KEY, STRIPE_VERSION, None).await;
        assert_eq!(status, 200);
        assert_eq!(canceled["status"], "canceled");
        let (status, _) = post(&fake, &path, &[("items[0][price]", "price_c")]).await;
        assert_eq!(status, 400);
    }

    #[test]
    fn the_signature_is_stripes() {
        // HMAC-SHA256("whsec_test_secret", "1700000000.{body}"), computed with Python's hmac module.
        let body = r#"{"id":"evt_1","object":"event"}"#;
        assert_eq!(
            signature("whsec_test_secret", 1_700_000_000, body),
            "t=1700000000,v1=0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd"
        );
    }

    #[test]
    fn months_are_calendar_months() {
        // 2024-01-31T12:00:00Z + 1 month = 2024-02-29T12:00:00Z; + 12 months = 2025-01-31T12:00:00Z.
        assert_eq!(add_months(1_706_702_400, 1), 1_709_208_000);
        assert_eq!(add_months(1_706_702_400, 12), 1_738_324_800);
        assert_eq!(masked("sk_test_abcdefgh1234"), "sk_test_********1234");
    }
}
