//! RSS 2.0 and Atom feeds of a status page's incidents of the last year: one item per
//! incident, its latest update as the text, linked to the history page.

use super::page::Snapshot;
use app::Locale;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The item texts of each incident: (id, title, text, created ms, updated ms).
fn items(snapshot: &Snapshot, locale: Locale) -> Vec<(i64, String, String, i64, i64)> {
    let language = app::language_tag(locale);
    snapshot
        .incidents
        .iter()
        .map(|incident| {
            let title = incident.title.pick(language, &snapshot.language);
            let text = incident
                .updates
                .first()
                .map(|u| {
                    format!(
                        "{}: {}",
                        app::status::incident_status_text(locale, u.status),
                        u.body.pick(language, &snapshot.language)
                    )
                })
                .unwrap_or_default();
            (incident.id, title, text, incident.created_ms, incident.updated_ms)
        })
        .collect()
}

fn http_date(ms: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    httpdate::fmt_http_date(time)
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

pub fn rss(snapshot: &Snapshot, url: &str, locale: Locale) -> String {
    let title = app::status::page_title(locale, &snapshot.client_name);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>{}</title><link>{}</link>\
         <description>{}</description><language>{}</language>",
        escape(&title),
        escape(url),
        escape(&title),
        app::language_tag(locale)
    );
    for (id, title, text, created, _) in items(snapshot, locale) {
        let link = format!("{url}/history#incident-{id}");
        out.push_str(&format!(
            "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}-incident-{id}</guid>\
             <pubDate>{}</pubDate><description>{}</description></item>",
            escape(&title),
            escape(&link),
            escape(&snapshot.slug),
            http_date(created),
            escape(&text)
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

pub fn atom(snapshot: &Snapshot, url: &str, locale: Locale) -> String {
    let title = app::status::page_title(locale, &snapshot.client_name);
    let items = items(snapshot, locale);
    let updated = items.iter().map(|i| i.4).max().unwrap_or(snapshot.now_ms);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\
         <title>{}</title><id>{}</id><link href=\"{}\"/><link rel=\"self\" href=\"{}/feed.atom\"/><updated>{}</updated>",
        app::language_tag(locale),
        escape(&title),
        escape(url),
        escape(url),
        escape(url),
        rfc3339(updated)
    );
    for (id, title, text, created, changed) in items {
        let link = format!("{url}/history#incident-{id}");
        out.push_str(&format!(
            "<entry><title>{}</title><id>{}</id><link href=\"{}\"/><published>{}</published><updated>{}</updated>\
             <author><name>{}</name></author><summary>{}</summary></entry>",
            escape(&title),
            escape(&link),
            escape(&link),
            rfc3339(created),
            rfc3339(changed),
            escape(&snapshot.client_name),
            escape(&text)
        ));
    }
    out.push_str("</feed>\n");
    out
}
