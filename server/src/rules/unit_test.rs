//! `vitrine test rules`: promtool's rule unit tests, run as Prometheus 2.42's `promtool test
//! rules` runs them, with its output and exit code. Each test group loads its input series
//! (the expanding notation `0+10x100`, `_`, `stale`) into memory, evaluates the rule files'
//! groups at every evaluation interval from 0 to the latest `eval_time` (recording rules write
//! back, alerting rules keep their `for` state and write `ALERTS`, series that vanish get
//! staleness markers), compares the firing alerts at each `alert_rule_test` time, and then
//! each `promql_expr_test` over everything loaded. The rules run through the same PromQL engine,
//! alert state machine and templates as the server's.
//!
//! Not done as promtool does: the `@` modifier and negative offsets are accepted (promtool
//! refuses them without `--enable-feature`); groups that `group_eval_order` leaves out run in
//! their files' order (promtool's order for them is Go's map order); YAML syntax errors and rule
//! file errors are worded as Vitrine's importers word them (a unit-test file's unknown or
//! mistyped settings as promtool words them).

use super::alerting::RuleState;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use vitrine_promql::eval::{MemoryStorage, STALE_NAN};
use vitrine_promql::go::{format_float_exp, format_time_duration, quote};
use vitrine_promql::template::{AlertData, expand_or_error};
use vitrine_promql::{EvalOptions, Expr, Labels, Value, eval_instant, format_duration};
use vitrine_scrape_config::ImportError;
use vitrine_scrape_config::rule_file::{RuleKind, parse_rule_file};
use vitrine_scrape_config::rule_test::{AlertTest, ExprTest, TestGroup, parse_rule_test_file};

/// Runs the unit-test files in order, writing what promtool writes to its standard output and
/// error; returns promtool's exit code (1 when a test failed, else 0).
pub fn run(files: &[PathBuf], out: &mut impl Write, err: &mut impl Write) -> i32 {
    let mut failed = false;
    for file in files {
        let _ = writeln!(out, "Unit Testing:  {}", file.display());
        match test_file(file, err) {
            Ok(()) => {
                let _ = writeln!(out, "  SUCCESS");
            }
            Err(errors) => {
                let _ = writeln!(err, "  FAILED:");
                for e in errors {
                    let _ = writeln!(err, "{e}");
                    let _ = writeln!(out);
                }
                failed = true;
            }
        }
        let _ = writeln!(out);
    }
    i32::from(failed)
}

/// The rule files a pattern names: itself, or the files its last part's `*` and `?` match,
/// sorted (as Go's `filepath.Glob`).
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let name = pattern.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if !name.contains(['*', '?']) {
        return if pattern.exists() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .map(|entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(|n| wildcard(name, n)))
            .map(|e| dir.join(e.file_name()))
            .collect()
    })
    .unwrap_or_default();
    found.sort();
    found
}

/// Whether `name` matches `pattern` with `*` (any run) and `?` (any one character).
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// One rule of a loaded group.
struct LoadedRule {
    name: String,
    expr: Expr,
    alert: bool,
    for_ms: i64,
    keep_firing_for_ms: i64,
    /// Sorted by name, as Prometheus keeps them.
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
}

struct LoadedGroup {
    name: String,
    rules: Vec<LoadedRule>,
}

