//! The load generator: a minimal HTTP/1.1 client over tokio `TcpStream` (request line,
//! headers, `Content-Length` body; responses framed by `Content-Length` or chunked), driving a
//! service with a fixed number of concurrent keep-alive connections.
//!
//! Only the readiness API of `TcpStream` (`readable`/`try_read`, `writable`/`try_write`) is
//! used, so nothing beyond tokio's `net` feature is needed.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// One keep-alive connection to the service under test.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` that hold data read from the socket.
    filled: usize,
    /// Where the last response ended (its bytes stay readable until the next request).
    consumed: usize,
    /// The header block of the last response (status line included).
    head: std::ops::Range<usize>,
    /// The body of the last response, when it was sent with `Content-Length`.
    body: std::ops::Range<usize>,
    /// The body of the last response, when it was chunked.
    chunked: Option<Vec<u8>>,
}

impl Conn {
    /// Opens a connection (`TCP_NODELAY`, as the server side sets it too).
    pub async fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: vec![0; 64 * 1024], filled: 0, consumed: 0, head: 0..0, body: 0..0, chunked: None })
    }

    /// Sends one complete request and reads the whole response; returns its status.
    pub async fn send(&mut self, request: &[u8]) -> io::Result<u16> {
        // Forget the previous response; keep anything the server sent after it (nothing, as
        // requests are not pipelined).
        self.buf.copy_within(self.consumed..self.filled, 0);
        self.filled -= self.consumed;
        self.consumed = 0;
        self.chunked = None;
        self.write_all(request).await?;

        let head_end = loop {
            if let Some(at) = find(&self.buf[..self.filled], b"\r\n\r\n") {
                break at + 4;
            }
            self.read_more().await?;
        };
        self.head = 0..head_end;
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| invalid("response head is not UTF-8"))?;
        let status = head
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| invalid("bad status line"))?;
        let mut content_length = None;
        let mut chunked = false;
        for line in head.split("\r\n").skip(1) {
            let Some((name, value)) = line.split_once(':') else { continue };
            if name.eq_ignore_ascii_case("content-length") {
                content_length = Some(value.trim().parse::<usize>().map_err(|_| invalid("bad content-length"))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") && value.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
        }
        if chunked {
            self.read_chunked(head_end).await?;
        } else {
            let length = match (content_length, status) {
                (Some(length), _) => length,
                (None, 204 | 304) => 0,
                (None, _) => return Err(invalid("response without Content-Length or chunked encoding")),
            };
            while self.filled < head_end + length {
                self.read_more().await?;
            }
            self.body = head_end..head_end + length;
            self.consumed = head_end + length;
        }
        Ok(status)
    }

    /// The body of the last response.
    pub fn body(&self) -> &[u8] {
        match &self.chunked {
            Some(body) => body,
            None => &self.buf[self.body.clone()],
        }
    }

    /// A header of the last response (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        let head = std::str::from_utf8(&self.buf[self.head.clone()]).ok()?;
        head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    async fn read_chunked(&mut self, start: usize) -> io::Result<()> {
        let mut body = Vec::new();
        let mut at = start;
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf[at..self.filled], b"\r\n") {
                    break at + i;
                }
                self.read_more().await?;
            };
            let size_text = std::str::from_utf8(&self.buf[at..line_end]).map_err(|_| invalid("bad chunk size"))?;
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
            at = line_end + 2;
            if size == 0 {
                // No trailers are expected: the last chunk is followed by an empty line.
                while self.filled < at + 2 {
                    self.read_more().await?;
                }
                self.consumed = at + 2;
                self.chunked = Some(body);
                return Ok(());
            }
            while self.filled < at + size + 2 {
                self.read_more().await?;
            }
            body.extend_from_slice(&self.buf[at..at + size]);
            at += size + 2;
        }
    }

    async fn read_more(&mut self) -> io::Result<()> {
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            self.stream.readable().await?;
            match self.stream.try_read(&mut self.buf[self.filled..]) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection")),
                Ok(n) => {
                    self.filled += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    async fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            self.stream.writable().await?;
            match self.stream.try_write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// Appends a GET request for `path` to `out`, with `headers` (whole `Name: value\r\n` lines).
pub fn get(out: &mut Vec<u8>, path: &str, headers: &str) {
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n");
    out.extend_from_slice(headers.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends a POST request with a JSON body to `out`, with `headers` as in [`get`].
pub fn post_json(out: &mut Vec<u8>, path: &str, body: &[u8], headers: &str) {
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(
        b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Type: application/json\r\n",
    );
    out.extend_from_slice(headers.as_bytes());
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
}

/// Per-connection state handed to a workload when it builds a request.
pub struct Ctx {
    /// Which connection (0..C).
    pub conn: usize,
    /// How many requests this connection has built so far (warm-up included).
    pub seq: u64,
    rng: u64,
}

impl Ctx {
    /// A xorshift64* step: cheap, and identical sequences for both services.
    pub fn next_u64(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Appends the next request to the (cleared) buffer.
pub type MakeRequest = Arc<dyn Fn(&mut Ctx, &mut Vec<u8>) + Send + Sync>;

/// What to send: a request builder and the status every response must have.
#[derive(Clone)]
pub struct Workload {
    /// Expected status (anything else counts as an error).
    pub expect: u16,
    /// Builds each request.
    pub make: MakeRequest,
}

/// How hard and how long to drive one service.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Requests sent (in total, over all connections) before measuring.
    pub warmup: u64,
    /// At most this many measured requests…
    pub max_requests: u64,
    /// …and for at most this long.
    pub max_time: Duration,
}

/// On-CPU time of every thread of process `pid` (`"self"` for this one), summed from
/// `/proc/PID/task/*/schedstat` (nanoseconds; Linux only, `None` elsewhere). Threads that
/// ended in between are missed; the services keep theirs.
fn process_cpu(pid: &str) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let on_cpu = tasks
        .flatten()
        .filter_map(|task| {
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            schedstat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum();
    Some(on_cpu)
}

/// Busy time of the whole machine (all CPUs, everything but idle and iowait) from
/// `/proc/stat`; Linux only.
fn machine_busy() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    // USER_HZ is 100 on every Linux configuration that matters here.
    Some(Duration::from_millis((total - idle) * 10))
}

/// One measured run.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Measured requests completed.
    pub requests: u64,
    /// Responses with an unexpected status.
    pub errors: u64,
    /// Wall time of the measured phase.
    pub elapsed: Duration,
    /// Latency of every measured request, sorted, in nanoseconds.
    pub latencies: Vec<u64>,
    /// CPU time of the service process's threads (SQLite's worker threads included; not a
    /// PostgreSQL server) during the measured phase.
    pub service_cpu: Option<Duration>,
    /// CPU time used outside the service and the load generator during the measured phase
    /// (other builds and processes competing for the cores; with PostgreSQL, also the
    /// database server).
    pub outside_cpu: Option<Duration>,
}

impl Stats {
    /// Requests per second.
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Service CPU time per request, in microseconds.
    pub fn cpu_per_request_us(&self) -> Option<f64> {
        self.service_cpu.map(|cpu| cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64)
    }

    /// Average number of cores busy outside the service and the load generator during the
    /// measured phase.
    pub fn outside_cores(&self) -> Option<f64> {
        self.outside_cpu.map(|cpu| cpu.as_secs_f64() / self.elapsed.as_secs_f64())
    }

    /// The `p`-th percentile latency (0–100), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[index] as f64 / 1e6
    }
}

struct Worker {
    conn: Conn,
    ctx: Ctx,
    request: Vec<u8>,
}

/// Opens `config.connections` connections, warms up, then measures. Must run on the load
/// generator's runtime (it spawns one task per connection).
pub async fn run(
    addr: SocketAddr,
    service_pid: u32,
    workload: Workload,
    config: Config,
    seed: u64,
) -> io::Result<Stats> {
    let mut workers = Vec::with_capacity(config.connections);
    for conn in 0..config.connections {
        let rng = (seed ^ (conn as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1;
        workers.push(Worker { conn: Conn::connect(addr).await?, ctx: Ctx { conn, seq: 0, rng }, request: Vec::new() });
    }
    let far = Instant::now() + Duration::from_secs(3600);
    let (workers, _, _) = drive(workers, &workload, config.warmup, far, false).await?;
    let service = service_pid.to_string();
    let (service_before, own_before, busy_before) = (process_cpu(&service), process_cpu("self"), machine_busy());
    let start = Instant::now();
    let (_, mut latencies, errors) =
        drive(workers, &workload, config.max_requests, start + config.max_time, true).await?;
    let elapsed = start.elapsed();
    let (service_after, own_after, busy_after) = (process_cpu(&service), process_cpu("self"), machine_busy());
    let used = |before: Option<u64>, after: Option<u64>| Some(Duration::from_nanos(after?.saturating_sub(before?)));
    let service_cpu = used(service_before, service_after);
    let outside_cpu = match (busy_before, busy_after, service_cpu, used(own_before, own_after)) {
        (Some(before), Some(after), Some(service), Some(own)) => {
            Some(after.saturating_sub(before).saturating_sub(service).saturating_sub(own))
        }
        _ => None,
    };
    latencies.sort_unstable();
    Ok(Stats { requests: latencies.len() as u64, errors, elapsed, latencies, service_cpu, outside_cpu })
}

/// Every worker sends requests until `budget` requests were started in all or `deadline`
/// passed.
async fn drive(
    workers: Vec<Worker>,
    workload: &Workload,
    budget: u64,
    deadline: Instant,
    record: bool,
) -> io::Result<(Vec<Worker>, Vec<u64>, u64)> {
    let started = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(workers.len());
    for mut worker in workers {
        let started = Arc::clone(&started);
        let workload = workload.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(if record { 4096 } else { 0 });
            let mut errors = 0u64;
            while started.fetch_add(1, Ordering::Relaxed) < budget && Instant::now() < deadline {
                worker.request.clear();
                (workload.make)(&mut worker.ctx, &mut worker.request);
                worker.ctx.seq += 1;
                let sent = Instant::now();
                let status = worker.conn.send(&worker.request).await?;
                if record {
                    latencies.push(sent.elapsed().as_nanos() as u64);
                }
                if status != workload.expect {
                    if errors == 0 {
                        eprintln!(
                            "    unexpected status {status} (expected {}): {}",
                            workload.expect,
                            String::from_utf8_lossy(&worker.conn.body()[..worker.conn.body().len().min(300)])
                        );
                    }
                    errors += 1;
                }
            }
            Ok::<_, io::Error>((worker, latencies, errors))
        }));
    }
    let mut workers = Vec::with_capacity(tasks.len());
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (worker, lat, err) = task.await.map_err(io::Error::other)??;
        workers.push(worker);
        latencies.extend(lat);
        errors += err;
    }
    Ok((workers, latencies, errors))
}
