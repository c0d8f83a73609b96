//! The checked model every generator reads. Everything in it has been validated: names are
//! valid identifiers, constraints fit their types, defaults satisfy their constraints.

use entity_spec_contract::{ActionDef, FieldFacts, Method, NestedDef, Permission, ValueType, routes};
pub use entity_spec_contract::{ActionScope, OnDelete, RetryPolicy, Setter};

use crate::json::{self, Number, Pos};

/// A checked spec: the entities, in file order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SpecIr {
    /// The entities, in file order.
    pub entities: Vec<EntityIr>,
}

/// One checked entity.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityIr {
    /// Position of the entity in the spec file.
    pub pos: Pos,
    /// PascalCase type name, e.g. `RawDataSource`.
    pub name: String,
    /// snake_case of the name, e.g. `raw_data_source`.
    pub snake_name: String,
    /// Table name: plural snake_case, e.g. `raw_data_sources`.
    pub table_name: String,
    /// Collection URL path, e.g. `/raw-data-sources`.
    pub collection_path: String,
    /// Architectural layer, documentation only.
    pub layer: Option<String>,
    /// Description from the spec.
    pub description: Option<String>,
    /// Fields in spec order; exactly one is the primary key.
    pub fields: Vec<FieldIr>,
    /// Indexes in spec order.
    pub indexes: Vec<IndexIr>,
    /// Custom actions in spec order.
    pub actions: Vec<ActionIr>,
    /// The fields tracked runs report through, if the entity has a tracked action.
    pub tracking: Option<TrackingIr>,
    /// The scope each of its routes needs (defaults, renamed by `api.access.scopes`).
    pub scopes: ScopesIr,
    /// The field holding each row's owner (`api.access.owner`), if rows are owned.
    pub owner: Option<String>,
    /// Its lists under the items its references point at (`GET /authors/{id}/books`), one per
    /// reference, filled in once every entity's path is known.
    pub nested: Vec<NestedIr>,
}

/// A list of an entity's rows under an item they refer to.
#[derive(Clone, Debug, PartialEq)]
pub struct NestedIr {
    /// The reference field, e.g. `author_id`.
    pub field: String,
    /// The referenced entity's collection path.
    pub parent_path: String,
    /// The segment after the referenced item (`entity_spec_contract::routes::nested_segment`).
    pub segment: String,
}

/// Field names through which the runtime reports tracked runs.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackingIr {
    /// Enum field with `pending`, `syncing`, `success`, `failed`.
    pub status: String,
    /// Datetime field stamped when a run ends.
    pub last_run: String,
    /// Text field with the last failure.
    pub error: Option<String>,
    /// Boolean field; inactive items are not run.
    pub active: Option<String>,
    /// Integer field: seconds between scheduled runs.
    pub interval: Option<String>,
}

/// What kind of work an action is.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// Answered by the user's method, synchronously.
    Plain,
    /// An item action run in the background as a tracked run; its runs are listed at
    /// `{path}/{id}/{history}`.
    Tracked {
        /// History path segment, e.g. `syncs`.
        history: String,
        /// How failed attempts are retried (`retry`); `None`: never.
        retry: Option<RetryPolicy>,
    },
    /// A collection action that queues the named tracked action for every active item.
    RunsAll {
        /// The tracked item action.
        action: String,
    },
}

/// The scope names of an entity, checked: see `entity_spec_contract::scopes`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopesIr {
    /// Lists, items, statistics, run history.
    pub read: String,
    /// Create, replace, patch, delete.
    pub write: String,
    /// Everything on the entity.
    pub admin: String,
    /// Per action with its own permission: name and scope, in spec order.
    pub actions: Vec<(String, String)>,
}

impl ScopesIr {
    /// The scope of a key of `api.access.scopes`: `read`, `write`, `admin` or an action's name.
    pub fn get(&self, key: &str) -> Option<&str> {
        match key {
            "read" => Some(&self.read),
            "write" => Some(&self.write),
            "admin" => Some(&self.admin),
            action => self.actions.iter().find(|(name, _)| name == action).map(|(_, scope)| scope.as_str()),
        }
    }

    /// The scope `permission` needs, by the contract's rule (`Scopes::required`): an action
    /// without its own scope needs the admin scope.
    pub fn required(&self, permission: &Permission<'_>) -> &str {
        self.get(permission.scope_key()).unwrap_or(&self.admin)
    }
}

impl SpecIr {
    /// The entity with this name.
    pub fn entity(&self, name: &str) -> Option<&EntityIr> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// Every field (with its entity) that refers to the entity `name`, in spec order.
    pub fn referrers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a EntityIr, &'a FieldIr)> + 'a {
        self.entities.iter().flat_map(move |entity| {
            entity
                .fields
                .iter()
                .filter(move |f| f.references.as_ref().is_some_and(|r| r.entity == name))
                .map(move |f| (entity, f))
        })
    }
}

