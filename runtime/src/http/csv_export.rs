//! A list as CSV (`Accept: text/csv` or `format=csv`): the items matching the filters, in the
//! sort order: the page `limit` asks for, or without it every match. The rows are read in
//! keyset pages of [`EXPORT_PAGE_SIZE`] and each page is written and sent before the next is
//! read, so an export of any size holds one page in memory. Columns are the entity's fields in
//! spec order, sensitive ones left out, then the expanded references as JSON.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use entity_spec_contract::lists::{CountMode, ListFormat};
use serde_json::Value;

use crate::http::expansions::{embeds, expanded_page};
use crate::http::guard::Caller;
use crate::http::problem::ApiError;
use crate::model::list_query::ListQuery;
use crate::model::redact::redact;
use crate::storage::db::Db;
use crate::storage::entity::Entity;
use crate::storage::store;

/// Rows read per query while exporting.
pub const EXPORT_PAGE_SIZE: u32 = 1000;

/// The format the `Accept` header prefers for a list: CSV where it ranks `text/csv` above
/// `application/json` (by quality, then specificity), JSON otherwise: also without an
/// `Accept`, with `*/*`, or with neither type.
pub fn accepted_list_format(headers: &HeaderMap) -> ListFormat {
    let (mut json, mut csv) = (Rank::NONE, Rank::NONE);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            json = json.best(Rank::of(&media, "application", "json", quality));
            csv = csv.best(Rank::of(&media, "text", "csv", quality));
        }
    }
    if csv.quality > 0.0 && csv.quality > json.quality { ListFormat::Csv } else { ListFormat::Json }
}

/// How well one media range of an `Accept` header matches a type: its quality, from the most
/// specific range that matches (RFC 9110 §12.5.1).
#[derive(Clone, Copy)]
struct Rank {
    specificity: u8,
    quality: f32,
}

impl Rank {
    const NONE: Rank = Rank { specificity: 0, quality: 0.0 };

    fn of(range: &str, kind: &str, subtype: &str, quality: f32) -> Rank {
        let specificity = match range.split_once('/') {
            Some((k, s)) if k == kind && s == subtype => 3,
            Some((k, "*")) if k == kind => 2,
            Some(("*", "*")) => 1,
            _ => 0,
        };
        if specificity == 0 { Rank::NONE } else { Rank { specificity, quality } }
    }

    fn best(self, other: Rank) -> Rank {
        if other.specificity > self.specificity { other } else { self }
    }
}

