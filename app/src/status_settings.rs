//! What the agency sets up for a client's public status page: the probes of an environment
//! (on its targets page), and on `/clients/{client}/status` whether the page is public, its
//! time zone, and its components with what each is derived from and a state set by hand
//! during an incident. Client people read it.

use crate::dto::*;
use crate::i18n::Locale;
use crate::mail::fill;
use crate::pages::Field;
use crate::status::state_text;
use crate::targets::utc_text;
use crate::thresholds::Choice;
use leptos::prelude::*;
use leptos_i18n::td_string;

/// Why a probe failed, in words.
pub fn probe_failure_text(locale: Locale, failure: &ProbeFailure) -> String {
    match failure {
        ProbeFailure::Status { got, expected } => fill(
            td_string!(locale, probe_failed_status),
            &[("got", &got.to_string()), ("expected", expected)],
        ),
        ProbeFailure::KeywordMissing { keyword } => fill(
            td_string!(locale, probe_failed_keyword_missing),
            &[("keyword", keyword)],
        ),
        ProbeFailure::KeywordFound { keyword } => {
            fill(td_string!(locale, probe_failed_keyword_found), &[("keyword", keyword)])
        }
        ProbeFailure::JsonMismatch { pointer, expected, got } => fill(
            td_string!(locale, probe_failed_json),
            &[
                ("pointer", pointer),
                ("expected", expected),
                ("got", got.as_deref().unwrap_or("—")),
            ],
        ),
        ProbeFailure::NotJson => td_string!(locale, probe_failed_not_json).to_string(),
        ProbeFailure::TooSlow { millis, limit_millis } => fill(
            td_string!(locale, probe_failed_slow),
            &[("millis", &millis.to_string()), ("limit", &limit_millis.to_string())],
        ),
        ProbeFailure::Timeout { secs } => {
            fill(td_string!(locale, probe_failed_timeout), &[("secs", &secs.to_string())])
        }
        ProbeFailure::Refused { why } => fill(td_string!(locale, probe_failed_refused), &[("why", why)]),
        ProbeFailure::Connect { detail } => fill(td_string!(locale, probe_failed_connect), &[("detail", detail)]),
        ProbeFailure::Certificate { detail } => {
            fill(td_string!(locale, probe_failed_certificate), &[("detail", detail)])
        }
    }
}

fn probe_health(locale: Locale, health: Option<&ProbeHealth>) -> AnyView {
    let Some(health) = health else {
        return view! { <span class="status pending">{td_string!(locale, probe_not_run)}</span> }.into_any();
    };
    let status = if health.success {
        view! { <span class="status up">{td_string!(locale, probe_ok)}</span> }.into_any()
    } else {
        view! { <span class="status down">{td_string!(locale, probe_failing)}</span> }.into_any()
    };
    let mut facts = vec![utc_text(health.last_ms), format!("{:.0} ms", health.duration_ms)];
    if let Some(code) = health.status_code {
        facts.push(format!("HTTP {code}"));
    }
    if let Some(expiry) = health.cert_expiry_ms {
        facts.push(fill(
            td_string!(locale, probe_certificate_until),
            &[("when", &utc_text(expiry)[..10])],
        ));
    }
    let failure = health
        .failure
        .as_ref()
        .map(|f| view! { <p class="alert error">{probe_failure_text(locale, f)}</p> });
    view! {
        {status} " " <small class="hint">{facts.join(" · ")}</small>
        {failure}
    }
    .into_any()
}

