//! `?expand=`: the items a page or an item refers to, embedded under each reference's
//! expansion name (`author_id` → `author`). A page reads them in its own statement (see
//! [`crate::storage::embedded`]), an item with one query per reference. An embedded item is
//! what the caller could read at its own route: expanding needs the referenced entity's read
//! scope (`403` naming it otherwise), and a caller limited to its own rows of that entity gets
//! `null` for anyone else's, as for a reference to nothing.

use serde::Serialize;
use uuid::Uuid;

use crate::http::guard::Caller;
use crate::http::problem::ApiError;
use crate::model::def::FieldDef;
use crate::model::value::SqlValue;
use crate::storage::db::Db;
use crate::storage::embedded::{Embed, EmbeddedRow, referenced_rows};
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

/// What `expand` asks to embed, once the caller may read each referenced entity (`403` naming
/// the read scope of the first it may not), with the caller's ownership limit on each.
pub fn embeds<'a>(caller: &'a Caller, expand: &[&'static FieldDef]) -> Result<Vec<Embed<'a>>, ApiError> {
    let mut embeds = Vec::with_capacity(expand.len());
    for field in expand {
        let Some(reference) = &field.references else { continue };
        let target = (reference.target)();
        let scope = target.scopes.required(&Permission::Read);
        if !caller.may(&target.scopes, scope) {
            return Err(ApiError::forbidden_to_expand(reference.expand_as, scope));
        }
        embeds.push(Embed { field, target, owner: caller.owner_scope(target) });
    }
    Ok(embeds)
}

/// The expansion name of an embed (`book_id` → `book`).
fn expansion_name(embed: &Embed<'_>) -> &'static str {
    embed.field.references.as_ref().map_or(embed.field.name, |reference| reference.expand_as)
}

/// A page's items with the rows its statement embedded for `embeds` (see
/// [`crate::storage::store::list`]).
pub fn expanded_page<'a, E>(
    items: &'a [E],
    embedded: Vec<Vec<Option<EmbeddedRow>>>,
    embeds: &[Embed<'_>],
) -> Vec<Expanded<'a, E>> {
    items
        .iter()
        .zip(embedded)
        .map(|(item, rows)| Expanded {
            item,
            embedded: Embedded(embeds.iter().map(expansion_name).zip(rows).collect()),
        })
        .collect()
}

/// `item` with the rows `embeds` name, read with one query each.
pub async fn expand_one<'a, E: Entity>(
    db: &Db,
    item: &'a E,
    embeds: &[Embed<'_>],
) -> Result<Expanded<'a, E>, ApiError> {
    let row = item.to_row();
    let mut embedded = Vec::with_capacity(embeds.len());
    for embed in embeds {
        let id = match E::DEF.position(embed.field.name).and_then(|index| row.get(index)) {
            Some(SqlValue::Uuid(id)) => Some(*id),
            _ => None,
        };
        let ids: Vec<Uuid> = id.into_iter().collect();
        let mut found = referenced_rows(db, embed.target, &ids, embed.owner).await.map_err(ApiError::from_database)?;
        embedded.push((expansion_name(embed), id.and_then(|id| found.remove(&id))));
    }
    Ok(Expanded { item, embedded: Embedded(embedded) })
}
