//! What the workbench UI needs to know about each entity, as JSON embedded in the generated
//! code and served at `/ui/workbench.json`. The UI is one generic page; everything specific to
//! a spec (fields, constraints, filters, sortable columns, actions) comes from here, so every
//! spec gets a working workbench.

use serde_json::{Map, Value, json};

use entity_spec_contract::lists::{EXACT_COUNT_UP_TO, takes_option};
use entity_spec_contract::references::expansion_name;
use entity_spec_contract::routes::{Operation, history_path, routes};
use entity_spec_contract::search::SEARCH_PARAMETER;

use crate::ir::{ActionIr, ActionKind, ActionScope, EntityIr, FieldIr, FieldType, Setter, SpecIr};

/// At most this many columns in the table; the detail panel shows every field.
const MAX_COLUMNS: usize = 6;

/// The workbench description of `spec`, as compact JSON.
pub(crate) fn workbench_json(spec: &SpecIr) -> String {
    let entities: Vec<Value> = spec.entities.iter().map(|e| entity(spec, e)).collect();
    json!({ "entities": entities }).to_string()
}

fn entity(spec: &SpecIr, entity: &EntityIr) -> Value {
    let fields: Vec<Value> = entity.fields.iter().map(|f| with_reference(spec, f, field(f))).collect();
    let tracking = entity.tracking.as_ref().map(|t| {
        json!({
            "status": t.status,
            "last_run": t.last_run,
            "error": t.error,
            "active": t.active,
            "interval": t.interval,
        })
    });
    json!({
        "name": entity.name,
        "title": title(entity),
        "singular": singular(entity),
        "description": entity.description,
        "path": entity.collection_path,
        "primary_key": entity.primary_key().name,
        "label_field": label_field(entity).name,
        "fields": fields,
        "columns": columns(entity),
        "sortable": sortable(entity),
        "default_sort": default_sort(entity),
        "filters": filters(entity),
        "searchable": searchable(entity),
        "grouped": grouped(entity),
        "tracking": tracking,
        "actions": entity.actions.iter().map(|a| action(entity, a)).collect::<Vec<_>>(),
        "scopes": scopes(entity),
        "referrers": referrers(spec, entity),
        // Lists are counted with `count=estimated`, exact up to this many matches, unless a
        // field named `count` takes the parameter.
        "count_estimated_above": takes_option("count", entity.fields.iter().map(|f| f.name.as_str())).then_some(EXACT_COUNT_UP_TO),
        // A CSV export's file name, as the service's `Content-Disposition` gives it.
        "file_name": entity.table_name,
    })
}

/// The scope names the UI compares with the caller's (`GET /auth/me`) to offer only what the
/// credential may do. `actions` holds every action's name and the scope its route needs, read
/// from the route table as the guard reads it: a runs-all action needs the scope of the action
/// it queues, an action without a scope of its own the admin scope. The server still decides;
/// this only spares the user buttons that would answer 403.
fn scopes(entity: &EntityIr) -> Value {
    let defs = entity.action_defs();
    let actions: Map<String, Value> = routes(&entity.collection_path, &defs, &[])
        .into_iter()
        .filter_map(|route| match route.operation {
            Operation::Action(def) | Operation::QueueRun(def) | Operation::QueueAll(def) => {
                Some((def.name.to_owned(), json!(entity.scopes.required(&route.permission))))
            }
            _ => None,
        })
        .collect();
    json!({
        "read": entity.scopes.read,
        "write": entity.scopes.write,
        "admin": entity.scopes.admin,
        "actions": actions,
    })
}

/// The heading of an entity's page and of the lists of its rows elsewhere: `Raw data sources`.
fn title(entity: &EntityIr) -> String {
    humanize(&crate::naming::pluralize(&entity.snake_name))
}

/// How messages name one item of an entity: `raw data source`.
fn singular(entity: &EntityIr) -> String {
    humanize(&entity.snake_name).to_lowercase()
}

