//! The component schemas: the entity as responses carry it, its create, replace and patch
//! bodies, a page of a list, the statistics, problem details, runs, and action bodies. Field
//! constraints, defaults, `readOnly` and `writeOnly` come from the IR.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Ref, Schema, SchemaFormat,
    SchemaType, Type,
};

use crate::ir::{DefaultValue, EntityIr, FieldIr, FieldType, OnDelete};
use crate::json::{Number, ValueKind};
use entity_spec_contract::references::expansion_name;
use entity_spec_contract::{RunStatus, RunTrigger, patterns};

pub(super) fn patch_type_name(entity: &EntityIr) -> String {
    format!("{}Patch", entity.name)
}

pub(super) fn page_type_name(entity: &EntityIr) -> String {
    format!("{}Page", entity.name)
}

pub(super) fn stats_type_name(entity: &EntityIr) -> String {
    format!("{}Stats", entity.name)
}

pub(super) fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// The schema of a field's values, with its constraints: `null` is included when `nullable`.
/// Enums are inlined (not `$ref`s) so that `readOnly`, `writeOnly`, defaults and descriptions
/// can sit next to them.
pub(super) fn value_schema(field: &FieldIr, nullable: bool) -> ObjectBuilder {
    let c = &field.constraints;
    let typed = |t: Type| {
        if nullable {
            ObjectBuilder::new().schema_type(SchemaType::Array(vec![t, Type::Null]))
        } else {
            ObjectBuilder::new().schema_type(t)
        }
    };
    let format = |f: KnownFormat| Some(SchemaFormat::KnownFormat(f));
    match &field.ty {
        FieldType::Enum(enum_ir) => {
            let mut values: Vec<serde_json::Value> = enum_ir.values.iter().map(|v| v.value.clone().into()).collect();
            // JSON Schema checks `enum` before `type`: a nullable enum lists `null` too.
            if nullable {
                values.push(serde_json::Value::Null);
            }
            typed(Type::String).enum_values(Some(values))
        }
        FieldType::Json if nullable => json_value_keywords(ObjectBuilder::new().schema_type(SchemaType::AnyValue)),
        FieldType::Json => json_value_keywords(ObjectBuilder::new().schema_type(SchemaType::Array(vec![
            Type::Object,
            Type::Array,
            Type::String,
            Type::Number,
            Type::Boolean,
        ]))),
        FieldType::Uuid => typed(Type::String).format(format(KnownFormat::Uuid)),
        // The validators refuse U+0000 and blank required text. Without a spec pattern, one
        // `pattern` says both; with one, U+0000 is refused by a `not` beside it (utoipa's
        // object schema has no `not`; JSON Schema allows it on any schema). The `not` names
        // the string type: `pattern` alone holds for every non-string, so a bare `not` would
        // refuse the `null` of an optional field.
        FieldType::String | FieldType::Text => {
            let not_blank = field.required && c.pattern.is_none();
            let min_length = c.min_length.map(|n| n as usize).or(not_blank.then_some(1));
            let schema = typed(Type::String).max_length(c.max_length.map(|n| n as usize)).min_length(min_length);
            match &c.pattern {
                Some(pattern) => {
                    let no_nul: utoipa::openapi::extensions::Extensions =
                        [("not", serde_json::json!({"type": "string", "pattern": patterns::NUL}))]
                            .into_iter()
                            .collect();
                    schema.pattern(Some(pattern.clone())).extensions(Some(no_nul))
                }
                None if not_blank => schema.pattern(Some(patterns::NOT_BLANK_NO_NUL)),
                None => schema.pattern(Some(patterns::NO_NUL)),
            }
        }
        FieldType::Integer => typed(Type::Integer)
            .format(format(KnownFormat::Int64))
            .minimum(c.min.map(number))
            .maximum(c.max.map(number)),
        FieldType::Float => typed(Type::Number)
            .format(format(KnownFormat::Double))
            .minimum(c.min.map(number))
            .maximum(c.max.map(number)),
        FieldType::Boolean => typed(Type::Boolean),
        FieldType::DateTime => typed(Type::String).format(format(KnownFormat::DateTime)),
        FieldType::Date => typed(Type::String).format(format(KnownFormat::Date)),
    }
}

/// The name of the component every nested value of a `json` field refers to.
pub(super) const JSON_VALUE: &str = "JsonValue";

