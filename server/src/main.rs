//! `vitrine`: the server and its operator commands. This file is the
//! composition root: it reads the configuration and wires the subsystems.

mod billing;
mod chart;
mod config;
mod dashboards;
mod db;
mod demo;
mod demo_app;
mod housekeeping;
mod http;
mod markers;
mod notify;
mod query;
mod rules;
mod scrape;
mod secrets;
mod status;
mod store;
mod tenancy;

use clap::{Parser, Subcommand};
use config::{Config, LogFormat};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tenancy::admin::{self, Placement};
use tenancy::model::Role;
use tower_sessions::ExpiredDeletion;
use tower_sessions::cookie::Key;

#[derive(Parser)]
#[command(name = "vitrine", version, about = "Status and transparency portal for web agencies")]
struct Cli {
    /// TOML configuration file (environment variables VITRINE_* override it).
    #[arg(long, global = true, env = "VITRINE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the portal.
    Serve {
        /// Seed the demo agency, clients and people into an empty database and print the logins.
        #[arg(long)]
        demo: bool,
    },
    /// Create or update the database schema, then exit.
    Migrate,
    /// Manage agencies.
    Agency {
        #[command(subcommand)]
        action: AgencyAction,
    },
    /// Manage clients (tenants) of an agency.
    Client {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// Manage people.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Print the HTTP route table as JSON.
    Routes,
    /// Run tests without a server or database.
    Test {
        #[command(subcommand)]
        action: TestAction,
    },
    /// API tokens of a client (for Grafana, promtool and other Prometheus API clients).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Scrape targets of an environment.
    Targets {
        #[command(subcommand)]
        action: TargetsAction,
    },
    /// Rules: Prometheus rule files in and out of a client's thresholds and recording rules.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Dashboards of a client's projects, as Vitrine's dashboard JSON (schema 1).
    Dashboards {
        #[command(subcommand)]
        action: DashboardsAction,
    },
    /// Notification channels of a client (team addresses, webhooks, Slack, PagerDuty).
    Channels {
        #[command(subcommand)]
        action: ChannelsAction,
    },
    /// Load data into the time-series store.
    Import {
        #[command(subcommand)]
        format: ImportFormat,
    },
    /// The demo (`serve --demo`), through the running server.
    Demo {
        #[command(subcommand)]
        action: DemoAction,
    },
    /// The time-series store: statistics, compaction, backups (also while the server runs).
    Tsdb {
        #[command(subcommand)]
        action: TsdbAction,
    },
    /// Billing: an agency's Stripe account.
    Billing {
        #[command(subcommand)]
        action: BillingAction,
    },
    /// The key that seals stored credentials (data/secret.key or VITRINE_SECRET_KEY).
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
}

#[derive(Subcommand)]
enum TestAction {
    /// Run promtool's rule unit-test files, as `promtool test rules` does: its output, exit
    /// code 1 when a test fails.
    Rules {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BillingAction {
    /// Store an agency's Stripe keys, sealed: two lines on standard input, the secret key
    /// (sk_… or rk_…) and the webhook signing secret (whsec_…). They are never printed.
    StripeKeys {
        #[arg(long)]
        agency: String,
    },
}

#[derive(Subcommand)]
enum SecretsAction {
    /// Seal every stored secret under a new key (with the server stopped). The new key
    /// replaces secret.key, or is printed when the key comes from VITRINE_SECRET_KEY.
    Rotate,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token; it is printed once, alone on the last line.
    Create {
        #[arg(long)]
        client: String,
        /// What the token is for, e.g. "grafana".
        #[arg(long)]
        name: String,
        /// The token stops working this many days from now (without: when revoked).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        expires_in_days: Option<u32>,
        /// What it may do besides reading, repeatable: silences:write (amtool silence add/expire).
        #[arg(long = "scope", value_parser = clap::builder::PossibleValuesParser::new(app::dto::TOKEN_SCOPES))]
        scopes: Vec<String>,
    },
}

#[derive(Subcommand)]
enum TargetsAction {
    /// Add every static target of a prometheus.yml to one environment (a running server picks them up within 5 s).
    Import {
        file: PathBuf,
        #[arg(long)]
        client: String,
        #[arg(long)]
        project: String,
        #[arg(long)]
        environment: String,
    },
}

#[derive(Subcommand)]
enum RulesAction {
    /// Make the rules of a Prometheus rule file thresholds (alerting rules) and recording rules
    /// of one environment (a running server evaluates them from its next round).
    Import {
        file: PathBuf,
        #[arg(long)]
        client: String,
        #[arg(long)]
        project: String,
        #[arg(long)]
        environment: String,
    },
    /// Print a client's recording rules and thresholds as a Prometheus rule file (`promtool
    /// check rules` accepts it).
    Export {
        #[arg(long)]
        client: String,
    },
}

#[derive(Subcommand)]
enum DashboardsAction {
    /// Print one of the client's dashboards as JSON (what `import` reads back).
    Export {
        #[arg(long)]
        client: String,
        /// Its number, as in its address.
        #[arg(long)]
        dashboard: i64,
    },
    /// Add a dashboard from a JSON file to a project: Vitrine's own JSON or a Grafana dashboard
    /// (what could not be imported is listed); prints its address on the last line.
    Import {
        file: PathBuf,
        #[arg(long)]
        client: String,
        #[arg(long)]
        project: String,
    },
}

#[derive(Subcommand)]
enum ChannelsAction {
    /// Make channels of the receivers of an Alertmanager configuration (alertmanager.yml);
    /// prints what was made and what was not taken over.
    Import {
        file: PathBuf,
        #[arg(long)]
        client: String,
    },
}

#[derive(Subcommand)]
enum ImportFormat {
    /// Backfill an OpenMetrics text file whose samples carry timestamps (stop the server first).
    Openmetrics {
        file: PathBuf,
        /// The client (slug) the series belong to.
        #[arg(long)]
        client: String,
    },
}

#[derive(Subcommand)]
enum DemoAction {
    /// Makes the demo shop answer with errors and slowly for a while, so the demo's thresholds
    /// go from watching to the alarm (and mail it) and back.
    Misbehave {
        /// The share of requests answered with an error, 0 to 1.
        #[arg(long, default_value = "0.3")]
        error_rate: f64,
        /// Added to every answer's time, e.g. 2s or 500ms.
        #[arg(long, default_value = "2s")]
        latency: vitrine_scrape_config::PromDuration,
        /// How long, e.g. 10m.
        #[arg(long = "for", default_value = "10m")]
        duration: vitrine_scrape_config::PromDuration,
    },
}

#[derive(Subcommand)]
enum TsdbAction {
    /// Series, samples, bytes per sample and every block's size.
    Stats,
    /// Move the whole head into blocks and merge blocks into the largest spans.
    Compact,
    /// Write a consistent copy of the store into DIR (a new directory).
    Snapshot { dir: PathBuf },
}

#[derive(Subcommand)]
enum AgencyAction {
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum ClientAction {
    Create {
        /// Slug of the agency the client belongs to.
        #[arg(long)]
        agency: String,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// en, de or fr.
        #[arg(long, default_value = "en")]
        language: String,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a person with a password. Without --password-stdin a password is generated and printed.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        agency: String,
        /// For client roles: the client's slug.
        #[arg(long)]
        client: Option<String>,
        /// agency_owner, agency_admin, agency_staff, client_admin or client_viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Sign-in with a code from an authenticator app as well (TOTP, RFC 6238): prints the
    /// secret and the otpauth:// address for the app (people can also set it up themselves
    /// on their account page). --off switches it off.
    TwoFactor {
        #[arg(long)]
        email: String,
        #[arg(long)]
        off: bool,
    },
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Admin(#[from] admin::AdminError),
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Routes => {
            println!("{}", http::routes::as_json());
            return ExitCode::SUCCESS;
        }
        Command::Test {
            action: TestAction::Rules { files },
        } => {
            let code = rules::unit_test::run(files, &mut std::io::stdout(), &mut std::io::stderr());
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
        _ => {}
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn run(command: Command, config: Config) -> Result<(), Error> {
    let pool = db::open(&config.data_dir, &config.database_path()).await?;
    // Once: the clients that were there before billing keep everything they had.
    let backfilled = billing::catalogue::backfill(&pool)
        .await
        .map_err(|e| Error::Usage(format!("recording the existing clients' contracts: {e}")))?;
    if backfilled > 0 {
        tracing::info!(
            clients = backfilled,
            "recorded a contract with every add-on for each existing client"
        );
    }
    // Only from the environment, never from the configuration file beside the data.
    let key_from_env = std::env::var("VITRINE_SECRET_KEY").ok();
    let key = secrets::load_or_create(&config.data_dir, key_from_env.as_deref())?;
    secrets::install(key.clone());
    let sealed = secrets::seal_stored(&pool).await?;
    if sealed > 0 {
        tracing::info!(targets = sealed, "sealed credentials stored before sealing existed");
    }
    match command {
        Command::Serve { demo } => serve(config, pool, demo).await,
        Command::Migrate => {
            println!("database {} is up to date", config.database_path().display());
            Ok(())
        }
        Command::Agency {
            action: AgencyAction::Create { slug, name },
        } => {
            admin::create_agency(&pool, &slug, &name).await?;
            println!("agency {slug} created");
            Ok(())
        }
        Command::Client {
            action:
                ClientAction::Create {
                    agency,
                    slug,
                    name,
                    language,
                },
        } => {
            admin::create_client(&pool, &agency, &slug, &name, &language).await?;
            println!("client {slug} created in agency {agency}");
            Ok(())
        }
        Command::User {
            action:
                UserAction::Create {
                    email,
                    agency,
                    client,
                    role,
                    password_stdin,
                },
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown role {role:?}; use one of {}",
                    Role::ALL.map(Role::as_str).join(", ")
                ))
            })?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(io("reading the password"))?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (random_password(), true)
            };
            let place = Placement {
                agency: &agency,
                client: client.as_deref(),
                role,
            };
            admin::create_user(&pool, &email, &password, place).await?;
            println!("user {email} created as {}", role.as_str());
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        Command::User {
            action: UserAction::TwoFactor { email, off },
        } => {
            let email = email.trim().to_lowercase();
            let user_id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
                .bind(&email)
                .fetch_optional(&pool)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            let Some(user_id) = user_id else {
                return Err(Error::Usage(format!("no person with the e-mail address {email}")));
            };
            if off {
                tenancy::totp::disable(&pool, user_id)
                    .await
                    .map_err(|e| Error::Usage(e.to_string()))?;
                println!("{email} signs in with the password alone again");
                return Ok(());
            }
            let secret = tenancy::totp::enable(&pool, user_id)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            println!("{email} now signs in with a code from an authenticator app as well.");
            println!("Add this account to the app (type the key or make a QR code of the address):");
            println!("key: {}", tenancy::totp::base32(&secret));
            println!("{}", tenancy::totp::otpauth_uri("Vitrine", &email, &secret));
            Ok(())
        }
        Command::Routes | Command::Test { .. } => Ok(()),
        Command::Token {
            action:
                TokenAction::Create {
                    client,
                    name,
                    expires_in_days,
                    scopes,
                },
        } => {
            let row: Option<(i64, i64)> = sqlx::query_as("SELECT id, agency_id FROM clients WHERE slug = ?")
                .bind(&client)
                .fetch_optional(&pool)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            let (client_id, agency_id) = row.ok_or_else(|| Error::Usage(format!("client {client} does not exist")))?;
            let name =
                tenancy::model::Name::parse(&name).map_err(|_| Error::Usage("--name must not be empty".into()))?;
            let new = tenancy::tokens::NewToken {
                name: name.as_str(),
                created_by: None,
                expires_at: expires_in_days.map(|days| tenancy::now() + i64::from(days) * 86_400),
                scopes: app::dto::TOKEN_SCOPES
                    .into_iter()
                    .filter(|s| scopes.iter().any(|chosen| chosen == s))
                    .collect(),
            };
            let (_, token) = tenancy::tokens::create(&pool, agency_id, client_id, &new)
                .await
                .map_err(|e| match e {
                    tenancy::TenancyError::Duplicate => Error::Usage(format!(
                        "client {client} has a token named {} in use already: choose another name or revoke it",
                        name.as_str()
                    )),
                    e => Error::Usage(e.to_string()),
                })?;
            println!("API token {} for client {client} (shown only now):", name.as_str());
            println!("{token}");
            Ok(())
        }
        Command::Rules {
            action:
                RulesAction::Import {
                    file,
                    client,
                    project,
                    environment,
                },
        } => {
            let text = std::fs::read_to_string(&file).map_err(io(format!("reading {}", file.display())))?;
            let place = tenancy::targets::place_of(&pool, &client, &project, &environment)
                .await
                .map_err(|_| {
                    Error::Usage(format!(
                        "environment {environment} of project {project} of client {client} does not exist"
                    ))
                })?;
            let destination = rules::import::Destination {
                agency_id: place.agency_id,
                client_id: place.client_id,
                project_id: place.project_id,
                environment_id: Some(place.environment_id),
            };
            let imported = rules::import::import(&pool, &destination, &text)
                .await
                .map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
            for line in app::thresholds::import_report_lines(app::Locale::en, &imported) {
                println!("{line}");
            }
            Ok(())
        }
        Command::Dashboards {
            action: DashboardsAction::Export { client, dashboard },
        } => {
            let model: Option<String> = sqlx::query_scalar(
                "SELECT d.model FROM dashboards d JOIN clients c ON c.id = d.client_id WHERE c.slug = ? AND d.id = ?",
            )
            .bind(&client)
            .bind(dashboard)
            .fetch_optional(&pool)
            .await
            .map_err(|e| Error::Usage(e.to_string()))?;
            let model = model.ok_or_else(|| Error::Usage(format!("client {client} has no dashboard {dashboard}")))?;
            let model = dashboards::read_model(&model).map_err(Error::Usage)?;
            println!("{}", serde_json::to_string_pretty(&model).unwrap_or_default());
            Ok(())
        }
        Command::Dashboards {
            action: DashboardsAction::Import { file, client, project },
        } => {
            let text = std::fs::read_to_string(&file).map_err(io(format!("reading {}", file.display())))?;
            let (model, report) =
                dashboards::import_text(&text).map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
            for line in report
                .iter()
                .flat_map(|r| app::dashboards::import_report_lines(app::Locale::en, r))
            {
                println!("{line}");
            }
            let client_id = client_id_of(&pool, &client).await?;
            let project_id: i64 = sqlx::query_scalar("SELECT id FROM projects WHERE client_id = ? AND slug = ?")
                .bind(client_id)
                .bind(&project)
                .fetch_optional(&pool)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?
                .ok_or_else(|| Error::Usage(format!("client {client} has no project {project}")))?;
            let id = dashboards::insert(&pool, client_id, project_id, &model)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            let base = config.public_base(config.listen);
            println!("Dashboard {} added to {client} / {project}:", model.title.en);
            println!("{base}/clients/{client}/dashboards/{id}");
            Ok(())
        }
        Command::Channels {
            action: ChannelsAction::Import { file, client },
        } => {
            let text = std::fs::read_to_string(&file).map_err(io(format!("reading {}", file.display())))?;
            let alertmanager = vitrine_scrape_config::alertmanager_config::parse_alertmanager_config(&text)
                .map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
            let client_id = client_id_of(&pool, &client).await?;
            let imported = notify::channels::import(&pool, client_id, &alertmanager, None, config.notify_timing())
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            for line in app::channels::import_report_lines(app::Locale::en, &imported) {
                println!("{line}");
            }
            Ok(())
        }
        Command::Rules {
            action: RulesAction::Export { client },
        } => {
            let client_id = client_id_of(&pool, &client).await?;
            let thresholds = rules::of_client(&pool, client_id)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            let recordings = rules::recording::of_client(&pool, client_id)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            print!("{}", rules::import::export(&recordings, &thresholds));
            Ok(())
        }
        Command::Targets {
            action:
                TargetsAction::Import {
                    file,
                    client,
                    project,
                    environment,
                },
        } => {
            let text = std::fs::read_to_string(&file).map_err(io(format!("reading {}", file.display())))?;
            let import = vitrine_scrape_config::import_prometheus_yml(&text)
                .map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
            let place = tenancy::targets::place_of(&pool, &client, &project, &environment)
                .await
                .map_err(|_| {
                    Error::Usage(format!(
                        "environment {environment} of project {project} of client {client} does not exist"
                    ))
                })?;
            let targets: Vec<_> = import.jobs.iter().flat_map(|job| job.targets.iter().cloned()).collect();
            let report = tenancy::targets::import(&pool, place, &targets)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            println!("{} targets added, {} already there", report.added, report.duplicates);
            for skipped in &import.unsupported {
                println!(
                    "not imported: {} (line {}): {}",
                    skipped.path, skipped.line, skipped.reason
                );
            }
            Ok(())
        }
        Command::Import {
            format: ImportFormat::Openmetrics { file, client },
        } => {
            let row: Option<(i64, i64)> = sqlx::query_as("SELECT id, retention_days FROM clients WHERE slug = ?")
                .bind(&client)
                .fetch_optional(&pool)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?;
            let (client_id, days) = row.ok_or_else(|| Error::Usage(format!("client {client} does not exist")))?;
            let text = std::fs::read(&file).map_err(io(format!("reading {}", file.display())))?;
            let db = vitrine_tsdb::Db::open(&store::dir(&config), store::options(&config))
                .map_err(|e| Error::Usage(e.to_string()))?;
            let keep_from = store::now_ms() - days * vitrine_tsdb::db::DAY_MS;
            let report = store::import_openmetrics(&db, store::tenant(client_id), &text, keep_from, &mut |n| {
                eprintln!("{n} samples read");
            })
            .map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
            println!(
                "imported {} samples of {} series into {} blocks; {} samples older than the retention of {days} days skipped; {} duplicate timestamps dropped",
                report.samples, report.series, report.blocks, report.too_old, report.duplicates
            );
            Ok(())
        }
        Command::Demo {
            action:
                DemoAction::Misbehave {
                    error_rate,
                    latency,
                    duration,
                },
        } => {
            let body = format!(
                "{error_rate} {} {}",
                latency.as_std().as_secs_f64(),
                duration.as_std().as_secs_f64()
            );
            let text = store::through_server(&config, "/admin/demo/misbehave", Some(body))
                .await
                .map_err(Error::Usage)?;
            print!("{text}");
            Ok(())
        }
        Command::Tsdb { action } => {
            let command = match action {
                TsdbAction::Stats => store::TsdbCommand::Stats,
                TsdbAction::Compact => store::TsdbCommand::Compact,
                TsdbAction::Snapshot { dir } => store::TsdbCommand::Snapshot(dir),
            };
            let text = store::run_command(&config, &pool, command)
                .await
                .map_err(Error::Usage)?;
            print!("{text}");
            Ok(())
        }
        Command::Billing {
            action: BillingAction::StripeKeys { agency },
        } => {
            let agency_id: i64 = sqlx::query_scalar("SELECT id FROM agencies WHERE slug = ?")
                .bind(&agency)
                .fetch_optional(&pool)
                .await
                .map_err(|e| Error::Usage(e.to_string()))?
                .ok_or_else(|| Error::Usage(format!("agency {agency} does not exist")))?;
            let mut lines = std::io::stdin().lines();
            let mut line = || lines.next().and_then(Result::ok).unwrap_or_default();
            let (secret_key, webhook_secret) = (line(), line());
            match billing::stripe::set_keys(&pool, agency_id, &secret_key, &webhook_secret).await {
                Ok(()) => {
                    println!("the Stripe keys of {agency} are stored, sealed");
                    Ok(())
                }
                Err(billing::stripe::BillingError::BadKeys) => Err(Error::Usage(
                    "expected two lines: the secret key (sk_… or rk_…), then the webhook signing secret (whsec_…)"
                        .into(),
                )),
                Err(e) => Err(Error::Usage(e.to_string())),
            }
        }
        Command::Secrets {
            action: SecretsAction::Rotate,
        } => {
            if store::control_file(&config.data_dir).exists() {
                return Err(Error::Usage(
                    "the server is running (or did not stop cleanly): stop it, then rotate the key".into(),
                ));
            }
            let new = secrets::SecretKey::generate();
            if key_from_env.is_some() {
                let resealed = secrets::reseal_all(&pool, &key, &new).await?;
                println!(
                    "{resealed} secrets sealed under a new key. Set VITRINE_SECRET_KEY to it before the next start:"
                );
                println!("{}", new.to_base64());
                return Ok(());
            }
            // The new key is on disk before anything is sealed with it.
            let file = secrets::key_file(&config.data_dir);
            let next = file.with_extension("key.next");
            secrets::write_key(&next, &new)?;
            let resealed = secrets::reseal_all(&pool, &key, &new).await?;
            std::fs::rename(&next, &file).map_err(io(format!(
                "the secrets are sealed under the key in {}, but it could not replace {}",
                next.display(),
                file.display()
            )))?;
            println!(
                "{resealed} secrets sealed under a new key in {}; back it up",
                file.display()
            );
            Ok(())
        }
    }
}

fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The key that signs session cookies: created once and kept in the data
/// directory, so sessions survive a restart.
fn session_key(data_dir: &Path) -> Result<Key, Error> {
    let path = data_dir.join("session.key");
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 64 => return Ok(Key::from(&bytes)),
        Ok(_) => tracing::warn!(path = %path.display(), "session key too short; making a new one"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
    }
    let key = Key::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(io(format!("writing {}", path.display())))?;
    file.write_all(key.master())
        .map_err(io(format!("writing {}", path.display())))?;
    Ok(key)
}

/// Raises the soft limit of open files to the hard limit (as Go programs such as Prometheus
/// do at start) and warns when it is below what the store may keep open.
fn raise_open_files_limit(store_files: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    let raised = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
    };
    let soft = limit.rlim_cur as usize;
    if !raised || soft < store_files + 1024 {
        tracing::warn!(
            open_files_limit = soft,
            tsdb_max_open_files = store_files,
            "the open-files limit is low for the store and the connections; raise it (ulimit -n, LimitNOFILE, docker --ulimit nofile)"
        );
    }
}

/// The id of the client `slug`, or a usage error naming it.
async fn client_id_of(pool: &sqlx::SqlitePool, slug: &str) -> Result<i64, Error> {
    sqlx::query_scalar("SELECT id FROM clients WHERE slug = ?")
        .bind(slug)
        .fetch_optional(pool)
        .await
        .map_err(|e| Error::Usage(e.to_string()))?
        .ok_or_else(|| Error::Usage(format!("client {slug} does not exist")))
}

async fn serve(config: Config, pool: sqlx::SqlitePool, demo: bool) -> Result<(), Error> {
    raise_open_files_limit(config.tsdb_max_open_files);
    if demo {
        demo::seed(&pool).await?;
    }
    // Leptos renders on the tokio runtime it is told about.
    any_spawner::Executor::init_tokio().map_err(|e| Error::Usage(format!("cannot start the renderer: {e:?}")))?;
    let key = session_key(&config.data_dir)?;
    let tsdb = store::open(&config).map_err(|e| Error::Usage(e.to_string()))?;
    tokio::spawn(store::maintain(tsdb.clone(), pool.clone()));
    tokio::spawn(housekeeping::run(pool.clone()));
    let mut allow = config.scrape_allow.clone();
    if demo {
        // The demo's targets run on this machine.
        allow.extend(["127.0.0.0/8".to_string(), "::1/128".to_string()]);
    }
    let policy = vitrine_scrape_config::AddressPolicy::parse(allow.iter().map(String::as_str))
        .map_err(|e| Error::Usage(format!("scrape_allow: {e}")))?;
    let guard = scrape::fetch::Guard {
        policy: Arc::new(policy),
        lookup: Arc::new(scrape::fetch::SystemLookup),
        max_body_bytes: config.scrape_max_body_bytes_limit,
    };
    let scraper = scrape::manager::Scraper::new(
        pool.clone(),
        tsdb.clone(),
        guard.clone(),
        config.max_series_per_client,
        scrape::catalog::Catalog::new(config.catalog_max_entries_per_client),
    );
    let sessions = tower_sessions_sqlx_store::SqliteStore::new(pool.clone());
    tokio::spawn(sessions.clone().continuously_delete_expired(Duration::from_secs(600)));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(io(format!("cannot listen on {}", config.listen)))?;
    let bound = listener.local_addr().map_err(io("reading the bound address"))?;
    let public_base: Arc<str> = config.public_base(bound).into();
    let operator_token = random_password();
    let data_dir = config.data_dir.clone();
    store::write_control(&data_dir, &format!("http://{bound}"), &operator_token)
        .map_err(io("writing the control file"))?;
    let leptos = leptos::prelude::LeptosOptions::builder()
        .output_name("vitrine")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    tokio::task::spawn_blocking(tenancy::password::warm_up);
    let demo_shop = if demo {
        Some(
            demo_app::start()
                .await
                .map_err(|e| Error::Usage(format!("starting the demo shop: {e}")))?,
        )
    } else {
        None
    };
    let delivery =
        notify::outbox::Outbox::delivery(&config.smtp_url, config.data_dir.join("mail")).map_err(Error::Usage)?;
    let from = config
        .mail_from
        .parse()
        .map_err(|e| Error::Usage(format!("mail_from {:?}: {e}", config.mail_from)))?;
    let outbox = notify::outbox::Outbox::new(
        pool.clone(),
        delivery,
        notify::outbox::Settings {
            from,
            backoff_base_ms: config.outbox_backoff_base_ms.max(1),
            backoff_max_ms: config.outbox_backoff_max_secs.saturating_mul(1000).max(1),
            max_attempts: config.outbox_max_attempts.max(1),
        },
        // Channel URLs go through the same address policy as scrapes.
        guard,
    );
    tokio::spawn(outbox.clone().run());
    let rules = rules::evaluator::Evaluator::new(
        pool.clone(),
        tsdb.clone(),
        // The rules' own query runner: its per-client slots are not the API's and the pages'.
        query::Queries::new(tsdb.clone(), query::QueryLimits::from_config(&config)),
        outbox.clone(),
        notify::alert::MailContext::new(&public_base),
        rules::evaluator::RuleSettings {
            interval: Duration::from_secs(config.rule_evaluation_interval_secs.max(1)),
            timing: config.notify_timing(),
            max_series_per_client: config.max_series_per_client,
        },
    );
    let prober = status::probes::Prober::new(pool.clone(), tsdb.clone(), scraper.clone());
    let board = status::components::Board::new(pool.clone(), prober.clone(), scraper.clone(), rules.clone());
    let status_pages = status::page::StatusPages::new(
        board.clone(),
        status::uptime::Weights {
            partial_outage: config.status_partial_outage_weight.clamp(0.0, 1.0),
            degraded_performance: config.status_degraded_weight.clamp(0.0, 1.0),
        },
    );
    let billing = Arc::new(billing::Settings::new(&config, &public_base));
    let stripe_events = billing::webhook::Worker::new(pool.clone(), billing.clone(), outbox.clone());
    tokio::spawn(stripe_events.clone().run());
    let trusted_proxies = http::TrustedProxies::parse(&config.trusted_proxies)
        .map_err(|e| Error::Usage(format!("trusted_proxies: {e}")))?;
    let state = http::AppState {
        started_ms: tenancy::now() * 1000,
        db: pool.clone(),
        limiter: Arc::new(http::LoginLimiter::new(http::LoginLimits {
            max_per_account: config.login_max_failures_per_account,
            max_per_ip: config.login_max_failures_per_ip,
            max_per_account_per_day: config.login_max_failures_per_account_per_day,
            window: Duration::from_secs(config.login_window_secs),
        })),
        trusted_proxies: Arc::new(trusted_proxies),
        metrics: Arc::default(),
        public_base: public_base.clone(),
        tsdb: tsdb.clone(),
        scraper: scraper.clone(),
        queries: query::Queries::new(tsdb.clone(), query::QueryLimits::from_config(&config)),
        outbox: outbox.clone(),
        rules,
        status: status_pages,
        operator_token: operator_token.clone().into(),
        token_uses: Arc::default(),
        billing,
        stripe_events,
        demo_shop,
        leptos,
        config: Arc::new(config),
    };
    let _node_exporter = if demo {
        // Vitrine scrapes itself through loopback even when it listens on every address.
        let own = if bound.ip().is_unspecified() {
            std::net::SocketAddr::from(([127, 0, 0, 1], bound.port()))
        } else {
            bound
        };
        match &state.demo_shop {
            Some(shop) => demo::live_targets(&state.db, shop, &format!("http://{own}/metrics"))
                .await
                .map_err(Error::Usage)?,
            None => None,
        }
    } else {
        None
    };
    tokio::spawn(scraper.run());
    tokio::spawn(prober.run());
    tokio::spawn(board.run());
    match state.rules.restore().await {
        Ok(0) => {}
        Ok(restored) => tracing::info!(restored, "alert states restored"),
        Err(e) => tracing::warn!(error = %e, "restoring the alert states"),
    }
    tokio::spawn(state.rules.clone().run());
    let token_uses = state.token_uses.clone();
    tokio::spawn(token_uses.clone().write_every(state.db.clone(), Duration::from_secs(5)));
    let pool = state.db.clone();
    let app = http::router(state, sessions, key);
    let shutdown = shutdown_signal();
    println!("Vitrine listening on http://{bound}");
    if public_base.as_ref() != format!("http://{bound}") {
        println!("Public address: {public_base}");
    }
    if demo {
        println!("Demo logins:");
        for login in demo::LOGINS {
            println!("  {:<28} {:<24} password: {}", login.who, login.email, login.password);
        }
    }
    let _ = std::io::stdout().flush();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(io("serving HTTP"))?;
    let _ = std::fs::remove_file(store::control_file(&data_dir));
    if let Err(e) = token_uses.write(&pool).await {
        tracing::warn!(error = %e, "recording API token use at shutdown");
    }
    // A checkpoint makes the next start replay chunks, not every sample since the last
    // head compaction.
    if let Err(e) = tsdb.checkpoint().and_then(|()| tsdb.sync()) {
        tracing::error!(error = %e, "checkpointing the write-ahead log at shutdown");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Registers for SIGTERM and Ctrl-C at once (before the server says it listens),
/// and resolves when either arrives.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let interrupt = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = interrupt => {},
            _ = terminate => {},
        }
        tracing::info!("shutting down");
    }
}
