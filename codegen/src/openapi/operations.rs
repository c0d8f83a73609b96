//! The operations of an entity's collection and items: list (with its filter, sort and paging
//! parameters), statistics, create, read, replace, patch and delete, with every response the
//! runtime can give; and the parameter and response pieces the action operations reuse.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Required};

use crate::ir::{EntityIr, FieldIr, FieldType};
use entity_spec_contract::limits::{BODY_LIMIT_TEXT, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use entity_spec_contract::lists::{CSV_MEDIA_TYPE, CountMode, EXACT_COUNT_UP_TO, ListFormat, takes_option};
use entity_spec_contract::patterns;
use entity_spec_contract::references::expansion_name;
use entity_spec_contract::routes::NestedDef;
use entity_spec_contract::search::{MAX_SEARCH_CHARS, SEARCH_PARAMETER};

use super::schemas::{page_type_name, patch_type_name, schema_ref, stats_type_name, value_schema};

pub(super) fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", ContentBuilder::new().schema(Some(schema_ref("Problem"))).build())
        .build()
}

/// A 429 problem with its `Retry-After` header.
pub(super) fn too_many(description: &str) -> Response {
    let mut response = problem(description);
    let retry_after = HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0))))
        .description(Some("Seconds to wait before retrying."))
        .build();
    response.headers.insert("Retry-After".to_owned(), retry_after.into());
    response
}

pub(super) fn json_body(description: &str, schema: RefOr<Schema>, etag: bool) -> ResponseBuilder {
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(schema)).build());
    if etag {
        response = response.header("ETag", etag_header());
    }
    response
}

fn etag_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some("The item's version; send it back in `If-Match` to update only that version."))
        .build()
}

pub(super) fn id_parameter(entity: &EntityIr) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(format!("The {}'s id. An id that is not a UUID is answered with 404.", entity.name)))
        .schema(Some(
            ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        ))
        .build()
}

fn header_parameter(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

fn if_match() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("If-Match")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Apply only if the item is still at one of these `ETag`s (or `*`: at any version); otherwise 412. \
             A value that is not `*` or a list of entity tags is a 400.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some(patterns::IF_MATCH))))
        .build()
}

pub(super) fn query_parameter(
    name: String,
    description: String,
    schema: impl Into<RefOr<Schema>>,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// `offset`: 0 to `i64::MAX`, what both databases take.
pub(super) fn offset_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
}

/// A regular expression for a comma list of `item`s.
fn comma_list(item: &str) -> String {
    format!("^({item})(,({item}))*$")
}

pub(super) fn body(entity_schema: &str, merge_patch: bool) -> utoipa::openapi::request_body::RequestBody {
    let content = || ContentBuilder::new().schema(Some(schema_ref(entity_schema))).build();
    let mut body = RequestBodyBuilder::new().required(Some(Required::True));
    if merge_patch {
        body = body.content("application/merge-patch+json", content());
    }
    body.content("application/json", content()).build()
}

const MALFORMED_IF_MATCH: &str = "`If-Match` is not `*` or a list of entity tags.";

/// The errors of a write with a body to `entity`; `conditional` when it takes `If-Match`.
fn write_errors(entity: &EntityIr, operation: OperationBuilder, conditional: bool) -> OperationBuilder {
    let invalid = "The body breaks the entity's rules; `errors` lists every violation.";
    let invalid = match entity.fields.iter().any(|f| f.references.is_some()) {
        true => format!("{invalid} A reference naming no existing row is a violation with code `unknown_reference`."),
        false => invalid.to_owned(),
    };
    let malformed = "The body is not JSON, or not a JSON object.";
    let malformed = if conditional { format!("{malformed} Or: {MALFORMED_IF_MATCH}") } else { malformed.to_owned() };
    operation
        .response("400", problem(&malformed))
        .response("409", problem("A unique field would be duplicated (`errors` name the fields), or other writes kept changing the item."))
        .response("413", problem(&format!("The body is larger than {BODY_LIMIT_TEXT}.")))
        .response("415", problem("The body is not declared as JSON."))
        .response("422", problem(&invalid))
        .response("default", problem("Server error (500) or database unavailable (503)."))
}

