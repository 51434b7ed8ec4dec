//! Alertmanager configuration files (`alertmanager.yml`, 0.25), read for what Vitrine takes
//! over: the receivers' addresses, webhooks, Slack and PagerDuty integrations. Unknown keys are
//! refused with a line, a column and a hint, as Alertmanager refuses them. The top route's
//! timers (`group_wait`, `group_interval`, `repeat_interval`) and the inhibition rules are taken
//! over too. Every setting Vitrine does not use (the mail server and its credentials: mail always
//! leaves through the operator's `smtp_url`; the route tree's matchers and grouping: Vitrine
//! groups a client's alerts by threshold) is listed with where it stands, and so is a `{{ … }}`
//! placeholder left unresolved by a deployment template (a Helm value), which keeps its
//! integration from being imported.

use crate::duration::PromDuration;
use crate::import::{ImportError, duration, entries, invalid, items, join, load, string};
use crate::yaml::Node;

/// What the file gives Vitrine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertmanagerConfig {
    /// The receivers, in the file's order.
    pub receivers: Vec<Receiver>,
    /// The top route's timers.
    pub timers: RouteTimers,
    /// The inhibition rules, in the file's order.
    pub inhibit_rules: Vec<InhibitRule>,
    /// What is not taken over, in the file's order.
    pub notes: Vec<Note>,
}

/// When Alertmanager tells of a group of alerts: each as the top route sets it, `None` when
/// it is not set (Alertmanager's defaults are 30s, 5m and 4h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteTimers {
    /// How long a new group waits for more alerts before its first notification.
    pub group_wait: Option<PromDuration>,
    /// How long after a notification a change to the group is told.
    pub group_interval: Option<PromDuration>,
    /// How long after a notification an unchanged group is told again.
    pub repeat_interval: Option<PromDuration>,
}

/// One of `inhibit_rules`: matchers as Alertmanager writes them (`severity="critical"`; the
/// older `source_match` / `source_match_re` maps written the same way).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InhibitRule {
    /// 1-based line of the rule.
    pub line: usize,
    /// While an alert matching these fires, …
    pub source: Vec<String>,
    /// … alerts matching these are not told, …
    pub target: Vec<String>,
    /// … when these labels have the same values in both.
    pub equal: Vec<String>,
}

/// A receiver and the integrations Vitrine can send to.
#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    /// Unique in the file.
    pub name: String,
    /// In the file's order.
    pub integrations: Vec<Integration>,
}

/// Where a receiver sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Integration {
    /// `email_configs[].to`: one address each (a list written `a@x, b@y` gives several).
    Email {
        /// The address.
        to: String,
    },
    /// `webhook_configs[].url`.
    Webhook {
        /// Where Alertmanager's JSON is posted.
        url: String,
    },
    /// `slack_configs[].api_url` (or `global.slack_api_url`).
    Slack {
        /// The incoming webhook's URL.
        url: String,
    },
    /// `pagerduty_configs[]`: an Events API v2 integration.
    PagerDuty {
        /// The integration's key.
        routing_key: String,
        /// `url` (or `global.pagerduty_url`); `None`: PagerDuty's own.
        url: Option<String>,
    },
}

/// Why a part of the file is not taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// A setting Vitrine does not use (mail server, credentials, templates, sub-routes, time intervals).
    Setting,
    /// A value that still holds a `{{ … }}` placeholder.
    Placeholder,
    /// An integration Vitrine cannot send to (OpsGenie, Telegram, …).
    Unsupported,
}

/// One thing not taken over: where it is and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// As Alertmanager names it, e.g. `receivers[0].email_configs[0].smarthost`.
    pub path: String,
    /// 1-based.
    pub line: usize,
    /// Why.
    pub kind: NoteKind,
}

