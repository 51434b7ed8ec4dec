//! The state of one alerting rule, evaluated as Prometheus 2.42 does (`rules/alerting.go`):
//! a series of the rule's result becomes a pending alert, firing once it has been active for
//! the rule's `for`; it stays firing for `keep_firing_for` after it left the result; then it is
//! resolved, and kept 15 minutes as resolved (so notifications can say so) before it is
//! forgotten. A pending alert that leaves the result is forgotten at once.

use std::collections::HashMap;
use vitrine_promql::Labels;

/// An alert's fingerprint: 16 hex digits of its label set (Alertmanager's API and webhooks).
pub fn fingerprint(labels: &Labels) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (name, value) in labels.iter() {
        hasher.update(name.as_bytes());
        hasher.update([0xff]);
        hasher.update(value.as_bytes());
        hasher.update([0xff]);
    }
    hex::encode(&hasher.finalize()[..8])
}

/// RFC 3339 with milliseconds, as Prometheus and Alertmanager write times.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Labels as a JSON object, as the APIs and webhooks write them.
pub fn labels_object(labels: &Labels) -> serde_json::Value {
    serde_json::Value::Object(
        labels
            .iter()
            .map(|(n, v)| (n.to_string(), serde_json::json!(v)))
            .collect(),
    )
}

/// How long a resolved alert is kept (Prometheus' `resolvedRetention`).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Pending,
    Firing,
    /// Resolved: out of the result (and past `keep_firing_for`).
    Inactive,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Inactive => "inactive",
        }
    }
}

/// One alert: a series of the rule's result and its state.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    pub state: AlertState,
    /// The value at the last evaluation that had the series.
    pub value: f64,
    /// When it entered the result (ms).
    pub active_at: i64,
    /// When it started firing (ms), 0 before.
    pub fired_at: i64,
    /// When it was resolved (ms), 0 while active.
    pub resolved_at: i64,
    /// When it left the result while firing (ms), 0 while in it: `keep_firing_for` counts from here.
    pub keep_firing_since: i64,
}

/// What an evaluation changed, for the history and the notifications.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub labels: Labels,
    pub from: Option<AlertState>,
    /// `None`: forgotten (a pending alert that left the result).
    pub to: Option<AlertState>,
    pub value: f64,
    pub at: i64,
}

/// The alerts of one rule, keyed by their label set.
#[derive(Clone, Debug, Default)]
pub struct RuleState {
    pub alerts: HashMap<Labels, Alert>,
}

impl RuleState {
    /// Applies one evaluation at `ts` (ms) whose result is `result` (the alert's label set
    /// and the value); `for_ms` and `keep_firing_for_ms` are the rule's durations.
    pub fn evaluate(
        &mut self,
        ts: i64,
        result: Vec<(Labels, f64)>,
        for_ms: i64,
        keep_firing_for_ms: i64,
    ) -> Vec<Transition> {
        let mut transitions = Vec::new();
        let mut seen = std::collections::HashSet::with_capacity(result.len());
        for (labels, value) in result {
            seen.insert(labels.clone());
            match self.alerts.get_mut(&labels) {
                Some(alert) if alert.state != AlertState::Inactive => {
                    alert.value = value;
                    alert.keep_firing_since = 0;
                }
                _ => {
                    let from = self.alerts.get(&labels).map(|a| a.state);
                    transitions.push(Transition {
                        labels: labels.clone(),
                        from,
                        to: Some(AlertState::Pending),
                        value,
                        at: ts,
                    });
                    self.alerts.insert(
                        labels.clone(),
                        Alert {
                            labels,
                            state: AlertState::Pending,
                            value,
                            active_at: ts,
                            fired_at: 0,
                            resolved_at: 0,
                            keep_firing_since: 0,
                        },
                    );
                }
            }
        }
        self.alerts.retain(|labels, alert| {
            if seen.contains(labels) {
                return true;
            }
            if alert.state == AlertState::Firing && keep_firing_for_ms > 0 {
                if alert.keep_firing_since == 0 {
                    alert.keep_firing_since = ts;
                }
                if ts - alert.keep_firing_since < keep_firing_for_ms {
                    return true;
                }
            }
            match alert.state {
                AlertState::Pending => {
                    transitions.push(Transition {
                        labels: labels.clone(),
                        from: Some(AlertState::Pending),
                        to: None,
                        value: alert.value,
                        at: ts,
                    });
                    false
                }
                AlertState::Inactive => ts - alert.resolved_at <= RESOLVED_RETENTION_MS,
                AlertState::Firing => {
                    alert.state = AlertState::Inactive;
                    alert.resolved_at = ts;
                    transitions.push(Transition {
                        labels: labels.clone(),
                        from: Some(AlertState::Firing),
                        to: Some(AlertState::Inactive),
                        value: alert.value,
                        at: ts,
                    });
                    true
                }
            }
        });
        for alert in self.alerts.values_mut() {
            if alert.state == AlertState::Pending && ts - alert.active_at >= for_ms {
                alert.state = AlertState::Firing;
                alert.fired_at = ts;
                transitions.push(Transition {
                    labels: alert.labels.clone(),
                    from: Some(AlertState::Pending),
                    to: Some(AlertState::Firing),
                    value: alert.value,
                    at: ts,
                });
            }
        }
        transitions
    }

