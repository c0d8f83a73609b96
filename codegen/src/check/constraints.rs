//! Value constraints: lengths and patterns on text, bounds on numbers (whole numbers for
//! integers), lower bounds at most upper bounds, patterns that compile.
//! Compile-fail cases: `tests/ui/constraints/`.

use entity_spec_contract::patterns::ecma_to_rust;
use regex::Regex;

use crate::diagnostics::Diagnostics;
use crate::ir::{Constraints, FieldType};
use crate::json::Number;
use crate::spec::FieldSpec;

/// Length and pattern constraints apply to `string`/`text`, bounds to `integer`/`float`
/// (integer bounds must be integers); lower bounds are at most upper bounds; patterns compile.
pub(super) fn check_constraints(field: &FieldSpec, ty: &FieldType, d: &mut Diagnostics) -> Constraints {
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
        } else if let Err(error) = Regex::new(&ecma_to_rust(&pattern.value)) {
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
