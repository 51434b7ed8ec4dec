//! Property tests: no input makes the parser panic, hang or overflow the stack, and printing a
//! (well-formed) tree then parsing it gives the same tree back.

use proptest::prelude::*;
use vitrine_promql::*;

/// Pieces of PromQL, to reach deeper into the grammar than arbitrary text does.
const PIECES: &[&str] = &[
    "foo",
    "bar",
    "sum",
    "by",
    "without",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    "!=",
    "=~",
    "!~",
    "\"a\"",
    "'b'",
    "`c`",
    "5m",
    "1h30m",
    "0s",
    "1",
    "2.5",
    "-",
    "+",
    "*",
    "/",
    "%",
    "^",
    "==",
    ">",
    "<=",
    "and",
    "or",
    "unless",
    "atan2",
    "bool",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "@",
    "start()",
    "end()",
    ":",
    "rate",
    "topk",
    "count_values",
    "label_replace",
    "Inf",
    "NaN",
    "0x1F",
    "a:b",
    "#c\n",
    " ",
    "\n",
    "[5m]",
    "[5m:1m]",
    "{a=\"b\"}",
    "time()",
    "\"\\x41\"",
    "é",
    "\\",
    "!",
    "~",
    ";",
    "\"(\"",
];

fn pieces() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        let _ = parse(&input);
    }

    #[test]
    fn promql_like_text_never_panics_and_valid_output_reparses(input in pieces()) {
        if let Ok(expr) = parse(&input) {
            let printed = expr.to_string();
            let again = parse(&printed).unwrap_or_else(|e| panic!("{input:?} printed as {printed:?}: {e}"));
            prop_assert_eq!(printed, again.to_string());
        }
    }
}

/// Deep nesting is refused with an error, on the test thread's ordinary stack.
#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let n = 100_000;
    let inputs = [
        "(".repeat(n),
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}1", "-".repeat(n)),
        format!("{}1", "+-".repeat(n)),
        format!("1{}", " ^ 1".repeat(n)),
        format!("1{}", " + 1".repeat(n)),
        format!("1{}", " or 1".repeat(n)),
        format!("{}foo{}", "sum(".repeat(n), ")".repeat(n)),
        format!("{}foo{}", "abs(".repeat(n), ")".repeat(n)),
        format!("{}1{}", "vector(".repeat(n), ")".repeat(n)),
        format!("foo{}", "[1m:]".repeat(n)),
        format!("{}foo{}", "rate(".repeat(n), "[1m:])".repeat(n)),
        format!("{}foo", "sum by (a) (".repeat(n)),
    ];
    let unlimited_length = Limits {
        max_len: usize::MAX,
        ..Limits::default()
    };
    for input in inputs {
        let err = parse_with(&input, &unlimited_length).unwrap_err();
        assert!(
            err.message.contains("nested too deeply") || err.message.contains("unclosed"),
            "{}…: {err}",
            &input[..20]
        );
    }
    // Within the limit, all is well.
    let limits = Limits::default();
    let ok = format!(
        "{}1{}",
        "(".repeat(limits.max_depth - 1),
        ")".repeat(limits.max_depth - 1)
    );
    assert!(parse(&ok).is_ok());
}

/// A small deterministic generator of well-formed, type-correct trees: the shape the parser
/// produces (parentheses where precedence needs them, matchers in printed order, …).
struct Gen {
    state: u64,
}

const NAMES: &[&str] = &["foo", "bar_total", "job:rate5m", "a", "_x1", "http_requests_total"];
const LABELS: &[&str] = &["job", "instance", "le", "a", "b_c", "sum", "offset", "on"];
const VALUES: &[&str] = &[
    "",
    "x",
    "api",
    "a\"b",
    "é",
    "new\nline",
    "back\\slash",
    "tab\t",
    "\u{7f}",
    "😀",
];
const REGEXES: &[&str] = &["a.*", "b|c", "[0-9]+", "(?i)x", "\\d", ".+"];

impl Gen {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn duration(&mut self) -> i64 {
        let units = [1, 1000, 60_000, 3_600_000, 86_400_000, 7 * 86_400_000, 365 * 86_400_000];
        let mut d = 0;
        for _ in 0..=self.below(2) {
            d += (1 + self.below(90) as i64) * *self.pick(&units);
        }
        d
    }

    fn modifiers(&mut self) -> (i64, Option<AtModifier>) {
        let offset = if self.chance(30) {
            let d = self.duration();
            if self.chance(30) { -d } else { d }
        } else {
            0
        };
        let at = match self.below(10) {
            0 => Some(AtModifier::Start),
            1 => Some(AtModifier::End),
            2 => Some(AtModifier::Timestamp(self.next() as i64 % 4_000_000_000_000)),
            _ => None,
        };
        (offset, at)
    }

