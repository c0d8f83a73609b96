//! Problem bodies for the responses hyper writes by itself.
//!
//! hyper answers a request it cannot parse before any service sees it: `400` for a malformed
//! request line or header, `414` for a request target over 65,534 bytes, `431` for more than
//! 100 header fields or a head over its buffer (~400 KiB). It writes those with an empty body
//! and offers no hook to change them (hyper 1.x, `proto/h1/role.rs`, `Server::on_error`). Our
//! contract is that every error is `application/problem+json` (RFC 9457), so the connection's
//! write side recognises exactly that head — one of those three statuses, `content-length: 0`,
//! no `content-type`, which no response of our router has — and writes a problem body in its
//! place. hyper closes the connection after it, so nothing follows on the wire.
//!
//! Everything else passes straight through: the check is a prefix comparison per write.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http::problem::ApiError;

/// A connection whose writes pass through, except hyper's automatic parse-error responses,
/// which get a problem+json body.
pub(super) struct ProblemOnEarlyRejection<S> {
    inner: S,
    replacement: Option<Replacement>,
}

/// A rewritten response being written: hyper is told its head was written (`consumed`
/// bytes) only once all of `bytes` are out.
struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    consumed: usize,
}

impl<S> ProblemOnEarlyRejection<S> {
    pub(super) fn new(inner: S) -> Self {
        ProblemOnEarlyRejection { inner, replacement: None }
    }
}

impl<S: AsyncWrite + Unpin> ProblemOnEarlyRejection<S> {
    /// Writes the pending replacement to the end; `Ready(n)` reports hyper's `n` bytes.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(replacement) = self.replacement.as_mut() else { return Poll::Ready(Ok(0)) };
        while replacement.written < replacement.bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &replacement.bytes[replacement.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            replacement.written += n;
        }
        let consumed = replacement.consumed;
        self.replacement = None;
        Poll::Ready(Ok(consumed))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ProblemOnEarlyRejection<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ProblemOnEarlyRejection<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        // After a `Pending`, hyper calls again with the same bytes: finish what was started.
        if self.replacement.is_none() {
            match with_problem_body(buf) {
                Some(bytes) => self.replacement = Some(Replacement { bytes, written: 0, consumed: buf.len() }),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        self.poll_replacement(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.replacement.is_none() {
            // A response head is always the first slice hyper queues. Only that slice is
            // reported written when it is replaced; hyper offers the rest again.
            let head = bufs.iter().find(|buf| !buf.is_empty());
            match head.and_then(|head| with_problem_body(head).map(|bytes| (bytes, head.len()))) {
                Some((bytes, consumed)) => self.replacement = Some(Replacement { bytes, written: 0, consumed }),
                None => return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
            }
        }
        self.poll_replacement(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// hyper's automatic response head with a problem body added, or `None` for any other bytes.
fn with_problem_body(bytes: &[u8]) -> Option<Vec<u8>> {
    let after_version = bytes.strip_prefix(b"HTTP/1.1 ").or_else(|| bytes.strip_prefix(b"HTTP/1.0 "))?;
    let (status, detail) = match after_version.get(..4)? {
        b"400 " => (StatusCode::BAD_REQUEST, "the request line or a header field is malformed (RFC 9112)"),
        b"414 " => (
            StatusCode::URI_TOO_LONG,
            "the request target is longer than this server accepts (65,534 bytes); send fewer or shorter query parameters",
        ),
        b"431 " => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "the request has more header fields (at most 100) or a larger header section than this server accepts",
        ),
        _ => return None,
    };
    let head_len = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 2;
    let head = &bytes[..head_len];
    let mut lines = head.split(|&b| b == b'\n').filter(|line| !line.is_empty());
    let status_line = lines.next()?;
    let fields: Vec<&[u8]> = lines.collect();
    let is_field = |line: &[u8], name: &[u8]| line.len() > name.len() && line[..name.len()].eq_ignore_ascii_case(name);
    let empty = fields.iter().any(|line| line.eq_ignore_ascii_case(b"content-length: 0\r"));
    if !empty || fields.iter().any(|line| is_field(line, b"content-type:")) {
        return None;
    }
    let body = ApiError::unparsable(status, detail).to_json();
    let mut out = Vec::with_capacity(head_len + 96 + body.len());
    out.extend_from_slice(status_line);
    out.push(b'\n');
    out.extend_from_slice(format!("content-type: {}\r\n", crate::http::problem::PROBLEM_JSON).as_bytes());
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    for line in fields.iter().filter(|line| !is_field(line, b"content-length:")) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    // Nothing follows an automatic head (it has no body), but pass on whatever might.
    out.extend_from_slice(&bytes[head_len + 2..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::with_problem_body;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn hypers_automatic_heads_get_a_problem_body() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 07:00:00 GMT\r\n\r\n";
        let out = text(with_problem_body(head).expect("rewritten"));
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{head}");
        assert!(head.contains("\r\ncontent-type: application/problem+json\r\n"), "{head}");
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())), "{head}");
        assert!(head.contains("\r\nconnection: close\r\ndate: Mon, 30 Nov 2026 07:00:00 GMT"), "{head}");
        assert!(!head.contains("content-length: 0"), "{head}");
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 431);
        assert_eq!(problem["type"], "urn:entity-spec:problem:request-rejected");
        assert!(problem["detail"].as_str().unwrap().contains("header"), "{problem}");
    }

    #[test]
    fn other_responses_pass_unchanged() {
        for bytes in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n",
            b"{\"items\": []}",
            b"",
        ] {
            assert_eq!(with_problem_body(bytes), None, "{}", String::from_utf8_lossy(bytes));
        }
    }
}
