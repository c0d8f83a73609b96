//! References between entities (foreign keys): `references` names an entity of the same spec
//! whose primary key has the field's type, `on_delete` is one of the known modes and only goes
//! with `references`, `set_null` only on an optional field, no reference on a sensitive field or
//! a primary key, no cycle of references between different entities, and no field named like a
//! reference's expansion.
//! Compile-fail cases: `tests/ui/references/`.

use std::collections::HashMap;

use crate::diagnostics::Diagnostics;
use crate::ir::{EntityIr, NestedIr, OnDelete, ReferenceIr};
use crate::spec::{FieldSpec, SpecDoc};
use entity_spec_contract::references::expansion_name;
use entity_spec_contract::routes::{Operation, Route, collisions, nested_segment, routes};
use entity_spec_contract::suggest::suggestion;

/// `on_delete` is `restrict`, `cascade` or `set_null` and needs `references`; `set_null` needs
/// an optional field; a reference is neither sensitive nor the primary key. The entity it names
/// is checked with the whole spec ([`check_reference_targets`]).
pub(super) fn lower_reference(field: &FieldSpec, required: bool, d: &mut Diagnostics) -> Option<ReferenceIr> {
    let ctx = field.context.as_str();
    let flag = |f: &Option<crate::spec::Spanned<bool>>| f.as_ref().filter(|f| f.value).map(|f| f.pos);
    let on_delete = match &field.on_delete {
        None => Some(OnDelete::Restrict),
        Some(mode) => {
            let parsed = OnDelete::parse(&mode.value);
            if parsed.is_none() {
                let names = OnDelete::ALL.map(OnDelete::as_str);
                let hint = suggestion(&mode.value, names);
                d.error(
                    mode.pos,
                    ctx,
                    format!(
                        "unknown `on_delete` value `{}`; expected one of {}{hint}",
                        mode.value.escape_debug(),
                        names.map(|n| format!("`{n}`")).join(", ")
                    ),
                );
            }
            if field.references.is_none() {
                d.error(
                    mode.pos,
                    ctx,
                    "`on_delete` needs `references`: it says what deleting the referenced row does to this one",
                );
            }
            if parsed == Some(OnDelete::SetNull) && required && field.references.is_some() {
                d.error(
                    mode.pos,
                    ctx,
                    "`on_delete: set_null` needs an optional field, but this one is `required`; remove `required` or choose `restrict` or `cascade`",
                );
            }
            parsed
        }
    };
    let target = field.references.as_ref()?;
    if let Some(pos) = flag(&field.sensitive) {
        d.error(
            pos,
            ctx,
            format!(
                "a reference cannot be `sensitive`: its value is stored encrypted, so the database could not match it to a row of `{}`",
                target.value.escape_debug()
            ),
        );
    }
    if let Some(pos) = flag(&field.primary_key) {
        d.error(pos, ctx, "the primary key cannot be a reference; add a separate field for it");
    }
    Some(ReferenceIr { entity: target.value.clone(), on_delete: on_delete? })
}

/// `references` names an entity of the spec (with a suggestion otherwise), and the field has
/// the type of that entity's primary key; a reference to its own entity is optional (the first
/// row could refer to nothing).
pub(super) fn check_reference_targets(doc: &SpecDoc, d: &mut Diagnostics) {
    let names: Vec<&str> = doc.entities.iter().filter_map(|e| e.name.as_ref()).map(|n| n.value.as_str()).collect();
    let fields = doc.entities.iter().flat_map(|e| e.fields.iter().map(move |f| (e, f)));
    for (owner, field) in fields {
        let Some(target) = &field.references else { continue };
        if owner.name.as_ref().is_some_and(|n| n.value == target.value)
            && let Some(required) = field.required.as_ref().filter(|r| r.value)
        {
            d.error(
                required.pos,
                &field.context,
                format!(
                    "a reference to its own entity cannot be `required`: the first `{}` would have nothing to refer to; remove `required`",
                    target.value
                ),
            );
        }
        let Some(entity) = doc.entities.iter().find(|e| e.name.as_ref().is_some_and(|n| n.value == target.value))
        else {
            let hint = suggestion(&target.value, names.iter().copied());
            d.error(
                target.pos,
                &field.context,
                format!("`references` names unknown entity `{}`{hint}", target.value.escape_debug()),
            );
            continue;
        };
        let key = entity.fields.iter().find(|f| f.primary_key.as_ref().is_some_and(|p| p.value));
        let (Some(key), Some(ty)) = (key, &field.ty) else { continue };
        let (Some(key_name), Some(key_ty)) = (&key.name, &key.ty) else { continue };
        if key_ty.value != ty.value {
            d.error(
                ty.pos,
                &field.context,
                format!(
                    "a reference to `{}` must have the type of its primary key `{}`, `{}`, not `{}`",
                    target.value,
                    key_name.value,
                    key_ty.value,
                    ty.value.escape_debug()
                ),
            );
        }
    }
}

/// A reference's expansion name (`author_id` → `author`, see [`expansion_name`]) is not also
/// the name of a field of its entity: `?expand=` puts the referenced item under that key.
pub(super) fn check_expansion_names(doc: &SpecDoc, d: &mut Diagnostics) {
    for entity in &doc.entities {
        let names: Vec<&str> = entity.fields.iter().filter_map(|f| f.name.as_ref()).map(|n| n.value.as_str()).collect();
        for field in &entity.fields {
            let (Some(name), Some(target)) = (&field.name, &field.references) else { continue };
            let expanded = expansion_name(&name.value);
            if names.contains(&expanded.as_str()) {
                d.error(
                    target.pos,
                    &field.context,
                    format!(
                        "`?expand={expanded}` would put the referenced `{}` under the key `{expanded}`, which is already a field of this entity; rename one of the two",
                        target.value.escape_debug()
                    ),
                );
            }
        }
    }
}

