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
pub struct Diagnostics {
    errors: Vec<SpecError>,
}

impl Diagnostics {
    /// Records a problem.
    pub fn error(&mut self, pos: Pos, context: &str, message: impl Into<String>) {
        self.errors.push(SpecError { pos, context: context.to_owned(), message: message.into() });
    }

    /// Whether anything was recorded so far.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Finishes collection: `Ok(value)` when nothing was recorded, otherwise every error
    /// sorted by position (checks run in several passes; users read files top to bottom).
    pub fn finish<T>(mut self, value: T) -> Result<T, SpecErrors> {
        if self.errors.is_empty() {
            return Ok(value);
        }
        self.errors.sort_by_key(|e| e.pos);
        self.errors.dedup();
        Err(SpecErrors { errors: self.errors })
    }
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&word_lower, &candidate.to_ascii_lowercase()), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(word.len()) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Formats the suggestion suffix: `; did you mean `x`?` or nothing.
pub fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match did_you_mean(word, candidates) {
        Some(candidate) => format!("; did you mean `{candidate}`?"),
        None => String::new(),
    }
}

/// Levenshtein distance, with a swap of two neighbours counting as one edit (the most common
/// typo).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut table = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[i - 1][j] + 1).min(table[i][j - 1] + 1).min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["max_length", "min_length", "primary_key", "required"];
        assert_eq!(did_you_mean("max_lenght", keys), Some("max_length"));
        assert_eq!(did_you_mean("maxLength", keys), Some("max_length"));
        assert_eq!(did_you_mean("requried", keys), Some("required"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(did_you_mean("strng", ["string", "text", "uuid"]), Some("string"));
    }

    #[test]
    fn errors_are_sorted_and_rendered_with_the_file() {
        let mut diagnostics = Diagnostics::default();
        diagnostics.error(Pos { line: 9, column: 2 }, "entity `A`", "second");
        diagnostics.error(Pos { line: 3, column: 7 }, "", "first");
        let errors = diagnostics.finish(()).unwrap_err();
        assert_eq!(errors.render("specs/e.json"), "specs/e.json:3:7: first\nspecs/e.json:9:2: entity `A`: second");
    }
}
