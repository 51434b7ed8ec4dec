//! Writing a [`ScrapeTarget`] back as a `prometheus.yml` document that
//! [`import_prometheus_yml`](crate::import_prometheus_yml) reads back into an equal target.
//!
//! Every string is written as a double-quoted YAML scalar, escaped so that it stays on one
//! line and reads back unchanged whatever it holds (quotes, backslashes, `#`, `: `, line
//! breaks, control characters, surrounding spaces, words such as `yes`, `null` or `~`,
//! numbers). Numbers, booleans, durations, the scheme and relabel actions, which have a
//! single spelling, are written plain.

use crate::relabel::RelabelConfig;
use crate::target::{Auth, Limits, ScrapeTarget, TlsConfig};

impl ScrapeTarget {
    /// This target as a complete `prometheus.yml`: a `scrape_configs` list with one job that
    /// has this target, and only this one, in its `static_configs`.
    ///
    /// [`import_prometheus_yml`](crate::import_prometheus_yml) turns the document back into
    /// a target equal to this one, with no unsupported settings: the job name, address,
    /// scheme, metrics path and parameters, interval and timeout, extra labels,
    /// `honor_labels` and `honor_timestamps`, the credentials, the TLS settings, both lists
    /// of relabel rules and the limits. The document holds what was configured, not what
    /// the relabelling made of it (the address before relabelling, the rules themselves), so
    /// that importing it applies the rules again and gets the same URL and labels. The
    /// interval and timeout are always written, so the document does not depend on
    /// Prometheus' global defaults.
    ///
    /// **The document holds the secrets in clear text**: the basic auth password or the
    /// bearer token (as `authorization.credentials`). Store it like a secret and never log
    /// it or show it to someone who may not see the credentials.
    ///
    /// The document uses only Prometheus' own syntax, with one exception: a
    /// `body_size_limit` of 2⁵³ bytes or more that is no whole number of KiB, MiB, … is
    /// written as a bare number of bytes, which Vitrine reads but Prometheus does not.
    ///
    /// ```
    /// use vitrine_scrape_config::{Auth, ScrapeTarget, ScrapeUrl, Secret, import_prometheus_yml};
    /// let target = ScrapeTarget::builder("node", ScrapeUrl::parse("https://db1:9100/metrics").unwrap())
    ///     .label("team", "infra")
    ///     .auth(Auth::Bearer(Secret::new("t0ken")))
    ///     .build()
    ///     .unwrap();
    /// let yml = target.to_prometheus_yml();
    /// assert!(yml.contains("credentials: \"t0ken\""));
    /// let import = import_prometheus_yml(&yml).unwrap();
    /// assert_eq!(import.jobs[0].targets, [target]);
    /// assert!(import.unsupported.is_empty());
    /// ```
    pub fn to_prometheus_yml(&self) -> String {
        let mut doc = Doc::default();
        doc.line(0, "scrape_configs:");
        doc.line(2, &format!("- job_name: {}", quote(self.job())));
        doc.line(4, &format!("scheme: {}", self.scheme()));
        doc.line(4, &format!("metrics_path: {}", quote(self.metrics_path())));
        if !self.params().is_empty() {
            doc.line(4, "params:");
            for (name, values) in self.params() {
                let values: Vec<String> = values.iter().map(|v| quote(v)).collect();
                doc.key_value(6, name, &format!("[{}]", values.join(", ")));
            }
        }
        doc.line(4, &format!("scrape_interval: {}", self.configured_interval()));
        doc.line(4, &format!("scrape_timeout: {}", self.configured_timeout()));
        doc.line(4, &format!("honor_labels: {}", self.honor_labels()));
        doc.line(4, &format!("honor_timestamps: {}", self.honor_timestamps()));
        match self.auth() {
            Auth::None => {}
            Auth::Basic { username, password } => {
                doc.line(4, "basic_auth:");
                doc.line(6, &format!("username: {}", quote(username)));
                doc.line(6, &format!("password: {}", quote(password.expose())));
            }
            Auth::Bearer(token) => {
                doc.line(4, "authorization:");
                doc.line(6, "type: Bearer");
                doc.line(6, &format!("credentials: {}", quote(token.expose())));
            }
        }
        let tls = self.tls();
        if *tls != TlsConfig::default() {
            doc.line(4, "tls_config:");
            if let Some(pem) = &tls.ca_pem {
                doc.line(6, &format!("ca: {}", quote(pem)));
            }
            doc.line(6, &format!("insecure_skip_verify: {}", tls.insecure_skip_verify));
        }
        let Limits {
            body_size_limit,
            sample_limit,
            label_limit,
            label_name_length_limit,
            label_value_length_limit,
        } = *self.limits();
        if let Some(size) = body_size_limit {
            doc.line(4, &format!("body_size_limit: {}", byte_size(size)));
        }
        for (key, limit) in [
            ("sample_limit", sample_limit),
            ("label_limit", label_limit),
            ("label_name_length_limit", label_name_length_limit),
            ("label_value_length_limit", label_value_length_limit),
        ] {
            if let Some(limit) = limit {
                doc.line(4, &format!("{key}: {limit}"));
            }
        }
        if !self.relabel_configs().is_empty() {
            doc.line(4, "relabel_configs:");
            write_relabel_configs(&mut doc, 6, self.relabel_configs());
        }
        if !self.metric_relabel_configs().is_empty() {
            doc.line(4, "metric_relabel_configs:");
            write_relabel_configs(&mut doc, 6, self.metric_relabel_configs());
        }
        doc.line(4, "static_configs:");
        doc.line(6, &format!("- targets: [{}]", quote(self.address())));
        if !self.labels().is_empty() {
            doc.line(8, "labels:");
            for (name, value) in self.labels() {
                doc.key_value(10, name, &quote(value));
            }
        }
        doc.out
    }
}

