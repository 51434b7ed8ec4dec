//! The type check Prometheus runs on a syntactically valid query (`checkAST` in
//! `promql/parser/parse.go`), reporting the first error it would report.
//!
//! Like Prometheus, it also settles the vector matching of binary expressions: set operators
//! become many-to-many, and the matching is dropped unless both sides are instant vectors.

use crate::ParseError;
use crate::ast::*;

pub(crate) struct Checker<'a> {
    pub(crate) input: &'a str,
}

type Result<T> = std::result::Result<T, ParseError>;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl Checker<'_> {
    fn err(&self, span: Span, msg: String) -> ParseError {
        ParseError::new(self.input, span.start, span.end, msg)
    }

    fn expect_type(&self, e: &mut Expr, want: ValueType, context: &str) -> Result<()> {
        let t = self.check(e)?;
        if t != want {
            return Err(self.err(
                e.span(),
                format!(
                    "expected type {} in {context}, got {}",
                    want.documented(),
                    t.documented()
                ),
            ));
        }
        Ok(())
    }

    /// The operator's position in a binary expression: the first non-space after the
    /// left-hand side.
    fn op_span(&self, b: &BinaryExpr) -> Span {
        let bytes = self.input.as_bytes();
        let mut start = b.lhs.span().end;
        while start < bytes.len() && is_space(bytes[start]) {
            start += 1;
        }
        let mut end = b.rhs.span().start.saturating_sub(1);
        while end > start && end < bytes.len() && is_space(bytes[end]) {
            end -= 1;
        }
        Span::new(start, end)
    }

    pub(crate) fn check(&self, e: &mut Expr) -> Result<ValueType> {
        let typ = e.value_type();
        let span = e.span();
        match e {
            Expr::Aggregate(a) => {
                self.expect_type(&mut a.expr, ValueType::Vector, "aggregation expression")?;
                match (a.op, a.param.as_mut()) {
                    (AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Quantile, Some(p)) => {
                        self.expect_type(p, ValueType::Scalar, "aggregation parameter")?
                    }
                    (AggregateOp::CountValues, Some(p)) => {
                        self.expect_type(p, ValueType::String, "aggregation parameter")?
                    }
                    _ => {}
                }
            }
            Expr::Binary(b) => {
                let lt = self.check(&mut b.lhs)?;
                let rt = self.check(&mut b.rhs)?;
                if b.return_bool && !b.op.is_comparison() {
                    return Err(self.err(
                        self.op_span(b),
                        "bool modifier can only be used on comparison operators".into(),
                    ));
                }
                if b.op.is_comparison() && !b.return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar {
                    return Err(self.err(
                        self.op_span(b),
                        "comparisons between scalars must use BOOL modifier".into(),
                    ));
                }
                if let Some(vm) = b.matching.as_mut() {
                    if b.op.is_set() && vm.card == Cardinality::OneToOne {
                        vm.card = Cardinality::ManyToMany;
                    }
                    if vm.on
                        && let Some(l) = vm.matching_labels.iter().find(|l| vm.include.contains(l))
                    {
                        let msg = format!(
                            "label {} must not occur in ON and GROUP clause at once",
                            crate::go::quote(l)
                        );
                        return Err(self.err(self.op_span(b), msg));
                    }
                }
                let instant_or_scalar = |t| t == ValueType::Scalar || t == ValueType::Vector;
                if !instant_or_scalar(lt) {
                    let msg = "binary expression must contain only scalar and instant vector types";
                    return Err(self.err(b.lhs.span(), msg.into()));
                }
                if !instant_or_scalar(rt) {
                    let msg = "binary expression must contain only scalar and instant vector types";
                    return Err(self.err(b.rhs.span(), msg.into()));
                }
                if lt != ValueType::Vector || rt != ValueType::Vector {
                    if b.matching.as_ref().is_some_and(|vm| !vm.matching_labels.is_empty()) {
                        return Err(self.err(span, "vector matching only allowed between instant vectors".into()));
                    }
                    b.matching = None;
                } else if b.op.is_set()
                    && let Some(vm) = &b.matching
                {
                    if matches!(vm.card, Cardinality::OneToMany | Cardinality::ManyToOne) {
                        let msg = format!("no grouping allowed for \"{}\" operation", b.op.as_str());
                        return Err(self.err(span, msg));
                    }
                    if vm.card != Cardinality::ManyToMany {
                        return Err(self.err(span, "set operations must always be many-to-many".into()));
                    }
                }
                if (lt == ValueType::Scalar || rt == ValueType::Scalar) && b.op.is_set() {
                    let msg = format!(
                        "set operator \"{}\" not allowed in binary scalar expression",
                        b.op.as_str()
                    );
                    return Err(self.err(span, msg));
                }
            }
            Expr::Call(c) => {
                let nargs = c.func.arg_types.len();
                let name = crate::go::quote(c.func.name);
                if c.func.variadic == 0 {
                    if nargs != c.args.len() {
                        let msg = format!("expected {nargs} argument(s) in call to {name}, got {}", c.args.len());
                        return Err(self.err(span, msg));
                    }
                } else {
                    let na = nargs - 1;
                    if na > c.args.len() {
                        let msg = format!(
                            "expected at least {na} argument(s) in call to {name}, got {}",
                            c.args.len()
                        );
                        return Err(self.err(span, msg));
                    }
                    let max = na as i64 + i64::from(c.func.variadic);
                    if c.func.variadic > 0 && max < c.args.len() as i64 {
                        let msg = format!(
                            "expected at most {max} argument(s) in call to {name}, got {}",
                            c.args.len()
                        );
                        return Err(self.err(span, msg));
                    }
                }
                let context = format!("call to function {name}");
                for (i, arg) in c.args.iter_mut().enumerate() {
                    let i = if i >= nargs {
                        if c.func.variadic == 0 {
                            break;
                        }
                        nargs - 1
                    } else {
                        i
                    };
                    self.expect_type(arg, c.func.arg_types[i], &context)?;
                }
            }
            Expr::Paren(p) => {
                self.check(&mut p.expr)?;
            }
            Expr::Unary(u) => {
                let t = self.check(&mut u.expr)?;
                if t != ValueType::Scalar && t != ValueType::Vector {
                    let msg = format!(
                        "unary expression only allowed on expressions of type scalar or instant vector, got \"{}\"",
                        t.documented()
                    );
                    return Err(self.err(span, msg));
                }
            }
            Expr::Subquery(s) => {
                let t = self.check(&mut s.expr)?;
                if t != ValueType::Vector {
                    let msg = format!("subquery is only allowed on instant vector, got {} instead", t.name());
                    return Err(self.err(span, msg));
                }
            }
            Expr::MatrixSelector(m) => self.check_selector(&m.selector)?,
            Expr::VectorSelector(v) => self.check_selector(v)?,
            Expr::Number(_) | Expr::String(_) => {}
        }
        Ok(typ)
    }

    fn check_selector(&self, v: &VectorSelector) -> Result<()> {
        if !v.name.is_empty() {
            // The last matcher is the one of the written name.
            let others = &v.matchers[..v.matchers.len().saturating_sub(1)];
            if let Some(m) = others.iter().find(|m| m.name == "__name__") {
                let msg = format!(
                    "metric name must not be set twice: {} or {}",
                    crate::go::quote(&v.name),
                    crate::go::quote(&m.value)
                );
                return Err(self.err(v.span, msg));
            }
            return Ok(());
        }
        if !v.matchers.iter().any(|m| !m.matches("")) {
            return Err(self.err(
                v.span,
                "vector selector must contain at least one non-empty matcher".into(),
            ));
        }
        Ok(())
    }
}
