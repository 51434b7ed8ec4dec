//! Configuration: an optional TOML file, then `VITRINE_*` environment
//! variables on top. Every option is documented in the README.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the configuration file {path} is not valid: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("environment variable {name}={value:?} is not valid: {reason}")]
    Env {
        name: &'static str,
        value: String,
        reason: String,
    },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port the HTTP server binds (`VITRINE_LISTEN`). Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory for the SQLite database, the session key and later the time-series store (`VITRINE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The address people use to reach Vitrine, used in links such as invitations (`VITRINE_PUBLIC_URL`).
    /// Empty: `http://` + the listen address.
    pub public_url: String,
    /// Send session cookies only over HTTPS (`VITRINE_SECURE_COOKIES`). Switch off for plain-HTTP localhost.
    pub secure_cookies: bool,
    /// Log filter in `tracing` syntax, e.g. `info` or `vitrine=debug` (`VITRINE_LOG`).
    pub log: String,
    /// `text` or `json` (`VITRINE_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Directory with the built site (CSS, WebAssembly, assets) (`VITRINE_SITE_ROOT`).
    pub site_root: PathBuf,
    /// How long an invitation link stays valid, in seconds (`VITRINE_INVITE_TTL_SECS`).
    pub invite_ttl_secs: u64,
    /// Signed-in sessions end after this many seconds without a request (`VITRINE_SESSION_IDLE_SECS`).
    pub session_idle_secs: u64,
    /// Signed-in sessions end this many seconds after the login, however busy
    /// (`VITRINE_SESSION_MAX_SECS`).
    pub session_max_secs: u64,
    /// How often every threshold is evaluated, in seconds (`VITRINE_RULE_EVALUATION_INTERVAL_SECS`).
    pub rule_evaluation_interval_secs: u64,
    /// How long a new alarm waits for more alerts of its threshold before the first notice, in
    /// seconds (`VITRINE_NOTIFY_GROUP_WAIT_SECS`; Alertmanager's `group_wait`), for clients
    /// without timers of their own.
    pub notify_group_wait_secs: u32,
    /// How long after a notice a change of the alarm (or its end) is told at the earliest, in
    /// seconds (`VITRINE_NOTIFY_GROUP_INTERVAL_SECS`; `group_interval`).
    pub notify_group_interval_secs: u32,
    /// How often an unchanged alarm is told again, in seconds
    /// (`VITRINE_NOTIFY_REPEAT_INTERVAL_SECS`; `repeat_interval`).
    pub notify_repeat_interval_secs: u32,
    /// How much an hour of partial outage counts as down in a status page's uptime, 0 to 1
    /// (`VITRINE_STATUS_PARTIAL_OUTAGE_WEIGHT`; Atlassian Statuspage counts 0.3).
    pub status_partial_outage_weight: f64,
    /// How much an hour of degraded performance counts as down, 0 to 1 (`VITRINE_STATUS_DEGRADED_WEIGHT`).
    pub status_degraded_weight: f64,
    /// How many days a client keeps its add-ons after a failed payment or a cancelled
    /// subscription before their features stop (`VITRINE_BILLING_GRACE_DAYS`).
    pub billing_grace_days: u32,
    /// Where the Stripe client sends its requests (`VITRINE_STRIPE_API_BASE`): Stripe's API,
    /// or a stand-in for tests.
    pub stripe_api_base: String,
    /// Where mail leaves (`VITRINE_SMTP_URL`): `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host:465`, `smtp://127.0.0.1:2525` (plain, a local relay); empty: mails are
    /// written to `mail/` in the data directory instead.
    pub smtp_url: String,
    /// The sender of every mail (`VITRINE_MAIL_FROM`).
    pub mail_from: String,
    /// The first wait after a failed delivery, doubled at each further failure
    /// (`VITRINE_OUTBOX_BACKOFF_BASE_MS`).
    pub outbox_backoff_base_ms: u64,
    /// The longest wait between two attempts (`VITRINE_OUTBOX_BACKOFF_MAX_SECS`).
    pub outbox_backoff_max_secs: u64,
    /// Attempts before a mail is given up (`VITRINE_OUTBOX_MAX_ATTEMPTS`).
    pub outbox_max_attempts: u32,
    /// Failed logins allowed per account within the window (`VITRINE_LOGIN_MAX_FAILURES_PER_ACCOUNT`).
    pub login_max_failures_per_account: u32,
    /// Failed logins allowed per client IP address within the window (`VITRINE_LOGIN_MAX_FAILURES_PER_IP`).
    pub login_max_failures_per_ip: u32,
    /// The window for the two limits above, in seconds (`VITRINE_LOGIN_WINDOW_SECS`).
    pub login_window_secs: u64,
    /// Failed logins allowed per account in a day, from all addresses together
    /// (`VITRINE_LOGIN_MAX_FAILURES_PER_ACCOUNT_PER_DAY`).
    pub login_max_failures_per_account_per_day: u32,
    /// Reverse proxies (addresses or CIDRs) whose `X-Forwarded-For` names the client
    /// (`VITRINE_TRUSTED_PROXIES`, comma-separated). Empty: the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Largest accepted request body in bytes; larger requests get 413 (`VITRINE_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Private or loopback ranges that scrape targets may reach anyway, as CIDRs
    /// (`VITRINE_SCRAPE_ALLOW`, comma-separated). Empty: only public addresses.
    pub scrape_allow: Vec<String>,
    /// Block chunk files the store keeps open at once (`VITRINE_TSDB_MAX_OPEN_FILES`); the
    /// process' file-descriptor limit must allow this plus the connections.
    pub tsdb_max_open_files: usize,
    /// Clients whose blocks are compacted side by side (`VITRINE_COMPACTION_THREADS`).
    pub compaction_threads: usize,
    /// Most active series one client may have; scrapes that would add more fail (`VITRINE_MAX_SERIES_PER_CLIENT`).
    pub max_series_per_client: usize,
    /// The most one scrape's answer may hold, decompressed; a target's body_size_limit only lowers it.
    pub scrape_max_body_bytes_limit: u64,
    /// Most metric names whose HELP/TYPE/UNIT are kept per client (the metadata API).
    pub catalog_max_entries_per_client: usize,
    /// Longest a query may evaluate, in seconds (`VITRINE_QUERY_TIMEOUT_SECS`).
    pub query_timeout_secs: u64,
    /// Most samples one query may hold in memory at once (`VITRINE_QUERY_MAX_SAMPLES`).
    pub query_max_samples: usize,
    /// Most series one query may return (`VITRINE_QUERY_MAX_SERIES`).
    pub query_max_series: usize,
    /// Most series one selector of a query may load; counted from the indexes before any
    /// sample is read (`VITRINE_QUERY_MAX_SERIES_PER_SELECTOR`).
    pub query_max_series_per_selector: usize,
    /// What all running queries together may hold in decoded samples, in bytes
    /// (`VITRINE_QUERY_MEMORY_BUDGET_BYTES`); a query that would go over answers 503.
    pub query_memory_budget_bytes: usize,
    /// Queries one client may run at the same time; more get 503 (`VITRINE_QUERY_CONCURRENCY_PER_CLIENT`).
    pub query_concurrency_per_client: usize,
    /// Threads one large range query may spread its series over (`VITRINE_QUERY_THREADS`).
    pub query_threads: usize,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("data"),
            public_url: String::new(),
            secure_cookies: true,
            log: "info".into(),
            log_format: LogFormat::Text,
            site_root: PathBuf::from("target/site"),
            invite_ttl_secs: 7 * 24 * 3600,
            session_idle_secs: 12 * 3600,
            session_max_secs: 7 * 24 * 3600,
            rule_evaluation_interval_secs: 15,
            notify_group_wait_secs: crate::notify::timing::NotifyTiming::ALERTMANAGER.group_wait_secs,
            notify_group_interval_secs: crate::notify::timing::NotifyTiming::ALERTMANAGER.group_interval_secs,
            notify_repeat_interval_secs: crate::notify::timing::NotifyTiming::ALERTMANAGER.repeat_interval_secs,
            status_partial_outage_weight: 0.3,
            status_degraded_weight: 0.0,
            billing_grace_days: 14,
            stripe_api_base: "https://api.stripe.com/".into(),
            smtp_url: String::new(),
            mail_from: "Vitrine <vitrine@localhost>".into(),
            outbox_backoff_base_ms: 5000,
            outbox_backoff_max_secs: 3600,
            outbox_max_attempts: 25,
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 20,
            login_window_secs: 15 * 60,
            login_max_failures_per_account_per_day: 20,
            trusted_proxies: Vec::new(),
            max_body_bytes: 64 * 1024,
            scrape_allow: Vec::new(),
            tsdb_max_open_files: vitrine_tsdb::Options::default().max_open_files,
            compaction_threads: vitrine_tsdb::Options::default().compaction_threads,
            max_series_per_client: 100_000,
            scrape_max_body_bytes_limit: crate::scrape::fetch::DEFAULT_MAX_BODY_BYTES,
            catalog_max_entries_per_client: crate::scrape::catalog::DEFAULT_MAX_ENTRIES_PER_CLIENT,
            query_timeout_secs: 30,
            query_max_samples: 50_000_000,
            query_max_series: 10_000,
            query_max_series_per_selector: 100_000,
            query_memory_budget_bytes: 2 << 30,
            query_concurrency_per_client: 4,
            query_threads: vitrine_promql::eval::EvalOptions::default().threads,
        }
    }
}