    /// The `ALERTS` and `ALERTS_FOR_STATE` samples of this evaluation, as Prometheus writes them:
    /// `ALERTS{alertstate="pending"|"firing", …} 1` and `ALERTS_FOR_STATE{…} active_at` in seconds.
    pub fn series(&self) -> Vec<(Labels, f64)> {
        let mut out = Vec::new();
        for alert in self.alerts.values() {
            if alert.state == AlertState::Inactive {
                continue;
            }
            let mut pairs: Vec<(String, String)> = alert
                .labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            pairs.push(("__name__".into(), "ALERTS_FOR_STATE".into()));
            out.push((Labels::new(pairs.clone()), alert.active_at as f64 / 1000.0));
            pairs.push(("__name__".into(), "ALERTS".into()));
            pairs.push(("alertstate".into(), alert.state.as_str().into()));
            out.push((Labels::new(pairs), 1.0));
        }
        out
    }

    /// The worst state of the rule's alerts: firing over pending over none.
    pub fn worst(&self) -> Option<&Alert> {
        let rank = |a: &Alert| match a.state {
            AlertState::Firing => 2,
            AlertState::Pending => 1,
            AlertState::Inactive => 0,
        };
        self.alerts
            .values()
            .filter(|a| a.state != AlertState::Inactive)
            .max_by(|a, b| rank(a).cmp(&rank(b)).then(b.active_at.cmp(&a.active_at)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Labels {
        Labels::from_pairs(&[("alertname", "errors"), ("instance", "shop")])
    }

    fn states(rule: &RuleState) -> Vec<AlertState> {
        rule.alerts.values().map(|a| a.state).collect()
    }

    #[test]
    fn pending_then_firing_after_for_then_resolved_and_forgotten() {
        let mut rule = RuleState::default();
        let s = 1000;
        let t = rule.evaluate(0, vec![(shop(), 0.05)], 60 * s, 0);
        assert_eq!(t[0].to, Some(AlertState::Pending));
        assert!(rule.evaluate(30 * s, vec![(shop(), 0.06)], 60 * s, 0).is_empty());
        let t = rule.evaluate(60 * s, vec![(shop(), 0.07)], 60 * s, 0);
        assert_eq!(
            (t[0].from, t[0].to),
            (Some(AlertState::Pending), Some(AlertState::Firing))
        );
        assert_eq!(rule.alerts[&shop()].fired_at, 60 * s);
        assert_eq!(rule.alerts[&shop()].value, 0.07);
        let t = rule.evaluate(90 * s, vec![], 60 * s, 0);
        assert_eq!(t[0].to, Some(AlertState::Inactive));
        assert_eq!(rule.alerts[&shop()].resolved_at, 90 * s);
        assert!(rule.series().is_empty(), "a resolved alert writes no ALERTS");
        // Kept 15 minutes as resolved, then forgotten.
        rule.evaluate(90 * s + RESOLVED_RETENTION_MS, vec![], 60 * s, 0);
        assert_eq!(states(&rule), [AlertState::Inactive]);
        rule.evaluate(91 * s + RESOLVED_RETENTION_MS, vec![], 60 * s, 0);
        assert!(rule.alerts.is_empty());
    }

    #[test]
    fn a_pending_alert_that_leaves_is_forgotten_and_starts_over() {
        let mut rule = RuleState::default();
        rule.evaluate(0, vec![(shop(), 1.0)], 60_000, 0);
        let t = rule.evaluate(15_000, vec![], 60_000, 0);
        assert_eq!(t[0].to, None);
        assert!(rule.alerts.is_empty());
        rule.evaluate(30_000, vec![(shop(), 1.0)], 60_000, 0);
        assert_eq!(rule.alerts[&shop()].active_at, 30_000);
        assert!(rule.evaluate(75_000, vec![(shop(), 1.0)], 60_000, 0).is_empty());
        assert_eq!(states(&rule), [AlertState::Pending]);
    }

    #[test]
    fn zero_for_fires_at_the_first_evaluation_and_a_resolved_alert_comes_back_pending() {
        let mut rule = RuleState::default();
        let t = rule.evaluate(0, vec![(shop(), 1.0)], 0, 0);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(states(&rule), [AlertState::Firing]);
        rule.evaluate(15_000, vec![], 0, 0);
        let t = rule.evaluate(30_000, vec![(shop(), 1.0)], 60_000, 0);
        assert_eq!(
            (t[0].from, t[0].to),
            (Some(AlertState::Inactive), Some(AlertState::Pending))
        );
    }

    #[test]
    fn keep_firing_for_holds_a_firing_alert_and_resets_when_it_returns() {
        let mut rule = RuleState::default();
        rule.evaluate(0, vec![(shop(), 1.0)], 0, 60_000);
        assert!(rule.evaluate(15_000, vec![], 0, 60_000).is_empty());
        assert_eq!(states(&rule), [AlertState::Firing]);
        rule.evaluate(30_000, vec![(shop(), 1.0)], 0, 60_000);
        assert_eq!(rule.alerts[&shop()].keep_firing_since, 0);
        rule.evaluate(45_000, vec![], 0, 60_000);
        assert!(rule.evaluate(104_000, vec![], 0, 60_000).is_empty());
        let t = rule.evaluate(105_000, vec![], 0, 60_000);
        assert_eq!(t[0].to, Some(AlertState::Inactive));
    }

    #[test]
    fn alerts_series_as_prometheus_writes_them() {
        let mut rule = RuleState::default();
        rule.evaluate(1_700_000_000_000, vec![(shop(), 0.2)], 60_000, 0);
        let mut series = rule.series();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            series,
            vec![
                (
                    Labels::from_pairs(&[
                        ("__name__", "ALERTS"),
                        ("alertname", "errors"),
                        ("alertstate", "pending"),
                        ("instance", "shop")
                    ]),
                    1.0
                ),
                (
                    Labels::from_pairs(&[
                        ("__name__", "ALERTS_FOR_STATE"),
                        ("alertname", "errors"),
                        ("instance", "shop")
                    ]),
                    1_700_000_000.0
                ),
            ]
        );
    }
}
