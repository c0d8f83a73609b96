//! The egress policy: which addresses a connector may open a connection to.
//!
//! The decision is made on the address that is connected to (after resolution), never on the
//! text of a URL. In order:
//! 1. an entry of `ENTITY_SPEC_EGRESS_DENY` that matches refuses (deny beats allow);
//! 2. this service's own listener is refused unless an allow entry names its port;
//! 3. an entry of `ENTITY_SPEC_EGRESS_ALLOW` that matches allows;
//! 4. loopback, link-local (cloud metadata at 169.254.169.254 included), unspecified,
//!    multicast and broadcast addresses are refused, in IPv4 and IPv6, IPv4-mapped,
//!    IPv4-compatible and NAT64 forms included (`::ffff:127.0.0.1` is loopback);
//! 5. everything else is allowed: public addresses and the private ranges (10/8, 172.16/12,
//!    192.168/16, fc00::/7), where data engineers' databases live. Deny those with
//!    `ENTITY_SPEC_EGRESS_DENY=10.0.0.0/8,…` where they must not be reached.
//!
//! An entry is a CIDR (`10.0.0.0/8`, `fd00::/8`), an address (`127.0.0.1`, `::1`), a host name
//! (`db.example.com`) or a host-name pattern (`*.example.com`: every name below it, not the
//! name itself), each with an optional port (`127.0.0.1:5432`, `[::1]:5432`,
//! `[fd00::/8]:443`, `*.example.com:443`). Host entries match the name as written in the
//! connection string: allowing a name trusts whatever it resolves to; denying one refuses it
//! whatever it resolves to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::setting_error::EgressConfigError;

/// Extra destinations connectors may reach, comma-separated.
pub const ALLOW_VAR: &str = "ENTITY_SPEC_EGRESS_ALLOW";
/// Destinations connectors must never reach, comma-separated; beats [`ALLOW_VAR`].
pub const DENY_VAR: &str = "ENTITY_SPEC_EGRESS_DENY";

/// Which addresses connectors may connect to; see [the module](self) for the rules.
#[derive(Clone, Debug, Default)]
pub struct EgressPolicy {
    allow: Vec<Rule>,
    deny: Vec<Rule>,
    own_listeners: Vec<SocketAddr>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    /// The entry as configured, quoted in refusals.
    entry: String,
    target: Target,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Net {
        network: IpAddr,
        prefix: u8,
    },
    Host(String),
    /// `*.example.com` as `.example.com`.
    HostSuffix(String),
}

/// Why the policy refused a destination. Its message names the rule and the variable to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EgressRefusal {
    host: String,
    addr: SocketAddr,
    reason: RefusalReason,
}

/// The rule that refused a destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefusalReason {
    /// An entry of [`DENY_VAR`] matched.
    Denied {
        /// The entry as configured.
        entry: String,
    },
    /// The address is of a kind refused by default.
    Default(AddressKind),
    /// The address is this service's own listener.
    OwnListener,
}

/// The kinds of address refused unless allowed explicitly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressKind {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 169.254.0.0/16 (cloud metadata services live there), fe80::/10.
    LinkLocal,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
}

impl AddressKind {
    /// What the kind is called in messages.
    pub fn name(self) -> &'static str {
        match self {
            AddressKind::Loopback => "loopback",
            AddressKind::LinkLocal => "link-local, where cloud metadata services answer",
            AddressKind::Unspecified => "unspecified address",
            AddressKind::Multicast => "multicast",
            AddressKind::Broadcast => "broadcast",
        }
    }

    /// The kind of `ip` that is refused by default, if it is one. Metadata services that live
    /// outside the link-local ranges count as link-local: they answer the same questions.
    pub fn of(ip: IpAddr) -> Option<AddressKind> {
        match canonical(ip) {
            IpAddr::V4(v4) => {
                if v4.is_loopback() {
                    Some(AddressKind::Loopback)
                } else if v4.is_link_local() || CLOUD_METADATA_V4.contains(&v4) {
                    Some(AddressKind::LinkLocal)
                } else if v4.octets()[0] == 0 {
                    Some(AddressKind::Unspecified)
                } else if v4.is_multicast() {
                    Some(AddressKind::Multicast)
                } else if v4.is_broadcast() {
                    Some(AddressKind::Broadcast)
                } else {
                    None
                }
            }
            IpAddr::V6(v6) => {
                if v6.is_loopback() {
                    Some(AddressKind::Loopback)
                } else if v6.is_unspecified() {
                    Some(AddressKind::Unspecified)
                } else if v6.segments()[0] & 0xffc0 == 0xfe80 || CLOUD_METADATA_V6.contains(&v6) {
                    Some(AddressKind::LinkLocal)
                } else if v6.is_multicast() {
                    Some(AddressKind::Multicast)
                } else {
                    None
                }
            }
        }
    }
}

