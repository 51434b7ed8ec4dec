//! The targets page of an environment and its forms: add (or test before
//! saving), test scrape, delete, import from prometheus.yml.
//!
//! Everything goes through the scoped access layer (`EnvironmentAccess`,
//! `TargetAccess`, `Scope::create_target` …); the scraper hears about changes
//! through `targets_changed()`.

use super::AppState;
use super::pages::{CheckedForm, EnvironmentAccess, TargetAccess, field};
use super::render;
use crate::scrape::manager::{self, Health, TestScrape};
use crate::tenancy::TenancyError;
use app::dto::*;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use vitrine_scrape_config::{
    Auth, ImportError, PromDuration, ScrapeTarget, ScrapeUrl, Secret, TargetError, TlsConfig, is_valid_label_name,
    parse_relabel_configs, reserved_label_reason,
};

/// What the page shows once after a redirect: for this environment's page only.
const FLASH: &str = "flash_targets";

#[derive(Serialize, Deserialize)]
struct Flash {
    path: String,
    notice: Option<TargetsNotice>,
    import_report: Option<ImportReport>,
}

/// Fields of the add form that hold secrets: never shown again.
const SECRET_FIELDS: [&str; 2] = ["password", "bearer_token"];

/// The longest job name and address we accept.
const MAX_JOB: usize = 200;
const MAX_URL: usize = 2048;
/// The longest line of a test scrape's answer shown.
const MAX_LINE: usize = 300;

/// The parts of the page a request adds to it.
#[derive(Default)]
pub(crate) struct Extras {
    pub(crate) notice: Option<TargetsNotice>,
    /// The probe form as typed, with its problems.
    pub(crate) probe_form: Option<FormState>,
    add_form: Option<TargetForm>,
    import_form: Option<TargetForm>,
    import_secrets_removed: bool,
    test: Option<TestScrapeResult>,
    import_report: Option<ImportReport>,
}

impl Extras {
    /// The page with the probe form as typed, with its problems.
    pub(crate) fn probe_form(form: FormState) -> Extras {
        Extras {
            probe_form: Some(form),
            ..Extras::default()
        }
    }
}

fn page_path(access: &EnvironmentAccess) -> String {
    targets_path(&access.client.slug, &access.project.slug, &access.environment.name)
}

fn default_add_form() -> TargetForm {
    TargetForm {
        values: vec![
            ("interval".into(), "15s".into()),
            ("timeout".into(), "10s".into()),
            ("auth".into(), "none".into()),
        ],
        problems: vec![],
    }
}

fn health_of(health: Health) -> TargetHealth {
    TargetHealth {
        up: health.up,
        last_scrape_ms: (health.last_scrape_ms > 0).then_some(health.last_scrape_ms),
        duration_ms: health.duration_secs * 1000.0,
        samples: health.samples as u64,
        series_added: health.series_added as u64,
        future_samples: health.future_samples as u64,
        error: health.error,
    }
}

/// The client's metric metadata, by name (at most 500 entries on the page).
fn metric_catalogue(state: &AppState, client: &crate::tenancy::scope::ScopedClient) -> Vec<MetricInfo> {
    let mut metrics: Vec<MetricInfo> = state
        .scraper
        .catalog
        .metadata(crate::store::tenant(client.id))
        .into_iter()
        .map(|(name, meta)| MetricInfo {
            name,
            kind: meta.kind,
            help: meta.help,
            unit: meta.unit,
        })
        .collect();
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    metrics.truncate(500);
    metrics
}

