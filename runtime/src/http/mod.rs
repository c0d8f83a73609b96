//! Layer 4: the HTTP API. Imports only the layers below it.

pub mod action_routes;
pub mod bodies;
pub mod entity_routes;
pub mod params;
pub mod problem;
// The workbench stays beside `runtime/ui/`, whose files it compiles in by relative path.
#[path = "../workbench.rs"]
pub mod workbench;

pub use entity_routes::{BODY_LIMIT, DOCS_PATH, OPENAPI_PATH, STATS_SEGMENT, entity_routes, service};
