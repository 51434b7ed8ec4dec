//! The user's own prometheus.yml files (copied from the seed notes into `fixtures/`).

use vitrine_scrape_config::rule_file::{RuleKind, parse_rule_file};
use vitrine_scrape_config::{ImportError, Scheme, import_prometheus_yml};

/// The YAML block of seed 000, as written: `- job_name: prometheus` is indented less than
/// the `metrics_path:` line after it.
const SEED_000: &str = include_str!("fixtures/seed000_prometheus.yml");
/// The same block with only that line's indentation fixed.
const SEED_000_FIXED: &str = include_str!("fixtures/seed000_prometheus_fixed.yml");
/// The first YAML block of seed 003.
const SEED_003: &str = include_str!("fixtures/seed003_prometheus.yml");
/// The alerting rules of seed 003 (its `groups:` block).
const SEED_003_RULES: &str = include_str!("fixtures/seed003_rules.yml");

#[test]
fn seed_003_rules_read_as_prometheus_reads_them() {
    let file = parse_rule_file(SEED_003_RULES).unwrap();
    assert_eq!(file.groups.len(), 1);
    let group = &file.groups[0];
    assert_eq!(group.name, "valeo-neuroerp");
    let names: Vec<&RuleKind> = group.rules.iter().map(|r| &r.kind).collect();
    assert_eq!(
        names,
        [
            &RuleKind::Alert("HighCPUUsage".into()),
            &RuleKind::Alert("HighMemoryUsage".into()),
            &RuleKind::Alert("HighErrorRate".into())
        ]
    );
    let errors = &group.rules[2];
    assert_eq!(errors.expr, "sum(rate(http_requests_total{status=~\"5.*\"}[5m])) > 0.1");
    assert_eq!(errors.for_duration.unwrap().to_string(), "5m");
    assert_eq!(errors.labels, [("severity".to_string(), "critical".to_string())]);
}

#[test]
fn seed_000_fails_with_position_and_indentation_hint() {
    let err = import_prometheus_yml(SEED_000).unwrap_err();
    let ImportError::Syntax {
        line,
        column,
        message,
        hint,
    } = &err
    else {
        panic!("expected a YAML syntax error, got {err:?}");
    };
    // Line 19 is `    metrics_path: /metrics`; column 17 is its ':'.
    assert_eq!((*line, *column), (19, 17), "{err}");
    assert_eq!(SEED_000.lines().nth(18), Some("    metrics_path: /metrics"));
    assert_eq!(message, "mapping values are not allowed in this context");
    assert!(hint.contains("indentation"), "{hint}");
    assert!(hint.contains("`metrics_path` on line 19"), "{hint}");
    assert!(hint.contains("`job_name` on line 18"), "{hint}");
    assert!(hint.contains("column 5"), "{hint}");
    let text = err.to_string();
    assert!(
        text.starts_with("invalid YAML at line 19, column 17: mapping values are not allowed"),
        "{text}"
    );
}

#[test]
fn seed_000_fixed_imports() {
    // Only the indentation of one line differs.
    let changed: Vec<(&str, &str)> = SEED_000
        .lines()
        .zip(SEED_000_FIXED.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed, [("- job_name: prometheus", "  - job_name: prometheus")]);

    let import = import_prometheus_yml(SEED_000_FIXED).unwrap();
    assert_eq!(import.global.scrape_interval.to_string(), "15s");
    assert_eq!(import.global.scrape_timeout.to_string(), "10s");
    assert_eq!(import.jobs.len(), 1);
    let job = &import.jobs[0];
    assert_eq!(job.job_name, "prometheus");
    assert_eq!(job.targets.len(), 1);
    let target = &job.targets[0];
    assert_eq!(target.url().as_str(), "http://localhost:9090/metrics");
    assert_eq!(target.url().scheme(), Scheme::Http);
    assert_eq!(target.instance(), "localhost:9090");
    assert_eq!(target.job(), "prometheus");
    assert_eq!(target.interval().to_string(), "15s");
    assert_eq!(target.timeout().to_string(), "10s");

    let listed: Vec<(&str, usize, bool)> = import
        .unsupported
        .iter()
        .map(|u| (u.path.as_str(), u.line, u.harmless))
        .collect();
    assert_eq!(
        listed,
        [("global.evaluation_interval", 5, true), ("alerting", 7, false)]
    );
    assert!(import.unsupported[1].reason.contains("Alertmanager"));
}

#[test]
fn seed_003_imports_three_jobs() {
    let import = import_prometheus_yml(SEED_003).unwrap();
    let names: Vec<&str> = import.jobs.iter().map(|j| j.job_name.as_str()).collect();
    assert_eq!(names, ["valeo-neuroerp", "node-exporter", "redis-exporter"]);
    let urls: Vec<String> = import
        .jobs
        .iter()
        .flat_map(|j| j.targets.iter().map(|t| t.url().to_string()))
        .collect();
    assert_eq!(
        urls,
        [
            "http://localhost:8080/metrics",
            "http://localhost:9100/metrics",
            "http://localhost:9121/metrics"
        ]
    );
    for job in &import.jobs {
        assert_eq!(job.scrape_interval.to_string(), "15s");
        assert_eq!(job.scrape_timeout.to_string(), "10s");
        assert_eq!(job.targets.len(), 1);
        assert_eq!(job.targets[0].interval().to_string(), "15s");
    }
    assert_eq!(import.unsupported.len(), 1);
    let u = &import.unsupported[0];
    assert_eq!(
        (u.path.as_str(), u.line, u.column, u.harmless),
        ("global.evaluation_interval", 3, 3, true)
    );
    assert!(u.reason.starts_with("not used"), "{}", u.reason);
}

#[test]
fn seed_targets_are_loopback_and_refused_by_the_default_policy() {
    // The seeds scrape localhost: importing is fine, but the address guard refuses to scrape
    // it for a tenant unless an operator allow-lists it.
    let policy = vitrine_scrape_config::AddressPolicy::default();
    let err = policy.check("127.0.0.1".parse().unwrap()).unwrap_err();
    assert!(err.to_string().contains("loopback"));
    let allowed = vitrine_scrape_config::AddressPolicy::parse(["127.0.0.1/32"]).unwrap();
    assert!(allowed.check("127.0.0.1".parse().unwrap()).is_ok());
}
