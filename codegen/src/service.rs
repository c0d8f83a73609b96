//! The service side of each entity: its `Entity` impl (the static description the generic
//! store and HTTP layer read, and row conversions), SQL conversions for its enums, and the
//! module-level `router`, `migrate`, `SPEC_ENTITIES` and `SPEC_HASH`.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::ir::{DefaultValue, EntityIr, EnumIr, FieldIr, FieldType, Setter, SpecIr};
use crate::json::ValueKind;
use crate::model::{doc, ident};

fn runtime() -> TokenStream {
    quote!(::entity_spec::__private::runtime)
}

/// `ToSqlValue` and `Column` for a generated enum: stored by wire name.
pub fn render_enum_sql(enum_ir: &EnumIr) -> TokenStream {
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

/// `impl Entity for X`.
pub fn render_entity_impl(entity: &EntityIr) -> TokenStream {
    let rt = runtime();
    let name = ident(&entity.name);
    let create = ident(&entity.create_type_name());
    let update = ident(&entity.update_type_name());
    let key = ident(&entity.primary_key().name);
    let entity_name = entity.name.as_str();
    let table = entity.table_name.as_str();
    let path = entity.collection_path.as_str();
    let fields = entity.fields.iter().map(render_field_def);
    let indexes = entity.indexes.iter().map(|index| {
        let fields = &index.fields;
        let unique = index.unique;
        quote!(#rt::def::IndexDef { fields: &[#(#fields),*], unique: #unique })
    });
    let field_names: Vec<_> = entity.fields.iter().map(|f| ident(&f.name)).collect();
    let columns: Vec<_> = (0..entity.fields.len()).map(Literal::usize_unsuffixed).collect();
    let tracking = match &entity.tracking {
        Some(t) => {
            let optional = |name: &Option<String>| match name {
                Some(name) => quote!(Some(#name)),
                None => quote!(None),
            };
            let (status, last_run) = (&t.status, &t.last_run);
            let (error, active, interval) = (optional(&t.error), optional(&t.active), optional(&t.interval));
            quote!(Some(&#rt::def::TrackingDef { status: #status, last_run: #last_run, error: #error, active: #active, interval: #interval }))
        }
        None => quote!(None),
    };
    let tracked_action = match entity.actions.iter().find(|a| matches!(a.kind, crate::ir::ActionKind::Tracked { .. })) {
        Some(action) => {
            let name = action.name.as_str();
            quote!(Some(#name))
        }
        None => quote!(None),
    };
    quote! {
        impl #rt::Entity for #name {
            type Create = #create;
            type Update = #update;

            const DEF: &'static #rt::def::EntityDef = &#rt::def::EntityDef {
                name: #entity_name,
                table: #table,
                collection_path: #path,
                fields: &[#(#fields),*],
                indexes: &[#(#indexes),*],
                tracking: #tracking,
                tracked_action: #tracked_action,
            };

            fn id(&self) -> ::entity_spec::__private::uuid::Uuid {
                self.#key
            }

            fn to_row(&self) -> Vec<#rt::value::SqlValue> {
                vec![#(#rt::value::ToSqlValue::to_sql_value(&self.#field_names)),*]
            }

            fn from_sqlite_row(row: &#rt::column::SqliteRow) -> Result<Self, #rt::column::ColumnError> {
                use #rt::column::Column;
                Ok(Self {
                    #(#field_names: Column::read_sqlite(row, #columns)?,)*
                })
            }

            fn from_postgres_row(row: &#rt::column::PgRow) -> Result<Self, #rt::column::ColumnError> {
                use #rt::column::Column;
                Ok(Self {
                    #(#field_names: Column::read_postgres(row, #columns)?,)*
                })
            }

            fn bind_sqlite(&self, args: &mut #rt::column::SqliteArguments) -> Result<(), #rt::column::BindError> {
                use #rt::column::Column;
                #(self.#field_names.bind_sqlite(args)?;)*
                Ok(())
            }

            fn bind_postgres(&self, args: &mut #rt::column::PgArguments) -> Result<(), #rt::column::BindError> {
                use #rt::column::Column;
                #(self.#field_names.bind_postgres(args)?;)*
                Ok(())
            }

            fn from_create(
                input: #create,
                id: ::entity_spec::__private::uuid::Uuid,
                now: ::entity_spec::__private::chrono::DateTime<::entity_spec::__private::chrono::Utc>,
            ) -> Self {
                input.into_entity(id, now)
            }

            fn apply_update(
                &mut self,
                update: #update,
                now: ::entity_spec::__private::chrono::DateTime<::entity_spec::__private::chrono::Utc>,
            ) {
                #name::apply_update(self, update, now)
            }
        }
    }
}

pub(crate) fn render_field_def(field: &FieldIr) -> TokenStream {
    let rt = runtime();
    let name = field.name.as_str();
    let kind = match &field.ty {
        FieldType::Uuid => quote!(Uuid),
        FieldType::String => quote!(String),
        FieldType::Text => quote!(Text),
        FieldType::Integer => quote!(Integer),
        FieldType::Float => quote!(Float),
        FieldType::Boolean => quote!(Boolean),
        FieldType::Enum(enum_ir) => {
            let values = enum_ir.values.iter().map(|v| v.value.as_str());
            quote!(Enum(&[#(#values),*]))
        }
        FieldType::Json => quote!(Json),
        FieldType::DateTime => quote!(DateTime),
        FieldType::Date => quote!(Date),
    };
    let setter = match field.setter {
        Setter::Client => quote!(Client),
        Setter::PrimaryKey => quote!(PrimaryKey),
        Setter::AutoNowAdd => quote!(AutoNowAdd),
        Setter::AutoNow => quote!(AutoNow),
        Setter::ReadOnly => quote!(ReadOnly),
    };
    let default = match &field.default {
        None => quote!(None),
        Some(DefaultValue::Bool(b)) => quote!(Some(#rt::def::DefaultDef::Bool(#b))),
        Some(DefaultValue::Integer(i)) => {
            let literal = Literal::i64_suffixed(*i);
            quote!(Some(#rt::def::DefaultDef::Int(#literal)))
        }
        Some(DefaultValue::Float(f)) => {
            let literal = Literal::f64_suffixed(*f);
            quote!(Some(#rt::def::DefaultDef::Float(#literal)))
        }
        Some(DefaultValue::String(s)) => quote!(Some(#rt::def::DefaultDef::Text(#s))),
        Some(DefaultValue::Enum(index)) => {
            let FieldType::Enum(enum_ir) = &field.ty else { unreachable!("enum defaults only exist on enum fields") };
            let value = enum_ir.values[*index].value.as_str();
            quote!(Some(#rt::def::DefaultDef::Text(#value)))
        }
        Some(DefaultValue::Json(value)) => {
            let text = json_text(value);
            quote!(Some(#rt::def::DefaultDef::Json(#text)))
        }
    };
    let (nullable, required, unique, sensitive) = (field.nullable, field.required, field.unique, field.sensitive);
    quote! {
        #rt::def::FieldDef {
            name: #name,
            kind: #rt::def::FieldKind::#kind,
            nullable: #nullable,
            required: #required,
            default: #default,
            setter: #rt::def::Setter::#setter,
            unique: #unique,
            sensitive: #sensitive,
        }
    }
}

/// Compact JSON text of a spec value (for column defaults).
fn json_text(value: &crate::json::Value) -> String {
    match &value.kind {
        ValueKind::Null => "null".to_owned(),
        ValueKind::Bool(b) => b.to_string(),
        ValueKind::Number(n) => n.to_string(),
        ValueKind::String(s) => json_string(s),
        ValueKind::Array(items) => format!("[{}]", items.iter().map(json_text).collect::<Vec<_>>().join(",")),
        ValueKind::Object(members) => format!(
            "{{{}}}",
            members
                .iter()
                .map(|m| format!("{}:{}", json_string(&m.key), json_text(&m.value)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `router`, `migrate`, `SPEC_ENTITIES` and `SPEC_HASH` for the whole spec.
pub fn render_service(spec: &SpecIr, spec_hash: &str) -> TokenStream {
    let rt = runtime();
    let names: Vec<_> = spec.entities.iter().map(|e| ident(&e.name)).collect();
    // Compact: it is served as is; `entity-spec openapi` prints the same document pretty.
    let openapi_json = crate::openapi::openapi(spec, spec_hash).to_json().unwrap_or_default();
    let workbench_json = crate::workbench::workbench_json(spec);
    let router_doc = doc([
        "The HTTP API of every entity in the spec, with problem+json errors, the body limit and request logging.",
        "",
        "Routes per entity: `GET`/`POST` on the collection path, `GET`/`PUT`/`PATCH`/`DELETE` on `{path}/{id}`, and the",
        "spec's custom actions, answered by the implementations passed here. Tracked actions run on a worker pool started",
        "on the current Tokio runtime (settings from the environment, see `EngineConfig::from_env`).",
    ]);
    let implemented: Vec<&crate::ir::EntityIr> =
        spec.entities.iter().filter(|e| crate::actions::needs_implementation(e)).collect();
    let params: Vec<TokenStream> = implemented
        .iter()
        .map(|e| {
            let param = ident(&e.snake_name);
            let bound = crate::actions::trait_name(e);
            quote!(#param: impl #bound)
        })
        .collect();
    let args: Vec<_> = implemented.iter().map(|e| ident(&e.snake_name)).collect();
    let action_routes = spec.entities.iter().map(crate::actions::render_action_routes);
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
