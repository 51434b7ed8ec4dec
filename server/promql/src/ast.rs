//! The PromQL syntax tree, shaped after Prometheus' `promql/parser/ast.go`.
//!
//! Durations and offsets are whole milliseconds (Prometheus' `model.Duration` resolution);
//! timestamps of the `@` modifier are Unix milliseconds.
//!
//! Every node carries a [`Span`] for error messages. Spans never take part in equality: two
//! trees are equal when they mean the same query, wherever it was written.

use crate::functions::Function;
use crate::matcher::Matcher;

/// A byte range of the query text. All spans compare equal (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The type of a PromQL expression's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    None,
    Scalar,
    Vector,
    Matrix,
    String,
}

impl ValueType {
    /// Prometheus' `ValueType` string: `scalar`, `vector`, `matrix`, `string`, `none`.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::None => "none",
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }

    /// Prometheus' `DocumentedType`: `range vector` and `instant vector` for the vector types.
    pub fn documented(self) -> &'static str {
        match self {
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            other => other.name(),
        }
    }
}

/// A PromQL expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Number(NumberLiteral),
    String(StringLiteral),
    VectorSelector(VectorSelector),
    MatrixSelector(MatrixSelector),
    Subquery(SubqueryExpr),
    Paren(ParenExpr),
    Unary(UnaryExpr),
    Binary(BinaryExpr),
    Aggregate(AggregateExpr),
    Call(Call),
}

/// A number literal. `-1` is a literal of value -1, not a negation: the parser folds a sign
/// into a literal it applies to directly, as Prometheus does. NaN equals NaN here.
#[derive(Clone, Debug)]
pub struct NumberLiteral {
    pub value: f64,
    pub span: Span,
}

impl PartialEq for NumberLiteral {
    fn eq(&self, other: &Self) -> bool {
        self.value.to_bits() == other.value.to_bits() || (self.value.is_nan() && other.value.is_nan())
    }
}

/// A string literal, unquoted.
#[derive(Clone, Debug, PartialEq)]
pub struct StringLiteral {
    pub value: String,
    pub span: Span,
}

/// The `@` modifier of a selector or subquery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtModifier {
    /// `@ <timestamp>`, in Unix milliseconds.
    Timestamp(i64),
    /// `@ start()`: the start of the range query (the evaluation time of an instant query).
    Start,
    /// `@ end()`: the end of the range query (the evaluation time of an instant query).
    End,
}

/// An instant vector selector: `name{matchers} @ t offset d`.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorSelector {
    /// The metric name written before the braces; empty when there is none.
    pub name: String,
    /// All matchers in query order; a written metric name comes last as a `__name__="name"`
    /// matcher, as in Prometheus.
    pub matchers: Vec<Matcher>,
    /// The `offset` in milliseconds, negative for a negative offset; 0 when there is none.
    pub offset: i64,
    pub at: Option<AtModifier>,
    pub span: Span,
}

/// A range vector selector: `selector[range]`. The selector holds the `offset` and `@`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSelector {
    pub selector: VectorSelector,
    /// The range in milliseconds (always > 0).
    pub range: i64,
    pub span: Span,
}

/// A subquery: `expr[range:step] @ t offset d`.
#[derive(Clone, Debug, PartialEq)]
pub struct SubqueryExpr {
    pub expr: Box<Expr>,
    /// The range in milliseconds (always > 0).
    pub range: i64,
    /// The resolution in milliseconds; 0 when omitted (the global evaluation interval).
    pub step: i64,
    /// The `offset` in milliseconds, negative for a negative offset; 0 when there is none.
    pub offset: i64,
    pub at: Option<AtModifier>,
    pub span: Span,
}

/// A parenthesised expression, kept so that printing keeps the query's grouping.
#[derive(Clone, Debug, PartialEq)]
pub struct ParenExpr {
    pub expr: Box<Expr>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Plus,
}

/// `-expr` or `+expr` on anything but a number literal.
#[derive(Clone, Debug, PartialEq)]
pub struct UnaryExpr {
    pub op: UnaryOp,
    pub expr: Box<Expr>,
    pub span: Span,
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    And,
    Or,
    Unless,
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Eql => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Gtr => ">",
            BinaryOp::Lss => "<",
            BinaryOp::Gte => ">=",
            BinaryOp::Lte => "<=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Unless => "unless",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eql | BinaryOp::Neq | BinaryOp::Gtr | BinaryOp::Lss | BinaryOp::Gte | BinaryOp::Lte
        )
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }

    /// Precedence, higher binds tighter: `or` 1, `and`/`unless` 2, comparisons 3, `+ -` 4,
    /// `* / % atan2` 5, `^` 6 (the only right-associative one).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And | BinaryOp::Unless => 2,
            op if op.is_comparison() => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Pow => 6,
            _ => 5,
        }
    }

    pub fn is_right_associative(self) -> bool {
        self == BinaryOp::Pow
    }

    pub const ALL: [BinaryOp; 16] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Mod,
        BinaryOp::Pow,
        BinaryOp::Atan2,
        BinaryOp::Eql,
        BinaryOp::Neq,
        BinaryOp::Gtr,
        BinaryOp::Lss,
        BinaryOp::Gte,
        BinaryOp::Lte,
        BinaryOp::And,
        BinaryOp::Or,
        BinaryOp::Unless,
    ];
}

