//! Values the generated conformance suite sends, derived from each field's type and
//! constraints: valid values (several distinct ones, for unique fields), the boundaries of
//! each constraint on both sides, and strings that match or miss a spec `pattern`, generated
//! from the pattern itself (its syntax tree, then checked with the regex the validators use).

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{Value, json};

use crate::ir::{EntityIr, FieldIr, FieldType};
use crate::json::Number;
use entity_spec_contract::patterns::{ecma_to_rust, is_ecma_space};

/// How many distinct valid values are prepared per field (bodies of several items).
pub(crate) const DISTINCT: usize = 3;

/// A field's pattern, compiled as the validators read it.
fn compiled(field: &FieldIr) -> Option<Regex> {
    field.constraints.pattern.as_deref().and_then(|p| Regex::new(&ecma_to_rust(p)).ok())
}

/// Whether a string value satisfies the field's length and pattern constraints.
pub(crate) fn acceptable_text(field: &FieldIr, value: &str) -> bool {
    let length = value.chars().count() as u64;
    let c = &field.constraints;
    c.min_length.is_none_or(|min| length >= min)
        && c.max_length.is_none_or(|max| length <= max)
        && (!field.required || !value.chars().all(is_ecma_space))
        && compiled(field).is_none_or(|re| re.is_match(value))
}

/// The `index`-th valid value of a field (distinct for distinct indexes where the constraints
/// allow), or `None` when none could be derived (a pattern this generator cannot satisfy).
pub(crate) fn valid_value(field: &FieldIr, index: usize) -> Option<Value> {
    let c = &field.constraints;
    Some(match &field.ty {
        FieldType::String | FieldType::Text => Value::String(valid_text(field, index)?),
        FieldType::Integer => {
            let low = c.min.map_or(0, |n| n.as_f64().ceil() as i64);
            let high = c.max.map_or(i64::MAX, |n| n.as_f64().floor() as i64);
            let value = low.saturating_add(index as i64).min(high);
            (value >= low).then_some(json!(value))?
        }
        FieldType::Float => {
            let low = c.min.map_or(0.0, Number::as_f64);
            let high = c.max.map_or(f64::MAX, Number::as_f64);
            json!((low + index as f64 * 0.5).min(high))
        }
        FieldType::Boolean => json!(index.is_multiple_of(2)),
        FieldType::Enum(enum_ir) => json!(enum_ir.values[index % enum_ir.values.len()].value),
        FieldType::Uuid => json!(format!("00000000-0000-4000-8000-{:012x}", index + 1)),
        FieldType::DateTime => json!(format!("2026-01-{:02}T12:00:00Z", index % 28 + 1)),
        FieldType::Date => json!(format!("2026-01-{:02}", index % 28 + 1)),
        FieldType::Json => json!({"sample": index}),
    })
}

fn valid_text(field: &FieldIr, index: usize) -> Option<String> {
    let c = &field.constraints;
    if field.sensitive {
        // Distinctive, so that a test can search every answer for it.
        let marker = format!("ConformanceSecret{index}x7Q");
        if acceptable_text(field, &marker) {
            return Some(marker);
        }
    }
    if c.pattern.is_none() {
        // Readable, distinct, and as long as the constraints want.
        let mut text = format!("sample {index}");
        let min = c.min_length.unwrap_or(1) as usize;
        while text.chars().count() < min {
            text.push('x');
        }
        if let Some(max) = c.max_length {
            text = text.chars().take(max as usize).collect();
            // Cut to a very short maximum, the index is what keeps values distinct.
            if !text.contains(&index.to_string()) && max as usize >= 1 {
                text = index.to_string().chars().chain(std::iter::repeat('x')).take(min.max(1)).collect();
            }
        }
        return acceptable_text(field, &text).then_some(text);
    }
    // From the pattern: vary the characters picked from each class by `index`, and the number of
    // repetitions until the length constraints are met.
    let hir = parse(field)?;
    for repeat in [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64] {
        let mut text = String::new();
        if render(&hir, index, repeat, &mut text) && acceptable_text(field, &text) {
            return Some(text);
        }
    }
    None
}

fn parse(field: &FieldIr) -> Option<Hir> {
    regex_syntax::parse(&ecma_to_rust(field.constraints.pattern.as_deref()?)).ok()
}

