//! Spec parsing, checking and code generation for entity-spec.
//!
//! The proc macro and the CLI both call these entry points, so they can never disagree about
//! a spec. The pipeline, one phase per file or folder:
//!
//! 1. **Read**: `json.rs` parses the text into a tree that keeps every value's line and
//!    column; `spec.rs` reads that tree as a spec *as written* (known keys, JSON types).
//! 2. **Check**: `check/` applies the rules, one file per family as in `tests/ui/<family>/`,
//!    and lowers the spec into [`ir`], the checked model. Every problem is collected in
//!    `diagnostics.rs` ([`SpecError`], [`SpecErrors`]) before anything stops.
//! 3. **Generate**: `generate/` turns the IR into tokens, one file per output (model, enums,
//!    inputs, validators, entity_def, actions, router, workbench); `expand.rs` assembles them,
//!    or the stubs shown next to spec errors. `openapi/` builds the OpenAPI document that the
//!    router embeds and `entity-spec openapi` prints.
//!
//! Shared by the phases: `naming.rs` (identifier rules, case conversions). The rules codegen
//! and the runtime must apply alike (the route table, reserved paths, limits, which fields are
//! sortable, filterable and grouped, run states, suggestions, the spec hash) come from the
//! `entity-spec-contract` crate.
#![deny(missing_docs)]

mod check;
mod diagnostics;
mod expand;
mod generate;
pub mod ir;
pub mod json;
mod naming;
mod openapi;
mod spec;

pub use diagnostics::{SpecError, SpecErrors};
pub use ir::SpecIr;

use proc_macro2::TokenStream;

/// Reads and checks a spec, returning the checked model or every problem found.
pub fn check_spec(source: &str) -> Result<SpecIr, SpecErrors> {
    let mut diagnostics = diagnostics::Diagnostics::default();
    let ir = match spec::read(source, &mut diagnostics) {
        Some(doc) => check::check(&doc, &mut diagnostics),
        None => SpecIr::default(),
    };
    diagnostics.finish(ir)
}

/// Checks a spec and generates every item for it (what the macro puts in the module).
pub fn expand_spec(source: &str) -> Result<TokenStream, SpecErrors> {
    check_spec(source).map(|ir| expand::render_spec(&ir, &entity_spec_contract::hash::stable_hash_hex(source)))
}

/// Generates every item for a spec that passed [`check_spec`], with `spec_hash` as its
/// `SPEC_HASH`: [`expand_spec`] without the reading and checking, for measuring generation on
/// its own.
pub fn expand_checked(spec: &SpecIr, spec_hash: &str) -> TokenStream {
    expand::render_spec(spec, spec_hash)
}

/// The OpenAPI 3.1 document of the service generated for a spec, as pretty JSON: the same
/// document the service serves (compact) at `/openapi.json`.
pub fn openapi_document(source: &str) -> Result<String, SpecErrors> {
    check_spec(source).map(|ir| openapi::openapi_json(&ir, &entity_spec_contract::hash::stable_hash_hex(source)))
}

/// The conformance suite of a spec (`conformance_tests!`): the service generated from it with
/// stand-ins for its actions, and one `#[test]` per promise of the spec. `spec_path` is the
/// path as the user wrote it (the argument of the macro and the prefix of every message).
pub fn expand_conformance(source: &str, spec_path: &str) -> Result<TokenStream, SpecErrors> {
    check_spec(source).map(|ir| generate::conformance::render_conformance(&ir, spec_path))
}

/// Placeholder items for a spec that failed its checks: a unit struct per well-named entity,
/// so the user sees the spec errors rather than a cascade of "cannot find type".
pub fn stub_items(source: &str) -> TokenStream {
    expand::render_stubs(source)
}

/// Formats generated items as readable Rust (for snapshots, `ENTITY_SPEC_DEBUG` and the CLI).
pub fn pretty_print(tokens: &TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        // Unreachable for checked specs; fall back to the raw tokens rather than hide them.
        Err(_) => tokens.to_string(),
    }
}
