//! What a field allows in a service: who sets it, and whether lists can be sorted, filtered,
//! range-filtered and grouped by it. The generator (OpenAPI parameters, workbench description)
//! and the runtime (query parsing, statistics) ask these same functions.

/// The value types of the spec format, without their constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
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
    /// `enum`
    Enum,
    /// `json`
    Json,
    /// `datetime`
    DateTime,
    /// `date`
    Date,
}

/// Who sets a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setter {
    /// The client, through create and update bodies.
    Client,
    /// The server generates it once (the primary key).
    PrimaryKey,
    /// The server stamps it on create (`auto_now_add`).
    AutoNowAdd,
    /// The server stamps it on create and every update (`auto_now`).
    AutoNow,
    /// The server owns it (`read_only`, or a field tracked runs report through); clients see
    /// it but cannot send it.
    ReadOnly,
}

impl Setter {
    /// Whether the server, not the client, sets the value.
    pub fn is_server_set(self) -> bool {
        self != Setter::Client
    }

    /// Whether the server stamps the time into it (so it gets an index and is sortable).
    pub fn is_timestamp(self) -> bool {
        matches!(self, Setter::AutoNow | Setter::AutoNowAdd)
    }
}

/// The facts about a field the list rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldFacts {
    /// Its value type.
    pub ty: ValueType,
    /// Who sets it.
    pub setter: Setter,
    /// A unique constraint on the field alone.
    pub unique: bool,
    /// Part of an index of the entity.
    pub indexed: bool,
    /// Never shown (a secret).
    pub sensitive: bool,
}

impl FieldFacts {
    /// A list can be sorted by every field it can be filtered by: not JSON documents (no order)
    /// nor secrets (an order would leak them). The primary key, unique and indexed fields and
    /// server timestamps sort through an index; any other field sorts by reading the whole
    /// filtered set, so a spec gives the fields its large tables sort by an index.
    pub fn sortable(&self) -> bool {
        self.filterable()
    }

    /// Whether sorting by the field uses an index (so a page costs the same at any depth).
    pub fn sorts_by_index(&self) -> bool {
        self.sortable()
            && (self.setter == Setter::PrimaryKey || self.unique || self.indexed || self.setter.is_timestamp())
    }

    /// A list can be filtered by every field but JSON documents and secrets (a filter on a
    /// secret would be an oracle for its value).
    pub fn filterable(&self) -> bool {
        self.ty != ValueType::Json && !self.sensitive
    }

    /// Filterable and ordered, so `__gt`, `__gte`, `__lt` and `__lte` apply.
    pub fn range_filterable(&self) -> bool {
        self.filterable()
            && matches!(self.ty, ValueType::Integer | ValueType::Float | ValueType::Date | ValueType::DateTime)
    }

    /// Filterable text, so `__contains`, `__icontains` and `__startswith` apply.
    pub fn text_searchable(&self) -> bool {
        self.filterable() && matches!(self.ty, ValueType::String | ValueType::Text)
    }

    /// The statistics count rows per value of filterable enums and booleans.
    pub fn grouped(&self) -> bool {
        self.filterable() && matches!(self.ty, ValueType::Enum | ValueType::Boolean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(ty: ValueType, setter: Setter) -> FieldFacts {
        FieldFacts { ty, setter, unique: false, indexed: false, sensitive: false }
    }

    #[test]
    fn every_filterable_field_sorts_and_keys_indexes_and_timestamps_by_index() {
        assert!(facts(ValueType::Uuid, Setter::PrimaryKey).sorts_by_index());
        assert!(facts(ValueType::DateTime, Setter::AutoNowAdd).sorts_by_index());
        assert!(facts(ValueType::String, Setter::Client).sortable());
        assert!(!facts(ValueType::String, Setter::Client).sorts_by_index());
        assert!(FieldFacts { indexed: true, ..facts(ValueType::String, Setter::Client) }.sorts_by_index());
        assert!(!FieldFacts { unique: true, ..facts(ValueType::Json, Setter::Client) }.sortable());
        assert!(!FieldFacts { sensitive: true, ..facts(ValueType::String, Setter::Client) }.sortable());
    }

    #[test]
    fn secrets_and_json_are_never_filters() {
        assert!(facts(ValueType::String, Setter::Client).filterable());
        assert!(!FieldFacts { sensitive: true, ..facts(ValueType::String, Setter::Client) }.filterable());
        assert!(!facts(ValueType::Json, Setter::Client).filterable());
        assert!(facts(ValueType::Date, Setter::Client).range_filterable());
        assert!(!facts(ValueType::String, Setter::Client).range_filterable());
        assert!(facts(ValueType::Boolean, Setter::Client).grouped());
        assert!(!facts(ValueType::Integer, Setter::Client).grouped());
    }
}