/// Cloud metadata services outside 169.254.0.0/16, in otherwise private ranges (Alibaba
/// Cloud's, in the carrier-grade NAT range).
const CLOUD_METADATA_V4: [std::net::Ipv4Addr; 1] = [std::net::Ipv4Addr::new(100, 100, 100, 200)];

/// Cloud metadata services over IPv6, in the unique-local range (AWS's IMDS).
const CLOUD_METADATA_V6: [std::net::Ipv6Addr; 1] = [std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)];

impl EgressPolicy {
    /// The default policy with [`ALLOW_VAR`] and [`DENY_VAR`] from the environment; a bad
    /// entry is an error naming it.
    pub fn from_env() -> Result<EgressPolicy, EgressConfigError> {
        let read = |name| std::env::var(name).unwrap_or_default();
        EgressPolicy::default().allow(&read(ALLOW_VAR))?.deny(&read(DENY_VAR))
    }

    /// Adds the comma-separated `entries` to what is allowed (as [`ALLOW_VAR`] would).
    pub fn allow(mut self, entries: &str) -> Result<EgressPolicy, EgressConfigError> {
        self.allow.extend(parse_rules(ALLOW_VAR, entries)?);
        Ok(self)
    }

    /// Adds the comma-separated `entries` to what is refused (as [`DENY_VAR`] would).
    pub fn deny(mut self, entries: &str) -> Result<EgressPolicy, EgressConfigError> {
        self.deny.extend(parse_rules(DENY_VAR, entries)?);
        Ok(self)
    }

    /// Refuses `addr`, the address this service listens on, so that a source cannot make the
    /// service call itself. A listener on an unspecified address (`0.0.0.0:8000`) refuses its
    /// port on loopback and unspecified addresses; the machine's other addresses are not known
    /// here, so deny them with [`DENY_VAR`] if the service is reachable on them.
    pub fn with_own_listener(mut self, addr: SocketAddr) -> EgressPolicy {
        self.own_listeners.push(addr);
        self
    }

    /// The configured allow entries, for a start-up line saying what was opened.
    pub fn allowed_entries(&self) -> impl Iterator<Item = &str> {
        self.allow.iter().map(|rule| rule.entry.as_str())
    }

    /// Whether connecting to `addr`, which `host` (a name or an address, as written in the
    /// connection string) resolved to, is allowed.
    pub fn check(&self, host: &str, addr: SocketAddr) -> Result<(), EgressRefusal> {
        let host = normalize_host(host);
        let refuse = |reason| Err(EgressRefusal { host: host.clone(), addr, reason });
        if let Some(rule) = self.deny.iter().find(|rule| rule.matches(&host, addr)) {
            return refuse(RefusalReason::Denied { entry: rule.entry.clone() });
        }
        if self.is_own_listener(addr) {
            if self.allow.iter().any(|rule| rule.port.is_some() && rule.matches(&host, addr)) {
                return Ok(());
            }
            return refuse(RefusalReason::OwnListener);
        }
        if self.allow.iter().any(|rule| rule.matches(&host, addr)) {
            return Ok(());
        }
        match AddressKind::of(addr.ip()) {
            Some(kind) => refuse(RefusalReason::Default(kind)),
            None => Ok(()),
        }
    }

