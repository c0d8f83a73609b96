//! Rate limits in front of the guarded routes: per client address (checked before the
//! credential, so a flood of bad keys is limited too) and per credential (after it, so one
//! key cannot take a shared instance's capacity). Both are off unless configured, because an
//! instance behind a proxy sees one address for everybody; a refusal is a 429 problem with
//! `Retry-After`.
//!
//! The algorithm is GCRA (the generic cell rate algorithm, as in `governor`): per key, one
//! instant (the "theoretical arrival time"); a rate of `n` per period allows a burst of `n`
//! and then one request every `period / n`. Limits are per instance: with several instances,
//! a client's allowance is this rate times the number of instances it reaches.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests allowed per credential, e.g. `100/s`, `3000/min`; unset: no limit.
pub const RATE_LIMIT_VAR: &str = "ENTITY_SPEC_RATE_LIMIT";
/// Requests allowed per client address, same syntax; unset: no limit.
pub const RATE_LIMIT_PER_ADDRESS_VAR: &str = "ENTITY_SPEC_RATE_LIMIT_PER_ADDRESS";

/// Keys remembered at most; beyond it, keys whose allowance is whole again are forgotten
/// (they would be allowed anyway) and, while all are still limited, new keys go unrecorded:
/// memory stays bounded whoever sends requests.
const MAX_KEYS: usize = 100_000;

/// `requests` per `period`, allowed in a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many requests.
    pub requests: u32,
    /// In how long.
    pub period: Duration,
}

impl Rate {
    /// `N/s`, `N/min` or `N/h` (also `N/m`, `N/second`, `N/minute`, `N/hour`), N from 1.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let bad = || format!("`{text}` is not a rate such as `100/s`, `3000/min` or `10000/h`");
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let requests: u32 = count.trim().parse().ok().filter(|&n| n > 0).ok_or_else(bad)?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Rate { requests, period })
    }

    /// As an operator writes it.
    pub fn describe(&self) -> String {
        let unit = match self.period.as_secs() {
            1 => "second",
            60 => "minute",
            _ => "hour",
        };
        format!("{} requests per {unit}", self.requests)
    }
}

/// One rate, kept per key.
#[derive(Debug)]
pub struct Limiter {
    rate: Rate,
    /// Time between two requests at the sustained rate.
    interval: Duration,
    /// How far ahead of now a key's arrival time may run: the burst.
    tolerance: Duration,
    arrivals: Mutex<HashMap<String, Instant>>,
}

impl Limiter {
    /// A limiter of `rate`.
    pub fn new(rate: Rate) -> Limiter {
        let interval = rate.period / rate.requests;
        Limiter { rate, interval, tolerance: rate.period.saturating_sub(interval), arrivals: Mutex::default() }
    }

    /// The rate it enforces.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Counts a request of `key` at `now`: `Ok` when allowed, else how long until it would be.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let arrival = arrivals.get(key).copied().map_or(now, |at| at.max(now));
        if arrival > now + self.tolerance {
            return Err(arrival - (now + self.tolerance));
        }
        if arrivals.len() >= MAX_KEYS && !arrivals.contains_key(key) {
            arrivals.retain(|_, at| *at > now);
            if arrivals.len() >= MAX_KEYS {
                // Every remembered key is still limited: a new one is let through unrecorded
                // rather than growing the table (or refusing clients never seen before).
                return Ok(());
            }
        }
        arrivals.insert(key.to_owned(), arrival + self.interval);
        Ok(())
    }
}

/// The limits of one service.
#[derive(Debug, Default)]
pub struct RateLimits {
    /// Per credential (its kind and subject).
    pub per_credential: Option<Limiter>,
    /// Per client IP address.
    pub per_address: Option<Limiter>,
}

impl RateLimits {
    /// Limits of these rates (`None`: no limit).
    pub fn new(per_credential: Option<Rate>, per_address: Option<Rate>) -> RateLimits {
        RateLimits { per_credential: per_credential.map(Limiter::new), per_address: per_address.map(Limiter::new) }
    }

    /// [`RATE_LIMIT_VAR`] and [`RATE_LIMIT_PER_ADDRESS_VAR`]; a value that is not a rate is an
    /// error naming the variable.
    pub fn from_env() -> Result<RateLimits, String> {
        let read = |name: &str| match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(value) => Rate::parse(&value).map(Some).map_err(|why| format!("{name}: {why}")),
        };
        Ok(RateLimits::new(read(RATE_LIMIT_VAR)?, read(RATE_LIMIT_PER_ADDRESS_VAR)?))
    }
}

/// Whole seconds for `Retry-After`, rounded up (at least 1: `0` would invite a retry storm).
pub fn retry_after_secs(wait: Duration) -> u32 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_refuse_nonsense() {
        assert_eq!(Rate::parse("100/s"), Ok(Rate { requests: 100, period: Duration::from_secs(1) }));
        assert_eq!(Rate::parse(" 3000 / min ").unwrap().period, Duration::from_secs(60));
        assert_eq!(Rate::parse("10/h").unwrap().describe(), "10 requests per hour");
        for bad in ["", "100", "0/s", "-1/s", "10/day", "x/s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_burst_then_the_sustained_rate_per_key() {
        let limiter = Limiter::new(Rate::parse("3/s").unwrap());
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("a", start), Ok(()));
        }
        let wait = limiter.check("a", start).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(334), "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // Another key has its own allowance.
        assert_eq!(limiter.check("b", start), Ok(()));
        // One interval later, exactly one more request of `a` is allowed.
        let later = start + Duration::from_millis(334);
        assert_eq!(limiter.check("a", later), Ok(()));
        assert!(limiter.check("a", later).is_err());
        // A refused request does not use up allowance: after a full period, a full burst.
        let rested = start + Duration::from_secs(2);
        for _ in 0..3 {
            assert_eq!(limiter.check("a", rested), Ok(()));
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = Limiter::new(Rate::parse("1/s").unwrap());
        let start = Instant::now();
        for i in 0..MAX_KEYS + 10 {
            assert_eq!(limiter.check(&i.to_string(), start), Ok(()));
        }
        assert_eq!(limiter.arrivals.lock().unwrap().len(), MAX_KEYS, "the table grew past its bound");
        // Two seconds on, every key's allowance is whole again and the table is swept.
        assert_eq!(limiter.check("late", start + Duration::from_secs(2)), Ok(()));
        assert_eq!(limiter.arrivals.lock().unwrap().len(), 1);
    }
}
