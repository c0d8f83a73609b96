//! References between entities (foreign keys): what a deleted row does to the rows that refer
//! to it, and the names the database knows a reference by. The generator reads `on_delete`
//! from the spec into [`OnDelete`]; the runtime writes it into the schema and follows it when
//! a row is deleted; both name the constraint the same way.

use crate::hash::StableHasher;

/// What deleting a row does to the rows that refer to it (`on_delete` in the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// The delete is refused while any row refers to it (the default).
    Restrict,
    /// The referring rows are deleted with it.
    Cascade,
    /// The referring rows keep existing, their reference set to null.
    SetNull,
}

impl OnDelete {
    /// Every mode, in the order the spec format lists them.
    pub const ALL: [OnDelete; 3] = [OnDelete::Restrict, OnDelete::Cascade, OnDelete::SetNull];

    /// The spec's name: `restrict`, `cascade`, `set_null`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnDelete::Restrict => "restrict",
            OnDelete::Cascade => "cascade",
            OnDelete::SetNull => "set_null",
        }
    }

    /// The mode a spec names, if it is one.
    pub fn parse(name: &str) -> Option<OnDelete> {
        OnDelete::ALL.into_iter().find(|mode| mode.as_str() == name)
    }

    /// The referential action in SQL (the same words on SQLite and PostgreSQL).
    pub fn sql_action(self) -> &'static str {
        match self {
            OnDelete::Restrict => "RESTRICT",
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
        }
    }
}

/// The name a reference field is expanded under (`?expand=`, and the key of the embedded item):
/// the field without its `_id` suffix (`author_id` → `author`), or `{field}_expanded` for a
/// field without one, so the embedded item never takes the place of the id. The generator
/// refuses a spec where the name is also a field's.
pub fn expansion_name(field: &str) -> String {
    match field.strip_suffix("_id") {
        Some(stem) if !stem.is_empty() => stem.to_owned(),
        _ => format!("{field}_expanded"),
    }
}

/// The name of the foreign-key constraint of `table.column`: `fk_<table>_<column>`, shortened
/// with a hash when longer than PostgreSQL's 63-character identifiers, so a violation's
/// constraint name leads back to the column and a migration finds the constraint it made.
pub fn foreign_key_name(table: &str, column: &str) -> String {
    let name = format!("fk_{table}_{column}");
    if name.len() <= 63 {
        return name;
    }
    let mut hasher = StableHasher::default();
    hasher.write(name.as_bytes());
    format!("{}_{:08x}", &name[..54], hasher.finish() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_expand_under_the_field_without_its_id_suffix() {
        assert_eq!(expansion_name("author_id"), "author");
        assert_eq!(expansion_name("parent_shelf_id"), "parent_shelf");
        assert_eq!(expansion_name("owner"), "owner_expanded");
        assert_eq!(expansion_name("_id"), "_id_expanded");
    }

    #[test]
    fn modes_round_trip_through_their_names() {
        for mode in OnDelete::ALL {
            assert_eq!(OnDelete::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(OnDelete::parse("SET NULL"), None);
    }

    #[test]
    fn constraint_names_fit_postgres() {
        assert_eq!(foreign_key_name("loans", "book_id"), "fk_loans_book_id");
        let long = foreign_key_name(&"t".repeat(60), "member_id");
        assert_eq!(long.len(), 63);
        assert_ne!(long, foreign_key_name(&"t".repeat(60), "guarantor_id"));
    }
}
