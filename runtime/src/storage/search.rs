//! The full-text index of an entity's `searchable` fields, which `q=` searches
//! (`entity_spec_contract::search` says what a word is):
//!
//! - **SQLite**: an FTS5 table over the entity's table (external content: it stores the index,
//!   not the text again), kept in step by three triggers, ranked by `bm25()`.
//! - **PostgreSQL**: a stored generated `tsvector` column, [`DOCUMENT_COLUMN`], of the fields
//!   (`simple` configuration, no stemming, punctuation made spaces so words split as on SQLite)
//!   with a GIN index, ranked by `ts_rank_cd`. Stored, because a prefix match rechecks every
//!   candidate row and ranking reads every match: computing the vector from the text each time
//!   made a search matching 5% of 100,000 rows take 2.5 times as long.
//!
//! The entity's table is read through `_rowid_` and the names this module adds start with `_`:
//! field names cannot (they start with a letter), so none can shadow them.
//!
//! Both are named `{table}_fts_{hash of the searchable fields}`, so the migration sees from
//! the name alone whether the index is the one the spec wants, replaces it when the fields
//! change, and drops it when none is searchable any more. This module owns the DDL, the match
//! condition and the relevance score; `list_sql` puts them in a list's statements.

use entity_spec_contract::hash::StableHasher;

use crate::model::def::{EntityDef, FieldDef};
use crate::model::value::{SqlType, SqlValue};
use crate::storage::db::{Backend, Sql, Tx};

/// PostgreSQL's hidden column holding each row's words (field names cannot start with `_`).
pub const DOCUMENT_COLUMN: &str = "_fts";

/// Changes whenever the index's definition below changes (tokenizer, expression), so that
/// existing indexes are rebuilt by the next start.
const INDEX_VERSION: &str = "fts-v1";

/// The index's name: `{table}_fts_{8 hex digits}`, at most PostgreSQL's 63 characters.
pub fn index_name(def: &EntityDef) -> Option<String> {
    let mut fields = def.searchable_fields().peekable();
    fields.peek()?;
    let mut hash = StableHasher::default();
    hash.write(INDEX_VERSION.as_bytes());
    for field in fields {
        hash.write(&[0]);
        hash.write(field.name.as_bytes());
    }
    Some(format!("{}_fts_{:08x}", short_table(def), hash.finish() as u32))
}

/// The table's name as the index's starts with it: at most 50 characters (table names are
/// ASCII), so the whole name fits PostgreSQL's 63.
fn short_table(def: &EntityDef) -> &'static str {
    &def.table[..def.table.len().min(50)]
}

/// The condition "the row matches every term", for a `WHERE`.
pub fn push_match(sql: &mut Sql, def: &EntityDef, terms: &[String]) {
    let Some(name) = index_name(def) else {
        // `q=` is refused for entities without searchable fields before SQL is built.
        sql.push("1 = 0");
        return;
    };
    match sql.backend() {
        Backend::Sqlite => {
            sql.push("_rowid_ IN (SELECT rowid");
            push_fts5_matches(sql, &name, terms);
            sql.push(")");
        }
        Backend::Postgres => {
            sql.push_ident(DOCUMENT_COLUMN).push(" @@ ");
            push_tsquery(sql, terms);
        }
    }
}

/// The relevance of each matching row as a number that sorts the best match first
/// (ascending): `bm25()` on SQLite, minus `ts_rank_cd` on PostgreSQL. On SQLite it is a column of
/// the source [`push_ranked_source`] writes; on PostgreSQL an expression over the row.
pub fn push_score(sql: &mut Sql, terms: &[String]) {
    match sql.backend() {
        Backend::Sqlite => {
            sql.push("\"_matches\".\"_score\"");
        }
        Backend::Postgres => {
            // Cover density (how often and how close together the words occur), normalization 1:
            // divided by 1 + the log of the document's length, as bm25 weighs long documents
            // down. `float8` so the score a cursor carries compares exactly.
            sql.push("(-ts_rank_cd(").push_ident(DOCUMENT_COLUMN).push(", ");
            push_tsquery(sql, terms);
            sql.push(", 1))::float8");
        }
    }
}

/// What a ranked list selects from: on SQLite the table joined with its matches and their
/// scores (`bm25()` is only defined in the full-text query itself), on PostgreSQL the table.
/// Returns whether it already restricted the rows to the matches.
pub fn push_ranked_source(sql: &mut Sql, def: &EntityDef, terms: &[String]) -> bool {
    sql.push_ident(def.table);
    let (Backend::Sqlite, Some(name)) = (sql.backend(), index_name(def)) else { return false };
    sql.push(" JOIN (SELECT rowid AS \"_row\", bm25(").push_ident(&name).push(") AS \"_score\"");
    push_fts5_matches(sql, &name, terms);
    sql.push(") AS \"_matches\" ON ").push_ident(def.table).push("._rowid_ = \"_matches\".\"_row\"");
    true
}

