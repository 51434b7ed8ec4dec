//! Property tests: [`ScrapeTarget::to_prometheus_yml`] and [`import_prometheus_yml`] round
//! trip exactly, and so do relabel rules through [`parse_relabel_configs`], for generated
//! targets full of awkward strings.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

use crate::export::{quote, relabel_configs_yaml};
use crate::yaml::{self, Kind};
use crate::{
    Action, Auth, Limits, PromDuration, RelabelConfig, RelabelSpec, Scheme, ScrapeTarget, Secret, TlsConfig,
    import_prometheus_yml, parse_relabel_configs, reserved_label_reason,
};

/// Strings that YAML, a careless quoting function or a careless reader could get wrong.
const AWKWARD: &[&str] = &[
    "",
    " ",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "False",
    "null",
    "Null",
    "~",
    "0",
    "007",
    "1.5",
    "-1",
    "0x1F",
    "1e3",
    ".inf",
    ".NaN",
    "15s",
    "-",
    "- x",
    "? x",
    ": x",
    "a: b",
    "a:b",
    "#",
    "a #b",
    " leading",
    "trailing ",
    "'",
    "''",
    "\"",
    "\\",
    "\\n",
    "\\u0041",
    "\n",
    "\r\n",
    "a\nb",
    "\t",
    "é",
    "ü€",
    "🦀",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{2029}",
    "\u{feff}",
    "\u{fffe}",
    "&anchor",
    "*alias",
    "!tag",
    "!!str",
    "|",
    ">",
    "%YAML",
    "@",
    "`",
    "{a: b}",
    "[x, y]",
    "<<",
    "---",
    "...",
    ",",
    "$1",
    "${1}",
];

fn awkward() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        select(AWKWARD).prop_map(String::from),
        any::<char>().prop_map(String::from),
        "[a-z0-9 ]{0,6}",
    ];
    prop_oneof![
        3 => select(AWKWARD).prop_map(String::from),
        2 => any::<String>(),
        3 => vec(piece, 0..5).prop_map(|pieces| pieces.concat()),
    ]
}

/// An awkward string a credential or a job name may hold: no control characters.
fn printable() -> impl Strategy<Value = String> {
    awkward().prop_map(|s| s.chars().filter(|c| !c.is_control()).collect())
}

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "job", "instance", "team", "a", "_", "A9", "yes", "null", "true", "__tmp"
            ][..]
        )
        .prop_map(String::from),
        "[a-zA-Z_][a-zA-Z0-9_]{0,12}",
    ]
}

fn source_label() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "__address__",
                "__name__",
                "__scheme__",
                "__metrics_path__",
                "__param_module"
            ][..]
        )
        .prop_map(String::from),
        label_name(),
    ]
}

/// Target labels for `replace`: names and templates, never one that decides where or how
/// often to scrape (those would mostly make targets that cannot be built).
fn replace_target() -> impl Strategy<Value = String> {
    prop_oneof![
        label_name(),
        select(&["$1", "${1}", "${1}_x", "x_${name}", "__param_target", "instance"][..]).prop_map(String::from),
    ]
}

fn regex() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "(.*)",
                "go_.*",
                "a\\.b",
                "\"quoted\"",
                "# not a comment",
                "yes",
                "null",
                "~",
                "[:\\s]+",
                "(?i)foo",
                "é+|🦀",
                " leading",
                "trailing ",
                "\\\\",
                "a\nb",
                "(?P<name>[^:]+):(\\d+)",
                "",
                "[a-z]{2,3}",
                "\\Qa.b\\E",
                "x\\z",
            ][..]
        )
        .prop_map(String::from),
        awkward().prop_map(|s| regex::escape(&s)),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    select(Action::ALL.to_vec())
}

#[derive(Debug, Clone)]
struct Fields {
    source_labels: Vec<String>,
    separator: Option<String>,
    target: String,
    plain_target: String,
    regex: Option<String>,
    modulus: u64,
    replacement: Option<String>,
    template: String,
    explicit_action: bool,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        vec(source_label(), 0..4),
        option::of(awkward()),
        replace_target(),
        label_name(),
        option::of(regex()),
        prop_oneof![1u64..10, Just(u64::MAX), any::<u64>().prop_map(|m| m.max(1))],
        option::of(awkward()),
        select(&["$1", "${1}", "new_${1}", "a", "${name}_x"][..]).prop_map(String::from),
        any::<bool>(),
    )
        .prop_map(
            |(
                source_labels,
                separator,
                target,
                plain_target,
                regex,
                modulus,
                replacement,
                template,
                explicit_action,
            )| {
                Fields {
                    source_labels,
                    separator,
                    target,
                    plain_target,
                    regex,
                    modulus,
                    replacement,
                    template,
                    explicit_action,
                }
            },
        )
}

