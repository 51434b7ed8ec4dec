//! The signed-in person's own page: the password (changing it ends the other sessions), the
//! sign-in code from an authenticator app (set up with a QR code and confirmed by the app's
//! first code, or switched off), and signing out on every device.

use crate::dto::*;
use crate::i18n::Locale;
use crate::pages::{Field, problem_message};
use leptos::prelude::*;
use leptos_i18n::{td, td_string};

#[component]
pub fn Account(locale: Locale, page: AccountPage, csrf: String) -> impl IntoView {
    let notice = page.notice.map(|notice| match notice {
        AccountNotice::TwoFactorOn => td_string!(locale, two_factor_turned_on),
        AccountNotice::TwoFactorOff => td_string!(locale, two_factor_turned_off),
        AccountNotice::PasswordChanged => td_string!(locale, password_changed),
        AccountNotice::MailSettingsSaved => td_string!(locale, mail_settings_saved),
    });
    let mail_settings = page
        .mail_settings
        .clone()
        .map(|settings| view! { <MailSettingsForm locale=locale settings=settings csrf=csrf.clone() /> });
    let password_form = page.password_form.clone();
    let two_factor_csrf = csrf.clone();
    let refused = page
        .code_refused
        .then(|| view! { <p class="alert error" role="alert">{td_string!(locale, two_factor_code_refused)}</p> });
    let on = page.two_factor == TwoFactor::On;
    let state = if on {
        td_string!(locale, state_on)
    } else {
        td_string!(locale, state_off)
    };
    view! {
        <section class="card narrow">
            <h1>{td_string!(locale, account_title)}</h1>
            <p>{td!(locale, account_intro, email = page.email.clone())}</p>
            {notice.map(|text| view! { <p class="alert success" role="status">{text}</p> })}
        </section>
        {mail_settings}
        <section class="card narrow" id="two-factor" aria-labelledby="two-factor-title">
            <h2 id="two-factor-title">
                {td_string!(locale, two_factor_title)} " "
                <span class="status" class:up=on class:pending=!on>{state}</span>
            </h2>
            {refused}
            {let csrf = two_factor_csrf; match page.two_factor {
                TwoFactor::Off => view! {
                    <p>{td_string!(locale, two_factor_off_text)}</p>
                    <form method="post" action="/account/two-factor">
                        <input type="hidden" name="csrf" value=csrf />
                        <button type="submit">{td_string!(locale, two_factor_start)}</button>
                    </form>
                }
                .into_any(),
                TwoFactor::SettingUp { key, qr_svg } => view! {
                    <p>{td_string!(locale, two_factor_scan)}</p>
                    <div class="qr" role="img" aria-label=td_string!(locale, two_factor_qr_label) inner_html=qr_svg></div>
                    <p>{td_string!(locale, two_factor_key_text)}</p>
                    <p><code class="secret-key">{key}</code></p>
                    <p>{td_string!(locale, two_factor_confirm_text)}</p>
                    <form method="post" action="/account/two-factor/confirm">
                        <input type="hidden" name="csrf" value=csrf.clone() />
                        <CodeField locale=locale />
                        <button type="submit">{td_string!(locale, two_factor_confirm)}</button>
                    </form>
                    <form method="post" action="/account/two-factor">
                        <input type="hidden" name="csrf" value=csrf />
                        <button type="submit" class="secondary">{td_string!(locale, two_factor_restart)}</button>
                    </form>
                }
                .into_any(),
                TwoFactor::On => view! {
                    <p>{td_string!(locale, two_factor_on_text)}</p>
                    <p>{td_string!(locale, two_factor_off_confirm_text)}</p>
                    <form method="post" action="/account/two-factor/off">
                        <input type="hidden" name="csrf" value=csrf />
                        <CodeField locale=locale />
                        <button type="submit" class="secondary">{td_string!(locale, two_factor_off)}</button>
                    </form>
                }
                .into_any(),
            }}
        </section>
        <PasswordSection locale=locale form=password_form csrf=csrf.clone() />
        <section class="card narrow" aria-labelledby="sessions-title">
            <h2 id="sessions-title">{td_string!(locale, sessions_title)}</h2>
            <p>{td_string!(locale, sessions_text)}</p>
            <form method="post" action="/account/sign-out-everywhere">
                <input type="hidden" name="csrf" value=csrf />
                <button type="submit" class="secondary">{td_string!(locale, sessions_end_all)}</button>
            </form>
        </section>
    }
}

