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
use super::timing::NotifyTiming;
use crate::chart::{Chart, ChartSeries, Marks};
use crate::rules::Threshold;
use crate::rules::alerting::{Alert, AlertState, fingerprint};
use app::mail::{AlertMail, FollowUp, PersonalLinks, alert_mail};
use sqlx::SqliteConnection;
use std::collections::{BTreeSet, HashMap};
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

/// What the client was last told of a threshold's alarm (its row in `notification_log`).
#[derive(Clone, Debug, PartialEq)]
pub struct Told {
    /// When the alarm started (ms).
    pub since_ms: i64,
    /// When the last notice went out (ms).
    pub notified_ms: i64,
    /// The fingerprints of the alerts it named.
    pub alerts: BTreeSet<String>,
}

/// What the client is to be told about a threshold after an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// Alerts fire that no silence mutes: the first notice, a change, or a reminder.
    Alarm {
        /// `None`: the first notice of this alarm.
        follow_up: Option<FollowUp>,
        /// How many fire unmuted.
        count: usize,
        value: f64,
        /// When the alarm started (ms): the first of them started firing.
        since_ms: i64,
        /// Their fingerprints.
        alerts: BTreeSet<String>,
    },
    /// The client was told of the alarm raised at `since_ms`, and nothing fires any more.
    AllClear { value: f64, since_ms: i64, at_ms: i64 },
}

/// Decides the notice after an evaluation at `at_ms`, as an Alertmanager route with the
/// threshold as its group: `told` is what the client was last told of the alarm (`None`: told
/// nothing, or the all-clear), `muted` says whether a silence mutes an alert with those labels.
/// The first notice waits `group_wait` after the first alert fired; after a notice, nothing is
/// told before `group_interval` has passed, then a change of the alerts (or the end) is told,
/// and an unchanged alarm again after `repeat_interval`. Muted alerts raise no alarm; an alarm
/// the client was told of is cleared only once no alert fires at all, muted or not.
pub fn decide(
    alerts: &[Alert],
    muted: impl Fn(&Labels) -> bool,
    told: Option<&Told>,
    timing: &NotifyTiming,
    at_ms: i64,
) -> Option<Notice> {
    let firing: Vec<&Alert> = alerts.iter().filter(|a| a.state == AlertState::Firing).collect();
    let loud: Vec<&Alert> = firing.iter().copied().filter(|a| !muted(&a.labels)).collect();
    let first = loud.iter().min_by_key(|a| a.fired_at);
    let named = || {
        loud.iter()
            .map(|a| fingerprint(&a.labels))
            .collect::<BTreeSet<String>>()
    };
    let Some(told) = told else {
        let first = first.filter(|a| at_ms >= a.fired_at + timing.group_wait_ms())?;
        return Some(Notice::Alarm {
            follow_up: None,
            count: loud.len(),
            value: first.value,
            since_ms: first.fired_at,
            alerts: named(),
        });
    };
    if at_ms < told.notified_ms + timing.group_interval_ms() {
        return None;
    }
    if firing.is_empty() {
        let value = alerts
            .iter()
            .filter(|a| a.state == AlertState::Inactive)
            .max_by_key(|a| a.resolved_at)
            .map_or(f64::NAN, |a| a.value);
        return Some(Notice::AllClear {
            value,
            since_ms: told.since_ms,
            at_ms,
        });
    }
    let first = first?;
    let now = named();
    let follow_up = if now != told.alerts {
        FollowUp::Changed
    } else if at_ms >= told.notified_ms + timing.repeat_interval_ms() {
        FollowUp::Reminder {
            every_secs: timing.repeat_interval_secs,
        }
    } else {
        return None;
    };
    Some(Notice::Alarm {
        follow_up: Some(follow_up),
        count: loud.len(),
        value: first.value,
        since_ms: told.since_ms,
        alerts: now,
    })
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
    /// How long each drawing took (seconds), for the server's metrics.
    pub render_seconds: Vec<f64>,
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
            render_seconds: Vec::new(),
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
        let times = &mut self.render_seconds;
        self.drawn
            .entry(app::language_tag(locale))
            .or_insert_with(|| {
                let started = std::time::Instant::now();
                let png = chart
                    .png()
                    .map_err(|e| tracing::warn!(error = %e, "drawing a mail's chart"))
                    .ok();
                times.push(started.elapsed().as_secs_f64());
                png
            })
            .clone()
    }
}

