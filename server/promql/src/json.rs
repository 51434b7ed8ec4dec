//! Query answers in the JSON of Prometheus' HTTP API (`/api/v1/query`, `/api/v1/query_range`):
//! the envelope, result types, timestamps as seconds and values as strings with the shortest
//! digits, as Prometheus 2.42 writes them.

use crate::eval::Value;
use crate::labels::Labels;

/// A sample value as Prometheus writes it in JSON: a string, `NaN`, `+Inf`, `-Inf`.
pub fn format_value(v: f64) -> String {
    let mut out = String::new();
    push_value(&mut out, v);
    out
}

fn push_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        push_decimal(out, v);
    }
}

/// A finite `v` as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it: the shortest digits
/// that read back as `v`, never an exponent. The digits come from ryu.
fn push_decimal(out: &mut String, v: f64) {
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(v);
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if negative {
        out.push('-');
    }
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => {
            // Plain decimal notation already, as `1.0` for an integer.
            out.push_str(text.strip_suffix(".0").unwrap_or(text));
            return;
        }
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // The digits, and how many of them come before the decimal point.
    let digits = format!("{whole}{fraction}");
    let leading_zeros = digits.len() - digits.trim_start_matches('0').len();
    let digits = digits.trim_matches('0');
    let point = whole.len() as i64 + exponent - leading_zeros as i64;
    if digits.is_empty() {
        out.push('0');
    } else if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(digits);
    } else if point as usize >= digits.len() {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
}

/// A timestamp in milliseconds as Prometheus writes it: seconds, with the milliseconds as a
/// decimal fraction when there are any (`1700000000`, `1700000000.5`).
fn push_timestamp(out: &mut String, t: i64) {
    use std::fmt::Write;
    if t < 0 {
        out.push('-');
    }
    let t = t.unsigned_abs();
    let _ = write!(out, "{}", t / 1000);
    let millis = t % 1000;
    if millis != 0 {
        out.push('.');
        let digits = [millis / 100, millis / 10 % 10, millis % 10];
        let last = if digits[2] != 0 {
            3
        } else if digits[1] != 0 {
            2
        } else {
            1
        };
        out.extend(digits[..last].iter().map(|d| char::from(b'0' + *d as u8)));
    }
}

