//! A client's thresholds: for each, in plain words, what it watches, when it raises the alarm,
//! what that means for the client, what the agency does and who is told; its state now and its
//! recent history. Agency people add thresholds from templates (texts pre-filled, editable)
//! and delete them.

use crate::dto::*;
use crate::i18n::Locale;
use crate::mail::fill;
use crate::pages::{Field, problem_message};
use crate::targets::utc_text;
use crate::text::textarea_text;
use crate::units::{format_duration, format_value};
use leptos::prelude::*;
use leptos_i18n::{td, td_string};

#[component]
pub fn Thresholds(locale: Locale, page: ThresholdsPage, csrf: String) -> impl IntoView {
    let client_path = format!("/clients/{}", page.client_slug);
    let action = format!("{client_path}/thresholds");
    let notice = page.notice.clone().map(|notice| {
        let text = match notice {
            ThresholdNotice::Imported(report) => {
                let lines = import_report_lines(locale, &report)
                    .into_iter()
                    .map(|line| view! { <li>{line}</li> })
                    .collect_view();
                view! { <ul class="import-report">{lines}</ul> }.into_any()
            }
            ThresholdNotice::Created { name } => td!(locale, notice_threshold_created, name = name.clone()).into_any(),
            ThresholdNotice::Deleted { name } => td!(locale, notice_threshold_deleted, name = name.clone()).into_any(),
            ThresholdNotice::Muted { until_ms } => td!(locale, notice_muted, until = utc_text(until_ms)).into_any(),
            ThresholdNotice::MaintenancePlanned { starts_ms } => {
                td!(locale, notice_maintenance_planned, starts = utc_text(starts_ms)).into_any()
            }
            ThresholdNotice::SilenceEnded => td!(locale, notice_silence_ended).into_any(),
            ThresholdNotice::RecordingAdded { record } => {
                td!(locale, notice_recording_added, record = record.clone()).into_any()
            }
            ThresholdNotice::RecordingDeleted { record } => {
                td!(locale, notice_recording_deleted, record = record.clone()).into_any()
            }
        };
        view! { <p class="alert success" role="status">{text}</p> }
    });
    let firing = page
        .thresholds
        .iter()
        .filter(|t| t.state == ThresholdState::Firing)
        .count();
    let alarm = firing > 0;
    let summary = if page.thresholds.is_empty() {
        td_string!(locale, thresholds_none).to_string()
    } else if firing == 0 {
        td_string!(locale, thresholds_all_ok).to_string()
    } else {
        td_string!(locale, thresholds_some_firing).to_string()
    };
    let cards = page
        .thresholds
        .iter()
        .cloned()
        .map(|t| {
            view! {
                <ThresholdCard locale=locale threshold=t can_manage=page.can_manage can_silence=page.can_silence client_path=client_path.clone() csrf=csrf.clone() />
            }
        })
        .collect_view();
    view! {
        <p class="breadcrumb">
            <a href=client_path.clone()>{td!(locale, targets_back, client = page.client_name.clone())}</a>
        </p>
        <h1>{td!(locale, thresholds_heading, client = page.client_name.clone())}</h1>
        <p class="intro">{td_string!(locale, thresholds_intro)}</p>
        {notice}
        <p class="summary" class:alarm=alarm role="status">{summary}</p>
        <div class="thresholds">{cards}</div>
        <Silences locale=locale page=page.clone() client_path=client_path.clone() csrf=csrf.clone() />
        <Recordings locale=locale page=page.clone() client_path=client_path.clone() csrf=csrf.clone() />
        {page.can_manage.then(|| view! { <NewThreshold locale=locale page=page.clone() action=action.clone() csrf=csrf.clone() /> })}
    }
}

