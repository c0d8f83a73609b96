//! Static descriptions of entities, generated from the spec. The generic HTTP, query and
//! persistence code reads these instead of being generated per entity, so the generated code
//! stays small and the logic is written (and tested) once.

use entity_spec_contract::{FieldFacts, ValueType};

/// What deleting a referenced row does to the rows referring to it (the rule generated code and
/// the runtime share).
pub use entity_spec_contract::OnDelete;

/// One entity: names, fields in column order, indexes.
#[derive(Debug)]
pub struct EntityDef {
    /// Type name, e.g. `RawDataSource`.
    pub name: &'static str,
    /// Table name, e.g. `raw_data_sources`.
    pub table: &'static str,
    /// Collection path, e.g. `/raw-data-sources`.
    pub collection_path: &'static str,
    /// Fields in spec (and column) order.
    pub fields: &'static [FieldDef],
    /// Indexes from the spec.
    pub indexes: &'static [IndexDef],
    /// Which fields a tracked action (e.g. sync) manages, if the entity has one.
    pub tracking: Option<&'static TrackingDef>,
    /// The custom actions, as the route table reads them.
    pub actions: &'static [entity_spec_contract::ActionDef<'static>],
    /// The scope each of its routes needs.
    pub scopes: entity_spec_contract::Scopes<'static>,
    /// The field holding each row's owner, if rows are owned: a caller without the entity's
    /// admin scope sees and changes only the rows it created.
    pub owner: Option<&'static str>,
    /// The fields of this spec's entities (its own included) that refer to this entity: what a
    /// delete must follow.
    pub referenced_by: &'static [ReferrerDef],
    /// Its lists under the items its references point at (`GET /authors/{id}/books`), as the
    /// route table reads them.
    pub nested: &'static [entity_spec_contract::NestedDef<'static>],
}

/// A field that refers to a row of an entity of the same spec (a foreign key).
#[derive(Debug)]
pub struct ReferenceDef {
    /// The referenced entity's type name, e.g. `Author`.
    pub entity: &'static str,
    /// Its table.
    pub table: &'static str,
    /// Its primary-key column.
    pub key: &'static str,
    /// What deleting the referenced row does to the row holding the reference.
    pub on_delete: OnDelete,
    /// The name `?expand=` takes and the embedded item's key, e.g. `author` for `author_id`
    /// (`entity_spec_contract::references::expansion_name`).
    pub expand_as: &'static str,
    /// The referenced entity's description. A function, like [`ReferrerDef::referrers`]:
    /// descriptions may refer to each other, or to themselves.
    pub target: fn() -> &'static EntityDef,
}

/// Two references are the same when they name the same entity the same way (the function that
/// finds its description follows from the name).
impl PartialEq for ReferenceDef {
    fn eq(&self, other: &Self) -> bool {
        (self.entity, self.table, self.key, self.on_delete, self.expand_as)
            == (other.entity, other.table, other.key, other.on_delete, other.expand_as)
    }
}

/// A field that refers to an entity, seen from the referenced entity: whose rows a delete must
/// refuse on, delete along or set to null.
#[derive(Debug)]
pub struct ReferrerDef {
    /// The referring entity's type name, e.g. `Book`.
    pub entity: &'static str,
    /// Its table.
    pub table: &'static str,
    /// Its primary-key column.
    pub key: &'static str,
    /// The referring field (and column), e.g. `author_id`.
    pub field: &'static str,
    /// What deleting a referenced row does to the referring rows.
    pub on_delete: OnDelete,
    /// The referring entity's own referrers, followed when a cascade deletes its rows. A
    /// function, because descriptions that refer to each other cannot be built from each other
    /// (constants may not form cycles).
    pub referrers: fn() -> &'static [ReferrerDef],
}

/// The fields through which the runtime reports tracked runs on the item.
#[derive(Debug, PartialEq)]
pub struct TrackingDef {
    /// An enum with `pending`, `syncing`, `success` and `failed`.
    pub status: &'static str,
    /// A datetime stamped when a run ends.
    pub last_run: &'static str,
    /// Text holding the last failure, cleared on success.
    pub error: Option<&'static str>,
    /// A boolean: inactive items are not run.
    pub active: Option<&'static str>,
    /// An integer of seconds between scheduled runs.
    pub interval: Option<&'static str>,
}

impl TrackingDef {
    /// Whether the runtime owns this field (clients cannot set it).
    pub fn manages(&self, field: &str) -> bool {
        field == self.status || field == self.last_run || self.error == Some(field)
    }
}

/// One field.
#[derive(Debug, PartialEq)]
pub struct FieldDef {
    /// snake_case name: JSON key and column.
    pub name: &'static str,
    /// Value type.
    pub kind: FieldKind,
    /// Whether the column accepts NULL.
    pub nullable: bool,
    /// Whether a create body must carry it.
    pub required: bool,
    /// The spec's default, used as the column default when the field is added to a table
    /// that already has rows.
    pub default: Option<DefaultDef>,
    /// Who sets it.
    pub setter: Setter,
    /// A unique constraint on this field alone.
    pub unique: bool,
    /// Never returned, logged or printed.
    pub sensitive: bool,
    /// The entity whose rows the value refers to, if it is a reference.
    pub references: Option<ReferenceDef>,
    /// Its words are in the entity's full-text index, which `?q=` searches.
    pub searchable: bool,
}

