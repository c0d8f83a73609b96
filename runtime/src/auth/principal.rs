//! Who is calling, once a credential was checked: the subject rows are owned by and audit rows
//! name, and the scopes the guard compares with each route's.

use std::sync::Arc;

use entity_spec_contract::scopes::ADMIN_SCOPE;

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An API key (`esk_…`) from this service's keys table.
    ApiKey,
    /// A JWT from the configured identity provider.
    Jwt,
    /// Nobody: authentication is off (`ENTITY_SPEC_AUTH=off`), everyone is an administrator.
    Anonymous,
}

impl CredentialKind {
    /// The wire name: `api_key`, `jwt`, `anonymous`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "api_key",
            CredentialKind::Jwt => "jwt",
            CredentialKind::Anonymous => "anonymous",
        }
    }
}

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable identity: `key:<name>` for an API key, the token's `sub` for a JWT. Rows with an
    /// owner hold it; audit rows name it.
    pub subject: Arc<str>,
    /// How it was proved.
    pub kind: CredentialKind,
    /// The scopes it holds.
    pub scopes: Arc<[String]>,
}

impl Principal {
    /// The caller when authentication is off: anonymous, holding [`ADMIN_SCOPE`].
    pub fn anonymous() -> Principal {
        Principal {
            subject: "anonymous".into(),
            kind: CredentialKind::Anonymous,
            scopes: Arc::new([ADMIN_SCOPE.to_owned()]),
        }
    }

    /// The subject of the API key named `name`.
    pub fn key_subject(name: &str) -> String {
        format!("key:{name}")
    }
}
