//! Byte sizes as Prometheus writes `body_size_limit` (`10MB`, `512KiB`, `1GB512MB`).

use thiserror::Error;

/// Why a byte size was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ByteSizeError {
    /// Not of the form `<number><unit>…`.
    #[error(
        "not a valid byte size: {0:?} (use a number with one of the units B, KB, MB, GB, TB, PB, EB or KiB, MiB, \
         GiB, TiB, PiB, EiB, e.g. 10MB)"
    )]
    Invalid(String),
    /// Larger than 2⁶⁴ − 1 bytes.
    #[error("byte size out of range: {0:?}")]
    OutOfRange(String),
}

/// Parses a byte size the way Prometheus parses `body_size_limit` (`units.ParseBase2Bytes`).
///
/// All units are powers of 1024, whether written `KB` or `KiB`. A number may have a
/// fraction (`1.5MB`) and several components add up (`1GB512MB`). A bare `0` is allowed, and
/// so is a bare integer (bytes) — a small leniency over Prometheus, which insists on a unit.
///
/// ```
/// use vitrine_scrape_config::parse_byte_size;
/// assert_eq!(parse_byte_size("10MB"), Ok(10 * 1024 * 1024));
/// assert_eq!(parse_byte_size("512KiB"), Ok(512 * 1024));
/// ```
pub fn parse_byte_size(s: &str) -> Result<u64, ByteSizeError> {
    let invalid = || ByteSizeError::Invalid(s.to_owned());
    if s.is_empty() {
        return Err(invalid());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| ByteSizeError::OutOfRange(s.to_owned()));
    }
    let mut rest = s;
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number.starts_with('.') || number.ends_with('.') || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let power = match unit {
            "B" => 0,
            "KB" | "KiB" => 1,
            "MB" | "MiB" => 2,
            "GB" | "GiB" => 3,
            "TB" | "TiB" => 4,
            "PB" | "PiB" => 5,
            "EB" | "EiB" => 6,
            _ => return Err(invalid()),
        };
        let value: f64 = number.parse().map_err(|_| invalid())?;
        total += value * 1024f64.powi(power);
        rest = after;
    }
    // u64::MAX is not exactly representable; 2^64 is the first value that does not fit.
    if total >= 18_446_744_073_709_551_616.0 {
        return Err(ByteSizeError::OutOfRange(s.to_owned()));
    }
    Ok(total as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_base_two() {
        assert_eq!(parse_byte_size("0"), Ok(0));
        assert_eq!(parse_byte_size("100B"), Ok(100));
        assert_eq!(parse_byte_size("1KB"), Ok(1024));
        assert_eq!(parse_byte_size("1KiB"), Ok(1024));
        assert_eq!(parse_byte_size("10MB"), Ok(10 << 20));
        assert_eq!(parse_byte_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_byte_size("1TB"), Ok(1 << 40));
        assert_eq!(parse_byte_size("1PB"), Ok(1 << 50));
        assert_eq!(parse_byte_size("1EB"), Ok(1 << 60));
        assert_eq!(parse_byte_size("1.5MB"), Ok(3 << 19));
        assert_eq!(parse_byte_size("1GB512MB"), Ok((1 << 30) + (512 << 20)));
        assert_eq!(parse_byte_size("4096"), Ok(4096));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "", "MB", "1 MB", "1mb", "1M", "1XB", ".5MB", "1.MB", "1.2.3MB", "-1MB", "1MB ", "10Mi",
        ] {
            assert_eq!(
                parse_byte_size(bad),
                Err(ByteSizeError::Invalid(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(matches!(parse_byte_size("16EB"), Err(ByteSizeError::OutOfRange(_))));
        assert!(matches!(
            parse_byte_size("99999999999999999999999"),
            Err(ByteSizeError::OutOfRange(_))
        ));
    }
}
