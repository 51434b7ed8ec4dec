//! The error mails of a threshold: when an alert fires that no silence mutes, every person of
//! the client gets a mail in their language (the alarm), and once the client was told of an
//! alarm, another when the last of the threshold's alerts is resolved (the all-clear); the
//! client's channels (`channels`) get the same, in the client's language. What the
//! client was last told is the threshold's row in `notification_log` (Alertmanager's nflog): the
//! mails and that row are written in the transaction that stores the alert state, so a state
//! change, its mails and the log are kept or lost together and a restart repeats nothing.

use super::channels;
use super::outbox::{NewMail, chart_cid, enqueue};
use super::preferences::{Person, people, unsubscribe_token};
use crate::chart::{Chart, ChartSeries, Marks};
use crate::rules::Threshold;
use crate::rules::alerting::{Alert, AlertState};
use app::mail::{AlertMail, PersonalLinks, alert_mail};
use sqlx::SqliteConnection;
use std::collections::HashMap;
use vitrine_promql::Labels;

/// Where links in mails point and what Message-IDs end with.
#[derive(Clone, Debug)]
pub struct MailContext {
    /// The server's public address, e.g. `https://vitrine.agency.example`.
    pub public_base: String,
    /// The host part of Message-IDs.
    pub host: String,
}

impl MailContext {
    pub fn new(public_base: &str) -> MailContext {
        let host = public_base
            .split("://")
            .nth(1)
            .unwrap_or(public_base)
            .split(['/', ':'])
            .next()
            .filter(|h| !h.is_empty())
            .unwrap_or("vitrine.localhost")
            .to_string();
        MailContext {
            public_base: public_base.trim_end_matches('/').to_string(),
            host,
        }
    }
}

/// What the client is to be told about a threshold after an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// Alerts fire that no silence mutes, and the client has not been told yet.
    Alarm {
        /// How many fire unmuted.
        count: usize,
        value: f64,
        /// When the first of them started firing (ms).
        since_ms: i64,
    },
    /// The client was told of the alarm raised at `since_ms`, and nothing fires any more.
    AllClear { value: f64, since_ms: i64, at_ms: i64 },
}

/// Decides the notice after an evaluation at `at_ms`: `told` is when the alarm the client was
/// last told of started (`None`: told nothing, or the all-clear), `muted` says whether a silence
/// mutes an alert with those labels. Muted alerts raise no alarm; an alarm the client was told
/// of is cleared only once no alert fires at all, muted or not.
pub fn decide(alerts: &[Alert], muted: impl Fn(&Labels) -> bool, told: Option<i64>, at_ms: i64) -> Option<Notice> {
    let firing: Vec<&Alert> = alerts.iter().filter(|a| a.state == AlertState::Firing).collect();
    match told {
        None => {
            let loud: Vec<&&Alert> = firing.iter().filter(|a| !muted(&a.labels)).collect();
            let first = loud.iter().min_by_key(|a| a.fired_at)?;
            Some(Notice::Alarm {
                count: loud.len(),
                value: first.value,
                since_ms: first.fired_at,
            })
        }
        Some(since_ms) if firing.is_empty() => {
            let value = alerts
                .iter()
                .filter(|a| a.state == AlertState::Inactive)
                .max_by_key(|a| a.resolved_at)
                .map_or(f64::NAN, |a| a.value);
            Some(Notice::AllClear { value, since_ms, at_ms })
        }
        Some(_) => None,
    }
}

/// The alerts a notice is about: for the alarm those firing that no silence mutes, for the
/// all-clear the resolved ones.
pub fn concerned(notice: &Notice, alerts: &[Alert], muted: impl Fn(&Labels) -> bool) -> Vec<Alert> {
    alerts
        .iter()
        .filter(|a| match notice {
            Notice::Alarm { .. } => a.state == AlertState::Firing && !muted(&a.labels),
            Notice::AllClear { .. } => a.state == AlertState::Inactive,
        })
        .cloned()
        .collect()
}

/// How many series a mail's chart shows at most.
pub const CHART_MAX_SERIES: usize = 10;

