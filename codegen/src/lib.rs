//! Spec parsing, checking and code generation for entity-spec.
//!
//! The pipeline is spec text → [`spec`] (as written, with positions) → [`check`] (rules) →
//! [`ir`] (the checked model) → generators ([`model`], [`inputs`], [`validate`], [`service`],
//! assembled by [`expand`]) → one `TokenStream`. The proc macro and the CLI both call [`expand_spec`], so
//! they can never disagree about a spec.
#![deny(missing_docs)]

pub mod check;
pub mod contract;
pub mod diagnostics;
pub mod expand;
pub mod generate;
pub mod ir;
pub mod json;
pub mod naming;
pub mod openapi;
pub mod spec;
pub mod suggest;

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
    check_spec(source).map(|ir| expand::render_spec(&ir, &contract::spec_hash(source)))
}

/// The OpenAPI 3.1 document of the service generated for a spec, as pretty JSON: the same
/// document the service serves (compact) at `/openapi.json`.
pub fn openapi_document(source: &str) -> Result<String, SpecErrors> {
    check_spec(source).map(|ir| openapi::openapi_json(&ir, &contract::spec_hash(source)))
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
