//! One entity definition as JSON: checked with exactly the macro's rules (wrapped as
//! `{"entities": [entity]}` and given to codegen's `check_spec`), with every position pointing
//! into the file the user knows, and rendered back in one stable layout.
//!
//! The JSON is kept as codegen's position-carrying tree rather than `serde_json::Value`: it
//! keeps key order and duplicate keys exactly as written, without switching on
//! `serde_json/preserve_order`, which would change map order for every crate of the workspace
//! built alongside the CLI.

use std::fmt;

use entity_spec_codegen::ir::EntityIr;
use entity_spec_codegen::json::{self, Member, Pos, Value, ValueKind};
use entity_spec_codegen::{SpecError, SpecErrors, check_spec};
use entity_spec_contract::routes::{Operation, routes};

/// Where a piece of JSON text starts in the file the user edits (a request file, an issue
/// body, a spec), so that messages point there.
#[derive(Clone, Debug)]
pub struct Origin {
    /// The name printed before `:line:column`, e.g. `request.toml` or `issue #2`.
    pub label: String,
    /// The line of the text's first character.
    pub line: u32,
    /// The column of the text's first character.
    pub column: u32,
}

impl Origin {
    /// Text that is a whole file.
    pub fn file(label: impl Into<String>) -> Origin {
        Origin { label: label.into(), line: 1, column: 1 }
    }

    /// Moves a position inside the text to the position in the user's file.
    pub fn place(&self, pos: Pos) -> Pos {
        if pos.line <= 1 {
            Pos { line: self.line, column: self.column + pos.column.saturating_sub(1) }
        } else {
            Pos { line: self.line + pos.line - 1, column: pos.column }
        }
    }
}

/// Spec problems with their positions in one file; displays as the macro's
/// `file:line:col: context: message` lines.
#[derive(Debug)]
pub struct SpecProblems {
    /// The file the positions are in.
    pub label: String,
    /// Every problem.
    pub errors: SpecErrors,
}

impl fmt::Display for SpecProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.errors.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        write!(f, "{count} {noun} in {}:\n{}", self.label, self.errors.render(&self.label))
    }
}

impl std::error::Error for SpecProblems {}

/// An entity definition that passed the macro's checks.
#[derive(Clone, Debug)]
pub struct CheckedEntity {
    /// The JSON as written (key order kept).
    pub json: Value,
    /// The checked model codegen builds from it.
    pub ir: EntityIr,
}

/// Parses and checks one entity definition. Every problem is reported, placed by `origin`.
pub fn check_entity(text: &str, origin: &Origin) -> Result<CheckedEntity, SpecProblems> {
    let problems = |errors: Vec<SpecError>| SpecProblems { label: origin.label.clone(), errors: SpecErrors { errors } };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value = json::parse(text).map_err(|syntax| {
        problems(vec![SpecError {
            pos: origin.place(syntax.pos),
            context: String::new(),
            message: format!("malformed JSON: {}", syntax.message),
        }])
    })?;
    let ValueKind::Object(members) = &value.kind else {
        return Err(problems(vec![SpecError {
            pos: origin.place(value.pos),
            context: String::new(),
            message: format!(
                "expected one entity object `{{\"name\": …, \"fields\": [ … ]}}`, found {}",
                value.kind.describe()
            ),
        }]));
    };
    if members.iter().any(|m| m.key == "entities") {
        return Err(problems(vec![SpecError {
            pos: origin.place(value.pos),
            context: String::new(),
            message: "expected one entity object, found a whole spec document; give only the entity inside `entities`"
                .to_owned(),
        }]));
    }
    // The entity text starts on the wrapper's second line, so a position in the wrapper is one
    // line below the same position in the text and columns are unchanged.
    let wrapped = format!("{{\"entities\": [\n{text}\n]}}");
    match check_spec(&wrapped) {
        Ok(ir) => {
            let ir = ir.entities.into_iter().next().expect("a checked spec of one entity has one entity");
            Ok(CheckedEntity { json: value, ir })
        }
        Err(errors) => {
            let errors = errors
                .errors
                .into_iter()
                .map(|e| {
                    let inner = Pos { line: e.pos.line.saturating_sub(1).max(1), column: e.pos.column };
                    SpecError { pos: origin.place(inner), ..e }
                })
                .collect();
            Err(problems(errors))
        }
    }
}

