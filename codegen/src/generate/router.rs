//! The module-level items of a spec: `router` and `router_with_engine` (every entity's CRUD
//! routes, the action routes, docs and workbench), `migrate`, and the `SPEC_ENTITIES`,
//! `SPEC_HASH`, `OPENAPI_JSON` and `WORKBENCH_JSON` constants.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::{EntityIr, SpecIr};

use super::tokens::{doc, ident, runtime};

/// `router`, `migrate`, `SPEC_ENTITIES` and `SPEC_HASH` for the whole spec.
pub(crate) fn render_service(spec: &SpecIr, spec_hash: &str) -> TokenStream {
    let rt = runtime();
    let names: Vec<_> = spec.entities.iter().map(|e| ident(&e.name)).collect();
    // Compact: it is served as is; `entity-spec openapi` prints the same document pretty.
    let openapi_json = crate::openapi::openapi(spec, spec_hash).to_json().unwrap_or_default();
    let workbench_json = super::workbench::workbench_json(spec);
    let router_doc = doc([
        "The HTTP API of every entity in the spec, with problem+json errors, the body limit and request logging.",
        "",
        "Routes per entity: `GET`/`POST` on the collection path, `GET`/`PUT`/`PATCH`/`DELETE` on `{path}/{id}`, and the",
        "spec's custom actions, answered by the implementations passed here. Tracked actions run on a worker pool started",
        "on the current Tokio runtime (settings from the environment, see `EngineConfig::from_env`).",
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
    let action_routes = spec.entities.iter().map(super::actions::render_action_routes);
    let uses_engine = spec.entities.iter().any(|e| e.tracking.is_some());
    let engine_param = if uses_engine { quote!(engine) } else { quote!(_engine) };
    quote! {
        /// Every entity of the spec, in spec order.
        pub const SPEC_ENTITIES: &[&#rt::def::EntityDef] = &[#(<#names as #rt::Entity>::DEF),*];

        /// A hash of the spec file, recorded with each migration.
        pub const SPEC_HASH: &str = #spec_hash;

        /// The OpenAPI 3.1 document of `router`, served at `/openapi.json` (interactive docs at `/docs`).
        pub const OPENAPI_JSON: &str = #openapi_json;

        /// What the workbench UI at `/ui` knows about each entity, served at `/ui/workbench.json`.
        pub const WORKBENCH_JSON: &str = #workbench_json;

        #router_doc
        pub fn router(db: ::entity_spec::Db #(, #params)*) -> ::entity_spec::__private::axum::Router {
            router_with_engine(db, #rt::runs::EngineConfig::from_env() #(, #args)*)
        }

        /// [`router`] with explicit worker-pool settings for tracked actions.
        #[allow(unused_mut)]
        pub fn router_with_engine(
            db: ::entity_spec::Db,
            #engine_param: #rt::runs::EngineConfig
            #(, #params)*
        ) -> ::entity_spec::__private::axum::Router {
            let mut routes = ::entity_spec::__private::axum::Router::new()
                #(.merge(#rt::http::entity_routes::<#names>(db.clone())))*;
            #(#action_routes)*
            #rt::http::service(routes, OPENAPI_JSON, WORKBENCH_JSON)
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
