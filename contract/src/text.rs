//! How text that came from outside (a spec key, a query parameter, a field value) is shown in
//! messages.

/// At most 64 characters, control characters escaped, so a hostile name or value cannot flood
/// or garble a response, a compiler message or a log line.
pub fn printable(text: &str) -> String {
    let shown: String = text.chars().take(64).flat_map(char::escape_debug).collect();
    if text.chars().count() > 64 { format!("{shown}…") } else { shown }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn long_and_control_text_is_tamed() {
        assert_eq!(printable("name\n"), "name\\n");
        assert_eq!(printable(&"x".repeat(70)), format!("{}…", "x".repeat(64)));
        assert_eq!(printable("ok"), "ok");
    }
}