/// `configs` as the YAML list written under `relabel_configs:`, without indentation: the
/// text [`parse_relabel_configs`](crate::parse_relabel_configs) reads back into equal
/// configs (empty for no configs).
#[cfg(test)]
pub(crate) fn relabel_configs_yaml(configs: &[RelabelConfig]) -> String {
    let mut doc = Doc::default();
    write_relabel_configs(&mut doc, 0, configs);
    doc.out
}

/// One `- ` item per config, at `indent`, with the fields of [`RelabelConfig::spec`].
fn write_relabel_configs(doc: &mut Doc, indent: usize, configs: &[RelabelConfig]) {
    for config in configs {
        let spec = config.spec();
        let mut fields: Vec<String> = Vec::new();
        if !spec.source_labels.is_empty() {
            let names: Vec<String> = spec.source_labels.iter().map(|n| quote(n)).collect();
            fields.push(format!("source_labels: [{}]", names.join(", ")));
        }
        if let Some(separator) = &spec.separator {
            fields.push(format!("separator: {}", quote(separator)));
        }
        if let Some(target) = &spec.target_label {
            fields.push(format!("target_label: {}", quote(target)));
        }
        if let Some(regex) = &spec.regex {
            fields.push(format!("regex: {}", quote(regex)));
        }
        if let Some(modulus) = spec.modulus {
            fields.push(format!("modulus: {modulus}"));
        }
        if let Some(replacement) = &spec.replacement {
            fields.push(format!("replacement: {}", quote(replacement)));
        }
        fields.push(format!("action: {}", config.action()));
        for (i, field) in fields.iter().enumerate() {
            let marker = if i == 0 { "- " } else { "  " };
            doc.line(indent, &format!("{marker}{field}"));
        }
    }
}

/// A YAML document written line by line.
#[derive(Default)]
struct Doc {
    out: String,
}

