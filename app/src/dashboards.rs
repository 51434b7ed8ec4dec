//! A client's dashboards: the landing page lists every project with its environments (and how
//! each is doing) and its dashboards; a dashboard shows its panels for one environment and time
//! range, each with what it shows in plain words, a sentence about the period computed from the
//! data, and the thresholds drawn on it with their state and explanation.

use crate::dto::*;
use crate::i18n::Locale;
use crate::mail::fill;
use crate::pages::Field;
use crate::targets::utc_text;
use crate::thresholds::state_badge;
use crate::units::format_value;
use leptos::prelude::*;
use leptos_i18n::{td, td_string};

fn range_text(locale: Locale, range: &str) -> &'static str {
    match range {
        "1h" => td_string!(locale, range_1h),
        "6h" => td_string!(locale, range_6h),
        "7d" => td_string!(locale, range_7d),
        "30d" => td_string!(locale, range_30d),
        _ => td_string!(locale, range_24h),
    }
}

/// The panel's sentence about the period: its highest and lowest values and the latest, and
/// whether its first threshold's line was crossed.
pub fn panel_summary(locale: Locale, panel: &PanelView) -> String {
    if panel.kind == "alerts" {
        return alerts_summary(locale, &panel.thresholds);
    }
    let Some(stats) = &panel.stats else {
        return td_string!(locale, panel_no_data).to_string();
    };
    let value = |v: f64| format_value(v, &panel.unit, locale);
    let time = |ms: i64| utc_text(ms);
    let mut sentence = if stats.max == stats.min {
        fill(td_string!(locale, panel_summary_flat), &[("value", &value(stats.max))])
    } else {
        fill(
            td_string!(locale, panel_summary_range),
            &[
                ("max", &value(stats.max)),
                ("max_at", &time(stats.max_at)),
                ("min", &value(stats.min)),
                ("now", &value(stats.last)),
            ],
        )
    };
    let first = panel.thresholds.iter().find(|t| {
        !matches!(
            t.comparison,
            Comparison::Found | Comparison::Equal | Comparison::NotEqual
        )
    });
    if let Some(threshold) = first {
        let line = value(threshold.line);
        let text = match (threshold.crossed_at, threshold.comparison) {
            (Some(at), _) => fill(
                td_string!(locale, panel_summary_crossed),
                &[("line", &line), ("at", &time(at))],
            ),
            (None, Comparison::Above | Comparison::AtLeast) => {
                fill(td_string!(locale, panel_summary_stayed_below), &[("line", &line)])
            }
            (None, _) => fill(td_string!(locale, panel_summary_stayed_above), &[("line", &line)]),
        };
        sentence.push(' ');
        sentence.push_str(&text);
    }
    sentence
}

/// An alert list's sentence: none watched yet, all OK, or which raise the alarm.
fn alerts_summary(locale: Locale, thresholds: &[PanelThreshold]) -> String {
    let firing: Vec<&str> = thresholds
        .iter()
        .filter(|t| t.state == ThresholdState::Firing)
        .map(|t| t.name.as_str())
        .collect();
    let count = thresholds.len().to_string();
    if thresholds.is_empty() {
        td_string!(locale, alerts_none).to_string()
    } else if firing.is_empty() && thresholds.len() == 1 {
        td_string!(locale, alerts_one_ok).to_string()
    } else if firing.is_empty() {
        fill(td_string!(locale, alerts_all_ok), &[("count", &count)])
    } else {
        fill(
            td_string!(locale, alerts_firing),
            &[
                ("firing", &firing.len().to_string()),
                ("count", &count),
                ("names", &firing.join(", ")),
            ],
        )
    }
}

