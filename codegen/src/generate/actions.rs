//! Custom actions: their request and response types, the `{Entity}Actions` trait the service
//! implements (one method per action, so a missing one is a compile error naming it), the
//! adapter through which the run engine calls tracked actions, and their routes.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::ir::{ActionIr, ActionKind, ActionScope, EntityIr, FieldIr, FieldType};

use super::entity_def::render_field_def;
use super::enums::render_enum;
use super::model::{field_docs, field_type};
use super::tokens::{doc, ident, runtime};
use super::validators::field_checks;

/// The trait an entity's actions are implemented through, e.g. `RawDataSourceActions`.
pub(crate) fn trait_name(entity: &EntityIr) -> Ident {
    format_ident!("{}Actions", entity.name)
}

/// Whether the entity needs an implementation (it has a tracked or a plain action).
pub(crate) fn needs_implementation(entity: &EntityIr) -> bool {
    entity.actions.iter().any(|a| !matches!(a.kind, ActionKind::RunsAll { .. }))
}

fn request_name(entity: &EntityIr, action: &ActionIr) -> Ident {
    format_ident!("{}{}Request", entity.name, action.pascal_name())
}

fn response_name(entity: &EntityIr, action: &ActionIr) -> Ident {
    format_ident!("{}{}Response", entity.name, action.pascal_name())
}

