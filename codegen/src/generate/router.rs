//! The module-level items of a spec: `service` (every entity's routes and the workers of its
//! tracked actions, as an `entity_spec::Service`), `router` (its HTTP routes alone), `migrate`,
//! and the `SPEC_ENTITIES`, `SPEC_HASH`, `OPENAPI_JSON` and `WORKBENCH_JSON` constants.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::{EntityIr, SpecIr};

use super::tokens::{doc, ident, runtime};

/// `service`, `router`, `migrate` and the `SPEC_*`, `OPENAPI_JSON` and `WORKBENCH_JSON` constants.
pub(crate) fn render_service(spec: &SpecIr, spec_hash: &str) -> TokenStream {
    let rt = runtime();
    let names: Vec<_> = spec.entities.iter().map(|e| ident(&e.name)).collect();
    // Compact: it is served as is; `entity-spec openapi` prints the same document pretty.
    let openapi_json = crate::openapi::openapi(spec, spec_hash).to_json().unwrap_or_default();
    let workbench_json = super::workbench::workbench_json(spec);
    let service_doc = doc([
        "The service of every entity in the spec: its HTTP routes and the workers of its tracked actions.",
        "",
        "Routes per entity come from its route table: `GET`/`POST` on the collection path, `GET {path}/stats`,",
        "`GET`/`PUT`/`PATCH`/`DELETE` on `{path}/{id}`, and the spec's custom actions, answered by the",
        "implementations passed here. Nothing starts here: call `start_workers` on the result to run tracked",
        "actions in this process, then serve `router()`.",
    ]);
    let router_doc = doc([
        "The HTTP API of every entity in the spec (see [`service`]), with problem+json errors, the body limit and",
        "request logging. Tracked actions queue runs; building the router starts no worker (see [`service`]).",
    ]);
    let implemented: Vec<&EntityIr> =
        spec.entities.iter().filter(|e| super::actions::needs_implementation(e)).collect();
    let params: Vec<TokenStream> = implemented
        .iter()
        .map(|e| {
            let param = ident(&e.snake_name);
            let bound = super::actions::trait_name(e);
            quote!(#param: impl #bound)
        })
        .collect();
    let args: Vec<_> = implemented.iter().map(|e| ident(&e.snake_name)).collect();
    let shared: Vec<TokenStream> = implemented
        .iter()
        .map(|e| {
            let param = ident(&e.snake_name);
            quote!(let #param = ::std::sync::Arc::new(#param);)
        })
        .collect();
    let handlers = spec.entities.iter().map(super::actions::render_entity_handlers);
    quote! {
        /// Every entity of the spec, in spec order.
        pub const SPEC_ENTITIES: &[&#rt::def::EntityDef] = &[#(<#names as #rt::Entity>::DEF),*];

        /// A hash of the spec file, recorded with each migration.
        pub const SPEC_HASH: &str = #spec_hash;

        /// The OpenAPI 3.1 document of `router`, served at `/openapi.json` (interactive docs at `/docs`).
        pub const OPENAPI_JSON: &str = #openapi_json;

        /// What the workbench UI at `/ui` knows about each entity, served at `/ui/workbench.json`.
        pub const WORKBENCH_JSON: &str = #workbench_json;

        #service_doc
        pub fn service(db: ::entity_spec::Db #(, #params)*) -> ::entity_spec::Service {
            #(#shared)*
            ::entity_spec::Service::new(db, SPEC_HASH, OPENAPI_JSON, WORKBENCH_JSON)
                #(.with_entity::<#names>(#handlers))*
        }

        #router_doc
        pub fn router(db: ::entity_spec::Db #(, #params)*) -> ::entity_spec::__private::axum::Router {
            service(db #(, #args)*).router()
        }

        /// Creates the tables and indexes of every entity, or migrates them to the spec (see
        /// `MigrateOptions` for what needs an explicit opt-in).
        pub async fn migrate(
            db: &::entity_spec::Db,
            options: ::entity_spec::MigrateOptions,
        ) -> Result<::entity_spec::MigrationReport, ::entity_spec::MigrateError> {
            #rt::migrate::migrate(db, SPEC_ENTITIES, SPEC_HASH, options).await
        }
    }
}
