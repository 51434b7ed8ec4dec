//! promtool's rule unit-test files (`promtool test rules`), read as Prometheus 2.42 reads them:
//! strict about unknown keys, every error with a line, a column and a hint. Series values and
//! expressions are kept as text: the caller reads them.

use crate::PromDuration;
use crate::import::{ImportError, duration, entries, invalid, items, join, load, string};
use crate::yaml::Node;

/// A unit-test file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleTestFile {
    /// The rule files (globs), as written: relative ones are relative to the test file.
    pub rule_files: Vec<String>,
    /// `None`: promtool's default, one minute.
    pub evaluation_interval: Option<PromDuration>,
    /// Groups named here are evaluated in this order, before the others.
    pub group_eval_order: Vec<String>,
    /// The test groups, in order.
    pub tests: Vec<TestGroup>,
}

/// One test group: input series and the tests on them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestGroup {
    /// The interval between two values of an input series (`None`: zero, as promtool reads it).
    pub interval: Option<PromDuration>,
    /// `name`, empty when none.
    pub name: String,
    /// The series the rules read.
    pub input_series: Vec<InputSeries>,
    /// `alert_rule_test`.
    pub alert_rule_tests: Vec<AlertTest>,
    /// `promql_expr_test`.
    pub promql_expr_tests: Vec<ExprTest>,
    /// In the order written.
    pub external_labels: Vec<(String, String)>,
    /// `$externalURL` of the templates.
    pub external_url: String,
}

/// An input series: its selector-like name and labels, and its values in the expanding notation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputSeries {
    /// As `metric{label="value"}`.
    pub series: String,
    /// As `0+10x100 _ stale 5`.
    pub values: String,
}

/// The alerts expected to fire at one time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertTest {
    /// When, from the start of the input series.
    pub eval_time: PromDuration,
    /// The alerting rule's name.
    pub alertname: String,
    /// The alerts that fire then.
    pub exp_alerts: Vec<ExpectedAlert>,
}

/// A firing alert: its labels (besides `alertname`) and annotations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpectedAlert {
    /// In the order written.
    pub exp_labels: Vec<(String, String)>,
    /// In the order written.
    pub exp_annotations: Vec<(String, String)>,
}

/// An expression's expected result at one time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExprTest {
    /// PromQL, as written.
    pub expr: String,
    /// When, from the start of the input series.
    pub eval_time: PromDuration,
    /// The series of the result.
    pub exp_samples: Vec<ExpectedSample>,
}

/// One series of an expected result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpectedSample {
    /// A series as written (`up{job="a"}`): the caller parses it.
    pub labels: String,
    /// Its value.
    pub value: f64,
}

fn unknown(node: &Node, field: &str, go_type: &str) -> ImportError {
    invalid(
        field,
        node,
        format!("field {field} not found in type {go_type}"),
        "check the spelling against promtool's unit-test format",
    )
}

fn text(node: &Node, path: &str) -> Result<String, ImportError> {
    Ok(string(node, path)?.unwrap_or_default())
}

fn strings(node: &Node, path: &str) -> Result<Vec<String>, ImportError> {
    items(node, path, "a list of values")?
        .iter()
        .enumerate()
        .map(|(i, item)| text(item, &format!("{path}[{i}]")))
        .collect()
}

fn text_map(node: &Node, path: &str) -> Result<Vec<(String, String)>, ImportError> {
    entries(node, path, "labels")?
        .iter()
        .map(|(key, value)| Ok((key.key_text(), text(value, &join(path, &key.key_text()))?)))
        .collect()
}

