//! A client's public status page: a whole document with no script, no cookie and nothing
//! from another site, small enough to load on a phone during an outage. The banner says how
//! things are now, each component has its state, its uptime over 30 and 90 days and one bar
//! per day (its colour the day's worst state, the details in the bar's title and, for the
//! days with problems, in a list one can open).

use crate::dto::*;
use crate::i18n::Locale;
use crate::units::decimal;
use leptos::prelude::*;
use leptos_i18n::Locale as _;
use leptos_i18n::td_string;

/// What a state is called on the page.
pub fn state_text(locale: Locale, state: ComponentState) -> &'static str {
    match state {
        ComponentState::Operational => td_string!(locale, status_operational),
        ComponentState::UnderMaintenance => td_string!(locale, status_under_maintenance),
        ComponentState::DegradedPerformance => td_string!(locale, status_degraded),
        ComponentState::PartialOutage => td_string!(locale, status_partial),
        ComponentState::MajorOutage => td_string!(locale, status_major),
    }
}

/// What the banner says for the worst state.
fn banner_text(locale: Locale, state: ComponentState) -> &'static str {
    match state {
        ComponentState::Operational => td_string!(locale, status_banner_operational),
        ComponentState::UnderMaintenance => td_string!(locale, status_banner_maintenance),
        ComponentState::DegradedPerformance => td_string!(locale, status_banner_degraded),
        ComponentState::PartialOutage => td_string!(locale, status_banner_partial),
        ComponentState::MajorOutage => td_string!(locale, status_banner_major),
    }
}

/// What an incident's status is called.
pub fn incident_status_text(locale: Locale, status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Investigating => td_string!(locale, incident_investigating),
        IncidentStatus::Identified => td_string!(locale, incident_identified),
        IncidentStatus::Monitoring => td_string!(locale, incident_monitoring),
        IncidentStatus::Resolved => td_string!(locale, incident_resolved),
    }
}

/// The colour of an incident's impact.
fn impact_class(impact: &str) -> &'static str {
    match impact {
        "critical" => "st-major",
        "major" => "st-partial",
        "minor" => "st-degraded",
        _ => "st-maint",
    }
}

/// "ACME status", the page's and the feeds' title.
pub fn page_title(locale: Locale, client: &str) -> String {
    crate::mail::fill(td_string!(locale, status_title), &[("client", client)])
}

/// An incident with its timeline (newest first) and, once written, its post-mortem.
pub fn incident_view(locale: Locale, incident: IncidentView) -> impl IntoView {
    let affected = (!incident.components.is_empty()).then(|| {
        let names: Vec<String> = incident
            .components
            .iter()
            .map(|(name, state)| format!("{name} ({})", state_text(locale, *state)))
            .collect();
        view! { <p class="affected">{td_string!(locale, incident_affects)} " " {names.join(", ")}</p> }
    });
    let updates = incident
        .updates
        .into_iter()
        .map(|u| {
            view! {
                <li>
                    <strong>{incident_status_text(locale, u.status)}</strong> " — " {u.body}
                    <br /><small>{u.at}</small>
                </li>
            }
        })
        .collect_view();
    let postmortem = (!incident.postmortem.is_empty()).then(|| {
        view! {
            <details>
                <summary>{td_string!(locale, incident_postmortem)}</summary>
                <p class="postmortem">{incident.postmortem.clone()}</p>
            </details>
        }
    });
    let when = match &incident.resolved {
        Some(resolved) => format!("{} – {resolved}", incident.started),
        None => incident.started.clone(),
    };
    view! {
        <article class=format!("incident {}", impact_class(&incident.impact)) id=format!("incident-{}", incident.id)>
            <h3>{incident.title.clone()}</h3>
            <p class="when">{when}</p>
            {affected}
            <ol class="timeline">{updates}</ol>
            {postmortem}
        </article>
    }
}

