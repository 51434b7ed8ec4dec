//! The bits of Go's `fmt` and `strconv` behaviour that show in Prometheus' messages and
//! printed queries: `%q` quoting, `%#U`, `%v` of a float, `%f`, and `strconv` number parsing.

use std::fmt::Write as _;

/// Go's `unicode.IsPrint`, approximated: letters, marks, numbers, punctuation, symbols and the
/// ASCII space. Rust has no general-category table, so control, format, separator and
/// private-use characters are excluded by range.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(
        u,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001..=0xE007F
            | 0xE000..=0xF8FF
            | 0xF0000..=0x10FFFF
    )
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Go's `strconv.Quote` (the `%q` verb on a string).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `%.Nq`: the first `n` characters of `s`, quoted.
pub(crate) fn quote_truncated(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => quote(&s[..i]),
        None => quote(s),
    }
}

/// Go's `strconv.QuoteRune` (the `%q` verb on a rune). `None` stands for Go's `eof` (-1), which
/// Go prints as the replacement character.
pub(crate) fn quote_rune(c: Option<char>) -> String {
    let c = c.unwrap_or('\u{FFFD}');
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}

/// Go's `%#U`: `U+0071 'q'`, or `U+000A` for a character that does not print.
pub(crate) fn format_u(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// Go's `%v` (and `fmt.Sprint`) of a `float64`: the shortest representation that reads back to
/// the same value, in `%e` form when the decimal exponent is below -4 or at least 6, as
/// `strconv.FormatFloat(f, 'g', -1, 64)` does.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".to_owned()
        } else {
            "0".to_owned()
        };
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: `1.234567e6`.
    let e = format!("{:e}", f);
    let (mantissa, exp) = e.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        // %e form: d.ddde±XX with at least two exponent digits.
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Go's `strconv.FormatFloat(f, 'E', -1, 64)`: the shortest digits that read back, always in
/// exponent form with a sign and at least two exponent digits (`1.1E+01`, `3E+00`).
pub fn format_float_exp(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() };
    }
    let e = format!("{f:E}");
    let (mantissa, exp) = e.split_once('E').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    format!("{mantissa}E{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

/// Go's `time.Duration.String()` of milliseconds: `0s`, `500ms`, `1.5s`, `2m0s`, `1h30m0s`.
pub fn format_time_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let (h, m) = (ms / 3_600_000, ms / 60_000 % 60);
    let mut secs = (ms % 60_000 / 1000).to_string();
    if !ms.is_multiple_of(1000) {
        let fraction = format!("{:03}", ms % 1000);
        secs = format!("{secs}.{}", fraction.trim_end_matches('0'));
    }
    match (h, m) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, m) => format!("{sign}{m}m{secs}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs}s"),
    }
}

/// Go's `%f` of a `float64` (six decimals, `+Inf`, `-Inf`, `NaN`).
pub(crate) fn format_float_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() }
    } else {
        format!("{f:.6}")
    }
}

/// `strconv.ParseInt(s, 0, 64)` for the forms the lexer lets through (no sign, no `_`).
fn parse_int_base0(s: &str) -> Option<i64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i64::from_str_radix(digits, radix).ok()
}

/// Prometheus' `parser.number`: an integer in Go's base-0 syntax, or else a float. The error is
/// the text of Go's `strconv.ParseFloat` error.
pub(crate) fn parse_number(s: &str) -> Result<f64, String> {
    if let Some(i) = parse_int_base0(s) {
        return Ok(i as f64);
    }
    let syntax = || format!("strconv.ParseFloat: parsing {}: invalid syntax", quote(s));
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("0x") {
        // Go's hexadecimal floats need a `p` exponent, which the lexer never lets through.
        return Err(syntax());
    }
    match lower.as_str() {
        "inf" | "infinity" => return Ok(f64::INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    // Go accepts digits with an optional fraction and exponent; so does Rust, which also takes
    // forms the lexer never produces.
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return Err(syntax());
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_infinite() => Err(format!("strconv.ParseFloat: parsing {}: value out of range", quote(s))),
        Ok(f) => Ok(f),
        Err(_) => Err(syntax()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponent_floats_and_durations_read_as_go_writes_them() {
        assert_eq!(format_float_exp(11.0), "1.1E+01");
        assert_eq!(format_float_exp(3.0), "3E+00");
        assert_eq!(format_float_exp(0.0), "0E+00");
        assert_eq!(format_float_exp(-0.00125), "-1.25E-03");
        assert_eq!(format_float_exp(1e300), "1E+300");
        assert_eq!(format_float_exp(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_time_duration(0), "0s");
        assert_eq!(format_time_duration(500), "500ms");
        assert_eq!(format_time_duration(1500), "1.5s");
        assert_eq!(format_time_duration(90_000), "1m30s");
        assert_eq!(format_time_duration(120_000), "2m0s");
        assert_eq!(format_time_duration(5_400_000), "1h30m0s");
    }

    #[test]
    fn floats_print_like_go() {
        for (f, s) in [
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1234567.0, "1.234567e+06"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e21, "1e+21"),
            (1e20, "1e+20"),
            (1e100, "1e+100"),
            (0.5, "0.5"),
            (123.4567, "123.4567"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (-0.0, "-0"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(format_float(f), s, "{f}");
        }
    }

    #[test]
    fn quoting_like_go() {
        assert_eq!(quote("a\"b\\c\n\t\u{7f}é\u{200b}"), r#""a\"b\\c\n\t\x7fé\u200b""#);
        assert_eq!(quote_rune(Some('\'')), r"'\''");
        assert_eq!(quote_rune(None), "'\u{FFFD}'");
        assert_eq!(format_u('q'), "U+0071 'q'");
        assert_eq!(format_u('\n'), "U+000A");
        assert_eq!(quote_truncated("\"some long string\"", 10), r#""\"some long""#);
    }

    #[test]
    fn numbers_parse_like_go() {
        assert_eq!(parse_number("0x1F"), Ok(31.0));
        assert_eq!(parse_number("0755"), Ok(493.0));
        assert_eq!(parse_number("08"), Ok(8.0));
        assert_eq!(parse_number(".5"), Ok(0.5));
        assert_eq!(parse_number("5."), Ok(5.0));
        assert_eq!(parse_number("1e3"), Ok(1000.0));
        assert!(parse_number("NaN").unwrap().is_nan());
        assert_eq!(parse_number("Inf"), Ok(f64::INFINITY));
        assert_eq!(
            parse_number("0x"),
            Err(r#"strconv.ParseFloat: parsing "0x": invalid syntax"#.to_owned())
        );
        assert_eq!(
            parse_number("1e400"),
            Err(r#"strconv.ParseFloat: parsing "1e400": value out of range"#.to_owned())
        );
        assert_eq!(
            parse_number("1e"),
            Err(r#"strconv.ParseFloat: parsing "1e": invalid syntax"#.to_owned())
        );
    }
}