/// What a mail's chart shows: the threshold's measured value over the last [`app::mail::CHART_HOURS`]
/// with its line and the moment it was crossed; drawn once per language of the recipients.
pub struct MailChart {
    pub series: Vec<ChartSeries>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
    /// The threshold's unit, for the value axis.
    pub unit: String,
    pub marks: Marks,
    drawn: HashMap<&'static str, Option<Vec<u8>>>,
}

impl MailChart {
    pub fn new(
        series: Vec<ChartSeries>,
        (start_ms, end_ms, step_ms): (i64, i64, i64),
        unit: &str,
        marks: Marks,
    ) -> MailChart {
        MailChart {
            series,
            start_ms,
            end_ms,
            step_ms,
            unit: unit.to_string(),
            marks,
            drawn: HashMap::new(),
        }
    }

    /// The PNG in `locale`'s number format; `None` when it cannot be drawn (the mail goes
    /// without it).
    pub fn png(&mut self, locale: app::Locale) -> Option<Vec<u8>> {
        let chart = Chart {
            series: &self.series,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            step_ms: self.step_ms,
            locale,
            unit: Some(&self.unit),
            marks: self.marks,
            markers: &[],
        };
        self.drawn
            .entry(app::language_tag(locale))
            .or_insert_with(|| {
                chart
                    .png()
                    .map_err(|e| tracing::warn!(error = %e, "drawing a mail's chart"))
                    .ok()
            })
            .clone()
    }
}