/// The document around a page's body: language, viewport, colour schemes, the stylesheet
/// and the feeds.
fn document(locale: Locale, title: &str, slug: &str, body: String) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"/status.css\">\
         <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/status/{slug}/feed.rss?lang={lang}\">\
         <link rel=\"alternate\" type=\"application/atom+xml\" href=\"/status/{slug}/feed.atom?lang={lang}\">\
         </head><body>{body}</body></html>",
        lang = locale.as_str(),
        title = escape(title),
        slug = escape(slug),
    )
}

fn switcher(locale: Locale) -> impl IntoView {
    let links = Locale::get_all()
        .iter()
        .map(|other| {
            let tag = other.as_str();
            let name = match other {
                Locale::en => "English",
                Locale::de => "Deutsch",
                Locale::fr => "Français",
            };
            let current = (*other == locale).then_some("page");
            view! { <a href=format!("?lang={tag}") hreflang=tag lang=tag aria-current=current>{name}</a> }
        })
        .collect_view();
    view! { <nav aria-label=td_string!(locale, status_languages)>{links}</nav> }
}

fn footer(locale: Locale, slug: &str) -> impl IntoView {
    let lang = locale.as_str();
    view! {
        <footer>
            <p>{td_string!(locale, status_footer)}</p>
            <p>
                <a href=format!("/status/{slug}/history?lang={lang}")>{td_string!(locale, status_history_link)}</a> " · "
                <a href=format!("/status/{slug}/feed.rss?lang={lang}")>"RSS"</a> " · "
                <a href=format!("/status/{slug}/feed.atom?lang={lang}")>"Atom"</a> " · "
                <a href=format!("/status/{slug}/api/v2/summary.json")>"JSON"</a>
            </p>
        </footer>
    }
}

/// The sign-up form: an address and, optionally, the components to follow.
fn subscribe_form(locale: Locale, slug: &str, components: &[(i64, String)]) -> impl IntoView {
    let boxes = components
        .iter()
        .map(|(id, name)| {
            view! {
                <label class="check">
                    <input type="checkbox" name="component" value=id.to_string() /> " " {name.clone()}
                </label>
            }
        })
        .collect_view();
    view! {
        <section class="subscribe" aria-labelledby="subscribe-heading">
            <h2 id="subscribe-heading">{td_string!(locale, subscribe_heading)}</h2>
            <p>{td_string!(locale, subscribe_intro)}</p>
            <form method="post" action=format!("/status/{slug}/subscribe?lang={}", locale.as_str())>
                <label for="subscribe-email">{td_string!(locale, subscribe_email)}</label>
                <div class="row">
                    <input type="email" id="subscribe-email" name="email" required autocomplete="email" />
                    <button type="submit">{td_string!(locale, subscribe_submit)}</button>
                </div>
                <details>
                    <summary>{td_string!(locale, subscribe_some)}</summary>
                    {boxes}
                </details>
            </form>
        </section>
    }
}

