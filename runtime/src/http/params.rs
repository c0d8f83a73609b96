//! Query strings: the list contract's parameters → a checked [`ListQuery`], the filters the
//! statistics endpoint takes, the paging of run histories ([`parse_paging`]) and the audit
//! trail's ([`parse_audit_query`]), all with the same rules.
//!
//! - Filters: `field=value` for every non-JSON, non-sensitive field (an enum filter takes a
//!   comma list: `sync_status=failed,pending`); `field__in=a,b`; `field__gt`, `__gte`,
//!   `__lt`, `__lte` on integer, float, date and datetime fields; `field__isnull=true|false`
//!   on nullable fields.
//! - `sort=field` or `sort=-field` on sortable fields (the primary key, indexed and unique
//!   fields, server timestamps); the primary key always breaks ties, so pages never skip or
//!   repeat rows.
//! - `limit` (default 50, max 500) with either `offset` or an opaque `cursor`.
//! - `count=exact|estimated|none`: how `total` is counted; `format=json|csv` (or
//!   `Accept: text/csv`): a CSV export is the page `limit` asks for, or without it every
//!   match; `expand=a,b` embeds referenced items (lists and reads). Where an entity has a field named `count`,
//!   `format`, `expand` or `q`, the parameter is that field's filter.
//! - `q=words`: full-text search over the `searchable` fields (every word, as a prefix);
//!   without `sort=` the page is ordered by relevance, best first, and cursors follow it.
//!
//! Unknown parameters, repeated parameters and bad values are errors, never ignored.

use chrono::{DateTime, NaiveDate, Utc};
use entity_spec_contract::hash::StableHasher;
use entity_spec_contract::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use entity_spec_contract::lists::{CountMode, ListFormat, takes_option};
use entity_spec_contract::search::{SEARCH_PARAMETER, search_terms};
use entity_spec_contract::text::printable;

use crate::http::problem::{ApiError, closest};
use crate::model::def::{EntityDef, FieldDef, FieldKind};
use crate::model::list_query::{CursorBody, Filter, FilterOp, ListQuery, Paging, Position, Search, Sort};
use crate::model::value::{SqlType, SqlValue};
use crate::storage::audit::AuditQuery;

const RANGE_OPS: &[&str] = &["gt", "gte", "lt", "lte"];
const TEXT_OPS: &[&str] = &["contains", "icontains", "startswith"];
/// The list's parameters that are not filters.
const LIST_OPTIONS: &[&str] = &["limit", "offset", "cursor", "sort", "count", "format", "expand", "q"];

/// Parses a raw query string (without `?`) for a list of `def`; `accepted` is the format the
/// `Accept` header asks for, which `format=` overrides.
pub fn parse_list_query(
    def: &'static EntityDef,
    raw: Option<&str>,
    accepted: ListFormat,
) -> Result<ListQuery, ApiError> {
    let mut seen: Vec<String> = Vec::new();
    let mut filters = Vec::new();
    let mut sort = Sort { field: def.primary_key(), descending: false };
    let mut limit = DEFAULT_PAGE_SIZE;
    let mut offset: Option<u64> = None;
    let mut cursor: Option<String> = None;
    let mut count = CountMode::Exact;
    let mut format = accepted;
    let mut expand = Vec::new();
    let mut terms = None;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        first_use(&mut seen, &key)?;
        match key.as_ref() {
            "limit" => limit = parse_limit(&value)?,
            SEARCH_PARAMETER if is_list_option(def, SEARCH_PARAMETER) => terms = parse_search(def, &value)?,
            "offset" => offset = Some(parse_offset(&value)?),
            // `cursor=` is the first page: what a client sends before it has a next_cursor.
            "cursor" if value.is_empty() => {}
            "cursor" => cursor = Some(value.into_owned()),
            "sort" => sort = parse_sort(def, &value)?,
            "count" if is_list_option(def, "count") => {
                count = parse_option(&key, &value, CountMode::parse, CountMode::NAMES)?
            }
            "expand" if is_list_option(def, "expand") => expand = parse_expand(def, &value)?,
            "format" if is_list_option(def, "format") => {
                format = parse_option(&key, &value, ListFormat::parse, ListFormat::NAMES)?
            }
            _ => filters.push(parse_filter(def, &key, &value)?),
        }
    }
    if offset.is_some_and(|offset| offset > 0) && cursor.is_some() {
        return Err(ApiError::invalid_parameter(
            "cursor",
            "conflict",
            "use either `offset` or `cursor`, not both".to_owned(),
        ));
    }
    // A CSV export without `limit` is every match from where `offset` or `cursor` start.
    let unpaged = format == ListFormat::Csv && !seen.iter().any(|k| k == "limit");
    let fingerprint = fingerprint(def, raw.unwrap_or(""));
    // An explicit sort wins; a search without one is ordered by relevance.
    let search = terms.map(|terms| Search { terms, ranked: !seen.iter().any(|k| k == "sort") });
    let ranked = search.as_ref().is_some_and(|search| search.ranked);
    let after = cursor.map(|c| decode_cursor(&c, &fingerprint, sort.field, ranked)).transpose()?;
    Ok(ListQuery {
        filters,
        sort,
        limit,
        offset: offset.unwrap_or(0),
        after,
        fingerprint,
        count,
        format,
        expand,
        unpaged,
        search,
    })
}