/// What a rule file's import did, one sentence per line: made, not made and why, left out.
pub fn import_report_lines(locale: Locale, report: &RulesImported) -> Vec<String> {
    let mut lines = vec![fill(
        td_string!(locale, rules_import_created),
        &[
            ("count", &report.created.len().to_string()),
            ("names", &report.created.join(", ")),
        ],
    )];
    if !report.recorded.is_empty() {
        lines.push(fill(
            td_string!(locale, rules_import_recorded),
            &[
                ("count", &report.recorded.len().to_string()),
                ("names", &report.recorded.join(", ")),
            ],
        ));
    }
    for (name, why) in &report.skipped {
        let why = match why {
            SkipReason::Exists => td_string!(locale, rules_import_skip_exists),
            SkipReason::TooMany => td_string!(locale, rules_import_skip_too_many),
        };
        lines.push(fill(
            td_string!(locale, rules_import_skipped),
            &[("name", name), ("why", why)],
        ));
    }
    for note in &report.notes {
        lines.push(match note {
            ImportNote::GroupInterval { group, interval } => fill(
                td_string!(locale, rules_import_note_interval),
                &[("group", group), ("interval", interval)],
            ),
            ImportNote::Label { rule, label } => fill(
                td_string!(locale, rules_import_note_label),
                &[("rule", rule), ("label", label)],
            ),
            ImportNote::Annotation { rule, annotation } => fill(
                td_string!(locale, rules_import_note_annotation),
                &[("rule", rule), ("annotation", annotation)],
            ),
            ImportNote::KeepFiringFor { rule, duration } => fill(
                td_string!(locale, rules_import_note_keep_firing),
                &[("rule", rule), ("duration", duration)],
            ),
        });
    }
    lines
}

/// "above", "at least", … in the reader's language.
pub(crate) fn comparison_text(locale: Locale, comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::Above => td_string!(locale, comparison_above),
        Comparison::AtLeast => td_string!(locale, comparison_at_least),
        Comparison::Below => td_string!(locale, comparison_below),
        Comparison::AtMost => td_string!(locale, comparison_at_most),
        Comparison::Equal => td_string!(locale, comparison_equal),
        Comparison::NotEqual => td_string!(locale, comparison_not_equal),
        Comparison::Found => td_string!(locale, comparison_found),
    }
}

pub(crate) fn state_badge(locale: Locale, state: ThresholdState) -> impl IntoView {
    let (class, text) = match state {
        ThresholdState::Ok => ("status up", td_string!(locale, threshold_state_ok)),
        ThresholdState::Pending => ("status pending", td_string!(locale, threshold_state_pending)),
        ThresholdState::Firing => ("status down", td_string!(locale, threshold_state_firing)),
        ThresholdState::Silenced => ("status muted", td_string!(locale, threshold_state_silenced)),
    };
    view! { <span class=class>{text}</span> }
}

pub(crate) fn severity_text(locale: Locale, severity: &str) -> &'static str {
    match severity {
        "critical" => td_string!(locale, severity_critical),
        "warning" => td_string!(locale, severity_warning),
        _ => td_string!(locale, severity_info),
    }
}