/// A float as yaml.v2 reads one: decimal or with an exponent, and `.inf`, `-.inf`, `.nan`.
fn float(node: &Node, path: &str) -> Result<f64, ImportError> {
    let raw = text(node, path)?;
    let value = match raw.trim_start_matches('+') {
        ".inf" | ".Inf" | ".INF" => Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
        other if other.chars().all(|c| c.is_ascii_digit() || "-.eE+_".contains(c)) => {
            other.replace('_', "").parse().ok()
        }
        _ => None,
    };
    value.ok_or_else(|| {
        invalid(
            path,
            node,
            format!("cannot unmarshal !!str `{raw}` into float64"),
            "write a number, or .inf, -.inf or .nan",
        )
    })
}

fn eval_time(node: &Node, path: &str) -> Result<PromDuration, ImportError> {
    Ok(duration(node, path)?.unwrap_or(PromDuration::ZERO))
}

fn alert_test(node: &Node, path: &str) -> Result<AlertTest, ImportError> {
    let mut test = AlertTest::default();
    for (key, value) in entries(node, path, "an alert test")? {
        let field = key.key_text();
        let at = join(path, &field);
        match field.as_str() {
            "eval_time" => test.eval_time = eval_time(value, &at)?,
            "alertname" => test.alertname = text(value, &at)?,
            "exp_alerts" => {
                for (i, item) in items(value, &at, "a list of alerts")?.iter().enumerate() {
                    let path = format!("{at}[{i}]");
                    let mut alert = ExpectedAlert::default();
                    for (key, value) in entries(item, &path, "an alert")? {
                        let field = key.key_text();
                        let at = join(&path, &field);
                        match field.as_str() {
                            "exp_labels" => alert.exp_labels = text_map(value, &at)?,
                            "exp_annotations" => alert.exp_annotations = text_map(value, &at)?,
                            _ => return Err(unknown(key, &field, "main.alert")),
                        }
                    }
                    test.exp_alerts.push(alert);
                }
            }
            _ => return Err(unknown(key, &field, "main.alertTestCase")),
        }
    }
    Ok(test)
}

fn expr_test(node: &Node, path: &str) -> Result<ExprTest, ImportError> {
    let mut test = ExprTest::default();
    for (key, value) in entries(node, path, "an expression test")? {
        let field = key.key_text();
        let at = join(path, &field);
        match field.as_str() {
            "expr" => test.expr = text(value, &at)?,
            "eval_time" => test.eval_time = eval_time(value, &at)?,
            "exp_samples" => {
                for (i, item) in items(value, &at, "a list of samples")?.iter().enumerate() {
                    let path = format!("{at}[{i}]");
                    let mut sample = ExpectedSample::default();
                    for (key, value) in entries(item, &path, "a sample")? {
                        let field = key.key_text();
                        let at = join(&path, &field);
                        match field.as_str() {
                            "labels" => sample.labels = text(value, &at)?,
                            "value" => sample.value = float(value, &at)?,
                            _ => return Err(unknown(key, &field, "main.sample")),
                        }
                    }
                    test.exp_samples.push(sample);
                }
            }
            _ => return Err(unknown(key, &field, "main.promqlTestCase")),
        }
    }
    Ok(test)
}

fn test_group(node: &Node, path: &str) -> Result<TestGroup, ImportError> {
    let mut group = TestGroup::default();
    for (key, value) in entries(node, path, "a test group")? {
        let field = key.key_text();
        let at = join(path, &field);
        match field.as_str() {
            "interval" => group.interval = duration(value, &at)?,
            "name" => group.name = text(value, &at)?,
            "external_labels" => group.external_labels = text_map(value, &at)?,
            "external_url" => group.external_url = text(value, &at)?,
            "input_series" => {
                for (i, item) in items(value, &at, "a list of series")?.iter().enumerate() {
                    let path = format!("{at}[{i}]");
                    let mut series = InputSeries::default();
                    for (key, value) in entries(item, &path, "a series")? {
                        let field = key.key_text();
                        let at = join(&path, &field);
                        match field.as_str() {
                            "series" => series.series = text(value, &at)?,
                            "values" => series.values = text(value, &at)?,
                            _ => return Err(unknown(key, &field, "main.series")),
                        }
                    }
                    group.input_series.push(series);
                }
            }
            "alert_rule_test" => {
                for (i, item) in items(value, &at, "a list of alert tests")?.iter().enumerate() {
                    group.alert_rule_tests.push(alert_test(item, &format!("{at}[{i}]"))?);
                }
            }
            "promql_expr_test" => {
                for (i, item) in items(value, &at, "a list of expression tests")?.iter().enumerate() {
                    group.promql_expr_tests.push(expr_test(item, &format!("{at}[{i}]"))?);
                }
            }
            _ => return Err(unknown(key, &field, "main.testGroup")),
        }
    }
    Ok(group)
}