pub(super) fn list_operation(entity: &EntityIr) -> OperationBuilder {
    let sort_values: Vec<String> =
        entity.sortable_fields().flat_map(|f| [f.name.clone(), format!("-{}", f.name)]).collect();
    let mut operation = OperationBuilder::new()
        .operation_id(Some(format!("list{}", plural_pascal(entity))))
        .tag(entity.name.clone())
        .summary(Some(format!("List {}", entity.collection_path)))
        .description(Some(
            "Filters combine with AND. Unknown or repeated parameters and bad values are answered with 400 naming the parameter. \
             Use either `offset` or `cursor`."
                .to_owned(),
        ))
        .parameter(query_parameter(
            "limit".to_owned(),
            format!("Page size (default {DEFAULT_PAGE_SIZE})."),
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(MAX_PAGE_SIZE as isize)).default(Some(DEFAULT_PAGE_SIZE.into())),
        ))
        .parameter(query_parameter(
            "offset".to_owned(),
            "Items to skip.".to_owned(),
            offset_schema(),
        ))
        .parameter(query_parameter(
            "cursor".to_owned(),
            "The `next_cursor` of the previous page, with the same filters and sort (empty: the first page). \
             Not with an `offset` above 0."
                .to_owned(),
            ObjectBuilder::new().schema_type(Type::String),
        ))
        .parameter(query_parameter(
            "sort".to_owned(),
            format!(
                "Sort field; `-` for descending. Ties are broken by id, so pages never skip or repeat items. \
                 Through an index: {}; any other field reads every matching item.",
                entity
                    .fields
                    .iter()
                    .filter(|f| entity.facts(f).sorts_by_index())
                    .map(|f| format!("`{}`", f.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(sort_values)),
        ));
    let field_names = || entity.fields.iter().map(|f| f.name.as_str());
    if takes_option("count", field_names()) {
        operation = operation.parameter(query_parameter(
            "count".to_owned(),
            format!(
                "How `total` is counted: `exact` (the default) counts every match; `estimated` counts exactly up to \
                 {EXACT_COUNT_UP_TO} matches and above that takes PostgreSQL's planner estimate (SQLite counts exactly); \
                 `none` does not count (`total` is `null`), so a page costs only its rows."
            ),
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(CountMode::NAMES.iter().copied()))
                .default(Some(CountMode::Exact.as_str().into())),
        ));
    }
    if takes_option("format", field_names()) {
        operation = operation.parameter(query_parameter(
            "format".to_owned(),
            "`csv` answers CSV, as `Accept: text/csv` does (without `limit`, every matching item); `json` (the default) a page."
                .to_owned(),
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(ListFormat::NAMES.iter().copied()))
                .default(Some(ListFormat::Json.as_str().into())),
        ));
    }
    if let Some(expand) = expand_parameter(entity) {
        operation = operation.parameter(expand);
    }
    let order = "Without `sort`, ordered by relevance, best first, and `next_cursor` follows that order; with `sort`, \
                 a filter.";
    if let Some(search) = search_parameter(entity, order) {
        operation = operation.parameter(search);
    }
    for parameter in filter_parameters(entity) {
        operation = operation.parameter(parameter);
    }
    let csv = ContentBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).description(Some(
            "RFC 4180 CSV with a header row: every field but sensitive ones, in spec order, then each expanded \
             reference; empty for null, JSON for objects and arrays; text starting with `=`, `+`, `-`, `@`, tab or \
             carriage return gets a leading `'`.",
        ))))
        .build();
    let page = json_body(
        "One page of items. With `Accept: text/csv` or `format=csv`: CSV of the page `limit` asks for, or without \
         `limit` of every matching item from where `offset` or `cursor` start, in the sort order, streamed; \
         expanded references are columns of JSON after the fields; an export has no total, so `count` changes nothing.",
        schema_ref(&page_type_name(entity)),
        false,
    )
    .content(CSV_MEDIA_TYPE, csv);
    operation
        .response("200", page.build())
        .response(
            "400",
            problem("A query parameter is unknown, repeated or has a bad value; `errors[0].field` names it."),
        )
        .response("default", problem("Server error (500) or database unavailable (503)."))
}

