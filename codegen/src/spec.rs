//! The spec file as written: structure, key names and JSON types, each with its position.
//!
//! This phase knows which keys exist and what JSON type each takes; what the values *mean*
//! (identifier rules, constraints that fit a type, defaults…) is `check/`'s job. Anything
//! the reader cannot make sense of is reported and left out, so the checks still run on the
//! rest and every problem surfaces in one round.

use crate::diagnostics::Diagnostics;
use crate::json::{self, Member, Number, Pos, Value, ValueKind};
use entity_spec_contract::suggest::suggestion;
use entity_spec_contract::text::printable;

/// A value together with the position it was read from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spanned<T> {
    /// Where the value starts in the spec file.
    pub pos: Pos,
    /// The value.
    pub value: T,
}

/// A whole spec file: `{"entities": [ … ]}`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SpecDoc {
    /// Position of the `entities` array (or of the document when it is missing).
    pub pos: Pos,
    /// The entities, in file order.
    pub entities: Vec<EntitySpec>,
}

/// One entity as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EntitySpec {
    /// Where the entity object starts.
    pub pos: Pos,
    /// How messages name this entity: ``entity `RawDataSource` `` or `entity #2`.
    pub context: String,
    /// `name`: PascalCase type name.
    pub name: Option<Spanned<String>>,
    /// `table`: the table name, when the derived plural does not suit.
    pub table: Option<Spanned<String>>,
    /// `layer`: free-form architectural layer (documentation only).
    pub layer: Option<Spanned<String>>,
    /// `description`: becomes the type's doc comment and OpenAPI description.
    pub description: Option<Spanned<String>>,
    /// `fields`, in file order.
    pub fields: Vec<FieldSpec>,
    /// Position of the `fields` array, for the "no primary key" error.
    pub fields_pos: Pos,
    /// `indexes`, in file order.
    pub indexes: Vec<IndexSpec>,
    /// `api`: HTTP options.
    pub api: Option<ApiSpec>,
}

/// One field as written (also used for action request and response fields).
#[derive(Clone, Debug, PartialEq, Default)]
pub(crate) struct FieldSpec {
    /// Where the field object starts.
    pub pos: Pos,
    /// How messages name this field, including its entity.
    pub context: String,
    /// `name`: snake_case field name.
    pub name: Option<Spanned<String>>,
    /// `type`: one of [`FIELD_TYPES`].
    pub ty: Option<Spanned<String>>,
    /// `values`: the variants of an `enum` field.
    pub values: Option<Spanned<Vec<Spanned<String>>>>,
    /// `primary_key`
    pub primary_key: Option<Spanned<bool>>,
    /// `required`
    pub required: Option<Spanned<bool>>,
    /// `unique`
    pub unique: Option<Spanned<bool>>,
    /// `sensitive`
    pub sensitive: Option<Spanned<bool>>,
    /// `read_only`
    pub read_only: Option<Spanned<bool>>,
    /// `auto_now_add`
    pub auto_now_add: Option<Spanned<bool>>,
    /// `auto_now`
    pub auto_now: Option<Spanned<bool>>,
    /// `max_length`
    pub max_length: Option<Spanned<u64>>,
    /// `min_length`
    pub min_length: Option<Spanned<u64>>,
    /// `min`
    pub min: Option<Spanned<Number>>,
    /// `max`
    pub max: Option<Spanned<Number>>,
    /// `pattern`
    pub pattern: Option<Spanned<String>>,
    /// `default`, any JSON value (checked against the type later).
    pub default: Option<Value>,
    /// `description`
    pub description: Option<Spanned<String>>,
    /// `references`: the entity whose rows the value refers to.
    pub references: Option<Spanned<String>>,
    /// `on_delete`: what deleting the referenced row does (`restrict`, `cascade`, `set_null`).
    pub on_delete: Option<Spanned<String>>,
    /// `searchable`: the field's words are in the entity's full-text index (`?q=`).
    pub searchable: Option<Spanned<bool>>,
}

/// One index as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IndexSpec {
    /// Where the index object starts.
    pub pos: Pos,
    /// How messages name this index.
    pub context: String,
    /// `fields`: the indexed field names, in order.
    pub fields: Vec<Spanned<String>>,
    /// Position of the `fields` array.
    pub fields_pos: Pos,
    /// `unique`
    pub unique: Option<Spanned<bool>>,
}

