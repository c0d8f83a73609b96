//! A feature request from a request file (JSON or TOML, with the fields of the original
//! `request_feature`) and command-line flags, which win over the file.
//!
//! The entity definition is JSON in both formats (the issue carries JSON, and the macro reads
//! JSON), and its text is kept with its place in the file so that spec errors point at the
//! user's own lines: in a JSON request file it is the `entity_definition` object, in TOML a
//! `'''` string holding the JSON; `entity_file` names a separate JSON file instead.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use entity_spec_codegen::json::{self, ValueKind};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::entity::{self, Origin};
use crate::issue_body::FeatureRequest;

/// The keys of a request file; `E` is how each format carries `entity_definition`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile<E> {
    title: Option<String>,
    description: Option<String>,
    user_story: Option<String>,
    #[serde(default)]
    acceptance_criteria: Vec<String>,
    #[serde(default)]
    api_endpoints: Vec<String>,
    ui_requirements: Option<String>,
    entity_definition: Option<E>,
    entity_file: Option<PathBuf>,
}

/// Entity JSON text and where it sits.
#[derive(Clone, Debug)]
pub struct EntitySource {
    /// The JSON text of the entity.
    pub text: String,
    /// Where the text starts, for messages.
    pub origin: Origin,
}

impl EntitySource {
    /// A JSON file holding one entity.
    pub fn read_file(path: &Path) -> Result<EntitySource> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the entity definition `{}`", path.display()))?;
        Ok(EntitySource { text, origin: Origin::file(path.display().to_string()) })
    }
}

/// What the command line says; `None`/empty means "not given".
#[derive(Default)]
pub struct Flags {
    /// `--file`
    pub file: Option<PathBuf>,
    /// `--title`
    pub title: Option<String>,
    /// `--description`
    pub description: Option<String>,
    /// `--user-story`
    pub user_story: Option<String>,
    /// `--criterion`, repeated
    pub acceptance_criteria: Vec<String>,
    /// `--endpoint`, repeated
    pub endpoints: Vec<String>,
    /// `--ui`
    pub ui_requirements: Option<String>,
    /// `--entity`
    pub entity: Option<PathBuf>,
}

/// The request (its title may still be empty: it defaults to the entity's name once checked)
/// and the entity definition to check.
pub fn load(flags: Flags) -> Result<(FeatureRequest, EntitySource)> {
    let (file, file_entity) = match &flags.file {
        Some(path) => read_request_file(path)?,
        None => (FeatureRequest::default(), None),
    };
    let entity = match &flags.entity {
        Some(path) => Some(EntitySource::read_file(path)?),
        None => file_entity,
    };
    let Some(entity) = entity else {
        bail!(
            "no entity definition: pass --entity FILE, or set `entity_definition` or `entity_file` in the request file"
        );
    };
    let pick = |flag: Vec<String>, file: Vec<String>| if flag.is_empty() { file } else { flag };
    let request = FeatureRequest {
        title: flags.title.unwrap_or(file.title),
        description: flags.description.or(file.description),
        user_story: flags.user_story.or(file.user_story),
        acceptance_criteria: pick(flags.acceptance_criteria, file.acceptance_criteria),
        endpoints: pick(flags.endpoints, file.endpoints),
        ui_requirements: flags.ui_requirements.or(file.ui_requirements),
    };
    Ok((request, entity))
}

fn read_request_file(path: &Path) -> Result<(FeatureRequest, Option<EntitySource>)> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the request file `{}`", path.display()))?;
    let label = path.display().to_string();
    let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let (request, inline, entity_file) = if is_toml {
        let file: RequestFile<toml::Spanned<String>> =
            toml::from_str(&source).with_context(|| format!("`{label}` is not a valid request file"))?;
        let inline = file.entity_definition.as_ref().map(|spanned| toml_entity(&source, spanned, &label));
        let (request, entity_file) = request_of(file);
        (request, inline, entity_file)
    } else {
        let file: RequestFile<IgnoredAny> =
            serde_json::from_str(&source).with_context(|| format!("`{label}` is not a valid request file"))?;
        let inline = if file.entity_definition.is_some() { Some(json_entity(&source, &label)?) } else { None };
        let (request, entity_file) = request_of(file);
        (request, inline, entity_file)
    };
    let entity = match (inline, entity_file) {
        (Some(_), Some(_)) => bail!("`{label}` sets both `entity_definition` and `entity_file`; keep one"),
        (Some(inline), None) => Some(inline),
        (None, Some(file)) => {
            // Relative to the request file, like paths in Cargo.toml.
            let base = path.parent().unwrap_or(Path::new(""));
            Some(EntitySource::read_file(&base.join(file))?)
        }
        (None, None) => None,
    };
    Ok((request, entity))
}

