//! A recursive-descent parser that accepts what Prometheus' yacc grammar
//! (`promql/parser/generated_parser.y`) accepts, builds the same tree, and reports the same
//! first error.
//!
//! Which error comes first depends on when yacc reads its lookahead and on which grammar rules
//! with an `error` token are open when a syntax error is found. The parser mirrors both:
//!
//! * a token is lexed only when yacc would need it as lookahead, so lexer errors and the
//!   errors of grammar actions come out in Prometheus' order;
//! * an unexpected token is described in the context of the innermost open error rule: the
//!   local ones (label matching, grouping labels, `offset`, `@`, range and subquery brackets)
//!   or, around everything inside an aggregation, "in aggregation".

use crate::ast::*;
use crate::lexer::{Item, Lexer, T, is_label};
use crate::matcher::{MatchOp, Matcher};
use crate::{Limits, ParseError};

/// Errors are boxed, and so are expressions in [`Node`], to keep the frames of the recursive
/// descent small.
type Result<T> = std::result::Result<T, Box<ParseError>>;

pub(crate) struct Parser<'a> {
    input: &'a str,
    lex: Lexer<'a>,
    /// The lookahead, once lexed.
    peeked: Option<Item>,
    /// The end of the last lexed `)`, `]`, `}`, number or duration (Prometheus' `lastClosing`).
    last_closing: usize,
    /// How many aggregations are open (their `aggregate_op error` rule is on yacc's stack).
    aggregations: usize,
    /// The current recursion depth.
    depth: usize,
    /// Where the stack was when parsing started.
    stack_base: usize,
    limits: &'a Limits,
}

/// How much stack the parser may use below where it started, whatever `max_depth` says: less
/// than the 2 MiB that Rust (and tokio) give a thread, leaving room for the caller and for the
/// walks over the tree that follow.
const STACK_BUDGET: usize = 1 << 20;

/// An address in the current stack frame.
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// An expression and the height of its tree.
struct Node {
    expr: Box<Expr>,
    height: usize,
}

fn aggregate_op(t: T) -> Option<AggregateOp> {
    Some(match t {
        T::Sum => AggregateOp::Sum,
        T::Avg => AggregateOp::Avg,
        T::Count => AggregateOp::Count,
        T::Min => AggregateOp::Min,
        T::Max => AggregateOp::Max,
        T::Group => AggregateOp::Group,
        T::Stddev => AggregateOp::Stddev,
        T::Stdvar => AggregateOp::Stdvar,
        T::Topk => AggregateOp::Topk,
        T::Bottomk => AggregateOp::Bottomk,
        T::CountValues => AggregateOp::CountValues,
        T::Quantile => AggregateOp::Quantile,
        _ => return None,
    })
}

fn binary_op(t: T) -> Option<BinaryOp> {
    Some(match t {
        T::Add => BinaryOp::Add,
        T::Sub => BinaryOp::Sub,
        T::Mul => BinaryOp::Mul,
        T::Div => BinaryOp::Div,
        T::Mod => BinaryOp::Mod,
        T::Pow => BinaryOp::Pow,
        T::Atan2 => BinaryOp::Atan2,
        T::Eqlc => BinaryOp::Eql,
        T::Neq => BinaryOp::Neq,
        T::Gtr => BinaryOp::Gtr,
        T::Lss => BinaryOp::Lss,
        T::Gte => BinaryOp::Gte,
        T::Lte => BinaryOp::Lte,
        T::Land => BinaryOp::And,
        T::Lor => BinaryOp::Or,
        T::Lunless => BinaryOp::Unless,
        _ => return None,
    })
}

/// The tokens of the grammar's `metric_identifier`: names and the keywords that may be names.
fn is_metric_identifier(t: T) -> bool {
    use T::*;
    t.is_aggregator()
        || matches!(
            t,
            Identifier | MetricIdentifier | By | Land | Lor | Lunless | Offset | Without | Start | End
        )
}

/// The tokens of the grammar's `maybe_label`: those that may name a label in a grouping list.
fn is_maybe_label(t: T) -> bool {
    use T::*;
    is_metric_identifier(t) || matches!(t, Bool | GroupLeft | GroupRight | Ignoring | On | Atan2)
}

