//! JWT verification against a JWKS served over HTTP from 127.0.0.1: fetching, rotation, the
//! refetch rate limit, failed fetches and concurrent first requests. Tokens are signed with the
//! test-only keys in `tests/fixtures/jwt/`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use entity_spec_runtime::auth::jwt::{JwtClaims, JwtConfig, JwtError, JwtVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt").join(name)
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// A token for `sub: "user-1"` valid for ten minutes, signed by a fixture key under `kid`.
fn token(algorithm: Algorithm, kid: &str, pem_file: &str) -> String {
    let pem = fixture_text(pem_file);
    let key = match algorithm {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
    .unwrap();
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_owned());
    let claims = json!({"sub": "user-1", "exp": now() + 600, "scope": "items:read"});
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn rsa_a() -> String {
    token(Algorithm::RS256, "rsa-a", "rsa-a.key.pem")
}

fn rsa_b() -> String {
    token(Algorithm::RS256, "rsa-b", "rsa-b.key.pem")
}

/// A JWKS endpoint whose document can be swapped (key rotation) or made to fail, counting the
/// requests it answers.
struct JwksServer {
    url: String,
    state: Arc<ServedJwks>,
}

struct ServedJwks {
    document: Mutex<String>,
    failing: AtomicBool,
    requests: AtomicUsize,
}

impl JwksServer {
    async fn start(document: String) -> JwksServer {
        let state = Arc::new(ServedJwks {
            document: Mutex::new(document),
            failing: AtomicBool::new(false),
            requests: AtomicUsize::new(0),
        });
        let router = Router::new().route("/keys.json", get(serve_jwks)).with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/keys.json?tenant=test", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        JwksServer { url, state }
    }

    fn serve(&self, document: String) {
        *self.state.document.lock().unwrap() = document;
    }

    fn fail(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    fn verifier(&self, refetch_interval: Duration) -> JwtVerifier {
        let url = self.url.clone();
        let config = JwtConfig::from_vars(|name| (name == "ENTITY_SPEC_JWKS").then(|| url.clone()))
            .expect("a loopback http JWKS URL is accepted")
            .expect("JWT is configured");
        JwtVerifier::new(config.with_refetch_interval(refetch_interval))
    }
}

async fn serve_jwks(State(state): State<Arc<ServedJwks>>) -> (StatusCode, String) {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if state.failing.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down".to_owned());
    }
    (StatusCode::OK, state.document.lock().unwrap().clone())
}

#[tokio::test]
async fn rs256_and_es256_tokens_verify_against_a_jwks_url() {
    let server = JwksServer::start(fixture_text("jwks.json")).await;
    let verifier = server.verifier(Duration::ZERO);
    let rs256 = verifier.verify(&rsa_a()).await.unwrap();
    assert_eq!(rs256.subject, "user-1");
    assert_eq!(rs256.scopes, ["items:read"]);
    let es256: JwtClaims = verifier.verify(&token(Algorithm::ES256, "ec-p256", "ec-p256.key.pem")).await.unwrap();
    assert_eq!(es256.subject, "user-1");
    assert_eq!(server.requests(), 1, "the key set is fetched once and cached");
}

#[tokio::test]
async fn unknown_kid_refetches_the_rotated_key_set() {
    let server = JwksServer::start(fixture_text("jwks.json")).await;
    let verifier = server.verifier(Duration::ZERO);
    assert_eq!(verifier.verify(&rsa_a()).await.unwrap().subject, "user-1");

    server.serve(fixture_text("jwks-rotated.json"));
    assert_eq!(verifier.verify(&rsa_b()).await.unwrap().subject, "user-1", "the new key is fetched on first use");
    assert_eq!(server.requests(), 2);

    // The rotated set no longer has rsa-a: its tokens are refused from now on.
    assert_eq!(verifier.verify(&rsa_a()).await, Err(JwtError::UnknownKey));
}

#[tokio::test]
async fn unknown_kid_refetches_at_most_once_per_interval() {
    let server = JwksServer::start(fixture_text("jwks.json")).await;
    let verifier = server.verifier(Duration::from_secs(3600));
    assert_eq!(verifier.verify(&rsa_a()).await.unwrap().subject, "user-1");
    assert_eq!(server.requests(), 1);

    server.serve(fixture_text("jwks-rotated.json"));
    assert_eq!(verifier.verify(&rsa_b()).await.unwrap().subject, "user-1");
    assert_eq!(server.requests(), 2, "the first unknown kid refetches");

    // rsa-a is unknown now; within the interval neither it nor made-up kids cause another fetch.
    server.serve(fixture_text("jwks.json"));
    assert_eq!(verifier.verify(&rsa_a()).await, Err(JwtError::UnknownKey));
    for kid in ["made-up-1", "made-up-2", "made-up-3"] {
        let token = token(Algorithm::RS256, kid, "rsa-a.key.pem");
        assert_eq!(verifier.verify(&token).await, Err(JwtError::UnknownKey));
    }
    assert_eq!(server.requests(), 2, "no second refetch within the interval");
}

#[tokio::test]
async fn failed_fetch_keeps_the_previous_keys() {
    let server = JwksServer::start(fixture_text("jwks.json")).await;
    let verifier = server.verifier(Duration::ZERO);
    assert_eq!(verifier.verify(&rsa_a()).await.unwrap().subject, "user-1");

    server.fail(true);
    assert_eq!(verifier.verify(&rsa_b()).await, Err(JwtError::UnknownKey));
    assert_eq!(server.requests(), 2, "the unknown kid did try to refetch");
    assert_eq!(verifier.verify(&rsa_a()).await.unwrap().subject, "user-1", "the cached key still verifies");

    // A document that is not a usable key set is a failed fetch too.
    server.fail(false);
    server.serve(r#"{"keys": []}"#.to_owned());
    assert_eq!(verifier.verify(&rsa_b()).await, Err(JwtError::UnknownKey));
    assert_eq!(verifier.verify(&rsa_a()).await.unwrap().subject, "user-1");
}

#[tokio::test]
async fn oversized_key_set_is_not_loaded() {
    let padding = "x".repeat(2 * 1024 * 1024);
    let server = JwksServer::start(format!(r#"{{"padding": "{padding}", "keys": []}}"#)).await;
    let verifier = server.verifier(Duration::ZERO);
    assert_eq!(verifier.verify(&rsa_a()).await, Err(JwtError::KeysUnavailable));
}

#[tokio::test]
async fn unreachable_key_set_means_keys_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keys.json", listener.local_addr().unwrap());
    drop(listener);
    let config = JwtConfig::from_vars(|name| (name == "ENTITY_SPEC_JWKS").then(|| url.clone())).unwrap().unwrap();
    let verifier = JwtVerifier::new(config);
    let refused = verifier.verify(&rsa_a()).await.unwrap_err();
    assert_eq!(refused, JwtError::KeysUnavailable);
    assert_eq!(refused.to_string(), "the signing keys are not available");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_fetch_once() {
    let server = JwksServer::start(fixture_text("jwks.json")).await;
    let verifier = server.verifier(Duration::ZERO);
    let token = rsa_a();
    let requests: Vec<_> = (0..32)
        .map(|_| {
            let verifier = verifier.clone();
            let token = token.clone();
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap().subject, "user-1");
    }
    assert_eq!(server.requests(), 1, "concurrent requests share one fetch");
}
