//! Plain data the server hands to the UI. No behaviour, no secrets.

use serde::{Deserialize, Serialize};

/// The signed-in person, shown in the page header.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Viewer {
    pub email: String,
    /// Where "home" is for this person (`/agency` or `/clients/{slug}`).
    pub home: String,
    /// The token every state-changing form of this session must carry.
    pub csrf: String,
    /// The person's language setting (`en`, `de`); `None` follows the browser.
    pub language: Option<String>,
}

/// What a request shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Page {
    Login(LoginPage),
    AgencyHome(AgencyHome),
    ClientHome(ClientHome),
    Targets(Box<TargetsPage>),
    Thresholds(Box<ThresholdsPage>),
    Channels(Box<ChannelsPage>),
    StatusSettings(Box<StatusSettingsPage>),
    Billing(Box<BillingPage>),
    Contract(Box<ContractPage>),
    Dashboards(Box<DashboardsPage>),
    Dashboard(Box<DashboardPage>),
    Outbox(Box<OutboxPage>),
    Explore(Box<ExplorePage>),
    AcceptInvite(AcceptInvite),
    InviteInvalid,
    Account(AccountPage),
    Unsubscribe(UnsubscribePage),
    Forgot(ForgotPage),
    ResetPassword(ResetPage),
    ResetInvalid,
    Problem(Problem),
}

/// The signed-in person's own page: how they sign in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountPage {
    pub email: String,
    pub two_factor: TwoFactor,
    pub notice: Option<AccountNotice>,
    /// The code typed to confirm or to switch off was wrong (or used already).
    pub code_refused: bool,
    /// The password form's problems (never the passwords typed).
    pub password_form: FormState,
    /// Client people: which error mails they get.
    pub mail_settings: Option<MailSettings>,
}

/// Which error mails a client person gets.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MailSettings {
    pub client_name: String,
    pub alerts: bool,
    /// Some of [`THRESHOLD_SEVERITIES`].
    pub severities: Vec<String>,
    /// The client's projects: (slug, name, wanted).
    pub projects: Vec<(String, String, bool)>,
}

/// "Forgot your password?": the address, and whether the answer (the same for every address)
/// is shown.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ForgotPage {
    pub email: String,
    pub sent: bool,
    pub error: Option<LoginError>,
}

/// The page of a reset link: the new password for this address.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResetPage {
    pub token: String,
    pub email: String,
    pub form: FormState,
}

/// The page an error mail's unsubscribe link opens (no login needed).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnsubscribePage {
    pub token: String,
    pub email: String,
    pub client_name: String,
    /// Unsubscribed now.
    pub done: bool,
}

/// Whether the person signs in with a code from an authenticator app as well.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TwoFactor {
    Off,
    /// A key was made and waits for the first code from the app.
    SettingUp {
        /// The key in groups of four, for typing it into the app.
        key: String,
        /// The `otpauth://` address as a QR code (SVG, made by the server).
        qr_svg: String,
    },
    On,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountNotice {
    TwoFactorOn,
    TwoFactorOff,
    PasswordChanged,
    MailSettingsSaved,
}

/// Pages that explain why a request did not work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    NotFound,
    Forbidden,
    CsrfRejected,
    TooLarge,
    Internal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    LoggedOut,
    SignedOutEverywhere,
    PasswordSet,
    Saved,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoginPage {
    pub email: String,
    pub next: Option<String>,
    pub error: Option<LoginError>,
    pub notice: Option<Notice>,
    /// The password was right; the code from the authenticator app is asked for.
    pub code_step: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginError {
    InvalidCredentials,
    InvalidCode,
    RateLimited { retry_after_secs: u64 },
}

/// Why a form field was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldProblem {
    Required,
    InvalidSlug,
    Taken,
    InvalidEmail,
    TooLong,
    PasswordTooShort,
    PasswordMismatch,
    /// Not a number (or not a finite one).
    InvalidNumber,
    /// Not a duration such as 5m or 1h30m, up to a day.
    InvalidDuration,
    /// Not a PromQL expression whose value is a list of series.
    InvalidQuery,
    /// The current password typed to change it is wrong.
    PasswordWrong,
    /// Too many wrong passwords for now: the limits of the login apply.
    TooManyAttempts,
    InvalidChoice,
    /// Not a date and time such as 2026-12-24 22:00.
    InvalidTime,
    /// An end before the start, or already past.
    EndBeforeStart,
    /// Not an http:// or https:// address.
    InvalidUrl,
    /// Not a routing key (letters and digits).
    InvalidRoutingKey,
    /// `{{ … }}` that is not a template Prometheus can expand.
    InvalidTemplate,
    /// Not a price such as 49 or 49.90.
    InvalidPrice,
    /// Not a three-letter currency code such as EUR.
    InvalidCurrency,
    /// Not a Stripe id of the kind the field wants (price_…, sk_…, whsec_…).
    InvalidStripeId,
    /// The client's contract allows no more of these.
    LimitReached,
    /// Not matchers such as severity="critical" or {alertname=~"Disk.*"}.
    InvalidMatchers,
    /// Not label names (letters, digits and _, not starting with a digit).
    InvalidLabelName,
    /// As many of these as one client may have exist already.
    TooMany,
    /// Not a series name (letters, digits, _ and :, not starting with a digit).
    InvalidMetricName,
    /// Not labels such as team="web", or a label the place sets itself.
    InvalidLabels,
    /// Not a time of day such as 22:00.
    InvalidClock,
    /// Not a Grafana or Vitrine dashboard (the reason is shown with it).
    InvalidDashboard,
}

/// A submitted form: the values as typed (so nothing is lost) and the
/// problems per field name.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FormState {
    pub values: Vec<(String, String)>,
    pub problems: Vec<(String, FieldProblem)>,
}

impl FormState {
    pub fn value(&self, field: &str) -> &str {
        self.values
            .iter()
            .find(|(name, _)| name == field)
            .map_or("", |(_, value)| value.as_str())
    }

