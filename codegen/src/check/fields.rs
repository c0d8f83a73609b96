//! Lowering one field, on an entity or in an action's request or response body: runs the
//! name, type, key, constraint and default rules on it and builds its `FieldIr`.

use crate::diagnostics::Diagnostics;
use crate::ir::{FieldIr, FieldType, Setter};
use crate::spec::{FieldSpec, Spanned};

use super::constraints::check_constraints;
use super::defaults::check_default;
use super::keys::{check_server_set_not_required, check_setter};
use super::names::check_snake_name;
use super::references::lower_reference;
use super::types::{
    check_field_type, check_searchable_flag, check_sensitive_flag, check_sensitive_not_unique, check_unique_flag,
    check_values_only_on_enums,
};

/// Where a field appears: on an entity, or in an action's request/response body (where only
/// plain client data makes sense).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldRole {
    Entity,
    ActionBody,
}

/// Lowers one field: its name, type, setter, constraints and default.
pub(super) fn lower_field(
    field: &FieldSpec,
    type_prefix: &str,
    role: FieldRole,
    d: &mut Diagnostics,
) -> Option<FieldIr> {
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
    check_sensitive_not_unique(field, d);
    check_searchable_flag(field, &ty, d);
    check_server_set_not_required(field, required, setter, d);
    let references = match role {
        FieldRole::Entity => lower_reference(field, required, d),
        FieldRole::ActionBody => None,
    };
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
        references,
        searchable: flag(&field.searchable),
    })
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
        ("searchable", &field.searchable),
    ];
    for (key, flag) in flags {
        if let Some(flag) = flag.as_ref().filter(|flag| flag.value) {
            d.error(flag.pos, &field.context, format!("`{key}` does not apply to action request or response fields"));
        }
    }
    for (key, value) in [("references", &field.references), ("on_delete", &field.on_delete)] {
        if let Some(value) = value {
            d.error(value.pos, &field.context, format!("`{key}` does not apply to action request or response fields"));
        }
    }
}
