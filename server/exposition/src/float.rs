//! Number parsing with the exact acceptance rules of Prometheus'
//! `parseFloat`: Go's `strconv.ParseFloat(s, 64)`, but refusing any string
//! that contains `p`, `P` or `_` ("Keep to pre-Go 1.13 float formats").
//!
//! That leaves, after an optional sign:
//! * decimal numbers: `digits [. digits]`, `digits .` or `. digits`, with an
//!   optional exponent `e|E [sign] digits`;
//! * `inf` / `infinity` (any case, optionally signed) and `nan` (any case,
//!   never signed);
//! * nothing else: hexadecimal floats need a `p` exponent in Go and are
//!   therefore always refused, and so are surrounding spaces, `\r`, etc.
//!
//! A finite number that rounds to infinity is an error (Go returns
//! `ErrRange`, which Prometheus treats as a failure); underflow to zero is
//! not. Rounding is correct (round half to even) in both Go and Rust, so the
//! values are bit-identical.

/// Prometheus' `value.NormalNaN`: the bits of the NaN that every parsed
/// `NaN` gets (Go's `math.NaN()`), distinct from the staleness marker
/// `0x7ff0000000000002`.
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatError {
    /// `p`, `P` or `_` present (Prometheus' own message).
    Unsupported,
    Syntax,
    Range,
}

impl FloatError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            FloatError::Unsupported => "unsupported character in float",
            FloatError::Syntax => "invalid syntax",
            FloatError::Range => "value out of range",
        }
    }
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

fn syntax_or_unsupported(s: &[u8]) -> FloatError {
    if s.iter().any(|&c| matches!(c, b'p' | b'P' | b'_')) {
        FloatError::Unsupported
    } else {
        FloatError::Syntax
    }
}

