//! Server-rendered pages. Every form is a plain HTML form that works without
//! JavaScript; the server answers with a redirect or the same page with
//! messages beside the fields.

use crate::account::Account;
use crate::dto::*;
use crate::explore::Explore;
use crate::i18n::Locale;
use crate::islands::PasswordInput;
use crate::outbox::Outbox;
use crate::targets::{Targets, utc_text};
use crate::thresholds::Thresholds;
use leptos::prelude::*;
use leptos_i18n::Locale as _;
use leptos_i18n::{td, td_string};

/// The whole HTML document for one page.
pub fn shell(options: LeptosOptions, locale: Locale, viewer: Option<Viewer>, page: Page) -> impl IntoView {
    let title = page_title(locale, &page);
    let csrf = viewer.as_ref().map(|v| v.csrf.clone());
    view! {
        <!DOCTYPE html>
        <html lang=locale.as_str()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                {csrf.map(|token| view! { <meta name="csrf-token" content=token /> })}
                <title>{format!("{title} · Vitrine")}</title>
                <link rel="stylesheet" href="/pkg/vitrine.css" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options=options islands=true />
            </head>
            <body>
                <a class="skip" href="#main">
                    {td_string!(locale, skip_to_content)}
                </a>
                <Header locale=locale viewer=viewer.clone() />
                <main id="main">{body(locale, viewer, page)}</main>
            </body>
        </html>
    }
}

fn page_title(locale: Locale, page: &Page) -> String {
    match page {
        Page::Login(_) => td_string!(locale, login_title).to_string(),
        Page::AgencyHome(home) => home.agency_name.clone(),
        Page::ClientHome(home) => home.client.name.clone(),
        Page::Targets(page) => format!(
            "{} · {} · {}",
            td_string!(locale, targets_title),
            page.environment,
            page.project_name
        ),
        Page::Explore(page) => format!("{} · {}", td_string!(locale, explore_title), page.client_name),
        Page::Thresholds(page) => format!("{} · {}", td_string!(locale, thresholds_title), page.client_name),
        Page::Channels(page) => format!("{} · {}", td_string!(locale, channels_title), page.client_name),
        Page::StatusSettings(page) => format!("{} · {}", td_string!(locale, status_settings_title), page.client_name),
        Page::Billing(_) => td_string!(locale, billing_title).to_string(),
        Page::Contract(page) => format!("{} · {}", td_string!(locale, contract_title), page.client_name),
        Page::Dashboards(page) => format!("{} · {}", td_string!(locale, dashboards_link), page.client_name),
        Page::Dashboard(page) => format!("{} · {}", page.title, page.client_name),
        Page::Outbox(_) => td_string!(locale, outbox_title).to_string(),
        Page::AcceptInvite(_) => td_string!(locale, accept_title).to_string(),
        Page::InviteInvalid => td_string!(locale, accept_invalid_title).to_string(),
        Page::Account(_) => td_string!(locale, account_title).to_string(),
        Page::Unsubscribe(_) => td_string!(locale, unsubscribe_title).to_string(),
        Page::Forgot(_) => td_string!(locale, forgot_title).to_string(),
        Page::ResetPassword(_) => td_string!(locale, reset_title).to_string(),
        Page::ResetInvalid => td_string!(locale, reset_invalid_title).to_string(),
        Page::Problem(problem) => problem_text(locale, *problem).0.to_string(),
    }
}

#[component]
fn Header(locale: Locale, viewer: Option<Viewer>) -> impl IntoView {
    view! {
        <header class="site">
            <a class="brand" href="/">
                {td_string!(locale, brand)}
            </a>
            {viewer
                .map(|viewer| {
                    view! {
                        <nav aria-label=td_string!(locale, nav_home)>
                            <a href=viewer.home.clone()>{td_string!(locale, nav_home)}</a>
                            <a href="/account">{td_string!(locale, account_title)}</a>
                        </nav>
                        <LanguageForm locale=locale viewer=viewer.clone() />
                        <div class="who">
                            <span>{td_string!(locale, signed_in_as)} " " <strong>{viewer.email.clone()}</strong></span>
                            <form method="post" action="/logout">
                                <input type="hidden" name="csrf" value=viewer.csrf.clone() />
                                <button type="submit" class="secondary">
                                    {td_string!(locale, logout)}
                                </button>
                            </form>
                        </div>
                    }
                })}
        </header>
    }
}

