//! Fields read from and bound to the rows of each backend directly, with sqlx's native types:
//! what the generated `from_sqlite_row`, `bind_sqlite` (and PostgreSQL twins) call per field.
//!
//! Reads go by column index (the store selects every field in spec order, then `_version`),
//! borrow text where the field does not keep it (UUIDs, enums, timestamps, JSON), and build
//! no intermediate values: decoding a row costs what a hand-written decoder costs.
//!
//! This file also owns the storage formats, which the database handle uses for its values too:
//! on SQLite, UUIDs, dates, timestamps ([`sqlite_timestamp`]) and JSON ([`json_text`]) are
//! text; on PostgreSQL they have their own types, and timestamps are truncated to
//! microseconds on the way in.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::{Arguments, Row, ValueRef};
use uuid::Uuid;

use crate::model::cipher::{CipherError, Keyring, Place};
use crate::model::secret::Secret;
use crate::model::timestamp::{Buffer, Fraction, rfc3339, truncate_to_micros};

pub use sqlx::postgres::{PgArguments, PgRow};
pub use sqlx::sqlite::{SqliteArguments, SqliteRow};

/// SQLite stores timestamps as fixed-width RFC 3339 text in UTC with microseconds, so text
/// order is time order (indexes and keyset pagination rely on that) and precision matches
/// PostgreSQL's.
pub fn sqlite_timestamp(t: DateTime<Utc>) -> String {
    let t = truncate_to_micros(t);
    let mut buffer = Buffer::default();
    match rfc3339(&t, Fraction::Micros, &mut buffer) {
        Some(text) => text.to_owned(),
        None => t.to_rfc3339_opts(SecondsFormat::Micros, true),
    }
}

/// A timestamp stored on SQLite ([`sqlite_timestamp`]) as the routes write it
/// ([`Fraction::Shortest`]: the fraction cut to none, three or six digits), cut from the stored
/// text without parsing it (an embedded row is written straight from the stored text); `None`
/// for text of any other form, which the caller parses.
pub fn sqlite_timestamp_as_written<'b>(stored: &str, buffer: &'b mut Buffer) -> Option<&'b str> {
    let bytes = stored.as_bytes();
    if bytes.len() != 27 || bytes[19] != b'.' || bytes[26] != b'Z' || !bytes[20..26].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let keep = match &bytes[20..26] {
        b"000000" => 19,
        [.., b'0', b'0', b'0'] => 23,
        _ => 26,
    };
    buffer[..keep].copy_from_slice(&bytes[..keep]);
    buffer[keep] = b'Z';
    std::str::from_utf8(&buffer[..=keep]).ok()
}

/// JSON as text for SQLite. `serde_json::to_string` writes straight into a buffer; `Display`
/// (`to_string()`) goes through `fmt` piece by piece.
pub fn json_text(value: &serde_json::Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Why a value could not be bound (sqlx's encoding error; it surfaces when the statement runs).
pub type BindError = sqlx::error::BoxDynError;

/// A column that could not be read into its field: a schema changed by hand, or a bug. The
/// store names the column from the index.
#[derive(Debug)]
pub struct ColumnError {
    /// The column's position in the row.
    pub index: usize,
    /// What went wrong.
    pub cause: String,
}

impl ColumnError {
    /// An error for column `index`.
    pub fn new(index: usize, cause: impl std::fmt::Display) -> Self {
        ColumnError { index, cause: cause.to_string() }
    }
}

/// A field type as stored in a column of either backend.
pub trait Column: Sized {
    /// Reads column `index` of a SQLite row.
    fn read_sqlite(row: &SqliteRow, index: usize) -> Result<Self, ColumnError>;
    /// Reads column `index` of a PostgreSQL row.
    fn read_postgres(row: &PgRow, index: usize) -> Result<Self, ColumnError>;
    /// Binds the value as the next SQLite parameter.
    fn bind_sqlite(&self, args: &mut SqliteArguments) -> Result<(), BindError>;
    /// Binds the value as the next PostgreSQL parameter.
    fn bind_postgres(&self, args: &mut PgArguments) -> Result<(), BindError>;
    /// Binds a NULL of this column's type as the next PostgreSQL parameter (PostgreSQL types
    /// every parameter, NULLs included).
    fn bind_postgres_null(args: &mut PgArguments) -> Result<(), BindError>;
}

fn get<'r, R, T>(row: &'r R, index: usize) -> Result<T, ColumnError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    row.try_get(index).map_err(|e| ColumnError::new(index, e))
}

