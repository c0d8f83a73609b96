//! Column values in transit between generated structs and the database, independent of the
//! backend. Generated code converts each field with [`ToSqlValue`] / [`FromSqlValue`]; the
//! store binds and reads them per backend.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::Secret;

/// A column's storage type. NULLs carry one because PostgreSQL types every bind parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// `BOOLEAN`
    Bool,
    /// `BIGINT`
    Int,
    /// `DOUBLE PRECISION`
    Float,
    /// `TEXT`
    Text,
    /// `UUID`
    Uuid,
    /// `JSONB`
    Json,
    /// `TIMESTAMPTZ`
    DateTime,
    /// `DATE`
    Date,
}

/// One column value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// A typed NULL.
    Null(SqlType),
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// Text (also enums, by wire name).
    Text(String),
    /// A UUID.
    Uuid(Uuid),
    /// A JSON document.
    Json(serde_json::Value),
    /// A UTC timestamp (microsecond precision, as PostgreSQL stores it).
    DateTime(DateTime<Utc>),
    /// A calendar date.
    Date(NaiveDate),
}

impl SqlValue {
    /// Short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            SqlValue::Null(_) => "NULL",
            SqlValue::Bool(_) => "boolean",
            SqlValue::Int(_) => "integer",
            SqlValue::Float(_) => "float",
            SqlValue::Text(_) => "text",
            SqlValue::Uuid(_) => "uuid",
            SqlValue::Json(_) => "json",
            SqlValue::DateTime(_) => "datetime",
            SqlValue::Date(_) => "date",
        }
    }
}

/// A stored value that does not fit the field it is read into (a schema changed by hand, or
/// a bug); reported as a server error that names the column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("column `{column}`: expected {expected}, found {found}")]
pub struct DecodeError {
    /// The column.
    pub column: &'static str,
    /// What the field needs.
    pub expected: &'static str,
    /// What the database returned.
    pub found: String,
}

/// Converts a field value into a column value.
pub trait ToSqlValue {
    /// The column type, which is also the type of `None` for `Option<Self>`.
    const SQL_TYPE: SqlType;
    /// The column value.
    fn to_sql_value(&self) -> SqlValue;
}

/// Converts a column value back into a field value.
pub trait FromSqlValue: Sized {
    /// What the field expects, for error messages.
    const EXPECTED: &'static str;
    /// The field value, or `None` when the column value does not fit.
    fn from_sql_value(value: SqlValue) -> Option<Self>;
}

macro_rules! sql_scalar {
    ($ty:ty, $variant:ident, $null:ident, $expected:literal) => {
        impl ToSqlValue for $ty {
            const SQL_TYPE: SqlType = SqlType::$null;
            fn to_sql_value(&self) -> SqlValue {
                SqlValue::$variant(self.clone())
            }
        }

        impl FromSqlValue for $ty {
            const EXPECTED: &'static str = $expected;
            fn from_sql_value(value: SqlValue) -> Option<Self> {
                match value {
                    SqlValue::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

sql_scalar!(bool, Bool, Bool, "a boolean");
sql_scalar!(i64, Int, Int, "an integer");
sql_scalar!(f64, Float, Float, "a float");
sql_scalar!(String, Text, Text, "text");
sql_scalar!(Uuid, Uuid, Uuid, "a uuid");
sql_scalar!(serde_json::Value, Json, Json, "json");
sql_scalar!(DateTime<Utc>, DateTime, DateTime, "a timestamp");
sql_scalar!(NaiveDate, Date, Date, "a date");

impl<T: ToSqlValue> ToSqlValue for Option<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    fn to_sql_value(&self) -> SqlValue {
        match self {
            Some(value) => value.to_sql_value(),
            None => SqlValue::Null(T::SQL_TYPE),
        }
    }
}

impl<T: FromSqlValue> FromSqlValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        match value {
            SqlValue::Null(_) => Some(None),
            value => T::from_sql_value(value).map(Some),
        }
    }
}

impl<T: ToSqlValue> ToSqlValue for Secret<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    fn to_sql_value(&self) -> SqlValue {
        self.expose().to_sql_value()
    }
}

impl<T: FromSqlValue> FromSqlValue for Secret<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        T::from_sql_value(value).map(Secret::new)
    }
}

/// Reads the columns of one row, in field order, into struct fields (used by generated
/// `from_row`).
#[derive(Debug)]
pub struct RowReader {
    columns: &'static [crate::def::FieldDef],
    values: std::vec::IntoIter<SqlValue>,
    index: usize,
}

impl RowReader {
    /// Wraps the values of one row of the entity's table.
    pub fn new(columns: &'static [crate::def::FieldDef], values: Vec<SqlValue>) -> Self {
        RowReader { columns, values: values.into_iter(), index: 0 }
    }

    /// The next column, converted into the field's type.
    #[allow(clippy::should_implement_trait)] // not an iterator: each call yields a different type
    pub fn next<T: FromSqlValue>(&mut self) -> Result<T, DecodeError> {
        let column = self.columns.get(self.index).map_or("?", |c| c.name);
        self.index += 1;
        let value = self.values.next().unwrap_or(SqlValue::Null(SqlType::Text));
        let found = value.type_name();
        T::from_sql_value(value).ok_or_else(|| DecodeError { column, expected: T::EXPECTED, found: found.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_secrets_round_trip() {
        let none: Option<i64> = None;
        assert_eq!(none.to_sql_value(), SqlValue::Null(SqlType::Int));
        assert_eq!(Option::<i64>::from_sql_value(SqlValue::Null(SqlType::Int)), Some(None));
        assert_eq!(Option::<i64>::from_sql_value(SqlValue::Int(3)), Some(Some(3)));
        let secret = Secret::new("dsn".to_owned());
        assert_eq!(secret.to_sql_value(), SqlValue::Text("dsn".to_owned()));
        assert_eq!(i64::from_sql_value(SqlValue::Text("x".to_owned())), None);
    }
}