#[component]
fn ThresholdCard(
    locale: Locale,
    threshold: ThresholdView,
    can_manage: bool,
    can_silence: bool,
    client_path: String,
    csrf: String,
) -> impl IntoView {
    let t = threshold;
    let action = format!("{client_path}/thresholds");
    let place = match &t.environment {
        Some(environment) => format!("{} · {environment}", t.project).into_any(),
        None => td!(locale, threshold_whole_project, project = t.project.clone()).into_any(),
    };
    let rule = if t.comparison == Comparison::Found {
        td!(locale, threshold_rule_found, duration = format_duration(t.for_secs)).into_any()
    } else {
        td!(
            locale,
            threshold_rule,
            comparison = comparison_text(locale, t.comparison),
            value = format_value(t.value, &t.unit, locale),
            duration = format_duration(t.for_secs)
        )
        .into_any()
    };
    let now = match (t.state, t.value_now) {
        (ThresholdState::Ok, _) | (_, None) => None,
        (state, Some(value)) => {
            let value = format_value(value, &t.unit, locale);
            let since = utc_text(t.since_ms);
            Some(if state == ThresholdState::Firing {
                td!(locale, threshold_firing_since, value = value, since = since).into_any()
            } else {
                td!(locale, threshold_pending_since, value = value, since = since).into_any()
            })
        }
    };
    let warning = t
        .warning
        .map(|w| td!(locale, threshold_warning_line, value = format_value(w, &t.unit, locale)));
    let mails = (!t.mails.is_empty()).then(|| {
        let rows = t
            .mails
            .iter()
            .map(|m| {
                let what = if m.alarm {
                    td!(locale, mails_alarm_sent, count = m.recipients).into_any()
                } else {
                    td!(locale, mails_resolved_sent, count = m.recipients).into_any()
                };
                let waiting = (m.delivered < m.recipients)
                    .then(|| view! { " " <span class="hint">{td!(locale, mails_waiting, count = m.recipients - m.delivered)}</span> });
                view! { <li><time>{utc_text(m.at_ms)}</time> " " {what} {waiting}</li> }
            })
            .collect_view();
        view! {
            <h3 class="history-mails">{td_string!(locale, threshold_mails)}</h3>
            <ul>{rows}</ul>
        }
    });
    let history = (!t.history.is_empty()).then(|| {
        let unit = t.unit.clone();
        let rows = t
            .history
            .iter()
            .map(|(state, value, at)| {
                let what = match state {
                    ThresholdState::Firing | ThresholdState::Silenced => td_string!(locale, history_firing),
                    ThresholdState::Pending => td_string!(locale, history_pending),
                    ThresholdState::Ok => td_string!(locale, history_resolved),
                };
                view! { <li><time>{utc_text(*at)}</time> " " {what} " (" {format_value(*value, &unit, locale)} ")"</li> }
            })
            .collect_view();
        view! {
            <details class="history">
                <summary>{td_string!(locale, threshold_history)}</summary>
                <ul>{rows}</ul>
                {mails}
            </details>
        }
    });
    // The parts written; an imported rule may have only its meaning yet.
    let explanation = [
        (td_string!(locale, explanation_meaning), t.meaning.clone()),
        (td_string!(locale, explanation_action), t.action.clone()),
        (td_string!(locale, explanation_audience), t.audience.clone()),
    ]
    .into_iter()
    .filter(|(_, text)| !text.trim().is_empty())
    .map(|(title, text)| view! { <dt>{title}</dt><dd>{text}</dd> })
    .collect_view();
    let muted = t.muted.clone().map(|(until, by, comment)| {
        let why = (!comment.is_empty()).then(|| view! { " " <q>{comment}</q> });
        view! { <p class="muted-note" role="status">{td!(locale, threshold_muted_until, until = utc_text(until), by = by)} {why}</p> }
    });
    let mute = (can_silence && t.muted.is_none()).then(|| {
        let options = MUTE_HOURS
            .iter()
            .map(|hours| view! { <option value=hours.to_string()>{mute_for_text(locale, *hours)}</option> })
            .collect_view();
        let id = t.id;
        view! {
            <details class="mute">
                <summary>{td_string!(locale, mute_title)}</summary>
                <p class="hint">{td_string!(locale, mute_hint)}</p>
                <form method="post" action=format!("{client_path}/silences") class="inline">
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <input type="hidden" name="threshold" value=id.to_string() />
                    <div class="field">
                        <label for=format!("mute-hours-{id}")>{td_string!(locale, mute_duration)}</label>
                        <select id=format!("mute-hours-{id}") name="hours">{options}</select>
                    </div>
                    <div class="field">
                        <label for=format!("mute-comment-{id}")>{td_string!(locale, mute_comment)}</label>
                        <input id=format!("mute-comment-{id}") name="comment" type="text" maxlength="500" />
                    </div>
                    <button type="submit" class="secondary">{td_string!(locale, mute_submit)}</button>
                </form>
            </details>
        }
    });
    let tested = t
        .preview
        .clone()
        .map(|preview| view! { <Preview locale=locale preview=preview unit=t.unit.clone() /> });
    let test = can_manage.then(|| {
        view! {
            <form method="post" action=format!("{action}/{}/test#threshold-{}", t.id, t.id)>
                <input type="hidden" name="csrf" value=csrf.clone() />
                <button type="submit" class="secondary">{td_string!(locale, threshold_test)}</button>
            </form>
        }
    });
    let delete = can_manage.then(|| {
        view! {
            <form method="post" action=format!("{action}/{}/delete", t.id)>
                <input type="hidden" name="csrf" value=csrf />
                <button type="submit" class="danger">{td_string!(locale, threshold_delete)}</button>
            </form>
        }
    });
    view! {
        <article class="card threshold" class:firing=t.state == ThresholdState::Firing class:silenced=t.state == ThresholdState::Silenced id=format!("threshold-{}", t.id)>
            <h2>{t.name.clone()} " " {state_badge(locale, t.state)}</h2>
            <p class="hint">{place} " · " {severity_text(locale, &t.severity)}</p>
            <p class="rule">{rule}</p>
            {warning.map(|w| view! { <p class="hint">{w}</p> })}
            {now.map(|text| view! { <p class="now" role="status">{text}</p> })}
            {muted}
            <dl class="explanation">{explanation}</dl>
            {history}
            <details class="expression">
                <summary>{td_string!(locale, threshold_expression)}</summary>
                <p class="hint">{td_string!(locale, threshold_expression_hint)}</p>
                <pre><code>{t.effective_expr.clone()}</code></pre>
            </details>
            {tested}
            {mute}
            <div class="actions">{test} {delete}</div>
        </article>
    }
}

