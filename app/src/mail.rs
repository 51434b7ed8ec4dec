//! The error mails to a client's people, in the recipient's language: the subject as
//! Alertmanager writes it (`[FIRING:2] …`, translated), a plain text part and an HTML part
//! with the threshold's explanation, the value now, since when, and a link to the page.

use crate::dto::Comparison;
use crate::i18n::Locale;
use crate::targets::utc_text;
use crate::thresholds::comparison_text;
use crate::units::{format_duration, format_value};
use leptos::prelude::*;
use leptos_i18n::Locale as _;
use leptos_i18n::td_string;

/// What an alert mail says.
#[derive(Clone, Debug)]
pub struct AlertMail {
    pub client_name: String,
    /// `project / environment` (or the project alone for a whole-project threshold).
    pub place: String,
    pub threshold: String,
    /// `false`: resolved.
    pub firing: bool,
    /// An alarm told before: why it is told again.
    pub follow_up: Option<FollowUp>,
    /// How many series crossed the line (or came back).
    pub count: usize,
    pub value: f64,
    pub unit: String,
    pub comparison: Comparison,
    pub line: f64,
    pub for_secs: u32,
    /// When the alarm was raised (ms).
    pub since_ms: i64,
    /// Resolved: how long the alarm lasted.
    pub lasted_secs: Option<u32>,
    pub meaning: String,
    pub action: String,
    pub audience: String,
    /// The client's thresholds page.
    pub link: String,
    /// The Content-ID of the chart the mail carries inline, if it has one.
    pub chart_cid: Option<String>,
    /// A person's own links; `None` for a channel's address (the agency set it up).
    pub personal: Option<PersonalLinks>,
}

/// Why an alarm the client was told of is told again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowUp {
    /// More or fewer of its measured values cross the line than the last mail said.
    Changed,
    /// Unchanged, and it lasts: told again every `every_secs`.
    Reminder { every_secs: u32 },
}

/// The links of a mail to one of the client's people.
#[derive(Clone, Debug)]
pub struct PersonalLinks {
    /// The signed one-click unsubscribe link.
    pub unsubscribe: String,
    /// Where they choose which mails they get.
    pub settings: String,
}

/// The made-up alarm of a channel's "send a test": says it is a test; the caller sets the
/// client, the link and the time.
pub fn test_alert(locale: Locale) -> AlertMail {
    AlertMail {
        client_name: String::new(),
        place: td_string!(locale, test_alert_place).to_string(),
        threshold: td_string!(locale, test_alert_name).to_string(),
        firing: true,
        follow_up: None,
        count: 1,
        value: 1.0,
        unit: "short".into(),
        comparison: Comparison::Found,
        line: 0.0,
        for_secs: 0,
        since_ms: 0,
        lasted_secs: None,
        meaning: td_string!(locale, test_alert_meaning).to_string(),
        action: td_string!(locale, test_alert_action).to_string(),
        audience: String::new(),
        link: String::new(),
        chart_cid: None,
        personal: None,
    }
}

/// The sentences of an alarm or all-clear, for mails and for the channels' messages.
pub struct AlertSummary {
    /// `[FIRING:2] Error rate — Client / project / env`, on one line.
    pub subject: String,
    pub headline: String,
    /// The value now and since when (or how long it lasted).
    pub status: String,
    /// When the alarm is raised.
    pub rule: String,
    /// The explanation's parts that are written: (title, text).
    pub sections: Vec<(String, String)>,
}

/// The mail to an invited person: the client they may follow and the link to choose a
/// password, valid for `days`.
pub fn invitation_mail(locale: Locale, client: &str, link: &str, days: i64) -> RenderedMail {
    link_mail(
        locale,
        &fill(td_string!(locale, invite_mail_subject), &[("client", client)]),
        &fill(td_string!(locale, invite_mail_intro), &[("client", client)]),
        (td_string!(locale, invite_mail_button), link),
        &fill(td_string!(locale, invite_mail_validity), &[("days", &days.to_string())]),
        None,
    )
}

/// The mail of a "forgot your password?" request: the link, valid for `minutes`.
pub fn reset_mail(locale: Locale, link: &str, minutes: i64) -> RenderedMail {
    link_mail(
        locale,
        td_string!(locale, reset_mail_subject),
        td_string!(locale, reset_mail_intro),
        (td_string!(locale, reset_mail_button), link),
        &fill(
            td_string!(locale, reset_mail_validity),
            &[("minutes", &minutes.to_string())],
        ),
        Some(td_string!(locale, reset_mail_ignore)),
    )
}