/// Renders an entity (or any JSON value) in the reference spec's layout: objects and arrays of
/// objects one member per line with two-space indentation, but each element of an array of
/// objects (a field, an index, an action without bodies) on one line, so that adding a field
/// is a one-line diff. Keys keep their order. `indent` is the column (0-based) the value
/// starts at; the first line is not indented.
pub fn render(value: &Value, indent: usize) -> String {
    let mut out = String::new();
    write_block(&mut out, value, indent);
    out
}

fn write_block(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent + 2);
    match &value.kind {
        ValueKind::Object(members) if !members.is_empty() => {
            out.push_str("{\n");
            for (i, member) in members.iter().enumerate() {
                out.push_str(&pad);
                write_string(out, &member.key);
                out.push_str(": ");
                write_block(out, &member.value, indent + 2);
                out.push_str(if i + 1 < members.len() { ",\n" } else { "\n" });
            }
            out.push_str(&" ".repeat(indent));
            out.push('}');
        }
        ValueKind::Array(items) if items.iter().any(|v| matches!(v.kind, ValueKind::Object(_))) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad);
                if holds_array_of_objects(item) {
                    write_block(out, item, indent + 2);
                } else {
                    write_inline(out, item);
                }
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&" ".repeat(indent));
            out.push(']');
        }
        _ => write_inline(out, value),
    }
}

/// Whether a value holds an array of objects somewhere inside (an action with `request` or
/// `response` fields), which would make a single line unreadable.
fn holds_array_of_objects(value: &Value) -> bool {
    match &value.kind {
        ValueKind::Object(members) => members.iter().any(|m| holds_array_of_objects(&m.value)),
        ValueKind::Array(items) => {
            items.iter().any(|v| matches!(v.kind, ValueKind::Object(_)) || holds_array_of_objects(v))
        }
        _ => false,
    }
}

/// One-line JSON with `", "` and `": "` separators, like the hand-written specs.
pub fn write_inline(out: &mut String, value: &Value) {
    match &value.kind {
        ValueKind::Null => out.push_str("null"),
        ValueKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ValueKind::Number(n) => out.push_str(&n.to_string()),
        ValueKind::String(s) => write_string(out, s),
        ValueKind::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_inline(out, item);
            }
            out.push(']');
        }
        ValueKind::Object(members) => {
            out.push('{');
            for (i, member) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, &member.key);
                out.push_str(": ");
                write_inline(out, &member.value);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, text: &str) {
    out.push_str(&serde_json::to_string(text).expect("strings always serialize"));
}

/// The value of `key` in an object.
pub fn member<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match &value.kind {
        ValueKind::Object(members) => members.iter().find(|m| m.key == key).map(|m| &m.value),
        _ => None,
    }
}

/// The `name` string of an object.
pub fn name_of(value: &Value) -> Option<&str> {
    match &member(value, "name")?.kind {
        ValueKind::String(name) => Some(name),
        _ => None,
    }
}

fn fields_mut(entity: &mut Value) -> Result<&mut Vec<Value>, String> {
    let ValueKind::Object(members) = &mut entity.kind else {
        return Err("the entity definition is not an object".to_owned());
    };
    let Some(Member { value: fields, .. }) = members.iter_mut().find(|m| m.key == "fields") else {
        return Err("the entity definition has no `fields`".to_owned());
    };
    match &mut fields.kind {
        ValueKind::Array(items) => Ok(items),
        _ => Err("`fields` is not an array".to_owned()),
    }
}

