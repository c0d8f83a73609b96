//! The generated conformance suite of the multi-entity catalog spec.

entity_spec::conformance_tests!("tests/specs/catalog.json");
