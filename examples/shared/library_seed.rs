//! What the benchmarks serving the library spec (`list_bench`, `service_bench`'s expand part)
//! share: a stand-in for the spec's custom action and the loans they list. Each includes this
//! file with `#[path]` beside the `library` module it generates.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::library;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The spec's custom action, which the benchmarks never call.
pub struct NoActions;

impl library::MemberActions for NoActions {
    async fn renew(
        &self,
        member: library::Member,
        _request: library::MemberRenewRequest,
    ) -> Result<library::MemberRenewResponse, entity_spec::ApiError> {
        Ok(library::MemberRenewResponse {
            valid_until: member.joined_on,
            tier: library::MemberRenewResponseTier::Adult,
        })
    }
}

/// `parents` books and `parents` members, and `loans` loans referring to them (loan `i` to book
/// `i % parents` and member `7i % parents`), written through `app` (authentication off), so
/// every row is as the service writes it.
pub async fn seed_loans(app: &Router, parents: usize, loans: usize) -> Result<(), BoxError> {
    let (mut books, mut members) = (Vec::with_capacity(parents), Vec::with_capacity(parents));
    for i in 0..parents {
        books.push(
            post(app, "/library/books", json!({"isbn": format!("978-{i:010}"), "title": format!("Book {i}")})).await?,
        );
        let member = json!({"card_number": format!("LIB-{i:04}"), "display_name": format!("Member {i}"), "tier": "adult", "joined_on": "2026-01-02"});
        members.push(post(app, "/members", member).await?);
    }
    for i in 0..loans {
        let body =
            json!({"book_id": books[i % parents], "member_id": members[(i * 7) % parents], "due_on": "2026-02-01"});
        post(app, "/loans", body).await?;
    }
    Ok(())
}

/// `POST path` with `body`; the created item's id.
async fn post(app: &Router, path: &str, body: Value) -> Result<String, BoxError> {
    let request = Request::post(path).header("content-type", "application/json").body(Body::from(body.to_string()))?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    if status != StatusCode::CREATED {
        return Err(format!("POST {path}: {status}: {}", String::from_utf8_lossy(&bytes)).into());
    }
    let created: Value = serde_json::from_slice(&bytes)?;
    Ok(created["id"].as_str().unwrap_or_default().to_owned())
}