const TOP_LEVEL: [&str; 7] = [
    "global",
    "route",
    "receivers",
    "inhibit_rules",
    "templates",
    "time_intervals",
    "mute_time_intervals",
];
const GLOBAL: [&str; 22] = [
    "resolve_timeout",
    "http_config",
    "smtp_from",
    "smtp_hello",
    "smtp_smarthost",
    "smtp_auth_username",
    "smtp_auth_password",
    "smtp_auth_password_file",
    "smtp_auth_secret",
    "smtp_auth_identity",
    "smtp_require_tls",
    "slack_api_url",
    "slack_api_url_file",
    "victorops_api_key",
    "victorops_api_url",
    "pagerduty_url",
    "opsgenie_api_key",
    "opsgenie_api_url",
    "wechat_api_url",
    "wechat_api_secret",
    "wechat_api_corp_id",
    "telegram_api_url",
];
const UNSUPPORTED: [&str; 9] = [
    "opsgenie_configs",
    "pushover_configs",
    "victorops_configs",
    "wechat_configs",
    "telegram_configs",
    "sns_configs",
    "discord_configs",
    "webex_configs",
    "msteams_configs",
];

struct Reader {
    notes: Vec<Note>,
}

impl Reader {
    fn note(&mut self, path: &str, node: &Node, kind: NoteKind) {
        self.notes.push(Note {
            path: path.to_string(),
            line: node.line,
            kind,
        });
    }

    /// Lists every setting of `node` except `taken`, noting placeholders among them too.
    fn settings_not_taken(&mut self, node: &Node, path: &str, taken: &[&str]) -> Result<(), ImportError> {
        for (key, value) in entries(node, path, "settings")? {
            let name = key.key_text();
            if taken.contains(&name.as_str()) {
                continue;
            }
            let at = join(path, &name);
            let placeholder = matches!(string(value, &at), Ok(Some(s)) if s.contains("{{"));
            self.note(
                &at,
                key,
                if placeholder {
                    NoteKind::Placeholder
                } else {
                    NoteKind::Setting
                },
            );
        }
        Ok(())
    }

    /// The value of `name` in `node`, with its node; a placeholder is noted and read as absent.
    fn value<'n>(&mut self, node: &'n Node, path: &str, name: &str) -> Result<Option<(String, &'n Node)>, ImportError> {
        let Some((_, value)) = entries(node, path, "settings")?
            .iter()
            .find(|(k, _)| k.key_text() == name)
        else {
            return Ok(None);
        };
        let at = join(path, name);
        match string(value, &at)? {
            Some(s) if s.contains("{{") => {
                self.note(&at, value, NoteKind::Placeholder);
                Ok(None)
            }
            Some(s) if !s.trim().is_empty() => Ok(Some((s.trim().to_string(), value))),
            _ => Ok(None),
        }
    }
}