/// The person's language: a plain form, so it works without JavaScript.
#[component]
fn LanguageForm(locale: Locale, viewer: Viewer) -> impl IntoView {
    let current = viewer.language.unwrap_or_default();
    view! {
        <form method="post" action="/account/language" class="language">
            <input type="hidden" name="csrf" value=viewer.csrf />
            <label for="language-select">{td_string!(locale, language_label)}</label>
            <select id="language-select" name="language">
                <option value="" selected=current.is_empty()>{td_string!(locale, language_browser)}</option>
                <option value="en" selected=current == "en">"English"</option>
                <option value="de" selected=current == "de">"Deutsch"</option>
                <option value="fr" selected=current == "fr">"Français"</option>
            </select>
            <button type="submit" class="secondary">{td_string!(locale, language_save)}</button>
        </form>
    }
}

fn body(locale: Locale, viewer: Option<Viewer>, page: Page) -> AnyView {
    let csrf = viewer.map(|v| v.csrf).unwrap_or_default();
    match page {
        Page::Login(login) => view! { <Login locale=locale page=login /> }.into_any(),
        Page::AgencyHome(home) => view! { <Agency locale=locale home=home csrf=csrf /> }.into_any(),
        Page::ClientHome(home) => view! { <Client locale=locale home=home csrf=csrf /> }.into_any(),
        Page::Targets(page) => view! { <Targets locale=locale page=*page csrf=csrf /> }.into_any(),
        Page::Thresholds(page) => view! { <Thresholds locale=locale page=*page csrf=csrf /> }.into_any(),
        Page::Channels(page) => view! { <crate::channels::Channels locale=locale page=*page csrf=csrf /> }.into_any(),
        Page::StatusSettings(page) => view! { <crate::status_settings::StatusSettings locale=locale page=*page csrf=csrf /> }.into_any(),
        Page::Billing(page) => view! { <crate::billing::Billing locale=locale page=*page csrf=csrf /> }.into_any(),
        Page::Contract(page) => view! { <crate::billing::Contract locale=locale page=*page csrf=csrf /> }.into_any(),
        Page::Dashboards(page) => view! { <crate::dashboards::Dashboards locale=locale page=*page csrf=csrf /> }.into_any(),
        Page::Dashboard(page) => view! { <crate::dashboards::Dashboard locale=locale page=*page csrf=csrf /> }.into_any(),
        Page::Outbox(page) => view! { <Outbox locale=locale page=*page csrf=csrf /> }.into_any(),
        Page::Explore(page) => view! { <Explore locale=locale page=*page /> }.into_any(),
        Page::AcceptInvite(invite) => view! { <Accept locale=locale invite=invite /> }.into_any(),
        Page::Account(page) => view! { <Account locale=locale page=page csrf=csrf /> }.into_any(),
        Page::Unsubscribe(page) => view! { <crate::account::Unsubscribe locale=locale page=page /> }.into_any(),
        Page::Forgot(page) => view! { <Forgot locale=locale page=page /> }.into_any(),
        Page::ResetPassword(page) => view! {
            <section class="card narrow">
                <h1>{td_string!(locale, reset_title)}</h1>
                <p>{td!(locale, reset_intro, email = page.email.clone())}</p>
                <NewPasswordForm locale=locale action=format!("/password/reset/{}", page.token) email=page.email form=page.form submit=td_string!(locale, reset_submit) />
            </section>
        }
        .into_any(),
        Page::ResetInvalid => view! {
            <section class="card narrow">
                <h1>{td_string!(locale, reset_invalid_title)}</h1>
                <p>{td_string!(locale, reset_invalid_body)}</p>
                <p><a href="/password/forgot">{td_string!(locale, forgot_title)}</a></p>
            </section>
        }
        .into_any(),
        Page::InviteInvalid => view! {
            <section class="card narrow">
                <h1>{td_string!(locale, accept_invalid_title)}</h1>
                <p>{td_string!(locale, accept_invalid_body)}</p>
                <p><a href="/login">{td_string!(locale, login_title)}</a></p>
            </section>
        }
        .into_any(),
        Page::Problem(problem) => {
            let (title, text) = problem_text(locale, problem);
            view! {
                <section class="card narrow problem">
                    <h1>{title}</h1>
                    <p>{text}</p>
                    <p><a href="/">{td_string!(locale, back_home)}</a></p>
                </section>
            }
            .into_any()
        }
    }
}

fn problem_text(locale: Locale, problem: Problem) -> (&'static str, &'static str) {
    match problem {
        Problem::NotFound => (td_string!(locale, not_found_title), td_string!(locale, not_found_body)),
        Problem::Forbidden => (td_string!(locale, forbidden_title), td_string!(locale, forbidden_body)),
        Problem::CsrfRejected => (td_string!(locale, csrf_title), td_string!(locale, csrf_body)),
        Problem::TooLarge => (td_string!(locale, too_large_title), td_string!(locale, too_large_body)),
        Problem::Internal => (td_string!(locale, error_title), td_string!(locale, error_body)),
    }
}

