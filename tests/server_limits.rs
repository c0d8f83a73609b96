//! The HTTP server's own limits, over real loopback connections: a client that never finishes
//! its request head, or sits idle on a keep-alive connection, is disconnected after the header
//! timeout; connections beyond the cap wait until one closes; shutdown lets the request in
//! flight finish, answers connections whose request had not arrived yet (within the header
//! timeout) and those waiting in the listen queue.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use entity_spec::{ServerLimits, serve_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const REQUEST: &[u8] = b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n";

/// Serves a one-route app with `limits`; the sender stops it.
async fn server(limits: ServerLimits) -> (std::net::SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let app = Router::new().route("/hello", get(|| async { "hello" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            "slow"
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("an address");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve_with(listener, app, limits, async {
            let _ = stopped.await;
        })
        .await
        .expect("serves");
    });
    (address, stop, task)
}

/// Reads until the server closes the connection (bounded, so a failure cannot hang the
/// suite); returns what was read.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open; read so far: {:?}", String::from_utf8_lossy(&received));
    String::from_utf8_lossy(&received).into_owned()
}

fn limits(max_connections: usize) -> ServerLimits {
    ServerLimits { max_connections, header_timeout: Duration::from_millis(300) }
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off_after_the_header_timeout() {
    let (address, _stop, _task) = server(limits(8)).await;
    let mut slow = TcpStream::connect(address).await.expect("connects");
    slow.write_all(b"GET /hello HTTP/1.1\r\nHost: te").await.expect("writes");
    let answer = read_until_closed(&mut slow).await;
    assert!(!answer.contains("hello"), "an unfinished request was answered: {answer}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let (address, _stop, _task) = server(limits(8)).await;
    let mut client = TcpStream::connect(address).await.expect("connects");
    client.write_all(REQUEST).await.expect("writes");
    let answer = read_until_closed(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_one_to_close() {
    let (address, _stop, _task) =
        server(ServerLimits { max_connections: 2, header_timeout: Duration::from_secs(30) }).await;
    let first = TcpStream::connect(address).await.expect("connects");
    let second = TcpStream::connect(address).await.expect("connects");
    // The kernel accepts the third; the server does not serve it while two are open.
    let mut third = TcpStream::connect(address).await.expect("connects");
    third.write_all(b"GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.expect("writes");
    let mut buffer = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buffer)).await;
    assert!(early.is_err(), "a connection beyond the cap was served: {early:?}");

    drop(first);
    let answer = read_until_closed(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"), "{answer}");
    drop(second);
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_then_stops_accepting() {
    let (address, stop, task) = server(limits(8)).await;
    let mut client = TcpStream::connect(address).await.expect("connects");
    client.write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n").await.expect("writes");
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).expect("the server is running");
    let answer = read_until_closed(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("slow"), "{answer}");
    tokio::time::timeout(Duration::from_secs(20), task).await.expect("the server stops").expect("cleanly");
    assert!(TcpStream::connect(address).await.is_err(), "the listener is closed after shutdown");
}

#[tokio::test]
async fn shutdown_answers_the_connections_waiting_in_the_listen_queue() {
    // One connection at a time: while the slow request holds it, the next connection waits in
    // the kernel's listen queue, completed but not accepted, its request sent.
    let (address, stop, task) = server(limits(1)).await;
    let mut slow = TcpStream::connect(address).await.expect("connects");
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n").await.expect("writes");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut queued = TcpStream::connect(address).await.expect("the kernel accepts it");
    queued.write_all(REQUEST).await.expect("writes");
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).expect("the server is running");

    let answer = read_until_closed(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("slow"), "{answer}");
    let answer = read_until_closed(&mut queued).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"), "the queued request: {answer:?}");
    tokio::time::timeout(Duration::from_secs(20), task).await.expect("the server stops").expect("cleanly");
    assert!(TcpStream::connect(address).await.is_err(), "the listener is closed after shutdown");
}

#[tokio::test]
async fn shutdown_answers_a_connection_whose_request_arrives_after_it_began() {
    let (address, stop, task) = server(limits(8)).await;
    let mut client = TcpStream::connect(address).await.expect("connects");
    // Accepted and served, but its request is still on its way when shutdown begins.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).expect("the server is running");
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.write_all(REQUEST).await.expect("writes");
    let answer = read_until_closed(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"), "{answer:?}");
    tokio::time::timeout(Duration::from_secs(20), task).await.expect("the server stops").expect("cleanly");
}

#[tokio::test]
async fn shutdown_waits_for_a_silent_connection_no_longer_than_the_header_timeout() {
    let (address, stop, task) = server(limits(8)).await;
    let mut silent = TcpStream::connect(address).await.expect("connects");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = std::time::Instant::now();
    stop.send(()).expect("the server is running");
    let answer = read_until_closed(&mut silent).await;
    assert!(!answer.contains("200"), "{answer}");
    tokio::time::timeout(Duration::from_secs(20), task).await.expect("the server stops").expect("cleanly");
    // The header timeout is 300 ms here; well under the 20 s a hang would take.
    assert!(stopping.elapsed() < Duration::from_secs(5), "{:?}", stopping.elapsed());
}

/// Sends `request` on a new connection and reads the whole answer (hyper closes the connection
/// after a request it could not parse); returns the status line, the head and the body.
async fn exchange(address: std::net::SocketAddr, request: &[u8]) -> (String, String, String) {
    let mut stream = TcpStream::connect(address).await.expect("connects");
    // The server may answer and close before reading everything: a failed write is fine.
    let _ = stream.write_all(request).await;
    let answer = read_until_closed(&mut stream).await;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn assert_problem(status: &str, head: &str, body: &str, expected: u16) {
    assert!(status.starts_with(&format!("HTTP/1.1 {expected} ")), "{status}\n{head}");
    assert!(head.contains("\r\ncontent-type: application/problem+json"), "{head}");
    assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())), "{head}\n{body}");
    let problem: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(problem["status"], expected, "{problem}");
    assert_eq!(problem["type"], "urn:entity-spec:problem:request-rejected", "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.len() > 20), "{problem}");
}

#[tokio::test]
async fn requests_the_http_parser_refuses_get_problem_bodies() {
    let (address, stop, task) = server(limits(8)).await;

    let long_target = format!("GET /hello?q={} HTTP/1.1\r\nHost: test\r\n\r\n", "a".repeat(100 * 1024));
    let (status, head, body) = exchange(address, long_target.as_bytes()).await;
    assert_problem(&status, &head, &body, 414);

    let many_headers: String = (0..2000).map(|i| format!("X-Header-{i}: value\r\n")).collect();
    let request = format!("GET /hello HTTP/1.1\r\nHost: test\r\n{many_headers}\r\n");
    let (status, head, body) = exchange(address, request.as_bytes()).await;
    assert_problem(&status, &head, &body, 431);

    let (status, head, body) = exchange(address, b"GET /hello world HTTP/1.1\r\nHost: test\r\n\r\n").await;
    assert_problem(&status, &head, &body, 400);
    let (status, head, body) = exchange(address, b"GET /hello HTTP/1.1\r\nBad Header: x\r\n\r\n").await;
    assert_problem(&status, &head, &body, 400);

    // Ordinary requests and responses, including an empty-bodied 404 of this bare router, pass
    // through untouched.
    let (status, _, body) = exchange(address, b"GET /hello HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await;
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", "hello"));
    let (status, head, body) =
        exchange(address, b"GET /missing HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await;
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    assert!(!head.contains("problem+json") && body.is_empty(), "{head}{body}");

    let _ = stop.send(());
    task.await.unwrap();
}