    pub fn problem(&self, field: &str) -> Option<FieldProblem> {
        self.problems
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, problem)| *problem)
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvironmentSummary {
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub slug: String,
    pub name: String,
    pub environments: Vec<EnvironmentSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientSummary {
    pub slug: String,
    pub name: String,
    pub language: String,
    pub projects: Vec<ProjectSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgencyHome {
    pub agency_name: String,
    pub clients: Vec<ClientSummary>,
    pub can_create_client: bool,
    pub client_form: FormState,
    /// With the demo: whether its shop misbehaves now, and for how many more minutes.
    pub demo: Option<DemoShopState>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DemoShopState {
    Normal,
    Misbehaving { minutes_left: u64 },
}

/// Which form on the client page was submitted (and failed), if any.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ClientForm {
    Project(FormState),
    Environment { project: String, form: FormState },
    Invite(FormState),
    Token(FormState),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InviteCreated {
    pub email: String,
    pub link: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientHome {
    pub client: ClientSummary,
    pub can_manage_projects: bool,
    pub can_invite: bool,
    /// Agency owners and admins, and the client's admins: the contract page.
    pub can_see_contract: bool,
    pub failed_form: Option<ClientForm>,
    /// An invitation just made: its link, shown this one time only.
    pub invite_created: Option<InviteCreated>,
    /// The API tokens, for the people who may query the client's data (agency, client admins).
    pub tokens: Option<ApiTokens>,
}

impl ClientHome {
    /// The client's Explore page is open to the same people as its API tokens.
    pub fn can_explore(&self) -> bool {
        self.tokens.is_some()
    }
}

/// The API tokens section of a client's page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiTokens {
    pub tokens: Vec<ApiTokenRow>,
    /// The server's public address: the Prometheus data source URL for Grafana and promtool.
    pub api_base: String,
    pub notice: Option<TokenNotice>,
}

/// One API token as listed: never the token itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiTokenRow {
    pub id: i64,
    pub name: String,
    /// Milliseconds since the epoch.
    pub created_ms: i64,
    /// The e-mail address of who created it; `None` for the command line or a removed person.
    pub created_by: Option<String>,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
    /// When it stops working; `None`: when revoked.
    pub expires_ms: Option<i64>,
    /// Past `expires_ms` now.
    pub expired: bool,
    /// What it may do besides reading: some of [`TOKEN_SCOPES`].
    pub scopes: Vec<String>,
}

/// The lifetimes offered for a new API token, in days (or none: until revoked).
pub const TOKEN_EXPIRY_DAYS: [i64; 3] = [30, 90, 365];

/// What a token may be allowed besides reading (every token reads its client's data, which is
/// what Grafana and promtool need): `silences:write` mutes alerts (amtool, scripts),
/// `annotations:write` sets markers (Grafana's annotation API, deploy scripts), `status:write`
/// writes status page incidents and component states (deploy and CI automation).
pub const TOKEN_SCOPES: [&str; 3] = ["silences:write", "annotations:write", "status:write"];

/// What the tokens section tells once, right after a form.
#[derive(Clone, Serialize, Deserialize)]
pub enum TokenNotice {
    /// A new token, shown this one time only.
    Created {
        name: String,
        token: String,
    },
    Revoked {
        name: String,
    },
}

/// The token stays out of logs and debug output.
impl std::fmt::Debug for TokenNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenNotice::Created { name, .. } => write!(f, "Created {{ name: {name:?}, token: *** }}"),
            TokenNotice::Revoked { name } => write!(f, "Revoked {{ name: {name:?} }}"),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AcceptInvite {
    pub token: String,
    pub email: String,
    pub client_name: String,
    pub form: FormState,
}

/// The targets page of one environment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetsPage {
    pub client_slug: String,
    pub client_name: String,
    pub project_slug: String,
    pub project_name: String,
    pub environment: String,
    /// Milliseconds since the epoch when the page was made; ages are counted from it.
    pub now_ms: i64,
    pub targets: Vec<TargetRow>,
    /// Agency people add, test and delete targets; client people only look.
    pub can_manage: bool,
    pub notice: Option<TargetsNotice>,
    pub add_form: TargetForm,
    pub import_form: TargetForm,
    /// Secrets were taken out of the pasted prometheus.yml shown again.
    pub import_secrets_removed: bool,
    pub test: Option<TestScrapeResult>,
    pub import_report: Option<ImportReport>,
    /// What the client's targets declared about their metrics (`# TYPE`, `# HELP`, `# UNIT`), by name.
    pub metrics: Vec<MetricInfo>,
    /// The environment's HTTP probes (for status pages and thresholds).
    pub probes: Vec<ProbeRow>,
    pub probe_form: FormState,
}

/// One metric as its target describes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MetricInfo {
    pub name: String,
    pub kind: String,
    pub help: String,
    pub unit: String,
}

impl TargetsPage {
    /// `/clients/{client}/projects/{project}/environments/{environment}/targets`
    pub fn path(&self) -> String {
        targets_path(&self.client_slug, &self.project_slug, &self.environment)
    }
}

/// The address of an environment's targets page.
pub fn targets_path(client: &str, project: &str, environment: &str) -> String {
    format!("/clients/{client}/projects/{project}/environments/{environment}/targets")
}

/// One target as listed: never its credentials.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetRow {
    pub id: i64,
    pub job: String,
    pub url: String,
    /// How often it is scraped, e.g. `15s`.
    pub interval: Option<String>,
    /// `None` until the first scrape has finished.
    pub health: Option<TargetHealth>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetHealth {
    pub up: bool,
    /// Milliseconds since the epoch; `None` when the target could not be scraped at all
    /// (its settings are not usable, the reason is in `error`).
    pub last_scrape_ms: Option<i64>,
    pub duration_ms: f64,
    pub samples: u64,
    pub series_added: u64,
    /// Samples of the last scrape refused for a time more than 10 minutes ahead.
    pub future_samples: u64,
    /// The last error in plain words.
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum TargetsNotice {
    Added { job: String },
    Deleted { job: String },
    ProbeAdded { name: String },
    ProbeDeleted { name: String },
}

/// Why a field of the target forms was refused. The details come from the
/// configuration parser (line, column, its reason and hint).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetProblem {
    Required,
    TooLong,
    InvalidChoice,
    /// The address cannot be scraped.
    Url(String),
    /// Not a duration in Prometheus syntax, or not a usable one.
    Duration(String),
    /// A line of the extra labels.
    Label {
        line: usize,
        reason: String,
    },
    /// A line of the extra labels that is not `name=value`.
    LabelSyntax {
        line: usize,
    },
    /// A label given on two lines.
    LabelTwice {
        line: usize,
        name: String,
    },
    /// YAML (relabel rules, prometheus.yml) with its position.
    Yaml {
        line: usize,
        column: usize,
        message: String,
        hint: String,
    },
    /// Any other setting the target cannot have.
    Setting(String),
    /// The environment has a target with this job and address.
    Exists,
}