/// `q=words`: the search's words (`None` for a blank search), for an entity with searchable
/// fields; elsewhere `q` is an unknown parameter.
fn parse_search(def: &'static EntityDef, value: &str) -> Result<Option<Vec<String>>, ApiError> {
    if def.searchable_fields().next().is_none() {
        return Err(unknown_parameter(def, SEARCH_PARAMETER));
    }
    search_terms(value).map_err(|error| ApiError::invalid_parameter(SEARCH_PARAMETER, "invalid", error.message()))
}

/// Parses the query string of a read (`GET {path}/{id}`): `expand` only.
pub fn parse_read_query(def: &'static EntityDef, raw: Option<&str>) -> Result<Vec<&'static FieldDef>, ApiError> {
    let mut seen: Vec<String> = Vec::new();
    let mut expand = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        first_use(&mut seen, &key)?;
        match key.as_ref() {
            "expand" if is_list_option(def, "expand") => expand = parse_expand(def, &value)?,
            other => {
                let valid = if is_list_option(def, "expand") { "expand" } else { "none" };
                return Err(ApiError::invalid_parameter(
                    &printable(other),
                    "unknown_parameter",
                    format!("unknown query parameter; valid: {valid}"),
                ));
            }
        }
    }
    Ok(expand)
}

/// `expand=a,b`: the expansion names of reference fields of `def`, each once.
fn parse_expand(def: &'static EntityDef, value: &str) -> Result<Vec<&'static FieldDef>, ApiError> {
    let references: Vec<(&'static FieldDef, &'static str)> =
        def.fields.iter().filter_map(|f| Some((f, f.references.as_ref()?.expand_as))).collect();
    let mut expand: Vec<&'static FieldDef> = Vec::new();
    for name in value.split(',').filter(|name| !name.is_empty()) {
        let Some((field, _)) = references.iter().find(|(_, expand_as)| *expand_as == name) else {
            let names: Vec<&str> = references.iter().map(|(_, expand_as)| *expand_as).collect();
            let valid = if names.is_empty() {
                format!("{} refers to no other entity, so nothing expands", def.name)
            } else {
                let hint = closest(name, names.iter().copied()).map(|c| format!("; did you mean `{c}`?"));
                format!("can expand: {}{}", names.join(", "), hint.unwrap_or_default())
            };
            return Err(ApiError::invalid_parameter(
                "expand",
                "invalid",
                format!("`{}` is not a reference of {}; {valid}", printable(name), def.name),
            ));
        };
        if expand.iter().any(|f| f.name == field.name) {
            return Err(ApiError::invalid_parameter("expand", "repeated", format!("names `{name}` twice")));
        }
        expand.push(field);
    }
    Ok(expand)
}

/// Whether `name` (`count`, `format`, `expand`) is a list option of `def`: it is not, where a field has
/// that name, which the parameter then filters.
pub fn is_list_option(def: &EntityDef, name: &str) -> bool {
    takes_option(name, def.fields.iter().map(|f| f.name))
}

/// One of a wire enum's `names`.
fn parse_option<T>(key: &str, value: &str, parse: fn(&str) -> Option<T>, names: &[&str]) -> Result<T, ApiError> {
    parse(value)
        .ok_or_else(|| ApiError::invalid_parameter(key, "invalid", format!("must be one of: {}", names.join(", "))))
}

/// Parses a query string that may carry only what selects items (the aggregate endpoint): the
/// list's filters and its full-text search `q`, with paging and sorting refused by name rather
/// than ignored.
pub fn parse_stats_query(
    def: &'static EntityDef,
    raw: Option<&str>,
) -> Result<(Option<Search>, Vec<Filter>), ApiError> {
    let mut seen: Vec<String> = Vec::new();
    let mut filters = Vec::new();
    let mut terms = None;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        first_use(&mut seen, &key)?;
        if matches!(key.as_ref(), "limit" | "offset" | "cursor" | "sort") {
            return Err(ApiError::invalid_parameter(
                &key,
                "unknown_parameter",
                format!(
                    "not accepted here: statistics count every matching item. Valid parameters: {}",
                    filter_help(def)
                ),
            ));
        }
        if key == SEARCH_PARAMETER && is_list_option(def, SEARCH_PARAMETER) {
            terms = parse_search(def, &value)?;
            continue;
        }
        filters.push(parse_filter(def, &key, &value).map_err(|mut error| {
            if error.errors.first().is_some_and(|v| v.code == "unknown_parameter") {
                error = unknown_parameter_of(def, &key, false);
            }
            error
        })?);
    }
    // Counting has no order: a search only selects.
    Ok((terms.map(|terms| Search { terms, ranked: false }), filters))
}

