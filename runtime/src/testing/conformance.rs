//! Checks responses against the OpenAPI document the service serves: the status must be
//! declared for the operation (or covered by `default`), the media type must be one the
//! document lists, the body must match its schema (JSON Schema 2020-12, formats asserted),
//! and declared headers must be present.
//!
//! [`Client`](crate::testing::Client) runs this on every response to a documented operation,
//! so every test of a service also proves its document true.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::HeaderMap;
use serde_json::Value;

/// A document prepared for checking.
pub struct Conformance {
    document: Value,
    /// `components.schemas` with `$ref`s rewritten to `#/$defs/…`, the root of every check.
    definitions: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// The prepared document for this text, built once per process.
pub fn for_document(text: &str) -> Arc<Conformance> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Conformance>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    cache.entry(text.to_owned()).or_insert_with(|| Arc::new(Conformance::new(text))).clone()
}

impl Conformance {
    fn new(text: &str) -> Self {
        let document: Value = serde_json::from_str(text).expect("the served OpenAPI document is JSON");
        assert_eq!(document["openapi"], "3.1.0", "OpenAPI version");
        let rewritten = serde_json::to_string(&document["components"]["schemas"])
            .expect("schemas serialize")
            .replace("#/components/schemas/", "#/$defs/");
        let definitions = serde_json::from_str(&rewritten).expect("rewritten schemas parse");
        Conformance { document, definitions, validators: Mutex::new(HashMap::new()) }
    }

    /// The operation (`paths[template][method]`) that serves `method path`, if documented.
    fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let paths = self.document["paths"].as_object()?;
        let segments: Vec<&str> = path.split('/').collect();
        let (template, item) = paths.iter().find(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(p, s)| (p.starts_with('{') && p.ends_with('}')) || p == s)
        })?;
        let operation = item.get(method.to_ascii_lowercase())?;
        Some((template.as_str(), operation))
    }

    fn validator(&self, schema: &Value) -> Arc<jsonschema::Validator> {
        let key = schema.to_string();
        let mut validators = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        validators
            .entry(key.clone())
            .or_insert_with(|| {
                let rewritten: Value =
                    serde_json::from_str(&key.replace("#/components/schemas/", "#/$defs/")).expect("schema parses");
                let mut root = serde_json::json!({"$defs": self.definitions});
                if let (Value::Object(root), Value::Object(schema)) = (&mut root, rewritten) {
                    root.extend(schema);
                }
                Arc::new(
                    jsonschema::draft202012::options()
                        .should_validate_formats(true)
                        .build(&root)
                        .unwrap_or_else(|e| panic!("schema {key} does not compile: {e}")),
                )
            })
            .clone()
    }

    /// Panics with [`verify`](Self::verify)'s message when the response does not conform.
    #[track_caller]
    pub fn check(&self, method: &str, path: &str, status: u16, headers: &HeaderMap, body: &[u8]) {
        if let Err(problem) = self.verify(method, path, status, headers, body) {
            panic!("{problem}");
        }
    }

    /// Whether the response conforms, or a precise message saying how it does not. Requests
    /// outside the document (unknown routes, undocumented methods) are not checked.
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let Some((template, operation)) = self.operation(method, path) else { return Ok(()) };
        let context = format!("{method} {path} (operation {template}) answered {status}");
        let responses = &operation["responses"];
        let declared = responses.get(status.to_string());
        let response = match (declared, responses.get("default")) {
            (Some(response), _) => response,
            (None, Some(default)) if status >= 500 => default,
            _ => {
                return Err(format!(
                    "{context}: status not declared; declared: {:?}",
                    responses.as_object().map(|r| r.keys().collect::<Vec<_>>())
                ));
            }
        };
        if let Some(declared_headers) = response["headers"].as_object()
            && let Some(name) = declared_headers.keys().find(|name| !headers.contains_key(name.as_str()))
        {
            return Err(format!("{context}: declared header `{name}` is missing"));
        }
        let Some(content) = response["content"].as_object() else {
            if body.is_empty() {
                return Ok(());
            }
            return Err(format!("{context}: no body is declared but one was sent: {}", String::from_utf8_lossy(body)));
        };
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        let Some(media) = content.get(essence) else {
            return Err(format!(
                "{context}: media type `{content_type}` not declared; declared: {:?}",
                content.keys().collect::<Vec<_>>()
            ));
        };
        if !(essence == "application/json" || essence.ends_with("+json")) {
            // A text body (the metrics exposition): its schema can only say "a string".
            return match (std::str::from_utf8(body), media["schema"]["type"].as_str()) {
                (Ok(_), Some("string")) => Ok(()),
                (Err(_), _) => Err(format!("{context}: the `{essence}` body is not UTF-8")),
                (Ok(_), other) => Err(format!("{context}: a `{essence}` body declared as {other:?}, not a string")),
            };
        }
        let instance: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{context}: body is not JSON ({e}): {}", String::from_utf8_lossy(body)))?;
        let validator = self.validator(&media["schema"]);
        let errors: Vec<String> =
            validator.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{context}: body does not match its schema:\n  {}\nbody: {instance}", errors.join("\n  ")))
        }
    }
}
