//! Response compression: gzip or Brotli, as the client's `Accept-Encoding` prefers, for the
//! text the service answers with (JSON, problem details, CSV, the OpenAPI document, the
//! workbench's and docs' HTML, JavaScript and CSS) from [`MIN_SIZE`] bytes on.
//! `ENTITY_SPEC_COMPRESSION=off` turns it off (e.g. behind a proxy that compresses).

use axum::body::HttpBody as Body;
use axum::http::{HeaderMap, Response, header};
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// `off`: responses are never compressed.
pub const COMPRESSION_VAR: &str = "ENTITY_SPEC_COMPRESSION";

/// [`COMPRESSION_VAR`]: whether responses are compressed (`on`, the default, or `off`).
pub fn compression_from_env() -> Result<bool, String> {
    match std::env::var(COMPRESSION_VAR).ok().as_deref().map(str::trim) {
        None | Some("" | "on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(format!(
            "{COMPRESSION_VAR} must be `on` or `off`, not `{}`",
            entity_spec_contract::text::printable(other)
        )),
    }
}

/// Bodies shorter than this go out as they are: below about a kilobyte the bytes saved are a
/// packet's worth at most, and compressing still costs CPU and a streamed (chunked) answer.
pub const MIN_SIZE: u16 = 1024;

/// The media types worth compressing: everything the service writes as text. Images and the
/// like are compressed already; `/metrics` is scraped by a collector on the local network.
pub const COMPRESSED_TYPES: &[&str] = &[
    "application/json",
    "application/problem+json",
    "text/csv",
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
];

/// The layer, compressing what [`Compressible`] picks. Quality 4 for both codings: Brotli's
/// default (11) is meant for files compressed once, ahead of time, and takes tens of
/// milliseconds per response; at 4 both are a few microseconds per kilobyte, with Brotli still
/// ahead of gzip on size.
pub fn layer() -> CompressionLayer<Compressible> {
    CompressionLayer::new().quality(CompressionLevel::Precise(4)).compress_when(Compressible)
}

/// Whether a response is compressed: one of [`COMPRESSED_TYPES`], at least [`MIN_SIZE`] bytes
/// (an answer whose size is unknown, streamed, counts as large). tower-http leaves alone what
/// already has a `Content-Encoding`, and what the client did not ask to be compressed.
#[derive(Debug, Clone, Copy)]
pub struct Compressible;

impl Predicate for Compressible {
    fn should_compress<B: Body>(&self, response: &Response<B>) -> bool {
        SizeAbove::new(MIN_SIZE).should_compress(response) && compressible_type(response.headers())
    }
}

/// Whether the `Content-Type` names one of [`COMPRESSED_TYPES`] (parameters such as `charset`
/// aside).
fn compressible_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let media_type = value.split(';').next().unwrap_or_default().trim();
    COMPRESSED_TYPES.iter().any(|t| t.eq_ignore_ascii_case(media_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn typed(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        headers
    }

    #[test]
    fn text_the_service_writes_is_compressible_and_other_media_are_not() {
        for content_type in
            ["application/json", "application/problem+json", "text/javascript; charset=utf-8", "TEXT/CSV"]
        {
            assert!(compressible_type(&typed(content_type)), "{content_type}");
        }
        for content_type in ["image/png", "application/openmetrics-text; version=1.0.0", "text/event-stream"] {
            assert!(!compressible_type(&typed(content_type)), "{content_type}");
        }
        assert!(!compressible_type(&HeaderMap::new()), "no content type, no guess");
    }
}
