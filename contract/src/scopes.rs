//! Scope names: what a credential must hold to use a route. Every route of the table carries a
//! [`Permission`]; an entity's [`Scopes`] name the scope each permission needs (defaults from the
//! table name, renamed by the spec's `api.access.scopes`). Codegen, the runtime's guard, the
//! OpenAPI document, the workbench and the CLI's `spec diff` all read them from here.

use crate::routes::Permission;

/// The scope that holds every other scope, of every entity.
pub const ADMIN_SCOPE: &str = "admin";

/// The scope that may read `/metrics` and nothing else (so a Prometheus server's key cannot
/// read any row); [`ADMIN_SCOPE`] holds it too.
pub const METRICS_SCOPE: &str = "metrics";

/// The longest scope name accepted, in a spec, an API key or a token.
pub const MAX_SCOPE_LEN: usize = 128;

/// The scope names of one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes<'a> {
    /// Lists, items, statistics and run history.
    pub read: &'a str,
    /// Create, replace, patch and delete.
    pub write: &'a str,
    /// Everything on this entity, and every owner's rows.
    pub admin: &'a str,
    /// Per action that has its own permission (see [`Permission::Run`]): its name and scope.
    pub actions: &'a [(&'a str, &'a str)],
}

impl Scopes<'static> {
    /// Every route needs [`ADMIN_SCOPE`]: for descriptions that serve no route of their own
    /// (an action's request body), so that misuse fails closed.
    pub const ADMIN_ONLY: Scopes<'static> =
        Scopes { read: ADMIN_SCOPE, write: ADMIN_SCOPE, admin: ADMIN_SCOPE, actions: &[] };
}

impl<'a> Scopes<'a> {
    /// The scope `permission` needs on this entity. An action missing from `actions` needs the
    /// entity's admin scope, so a description that forgot one fails closed.
    pub fn required(&self, permission: &Permission<'_>) -> &'a str {
        self.get(permission.scope_key()).unwrap_or(self.admin)
    }

    /// The scope of a key of the spec's `api.access.scopes`: `read`, `write`, `admin` or an
    /// action's name.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        match key {
            "read" => Some(self.read),
            "write" => Some(self.write),
            "admin" => Some(self.admin),
            action => self.actions.iter().find(|(name, _)| *name == action).map(|(_, scope)| *scope),
        }
    }

    /// Whether holding `granted` allows what `required` (one of this entity's scopes) protects:
    /// the scope itself, the entity's admin scope, or [`ADMIN_SCOPE`].
    pub fn allows<S: AsRef<str>>(&self, granted: &[S], required: &str) -> bool {
        granted.iter().any(|scope| {
            let scope = scope.as_ref();
            scope == required || scope == self.admin || scope == ADMIN_SCOPE
        })
    }

    /// Whether `granted` holds the entity's admin scope (or [`ADMIN_SCOPE`]): it sees every
    /// owner's rows.
    pub fn is_admin<S: AsRef<str>>(&self, granted: &[S]) -> bool {
        granted.iter().any(|scope| scope.as_ref() == self.admin || scope.as_ref() == ADMIN_SCOPE)
    }
}

/// The default scope of `key` (`read`, `write`, `admin` or an action's name) on `table`, e.g.
/// `raw_data_sources:read`, `raw_data_sources:sync`.
pub fn default_scope(table: &str, key: &str) -> String {
    format!("{table}:{key}")
}

/// The keys of a spec's `api.access.scopes` object besides the actions' names.
pub const SCOPE_KEYS: &[&str] = &["read", "write", "admin"];

/// Why `name` cannot be a scope, if it cannot: scope tokens as OAuth 2.0 defines them (RFC 6749
/// §3.3: printable ASCII without space, `"` and `\`), at most [`MAX_SCOPE_LEN`] characters.
pub fn scope_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a scope cannot be empty".to_owned());
    }
    if name.len() > MAX_SCOPE_LEN {
        return Some(format!("a scope has at most {MAX_SCOPE_LEN} characters"));
    }
    if let Some(c) = name.chars().find(|c| !matches!(c, '!' | '#'..='[' | ']'..='~')) {
        let found = match c {
            ' ' => "a space".to_owned(),
            c => format!("`{}`", crate::text::printable(&c.to_string())),
        };
        return Some(format!("a scope is printable ASCII without spaces, quotes or backslashes (found {found})"));
    }
    None
}

/// `scope` as a credential may hold it: a valid scope token (see [`scope_problem`]).
pub fn is_scope(scope: &str) -> bool {
    scope_problem(scope).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPES: Scopes<'static> = Scopes {
        read: "sources:read",
        write: "sources:write",
        admin: "sources:admin",
        actions: &[("sync", "sources:sync")],
    };

    #[test]
    fn each_permission_needs_its_scope_and_unknown_actions_need_admin() {
        assert_eq!(SCOPES.required(&Permission::Read), "sources:read");
        assert_eq!(SCOPES.required(&Permission::Write), "sources:write");
        assert_eq!(SCOPES.required(&Permission::Run("sync")), "sources:sync");
        assert_eq!(SCOPES.required(&Permission::Run("purge")), "sources:admin");
    }

    #[test]
    fn admin_scopes_hold_everything_and_others_only_themselves() {
        assert!(SCOPES.allows(&["sources:read"], "sources:read"));
        assert!(!SCOPES.allows(&["sources:read"], "sources:write"));
        assert!(!SCOPES.allows(&["sources:readx", "other:admin"], "sources:read"));
        assert!(SCOPES.allows(&["sources:admin"], "sources:sync"));
        assert!(SCOPES.allows(&[ADMIN_SCOPE], "sources:write"));
        assert!(SCOPES.is_admin(&["admin"]) && SCOPES.is_admin(&["sources:admin"]));
        assert!(!SCOPES.is_admin(&["sources:write", "sources:read"]));
        let none: [&str; 0] = [];
        assert!(!SCOPES.allows(&none, "sources:read"));
    }

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert_eq!(scope_problem("raw_data_sources:read"), None);
        assert_eq!(scope_problem("https://api.example.com/read"), None);
        assert!(scope_problem("").is_some());
        assert!(scope_problem("two words").unwrap().contains("without spaces"));
        assert!(scope_problem("quo\"te").is_some());
        assert!(scope_problem("back\\slash").is_some());
        assert!(scope_problem("é").is_some());
        assert!(scope_problem(&"a".repeat(129)).is_some());
    }
}