    fn is_own_listener(&self, addr: SocketAddr) -> bool {
        let ip = canonical(addr.ip());
        self.own_listeners.iter().any(|own| {
            own.port() == addr.port()
                && (canonical(own.ip()) == ip
                    || (own.ip().is_unspecified()
                        && matches!(AddressKind::of(ip), Some(AddressKind::Loopback | AddressKind::Unspecified))))
        })
    }
}

impl EgressRefusal {
    /// The rule that refused.
    pub fn reason(&self) -> &RefusalReason {
        &self.reason
    }

    /// The refused address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl fmt::Display for EgressRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = self.addr.ip();
        if self.host.parse::<IpAddr>().is_ok_and(|host| host == ip) {
            write!(f, "{}", self.addr)?;
        } else {
            write!(f, "{} ({})", self.host, self.addr)?;
        }
        match &self.reason {
            RefusalReason::Denied { entry } => {
                write!(f, " is refused by the egress policy: {DENY_VAR} lists `{entry}`")
            }
            RefusalReason::Default(kind) => write!(
                f,
                " is refused by the egress policy ({}); allow it with {ALLOW_VAR}={}",
                kind.name(),
                canonical(ip)
            ),
            RefusalReason::OwnListener => write!(
                f,
                " is refused by the egress policy (this service's own listener); allow it with {ALLOW_VAR}={}",
                SocketAddr::new(canonical(ip), self.addr.port())
            ),
        }
    }
}

impl std::error::Error for EgressRefusal {}

impl Rule {
    fn matches(&self, host: &str, addr: SocketAddr) -> bool {
        if self.port.is_some_and(|port| port != addr.port()) {
            return false;
        }
        match &self.target {
            Target::Net { network, prefix } => in_network(canonical(addr.ip()), *network, *prefix),
            Target::Host(name) => host == name,
            Target::HostSuffix(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        }
    }
}

/// An IPv6 address that carries an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) as that IPv4 address; others unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let embedded = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if compatible || nat64 { IpAddr::V4(embedded()) } else { ip }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Host names compare lowercase, without a trailing dot or IPv6 brackets.
fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('.');
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.to_ascii_lowercase()
}

fn parse_rules(variable: &'static str, entries: &str) -> Result<Vec<Rule>, EgressConfigError> {
    entries
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| parse_rule(entry).map_err(|reason| EgressConfigError::new(variable, entry, reason)))
        .collect()
}

fn parse_rule(entry: &str) -> Result<Rule, String> {
    let (target, port) = split_port(entry)?;
    Ok(Rule { entry: entry.to_owned(), target: parse_target(target)?, port })
}

/// `[v6 or v6/prefix]:port`, `v4-or-name:port`, or a target without a port (an unbracketed
/// IPv6 address has no port).
fn split_port(entry: &str) -> Result<(&str, Option<u16>), String> {
    let parse_port = |text: &str| match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(Some(port)),
        _ => Err(format!("`{text}` is not a port (1-65535)")),
    };
    if let Some(rest) = entry.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or("it opens `[` without closing it")?;
        return match after {
            "" => Ok((inside, None)),
            _ => Ok((inside, parse_port(after.strip_prefix(':').ok_or("only `:port` may follow `]`")?)?)),
        };
    }
    match entry.split_once(':') {
        Some((target, port)) if !port.contains(':') => Ok((target, parse_port(port)?)),
        _ => Ok((entry, None)),
    }
}

