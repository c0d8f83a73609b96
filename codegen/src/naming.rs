//! Identifier rules and case conversions: how spec names become Rust, SQL and URL names.

/// Rust keywords (strict, reserved and weak ones that cannot name an item or a field), plus
/// the spellings that only fail in some positions.
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait",
    "true", "try", "type", "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Type names generated code uses unqualified; an entity with one of these names would shadow
/// them inside the module.
const PRELUDE_TYPES: &[&str] = &["Box", "Err", "None", "Ok", "Option", "Result", "Some", "String", "Vec"];

/// PostgreSQL truncates identifiers longer than this, which would silently merge names.
pub(crate) const MAX_IDENTIFIER_LEN: usize = 63;

/// Whether `name` is a Rust keyword.
pub(crate) fn is_rust_keyword(name: &str) -> bool {
    RUST_KEYWORDS.contains(&name)
}

/// Whether `name` is a prelude type or variant that generated code relies on.
pub(crate) fn is_prelude_name(name: &str) -> bool {
    PRELUDE_TYPES.contains(&name)
}

/// `snake_case`: lowercase ASCII letters and digits in words joined by single underscores,
/// starting with a letter.
pub(crate) fn is_snake_case(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
}

/// `PascalCase`: ASCII letters and digits starting with an uppercase letter.
pub(crate) fn is_pascal_case(name: &str) -> bool {
    matches!(name.chars().next(), Some('A'..='Z')) && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `kebab-case` URL segment: lowercase ASCII letters and digits in words joined by single
/// hyphens.
pub(crate) fn is_kebab_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !segment.starts_with('-')
        && !segment.ends_with('-')
        && !segment.contains("--")
}

/// `source_type` → `SourceType`.
pub(crate) fn snake_to_pascal(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A PascalCase name for what was written with other separators (`order_item`, `My Widget`,
/// `my-widget` → `OrderItem`, `MyWidget`), if that makes one.
pub(crate) fn suggest_pascal(name: &str) -> Option<String> {
    let words: Vec<&str> = name.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let suggestion = snake_to_pascal(&words.join("_"));
    (is_pascal_case(&suggestion) && suggestion != name).then_some(suggestion)
}

/// `RawDataSource` → `raw_data_source`; runs of capitals stay one word (`HTTPEndpoint` →
/// `http_endpoint`).
pub(crate) fn pascal_to_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `sync_all` → `sync-all`.
pub(crate) fn snake_to_kebab(name: &str) -> String {
    name.replace('_', "-")
}

/// English plural of the last word of a snake_case name: `raw_data_source` →
/// `raw_data_sources`, `category` → `categories`, `box` → `boxes`.
pub(crate) fn pluralize(name: &str) -> String {
    let ends_with_consonant_y = name.ends_with('y') && !name[..name.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if ends_with_consonant_y {
        format!("{}ies", &name[..name.len() - 1])
    } else if name.ends_with(['s', 'x', 'z']) || name.ends_with("ch") || name.ends_with("sh") {
        format!("{name}es")
    } else {
        format!("{name}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversions() {
        assert_eq!(pascal_to_snake("RawDataSource"), "raw_data_source");
        assert_eq!(pascal_to_snake("HTTPEndpoint"), "http_endpoint");
        assert_eq!(pascal_to_snake("Order2Line"), "order2_line");
        assert_eq!(snake_to_pascal("sync_status"), "SyncStatus");
        assert_eq!(snake_to_pascal("v2_api"), "V2Api");
        assert_eq!(snake_to_kebab("sync_all"), "sync-all");
    }

    #[test]
    fn plurals() {
        assert_eq!(pluralize("raw_data_source"), "raw_data_sources");
        assert_eq!(pluralize("category"), "categories");
        assert_eq!(pluralize("day"), "days");
        assert_eq!(pluralize("box"), "boxes");
        assert_eq!(pluralize("batch"), "batches");
        assert_eq!(pluralize("status"), "statuses");
    }

    #[test]
    fn identifier_rules() {
        assert!(is_snake_case("source_type") && is_snake_case("a1"));
        for bad in ["SourceType", "_x", "x_", "a__b", "1a", "naïve", ""] {
            assert!(!is_snake_case(bad), "{bad}");
        }
        assert!(is_pascal_case("RawDataSource"));
        assert_eq!(suggest_pascal("My Widget").as_deref(), Some("MyWidget"));
        assert_eq!(suggest_pascal("order_item").as_deref(), Some("OrderItem"));
        assert_eq!(suggest_pascal("my-widget 2").as_deref(), Some("MyWidget2"));
        assert_eq!(suggest_pascal("2fast"), None);
        for bad in ["rawDataSource", "Raw_Data", "Ñu", ""] {
            assert!(!is_pascal_case(bad), "{bad}");
        }
        assert!(is_rust_keyword("type") && is_rust_keyword("Self") && !is_rust_keyword("kind"));
        assert!(is_kebab_segment("sync-all"));
        for bad in ["Sync", "a--b", "-a", "a/b", ""] {
            assert!(!is_kebab_segment(bad), "{bad}");
        }
    }
}