    fn selector(&mut self, with_modifiers: bool) -> VectorSelector {
        let name = if self.chance(80) {
            self.pick(NAMES).to_string()
        } else {
            String::new()
        };
        let mut matchers: Vec<Matcher> = Vec::new();
        for _ in 0..self.below(3) {
            let op = *self.pick(&[MatchOp::Equal, MatchOp::NotEqual, MatchOp::Regex, MatchOp::NotRegex]);
            let value = match op {
                MatchOp::Regex | MatchOp::NotRegex => self.pick(REGEXES).to_string(),
                _ => self.pick(VALUES).to_string(),
            };
            matchers.push(Matcher::new(op, self.pick::<&str>(LABELS), &value, 1 << 16).unwrap());
        }
        if name.is_empty() {
            matchers.push(Matcher::new(MatchOp::Equal, self.pick::<&str>(LABELS), "nonempty", 1 << 16).unwrap());
        }
        // The printer sorts matchers, so parsing a printed selector gives them sorted.
        matchers.sort_by_key(|m| m.to_string());
        if !name.is_empty() {
            matchers.push(Matcher::new(MatchOp::Equal, "__name__", &name, 1 << 16).unwrap());
        }
        let (offset, at) = if with_modifiers { self.modifiers() } else { (0, None) };
        VectorSelector {
            name,
            matchers,
            offset,
            at,
            span: Span::default(),
        }
    }

    fn number(&mut self) -> Expr {
        let value = match self.below(8) {
            0 => f64::INFINITY,
            1 => f64::NEG_INFINITY,
            2 => f64::NAN,
            3 => f64::from_bits(self.next()),
            4 => -(self.below(1000) as f64),
            5 => self.below(1000) as f64 / 8.0,
            _ => self.below(100) as f64,
        };
        let value = if value.is_nan() { f64::NAN } else { value };
        Expr::Number(NumberLiteral {
            value,
            span: Span::default(),
        })
    }

    fn paren(e: Expr) -> Expr {
        Expr::Paren(ParenExpr {
            expr: Box::new(e),
            span: Span::default(),
        })
    }

    /// Wraps what would read differently as a primary (before `[…]`, or under a unary sign).
    fn primary(e: Expr) -> Expr {
        match e {
            Expr::Binary(_) | Expr::Unary(_) => Self::paren(e),
            Expr::Number(ref n) if n.value.is_sign_negative() || n.value.is_infinite() => Self::paren(e),
            e => e,
        }
    }

    fn typed(&mut self, t: ValueType, depth: usize) -> Expr {
        match t {
            ValueType::Vector => self.vector(depth),
            ValueType::Scalar => self.scalar(depth),
            ValueType::Matrix => self.matrix(depth),
            _ => Expr::String(StringLiteral {
                value: self.pick(VALUES).to_string(),
                span: Span::default(),
            }),
        }
    }

    fn matrix(&mut self, depth: usize) -> Expr {
        if depth == 0 || self.chance(60) {
            let mut selector = self.selector(false);
            (selector.offset, selector.at) = self.modifiers();
            return Expr::MatrixSelector(MatrixSelector {
                selector,
                range: self.duration(),
                span: Span::default(),
            });
        }
        let inner = Self::primary(self.vector(depth - 1));
        let (offset, at) = self.modifiers();
        let step = if self.chance(50) { self.duration() } else { 0 };
        Expr::Subquery(SubqueryExpr {
            expr: Box::new(inner),
            range: self.duration(),
            step,
            offset,
            at,
            span: Span::default(),
        })
    }

    fn call(&mut self, want: ValueType, depth: usize) -> Option<Expr> {
        let candidates: Vec<&'static Function> = Dialect::Prometheus2_42
            .functions()
            .iter()
            .filter(|f| f.return_type == want)
            .collect();
        let func = *self.pick(&candidates);
        let n = func.arg_types.len();
        let count = match func.variadic {
            0 => n,
            -1 => n - 1 + self.below(3),
            v => n - 1 + self.below(v as usize + 1),
        };
        let args = (0..count)
            .map(|i| self.typed(func.arg_types[i.min(n.saturating_sub(1))], depth))
            .collect();
        Some(Expr::Call(Call {
            func,
            args,
            span: Span::default(),
        }))
    }

    fn unary(&mut self, operand: Expr) -> Expr {
        let operand = match operand {
            // A sign applied to a literal folds into it; `-a + b` groups as `(-a) + b`.
            Expr::Number(_) => Self::paren(operand),
            Expr::Binary(ref b) if b.op != BinaryOp::Pow => Self::paren(operand),
            e => e,
        };
        let op = if self.chance(70) { UnaryOp::Neg } else { UnaryOp::Plus };
        Expr::Unary(UnaryExpr {
            op,
            expr: Box::new(operand),
            span: Span::default(),
        })
    }

