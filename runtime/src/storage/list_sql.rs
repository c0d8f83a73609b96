//! The SQL of a list, built from a checked [`ListQuery`]: the full-text search and the filters
//! as a `WHERE`, the keyset position of a cursor, the sort order (or the search's relevance)
//! with the primary key as tie-break, and the page size; and the `COUNT(*)` of the rows that
//! pass the filters, or the plan that estimates it. The store runs them.

use crate::model::def::EntityDef;
use crate::model::list_query::{Filter, FilterOp, ListQuery, Position, Search};
use crate::model::value::SqlValue;
use crate::storage::db::{Backend, Sql};
use crate::storage::embedded::{self, Embed};
use crate::storage::schema::push_entity_columns;
use crate::storage::search;

/// The column a ranked list's page selects after the entity's, with each row's relevance score.
pub const SCORE_COLUMN: &str = "_fts_score";

/// One page of `query`: every entity column of the matching rows after the cursor's
/// position, in the sort order, and one row more than the page, which tells whether a next
/// page exists without a second query. A list ranked by a search selects each row's score
/// after the entity's columns ([`SCORE_COLUMN`]).
pub fn select_page(backend: Backend, def: &EntityDef, query: &ListQuery) -> Sql {
    let mut sql = Sql::new(backend);
    sql.push("SELECT ");
    push_entity_columns(&mut sql, def);
    let ranked = query.ranked_search();
    if let Some(search) = ranked {
        sql.push(", ");
        search::push_score(&mut sql, &search.terms);
        sql.push(" AS ").push_ident(SCORE_COLUMN);
    }
    sql.push(" FROM ");
    // On SQLite the ranked source already holds only the matches.
    let searched = match ranked {
        Some(search) => search::push_ranked_source(&mut sql, def, &search.terms),
        None => {
            sql.push_ident(def.table);
            false
        }
    };
    let search = if searched { None } else { query.search.as_ref() };
    let filtered = push_filters(&mut sql, def, search, &query.filters);
    if let Some(after) = &query.after {
        sql.push(if filtered { " AND " } else { " WHERE " });
        push_after(&mut sql, def, query, after);
    }
    push_order(&mut sql, def, query);
    sql.push_limit(u64::from(query.limit) + 1, query.offset);
    sql
}

/// `SELECT COUNT(*)` of the rows of `def` that match `search` and pass `filters`.
pub fn count_matching(backend: Backend, def: &EntityDef, search: Option<&Search>, filters: &[Filter]) -> Sql {
    if let (Some(search), true) = (search, filters.is_empty())
        && let Some(sql) = search::count_in_index(backend, def, &search.terms)
    {
        return sql;
    }
    let mut sql = Sql::new(backend);
    sql.push("SELECT COUNT(*) FROM ").push_ident(def.table);
    push_filters(&mut sql, def, search, filters);
    sql
}

/// PostgreSQL's plan, as JSON, for reading the rows of `def` that match `search` and pass
/// `filters`: its first node's `Plan Rows` is the planner's estimate of how many there are.
pub fn explain_matching(def: &EntityDef, search: Option<&Search>, filters: &[Filter]) -> Sql {
    let mut sql = Sql::new(Backend::Postgres);
    sql.push("EXPLAIN (FORMAT JSON) SELECT 1 FROM ").push_ident(def.table);
    push_filters(&mut sql, def, search, filters);
    sql
}

/// ` WHERE` and the search's match and every filter condition, joined by `AND`; nothing
/// without either. Returns whether it wrote a `WHERE`.
pub fn push_filters(sql: &mut Sql, def: &EntityDef, search: Option<&Search>, filters: &[Filter]) -> bool {
    if let Some(search) = search {
        sql.push(" WHERE ");
        search::push_match(sql, def, &search.terms);
    }
    for (i, filter) in filters.iter().enumerate() {
        sql.push(if i == 0 && search.is_none() { " WHERE " } else { " AND " });
        let column = filter.field.name;
        let compare = |sql: &mut Sql, op: &str, value: &SqlValue| {
            sql.push_ident(column).push(op).push_bind(value.clone());
        };
        match &filter.op {
            FilterOp::Eq(value) => compare(sql, " = ", value),
            FilterOp::Gt(value) => compare(sql, " > ", value),
            FilterOp::Gte(value) => compare(sql, " >= ", value),
            FilterOp::Lt(value) => compare(sql, " < ", value),
            FilterOp::Lte(value) => compare(sql, " <= ", value),
            FilterOp::IsNull(true) => {
                sql.push_ident(column).push(" IS NULL");
            }
            FilterOp::IsNull(false) => {
                sql.push_ident(column).push(" IS NOT NULL");
            }
            // Substring and prefix tests by position, not `LIKE`, where case must count:
            // SQLite's `LIKE` ignores ASCII case. `LIKE` where it must not, with its wildcards
            // escaped so that `%`, `_` and `\` in the text are themselves.
            FilterOp::Contains(text) => position_of(sql, column, text, " > 0"),
            FilterOp::StartsWith(text) => position_of(sql, column, text, " = 1"),
            FilterOp::IContains(text) => {
                let like = if sql.backend() == Backend::Postgres { " ILIKE " } else { " LIKE " };
                let pattern = format!("%{}%", escape_like(text));
                sql.push_ident(column).push(like).push_bind(SqlValue::Text(pattern)).push(" ESCAPE '\\'");
            }
            FilterOp::In(values) => {
                sql.push_ident(column).push(" IN (").push_binds(values.iter().cloned()).push(")");
            }
        }
    }
    search.is_some() || !filters.is_empty()
}

