//! Bearer JWTs issued by an existing identity provider: where the verification keys come from
//! (a shared HMAC secret, a JWKS file or a JWKS URL), which algorithms each key accepts, and the
//! claims a request may rely on once the signature verifies.
//!
//! The signature and the registered claims (`exp`, `nbf`, `iss`, `aud`) are checked by
//! `jsonwebtoken`; this module only decides which key and which algorithm a token may use, keeps
//! the key set fresh, and bounds what it reads from the token.

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::Uri;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// The shared secret HS256 tokens are signed with.
pub const SECRET_VAR: &str = "ENTITY_SPEC_JWT_SECRET";
/// The public keys of RS256/ES256 tokens: a JWKS file path or an https URL.
pub const JWKS_VAR: &str = "ENTITY_SPEC_JWKS";
/// The `iss` every token must carry, when set.
pub const ISSUER_VAR: &str = "ENTITY_SPEC_JWT_ISSUER";
/// The `aud` every token must carry, when set.
pub const AUDIENCE_VAR: &str = "ENTITY_SPEC_JWT_AUDIENCE";

/// Longer tokens are refused before anything is decoded, so a hostile header cannot make the
/// server base64-decode and parse megabytes per request. Real access tokens are well under 4 KiB.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew tolerated on `exp` and `nbf` between the identity provider and this server.
const LEEWAY_SECONDS: u64 = 30;
/// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (HS256: 32 bytes).
const MIN_SECRET_BYTES: usize = 32;
const MAX_SUBJECT_CHARS: usize = 256;
const MAX_SCOPE_CHARS: usize = 128;
const MAX_SCOPES: usize = 64;
/// Identity providers publish a handful of keys; more than this is a misconfigured or hostile
/// endpoint, and every key kept costs memory for as long as the server runs.
const MAX_KEYS: usize = 64;
const MAX_JWKS_BYTES: u64 = 1024 * 1024;
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Keys are reloaded this long after the last load even when every `kid` is known, so a key the
/// provider withdrew (compromised, retired) stops being accepted.
const JWKS_MAX_AGE: Duration = Duration::from_secs(10 * 60);
const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// RSA keys under 2048 bits are refused (NIST SP 800-131A); a JWKS publishing one is broken.
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// The algorithms a token header may name, by their JOSE names. Anything else, `none` first of
/// all, is refused before a key is looked at.
const ALGORITHMS: &[(&str, Algorithm)] = &[
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

const RSA_ALGORITHMS: &[Algorithm] =
    &[Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512];

/// Where JWT verification keys come from and what is checked. Built from the environment.
pub struct JwtConfig {
    secret: Option<HmacSecret>,
    jwks: Option<JwksConfig>,
    issuer: Option<String>,
    audience: Option<String>,
    refetch_interval: Duration,
}

/// The shared secret, already in the form `jsonwebtoken` verifies with (zeroized on drop, redacted
/// in its own `Debug`), so the plain bytes are not kept anywhere else.
struct HmacSecret {
    key: DecodingKey,
    len: usize,
}

struct JwksConfig {
    source: JwksSource,
    /// A file is read once by [`JwtConfig::from_vars`], so a broken file stops start-up instead
    /// of failing every request; a URL is first fetched by the first token that needs it.
    initial_keys: Option<Vec<VerificationKey>>,
}

impl JwtConfig {
    /// Reads `ENTITY_SPEC_JWT_SECRET` (an HS256/384/512 shared secret of at least 32 bytes),
    /// `ENTITY_SPEC_JWKS` (a file path, or an `https` URL; plain `http` only for loopback hosts
    /// such as `127.0.0.1`, `localhost` or `[::1]`, for tests and sidecars),
    /// `ENTITY_SPEC_JWT_ISSUER` and `ENTITY_SPEC_JWT_AUDIENCE` through `var`, so tests need not
    /// touch the process environment. The issuer is the one value `iss` must equal; the audience
    /// the one value `aud` (a string or an array) must contain; each, once set, is required.
    ///
    /// `Ok(None)` when neither a secret nor a JWKS is set. An error names the variable whose value
    /// is unusable (an empty value, a secret shorter than 32 bytes, a URL that is neither `https`
    /// nor loopback `http`, a JWKS file that cannot be read or has no usable signing key); it never
    /// contains the secret.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<JwtConfig>, JwtConfigError> {
        let secret = var(SECRET_VAR).map(|value| hmac_secret(&value)).transpose()?;
        let jwks = trimmed(&var, JWKS_VAR)?.map(|value| jwks_config(&value)).transpose()?;
        let issuer = trimmed(&var, ISSUER_VAR)?;
        let audience = trimmed(&var, AUDIENCE_VAR)?;
        if secret.is_none() && jwks.is_none() {
            // An issuer or audience without keys is a half-done configuration: say so at start
            // rather than refuse every token later.
            if let Some(var) = [(ISSUER_VAR, &issuer), (AUDIENCE_VAR, &audience)].iter().find(|(_, v)| v.is_some()) {
                return Err(JwtConfigError::new(
                    var.0,
                    format!("is set, but neither {SECRET_VAR} nor {JWKS_VAR} is: no JWT could be verified"),
                ));
            }
            return Ok(None);
        }
        Ok(Some(JwtConfig { secret, jwks, issuer, audience, refetch_interval: DEFAULT_REFETCH_INTERVAL }))
    }

    /// [`JwtConfig::from_vars`] over the process environment.
    pub fn from_env() -> Result<Option<JwtConfig>, JwtConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The minimum time between two JWKS refetches triggered by an unknown `kid` (default 30 s;
    /// tests set it to zero). It bounds how often a stream of tokens with made-up `kid`s can make
    /// this server call the identity provider.
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }
}

impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &redacted(self.secret.is_some()))
            .field("jwks", &self.jwks.as_ref().map(|jwks| jwks.source.shown()))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("refetch_interval", &self.refetch_interval)
            .finish()
    }
}

fn redacted(set: bool) -> &'static str {
    if set { "***" } else { "(not set)" }
}

/// Why the JWT settings in the environment cannot be used. The message starts with the variable's
/// name and never contains the secret.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct JwtConfigError {
    var: &'static str,
    problem: String,
}

impl JwtConfigError {
    fn new(var: &'static str, problem: impl Into<String>) -> Self {
        JwtConfigError { var, problem: problem.into() }
    }