/// `source_type` → `Source type`.
fn humanize(snake: &str) -> String {
    let spaced = snake.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// A reference field's description with where the item it names is shown and how it is
/// picked: the workbench links the value to that entity's page, the item open
/// (`/ui{path}#{id}`), names it by the entity's label field, and searches its list with
/// `search` (`{label}__icontains`) where the label is text a list can search, else (null) the
/// form takes the id as typed.
fn with_reference(spec: &SpecIr, field: &FieldIr, mut described: Value) -> Value {
    let target = field.references.as_ref().and_then(|r| spec.entity(&r.entity));
    if let (Some(target), Some(object)) = (target, described.as_object_mut()) {
        let label = label_field(target);
        let search = target.facts(label).text_searchable().then(|| format!("{}__icontains", label.name));
        object.insert(
            "references".into(),
            json!({
                "entity": target.name,
                "singular": singular(target),
                "path": target.collection_path,
                "primary_key": target.primary_key().name,
                "label_field": label.name,
                "label": humanize(&label.name).to_lowercase(),
                "search": search,
                "scopes": { "read": target.scopes.read, "admin": target.scopes.admin },
            }),
        );
    }
    described
}

/// The lists of rows that refer to an item of `entity`, one per reference to it (the nested
/// list routes, `GET /library/shelves/{id}/books`), for the detail panel's "Referred to by"
/// tab: where each list is, which entity's rows it holds (their page and label field), the
/// scope it needs, and its heading: the referring entity's title, with the reference's name
/// where that alone does not say which one (`Loans as guarantor`, `Shelves as parent`).
fn referrers(spec: &SpecIr, entity: &EntityIr) -> Vec<Value> {
    let mut found = Vec::new();
    for referring in &spec.entities {
        let nested = referring.nested_defs();
        for route in routes(&referring.collection_path, &[], &nested) {
            let Operation::ListNested(list) = route.operation else { continue };
            if list.parent_path != entity.collection_path {
                continue;
            }
            let title = title(referring);
            let role = expansion_name(list.field);
            let several = nested.iter().filter(|n| n.parent_path == list.parent_path).count() > 1;
            let heading = if several || role != entity.snake_name {
                format!("{title} as {}", humanize(&role).to_lowercase())
            } else {
                title
            };
            found.push(json!({
                "entity": referring.name,
                "field": list.field,
                "title": heading,
                "list": route.path,
                "path": referring.collection_path,
                "primary_key": referring.primary_key().name,
                "label_field": label_field(referring).name,
                "scopes": { "read": referring.scopes.required(&route.permission), "admin": referring.scopes.admin },
            }));
        }
    }
    found
}

fn field(field: &FieldIr) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(field.name));
    out.insert("label".into(), json!(humanize(&field.name)));
    out.insert("type".into(), json!(field.ty.spec_name()));
    out.insert("required".into(), json!(field.required));
    out.insert("nullable".into(), json!(field.nullable));
    out.insert("sensitive".into(), json!(field.sensitive));
    out.insert("unique".into(), json!(field.unique));
    // Clients never send these (tracked fields are read-only too): the form leaves them out,
    // the detail panel shows them.
    out.insert("server_set".into(), json!(field.setter.is_server_set()));
    if let FieldType::Enum(enum_ir) = &field.ty {
        out.insert("values".into(), json!(enum_ir.values.iter().map(|v| &v.value).collect::<Vec<_>>()));
    }
    if let Some(default) = &field.default {
        out.insert("default".into(), crate::openapi::default_json(field, default));
    }
    let c = &field.constraints;
    let number = |n: &crate::json::Number| match n {
        crate::json::Number::Int(i) => json!(i),
        crate::json::Number::Float(f) => json!(f),
    };
    if let Some(n) = &c.min {
        out.insert("min".into(), number(n));
    }
    if let Some(n) = &c.max {
        out.insert("max".into(), number(n));
    }
    if let Some(n) = c.min_length {
        out.insert("min_length".into(), json!(n));
    }
    if let Some(n) = c.max_length {
        out.insert("max_length".into(), json!(n));
    }
    if let Some(pattern) = &c.pattern {
        out.insert("pattern".into(), json!(pattern));
    }
    if let Some(description) = &field.description {
        out.insert("description".into(), json!(description));
    }
    Value::Object(out)
}

/// The field that names an item in headings: the first unique string, else the first string,
/// else the primary key.
fn label_field(entity: &EntityIr) -> &FieldIr {
    let strings = || entity.fields.iter().filter(|f| f.ty == FieldType::String && !f.sensitive);
    strings().find(|f| f.unique).or_else(|| strings().next()).unwrap_or_else(|| entity.primary_key())
}

