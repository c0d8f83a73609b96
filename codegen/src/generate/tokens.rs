//! Token helpers every generator uses: identifiers from checked names, `///` doc lines, and the
//! path through which generated code reaches the runtime.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// An identifier from a checked name (the checks guarantee it is a valid, non-keyword
/// identifier).
pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// `///` doc lines. Each line gets the leading space a hand-written `/// text` has, so
/// rustdoc and the pretty-printed snapshots read naturally; multi-line text keeps its lines.
pub(crate) fn doc<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> TokenStream {
    let lines = lines.into_iter().flat_map(|text| {
        let text = text.as_ref();
        if text.is_empty() { vec![String::new()] } else { text.lines().map(|line| format!(" {line}")).collect() }
    });
    quote!(#(#[doc = #lines])*)
}

/// The runtime, through the facade's hidden re-export, so users depend on `entity-spec` alone.
pub(crate) fn runtime() -> TokenStream {
    quote!(::entity_spec::__private::runtime)
}
