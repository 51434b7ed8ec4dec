//! Importing a `prometheus.yml`: the scrape jobs become [`ScrapeTarget`]s; everything that
//! cannot be imported is listed, with its YAML path and line, in [`Import::unsupported`].
//!
//! Semantics follow Prometheus 2.42: the global defaults are `scrape_interval: 1m` and
//! `scrape_timeout: 10s`; a job's interval defaults to the global one and its timeout to the
//! global timeout capped at the job's interval; a zero duration means "the default"; the
//! timeout may not exceed the interval; job names are unique; `scheme` defaults to `http`
//! and `metrics_path` to `/metrics`; `params` become the query string.
//!
//! Each static target is built like Prometheus builds it: its address becomes
//! `__address__` and the job's `relabel_configs` are applied, so the blackbox exporter
//! pattern imports as the exporter's URL with `?target=…`; targets the rules drop are listed
//! in [`ImportedJob::dropped_targets`].
//!
//! Two leniencies: in a job without `relabel_configs`, a static target may be written as a
//! full `http(s)://host:port/path` URL (its own scheme, and its path unless it is `/`, are
//! used); and labels of a static config with an empty value are left out (Prometheus treats
//! them as absent anyway). Labels whose names Vitrine reserves (`project`, `environment`,
//! `__…`) are not imported and are listed as unsupported.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::duration::PromDuration;
use crate::labels::{is_valid_label_name, reserved_label_reason};
use crate::relabel::{Action, RelabelConfig, RelabelSpec};
use crate::secret::Secret;
use crate::size::parse_byte_size;
use crate::target::{Auth, Limits, Scheme, ScrapeTarget, ScrapeUrl, TargetError, TlsConfig};
use crate::yaml::{self, Kind, LoadError, Node};

/// The result of importing a `prometheus.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The global defaults in effect (Prometheus' defaults where the file sets none).
    pub global: GlobalDefaults,
    /// One entry per `scrape_configs` item, in file order.
    pub jobs: Vec<ImportedJob>,
    /// Every setting that was not imported, in file order.
    pub unsupported: Vec<Unsupported>,
}

/// The `global` section's scrape defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalDefaults {
    /// `global.scrape_interval` (Prometheus' default: 1m).
    pub scrape_interval: PromDuration,
    /// `global.scrape_timeout` (Prometheus' default: 10s, capped at the interval).
    pub scrape_timeout: PromDuration,
}

impl Default for GlobalDefaults {
    fn default() -> GlobalDefaults {
        GlobalDefaults {
            scrape_interval: PROMETHEUS_SCRAPE_INTERVAL,
            scrape_timeout: PROMETHEUS_SCRAPE_TIMEOUT,
        }
    }
}

const PROMETHEUS_SCRAPE_INTERVAL: PromDuration = match PromDuration::from_secs(60) {
    Some(d) => d,
    None => PromDuration::ZERO,
};
const PROMETHEUS_SCRAPE_TIMEOUT: PromDuration = match PromDuration::from_secs(10) {
    Some(d) => d,
    None => PromDuration::ZERO,
};

/// One scrape job of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedJob {
    /// `job_name`.
    pub job_name: String,
    /// The line of the job's entry in `scrape_configs` (1-based).
    pub line: usize,
    /// The job's effective scrape interval.
    pub scrape_interval: PromDuration,
    /// The job's effective scrape timeout.
    pub scrape_timeout: PromDuration,
    /// One target per address of its `static_configs`, with the job's settings and the
    /// static config's labels, relabelled. Empty when the job only uses service discovery.
    pub targets: Vec<ScrapeTarget>,
    /// The static targets (addresses as written) that the job's `relabel_configs` drop, as
    /// Prometheus would.
    pub dropped_targets: Vec<String>,
}

/// A setting that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// Where it is, e.g. `scrape_configs[2].kubernetes_sd_configs`.
    pub path: String,
    /// The line of its key (1-based).
    pub line: usize,
    /// The column of its key (1-based).
    pub column: usize,
    /// Why it was not imported and what to do about it.
    pub reason: String,
    /// `true` when leaving it out does not change what is scraped (for example
    /// `global.evaluation_interval`); `false` when the user should act on it.
    pub harmless: bool,
}

/// Why a `prometheus.yml` could not be imported. Every error has a position and a hint.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    /// The text is not valid YAML.
    #[error("invalid YAML at line {line}, column {column}: {message}. Hint: {hint}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the YAML parser reported.
        message: String,
        /// What probably went wrong and how to fix it.
        hint: String,
    },
    /// The YAML is valid but a setting is not.
    #[error("{path} (line {line}, column {column}): {message}. Hint: {hint}")]
    Invalid {
        /// Where, e.g. `scrape_configs[0].scrape_timeout`.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
}

impl ImportError {
    /// The 1-based line of the problem.
    pub fn line(&self) -> usize {
        match self {
            ImportError::Syntax { line, .. } | ImportError::Invalid { line, .. } => *line,
        }
    }

