//! The scrape target model: what to scrape, how often, with which credentials and labels.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use thiserror::Error;
use url::{Host, Url};

use crate::duration::{DurationError, PromDuration};
use crate::labels::{is_valid_label_name, reserved_label_reason};
use crate::relabel::RelabelConfig;
use crate::secret::Secret;

/// `http` or `https`, the only schemes a target can be scraped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheme {
    /// Plain HTTP (the default, as in Prometheus).
    #[default]
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port used when a URL gives none: 80 or 443.
    pub const fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = UrlError;

    /// Parses `http` or `https` (case-insensitively).
    fn from_str(s: &str) -> Result<Scheme, UrlError> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            _ => Err(UrlError::UnsupportedScheme(s.to_owned())),
        }
    }
}

/// Why a scrape URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlError {
    /// The text is not a URL at all.
    #[error("{input:?} is not a valid URL: {reason}")]
    Parse {
        /// The text as given.
        input: String,
        /// What the URL parser objected to.
        reason: String,
    },
    /// The scheme is neither `http` nor `https`.
    #[error("unsupported scheme {0:?}: targets are scraped over http or https")]
    UnsupportedScheme(String),
    /// The URL has no host name or address.
    #[error("{0:?} has no host")]
    MissingHost(String),
    /// The URL contains a user name or password.
    #[error("the URL contains credentials: put them in the target's basic auth instead, so they are stored as secrets")]
    Credentials,
    /// The URL has a `#fragment`, which is never sent to the server.
    #[error("the URL has a #fragment, which is never sent to the server: remove it")]
    Fragment,
    /// A target address is not `host` or `host:port`.
    #[error("{0:?} is not a valid host or host:port")]
    InvalidAddress(String),
    /// A metrics path does not start with `/`.
    #[error("the metrics path {0:?} must start with '/'")]
    InvalidPath(String),
}

/// An `http(s)://host[:port]/path[?query]` URL to scrape: parsed, with a host, without
/// credentials or fragment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScrapeUrl {
    url: Url,
    scheme: Scheme,
}

impl ScrapeUrl {
    /// Parses and checks a full URL.
    ///
    /// ```
    /// use vitrine_scrape_config::{Scheme, ScrapeUrl};
    /// let url = ScrapeUrl::parse("https://node1.example.com/metrics").unwrap();
    /// assert_eq!((url.scheme(), url.host(), url.port(), url.path()), (Scheme::Https, "node1.example.com", 443, "/metrics"));
    /// assert!(ScrapeUrl::parse("ftp://example.com/").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<ScrapeUrl, UrlError> {
        let url = Url::parse(input).map_err(|e| UrlError::Parse {
            input: input.to_owned(),
            reason: e.to_string(),
        })?;
        ScrapeUrl::from_url(url)
    }

    /// Checks an already parsed URL.
    pub fn from_url(url: Url) -> Result<ScrapeUrl, UrlError> {
        let scheme: Scheme = url.scheme().parse()?;
        match url.host() {
            None => return Err(UrlError::MissingHost(url.to_string())),
            Some(Host::Domain("")) => return Err(UrlError::MissingHost(url.to_string())),
            Some(_) => {}
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        if url.fragment().is_some() {
            return Err(UrlError::Fragment);
        }
        Ok(ScrapeUrl { url, scheme })
    }

    /// Builds the URL Prometheus scrapes for a target address (`host`, `host:port`,
    /// `[v6]:port`), the job's scheme, metrics path and parameters.
    ///
    /// The parameters become the query string, sorted by name, values in the given order.
    ///
    /// ```
    /// use vitrine_scrape_config::{Scheme, ScrapeUrl};
    /// let params = [("module".to_string(), vec!["http_2xx".to_string()])].into_iter().collect();
    /// let url = ScrapeUrl::from_address(Scheme::Http, "localhost:9115", "/probe", &params).unwrap();
    /// assert_eq!(url.as_str(), "http://localhost:9115/probe?module=http_2xx");
    /// ```
    pub fn from_address(
        scheme: Scheme,
        address: &str,
        metrics_path: &str,
        params: &BTreeMap<String, Vec<String>>,
    ) -> Result<ScrapeUrl, UrlError> {
        if address.is_empty()
            || address.contains(['/', '?', '#', '@', '\\'])
            || address.chars().any(char::is_whitespace)
        {
            return Err(UrlError::InvalidAddress(address.to_owned()));
        }
        if !metrics_path.starts_with('/') {
            return Err(UrlError::InvalidPath(metrics_path.to_owned()));
        }
        let mut url = Url::parse(&format!("{scheme}://{address}{metrics_path}")).map_err(|e| UrlError::Parse {
            input: address.to_owned(),
            reason: e.to_string(),
        })?;
        if !params.is_empty() {
            let mut query = url.query_pairs_mut();
            for (name, values) in params {
                for value in values {
                    query.append_pair(name, value);
                }
            }
        }
        ScrapeUrl::from_url(url)
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host as written in the URL: a lower-cased domain name, an IPv4 address, or an
    /// IPv6 address in brackets.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The host when it is an IP address literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.url.host()? {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(_) => None,
        }
    }

    /// The port, the scheme's default (80 or 443) when the URL has none.
    pub fn port(&self) -> u16 {
        self.url.port().unwrap_or(self.scheme.default_port())
    }

    /// The path (`/metrics`).
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// The query string without the `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.url.query()
    }

    /// `host:port`, always with the port: what Prometheus puts in the `instance` label.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host(), self.port())
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The parsed URL.
    pub fn as_url(&self) -> &Url {
        &self.url
    }
}

