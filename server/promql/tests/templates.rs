//! Alert templates expanded by Vitrine and by Debian's Prometheus 2.42: every case is an alerting
//! rule whose annotation is the template, over a series with the case's value; Vitrine's
//! expansion is written into a `promtool test rules` file as the expected annotation, so
//! promtool passes only where both expand alike. Needs `promtool` (Debian: prometheus), which
//! `scripts/test` installs.

use std::fmt::Write as _;
use std::process::Command;
use vitrine_promql::Labels;
use vitrine_promql::template::{AlertData, expand};

/// (template, the alert's value)
const CASES: &[(&str, f64)] = &[
    ("{{ $labels.instance }} of {{ .Labels.job }} is down", 1.0),
    ("value {{ $value }}", 0.1234),
    ("{{ $value }}", 1234567.0),
    ("{{ $value }}", 123456.0),
    ("{{ $value }}", 0.00001234),
    ("{{ $value }}", -2.5),
    ("{{ $value }}", 1e21),
    ("{{ .Value }}", 100.0),
    ("{{ $labels.missing }}", 1.0),
    ("{{ $externalLabels.region }} {{ $externalURL }}", 1.0),
    ("{{ humanize $value }}", 1234567.0),
    ("{{ humanize $value }}", 0.001234),
    ("{{ humanize $value }}", 0.0),
    ("{{ humanize $value }}", 999.5),
    ("{{ humanize $value }}", 1e30),
    ("{{ humanize $value }}", -4200.0),
    ("{{ humanize1024 $value }}", 1048576.0),
    ("{{ humanize1024 $value }}", 1536.0),
    ("{{ humanize1024 $value }}", 0.5),
    ("{{ humanizeDuration $value }}", 3661.0),
    ("{{ humanizeDuration $value }}", 90061.0),
    ("{{ humanizeDuration $value }}", 1.5),
    ("{{ humanizeDuration $value }}", 0.0015),
    ("{{ humanizeDuration $value }}", 0.0),
    ("{{ humanizeDuration $value }}", -75.0),
    ("{{ $value | humanizePercentage }}", 0.1234567),
    ("{{ $value | humanizePercentage }}", 1.0),
    ("{{ humanizeTimestamp $value }}", 1435065584.128),
    ("{{ humanizeTimestamp $value }}", 0.0),
    ("{{ printf \"%.2f\" $value }}", 1.23456),
    ("{{ printf \"%s has %d%%\" $labels.job 5 }}", 1.0),
    ("{{ printf \"%5.1f|%-4s|%04d\" $value \"ab\" 42 }}", 2.25),
    ("{{ printf \"%e %g %.3g\" $value $value $value }}", 12345.678),
    ("{{ printf \"%d\" $labels.job }}", 1.0),
    ("{{ printf \"%v %q\" $value $labels.job }}", 0.5),
    ("{{ $labels.instance | stripPort | toUpper }}", 1.0),
    ("{{ toLower \"SHOP Owner\" }}", 1.0),
    ("{{ title \"hello shop-owner's site\" }}", 1.0),
    ("{{ reReplaceAll \"(.*):(.*)\" \"$2 on $1\" $labels.instance }}", 1.0),
    ("{{ if match \"^sh\" .Labels.job }}yes{{ else }}no{{ end }}", 1.0),
    ("{{ parseDuration \"1m30s\" }}", 1.0),
    (
        "{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}some{{ else }}low{{ end }}",
        0.9,
    ),
    (
        "{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}some{{ else }}low{{ end }}",
        0.2,
    ),
    (
        "{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}some{{ else }}low{{ end }}",
        0.0,
    ),
    ("{{ with $labels.job }}job {{ . }}{{ end }}", 1.0),
    ("{{ with $labels.nope }}x{{ else }}none{{ end }}", 1.0),
    ("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", 1.0),
    ("{{ range $labels }}[{{ . }}]{{ end }}", 1.0),
    (
        "{{ if and $labels.job (eq $labels.job \"shop\" \"other\") }}match{{ end }}",
        1.0,
    ),
    ("{{ or $labels.nope \"fallback\" }} {{ and 1 0 }} {{ not true }}", 1.0),
    ("{{ len $labels }} {{ len \"abc\" }} {{ index $labels \"job\" }}", 1.0),
    ("{{ $x := $labels.job }}{{ $x }}{{ $x = \"changed\" }} {{ $x }}", 1.0),
    ("a  {{- $labels.job -}}  b {{/* a comment */}} c", 1.0),
    ("{{ print 1 2 \"x\" 3 }}|{{ println \"end\" }}", 1.0),
    ("{{ html \"<b>&'\\\"\" }} {{ urlquery \"a b&c/d\" }}", 1.0),
    (
        "{{ ne $labels.job \"shop\" }} {{ le 1 2 }} {{ ge 2.5 2.5 }} {{ lt \"a\" \"b\" }}",
        1.0,
    ),
    (
        "{{ $value | printf \"%.1f\" }} {{ (printf \"%s-%s\" \"a\" \"b\") | toUpper }}",
        7.25,
    ),
];

const EXTERNAL_URL: &str = "https://vitrine.example/portal";

fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string")
}

#[test]
fn alert_templates_expand_as_promtool_expands_them() {
    let dir = std::env::temp_dir().join(format!("vitrine-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let mut rules = String::from("groups:\n  - name: templates\n    rules:\n");
    let mut tests = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    external_labels:\n      region: eu\n    external_url: {EXTERNAL_URL}\n    input_series:\n"
    );
    let mut alerts = String::new();
    let external = Labels::from_pairs(&[("region", "eu")]);
    for (i, (template, value)) in CASES.iter().enumerate() {
        let case = i.to_string();
        let _ = write!(
            rules,
            "      - alert: Case{i}\n        expr: case_value{{case=\"{i}\"}}\n        annotations:\n          text: {}\n",
            quoted(template)
        );
        let _ = write!(
            tests,
            "      - series: 'case_value{{case=\"{i}\",instance=\"shop:9100\",job=\"shop\"}}'\n        values: '{value:?}+0x5'\n"
        );
        // What Prometheus gives the template: the series as the query returns it.
        let labels = Labels::from_pairs(&[
            ("__name__", "case_value"),
            ("case", &case),
            ("instance", "shop:9100"),
            ("job", "shop"),
        ]);
        let data = AlertData {
            labels: &labels,
            external_labels: &external,
            external_url: EXTERNAL_URL,
            value: *value,
            query: None,
        };
        let expanded = expand(template, &data).unwrap_or_else(|e| panic!("case {i} {template:?}: {e}"));
        let _ = write!(
            alerts,
            "      - eval_time: 2m\n        alertname: Case{i}\n        exp_alerts:\n          - exp_labels: {{case: \"{i}\", instance: \"shop:9100\", job: shop}}\n            exp_annotations:\n              text: {}\n",
            quoted(&expanded)
        );
    }
    tests.push_str("    alert_rule_test:\n");
    tests.push_str(&alerts);
    std::fs::write(dir.join("rules.yml"), rules).expect("writing the rules");
    std::fs::write(dir.join("tests.yml"), tests).expect("writing the tests");
    let out = Command::new("promtool")
        .args(["test", "rules", "tests.yml"])
        .current_dir(&dir)
        .output()
        .expect("running promtool (Debian package prometheus; scripts/test installs it)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool expands {} templates differently:\n{report}",
        CASES.len()
    );
    println!("{} templates expand as promtool expands them", CASES.len());
    let _ = std::fs::remove_dir_all(&dir);
}