/// A valid relabel rule of any action, with the fields that action takes.
fn relabel_config() -> impl Strategy<Value = RelabelConfig> {
    (action(), fields()).prop_filter_map("the regex does not compile", |(action, f)| {
        use Action::*;
        let mut spec = RelabelSpec {
            action: (f.explicit_action || action != Replace).then_some(action),
            ..RelabelSpec::default()
        };
        let takes_sources = !matches!(action, LabelMap | LabelDrop | LabelKeep);
        if takes_sources {
            spec.source_labels = f.source_labels;
        }
        if matches!(action, Replace | Keep | Drop | HashMod | Lowercase | Uppercase) {
            spec.separator = f.separator;
        }
        if !matches!(action, KeepEqual | DropEqual) {
            spec.regex = f.regex;
        }
        match action {
            Replace => {
                spec.target_label = Some(f.target);
                spec.replacement = f.replacement;
            }
            HashMod => {
                spec.target_label = Some(f.plain_target);
                spec.modulus = Some(f.modulus);
            }
            KeepEqual | DropEqual | Lowercase | Uppercase => spec.target_label = Some(f.plain_target),
            LabelMap => spec.replacement = Some(f.template),
            Keep | Drop | LabelDrop | LabelKeep => {}
        }
        RelabelConfig::new(spec).ok()
    })
}

fn address() -> impl Strategy<Value = String> {
    select(
        &[
            "localhost:9100",
            "10.0.0.1:80",
            "[::1]:9090",
            "example.com",
            "db-1.internal:9100",
            "xn--bcher-kva.example:443",
        ][..],
    )
    .prop_map(String::from)
}

fn duration_ms() -> impl Strategy<Value = u64> {
    prop_oneof![
        select(
            &[
                1u64,
                1_000,
                15_000,
                60_000,
                86_400_000,
                7 * 86_400_000,
                365 * 86_400_000
            ][..]
        ),
        1u64..100_000_000_000,
    ]
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        (printable(), printable()).prop_map(|(username, password)| Auth::Basic {
            username: username.replace(':', ""),
            password: Secret::new(password),
        }),
        printable().prop_map(|token| Auth::Bearer(Secret::new(if token.is_empty() { "t".into() } else { token }))),
    ]
}

fn tls() -> impl Strategy<Value = TlsConfig> {
    (option::of(awkward()), any::<bool>()).prop_map(|(ca, insecure_skip_verify)| TlsConfig {
        ca_pem: ca.map(|body| format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")),
        insecure_skip_verify,
    })
}

fn limit() -> impl Strategy<Value = Option<u64>> {
    option::of(prop_oneof![Just(0u64), 1u64..100_000, any::<u64>()])
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        option::of(prop_oneof![
            (1u64..1 << 20).prop_map(|n| n << 20),
            1u64..100_000,
            any::<u64>(),
            Just(u64::MAX),
        ]),
        limit(),
        limit(),
        limit(),
        limit(),
    )
        .prop_map(
            |(body_size_limit, sample_limit, label_limit, label_name_length_limit, label_value_length_limit)| Limits {
                body_size_limit,
                sample_limit,
                label_limit,
                label_name_length_limit,
                label_value_length_limit,
            },
        )
}

#[derive(Debug, Clone)]
struct Settings {
    job: String,
    address: String,
    rewrite_address: bool,
    scheme: Scheme,
    metrics_path: String,
    params: BTreeMap<String, Vec<String>>,
    interval_ms: u64,
    timeout_per_mille: Option<u64>,
    labels: BTreeMap<String, String>,
    honor_labels: bool,
    honor_timestamps: bool,
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        (
            printable(),
            prop_oneof![address(), awkward()],
            any::<bool>(),
            select(vec![Scheme::Http, Scheme::Https]),
            prop_oneof![Just("/metrics".to_string()), awkward().prop_map(|p| format!("/{p}"))],
            btree_map(awkward(), vec(awkward(), 0..3), 0..3),
        ),
        (
            duration_ms(),
            option::of(1u64..=1000),
            btree_map(label_name(), awkward(), 0..4),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (job, address, rewrite_address, scheme, metrics_path, params),
                (interval_ms, timeout_per_mille, labels, honor_labels, honor_timestamps),
            )| Settings {
                job,
                address,
                rewrite_address,
                scheme,
                metrics_path,
                params,
                interval_ms,
                timeout_per_mille,
                labels,
                honor_labels,
                honor_timestamps,
            },
        )
}

