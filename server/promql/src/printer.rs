//! Canonical PromQL text, as Prometheus' `String()` methods (`promql/parser/printer.go`) write it.

use std::fmt::{self, Display, Formatter, Write as _};

use crate::ast::*;
use crate::go;
use crate::matcher::MatchOp;

/// Prometheus' `model.Duration.String()` of a positive number of milliseconds: `1h30m`, `5m`,
/// `1w`, `90d`, `10ms`; `0s` for zero. Years and weeks are used only when they divide evenly.
pub fn format_duration(ms: i64) -> String {
    let mut ms = ms;
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut unit = |name: &str, mult: i64, exact: bool| {
        if exact && ms % mult != 0 {
            return;
        }
        let v = ms / mult;
        if v > 0 {
            let _ = write!(out, "{v}{name}");
            ms -= v * mult;
        }
    };
    const DAY: i64 = 24 * 60 * 60 * 1000;
    unit("y", 365 * DAY, true);
    unit("w", 7 * DAY, true);
    unit("d", DAY, false);
    unit("h", 60 * 60 * 1000, false);
    unit("m", 60 * 1000, false);
    unit("s", 1000, false);
    unit("ms", 1, false);
    out
}

fn write_modifiers(f: &mut Formatter<'_>, at: Option<AtModifier>, offset: i64) -> fmt::Result {
    match at {
        Some(AtModifier::Timestamp(ms)) => write!(f, " @ {:.3}", ms as f64 / 1000.0)?,
        Some(AtModifier::Start) => f.write_str(" @ start()")?,
        Some(AtModifier::End) => f.write_str(" @ end()")?,
        None => {}
    }
    if offset > 0 {
        write!(f, " offset {}", format_duration(offset))?;
    } else if offset < 0 {
        write!(f, " offset -{}", format_duration(-offset))?;
    }
    Ok(())
}

impl VectorSelector {
    /// The selector without its `@` and `offset`.
    fn write_selector(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut labels: Vec<String> = self
            .matchers
            .iter()
            .filter(|m| !(m.name == "__name__" && m.op == MatchOp::Equal && m.value == self.name))
            .map(ToString::to_string)
            .collect();
        f.write_str(&self.name)?;
        if !labels.is_empty() {
            labels.sort();
            write!(f, "{{{}}}", labels.join(","))?;
        }
        Ok(())
    }
}

impl Display for VectorSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.write_selector(f)?;
        write_modifiers(f, self.at, self.offset)
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => f.write_str(&go::format_float(n.value)),
            Expr::String(s) => f.write_str(&go::quote(&s.value)),
            Expr::VectorSelector(v) => v.fmt(f),
            Expr::MatrixSelector(m) => {
                m.selector.write_selector(f)?;
                write!(f, "[{}]", format_duration(m.range))?;
                write_modifiers(f, m.selector.at, m.selector.offset)
            }
            Expr::Subquery(s) => {
                write!(f, "{}[{}:", s.expr, format_duration(s.range))?;
                if s.step != 0 {
                    f.write_str(&format_duration(s.step))?;
                }
                f.write_str("]")?;
                write_modifiers(f, s.at, s.offset)
            }
            Expr::Paren(p) => write!(f, "({})", p.expr),
            Expr::Unary(u) => {
                let op = match u.op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Plus => "+",
                };
                write!(f, "{op}{}", u.expr)
            }
            Expr::Binary(b) => {
                // A signed literal (`-1`, `+Inf`) before `^` would read back as a sign over the
                // power: `+Inf ^ x` is `+(Inf ^ x)`.
                let signed = |e: &Expr| matches!(e, Expr::Number(n) if n.value < 0.0 || n.value == f64::INFINITY);
                if b.op == BinaryOp::Pow && signed(&b.lhs) {
                    write!(f, "({}) {}", b.lhs, b.op.as_str())?;
                } else {
                    write!(f, "{} {}", b.lhs, b.op.as_str())?;
                }
                if b.return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(vm) = &b.matching
                    && (!vm.matching_labels.is_empty() || vm.on)
                {
                    let tag = if vm.on { "on" } else { "ignoring" };
                    write!(f, " {tag} ({})", vm.matching_labels.join(", "))?;
                    match vm.card {
                        Cardinality::ManyToOne => write!(f, " group_left ({})", vm.include.join(", "))?,
                        Cardinality::OneToMany => write!(f, " group_right ({})", vm.include.join(", "))?,
                        _ => {}
                    }
                }
                write!(f, " {}", b.rhs)
            }
            Expr::Aggregate(a) => {
                f.write_str(a.op.as_str())?;
                if a.without {
                    write!(f, " without ({}) ", a.grouping.join(", "))?;
                } else if !a.grouping.is_empty() {
                    write!(f, " by ({}) ", a.grouping.join(", "))?;
                }
                f.write_str("(")?;
                if let Some(p) = &a.param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{})", a.expr)
            }
            Expr::Call(c) => {
                write!(f, "{}(", c.func.name)?;
                for (i, arg) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_duration;

    #[test]
    fn durations_print_like_prometheus() {
        for (ms, s) in [
            (0, "0s"),
            (1, "1ms"),
            (1500, "1s500ms"),
            (90 * 60_000, "1h30m"),
            (86_400_000 * 90, "90d"),
            (86_400_000 * 14, "2w"),
            (86_400_000 * 365, "1y"),
            (86_400_000 * 366, "366d"),
            (86_400_000 * 8, "8d"),
        ] {
            assert_eq!(format_duration(ms), s);
        }
    }
}
