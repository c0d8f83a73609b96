//! Cross-origin requests from browsers (CORS), off unless the operator lists the origins that
//! may call the API from a page of theirs: `ENTITY_SPEC_CORS_ORIGINS`, comma-separated
//! (`https://app.example.com,https://admin.example.com`), or `*` for any origin. Credentials
//! travel in the `Authorization` header, never in cookies, so no origin is ever allowed
//! `credentials` and `*` cannot be used to ride a user's session.

use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::http::request_id::REQUEST_ID;

/// The variable listing the origins allowed to call the API from a browser.
pub const CORS_ORIGINS_VAR: &str = "ENTITY_SPEC_CORS_ORIGINS";

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin (`*`).
    Any,
    /// These origins exactly (`scheme://host[:port]`).
    List(Vec<String>),
}

impl CorsOrigins {
    /// [`CORS_ORIGINS_VAR`]: `None` when unset or empty (CORS off).
    pub fn from_env() -> Result<Option<CorsOrigins>, String> {
        match std::env::var(CORS_ORIGINS_VAR) {
            Ok(value) => Self::parse(&value),
            Err(_) => Ok(None),
        }
    }

    /// Parses a comma-separated list of origins, or `*`; an empty value is `None`.
    pub fn parse(value: &str) -> Result<Option<CorsOrigins>, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        if value == "*" {
            return Ok(Some(CorsOrigins::Any));
        }
        let mut origins = Vec::new();
        for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let parsed = url::Url::parse(origin)
                .map_err(|e| format!("{CORS_ORIGINS_VAR}: `{origin}` is not an origin ({e})"))?;
            // An origin is scheme, host and port, nothing else: what browsers send in `Origin`.
            let serialized = parsed.origin().ascii_serialization();
            if !matches!(parsed.scheme(), "http" | "https") || serialized != origin.trim_end_matches('/') {
                return Err(format!(
                    "{CORS_ORIGINS_VAR}: `{origin}` is not an origin; write scheme://host[:port] (e.g. {serialized})"
                ));
            }
            origins.push(serialized);
        }
        Ok(Some(CorsOrigins::List(origins)))
    }

    /// The layer answering preflights and adding the CORS headers to answers for these origins.
    pub fn layer(&self) -> CorsLayer {
        let origins = match self {
            CorsOrigins::Any => AllowOrigin::any(),
            CorsOrigins::List(list) => {
                AllowOrigin::list(list.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()))
            }
        };
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                REQUEST_ID.clone(),
            ])
            .expose_headers([
                header::ETAG,
                header::LOCATION,
                header::RETRY_AFTER,
                header::WWW_AUTHENTICATE,
                REQUEST_ID.clone(),
            ])
            .max_age(Duration::from_secs(600))
    }
}

#[cfg(test)]
mod tests {
    use super::CorsOrigins;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(CorsOrigins::parse(""), Ok(None));
        assert_eq!(CorsOrigins::parse(" * "), Ok(Some(CorsOrigins::Any)));
        assert_eq!(
            CorsOrigins::parse("https://app.example.com, http://localhost:5173/"),
            Ok(Some(CorsOrigins::List(vec!["https://app.example.com".into(), "http://localhost:5173".into()])))
        );
        for bad in ["app.example.com", "https://app.example.com/path", "ftp://x.example", "https://a.example,*x"] {
            let error = CorsOrigins::parse(bad).unwrap_err();
            assert!(error.contains("ENTITY_SPEC_CORS_ORIGINS"), "{bad}: {error}");
        }
    }
}