/// A submitted target form: values as typed (never secrets) and the problems per field.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TargetForm {
    pub values: Vec<(String, String)>,
    pub problems: Vec<(String, TargetProblem)>,
}

impl TargetForm {
    pub fn value(&self, field: &str) -> &str {
        self.values
            .iter()
            .find(|(name, _)| name == field)
            .map_or("", |(_, value)| value.as_str())
    }

    pub fn problem(&self, field: &str) -> Option<&TargetProblem> {
        self.problems
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, problem)| problem)
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// What a test scrape found (nothing of it is stored).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestScrapeResult {
    /// `None` for the add form's "test before saving".
    pub target_id: Option<i64>,
    pub job: String,
    pub url: String,
    pub outcome: Result<TestScrapeReport, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestScrapeReport {
    pub series: u64,
    pub samples: u64,
    /// Declared metric types with how many metrics have each.
    pub types: Vec<(String, u64)>,
    pub first_lines: Vec<String>,
    pub duration_ms: f64,
}

/// The summary of an import from prometheus.yml.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImportReport {
    pub jobs: Vec<ImportedJobReport>,
    /// Every setting that was not imported.
    pub unsupported: Vec<UnsupportedSetting>,
}

impl ImportReport {
    pub fn added(&self) -> usize {
        self.jobs.iter().map(|job| job.added.len()).sum()
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ImportedJobReport {
    pub name: String,
    /// Addresses added.
    pub added: Vec<String>,
    /// Addresses that were in this environment already.
    pub existing: Vec<String>,
    /// Addresses the job's relabel_configs drop.
    pub dropped: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnsupportedSetting {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
    /// Leaving it out changes nothing that is scraped.
    pub harmless: bool,
}

/// The address of a client's Explore page.
pub fn explore_path(client: &str) -> String {
    format!("/clients/{client}/explore")
}

/// The time ranges the Explore page offers, in Prometheus duration syntax.
pub const EXPLORE_RANGES: [&str; 10] = ["5m", "15m", "1h", "3h", "6h", "12h", "24h", "2d", "7d", "30d"];

/// The range the Explore page starts with.
pub const EXPLORE_DEFAULT_RANGE: &str = "1h";

/// The Explore page of a client: a PromQL query, its chart or table, and help for beginners.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExplorePage {
    pub client_slug: String,
    pub client_name: String,
    pub form: ExploreForm,
    /// The step chosen when the form leaves it empty, e.g. `15s`.
    pub auto_step: String,
    /// Fields of the form that cannot be used, by name (`range`, `end`, `step`).
    pub problems: Vec<(String, ExploreProblem)>,
    /// `None` until a query is given (and the form is usable).
    pub outcome: Option<ExploreOutcome>,
    /// Queries to try, made from the client's own metrics.
    pub examples: Vec<ExploreExample>,
}

impl ExplorePage {
    pub fn problem(&self, field: &str) -> Option<&ExploreProblem> {
        self.problems.iter().find(|(name, _)| name == field).map(|(_, p)| p)
    }
}

/// The Explore form as sent (so the address can be shared and nothing typed is lost).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ExploreForm {
    pub query: String,
    pub mode: ExploreMode,
    pub range: String,
    /// Empty: now.
    pub end: String,
    /// Empty: chosen from the range.
    pub step: String,
}

/// Graph over a time range, or the table of values at one time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExploreMode {
    #[default]
    Range,
    Instant,
}

/// Why a field of the Explore form cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExploreProblem {
    /// Not one of [`EXPLORE_RANGES`].
    Range,
    /// Neither `YYYY-MM-DD HH:MM` nor RFC 3339.
    End,
    /// Not a positive duration.
    Step,
    /// The step gives more points than a query may have; the smallest usable step.
    TooManyPoints { min_step: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ExploreOutcome {
    /// The query does not parse: Prometheus' message and where (byte offsets into the query).
    Parse {
        message: String,
        start: usize,
        end: usize,
        line: usize,
        column: usize,
    },
    /// The query parsed but could not be evaluated; `detail` is the engine's text.
    Failed {
        failure: QueryFailure,
        detail: String,
    },
    Graph(Box<ExploreGraph>),
    Table(ExploreTable),
}

/// Why an evaluation failed, in words for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryFailure {
    Timeout {
        seconds: u64,
    },
    TooManySamples,
    TooManySeries,
    Busy,
    /// Not possible in this mode (a range vector as a graph, a string over time, …).
    Unsupported,
    /// The engine refused it (many-to-many matching, duplicate series, …).
    Execution,
    Internal,
}

/// A range query's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExploreGraph {
    pub start_ms: i64,
    pub end_ms: i64,
    /// The step used, e.g. `15s`.
    pub step: String,
    /// The SVG chart, made by the server from numbers only (no label text).
    pub chart_svg: String,
    /// Series in the result; the chart draws `drawn` of them, the table lists `rows`.
    pub total: usize,
    pub drawn: usize,
    pub rows: Vec<SeriesRow>,
    pub took_ms: f64,
}

/// One series of a range result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeriesRow {
    /// Its colour in the chart (`#RRGGBB`); `None` when it is not drawn.
    pub colour: Option<String>,
    pub labels: SeriesLabels,
    pub last: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A series' metric name (`__name__`) and its other labels, in order.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SeriesLabels {
    pub name: Option<String>,
    pub labels: Vec<(String, String)>,
}