fn parse_target(text: &str) -> Result<Target, String> {
    if let Some((address, prefix)) = text.split_once('/') {
        let network: IpAddr = address.parse().map_err(|_| format!("`{address}` is not an IP address"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("`/{prefix}` is not a prefix length (0-{max})"))?;
        return Ok(canonical_network(network, prefix));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(canonical_network(ip, if ip.is_ipv4() { 32 } else { 128 }));
    }
    let name = normalize_host(text);
    let (pattern, name) = match name.strip_prefix("*.") {
        Some(rest) => (true, rest.to_owned()),
        None => (false, name),
    };
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.is_empty() || !labels.iter().all(label_ok) {
        return Err("it is neither an IP address, a CIDR nor a host name".to_owned());
    }
    if labels.iter().all(|label| label.chars().all(|c| c.is_ascii_digit())) {
        return Err("it looks like an IPv4 address but is not one".to_owned());
    }
    Ok(if pattern { Target::HostSuffix(format!(".{name}")) } else { Target::Host(name) })
}

/// An IPv4-mapped network (`::ffff:10.0.0.0/104`) is kept as the IPv4 network it names, since
/// addresses are compared in their [`canonical`] form.
fn canonical_network(network: IpAddr, prefix: u8) -> Target {
    match (network, canonical(network)) {
        (IpAddr::V6(_), IpAddr::V4(v4)) if prefix >= 96 => Target::Net { network: IpAddr::V4(v4), prefix: prefix - 96 },
        _ => Target::Net { network, prefix },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn refused(policy: &EgressPolicy, host: &str, address: &str) -> Option<String> {
        policy.check(host, addr(address)).err().map(|refusal| refusal.to_string())
    }

    #[test]
    fn loopback_link_local_unspecified_multicast_and_broadcast_are_refused_by_default() {
        let policy = EgressPolicy::default();
        for address in [
            "127.0.0.1:5432",
            "127.8.9.10:80",
            "169.254.169.254:80",
            "100.100.100.200:80",
            "[fd00:ec2::254]:80",
            "0.0.0.0:80",
            "224.0.0.1:5000",
            "255.255.255.255:9",
            "[::1]:5432",
            "[::]:80",
            "[fe80::1]:80",
            "[ff02::1]:80",
            // The same, in IPv6 clothing.
            "[::ffff:127.0.0.1]:5432",
            "[::ffff:169.254.169.254]:80",
            "[::127.0.0.1]:5432",
            "[64:ff9b::7f00:1]:5432",
        ] {
            assert!(refused(&policy, &addr(address).ip().to_string(), address).is_some(), "{address} must be refused");
        }
        for address in [
            "10.1.2.3:5432",
            "192.168.0.10:5432",
            "172.16.5.4:3306",
            "93.184.216.34:443",
            "[2001:db8::1]:443",
            "[fd00::1]:5432",
        ] {
            assert_eq!(refused(&policy, "db", address), None, "{address} must be allowed");
        }
    }

    #[test]
    fn a_refusal_names_the_policy_and_the_variable_that_changes_it() {
        let policy = EgressPolicy::default();
        assert_eq!(
            refused(&policy, "127.0.0.1", "127.0.0.1:5432").unwrap(),
            "127.0.0.1:5432 is refused by the egress policy (loopback); allow it with ENTITY_SPEC_EGRESS_ALLOW=127.0.0.1"
        );
        let metadata = refused(&policy, "metadata.internal", "169.254.169.254:80").unwrap();
        assert!(
            metadata.starts_with("metadata.internal (169.254.169.254:80) is refused by the egress policy (link-local"),
            "{metadata}"
        );
        let mapped = refused(&policy, "::ffff:127.0.0.1", "[::ffff:127.0.0.1]:80").unwrap();
        assert!(mapped.ends_with("ENTITY_SPEC_EGRESS_ALLOW=127.0.0.1"), "{mapped}");
        let denied = EgressPolicy::default().deny("10.0.0.0/8").unwrap();
        assert_eq!(
            refused(&denied, "db.corp", "10.0.0.5:5432").unwrap(),
            "db.corp (10.0.0.5:5432) is refused by the egress policy: ENTITY_SPEC_EGRESS_DENY lists `10.0.0.0/8`"
        );
    }

    #[test]
    fn allow_entries_open_addresses_networks_ports_and_names() {
        let policy =
            EgressPolicy::default().allow("127.0.0.1, ::1, 169.254.0.0/16:80, localhost:5432, *.lab.test").unwrap();
        assert_eq!(refused(&policy, "127.0.0.1", "127.0.0.1:5432"), None);
        assert_eq!(
            refused(&policy, "::ffff:127.0.0.1", "[::ffff:127.0.0.1]:5432"),
            None,
            "mapped form of an allowed address"
        );
        assert_eq!(refused(&policy, "::1", "[::1]:8080"), None);
        assert_eq!(refused(&policy, "169.254.169.254", "169.254.169.254:80"), None);
        assert!(refused(&policy, "169.254.169.254", "169.254.169.254:8080").is_some(), "the entry names port 80 only");
        assert_eq!(refused(&policy, "LOCALHOST.", "127.0.0.2:5432"), None, "names compare case-blind");
        assert!(refused(&policy, "localhost", "127.0.0.2:5433").is_some());
        assert_eq!(refused(&policy, "db.lab.test", "[fe80::1]:1"), None);
        assert!(refused(&policy, "lab.test", "[fe80::1]:1").is_some(), "`*.` matches names below, not the name");
        assert!(refused(&policy, "127.0.0.2", "127.0.0.2:80").is_some(), "127.0.0.1 is one address, not 127/8");
    }

    #[test]
    fn deny_beats_allow_and_denies_private_ranges_when_asked() {
        let policy = EgressPolicy::default()
            .allow("127.0.0.0/8,db.corp")
            .unwrap()
            .deny("127.0.0.1:6379,[::ffff:10.0.0.0/104],*.corp")
            .unwrap();
        assert_eq!(refused(&policy, "127.0.0.1", "127.0.0.1:5432"), None);
        assert!(refused(&policy, "127.0.0.1", "127.0.0.1:6379").unwrap().contains("lists `127.0.0.1:6379`"));
        assert!(refused(&policy, "db.corp", "192.168.1.1:5432").unwrap().contains("lists `*.corp`"));
        assert!(refused(&policy, "x", "10.9.9.9:5432").is_some(), "the mapped network denies the IPv4 one");
        assert!(refused(&policy, "x", "[::ffff:10.9.9.9]:5432").is_some());
        assert_eq!(refused(&policy, "x", "11.0.0.1:5432"), None);
    }

    #[test]
    fn the_own_listener_is_refused_unless_allowed_with_its_port() {
        let policy = EgressPolicy::default().with_own_listener(addr("0.0.0.0:8000")).allow("127.0.0.1").unwrap();
        assert!(refused(&policy, "127.0.0.1", "127.0.0.1:8000").unwrap().contains("own listener"));
        assert!(refused(&policy, "::1", "[::1]:8000").is_some());
        assert_eq!(refused(&policy, "127.0.0.1", "127.0.0.1:5432"), None);
        assert_eq!(refused(&policy, "10.0.0.1", "10.0.0.1:8000"), None, "another host's port 8000");
        let opened = policy.allow("127.0.0.1:8000").unwrap();
        assert_eq!(refused(&opened, "127.0.0.1", "127.0.0.1:8000"), None);
        let public = EgressPolicy::default().with_own_listener(addr("203.0.113.7:443"));
        assert!(refused(&public, "me.example", "203.0.113.7:443").unwrap().contains("ALLOW=203.0.113.7:443"));
    }

    #[test]
    fn a_bad_entry_is_an_error_that_names_it() {
        for (entries, bad) in [
            ("127.0.0.1,10.0.0.0/33", "10.0.0.0/33"),
            ("300.1.1.1", "300.1.1.1"),
            ("db.example.com:99999", "db.example.com:99999"),
            ("[::1", "[::1"),
            ("host name", "host name"),
            ("http://x", "http://x"),
        ] {
            let error = EgressPolicy::default().allow(entries).unwrap_err().to_string();
            assert!(error.starts_with("ENTITY_SPEC_EGRESS_ALLOW: `"), "{error}");
            assert!(error.contains(&format!("`{bad}`")), "{entries}: {error}");
        }
        let error = EgressPolicy::default().deny("*.").unwrap_err().to_string();
        assert!(error.starts_with("ENTITY_SPEC_EGRESS_DENY: `*.`"), "{error}");
    }
}