fn notice_text(locale: Locale, notice: Notice) -> &'static str {
    match notice {
        Notice::LoggedOut => td_string!(locale, notice_logged_out),
        Notice::SignedOutEverywhere => td_string!(locale, notice_signed_out_everywhere),
        Notice::PasswordSet => td_string!(locale, notice_password_set),
        Notice::Saved => td_string!(locale, notice_created),
    }
}

pub(crate) fn problem_message(locale: Locale, problem: FieldProblem) -> &'static str {
    match problem {
        FieldProblem::Required => td_string!(locale, field_required),
        FieldProblem::InvalidSlug => td_string!(locale, field_invalid_slug),
        FieldProblem::Taken => td_string!(locale, field_taken),
        FieldProblem::InvalidEmail => td_string!(locale, field_invalid_email),
        FieldProblem::TooLong => td_string!(locale, field_too_long),
        FieldProblem::PasswordTooShort => td_string!(locale, field_password_short),
        FieldProblem::PasswordMismatch => td_string!(locale, field_password_mismatch),
        FieldProblem::PasswordWrong => td_string!(locale, field_password_wrong),
        FieldProblem::InvalidNumber => td_string!(locale, field_invalid_number),
        FieldProblem::InvalidDuration => td_string!(locale, field_invalid_duration),
        FieldProblem::InvalidQuery => td_string!(locale, field_invalid_query),
        FieldProblem::TooManyAttempts => td_string!(locale, field_too_many_attempts),
        FieldProblem::InvalidChoice => td_string!(locale, field_invalid_choice),
        FieldProblem::InvalidTime => td_string!(locale, field_invalid_time),
        FieldProblem::EndBeforeStart => td_string!(locale, field_end_before_start),
        FieldProblem::InvalidUrl => td_string!(locale, field_invalid_url),
        FieldProblem::InvalidRoutingKey => td_string!(locale, field_invalid_routing_key),
        FieldProblem::InvalidPrice => td_string!(locale, field_invalid_price),
        FieldProblem::InvalidCurrency => td_string!(locale, field_invalid_currency),
        FieldProblem::InvalidStripeId => td_string!(locale, field_invalid_stripe_id),
        FieldProblem::LimitReached => td_string!(locale, field_limit_reached),
        FieldProblem::InvalidTemplate => td_string!(locale, field_invalid_template),
        FieldProblem::InvalidMatchers => td_string!(locale, field_invalid_matchers),
        FieldProblem::InvalidLabelName => td_string!(locale, field_invalid_label_name),
        FieldProblem::TooMany => td_string!(locale, field_too_many),
        FieldProblem::InvalidMetricName => td_string!(locale, field_invalid_metric_name),
        FieldProblem::InvalidLabels => td_string!(locale, field_invalid_labels),
        FieldProblem::InvalidClock => td_string!(locale, field_invalid_clock),
        FieldProblem::InvalidDashboard => td_string!(locale, field_invalid_dashboard),
    }
}

/// A labelled text input that keeps what was typed and shows its problem.
#[component]
pub(crate) fn Field(
    locale: Locale,
    form: FormState,
    /// Prefix of the element id, unique on the page.
    id_prefix: &'static str,
    name: &'static str,
    label: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(default = true)] required: bool,
) -> impl IntoView {
    let id = format!("{id_prefix}-{name}");
    let problem = form.problem(name).map(|p| problem_message(locale, p));
    let message_id = format!("{id}-message");
    let described = problem.map(|_| message_id.clone());
    view! {
        <div class="field" class:invalid=problem.is_some()>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <small class="hint">{hint}</small> })}
            <input
                type=kind
                id=id.clone()
                name=name
                value=form.value(name).to_string()
                autocomplete=autocomplete
                aria-invalid=problem.is_some().then_some("true")
                aria-describedby=described
                required=required
            />
            {problem.map(|text| view! { <p class="field-problem" id=message_id>{text}</p> })}
        </div>
    }
}

#[component]
fn FormSummary(locale: Locale, form: FormState) -> impl IntoView {
    form.has_problems()
        .then(|| view! { <p class="alert error" role="alert">{td_string!(locale, form_has_errors)}</p> })
}

#[component]
fn Csrf(token: String) -> impl IntoView {
    view! { <input type="hidden" name="csrf" value=token /> }
}

