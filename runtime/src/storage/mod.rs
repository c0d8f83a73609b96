//! Layer 2: SQL. The database handle and its statements, how fields are stored in columns,
//! the rows of entities (insert, read, replace, delete, list) and the rows a page embeds, the audit trail written with
//! them, the list SQL, statistics,
//! schema migration, the upkeep of SQLite's write-ahead log and the queue of its writers. Imports only
//! [`crate::model`].

pub mod audit;
pub mod column;
pub mod db;
pub mod embedded;
pub mod entity;
pub mod list_sql;
pub mod migrations;
pub mod schema;
pub mod sealed_columns;
pub mod search;
pub mod secret_keys;
pub mod sqlite_wal;
pub mod stats;
pub mod store;
pub mod write_gate;