impl EntityIr {
    /// The primary-key field (the checks guarantee there is exactly one).
    pub fn primary_key(&self) -> &FieldIr {
        self.fields.iter().find(|f| f.setter == Setter::PrimaryKey).unwrap_or(&self.fields[0])
    }

    /// Name of the create-input type, e.g. `RawDataSourceCreate`.
    pub fn create_type_name(&self) -> String {
        format!("{}Create", self.name)
    }

    /// Name of the update-input (PUT) type, e.g. `RawDataSourceUpdate`.
    pub fn update_type_name(&self) -> String {
        format!("{}Update", self.name)
    }

    /// Fields a client sends in create and update bodies.
    pub fn input_fields(&self) -> impl Iterator<Item = &FieldIr> {
        self.fields.iter().filter(|f| f.setter == Setter::Client)
    }

    /// What the list rules (`entity_spec_contract::fields`) need to know about one field.
    pub fn facts(&self, field: &FieldIr) -> FieldFacts {
        FieldFacts {
            ty: field.ty.value_type(),
            setter: field.setter,
            unique: field.unique,
            // Every referencing column gets an index of its own (the runtime's migrations).
            indexed: field.references.is_some() || self.indexes.iter().any(|index| index.fields.contains(&field.name)),
            sensitive: field.sensitive,
        }
    }

    /// Fields a list can be sorted by, in field order.
    pub fn sortable_fields(&self) -> impl Iterator<Item = &FieldIr> {
        self.fields.iter().filter(|f| self.facts(f).sortable())
    }

    /// Fields a list can be filtered by, in field order.
    pub fn filterable_fields(&self) -> impl Iterator<Item = &FieldIr> {
        self.fields.iter().filter(|f| self.facts(f).filterable())
    }

    /// Fields the statistics count rows by, in field order.
    pub fn grouped_fields(&self) -> impl Iterator<Item = &FieldIr> {
        self.fields.iter().filter(|f| self.facts(f).grouped())
    }

    /// The actions as the route table reads them, in spec order.
    pub fn action_defs(&self) -> Vec<ActionDef<'_>> {
        self.actions.iter().map(ActionIr::def).collect()
    }

    /// The nested lists as the route table takes them.
    pub fn nested_defs(&self) -> Vec<NestedDef<'_>> {
        self.nested
            .iter()
            .map(|n| NestedDef { field: &n.field, parent_path: &n.parent_path, segment: &n.segment })
            .collect()
    }

    /// Where an action is mounted: `/raw-data-sources/{id}/sync`.
    pub fn action_path(&self, action: &ActionIr) -> String {
        routes::action_path(&self.collection_path, &action.def())
    }
}

/// One checked field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldIr {
    /// Position of the field in the spec file.
    pub pos: Pos,
    /// snake_case name, used for the Rust field, the JSON key and the column.
    pub name: String,
    /// The type.
    pub ty: FieldType,
    /// Whether the value may be absent (`Option<T>`, nullable column).
    pub nullable: bool,
    /// Whether a create input must carry the field.
    pub required: bool,
    /// Who sets the value.
    pub setter: Setter,
    /// The value used when a create input omits the field.
    pub default: Option<DefaultValue>,
    /// Value constraints enforced by the generated validators.
    pub constraints: Constraints,
    /// A unique constraint on this field alone.
    pub unique: bool,
    /// Never shown in responses, logs or `Debug`.
    pub sensitive: bool,
    /// Description from the spec.
    pub description: Option<String>,
    /// The entity whose rows the value refers to, if it is a reference.
    pub references: Option<ReferenceIr>,
    /// Its words are in the entity's full-text index, which `?q=` searches.
    pub searchable: bool,
}

/// A reference from a field to the rows of an entity of the same spec (a foreign key).
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceIr {
    /// The referenced entity's name, e.g. `Author` (checked to exist, unless the spec has errors).
    pub entity: String,
    /// What deleting the referenced row does to the referring one.
    pub on_delete: OnDelete,
}

/// The type of a field.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    /// `uuid` → `uuid::Uuid`
    Uuid,
    /// `string` → `String` (short text, indexable)
    String,
    /// `text` → `String` (long text)
    Text,
    /// `integer` → `i64`
    Integer,
    /// `float` → `f64`
    Float,
    /// `boolean` → `bool`
    Boolean,
    /// `enum` → a generated Rust enum
    Enum(EnumIr),
    /// `json` → `serde_json::Value`
    Json,
    /// `datetime` → `chrono::DateTime<Utc>`
    DateTime,
    /// `date` → `chrono::NaiveDate`
    Date,
}

