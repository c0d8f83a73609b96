//! The rows a page refers to, read for `?expand=`: one query per expanded reference, however
//! many items the page holds (never one per item), returning each referenced row as the JSON its
//! entity's own routes would show, sensitive fields left out.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use uuid::Uuid;

use crate::model::def::EntityDef;
use crate::model::value::{SqlType, SqlValue};
use crate::storage::db::{Db, Sql};

/// A row as an ordered JSON object: its fields in spec order, as the entity's type writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedRow(pub Vec<(&'static str, Value)>);

impl Serialize for EmbeddedRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// The rows of `target` whose key is among `ids`, by key; only those whose `owner` field holds
/// the given value when `owner` is set (a caller limited to its own rows embeds no one else's).
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
    let shown: Vec<_> = target.fields.iter().filter(|f| !f.sensitive).collect();
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT ");
    for (i, field) in shown.iter().enumerate() {
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
    let types: Vec<SqlType> = shown.iter().map(|f| SqlType::of(f.kind)).collect();
    let key_index = shown.iter().position(|f| f.name == key.name).unwrap_or(0);
    let mut found = HashMap::with_capacity(ids.len());
    for row in db.fetch_all(sql, &types).await? {
        let Some(SqlValue::Uuid(id)) = row.get(key_index).cloned() else { continue };
        let fields = shown.iter().zip(row).map(|(field, value)| (field.name, value.into_json())).collect();
        found.insert(id, EmbeddedRow(fields));
    }
    Ok(found)
}