fn request_of<E>(file: RequestFile<E>) -> (FeatureRequest, Option<PathBuf>) {
    let request = FeatureRequest {
        title: file.title.unwrap_or_default(),
        description: file.description,
        user_story: file.user_story,
        acceptance_criteria: file.acceptance_criteria,
        endpoints: file.api_endpoints,
        ui_requirements: file.ui_requirements,
    };
    (request, file.entity_file)
}

/// The `entity_definition` object of a JSON request file, as written, with its position.
fn json_entity(source: &str, label: &str) -> Result<EntitySource> {
    let root = json::parse(source).map_err(|e| anyhow::anyhow!("{label}:{}: malformed JSON: {}", e.pos, e.message))?;
    let value = entity::member(&root, "entity_definition").expect("serde found entity_definition");
    if !matches!(value.kind, ValueKind::Object(_)) {
        bail!("{label}:{}: `entity_definition` must be an entity object, found {}", value.pos, value.kind.describe());
    }
    let start = entity::offset_of(source, value.pos);
    let end = entity::value_end(source, start);
    let origin = Origin { label: label.to_owned(), line: value.pos.line, column: value.pos.column };
    Ok(EntitySource { text: source[start..end].to_owned(), origin })
}

/// The JSON text of a TOML `entity_definition` string. A literal string (`'''…'''` or
/// `'…'`) holds the JSON exactly as written, so positions map to the file; a basic string
/// may hold escapes, so its positions are given relative to the string.
fn toml_entity(source: &str, spanned: &toml::Spanned<String>, label: &str) -> EntitySource {
    let span = spanned.span();
    let text = spanned.get_ref();
    let mut candidates = Vec::new();
    let raw = &source[span.clone()];
    if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
        let mut start = span.start + 3;
        // TOML drops a newline right after the opening delimiter.
        if source[start..].starts_with("\r\n") {
            start += 2;
        } else if source[start..].starts_with('\n') {
            start += 1;
        }
        candidates.push(start);
    } else {
        candidates.push(span.start + 1);
    }
    for start in candidates {
        if source[start..].starts_with(text.as_str()) {
            let before = &source[..start];
            let line = before.matches('\n').count() as u32 + 1;
            let column = before[before.rfind('\n').map_or(0, |i| i + 1)..].chars().count() as u32 + 1;
            return EntitySource { text: text.clone(), origin: Origin { label: label.to_owned(), line, column } };
        }
    }
    EntitySource { text: text.clone(), origin: Origin::file(format!("{label} (in the `entity_definition` string)")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::check_entity;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("entity-spec-cli-request-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn toml_literal_strings_keep_positions_in_the_file() {
        let path = write(
            "r.toml",
            "title = \"Feeds\"\nacceptance_criteria = [\"a\", \"b\"]\nentity_definition = '''\n{\"name\": \"Feed\", \"fields\": [\n  {\"name\": \"id\", \"type\": \"uuid\", \"primary_key\": true},\n  {\"name\": \"url\", \"type\": \"strng\"}\n]}\n'''\n",
        );
        let (request, entity) = load(Flags { file: Some(path.clone()), ..Flags::default() }).unwrap();
        assert_eq!(request.title, "Feeds");
        assert_eq!(request.acceptance_criteria, ["a", "b"]);
        let error = check_entity(&entity.text, &entity.origin).unwrap_err();
        assert!(
            error
                .to_string()
                .contains(&format!("{}:6:27: entity `Feed`, field `url`: unknown field type", path.display())),
            "{error}"
        );
    }

    #[test]
    fn json_request_files_point_into_the_entity_object() {
        let path = write(
            "r.json",
            "{\"title\": \"Feeds\", \"api_endpoints\": [\"GET /feeds - list\"],\n \"entity_definition\": {\"name\": \"Feed\", \"fields\": [{\"name\": \"id\", \"type\": \"uuid\"}]}}",
        );
        let (request, entity) =
            load(Flags { file: Some(path.clone()), title: Some("Flag wins".to_owned()), ..Flags::default() }).unwrap();
        assert_eq!(request.title, "Flag wins");
        assert_eq!(request.endpoints, ["GET /feeds - list"]);
        let error = check_entity(&entity.text, &entity.origin).unwrap_err();
        assert!(
            error.to_string().contains(&format!("{}:2:50: entity `Feed`: no primary key", path.display())),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_and_missing_entities_are_errors() {
        let path = write("typo.json", "{\"titel\": \"x\"}");
        let error = load(Flags { file: Some(path), ..Flags::default() }).unwrap_err();
        assert!(format!("{error:#}").contains("unknown field `titel`"), "{error:#}");
        let path = write("none.toml", "title = \"x\"\n");
        let error = load(Flags { file: Some(path), ..Flags::default() }).unwrap_err();
        assert!(error.to_string().contains("no entity definition"), "{error}");
    }
}