/// Any JSON value whose strings and object keys hold no U+0000 (PostgreSQL's `jsonb` cannot
/// store it, so the runtime refuses it on both databases): the component [`JSON_VALUE`], and
/// the top of every `json` field's schema. Recursive through `items` and
/// `additionalProperties`; each keyword applies only to values of its kind, so no `type`.
pub(super) fn json_value_keywords(schema: ObjectBuilder) -> ObjectBuilder {
    // utoipa's object schema has no `items`; JSON Schema allows it on any schema.
    let items: utoipa::openapi::extensions::Extensions =
        [("items", serde_json::json!({"$ref": format!("#/components/schemas/{JSON_VALUE}")}))].into_iter().collect();
    schema
        .pattern(Some(patterns::NO_NUL))
        .property_names(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some(patterns::NO_NUL))))
        .additional_properties(Some(AdditionalProperties::RefOr(schema_ref(JSON_VALUE))))
        .extensions(Some(items))
}

/// The [`JSON_VALUE`] component.
pub(super) fn json_value_schema() -> ObjectBuilder {
    json_value_keywords(ObjectBuilder::new().schema_type(SchemaType::AnyValue))
        .description(Some("Any JSON value; strings and object keys cannot contain U+0000."))
}

fn number(n: Number) -> utoipa::Number {
    match n {
        Number::Int(i) => utoipa::Number::Int(i as isize),
        Number::Float(f) => utoipa::Number::Float(f),
    }
}

/// A field's description: the spec's, and for a reference, which entity it refers to and
/// what deleting that row does.
fn field_description(field: &FieldIr) -> Option<String> {
    let Some(reference) = &field.references else { return field.description.clone() };
    let on_delete = match reference.on_delete {
        OnDelete::Restrict => "it cannot be deleted while this refers to it",
        OnDelete::Cascade => "deleting it deletes this item too",
        OnDelete::SetNull => "deleting it sets this field to null",
    };
    let refers =
        format!("The id of a `{}` (an existing one, else 422 `unknown_reference`); {on_delete}.", reference.entity);
    Some(match &field.description {
        Some(description) => format!("{description}\n\n{refers}"),
        None => refers,
    })
}

/// A field's property schema: its values, description, default (for inputs),
/// `readOnly` for server-set fields and `writeOnly` for sensitive ones.
fn property_schema(field: &FieldIr, nullable: bool, with_default: bool) -> Schema {
    let default = if with_default { field.default.as_ref().map(|d| default_json(field, d)) } else { None };
    // A nullable enum as `anyOf: [enum, null]` rather than a type union with `null` in the
    // values: equivalent JSON Schema, but client generators turn it into `Enum | None`.
    let nullable_enum = nullable && matches!(field.ty, FieldType::Enum(_));
    let mut schema = value_schema(field, nullable && !nullable_enum);
    if !nullable_enum {
        schema = schema.description(field_description(field)).default(default.clone());
    }
    // Set only when true: `false` is the default and would add noise to every property.
    if field.setter.is_server_set() {
        schema = schema.read_only(true);
    }
    if field.sensitive {
        schema = schema.write_only(true);
    }
    if !nullable_enum {
        return schema.into();
    }
    let mut any_of = AnyOfBuilder::new().item(schema).item(ObjectBuilder::new().schema_type(Type::Null)).build();
    any_of.description = field_description(field);
    any_of.default = default;
    Schema::AnyOf(any_of)
}

pub(crate) fn default_json(field: &FieldIr, default: &DefaultValue) -> serde_json::Value {
    match default {
        DefaultValue::Bool(b) => (*b).into(),
        DefaultValue::Integer(i) => (*i).into(),
        DefaultValue::Float(f) => (*f).into(),
        DefaultValue::String(s) => s.clone().into(),
        DefaultValue::Enum(index) => match &field.ty {
            FieldType::Enum(enum_ir) => enum_ir.values[*index].value.clone().into(),
            _ => serde_json::Value::Null,
        },
        DefaultValue::Json(value) => spec_json(value),
    }
}