impl Config {
    /// When clients without timers of their own are told (group interval and repeat at least
    /// a second).
    pub fn notify_timing(&self) -> crate::notify::timing::NotifyTiming {
        crate::notify::timing::NotifyTiming {
            group_wait_secs: self.notify_group_wait_secs,
            group_interval_secs: self.notify_group_interval_secs.max(1),
            repeat_interval_secs: self.notify_repeat_interval_secs.max(1),
        }
    }

    /// Reads the file (if given) and applies the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    source,
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())
    }

    fn apply_env(mut self, var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, value: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env {
                name,
                reason: e.to_string(),
                value,
            })
        }
        macro_rules! env {
            ($name:literal, $field:ident) => {
                if let Some(value) = var($name) {
                    self.$field = parse($name, value)?;
                }
            };
        }
        env!("VITRINE_LISTEN", listen);
        env!("VITRINE_DATA_DIR", data_dir);
        env!("VITRINE_PUBLIC_URL", public_url);
        env!("VITRINE_SECURE_COOKIES", secure_cookies);
        env!("VITRINE_LOG", log);
        env!("VITRINE_SITE_ROOT", site_root);
        env!("VITRINE_INVITE_TTL_SECS", invite_ttl_secs);
        env!("VITRINE_SESSION_IDLE_SECS", session_idle_secs);
        env!("VITRINE_SESSION_MAX_SECS", session_max_secs);
        env!("VITRINE_RULE_EVALUATION_INTERVAL_SECS", rule_evaluation_interval_secs);
        env!("VITRINE_NOTIFY_GROUP_WAIT_SECS", notify_group_wait_secs);
        env!("VITRINE_NOTIFY_GROUP_INTERVAL_SECS", notify_group_interval_secs);
        env!("VITRINE_NOTIFY_REPEAT_INTERVAL_SECS", notify_repeat_interval_secs);
        env!("VITRINE_STATUS_PARTIAL_OUTAGE_WEIGHT", status_partial_outage_weight);
        env!("VITRINE_STATUS_DEGRADED_WEIGHT", status_degraded_weight);
        env!("VITRINE_BILLING_GRACE_DAYS", billing_grace_days);
        env!("VITRINE_STRIPE_API_BASE", stripe_api_base);
        env!("VITRINE_SMTP_URL", smtp_url);
        env!("VITRINE_MAIL_FROM", mail_from);
        env!("VITRINE_OUTBOX_BACKOFF_BASE_MS", outbox_backoff_base_ms);
        env!("VITRINE_OUTBOX_BACKOFF_MAX_SECS", outbox_backoff_max_secs);
        env!("VITRINE_OUTBOX_MAX_ATTEMPTS", outbox_max_attempts);
        env!("VITRINE_LOGIN_MAX_FAILURES_PER_ACCOUNT", login_max_failures_per_account);
        env!("VITRINE_LOGIN_MAX_FAILURES_PER_IP", login_max_failures_per_ip);
        env!("VITRINE_LOGIN_WINDOW_SECS", login_window_secs);
        env!(
            "VITRINE_LOGIN_MAX_FAILURES_PER_ACCOUNT_PER_DAY",
            login_max_failures_per_account_per_day
        );
        env!("VITRINE_MAX_BODY_BYTES", max_body_bytes);
        env!("VITRINE_TSDB_MAX_OPEN_FILES", tsdb_max_open_files);
        env!("VITRINE_COMPACTION_THREADS", compaction_threads);
        env!("VITRINE_MAX_SERIES_PER_CLIENT", max_series_per_client);
        env!("VITRINE_SCRAPE_MAX_BODY_BYTES_LIMIT", scrape_max_body_bytes_limit);
        env!("VITRINE_CATALOG_MAX_ENTRIES_PER_CLIENT", catalog_max_entries_per_client);
        env!("VITRINE_QUERY_TIMEOUT_SECS", query_timeout_secs);
        env!("VITRINE_QUERY_MAX_SAMPLES", query_max_samples);
        env!("VITRINE_QUERY_MAX_SERIES", query_max_series);
        env!("VITRINE_QUERY_MAX_SERIES_PER_SELECTOR", query_max_series_per_selector);
        env!("VITRINE_QUERY_MEMORY_BUDGET_BYTES", query_memory_budget_bytes);
        env!("VITRINE_QUERY_CONCURRENCY_PER_CLIENT", query_concurrency_per_client);
        env!("VITRINE_QUERY_THREADS", query_threads);
        if let Some(value) = var("VITRINE_SCRAPE_ALLOW") {
            self.scrape_allow = comma_list(&value);
        }
        if let Some(value) = var("VITRINE_TRUSTED_PROXIES") {
            self.trusted_proxies = comma_list(&value);
        }
        if let Some(value) = var("VITRINE_LOG_FORMAT") {
            self.log_format = match value.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Env {
                        name: "VITRINE_LOG_FORMAT",
                        value,
                        reason: "expected text or json".into(),
                    });
                }
            };
        }
        Ok(self)
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("vitrine.db")
    }

    /// The public base URL without a trailing slash, given the address actually bound.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        if self.public_url.is_empty() {
            format!("http://{bound}")
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

/// `a, b,c` as its non-empty entries.
fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file_and_bad_values_name_the_variable() {
        let file: Config = toml::from_str("listen = \"0.0.0.0:8080\"\nsecure_cookies = true").unwrap();
        let config = file
            .clone()
            .apply_env(|name| (name == "VITRINE_SECURE_COOKIES").then(|| "false".to_string()))
            .unwrap();
        assert_eq!(config.listen.port(), 8080);
        assert!(!config.secure_cookies);

        let err = file
            .apply_env(|name| (name == "VITRINE_LISTEN").then(|| "nowhere".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("VITRINE_LISTEN"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        assert!(toml::from_str::<Config>("lissen = \"x\"").is_err());
    }
}
