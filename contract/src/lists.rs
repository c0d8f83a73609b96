//! What a list answers besides its items: how its `total` is counted (`count=`) and in which
//! format it is sent (`format=`, or `Accept: text/csv`). The generator documents these values
//! and the workbench uses them; the runtime parses them.

use crate::runs::wire_enum;

wire_enum! {
    /// How a list counts the items matching its filters (`count=`).
    CountMode {
        /// `COUNT(*)` of every match: exact, and the cost of reading every match.
        Exact = "exact",
        /// Exact up to [`EXACT_COUNT_UP_TO`] matches; above it, PostgreSQL's planner estimate
        /// (SQLite always counts exactly).
        Estimated = "estimated",
        /// No count: `total` is `null`, and the list costs only its page.
        None = "none",
    }
}

wire_enum! {
    /// The format a list is sent in (`format=`).
    ListFormat {
        /// One page of items as JSON (the default).
        Json = "json",
        /// Every matching item as CSV (RFC 4180), streamed, without paging.
        Csv = "csv",
    }
}

/// Whether a list takes the option `name` (`count`, `format`): not where one of its fields has
/// that name, since `name=` then filters that field (a spec's `format` field keeps its filter;
/// its lists are exported with `Accept: text/csv`).
pub fn takes_option<'a>(name: &str, mut field_names: impl Iterator<Item = &'a str>) -> bool {
    !field_names.any(|field| field == name)
}

/// With `count=estimated`, a planner estimate at or below this is replaced by an exact count
/// (cheap at that size), so small totals are never approximate.
pub const EXACT_COUNT_UP_TO: i64 = 10_000;

/// The media type of a CSV export.
pub const CSV_MEDIA_TYPE: &str = "text/csv";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for mode in CountMode::ALL {
            assert_eq!(CountMode::parse(mode.as_str()), Some(*mode));
        }
        assert_eq!(CountMode::parse("Exact"), None);
        assert_eq!(ListFormat::NAMES, ["json", "csv"]);
    }

    #[test]
    fn a_field_of_the_same_name_wins() {
        assert!(takes_option("format", ["title", "count"].into_iter()));
        assert!(!takes_option("format", ["title", "format"].into_iter()));
    }
}
