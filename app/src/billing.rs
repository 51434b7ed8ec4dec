//! The agency's billing page (its catalogue of add-ons, its Stripe account, every client's
//! contract) and a client's contract page (what it has, what each add-on brings, how it pays),
//! and the note shown where a feature needs an add-on.

use crate::dto::*;
use crate::i18n::Locale;
use crate::mail::fill;
use crate::pages::Field;
use leptos::prelude::*;
use leptos_i18n::td_string;

/// `49,00 €` (German, French) or `€49.00` (English).
pub fn money(locale: Locale, cents: i64, currency: &str) -> String {
    let symbol = match currency {
        "eur" => "€".to_string(),
        "usd" => "$".to_string(),
        "gbp" => "£".to_string(),
        "chf" => "CHF ".to_string(),
        other => format!("{} ", other.to_ascii_uppercase()),
    };
    let (whole, fraction) = (cents / 100, cents % 100);
    let grouped = |separator: char| {
        let digits = whole.to_string();
        let mut out = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(separator);
            }
            out.push(digit);
        }
        out
    };
    match locale {
        Locale::en => format!("{symbol}{}.{fraction:02}", grouped(',')),
        Locale::de => format!("{},{fraction:02} {}", grouped('.'), symbol.trim()),
        Locale::fr => format!("{},{fraction:02} {}", grouped('\u{202f}'), symbol.trim()),
    }
}

pub fn grant_text(locale: Locale, grant: &str) -> &'static str {
    match grant {
        "client_mails" => td_string!(locale, grant_client_mails),
        "status_page" => td_string!(locale, grant_status_page),
        "chat_alerts" => td_string!(locale, grant_chat_alerts),
        "projects" => td_string!(locale, grant_projects),
        "subscribers" => td_string!(locale, grant_subscribers),
        "retention_days" => td_string!(locale, grant_retention_days),
        _ => td_string!(locale, grant_service),
    }
}

pub fn contract_status_text(locale: Locale, status: &str) -> &'static str {
    match status {
        "active" => td_string!(locale, contract_status_active),
        "checkout" => td_string!(locale, contract_status_checkout),
        "past_due" => td_string!(locale, contract_status_past_due),
        _ => td_string!(locale, contract_status_canceled),
    }
}

fn notice_text(locale: Locale, notice: &BillingNotice) -> String {
    match notice {
        BillingNotice::ItemSaved { name } => fill(td_string!(locale, notice_item_saved), &[("name", name)]),
        BillingNotice::ItemArchived { name } => fill(td_string!(locale, notice_item_archived), &[("name", name)]),
        BillingNotice::KeysSaved => td_string!(locale, notice_stripe_keys_saved).to_string(),
        BillingNotice::Recorded => td_string!(locale, notice_contract_recorded).to_string(),
        BillingNotice::SubscriptionCreated => td_string!(locale, notice_subscription_created).to_string(),
        BillingNotice::SubscriptionChanged => td_string!(locale, notice_subscription_changed).to_string(),
        BillingNotice::CheckoutReturned => td_string!(locale, notice_checkout_returned).to_string(),
    }
}

fn problem_text(locale: Locale, problem: &BillingProblem) -> String {
    match problem {
        BillingProblem::NoKeys => td_string!(locale, billing_problem_no_keys).to_string(),
        BillingProblem::NoPrice { item } => fill(td_string!(locale, billing_problem_no_price), &[("item", item)]),
        BillingProblem::NothingChosen => td_string!(locale, billing_problem_nothing).to_string(),
        BillingProblem::WrongState => td_string!(locale, billing_problem_state).to_string(),
        BillingProblem::Stripe { message } => fill(td_string!(locale, billing_problem_stripe), &[("message", message)]),
    }
}

fn price_text(locale: Locale, item: &CatalogueItem) -> String {
    let monthly = fill(
        td_string!(locale, price_per_month),
        &[("price", &money(locale, item.monthly_cents, &item.currency))],
    );
    match item.setup_cents {
        0 => monthly,
        setup => format!(
            "{monthly} · {}",
            fill(
                td_string!(locale, price_setup),
                &[("price", &money(locale, setup, &item.currency))]
            )
        ),
    }
}