fn load_groups(files: &[PathBuf], order: &[String]) -> Result<Vec<LoadedGroup>, Vec<String>> {
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                errors.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        let parsed = match parse_rule_file(&text) {
            Ok(parsed) => parsed,
            Err(e) => {
                errors.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        for group in parsed.groups {
            let mut rules = Vec::new();
            for (i, rule) in group.rules.iter().enumerate() {
                let (name, alert) = match &rule.kind {
                    RuleKind::Alert(name) => (name.clone(), true),
                    RuleKind::Record(name) => (name.clone(), false),
                };
                let expr = match vitrine_promql::parse(rule.expr.trim()) {
                    Ok(expr) => expr,
                    Err(e) => {
                        errors.push(format!(
                            "{}: {}:{}: group {:?}, rule {}, {:?}: could not parse expression: {e}",
                            file.display(),
                            rule.expr_line,
                            rule.expr_column,
                            group.name,
                            i + 1,
                            name
                        ));
                        continue;
                    }
                };
                let sorted = |list: &[(String, String)]| {
                    let mut list = list.to_vec();
                    list.sort();
                    list
                };
                let ms = |d: Option<vitrine_scrape_config::PromDuration>| {
                    d.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                };
                rules.push(LoadedRule {
                    name,
                    expr,
                    alert,
                    for_ms: ms(rule.for_duration),
                    keep_firing_for_ms: ms(rule.keep_firing_for),
                    labels: sorted(&rule.labels),
                    annotations: sorted(&rule.annotations),
                });
            }
            groups.push(LoadedGroup {
                name: group.name,
                rules,
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Groups named in the order first, in that order; the others after the first, as a
    // stable sort of promtool's indexes (an unnamed group counts as 0) leaves them.
    let index = |g: &LoadedGroup| order.iter().position(|n| *n == g.name).unwrap_or(0);
    groups.sort_by_key(index);
    Ok(groups)
}

fn test_file(file: &Path, err: &mut impl Write) -> Result<(), Vec<String>> {
    let text = std::fs::read_to_string(file).map_err(|e| vec![format!("open {}: {e}", file.display())])?;
    let parsed = parse_rule_test_file(&text).map_err(|e| {
        vec![match e {
            // A setting that does not fit, as Go's strict YAML decoding words it.
            ImportError::Invalid { line, message, .. } => format!("yaml: unmarshal errors:\n  line {line}: {message}"),
            other => other.to_string(),
        }]
    })?;
    let base = file.parent().unwrap_or(Path::new(""));
    let mut rule_files = Vec::new();
    for pattern in &parsed.rule_files {
        let path = match Path::new(pattern).is_absolute() {
            true => PathBuf::from(pattern),
            false => base.join(pattern),
        };
        let found = glob(&path);
        if found.is_empty() {
            let _ = writeln!(err, "  WARNING: no file match pattern {}", path.display());
        }
        rule_files.extend(found);
    }
    let mut seen = HashSet::new();
    if let Some(repeated) = parsed.group_eval_order.iter().find(|g| !seen.insert(*g)) {
        return Err(vec![format!("group name repeated in evaluation order: {repeated}")]);
    }
    let eval_interval = parsed
        .evaluation_interval
        .filter(|d| !d.is_zero())
        .map_or(60_000, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut errors = Vec::new();
    for group in &parsed.tests {
        if let Err(mut e) = test_group(group, eval_interval, &rule_files, &parsed.group_eval_order) {
            errors.append(&mut e);
        }
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors),
    }
}

/// The most values an input series may expand to, and the most evaluation steps a test group
/// may take: a file cannot make the runner take all memory or run for ever.
const MAX_VALUES: u64 = 10_000_000;

/// A token of the series-values notation, with its byte offset.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Token<'a> {
    Number(&'a str),
    Ident(&'a str),
    Sign(char),
    Times,
    Blank,
    Space,
    End,
}

impl Token<'_> {
    /// As Prometheus' parser names it in errors.
    fn describe(&self) -> String {
        match self {
            Token::Number(n) => format!("number {}", quote(n)),
            Token::Ident(i) => format!("identifier {}", quote(i)),
            Token::Sign(c) => quote(&c.to_string()),
            Token::Times => "\"x\"".into(),
            Token::Blank => "\"_\"".into(),
            Token::Space => "\" \"".into(),
            Token::End => "end of input".into(),
        }
    }
}

fn tokens(text: &str) -> Vec<(usize, Token<'_>)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let token = match c {
            b' ' | b'\t' => {
                while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
                    i += 1;
                }
                Token::Space
            }
            b'+' | b'-' => {
                i += 1;
                Token::Sign(c as char)
            }
            b'_' => {
                i += 1;
                Token::Blank
            }
            b'x' => {
                i += 1;
                Token::Times
            }
            b'0'..=b'9' | b'.' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_digit()
                        || bytes[i] == b'.'
                        || ((bytes[i] == b'e' || bytes[i] == b'E') && i + 1 < bytes.len())
                        || ((bytes[i] == b'+' || bytes[i] == b'-') && matches!(bytes[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                Token::Number(&text[start..i])
            }
            _ => {
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'+' | b'-') {
                    i += 1;
                }
                Token::Ident(&text[start..i])
            }
        };
        out.push((start, token));
    }
    out.push((text.len(), Token::End));
    out
}

/// The values of an input series in promtool's expanding notation (`None` for `_`); an error
/// names the byte offset of the token it is about, as Prometheus' parser words it.
fn series_values(text: &str) -> Result<Vec<Option<f64>>, (usize, String)> {
    let tokens = tokens(text);
    let mut at = 0;
    let unexpected = |(pos, token): (usize, Token<'_>), context: bool| {
        let mut message = format!("unexpected {}", token.describe());
        if context {
            message.push_str(" in series values");
            if matches!(token, Token::Ident(_)) {
                message.push_str(", expected number or \"stale\"");
            }
        }
        (pos, message)
    };
    // A value: a number (signed), Inf or NaN (signed), or stale.
    let value = |at: &mut usize| -> Result<f64, (usize, String)> {
        let mut sign = 1.0;
        let mut signed = false;
        if let Token::Sign(c) = tokens[*at].1 {
            sign = if c == '-' { -1.0 } else { 1.0 };
            signed = true;
            *at += 1;
        }
        let token = tokens[*at];
        let v = match token.1 {
            Token::Number(n) => n.parse::<f64>().ok(),
            Token::Ident(i) if i.eq_ignore_ascii_case("inf") => Some(f64::INFINITY),
            Token::Ident(i) if i.eq_ignore_ascii_case("nan") => Some(f64::NAN),
            Token::Ident("stale") if !signed => {
                return {
                    *at += 1;
                    Ok(f64::from_bits(STALE_NAN))
                };
            }
            _ => None,
        };
        match v {
            Some(v) => {
                *at += 1;
                Ok(sign * v)
            }
            None => Err(unexpected(token, true)),
        }
    };
    let count = |at: &mut usize| -> Result<u64, (usize, String)> {
        let token = tokens[*at];
        match token.1 {
            Token::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
                *at += 1;
                match n.parse::<u64>() {
                    Ok(count) if count < MAX_VALUES => Ok(count),
                    _ => Err((token.0, format!("more than {MAX_VALUES} values"))),
                }
            }
            _ => Err(unexpected(token, true)),
        }
    };
    let mut out = Vec::new();
    loop {
        match tokens[at].1 {
            Token::Space => {
                at += 1;
                continue;
            }
            Token::End => break,
            Token::Blank => {
                at += 1;
                if tokens[at].1 == Token::Times {
                    at += 1;
                    out.extend((0..count(&mut at)?).map(|_| None));
                } else {
                    out.push(None);
                }
            }
            _ => {
                let first = value(&mut at)?;
                match tokens[at].1 {
                    Token::Times => {
                        at += 1;
                        out.extend((0..=count(&mut at)?).map(|_| Some(first)));
                    }
                    Token::Sign(_) => {
                        let step = value(&mut at)?;
                        if tokens[at].1 != Token::Times {
                            return Err(unexpected(tokens[at], true));
                        }
                        at += 1;
                        let mut v = first;
                        out.push(Some(v));
                        for _ in 0..count(&mut at)? {
                            v += step;
                            out.push(Some(v));
                        }
                    }
                    _ => out.push(Some(first)),
                }
            }
        }
        if !matches!(tokens[at].1, Token::Space | Token::End) {
            return Err(unexpected(tokens[at], false));
        }
        if out.len() as u64 > MAX_VALUES {
            return Err((tokens[at].0, format!("more than {MAX_VALUES} values")));
        }
    }
    Ok(out)
}

/// An input series' or expected sample's labels, as written `metric{label="value"}`.
fn series_labels(text: &str) -> Result<Labels, String> {
    vitrine_promql::parse_metric(text).map_err(|e| e.to_string())
}

/// The engine options of promtool's test storage: 5 minutes of lookback, subqueries at the
/// evaluation interval, at most 10,000 samples.
fn options(eval_interval: i64) -> EvalOptions {
    EvalOptions {
        default_subquery_step_ms: eval_interval,
        max_samples: 10_000,
        ..EvalOptions::default()
    }
}

/// An instant query as a rule runs it: a number is one series without labels.
fn query(storage: &MemoryStorage, expr: &Expr, t: i64, opts: &EvalOptions) -> Result<Vec<(Labels, f64)>, String> {
    match eval_instant(storage, expr, t, opts).map_err(|e| e.to_string())? {
        Value::Vector(samples) => Ok(samples.into_iter().map(|s| (s.labels, s.v)).collect()),
        Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), v)]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

/// What an alerting rule keeps between evaluations.
#[derive(Default)]
struct AlertRuleState {
    state: RuleState,
    /// By the alert's labels: its annotations as last expanded.
    annotations: HashMap<Labels, Labels>,
}

/// Everything a test group's evaluation keeps.
struct Run<'a> {
    groups: &'a [LoadedGroup],
    storage: MemoryStorage,
    opts: EvalOptions,
    external_labels: Labels,
    external_url: &'a str,
    /// By (group, rule): the alert state of alerting rules.
    alerts: HashMap<(usize, usize), AlertRuleState>,
    /// By (group, rule): the series it wrote the last time.
    written: HashMap<(usize, usize), HashSet<Labels>>,
}