/// The filter parameters of a list (and of the statistics, which take the same filters).
fn filter_parameters(entity: &EntityIr) -> Vec<utoipa::openapi::path::Parameter> {
    let mut parameters = Vec::new();
    for field in entity.filterable_fields() {
        let name = &field.name;
        let equality: Schema = match &field.ty {
            FieldType::Enum(enum_ir) => {
                let values = enum_ir.values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>().join("|");
                ObjectBuilder::new().schema_type(Type::String).pattern(Some(comma_list(&values))).into()
            }
            // Constraints describe stored values, not what may be searched for (a blank
            // value of a required field included).
            _ => {
                let plain = FieldIr { constraints: Default::default(), required: false, ..field.clone() };
                value_schema(&plain, false).into()
            }
        };
        let equality_description = match field.ty {
            FieldType::Enum(_) => format!("`{name}` equals the value, or one of a comma-separated list."),
            _ => format!("`{name}` equals the value."),
        };
        parameters.push(query_parameter(name.clone(), equality_description, equality.clone()));
        // A comma-separated list (`style: form, explode: false`) of values, each as the
        // equality filter takes it: the item schema is exactly what the server parses.
        let item = match &field.ty {
            FieldType::Enum(enum_ir) => ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(enum_ir.values.iter().map(|v| v.value.clone())))
                .into(),
            _ => equality.clone(),
        };
        let mut list = query_parameter(
            format!("{name}__in"),
            format!("`{name}` is one of the comma-separated values."),
            ArrayBuilder::new().items(RefOr::T(item)).min_items(Some(1)),
        );
        list.style = Some(ParameterStyle::Form);
        list.explode = Some(false);
        parameters.push(list);
        if entity.facts(field).range_filterable() {
            for (suffix, meaning) in
                [("gt", "greater than"), ("gte", "at least"), ("lt", "less than"), ("lte", "at most")]
            {
                parameters.push(query_parameter(
                    format!("{name}__{suffix}"),
                    format!("`{name}` is {meaning} the value."),
                    equality.clone(),
                ));
            }
        }
        if entity.facts(field).text_searchable() {
            for (suffix, meaning) in [
                ("contains", "contains the text (case-sensitive)"),
                ("icontains", "contains the text, ignoring case (ASCII letters on SQLite, all letters on PostgreSQL)"),
                ("startswith", "starts with the text (case-sensitive)"),
            ] {
                parameters.push(query_parameter(
                    format!("{name}__{suffix}"),
                    format!("`{name}` {meaning}; `%`, `_` and `\\` are literal."),
                    ObjectBuilder::new().schema_type(Type::String).pattern(Some(patterns::NO_NUL)),
                ));
            }
        }
        if field.nullable {
            parameters.push(query_parameter(
                format!("{name}__isnull"),
                format!("`true`: `{name}` is empty; `false`: it is set."),
                ObjectBuilder::new().schema_type(Type::Boolean),
            ));
        }
    }
    parameters
}

/// `q`, on entities with searchable fields (unless a field takes the name), described with
/// what it does to the operation's order.
fn search_parameter(entity: &EntityIr, order: &str) -> Option<utoipa::openapi::path::Parameter> {
    let searchable: Vec<String> =
        entity.fields.iter().filter(|f| f.searchable).map(|f| format!("`{}`", f.name)).collect();
    let field_names = entity.fields.iter().map(|f| f.name.as_str());
    (!searchable.is_empty() && takes_option(SEARCH_PARAMETER, field_names)).then(|| {
        query_parameter(
            SEARCH_PARAMETER.to_owned(),
            format!(
                "Full-text search over {}: items holding every word (a run of letters and digits), each as the start \
                 of a word, ignoring case. {order} Text without a letter or digit does not search.",
                searchable.join(", ")
            ),
            ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_SEARCH_CHARS)),
        )
    })
}

