//! `my-service healthcheck`: asks the service on `BIND_ADDR` for `GET /healthz` and exits 0 when
//! it answers 200. A container's `HEALTHCHECK` runs it, so the runtime image needs no curl (and
//! no shell). Plain HTTP/1.1 over std's TCP: one request to the process's own port.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use entity_spec_contract::paths::HEALTHZ_PATH;

/// How long the whole probe may take: under Docker's default `HEALTHCHECK --timeout` of 30 s
/// and any orchestrator's probe timeout.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The address to probe for a service listening on `bind_addr`: a wildcard address
/// (`0.0.0.0`, `::`) is reached through the loopback address of its family.
fn target(bind_addr: &str) -> Result<SocketAddr, String> {
    let addr = bind_addr
        .to_socket_addrs()
        .map_err(|e| format!("BIND_ADDR `{bind_addr}` is not an address: {e}"))?
        .next()
        .ok_or_else(|| format!("BIND_ADDR `{bind_addr}` resolves to no address"))?;
    Ok(match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    })
}

/// `GET /healthz` on the service listening on `bind_addr`: `Ok` with the status line when it
/// answers 200 within `timeout`, else why not.
pub fn probe(bind_addr: &str, timeout: Duration) -> Result<String, String> {
    let addr = target(bind_addr)?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let request = format!("GET {HEALTHZ_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| format!("{addr}: {e}"))?;
    // The status line is all that is read: the head of a tiny response, bounded.
    let mut head = [0u8; 256];
    let mut read = 0;
    while read < head.len() && !head[..read].contains(&b'\n') {
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(format!("{addr}: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&head[..read]);
    let status_line = text.lines().next().unwrap_or("").trim().to_owned();
    match status_line.strip_prefix("HTTP/").and_then(|rest| rest.split_whitespace().nth(1)) {
        Some("200") => Ok(format!("{addr}{HEALTHZ_PATH}: {status_line}")),
        Some(_) => Err(format!("{addr}{HEALTHZ_PATH} answered `{status_line}`")),
        None => Err(format!("{addr}{HEALTHZ_PATH} did not answer HTTP")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_are_probed_on_loopback() {
        assert_eq!(target("0.0.0.0:8000").unwrap(), "127.0.0.1:8000".parse().unwrap());
        assert_eq!(target("[::]:9000").unwrap(), "[::1]:9000".parse().unwrap());
        assert_eq!(target("10.1.2.3:80").unwrap(), "10.1.2.3:80".parse().unwrap());
        assert!(target("no port").unwrap_err().contains("BIND_ADDR `no port`"));
    }

    #[test]
    fn a_200_passes_and_anything_else_fails() {
        use std::net::TcpListener;
        let answer = |reply: &'static str| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let server = std::thread::spawn(move || {
                let (mut conn, _) = listener.accept().unwrap();
                let mut buf = [0u8; 1024];
                let n = conn.read(&mut buf).unwrap();
                assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /healthz HTTP/1.1\r\n"));
                conn.write_all(reply.as_bytes()).unwrap();
            });
            let outcome = probe(&addr, PROBE_TIMEOUT);
            server.join().unwrap();
            outcome
        };
        assert!(answer("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap().ends_with("HTTP/1.1 200 OK"));
        assert!(answer("HTTP/1.1 503 Service Unavailable\r\n\r\n").unwrap_err().contains("503"));
        assert!(answer("SSH-2.0-OpenSSH\r\n").unwrap_err().contains("did not answer HTTP"));
        // Nobody listening: refused at once, not after the timeout.
        let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
        assert!(probe(&free, PROBE_TIMEOUT).is_err());
    }
}