#[component]
fn Login(locale: Locale, page: LoginPage) -> impl IntoView {
    let error = page.error.map(|error| match error {
        LoginError::InvalidCredentials => td_string!(locale, login_invalid).into_any(),
        LoginError::InvalidCode => td_string!(locale, login_code_invalid).into_any(),
        LoginError::RateLimited { retry_after_secs } => {
            td!(locale, login_rate_limited, seconds = retry_after_secs).into_any()
        }
    });
    if page.code_step {
        return view! {
            <section class="card narrow">
                <h1>{td_string!(locale, login_title)}</h1>
                <p>{td_string!(locale, login_code_intro)}</p>
                {error.map(|text| view! { <p class="alert error" role="alert">{text}</p> })}
                <form method="post" action="/login">
                    <div class="field">
                        <label for="login-code">{td_string!(locale, login_code_label)}</label>
                        <input type="text" name="code" id="login-code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required />
                    </div>
                    <button type="submit">{td_string!(locale, login_submit)}</button>
                </form>
            </section>
        }
        .into_any();
    }
    let form = FormState {
        values: vec![("email".into(), page.email.clone())],
        problems: vec![],
    };
    view! {
        <section class="card narrow">
            <h1>{td_string!(locale, login_title)}</h1>
            <p>{td_string!(locale, login_intro)}</p>
            {page.notice.map(|n| view! { <p class="alert success" role="status">{notice_text(locale, n)}</p> })}
            {error.map(|text| view! { <p class="alert error" role="alert">{text}</p> })}
            <form method="post" action="/login">
                {page.next.map(|next| view! { <input type="hidden" name="next" value=next /> })}
                <Field locale=locale form=form id_prefix="login" name="email" label=td_string!(locale, email) kind="email" autocomplete="username" />
                <div class="field">
                    <label for="login-password">{td_string!(locale, password)}</label>
                    <PasswordInput
                        name="password".to_string()
                        id="login-password".to_string()
                        autocomplete="current-password".to_string()
                        show_label=td_string!(locale, show_password).to_string()
                        hide_label=td_string!(locale, hide_password).to_string()
                    />
                </div>
                <button type="submit">{td_string!(locale, login_submit)}</button>
            </form>
            <p><a href="/password/forgot">{td_string!(locale, forgot_link)}</a></p>
        </section>
    }
    .into_any()
}

/// "Forgot your password?": the address, then the same answer whether it has an account or not.
#[component]
fn Forgot(locale: Locale, page: ForgotPage) -> impl IntoView {
    let error = page.error.map(|error| match error {
        LoginError::RateLimited { retry_after_secs } => {
            td!(locale, login_rate_limited, seconds = retry_after_secs).into_any()
        }
        _ => td_string!(locale, login_invalid).into_any(),
    });
    view! {
        <section class="card narrow">
            <h1>{td_string!(locale, forgot_title)}</h1>
            {error.map(|text| view! { <p class="alert error" role="alert">{text}</p> })}
            {if page.sent {
                view! { <p class="alert success" role="status">{td_string!(locale, forgot_sent)}</p> }.into_any()
            } else {
                view! {
                    <p>{td_string!(locale, forgot_intro)}</p>
                    <form method="post" action="/password/forgot">
                        <div class="field">
                            <label for="forgot-email">{td_string!(locale, email)}</label>
                            <input type="email" id="forgot-email" name="email" value=page.email autocomplete="username" required />
                        </div>
                        <button type="submit">{td_string!(locale, forgot_submit)}</button>
                    </form>
                }
                .into_any()
            }}
            <p><a href="/login">{td_string!(locale, login_title)}</a></p>
        </section>
    }
}