/// Reads a unit-test file.
pub fn parse_rule_test_file(text: &str) -> Result<RuleTestFile, ImportError> {
    let mut file = RuleTestFile::default();
    let Some(root) = load(text, "tests")? else {
        return Ok(file);
    };
    for (key, value) in entries(&root, "", "the top level of a unit-test file")? {
        let field = key.key_text();
        match field.as_str() {
            "rule_files" => file.rule_files = strings(value, &field)?,
            "evaluation_interval" => file.evaluation_interval = duration(value, &field)?,
            "group_eval_order" => file.group_eval_order = strings(value, &field)?,
            "tests" => {
                for (i, item) in items(value, &field, "a list of test groups")?.iter().enumerate() {
                    file.tests.push(test_group(item, &format!("tests[{i}]"))?);
                }
            }
            _ => return Err(unknown(key, &field, "main.unitTestFile")),
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_test_file_reads_with_every_part() {
        let text = "rule_files: [a.yml]\nevaluation_interval: 30s\ngroup_eval_order: [g1, g2]\ntests:\n  - interval: 1m\n    name: first\n    external_labels: {region: eu}\n    external_url: http://x\n    input_series:\n      - series: 'up{job=\"a\"}'\n        values: '1+0x10'\n    alert_rule_test:\n      - eval_time: 5m\n        alertname: Down\n        exp_alerts:\n          - exp_labels: {job: a}\n            exp_annotations: {summary: s}\n    promql_expr_test:\n      - expr: up\n        eval_time: 1m\n        exp_samples:\n          - labels: 'up{job=\"a\"}'\n            value: 1.5e0\n          - labels: x\n            value: .inf\n";
        let file = parse_rule_test_file(text).unwrap();
        assert_eq!(file.rule_files, ["a.yml"]);
        assert_eq!(file.evaluation_interval.unwrap().as_millis(), 30_000);
        assert_eq!(file.group_eval_order, ["g1", "g2"]);
        let group = &file.tests[0];
        assert_eq!(group.name, "first");
        assert_eq!(group.interval.unwrap().as_millis(), 60_000);
        assert_eq!(group.external_labels, [("region".to_string(), "eu".to_string())]);
        assert_eq!(group.input_series[0].values, "1+0x10");
        assert_eq!(group.alert_rule_tests[0].eval_time.as_millis(), 300_000);
        assert_eq!(group.alert_rule_tests[0].exp_alerts[0].exp_annotations[0].1, "s");
        assert_eq!(group.promql_expr_tests[0].exp_samples[0].value, 1.5);
        assert_eq!(group.promql_expr_tests[0].exp_samples[1].value, f64::INFINITY);
    }

    #[test]
    fn unknown_keys_and_wrong_numbers_are_refused_with_their_place() {
        let err = parse_rule_test_file("rule_files: []\ntests:\n  - intervall: 1m\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("field intervall not found in type main.testGroup"),
            "{err}"
        );
        assert_eq!(err.line(), 3);
        let err = parse_rule_test_file(
            "tests:\n  - promql_expr_test:\n      - expr: up\n        exp_samples:\n          - value: many\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("cannot unmarshal !!str `many` into float64"),
            "{err}"
        );
    }
}
