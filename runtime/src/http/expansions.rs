//! `?expand=`: the items a page or an item refers to, embedded under each reference's
//! expansion name (`author_id` → `author`), read with one query per reference for the whole
//! page. An embedded item is what the caller could read at its own route: expanding needs the
//! referenced entity's read scope (`403` naming it otherwise), and a caller limited to its own
//! rows of that entity gets `null` for anyone else's, as for a reference to nothing.

use serde::Serialize;
use uuid::Uuid;

use crate::http::guard::Caller;
use crate::http::problem::ApiError;
use crate::model::def::FieldDef;
use crate::model::value::SqlValue;
use crate::storage::db::Db;
use crate::storage::embedded::{EmbeddedRow, referenced_rows};
use crate::storage::entity::Entity;
use entity_spec_contract::Permission;

/// An item with the items it refers to: its own fields, in order, then one key per expansion.
#[derive(Serialize)]
pub struct Expanded<'a, E> {
    #[serde(flatten)]
    item: &'a E,
    #[serde(flatten)]
    embedded: Embedded,
}

/// The embedded items of one item, by expansion name (`null` where it refers to nothing the
/// caller may see).
struct Embedded(Vec<(&'static str, Option<EmbeddedRow>)>);

impl Serialize for Embedded {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, row) in &self.0 {
            map.serialize_entry(name, row)?;
        }
        map.end()
    }
}

/// `items` with the references `expand` names embedded.
pub async fn expand<'a, E: Entity>(
    db: &Db,
    caller: &Caller,
    items: &'a [E],
    expand: &[&'static FieldDef],
) -> Result<Vec<Expanded<'a, E>>, ApiError> {
    let mut expanded: Vec<Expanded<'a, E>> =
        items.iter().map(|item| Expanded { item, embedded: Embedded(Vec::with_capacity(expand.len())) }).collect();
    let rows: Vec<Vec<SqlValue>> = if expand.is_empty() { Vec::new() } else { items.iter().map(E::to_row).collect() };
    for field in expand {
        let Some(reference) = &field.references else { continue };
        let target = (reference.target)();
        let scope = target.scopes.required(&Permission::Read);
        if !caller.may(&target.scopes, scope) {
            return Err(ApiError::forbidden_to_expand(reference.expand_as, scope));
        }
        let index = E::DEF.position(field.name).unwrap_or(usize::MAX);
        let id_at = |row: &[SqlValue]| match row.get(index) {
            Some(SqlValue::Uuid(id)) => Some(*id),
            _ => None,
        };
        let mut ids: Vec<Uuid> = rows.iter().filter_map(|row| id_at(row)).collect();
        ids.sort_unstable();
        ids.dedup();
        let found =
            referenced_rows(db, target, &ids, caller.owner_scope(target)).await.map_err(ApiError::from_database)?;
        for (item, row) in expanded.iter_mut().zip(&rows) {
            let embedded = id_at(row).and_then(|id| found.get(&id).cloned());
            item.embedded.0.push((reference.expand_as, embedded));
        }
    }
    Ok(expanded)
}
