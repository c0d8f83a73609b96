//! The `Entity` impl of each entity: the static `EntityDef` the generic store and HTTP layer
//! read (table, path, one `FieldDef` per field, indexes, tracking, scopes, the actions the route table
//! is walked from) and the row conversions.
//! Action request bodies reuse `render_field_def` for the `EntityDef` they are checked
//! against.

use entity_spec_contract::references::expansion_name;
use entity_spec_contract::{ActionKind as ContractActionKind, Method, RetryPolicy};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::ir::{ActionIr, ActionScope, DefaultValue, EntityIr, FieldIr, FieldType, OnDelete, Setter, SpecIr};
use crate::json::ValueKind;

use super::tokens::{ident, runtime};

/// `impl Entity for X`.
pub(crate) fn render_entity_impl(spec: &SpecIr, entity: &EntityIr) -> TokenStream {
    let rt = runtime();
    let name = ident(&entity.name);
    let create = ident(&entity.create_type_name());
    let update = ident(&entity.update_type_name());
    let key = ident(&entity.primary_key().name);
    let entity_name = entity.name.as_str();
    let table = entity.table_name.as_str();
    let path = entity.collection_path.as_str();
    let fields = entity.fields.iter().map(|field| render_field_def(field, render_reference(spec, field)));
    let referenced_by = spec.referrers(&entity.name).map(|(referrer, field)| {
        let referrer_type = ident(&referrer.name);
        let (name, table, key) = (&referrer.name, &referrer.table_name, &referrer.primary_key().name);
        let field_name = &field.name;
        let on_delete = field.references.as_ref().map_or(OnDelete::Restrict, |r| r.on_delete);
        let on_delete = on_delete_tokens(on_delete);
        quote! {
            #rt::def::ReferrerDef {
                entity: #name,
                table: #table,
                key: #key,
                field: #field_name,
                on_delete: #rt::def::OnDelete::#on_delete,
                referrers: || <#referrer_type as #rt::Entity>::DEF.referenced_by,
            }
        }
    });
    let indexes = entity.indexes.iter().map(|index| {
        let fields = &index.fields;
        let unique = index.unique;
        quote!(#rt::def::IndexDef { fields: &[#(#fields),*], unique: #unique })
    });
    let field_names: Vec<_> = entity.fields.iter().map(|f| ident(&f.name)).collect();
    let rows = render_row_conversions(entity);
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
    let actions = entity.actions.iter().map(render_action_def);
    let crate::ir::ScopesIr { read, write, admin, actions: action_scopes } = &entity.scopes;
    let action_scopes = action_scopes.iter().map(|(action, scope)| quote!((#action, #scope)));
    let scopes = quote! {
        #rt::contract::Scopes { read: #read, write: #write, admin: #admin, actions: &[#(#action_scopes),*] }
    };
    let nested = entity.nested.iter().map(|list| {
        let (field, parent_path, segment) = (&list.field, &list.parent_path, &list.segment);
        quote!(#rt::contract::NestedDef { field: #field, parent_path: #parent_path, segment: #segment })
    });
    let owner = match &entity.owner {
        Some(field) => quote!(Some(#field)),
        None => quote!(None),
    };
    // The owner field is an optional string (the checks make sure).
    let set_owner = entity.owner.as_ref().map(|field| {
        let field = ident(field);
        quote! {
            fn set_owner(&mut self, owner: &str) {
                self.#field = ::std::option::Option::Some(owner.to_owned());
            }
        }
    });
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
                actions: &[#(#actions),*],
                scopes: #scopes,
                owner: #owner,
                referenced_by: &[#(#referenced_by),*],
                nested: &[#(#nested),*],
            };

            #set_owner

            fn id(&self) -> ::entity_spec::__private::uuid::Uuid {
                self.#key
            }

            fn to_row(&self) -> Vec<#rt::value::SqlValue> {
                vec![#(#rt::value::ToSqlValue::to_sql_value(&self.#field_names)),*]
            }

            #rows

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

/// `from_sqlite_row`, `from_postgres_row`, `bind_sqlite`, `bind_postgres`: a column per field,
/// in field order. Sensitive fields are sealed and opened with the keyring for their place
/// (table, column, row id), so reading them needs the row's id first.
fn render_row_conversions(entity: &EntityIr) -> TokenStream {
    let rt = runtime();
    let table = entity.table_name.as_str();
    let key = ident(&entity.primary_key().name);
    let key_index = entity.fields.iter().position(|f| f.name == entity.primary_key().name).unwrap_or(0);
    let key_index = Literal::usize_unsuffixed(key_index);
    let sealed = entity.fields.iter().any(|f| f.sensitive);
    let place = |field: &FieldIr, row: TokenStream| {
        let column = field.name.as_str();
        quote!(&#rt::cipher::Place { table: #table, column: #column, row: #row })
    };
    let mut reads = [Vec::new(), Vec::new()];
    let mut binds = [Vec::new(), Vec::new()];
    for (index, field) in entity.fields.iter().enumerate() {
        let name = ident(&field.name);
        let column = Literal::usize_unsuffixed(index);
        for (backend, (reads, binds)) in ["sqlite", "postgres"].iter().zip(reads.iter_mut().zip(binds.iter_mut())) {
            if field.sensitive {
                let (read, bind) = (format_ident!("read_{backend}_sealed"), format_ident!("bind_{backend}_sealed"));
                let (read_place, bind_place) = (place(field, quote!(row_id)), place(field, quote!(self.#key)));
                reads.push(quote!(#name: SealedColumn::#read(row, #column, unseal, #read_place)?));
                binds.push(quote!(self.#name.#bind(args, keys, #bind_place)?;));
            } else if sealed && field.name == entity.primary_key().name {
                // Read once, before the sealed fields that need it.
                let bind = format_ident!("bind_{backend}");
                reads.push(quote!(#name: row_id));
                binds.push(quote!(self.#name.#bind(args)?;));
            } else {
                let (read, bind) = (format_ident!("read_{backend}"), format_ident!("bind_{backend}"));
                reads.push(quote!(#name: Column::#read(row, #column)?));
                binds.push(quote!(self.#name.#bind(args)?;));
            }
        }
    }
    let [sqlite_reads, postgres_reads] = reads;
    let [sqlite_binds, postgres_binds] = binds;
    // Unused names stay out of entities without sensitive fields.
    let (uses, keys, unseal) = if sealed {
        (quote!(use #rt::column::{Column, SealedColumn};), quote!(keys), quote!(unseal))
    } else {
        (quote!(use #rt::column::Column;), quote!(_keys), quote!(_unseal))
    };
    let read_id = |read: TokenStream| {
        sealed.then(|| quote!(let row_id: ::entity_spec::__private::uuid::Uuid = Column::#read(row, #key_index)?;))
    };
    let (sqlite_id, postgres_id) = (read_id(quote!(read_sqlite)), read_id(quote!(read_postgres)));
    quote! {
        fn from_sqlite_row(
            row: &#rt::column::SqliteRow,
            #unseal: #rt::column::Unseal<'_>,
        ) -> Result<Self, #rt::column::ColumnError> {
            #uses
            #sqlite_id
            Ok(Self { #(#sqlite_reads,)* })
        }

        fn from_postgres_row(
            row: &#rt::column::PgRow,
            #unseal: #rt::column::Unseal<'_>,
        ) -> Result<Self, #rt::column::ColumnError> {
            #uses
            #postgres_id
            Ok(Self { #(#postgres_reads,)* })
        }

        fn bind_sqlite(
            &self,
            args: &mut #rt::column::SqliteArguments,
            #keys: Option<&#rt::cipher::Keyring>,
        ) -> Result<(), #rt::column::BindError> {
            #uses
            #(#sqlite_binds)*
            Ok(())
        }

        fn bind_postgres(
            &self,
            args: &mut #rt::column::PgArguments,
            #keys: Option<&#rt::cipher::Keyring>,
        ) -> Result<(), #rt::column::BindError> {
            #uses
            #(#postgres_binds)*
            Ok(())
        }
    }
}

/// The `FieldDef` of one field: its kind, who sets it, its default and flags.
/// One action as the route table reads it (`entity_spec_contract::ActionDef`).
fn render_action_def(action: &ActionIr) -> TokenStream {
    let rt = runtime();
    let contract = quote!(#rt::contract);
    let def = action.def();
    let (name, segment) = (def.name, def.segment);
    let method = format_ident!(
        "{}",
        match def.method {
            Method::Get => "Get",
            Method::Post => "Post",
            Method::Put => "Put",
            Method::Patch => "Patch",
            Method::Delete => "Delete",
        }
    );
    let scope = match def.scope {
        ActionScope::Item => quote!(Item),
        ActionScope::Collection => quote!(Collection),
    };
    let kind = match def.kind {
        ContractActionKind::Plain => quote!(Plain),
        ContractActionKind::Tracked { history, retry } => {
            let retry = match retry {
                Some(RetryPolicy { attempts, backoff_secs }) => {
                    quote!(Some(#contract::RetryPolicy { attempts: #attempts, backoff_secs: #backoff_secs }))
                }
                None => quote!(None),
            };
            quote!(Tracked { history: #history, retry: #retry })
        }
        ContractActionKind::RunsAll { action } => quote!(RunsAll { action: #action }),
    };
    quote! {
        #contract::ActionDef {
            name: #name,
            method: #contract::Method::#method,
            scope: #contract::ActionScope::#scope,
            segment: #segment,
            kind: #contract::ActionKind::#kind,
        }
    }
}

/// One `FieldDef`; `references` is its `ReferenceDef` (or `None`).
pub(crate) fn render_field_def(field: &FieldIr, references: TokenStream) -> TokenStream {
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
    let searchable = field.searchable;
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
            references: #references,
            searchable: #searchable,
        }
    }
}

/// The `ReferenceDef` of a referencing field, or `None`.
fn render_reference(spec: &SpecIr, field: &FieldIr) -> TokenStream {
    let rt = runtime();
    let Some((reference, target)) = field.references.as_ref().and_then(|r| Some((r, spec.entity(&r.entity)?))) else {
        return quote!(None);
    };
    let (entity, table, key) = (&target.name, &target.table_name, &target.primary_key().name);
    let on_delete = on_delete_tokens(reference.on_delete);
    let expand_as = expansion_name(&field.name);
    let target_type = ident(&target.name);
    quote!(Some(#rt::def::ReferenceDef {
        entity: #entity,
        table: #table,
        key: #key,
        on_delete: #rt::def::OnDelete::#on_delete,
        expand_as: #expand_as,
        target: || <#target_type as #rt::Entity>::DEF,
    }))
}

fn on_delete_tokens(on_delete: OnDelete) -> TokenStream {
    match on_delete {
        OnDelete::Restrict => quote!(Restrict),
        OnDelete::Cascade => quote!(Cascade),
        OnDelete::SetNull => quote!(SetNull),
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
