//! Every setting a service reads from its environment, in one list: what `my-service config`
//! prints with the current values and what `docs/configuration.md` documents (a test below
//! keeps the three in step). Each name is owned by the module that reads it; this list only
//! gathers them, with their defaults taken from the same modules.

use std::borrow::Cow;

use entity_spec_contract::limits::DEFAULT_ACTION_CONCURRENCY;

use crate::auth::authenticator::{AUDIT_VAR, AUTH_VAR};
use crate::auth::jwt::{AUDIENCE_VAR, ISSUER_VAR, JWKS_VAR, SECRET_VAR as JWT_SECRET_VAR};
use crate::egress::files::FILE_ROOTS_VAR;
use crate::egress::host_limit::{DEFAULT_PER_HOST, PER_HOST_VAR};
use crate::egress::policy::{ALLOW_VAR, DENY_VAR};
use crate::http::action_routes::ACTION_CONCURRENCY_VAR;
use crate::http::compression::COMPRESSION_VAR;
use crate::http::cors::CORS_ORIGINS_VAR;
use crate::http::metrics::METRICS_VAR;
use crate::http::rate_limit::{RATE_LIMIT_PER_ADDRESS_VAR, RATE_LIMIT_VAR};
use crate::model::redact::redact;
use crate::runs::drain::{DEFAULT_DRAIN, DRAIN_SECS_VAR};
use crate::runs::engine::{
    DEFAULT_RETENTION_DAYS, DEFAULT_RETENTION_PER_ITEM, DEFAULT_RUN_LEASE_SECS, DEFAULT_RUN_TIMEOUT_SECS,
    DEFAULT_SCHEDULE_SECS, DEFAULT_WORKERS, RETENTION_DAYS_VAR, RETENTION_PER_ITEM_VAR, RUN_LEASE_SECS_VAR,
    RUN_RETRIES_VAR, RUN_TIMEOUT_SECS_VAR, SCHEDULE_SECS_VAR, WORKERS_VAR,
};
use crate::serve::server::{
    BIND_ADDR_VAR, DEFAULT_BIND_ADDR, HEADER_TIMEOUT_SECS_VAR, LOG_FORMAT_VAR, MAX_CONNECTIONS_VAR,
    SHUTDOWN_DELAY_SECS_VAR, ServerLimits,
};
use crate::storage::db::{DATABASE_URL_VAR, DEFAULT_DATABASE_URL};
use crate::storage::migrations::ALLOW_DESTRUCTIVE_VAR;
use crate::storage::secret_keys::{SECRET_KEY_FILE_VAR, SECRET_KEY_VAR};

/// How a setting's current value may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// As it is.
    Plain,
    /// Through the redactor: a URL's password or a query's token is masked.
    Redacted,
    /// Never: only whether it is set (keys and secrets).
    Hidden,
}

/// One environment variable a service reads.
pub struct Setting {
    /// The variable's name.
    pub name: &'static str,
    /// What it does when unset, as the operator reads it.
    pub default: fn() -> Cow<'static, str>,
    /// What it does, in one line.
    pub what: &'static str,
    /// How `config` may show its value.
    pub shown: Shown,
}

const fn setting(name: &'static str, default: fn() -> Cow<'static, str>, what: &'static str, shown: Shown) -> Setting {
    Setting { name, default, what, shown }
}

fn unset() -> Cow<'static, str> {
    Cow::Borrowed("unset")
}