/// How the two sides of a binary operation between instant vectors pair up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cardinality {
    OneToOne,
    /// `group_left`.
    ManyToOne,
    /// `group_right`.
    OneToMany,
    /// Set operators.
    ManyToMany,
}

/// `on(…)`/`ignoring(…)` and `group_left(…)`/`group_right(…)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorMatching {
    pub card: Cardinality,
    /// The labels of `on(…)`, or of `ignoring(…)` when `on` is false.
    pub matching_labels: Vec<String>,
    pub on: bool,
    /// The extra labels of `group_left(…)`/`group_right(…)`.
    pub include: Vec<String>,
}

/// `lhs op [bool] [on(…)|ignoring(…) [group_left(…)|group_right(…)]] rhs`.
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryExpr {
    pub op: BinaryOp,
    pub lhs: Box<Expr>,
    pub rhs: Box<Expr>,
    pub return_bool: bool,
    /// Present exactly when both sides are instant vectors (the type check clears it
    /// otherwise, as Prometheus does); set operators always have `ManyToMany`.
    pub matching: Option<VectorMatching>,
}

/// An aggregation operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    CountValues,
    Quantile,
}

impl AggregateOp {
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateOp::Sum => "sum",
            AggregateOp::Avg => "avg",
            AggregateOp::Count => "count",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Group => "group",
            AggregateOp::Stddev => "stddev",
            AggregateOp::Stdvar => "stdvar",
            AggregateOp::Topk => "topk",
            AggregateOp::Bottomk => "bottomk",
            AggregateOp::CountValues => "count_values",
            AggregateOp::Quantile => "quantile",
        }
    }

    /// Whether the operator takes a parameter before the expression.
    pub fn takes_param(self) -> bool {
        matches!(
            self,
            AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::CountValues | AggregateOp::Quantile
        )
    }

    pub const ALL: [AggregateOp; 12] = [
        AggregateOp::Sum,
        AggregateOp::Avg,
        AggregateOp::Count,
        AggregateOp::Min,
        AggregateOp::Max,
        AggregateOp::Group,
        AggregateOp::Stddev,
        AggregateOp::Stdvar,
        AggregateOp::Topk,
        AggregateOp::Bottomk,
        AggregateOp::CountValues,
        AggregateOp::Quantile,
    ];
}

/// `op [by|without (labels)] ([param,] expr)`.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateExpr {
    pub op: AggregateOp,
    pub expr: Box<Expr>,
    /// The parameter of `topk`, `bottomk`, `quantile` (a scalar) and `count_values` (a string).
    pub param: Option<Box<Expr>>,
    /// The labels of `by (…)` or `without (…)`.
    pub grouping: Vec<String>,
    pub without: bool,
    pub span: Span,
}

/// A function call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub func: &'static Function,
    pub args: Vec<Expr>,
    pub span: Span,
}

impl Expr {
    /// The type of the expression's value, as Prometheus' `Expr.Type()`.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::VectorSelector(_) | Expr::Aggregate(_) => ValueType::Vector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Paren(p) => p.expr.value_type(),
            Expr::Unary(u) => u.expr.value_type(),
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar && b.rhs.value_type() == ValueType::Scalar {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Call(c) => c.func.return_type,
        }
    }

    /// The node's position in the query, as Prometheus' `PositionRange()`.
    pub fn span(&self) -> Span {
        match self {
            Expr::Number(n) => n.span,
            Expr::String(s) => s.span,
            Expr::VectorSelector(v) => v.span,
            Expr::MatrixSelector(m) => m.span,
            Expr::Subquery(s) => s.span,
            Expr::Paren(p) => p.span,
            Expr::Unary(u) => u.span,
            Expr::Binary(b) => Span::new(b.lhs.span().start, b.rhs.span().end),
            Expr::Aggregate(a) => a.span,
            Expr::Call(c) => c.span,
        }
    }

    /// The direct sub-expressions, in query order.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => Vec::new(),
            Expr::Subquery(s) => vec![&s.expr],
            Expr::Paren(p) => vec![&p.expr],
            Expr::Unary(u) => vec![&u.expr],
            Expr::Binary(b) => vec![&b.lhs, &b.rhs],
            Expr::Aggregate(a) => a.param.iter().map(|p| &**p).chain(std::iter::once(&*a.expr)).collect(),
            Expr::Call(c) => c.args.iter().collect(),
        }
    }
}
