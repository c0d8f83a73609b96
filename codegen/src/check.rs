//! Semantic checks: turns the spec as written into the checked IR, reporting every rule it
//! breaks. Each rule is one `check_*` function whose first doc line states it.
//!
//! Specs will arrive from issue bodies written by anyone, so this is also the security
//! boundary: only names that pass these rules and literals that are re-escaped by `quote`
//! ever reach generated code.

use std::collections::{BTreeMap, HashSet};

use regex::Regex;

use crate::contract::{RESERVED_PATHS, STATS_SEGMENT, TRACKING_STATUS_VALUES};
use crate::diagnostics::Diagnostics;
use crate::ir::{
    ActionIr, ActionKind, ActionScope, Constraints, DefaultValue, EntityIr, EnumIr, EnumValueIr, FieldIr, FieldType,
    IndexIr, Setter, SpecIr, TrackingIr,
};
use crate::json::{Number, Pos, Value, ValueKind};
use crate::naming;
use crate::spec::{ActionSpec, EntitySpec, FIELD_TYPES, FieldSpec, IndexSpec, Spanned, SpecDoc, TrackingSpec};
use crate::suggest::suggestion;

/// The HTTP methods an action may use.
const ACTION_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Checks a read spec and lowers it into the IR. The IR is only complete when `diagnostics`
/// recorded nothing; entities that broke a rule are left out of it.
pub fn check(doc: &SpecDoc, diagnostics: &mut Diagnostics) -> SpecIr {
    let mut entities: Vec<EntityIr> =
        doc.entities.iter().filter_map(|entity| lower_entity(entity, diagnostics)).collect();
    check_unique_entity_names(doc, diagnostics);
    // A repeated entity is reported once, as a duplicate; comparing it with its twin again
    // (same path, same table, same types) would only bury that message.
    let mut seen = HashSet::new();
    entities.retain(|entity| seen.insert(entity.name.clone()));
    check_unique_collection_paths(&entities, diagnostics);
    check_generated_type_names(&entities, diagnostics);
    SpecIr { entities }
}

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
        // The runtime owns these from now on: clients see them but cannot set them.
        for field in fields.iter_mut() {
            let managed = [Some(&tracking.status), Some(&tracking.last_run), tracking.error.as_ref()];
            if managed.contains(&Some(&field.name)) && field.setter == Setter::Client {
                field.setter = Setter::ReadOnly;
                field.required = false;
            }
        }
    }
    let name = name?;
    Some(EntityIr {
        pos: entity.pos,
        snake_name: naming::pascal_to_snake(&name),
        name,
        table_name: table_name?,
        collection_path: collection_path?,
        layer: entity.layer.as_ref().map(|l| l.value.clone()),
        description: entity.description.as_ref().map(|s| s.value.clone()),
        fields,
        indexes,
        actions,
        tracking,
    })
}

/// `api.tracking` names existing fields of the right types: `status` an enum with `pending`,
/// `syncing`, `success` and `failed` and a default; `last_run` an optional datetime; `error`
/// optional text; `active` a boolean; `interval` an integer (seconds).
fn check_tracking(tracking: &TrackingSpec, fields: &[FieldIr], d: &mut Diagnostics) -> Option<TrackingIr> {
    let ctx = tracking.context.as_str();
    let mut ok = true;
    let mut field = |key: &str, spanned: &Option<Spanned<String>>, fits: &dyn Fn(&FieldIr) -> bool, rule: &str| {
        let spanned = spanned.as_ref()?;
        match fields.iter().find(|f| f.name == spanned.value) {
            Some(found) if fits(found) => Some(found.name.clone()),
            Some(_) => {
                d.error(spanned.pos, ctx, format!("`{key}` field `{}` must be {rule}", spanned.value));
                ok = false;
                None
            }
            None => {
                let hint = suggestion(&spanned.value, fields.iter().map(|f| f.name.as_str()));
                d.error(
                    spanned.pos,
                    ctx,
                    format!("`{key}` names unknown field `{}`{hint}", spanned.value.escape_debug()),
                );
                ok = false;
                None
            }
        }
    };
    let status = field(
        "status",
        &tracking.status,
        &|f| {
            f.default.is_some()
                && matches!(&f.ty, FieldType::Enum(e) if TRACKING_STATUS_VALUES.iter().all(|v| e.values.iter().any(|ev| ev.value == *v)))
        },
        "an enum with the values pending, syncing, success and failed, and a default",
    );
    let last_run =
        field("last_run", &tracking.last_run, &|f| f.ty == FieldType::DateTime && f.nullable, "an optional datetime");
    let error = field(
        "error",
        &tracking.error,
        &|f| f.ty.is_textual() && f.nullable && !f.sensitive,
        "optional, non-sensitive text",
    );
    let active = field(
        "active",
        &tracking.active,
        &|f| f.ty == FieldType::Boolean && !f.nullable,
        "a boolean with a default or required",
    );
    let interval = field(
        "interval",
        &tracking.interval,
        &|f| f.ty == FieldType::Integer && !f.nullable,
        "a non-optional integer (seconds)",
    );
    if !ok {
        return None;
    }
    Some(TrackingIr { status: status?, last_run: last_run?, error, active, interval })
}

