//! Per-host concurrency: how many connections this process may have in flight to one
//! `host:port` at once. A few sources pointing at a host that accepts connections and never
//! answers would otherwise hold every run worker until their timeouts; with the limit, the
//! extra runs wait briefly for a permit and then fail with a message saying so, and the
//! workers move on to other sources.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::EgressError;
use super::setting_error::EgressConfigError;

/// The number of connections in flight to one `host:port`, at most.
pub const PER_HOST_VAR: &str = "ENTITY_SPEC_EGRESS_PER_HOST";
/// [`PER_HOST_VAR`] when unset.
pub const DEFAULT_PER_HOST: usize = 4;
/// How long a connection waits for a permit before failing.
pub const DEFAULT_PERMIT_WAIT: Duration = Duration::from_secs(1);

/// Permits per `host:port`, shared by every clone (one per process, normally).
#[derive(Clone, Debug)]
pub struct HostLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: usize,
    wait: Duration,
    /// Only hosts with a permit taken or awaited have an entry; the last permit out removes it.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A connection's place in its host's limit; dropping it frees the place. Hold it as long as
/// the connection is open.
#[derive(Debug)]
pub struct HostPermit {
    key: String,
    inner: Arc<Inner>,
    permit: Option<OwnedSemaphorePermit>,
}

impl HostLimiter {
    /// `limit` connections per host (at least 1), a new one waiting at most `wait` for a place.
    pub fn new(limit: usize, wait: Duration) -> HostLimiter {
        HostLimiter { inner: Arc::new(Inner { limit: limit.max(1), wait, hosts: Mutex::new(HashMap::new()) }) }
    }

    /// [`PER_HOST_VAR`] (default [`DEFAULT_PER_HOST`]) with [`DEFAULT_PERMIT_WAIT`].
    pub fn from_env() -> Result<HostLimiter, EgressConfigError> {
        let limit = match std::env::var(PER_HOST_VAR) {
            Ok(text) if !text.trim().is_empty() => {
                text.trim().parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    EgressConfigError::new(PER_HOST_VAR, &text, "is not a number of connections (1 or more)")
                })?
            }
            _ => DEFAULT_PER_HOST,
        };
        Ok(HostLimiter::new(limit, DEFAULT_PERMIT_WAIT))
    }

    /// The limit per host.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// A place among `host:port`'s connections, waiting at most the configured time for one.
    pub async fn acquire(&self, host: &str, port: u16) -> Result<HostPermit, EgressError> {
        let key = format!("{}:{port}", host.to_ascii_lowercase());
        let semaphore = {
            let mut hosts = self.inner.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            hosts.entry(key.clone()).or_insert_with(|| Arc::new(Semaphore::new(self.inner.limit))).clone()
        };
        // The permit (or this attempt's end) is what removes the entry again.
        let mut held = HostPermit { key, inner: self.inner.clone(), permit: None };
        match tokio::time::timeout(self.inner.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => {
                held.permit = Some(permit);
                Ok(held)
            }
            _ => Err(EgressError::HostBusy { endpoint: held.key.clone(), limit: self.inner.limit }),
        }
    }

    /// How many hosts have a connection in flight or awaited (for tests: entries do not pile up).
    pub fn tracked_hosts(&self) -> usize {
        self.inner.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut hosts = self.inner.hosts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Unused when only the map holds the semaphore: no permit out, nobody waiting.
        if hosts.get(&self.key).is_some_and(|semaphore| Arc::strong_count(semaphore) == 1) {
            hosts.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_host_gets_at_most_its_limit_and_others_are_not_held_up() {
        let limiter = HostLimiter::new(2, Duration::from_millis(50));
        let first = limiter.acquire("slow.example", 443).await.unwrap();
        let _second = limiter.acquire("SLOW.example", 443).await.unwrap();
        let busy = limiter.acquire("slow.example", 443).await.unwrap_err().to_string();
        assert!(busy.starts_with("slow.example:443 already has 2 connection(s) in flight"), "{busy}");
        assert!(busy.contains("ENTITY_SPEC_EGRESS_PER_HOST"), "{busy}");
        // Another host, or another port of the same host, has its own places.
        let _other = limiter.acquire("fast.example", 443).await.unwrap();
        let _port = limiter.acquire("slow.example", 5432).await.unwrap();
        drop(first);
        let _third = limiter.acquire("slow.example", 443).await.unwrap();
    }

    #[tokio::test]
    async fn a_waiting_connection_gets_the_place_a_finished_one_frees() {
        let limiter = HostLimiter::new(1, Duration::from_secs(30));
        let first = limiter.acquire("db", 5432).await.unwrap();
        let waiter = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire("db", 5432).await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        drop(first);
        waiter.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn hosts_without_connections_leave_no_entry() {
        let limiter = HostLimiter::new(1, Duration::from_millis(10));
        for i in 0..50 {
            drop(limiter.acquire(&format!("host-{i}"), 80).await.unwrap());
        }
        let held = limiter.acquire("kept", 80).await.unwrap();
        assert!(limiter.acquire("kept", 80).await.is_err());
        assert_eq!(limiter.tracked_hosts(), 1);
        drop(held);
        assert_eq!(limiter.tracked_hosts(), 0);
    }
}
