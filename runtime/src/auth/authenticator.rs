//! From an `Authorization` header to a [`Principal`]: API keys (looked up by hash, cached for
//! [`KEY_CACHE_TTL`]) and JWTs from the configured identity provider, or nobody at all when
//! authentication is off.
//!
//! Revocation is honoured within [`KEY_CACHE_TTL`]: a cached key is looked up again once its
//! entry is that old, so a key revoked with `keys revoke` (another process) stops working on
//! every instance within that time; expiry is checked on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::auth::api_keys::{self, KEY_PREFIX, key_hash, looks_like_key};
use crate::auth::jwt::{JwtConfig, JwtConfigError, JwtError, JwtVerifier, looks_like_jwt};
use crate::auth::principal::{CredentialKind, Principal};
use crate::model::timestamp::now;
use crate::storage::db::Db;

/// How long a checked API key is trusted before it is looked up again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(10);

/// Cached keys at most; beyond, stale entries are dropped (and, if none is, all of them).
const KEY_CACHE_CAPACITY: usize = 4096;

/// The longest `Authorization` header value read.
const MAX_CREDENTIAL_LEN: usize = 8192;

/// `on` (the default) or `off`: whether requests need a credential.
pub const AUTH_VAR: &str = "ENTITY_SPEC_AUTH";
/// `on` (the default) or `off`: whether changes are written to the audit trail.
pub const AUDIT_VAR: &str = "ENTITY_SPEC_AUDIT";

/// How requests are authenticated.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Off: every request is an anonymous administrator (`ENTITY_SPEC_AUTH=off`; the service
    /// refuses to start that way unless it listens on loopback only).
    pub disabled: bool,
    /// JWTs from an identity provider are accepted too, verified by this.
    pub jwt: Option<JwtVerifier>,
    /// Every write and action stores an audit row (the default; `ENTITY_SPEC_AUDIT=off`
    /// stops it, for services whose writes are audited elsewhere).
    pub audit: bool,
}

/// The authentication settings in the environment are unusable.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// `ENTITY_SPEC_AUTH` is neither `on` nor `off`.
    #[error("ENTITY_SPEC_AUTH must be `on` or `off`")]
    Mode,
    /// `ENTITY_SPEC_AUDIT` is neither `on` nor `off`.
    #[error("ENTITY_SPEC_AUDIT must be `on` or `off`")]
    Audit,
    /// A JWT setting (the message names the variable).
    #[error(transparent)]
    Jwt(#[from] JwtConfigError),
}

impl AuthConfig {
    /// Authentication on, with API keys from the service's database (the default).
    pub fn api_keys() -> AuthConfig {
        AuthConfig { disabled: false, jwt: None, audit: true }
    }

    /// Authentication off: for tests and services behind a gateway that authenticates.
    pub fn off() -> AuthConfig {
        AuthConfig { disabled: true, jwt: None, audit: true }
    }

    /// No audit rows.
    pub fn without_audit(mut self) -> AuthConfig {
        self.audit = false;
        self
    }

    /// Accepts JWTs verified as `config` says, besides API keys.
    pub fn with_jwt(mut self, config: JwtConfig) -> AuthConfig {
        self.jwt = Some(JwtVerifier::new(config));
        self
    }

    /// `ENTITY_SPEC_AUTH` (`on`, the default, or `off`), `ENTITY_SPEC_AUDIT` (`on`, the
    /// default, or `off`) and the JWT settings
    /// (`ENTITY_SPEC_JWT_SECRET`, `ENTITY_SPEC_JWKS`, `ENTITY_SPEC_JWT_ISSUER`,
    /// `ENTITY_SPEC_JWT_AUDIENCE`; see [`JwtConfig::from_vars`]).
    pub fn from_env() -> Result<AuthConfig, AuthConfigError> {
        let mut config = match std::env::var(AUTH_VAR).ok().as_deref().map(str::trim) {
            None | Some("" | "on") => AuthConfig::api_keys(),
            Some("off") => AuthConfig::off(),
            Some(_) => return Err(AuthConfigError::Mode),
        };
        match std::env::var(AUDIT_VAR).ok().as_deref().map(str::trim) {
            None | Some("" | "on") => {}
            Some("off") => config = config.without_audit(),
            Some(_) => return Err(AuthConfigError::Audit),
        }
        if let Some(jwt) = JwtConfig::from_env()? {
            config = config.with_jwt(jwt);
        }
        Ok(config)
    }
}

