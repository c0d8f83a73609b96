//! The one redactor: every message that may quote a connection string or a credential goes
//! through [`redact`] before it is stored, answered or logged (run messages, `/test` answers,
//! connector errors, every log line the runtime's subscriber writes).
//!
//! It works on text, without knowing which secret to look for, so it also catches what a
//! third-party error quotes back. What it removes:
//! - URL userinfo: `scheme://user:PASSWORD@host` keeps the user, `scheme://TOKEN@host` loses
//!   it all; the password may hold any character but whitespace and quotes (`/`, `@`, `#` and
//!   `?` included: the userinfo ends at the last `@` of the URL);
//! - `name=value` pairs whose name looks secret ([`is_secret_name`]), as URL query parameters
//!   (`?password=…&access_token=…`), DSN pairs (`password=… sslpassword='…'`) or log fields;
//! - the same names as JSON members (`"api_key": "…"`) and as `name: value` header lines;
//! - `Bearer …` credentials and this runtime's own `esk_…` API keys wherever they appear.
//!
//! Over-redacting a harmless value is accepted; leaking a secret is not.

use std::borrow::Cow;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Removes every credential [the module](self) knows the shape of from `text`.
///
/// Every log line passes here, so text with nothing to remove is not copied: each rule
/// answers `None` when it changes nothing, and allocates only once it does.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut text = Cow::Borrowed(text);
    for rule in [userinfo, pairs, bearer_and_keys] {
        if let Some(changed) = rule(&text) {
            text = Cow::Owned(changed);
        }
    }
    text
}

/// [`redact`], then every occurrence of `secret` itself (e.g. the whole connection string a
/// connector was given, which may hold a credential in a form no rule knows) is replaced by
/// its redacted form.
pub fn redact_known(text: &str, secret: &str) -> String {
    let mut text = redact(text).into_owned();
    if !secret.is_empty() {
        let safe = redact(secret);
        if safe != secret {
            text = text.replace(secret, &safe);
        }
    }
    text
}

/// Whether a parameter, DSN key or JSON member named `name` holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "token",
        "key",
        "secret",
        "signature",
        "sig",
        "credential",
        "credentials",
        "auth",
        "authorization",
        "apikey",
        "api_key",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
        "session",
        "sessionid",
        "private_key",
        "sslpassword",
        "sslkey",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    ];
    const ENDINGS: &[&str] = &["password", "passwd", "token", "secret", "_key", "-key", "apikey", "signature"];
    let lower = name.to_ascii_lowercase();
    NAMES.contains(&lower.as_str()) || ENDINGS.iter().any(|ending| lower.ends_with(ending))
}

/// Ends a token: a URL or a value never spans these.
fn ends_token(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>')
}

