//! Evaluates every client's recording rules and thresholds' alert rules at the rule interval,
//! client by client: each client's rules run in their own task (its recording rules first, in
//! order, each result written to its store before the next runs, as in a Prometheus group) through a query runner of their own (its per-client slots
//! are not the API's or the pages', so open dashboards never cost a rule evaluation), and a
//! client whose previous round still runs skips this one (counted as missed) without delaying
//! any other client. State changes are written to SQLite (restored at start, as Prometheus
//! restores the `for` state) and the `ALERTS` / `ALERTS_FOR_STATE` series to the client's store.

use super::Threshold;
use super::alerting::fingerprint;
use super::alerting::{Alert, AlertState, RuleState, Transition};
use super::recording::RecordingRule;
use super::silences;
use crate::chart::{ChartSeries, Marks};
use crate::notify::alert::{CHART_MAX_SERIES, MailChart, MailContext, Notice, Told, concerned, decide, enqueue_notice};
use crate::notify::inhibit;
use crate::notify::outbox::Outbox;
use crate::notify::quiet_hours;
use crate::notify::timing::{self, NotifyTiming};
use crate::query::{Queries, Span};
use sqlx::SqlitePool;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vitrine_promql::{Labels, Value};
use vitrine_tsdb::Db;

/// Every client's recording rules and thresholds, by client id, in the order they run.
type ClientRules = HashMap<i64, (Vec<RecordingRule>, Vec<Threshold>)>;

/// A client's settings that decide what it is told this round.
struct NotifyContext {
    silences: Vec<silences::Silence>,
    timing: NotifyTiming,
    inhibit_rules: Vec<inhibit::InhibitRule>,
    /// Its quiet hours that hold now.
    quiet_now: Vec<quiet_hours::QuietHours>,
}

/// How the evaluator runs (from the server's configuration).
#[derive(Clone, Copy, Debug)]
pub struct RuleSettings {
    /// How often every rule is evaluated.
    pub interval: Duration,
    /// When clients without timers of their own are told.
    pub timing: NotifyTiming,
    /// The client's series limit, which recording rules count against as scrapes do.
    pub max_series_per_client: usize,
}

pub struct Evaluator {
    db: SqlitePool,
    tsdb: Arc<Db>,
    queries: Arc<Queries>,
    interval: Duration,
    /// Error mails go here, in the transaction that stores the state change.
    outbox: Arc<Outbox>,
    mail: MailContext,
    /// When clients without timers of their own are told.
    timing: NotifyTiming,
    max_series_per_client: usize,
    /// By threshold id.
    states: Mutex<HashMap<i64, RuleState>>,
    /// By threshold id: what the client was last told of the alarm (the notification log's
    /// firing rows).
    told: Mutex<HashMap<i64, Told>>,
    /// Clients whose round runs now.
    running: Mutex<HashSet<i64>>,
    /// The rules as last read, and the `rules_version` they were read at.
    rules: Mutex<Option<(i64, Arc<ClientRules>)>>,
    /// By threshold id: how its last evaluation went.
    health: Mutex<HashMap<i64, Health>>,
    /// By recording rule id: how its last evaluation went.
    recording_health: Mutex<HashMap<i64, Health>>,
    /// By recording rule id: its client and the series it wrote the last time (they get a
    /// staleness marker when it no longer gives them, or is removed).
    recorded: Mutex<HashMap<i64, (i64, HashSet<Labels>)>>,
    missed: AtomicU64,
    evaluations: AtomicU64,
    failures: AtomicU64,
    /// How long the last mails' charts took to draw (seconds), at most [`CHART_TIMES_KEPT`].
    chart_times: Mutex<std::collections::VecDeque<f64>>,
    /// Every chart drawn: how many, and the seconds in all.
    charts_drawn: Mutex<(u64, f64)>,
}

/// How many chart drawing times the quantiles of `/metrics` are taken over.
const CHART_TIMES_KEPT: usize = 10_000;

