//! Durations in Prometheus syntax (`15s`, `1m30s`, `2h`, `1d`, `1w`, `1y`, `100ms`).
//!
//! This mirrors `model.ParseDuration` and `model.Duration.String` of `prometheus/common`:
//! units must appear from the largest to the smallest, each at most once, with integer
//! amounts; `y` is 365 days and `w` is 7 days; a bare `0` is allowed. The precision is one
//! millisecond and the largest value is the one Go's `time.Duration` can hold (about 292
//! years).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;

const MS_PER_SECOND: u64 = 1_000;
const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
const MS_PER_WEEK: u64 = 7 * MS_PER_DAY;
const MS_PER_YEAR: u64 = 365 * MS_PER_DAY;

/// The largest duration in milliseconds: Go's `time.Duration` is an `i64` of nanoseconds.
const MAX_MS: u64 = (i64::MAX as u64) / 1_000_000;

/// Units in the order Prometheus requires them, with their length in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", MS_PER_YEAR),
    ("w", MS_PER_WEEK),
    ("d", MS_PER_DAY),
    ("h", MS_PER_HOUR),
    ("m", MS_PER_MINUTE),
    ("s", MS_PER_SECOND),
    ("ms", 1),
];

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    /// The string was empty.
    #[error("empty duration string")]
    Empty,
    /// The string is not of the form `1y2w3d4h5m6s7ms` (units in that order, each at most once).
    #[error(
        "not a valid duration string: {0:?} (use whole numbers with the units y, w, d, h, m, s, ms from the \
         largest to the smallest, e.g. 15s, 1m30s, 2h)"
    )]
    Invalid(String),
    /// The duration is longer than about 292 years.
    #[error("duration out of range: {0:?} is longer than about 292 years")]
    OutOfRange(String),
}

/// A non-negative duration with millisecond precision, written the way Prometheus writes it.
///
/// Parse with [`str::parse`] (or [`PromDuration::from_str`]) and print with `Display`:
///
/// ```
/// use vitrine_scrape_config::PromDuration;
/// let d: PromDuration = "1m30s".parse().unwrap();
/// assert_eq!(d.as_millis(), 90_000);
/// assert_eq!(d.to_string(), "1m30s");
/// assert_eq!("90d".parse::<PromDuration>().unwrap().to_string(), "90d");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration {
    millis: u64,
}

impl PromDuration {
    /// The zero duration (`0s`).
    pub const ZERO: PromDuration = PromDuration { millis: 0 };

    /// A duration of `millis` milliseconds, or `None` beyond the range Prometheus accepts.
    pub const fn from_millis(millis: u64) -> Option<PromDuration> {
        if millis > MAX_MS {
            None
        } else {
            Some(PromDuration { millis })
        }
    }

    /// A duration of `secs` seconds, or `None` beyond the range Prometheus accepts.
    pub const fn from_secs(secs: u64) -> Option<PromDuration> {
        match secs.checked_mul(MS_PER_SECOND) {
            Some(ms) => PromDuration::from_millis(ms),
            None => None,
        }
    }

    /// The duration in whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// The duration as a [`std::time::Duration`].
    pub const fn as_std(self) -> Duration {
        Duration::from_millis(self.millis)
    }

    /// Whether this is the zero duration.
    pub const fn is_zero(self) -> bool {
        self.millis == 0
    }
}

impl From<PromDuration> for Duration {
    fn from(d: PromDuration) -> Duration {
        d.as_std()
    }
}

impl TryFrom<Duration> for PromDuration {
    type Error = DurationError;

    /// Converts, truncating below one millisecond; fails beyond about 292 years.
    fn try_from(d: Duration) -> Result<PromDuration, DurationError> {
        u64::try_from(d.as_millis())
            .ok()
            .and_then(PromDuration::from_millis)
            .ok_or_else(|| DurationError::OutOfRange(format!("{d:?}")))
    }
}

impl FromStr for PromDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<PromDuration, DurationError> {
        match s {
            "" => return Err(DurationError::Empty),
            "0" => return Ok(PromDuration::ZERO),
            _ => {}
        }
        let invalid = || DurationError::Invalid(s.to_owned());
        let mut rest = s;
        let mut next_unit = 0;
        let mut total: u64 = 0;
        let mut overflow = false;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            let (number, after) = rest.split_at(digits);
            // "ms" must be tried before "m".
            let unit = UNITS[next_unit..]
                .iter()
                .enumerate()
                .filter(|(_, (name, _))| after.starts_with(name))
                .max_by_key(|(_, (name, _))| name.len())
                .map(|(i, u)| (i + next_unit, *u));
            let Some((index, (name, mult))) = unit else {
                return Err(invalid());
            };
            next_unit = index + 1;
            rest = &after[name.len()..];
            match number.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
                Some(ms) => match total.checked_add(ms) {
                    Some(t) => total = t,
                    None => overflow = true,
                },
                None => overflow = true,
            }
        }
        if overflow || total > MAX_MS {
            return Err(DurationError::OutOfRange(s.to_owned()));
        }
        Ok(PromDuration { millis: total })
    }
}