/// A threshold tried out: the last day's chart with the line, the alarms it would have raised in
/// the last week, and what it says now.
#[component]
fn Preview(locale: Locale, preview: ThresholdPreview, unit: String) -> impl IntoView {
    if let Some(error) = preview.error {
        return view! {
            <section class="preview" role="status">
                <h3>{td_string!(locale, preview_title)}</h3>
                <p class="alert error">{td_string!(locale, preview_failed)} " " <code>{error}</code></p>
            </section>
        }
        .into_any();
    }
    let now = match preview.value_now {
        None => td_string!(locale, preview_no_value).to_string().into_any(),
        Some(value) => {
            let value = format_value(value, &unit, locale);
            if preview.crossed_now {
                td!(locale, preview_now_crossed, value = value).into_any()
            } else {
                td!(locale, preview_now_fine, value = value).into_any()
            }
        }
    };
    view! {
        <section class="preview" role="status">
            <h3>{td_string!(locale, preview_title)}</h3>
            <figure class="chart-figure">
                <div class="chart-box" inner_html=preview.chart_svg></div>
                <figcaption>{td_string!(locale, preview_chart_caption)}</figcaption>
            </figure>
            <p class="preview-week">{td!(locale, preview_week, count = preview.alarms_in_week)}</p>
            <p>{now}</p>
        </section>
    }
    .into_any()
}

/// "for 1 hour", "for 1 day", … of [`MUTE_HOURS`].
fn mute_for_text(locale: Locale, hours: i64) -> &'static str {
    match hours {
        1 => td_string!(locale, mute_for_1h),
        4 => td_string!(locale, mute_for_4h),
        24 => td_string!(locale, mute_for_1d),
        _ => td_string!(locale, mute_for_1w),
    }
}