/// Parses the query string of a list that only pages (a run history): `limit` and `offset`
/// with the list's defaults, bounds and rules (no repeats, nothing unknown).
pub fn parse_paging(raw: Option<&str>) -> Result<Paging, ApiError> {
    let mut seen: Vec<String> = Vec::new();
    let mut page = Paging { limit: DEFAULT_PAGE_SIZE, offset: 0 };
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        first_use(&mut seen, &key)?;
        match key.as_ref() {
            "limit" => page.limit = parse_limit(&value)?,
            "offset" => page.offset = parse_offset(&value)?,
            other => {
                return Err(ApiError::invalid_parameter(
                    &printable(other),
                    "unknown_parameter",
                    "unknown query parameter; valid: limit, offset".to_owned(),
                ));
            }
        }
    }
    Ok(page)
}

/// Parses the audit trail's query string: `entity` (one of `entities`), `entity_id`, `limit`
/// and `cursor` (the `next_cursor` of the previous page).
pub fn parse_audit_query(raw: Option<&str>, entities: &[&str]) -> Result<AuditQuery, ApiError> {
    let mut seen: Vec<String> = Vec::new();
    let mut query = AuditQuery { limit: u64::from(DEFAULT_PAGE_SIZE), ..AuditQuery::default() };
    let uuid = |key: &str, value: &str| {
        uuid::Uuid::parse_str(value)
            .map_err(|_| ApiError::invalid_parameter(key, "invalid", "must be a UUID".to_owned()))
    };
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        first_use(&mut seen, &key)?;
        match key.as_ref() {
            "entity" if entities.contains(&value.as_ref()) => query.entity = Some(value.into_owned()),
            "entity" => {
                let hint = closest(&value, entities.iter().copied()).map(|c| format!("; did you mean `{c}`?"));
                return Err(ApiError::invalid_parameter(
                    "entity",
                    "invalid",
                    format!("must be one of: {}{}", entities.join(", "), hint.unwrap_or_default()),
                ));
            }
            "entity_id" => query.entity_id = Some(uuid("entity_id", &value)?),
            "cursor" if value.is_empty() => {}
            "cursor" => query.before = Some(uuid("cursor", &value)?),
            "limit" => query.limit = u64::from(parse_limit(&value)?),
            other => {
                return Err(ApiError::invalid_parameter(
                    &printable(other),
                    "unknown_parameter",
                    "unknown query parameter; valid: entity, entity_id, limit, cursor".to_owned(),
                ));
            }
        }
    }
    Ok(query)
}