/// The `api` object of an entity.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiSpec {
    /// Where the `api` object starts.
    pub pos: Pos,
    /// `path`: the collection path, e.g. `/raw-data-sources`.
    pub path: Option<Spanned<String>>,
    /// `tracking`: the fields a tracked action reports through.
    pub tracking: Option<TrackingSpec>,
    /// `actions`: custom endpoints.
    pub actions: Vec<ActionSpec>,
    /// `access`: who may use the routes.
    pub access: Option<AccessSpec>,
}

/// The `api.access` object: scope names.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AccessSpec {
    /// How messages name it.
    pub context: String,
    /// `scopes`: permission key (`read`, `write`, `admin` or an action's name) → scope name,
    /// in spec order; the keys are checked in `check::access`.
    pub scopes: Vec<(Spanned<String>, Spanned<String>)>,
    /// `owner`: the field holding each row's owner (the creating credential's subject).
    pub owner: Option<Spanned<String>>,
    /// How messages name the `access` object itself.
    pub owner_context: String,
}

/// The `api.tracking` object: field names for tracked runs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TrackingSpec {
    /// Where the object starts.
    pub pos: Pos,
    /// How messages name it.
    pub context: String,
    /// `status`: enum field with pending/syncing/success/failed.
    pub status: Option<Spanned<String>>,
    /// `last_run`: datetime field stamped when a run ends.
    pub last_run: Option<Spanned<String>>,
    /// `error`: text field holding the last failure.
    pub error: Option<Spanned<String>>,
    /// `active`: boolean field; inactive items are not run.
    pub active: Option<Spanned<String>>,
    /// `interval`: integer field, seconds between scheduled runs.
    pub interval: Option<Spanned<String>>,
}

/// One custom action as written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ActionSpec {
    /// Where the action object starts.
    pub pos: Pos,
    /// How messages name this action.
    pub context: String,
    /// `name`: snake_case method name.
    pub name: Option<Spanned<String>>,
    /// `scope`: `item` or `collection`.
    pub scope: Option<Spanned<String>>,
    /// `method`: HTTP method, default `POST`.
    pub method: Option<Spanned<String>>,
    /// `path`: the last path segment, default: kebab-case of the name.
    pub path: Option<Spanned<String>>,
    /// `summary`: one line for the API docs.
    pub summary: Option<Spanned<String>>,
    /// `description`: longer text for the API docs.
    pub description: Option<Spanned<String>>,
    /// `request`: fields of the request body, if it has one.
    pub request: Option<Vec<FieldSpec>>,
    /// `response`: fields of the response body, if it has one.
    pub response: Option<Vec<FieldSpec>>,
    /// `tracked`: run in the background as a tracked run (item actions).
    pub tracked: Option<Spanned<bool>>,
    /// `runs`: the tracked item action a collection action queues for every active item.
    pub runs: Option<Spanned<String>>,
    /// `history`: the path segment listing a tracked action's runs (default: plural of `path`).
    pub history: Option<Spanned<String>>,
    /// `retry`: how a tracked action's failed attempts are retried.
    pub retry: Option<RetrySpec>,
}

/// The `retry` object of a tracked action.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RetrySpec {
    /// Where the object starts.
    pub pos: Pos,
    /// How messages name it.
    pub context: String,
    /// `attempts`: attempts in all, the first included.
    pub attempts: Option<Spanned<u64>>,
    /// `backoff_secs`: the longest wait before the first retry, doubling for each later one.
    pub backoff_secs: Option<Spanned<u64>>,
}

/// The field types a spec may use.
pub(crate) const FIELD_TYPES: &[&str] =
    &["uuid", "string", "text", "integer", "float", "boolean", "enum", "json", "datetime", "date"];

const DOC_KEYS: &[&str] = &["entities"];
const ENTITY_KEYS: &[&str] = &["name", "table", "layer", "description", "fields", "indexes", "api"];
const FIELD_KEYS: &[&str] = &[
    "name",
    "type",
    "values",
    "primary_key",
    "required",
    "unique",
    "sensitive",
    "read_only",
    "auto_now_add",
    "auto_now",
    "max_length",
    "min_length",
    "min",
    "max",
    "pattern",
    "default",
    "description",
    "references",
    "on_delete",
    "searchable",
];
const INDEX_KEYS: &[&str] = &["fields", "unique"];
const API_KEYS: &[&str] = &["path", "tracking", "actions", "access"];
const ACCESS_KEYS: &[&str] = &["scopes", "owner"];
const TRACKING_KEYS: &[&str] = &["status", "last_run", "error", "active", "interval"];
const ACTION_KEYS: &[&str] = &[
    "name",
    "scope",
    "method",
    "path",
    "summary",
    "description",
    "request",
    "response",
    "tracked",
    "runs",
    "history",
    "retry",
];
const RETRY_KEYS: &[&str] = &["attempts", "backoff_secs"];

