//! Semantic checks: turns the spec as written into the checked IR, reporting every rule it
//! breaks. Each rule is one `check_*` function whose first doc line states it.
//!
//! Specs will arrive from issue bodies written by anyone, so this is also the security
//! boundary: only names that pass these rules and literals that are re-escaped by `quote`
//! ever reach generated code.
//!
//! The rules live in one file per family, the same families as the compile-fail cases under
//! `tests/ui/<family>/`: `names.rs`, `types.rs`, `keys.rs`, `constraints.rs`, `defaults.rs`,
//! `indexes.rs`, `api.rs` (paths, methods, route clashes), `actions.rs` (kinds, bodies,
//! tracking), `access.rs` (scopes) and `references.rs` (references between entities); `fields.rs` lowers one field through the field rules. (`tests/ui/json/` and
//! `tests/ui/structure/` are the reader's, in `json.rs` and `spec.rs`.) This file runs them:
//! each entity is lowered on its own, then the rules across entities run.

mod access;
mod actions;
mod api;
mod constraints;
mod defaults;
mod fields;
mod indexes;
mod keys;
mod names;
mod references;
mod types;

use std::collections::HashSet;

use crate::diagnostics::Diagnostics;
use crate::ir::{ActionIr, EntityIr, FieldIr, SpecIr};
use crate::naming;
use crate::spec::{EntitySpec, Spanned, SpecDoc};

use access::{lower_owner, lower_scopes};
use actions::{check_tracked_actions, check_tracking, hand_tracked_fields_to_runtime, lower_action};
use api::{check_collection_path, check_unique_actions, check_unique_collection_paths};
use fields::{FieldRole, lower_field};
use indexes::{check_unique_indexes, lower_index};
use keys::check_primary_key;
use names::{
    check_entity_name, check_generated_type_names, check_table_name, check_unique_entity_names,
    check_unique_field_names,
};
use references::{
    check_expansion_names, check_reference_cycles, check_reference_targets, check_routes_across_entities,
    lower_nested_lists,
};

/// Checks a read spec and lowers it into the IR. The IR is only complete when `diagnostics`
/// recorded nothing; entities that broke a rule are left out of it.
pub(crate) fn check(doc: &SpecDoc, diagnostics: &mut Diagnostics) -> SpecIr {
    let mut entities: Vec<EntityIr> =
        doc.entities.iter().filter_map(|entity| lower_entity(entity, diagnostics)).collect();
    check_unique_entity_names(doc, diagnostics);
    // A repeated entity is reported once, as a duplicate; comparing it with its twin again
    // (same path, same table, same types) would only bury that message.
    let mut seen = HashSet::new();
    entities.retain(|entity| seen.insert(entity.name.clone()));
    check_unique_collection_paths(&entities, diagnostics);
    check_generated_type_names(&entities, diagnostics);
    check_reference_targets(doc, diagnostics);
    check_expansion_names(doc, diagnostics);
    check_reference_cycles(doc, &entities, diagnostics);
    lower_nested_lists(&mut entities);
    check_routes_across_entities(&entities, diagnostics);
    SpecIr { entities }
}

/// Lowers one entity: its name, fields, keys, indexes, table, path and actions.
fn lower_entity(entity: &EntitySpec, d: &mut Diagnostics) -> Option<EntityIr> {
    let ctx = entity.context.as_str();
    let name = entity.name.as_ref().and_then(|name| check_entity_name(name, ctx, d));
    // Enum type names need the entity name; fall back to a placeholder so the fields are still
    // checked when the name is bad.
    let type_prefix = name.clone().unwrap_or_else(|| "Entity".to_owned());
    let mut fields: Vec<FieldIr> =
        entity.fields.iter().filter_map(|field| lower_field(field, &type_prefix, FieldRole::Entity, d)).collect();
    check_unique_field_names(&entity.fields, d);
    check_primary_key(entity, d);
    let indexes = entity.indexes.iter().filter_map(|index| lower_index(index, &entity.fields, d)).collect::<Vec<_>>();
    check_unique_indexes(&entity.indexes, d);
    let table_name = check_table_name(entity, name.as_deref(), d);
    let collection_path = match entity.api.as_ref().and_then(|api| api.path.as_ref()) {
        Some(path) => check_collection_path(path, ctx, d),
        None => name.as_deref().and_then(|name| {
            let derived = format!("/{}", naming::snake_to_kebab(&naming::pluralize(&naming::pascal_to_snake(name))));
            let pos = entity.name.as_ref().map_or(entity.pos, |n| n.pos);
            check_collection_path(&Spanned { pos, value: derived }, ctx, d)
        }),
    };
    let actions: Vec<ActionIr> = entity
        .api
        .iter()
        .flat_map(|api| &api.actions)
        .filter_map(|action| lower_action(action, &type_prefix, d))
        .collect();
    check_unique_actions(&actions, ctx, d);
    let tracking =
        entity.api.as_ref().and_then(|api| api.tracking.as_ref()).and_then(|t| check_tracking(t, &fields, d));
    check_tracked_actions(entity, &actions, tracking.as_ref(), d);
    if let Some(tracking) = &tracking {
        hand_tracked_fields_to_runtime(&mut fields, tracking);
    }
    let access = entity.api.as_ref().and_then(|api| api.access.as_ref());
    let owner = lower_owner(access, &mut fields, d);
    let table_name = table_name?;
    let scopes = lower_scopes(access, &table_name, &actions, d);
    let name = name?;
    Some(EntityIr {
        pos: entity.pos,
        snake_name: naming::pascal_to_snake(&name),
        name,
        table_name,
        scopes,
        owner,
        collection_path: collection_path?,
        layer: entity.layer.as_ref().map(|l| l.value.clone()),
        description: entity.description.as_ref().map(|s| s.value.clone()),
        fields,
        indexes,
        actions,
        tracking,
        nested: Vec::new(),
    })
}