impl fmt::Display for PromDuration {
    /// Prints like Prometheus: `0s` for zero; years and weeks only when they divide the
    /// remainder exactly (so `90d`, not `12w6d`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.millis;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (name, mult) in UNITS {
            let exact_only = name == "y" || name == "w";
            if exact_only && !ms.is_multiple_of(mult) {
                continue;
            }
            let v = ms / mult;
            if v > 0 {
                write!(f, "{v}{name}")?;
                ms -= v * mult;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<u64, DurationError> {
        s.parse::<PromDuration>().map(PromDuration::as_millis)
    }

    #[test]
    fn parses_prometheus_examples() {
        assert_eq!(p("15s"), Ok(15_000));
        assert_eq!(p("1m30s"), Ok(90_000));
        assert_eq!(p("2h"), Ok(2 * 3_600_000));
        assert_eq!(p("1d"), Ok(86_400_000));
        assert_eq!(p("1w"), Ok(7 * 86_400_000));
        assert_eq!(p("1y"), Ok(365 * 86_400_000));
        assert_eq!(p("100ms"), Ok(100));
        assert_eq!(p("1h30m"), Ok(5_400_000));
        assert_eq!(
            p("1y2w3d4h5m6s7ms"),
            Ok(MS_PER_YEAR + 2 * MS_PER_WEEK + 3 * MS_PER_DAY + 4 * 3_600_000 + 5 * 60_000 + 6_007)
        );
        assert_eq!(p("0"), Ok(0));
        assert_eq!(p("0s"), Ok(0));
        assert_eq!(p("000m"), Ok(0));
        assert_eq!(p("5m0s"), Ok(300_000));
        assert_eq!(p("1m1ms"), Ok(60_001));
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        assert_eq!(p(""), Err(DurationError::Empty));
        for bad in [
            "1", "15", "s", "1.5s", "-1s", "+1s", "1s1m", "1m1m", "1ms1s", "1 s", " 1s", "1s ", "1S", "1sec", "1h1",
            "1µs", "1ns", "m", "1d1y",
        ] {
            assert_eq!(p(bad), Err(DurationError::Invalid(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn range_limit_matches_go() {
        // 292 years fit in an int64 of nanoseconds, 293 do not.
        assert!(p("292y").is_ok());
        assert!(matches!(p("293y"), Err(DurationError::OutOfRange(_))));
        assert!(matches!(
            p("99999999999999999999999s"),
            Err(DurationError::OutOfRange(_))
        ));
        assert_eq!(p("9223372036854ms"), Ok(MAX_MS));
        assert!(matches!(p("9223372036855ms"), Err(DurationError::OutOfRange(_))));
    }

    #[test]
    fn prints_like_prometheus() {
        let s = |ms: u64| PromDuration::from_millis(ms).unwrap().to_string();
        assert_eq!(s(0), "0s");
        assert_eq!(s(15_000), "15s");
        assert_eq!(s(90_000), "1m30s");
        assert_eq!(s(100), "100ms");
        assert_eq!(s(MS_PER_YEAR), "1y");
        assert_eq!(s(MS_PER_WEEK), "1w");
        assert_eq!(s(90 * MS_PER_DAY), "90d");
        assert_eq!(s(MS_PER_YEAR + MS_PER_DAY), "366d");
        assert_eq!(s(2 * MS_PER_WEEK), "2w");
        assert_eq!(s(MS_PER_DAY + 3_600_000 + 60_000 + 1_001), "1d1h1m1s1ms");
        assert_eq!(s(3_600_000 + 1), "1h1ms");
    }

    #[test]
    fn round_trips() {
        for text in [
            "15s",
            "1m30s",
            "2h",
            "1d",
            "1w",
            "1y",
            "100ms",
            "90d",
            "1d1h1m1s1ms",
            "0s",
        ] {
            let d: PromDuration = text.parse().unwrap();
            assert_eq!(d.to_string(), text);
        }
        assert_eq!("60s".parse::<PromDuration>().unwrap().to_string(), "1m");
        assert_eq!("7d".parse::<PromDuration>().unwrap().to_string(), "1w");
    }

    #[test]
    fn converts_to_and_from_std() {
        let d = PromDuration::from_secs(15).unwrap();
        assert_eq!(Duration::from(d), Duration::from_secs(15));
        assert_eq!(
            PromDuration::try_from(Duration::from_micros(1_500))
                .unwrap()
                .as_millis(),
            1
        );
        assert!(PromDuration::try_from(Duration::MAX).is_err());
        assert!(PromDuration::from_secs(u64::MAX).is_none());
        assert!(PromDuration::ZERO.is_zero());
    }
}