/// The mutes in effect, the planned maintenance and the recently ended ones; who may, ends them
/// early and plans a maintenance.
#[component]
fn Silences(locale: Locale, page: ThresholdsPage, client_path: String, csrf: String) -> impl IntoView {
    let rows = page
        .silences
        .iter()
        .map(|s| {
            let (class, state) = match s.state {
                SilenceState::Active => ("status muted", td_string!(locale, silence_active)),
                SilenceState::Planned => ("status pending", td_string!(locale, silence_planned)),
                SilenceState::Ended => ("status harmless", td_string!(locale, silence_ended)),
            };
            let covers = if s.thresholds.is_empty() {
                view! { <code>{s.matchers.join(", ")}</code> }.into_any()
            } else {
                s.thresholds.join(", ").into_any()
            };
            let end = (page.can_silence && s.state != SilenceState::Ended).then(|| {
                view! {
                    <form method="post" action=format!("{client_path}/silences/{}/expire", s.id)>
                        <input type="hidden" name="csrf" value=csrf.clone() />
                        <button type="submit" class="secondary">
                            {if s.state == SilenceState::Planned { td_string!(locale, silence_cancel) } else { td_string!(locale, silence_end) }}
                        </button>
                    </form>
                }
            });
            view! {
                <li class="silence" id=format!("silence-{}", s.id)>
                    <span class=class>{state}</span> " "
                    <strong>{covers}</strong>
                    <br />
                    <small class="hint">
                        {td!(locale, silence_when, from = utc_text(s.starts_ms), to = utc_text(s.ends_ms), by = s.created_by.clone())}
                    </small>
                    {(!s.comment.is_empty()).then(|| view! { <p>{s.comment.clone()}</p> })}
                    {end}
                </li>
            }
        })
        .collect_view();
    let list = if page.silences.is_empty() {
        view! { <p class="empty">{td_string!(locale, silences_none)}</p> }.into_any()
    } else {
        view! { <ul class="silences">{rows}</ul> }.into_any()
    };
    let form = page.can_silence.then(|| {
        let form = page.maintenance_form.clone().unwrap_or_default();
        let mut places = vec![("*".to_string(), td_string!(locale, maintenance_everything).to_string())];
        places.extend(page.places.iter().cloned());
        view! {
            <details class="maintenance" open=page.maintenance_form.is_some()>
                <summary>{td_string!(locale, maintenance_title)}</summary>
                <p class="hint">{td_string!(locale, maintenance_hint)}</p>
                <form method="post" action=format!("{client_path}/silences")>
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <Choice locale=locale form=form.clone() name="place" label=td_string!(locale, maintenance_place) options=places id_prefix="maintenance" />
                    <div class="field-row">
                        <Field locale=locale form=form.clone() id_prefix="maintenance" name="starts" label=td_string!(locale, maintenance_starts) kind="datetime-local" />
                        <Field locale=locale form=form.clone() id_prefix="maintenance" name="ends" label=td_string!(locale, maintenance_ends) kind="datetime-local" />
                    </div>
                    <Field locale=locale form=form.clone() id_prefix="maintenance" name="comment" label=td_string!(locale, maintenance_comment) />
                    <button type="submit">{td_string!(locale, maintenance_submit)}</button>
                </form>
            </details>
        }
    });
    view! {
        <section class="card" id="silences">
            <h2>{td_string!(locale, silences_title)}</h2>
            <p>{td_string!(locale, silences_intro)}</p>
            {list}
            {form}
        </section>
    }
}