/// A successful query answer as Prometheus' API writes it: `{"status":"success","data":…}`.
/// Written straight to text: a range answer can hold millions of points, too many for a
/// tree of JSON values.
pub fn answer(value: &Value) -> String {
    use Value as V;
    let mut out = String::from(r#"{"status":"success","data":{"resultType":"#);
    let point = |out: &mut String, t: i64, v: f64| {
        out.push('[');
        push_timestamp(out, t);
        out.push_str(",\"");
        push_value(out, v);
        out.push_str("\"]");
    };
    let metric = |out: &mut String, labels: &Labels| {
        out.push_str(r#"{"metric":{"#);
        for (i, (n, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(out, n);
            out.push(':');
            push_json_string(out, v);
        }
        out.push('}');
    };
    match value {
        V::Scalar { t, v } => {
            out.push_str(r#""scalar","result":"#);
            point(&mut out, *t, *v);
        }
        V::String { t, v } => {
            out.push_str(r#""string","result":["#);
            push_timestamp(&mut out, *t);
            out.push(',');
            push_json_string(&mut out, v);
            out.push(']');
        }
        V::Vector(samples) => {
            out.push_str(r#""vector","result":"#);
            push_list(&mut out, samples, |out, s| {
                metric(out, &s.labels);
                out.push_str(r#","value":"#);
                point(out, s.t, s.v);
                out.push('}');
            });
        }
        V::Matrix(series) => {
            out.push_str(r#""matrix","result":"#);
            push_list(&mut out, series, |out, s| {
                metric(out, &s.labels);
                out.push_str(r#","values":"#);
                push_list(out, &s.points, |out, p| point(out, p.t, p.v));
                out.push('}');
            });
        }
    }
    out.push_str("}}");
    out
}

/// `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

/// `items` as a JSON array, each written by `write`.
fn push_list<T>(out: &mut String, items: impl IntoIterator<Item = T>, mut write: impl FnMut(&mut String, T)) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(out, item);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn values_print_as_shortest_plain_decimals(bits in proptest::prelude::any::<u64>()) {
            let v = f64::from_bits(bits);
            proptest::prop_assume!(v.is_finite());
            let mut ours = String::new();
            push_decimal(&mut ours, v);
            // The value itself, as short as the standard library's text (which differs only
            // where two digits are equally near), never with an exponent.
            proptest::prop_assert_eq!(ours.parse::<f64>().map(f64::to_bits), Ok(bits));
            proptest::prop_assert_eq!(ours.len(), format!("{v}").len());
            proptest::prop_assert!(!ours.contains('e'));
        }

        #[test]
        fn timestamps_print_as_seconds_with_a_fraction(t in -(1i64 << 52)..(1i64 << 52)) {
            let mut ours = String::new();
            push_timestamp(&mut ours, t);
            proptest::prop_assert_eq!(ours, format!("{}", t as f64 / 1000.0));
        }
    }

    #[test]
    fn values_print_like_prometheus() {
        assert_eq!(format_value(1.5), "1.5");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
    }

    #[test]
    fn a_value_between_two_equally_short_texts_reads_back() {
        // …888.25 is as near to …888.2 as to …888.3: ryu writes one, the standard library
        // the other; both are the shortest text that reads back as the value.
        let v = f64::from_bits(14_055_714_635_565_136_130);
        let mut ours = String::new();
        push_decimal(&mut ours, v);
        assert_eq!(ours.parse::<f64>().map(f64::to_bits), Ok(v.to_bits()));
        assert_eq!(ours.len(), format!("{v}").len());
    }

    #[test]
    fn decimals_print_without_exponent() {
        for v in [
            0.0,
            -0.0,
            1.0,
            1.5,
            1e21,
            1.5e-7,
            123456.0,
            0.1,
            1e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            1e15,
            1e16,
        ] {
            let mut ours = String::new();
            push_decimal(&mut ours, v);
            assert_eq!(ours, format!("{v}"), "{v:e}");
        }
    }

    #[test]
    fn answers_are_json_as_prometheus_writes_them() {
        use Value as V;
        let labels = Labels::from_pairs(&[("__name__", "up"), ("note", "a \"b\"\\\n\u{1}é")]);
        let matrix = V::Matrix(vec![crate::eval::Series {
            labels: labels.clone(),
            points: vec![
                crate::eval::Point { t: 1_000, v: 0.5 },
                crate::eval::Point {
                    t: 2_500,
                    v: f64::INFINITY,
                },
            ],
        }]);
        let body = |value: &V| answer(value);
        let text = body(&matrix);
        assert!(text.contains(r#""values":[[1,"0.5"],[2.5,"+Inf"]]"#), "{text}");
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["data"]["result"][0]["metric"]["note"], "a \"b\"\\\n\u{1}é");
        let vector = V::Vector(vec![crate::eval::Sample {
            labels,
            t: 3_000,
            v: f64::NAN,
        }]);
        let parsed: serde_json::Value = serde_json::from_str(&body(&vector)).unwrap();
        assert_eq!(parsed["data"]["result"][0]["value"], serde_json::json!([3, "NaN"]));
        let parsed: serde_json::Value = serde_json::from_str(&body(&V::Scalar { t: 0, v: -2.0 })).unwrap();
        assert_eq!(
            parsed["data"],
            serde_json::json!({ "resultType": "scalar", "result": [0, "-2"] })
        );
        let string = V::String { t: 1, v: "x\"".into() };
        let parsed: serde_json::Value = serde_json::from_str(&body(&string)).unwrap();
        assert_eq!(parsed["data"]["result"], serde_json::json!([0.001, "x\""]));
    }
}