    /// The 1-based column of the problem.
    pub fn column(&self) -> usize {
        match self {
            ImportError::Syntax { column, .. } | ImportError::Invalid { column, .. } => *column,
        }
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        match self {
            ImportError::Syntax { message, .. } | ImportError::Invalid { message, .. } => message,
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> &str {
        match self {
            ImportError::Syntax { hint, .. } | ImportError::Invalid { hint, .. } => hint,
        }
    }
}

/// Imports the scrape jobs of a `prometheus.yml`.
///
/// ```
/// use vitrine_scrape_config::import_prometheus_yml;
/// let import = import_prometheus_yml(
///     "global:\n  scrape_interval: 30s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['db1:9100']\n",
/// )
/// .unwrap();
/// let target = &import.jobs[0].targets[0];
/// assert_eq!(target.url().as_str(), "http://db1:9100/metrics");
/// assert_eq!(target.interval().to_string(), "30s");
/// ```
pub fn import_prometheus_yml(text: &str) -> Result<Import, ImportError> {
    let Some(root) = load(text, "prometheus.yml")? else {
        return Err(ImportError::Invalid {
            path: "prometheus.yml".into(),
            line: 1,
            column: 1,
            message: "the file is empty".into(),
            hint: "paste the contents of prometheus.yml, with its `scrape_configs` section".into(),
        });
    };
    let mut ctx = Ctx::default();
    let top = entries(&root, "prometheus.yml", "the top level of prometheus.yml")?;
    let mut global = GlobalDefaults::default();
    let mut scrape_configs = None;
    for (key, value) in top {
        let name = key.key_text();
        match name.as_str() {
            "global" => global = ctx.global(value)?,
            "scrape_configs" => scrape_configs = Some(value),
            "rule_files" => ctx.skip(
                &name,
                key,
                "rule files live on the Prometheus host and are not imported: recreate the alerting and recording \
                 rules in Vitrine",
                false,
            ),
            "alerting" => ctx.skip(
                &name,
                key,
                "Alertmanager settings are not imported: Vitrine sends its own notifications, set them up in Vitrine",
                false,
            ),
            "remote_write" | "remote_read" => ctx.skip(
                &name,
                key,
                "remote storage is not imported: Vitrine stores the samples itself and does not forward them",
                false,
            ),
            "scrape_config_files" => ctx.skip(
                &name,
                key,
                "the listed files live on the Prometheus host and cannot be read here: paste their scrape_configs \
                 into this file instead",
                false,
            ),
            "storage" | "tracing" | "otlp" | "runtime" => ctx.skip(
                &name,
                key,
                "a Prometheus server setting with no counterpart in Vitrine; not needed for scraping",
                true,
            ),
            _ => ctx.unknown(&name, key),
        }
    }
    let mut jobs: Vec<ImportedJob> = Vec::new();
    if let Some(list) = scrape_configs {
        for (i, item) in items(list, "scrape_configs", "a list of scrape configs")?
            .iter()
            .enumerate()
        {
            let path = format!("scrape_configs[{i}]");
            let (job, name_node) = ctx.job(item, &path, &global)?;
            if jobs.iter().any(|j| j.job_name == job.job_name) {
                return Err(invalid(
                    &format!("{path}.job_name"),
                    name_node.unwrap_or(item),
                    format!("found multiple scrape configs with job name {:?}", job.job_name),
                    "job names must be unique: rename one of the jobs",
                ));
            }
            jobs.push(job);
        }
    }
    let mut unsupported = ctx.unsupported;
    unsupported.sort_by_key(|u| (u.line, u.column));
    Ok(Import {
        global,
        jobs,
        unsupported,
    })
}

/// The path of the list in [`parse_relabel_configs`]'s errors.
const RELABEL_CONFIGS: &str = "relabel_configs";

/// Parses a list of relabel rules written as under `relabel_configs:` (or
/// `metric_relabel_configs:`) in a `prometheus.yml`, as typed into a form: one `- ` item per
/// rule, with the fields `source_labels`, `separator`, `target_label`, `regex`, `modulus`,
/// `replacement` and `action`.
///
/// Empty text (or only spaces, line breaks and comments) is an empty list. The rules are
/// read and validated exactly as [`import_prometheus_yml`] reads them, with one difference:
/// an unknown field (a misspelled `regx:`) is an error instead of a note, as there is no
/// list of unsupported settings to put it in. Errors have a line and a column counted in
/// `yaml` itself, a path such as `relabel_configs[1].action`, and a hint.
///
/// ```
/// use vitrine_scrape_config::{Action, parse_relabel_configs};
/// let rules = parse_relabel_configs("- source_labels: [__name__]\n  regex: go_.*\n  action: drop\n").unwrap();
/// assert_eq!(rules[0].action(), Action::Drop);
/// assert_eq!(rules[0].regex().as_str(), "go_.*");
/// assert!(parse_relabel_configs("  \n").unwrap().is_empty());
///
/// let err = parse_relabel_configs("- source_labels: [__name__]\n  action: dorp\n").unwrap_err();
/// assert_eq!((err.line(), err.column()), (2, 11));
/// assert!(err.hint().contains("keep, drop"));
/// ```
pub fn parse_relabel_configs(yaml: &str) -> Result<Vec<RelabelConfig>, ImportError> {
    let Some(root) = load(yaml, RELABEL_CONFIGS)? else {
        return Ok(Vec::new());
    };
    if let Kind::Map(entries) = &root.kind {
        let wrapped = entries
            .first()
            .map(|(key, _)| key.key_text())
            .filter(|k| k == "relabel_configs" || k == "metric_relabel_configs");
        let hint = match wrapped {
            Some(key) => format!(
                "leave out the `{key}:` line and write only the rules below it, each starting with `- ` at the \
                 beginning of a line"
            ),
            None => "start each rule with `- ` (for example `- source_labels: [__name__]`) and indent its other \
                     fields below the first one, in the same column"
                .into(),
        };
        return Err(invalid(
            RELABEL_CONFIGS,
            &root,
            format!("expected a list of relabel rules, found {}", root.describe()),
            hint,
        ));
    }
    let mut ctx = Ctx::default();
    let configs = ctx.relabel_configs(&root, RELABEL_CONFIGS)?;
    if let Some(unknown) = ctx.unsupported.into_iter().next() {
        let field = unknown
            .path
            .split_once("].")
            .map_or(unknown.path.as_str(), |(_, field)| field)
            .to_owned();
        return Err(ImportError::Invalid {
            path: unknown.path,
            line: unknown.line,
            column: unknown.column,
            message: format!("unknown field {field:?} in a relabel rule"),
            hint: "the fields of a relabel rule are source_labels, separator, target_label, regex, modulus, \
                   replacement and action: check the spelling and the indentation"
                .into(),
        });
    }
    Ok(configs)
}

/// Reads the YAML tree of `text`; `Ok(None)` when it has no content. `path` names the text
/// in errors about valid YAML that is refused (a second document, an unknown alias).
pub(crate) fn load(text: &str, path: &str) -> Result<Option<Node>, ImportError> {
    match yaml::load(text) {
        Ok(root) => Ok(root),
        Err(LoadError::Syntax { line, column, message }) => {
            let hint = syntax_hint(text, line, &message);
            Err(ImportError::Syntax {
                line,
                column,
                message,
                hint,
            })
        }
        Err(LoadError::Refused { line, column, message }) => Err(ImportError::Invalid {
            path: path.into(),
            line,
            column,
            message,
            hint: "fix the YAML at this position".into(),
        }),
    }
}

pub(crate) fn invalid(path: &str, node: &Node, message: impl Into<String>, hint: impl Into<String>) -> ImportError {
    ImportError::Invalid {
        path: path.to_owned(),
        line: node.line,
        column: node.column,
        message: message.into(),
        hint: hint.into(),
    }
}

pub(crate) fn join(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

pub(crate) fn entries<'n>(node: &'n Node, path: &str, what: &str) -> Result<&'n [(Node, Node)], ImportError> {
    match &node.kind {
        Kind::Map(entries) => Ok(entries),
        Kind::Null => Ok(&[]),
        _ => Err(invalid(
            path,
            node,
            format!("expected {what} as `key: value` lines, found {}", node.describe()),
            "check the indentation: the settings of a section are indented below it",
        )),
    }
}

pub(crate) fn items<'n>(node: &'n Node, path: &str, what: &str) -> Result<&'n [Node], ImportError> {
    match &node.kind {
        Kind::Seq(items) => Ok(items),
        Kind::Null => Ok(&[]),
        _ => Err(invalid(
            path,
            node,
            format!("expected {what}, found {}", node.describe()),
            "write a list with one `- ` item per line, or inline as [a, b]",
        )),
    }
}

pub(crate) fn string(node: &Node, path: &str) -> Result<Option<String>, ImportError> {
    match &node.kind {
        Kind::Null => Ok(None),
        Kind::Scalar(s, _) => Ok(Some(s.clone())),
        _ => Err(invalid(
            path,
            node,
            format!("expected a single value, found {}", node.describe()),
            "check the indentation of the lines below this key",
        )),
    }
}

fn boolean(node: &Node, path: &str) -> Result<Option<bool>, ImportError> {
    let Some(s) = string(node, path)? else {
        return Ok(None);
    };
    // yaml.v2 (YAML 1.1) spellings, as Prometheus accepts them.
    match s.as_str() {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => Ok(Some(true)),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => Ok(Some(false)),
        _ => Err(invalid(
            path,
            node,
            format!("expected true or false, found {s:?}"),
            "write true or false",
        )),
    }
}

fn unsigned(node: &Node, path: &str) -> Result<Option<u64>, ImportError> {
    let Some(s) = string(node, path)? else {
        return Ok(None);
    };
    s.parse().map(Some).map_err(|_| {
        invalid(
            path,
            node,
            format!("expected a whole number, found {s:?}"),
            "write a number without units or quotes, e.g. 5000 (0 means no limit)",
        )
    })
}

pub(crate) fn duration(node: &Node, path: &str) -> Result<Option<PromDuration>, ImportError> {
    let Some(s) = string(node, path)? else {
        return Ok(None);
    };
    s.parse().map(Some).map_err(|e: crate::DurationError| {
        invalid(
            path,
            node,
            e.to_string(),
            "write durations as a number and a unit, e.g. 15s, 1m30s, 2h (units: ms, s, m, h, d, w, y)",
        )
    })
}

