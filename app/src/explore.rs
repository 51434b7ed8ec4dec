//! The Explore page: a PromQL box (a GET form, so the address holds the query and can be
//! shared), its result as a chart with a table of series or as a table of values, errors at
//! their position, and help for people who are new to PromQL.

use crate::dto::*;
use crate::i18n::Locale;
use crate::pages::ScrollTable;
use crate::targets::utc_text;
use crate::text::textarea_text;
use leptos::prelude::*;
use leptos_i18n::{td, td_string};

/// SI prefixes for thousands, millions, …
const PREFIXES: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];

/// A number for people, without a unit: `1.23k`, `4.5M`, `0.25`, `1.2e-7`. At most
/// `significant` digits (1 to 17), no trailing zeros, the locale's decimal separator.
pub fn short_number(v: f64, significant: usize, locale: Locale) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let significant = significant.clamp(1, 17);
    let abs = v.abs();
    let text = if v == 0.0 {
        "0".to_string()
    } else if !(1e-4..1e21).contains(&abs) {
        let formatted = format!("{:.*e}", significant - 1, v);
        match formatted.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa)),
            None => formatted,
        }
    } else {
        let mut prefix = (abs.log10().floor().max(0.0) as usize / 3).min(PREFIXES.len() - 1);
        loop {
            let scaled = v / 1000f64.powi(prefix as i32);
            let magnitude = scaled.abs().log10().floor() as i32;
            let decimals = (significant as i32 - 1 - magnitude).clamp(0, 17) as usize;
            let formatted = format!("{scaled:.decimals$}");
            // Rounding may reach the next thousand (999.96 → 1000): use the next prefix.
            if formatted.trim_start_matches('-').starts_with("1000") && prefix + 1 < PREFIXES.len() {
                prefix += 1;
                continue;
            }
            break format!("{}{}", trim_zeros(&formatted), PREFIXES[prefix]);
        }
    };
    match locale {
        Locale::de | Locale::fr => text.replace('.', ","),
        Locale::en => text,
    }
}

fn trim_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// A value in a table: short, with the exact value on hover.
fn value_cell(v: Option<f64>, locale: Locale) -> impl IntoView {
    v.map(|v| view! { <span title=v.to_string()>{short_number(v, 4, locale)}</span> })
}

#[component]
pub fn Explore(locale: Locale, page: ExplorePage) -> impl IntoView {
    let client_path = format!("/clients/{}", page.client_slug);
    let outcome = page.outcome.clone().map(|outcome| match outcome {
        ExploreOutcome::Parse {
            message,
            start,
            end,
            line,
            column,
        } => view! { <ParseProblem locale=locale query=page.form.query.clone() message=message start=start end=end line=line column=column /> }.into_any(),
        ExploreOutcome::Failed { failure, detail } => view! { <EvalProblem locale=locale failure=failure detail=detail /> }.into_any(),
        ExploreOutcome::Graph(graph) => view! { <Graph locale=locale graph=*graph /> }.into_any(),
        ExploreOutcome::Table(table) => view! { <Table locale=locale table=table /> }.into_any(),
    });
    view! {
        <p class="breadcrumb">
            <a href=client_path>{td!(locale, targets_back, client = page.client_name.clone())}</a>
        </p>
        <h1>{td!(locale, explore_heading, client = page.client_name.clone())}</h1>
        <p class="intro">{td_string!(locale, explore_intro)}</p>
        <QueryForm locale=locale page=page.clone() />
        {outcome}
        <Help locale=locale examples=page.examples.clone() />
    }
}

