//! A checked list request: filters, sort and page, as the list SQL is built from them
//! (`storage::list_sql`) and as the query string is parsed into them (`http::params`); and
//! the opaque cursor that carries where a page ended.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity_spec_contract::lists::{CountMode, ListFormat};
use serde::{Deserialize, Serialize};

use crate::model::def::FieldDef;
use crate::model::value::SqlValue;

/// A checked list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Conditions, all of which must hold.
    pub filters: Vec<Filter>,
    /// The sort field and direction.
    pub sort: Sort,
    /// Page size.
    pub limit: u32,
    /// Rows to skip (offset pagination).
    pub offset: u64,
    /// Where the previous page ended (keyset pagination).
    pub after: Option<Position>,
    /// A fingerprint of the filters and sort, carried in cursors so a cursor cannot be
    /// replayed against a different query.
    pub fingerprint: String,
    /// How the matches are counted.
    pub count: CountMode,
    /// A page of JSON, or every match as CSV.
    pub format: ListFormat,
    /// The reference fields whose referenced items are embedded (`?expand=`).
    pub expand: Vec<&'static FieldDef>,
    /// Every match from the start position, not one page (a CSV export without `limit`).
    pub unpaged: bool,
    /// A full-text search (`q=`), if any.
    pub search: Option<Search>,
}

/// A full-text search over the entity's searchable fields (`q=`).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The words, lowercased (`entity_spec_contract::search::search_terms`): a row matches when
    /// every one starts a word of its searchable fields.
    pub terms: Vec<String>,
    /// Ordered by relevance, best first, then by key (no `sort=` was given). A cursor then
    /// carries the last row's relevance score as its position.
    pub ranked: bool,
}

impl ListQuery {
    /// The cursor of the page after `position`, for this query only.
    pub fn cursor_after(&self, position: &Position) -> String {
        encode_cursor(&self.fingerprint, &position.value, position.id)
    }

    /// The search, when the page is ordered by its relevance.
    pub fn ranked_search(&self) -> Option<&Search> {
        self.search.as_ref().filter(|search| search.ranked)
    }
}

/// A page of a list without filters or sort of its own (a run history): its size and how
/// many rows come before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Page size.
    pub limit: u32,
    /// Rows to skip.
    pub offset: u64,
}

/// One filter condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The filtered field.
    pub field: &'static FieldDef,
    /// The comparison.
    pub op: FilterOp,
}

/// Comparisons a filter can make.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterOp {
    /// `field = v`
    Eq(SqlValue),
    /// `field IN (…)`
    In(Vec<SqlValue>),
    /// `field > v`
    Gt(SqlValue),
    /// `field >= v`
    Gte(SqlValue),
    /// `field < v`
    Lt(SqlValue),
    /// `field <= v`
    Lte(SqlValue),
    /// `field IS NULL` (true) or `IS NOT NULL` (false)
    IsNull(bool),
    /// The text holds this substring, case-sensitively.
    Contains(String),
    /// The text holds this substring, ignoring case (ASCII letters on SQLite, every letter on
    /// PostgreSQL).
    IContains(String),
    /// The text starts with this prefix, case-sensitively.
    StartsWith(String),
}

/// Sort order: one field, then the primary key in the same direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    /// The field.
    pub field: &'static FieldDef,
    /// Descending (`sort=-field`).
    pub descending: bool,
}

/// The sort key and id of the last row of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// The sort field's value in that row (`Null` for a NULL).
    pub value: SqlValue,
    /// That row's primary key.
    pub id: uuid::Uuid,
}

/// What a cursor holds, base64url-encoded JSON. Opaque to clients.
#[derive(Debug, Serialize, Deserialize)]
pub struct CursorBody {
    /// Fingerprint of the query that issued it.
    pub q: String,
    /// The sort value of the last row (JSON null for NULL).
    pub v: serde_json::Value,
    /// The id of the last row.
    pub id: uuid::Uuid,
}

impl CursorBody {
    /// Reads a cursor's text; `None` unless it is one this module wrote.
    pub fn decode(cursor: &str) -> Option<CursorBody> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// Encodes the position after `value`/`id` for the next page of the query `fingerprint`.
pub fn encode_cursor(fingerprint: &str, value: &SqlValue, id: uuid::Uuid) -> String {
    let v = match value {
        SqlValue::Null(_) => serde_json::Value::Null,
        SqlValue::Bool(b) => (*b).into(),
        SqlValue::Int(i) => (*i).into(),
        SqlValue::Float(f) => (*f).into(),
        SqlValue::Text(s) => s.clone().into(),
        SqlValue::Uuid(u) => u.to_string().into(),
        SqlValue::Json(j) => j.clone(),
        SqlValue::DateTime(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into(),
        SqlValue::Date(d) => d.to_string().into(),
    };
    let body = CursorBody { q: fingerprint.to_owned(), v, id };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap_or_default())
}