/// Reads a spec document. Structural problems go to `diagnostics`; whatever could be read is
/// returned so the checks can look at it too.
pub(crate) fn read(source: &str, diagnostics: &mut Diagnostics) -> Option<SpecDoc> {
    let root = match json::parse(source) {
        Ok(root) => root,
        Err(syntax) => {
            diagnostics.error(syntax.pos, "", format!("malformed JSON: {}", syntax.message));
            return None;
        }
    };
    if let ValueKind::Object(members) = &root.kind {
        // A bare entity is the most likely mistake (the seed spec is one); say how to fix it.
        if members.iter().any(|m| m.key == "fields") && !members.iter().any(|m| m.key == "entities") {
            diagnostics.error(
                root.pos,
                "",
                "expected a spec document `{\"entities\": [ … ]}`, found a single entity; wrap it as `{\"entities\": [ <entity> ]}`",
            );
            return None;
        }
    }
    let doc = Object::read(&root, "", DOC_KEYS, diagnostics)?;
    let Some(entities) = doc.required("entities", diagnostics) else {
        return Some(SpecDoc { pos: root.pos, entities: Vec::new() });
    };
    let items = array(entities, "", "entities", diagnostics).unwrap_or_default();
    let entities = items.iter().enumerate().filter_map(|(i, v)| read_entity(v, i, diagnostics)).collect();
    Some(SpecDoc { pos: entities_pos(&root), entities })
}

fn entities_pos(root: &Value) -> Pos {
    match &root.kind {
        ValueKind::Object(members) => members.iter().find(|m| m.key == "entities").map_or(root.pos, |m| m.value.pos),
        _ => root.pos,
    }
}

/// Reads one entity object (the same shape `entity-spec request` puts in issues).
pub(crate) fn read_entity(value: &Value, index: usize, diagnostics: &mut Diagnostics) -> Option<EntitySpec> {
    let provisional = format!("entity #{}", index + 1);
    let name = name_of(value);
    let context = match &name {
        Some(name) => format!("entity `{name}`"),
        None => provisional,
    };
    let object = Object::read(value, &context, ENTITY_KEYS, diagnostics)?;
    let name = object.required("name", diagnostics).and_then(|v| string(v, &context, "name", diagnostics));
    let table = object.get("table").and_then(|v| string(v, &context, "table", diagnostics));
    let layer = object.get("layer").and_then(|v| string(v, &context, "layer", diagnostics));
    let description = object.get("description").and_then(|v| string(v, &context, "description", diagnostics));
    let fields_value = object.required("fields", diagnostics);
    let fields_pos = fields_value.map_or(value.pos, |v| v.pos);
    let fields = fields_value
        .and_then(|v| array(v, &context, "fields", diagnostics))
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, v)| read_field(v, &context, i, diagnostics))
        .collect();
    let indexes = object
        .get("indexes")
        .and_then(|v| array(v, &context, "indexes", diagnostics))
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, v)| read_index(v, &context, i, diagnostics))
        .collect();
    let api = object.get("api").and_then(|v| read_api(v, &context, diagnostics));
    Some(EntitySpec { pos: value.pos, context, name, table, layer, description, fields, fields_pos, indexes, api })
}