impl fmt::Display for ScrapeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScrapeUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<ScrapeUrl, UrlError> {
        ScrapeUrl::parse(s)
    }
}

/// How the scraper authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user name (must not contain `:`).
        username: String,
        /// The password.
        password: Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
}

/// TLS settings for `https` targets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsConfig {
    /// PEM-encoded CA certificate(s) to trust instead of the system roots.
    pub ca_pem: Option<String>,
    /// Accept any server certificate. Dangerous; for test setups only.
    pub insecure_skip_verify: bool,
}

/// Per-scrape limits. `None` means no limit (Prometheus writes 0 for that; the builder turns
/// `Some(0)` into `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Largest uncompressed response body, in bytes.
    pub body_size_limit: Option<u64>,
    /// Most samples per scrape (after metric relabelling).
    pub sample_limit: Option<u64>,
    /// Most labels per sample.
    pub label_limit: Option<u64>,
    /// Longest label name.
    pub label_name_length_limit: Option<u64>,
    /// Longest label value.
    pub label_value_length_limit: Option<u64>,
}

impl Limits {
    fn normalized(self) -> Limits {
        let n = |v: Option<u64>| v.filter(|&v| v != 0);
        Limits {
            body_size_limit: n(self.body_size_limit),
            sample_limit: n(self.sample_limit),
            label_limit: n(self.label_limit),
            label_name_length_limit: n(self.label_name_length_limit),
            label_value_length_limit: n(self.label_value_length_limit),
        }
    }
}

/// Why a scrape target was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    /// The job name is empty.
    #[error("the job name is empty")]
    EmptyJobName,
    /// The job name contains a control character.
    #[error("the job name {0:?} contains a control character")]
    InvalidJobName(String),
    /// The interval is zero.
    #[error("the scrape interval must be longer than 0s")]
    ZeroInterval,
    /// The timeout is zero.
    #[error("the scrape timeout must be longer than 0s")]
    ZeroTimeout,
    /// The timeout is longer than the interval.
    #[error("the scrape timeout ({timeout}) is longer than the scrape interval ({interval})")]
    TimeoutExceedsInterval {
        /// The timeout.
        timeout: PromDuration,
        /// The interval.
        interval: PromDuration,
    },
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("{0:?} is not a valid label name (use letters, digits and '_', not starting with a digit)")]
    InvalidLabelName(String),
    /// A label name is reserved.
    #[error("the label name {name:?} is reserved: {reason}")]
    ReservedLabelName {
        /// The label name.
        name: String,
        /// Why it is reserved.
        reason: &'static str,
    },
    /// A label has an empty value (which Prometheus treats as no label).
    #[error("the label {0:?} has an empty value")]
    EmptyLabelValue(String),
    /// A credential cannot be sent in an HTTP header.
    #[error("invalid {field}: {reason}")]
    InvalidCredential {
        /// `basic auth username`, `basic auth password` or `bearer token`.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// `ca_pem` holds no PEM certificate.
    #[error("the CA certificate is not PEM: expected a '-----BEGIN CERTIFICATE-----' block")]
    InvalidCaPem,
    /// The address, scheme or path (as configured or as relabelled) do not make a valid URL.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The relabelling dropped the target (a `keep`, `drop`, `keepequal` or `dropequal` rule).
    #[error("the relabelling rules drop this target")]
    DroppedByRelabelling,
    /// The relabelling removed `__address__`.
    #[error("no address: the relabelling removed the __address__ label")]
    NoAddress,
    /// The relabelling set `__scrape_interval__` or `__scrape_timeout__` to something that
    /// is not a duration.
    #[error("error parsing {label}: {source}")]
    RelabelledDuration {
        /// The label.
        label: &'static str,
        /// Why the value is not a duration.
        source: DurationError,
    },
    /// The relabelling set `__scrape_interval__` or `__scrape_timeout__` to 0.
    #[error("{0} cannot be 0")]
    ZeroRelabelledDuration(&'static str),
}

/// The interval a target gets unless told otherwise.
pub const DEFAULT_INTERVAL: PromDuration = match PromDuration::from_secs(15) {
    Some(d) => d,
    None => PromDuration::ZERO,
};

/// The timeout a target gets unless told otherwise (capped at the interval).
pub const DEFAULT_TIMEOUT: PromDuration = match PromDuration::from_secs(10) {
    Some(d) => d,
    None => PromDuration::ZERO,
};

/// One endpoint to scrape, valid by construction. Build it with [`ScrapeTarget::builder`]
/// (from a URL) or [`ScrapeTarget::builder_for_address`] (from a Prometheus static target).
///
/// A target is described the way Prometheus describes one: an address (`__address__`), a
/// scheme, a metrics path and query parameters, settings and extra labels, and
/// `relabel_configs`. Building it applies the relabelling exactly like Prometheus 2.42 does
/// before a scrape, so [`ScrapeTarget::url`], [`ScrapeTarget::interval`],
/// [`ScrapeTarget::timeout`] and [`ScrapeTarget::target_labels`] are what will really be
/// used — for the blackbox exporter pattern, the exporter's URL with `?target=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeTarget {
    job: String,
    address: String,
    scheme: Scheme,
    metrics_path: String,
    params: BTreeMap<String, Vec<String>>,
    configured_interval: PromDuration,
    configured_timeout: PromDuration,
    labels: BTreeMap<String, String>,
    honor_labels: bool,
    honor_timestamps: bool,
    auth: Auth,
    tls: TlsConfig,
    relabel_configs: Vec<RelabelConfig>,
    metric_relabel_configs: Vec<RelabelConfig>,
    limits: Limits,
    // The result of relabelling.
    url: ScrapeUrl,
    interval: PromDuration,
    timeout: PromDuration,
    target_labels: Vec<(String, String)>,
}

