//! A generated service as one value: its router and the workers of its tracked actions,
//! built together (so the routes that queue runs wake the workers that run them) and started
//! separately. Building a router never starts anything: [`Service::start_workers`] is the one,
//! explicit, idempotent call that does, which also lets an instance serve the API while
//! others on the same PostgreSQL database run the queue.

use std::sync::Arc;

use axum::Router;

use crate::http::router::{PlainAction, entity_router};
use crate::http::service::service;
use crate::runs::engine::{Engine, EngineConfig, EngineStartError, RunHandler};
use crate::storage::db::Db;
use crate::storage::entity::Entity;

type StartWorkers = Box<dyn Fn(&EngineConfig) -> Result<(), EngineStartError> + Send + Sync>;

/// The routes of every entity of a spec and the engines of its tracked actions. Generated
/// `service(db, …)` functions build it.
pub struct Service {
    db: Db,
    routes: Router,
    engines: Vec<StartWorkers>,
    openapi_json: &'static str,
    workbench_json: &'static str,
}

impl Service {
    /// A service with no entity yet, serving this OpenAPI document and workbench description.
    pub fn new(db: Db, openapi_json: &'static str, workbench_json: &'static str) -> Service {
        Service { db, routes: Router::new(), engines: Vec::new(), openapi_json, workbench_json }
    }

    /// Adds an entity's routes (walked from its route table), answering its plain actions
    /// with `plain` and running its tracked action through `runs`.
    pub fn with_entity<E: Entity>(
        mut self,
        plain: Vec<(&'static str, PlainAction)>,
        runs: Option<Arc<dyn RunHandler<E>>>,
    ) -> Service {
        let engine = runs.map(|handler| Engine::<E>::new(self.db.clone(), handler));
        self.routes = self.routes.merge(entity_router::<E>(self.db.clone(), plain, engine.clone()));
        if let Some(engine) = engine {
            self.engines.push(Box::new(move |config| engine.try_start(config.clone())));
        }
        self
    }

    /// Starts the workers and the scheduler of every tracked action on the current Tokio
    /// runtime, with `config` (usually [`EngineConfig::from_env`]). A second call does
    /// nothing; outside a runtime nothing starts and the error says so.
    pub fn start_workers(&self, config: &EngineConfig) -> Result<(), EngineStartError> {
        self.engines.iter().try_for_each(|start| start(config))
    }

    /// The HTTP service: every entity's routes, `/openapi.json`, `/docs`, the workbench,
    /// problem+json for unknown routes, the body limit and request logging. Tracked actions
    /// queue runs; they run once [`Service::start_workers`] was called, here or in another
    /// instance on the same database.
    pub fn router(&self) -> Router {
        service(self.routes.clone(), self.openapi_json, self.workbench_json)
    }
}
