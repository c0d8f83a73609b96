//! Timestamps: the clock at the precision both databases store, and RFC 3339 text of UTC
//! timestamps written digit by digit (chrono formats through `fmt`, which costs more than
//! encoding the rest of a row; entities carry several timestamps, and SQLite stores every
//! one as text).

use chrono::{DateTime, Datelike, Timelike, Utc};

/// The current time at the precision both databases store (microseconds), so a response and
/// a later read of the same row agree.
pub fn now() -> DateTime<Utc> {
    truncate_to_micros(Utc::now())
}

/// Both backends store microseconds. Truncating here (towards the past, whatever the epoch)
/// makes them agree: sqlx would round towards PostgreSQL's 2000-01-01 epoch, and a leap second
/// (`23:59:60`) becomes the next second on both.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// How many fractional-second digits to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fraction {
    /// As few as keep the value exact: 0, 3, 6 or 9 (chrono's `SecondsFormat::AutoSi`, which
    /// its `Serialize` uses).
    Shortest,
    /// Always 6 (chrono's `SecondsFormat::Micros`).
    Micros,
}

/// Room for the longest text: `YYYY-MM-DDTHH:MM:SS.fffffffffZ`.
pub type Buffer = [u8; 30];

/// `t` as chrono's `to_rfc3339_opts(fraction, true)` writes it (`Z`, not `+00:00`), or `None`
/// for years outside 0–9999, which chrono writes with a sign (use chrono for those).
pub fn rfc3339<'b>(t: &DateTime<Utc>, fraction: Fraction, buffer: &'b mut Buffer) -> Option<&'b str> {
    // Fields read from the naive value: on `DateTime` every accessor applies the offset again.
    let t = t.naive_utc();
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (mut second, mut nano) = (t.second(), t.nanosecond());
    // A leap second is nanoseconds ≥ 10⁹; chrono prints it as second 60.
    if nano >= 1_000_000_000 {
        second += 1;
        nano -= 1_000_000_000;
    }
    let mut at = put_digits(buffer, 0, year.unsigned_abs(), 4);
    for (separator, value) in [(b'-', t.month()), (b'-', t.day()), (b'T', t.hour()), (b':', t.minute()), (b':', second)]
    {
        buffer[at] = separator;
        at = put_digits(buffer, at + 1, value, 2);
    }
    let digits = match fraction {
        Fraction::Micros => Some((nano / 1_000, 6)),
        Fraction::Shortest => match nano {
            0 => None,
            n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
            n if n % 1_000 == 0 => Some((n / 1_000, 6)),
            n => Some((n, 9)),
        },
    };
    if let Some((value, width)) = digits {
        buffer[at] = b'.';
        at = put_digits(buffer, at + 1, value, width);
    }
    buffer[at] = b'Z';
    std::str::from_utf8(&buffer[..at + 1]).ok()
}

/// Writes `value` zero-padded to `width` digits at `at`; returns where the digits end.
fn put_digits(buffer: &mut [u8], at: usize, mut value: u32, width: usize) -> usize {
    for slot in buffer[at..at + width].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    at + width
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::SecondsFormat;

    use super::*;

    /// Timestamps that exercise every fraction length, leap seconds, the year range's ends
    /// and two thousand dates spread over centuries (shared with the serializer's tests).
    pub(crate) fn samples() -> Vec<DateTime<Utc>> {
        let base = DateTime::parse_from_rfc3339("2026-01-31T23:59:59Z").unwrap().to_utc();
        let mut cases = vec![
            base,
            DateTime::parse_from_rfc3339("0000-01-01T00:00:00Z").unwrap().to_utc(),
            DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999999999Z").unwrap().to_utc(),
            DateTime::parse_from_rfc3339("2016-12-31T23:59:60.5Z").unwrap().to_utc(),
        ];
        for nanos in [1, 10, 999, 1_000, 120_000, 1_000_000, 5_000_000, 123_456_789, 999_999_000, 999_000_000] {
            cases.push(base + chrono::Duration::nanoseconds(nanos));
        }
        for i in 0..2_000i64 {
            let step = 86_400_000_003_517 * i;
            cases.push(base + chrono::Duration::nanoseconds(if i % 2 == 0 { step } else { -step }));
        }
        cases
    }

    #[test]
    fn text_is_exactly_chronos() {
        let cases = samples();
        for t in cases {
            for (fraction, chrono) in
                [(Fraction::Shortest, SecondsFormat::AutoSi), (Fraction::Micros, SecondsFormat::Micros)]
            {
                let mut buffer = Buffer::default();
                assert_eq!(rfc3339(&t, fraction, &mut buffer), Some(t.to_rfc3339_opts(chrono, true).as_str()), "{t:?}");
            }
        }
    }

    #[test]
    fn signed_years_are_left_to_chrono() {
        for year in [-1, 10_000] {
            let t = chrono::NaiveDate::from_ymd_opt(year, 6, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
            assert_eq!(rfc3339(&t, Fraction::Shortest, &mut Buffer::default()), None);
        }
    }
}