fn spec_json(value: &crate::json::Value) -> serde_json::Value {
    match &value.kind {
        ValueKind::Null => serde_json::Value::Null,
        ValueKind::Bool(b) => (*b).into(),
        ValueKind::Number(Number::Int(i)) => (*i).into(),
        ValueKind::Number(Number::Float(f)) => (*f).into(),
        ValueKind::String(s) => s.clone().into(),
        ValueKind::Array(items) => items.iter().map(spec_json).collect(),
        ValueKind::Object(members) => members.iter().map(|m| (m.key.clone(), spec_json(&m.value))).collect(),
    }
}

/// The entity as responses carry it: every field but sensitive ones, all present (`null`
/// when empty), server-set ones read-only.
pub(super) fn entity_schema(entity: &EntityIr) -> ObjectBuilder {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(entity.description.clone())
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    for field in entity.fields.iter().filter(|f| !f.sensitive) {
        object = object
            .property(field.name.clone(), property_schema(field, field.nullable, false))
            .required(field.name.clone());
    }
    // Present only when asked for with `?expand=`, so never required.
    for (field, target) in entity.fields.iter().filter_map(|f| Some((f, f.references.as_ref()?))) {
        let name = expansion_name(&field.name);
        let mut embedded = AnyOfBuilder::new()
            .item(schema_ref(&target.entity))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build();
        embedded.description = Some(format!(
            "With `expand={name}`: the `{}` that `{}` refers to; `null` when it refers to none, or to one the caller may not see.",
            target.entity, field.name
        ));
        object = object.property(name, Schema::AnyOf(embedded));
    }
    object
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum InputKind {
    Create,
    Replace,
    Patch,
}

/// The client fields of a request body.
pub(super) fn input_schema(entity: &EntityIr, kind: InputKind) -> ObjectBuilder {
    let description = match kind {
        InputKind::Create => format!("Body of `POST {}`.", entity.collection_path),
        InputKind::Replace => format!(
            "Body of `PUT {}/{{id}}`: replaces the item; omitted optional fields are reset, omitted sensitive fields keep their value.",
            entity.collection_path
        ),
        InputKind::Patch => format!(
            "Body of `PATCH {}/{{id}}`: a JSON merge patch (RFC 7396); members present are changed, `null` clears an optional field.",
            entity.collection_path
        ),
    };
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    for field in entity.input_fields() {
        let required = match kind {
            InputKind::Create => field.required,
            InputKind::Replace => field.required && !field.sensitive,
            InputKind::Patch => false,
        };
        object = object.property(field.name.clone(), property_schema(field, field.nullable, kind != InputKind::Patch));
        if required {
            object = object.required(field.name.clone());
        }
    }
    object
}

pub(super) fn page_schema(entity: &EntityIr) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(format!("One page of {}.", entity.collection_path)))
        .property("items", ArrayBuilder::new().items(schema_ref(&entity.name)))
        .required("items")
        .property(
            "total",
            ObjectBuilder::new()
                .schema_type(SchemaType::Array(vec![Type::Integer, Type::Null]))
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0))
                .description(Some(
                    "How many items match the filters in all, as `count` asks: an estimate above its threshold with \
                     `count=estimated`, `null` with `count=none`.",
                )),
        )
        .required("total")
        .property(
            "next_cursor",
            ObjectBuilder::new()
                .schema_type(SchemaType::Array(vec![Type::String, Type::Null]))
                .description(Some("Pass as `cursor` to get the next page; `null` on the last page.")),
        )
        .required("next_cursor")
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

pub(super) fn stats_schema(entity: &EntityIr) -> ObjectBuilder {
    let count = || ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0));
    let mut counts = ObjectBuilder::new().schema_type(Type::Object);
    for field in entity.grouped_fields() {
        let values: Vec<&str> = match &field.ty {
            FieldType::Enum(enum_ir) => enum_ir.values.iter().map(|v| v.value.as_str()).collect(),
            _ => vec!["true", "false"],
        };
        let mut by_value = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(format!("Matching items per `{}` value.", field.name)));
        for value in values.into_iter().chain(field.nullable.then_some("null")) {
            by_value = by_value.property(value, count()).required(value);
        }
        let by_value = by_value.additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
        counts = counts.property(field.name.clone(), by_value).required(field.name.clone());
    }
    let mut stats = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(format!("Counts of {} items.", entity.name)))
        .property("total", count().description(Some("Items matching the filters.")))
        .required("total")
        .property("counts", counts.additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false))))
        .required("counts");
    if entity.tracking.is_some() {
        let runs = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(if entity.owner.is_some() {
                "What the entity's runs are doing (not narrowed by the filters). Rows are owned: only callers with the \
                 entity's admin scope get it."
            } else {
                "What the entity's runs are doing (not narrowed by the filters)."
            }))
            .property("queued", count())
            .required("queued")
            .property("running", count())
            .required("running")
            .property(
                "recent_failures",
                ArrayBuilder::new().items(schema_ref("Run")).description(Some("The newest failed runs, newest first.")),
            )
            .required("recent_failures")
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
        stats = stats.property("runs", runs);
        if entity.owner.is_none() {
            stats = stats.required("runs");
        }
    }
    stats.additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

