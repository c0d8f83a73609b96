//! Field types: known type names (with hints for common spellings from other languages), enum
//! values, and the flags that only fit some types (`values`, `unique`, `sensitive`).
//! Compile-fail cases: `tests/ui/types/`.

use crate::diagnostics::Diagnostics;
use crate::ir::{EnumIr, EnumValueIr, FieldType};
use crate::naming;
use crate::spec::{FIELD_TYPES, FieldSpec, Spanned};
use entity_spec_contract::suggest::suggestion;

use super::names::check_snake_name;

/// `type` is one of the known field types; `enum` needs a non-empty list of unique snake_case
/// `values`.
pub(super) fn check_field_type(
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

/// `values` only makes sense on `enum` fields.
pub(super) fn check_values_only_on_enums(field: &FieldSpec, d: &mut Diagnostics) {
    if let Some(values) = &field.values {
        d.error(values.pos, &field.context, "`values` only applies to `enum` fields");
    }
}

/// `unique` is not supported on `json` fields (no portable equality index).
pub(super) fn check_unique_flag(field: &FieldSpec, ty: &FieldType, d: &mut Diagnostics) {
    if let Some(unique) = &field.unique
        && unique.value
        && *ty == FieldType::Json
    {
        d.error(unique.pos, &field.context, "`unique` is not supported on `json` fields");
    }
}

/// A `sensitive` field is not `unique`: it is stored encrypted with a random nonce, so equal
/// values never have equal ciphertexts and the database cannot compare them.
pub(super) fn check_sensitive_not_unique(field: &FieldSpec, d: &mut Diagnostics) {
    if let (Some(unique), Some(sensitive)) = (&field.unique, &field.sensitive)
        && unique.value
        && sensitive.value
    {
        d.error(
            unique.pos,
            &field.context,
            "`unique` cannot apply to a `sensitive` field: sensitive values are stored encrypted with a random nonce, so the database cannot compare them",
        );
    }
}

/// `sensitive` applies to `string` and `text` fields.
pub(super) fn check_sensitive_flag(field: &FieldSpec, ty: &FieldType, d: &mut Diagnostics) {
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

/// `searchable` applies to `string` and `text` fields that are shown: a secret's words in a
/// search index would be stored in plain text and matched by anyone who can list.
pub(super) fn check_searchable_flag(field: &FieldSpec, ty: &FieldType, d: &mut Diagnostics) {
    let Some(searchable) = field.searchable.as_ref().filter(|flag| flag.value) else { return };
    if !ty.is_textual() {
        d.error(
            searchable.pos,
            &field.context,
            format!("`searchable` applies only to `string` and `text` fields, not `{}`", ty.spec_name()),
        );
    } else if let Some(name) = field.name.as_ref().filter(|name| matches!(name.value.as_str(), "rank" | "rowid")) {
        // SQLite's FTS5 reserves these column names for itself.
        d.error(
            searchable.pos,
            &field.context,
            format!("a field named `{}` cannot be `searchable`: the full-text index reserves the name", name.value),
        );
    } else if field.sensitive.as_ref().is_some_and(|flag| flag.value) {
        d.error(
            searchable.pos,
            &field.context,
            "`searchable` cannot apply to a `sensitive` field: its words would be stored in plain text in the search index and found by anyone who can list",
        );
    }
}
