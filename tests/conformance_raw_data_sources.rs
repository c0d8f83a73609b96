//! The generated conformance suite of the reference spec: what `entity-spec init` scaffolds
//! and users add with one line, run here on both databases (the full test run sets
//! `ENTITY_SPEC_TEST_POSTGRES_URL`).

entity_spec::conformance_tests!("specs/entities.json");