pub(crate) async fn render_targets(
    state: &AppState,
    access: &EnvironmentAccess,
    extras: Extras,
    status: StatusCode,
) -> Response {
    let who = &access.who;
    let listed = match who.scope(state).targets(&access.environment).await {
        Ok(listed) => listed,
        Err(e) => return who.failure(state, e).await,
    };
    let targets = listed
        .into_iter()
        .map(|target| TargetRow {
            health: state.scraper.health(target.id).map(health_of),
            id: target.id,
            job: target.job,
            url: target.url,
            interval: target.interval,
        })
        .collect();
    let probes = match crate::status::probes::of_environment(
        &state.db,
        state.status.board.prober(),
        access.environment.id,
    )
    .await
    {
        Ok(probes) => probes,
        Err(e) => return render::internal(state, who.locale, e).await,
    };
    let environment = &access.environment;
    let page = TargetsPage {
        client_slug: access.client.slug.clone(),
        client_name: environment.client_name.clone(),
        project_slug: access.project.slug.clone(),
        project_name: environment.project_name.clone(),
        environment: environment.name.clone(),
        now_ms: crate::store::now_ms(),
        targets,
        can_manage: who.caller.role.may_manage_projects(),
        notice: extras.notice,
        add_form: extras.add_form.unwrap_or_else(default_add_form),
        import_form: extras.import_form.unwrap_or_default(),
        import_secrets_removed: extras.import_secrets_removed,
        test: extras.test,
        import_report: extras.import_report,
        metrics: metric_catalogue(state, &access.client),
        probes,
        probe_form: extras.probe_form.unwrap_or_else(|| FormState {
            values: vec![
                ("interval_secs".into(), "60".into()),
                ("timeout_secs".into(), "10".into()),
            ],
            problems: vec![],
        }),
    };
    render::page(
        state,
        who.locale,
        Some(who.viewer()),
        Page::Targets(Box::new(page)),
        status,
    )
    .await
}

/// Back to the page, with a notice or a report shown there once.
pub(crate) async fn redirect_with(
    access: &EnvironmentAccess,
    notice: Option<TargetsNotice>,
    report: Option<ImportReport>,
) -> Response {
    let path = page_path(access);
    let flash = Flash {
        path: path.clone(),
        notice,
        import_report: report,
    };
    if let Err(e) = access.who.session.insert(FLASH, flash).await {
        tracing::warn!(error = %e, "storing the targets notice");
    }
    Redirect::to(&path).into_response()
}

pub async fn targets_page(State(state): State<AppState>, access: EnvironmentAccess) -> Response {
    let mut extras = Extras::default();
    let flash: Option<Flash> = access.who.session.get(FLASH).await.ok().flatten();
    if let Some(flash) = flash.filter(|f| f.path == page_path(&access)) {
        let _ = access.who.session.remove_value(FLASH).await;
        extras.notice = flash.notice;
        extras.import_report = flash.import_report;
    }
    render_targets(&state, &access, extras, StatusCode::OK).await
}