/// On SQLite, `SELECT COUNT(*)` of the matches read from the FTS5 table alone, which holds one
/// entry per row: for a search without filters, it spares looking every match up in the
/// table. `None` elsewhere.
pub fn count_in_index(backend: Backend, def: &EntityDef, terms: &[String]) -> Option<Sql> {
    let (Backend::Sqlite, Some(name)) = (backend, index_name(def)) else { return None };
    let mut sql = Sql::new(backend);
    sql.push("SELECT COUNT(*)");
    push_fts5_matches(&mut sql, &name, terms);
    Some(sql)
}

/// ` FROM {index} WHERE {index} MATCH ?`: the FTS5 table's entries for the rows holding every
/// term. The query quotes each term (terms hold only letters and digits, but quoting makes
/// `AND`, `NEAR` and the like plain words) and takes it as a prefix; terms side by side must
/// all match.
fn push_fts5_matches(sql: &mut Sql, index: &str, terms: &[String]) {
    let query = terms.iter().map(|term| format!("\"{}\"*", term.replace('"', "\"\""))).collect::<Vec<_>>().join(" ");
    sql.push(" FROM ").push_ident(index).push(" WHERE ").push_ident(index).push(" MATCH ");
    sql.push_bind(SqlValue::Text(query));
}

/// `to_tsquery('simple', 'a:* & b:*')`: every term as a prefix. Terms hold only letters and
/// digits (`search_terms`), none of the operators of the tsquery syntax.
fn push_tsquery(sql: &mut Sql, terms: &[String]) {
    let query = terms.iter().map(|term| format!("{term}:*")).collect::<Vec<_>>().join(" & ");
    sql.push("to_tsquery('simple', ").push_bind(SqlValue::Text(query)).push(")");
}

/// How much of a row's searchable text PostgreSQL indexes, in characters. A `tsvector` holds at
/// most 1 MiB, and a text of distinct short words takes up to about 2.5 times its size as one:
/// a row whose text made a larger vector could not be stored at all (an error on every write).
/// 100,000 characters keep every vector under the limit, whatever the words and script.
pub const INDEXED_CHARS: usize = 100_000;

/// The expression of [`DOCUMENT_COLUMN`]: the words of the searchable fields' first
/// [`INDEXED_CHARS`] characters.
fn push_document(sql: &mut Sql, def: &EntityDef) {
    sql.push("to_tsvector('simple'::regconfig, regexp_replace(left(");
    for (i, field) in def.searchable_fields().enumerate() {
        if i > 0 {
            sql.push(" || ' ' || ");
        }
        sql.push("coalesce(").push_ident(field.name).push(", '')");
    }
    sql.push(&format!(", {INDEXED_CHARS}), '[[:punct:]]+', ' ', 'g'))"));
}

/// The statements that bring `def`'s full-text index to the spec, and what they change for the
/// migration's report. `rebuilt`: SQLite is rebuilding the table in this migration, which
/// dropped the triggers with the old table (the rows keep their rowids, so the index stays).
pub async fn plan(tx: &mut Tx, def: &EntityDef, rebuilt: bool) -> Result<(Vec<Sql>, Vec<String>), sqlx::Error> {
    let backend = tx.backend();
    let wanted = index_name(def);
    let prefix = format!("{}_fts_", short_table(def));
    let existing = existing_indexes(tx, def.table, &prefix).await?;
    let (mut statements, mut applied) = (Vec::new(), Vec::new());
    for name in existing.iter().filter(|name| Some(*name) != wanted.as_ref()) {
        statements.extend(drop_index(backend, def, name));
        applied.push(format!("{}: drop full-text index {name}", def.table));
    }
    let Some(name) = wanted else { return Ok((statements, applied)) };
    let fields: Vec<&'static FieldDef> = def.searchable_fields().collect();
    if !existing.contains(&name) {
        statements.extend(create_index(backend, def, &name, &fields));
        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        applied.push(format!("{}: create full-text index {name} over {}", def.table, names.join(", ")));
    } else if backend == Backend::Sqlite && rebuilt {
        statements.extend(triggers(def, &name, &fields));
    }
    Ok((statements, applied))
}

/// The full-text indexes of `table` whose names start with `prefix`: FTS5 tables on SQLite
/// (not their shadow tables, which are plain tables), indexes on PostgreSQL.
async fn existing_indexes(tx: &mut Tx, table: &str, prefix: &str) -> Result<Vec<String>, sqlx::Error> {
    let mut sql = Sql::new(tx.backend());
    match tx.backend() {
        Backend::Sqlite => {
            sql.push("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'");
        }
        Backend::Postgres => {
            sql.push("SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ");
            sql.push_bind(SqlValue::Text(table.to_owned()));
        }
    }
    sql.push(&format!(
        " AND substr({}, 1, {}) = ",
        if tx.backend() == Backend::Sqlite { "name" } else { "indexname" },
        prefix.len()
    ));
    sql.push_bind(SqlValue::Text(prefix.to_owned()));
    let rows = tx.fetch_all(sql, &[SqlType::Text]).await?;
    Ok(rows.into_iter().filter_map(|mut row| row.pop()?.into_text()).collect())
}