/// Go's `special()`: infinities (signed or not) and an unsigned NaN.
fn special(s: &[u8]) -> Result<f64, FloatError> {
    let (neg, signed, rest) = match s.first() {
        Some(b'-') => (true, true, &s[1..]),
        Some(b'+') => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Ok(if neg { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if !signed && rest.eq_ignore_ascii_case(b"nan") {
        return Ok(f64::from_bits(NORMAL_NAN_BITS));
    }
    Err(syntax_or_unsupported(s))
}

/// Parses a sample value or an OpenMetrics timestamp like Prometheus does.
pub(crate) fn parse_float(s: &[u8]) -> Result<f64, FloatError> {
    let n = s.len();
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut mant: u64 = 0;
    let mut digits = 0u32; // significant digits kept in `mant`
    let mut exp10: i64 = 0;
    let mut saw_digit = false;
    let mut saw_dot = false;
    let mut truncated = false;
    while let Some(&c) = s.get(i) {
        if c.is_ascii_digit() {
            saw_digit = true;
            if mant == 0 && c == b'0' {
                if saw_dot {
                    exp10 -= 1;
                }
            } else if digits < 19 {
                mant = mant * 10 + u64::from(c - b'0');
                digits += 1;
                if saw_dot {
                    exp10 -= 1;
                }
            } else {
                truncated = true;
                if !saw_dot {
                    exp10 += 1;
                }
            }
        } else if c == b'.' && !saw_dot {
            saw_dot = true;
        } else {
            break;
        }
        i += 1;
    }
    if !saw_digit {
        return special(s);
    }
    if let Some(&c) = s.get(i)
        && c | 0x20 == b'e'
    {
        i += 1;
        let eneg = match s.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        if !s.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(syntax_or_unsupported(s));
        }
        let mut e: i64 = 0;
        while let Some(&c) = s.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            if e < 1_000_000 {
                e = e * 10 + i64::from(c - b'0');
            }
            i += 1;
        }
        exp10 += if eneg { -e } else { e };
    }
    if i != n {
        return Err(syntax_or_unsupported(s));
    }
    // Clinger's fast path: both operands exact, one rounding.
    if !truncated && mant <= (1u64 << 53) && (-22..=22).contains(&exp10) {
        let m = mant as f64;
        let idx = exp10.unsigned_abs() as usize;
        let p = POW10.get(idx).copied().unwrap_or(1.0);
        let v = if exp10 < 0 { m / p } else { m * p };
        return Ok(if neg { -v } else { v });
    }
    // The syntax is valid Go (and Rust) decimal syntax, all ASCII.
    let text = std::str::from_utf8(s).map_err(|_| FloatError::Syntax)?;
    let v: f64 = text.parse().map_err(|_| FloatError::Syntax)?;
    if v.is_infinite() {
        return Err(FloatError::Range);
    }
    Ok(v)
}

/// Text-format timestamps: the lexer only lets `[0-9]+` through; Go's
/// `strconv.ParseInt(s, 10, 64)` then fails above `i64::MAX`.
pub(crate) fn parse_int_timestamp(s: &[u8]) -> Option<i64> {
    let mut v: i64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    if s.is_empty() { None } else { Some(v) }
}

/// OpenMetrics timestamps are float seconds; Prometheus converts them with
/// `int64(ts * 1000)`, i.e. truncation toward zero of the rounded product
/// (so `1.001` becomes 1000 ms, not 1001). Go leaves out-of-range
/// conversions implementation-defined; Rust saturates.
pub(crate) fn seconds_to_millis(ts: f64) -> i64 {
    (ts * 1000.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> f64 {
        parse_float(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
    }
    fn bad(s: &str) -> FloatError {
        parse_float(s.as_bytes()).expect_err(s)
    }

    #[test]
    fn decimal_forms() {
        assert_eq!(ok("1"), 1.0);
        assert_eq!(ok("+1"), 1.0);
        assert_eq!(ok("-1.5"), -1.5);
        assert_eq!(ok("1e3"), 1000.0);
        assert_eq!(ok("1E+3"), 1000.0);
        assert_eq!(ok("1.e-3"), 0.001);
        assert_eq!(ok(".5"), 0.5);
        assert_eq!(ok("5."), 5.0);
        assert_eq!(ok("-.5e1"), -5.0);
        assert_eq!(ok("007"), 7.0);
        assert_eq!(ok("4.9351e-05"), 4.9351e-05);
        assert_eq!(ok("7.424100000000001e-05"), 7.424100000000001e-05);
        assert_eq!(ok("1.2345e+06"), 1.2345e+06);
        assert_eq!(ok("0.1"), 0.1);
        assert_eq!(ok("123456789012345678901234567890"), 1.2345678901234568e29);
        assert_eq!(ok("1e-400"), 0.0);
        assert_eq!(ok("1.7976931348623157e308"), f64::MAX);
        assert!(ok("-0").is_sign_negative());
        assert_eq!(ok("9007199254740993"), 9007199254740992.0);
        assert_eq!(ok("0.000000000000000000000000000001"), 1e-30);
    }

    #[test]
    fn special_values() {
        assert_eq!(ok("+Inf"), f64::INFINITY);
        assert_eq!(ok("Inf"), f64::INFINITY);
        assert_eq!(ok("-inf"), f64::NEG_INFINITY);
        assert_eq!(ok("INFINITY"), f64::INFINITY);
        assert_eq!(ok("-Infinity"), f64::NEG_INFINITY);
        assert_eq!(ok("NaN").to_bits(), NORMAL_NAN_BITS);
        assert_eq!(ok("nan").to_bits(), NORMAL_NAN_BITS);
        assert_eq!(bad("+NaN"), FloatError::Syntax);
        assert_eq!(bad("-nan"), FloatError::Syntax);
        assert_eq!(bad("infin"), FloatError::Syntax);
        assert_eq!(bad("infinityy"), FloatError::Syntax);
    }

    #[test]
    fn refused_forms() {
        for s in [
            "", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "1 ", " 1", "1\r", "0x10", "true", "1,5", "--1", "+-1",
            "1e5.5", "٣",
        ] {
            assert_eq!(bad(s), FloatError::Syntax, "{s:?}");
        }
        for s in ["1_000", "0x1p-3", "0x1P-3", "p", "1_2"] {
            assert_eq!(bad(s), FloatError::Unsupported, "{s:?}");
        }
        assert_eq!(bad("1e309"), FloatError::Range);
        assert_eq!(bad("-1e400"), FloatError::Range);
    }

    #[test]
    fn fast_path_agrees_with_std() {
        let samples = [
            "0.005",
            "0.01",
            "0.025",
            "0.05",
            "0.1",
            "0.25",
            "0.5",
            "1",
            "2.5",
            "5",
            "10",
            "3.14159",
            "2.718281828459045",
            "1e22",
            "1e-22",
            "123456789.123",
            "9007199254740992",
            "4503599627370497.5",
            "0.30000000000000004",
            "1.0e10",
            "99999999999999999999",
        ];
        for s in samples {
            assert_eq!(ok(s).to_bits(), s.parse::<f64>().unwrap().to_bits(), "{s}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_int_timestamp(b"1520879607789"), Some(1520879607789));
        assert_eq!(parse_int_timestamp(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int_timestamp(b"9223372036854775808"), None);
        assert_eq!(seconds_to_millis(1520879607.789), 1520879607789);
        assert_eq!(seconds_to_millis(123.123), 123123);
        // The float product truncates: Go's int64(1.001*1000) is 1000.
        assert_eq!(seconds_to_millis(1.001), 1000);
        assert_eq!(seconds_to_millis(-1.5), -1500);
        assert_eq!(seconds_to_millis(1e300), i64::MAX);
    }
}