/// A tracked action is a `POST` item action without request or response body, at most one per
/// entity, on an entity with `api.tracking`; a `runs` action is a `POST` collection action
/// naming that tracked action.
fn check_tracked_actions(
    entity: &EntitySpec,
    actions: &[ActionIr],
    tracking: Option<&TrackingIr>,
    d: &mut Diagnostics,
) {
    let ctx = entity.context.as_str();
    let tracked: Vec<&ActionIr> = actions.iter().filter(|a| matches!(a.kind, ActionKind::Tracked { .. })).collect();
    for action in &tracked {
        let action_ctx = format!("{ctx}, action `{}`", action.name);
        if action.scope != ActionScope::Item
            || action.method != "POST"
            || action.request.is_some()
            || action.response.is_some()
        {
            d.error(
                action.pos,
                &action_ctx,
                "a tracked action must be a `POST` item action without `request` or `response`",
            );
        }
        let has_tracking = entity.api.as_ref().is_some_and(|api| api.tracking.is_some());
        if tracking.is_none() && !has_tracking {
            d.error(
                action.pos,
                &action_ctx,
                "a tracked action needs `api.tracking` naming the status and last-run fields",
            );
        }
    }
    if let [_, extra, ..] = tracked.as_slice() {
        d.error(extra.pos, ctx, "at most one tracked action per entity");
    }
    for action in actions {
        if let ActionKind::RunsAll { action: target } = &action.kind {
            let action_ctx = format!("{ctx}, action `{}`", action.name);
            if action.scope != ActionScope::Collection
                || action.method != "POST"
                || action.request.is_some()
                || action.response.is_some()
            {
                d.error(
                    action.pos,
                    &action_ctx,
                    "a `runs` action must be a `POST` collection action without `request` or `response`",
                );
            }
            if !tracked.iter().any(|t| t.name == *target) {
                let hint = suggestion(target, tracked.iter().map(|t| t.name.as_str()));
                d.error(
                    action.pos,
                    &action_ctx,
                    format!("`runs` must name this entity's tracked action, not `{target}`{hint}"),
                );
            }
        }
    }
}

