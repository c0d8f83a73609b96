//! The domain struct of each entity and its `default_<field>` functions, and the Rust type of
//! each field (`Option`, `Secret`), which the inputs and action bodies reuse.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{ToTokens, format_ident, quote};

use crate::ir::{DefaultValue, EntityIr, FieldIr, FieldType};
use crate::json::{self, Number, ValueKind};

use super::tokens::{doc, ident};

/// The Rust type of a value of this field type, without `Option` or `Secret`.
pub(crate) fn value_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Uuid => quote!(::entity_spec::__private::uuid::Uuid),
        FieldType::String | FieldType::Text => quote!(String),
        FieldType::Integer => quote!(i64),
        FieldType::Float => quote!(f64),
        FieldType::Boolean => quote!(bool),
        FieldType::Enum(enum_ir) => {
            let name = ident(&enum_ir.type_name);
            quote!(#name)
        }
        FieldType::Json => quote!(::entity_spec::__private::serde_json::Value),
        FieldType::DateTime => {
            quote!(::entity_spec::__private::chrono::DateTime<::entity_spec::__private::chrono::Utc>)
        }
        FieldType::Date => quote!(::entity_spec::__private::chrono::NaiveDate),
    }
}

/// The value type, wrapped in `Secret` for sensitive fields.
pub(crate) fn stored_type(field: &FieldIr) -> TokenStream {
    let ty = value_type(&field.ty);
    if field.sensitive { quote!(::entity_spec::Secret<#ty>) } else { ty }
}

/// The type of the field in the entity struct: the stored type, in `Option` when nullable.
pub(crate) fn field_type(field: &FieldIr) -> TokenStream {
    let ty = stored_type(field);
    if field.nullable { quote!(Option<#ty>) } else { ty }
}

/// The doc lines of a field.
pub(crate) fn field_docs(field: &FieldIr) -> TokenStream {
    let mut lines = Vec::new();
    if let Some(description) = &field.description {
        lines.push(description.clone());
    }
    if field.sensitive {
        lines.push("Sensitive: never serialized, and `Debug` prints it redacted.".to_owned());
    }
    doc(lines)
}

/// The name of the function returning a field's default, e.g. `default_refresh_interval`.
pub(crate) fn default_fn_name(field: &FieldIr) -> Ident {
    format_ident!("default_{}", field.name)
}

/// The entity struct: every field, sensitive ones never serialized.
pub(crate) fn render_entity_struct(entity: &EntityIr) -> TokenStream {
    let name = ident(&entity.name);
    let mut docs = vec![entity.description.clone().unwrap_or_else(|| format!("A `{}` entity.", entity.name))];
    docs.push(String::new());
    docs.push(format!("Served at `{}`; stored in table `{}`.", entity.collection_path, entity.table_name));
    if let Some(layer) = &entity.layer {
        docs.push(format!("Layer: {layer}."));
    }
    let fields = entity.fields.iter().map(|field| {
        let field_name = ident(&field.name);
        let ty = field_type(field);
        let field_docs = field_docs(field);
        // Responses must never carry secrets; `default` lets clients deserialize responses.
        // Timestamps use the runtime's serializer: the same text as chrono's, much faster.
        let serde = match (&field.ty, field.sensitive, field.nullable) {
            (_, true, _) => quote!(#[serde(skip_serializing, default)]),
            (FieldType::DateTime, false, false) => {
                quote!(#[serde(serialize_with = "::entity_spec::__private::runtime::serde_helpers::datetime")])
            }
            (FieldType::DateTime, false, true) => {
                quote!(#[serde(serialize_with = "::entity_spec::__private::runtime::serde_helpers::optional_datetime")])
            }
            _ => quote!(),
        };
        quote! {
            #field_docs
            #serde
            pub #field_name: #ty,
        }
    });
    let docs = doc(docs);
    quote! {
        #docs
        #[derive(Clone, Debug, PartialEq, ::entity_spec::__private::serde::Serialize, ::entity_spec::__private::serde::Deserialize)]
        #[serde(crate = "::entity_spec::__private::serde")]
        pub struct #name {
            #(#fields)*
        }
    }
}

/// `impl Entity { pub fn default_<field>() -> T }` for every field with a default; serde's
/// `default = "…"` attributes point at these.
pub(crate) fn render_defaults(entity: &EntityIr) -> TokenStream {
    let name = ident(&entity.name);
    let functions: Vec<TokenStream> = entity
        .fields
        .iter()
        .filter_map(|field| {
            let default = field.default.as_ref()?;
            let fn_name = default_fn_name(field);
            let ty = stored_type(field);
            let value = default_value(field, default);
            let docs = doc([format!("The spec's default for `{}`.", field.name)]);
            Some(quote! {
                #docs
                pub fn #fn_name() -> #ty {
                    #value
                }
            })
        })
        .collect();
    if functions.is_empty() {
        return TokenStream::new();
    }
    quote! {
        impl #name {
            #(#functions)*
        }
    }
}

fn default_value(field: &FieldIr, default: &DefaultValue) -> TokenStream {
    let value = match default {
        DefaultValue::Bool(b) => quote!(#b),
        DefaultValue::Integer(i) => Literal::i64_suffixed(*i).into_token_stream(),
        DefaultValue::Float(f) => Literal::f64_suffixed(*f).into_token_stream(),
        DefaultValue::String(s) => quote!(String::from(#s)),
        DefaultValue::Enum(index) => {
            let FieldType::Enum(enum_ir) = &field.ty else { unreachable!("enum defaults only exist on enum fields") };
            let type_name = ident(&enum_ir.type_name);
            let variant = ident(&enum_ir.values[*index].variant);
            quote!(#type_name::#variant)
        }
        DefaultValue::Json(json) => json_value(json),
    };
    if field.sensitive { quote!(::entity_spec::Secret::new(#value)) } else { value }
}

/// Builds a `serde_json::Value` expression; every string goes through `quote`, which escapes
/// it as a Rust literal, so spec text can never become code.
fn json_value(value: &json::Value) -> TokenStream {
    let json = quote!(::entity_spec::__private::serde_json);
    match &value.kind {
        ValueKind::Null => quote!(#json::Value::Null),
        ValueKind::Bool(b) => quote!(#json::Value::Bool(#b)),
        ValueKind::Number(Number::Int(i)) => {
            let literal = Literal::i64_suffixed(*i);
            quote!(#json::Value::from(#literal))
        }
        ValueKind::Number(Number::Float(f)) => {
            let literal = Literal::f64_suffixed(*f);
            quote!(#json::Value::from(#literal))
        }
        ValueKind::String(s) => quote!(#json::Value::String(String::from(#s))),
        ValueKind::Array(items) => {
            let items = items.iter().map(json_value);
            quote!(#json::Value::Array(vec![#(#items),*]))
        }
        ValueKind::Object(members) => {
            let keys = members.iter().map(|m| m.key.as_str());
            let values = members.iter().map(|m| json_value(&m.value));
            quote!(#json::Value::Object(#json::Map::from_iter([#((String::from(#keys), #values)),*])))
        }
    }
}