/// The confirmation of a status page subscription (double opt-in): the link, valid for `hours`.
pub fn subscription_confirm_mail(locale: Locale, page: &str, link: &str, hours: i64) -> RenderedMail {
    link_mail(
        locale,
        &fill(td_string!(locale, subscribe_mail_subject), &[("page", page)]),
        &fill(td_string!(locale, subscribe_mail_intro), &[("page", page)]),
        (td_string!(locale, subscribe_mail_button), link),
        &fill(
            td_string!(locale, subscribe_mail_validity),
            &[("hours", &hours.to_string())],
        ),
        Some(td_string!(locale, subscribe_mail_ignore)),
    )
}

/// To an address that follows the page already and asked again: where to manage it.
pub fn subscription_known_mail(locale: Locale, page: &str, link: &str) -> RenderedMail {
    link_mail(
        locale,
        &fill(td_string!(locale, subscribe_known_subject), &[("page", page)]),
        &fill(td_string!(locale, subscribe_known_intro), &[("page", page)]),
        (td_string!(locale, subscribe_manage_button), link),
        "",
        Some(td_string!(locale, subscribe_mail_ignore)),
    )
}

/// To a client's admins and the agency: a failed payment or an ended subscription; which
/// add-ons stop on `date` (nothing is deleted) and where to look.
pub fn contract_lapse_mail(
    locale: Locale,
    client: &str,
    ended: bool,
    date: &str,
    items: &[String],
    link: &str,
) -> RenderedMail {
    let (subject, intro) = match ended {
        true => (
            td_string!(locale, lapse_mail_ended_subject),
            td_string!(locale, lapse_mail_ended_intro),
        ),
        false => (
            td_string!(locale, lapse_mail_failed_subject),
            td_string!(locale, lapse_mail_failed_intro),
        ),
    };
    let values = [("client", client), ("date", date), ("items", &items.join(", "))];
    link_mail(
        locale,
        &fill(subject, &values),
        &fill(intro, &values),
        (td_string!(locale, lapse_mail_button), link),
        &fill(td_string!(locale, lapse_mail_stops), &values),
        Some(td_string!(locale, lapse_mail_kept)),
    )
}

/// What a subscriber reads of an incident's news.
pub struct IncidentMail {
    pub page: String,
    pub title: String,
    pub status: String,
    pub body: String,
    /// `Checkout (Partial outage), …`; empty when it names none.
    pub affected: String,
    pub at: String,
    pub page_link: String,
    pub manage_link: String,
    pub unsubscribe_link: String,
}

/// An incident opened or updated, to a status page's subscriber.
pub fn incident_mail(locale: Locale, mail: &IncidentMail) -> RenderedMail {
    let subject = format!("[{}] {} — {}", mail.page, mail.title, mail.status);
    let affected =
        (!mail.affected.is_empty()).then(|| format!("{} {}", td_string!(locale, incident_affects), mail.affected));
    let mut text = format!("{}\n\n{}: {}\n{}\n", mail.title, mail.status, mail.body, mail.at);
    if let Some(affected) = &affected {
        text.push_str(&format!("{affected}\n"));
    }
    text.push_str(&format!(
        "\n{}: {}\n\n{}: {}\n{}: {}\n",
        td_string!(locale, incident_mail_page),
        mail.page_link,
        td_string!(locale, subscribe_manage_button),
        mail.manage_link,
        td_string!(locale, incident_mail_unsubscribe),
        mail.unsubscribe_link
    ));
    let html = view! {
        <html lang=locale.as_str()>
            <body style="font-family: sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 40rem;">
                <h1 style="font-size: 1.2rem;">{mail.title.clone()}</h1>
                <p><strong>{mail.status.clone()}</strong> " — " {mail.body.clone()}</p>
                <p style="color: #555;">{mail.at.clone()}</p>
                {affected.map(|a| view! { <p>{a}</p> })}
                <p><a href=mail.page_link.clone() style="font-weight: bold;">{td_string!(locale, incident_mail_page)}</a></p>
                <p style="color: #555; font-size: 0.9rem;">
                    <a href=mail.manage_link.clone()>{td_string!(locale, subscribe_manage_button)}</a> " · "
                    <a href=mail.unsubscribe_link.clone()>{td_string!(locale, incident_mail_unsubscribe)}</a>
                </p>
            </body>
        </html>
    }
    .to_html();
    RenderedMail {
        subject: one_line(&subject),
        text,
        html: format!("<!DOCTYPE html>{html}"),
    }
}