pub(super) fn stats_operation(entity: &EntityIr) -> OperationBuilder {
    let mut operation = OperationBuilder::new()
        .operation_id(Some(format!("stats{}", plural_pascal(entity))))
        .tag(entity.name.clone())
        .summary(Some(format!("Statistics of {}", entity.collection_path)))
        .description(Some(
            "How many items match the filters (the list's filters and search; no paging or sorting), and how they split \
             over each enum and boolean field. Counted in the database."
                .to_owned(),
        ));
    if let Some(search) = search_parameter(entity, "It selects what is counted.") {
        operation = operation.parameter(search);
    }
    for parameter in filter_parameters(entity) {
        operation = operation.parameter(parameter);
    }
    operation
        .response("200", json_body("Counts of the matching items.", schema_ref(&stats_type_name(entity)), false).build())
        .response(
            "400",
            problem("A query parameter is unknown, repeated, a paging parameter or has a bad value; `errors[0].field` names it."),
        )
        .response("default", problem("Server error (500) or database unavailable (503)."))
}

pub(super) fn create_operation(entity: &EntityIr) -> OperationBuilder {
    let created = json_body("Created.", schema_ref(&entity.name), true)
        .header(
            "Location",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some("The new item's URL."))
                .build(),
        )
        .build();
    write_errors(
        entity,
        OperationBuilder::new()
            .operation_id(Some(format!("create{}", entity.name)))
            .tag(entity.name.clone())
            .summary(Some(format!("Create a {}", entity.name)))
            .request_body(Some(body(&entity.create_type_name(), false)))
            .response("201", created),
        false,
    )
}

/// `GET {parent_path}/{id}/{segment}`: the list of `entity`'s rows referring to one `parent`
/// through `nested.field`, with every parameter of the entity's own list.
pub(super) fn nested_list_operation(entity: &EntityIr, nested: &NestedDef<'_>, parent: &EntityIr) -> OperationBuilder {
    let expansion = crate::naming::snake_to_pascal(&expansion_name(nested.field));
    list_operation(entity)
        .operation_id(Some(format!("list{}By{expansion}", plural_pascal(entity))))
        .summary(Some(format!("List the {} of a {} ({})", entity.collection_path, parent.name, nested.field)))
        .description(Some(format!(
            "The {} whose `{}` is this {}: the list of `GET {}` with the same parameters, limited to them. \
             Needs the read scopes of both entities; an unknown {} (or one the caller may not see) is a 404.",
            entity.collection_path, nested.field, parent.name, entity.collection_path, parent.name
        )))
        .parameter(id_parameter(parent))
        .response("404", problem(&format!("No {} with this id.", parent.name)))
}

/// `expand`, where the entity has references and no field of that name: the expansion names,
/// as a comma-separated list.
fn expand_parameter(entity: &EntityIr) -> Option<utoipa::openapi::path::Parameter> {
    let names: Vec<String> =
        entity.fields.iter().filter(|f| f.references.is_some()).map(|f| expansion_name(&f.name)).collect();
    if names.is_empty() || !takes_option("expand", entity.fields.iter().map(|f| f.name.as_str())) {
        return None;
    }
    let mut parameter = query_parameter(
        "expand".to_owned(),
        "Referenced items to embed, comma-separated, each under its name: one level deep (embedded items embed \
         nothing). Each needs the read scope of the entity it embeds; one the caller may not see is `null`."
            .to_owned(),
        ArrayBuilder::new()
            .items(RefOr::T(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).into()))
            .min_items(Some(1))
            .unique_items(true),
    );
    parameter.style = Some(ParameterStyle::Form);
    parameter.explode = Some(false);
    Some(parameter)
}

