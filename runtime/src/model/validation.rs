//! Field validation results and the checks generated validators call.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// One broken rule on one field: `{field, code, message}` as it appears in a 422 response.
///
/// Messages never contain the offending value, so validating a sensitive field cannot leak
/// it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldViolation {
    /// The field's name as in the spec (and the JSON body).
    pub field: Cow<'static, str>,
    /// A stable machine-readable code: `blank`, `null`, `max_length`, `min_length`, `min`,
    /// `max`, `pattern`, `not_finite` from the validators; request parsing adds its own
    /// (`required`, `type`, `unknown_field`, …).
    pub code: Cow<'static, str>,
    /// A human-readable sentence.
    pub message: String,
}

/// Every violation found in one value, in field order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors {
    violations: Vec<FieldViolation>,
}

impl ValidationErrors {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn add(
        &mut self,
        field: impl Into<Cow<'static, str>>,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) {
        self.violations.push(FieldViolation { field: field.into(), code: code.into(), message: message.into() });
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// The violations, in the order they were found.
    pub fn violations(&self) -> &[FieldViolation] {
        &self.violations
    }

    /// `Ok(())` when empty, otherwise `Err(self)`.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", v.field, v.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = FieldViolation;
    type IntoIter = std::vec::IntoIter<FieldViolation>;

    fn into_iter(self) -> Self::IntoIter {
        self.violations.into_iter()
    }
}

/// Types with validators generated from the spec.
pub trait Validate {
    /// Checks every constraint and returns every violation, not just the first.
    fn validate(&self) -> Result<(), ValidationErrors>;
}

/// Actions without a request body take `()`.
impl Validate for () {
    fn validate(&self) -> Result<(), ValidationErrors> {
        Ok(())
    }
}

/// The individual checks. Generated validators call these so that messages and codes are the
/// same for every entity.
pub mod check {
    use regex::Regex;

    use super::ValidationErrors;

    /// A required text field must contain something besides white space, as the OpenAPI
    /// document's pattern counts it (ECMA-262's `\s`), so both refuse the same values.
    pub fn not_blank(errors: &mut ValidationErrors, field: &'static str, value: &str) {
        if value.chars().all(entity_spec_contract::patterns::is_ecma_space) {
            errors.add(field, "blank", "must not be blank");
        }
    }

    /// At most `max` characters (Unicode scalar values, as JSON Schema counts them).
    pub fn max_length(errors: &mut ValidationErrors, field: &'static str, value: &str, max: u64) {
        if value.chars().count() as u64 > max {
            errors.add(field, "max_length", format!("must be at most {max} characters long"));
        }
    }

    /// At least `min` characters.
    pub fn min_length(errors: &mut ValidationErrors, field: &'static str, value: &str, min: u64) {
        if (value.chars().count() as u64) < min {
            errors.add(field, "min_length", format!("must be at least {min} characters long"));
        }
    }

    /// At least `min` (inclusive).
    pub fn min<T: PartialOrd + std::fmt::Display>(
        errors: &mut ValidationErrors,
        field: &'static str,
        value: T,
        min: T,
    ) {
        if value < min {
            errors.add(field, "min", format!("must be at least {min}"));
        }
    }

    /// At most `max` (inclusive).
    pub fn max<T: PartialOrd + std::fmt::Display>(
        errors: &mut ValidationErrors,
        field: &'static str,
        value: T,
        max: T,
    ) {
        if value > max {
            errors.add(field, "max", format!("must be at most {max}"));
        }
    }

    /// A required or defaulted `json` field holds a value, not `null`.
    pub fn json_not_null(errors: &mut ValidationErrors, field: &'static str, value: &serde_json::Value) {
        if value.is_null() {
            errors.add(field, "null", "must not be null");
        }
    }

    /// Floats must be finite: JSON and SQL have no NaN or infinity.
    pub fn finite(errors: &mut ValidationErrors, field: &'static str, value: f64) {
        if !value.is_finite() {
            errors.add(field, "not_finite", "must be a finite number");
        }
    }

    /// Matches `pattern` somewhere in the value (unanchored, like JSON Schema's `pattern`).
    /// `spelled` is the pattern as the spec writes it (`regex` reads its translation).
    pub fn pattern(errors: &mut ValidationErrors, field: &'static str, value: &str, regex: &Regex, spelled: &str) {
        if !regex.is_match(value) {
            errors.add(field, "pattern", format!("must match the pattern `{spelled}`"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_violation_in_order() {
        let mut errors = ValidationErrors::new();
        check::not_blank(&mut errors, "name", "  ");
        check::max_length(&mut errors, "name", "ééé", 2);
        check::max_length(&mut errors, "name", "éé", 2);
        check::min(&mut errors, "refresh_interval", 59, 60);
        check::max(&mut errors, "ratio", 1.5, 1.0);
        check::finite(&mut errors, "ratio", f64::NAN);
        check::pattern(&mut errors, "code", "abc", &regex::Regex::new("^[A-Z]+$").unwrap(), "^[A-Z]+$");
        let codes: Vec<_> = errors.violations().iter().map(|v| v.code.as_ref()).collect();
        assert_eq!(codes, ["blank", "max_length", "min", "max", "not_finite", "pattern"]);
        assert_eq!(
            serde_json::to_value(&errors).unwrap()[1],
            serde_json::json!({"field": "name", "code": "max_length", "message": "must be at most 2 characters long"})
        );
        assert!(errors.to_string().starts_with("name: must not be blank; name: must be at most 2"));
    }

    #[test]
    fn blank_means_ecma_white_space_only() {
        let blank = |value: &str| {
            let mut errors = ValidationErrors::new();
            check::not_blank(&mut errors, "name", value);
            !errors.is_empty()
        };
        assert!(blank("") && blank(" \t\u{A0}\u{FEFF}\u{3000}"));
        // U+0085 (NEL) is white space to Rust, not to the document's `\s`: it is a value.
        assert!(!blank("\u{85}") && !blank(" x "));
    }
}