/// The probes of an environment, with the form to add one (agency people).
#[component]
pub fn Probes(locale: Locale, page: TargetsPage, csrf: String) -> impl IntoView {
    let action = page.path().replace("/targets", "/probes");
    let list = if page.probes.is_empty() {
        view! { <p class="empty">{td_string!(locale, probes_none)}</p> }.into_any()
    } else {
        let list = page
            .probes
            .iter()
            .map(|probe| {
                let delete = page.can_manage.then(|| {
                    view! {
                        <form method="post" action=format!("{action}/{}/delete", probe.id)>
                            <input type="hidden" name="csrf" value=csrf.clone() />
                            <button type="submit" class="danger">{td_string!(locale, probe_delete)}</button>
                        </form>
                    }
                });
                let mut checks = vec![fill(
                    td_string!(locale, probe_expects),
                    &[("codes", &probe.expect_status)],
                )];
                if !probe.keyword.is_empty() {
                    let template = if probe.keyword_absent {
                        td_string!(locale, probe_expects_absent)
                    } else {
                        td_string!(locale, probe_expects_keyword)
                    };
                    checks.push(fill(template, &[("keyword", &probe.keyword)]));
                }
                checks.push(fill(
                    td_string!(locale, probe_every),
                    &[("secs", &probe.interval_secs.to_string())],
                ));
                view! {
                    <li class="probe" id=format!("probe-{}", probe.id)>
                        <strong>{probe.name.clone()}</strong> " "
                        <code>{probe.method.clone()} " " {probe.url.clone()}</code>
                        <br />
                        <small class="hint">{checks.join(" · ")}</small>
                        <br />
                        {probe_health(locale, probe.health.as_ref())}
                        {delete}
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="probes">{list}</ul> }.into_any()
    };
    let form = page.probe_form.clone();
    let open = form.has_problems();
    let methods: Vec<(String, String)> = ["GET", "HEAD", "POST", "PUT", "OPTIONS"]
        .iter()
        .map(|m| (m.to_string(), m.to_string()))
        .collect();
    let checked = |name: &str| form.value(name) == "on";
    let add = page.can_manage.then(|| {
        view! {
            <details open=open>
                <summary>{td_string!(locale, probe_add)}</summary>
                <form method="post" action=action.clone()>
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <Field locale=locale form=form.clone() id_prefix="probe" name="name" label=td_string!(locale, probe_name) hint=td_string!(locale, probe_name_hint) />
                    <Field locale=locale form=form.clone() id_prefix="probe" name="url" label=td_string!(locale, probe_url) kind="url" />
                    <Choice locale=locale form=form.clone() name="method" label=td_string!(locale, probe_method) options=methods id_prefix="probe" />
                    <Field locale=locale form=form.clone() id_prefix="probe" name="expect_status" label=td_string!(locale, probe_expect_status) hint=td_string!(locale, probe_expect_status_hint) required=false />
                    <Field locale=locale form=form.clone() id_prefix="probe" name="keyword" label=td_string!(locale, probe_keyword) hint=td_string!(locale, probe_keyword_hint) required=false />
                    <div class="field check">
                        <input type="checkbox" id="probe-keyword_absent" name="keyword_absent" checked=checked("keyword_absent") />
                        <label for="probe-keyword_absent">{td_string!(locale, probe_keyword_absent)}</label>
                    </div>
                    <Field locale=locale form=form.clone() id_prefix="probe" name="json_pointer" label=td_string!(locale, probe_json_pointer) hint=td_string!(locale, probe_json_pointer_hint) required=false />
                    <Field locale=locale form=form.clone() id_prefix="probe" name="json_value" label=td_string!(locale, probe_json_value) required=false />
                    <Field locale=locale form=form.clone() id_prefix="probe" name="max_latency_ms" label=td_string!(locale, probe_max_latency) hint=td_string!(locale, probe_max_latency_hint) required=false />
                    <Field locale=locale form=form.clone() id_prefix="probe" name="interval_secs" label=td_string!(locale, probe_interval) required=false />
                    <Field locale=locale form=form.clone() id_prefix="probe" name="timeout_secs" label=td_string!(locale, probe_timeout) required=false />
                    <crate::thresholds::TextArea locale=locale form=form.clone() name="headers" label=td_string!(locale, probe_headers) hint=td_string!(locale, probe_headers_hint) id_prefix="probe" />
                    <crate::thresholds::TextArea locale=locale form=form.clone() name="body" label=td_string!(locale, probe_body) id_prefix="probe" />
                    <div class="field check">
                        <input type="checkbox" id="probe-no_redirects" name="no_redirects" checked=checked("no_redirects") />
                        <label for="probe-no_redirects">{td_string!(locale, probe_no_redirects)}</label>
                    </div>
                    <div class="field check">
                        <input type="checkbox" id="probe-tls_skip_verify" name="tls_skip_verify" checked=checked("tls_skip_verify") />
                        <label for="probe-tls_skip_verify">{td_string!(locale, probe_tls_skip_verify)}</label>
                    </div>
                    <button type="submit">{td_string!(locale, probe_submit)}</button>
                </form>
            </details>
        }
    });
    view! {
        <section class="card" id="probes">
            <h2>{td_string!(locale, probes_title)}</h2>
            <p class="hint">{td_string!(locale, probes_intro)}</p>
            {list}
            {add}
        </section>
    }
}

fn impact_options(locale: Locale) -> Vec<(String, String)> {
    [
        ComponentState::MajorOutage,
        ComponentState::PartialOutage,
        ComponentState::DegradedPerformance,
    ]
    .into_iter()
    .map(|s| (s.as_str().to_string(), state_text(locale, s).to_string()))
    .collect()
}

/// Choosing a source and its impact: in the form of a new component and of each one's "add".
#[component]
fn SourceFields(
    locale: Locale,
    form: FormState,
    choices: Vec<(String, String)>,
    id_prefix: &'static str,
) -> impl IntoView {
    view! {
        <Choice locale=locale form=form.clone() name="source" label=td_string!(locale, component_source) options=choices id_prefix=id_prefix />
        <Choice locale=locale form=form.clone() name="impact" label=td_string!(locale, component_impact) options=impact_options(locale) id_prefix=id_prefix />
        <Field locale=locale form=form id_prefix=id_prefix name="failures" label=td_string!(locale, component_failures) hint=td_string!(locale, component_failures_hint) required=false />
    }
}

fn notice_text(locale: Locale, notice: &StatusNotice) -> String {
    match notice {
        StatusNotice::Saved => td_string!(locale, status_notice_saved).to_string(),
        StatusNotice::ComponentCreated { name } => fill(td_string!(locale, status_notice_created), &[("name", name)]),
        StatusNotice::ComponentDeleted { name } => fill(td_string!(locale, status_notice_deleted), &[("name", name)]),
        StatusNotice::SourceAdded { name } => fill(td_string!(locale, status_notice_source), &[("name", name)]),
        StatusNotice::Overridden { name } => fill(td_string!(locale, status_notice_overridden), &[("name", name)]),
        StatusNotice::IncidentOpened { title } => {
            fill(td_string!(locale, status_notice_incident_opened), &[("title", title)])
        }
        StatusNotice::IncidentUpdated { title } => {
            fill(td_string!(locale, status_notice_incident_updated), &[("title", title)])
        }
    }
}

/// A text in each language: English, German, French fields (at least one is needed).
#[component]
fn TextsFields(
    locale: Locale,
    form: FormState,
    field: &'static str,
    label: &'static str,
    id_prefix: &'static str,
    #[prop(default = false)] long: bool,
) -> impl IntoView {
    [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
        .into_iter()
        .map(|(language, language_name)| {
            let name = format!("{field}_{language}");
            let id = format!("{id_prefix}-{name}");
            let problem = form.problem(&name).map(|p| crate::pages::problem_message(locale, p));
            let value = form.value(&name).to_string();
            let input = if long {
                view! { <textarea id=id.clone() name=name.clone() rows="3" lang=language>{crate::text::textarea_text(&value)}</textarea> }.into_any()
            } else {
                view! { <input type="text" id=id.clone() name=name.clone() value=value lang=language /> }.into_any()
            };
            view! {
                <div class="field" class:invalid=problem.is_some()>
                    <label for=id>{label} " (" {language_name} ")"</label>
                    {input}
                    {problem.map(|text| view! { <p class="field-problem">{text}</p> })}
                </div>
            }
        })
        .collect_view()
}

fn status_options(locale: Locale) -> Vec<(String, String)> {
    IncidentStatus::ALL
        .into_iter()
        .map(|s| {
            (
                s.as_str().to_string(),
                crate::status::incident_status_text(locale, s).to_string(),
            )
        })
        .collect()
}

/// The incidents of the page with their timelines, the form to open one, and for each the
/// form of its next update (or of its post-mortem once resolved).
#[component]
fn Incidents(locale: Locale, page: StatusSettingsPage, csrf: String) -> impl IntoView {
    let base = format!("/clients/{}/status/incidents", page.client_slug);
    let list = if page.incidents.is_empty() {
        view! { <p class="empty">{td_string!(locale, incidents_none)}</p> }.into_any()
    } else {
        page.incidents
            .iter()
            .cloned()
            .map(|incident| {
                let id = incident.id;
                let resolved = incident.status == IncidentStatus::Resolved;
                let form = page.can_manage.then(|| {
                    if resolved {
                        view! {
                            <details>
                                <summary>{td_string!(locale, incident_write_postmortem)}</summary>
                                <form method="post" action=format!("{base}/{id}/postmortem")>
                                    <input type="hidden" name="csrf" value=csrf.clone() />
                                    <TextsFields locale=locale form=FormState::default() field="postmortem" label=td_string!(locale, incident_postmortem) id_prefix="postmortem" long=true />
                                    <button type="submit" class="secondary">{td_string!(locale, incident_save_postmortem)}</button>
                                </form>
                            </details>
                        }
                        .into_any()
                    } else {
                        view! {
                            <details>
                                <summary>{td_string!(locale, incident_add_update)}</summary>
                                <form method="post" action=format!("{base}/{id}/updates")>
                                    <input type="hidden" name="csrf" value=csrf.clone() />
                                    <Choice locale=locale form=FormState::default() name="status" label=td_string!(locale, incident_status) options=status_options(locale) id_prefix="update" />
                                    <TextsFields locale=locale form=FormState::default() field="body" label=td_string!(locale, incident_message) id_prefix="update" long=true />
                                    <button type="submit">{td_string!(locale, incident_post_update)}</button>
                                </form>
                            </details>
                        }
                        .into_any()
                    }
                });
                view! {
                    <div class="card">
                        {crate::status::incident_view(locale, incident)}
                        {form}
                    </div>
                }
            })
            .collect_view()
            .into_any()
    };
    let form = page.incident_form.clone().unwrap_or_else(|| FormState {
        values: vec![
            ("impact".into(), "minor".into()),
            ("component_state".into(), ComponentState::PartialOutage.as_str().into()),
        ],
        problems: vec![],
    });
    let open = form.has_problems();
    let impacts: Vec<(String, String)> = [
        ("none", td_string!(locale, incident_impact_none)),
        ("minor", td_string!(locale, incident_impact_minor)),
        ("major", td_string!(locale, incident_impact_major)),
        ("critical", td_string!(locale, incident_impact_critical)),
    ]
    .into_iter()
    .map(|(v, t)| (v.to_string(), t.to_string()))
    .collect();
    let states: Vec<(String, String)> = ComponentState::ALL
        .into_iter()
        .filter(|s| *s != ComponentState::Operational)
        .map(|s| (s.as_str().to_string(), state_text(locale, s).to_string()))
        .collect();
    let chosen: Vec<String> = form
        .values
        .iter()
        .filter(|(n, _)| n == "component")
        .map(|(_, v)| v.clone())
        .collect();
    let boxes = page
        .components
        .iter()
        .map(|c| {
            let id = format!("incident-component-{}", c.id);
            let checked = chosen.contains(&c.id.to_string());
            view! {
                <div class="field check">
                    <input type="checkbox" id=id.clone() name="component" value=c.id.to_string() checked=checked />
                    <label for=id>{c.name.clone()}</label>
                </div>
            }
        })
        .collect_view();
    let add = page.can_manage.then(|| {
        view! {
            <details open=open>
                <summary>{td_string!(locale, incident_open)}</summary>
                <form method="post" action=base.clone()>
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    {form.has_problems().then(|| view! { <p class="alert error" role="alert">{td_string!(locale, incident_form_problem)}</p> })}
                    <TextsFields locale=locale form=form.clone() field="title" label=td_string!(locale, incident_title) id_prefix="incident" />
                    <Choice locale=locale form=form.clone() name="impact" label=td_string!(locale, incident_impact) options=impacts id_prefix="incident" />
                    <Choice locale=locale form=form.clone() name="status" label=td_string!(locale, incident_status) options=status_options(locale) id_prefix="incident" />
                    <TextsFields locale=locale form=form.clone() field="body" label=td_string!(locale, incident_message) id_prefix="incident" long=true />
                    <fieldset>
                        <legend>{td_string!(locale, incident_components)}</legend>
                        {boxes}
                    </fieldset>
                    <Choice locale=locale form=form.clone() name="component_state" label=td_string!(locale, incident_component_state) options=states id_prefix="incident" />
                    <button type="submit">{td_string!(locale, incident_submit)}</button>
                </form>
            </details>
        }
    });
    view! {
        <section id="incidents">
            <h2>{td_string!(locale, incidents_title)}</h2>
            <p class="hint">{td_string!(locale, incidents_intro)}</p>
            {add}
            {list}
        </section>
    }
}

#[component]
pub fn StatusSettings(locale: Locale, page: StatusSettingsPage, csrf: String) -> impl IntoView {
    let base = format!("/clients/{}/status", page.client_slug);
    let public = format!("/status/{}", page.client_slug);
    let notice = page
        .notice
        .as_ref()
        .map(|n| view! { <p class="alert success" role="status">{notice_text(locale, n)}</p> });
    let addon = page
        .addon_needed
        .clone()
        .map(|needed| view! { <crate::billing::AddOnNote locale=locale needed=needed /> });
    let published_text = if page.addon_needed.is_some() {
        view! { <p>{td_string!(locale, status_published_needs_addon)}</p> }.into_any()
    } else if page.published {
        let url = page.public_url.clone();
        let name = page.client_name.replace('"', "&quot;");
        let badge = format!("<img src=\"{url}/badge.svg\" alt=\"{name}\">");
        let widget = format!(
            "<iframe src=\"{url}/widget\" title=\"{name}\" width=\"320\" height=\"90\" frameborder=\"0\"></iframe>"
        );
        view! {
            <p>{td_string!(locale, status_published_yes)} " " <a href=public.clone()>{public.clone()}</a></p>
            <details>
                <summary>{td_string!(locale, status_embed)}</summary>
                <p class="hint">{td_string!(locale, status_embed_intro)}</p>
                <p>{td_string!(locale, status_embed_badge)}</p>
                <pre class="snippet">{badge}</pre>
                <p>{td_string!(locale, status_embed_widget)}</p>
                <pre class="snippet">{widget}</pre>
                <p>
                    <a href=format!("{public}/badge.svg")>"badge.svg"</a> " · "
                    <a href=format!("{public}/widget")>"widget"</a> " · "
                    <a href=format!("{public}/api/v2/summary.json")>"summary.json"</a>
                </p>
            </details>
        }
        .into_any()
    } else {
        view! { <p>{td_string!(locale, status_published_no)}</p> }.into_any()
    };
    let settings_form = page.settings_form.clone().unwrap_or_else(|| FormState {
        values: vec![
            ("time_zone".into(), page.time_zone.clone()),
            (
                "published".into(),
                if page.published { "on".into() } else { String::new() },
            ),
        ],
        problems: vec![],
    });
    let settings = page.can_manage.then(|| {
        view! {
            <form method="post" action=base.clone()>
                <input type="hidden" name="csrf" value=csrf.clone() />
                <div class="field check">
                    <input type="checkbox" id="status-published" name="published" checked=settings_form.value("published") == "on" />
                    <label for="status-published">{td_string!(locale, status_publish)}</label>
                </div>
                <Field locale=locale form=settings_form.clone() id_prefix="status" name="time_zone" label=td_string!(locale, status_time_zone) hint=td_string!(locale, status_time_zone_hint) />
                <button type="submit">{td_string!(locale, status_save)}</button>
            </form>
        }
    });
    let overrides: Vec<(String, String)> =
        std::iter::once((String::new(), td_string!(locale, component_override_none).to_string()))
            .chain(
                ComponentState::ALL
                    .into_iter()
                    .map(|s| (s.as_str().to_string(), state_text(locale, s).to_string())),
            )
            .collect();
    let components = if page.components.is_empty() {
        view! { <p class="empty">{td_string!(locale, components_none)}</p> }.into_any()
    } else {
        page.components
            .iter()
            .map(|c| {
                let sources = c
                    .sources
                    .iter()
                    .map(|s| {
                        let kind = match s.kind.as_str() {
                            "probe" => td_string!(locale, component_kind_probe),
                            "target" => td_string!(locale, component_kind_target),
                            _ => td_string!(locale, component_kind_threshold),
                        };
                        let when = if s.kind == "probe" {
                            fill(td_string!(locale, component_when_probe), &[("failures", &s.failures.to_string()), ("impact", state_text(locale, s.impact))])
                        } else {
                            fill(td_string!(locale, component_when), &[("impact", state_text(locale, s.impact))])
                        };
                        let failing = s.failing.then(|| view! { " " <span class="status down">{td_string!(locale, component_source_failing)}</span> });
                        view! { <li>{kind} ": " <strong>{s.name.clone()}</strong> " — " {when} {failing}</li> }
                    })
                    .collect_view();
                let manage = page.can_manage.then(|| {
                    let chosen = FormState {
                        values: vec![("state".into(), c.override_state.map(|s| s.as_str().to_string()).unwrap_or_default())],
                        problems: vec![],
                    };
                    view! {
                        <div class="actions">
                            <form method="post" action=format!("{base}/components/{}/override", c.id)>
                                <input type="hidden" name="csrf" value=csrf.clone() />
                                <Choice locale=locale form=chosen name="state" label=td_string!(locale, component_override) options=overrides.clone() id_prefix="override" />
                                <button type="submit" class="secondary">{td_string!(locale, component_override_submit)}</button>
                            </form>
                            <details>
                                <summary>{td_string!(locale, component_add_source)}</summary>
                                <form method="post" action=format!("{base}/components/{}/sources", c.id)>
                                    <input type="hidden" name="csrf" value=csrf.clone() />
                                    <SourceFields locale=locale form=FormState::default() choices=page.choices.clone() id_prefix="more" />
                                    <button type="submit" class="secondary">{td_string!(locale, component_add_source_submit)}</button>
                                </form>
                            </details>
                            <form method="post" action=format!("{base}/components/{}/delete", c.id)>
                                <input type="hidden" name="csrf" value=csrf.clone() />
                                <button type="submit" class="danger">{td_string!(locale, component_delete)}</button>
                            </form>
                        </div>
                    }
                });
                let overridden = c.override_state.map(|_| view! { <small class="hint">{td_string!(locale, component_overridden)}</small> });
                let group = (!c.group_name.is_empty()).then(|| view! { <small class="hint">{c.group_name.clone()} " · "</small> });
                view! {
                    <article class="card component" id=format!("component-{}", c.id)>
                        <h3>{group}{c.name.clone()} " " <span class=format!("state {}", c.state.class())>{state_text(locale, c.state)}</span> " " {overridden}</h3>
                        {(!c.description.is_empty()).then(|| view! { <p>{c.description.clone()}</p> })}
                        <ul class="sources">{sources}</ul>
                        {manage}
                    </article>
                }
            })
            .collect_view()
            .into_any()
    };
    let form = page.form.clone().unwrap_or_default();
    let open = form.has_problems();
    let add = page.can_manage.then(|| {
        let no_choices = page.choices.is_empty().then(|| view! { <p class="hint">{td_string!(locale, component_no_sources)}</p> });
        view! {
            <details open=open>
                <summary>{td_string!(locale, component_add)}</summary>
                {no_choices}
                <form method="post" action=format!("{base}/components")>
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <Field locale=locale form=form.clone() id_prefix="component" name="name" label=td_string!(locale, component_name) hint=td_string!(locale, component_name_hint) />
                    <Field locale=locale form=form.clone() id_prefix="component" name="group" label=td_string!(locale, component_group) hint=td_string!(locale, component_group_hint) required=false />
                    <Field locale=locale form=form.clone() id_prefix="component" name="description" label=td_string!(locale, component_description) hint=td_string!(locale, component_description_hint) required=false />
                    <SourceFields locale=locale form=form.clone() choices=page.choices.clone() id_prefix="component" />
                    <button type="submit">{td_string!(locale, component_submit)}</button>
                </form>
            </details>
        }
    });
    view! {
        <h1>{td_string!(locale, status_settings_title)} " · " {page.client_name.clone()}</h1>
        <p class="lead">{td_string!(locale, status_settings_intro)}</p>
        {notice}
        <section class="card" id="settings">
            <h2>{td_string!(locale, status_page_heading)}</h2>
            {addon}
            {published_text}
            {settings}
        </section>
        <Incidents locale=locale page=page.clone() csrf=csrf.clone() />
        <section id="components">
            <h2>{td_string!(locale, components_title)}</h2>
            <p class="hint">{td_string!(locale, components_intro)}</p>
            {components}
            {add}
        </section>
    }
}
