//! The markdown body of a feature-request issue: written for people (sections, a field
//! table), with exactly one fenced `json` block holding the entity definition for the tools.
//!
//! The body is untrusted input when it comes back (anyone with write access edits it, and
//! GitHub's editor turns line ends into CRLF), so it is read strictly: one `json` block, whose
//! contents are checked like a spec file and whose positions are reported as lines and columns
//! of the body itself.

use entity_spec_codegen::ir::{EntityIr, FieldIr, FieldType, Setter};

use crate::entity::{self, CheckedEntity, Endpoint, Origin};
use crate::risk::default_text;

/// Opens the generated part of the body (entity summary and field table), which
/// `entity-spec update` rewrites; invisible on GitHub.
pub const GENERATED_START: &str = "<!-- entity-spec:fields (rewritten by `entity-spec update`) -->";
/// Closes the generated part.
pub const GENERATED_END: &str = "<!-- /entity-spec:fields -->";

/// What a feature request says: the arguments of the original `request_feature`.
#[derive(Clone, Debug, Default)]
pub struct FeatureRequest {
    /// The issue title.
    pub title: String,
    /// What the feature is.
    pub description: Option<String>,
    /// "As a …, I want … so that …".
    pub user_story: Option<String>,
    /// What must hold for the feature to be done.
    pub acceptance_criteria: Vec<String>,
    /// The endpoints as the requester describes them; derived from the entity when empty.
    pub endpoints: Vec<String>,
    /// What the UI should offer.
    pub ui_requirements: Option<String>,
}

/// The whole issue body for a request.
pub fn render_body(request: &FeatureRequest, entity: &CheckedEntity) -> String {
    let mut out = String::new();
    let mut section = |title: &str, text: &str| {
        out.push_str(&format!("## {title}\n\n{}\n\n", text.trim()));
    };
    if let Some(description) = nonblank(&request.description) {
        section("Summary", description);
    }
    if let Some(story) = nonblank(&request.user_story) {
        section("User story", story);
    }
    if !request.acceptance_criteria.is_empty() {
        let items: Vec<String> = request.acceptance_criteria.iter().map(|c| format!("- [ ] {}", c.trim())).collect();
        section("Acceptance criteria", &items.join("\n"));
    }
    let derived = request.endpoints.is_empty();
    section(
        &format!("Entity `{}`", entity.ir.name),
        &format!("{GENERATED_START}\n\n{}\n\n{GENERATED_END}", generated_part(&entity.ir, derived)),
    );
    if !derived {
        let items: Vec<String> = request.endpoints.iter().map(|e| format!("- {}", endpoint_item(e))).collect();
        section("API endpoints", &items.join("\n"));
    }
    if let Some(ui) = nonblank(&request.ui_requirements) {
        section("UI requirements", ui);
    }
    section(
        "Entity definition",
        &format!(
            "The definition `entity-spec implement` merges into `specs/entities.json`, checked with the macro's rules. \
             Change it with `entity-spec update`, which also rewrites the table above; the rest of this issue is yours to edit.\n\n\
             ```json\n{}\n```",
            entity::render(&entity.json, 0)
        ),
    );
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn nonblank(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.trim().is_empty())
}

/// `GET /x - List` becomes `` `GET /x` - List ``; free text stays as written.
fn endpoint_item(text: &str) -> String {
    let text = text.trim();
    let mut words = text.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some(method), Some(path), rest)
            if method.chars().all(|c| c.is_ascii_uppercase()) && path.starts_with('/') && !path.contains('`') =>
        {
            match rest {
                Some(rest) => format!("`{method} {path}` {rest}"),
                None => format!("`{method} {path}`"),
            }
        }
        _ => text.to_owned(),
    }
}