/// How a rule's last evaluation went.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Health {
    /// When it ran (ms), 0 before the first.
    pub last_ms: i64,
    /// How long it took.
    pub seconds: f64,
    pub error: Option<String>,
    /// How many series it gave.
    pub series: usize,
}

/// What the pages show of a threshold now.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// `None`: OK (nothing pending or firing).
    pub state: Option<AlertState>,
    /// Since when it is in that state (ms): pending since `active_at`, firing since `fired_at`.
    pub since_ms: i64,
    pub value: Option<f64>,
    /// How many series are pending or firing.
    pub alerts: usize,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn labels_json(labels: &Labels) -> String {
    let pairs: Vec<(&str, &str)> = labels.iter().collect();
    serde_json::to_string(&pairs).unwrap_or_default()
}

impl Evaluator {
    pub fn new(
        db: SqlitePool,
        tsdb: Arc<Db>,
        queries: Arc<Queries>,
        outbox: Arc<Outbox>,
        mail: MailContext,
        settings: RuleSettings,
    ) -> Arc<Evaluator> {
        Arc::new(Evaluator {
            db,
            tsdb,
            queries,
            interval: settings.interval,
            outbox,
            mail,
            timing: settings.timing,
            max_series_per_client: settings.max_series_per_client,
            states: Mutex::default(),
            told: Mutex::default(),
            running: Mutex::default(),
            rules: Mutex::default(),
            health: Mutex::default(),
            recording_health: Mutex::default(),
            recorded: Mutex::default(),
            missed: AtomicU64::new(0),
            evaluations: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            chart_times: Mutex::default(),
            charts_drawn: Mutex::default(),
        })
    }

