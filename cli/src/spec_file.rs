//! Merging one entity into a spec file by editing its text: the entity's own span is replaced
//! (or a new one appended), so every other byte of the file, the other entities' layout
//! included, stays as it was and the diff shows only the entity.

use entity_spec_codegen::json::{self, Pos, Value, ValueKind};
use entity_spec_codegen::{SpecIr, check_spec};

use crate::entity::{self, SpecProblems, offset_of, value_end};

/// The spec file after the merge.
#[derive(Debug)]
pub struct Merged {
    /// The new file text.
    pub text: String,
    /// Whether an entity of the same name was replaced (rather than added).
    pub replaced: bool,
    /// The new spec, checked.
    pub ir: SpecIr,
}

/// Adds `entity` (named `name`) to the spec text, or replaces the entity of the same name.
/// The current spec must be valid, and so must the result; `label` names the file in errors.
pub fn merge_entity(current: Option<&str>, entity: &Value, name: &str, label: &str) -> Result<Merged, SpecProblems> {
    let problems = |errors| SpecProblems { label: label.to_owned(), errors };
    let current = current.filter(|text| !text.trim().is_empty());
    let Some(text) = current else {
        let text = format!("{{\n  \"entities\": [\n    {}\n  ]\n}}\n", entity::render(entity, 4));
        let ir = check_spec(&text).map_err(problems)?;
        return Ok(Merged { text, replaced: false, ir });
    };
    check_spec(text).map_err(problems)?;
    // A checked spec is an object whose `entities` is an array of named objects.
    let root = json::parse(text).expect("a checked spec parses");
    let entities = entity::member(&root, "entities").expect("a checked spec has entities");
    let ValueKind::Array(items) = &entities.kind else { unreachable!("checked: `entities` is an array") };

    let (new_text, replaced) = if let Some(existing) = items.iter().find(|e| entity::name_of(e) == Some(name)) {
        let start = offset_of(text, existing.pos);
        let end = value_end(text, start);
        let indent = column_indent(text, start).unwrap_or(4);
        (format!("{}{}{}", &text[..start], entity::render(entity, indent), &text[end..]), true)
    } else if let Some(last) = items.last() {
        let start = offset_of(text, last.pos);
        let end = value_end(text, start);
        let indent = column_indent(text, start).unwrap_or(4);
        let rendered = entity::render(entity, indent);
        (format!("{},\n{}{rendered}{}", &text[..end], " ".repeat(indent), &text[end..]), false)
    } else {
        // `"entities": []`: lay the array out as the reference spec does.
        let start = offset_of(text, entities.pos);
        let end = value_end(text, start);
        let outer = column_indent(text, offset_of(text, key_line_start(text, start))).unwrap_or(2);
        let inner = outer + 2;
        let array = format!("[\n{}{}\n{}]", " ".repeat(inner), entity::render(entity, inner), " ".repeat(outer));
        (format!("{}{array}{}", &text[..start], &text[end..]), false)
    };
    let ir = check_spec(&new_text).map_err(problems)?;
    Ok(Merged { text: new_text, replaced, ir })
}

/// The indentation of the value at `offset` when only spaces precede it on its line.
fn column_indent(text: &str, offset: usize) -> Option<usize> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..offset];
    before.chars().all(|c| c == ' ').then_some(before.len())
}

/// The position of the first non-space character on the line holding `offset`.
fn key_line_start(text: &str, offset: usize) -> Pos {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..line_start].matches('\n').count() as u32 + 1;
    let spaces = text[line_start..].chars().take_while(|c| *c == ' ').count() as u32;
    Pos { line, column: spaces + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"{
  "entities": [
    {
      "name": "Note",
      "fields": [
        {"name": "id", "type": "uuid", "primary_key": true},
        {"name": "title", "type": "string"}
      ]
    }
  ]
}
"#;

    fn entity(fields: &str) -> Value {
        json::parse(&format!(
            r#"{{"name": "Tag", "fields": [{{"name": "id", "type": "uuid", "primary_key": true}}{fields}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_new_entity_is_appended_and_the_rest_is_untouched() {
        let merged = merge_entity(Some(SPEC), &entity(""), "Tag", "specs/entities.json").unwrap();
        assert!(!merged.replaced);
        assert_eq!(
            merged.text,
            SPEC.replace(
                "      ]\n    }\n  ]",
                "      ]\n    },\n    {\n      \"name\": \"Tag\",\n      \"fields\": [\n        {\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true}\n      ]\n    }\n  ]"
            )
        );
        assert_eq!(merged.ir.entities.len(), 2);
    }

    #[test]
    fn merging_again_replaces_in_place_and_is_stable() {
        let once = merge_entity(Some(SPEC), &entity(""), "Tag", "s").unwrap();
        let twice = merge_entity(Some(&once.text), &entity(""), "Tag", "s").unwrap();
        assert!(twice.replaced);
        assert_eq!(twice.text, once.text);
        let grown =
            merge_entity(Some(&once.text), &entity(r#", {"name": "tags", "type": "json"}"#), "Tag", "s").unwrap();
        let added: Vec<&str> = grown.text.lines().filter(|l| !once.text.contains(*l)).collect();
        assert_eq!(added, [r#"        {"name": "tags", "type": "json"}"#]);
    }

    #[test]
    fn empty_and_missing_specs_get_the_reference_layout() {
        let created = merge_entity(None, &entity(""), "Tag", "s").unwrap();
        assert!(created.text.starts_with("{\n  \"entities\": [\n    {\n      \"name\": \"Tag\",\n"));
        let empty = merge_entity(Some("{\"entities\": []}\n"), &entity(""), "Tag", "s").unwrap();
        assert_eq!(empty.text.lines().nth(1), Some("  {"), "{}", empty.text);
        assert!(empty.text.ends_with("}\n]}\n"), "{}", empty.text);
    }

    #[test]
    fn an_invalid_result_is_refused_with_positions_in_the_merged_file() {
        let clash = json::parse(
            r#"{"name": "Tag", "table": "notes", "fields": [{"name": "id", "type": "uuid", "primary_key": true}]}"#,
        )
        .unwrap();
        let error = merge_entity(Some(SPEC), &clash, "Tag", "specs/entities.json").unwrap_err();
        assert!(error.to_string().contains("specs/entities.json:"), "{error}");
    }
}
