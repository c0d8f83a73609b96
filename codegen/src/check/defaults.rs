//! Defaults: of the field's type, within the field's own constraints, one of its enum values,
//! no repeated keys in JSON, and never on required or server-set fields.
//! Compile-fail cases: `tests/ui/defaults/`.

use entity_spec_contract::patterns::ecma_to_rust;
use regex::Regex;

use crate::diagnostics::Diagnostics;
use crate::ir::{Constraints, DefaultValue, FieldType, Setter};
use crate::json::{Number, Pos, Value, ValueKind};
use crate::spec::FieldSpec;
use entity_spec_contract::suggest::suggestion;

/// A default has the field's type, satisfies the field's own constraints, names an enum value
/// that exists, and is not combined with `required`, the primary key or timestamps.
pub(super) fn check_default(
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
                && Regex::new(&ecma_to_rust(pattern)).is_ok_and(|re| !re.is_match(s))
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