/// Reads a text column and parses it.
fn parse<'r, R, T>(row: &'r R, index: usize) -> Result<T, ColumnError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    T: FromStr<Err: std::fmt::Display>,
{
    let text: &str = get(row, index)?;
    text.parse().map_err(|e| ColumnError::new(index, format_args!("`{text}`: {e}")))
}

/// Types sqlx reads and binds natively on both backends.
macro_rules! native_column {
    ($($ty:ty),*) => {$(
        impl Column for $ty {
            fn read_sqlite(row: &SqliteRow, index: usize) -> Result<Self, ColumnError> {
                get(row, index)
            }
            fn read_postgres(row: &PgRow, index: usize) -> Result<Self, ColumnError> {
                get(row, index)
            }
            fn bind_sqlite(&self, args: &mut SqliteArguments) -> Result<(), BindError> {
                args.add(self)
            }
            fn bind_postgres(&self, args: &mut PgArguments) -> Result<(), BindError> {
                args.add(self)
            }
            fn bind_postgres_null(args: &mut PgArguments) -> Result<(), BindError> {
                args.add(None::<$ty>)
            }
        }
    )*};
}

native_column!(bool, i64, f64, String);

impl Column for Uuid {
    fn read_sqlite(row: &SqliteRow, index: usize) -> Result<Self, ColumnError> {
        parse(row, index)
    }
    fn read_postgres(row: &PgRow, index: usize) -> Result<Self, ColumnError> {
        get(row, index)
    }
    fn bind_sqlite(&self, args: &mut SqliteArguments) -> Result<(), BindError> {
        args.add(self.hyphenated())
    }
    fn bind_postgres(&self, args: &mut PgArguments) -> Result<(), BindError> {
        args.add(self)
    }
    fn bind_postgres_null(args: &mut PgArguments) -> Result<(), BindError> {
        args.add(None::<Uuid>)
    }
}

impl Column for serde_json::Value {
    fn read_sqlite(row: &SqliteRow, index: usize) -> Result<Self, ColumnError> {
        let text: &str = get(row, index)?;
        serde_json::from_str(text).map_err(|e| ColumnError::new(index, e))
    }
    fn read_postgres(row: &PgRow, index: usize) -> Result<Self, ColumnError> {
        get::<_, sqlx::types::Json<serde_json::Value>>(row, index).map(|json| json.0)
    }
    fn bind_sqlite(&self, args: &mut SqliteArguments) -> Result<(), BindError> {
        args.add(json_text(self))
    }
    fn bind_postgres(&self, args: &mut PgArguments) -> Result<(), BindError> {
        args.add(sqlx::types::Json(self))
    }
    fn bind_postgres_null(args: &mut PgArguments) -> Result<(), BindError> {
        args.add(None::<sqlx::types::Json<serde_json::Value>>)
    }
}

impl Column for DateTime<Utc> {
    fn read_sqlite(row: &SqliteRow, index: usize) -> Result<Self, ColumnError> {
        let text: &str = get(row, index)?;
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| ColumnError::new(index, e))
    }
    fn read_postgres(row: &PgRow, index: usize) -> Result<Self, ColumnError> {
        get(row, index)
    }
    fn bind_sqlite(&self, args: &mut SqliteArguments) -> Result<(), BindError> {
        args.add(sqlite_timestamp(*self))
    }
    fn bind_postgres(&self, args: &mut PgArguments) -> Result<(), BindError> {
        args.add(truncate_to_micros(*self))
    }
    fn bind_postgres_null(args: &mut PgArguments) -> Result<(), BindError> {
        args.add(None::<DateTime<Utc>>)
    }
}

impl Column for NaiveDate {
    fn read_sqlite(row: &SqliteRow, index: usize) -> Result<Self, ColumnError> {
        parse(row, index)
    }
    fn read_postgres(row: &PgRow, index: usize) -> Result<Self, ColumnError> {
        get(row, index)
    }
    fn bind_sqlite(&self, args: &mut SqliteArguments) -> Result<(), BindError> {
        args.add(self.to_string())
    }
    fn bind_postgres(&self, args: &mut PgArguments) -> Result<(), BindError> {
        args.add(self)
    }
    fn bind_postgres_null(args: &mut PgArguments) -> Result<(), BindError> {
        args.add(None::<NaiveDate>)
    }
}

