//! Validators: one `validate_<field>` function per constrained field on the entity, and
//! `validate()` on the inputs that runs them all and returns every violation.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::ir::{EntityIr, FieldIr, FieldType};
use crate::json::Number;

use super::tokens::{doc, ident};

/// `impl Entity { pub fn validate_<field>(…) }` for every client field with a rule, plus
/// `validate()` and `Validate` for the create and update inputs.
pub(crate) fn render_validators(entity: &EntityIr) -> TokenStream {
    let entity_name = ident(&entity.name);
    let field_validators: Vec<TokenStream> = entity.input_fields().filter_map(render_field_validator).collect();
    let field_validators = if field_validators.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            impl #entity_name {
                #(#field_validators)*
            }
        }
    };
    let create = render_input_validate(entity, &entity.create_type_name(), false);
    let update = render_input_validate(entity, &entity.update_type_name(), true);
    quote! {
        #field_validators
        #create
        #update
    }
}

/// The statements that check one value of `field`, held in `value`, or `None` when the field
/// has no rule.
pub(crate) fn field_checks(field: &FieldIr) -> Vec<TokenStream> {
    let name = field.name.as_str();
    let check = quote!(::entity_spec::__private::runtime::check);
    let mut checks = Vec::new();
    let constraints = &field.constraints;
    if field.required && field.ty.is_textual() {
        checks.push(quote!(#check::not_blank(errors, #name, value);));
    }
    if let Some(min) = constraints.min_length {
        checks.push(quote!(#check::min_length(errors, #name, value, #min);));
    }
    if let Some(max) = constraints.max_length {
        checks.push(quote!(#check::max_length(errors, #name, value, #max);));
    }
    if let Some(pattern) = &constraints.pattern {
        // The spec's pattern is JSON Schema's dialect; the regex crate reads the translation.
        let spelled = pattern;
        let pattern = entity_spec_contract::patterns::ecma_to_rust(pattern);
        checks.push(quote! {
            static PATTERN: ::std::sync::LazyLock<::entity_spec::__private::regex::Regex> = ::std::sync::LazyLock::new(|| {
                ::entity_spec::__private::regex::Regex::new(#pattern).expect("entity-spec checked this pattern when it compiled the spec")
            });
            #check::pattern(errors, #name, value, &PATTERN, #spelled);
        });
    }
    // `serde_json::Value` accepts `null`; a non-nullable JSON field must not.
    if field.ty == FieldType::Json && !field.nullable {
        checks.push(quote!(#check::json_not_null(errors, #name, value);));
    }
    if field.ty == FieldType::Float {
        checks.push(quote!(#check::finite(errors, #name, value);));
    }
    for (bound, function) in [(constraints.min, quote!(min)), (constraints.max, quote!(max))] {
        if let Some(bound) = bound {
            let literal = match (&field.ty, bound) {
                (FieldType::Integer, Number::Int(i)) => Literal::i64_suffixed(i),
                (_, number) => Literal::f64_suffixed(number.as_f64()),
            };
            checks.push(quote!(#check::#function(errors, #name, value, #literal);));
        }
    }
    checks
}

fn validator_name(field: &FieldIr) -> proc_macro2::Ident {
    format_ident!("validate_{}", field.name)
}

fn render_field_validator(field: &FieldIr) -> Option<TokenStream> {
    let checks = field_checks(field);
    if checks.is_empty() {
        return None;
    }
    let fn_name = validator_name(field);
    let value_type = match field.ty {
        FieldType::Integer => quote!(i64),
        FieldType::Float => quote!(f64),
        FieldType::Json => quote!(&::entity_spec::__private::serde_json::Value),
        _ => quote!(&str),
    };
    let docs = doc([format!(
        "Checks one value of `{}` against the spec's rules, adding every violation to `errors`.",
        field.name
    )]);
    Some(quote! {
        #docs
        pub fn #fn_name(errors: &mut ::entity_spec::ValidationErrors, value: #value_type) {
            #(#checks)*
        }
    })
}

fn render_input_validate(entity: &EntityIr, type_name: &str, is_update: bool) -> TokenStream {
    let entity_name = ident(&entity.name);
    let name = ident(type_name);
    let calls: Vec<TokenStream> = entity
        .input_fields()
        .filter(|field| !field_checks(field).is_empty())
        .map(|field| {
            let field_name = ident(&field.name);
            let fn_name = validator_name(field);
            let by_value = matches!(field.ty, FieldType::Integer | FieldType::Float);
            // Update inputs wrap sensitive fields in one more `Option` (absent = keep).
            let optional_layers = usize::from(field.nullable) + usize::from(is_update && field.sensitive);
            if optional_layers == 0 {
                let value = match (by_value, field.sensitive) {
                    (true, _) => quote!(self.#field_name),
                    (false, true) => quote!(self.#field_name.expose()),
                    (false, false) => quote!(&self.#field_name),
                };
                return quote!(#entity_name::#fn_name(&mut errors, #value););
            }
            // Here `value` is a reference into `self`.
            let value = match (by_value, field.sensitive) {
                (true, _) => quote!(*value),
                (false, true) => quote!(value.expose()),
                (false, false) => quote!(value),
            };
            let pattern = if optional_layers == 1 { quote!(Some(value)) } else { quote!(Some(Some(value))) };
            quote! {
                if let #pattern = &self.#field_name {
                    #entity_name::#fn_name(&mut errors, #value);
                }
            }
        })
        .collect();
    let body = if calls.is_empty() {
        quote!(Ok(()))
    } else {
        quote! {
            let mut errors = ::entity_spec::ValidationErrors::new();
            #(#calls)*
            errors.into_result()
        }
    };
    quote! {
        impl #name {
            /// Checks every rule from the spec and returns every violation, not just the first.
            pub fn validate(&self) -> Result<(), ::entity_spec::ValidationErrors> {
                #body
            }
        }

        impl ::entity_spec::Validate for #name {
            fn validate(&self) -> Result<(), ::entity_spec::ValidationErrors> {
                #name::validate(self)
            }
        }
    }
}
