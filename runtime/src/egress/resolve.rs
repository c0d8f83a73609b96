//! Host name → the addresses a connector may connect to. Every resolved address is checked,
//! and the checked addresses are what the connection is opened to, so a name cannot resolve
//! to an allowed address for the check and a refused one for the connection (DNS rebinding).
//! When any address of a name is refused the name is refused: a name that mixes a public
//! address with a metadata or loopback one is not a name to half-trust.

use std::net::{IpAddr, SocketAddr};

use super::config::Egress;
use super::error::EgressError;
use super::host_limit::HostPermit;
use super::policy::EgressPolicy;

/// Checked addresses of a host, with the host's per-host permit: hold it while connected.
#[derive(Debug)]
pub struct Reservation {
    /// The addresses to try, in the resolver's order; every one allowed by the policy.
    pub addrs: Vec<SocketAddr>,
    /// The connection's place in the host's limit.
    pub permit: HostPermit,
}

impl Egress {
    /// The addresses `host:port` resolves to, every one checked by the policy. An IP literal
    /// (`10.0.0.5`, `[fd00::1]`, `::ffff:127.0.0.1`) is checked as it is, without DNS.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
        let bare = strip_brackets(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return check_all(&self.policy, host, vec![SocketAddr::new(ip, port)]);
        }
        let step = format!("resolving {bare}");
        let lookup = tokio::net::lookup_host((bare, port));
        let addrs = tokio::time::timeout(self.timeouts.connect, lookup)
            .await
            .map_err(|_| EgressError::Timeout { step, after: self.timeouts.connect })?
            .map_err(|source| EgressError::Resolve { host: bare.to_owned(), source })?;
        check_all(&self.policy, host, addrs.collect())
    }

    /// [`Egress::resolve`], then a place in the host's per-host limit (only for an allowed
    /// host: a refused one takes no place). For drivers that connect by themselves (sqlx):
    /// give them one of `addrs`, never the name.
    pub async fn reserve(&self, host: &str, port: u16) -> Result<Reservation, EgressError> {
        let addrs = self.resolve(host, port).await?;
        let permit = self.hosts.acquire(strip_brackets(host), port).await?;
        Ok(Reservation { addrs, permit })
    }
}

/// Every address of `addrs` (what `host` resolved to) checked; duplicates dropped.
pub fn check_all(policy: &EgressPolicy, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, EgressError> {
    let mut checked: Vec<SocketAddr> = Vec::with_capacity(addrs.len());
    for addr in addrs {
        policy.check(host, addr)?;
        if !checked.contains(&addr) {
            checked.push(addr);
        }
    }
    if checked.is_empty() {
        return Err(EgressError::NoAddress { host: strip_brackets(host).to_owned() });
    }
    Ok(checked)
}

/// `[::1]` → `::1`; anything else unchanged.
pub(super) fn strip_brackets(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::files::FileRoots;

    #[tokio::test]
    async fn a_name_is_checked_on_every_address_it_resolves_to() {
        let egress = Egress::new(EgressPolicy::default(), FileRoots::none());
        let refused = egress.resolve("localhost", 5432).await.unwrap_err().to_string();
        assert!(refused.starts_with("localhost (") && refused.contains("(loopback)"), "{refused}");
        let literal = egress.resolve("[::ffff:169.254.169.254]", 80).await.unwrap_err().to_string();
        assert!(literal.contains("link-local"), "{literal}");
        let allowed = Egress::new(EgressPolicy::default().allow("localhost").unwrap(), FileRoots::none());
        let addrs = allowed.resolve("localhost", 5432).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 5432), "{addrs:?}");
    }

    #[test]
    fn one_refused_address_refuses_the_name() {
        let policy = EgressPolicy::default();
        let addrs = vec!["93.184.216.34:80".parse().unwrap(), "169.254.169.254:80".parse().unwrap()];
        let error = check_all(&policy, "mixed.example", addrs).unwrap_err().to_string();
        assert!(error.starts_with("mixed.example (169.254.169.254:80) is refused"), "{error}");
    }
}