/// What a Grafana dashboard's import did, one sentence per line.
pub fn import_report_lines(locale: Locale, report: &DashboardImported) -> Vec<String> {
    let mut lines = vec![fill(
        td_string!(locale, dashboard_import_done),
        &[("title", &report.title), ("count", &report.panels.to_string())],
    )];
    for note in &report.notes {
        lines.push(match note {
            DashboardNote::PanelSkipped { panel, kind } => fill(
                td_string!(locale, dashboard_import_panel_skipped),
                &[("panel", panel), ("kind", kind)],
            ),
            DashboardNote::NoQuery { panel } => {
                fill(td_string!(locale, dashboard_import_no_query), &[("panel", panel)])
            }
            DashboardNote::DrawnAs { panel, kind, drawn_as } => fill(
                match drawn_as {
                    DrawnAs::Lines => td_string!(locale, dashboard_import_drawn_as_lines),
                    DrawnAs::Number => td_string!(locale, dashboard_import_drawn_as_number),
                },
                &[("panel", panel), ("kind", kind)],
            ),
            DashboardNote::Setting { panel, setting } => fill(
                td_string!(locale, dashboard_import_setting),
                &[("panel", panel), ("setting", setting)],
            ),
            DashboardNote::QueryHidden { panel, expr } => fill(
                td_string!(locale, dashboard_import_query_hidden),
                &[("panel", panel), ("expr", expr)],
            ),
            DashboardNote::QueryRefused { panel, expr, reason } => fill(
                td_string!(locale, dashboard_import_query_refused),
                &[("panel", panel), ("expr", expr), ("reason", reason)],
            ),
            DashboardNote::TooManyQueries { panel, max } => fill(
                td_string!(locale, dashboard_import_too_many_queries),
                &[("panel", panel), ("max", &max.to_string())],
            ),
            DashboardNote::TooManyPanels { max } => fill(
                td_string!(locale, dashboard_import_too_many_panels),
                &[("max", &max.to_string())],
            ),
            DashboardNote::VariableFixed { name, value } => fill(
                td_string!(locale, dashboard_import_variable),
                &[("name", name), ("value", value)],
            ),
            DashboardNote::Row { row } => fill(td_string!(locale, dashboard_import_row), &[("row", row)]),
        });
    }
    lines
}

/// The form that imports a Grafana (or Vitrine) dashboard into a project.
#[component]
fn ImportDashboard(locale: Locale, page: DashboardsPage, csrf: String) -> impl IntoView {
    let form = page.import_form.clone().unwrap_or_default();
    let projects: Vec<(String, String)> = page.projects.iter().map(|p| (p.slug.clone(), p.name.clone())).collect();
    let problem = form.problem("json").map(|p| {
        view! {
            <p class="field-problem" role="alert">
                {crate::pages::problem_message(locale, p)} " " <code>{form.value("json_error").to_string()}</code>
            </p>
        }
    });
    let invalid = problem.is_some();
    view! {
        <section class="card" id="import-dashboard">
            <h2>{td_string!(locale, dashboard_import_title)}</h2>
            <p>{td_string!(locale, dashboard_import_intro)}</p>
            <form method="post" action=format!("/clients/{}/dashboards/import#import-dashboard", page.client_slug)>
                <input type="hidden" name="csrf" value=csrf />
                <crate::thresholds::Choice locale=locale form=form.clone() name="project" label=td_string!(locale, dashboard_import_project) options=projects id_prefix="import" />
                <div class="field" class:invalid=invalid>
                    <label for="import-json">{td_string!(locale, dashboard_import_json)}</label>
                    <textarea id="import-json" name="json" rows="10" spellcheck="false">{crate::text::textarea_text(form.value("json"))}</textarea>
                    {problem}
                </div>
                <button type="submit">{td_string!(locale, dashboard_import_submit)}</button>
            </form>
        </section>
    }
}