/// The fields of one scrape config, as read.
#[derive(Default)]
struct JobFields<'n> {
    job_name: Option<(String, &'n Node)>,
    metrics_path: Option<(String, &'n Node)>,
    scheme: Option<Scheme>,
    interval: Option<PromDuration>,
    timeout: Option<(PromDuration, &'n Node)>,
    honor_labels: Option<bool>,
    honor_timestamps: Option<bool>,
    params: BTreeMap<String, Vec<String>>,
    auth: Auth,
    auth_keys: Vec<(&'static str, &'n Node)>,
    tls: TlsConfig,
    relabel_configs: Vec<RelabelConfig>,
    metric_relabel_configs: Vec<RelabelConfig>,
    limits: Limits,
    static_configs: Option<&'n Node>,
}

#[derive(Default)]
struct Ctx {
    unsupported: Vec<Unsupported>,
}

impl Ctx {
    fn skip(&mut self, path: &str, key: &Node, reason: &str, harmless: bool) {
        self.unsupported.push(Unsupported {
            path: path.to_owned(),
            line: key.line,
            column: key.column,
            reason: reason.to_owned(),
            harmless,
        });
    }

    fn unknown(&mut self, path: &str, key: &Node) {
        self.skip(
            path,
            key,
            "not a setting Vitrine imports here (check the spelling and the indentation); it was ignored",
            false,
        );
    }

    fn global(&mut self, node: &Node) -> Result<GlobalDefaults, ImportError> {
        let mut interval = None;
        let mut timeout = None;
        for (key, value) in entries(node, "global", "the global settings")? {
            let name = key.key_text();
            let path = join("global", &name);
            match name.as_str() {
                "scrape_interval" => interval = duration(value, &path)?,
                "scrape_timeout" => timeout = duration(value, &path)?.map(|d| (d, value)),
                "evaluation_interval" => {
                    duration(value, &path)?;
                    self.skip(
                        &path,
                        key,
                        "not used: rules are not imported, and Vitrine evaluates its own rules on its own schedule",
                        true,
                    );
                }
                "external_labels" => self.skip(
                    &path,
                    key,
                    "external labels are not imported: Vitrine labels every series with its `project` and \
                     `environment`; add any other labels to the targets",
                    false,
                ),
                "query_log_file" | "scrape_failure_log_file" => {
                    self.skip(&path, key, "Vitrine keeps no log files of the Prometheus kind", true)
                }
                "body_size_limit"
                | "sample_limit"
                | "target_limit"
                | "label_limit"
                | "label_name_length_limit"
                | "label_value_length_limit"
                | "keep_dropped_targets"
                | "scrape_protocols"
                | "rule_query_offset"
                | "metric_name_validation_scheme"
                | "metric_name_escaping_scheme"
                | "always_scrape_classic_histograms"
                | "convert_classic_histograms_to_nhcb" => self.skip(
                    &path,
                    key,
                    "a global default Vitrine does not import: set it on each job instead",
                    false,
                ),
                _ => self.unknown(&path, key),
            }
        }
        let interval = interval.filter(|d| !d.is_zero()).unwrap_or(PROMETHEUS_SCRAPE_INTERVAL);
        let timeout = match timeout.filter(|(d, _)| !d.is_zero()) {
            Some((t, node)) if t > interval => {
                return Err(invalid(
                    "global.scrape_timeout",
                    node,
                    "global scrape timeout greater than scrape interval",
                    format!("make scrape_timeout at most the scrape_interval ({interval})"),
                ));
            }
            Some((t, _)) => t,
            None => PROMETHEUS_SCRAPE_TIMEOUT.min(interval),
        };
        Ok(GlobalDefaults {
            scrape_interval: interval,
            scrape_timeout: timeout,
        })
    }

    fn job<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        global: &GlobalDefaults,
    ) -> Result<(ImportedJob, Option<&'n Node>), ImportError> {
        if !matches!(node.kind, Kind::Map(_)) {
            return Err(invalid(
                path,
                node,
                format!(
                    "expected a scrape config (job_name, static_configs, …), found {}",
                    node.describe()
                ),
                "each item of scrape_configs starts with `- job_name: <name>`",
            ));
        }
        let mut f = JobFields::default();
        for (key, value) in entries(node, path, "a scrape config")? {
            let name = key.key_text();
            let p = join(path, &name);
            match name.as_str() {
                "job_name" => f.job_name = string(value, &p)?.map(|s| (s, value)),
                "metrics_path" => f.metrics_path = string(value, &p)?.map(|s| (s, value)),
                "scheme" => {
                    if let Some(s) = string(value, &p)? {
                        f.scheme = Some(s.parse().map_err(|e: crate::UrlError| {
                            invalid(&p, value, e.to_string(), "write `scheme: http` or `scheme: https`")
                        })?);
                    }
                }
                "scrape_interval" => f.interval = duration(value, &p)?,
                "scrape_timeout" => f.timeout = duration(value, &p)?.map(|d| (d, value)),
                "honor_labels" => f.honor_labels = boolean(value, &p)?,
                "honor_timestamps" => f.honor_timestamps = boolean(value, &p)?,
                "params" => f.params = params(value, &p)?,
                "basic_auth" => {
                    f.auth_keys.push(("basic_auth", key));
                    f.auth = self.basic_auth(value, &p)?;
                }
                "authorization" => {
                    f.auth_keys.push(("authorization", key));
                    f.auth = self.authorization(value, &p)?;
                }
                "bearer_token" => {
                    f.auth_keys.push(("bearer_token", key));
                    f.auth = string(value, &p)?
                        .map(|t| Auth::Bearer(Secret::new(t)))
                        .unwrap_or_default();
                }
                "bearer_token_file" => {
                    f.auth_keys.push(("bearer_token_file", key));
                    self.skip(
                        &p,
                        key,
                        "the token is read from a file on the Prometheus host, which Vitrine cannot read: the job is \
                         imported without authentication; enter the token in its settings",
                        false,
                    );
                }
                "oauth2" => {
                    f.auth_keys.push(("oauth2", key));
                    self.skip(
                        &p,
                        key,
                        "OAuth 2.0 is not supported: the job is imported without authentication",
                        false,
                    );
                }
                "tls_config" => f.tls = self.tls(value, &p)?,
                "relabel_configs" => f.relabel_configs = self.relabel_configs(value, &p)?,
                "metric_relabel_configs" => f.metric_relabel_configs = self.relabel_configs(value, &p)?,
                "sample_limit" => f.limits.sample_limit = unsigned(value, &p)?,
                "label_limit" => f.limits.label_limit = unsigned(value, &p)?,
                "label_name_length_limit" => f.limits.label_name_length_limit = unsigned(value, &p)?,
                "label_value_length_limit" => f.limits.label_value_length_limit = unsigned(value, &p)?,
                "body_size_limit" => {
                    if let Some(s) = string(value, &p)? {
                        f.limits.body_size_limit = Some(parse_byte_size(&s).map_err(|e| {
                            invalid(
                                &p,
                                value,
                                e.to_string(),
                                "write a size such as 10MB or 512KiB (0 means no limit)",
                            )
                        })?);
                    }
                }
                "static_configs" => f.static_configs = Some(value),
                sd if sd.ends_with("_sd_configs") => self.skip(
                    &p,
                    key,
                    &format!(
                        "service discovery ({sd}) is not supported: Vitrine scrapes static targets; add the \
                         discovered targets as static targets"
                    ),
                    false,
                ),
                "proxy_url" | "no_proxy" | "proxy_from_environment" | "proxy_connect_header" => self.skip(
                    &p,
                    key,
                    "Vitrine does not scrape through proxies: the targets will be contacted directly",
                    false,
                ),
                "follow_redirects" | "enable_http2" | "enable_compression" => {
                    self.skip(&p, key, "an HTTP client detail Vitrine decides itself", true)
                }
                "target_limit" | "keep_dropped_targets" => self.skip(
                    &p,
                    key,
                    "not needed: Vitrine lists every imported target individually",
                    true,
                ),
                "http_headers" => self.skip(&p, key, "custom HTTP headers are not supported", false),
                "scrape_classic_histograms"
                | "always_scrape_classic_histograms"
                | "convert_classic_histograms_to_nhcb"
                | "native_histogram_bucket_limit"
                | "native_histogram_min_bucket_factor"
                | "scrape_native_histograms"
                | "scrape_protocols"
                | "fallback_scrape_protocol"
                | "track_timestamps_staleness"
                | "metric_name_validation_scheme"
                | "metric_name_escaping_scheme"
                | "scrape_failure_log_file" => self.skip(
                    &p,
                    key,
                    "a newer Prometheus scrape setting Vitrine does not support: its default behaviour applies",
                    false,
                ),
                _ => self.unknown(&p, key),
            }
        }

        let Some((job_name, name_node)) = f.job_name.clone() else {
            return Err(invalid(
                path,
                node,
                "job_name is missing",
                "every scrape config needs a unique `job_name: <name>`",
            ));
        };
        if job_name.is_empty() {
            return Err(invalid(
                &join(path, "job_name"),
                name_node,
                "job_name is empty",
                "give the job a name",
            ));
        }
        if f.auth_keys.len() > 1 {
            let names: Vec<&str> = f.auth_keys.iter().map(|(n, _)| *n).collect();
            let (_, second) = f.auth_keys[1];
            return Err(invalid(
                &join(path, names[1]),
                second,
                format!(
                    "only one kind of authentication can be configured, found {}",
                    names.join(" and ")
                ),
                "keep one of them",
            ));
        }
        let interval = f.interval.filter(|d| !d.is_zero()).unwrap_or(global.scrape_interval);
        let timeout = match f.timeout.filter(|(d, _)| !d.is_zero()) {
            Some((t, tnode)) if t > interval => {
                return Err(invalid(
                    &join(path, "scrape_timeout"),
                    tnode,
                    format!("scrape timeout greater than scrape interval for scrape config with job name {job_name:?}"),
                    format!("make scrape_timeout at most the job's scrape_interval ({interval})"),
                ));
            }
            Some((t, _)) => t,
            None => global.scrape_timeout.min(interval),
        };
        let scheme = f.scheme.unwrap_or_default();
        let (metrics_path, path_node) = f.metrics_path.clone().unwrap_or_else(|| ("/metrics".into(), node));
        if !metrics_path.starts_with('/') {
            return Err(invalid(
                &join(path, "metrics_path"),
                path_node,
                format!("the metrics path {metrics_path:?} must start with '/'"),
                format!("write `metrics_path: /{metrics_path}`"),
            ));
        }

        let mut targets = Vec::new();
        let mut dropped_targets = Vec::new();
        if let Some(list) = f.static_configs {
            let list_path = join(path, "static_configs");
            for (i, sc) in items(list, &list_path, "a list of static configs")?.iter().enumerate() {
                let sc_path = format!("{list_path}[{i}]");
                let mut addresses: Vec<(String, &Node, String)> = Vec::new();
                let mut labels: Vec<(String, String)> = Vec::new();
                for (key, value) in entries(sc, &sc_path, "a static config (targets, labels)")? {
                    let name = key.key_text();
                    let p = join(&sc_path, &name);
                    match name.as_str() {
                        "targets" => {
                            for (j, t) in items(value, &p, "a list of host:port targets")?.iter().enumerate() {
                                let tp = format!("{p}[{j}]");
                                if let Some(address) = string(t, &tp)? {
                                    addresses.push((address, t, tp));
                                }
                            }
                        }
                        "labels" => labels = self.static_labels(value, &p)?,
                        _ => self.unknown(&p, key),
                    }
                }
                for (address, t, tp) in addresses {
                    let bad_target =
                        |e: String| invalid(&tp, t, e, "write each target as host:port, for example localhost:9090");
                    // Without relabelling, a full URL is accepted as a convenience; with it, the
                    // address is passed on as written, as Prometheus does (blackbox exporter style).
                    let builder = if f.relabel_configs.is_empty() && address.contains("://") {
                        let url = target_url(scheme, &address, &metrics_path, &f.params)
                            .map_err(|e| bad_target(e.to_string()))?;
                        ScrapeTarget::builder(job_name.clone(), url)
                    } else {
                        ScrapeTarget::builder_for_address(job_name.clone(), address.clone())
                            .scheme(scheme)
                            .metrics_path(metrics_path.clone())
                            .params(f.params.clone())
                    };
                    let built = builder
                        .interval(interval)
                        .timeout(timeout)
                        .labels(labels.iter().cloned())
                        .honor_labels(f.honor_labels.unwrap_or(false))
                        .honor_timestamps(f.honor_timestamps.unwrap_or(true))
                        .auth(f.auth.clone())
                        .tls(f.tls.clone())
                        .relabel_configs(f.relabel_configs.clone())
                        .metric_relabel_configs(f.metric_relabel_configs.clone())
                        .limits(f.limits)
                        .build();
                    match built {
                        Ok(target) => targets.push(target),
                        Err(TargetError::DroppedByRelabelling) => dropped_targets.push(address),
                        Err(e @ TargetError::Url(_)) => return Err(bad_target(e.to_string())),
                        Err(e) => {
                            return Err(invalid(
                                &tp,
                                t,
                                e.to_string(),
                                "fix this job's settings or its relabel_configs",
                            ));
                        }
                    }
                }
            }
        }
        Ok((
            ImportedJob {
                job_name,
                line: node.line,
                scrape_interval: interval,
                scrape_timeout: timeout,
                targets,
                dropped_targets,
            },
            Some(name_node),
        ))
    }

    fn static_labels(&mut self, node: &Node, path: &str) -> Result<Vec<(String, String)>, ImportError> {
        let mut out = Vec::new();
        for (key, value) in entries(node, path, "labels")? {
            let name = key.key_text();
            let p = join(path, &name);
            if !is_valid_label_name(&name) {
                return Err(invalid(
                    &p,
                    key,
                    format!("{name:?} is not a valid label name"),
                    "label names use letters, digits and '_', and do not start with a digit",
                ));
            }
            let value = string(value, &p)?.unwrap_or_default();
            if let Some(reason) = reserved_label_reason(&name) {
                self.skip(&p, key, &format!("the label is not imported: {reason}"), false);
                continue;
            }
            if !value.is_empty() {
                out.push((name, value));
            }
        }
        Ok(out)
    }

    fn basic_auth(&mut self, node: &Node, path: &str) -> Result<Auth, ImportError> {
        let mut username = String::new();
        let mut password = String::new();
        for (key, value) in entries(node, path, "basic auth settings (username, password)")? {
            let name = key.key_text();
            let p = join(path, &name);
            match name.as_str() {
                "username" => username = string(value, &p)?.unwrap_or_default(),
                "password" => password = string(value, &p)?.unwrap_or_default(),
                "password_file" => self.skip(
                    &p,
                    key,
                    "the password is read from a file on the Prometheus host, which Vitrine cannot read: enter the \
                     password in the job's settings after the import",
                    false,
                ),
                "username_file" => self.skip(
                    &p,
                    key,
                    "the user name is read from a file on the Prometheus host, which Vitrine cannot read: enter it \
                     in the job's settings after the import",
                    false,
                ),
                _ => self.unknown(&p, key),
            }
        }
        Ok(Auth::Basic {
            username,
            password: Secret::new(password),
        })
    }

    fn authorization(&mut self, node: &Node, path: &str) -> Result<Auth, ImportError> {
        let mut kind: Option<(String, &Node, &Node)> = None;
        let mut credentials = None;
        for (key, value) in entries(node, path, "authorization settings (type, credentials)")? {
            let name = key.key_text();
            let p = join(path, &name);
            match name.as_str() {
                "type" => kind = string(value, &p)?.map(|t| (t, key, value)),
                "credentials" => credentials = string(value, &p)?,
                "credentials_file" => self.skip(
                    &p,
                    key,
                    "the credentials are read from a file on the Prometheus host, which Vitrine cannot read: enter \
                     them in the job's settings after the import",
                    false,
                ),
                _ => self.unknown(&p, key),
            }
        }
        if let Some((t, key, value)) = kind {
            if t.eq_ignore_ascii_case("basic") {
                return Err(invalid(
                    &join(path, "type"),
                    value,
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
                    "move the credentials to a basic_auth section with username and password",
                ));
            }
            if !t.eq_ignore_ascii_case("bearer") {
                self.skip(
                    &join(path, "type"),
                    key,
                    &format!(
                        "the authorization type {t:?} is not supported, only Bearer: the job is imported without \
                         authentication"
                    ),
                    false,
                );
                return Ok(Auth::None);
            }
        }
        Ok(credentials
            .filter(|c| !c.is_empty())
            .map(|c| Auth::Bearer(Secret::new(c)))
            .unwrap_or_default())
    }

    fn tls(&mut self, node: &Node, path: &str) -> Result<TlsConfig, ImportError> {
        let mut tls = TlsConfig::default();
        for (key, value) in entries(node, path, "TLS settings")? {
            let name = key.key_text();
            let p = join(path, &name);
            match name.as_str() {
                "insecure_skip_verify" => tls.insecure_skip_verify = boolean(value, &p)?.unwrap_or(false),
                "ca" => {
                    let pem = string(value, &p)?;
                    if let Some(pem) = &pem
                        && !pem.contains("-----BEGIN CERTIFICATE-----")
                    {
                        return Err(invalid(
                            &p,
                            value,
                            "the CA certificate is not PEM: expected a '-----BEGIN CERTIFICATE-----' block",
                            "paste the whole PEM certificate as a block (`ca: |` and the certificate indented below)",
                        ));
                    }
                    tls.ca_pem = pem;
                }
                "ca_file" => self.skip(
                    &p,
                    key,
                    "the CA certificate is read from a file on the Prometheus host, which Vitrine cannot read: paste \
                     the certificate into the job's TLS settings after the import; until then the system's trusted \
                     certificates are used",
                    false,
                ),
                "cert_file" | "key_file" | "cert" | "key" => self.skip(
                    &p,
                    key,
                    "client certificates are not supported: the job is imported without one",
                    false,
                ),
                "server_name" => self.skip(
                    &p,
                    key,
                    "overriding the TLS server name is not supported: the target's certificate must be valid for \
                     its host name",
                    false,
                ),
                "min_version" | "max_version" => self.skip(&p, key, "Vitrine applies its own TLS version policy", true),
                _ => self.unknown(&p, key),
            }
        }
        Ok(tls)
    }

    fn relabel_configs(&mut self, node: &Node, path: &str) -> Result<Vec<RelabelConfig>, ImportError> {
        let mut out = Vec::new();
        for (i, item) in items(node, path, "a list of relabel configs")?.iter().enumerate() {
            let ip = format!("{path}[{i}]");
            let mut spec = RelabelSpec::default();
            for (key, value) in entries(item, &ip, "a relabel config")? {
                let name = key.key_text();
                let p = join(&ip, &name);
                // A key with no value sets the field to its zero value, as in Prometheus.
                match name.as_str() {
                    "source_labels" => {
                        spec.source_labels = items(value, &p, "a list of label names")?
                            .iter()
                            .enumerate()
                            .map(|(j, n)| string(n, &format!("{p}[{j}]")).map(Option::unwrap_or_default))
                            .collect::<Result<_, _>>()?;
                    }
                    "separator" => spec.separator = Some(string(value, &p)?.unwrap_or_default()),
                    "target_label" => spec.target_label = string(value, &p)?,
                    "regex" => spec.regex = Some(string(value, &p)?.unwrap_or_default()),
                    "modulus" => spec.modulus = unsigned(value, &p)?,
                    "replacement" => spec.replacement = Some(string(value, &p)?.unwrap_or_default()),
                    "action" => {
                        let Some(a) = string(value, &p)? else {
                            return Err(invalid(
                                &p,
                                key,
                                "relabel action cannot be empty",
                                "use one of replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, \
                                 labelkeep, lowercase, uppercase",
                            ));
                        };
                        spec.action = Some(a.parse::<Action>().map_err(|e| {
                            invalid(
                                &p,
                                value,
                                e.to_string(),
                                "use one of replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, \
                                 labelkeep, lowercase, uppercase",
                            )
                        })?);
                    }
                    _ => self.unknown(&p, key),
                }
            }
            let config = RelabelConfig::new(spec).map_err(|e| {
                invalid(
                    &ip,
                    item,
                    e.to_string(),
                    "each action needs particular fields: replace needs target_label; hashmod needs target_label \
                     and modulus; labeldrop and labelkeep take only regex; regexes use Go (RE2) syntax",
                )
            })?;
            out.push(config);
        }
        Ok(out)
    }
}

fn params(node: &Node, path: &str) -> Result<BTreeMap<String, Vec<String>>, ImportError> {
    let mut out = BTreeMap::new();
    for (key, value) in entries(node, path, "query parameters (name: [values])")? {
        let name = key.key_text();
        let p = join(path, &name);
        let values = match &value.kind {
            Kind::Seq(list) => list
                .iter()
                .enumerate()
                .map(|(j, v)| string(v, &format!("{p}[{j}]")).map(Option::unwrap_or_default))
                .collect::<Result<Vec<_>, _>>()?,
            _ => string(value, &p)?.into_iter().collect(),
        };
        out.insert(name, values);
    }
    Ok(out)
}

/// The URL of a static target: `host:port` gets the job's scheme, path and parameters; a full
/// `http(s)://` URL keeps its scheme, and its path and query unless they are empty.
fn target_url(
    scheme: Scheme,
    address: &str,
    metrics_path: &str,
    params: &BTreeMap<String, Vec<String>>,
) -> Result<ScrapeUrl, crate::UrlError> {
    if !address.contains("://") {
        return ScrapeUrl::from_address(scheme, address, metrics_path, params);
    }
    let mut url = ScrapeUrl::parse(address)?.as_url().clone();
    if url.path() == "/" {
        url.set_path(metrics_path);
    }
    if url.query().is_none() && !params.is_empty() {
        let mut query = url.query_pairs_mut();
        for (name, values) in params {
            for value in values {
                query.append_pair(name, value);
            }
        }
    }
    ScrapeUrl::from_url(url)
}

/// A hint for a YAML syntax error at `line`.
fn syntax_hint(text: &str, line: usize, message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if m.contains("tab") {
        return format!(
            "YAML does not allow tab characters for indentation: replace the tabs on line {line} with spaces"
        );
    }
    let indentation = [
        "mapping values are not allowed",
        "did not find expected key",
        "did not find expected '-'",
        "block sequence entries are not allowed",
        "invalid indentation",
        "wrongly indented",
        "simple key",
        "mapping keys are not allowed",
    ];
    if indentation.iter().any(|s| m.contains(s)) {
        return indentation_hint(text, line);
    }
    if m.contains("quoted scalar") {
        return format!("a quoted value is not closed or contains an invalid escape: check the quotes on line {line}");
    }
    if m.contains("flow") {
        return format!(
            "an inline list [ … ] or mapping {{ … }} is not closed properly: check the brackets and commas on line \
             {line} and above"
        );
    }
    if m.contains("anchor") || m.contains("alias") {
        return format!("an alias (*name) refers to an anchor (&name) that is not defined before line {line}");
    }
    format!("check the YAML syntax on line {line} and the lines just above it")
}

/// Where the key of a line starts (1-based column, after any `- ` list markers) and the key.
fn key_start(line: &str) -> (usize, String) {
    let mut col = line.chars().take_while(|c| *c == ' ').count();
    let mut rest = &line[col..];
    while let Some(after) = rest.strip_prefix('-') {
        if !(after.is_empty() || after.starts_with(' ')) {
            break;
        }
        let spaces = after.chars().take_while(|c| *c == ' ').count();
        col += 1 + spaces;
        rest = &after[spaces..];
    }
    let key = match rest.find(':') {
        Some(i) => &rest[..i],
        None => rest,
    };
    (col + 1, key.trim().chars().take(40).collect())
}

/// Whether a `key: value` line has its value on the same line.
fn has_inline_value(line: &str) -> bool {
    let (_, key) = key_start(line);
    let Some(i) = line.find(':') else {
        return false;
    };
    let value = line[i + 1..].trim();
    !key.is_empty() && !value.is_empty() && !value.starts_with('#')
}

fn is_significant(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// The 1-based column of a line's `- ` list marker, if it starts with one.
fn dash_column(line: &str) -> Option<usize> {
    let spaces = line.chars().take_while(|c| *c == ' ').count();
    let rest = &line[spaces..];
    (rest == "-" || rest.starts_with("- ")).then_some(spaces + 1)
}

/// A hint when the current line's list marker or key lines up with nothing above it: the
/// nearest column used above, and where.
fn misaligned(above: &[&str], current: &str, line: usize) -> Option<String> {
    let significant = || above.iter().enumerate().rev().filter(|(_, l)| is_significant(l));
    if let Some(dash) = dash_column(current) {
        let dashes: Vec<(usize, usize)> = significant()
            .filter_map(|(i, l)| dash_column(l).map(|c| (i + 1, c)))
            .collect();
        if dashes.is_empty() || dashes.iter().any(|(_, c)| *c == dash) {
            return None;
        }
        let (near_line, near_col) = *dashes.iter().min_by_key(|(_, c)| c.abs_diff(dash))?;
        return Some(format!(
            "this is an indentation problem: the list item ('- ') on line {line} starts in column {dash}, which lines \
             up with no list item above it; the nearest is on line {near_line} (column {near_col}). Items of one \
             list must start in the same column"
        ));
    }
    let (col, key) = key_start(current);
    let keys: Vec<(usize, usize, String)> = significant()
        .map(|(i, l)| {
            let (c, k) = key_start(l);
            (i + 1, c, k)
        })
        .collect();
    if keys.is_empty() || keys.iter().any(|(_, c, _)| *c == col) {
        return None;
    }
    let (near_line, near_col, near_key) = keys.iter().min_by_key(|(_, c, _)| c.abs_diff(col))?;
    Some(format!(
        "this is an indentation problem: `{key}` on line {line} starts in column {col}, which lines up with no key \
         above it; did you mean column {near_col}, like `{near_key}` on line {near_line}? Keys of the same mapping \
         must start in the same column"
    ))
}

fn indentation_hint(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let general = format!(
        "this is an indentation problem (or a `key: value` where YAML does not expect one) on line {line}: keys of \
         the same mapping must start in the same column, list items ('- ') of one list must line up, and values \
         containing ': ' need quotes"
    );
    let Some(current) = line
        .checked_sub(1)
        .and_then(|i| lines.get(i))
        .filter(|l| is_significant(l))
    else {
        return general;
    };
    let Some((prev_index, previous)) = lines[..line - 1]
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| is_significant(l))
    else {
        return general;
    };
    let prev_line = prev_index + 1;
    let (col, key) = key_start(current);
    let (prev_col, prev_key) = key_start(previous);
    if col > prev_col && has_inline_value(previous) {
        format!(
            "this is an indentation problem: `{key}` on line {line} starts in column {col}, further right than \
             `{prev_key}` on line {prev_line} (column {prev_col}), which already has a value, so `{key}` cannot \
             belong to it. Keys of the same mapping must start in the same column: indent line {prev_line} so that \
             `{prev_key}` starts in column {col}, or move `{key}` and the lines below it to column {prev_col}"
        )
    } else if let Some(text) = misaligned(&lines[..line - 1], current, line) {
        text
    } else if col != prev_col {
        format!(
            "this is an indentation problem: `{key}` on line {line} starts in column {col}, while `{prev_key}` on \
             line {prev_line} starts in column {prev_col}. Keys of the same mapping must start in the same column, \
             and list items ('- ') of one list must line up"
        )
    } else {
        general
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(text: &str) -> Import {
        import_prometheus_yml(text).unwrap()
    }

    fn error(text: &str) -> ImportError {
        import_prometheus_yml(text).unwrap_err()
    }

    fn paths(import: &Import) -> Vec<&str> {
        import.unsupported.iter().map(|u| u.path.as_str()).collect()
    }

    #[test]
    fn minimal_job_gets_prometheus_defaults() {
        let i = import("scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [app:8080]\n");
        assert_eq!(i.global, GlobalDefaults::default());
        assert_eq!(i.global.scrape_interval.to_string(), "1m");
        let job = &i.jobs[0];
        assert_eq!((job.job_name.as_str(), job.line), ("app", 2));
        let t = &job.targets[0];
        assert_eq!(t.url().as_str(), "http://app:8080/metrics");
        assert_eq!(t.interval().to_string(), "1m");
        assert_eq!(t.timeout().to_string(), "10s");
        assert!(t.honor_timestamps());
        assert!(!t.honor_labels());
        assert!(i.unsupported.is_empty());
    }

    #[test]
    fn job_settings_apply_to_every_target() {
        let text = r#"
global:
  scrape_interval: 20s
  scrape_timeout: 5s
scrape_configs:
  - job_name: secure
    scheme: https
    metrics_path: /custom/metrics
    scrape_interval: 30s
    honor_labels: true
    honor_timestamps: false
    params:
      module: [http_2xx]
      debug: "true"
    basic_auth:
      username: prom
      password: s3cret
    tls_config:
      insecure_skip_verify: true
    sample_limit: 1000
    label_limit: 0
    label_name_length_limit: 100
    label_value_length_limit: 200
    body_size_limit: 10MB
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - regex: tmp_.*
        action: labeldrop
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
    static_configs:
      - targets: ['a:9100', 'b:9100']
        labels:
          team: infra
          empty: ""
      - targets: ['c:9100']
"#;
        let i = import(text);
        assert_eq!(i.global.scrape_interval.to_string(), "20s");
        assert_eq!(i.global.scrape_timeout.to_string(), "5s");
        let job = &i.jobs[0];
        assert_eq!(job.targets.len(), 3);
        assert_eq!(job.scrape_interval.to_string(), "30s");
        assert_eq!(job.scrape_timeout.to_string(), "5s");
        let a = &job.targets[0];
        // The first relabel rule copies the address into the `target` parameter.
        assert_eq!(
            a.url().as_str(),
            "https://a:9100/custom/metrics?debug=true&module=http_2xx&target=a%3A9100"
        );
        assert_eq!(a.job(), "secure");
        assert!(a.honor_labels());
        assert!(!a.honor_timestamps());
        assert_eq!(
            a.auth(),
            &Auth::Basic {
                username: "prom".into(),
                password: Secret::new("s3cret")
            }
        );
        assert!(a.tls().insecure_skip_verify);
        assert_eq!(a.limits().sample_limit, Some(1000));
        assert_eq!(a.limits().label_limit, None);
        assert_eq!(a.limits().label_name_length_limit, Some(100));
        assert_eq!(a.limits().label_value_length_limit, Some(200));
        assert_eq!(a.limits().body_size_limit, Some(10 << 20));
        assert_eq!(a.relabel_configs().len(), 2);
        assert_eq!(a.relabel_configs()[1].action(), Action::LabelDrop);
        assert_eq!(a.metric_relabel_configs()[0].regex().as_str(), "go_.*");
        assert_eq!(a.labels().len(), 1);
        assert_eq!(a.labels()["team"], "infra");
        assert!(job.targets[2].labels().is_empty());
        assert!(i.unsupported.is_empty(), "{:?}", i.unsupported);
    }

    #[test]
    fn bearer_forms() {
        let t = |auth: &str| {
            let text = format!("scrape_configs:\n  - job_name: j\n{auth}    static_configs:\n      - targets: [h:1]\n");
            import_prometheus_yml(&text).map(|i| i.jobs[0].targets[0].auth().clone())
        };
        assert_eq!(t("    bearer_token: abc\n"), Ok(Auth::Bearer(Secret::new("abc"))));
        assert_eq!(
            t("    authorization:\n      credentials: xyz\n"),
            Ok(Auth::Bearer(Secret::new("xyz")))
        );
        assert_eq!(
            t("    authorization:\n      type: Bearer\n      credentials: xyz\n"),
            Ok(Auth::Bearer(Secret::new("xyz")))
        );
        let e = t("    authorization:\n      type: Basic\n      credentials: xyz\n").unwrap_err();
        assert_eq!(
            e.message(),
            "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
        );
        let e = t("    bearer_token: a\n    basic_auth:\n      username: u\n").unwrap_err();
        assert_eq!((e.line(), e.column()), (4, 5));
        assert!(e.message().contains("bearer_token and basic_auth"), "{e}");
        let i = import(
            "scrape_configs:\n  - job_name: j\n    authorization:\n      type: Token\n      credentials: x\n    static_configs:\n      - targets: [h:1]\n",
        );
        assert_eq!(i.jobs[0].targets[0].auth(), &Auth::None);
        assert_eq!(paths(&i), ["scrape_configs[0].authorization.type"]);
    }

    #[test]
    fn file_based_secrets_are_listed() {
        let i = import(
            r#"
scrape_configs:
  - job_name: j
    basic_auth:
      username: u
      password_file: /etc/prom/pw
    tls_config:
      ca_file: /etc/prom/ca.pem
      cert_file: /etc/prom/client.pem
      key_file: /etc/prom/client.key
      server_name: internal
      min_version: TLS12
    static_configs:
      - targets: [h:1]
"#,
        );
        assert_eq!(
            paths(&i),
            [
                "scrape_configs[0].basic_auth.password_file",
                "scrape_configs[0].tls_config.ca_file",
                "scrape_configs[0].tls_config.cert_file",
                "scrape_configs[0].tls_config.key_file",
                "scrape_configs[0].tls_config.server_name",
                "scrape_configs[0].tls_config.min_version",
            ]
        );
        let u = &i.unsupported[0];
        assert_eq!((u.line, u.column, u.harmless), (6, 7, false));
        assert!(u.reason.contains("cannot read"), "{}", u.reason);
        assert!(i.unsupported[5].harmless);
        let Auth::Basic { username, password } = i.jobs[0].targets[0].auth() else {
            panic!("basic auth expected")
        };
        assert_eq!((username.as_str(), password.expose()), ("u", ""));
    }

    #[test]
    fn inline_ca_is_imported() {
        let i = import(
            "scrape_configs:\n  - job_name: j\n    scheme: https\n    tls_config:\n      ca: |\n        -----BEGIN CERTIFICATE-----\n        MIIB\n        -----END CERTIFICATE-----\n    static_configs:\n      - targets: [h:443]\n",
        );
        let pem = i.jobs[0].targets[0].tls().ca_pem.clone().unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\nMIIB\n"), "{pem}");
        let e = error("scrape_configs:\n  - job_name: j\n    tls_config:\n      ca: /etc/ca.pem\n");
        assert_eq!((e.line(), e.column()), (4, 11));
    }

    #[test]
    fn everything_else_is_listed_with_path_and_line() {
        let text = r#"global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels:
    region: eu
rule_files:
  - rules.yml
alerting:
  alertmanagers: []
remote_write:
  - url: http://x/
scrape_configs:
  - job_name: a
    static_configs:
      - targets: [a:1]
  - job_name: b
    file_sd_configs:
      - files: [x.json]
  - job_name: k8s
    kubernetes_sd_configs:
      - role: pod
    relabel_configs:
      - action: keep
        regex: x
        typo_field: 1
    static_configs:
      - targets: [c:1]
        labels:
          project: p
          __meta_x: y
        extra: 1
    proxy_url: http://proxy:3128
    follow_redirects: false
sraping_typo: {}
"#;
        let i = import(text);
        let got: Vec<(&str, usize, usize, bool)> = i
            .unsupported
            .iter()
            .map(|u| (u.path.as_str(), u.line, u.column, u.harmless))
            .collect();
        assert_eq!(
            got,
            vec![
                ("global.evaluation_interval", 3, 3, true),
                ("global.external_labels", 4, 3, false),
                ("rule_files", 6, 1, false),
                ("alerting", 8, 1, false),
                ("remote_write", 10, 1, false),
                ("scrape_configs[1].file_sd_configs", 17, 5, false),
                ("scrape_configs[2].kubernetes_sd_configs", 20, 5, false),
                ("scrape_configs[2].relabel_configs[0].typo_field", 25, 9, false),
                ("scrape_configs[2].static_configs[0].labels.project", 29, 11, false),
                ("scrape_configs[2].static_configs[0].labels.__meta_x", 30, 11, false),
                ("scrape_configs[2].static_configs[0].extra", 31, 9, false),
                ("scrape_configs[2].proxy_url", 32, 5, false),
                ("scrape_configs[2].follow_redirects", 33, 5, true),
                ("sraping_typo", 34, 1, false),
            ]
        );
        assert_eq!(i.jobs.len(), 3);
        assert!(i.jobs[1].targets.is_empty());
        // `keep` with regex x on no source labels (the empty string) drops the target.
        assert!(i.jobs[2].targets.is_empty());
        assert_eq!(i.jobs[2].dropped_targets, ["c:1"]);
        assert!(i.unsupported[5].reason.contains("service discovery"));
    }

    #[test]
    fn timeouts_and_intervals() {
        let e = error("global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\n");
        assert_eq!(e.message(), "global scrape timeout greater than scrape interval");
        assert_eq!((e.line(), e.column()), (3, 19));
        let e = error("scrape_configs:\n  - job_name: j\n    scrape_interval: 5s\n    scrape_timeout: 6s\n");
        assert_eq!(
            e.message(),
            "scrape timeout greater than scrape interval for scrape config with job name \"j\""
        );
        assert_eq!(e.line(), 4);
        // The global timeout is capped at a shorter job interval.
        let i = import("scrape_configs:\n  - job_name: j\n    scrape_interval: 5s\n");
        assert_eq!(i.jobs[0].scrape_timeout.to_string(), "5s");
        // A short global interval caps the default timeout; zero means the default.
        let i = import("global:\n  scrape_interval: 4s\nscrape_configs:\n  - job_name: j\n    scrape_interval: 0s\n");
        assert_eq!(i.global.scrape_timeout.to_string(), "4s");
        assert_eq!(i.jobs[0].scrape_interval.to_string(), "4s");
        let e = error("global:\n  scrape_interval: 15\n");
        assert_eq!((e.line(), e.column()), (2, 20));
        assert!(e.message().contains("not a valid duration"), "{e}");
        assert!(e.hint().contains("15s"), "{e}");
    }

    #[test]
    fn invalid_settings_have_positions_and_hints() {
        let cases = [
            ("scrape_configs:\n  - static_configs: []\n", 2, 5, "job_name is missing"),
            (
                "scrape_configs:\n  - job_name: a\n  - job_name: a\n",
                3,
                15,
                "found multiple scrape configs",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    scheme: ftp\n",
                3,
                13,
                "unsupported scheme",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    metrics_path: metrics\n",
                3,
                19,
                "must start with '/'",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n",
                3,
                19,
                "expected true or false",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    sample_limit: lots\n",
                3,
                19,
                "expected a whole number",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    body_size_limit: 10 MB\n",
                3,
                22,
                "not a valid byte size",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://x:99999/']\n",
                4,
                19,
                "not a valid URL",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['a/b:1']\n",
                4,
                19,
                "not a valid host",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [a:1]\n        labels: {a-b: x}\n",
                5,
                18,
                "not a valid label name",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: t\n",
                4,
                9,
                "requires non-zero modulus",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: replase\n",
                4,
                17,
                "unknown relabel action \"replase\"",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action:\n",
                4,
                9,
                "relabel action cannot be empty",
            ),
            (
                "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [a]\n        regex: '(a'\n        action: keep\n",
                4,
                9,
                "invalid regex \"(a\"",
            ),
            (
                "scrape_configs:\n  job_name: a\n",
                2,
                3,
                "expected a list of scrape configs",
            ),
            ("scrape_configs:\n  - just a string\n", 2, 5, "expected a scrape config"),
            ("- a\n- b\n", 1, 1, "expected the top level"),
            ("", 1, 1, "the file is empty"),
            ("a: 1\na: 2\n", 2, 1, "duplicate key \"a\""),
        ];
        for (text, line, column, message) in cases {
            let e = error(text);
            assert_eq!((e.line(), e.column()), (line, column), "{text}: {e}");
            assert!(e.message().contains(message), "{text}: {e}");
            assert!(!e.hint().is_empty());
        }
    }

    #[test]
    fn full_url_targets() {
        let text = "scrape_configs:\n  - job_name: j\n    metrics_path: /m\n    static_configs:\n      - targets: ['https://h:8443', 'http://h2/custom', 'h3']\n";
        let urls: Vec<String> = import(text).jobs[0]
            .targets
            .iter()
            .map(|t| t.url().to_string())
            .collect();
        assert_eq!(urls, ["https://h:8443/m", "http://h2/custom", "http://h3/m"]);
    }

    #[test]
    fn blackbox_exporter_config_imports_like_prometheus() {
        // The example configuration of the blackbox exporter's README.
        let text = r#"
scrape_configs:
  - job_name: 'blackbox'
    metrics_path: /probe
    params:
      module: [http_2xx]
    static_configs:
      - targets:
        - http://prometheus.io
        - https://prometheus.io
        - http://example.com:8080
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:9115
      - source_labels: [__param_target]
        regex: .*example.com.*
        action: drop
"#;
        let i = import(text);
        let job = &i.jobs[0];
        let got: Vec<(&str, &str)> = job.targets.iter().map(|t| (t.url().as_str(), t.instance())).collect();
        assert_eq!(
            got,
            [
                (
                    "http://127.0.0.1:9115/probe?module=http_2xx&target=http%3A%2F%2Fprometheus.io",
                    "http://prometheus.io"
                ),
                (
                    "http://127.0.0.1:9115/probe?module=http_2xx&target=https%3A%2F%2Fprometheus.io",
                    "https://prometheus.io"
                ),
            ]
        );
        assert_eq!(job.dropped_targets, ["http://example.com:8080"]);
        assert!(i.unsupported.is_empty());
    }

    #[test]
    fn anchors_and_merge_keys_work_in_configs() {
        let text = r#"
defaults: &defaults
  scrape_interval: 30s
  scheme: https
scrape_configs:
  - <<: *defaults
    job_name: a
    static_configs: [{targets: [a:1]}]
"#;
        let i = import(text);
        assert_eq!(i.jobs[0].targets[0].url().as_str(), "https://a:1/metrics");
        assert_eq!(i.jobs[0].scrape_interval.to_string(), "30s");
        assert_eq!(paths(&i), ["defaults"]);
    }

    #[test]
    fn syntax_error_hints() {
        let e = error("global:\n\tscrape_interval: 15s\n");
        assert!(matches!(e, ImportError::Syntax { .. }));
        assert!(e.hint().contains("tab"), "{e}");
        let e = error("scrape_configs:\n  - job_name: a\n    static_configs: [a, b\n");
        assert!(e.hint().contains("bracket"), "{e}");
        let e = error("scrape_configs:\n  - job_name: \"a\n");
        assert!(matches!(e, ImportError::Syntax { .. }), "{e}");
        // A key that is indented less than its siblings.
        let text = "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [x:1]\n   scheme: http\n";
        let e = error(text);
        assert!(e.hint().contains("indentation"), "{e}");
        assert!(e.hint().contains(&format!("line {}", e.line())), "{e}");
        assert!(
            e.hint()
                .contains("did you mean column 5, like `static_configs` on line 3?"),
            "{e}"
        );
        // A list item out of line with its siblings.
        let e = error("scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: [x:1]\n - job_name: b\n");
        assert_eq!(e.line(), 5, "{e}");
        assert!(
            e.hint().contains("list item ('- ') on line 5 starts in column 2"),
            "{e}"
        );
        // A key that does line up with something, but too deep under a key with a value.
        let e = error("a:\n  b: 1\n    c: 2\n");
        assert!(
            e.hint()
                .contains("`c` on line 3 starts in column 5, further right than `b` on line 2"),
            "{e}"
        );
    }

    #[test]
    fn hint_helpers() {
        assert_eq!(key_start("- job_name: x"), (3, "job_name".into()));
        assert_eq!(key_start("    metrics_path: /m"), (5, "metrics_path".into()));
        assert_eq!(key_start("  - - a: 1"), (7, "a".into()));
        assert_eq!(key_start("-x: 1"), (1, "-x".into()));
        assert!(has_inline_value("- job_name: prometheus"));
        assert!(!has_inline_value("scrape_configs:"));
        assert!(!has_inline_value("scrape_configs:  # comment"));
    }

    #[test]
    fn secrets_stay_hidden_in_debug_output() {
        let i = import(
            "scrape_configs:\n  - job_name: j\n    basic_auth: {username: u, password: hunter2}\n    static_configs: [{targets: [h:1]}]\n",
        );
        assert!(!format!("{i:?}").contains("hunter2"));
    }

    fn rules_error(text: &str) -> ImportError {
        parse_relabel_configs(text).unwrap_err()
    }

    fn path_of(e: &ImportError) -> &str {
        match e {
            ImportError::Invalid { path, .. } => path,
            ImportError::Syntax { .. } => "",
        }
    }

    #[test]
    fn relabel_textarea_reads_rules() {
        let rules = parse_relabel_configs("- source_labels: [__name__]\n  regex: go_.*\n  action: drop\n").unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].source_labels(), ["__name__"]);
        assert_eq!(rules[0].regex().as_str(), "go_.*");
        assert_eq!(rules[0].action(), Action::Drop);
        // Every field, comments, quotes, blank lines, a flow list and CRLF line ends.
        let text = "# keep the API jobs\r\n- source_labels: [job, 'instance']\r\n  separator: \"@\"\r\n  regex: \
                    \"api-(.*)@.*\"\r\n  target_label: service\r\n  replacement: '${1}'\r\n\r\n- {action: hashmod, \
                    source_labels: [instance], target_label: shard, modulus: 4}\r\n- action: LabelDrop\r\n  regex: tmp_.*\r\n";
        let rules = parse_relabel_configs(text).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            (
                rules[0].separator(),
                rules[0].target_label(),
                rules[0].replacement(),
                rules[0].action()
            ),
            ("@", "service", "${1}", Action::Replace)
        );
        assert_eq!((rules[1].action(), rules[1].modulus()), (Action::HashMod, 4));
        assert_eq!(rules[2].action(), Action::LabelDrop);
        // The same rules as under relabel_configs in a prometheus.yml.
        let yml = format!(
            "scrape_configs:\n  - job_name: j\n    relabel_configs:\n{}    static_configs: [{{targets: [h:1]}}]\n",
            text.replace("\r\n", "\n")
                .lines()
                .map(|l| format!("      {l}\n"))
                .collect::<String>()
        );
        assert_eq!(import(&yml).jobs[0].targets[0].relabel_configs(), rules.as_slice());
    }

    #[test]
    fn relabel_textarea_empty_text_is_no_rules() {
        for text in ["", " ", "\n\n", "  \t\n", "# just a comment\n", "[]", "~"] {
            assert_eq!(parse_relabel_configs(text), Ok(Vec::new()), "{text:?}");
        }
    }

    #[test]
    fn relabel_textarea_errors_point_into_the_text() {
        // An unknown action: at its value.
        let e = rules_error("- source_labels: [__name__]\n  action: dorp\n");
        assert_eq!((e.line(), e.column()), (2, 11), "{e}");
        assert_eq!(e.message(), "unknown relabel action \"dorp\"");
        assert!(e.hint().contains("keepequal"), "{e}");
        assert!(
            e.to_string()
                .starts_with("relabel_configs[0].action (line 2, column 11)"),
            "{e}"
        );
        // A rule the action does not accept: at the rule, with Prometheus' message.
        let e = rules_error("- action: drop\n  regex: x\n- source_labels: [a]\n  regex: (.*)\n");
        assert_eq!((e.line(), e.column()), (3, 3), "{e}");
        assert_eq!(
            e.message(),
            "relabel configuration for replace action requires 'target_label' value"
        );
        assert!(e.to_string().starts_with("relabel_configs[1] "), "{e}");
        let e = rules_error("- regex: '(unclosed'\n  action: keep\n");
        assert_eq!((e.line(), e.column()), (1, 3), "{e}");
        assert!(e.message().starts_with("invalid regex \"(unclosed\""), "{e}");
        assert!(e.hint().contains("RE2"), "{e}");
        let e = rules_error("- source_labels: [ok, not-a-label]\n  action: drop\n");
        assert_eq!(e.message(), "\"not-a-label\" is not a valid label name");
        let e = rules_error("- source_labels: [a]\n  modulus: four\n");
        assert_eq!(
            (e.line(), e.column(), path_of(&e)),
            (2, 12, "relabel_configs[0].modulus"),
            "{e}"
        );
        // A misspelled field is an error, not silently ignored.
        let e = rules_error("- source_labels: [a]\n  regx: x\n  action: drop\n");
        assert_eq!(
            (e.line(), e.column(), path_of(&e)),
            (2, 3, "relabel_configs[0].regx"),
            "{e}"
        );
        assert_eq!(e.message(), "unknown field \"regx\" in a relabel rule");
        assert!(e.hint().contains("source_labels, separator"), "{e}");
        // YAML syntax errors get the import's hints, with lines counted in the text.
        let e = rules_error("- source_labels: [a]\n   action: drop\n");
        assert!(matches!(e, ImportError::Syntax { line: 2, .. }), "{e}");
        assert!(e.hint().contains("indentation"), "{e}");
        let e = rules_error("- action: drop\n\tregex: x\n");
        assert!(e.hint().contains("tab"), "{e}");
        let e = rules_error("- source_labels: [a, b\n  action: drop\n");
        assert!(matches!(e, ImportError::Syntax { .. }), "{e}");
        let e = rules_error("- action: drop\n---\n- action: keep\n");
        assert_eq!((e.line(), path_of(&e)), (3, "relabel_configs"), "{e}");
    }

    #[test]
    fn relabel_textarea_explains_common_shapes() {
        // The list pasted with its key.
        let e = rules_error("relabel_configs:\n  - action: drop\n    regex: x\n");
        assert_eq!((e.line(), e.column()), (1, 1), "{e}");
        assert!(e.hint().contains("leave out the `relabel_configs:` line"), "{e}");
        let e = rules_error("metric_relabel_configs:\n- action: drop\n");
        assert!(e.hint().contains("`metric_relabel_configs:`"), "{e}");
        // One rule without its `- `.
        let e = rules_error("source_labels: [a]\naction: drop\n");
        assert_eq!(
            e.message(),
            "expected a list of relabel rules, found a mapping (key: value pairs)"
        );
        assert!(e.hint().contains("start each rule with `- `"), "{e}");
        // A list of something else.
        let e = rules_error("- drop\n");
        assert!(e.message().contains("found a single value"), "{e}");
        assert_eq!((e.line(), e.column(), path_of(&e)), (1, 3, "relabel_configs[0]"), "{e}");
        let e = rules_error("drop\n");
        assert!(e.message().contains("expected a list of relabel configs"), "{e}");
    }
}
