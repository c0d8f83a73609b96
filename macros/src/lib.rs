//! The `#[entity_spec("…")]` attribute: reads the spec file, hands it to
//! `entity-spec-codegen`, and turns spec errors into `compile_error!`s. No logic lives here.

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ItemMod, LitStr};

/// Generates the types of every entity in a spec file into the annotated module.
///
/// ```ignore
/// #[entity_spec::entity_spec("specs/entities.json")]
/// pub mod model {}
/// ```
///
/// The path is relative to the crate's `CARGO_MANIFEST_DIR` (test harnesses that compile
/// code elsewhere, such as trybuild, can set `ENTITY_SPEC_MANIFEST_DIR` instead). Items
/// written inside the module are kept. `ENTITY_SPEC_DEBUG=1` prints the expansion.
#[proc_macro_attribute]
pub fn entity_spec(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let path = syn::parse_macro_input!(attr as LitStr);
    let module = syn::parse_macro_input!(item as ItemMod);
    expand(&path, module).unwrap_or_else(syn::Error::into_compile_error).into()
}

fn expand(path: &LitStr, module: ItemMod) -> syn::Result<TokenStream> {
    let Some((_, user_items)) = &module.content else {
        return Err(syn::Error::new_spanned(&module, "#[entity_spec] needs an inline module: `pub mod model {}`"));
    };
    let spec_path = manifest_dir().join(path.value());
    let source = std::fs::read_to_string(&spec_path)
        .map_err(|e| syn::Error::new(path.span(), format!("cannot read spec file `{}`: {e}", path.value())))?;
    // Cargo rebuilds the crate when an `include_bytes!`'d file changes (tracked_path is unstable).
    let absolute = spec_path.canonicalize().unwrap_or(spec_path).display().to_string();
    let generated = match entity_spec_codegen::expand_spec(&source) {
        Ok(items) => {
            if std::env::var_os("ENTITY_SPEC_DEBUG").is_some_and(|v| v != "0") {
                eprintln!("{}", entity_spec_codegen::pretty_print(&items));
            }
            items
        }
        Err(errors) => {
            let messages = errors.errors.iter().map(|e| e.render(&path.value()));
            let stubs = entity_spec_codegen::stub_items(&source);
            quote::quote_spanned!(path.span()=> #(::core::compile_error!(#messages);)* #stubs)
        }
    };
    let ItemMod { attrs, vis, ident, .. } = &module;
    Ok(quote! {
        #(#attrs)*
        #vis mod #ident {
            const _: &[u8] = include_bytes!(#absolute);
            #generated
            #(#user_items)*
        }
    })
}

/// Generates the conformance suite of a spec: ordinary `#[test]`s derived from its entities,
/// fields, constraints, indexes and actions, run against the service generated from the same
/// spec (with a recording stand-in for the actions), on a fresh database per test.
///
/// ```ignore
/// // tests/conformance.rs; needs `entity-spec = { …, features = ["testing"] }` in
/// // [dev-dependencies]
/// entity_spec::conformance_tests!("specs/entities.json");
/// ```
///
/// Tests are named `{entity}::{field}::{promise}` (e.g.
/// `raw_data_source::name::rejects_101_characters`); `cargo test raw_data_source::` runs one
/// entity's. They run on SQLite, and on PostgreSQL too when `ENTITY_SPEC_TEST_POSTGRES_URL`
/// names a server to create test databases on.
#[proc_macro]
pub fn conformance_tests(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let path = syn::parse_macro_input!(input as LitStr);
    expand_conformance(&path).unwrap_or_else(syn::Error::into_compile_error).into()
}

fn expand_conformance(path: &LitStr) -> syn::Result<TokenStream> {
    let spec_path = manifest_dir().join(path.value());
    let source = std::fs::read_to_string(&spec_path)
        .map_err(|e| syn::Error::new(path.span(), format!("cannot read spec file `{}`: {e}", path.value())))?;
    let absolute = spec_path.canonicalize().unwrap_or(spec_path).display().to_string();
    match entity_spec_codegen::expand_conformance(&source, &path.value()) {
        Ok(items) => Ok(quote! {
            const _: &[u8] = include_bytes!(#absolute);
            #items
        }),
        Err(errors) => {
            let messages = errors.errors.iter().map(|e| e.render(&path.value()));
            Ok(quote::quote_spanned!(path.span()=> #(::core::compile_error!(#messages);)*))
        }
    }
}

fn manifest_dir() -> PathBuf {
    let dir = std::env::var_os("ENTITY_SPEC_MANIFEST_DIR").or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"));
    dir.map_or_else(|| Path::new(".").to_path_buf(), PathBuf::from)
}