#[component]
pub fn Dashboards(locale: Locale, page: DashboardsPage, csrf: String) -> impl IntoView {
    let client_path = format!("/clients/{}", page.client_slug);
    let imported = page.imported.clone().map(|(id, report)| {
        let lines = import_report_lines(locale, &report)
            .into_iter()
            .map(|line| view! { <li>{line}</li> })
            .collect_view();
        view! {
            <div class="alert success" role="status">
                <ul class="import-report">{lines}</ul>
                <a href=format!("{client_path}/dashboards/{id}")>{td_string!(locale, dashboard_import_open)}</a>
            </div>
        }
    });
    let projects = page
        .projects
        .iter()
        .map(|project| {
            let environments = project
                .environments
                .iter()
                .map(|env| {
                    let (class, text) = if env.firing > 0 {
                        ("status down", fill(td_string!(locale, dashboards_env_firing), &[("count", &env.firing.to_string())]))
                    } else if env.thresholds == 0 {
                        ("status harmless", td_string!(locale, dashboards_env_unwatched).to_string())
                    } else {
                        ("status up", td_string!(locale, dashboards_env_ok).to_string())
                    };
                    view! { <li><strong>{env.name.clone()}</strong> " " <span class=class>{text}</span></li> }
                })
                .collect_view();
            let first_env = project.environments.first().map(|e| e.name.clone()).unwrap_or_default();
            let dashboards = if project.dashboards.is_empty() {
                view! { <p class="empty">{td_string!(locale, dashboards_none)}</p> }.into_any()
            } else {
                project
                    .dashboards
                    .iter()
                    .map(|(id, title)| {
                        let links = project
                            .environments
                            .iter()
                            .map(|env| {
                                view! {
                                    <a href=format!("{client_path}/dashboards/{id}?environment={}", env.name)>{env.name.clone()}</a> " "
                                }
                            })
                            .collect_view();
                        view! {
                            <li class="dashboard-link">
                                <a class="dashboard-title" href=format!("{client_path}/dashboards/{id}?environment={first_env}")>{title.clone()}</a>
                                " · " {links}
                            </li>
                        }
                    })
                    .collect_view()
                    .into_any()
            };
            let add = page.can_manage.then(|| {
                view! {
                    <form method="post" action=format!("{client_path}/projects/{}/dashboards", project.slug) class="inline">
                        <input type="hidden" name="csrf" value=csrf.clone() />
                        <button type="submit" class="secondary">{td_string!(locale, dashboards_add_default)}</button>
                    </form>
                }
            });
            view! {
                <section class="card project-dashboards" id=format!("project-{}", project.slug)>
                    <h2>{project.name.clone()}</h2>
                    <ul class="environment-states">{environments}</ul>
                    <ul class="dashboards">{dashboards}</ul>
                    {add}
                </section>
            }
        })
        .collect_view();
    view! {
        <p class="breadcrumb">
            <a href="/">{td_string!(locale, nav_home)}</a> " › " <a href=client_path.clone()>{page.client_name.clone()}</a>
        </p>
        <h1>{td!(locale, dashboards_title, client = page.client_name.clone())}</h1>
        <p class="intro">{td_string!(locale, dashboards_intro)}</p>
        {imported}
        {projects}
        {page.can_manage.then(|| view! { <ImportDashboard locale=locale page=page.clone() csrf=csrf.clone() /> })}
    }
}

