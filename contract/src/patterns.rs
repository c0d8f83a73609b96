//! The regular expressions the OpenAPI document gives values the runtime checks in code, so
//! that the document promises exactly what the server accepts (schemathesis checks both ways:
//! every value matching is accepted, every value not matching is refused).

/// `If-Match` (RFC 9110 §13.1.1): `*` or a comma-separated list of entity tags, no empty
/// elements. A tag may also be sent without its quotes (`3` for `"3"`), as people type it.
/// The runtime also accepts `obs-text` bytes inside a quoted tag, which no client should send
/// and which the document leaves out.
pub const IF_MATCH: &str = concat!(
    r#"^[ \t]*(\*|"#,
    r#"((W/)?"[!#-~]*"|[!#$%&'+.^_`|~0-9A-Za-z-]+)"#,
    r#"([ \t]*,[ \t]*((W/)?"[!#-~]*"|[!#$%&'+.^_`|~0-9A-Za-z-]+))*"#,
    r#")[ \t]*$"#
);

/// U+0000 anywhere in the text.
pub const NUL: &str = r"\u0000";

/// Text without U+0000, which PostgreSQL's `text` and `jsonb` cannot hold; the runtime refuses
/// it on both databases alike.
pub const NO_NUL: &str = r"^[^\u0000]*$";

/// Required text: not blank (the validators refuse whitespace-only values) and without U+0000.
pub const NOT_BLANK_NO_NUL: &str = r"^[^\u0000]*[^\s\u0000][^\u0000]*$";

/// ECMA-262's `\s`: the characters JSON Schema's `pattern` (and so the OpenAPI document, and
/// every client checking it) counts as white space, for use inside a character class. The same
/// set as [`is_ecma_space`].
const ECMA_SPACE: &str =
    r"\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";

/// Whether `c` is ECMA-262 white space (`\s` in a JSON Schema pattern): the runtime's blank
/// check uses this set, not Rust's `char::is_whitespace`, which also counts U+0085 (NEL) and
/// would refuse a value [`NOT_BLANK_NO_NUL`] admits.
pub fn is_ecma_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// A spec's `pattern`, written in JSON Schema's dialect (ECMA-262), as the `regex` crate must
/// read it to accept exactly the same strings: `\d`, `\w` and `\s` are ASCII digits, ASCII word
/// characters and ECMA white space (the crate's are Unicode classes), `.` excludes every line
/// terminator, and `[`, `&` and `~` inside a class are literals (the crate reads nested classes
/// and set operations there). Everything else is the same in both dialects.
pub fn ecma_to_rust(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(escaped) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let (set, negated) = match escaped {
                    'd' => ("0-9", false),
                    'D' => ("0-9", true),
                    'w' => ("0-9A-Za-z_", false),
                    'W' => ("0-9A-Za-z_", true),
                    's' => (ECMA_SPACE, false),
                    'S' => (ECMA_SPACE, true),
                    other => {
                        out.push('\\');
                        out.push(other);
                        continue;
                    }
                };
                // Inside a class a set is spliced in, or nested when negated (the crate reads
                // `[a[^0-9]]` as a union).
                match (in_class, negated) {
                    (true, false) => out.push_str(set),
                    (_, true) => out.push_str(&format!("[^{set}]")),
                    (false, false) => out.push_str(&format!("[{set}]")),
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `^` negates the class, in both dialects.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '.' if !in_class => out.push_str(r"[^\n\r\x{2028}\x{2029}]"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ecma_to_rust;

    #[test]
    fn ascii_classes_and_ecma_white_space() {
        assert_eq!(ecma_to_rust(r"^\d+$"), r"^[0-9]+$");
        assert_eq!(ecma_to_rust(r"[\w.-]"), r"[0-9A-Za-z_.-]");
        assert_eq!(ecma_to_rust(r"[^\s\x00]"), format!(r"[^{}\x00]", super::ECMA_SPACE));
        assert_eq!(ecma_to_rust(r"[a\D]"), r"[a[^0-9]]");
        assert_eq!(ecma_to_rust(r"\S"), format!("[^{}]", super::ECMA_SPACE));
    }

    #[test]
    fn the_white_space_class_and_function_agree_on_every_char() {
        let class = regex::Regex::new(&format!("^[{}]$", super::ECMA_SPACE)).expect("valid class");
        let mut buf = [0; 4];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(class.is_match(c.encode_utf8(&mut buf)), super::is_ecma_space(c), "U+{:04X}", c as u32);
        }
        // NEL is white space to Rust but not to ECMA-262: a required value of only U+0085 is not blank.
        assert!(!super::is_ecma_space('\u{85}') && '\u{85}'.is_whitespace());
    }

    #[test]
    fn dots_literals_and_escapes() {
        assert_eq!(ecma_to_rust("a.b"), r"a[^\n\r\x{2028}\x{2029}]b");
        assert_eq!(ecma_to_rust(r"[.]\.\\d"), r"[.]\.\\d");
        assert_eq!(ecma_to_rust("[[&~]"), r"[\[\&\~]");
        assert_eq!(ecma_to_rust(r"\u0041\x41"), r"\u0041\x41");
    }
}