impl<T: Column> Column for Option<T> {
    fn read_sqlite(row: &SqliteRow, index: usize) -> Result<Self, ColumnError> {
        let raw = row.try_get_raw(index).map_err(|e| ColumnError::new(index, e))?;
        if raw.is_null() { Ok(None) } else { T::read_sqlite(row, index).map(Some) }
    }
    fn read_postgres(row: &PgRow, index: usize) -> Result<Self, ColumnError> {
        let raw = row.try_get_raw(index).map_err(|e| ColumnError::new(index, e))?;
        if raw.is_null() { Ok(None) } else { T::read_postgres(row, index).map(Some) }
    }
    fn bind_sqlite(&self, args: &mut SqliteArguments) -> Result<(), BindError> {
        match self {
            Some(value) => value.bind_sqlite(args),
            None => args.add(None::<i64>),
        }
    }
    fn bind_postgres(&self, args: &mut PgArguments) -> Result<(), BindError> {
        match self {
            Some(value) => value.bind_postgres(args),
            None => T::bind_postgres_null(args),
        }
    }
    fn bind_postgres_null(args: &mut PgArguments) -> Result<(), BindError> {
        T::bind_postgres_null(args)
    }
}

/// A sensitive field's column: the value is sealed on the way in and opened on the way out
/// with the database's keyring, for its [`Place`] (table, column, row). With no keyring both
/// fail: a sensitive value is never stored or read as plain text. Errors never quote what was
/// stored (it ends up in logs).
pub trait SealedColumn: Sized {
    /// Reads and opens column `index` of a SQLite row.
    fn read_sqlite_sealed(
        row: &SqliteRow,
        index: usize,
        unseal: Unseal<'_>,
        place: &Place<'_>,
    ) -> Result<Self, ColumnError>;
    /// Reads and opens column `index` of a PostgreSQL row.
    fn read_postgres_sealed(
        row: &PgRow,
        index: usize,
        unseal: Unseal<'_>,
        place: &Place<'_>,
    ) -> Result<Self, ColumnError>;
    /// Seals and binds the value as the next SQLite parameter.
    fn bind_sqlite_sealed(
        &self,
        args: &mut SqliteArguments,
        keys: Option<&Keyring>,
        place: &Place<'_>,
    ) -> Result<(), BindError>;
    /// Seals and binds the value as the next PostgreSQL parameter.
    fn bind_postgres_sealed(
        &self,
        args: &mut PgArguments,
        keys: Option<&Keyring>,
        place: &Place<'_>,
    ) -> Result<(), BindError>;
}

/// What a row decoder does with sensitive columns.
#[derive(Debug, Clone, Copy)]
pub enum Unseal<'a> {
    /// Opens them with these keys (`None`: no key is configured, which fails the read).
    With(Option<&'a Keyring>),
    /// Leaves them sealed: each becomes an empty value (a NULL stays `None`). For entities that
    /// are only served, where sensitive fields never appear: a page then costs no decryption,
    /// and the plain values never enter memory. Such an entity must never be written back.
    Leave,
}

fn open(
    stored: Option<&str>,
    index: usize,
    unseal: Unseal<'_>,
    place: &Place<'_>,
) -> Result<Option<Secret<String>>, ColumnError> {
    let Some(stored) = stored else { return Ok(None) };
    let keys = match unseal {
        Unseal::Leave => return Ok(Some(Secret::new(String::new()))),
        Unseal::With(keys) => keys.ok_or_else(|| ColumnError::new(index, CipherError::NoKey))?,
    };
    keys.open(stored, place).map(|plain| Some(Secret::new(plain))).map_err(|e| ColumnError::new(index, e))
}

/// Seals a sensitive value for `place` (`None` stays NULL).
pub fn seal(
    value: Option<&Secret<String>>,
    keys: Option<&Keyring>,
    place: &Place<'_>,
) -> Result<Option<String>, CipherError> {
    let Some(value) = value else { return Ok(None) };
    keys.ok_or(CipherError::NoKey)?.seal(value.expose(), place).map(Some)
}

fn sealed_required(value: Option<Secret<String>>, index: usize) -> Result<Secret<String>, ColumnError> {
    value.ok_or_else(|| ColumnError::new(index, "unexpected NULL in a required sensitive column"))
}