/// Value types, as the runtime needs to know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `uuid`
    Uuid,
    /// `string`
    String,
    /// `text`
    Text,
    /// `integer`
    Integer,
    /// `float`
    Float,
    /// `boolean`
    Boolean,
    /// `enum`, with its wire values in spec order.
    Enum(&'static [&'static str]),
    /// `json`
    Json,
    /// `datetime`
    DateTime,
    /// `date`
    Date,
}

impl FieldKind {
    /// The value type, as the shared rules know it.
    pub fn value_type(self) -> ValueType {
        match self {
            FieldKind::Uuid => ValueType::Uuid,
            FieldKind::String => ValueType::String,
            FieldKind::Text => ValueType::Text,
            FieldKind::Integer => ValueType::Integer,
            FieldKind::Float => ValueType::Float,
            FieldKind::Boolean => ValueType::Boolean,
            FieldKind::Enum(_) => ValueType::Enum,
            FieldKind::Json => ValueType::Json,
            FieldKind::DateTime => ValueType::DateTime,
            FieldKind::Date => ValueType::Date,
        }
    }

    /// What a JSON value of this kind looks like, for messages.
    pub fn expectation(self) -> &'static str {
        match self {
            FieldKind::Uuid => "a UUID string",
            FieldKind::String | FieldKind::Text => "a string",
            FieldKind::Integer => "an integer",
            FieldKind::Float => "a number",
            FieldKind::Boolean => "true or false",
            FieldKind::Enum(_) => "one of the allowed values",
            FieldKind::Json => "any JSON value",
            FieldKind::DateTime => "an RFC 3339 date-time string",
            FieldKind::Date => "a YYYY-MM-DD date string",
        }
    }
}

/// A default value in a form that can live in a `static`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultDef {
    /// A boolean default.
    Bool(bool),
    /// An integer default.
    Int(i64),
    /// A float default.
    Float(f64),
    /// A string or enum default.
    Text(&'static str),
    /// A JSON default, as JSON text.
    Json(&'static str),
}

/// Who sets a field's value (the rule generated code and the runtime share).
pub use entity_spec_contract::Setter;

/// One index.
#[derive(Debug)]
pub struct IndexDef {
    /// Indexed fields, in order.
    pub fields: &'static [&'static str],
    /// Whether the combination must be unique.
    pub unique: bool,
}

impl EntityDef {
    /// The name of the tracked item action (e.g. `sync`), which scheduled runs execute.
    pub fn tracked_action(&self) -> Option<&'static str> {
        self.actions
            .iter()
            .find(|action| matches!(action.kind, entity_spec_contract::ActionKind::Tracked { .. }))
            .map(|action| action.name)
    }

    /// How the tracked action retries a failed attempt, if it does (the spec's `retry`).
    pub fn retry_policy(&self) -> Option<entity_spec_contract::RetryPolicy> {
        self.actions.iter().find_map(|action| match action.kind {
            entity_spec_contract::ActionKind::Tracked { retry, .. } => retry,
            _ => None,
        })
    }

    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The primary-key field.
    pub fn primary_key(&self) -> &'static FieldDef {
        self.fields.iter().find(|f| f.setter == Setter::PrimaryKey).unwrap_or(&self.fields[0])
    }

    /// The fields in its full-text index (`searchable`), in spec order; none: no `q=`.
    pub fn searchable_fields(&self) -> impl Iterator<Item = &'static FieldDef> + use<> {
        self.fields.iter().filter(|f| f.searchable)
    }

    /// Index of a field in column order.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Every unique constraint as a list of fields: unique fields and unique indexes.
    pub fn unique_constraints(&self) -> Vec<Vec<&'static str>> {
        let single = self.fields.iter().filter(|f| f.unique).map(|f| vec![f.name]);
        let indexes = self.indexes.iter().filter(|i| i.unique).map(|i| i.fields.to_vec());
        let mut all: Vec<Vec<&'static str>> = Vec::new();
        for constraint in single.chain(indexes) {
            if !all.contains(&constraint) {
                all.push(constraint);
            }
        }
        all
    }

    /// The fields that refer to other entities (or this one), in field order.
    pub fn references(&self) -> impl Iterator<Item = (&'static FieldDef, &'static ReferenceDef)> {
        self.fields.iter().filter_map(|f| f.references.as_ref().map(|r| (f, r)))
    }

    /// What the list rules (`entity_spec_contract::fields`) need to know about a field.
    pub fn facts(&self, field: &FieldDef) -> FieldFacts {
        FieldFacts {
            ty: field.kind.value_type(),
            setter: field.setter,
            unique: field.unique,
            // Every referencing column gets an index of its own (see `storage::migrations`).
            indexed: field.references.is_some() || self.indexes.iter().any(|index| index.fields.contains(&field.name)),
            sensitive: field.sensitive,
        }
    }

    /// Fields a list can be sorted by, in field order.
    pub fn sortable_fields(&self) -> Vec<&'static FieldDef> {
        self.fields.iter().filter(|f| self.facts(f).sortable()).collect()
    }

    /// Fields a list can be filtered by, in field order.
    pub fn filterable_fields(&self) -> impl Iterator<Item = &'static FieldDef> {
        self.fields.iter().filter(|f| self.facts(f).filterable())
    }

    /// Fields the statistics count rows by, in field order.
    pub fn grouped_fields(&self) -> impl Iterator<Item = &'static FieldDef> {
        self.fields.iter().filter(|f| self.facts(f).grouped())
    }
}