/// The `200` of a CSV export of `query`, streamed: the page its `limit` asks for, or without
/// one every match from where its `offset` or `cursor` start, read in pages of
/// [`EXPORT_PAGE_SIZE`]. Expanded references are columns of compact JSON after the fields. The
/// scopes expanding needs are checked before the first byte; a database error after it cannot
/// change the status any more: the body stops short (the connection is closed without the
/// final chunk, which clients report as an error) and the error is logged.
pub async fn export<E: Entity>(db: Db, caller: Caller, mut query: ListQuery) -> Result<Response, ApiError> {
    embeds(&caller, &query.expand)?;
    // An export has no total: `count` changes nothing in it.
    query.count = CountMode::None;
    let remaining = (!query.unpaged).then_some(u64::from(query.limit));
    let mut columns: Vec<&'static str> = E::DEF.fields.iter().filter(|f| !f.sensitive).map(|f| f.name).collect();
    columns.extend(query.expand.iter().filter_map(|f| Some(f.references.as_ref()?.expand_as)));
    let first = Export { db, caller, query, columns, header_sent: false, remaining };
    let pages = futures_util::stream::try_unfold(Some(first), |state| async move {
        let Some(mut export) = state else { return Ok(None) };
        let stopped = |message: String| {
            let message = redact(&message).into_owned();
            tracing::error!(entity = E::DEF.name, error = %message, "CSV export stopped");
            std::io::Error::other(message)
        };
        export.query.limit =
            export.remaining.map_or(EXPORT_PAGE_SIZE, |left| left.min(u64::from(EXPORT_PAGE_SIZE)) as u32);
        let embeds = embeds(&export.caller, &export.query.expand).map_err(|e| stopped(e.detail.clone()))?;
        let page = store::list::<E>(&export.db, &export.query, &embeds).await.map_err(|e| stopped(e.to_string()))?;
        let rows = expanded_page(&page.items, page.embedded, &embeds);
        let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
        if !export.header_sent {
            writer.write_record(&export.columns).map_err(std::io::Error::other)?;
            export.header_sent = true;
        }
        for row in &rows {
            let row = serde_json::to_value(row).map_err(std::io::Error::other)?;
            writer.write_record(export.columns.iter().map(|c| cell(row.get(c)))).map_err(std::io::Error::other)?;
        }
        let chunk = writer.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?;
        export.remaining = export.remaining.map(|left| left.saturating_sub(page.items.len() as u64));
        let next = match (page.next, export.remaining) {
            (Some(_), Some(0)) | (None, _) => None,
            (Some(position), _) => {
                export.query.after = Some(position);
                export.query.offset = 0;
                Some(export)
            }
        };
        Ok::<_, std::io::Error>(Some((Bytes::from(chunk), next)))
    });
    let mut response = (StatusCode::OK, Body::from_stream(pages)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CSV_CONTENT_TYPE));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{}.csv\"", E::DEF.table)) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// The content type of an export: CSV in UTF-8 with a header row (RFC 4180 §3, RFC 7111).
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8; header=present";

/// Where an export is between pages.
struct Export {
    db: Db,
    caller: Caller,
    query: ListQuery,
    columns: Vec<&'static str>,
    header_sent: bool,
    /// Rows still to send, when `limit` bounds the export.
    remaining: Option<u64>,
}

/// One JSON value as a CSV cell: `null` and absent as empty, text as itself, numbers and
/// booleans as JSON writes them, objects and arrays as compact JSON. Text that a spreadsheet
/// would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets
/// a leading `'`, as OWASP's CSV-injection advice says: an export may be opened by someone
/// other than whoever wrote the values.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) if text.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{text}"),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> ListFormat {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        accepted_list_format(&headers)
    }

    #[test]
    fn csv_only_when_the_client_ranks_it_above_json() {
        assert_eq!(accepted_list_format(&HeaderMap::new()), ListFormat::Json);
        assert_eq!(accept("text/csv"), ListFormat::Csv);
        assert_eq!(accept("Text/CSV; charset=utf-8"), ListFormat::Csv);
        assert_eq!(accept("text/*"), ListFormat::Csv);
        assert_eq!(accept("*/*"), ListFormat::Json);
        assert_eq!(accept("application/json, text/csv"), ListFormat::Json);
        assert_eq!(accept("application/json;q=0.5, text/csv"), ListFormat::Csv);
        assert_eq!(accept("text/csv;q=0, */*"), ListFormat::Json);
        assert_eq!(accept("text/html"), ListFormat::Json);
        // The most specific range decides: `text/csv;q=0.1` beats `text/*` at 1.
        assert_eq!(accept("text/*, text/csv;q=0.1, application/json;q=0.5"), ListFormat::Json);
    }

    #[test]
    fn cells_are_plain_text_and_never_formulas() {
        assert_eq!(cell(None), "");
        assert_eq!(cell(Some(&Value::Null)), "");
        assert_eq!(cell(Some(&serde_json::json!("a,b \"c\""))), "a,b \"c\"");
        assert_eq!(cell(Some(&serde_json::json!(-3))), "-3");
        assert_eq!(cell(Some(&serde_json::json!(true))), "true");
        assert_eq!(cell(Some(&serde_json::json!({"k": [1]}))), r#"{"k":[1]}"#);
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(cell(Some(&serde_json::json!(formula))), format!("'{formula}"));
        }
    }
}
