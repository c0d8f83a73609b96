//! `GET` over HTTP and HTTPS with a maintained client (ureq, rustls), for `api` sources.
//!
//! The client's resolver is the egress policy: ureq asks it for the addresses of every
//! connection it opens, redirects and IP literals included, so each hop is checked on the
//! address it connects to. Environment proxies are not used (a proxy would resolve the name
//! itself). Redirects are followed up to [`MAX_REDIRECTS`]; bodies (chunked or not) are read
//! up to [`MAX_RESPONSE_BYTES`]; every step has a timeout. The blocking client runs on
//! Tokio's blocking pool, within the host's per-host limit.

use std::sync::{Arc, Mutex};

use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::config::Egress;
use super::error::EgressError;
use super::policy::EgressPolicy;
use super::resolve::{check_all, strip_brackets};

/// The largest response body read.
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// The most redirects followed, each checked again.
pub const MAX_REDIRECTS: u32 = 5;
/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("entity-spec/", env!("CARGO_PKG_VERSION"));

/// What a `GET` answered.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// The status code of the last response (after redirects).
    pub status: u16,
    /// Its `Content-Type`, empty when absent.
    pub content_type: String,
    /// Its body, at most [`MAX_RESPONSE_BYTES`].
    pub body: Vec<u8>,
}

impl Egress {
    /// `GET url` (http or https), following redirects; any status is an answer, not an error.
    pub async fn http_get(&self, url: &str) -> Result<HttpResponse, EgressError> {
        let parsed = url::Url::parse(url).map_err(|e| EgressError::Url(format!("not a valid URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(EgressError::Url(format!(
                "api sources are fetched over http:// or https://, not {}://",
                parsed.scheme()
            )));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| EgressError::Url("the URL has no host".to_owned()))?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        // Checked before a place is taken, so that a refused host is refused at once.
        self.resolve(host, port).await?;
        let permit = self.hosts.acquire(strip_brackets(host), port).await?;

        let refusal = Arc::new(Mutex::new(None));
        let resolver = PolicyResolver { policy: self.policy.clone(), refusal: refusal.clone() };
        let timeouts = self.timeouts;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(MAX_REDIRECTS)
            .max_redirects_will_error(true)
            .user_agent(USER_AGENT)
            .accept("application/json, */*")
            .timeout_resolve(Some(timeouts.connect))
            .timeout_connect(Some(timeouts.connect))
            .timeout_recv_response(Some(timeouts.read))
            .timeout_global(Some(timeouts.overall))
            .build();
        let agent = ureq::Agent::with_parts(config, DefaultConnector::default(), resolver);
        let url = parsed.to_string();
        let exchange = tokio::task::spawn_blocking(move || {
            // The place is held until the blocking call has really ended.
            let _permit = permit;
            let mut response = agent.get(&url).call()?;
            let status = response.status().as_u16();
            let content_type =
                response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let body = response.body_mut().with_config().limit(MAX_RESPONSE_BYTES).read_to_vec()?;
            Ok::<_, ureq::Error>(HttpResponse { status, content_type, body })
        });
        // ureq's global timeout ends the call; this one only covers a stuck pool thread.
        let outcome = tokio::time::timeout(timeouts.overall + timeouts.connect, exchange).await;
        let refused = refusal.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(refused) = refused {
            return Err(refused);
        }
        match outcome {
            Err(_) => Err(EgressError::Timeout { step: "the request".to_owned(), after: timeouts.overall }),
            Ok(Err(join)) => Err(EgressError::Http(format!("the request task failed: {join}"))),
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(error))) => Err(match error {
                ureq::Error::Timeout(_) => {
                    EgressError::Timeout { step: "the request".to_owned(), after: timeouts.overall }
                }
                ureq::Error::BodyExceedsLimit(_) => EgressError::ResponseTooLarge { limit: MAX_RESPONSE_BYTES },
                ureq::Error::TooManyRedirects => EgressError::Http(format!("more than {MAX_REDIRECTS} redirects")),
                other => EgressError::Http(other.to_string()),
            }),
        }
    }
}

/// ureq's resolver: the addresses of the host being connected to, each checked by the policy.
/// Runs on the blocking thread of the request, so it resolves with the system resolver
/// directly (ureq's resolve timeout bounds the request; the overall timeout bounds the wait).
#[derive(Debug)]
struct PolicyResolver {
    policy: Arc<EgressPolicy>,
    /// The refusal, if any, reported as itself rather than as ureq's I/O error.
    refusal: Arc<Mutex<Option<EgressError>>>,
}

impl Resolver for PolicyResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().ok_or(ureq::Error::HostNotFound)?;
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
        let bare = strip_brackets(host);
        let resolved = match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
            Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(bare, port))?.collect(),
        };
        match check_all(&self.policy, host, resolved) {
            Ok(addrs) => {
                let mut out = self.empty();
                for addr in addrs.into_iter().take(16) {
                    out.push(addr);
                }
                Ok(out)
            }
            Err(error) => {
                let message = error.to_string();
                *self.refusal.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
                Err(ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::PermissionDenied, message)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::files::FileRoots;

    #[tokio::test]
    async fn urls_that_are_not_http_are_refused_before_any_connection() {
        let egress = Egress::new(EgressPolicy::default(), FileRoots::none());
        for (url, expected) in [
            ("file:///etc/passwd", "api sources are fetched over http:// or https://, not file://"),
            ("gopher://example.com/", "not gopher://"),
            ("http://", "not a valid URL: empty host"),
            ("nonsense", "not a valid URL"),
        ] {
            let error = egress.http_get(url).await.unwrap_err().to_string();
            assert!(error.contains(expected), "{url}: {error}");
        }
        let metadata = egress.http_get("http://169.254.169.254/latest/meta-data/").await.unwrap_err().to_string();
        assert!(metadata.contains("refused by the egress policy (link-local"), "{metadata}");
    }
}
