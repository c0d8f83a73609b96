//! A generated service as one value: its router and the workers of its tracked actions,
//! built together (so the routes that queue runs wake the workers that run them) and started
//! separately. Building a router never starts anything: [`Service::start_workers`] is the one,
//! explicit, idempotent call that does, which also lets an instance serve the API while
//! others on the same PostgreSQL database run the queue.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::auth::authenticator::{AuthConfig, Authenticator};
use crate::http::cors::CorsOrigins;
use crate::http::health::Stopping;
use crate::http::rate_limit::RateLimits;
use crate::http::router::{PlainAction, entity_router};
use crate::http::service::{Guarded, service};
use crate::model::def::EntityDef;
use crate::runs::drain::{Drain, DrainReport};
use crate::runs::engine::{Engine, EngineConfig, EngineStartError, RunHandler};
use crate::runs::metrics::RunMetrics;
use crate::storage::db::Db;
use crate::storage::entity::Entity;
use crate::storage::migrations::{MigrateError, MigrateOptions, MigrationReport};

type StartWorkers = Box<dyn Fn(&EngineConfig) -> Result<(), EngineStartError> + Send + Sync>;

/// The routes of every entity of a spec and the engines of its tracked actions. Generated
/// `service(db, …)` functions build it.
pub struct Service {
    db: Db,
    auth: AuthConfig,
    entities: Vec<&'static EntityDef>,
    routes: Router,
    engines: Vec<StartWorkers>,
    stopping: Arc<Stopping>,
    drain: Arc<Drain>,
    runs: RunMetrics,
    count_requests: bool,
    compression: bool,
    limits: Arc<RateLimits>,
    cors: Option<CorsOrigins>,
    spec_hash: &'static str,
    openapi_json: &'static str,
    workbench_json: &'static str,
}

impl Service {
    /// A service with no entity yet, of the spec hashed `spec_hash`, serving this OpenAPI
    /// document and workbench description. Every entity route needs a credential: API keys
    /// from `db` (see [`Service::with_auth`]).
    pub fn new(db: Db, spec_hash: &'static str, openapi_json: &'static str, workbench_json: &'static str) -> Service {
        Service {
            db,
            spec_hash,
            auth: AuthConfig::api_keys(),
            entities: Vec::new(),
            routes: Router::new(),
            engines: Vec::new(),
            stopping: Arc::default(),
            drain: Arc::new(Drain::default()),
            runs: RunMetrics::default(),
            count_requests: true,
            compression: true,
            limits: Arc::default(),
            cors: None,
            openapi_json,
            workbench_json,
        }
    }

    /// Authenticates as `config` says (e.g. [`AuthConfig::from_env`], or [`AuthConfig::off`] in
    /// tests and behind a gateway that authenticates).
    pub fn with_auth(mut self, config: AuthConfig) -> Service {
        self.auth = config;
        self
    }

    /// Lets browsers on these origins call the API (`None`: no cross-origin access, the
    /// default; see [`CorsOrigins::from_env`]).
    pub fn with_cors(mut self, origins: Option<CorsOrigins>) -> Service {
        self.cors = origins;
        self
    }

    /// Whether requests are counted for `/metrics` (on by default; see
    /// [`crate::http::metrics::request_metrics_from_env`]). Run, queue and pool figures are
    /// served either way.
    pub fn with_request_metrics(mut self, on: bool) -> Service {
        self.count_requests = on;
        self
    }

    /// Whether responses are compressed for clients that send `Accept-Encoding` (on by
    /// default; see [`crate::http::compression::compression_from_env`]).
    pub fn with_compression(mut self, on: bool) -> Service {
        self.compression = on;
        self
    }

    /// Limits requests per client address and per credential (none by default; see
    /// [`RateLimits::from_env`]).
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Service {
        self.limits = Arc::new(limits);
        self
    }

    /// How requests are authenticated.
    pub fn auth(&self) -> &AuthConfig {
        &self.auth
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The service's entities, in spec order.
    pub fn entities(&self) -> &[&'static EntityDef] {
        &self.entities
    }

    /// Adds an entity's routes (walked from its route table), answering its plain actions
    /// with `plain` and running its tracked action through `runs`.
    pub fn with_entity<E: Entity>(
        mut self,
        plain: Vec<(&'static str, PlainAction)>,
        runs: Option<Arc<dyn RunHandler<E>>>,
    ) -> Service {
        self.entities.push(E::DEF);
        let engine =
            runs.map(|handler| Engine::<E>::new(self.db.clone(), handler, self.drain.clone(), self.runs.clone()));
        self.routes = self.routes.merge(entity_router::<E>(self.db.clone(), plain, engine.clone()));
        if let Some(engine) = engine {
            self.engines.push(Box::new(move |config| engine.try_start(config.clone())));
        }
        self
    }

    /// Creates or migrates the tables of every entity and of the runtime (see
    /// [`crate::storage::migrations`]).
    pub async fn migrate(&self, options: MigrateOptions) -> Result<MigrationReport, MigrateError> {
        crate::serve::migrate::migrate(&self.db, &self.entities, self.spec_hash, options).await
    }

    /// Starts the workers and the scheduler of every tracked action on the current Tokio
    /// runtime, with `config` (usually [`EngineConfig::from_env`]). A second call does
    /// nothing; outside a runtime nothing starts and the error says so.
    pub fn start_workers(&self, config: &EngineConfig) -> Result<(), EngineStartError> {
        self.engines.iter().try_for_each(|start| start(config))
    }

    /// Begins draining for a restart: `/readyz` answers 503, the workers claim no more runs,
    /// and runs in progress get `grace` to finish before they are handed back to the queue.
    pub fn begin_drain(&self, grace: Duration) {
        self.drain.begin(grace);
    }

    /// How the service stops, as [`crate::serve::server::serve_with`]'s shutdown: once `signal`
    /// resolves (SIGTERM, say), `/readyz` answers 503 while requests are still served for
    /// `delay`, so that load balancers take the instance out of rotation before it stops
    /// accepting; then draining begins with `grace` ([`Service::begin_drain`]) and this
    /// resolves, and the server answers what it was sent and stops.
    pub async fn stop_when(&self, signal: impl Future<Output = ()>, delay: Duration, grace: Duration) {
        signal.await;
        self.stopping.announce();
        if !delay.is_zero() {
            tracing::info!(delay_secs = delay.as_secs_f64(), "not ready; serving while load balancers notice");
            tokio::time::sleep(delay).await;
        }
        self.begin_drain(grace);
    }

    /// Waits until the runs in progress finished or were handed back (at most the grace
    /// period of [`Service::begin_drain`] and `margin`); what happened to them.
    pub async fn finish_drain(&self, margin: Duration) -> DrainReport {
        self.drain.wait(margin).await
    }

    /// The HTTP service: every entity's routes behind the guard, `/auth/me`, `/audit-log`,
    /// `/openapi.json`, `/docs`, the workbench, problem+json for unknown routes, the body limit
    /// and request logging. Tracked actions queue runs; they run once
    /// [`Service::start_workers`] was called, here or in another instance on the same database.
    pub fn router(&self) -> Router {
        let guarded = Guarded {
            authenticator: Authenticator::new(self.db.clone(), &self.auth),
            db: self.db.clone(),
            entities: self.entities.clone().into(),
            stopping: self.stopping.clone(),
            drain: self.drain.clone(),
            runs: self.runs.clone(),
            count_requests: self.count_requests,
            compression: self.compression,
            limits: self.limits.clone(),
        };
        service(self.routes.clone(), guarded, self.openapi_json, self.workbench_json, self.cors.as_ref())
    }
}