/// A small page of the subscriptions (signed up, confirm, manage, unsubscribed).
pub fn render_message(locale: Locale, client_name: &str, slug: &str, message: PublicMessage) -> String {
    let title = page_title(locale, client_name);
    let lang = locale.as_str();
    let button = |action: String, label: &'static str| {
        view! {
            <form method="post" action=action>
                <button type="submit">{label}</button>
            </form>
        }
        .into_any()
    };
    let (heading, text, extra): (&str, &str, Option<AnyView>) = match message {
        PublicMessage::SignedUp => (
            td_string!(locale, subscribe_done_heading),
            td_string!(locale, subscribe_done_text),
            None,
        ),
        PublicMessage::RateLimited => (
            td_string!(locale, subscribe_limited_heading),
            td_string!(locale, subscribe_limited_text),
            None,
        ),
        PublicMessage::SubscriptionsFull => (
            td_string!(locale, subscribe_full_heading),
            td_string!(locale, subscribe_full_text),
            None,
        ),
        PublicMessage::BadAddress => (
            td_string!(locale, subscribe_bad_heading),
            td_string!(locale, subscribe_bad_text),
            None,
        ),
        PublicMessage::ConfirmAsk { action } => (
            td_string!(locale, subscribe_confirm_heading),
            td_string!(locale, subscribe_confirm_text),
            Some(button(action, td_string!(locale, subscribe_mail_button))),
        ),
        PublicMessage::Confirmed { manage } => (
            td_string!(locale, subscribe_confirmed_heading),
            td_string!(locale, subscribe_confirmed_text),
            Some(view! { <p><a href=manage>{td_string!(locale, subscribe_manage_button)}</a></p> }.into_any()),
        ),
        PublicMessage::LinkInvalid => (
            td_string!(locale, subscribe_invalid_heading),
            td_string!(locale, subscribe_invalid_text),
            None,
        ),
        PublicMessage::Manage {
            action,
            unsubscribe,
            components,
            saved,
        } => {
            let boxes = components
                .into_iter()
                .map(|(id, name, followed)| {
                    view! {
                        <label class="check">
                            <input type="checkbox" name="component" value=id.to_string() checked=followed /> " " {name}
                        </label>
                    }
                })
                .collect_view();
            let saved =
                saved.then(|| view! { <p role="status"><strong>{td_string!(locale, subscribe_saved)}</strong></p> });
            (
                td_string!(locale, subscribe_manage_heading),
                td_string!(locale, subscribe_manage_text),
                Some(
                    view! {
                        {saved}
                        <form method="post" action=action>
                            <fieldset>
                                <legend>{td_string!(locale, subscribe_some)}</legend>
                                {boxes}
                            </fieldset>
                            <button type="submit">{td_string!(locale, status_save)}</button>
                        </form>
                        <form method="post" action=unsubscribe>
                            <button type="submit" class="secondary">{td_string!(locale, incident_mail_unsubscribe)}</button>
                        </form>
                    }
                    .into_any(),
                ),
            )
        }
        PublicMessage::UnsubscribeAsk { action } => (
            td_string!(locale, subscribe_unsubscribe_heading),
            td_string!(locale, subscribe_unsubscribe_text),
            Some(button(action, td_string!(locale, incident_mail_unsubscribe))),
        ),
        PublicMessage::Unsubscribed => (
            td_string!(locale, subscribe_gone_heading),
            td_string!(locale, subscribe_gone_text),
            None,
        ),
    };
    let body = view! {
        <header>
            <h1>{client_name.to_string()}</h1>
        </header>
        <main>
            <p><a href=format!("/status/{slug}?lang={lang}")>{td_string!(locale, status_back)}</a></p>
            <section class="group message">
                <h2>{heading}</h2>
                <p>{text}</p>
                {extra}
            </section>
        </main>
    }
    .to_html();
    document(locale, &title, slug, body)
}

/// A badge in the shape of shields.io's: a grey label and the value on the state's colour
/// (colours with white text at WCAG AA contrast); with a component, its name and 90-day uptime.
pub fn state_badge(locale: Locale, state: ComponentState, component: Option<&PublicComponent>) -> String {
    let colour = match state {
        ComponentState::Operational => "#1d7a46",
        ComponentState::UnderMaintenance => "#2f5fa8",
        ComponentState::DegradedPerformance => "#7a5000",
        ComponentState::PartialOutage => "#a4480a",
        ComponentState::MajorOutage => "#b3261e",
    };
    let (label, value) = match component {
        Some(c) => (
            c.name.clone(),
            match c.uptime_90 {
                Some(u) => format!("{} · {}", state_text(locale, state), uptime_text(locale, u)),
                None => state_text(locale, state).to_string(),
            },
        ),
        None => (
            td_string!(locale, status_badge_label).to_string(),
            state_text(locale, state).to_string(),
        ),
    };
    // About 7 units per character of an 11 px sans-serif, plus padding.
    let width = |text: &str| text.chars().count() * 7 + 12;
    let (left, right) = (width(&label), width(&value));
    let total = left + right;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{label}: {value}\">\
         <title>{label}: {value}</title>\
         <rect width=\"{left}\" height=\"20\" fill=\"#555\"/><rect x=\"{left}\" width=\"{right}\" height=\"20\" fill=\"{colour}\"/>\
         <g fill=\"#fff\" font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\">\
         <text x=\"6\" y=\"14\">{label}</text><text x=\"{x}\" y=\"14\">{value}</text></g></svg>",
        label = escape(&label),
        value = escape(&value),
        x = left + 6,
    )
}

