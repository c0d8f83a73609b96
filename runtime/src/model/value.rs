//! Column values independent of the backend: list filters and cursors, the runtime's own
//! tables, and generic comparisons of entities ([`ToSqlValue`], `Entity::to_row`). Entities
//! themselves are read and bound natively, see [`crate::storage::column`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::model::def::FieldKind;
use crate::model::secret::Secret;
use crate::model::timestamp::{Buffer, Fraction, rfc3339};

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

impl SqlType {
    /// The storage type of a field kind.
    pub fn of(kind: FieldKind) -> SqlType {
        match kind {
            FieldKind::Uuid => SqlType::Uuid,
            FieldKind::String | FieldKind::Text | FieldKind::Enum(_) => SqlType::Text,
            FieldKind::Integer => SqlType::Int,
            FieldKind::Float => SqlType::Float,
            FieldKind::Boolean => SqlType::Bool,
            FieldKind::Json => SqlType::Json,
            FieldKind::DateTime => SqlType::DateTime,
            FieldKind::Date => SqlType::Date,
        }
    }
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

/// A value as an entity's JSON shows it: what the generated types' `Serialize` writes for the
/// same field (timestamps through the same RFC 3339 writer), so a row read without its type (an
/// embedded reference) looks like one read with it.
impl Serialize for SqlValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SqlValue::Null(_) => serializer.serialize_none(),
            SqlValue::Bool(b) => serializer.serialize_bool(*b),
            SqlValue::Int(i) => serializer.serialize_i64(*i),
            SqlValue::Float(f) => serializer.serialize_f64(*f),
            SqlValue::Text(text) => serializer.serialize_str(text),
            SqlValue::Uuid(id) => serializer.serialize_str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer())),
            SqlValue::Json(json) => json.serialize(serializer),
            SqlValue::DateTime(t) => match rfc3339(t, Fraction::Shortest, &mut Buffer::default()) {
                Some(text) => serializer.serialize_str(text),
                None => t.serialize(serializer),
            },
            SqlValue::Date(d) => serializer.collect_str(d),
        }
    }
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

    /// The text, if this is text (reading the runtime's own tables).
    pub fn into_text(self) -> Option<String> {
        match self {
            SqlValue::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The UUID, if this is one.
    pub fn into_uuid(self) -> Option<Uuid> {
        match self {
            SqlValue::Uuid(id) => Some(id),
            _ => None,
        }
    }

    /// The timestamp, if this is one.
    pub fn into_datetime(self) -> Option<DateTime<Utc>> {
        match self {
            SqlValue::DateTime(at) => Some(at),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn into_int(self) -> Option<i64> {
        match self {
            SqlValue::Int(n) => Some(n),
            _ => None,
        }
    }
}

/// A stored value that does not fit the field it is read into (a schema changed by hand, or
/// a bug); reported as a server error that names the column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("column `{column}`: {cause}")]
pub struct DecodeError {
    /// The column.
    pub column: &'static str,
    /// What did not fit.
    pub cause: String,
}

/// Converts a field value into a column value.
pub trait ToSqlValue {
    /// The column type, which is also the type of `None` for `Option<Self>`.
    const SQL_TYPE: SqlType;
    /// The column value.
    fn to_sql_value(&self) -> SqlValue;
}

macro_rules! sql_scalar {
    ($ty:ty, $variant:ident) => {
        impl ToSqlValue for $ty {
            const SQL_TYPE: SqlType = SqlType::$variant;
            fn to_sql_value(&self) -> SqlValue {
                SqlValue::$variant(self.clone())
            }
        }
    };
}

sql_scalar!(bool, Bool);
sql_scalar!(i64, Int);
sql_scalar!(f64, Float);
sql_scalar!(String, Text);
sql_scalar!(Uuid, Uuid);
sql_scalar!(serde_json::Value, Json);
sql_scalar!(DateTime<Utc>, DateTime);
sql_scalar!(NaiveDate, Date);

impl<T: ToSqlValue> ToSqlValue for Option<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    fn to_sql_value(&self) -> SqlValue {
        match self {
            Some(value) => value.to_sql_value(),
            None => SqlValue::Null(T::SQL_TYPE),
        }
    }
}

impl<T: ToSqlValue> ToSqlValue for Secret<T> {
    const SQL_TYPE: SqlType = T::SQL_TYPE;
    fn to_sql_value(&self) -> SqlValue {
        self.expose().to_sql_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_secrets_convert() {
        let none: Option<i64> = None;
        assert_eq!(none.to_sql_value(), SqlValue::Null(SqlType::Int));
        assert_eq!(Some(3i64).to_sql_value(), SqlValue::Int(3));
        let secret = Secret::new("dsn".to_owned());
        assert_eq!(secret.to_sql_value(), SqlValue::Text("dsn".to_owned()));
    }
}