fn read_field(value: &Value, owner: &str, index: usize, diagnostics: &mut Diagnostics) -> Option<FieldSpec> {
    let context = match name_of(value) {
        Some(name) => format!("{owner}, field `{name}`"),
        None => format!("{owner}, field #{}", index + 1),
    };
    let object = Object::read(value, &context, FIELD_KEYS, diagnostics)?;
    let ctx = context.as_str();
    let flag = |key: &str, d: &mut Diagnostics| object.get(key).and_then(|v| boolean(v, ctx, key, d));
    let length = |key: &str, d: &mut Diagnostics| object.get(key).and_then(|v| non_negative(v, ctx, key, d));
    let bound = |key: &str, d: &mut Diagnostics| object.get(key).and_then(|v| number(v, ctx, key, d));
    let text = |key: &str, d: &mut Diagnostics| object.get(key).and_then(|v| string(v, ctx, key, d));
    let values = object.get("values").and_then(|v| {
        let items = array(v, ctx, "values", diagnostics)?;
        let strings = items.iter().filter_map(|item| string(item, ctx, "values", diagnostics)).collect();
        Some(Spanned { pos: v.pos, value: strings })
    });
    Some(FieldSpec {
        pos: value.pos,
        name: object.required("name", diagnostics).and_then(|v| string(v, ctx, "name", diagnostics)),
        ty: object.required("type", diagnostics).and_then(|v| string(v, ctx, "type", diagnostics)),
        values,
        primary_key: flag("primary_key", diagnostics),
        required: flag("required", diagnostics),
        unique: flag("unique", diagnostics),
        sensitive: flag("sensitive", diagnostics),
        read_only: flag("read_only", diagnostics),
        auto_now_add: flag("auto_now_add", diagnostics),
        auto_now: flag("auto_now", diagnostics),
        max_length: length("max_length", diagnostics),
        min_length: length("min_length", diagnostics),
        min: bound("min", diagnostics),
        max: bound("max", diagnostics),
        pattern: text("pattern", diagnostics),
        default: object.get("default").cloned(),
        description: text("description", diagnostics),
        references: text("references", diagnostics),
        on_delete: text("on_delete", diagnostics),
        searchable: flag("searchable", diagnostics),
        context,
    })
}

fn read_index(value: &Value, owner: &str, index: usize, diagnostics: &mut Diagnostics) -> Option<IndexSpec> {
    let context = format!("{owner}, index #{}", index + 1);
    let object = Object::read(value, &context, INDEX_KEYS, diagnostics)?;
    let fields_value = object.required("fields", diagnostics);
    let fields = fields_value
        .and_then(|v| array(v, &context, "fields", diagnostics))
        .unwrap_or_default()
        .iter()
        .filter_map(|v| string(v, &context, "fields", diagnostics))
        .collect();
    let unique = object.get("unique").and_then(|v| boolean(v, &context, "unique", diagnostics));
    Some(IndexSpec { pos: value.pos, fields, fields_pos: fields_value.map_or(value.pos, |v| v.pos), unique, context })
}

fn read_api(value: &Value, owner: &str, diagnostics: &mut Diagnostics) -> Option<ApiSpec> {
    let context = format!("{owner}, api");
    let object = Object::read(value, &context, API_KEYS, diagnostics)?;
    let path = object.get("path").and_then(|v| string(v, &context, "path", diagnostics));
    let tracking = object.get("tracking").and_then(|v| {
        let ctx = format!("{owner}, api.tracking");
        let tracking = Object::read(v, &ctx, TRACKING_KEYS, diagnostics)?;
        let field = |key: &str, d: &mut Diagnostics| tracking.get(key).and_then(|v| string(v, &ctx, key, d));
        Some(TrackingSpec {
            pos: v.pos,
            status: tracking.required("status", diagnostics).and_then(|v| string(v, &ctx, "status", diagnostics)),
            last_run: tracking.required("last_run", diagnostics).and_then(|v| string(v, &ctx, "last_run", diagnostics)),
            error: field("error", diagnostics),
            active: field("active", diagnostics),
            interval: field("interval", diagnostics),
            context: ctx.clone(),
        })
    });
    let actions = object
        .get("actions")
        .and_then(|v| array(v, &context, "actions", diagnostics))
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, v)| read_action(v, owner, i, diagnostics))
        .collect();
    let access = object.get("access").and_then(|v| read_access(v, owner, diagnostics));
    Some(ApiSpec { pos: value.pos, path, tracking, actions, access })
}