fn userinfo(text: &str) -> Option<String> {
    if !text.contains("://") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = at + 3;
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let token_end = after.find(ends_token).unwrap_or(after.len());
        let token = &after[..token_end];
        match token.rfind('@') {
            Some(last_at) => {
                let credentials = &token[..last_at];
                // `user:password` keeps the user (a user name cannot hold a raw `:`); a lone
                // userinfo is a token (`https://TOKEN@host`) and goes entirely.
                match credentials.split_once(':') {
                    Some((user, _)) if !user.contains(['/', '?', '#']) => {
                        out.push_str(user);
                        out.push(':');
                    }
                    _ => {}
                }
                out.push_str(MASK);
                changed = true;
                rest = &after[last_at..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Characters a `name=value` or `name: value` name is made of.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn pairs(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    // Allocated by the first secret found, if any.
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let separator = bytes[i];
        if !matches!(separator, b'=' | b':') {
            i += 1;
            continue;
        }
        // The name before the separator, possibly quoted (a JSON member).
        let mut name_end = i;
        while name_end > 0 && bytes[name_end - 1] == b' ' {
            name_end -= 1;
        }
        let quoted_name = name_end > 0 && bytes[name_end - 1] == b'"';
        if quoted_name {
            name_end -= 1;
        }
        let mut name_start = name_end;
        while name_start > 0 && is_name_char(bytes[name_start - 1] as char) {
            name_start -= 1;
        }
        let name = &text[name_start..name_end];
        // `scheme://` is not a pair; `name: value` needs the space (so `host:5432` is not one).
        let colon_pair = separator == b':' && (quoted_name || bytes.get(i + 1) == Some(&b' '));
        if name.is_empty() || !is_secret_name(name) || (separator == b':' && !colon_pair) {
            i += 1;
            continue;
        }
        let mut value_start = i + 1;
        while value_start < bytes.len() && bytes[value_start] == b' ' {
            value_start += 1;
        }
        let value_end = value_end(text, value_start, separator == b':' && !quoted_name);
        if value_end > value_start {
            out.push_str(&text[copied..value_start]);
            let quote = bytes[value_start];
            if matches!(quote, b'"' | b'\'') {
                out.push(quote as char);
                out.push_str(MASK);
                out.push(quote as char);
            } else {
                out.push_str(MASK);
            }
            copied = value_end;
        }
        i = value_end.max(i + 1);
    }
    // `copied` moves past every value replaced: still 0, nothing was.
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Where the value starting at `start` ends: after its closing quote when quoted (with `\`
/// escapes, as JSON and DSNs write them), else at a delimiter. A header line's value runs to
/// the end of the line (`Authorization: Basic …` has a space in it).
fn value_end(text: &str, start: usize, to_end_of_line: bool) -> usize {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.get(start) else { return start };
    if matches!(first, b'"' | b'\'') {
        let mut i = start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                c if c == first => return i + 1,
                _ => i += 1,
            }
        }
        return bytes.len();
    }
    let stop = |c: char| {
        if to_end_of_line {
            matches!(c, '\r' | '\n')
        } else {
            c.is_whitespace() || matches!(c, '&' | ';' | ',' | '"' | '}' | ')' | '#')
        }
    };
    text[start..].find(stop).map_or(text.len(), |offset| start + offset)
}

fn bearer_and_keys(text: &str) -> Option<String> {
    const MARKERS: [&str; 3] = ["Bearer ", "bearer ", "esk_"];
    if !MARKERS.iter().any(|marker| text.contains(marker)) {
        return None;
    }
    let mut out = text.to_owned();
    for marker in MARKERS {
        let mut searched = 0;
        while let Some(found) = out[searched..].find(marker) {
            let value_start = searched + found + marker.len();
            // An API key is base64url; a bearer token runs to the end of its token.
            let ends = |c: char| match marker {
                "esk_" => !(c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                _ => ends_token(c) || c == ',',
            };
            let value_end = out[value_start..].find(ends).map_or(out.len(), |end| value_start + end);
            // A marker inside a word (`desk_lamp`, `Unbearer x`) starts no credential.
            let inside_word =
                out[..searched + found].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
            if inside_word || value_end == value_start || out[value_start..value_end] == *MASK {
                searched = value_start;
                continue;
            }
            out.replace_range(value_start..value_end, MASK);
            searched = value_start + MASK.len();
        }
    }
    (out != text).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn assert_redacts(text: &str, expected: &str) {
        assert_eq!(redact(text), expected, "redacting {text:?}");
    }

    #[test]
    fn url_userinfo_keeps_the_user_and_any_password_goes() {
        assert_redacts("postgres://app:hunter2@db:5432/prod", "postgres://app:***@db:5432/prod");
        assert_redacts("postgres://app:pa/ss@db/prod", "postgres://app:***@db/prod");
        assert_redacts("postgres://u:p@ss#?x@host/db", "postgres://u:***@host/db");
        assert_redacts("https://ghp_token@github.com/x", "https://***@github.com/x");
        assert_redacts("postgres://app@db/prod", "postgres://***@db/prod");
        assert_redacts("sqlite://entity-spec.db", "sqlite://entity-spec.db");
        assert_redacts(
            "cannot connect to postgres://a:b@h/d: refused, retry mysql://c:d@e",
            "cannot connect to postgres://a:***@h/d: refused, retry mysql://c:***@e",
        );
    }

    #[test]
    fn secret_query_parameters_and_dsn_pairs_go() {
        assert_redacts(
            "https://api.example.com/v1?page=2&api_key=abc123&access_token=t0k&sig=zz#frag",
            "https://api.example.com/v1?page=2&api_key=***&access_token=***&sig=***#frag",
        );
        assert_redacts(
            "host=db user=etl password=s3cret dbname=prod sslpassword='a b c'",
            "host=db user=etl password=*** dbname=prod sslpassword='***'",
        );
        assert_redacts("ignoring parameter key=api_key value=1", "ignoring parameter key=*** value=1");
        assert_redacts("no secrets here: page=2, limit=10", "no secrets here: page=2, limit=10");
    }

    #[test]
    fn json_members_header_lines_and_bearer_tokens_go() {
        assert_redacts(
            r#"{"user": "etl", "password": "p\"w", "n": 1}"#,
            r#"{"user": "etl", "password": "***", "n": 1}"#,
        );
        assert_redacts("Authorization: Basic dXNlcjpwdw==\nAccept: */*", "Authorization: ***\nAccept: */*");
        assert_redacts("sent Bearer eyJhbGciOi.x.y to it", "sent Bearer *** to it");
        assert_redacts("key esk_AbC-_123 leaked", "key esk_*** leaked");
        assert_redacts("(esk_AbC) and desk_lamp", "(esk_***) and desk_lamp");
    }

    #[test]
    fn ordinary_text_is_not_copied() {
        assert!(matches!(redact("read 3 table(s)"), Cow::Borrowed(_)));
        // A request's log line has `name=value` fields and times with colons: nothing to remove.
        let line = "2026-11-30T05:00:00.123Z INFO request{method=GET path=/raw-data-sources}: finished status=200";
        assert!(matches!(redact(line), Cow::Borrowed(_)));
        assert_redacts("HTTP 200, 12 bytes of application/json", "HTTP 200, 12 bytes of application/json");
        assert_redacts("cannot reach the broker at 10.0.0.1:4222", "cannot reach the broker at 10.0.0.1:4222");
    }

    #[test]
    fn a_known_secret_goes_even_in_a_form_no_rule_knows() {
        let secret = "weird-format;hunter2";
        assert_eq!(redact_known("failed: weird-format;hunter2", secret), "failed: weird-format;hunter2");
        let url = "postgres://u:hunter2@h/d";
        assert_eq!(redact_known("failed on postgres://u:hunter2@h/d", url), "failed on postgres://u:***@h/d");
    }

    /// Generated secrets in every form the module documents: none survives.
    #[test]
    fn no_generated_secret_survives_in_any_form() {
        let alphabet: Vec<char> = "abcXYZ0189/@:#?%+=!$^*()[]{}|~.-_".chars().collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for round in 0..2_000 {
            let length = 6 + next(20);
            let raw: String = (0..length).map(|_| alphabet[next(alphabet.len())]).collect();
            // Forms where the secret must be percent-encoded or quoted to be valid are given
            // valid values: that is what a real connection string holds.
            let encoded: String = form_urlencoded::byte_serialize(raw.as_bytes()).collect();
            let quoted = raw.replace('\\', "\\\\").replace('\'', "\\'");
            let json = serde_json::to_string(&raw).unwrap();
            let forms = [
                format!("postgres://etl:{raw}@db.internal:5432/prod"),
                format!("https://api.example.com/data?format=json&access_token={encoded}&page=1"),
                format!("https://api.example.com/data?password={encoded}"),
                format!("host=db user=etl password={encoded} dbname=prod"),
                format!("host=db password='{quoted}' dbname=prod"),
                format!("{{\"name\": \"x\", \"api_key\": {json}}}"),
                format!("Authorization: Bearer {encoded}"),
            ];
            for form in forms {
                let message = format!("cannot connect to {form}: connection refused");
                let safe = redact(&message);
                let secret = if form.contains(&raw) { raw.as_str() } else { encoded.as_str() };
                assert!(!safe.contains(secret), "round {round}: {secret:?} survived in {safe:?}");
            }
        }
    }
}