impl ScrapeTarget {
    /// Starts a target for `job` at `url` with the defaults: interval 15s, timeout 10s (or
    /// the interval, if shorter), no labels, no auth, no limits, no relabelling,
    /// `honor_labels: false`, `honor_timestamps: true`.
    ///
    /// ```
    /// use vitrine_scrape_config::{PromDuration, ScrapeTarget, ScrapeUrl};
    /// let target = ScrapeTarget::builder("node", ScrapeUrl::parse("http://10.0.0.5:9100/metrics").unwrap())
    ///     .interval("30s".parse().unwrap())
    ///     .label("team", "infra")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(target.timeout().to_string(), "10s");
    /// assert_eq!(target.instance(), "10.0.0.5:9100");
    ///
    /// let err = ScrapeTarget::builder("node", target.url().clone()).label("project", "x").build().unwrap_err();
    /// assert!(err.to_string().contains("reserved"));
    /// ```
    pub fn builder(job: impl Into<String>, url: ScrapeUrl) -> TargetBuilder {
        let address = match url.as_url().port() {
            Some(port) => format!("{}:{port}", url.host()),
            None => url.host().to_owned(),
        };
        let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in url.as_url().query_pairs() {
            params.entry(name.into_owned()).or_default().push(value.into_owned());
        }
        ScrapeTarget::builder_for_address(job, address)
            .scheme(url.scheme())
            .metrics_path(url.path())
            .params(params)
    }