/// A mail around one single-use link: what it is for, the link as a button, how long it works
/// and, when given, a last note in grey.
fn link_mail(
    locale: Locale,
    subject: &str,
    intro: &str,
    (button, link): (&str, &str),
    validity: &str,
    note: Option<&str>,
) -> RenderedMail {
    let mut text = format!("{intro}\n\n{button}: {link}\n\n{validity}\n");
    if let Some(note) = note {
        text.push_str(&format!("{note}\n"));
    }
    let (intro, button, link, validity) = (
        intro.to_string(),
        button.to_string(),
        link.to_string(),
        validity.to_string(),
    );
    let note = note.map(|note| view! { <p style="color: #555;">{note.to_string()}</p> });
    let html = view! {
        <html lang=locale.as_str()>
            <body style="font-family: sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 40rem;">
                <p>{intro}</p>
                <p><a href=link style="font-weight: bold;">{button}</a></p>
                <p>{validity}</p>
                {note}
            </body>
        </html>
    }
    .to_html();
    RenderedMail {
        subject: one_line(subject),
        text,
        html: format!("<!DOCTYPE html>{html}"),
    }
}

/// The footer of a mail to a channel's address: the agency set it up.
fn channel_footer(locale: Locale, mail: &AlertMail) -> String {
    fill(
        td_string!(locale, mail_channel_footer),
        &[("client", &mail.client_name)],
    )
}

/// How many hours the chart of an error mail shows.
pub const CHART_HOURS: i64 = 3;

pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Fills `{name}` placeholders of a translated sentence (mail texts are plain strings).
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_string(), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), value)
    })
}

/// Subject lines carry no line breaks, whatever a name holds.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn alert_summary(locale: Locale, mail: &AlertMail) -> AlertSummary {
    let tag = if mail.firing {
        format!("{}:{}", td_string!(locale, mail_tag_firing), mail.count)
    } else {
        td_string!(locale, mail_tag_resolved).to_string()
    };
    let subject = one_line(&format!(
        "[{tag}] {} — {} / {}",
        mail.threshold, mail.client_name, mail.place
    ));
    let value = format_value(mail.value, &mail.unit, locale);
    let line = format_value(mail.line, &mail.unit, locale);
    let rule = if mail.comparison == Comparison::Found {
        fill(
            td_string!(locale, mail_rule_found),
            &[("duration", &format_duration(mail.for_secs))],
        )
    } else {
        fill(
            td_string!(locale, mail_rule),
            &[
                ("comparison", comparison_text(locale, mail.comparison)),
                ("line", &line),
                ("duration", &format_duration(mail.for_secs)),
            ],
        )
    };
    let since = utc_text(mail.since_ms);
    let status = if mail.firing {
        let status = fill(
            td_string!(locale, mail_firing_status),
            &[("value", &value), ("since", &since)],
        );
        match mail.follow_up {
            None => status,
            Some(FollowUp::Changed) => format!(
                "{status} {}",
                fill(
                    td_string!(locale, mail_follow_up_changed),
                    &[("count", &mail.count.to_string())]
                )
            ),
            Some(FollowUp::Reminder { every_secs }) => format!(
                "{status} {}",
                fill(
                    td_string!(locale, mail_follow_up_reminder),
                    &[("every", &format_duration(every_secs))]
                )
            ),
        }
    } else {
        let lasted = format_duration(mail.lasted_secs.unwrap_or(0));
        fill(
            td_string!(locale, mail_resolved_status),
            &[("since", &since), ("lasted", &lasted)],
        )
    };
    let headline = fill(
        td_string!(locale, mail_headline),
        &[
            ("threshold", &mail.threshold),
            ("place", &mail.place),
            ("client", &mail.client_name),
        ],
    );
    // The parts written; an imported rule may have only its meaning yet.
    let sections: Vec<(String, String)> = [
        (td_string!(locale, explanation_meaning), mail.meaning.clone()),
        (td_string!(locale, explanation_action), mail.action.clone()),
        (td_string!(locale, explanation_audience), mail.audience.clone()),
    ]
    .into_iter()
    .filter(|(_, body)| !body.trim().is_empty())
    .map(|(title, body)| (title.to_string(), body))
    .collect();
    AlertSummary {
        subject,
        headline,
        status,
        rule,
        sections,
    }
}

