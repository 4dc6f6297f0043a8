//! Timestamps on the wire, written without `core::fmt`.
//!
//! chrono serialises a `DateTime<Utc>` through `Display` and `collect_str`: a formatter call
//! per field, about 5 % of the server's CPU on the ticket list (8 timestamps per ticket, 50
//! tickets per page). [`serialize`] writes the very same text (RFC 3339, `Z`, fractional
//! seconds shortened as chrono's `SecondsFormat::AutoSi` does) from a stack buffer; the test
//! below holds it to chrono's output. Reading stays chrono's. Years outside 0–9999 and leap
//! seconds, which Tandem never stores, go to chrono itself.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Serialize, Serializer};

/// `serialize_with` for `DateTime<Utc>`.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 32];
    match write(at, &mut buf).and_then(|len| std::str::from_utf8(&buf[..len]).ok()) {
        Some(text) => serializer.serialize_str(text),
        None => at.serialize(serializer),
    }
}

/// `serialize_with` for `Option<DateTime<Utc>>`.
pub fn serialize_opt<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// Writes `at` as `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`; the length written, or
/// `None` where chrono must do it.
fn write(at: &DateTime<Utc>, buf: &mut [u8; 32]) -> Option<usize> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None; // a leap second
    }
    buf[..20].copy_from_slice(b"0000-00-00T00:00:00.");
    for (range, value) in [(0..4, year), (5..7, at.month()), (8..10, at.day()), (11..13, at.hour()), (14..16, at.minute()), (17..19, at.second())] {
        digits(&mut buf[range], value);
    }
    let (fraction, width) = if nanos == 0 {
        (0, 0)
    } else if nanos.is_multiple_of(1_000_000) {
        (nanos / 1_000_000, 3)
    } else if nanos.is_multiple_of(1_000) {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    // Whole seconds end before the dot; a fraction goes after it.
    let end = if width == 0 { 19 } else { 20 + width };
    if width > 0 {
        digits(&mut buf[20..end], fraction);
    }
    buf[end] = b'Z';
    Some(end + 1)
}

/// Fills `out` with the last `out.len()` decimal digits of `value`, zero-padded.
fn digits(out: &mut [u8], mut value: u32) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn ours(at: DateTime<Utc>) -> String {
        let mut out = Vec::new();
        serialize(&at, &mut serde_json::Serializer::new(&mut out)).expect("serialises");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn writes_what_chrono_writes() {
        let base = Utc.with_ymd_and_hms(2026, 11, 23, 10, 53, 7).single().expect("valid");
        let mut cases = vec![
            base,
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).single().expect("valid"),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single().expect("valid"),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).single().expect("valid"),
            Utc.with_ymd_and_hms(-44, 3, 15, 12, 0, 0).single().expect("valid"),
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
        ];
        for nanos in [1, 999, 1_000, 120_000, 7_000_000, 100_000_000, 123_456_789, 999_999_999, 999_999_000, 999_000_000] {
            cases.push(base + chrono::Duration::nanoseconds(nanos));
        }
        // A spread of instants over four centuries, microsecond precision as stored.
        let mut micros: i64 = -2_208_988_800_000_000; // 1900
        while micros < 10_413_792_000_000_000 {
            cases.push(DateTime::from_timestamp_micros(micros).expect("in range"));
            micros += 987_654_321_123;
        }
        for at in cases {
            assert_eq!(ours(at), serde_json::to_string(&at).expect("serialises"), "{at:?}");
        }
    }

    #[test]
    fn absent_is_null() {
        let mut out = Vec::new();
        serialize_opt(&None, &mut serde_json::Serializer::new(&mut out)).expect("serialises");
        assert_eq!(out, b"null");
    }
}
