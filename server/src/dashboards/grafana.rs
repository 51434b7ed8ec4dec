//! Grafana dashboards into Vitrine's model: the bare dashboard model or the API's
//! `{"dashboard": …}` wrapper, today's panels (rows holding collapsed panels included) and the
//! old schema's `rows` with `span`s. Time series, graphs and heatmaps become line panels; stat,
//! singlestat, gauge and bar gauge panels a large number with its line; the alert list the
//! thresholds panel. Each query keeps its `expr` and `legendFormat`; the unit comes from
//! `fieldConfig.defaults.unit` (old panels: the left y axis' or the singlestat's `format`), the
//! width from `gridPos.w` (old panels: `span` of 12). Vitrine dashboards have no variables yet:
//! each is fixed to its current value (or, for "All", to `.*`), and Grafana's `$__interval`
//! family to fixed windows. Whatever is not imported is listed, panel by panel: never dropped
//! silently.

use super::{MAX_PANELS, MAX_QUERIES, Model, Panel, PanelKind, PanelQuery, SCHEMA, Texts};
use app::dto::{DashboardImported, DashboardNote, DrawnAs};
use serde_json::Value;

/// Panel settings that change what Grafana draws and that the import leaves out.
const SETTINGS: [&str; 7] = [
    "overrides",
    "mappings",
    "transformations",
    "links",
    "repeat",
    "seriesOverrides",
    "alert",
];

/// The text of a string field, or "".
fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Whether the setting is there and not empty.
fn present(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// A dashboard variable: its name and what it is fixed to.
struct Variable {
    name: String,
    value: String,
}

/// The value of a variable as imported: its current value (several joined as a regex
/// alternation), `.*` for "All", a constant's or custom list's first value otherwise.
fn variable_value(var: &Value) -> String {
    let current = var.get("current").and_then(|c| c.get("value"));
    let all = var
        .get("allValue")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .unwrap_or(".*");
    let is_all = |v: &str| v == "$__all" || v == "All";
    match current {
        Some(Value::String(s)) if is_all(s) => all.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(values)) => {
            let values: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            if values.iter().any(|v| is_all(v)) || values.is_empty() {
                all.to_string()
            } else {
                values.join("|")
            }
        }
        _ => match text(var, "type") {
            "constant" | "textbox" => text(var, "query").to_string(),
            "custom" | "interval" => text(var, "query").split(',').next().unwrap_or("").trim().to_string(),
            _ => all.to_string(),
        },
    }
}

/// Grafana's built-in variables, fixed: the step and rate windows a 24-hour range gets.
const BUILT_IN: [(&str, &str); 6] = [
    ("__rate_interval", "5m"),
    ("__interval_ms", "60000"),
    ("__interval", "1m"),
    ("__range_s", "86400"),
    ("__range_ms", "86400000"),
    ("__range", "1d"),
];

/// `expr` with every variable replaced (`$name`, `${name}`, `${name:format}`, `[[name]]`),
/// longest names first so `$__interval_ms` is not read as `$__interval`.
fn substitute(expr: &str, variables: &[Variable]) -> String {
    let mut all: Vec<(&str, &str)> = variables.iter().map(|v| (v.name.as_str(), v.value.as_str())).collect();
    all.extend(BUILT_IN);
    all.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    let mut out = expr.to_string();
    for (name, value) in all {
        if name.is_empty() {
            continue;
        }
        out = out.replace(&format!("[[{name}]]"), value);
        // `${name}` and `${name:format}` (searched after what was put in, which may hold them).
        let mut from = 0;
        while let Some(found) = out[from..].find(&format!("${{{name}")) {
            let start = from + found;
            let rest = &out[start + name.len() + 2..];
            let end = match rest.chars().next() {
                Some('}') => start + name.len() + 3,
                Some(':') => match rest.find('}') {
                    Some(close) => start + name.len() + 2 + close + 1,
                    None => break,
                },
                _ => {
                    from = start + name.len() + 2;
                    continue;
                }
            };
            out.replace_range(start..end, value);
            from = start + value.len();
        }
        let mut from = 0;
        while let Some(found) = out[from..].find(&format!("${name}")) {
            let start = from + found;
            let end = start + name.len() + 1;
            let next = out[end..].chars().next();
            if next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                from = end;
                continue;
            }
            out.replace_range(start..end, value);
            from = start + value.len();
        }
    }
    // A variable fixed to a regex makes `label="…"` a regex match, as Grafana's multi-value
    // and "All" variables are written with `=~`.
    let mut matched = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(at) = rest.find("=\".*\"") {
        matched.push_str(&rest[..at]);
        matched.push_str(if rest[..at].ends_with('!') {
            "=\".*\""
        } else {
            "=~\".*\""
        });
        rest = &rest[at + 5..];
    }
    matched.push_str(rest);
    matched
}

