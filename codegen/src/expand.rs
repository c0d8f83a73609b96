//! Assembles the generated items for a whole spec, entity by entity, from the generators in
//! `generate/`; or, for a spec that failed its checks, the stubs that stand in for them.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use crate::generate::actions::{render_action_types, render_actions_trait};
use crate::generate::entity_def::render_entity_impl;
use crate::generate::enums::{render_enum, render_enum_sql};
use crate::generate::inputs::{render_create, render_update};
use crate::generate::model::{render_defaults, render_entity_struct};
use crate::generate::router::render_service;
use crate::generate::tokens::ident;
use crate::generate::validators::render_validators;
use crate::ir::{EntityIr, FieldType, SpecIr};
use crate::naming;

/// Every item generated for `spec`, in spec order: for each entity its enums, struct,
/// defaults, inputs, validators and `Entity` impl; then the service functions.
pub(crate) fn render_spec(spec: &SpecIr, spec_hash: &str) -> TokenStream {
    let entities = spec.entities.iter().map(|entity| render_entity(spec, entity));
    let service = render_service(spec, spec_hash);
    quote! {
        #(#entities)*
        #service
    }
}

fn render_entity(spec: &SpecIr, entity: &EntityIr) -> TokenStream {
    let enums = entity.fields.iter().filter_map(|field| match &field.ty {
        FieldType::Enum(enum_ir) => {
            let rust = render_enum(enum_ir, field);
            let sql = render_enum_sql(enum_ir);
            Some(quote!(#rust #sql))
        }
        _ => None,
    });
    let entity_struct = render_entity_struct(entity);
    let defaults = render_defaults(entity);
    let create = render_create(entity);
    let update = render_update(entity);
    let validators = render_validators(entity);
    let entity_impl = render_entity_impl(spec, entity);
    let action_types = render_action_types(entity);
    let actions_trait = render_actions_trait(entity);
    quote! {
        #(#enums)*
        #entity_struct
        #defaults
        #create
        #update
        #validators
        #entity_impl
        #action_types
        #actions_trait
    }
}

/// A unit struct (and its input types) per entity whose name is a valid type name, each name
/// once: the placeholders must never add errors of their own.
pub(crate) fn render_stubs(source: &str) -> TokenStream {
    let mut diagnostics = crate::diagnostics::Diagnostics::default();
    let Some(doc) = crate::spec::read(source, &mut diagnostics) else { return TokenStream::new() };
    let valid_names =
        doc.entities.iter().filter_map(|entity| entity.name.as_ref()).map(|name| name.value.as_str()).filter(|name| {
            naming::is_pascal_case(name) && !naming::is_rust_keyword(name) && !naming::is_prelude_name(name)
        });
    let stub_names: BTreeSet<String> =
        valid_names.flat_map(|name| [name.to_owned(), format!("{name}Create"), format!("{name}Update")]).collect();
    let stubs = stub_names.iter().map(|name| ident(name));
    quote!(#(pub struct #stubs;)*)
}