    fn binary(&mut self, op: BinaryOp, lhs: Expr, rhs: Expr, vectors: bool) -> Expr {
        let prec = op.precedence();
        let needs_paren = |e: &Expr, left: bool| match e {
            Expr::Binary(b) => {
                let p = b.op.precedence();
                p < prec || (p == prec && (left == op.is_right_associative()))
            }
            Expr::Unary(_) => left && op == BinaryOp::Pow,
            Expr::Number(n) => left && op == BinaryOp::Pow && (n.value.is_sign_negative() || n.value.is_infinite()),
            _ => false,
        };
        let lhs = if needs_paren(&lhs, true) { Self::paren(lhs) } else { lhs };
        let rhs = if needs_paren(&rhs, false) {
            Self::paren(rhs)
        } else {
            rhs
        };
        let return_bool = op.is_comparison() && (!vectors || self.chance(50));
        let matching = vectors.then(|| {
            if op.is_set() {
                let on = self.chance(50);
                let labels = if on || self.chance(50) {
                    self.labels()
                } else {
                    Vec::new()
                };
                return VectorMatching {
                    card: Cardinality::ManyToMany,
                    matching_labels: labels,
                    on,
                    include: Vec::new(),
                };
            }
            match self.below(4) {
                0 => VectorMatching {
                    card: Cardinality::OneToOne,
                    matching_labels: Vec::new(),
                    on: false,
                    include: Vec::new(),
                },
                1 => VectorMatching {
                    card: Cardinality::OneToOne,
                    matching_labels: self.labels(),
                    on: self.chance(50),
                    include: Vec::new(),
                },
                _ => {
                    let on = self.chance(50);
                    let mut matching_labels = self.labels();
                    if !on && matching_labels.is_empty() {
                        matching_labels.push("x".into());
                    }
                    let include = self
                        .labels()
                        .into_iter()
                        .filter(|l| !on || !matching_labels.contains(l))
                        .collect();
                    let card = if self.chance(50) {
                        Cardinality::ManyToOne
                    } else {
                        Cardinality::OneToMany
                    };
                    VectorMatching {
                        card,
                        matching_labels,
                        on,
                        include,
                    }
                }
            }
        });
        Expr::Binary(BinaryExpr {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            return_bool,
            matching,
        })
    }

    fn labels(&mut self) -> Vec<String> {
        let mut v: Vec<String> = (0..self.below(3)).map(|_| self.pick(LABELS).to_string()).collect();
        v.dedup();
        v
    }

    fn vector(&mut self, depth: usize) -> Expr {
        if depth == 0 {
            return Expr::VectorSelector(self.selector(true));
        }
        match self.below(7) {
            0 => Expr::VectorSelector(self.selector(true)),
            1 => self.call(ValueType::Vector, depth - 1).unwrap(),
            2 => {
                let op = *self.pick(&AggregateOp::ALL);
                let param = match op {
                    AggregateOp::CountValues => Some(Box::new(self.typed(ValueType::String, 0))),
                    op if op.takes_param() => Some(Box::new(self.scalar(depth - 1))),
                    _ => None,
                };
                let without = self.chance(30);
                Expr::Aggregate(AggregateExpr {
                    op,
                    expr: Box::new(self.vector(depth - 1)),
                    param,
                    grouping: self.labels(),
                    without,
                    span: Span::default(),
                })
            }
            3 => {
                let op = *self.pick(&BinaryOp::ALL);
                let (lhs, rhs, both) = match self.below(3) {
                    0 => (self.vector(depth - 1), self.vector(depth - 1), true),
                    1 if !op.is_set() => (self.vector(depth - 1), self.scalar(depth - 1), false),
                    2 if !op.is_set() => (self.scalar(depth - 1), self.vector(depth - 1), false),
                    _ => (self.vector(depth - 1), self.vector(depth - 1), true),
                };
                self.binary(op, lhs, rhs, both)
            }
            4 => Self::paren(self.vector(depth - 1)),
            5 => {
                let operand = self.vector(depth - 1);
                self.unary(operand)
            }
            _ => Expr::VectorSelector(self.selector(true)),
        }
    }

    fn scalar(&mut self, depth: usize) -> Expr {
        if depth == 0 {
            return self.number();
        }
        match self.below(6) {
            0 | 1 => self.number(),
            2 => self.call(ValueType::Scalar, depth - 1).unwrap(),
            3 => {
                let op = *self.pick(
                    &BinaryOp::ALL
                        .iter()
                        .copied()
                        .filter(|o| !o.is_set())
                        .collect::<Vec<_>>(),
                );
                let (lhs, rhs) = (self.scalar(depth - 1), self.scalar(depth - 1));
                self.binary(op, lhs, rhs, false)
            }
            4 => Self::paren(self.scalar(depth - 1)),
            _ => {
                let operand = self.scalar(depth - 1);
                self.unary(operand)
            }
        }
    }

    fn expr(&mut self) -> Expr {
        let depth = self.below(5);
        match self.below(10) {
            0 => self.scalar(depth),
            1 => self.matrix(depth),
            2 => self.typed(ValueType::String, 0),
            _ => self.vector(depth),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn generated_trees_survive_printing_and_parsing(seed in any::<u64>()) {
        let expr = Gen { state: seed | 1 }.expr();
        let printed = expr.to_string();
        let parsed = parse(&printed).unwrap_or_else(|e| panic!("{printed:?}: {e}\n{expr:#?}"));
        prop_assert_eq!(&parsed, &expr, "{}", printed);
        prop_assert_eq!(parsed.to_string(), printed);
    }
}