pub(super) fn problem_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("An error (RFC 9457 problem details)."))
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::Custom("uri-reference".to_owned())))
                .description(Some("Stable identifier of the kind of problem, `urn:entity-spec:problem:<kind>`.")),
        )
        .required("type")
        .property("title", ObjectBuilder::new().schema_type(Type::String))
        .required("title")
        .property("status", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(400)).maximum(Some(599)))
        .required("status")
        .property("detail", ObjectBuilder::new().schema_type(Type::String))
        .required("detail")
        .property(
            "errors",
            ArrayBuilder::new()
                .items(schema_ref("FieldViolation"))
                .description(Some("Every field or parameter problem, for 400, 409 and 422.")),
        )
        .property(
            "request_id",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The request's id, as in the `X-Request-Id` response header and the server's log.")),
        )
}

pub(super) fn violation_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "field",
            ObjectBuilder::new().schema_type(Type::String).description(Some("The body field or query parameter.")),
        )
        .required("field")
        .property(
            "code",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("Stable code, e.g. `required`, `max_length`, `unique`, `unknown_parameter`.")),
        )
        .required("code")
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .required("message")
}

pub(super) fn run_schema() -> ObjectBuilder {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let time = |nullable: bool| {
        let types =
            if nullable { SchemaType::Array(vec![Type::String, Type::Null]) } else { SchemaType::Type(Type::String) };
        ObjectBuilder::new().schema_type(types).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
    };
    let uuid =
        || ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("One run of a tracked action."))
        .property("id", uuid())
        .required("id")
        .property("item_id", uuid())
        .required("item_id")
        .property("action", text())
        .required("action")
        .property("trigger", text().enum_values(Some(RunTrigger::NAMES.iter().copied())))
        .required("trigger")
        .property("status", text().enum_values(Some(RunStatus::NAMES.iter().copied())))
        .required("status")
        .property(
            "attempt",
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).description(Some(
                "Which attempt this run is: 1, or for a retry of a failed run (the action's `retry`), its number.",
            )),
        )
        .required("attempt")
        .property("queued_at", time(false))
        .required("queued_at")
        .property(
            "not_before",
            time(true).description(Some(
                "A queued retry waits for its backoff: no worker starts it before this time. `null` when the run could \
                 start as soon as it was queued.",
            )),
        )
        .required("not_before")
        .property("started_at", time(true))
        .required("started_at")
        .property("finished_at", time(true))
        .required("finished_at")
        .property("duration_ms", ObjectBuilder::new().schema_type(SchemaType::Array(vec![Type::Integer, Type::Null])))
        .required("duration_ms")
        .property(
            "message",
            ObjectBuilder::new()
                .schema_type(SchemaType::Array(vec![Type::String, Type::Null]))
                .description(Some("What the run reported: its outcome or its error.")),
        )
        .required("message")
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

pub(super) fn run_page_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("Runs of one item, newest first."))
        .property("items", ArrayBuilder::new().items(schema_ref("Run")))
        .required("items")
        .property("total", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
        .required("total")
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

pub(super) fn queued_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "queued",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .description(Some("How many items were queued (items already queued or running are skipped).")),
        )
        .required("queued")
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

/// An action's request body (no other members allowed) or response body (every non-null
/// field present).
pub(super) fn body_schema(fields: &[FieldIr], request: bool) -> ObjectBuilder {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    if request {
        object = object.additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    }
    for field in fields {
        object = object.property(field.name.clone(), property_schema(field, field.nullable, request));
        if field.required || (!request && !field.nullable) {
            object = object.required(field.name.clone());
        }
    }
    object
}
