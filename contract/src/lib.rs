//! The rules that entity-spec's code generator, runtime and CLI must agree on, owned here once.
//!
//! The generator runs inside the proc macro and cannot be a dependency of the runtime (it pulls
//! in `syn`), and the runtime cannot be one of the generator (it pulls in sqlx and axum); this
//! crate is what both, and the CLI, share, as `sqlx-core` serves `sqlx-macros-core`. It holds
//! rules, not machinery: the route table, reserved paths and limits, how lists count and which formats they take, what a full-text search's words are, which fields can be
//! sorted, filtered and grouped, the patterns the document gives hand-checked values, the scope each route needs, the states and triggers of runs and how they are retried, "did you mean" suggestions,
//! how client text is shown in messages, what deleting a referenced row does and the names of
//! foreign keys, and the stable hash.
#![deny(missing_docs)]

pub mod fields;
pub mod hash;
pub mod limits;
pub mod lists;
pub mod paths;
pub mod patterns;
pub mod references;
pub mod routes;
pub mod runs;
pub mod scopes;
pub mod search;
pub mod suggest;
pub mod text;

pub use fields::{FieldFacts, Setter, ValueType};
pub use references::OnDelete;
pub use routes::{ActionDef, ActionKind, ActionScope, Method, NestedDef, Operation, Permission, Route};
pub use runs::{ItemStatus, RetryPolicy, RunStatus, RunTrigger};
pub use scopes::Scopes;
