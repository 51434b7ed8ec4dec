//! Who is told when a threshold of a client raises the alarm and when it is over: the client's
//! people by e-mail (each as they chose under "Your account"), and the channels the agency set
//! up: a team address, a webhook, Slack or PagerDuty. Agency people add, test and remove
//! channels and import an Alertmanager configuration; the client's people read the page.

use crate::dto::*;
use crate::i18n::Locale;
use crate::mail::fill;
use crate::pages::Field;
use crate::targets::utc_text;
use crate::text::textarea_text;
use crate::thresholds::{Choice, severity_text};
use crate::units::format_duration;
use leptos::prelude::*;
use leptos_i18n::{td, td_string};

pub fn kind_text(locale: Locale, kind: &str) -> &'static str {
    match kind {
        "email" => td_string!(locale, channel_kind_email),
        "webhook" => td_string!(locale, channel_kind_webhook),
        "slack" => td_string!(locale, channel_kind_slack),
        _ => td_string!(locale, channel_kind_pagerduty),
    }
}

/// "every error mail", "none", or the severities and projects chosen.
fn wants_text(locale: Locale, person: &PersonMails) -> String {
    if !person.alerts {
        return td_string!(locale, channels_person_none).to_string();
    }
    let every = person.severities.len() == THRESHOLD_SEVERITIES.len() && person.projects.is_none();
    if every {
        return td_string!(locale, channels_person_all).to_string();
    }
    let severities: Vec<&str> = person.severities.iter().map(|s| severity_text(locale, s)).collect();
    let mut text = severities.join(", ");
    if let Some(projects) = &person.projects {
        text.push_str(&format!(
            " · {} {}",
            td_string!(locale, channels_person_projects),
            projects.join(", ")
        ));
    }
    text
}

/// What importing an Alertmanager configuration did, line by line in the reader's language.
pub fn import_report_lines(locale: Locale, report: &AlertmanagerImported) -> Vec<String> {
    let mut lines = Vec::new();
    if report.created.is_empty() && report.existed.is_empty() {
        lines.push(td_string!(locale, channels_import_nothing).to_string());
    }
    if !report.created.is_empty() {
        lines.push(fill(
            td_string!(locale, channels_import_created),
            &[("names", &report.created.join(", "))],
        ));
    }
    if !report.existed.is_empty() {
        lines.push(fill(
            td_string!(locale, channels_import_existed),
            &[("names", &report.existed.join(", "))],
        ));
    }
    if !report.invalid.is_empty() {
        lines.push(fill(
            td_string!(locale, channels_import_invalid),
            &[("names", &report.invalid.join(", "))],
        ));
    }
    let place = |note: &AlertmanagerNote| {
        fill(
            td_string!(locale, channels_import_place),
            &[("path", &note.path), ("line", &note.line.to_string())],
        )
    };
    if let Some(timing) = report.timing {
        lines.push(fill(
            td_string!(locale, channels_import_timing),
            &[("timing", &timing_text(locale, &timing))],
        ));
    }
    if report.inhibit_rules > 0 {
        lines.push(fill(
            td_string!(locale, channels_import_quiet),
            &[("count", &report.inhibit_rules.to_string())],
        ));
    }
    let settings: Vec<String> = report
        .notes
        .iter()
        .filter(|n| n.kind == AlertmanagerNoteKind::Setting)
        .map(place)
        .collect();
    if !settings.is_empty() {
        lines.push(fill(
            td_string!(locale, channels_import_settings),
            &[("places", &settings.join(", "))],
        ));
    }
    for note in &report.notes {
        let template = match note.kind {
            AlertmanagerNoteKind::Setting => continue,
            AlertmanagerNoteKind::Placeholder => td_string!(locale, channels_import_placeholder),
            AlertmanagerNoteKind::Unsupported => td_string!(locale, channels_import_unsupported),
        };
        lines.push(fill(template, &[("place", &place(note))]));
    }
    lines
}

