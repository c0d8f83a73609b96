//! Request bodies: the content type and size checks, then JSON → typed input, reporting every
//! problem at once.
//!
//! serde stops at the first missing or mistyped field, so bodies are first checked field by
//! field against the entity's [`EntityDef`] (unknown fields, server-set fields, `null`s,
//! missing required fields, JSON types, enum values, UUID and date formats). Only a body that
//! passes is handed to serde, then to the generated validators for the spec's constraints.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, NaiveDate};
use entity_spec_contract::limits::BODY_LIMIT;
use entity_spec_contract::text::printable;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::http::problem::{ApiError, closest};
use crate::http::strict_json;
use crate::model::def::{EntityDef, FieldDef, FieldKind, Setter};
use crate::model::validation::{Validate, ValidationErrors};

/// `415` unless the body is declared as JSON (`application/json` or any `+json` type, e.g.
/// `application/merge-patch+json`, which PATCH also accepts).
pub fn require_json(headers: &HeaderMap, merge_patch: bool) -> Result<(), ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let is_json = essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        Ok(())
    } else if merge_patch {
        Err(ApiError::unsupported_media_type("application/merge-patch+json` or `application/json"))
    } else {
        Err(ApiError::unsupported_media_type("application/json"))
    }
}

/// The body, or the error to answer with: `413` above [`BODY_LIMIT`], `400` if it could not be read.
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(BODY_LIMIT)
        } else {
            ApiError::malformed_body(rejection.body_text())
        }
    })
}

/// Which request a body belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// POST: required fields must be present.
    Create,
    /// PUT (and a merged PATCH): like create, but sensitive fields may be omitted to keep the
    /// stored value.
    Replace,
}

/// Parses a raw body into an input type, or the error to answer with.
pub fn parse_body<T: DeserializeOwned + Validate>(
    def: &'static EntityDef,
    bytes: &[u8],
    kind: BodyKind,
) -> Result<T, ApiError> {
    let value: Value =
        strict_json::from_slice(bytes).map_err(|e| ApiError::malformed_body(format!("invalid JSON: {e}")))?;
    parse_value(def, value, kind)
}

/// Checks a decoded JSON body and turns it into the input type.
pub fn parse_value<T: DeserializeOwned + Validate>(
    def: &'static EntityDef,
    value: Value,
    kind: BodyKind,
) -> Result<T, ApiError> {
    let Value::Object(object) = value else {
        return Err(ApiError::malformed_body(format!(
            "the body must be a JSON object with the fields of {}",
            def.name
        )));
    };
    parse_object(def, object, kind, ValidationErrors::new())
}

/// Checks a body object, adding to the problems already found in `errors`, and builds the
/// input when there are none.
fn parse_object<T: DeserializeOwned + Validate>(
    def: &'static EntityDef,
    mut object: Map<String, Value>,
    kind: BodyKind,
    mut errors: ValidationErrors,
) -> Result<T, ApiError> {
    let unusable = check_object(def, &object, kind, &mut errors);
    // So that the client sees every problem in one response, the rest of the body is still
    // checked: unknown and server-set members are dropped, and missing, null or mistyped
    // fields get a placeholder of the right type whose own violations are not reported. The
    // input is only returned when nothing was wrong, so placeholders never go further.
    object.retain(|key, _| def.field(key).is_some_and(|f| f.setter == Setter::Client));
    for field in &unusable {
        object.insert(field.name.to_owned(), placeholder(field.kind));
    }
    for field in def.fields.iter().filter(|f| f.kind == FieldKind::Integer) {
        if let Some(integer) = object.get(field.name).and_then(integral_float) {
            object.insert(field.name.to_owned(), Value::from(integer));
        }
    }
    let input: T = serde_json::from_value(Value::Object(object)).map_err(|e| {
        // The checks above mirror the input types, so this is a bug, not a client error; still
        // answer 422 with serde's own words rather than a 500.
        let mut errors = ValidationErrors::new();
        errors.add("", "invalid", e.to_string());
        ApiError::validation(errors)
    })?;
    if let Err(violations) = input.validate() {
        for violation in violations.into_iter().filter(|v| !unusable.iter().any(|f| f.name == v.field)) {
            errors.add(violation.field, violation.code, violation.message);
        }
    }
    if errors.is_empty() { Ok(input) } else { Err(ApiError::validation(errors)) }
}

/// Checks every member and every required field; returns the fields whose value cannot be
/// used (missing, null or mistyped), as opposed to members that can simply be dropped.
fn check_object(
    def: &'static EntityDef,
    object: &Map<String, Value>,
    kind: BodyKind,
    errors: &mut ValidationErrors,
) -> Vec<&'static FieldDef> {
    let mut unusable = Vec::new();
    for (key, value) in object {
        let Some(field) = client_field(def, key, errors) else { continue };
        if !check_value(field, value, errors) {
            unusable.push(field);
        }
    }
    for field in def.fields.iter().filter(|f| f.setter == Setter::Client && f.required) {
        let may_keep = kind == BodyKind::Replace && field.sensitive;
        if !object.contains_key(field.name) && !may_keep {
            errors.add(field.name, "required", "is required");
            unusable.push(field);
        }
    }
    unusable
}