/// `position(column, text)` then `test`: where `text` first occurs in the column (1-based, 0
/// when absent), case-sensitively on both backends.
fn position_of(sql: &mut Sql, column: &str, text: &str, test: &str) {
    sql.push(if sql.backend() == Backend::Postgres { "strpos(" } else { "instr(" });
    sql.push_ident(column).push(", ").push_bind(SqlValue::Text(text.to_owned())).push(")").push(test);
}

/// `text` as a `LIKE` pattern matching itself: `\`, `%` and `_` escaped with `\`.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The keyset condition "comes after `after` in the sort order". Rows are ordered by the sort
/// field (NULLs last ascending, first descending, the same on both backends), then the key.
fn push_after(sql: &mut Sql, def: &EntityDef, query: &ListQuery, after: &Position) {
    let key = def.primary_key().name;
    if let Some(search) = query.ranked_search() {
        // Best first is ascending score; the score is never NULL.
        sql.push("(");
        search::push_score(sql, &search.terms);
        sql.push(", ").push_ident(key).push(") > (").push_bind(after.value.clone()).push(", ");
        sql.push_bind(SqlValue::Uuid(after.id)).push(")");
        return;
    }
    let column = query.sort.field.name;
    let (greater, id) = (if query.sort.descending { " < " } else { " > " }, SqlValue::Uuid(after.id));
    if column == key {
        sql.push_ident(key).push(greater).push_bind(id);
        return;
    }
    let row_compare = |sql: &mut Sql| {
        sql.push("(").push_ident(column).push(", ").push_ident(key).push(")").push(greater);
        sql.push("(").push_bind(after.value.clone()).push(", ").push_bind(id.clone()).push(")");
    };
    match (&after.value, query.sort.descending) {
        // Within the NULL group only the key orders rows.
        (SqlValue::Null(_), false) => {
            sql.push("(")
                .push_ident(column)
                .push(" IS NULL AND ")
                .push_ident(key)
                .push(greater)
                .push_bind(id.clone())
                .push(")");
        }
        (SqlValue::Null(_), true) => {
            sql.push("((").push_ident(column).push(" IS NULL AND ").push_ident(key).push(greater).push_bind(id.clone());
            sql.push(") OR ").push_ident(column).push(" IS NOT NULL)");
        }
        // Ascending, NULLs come after every value.
        (_, false) if query.sort.field.nullable => {
            sql.push("(");
            row_compare(sql);
            sql.push(" OR ").push_ident(column).push(" IS NULL)");
        }
        _ => row_compare(sql),
    }
}

fn push_order(sql: &mut Sql, def: &EntityDef, query: &ListQuery) {
    sql.push(" ORDER BY ");
    for (i, (column, _, direction)) in order(def, query).into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_ident(column).push(direction);
    }
}

/// A page's order, most significant first: each column's name, its 1-based position among the
/// page's columns (the fields, `_version`, then a ranked list's score), and its direction. The
/// key comes last, so the order is total.
fn order(def: &EntityDef, query: &ListQuery) -> Vec<(&'static str, usize, &'static str)> {
    let key = def.primary_key().name;
    let position = |name: &str| def.position(name).unwrap_or(0) + 1;
    if query.ranked_search().is_some() {
        return vec![(SCORE_COLUMN, def.fields.len() + 2, " ASC"), (key, position(key), " ASC")];
    }
    let (sort, descending) = (query.sort.field, query.sort.descending);
    let direction = if descending { " DESC" } else { " ASC" };
    let mut order = Vec::with_capacity(2);
    if sort.name != key {
        let nulls = match (sort.nullable, descending) {
            (false, _) => direction,
            (true, false) => " ASC NULLS LAST",
            (true, true) => " DESC NULLS FIRST",
        };
        order.push((sort.name, position(sort.name), nulls));
    }
    order.push((key, position(key), direction));
    order
}

/// [`select_page`] with the rows `embeds` name joined to each of its rows, their columns after
/// the page's own ([`first_embedded_column`]): see [`embedded::join_embeds`].
pub fn select_page_embedding(backend: Backend, def: &EntityDef, query: &ListQuery, embeds: &[Embed<'_>]) -> Sql {
    let order: Vec<(usize, &str)> = order(def, query).into_iter().map(|(_, position, dir)| (position, dir)).collect();
    embedded::join_embeds(select_page(backend, def, query), embeds, &order)
}

/// Where the embedded rows' columns start in a page of [`select_page_embedding`]: after the
/// fields, `_version` and a ranked list's score.
pub fn first_embedded_column(def: &EntityDef, query: &ListQuery) -> usize {
    def.fields.len() + 1 + usize::from(query.ranked_search().is_some())
}