/// An instant query's result at `time_ms`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExploreTable {
    pub time_ms: i64,
    pub result: InstantResult,
    pub took_ms: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum InstantResult {
    /// The first rows of a vector of `total` samples.
    Vector {
        rows: Vec<(SeriesLabels, f64)>,
        total: usize,
    },
    /// A range selector (`up[5m]`): the first rows of `total` series, each with its latest points.
    Matrix {
        rows: Vec<(SeriesLabels, Vec<(i64, f64)>)>,
        total: usize,
    },
    Scalar(f64),
    String(String),
}

/// A query to try, with what it shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExploreExample {
    pub kind: ExampleKind,
    /// The metric it is built from.
    pub metric: String,
    pub query: String,
    /// The Explore page with this query and the current range.
    pub href: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExampleKind {
    /// `up`: whether each target answers.
    Up,
    /// `rate(counter[5m])`
    Rate,
    /// `histogram_quantile(0.95, …)`
    Quantile,
    /// A gauge as it is.
    Gauge,
}

/// A client's thresholds: each with its explanation and state; for agency people the form
/// to add one from a template.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThresholdsPage {
    pub client_name: String,
    pub client_slug: String,
    pub thresholds: Vec<ThresholdView>,
    /// Agency people: may add and delete.
    pub can_manage: bool,
    /// The templates to start from: (id, name in the viewer's language).
    pub templates: Vec<(String, String)>,
    /// Where a threshold can go: (`project/environment` or `project/*`, label).
    pub places: Vec<(String, String)>,
    /// The new threshold's form: filled from the chosen template, or as typed with its problems.
    pub form: Option<FormState>,
    pub notice: Option<ThresholdNotice>,
    /// Agency people and the client's admins: may mute and plan maintenance.
    pub can_silence: bool,
    /// Mutes in effect and planned maintenance, then those ended in the last days.
    pub silences: Vec<SilenceView>,
    /// The maintenance form as typed, with its problems.
    pub maintenance_form: Option<FormState>,
    /// The new threshold's form tried out.
    pub preview: Option<ThresholdPreview>,
    /// The rule file import form as typed (`rules_error`: why the file was refused).
    pub import_form: Option<FormState>,
    /// The client's recording rules, in the order they run.
    pub recording_rules: Vec<RecordingRuleView>,
    /// The new recording rule's form as typed, with its problems.
    pub recording_form: Option<FormState>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ThresholdNotice {
    Imported(RulesImported),
    Created { name: String },
    Deleted { name: String },
    Muted { until_ms: i64 },
    MaintenancePlanned { starts_ms: i64 },
    SilenceEnded,
    RecordingAdded { record: String },
    RecordingDeleted { record: String },
}

/// A recording rule as the thresholds page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordingRuleView {
    pub id: i64,
    /// The name of the series it writes.
    pub record: String,
    /// Where it runs, as the page names places ("Shop · live").
    pub place: String,
    /// The expression as written.
    pub expr: String,
    /// The expression as evaluated: confined to the place.
    pub effective: String,
    /// Set on every series it writes.
    pub labels: Vec<(String, String)>,
    /// When it last ran (ms), 0 before the first time.
    pub last_ms: i64,
    /// Why its last evaluation failed.
    pub error: Option<String>,
    /// How many series it wrote the last time.
    pub series: usize,
}

/// What importing a Prometheus rule file did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RulesImported {
    /// The thresholds made, by name.
    pub created: Vec<String>,
    /// The recording rules made, by the name of the series they write.
    pub recorded: Vec<String>,
    /// Rules not made into thresholds: (name, why).
    pub skipped: Vec<(String, SkipReason)>,
    /// Settings of the file left out.
    pub notes: Vec<ImportNote>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipReason {
    /// The place has a threshold (or a recording rule) of this name already.
    Exists,
    /// The client has as many recording rules as it may have.
    TooMany,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportNote {
    GroupInterval { group: String, interval: String },
    Label { rule: String, label: String },
    Annotation { rule: String, annotation: String },
    KeepFiringFor { rule: String, duration: String },
}

/// How long one click mutes a threshold's mails, in hours.
pub const MUTE_HOURS: [i64; 4] = [1, 4, 24, 168];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThresholdState {
    Ok,
    Pending,
    Firing,
    /// Crossed, but muted: a silence (or maintenance) holds its mails back.
    Silenced,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SilenceState {
    /// In effect now.
    Active,
    /// Starts later: planned maintenance.
    Planned,
    Ended,
}

/// A silence as the thresholds page shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SilenceView {
    pub id: String,
    pub state: SilenceState,
    /// The names of the client's thresholds it mutes (empty: see `matchers`).
    pub thresholds: Vec<String>,
    /// Its matchers as amtool writes them, e.g. `project="shop"`.
    pub matchers: Vec<String>,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub created_by: String,
    pub comment: String,
}

/// How a threshold's measured value is compared with its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    Above,
    AtLeast,
    Below,
    AtMost,
    Equal,
    NotEqual,
    /// The query is the condition itself, as an imported Prometheus rule states it
    /// (`absent(up)`, `a > b`): every series it finds raises the alarm; the line is not used.
    Found,
}

impl Comparison {
    pub const ALL: [Comparison; 7] = [
        Comparison::Above,
        Comparison::AtLeast,
        Comparison::Below,
        Comparison::AtMost,
        Comparison::Equal,
        Comparison::NotEqual,
        Comparison::Found,
    ];

    pub fn parse(raw: &str) -> Option<Comparison> {
        Comparison::ALL.into_iter().find(|c| c.op() == raw.trim())
    }

    /// The PromQL comparison operator (`found` for [`Comparison::Found`], which has none).
    pub fn op(self) -> &'static str {
        match self {
            Comparison::Found => "found",
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
            Comparison::Equal => "==",
            Comparison::NotEqual => "!=",
        }
    }
}

/// A threshold's severities, most severe first.
pub const THRESHOLD_SEVERITIES: [&str; 3] = ["critical", "warning", "info"];