impl Run<'_> {
    /// Evaluates every group at `ts`; the rules' errors as promtool words them.
    fn evaluate(&mut self, ts: i64) -> Vec<String> {
        let mut errors = Vec::new();
        for g in 0..self.groups.len() {
            for r in 0..self.groups[g].rules.len() {
                let rule = &self.groups[g].rules[r];
                let result = match rule.alert {
                    true => self.alerting(g, r, ts),
                    false => self.recording(rule, ts),
                };
                match result {
                    Ok(samples) => self.write(g, r, samples, ts),
                    Err(e) => errors.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        rule.name,
                        format_time_duration(ts)
                    )),
                }
            }
        }
        errors
    }

    /// Writes a rule's samples at `ts`, and staleness markers for those it wrote last time only.
    fn write(&mut self, g: usize, r: usize, samples: Vec<(Labels, f64)>, ts: i64) {
        let now: HashSet<Labels> = samples.iter().map(|(l, _)| l.clone()).collect();
        if let Some(before) = self.written.get(&(g, r)) {
            for gone in before.difference(&now) {
                self.storage.push(gone, ts, f64::from_bits(STALE_NAN));
            }
        }
        for (labels, v) in &samples {
            self.storage.push(labels, ts, *v);
        }
        self.written.insert((g, r), now);
    }

    fn recording(&self, rule: &LoadedRule, ts: i64) -> Result<Vec<(Labels, f64)>, String> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (mut labels, v) in query(&self.storage, &rule.expr, ts, &self.opts)? {
            labels.set("__name__", &rule.name);
            for (name, value) in &rule.labels {
                match value.is_empty() {
                    true => labels.del(name),
                    false => labels.set(name, value),
                }
            }
            if !seen.insert(labels.clone()) {
                return Err("vector contains metrics with the same labelset after applying rule labels".into());
            }
            out.push((labels, v));
        }
        Ok(out)
    }

    /// Evaluates an alerting rule at `ts`: its alerts' new state, and its `ALERTS` samples.
    fn alerting(&mut self, g: usize, r: usize, ts: i64) -> Result<Vec<(Labels, f64)>, String> {
        let rule = &self.groups[g].rules[r];
        let storage = &self.storage;
        let opts = &self.opts;
        let result = query(storage, &rule.expr, ts, opts)?;
        let run_query = |text: &str| -> Result<Vec<(Labels, f64)>, String> {
            let expr = vitrine_promql::parse(text).map_err(|e| e.to_string())?;
            query(storage, &expr, ts, opts)
        };
        let mut alerts = Vec::with_capacity(result.len());
        let mut annotations = HashMap::with_capacity(result.len());
        for (sample_labels, value) in result {
            let data = AlertData {
                labels: &sample_labels,
                external_labels: &self.external_labels,
                external_url: self.external_url,
                value,
                query: Some(&run_query),
            };
            let mut labels = sample_labels.without_name();
            for (name, text) in &rule.labels {
                let expanded = expand_or_error(text, &data);
                match expanded.is_empty() {
                    true => labels.del(name),
                    false => labels.set(name, &expanded),
                }
            }
            labels.set("alertname", &rule.name);
            let expanded = Labels::new(
                rule.annotations
                    .iter()
                    .map(|(name, text)| (name.clone(), expand_or_error(text, &data)))
                    .collect(),
            );
            if annotations.insert(labels.clone(), expanded).is_some() {
                return Err("vector contains metrics with the same labelset after applying alert labels".into());
            }
            alerts.push((labels, value));
        }
        let state = self.alerts.entry((g, r)).or_default();
        state.state.evaluate(ts, alerts, rule.for_ms, rule.keep_firing_for_ms);
        state.annotations.extend(annotations);
        let kept = &state.state.alerts;
        state.annotations.retain(|labels, _| kept.contains_key(labels));
        // Prometheus writes `ALERTS_FOR_STATE` in whole seconds.
        Ok(state
            .state
            .series()
            .into_iter()
            .map(|(labels, v)| match labels.value("__name__") {
                "ALERTS_FOR_STATE" => (labels, v.floor()),
                _ => (labels, v),
            })
            .collect())
    }

    /// The firing alerts of every alerting rule named `alertname`: labels and annotations.
    fn firing(&self, alertname: &str) -> Vec<(Labels, Labels)> {
        let mut out = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            for (r, rule) in group.rules.iter().enumerate() {
                if !rule.alert || rule.name != alertname {
                    continue;
                }
                let Some(state) = self.alerts.get(&(g, r)) else {
                    continue;
                };
                for alert in state.state.alerts.values() {
                    if alert.state == super::alerting::AlertState::Firing {
                        let annotations = state.annotations.get(&alert.labels).cloned().unwrap_or_default();
                        out.push((alert.labels.clone(), annotations));
                    }
                }
            }
        }
        out
    }
}