/// The client-writable field named `key`; reports unknown (with a suggestion) and server-set
/// members.
fn client_field(def: &'static EntityDef, key: &str, errors: &mut ValidationErrors) -> Option<&'static FieldDef> {
    let Some(field) = def.field(key) else {
        let known = def.fields.iter().filter(|f| f.setter == Setter::Client).map(|f| f.name);
        let hint = closest(key, known).map(|c| format!("; did you mean `{c}`?")).unwrap_or_default();
        errors.add(printable(key), "unknown_field", format!("is not a field of {}{hint}", def.name));
        return None;
    };
    if field.setter != Setter::Client {
        errors.add(field.name, "read_only", "is set by the server and cannot be sent");
        return None;
    }
    Some(field)
}

/// PostgreSQL's `text` and `jsonb` cannot hold U+0000; refusing it everywhere keeps both
/// backends answering alike.
fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(members) => members.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// A float with no fraction that fits an `i64` (`3.0`), as that integer.
fn integral_float(value: &Value) -> Option<i64> {
    let float = value.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)?;
    (!value.is_i64() && !value.is_u64()).then_some(float as i64)
}

/// A value of the right JSON type for `kind`, standing in for an unusable one.
fn placeholder(kind: FieldKind) -> Value {
    match kind {
        FieldKind::String | FieldKind::Text => Value::from(""),
        FieldKind::Integer => Value::from(0),
        FieldKind::Float => Value::from(0.0),
        FieldKind::Boolean => Value::from(false),
        FieldKind::Uuid => Value::from(uuid::Uuid::nil().to_string()),
        FieldKind::DateTime => Value::from("1970-01-01T00:00:00Z"),
        FieldKind::Date => Value::from("1970-01-01"),
        FieldKind::Enum(values) => Value::from(values.first().copied().unwrap_or("")),
        FieldKind::Json => Value::Null,
    }
}

/// Checks one member's JSON type; returns whether it fits.
fn check_value(field: &FieldDef, value: &Value, errors: &mut ValidationErrors) -> bool {
    if contains_nul(value) {
        errors.add(field.name, "invalid_character", "must not contain the NUL character (U+0000)");
        return false;
    }
    if value.is_null() {
        if !field.nullable {
            errors.add(field.name, "null", "must not be null");
            return false;
        }
        return true;
    }
    let fits = match field.kind {
        FieldKind::String | FieldKind::Text => value.is_string(),
        // JSON Schema counts `3.0` as an integer, and so do generated clients.
        FieldKind::Integer => value.is_i64() || integral_float(value).is_some(),
        FieldKind::Float => value.is_number(),
        FieldKind::Boolean => value.is_boolean(),
        FieldKind::Json => true,
        FieldKind::Uuid => value.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
        FieldKind::DateTime => value.as_str().is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok()),
        FieldKind::Date => value.as_str().is_some_and(|s| s.parse::<NaiveDate>().is_ok()),
        FieldKind::Enum(values) => {
            if let Some(s) = value.as_str() {
                if !values.contains(&s) {
                    errors.add(field.name, "enum", format!("must be one of: {}", values.join(", ")));
                    return false;
                }
                return true;
            }
            false
        }
    };
    if !fits {
        let expected = match field.kind {
            FieldKind::Enum(values) => format!("one of: {}", values.join(", ")),
            kind => kind.expectation().to_owned(),
        };
        errors.add(field.name, "type", format!("must be {expected}"));
    }
    fits
}

/// Applies a JSON merge patch (RFC 7396) to the client-visible state of an entity and checks
/// the result as a replacement (PUT) body.
///
/// `current` is the entity as served (without sensitive fields). Members naming unknown or
/// server-set fields are reported whatever their value (a `null` would otherwise vanish in
/// the merge); a `null` on a required field is reported as `null`; a `null` on a sensitive
/// field is kept, so it clears the stored value instead of keeping it.
pub fn parse_merge_patch<T: DeserializeOwned + Validate>(
    def: &'static EntityDef,
    current: Value,
    patch: Value,
) -> Result<T, ApiError> {
    let Value::Object(mut patch) = patch else {
        return Err(ApiError::malformed_body("a merge patch must be a JSON object"));
    };
    let mut errors = ValidationErrors::new();
    patch.retain(|key, value| match client_field(def, key, &mut errors) {
        None => false,
        Some(field) if value.is_null() && !field.nullable => {
            errors.add(field.name, "null", "must not be null");
            false
        }
        Some(_) => true,
    });
    let mut target = match current {
        Value::Object(mut object) => {
            object.retain(|key, _| def.field(key).is_some_and(|f| f.setter == Setter::Client));
            Value::Object(object)
        }
        _ => Value::Object(Map::new()),
    };
    let sensitive_nulls: Vec<String> = patch
        .iter()
        .filter(|(key, value)| value.is_null() && def.field(key).is_some_and(|f| f.sensitive))
        .map(|(key, _)| key.clone())
        .collect();
    apply_merge(&mut target, Value::Object(patch));
    let Value::Object(mut object) = target else { unreachable!("merging an object patch yields an object") };
    for key in sensitive_nulls {
        object.insert(key, Value::Null);
    }
    parse_object(def, object, BodyKind::Replace, errors)
}

/// RFC 7396 §2, recursively.
fn apply_merge(target: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(object) = target else { return };
    for (key, value) in patch {
        if value.is_null() {
            object.remove(&key);
        } else {
            apply_merge(object.entry(key).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // The examples of RFC 7396 appendix A that apply to objects.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (target, patch, expected) in cases {
            let mut merged = target.clone();
            apply_merge(&mut merged, patch.clone());
            assert_eq!(merged, expected, "{target} + {patch}");
        }
    }
}
