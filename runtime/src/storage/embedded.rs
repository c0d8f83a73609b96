//! The rows a page or an item refers to, read for `?expand=`, each as the JSON its entity's own
//! routes would show (sensitive fields left out). A list page reads them in its own statement:
//! the page is a subquery, and each expanded reference a `LEFT JOIN` on the referenced key (a
//! lateral lookup on PostgreSQL), so expanding costs no extra query and no extra row
//! ([`join_embeds`], [`read_embedded`]). A single item reads them with one query per reference
//! ([`referenced_rows`]). On SQLite an embedded row is written as JSON once, as it is read
//! ([`SqliteColumns`]); on PostgreSQL it is read into values.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use sqlx::{Row as _, ValueRef as _};
use uuid::Uuid;

use crate::model::def::{EntityDef, FieldDef};
use crate::model::timestamp::Buffer;
use crate::model::value::{SqlType, SqlValue};
use crate::storage::column::{SqliteRow, sqlite_timestamp_as_written};
use crate::storage::db::{Backend, Db, Rows, Sql, sqlite_value};

/// One reference to embed: the referring field, the entity it refers to, and, for a caller
/// limited to its own rows of that entity, the owner field and the value it must hold (anyone
/// else's row is embedded as `null`, as a reference to nothing is).
#[derive(Debug, Clone, Copy)]
pub struct Embed<'a> {
    /// The referring field (`book_id`).
    pub field: &'static FieldDef,
    /// The entity it refers to.
    pub target: &'static EntityDef,
    /// `(owner field, caller's subject)` when the caller sees only its own rows of `target`.
    pub owner: Option<(&'static str, &'a str)>,
}

/// A row as an ordered JSON object: its entity's shown fields in spec order, as the entity's
/// type writes them.
#[derive(Debug, Clone)]
pub enum EmbeddedRow {
    /// Read into values (PostgreSQL).
    Values {
        /// The row's entity.
        target: &'static EntityDef,
        /// One per shown field.
        values: Vec<SqlValue>,
    },
    /// Written as JSON from SQLite's row as it was read ([`SqliteColumns`]).
    Json(Box<RawValue>),
}

impl Serialize for EmbeddedRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            EmbeddedRow::Values { target, values } => {
                let mut map = serializer.serialize_map(Some(values.len()))?;
                for (field, value) in shown(target).zip(values) {
                    map.serialize_entry(field.name, value)?;
                }
                map.end()
            }
            EmbeddedRow::Json(json) => json.serialize(serializer),
        }
    }
}

/// The shown columns of an embedded row in a SQLite row, from column `first` on, written as
/// JSON straight from the row sqlx read. sqlx has already copied every column out of SQLite;
/// reading each again into a value (a string allocated, a timestamp parsed) to write it from
/// that cost an embedded row as much once more. Text, dates and timestamps are stored as the
/// text the routes write, or nearly (timestamps keep six fractional digits, which the routes
/// cut: [`sqlite_timestamp_as_written`]).
struct SqliteColumns<'r> {
    row: &'r SqliteRow,
    first: usize,
    target: &'static EntityDef,
}

impl Serialize for SqliteColumns<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let mut map = serializer.serialize_map(None)?;
        for (offset, field) in shown(self.target).enumerate() {
            let index = self.first + offset;
            map.serialize_key(field.name)?;
            let kind = SqlType::of(field.kind);
            let text = || self.row.try_get::<Option<&str>, _>(index).map_err(S::Error::custom);
            let mut buffer = Buffer::default();
            match kind {
                SqlType::Text | SqlType::Date => map.serialize_value(&text()?)?,
                SqlType::DateTime => match text()?.map(|stored| sqlite_timestamp_as_written(stored, &mut buffer)) {
                    None => map.serialize_value(&None::<&str>)?,
                    Some(Some(written)) => map.serialize_value(written)?,
                    // Not as this runtime stores timestamps: read and written as a value.
                    Some(None) => {
                        map.serialize_value(&sqlite_value(self.row, index, kind).map_err(S::Error::custom)?)?
                    }
                },
                // Numbers and booleans cost nothing to read into a value; UUIDs are checked and
                // written lowercase, JSON parsed, as the routes do.
                _ => map.serialize_value(&sqlite_value(self.row, index, kind).map_err(S::Error::custom)?)?,
            }
        }
        map.end()
    }
}

