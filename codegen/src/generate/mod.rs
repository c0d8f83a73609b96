//! Code generation, one file per output. Each reads the checked IR and returns tokens;
//! `expand.rs` puts them together per entity and for the whole spec.
//!
//! - `model.rs`: the entity struct, its defaults, and the Rust type of each field.
//! - `enums.rs`: all of an `enum` field's code: the Rust enum, its conversions, its SQL side.
//! - `inputs.rs`: the `…Create` and `…Update` inputs and how they become the entity.
//! - `validators.rs`: `validate_<field>` functions and `validate()` on the inputs.
//! - `entity_def.rs`: `impl Entity`: the static `EntityDef` the runtime reads, row conversions.
//! - `actions.rs`: action bodies, the `{Entity}Actions` trait, the run handler, action routes.
//! - `router.rs`: `router`, `migrate` and the `SPEC_*`, `OPENAPI_JSON`, `WORKBENCH_JSON` constants.
//! - `workbench.rs`: the JSON the workbench page reads at `/ui/workbench.json`.
//! - `tokens.rs`: identifiers, doc lines and the runtime path, used by all of the above.
//! - `conformance.rs`: the test suite `conformance_tests!` expands to, with `samples.rs` (the
//!   valid, boundary and pattern values it sends, derived from each field's constraints).
//!
//! Imports go one way: every file uses `tokens`; `inputs` and `actions` use `model`'s field
//! types; `actions` uses `enums`, `validators` and `entity_def`; `router` uses `actions` and
//! `workbench`; `conformance` uses `actions` and `samples`. Nothing here imports `router` or
//! `conformance`.

pub(crate) mod actions;
pub(crate) mod conformance;
pub(crate) mod entity_def;
pub(crate) mod enums;
pub(crate) mod inputs;
pub(crate) mod model;
pub(crate) mod router;
pub(crate) mod samples;
pub(crate) mod tokens;
pub(crate) mod validators;
pub(crate) mod workbench;
