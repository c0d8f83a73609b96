//! The conformance suite generated from the spec: a test per promise of every entity (each
//! constraint at its boundaries, unique fields, sensitive fields, filters, sorts, paging,
//! preconditions, actions), on a fresh SQLite database per test, and on PostgreSQL too when
//! ENTITY_SPEC_TEST_POSTGRES_URL names a server. It follows the spec by itself; write your own
//! tests beside it (tests/api.rs is an example).

entity_spec::conformance_tests!("specs/entities.json");