    /// The environment variable whose value is unusable, e.g. `ENTITY_SPEC_JWKS`.
    pub fn var(&self) -> &'static str {
        self.var
    }
}

/// The secret is used byte for byte, untrimmed: a secret is whatever the identity provider signs
/// with, whitespace included.
fn hmac_secret(value: &str) -> Result<HmacSecret, JwtConfigError> {
    if value.is_empty() {
        return Err(JwtConfigError::new(SECRET_VAR, "is set but empty"));
    }
    if value.len() < MIN_SECRET_BYTES {
        return Err(JwtConfigError::new(
            SECRET_VAR,
            format!("is {} bytes long; an HMAC secret needs at least {MIN_SECRET_BYTES} bytes", value.len()),
        ));
    }
    let key = DecodingKey::from_secret(value.as_bytes())
        .map_err(|_| JwtConfigError::new(SECRET_VAR, "cannot be used as an HMAC key"))?;
    Ok(HmacSecret { key, len: value.len() })
}

fn trimmed(var: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<Option<String>, JwtConfigError> {
    match var(name) {
        None => Ok(None),
        Some(value) if value.trim().is_empty() => Err(JwtConfigError::new(name, "is set but empty")),
        Some(value) => Ok(Some(value.trim().to_owned())),
    }
}

fn jwks_config(value: &str) -> Result<JwksConfig, JwtConfigError> {
    let source = match value.split_once("://") {
        Some(_) => JwksSource::Url(JwksUrl::parse(value)?),
        None => JwksSource::File(PathBuf::from(value)),
    };
    let initial_keys = match &source {
        JwksSource::File(path) => {
            Some(source.load().map_err(|error| JwtConfigError::new(JWKS_VAR, format!("{}: {error}", path.display())))?)
        }
        JwksSource::Url(_) => None,
    };
    Ok(JwksConfig { source, initial_keys })
}

/// Where the key set is read from.
#[derive(Clone)]
enum JwksSource {
    File(PathBuf),
    Url(JwksUrl),
}

#[derive(Clone)]
struct JwksUrl {
    /// The URL as configured, query string included: what is fetched.
    full: String,
    /// `scheme://host[:port]/path`, what logs and errors show, so credentials in a query string
    /// or user info never reach a log.
    shown: String,
    /// Plain `http` to a loopback host: no proxy, no redirects, so the request cannot leave the
    /// machine.
    loopback_http: bool,
}

impl JwksUrl {
    fn parse(value: &str) -> Result<JwksUrl, JwtConfigError> {
        let uri: Uri = value.parse().map_err(|_| JwtConfigError::new(JWKS_VAR, "is not a valid URL"))?;
        let (Some(scheme), Some(authority), Some(host)) = (uri.scheme_str(), uri.authority(), uri.host()) else {
            return Err(JwtConfigError::new(JWKS_VAR, "is not an absolute URL with a host"));
        };
        let scheme = scheme.to_ascii_lowercase();
        let port = uri.port_u16().map(|port| format!(":{port}")).unwrap_or_default();
        let shown = format!("{scheme}://{host}{port}{}", uri.path());
        if authority.as_str().contains('@') {
            return Err(JwtConfigError::new(JWKS_VAR, format!("{shown}: must not carry credentials in the URL")));
        }
        let loopback_http = match scheme.as_str() {
            "https" => false,
            "http" if is_loopback(host) => true,
            "http" => {
                return Err(JwtConfigError::new(
                    JWKS_VAR,
                    format!(
                        "{shown}: plain http is only allowed to a loopback host (127.0.0.1, localhost, [::1]); use https"
                    ),
                ));
            }
            _ => {
                return Err(JwtConfigError::new(
                    JWKS_VAR,
                    format!("{shown}: must be a file path or an https URL (http only to a loopback host)"),
                ));
            }
        };
        Ok(JwksUrl { full: value.to_owned(), shown, loopback_http })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl JwksSource {
    fn shown(&self) -> String {
        match self {
            JwksSource::File(path) => path.display().to_string(),
            JwksSource::Url(url) => url.shown.clone(),
        }
    }

    /// Reads and parses the key set. Blocking: called from `spawn_blocking` once serving.
    fn load(&self) -> Result<Vec<VerificationKey>, JwksLoadError> {
        let document = match self {
            JwksSource::File(path) => read_file(path)?,
            JwksSource::Url(url) => fetch(url)?,
        };
        verification_keys(&document)
    }
}

/// Why a key set could not be loaded; logged, never shown to a client.
#[derive(Debug, thiserror::Error)]
enum JwksLoadError {
    #[error("cannot read it: {0}")]
    Read(#[from] std::io::Error),
    #[error("the request failed: {0}")]
    Fetch(#[from] ureq::Error),
    #[error("it is larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    #[error("it is not a JWKS document (a JSON object with a `keys` array): {0}")]
    NotJwks(serde_json::Error),
    #[error("it has no usable signing key (RSA of 2048 bits or more, EC P-256/P-384 or Ed25519, `use` \"sig\")")]
    NoUsableKey,
    #[error("the loading task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

fn read_file(path: &Path) -> Result<Vec<u8>, JwksLoadError> {
    let mut document = Vec::new();
    std::fs::File::open(path)?.take(MAX_JWKS_BYTES + 1).read_to_end(&mut document)?;
    if document.len() as u64 > MAX_JWKS_BYTES {
        return Err(JwksLoadError::TooLarge);
    }
    Ok(document)
}

fn fetch(url: &JwksUrl) -> Result<Vec<u8>, JwksLoadError> {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(JWKS_FETCH_TIMEOUT))
        .user_agent(concat!("entity-spec-runtime/", env!("CARGO_PKG_VERSION")));
    config = if url.loopback_http {
        config.proxy(None).max_redirects(0)
    } else {
        // A redirect must not downgrade the key set to plain http, where it could be replaced.
        config.https_only(true).max_redirects(3)
    };
    let agent: ureq::Agent = config.build().into();
    let mut response = agent.get(&url.full).header("accept", "application/json").call()?;
    match response.body_mut().with_config().limit(MAX_JWKS_BYTES).read_to_vec() {
        Ok(document) => Ok(document),
        Err(ureq::Error::BodyExceedsLimit(_)) => Err(JwksLoadError::TooLarge),
        Err(error) => Err(error.into()),
    }
}

/// A key the JWKS publishes for verifying signatures, with the algorithms it may verify.
#[derive(Clone)]
struct VerificationKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<Value>,
}

/// The usable signing keys of a JWKS document. Keys this server cannot or must not use
/// (encryption keys, symmetric keys, unknown curves, short RSA moduli, malformed entries) are
/// skipped rather than failing the whole set, since providers publish such keys beside the
/// signing ones.
fn verification_keys(document: &[u8]) -> Result<Vec<VerificationKey>, JwksLoadError> {
    let document: JwksDocument = serde_json::from_slice(document).map_err(JwksLoadError::NotJwks)?;
    let published = document.keys.len();
    let keys: Vec<VerificationKey> = document.keys.into_iter().filter_map(verification_key).take(MAX_KEYS).collect();
    if keys.is_empty() {
        return Err(JwksLoadError::NoUsableKey);
    }
    if keys.len() < published {
        tracing::debug!(published, kept = keys.len(), "some JWKS keys are not usable signing keys and are ignored");
    }
    Ok(keys)
}

fn verification_key(entry: Value) -> Option<VerificationKey> {
    let jwk: Jwk = serde_json::from_value(entry).ok()?;
    if jwk.common.public_key_use.as_ref().is_some_and(|key_use| *key_use != PublicKeyUse::Signature) {
        return None;
    }
    if jwk.common.key_operations.as_ref().is_some_and(|ops| !ops.contains(&KeyOperations::Verify)) {
        return None;
    }
    let for_key_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let modulus = URL_SAFE_NO_PAD.decode(&rsa.n).ok()?;
            let significant = modulus.iter().skip_while(|byte| **byte == 0).count();
            if significant < MIN_RSA_MODULUS_BYTES {
                return None;
            }
            RSA_ALGORITHMS
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
            _ => return None,
        },
        // A symmetric (`oct`) key in a key set would let whoever can read the set sign tokens.
        _ => return None,
    };
    let algorithms = match jwk.common.key_algorithm {
        None => for_key_type.to_vec(),
        Some(declared) => {
            let declared = key_algorithm(declared)?;
            if !for_key_type.contains(&declared) {
                return None;
            }
            vec![declared]
        }
    };
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(VerificationKey { kid: jwk.common.key_id, algorithms, key })
}

/// The signature algorithm a JWK's `alg` member names, if it names one this module accepts
/// (`RSA-OAEP` and other encryption algorithms do not).
fn key_algorithm(declared: KeyAlgorithm) -> Option<Algorithm> {
    let Ok(Value::String(name)) = serde_json::to_value(declared) else {
        return None;
    };
    algorithm_named(&name)
}

fn algorithm_named(name: &str) -> Option<Algorithm> {
    ALGORITHMS.iter().find(|(known, _)| *known == name).map(|(_, algorithm)| *algorithm)
}

/// Verifies tokens. Cheap to clone (the state is shared behind an `Arc`), `Send + Sync`, used
/// from many requests at once.
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<VerifierState>,
}

struct VerifierState {
    secret: Option<HmacSecret>,
    jwks: Option<KeySet>,
    /// Issuer, audience, leeway and required claims; each token gets a copy with its algorithm.
    validation: Validation,
}

impl JwtVerifier {
    /// A verifier for `config`. Nothing is fetched yet: a JWKS URL is fetched by the first token
    /// that needs it.
    pub fn new(config: JwtConfig) -> JwtVerifier {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // jsonwebtoken checks `iss` and `aud` only when the token has them; a configured issuer or
        // audience must also be present.
        let mut required = vec!["exp"];
        if let Some(issuer) = &config.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match &config.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let jwks = config.jwks.map(|jwks| KeySet::new(jwks, config.refetch_interval));
        JwtVerifier { inner: Arc::new(VerifierState { secret: config.secret, jwks, validation }) }
    }

    /// The claims of a valid token, or why it was refused.
    pub async fn verify(&self, token: &str) -> Result<JwtClaims, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::TooLong);
        }
        if !looks_like_jwt(token) {
            return Err(JwtError::Malformed);
        }
        let header = token_header(token)?;
        let algorithm = algorithm_named(&header.alg).ok_or(JwtError::AlgorithmNotAccepted)?;
        let key = self.key_for(algorithm, header.kid.as_deref()).await?;
        let mut validation = self.inner.validation.clone();
        validation.algorithms = vec![algorithm];
        let claims = jsonwebtoken::decode::<TokenClaims>(token, &key, &validation).map_err(refusal)?.claims;
        claims.into_jwt_claims()
    }

    /// The key `algorithm` is verified with: the secret for HMAC, a JWKS key otherwise. An HMAC
    /// token is never checked against a public key (whose bytes anyone can use as an HMAC secret),
    /// nor an asymmetric one against the secret.
    async fn key_for(&self, algorithm: Algorithm, kid: Option<&str>) -> Result<DecodingKey, JwtError> {
        if matches!(algorithm, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            let secret = self.inner.secret.as_ref().ok_or(JwtError::AlgorithmNotAccepted)?;
            // RFC 7518 §3.2: the key must be at least as long as the hash, so a 32-byte secret
            // verifies HS256 only.
            let needed = match algorithm {
                Algorithm::HS256 => MIN_SECRET_BYTES,
                Algorithm::HS384 => 48,
                _ => 64,
            };
            if secret.len < needed {
                return Err(JwtError::AlgorithmNotAccepted);
            }
            return Ok(secret.key.clone());
        }
        let jwks = self.inner.jwks.as_ref().ok_or(JwtError::AlgorithmNotAccepted)?;
        jwks.key_for(algorithm, kid).await
    }
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = &self.inner;
        f.debug_struct("JwtVerifier")
            .field("secret", &redacted(state.secret.is_some()))
            .field("jwks", &state.jwks.as_ref().map(|jwks| jwks.source.shown()))
            .field("issuer", &state.validation.iss)
            .field("audience", &state.validation.aud)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// The header, read before verification only to choose the key and algorithm.
