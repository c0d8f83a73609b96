//! Input types: what a client sends to create (`…Create`) and to replace (`…Update`) an
//! entity, and how they turn into the stored entity.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::{EntityIr, FieldIr, Setter};

use super::model::{default_fn_name, field_docs, field_type, stored_type};
use super::tokens::{doc, ident};

const SERDE_CRATE: &str = "::entity_spec::__private::serde";

/// The create input, its `new` constructor and `into_entity`.
pub(crate) fn render_create(entity: &EntityIr) -> TokenStream {
    let entity_name = ident(&entity.name);
    let name = ident(&entity.create_type_name());
    let type_docs = doc([format!(
        "Input for creating a [`{0}`]: the fields a client sets. Omitted optional fields take the spec's default or `None`.",
        entity.name
    )]);
    let fields = entity.input_fields().map(|field| {
        let field_name = ident(&field.name);
        let ty = field_type(field);
        let docs = field_docs(field);
        let serde = serde_default(entity, field);
        quote! {
            #docs
            #serde
            pub #field_name: #ty,
        }
    });

    let required: Vec<&FieldIr> = entity.input_fields().filter(|f| f.required).collect();
    let params = required.iter().map(|field| {
        let field_name = ident(&field.name);
        let ty = stored_type(field);
        quote!(#field_name: impl ::std::convert::Into<#ty>)
    });
    let initializers = entity.input_fields().map(|field| {
        let field_name = ident(&field.name);
        if field.required {
            quote!(#field_name: #field_name.into())
        } else if field.default.is_some() {
            let default_fn = default_fn_name(field);
            quote!(#field_name: #entity_name::#default_fn())
        } else {
            quote!(#field_name: None)
        }
    });
    let new_doc = doc([format!(
        "A create input with the required fields; every other field takes the spec's default or `None`.{}",
        if required.is_empty() { "" } else { " Arguments are the required fields in spec order." }
    )]);
    let too_many = (required.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));

    let entity_values = entity.fields.iter().map(|field| {
        let field_name = ident(&field.name);
        let value = match field.setter {
            Setter::Client => quote!(self.#field_name),
            // `id` is the parameter's name: write the shorthand a person would.
            Setter::PrimaryKey if field.name == "id" => return quote!(id),
            Setter::PrimaryKey => quote!(id),
            Setter::AutoNowAdd | Setter::AutoNow => quote!(now),
            Setter::ReadOnly if field.default.is_some() => {
                let default_fn = default_fn_name(field);
                quote!(#entity_name::#default_fn())
            }
            Setter::ReadOnly => quote!(None),
        };
        quote!(#field_name: #value)
    });
    let primary_key_type = stored_type(entity.primary_key());
    let stamps_time = entity.fields.iter().any(|f| matches!(f.setter, Setter::AutoNow | Setter::AutoNowAdd));
    let into_entity_allow = (!stamps_time).then(|| quote!(#[allow(unused_variables)]));
    let into_entity_doc = doc([format!(
        "Builds the [`{}`] to store: the given id, server timestamps set to `now`, server-owned fields at their defaults.",
        entity.name
    )]);
    quote! {
        #type_docs
        #[derive(Clone, Debug, PartialEq, ::entity_spec::__private::serde::Deserialize)]
        #[serde(crate = #SERDE_CRATE, deny_unknown_fields)]
        pub struct #name {
            #(#fields)*
        }

        impl #name {
            #new_doc
            #too_many
            pub fn new(#(#params),*) -> Self {
                Self {
                    #(#initializers,)*
                }
            }

            #into_entity_doc
            #into_entity_allow
            pub fn into_entity(
                self,
                id: #primary_key_type,
                now: ::entity_spec::__private::chrono::DateTime<::entity_spec::__private::chrono::Utc>,
            ) -> #entity_name {
                #entity_name {
                    #(#entity_values,)*
                }
            }
        }
    }
}

/// The update (PUT) input and `Entity::apply_update`.
pub(crate) fn render_update(entity: &EntityIr) -> TokenStream {
    let entity_name = ident(&entity.name);
    let name = ident(&entity.update_type_name());
    let type_docs = doc([format!(
        "Input for replacing a [`{0}`] (PUT): the same fields as [`{1}`]; omitted optional fields are reset to their default or `None`, except sensitive fields, which keep the stored value when omitted.",
        entity.name,
        entity.create_type_name()
    )]);
    let fields = entity.input_fields().map(|field| {
        let field_name = ident(&field.name);
        let docs = field_docs(field);
        if field.sensitive {
            // `Option` around the field's own type: absent keeps the stored value, `null`
            // (for nullable fields) clears it.
            let ty = field_type(field);
            quote! {
                #docs
                #[serde(default, deserialize_with = "::entity_spec::__private::runtime::serde_helpers::present")]
                pub #field_name: Option<#ty>,
            }
        } else {
            let ty = field_type(field);
            let serde = serde_default(entity, field);
            quote! {
                #docs
                #serde
                pub #field_name: #ty,
            }
        }
    });
    let assignments = entity.fields.iter().filter_map(|field| {
        let field_name = ident(&field.name);
        match field.setter {
            Setter::Client if field.sensitive => Some(quote! {
                if let Some(value) = update.#field_name {
                    self.#field_name = value;
                }
            }),
            Setter::Client => Some(quote!(self.#field_name = update.#field_name;)),
            Setter::AutoNow => Some(quote!(self.#field_name = now;)),
            Setter::PrimaryKey | Setter::AutoNowAdd | Setter::ReadOnly => None,
        }
    });
    let uses_all_params =
        entity.fields.iter().any(|f| f.setter == Setter::AutoNow) && entity.input_fields().next().is_some();
    let apply_allow = (!uses_all_params).then(|| quote!(#[allow(unused_variables)]));
    let apply_doc = doc([format!(
        "Applies a full update: every client field is replaced (sensitive ones only when given), `auto_now` timestamps are set to `now`; the id, `auto_now_add` and read-only fields are kept. Validate the [`{}`] first.",
        entity.update_type_name()
    )]);
    quote! {
        #type_docs
        #[derive(Clone, Debug, PartialEq, ::entity_spec::__private::serde::Deserialize)]
        #[serde(crate = #SERDE_CRATE, deny_unknown_fields)]
        pub struct #name {
            #(#fields)*
        }

        impl #entity_name {
            #apply_doc
            #apply_allow
            pub fn apply_update(
                &mut self,
                update: #name,
                now: ::entity_spec::__private::chrono::DateTime<::entity_spec::__private::chrono::Utc>,
            ) {
                #(#assignments)*
            }
        }
    }
}

/// `#[serde(default = "Entity::default_<field>")]` for fields with a spec default: omitted
/// means "the default", not "missing".
fn serde_default(entity: &EntityIr, field: &FieldIr) -> TokenStream {
    if field.default.is_none() {
        return TokenStream::new();
    }
    let path = format!("{}::{}", entity.name, default_fn_name(field));
    quote!(#[serde(default = #path)])
}