/// The banner alone, for an `<iframe>`: the state in words and a link to the page.
pub fn render_widget(locale: Locale, page: PublicStatusPage, url: &str) -> String {
    let title = page_title(locale, &page.client_name);
    let body = view! {
        <a class=format!("banner widget {}", page.overall.class()) href=url.to_string() target="_blank" rel="noopener">
            <strong>{banner_text(locale, page.overall)}</strong>
            <span>{td_string!(locale, status_widget_more)}</span>
        </a>
    }
    .to_html();
    document(locale, &title, &page.slug, body)
}

/// The page of past incidents, by month.
pub fn render_history(locale: Locale, history: PublicHistory) -> String {
    let title = page_title(locale, &history.client_name);
    let mut months: Vec<(String, Vec<IncidentView>)> = Vec::new();
    for incident in history.incidents {
        match months.last_mut() {
            Some((month, list)) if *month == incident.month => list.push(incident),
            _ => months.push((incident.month.clone(), vec![incident])),
        }
    }
    let content = if months.is_empty() {
        view! { <p>{td_string!(locale, status_history_none)}</p> }.into_any()
    } else {
        months
            .into_iter()
            .map(|(month, list)| {
                let items = list.into_iter().map(|i| incident_view(locale, i)).collect_view();
                view! { <section class="group"><h2>{month}</h2>{items}</section> }
            })
            .collect_view()
            .into_any()
    };
    let slug = history.slug.clone();
    let body = view! {
        <header>
            <h1>{history.client_name.clone()}</h1>
            {switcher(locale)}
        </header>
        <main>
            <p><a href=format!("/status/{slug}?lang={}", locale.as_str())>{td_string!(locale, status_back)}</a></p>
            <h2>{td_string!(locale, status_history_title)}</h2>
            <p class="zone">{crate::mail::fill(td_string!(locale, status_times_in), &[("zone", &history.time_zone)])}</p>
            {content}
        </main>
        {footer(locale, &slug)}
    }
    .to_html();
    document(locale, &title, &history.slug, body)
}

/// `99.98 %` (two decimals, never rounded up to 100 % while anything was down).
pub fn uptime_text(locale: Locale, uptime: f64) -> String {
    let percent = (uptime * 10_000.0).floor() / 100.0;
    let number = decimal(percent, 2, locale);
    if locale == Locale::en {
        format!("{number}%")
    } else {
        format!("{number}\u{a0}%")
    }
}

/// A day's words: `2026-12-07: 99.5 % up, 12 minutes of outage` or `no data`.
fn day_text(locale: Locale, bar: &DayBar) -> String {
    match (bar.worst, bar.uptime) {
        (Some(worst), Some(uptime)) => {
            let mut text = format!(
                "{}: {} · {}",
                bar.date,
                state_text(locale, worst),
                crate::mail::fill(
                    td_string!(locale, status_day_up),
                    &[("uptime", &uptime_text(locale, uptime))]
                )
            );
            if bar.outage_minutes > 0 {
                text.push_str(" · ");
                text.push_str(&crate::mail::fill(
                    td_string!(locale, status_day_outage),
                    &[("minutes", &bar.outage_minutes.to_string())],
                ));
            }
            text
        }
        _ => format!("{}: {}", bar.date, td_string!(locale, status_day_no_data)),
    }
}

/// Width of one day's bar and the gap after it, in SVG units.
const BAR: usize = 4;
const GAP: usize = 1;