#[component]
pub fn Channels(locale: Locale, page: ChannelsPage, csrf: String) -> impl IntoView {
    let client_path = format!("/clients/{}", page.client_slug);
    let action = format!("{client_path}/channels");
    let notice = page.notice.clone().map(|notice| {
        let text = match notice {
            ChannelNotice::Created { name } => td!(locale, notice_channel_created, name = name).into_any(),
            ChannelNotice::Deleted { name } => td!(locale, notice_channel_deleted, name = name).into_any(),
            ChannelNotice::TestQueued { name } => td!(locale, notice_channel_test, name = name).into_any(),
            ChannelNotice::TimingSaved => td_string!(locale, notice_timing_saved).into_any(),
            ChannelNotice::TimingReset => td_string!(locale, notice_timing_reset).into_any(),
            ChannelNotice::InhibitRuleAdded => td_string!(locale, notice_quiet_added).into_any(),
            ChannelNotice::QuietHoursAdded { name } => td!(locale, notice_hours_added, name = name.clone()).into_any(),
            ChannelNotice::QuietHoursDeleted { name } => {
                td!(locale, notice_hours_deleted, name = name.clone()).into_any()
            }
            ChannelNotice::InhibitRuleDeleted => td_string!(locale, notice_quiet_deleted).into_any(),
            ChannelNotice::Imported(report) => {
                let lines = import_report_lines(locale, &report)
                    .into_iter()
                    .map(|line| view! { <li>{line}</li> })
                    .collect_view();
                view! { <ul class="import-report">{lines}</ul> }.into_any()
            }
        };
        view! { <p class="alert success" role="status">{text}</p> }
    });
    let people = if page.people.is_empty() {
        view! { <p class="empty">{td_string!(locale, channels_people_none)}</p> }.into_any()
    } else {
        let rows = page
            .people
            .iter()
            .map(|person| view! { <tr><td>{person.email.clone()}</td><td>{wants_text(locale, person)}</td></tr> })
            .collect_view();
        view! {
            <table class="people">
                <thead><tr><th scope="col">{td_string!(locale, email)}</th><th scope="col">{td_string!(locale, channels_person_gets)}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let channels = if page.channels.is_empty() {
        view! { <p class="empty">{td_string!(locale, channels_none)}</p> }.into_any()
    } else {
        let items = page
            .channels
            .iter()
            .map(|channel| {
                let severities = if channel.severities.is_empty() {
                    td_string!(locale, channels_every_severity).to_string()
                } else {
                    channel.severities.iter().map(|s| severity_text(locale, s)).collect::<Vec<_>>().join(", ")
                };
                let buttons = page.can_manage.then(|| {
                    view! {
                        <div class="actions">
                            <form method="post" action=format!("{action}/{}/test", channel.id)>
                                <input type="hidden" name="csrf" value=csrf.clone() />
                                <button type="submit" class="secondary">{td_string!(locale, channel_test)}</button>
                            </form>
                            <form method="post" action=format!("{action}/{}/delete", channel.id)>
                                <input type="hidden" name="csrf" value=csrf.clone() />
                                <button type="submit" class="danger">{td_string!(locale, channel_delete)}</button>
                            </form>
                        </div>
                    }
                });
                view! {
                    <li class="channel" id=format!("channel-{}", channel.id)>
                        <strong>{channel.name.clone()}</strong> " "
                        <span class="status harmless">{kind_text(locale, &channel.kind)}</span>
                        <br />
                        <span>{channel.shown.clone()}</span> " · " <span>{severities}</span>
                        <br />
                        <small class="hint">
                            {match channel.created_by.clone() {
                                Some(by) => td!(locale, channel_made, when = utc_text(channel.created_ms), by = by).into_any(),
                                None => td!(locale, channel_made_at, when = utc_text(channel.created_ms)).into_any(),
                            }}
                        </small>
                        {buttons}
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="channels">{items}</ul> }.into_any()
    };
    let manage = page.can_manage.then(|| {
        view! {
            <NewChannelForm locale=locale form=page.form.clone() action=action.clone() csrf=csrf.clone() />
            <ImportForm locale=locale form=page.import_form.clone() action=format!("{action}/import") csrf=csrf.clone() />
        }
    });
    view! {
        <p class="breadcrumb">
            <a href="/">{td_string!(locale, nav_home)}</a> " › "
            <a href=client_path.clone()>{page.client_name.clone()}</a>
        </p>
        <h1>{td_string!(locale, channels_title)}</h1>
        <p class="intro">{td!(locale, channels_intro, client = page.client_name.clone())}</p>
        {notice}
        <section class="card" id="people">
            <h2>{td!(locale, channels_people_title, client = page.client_name.clone())}</h2>
            <p>{td_string!(locale, channels_people_intro)}</p>
            {page.mails_addon_needed.clone().map(|needed| view! { <crate::billing::AddOnNote locale=locale needed=needed /> })}
            {people}
        </section>
        <section class="card" id="channels">
            <h2>{td_string!(locale, channels_list_title)}</h2>
            <p>{td_string!(locale, channels_list_intro)}</p>
            {page.chat_addon_needed.clone().map(|needed| view! { <crate::billing::AddOnNote locale=locale needed=needed /> })}
            {channels}
        </section>
        <TimingCard locale=locale page=page.clone() action=format!("{action}/timing") csrf=csrf.clone() />
        <QuietCard locale=locale page=page.clone() action=format!("{action}/quiet") csrf=csrf.clone() />
        <HoursCard locale=locale page=page.clone() action=format!("{action}/hours") csrf=csrf.clone() />
        {manage}
    }
}

/// When the client is told, in one sentence.
pub fn timing_text(locale: Locale, timing: &NotifyTiming) -> String {
    fill(
        td_string!(locale, channels_timing_text),
        &[
            ("wait", &format_duration(timing.group_wait_secs)),
            ("interval", &format_duration(timing.group_interval_secs)),
            ("repeat", &format_duration(timing.repeat_interval_secs)),
        ],
    )
}

/// When the client's people and channels are told, and for agency people the form to change it.
#[component]
fn TimingCard(locale: Locale, page: ChannelsPage, action: String, csrf: String) -> impl IntoView {
    let whose = if page.own_timing {
        td_string!(locale, channels_timing_own)
    } else {
        td_string!(locale, channels_timing_usual)
    };
    let form = page.can_manage.then(|| {
        let open = page.timing_form.is_some();
        let form = page.timing_form.clone().unwrap_or_else(|| FormState {
            values: [
                ("group_wait", page.timing.group_wait_secs),
                ("group_interval", page.timing.group_interval_secs),
                ("repeat_interval", page.timing.repeat_interval_secs),
            ]
            .map(|(name, secs)| (name.to_string(), prom_duration(secs)))
            .to_vec(),
            problems: Vec::new(),
        });
        let reset = page.own_timing.then(|| {
            view! {
                <button type="submit" name="action" value="reset" class="secondary" formnovalidate=true>
                    {td_string!(locale, timing_reset)}
                </button>
            }
        });
        view! {
            <details class="section" open=open>
                <summary>{td_string!(locale, timing_change)}</summary>
                <p class="hint">{td_string!(locale, timing_hint)}</p>
                <form method="post" action=action>
                    <input type="hidden" name="csrf" value=csrf />
                    <Field locale=locale form=form.clone() id_prefix="timing" name="group_wait" label=td_string!(locale, timing_group_wait) hint=td_string!(locale, timing_group_wait_hint) />
                    <Field locale=locale form=form.clone() id_prefix="timing" name="group_interval" label=td_string!(locale, timing_group_interval) hint=td_string!(locale, timing_group_interval_hint) />
                    <Field locale=locale form=form.clone() id_prefix="timing" name="repeat_interval" label=td_string!(locale, timing_repeat_interval) hint=td_string!(locale, timing_repeat_interval_hint) />
                    <div class="actions">
                        <button type="submit" name="action" value="save">{td_string!(locale, timing_submit)}</button>
                        {reset}
                    </div>
                </form>
            </details>
        }
    });
    view! {
        <section class="card" id="timing">
            <h2>{td_string!(locale, channels_timing_title)}</h2>
            <p>{timing_text(locale, &page.timing)}</p>
            <p class="hint">{whose}</p>
            {form}
        </section>
    }
}

/// One inhibition rule in a sentence.
pub fn quiet_text(locale: Locale, rule: &InhibitRuleView) -> String {
    let template = if rule.equal.is_empty() {
        td_string!(locale, quiet_rule_text)
    } else {
        td_string!(locale, quiet_rule_text_equal)
    };
    fill(
        template,
        &[
            ("source", &rule.source),
            ("target", &rule.target),
            ("equal", &rule.equal.join(", ")),
        ],
    )
}

/// The client's inhibition rules: which alarms stay quiet while another goes on; agency people
/// add and remove them.
#[component]
fn QuietCard(locale: Locale, page: ChannelsPage, action: String, csrf: String) -> impl IntoView {
    let rules = if page.inhibit_rules.is_empty() {
        view! { <p class="empty">{td_string!(locale, quiet_none)}</p> }.into_any()
    } else {
        let items = page
            .inhibit_rules
            .iter()
            .map(|rule| {
                let delete = page.can_manage.then(|| {
                    view! {
                        <form method="post" action=format!("{action}/{}/delete", rule.id)>
                            <input type="hidden" name="csrf" value=csrf.clone() />
                            <button type="submit" class="danger">{td_string!(locale, quiet_delete)}</button>
                        </form>
                    }
                });
                view! { <li class="channel" id=format!("quiet-{}", rule.id)><span>{quiet_text(locale, rule)}</span>{delete}</li> }
            })
            .collect_view();
        view! { <ul class="channels">{items}</ul> }.into_any()
    };
    let form = page.can_manage.then(|| {
        let open = page.inhibit_form.is_some();
        let form = page.inhibit_form.clone().unwrap_or_default();
        view! {
            <details class="section" open=open>
                <summary>{td_string!(locale, quiet_new_title)}</summary>
                <p class="hint">{td_string!(locale, quiet_new_hint)}</p>
                <form method="post" action=action.clone()>
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <Field locale=locale form=form.clone() id_prefix="quiet" name="source" label=td_string!(locale, quiet_source) hint=td_string!(locale, quiet_source_hint) />
                    <Field locale=locale form=form.clone() id_prefix="quiet" name="target" label=td_string!(locale, quiet_target) hint=td_string!(locale, quiet_target_hint) />
                    <Field locale=locale form=form.clone() id_prefix="quiet" name="equal" label=td_string!(locale, quiet_equal) hint=td_string!(locale, quiet_equal_hint) required=false />
                    <button type="submit">{td_string!(locale, quiet_submit)}</button>
                </form>
            </details>
        }
    });
    view! {
        <section class="card" id="quiet">
            <h2>{td_string!(locale, quiet_title)}</h2>
            <p>{td_string!(locale, quiet_intro)}</p>
            {rules}
            {form}
        </section>
    }
}

/// A weekday's short name (ISO: Monday 1 … Sunday 7).
fn weekday_text(locale: Locale, day: u8) -> &'static str {
    match day {
        1 => td_string!(locale, weekday_1),
        2 => td_string!(locale, weekday_2),
        3 => td_string!(locale, weekday_3),
        4 => td_string!(locale, weekday_4),
        5 => td_string!(locale, weekday_5),
        6 => td_string!(locale, weekday_6),
        _ => td_string!(locale, weekday_7),
    }
}

/// Quiet hours in one sentence: when, and which alarms are not told then.
pub fn hours_text(locale: Locale, hours: &QuietHoursView) -> String {
    let days = hours
        .weekdays
        .iter()
        .map(|d| weekday_text(locale, *d))
        .collect::<Vec<_>>()
        .join(", ");
    let which = if hours.severities.is_empty() {
        td_string!(locale, hours_every_alarm).to_string()
    } else {
        // In the order of their weight: critical alarms, warnings, notices.
        let names: Vec<&str> = THRESHOLD_SEVERITIES
            .iter()
            .filter(|s| hours.severities.iter().any(|h| h == *s))
            .map(|s| match *s {
                "critical" => td_string!(locale, hours_severity_critical),
                "warning" => td_string!(locale, hours_severity_warning),
                _ => td_string!(locale, hours_severity_info),
            })
            .collect();
        fill(
            td_string!(locale, hours_some_alarms),
            &[("severities", &names.join(td_string!(locale, hours_and)))],
        )
    };
    let template = if hours.overnight {
        td_string!(locale, hours_text_overnight)
    } else {
        td_string!(locale, hours_text)
    };
    fill(
        template,
        &[
            ("days", &days),
            ("from", &hours.from),
            ("to", &hours.to),
            ("zone", &hours.time_zone),
            ("which", &which),
        ],
    )
}

/// The client's quiet hours: when alarms of some severities are not told; agency people add
/// and remove them.
#[component]
fn HoursCard(locale: Locale, page: ChannelsPage, action: String, csrf: String) -> impl IntoView {
    let list = if page.quiet_hours.is_empty() {
        view! { <p class="empty">{td_string!(locale, hours_none)}</p> }.into_any()
    } else {
        let items = page
            .quiet_hours
            .iter()
            .map(|hours| {
                let delete = page.can_manage.then(|| {
                    view! {
                        <form method="post" action=format!("{action}/{}/delete", hours.id)>
                            <input type="hidden" name="csrf" value=csrf.clone() />
                            <button type="submit" class="danger">{td_string!(locale, hours_delete)}</button>
                        </form>
                    }
                });
                let now = hours
                    .now
                    .then(|| view! { <span class="status muted">{td_string!(locale, hours_now)}</span> " " });
                view! {
                    <li class="channel" id=format!("hours-{}", hours.id)>
                        <span>{now}<strong>{hours.name.clone()}</strong> ": " {hours_text(locale, hours)}</span>
                        {delete}
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="channels">{items}</ul> }.into_any()
    };
    let form = page.can_manage.then(|| {
        let open = page.quiet_hours_form.is_some();
        let mut form = page.quiet_hours_form.clone().unwrap_or_default();
        if form.value("time_zone").is_empty() {
            form.values.push(("time_zone".into(), page.time_zone.clone()));
        }
        let chosen = |name: &str, value: &str| form.values.iter().any(|(n, v)| n == name && v == value);
        let days = (1..=7u8)
            .map(|d| {
                let id = format!("hours-day-{d}");
                let label_for = id.clone();
                let checked = chosen("day", &d.to_string()) || (!open && d <= 5);
                view! {
                    <label class="check" for=label_for>
                        <input type="checkbox" id=id name="day" value=d.to_string() checked=checked />
                        {weekday_text(locale, d)}
                    </label>
                }
            })
            .collect_view();
        let severities = THRESHOLD_SEVERITIES
            .iter()
            .map(|s| {
                let id = format!("hours-severity-{s}");
                let label_for = id.clone();
                let checked = chosen("severity", s) || (!open && *s != "critical");
                view! {
                    <label class="check" for=label_for>
                        <input type="checkbox" id=id name="severity" value=*s checked=checked />
                        {severity_text(locale, s)}
                    </label>
                }
            })
            .collect_view();
        let problem = |name: &str| {
            form.problem(name)
                .map(|p| view! { <p class="field-problem">{crate::pages::problem_message(locale, p)}</p> })
        };
        view! {
            <details class="section" open=open>
                <summary>{td_string!(locale, hours_new_title)}</summary>
                <form method="post" action=action.clone()>
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <Field locale=locale form=form.clone() id_prefix="hours" name="name" label=td_string!(locale, hours_name) />
                    <fieldset class="field">
                        <legend>{td_string!(locale, hours_days)}</legend>
                        {days}
                        {problem("day")}
                    </fieldset>
                    <div class="field-row">
                        <Field locale=locale form=form.clone() id_prefix="hours" name="from" label=td_string!(locale, hours_from) kind="time" />
                        <Field locale=locale form=form.clone() id_prefix="hours" name="to" label=td_string!(locale, hours_to) kind="time" hint=td_string!(locale, hours_to_hint) />
                    </div>
                    <Field locale=locale form=form.clone() id_prefix="hours" name="time_zone" label=td_string!(locale, hours_zone) />
                    <fieldset class="field">
                        <legend>{td_string!(locale, hours_which)}</legend>
                        {severities}
                        {problem("severity")}
                    </fieldset>
                    <button type="submit">{td_string!(locale, hours_submit)}</button>
                </form>
            </details>
        }
    });
    view! {
        <section class="card" id="quiet-hours">
            <h2>{td_string!(locale, hours_title)}</h2>
            <p>{td_string!(locale, hours_intro)}</p>
            {list}
            {form}
        </section>
    }
}

/// Seconds as Alertmanager writes a duration: `30s`, `5m`, `1h30m`, `0s`.
fn prom_duration(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut text = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            text.push_str(&format!("{n}{unit}"));
        }
    }
    if text.is_empty() { "0s".into() } else { text }
}

#[component]
fn NewChannelForm(locale: Locale, form: Option<FormState>, action: String, csrf: String) -> impl IntoView {
    let open = form.is_some();
    let form = form.unwrap_or_default();
    let kinds = CHANNEL_KINDS
        .iter()
        .map(|kind| (kind.to_string(), kind_text(locale, kind).to_string()))
        .collect();
    let chosen: Vec<String> = form
        .values
        .iter()
        .filter(|(n, _)| n == "severity")
        .map(|(_, v)| v.clone())
        .collect();
    let severities = THRESHOLD_SEVERITIES
        .iter()
        .map(|severity| {
            let id = format!("channel-severity-{severity}");
            let checked = chosen.is_empty() || chosen.iter().any(|s| s == severity);
            view! {
                <div class="field checkbox">
                    <input type="checkbox" id=id.clone() name="severity" value=*severity checked=checked />
                    <label for=id>{severity_text(locale, severity)}</label>
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="card" id="new-channel">
            <details class="section" open=open>
                <summary>{td_string!(locale, channel_new_title)}</summary>
                <p class="hint">{td_string!(locale, channel_new_hint)}</p>
                <form method="post" action=action>
                    <input type="hidden" name="csrf" value=csrf />
                    <Choice locale=locale form=form.clone() name="kind" label=td_string!(locale, channel_kind) options=kinds id_prefix="channel" />
                    <Field locale=locale form=form.clone() id_prefix="channel" name="name" label=td_string!(locale, channel_name) hint=td_string!(locale, channel_name_hint) />
                    <Field locale=locale form=form.clone() id_prefix="channel" name="target" label=td_string!(locale, channel_target) hint=td_string!(locale, channel_target_hint) />
                    <Field locale=locale form=form.clone() id_prefix="channel" name="url" label=td_string!(locale, channel_url) hint=td_string!(locale, channel_url_hint) required=false />
                    <fieldset>
                        <legend>{td_string!(locale, channel_severities)}</legend>
                        {severities}
                    </fieldset>
                    <button type="submit">{td_string!(locale, channel_submit)}</button>
                </form>
            </details>
        </section>
    }
}

/// Pasting an Alertmanager configuration (`route` and `receivers`): its receivers become
/// channels; the report lists what was not taken over.
#[component]
fn ImportForm(locale: Locale, form: Option<FormState>, action: String, csrf: String) -> impl IntoView {
    let open = form.is_some();
    let form = form.unwrap_or_default();
    let problem = form.problem("config").map(|_| form.value("config_error").to_string());
    let invalid = problem.is_some();
    view! {
        <section class="card" id="import-alertmanager">
            <details class="section" open=open>
                <summary>{td_string!(locale, channels_import_title)}</summary>
                <p class="hint">{td_string!(locale, channels_import_hint)}</p>
                <form method="post" action=action>
                    <input type="hidden" name="csrf" value=csrf />
                    <div class="field" class:invalid=invalid>
                        <label for="import-alertmanager-config">{td_string!(locale, channels_import_text)}</label>
                        <textarea id="import-alertmanager-config" name="config" rows="10" spellcheck="false">{textarea_text(form.value("config"))}</textarea>
                        {problem.map(|text| view! { <p class="field-problem" role="alert"><code>{text}</code></p> })}
                    </div>
                    <button type="submit">{td_string!(locale, channels_import_submit)}</button>
                </form>
            </details>
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timers_are_shown_as_alertmanager_writes_them() {
        assert_eq!(super::prom_duration(0), "0s");
        assert_eq!(super::prom_duration(90), "1m30s");
        assert_eq!(super::prom_duration(4 * 3600), "4h");
    }
}
