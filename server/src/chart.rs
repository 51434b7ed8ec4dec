//! Line charts as SVG, drawn on the server with plotters: the Explore page now, dashboards later;
//! and the same drawing as PNG for mails (rasterised with resvg), with a threshold's line and
//! the moment it was crossed.
//!
//! The SVG holds only numbers we format ourselves (times, axis values); series names and label
//! values never go into it, so nothing a scraped target reports can inject markup. Pages show
//! a legend in HTML beside the chart, using [`colour`] for the swatches.
//!
//! Axis lines, grid and text are drawn in `currentColor`, so the chart takes the colour of the
//! page around it (light or dark); the series colours read on both (see the palette test).
//! The size is a `viewBox` only: the page scales the chart to its width.

use app::Locale;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use std::ops::Range;
use time::OffsetDateTime;

/// The drawing size in SVG units; pages scale it to their width.
pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 320;

/// The most series one chart draws; more lines are unreadable anyway.
pub const MAX_SERIES: usize = 50;

/// Series colours, each with at least 3:1 contrast to both the light and the dark page
/// surface (WCAG 1.4.11 for graphics). Series `i` takes colour `i % len`.
pub const PALETTE: [&str; 10] = [
    "#3274D9", "#E0752D", "#37872D", "#E02F44", "#A352CC", "#0A8F8F", "#B8860B", "#D6338A", "#5A6FD6", "#7A8C1E",
];

/// The colour of series `index`, as `#RRGGBB`.
pub fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

/// One line of a chart: points `(ms since the epoch, value)` in time order and its colour
/// (an index into [`PALETTE`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSeries {
    pub colour: usize,
    pub points: Vec<(i64, f64)>,
}

/// Colours plotters writes out that are swapped for `currentColor` afterwards: plotters only
/// knows fixed colours, and the chart must follow the page's light or dark theme.
const TEXT_MARK: RGBColor = RGBColor(1, 2, 3);
const AXIS_MARK: RGBColor = RGBColor(4, 5, 6);
const GRID_MARK: RGBColor = RGBColor(7, 8, 9);

/// The colour of a threshold's line and of the moment it was crossed, and of its warning line.
const LINE_COLOUR: &str = "#CF222E";
const WARNING_COLOUR: &str = "#9A6700";
/// The colour of markers.
const MARKER_COLOUR: &str = "#8250DF";

/// What a chart draws besides its series: a threshold's line (and warning line), and when it
/// was crossed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Marks {
    pub line: Option<f64>,
    pub warning: Option<f64>,
    /// ms since the epoch.
    pub crossed_at: Option<i64>,
}

/// What to draw: `series` (at most [`MAX_SERIES`]) between `start_ms` and `end_ms` at
/// `step_ms`, with the `marks`. Points further apart than one and a half `step_ms` are not
/// joined: a gap in the data stays a gap. Values that are not finite (NaN, ±Inf) are skipped
/// the same way.
#[derive(Clone, Copy, Debug)]
pub struct Chart<'a> {
    pub series: &'a [ChartSeries],
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
    pub locale: Locale,
    /// A Grafana unit id for the value axis (`percentunit`, `s`, `bytes`, …); `None`: plain numbers.
    pub unit: Option<&'a str>,
    pub marks: Marks,
    /// Markers on the time axis (a deployment, a newsletter, an alarm): `(from, to)` in ms, a
    /// vertical line where they are equal, a shaded region where not.
    pub markers: &'a [(i64, i64)],
}