fn create_index(backend: Backend, def: &EntityDef, name: &str, fields: &[&'static FieldDef]) -> Vec<Sql> {
    let mut create = Sql::new(backend);
    match backend {
        Backend::Sqlite => {
            // External content: the index reads the text from the table, by rowid. Diacritics
            // are kept, as PostgreSQL's `simple` configuration keeps them.
            create.push("CREATE VIRTUAL TABLE ").push_ident(name).push(" USING fts5(");
            for field in fields {
                create.push_ident(field.name).push(", ");
            }
            create.push("content = '").push(def.table).push("', content_rowid = '_rowid_', ");
            create.push("tokenize = 'unicode61 remove_diacritics 0')");
            let mut fill = Sql::new(backend);
            fill.push("INSERT INTO ").push_ident(name).push(" (").push_ident(name).push(") VALUES ('rebuild')");
            let mut statements = vec![create, fill];
            statements.extend(triggers(def, name, fields));
            statements
        }
        Backend::Postgres => {
            // Filled for every stored row as the column is added (a rewrite of the table, in
            // the migration's transaction).
            create.push("ALTER TABLE ").push_ident(def.table).push(" ADD COLUMN ").push_ident(DOCUMENT_COLUMN);
            create.push(" tsvector GENERATED ALWAYS AS (");
            push_document(&mut create, def);
            create.push(") STORED");
            let mut index = Sql::new(backend);
            index.push("CREATE INDEX ").push_ident(name).push(" ON ").push_ident(def.table);
            // Without GIN's pending list: every write updates the index itself (a few µs more per
            // insert), so a search never scans a list of recent writes that only the next
            // vacuum would merge (3 to 10 ms per query at 100,000 rows written in bulk).
            index.push(" USING GIN (").push_ident(DOCUMENT_COLUMN).push(") WITH (fastupdate = off)");
            vec![create, index]
        }
    }
}

/// SQLite's triggers that keep the FTS5 table in step with the rows: an insert adds the row's
/// words, a delete removes them, an update of a searchable field does both (updates of other
/// fields, such as a sync's status, cost nothing).
fn triggers(def: &EntityDef, name: &str, fields: &[&'static FieldDef]) -> Vec<Sql> {
    let backend = Backend::Sqlite;
    let columns = |sql: &mut Sql, row: &str| {
        for field in fields {
            sql.push(", ").push(row).push(".").push_ident(field.name);
        }
    };
    let insert = |sql: &mut Sql, row: &str| {
        sql.push("INSERT INTO ").push_ident(name).push(" (rowid");
        for field in fields {
            sql.push(", ").push_ident(field.name);
        }
        sql.push(") VALUES (").push(row).push("._rowid_");
        columns(sql, row);
        sql.push("); ");
    };
    let remove = |sql: &mut Sql| {
        sql.push("INSERT INTO ").push_ident(name).push(" (").push_ident(name).push(", rowid");
        for field in fields {
            sql.push(", ").push_ident(field.name);
        }
        sql.push(") VALUES ('delete', old._rowid_");
        columns(sql, "old");
        sql.push("); ");
    };
    let mut statements = Vec::new();
    for (suffix, event) in [("insert", "INSERT"), ("delete", "DELETE"), ("update", "UPDATE OF")] {
        let trigger = format!("{name}_{suffix}");
        let mut drop = Sql::new(backend);
        drop.push("DROP TRIGGER IF EXISTS ").push_ident(&trigger);
        statements.push(drop);
        let mut create = Sql::new(backend);
        create.push("CREATE TRIGGER ").push_ident(&trigger).push(" AFTER ").push(event).push(" ");
        if suffix == "update" {
            for (i, field) in fields.iter().enumerate() {
                create.push(if i > 0 { ", " } else { "" }).push_ident(field.name);
            }
            create.push(" ");
        }
        create.push("ON ").push_ident(def.table).push(" BEGIN ");
        match suffix {
            "insert" => insert(&mut create, "new"),
            "delete" => remove(&mut create),
            _ => {
                remove(&mut create);
                insert(&mut create, "new");
            }
        }
        create.push("END");
        statements.push(create);
    }
    statements
}

/// Drops an index that is not the one the spec wants: on SQLite the FTS5 table and its
/// triggers, on PostgreSQL the document column, which takes its index with it.
fn drop_index(backend: Backend, def: &EntityDef, name: &str) -> Vec<Sql> {
    let mut statements = Vec::new();
    match backend {
        Backend::Sqlite => {
            for suffix in ["insert", "delete", "update"] {
                let mut drop = Sql::new(backend);
                drop.push("DROP TRIGGER IF EXISTS ").push_ident(&format!("{name}_{suffix}"));
                statements.push(drop);
            }
            let mut drop = Sql::new(backend);
            drop.push("DROP TABLE IF EXISTS ").push_ident(name);
            statements.push(drop);
        }
        Backend::Postgres => {
            let mut drop = Sql::new(backend);
            drop.push("ALTER TABLE ").push_ident(def.table).push(" DROP COLUMN IF EXISTS ").push_ident(DOCUMENT_COLUMN);
            statements.push(drop);
        }
    }
    statements
}