/// A target that builds, with everything set to something awkward.
fn target() -> impl Strategy<Value = ScrapeTarget> {
    (
        settings(),
        auth(),
        tls(),
        limits(),
        vec(relabel_config(), 0..4),
        vec(relabel_config(), 0..4),
    )
        .prop_filter_map(
            "the target does not build (dropped or not a URL)",
            |(s, auth, tls, limits, mut relabel, metric_relabel)| {
                if s.rewrite_address {
                    // The blackbox pattern: the address as written is anything, the rules
                    // replace it with the exporter's.
                    relabel.push(
                        RelabelConfig::new(RelabelSpec {
                            target_label: Some("__address__".into()),
                            replacement: Some("127.0.0.1:9115".into()),
                            ..RelabelSpec::default()
                        })
                        .unwrap(),
                    );
                }
                let interval = PromDuration::from_millis(s.interval_ms)?;
                let mut builder = ScrapeTarget::builder_for_address(s.job, s.address)
                    .scheme(s.scheme)
                    .metrics_path(s.metrics_path)
                    .params(s.params)
                    .interval(interval)
                    .labels(
                        s.labels
                            .into_iter()
                            .filter(|(n, v)| reserved_label_reason(n).is_none() && !v.is_empty()),
                    )
                    .honor_labels(s.honor_labels)
                    .honor_timestamps(s.honor_timestamps)
                    .auth(auth)
                    .tls(tls)
                    .limits(limits)
                    .relabel_configs(relabel)
                    .metric_relabel_configs(metric_relabel);
                if let Some(per_mille) = s.timeout_per_mille {
                    builder = builder.timeout(PromDuration::from_millis((s.interval_ms * per_mille / 1000).max(1))?);
                }
                builder.build().ok()
            },
        )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn quoted_strings_read_back_unchanged(s in awkward()) {
        let quoted = quote(&s);
        prop_assert!(!quoted.contains('\n'));
        let doc = yaml::load(&format!("{quoted}: {quoted}\n")).unwrap().unwrap();
        let Kind::Map(entries) = doc.kind else { panic!("not a map: {doc:?}") };
        prop_assert_eq!(&entries[0].0.kind, &Kind::Scalar(s.clone(), false));
        prop_assert_eq!(&entries[0].1.kind, &Kind::Scalar(s.clone(), false));
        // JSON reads it too.
        prop_assert_eq!(json_unquote(&quoted), s);
    }

    #[test]
    fn targets_round_trip_through_prometheus_yml(target in target()) {
        let yml = target.to_prometheus_yml();
        let import = match import_prometheus_yml(&yml) {
            Ok(import) => import,
            Err(e) => panic!("{e}\n{yml}"),
        };
        prop_assert!(import.unsupported.is_empty(), "{:?}\n{}", import.unsupported, yml);
        prop_assert_eq!(import.jobs.len(), 1);
        let job = &import.jobs[0];
        prop_assert!(job.dropped_targets.is_empty());
        prop_assert_eq!(job.targets.len(), 1);
        let back = &job.targets[0];
        prop_assert_eq!(back, &target, "{}", yml);
        // Equality covers the secrets; say so explicitly for the next reader.
        prop_assert_eq!(back.auth(), target.auth());
        prop_assert_eq!(back.url(), target.url());
        prop_assert_eq!(back.target_labels(), target.target_labels());
        // Writing the imported target again gives the same document.
        prop_assert_eq!(back.to_prometheus_yml(), yml);
    }

    #[test]
    fn relabel_rules_round_trip_through_the_textarea(configs in vec(relabel_config(), 0..6)) {
        let text = relabel_configs_yaml(&configs);
        let back = match parse_relabel_configs(&text) {
            Ok(back) => back,
            Err(e) => panic!("{e}\n{text}"),
        };
        prop_assert_eq!(&back, &configs, "{}", text);
        for config in &configs {
            prop_assert_eq!(&RelabelConfig::new(config.spec()).unwrap(), config);
        }
    }

    #[test]
    fn relabel_textarea_never_panics(text in prop_oneof![
        any::<String>(),
        vec(prop_oneof![
            select(&["- ", "  ", "\n", ": ", "[", "]", "action", "regex", "source_labels", "drop", "#", "\"", "'", "&a", "*a", "<<"][..])
                .prop_map(String::from),
            awkward(),
        ], 0..20).prop_map(|p| p.concat()),
    ]) {
        if let Err(e) = parse_relabel_configs(&text) {
            prop_assert!(e.line() >= 1 && e.column() >= 1);
            prop_assert!(!e.hint().is_empty());
        }
    }
}

/// A minimal JSON string reader, enough to check that [`quote`]'s output is JSON.
fn json_unquote(quoted: &str) -> String {
    let inner = &quoted[1..quoted.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        assert!(c != '"' && u32::from(c) >= 0x20, "not JSON: {quoted:?}");
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().unwrap() {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            other => panic!("not a JSON escape: \\{other}"),
        }
    }
    out
}
