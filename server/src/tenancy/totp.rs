//! Time-based one-time passwords (RFC 6238): HMAC-SHA1, 30-second steps, six digits, as
//! every authenticator app computes them. A code is accepted for the current step and the
//! one before or after (clocks drift), and only for a step later than the last accepted
//! one, so a code cannot be used twice.

use crate::secrets;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use sqlx::SqlitePool;

pub const STEP_SECS: u64 = 30;
const DIGITS: u32 = 6;

/// A new shared secret: 160 random bits (RFC 4226's recommendation).
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The code for time step `step` (RFC 4226's HOTP with the step as the counter).
pub fn code(secret: &[u8], step: u64, digits: u32) -> u32 {
    // An HMAC takes a key of any length.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    value % 10u32.pow(digits)
}

/// The step of `code` if it is valid at `now_secs` and later than `last_step`.
pub fn verify(secret: &[u8], code_text: &str, now_secs: u64, last_step: u64) -> Option<u64> {
    let code_text: String = code_text.chars().filter(|c| !c.is_whitespace()).collect();
    if code_text.len() != DIGITS as usize || !code_text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code_text.parse().ok()?;
    let now = now_secs / STEP_SECS;
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .filter(|step| *step > last_step)
        .find(|step| code(secret, *step, DIGITS) == wanted)
}

/// RFC 4648 base32 without padding, as authenticator apps take a secret typed in.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` address an authenticator app reads (typed in or as a QR code).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let escape = |s: &str| serde_urlencoded::to_string([("", s)]).unwrap_or_default()[1..].replace('+', "%20");
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        escape(issuer),
        escape(account),
        base32(secret),
        escape(issuer)
    )
}

fn context(user_id: i64) -> String {
    format!("users.totp user {user_id}")
}

/// Gives the person a new secret (replacing any); returns it for their app.
pub async fn enable(db: &SqlitePool, user_id: i64) -> Result<Vec<u8>, super::TenancyError> {
    let secret = new_secret();
    store(db, user_id, &secret, 0).await?;
    Ok(secret)
}

/// Turns the second factor on with a secret the person's app shows `code_text` for now
/// (set up from the account page); that code is used up. `Ok(false)` for a wrong code.
pub async fn confirm(
    db: &SqlitePool,
    user_id: i64,
    secret: &[u8],
    code_text: &str,
    now_secs: u64,
) -> Result<bool, super::TenancyError> {
    let Some(step) = verify(secret, code_text, now_secs, 0) else {
        return Ok(false);
    };
    store(db, user_id, secret, step).await?;
    Ok(true)
}

async fn store(db: &SqlitePool, user_id: i64, secret: &[u8], last_step: u64) -> Result<(), super::TenancyError> {
    let sealed = secrets::seal(&base32(secret), &context(user_id))?;
    sqlx::query("UPDATE users SET totp_secret = ?, totp_last_step = ? WHERE id = ?")
        .bind(sealed)
        .bind(last_step as i64)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn disable(db: &SqlitePool, user_id: i64) -> Result<(), super::TenancyError> {
    sqlx::query("UPDATE users SET totp_secret = NULL, totp_last_step = 0 WHERE id = ?")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Whether the person signs in with a code as well.
pub async fn is_enabled(db: &SqlitePool, user_id: i64) -> Result<bool, super::TenancyError> {
    let sealed: Option<Option<String>> = sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = ?")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    Ok(sealed.flatten().is_some())
}

/// Checks a code typed at login and uses it up: `Ok(true)` once for a valid code.
pub async fn check(db: &SqlitePool, user_id: i64, code_text: &str, now_secs: u64) -> Result<bool, super::TenancyError> {
    let row: Option<(Option<String>, i64)> =
        sqlx::query_as("SELECT totp_secret, totp_last_step FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    let Some((Some(sealed), last_step)) = row else {
        return Ok(false);
    };
    let secret = decode_base32(&secrets::open(&sealed, &context(user_id))?).unwrap_or_default();
    let Some(step) = verify(&secret, code_text, now_secs, u64::try_from(last_step).unwrap_or(0)) else {
        return Ok(false);
    };
    // Only one request can move the step forward: a code raced twice works once.
    let used = sqlx::query("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?")
        .bind(step as i64)
        .bind(user_id)
        .bind(step as i64)
        .execute(db)
        .await?;
    Ok(used.rows_affected() == 1)
}

pub fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B, SHA-1 (eight digits there; six are its last six).
    #[test]
    fn the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code(secret, time / STEP_SECS, 8), expected, "at {time}");
            assert_eq!(code(secret, time / STEP_SECS, 6), expected % 1_000_000, "at {time}");
        }
    }

    #[test]
    fn a_code_works_in_its_window_and_once() {
        let secret = b"12345678901234567890";
        let at = 1_111_111_111;
        let now = format!("{:06}", code(secret, at / STEP_SECS, 6));
        let step = verify(secret, &now, at, 0).expect("the current code");
        assert_eq!(verify(secret, &now, at, step), None, "used twice");
        assert!(verify(secret, &now, at + STEP_SECS, 0).is_some(), "one step late");
        assert_eq!(verify(secret, &now, at + 3 * STEP_SECS, 0), None, "too late");
        assert_eq!(verify(secret, "12345", at, 0), None);
        assert_eq!(verify(secret, "abcdef", at, 0), None);
        let spaced = format!("{} {}", &now[..3], &now[3..]);
        assert!(verify(secret, &spaced, at, 0).is_some(), "spaces as apps show them");
    }

    #[test]
    fn base32_and_the_address_for_apps() {
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(
            decode_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
            b"12345678901234567890"
        );
        let uri = otpauth_uri("Vitrine ACME Agency", "owner@agency.example", b"12345678901234567890");
        assert!(
            uri.starts_with("otpauth://totp/Vitrine%20ACME%20Agency:owner%40agency.example?secret=GEZDG"),
            "{uri}"
        );
    }
}
