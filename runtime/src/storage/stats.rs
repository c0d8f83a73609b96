//! The counts behind the aggregate endpoint, `GET {path}/stats`: how many items match the list
//! filters (and search) and how they split over each enum and boolean field. Counted with
//! `GROUP BY` in the database, never by fetching rows. (What the entity's runs are doing comes
//! from `runs::history`; the endpoint puts both together.)

use std::collections::BTreeMap;

use crate::model::def::{EntityDef, FieldDef, FieldKind};
use crate::model::list_query::{Filter, Search};
use crate::model::value::{SqlType, SqlValue};
use crate::storage::db::{Db, Sql};
use crate::storage::list_sql::push_filters;
use crate::storage::store::count;

/// The key under which items without a value are counted.
const NULL_KEY: &str = "null";

/// How the items that pass a set of filters split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Items matching the filters.
    pub total: i64,
    /// Per grouped field, the count of matching items per value: every enum value (and
    /// `true`/`false` for booleans) is present, zero included, and `null` for optional fields.
    pub counts: BTreeMap<&'static str, BTreeMap<String, i64>>,
}

/// Counts the items of `def` that pass `filters` (and match `search`), in all and per value of
/// each grouped field.
pub async fn counts(
    db: &Db,
    def: &'static EntityDef,
    search: Option<&Search>,
    filters: &[Filter],
) -> Result<Counts, sqlx::Error> {
    let mut counts = BTreeMap::new();
    let mut total = None;
    for field in def.grouped_fields() {
        let mut sql = Sql::new(db.backend());
        sql.push("SELECT ").push_ident(field.name).push(", COUNT(*) FROM ").push_ident(def.table);
        push_filters(&mut sql, def, search, filters);
        sql.push(" GROUP BY ").push_ident(field.name);
        let rows = db.fetch_all(sql, &[SqlType::of(field.kind), SqlType::Int]).await?;
        let by_value = count_by_value(field, rows);
        // Every item falls in exactly one group, so the first split also gives the total.
        total.get_or_insert_with(|| by_value.values().sum());
        counts.insert(field.name, by_value);
    }
    let total = match total {
        Some(total) => total,
        None => count(db, def, search, filters).await?,
    };
    Ok(Counts { total, counts })
}

/// Grouped rows as a map with every possible value present, so clients see a stable shape.
fn count_by_value(field: &FieldDef, rows: Vec<Vec<SqlValue>>) -> BTreeMap<String, i64> {
    let mut by_value: BTreeMap<String, i64> = match field.kind {
        FieldKind::Enum(values) => values.iter().map(|v| ((*v).to_owned(), 0)).collect(),
        _ => [("true".to_owned(), 0), ("false".to_owned(), 0)].into(),
    };
    if field.nullable {
        by_value.insert(NULL_KEY.to_owned(), 0);
    }
    for row in rows {
        let mut values = row.into_iter();
        let key = match values.next() {
            Some(SqlValue::Text(value)) => value,
            Some(SqlValue::Bool(value)) => value.to_string(),
            _ => NULL_KEY.to_owned(),
        };
        if let Some(SqlValue::Int(n)) = values.next() {
            *by_value.entry(key).or_insert(0) += n;
        }
    }
    by_value
}
