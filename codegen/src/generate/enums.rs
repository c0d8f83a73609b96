//! Everything generated for an `enum` field, in one place: the Rust enum with its serde names,
//! `ALL`, `NAMES`, `as_str`, `Display` and `FromStr`, and its SQL conversions (stored by wire
//! name). Enums of action bodies get the Rust side only; they are never stored.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ir::{EnumIr, FieldIr};

use super::tokens::{doc, ident, runtime};

/// The generated enum for an `enum` field.
pub(crate) fn render_enum(enum_ir: &EnumIr, field: &FieldIr) -> TokenStream {
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

/// `ToSqlValue` and `Column` for a generated enum: stored by wire name.
pub(crate) fn render_enum_sql(enum_ir: &EnumIr) -> TokenStream {
    let rt = runtime();
    let name = ident(&enum_ir.type_name);
    quote! {
        impl #rt::value::ToSqlValue for #name {
            const SQL_TYPE: #rt::value::SqlType = #rt::value::SqlType::Text;
            fn to_sql_value(&self) -> #rt::value::SqlValue {
                #rt::value::SqlValue::Text(self.as_str().to_owned())
            }
        }

        impl #rt::column::Column for #name {
            fn read_sqlite(row: &#rt::column::SqliteRow, index: usize) -> Result<Self, #rt::column::ColumnError> {
                #rt::column::read_sqlite_enum(row, index)
            }
            fn read_postgres(row: &#rt::column::PgRow, index: usize) -> Result<Self, #rt::column::ColumnError> {
                #rt::column::read_postgres_enum(row, index)
            }
            fn bind_sqlite(&self, args: &mut #rt::column::SqliteArguments) -> Result<(), #rt::column::BindError> {
                #rt::column::bind_sqlite_enum(self.as_str(), args)
            }
            fn bind_postgres(&self, args: &mut #rt::column::PgArguments) -> Result<(), #rt::column::BindError> {
                #rt::column::bind_postgres_enum(self.as_str(), args)
            }
            fn bind_postgres_null(args: &mut #rt::column::PgArguments) -> Result<(), #rt::column::BindError> {
                #rt::column::bind_postgres_null_enum(args)
            }
        }
    }
}
