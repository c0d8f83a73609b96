//! Sizes every service enforces and its OpenAPI document and workbench announce.

/// Request bodies above this many bytes are refused with `413`.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// `BODY_LIMIT` as people read it, for documentation and messages.
pub const BODY_LIMIT_TEXT: &str = "1 MiB";

/// Items per page when a list request gives no `limit`.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// The largest `limit` a list request may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;

/// How many of an entity's newest failed runs its statistics show.
pub const RECENT_FAILURES: u32 = 5;

/// Calls of one plain action an instance runs at once unless `ENTITY_SPEC_ACTION_CONCURRENCY`
/// says otherwise; one more is a `429` with `Retry-After`.
pub const DEFAULT_ACTION_CONCURRENCY: usize = 16;
