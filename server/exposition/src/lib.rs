//! Prometheus text format 0.0.4 and OpenMetrics 1.0 text parser.
//!
//! A zero-copy, allocation-light, panic-free pull parser for scrape bodies
//! (`/metrics`) and for `vitrine import openmetrics FILE`. It accepts and
//! rejects exactly what Prometheus 2.42's `model/textparse` does
//! (`promlex.l`/`promparse.go` and `openmetricslex.l`/`openmetricsparse.go`),
//! plus the duplicate-label check Prometheus makes when appending.
//!
//! # Use
//!
//! ```
//! use vitrine_exposition::{Entry, Format, Parser};
//!
//! let body = b"# TYPE up gauge\nup{job=\"node\"} 1\n";
//! let mut p = Parser::new(body, Format::PrometheusText);
//! while let Some(entry) = p.next_entry().unwrap() {
//!     if let Entry::Sample(s) = entry {
//!         assert_eq!((s.name, s.value), ("up", 1.0));
//!     }
//! }
//! ```
//!
//! [`Parser::next_entry`] returns owned entries (one `Vec` per sample that
//! has labels). The hot path, [`Parser::next_entry_ref`], lends the label
//! slices out of buffers the parser reuses, so a scrape allocates nothing
//! per sample unless a label value contains an escape.
//!
//! # Performance
//!
//! No regex, no per-byte work beyond one pass of hand-written scanning, no
//! allocation per sample on the lending path. [`Parser::new`] validates the
//! longest valid UTF-8 prefix of the input once (at memory speed); `&str`
//! tokens are sliced out of it, and only tokens after a first invalid byte
//! are validated individually. Plain decimal values take a Clinger fast path
//! and fall back to the standard library's correctly rounded parser.
//! `examples/throughput.rs` measures about 10 million samples (1.2 GB) per
//! second on one core for a node-exporter-like text body
//! (`cargo run -p vitrine-exposition --release --example throughput`).
//!
//! Names, label names and unescaped label values borrow from the input;
//! label values and HELP texts are `Cow::Owned` only when they had escapes.
//! After an error the parser is finished: every later call returns
//! `Ok(None)`. Each call consumes at least one byte or finishes, and memory
//! use is bounded by the input size, on any input.
//!
//! # Prometheus text format 0.0.4
//!
//! * `name{label="value",...} value [timestamp]`, one per line. Blanks
//!   (spaces and tabs) may appear before and between all tokens, including
//!   inside the braces and between the name and `{`; the comma between
//!   label pairs is optional and a trailing comma is allowed; `{}` is
//!   allowed; the value may follow `}` directly.
//! * Label values: any bytes except an unescaped `"`, valid UTF-8 required;
//!   raw line feeds are allowed (Prometheus' lexer allows them); `\\`,
//!   `\"` and `\n` are unescaped, other backslashes are kept verbatim.
//! * Values: Go `strconv.ParseFloat` syntax minus `p`, `P` and `_` (so no
//!   hex floats, no digit separators): decimals with optional exponent,
//!   `NaN` (any case, unsigned), `Inf`/`Infinity` (any case, optional
//!   sign). Values that overflow to infinity are errors. Every NaN comes
//!   out with the bits [`NORMAL_NAN_BITS`] (Prometheus' `NormalNaN`), never
//!   the staleness marker.
//! * Timestamps: `[0-9]+` milliseconds (no sign), at most `i64::MAX`.
//! * `# HELP name text` (escapes `\\` and `\n`; `\"` stays as is; UTF-8
//!   required), `# TYPE name counter|gauge|histogram|summary|untyped`
//!   (`untyped` is [`MetricType::Unknown`]; nothing else, not even trailing
//!   blanks, is accepted). The text is the rest of the line after the name
//!   minus its first byte (normally the separating blank, so further blanks
//!   stay in the text); a rest made only of blanks gives an empty text.
//!   `# HELP` without a name is a comment, `# HELP ` followed by something
//!   that is not a metric name is an error.
//! * Other lines starting with `#` are comments and are skipped; blank and
//!   blank-only lines are skipped; the last line needs no line feed.
//! * No CRLF tolerance, like Prometheus: `\r` becomes part of the value or
//!   timestamp token, which then fails to parse (in HELP it stays in the
//!   text; in TYPE it makes the type invalid).
//! * A NUL byte at the start of a line (after optional blanks), right after
//!   `# ` or anywhere in a `#comment` without a blank after `#` ends the
//!   input silently, because Prometheus' lexer returns EOF there.
//!
//! # OpenMetrics 1.0
//!
//! * Exactly one space between tokens, no blanks elsewhere, no blank lines,
//!   no comments: lines are samples, `# HELP`, `# TYPE`, `# UNIT` or the
//!   final `# EOF`, which is mandatory and must be followed by nothing
//!   (except one line feed).
//! * `# TYPE` accepts counter, gauge, histogram, gaugehistogram, summary,
//!   info, stateset and unknown; `# UNIT` must be empty or a
//!   `_`-separated suffix of the metric name; `# HELP` uses label-value
//!   escaping (`\\`, `\"`, `\n`). HELP, TYPE and UNIT need the space after
//!   the name even when the text is empty.
//! * Label sets: `{}` or pairs separated by commas, no trailing comma; label
//!   values may not contain raw line feeds.
//! * Timestamps are float seconds, NaN and infinities refused, converted to
//!   milliseconds with `int64(ts * 1000)` as Prometheus does: the float
//!   product truncated toward zero (`1.001` → 1000 ms; Rust saturates where
//!   Go's conversion is implementation-defined).
//! * Exemplars: ` # {labels} value [timestamp]` after the value or the
//!   timestamp, only on samples whose name ends in `_total` or `_bucket`
//!   (Prometheus 2.42's `validateNameForExemplar`; later releases dropped
//!   that rule, prometheus/prometheus#11984).
//!   The 128-character limit on exemplar labels is a storage rule, not
//!   checked here.
//! * Sample names are not interpreted: `_total`, `_created`, `_bucket`,
//!   `_count`, `_sum`, `_info`, `_gcount`, `_gsum` are ordinary names, and
//!   neither family grouping, interleaving, TYPE-before-samples nor info or
//!   stateset values are checked, as in Prometheus 2.42.
//!
//! # Validation common to both formats
//!
//! Metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
//! `[a-zA-Z_][a-zA-Z0-9_]*` (the lexers only produce those). A label name
//! repeated in one label set, or a `__name__` label on a sample (it would
//! repeat the metric name), is an error: Prometheus' parser lets it through
//! but its TSDB appender then fails the scrape (`label name "x" is not
//! unique`); here it is a parse error pointing at the repeated name, raised
//! once the line is otherwise valid. Labels with empty values are returned
//! as written (Prometheus drops them when storing). Errors carry a 1-based
//! line and a 1-based byte column pointing at the offending byte or at the
//! start of the offending token.
//!
//! # Deliberate differences from Prometheus
//!
//! * Exemplar label values are unescaped like sample label values (2.42 left
//!   them escaped).
//! * Prometheus' lexer swallows NUL bytes that directly follow a closing
//!   label-value quote or the line feed of an OpenMetrics HELP/TYPE/UNIT
//!   line into the token, corrupting the value; here those NULs are not
//!   swallowed and lead to an error.
//! * Error messages are worded differently and point at the offending byte.

