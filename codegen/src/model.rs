//! Domain types: the entity struct, one enum per `enum` field, and the spec's defaults.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, format_ident, quote};

use crate::ir::{DefaultValue, EntityIr, EnumIr, FieldIr, FieldType};
use crate::json::{self, Number, ValueKind};

/// An identifier from a checked name (the checks guarantee it is a valid, non-keyword
/// identifier).
pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

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

/// `///` doc lines. Each line gets the leading space a hand-written `/// text` has, so
/// rustdoc and the pretty-printed snapshots read naturally; multi-line text keeps its lines.
pub(crate) fn doc<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> TokenStream {
    let lines = lines.into_iter().flat_map(|text| {
        let text = text.as_ref();
        if text.is_empty() { vec![String::new()] } else { text.lines().map(|line| format!(" {line}")).collect() }
    });
    quote!(#(#[doc = #lines])*)
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

/// The generated enum for an `enum` field.
pub fn render_enum(enum_ir: &EnumIr, field: &FieldIr) -> TokenStream {
    let name = ident(&enum_ir.type_name);
    let docs = doc([match &field.description {
        Some(description) => description.clone(),
        None => format!("Values of the `{}` field.", field.name),
    }]);
    let variant_docs = enum_ir.values.iter().map(|v| doc([format!("`{}`", v.value)]));
    let variants: Vec<Ident> = enum_ir.values.iter().map(|v| ident(&v.variant)).collect();
    let values: Vec<&str> = enum_ir.values.iter().map(|v| v.value.as_str()).collect();
    quote! {
        #docs
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::entity_spec::__private::serde::Serialize, ::entity_spec::__private::serde::Deserialize)]
        #[serde(crate = "::entity_spec::__private::serde")]
        pub enum #name {
            #(
                #variant_docs
                #[serde(rename = #values)]
                #variants,
            )*
        }

        impl #name {
            /// Every value, in spec order.
            pub const ALL: &'static [Self] = &[#(Self::#variants),*];
            /// Every value's wire name, in spec order.
            pub const NAMES: &'static [&'static str] = &[#(#values),*];

            /// The wire name, as in JSON and in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    #(Self::#variants => #values,)*
                }
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for #name {
            type Err = ::entity_spec::UnknownVariant;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    #(#values => Ok(Self::#variants),)*
                    _ => Err(::entity_spec::UnknownVariant { value: value.to_owned(), expected: Self::NAMES }),
                }
            }
        }
    }
}

/// The entity struct: every field, sensitive ones never serialized.
pub fn render_entity_struct(entity: &EntityIr) -> TokenStream {
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
pub fn render_defaults(entity: &EntityIr) -> TokenStream {
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
