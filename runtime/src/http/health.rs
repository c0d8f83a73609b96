//! Health routes for load balancers and orchestrators, served without a credential:
//! `GET /healthz` says the process answers (no I/O at all), `GET /readyz` that it can serve
//! requests now (not draining for a restart, and the database answers within
//! [`READY_TIMEOUT`]); a failed check is a 503
//! problem naming it, so the balancer stops sending traffic until it passes again.

use std::sync::Arc;
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

/// What `/readyz` looks at.
#[derive(Clone)]
pub struct Readiness {
    /// The service's database.
    pub db: Db,
    /// The service's drain state.
    pub drain: Arc<Drain>,
}

/// `GET /readyz`: not draining for a restart, and the database answers a trivial query in time.
pub async fn readyz(State(Readiness { db, drain }): State<Readiness>) -> Response {
    if drain.is_draining() {
        return ApiError::not_ready("draining", &"the service is shutting down").into_response();
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