/// The add form: saves the target, or (`action=test`) scrapes it once without saving.
pub async fn add_target(
    State(state): State<AppState>,
    access: EnvironmentAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let scope = who.scope(&state);
    if let Err(e) = scope.may_manage_targets() {
        return who.failure(&state, e).await;
    }
    let target = match parse_target_form(&form) {
        Ok(target) => target,
        Err(failed) => {
            let extras = Extras {
                add_form: Some(failed),
                ..Extras::default()
            };
            return render_targets(&state, &access, extras, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    if field(&form, "action") == "test" {
        let outcome = manager::test_scrape(&target.to_prometheus_yml(), state.scraper.guard()).await;
        let extras = Extras {
            add_form: Some(kept(&form)),
            test: Some(test_result(None, target.job(), target.url().as_str(), outcome)),
            ..Extras::default()
        };
        return render_targets(&state, &access, extras, StatusCode::OK).await;
    }
    match scope.create_target(&access.environment, &target).await {
        Ok(created) => {
            state.scraper.targets_changed();
            tracing::info!(target = created.id, job = %created.job, url = %created.url, "target added");
            redirect_with(&access, Some(TargetsNotice::Added { job: created.job }), None).await
        }
        Err(TenancyError::Duplicate) => {
            let mut failed = kept(&form);
            failed.problems.push(("url".into(), TargetProblem::Exists));
            let extras = Extras {
                add_form: Some(failed),
                ..Extras::default()
            };
            render_targets(&state, &access, extras, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => who.failure(&state, e).await,
    }
}

/// Scrapes a saved target once and shows what came back, or the exact error.
pub async fn test_target(
    State(state): State<AppState>,
    TargetAccess { access, target }: TargetAccess,
    CheckedForm(_form): CheckedForm,
) -> Response {
    let who = &access.who;
    let config = match who.scope(&state).target_config(&target).await {
        Ok(config) => config,
        Err(e) => return who.failure(&state, e).await,
    };
    let outcome = manager::test_scrape(&config, state.scraper.guard()).await;
    let extras = Extras {
        test: Some(test_result(Some(target.id), &target.job, &target.url, outcome)),
        ..Extras::default()
    };
    render_targets(&state, &access, extras, StatusCode::OK).await
}

pub async fn delete_target(
    State(state): State<AppState>,
    TargetAccess { access, target }: TargetAccess,
    CheckedForm(_form): CheckedForm,
) -> Response {
    let who = &access.who;
    if let Err(e) = who.scope(&state).delete_target(&target).await {
        return who.failure(&state, e).await;
    }
    state.scraper.targets_changed();
    tracing::info!(target = target.id, job = %target.job, "target deleted");
    redirect_with(&access, Some(TargetsNotice::Deleted { job: target.job }), None).await
}

/// Imports every target of a pasted prometheus.yml into the environment.
pub async fn import_targets(
    State(state): State<AppState>,
    access: EnvironmentAccess,
    CheckedForm(form): CheckedForm,
) -> Response {
    let who = &access.who;
    let scope = who.scope(&state);
    if let Err(e) = scope.may_manage_targets() {
        return who.failure(&state, e).await;
    }
    let text = field(&form, "prometheus_yml");
    let refuse = |problem: TargetProblem| {
        let (shown, removed) = redact_secrets(text);
        Extras {
            import_form: Some(TargetForm {
                values: vec![("prometheus_yml".into(), shown)],
                problems: vec![("prometheus_yml".into(), problem)],
            }),
            import_secrets_removed: removed,
            ..Extras::default()
        }
    };
    if text.trim().is_empty() {
        let extras = refuse(TargetProblem::Required);
        return render_targets(&state, &access, extras, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let import = match vitrine_scrape_config::import_prometheus_yml(text) {
        Ok(import) => import,
        Err(e) => {
            let extras = refuse(yaml_problem(&e));
            return render_targets(&state, &access, extras, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let mut report = ImportReport::default();
    for job in import.jobs {
        let mut summary = ImportedJobReport {
            name: job.job_name.clone(),
            dropped: job.dropped_targets.clone(),
            ..ImportedJobReport::default()
        };
        for target in &job.targets {
            let url = target.url().as_str().to_string();
            match scope.create_target(&access.environment, target).await {
                Ok(_) => summary.added.push(url),
                Err(TenancyError::Duplicate) => summary.existing.push(url),
                Err(e) => return who.failure(&state, e).await,
            }
        }
        report.jobs.push(summary);
    }
    report.unsupported = import
        .unsupported
        .into_iter()
        .map(|u| UnsupportedSetting {
            path: u.path,
            line: u.line,
            column: u.column,
            reason: u.reason,
            harmless: u.harmless,
        })
        .collect();
    state.scraper.targets_changed();
    tracing::info!(
        environment = access.environment.id,
        jobs = report.jobs.len(),
        targets = report.added(),
        unsupported = report.unsupported.len(),
        "prometheus.yml imported"
    );
    redirect_with(&access, None, Some(report)).await
}

fn test_result(target_id: Option<i64>, job: &str, url: &str, outcome: Result<TestScrape, String>) -> TestScrapeResult {
    TestScrapeResult {
        target_id,
        job: job.to_string(),
        url: url.to_string(),
        outcome: outcome.map(|found| TestScrapeReport {
            series: found.series as u64,
            samples: found.samples as u64,
            types: found.types.into_iter().map(|(kind, n)| (kind, n as u64)).collect(),
            first_lines: found
                .first_lines
                .into_iter()
                .map(|line| match line.char_indices().nth(MAX_LINE) {
                    Some((cut, _)) => format!("{}…", &line[..cut]),
                    None => line,
                })
                .collect(),
            duration_ms: found.duration_secs * 1000.0,
        }),
    }
}

/// What the add form shows again: everything typed except the secrets.
fn kept(form: &[(String, String)]) -> TargetForm {
    TargetForm {
        values: form
            .iter()
            .filter(|(name, _)| name != "csrf" && name != "action" && !SECRET_FIELDS.contains(&name.as_str()))
            .cloned()
            .collect(),
        problems: vec![],
    }
}

fn yaml_problem(e: &ImportError) -> TargetProblem {
    TargetProblem::Yaml {
        line: e.line(),
        column: e.column(),
        message: e.message().to_string(),
        hint: e.hint().to_string(),
    }
}

/// The extra labels: one `name=value` per line; blank lines and `#` comments are skipped.
fn parse_labels(text: &str) -> Result<Vec<(String, String)>, TargetProblem> {
    let mut labels: Vec<(String, String)> = vec![];
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((name, value)) = trimmed.split_once('=') else {
            return Err(TargetProblem::LabelSyntax { line });
        };
        let name = name.trim().to_string();
        let mut value = value.trim();
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            value = &value[1..value.len() - 1];
        }
        let refused = if !is_valid_label_name(&name) {
            Some(TargetError::InvalidLabelName(name.clone()))
        } else if let Some(reason) = reserved_label_reason(&name) {
            Some(TargetError::ReservedLabelName {
                name: name.clone(),
                reason,
            })
        } else if value.is_empty() {
            Some(TargetError::EmptyLabelValue(name.clone()))
        } else {
            None
        };
        if let Some(error) = refused {
            return Err(TargetProblem::Label {
                line,
                reason: error.to_string(),
            });
        }
        if labels.iter().any(|(n, _)| *n == name) {
            return Err(TargetProblem::LabelTwice { line, name });
        }
        labels.push((name, value.to_string()));
    }
    Ok(labels)
}

/// Turns the add form into a target, or the form with a message beside every refused field.
fn parse_target_form(form: &[(String, String)]) -> Result<ScrapeTarget, TargetForm> {
    let mut problems: Vec<(String, TargetProblem)> = vec![];
    let mut refuse = |name: &str, problem: TargetProblem| problems.push((name.to_string(), problem));
    let get = |name: &str| field(form, name);

    let job = get("job").trim();
    if job.is_empty() {
        refuse("job", TargetProblem::Required);
    } else if job.chars().count() > MAX_JOB {
        refuse("job", TargetProblem::TooLong);
    }
    let raw_url = get("url").trim();
    let url = if raw_url.is_empty() {
        refuse("url", TargetProblem::Required);
        None
    } else if raw_url.len() > MAX_URL {
        refuse("url", TargetProblem::TooLong);
        None
    } else {
        match ScrapeUrl::parse(raw_url) {
            Ok(url) => Some(url),
            Err(e) => {
                refuse("url", TargetProblem::Url(e.to_string()));
                None
            }
        }
    };
    let mut duration = |name: &str| -> Option<PromDuration> {
        let raw = get(name).trim();
        if raw.is_empty() {
            return None;
        }
        match raw.parse::<PromDuration>() {
            Ok(d) => Some(d),
            Err(e) => {
                refuse(name, TargetProblem::Duration(e.to_string()));
                None
            }
        }
    };
    let interval = duration("interval");
    let timeout = duration("timeout");
    let labels = match parse_labels(get("labels")) {
        Ok(labels) => labels,
        Err(problem) => {
            refuse("labels", problem);
            vec![]
        }
    };
    let auth = match get("auth") {
        "" | "none" => Auth::None,
        "basic" => {
            let (username, password) = (get("username").trim(), get("password"));
            if username.is_empty() && password.is_empty() {
                refuse("username", TargetProblem::Required);
            }
            Auth::Basic {
                username: username.to_string(),
                password: Secret::new(password),
            }
        }
        "bearer" => {
            let token = get("bearer_token").trim();
            if token.is_empty() {
                refuse("bearer_token", TargetProblem::Required);
            }
            Auth::Bearer(Secret::new(token))
        }
        _ => {
            refuse("auth", TargetProblem::InvalidChoice);
            Auth::None
        }
    };
    let ca_pem = Some(get("ca_pem").trim())
        .filter(|pem| !pem.is_empty())
        .map(|pem| format!("{pem}\n"));
    let mut rules = |name: &str| {
        let text = get(name);
        if text.trim().is_empty() {
            return vec![];
        }
        match parse_relabel_configs(text) {
            Ok(rules) => rules,
            Err(e) => {
                refuse(name, yaml_problem(&e));
                vec![]
            }
        }
    };
    let relabel = rules("relabel_configs");
    let metric_relabel = rules("metric_relabel_configs");

    let mut failed = kept(form);
    let (Some(url), true) = (url, problems.is_empty()) else {
        failed.problems = problems;
        return Err(failed);
    };
    let has_relabel = !relabel.is_empty();
    let mut builder = ScrapeTarget::builder(job, url)
        .labels(labels)
        .auth(auth)
        .tls(TlsConfig {
            ca_pem,
            insecure_skip_verify: !get("insecure_skip_verify").is_empty(),
        })
        .honor_labels(!get("honor_labels").is_empty())
        .honor_timestamps(get("ignore_timestamps").is_empty())
        .relabel_configs(relabel)
        .metric_relabel_configs(metric_relabel);
    if let Some(interval) = interval {
        builder = builder.interval(interval);
    }
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder.build().map_err(|e| {
        let name = match &e {
            TargetError::EmptyJobName | TargetError::InvalidJobName(_) => "job",
            TargetError::ZeroInterval => "interval",
            TargetError::ZeroTimeout | TargetError::TimeoutExceedsInterval { .. } => "timeout",
            TargetError::InvalidLabelName(_)
            | TargetError::ReservedLabelName { .. }
            | TargetError::EmptyLabelValue(_) => "labels",
            TargetError::InvalidCredential { field, .. } => match *field {
                "bearer token" => "bearer_token",
                "basic auth password" => "password",
                _ => "username",
            },
            TargetError::InvalidCaPem => "ca_pem",
            TargetError::Url(_) if !has_relabel => "url",
            _ => "relabel_configs",
        };
        let problem = match &e {
            TargetError::Url(url) if name == "url" => TargetProblem::Url(url.to_string()),
            other => TargetProblem::Setting(other.to_string()),
        };
        failed.problems.push((name.to_string(), problem));
        failed
    })
}

/// Keys of prometheus.yml whose values are secrets.
const SECRET_KEYS: [&str; 5] = ["password", "bearer_token", "credentials", "client_secret", "secret_key"];
const REMOVED: &str = "'(removed)'";

/// The pasted prometheus.yml as it is shown again after a refusal: the values of
/// secret keys replaced (line numbers stay the same). Returns whether anything was removed.
fn redact_secrets(text: &str) -> (String, bool) {
    let mut out = Vec::new();
    let mut removed = false;
    // Inside a block scalar (`password: |`) deeper than this indentation.
    let mut block: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(depth) = block {
            if line.trim().is_empty() || indent > depth {
                out.push(String::new());
                continue;
            }
            block = None;
        }
        let body = line.trim_start();
        let item = body.strip_prefix("- ").map_or(body, str::trim_start);
        let secret = SECRET_KEYS.iter().find_map(|key| {
            let rest = item.strip_prefix(key)?.trim_start_matches([' ', '\t']);
            let value = rest.strip_prefix(':')?.trim();
            (!value.is_empty() && !value.starts_with('#')).then_some(value)
        });
        match secret {
            Some(value) => {
                removed = true;
                if value.starts_with('|') || value.starts_with('>') {
                    block = Some(indent);
                }
                let cut = line.len() - item.len();
                let key_end = item.find(':').map_or(item.len(), |i| i + 1);
                out.push(format!("{}{} {REMOVED}", &line[..cut], &item[..key_end]));
            }
            None => out.push(line.to_string()),
        }
    }
    let mut shown = out.join("\n");
    if text.ends_with('\n') {
        shown.push('\n');
    }
    (shown, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn problems(pairs: &[(&str, &str)]) -> TargetForm {
        parse_target_form(&form(pairs)).expect_err("expected problems")
    }

    #[test]
    fn a_complete_form_makes_a_target() {
        let target = parse_target_form(&form(&[
            ("job", "shop"),
            ("url", "https://shop.example.com:9100/metrics?format=prometheus"),
            ("interval", "30s"),
            ("timeout", ""),
            ("labels", "team=shop\n\n# a comment\ntier = \"gold\"\n"),
            ("auth", "basic"),
            ("username", "scraper"),
            ("password", "s3cret-pass"),
            ("honor_labels", "on"),
        ]))
        .unwrap();
        assert_eq!(target.job(), "shop");
        assert_eq!(target.interval().to_string(), "30s");
        assert_eq!(target.timeout().to_string(), "10s");
        assert_eq!(target.labels().get("tier").map(String::as_str), Some("gold"));
        assert!(target.honor_labels());
        assert!(matches!(target.auth(), Auth::Basic { username, .. } if username == "scraper"));
    }

    #[test]
    fn every_refused_field_gets_its_message_and_secrets_are_not_kept() {
        let failed = problems(&[
            ("job", ""),
            ("url", "ftp://x.example/metrics"),
            ("interval", "fast"),
            ("labels", "team=a\nproject=x"),
            ("auth", "bearer"),
            ("bearer_token", "tok-123"),
            ("csrf", "t"),
        ]);
        assert_eq!(failed.problem("job"), Some(&TargetProblem::Required));
        assert!(matches!(failed.problem("url"), Some(TargetProblem::Url(why)) if why.contains("ftp")));
        assert!(matches!(failed.problem("interval"), Some(TargetProblem::Duration(_))));
        assert!(
            matches!(failed.problem("labels"), Some(TargetProblem::Label { line: 2, reason }) if reason.contains("reserved"))
        );
        assert_eq!(failed.value("url"), "ftp://x.example/metrics");
        assert_eq!(failed.value("bearer_token"), "");
        assert_eq!(failed.value("csrf"), "");

        let failed = problems(&[("job", "j"), ("url", "http://x.example/"), ("labels", "a=1\njust text")]);
        assert_eq!(failed.problem("labels"), Some(&TargetProblem::LabelSyntax { line: 2 }));
        let failed = problems(&[
            ("job", "j"),
            ("url", "http://x.example/"),
            ("interval", "5s"),
            ("timeout", "6s"),
        ]);
        assert!(matches!(failed.problem("timeout"), Some(TargetProblem::Setting(why)) if why.contains("longer")));
        let failed = problems(&[("job", "j"), ("url", "http://user:pw@x.example/")]);
        assert!(matches!(failed.problem("url"), Some(TargetProblem::Url(why)) if why.contains("credentials")));
    }

    #[test]
    fn bad_relabel_yaml_is_reported_with_its_position() {
        let failed = problems(&[
            ("job", "j"),
            ("url", "http://x.example/"),
            (
                "relabel_configs",
                "- source_labels: [a]\n  target_label: b\n    action: replace\n",
            ),
        ]);
        match failed.problem("relabel_configs") {
            Some(TargetProblem::Yaml { line, column, .. }) => assert!(*line >= 2 && *column >= 1),
            other => panic!("expected a YAML problem, got {other:?}"),
        }
    }

    #[test]
    fn secrets_are_removed_from_a_pasted_file_shown_again() {
        let text = "scrape_configs:\n  - job_name: a\n    basic_auth:\n      username: u\n      password: hunter2\n    bearer_token: t0k3n-value # x\n    authorization:\n      credentials: |\n        abc\n        def\n    x: 1\n";
        let (shown, removed) = redact_secrets(text);
        assert!(removed);
        assert!(
            !shown.contains("hunter2") && !shown.contains("t0k3n") && !shown.contains("abc"),
            "{shown}"
        );
        assert_eq!(shown.lines().count(), text.lines().count(), "line numbers stay");
        assert!(shown.contains("      password: '(removed)'"), "{shown}");
        assert!(shown.contains("    x: 1"));
        assert_eq!(redact_secrets("a: 1\n"), ("a: 1\n".to_string(), false));
    }
}