    /// Loads the alerts kept at the last stop: pending ones keep counting their `for` from when
    /// they became active, firing ones stay firing; and what each client was last told.
    pub async fn restore(&self) -> Result<usize, sqlx::Error> {
        let told: Vec<(i64, i64, i64, String)> =
            sqlx::query_as("SELECT threshold_id, since_ms, notified_ms, alerts FROM notification_log WHERE firing = 1")
                .fetch_all(&self.db)
                .await?;
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, String, f64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT threshold_id, labels, state, value, active_at, fired_at, resolved_at, keep_firing_since
             FROM threshold_alerts",
        )
        .fetch_all(&self.db)
        .await?;
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let count = rows.len();
        for (id, labels, state, value, active_at, fired_at, resolved_at, keep_firing_since) in rows {
            let pairs: Vec<(String, String)> = serde_json::from_str(&labels).unwrap_or_default();
            let state = match state.as_str() {
                "pending" => AlertState::Pending,
                "firing" => AlertState::Firing,
                _ => AlertState::Inactive,
            };
            let labels = Labels::new(pairs);
            let alert = Alert {
                labels: labels.clone(),
                state,
                value,
                active_at,
                fired_at,
                resolved_at,
                keep_firing_since,
            };
            states.entry(id).or_default().alerts.insert(labels, alert);
        }
        let mut told_map = self.told.lock().unwrap_or_else(|p| p.into_inner());
        for (id, since_ms, notified_ms, alerts) in told {
            let mut alerts: std::collections::BTreeSet<String> = serde_json::from_str(&alerts).unwrap_or_default();
            // A row from before the log named its alerts: it told of those firing now.
            if alerts.is_empty() {
                alerts = states.get(&id).map_or_else(Default::default, |rule| {
                    rule.alerts
                        .values()
                        .filter(|a| a.state == AlertState::Firing)
                        .map(|a| fingerprint(&a.labels))
                        .collect()
                });
            }
            told_map.insert(
                id,
                Told {
                    since_ms,
                    notified_ms,
                    alerts,
                },
            );
        }
        Ok(count)
    }

    /// Evaluates at every interval until the process ends.
    pub async fn run(self: Arc<Self>) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            self.clone().start_round(now_ms()).await;
        }
    }

    /// Every client's rules, read again only when `rules_version` says they changed; `true`
    /// when they were read again.
    async fn rules(&self) -> Result<(Arc<ClientRules>, bool), crate::tenancy::TenancyError> {
        let version: i64 = sqlx::query_scalar("SELECT version FROM rules_version WHERE id = 1")
            .fetch_one(&self.db)
            .await?;
        if let Some((cached, rules)) = &*self.rules.lock().unwrap_or_else(|p| p.into_inner())
            && *cached == version
        {
            return Ok((rules.clone(), false));
        }
        let thresholds = super::all(&self.db).await?;
        let recordings = super::recording::all(&self.db).await?;
        let mut by_client: ClientRules = HashMap::new();
        for recording in recordings {
            by_client.entry(recording.client_id).or_default().0.push(recording);
        }
        for threshold in thresholds {
            by_client.entry(threshold.client_id).or_default().1.push(threshold);
        }
        let rules = Arc::new(by_client);
        *self.rules.lock().unwrap_or_else(|p| p.into_inner()) = Some((version, rules.clone()));
        Ok((rules, true))
    }

    /// Forgets the state of rules that are gone; what removed recording rules wrote ends at
    /// `ts`, as Prometheus ends a removed group's series.
    async fn forget_removed(&self, rules: &ClientRules, ts: i64) {
        let removed = {
            let ids: HashSet<i64> = rules.values().flat_map(|(_, t)| t.iter().map(|t| t.id)).collect();
            let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
            states.retain(|id, _| ids.contains(id));
            let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
            health.retain(|id, _| ids.contains(id));
            let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
            told.retain(|id, _| ids.contains(id));
            let ids: HashSet<i64> = rules.values().flat_map(|(r, _)| r.iter().map(|r| r.id)).collect();
            let mut health = self.recording_health.lock().unwrap_or_else(|p| p.into_inner());
            health.retain(|id, _| ids.contains(id));
            let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
            let removed: Vec<i64> = recorded.keys().filter(|id| !ids.contains(id)).copied().collect();
            removed
                .into_iter()
                .filter_map(|id| recorded.remove(&id))
                .collect::<Vec<_>>()
        };
        for (client_id, series) in removed {
            let stale = f64::from_bits(vitrine_tsdb::STALE_NAN);
            let points = series.into_iter().map(|labels| (labels, stale)).collect();
            if let Err(e) = self
                .write_points(crate::store::tenant(client_id), points, ts, usize::MAX)
                .await
            {
                tracing::warn!(client_id, error = %e, "ending the series of a removed recording rule");
            }
        }
    }

    /// Starts one round at `ts`: a task per client, skipping clients still in their last round.
    async fn start_round(self: Arc<Self>, ts: i64) {
        let (rules, read_again) = match self.rules().await {
            Ok(rules) => rules,
            Err(e) => {
                tracing::warn!(error = %e, "reading the rules");
                return;
            }
        };
        if read_again {
            self.forget_removed(&rules, ts).await;
        }
        for &client_id in rules.keys() {
            if !self.running.lock().unwrap_or_else(|p| p.into_inner()).insert(client_id) {
                self.missed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(client_id, "rule evaluation still running from the last round: skipped");
                continue;
            }
            let evaluator = self.clone();
            let rules = rules.clone();
            tokio::spawn(async move {
                if let Some((recordings, thresholds)) = rules.get(&client_id) {
                    evaluator.record(client_id, recordings, ts).await;
                    evaluator.evaluate_client(client_id, thresholds, ts).await;
                }
                evaluator
                    .running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&client_id);
            });
        }
    }

    /// What the client's notices are decided with at `ts`: its silences, timers, inhibition
    /// rules and quiet hours. `None` when one cannot be read: then nothing is told this round,
    /// so nothing goes out that one of them holds back.
    async fn notify_context(&self, client_id: i64, ts: i64) -> Option<NotifyContext> {
        let silences = silences::active(&self.db, client_id, ts)
            .await
            .map_err(|e| tracing::warn!(client_id, error = %e, "reading the silences"))
            .ok()?;
        let mut conn = self
            .db
            .acquire()
            .await
            .map_err(|e| tracing::warn!(client_id, error = %e, "reading the notification settings"))
            .ok()?;
        let timing = timing::of(&mut conn, client_id, self.timing).await.unwrap_or_else(|e| {
            tracing::warn!(client_id, error = %e, "reading when the client is told");
            self.timing
        });
        let inhibit_rules = inhibit::of_client(&mut conn, client_id)
            .await
            .map_err(|e| tracing::warn!(client_id, error = %e, "reading the inhibition rules"))
            .ok()?;
        let hours = quiet_hours::of_client(&mut conn, client_id)
            .await
            .map_err(|e| tracing::warn!(client_id, error = %e, "reading the quiet hours"))
            .ok()?;
        Some(NotifyContext {
            silences,
            timing,
            inhibit_rules,
            quiet_now: hours.into_iter().filter(|h| h.holds_at(ts)).collect(),
        })
    }

    /// Evaluates the thresholds of one client at `ts` (used by the round and by tests): every
    /// alert rule first, then what the client is told. The client's notification settings
    /// are read only when one of its thresholds has alerts, changed, or was told of.
    pub async fn evaluate_client(&self, client_id: i64, thresholds: &[Threshold], ts: i64) {
        let tenant = crate::store::tenant(client_id);
        let mut written: Vec<(Labels, f64)> = Vec::new();
        let mut evaluated: Vec<(&Threshold, Vec<Transition>, Vec<Alert>)> = Vec::with_capacity(thresholds.len());
        for threshold in thresholds {
            self.evaluations.fetch_add(1, Ordering::Relaxed);
            let started = std::time::Instant::now();
            let result = self.query(tenant, threshold, ts).await;
            let health = Health {
                last_ms: ts,
                seconds: started.elapsed().as_secs_f64(),
                error: result.as_ref().err().cloned(),
                series: result.as_ref().map_or(0, Vec::len),
            };
            self.health
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(threshold.id, health);
            let result = match result {
                Ok(result) => result,
                Err(e) => {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(threshold = threshold.id, error = %e, "threshold evaluation failed");
                    continue;
                }
            };
            let (transitions, series, alerts) = {
                let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
                let state = states.entry(threshold.id).or_default();
                let transitions = state.evaluate(
                    ts,
                    result,
                    i64::from(threshold.for_secs) * 1000,
                    i64::from(threshold.keep_firing_for_secs) * 1000,
                );
                let alerts: Vec<Alert> = state.alerts.values().cloned().collect();
                (transitions, state.series(), alerts)
            };
            written.extend(series);
            evaluated.push((threshold, transitions, alerts));
        }
        let anything_to_tell = {
            let told = self.told.lock().unwrap_or_else(|p| p.into_inner());
            evaluated.iter().any(|(t, transitions, alerts)| {
                !transitions.is_empty() || !alerts.is_empty() || told.contains_key(&t.id)
            })
        };
        if anything_to_tell {
            let context = self.notify_context(client_id, ts).await;
            // What fires of the client now, for its inhibition rules.
            let firing: Vec<Labels> = match context.as_ref().is_some_and(|c| !c.inhibit_rules.is_empty()) {
                true => self.firing_of(thresholds),
                false => Vec::new(),
            };
            for (threshold, transitions, alerts) in &evaluated {
                self.tell(threshold, transitions, alerts, context.as_ref(), &firing, ts)
                    .await;
            }
        }
        // The alerts' own series are written whatever the client's series limit.
        if !written.is_empty()
            && let Err(e) = self.write_points(tenant, written, ts, usize::MAX).await
        {
            tracing::warn!(client_id, error = %e, "writing the ALERTS series");
        }
    }

    /// Decides what the client is told of one threshold's alerts at `ts` (nothing without a
    /// context), and stores its state changes and the notice's messages.
    async fn tell(
        &self,
        threshold: &Threshold,
        transitions: &[Transition],
        alerts: &[Alert],
        context: Option<&NotifyContext>,
        firing: &[Labels],
        ts: i64,
    ) {
        let tenant = crate::store::tenant(threshold.client_id);
        let told = self
            .told
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&threshold.id)
            .cloned();
        let (notice, about) = match context {
            Some(context) => {
                let muted = |labels: &Labels| {
                    !silences::silenced_by(&context.silences, labels, ts).is_empty()
                        || !inhibit::inhibited_by(&context.inhibit_rules, firing, labels).is_empty()
                        || quiet_hours::quieted(&context.quiet_now, labels)
                };
                let notice = decide(alerts, muted, told.as_ref(), &context.timing, ts);
                let about = notice.as_ref().map_or_else(Vec::new, |n| concerned(n, alerts, muted));
                (notice, about)
            }
            None => (None, Vec::new()),
        };
        if transitions.is_empty() && notice.is_none() {
            return;
        }
        let mut chart = match &notice {
            Some(notice) => Some(self.mail_chart(tenant, threshold, notice, ts).await),
            None => None,
        };
        match self
            .persist(
                threshold,
                alerts,
                transitions,
                notice.as_ref().map(|n| (n, &about[..])),
                chart.as_mut(),
                ts,
            )
            .await
        {
            Ok(mails) => {
                let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
                match notice {
                    Some(Notice::Alarm { since_ms, alerts, .. }) => {
                        let now = Told {
                            since_ms,
                            notified_ms: ts,
                            alerts,
                        };
                        told.insert(threshold.id, now);
                    }
                    Some(Notice::AllClear { .. }) => {
                        told.remove(&threshold.id);
                    }
                    None => {}
                }
                if mails > 0 {
                    self.outbox.wake();
                }
                if let Some(chart) = &chart {
                    self.chart_drawn(&chart.render_seconds);
                }
            }
            Err(e) => tracing::warn!(threshold = threshold.id, error = %e, "storing the alert state"),
        }
    }

    /// Evaluates the client's recording rules at `ts`, one after the other, each result written
    /// to the store before the next rule runs; a series a rule gave last time and not now gets a
    /// staleness marker.
    pub async fn record(&self, client_id: i64, rules: &[RecordingRule], ts: i64) {
        let tenant = crate::store::tenant(client_id);
        for rule in rules {
            self.evaluations.fetch_add(1, Ordering::Relaxed);
            let started = std::time::Instant::now();
            let result = match rule.confined() {
                Ok(expr) => self
                    .queries
                    .run(tenant, expr, Span::Instant(ts), None)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|value| rule.samples(value)),
                Err(e) => Err(e),
            };
            let result = match result {
                Ok(samples) => self.write_recorded(client_id, rule.id, samples, ts).await,
                Err(e) => Err(e),
            };
            let health = Health {
                last_ms: ts,
                seconds: started.elapsed().as_secs_f64(),
                error: result.as_ref().err().cloned(),
                series: *result.as_ref().unwrap_or(&0),
            };
            if let Some(e) = &health.error {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::info!(recording_rule = rule.id, error = %e, "recording rule evaluation failed");
            }
            self.recording_health
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(rule.id, health);
        }
    }

    /// Writes a recording rule's samples at `ts` and staleness markers for the series it gave
    /// last time and not now; returns how many series it gave.
    async fn write_recorded(
        &self,
        client_id: i64,
        rule_id: i64,
        samples: Vec<(Labels, f64)>,
        ts: i64,
    ) -> Result<usize, String> {
        let now: HashSet<Labels> = samples.iter().map(|(labels, _)| labels.clone()).collect();
        let stale = f64::from_bits(vitrine_tsdb::STALE_NAN);
        let gone: Vec<(Labels, f64)> = self
            .recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&rule_id)
            .map(|(_, before)| before.difference(&now).map(|l| (l.clone(), stale)).collect())
            .unwrap_or_default();
        let count = samples.len();
        let points = samples.into_iter().chain(gone).collect();
        self.write_points(crate::store::tenant(client_id), points, ts, self.max_series_per_client)
            .await?;
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(rule_id, (client_id, now));
        Ok(count)
    }

    /// Writes points at `ts` into the tenant's store, off the async workers. A series beyond
    /// `max_series` of the tenant fails them all, and nothing is written.
    async fn write_points(
        &self,
        tenant: vitrine_tsdb::Tenant,
        points: Vec<(Labels, f64)>,
        ts: i64,
        max_series: usize,
    ) -> Result<(), String> {
        let tsdb = self.tsdb.clone();
        tokio::task::spawn_blocking(move || {
            let mut appender = tsdb.appender();
            for (labels, value) in &points {
                let pairs: Vec<(&str, &str)> = labels.iter().collect();
                let Some((series, _)) =
                    appender.series_within(tenant, &vitrine_tsdb::Labels::from_pairs(&pairs), max_series)
                else {
                    // The series made so far are in the head already: they are logged.
                    let _ = appender.rollback();
                    return Err(format!("the client's limit of {max_series} series is reached"));
                };
                appender.add(series, ts, *value);
            }
            appender.commit().map(|_| ()).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// The rule's result at `ts`: each series' labels (without the metric name, with the
    /// threshold's own) and value.
    async fn query(
        &self,
        tenant: vitrine_tsdb::Tenant,
        threshold: &Threshold,
        ts: i64,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let expr = threshold.rule_expr()?;
        let value = self
            .queries
            .run(tenant, expr, Span::Instant(ts), None)
            .await
            .map_err(|e| e.to_string())?;
        let Value::Vector(samples) = value else {
            return Err("the measured value is not a list of series".into());
        };
        Ok(samples
            .into_iter()
            .map(|sample| {
                let mut labels = sample.labels.without_name();
                for (name, value) in threshold.alert_labels() {
                    labels.set(name, &value);
                }
                (labels, sample.v)
            })
            .collect())
    }

    /// What the notice's mails show: the measured value over the last hours up to `ts`, with the
    /// threshold's line and when the alarm was raised (no series when the query fails).
    async fn mail_chart(
        &self,
        tenant: vitrine_tsdb::Tenant,
        threshold: &Threshold,
        notice: &Notice,
        ts: i64,
    ) -> MailChart {
        let start = ts - app::mail::CHART_HOURS * 3_600_000;
        // 180 points: as fine as the picture shows, and at least the rule interval.
        let step = ((ts - start) / 180).max(i64::try_from(self.interval.as_millis()).unwrap_or(1000));
        let since = match notice {
            Notice::Alarm { since_ms, .. } | Notice::AllClear { since_ms, .. } => *since_ms,
        };
        let series = match threshold.measured() {
            Ok(expr) => match self
                .queries
                .run(tenant, expr, Span::Range { start, end: ts, step }, None)
                .await
            {
                Ok(Value::Matrix(matrix)) => matrix
                    .iter()
                    .take(CHART_MAX_SERIES)
                    .enumerate()
                    .map(|(i, series)| ChartSeries {
                        colour: i,
                        points: series.points.iter().map(|p| (p.t, p.v)).collect(),
                    })
                    .collect(),
                Ok(_) => Vec::new(),
                Err(e) => {
                    tracing::info!(threshold = threshold.id, error = %e, "the mail's chart");
                    Vec::new()
                }
            },
            Err(_) => Vec::new(),
        };
        let marks = Marks {
            line: threshold.line(),
            warning: threshold.warning,
            crossed_at: Some(since),
        };
        MailChart::new(series, (start, ts, step), &threshold.unit, marks)
    }

    /// Stores the threshold's alerts and state changes and writes the messages of the notice
    /// (about those alerts, told at `ts`), in one transaction; returns how many messages.
    async fn persist(
        &self,
        threshold: &Threshold,
        alerts: &[Alert],
        transitions: &[Transition],
        notice: Option<(&Notice, &[Alert])>,
        chart: Option<&mut MailChart>,
        ts: i64,
    ) -> Result<usize, sqlx::Error> {
        let threshold_id = threshold.id;
        let mut tx = crate::db::write(&self.db).await?;
        sqlx::query("DELETE FROM threshold_alerts WHERE threshold_id = ?")
            .bind(threshold_id)
            .execute(&mut *tx)
            .await?;
        for alert in alerts {
            sqlx::query(
                "INSERT INTO threshold_alerts (threshold_id, labels, state, value, active_at, fired_at, resolved_at,
                     keep_firing_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(threshold_id)
            .bind(labels_json(&alert.labels))
            .bind(alert.state.as_str())
            .bind(alert.value)
            .bind(alert.active_at)
            .bind(alert.fired_at)
            .bind(alert.resolved_at)
            .bind(alert.keep_firing_since)
            .execute(&mut *tx)
            .await?;
        }
        for t in transitions {
            sqlx::query(
                "INSERT INTO threshold_events (threshold_id, labels, state, value, at_ms) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(threshold_id)
            .bind(labels_json(&t.labels))
            .bind(t.to.map_or("forgotten", AlertState::as_str))
            .bind(t.value)
            .bind(t.at)
            .execute(&mut *tx)
            .await?;
        }
        let mails = match notice {
            Some((notice, about)) => {
                // Every alarm the client is told of is a marker on its dashboards.
                match *notice {
                    Notice::Alarm {
                        follow_up: None,
                        since_ms,
                        ..
                    } => crate::markers::alarm_raised(&mut tx, threshold, since_ms).await?,
                    Notice::Alarm { .. } => {}
                    Notice::AllClear { since_ms, at_ms, .. } => {
                        crate::markers::alarm_over(&mut tx, threshold.id, since_ms, at_ms).await?
                    }
                }
                enqueue_notice(&mut tx, threshold, notice, about, chart, &self.mail, ts).await?
            }
            None => 0,
        };
        tx.commit().await?;
        Ok(mails)
    }

    /// The labels of every firing alert of these thresholds.
    pub fn firing_of(&self, thresholds: &[Threshold]) -> Vec<Labels> {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        thresholds
            .iter()
            .filter_map(|t| states.get(&t.id))
            .flat_map(|rule| rule.alerts.values())
            .filter(|a| a.state == AlertState::Firing)
            .map(|a| a.labels.clone())
            .collect()
    }

    fn chart_drawn(&self, seconds: &[f64]) {
        let mut times = self.chart_times.lock().unwrap_or_else(|p| p.into_inner());
        for s in seconds {
            if times.len() == CHART_TIMES_KEPT {
                times.pop_front();
            }
            times.push_back(*s);
        }
        let mut drawn = self.charts_drawn.lock().unwrap_or_else(|p| p.into_inner());
        drawn.0 += seconds.len() as u64;
        drawn.1 += seconds.iter().sum::<f64>();
    }

    /// The median and 95th percentile of the last charts' drawing times.
    fn chart_quantiles(&self) -> (f64, f64) {
        let mut times: Vec<f64> = self
            .chart_times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        if times.is_empty() {
            return (f64::NAN, f64::NAN);
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        (at(0.5), at(0.95))
    }

    /// When clients without timers of their own are told (the server's configuration).
    pub fn timing(&self) -> NotifyTiming {
        self.timing
    }

    /// The threshold's state now, for the pages.
    pub fn status(&self, threshold_id: i64) -> Status {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let rule = states.get(&threshold_id);
        let worst = rule.and_then(RuleState::worst);
        Status {
            state: worst.map(|a| a.state),
            since_ms: worst.map_or(0, |a| {
                if a.state == AlertState::Firing {
                    a.fired_at
                } else {
                    a.active_at
                }
            }),
            value: worst.map(|a| a.value),
            alerts: rule.map_or(0, |r| {
                r.alerts.values().filter(|a| a.state != AlertState::Inactive).count()
            }),
        }
    }

    /// The threshold's pending and firing alerts.
    pub fn alerts(&self, threshold_id: i64) -> Vec<Alert> {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let mut alerts: Vec<Alert> = states
            .get(&threshold_id)
            .map(|rule| {
                rule.alerts
                    .values()
                    .filter(|a| a.state != AlertState::Inactive)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
        alerts
    }

    pub fn health(&self, threshold_id: i64) -> Health {
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        health.get(&threshold_id).cloned().unwrap_or_default()
    }

    pub fn recording_health(&self, rule_id: i64) -> Health {
        let health = self.recording_health.lock().unwrap_or_else(|p| p.into_inner());
        health.get(&rule_id).cloned().unwrap_or_default()
    }

    /// `vitrine_rule_*` counters in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let (p50, p95) = self.chart_quantiles();
        let drawn = *self.charts_drawn.lock().unwrap_or_else(|p| p.into_inner());
        format!(
            "# HELP vitrine_rule_evaluations_total Rule evaluations (recording rules and thresholds).\n# TYPE vitrine_rule_evaluations_total counter\nvitrine_rule_evaluations_total {}\n\
             # HELP vitrine_rule_evaluation_failures_total Rule evaluations that failed.\n# TYPE vitrine_rule_evaluation_failures_total counter\nvitrine_rule_evaluation_failures_total {}\n\
             # HELP vitrine_rule_group_iterations_missed_total Client rounds skipped because the last one still ran.\n# TYPE vitrine_rule_group_iterations_missed_total counter\nvitrine_rule_group_iterations_missed_total {}\n\
             # HELP vitrine_mail_chart_render_seconds Time to draw an error mail's chart (quantiles of the last 10,000).\n# TYPE vitrine_mail_chart_render_seconds summary\n\
             vitrine_mail_chart_render_seconds{{quantile=\"0.5\"}} {}\nvitrine_mail_chart_render_seconds{{quantile=\"0.95\"}} {}\n\
             vitrine_mail_chart_render_seconds_sum {}\nvitrine_mail_chart_render_seconds_count {}\n",
            self.evaluations.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
            self.missed.load(Ordering::Relaxed),
            vitrine_promql::go::format_float(p50),
            vitrine_promql::go::format_float(p95),
            drawn.1,
            drawn.0,
        )
    }
}

/// The mails of a threshold's recent notices (newest first): (alarm, at ms, recipients,
/// delivered). The mails of one notice are written in one transaction, with one time.
pub async fn mails(db: &SqlitePool, threshold_id: i64, limit: i64) -> Result<Vec<(bool, i64, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT kind = 'alert', created_ms, COUNT(*), SUM(state = 'sent') FROM outbox WHERE threshold_id = ?
         GROUP BY kind, created_ms ORDER BY created_ms DESC LIMIT ?",
    )
    .bind(threshold_id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A threshold's recent state changes (newest first): (state, value, at ms).
pub async fn history(db: &SqlitePool, threshold_id: i64, limit: i64) -> Result<Vec<(String, f64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT state, value, at_ms FROM threshold_events WHERE threshold_id = ? AND state != 'forgotten'
         ORDER BY at_ms DESC, id DESC LIMIT ?",
    )
    .bind(threshold_id)
    .bind(limit)
    .fetch_all(db)
    .await
}