#[component]
fn QueryForm(locale: Locale, page: ExplorePage) -> impl IntoView {
    let form = page.form.clone();
    let problem = |field: &str| {
        page.problem(field).map(|problem| {
            let text = match problem {
                ExploreProblem::Range => td_string!(locale, explore_problem_range).into_any(),
                ExploreProblem::End => td_string!(locale, explore_problem_end).into_any(),
                ExploreProblem::Step => td_string!(locale, explore_problem_step).into_any(),
                ExploreProblem::TooManyPoints { min_step } => {
                    td!(locale, explore_problem_points, step = min_step.clone()).into_any()
                }
            };
            view! { <p class="field-problem" id=format!("explore-{field}-message")>{text}</p> }
        })
    };
    let invalid = |field: &str| page.problem(field).is_some();
    let described = |field: &str| invalid(field).then(|| format!("explore-{field}-message"));
    let radio = |mode: ExploreMode, value: &'static str, label: &'static str| {
        let id = format!("explore-mode-{value}");
        view! {
            <div class="check">
                <input type="radio" id=id.clone() name="mode" value=value checked=form.mode == mode />
                <label for=id>{label}</label>
            </div>
        }
    };
    let ranges = EXPLORE_RANGES
        .iter()
        .map(|range| {
            view! {
                <option value=*range selected=form.range == *range>
                    {td!(locale, explore_range_option, range = *range)}
                </option>
            }
        })
        .collect_view();
    view! {
        <form method="get" action=explore_path(&page.client_slug) class="card explore-form">
            <div class="field">
                <label for="explore-q">{td_string!(locale, explore_query)}</label>
                <textarea id="explore-q" name="q" rows="3" spellcheck="false" autocomplete="off" placeholder="up">
                    {textarea_text(&form.query)}
                </textarea>
            </div>
            <div class="row explore-options">
                <fieldset class="field">
                    <legend>{td_string!(locale, explore_mode)}</legend>
                    {radio(ExploreMode::Range, "range", td_string!(locale, explore_mode_range))}
                    {radio(ExploreMode::Instant, "instant", td_string!(locale, explore_mode_instant))}
                </fieldset>
                <div class="field" class:invalid=invalid("range")>
                    <label for="explore-range">{td_string!(locale, explore_range)}</label>
                    <select id="explore-range" name="range" aria-describedby=described("range")>{ranges}</select>
                    {problem("range")}
                </div>
                <div class="field" class:invalid=invalid("end")>
                    <label for="explore-end">{td_string!(locale, explore_end)}</label>
                    <small class="hint">{td_string!(locale, explore_end_hint)}</small>
                    <input type="text" id="explore-end" name="end" value=form.end.clone() placeholder="2025-01-31 14:00" autocomplete="off" spellcheck="false" aria-invalid=invalid("end").then_some("true") aria-describedby=described("end") />
                    {problem("end")}
                </div>
                <div class="field" class:invalid=invalid("step")>
                    <label for="explore-step">{td_string!(locale, explore_step)}</label>
                    <small class="hint">{td!(locale, explore_step_hint, step = page.auto_step.clone())}</small>
                    <input type="text" id="explore-step" name="step" value=form.step.clone() placeholder=page.auto_step.clone() autocomplete="off" spellcheck="false" aria-invalid=invalid("step").then_some("true") aria-describedby=described("step") />
                    {problem("step")}
                </div>
            </div>
            <button type="submit">{td_string!(locale, explore_submit)}</button>
        </form>
    }
}

/// The query with the part the parser refused marked, Prometheus' message and the position.
#[component]
fn ParseProblem(
    locale: Locale,
    query: String,
    message: String,
    /// Byte offsets of the refused part.
    start: usize,
    end: usize,
    line: usize,
    column: usize,
) -> impl IntoView {
    let (before, marked, after) = split_at_error(&query, start, end);
    // Empty parts are left out: an empty text would render as a space.
    view! {
        <section class="alert error explore-problem" role="alert">
            <p><strong>{td_string!(locale, explore_parse_error)}</strong> " " {td!(locale, explore_position, line = line, column = column)}</p>
            <pre class="query-error"><code>{(!before.is_empty()).then_some(before)}<mark>{marked}</mark>{(!after.is_empty()).then_some(after)}</code></pre>
            <p class="error-text">{message}</p>
        </section>
    }
}