/// The tokens an expression can start with.
fn starts_expr(t: T) -> bool {
    use T::*;
    is_metric_identifier(t) || matches!(t, Number | String | LeftParen | LeftBrace | Add | Sub)
}

/// Prometheus' `parseDuration` (`model.ParseDuration`, then a zero check), in milliseconds.
pub(crate) fn parse_duration(s: &str) -> std::result::Result<i64, String> {
    let invalid = || format!("not a valid duration string: {}", crate::go::quote(s));
    const UNITS: [(&str, i128); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    if s.is_empty() {
        return Err("empty duration string".to_owned());
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: i128 = 0;
    let mut overflow = false;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        // Go's Atoi saturates on overflow, which then counts as out of range.
        let n: i128 = rest[..digits].parse().unwrap_or(i128::from(i64::MAX));
        rest = &rest[digits..];
        let unit = if rest.starts_with("ms") {
            "ms"
        } else {
            rest.get(..1).unwrap_or("")
        };
        let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(invalid());
        };
        if idx < next_unit {
            return Err(invalid());
        }
        next_unit = idx + 1;
        rest = &rest[unit.len()..];
        let mult = UNITS[idx].1;
        if n > i128::from(i64::MAX) / mult / 1_000_000 {
            overflow = true;
        }
        total += n.min(i128::from(i64::MAX)) * mult;
        if total * 1_000_000 > i128::from(i64::MAX) {
            overflow = true;
        }
    }
    if overflow {
        return Err("duration out of range".to_owned());
    }
    if total == 0 {
        return Err("duration must be greater than 0".to_owned());
    }
    Ok(total as i64)
}