mod common;
mod content_type;
mod float;
mod openmetrics;
mod text;

use std::borrow::Cow;
use std::fmt;

pub use content_type::{ACCEPT_HEADER, format_for_content_type};
pub use float::NORMAL_NAN_BITS;

/// One label: name and (unescaped) value.
pub type Label<'a> = (&'a str, Cow<'a, str>);

/// The exposition format of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    PrometheusText,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

/// A metric family type from a `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// `untyped` in the text format, `unknown` in OpenMetrics.
    Unknown,
}

impl MetricType {
    /// The OpenMetrics spelling (`unknown` for untyped).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// One parsed line (comments and blank lines are skipped).
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    Help {
        metric: &'a str,
        text: Cow<'a, str>,
    },
    Type {
        metric: &'a str,
        kind: MetricType,
    },
    /// OpenMetrics only.
    Unit {
        metric: &'a str,
        unit: &'a str,
    },
    Sample(Sample<'a>),
}

/// A sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The metric name as written (suffixes included).
    pub name: &'a str,
    /// In the order written; values unescaped (`Cow::Borrowed` when they
    /// had no escapes). Never contains `__name__` or a repeated name.
    pub labels: Vec<Label<'a>>,
    pub value: f64,
    /// Milliseconds since the epoch. Text format: the integer as written.
    /// OpenMetrics: float seconds converted like Prometheus
    /// (`int64(ts*1000)`).
    pub timestamp_ms: Option<i64>,
    /// OpenMetrics only.
    pub exemplar: Option<Exemplar<'a>>,
}

