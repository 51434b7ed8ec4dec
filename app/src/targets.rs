//! The targets page of an environment: what is scraped, how it is doing, and
//! (for agency people) the forms to add, test, delete and import targets.

use crate::dto::*;
use crate::i18n::Locale;
use crate::text::textarea_text;
use leptos::prelude::*;
use leptos_i18n::{td, td_string};

/// How long ago something happened, rounded for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Age {
    Now,
    Seconds(i64),
    Minutes(i64),
    Hours(i64),
    Days(i64),
}

pub(crate) fn age(now_ms: i64, then_ms: i64) -> Age {
    let secs = ((now_ms - then_ms).max(0) + 500) / 1000;
    let round = |unit: i64| (secs + unit / 2) / unit;
    match secs {
        0 => Age::Now,
        1..60 => Age::Seconds(secs),
        60..3570 => Age::Minutes(round(60)),
        3570..84_600 => Age::Hours(round(3600)),
        _ => Age::Days(round(86_400)),
    }
}

/// Year, month, day, hour, minute, second (UTC) of milliseconds since the epoch.
fn utc_parts(ms: i64) -> (i64, i64, i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, of_day / 3600, of_day % 3600 / 60, of_day % 60)
}

/// `2025-01-31T12:00:05Z`, for `<time datetime>`.
pub(crate) fn utc_iso(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2025-01-31 12:00:05 UTC`, for people.
pub(crate) fn utc_text(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

fn separators(locale: Locale) -> (char, char) {
    match locale {
        Locale::de => ('.', ','),
        // French groups thousands with a narrow no-break space: 12 345.
        Locale::fr => ('\u{202f}', ','),
        Locale::en => (',', '.'),
    }
}

/// A count with thousands separators (`12,345` / `12.345` / `12 345`).
pub(crate) fn grouped(n: u64, locale: Locale) -> String {
    let digits = n.to_string();
    let (thousands, _) = separators(locale);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(thousands);
        }
        out.push(c);
    }
    out
}

/// Milliseconds for people: one decimal below 10 ms, whole numbers above.
pub(crate) fn millis(ms: f64, locale: Locale) -> String {
    let (_, decimal) = separators(locale);
    if !ms.is_finite() || ms < 0.0 {
        return "0".into();
    }
    if ms < 10.0 {
        format!("{ms:.1}").replace('.', &decimal.to_string())
    } else {
        grouped(ms.round() as u64, locale)
    }
}

/// The lines around a position in a text, with a caret under the column.
pub(crate) fn excerpt(text: &str, line: usize, column: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at = line.checked_sub(1)?;
    let shown = lines.get(at)?;
    let mut out = String::new();
    let width = (line).to_string().len();
    if at > 0 {
        out.push_str(&format!("{:>width$} | {}\n", at, lines[at - 1]));
    }
    out.push_str(&format!("{line:>width$} | {shown}\n"));
    out.push_str(&format!("{:>width$} | {}^", "", " ".repeat(column.saturating_sub(1))));
    Some(out)
}

fn when(locale: Locale, now_ms: i64, then_ms: i64) -> AnyView {
    match age(now_ms, then_ms) {
        Age::Now => td_string!(locale, ago_now).into_any(),
        Age::Seconds(n) => td!(locale, ago_seconds, n = n).into_any(),
        Age::Minutes(n) => td!(locale, ago_minutes, n = n).into_any(),
        Age::Hours(n) => td!(locale, ago_hours, n = n).into_any(),
        Age::Days(n) => td!(locale, ago_days, n = n).into_any(),
    }
}

/// The message for a refused field. `text` is what was typed, for YAML excerpts.
fn problem_view(locale: Locale, problem: &TargetProblem, text: &str) -> AnyView {
    match problem.clone() {
        TargetProblem::Required => td_string!(locale, field_required).into_any(),
        TargetProblem::TooLong => td_string!(locale, field_too_long).into_any(),
        TargetProblem::InvalidChoice => td_string!(locale, field_invalid_choice).into_any(),
        TargetProblem::Url(reason) => td!(locale, problem_url, reason = reason.clone()).into_any(),
        TargetProblem::Duration(reason) => td!(locale, problem_duration, reason = reason.clone()).into_any(),
        TargetProblem::Label { line, reason } => {
            td!(locale, problem_label, line = line, reason = reason.clone()).into_any()
        }
        TargetProblem::LabelSyntax { line } => td!(locale, problem_label_syntax, line = line).into_any(),
        TargetProblem::LabelTwice { line, name } => {
            td!(locale, problem_label_twice, line = line, name = name.clone()).into_any()
        }
        TargetProblem::Yaml {
            line,
            column,
            message,
            hint,
        } => {
            let shown = excerpt(text, line, column);
            view! {
                {td!(locale, problem_yaml, line = line, column = column, message = message.clone())}
                {(!hint.is_empty()).then(|| view! { " " <strong>{td_string!(locale, problem_hint)}</strong> " " {hint.clone()} })}
                {shown.map(|shown| view! { <pre class="excerpt">{shown}</pre> })}
            }
            .into_any()
        }
        TargetProblem::Setting(reason) => reason.into_any(),
        TargetProblem::Exists => td_string!(locale, problem_exists).into_any(),
    }
}

fn problem_of(locale: Locale, form: &TargetForm, name: &str) -> Option<AnyView> {
    form.problem(name)
        .map(|problem| problem_view(locale, problem, form.value(name)))
}

/// A labelled one-line input of a target form.
#[component]
fn TargetField(
    locale: Locale,
    form: TargetForm,
    id_prefix: &'static str,
    name: &'static str,
    label: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = false)] required: bool,
    #[prop(optional)] placeholder: Option<&'static str>,
    #[prop(default = "text")] kind: &'static str,
) -> impl IntoView {
    let id = format!("{id_prefix}-{name}");
    let message_id = format!("{id}-message");
    let problem = problem_of(locale, &form, name);
    let invalid = problem.is_some();
    // Secrets are never put back into a form.
    let value = (kind != "password").then(|| form.value(name).to_string());
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <small class="hint">{hint}</small> })}
            <input
                type=kind
                id=id.clone()
                name=name
                value=value
                placeholder=placeholder
                autocomplete=if kind == "password" { "new-password" } else { "off" }
                spellcheck="false"
                aria-invalid=invalid.then_some("true")
                aria-describedby=invalid.then(|| message_id.clone())
                required=required
            />
            {problem.map(|text| view! { <div class="field-problem" id=message_id>{text}</div> })}
        </div>
    }
}

/// A labelled textarea of a target form.
#[component]
fn TargetArea(
    locale: Locale,
    form: TargetForm,
    id_prefix: &'static str,
    name: &'static str,
    label: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = 4)] rows: u32,
    #[prop(default = false)] required: bool,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    let id = format!("{id_prefix}-{name}");
    let message_id = format!("{id}-message");
    let problem = problem_of(locale, &form, name);
    let invalid = problem.is_some();
    let value = form.value(name).to_string();
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <small class="hint">{hint}</small> })}
            <textarea
                id=id.clone()
                name=name
                rows=rows.to_string()
                placeholder=placeholder
                spellcheck="false"
                autocomplete="off"
                aria-invalid=invalid.then_some("true")
                aria-describedby=invalid.then(|| message_id.clone())
                required=required
            >
                {textarea_text(&value)}
            </textarea>
            {problem.map(|text| view! { <div class="field-problem" id=message_id>{text}</div> })}
        </div>
    }
}

#[component]
fn Checkbox(form: TargetForm, id_prefix: &'static str, name: &'static str, label: &'static str) -> impl IntoView {
    let id = format!("{id_prefix}-{name}");
    let checked = !form.value(name).is_empty();
    view! {
        <div class="field check">
            <input type="checkbox" id=id.clone() name=name value="on" checked=checked />
            <label for=id>{label}</label>
        </div>
    }
}

#[component]
pub fn Targets(locale: Locale, page: TargetsPage, csrf: String) -> impl IntoView {
    let path = page.path();
    let client_path = format!("/clients/{}", page.client_slug);
    let notice = page.notice.clone().map(|notice| {
        let text = match notice {
            TargetsNotice::Added { job } => td!(locale, notice_target_added, job = job.clone()).into_any(),
            TargetsNotice::Deleted { job } => td!(locale, notice_target_deleted, job = job.clone()).into_any(),
            TargetsNotice::ProbeAdded { name } => {
                crate::mail::fill(td_string!(locale, notice_probe_added), &[("name", &name)]).into_any()
            }
            TargetsNotice::ProbeDeleted { name } => {
                crate::mail::fill(td_string!(locale, notice_probe_deleted), &[("name", &name)]).into_any()
            }
        };
        view! { <p class="alert success" role="status">{text}</p> }
    });
    let can_manage = page.can_manage;
    view! {
        <p class="breadcrumb">
            <a href=client_path>{td!(locale, targets_back, client = page.client_name.clone())}</a>
        </p>
        <h1>{td!(locale, targets_heading, project = page.project_name.clone(), environment = page.environment.clone())}</h1>
        <p class="intro">{td_string!(locale, targets_intro)}</p>
        {(!can_manage).then(|| view! { <p class="hint">{td_string!(locale, targets_read_only)}</p> })}
        {notice}
        {page.import_report.clone().map(|report| view! { <ImportSummary locale=locale report=report /> })}
        {page.test.clone().map(|test| view! { <TestResult locale=locale test=test /> })}
        <TargetTable locale=locale page=page.clone() csrf=csrf.clone() />
        <MetricCatalogue locale=locale metrics=page.metrics.clone() />
        <crate::status_settings::Probes locale=locale page=page.clone() csrf=csrf.clone() />
        {can_manage.then(|| view! {
            <AddTarget locale=locale form=page.add_form.clone() action=path.clone() csrf=csrf.clone() />
            <ImportTargets
                locale=locale
                form=page.import_form.clone()
                secrets_removed=page.import_secrets_removed
                action=format!("{path}/import")
                csrf=csrf.clone()
            />
        })}
    }
}

/// The metrics the client's targets report, with their own descriptions.
#[component]
fn MetricCatalogue(locale: Locale, metrics: Vec<MetricInfo>) -> impl IntoView {
    (!metrics.is_empty()).then(|| {
        let count = metrics.len();
        view! {
            <details class="card metrics">
                <summary>{td!(locale, metrics_summary, count = count)}</summary>
                <p class="hint">{td_string!(locale, metrics_intro)}</p>
                <div class="table-scroll">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">{td_string!(locale, metrics_name)}</th>
                                <th scope="col">{td_string!(locale, metrics_kind)}</th>
                                <th scope="col">{td_string!(locale, metrics_help)}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {metrics
                                .into_iter()
                                .map(|m| {
                                    let help = if m.unit.is_empty() { m.help } else { format!("{} ({})", m.help, m.unit) };
                                    view! {
                                        <tr>
                                            <td><code>{m.name}</code></td>
                                            <td>{m.kind}</td>
                                            <td>{help}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        }
    })
}

#[component]
fn TargetTable(locale: Locale, page: TargetsPage, csrf: String) -> impl IntoView {
    if page.targets.is_empty() {
        return view! { <p class="empty">{td_string!(locale, targets_none)}</p> }.into_any();
    }
    let path = page.path();
    let now_ms = page.now_ms;
    let can_manage = page.can_manage;
    let rows = page
        .targets
        .into_iter()
        .map(|target| {
            let health = target.health.clone();
            let (badge, badge_class) = match &health {
                Some(h) if h.up => (td_string!(locale, health_up), "status up"),
                Some(_) => (td_string!(locale, health_down), "status down"),
                None => (td_string!(locale, health_pending), "status pending"),
            };
            let pending_hint = health.is_none().then(|| td_string!(locale, health_pending_hint));
            let last = health.as_ref().and_then(|h| h.last_scrape_ms).map(|at| {
                view! {
                    <time datetime=utc_iso(at) title=utc_text(at)>{when(locale, now_ms, at)}</time>
                    <br />
                    <small class="hint">{utc_text(at)}</small>
                }
            });
            let duration = health
                .as_ref()
                .filter(|h| h.last_scrape_ms.is_some())
                .map(|h| td!(locale, value_ms, n = millis(h.duration_ms, locale)).into_any());
            let samples = health.as_ref().map(|h| grouped(h.samples, locale));
            let series = health.as_ref().map(|h| grouped(h.series_added, locale));
            let future = health.as_ref().filter(|h| h.future_samples > 0).map(|h| {
                view! {
                    <br />
                    <span class="error-text">{td!(locale, samples_in_future, n = grouped(h.future_samples, locale))}</span>
                    <br />
                    <small class="hint">{td_string!(locale, samples_in_future_hint)}</small>
                }
            });
            let error = match health.as_ref().and_then(|h| h.error.clone()) {
                Some(error) => view! { <span class="error-text">{error}</span> }.into_any(),
                None if health.is_some() => {
                    view! { <span class="hint">{td_string!(locale, no_error)}</span> }.into_any()
                }
                None => ().into_any(),
            };
            let actions = can_manage.then(|| {
                let base = format!("{path}/{}", target.id);
                view! {
                    <td class="actions">
                        <form method="post" action=format!("{base}/test")>
                            <input type="hidden" name="csrf" value=csrf.clone() />
                            <button type="submit" class="secondary">{td_string!(locale, test_submit)}</button>
                        </form>
                        <form method="post" action=format!("{base}/delete")>
                            <input type="hidden" name="csrf" value=csrf.clone() />
                            <button type="submit" class="danger">{td_string!(locale, delete_submit)}</button>
                        </form>
                    </td>
                }
            });
            view! {
                <tr id=format!("target-{}", target.id)>
                    <th scope="row">
                        {target.job.clone()}
                        {target.interval.clone().map(|interval| view! {
                            <br />
                            <small class="hint">{td!(locale, interval_every, interval = interval.clone())}</small>
                        })}
                    </th>
                    <td class="url"><code>{target.url.clone()}</code></td>
                    <td>
                        <span class=badge_class title=pending_hint>{badge}</span>
                    </td>
                    <td>{last}</td>
                    <td class="num">{duration}</td>
                    <td class="num">{samples}</td>
                    <td class="num">{series}</td>
                    <td>{error}{future}</td>
                    {actions}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll" role="region" aria-labelledby="targets-caption" tabindex="0">
            <table class="targets">
                <caption id="targets-caption">{td_string!(locale, targets_table_caption)}</caption>
                <thead>
                    <tr>
                        <th scope="col">{td_string!(locale, col_job)}</th>
                        <th scope="col">{td_string!(locale, col_url)}</th>
                        <th scope="col">{td_string!(locale, col_health)}</th>
                        <th scope="col">{td_string!(locale, col_last_scrape)}</th>
                        <th scope="col" class="num">{td_string!(locale, col_duration)}</th>
                        <th scope="col" class="num">{td_string!(locale, col_samples)}</th>
                        <th scope="col" class="num">{td_string!(locale, col_series_added)}</th>
                        <th scope="col">{td_string!(locale, col_error)}</th>
                        {can_manage.then(|| view! { <th scope="col">{td_string!(locale, col_actions)}</th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn TestResult(locale: Locale, test: TestScrapeResult) -> impl IntoView {
    let body = match test.outcome.clone() {
        Ok(report) => {
            let types = (!report.types.is_empty()).then(|| {
                let items = report
                    .types
                    .iter()
                    .map(|(kind, count)| view! { <li><code>{kind.clone()}</code> ": " {grouped(*count, locale)}</li> })
                    .collect_view();
                view! {
                    <h3>{td_string!(locale, test_types)}</h3>
                    <ul class="types">{items}</ul>
                }
            });
            let lines = (!report.first_lines.is_empty()).then(|| {
                view! {
                    <h3>{td_string!(locale, test_first_lines)}</h3>
                    <pre class="answer">{report.first_lines.join("\n")}</pre>
                }
            });
            view! {
                <p class="alert success" role="status">
                    {td!(
                        locale,
                        test_ok,
                        ms = millis(report.duration_ms, locale),
                        series = grouped(report.series, locale),
                        samples = grouped(report.samples, locale)
                    )}
                </p>
                {types}
                {lines}
            }
            .into_any()
        }
        Err(error) => view! {
            <div class="alert error" role="alert">
                <p>{td_string!(locale, test_failed)}</p>
                <p class="error-text"><strong>{error}</strong></p>
            </div>
        }
        .into_any(),
    };
    view! {
        <section class="card test-result" id="test-result">
            <h2>{td!(locale, test_title, job = test.job.clone())}</h2>
            <p><code>{test.url.clone()}</code></p>
            {body}
            <p class="hint">{td_string!(locale, test_nothing_stored)}</p>
        </section>
    }
}

#[component]
fn ImportSummary(locale: Locale, report: ImportReport) -> impl IntoView {
    let jobs = report
        .jobs
        .iter()
        .map(|job| {
            let list = |label: &'static str, urls: &[String]| {
                (!urls.is_empty()).then(|| {
                    let urls = urls
                        .iter()
                        .map(|url| view! { " " <code>{url.clone()}</code> })
                        .collect_view();
                    view! { <span class="import-part">" " {label} {urls}</span> }
                })
            };
            let empty = (job.added.is_empty() && job.existing.is_empty() && job.dropped.is_empty())
                .then(|| view! { " " <span class="hint">{td_string!(locale, import_job_empty)}</span> });
            view! {
                <li>
                    <strong>{job.name.clone()}</strong>
                    {list(td_string!(locale, import_job_added), &job.added)}
                    {list(td_string!(locale, import_job_existing), &job.existing)}
                    {list(td_string!(locale, import_job_dropped), &job.dropped)}
                    {empty}
                </li>
            }
        })
        .collect_view();
    let unsupported = if report.unsupported.is_empty() {
        view! { <p>{td_string!(locale, import_unsupported_none)}</p> }.into_any()
    } else {
        let items = report
            .unsupported
            .iter()
            .map(|u| {
                let (kind, class) = if u.harmless {
                    (td_string!(locale, import_harmless), "status harmless")
                } else {
                    (td_string!(locale, import_attention), "status attention")
                };
                view! {
                    <li>
                        <code>{u.path.clone()}</code>
                        " "
                        <span class=class>{kind}</span>
                        " "
                        <small class="hint">{td!(locale, import_line, line = u.line, column = u.column)}</small>
                        <br />
                        {u.reason.clone()}
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="unsupported">{items}</ul> }.into_any()
    };
    view! {
        <section class="card import-report" id="import-report">
            <h2>{td_string!(locale, import_done_title)}</h2>
            <p role="status">{td!(locale, import_summary, jobs = report.jobs.len(), targets = report.added())}</p>
            <ul class="import-jobs">{jobs}</ul>
            <h3>{td_string!(locale, import_unsupported_title)}</h3>
            {unsupported}
        </section>
    }
}

#[component]
fn AddTarget(locale: Locale, form: TargetForm, action: String, csrf: String) -> impl IntoView {
    let auth = form.value("auth").to_string();
    let advanced = [
        "username",
        "ca_pem",
        "insecure_skip_verify",
        "honor_labels",
        "ignore_timestamps",
        "relabel_configs",
        "metric_relabel_configs",
        "password",
        "bearer_token",
        "auth",
    ]
    .iter()
    .any(|name| form.problem(name).is_some() || (*name != "auth" && !form.value(name).is_empty()))
        || !matches!(auth.as_str(), "" | "none");
    let auth_problem = problem_of(locale, &form, "auth");
    let auth_invalid = auth_problem.is_some();
    let radio = |value: &'static str, label: &'static str| {
        let id = format!("add-auth-{value}");
        let checked = auth == value || (value == "none" && !matches!(auth.as_str(), "basic" | "bearer"));
        view! {
            <div class="check">
                <input type="radio" id=id.clone() name="auth" value=value checked=checked />
                <label for=id>{label}</label>
            </div>
        }
    };
    view! {
        <section class="card" id="add-target">
            <h2>{td_string!(locale, add_title)}</h2>
            <p>{td_string!(locale, add_intro)}</p>
            {form.has_problems().then(|| view! { <p class="alert error" role="alert">{td_string!(locale, form_has_errors)}</p> })}
            <form method="post" action=action>
                <input type="hidden" name="csrf" value=csrf />
                <TargetField locale=locale form=form.clone() id_prefix="add" name="job" label=td_string!(locale, target_job) hint=td_string!(locale, target_job_hint) required=true />
                <TargetField locale=locale form=form.clone() id_prefix="add" name="url" label=td_string!(locale, target_url) hint=td_string!(locale, target_url_hint) required=true placeholder="https://shop.example.com/metrics" />
                <div class="row">
                    <TargetField locale=locale form=form.clone() id_prefix="add" name="interval" label=td_string!(locale, target_interval) hint=td_string!(locale, target_interval_hint) placeholder="15s" />
                    <TargetField locale=locale form=form.clone() id_prefix="add" name="timeout" label=td_string!(locale, target_timeout) hint=td_string!(locale, target_timeout_hint) placeholder="10s" />
                </div>
                <TargetArea locale=locale form=form.clone() id_prefix="add" name="labels" label=td_string!(locale, target_labels) hint=td_string!(locale, target_labels_hint) rows=3 placeholder="team=shop" />
                <details class="advanced" open=advanced>
                    <summary>{td_string!(locale, target_advanced)}</summary>
                    <fieldset class="field" class:invalid=auth_invalid>
                        <legend>{td_string!(locale, target_auth)}</legend>
                        {radio("none", td_string!(locale, auth_none))}
                        {radio("basic", td_string!(locale, auth_basic))}
                        {radio("bearer", td_string!(locale, auth_bearer))}
                        {auth_problem.map(|text| view! { <div class="field-problem">{text}</div> })}
                    </fieldset>
                    <div class="row">
                        <TargetField locale=locale form=form.clone() id_prefix="add" name="username" label=td_string!(locale, target_username) />
                        <TargetField locale=locale form=form.clone() id_prefix="add" name="password" label=td_string!(locale, target_password) hint=td_string!(locale, secret_hint) kind="password" />
                    </div>
                    <TargetField locale=locale form=form.clone() id_prefix="add" name="bearer_token" label=td_string!(locale, target_token) hint=td_string!(locale, secret_hint) kind="password" />
                    <TargetArea locale=locale form=form.clone() id_prefix="add" name="ca_pem" label=td_string!(locale, target_ca) hint=td_string!(locale, target_ca_hint) rows=3 placeholder="-----BEGIN CERTIFICATE-----" />
                    <Checkbox form=form.clone() id_prefix="add" name="insecure_skip_verify" label=td_string!(locale, target_skip_verify) />
                    <Checkbox form=form.clone() id_prefix="add" name="honor_labels" label=td_string!(locale, target_honor_labels) />
                    <Checkbox form=form.clone() id_prefix="add" name="ignore_timestamps" label=td_string!(locale, target_ignore_timestamps) />
                    <TargetArea locale=locale form=form.clone() id_prefix="add" name="relabel_configs" label=td_string!(locale, target_relabel) hint=td_string!(locale, target_rules_hint) rows=4 />
                    <TargetArea locale=locale form=form.clone() id_prefix="add" name="metric_relabel_configs" label=td_string!(locale, target_metric_relabel) hint=td_string!(locale, target_rules_hint) rows=4 />
                </details>
                <div class="buttons">
                    <button type="submit" name="action" value="save">{td_string!(locale, add_submit)}</button>
                    <button type="submit" name="action" value="test" class="secondary">{td_string!(locale, add_test_submit)}</button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn ImportTargets(
    locale: Locale,
    form: TargetForm,
    secrets_removed: bool,
    action: String,
    csrf: String,
) -> impl IntoView {
    view! {
        <section class="card" id="import-targets">
            <h2>{td_string!(locale, import_title)}</h2>
            <p>{td_string!(locale, import_intro)}</p>
            {form.has_problems().then(|| view! { <p class="alert error" role="alert">{td_string!(locale, form_has_errors)}</p> })}
            {secrets_removed.then(|| view! { <p class="alert error">{td_string!(locale, import_secrets_removed)}</p> })}
            <form method="post" action=action>
                <input type="hidden" name="csrf" value=csrf />
                <TargetArea locale=locale form=form id_prefix="import" name="prometheus_yml" label=td_string!(locale, import_field) rows=14 required=true placeholder="scrape_configs:" />
                <button type="submit">{td_string!(locale, import_submit)}</button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_rounded_for_people() {
        let now = 1_700_000_000_000;
        assert_eq!(age(now, now), Age::Now);
        assert_eq!(age(now, now + 5_000), Age::Now, "a clock ahead is not the future");
        assert_eq!(age(now, now - 12_400), Age::Seconds(12));
        assert_eq!(age(now, now - 59_000), Age::Seconds(59));
        assert_eq!(age(now, now - 90_000), Age::Minutes(2));
        assert_eq!(age(now, now - 3 * 3_600_000 - 20 * 60_000), Age::Hours(3));
        assert_eq!(age(now, now - 3 * 86_400_000), Age::Days(3));
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_iso(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc_text(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn numbers() {
        assert_eq!(grouped(1_234_567, Locale::en), "1,234,567");
        assert_eq!(grouped(999, Locale::de), "999");
        assert_eq!(grouped(12_345, Locale::de), "12.345");
        assert_eq!(millis(3.24, Locale::en), "3.2");
        assert_eq!(millis(3.24, Locale::de), "3,2");
        assert_eq!(grouped(12_345, Locale::fr), "12\u{202f}345");
        assert_eq!(millis(3.24, Locale::fr), "3,2");
        assert_eq!(millis(1234.6, Locale::en), "1,235");
    }

    #[test]
    fn yaml_excerpt_points_at_the_column() {
        let text = "a:\n- b: 1\n    c: 2\n";
        assert_eq!(excerpt(text, 3, 6).unwrap(), "2 | - b: 1\n3 |     c: 2\n  |      ^");
        assert_eq!(excerpt(text, 9, 1), None);
    }
}