fn token_header(token: &str) -> Result<TokenHeader, JwtError> {
    let encoded = token.split('.').next().unwrap_or_default();
    let decoded = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&decoded).map_err(|_| JwtError::Malformed)
}

fn refusal(error: jsonwebtoken::errors::Error) -> JwtError {
    match error.kind() {
        ErrorKind::InvalidSignature => JwtError::BadSignature,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::InvalidIssuer => JwtError::WrongIssuer,
        ErrorKind::InvalidAudience => JwtError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => JwtError::MissingClaim(registered_claim(claim)),
        ErrorKind::InvalidClaimFormat(claim) => JwtError::InvalidClaim(registered_claim(claim)),
        ErrorKind::InvalidAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName => JwtError::AlgorithmNotAccepted,
        // A published key the crypto backend cannot load (say, EC coordinates off the curve):
        // nothing verifies against it.
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => JwtError::BadSignature,
        _ => JwtError::Malformed,
    }
}

/// The claim name as a `'static` string, so an error never carries text from the token.
fn registered_claim(claim: &str) -> &'static str {
    ["exp", "nbf", "iss", "aud", "sub"].into_iter().find(|known| *known == claim).unwrap_or("unknown")
}

/// The claims read after the signature verifies; kept as JSON values so a wrong type is reported
/// as that claim's problem rather than as an unreadable token.
#[derive(Deserialize)]
struct TokenClaims {
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    scp: Option<Value>,
}