/// An OpenMetrics exemplar: `# {labels} value [timestamp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar<'a> {
    pub labels: Vec<Label<'a>>,
    pub value: f64,
    /// Converted from float seconds like sample timestamps.
    pub timestamp_ms: Option<i64>,
}

/// An entry whose label lists are borrowed from the parser's reused
/// buffers; see [`Parser::next_entry_ref`].
#[derive(Debug, Clone, PartialEq)]
pub enum EntryRef<'p, 'a> {
    Help { metric: &'a str, text: Cow<'a, str> },
    Type { metric: &'a str, kind: MetricType },
    Unit { metric: &'a str, unit: &'a str },
    Sample(SampleRef<'p, 'a>),
}

/// A [`Sample`] whose label lists are borrowed from the parser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRef<'p, 'a> {
    pub name: &'a str,
    pub labels: &'p [Label<'a>],
    pub value: f64,
    pub timestamp_ms: Option<i64>,
    pub exemplar: Option<ExemplarRef<'p, 'a>>,
}

/// An [`Exemplar`] whose labels are borrowed from the parser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExemplarRef<'p, 'a> {
    pub labels: &'p [Label<'a>],
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

impl<'a> SampleRef<'_, 'a> {
    /// Copies the label lists into an owned [`Sample`].
    pub fn to_sample(&self) -> Sample<'a> {
        Sample {
            name: self.name,
            labels: self.labels.to_vec(),
            value: self.value,
            timestamp_ms: self.timestamp_ms,
            exemplar: self.exemplar.map(|e| Exemplar {
                labels: e.labels.to_vec(),
                value: e.value,
                timestamp_ms: e.timestamp_ms,
            }),
        }
    }
}

impl<'a> EntryRef<'_, 'a> {
    /// Copies the entry into an owned [`Entry`].
    pub fn to_entry(&self) -> Entry<'a> {
        match self {
            EntryRef::Help { metric, text } => Entry::Help {
                metric,
                text: text.clone(),
            },
            EntryRef::Type { metric, kind } => Entry::Type { metric, kind: *kind },
            EntryRef::Unit { metric, unit } => Entry::Unit { metric, unit },
            EntryRef::Sample(s) => Entry::Sample(s.to_sample()),
        }
    }
}

/// A parse error. `line` and `column` are 1-based; the column counts bytes
/// from the start of the line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// What a format parser produced; labels are in [`Core`].
pub(crate) enum Raw<'a> {
    Help(&'a str, Cow<'a, str>),
    Type(&'a str, MetricType),
    Unit(&'a str, &'a str),
    Sample {
        name: &'a str,
        value: f64,
        timestamp_ms: Option<i64>,
        exemplar: Option<(f64, Option<i64>)>,
    },
}