/// Go's `indentLines`: every line after the first prefixed with `indent`.
fn indent_lines(lines: &str, indent: &str) -> String {
    lines.split('\n').collect::<Vec<_>>().join(&format!("\n{indent}"))
}

/// promtool's `labelsAndAnnotations.String()`.
fn alerts_text(alerts: &[(Labels, Labels)]) -> String {
    if alerts.is_empty() {
        return "[]".into();
    }
    let mut out = String::from("[");
    for (i, (labels, annotations)) in alerts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let one = format!("\nLabels:{labels}\nAnnotations:{annotations}");
        out.push_str(&format!("\n{i}:{}", indent_lines(&one, "  ")));
    }
    out.push_str("\n]");
    out
}

/// promtool's `parsedSamplesString`.
fn samples_text(samples: &[(Labels, f64)]) -> String {
    if samples.is_empty() {
        return "nil".into();
    }
    samples
        .iter()
        .map(|(labels, v)| format!("{labels} {}", format_float_exp(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_alerts(run: &Run<'_>, group: &TestGroup, at: i64, tests: &[&AlertTest]) -> Vec<String> {
    let mut errors = Vec::new();
    for test in tests {
        let mut got = run.firing(&test.alertname);
        let mut expected: Vec<(Labels, Labels)> = test
            .exp_alerts
            .iter()
            .map(|a| {
                let mut labels = Labels::new(a.exp_labels.clone());
                labels.set("alertname", &test.alertname);
                (labels, Labels::new(a.exp_annotations.clone()))
            })
            .collect();
        got.sort();
        expected.sort();
        if got != expected {
            let name = match group.name.is_empty() {
                true => String::new(),
                false => format!("    name: {},\n", group.name),
            };
            errors.push(format!(
                "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                test.alertname,
                format_duration(at),
                indent_lines(&alerts_text(&expected), "            "),
                indent_lines(&alerts_text(&got), "            "),
            ));
        }
    }
    errors
}

fn check_expr(run: &Run<'_>, test: &ExprTest) -> Option<String> {
    let at = duration_ms(test.eval_time);
    let time = format_duration(at);
    let failed = |e: String| Some(format!("    expr: {}, time: {time}, err: {e}", quote(&test.expr)));
    let got = match vitrine_promql::parse(&test.expr) {
        Ok(expr) => query(&run.storage, &expr, at, &run.opts),
        Err(e) => Err(e.to_string()),
    };
    let mut got = match got {
        Ok(got) => got,
        Err(e) => return failed(e),
    };
    let mut expected = Vec::with_capacity(test.exp_samples.len());
    for sample in &test.exp_samples {
        match series_labels(&sample.labels) {
            Ok(labels) => expected.push((labels, sample.value)),
            Err(e) => return failed(format!("labels {}: {e}", quote(&sample.labels))),
        }
    }
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    got.sort_by(|a, b| a.0.cmp(&b.0));
    // As Go's reflect.DeepEqual: a NaN equals nothing, not even a NaN.
    let same = expected.len() == got.len() && expected.iter().zip(&got).all(|(e, g)| e.0 == g.0 && e.1 == g.1);
    (!same).then(|| {
        format!(
            "    expr: {}, time: {time},\n        exp: {}\n        got: {}",
            quote(&test.expr),
            samples_text(&expected),
            samples_text(&got)
        )
    })
}

fn duration_ms(d: vitrine_scrape_config::PromDuration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn test_group(
    group: &TestGroup,
    eval_interval: i64,
    rule_files: &[PathBuf],
    order: &[String],
) -> Result<(), Vec<String>> {
    // Without an interval every value lands at 0, where the first one is kept (promtool's
    // storage refuses the later ones as duplicates).
    let interval = group.interval.map_or(0, duration_ms);
    let mut inputs = Vec::with_capacity(group.input_series.len());
    for series in &group.input_series {
        let labels = series_labels(&series.series).map_err(|e| vec![e])?;
        // Prometheus reads `series values` as one line: an error's column counts from the series.
        let values = series_values(&series.values)
            .map_err(|(at, e)| vec![format!("1:{}: parse error: {e}", series.series.len() + 2 + at)])?;
        let mut samples: Vec<(i64, f64)> = values
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| Some(((i as i64).saturating_mul(interval), v?)))
            .collect();
        samples.dedup_by_key(|(t, _)| *t);
        inputs.push((labels, samples));
    }
    let groups = load_groups(rule_files, order)?;
    let mut alert_tests: Vec<&AlertTest> = Vec::new();
    for test in &group.alert_rule_tests {
        if test.alertname.is_empty() {
            let in_group = match group.name.is_empty() {
                true => String::new(),
                false => format!(" (in TestGroup {})", group.name),
            };
            return Err(vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                format_duration(duration_ms(test.eval_time))
            )]);
        }
        alert_tests.push(test);
    }
    let mut times: Vec<i64> = alert_tests.iter().map(|t| duration_ms(t.eval_time)).collect();
    times.sort_unstable();
    times.dedup();
    let max_time = times
        .iter()
        .copied()
        .chain(group.promql_expr_tests.iter().map(|t| duration_ms(t.eval_time)))
        .max()
        .unwrap_or(0);
    if max_time / eval_interval.max(1) > MAX_VALUES as i64 {
        return Err(vec![format!(
            "more than {MAX_VALUES} evaluations up to {}: use a longer evaluation_interval",
            format_duration(max_time)
        )]);
    }
    let mut run = Run {
        groups: &groups,
        storage: MemoryStorage::new(),
        opts: options(eval_interval),
        external_labels: Labels::new(group.external_labels.clone()),
        external_url: &group.external_url,
        alerts: HashMap::new(),
        written: HashMap::new(),
    };
    let mut loaded = vec![0usize; inputs.len()];
    let mut load_till = |storage: &mut MemoryStorage, ts: i64| {
        for ((labels, samples), next) in inputs.iter().zip(loaded.iter_mut()) {
            let till = samples.partition_point(|(t, _)| *t <= ts);
            if till > *next {
                storage.add(labels.clone(), samples[*next..till].iter().copied());
                *next = till;
            }
        }
    };
    let mut errors = Vec::new();
    let mut next_time = 0;
    let mut ts = 0i64;
    while ts <= max_time {
        load_till(&mut run.storage, ts);
        let failures = run.evaluate(ts);
        if !failures.is_empty() {
            errors.extend(failures);
            return Err(errors);
        }
        while next_time < times.len() && ts <= times[next_time] && times[next_time] < ts.saturating_add(eval_interval) {
            let at = times[next_time];
            let due: Vec<&AlertTest> = alert_tests
                .iter()
                .copied()
                .filter(|t| duration_ms(t.eval_time) == at)
                .collect();
            errors.extend(check_alerts(&run, group, at, &due));
            next_time += 1;
        }
        match ts.checked_add(eval_interval) {
            Some(next) => ts = next,
            None => break,
        }
    }
    load_till(&mut run.storage, max_time);
    errors.extend(group.promql_expr_tests.iter().filter_map(|t| check_expr(&run, t)));
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expanding_notation_reads_as_promtool_reads_it() {
        let values = |t: &str| series_values(t).unwrap();
        assert_eq!(values("0+10x3"), [Some(0.0), Some(10.0), Some(20.0), Some(30.0)]);
        assert_eq!(values("5-2x2 _ 7"), [Some(5.0), Some(3.0), Some(1.0), None, Some(7.0)]);
        assert_eq!(values("1x2 _x2"), [Some(1.0), Some(1.0), Some(1.0), None, None]);
        assert_eq!(values("1e3+1e2x1"), [Some(1000.0), Some(1100.0)]);
        assert_eq!(values("-1+1x1"), [Some(-1.0), Some(0.0)]);
        let odd = values("stale Inf -Inf NaN");
        assert_eq!(odd[0].map(f64::to_bits), Some(STALE_NAN));
        assert_eq!(odd[1], Some(f64::INFINITY));
        assert_eq!(odd[2], Some(f64::NEG_INFINITY));
        assert!(odd[3].unwrap().is_nan());
        assert_eq!(
            series_values("1+x3"),
            Err((2, "unexpected \"x\" in series values".into()))
        );
        assert_eq!(
            series_values("1 2 foo"),
            Err((
                4,
                "unexpected identifier \"foo\" in series values, expected number or \"stale\"".into()
            ))
        );
        assert_eq!(
            series_values("1x"),
            Err((2, "unexpected end of input in series values".into()))
        );
        assert_eq!(series_values("1-1x2x"), Err((5, "unexpected \"x\"".into())));
        assert!(series_values("1x99999999999").is_err());
        assert!(series_values(&"1x9000000 ".repeat(3)).is_err());
    }

    #[test]
    fn globs_match_stars_and_question_marks() {
        assert!(wildcard("*.rules.yml", "a.rules.yml"));
        assert!(wildcard("r?.yml", "r1.yml"));
        assert!(!wildcard("*.rules.yml", "a.yml"));
        assert!(wildcard("*", ""));
    }

    #[test]
    fn failures_are_written_as_promtool_writes_them() {
        let labels = Labels::from_pairs(&[("alertname", "High"), ("job", "a")]);
        let annotations = Labels::from_pairs(&[("summary", "a is at 25")]);
        assert_eq!(
            alerts_text(&[(labels.clone(), annotations)]),
            "[\n0:\n  Labels:{alertname=\"High\", job=\"a\"}\n  Annotations:{summary=\"a is at 25\"}\n]"
        );
        assert_eq!(alerts_text(&[]), "[]");
        assert_eq!(
            samples_text(&[(labels, 11.0)]),
            "{alertname=\"High\", job=\"a\"} 1.1E+01"
        );
        assert_eq!(samples_text(&[]), "nil");
    }
}
