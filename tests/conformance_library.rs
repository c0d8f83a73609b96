//! The generated conformance suite of a spec nobody tuned the generator to
//! (`tests/specs/library.json`: every field type, patterns with classes, quantifiers and
//! anchors, a nested collection path, sensitive, read-only and unique fields, a composite
//! unique index, an action with a request and an enum in its response).

entity_spec::conformance_tests!("tests/specs/library.json");