impl FieldType {
    /// The value type, as the shared rules know it.
    pub fn value_type(&self) -> ValueType {
        match self {
            FieldType::Uuid => ValueType::Uuid,
            FieldType::String => ValueType::String,
            FieldType::Text => ValueType::Text,
            FieldType::Integer => ValueType::Integer,
            FieldType::Float => ValueType::Float,
            FieldType::Boolean => ValueType::Boolean,
            FieldType::Enum(_) => ValueType::Enum,
            FieldType::Json => ValueType::Json,
            FieldType::DateTime => ValueType::DateTime,
            FieldType::Date => ValueType::Date,
        }
    }

    /// The spec's name of the type.
    pub fn spec_name(&self) -> &'static str {
        match self {
            FieldType::Uuid => "uuid",
            FieldType::String => "string",
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Boolean => "boolean",
            FieldType::Enum(_) => "enum",
            FieldType::Json => "json",
            FieldType::DateTime => "datetime",
            FieldType::Date => "date",
        }
    }

    /// Whether the Rust type is a `String`.
    pub fn is_textual(&self) -> bool {
        matches!(self, FieldType::String | FieldType::Text)
    }
}

/// A generated enum type.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumIr {
    /// PascalCase type name: entity name + field name, e.g. `RawDataSourceSyncStatus`.
    pub type_name: String,
    /// The variants, in spec order.
    pub values: Vec<EnumValueIr>,
}

/// One variant of a generated enum.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumValueIr {
    /// The wire value (snake_case), e.g. `in_progress`.
    pub value: String,
    /// The Rust variant, e.g. `InProgress`.
    pub variant: String,
}

/// A field's default value, already checked against its type and constraints.
#[derive(Clone, Debug, PartialEq)]
pub enum DefaultValue {
    /// For `boolean` fields.
    Bool(bool),
    /// For `integer` fields.
    Integer(i64),
    /// For `float` fields.
    Float(f64),
    /// For `string` and `text` fields.
    String(String),
    /// For `enum` fields: index into [`EnumIr::values`].
    Enum(usize),
    /// For `json` fields: any JSON value.
    Json(json::Value),
}

/// Value constraints of a field.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Constraints {
    /// Maximum length in characters (Unicode scalar values, like JSON Schema).
    pub max_length: Option<u64>,
    /// Minimum length in characters.
    pub min_length: Option<u64>,
    /// Inclusive lower bound for numbers.
    pub min: Option<Number>,
    /// Inclusive upper bound for numbers.
    pub max: Option<Number>,
    /// Regular expression the whole value must match (`regex` crate syntax, unanchored like
    /// JSON Schema's `pattern`).
    pub pattern: Option<String>,
}

impl Constraints {
    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        *self == Constraints::default()
    }
}

/// One index.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexIr {
    /// Indexed field names, in order.
    pub fields: Vec<String>,
    /// Whether the combination of values must be unique.
    pub unique: bool,
}

/// One custom action.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionIr {
    /// Position of the action in the spec file.
    pub pos: Pos,
    /// snake_case name: the trait method name.
    pub name: String,
    /// Item or collection.
    pub scope: ActionScope,
    /// Upper-case HTTP method.
    pub method: String,
    /// The last path segment, e.g. `sync-all`.
    pub path_segment: String,
    /// One line for the API docs.
    pub summary: Option<String>,
    /// Longer text for the API docs.
    pub description: Option<String>,
    /// Request body fields; `None` when the action takes no body.
    pub request: Option<Vec<FieldIr>>,
    /// Response body fields; `None` when the action defines its own response.
    pub response: Option<Vec<FieldIr>>,
    /// Plain, tracked, or queue-all.
    pub kind: ActionKind,
}

impl ActionIr {
    /// The action as the route table reads it.
    pub fn def(&self) -> ActionDef<'_> {
        ActionDef {
            name: &self.name,
            // The checks only let the five methods through.
            method: Method::parse(&self.method).unwrap_or(Method::Post),
            scope: self.scope,
            segment: &self.path_segment,
            kind: match &self.kind {
                ActionKind::Plain => entity_spec_contract::ActionKind::Plain,
                ActionKind::Tracked { history, retry } => {
                    entity_spec_contract::ActionKind::Tracked { history, retry: *retry }
                }
                ActionKind::RunsAll { action } => entity_spec_contract::ActionKind::RunsAll { action },
            },
        }
    }

    /// The PascalCase name, e.g. `TestConnection`.
    pub fn pascal_name(&self) -> String {
        crate::naming::snake_to_pascal(&self.name)
    }
}