/// Every setting, grouped as `docs/configuration.md` groups them.
pub const SETTINGS: &[Setting] = &[
    // Where it runs.
    setting(
        DATABASE_URL_VAR,
        || DEFAULT_DATABASE_URL.into(),
        "the database: sqlite://… or postgres://…",
        Shown::Redacted,
    ),
    setting(BIND_ADDR_VAR, || DEFAULT_BIND_ADDR.into(), "the address the API listens on", Shown::Plain),
    setting(
        MAX_CONNECTIONS_VAR,
        || ServerLimits::default().max_connections.to_string().into(),
        "HTTP connections served at once",
        Shown::Plain,
    ),
    setting(
        HEADER_TIMEOUT_SECS_VAR,
        || ServerLimits::default().header_timeout.as_secs().to_string().into(),
        "seconds to receive a request's head (also the keep-alive idle timeout)",
        Shown::Plain,
    ),
    setting(
        SHUTDOWN_DELAY_SECS_VAR,
        || "0".into(),
        "seconds requests are still served after SIGTERM, /readyz failing, before draining",
        Shown::Plain,
    ),
    setting(
        DRAIN_SECS_VAR,
        || DEFAULT_DRAIN.as_secs().to_string().into(),
        "seconds running runs get to finish after SIGTERM",
        Shown::Plain,
    ),
    setting(LOG_FORMAT_VAR, || "text".into(), "`text` or `json` (one object per line)", Shown::Plain),
    setting("RUST_LOG", || "info".into(), "log filter (tracing-subscriber's EnvFilter syntax)", Shown::Plain),
    setting(
        METRICS_VAR,
        || "on".into(),
        "`off` stops counting requests for /metrics (runs, queue, pool still shown)",
        Shown::Plain,
    ),
    setting(
        COMPRESSION_VAR,
        || "on".into(),
        "`off` never compresses responses (gzip, br for JSON and the workbench)",
        Shown::Plain,
    ),
    setting(
        CORS_ORIGINS_VAR,
        || "unset: CORS off".into(),
        "origins browsers may call the API from, comma-separated",
        Shown::Plain,
    ),
    // Who may call it.
    setting(AUTH_VAR, || "on".into(), "`off` serves without credentials (loopback addresses only)", Shown::Plain),
    setting(
        RATE_LIMIT_VAR,
        || "unset: no limit".into(),
        "requests per credential, e.g. 100/s or 3000/min (then 429)",
        Shown::Plain,
    ),
    setting(
        RATE_LIMIT_PER_ADDRESS_VAR,
        || "unset: no limit".into(),
        "requests per client IP address, same syntax (checked before the credential)",
        Shown::Plain,
    ),
    setting(AUDIT_VAR, || "on".into(), "`off` stops writing the audit trail", Shown::Plain),
    setting(JWT_SECRET_VAR, unset, "shared secret of HS256/384/512 bearer tokens", Shown::Hidden),
    setting(JWKS_VAR, unset, "JWKS file or https URL of RS/PS/ES/EdDSA token keys", Shown::Redacted),
    setting(ISSUER_VAR, unset, "the `iss` tokens must carry", Shown::Plain),
    setting(AUDIENCE_VAR, unset, "the `aud` tokens must carry", Shown::Plain),
    // Secrets at rest.
    setting(
        SECRET_KEY_VAR,
        || "unset: SQLite uses <database>.key".into(),
        "keys of sensitive fields, `[id:]base64`, newest first",
        Shown::Hidden,
    ),
    setting(SECRET_KEY_FILE_VAR, unset, "a file of the same keys, one per line", Shown::Plain),
    setting(ALLOW_DESTRUCTIVE_VAR, || "off".into(), "`1` lets a migration convert or drop stored values", Shown::Plain),
    // What connectors may reach.
    setting(
        ALLOW_VAR,
        || "unset: public addresses only".into(),
        "extra destinations (hosts, CIDRs, host:port), comma-separated",
        Shown::Plain,
    ),
    setting(DENY_VAR, unset, "destinations never reached, comma-separated (beats the allow list)", Shown::Plain),
    setting(
        FILE_ROOTS_VAR,
        || "unset: no file sources".into(),
        "folders file sources may read, `:`-separated",
        Shown::Plain,
    ),
    setting(
        PER_HOST_VAR,
        || DEFAULT_PER_HOST.to_string().into(),
        "connections in flight to one host:port",
        Shown::Plain,
    ),
    // Actions and runs.
    setting(
        ACTION_CONCURRENCY_VAR,
        || DEFAULT_ACTION_CONCURRENCY.to_string().into(),
        "calls of one plain action served at once (then 429)",
        Shown::Plain,
    ),
    setting(
        WORKERS_VAR,
        || DEFAULT_WORKERS.to_string().into(),
        "tracked runs executed at once by this instance",
        Shown::Plain,
    ),
    setting(
        RUN_TIMEOUT_SECS_VAR,
        || DEFAULT_RUN_TIMEOUT_SECS.to_string().into(),
        "seconds a run may take before it fails",
        Shown::Plain,
    ),
    setting(
        RUN_LEASE_SECS_VAR,
        || DEFAULT_RUN_LEASE_SECS.to_string().into(),
        "seconds a dead worker's run stays claimed (5 to 3600)",
        Shown::Plain,
    ),
    setting(
        RUN_RETRIES_VAR,
        || "on".into(),
        "`off`: failed attempts are final, whatever the spec's `retry` says",
        Shown::Plain,
    ),
    setting(
        SCHEDULE_SECS_VAR,
        || DEFAULT_SCHEDULE_SECS.to_string().into(),
        "seconds between scheduler passes (0: off)",
        Shown::Plain,
    ),
    setting(
        RETENTION_DAYS_VAR,
        || DEFAULT_RETENTION_DAYS.to_string().into(),
        "days finished runs are kept (0: no age limit)",
        Shown::Plain,
    ),
    setting(
        RETENTION_PER_ITEM_VAR,
        || DEFAULT_RETENTION_PER_ITEM.to_string().into(),
        "finished runs kept per item and action (0: all)",
        Shown::Plain,
    ),
];