/// Appends a field; a field of the same name is an error (remove it first to redefine it).
pub fn add_field(entity: &mut Value, field: Value) -> Result<(), String> {
    let Some(name) = name_of(&field).map(str::to_owned) else {
        return Err("a field needs a string `name`".to_owned());
    };
    let fields = fields_mut(entity)?;
    if fields.iter().any(|f| name_of(f) == Some(name.as_str())) {
        return Err(format!("the entity already has a field `{name}`; remove it first to redefine it"));
    }
    fields.push(field);
    Ok(())
}

/// Removes a field by name.
pub fn remove_field(entity: &mut Value, name: &str) -> Result<(), String> {
    let fields = fields_mut(entity)?;
    let before = fields.len();
    fields.retain(|f| name_of(f) != Some(name));
    if fields.len() == before {
        return Err(format!("the entity has no field `{name}`"));
    }
    Ok(())
}

/// One route of an entity's API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, with `{id}` for the item.
    pub path: String,
    /// What it does.
    pub summary: String,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} - {}", self.method, self.path, self.summary)
    }
}

/// Every route the service serves for an entity, from the route table the service itself is
/// built from (see docs/http-api.md), with a line saying what each does.
pub fn endpoints(entity: &EntityIr) -> Vec<Endpoint> {
    let name = &entity.name;
    let defs = entity.action_defs();
    let summary_of = |action: &str| {
        let declared = entity.actions.iter().find(|a| a.name == action).and_then(|a| a.summary.clone());
        declared.unwrap_or_else(|| format!("Action `{action}`"))
    };
    let nested = entity.nested_defs();
    routes(&entity.collection_path, &defs, &nested)
        .into_iter()
        .map(|route| {
            let summary = match route.operation {
                Operation::List => format!("List {name} items with filters, sorting and pagination"),
                Operation::Create => format!("Create a {name}"),
                Operation::Stats => format!("Count {name} items per enum and boolean value, with the list's filters"),
                Operation::Read => format!("Get one {name}"),
                Operation::Replace => format!("Replace a {name}"),
                Operation::Patch => format!("Update part of a {name} (JSON merge patch)"),
                Operation::Delete => format!("Delete a {name}"),
                Operation::Action(action) | Operation::QueueRun(action) | Operation::QueueAll(action) => {
                    format!("{} (custom action `{}`)", summary_of(action.name), action.name)
                }
                Operation::ListRuns(action) => format!("The runs of `{}`, newest first", action.name),
                Operation::ReadRun(action) => format!("One run of `{}`", action.name),
                Operation::ListNested(list) => {
                    format!("List the {name} items whose `{}` is this item, with the list's parameters", list.field)
                }
            };
            Endpoint { method: route.method.as_str().to_owned(), path: route.path, summary }
        })
        .collect()
}