/// The Grafana unit ids a threshold's value may have.
pub const THRESHOLD_UNITS: [&str; 8] = ["percentunit", "percent", "s", "ms", "bytes", "reqps", "short", "none"];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThresholdView {
    pub id: i64,
    pub name: String,
    pub project: String,
    /// `None`: every environment of the project.
    pub environment: Option<String>,
    pub comparison: Comparison,
    pub value: f64,
    pub warning: Option<f64>,
    pub unit: String,
    pub for_secs: u32,
    pub severity: String,
    pub state: ThresholdState,
    /// Since when in that state (ms since the epoch); 0 when OK.
    pub since_ms: i64,
    /// The measured value at the last evaluation that crossed the line.
    pub value_now: Option<f64>,
    /// The explanation in the viewer's language (English when not written in it).
    pub meaning: String,
    pub action: String,
    pub audience: String,
    /// The alert rule as evaluated: confined to its project and environment.
    pub effective_expr: String,
    /// A silence in effect for it: until when (ms), by whom, why.
    pub muted: Option<(i64, String, String)>,
    /// Recent changes, newest first: (state, value, at ms).
    pub history: Vec<(ThresholdState, f64, i64)>,
    /// The mails it sent recently, newest first.
    pub mails: Vec<ThresholdMails>,
    /// Tested just now (the test button).
    pub preview: Option<ThresholdPreview>,
}

/// A threshold tried out: its measured value over the last day with the line, how often it
/// would have raised the alarm in the last week, what it says now.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThresholdPreview {
    /// The chart of the last 24 hours, made by the server.
    pub chart_svg: String,
    pub alarms_in_week: usize,
    /// The highest measured value now.
    pub value_now: Option<f64>,
    pub crossed_now: bool,
    /// Why it could not be tried (the query's error).
    pub error: Option<String>,
}

/// The mails of one notice of a threshold.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThresholdMails {
    /// The alarm (`true`) or its end.
    pub alarm: bool,
    pub at_ms: i64,
    pub recipients: u32,
    /// How many have left (sent or written to a file).
    pub delivered: u32,
}

/// What stands in a mail's text on the outbox page where a personal link (one that works
/// without a login) was; the page shows it translated.
pub const LINK_REMOVED: &str = "{link-removed}";

/// The agency's sent and waiting mails, newest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboxPage {
    /// `true`: mails leave through SMTP; `false`: they are only written to files.
    pub smtp: bool,
    pub messages: Vec<OutboxMessage>,
    /// A mail was just put back in the queue.
    pub retried: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub client: Option<String>,
    pub recipient: String,
    pub subject: String,
    /// pending, sent, failed, dead.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub sent_ms: Option<i64>,
    /// The plain text part, as the recipient reads it (a channel's JSON body).
    pub text: String,
    /// Posted to a channel over HTTP (not a mail).
    pub posted: bool,
}

/// The kinds of notification channels, in the order the form offers them.
pub const CHANNEL_KINDS: [&str; 4] = ["email", "webhook", "slack", "pagerduty"];

/// Who is told about a client's alarms.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChannelsPage {
    /// The add-ons the contract lacks: error mails to the client's people, chat channels.
    pub mails_addon_needed: Option<AddOnNeeded>,
    pub chat_addon_needed: Option<AddOnNeeded>,
    pub client_name: String,
    pub client_slug: String,
    /// The client's people and which error mails they chose.
    pub people: Vec<PersonMails>,
    pub channels: Vec<ChannelView>,
    /// Agency people: may add, test, delete and import.
    pub can_manage: bool,
    /// The new channel's form as typed, with its problems.
    pub form: Option<FormState>,
    /// The Alertmanager import form as typed (`config_error`: why it was refused).
    pub import_form: Option<FormState>,
    /// When the client is told of an alarm.
    pub timing: NotifyTiming,
    /// `false`: the timing is the agency's usual one (the server's).
    pub own_timing: bool,
    /// The timing form as typed, with its problems.
    pub timing_form: Option<FormState>,
    /// The client's inhibition rules.
    pub inhibit_rules: Vec<InhibitRuleView>,
    /// The new inhibition rule's form as typed, with its problems.
    pub inhibit_form: Option<FormState>,
    /// The client's quiet hours.
    pub quiet_hours: Vec<QuietHoursView>,
    /// The new quiet hours' form as typed, with its problems.
    pub quiet_hours_form: Option<FormState>,
    /// The zone a new form starts with: the client's (its status page's).
    pub time_zone: String,
    pub notice: Option<ChannelNotice>,
}

/// Quiet hours as the channels page lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuietHoursView {
    pub id: i64,
    pub name: String,
    /// ISO weekdays, Monday 1 … Sunday 7.
    pub weekdays: Vec<u8>,
    /// `22:00`.
    pub from: String,
    pub to: String,
    /// Whether it ends the next day.
    pub overnight: bool,
    pub time_zone: String,
    /// Empty: every severity.
    pub severities: Vec<String>,
    /// Whether it holds now.
    pub now: bool,
}

/// An inhibition rule as the channels page lists it: while an alarm matching `source` goes
/// on, alarms matching `target` with the same `equal` labels stay quiet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InhibitRuleView {
    pub id: i64,
    pub source: String,
    pub target: String,
    pub equal: Vec<String>,
}

/// When a client is told of a threshold's alarm, as an Alertmanager route's timers (seconds):
/// the first notice `group_wait` after the alarm is raised, a change or the end at the earliest
/// `group_interval` after the last notice, an unchanged alarm again every `repeat_interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyTiming {
    pub group_wait_secs: u32,
    pub group_interval_secs: u32,
    pub repeat_interval_secs: u32,
}

impl NotifyTiming {
    /// Alertmanager's defaults: 30 s, 5 min, 4 h.
    pub const ALERTMANAGER: NotifyTiming = NotifyTiming {
        group_wait_secs: 30,
        group_interval_secs: 300,
        repeat_interval_secs: 4 * 3600,
    };

    pub fn group_wait_ms(&self) -> i64 {
        i64::from(self.group_wait_secs) * 1000
    }

    pub fn group_interval_ms(&self) -> i64 {
        i64::from(self.group_interval_secs) * 1000
    }

