//! TCP connections to a checked address of a host, within the per-host limit and with a
//! connect timeout per address.

use tokio::net::TcpStream;

use super::config::Egress;
use super::error::EgressError;
use super::host_limit::HostPermit;

impl Egress {
    /// Connects to `host:port`: resolves and checks it ([`Egress::reserve`]), then tries each
    /// checked address in turn. Keep the permit as long as the stream.
    pub async fn connect_tcp(&self, host: &str, port: u16) -> Result<(TcpStream, HostPermit), EgressError> {
        let reservation = self.reserve(host, port).await?;
        let mut last = None;
        for addr in reservation.addrs {
            match tokio::time::timeout(self.timeouts.connect, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => return Ok((stream, reservation.permit)),
                Ok(Err(source)) => last = Some(EgressError::Connect { addr, source }),
                Err(_) => {
                    last = Some(EgressError::Timeout {
                        step: format!("connecting to {addr}"),
                        after: self.timeouts.connect,
                    })
                }
            }
        }
        Err(last.unwrap_or_else(|| EgressError::NoAddress { host: host.to_owned() }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::egress::files::FileRoots;
    use crate::egress::host_limit::HostLimiter;
    use crate::egress::policy::EgressPolicy;

    #[tokio::test]
    async fn a_refused_address_is_never_connected_to() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let egress = Egress::new(EgressPolicy::default(), FileRoots::none());
        let error = egress.connect_tcp("127.0.0.1", port).await.unwrap_err().to_string();
        assert!(error.contains("refused by the egress policy (loopback)"), "{error}");
        // Nothing reached the listener.
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "a connection was opened");
        assert_eq!(egress.hosts().tracked_hosts(), 0, "a refused host takes no place");
    }

    #[tokio::test]
    async fn an_allowed_address_connects_within_the_per_host_limit() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let egress = Egress::new(EgressPolicy::default().allow("127.0.0.1").unwrap(), FileRoots::none())
            .with_host_limiter(HostLimiter::new(1, Duration::from_millis(20)));
        let (_stream, _permit) = egress.connect_tcp("127.0.0.1", port).await.unwrap();
        let busy = egress.connect_tcp("127.0.0.1", port).await.unwrap_err().to_string();
        assert!(busy.contains("already has 1 connection(s) in flight"), "{busy}");
    }
}