impl Doc {
    fn line(&mut self, indent: usize, text: &str) {
        self.out.extend(std::iter::repeat_n(' ', indent));
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// `"key": value` — as an explicit `? "key"` entry when the key is too long for an
    /// implicit one (YAML allows at most 1024 characters there).
    fn key_value(&mut self, indent: usize, key: &str, value: &str) {
        let key = quote(key);
        if key.chars().count() <= 1000 {
            self.line(indent, &format!("{key}: {value}"));
        } else {
            self.line(indent, &format!("? {key}"));
            self.line(indent, &format!(": {value}"));
        }
    }
}

/// `s` as a double-quoted YAML scalar on one line.
///
/// `"` and `\` are escaped, and so is every character that YAML does not allow as is or
/// that a reader might take for a line break or a byte order mark: the C0 and C1 control
/// characters (line feed, tab, … as `\n`, `\t`, `\r`, the others as `\uXXXX`), DEL,
/// U+2028, U+2029, U+FEFF, U+FFFE and U+FFFF. The result is also a valid JSON string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0'..='\x1f' | '\x7f'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A byte count as [`parse_byte_size`](crate::parse_byte_size) reads it back exactly: in the
/// largest unit that divides it, as long as the number stays below 2⁵³ (where the parser's
/// floating point arithmetic is exact); otherwise as a bare number of bytes.
fn byte_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
    if bytes == 0 {
        return "0".into();
    }
    for (power, unit) in UNITS.iter().enumerate().rev() {
        let size = 1u64 << (10 * power);
        if bytes.is_multiple_of(size) && bytes / size < 1 << 53 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{
        Action, PromDuration, RelabelSpec, Scheme, ScrapeUrl, Secret, import_prometheus_yml, parse_byte_size,
        parse_relabel_configs,
    };

    fn rule(spec: RelabelSpec) -> RelabelConfig {
        RelabelConfig::new(spec).unwrap()
    }

    fn d(s: &str) -> PromDuration {
        s.parse().unwrap()
    }

    /// Imports `target`'s document and checks that it gives `target` back.
    fn round_trip(target: &ScrapeTarget) -> String {
        let yml = target.to_prometheus_yml();
        let import = import_prometheus_yml(&yml).unwrap_or_else(|e| panic!("{e}\n{yml}"));
        assert!(import.unsupported.is_empty(), "{:?}", import.unsupported);
        assert_eq!(import.jobs.len(), 1);
        assert_eq!(import.jobs[0].targets, std::slice::from_ref(target), "{yml}");
        yml
    }

    #[test]
    fn document_layout() {
        let target = ScrapeTarget::builder("node \"eu\"", ScrapeUrl::parse("https://db1:9100/m?x=1").unwrap())
            .interval(d("30s"))
            .label("team", "yes")
            .label("note", "a: b # c")
            .honor_labels(true)
            .auth(Auth::Basic {
                username: "prom".into(),
                password: Secret::new("pa\"ss\\word"),
            })
            .tls(TlsConfig {
                ca_pem: Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into()),
                insecure_skip_verify: false,
            })
            .limits(Limits {
                body_size_limit: Some(10 << 20),
                sample_limit: Some(5000),
                ..Limits::default()
            })
            .relabel_configs(vec![rule(RelabelSpec {
                regex: Some("tmp_.*".into()),
                action: Some(Action::LabelDrop),
                ..RelabelSpec::default()
            })])
            .metric_relabel_configs(vec![rule(RelabelSpec {
                source_labels: vec!["__name__".into()],
                regex: Some("go_.*".into()),
                action: Some(Action::Drop),
                ..RelabelSpec::default()
            })])
            .build()
            .unwrap();
        let expected = r#"scrape_configs:
  - job_name: "node \"eu\""
    scheme: https
    metrics_path: "/m"
    params:
      "x": ["1"]
    scrape_interval: 30s
    scrape_timeout: 10s
    honor_labels: true
    honor_timestamps: true
    basic_auth:
      username: "prom"
      password: "pa\"ss\\word"
    tls_config:
      ca: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
      insecure_skip_verify: false
    body_size_limit: 10MB
    sample_limit: 5000
    relabel_configs:
      - regex: "tmp_.*"
        action: labeldrop
    metric_relabel_configs:
      - source_labels: ["__name__"]
        regex: "go_.*"
        action: drop
    static_configs:
      - targets: ["db1:9100"]
        labels:
          "note": "a: b # c"
          "team": "yes"
"#;
        assert_eq!(target.to_prometheus_yml(), expected);
        round_trip(&target);
    }

    #[test]
    fn the_document_holds_the_configured_target_not_the_relabelled_one() {
        // The blackbox exporter recipe: the address as written is the probed site.
        let copy = |from: &str, to: &str| {
            rule(RelabelSpec {
                source_labels: vec![from.into()],
                target_label: Some(to.into()),
                ..RelabelSpec::default()
            })
        };
        let target = ScrapeTarget::builder_for_address("blackbox", "https://example.com/a b")
            .metrics_path("/probe")
            .params(
                [("module".to_string(), vec!["http_2xx".to_string()])]
                    .into_iter()
                    .collect(),
            )
            .relabel_configs(vec![
                copy("__address__", "__param_target"),
                copy("__param_target", "instance"),
                rule(RelabelSpec {
                    target_label: Some("__address__".into()),
                    replacement: Some("127.0.0.1:9115".into()),
                    ..RelabelSpec::default()
                }),
                rule(RelabelSpec {
                    target_label: Some("__scrape_interval__".into()),
                    replacement: Some("1m".into()),
                    ..RelabelSpec::default()
                }),
            ])
            .build()
            .unwrap();
        assert_eq!(target.interval(), d("1m"));
        let yml = round_trip(&target);
        assert!(yml.contains("- targets: [\"https://example.com/a b\"]"), "{yml}");
        assert!(yml.contains("scrape_interval: 15s"), "{yml}");
        assert!(!yml.contains("127.0.0.1:9115\"]"), "{yml}");
    }

    #[test]
    fn timeouts_are_written_so_global_defaults_do_not_matter() {
        // A 5s interval caps the default timeout at 5s; Prometheus' global default is 10s.
        let target = ScrapeTarget::builder_for_address("j", "h:1")
            .interval(d("5s"))
            .build()
            .unwrap();
        let yml = round_trip(&target);
        assert!(yml.contains("scrape_timeout: 5s\n"), "{yml}");
        // Odd durations and the longest limits.
        let target = ScrapeTarget::builder_for_address("j", "h:1")
            .interval(d("1y3d4h5m6s7ms"))
            .timeout(d("1ms"))
            .limits(Limits {
                body_size_limit: Some(u64::MAX),
                sample_limit: Some(u64::MAX),
                label_limit: Some(1),
                label_name_length_limit: Some(0),
                label_value_length_limit: Some(u64::MAX),
            })
            .build()
            .unwrap();
        let yml = round_trip(&target);
        assert!(!yml.contains("label_name_length_limit"), "{yml}");
    }