/// `limit`: 1 to [`MAX_PAGE_SIZE`].
fn parse_limit(value: &str) -> Result<u32, ApiError> {
    value.parse::<u32>().ok().filter(|l| (1..=MAX_PAGE_SIZE).contains(l)).ok_or_else(|| {
        ApiError::invalid_parameter("limit", "invalid", format!("must be an integer from 1 to {MAX_PAGE_SIZE}"))
    })
}

/// `offset`: 0 to `i64::MAX`: what both databases take as an `OFFSET` (and what the document says).
fn parse_offset(value: &str) -> Result<u64, ApiError> {
    value.parse::<i64>().ok().and_then(|n| u64::try_from(n).ok()).ok_or_else(|| {
        ApiError::invalid_parameter("offset", "invalid", format!("must be an integer from 0 to {}", i64::MAX))
    })
}

/// A parameter given twice is an error, never "last one wins".
fn first_use(seen: &mut Vec<String>, key: &str) -> Result<(), ApiError> {
    if seen.iter().any(|k| k == key) {
        return Err(ApiError::invalid_parameter(key, "repeated", "is given more than once".to_owned()));
    }
    seen.push(key.to_owned());
    Ok(())
}

fn parse_sort(def: &'static EntityDef, value: &str) -> Result<Sort, ApiError> {
    let (descending, name) = match value.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, value),
    };
    let sortable = def.sortable_fields();
    match sortable.iter().find(|f| f.name == name) {
        Some(field) => Ok(Sort { field, descending }),
        None => {
            let valid = sortable.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
            Err(ApiError::invalid_parameter(
                "sort",
                "invalid",
                format!("cannot sort by `{}`; sortable fields: {valid} (prefix `-` for descending)", printable(name)),
            ))
        }
    }
}

fn parse_filter(def: &'static EntityDef, key: &str, value: &str) -> Result<Filter, ApiError> {
    let (name, op) = match key.split_once("__") {
        Some((name, op)) => (name, Some(op)),
        None => (key, None),
    };
    let Some(field) = def.filterable_fields().find(|f| f.name == name) else {
        return Err(unknown_parameter(def, key));
    };
    let op = match op {
        None => match field.kind {
            // The natural way to ask for several statuses.
            FieldKind::Enum(_) if value.contains(',') => FilterOp::In(parse_list(field, key, value)?),
            _ => FilterOp::Eq(parse_value(field, key, value)?),
        },
        Some("in") => FilterOp::In(parse_list(field, key, value)?),
        Some("isnull") if field.nullable => FilterOp::IsNull(match value {
            "true" => true,
            "false" => false,
            _ => return Err(ApiError::invalid_parameter(key, "invalid", "must be `true` or `false`".to_owned())),
        }),
        Some(op) if TEXT_OPS.contains(&op) && def.facts(field).text_searchable() => {
            refuse_nul(key, value)?;
            let text = value.to_owned();
            match op {
                "contains" => FilterOp::Contains(text),
                "icontains" => FilterOp::IContains(text),
                _ => FilterOp::StartsWith(text),
            }
        }
        Some(op) if RANGE_OPS.contains(&op) && def.facts(field).range_filterable() => {
            let value = parse_value(field, key, value)?;
            match op {
                "gt" => FilterOp::Gt(value),
                "gte" => FilterOp::Gte(value),
                "lt" => FilterOp::Lt(value),
                _ => FilterOp::Lte(value),
            }
        }
        Some(_) => return Err(unknown_parameter(def, key)),
    };
    Ok(Filter { field, op })
}