/// Table columns: short, readable fields. Left out: the key (rows are opened, not read by
/// id), JSON and long text, secrets, the tracked error (shown in the detail panel), and the
/// update stamp when there is a creation stamp.
fn columns(entity: &EntityIr) -> Vec<&str> {
    let has_created = entity.fields.iter().any(|f| f.setter == Setter::AutoNowAdd);
    let error_field = entity.tracking.as_ref().and_then(|t| t.error.as_deref());
    let mut columns: Vec<&str> = entity
        .fields
        .iter()
        .filter(|f| {
            f.setter != Setter::PrimaryKey
                && !matches!(f.ty, FieldType::Json | FieldType::Text)
                && !f.sensitive
                && Some(f.name.as_str()) != error_field
                && !(has_created && f.setter == Setter::AutoNow)
        })
        .map(|f| f.name.as_str())
        .take(MAX_COLUMNS)
        .collect();
    if columns.is_empty() {
        columns.push(&entity.primary_key().name);
    }
    columns
}

/// The fields `q=` searches, for the search box; `null` where there is no search (no
/// searchable field, or a field named `q` takes the parameter).
fn searchable(entity: &EntityIr) -> Option<Vec<&str>> {
    let names: Vec<&str> = entity.fields.iter().filter(|f| f.searchable).map(|f| f.name.as_str()).collect();
    (!names.is_empty() && takes_option(SEARCH_PARAMETER, entity.fields.iter().map(|f| f.name.as_str())))
        .then_some(names)
}

fn sortable(entity: &EntityIr) -> Vec<&str> {
    entity.sortable_fields().map(|f| f.name.as_str()).collect()
}

/// The table's initial order, which the page leaves out of its URL: newest first where the
/// entity has a creation stamp (what someone opening a list usually wants to see), else by key.
fn default_sort(entity: &EntityIr) -> String {
    match entity.fields.iter().find(|f| f.setter == Setter::AutoNowAdd) {
        Some(created) => format!("-{}", created.name),
        None => entity.primary_key().name.clone(),
    }
}

/// The filters offered above the table, a subset of what the API accepts: equality on enums,
/// booleans and strings fits a select or a text box, while numbers and times want ranges. The
/// key is left out (rows are opened, not looked up) and so is the tracked error (free text).
fn filters(entity: &EntityIr) -> Vec<&str> {
    let key = &entity.primary_key().name;
    let error_field = entity.tracking.as_ref().and_then(|t| t.error.as_deref());
    entity
        .filterable_fields()
        .filter(|f| {
            matches!(f.ty, FieldType::Enum(_) | FieldType::Boolean | FieldType::String)
                && &f.name != key
                && Some(f.name.as_str()) != error_field
        })
        .map(|f| f.name.as_str())
        .collect()
}

fn grouped(entity: &EntityIr) -> Vec<&str> {
    entity.grouped_fields().map(|f| f.name.as_str()).collect()
}

