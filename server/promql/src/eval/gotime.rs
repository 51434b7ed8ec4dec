//! The calendar of Go's `time` package for `time.Unix(sec, 0).UTC()`, with Go's wrapping
//! arithmetic, as Prometheus' date functions use it.

const SECONDS_PER_MINUTE: u64 = 60;
const SECONDS_PER_HOUR: u64 = 60 * SECONDS_PER_MINUTE;
const SECONDS_PER_DAY: u64 = 24 * SECONDS_PER_HOUR;
const SECONDS_PER_WEEK: u64 = 7 * SECONDS_PER_DAY;
const DAYS_PER_400_YEARS: u64 = 365 * 400 + 97;
const DAYS_PER_100_YEARS: u64 = 365 * 100 + 24;
const DAYS_PER_4_YEARS: u64 = 365 * 4 + 1;
const ABSOLUTE_ZERO_YEAR: i64 = -292_277_022_399;
const ABSOLUTE_TO_INTERNAL: i64 = -9_223_371_966_579_724_800;
const UNIX_TO_INTERNAL: i64 = (1969 * 365 + 1969 / 4 - 1969 / 100 + 1969 / 400) * SECONDS_PER_DAY as i64;
const DAYS_BEFORE: [i64; 13] = [
    0,
    31,
    31 + 28,
    31 + 28 + 31,
    31 + 28 + 31 + 30,
    31 + 28 + 31 + 30 + 31,
    31 + 28 + 31 + 30 + 31 + 30,
    31 + 28 + 31 + 30 + 31 + 30 + 31,
    31 + 28 + 31 + 30 + 31 + 30 + 31 + 31,
    31 + 28 + 31 + 30 + 31 + 30 + 31 + 31 + 30,
    31 + 28 + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 31,
    31 + 28 + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30,
    31 + 28 + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31,
];

/// `Time.abs()` of `time.Unix(sec, 0).UTC()`.
fn abs(sec: i64) -> u64 {
    sec.wrapping_add(UNIX_TO_INTERNAL).wrapping_add(-ABSOLUTE_TO_INTERNAL) as u64
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Year, month (1-12), day of the month (1-31) and day of the year (0-365) (`absDate`).
pub(crate) fn date(sec: i64) -> (i64, i64, i64, i64) {
    let mut d = abs(sec) / SECONDS_PER_DAY;
    let mut n = d / DAYS_PER_400_YEARS;
    let mut y = 400 * n;
    d -= DAYS_PER_400_YEARS * n;
    n = d / DAYS_PER_100_YEARS;
    n -= n >> 2;
    y += 100 * n;
    d -= DAYS_PER_100_YEARS * n;
    n = d / DAYS_PER_4_YEARS;
    y += 4 * n;
    d -= DAYS_PER_4_YEARS * n;
    n = d / 365;
    n -= n >> 2;
    y += n;
    d -= 365 * n;
    let year = (y as i64).wrapping_add(ABSOLUTE_ZERO_YEAR);
    let yday = d as i64;
    let mut day = yday;
    if is_leap(year) {
        if day > 31 + 29 - 1 {
            day -= 1;
        } else if day == 31 + 29 - 1 {
            return (year, 2, 29, yday);
        }
    }
    let mut month = day / 31;
    let end = DAYS_BEFORE[(month + 1) as usize];
    let begin = if day >= end {
        month += 1;
        end
    } else {
        DAYS_BEFORE[month as usize]
    };
    (year, month + 1, day - begin + 1, yday)
}

pub(crate) fn weekday(sec: i64) -> f64 {
    // January 1 of the absolute year was a Monday.
    let s = abs(sec).wrapping_add(SECONDS_PER_DAY) % SECONDS_PER_WEEK;
    (s / SECONDS_PER_DAY) as f64
}

pub(crate) fn hour(sec: i64) -> f64 {
    ((abs(sec) % SECONDS_PER_DAY) / SECONDS_PER_HOUR) as f64
}

pub(crate) fn minute(sec: i64) -> f64 {
    ((abs(sec) % SECONDS_PER_HOUR) / SECONDS_PER_MINUTE) as f64
}

/// `32 - time.Date(year, month, 32, …).Day()`: the number of days of the month.
pub(crate) fn days_in_month(sec: i64) -> f64 {
    let (year, month, _, _) = date(sec);
    let days = DAYS_BEFORE[month as usize] - DAYS_BEFORE[(month - 1) as usize];
    (if month == 2 && is_leap(year) { 29 } else { days }) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), (1970, 1, 1, 0));
        // 2024-02-29T13:45:00Z
        let t = 1_709_214_300;
        assert_eq!(date(t), (2024, 2, 29, 59));
        assert_eq!(hour(t), 13.0);
        assert_eq!(minute(t), 45.0);
        assert_eq!(weekday(t), 4.0); // Thursday
        assert_eq!(days_in_month(t), 29.0);
        // 2023-12-31T23:59:59Z
        assert_eq!(date(1_704_067_199), (2023, 12, 31, 364));
        assert_eq!(days_in_month(1_704_067_199), 31.0);
        // Before 1970: 1969-12-31T23:00:00Z
        assert_eq!(date(-3600), (1969, 12, 31, 364));
        assert_eq!(hour(-3600), 23.0);
        assert_eq!(weekday(0), 4.0);
    }
}