/// The `config` table: each setting with the value `var` gives it (secrets never shown), or
/// its default.
pub fn describe(var: impl Fn(&str) -> Option<String>) -> String {
    let width = SETTINGS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for setting in SETTINGS {
        let value = match (var(setting.name).filter(|v| !v.trim().is_empty()), setting.shown) {
            (None, _) => format!("(default: {})", (setting.default)()),
            (Some(_), Shown::Hidden) => "(set, not shown)".to_owned(),
            (Some(value), Shown::Redacted) => redact(&value).into_owned(),
            (Some(value), Shown::Plain) => value,
        };
        // A value is one line whatever the variable holds.
        let value: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        out.push_str(&format!("{:<width$}  {value}\n{:<width$}  # {}\n", setting.name, "", setting.what));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    fn names() -> BTreeSet<&'static str> {
        SETTINGS.iter().map(|s| s.name).collect()
    }

    /// Every `"ENTITY_SPEC_…"` string literal in the runtime's code, test helpers left out.
    fn read_in_source(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("readable source folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("testing") {
                    read_in_source(&path, found);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for piece in text.split("\"ENTITY_SPEC_").skip(1) {
                let name: String = piece.chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
                if !name.is_empty() && piece[name.len()..].starts_with('"') {
                    found.insert(format!("ENTITY_SPEC_{name}"));
                }
            }
        }
    }

    #[test]
    fn every_variable_the_runtime_reads_is_listed_once() {
        let mut found = BTreeSet::new();
        read_in_source(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
        let listed = names();
        let missing: Vec<_> = found.iter().filter(|name| !listed.contains(name.as_str())).collect();
        assert!(missing.is_empty(), "read but not in SETTINGS: {missing:?}");
        assert_eq!(listed.len(), SETTINGS.len(), "a setting is listed twice");
    }

    #[test]
    fn every_setting_is_documented() {
        let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
        let text = std::fs::read_to_string(&doc).expect("docs/configuration.md");
        let undocumented: Vec<_> = names().into_iter().filter(|name| !text.contains(&format!("`{name}`"))).collect();
        assert!(undocumented.is_empty(), "not in docs/configuration.md: {undocumented:?}");
    }

    #[test]
    fn secrets_are_never_shown_and_urls_are_redacted() {
        let table = describe(|name| match name {
            "DATABASE_URL" => Some("postgres://app:hunter2secret@db:5432/app".into()),
            "ENTITY_SPEC_JWT_SECRET" => Some("jwt-signing-secret-value".into()),
            "ENTITY_SPEC_SECRET_KEY" => Some("k1:c2VjcmV0a2V5c2VjcmV0a2V5c2VjcmV0a2V5MTIz".into()),
            "ENTITY_SPEC_WORKERS" => Some("3\nENTITY_SPEC_AUTH off".into()),
            _ => None,
        });
        for secret in ["hunter2secret", "jwt-signing-secret-value", "c2VjcmV0a2V5"] {
            assert!(!table.contains(secret), "{secret} shown:\n{table}");
        }
        assert!(table.contains("postgres://app:") && table.contains("@db:5432/app"), "{table}");
        assert!(table.contains("(set, not shown)"), "{table}");
        assert!(table.contains("(default: 127.0.0.1:8000)"), "{table}");
        // A value with a newline cannot forge a line of its own.
        assert!(table.lines().any(|l| l.starts_with("ENTITY_SPEC_WORKERS") && l.ends_with("3 ENTITY_SPEC_AUTH off")));
        assert!(!table.lines().any(|l| l.starts_with("ENTITY_SPEC_AUTH off")), "{table}");
    }
}