/// The panels of the dashboard in reading order: today's (rows' collapsed panels after their
/// row), or the old schema's rows. Each with the title of the row it came from.
fn panels_of(root: &Value) -> Result<Vec<(Value, Option<String>)>, String> {
    let mut out = Vec::new();
    if let Some(panels) = root.get("panels").and_then(Value::as_array) {
        for panel in panels {
            if text(panel, "type") == "row" {
                let row = text(panel, "title").to_string();
                for inner in panel.get("panels").and_then(Value::as_array).into_iter().flatten() {
                    out.push((inner.clone(), Some(row.clone())));
                }
                out.push((panel.clone(), None));
            } else {
                out.push((panel.clone(), None));
            }
        }
        return Ok(out);
    }
    if let Some(rows) = root.get("rows").and_then(Value::as_array) {
        for row in rows {
            let title = text(row, "title").to_string();
            for panel in row.get("panels").and_then(Value::as_array).into_iter().flatten() {
                out.push((panel.clone(), Some(title.clone())));
            }
        }
        return Ok(out);
    }
    Err("not a Grafana dashboard: it has neither panels nor rows".into())
}

/// The unit a panel shows its values in (a Grafana unit id).
fn unit_of(panel: &Value) -> String {
    let from_field = panel
        .pointer("/fieldConfig/defaults/unit")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty());
    let from_axis = panel.pointer("/yaxes/0/format").and_then(Value::as_str);
    let from_stat = panel.get("format").and_then(Value::as_str);
    match from_field.or(from_axis).or(from_stat) {
        Some("none") | None => "short".into(),
        Some(unit) if unit.len() <= 32 => unit.into(),
        Some(_) => "short".into(),
    }
}

/// Columns of 24: `gridPos.w`, or an old panel's `span` of 12; at least 6 for a number and 8
/// for a chart, as Vitrine's panels carry their title, chart and explanation beneath one
/// another (Grafana's small stats sit in short rows beside each other).
fn width_of(panel: &Value, kind: PanelKind) -> u8 {
    let columns = panel
        .pointer("/gridPos/w")
        .and_then(Value::as_u64)
        .or_else(|| {
            panel
                .get("span")
                .and_then(Value::as_f64)
                .map(|s| (s * 2.0).round() as u64)
        })
        .unwrap_or(12);
    let least = if kind == PanelKind::Stat { 6 } else { 8 };
    columns.clamp(least, 24) as u8
}

