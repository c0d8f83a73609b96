//! The conformance suite `entity_spec::conformance_tests!("spec.json")` expands to: the
//! service generated from the spec (with a recording stand-in for each entity's actions) and
//! ordinary `#[test]`s derived from the spec, named so that a failure explains itself
//! (`raw_data_source::name::rejects_101_characters`). Every test runs on a fresh database per
//! backend (`entity_spec::testing`), and every answer is checked against the service's own
//! OpenAPI document. Each assertion message names the spec position the promise comes from.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::{Value, json};

use super::samples::{self, DISTINCT};
use super::tokens::ident;
use crate::ir::{ActionIr, ActionKind, ActionScope, EntityIr, FieldIr, FieldType, OnDelete, SpecIr};
use entity_spec_contract::Setter;

/// Everything `conformance_tests!` expands to for `spec`, read from `spec_path` (as the user
/// wrote it: it is the macro's argument and the prefix of every message).
pub(crate) fn render_conformance(spec: &SpecIr, spec_path: &str) -> TokenStream {
    let stand_ins: Vec<TokenStream> = spec.entities.iter().filter_map(stand_in).collect();
    let actions_args: Vec<TokenStream> = spec
        .entities
        .iter()
        .filter(|e| super::actions::needs_implementation(e))
        .map(|e| {
            let name = format_ident!("{}StandIn", e.name);
            quote!(, #name)
        })
        .collect();
    let entities = spec.entities.iter().map(|entity| entity_tests(spec, entity, spec_path));
    quote! {
        #[::entity_spec::entity_spec(#spec_path)]
        mod __conformance_model {}

        #(#stand_ins)*

        /// The service under test on a fresh database: migrated, authentication off (the
        /// identity tests of the runtime cover it), workers started for tracked actions.
        fn __conformance_app(db: ::entity_spec::Db) -> ::std::pin::Pin<::std::boxed::Box<dyn ::std::future::Future<Output = ::entity_spec::__private::axum::Router> + Send>> {
            ::std::boxed::Box::pin(async move {
                __conformance_model::migrate(&db, ::entity_spec::MigrateOptions::default()).await.expect("the spec's tables migrate");
                let service = __conformance_model::service(db #(#actions_args)*).with_auth(::entity_spec::AuthConfig::off());
                let engine = ::entity_spec::EngineConfig {
                    workers: 2,
                    schedule_interval: None,
                    ..::entity_spec::EngineConfig::from_env()
                };
                service.start_workers(&engine).expect("workers start inside the test runtime");
                service.router()
            })
        }

        fn __json(text: &str) -> ::entity_spec::__private::serde_json::Value {
            ::entity_spec::__private::serde_json::from_str(text).expect("the suite's own JSON parses")
        }

        #(#entities)*
    }
}

/// A recording stand-in for an entity's actions: tracked actions succeed with a message,
/// plain ones answer a value of their declared response.
fn stand_in(entity: &EntityIr) -> Option<TokenStream> {
    if !super::actions::needs_implementation(entity) {
        return None;
    }
    let name = format_ident!("{}StandIn", entity.name);
    let trait_name = super::actions::trait_name(entity);
    let entity_ident = ident(&entity.name);
    let methods = entity.actions.iter().filter_map(|action| {
        let method = ident(&action.name);
        match &action.kind {
            ActionKind::RunsAll { .. } => None,
            ActionKind::Tracked { .. } => Some(quote! {
                async fn #method(&self, _item: &mut __conformance_model::#entity_ident) -> Result<String, String> {
                    Ok("recorded by the conformance suite".to_owned())
                }
            }),
            ActionKind::Plain => {
                let item =
                    (action.scope == ActionScope::Item).then(|| quote!(, _item: __conformance_model::#entity_ident));
                let request = action.request.as_ref().map(|_| {
                    let request = format_ident!("{}{}Request", entity.name, action.pascal_name());
                    quote!(, _request: __conformance_model::#request)
                });
                let (response_type, response) = match &action.response {
                    Some(fields) => {
                        let response = format_ident!("{}{}Response", entity.name, action.pascal_name());
                        let values = fields.iter().map(|field| {
                            let name = ident(&field.name);
                            let value = rust_sample(field);
                            quote!(#name: #value)
                        });
                        (
                            quote!(__conformance_model::#response),
                            quote!(__conformance_model::#response { #(#values),* }),
                        )
                    }
                    None => (
                        quote!(::entity_spec::__private::serde_json::Value),
                        quote!(::entity_spec::__private::serde_json::json!({"recorded": true})),
                    ),
                };
                Some(quote! {
                    async fn #method(&self #item #request) -> Result<#response_type, ::entity_spec::ApiError> {
                        Ok(#response)
                    }
                })
            }
        }
    });
    Some(quote! {
        /// Stands in for the user's implementation of the actions of this entity.
        struct #name;

        impl __conformance_model::#trait_name for #name {
            #(#methods)*
        }
    })
}

/// A Rust expression of a valid value of a response field's type.
fn rust_sample(field: &FieldIr) -> TokenStream {
    let value = match &field.ty {
        FieldType::String | FieldType::Text => {
            let text = samples::valid_value(field, 0).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            quote!(#text.to_owned())
        }
        FieldType::Integer => {
            let n = samples::valid_value(field, 0).and_then(|v| v.as_i64()).unwrap_or(0);
            quote!(#n)
        }
        FieldType::Float => {
            let n = samples::valid_value(field, 0).and_then(|v| v.as_f64()).unwrap_or(0.0);
            quote!(#n)
        }
        FieldType::Boolean => quote!(true),
        FieldType::Enum(enum_ir) => {
            let type_name = ident(&enum_ir.type_name);
            let variant = ident(&enum_ir.values[0].variant);
            quote!(__conformance_model::#type_name::#variant)
        }
        FieldType::Uuid => quote!(::entity_spec::__private::uuid::Uuid::nil()),
        FieldType::DateTime => {
            quote!(::entity_spec::__private::chrono::DateTime::<::entity_spec::__private::chrono::Utc>::UNIX_EPOCH)
        }
        FieldType::Date => {
            quote!(::entity_spec::__private::chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date"))
        }
        FieldType::Json => quote!(::entity_spec::__private::serde_json::json!({"recorded": true})),
    };
    if field.nullable { quote!(Some(#value)) } else { value }
}

/// A test function: its name, and a body run once per backend with `client` in scope.
fn test(name: &str, body: TokenStream) -> TokenStream {
    let name = format_ident!("{}", name);
    quote! {
        #[test]
        fn #name() {
            ::entity_spec::testing::each_backend(__conformance_app, |client| async move { #body });
        }
    }
}

/// A module of tests, or nothing when there are none.
fn module(name: &str, tests: Vec<TokenStream>) -> TokenStream {
    if tests.is_empty() {
        return TokenStream::new();
    }
    let name = module_ident(name);
    quote! {
        mod #name {
            #[allow(unused_imports)]
            use super::*;
            #(#tests)*
        }
    }
}

/// A module name for a spec name (raw when it is a Rust keyword).
fn module_ident(name: &str) -> proc_macro2::Ident {
    syn::parse_str::<proc_macro2::Ident>(name).unwrap_or_else(|_| format_ident!("r#{}", name))
}

fn entity_tests(spec: &SpecIr, entity: &EntityIr, spec_path: &str) -> TokenStream {
    let module_name = module_ident(&entity.snake_name);
    let at = |pos: crate::json::Pos, what: &str| format!("{spec_path}:{}:{}: {what}", pos.line, pos.column);
    let Some(first) = samples::valid_body(entity, 0) else {
        // A failing test that says why, rather than a suite that silently tests nothing.
        let why = at(
            entity.pos,
            &format!(
                "the conformance suite could not derive a valid `{}` (a required field's pattern it cannot satisfy); give that field a `default`",
                entity.name
            ),
        );
        let failing = test("a_valid_item_can_be_derived", quote!(let _ = &client; panic!(#why);));
        return quote!(mod #module_name { #[allow(unused_imports)] use super::*; #failing });
    };
    let bodies: Vec<Value> = (0..DISTINCT).filter_map(|i| samples::valid_body(entity, i)).collect();
    // Several items at once only when every unique field got distinct values.
    let distinct = bodies.len() == DISTINCT
        && unique_keys(entity).iter().all(|fields| {
            let keys: Vec<Vec<&Value>> = bodies.iter().map(|b| fields.iter().map(|f| &b[*f]).collect()).collect();
            keys.iter().enumerate().all(|(i, key)| !keys[..i].contains(key))
        });
    let body_texts: Vec<String> = bodies.iter().map(Value::to_string).collect();
    // Required references name an existing item of their entity (created first when there is
    // none); optional ones are left out of the bodies (see `samples::valid_body`).
    let parents: Vec<TokenStream> = entity
        .fields
        .iter()
        .filter(|f| f.required)
        .filter_map(|f| Some((f, spec.entity(&f.references.as_ref()?.entity)?)))
        .map(|(field, target)| {
            let name = &field.name;
            let target = module_ident(&target.snake_name);
            quote!(body[#name] = ::entity_spec::__private::serde_json::Value::String(super::#target::any_id(client).await);)
        })
        .collect();
    let body_doc = match parents.is_empty() {
        true => " The `index`-th valid create body.",
        false => " The `index`-th valid create body, its required references naming existing items.",
    };
    let referenced_helpers = spec.referrers(&entity.name).next().map(|_| {
        quote! {
            /// The id of an existing item (the first listed), created when there is none: what
            /// the bodies of items referring to this entity name.
            pub(super) async fn any_id(client: &::entity_spec::testing::Client) -> String {
                let page = client.get(&format!("{PATH}?limit=1")).await;
                match page.body["items"][0]["id"].as_str() {
                    Some(id) => id.to_owned(),
                    None => create(client, 0).await,
                }
            }

            /// Creates an item other than the one `any_id` finds (where the spec allows two
            /// distinct items), for a reference test to delete.
            pub(super) async fn create_another(client: &::entity_spec::testing::Client) -> String {
                create(client, BODIES.len().min(2) - 1).await
            }
        }
    });
    let path = &entity.collection_path;
    let mut modules = Vec::new();

    let entity_at = at(entity.pos, &format!("entity `{}`", entity.name));
    modules.push(module("lifecycle", lifecycle_tests(entity, &entity_at, distinct)));
    for field in &entity.fields {
        let field_at = at(field.pos, &format!("`{}.{}`", entity.name, field.name));
        let mut tests = field_tests(entity, field, &field_at, &first);
        tests.extend(reference_tests(spec, entity, field, &field_at));
        modules.push(module(&field.name, tests));
    }
    for index in entity.indexes.iter().filter(|index| index.unique && index.fields.len() > 1) {
        let name = format!("unique_{}", index.fields.join("_and_"));
        let why = at(entity.pos, &format!("`{}` has a unique index on ({})", entity.name, index.fields.join(", ")));
        modules.push(module(&name, unique_tests(&index.fields, &why)));
    }
    let action_modules: Vec<TokenStream> = entity
        .actions
        .iter()
        .map(|action| {
            let action_at = at(action.pos, &format!("action `{}` of `{}`", action.name, entity.name));
            module(&action.name, vec![action_test(entity, action, &action_at)])
        })
        .collect();
    if !action_modules.is_empty() {
        modules.push(quote! {
            mod actions {
                #[allow(unused_imports)]
                use super::*;
                #(#action_modules)*
            }
        });
    }
    quote! {
        mod #module_name {
            #[allow(unused_imports)]
            use super::*;

            pub(super) const PATH: &str = #path;
            const BODIES: &[&str] = &[#(#body_texts),*];

            #[doc = #body_doc]
            async fn body(client: &::entity_spec::testing::Client, index: usize) -> ::entity_spec::__private::serde_json::Value {
                let _ = client;
                #[allow(unused_mut)]
                let mut body = __json(BODIES[index]);
                #(#parents)*
                body
            }

            /// Creates the `index`-th item; its id.
            pub(super) async fn create(client: &::entity_spec::testing::Client, index: usize) -> String {
                let created = client.post(PATH, &body(client, index).await).await;
                created.expect_status(201, "a valid body is created");
                created.id()
            }

            #referenced_helpers

            #(#modules)*
        }
    }
}

fn lifecycle_tests(entity: &EntityIr, at: &str, distinct: bool) -> Vec<TokenStream> {
    let mut tests = Vec::new();
    let stamped: Vec<&str> = entity
        .fields
        .iter()
        .filter(|f| matches!(f.setter, Setter::PrimaryKey | Setter::AutoNowAdd | Setter::AutoNow))
        .map(|f| f.name.as_str())
        .collect();
    let patch_field = entity
        .input_fields()
        .find(|f| !f.sensitive && f.references.is_none() && samples::valid_value(f, 1) != samples::valid_value(f, 0));
    let patch = patch_field.map(|f| {
        let name = &f.name;
        let value = samples::valid_value(f, 1).unwrap_or(Value::Null).to_string();
        quote! {
            let patch = ::entity_spec::__private::serde_json::json!({ #name: __json(#value) });
            let patched = client
                .send("PATCH", &item, Some(&patch), &[("content-type", "application/merge-patch+json")])
                .await;
            patched.expect_status(200, #at);
            assert_eq!(patched.body[#name], __json(#value), "{}: merge patch sets `{}`", #at, #name);
        }
    });
    tests.push(test(
        "create_get_replace_patch_delete",
        quote! {
            let created = client.post(PATH, &body(&client, 0).await).await;
            created.expect_status(201, #at);
            let id = created.id();
            let item = format!("{PATH}/{id}");
            assert_eq!(created.header("location"), item, "{}: Location of the new item", #at);
            for field in [#(#stamped),*] {
                assert!(!created.body[field].is_null(), "{}: the server sets `{field}`: {}", #at, created.text);
            }
            let read = client.get(&item).await;
            read.expect_status(200, #at);
            assert_eq!(read.body, created.body, "{}: GET answers what POST stored", #at);
            let replaced = client.send("PUT", &item, Some(&body(&client, 0).await), &[]).await;
            replaced.expect_status(200, #at);
            #patch
            client.send("DELETE", &item, None, &[]).await.expect_status(204, #at);
            client.get(&item).await.expect_status(404, "a deleted item is gone");
        },
    ));
    tests.push(test(
        "stale_if_match_is_412_and_if_none_match_is_304",
        quote! {
            let id = create(&client, 0).await;
            let item = format!("{PATH}/{id}");
            let etag = client.get(&item).await.header("etag").to_owned();
            client.send("GET", &item, None, &[("if-none-match", &etag)]).await.expect_status(304, #at);
            client.send("PUT", &item, Some(&body(&client, 0).await), &[("if-match", &etag)]).await.expect_status(200, #at);
            client.send("PUT", &item, Some(&body(&client, 0).await), &[("if-match", &etag)]).await.expect_status(412, "an If-Match of an older version is refused");
            client.send("DELETE", &item, None, &[("if-match", &etag)]).await.expect_status(412, "an If-Match of an older version is refused");
        },
    ));
    tests.push(test(
        "unknown_list_parameter_is_400",
        quote! {
            let reply = client.get(&format!("{PATH}?no_such_parameter=1")).await;
            reply.expect_status(400, "unknown parameters are refused, never ignored");
            assert_eq!(reply.body["errors"][0]["field"], "no_such_parameter", "{}", reply.text);
        },
    ));
    tests.push(test(
        "unknown_id_is_404",
        quote! {
            client.get(&format!("{PATH}/00000000-0000-7000-8000-000000000000")).await.expect_status(404, #at);
            client.get(&format!("{PATH}/not-a-uuid")).await.expect_status(404, #at);
        },
    ));
    if distinct {
        tests.push(test(
            "cursor_walk_has_no_gaps_or_repeats",
            quote! {
                let mut created = Vec::new();
                for index in 0..BODIES.len() {
                    created.push(create(&client, index).await);
                }
                let mut seen = Vec::new();
                let mut next = format!("{PATH}?limit=1");
                loop {
                    let page = client.get(&next).await;
                    page.expect_status(200, #at);
                    for item in page.body["items"].as_array().expect("items") {
                        seen.push(item["id"].as_str().expect("id").to_owned());
                    }
                    match page.body["next_cursor"].as_str() {
                        Some(cursor) => next = format!("{PATH}?limit=1&cursor={cursor}"),
                        None => break,
                    }
                }
                created.sort();
                seen.sort();
                assert_eq!(seen, created, "{}: walking the pages visits every item once", #at);
            },
        ));
    }
    tests
}

fn field_tests(entity: &EntityIr, field: &FieldIr, at: &str, first: &Value) -> Vec<TokenStream> {
    let name = field.name.as_str();
    let mut tests = Vec::new();
    // Sends the first valid body with this field set to `value` (JSON text).
    let with = |value: &Value| {
        let value = value.to_string();
        quote! {
            let mut sent = body(&client, 0).await;
            sent[#name] = __json(#value);
        }
    };
    if field.setter != Setter::Client {
        let value = samples::valid_value(field, 0).unwrap_or(json!("x"));
        let set = with(&value);
        let why = format!("{at} is set by the server; a client may not send it");
        tests.push(test(
            "is_refused_in_a_body",
            quote! {
                #set
                client.post(PATH, &sent).await.expect_violation(422, #name, "read_only", #why);
            },
        ));
        return tests;
    }
    if field.required && field.default.is_none() {
        let why = format!("{at} is required");
        tests.push(test(
            "rejects_missing",
            quote! {
                let mut sent = body(&client, 0).await;
                sent.as_object_mut().expect("an object").remove(#name);
                client.post(PATH, &sent).await.expect_violation(422, #name, "required", #why);
            },
        ));
    }
    if !field.nullable {
        let set = with(&Value::Null);
        let why = format!("{at} cannot be null");
        tests.push(test(
            "rejects_null",
            quote! {
                #set
                client.post(PATH, &sent).await.expect_field_problem(422, #name, #why);
            },
        ));
    }
    if !matches!(field.ty, FieldType::Json) {
        let set = with(&samples::wrong_type(field));
        let why = format!("{at} has type `{}`", field.ty.spec_name());
        tests.push(test(
            "rejects_a_wrong_type",
            quote! {
                #set
                client.post(PATH, &sent).await.expect_field_problem(422, #name, #why);
            },
        ));
    }
    if let Some(default) = samples::default_json(field) {
        let why = format!("{at} defaults to {default}");
        let default = default.to_string();
        tests.push(test(
            "default_is_applied",
            quote! {
                let mut sent = body(&client, 0).await;
                sent.as_object_mut().expect("an object").remove(#name);
                let created = client.post(PATH, &sent).await;
                created.expect_status(201, #why);
                assert_eq!(created.body[#name], __json(#default), "{}", #why);
            },
        ));
    }
    let c = &field.constraints;
    if let Some(max) = c.max_length {
        if let Some(text) = samples::text_of_length(field, max) {
            let set = with(&json!(text));
            let why = format!("{at} allows {max} characters");
            tests.push(test(
                &format!("accepts_{max}_characters"),
                quote! { #set client.post(PATH, &sent).await.expect_status(201, #why); },
            ));
        }
        let over: String = "abcdefghij".chars().cycle().take(max as usize + 1).collect();
        let set = with(&json!(over));
        let why = format!("{at} has max_length {max}");
        tests.push(test(
            &format!("rejects_{}_characters", max + 1),
            quote! { #set client.post(PATH, &sent).await.expect_violation(422, #name, "max_length", #why); },
        ));
    }
    if let Some(min) = c.min_length.filter(|&min| min > 1) {
        if let Some(text) = samples::text_of_length(field, min) {
            let set = with(&json!(text));
            let why = format!("{at} allows {min} characters");
            tests.push(test(
                &format!("accepts_{min}_characters"),
                quote! { #set client.post(PATH, &sent).await.expect_status(201, #why); },
            ));
        }
        let under: String = "abcdefghij".chars().cycle().take(min as usize - 1).collect();
        let set = with(&json!(under));
        let why = format!("{at} has min_length {min}");
        tests.push(test(
            &format!("rejects_{}_characters", min - 1),
            quote! { #set client.post(PATH, &sent).await.expect_violation(422, #name, "min_length", #why); },
        ));
    }
    if field.constraints.pattern.is_some() {
        let pattern = c.pattern.clone().unwrap_or_default();
        if let Some(Value::String(matching)) = samples::valid_value(field, 1) {
            let set = with(&json!(matching));
            let why = format!("{at}: `{matching}` matches the pattern `{pattern}`");
            tests.push(test(
                "accepts_a_value_matching_its_pattern",
                quote! { #set client.post(PATH, &sent).await.expect_status(201, #why); },
            ));
        }
        if let Some(miss) = samples::pattern_miss(field) {
            let set = with(&json!(miss));
            let why = format!("{at}: {miss:?} does not match the pattern `{pattern}`");
            tests.push(test(
                "rejects_a_value_not_matching_its_pattern",
                quote! { #set client.post(PATH, &sent).await.expect_violation(422, #name, "pattern", #why); },
            ));
        }
    }
    numeric_bounds(field, at, &with, &mut tests);
    if let FieldType::Enum(enum_ir) = &field.ty {
        let values: Vec<&str> = enum_ir.values.iter().map(|v| v.value.as_str()).collect();
        let why = format!("{at} takes {}", values.join(", "));
        tests.push(test(
            "accepts_every_value",
            quote! {
                for value in [#(#values),*] {
                    let mut sent = body(&client, 0).await;
                    sent[#name] = ::entity_spec::__private::serde_json::json!(value);
                    let created = client.post(PATH, &sent).await;
                    created.expect_status(201, #why);
                    assert_eq!(created.body[#name], value, "{}", #why);
                    client.send("DELETE", &format!("{PATH}/{}", created.id()), None, &[]).await.expect_status(204, #why);
                }
            },
        ));
        let set = with(&json!("not-one-of-the-values"));
        tests.push(test(
            "rejects_an_unknown_value",
            quote! { #set client.post(PATH, &sent).await.expect_violation(422, #name, "enum", #why); },
        ));
    }
    let unique_index = entity.indexes.iter().any(|index| index.unique && index.fields == [field.name.clone()]);
    if field.unique || unique_index {
        tests.extend(unique_tests(std::slice::from_ref(&field.name), &format!("{at} is unique")));
    }
    if field.sensitive {
        let why = format!("{at} is sensitive: it never leaves the service");
        let secret = first[name].to_string();
        tests.push(test(
            "never_appears_in_a_response",
            quote! {
                let id = create(&client, 0).await;
                let item = format!("{PATH}/{id}");
                let secret = __json(#secret);
                let secret = secret.as_str().unwrap_or_default();
                let replies = [
                    client.get(&item).await,
                    client.get(PATH).await,
                    client.send("PUT", &item, Some(&body(&client, 0).await), &[]).await,
                    client.post(PATH, &body(&client, 0).await).await,
                ];
                for reply in &replies {
                    assert!(reply.body.get(#name).is_none() && !reply.text.contains(secret), "{}: {}: {}", #why, reply.context, reply.text);
                }
                let filtered = client.get(&format!("{PATH}?{}=x", #name)).await;
                filtered.expect_status(400, "a sensitive field cannot be filtered on");
                let sorted = client.get(&format!("{PATH}?sort={}", #name)).await;
                sorted.expect_status(400, "a sensitive field cannot be sorted on");
            },
        ));
    }
    let facts = entity.facts(field);
    // A reference's value in the bodies is a placeholder until it names a created item.
    if facts.filterable()
        && !matches!(field.ty, FieldType::Json)
        && field.references.is_none()
        && let Some(value) = first.get(name).filter(|v| !v.is_null())
    {
        let query = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let why = format!("{at} is filterable");
        tests.push(test(
            "equality_filter_finds_the_item",
            quote! {
                let id = create(&client, 0).await;
                let url = format!("{PATH}?{}={}", #name, ::entity_spec::__private::runtime::testing::client::query_value(#query));
                let page = client.get(&url).await;
                page.expect_status(200, #why);
                let ids: Vec<&str> = page.body["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_str()).collect();
                assert!(ids.contains(&id.as_str()), "{}: {url} finds the item: {}", #why, page.text);
            },
        ));
    }
    if field.searchable
        && let Some(Value::String(text)) = first.get(name)
        && let Ok(Some(terms)) = entity_spec_contract::search::search_terms(text)
        && let Some(word) = terms.iter().max_by_key(|term| term.chars().count())
    {
        // The longest word of the value, then its first half in capitals: a word's start, in
        // any case, finds the item.
        let half: String = word.chars().take(word.chars().count().div_ceil(2)).collect::<String>().to_uppercase();
        let why = format!("{at} is searchable: `q=` finds the item by a word of it, or the start of one");
        tests.push(test(
            "full_text_search_finds_the_item",
            quote! {
                let id = create(&client, 0).await;
                for text in [#word, #half] {
                    let url = format!("{PATH}?q={}", ::entity_spec::__private::runtime::testing::client::query_value(text));
                    let page = client.get(&url).await;
                    page.expect_status(200, #why);
                    let ids: Vec<&str> = page.body["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_str()).collect();
                    assert!(ids.contains(&id.as_str()), "{}: {url} finds the item: {}", #why, page.text);
                }
            },
        ));
    }
    if facts.text_searchable()
        && let Some(Value::String(text)) = first.get(name)
        && text.chars().count() >= 2
    {
        // A piece from the middle, the same piece in other case, and the start.
        let chars: Vec<char> = text.chars().collect();
        let middle: String = chars[chars.len() / 2..].iter().collect();
        let flipped: String = middle
            .chars()
            .map(|c| if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect();
        let prefix: String = chars[..chars.len() / 2].iter().collect();
        let why = format!("{at} is text: __contains, __icontains and __startswith search it");
        tests.push(test(
            "text_search_finds_the_item",
            quote! {
                let id = create(&client, 0).await;
                let query = ::entity_spec::__private::runtime::testing::client::query_value;
                for (op, text) in [("contains", #middle), ("icontains", #flipped), ("startswith", #prefix)] {
                    let url = format!("{PATH}?{}__{op}={}", #name, query(text));
                    let page = client.get(&url).await;
                    page.expect_status(200, #why);
                    let ids: Vec<&str> = page.body["items"].as_array().expect("items").iter().filter_map(|i| i["id"].as_str()).collect();
                    assert!(ids.contains(&id.as_str()), "{}: {url} finds the item: {}", #why, page.text);
                }
                let url = format!("{PATH}?{}__contains={}", #name, query("%_\\ not there"));
                let page = client.get(&url).await;
                page.expect_status(200, #why);
                assert_eq!(page.body["items"], ::entity_spec::__private::serde_json::json!([]), "{}: wildcards are literal", #why);
            },
        ));
    }
    if facts.sortable() {
        let why = format!("{at} is sortable");
        tests.push(test(
            "sorts_both_ways",
            quote! {
                for index in 0..BODIES.len() {
                    let created = client.post(PATH, &body(&client, index).await).await;
                    if created.status != 201 {
                        break; // a unique field without distinct values: one item is enough
                    }
                }
                for sort in [#name.to_owned(), format!("-{}", #name)] {
                    let page = client.get(&format!("{PATH}?sort={sort}")).await;
                    page.expect_status(200, #why);
                    let values: Vec<::entity_spec::__private::serde_json::Value> =
                        page.body["items"].as_array().expect("items").iter().map(|i| i[#name].clone()).collect();
                    let mut ordered = values.clone();
                    ordered.sort_by(::entity_spec::__private::runtime::testing::client::compare_json);
                    if sort.starts_with('-') {
                        ordered.reverse();
                    }
                    assert_eq!(values, ordered, "{}: sort={sort}", #why);
                }
            },
        ));
    }
    tests
}

/// A reference keeps its promises: a body naming no item is a 422 naming the field, and
/// deleting the referenced item does what `on_delete` says (a 409 while the item refers to it,
/// or the item deleted along, or its reference set to null).
fn reference_tests(spec: &SpecIr, entity: &EntityIr, field: &FieldIr, at: &str) -> Vec<TokenStream> {
    let Some(reference) = &field.references else { return Vec::new() };
    let Some(target) = spec.entity(&reference.entity) else { return Vec::new() };
    let name = field.name.as_str();
    let target_module = module_ident(&target.snake_name);
    let why = format!("{at} refers to `{}`", target.name);
    let mut tests = vec![test(
        "a_reference_to_no_item_is_422",
        quote! {
            let mut sent = body(&client, 0).await;
            sent[#name] = ::entity_spec::__private::serde_json::json!("00000000-0000-7000-8000-0000000000de");
            client.post(PATH, &sent).await.expect_violation(422, #name, "unknown_reference", #why);
        },
    )];
    // The item refers to a fresh item of the target, which the test then deletes.
    let setup = quote! {
        let mut sent = body(&client, 0).await;
        let target = super::super::#target_module::create_another(&client).await;
        sent[#name] = ::entity_spec::__private::serde_json::Value::String(target.clone());
        let created = client.post(PATH, &sent).await;
        created.expect_status(201, "a body referring to an existing item is created");
        let item = format!("{PATH}/{}", created.id());
        let target_item = format!("{}/{target}", super::super::#target_module::PATH);
    };
    let (promise, check) = match reference.on_delete {
        OnDelete::Restrict => {
            let why = format!("{at} has on_delete restrict");
            let (referring, target_name) = (&entity.name, &target.name);
            (
                "deleting_the_referenced_item_is_409",
                quote! {
                    let refused = client.send("DELETE", &target_item, None, &[]).await;
                    refused.expect_status(409, #why);
                    let detail = refused.body["detail"].as_str().unwrap_or_default();
                    assert!(detail.contains(#referring) && detail.contains(#name) && detail.contains(#target_name), "{}: the 409 says who still refers to it: {}", #why, refused.text);
                    client.get(&target_item).await.expect_status(200, #why);
                    client.get(&item).await.expect_status(200, #why);
                },
            )
        }
        OnDelete::Cascade => {
            let why = format!("{at} has on_delete cascade");
            (
                "deleting_the_referenced_item_deletes_this_one",
                quote! {
                    client.send("DELETE", &target_item, None, &[]).await.expect_status(204, #why);
                    client.get(&item).await.expect_status(404, #why);
                },
            )
        }
        OnDelete::SetNull => {
            let why = format!("{at} has on_delete set_null");
            (
                "deleting_the_referenced_item_sets_this_one_to_null",
                quote! {
                    client.send("DELETE", &target_item, None, &[]).await.expect_status(204, #why);
                    let kept = client.get(&item).await;
                    kept.expect_status(200, #why);
                    assert!(kept.body[#name].is_null(), "{}: {}", #why, kept.text);
                },
            )
        }
    };
    tests.push(test(promise, quote! { #setup #check }));
    tests
}

/// The field sets whose values no two items may share: unique fields and unique indexes.
fn unique_keys(entity: &EntityIr) -> Vec<Vec<&str>> {
    let fields = entity.fields.iter().filter(|f| f.unique).map(|f| vec![f.name.as_str()]);
    let indexes = entity.indexes.iter().filter(|i| i.unique).map(|i| i.fields.iter().map(String::as_str).collect());
    fields.chain(indexes).collect()
}

/// A second item with the same values of `fields` is a 409 naming them; of two created at
/// once, exactly one is.
fn unique_tests(fields: &[String], why: &str) -> Vec<TokenStream> {
    let named: Vec<&str> = fields.iter().map(String::as_str).collect();
    let duplicate = test(
        "a_duplicate_is_409",
        quote! {
            create(&client, 0).await;
            // Another valid item, sharing only these fields with the first.
            let first = body(&client, 0).await;
            let mut duplicate = body(&client, BODIES.len().min(2) - 1).await;
            for field in [#(#named),*] {
                duplicate[field] = first[field].clone();
            }
            let duplicate = client.post(PATH, &duplicate).await;
            duplicate.expect_status(409, #why);
            for field in [#(#named),*] {
                assert!(duplicate.text.contains(field), "{}: the 409 names `{field}`: {}", #why, duplicate.text);
            }
        },
    );
    let concurrent = test(
        "of_two_concurrent_creates_exactly_one_succeeds",
        quote! {
            let first = body(&client, 0).await;
            let (a, b) = ::entity_spec::__private::runtime::testing::client::join(client.post(PATH, &first), client.post(PATH, &first)).await;
            let mut statuses = [a.status, b.status];
            statuses.sort();
            assert_eq!(statuses, [201, 409], "{}: {} / {}", #why, a.text, b.text);
        },
    );
    vec![duplicate, concurrent]
}

/// `min`/`max` of numbers: each bound accepted, one step past it refused.
fn numeric_bounds(field: &FieldIr, at: &str, with: &dyn Fn(&Value) -> TokenStream, tests: &mut Vec<TokenStream>) {
    let name = field.name.as_str();
    let integer = matches!(field.ty, FieldType::Integer);
    for (bound, is_min) in [(field.constraints.min, true), (field.constraints.max, false)] {
        let Some(bound) = bound else { continue };
        let (inside, outside) = if integer {
            let b = if is_min { bound.as_f64().ceil() } else { bound.as_f64().floor() } as i64;
            let Some(past) = (if is_min { b.checked_sub(1) } else { b.checked_add(1) }) else { continue };
            (json!(b), json!(past))
        } else {
            let b = bound.as_f64();
            let step = (b.abs() * 1e-6).max(1e-3);
            (json!(b), json!(if is_min { b - step } else { b + step }))
        };
        let (word, code) = if is_min { ("minimum", "min") } else { ("maximum", "max") };
        let set_inside = with(&inside);
        let why = format!("{at} allows its {word} {inside}");
        tests.push(test(
            &format!("accepts_its_{word}"),
            quote! { #set_inside client.post(PATH, &sent).await.expect_status(201, #why); },
        ));
        let set_outside = with(&outside);
        let why = format!("{at} has {code} {inside}: {outside} is refused");
        let past = if is_min { "below" } else { "above" };
        tests.push(test(
            &format!("rejects_a_value_{past}_its_{word}"),
            quote! { #set_outside client.post(PATH, &sent).await.expect_violation(422, #name, #code, #why); },
        ));
    }
}

/// An action answers as documented: tracked ones queue a run (202) that appears in the
/// history, plain ones answer 200 with the stand-in's value.
fn action_test(entity: &EntityIr, action: &ActionIr, at: &str) -> TokenStream {
    let route = entity.action_path(action);
    let method = action.method.to_ascii_uppercase();
    let request = action.request.as_ref().map(|fields| {
        let mut body = serde_json::Map::new();
        for field in fields {
            if let Some(value) = samples::valid_value(field, 0) {
                body.insert(field.name.clone(), value);
            }
        }
        Value::Object(body).to_string()
    });
    let body = match request {
        Some(text) => quote!(Some(&__json(#text))),
        None => quote!(None),
    };
    let url = if action.scope == ActionScope::Item {
        quote!(#route.replace("{id}", &create(&client, 0).await))
    } else {
        quote!(#route.to_owned())
    };
    let check = match &action.kind {
        ActionKind::Tracked { history, .. } => {
            let history = format!("{}/{{id}}/{history}", entity.collection_path);
            quote! {
                reply.expect_status(202, #at);
                let id = reply.body["item_id"].as_str().or_else(|| url.split('/').nth_back(1)).unwrap_or_default().to_owned();
                let history = #history.replace("{id}", &id);
                let mut found = false;
                for _ in 0..100 {
                    let runs = client.get(&history).await;
                    runs.expect_status(200, #at);
                    if runs.body["items"].as_array().is_some_and(|items| !items.is_empty()) {
                        found = true;
                        break;
                    }
                    ::entity_spec::__private::runtime::testing::client::pause().await;
                }
                assert!(found, "{}: the queued run appears in {history}", #at);
            }
        }
        ActionKind::RunsAll { .. } => quote!(reply.expect_status(202, #at);),
        ActionKind::Plain => quote!(reply.expect_status(200, #at);),
    };
    test(
        "answers_as_documented",
        quote! {
            let url = #url;
            let reply = client.send(#method, &url, #body, &[]).await;
            #check
        },
    )
}
