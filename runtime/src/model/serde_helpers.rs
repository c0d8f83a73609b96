//! Serde adapters used by generated types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::timestamp::{Buffer, Fraction, rfc3339};

/// For `Option<T>` fields with `#[serde(default)]`: a present value (even `null`, when `T` is
/// itself an `Option`) becomes `Some`, an absent key stays `None`. This is how update inputs
/// tell "keep the stored value" (absent) from "clear it" (`null`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Serializes a timestamp exactly as chrono's own `Serialize` does (RFC 3339, `Z`, 0, 3, 6 or
/// 9 fractional digits, whichever is shortest without loss), about ten times faster: chrono
/// writes through `collect_str`, which escapes every formatted piece separately, and entities
/// carry several timestamps per row. Years outside 0–9999 take chrono's path.
pub fn datetime<S: Serializer>(t: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = Buffer::default();
    match rfc3339(t, Fraction::Shortest, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        None => t.serialize(serializer),
    }
}

/// [`datetime`] for nullable fields.
pub fn optional_datetime<S: Serializer>(t: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => datetime(t, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(t: DateTime<Utc>) -> String {
        let mut out = Vec::new();
        datetime(&t, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timestamps_serialize_exactly_as_chrono_does() {
        let mut cases = crate::model::timestamp::tests::samples();
        // Years chrono writes with a sign or five digits: the serializer falls back to chrono.
        for year in [-1, 10_000] {
            cases.push(chrono::NaiveDate::from_ymd_opt(year, 6, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc());
        }
        for t in cases {
            assert_eq!(fast(t), serde_json::to_string(&t).unwrap(), "{t:?}");
        }
        let mut out = Vec::new();
        optional_datetime(&None, &mut serde_json::Serializer::new(&mut out)).unwrap();
        assert_eq!(out, b"null");
    }
}
