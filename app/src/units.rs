//! Numbers with their unit for people, by Grafana's unit ids (`percentunit`, `s`, `bytes`, …),
//! rounded and written as the viewer's language writes them (de: `1.234,5 ms`).

use crate::i18n::Locale;
use crate::targets::grouped;

/// `v` rounded to `decimals`, with the language's separators.
pub(crate) fn decimal(v: f64, decimals: usize, locale: Locale) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "∞".into()
        } else {
            "-∞".into()
        };
    }
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push('-');
    }
    out.push_str(&grouped(int.parse().unwrap_or(0), locale));
    if !frac.is_empty() {
        out.push(if locale == Locale::en { '.' } else { ',' });
        out.push_str(frac);
    }
    out
}

/// As many decimals as a value of this size needs to show two or three significant digits.
fn decimals_for(v: f64) -> usize {
    let a = v.abs();
    if a == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else if a >= 0.01 {
        3
    } else {
        4
    }
}

/// Drops zeros after the decimal separator: `1,50` → `1,5`, `3,0` → `3`.
fn trimmed(text: String) -> String {
    if !text.contains([',', '.']) || text.ends_with(|c: char| !c.is_ascii_digit()) {
        return text;
    }
    let text = text.trim_end_matches('0');
    text.trim_end_matches([',', '.']).to_string()
}

fn number(v: f64, locale: Locale) -> String {
    let out = decimal(v, decimals_for(v), locale);
    // A thousands separator is also a '.' in German: only trim after a decimal part.
    if out.contains(if locale == Locale::en { '.' } else { ',' }) {
        trimmed(out)
    } else {
        out
    }
}

/// Between a number and its unit: a no-break space, none before `%` in English.
fn spaced(number: String, unit: &str, locale: Locale) -> String {
    if unit == "%" && locale == Locale::en {
        format!("{number}%")
    } else {
        format!("{number}\u{a0}{unit}")
    }
}

/// `v` in the unit `unit` (a Grafana unit id; unknown ids are plain numbers).
pub fn format_value(v: f64, unit: &str, locale: Locale) -> String {
    if !v.is_finite() {
        return decimal(v, 0, locale);
    }
    match unit {
        "percentunit" => spaced(number(v * 100.0, locale), "%", locale),
        "percent" => spaced(number(v, locale), "%", locale),
        "s" => seconds(v, locale),
        "ms" => seconds(v / 1000.0, locale),
        "bytes" => bytes(v, locale),
        "reqps" => spaced(number(v, locale), "req/s", locale),
        _ => number(v, locale),
    }
}

fn seconds(v: f64, locale: Locale) -> String {
    let a = v.abs();
    if a != 0.0 && a < 1.0 {
        spaced(number(v * 1000.0, locale), "ms", locale)
    } else if a < 60.0 {
        spaced(number(v, locale), "s", locale)
    } else if a < 3600.0 {
        spaced(number(v / 60.0, locale), "min", locale)
    } else if a < 86_400.0 {
        spaced(number(v / 3600.0, locale), "h", locale)
    } else {
        spaced(number(v / 86_400.0, locale), "d", locale)
    }
}

fn bytes(v: f64, locale: Locale) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut scaled = v;
    let mut unit = 0;
    while scaled.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        scaled /= 1024.0;
        unit += 1;
    }
    spaced(number(scaled, locale), UNITS[unit], locale)
}

/// A duration in whole seconds as people read it: `90 s`, `5 min`, `1 h 30 min`.
pub fn format_duration(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h}\u{a0}h"));
    }
    if m > 0 {
        parts.push(format!("{m}\u{a0}min"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}\u{a0}s"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_as_people_read_them_in_each_language() {
        let nb = |s: &str| s.replace(' ', "\u{a0}");
        assert_eq!(format_value(0.03, "percentunit", Locale::en), "3%");
        assert_eq!(format_value(0.034, "percentunit", Locale::de), nb("3,4 %"));
        assert_eq!(format_value(0.0004, "percentunit", Locale::fr), nb("0,04 %"));
        assert_eq!(format_value(1.5, "s", Locale::en), nb("1.5 s"));
        assert_eq!(format_value(0.25, "s", Locale::de), nb("250 ms"));
        assert_eq!(format_value(1234.5, "ms", Locale::de), nb("1,23 s"));
        assert_eq!(format_value(300.0, "s", Locale::en), nb("5 min"));
        assert_eq!(format_value(1536.0, "bytes", Locale::en), nb("1.5 KiB"));
        assert_eq!(
            format_value(5.0 * 1024.0 * 1024.0 * 1024.0, "bytes", Locale::fr),
            nb("5 GiB")
        );
        assert_eq!(format_value(12345.0, "short", Locale::de), "12.345");
        assert_eq!(format_value(12345.0, "short", Locale::en), "12,345");
        assert_eq!(format_value(0.0, "short", Locale::en), "0");
        assert_eq!(format_value(-2.5, "reqps", Locale::en), nb("-2.5 req/s"));
        assert_eq!(format_value(f64::NAN, "s", Locale::en), "NaN");
    }

    #[test]
    fn durations_in_hours_minutes_and_seconds() {
        assert_eq!(format_duration(300), "5\u{a0}min");
        assert_eq!(format_duration(5400), "1\u{a0}h 30\u{a0}min");
        assert_eq!(format_duration(90), "1\u{a0}min 30\u{a0}s");
        assert_eq!(format_duration(0), "0\u{a0}s");
    }
}