#[component]
fn ProjectList(locale: Locale, client: String, projects: Vec<ProjectSummary>) -> impl IntoView {
    if projects.is_empty() {
        return view! { <p class="empty">{td_string!(locale, no_projects)}</p> }.into_any();
    }
    view! {
        <ul class="projects">
            {projects
                .into_iter()
                .map(|project| {
                    view! {
                        <li>
                            <strong>{project.name}</strong>
                            " "
                            <code>{project.slug.clone()}</code>
                            <EnvironmentList
                                locale=locale
                                client=client.clone()
                                project=project.slug.clone()
                                environments=project.environments
                            />
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// The environments of a project as chips, each a link to its targets page.
#[component]
fn EnvironmentList(
    locale: Locale,
    client: String,
    project: String,
    environments: Vec<EnvironmentSummary>,
) -> impl IntoView {
    if environments.is_empty() {
        return view! { <p class="empty">{td_string!(locale, no_environments)}</p> }.into_any();
    }
    view! {
        <ul class="environments" aria-label=td_string!(locale, environments)>
            {environments
                .into_iter()
                .map(|env| {
                    let href = targets_path(&client, &project, &env.name);
                    view! {
                        <li class="env">
                            <a href=href title=td_string!(locale, environment_targets_link)>{env.name}</a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

/// The demo's switch: the shop misbehaves for ten minutes, so its thresholds raise the alarm.
#[component]
fn DemoSwitch(locale: Locale, demo: DemoShopState, csrf: String) -> impl IntoView {
    view! {
        <section class="card" id="demo-shop">
            <h2>{td_string!(locale, demo_title)}</h2>
            {match demo {
                DemoShopState::Misbehaving { minutes_left } => view! {
                    <p class="alert error" role="status">{td!(locale, demo_misbehaving, minutes = minutes_left)}</p>
                }
                .into_any(),
                DemoShopState::Normal => view! {
                    <p>{td_string!(locale, demo_intro)}</p>
                    <form method="post" action="/agency/demo/misbehave">
                        <Csrf token=csrf />
                        <button type="submit" class="danger">{td_string!(locale, demo_misbehave)}</button>
                    </form>
                }
                .into_any(),
            }}
        </section>
    }
}

#[component]
fn Agency(locale: Locale, home: AgencyHome, csrf: String) -> impl IntoView {
    let form = home.client_form.clone();
    view! {
        <h1>{td!(locale, agency_title, agency = home.agency_name.clone())}</h1>
        <p class="intro">{td_string!(locale, agency_intro)}</p>
        <p class="explore-cta">
            <a class="cta-link" href="/agency/outbox">{td_string!(locale, outbox_link)}</a>
            " "
            <span class="hint">{td_string!(locale, outbox_link_hint)}</span>
        </p>
        <p class="explore-cta">
            <a class="cta-link" href="/agency/billing">{td_string!(locale, billing_nav)}</a>
            " "
            <span class="hint">{td_string!(locale, billing_nav_hint)}</span>
        </p>
        {home.demo.map(|demo| view! { <DemoSwitch locale=locale demo=demo csrf=csrf.clone() /> })}
        {if home.clients.is_empty() {
            view! { <p class="empty">{td_string!(locale, no_clients)}</p> }.into_any()
        } else {
            view! {
                <ul class="clients">
                    {home
                        .clients
                        .into_iter()
                        .map(|client| {
                            view! {
                                <li class="card">
                                    <h2>
                                        <a href=format!("/clients/{}", client.slug)>{client.name}</a>
                                        " "
                                        <a class="explore-link" href=explore_path(&client.slug)>{td_string!(locale, explore_link)}</a>
                                    </h2>
                                    <ProjectList locale=locale client=client.slug.clone() projects=client.projects />
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any()
        }}
        {home.can_create_client.then(|| view! {
            <section class="card">
                <h2>{td_string!(locale, client_create_title)}</h2>
                <FormSummary locale=locale form=form.clone() />
                <form method="post" action="/agency/clients">
                    <Csrf token=csrf />
                    <Field locale=locale form=form.clone() id_prefix="client" name="name" label=td_string!(locale, client_name) />
                    <Field locale=locale form=form.clone() id_prefix="client" name="slug" label=td_string!(locale, client_slug) hint=td_string!(locale, client_slug_hint) />
                    <LanguageSelect locale=locale form=form />
                    <button type="submit">{td_string!(locale, client_create_submit)}</button>
                </form>
            </section>
        })}
    }
}

#[component]
fn LanguageSelect(locale: Locale, form: FormState) -> impl IntoView {
    let chosen = form.value("language").to_string();
    let problem = form.problem("language").map(|p| problem_message(locale, p));
    view! {
        <div class="field" class:invalid=problem.is_some()>
            <label for="client-language">{td_string!(locale, client_language)}</label>
            <select id="client-language" name="language">
                <option value="en" selected=!matches!(chosen.as_str(), "de" | "fr")>"English"</option>
                <option value="de" selected=chosen == "de">"Deutsch"</option>
                <option value="fr" selected=chosen == "fr">"Français"</option>
            </select>
            {problem.map(|text| view! { <p class="field-problem">{text}</p> })}
        </div>
    }
}

#[component]
fn Client(locale: Locale, home: ClientHome, csrf: String) -> impl IntoView {
    let client = home.client.clone();
    let base = format!("/clients/{}", client.slug);
    let failed = home.failed_form.clone();
    let project_form = match &failed {
        Some(ClientForm::Project(form)) => form.clone(),
        _ => FormState::default(),
    };
    let invite_form = match &failed {
        Some(ClientForm::Invite(form)) => form.clone(),
        _ => FormState::default(),
    };
    let token_form = match &failed {
        Some(ClientForm::Token(form)) => form.clone(),
        _ => FormState::default(),
    };
    let environment_form = |project: &str| match &failed {
        Some(ClientForm::Environment { project: p, form }) if p == project => form.clone(),
        _ => FormState::default(),
    };
    let can_manage = home.can_manage_projects;
    let can_explore = home.can_explore();
    let projects_view = if client.projects.is_empty() {
        view! { <p class="empty">{td_string!(locale, no_projects)}</p> }.into_any()
    } else {
        view! {
            <ul class="projects">
                {client
                    .projects
                    .iter()
                    .map(|project| {
                        let form = environment_form(&project.slug);
                        let id_prefix: &'static str = "env";
                        let action = format!("{base}/projects/{}/environments", project.slug);
                        view! {
                            <li class="card">
                                <h3>{project.name.clone()} " " <code>{project.slug.clone()}</code></h3>
                                <EnvironmentList
                                    locale=locale
                                    client=client.slug.clone()
                                    project=project.slug.clone()
                                    environments=project.environments.clone()
                                />
                                {can_manage.then(|| view! {
                                    <form method="post" action=action class="inline">
                                        <Csrf token=csrf.clone() />
                                        <FormSummary locale=locale form=form.clone() />
                                        <Field locale=locale form=form id_prefix=id_prefix name="name" label=td_string!(locale, environment_name) hint=td_string!(locale, environment_name_hint) />
                                        <button type="submit" class="secondary">{td_string!(locale, environment_create_submit)}</button>
                                    </form>
                                })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <h1>{client.name.clone()}</h1>
        <p class="intro">{td!(locale, client_intro, client = client.name.clone())}</p>
        <p class="explore-cta">
            <a class="cta-link dashboards-link" href=format!("/clients/{}/dashboards", client.slug)>{td_string!(locale, dashboards_link)}</a>
            " "
            <span class="hint">{td_string!(locale, dashboards_link_hint)}</span>
        </p>
        <p class="explore-cta">
            <a class="cta-link thresholds-link" href=format!("/clients/{}/thresholds", client.slug)>{td_string!(locale, thresholds_link)}</a>
            " "
            <span class="hint">{td_string!(locale, thresholds_link_hint)}</span>
        </p>
        <p class="explore-cta">
            <a class="channels-link" href=format!("/clients/{}/channels", client.slug)>{td_string!(locale, channels_link)}</a>
            " "
            <span class="hint">{td_string!(locale, channels_link_hint)}</span>
        </p>
        <p class="explore-cta">
            <a class="status-link" href=format!("/clients/{}/status", client.slug)>{td_string!(locale, status_link)}</a>
            " "
            <span class="hint">{td_string!(locale, status_link_hint)}</span>
        </p>
        {home.can_see_contract.then(|| view! {
            <p class="explore-cta">
                <a class="contract-link" href=format!("/clients/{}/contract", client.slug)>{td_string!(locale, contract_link)}</a>
                " "
                <span class="hint">{td_string!(locale, contract_link_hint)}</span>
            </p>
        })}
        {can_explore.then(|| view! {
            <p class="explore-cta">
                <a class="explore-link" href=explore_path(&client.slug)>{td_string!(locale, explore_link)}</a>
                " "
                <span class="hint">{td_string!(locale, explore_link_hint)}</span>
            </p>
        })}
        {home.invite_created.map(|invite| view! {
            <div class="alert success new-token" role="status">
                <p>{td!(locale, notice_invite_created, email = invite.email.clone())}</p>
                <p><code class="token" id="new-invite-link">{invite.link}</code></p>
            </div>
        })}
        <h2>{td_string!(locale, projects)}</h2>
        {projects_view}
        {can_manage.then(|| view! {
            <section class="card">
                <h2>{td_string!(locale, project_create_title)}</h2>
                <FormSummary locale=locale form=project_form.clone() />
                <form method="post" action=format!("{base}/projects")>
                    <Csrf token=csrf.clone() />
                    <Field locale=locale form=project_form.clone() id_prefix="project" name="name" label=td_string!(locale, project_name) />
                    <Field locale=locale form=project_form id_prefix="project" name="slug" label=td_string!(locale, project_slug) hint=td_string!(locale, client_slug_hint) />
                    <button type="submit">{td_string!(locale, project_create_submit)}</button>
                </form>
            </section>
        })}
        {home.can_invite.then(|| {
            let role = invite_form.value("role").to_string();
            view! {
                <section class="card">
                    <h2>{td_string!(locale, invite_title)}</h2>
                    <p>{td_string!(locale, invite_intro)}</p>
                    <FormSummary locale=locale form=invite_form.clone() />
                    <form method="post" action=format!("{base}/invites")>
                        <Csrf token=csrf.clone() />
                        <Field locale=locale form=invite_form id_prefix="invite" name="email" label=td_string!(locale, email) kind="email" />
                        <div class="field">
                            <label for="invite-role">{td_string!(locale, invite_role)}</label>
                            <select id="invite-role" name="role">
                                <option value="viewer" selected=role != "admin">{td_string!(locale, role_client_viewer)}</option>
                                <option value="admin" selected=role == "admin">{td_string!(locale, role_client_admin)}</option>
                            </select>
                        </div>
                        <button type="submit">{td_string!(locale, invite_submit)}</button>
                    </form>
                </section>
            }
        })}
        {home.tokens.map(|tokens| view! {
            <ApiTokensSection locale=locale client=client.name.clone() action=format!("{base}/tokens") tokens=tokens form=token_form csrf=csrf.clone() />
        })}
    }
}

/// The client's API tokens: the list, the revoke buttons, the form for a new one, a new
/// token shown once, and how to use a token with Grafana and promtool.
#[component]
fn ApiTokensSection(
    locale: Locale,
    client: String,
    /// `/clients/{client}/tokens`
    action: String,
    tokens: ApiTokens,
    form: FormState,
    csrf: String,
) -> impl IntoView {
    let base = tokens.api_base.clone();
    let mut shown_token = None;
    let notice = tokens.notice.clone().map(|notice| match notice {
        TokenNotice::Created { name, token } => {
            shown_token = Some(token.clone());
            view! {
                <div class="alert success new-token" role="status">
                    <p>{td!(locale, token_created, name = name.clone())}</p>
                    <p><code class="token" id="new-token">{token}</code></p>
                </div>
            }
            .into_any()
        }
        TokenNotice::Revoked { name } => view! {
            <p class="alert success" role="status">{td!(locale, token_revoked_notice, name = name.clone())}</p>
        }
        .into_any(),
    });
    let rows = tokens
        .tokens
        .iter()
        .map(|token| {
            let (class, state, at) = match (token.revoked_ms, token.expired) {
                (Some(at), _) => ("status down", td_string!(locale, token_revoked), Some(at)),
                (None, true) => ("status down", td_string!(locale, token_expired), token.expires_ms),
                (None, false) => ("status up", td_string!(locale, token_active), None),
            };
            let until = token
                .expires_ms
                .filter(|_| at.is_none())
                .map(|until| view! { <br /><small class="hint">{td!(locale, token_until, date = utc_text(until))}</small> });
            let status = view! {
                <span class=class>{state}</span>
                {at.map(|at| view! { <br /><small class="hint">{utc_text(at)}</small> })}
                {until}
            };
            let revoke = (token.revoked_ms.is_none() && !token.expired).then(|| {
                view! {
                    <form method="post" action=format!("{action}/{}/revoke", token.id)>
                        <Csrf token=csrf.clone() />
                        <button type="submit" class="danger">{td_string!(locale, token_revoke_submit)}</button>
                    </form>
                }
            });
            view! {
                <tr id=format!("token-{}", token.id)>
                    <th scope="row">{token.name.clone()}</th>
                    <td>{utc_text(token.created_ms)}</td>
                    <td>{token.created_by.clone().unwrap_or_else(|| td_string!(locale, token_created_by_unknown).to_string())}</td>
                    <td>{token.last_used_ms.map_or_else(|| td_string!(locale, token_never_used).to_string(), utc_text)}</td>
                    <td>{td_string!(locale, token_scope_read)} {token.scopes.iter().map(|s| view! { ", " <code>{s.clone()}</code> }).collect_view()}</td>
                    <td>{status}</td>
                    <td class="actions">{revoke}</td>
                </tr>
            }
        })
        .collect_view();
    let list = if tokens.tokens.is_empty() {
        view! { <p class="empty">{td_string!(locale, tokens_none)}</p> }.into_any()
    } else {
        let columns = vec![
            (td_string!(locale, token_col_name), ""),
            (td_string!(locale, token_col_created), ""),
            (td_string!(locale, token_col_created_by), ""),
            (td_string!(locale, token_col_last_used), ""),
            (td_string!(locale, token_col_scopes), ""),
            (td_string!(locale, token_col_status), ""),
            (td_string!(locale, col_actions), ""),
        ];
        view! {
            <ScrollTable id="tokens" class="targets tokens" caption=td_string!(locale, tokens_caption) columns=columns>
                {rows}
            </ScrollTable>
        }
        .into_any()
    };
    let example = shown_token.clone().unwrap_or_else(|| "vit_…".to_string());
    view! {
        <section class="card" id="api-tokens">
            <h2>{td_string!(locale, tokens_title)}</h2>
            <p>{td!(locale, tokens_intro, client = client.clone())}</p>
            {notice}
            {list}
            <details class="token-usage" open=shown_token.is_some()>
                <summary>{td_string!(locale, token_usage_title)}</summary>
                <p>{td!(locale, token_usage_grafana, url = view! { <code>{base.clone()}</code> })}</p>
                <p>{td_string!(locale, token_usage_promtool)}</p>
                <pre><code>{format!("promtool query instant {} up", with_password(&base, &example))}</code></pre>
                <p>{td_string!(locale, token_usage_header)}</p>
                <pre><code>{format!("Authorization: Bearer {example}")}</code></pre>
            </details>
            <h3>{td_string!(locale, token_create_title)}</h3>
            <FormSummary locale=locale form=form.clone() />
            // The answer shows the new token in this section: the browser scrolls to it.
            <form method="post" action=format!("{action}#api-tokens") class="inline">
                <Csrf token=csrf.clone() />
                <Field locale=locale form=form.clone() id_prefix="token" name="name" label=td_string!(locale, token_name) hint=td_string!(locale, token_name_hint) />
                <TokenExpiryField locale=locale form=form.clone() />
                {TOKEN_SCOPES
                    .iter()
                    .map(|scope| {
                        let id = format!("token-scope-{}", scope.split(':').next().unwrap_or(scope));
                        let label = match *scope {
                            "silences:write" => td_string!(locale, token_scope_silences),
                            "status:write" => td_string!(locale, token_scope_status),
                            _ => td_string!(locale, token_scope_annotations),
                        };
                        let checked = form.values.iter().any(|(n, v)| n == "scope" && v == scope);
                        view! {
                            <div class="field checkbox">
                                <input type="checkbox" id=id.clone() name="scope" value=*scope checked=checked />
                                <label for=id>{label}</label>
                            </div>
                        }
                    })
                    .collect_view()}
                <button type="submit">{td_string!(locale, token_create_submit)}</button>
            </form>
        </section>
    }
}

/// How long a new API token works: until revoked, or one of the offered numbers of days.
#[component]
fn TokenExpiryField(locale: Locale, form: FormState) -> impl IntoView {
    let chosen = form.value("expires_in_days").to_string();
    let problem = form.problem("expires_in_days").map(|p| problem_message(locale, p));
    let options = TOKEN_EXPIRY_DAYS
        .iter()
        .map(|days| {
            let value = days.to_string();
            let selected = chosen == value;
            view! { <option value=value.clone() selected=selected>{td!(locale, token_expires_days, days = *days)}</option> }
        })
        .collect_view();
    view! {
        <div class="field" class:invalid=problem.is_some()>
            <label for="token-expires_in_days">{td_string!(locale, token_expires)}</label>
            <select id="token-expires_in_days" name="expires_in_days">
                <option value="" selected=chosen.is_empty()>{td_string!(locale, token_expires_never)}</option>
                {options}
            </select>
            {problem.map(|text| view! { <p class="field-problem">{text}</p> })}
        </div>
    }
}

/// A table that scrolls sideways on narrow screens instead of squeezing, with its caption and
/// column headings (text and class, e.g. `num` for numbers); the rows are the children.
#[component]
pub(crate) fn ScrollTable(
    /// The table's id, unique on the page.
    id: &'static str,
    class: &'static str,
    caption: &'static str,
    columns: Vec<(&'static str, &'static str)>,
    children: Children,
) -> impl IntoView {
    let caption_id = format!("{id}-caption");
    let labelled_by = caption_id.clone();
    view! {
        <div class="table-scroll" role="region" aria-labelledby=labelled_by tabindex="0">
            <table id=id class=class>
                <caption id=caption_id>{caption}</caption>
                <thead>
                    <tr>
                        {columns
                            .into_iter()
                            .map(|(heading, class)| view! { <th scope="col" class=(!class.is_empty()).then_some(class)>{heading}</th> })
                            .collect_view()}
                    </tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// The address with `t:<password>@` after the scheme, as promtool takes Basic auth.
fn with_password(base: &str, password: &str) -> String {
    match base.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://t:{password}@{rest}"),
        None => format!("t:{password}@{base}"),
    }
}

#[component]
fn Accept(locale: Locale, invite: AcceptInvite) -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>{td_string!(locale, accept_title)}</h1>
            <p>{td!(locale, accept_intro, client = invite.client_name.clone(), email = invite.email.clone())}</p>
            <NewPasswordForm locale=locale action=format!("/invite/{}", invite.token) email=invite.email form=invite.form submit=td_string!(locale, accept_submit) />
        </section>
    }
}

/// A new password typed twice, for an invitation or a reset link.
#[component]
fn NewPasswordForm(
    locale: Locale,
    action: String,
    email: String,
    form: FormState,
    submit: &'static str,
) -> impl IntoView {
    let problem = form
        .problem("password")
        .or(form.problem("password_confirm"))
        .map(|p| problem_message(locale, p));
    view! {
        <FormSummary locale=locale form=form />
        <form method="post" action=action>
            <input type="hidden" name="username" value=email autocomplete="username" />
            <div class="field" class:invalid=problem.is_some()>
                <label for="accept-password">{td_string!(locale, password)}</label>
                <PasswordInput
                    name="password".to_string()
                    id="accept-password".to_string()
                    autocomplete="new-password".to_string()
                    show_label=td_string!(locale, show_password).to_string()
                    hide_label=td_string!(locale, hide_password).to_string()
                />
            </div>
            <div class="field" class:invalid=problem.is_some()>
                <label for="accept-password-confirm">{td_string!(locale, password_confirm)}</label>
                <input type="password" id="accept-password-confirm" name="password_confirm" autocomplete="new-password" required />
                {problem.map(|text| view! { <p class="field-problem">{text}</p> })}
            </div>
            <button type="submit">{submit}</button>
        </form>
    }
}