/// Every parameter `def`'s list accepts, for error messages and documentation.
pub fn valid_parameters(def: &EntityDef) -> Vec<String> {
    let mut names: Vec<String> = ["limit", "offset", "cursor", "sort"].map(String::from).to_vec();
    names.extend(["count", "format"].into_iter().filter(|option| is_list_option(def, option)).map(String::from));
    if def.fields.iter().any(|f| f.references.is_some()) && is_list_option(def, "expand") {
        names.push("expand".to_owned());
    }
    if def.searchable_fields().next().is_some() && is_list_option(def, SEARCH_PARAMETER) {
        names.push(SEARCH_PARAMETER.to_owned());
    }
    for field in def.filterable_fields() {
        names.push(field.name.to_owned());
        names.push(format!("{}__in", field.name));
        if def.facts(field).range_filterable() {
            names.extend(RANGE_OPS.iter().map(|op| format!("{}__{op}", field.name)));
        }
        if def.facts(field).text_searchable() {
            names.extend(TEXT_OPS.iter().map(|op| format!("{}__{op}", field.name)));
        }
        if field.nullable {
            names.push(format!("{}__isnull", field.name));
        }
    }
    names
}

fn unknown_parameter(def: &EntityDef, key: &str) -> ApiError {
    unknown_parameter_of(def, key, true)
}

/// An unknown parameter, with the closest valid one and the list of valid ones (paging and
/// sorting only where the endpoint takes them).
fn unknown_parameter_of(def: &EntityDef, key: &str, paging: bool) -> ApiError {
    let valid = valid_parameters(def);
    let candidates = valid.iter().map(String::as_str).filter(|p| paging || !LIST_OPTIONS.contains(p));
    let hint = closest(key, candidates).map(|c| format!(" Did you mean `{c}`?")).unwrap_or_default();
    let paging = if paging {
        let options: Vec<&str> = LIST_OPTIONS.iter().copied().filter(|p| valid.iter().any(|v| v == p)).collect();
        format!("{}, and ", options.join(", "))
    } else {
        String::new()
    };
    ApiError::invalid_parameter(
        &printable(key),
        "unknown_parameter",
        format!("unknown query parameter.{hint} Valid parameters: {paging}{}", filter_help(def)),
    )
}

fn filter_help(def: &EntityDef) -> String {
    let filters = def.filterable_fields().map(|f| f.name).collect::<Vec<_>>().join(", ");
    format!(
        "filters on {filters} (with suffixes __in; __gt, __gte, __lt, __lte on numbers and dates; __contains, __icontains, __startswith on text; __isnull on optional fields)"
    )
}

fn parse_list(field: &FieldDef, key: &str, value: &str) -> Result<Vec<SqlValue>, ApiError> {
    value.split(',').map(|item| parse_value(field, key, item)).collect()
}

/// PostgreSQL text cannot hold U+0000; it is refused on both backends alike.
fn refuse_nul(key: &str, value: &str) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(ApiError::invalid_parameter(
            key,
            "invalid",
            "must not contain the NUL character (U+0000)".to_owned(),
        ));
    }
    Ok(())
}

/// Parses one filter value as the field's type.
fn parse_value(field: &FieldDef, key: &str, value: &str) -> Result<SqlValue, ApiError> {
    let bad = |expected: String| {
        ApiError::invalid_parameter(key, "invalid", format!("`{}` is not {expected}", printable(value)))
    };
    refuse_nul(key, value)?;
    Ok(match field.kind {
        FieldKind::String | FieldKind::Text => SqlValue::Text(value.to_owned()),
        FieldKind::Enum(values) => {
            if !values.contains(&value) {
                return Err(bad(format!("one of: {}", values.join(", "))));
            }
            SqlValue::Text(value.to_owned())
        }
        FieldKind::Integer => SqlValue::Int(value.parse().map_err(|_| bad("an integer".to_owned()))?),
        FieldKind::Float => SqlValue::Float(
            value.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or_else(|| bad("a number".to_owned()))?,
        ),
        FieldKind::Boolean => match value {
            "true" => SqlValue::Bool(true),
            "false" => SqlValue::Bool(false),
            _ => return Err(bad("`true` or `false`".to_owned())),
        },
        FieldKind::Uuid => SqlValue::Uuid(uuid::Uuid::parse_str(value).map_err(|_| bad("a UUID".to_owned()))?),
        FieldKind::Date => {
            SqlValue::Date(value.parse::<NaiveDate>().map_err(|_| bad("a date (YYYY-MM-DD)".to_owned()))?)
        }
        FieldKind::DateTime => SqlValue::DateTime(
            DateTime::parse_from_rfc3339(value)
                .map_err(|_| {
                    // `+` in a query string decodes to a space: the most common way to get here.
                    bad("an RFC 3339 date-time (e.g. 2026-01-31T12:00:00Z; encode `+` as %2B)".to_owned())
                })?
                .with_timezone(&Utc),
        ),
        FieldKind::Json => return Err(bad("filterable".to_owned())),
    })
}

