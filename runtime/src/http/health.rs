//! Health routes for load balancers and orchestrators, served without a credential:
//! `GET /healthz` says the process answers (no I/O at all), `GET /readyz` that it can serve
//! requests now (not stopping or draining for a restart, and the database answers within
//! [`READY_TIMEOUT`]); a failed check is a 503
//! problem naming it, so the balancer stops sending traffic until it passes again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::problem::ApiError;
use crate::runs::drain::Drain;
use crate::storage::db::{Db, Sql};

/// How long `/readyz` waits for the database: well under a balancer's usual probe timeout.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Whether the service was told to stop. From then on `/readyz` fails, though requests are
/// still served for a while (`ENTITY_SPEC_SHUTDOWN_DELAY_SECS`): load balancers only stop
/// sending requests once their probe saw the failure, and an instance that stopped accepting
/// before that would have them refused.
#[derive(Debug, Default)]
pub struct Stopping(AtomicBool);

impl Stopping {
    /// Fails readiness from now on.
    pub fn announce(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`Stopping::announce`] was called.
    pub fn is_announced(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What `/readyz` looks at.
#[derive(Clone)]
pub struct Readiness {
    /// The service's database.
    pub db: Db,
    /// Whether the service was told to stop.
    pub stopping: Arc<Stopping>,
    /// The service's drain state.
    pub drain: Arc<Drain>,
}

/// `GET /readyz`: not stopping or draining for a restart, and the database answers a trivial
/// query in time.
pub async fn readyz(State(Readiness { db, stopping, drain }): State<Readiness>) -> Response {
    if drain.is_draining() {
        return ApiError::not_ready("draining", &"the service is shutting down").into_response();
    }
    if stopping.is_announced() {
        return ApiError::not_ready("stopping", &"the service is stopping: send no new requests").into_response();
    }
    let mut ping = Sql::new(db.backend());
    ping.push("SELECT 1");
    match tokio::time::timeout(READY_TIMEOUT, db.execute(ping)).await {
        Ok(Ok(_)) => Json(json!({"status": "ready", "checks": {"database": "ok"}})).into_response(),
        Ok(Err(error)) => ApiError::not_ready("database", &error).into_response(),
        Err(_) => {
            ApiError::not_ready("database", &format!("no answer within {} s", READY_TIMEOUT.as_secs())).into_response()
        }
    }
}