/// The fields of `target` an embedded row shows: all but the sensitive ones.
fn shown(target: &'static EntityDef) -> impl Iterator<Item = &'static FieldDef> {
    target.fields.iter().filter(|f| !f.sensitive)
}

/// The storage types of the shown fields, and where the key is among them.
fn layout(target: &'static EntityDef) -> (Vec<SqlType>, usize) {
    let key = target.primary_key().name;
    (shown(target).map(|f| SqlType::of(f.kind)).collect(), shown(target).position(|f| f.name == key).unwrap_or(0))
}

/// The alias of the `index`th embedded table in a page's statement (names the runtime adds
/// start with `_`, which no field name does).
fn alias(index: usize) -> String {
    format!("\"_embed{index}\"")
}

/// `page` (a page's `SELECT`, ordered by `order`: the 1-based positions of its sort columns,
/// each with its direction) with the shown columns of every embedded row after its own: `SELECT
/// "_page".*, "_embed0"."id", … FROM (page) AS "_page" LEFT JOIN target AS "_embed0" ON
/// "_embed0".key = "_page".field …` (a lateral lookup on PostgreSQL), ordered again (a join
/// keeps no order of its own).
pub fn join_embeds(mut page: Sql, embeds: &[Embed<'_>], order: &[(usize, &str)]) -> Sql {
    if embeds.is_empty() {
        return page;
    }
    let mut head = String::from("SELECT \"_page\".*");
    for (i, embed) in embeds.iter().enumerate() {
        for field in shown(embed.target) {
            head.push_str(", ");
            head.push_str(&alias(i));
            head.push('.');
            push_quoted(&mut head, field.name);
        }
    }
    head.push_str(" FROM (");
    page.prepend(&head);
    page.push(") AS \"_page\"");
    for (i, embed) in embeds.iter().enumerate() {
        let (alias, key) = (alias(i), embed.target.primary_key().name);
        match page.backend() {
            // SQLite joins by nested loops: each page row looks its reference up by key.
            Backend::Sqlite => {
                page.push(" LEFT JOIN ").push_ident(embed.target.table).push(" AS ").push(&alias);
                page.push(" ON ").push(&alias).push(".").push_ident(key);
                page.push(" = \"_page\".").push_ident(embed.field.name);
                if let Some((field, holder)) = embed.owner {
                    page.push(" AND ").push(&alias).push(".").push_ident(field);
                    page.push(" = ").push_bind(SqlValue::Text(holder.to_owned()));
                }
            }
            // PostgreSQL would hash the whole referenced table for a plain join when it is
            // small (a scan of every row for a page of 50); a lateral lookup with `LIMIT 1`
            // is not flattened into a join, so it stays one index probe per page row, and the
            // page keeps its order without a sort.
            Backend::Postgres => {
                page.push(" LEFT JOIN LATERAL (SELECT ");
                for (j, field) in shown(embed.target).enumerate() {
                    page.push(if j > 0 { ", " } else { "" }).push_ident(field.name);
                }
                page.push(" FROM ").push_ident(embed.target.table).push(" WHERE ").push_ident(key);
                page.push(" = \"_page\".").push_ident(embed.field.name);
                if let Some((field, holder)) = embed.owner {
                    page.push(" AND ").push_ident(field).push(" = ").push_bind(SqlValue::Text(holder.to_owned()));
                }
                page.push(" LIMIT 1) AS ").push(&alias).push(" ON TRUE");
            }
        }
    }
    page.push(" ORDER BY ");
    for (i, (position, direction)) in order.iter().enumerate() {
        if i > 0 {
            page.push(", ");
        }
        page.push(&position.to_string()).push(direction);
    }
    page
}

/// A field name as a quoted identifier (names are checked snake_case: nothing to escape).
fn push_quoted(text: &mut String, name: &str) {
    text.push('"');
    text.push_str(name);
    text.push('"');
}

/// The embedded rows of the first `count` rows of a page read with [`join_embeds`], whose own
/// columns end before `first_column`: per row, one per embed, `None` where it refers to
/// nothing the caller may see (no reference, or another owner's row: its key column is NULL).
pub fn read_embedded(
    rows: &Rows,
    count: usize,
    first_column: usize,
    embeds: &[Embed<'_>],
) -> Result<Vec<Vec<Option<EmbeddedRow>>>, sqlx::Error> {
    let layouts: Vec<_> = embeds.iter().map(|embed| layout(embed.target)).collect();
    let mut page = Vec::with_capacity(count);
    for row in 0..count {
        let mut column = first_column;
        let mut embedded = Vec::with_capacity(embeds.len());
        for (embed, layout) in embeds.iter().zip(&layouts) {
            embedded.push(read_row(rows, row, column, embed.target, layout)?);
            column += layout.0.len();
        }
        page.push(embedded);
    }
    Ok(page)
}

/// The embedded row of `target` whose shown columns start at `column` in row `row` (`layout`
/// from [`layout`]), or `None` where its key is NULL (a `LEFT JOIN` that found nothing).
fn read_row(
    rows: &Rows,
    row: usize,
    column: usize,
    target: &'static EntityDef,
    (types, key): &(Vec<SqlType>, usize),
) -> Result<Option<EmbeddedRow>, sqlx::Error> {
    match rows {
        Rows::Sqlite(sqlite) => {
            let Some(read) = sqlite.get(row) else { return Ok(None) };
            if read.try_get_raw(column + key)?.is_null() {
                return Ok(None);
            }
            let json = serde_json::value::to_raw_value(&SqliteColumns { row: read, first: column, target })
                .map_err(|e| sqlx::Error::Decode(e.into()))?;
            Ok(Some(EmbeddedRow::Json(json)))
        }
        Rows::Postgres(_) => {
            let mut values = Vec::with_capacity(types.len());
            for (offset, kind) in types.iter().enumerate() {
                values.push(rows.value(row, column + offset, *kind)?.unwrap_or(SqlValue::Null(*kind)));
            }
            let found = !matches!(values.get(*key), None | Some(SqlValue::Null(_)));
            Ok(found.then_some(EmbeddedRow::Values { target, values }))
        }
    }
}

/// The rows of `target` whose key is among `ids`, by key; only those whose `owner` field holds
/// the given value when `owner` is set (a caller limited to its own rows embeds no one else's).
/// For a single item: a page reads them in its own statement.
pub async fn referenced_rows(
    db: &Db,
    target: &'static EntityDef,
    ids: &[Uuid],
    owner: Option<(&str, &str)>,
) -> Result<HashMap<Uuid, EmbeddedRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let key = target.primary_key();
    let layout = layout(target);
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ");
    for (i, field) in shown(target).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_ident(field.name);
    }
    sql.push(" FROM ").push_ident(target.table).push(" WHERE ").push_ident(key.name).push(" IN (");
    sql.push_binds(ids.iter().copied().map(SqlValue::Uuid)).push(")");
    if let Some((field, holder)) = owner {
        sql.push(" AND ").push_ident(field).push(" = ").push_bind(SqlValue::Text(holder.to_owned()));
    }
    let rows = db.fetch_rows(sql).await?;
    let mut found = HashMap::with_capacity(ids.len());
    for row in 0..rows.len() {
        let (Some(SqlValue::Uuid(id)), Some(embedded)) =
            (rows.value(row, layout.1, SqlType::Uuid)?, read_row(&rows, row, 0, target, &layout)?)
        else {
            continue;
        };
        found.insert(id, embedded);
    }
    Ok(found)
}
