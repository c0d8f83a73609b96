//! Rate limits as a client meets them, over real HTTP on loopback: past the per-credential
//! rate a key gets a 429 problem with `Retry-After` while another key goes on; past the
//! per-address rate even requests with bad keys are refused before any key is looked up;
//! health routes are never limited; without configuration nothing is.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use entity_spec::api_keys::{self, NewKey};
use entity_spec::{AuthConfig, MigrateOptions, Rate, RateLimits, ServerLimits};
use serde_json::Value;
use support::{BACKENDS, TestDb};

#[entity_spec::entity_spec("specs/entities.json")]
pub mod model {}

support::raw_data_source_test_actions!(model);

async fn key(test_db: &TestDb, name: &str) -> String {
    let new = NewKey { name: name.into(), scopes: vec!["admin".into()], expires_at: None };
    api_keys::create(&test_db.db, new).await.unwrap().0.expose().to_owned()
}

/// Serves `limits` on an ephemeral loopback port (with the client addresses the guard needs).
async fn serve(test_db: &TestDb, limits: RateLimits) -> SocketAddr {
    let router = model::service(test_db.db.clone(), TestActions)
        .with_auth(AuthConfig::api_keys())
        .with_rate_limits(limits)
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(entity_spec::serve_with(listener, router, ServerLimits::default(), std::future::pending()));
    address
}

/// `GET path` with `key`, on a connection of its own: status, `Retry-After`, body.
async fn get(address: SocketAddr, path: &str, key: &str) -> (u16, Option<String>, Value) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n");
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let status = head[9..12].parse().unwrap();
        let retry_after = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("retry-after: ").map(|v| v.trim().to_owned()));
        (status, retry_after, serde_json::from_str(body).unwrap_or(Value::Null))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_credential_past_its_rate_gets_429_with_retry_after_and_others_go_on() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let (busy, other) = (key(&test_db, "busy").await, key(&test_db, "other").await);
        let address = serve(&test_db, RateLimits::new(Some(Rate::parse("3/min").unwrap()), None)).await;
        for _ in 0..3 {
            assert_eq!(get(address, "/raw-data-sources", &busy).await.0, 200, "{backend:?}");
        }
        let (status, retry_after, problem) = get(address, "/raw-data-sources", &busy).await;
        assert_eq!(status, 429, "{backend:?}: {problem}");
        assert_eq!(problem["type"], "urn:entity-spec:problem:rate-limited", "{backend:?}");
        assert!(problem["detail"].as_str().unwrap().contains("3 requests per minute"), "{backend:?}: {problem}");
        // 3 per minute: the next request is allowed 20 s after the burst.
        let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
        assert!((1..=20).contains(&wait), "{backend:?}: Retry-After {wait}");
        // Every route behind the guard counts, not one route at a time.
        assert_eq!(get(address, "/auth/me", &busy).await.0, 429, "{backend:?}");
        assert_eq!(get(address, "/raw-data-sources", &other).await.0, 200, "{backend:?}: another key is not slowed");
        // Health stays answerable for the balancer.
        assert_eq!(get(address, "/healthz", &busy).await.0, 200, "{backend:?}");
    }
}

#[tokio::test]
async fn an_address_past_its_rate_is_refused_before_its_keys_are_looked_at() {
    for backend in BACKENDS {
        let test_db = TestDb::new(backend).await;
        model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
        let good = key(&test_db, "good").await;
        let address = serve(&test_db, RateLimits::new(None, Some(Rate::parse("4/h").unwrap()))).await;
        // Guessing keys uses up the address's allowance like any request.
        for guess in ["esk_guess1", "esk_guess2", "esk_guess3"] {
            assert_eq!(get(address, "/raw-data-sources", guess).await.0, 401, "{backend:?}");
        }
        assert_eq!(get(address, "/raw-data-sources", &good).await.0, 200, "{backend:?}");
        let (status, retry_after, problem) = get(address, "/raw-data-sources", &good).await;
        assert_eq!(status, 429, "{backend:?}: {problem}");
        assert!(problem["detail"].as_str().unwrap().starts_with("this address sent more than 4 requests per hour"));
        assert!(retry_after.unwrap().parse::<u64>().unwrap() > 60, "{backend:?}: a quarter of an hour to wait");
    }
}

#[tokio::test]
async fn without_configuration_nothing_is_limited() {
    let test_db = TestDb::new(entity_spec::Backend::Sqlite).await;
    model::migrate(&test_db.db, MigrateOptions::default()).await.unwrap();
    let key = key(&test_db, "k").await;
    let address = serve(&test_db, RateLimits::default()).await;
    for _ in 0..50 {
        assert_eq!(get(address, "/auth/me", &key).await.0, 200);
    }
}