impl TokenClaims {
    fn into_jwt_claims(self) -> Result<JwtClaims, JwtError> {
        let subject = match self.sub {
            None => return Err(JwtError::MissingClaim("sub")),
            Some(Value::String(subject)) if is_acceptable_subject(&subject) => subject,
            Some(_) => return Err(JwtError::InvalidClaim("sub")),
        };
        let mut scopes = Vec::new();
        match self.scope {
            None => {}
            Some(Value::String(list)) => add_scopes(&mut scopes, list.split(' '), "scope")?,
            Some(_) => return Err(JwtError::InvalidClaim("scope")),
        }
        match self.scp {
            None => {}
            Some(Value::String(list)) => add_scopes(&mut scopes, list.split(' '), "scp")?,
            Some(Value::Array(items)) => {
                let mut names = Vec::with_capacity(items.len());
                for item in &items {
                    names.push(item.as_str().ok_or(JwtError::InvalidClaim("scp"))?);
                }
                add_scopes(&mut scopes, names.into_iter(), "scp")?;
            }
            Some(_) => return Err(JwtError::InvalidClaim("scp")),
        }
        // jsonwebtoken has checked `exp` is a non-negative number.
        let expires_at =
            self.exp.and_then(|exp| exp.as_i64().or_else(|| exp.as_f64().map(|seconds| seconds.round() as i64)));
        Ok(JwtClaims { subject, scopes, expires_at })
    }
}

fn is_acceptable_subject(subject: &str) -> bool {
    !subject.is_empty() && subject.chars().count() <= MAX_SUBJECT_CHARS && !subject.chars().any(char::is_control)
}

/// Adds each scope once, in token order. Empty items (doubled spaces) are skipped; a scope that
/// is too long, holds whitespace or control characters, or one scope too many refuses the token.
fn add_scopes<'a>(
    scopes: &mut Vec<String>,
    names: impl Iterator<Item = &'a str>,
    claim: &'static str,
) -> Result<(), JwtError> {
    for name in names.filter(|name| !name.is_empty()) {
        let acceptable =
            name.chars().count() <= MAX_SCOPE_CHARS && !name.chars().any(|c| c.is_control() || c.is_whitespace());
        if !acceptable {
            return Err(JwtError::InvalidClaim(claim));
        }
        if scopes.iter().any(|known| known == name) {
            continue;
        }
        if scopes.len() == MAX_SCOPES {
            return Err(JwtError::InvalidClaim(claim));
        }
        scopes.push(name.to_owned());
    }
    Ok(())
}

/// What the service uses from a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtClaims {
    /// The `sub` claim: who the token was issued for (non-empty, printable, at most 256
    /// characters).
    pub subject: String,
    /// The scopes granted, from `scope` (a space-separated string, OAuth 2.0 / RFC 8693) and `scp`
    /// (an array of strings or a space-separated string, as Entra ID and Okta issue them), each
    /// once, in token order; empty when the token has neither.
    pub scopes: Vec<String>,
    /// The `exp` claim in seconds since the Unix epoch.
    pub expires_at: Option<i64>,
}

/// Why a token was refused. `Display` is a short reason safe to send to the client in a 401; it
/// never contains the token or key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Longer than 8 KiB; refused before decoding anything.
    #[error("the token is too long")]
    TooLong,
    /// Not three base64url parts, or a header that is not a JSON object with an `alg`.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// `none`, an unknown algorithm, or one that the configured keys do not verify (an HMAC
    /// algorithm without a secret, an asymmetric one without a JWKS, one the key does not allow).
    #[error("the token's algorithm is not accepted")]
    AlgorithmNotAccepted,
    /// No key in the JWKS has the token's `kid`, even after refetching, or the token has no `kid`
    /// and the JWKS has several keys.
    #[error("the token's signing key is not known")]
    UnknownKey,
    /// The JWKS could not be loaded yet (the identity provider is unreachable); a server-side
    /// problem, not the token's.
    #[error("the signing keys are not available")]
    KeysUnavailable,
    /// The signature does not match the token's content and key.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// `exp` is in the past (beyond 30 s of clock skew).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond 30 s of clock skew).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("the token's issuer is not accepted")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("the token's audience is not accepted")]
    WrongAudience,
    /// A required claim (`exp`, `sub`, and `iss`/`aud` when configured) is absent.
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong type or an unacceptable value (an empty or overlong `sub`, too many
    /// scopes, a scope with control characters).
    #[error("the token's `{0}` claim is not acceptable")]
    InvalidClaim(&'static str),
}

/// Whether `token` has the shape of a JWS compact serialization: three base64url parts separated
/// by dots (the third, the signature, may be empty as in an unsecured JWT, which
/// [`JwtVerifier::verify`] then refuses). Lets the caller tell a JWT from an API key (`esk_…`)
/// before verifying.
pub fn looks_like_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let base64url = |part: &str| part.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    !header.is_empty() && !payload.is_empty() && base64url(header) && base64url(payload) && base64url(signature)
}

