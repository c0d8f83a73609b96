//! The checked-in expansion snapshots (`tests/expand/`) are real Rust that compiles against
//! the facade crate, not just text.

// Only a few generated items are used below; the point is that all of them compile.
#[allow(dead_code)]
mod entities {
    include!("expand/entities.rs");
}

#[allow(dead_code)]
mod catalog {
    include!("expand/catalog.rs");
}

#[allow(dead_code)]
mod library {
    include!("expand/library.rs");
}

#[test]
fn snapshot_types_are_usable() {
    let input = entities::RawDataSourceCreate::new("warehouse", "postgres://localhost/warehouse");
    assert!(input.validate().is_ok());
    assert_eq!(catalog::ProductStatus::NAMES, ["draft", "in_review", "active", "archived"]);
}