/// The client's recording rules: what each computes, as evaluated, and how its last run went;
/// agency people add and remove them.
#[component]
fn Recordings(locale: Locale, page: ThresholdsPage, client_path: String, csrf: String) -> impl IntoView {
    let rows = page
        .recording_rules
        .iter()
        .map(|r| {
            let last = match (&r.error, r.last_ms) {
                (_, 0) => view! { <small class="hint">{td_string!(locale, recording_never)}</small> }.into_any(),
                (Some(error), _) => view! {
                    <p class="field-problem" role="alert">
                        {fill(td_string!(locale, recording_failed), &[("error", error)])}
                    </p>
                }
                .into_any(),
                (None, last_ms) => view! {
                    <small class="hint">
                        {fill(
                            td_string!(locale, recording_last),
                            &[("when", &utc_text(last_ms)), ("count", &r.series.to_string())],
                        )}
                    </small>
                }
                .into_any(),
            };
            let labels = (!r.labels.is_empty()).then(|| {
                let text = r
                    .labels
                    .iter()
                    .map(|(n, v)| format!("{n}=\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ");
                view! {
                    <dt>{td_string!(locale, recording_labels_set)}</dt>
                    <dd><code>{text}</code></dd>
                }
            });
            let remove = page.can_manage.then(|| {
                view! {
                    <form method="post" action=format!("{client_path}/recordings/{}/delete", r.id)>
                        <input type="hidden" name="csrf" value=csrf.clone() />
                        <button type="submit" class="secondary">{td_string!(locale, recording_delete)}</button>
                    </form>
                }
            });
            view! {
                <li class="recording" id=format!("recording-{}", r.id)>
                    <strong><code>{r.record.clone()}</code></strong> " · " {r.place.clone()}
                    <dl>
                        <dt>{td_string!(locale, recording_effective)}</dt>
                        <dd><code>{r.effective.clone()}</code></dd>
                        {labels}
                    </dl>
                    {last}
                    {remove}
                </li>
            }
        })
        .collect_view();
    let list = if page.recording_rules.is_empty() {
        view! { <p class="empty">{td_string!(locale, recordings_none)}</p> }.into_any()
    } else {
        view! { <ul class="recordings">{rows}</ul> }.into_any()
    };
    let form = page.can_manage.then(|| {
        let form = page.recording_form.clone().unwrap_or_default();
        view! {
            <details class="new-recording" open=page.recording_form.is_some()>
                <summary>{td_string!(locale, recording_add_title)}</summary>
                <form method="post" action=format!("{client_path}/recordings#recordings")>
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <Choice locale=locale form=form.clone() name="place" label=td_string!(locale, recording_place) options=page.places.clone() id_prefix="recording" />
                    <Field locale=locale form=form.clone() id_prefix="recording" name="record" label=td_string!(locale, recording_record) />
                    <TextArea locale=locale form=form.clone() name="expr" label=td_string!(locale, recording_expr) rows=2 id_prefix="recording" />
                    <Field locale=locale form=form.clone() id_prefix="recording" name="labels" label=td_string!(locale, recording_labels) hint=td_string!(locale, recording_labels_hint) required=false />
                    <button type="submit">{td_string!(locale, recording_submit)}</button>
                </form>
            </details>
        }
    });
    view! {
        <section class="card" id="recordings">
            <h2>{td_string!(locale, recordings_title)}</h2>
            <p>{td_string!(locale, recordings_intro)}</p>
            {list}
            {form}
        </section>
    }
}

/// A labelled choice that keeps what was chosen and shows its problem.
#[component]
pub(crate) fn Choice(
    locale: Locale,
    form: FormState,
    name: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    /// Prefix of the element id, unique on the page.
    #[prop(default = "threshold")]
    id_prefix: &'static str,
) -> impl IntoView {
    let id = format!("{id_prefix}-{name}");
    let chosen = form.value(name).to_string();
    let problem = form.problem(name).map(|p| problem_message(locale, p));
    view! {
        <div class="field" class:invalid=problem.is_some()>
            <label for=id.clone()>{label}</label>
            <select id=id name=name>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let selected = value == chosen;
                        view! { <option value=value selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
            {problem.map(|text| view! { <p class="field-problem">{text}</p> })}
        </div>
    }
}

/// A labelled text area that keeps what was typed and shows its problem.
#[component]
pub(crate) fn TextArea(
    locale: Locale,
    form: FormState,
    #[prop(into)] name: String,
    label: &'static str,
    #[prop(default = 3)] rows: u32,
    #[prop(optional)] hint: Option<&'static str>,
    /// Prefix of the element id, unique on the page.
    #[prop(default = "threshold")]
    id_prefix: &'static str,
) -> impl IntoView {
    let id = format!("{id_prefix}-{name}");
    let problem = form.problem(&name).map(|p| problem_message(locale, p));
    let value = textarea_text(form.value(&name));
    view! {
        <div class="field" class:invalid=problem.is_some()>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <small class="hint">{hint}</small> })}
            <textarea id=id name=name rows=rows>{value}</textarea>
            {problem.map(|text| view! { <p class="field-problem">{text}</p> })}
        </div>
    }
}

