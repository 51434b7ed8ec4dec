//! The agency's outbox: every mail Vitrine wrote, whether it left, how often it was tried and
//! why it failed, with a button to try a failed one again; the text as the recipient reads it.

use crate::dto::*;
use crate::i18n::Locale;
use crate::targets::utc_text;
use leptos::prelude::*;
use leptos_i18n::td_string;

/// A message's state; `smtp` false: a "sent" mail was only written to a file (`posted`: a
/// channel's message went out over HTTP).
fn state_badge(locale: Locale, state: &str, smtp: bool, posted: bool) -> AnyView {
    let (class, text) = match state {
        "sent" if posted => ("status up", td_string!(locale, outbox_posted)),
        "sent" if smtp => ("status up", td_string!(locale, outbox_sent)),
        "sent" => ("status up", td_string!(locale, outbox_written)),
        "pending" => ("status pending", td_string!(locale, outbox_pending)),
        "failed" => ("status pending", td_string!(locale, outbox_failed)),
        _ => ("status down", td_string!(locale, outbox_dead)),
    };
    view! { <span class=class>{text}</span> }.into_any()
}

#[component]
pub fn Outbox(locale: Locale, page: OutboxPage, csrf: String) -> impl IntoView {
    let delivery = if page.smtp {
        td_string!(locale, outbox_by_smtp)
    } else {
        td_string!(locale, outbox_to_files)
    };
    let smtp = page.smtp;
    let list = if page.messages.is_empty() {
        view! { <p class="empty">{td_string!(locale, outbox_none)}</p> }.into_any()
    } else {
        page.messages
            .into_iter()
            .map(|m| {
                let retry = matches!(m.state.as_str(), "failed" | "dead").then(|| {
                    view! {
                        <form method="post" action=format!("/agency/outbox/{}/retry", m.id)>
                            <input type="hidden" name="csrf" value=csrf.clone() />
                            <button type="submit" class="secondary">{td_string!(locale, outbox_retry)}</button>
                        </form>
                    }
                });
                let when = m.sent_ms.unwrap_or(m.created_ms);
                view! {
                    <article class="card mail" id=format!("mail-{}", m.id)>
                        <h2>{m.subject.clone()} " " {state_badge(locale, &m.state, smtp, m.posted)}</h2>
                        <p class="hint">
                            {m.recipient.clone()} " · " {m.client.clone().unwrap_or_default()} " · " {utc_text(when)}
                            " · " {td_string!(locale, outbox_attempts)} " " {m.attempts}
                        </p>
                        {m.last_error.clone().map(|e| view! { <p class="alert error">{e}</p> })}
                        <details>
                            <summary>{td_string!(locale, outbox_show)}</summary>
                            <pre class="mail-text">{m.text.replace(LINK_REMOVED, td_string!(locale, outbox_link_removed))}</pre>
                        </details>
                        {retry}
                    </article>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <p class="breadcrumb"><a href="/agency">{td_string!(locale, nav_home)}</a></p>
        <h1>{td_string!(locale, outbox_title)}</h1>
        <p class="intro">{td_string!(locale, outbox_intro)} " " {delivery}</p>
        {page.retried.then(|| view! { <p class="alert success" role="status">{td_string!(locale, outbox_retried)}</p> })}
        <div class="mails">{list}</div>
    }
}