/// Checks that `node` has only keys among `known`, as Alertmanager's strict YAML does.
fn only_known(node: &Node, path: &str, known: &[&str], what: &str) -> Result<(), ImportError> {
    for (key, _) in entries(node, path, what)? {
        let name = key.key_text();
        if !known.contains(&name.as_str()) {
            return Err(invalid(
                &join(path, &name),
                key,
                format!("field {name} not found in type {what}"),
                format!("{what} has {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Reads an Alertmanager configuration.
///
/// ```
/// use vitrine_scrape_config::alertmanager_config::{parse_alertmanager_config, Integration};
/// let config = parse_alertmanager_config(
///     "route:\n  receiver: team\nreceivers:\n  - name: team\n    email_configs:\n      - to: team@shop.example\n",
/// ).unwrap();
/// assert_eq!(config.receivers[0].integrations, [Integration::Email { to: "team@shop.example".into() }]);
/// let err = parse_alertmanager_config("receivers:\n  - name: team\n    emial_configs: []\n").unwrap_err();
/// assert_eq!((err.line(), err.column()), (3, 5));
/// ```
pub fn parse_alertmanager_config(text: &str) -> Result<AlertmanagerConfig, ImportError> {
    let Some(root) = load(text, "alertmanager.yml")? else {
        return Ok(AlertmanagerConfig::default());
    };
    only_known(&root, "", &TOP_LEVEL, "config.plain")?;
    let mut reader = Reader { notes: Vec::new() };
    let section = |name: &str| entries(&root, "", "config.plain").map(|e| e.iter().find(|(k, _)| k.key_text() == name));
    let (mut slack_url, mut pagerduty_url) = (None, None);
    if let Some((_, global)) = section("global")? {
        only_known(global, "global", &GLOBAL, "config.GlobalConfig")?;
        slack_url = reader.value(global, "global", "slack_api_url")?.map(|(s, _)| s);
        pagerduty_url = reader.value(global, "global", "pagerduty_url")?.map(|(s, _)| s);
        reader.settings_not_taken(global, "global", &["slack_api_url", "pagerduty_url"])?;
    }
    let mut timers = RouteTimers::default();
    if let Some((_, route)) = section("route")? {
        // Every receiver is imported and the top route's timers; the tree's matchers are not used.
        let taken = ["receiver", "group_wait", "group_interval", "repeat_interval"];
        for (key, value) in entries(route, "route", "settings")? {
            let name = key.key_text();
            let at = join("route", &name);
            let slot = match name.as_str() {
                "group_wait" => &mut timers.group_wait,
                "group_interval" => &mut timers.group_interval,
                "repeat_interval" => &mut timers.repeat_interval,
                _ => continue,
            };
            *slot = duration(value, &at)?;
            if name != "group_wait" && slot.is_some_and(PromDuration::is_zero) {
                return Err(invalid(
                    &at,
                    value,
                    format!("{name} cannot be zero"),
                    "give a duration above zero, e.g. 5m",
                ));
            }
        }
        reader.settings_not_taken(route, "route", &taken)?;
    }
    let mut inhibit_rules = Vec::new();
    if let Some((_, list)) = section("inhibit_rules")? {
        for (i, node) in items(list, "inhibit_rules", "a list of inhibition rules")?
            .iter()
            .enumerate()
        {
            inhibit_rules.push(read_inhibit_rule(node, &format!("inhibit_rules[{i}]"))?);
        }
    }
    for name in ["templates", "time_intervals", "mute_time_intervals"] {
        if let Some((key, _)) = section(name)? {
            reader.note(name, key, NoteKind::Setting);
        }
    }
    let mut receivers: Vec<Receiver> = Vec::new();
    if let Some((_, list)) = section("receivers")? {
        for (i, node) in items(list, "receivers", "a list of receivers")?.iter().enumerate() {
            let path = format!("receivers[{i}]");
            let receiver = read_receiver(&mut reader, node, &path, slack_url.as_deref(), pagerduty_url.as_deref())?;
            if receivers.iter().any(|r| r.name == receiver.name) {
                return Err(invalid(
                    &join(&path, "name"),
                    node,
                    format!("notification config name {:?} is not unique", receiver.name),
                    "give each receiver its own name",
                ));
            }
            receivers.push(receiver);
        }
    }
    Ok(AlertmanagerConfig {
        receivers,
        timers,
        inhibit_rules,
        notes: reader.notes,
    })
}

const INHIBIT_RULE: [&str; 7] = [
    "source_matchers",
    "target_matchers",
    "source_match",
    "source_match_re",
    "target_match",
    "target_match_re",
    "equal",
];

fn read_inhibit_rule(node: &Node, path: &str) -> Result<InhibitRule, ImportError> {
    only_known(node, path, &INHIBIT_RULE, "config.InhibitRule")?;
    let mut rule = InhibitRule {
        line: node.line,
        ..InhibitRule::default()
    };
    for (key, value) in entries(node, path, "config.InhibitRule")? {
        let name = key.key_text();
        let at = join(path, &name);
        let strings = || -> Result<Vec<String>, ImportError> {
            items(value, &at, "a list of strings")?
                .iter()
                .map(|item| Ok(string(item, &at)?.unwrap_or_default()))
                .collect()
        };
        let map = |op: &str| -> Result<Vec<String>, ImportError> {
            entries(value, &at, "a map of label names to values")?
                .iter()
                .map(|(k, v)| Ok(format!("{}{op}{:?}", k.key_text(), string(v, &at)?.unwrap_or_default())))
                .collect()
        };
        match name.as_str() {
            "source_matchers" => rule.source.extend(strings()?),
            "target_matchers" => rule.target.extend(strings()?),
            "source_match" => rule.source.extend(map("=")?),
            "source_match_re" => rule.source.extend(map("=~")?),
            "target_match" => rule.target.extend(map("=")?),
            "target_match_re" => rule.target.extend(map("=~")?),
            _ => rule.equal = strings()?,
        }
    }
    Ok(rule)
}

fn read_receiver(
    reader: &mut Reader,
    node: &Node,
    path: &str,
    slack_url: Option<&str>,
    pagerduty_url: Option<&str>,
) -> Result<Receiver, ImportError> {
    let mut known = vec![
        "name",
        "email_configs",
        "webhook_configs",
        "slack_configs",
        "pagerduty_configs",
    ];
    known.extend(UNSUPPORTED);
    only_known(node, path, &known, "config.Receiver")?;
    let Some((name, _)) = reader.value(node, path, "name")? else {
        return Err(invalid(
            path,
            node,
            "missing name in receiver",
            "every receiver starts with `- name: …`",
        ));
    };
    let mut integrations = Vec::new();
    for (key, value) in entries(node, path, "config.Receiver")? {
        let field = key.key_text();
        let at = join(path, &field);
        if UNSUPPORTED.contains(&field.as_str()) {
            reader.note(&at, key, NoteKind::Unsupported);
            continue;
        }
        let taken: &[&str] = match field.as_str() {
            "email_configs" => &["to"],
            "webhook_configs" => &["url"],
            "slack_configs" => &["api_url"],
            "pagerduty_configs" => &["routing_key", "url"],
            _ => continue,
        };
        for (j, config) in items(value, &at, "a list of integrations")?.iter().enumerate() {
            let at = format!("{at}[{j}]");
            let first = |reader: &mut Reader, name: &str| reader.value(config, &at, name).map(|v| v.map(|(s, _)| s));
            match field.as_str() {
                "email_configs" => {
                    for to in first(reader, "to")?.iter().flat_map(|to| to.split(',')) {
                        let to = to.trim();
                        if !to.is_empty() {
                            integrations.push(Integration::Email { to: to.to_string() });
                        }
                    }
                }
                "webhook_configs" => {
                    if let Some(url) = first(reader, "url")? {
                        integrations.push(Integration::Webhook { url });
                    }
                }
                "slack_configs" => {
                    if let Some(url) = first(reader, "api_url")?.or_else(|| slack_url.map(str::to_string)) {
                        integrations.push(Integration::Slack { url });
                    }
                }
                _ => {
                    if let Some(routing_key) = first(reader, "routing_key")? {
                        let url = first(reader, "url")?.or_else(|| pagerduty_url.map(str::to_string));
                        integrations.push(Integration::PagerDuty { routing_key, url });
                    }
                }
            }
            reader.settings_not_taken(config, &at, taken)?;
        }
    }
    Ok(Receiver { name, integrations })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_003_imports_its_team_address_and_lists_the_rest() {
        let config = parse_alertmanager_config(include_str!("../tests/fixtures/seed003_alertmanager.yml")).unwrap();
        assert_eq!(
            config.receivers,
            [Receiver {
                name: "team-email".into(),
                integrations: vec![Integration::Email {
                    to: "team@valeo-neuroerp.com".into()
                }],
            }]
        );
        let notes: Vec<(&str, NoteKind)> = config.notes.iter().map(|n| (n.path.as_str(), n.kind)).collect();
        assert_eq!(
            notes,
            [
                ("global.resolve_timeout", NoteKind::Setting),
                ("route.group_by", NoteKind::Setting),
                ("receivers[0].email_configs[0].from", NoteKind::Setting),
                ("receivers[0].email_configs[0].smarthost", NoteKind::Setting),
                ("receivers[0].email_configs[0].auth_username", NoteKind::Setting),
                ("receivers[0].email_configs[0].auth_password", NoteKind::Placeholder),
            ]
        );
        assert_eq!(config.notes[5].line, 18);
        assert!(config.inhibit_rules.is_empty());
        let minutes = |m: u64| PromDuration::from_secs(m * 60);
        assert_eq!(
            config.timers,
            RouteTimers {
                group_wait: PromDuration::from_secs(30),
                group_interval: minutes(5),
                repeat_interval: minutes(60),
            }
        );
    }

    #[test]
    fn every_integration_vitrine_sends_to_is_read() {
        let config = parse_alertmanager_config(
            "global:\n  slack_api_url: https://hooks.slack.com/services/T/B/x\n\
             receivers:\n  - name: ops\n    slack_configs:\n      - channel: '#ops'\n\
             \x20   webhook_configs:\n      - url: https://hooks.example/am\n        send_resolved: true\n\
             \x20   pagerduty_configs:\n      - routing_key: abc123\n      - routing_key: '{{ .Values.pd }}'\n\
             \x20   opsgenie_configs:\n      - api_key: x\n\
             \x20 - name: two\n    email_configs:\n      - to: 'a@shop.example, b@shop.example'\n",
        )
        .unwrap();
        assert_eq!(
            config.receivers[0].integrations,
            [
                Integration::Slack {
                    url: "https://hooks.slack.com/services/T/B/x".into()
                },
                Integration::Webhook {
                    url: "https://hooks.example/am".into()
                },
                Integration::PagerDuty {
                    routing_key: "abc123".into(),
                    url: None
                },
            ]
        );
        assert_eq!(config.receivers[1].integrations.len(), 2);
        let kinds: Vec<(&str, NoteKind)> = config.notes.iter().map(|n| (n.path.as_str(), n.kind)).collect();
        assert!(kinds.contains(&("receivers[0].pagerduty_configs[1].routing_key", NoteKind::Placeholder)));
        assert!(kinds.contains(&("receivers[0].opsgenie_configs", NoteKind::Unsupported)));
        assert!(kinds.contains(&("receivers[0].slack_configs[0].channel", NoteKind::Setting)));
    }

    #[test]
    fn inhibition_rules_are_read_in_both_spellings() {
        let config = parse_alertmanager_config(
            "inhibit_rules:\n  - source_matchers: ['severity=\"critical\"']\n    target_matchers: ['severity=\"warning\"']\n    equal: [environment]\n\
             \x20 - source_match: {alertname: SiteDown}\n    target_match_re: {alertname: 'Slow.*'}\n",
        )
        .unwrap();
        assert_eq!(
            config.inhibit_rules,
            [
                InhibitRule {
                    line: 2,
                    source: vec!["severity=\"critical\"".into()],
                    target: vec!["severity=\"warning\"".into()],
                    equal: vec!["environment".into()],
                },
                InhibitRule {
                    line: 5,
                    source: vec!["alertname=\"SiteDown\"".into()],
                    target: vec!["alertname=~\"Slow.*\"".into()],
                    equal: vec![],
                },
            ]
        );
        assert!(config.notes.is_empty(), "{:?}", config.notes);
        let err = parse_alertmanager_config("inhibit_rules:\n  - source_matcher: []\n").unwrap_err();
        assert_eq!((err.line(), err.column()), (2, 5));
    }

    #[test]
    fn mistakes_are_refused_where_they_are() {
        for (text, line, column) in [
            ("rout:\n  receiver: x\n", 1, 1),
            ("receivers:\n  - email_configs: []\n", 2, 5),
            ("receivers:\n  - name: a\n  - name: a\n", 3, 5),
            ("global:\n  smtp_smarthst: x\n", 2, 3),
            ("receivers: [\n", 2, 1),
            ("route:\n  receiver: x\n  group_interval: 0s\n", 3, 19),
            ("route:\n  repeat_interval: often\n", 2, 20),
        ] {
            let err = parse_alertmanager_config(text).unwrap_err();
            assert_eq!((err.line(), err.column()), (line, column), "{text:?}: {err:?}");
        }
    }
}