/// One contract's state in words: how it is billed, its status, the day its add-ons stop.
fn contract_summary(locale: Locale, contract: &Option<ContractView>) -> String {
    let Some(contract) = contract else {
        return td_string!(locale, contract_none).to_string();
    };
    let billing = match contract.billing.as_str() {
        "stripe" => td_string!(locale, contract_billing_stripe),
        _ => td_string!(locale, contract_billing_recorded),
    };
    let mut text = format!("{} · {billing}", contract_status_text(locale, &contract.status));
    for (currency, cents) in &contract.monthly {
        text.push_str(&format!(
            " · {}",
            fill(
                td_string!(locale, price_per_month),
                &[("price", &money(locale, *cents, currency))]
            )
        ));
    }
    if let Some(day) = &contract.stops_on {
        text.push_str(" · ");
        text.push_str(&fill(td_string!(locale, contract_stops_on), &[("date", day)]));
    }
    text
}

#[component]
pub fn Billing(locale: Locale, page: BillingPage, csrf: String) -> impl IntoView {
    let notice = page
        .notice
        .as_ref()
        .map(|n| view! { <p class="alert success" role="status">{notice_text(locale, n)}</p> });
    let items = page
        .items
        .iter()
        .map(|item| {
            let grant = match item.amount {
                0 => grant_text(locale, &item.grants).to_string(),
                amount => format!("{} · {amount}", grant_text(locale, &item.grants)),
            };
            let kind = if item.base { td_string!(locale, catalogue_base) } else { td_string!(locale, catalogue_addon) };
            let stripe = if item.stripe_price_id.is_empty() {
                td_string!(locale, catalogue_no_stripe_price).to_string()
            } else {
                item.stripe_price_id.clone()
            };
            let archive = format!("/agency/billing/items/{}/archive", item.id);
            view! {
                <li class="catalogue-item" class:archived=item.archived id=format!("item-{}", item.key)>
                    <h3>{item.name.clone()} " " <span class="status harmless">{kind}</span></h3>
                    <p>{item.value.clone()}</p>
                    <p><strong>{price_text(locale, item)}</strong> " · " {grant} " · " <code>{stripe}</code></p>
                    <div class="actions">
                        <a class="button secondary" href=format!("/agency/billing?edit={}#item-form", item.id)>{td_string!(locale, catalogue_edit)}</a>
                        <form method="post" action=archive>
                            <input type="hidden" name="csrf" value=csrf.clone() />
                            <input type="hidden" name="archived" value=if item.archived { "0" } else { "1" } />
                            <button type="submit" class="secondary">
                                {if item.archived { td_string!(locale, catalogue_unarchive) } else { td_string!(locale, catalogue_archive) }}
                            </button>
                        </form>
                    </div>
                </li>
            }
        })
        .collect_view();
    let editing = page.editing.and_then(|id| page.items.iter().find(|item| item.id == id));
    let form = page.item_form.clone().unwrap_or_else(|| item_form_state(editing));
    let action = match page.editing {
        Some(id) => format!("/agency/billing/items/{id}"),
        None => "/agency/billing/items".to_string(),
    };
    let grants: Vec<(String, String)> = CATALOGUE_GRANTS
        .iter()
        .map(|grant| (grant.to_string(), grant_text(locale, grant).to_string()))
        .collect();
    let chosen_grant = form.value("grants").to_string();
    let grant_options = grants
        .into_iter()
        .map(|(value, label)| {
            let selected = value == chosen_grant;
            view! { <option value=value selected=selected>{label}</option> }
        })
        .collect_view();
    let keys_form = page.keys_form.clone().unwrap_or_default();
    let contracts = page
        .contracts
        .iter()
        .map(|row| {
            view! {
                <tr>
                    <td><a href=format!("/clients/{}/contract", row.client_slug)>{row.client_name.clone()}</a></td>
                    <td>{contract_summary(locale, &row.contract)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="breadcrumb"><a href="/agency">{td_string!(locale, nav_home)}</a></p>
        <h1>{td_string!(locale, billing_title)}</h1>
        <p class="intro">{td_string!(locale, billing_intro)}</p>
        {notice}
        <section class="card" id="contracts">
            <h2>{td_string!(locale, billing_contracts_title)}</h2>
            <table class="people">
                <thead><tr><th scope="col">{td_string!(locale, billing_client)}</th><th scope="col">{td_string!(locale, billing_contract)}</th></tr></thead>
                <tbody>{contracts}</tbody>
            </table>
        </section>
        <section class="card" id="catalogue">
            <h2>{td_string!(locale, catalogue_title)}</h2>
            <p>{td_string!(locale, catalogue_intro)}</p>
            <ul class="catalogue">{items}</ul>
        </section>
        <section class="card" id="item-form">
            <h2>{if page.editing.is_some() { td_string!(locale, catalogue_edit_title) } else { td_string!(locale, catalogue_new_title) }}</h2>
            <form method="post" action=action>
                <input type="hidden" name="csrf" value=csrf.clone() />
                <Field locale=locale form=form.clone() id_prefix="item" name="key" label=td_string!(locale, catalogue_key) hint=td_string!(locale, catalogue_key_hint) />
                <div class="field check">
                    <input type="checkbox" id="item-kind" name="kind" value="base" checked=form.value("kind") == "base" />
                    <label for="item-kind">{td_string!(locale, catalogue_is_base)}</label>
                </div>
                <div class="field">
                    <label for="item-grants">{td_string!(locale, catalogue_grants)}</label>
                    <select id="item-grants" name="grants">{grant_options}</select>
                </div>
                <Field locale=locale form=form.clone() id_prefix="item" name="amount" label=td_string!(locale, catalogue_amount) hint=td_string!(locale, catalogue_amount_hint) required=false />
                <Field locale=locale form=form.clone() id_prefix="item" name="name_en" label=td_string!(locale, catalogue_name_en) />
                <Field locale=locale form=form.clone() id_prefix="item" name="name_de" label=td_string!(locale, catalogue_name_de) required=false />
                <Field locale=locale form=form.clone() id_prefix="item" name="name_fr" label=td_string!(locale, catalogue_name_fr) required=false />
                <ValueField locale=locale form=form.clone() name="value_en" label=td_string!(locale, catalogue_value_en) />
                <ValueField locale=locale form=form.clone() name="value_de" label=td_string!(locale, catalogue_value_de) />
                <ValueField locale=locale form=form.clone() name="value_fr" label=td_string!(locale, catalogue_value_fr) />
                <Field locale=locale form=form.clone() id_prefix="item" name="monthly" label=td_string!(locale, catalogue_monthly) />
                <Field locale=locale form=form.clone() id_prefix="item" name="setup" label=td_string!(locale, catalogue_setup) required=false />
                <Field locale=locale form=form.clone() id_prefix="item" name="currency" label=td_string!(locale, catalogue_currency) />
                <Field locale=locale form=form.clone() id_prefix="item" name="stripe_price_id" label=td_string!(locale, catalogue_stripe_price) hint=td_string!(locale, catalogue_stripe_price_hint) required=false />
                <Field locale=locale form=form.clone() id_prefix="item" name="stripe_setup_price_id" label=td_string!(locale, catalogue_stripe_setup_price) required=false />
                <button type="submit">{td_string!(locale, catalogue_save)}</button>
            </form>
        </section>
        <section class="card" id="stripe">
            <h2>{td_string!(locale, stripe_title)}</h2>
            <p>{if page.has_stripe_keys { td_string!(locale, stripe_keys_set) } else { td_string!(locale, stripe_keys_missing) }}</p>
            <p>{td_string!(locale, stripe_webhook_intro)}</p>
            <pre class="snippet">{page.webhook_url.clone()}</pre>
            <p class="hint">{td_string!(locale, stripe_webhook_events)}</p>
            <form method="post" action="/agency/billing/stripe-keys">
                <input type="hidden" name="csrf" value=csrf />
                <Field locale=locale form=keys_form.clone() id_prefix="stripe" name="secret_key" label=td_string!(locale, stripe_secret_key) kind="password" />
                <Field locale=locale form=keys_form id_prefix="stripe" name="webhook_secret" label=td_string!(locale, stripe_webhook_secret) kind="password" />
                <p class="hint">{td_string!(locale, stripe_keys_hint)}</p>
                <button type="submit">{td_string!(locale, stripe_keys_save)}</button>
            </form>
        </section>
    }
}

/// The form's values for `item`, or a new add-on's defaults.
fn item_form_state(item: Option<&CatalogueItem>) -> FormState {
    let Some(item) = item else {
        return FormState {
            values: vec![("currency".into(), "eur".into()), ("grants".into(), "service".into())],
            problems: vec![],
        };
    };
    let price = |cents: i64| match cents {
        0 => String::new(),
        cents => format!("{}.{:02}", cents / 100, cents % 100),
    };
    let mut values = vec![
        ("key".to_string(), item.key.clone()),
        (
            "kind".to_string(),
            if item.base { "base".into() } else { String::new() },
        ),
        ("grants".to_string(), item.grants.clone()),
        (
            "amount".to_string(),
            if item.amount == 0 {
                String::new()
            } else {
                item.amount.to_string()
            },
        ),
        ("monthly".to_string(), price(item.monthly_cents)),
        ("setup".to_string(), price(item.setup_cents)),
        ("currency".to_string(), item.currency.clone()),
        ("stripe_price_id".to_string(), item.stripe_price_id.clone()),
        ("stripe_setup_price_id".to_string(), item.stripe_setup_price_id.clone()),
    ];
    for (i, language) in ["en", "de", "fr"].iter().enumerate() {
        values.push((format!("name_{language}"), item.names[i].clone()));
        values.push((format!("value_{language}"), item.values[i].clone()));
    }
    FormState {
        values,
        problems: vec![],
    }
}

#[component]
fn ValueField(locale: Locale, form: FormState, name: &'static str, label: &'static str) -> impl IntoView {
    let id = format!("item-{name}");
    let problem = form.problem(name).map(|p| crate::pages::problem_message(locale, p));
    view! {
        <div class="field" class:invalid=problem.is_some()>
            <label for=id.clone()>{label}</label>
            <textarea id=id name=name rows="3">{form.value(name).to_string()}</textarea>
            {problem.map(|p| view! { <small class="problem">{p}</small> })}
        </div>
    }
}

#[component]
pub fn Contract(locale: Locale, page: ContractPage, csrf: String) -> impl IntoView {
    let base = format!("/clients/{}/contract", page.client_slug);
    let notice = page
        .notice
        .as_ref()
        .map(|n| view! { <p class="alert success" role="status">{notice_text(locale, n)}</p> });
    let problem = page
        .problem
        .as_ref()
        .map(|p| view! { <p class="alert error" role="alert">{problem_text(locale, p)}</p> });
    let stops = page.contract.as_ref().and_then(|c| c.stops_on.clone()).map(|day| {
        view! { <p class="alert error" role="status">{fill(td_string!(locale, contract_grace_notice), &[("date", &day)])}</p> }
    });
    let runs_on_stripe = page
        .contract
        .as_ref()
        .is_some_and(|c| c.billing == "stripe" && c.status != "canceled" && c.status != "checkout");
    let list = page
        .items
        .iter()
        .map(|(item, chosen)| {
            let id = format!("contract-item-{}", item.id);
            let check = page.can_manage.then(|| {
                view! { <input type="checkbox" id=id.clone() name="item" value=item.id.to_string() checked=*chosen /> }
            });
            let state = if *chosen { td_string!(locale, contract_item_included) } else { td_string!(locale, contract_item_available) };
            view! {
                <li class="catalogue-item" class:chosen=*chosen>
                    {check}
                    <label for=id>
                        <strong>{item.name.clone()}</strong> " " <span class="status" class:ok=*chosen class:harmless=!*chosen>{state}</span>
                    </label>
                    <p>{item.value.clone()}</p>
                    <p>{price_text(locale, item)}</p>
                </li>
            }
        })
        .collect_view();
    let manage = page.can_manage.then(|| {
        let stripe_buttons = page.stripe_ready.then(|| {
            let change = runs_on_stripe.then(|| {
                view! { <button type="submit" formaction=format!("{base}/stripe/change")>{td_string!(locale, contract_stripe_change)}</button> }
            });
            let start = (!runs_on_stripe).then(|| {
                view! {
                    <button type="submit" formaction=format!("{base}/stripe/checkout")>{td_string!(locale, contract_stripe_checkout)}</button>
                    <button type="submit" class="secondary" formaction=format!("{base}/stripe/subscribe")>{td_string!(locale, contract_stripe_subscribe)}</button>
                }
            });
            view! { {change} {start} }
        });
        let record = (!runs_on_stripe).then(|| {
            view! {
                <div class="field">
                    <label for="contract-note">{td_string!(locale, contract_note)}</label>
                    <input type="text" id="contract-note" name="note" value=page.contract.as_ref().map(|c| c.note.clone()).unwrap_or_default() />
                </div>
                <button type="submit" class="secondary" formaction=format!("{base}/record")>{td_string!(locale, contract_record)}</button>
            }
        });
        view! {
            <p class="hint">{td_string!(locale, contract_manage_hint)}</p>
            <div class="actions">{stripe_buttons} {record}</div>
        }
    });
    let pay = page.can_pay.then(|| {
        let portal = page.contract.as_ref().filter(|c| c.billing == "stripe").map(|_| {
            view! {
                <form method="post" action=format!("{base}/stripe/portal")>
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <button type="submit" class="secondary">{td_string!(locale, contract_portal)}</button>
                </form>
            }
        });
        let checkout = page
            .contract
            .as_ref()
            .filter(|c| c.billing == "stripe" && c.status == "checkout")
            .map(|_| {
                view! {
                    <form method="post" action=format!("{base}/stripe/checkout")>
                        <input type="hidden" name="csrf" value=csrf.clone() />
                        <button type="submit">{td_string!(locale, contract_pay)}</button>
                    </form>
                }
            });
        view! { <div class="actions">{checkout} {portal}</div> }
    });
    view! {
        <p class="breadcrumb">
            <a href="/">{td_string!(locale, nav_home)}</a> " › "
            <a href=format!("/clients/{}", page.client_slug)>{page.client_name.clone()}</a>
        </p>
        <h1>{td_string!(locale, contract_title)}</h1>
        <p class="intro">{fill(td_string!(locale, contract_intro), &[("client", &page.client_name)])}</p>
        {notice}
        {problem}
        {stops}
        <section class="card" id="contract">
            <h2>{td_string!(locale, contract_state_title)}</h2>
            <p>{contract_summary(locale, &page.contract)}</p>
            {pay}
        </section>
        <section class="card" id="items">
            <h2>{td_string!(locale, contract_items_title)}</h2>
            <form method="post" action=format!("{base}/record")>
                <input type="hidden" name="csrf" value=csrf.clone() />
                <ul class="catalogue">{list}</ul>
                {manage}
            </form>
        </section>
    }
}

/// Where a feature needs an add-on: which one and what it brings, and where to ask for it.
#[component]
pub fn AddOnNote(locale: Locale, needed: AddOnNeeded) -> impl IntoView {
    let title = match &needed.name {
        Some(name) => fill(td_string!(locale, addon_needed), &[("name", name)]),
        None => td_string!(locale, addon_needed_unnamed).to_string(),
    };
    view! {
        <div class="alert addon" role="note">
            <p><strong>{title}</strong></p>
            {(!needed.value.is_empty()).then(|| view! { <p>{needed.value.clone()}</p> })}
            <p><a href=needed.contract_link.clone()>{td_string!(locale, addon_ask)}</a></p>
        </div>
    }
}