    /// Starts a target the way a Prometheus static config describes one: `address` becomes
    /// `__address__` as written (normally `host:port`; anything that the relabelling turns
    /// into one, as in the blackbox exporter pattern), with scheme `http`, metrics path
    /// `/metrics` and no parameters unless set on the builder.
    ///
    /// ```
    /// use vitrine_scrape_config::{Action, RelabelConfig, RelabelSpec, ScrapeTarget};
    /// let rule = |source: &[&str], target: &str, replacement: Option<&str>| {
    ///     RelabelConfig::new(RelabelSpec {
    ///         source_labels: source.iter().map(|s| s.to_string()).collect(),
    ///         target_label: Some(target.into()),
    ///         replacement: replacement.map(Into::into),
    ///         ..Default::default()
    ///     })
    ///     .unwrap()
    /// };
    /// // The blackbox exporter recipe: probe https://example.com through the exporter.
    /// let target = ScrapeTarget::builder_for_address("blackbox", "https://example.com")
    ///     .metrics_path("/probe")
    ///     .params([("module".to_string(), vec!["http_2xx".to_string()])].into_iter().collect())
    ///     .relabel_configs(vec![
    ///         rule(&["__address__"], "__param_target", None),
    ///         rule(&["__param_target"], "instance", None),
    ///         rule(&[], "__address__", Some("blackbox-exporter:9115")),
    ///     ])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(
    ///     target.url().as_str(),
    ///     "http://blackbox-exporter:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.com"
    /// );
    /// assert_eq!(target.instance(), "https://example.com");
    /// ```
    pub fn builder_for_address(job: impl Into<String>, address: impl Into<String>) -> TargetBuilder {
        TargetBuilder {
            job: job.into(),
            address: address.into(),
            scheme: Scheme::Http,
            metrics_path: "/metrics".into(),
            params: BTreeMap::new(),
            interval: DEFAULT_INTERVAL,
            timeout: None,
            labels: Vec::new(),
            honor_labels: false,
            honor_timestamps: true,
            auth: Auth::None,
            tls: TlsConfig::default(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// The URL to scrape (after relabelling).
    pub fn url(&self) -> &ScrapeUrl {
        &self.url
    }

    /// The job name.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The address as configured (`__address__` before relabelling).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The scheme as configured (`__scheme__` before relabelling).
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The metrics path as configured (`__metrics_path__` before relabelling).
    pub fn metrics_path(&self) -> &str {
        &self.metrics_path
    }

    /// The query parameters as configured.
    pub fn params(&self) -> &BTreeMap<String, Vec<String>> {
        &self.params
    }

    /// How often to scrape (after relabelling; the configured value unless relabelling sets
    /// `__scrape_interval__`).
    pub fn interval(&self) -> PromDuration {
        self.interval
    }

    /// How long one scrape may take (never longer than the interval).
    pub fn timeout(&self) -> PromDuration {
        self.timeout
    }

    /// The interval as configured (`__scrape_interval__` before relabelling).
    pub(crate) fn configured_interval(&self) -> PromDuration {
        self.configured_interval
    }

    /// The timeout as configured, or as defaulted (`__scrape_timeout__` before relabelling).
    pub(crate) fn configured_timeout(&self) -> PromDuration {
        self.configured_timeout
    }

    /// The extra labels as configured.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The target's labels after relabelling, sorted by name: every label not starting
    /// with `__`, with `job` and `instance` (which defaults to the address with its port).
    /// `project` and `environment` are never among them: Vitrine sets those itself, so
    /// relabelling cannot move series into another project.
    pub fn target_labels(&self) -> &[(String, String)] {
        &self.target_labels
    }

    /// The `instance` label.
    pub fn instance(&self) -> &str {
        self.target_labels
            .iter()
            .find(|(n, _)| n == "instance")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// Whether labels from the scraped data win over the target's labels on conflicts.
    pub fn honor_labels(&self) -> bool {
        self.honor_labels
    }

    /// Whether timestamps in the scraped data are kept.
    pub fn honor_timestamps(&self) -> bool {
        self.honor_timestamps
    }

    /// The credentials.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The TLS settings.
    pub fn tls(&self) -> &TlsConfig {
        &self.tls
    }

    /// Relabelling applied to the target's labels (already applied to [`Self::url`] and
    /// [`Self::target_labels`]).
    pub fn relabel_configs(&self) -> &[RelabelConfig] {
        &self.relabel_configs
    }

    /// Relabelling to apply to every scraped series.
    pub fn metric_relabel_configs(&self) -> &[RelabelConfig] {
        &self.metric_relabel_configs
    }

    /// The per-scrape limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The labels Prometheus feeds to `relabel_configs` for this target, sorted by name:
    /// `__address__`, `__scheme__`, `__metrics_path__`, `__scrape_interval__`,
    /// `__scrape_timeout__`, one `__param_<name>` per parameter (its first value), `job`, and
    /// the extra labels (an extra `job` label wins, as in Prometheus).
    pub fn discovered_labels(&self) -> Vec<(String, String)> {
        discovered_labels(
            &self.job,
            &self.address,
            self.scheme,
            &self.metrics_path,
            &self.params,
            self.configured_interval,
            self.configured_timeout,
            &self.labels,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn discovered_labels(
    job: &str,
    address: &str,
    scheme: Scheme,
    metrics_path: &str,
    params: &BTreeMap<String, Vec<String>>,
    interval: PromDuration,
    timeout: PromDuration,
    labels: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, values) in params {
        if let Some(first) = values.first() {
            out.insert(format!("__param_{name}"), first.clone());
        }
    }
    out.insert("__address__".into(), address.to_owned());
    out.insert("__scheme__".into(), scheme.to_string());
    out.insert("__metrics_path__".into(), metrics_path.to_owned());
    out.insert("__scrape_interval__".into(), interval.to_string());
    out.insert("__scrape_timeout__".into(), timeout.to_string());
    out.insert("job".into(), job.to_owned());
    out.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    out.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

/// What relabelling produced: where and how often to scrape, and the target's labels.
struct Resolved {
    url: ScrapeUrl,
    interval: PromDuration,
    timeout: PromDuration,
    labels: Vec<(String, String)>,
}

/// Prometheus 2.42's `PopulateLabels` after the labels are assembled.
fn resolve(
    mut labels: Vec<(String, String)>,
    relabel_configs: &[RelabelConfig],
    params: &BTreeMap<String, Vec<String>>,
) -> Result<Resolved, TargetError> {
    if !crate::relabel::relabel(&mut labels, relabel_configs) {
        return Err(TargetError::DroppedByRelabelling);
    }
    let get = |name: &str| {
        labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let address = get("__address__");
    if address.is_empty() {
        return Err(TargetError::NoAddress);
    }
    let scheme: Scheme = get("__scheme__").parse()?;
    let path = match get("__metrics_path__") {
        p if p.starts_with('/') => p.to_owned(),
        p => format!("/{p}"),
    };
    let mut params = params.clone();
    for (name, value) in &labels {
        if let Some(param) = name.strip_prefix("__param_") {
            let values = params.entry(param.to_owned()).or_default();
            match values.first_mut() {
                Some(first) => first.clone_from(value),
                None => values.push(value.clone()),
            }
        }
    }
    let url = ScrapeUrl::from_address(scheme, address, &path, &params)?;
    let duration = |label: &'static str| match get(label).parse::<PromDuration>() {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(TargetError::ZeroRelabelledDuration(label)),
        Err(source) => Err(TargetError::RelabelledDuration { label, source }),
    };
    let interval = duration("__scrape_interval__")?;
    let timeout = duration("__scrape_timeout__")?;
    if timeout > interval {
        return Err(TargetError::TimeoutExceedsInterval { timeout, interval });
    }
    let mut public: Vec<(String, String)> = labels
        .into_iter()
        .filter(|(n, _)| !n.starts_with("__") && n != "project" && n != "environment")
        .collect();
    if !public.iter().any(|(n, _)| n == "instance") {
        let at = public.partition_point(|(n, _)| n.as_str() < "instance");
        public.insert(at, ("instance".into(), url.authority()));
    }
    Ok(Resolved {
        url,
        interval,
        timeout,
        labels: public,
    })
}

/// Collects the settings of a [`ScrapeTarget`]; [`TargetBuilder::build`] validates them.
#[derive(Debug, Clone)]
#[must_use]
pub struct TargetBuilder {
    job: String,
    address: String,
    scheme: Scheme,
    metrics_path: String,
    params: BTreeMap<String, Vec<String>>,
    interval: PromDuration,
    timeout: Option<PromDuration>,
    labels: Vec<(String, String)>,
    honor_labels: bool,
    honor_timestamps: bool,
    auth: Auth,
    tls: TlsConfig,
    relabel_configs: Vec<RelabelConfig>,
    metric_relabel_configs: Vec<RelabelConfig>,
    limits: Limits,
}

impl TargetBuilder {
    /// The scheme (`__scheme__`).
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The metrics path (`__metrics_path__`); must start with `/`.
    pub fn metrics_path(mut self, path: impl Into<String>) -> Self {
        self.metrics_path = path.into();
        self
    }

    /// The query parameters (sent sorted by name, values in order).
    pub fn params(mut self, params: BTreeMap<String, Vec<String>>) -> Self {
        self.params = params;
        self
    }

    /// How often to scrape.
    pub fn interval(mut self, interval: PromDuration) -> Self {
        self.interval = interval;
        self
    }

    /// How long a scrape may take. Unset, it is 10s or the interval, whichever is shorter.
    pub fn timeout(mut self, timeout: PromDuration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Adds an extra label (a later value for the same name replaces an earlier one).
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((name.into(), value.into()));
        self
    }

    /// Adds extra labels.
    pub fn labels<K: Into<String>, V: Into<String>>(mut self, labels: impl IntoIterator<Item = (K, V)>) -> Self {
        self.labels
            .extend(labels.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Whether scraped labels win over the target's labels.
    pub fn honor_labels(mut self, honor: bool) -> Self {
        self.honor_labels = honor;
        self
    }

    /// Whether scraped timestamps are kept.
    pub fn honor_timestamps(mut self, honor: bool) -> Self {
        self.honor_timestamps = honor;
        self
    }

    /// The credentials.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// The TLS settings.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// Target relabelling.
    pub fn relabel_configs(mut self, configs: Vec<RelabelConfig>) -> Self {
        self.relabel_configs = configs;
        self
    }

    /// Metric relabelling.
    pub fn metric_relabel_configs(mut self, configs: Vec<RelabelConfig>) -> Self {
        self.metric_relabel_configs = configs;
        self
    }

    /// Per-scrape limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Validates everything, applies the relabelling and returns the target.
    ///
    /// Fails with [`TargetError::DroppedByRelabelling`] when the relabelling drops the
    /// target, and with the other variants when a setting, or what the relabelling made of
    /// the address, scheme, path or durations, is not valid.
    pub fn build(self) -> Result<ScrapeTarget, TargetError> {
        if self.job.is_empty() {
            return Err(TargetError::EmptyJobName);
        }
        if self.job.chars().any(char::is_control) {
            return Err(TargetError::InvalidJobName(self.job));
        }
        if !self.metrics_path.starts_with('/') {
            return Err(UrlError::InvalidPath(self.metrics_path).into());
        }
        if self.interval.is_zero() {
            return Err(TargetError::ZeroInterval);
        }
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT.min(self.interval));
        if timeout.is_zero() {
            return Err(TargetError::ZeroTimeout);
        }
        if timeout > self.interval {
            return Err(TargetError::TimeoutExceedsInterval {
                timeout,
                interval: self.interval,
            });
        }
        let mut labels = BTreeMap::new();
        for (name, value) in self.labels {
            if !is_valid_label_name(&name) {
                return Err(TargetError::InvalidLabelName(name));
            }
            if let Some(reason) = reserved_label_reason(&name) {
                return Err(TargetError::ReservedLabelName { name, reason });
            }
            if value.is_empty() {
                return Err(TargetError::EmptyLabelValue(name));
            }
            labels.insert(name, value);
        }
        check_auth(&self.auth)?;
        if let Some(pem) = &self.tls.ca_pem
            && !pem.contains("-----BEGIN CERTIFICATE-----")
        {
            return Err(TargetError::InvalidCaPem);
        }
        let discovered = discovered_labels(
            &self.job,
            &self.address,
            self.scheme,
            &self.metrics_path,
            &self.params,
            self.interval,
            timeout,
            &labels,
        );
        let resolved = resolve(discovered, &self.relabel_configs, &self.params)?;
        Ok(ScrapeTarget {
            job: self.job,
            address: self.address,
            scheme: self.scheme,
            metrics_path: self.metrics_path,
            params: self.params,
            configured_interval: self.interval,
            configured_timeout: timeout,
            labels,
            honor_labels: self.honor_labels,
            honor_timestamps: self.honor_timestamps,
            auth: self.auth,
            tls: self.tls,
            relabel_configs: self.relabel_configs,
            metric_relabel_configs: self.metric_relabel_configs,
            limits: self.limits.normalized(),
            url: resolved.url,
            interval: resolved.interval,
            timeout: resolved.timeout,
            target_labels: resolved.labels,
        })
    }
}

fn check_auth(auth: &Auth) -> Result<(), TargetError> {
    let header_safe = |field: &'static str, value: &str| {
        if value.chars().any(char::is_control) {
            Err(TargetError::InvalidCredential {
                field,
                reason: "it contains a control character (such as a line break)",
            })
        } else {
            Ok(())
        }
    };
    match auth {
        Auth::None => Ok(()),
        Auth::Basic { username, password } => {
            if username.contains(':') {
                return Err(TargetError::InvalidCredential {
                    field: "basic auth username",
                    reason: "it contains ':', which basic auth cannot carry in a user name",
                });
            }
            header_safe("basic auth username", username)?;
            header_safe("basic auth password", password.expose())
        }
        Auth::Bearer(token) => {
            if token.is_empty() {
                return Err(TargetError::InvalidCredential {
                    field: "bearer token",
                    reason: "it is empty",
                });
            }
            header_safe("bearer token", token.expose())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> ScrapeUrl {
        ScrapeUrl::parse(s).unwrap()
    }

    fn target() -> TargetBuilder {
        ScrapeTarget::builder("node", url("http://localhost:9100/metrics"))
    }

    fn d(s: &str) -> PromDuration {
        s.parse().unwrap()
    }

    #[test]
    fn url_parts() {
        let u = url("http://localhost:9090/metrics");
        assert_eq!(u.scheme(), Scheme::Http);
        assert_eq!(u.host(), "localhost");
        assert_eq!(u.port(), 9090);
        assert_eq!(u.path(), "/metrics");
        assert_eq!(u.query(), None);
        assert_eq!(u.authority(), "localhost:9090");
        assert_eq!(u.ip(), None);
        let u = url("HTTPS://[::1]/x?a=b");
        assert_eq!(u.scheme(), Scheme::Https);
        assert_eq!(u.host(), "[::1]");
        assert_eq!(u.port(), 443);
        assert_eq!(u.ip(), Some("::1".parse().unwrap()));
        assert_eq!(u.query(), Some("a=b"));
        assert_eq!(u.authority(), "[::1]:443");
        assert_eq!(url("http://10.0.0.1:80/").port(), 80);
        assert_eq!(url("http://10.0.0.1/").ip(), Some("10.0.0.1".parse().unwrap()));
        assert_eq!("http://a/".parse::<ScrapeUrl>().unwrap().to_string(), "http://a/");
    }

    #[test]
    fn url_rejections() {
        assert_eq!(
            ScrapeUrl::parse("ftp://x/"),
            Err(UrlError::UnsupportedScheme("ftp".into()))
        );
        assert_eq!(
            ScrapeUrl::parse("file:///etc/passwd"),
            Err(UrlError::UnsupportedScheme("file".into()))
        );
        assert_eq!(ScrapeUrl::parse("http://user:pw@x/"), Err(UrlError::Credentials));
        assert_eq!(ScrapeUrl::parse("http://user@x/"), Err(UrlError::Credentials));
        assert_eq!(ScrapeUrl::parse("http://x/#frag"), Err(UrlError::Fragment));
        assert!(matches!(
            ScrapeUrl::parse("localhost:9090"),
            Err(UrlError::UnsupportedScheme(_))
        ));
        assert!(matches!(ScrapeUrl::parse("not a url"), Err(UrlError::Parse { .. })));
        assert!(matches!(ScrapeUrl::parse("http://"), Err(UrlError::Parse { .. })));
        assert!(matches!(
            ScrapeUrl::parse("http://x:99999/"),
            Err(UrlError::Parse { .. })
        ));
        let err = ScrapeUrl::parse("nope").unwrap_err().to_string();
        assert!(err.starts_with("\"nope\" is not a valid URL"), "{err}");
    }

    #[test]
    fn url_from_address() {
        let none = BTreeMap::new();
        let u = ScrapeUrl::from_address(Scheme::Http, "localhost:9090", "/metrics", &none).unwrap();
        assert_eq!(u.as_str(), "http://localhost:9090/metrics");
        let u = ScrapeUrl::from_address(Scheme::Https, "example.com", "/m", &none).unwrap();
        assert_eq!((u.as_str(), u.port()), ("https://example.com/m", 443));
        let u = ScrapeUrl::from_address(Scheme::Http, "[2001:db8::1]:9100", "/metrics", &none).unwrap();
        assert_eq!(u.host(), "[2001:db8::1]");
        let params: BTreeMap<String, Vec<String>> = [
            ("target".to_string(), vec!["https://example.com/a b".to_string()]),
            ("module".to_string(), vec!["http_2xx".to_string(), "tcp".to_string()]),
        ]
        .into_iter()
        .collect();
        let u = ScrapeUrl::from_address(Scheme::Http, "bb:9115", "/probe", &params).unwrap();
        assert_eq!(
            u.as_str(),
            "http://bb:9115/probe?module=http_2xx&module=tcp&target=https%3A%2F%2Fexample.com%2Fa+b"
        );
        for bad in ["", "http://x", "x/y", "x?y", "user@x", "a b", "x#y"] {
            assert_eq!(
                ScrapeUrl::from_address(Scheme::Http, bad, "/metrics", &none),
                Err(UrlError::InvalidAddress(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(
            ScrapeUrl::from_address(Scheme::Http, "x", "metrics", &none),
            Err(UrlError::InvalidPath("metrics".into()))
        );
        assert!(matches!(
            ScrapeUrl::from_address(Scheme::Http, "x:notaport", "/metrics", &none),
            Err(UrlError::Parse { .. })
        ));
    }

    #[test]
    fn defaults() {
        let t = target().build().unwrap();
        assert_eq!(t.job(), "node");
        assert_eq!(t.interval(), d("15s"));
        assert_eq!(t.timeout(), d("10s"));
        assert!(t.labels().is_empty());
        assert!(!t.honor_labels());
        assert!(t.honor_timestamps());
        assert_eq!(t.auth(), &Auth::None);
        assert_eq!(t.tls(), &TlsConfig::default());
        assert!(t.relabel_configs().is_empty());
        assert!(t.metric_relabel_configs().is_empty());
        assert_eq!(t.limits(), &Limits::default());
        assert_eq!(t.url().as_str(), "http://localhost:9100/metrics");
    }

    #[test]
    fn timeout_rules() {
        // A short interval caps the default timeout.
        let t = target().interval(d("5s")).build().unwrap();
        assert_eq!(t.timeout(), d("5s"));
        let t = target().interval(d("1m")).timeout(d("1m")).build().unwrap();
        assert_eq!(t.timeout(), d("1m"));
        assert_eq!(
            target().interval(d("5s")).timeout(d("6s")).build(),
            Err(TargetError::TimeoutExceedsInterval {
                timeout: d("6s"),
                interval: d("5s")
            })
        );
        assert_eq!(
            target()
                .interval(d("5s"))
                .timeout(d("6s"))
                .build()
                .unwrap_err()
                .to_string(),
            "the scrape timeout (6s) is longer than the scrape interval (5s)"
        );
        assert_eq!(
            target().interval(PromDuration::ZERO).build(),
            Err(TargetError::ZeroInterval)
        );
        assert_eq!(
            target().timeout(PromDuration::ZERO).build(),
            Err(TargetError::ZeroTimeout)
        );
    }

    #[test]
    fn label_rules() {
        let t = target()
            .label("team", "a")
            .labels([("env_tier", "gold"), ("team", "b")])
            .build()
            .unwrap();
        assert_eq!(t.labels().get("team").map(String::as_str), Some("b"));
        assert_eq!(t.labels().len(), 2);
        assert!(target().label("instance", "x").label("job", "y").build().is_ok());
        for reserved in ["project", "environment", "__name__", "__address__", "__x"] {
            assert!(
                matches!(target().label(reserved, "v").build(), Err(TargetError::ReservedLabelName { ref name, .. }) if name == reserved),
                "{reserved}"
            );
        }
        for invalid in ["", "1a", "a-b", "a.b", "é"] {
            assert_eq!(
                target().label(invalid, "v").build(),
                Err(TargetError::InvalidLabelName(invalid.into())),
                "{invalid}"
            );
        }
        assert_eq!(
            target().label("a", "").build(),
            Err(TargetError::EmptyLabelValue("a".into()))
        );
        let msg = target().label("project", "x").build().unwrap_err().to_string();
        assert_eq!(
            msg,
            "the label name \"project\" is reserved: Vitrine sets `project` from the project the target belongs to"
        );
    }

    #[test]
    fn job_rules() {
        assert_eq!(
            ScrapeTarget::builder("", url("http://x/")).build(),
            Err(TargetError::EmptyJobName)
        );
        assert_eq!(
            ScrapeTarget::builder("a\nb", url("http://x/")).build(),
            Err(TargetError::InvalidJobName("a\nb".into()))
        );
        assert!(ScrapeTarget::builder("my job/1", url("http://x/")).build().is_ok());
    }

    #[test]
    fn auth_rules() {
        let basic = |u: &str, p: &str| {
            target()
                .auth(Auth::Basic {
                    username: u.into(),
                    password: Secret::new(p),
                })
                .build()
        };
        assert!(basic("admin", "pw").is_ok());
        assert!(basic("", "").is_ok());
        assert!(matches!(
            basic("a:b", "pw"),
            Err(TargetError::InvalidCredential {
                field: "basic auth username",
                ..
            })
        ));
        assert!(matches!(
            basic("a", "p\r\nX-Evil: 1"),
            Err(TargetError::InvalidCredential {
                field: "basic auth password",
                ..
            })
        ));
        assert!(target().auth(Auth::Bearer(Secret::new("tok"))).build().is_ok());
        assert!(matches!(
            target().auth(Auth::Bearer(Secret::new(""))).build(),
            Err(TargetError::InvalidCredential {
                field: "bearer token",
                ..
            })
        ));
        assert!(matches!(
            target().auth(Auth::Bearer(Secret::new("a\nb"))).build(),
            Err(TargetError::InvalidCredential {
                field: "bearer token",
                ..
            })
        ));
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let t = target()
            .auth(Auth::Basic {
                username: "admin".into(),
                password: Secret::new("s3cr3t-password"),
            })
            .build()
            .unwrap();
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(dbg.contains("***"));
        let t = target().auth(Auth::Bearer(Secret::new("tok-123456"))).build().unwrap();
        assert!(!format!("{t:?}").contains("tok-123456"));
    }

    #[test]
    fn tls_and_limits() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let t = target()
            .tls(TlsConfig {
                ca_pem: Some(pem.into()),
                insecure_skip_verify: false,
            })
            .limits(Limits {
                sample_limit: Some(0),
                label_limit: Some(30),
                body_size_limit: Some(10 << 20),
                ..Limits::default()
            })
            .build()
            .unwrap();
        assert_eq!(t.tls().ca_pem.as_deref(), Some(pem));
        assert_eq!(t.limits().sample_limit, None);
        assert_eq!(t.limits().label_limit, Some(30));
        assert_eq!(t.limits().body_size_limit, Some(10 << 20));
        assert_eq!(
            target()
                .tls(TlsConfig {
                    ca_pem: Some("/etc/ssl/ca.pem".into()),
                    insecure_skip_verify: false
                })
                .build(),
            Err(TargetError::InvalidCaPem)
        );
    }

    #[test]
    fn discovered_labels_feed_relabelling() {
        let params = [("module".to_string(), vec!["a".to_string(), "b".to_string()])]
            .into_iter()
            .collect();
        let u = ScrapeUrl::from_address(Scheme::Https, "host", "/probe", &params).unwrap();
        let t = ScrapeTarget::builder("blackbox", u).label("team", "x").build().unwrap();
        let expected: Vec<(String, String)> = [
            ("__address__", "host"),
            ("__metrics_path__", "/probe"),
            ("__param_module", "a"),
            ("__scheme__", "https"),
            ("__scrape_interval__", "15s"),
            ("__scrape_timeout__", "10s"),
            ("job", "blackbox"),
            ("team", "x"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(t.discovered_labels(), expected);
        // Both values of the parameter are kept in the URL.
        assert_eq!(t.url().as_str(), "https://host/probe?module=a&module=b");
        assert_eq!(
            (t.address(), t.scheme(), t.metrics_path()),
            ("host", Scheme::Https, "/probe")
        );
        assert_eq!(t.params()["module"], ["a", "b"]);
        let t = target().label("job", "override").build().unwrap();
        assert!(t.discovered_labels().contains(&("job".into(), "override".into())));
        assert!(t.target_labels().contains(&("job".into(), "override".into())));
    }

    fn rule(action: crate::Action, source: &[&str], target: Option<&str>, replacement: Option<&str>) -> RelabelConfig {
        RelabelConfig::new(crate::RelabelSpec {
            source_labels: source.iter().map(|s| s.to_string()).collect(),
            target_label: target.map(Into::into),
            replacement: replacement.map(Into::into),
            action: Some(action),
            ..Default::default()
        })
        .unwrap()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn target_labels_without_relabelling() {
        let t = target().label("team", "infra").build().unwrap();
        assert_eq!((t.interval(), t.timeout()), (d("15s"), d("10s")));
        assert_eq!(
            t.target_labels(),
            pairs(&[("instance", "localhost:9100"), ("job", "node"), ("team", "infra")])
        );
        // The instance label always carries the port, as in Prometheus 2.42.
        let t = ScrapeTarget::builder("j", url("https://example.com/m"))
            .build()
            .unwrap();
        assert_eq!(t.instance(), "example.com:443");
        assert_eq!(t.address(), "example.com");
        let t = ScrapeTarget::builder("j", url("http://[::1]:9090/m")).build().unwrap();
        assert_eq!((t.instance(), t.address()), ("[::1]:9090", "[::1]:9090"));
    }

    #[test]
    fn blackbox_pattern() {
        use crate::Action::Replace;
        // The blackbox exporter recipe from the exporter's documentation.
        let params = [("module".to_string(), vec!["http_2xx".to_string()])]
            .into_iter()
            .collect();
        let t = ScrapeTarget::builder_for_address("blackbox", "example.com")
            .metrics_path("/probe")
            .params(params)
            .relabel_configs(vec![
                rule(Replace, &["__address__"], Some("__param_target"), None),
                rule(Replace, &["__param_target"], Some("instance"), None),
                rule(Replace, &[], Some("__address__"), Some("127.0.0.1:9115")),
            ])
            .build()
            .unwrap();
        assert_eq!(
            t.url().as_str(),
            "http://127.0.0.1:9115/probe?module=http_2xx&target=example.com"
        );
        assert_eq!(
            t.target_labels(),
            pairs(&[("instance", "example.com"), ("job", "blackbox")])
        );
        assert_eq!(t.address(), "example.com");
    }

    #[test]
    fn relabelling_drops_and_errors() {
        use crate::Action::{Drop, LabelDrop, Replace};
        assert_eq!(
            target().relabel_configs(vec![rule(Drop, &["job"], None, None)]).build(),
            Err(TargetError::DroppedByRelabelling)
        );
        let drop_address = RelabelConfig::new(crate::RelabelSpec {
            regex: Some("__address__".into()),
            action: Some(LabelDrop),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            target().relabel_configs(vec![drop_address]).build(),
            Err(TargetError::NoAddress)
        );
        assert_eq!(
            target()
                .relabel_configs(vec![rule(Replace, &[], Some("__scrape_timeout__"), Some("1m"))])
                .build()
                .unwrap_err()
                .to_string(),
            "the scrape timeout (1m) is longer than the scrape interval (15s)"
        );
        assert_eq!(
            target()
                .relabel_configs(vec![rule(Replace, &[], Some("__scheme__"), Some("ftp"))])
                .build(),
            Err(TargetError::Url(UrlError::UnsupportedScheme("ftp".into())))
        );
        assert!(matches!(
            target()
                .relabel_configs(vec![rule(Replace, &[], Some("__scrape_interval__"), Some("soon"))])
                .build(),
            Err(TargetError::RelabelledDuration {
                label: "__scrape_interval__",
                ..
            })
        ));
        assert_eq!(
            target()
                .relabel_configs(vec![rule(Replace, &[], Some("__scrape_interval__"), Some("0s"))])
                .build(),
            Err(TargetError::ZeroRelabelledDuration("__scrape_interval__"))
        );
        // A relabelled interval and path are used.
        let t = target()
            .relabel_configs(vec![
                rule(Replace, &[], Some("__scrape_interval__"), Some("1m")),
                rule(Replace, &[], Some("__metrics_path__"), Some("other")),
            ])
            .build()
            .unwrap();
        assert_eq!((t.interval(), t.url().path()), (d("1m"), "/other"));
        // Relabelling cannot set the tenant labels.
        let t = target()
            .relabel_configs(vec![rule(Replace, &[], Some("project"), Some("someone-else"))])
            .build()
            .unwrap();
        assert!(t.target_labels().iter().all(|(n, _)| n != "project"));
        // An address that is not host:port without relabelling fixing it.
        assert_eq!(
            ScrapeTarget::builder_for_address("j", "https://x").build(),
            Err(TargetError::Url(UrlError::InvalidAddress("https://x".into())))
        );
        assert_eq!(
            target().metrics_path("metrics").build(),
            Err(TargetError::Url(UrlError::InvalidPath("metrics".into())))
        );
    }

    #[test]
    fn schemes() {
        assert_eq!("HTTPS".parse::<Scheme>(), Ok(Scheme::Https));
        assert_eq!("http".parse::<Scheme>(), Ok(Scheme::Http));
        assert_eq!(
            "gopher".parse::<Scheme>(),
            Err(UrlError::UnsupportedScheme("gopher".into()))
        );
        assert_eq!(Scheme::default(), Scheme::Http);
        assert_eq!((Scheme::Http.default_port(), Scheme::Https.default_port()), (80, 443));
    }
}