impl Chart<'_> {
    /// The `<svg>` element for a page; empty when it cannot be drawn.
    pub fn svg(&self) -> String {
        self.svg_width(WIDTH)
    }

    /// The `<svg>` drawn `width` units wide (at most [`WIDTH`]): a chart for a narrow place keeps
    /// its text readable once the page scales it down.
    pub fn svg_width(&self, width: u32) -> String {
        let width = width.clamp(WIDTH / 3, WIDTH);
        match self.draw(width) {
            Ok(svg) => themed(&svg, width),
            Err(e) => {
                tracing::warn!(error = %e, "drawing a chart");
                String::new()
            }
        }
    }

    /// The chart as a PNG on a white background, for mails.
    pub fn png(&self) -> Result<Vec<u8>, String> {
        let svg = on_white(&self.draw(WIDTH)?);
        let tree = resvg::usvg::Tree::from_str(&svg, &png_options()).map_err(|e| e.to_string())?;
        let mut pixmap = resvg::tiny_skia::Pixmap::new(WIDTH, HEIGHT).ok_or("no room for the picture")?;
        pixmap.fill(resvg::tiny_skia::Color::WHITE);
        resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
        pixmap.encode_png().map_err(|e| e.to_string())
    }

    /// The plotters SVG, with the marker colours still in it.
    fn draw(&self, width: u32) -> Result<String, String> {
        let mut svg = String::new();
        let series = &self.series[..self.series.len().min(MAX_SERIES)];
        draw(&mut svg, self, series, self.end_ms.max(self.start_ms + 1), width)?;
        Ok(svg)
    }
}

/// Reading options for the PNG: the system's fonts, `sans-serif` being DejaVu Sans (Debian's
/// `fonts-dejavu-core`) or else the first family there is; without any font the chart is drawn
/// without its axis labels. Loaded once.
fn png_options() -> resvg::usvg::Options<'static> {
    static FONTS: std::sync::OnceLock<std::sync::Arc<resvg::usvg::fontdb::Database>> = std::sync::OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        let mut fonts = resvg::usvg::fontdb::Database::new();
        fonts.load_system_fonts();
        let family = fonts
            .faces()
            .flat_map(|face| face.families.iter().map(|(name, _)| name.clone()))
            .min_by_key(|name| (name != "DejaVu Sans", name.clone()));
        if let Some(family) = family {
            fonts.set_sans_serif_family(family);
        }
        std::sync::Arc::new(fonts)
    });
    resvg::usvg::Options {
        fontdb: fonts.clone(),
        ..resvg::usvg::Options::default()
    }
}