/// A panel's values for those who do not read charts: each series with its latest, lowest and
/// highest value, and every value as CSV.
#[component]
fn PanelTable(locale: Locale, panel: PanelView, csv: String) -> impl IntoView {
    let value = |v: f64| format_value(v, &panel.unit, locale);
    let rows = panel
        .rows
        .iter()
        .map(|row| {
            let name = if row.name.is_empty() { panel.title.clone() } else { row.name.clone() };
            view! {
                <tr>
                    <th scope="row">
                        <svg class="swatch" viewBox="0 0 1 1" aria-hidden="true"><rect width="1" height="1" fill=row.colour.clone()></rect></svg>
                        {name}
                    </th>
                    <td>{value(row.last)}</td>
                    <td>{value(row.min)}</td>
                    <td>{value(row.max)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="panel-values">
            <summary>{td_string!(locale, panel_values)}</summary>
            <table>
                <thead>
                    <tr>
                        <th scope="col">{td_string!(locale, panel_values_series)}</th>
                        <th scope="col">{td_string!(locale, panel_values_now)}</th>
                        <th scope="col">{td_string!(locale, panel_values_lowest)}</th>
                        <th scope="col">{td_string!(locale, panel_values_highest)}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <p><a href=csv download="">{td_string!(locale, panel_values_csv)}</a></p>
        </details>
    }
}

/// The markers of the period, and the form that adds one.
#[component]
fn Markers(locale: Locale, page: DashboardPage, csrf: String) -> impl IntoView {
    let client_path = format!("/clients/{}", page.client_slug);
    let items = page
        .markers
        .iter()
        .map(|m| {
            let when = if m.time_end_ms > m.time_ms {
                fill(
                    td_string!(locale, marker_from_to),
                    &[("from", &utc_text(m.time_ms)), ("to", &utc_text(m.time_end_ms))],
                )
            } else {
                utc_text(m.time_ms)
            };
            let text = if m.alarm {
                fill(td_string!(locale, marker_alarm), &[("threshold", &m.text)])
            } else {
                m.text.clone()
            };
            let delete = (page.can_mark && !m.alarm).then(|| {
                view! {
                    <form method="post" action=format!("{client_path}/markers/{}/delete", m.id) class="inline">
                        <input type="hidden" name="csrf" value=csrf.clone() />
                        <input type="hidden" name="dashboard" value=page.dashboard_id.to_string() />
                        <input type="hidden" name="environment" value=page.environment.clone() />
                        <input type="hidden" name="range" value=page.range.clone() />
                        <button type="submit" class="secondary">{td_string!(locale, marker_delete)}</button>
                    </form>
                }
            });
            view! {
                <li class="marker" class:alarm=m.alarm id=format!("marker-{}", m.id)>
                    <strong>{text}</strong> " "
                    <small class="hint">
                        {when} " · "
                        {if m.created_by.is_empty() { td_string!(locale, marker_by_api).to_string() } else { m.created_by.clone() }}
                    </small>
                    {(!m.tags.is_empty()).then(|| view! { " " {m.tags.iter().map(|t| view! { <span class="chip">{t.clone()}</span> }).collect_view()} })}
                    {delete}
                </li>
            }
        })
        .collect_view();
    let list = if page.markers.is_empty() {
        view! { <p class="empty">{td_string!(locale, markers_none)}</p> }.into_any()
    } else {
        view! { <ul class="markers">{items}</ul> }.into_any()
    };
    let form = page.can_mark.then(|| {
        let form = page.marker_form.clone().unwrap_or_default();
        let open = page.marker_form.is_some();
        view! {
            <details class="section" open=open>
                <summary>{td_string!(locale, marker_new_title)}</summary>
                <p class="hint">{td!(locale, marker_new_hint, environment = page.environment.clone())}</p>
                <form method="post" action=format!("{client_path}/dashboards/{}/markers", page.dashboard_id)>
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <input type="hidden" name="environment" value=page.environment.clone() />
                    <input type="hidden" name="range" value=page.range.clone() />
                    <Field locale=locale form=form.clone() id_prefix="marker" name="text" label=td_string!(locale, marker_text) />
                    <div class="field-row">
                        <Field locale=locale form=form.clone() id_prefix="marker" name="starts" label=td_string!(locale, marker_starts) kind="datetime-local" required=false />
                        <Field locale=locale form=form.clone() id_prefix="marker" name="ends" label=td_string!(locale, marker_ends) kind="datetime-local" required=false />
                    </div>
                    <button type="submit">{td_string!(locale, marker_submit)}</button>
                </form>
            </details>
        }
    });
    view! {
        <section class="card" id="markers">
            <h2>{td_string!(locale, markers_title)}</h2>
            <p>{td_string!(locale, markers_intro)}</p>
            {list}
            {form}
        </section>
    }
}

#[component]
pub fn Dashboard(locale: Locale, page: DashboardPage, csrf: String) -> impl IntoView {
    let client_path = format!("/clients/{}", page.client_slug);
    let here = format!("{client_path}/dashboards/{}", page.dashboard_id);
    let environments = page
        .environments
        .iter()
        .map(|env| {
            let current = *env == page.environment;
            view! {
                <li>
                    <a href=format!("{here}?environment={env}&range={}", page.range) aria-current=current.then_some("page")>{env.clone()}</a>
                </li>
            }
        })
        .collect_view();
    let ranges = DASHBOARD_RANGES
        .iter()
        .map(|range| {
            let current = *range == page.range;
            view! {
                <li>
                    <a href=format!("{here}?environment={}&range={range}", page.environment) aria-current=current.then_some("page")>{range_text(locale, range)}</a>
                </li>
            }
        })
        .collect_view();
    let panels = page
        .panels
        .iter()
        .enumerate()
        .map(|(index, panel)| {
            let summary = panel_summary(locale, panel);
            let firing = panel.thresholds.iter().any(|t| t.state == ThresholdState::Firing);
            let big = (panel.kind == "stat").then(|| {
                panel
                    .stats
                    .as_ref()
                    .map(|s| view! { <p class="stat-value">{format_value(s.last, &panel.unit, locale)}</p> })
            });
            let legends = (!panel.legends.is_empty()).then(|| {
                view! {
                    <ul class="legend">
                        {panel
                            .legends
                            .iter()
                            .map(|(colour, name)| {
                                // A fill attribute, not a style: the Content-Security-Policy allows no inline styles.
                                view! {
                                    <li>
                                        <svg class="swatch" viewBox="0 0 1 1" aria-hidden="true"><rect width="1" height="1" fill=colour.clone()></rect></svg>
                                        {name.clone()}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            });
            let thresholds = (!panel.thresholds.is_empty()).then(|| {
                view! {
                    <ul class="panel-thresholds">
                        {panel
                            .thresholds
                            .iter()
                            .map(|t| {
                                view! {
                                    <li>
                                        <details>
                                            <summary>{state_badge(locale, t.state)} " " {t.name.clone()}</summary>
                                            <p>{t.meaning.clone()}</p>
                                            {(!t.action.is_empty()).then(|| view! { <p><strong>{td_string!(locale, explanation_action)}</strong> " " {t.action.clone()}</p> })}
                                            <p><a href=format!("{client_path}/thresholds#threshold-{}", t.id)>{td_string!(locale, panel_threshold_link)}</a></p>
                                        </details>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            });
            let body = match &panel.error {
                Some(error) => view! { <p class="alert error">{td_string!(locale, panel_error)} " " <code>{error.clone()}</code></p> }.into_any(),
                None if panel.kind == "alerts" => view! { <p class="panel-summary">{summary}</p> }.into_any(),
                None => view! {
                    {big}
                    <div class="chart" class:chart-desk=panel.chart_svg_phone.is_some() inner_html=panel.chart_svg.clone()></div>
                    {panel.chart_svg_phone.clone().map(|svg| view! { <div class="chart chart-phone" inner_html=svg></div> })}
                    {legends}
                    <p class="panel-summary">{summary}</p>
                    <PanelTable locale=locale panel=panel.clone() csv=format!("{here}/panels/{index}/csv?environment={}&range={}", page.environment, page.range) />
                }
                .into_any(),
            };
            view! {
                <article class=format!("card panel span-{} {}", panel.width.clamp(1, 24), panel.kind) class:firing=firing>
                    <h2>{panel.title.clone()}</h2>
                    <p class="panel-explanation">{panel.explanation.clone()}</p>
                    {body}
                    {thresholds}
                </article>
            }
        })
        .collect_view();
    view! {
        <p class="breadcrumb">
            <a href="/">{td_string!(locale, nav_home)}</a> " › "
            <a href=client_path.clone()>{page.client_name.clone()}</a> " › "
            <a href=format!("{client_path}/dashboards")>{td_string!(locale, dashboards_link)}</a>
        </p>
        <h1>{page.title.clone()}</h1>
        <p class="intro">{page.description.clone()}</p>
        <nav class="dashboard-controls" aria-label=td_string!(locale, dashboard_controls)>
            <p>{td!(locale, dashboard_place, project = page.project_name.clone(), until = utc_text(page.end_ms))}</p>
            <ul class="tabs environments" aria-label=td_string!(locale, dashboard_environment)>{environments}</ul>
            <ul class="tabs ranges" aria-label=td_string!(locale, dashboard_range)>{ranges}</ul>
        </nav>
        <div class="panels">{panels}</div>
        <Markers locale=locale page=page.clone() csrf=csrf />
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(stats: Option<PanelStats>, crossed_at: Option<i64>) -> PanelView {
        PanelView {
            kind: "timeseries".into(),
            title: "Errors".into(),
            explanation: String::new(),
            width: 12,
            chart_svg: String::new(),
            chart_svg_phone: None,
            rows: Vec::new(),
            unit: "percentunit".into(),
            legends: Vec::new(),
            stats,
            thresholds: vec![PanelThreshold {
                id: 1,
                name: "Error rate".into(),
                state: ThresholdState::Ok,
                comparison: Comparison::Above,
                line: 0.03,
                meaning: String::new(),
                action: String::new(),
                crossed_at,
            }],
            error: None,
        }
    }

    const AT: i64 = 1_700_000_000_000;

    #[test]
    fn the_sentence_says_the_period_in_the_readers_language() {
        let stats = PanelStats {
            last: 0.001,
            max: 0.004,
            max_at: AT,
            min: 0.0,
            min_at: AT - 3_600_000,
        };
        let en = panel_summary(Locale::en, &panel(Some(stats.clone()), None));
        assert_eq!(
            en,
            "Highest 0.4% at 2023-11-14 22:13:20 UTC, lowest 0%; now 0.1%. It never went above the alarm line of 3%."
        );
        let de = panel_summary(Locale::de, &panel(Some(stats.clone()), Some(AT)));
        assert!(
            de.contains("0,4\u{a0}%") && de.contains("3\u{a0}%") && de.contains("2023-11-14 22:13"),
            "{de}"
        );
        let fr = panel_summary(Locale::fr, &panel(None, None));
        assert_eq!(fr, "Aucune donnée sur cette période.");
        let mut list = panel(None, None);
        list.kind = "alerts".into();
        assert_eq!(panel_summary(Locale::en, &list), "The threshold is OK.");
        list.thresholds[0].state = ThresholdState::Firing;
        assert_eq!(panel_summary(Locale::en, &list), "1 of 1 raise the alarm: Error rate.");
        list.thresholds.clear();
        assert_eq!(
            panel_summary(Locale::de, &list),
            "Für diese Umgebung sind noch keine Grenzwerte eingerichtet."
        );
    }
}
