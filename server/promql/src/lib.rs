//! PromQL for Vitrine: a parser that answers exactly like Prometheus 2.42's
//! (`promql/parser`): the same accepted queries, the same syntax tree, the same type checks
//! and the same first error message, at the same position; and an evaluator ([`eval`]) whose
//! results on float series are Prometheus 2.42's.
//!
//! ```
//! use vitrine_promql::{Expr, parse};
//!
//! let expr = parse("sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))").unwrap();
//! assert!(matches!(expr, Expr::Aggregate(_)));
//! assert_eq!(expr.to_string(), "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))");
//!
//! let err = parse("1 +").unwrap_err();
//! assert_eq!(err.to_string(), "1:4: parse error: unexpected end of input");
//! ```
//!
//! ```
//! use vitrine_promql::eval::{EvalOptions, MemoryStorage, Value, eval_instant};
//! use vitrine_promql::{Labels, parse};
//!
//! let mut storage = MemoryStorage::new();
//! let up = Labels::from_pairs(&[("__name__", "up"), ("job", "api")]);
//! storage.add(up, [(0, 1.0), (15_000, 1.0), (30_000, 0.0)]);
//! let expr = parse("sum_over_time(up[1m])").unwrap();
//! let Value::Vector(v) = eval_instant(&storage, &expr, 30_000, &EvalOptions::default()).unwrap() else {
//!     unreachable!()
//! };
//! assert_eq!((v[0].labels.to_string(), v[0].v), (r#"{job="api"}"#.to_owned(), 2.0));
//! ```
//!
//! What differs between Prometheus versions (the function table now; later the 3.x range
//! semantics and renamed functions such as `holt_winters`) is decided by [`Dialect`] alone.

mod ast;
mod check;
pub mod eval;
mod functions;
/// Go's ways of writing strings, numbers and durations, as Prometheus prints them.
pub mod go;
pub mod json;
mod labels;
mod lexer;
mod matcher;
mod parser;
mod printer;
pub mod template;

use std::fmt;

pub use ast::*;
pub use eval::{EvalError, EvalOptions, MemoryStorage, Queryable, Value, eval_instant, eval_range};
pub use functions::{Function, PROMETHEUS_2_42};
pub use labels::{Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher};
pub use printer::format_duration;

/// The PromQL language version to follow. Every version-dependent decision goes through it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// Prometheus 2.42: closed range intervals, `holt_winters`, the first native-histogram
    /// functions (parsed, flagged [`Function::unsupported`]).
    #[default]
    Prometheus2_42,
}

impl Dialect {
    /// The functions of the dialect, sorted by name.
    pub fn functions(self) -> &'static [Function] {
        match self {
            Dialect::Prometheus2_42 => PROMETHEUS_2_42,
        }
    }

    /// The function of that name, if the dialect has it.
    pub fn function(self, name: &str) -> Option<&'static Function> {
        let table = self.functions();
        table.binary_search_by(|f| f.name.cmp(name)).ok().map(|i| &table[i])
    }
}

/// Bounds on what the parser accepts, beyond the language itself, and the dialect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The deepest expression tree accepted: parentheses, calls, aggregations, operators and
    /// subqueries each add a level (`a + b + c` is 3 deep). Deeper queries are refused with an
    /// error instead of risking the stack, here and in whatever walks the tree later.
    pub max_depth: usize,
    /// The longest regular expression accepted in a `=~` or `!~` matcher, in bytes.
    pub max_regex_bytes: usize,
    /// The longest query accepted, in bytes.
    pub max_len: usize,
    pub dialect: Dialect,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 128,
            max_regex_bytes: 64 * 1024,
            max_len: 1024 * 1024,
            dialect: Dialect::default(),
        }
    }
}

/// A query that does not parse or does not type-check, with Prometheus' message.
///
/// `Display` gives the text of Prometheus' own error, `1:8: parse error: unexpected <op:+>`;
/// Prometheus' HTTP API reports it as `invalid parameter "query": ` followed by that text
/// ([`ParseError::api_message`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Prometheus' message, without the position.
    pub message: String,
    /// The byte range of the query the error is about.
    pub start: usize,
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column of `start`, in bytes from the start of the line (as Prometheus counts).
    pub column: usize,
}

impl ParseError {
    fn new(input: &str, start: usize, end: usize, message: String) -> Self {
        let start = start.min(input.len());
        let before = &input.as_bytes()[..start];
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        let column = match before.iter().rposition(|b| *b == b'\n') {
            Some(nl) => start - nl,
            None => start + 1,
        };
        ParseError {
            message,
            start,
            end: end.max(start),
            line,
            column,
        }
    }

    /// The error as Prometheus' HTTP API puts it for a query parameter of that name:
    /// `invalid parameter "query": 1:8: parse error: …`.
    pub fn api_message(&self, parameter: &str) -> String {
        format!("invalid parameter {}: {self}", go::quote(parameter))
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: parse error: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a series as Prometheus' `parser.ParseMetric` does (`up{job="a"}`, `{job="a"}`, `up`,
/// or nothing at all): its labels, the metric name as `__name__`.
pub fn parse_metric(input: &str) -> Result<Labels, ParseError> {
    let pairs = parser::Parser::new(input, &Limits::default())
        .parse_metric()
        .map_err(|e| *e)?;
    Ok(Labels::new(pairs))
}

/// Parses and type-checks a PromQL expression with the default [`Limits`].
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with(input, &Limits::default())
}

/// Parses and type-checks a PromQL expression.
pub fn parse_with(input: &str, limits: &Limits) -> Result<Expr, ParseError> {
    if input.len() > limits.max_len {
        let msg = format!(
            "query is too long: {} bytes, the limit is {} bytes",
            input.len(),
            limits.max_len
        );
        return Err(ParseError::new(input, 0, 0, msg));
    }
    let mut expr = parser::Parser::new(input, limits).parse_query().map_err(|e| *e)?;
    check::Checker { input }.check(&mut expr)?;
    Ok(expr)
}

/// The canonical text of an expression, as Prometheus prints it (also `Expr`'s `Display`).
pub fn print(expr: &Expr) -> String {
    expr.to_string()
}