impl SealedColumn for Option<Secret<String>> {
    fn read_sqlite_sealed(
        row: &SqliteRow,
        index: usize,
        unseal: Unseal<'_>,
        place: &Place<'_>,
    ) -> Result<Self, ColumnError> {
        open(get::<_, Option<&str>>(row, index).map_err(redacted)?, index, unseal, place)
    }
    fn read_postgres_sealed(
        row: &PgRow,
        index: usize,
        unseal: Unseal<'_>,
        place: &Place<'_>,
    ) -> Result<Self, ColumnError> {
        open(get::<_, Option<&str>>(row, index).map_err(redacted)?, index, unseal, place)
    }
    fn bind_sqlite_sealed(
        &self,
        args: &mut SqliteArguments,
        keys: Option<&Keyring>,
        place: &Place<'_>,
    ) -> Result<(), BindError> {
        args.add(seal(self.as_ref(), keys, place)?)
    }
    fn bind_postgres_sealed(
        &self,
        args: &mut PgArguments,
        keys: Option<&Keyring>,
        place: &Place<'_>,
    ) -> Result<(), BindError> {
        args.add(seal(self.as_ref(), keys, place)?)
    }
}

impl SealedColumn for Secret<String> {
    fn read_sqlite_sealed(
        row: &SqliteRow,
        index: usize,
        unseal: Unseal<'_>,
        place: &Place<'_>,
    ) -> Result<Self, ColumnError> {
        sealed_required(Option::read_sqlite_sealed(row, index, unseal, place)?, index)
    }
    fn read_postgres_sealed(
        row: &PgRow,
        index: usize,
        unseal: Unseal<'_>,
        place: &Place<'_>,
    ) -> Result<Self, ColumnError> {
        sealed_required(Option::read_postgres_sealed(row, index, unseal, place)?, index)
    }
    fn bind_sqlite_sealed(
        &self,
        args: &mut SqliteArguments,
        keys: Option<&Keyring>,
        place: &Place<'_>,
    ) -> Result<(), BindError> {
        args.add(seal(Some(self), keys, place)?)
    }
    fn bind_postgres_sealed(
        &self,
        args: &mut PgArguments,
        keys: Option<&Keyring>,
        place: &Place<'_>,
    ) -> Result<(), BindError> {
        args.add(seal(Some(self), keys, place)?)
    }
}

/// Errors reading a sensitive column never quote what was stored.
fn redacted(error: ColumnError) -> ColumnError {
    ColumnError::new(error.index, "the stored value does not fit the field (sensitive, not shown)")
}

/// Reads a generated enum, stored as its wire name, from a SQLite row.
pub fn read_sqlite_enum<T: FromStr<Err: std::fmt::Display>>(row: &SqliteRow, index: usize) -> Result<T, ColumnError> {
    parse(row, index)
}

/// Reads a generated enum, stored as its wire name, from a PostgreSQL row.
pub fn read_postgres_enum<T: FromStr<Err: std::fmt::Display>>(row: &PgRow, index: usize) -> Result<T, ColumnError> {
    parse(row, index)
}

/// Binds a generated enum's wire name as the next SQLite parameter.
pub fn bind_sqlite_enum(name: &'static str, args: &mut SqliteArguments) -> Result<(), BindError> {
    args.add(name)
}

/// Binds a generated enum's wire name as the next PostgreSQL parameter.
pub fn bind_postgres_enum(name: &'static str, args: &mut PgArguments) -> Result<(), BindError> {
    args.add(name)
}