/// A string the syntax tree matches: the `pick`-th character of each class, each repetition
/// `repeat` times (within its bounds), the first branch of each alternation. `false` when the
/// tree needs what this cannot write (an empty class).
fn render(hir: &Hir, pick: usize, repeat: u32, out: &mut String) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(literal) => match std::str::from_utf8(&literal.0) {
            Ok(text) => {
                out.push_str(text);
                true
            }
            Err(_) => false,
        },
        HirKind::Class(class) => match class_char(class, pick) {
            Some(c) => {
                out.push(c);
                true
            }
            None => false,
        },
        HirKind::Repetition(repetition) => {
            let count = repeat.max(repetition.min).min(repetition.max.unwrap_or(u32::MAX)).min(256);
            (0..count).all(|i| render(&repetition.sub, pick + i as usize, repeat, out))
        }
        HirKind::Capture(capture) => render(&capture.sub, pick, repeat, out),
        HirKind::Concat(parts) => parts.iter().all(|part| render(part, pick, repeat, out)),
        HirKind::Alternation(branches) => branches.first().is_some_and(|first| render(first, pick, repeat, out)),
    }
}

/// The `pick`-th printable character of a class, preferring letters and digits (readable
/// values), then any printable ASCII, then anything the class holds.
fn class_char(class: &Class, pick: usize) -> Option<char> {
    let ranges: Vec<(char, char)> = match class {
        Class::Unicode(unicode) => unicode.ranges().iter().map(|r| (r.start(), r.end())).collect(),
        Class::Bytes(bytes) => bytes.ranges().iter().map(|r| (char::from(r.start()), char::from(r.end()))).collect(),
    };
    let contains = |c: char| ranges.iter().any(|&(start, end)| start <= c && c <= end);
    let preferred: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').filter(|&c| contains(c)).collect();
    if !preferred.is_empty() {
        return Some(preferred[pick % preferred.len()]);
    }
    let printable: Vec<char> = ('!'..='~').filter(|&c| contains(c)).collect();
    if !printable.is_empty() {
        return Some(printable[pick % printable.len()]);
    }
    ranges.first().map(|&(start, _)| start)
}

/// A string the field's pattern refuses but its length constraints allow (so the pattern is
/// the reason it is refused), when one of the candidates is.
pub(crate) fn pattern_miss(field: &FieldIr) -> Option<String> {
    let re = compiled(field)?;
    let sample = valid_text(field, 0).unwrap_or_default();
    let min = field.constraints.min_length.unwrap_or(0) as usize;
    let candidates = [
        format!("{sample}!"),
        format!("!{sample}"),
        "!".repeat(min.max(1)),
        " ".repeat(min.max(1)),
        "~".repeat(min.max(1)),
        "0".repeat(min.max(1)),
        "a".repeat(min.max(1)),
        "Z".repeat(min.max(1)),
        "\u{1}".repeat(min.max(1)),
    ];
    candidates.into_iter().find(|candidate| {
        let length = candidate.chars().count() as u64;
        !re.is_match(candidate)
            && field.constraints.min_length.is_none_or(|min| length >= min)
            && field.constraints.max_length.is_none_or(|max| length <= max)
    })
}

/// A string of exactly `length` characters the field accepts, if one can be derived.
pub(crate) fn text_of_length(field: &FieldIr, length: u64) -> Option<String> {
    if field.constraints.pattern.is_none() {
        let text: String = "abcdefghij".chars().cycle().take(length as usize).collect();
        return acceptable_text(field, &text).then_some(text);
    }
    let hir = parse(field)?;
    (0..=length.min(512) as u32).find_map(|repeat| {
        let mut text = String::new();
        (render(&hir, 0, repeat, &mut text) && text.chars().count() as u64 == length && acceptable_text(field, &text))
            .then_some(text)
    })
}

/// A JSON value of the wrong type for the field (a number for text, text for numbers...).
pub(crate) fn wrong_type(field: &FieldIr) -> Value {
    match field.ty {
        FieldType::String
        | FieldType::Text
        | FieldType::Enum(_)
        | FieldType::Uuid
        | FieldType::Date
        | FieldType::DateTime => {
            json!(12345)
        }
        FieldType::Integer | FieldType::Float | FieldType::Boolean => json!("not a number"),
        // Any JSON value is a `json` field's type.
        FieldType::Json => Value::Null,
    }
}

/// The `index`-th valid create body of the entity: every client field that is required or has
/// no default gets a value (optional ones too, so that filters and sorts have something to
/// find). `None` when a required field has no derivable value. Optional references are left
/// out (null); a required one gets a placeholder the suite replaces with an existing item's id.
pub(crate) fn valid_body(entity: &EntityIr, index: usize) -> Option<Value> {
    let mut body = serde_json::Map::new();
    for field in entity.input_fields().filter(|f| f.required || f.references.is_none()) {
        match valid_value(field, index) {
            Some(value) => {
                body.insert(field.name.clone(), value);
            }
            None if field.required => return None,
            None => {}
        }
    }
    Some(Value::Object(body))
}

/// The field's default as the API shows it, if it has one.
pub(crate) fn default_json(field: &FieldIr) -> Option<Value> {
    field.default.as_ref().map(|default| crate::openapi::default_json(field, default))
}