    #[test]
    fn secrets_are_in_the_document() {
        for auth in [
            Auth::Bearer(Secret::new("tok\"en ~ # yes")),
            Auth::Basic {
                username: "".into(),
                password: Secret::new(""),
            },
            Auth::Basic {
                username: " null ".into(),
                password: Secret::new("\u{2028}p\u{a0}w\u{feff}"),
            },
        ] {
            let target = ScrapeTarget::builder_for_address("j", "h:1")
                .auth(auth)
                .build()
                .unwrap();
            round_trip(&target);
        }
        let target = ScrapeTarget::builder_for_address("j", "h:1")
            .auth(Auth::Bearer(Secret::new("s3cr3t")))
            .build()
            .unwrap();
        assert!(target.to_prometheus_yml().contains("credentials: \"s3cr3t\""));
        assert!(!format!("{target:?}").contains("s3cr3t"));
    }

    #[test]
    fn long_and_odd_keys() {
        let long_name = "n".repeat(5000);
        let params: BTreeMap<String, Vec<String>> = [
            (long_name.clone(), vec!["v".repeat(3000)]),
            ("<<".into(), vec![]),
            ("".into(), vec!["".into(), "x".into()]),
            ("? x".into(), vec!["- y".into()]),
        ]
        .into_iter()
        .collect();
        let target = ScrapeTarget::builder_for_address("j", "h:1")
            .scheme(Scheme::Https)
            .params(params)
            .label(format!("l{}", "x".repeat(2000)), "v".repeat(10_000))
            .build()
            .unwrap();
        let yml = round_trip(&target);
        assert!(yml.contains(&format!("? \"{long_name}\"\n")));
    }

    #[test]
    fn relabel_rules_are_written_with_every_field_they_need() {
        let configs = vec![
            rule(RelabelSpec {
                source_labels: vec!["a".into(), "b".into()],
                separator: Some("".into()),
                target_label: Some("${1}_x".into()),
                regex: Some("(.*)".into()),
                modulus: Some(7),
                replacement: Some("".into()),
                action: None,
            }),
            rule(RelabelSpec {
                source_labels: vec!["__address__".into()],
                target_label: Some("shard".into()),
                modulus: Some(u64::MAX),
                action: Some(Action::HashMod),
                ..RelabelSpec::default()
            }),
            rule(RelabelSpec {
                source_labels: vec!["x".into()],
                target_label: Some("y".into()),
                action: Some(Action::KeepEqual),
                ..RelabelSpec::default()
            }),
        ];
        let text = relabel_configs_yaml(&configs);
        assert_eq!(
            text,
            r#"- source_labels: ["a", "b"]
  separator: ""
  target_label: "${1}_x"
  modulus: 7
  replacement: ""
  action: replace
- source_labels: ["__address__"]
  target_label: "shard"
  modulus: 18446744073709551615
  action: hashmod
- source_labels: ["x"]
  target_label: "y"
  action: keepequal
"#
        );
        assert_eq!(parse_relabel_configs(&text), Ok(configs));
        assert_eq!(relabel_configs_yaml(&[]), "");
    }

    #[test]
    fn byte_sizes_read_back_exactly() {
        assert_eq!(byte_size(0), "0");
        assert_eq!(byte_size(1), "1B");
        assert_eq!(byte_size(1023), "1023B");
        assert_eq!(byte_size(1024), "1KB");
        assert_eq!(byte_size(10 << 20), "10MB");
        assert_eq!(byte_size((1 << 30) + 1), "1073741825B");
        assert_eq!(byte_size(3 << 60), "3EB");
        assert_eq!(byte_size(u64::MAX), "18446744073709551615");
        assert_eq!(byte_size((1 << 53) + 1), "9007199254740993");
        assert_eq!(byte_size(1 << 53), "8PB");
        for n in [
            0,
            1,
            1023,
            1024,
            (1 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
            (1 << 63) + 1024,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(parse_byte_size(&byte_size(n)), Ok(n), "{n}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(""), r#""""#);
        assert_eq!(quote("a \"b\" \\c"), r#""a \"b\" \\c""#);
        assert_eq!(quote("x\ny\r\tz"), r#""x\ny\r\tz""#);
        assert_eq!(
            quote("\0\u{7}\u{7f}\u{85}\u{2028}\u{feff}"),
            r#""\u0000\u0007\u007F\u0085\u2028\uFEFF""#
        );
        assert_eq!(quote("# é ü 🦀 : - ~"), "\"# é ü 🦀 : - ~\"");
    }
}