/// The request type of a plain action: its generated struct, or `()` without a body.
fn request_type(entity: &EntityIr, action: &ActionIr) -> TokenStream {
    match &action.request {
        Some(_) => {
            let name = request_name(entity, action);
            quote!(#name)
        }
        None => quote!(()),
    }
}

/// The response type of a plain action: its generated struct, or any JSON value.
fn response_type(entity: &EntityIr, action: &ActionIr) -> TokenStream {
    match &action.response {
        Some(_) => {
            let name = response_name(entity, action);
            quote!(#name)
        }
        None => quote!(::entity_spec::__private::serde_json::Value),
    }
}

/// Request and response structs (and their enums) of every action of `entity`.
pub(crate) fn render_action_types(entity: &EntityIr) -> TokenStream {
    let mut items = Vec::new();
    for action in &entity.actions {
        if let Some(fields) = &action.request {
            items.push(render_body_struct(&request_name(entity, action), fields, BodyRole::Request, action));
        }
        if let Some(fields) = &action.response {
            items.push(render_body_struct(&response_name(entity, action), fields, BodyRole::Response, action));
        }
    }
    quote!(#(#items)*)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyRole {
    Request,
    Response,
}

fn render_body_struct(name: &Ident, fields: &[FieldIr], role: BodyRole, action: &ActionIr) -> TokenStream {
    let enums = fields.iter().filter_map(|field| match &field.ty {
        FieldType::Enum(enum_ir) => Some(render_enum(enum_ir, field)),
        _ => None,
    });
    let members = fields.iter().map(|field| {
        let field_name = ident(&field.name);
        let ty = field_type(field);
        let docs = field_docs(field);
        quote! {
            #docs
            pub #field_name: #ty,
        }
    });
    let (what, derives) = match role {
        BodyRole::Request => ("Request body", quote!(::entity_spec::__private::serde::Deserialize)),
        BodyRole::Response => ("Response body", quote!(::entity_spec::__private::serde::Serialize)),
    };
    let docs = doc([format!("{what} of the `{}` action.", action.name)]);
    let extra = match role {
        BodyRole::Request => render_request_support(name, fields),
        BodyRole::Response => TokenStream::new(),
    };
    let serde = match role {
        BodyRole::Request => quote!(#[serde(crate = "::entity_spec::__private::serde", deny_unknown_fields)]),
        BodyRole::Response => quote!(#[serde(crate = "::entity_spec::__private::serde")]),
    };
    quote! {
        #(#enums)*
        #docs
        #[derive(Clone, Debug, PartialEq, #derives)]
        #serde
        pub struct #name {
            #(#members)*
        }
        #extra
    }
}

/// The static description the body parser checks a request against, and its validator.
fn render_request_support(name: &Ident, fields: &[FieldIr]) -> TokenStream {
    let rt = runtime();
    let type_name = name.to_string();
    let defs = fields.iter().map(|field| render_field_def(field, quote!(None)));
    let checks = fields.iter().filter_map(|field| {
        let statements = field_checks(field);
        if statements.is_empty() {
            return None;
        }
        let field_name = ident(&field.name);
        let binding = match field.ty {
            FieldType::Integer | FieldType::Float => quote!(let value = *value;),
            FieldType::Json => quote!(),
            _ => quote!(let value: &str = value;),
        };
        Some(if field.nullable {
            quote! {
                if let Some(value) = &self.#field_name {
                    let errors = &mut errors;
                    #binding
                    #(#statements)*
                }
            }
        } else {
            quote! {
                {
                    let errors = &mut errors;
                    let value = &self.#field_name;
                    #binding
                    #(#statements)*
                }
            }
        })
    });
    let checks: Vec<TokenStream> = checks.collect();
    let body = if checks.is_empty() {
        quote!(Ok(()))
    } else {
        quote! {
            let mut errors = ::entity_spec::ValidationErrors::new();
            #(#checks)*
            errors.into_result()
        }
    };
    quote! {
        impl #name {
            /// The fields the request body is checked against.
            pub const DEF: &'static #rt::def::EntityDef = &#rt::def::EntityDef {
                name: #type_name,
                table: "",
                collection_path: "",
                fields: &[#(#defs),*],
                indexes: &[],
                tracking: None,
                actions: &[],
                scopes: #rt::contract::Scopes::ADMIN_ONLY,
                owner: None,
                referenced_by: &[],
                nested: &[],
            };
        }

        impl ::entity_spec::Validate for #name {
            fn validate(&self) -> Result<(), ::entity_spec::ValidationErrors> {
                #body
            }
        }
    }
}

/// `pub trait {Entity}Actions` with one method per action the service implements.
pub(crate) fn render_actions_trait(entity: &EntityIr) -> TokenStream {
    if !needs_implementation(entity) {
        return TokenStream::new();
    }
    let trait_ident = trait_name(entity);
    let entity_ident = ident(&entity.name);
    let methods = entity.actions.iter().filter_map(|action| {
        let method = ident(&action.name);
        let route = action_route(entity, action);
        let summary = action.summary.clone().unwrap_or_else(|| format!("The `{}` action.", action.name));
        match &action.kind {
            ActionKind::RunsAll { .. } => None,
            ActionKind::Tracked { history, retry } => {
                let mut lines = vec![
                    summary,
                    String::new(),
                    format!(
                        "Tracked: `{route}` queues a run and answers 202; a worker calls this with the item, which the method may change \
                         (changed fields are saved). Return `Ok(message)` or `Err(message)`; the runtime sets the status fields and \
                         records the run in `{}/{{id}}/{history}`. Messages are shown to clients: never put secrets in them.",
                        entity.collection_path
                    ),
                ];
                if let Some(retry) = retry.filter(|retry| retry.attempts > 1) {
                    lines.push(String::new());
                    lines.push(format!(
                        "Retried: a failed attempt (`Err` or a timeout) is tried again, {} attempts in all, so it must be safe to \
                         call again for the same item.",
                        retry.attempts
                    ));
                }
                let docs = doc(lines);
                Some(quote! {
                    #docs
                    fn #method(&self, item: &mut #entity_ident) -> impl ::std::future::Future<Output = Result<String, String>> + Send;
                })
            }
            ActionKind::Plain => {
                let docs = doc([summary, String::new(), format!("Answers `{route}`.")]);
                let response = response_type(entity, action);
                let request = action.request.as_ref().map(|_| {
                    let request = request_type(entity, action);
                    quote!(, request: #request)
                });
                let item = (action.scope == ActionScope::Item).then(|| quote!(, item: #entity_ident));
                Some(quote! {
                    #docs
                    fn #method(&self #item #request) -> impl ::std::future::Future<Output = Result<#response, ::entity_spec::ApiError>> + Send;
                })
            }
        }
    });
    let docs = doc([
        format!("The custom actions of [`{}`] declared in the spec.", entity.name),
        String::new(),
        "Implement it and pass the implementation to `router`; every action needs its method.".to_owned(),
    ]);
    let handler = format_ident!("{}RunHandler", entity.name);
    let tracked_arms = entity.actions.iter().filter(|a| matches!(a.kind, ActionKind::Tracked { .. })).map(|action| {
        let name = action.name.as_str();
        let method = ident(&action.name);
        quote!(#name => self.0.#method(item).await,)
    });
    let rt = runtime();
    let tracked_arms: Vec<TokenStream> = tracked_arms.collect();
    let handler_items = if tracked_arms.is_empty() {
        TokenStream::new()
    } else {
        quote! {
        /// Lets the run engine call the tracked actions of an implementation.
        #[doc(hidden)]
        pub struct #handler<A>(pub ::std::sync::Arc<A>);

        impl<A: #trait_ident> #rt::runs::RunHandler<#entity_ident> for #handler<A> {
            fn run<'a>(
                &'a self,
                action: &'a str,
                item: &'a mut #entity_ident,
            ) -> ::std::pin::Pin<Box<dyn ::std::future::Future<Output = #rt::runs::RunResult> + Send + 'a>> {
                Box::pin(async move {
                    match action {
                        #(#tracked_arms)*
                        other => Err(format!("`{other}` is not a tracked action")),
                    }
                })
            }
        }
        }
    };
    quote! {
        #docs
        pub trait #trait_ident: Send + Sync + 'static {
            #(#methods)*
        }

        #handler_items
    }
}

/// `POST /raw-data-sources/{id}/sync`, for docs.
fn action_route(entity: &EntityIr, action: &ActionIr) -> String {
    format!("{} {}", action.method, entity.action_path(action))
}

/// The arguments of `Service::with_entity::<E>(plain, runs)` for an entity: a handler for
/// each plain action (the route table mounts it at the action's method and path) and the run
/// handler of its tracked action, from the implementation `#param` in scope.
pub(crate) fn render_entity_handlers(entity: &EntityIr) -> TokenStream {
    let rt = runtime();
    let entity_ident = ident(&entity.name);
    let entity_name = entity.name.as_str();
    let param = ident(&entity.snake_name);
    let plain = entity.actions.iter().filter(|a| a.kind == ActionKind::Plain).map(|action| {
        let name = action.name.as_str();
        let method = ident(&action.name);
        let request = request_type(entity, action);
        let request_def = match &action.request {
            Some(_) => quote!(Some(<#request>::DEF)),
            None => quote!(None),
        };
        let call = match (&action.request, action.scope) {
            (Some(_), ActionScope::Item) => quote!(actions.#method(item, request).await),
            (None, ActionScope::Item) => quote!(actions.#method(item).await),
            (Some(_), ActionScope::Collection) => quote!(actions.#method(request).await),
            (None, ActionScope::Collection) => quote!(actions.#method().await),
        };
        let handler = match action.scope {
            ActionScope::Item => quote! {
                #rt::actions::item_action::<#entity_ident, #request, _, _, _>(db, #name, method, #request_def, move |item, request: #request| {
                    let actions = actions.clone();
                    async move {
                        let _ = &request;
                        #call
                    }
                })
            },
            ActionScope::Collection => quote! {
                #rt::actions::collection_action::<#request, _, _, _>(db, #entity_name, #name, method, #request_def, move |request: #request| {
                    let actions = actions.clone();
                    async move {
                        let _ = &request;
                        #call
                    }
                })
            },
        };
        quote! {
            (#name, {
                let actions = #param.clone();
                ::std::boxed::Box::new(move |method, db| #handler) as #rt::http::PlainAction
            })
        }
    });
    let runs = if entity.actions.iter().any(|a| matches!(a.kind, ActionKind::Tracked { .. })) {
        let handler = format_ident!("{}RunHandler", entity.name);
        quote!(Some(::std::sync::Arc::new(#handler(#param.clone()))))
    } else {
        quote!(None)
    };
    quote!(::std::vec::Vec::from([#(#plain),*]), #runs)
}