/// A stable fingerprint of everything but the pagination parameters (the contract's stable
/// hash: the same across Rust versions and processes, unlike `DefaultHasher`).
fn fingerprint(def: &EntityDef, raw: &str) -> String {
    // How the matches are counted and sent does not change which rows come next.
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .filter(|(k, _)| !matches!(k.as_ref(), "limit" | "offset" | "cursor"))
        .filter(|(k, _)| !(matches!(k.as_ref(), "count" | "format" | "expand") && is_list_option(def, k)))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    let mut hash = StableHasher::default();
    for (k, v) in &pairs {
        for part in [k.as_bytes(), &[0], v.as_bytes(), &[0]] {
            hash.write(part);
        }
    }
    hash.finish_hex()
}

/// The position a cursor holds: a value of the sort field, or a relevance score where the list
/// is `ranked` by a search.
fn decode_cursor(cursor: &str, fingerprint: &str, sort_field: &FieldDef, ranked: bool) -> Result<Position, ApiError> {
    let invalid = || ApiError::invalid_parameter("cursor", "invalid", "is not a cursor issued by this list".to_owned());
    let body = CursorBody::decode(cursor).ok_or_else(invalid)?;
    if body.q != fingerprint {
        return Err(ApiError::invalid_parameter(
            "cursor",
            "mismatch",
            "was issued for different filters or sort; keep them unchanged while paging, or start over without `cursor`".to_owned(),
        ));
    }
    // The position must have the sort field's type, as this module wrote it: a tampered one
    // (a boolean for a timestamp, say) would otherwise reach the database as a comparison
    // between types, an error on PostgreSQL and a silently empty page on SQLite.
    let value = match (&body.v, sort_field.kind) {
        (serde_json::Value::Number(score), _) if ranked => SqlValue::Float(score.as_f64().ok_or_else(invalid)?),
        _ if ranked => return Err(invalid()),
        (serde_json::Value::Null, kind) => SqlValue::Null(SqlType::of(kind)),
        (serde_json::Value::Bool(b), FieldKind::Boolean) => SqlValue::Bool(*b),
        (serde_json::Value::Number(n), FieldKind::Integer) => SqlValue::Int(n.as_i64().ok_or_else(invalid)?),
        (serde_json::Value::Number(n), FieldKind::Float) => SqlValue::Float(n.as_f64().ok_or_else(invalid)?),
        (
            serde_json::Value::String(s),
            FieldKind::Uuid
            | FieldKind::String
            | FieldKind::Text
            | FieldKind::Enum(_)
            | FieldKind::DateTime
            | FieldKind::Date,
        ) => parse_value(sort_field, "cursor", s).map_err(|_| invalid())?,
        _ => return Err(invalid()),
    };
    Ok(Position { value, id: body.id })
}

/// Path parameters (`{id}`, `{run_id}`) as text. A segment that does not percent-decode to
/// UTF-8 names nothing that could exist, so it is a 404 like an unknown id, as problem+json,
/// where axum's own `Path` answers a plain-text 400 the OpenAPI document does not declare.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathParams(value)),
            Err(_) => Err(ApiError::no_route(parts.uri.path())),
        }
    }
}