/// The byte offset of a codegen position (1-based line and column in characters, not
/// counting a byte-order mark).
pub fn offset_of(text: &str, pos: Pos) -> usize {
    let (mut line, mut column) = (1, 1);
    for (offset, c) in text.char_indices() {
        if offset == 0 && c == '\u{feff}' {
            continue;
        }
        if line == pos.line && column == pos.column {
            return offset;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    text.len()
}

/// Where the object or array starting at `start` ends (one past its closing bracket).
pub fn value_end(text: &str, start: usize) -> usize {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, byte) in text.bytes().enumerate().skip(start) {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth <= 1 {
                    return offset + 1;
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTITY: &str = r#"{"name": "Widget", "description": "A widget.", "fields": [
  {"name": "id", "type": "uuid", "primary_key": true},
  {"name": "label", "type": "string", "required": true, "max_length": 20}
], "indexes": [{"fields": ["label"], "unique": true}],
"api": {"actions": [{"name": "ping", "scope": "item", "response": [{"name": "ok", "type": "boolean", "required": true}]}]}}"#;

    #[test]
    fn a_valid_entity_is_checked_with_the_macro_rules() {
        let checked = check_entity(ENTITY, &Origin::file("w.json")).unwrap();
        assert_eq!(checked.ir.name, "Widget");
        assert_eq!(checked.ir.collection_path, "/widgets");
    }

    #[test]
    fn errors_point_into_the_users_file() {
        let text = "{\"name\": \"Widget\", \"fields\": [\n  {\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true},\n  {\"name\": \"label\", \"type\": \"strng\"}\n]}";
        let origin = Origin { label: "issue #4".to_owned(), line: 20, column: 1 };
        let error = check_entity(text, &origin).unwrap_err();
        assert_eq!(
            error.errors.render(&error.label),
            "issue #4:22:29: entity `Widget`, field `label`: unknown field type `strng`; did you mean `string`?"
        );
        // A text starting mid-line (a JSON request file) keeps the offset on its first line.
        let origin = Origin { label: "request.json".to_owned(), line: 3, column: 24 };
        let error = check_entity("{\"name\": \"w\", \"fields\": []}", &origin).unwrap_err();
        assert!(
            error.to_string().contains("request.json:3:33: entity `w`: entity name `w` must be PascalCase"),
            "{error}"
        );
    }

    #[test]
    fn syntax_errors_and_wrong_shapes_are_reported_in_place() {
        let origin = Origin { label: "issue #1".to_owned(), line: 10, column: 1 };
        let error = check_entity("{\"name\": \"A\",\n  \"fields\": [,]}", &origin).unwrap_err();
        assert!(error.to_string().starts_with("1 problem in issue #1:\nissue #1:11:14: malformed JSON"), "{error}");
        let error = check_entity("[1]", &origin).unwrap_err();
        assert!(error.to_string().contains("issue #1:10:1: expected one entity object"), "{error}");
    }

    #[test]
    fn rendering_is_stable_and_keeps_key_order() {
        let value = json::parse(ENTITY).unwrap();
        let rendered = render(&value, 0);
        assert_eq!(
            rendered,
            r#"{
  "name": "Widget",
  "description": "A widget.",
  "fields": [
    {"name": "id", "type": "uuid", "primary_key": true},
    {"name": "label", "type": "string", "required": true, "max_length": 20}
  ],
  "indexes": [
    {"fields": ["label"], "unique": true}
  ],
  "api": {
    "actions": [
      {
        "name": "ping",
        "scope": "item",
        "response": [
          {"name": "ok", "type": "boolean", "required": true}
        ]
      }
    ]
  }
}"#
        );
        assert_eq!(render(&json::parse(&rendered).unwrap(), 0), rendered);
    }

    #[test]
    fn fields_are_added_and_removed_by_name() {
        let mut value = json::parse(ENTITY).unwrap();
        add_field(&mut value, json::parse(r#"{"name": "tags", "type": "json"}"#).unwrap()).unwrap();
        assert!(add_field(&mut value, json::parse(r#"{"name": "tags", "type": "json"}"#).unwrap()).is_err());
        assert!(render(&value, 0).contains(r#"{"name": "tags", "type": "json"}"#));
        remove_field(&mut value, "tags").unwrap();
        assert!(remove_field(&mut value, "tags").is_err());
    }

    #[test]
    fn endpoints_follow_the_collection_path() {
        let checked = check_entity(ENTITY, &Origin::file("w.json")).unwrap();
        let routes: Vec<String> = endpoints(&checked.ir).iter().map(|e| format!("{} {}", e.method, e.path)).collect();
        assert_eq!(
            routes,
            [
                "GET /widgets",
                "POST /widgets",
                "GET /widgets/stats",
                "GET /widgets/{id}",
                "PUT /widgets/{id}",
                "PATCH /widgets/{id}",
                "DELETE /widgets/{id}",
                "POST /widgets/{id}/ping"
            ]
        );
    }
}