fn read_access(value: &Value, owner: &str, diagnostics: &mut Diagnostics) -> Option<AccessSpec> {
    let context = format!("{owner}, api.access");
    let object = Object::read(value, &context, ACCESS_KEYS, diagnostics)?;
    let ctx = format!("{owner}, api.access.scopes");
    let scopes = object.get("scopes").map_or_else(Vec::new, |v| {
        let ValueKind::Object(members) = &v.kind else {
            type_error(v, &context, "scopes", "an object", diagnostics);
            return Vec::new();
        };
        let mut scopes: Vec<(Spanned<String>, Spanned<String>)> = Vec::new();
        for member in members {
            if scopes.iter().any(|(key, _)| key.value == member.key) {
                diagnostics.error(member.key_pos, &ctx, format!("duplicate key `{}`", printable(&member.key)));
            } else if let Some(scope) = string(&member.value, &ctx, &member.key, diagnostics) {
                scopes.push((Spanned { pos: member.key_pos, value: member.key.clone() }, scope));
            }
        }
        scopes
    });
    let owner = object.get("owner").and_then(|v| string(v, &context, "owner", diagnostics));
    Some(AccessSpec { context: ctx, scopes, owner, owner_context: context })
}

fn read_action(value: &Value, owner: &str, index: usize, diagnostics: &mut Diagnostics) -> Option<ActionSpec> {
    let context = match name_of(value) {
        Some(name) => format!("{owner}, action `{name}`"),
        None => format!("{owner}, action #{}", index + 1),
    };
    let object = Object::read(value, &context, ACTION_KEYS, diagnostics)?;
    let ctx = context.as_str();
    let text = |key: &str, d: &mut Diagnostics| object.get(key).and_then(|v| string(v, ctx, key, d));
    let body = |key: &str, d: &mut Diagnostics| {
        let items = array(object.get(key)?, ctx, key, d)?;
        let owner = format!("{ctx}, {key}");
        Some(items.iter().enumerate().filter_map(|(i, v)| read_field(v, &owner, i, d)).collect())
    };
    Some(ActionSpec {
        pos: value.pos,
        name: object.required("name", diagnostics).and_then(|v| string(v, ctx, "name", diagnostics)),
        scope: text("scope", diagnostics),
        method: text("method", diagnostics),
        path: text("path", diagnostics),
        summary: text("summary", diagnostics),
        description: text("description", diagnostics),
        request: body("request", diagnostics),
        response: body("response", diagnostics),
        tracked: object.get("tracked").and_then(|v| boolean(v, ctx, "tracked", diagnostics)),
        runs: text("runs", diagnostics),
        history: text("history", diagnostics),
        retry: object.get("retry").and_then(|v| read_retry(v, ctx, diagnostics)),
        context,
    })
}

fn read_retry(value: &Value, action: &str, diagnostics: &mut Diagnostics) -> Option<RetrySpec> {
    let context = format!("{action}, retry");
    let object = Object::read(value, &context, RETRY_KEYS, diagnostics)?;
    let count = |key: &str, d: &mut Diagnostics| object.get(key).and_then(|v| non_negative(v, &context, key, d));
    Some(RetrySpec {
        pos: value.pos,
        attempts: object
            .required("attempts", diagnostics)
            .and_then(|v| non_negative(v, &context, "attempts", diagnostics)),
        backoff_secs: count("backoff_secs", diagnostics),
        context: context.clone(),
    })
}

/// The `name` string of an object, if it has one, to name it in messages before it is checked.
/// Only printable ASCII names are echoed, so a hostile name cannot garble the message.
fn name_of(value: &Value) -> Option<String> {
    let ValueKind::Object(members) = &value.kind else { return None };
    let member = members.iter().find(|m| m.key == "name")?;
    match &member.value.kind {
        ValueKind::String(s) if !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_graphic()) => {
            Some(s.clone())
        }
        _ => None,
    }
}

/// An object whose keys were checked against the allowed list.
struct Object<'a> {
    members: &'a [Member],
    pos: Pos,
    context: &'a str,
}

impl<'a> Object<'a> {
    /// Reports unknown keys (with a suggestion) and duplicate keys, then gives access to the
    /// allowed ones.
    fn read(value: &'a Value, context: &'a str, allowed: &[&str], diagnostics: &mut Diagnostics) -> Option<Self> {
        let ValueKind::Object(members) = &value.kind else {
            diagnostics.error(value.pos, context, format!("expected an object, found {}", value.kind.describe()));
            return None;
        };
        for (i, member) in members.iter().enumerate() {
            if !allowed.contains(&member.key.as_str()) {
                let hint = suggestion(&member.key, allowed.iter().copied());
                let hint = if hint.is_empty() { format!("; expected one of: {}", allowed.join(", ")) } else { hint };
                diagnostics.error(member.key_pos, context, format!("unknown key `{}`{hint}", printable(&member.key)));
            } else if members[..i].iter().any(|earlier| earlier.key == member.key) {
                diagnostics.error(member.key_pos, context, format!("duplicate key `{}`", member.key));
            }
        }
        Some(Object { members, pos: value.pos, context })
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.members.iter().find(|m| m.key == key).map(|m| &m.value)
    }