fn action(entity: &EntityIr, action: &ActionIr) -> Value {
    let path = entity.action_path(action);
    let (kind, history, runs) = match &action.kind {
        ActionKind::Plain => ("plain", None, None),
        ActionKind::Tracked { history, .. } => ("tracked", Some(history_path(&entity.collection_path, history)), None),
        ActionKind::RunsAll { action } => ("runs_all", None, Some(action.as_str())),
    };
    let body =
        |fields: &Option<Vec<FieldIr>>| fields.as_ref().map(|fields| fields.iter().map(field).collect::<Vec<_>>());
    json!({
        "name": action.name,
        "label": humanize(&action.name),
        "scope": match action.scope { ActionScope::Item => "item", ActionScope::Collection => "collection" },
        "method": action.method,
        "path": path,
        "kind": kind,
        "history": history,
        "runs": runs,
        "summary": action.summary,
        "request": body(&action.request),
        "response": body(&action.response),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_spec_gets_readable_columns_and_its_actions() {
        let spec = crate::check_spec(include_str!("../../../specs/entities.json")).expect("reference spec");
        let doc: Value = serde_json::from_str(&workbench_json(&spec)).expect("JSON");
        let entity = &doc["entities"][0];
        assert_eq!(entity["title"], "Raw data sources");
        assert_eq!(entity["label_field"], "name");
        assert_eq!(
            entity["columns"],
            json!(["name", "source_type", "refresh_interval", "is_active", "last_sync_at", "sync_status"])
        );
        assert_eq!(entity["grouped"], json!(["source_type", "is_active", "sync_status"]));
        assert_eq!(entity["filters"], json!(["name", "source_type", "is_active", "sync_status"]));
        assert_eq!(entity["default_sort"], "-created_at");
        let fields = entity["fields"].as_array().expect("fields");
        let by_name = |name: &str| fields.iter().find(|f| f["name"] == name).expect(name);
        assert_eq!(by_name("name")["max_length"], 100);
        assert_eq!(by_name("connection_string")["sensitive"], true);
        assert_eq!(by_name("sync_status")["server_set"], true, "tracked status is the runtime's");
        assert_eq!(by_name("refresh_interval")["default"], 3600);
        let actions = entity["actions"].as_array().expect("actions");
        assert_eq!(actions[0]["path"], "/raw-data-sources/{id}/sync");
        assert_eq!(actions[0]["history"], "/raw-data-sources/{id}/syncs");
        assert_eq!(actions[2]["kind"], "runs_all");
        assert_eq!(actions[1]["response"][1]["name"], "latency_ms");
        assert_eq!(
            entity["scopes"],
            json!({
                "read": "raw_data_sources:read",
                "write": "raw_data_sources:write",
                "admin": "raw_data_sources:admin",
                "actions": {
                    "sync": "raw_data_sources:sync",
                    "test_connection": "raw_data_sources:test_connection",
                    "sync_all": "raw_data_sources:sync",
                },
            }),
            "a runs-all action needs the scope of the action it queues"
        );
    }

    #[test]
    fn references_say_how_to_pick_an_item_and_which_lists_refer_to_it() {
        let spec = crate::check_spec(include_str!("../../../tests/specs/library.json")).expect("library spec");
        let doc: Value = serde_json::from_str(&workbench_json(&spec)).expect("JSON");
        let entity = |name: &str| {
            doc["entities"].as_array().expect("entities").iter().find(|e| e["name"] == name).expect(name).clone()
        };
        let field = |entity: &Value, name: &str| {
            entity["fields"].as_array().expect("fields").iter().find(|f| f["name"] == name).expect(name).clone()
        };
        let book = entity("Book");
        assert_eq!(
            field(&book, "shelf_id")["references"],
            json!({
                "entity": "Shelf",
                "singular": "shelf",
                "path": "/library/shelves",
                "primary_key": "id",
                "label_field": "label",
                "label": "label",
                "search": "label__icontains",
                "scopes": {"read": "shelves:read", "admin": "shelves:admin"},
            })
        );
        // A loan has no text to be named by: a reference to one is typed as an id.
        let loan = entity("Loan");
        assert_eq!(loan["label_field"], "id");
        assert_eq!(field(&loan, "member_id")["references"]["search"], "card_number__icontains");

        let titles = |entity: &Value| -> Vec<(String, String)> {
            entity["referrers"]
                .as_array()
                .expect("referrers")
                .iter()
                .map(|r| {
                    (
                        r["title"].as_str().unwrap_or_default().to_owned(),
                        r["list"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        };
        let pairs =
            |list: &[(&str, &str)]| list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<Vec<_>>();
        assert_eq!(
            titles(&entity("Member")),
            pairs(&[
                ("Loans as member", "/members/{id}/loans-as-member"),
                ("Loans as guarantor", "/members/{id}/loans-as-guarantor"),
                ("Holds", "/members/{id}/holds"),
            ]),
            "two references to one entity are told apart"
        );
        assert_eq!(
            titles(&entity("Shelf")),
            pairs(&[("Books", "/library/shelves/{id}/books"), ("Shelfs as parent", "/library/shelves/{id}/shelves")]),
            "a self-reference is named by its role (and the entity's title, naming::pluralize's)"
        );
        assert_eq!(titles(&loan), Vec::<(String, String)>::new());
        let holds = &entity("Member")["referrers"][2];
        assert_eq!(holds["path"], "/holds");
        assert_eq!(holds["label_field"], "note");
        assert_eq!(holds["scopes"]["read"], "holds:read");
    }
}