/// Prometheus' `strutil.Unquote` of a string token the lexer accepted (escapes are valid).
/// Byte escapes that do not form UTF-8 become U+FFFD.
fn unquote(token: &str) -> String {
    let quote = token.as_bytes()[0];
    let body = &token[1..token.len() - 1];
    if quote == b'`' {
        return body.to_owned();
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    let hex = |s: &str| u32::from_str_radix(s, 16).unwrap_or(0);
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' => Some(b'\''),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (len, radix) = match e {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            _ => (2, 8),
        };
        let from = i + 2;
        let digits = if radix == 8 {
            &body[i + 1..from + len]
        } else {
            &body[from..from + len]
        };
        for _ in 0..len {
            chars.next();
        }
        match e {
            'x' => out.push(hex(digits) as u8),
            'u' | 'U' => {
                let c = char::from_u32(hex(digits)).unwrap_or('\u{FFFD}');
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => out.push(u32::from_str_radix(digits, 8).unwrap_or(0) as u8),
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

impl<'a> Parser<'a> {
    pub(crate) fn new(input: &'a str, limits: &'a Limits) -> Self {
        Parser {
            input,
            lex: Lexer::new(input),
            peeked: None,
            last_closing: 0,
            aggregations: 0,
            depth: 0,
            stack_base: stack_address(),
            limits,
        }
    }

    fn err(&self, start: usize, end: usize, msg: impl Into<String>) -> Box<ParseError> {
        Box::new(ParseError::new(self.input, start, end, msg.into()))
    }

    /// The lookahead, lexing it if needed (comments are skipped, lexer errors returned).
    fn peek(&mut self) -> Result<&Item> {
        if self.peeked.is_none() {
            let item = loop {
                let item = self.lex.next_item();
                if item.typ != T::Comment {
                    break item;
                }
            };
            match item.typ {
                T::Error => {
                    let msg = item.msg.clone().unwrap_or_default();
                    return Err(self.err(item.pos, self.input.len(), msg));
                }
                T::RightBrace | T::RightParen | T::RightBracket | T::Duration | T::Number => {
                    self.last_closing = item.end;
                }
                _ => {}
            }
            self.peeked = Some(item);
        }
        Ok(self.peeked.as_ref().expect("just lexed"))
    }

    fn peek_type(&mut self) -> Result<T> {
        Ok(self.peek()?.typ)
    }

    /// Consumes the lookahead.
    fn next(&mut self) -> Result<Item> {
        self.peek()?;
        Ok(self.peeked.take().expect("peeked"))
    }

    fn val(&self, item: &Item) -> &'a str {
        item.val(self.input)
    }

    /// "unexpected <lookahead>[ in <context>][, expected <expected>]".
    fn unexpected(&mut self, context: &str, expected: &str) -> Box<ParseError> {
        let item = match self.peek() {
            Ok(item) => item.clone(),
            Err(e) => return e,
        };
        let mut msg = format!("unexpected {}", item.desc(self.input));
        if !context.is_empty() {
            msg.push_str(" in ");
            msg.push_str(context);
        }
        if !expected.is_empty() {
            msg.push_str(", expected ");
            msg.push_str(expected);
        }
        self.err(item.pos, item.end, msg)
    }

    /// An unexpected token outside any local error rule.
    fn unexpected_here(&mut self) -> Box<ParseError> {
        if self.aggregations > 0 {
            self.unexpected("aggregation", "")
        } else {
            self.unexpected("", "")
        }
    }

    /// The depth limit's error, at the lookahead.
    fn too_deep(&mut self) -> Box<ParseError> {
        let pos = match self.peek() {
            Ok(item) => item.pos,
            Err(e) => return e,
        };
        self.err(
            pos,
            pos,
            format!("query is nested too deeply: more than {} levels", self.limits.max_depth),
        )
    }

    fn node(&mut self, expr: Expr, height: usize) -> Result<Node> {
        if height > self.limits.max_depth {
            return Err(self.too_deep());
        }
        Ok(Node {
            expr: Box::new(expr),
            height,
        })
    }

    /// The whole query.
    pub(crate) fn parse_query(&mut self) -> Result<Expr> {
        if self.peek_type()? == T::Eof {
            return Err(self.err(0, 0, "no expression found in input"));
        }
        let node = self.parse_expr(1)?;
        if self.peek_type()? != T::Eof {
            return Err(self.unexpected("", ""));
        }
        Ok(*node.expr)
    }

    /// A series as Prometheus' `ParseMetric` reads one: `name{label="value", …}`, the name or
    /// the braces (or both) left out; only `=` between a label and its value.
    pub(crate) fn parse_metric(&mut self) -> Result<Vec<(String, String)>> {
        let mut labels = Vec::new();
        if is_metric_identifier(self.peek_type()?) {
            let name = self.next()?;
            labels.push(("__name__".to_owned(), self.val(&name).to_owned()));
        }
        if self.peek_type()? == T::LeftBrace {
            self.next()?;
            loop {
                if self.peek_type()? == T::RightBrace {
                    self.next()?;
                    break;
                }
                if !is_maybe_label(self.peek_type()?) {
                    return Err(self.unexpected("label set", "identifier or \"}\""));
                }
                let label = self.next()?;
                if self.peek_type()? != T::Eql {
                    return Err(self.unexpected("label set", "\"=\""));
                }
                self.next()?;
                if self.peek_type()? != T::String {
                    return Err(self.unexpected("label set", "string"));
                }
                let value = self.next()?;
                labels.push((self.val(&label).to_owned(), unquote(self.val(&value))));
                match self.peek_type()? {
                    T::Comma => {
                        self.next()?;
                    }
                    T::RightBrace => {}
                    _ => return Err(self.unexpected("label set", "\",\" or \"}\"")),
                }
            }
        }
        if self.peek_type()? != T::Eof {
            return Err(self.unexpected("", ""));
        }
        Ok(labels)
    }

    /// Binary expressions whose operators bind at least as tightly as `min_prec`.
    fn parse_expr(&mut self, min_prec: u8) -> Result<Node> {
        self.depth += 1;
        if self.depth > self.limits.max_depth || self.stack_base.abs_diff(stack_address()) > STACK_BUDGET {
            return Err(self.too_deep());
        }
        let result = self.parse_expr_inner(min_prec);
        self.depth -= 1;
        result
    }

    fn parse_expr_inner(&mut self, min_prec: u8) -> Result<Node> {
        let mut lhs = self.parse_unary()?;
        loop {
            let Some(op) = binary_op(self.peek_type()?) else {
                return Ok(lhs);
            };
            let prec = op.precedence();
            if prec < min_prec {
                return Ok(lhs);
            }
            self.next()?;
            let matching = self.parse_bin_modifiers()?;
            let next_min = if op.is_right_associative() { prec } else { prec + 1 };
            let rhs = self.parse_expr(next_min)?;
            lhs = self.build_binary(op, matching, lhs, rhs)?;
        }
    }

    #[inline(never)]
    fn build_binary(&mut self, op: BinaryOp, matching: (bool, VectorMatching), lhs: Node, rhs: Node) -> Result<Node> {
        let height = lhs.height.max(rhs.height) + 1;
        let (return_bool, matching) = matching;
        let expr = Expr::Binary(BinaryExpr {
            op,
            lhs: lhs.expr,
            rhs: rhs.expr,
            return_bool,
            matching: Some(matching),
        });
        self.node(expr, height)
    }

    /// `[bool] [on|ignoring (labels) [group_left|group_right [(labels)]]]`.
    fn parse_bin_modifiers(&mut self) -> Result<(bool, VectorMatching)> {
        let mut vm = VectorMatching {
            card: Cardinality::OneToOne,
            matching_labels: Vec::new(),
            on: false,
            include: Vec::new(),
        };
        let mut return_bool = false;
        if self.peek_type()? == T::Bool {
            self.next()?;
            return_bool = true;
        }
        let t = self.peek_type()?;
        if t == T::On || t == T::Ignoring {
            self.next()?;
            vm.on = t == T::On;
            vm.matching_labels = self.parse_grouping_labels()?;
            let t = self.peek_type()?;
            if t == T::GroupLeft || t == T::GroupRight {
                self.next()?;
                vm.card = if t == T::GroupLeft {
                    Cardinality::ManyToOne
                } else {
                    Cardinality::OneToMany
                };
                // `maybe_grouping_labels`: empty only before an expression.
                let t = self.peek_type()?;
                if t == T::LeftParen || !starts_expr(t) {
                    vm.include = self.parse_grouping_labels()?;
                }
            }
        }
        Ok((return_bool, vm))
    }

    /// `(label, …)` after `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`.
    fn parse_grouping_labels(&mut self) -> Result<Vec<String>> {
        if self.peek_type()? != T::LeftParen {
            return Err(self.unexpected("grouping opts", "\"(\""));
        }
        self.next()?;
        let mut labels = Vec::new();
        if self.peek_type()? == T::RightParen {
            self.next()?;
            return Ok(labels);
        }
        loop {
            let t = self.peek_type()?;
            if !is_maybe_label(t) {
                return Err(self.unexpected("grouping opts", "label"));
            }
            let input = self.input;
            let label = self.peek()?.val(input);
            if !is_label(label) {
                return Err(self.unexpected("grouping opts", "label"));
            }
            self.next()?;
            labels.push(label.to_owned());
            match self.peek_type()? {
                T::Comma => {
                    self.next()?;
                    if self.peek_type()? == T::RightParen {
                        self.next()?;
                        return Ok(labels);
                    }
                }
                T::RightParen => {
                    self.next()?;
                    return Ok(labels);
                }
                _ => return Err(self.unexpected("grouping opts", "\",\" or \")\"")),
            }
        }
    }

    /// A unary expression, or a primary with its postfix modifiers.
    ///
    /// The functions on the recursive path (`parse_expr`, `parse_unary`, `parse_primary`,
    /// `parse_paren`, `parse_call`, `parse_aggregate`, `parse_call_args`) keep their frames small:
    /// the work that needs many locals is done in helpers that return before recursing.
    fn parse_unary(&mut self) -> Result<Node> {
        let t = self.peek_type()?;
        if t == T::Add || t == T::Sub {
            let op_item = self.next()?;
            // The operand binds like a multiplication: only `^` binds tighter.
            let operand = self.parse_expr(BinaryOp::Pow.precedence())?;
            return self.build_unary(t, op_item.pos, operand);
        }
        let primary = self.parse_primary()?;
        self.parse_postfix(primary)
    }

    #[inline(never)]
    fn build_unary(&mut self, t: T, pos: usize, operand: Node) -> Result<Node> {
        if let Expr::Number(mut n) = *operand.expr {
            if t == T::Sub {
                n.value = -n.value;
            }
            n.span.start = pos;
            return self.node(Expr::Number(n), operand.height);
        }
        let span = Span::new(pos, operand.expr.span().end);
        let op = if t == T::Sub { UnaryOp::Neg } else { UnaryOp::Plus };
        let expr = Expr::Unary(UnaryExpr {
            op,
            expr: operand.expr,
            span,
        });
        self.node(expr, operand.height + 1)
    }

    fn parse_primary(&mut self) -> Result<Node> {
        match self.peek_type()? {
            T::LeftParen => self.parse_paren(),
            T::Identifier => {
                let item = self.next()?;
                if self.peek_type()? == T::LeftParen {
                    return self.parse_call(item);
                }
                self.parse_selector_node(Some(item))
            }
            t if aggregate_op(t).is_some() => {
                let item = self.next()?;
                if matches!(self.peek_type()?, T::LeftParen | T::By | T::Without) {
                    return self.parse_aggregate(item);
                }
                self.parse_selector_node(Some(item))
            }
            _ => self.parse_leaf(),
        }
    }

    /// Literals and selectors without a metric name, which do not recurse.
    #[inline(never)]
    fn parse_leaf(&mut self) -> Result<Node> {
        let t = self.peek_type()?;
        match t {
            T::Number => {
                let item = self.next()?;
                let value = self.number(&item)?;
                Ok(Node {
                    expr: Box::new(Expr::Number(NumberLiteral {
                        value,
                        span: Span::new(item.pos, item.end),
                    })),
                    height: 1,
                })
            }
            T::String => {
                let item = self.next()?;
                let value = unquote(self.val(&item));
                Ok(Node {
                    expr: Box::new(Expr::String(StringLiteral {
                        value,
                        span: Span::new(item.pos, item.end),
                    })),
                    height: 1,
                })
            }
            T::LeftBrace => self.parse_selector_node(None),
            t if is_metric_identifier(t) => {
                let item = self.next()?;
                self.parse_selector_node(Some(item))
            }
            _ => Err(self.unexpected_here()),
        }
    }

    #[inline(never)]
    fn parse_selector_node(&mut self, name: Option<Item>) -> Result<Node> {
        let vs = self.parse_selector(name)?;
        Ok(Node {
            expr: Box::new(Expr::VectorSelector(vs)),
            height: 1,
        })
    }

    fn parse_paren(&mut self) -> Result<Node> {
        let open = self.next()?.pos;
        let inner = self.parse_expr(1)?;
        self.finish_paren(open, inner)
    }

    #[inline(never)]
    fn finish_paren(&mut self, open: usize, inner: Node) -> Result<Node> {
        if self.peek_type()? != T::RightParen {
            return Err(self.unexpected_here());
        }
        let close = self.next()?;
        let expr = Expr::Paren(ParenExpr {
            expr: inner.expr,
            span: Span::new(open, close.end),
        });
        self.node(expr, inner.height + 1)
    }

    fn number(&self, item: &Item) -> Result<f64> {
        crate::go::parse_number(self.val(item))
            .map_err(|e| self.err(item.pos, item.end, format!("error parsing number: {e}")))
    }

    /// `name`, `name{…}` or `{…}`; the name token, if any, is consumed.
    fn parse_selector(&mut self, name: Option<Item>) -> Result<VectorSelector> {
        let mut matchers = Vec::new();
        let mut span = name.as_ref().map(|n| Span::new(n.pos, n.end));
        // With a name, braces are optional: yacc looks ahead for them.
        if name.is_none() || self.peek_type()? == T::LeftBrace {
            let open = self.next()?;
            let end = self.parse_matchers(&mut matchers)?;
            span = Some(Span::new(span.map_or(open.pos, |s| s.start), end));
        }
        let name = name.map(|n| self.val(&n).to_owned()).unwrap_or_default();
        if !name.is_empty() {
            matchers.push(Matcher::new(MatchOp::Equal, "__name__", &name, usize::MAX).expect("equality matcher"));
        }
        Ok(VectorSelector {
            name,
            matchers,
            offset: 0,
            at: None,
            span: span.expect("name or braces"),
        })
    }

    /// The matchers after `{`, through `}`; returns the end of the `}`.
    fn parse_matchers(&mut self, matchers: &mut Vec<Matcher>) -> Result<usize> {
        if self.peek_type()? == T::RightBrace {
            return Ok(self.next()?.end);
        }
        loop {
            if self.peek_type()? != T::Identifier {
                return Err(self.unexpected("label matching", "identifier or \"}\""));
            }
            let label = self.next()?;
            let op = match self.peek_type()? {
                T::Eql => MatchOp::Equal,
                T::Neq => MatchOp::NotEqual,
                T::EqlRegex => MatchOp::Regex,
                T::NeqRegex => MatchOp::NotRegex,
                _ => return Err(self.unexpected("label matching", "label matching operator")),
            };
            self.next()?;
            if self.peek_type()? != T::String {
                return Err(self.unexpected("label matching", "string"));
            }
            let value = self.next()?;
            let unquoted = unquote(self.val(&value));
            let matcher = Matcher::new(op, self.val(&label), &unquoted, self.limits.max_regex_bytes)
                .map_err(|e| self.err(label.pos, value.end, e))?;
            matchers.push(matcher);
            match self.peek_type()? {
                T::Comma => {
                    self.next()?;
                    if self.peek_type()? == T::RightBrace {
                        return Ok(self.next()?.end);
                    }
                }
                T::RightBrace => return Ok(self.next()?.end),
                _ => return Err(self.unexpected("label matching", "\",\" or \"}\"")),
            }
        }
    }

    /// `(args…)` of a function call or an aggregation; the lookahead is known to be `(`
    /// for calls.
    fn parse_call_args(&mut self) -> Result<(Vec<Expr>, usize)> {
        if self.peek_type()? != T::LeftParen {
            return Err(self.unexpected_here());
        }
        self.next()?;
        let mut args = Vec::new();
        let mut height = 0;
        if self.peek_type()? == T::RightParen {
            self.next()?;
            return Ok((args, height));
        }
        loop {
            let arg = self.parse_expr(1)?;
            height = height.max(arg.height);
            args.push(*arg.expr);
            if self.after_call_arg()? {
                return Ok((args, height));
            }
        }
    }

    /// After an argument: `,` before another one (false), or the closing `)` (true).
    #[inline(never)]
    fn after_call_arg(&mut self) -> Result<bool> {
        match self.peek_type()? {
            T::Comma => {
                let comma = self.next()?;
                if !starts_expr(self.peek_type()?) {
                    return Err(self.err(
                        comma.pos,
                        comma.end,
                        "trailing commas not allowed in function call args",
                    ));
                }
                Ok(false)
            }
            T::RightParen => {
                self.next()?;
                Ok(true)
            }
            _ => Err(self.unexpected_here()),
        }
    }

    fn parse_call(&mut self, name: Item) -> Result<Node> {
        let args = self.parse_call_args()?;
        self.build_call(name, args)
    }

    #[inline(never)]
    fn build_call(&mut self, name: Item, args: (Vec<Expr>, usize)) -> Result<Node> {
        let (args, height) = args;
        let name_text = self.val(&name);
        let Some(func) = self.limits.dialect.function(name_text) else {
            let msg = format!("unknown function with name {}", crate::go::quote(name_text));
            return Err(self.err(name.pos, name.end, msg));
        };
        let span = Span::new(name.pos, self.last_closing);
        self.node(Expr::Call(Call { func, args, span }), height + 1)
    }

    fn parse_aggregate(&mut self, op_item: Item) -> Result<Node> {
        self.aggregations += 1;
        let result = self.parse_aggregate_inner(op_item);
        self.aggregations -= 1;
        result
    }

    fn parse_aggregate_inner(&mut self, op_item: Item) -> Result<Node> {
        let mut grouping = (Vec::new(), false);
        let modifier_first = matches!(self.peek_type()?, T::By | T::Without);
        if modifier_first {
            grouping = self.parse_aggregate_modifier()?;
        }
        let args = self.parse_call_args()?;
        if !modifier_first && matches!(self.peek_type()?, T::By | T::Without) {
            grouping = self.parse_aggregate_modifier()?;
        }
        self.build_aggregate(op_item, args, grouping)
    }

    #[inline(never)]
    fn build_aggregate(
        &mut self,
        op_item: Item,
        args: (Vec<Expr>, usize),
        grouping: (Vec<String>, bool),
    ) -> Result<Node> {
        let op = aggregate_op(op_item.typ).expect("aggregation operator");
        let (args, height) = args;
        let span = Span::new(op_item.pos, self.last_closing);
        if args.is_empty() {
            return Err(self.err(span.start, span.end, "no arguments for aggregate expression provided"));
        }
        let desired = if op.takes_param() { 2 } else { 1 };
        if args.len() != desired {
            let msg = format!(
                "wrong number of arguments for aggregate expression provided, expected {desired}, got {}",
                args.len()
            );
            return Err(self.err(span.start, span.end, msg));
        }
        let mut args = args.into_iter();
        let param = if desired == 2 { args.next().map(Box::new) } else { None };
        let expr = Box::new(args.next().expect("one argument"));
        let (grouping, without) = grouping;
        self.node(
            Expr::Aggregate(AggregateExpr {
                op,
                expr,
                param,
                grouping,
                without,
                span,
            }),
            height + 1,
        )
    }

    fn parse_aggregate_modifier(&mut self) -> Result<(Vec<String>, bool)> {
        let without = self.next()?.typ == T::Without;
        Ok((self.parse_grouping_labels()?, without))
    }

    /// Ranges, subqueries, `offset` and `@` after a primary expression.
    fn parse_postfix(&mut self, mut node: Node) -> Result<Node> {
        loop {
            match self.peek_type()? {
                T::LeftBracket => node = self.parse_range(node)?,
                T::Offset => {
                    self.next()?;
                    self.parse_offset(&mut node.expr)?;
                }
                T::At => {
                    self.next()?;
                    self.parse_at(&mut node.expr)?;
                }
                _ => return Ok(node),
            }
        }
    }

    fn duration(&self, item: &Item) -> Result<i64> {
        parse_duration(self.val(item)).map_err(|e| self.err(item.pos, item.end, e))
    }

    /// `[range]` or `[range:step]` after an expression.
    fn parse_range(&mut self, node: Node) -> Result<Node> {
        let open = self.next()?;
        if self.peek_type()? != T::Duration {
            return Err(self.unexpected("subquery selector", "duration"));
        }
        let range_item = self.next()?;
        let range = self.duration(&range_item)?;
        match self.peek_type()? {
            T::RightBracket => {
                let close = self.next()?;
                let msg = match &*node.expr {
                    Expr::VectorSelector(vs) if vs.offset != 0 => Some("no offset modifiers allowed before range"),
                    Expr::VectorSelector(vs) if matches!(vs.at, Some(AtModifier::Timestamp(_))) => {
                        Some("no @ modifiers allowed before range")
                    }
                    Expr::VectorSelector(_) => None,
                    _ => Some("ranges only allowed for vector selectors"),
                };
                if let Some(msg) = msg {
                    return Err(self.err(open.pos, close.end, msg));
                }
                let Expr::VectorSelector(selector) = *node.expr else {
                    unreachable!("checked above")
                };
                let span = Span::new(selector.span.start, self.last_closing);
                Ok(Node {
                    expr: Box::new(Expr::MatrixSelector(MatrixSelector { selector, range, span })),
                    height: 1,
                })
            }
            T::Colon => {
                self.next()?;
                let step = match self.peek_type()? {
                    T::Duration => {
                        let step_item = self.next()?;
                        let step = self.duration(&step_item)?;
                        if self.peek_type()? != T::RightBracket {
                            return Err(self.unexpected("subquery selector", "\"]\""));
                        }
                        step
                    }
                    T::RightBracket => 0,
                    _ => return Err(self.unexpected("subquery selector", "duration or \"]\"")),
                };
                let close = self.next()?;
                let span = Span::new(node.expr.span().start, close.end);
                let expr = Expr::Subquery(SubqueryExpr {
                    expr: node.expr,
                    range,
                    step,
                    offset: 0,
                    at: None,
                    span,
                });
                self.node(expr, node.height + 1)
            }
            _ => Err(self.unexpected("subquery or range", "\":\" or \"]\"")),
        }
    }

    /// `offset [-]duration`, the `offset` consumed.
    fn parse_offset(&mut self, expr: &mut Expr) -> Result<()> {
        let negative = self.peek_type()? == T::Sub;
        if negative {
            self.next()?;
        }
        if self.peek_type()? != T::Duration {
            return Err(self.unexpected("offset", "duration"));
        }
        let item = self.next()?;
        let d = self.duration(&item)?;
        let offset = if negative { -d } else { d };
        let span = expr.span();
        let last_closing = self.last_closing;
        let (slot, end) = match expr {
            Expr::VectorSelector(vs) => (&mut vs.offset, &mut vs.span.end),
            Expr::MatrixSelector(ms) => (&mut ms.selector.offset, &mut ms.span.end),
            Expr::Subquery(sq) => (&mut sq.offset, &mut sq.span.end),
            _ => {
                let msg = "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery";
                return Err(self.err(span.start, span.end, msg));
            }
        };
        if *slot != 0 {
            return Err(self.err(span.start, span.end, "offset may not be set multiple times"));
        }
        *slot = offset;
        *end = last_closing;
        Ok(())
    }

    /// `@ timestamp`, `@ start()` or `@ end()`, the `@` consumed.
    fn parse_at(&mut self, expr: &mut Expr) -> Result<()> {
        const EXPECTED: &str = "timestamp";
        let at = match self.peek_type()? {
            T::Number | T::Add | T::Sub => {
                let sign = match self.peek_type()? {
                    T::Sub => {
                        self.next()?;
                        -1.0
                    }
                    T::Add => {
                        self.next()?;
                        1.0
                    }
                    _ => 1.0,
                };
                if self.peek_type()? != T::Number {
                    return Err(self.unexpected("@", EXPECTED));
                }
                let item = self.next()?;
                let ts = sign * self.number(&item)?;
                if ts.is_nan() || ts.is_infinite() || ts >= i64::MAX as f64 || ts <= i64::MIN as f64 {
                    let span = expr.span();
                    let msg = format!(
                        "timestamp out of bounds for @ modifier: {}",
                        crate::go::format_float_f(ts)
                    );
                    return Err(self.err(span.start, span.end, msg));
                }
                AtModifier::Timestamp((ts * 1000.0).round() as i64)
            }
            t @ (T::Start | T::End) => {
                self.next()?;
                if self.peek_type()? != T::LeftParen {
                    return Err(self.unexpected("@", EXPECTED));
                }
                self.next()?;
                if self.peek_type()? != T::RightParen {
                    return Err(self.unexpected("@", EXPECTED));
                }
                self.next()?;
                if t == T::Start {
                    AtModifier::Start
                } else {
                    AtModifier::End
                }
            }
            _ => return Err(self.unexpected("@", EXPECTED)),
        };
        let span = expr.span();
        let last_closing = self.last_closing;
        let (slot, end) = match expr {
            Expr::VectorSelector(vs) => (&mut vs.at, &mut vs.span.end),
            Expr::MatrixSelector(ms) => (&mut ms.selector.at, &mut ms.span.end),
            Expr::Subquery(sq) => (&mut sq.at, &mut sq.span.end),
            _ => {
                let msg =
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery";
                return Err(self.err(span.start, span.end, msg));
            }
        };
        if slot.is_some() {
            return Err(self.err(span.start, span.end, "@ <timestamp> may not be set multiple times"));
        }
        *slot = Some(at);
        *end = last_closing;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("5ms"), Ok(5));
        assert_eq!(parse_duration("1y1w1d"), Ok((365 + 7 + 1) * 86_400_000));
        assert_eq!(parse_duration("0s"), Err("duration must be greater than 0".into()));
        assert_eq!(
            parse_duration("1m1h"),
            Err("not a valid duration string: \"1m1h\"".into())
        );
        assert_eq!(
            parse_duration("1hs"),
            Err("not a valid duration string: \"1hs\"".into())
        );
        assert_eq!(
            parse_duration("99999999999999999999y"),
            Err("duration out of range".into())
        );
        assert_eq!(parse_duration("300y"), Err("duration out of range".into()));
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(r#""a\"b\n\x41\101\u00e9\U0001F600""#), "a\"b\nAAé😀");
        assert_eq!(unquote(r"'a\'b'"), "a'b");
        assert_eq!(unquote(r"`a\nb`"), r"a\nb");
        assert_eq!(unquote(r#""\xff""#), "\u{FFFD}");
    }
}