/// The query around `start..end`: the text before, the refused part (at least one character,
/// a space at the end of the query) and the text after. Offsets that fall outside the query or
/// inside a character are moved to the nearest character boundary.
pub(crate) fn split_at_error(query: &str, start: usize, end: usize) -> (String, String, String) {
    let boundary = |mut at: usize| {
        at = at.min(query.len());
        while !query.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let start = boundary(start);
    let mut end = boundary(end.max(start));
    if end == start {
        end = query[start..].chars().next().map_or(start, |c| start + c.len_utf8());
    }
    let marked = if end == start {
        " ".to_string()
    } else {
        query[start..end].to_string()
    };
    (query[..start].to_string(), marked, query[end..].to_string())
}

#[component]
fn EvalProblem(locale: Locale, failure: QueryFailure, detail: String) -> impl IntoView {
    let text = match failure {
        QueryFailure::Timeout { seconds } => td!(locale, explore_failed_timeout, seconds = seconds).into_any(),
        QueryFailure::TooManySamples => td_string!(locale, explore_failed_samples).into_any(),
        QueryFailure::TooManySeries => td_string!(locale, explore_failed_series).into_any(),
        QueryFailure::Busy => td_string!(locale, explore_failed_busy).into_any(),
        QueryFailure::Unsupported => td_string!(locale, explore_failed_unsupported).into_any(),
        QueryFailure::Execution => td_string!(locale, explore_failed_execution).into_any(),
        QueryFailure::Internal => td_string!(locale, explore_failed_internal).into_any(),
    };
    view! {
        <section class="alert error explore-problem" role="alert">
            <p>{text}</p>
            {(!detail.is_empty()).then(|| view! {
                <details>
                    <summary>{td_string!(locale, explore_failed_detail)}</summary>
                    <code>{detail.clone()}</code>
                </details>
            })}
        </section>
    }
}

/// A series' name and labels: `name` then `label="value"` chips.
#[component]
fn SeriesName(labels: SeriesLabels) -> impl IntoView {
    let empty = labels.name.is_none() && labels.labels.is_empty();
    view! {
        <span class="series">
            {labels.name.map(|name| view! { <strong class="metric">{name}</strong> })}
            {labels
                .labels
                .into_iter()
                .map(|(name, value)| view! { <span class="chip">{name} "=\"" {value} "\""</span> })
                .collect_view()}
            {empty.then(|| view! { <code>"{}"</code> })}
        </span>
    }
}

/// Time, number of series and duration of a result.
fn summary(locale: Locale, series: usize, took_ms: f64) -> impl IntoView {
    let took = format!("{took_ms:.0}");
    view! { " · " {td!(locale, explore_series_count, count = series)} " · " {td!(locale, explore_took, ms = took)} }
}

#[component]
fn Graph(locale: Locale, graph: ExploreGraph) -> impl IntoView {
    let heading = view! {
        <p class="result-summary" role="status">
            {td!(locale, explore_graph_span, start = utc_text(graph.start_ms), end = utc_text(graph.end_ms), step = graph.step.clone())}
            {summary(locale, graph.total, graph.took_ms)}
        </p>
    };
    if graph.total == 0 {
        return view! {
            <section class="card explore-result">
                {heading}
                <p class="empty">{td_string!(locale, explore_no_data)}</p>
            </section>
        }
        .into_any();
    }
    let rows = graph
        .rows
        .iter()
        .map(|row| {
            let swatch = row.colour.clone().map(|colour| {
                // A fill attribute, not a style: the Content-Security-Policy allows no inline styles.
                view! {
                    <svg class="swatch" viewBox="0 0 1 1" aria-hidden="true">
                        <rect width="1" height="1" fill=colour></rect>
                    </svg>
                }
            });
            view! {
                <tr>
                    <th scope="row">{swatch} <SeriesName labels=row.labels.clone() /></th>
                    <td class="num">{value_cell(row.last, locale)}</td>
                    <td class="num">{value_cell(row.min, locale)}</td>
                    <td class="num">{value_cell(row.max, locale)}</td>
                </tr>
            }
        })
        .collect_view();
    let columns = vec![
        (td_string!(locale, explore_col_series), ""),
        (td_string!(locale, explore_col_last), "num"),
        (td_string!(locale, explore_col_min), "num"),
        (td_string!(locale, explore_col_max), "num"),
    ];
    view! {
        <section class="card explore-result">
            {heading}
            <figure class="chart-figure">
                <div class="chart-box" inner_html=graph.chart_svg.clone()></div>
                <figcaption>{td_string!(locale, explore_chart_caption)}</figcaption>
            </figure>
            {(graph.drawn < graph.total).then(|| view! {
                <p class="hint">{td!(locale, explore_chart_limited, drawn = graph.drawn, total = graph.total)}</p>
            })}
            {(graph.rows.len() < graph.total).then(|| view! {
                <p class="hint">{td!(locale, explore_rows_limited, shown = graph.rows.len(), total = graph.total)}</p>
            })}
            <ScrollTable id="explore-series" class="targets explore-series" caption=td_string!(locale, explore_series_caption) columns=columns>
                {rows}
            </ScrollTable>
        </section>
    }
    .into_any()
}

#[component]
fn Table(locale: Locale, table: ExploreTable) -> impl IntoView {
    let (count, body) = match table.result {
        InstantResult::Scalar(v) => (
            1,
            view! { <p class="scalar">{td_string!(locale, explore_scalar)} " " <strong>{value_cell(Some(v), locale)}</strong></p> }
                .into_any(),
        ),
        InstantResult::String(text) => (
            1,
            view! { <p class="scalar">{td_string!(locale, explore_string)} " " <code>{text}</code></p> }.into_any(),
        ),
        InstantResult::Vector { total: 0, .. } | InstantResult::Matrix { total: 0, .. } => {
            (0, view! { <p class="empty">{td_string!(locale, explore_no_data_instant)}</p> }.into_any())
        }
        InstantResult::Vector { rows, total } => {
            let rows = rows
                .into_iter()
                .map(|(labels, value)| (labels, value_cell(Some(value), locale).into_any()))
                .collect();
            (total, values_table(locale, rows, total))
        }
        InstantResult::Matrix { rows, total } => {
            let rows = rows
                .into_iter()
                .map(|(labels, points)| {
                    let points = points
                        .into_iter()
                        .map(|(t, v)| view! { <li>{value_cell(Some(v), locale)} " @ " {utc_text(t)}</li> })
                        .collect_view();
                    (labels, view! { <ul class="points">{points}</ul> }.into_any())
                })
                .collect();
            (total, values_table(locale, rows, total))
        }
    };
    view! {
        <section class="card explore-result">
            <p class="result-summary" role="status">
                {td!(locale, explore_table_time, time = utc_text(table.time_ms))}
                {summary(locale, count, table.took_ms)}
            </p>
            {body}
        </section>
    }
}

/// The series of an instant result with their values, the first `rows.len()` of `total`.
fn values_table(locale: Locale, rows: Vec<(SeriesLabels, AnyView)>, total: usize) -> AnyView {
    let shown = rows.len();
    let rows = rows
        .into_iter()
        .map(|(labels, value)| {
            view! {
                <tr>
                    <th scope="row"><SeriesName labels=labels /></th>
                    <td class="num">{value}</td>
                </tr>
            }
        })
        .collect_view();
    let columns = vec![
        (td_string!(locale, explore_col_series), ""),
        (td_string!(locale, explore_col_value), "num"),
    ];
    view! {
        {(shown < total).then(|| view! {
            <p class="hint">{td!(locale, explore_rows_limited, shown = shown, total = total)}</p>
        })}
        <ScrollTable id="explore-series" class="targets explore-series" caption=td_string!(locale, explore_values_caption) columns=columns>
            {rows}
        </ScrollTable>
    }
    .into_any()
}

/// What PromQL is, and queries to try built from the client's own metrics.
#[component]
fn Help(locale: Locale, examples: Vec<ExploreExample>) -> impl IntoView {
    let items = examples
        .into_iter()
        .map(|example| {
            let explanation = match example.kind {
                ExampleKind::Up => td_string!(locale, explore_example_up).into_any(),
                ExampleKind::Rate => td!(locale, explore_example_rate, metric = example.metric.clone()).into_any(),
                ExampleKind::Quantile => {
                    td!(locale, explore_example_quantile, metric = example.metric.clone()).into_any()
                }
                ExampleKind::Gauge => td!(locale, explore_example_gauge, metric = example.metric.clone()).into_any(),
            };
            view! {
                <li>
                    <a href=example.href><code>{example.query}</code></a>
                    <br />
                    <span class="hint">{explanation}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card explore-help">
            <h2>{td_string!(locale, explore_help_title)}</h2>
            <p>{td_string!(locale, explore_help_promql)}</p>
            <h3>{td_string!(locale, explore_examples_title)}</h3>
            <ul class="examples">{items}</ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_unit_neutral() {
        let en = |v: f64| short_number(v, 3, Locale::en);
        assert_eq!(en(0.0), "0");
        assert_eq!(en(-0.0), "0");
        assert_eq!(en(1234.0), "1.23k");
        assert_eq!(en(1200.0), "1.2k");
        assert_eq!(en(999.96), "1k");
        assert_eq!(en(999_960.0), "1M");
        assert_eq!(en(-1500.0), "-1.5k");
        assert_eq!(en(2_500_000.0), "2.5M");
        assert_eq!(en(3.4e18), "3.4E");
        assert_eq!(en(7.25e20), "725E");
        assert_eq!(en(1e21), "1e21");
        assert_eq!(en(f64::MAX), "1.8e308");
        assert_eq!(en(100.0), "100");
        assert_eq!(en(12.5), "12.5");
        assert_eq!(en(0.25), "0.25");
        assert_eq!(en(0.0001), "0.0001");
        assert_eq!(en(1.2e-7), "1.2e-7");
        assert_eq!(en(1.2e-300), "1.2e-300");
        assert_eq!(en(f64::NAN), "NaN");
        assert_eq!(en(f64::INFINITY), "+Inf");
        assert_eq!(en(f64::NEG_INFINITY), "-Inf");
        assert_eq!(short_number(1.0000002, 8, Locale::en), "1.0000002");
        assert_eq!(short_number(1250.0, 4, Locale::de), "1,25k");
        assert_eq!(short_number(0.25, 2, Locale::fr), "0,25");
        assert_eq!(short_number(0.5, 0, Locale::en), "0.5");
    }

    #[test]
    fn the_refused_part_of_a_query_is_cut_out_on_character_boundaries() {
        let cut = |q: &str, s, e| split_at_error(q, s, e);
        let parts = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(cut("sum(up", 6, 6), parts("sum(up", " ", ""));
        assert_eq!(cut("up + + 1", 5, 6), parts("up + ", "+", " 1"));
        assert_eq!(cut("up{a=\"ü\"} x", 4, 4), parts("up{a", "=", "\"ü\"} x"));
        // An offset inside `ü` (two bytes) moves back to its start.
        assert_eq!(cut("ü!", 1, 1), parts("", "ü", "!"));
        assert_eq!(cut("up", 99, 120), parts("up", " ", ""));
    }
}