    pub fn repeat_interval_ms(&self) -> i64 {
        i64::from(self.repeat_interval_secs) * 1000
    }
}

/// One of the client's people and the error mails they want.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PersonMails {
    pub email: String,
    pub alerts: bool,
    pub severities: Vec<String>,
    /// `None`: every project.
    pub projects: Option<Vec<String>>,
}

/// A notification channel as pages show it: never its secret address, URL or key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChannelView {
    pub id: i64,
    /// One of [`CHANNEL_KINDS`].
    pub kind: String,
    pub name: String,
    /// The address, the URL's host, or the routing key's last characters.
    pub shown: String,
    /// Empty: every severity.
    pub severities: Vec<String>,
    pub created_ms: i64,
    pub created_by: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ChannelNotice {
    Created { name: String },
    Deleted { name: String },
    TestQueued { name: String },
    Imported(AlertmanagerImported),
    TimingSaved,
    TimingReset,
    InhibitRuleAdded,
    InhibitRuleDeleted,
    QuietHoursAdded { name: String },
    QuietHoursDeleted { name: String },
}

/// What importing an Alertmanager configuration did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertmanagerImported {
    /// The channels made, by name.
    pub created: Vec<String>,
    /// Names the client had already: left as they were.
    pub existed: Vec<String>,
    /// Integrations whose address or URL is not valid.
    pub invalid: Vec<String>,
    /// When the client is told, as the file's top route set it (`None`: it sets no timer).
    pub timing: Option<NotifyTiming>,
    /// How many of its `inhibit_rules` were taken over.
    pub inhibit_rules: usize,
    /// What was not taken over.
    pub notes: Vec<AlertmanagerNote>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertmanagerNote {
    /// As Alertmanager names it, e.g. `route.group_wait`.
    pub path: String,
    pub line: usize,
    pub kind: AlertmanagerNoteKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertmanagerNoteKind {
    /// A setting Vitrine does not use.
    Setting,
    /// A value still holding a `{{ … }}` placeholder.
    Placeholder,
    /// An integration Vitrine cannot send to.
    Unsupported,
}

/// The time ranges a dashboard offers, as they stand in its address.
pub const DASHBOARD_RANGES: [&str; 5] = ["1h", "6h", "24h", "7d", "30d"];

/// A client's dashboards by project, with how each environment is doing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DashboardsPage {
    pub client_name: String,
    pub client_slug: String,
    pub projects: Vec<ProjectDashboards>,
    /// Agency people: may add the default dashboard to a project and import dashboards.
    pub can_manage: bool,
    /// The import form as typed (`json_error`: why it was refused).
    pub import_form: Option<FormState>,
    /// The dashboard just imported: its id and what the import left out.
    pub imported: Option<(i64, DashboardImported)>,
}

/// What importing a Grafana dashboard did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardImported {
    pub title: String,
    /// How many panels it has now.
    pub panels: usize,
    /// What was left out or changed, in the dashboard's order.
    pub notes: Vec<DashboardNote>,
}

/// How an imported panel of a kind Vitrine lacks is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DrawnAs {
    Lines,
    Number,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DashboardNote {
    /// A panel of a kind not imported (text, table, piechart, …).
    PanelSkipped {
        panel: String,
        kind: String,
    },
    /// A panel without a query left.
    NoQuery {
        panel: String,
    },
    DrawnAs {
        panel: String,
        kind: String,
        drawn_as: DrawnAs,
    },
    /// A setting of the panel left out (overrides, mappings, thresholds, …).
    Setting {
        panel: String,
        setting: String,
    },
    QueryHidden {
        panel: String,
        expr: String,
    },
    /// A query that is not PromQL Vitrine reads (after the variables were fixed).
    QueryRefused {
        panel: String,
        expr: String,
        reason: String,
    },
    TooManyQueries {
        panel: String,
        max: usize,
    },
    TooManyPanels {
        max: usize,
    },
    /// A dashboard variable fixed to one value.
    VariableFixed {
        name: String,
        value: String,
    },
    /// A row: its panels follow one another, the row is not drawn.
    Row {
        row: String,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProjectDashboards {
    pub slug: String,
    pub name: String,
    pub environments: Vec<EnvironmentState>,
    /// (id, title in the viewer's language)
    pub dashboards: Vec<(i64, String)>,
}

/// An environment and its thresholds: how many there are and how many raise the alarm.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvironmentState {
    pub name: String,
    pub thresholds: u32,
    pub firing: u32,
}

/// One dashboard of a project in one environment over one time range.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DashboardPage {
    pub client_name: String,
    pub client_slug: String,
    pub dashboard_id: i64,
    pub title: String,
    pub description: String,
    pub project_name: String,
    /// The project's environments; `environment` is the one shown.
    pub environments: Vec<String>,
    pub environment: String,
    /// One of [`DASHBOARD_RANGES`].
    pub range: String,
    pub end_ms: i64,
    pub panels: Vec<PanelView>,
    /// The markers of the environment in the period, newest first.
    pub markers: Vec<MarkerView>,
    /// Agency people and the client's admins: may add and delete markers.
    pub can_mark: bool,
    /// The marker form as typed, with its problems.
    pub marker_form: Option<FormState>,
}

/// A marker on the time axis.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MarkerView {
    pub id: i64,
    pub time_ms: i64,
    pub time_end_ms: i64,
    pub text: String,
    pub tags: Vec<String>,
    /// Who added it on the page; empty: through the API.
    pub created_by: String,
    /// The marker of a threshold's alarm (its text is the threshold's name).
    pub alarm: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PanelView {
    /// `timeseries` or `stat`.
    pub kind: String,
    pub title: String,
    pub explanation: String,
    /// Columns of 24.
    pub width: u8,
    pub chart_svg: String,
    /// A panel wider than half the page: its chart drawn again for a phone's width.
    pub chart_svg_phone: Option<String>,
    /// Each series' name and figures, for the table behind the chart.
    pub rows: Vec<PanelRow>,
    pub unit: String,
    /// Named series: (colour `#RRGGBB`, name); empty for a single unnamed series.
    pub legends: Vec<(String, String)>,
    /// `None`: no data in the range.
    pub stats: Option<PanelStats>,
    pub thresholds: Vec<PanelThreshold>,
    /// The query could not run: why, in Prometheus' words.
    pub error: Option<String>,
}