    fn required(&self, key: &str, diagnostics: &mut Diagnostics) -> Option<&'a Value> {
        let value = self.get(key);
        if value.is_none() {
            diagnostics.error(self.pos, self.context, format!("missing required key `{key}`"));
        }
        value
    }
}

fn type_error(value: &Value, context: &str, key: &str, expected: &str, diagnostics: &mut Diagnostics) {
    diagnostics.error(value.pos, context, format!("`{key}` must be {expected}, found {}", value.kind.describe()));
}

fn string(value: &Value, context: &str, key: &str, diagnostics: &mut Diagnostics) -> Option<Spanned<String>> {
    match &value.kind {
        ValueKind::String(s) => Some(Spanned { pos: value.pos, value: s.clone() }),
        _ => {
            type_error(value, context, key, "a string", diagnostics);
            None
        }
    }
}

fn boolean(value: &Value, context: &str, key: &str, diagnostics: &mut Diagnostics) -> Option<Spanned<bool>> {
    match value.kind {
        ValueKind::Bool(b) => Some(Spanned { pos: value.pos, value: b }),
        _ => {
            type_error(value, context, key, "`true` or `false`", diagnostics);
            None
        }
    }
}

fn number(value: &Value, context: &str, key: &str, diagnostics: &mut Diagnostics) -> Option<Spanned<Number>> {
    match value.kind {
        ValueKind::Number(n) => Some(Spanned { pos: value.pos, value: n }),
        _ => {
            type_error(value, context, key, "a number", diagnostics);
            None
        }
    }
}

fn non_negative(value: &Value, context: &str, key: &str, diagnostics: &mut Diagnostics) -> Option<Spanned<u64>> {
    match value.kind {
        ValueKind::Number(Number::Int(n)) if n >= 0 => Some(Spanned { pos: value.pos, value: n as u64 }),
        _ => {
            type_error(value, context, key, "a non-negative integer", diagnostics);
            None
        }
    }
}

fn array<'a>(value: &'a Value, context: &str, key: &str, diagnostics: &mut Diagnostics) -> Option<&'a [Value]> {
    match &value.kind {
        ValueKind::Array(items) => Some(items),
        _ => {
            type_error(value, context, key, "an array", diagnostics);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(source: &str) -> Vec<String> {
        let mut diagnostics = Diagnostics::default();
        read(source, &mut diagnostics);
        match diagnostics.finish(()) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn reads_the_reference_spec_without_errors() {
        let source = include_str!("../../specs/entities.json");
        let mut diagnostics = Diagnostics::default();
        let doc = read(source, &mut diagnostics).unwrap();
        assert!(diagnostics.finish(()).is_ok());
        assert_eq!(doc.entities[0].name.as_ref().unwrap().value, "RawDataSource");
        assert!(doc.entities[0].fields.len() >= 14);
    }

    #[test]
    fn unknown_and_duplicate_keys_are_reported_with_suggestions() {
        let found = errors(
            r#"{"entities": [{"name": "A", "fields": [
                {"name": "id", "type": "uuid", "primary_key": true, "max_lenght": 3, "type": "uuid"}
            ]}]}"#,
        );
        assert_eq!(
            found,
            [
                "2:69: entity `A`, field `id`: unknown key `max_lenght`; did you mean `max_length`?",
                "2:86: entity `A`, field `id`: duplicate key `type`",
            ]
        );
    }

    #[test]
    fn wrong_json_types_name_the_key() {
        let found =
            errors(r#"{"entities": [{"name": "A", "fields": [{"name": "n", "type": "string", "max_length": "10"}]}]}"#);
        assert_eq!(found, ["1:86: entity `A`, field `n`: `max_length` must be a non-negative integer, found a string"]);
    }

    #[test]
    fn a_bare_entity_gets_a_hint_to_wrap_it() {
        let found = errors(r#"{"name": "A", "fields": []}"#);
        assert!(found[0].contains("wrap it as"), "{found:?}");
    }
}
