//! Naming rules: entity names are PascalCase, field, action and table names snake_case, none
//! a Rust keyword or longer than PostgreSQL allows, and no name used twice, including the
//! type names generated from them. Compile-fail cases: `tests/ui/names/`.

use std::collections::{BTreeMap, HashSet};

use crate::diagnostics::Diagnostics;
use crate::ir::{EntityIr, FieldType};
use crate::naming;
use crate::spec::{EntitySpec, FieldSpec, Spanned, SpecDoc};
use entity_spec_contract::text::printable;

/// Entity names are PascalCase ASCII, not Rust keywords, not prelude types, at most 63
/// characters.
pub(super) fn check_entity_name(name: &Spanned<String>, ctx: &str, d: &mut Diagnostics) -> Option<String> {
    let value = &name.value;
    if !naming::is_pascal_case(value) {
        let hint = naming::suggest_pascal(value).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
        d.error(
            name.pos,
            ctx,
            format!(
                "entity name `{}` must be PascalCase ASCII (letters and digits, starting with an uppercase letter){hint}",
                printable(value)
            ),
        );
        return None;
    }
    if naming::is_rust_keyword(value) || naming::is_prelude_name(value) {
        d.error(name.pos, ctx, format!("entity name `{value}` is reserved in Rust; choose another name"));
        return None;
    }
    if value.len() > naming::MAX_IDENTIFIER_LEN {
        d.error(name.pos, ctx, format!("entity name is longer than {} characters", naming::MAX_IDENTIFIER_LEN));
        return None;
    }
    Some(value.clone())
}

/// Field, action and enum-value names are snake_case ASCII, not Rust keywords, at most 63
/// characters.
pub(super) fn check_snake_name(name: &Spanned<String>, what: &str, ctx: &str, d: &mut Diagnostics) -> Option<String> {
    let value = &name.value;
    if !naming::is_snake_case(value) {
        let hint = if naming::is_pascal_case(value)
            || value.contains(['-', ' '])
            || value.chars().any(|c| c.is_ascii_uppercase())
        {
            let converted = naming::pascal_to_snake(&value.replace(['-', ' '], "_"));
            if naming::is_snake_case(&converted) { format!("; did you mean `{converted}`?") } else { String::new() }
        } else {
            String::new()
        };
        d.error(
            name.pos,
            ctx,
            format!("{what} must be snake_case ASCII (lowercase letters, digits and single underscores, starting with a letter){hint}"),
        );
        return None;
    }
    if naming::is_rust_keyword(value) {
        d.error(
            name.pos,
            ctx,
            format!("{what} `{value}` is a Rust keyword; choose another name (e.g. `{value}_kind`)"),
        );
        return None;
    }
    if value.len() > naming::MAX_IDENTIFIER_LEN {
        d.error(name.pos, ctx, format!("{what} is longer than {} characters", naming::MAX_IDENTIFIER_LEN));
        return None;
    }
    Some(value.clone())
}

/// Table names (given as `table`, or the plural snake_case of the entity name) are snake_case
/// and fit PostgreSQL's 63-character identifiers.
pub(super) fn check_table_name(entity: &EntitySpec, name: Option<&str>, d: &mut Diagnostics) -> Option<String> {
    let ctx = entity.context.as_str();
    if let Some(table) = &entity.table {
        return check_snake_name(table, "table name", ctx, d);
    }
    let table = naming::pluralize(&naming::pascal_to_snake(name?));
    if table.len() > naming::MAX_IDENTIFIER_LEN {
        let pos = entity.name.as_ref().map_or(entity.pos, |n| n.pos);
        d.error(
            pos,
            ctx,
            format!(
                "table name `{table}` is longer than {} characters; set a shorter `table`",
                naming::MAX_IDENTIFIER_LEN
            ),
        );
        return None;
    }
    Some(table)
}

/// Entity names are unique within a spec.
pub(super) fn check_unique_entity_names(doc: &SpecDoc, d: &mut Diagnostics) {
    let mut seen = HashSet::new();
    for entity in &doc.entities {
        if let Some(name) = &entity.name
            && !seen.insert(name.value.as_str())
        {
            d.error(name.pos, &entity.context, format!("duplicate entity name `{}`", name.value));
        }
    }
}

/// Field names are unique within an entity.
pub(super) fn check_unique_field_names(fields: &[FieldSpec], d: &mut Diagnostics) {
    let mut seen = HashSet::new();
    for field in fields {
        if let Some(name) = &field.name
            && !seen.insert(name.value.as_str())
        {
            d.error(name.pos, &field.context, format!("duplicate field name `{}`", name.value));
        }
    }
}

/// The types generated for different entities and fields do not collide (e.g. entity `Order`
/// with enum field `status` and another entity named `OrderStatus`).
pub(super) fn check_generated_type_names(entities: &[EntityIr], d: &mut Diagnostics) {
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for entity in entities {
        let ctx = format!("entity `{}`", entity.name);
        let mut names = vec![
            (entity.name.clone(), entity.pos, ctx.clone()),
            (entity.create_type_name(), entity.pos, ctx.clone()),
            (entity.update_type_name(), entity.pos, ctx.clone()),
        ];
        let bodies = entity.actions.iter().flat_map(|a| a.request.iter().chain(a.response.iter()).flatten());
        for field in entity.fields.iter().chain(bodies) {
            if let FieldType::Enum(enum_ir) = &field.ty {
                names.push((enum_ir.type_name.clone(), field.pos, format!("{ctx}, field `{}`", field.name)));
            }
        }
        for (name, pos, ctx) in names {
            if let Some(owner) = owners.get(&name) {
                d.error(
                    pos,
                    &ctx,
                    format!("generated type `{name}` collides with the one generated for {owner}; rename one of them"),
                );
            } else {
                owners.insert(name, ctx);
            }
        }
    }
}