/// Writes the messages of `notice` — a mail to every person of the threshold's client who
/// wants it, one to every channel of the client for its severity — and the threshold's
/// notification log; returns how many. `alerts` are the ones the notice is about (firing and
/// not muted for the alarm, resolved for the all-clear); with a `chart`, each mail shows it.
pub async fn enqueue_notice(
    tx: &mut SqliteConnection,
    threshold: &Threshold,
    notice: &Notice,
    alerts: &[Alert],
    mut chart: Option<&mut MailChart>,
    context: &MailContext,
) -> Result<usize, sqlx::Error> {
    let (firing, count, value, since_ms, lasted_secs) = match *notice {
        Notice::Alarm { count, value, since_ms } => (true, count, value, since_ms, None),
        Notice::AllClear { value, since_ms, at_ms } => {
            let lasted = u32::try_from((at_ms - since_ms).max(0) / 1000).unwrap_or(u32::MAX);
            (false, 1, value, since_ms, Some(lasted))
        }
    };
    let (agency_id, client_slug, client_name, client_language): (i64, String, String, String) =
        sqlx::query_as("SELECT agency_id, slug, name, language FROM clients WHERE id = ?")
            .bind(threshold.client_id)
            .fetch_one(&mut *tx)
            .await?;
    // Those who want mails of this severity and project, when the contract has the add-on;
    // the agency's channels are told regardless.
    let entitled = crate::billing::entitlements::of(&mut *tx, threshold.client_id, crate::billing::now_ms()).await?;
    let recipients: Vec<Person> = match entitled.has(crate::billing::catalogue::Feature::ClientMails) {
        true => people(&mut *tx, threshold.client_id).await?,
        false => Vec::new(),
    }
    .into_iter()
    .filter(|person| person.wants.wants(&threshold.severity, &threshold.project))
    .collect();
    let place = match &threshold.environment {
        Some(environment) => format!("{} / {environment}", threshold.project),
        None => threshold.project.clone(),
    };
    // What every message says; each reader's language and links are filled in below.
    let said = AlertMail {
        client_name,
        place,
        threshold: threshold.name.clone(),
        firing,
        count,
        value,
        unit: threshold.unit.clone(),
        comparison: threshold.comparator,
        line: threshold.value,
        for_secs: threshold.for_secs,
        since_ms,
        lasted_secs,
        meaning: String::new(),
        action: String::new(),
        audience: String::new(),
        link: format!(
            "{}/clients/{client_slug}/thresholds#threshold-{}",
            context.public_base, threshold.id
        ),
        chart_cid: None,
        personal: None,
    };
    // In `language`, with the chart drawn in its number format.
    let mut in_language = |language: &str| {
        let explanation = threshold.explanation(language, alerts.first(), &context.public_base);
        let locale = app::locale_from_tag(&[language]);
        let chart_png = chart.as_mut().and_then(|chart| chart.png(locale));
        let mail = AlertMail {
            chart_cid: chart_png.as_ref().map(|_| chart_cid(&context.host)),
            meaning: explanation.meaning,
            action: explanation.action,
            audience: explanation.audience,
            ..said.clone()
        };
        (locale, mail, chart_png)
    };
    let kind = if firing { "alert" } else { "resolved" };
    for person in &recipients {
        let unsubscribe_url = unsubscribe_token(person.user_id, threshold.client_id)
            .map(|token| format!("{}/unsubscribe/{token}", context.public_base));
        let (locale, mut mail, chart_png) = in_language(&person.language);
        mail.personal = Some(PersonalLinks {
            unsubscribe: unsubscribe_url.clone().unwrap_or_default(),
            settings: format!("{}/account#mails", context.public_base),
        });
        let rendered = alert_mail(locale, &mail);
        let new = NewMail {
            agency_id,
            client_id: Some(threshold.client_id),
            threshold_id: Some(threshold.id),
            chart_png,
            unsubscribe_url,
            kind,
            recipient: person.email.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            ..NewMail::default()
        };
        enqueue(tx, &new, &context.host).await?;
    }
    let (locale, mail, chart_png) = in_language(&client_language);
    let rendered = alert_mail(locale, &mail);
    let message = channels::Message {
        agency_id,
        threshold,
        mail: &mail,
        rendered: &rendered,
        locale,
        alerts,
        chart_png,
        context,
        test: false,
    };
    let sent_to_channels = channels::enqueue_all(tx, &message, None, &entitled).await?;
    sqlx::query(
        "INSERT INTO notification_log (threshold_id, firing, since_ms) VALUES (?, ?, ?)
         ON CONFLICT (threshold_id) DO UPDATE SET firing = excluded.firing, since_ms = excluded.since_ms",
    )
    .bind(threshold.id)
    .bind(firing)
    .bind(since_ms)
    .execute(&mut *tx)
    .await?;
    Ok(recipients.len() + sent_to_channels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, state: AlertState, fired_at: i64, resolved_at: i64) -> Alert {
        Alert {
            labels: Labels::from_pairs(&[("alertname", "Errors"), ("instance", name)]),
            state,
            value: 0.1,
            active_at: 0,
            fired_at,
            resolved_at,
            keep_firing_since: 0,
        }
    }

    #[test]
    fn the_client_is_told_once_of_an_alarm_and_once_of_its_end() {
        let quiet = |_: &Labels| false;
        let firing = [
            alert("a", AlertState::Firing, 100, 0),
            alert("b", AlertState::Firing, 50, 0),
        ];
        assert_eq!(
            decide(&firing, quiet, None, 200),
            Some(Notice::Alarm {
                count: 2,
                value: 0.1,
                since_ms: 50
            })
        );
        // Told already: nothing while it fires.
        assert_eq!(decide(&firing, quiet, Some(50), 300), None);
        let over = [alert("a", AlertState::Inactive, 100, 400)];
        assert_eq!(
            decide(&over, quiet, Some(50), 400),
            Some(Notice::AllClear {
                value: 0.1,
                since_ms: 50,
                at_ms: 400
            })
        );
        // Nothing fires and nothing was told: nothing to say.
        assert_eq!(decide(&over, quiet, None, 400), None);
        assert_eq!(decide(&[], quiet, None, 400), None);
    }

    #[test]
    fn muted_alerts_raise_no_alarm_but_a_told_alarm_still_ends() {
        let muted_a = |labels: &Labels| labels.value("instance") == "a";
        let firing = [alert("a", AlertState::Firing, 100, 0)];
        assert_eq!(decide(&firing, muted_a, None, 200), None);
        // Muted after the alarm went out: no all-clear while it still fires …
        assert_eq!(decide(&firing, muted_a, Some(100), 300), None);
        // … and one when it is over.
        let over = [alert("a", AlertState::Inactive, 100, 400)];
        assert!(matches!(
            decide(&over, muted_a, Some(100), 400),
            Some(Notice::AllClear { .. })
        ));
        // One of two muted: the alarm counts the other.
        let two = [
            alert("a", AlertState::Firing, 100, 0),
            alert("b", AlertState::Firing, 150, 0),
        ];
        assert_eq!(
            decide(&two, muted_a, None, 200),
            Some(Notice::Alarm {
                count: 1,
                value: 0.1,
                since_ms: 150
            })
        );
    }
}