/// The JWKS keys and when to reload them.
struct KeySet {
    source: JwksSource,
    refetch_interval: Duration,
    cache: Mutex<KeyCache>,
    /// Held while loading, so concurrent requests wait for one load instead of each starting one.
    loading: tokio::sync::Mutex<()>,
}

struct KeyCache {
    keys: Arc<Vec<VerificationKey>>,
    /// Whether a load has ever succeeded: an empty set then means "unknown key", before it means
    /// "keys unavailable".
    loaded: bool,
    /// The last load attempt, successful or not; drives the periodic reload.
    attempted_at: Option<Instant>,
    /// The last reload caused by an unknown `kid`; rate-limits those.
    kid_refetch_at: Option<Instant>,
    /// Counts load attempts, so a request that waited for someone else's load does not repeat it.
    generation: u64,
}

enum KeyChoice {
    Found(DecodingKey),
    NotAllowed,
    Missing,
}

impl KeySet {
    fn new(config: JwksConfig, refetch_interval: Duration) -> KeySet {
        let loaded = config.initial_keys.is_some();
        let cache = KeyCache {
            keys: Arc::new(config.initial_keys.unwrap_or_default()),
            loaded,
            attempted_at: loaded.then(Instant::now),
            kid_refetch_at: None,
            generation: 0,
        };
        KeySet {
            source: config.source,
            refetch_interval,
            cache: Mutex::new(cache),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    fn cache(&self) -> MutexGuard<'_, KeyCache> {
        // The cache is only ever replaced whole, so a panic elsewhere cannot leave it half-written.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn key_for(&self, algorithm: Algorithm, kid: Option<&str>) -> Result<DecodingKey, JwtError> {
        self.reload_if_stale().await;
        let generation = self.cache().generation;
        match self.choose(algorithm, kid)? {
            KeyChoice::Found(key) => return Ok(key),
            KeyChoice::NotAllowed => return Err(JwtError::AlgorithmNotAccepted),
            KeyChoice::Missing => {}
        }
        // An identity provider publishes a new key before signing with it, so an unknown `kid`
        // means the cached set is out of date (or the `kid` is made up: hence the rate limit).
        // Without a `kid` a reload only helps when no key is loaded at all.
        if kid.is_some() || self.cache().keys.is_empty() {
            let _loading = self.loading.lock().await;
            let refetch_due = {
                let mut cache = self.cache();
                let due = cache.generation == generation
                    && cache.kid_refetch_at.is_none_or(|at| at.elapsed() >= self.refetch_interval);
                if due {
                    cache.kid_refetch_at = Some(Instant::now());
                }
                due
            };
            if refetch_due {
                self.reload().await;
            }
        }
        match self.choose(algorithm, kid)? {
            KeyChoice::Found(key) => Ok(key),
            KeyChoice::NotAllowed => Err(JwtError::AlgorithmNotAccepted),
            KeyChoice::Missing if self.cache().loaded => Err(JwtError::UnknownKey),
            KeyChoice::Missing => Err(JwtError::KeysUnavailable),
        }
    }

    /// The first request waits for the first load (there is nothing to verify with before it);
    /// once keys are cached, one request reloads them when they are old while the others go on
    /// with the cached set instead of queueing behind a slow identity provider.
    async fn reload_if_stale(&self) {
        if !self.is_stale() {
            return;
        }
        let _loading = if self.cache().attempted_at.is_none() {
            self.loading.lock().await
        } else {
            match self.loading.try_lock() {
                Ok(loading) => loading,
                Err(_) => return,
            }
        };
        // Another request may have reloaded while this one waited for the lock.
        if self.is_stale() {
            self.reload().await;
        }
    }

    fn is_stale(&self) -> bool {
        self.cache().attempted_at.is_none_or(|at| at.elapsed() >= JWKS_MAX_AGE)
    }

    /// The key named by `kid`, or the only key when the token names none. A key found for the
    /// wrong algorithm is `NotAllowed`, not `Missing`: refetching would not change its type.
    fn choose(&self, algorithm: Algorithm, kid: Option<&str>) -> Result<KeyChoice, JwtError> {
        let keys = Arc::clone(&self.cache().keys);
        let candidates: Vec<&VerificationKey> = match kid {
            Some(kid) => keys.iter().filter(|key| key.kid.as_deref() == Some(kid)).collect(),
            None if keys.len() > 1 => return Err(JwtError::UnknownKey),
            None => keys.iter().collect(),
        };
        if candidates.is_empty() {
            return Ok(KeyChoice::Missing);
        }
        Ok(match candidates.into_iter().find(|key| key.algorithms.contains(&algorithm)) {
            Some(key) => KeyChoice::Found(key.key.clone()),
            None => KeyChoice::NotAllowed,
        })
    }

    /// Loads the set again; on failure the previous keys stay in use. The caller holds `loading`.
    async fn reload(&self) {
        let source = self.source.clone();
        let loaded = tokio::task::spawn_blocking(move || source.load()).await.unwrap_or_else(|error| Err(error.into()));
        let mut cache = self.cache();
        cache.attempted_at = Some(Instant::now());
        cache.generation += 1;
        match loaded {
            Ok(keys) => {
                cache.keys = Arc::new(keys);
                cache.loaded = true;
            }
            Err(error) => {
                tracing::warn!(jwks = %self.source.shown(), %error, "could not load the JWT key set; keeping the previous keys");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const SECRET: &str = "an HMAC secret that is long enough for HS256";

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt").join(name)
    }

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    fn config(vars: &[(&str, &str)]) -> Result<Option<JwtConfig>, JwtConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        JwtConfig::from_vars(|name| vars.get(name).cloned())
    }

    fn verifier(vars: &[(&str, &str)]) -> JwtVerifier {
        JwtVerifier::new(config(vars).expect("valid config").expect("JWT configured"))
    }

    fn hmac_key(secret: &[u8]) -> EncodingKey {
        EncodingKey::from_secret(secret).unwrap()
    }

    fn hs256(claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &hmac_key(SECRET.as_bytes())).unwrap()
    }

    fn signed_with_pem(algorithm: Algorithm, kid: &str, pem_file: &str, claims: &Value) -> String {
        let pem = std::fs::read(fixture(pem_file)).unwrap();
        let key = match algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
            _ => EncodingKey::from_rsa_pem(&pem),
        }
        .unwrap();
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    fn b64(json: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
    }

    fn valid_claims() -> Value {
        json!({"sub": "user-1", "exp": now() + 600})
    }

    #[tokio::test]
    async fn hs256_token_gives_subject_and_scope_claim() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let exp = now() + 600;
        let token = hs256(&json!({"sub": "user-1", "exp": exp, "scope": "items:read  items:write items:read"}));
        let claims = verifier.verify(&token).await.unwrap();
        assert_eq!(
            claims,
            JwtClaims {
                subject: "user-1".into(),
                scopes: vec!["items:read".into(), "items:write".into()],
                expires_at: Some(exp)
            }
        );
    }