/// The current password and the new one twice; the page never puts a typed password back.
#[component]
fn PasswordSection(locale: Locale, form: FormState, csrf: String) -> impl IntoView {
    let problem = form.problem("password_current").map(|p| problem_message(locale, p));
    view! {
        <section class="card narrow" id="password" aria-labelledby="password-title">
            <h2 id="password-title">{td_string!(locale, password_change_title)}</h2>
            <p>{td_string!(locale, password_change_text)}</p>
            <form method="post" action="/account/password">
                <input type="hidden" name="csrf" value=csrf />
                <div class="field" class:invalid=problem.is_some()>
                    <label for="password-current">{td_string!(locale, password_current)}</label>
                    <input
                        type="password"
                        id="password-current"
                        name="password_current"
                        autocomplete="current-password"
                        aria-invalid=problem.is_some().then_some("true")
                        required
                    />
                    {problem.map(|text| view! { <p class="field-problem">{text}</p> })}
                </div>
                <Field
                    locale=locale
                    form=form.clone()
                    id_prefix="password"
                    name="password"
                    label=td_string!(locale, password_new)
                    hint=td_string!(locale, password_new_hint)
                    kind="password"
                    autocomplete="new-password"
                />
                <Field
                    locale=locale
                    form=form
                    id_prefix="password"
                    name="password_confirm"
                    label=td_string!(locale, password_confirm)
                    kind="password"
                    autocomplete="new-password"
                />
                <button type="submit">{td_string!(locale, password_change_submit)}</button>
            </form>
        </section>
    }
}

/// The six digits from the app, as the login's code step asks for them.
#[component]
fn CodeField(locale: Locale) -> impl IntoView {
    view! {
        <div class="field">
            <label for="two-factor-code">{td_string!(locale, login_code_label)}</label>
            <input
                type="text"
                name="code"
                id="two-factor-code"
                inputmode="numeric"
                autocomplete="one-time-code"
                pattern="[0-9 ]{6,7}"
                required
            />
        </div>
    }
}

/// Which error mails a client person gets: all, none, or some severities and projects.
#[component]
fn MailSettingsForm(locale: Locale, settings: MailSettings, csrf: String) -> impl IntoView {
    let severities = THRESHOLD_SEVERITIES
        .iter()
        .map(|severity| {
            let id = format!("mail-severity-{severity}");
            let checked = settings.severities.iter().any(|s| s == severity);
            let text = match *severity {
                "critical" => td_string!(locale, mail_settings_critical),
                "warning" => td_string!(locale, mail_settings_warning),
                _ => td_string!(locale, mail_settings_info),
            };
            view! {
                <div class="field checkbox">
                    <input type="checkbox" id=id.clone() name="severity" value=*severity checked=checked />
                    <label for=id>{text}</label>
                </div>
            }
        })
        .collect_view();
    let projects = settings
        .projects
        .iter()
        .map(|(slug, name, wanted)| {
            let id = format!("mail-project-{slug}");
            view! {
                <div class="field checkbox">
                    <input type="checkbox" id=id.clone() name="project" value=slug.clone() checked=*wanted />
                    <label for=id>{name.clone()}</label>
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="card narrow" id="mails" aria-labelledby="mails-title">
            <h2 id="mails-title">{td_string!(locale, mail_settings_title)}</h2>
            <p>{td!(locale, mail_settings_intro, client = settings.client_name.clone())}</p>
            <form method="post" action="/account/mails">
                <input type="hidden" name="csrf" value=csrf />
                <div class="field checkbox">
                    <input type="checkbox" id="mail-alerts" name="alerts" value="on" checked=settings.alerts />
                    <label for="mail-alerts">{td_string!(locale, mail_settings_alerts)}</label>
                </div>
                <fieldset>
                    <legend>{td_string!(locale, mail_settings_severities)}</legend>
                    {severities}
                </fieldset>
                <fieldset>
                    <legend>{td_string!(locale, mail_settings_projects)}</legend>
                    {projects}
                </fieldset>
                <button type="submit">{td_string!(locale, mail_settings_save)}</button>
            </form>
        </section>
    }
}

/// The page of an error mail's unsubscribe link: a button that stops the mails (a link alone
/// does nothing, so a mail scanner that opens links unsubscribes nobody), then what happened.
#[component]
pub fn Unsubscribe(locale: Locale, page: UnsubscribePage) -> impl IntoView {
    let body = if page.done {
        view! {
            <p class="alert success" role="status">{td!(locale, unsubscribe_done, client = page.client_name.clone(), email = page.email.clone())}</p>
            <p>{td_string!(locale, unsubscribe_again)} " " <a href="/account#mails">{td_string!(locale, mail_settings_title)}</a></p>
        }
        .into_any()
    } else {
        view! {
            <p>{td!(locale, unsubscribe_question, client = page.client_name.clone(), email = page.email.clone())}</p>
            <form method="post" action=format!("/unsubscribe/{}", page.token)>
                <button type="submit" class="danger">{td_string!(locale, unsubscribe_submit)}</button>
            </form>
            <p class="hint">{td_string!(locale, unsubscribe_hint)} " " <a href="/account#mails">{td_string!(locale, mail_settings_title)}</a></p>
        }
        .into_any()
    };
    view! {
        <section class="card narrow">
            <h1>{td_string!(locale, unsubscribe_title)}</h1>
            {body}
        </section>
    }
}