/// The SVG with fixed colours for a white background instead of the marker colours.
fn on_white(svg: &str) -> String {
    let hex = |c: RGBColor| format!("\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
    svg.replace(&hex(TEXT_MARK), "\"#1B1F24\"")
        .replace(&hex(AXIS_MARK), "\"#4F5B67\"")
        .replace(&hex(GRID_MARK), "\"#E1E4E8\"")
}

/// A dashed horizontal line at `value` from `start` to `end`.
fn dashes(start: i64, end: i64, value: f64) -> Vec<PathElement<(i64, f64)>> {
    const DASHES: i64 = 60;
    let width = (end - start).max(1) / (DASHES * 2);
    (0..DASHES)
        .map(|i| {
            let from = start + i * 2 * width;
            PathElement::new(
                vec![(from, value), (from + width, value)],
                rgb(LINE_COLOUR).stroke_width(2),
            )
        })
        .collect()
}

fn draw(svg: &mut String, spec: &Chart<'_>, series: &[ChartSeries], end_ms: i64, width: u32) -> Result<(), String> {
    let (start_ms, step_ms, locale, marks) = (spec.start_ms, spec.step_ms, spec.locale, spec.marks);
    let root = SVGBackend::with_string(svg, (width, HEIGHT)).into_drawing_area();
    let mut values = ValueAxis::new(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(marks.line)
            .chain(marks.warning)
            .filter(|v| v.is_finite()),
        locale,
    );
    values.unit = spec.unit.map(str::to_string);
    let mut chart = ChartBuilder::on(&root)
        .margin_top(12)
        .margin_right(24)
        .margin_left(8)
        .x_label_area_size(34)
        .y_label_area_size(72)
        .build_cartesian_2d(TimeAxis::new(start_ms, end_ms), values)
        .map_err(|e| e.to_string())?;
    // 17 units: about 13 px once the page scales the chart to its usual width.
    let text = ("sans-serif", 17).into_font().color(&TEXT_MARK);
    chart
        .configure_mesh()
        .x_labels(usize::try_from(width / 90).unwrap_or(10))
        .y_labels(8)
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_MARK)
        .axis_style(AXIS_MARK)
        .label_style(text)
        .draw()
        .map_err(|e| e.to_string())?;
    for line in series {
        let style = rgb(colour(line.colour)).stroke_width(2);
        for run in runs(&line.points, step_ms) {
            let run = thin_run(run, start_ms, end_ms, i64::from(width));
            if let [single] = run.as_slice() {
                // A lone point has no neighbour to draw a line to: a dot shows it.
                chart
                    .draw_series([Circle::new(*single, 3, style.filled())])
                    .map_err(|e| e.to_string())?;
            } else {
                chart
                    .draw_series([PathElement::new(run, style)])
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    if let Some(warning) = marks.warning.filter(|v| v.is_finite()) {
        let style = rgb(WARNING_COLOUR).stroke_width(1);
        chart
            .draw_series([PathElement::new(vec![(start_ms, warning), (end_ms, warning)], style)])
            .map_err(|e| e.to_string())?;
    }
    if let Some(line) = marks.line.filter(|v| v.is_finite()) {
        chart
            .draw_series(dashes(start_ms, end_ms, line))
            .map_err(|e| e.to_string())?;
    }
    let (lo, hi) = (chart.y_range().start, chart.y_range().end);
    for &(from, to) in spec.markers {
        let (from, to) = (from.max(start_ms), to.min(end_ms));
        if from > to {
            continue;
        }
        if to > from {
            chart
                .draw_series([Rectangle::new(
                    [(from, lo), (to, hi)],
                    rgb(MARKER_COLOUR).mix(0.12).filled(),
                )])
                .map_err(|e| e.to_string())?;
        }
        let style = rgb(MARKER_COLOUR).mix(0.8).stroke_width(2);
        chart
            .draw_series([PathElement::new(vec![(from, lo), (from, hi)], style)])
            .map_err(|e| e.to_string())?;
    }
    if let Some(at) = marks.crossed_at.filter(|at| (start_ms..=end_ms).contains(at)) {
        let style = rgb(LINE_COLOUR).mix(0.6).stroke_width(2);
        chart
            .draw_series([PathElement::new(vec![(at, lo), (at, hi)], style)])
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// `#RRGGBB` as a plotters colour.
fn rgb(hex: &str) -> RGBColor {
    let channel = |at: usize| u8::from_str_radix(hex.get(at..at + 2).unwrap_or("00"), 16).unwrap_or(0);
    RGBColor(channel(1), channel(3), channel(5))
}

/// The stretches of consecutive points to join: a missing step or a value that is not finite
/// ends one.
fn runs(points: &[(i64, f64)], step_ms: i64) -> Vec<Vec<(i64, f64)>> {
    let max_gap = step_ms.max(1).saturating_add(step_ms.max(1) / 2);
    let mut out: Vec<Vec<(i64, f64)>> = vec![];
    let mut current: Vec<(i64, f64)> = vec![];
    for &(t, v) in points {
        let joined = current
            .last()
            .is_some_and(|&(last, _)| t.saturating_sub(last) <= max_gap);
        if (!v.is_finite() || !joined) && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if v.is_finite() {
            current.push((t, v));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// At most the first, lowest, highest and last point of each of `columns` time slices, in
/// time order: a long range at a fine step draws the same picture with a fraction of the
/// points (and bytes).
fn thin_run(run: Vec<(i64, f64)>, start: i64, end: i64, columns: i64) -> Vec<(i64, f64)> {
    if run.len() as i64 <= columns * 4 {
        return run;
    }
    let span = i128::from(end.saturating_sub(start).max(1));
    let column = |t: i64| (i128::from(t.saturating_sub(start)) * i128::from(columns) / span) as i64;
    let mut out = Vec::with_capacity(columns as usize * 4);
    for slice in run.chunk_by(|a, b| column(a.0) == column(b.0)) {
        let lowest = slice.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        let highest = slice.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        let mut picked: Vec<(i64, f64)> = [slice.first(), lowest, highest, slice.last()]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        picked.sort_by_key(|p| p.0);
        picked.dedup_by_key(|p| p.0);
        out.extend(picked);
    }
    out
}

/// The SVG as pages embed it: the theme's colour instead of the marker colours, and no fixed
/// width or height (the `viewBox` keeps the proportions).
fn themed(svg: &str, width: u32) -> String {
    let hex = |c: RGBColor| format!("\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
    let body = svg
        .replace(&hex(TEXT_MARK), "\"currentColor\"")
        .replace(&hex(AXIS_MARK), "\"currentColor\" stroke-opacity=\"0.55\"")
        .replace(&hex(GRID_MARK), "\"currentColor\" stroke-opacity=\"0.16\"");
    let rest = body.find('>').map_or("", |end| &body[end + 1..]);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {HEIGHT}\" class=\"chart\" \
         preserveAspectRatio=\"xMidYMid meet\" aria-hidden=\"true\" focusable=\"false\">{rest}"
    )
}

/// Where `v` lands between `lo` and `hi` on the pixel range `limit`. Halves are used so that
/// the span of values near ±f64::MAX does not overflow to infinity.
fn to_pixel(v: f64, lo: f64, hi: f64, limit: (i32, i32)) -> i32 {
    let span = hi * 0.5 - lo * 0.5;
    let fraction = if span > 0.0 { (v * 0.5 - lo * 0.5) / span } else { 0.5 };
    let pixel = f64::from(limit.0) + fraction * f64::from(limit.1 - limit.0);
    pixel.clamp(-1e6, 1e6).round() as i32
}

/// The time axis in milliseconds, with ticks on whole UTC minutes, hours, days or weeks.
struct TimeAxis {
    start: i64,
    end: i64,
    /// Milliseconds between ticks.
    every: i64,
}

pub const SECOND: i64 = 1000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// Time spans people read at a glance (milliseconds), smallest first: the spacings of the
/// time axis' ticks, and the steps pages choose from.
pub const ROUND_SPANS: [i64; 22] = [
    SECOND,
    2 * SECOND,
    5 * SECOND,
    10 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    WEEK,
    2 * WEEK,
    4 * WEEK,
];

/// About this many ticks fit the time axis without their labels touching.
const TIME_TICKS: i64 = 8;

impl TimeAxis {
    fn new(start: i64, end: i64) -> TimeAxis {
        let span = end.saturating_sub(start);
        let every = ROUND_SPANS
            .into_iter()
            .find(|step| span / step <= TIME_TICKS)
            // Spans of years: whole multiples of four weeks.
            .unwrap_or_else(|| (span / TIME_TICKS / (4 * WEEK) + 1) * 4 * WEEK);
        TimeAxis { start, end, every }
    }

    /// The ticks within the axis: multiples of the spacing, weeks starting on Mondays.
    fn ticks(&self) -> Vec<i64> {
        // 1970-01-01 was a Thursday; Mondays are four days later.
        let offset = if self.every >= WEEK { 4 * DAY } else { 0 };
        let first = (self.start - offset).div_euclid(self.every) * self.every + offset;
        let first = if first < self.start { first + self.every } else { first };
        (0..=TIME_TICKS * 2)
            .map(|i| first + i * self.every)
            .take_while(|t| *t <= self.end)
            .collect()
    }
}

impl Ranged for TimeAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = i64;

    fn map(&self, value: &i64, limit: (i32, i32)) -> i32 {
        to_pixel(*value as f64, self.start as f64, self.end as f64, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<i64> {
        thin(self.ticks(), hint.max_num_points())
    }

    fn range(&self) -> Range<i64> {
        self.start..self.end
    }
}

impl ValueFormatter<i64> for TimeAxis {
    fn format_ext(&self, value: &i64) -> String {
        let Ok(at) = OffsetDateTime::from_unix_timestamp(value.div_euclid(1000)) else {
            return String::new();
        };
        let (month, day) = (u8::from(at.month()), at.day());
        let (hour, minute, second) = (at.hour(), at.minute(), at.second());
        let midnight = hour == 0 && minute == 0 && second == 0;
        if self.every >= DAY || (midnight && self.every >= MINUTE) {
            // Whole days, and the day a sub-day axis turns over, show the date.
            format!("{month:02}-{day:02}")
        } else if self.every < MINUTE {
            format!("{hour:02}:{minute:02}:{second:02}")
        } else if self.end - self.start > DAY {
            format!("{month:02}-{day:02} {hour:02}:{minute:02}")
        } else {
            format!("{hour:02}:{minute:02}")
        }
    }
}

/// The value axis: from a little below the lowest to a little above the highest value, with
/// ticks on round numbers.
struct ValueAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    /// Significant digits that tell neighbouring ticks apart.
    digits: usize,
    locale: Locale,
    /// Labels in this Grafana unit instead of plain numbers.
    unit: Option<String>,
}

impl ValueAxis {
    fn new(values: impl Iterator<Item = f64>, locale: Locale) -> ValueAxis {
        let (min, max) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (min, max) = if min > max {
            // Nothing to draw: an empty axis from 0 to 1.
            (0.0, 1.0)
        } else if min == max {
            let pad = (min.abs() * 0.1).max(f64::MIN_POSITIVE);
            ((min - pad).max(-f64::MAX), (max + pad).min(f64::MAX))
        } else {
            (min, max)
        };
        let step = nice_step((max * 0.5 - min * 0.5) / 2.5);
        let (lo, hi, ticks) = match step {
            Some(step) => {
                let lo = ((min / step).floor() * step).max(-f64::MAX);
                let hi = ((max / step).ceil() * step).min(f64::MAX);
                let count = ((hi * 0.5 - lo * 0.5) / step * 2.0).round().clamp(0.0, 20.0) as usize;
                let ticks = (0..=count)
                    .map(|i| lo + i as f64 * step)
                    .filter(|t| t.is_finite() && *t <= hi)
                    .collect();
                (lo, hi, ticks)
            }
            None => (min, max, vec![min, max]),
        };
        let digits = (3..=17)
            .find(|digits| {
                let labels: Vec<String> = ticks.iter().map(|t| app::short_number(*t, *digits, locale)).collect();
                labels.windows(2).all(|pair| pair[0] != pair[1])
            })
            .unwrap_or(17);
        ValueAxis {
            lo,
            hi,
            ticks,
            digits,
            locale,
            unit: None,
        }
    }
}

/// A round step (1, 2, 2.5 or 5 times a power of ten) of at least `raw`; `None` when `raw`
/// is zero, negative or not finite.
fn nice_step(raw: f64) -> Option<f64> {
    if !(raw.is_finite() && raw > 0.0) {
        return None;
    }
    let power = 10f64.powi(raw.log10().floor() as i32);
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    (step.is_finite() && step > 0.0).then_some(step)
}

impl Ranged for ValueAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        to_pixel(*value, self.lo, self.hi, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        thin(self.ticks.clone(), hint.max_num_points())
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for ValueAxis {
    fn format_ext(&self, value: &f64) -> String {
        match &self.unit {
            Some(unit) => app::units::format_value(*value, unit, self.locale),
            None => app::short_number(*value, self.digits, self.locale),
        }
    }
}

/// Every n-th tick so that at most `max` remain.
fn thin<T>(ticks: Vec<T>, max: usize) -> Vec<T> {
    if max == 0 {
        return vec![];
    }
    let every = ticks.len().div_ceil(max).max(1);
    ticks.into_iter().step_by(every).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn series(colour: usize, points: &[(i64, f64)]) -> ChartSeries {
        ChartSeries {
            colour,
            points: points.to_vec(),
        }
    }

    fn chart(series: &[ChartSeries]) -> Chart<'_> {
        Chart {
            series,
            start_ms: T0,
            end_ms: T0 + HOUR,
            step_ms: 15 * SECOND,
            locale: Locale::en,
            unit: None,
            marks: Marks::default(),
            markers: &[],
        }
    }

    fn render(series: &[ChartSeries]) -> String {
        chart(series).svg()
    }

    /// Checks the document is one well-formed `<svg>` element (tags balanced, attributes quoted).
    fn assert_valid_svg(svg: &str) {
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 900 320\""),
            "{svg}"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        let mut open: Vec<&str> = vec![];
        let mut rest = svg;
        while let Some(at) = rest.find('<') {
            let end = rest[at..].find('>').expect("an unclosed tag") + at;
            let tag = &rest[at + 1..end];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().unwrap_or_default());
            }
            assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in <{tag}>");
            rest = &rest[end + 1..];
        }
        assert!(open.is_empty(), "unclosed: {open:?}");
        for bad in ["NaN", "inf", "#010203", "#040506", "#070809", "width=\"900\""] {
            assert!(!svg.contains(bad), "{bad} in the chart: {svg}");
        }
    }

    /// The `(fill or stroke, element)` pairs drawn in the colour of series `i`.
    fn drawn_in(svg: &str, i: usize) -> (usize, usize) {
        let colour = format!("\"{}\"", colour(i));
        let lines = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains(&colour))
            .count();
        let dots = svg
            .lines()
            .filter(|l| l.starts_with("<circle") && l.contains(&colour))
            .count();
        (lines, dots)
    }

    fn text_of(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>').map(|(_, rest)| rest))
            .filter_map(|t| t.split_once("</text>").map(|(text, _)| text.trim().to_string()))
            .collect()
    }

    #[test]
    fn one_line_per_series_with_utc_time_labels_and_short_values() {
        let a: Vec<(i64, f64)> = (0..=240)
            .map(|i| (T0 + i * 15 * SECOND, 1000.0 + i as f64 * 10.0))
            .collect();
        let b: Vec<(i64, f64)> = (0..=240).map(|i| (T0 + i * 15 * SECOND, 2_500_000.0)).collect();
        let svg = render(&[series(0, &a), series(1, &b)]);
        assert_valid_svg(&svg);
        assert_eq!(drawn_in(&svg, 0), (1, 0));
        assert_eq!(drawn_in(&svg, 1), (1, 0));
        let labels = text_of(&svg);
        // 2023-11-14 22:13:20 UTC to 23:13:20: ticks every 10 minutes on whole minutes.
        for time in ["22:20", "22:30", "23:10"] {
            assert!(labels.iter().any(|l| l == time), "{time} not in {labels:?}");
        }
        assert!(labels.iter().any(|l| l.ends_with('M')), "no M values: {labels:?}");
        assert!(svg.contains("currentColor"), "axes are not themed");
    }

    #[test]
    fn a_missing_step_is_a_gap_and_a_lone_point_a_dot() {
        let step = 15 * SECOND;
        let at = |i: i64| T0 + i * step;
        let points = [
            (at(0), 1.0),
            (at(1), 2.0),
            (at(2), 3.0),
            (at(4), 4.0),
            (at(5), 5.0),
            (at(9), 6.0),
        ];
        let svg = render(&[series(3, &points)]);
        assert_valid_svg(&svg);
        assert_eq!(drawn_in(&svg, 3), (2, 1), "two lines and one dot: {svg}");
        assert_eq!(runs(&points, step).iter().map(Vec::len).collect::<Vec<_>>(), [3, 2, 1]);
    }

    #[test]
    fn values_that_are_not_finite_are_skipped() {
        let step = 15 * SECOND;
        let at = |i: i64| T0 + i * step;
        let points = [
            (at(0), 1.0),
            (at(1), f64::NAN),
            (at(2), 2.0),
            (at(3), f64::INFINITY),
            (at(4), 3.0),
            (at(5), f64::NEG_INFINITY),
            (at(6), 4.0),
            (at(7), 5.0),
        ];
        let svg = render(&[series(0, &points)]);
        assert_valid_svg(&svg);
        assert_eq!(drawn_in(&svg, 0), (1, 3));
        // Only NaN and infinities: nothing to draw, an empty axis.
        let svg = render(&[series(0, &[(at(0), f64::NAN), (at(1), f64::INFINITY)])]);
        assert_valid_svg(&svg);
        assert_eq!(drawn_in(&svg, 0), (0, 0));
    }

    /// How many pixels of the PNG are close to `#RRGGBB`, in the columns `from..to`.
    fn pixels_like(png: &[u8], hex: &str, columns: std::ops::Range<u32>) -> usize {
        let picture = resvg::tiny_skia::Pixmap::decode_png(png).unwrap();
        let want = rgb(hex);
        picture
            .pixels()
            .iter()
            .enumerate()
            .filter(|(i, _)| columns.contains(&(*i as u32 % picture.width())))
            .filter(|(_, p)| {
                let close = |a: u8, b: u8| a.abs_diff(b) < 40;
                close(p.red(), want.0) && close(p.green(), want.1) && close(p.blue(), want.2)
            })
            .count()
    }

    #[test]
    fn a_mail_chart_is_a_png_with_the_line_the_crossing_and_labels() {
        let points: Vec<(i64, f64)> = (0..240)
            .map(|i| (T0 + i * 15 * SECOND, if i < 160 { 1.0 } else { 9.0 }))
            .collect();
        let lines = [series(0, &points)];
        let mut with_line = chart(&lines);
        with_line.marks = Marks {
            line: Some(5.0),
            warning: None,
            crossed_at: Some(T0 + 160 * 15 * SECOND),
        };
        let png = with_line.png().unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        if std::env::var_os("VITRINE_CHART_PNG").is_some() {
            std::fs::write(std::env::var_os("VITRINE_CHART_PNG").unwrap(), &png).unwrap();
        }
        let red = pixels_like(&png, LINE_COLOUR, 0..WIDTH);
        assert!(red > 200, "the line and the crossing are drawn: {red} red pixels");
        assert!(pixels_like(&png, colour(0), 0..WIDTH) > 200, "the series is drawn");
        assert_eq!(pixels_like(&chart(&lines).png().unwrap(), LINE_COLOUR, 0..WIDTH), 0);
        // The axis labels are text in a system font, left of the plot.
        assert!(pixels_like(&png, "#1B1F24", 40..76) > 20, "no value labels drawn");
    }

    #[test]
    fn an_empty_result_draws_empty_axes() {
        for svg in [render(&[]), render(&[series(0, &[])])] {
            assert_valid_svg(&svg);
            assert_eq!(drawn_in(&svg, 0), (0, 0));
            assert!(text_of(&svg).iter().any(|l| l == "22:30"), "{svg}");
        }
        // An end before the start is drawn as a minimal span, not refused.
        assert_valid_svg(
            &Chart {
                series: &[],
                start_ms: T0,
                end_ms: T0 - 5,
                step_ms: 0,
                locale: Locale::de,
                unit: None,
                marks: Marks::default(),
                markers: &[],
            }
            .svg(),
        );
    }

    #[test]
    fn huge_tiny_and_flat_values_give_distinct_labels() {
        let cases: [&[f64]; 7] = [
            &[f64::MAX, -f64::MAX],
            &[1e300, 1e300],
            &[1e-300, 2e-300],
            &[5e-324, 5e-324],
            &[0.0, 0.0],
            &[1.0000001, 1.0000002],
            &[-3.0, 7.5],
        ];
        for values in cases {
            let points: Vec<(i64, f64)> = values
                .iter()
                .enumerate()
                .map(|(i, v)| (T0 + i as i64 * SECOND, *v))
                .collect();
            let svg = render(&[series(0, &points)]);
            assert_valid_svg(&svg);
            let numbers: Vec<String> = text_of(&svg).into_iter().filter(|l| !l.contains(':')).collect();
            assert!(numbers.len() >= 2, "{values:?}: {numbers:?}");
            let mut unique = numbers.clone();
            unique.dedup();
            assert_eq!(unique, numbers, "{values:?}: repeated labels");
        }
    }

    #[test]
    fn a_fine_step_over_a_long_range_keeps_the_shape_with_few_points() {
        let points: Vec<(i64, f64)> = (0..20_000)
            .map(|i| {
                (
                    T0 + i * SECOND,
                    (i as f64 / 500.0).sin() * 100.0 + if i == 12_345 { 500.0 } else { 0.0 },
                )
            })
            .collect();
        let end = T0 + 20_000 * SECOND;
        let thinned = thin_run(points.clone(), T0, end, 900);
        assert!(thinned.len() <= 900 * 4 && thinned.len() > 900, "{}", thinned.len());
        assert!(thinned.windows(2).all(|w| w[0].0 < w[1].0), "time order");
        assert!(thinned.contains(&points[12_345]), "the spike survives");
        assert_eq!((thinned.first(), thinned.last()), (points.first(), points.last()));
        let lines = [series(0, &points)];
        let svg = Chart {
            end_ms: end,
            step_ms: SECOND,
            ..chart(&lines)
        }
        .svg();
        assert_valid_svg(&svg);
        assert!(svg.len() < 100_000, "{} bytes", svg.len());
    }

    #[test]
    fn at_most_fifty_series_are_drawn() {
        let many: Vec<ChartSeries> = (0..60)
            .map(|i| series(i, &[(T0, 1.0), (T0 + SECOND, i as f64)]))
            .collect();
        let svg = render(&many);
        assert_valid_svg(&svg);
        let lines: usize = (0..PALETTE.len()).map(|i| drawn_in(&svg, i).0).sum();
        assert_eq!(lines, MAX_SERIES);
    }

    #[test]
    fn time_ticks_fall_on_round_utc_times() {
        let day = TimeAxis::new(T0, T0 + 7 * DAY);
        assert_eq!(day.every, DAY);
        assert!(day.ticks().iter().all(|t| t % DAY == 0));
        assert_eq!(day.format_ext(&day.ticks()[0]), "11-15");
        let month = TimeAxis::new(T0, T0 + 30 * DAY);
        assert_eq!(month.every, WEEK);
        // Mondays: 2023-11-20 and the weeks after.
        assert_eq!(month.format_ext(&month.ticks()[0]), "11-20");
        let two_days = TimeAxis::new(T0, T0 + 2 * DAY);
        assert_eq!(two_days.every, 6 * HOUR);
        assert_eq!(two_days.format_ext(&(T0 - T0 % DAY + DAY + 6 * HOUR)), "11-15 06:00");
        assert_eq!(two_days.format_ext(&(T0 - T0 % DAY + DAY)), "11-15");
        let minutes = TimeAxis::new(T0, T0 + 5 * MINUTE);
        assert_eq!(minutes.every, MINUTE);
        let seconds = TimeAxis::new(T0, T0 + 30 * SECOND);
        assert_eq!(seconds.format_ext(&(T0 + 10 * SECOND)), "22:13:30");
        let years = TimeAxis::new(0, 400 * 86_400_000 * 365);
        assert!(years.ticks().len() <= 9 && years.every % (4 * WEEK) == 0);
        assert_eq!(thin((0..10).collect(), 4), [0, 3, 6, 9]);
    }

    /// Relative luminance of `#RRGGBB` (WCAG 2).
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    #[test]
    fn every_series_colour_reads_on_the_light_and_the_dark_surface() {
        // --surface in style/main.css, light and dark.
        for surface in ["#ffffff", "#161b22"] {
            for colour in PALETTE {
                let (a, b) = (luminance(colour), luminance(surface));
                let ratio = (a.max(b) + 0.05) / (a.min(b) + 0.05);
                assert!(ratio >= 3.0, "{colour} on {surface}: {ratio:.2}");
            }
        }
    }
}