fn bars(locale: Locale, component: &PublicComponent) -> impl IntoView + use<> {
    let width = component.days.len() * (BAR + GAP);
    let label = component.uptime_90.map_or_else(
        || td_string!(locale, status_day_no_data).to_string(),
        |u| {
            crate::mail::fill(
                td_string!(locale, status_uptime_90),
                &[("uptime", &uptime_text(locale, u))],
            )
        },
    );
    let rects = component
        .days
        .iter()
        .enumerate()
        .map(|(i, bar)| {
            let class = bar.worst.map_or("st-none", ComponentState::class);
            view! {
                <rect x=(i * (BAR + GAP)).to_string() width=BAR.to_string() height="28" rx="1" class=class>
                    <title>{day_text(locale, bar)}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <svg class="bars" viewBox=format!("0 0 {width} 28") preserveAspectRatio="none" role="img" aria-label=label>
            {rects}
        </svg>
    }
}

fn component_view(locale: Locale, slug: &str, component: PublicComponent) -> impl IntoView {
    let slug = slug.to_string();
    let problem_days: Vec<String> = component
        .days
        .iter()
        .rev()
        .filter(|bar| bar.worst.is_some_and(|w| w != ComponentState::Operational))
        .map(|bar| day_text(locale, bar))
        .collect();
    let details = (!problem_days.is_empty()).then(|| {
        let items = problem_days.into_iter().map(|t| view! { <li>{t}</li> }).collect_view();
        view! {
            <details>
                <summary>{td_string!(locale, status_problem_days)}</summary>
                <ul>{items}</ul>
            </details>
        }
    });
    let uptime = |days: &'static str, value: Option<f64>| {
        value.map(|u| {
            view! { <span>{crate::mail::fill(days, &[("uptime", &uptime_text(locale, u))])}</span> }
        })
    };
    let description =
        (!component.description.is_empty()).then(|| view! { <p class="desc">{component.description.clone()}</p> });
    view! {
        <article class="component" id=format!("component-{}", component.id)>
            <div class="row">
                <h3>{component.name.clone()}</h3>
                <span class=format!("state {}", component.state.class())>{state_text(locale, component.state)}</span>
            </div>
            {description}
            {bars(locale, &component)}
            <div class="legend">
                <span>{td_string!(locale, status_days_ago)}</span>
                {uptime(td_string!(locale, status_uptime_30), component.uptime_30)}
                {uptime(td_string!(locale, status_uptime_90), component.uptime_90)}
                <span>{td_string!(locale, status_today)}</span>
            </div>
            {component.probed.then(|| view! {
                <details class="response-time">
                    <summary>{td_string!(locale, status_response_time)}</summary>
                    <img
                        src=format!("/status/{slug}/components/{}/response-time.svg?lang={}", component.id, locale.as_str())
                        alt=td_string!(locale, status_response_time_alt)
                        loading="lazy"
                        width="900"
                        height="300"
                    />
                </details>
            })}
            {details}
        </article>
    }
}

/// The whole document.
pub fn render(locale: Locale, page: PublicStatusPage) -> String {
    let title = page_title(locale, &page.client_name);
    let subscribable: Vec<(i64, String)> = page
        .groups
        .iter()
        .flat_map(|g| g.components.iter().map(|c| (c.id, c.name.clone())))
        .collect();
    let groups = page
        .groups
        .into_iter()
        .map(|group| {
            let heading = (!group.name.is_empty()).then(|| view! { <h2>{group.name.clone()}</h2> });
            let components = group
                .components
                .into_iter()
                .map(|c| component_view(locale, &page.slug, c))
                .collect_view();
            view! { <section class="group">{heading}{components}</section> }
        })
        .collect_view();
    let incidents = (!page.incidents.is_empty()).then(|| {
        let items = page
            .incidents
            .into_iter()
            .map(|i| incident_view(locale, i))
            .collect_view();
        view! {
            <section class="incidents" aria-labelledby="current-incidents">
                <h2 id="current-incidents">{td_string!(locale, status_current_incidents)}</h2>
                {items}
            </section>
        }
    });
    let updated = crate::mail::fill(
        td_string!(locale, status_updated),
        &[("time", &page.updated), ("zone", &page.time_zone)],
    );
    let slug = page.slug.clone();
    let body = view! {
        <header>
            <h1>{page.client_name.clone()}</h1>
            {switcher(locale)}
        </header>
        <main>
            <section class=format!("banner {}", page.overall.class()) aria-live="polite">
                <h2>{banner_text(locale, page.overall)}</h2>
                <p>{updated}</p>
            </section>
            {incidents}
            {groups}
            {page.subscribe.then(|| subscribe_form(locale, &slug, &subscribable))}
        </main>
        {footer(locale, &slug)}
    }
    .to_html();
    document(locale, &title, &page.slug, body)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> PublicStatusPage {
        let day = |date: &str, worst, uptime, outage_minutes| DayBar {
            date: date.into(),
            worst,
            uptime,
            outage_minutes,
        };
        PublicStatusPage {
            subscribe: true,
            client_name: "ACME <Shop>".into(),
            slug: "acme".into(),
            overall: ComponentState::PartialOutage,
            groups: vec![PublicGroup {
                name: String::new(),
                components: vec![PublicComponent {
                    id: 1,
                    name: "Checkout".into(),
                    description: "Paying for orders".into(),
                    state: ComponentState::PartialOutage,
                    uptime_30: Some(0.99987),
                    uptime_90: Some(0.9999),
                    probed: true,
                    days: vec![
                        day("2026-12-05", None, None, 0),
                        day("2026-12-06", Some(ComponentState::Operational), Some(1.0), 0),
                        day("2026-12-07", Some(ComponentState::MajorOutage), Some(0.99), 14),
                    ],
                }],
            }],
            time_zone: "Europe/Berlin".into(),
            updated: "2026-12-07 15:04".into(),
            incidents: vec![IncidentView {
                id: 7,
                title: "Zahlungen schlagen fehl".into(),
                impact: "major".into(),
                status: IncidentStatus::Identified,
                started: "2026-12-07 14:50".into(),
                month: "2026-12".into(),
                resolved: None,
                components: vec![("Checkout".into(), ComponentState::PartialOutage)],
                updates: vec![UpdateView {
                    status: IncidentStatus::Identified,
                    body: "Der Zahlungsanbieter <antwortet> nicht".into(),
                    at: "2026-12-07 14:55".into(),
                }],
                postmortem: String::new(),
            }],
        }
    }

    #[test]
    fn the_page_has_no_script_escapes_names_and_speaks_the_language() {
        let html = render(Locale::de, page());
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("<html lang=\"de\">"));
        assert!(html.contains("ACME &lt;Shop&gt;"), "{html}");
        assert!(!html.contains("<Shop>"));
        assert!(html.contains("Teilweiser Ausfall"), "{html}");
        assert!(html.contains("99,98\u{a0}%"), "rounded down, never up: {html}");
        assert!(html.contains("2026-12-07: Schwerer Ausfall"), "{html}");
        assert!(html.contains("14 Minuten"), "{html}");
        assert!(html.contains("Europe/Berlin"));
        assert_eq!(html.matches("<rect").count(), 3);
        assert!(html.contains("class=\"st-none\""), "a day before the component: {html}");
        assert!(html.contains("id=\"incident-7\""), "{html}");
        assert!(html.contains("Ursache gefunden"), "{html}");
        assert!(html.contains("&lt;antwortet&gt;"), "{html}");
        assert!(html.contains("/status/acme/feed.rss?lang=de"), "{html}");
    }

    #[test]
    fn uptime_is_never_rounded_up() {
        assert_eq!(uptime_text(Locale::en, 0.99999), "99.99%");
        assert_eq!(uptime_text(Locale::fr, 1.0), "100,00\u{a0}%");
    }
}