/// Reads a Grafana dashboard (its JSON text) as a Vitrine model and what was left out.
pub fn import(json: &str) -> Result<(Model, DashboardImported), String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let root = match value.get("dashboard") {
        Some(inner) if inner.is_object() => inner,
        _ => &value,
    };
    let mut notes = Vec::new();
    let variables: Vec<Variable> = root
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| !matches!(text(v, "type"), "datasource" | "adhoc"))
        .map(|v| Variable {
            name: text(v, "name").to_string(),
            value: variable_value(v),
        })
        .filter(|v| !v.name.is_empty())
        .collect();
    for variable in &variables {
        notes.push(DashboardNote::VariableFixed {
            name: variable.name.clone(),
            value: variable.value.clone(),
        });
    }
    let mut panels = Vec::new();
    let mut rows_seen = Vec::new();
    for (panel, row) in panels_of(root)? {
        let title = match text(&panel, "title").trim() {
            "" => format!("Panel {}", panels.len() + 1),
            title => title.to_string(),
        };
        if let Some(row) = row.filter(|r| !r.is_empty() && !rows_seen.contains(r)) {
            rows_seen.push(row.clone());
            notes.push(DashboardNote::Row { row });
        }
        let kind_name = text(&panel, "type");
        let (kind, drawn_as) = match kind_name {
            "graph" | "timeseries" => (PanelKind::Timeseries, None),
            "heatmap" | "barchart" | "state-timeline" | "status-history" | "trend" => {
                (PanelKind::Timeseries, Some(DrawnAs::Lines))
            }
            "stat" | "singlestat" => (PanelKind::Stat, None),
            "gauge" | "bargauge" | "grafana-singlestat-panel" => (PanelKind::Stat, Some(DrawnAs::Number)),
            "alertlist" => (PanelKind::Alerts, None),
            "row" => continue,
            other => {
                notes.push(DashboardNote::PanelSkipped {
                    panel: title,
                    kind: other.to_string(),
                });
                continue;
            }
        };
        if let Some(as_kind) = drawn_as {
            notes.push(DashboardNote::DrawnAs {
                panel: title.clone(),
                kind: kind_name.to_string(),
                drawn_as: as_kind,
            });
        }
        let mut queries = Vec::new();
        if kind != PanelKind::Alerts {
            for target in panel.get("targets").and_then(Value::as_array).into_iter().flatten() {
                let written = text(target, "expr").trim();
                if written.is_empty() {
                    continue;
                }
                if target.get("hide").and_then(Value::as_bool) == Some(true) {
                    notes.push(DashboardNote::QueryHidden {
                        panel: title.clone(),
                        expr: written.to_string(),
                    });
                    continue;
                }
                let expr = substitute(written, &variables);
                if let Err(e) = vitrine_promql::parse(&expr) {
                    notes.push(DashboardNote::QueryRefused {
                        panel: title.clone(),
                        expr,
                        reason: e.to_string(),
                    });
                    continue;
                }
                if queries.len() == MAX_QUERIES {
                    notes.push(DashboardNote::TooManyQueries {
                        panel: title.clone(),
                        max: MAX_QUERIES,
                    });
                    break;
                }
                queries.push(PanelQuery {
                    expr,
                    legend: substitute(text(target, "legendFormat"), &variables),
                });
            }
            if queries.is_empty() {
                notes.push(DashboardNote::NoQuery { panel: title });
                continue;
            }
        }
        let defaults = panel.pointer("/fieldConfig/defaults");
        let mut left_out: Vec<String> = SETTINGS
            .iter()
            .filter(|key| {
                present(panel.get(**key))
                    || present(panel.pointer(&format!("/fieldConfig/{key}")))
                    || present(defaults.and_then(|d| d.get(**key)))
            })
            .map(|key| key.to_string())
            .collect();
        // Grafana puts its default steps (green, red from 80) on every new panel: not the
        // panel's own thresholds.
        let steps = defaults
            .and_then(|d| d.pointer("/thresholds/steps"))
            .and_then(Value::as_array)
            .filter(|steps| {
                let default = steps.len() == 2
                    && steps[0].get("value").is_none_or(Value::is_null)
                    && steps[1].get("value").and_then(Value::as_f64) == Some(80.0);
                steps.len() > 1 && !default
            })
            .is_some();
        if steps || present(panel.get("thresholds")) {
            left_out.push("thresholds".into());
        }
        for setting in left_out {
            notes.push(DashboardNote::Setting {
                panel: title.clone(),
                setting,
            });
        }
        if panels.len() == MAX_PANELS {
            notes.push(DashboardNote::TooManyPanels { max: MAX_PANELS });
            break;
        }
        panels.push(Panel {
            kind,
            title: Texts {
                en: title,
                ..Texts::default()
            },
            explanation: Texts {
                en: text(&panel, "description").trim().to_string(),
                ..Texts::default()
            },
            queries,
            unit: unit_of(&panel),
            width: width_of(&panel, kind),
            thresholds: Vec::new(),
        });
    }
    let title = match text(root, "title").trim() {
        "" => "Imported dashboard".to_string(),
        title => title.to_string(),
    };
    let model = Model {
        schema: SCHEMA,
        title: Texts {
            en: title.clone(),
            ..Texts::default()
        },
        description: Texts {
            en: text(root, "description").trim().to_string(),
            ..Texts::default()
        },
        panels,
    };
    let report = DashboardImported {
        title,
        panels: model.panels.len(),
        notes,
    };
    Ok((model, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_fixed_as_grafana_would_substitute_them() {
        let vars = [
            Variable {
                name: "job".into(),
                value: "node".into(),
            },
            Variable {
                name: "node".into(),
                value: ".*".into(),
            },
        ];
        assert_eq!(
            substitute(
                r#"rate(node_cpu_seconds_total{job="$job",instance=~"$node"}[$__rate_interval])"#,
                &vars
            ),
            r#"rate(node_cpu_seconds_total{job="node",instance=~".*"}[5m])"#
        );
        assert_eq!(
            substitute(r#"up{instance="${node}", job="[[job]]"} offset $__interval_ms"#, &vars),
            r#"up{instance=~".*", job="node"} offset 60000"#
        );
        assert_eq!(substitute("${job:regex}-$jobs", &vars), "node-$jobs");
        assert_eq!(substitute(r#"up{a!="$node"}"#, &vars), r#"up{a!=".*"}"#);
        // A value that names its own variable is put in once.
        let looping = [Variable {
            name: "a".into(),
            value: "${a}$a".into(),
        }];
        assert_eq!(substitute("x${a}y", &looping), "x${a}$ay");
    }

    #[test]
    fn seed_003s_dashboards_import_with_what_is_left_out_listed() {
        let seed = r#"{"dashboard": {"id": null, "title": "API Performance", "panels": [
            {"title": "Response Time", "type": "heatmap", "datasource": "Prometheus",
             "targets": [{"expr": "rate(http_request_duration_seconds_bucket[5m])", "legendFormat": "{{method}} {{path}}"}]},
            {"title": "Error Rate", "type": "graph", "datasource": "Prometheus",
             "targets": [{"expr": "sum(rate(http_requests_total{status=~\"5.*\"}[5m])) by (status)", "legendFormat": "{{status}}"}]},
            {"title": "Notes", "type": "text", "options": {"content": "hi"}}]}}"#;
        let (model, report) = import(seed).unwrap();
        assert_eq!(model.title.en, "API Performance");
        assert_eq!(model.panels.len(), 2);
        assert_eq!(model.panels[0].kind, PanelKind::Timeseries);
        assert_eq!(model.panels[1].queries[0].legend, "{{status}}");
        assert_eq!(report.panels, 2);
        assert!(report.notes.contains(&DashboardNote::DrawnAs {
            panel: "Response Time".into(),
            kind: "heatmap".into(),
            drawn_as: DrawnAs::Lines
        }));
        assert!(report.notes.contains(&DashboardNote::PanelSkipped {
            panel: "Notes".into(),
            kind: "text".into()
        }));
        // What the import makes is a model Vitrine reads back.
        let json = serde_json::to_string(&model).unwrap();
        assert_eq!(super::super::read_model(&json).unwrap(), model);
    }

    #[test]
    fn old_rows_units_widths_and_settings_come_along_or_are_listed() {
        let old = r#"{"title": "Old", "rows": [{"title": "System", "panels": [
            {"title": "Load", "type": "singlestat", "span": 4, "format": "percentunit",
             "targets": [{"expr": "node_load1"}], "thresholds": "0.5,0.8"},
            {"title": "CPU", "type": "graph", "span": 8, "yaxes": [{"format": "s"}],
             "seriesOverrides": [{"alias": "x"}],
             "targets": [{"expr": "rate(x[5m])", "hide": true}, {"expr": "sum(rate(y[5m])"}, {"expr": "rate(z[5m])"}]}]}]}"#;
        let (model, report) = import(old).unwrap();
        assert_eq!(model.panels.len(), 2);
        assert_eq!(
            (
                model.panels[0].kind,
                model.panels[0].unit.as_str(),
                model.panels[0].width
            ),
            (PanelKind::Stat, "percentunit", 8)
        );
        assert_eq!((model.panels[1].unit.as_str(), model.panels[1].width), ("s", 16));
        assert_eq!(model.panels[1].queries.len(), 1);
        let notes = &report.notes;
        assert!(notes.contains(&DashboardNote::Row { row: "System".into() }));
        assert!(notes.contains(&DashboardNote::Setting {
            panel: "Load".into(),
            setting: "thresholds".into()
        }));
        assert!(notes.contains(&DashboardNote::Setting {
            panel: "CPU".into(),
            setting: "seriesOverrides".into()
        }));
        assert!(notes.iter().any(|n| matches!(n, DashboardNote::QueryHidden { .. })));
        assert!(notes.iter().any(|n| matches!(n, DashboardNote::QueryRefused { .. })));
        assert!(import(r#"{"title": "x"}"#).is_err());
        assert!(import("not json").is_err());
    }
}