/// Parser state shared with the format modules.
pub(crate) struct Core<'a> {
    pub src: common::Src<'a>,
    pub pos: usize,
    pub labels: Vec<Label<'a>>,
    pub exemplar_labels: Vec<Label<'a>>,
    pub scratch: Vec<(&'a str, usize)>,
}

/// A pull parser over one exposition body.
pub struct Parser<'a> {
    core: Core<'a>,
    format: Format,
    done: bool,
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a [u8], format: Format) -> Parser<'a> {
        Parser {
            core: Core {
                src: common::Src::new(input),
                pos: 0,
                labels: Vec::new(),
                exemplar_labels: Vec::new(),
                scratch: Vec::new(),
            },
            format,
            done: false,
        }
    }

    /// The format this parser reads.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The next entry, `Ok(None)` at the end. After an error the parser
    /// stops (later calls return `Ok(None)`).
    ///
    /// Allocates a `Vec` for each sample with labels (and exemplar); use
    /// [`Parser::next_entry_ref`] on hot paths.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        let Some(raw) = self.advance()? else {
            return Ok(None);
        };
        Ok(Some(match raw {
            Raw::Help(metric, text) => Entry::Help { metric, text },
            Raw::Type(metric, kind) => Entry::Type { metric, kind },
            Raw::Unit(metric, unit) => Entry::Unit { metric, unit },
            Raw::Sample {
                name,
                value,
                timestamp_ms,
                exemplar,
            } => Entry::Sample(Sample {
                name,
                labels: self.core.labels.drain(..).collect(),
                value,
                timestamp_ms,
                exemplar: exemplar.map(|(value, timestamp_ms)| Exemplar {
                    labels: self.core.exemplar_labels.drain(..).collect(),
                    value,
                    timestamp_ms,
                }),
            }),
        }))
    }

    /// Like [`Parser::next_entry`], but the label lists are borrowed from
    /// buffers that the parser reuses for the next line: no allocation per
    /// sample (except for label values with escapes). The entry must be
    /// dropped before the next call; use [`EntryRef::to_entry`] to keep it.
    pub fn next_entry_ref(&mut self) -> Result<Option<EntryRef<'_, 'a>>, ParseError> {
        let Some(raw) = self.advance()? else {
            return Ok(None);
        };
        Ok(Some(match raw {
            Raw::Help(metric, text) => EntryRef::Help { metric, text },
            Raw::Type(metric, kind) => EntryRef::Type { metric, kind },
            Raw::Unit(metric, unit) => EntryRef::Unit { metric, unit },
            Raw::Sample {
                name,
                value,
                timestamp_ms,
                exemplar,
            } => EntryRef::Sample(SampleRef {
                name,
                labels: &self.core.labels,
                value,
                timestamp_ms,
                exemplar: exemplar.map(|(value, timestamp_ms)| ExemplarRef {
                    labels: &self.core.exemplar_labels,
                    value,
                    timestamp_ms,
                }),
            }),
        }))
    }

    fn advance(&mut self) -> Result<Option<Raw<'a>>, ParseError> {
        if self.done {
            return Ok(None);
        }
        let res = match self.format {
            Format::PrometheusText => text::next(&mut self.core),
            Format::OpenMetrics => openmetrics::next(&mut self.core),
        };
        match res {
            Ok(Some(raw)) => Ok(Some(raw)),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(self.error_at(e.pos, e.msg))
            }
        }
    }

    fn error_at(&self, pos: usize, message: String) -> ParseError {
        let input = self.core.src.b;
        let pos = pos.min(input.len());
        let before = &input[..pos];
        let line = 1 + before.iter().filter(|&&c| c == b'\n').count();
        let line_start = before.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
        ParseError {
            line,
            column: pos - line_start + 1,
            message,
        }
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}