#[component]
fn NewThreshold(locale: Locale, page: ThresholdsPage, action: String, csrf: String) -> impl IntoView {
    let chooser = view! {
        <form method="get" action=format!("{action}#new-threshold") class="inline">
            <div class="field">
                <label for="threshold-template-choice">{td_string!(locale, threshold_template)}</label>
                <select id="threshold-template-choice" name="template">
                    {page
                        .templates
                        .iter()
                        .cloned()
                        .map(|(id, name)| view! { <option value=id>{name}</option> })
                        .collect_view()}
                </select>
            </div>
            <button type="submit" class="secondary">{td_string!(locale, threshold_template_use)}</button>
        </form>
    };
    let form = page.form.clone().map(|form| {
        let comparisons = Comparison::ALL
            .iter()
            .map(|c| match c {
                Comparison::Found => (c.op().to_string(), comparison_text(locale, *c).to_string()),
                _ => (c.op().to_string(), format!("{} ({})", comparison_text(locale, *c), c.op())),
            })
            .collect::<Vec<_>>();
        let severities = THRESHOLD_SEVERITIES
            .iter()
            .map(|s| (s.to_string(), severity_text(locale, s).to_string()))
            .collect::<Vec<_>>();
        let units = THRESHOLD_UNITS
            .iter()
            .map(|u| (u.to_string(), u.to_string()))
            .collect::<Vec<_>>();
        let languages = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
            .into_iter()
            .map(|(tag, language)| {
                view! {
                    <fieldset lang=tag>
                        <legend>{language}</legend>
                        <TextArea locale=locale form=form.clone() name=format!("meaning_{tag}") label=td_string!(locale, explanation_meaning) />
                        <TextArea locale=locale form=form.clone() name=format!("action_{tag}") label=td_string!(locale, explanation_action) />
                        <TextArea locale=locale form=form.clone() name=format!("audience_{tag}") label=td_string!(locale, explanation_audience) rows=2 />
                    </fieldset>
                }
            })
            .collect_view();
        view! {
            <form method="post" action=action.clone()>
                <input type="hidden" name="csrf" value=csrf.clone() />
                <input type="hidden" name="template" value=form.value("template").to_string() />
                <Choice locale=locale form=form.clone() name="place" label=td_string!(locale, threshold_place) options=page.places.clone() />
                <Field locale=locale form=form.clone() id_prefix="threshold" name="name" label=td_string!(locale, threshold_name) />
                <TextArea locale=locale form=form.clone() name="expr".to_string() label=td_string!(locale, threshold_expr) rows=2 />
                <p class="hint">{td_string!(locale, threshold_expr_hint)}</p>
                <div class="field-row">
                    <Choice locale=locale form=form.clone() name="comparator" label=td_string!(locale, threshold_comparator) options=comparisons />
                    <Field locale=locale form=form.clone() id_prefix="threshold" name="value" label=td_string!(locale, threshold_value) />
                    <Field locale=locale form=form.clone() id_prefix="threshold" name="warning" label=td_string!(locale, threshold_warning) required=false />
                    <Choice locale=locale form=form.clone() name="unit" label=td_string!(locale, threshold_unit) options=units />
                </div>
                <div class="field-row">
                    <Field locale=locale form=form.clone() id_prefix="threshold" name="for" label=td_string!(locale, threshold_for) hint=td_string!(locale, threshold_for_hint) />
                    <Choice locale=locale form=form.clone() name="severity" label=td_string!(locale, threshold_severity) options=severities />
                </div>
                <h3>{td_string!(locale, threshold_explanations)}</h3>
                <p class="hint">{td_string!(locale, threshold_explanations_hint)}</p>
                {languages}
                {page.preview.clone().map(|preview| view! { <Preview locale=locale preview=preview unit=form.value("unit").to_string() /> })}
                <div class="actions">
                    <button type="submit" class="secondary" formaction=format!("{action}/preview#new-threshold")>{td_string!(locale, threshold_try)}</button>
                    <button type="submit">{td_string!(locale, threshold_create)}</button>
                </div>
            </form>
        }
    });
    let import_form = page.import_form.clone().unwrap_or_default();
    let problem = import_form
        .problem("rules")
        .map(|_| import_form.value("rules_error").to_string());
    let invalid = problem.is_some();
    view! {
        <section class="card" id="new-threshold">
            <h2>{td_string!(locale, threshold_new_title)}</h2>
            <p>{td_string!(locale, threshold_new_intro)}</p>
            {chooser}
            {form}
        </section>
        <section class="card" id="import-rules">
            <h2>{td_string!(locale, rules_import_title)}</h2>
            <p>{td_string!(locale, rules_import_intro)}</p>
            <form method="post" action=format!("{action}/import#import-rules")>
                <input type="hidden" name="csrf" value=csrf.clone() />
                <Choice locale=locale form=import_form.clone() name="place" label=td_string!(locale, threshold_place) options=page.places.clone() id_prefix="import" />
                <div class="field" class:invalid=invalid>
                    <label for="import-rules-text">{td_string!(locale, rules_import_text)}</label>
                    <textarea id="import-rules-text" name="rules" rows="10" spellcheck="false">{textarea_text(import_form.value("rules"))}</textarea>
                    {problem.map(|text| view! { <p class="field-problem" role="alert"><code>{text}</code></p> })}
                </div>
                <button type="submit">{td_string!(locale, rules_import_submit)}</button>
            </form>
        </section>
    }
}