pub(super) fn read_operation(entity: &EntityIr) -> OperationBuilder {
    let mut operation = OperationBuilder::new()
        .operation_id(Some(format!("get{}", entity.name)))
        .tag(entity.name.clone())
        .summary(Some(format!("Get a {}", entity.name)))
        .parameter(id_parameter(entity))
        .parameter(header_parameter(
            "If-None-Match",
            "Answer 304 without a body if the item is still at this `ETag` (not with `expand`).",
        ));
    let bad_query = match expand_parameter(entity) {
        Some(expand) => {
            operation = operation.parameter(expand);
            "An unknown or repeated query parameter, or `expand` names no reference of this entity."
        }
        None => "A query parameter was given: a read takes none.",
    };
    operation
        .response("200", json_body("The item.", schema_ref(&entity.name), true).build())
        .response("400", problem(bad_query))
        .response(
            "304",
            ResponseBuilder::new()
                .description("Not modified since the given `ETag`.")
                .header("ETag", etag_header())
                .build(),
        )
        .response("404", problem("No item with this id."))
        .response("default", problem("Server error (500) or database unavailable (503)."))
}

pub(super) fn replace_operation(entity: &EntityIr) -> OperationBuilder {
    write_errors(
        entity,
        OperationBuilder::new()
            .operation_id(Some(format!("replace{}", entity.name)))
            .tag(entity.name.clone())
            .summary(Some(format!("Replace a {}", entity.name)))
            .parameter(id_parameter(entity))
            .parameter(if_match())
            .request_body(Some(body(&entity.update_type_name(), false)))
            .response("200", json_body("The replaced item.", schema_ref(&entity.name), true).build())
            .response("404", problem("No item with this id."))
            .response("412", problem("`If-Match` names an older version; nothing was written.")),
        true,
    )
}

pub(super) fn patch_operation(entity: &EntityIr) -> OperationBuilder {
    write_errors(
        entity,
        OperationBuilder::new()
            .operation_id(Some(format!("patch{}", entity.name)))
            .tag(entity.name.clone())
            .summary(Some(format!("Change some fields of a {}", entity.name)))
            .parameter(id_parameter(entity))
            .parameter(if_match())
            .request_body(Some(body(&patch_type_name(entity), true)))
            .response("200", json_body("The patched item.", schema_ref(&entity.name), true).build())
            .response("404", problem("No item with this id."))
            .response("412", problem("`If-Match` names an older version; nothing was written.")),
        true,
    )
}

/// `DELETE {path}/{id}`; `restricting` names the references (`Entity.field`) whose rows can
/// keep it from happening (see `openapi::restricting_references`).
pub(super) fn delete_operation(entity: &EntityIr, restricting: &[String]) -> OperationBuilder {
    let operation = OperationBuilder::new()
        .operation_id(Some(format!("delete{}", entity.name)))
        .tag(entity.name.clone())
        .summary(Some(format!("Delete a {}", entity.name)))
        .parameter(id_parameter(entity))
        .parameter(if_match())
        .response("204", ResponseBuilder::new().description("Deleted.").build())
        .response("400", problem(MALFORMED_IF_MATCH))
        .response("404", problem("No item with this id."))
        .response("412", problem("`If-Match` names an older version; nothing was deleted."));
    let operation = match restricting {
        [] => operation,
        references => operation.response(
            "409",
            problem(&format!(
                "Rows still refer to this item, or to one the delete would remove with it, through a reference with `on_delete: restrict` ({}); `detail` says which and how many. Nothing was deleted.",
                references.join(", ")
            )),
        ),
    };
    operation.response("default", problem("Server error (500) or database unavailable (503)."))
}

/// `RawDataSource` → `RawDataSources`, for operation ids.
fn plural_pascal(entity: &EntityIr) -> String {
    crate::naming::snake_to_pascal(&crate::naming::pluralize(&entity.snake_name))
}
