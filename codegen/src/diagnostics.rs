//! Spec errors and the collector that gathers all of them before anything stops.

use std::fmt;

use crate::json::Pos;

/// One problem in a spec: where it is, which entity/field it concerns, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// Line and column in the spec file.
    pub pos: Pos,
    /// The path to the offending item, e.g. ``entity `RawDataSource`, field `name` ``; empty
    /// for problems with the document itself.
    pub context: String,
    /// What is wrong, and where possible how to fix it.
    pub message: String,
}

impl SpecError {
    /// Renders the error as `file:line:column: context: message`, the form editors and
    /// terminals turn into links.
    pub fn render(&self, file: &str) -> String {
        if self.context.is_empty() {
            format!("{file}:{}: {}", self.pos, self.message)
        } else {
            format!("{file}:{}: {}: {}", self.pos, self.context, self.message)
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.context.is_empty() {
            write!(f, "{}: {}", self.pos, self.message)
        } else {
            write!(f, "{}: {}: {}", self.pos, self.context, self.message)
        }
    }
}

/// Every problem found in one spec, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecErrors {
    /// The individual problems; never empty.
    pub errors: Vec<SpecError>,
}

impl SpecErrors {
    /// Renders every error on its own line, prefixed with the file name.
    pub fn render(&self, file: &str) -> String {
        self.errors.iter().map(|e| e.render(file)).collect::<Vec<_>>().join("\n")
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// Collects errors while the reader and the checks run, so users fix a spec in one round
/// instead of one error per build (serde_derive's `Ctxt` does the same for attributes).
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    errors: Vec<SpecError>,
}

impl Diagnostics {
    /// Records a problem.
    pub(crate) fn error(&mut self, pos: Pos, context: &str, message: impl Into<String>) {
        self.errors.push(SpecError { pos, context: context.to_owned(), message: message.into() });
    }

    /// Finishes collection: `Ok(value)` when nothing was recorded, otherwise every error
    /// sorted by position (checks run in several passes; users read files top to bottom).
    pub(crate) fn finish<T>(mut self, value: T) -> Result<T, SpecErrors> {
        if self.errors.is_empty() {
            return Ok(value);
        }
        self.errors.sort_by_key(|e| e.pos);
        self.errors.dedup();
        Err(SpecErrors { errors: self.errors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_sorted_and_rendered_with_the_file() {
        let mut diagnostics = Diagnostics::default();
        diagnostics.error(Pos { line: 9, column: 2 }, "entity `A`", "second");
        diagnostics.error(Pos { line: 3, column: 7 }, "", "first");
        let errors = diagnostics.finish(()).unwrap_err();
        assert_eq!(errors.render("specs/e.json"), "specs/e.json:3:7: first\nspecs/e.json:9:2: entity `A`: second");
    }
}