/// Writes the messages of `notice` — a mail to every person of the threshold's client who
/// wants it, one to every channel of the client for its severity — and the threshold's
/// notification log (told at `notified_ms`); returns how many. `alerts` are the ones the notice is about (firing and
/// not muted for the alarm, resolved for the all-clear); with a `chart`, each mail shows it.
pub async fn enqueue_notice(
    tx: &mut SqliteConnection,
    threshold: &Threshold,
    notice: &Notice,
    alerts: &[Alert],
    mut chart: Option<&mut MailChart>,
    context: &MailContext,
    notified_ms: i64,
) -> Result<usize, sqlx::Error> {
    let (firing, follow_up, count, value, since_ms, lasted_secs) = match *notice {
        Notice::Alarm {
            follow_up,
            count,
            value,
            since_ms,
            ..
        } => (true, follow_up, count, value, since_ms, None),
        Notice::AllClear { value, since_ms, at_ms } => {
            let lasted = u32::try_from((at_ms - since_ms).max(0) / 1000).unwrap_or(u32::MAX);
            (false, None, 1, value, since_ms, Some(lasted))
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
        follow_up,
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
    let named = match notice {
        Notice::Alarm { alerts, .. } => serde_json::to_string(alerts).unwrap_or_else(|_| "[]".into()),
        Notice::AllClear { .. } => "[]".into(),
    };
    sqlx::query(
        "INSERT INTO notification_log (threshold_id, firing, since_ms, notified_ms, alerts) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (threshold_id) DO UPDATE SET firing = excluded.firing, since_ms = excluded.since_ms,
             notified_ms = excluded.notified_ms, alerts = excluded.alerts",
    )
    .bind(threshold.id)
    .bind(firing)
    .bind(since_ms)
    .bind(notified_ms)
    .bind(named)
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

    const TIMING: NotifyTiming = NotifyTiming {
        group_wait_secs: 10,
        group_interval_secs: 60,
        repeat_interval_secs: 3600,
    };

    fn told(since_ms: i64, notified_ms: i64, names: &[&str]) -> Told {
        Told {
            since_ms,
            notified_ms,
            alerts: names
                .iter()
                .map(|n| fingerprint(&alert(n, AlertState::Firing, 0, 0).labels))
                .collect(),
        }
    }

    fn alarm(notice: Option<Notice>) -> Option<(Option<FollowUp>, usize, i64)> {
        match notice? {
            Notice::Alarm {
                follow_up,
                count,
                since_ms,
                ..
            } => Some((follow_up, count, since_ms)),
            Notice::AllClear { .. } => None,
        }
    }

    #[test]
    fn the_first_notice_waits_group_wait_and_names_every_alert_that_fired_meanwhile() {
        let quiet = |_: &Labels| false;
        let firing = [
            alert("a", AlertState::Firing, 5_000, 0),
            alert("b", AlertState::Firing, 1_000, 0),
        ];
        assert_eq!(decide(&firing, quiet, None, &TIMING, 10_999), None);
        assert_eq!(
            decide(&firing, quiet, None, &TIMING, 11_000),
            Some(Notice::Alarm {
                follow_up: None,
                count: 2,
                value: 0.1,
                since_ms: 1_000,
                alerts: told(0, 0, &["a", "b"]).alerts,
            })
        );
        // Nothing fires and nothing was told: nothing to say.
        let over = [alert("a", AlertState::Inactive, 100, 400)];
        assert_eq!(decide(&over, quiet, None, &TIMING, 400_000), None);
        assert_eq!(decide(&[], quiet, None, &TIMING, 400_000), None);
    }

    #[test]
    fn after_a_notice_changes_wait_group_interval_and_an_unchanged_alarm_repeats() {
        let quiet = |_: &Labels| false;
        let one = [alert("a", AlertState::Firing, 1_000, 0)];
        let was = told(1_000, 11_000, &["a"]);
        // Unchanged: nothing until the reminder is due.
        assert_eq!(decide(&one, quiet, Some(&was), &TIMING, 71_000), None);
        assert_eq!(
            alarm(decide(&one, quiet, Some(&was), &TIMING, 3_611_000)),
            Some((Some(FollowUp::Reminder { every_secs: 3600 }), 1, 1_000))
        );
        // A second alert: told at the next group interval, not before.
        let two = [one[0].clone(), alert("b", AlertState::Firing, 20_000, 0)];
        assert_eq!(decide(&two, quiet, Some(&was), &TIMING, 70_999), None);
        assert_eq!(
            alarm(decide(&two, quiet, Some(&was), &TIMING, 71_000)),
            Some((Some(FollowUp::Changed), 2, 1_000))
        );
        // Over: the all-clear also waits for the group interval.
        let over = [alert("a", AlertState::Inactive, 1_000, 30_000)];
        assert_eq!(decide(&over, quiet, Some(&was), &TIMING, 40_000), None);
        assert_eq!(
            decide(&over, quiet, Some(&was), &TIMING, 71_000),
            Some(Notice::AllClear {
                value: 0.1,
                since_ms: 1_000,
                at_ms: 71_000
            })
        );
    }

    #[test]
    fn muted_alerts_raise_no_alarm_but_a_told_alarm_still_ends() {
        let muted_a = |labels: &Labels| labels.value("instance") == "a";
        let firing = [alert("a", AlertState::Firing, 100, 0)];
        assert_eq!(decide(&firing, muted_a, None, &TIMING, 200_000), None);
        // Muted after the alarm went out: no all-clear and no reminder while it still fires …
        let was = told(100, 10_100, &["a"]);
        assert_eq!(decide(&firing, muted_a, Some(&was), &TIMING, 9_000_000), None);
        // … and one when it is over.
        let over = [alert("a", AlertState::Inactive, 100, 400)];
        assert!(matches!(
            decide(&over, muted_a, Some(&was), &TIMING, 9_000_000),
            Some(Notice::AllClear { .. })
        ));
        // One of two muted: the alarm counts the other.
        let two = [
            alert("a", AlertState::Firing, 100, 0),
            alert("b", AlertState::Firing, 150, 0),
        ];
        assert_eq!(
            alarm(decide(&two, muted_a, None, &TIMING, 200_000)),
            Some((None, 1, 150))
        );
    }
}