/// One series of a panel in its table of values.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PanelRow {
    /// `#RRGGBB`, as drawn.
    pub colour: String,
    pub name: String,
    pub last: f64,
    pub min: f64,
    pub max: f64,
}

/// The figures a panel's sentence is made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PanelStats {
    /// The latest value (of the series with the highest value at the end).
    pub last: f64,
    pub max: f64,
    pub max_at: i64,
    pub min: f64,
    pub min_at: i64,
}

/// A threshold drawn on a panel, with its state now and when in the range it was crossed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PanelThreshold {
    pub id: i64,
    pub name: String,
    pub state: ThresholdState,
    pub comparison: Comparison,
    pub line: f64,
    pub meaning: String,
    pub action: String,
    /// The first time in the range a series was across the line.
    pub crossed_at: Option<i64>,
}

/// Why a probe failed, in words the pages translate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ProbeFailure {
    /// The answer's status code is not one of those expected (e.g. `200-399`).
    Status {
        got: u16,
        expected: String,
    },
    KeywordMissing {
        keyword: String,
    },
    KeywordFound {
        keyword: String,
    },
    /// The JSON value at `pointer` is not `expected` (`got`: what it is; `None`: absent).
    JsonMismatch {
        pointer: String,
        expected: String,
        got: Option<String>,
    },
    NotJson,
    TooSlow {
        millis: u64,
        limit_millis: u64,
    },
    Timeout {
        secs: u64,
    },
    /// The address policy refused the address (the same guard as scrapes).
    Refused {
        why: String,
    },
    Connect {
        detail: String,
    },
    /// The TLS handshake failed (an invalid or expired certificate, a wrong name).
    Certificate {
        detail: String,
    },
}

/// The last run of a probe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeHealth {
    pub success: bool,
    pub last_ms: i64,
    pub duration_ms: f64,
    pub status_code: Option<u16>,
    /// When the server's certificate expires (ms), for HTTPS.
    pub cert_expiry_ms: Option<i64>,
    pub failure: Option<ProbeFailure>,
    /// Failed runs in a row (0 after a success).
    pub failures_in_row: u32,
}

/// A probe as the targets page lists it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProbeRow {
    pub id: i64,
    pub name: String,
    pub method: String,
    pub url: String,
    pub interval_secs: u32,
    /// What it checks besides the status codes, in the page's words.
    pub expect_status: String,
    pub keyword: String,
    pub keyword_absent: bool,
    /// `/status = ok`, or empty when it checks no JSON value.
    pub json_check: String,
    /// `None` before its first run.
    pub health: Option<ProbeHealth>,
}

/// A status page component's state, as Atlassian Statuspage names them; ordered from best
/// to worst, so the banner shows the greatest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentState {
    pub const ALL: [ComponentState; 5] = [
        ComponentState::Operational,
        ComponentState::UnderMaintenance,
        ComponentState::DegradedPerformance,
        ComponentState::PartialOutage,
        ComponentState::MajorOutage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Operational => "operational",
            ComponentState::UnderMaintenance => "under_maintenance",
            ComponentState::DegradedPerformance => "degraded_performance",
            ComponentState::PartialOutage => "partial_outage",
            ComponentState::MajorOutage => "major_outage",
        }
    }

    pub fn parse(raw: &str) -> Option<ComponentState> {
        ComponentState::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The CSS class of its colour: the same everywhere.
    pub fn class(self) -> &'static str {
        match self {
            ComponentState::Operational => "st-ok",
            ComponentState::UnderMaintenance => "st-maint",
            ComponentState::DegradedPerformance => "st-degraded",
            ComponentState::PartialOutage => "st-partial",
            ComponentState::MajorOutage => "st-major",
        }
    }
}

/// One day of a component's bar on the status page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayBar {
    /// `2026-12-07`, in the page's time zone.
    pub date: String,
    /// The worst state of the day; `None`: the component did not exist yet.
    pub worst: Option<ComponentState>,
    /// Share of the day up (0..=1) with the outage weights; `None` with `worst`.
    pub uptime: Option<f64>,
    /// Minutes in partial or major outage.
    pub outage_minutes: u32,
}

/// A component as the public sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublicComponent {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub state: ComponentState,
    pub uptime_30: Option<f64>,
    pub uptime_90: Option<f64>,
    pub days: Vec<DayBar>,
    /// It follows a probe: its answer times are drawn (response-time.svg).
    pub probed: bool,
}

/// Components under one group name ('' for those in none).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublicGroup {
    pub name: String,
    pub components: Vec<PublicComponent>,
}

/// The public status page of a client.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublicStatusPage {
    pub client_name: String,
    pub slug: String,
    pub overall: ComponentState,
    pub groups: Vec<PublicGroup>,
    /// The IANA name the days and times are in.
    pub time_zone: String,
    /// When the page was made, as text in its time zone (`2026-12-07 14:03`).
    pub updated: String,
    /// The incidents not resolved yet, newest first.
    pub incidents: Vec<IncidentView>,
    /// The page can be followed by e-mail (the client's contract has subscribers).
    pub subscribe: bool,
}

/// A component as the agency's status settings list it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ComponentRow {
    pub id: i64,
    pub group_name: String,
    pub name: String,
    pub description: String,
    /// What the sources say now, or the override.
    pub state: ComponentState,
    pub override_state: Option<ComponentState>,
    pub sources: Vec<SourceRow>,
}

/// What a component is derived from, in words.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceRow {
    pub id: i64,
    /// `probe`, `target` or `threshold`.
    pub kind: String,
    pub name: String,
    pub impact: ComponentState,
    pub failures: u32,
    /// Whether it is failing now.
    pub failing: bool,
}

