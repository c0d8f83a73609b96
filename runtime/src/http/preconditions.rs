//! Conditional requests (RFC 9110 §13): `If-Match` guards writes against lost updates,
//! `If-None-Match` lets a reader revalidate. An item's entity tag is its version, `"N"`.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::http::problem::ApiError;

/// What `If-Match` asks for. A write goes ahead only if [`IfMatch::allows`] the stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IfMatch {
    /// `*`: any current version.
    Any,
    /// One of these entity tags (`"3"`, `W/"3"`; a bare `3` is kept as `"3"`).
    Tags(Vec<String>),
}

impl IfMatch {
    /// Strong comparison (RFC 9110 §8.8.3.2): a weak tag never matches.
    pub(crate) fn allows(&self, version: i64) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Tags(tags) => {
                let current = format!("\"{version}\"");
                tags.contains(&current)
            }
        }
    }
}

/// The request's `If-Match`, `None` when absent. A value that is neither `*` nor a list of
/// entity tags (an empty one included) is a 400 naming the header: evaluating it as "no tag
/// matches" would answer 412 to a request that can never succeed, hiding the client's bug.
/// Several field lines form one list (RFC 9110 §5.3).
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<IfMatch>, ApiError> {
    let mut lines = headers.get_all(header::IF_MATCH).iter().peekable();
    if lines.peek().is_none() {
        return Ok(None);
    }
    let mut tags = Vec::new();
    let mut any = false;
    for line in lines {
        match parse_line(line.as_bytes()) {
            Some(Line::Any) => any = true,
            Some(Line::Tags(found)) => tags.extend(found),
            None => return Err(malformed()),
        }
    }
    match (any, tags.is_empty()) {
        (true, true) => Ok(Some(IfMatch::Any)),
        (false, false) => Ok(Some(IfMatch::Tags(tags))),
        // `*` mixed with tags is not a value the grammar allows.
        _ => Err(malformed()),
    }
}

fn malformed() -> ApiError {
    ApiError::invalid_header(
        "If-Match",
        "must be `*` or a comma-separated list of entity tags, such as the `ETag` of the item (`\"3\"`)",
    )
}

enum Line {
    Any,
    Tags(Vec<String>),
}

/// `OWS ( "*" / 1#entity-tag ) OWS`, with no empty list elements; a tag may also be a bare
/// token (`3`), taken as the quoted tag it names.
fn parse_line(line: &[u8]) -> Option<Line> {
    let line = line.trim_ascii();
    if line == b"*" {
        return Some(Line::Any);
    }
    let mut tags = Vec::new();
    for element in list_elements(line) {
        let tag = element.trim_ascii();
        if !tag.is_empty() && tag.iter().all(|&b| is_tchar(b) && b != b'*') {
            tags.push(format!("\"{}\"", String::from_utf8_lossy(tag)));
            continue;
        }
        let opaque = tag.strip_prefix(b"W/").unwrap_or(tag);
        let inner = opaque.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        // etagc = %x21 / %x23-7E / obs-text: visible characters except the double quote.
        if !inner.iter().all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80) {
            return None;
        }
        tags.push(String::from_utf8_lossy(tag).into_owned());
    }
    Some(Line::Tags(tags))
}

/// The elements of a comma-separated list, where a comma inside a quoted entity tag (`etagc`
/// includes it) belongs to the tag.
fn list_elements(line: &[u8]) -> Vec<&[u8]> {
    let mut elements = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, &b) in line.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                elements.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    elements.push(&line[start..]);
    elements
}

/// A character of an HTTP token (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `If-None-Match` uses weak comparison (RFC 9110 §13.1.2). A value that does not parse
/// matches nothing, so the full response is sent: ignoring a broken validator is safe here.
pub(crate) fn if_none_match(condition: Option<&HeaderValue>, version: i64) -> bool {
    let Some(list) = condition.and_then(|v| v.to_str().ok()) else { return false };
    let current = format!("\"{version}\"");
    list.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(values: &[&str]) -> Result<Option<IfMatch>, u16> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        }
        if_match(&headers).map_err(|e| e.status.as_u16())
    }

    #[test]
    fn accepts_star_and_entity_tag_lists() {
        assert_eq!(parsed(&[]), Ok(None));
        assert_eq!(parsed(&["*"]), Ok(Some(IfMatch::Any)));
        assert_eq!(parsed(&[" \"3\" "]), Ok(Some(IfMatch::Tags(vec!["\"3\"".into()]))));
        assert_eq!(parsed(&["3, \"4\""]), Ok(Some(IfMatch::Tags(vec!["\"3\"".into(), "\"4\"".into()]))));
        assert_eq!(
            parsed(&["\"1\", W/\"2\"", "\"\""]),
            Ok(Some(IfMatch::Tags(vec!["\"1\"".into(), "W/\"2\"".into(), "\"\"".into()])))
        );
    }

    #[test]
    fn refuses_what_is_not_an_entity_tag_list() {
        for bad in ["", "\"3", "\"1\",,\"2\"", "\"1\",", "W/3", "\"a\"b\"", "*, \"1\""] {
            assert_eq!(parsed(&[bad]), Err(400), "{bad:?}");
        }
        assert_eq!(parsed(&["*", "\"1\""]), Err(400));
    }

    #[test]
    fn strong_comparison_for_if_match() {
        let tags = |t: &[&str]| IfMatch::Tags(t.iter().map(|s| (*s).to_owned()).collect());
        assert!(tags(&["\"2\"", "\"3\""]).allows(3));
        assert!(!tags(&["W/\"3\""]).allows(3));
        assert!(!tags(&["\"4\""]).allows(3));
        assert!(IfMatch::Any.allows(3));
    }

    #[test]
    fn the_documented_pattern_agrees_with_the_parser() {
        let pattern = regex::Regex::new(entity_spec_contract::patterns::IF_MATCH).unwrap();
        for value in [
            "*",
            " * ",
            "\"3\"",
            "\"1\", W/\"2\"",
            "\"\"",
            "\t\"1\" ,\"2\" ",
            "W/\"0?|D`2@,-g-\", \"a,b\"",
            "3",
            "0, \"1\"",
            "",
            "\"3",
            "\"1\",,\"2\"",
            "\"1\",",
            "W/3\"",
            "\"a\"b\"",
            "*, \"1\"",
            "**",
            "a b",
            "(3)",
        ] {
            assert_eq!(pattern.is_match(value), parsed(&[value]).is_ok(), "{value:?}");
        }
    }
}