/// Binds a NULL enum (text) as the next PostgreSQL parameter.
pub fn bind_postgres_null_enum(args: &mut PgArguments) -> Result<(), BindError> {
    args.add(None::<&str>)
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;

    #[test]
    fn stored_timestamps_cut_to_what_the_routes_write() {
        for t in crate::model::timestamp::tests::samples() {
            let t = truncate_to_micros(t);
            let (mut written, mut cut) = (Buffer::default(), Buffer::default());
            let Some(expected) = rfc3339(&t, Fraction::Shortest, &mut written) else { continue };
            assert_eq!(sqlite_timestamp_as_written(&sqlite_timestamp(t), &mut cut), Some(expected), "{t:?}");
        }
        let mut buffer = Buffer::default();
        for other in ["2026-01-31T12:00:00Z", "2026-01-31T12:00:00.123456+00:00", "+10000-01-01T00:00:00.000000Z"] {
            assert_eq!(sqlite_timestamp_as_written(other, &mut buffer), None, "{other}");
        }
    }

    async fn sqlite_row(select: &str) -> SqliteRow {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(select.to_owned())).fetch_one(&mut conn).await.unwrap()
    }

    #[tokio::test]
    async fn sqlite_columns_read_their_storage_format() {
        let row = sqlite_row(
            "SELECT '0191f7a2-5c1e-7d3a-9f00-4b1e2c3d4e5f', NULL, '2026-01-31T12:00:00.000001Z', \
             '{\"a\":[1]}', 'x', 7",
        )
        .await;
        let id = Uuid::read_sqlite(&row, 0).unwrap();
        assert_eq!(id.to_string(), "0191f7a2-5c1e-7d3a-9f00-4b1e2c3d4e5f");
        assert_eq!(Option::<i64>::read_sqlite(&row, 1).unwrap(), None);
        let at = DateTime::<Utc>::read_sqlite(&row, 2).unwrap();
        assert_eq!(sqlite_timestamp(at), "2026-01-31T12:00:00.000001Z");
        assert_eq!(serde_json::Value::read_sqlite(&row, 3).unwrap(), serde_json::json!({"a": [1]}));
        assert_eq!(String::read_sqlite(&row, 4).unwrap(), "x");
        assert_eq!(Option::<i64>::read_sqlite(&row, 5).unwrap(), Some(7));
    }

    #[tokio::test]
    async fn errors_name_the_column_and_never_quote_a_secret() {
        let row = sqlite_row("SELECT 'hunter2', 'hunter2', 7").await;
        let plain = Uuid::read_sqlite(&row, 0).unwrap_err();
        assert_eq!(plain.index, 0);
        assert!(plain.cause.contains("hunter2"), "{}", plain.cause);
        let keys = Keyring::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let place = Place { table: "t", column: "c", row: Uuid::nil() };
        for index in [1, 2] {
            let secret = Option::<Secret<String>>::read_sqlite_sealed(&row, index, Unseal::With(Some(&keys)), &place)
                .unwrap_err();
            assert_eq!(secret.index, index);
            assert!(!secret.cause.contains("hunter2") && !secret.cause.contains('7'), "{}", secret.cause);
        }
    }

    #[tokio::test]
    async fn sensitive_columns_hold_ciphertext_and_need_a_key() {
        let keys = Keyring::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let place = Place { table: "t", column: "c", row: Uuid::nil() };
        let sealed = seal(Some(&Secret::from("hunter2")), Some(&keys), &place).unwrap().unwrap();
        assert!(sealed.starts_with("esv1:") && !sealed.contains("hunter2"));
        let row = sqlite_row(&format!("SELECT '{sealed}', NULL")).await;
        let read = Secret::<String>::read_sqlite_sealed(&row, 0, Unseal::With(Some(&keys)), &place).unwrap();
        assert_eq!(read.expose(), "hunter2");
        assert!(
            Option::<Secret<String>>::read_sqlite_sealed(&row, 1, Unseal::With(Some(&keys)), &place).unwrap().is_none()
        );
        assert!(Secret::<String>::read_sqlite_sealed(&row, 1, Unseal::With(Some(&keys)), &place).is_err());
        let without_key = Secret::<String>::read_sqlite_sealed(&row, 0, Unseal::With(None), &place).unwrap_err();
        assert!(without_key.cause.contains("ENTITY_SPEC_SECRET_KEY"), "{}", without_key.cause);
        assert_eq!(seal(Some(&Secret::from("hunter2")), None, &place), Err(CipherError::NoKey));
        // Left sealed (an entity only served): an empty value, nothing decrypted, even without a key.
        let left = Secret::<String>::read_sqlite_sealed(&row, 0, Unseal::Leave, &place).unwrap();
        assert_eq!(left.expose(), "");
        assert!(Option::<Secret<String>>::read_sqlite_sealed(&row, 1, Unseal::Leave, &place).unwrap().is_none());
    }

    #[test]
    fn sqlite_timestamps_sort_as_text() {
        let early = DateTime::parse_from_rfc3339("2026-01-01T00:00:05Z").unwrap().with_timezone(&Utc);
        let later = DateTime::parse_from_rfc3339("2026-01-01T00:00:05.5Z").unwrap().with_timezone(&Utc);
        assert_eq!(sqlite_timestamp(early), "2026-01-01T00:00:05.000000Z");
        assert!(sqlite_timestamp(early) < sqlite_timestamp(later));
    }
}