/// The status page settings of a client (`/clients/{client}/status`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatusSettingsPage {
    pub client_name: String,
    pub client_slug: String,
    /// The page's absolute address, for the badge and widget snippets.
    pub public_url: String,
    pub published: bool,
    pub time_zone: String,
    pub components: Vec<ComponentRow>,
    /// Sources one may pick: (`probe:12`, "Shop / live / Home page").
    pub choices: Vec<(String, String)>,
    pub can_manage: bool,
    pub form: Option<FormState>,
    pub settings_form: Option<FormState>,
    pub notice: Option<StatusNotice>,
    /// Open incidents first, then the last resolved ones.
    pub incidents: Vec<IncidentView>,
    pub incident_form: Option<FormState>,
    /// Set when the contract lacks the status page add-on: the page is not public.
    pub addon_needed: Option<AddOnNeeded>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum StatusNotice {
    Saved,
    ComponentCreated { name: String },
    ComponentDeleted { name: String },
    SourceAdded { name: String },
    Overridden { name: String },
    IncidentOpened { title: String },
    IncidentUpdated { title: String },
}

/// Where an incident stands, as Statuspage names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] = [
        IncidentStatus::Investigating,
        IncidentStatus::Identified,
        IncidentStatus::Monitoring,
        IncidentStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Monitoring => "monitoring",
            IncidentStatus::Resolved => "resolved",
        }
    }

    pub fn parse(raw: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// One entry of an incident's timeline, in the reader's language.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UpdateView {
    pub status: IncidentStatus,
    pub body: String,
    /// `2026-12-07 15:04`, in the page's time zone.
    pub at: String,
}

/// An incident as the pages show it, in the reader's language.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IncidentView {
    pub id: i64,
    pub title: String,
    /// `none`, `minor`, `major`, `critical`.
    pub impact: String,
    pub status: IncidentStatus,
    pub started: String,
    /// `2026-12`, for the history's months.
    pub month: String,
    pub resolved: Option<String>,
    /// The components it affects and what each shows meanwhile.
    pub components: Vec<(String, ComponentState)>,
    /// Newest first.
    pub updates: Vec<UpdateView>,
    pub postmortem: String,
}

/// A status page's past incidents (`/status/{page}/history`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublicHistory {
    pub client_name: String,
    pub slug: String,
    pub time_zone: String,
    /// Newest first.
    pub incidents: Vec<IncidentView>,
}

/// The small public pages of a status page's subscriptions.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum PublicMessage {
    /// The same answer for known and new addresses.
    SignedUp,
    RateLimited,
    BadAddress,
    /// The page takes no more subscribers (the contract's limit).
    SubscriptionsFull,
    /// A confirmation link opened: the button that confirms (mail scanners only open links).
    ConfirmAsk {
        action: String,
    },
    Confirmed {
        manage: String,
    },
    LinkInvalid,
    Manage {
        action: String,
        unsubscribe: String,
        /// (id, name, followed)
        components: Vec<(i64, String, bool)>,
        saved: bool,
    },
    UnsubscribeAsk {
        action: String,
    },
    Unsubscribed,
}

/// An item of the agency's catalogue: the base plan or an add-on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CatalogueItem {
    pub id: i64,
    pub key: String,
    pub base: bool,
    /// What it grants: one of [`CATALOGUE_GRANTS`].
    pub grants: String,
    pub amount: i64,
    /// In the reader's language (English where it has none).
    pub name: String,
    pub value: String,
    /// English, German, French, as written.
    pub names: [String; 3],
    pub values: [String; 3],
    pub monthly_cents: i64,
    pub setup_cents: i64,
    pub currency: String,
    pub stripe_price_id: String,
    pub stripe_setup_price_id: String,
    pub archived: bool,
}

/// What a catalogue item can grant (`billing::Grant`'s keys).
pub const CATALOGUE_GRANTS: [&str; 7] = [
    "client_mails",
    "status_page",
    "chat_alerts",
    "projects",
    "subscribers",
    "retention_days",
    "service",
];

/// The agency's billing page: its catalogue, its Stripe account and every client's contract.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BillingPage {
    pub items: Vec<CatalogueItem>,
    /// The item being edited (None with a form: a new one).
    pub editing: Option<i64>,
    pub item_form: Option<FormState>,
    pub has_stripe_keys: bool,
    /// Where the agency points its Stripe webhook.
    pub webhook_url: String,
    pub keys_form: Option<FormState>,
    pub contracts: Vec<ContractRow>,
    pub notice: Option<BillingNotice>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractRow {
    pub client_slug: String,
    pub client_name: String,
    pub contract: Option<ContractView>,
}

/// A client's contract as the pages show it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractView {
    /// recorded | stripe
    pub billing: String,
    /// active | checkout | past_due | canceled
    pub status: String,
    /// While a grace period runs: the day the add-ons stop.
    pub stops_on: Option<String>,
    pub note: String,
    /// The items' monthly prices added up, per currency: (currency, cents).
    pub monthly: Vec<(String, i64)>,
    pub item_names: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum BillingNotice {
    ItemSaved { name: String },
    ItemArchived { name: String },
    KeysSaved,
    Recorded,
    SubscriptionCreated,
    SubscriptionChanged,
    CheckoutReturned,
}

/// A client's contract page: what it has, what it could add, and how it pays.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractPage {
    pub client_name: String,
    pub client_slug: String,
    pub contract: Option<ContractView>,
    /// Every item on offer, and those of the contract no longer offered: (item, in the contract).
    pub items: Vec<(CatalogueItem, bool)>,
    /// Agency owners and admins record contracts and start subscriptions.
    pub can_manage: bool,
    /// Client admins pay through Checkout and open the billing portal.
    pub can_pay: bool,
    pub stripe_ready: bool,
    pub notice: Option<BillingNotice>,
    /// What Stripe answered when a request failed, or why it could not be sent.
    pub problem: Option<BillingProblem>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum BillingProblem {
    NoKeys,
    NoPrice { item: String },
    NothingChosen,
    WrongState,
    Stripe { message: String },
}

/// Shown where a feature needs an add-on the client does not have: which one, what it brings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AddOnNeeded {
    /// The add-on's name and added value in the reader's language; None when the catalogue
    /// offers none that grants it.
    pub name: Option<String>,
    pub value: String,
    pub contract_link: String,
}