/// The entity summary, field table, indexes and (when the requester gave none) the endpoints:
/// everything between the generated markers.
pub fn generated_part(entity: &EntityIr, with_endpoints: bool) -> String {
    let mut out =
        format!("**`{}`**: table `{}`, served at `{}`", entity.name, entity.table_name, entity.collection_path);
    if let Some(layer) = &entity.layer {
        out.push_str(&format!(", layer {}", code(layer)));
    }
    out.push_str(&format!(", {} fields.\n\n", entity.fields.len()));
    if let Some(description) = &entity.description {
        out.push_str(&format!("{}\n\n", description.trim()));
    }
    out.push_str(&field_table(&entity.fields));
    if !entity.indexes.is_empty() {
        let indexes: Vec<String> = entity
            .indexes
            .iter()
            .map(|i| {
                let fields: Vec<String> = i.fields.iter().map(|f| format!("`{f}`")).collect();
                format!("{}{}", fields.join(" + "), if i.unique { " (unique)" } else { "" })
            })
            .collect();
        out.push_str(&format!("\nIndexes: {}.\n", indexes.join("; ")));
    }
    if with_endpoints {
        out.push_str("\nAPI endpoints:\n\n");
        for endpoint in entity::endpoints(entity) {
            out.push_str(&format!("- {}\n", endpoint_line(&endpoint)));
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// An endpoint as a markdown list item.
pub fn endpoint_line(endpoint: &Endpoint) -> String {
    format!("`{} {}` - {}", endpoint.method, endpoint.path, endpoint.summary)
}

/// A markdown table of fields: name, type, required, default, rules, description.
pub fn field_table(fields: &[FieldIr]) -> String {
    let mut out =
        String::from("| Field | Type | Required | Default | Rules | Description |\n|---|---|---|---|---|---|\n");
    for field in fields {
        let required = match field.setter {
            Setter::Client if field.required => "yes",
            Setter::Client => "no",
            _ => "server",
        };
        let default = default_text(field).map(|d| code(&d)).unwrap_or_default();
        let description = field.description.as_deref().map(cell).unwrap_or_default();
        out.push_str(&format!(
            "| `{}` | {} | {required} | {default} | {} | {description} |\n",
            field.name,
            field.ty.spec_name(),
            rules(field).join(", "),
        ));
    }
    out
}

fn rules(field: &FieldIr) -> Vec<String> {
    let mut rules = Vec::new();
    match field.setter {
        Setter::PrimaryKey => rules.push("primary key, generated".to_owned()),
        Setter::AutoNowAdd => rules.push("set on create".to_owned()),
        Setter::AutoNow => rules.push("set on every write".to_owned()),
        Setter::ReadOnly => rules.push("read-only".to_owned()),
        Setter::Client => {}
    }
    if let FieldType::Enum(e) = &field.ty {
        let values: Vec<String> = e.values.iter().map(|v| format!("`{}`", v.value)).collect();
        rules.push(format!("one of {}", values.join(", ")));
    }
    let c = &field.constraints;
    if let Some(n) = c.min_length {
        rules.push(format!("at least {n} characters"));
    }
    if let Some(n) = c.max_length {
        rules.push(format!("at most {n} characters"));
    }
    if let Some(n) = c.min {
        rules.push(format!("≥ {n}"));
    }
    if let Some(n) = c.max {
        rules.push(format!("≤ {n}"));
    }
    if let Some(pattern) = &c.pattern {
        rules.push(format!("matches {}", code(pattern)));
    }
    if field.unique {
        rules.push("unique".to_owned());
    }
    if field.sensitive {
        rules.push("sensitive: never in responses".to_owned());
    }
    rules
}

/// Text for a table cell: one line, `|` escaped.
fn cell(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

/// A code span that survives backticks and pipes in the text.
fn code(text: &str) -> String {
    let text = cell(text);
    if text.contains('`') { format!("`` {text} ``") } else { format!("`{text}`") }
}

/// The fenced `json` block of a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionBlock {
    /// 0-based index of the opening fence line.
    pub open: usize,
    /// 0-based index of the closing fence line.
    pub close: usize,
    /// The lines between the fences.
    pub text: String,
}

impl DefinitionBlock {
    /// Where the block's text starts in the body, for messages.
    pub fn origin(&self, label: &str) -> Origin {
        Origin { label: label.to_owned(), line: self.open as u32 + 2, column: 1 }
    }
}

/// Splits a body into lines, without the CR of CRLF line ends (GitHub's editor writes them).
fn body_lines(body: &str) -> Vec<&str> {
    body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect()
}

/// An opening or closing code fence: its character, its length and its info string.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let length = rest.chars().take_while(|c| *c == marker).count();
    (length >= 3).then(|| (marker, length, rest[length..].trim()))
}

/// Finds the one fenced `json` block of a body. Other fenced blocks are skipped whole, so a
/// ```` ```json ```` inside, say, a markdown example does not count.
pub fn find_definition(body: &str) -> Result<DefinitionBlock, String> {
    let lines = body_lines(body);
    let mut blocks = Vec::new();
    let mut open: Option<(usize, char, usize, bool)> = None;
    for (index, line) in lines.iter().enumerate() {
        match open {
            None => {
                if let Some((marker, length, info)) = fence(line) {
                    let is_json = info.split_whitespace().next().is_some_and(|lang| lang.eq_ignore_ascii_case("json"));
                    open = Some((index, marker, length, is_json));
                }
            }
            Some((start, marker, length, is_json)) => {
                if let Some((m, l, info)) = fence(line)
                    && m == marker
                    && l >= length
                    && info.is_empty()
                {
                    if is_json {
                        blocks.push(DefinitionBlock {
                            open: start,
                            close: index,
                            text: lines[start + 1..index].join("\n"),
                        });
                    }
                    open = None;
                }
            }
        }
    }
    if let Some((start, _, _, true)) = open {
        return Err(format!("the ```json block opened on line {} is never closed", start + 1));
    }
    match blocks.len() {
        1 => Ok(blocks.remove(0)),
        0 => {
            Err("the body has no ```json block with the entity definition (`entity-spec request` writes one)"
                .to_owned())
        }
        n => {
            let lines: Vec<String> = blocks.iter().map(|b| (b.open + 1).to_string()).collect();
            Err(format!(
                "the body has {n} ```json blocks (on lines {}); it must have exactly one, holding the entity definition",
                lines.join(", ")
            ))
        }
    }
}

/// The body with the definition block's contents replaced by `json`, and the generated part
/// rewritten when its markers are still there (the second value says whether they were).
/// Everything else is kept line for line.
pub fn rewrite(body: &str, block: &DefinitionBlock, entity: &CheckedEntity) -> (String, bool) {
    let lines = body_lines(body);
    let definition = entity::render(&entity.json, 0);
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    out.extend_from_slice(&lines[..=block.open]);
    out.extend(definition.lines());
    out.extend_from_slice(&lines[block.close..]);

    let start = out.iter().position(|l| l.trim() == GENERATED_START);
    let end = out.iter().position(|l| l.trim() == GENERATED_END);
    let (Some(start), Some(end)) = (start, end) else {
        return (out.join("\n"), false);
    };
    if end <= start {
        return (out.join("\n"), false);
    }
    // Endpoints were generated only when the requester listed none; keep it that way.
    let with_endpoints = out[start..end].iter().any(|l| l.trim() == "API endpoints:");
    let generated = generated_part(&entity.ir, with_endpoints);
    let mut rewritten: Vec<&str> = out[..=start].to_vec();
    rewritten.push("");
    rewritten.extend(generated.lines());
    rewritten.push("");
    rewritten.extend_from_slice(&out[end..]);
    (rewritten.join("\n"), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::check_entity;

    fn entity(extra: &str) -> CheckedEntity {
        let text = format!(
            r#"{{"name": "Feed", "layer": "infra", "fields": [{{"name": "id", "type": "uuid", "primary_key": true}},
               {{"name": "url", "type": "string", "required": true, "max_length": 200, "description": "Where | from"}}{extra}]}}"#
        );
        check_entity(&text, &Origin::file("t")).unwrap()
    }

    fn request() -> FeatureRequest {
        FeatureRequest {
            title: "Feed entity".to_owned(),
            description: Some("Feeds.".to_owned()),
            user_story: Some("As a reader, I want feeds.".to_owned()),
            acceptance_criteria: vec!["CRUD works".to_owned()],
            endpoints: Vec::new(),
            ui_requirements: None,
        }
    }

    #[test]
    fn the_body_has_sections_a_table_and_one_definition_block() {
        let body = render_body(&request(), &entity(""));
        for expected in [
            "## Summary\n\nFeeds.",
            "## User story\n\nAs a reader, I want feeds.",
            "## Acceptance criteria\n\n- [ ] CRUD works",
            "**`Feed`**: table `feeds`, served at `/feeds`, layer `infra`, 2 fields.",
            "| `url` | string | yes |  | at most 200 characters | Where \\| from |",
            "- `GET /feeds` - List Feed items",
            "```json\n{\n  \"name\": \"Feed\",",
        ] {
            assert!(body.contains(expected), "missing {expected:?} in\n{body}");
        }
        let block = find_definition(&body).unwrap();
        let reread = check_entity(&block.text, &block.origin("issue")).unwrap();
        let names = |e: &CheckedEntity| e.ir.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&reread), names(&entity("")));
    }

    #[test]
    fn rewriting_keeps_everything_but_the_block_and_the_table() {
        let body = render_body(&request(), &entity("")).replace("Feeds.", "Feeds, edited by a human.");
        let body = body.replace('\n', "\r\n");
        let block = find_definition(&body).unwrap();
        let (rewritten, table) = rewrite(&body, &block, &entity(r#", {"name": "tags", "type": "json"}"#));
        assert!(table);
        assert!(rewritten.contains("Feeds, edited by a human."));
        assert!(rewritten.contains("| `tags` | json | no |"));
        assert!(rewritten.contains("3 fields."));
        assert!(rewritten.contains(r#"    {"name": "tags", "type": "json"}"#));
        assert_eq!(rewritten.matches("```json").count(), 1);
        assert!(rewritten.contains("- `DELETE /feeds/{id}`"));
    }

    #[test]
    fn blocks_are_found_strictly() {
        assert!(find_definition("no block").unwrap_err().contains("no ```json block"));
        let two = "```json\n{}\n```\ntext\n```json\n{}\n```";
        assert!(find_definition(two).unwrap_err().contains("2 ```json blocks (on lines 1, 5)"));
        assert!(find_definition("x\n```json\n{").unwrap_err().contains("opened on line 2 is never closed"));
        let nested = "````markdown\n```json\n{}\n```\n````\n\n```JSON\n{\"a\": 1}\n```\n";
        let block = find_definition(nested).unwrap();
        assert_eq!((block.open, block.close, block.text.as_str()), (6, 8, "{\"a\": 1}"));
        assert_eq!(block.origin("b").line, 8);
    }
}