/// Gives every entity a list under each item its references point at
/// (`GET /authors/{id}/books`), named by [`nested_segment`].
pub(super) fn lower_nested_lists(entities: &mut [EntityIr]) {
    let paths: HashMap<String, String> = entities.iter().map(|e| (e.name.clone(), e.collection_path.clone())).collect();
    for entity in entities.iter_mut() {
        let targets: Vec<&str> =
            entity.fields.iter().filter_map(|f| f.references.as_ref()).map(|r| r.entity.as_str()).collect();
        let nested = entity
            .fields
            .iter()
            .filter_map(|field| {
                let target = field.references.as_ref()?;
                let several = targets.iter().filter(|t| **t == target.entity).count() > 1;
                Some(NestedIr {
                    field: field.name.clone(),
                    parent_path: paths.get(&target.entity)?.clone(),
                    segment: nested_segment(&entity.collection_path, &expansion_name(&field.name), several),
                })
            })
            .collect();
        entity.nested = nested;
    }
}

/// No two entities answer the same method and path: a list nested under an item
/// (`/authors/{id}/books`) must not be where that item's entity has an action.
pub(super) fn check_routes_across_entities(entities: &[EntityIr], d: &mut Diagnostics) {
    let actions: Vec<_> = entities.iter().map(EntityIr::action_defs).collect();
    let nested: Vec<_> = entities.iter().map(EntityIr::nested_defs).collect();
    let mut table = Vec::new();
    let mut owners = Vec::new();
    for (i, entity) in entities.iter().enumerate() {
        for route in routes(&entity.collection_path, &actions[i], &nested[i]) {
            table.push(route);
            owners.push(entity);
        }
    }
    for (earlier, later) in collisions(&table) {
        let index = |route: &Route<'_>| table.iter().position(|r| std::ptr::eq(r, route)).unwrap_or(0);
        let (first, second) = (owners[index(earlier)], owners[index(later)]);
        if std::ptr::eq(first, second) {
            continue; // an entity's own clashes are reported with its actions
        }
        let (list, owner, other) = match (earlier.operation, later.operation) {
            (_, Operation::ListNested(list)) => (list, second, first),
            (Operation::ListNested(list), _) => (list, first, second),
            _ => continue,
        };
        let field = owner.fields.iter().find(|f| f.name == list.field);
        d.error(
            field.map_or(owner.pos, |f| f.pos),
            &format!("entity `{}`, field `{}`", owner.name, list.field),
            format!(
                "the list of `{}` rows under each `{}` would be served at `{} {}`, where `{}` already answers; rename the action or the collection path",
                owner.name, other.name, later.method, later.path, other.name
            ),
        );
    }
}

/// References between different entities form no cycle: each table must be created after the
/// tables it refers to. (A field referring to its own entity is fine.)
pub(super) fn check_reference_cycles(doc: &SpecDoc, entities: &[EntityIr], d: &mut Diagnostics) {
    let edges: HashMap<&str, Vec<&str>> = entities
        .iter()
        .map(|e| {
            let targets = e.fields.iter().filter_map(|f| f.references.as_ref()).map(|r| r.entity.as_str());
            (e.name.as_str(), targets.filter(|t| *t != e.name).collect())
        })
        .collect();
    for entity in entities {
        let Some(path) = cycle_from(&edges, &entity.name) else { continue };
        // Report each cycle once, at the entity that comes first in it by name.
        if path.iter().min() != Some(&entity.name.as_str()) {
            continue;
        }
        let next = path.get(1).copied().unwrap_or(entity.name.as_str());
        let Some(spec) = doc.entities.iter().find(|e| e.name.as_ref().is_some_and(|n| n.value == entity.name)) else {
            continue;
        };
        let Some(field) = spec.fields.iter().find(|f| f.references.as_ref().is_some_and(|r| r.value == next)) else {
            continue;
        };
        let pos = field.references.as_ref().map_or(field.pos, |r| r.pos);
        let mut shown: Vec<String> = path.iter().map(|n| format!("`{n}`")).collect();
        shown.push(format!("`{}`", entity.name));
        d.error(
            pos,
            &field.context,
            format!(
                "references form a cycle ({}): each table must be created after the ones it refers to; make one of them a plain `uuid` field",
                shown.join(" → ")
            ),
        );
    }
}

/// The entities on a path of references from `start` back to it, if there is one.
fn cycle_from<'a>(edges: &HashMap<&'a str, Vec<&'a str>>, start: &'a str) -> Option<Vec<&'a str>> {
    let mut stack: Vec<Vec<&'a str>> = vec![vec![start]];
    let mut visited: Vec<&str> = Vec::new();
    while let Some(path) = stack.pop() {
        let last = *path.last()?;
        for next in edges.get(last).into_iter().flatten() {
            if *next == start {
                return Some(path);
            }
            if !visited.contains(next) {
                visited.push(next);
                let mut longer = path.clone();
                longer.push(next);
                stack.push(longer);
            }
        }
    }
    None
}