/// Why a request was not authenticated. Display is what the client is told: it never says
/// whether a key exists, was revoked or has expired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No `Authorization` header.
    #[error("this route needs a credential: send `Authorization: Bearer <API key or token>`")]
    Missing,
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <API key or token>`")]
    Malformed,
    /// The API key is unknown, revoked or expired.
    #[error("the API key is not valid")]
    InvalidKey,
    /// The token is refused, and why (safe to show).
    #[error("{0}")]
    InvalidToken(String),
    /// The credential could not be checked (the database is down): a 503, not a 401.
    #[error("the credential could not be checked; retry later")]
    Unavailable,
}

/// Checks credentials. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    mode: Arc<Mode>,
    audit: bool,
}

enum Mode {
    Off,
    On { db: Db, keys: KeyCache, jwt: Option<JwtVerifier> },
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match *self.mode {
            Mode::Off => "Authenticator(off)",
            Mode::On { .. } => "Authenticator(on)",
        })
    }
}

impl Authenticator {
    /// Authenticates as `config` says, with keys from `db`.
    pub fn new(db: Db, config: &AuthConfig) -> Authenticator {
        let mode = if config.disabled {
            Mode::Off
        } else {
            Mode::On { db, keys: KeyCache::default(), jwt: config.jwt.clone() }
        };
        Authenticator { mode: Arc::new(mode), audit: config.audit }
    }

    /// Whether authentication is on.
    pub fn is_enabled(&self) -> bool {
        matches!(*self.mode, Mode::On { .. })
    }

    /// Whether writes and actions store audit rows.
    pub fn audits(&self) -> bool {
        self.audit
    }

    /// The caller of a request with this `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Principal, Refusal> {
        let (db, keys, jwt) = match &*self.mode {
            Mode::Off => return Ok(Principal::anonymous()),
            Mode::On { db, keys, jwt } => (db, keys, jwt),
        };
        let token = bearer_token(authorization.ok_or(Refusal::Missing)?)?;
        if token.starts_with(KEY_PREFIX) {
            if !looks_like_key(token) {
                return Err(Refusal::InvalidKey);
            }
            return keys.principal(db, token).await;
        }
        match jwt {
            Some(verifier) if looks_like_jwt(token) => match verifier.verify(token).await {
                Ok(claims) => Ok(Principal {
                    subject: claims.subject.into(),
                    kind: CredentialKind::Jwt,
                    scopes: claims.scopes.into(),
                }),
                Err(JwtError::KeysUnavailable) => Err(Refusal::Unavailable),
                Err(refused) => Err(Refusal::InvalidToken(refused.to_string())),
            },
            Some(_) => Err(Refusal::InvalidToken("the credential is neither an API key nor a JWT".to_owned())),
            None => Err(Refusal::InvalidToken(
                "the credential is not an API key, and this service accepts no JWTs".to_owned(),
            )),
        }
    }
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 §11.1).
fn bearer_token(header: &[u8]) -> Result<&str, Refusal> {
    if header.len() > MAX_CREDENTIAL_LEN {
        return Err(Refusal::Malformed);
    }
    let header = std::str::from_utf8(header).map_err(|_| Refusal::Malformed)?;
    let (scheme, token) = header.trim().split_once(' ').ok_or(Refusal::Malformed)?;
    let token = token.trim();
    // RFC 6750 §2.1 b64token.
    let b64token = |t: &str| {
        !t.is_empty() && t.trim_end_matches('=').bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    };
    if !scheme.eq_ignore_ascii_case("bearer") || !b64token(token) {
        return Err(Refusal::Malformed);
    }
    Ok(token)
}

#[derive(Clone)]
struct CachedKey {
    id: uuid::Uuid,
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
    checked: Instant,
}

/// Active keys seen recently, by hash.
#[derive(Default)]
struct KeyCache {
    entries: Mutex<HashMap<[u8; 32], CachedKey>>,
}

impl KeyCache {
    async fn principal(&self, db: &Db, token: &str) -> Result<Principal, Refusal> {
        let hash = key_hash(token);
        let at = now();
        let cached = self.entries.lock().ok().and_then(|entries| entries.get(&hash).cloned());
        if let Some(cached) = cached
            && cached.checked.elapsed() < KEY_CACHE_TTL
        {
            if cached.expires_at.is_some_and(|expiry| expiry <= at) {
                self.forget(&hash);
                return Err(Refusal::InvalidKey);
            }
            return Ok(cached.principal);
        }
        let found = api_keys::find(db, &hash).await.map_err(|e| {
            tracing::error!(cause = %e, "API key lookup failed");
            Refusal::Unavailable
        })?;
        let Some(key) = found.filter(|key| key.is_active(at)) else {
            self.forget(&hash);
            return Err(Refusal::InvalidKey);
        };
        if let Err(e) = api_keys::touch(db, key.id, at).await {
            tracing::warn!(cause = %e, key = %key.name, "could not record the API key's last use");
        }
        let principal = Principal {
            subject: Principal::key_subject(&key.name).into(),
            kind: CredentialKind::ApiKey,
            scopes: key.scopes.into(),
        };
        let entry =
            CachedKey { id: key.id, principal: principal.clone(), expires_at: key.expires_at, checked: Instant::now() };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= KEY_CACHE_CAPACITY {
                entries.retain(|_, cached| cached.checked.elapsed() < KEY_CACHE_TTL);
                if entries.len() >= KEY_CACHE_CAPACITY {
                    entries.clear();
                }
            }
            entries.insert(hash, entry);
        }
        Ok(principal)
    }

    fn forget(&self, hash: &[u8; 32]) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(hash);
        }
    }
}

impl std::fmt::Debug for CachedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedKey")
            .field("id", &self.id)
            .field("subject", &self.principal.subject)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_strictly() {
        assert_eq!(bearer_token(b"Bearer esk_abc"), Ok("esk_abc"));
        assert_eq!(bearer_token(b"bearer  a.b.c"), Ok("a.b.c"));
        assert_eq!(bearer_token(b"Basic dXNlcjpwYXNz"), Err(Refusal::Malformed));
        assert_eq!(bearer_token(b"Bearer"), Err(Refusal::Malformed));
        assert_eq!(bearer_token(b"Bearer two words"), Err(Refusal::Malformed));
        assert_eq!(bearer_token(b"Bearer \xff"), Err(Refusal::Malformed));
        assert_eq!(bearer_token(format!("Bearer {}", "a".repeat(9000)).as_bytes()), Err(Refusal::Malformed));
    }
}