pub fn alert_mail(locale: Locale, mail: &AlertMail) -> RenderedMail {
    let AlertSummary {
        subject,
        headline,
        status,
        rule,
        sections,
    } = alert_summary(locale, mail);
    let link_text = td_string!(locale, mail_link);
    let footer = td_string!(locale, mail_footer);
    let mut text = format!("{headline}\n\n{status}\n{rule}\n\n");
    for (title, body) in &sections {
        text.push_str(&format!("{title}:\n{body}\n\n"));
    }
    let unsubscribe_text = td_string!(locale, mail_unsubscribe);
    let settings_text = td_string!(locale, mail_settings_link);
    text.push_str(&format!("{link_text}: {}\n\n-- \n", mail.link));
    match &mail.personal {
        Some(links) => text.push_str(&format!(
            "{footer}\n{settings_text}: {}\n{unsubscribe_text}: {}\n",
            links.settings, links.unsubscribe
        )),
        None => text.push_str(&format!("{}\n", channel_footer(locale, mail))),
    }
    let footer_html = match mail.personal.clone() {
        Some(links) => view! {
            {footer}<br />
            <a href=links.settings style="color: #555;">{settings_text}</a> " · "
            <a href=links.unsubscribe style="color: #555;">{unsubscribe_text}</a>
        }
        .into_any(),
        None => channel_footer(locale, mail).into_any(),
    };
    let firing = mail.firing;
    let link = mail.link.clone();
    let chart = mail.chart_cid.clone().map(|cid| {
        let caption = fill(td_string!(locale, mail_chart_caption), &[("hours", &CHART_HOURS.to_string())]);
        view! {
            <figure style="margin: 1rem 0;">
                <img src=format!("cid:{cid}") alt=caption.clone() width="600" style="max-width: 100%; height: auto; border: 1px solid #d0d7de;" />
                <figcaption style="color: #555; font-size: 0.85rem;">{caption}</figcaption>
            </figure>
        }
    });
    let html = view! {
        <html lang=locale.as_str()>
            <body style="font-family: sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 40rem;">
                <h1 style="font-size: 1.3rem;">{headline}</h1>
                <p style=if firing { "font-weight: bold; color: #b3261e;" } else { "font-weight: bold; color: #1e7b34;" }>
                    {status}
                </p>
                <p>{rule}</p>
                {chart}
                {sections
                    .into_iter()
                    .map(|(title, body)| view! { <h2 style="font-size: 1rem; margin-bottom: 0;">{title}</h2><p style="margin-top: 0.2rem;">{body}</p> })
                    .collect_view()}
                <p><a href=link>{link_text}</a></p>
                <p style="color: #555; font-size: 0.85rem;">{footer_html}</p>
            </body>
        </html>
    }
    .to_html();
    RenderedMail {
        subject,
        text,
        html: format!("<!DOCTYPE html>{html}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> AlertMail {
        AlertMail {
            client_name: "ACME Shop".into(),
            place: "shop / live".into(),
            threshold: "Error rate <script>\r\nBcc: x@evil.example".into(),
            firing: true,
            follow_up: None,
            count: 2,
            value: 0.052,
            unit: "percentunit".into(),
            comparison: Comparison::Above,
            line: 0.03,
            for_secs: 300,
            since_ms: 1_700_000_000_000,
            lasted_secs: None,
            meaning: "Visitors see <b>errors</b>.".into(),
            action: "We fix it.".into(),
            audience: "You.".into(),
            link: "https://vitrine.example/clients/acme/thresholds".into(),
            chart_cid: Some("chart@vitrine.example".into()),
            personal: Some(PersonalLinks {
                unsubscribe: "https://vitrine.example/unsubscribe/1.2.sig".into(),
                settings: "https://vitrine.example/account#mails".into(),
            }),
        }
    }

    #[test]
    fn the_subject_counts_the_alerts_on_one_line_in_the_readers_language() {
        let en = alert_mail(Locale::en, &mail());
        assert_eq!(
            en.subject,
            "[FIRING:2] Error rate <script> Bcc: x@evil.example — ACME Shop / shop / live"
        );
        let de = alert_mail(Locale::de, &mail());
        assert!(de.subject.starts_with("[ALARM:2] "), "{}", de.subject);
        assert!(de.text.contains("5,2\u{a0}%"), "{}", de.text);
        let fr = alert_mail(
            Locale::fr,
            &AlertMail {
                firing: false,
                lasted_secs: Some(600),
                ..mail()
            },
        );
        assert!(fr.subject.starts_with("[RÉSOLU] "), "{}", fr.subject);
        let reminder = alert_mail(
            Locale::en,
            &AlertMail {
                follow_up: Some(FollowUp::Reminder { every_secs: 4 * 3600 }),
                ..mail()
            },
        );
        assert_eq!(reminder.subject, en.subject);
        assert!(
            reminder.text.contains("still on") && reminder.text.contains("every 4\u{a0}h"),
            "{}",
            reminder.text
        );
        assert!(fr.text.contains("10\u{a0}min"), "{}", fr.text);
    }

    #[test]
    fn names_and_texts_are_escaped_in_the_html_part() {
        let html = alert_mail(Locale::en, &mail()).html;
        assert!(html.contains("Error rate &lt;script&gt;"), "{html}");
        assert!(html.contains("Visitors see &lt;b&gt;errors&lt;/b&gt;."), "{html}");
        assert!(!html.contains("<script>") && !html.contains("<b>"), "{html}");
        assert!(
            html.contains("href=\"https://vitrine.example/clients/acme/thresholds\""),
            "{html}"
        );
    }
}