    #[tokio::test]
    async fn scp_claim_as_array_or_string_gives_scopes() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let array = hs256(&json!({"sub": "a", "exp": now() + 60, "scp": ["items.read", "runs.write"]}));
        assert_eq!(verifier.verify(&array).await.unwrap().scopes, ["items.read", "runs.write"]);
        let string = hs256(&json!({"sub": "a", "exp": now() + 60, "scp": "items.read runs.write"}));
        assert_eq!(verifier.verify(&string).await.unwrap().scopes, ["items.read", "runs.write"]);
        let none = hs256(&valid_claims());
        assert!(verifier.verify(&none).await.unwrap().scopes.is_empty());
    }

    #[tokio::test]
    async fn scopes_are_bounded() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let too_many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
        let token = hs256(&json!({"sub": "a", "exp": now() + 60, "scp": too_many}));
        assert_eq!(verifier.verify(&token).await, Err(JwtError::InvalidClaim("scp")));
        let too_long = hs256(&json!({"sub": "a", "exp": now() + 60, "scope": "x".repeat(129)}));
        assert_eq!(verifier.verify(&too_long).await, Err(JwtError::InvalidClaim("scope")));
        let control = hs256(&json!({"sub": "a", "exp": now() + 60, "scp": ["read\u{7}"]}));
        assert_eq!(verifier.verify(&control).await, Err(JwtError::InvalidClaim("scp")));
        let not_strings = hs256(&json!({"sub": "a", "exp": now() + 60, "scp": [1, 2]}));
        assert_eq!(verifier.verify(&not_strings).await, Err(JwtError::InvalidClaim("scp")));
    }

    #[tokio::test]
    async fn expired_token_is_refused_beyond_the_leeway() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let expired = hs256(&json!({"sub": "a", "exp": now() - 120}));
        let refused = verifier.verify(&expired).await.unwrap_err();
        assert_eq!(refused, JwtError::Expired);
        assert_eq!(refused.to_string(), "the token has expired");
        let within_leeway = hs256(&json!({"sub": "a", "exp": now() - 10}));
        assert_eq!(verifier.verify(&within_leeway).await.unwrap().subject, "a");
    }

    #[tokio::test]
    async fn token_before_its_nbf_is_refused() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let early = hs256(&json!({"sub": "a", "exp": now() + 600, "nbf": now() + 120}));
        assert_eq!(verifier.verify(&early).await, Err(JwtError::NotYetValid));
    }

    #[tokio::test]
    async fn missing_exp_is_refused() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let forever = hs256(&json!({"sub": "a"}));
        assert_eq!(verifier.verify(&forever).await, Err(JwtError::MissingClaim("exp")));
    }

    #[tokio::test]
    async fn wrong_signature_is_refused() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let other = "another HMAC secret, also long enough for HS256";
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &valid_claims(), &hmac_key(other.as_bytes())).unwrap();
        let refused = verifier.verify(&token).await.unwrap_err();
        assert_eq!(refused, JwtError::BadSignature);
        assert_eq!(refused.to_string(), "the token's signature does not verify");

        // A valid token whose payload was swapped keeps a signature that no longer matches.
        let genuine = hs256(&valid_claims());
        let parts: Vec<&str> = genuine.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64(&json!({"sub": "admin", "exp": now() + 600})), parts[2]);
        assert_eq!(verifier.verify(&forged).await, Err(JwtError::BadSignature));
    }

    #[tokio::test]
    async fn audience_is_checked_when_configured() {
        let verifier = verifier(&[(SECRET_VAR, SECRET), (AUDIENCE_VAR, "entity-api")]);
        let wrong = hs256(&json!({"sub": "a", "exp": now() + 60, "aud": "other-api"}));
        let refused = verifier.verify(&wrong).await.unwrap_err();
        assert_eq!(refused, JwtError::WrongAudience);
        assert_eq!(refused.to_string(), "the token's audience is not accepted");
        let in_array = hs256(&json!({"sub": "a", "exp": now() + 60, "aud": ["other-api", "entity-api"]}));
        assert_eq!(verifier.verify(&in_array).await.unwrap().subject, "a");
        let absent = hs256(&valid_claims());
        assert_eq!(verifier.verify(&absent).await, Err(JwtError::MissingClaim("aud")));

        // Without a configured audience, any `aud` is accepted.
        let unchecked = self::verifier(&[(SECRET_VAR, SECRET)]);
        assert_eq!(unchecked.verify(&wrong).await.unwrap().subject, "a");
    }

    #[tokio::test]
    async fn issuer_is_checked_when_configured() {
        let verifier = verifier(&[(SECRET_VAR, SECRET), (ISSUER_VAR, "https://idp.example")]);
        let wrong = hs256(&json!({"sub": "a", "exp": now() + 60, "iss": "https://evil.example"}));
        assert_eq!(verifier.verify(&wrong).await, Err(JwtError::WrongIssuer));
        let absent = hs256(&valid_claims());
        assert_eq!(verifier.verify(&absent).await, Err(JwtError::MissingClaim("iss")));
        let right = hs256(&json!({"sub": "a", "exp": now() + 60, "iss": "https://idp.example"}));
        assert_eq!(verifier.verify(&right).await.unwrap().subject, "a");
    }

    #[tokio::test]
    async fn subject_is_required_and_bounded() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let missing = hs256(&json!({"exp": now() + 60}));
        let refused = verifier.verify(&missing).await.unwrap_err();
        assert_eq!(refused, JwtError::MissingClaim("sub"));
        assert_eq!(refused.to_string(), "the token has no `sub` claim");
        for bad in [json!(""), json!("x".repeat(257)), json!("line\nbreak"), json!(42)] {
            let token = hs256(&json!({"sub": bad, "exp": now() + 60}));
            assert_eq!(verifier.verify(&token).await, Err(JwtError::InvalidClaim("sub")), "sub {bad}");
        }
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let unsecured = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&valid_claims()));
        assert!(looks_like_jwt(&unsecured));
        let refused = verifier.verify(&unsecured).await.unwrap_err();
        assert_eq!(refused, JwtError::AlgorithmNotAccepted);
        assert_eq!(refused.to_string(), "the token's algorithm is not accepted");
        // Spelled differently, or with a signature appended, it is still refused.
        let shouted = format!("{}.{}.c2ln", b64(&json!({"alg": "None"})), b64(&valid_claims()));
        assert_eq!(verifier.verify(&shouted).await, Err(JwtError::AlgorithmNotAccepted));
    }

    #[tokio::test]
    async fn hmac_algorithms_need_a_secret_as_long_as_their_hash() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]); // 44 bytes: HS256 only
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS384), &valid_claims(), &hmac_key(SECRET.as_bytes()))
            .unwrap();
        assert_eq!(verifier.verify(&token).await, Err(JwtError::AlgorithmNotAccepted));

        let long = "s".repeat(64);
        let verifier = self::verifier(&[(SECRET_VAR, &long)]);
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS512), &valid_claims(), &hmac_key(long.as_bytes())).unwrap();
        assert_eq!(verifier.verify(&token).await.unwrap().subject, "user-1");
    }

    #[tokio::test]
    async fn oversized_token_is_refused_before_parsing() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        let padding = "p".repeat(MAX_TOKEN_BYTES);
        let token = hs256(&json!({"sub": "a", "exp": now() + 60, "padding": padding}));
        assert_eq!(verifier.verify(&token).await, Err(JwtError::TooLong));
        assert_eq!(verifier.verify(&"a".repeat(100_000)).await, Err(JwtError::TooLong));
    }

    #[tokio::test]
    async fn garbage_is_malformed() {
        let verifier = verifier(&[(SECRET_VAR, SECRET)]);
        for token in ["", "esk_abc", "a.b", "a.b.c.d", "!!.??.x", "bm90IGpzb24.e30.x"] {
            assert_eq!(verifier.verify(token).await, Err(JwtError::Malformed), "token {token:?}");
        }
    }

    #[tokio::test]
    async fn rs256_es256_and_eddsa_verify_against_a_jwks_file() {
        let jwks = fixture("jwks.json");
        let verifier = verifier(&[(JWKS_VAR, jwks.to_str().unwrap())]);
        let exp = now() + 600;
        let claims = json!({"sub": "svc", "exp": exp, "scope": "items:read"});
        for (algorithm, kid, pem) in [
            (Algorithm::RS256, "rsa-a", "rsa-a.key.pem"),
            (Algorithm::ES256, "ec-p256", "ec-p256.key.pem"),
            (Algorithm::EdDSA, "ed25519", "ed25519.key.pem"),
        ] {
            let token = signed_with_pem(algorithm, kid, pem, &claims);
            let verified = verifier.verify(&token).await.unwrap_or_else(|error| panic!("{algorithm:?}: {error}"));
            assert_eq!(
                verified,
                JwtClaims { subject: "svc".into(), scopes: vec!["items:read".into()], expires_at: Some(exp) }
            );
        }
    }

    #[tokio::test]
    async fn jwks_key_refuses_other_algorithms_and_other_keys() {
        let jwks = fixture("jwks.json");
        let verifier = verifier(&[(JWKS_VAR, jwks.to_str().unwrap())]);
        let claims = valid_claims();
        // The RSA JWK declares `alg: RS256`, so PS256 with the same key is refused.
        let pss = signed_with_pem(Algorithm::PS256, "rsa-a", "rsa-a.key.pem", &claims);
        assert_eq!(verifier.verify(&pss).await, Err(JwtError::AlgorithmNotAccepted));
        // An ES256 token naming the RSA key's kid.
        let mismatched = signed_with_pem(Algorithm::ES256, "rsa-a", "ec-p256.key.pem", &claims);
        assert_eq!(verifier.verify(&mismatched).await, Err(JwtError::AlgorithmNotAccepted));
        // Signed by a key that is not in the set, under a kid that is.
        let impostor = signed_with_pem(Algorithm::RS256, "rsa-a", "rsa-b.key.pem", &claims);
        assert_eq!(verifier.verify(&impostor).await, Err(JwtError::BadSignature));
        // No kid and three keys: there is no key to pick.
        let pem = std::fs::read(fixture("rsa-a.key.pem")).unwrap();
        let no_kid =
            jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &EncodingKey::from_rsa_pem(&pem).unwrap())
                .unwrap();
        assert_eq!(verifier.verify(&no_kid).await, Err(JwtError::UnknownKey));
    }

    #[tokio::test]
    async fn token_without_kid_uses_the_only_key() {
        let jwks = fixture("jwks-rotated.json");
        let verifier = verifier(&[(JWKS_VAR, jwks.to_str().unwrap())]);
        let pem = std::fs::read(fixture("rsa-b.key.pem")).unwrap();
        let no_kid = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &valid_claims(),
            &EncodingKey::from_rsa_pem(&pem).unwrap(),
        )
        .unwrap();
        assert_eq!(verifier.verify(&no_kid).await.unwrap().subject, "user-1");
    }

    /// The classic algorithm-confusion attack: HS256 with the server's RSA public key as the HMAC
    /// secret. A verifier that handed the JWK's bytes to HMAC would accept it.
    #[tokio::test]
    async fn hs256_signed_with_the_public_key_is_refused_by_a_jwks_verifier() {
        let jwks = fixture("jwks.json");
        let verifier = verifier(&[(JWKS_VAR, jwks.to_str().unwrap())]);
        let public_pem = std::fs::read(fixture("rsa-a.pub.pem")).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-a".into());
        let forged = jsonwebtoken::encode(&header, &valid_claims(), &hmac_key(&public_pem)).unwrap();
        assert_eq!(verifier.verify(&forged).await, Err(JwtError::AlgorithmNotAccepted));
    }

    #[tokio::test]
    async fn with_secret_and_jwks_each_algorithm_uses_its_own_key() {
        let jwks = fixture("jwks.json");
        let verifier = verifier(&[(SECRET_VAR, SECRET), (JWKS_VAR, jwks.to_str().unwrap())]);
        assert_eq!(verifier.verify(&hs256(&valid_claims())).await.unwrap().subject, "user-1");
        let rs256 = signed_with_pem(Algorithm::RS256, "rsa-a", "rsa-a.key.pem", &valid_claims());
        assert_eq!(verifier.verify(&rs256).await.unwrap().subject, "user-1");
        // The secret verifies no RS256 token, the JWKS no HS256 one.
        let secret_only = self::verifier(&[(SECRET_VAR, SECRET)]);
        assert_eq!(secret_only.verify(&rs256).await, Err(JwtError::AlgorithmNotAccepted));
    }

    #[test]
    fn jwks_without_usable_signing_keys_are_rejected() {
        let keys = |document: Value| verification_keys(&serde_json::to_vec(&document).unwrap());
        let rsa: Value =
            serde_json::from_slice::<Value>(&std::fs::read(fixture("jwks.json")).unwrap()).unwrap()["keys"][0].clone();
        let mut encryption = rsa.clone();
        encryption["use"] = json!("enc");
        let mut oaep = rsa.clone();
        oaep["alg"] = json!("RSA-OAEP");
        oaep.as_object_mut().unwrap().remove("use");
        let mut hmac_declared = rsa.clone();
        hmac_declared["alg"] = json!("HS256");
        let mut short = rsa.clone();
        short["n"] = json!(URL_SAFE_NO_PAD.encode([0xc3; 128])); // 1024 bits
        let symmetric = json!({"kty": "oct", "kid": "k", "k": URL_SAFE_NO_PAD.encode([7; 32])});
        let document = json!({"keys": [encryption, oaep, hmac_declared, short, symmetric, {"kty": "nonsense"}]});
        assert!(matches!(keys(document), Err(JwksLoadError::NoUsableKey)));
        assert!(matches!(keys(json!({"keys": [rsa]})), Ok(found) if found.len() == 1));
        assert!(matches!(keys(json!([])), Err(JwksLoadError::NotJwks(_))));
        let many: Vec<Value> = (0..100).map(|_| rsa.clone()).collect();
        assert!(matches!(keys(json!({"keys": many})), Ok(found) if found.len() == MAX_KEYS));
    }

    #[test]
    fn no_secret_and_no_jwks_means_no_jwt_config_unless_half_configured() {
        assert!(config(&[]).unwrap().is_none());
        let half = config(&[(ISSUER_VAR, "https://idp.example")]).unwrap_err();
        assert_eq!(half.var(), ISSUER_VAR);
        assert!(half.to_string().contains(JWKS_VAR), "{half}");
        assert_eq!(config(&[(AUDIENCE_VAR, "registry")]).unwrap_err().var(), AUDIENCE_VAR);
    }

    #[test]
    fn unusable_values_name_their_variable() {
        // The variables set, the variable the error must name, and a detail of its message.
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (&[(SECRET_VAR, "")], SECRET_VAR, "empty"),
            (&[(SECRET_VAR, "short-secret")], SECRET_VAR, "12 bytes long"),
            (&[(JWKS_VAR, "  ")], JWKS_VAR, "empty"),
            (&[(JWKS_VAR, "http://idp.example/jwks.json")], JWKS_VAR, "loopback"),
            (&[(JWKS_VAR, "http://10.0.0.1/jwks.json")], JWKS_VAR, "loopback"),
            (&[(JWKS_VAR, "ftp://idp.example/jwks.json")], JWKS_VAR, "https"),
            (&[(JWKS_VAR, "https://user:pw@idp.example/jwks.json")], JWKS_VAR, "credentials"),
            (&[(JWKS_VAR, "/nonexistent/jwks.json")], JWKS_VAR, "/nonexistent/jwks.json"),
            (&[(SECRET_VAR, SECRET), (ISSUER_VAR, "")], ISSUER_VAR, "empty"),
            (&[(SECRET_VAR, SECRET), (AUDIENCE_VAR, " ")], AUDIENCE_VAR, "empty"),
        ];
        for (vars, var, detail) in cases {
            let error = config(vars).unwrap_err();
            let message = error.to_string();
            assert_eq!(error.var(), *var, "{message}");
            assert!(message.starts_with(var) && message.contains(detail), "{message}");
            assert!(!message.contains("short-secret"), "{message}");
        }
    }

    #[test]
    fn jwks_file_without_usable_keys_fails_at_start() {
        let readme = fixture("README.md");
        let error = config(&[(JWKS_VAR, readme.to_str().unwrap())]).unwrap_err();
        assert_eq!(error.var(), JWKS_VAR);
        assert!(error.to_string().contains("not a JWKS document"), "{error}");
    }

    #[test]
    fn loopback_http_and_https_urls_are_accepted() {
        for url in [
            "https://idp.example/.well-known/jwks.json",
            "http://127.0.0.1:8080/jwks",
            "http://localhost/jwks",
            "http://[::1]:9000/jwks",
            "HTTPS://IDP.EXAMPLE/keys",
        ] {
            assert!(config(&[(JWKS_VAR, url)]).unwrap().is_some(), "{url}");
        }
    }

    #[test]
    fn shown_url_drops_the_query() {
        let url = JwksUrl::parse("https://idp.example:8443/keys?api_key=hunter2").unwrap();
        assert_eq!(url.shown, "https://idp.example:8443/keys");
        assert_eq!(url.full, "https://idp.example:8443/keys?api_key=hunter2");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let config = config(&[(SECRET_VAR, SECRET)]).unwrap().unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains(r#"secret: "***""#) && !shown.contains(SECRET), "{shown}");
        let verifier = JwtVerifier::new(config);
        let shown = format!("{verifier:?}");
        assert!(shown.contains(r#"secret: "***""#) && !shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn looks_like_jwt_tells_jwts_from_api_keys() {
        let token = hs256(&valid_claims());
        assert!(looks_like_jwt(&token));
        assert!(!looks_like_jwt("esk_3f9a8b7c6d5e4f3a2b1c"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt(".b.c"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt("a+b.c/d.e="));
    }

    #[test]
    fn verifier_is_shareable_across_tasks() {
        fn shareable<T: Send + Sync + Clone + 'static>() {}
        shareable::<JwtVerifier>();
    }
}