/// Table names (given as `table`, or the plural snake_case of the entity name) are snake_case
/// and fit PostgreSQL's 63-character identifiers.
fn check_table_name(entity: &EntitySpec, name: Option<&str>, d: &mut Diagnostics) -> Option<String> {
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

/// Entity names are PascalCase ASCII, not Rust keywords, not prelude types, at most 63
/// characters.
fn check_entity_name(name: &Spanned<String>, ctx: &str, d: &mut Diagnostics) -> Option<String> {
    let value = &name.value;
    if !naming::is_pascal_case(value) {
        let hint = if naming::is_snake_case(value) {
            format!("; did you mean `{}`?", naming::snake_to_pascal(value))
        } else {
            String::new()
        };
        d.error(
            name.pos,
            ctx,
            format!(
                "entity name must be PascalCase ASCII (letters and digits, starting with an uppercase letter){hint}"
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
fn check_snake_name(name: &Spanned<String>, what: &str, ctx: &str, d: &mut Diagnostics) -> Option<String> {
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

/// Enum values are snake_case ASCII (they become PascalCase variants, so Rust keywords are
/// fine except `self`, whose variant would be `Self`).
fn check_enum_value(value: &Spanned<String>, ctx: &str, d: &mut Diagnostics) -> Option<String> {
    if value.value == "self" {
        d.error(value.pos, ctx, "enum value `self` would become the reserved variant `Self`; choose another value");
        return None;
    }
    if naming::is_rust_keyword(&value.value) && naming::is_snake_case(&value.value) {
        return Some(value.value.clone());
    }
    check_snake_name(value, "enum value", ctx, d)
}

/// Where a field appears: on an entity, or in an action's request/response body (where only
/// plain client data makes sense).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldRole {
    Entity,
    ActionBody,
}

fn lower_field(field: &FieldSpec, type_prefix: &str, role: FieldRole, d: &mut Diagnostics) -> Option<FieldIr> {
    let ctx = field.context.as_str();
    let name = field.name.as_ref().and_then(|name| check_snake_name(name, "field name", ctx, d));
    let ty = field.ty.as_ref().and_then(|ty| check_field_type(field, ty, name.as_deref(), type_prefix, d));
    if ty.as_ref().is_some_and(|ty| !matches!(ty, FieldType::Enum(_))) {
        check_values_only_on_enums(field, d);
    }
    if role == FieldRole::ActionBody {
        check_body_field_flags(field, d);
    }
    let flag = |f: &Option<Spanned<bool>>| f.as_ref().is_some_and(|f| f.value);
    let setter = check_setter(field, ty.as_ref(), d);
    let required = flag(&field.required);
    let ty = ty?;
    let constraints = check_constraints(field, &ty, d);
    check_unique_flag(field, &ty, d);
    check_sensitive_flag(field, &ty, d);
    if required
        && setter != Setter::Client
        && let Some(req) = &field.required
    {
        d.error(req.pos, ctx, "a field set by the server cannot be `required`; remove `required`");
    }
    let default =
        field.default.as_ref().and_then(|default| check_default(field, default, &ty, &constraints, setter, d));
    // A value that always exists is never null: the primary key, timestamps, required fields
    // and fields with a default.
    let nullable =
        !(required || default.is_some() || matches!(setter, Setter::PrimaryKey | Setter::AutoNow | Setter::AutoNowAdd));
    Some(FieldIr {
        pos: field.pos,
        name: name?,
        ty,
        nullable,
        required,
        setter,
        default,
        constraints,
        unique: flag(&field.unique),
        sensitive: flag(&field.sensitive),
        description: field.description.as_ref().map(|s| s.value.clone()),
    })
}

/// `type` is one of the known field types; `enum` needs a non-empty list of unique snake_case
/// `values`.
fn check_field_type(
    field: &FieldSpec,
    ty: &Spanned<String>,
    name: Option<&str>,
    type_prefix: &str,
    d: &mut Diagnostics,
) -> Option<FieldType> {
    let ctx = field.context.as_str();
    Some(match ty.value.as_str() {
        "uuid" => FieldType::Uuid,
        "string" => FieldType::String,
        "text" => FieldType::Text,
        "integer" => FieldType::Integer,
        "float" => FieldType::Float,
        "boolean" => FieldType::Boolean,
        "json" => FieldType::Json,
        "datetime" => FieldType::DateTime,
        "date" => FieldType::Date,
        "enum" => {
            let Some(values) = &field.values else {
                d.error(
                    field.pos,
                    ctx,
                    "an `enum` field needs `values`, e.g. `\"values\": [\"draft\", \"published\"]`",
                );
                return None;
            };
            if values.value.is_empty() {
                d.error(values.pos, ctx, "`values` must list at least one value");
                return None;
            }
            let mut lowered: Vec<EnumValueIr> = Vec::new();
            for value in &values.value {
                let Some(wire) = check_enum_value(value, ctx, d) else { continue };
                let variant = naming::snake_to_pascal(&wire);
                if let Some(twin) = lowered.iter().find(|v| v.value == wire || v.variant == variant) {
                    let message = if twin.value == wire {
                        format!("duplicate enum value `{wire}`")
                    } else {
                        format!(
                            "enum values `{}` and `{wire}` both become the Rust variant `{variant}`; rename one",
                            twin.value
                        )
                    };
                    d.error(value.pos, ctx, message);
                    continue;
                }
                lowered.push(EnumValueIr { variant, value: wire });
            }
            if lowered.len() != values.value.len() {
                return None;
            }
            return Some(FieldType::Enum(EnumIr {
                type_name: format!("{type_prefix}{}", naming::snake_to_pascal(name?)),
                values: lowered,
            }));
        }
        other => {
            let hint = match other {
                "str" | "varchar" | "char" => "; did you mean `string`?".to_owned(),
                "int" | "i64" | "bigint" | "number" => "; did you mean `integer`?".to_owned(),
                "bool" => "; did you mean `boolean`?".to_owned(),
                "double" | "decimal" | "f64" => "; did you mean `float`?".to_owned(),
                "timestamp" | "date_time" | "timestamptz" => "; did you mean `datetime`?".to_owned(),
                "object" | "array" | "jsonb" => "; did you mean `json`?".to_owned(),
                _ => suggestion(other, FIELD_TYPES.iter().copied()),
            };
            let hint = if hint.is_empty() { format!("; expected one of: {}", FIELD_TYPES.join(", ")) } else { hint };
            d.error(ty.pos, ctx, format!("unknown field type `{}`{hint}", other.escape_debug()));
            return None;
        }
    })
}

/// `values` only makes sense on `enum` fields.
fn check_values_only_on_enums(field: &FieldSpec, d: &mut Diagnostics) {
    if let Some(values) = &field.values {
        d.error(values.pos, &field.context, "`values` only applies to `enum` fields");
    }
}

/// Request and response fields of actions carry plain data: no keys, timestamps, uniqueness
/// or server-set flags.
fn check_body_field_flags(field: &FieldSpec, d: &mut Diagnostics) {
    let flags = [
        ("primary_key", &field.primary_key),
        ("unique", &field.unique),
        ("read_only", &field.read_only),
        ("auto_now_add", &field.auto_now_add),
        ("auto_now", &field.auto_now),
    ];
    for (key, flag) in flags {
        if let Some(flag) = flag.as_ref().filter(|flag| flag.value) {
            d.error(flag.pos, &field.context, format!("`{key}` does not apply to action request or response fields"));
        }
    }
}

/// At most one of `primary_key`, `auto_now_add`, `auto_now`, `read_only`; timestamps only on
/// `datetime` fields.
fn check_setter(field: &FieldSpec, ty: Option<&FieldType>, d: &mut Diagnostics) -> Setter {
    let ctx = field.context.as_str();
    let candidates = [
        ("primary_key", &field.primary_key, Setter::PrimaryKey),
        ("auto_now_add", &field.auto_now_add, Setter::AutoNowAdd),
        ("auto_now", &field.auto_now, Setter::AutoNow),
        ("read_only", &field.read_only, Setter::ReadOnly),
    ];
    let set: Vec<_> = candidates.iter().filter(|(_, flag, _)| flag.as_ref().is_some_and(|f| f.value)).collect();
    if let [first, second, ..] = set.as_slice() {
        let pos = second.1.as_ref().map_or(field.pos, |f| f.pos);
        d.error(pos, ctx, format!("`{}` and `{}` cannot both be set", first.0, second.0));
    }
    let Some((key, flag, setter)) = set.first() else { return Setter::Client };
    let pos = flag.as_ref().map_or(field.pos, |f| f.pos);
    match (setter, ty) {
        (Setter::AutoNowAdd | Setter::AutoNow, Some(ty)) if *ty != FieldType::DateTime => {
            d.error(pos, ctx, format!("`{key}` applies only to `datetime` fields, not `{}`", ty.spec_name()));
        }
        (Setter::PrimaryKey, Some(ty)) if *ty != FieldType::Uuid => {
            d.error(
                pos,
                ctx,
                format!("the primary key must have type `uuid` (generated by the server), not `{}`", ty.spec_name()),
            );
        }
        _ => {}
    }
    *setter
}

/// Length and pattern constraints apply to `string`/`text`, bounds to `integer`/`float`
/// (integer bounds must be integers); lower bounds are at most upper bounds; patterns compile.
fn check_constraints(field: &FieldSpec, ty: &FieldType, d: &mut Diagnostics) -> Constraints {
    let ctx = field.context.as_str();
    let type_name = ty.spec_name();
    let mut constraints = Constraints::default();
    for (key, length, slot) in [
        ("max_length", &field.max_length, &mut constraints.max_length),
        ("min_length", &field.min_length, &mut constraints.min_length),
    ] {
        if let Some(length) = length {
            if ty.is_textual() {
                *slot = Some(length.value);
            } else {
                d.error(
                    length.pos,
                    ctx,
                    format!("`{key}` applies only to `string` and `text` fields, not `{type_name}`"),
                );
            }
        }
    }
    if let Some(max) = &field.max_length
        && max.value == 0
        && ty.is_textual()
    {
        d.error(max.pos, ctx, "`max_length` must be ≥ 1");
    }
    if let (Some(min), Some(max)) = (&field.min_length, &field.max_length)
        && min.value > max.value
    {
        d.error(min.pos, ctx, format!("min_length ({}) is greater than max_length ({})", min.value, max.value));
    }
    for (key, bound, slot) in [("min", &field.min, &mut constraints.min), ("max", &field.max, &mut constraints.max)] {
        let Some(bound) = bound else { continue };
        match (ty, bound.value) {
            (FieldType::Integer, Number::Int(_)) | (FieldType::Float, _) => *slot = Some(bound.value),
            (FieldType::Integer, Number::Float(_)) => {
                d.error(
                    bound.pos,
                    ctx,
                    format!("`{key}` of an `integer` field must be a whole number, found {}", bound.value),
                );
            }
            _ => d.error(
                bound.pos,
                ctx,
                format!("`{key}` applies only to `integer` and `float` fields, not `{type_name}`"),
            ),
        }
    }
    if let (Some(min), Some(max)) = (&field.min, &field.max)
        && min.value.as_f64() > max.value.as_f64()
    {
        d.error(min.pos, ctx, format!("min ({}) is greater than max ({})", min.value, max.value));
    }
    if let Some(pattern) = &field.pattern {
        if !ty.is_textual() {
            d.error(
                pattern.pos,
                ctx,
                format!("`pattern` applies only to `string` and `text` fields, not `{type_name}`"),
            );
        } else if let Err(error) = Regex::new(&pattern.value) {
            // The regex error is multi-line ASCII art; its last line says what is wrong.
            let reason = error.to_string();
            let reason =
                reason.lines().last().unwrap_or("invalid regular expression").trim().trim_start_matches("error: ");
            d.error(pattern.pos, ctx, format!("`pattern` is not a valid regular expression: {reason}"));
        } else {
            constraints.pattern = Some(pattern.value.clone());
        }
    }
    constraints
}

/// `unique` is not supported on `json` fields (no portable equality index).
fn check_unique_flag(field: &FieldSpec, ty: &FieldType, d: &mut Diagnostics) {
    if let Some(unique) = &field.unique
        && unique.value
        && *ty == FieldType::Json
    {
        d.error(unique.pos, &field.context, "`unique` is not supported on `json` fields");
    }
}

/// `sensitive` applies to `string` and `text` fields.
fn check_sensitive_flag(field: &FieldSpec, ty: &FieldType, d: &mut Diagnostics) {
    if let Some(sensitive) = &field.sensitive
        && sensitive.value
        && !ty.is_textual()
    {
        d.error(
            sensitive.pos,
            &field.context,
            format!("`sensitive` applies only to `string` and `text` fields, not `{}`", ty.spec_name()),
        );
    }
}

/// A default has the field's type, satisfies the field's own constraints, names an enum value
/// that exists, and is not combined with `required`, the primary key or timestamps.
fn check_default(
    field: &FieldSpec,
    default: &Value,
    ty: &FieldType,
    constraints: &Constraints,
    setter: Setter,
    d: &mut Diagnostics,
) -> Option<DefaultValue> {
    let ctx = field.context.as_str();
    let pos = default.pos;
    if matches!(setter, Setter::PrimaryKey | Setter::AutoNow | Setter::AutoNowAdd) {
        d.error(pos, ctx, "a field set by the server cannot have a `default`");
        return None;
    }
    if field.required.as_ref().is_some_and(|r| r.value) {
        d.error(pos, ctx, "a field with a `default` is optional; remove `required` or `default`");
        return None;
    }
    if default.kind == ValueKind::Null {
        d.error(pos, ctx, "a `null` default is the same as no default; remove `default`");
        return None;
    }
    let mismatch = |d: &mut Diagnostics, expected: &str| {
        d.error(
            pos,
            ctx,
            format!(
                "default must be {expected} for a field of type `{}`, found {}",
                ty.spec_name(),
                default.kind.describe()
            ),
        );
        None
    };
    let value = match (ty, &default.kind) {
        (FieldType::Boolean, ValueKind::Bool(b)) => DefaultValue::Bool(*b),
        (FieldType::Boolean, _) => return mismatch(d, "`true` or `false`"),
        (FieldType::Integer, ValueKind::Number(Number::Int(i))) => DefaultValue::Integer(*i),
        (FieldType::Integer, _) => return mismatch(d, "an integer"),
        (FieldType::Float, ValueKind::Number(n)) => DefaultValue::Float(n.as_f64()),
        (FieldType::Float, _) => return mismatch(d, "a number"),
        (FieldType::String | FieldType::Text, ValueKind::String(s)) => DefaultValue::String(s.clone()),
        (FieldType::String | FieldType::Text, _) => return mismatch(d, "a string"),
        (FieldType::Json, _) => {
            check_json_keys_unique(default, ctx, d);
            DefaultValue::Json(default.clone())
        }
        (FieldType::Enum(enum_ir), ValueKind::String(s)) => match enum_ir.values.iter().position(|v| v.value == *s) {
            Some(index) => DefaultValue::Enum(index),
            None => {
                let hint = suggestion(s, enum_ir.values.iter().map(|v| v.value.as_str()));
                let allowed = enum_ir.values.iter().map(|v| format!("`{}`", v.value)).collect::<Vec<_>>().join(", ");
                d.error(
                    pos,
                    ctx,
                    format!("default `{}` is not one of the enum values ({allowed}){hint}", s.escape_debug()),
                );
                return None;
            }
        },
        (FieldType::Enum(_), _) => return mismatch(d, "one of the enum values as a string"),
        (FieldType::Uuid | FieldType::DateTime | FieldType::Date, _) => {
            d.error(
                pos,
                ctx,
                format!(
                    "`{}` fields cannot have a default; use `auto_now_add`/`auto_now` for timestamps",
                    ty.spec_name()
                ),
            );
            return None;
        }
    };
    check_default_satisfies_constraints(&value, constraints, pos, ctx, d);
    Some(value)
}

/// The default satisfies the field's own `min`/`max`/`max_length`/`min_length`/`pattern`.
fn check_default_satisfies_constraints(
    value: &DefaultValue,
    constraints: &Constraints,
    pos: Pos,
    ctx: &str,
    d: &mut Diagnostics,
) {
    match value {
        DefaultValue::Integer(_) | DefaultValue::Float(_) => {
            let number = match value {
                DefaultValue::Integer(i) => *i as f64,
                DefaultValue::Float(f) => *f,
                _ => unreachable!("matched above"),
            };
            if let Some(min) = constraints.min.filter(|min| number < min.as_f64()) {
                d.error(pos, ctx, format!("default {number} is below the field's min ({min})"));
            }
            if let Some(max) = constraints.max.filter(|max| number > max.as_f64()) {
                d.error(pos, ctx, format!("default {number} is above the field's max ({max})"));
            }
        }
        DefaultValue::String(s) => {
            let length = s.chars().count() as u64;
            if let Some(max) = constraints.max_length.filter(|&max| length > max) {
                d.error(
                    pos,
                    ctx,
                    format!("default is {length} characters long, longer than the field's max_length ({max})"),
                );
            }
            if let Some(min) = constraints.min_length.filter(|&min| length < min) {
                d.error(
                    pos,
                    ctx,
                    format!("default is {length} characters long, shorter than the field's min_length ({min})"),
                );
            }
            if let Some(pattern) = &constraints.pattern
                && Regex::new(pattern).is_ok_and(|re| !re.is_match(s))
            {
                d.error(pos, ctx, "default does not match the field's `pattern`");
            }
        }
        _ => {}
    }
}

/// Objects inside a `json` default have no repeated keys (JSON parsers would silently keep
/// one of them).
fn check_json_keys_unique(value: &Value, ctx: &str, d: &mut Diagnostics) {
    match &value.kind {
        ValueKind::Object(members) => {
            for (i, member) in members.iter().enumerate() {
                if members[..i].iter().any(|earlier| earlier.key == member.key) {
                    d.error(
                        member.key_pos,
                        ctx,
                        format!("duplicate key `{}` in the default", member.key.escape_debug()),
                    );
                }
                check_json_keys_unique(&member.value, ctx, d);
            }
        }
        ValueKind::Array(items) => items.iter().for_each(|item| check_json_keys_unique(item, ctx, d)),
        _ => {}
    }
}

/// Field names are unique within an entity.
fn check_unique_field_names(fields: &[FieldSpec], d: &mut Diagnostics) {
    let mut seen = HashSet::new();
    for field in fields {
        if let Some(name) = &field.name
            && !seen.insert(name.value.as_str())
        {
            d.error(name.pos, &field.context, format!("duplicate field name `{}`", name.value));
        }
    }
}

/// Every entity has exactly one primary key.
fn check_primary_key(entity: &EntitySpec, d: &mut Diagnostics) {
    let keys: Vec<&FieldSpec> =
        entity.fields.iter().filter(|f| f.primary_key.as_ref().is_some_and(|p| p.value)).collect();
    match keys.as_slice() {
        [] => d.error(
            entity.fields_pos,
            &entity.context,
            "no primary key; add `{\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true}`",
        ),
        [_] => {}
        [_, rest @ ..] => {
            for extra in rest {
                let pos = extra.primary_key.as_ref().map_or(extra.pos, |p| p.pos);
                d.error(
                    pos,
                    &extra.context,
                    "more than one primary key; composite keys are not supported, use a unique index",
                );
            }
        }
    }
}

/// Indexes name at least one field, only fields that exist, each once.
fn lower_index(index: &IndexSpec, fields: &[FieldSpec], d: &mut Diagnostics) -> Option<IndexIr> {
    let ctx = index.context.as_str();
    if index.fields.is_empty() {
        d.error(index.fields_pos, ctx, "an index needs at least one field");
        return None;
    }
    let known: Vec<&str> = fields.iter().filter_map(|f| f.name.as_ref()).map(|n| n.value.as_str()).collect();
    let mut ok = true;
    for (i, name) in index.fields.iter().enumerate() {
        if !known.contains(&name.value.as_str()) {
            let hint = suggestion(&name.value, known.iter().copied());
            d.error(name.pos, ctx, format!("index names unknown field `{}`{hint}", name.value.escape_debug()));
            ok = false;
        } else if index.fields[..i].iter().any(|earlier| earlier.value == name.value) {
            d.error(name.pos, ctx, format!("index lists field `{}` twice", name.value));
            ok = false;
        }
    }
    ok.then(|| IndexIr {
        fields: index.fields.iter().map(|f| f.value.clone()).collect(),
        unique: index.unique.as_ref().is_some_and(|u| u.value),
    })
}

/// No two indexes cover the same fields in the same order.
fn check_unique_indexes(indexes: &[IndexSpec], d: &mut Diagnostics) {
    let mut seen: Vec<Vec<&str>> = Vec::new();
    for index in indexes {
        let fields: Vec<&str> = index.fields.iter().map(|f| f.value.as_str()).collect();
        if !fields.is_empty() && seen.contains(&fields) {
            d.error(index.pos, &index.context, format!("duplicate index on ({})", fields.join(", ")));
        }
        seen.push(fields);
    }
}

/// Collection paths are `/` followed by kebab-case segments, and not a reserved path.
fn check_collection_path(path: &Spanned<String>, ctx: &str, d: &mut Diagnostics) -> Option<String> {
    let valid = path.value.strip_prefix('/').is_some_and(|rest| rest.split('/').all(naming::is_kebab_segment));
    let reserved = RESERVED_PATHS.iter().find(|(r, _)| path.value == *r || path.value.starts_with(&format!("{r}/")));
    if let (true, Some((reserved, what))) = (valid, reserved) {
        d.error(path.pos, ctx, format!("`{reserved}` is where the service serves {what}; choose another `api.path`"));
        None
    } else if valid {
        Some(path.value.clone())
    } else {
        d.error(path.pos, ctx, "`api.path` must be `/` followed by kebab-case segments, e.g. `/raw-data-sources`");
        None
    }
}

fn lower_action(action: &ActionSpec, type_prefix: &str, d: &mut Diagnostics) -> Option<ActionIr> {
    let ctx = action.context.as_str();
    let name = action.name.as_ref().and_then(|name| check_snake_name(name, "action name", ctx, d));
    let scope = check_action_scope(action, d);
    let method = check_action_method(action, d);
    let path_segment = match &action.path {
        Some(path) if naming::is_kebab_segment(&path.value) => Some(path.value.clone()),
        Some(path) => {
            d.error(path.pos, ctx, "action `path` must be one kebab-case segment, e.g. `sync-all`");
            None
        }
        None => name.as_deref().map(naming::snake_to_kebab),
    };
    let body = |fields: &Option<Vec<FieldSpec>>, suffix: &str, d: &mut Diagnostics| -> Option<Option<Vec<FieldIr>>> {
        let Some(fields) = fields else { return Some(None) };
        let prefix = format!("{type_prefix}{}{suffix}", naming::snake_to_pascal(name.as_deref().unwrap_or("action")));
        check_unique_field_names(fields, d);
        let lowered: Vec<FieldIr> =
            fields.iter().filter_map(|f| lower_field(f, &prefix, FieldRole::ActionBody, d)).collect();
        (lowered.len() == fields.len()).then_some(Some(lowered))
    };
    let request = body(&action.request, "Request", d);
    let response = body(&action.response, "Response", d);
    if let (Some(method), Some(request)) = (&method, &action.request)
        && (method == "GET" || method == "DELETE")
    {
        let pos = request.first().map_or(action.pos, |f| f.pos);
        d.error(pos, ctx, format!("a `{method}` action cannot have a request body"));
    }
    let kind = match (&action.tracked, &action.runs) {
        (Some(tracked), Some(runs)) if tracked.value => {
            d.error(runs.pos, ctx, "an action is either `tracked` or `runs` another; not both");
            None
        }
        (Some(tracked), _) if tracked.value => {
            let segment = match &action.history {
                Some(history) if naming::is_kebab_segment(&history.value) => Some(history.value.clone()),
                Some(history) => {
                    d.error(history.pos, ctx, "`history` must be one kebab-case segment, e.g. `syncs`");
                    None
                }
                None => path_segment.as_deref().map(naming::pluralize),
            };
            segment.map(|history| ActionKind::Tracked { history })
        }
        (_, Some(runs)) => Some(ActionKind::RunsAll { action: runs.value.clone() }),
        _ => {
            if let Some(history) = &action.history {
                d.error(history.pos, ctx, "`history` applies only to tracked actions");
            }
            Some(ActionKind::Plain)
        }
    };
    Some(ActionIr {
        pos: action.pos,
        name: name?,
        scope: scope?,
        method: method?,
        path_segment: path_segment?,
        summary: action.summary.as_ref().map(|s| s.value.clone()),
        description: action.description.as_ref().map(|s| s.value.clone()),
        request: request?,
        response: response?,
        kind: kind?,
    })
}

/// Every action says whether it acts on one `item` or on the `collection`.
fn check_action_scope(action: &ActionSpec, d: &mut Diagnostics) -> Option<ActionScope> {
    match action.scope.as_ref().map(|s| s.value.as_str()) {
        Some("item") => Some(ActionScope::Item),
        Some("collection") => Some(ActionScope::Collection),
        Some(other) => {
            let pos = action.scope.as_ref().map_or(action.pos, |s| s.pos);
            let hint = suggestion(other, ["item", "collection"]);
            d.error(
                pos,
                &action.context,
                format!("unknown action scope `{}`; expected `item` or `collection`{hint}", other.escape_debug()),
            );
            None
        }
        None => {
            d.error(action.pos, &action.context, "missing required key `scope` (`item` or `collection`)");
            None
        }
    }
}

/// Action methods are upper-case GET, POST, PUT, PATCH or DELETE (default POST).
fn check_action_method(action: &ActionSpec, d: &mut Diagnostics) -> Option<String> {
    let Some(method) = &action.method else { return Some("POST".to_owned()) };
    if ACTION_METHODS.contains(&method.value.as_str()) {
        Some(method.value.clone())
    } else {
        let hint = if ACTION_METHODS.contains(&method.value.to_ascii_uppercase().as_str()) {
            format!("; did you mean `{}`?", method.value.to_ascii_uppercase())
        } else {
            String::new()
        };
        d.error(
            method.pos,
            &action.context,
            format!(
                "unknown HTTP method `{}`; expected one of {}{hint}",
                method.value.escape_debug(),
                ACTION_METHODS.join(", ")
            ),
        );
        None
    }
}

/// Action names are unique within an entity, and no two actions share a method and path.
fn check_unique_actions(actions: &[ActionIr], ctx: &str, d: &mut Diagnostics) {
    for (i, action) in actions.iter().enumerate() {
        let earlier = &actions[..i];
        let action_ctx = format!("{ctx}, action `{}`", action.name);
        if earlier.iter().any(|a| a.name == action.name) {
            d.error(action.pos, &action_ctx, format!("duplicate action name `{}`", action.name));
        } else if action.scope == ActionScope::Collection && action.path_segment == STATS_SEGMENT {
            d.error(
                action.pos,
                &action_ctx,
                format!(
                    "`{STATS_SEGMENT}` is where the service serves the collection's statistics; choose another `path`"
                ),
            );
        } else if let Some(twin) = earlier
            .iter()
            .find(|a| a.scope == action.scope && a.method == action.method && a.path_segment == action.path_segment)
        {
            d.error(action.pos, &action_ctx, format!("same method and path as action `{}`", twin.name));
        }
    }
}

/// Entity names are unique within a spec.
fn check_unique_entity_names(doc: &SpecDoc, d: &mut Diagnostics) {
    let mut seen = HashSet::new();
    for entity in &doc.entities {
        if let Some(name) = &entity.name
            && !seen.insert(name.value.as_str())
        {
            d.error(name.pos, &entity.context, format!("duplicate entity name `{}`", name.value));
        }
    }
}

/// Entities have distinct collection paths and table names.
fn check_unique_collection_paths(entities: &[EntityIr], d: &mut Diagnostics) {
    for (i, entity) in entities.iter().enumerate() {
        for earlier in &entities[..i] {
            if earlier.collection_path == entity.collection_path {
                let ctx = format!("entity `{}`", entity.name);
                d.error(
                    entity.pos,
                    &ctx,
                    format!(
                        "collection path `{}` is already used by entity `{}`",
                        entity.collection_path, earlier.name
                    ),
                );
            }
            if earlier.table_name == entity.table_name {
                let ctx = format!("entity `{}`", entity.name);
                d.error(
                    entity.pos,
                    &ctx,
                    format!("table name `{}` is already used by entity `{}`", entity.table_name, earlier.name),
                );
            }
        }
    }
}

/// The types generated for different entities and fields do not collide (e.g. entity `Order`
/// with enum field `status` and another entity named `OrderStatus`).
fn check_generated_type_names(entities: &[EntityIr], d: &mut Diagnostics) {
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
