//! The listener's bounds, over real sockets: half-sent headers are cut at
//! the header timeout, over-cap connections get a fast JSON refusal, one
//! address cannot hold every connection or WebSocket, and `/healthz` keeps
//! answering throughout.

use crate::helpers::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// What a refused connection was told.
struct Answer {
    status: u16,
    head: String,
    body: serde_json::Value,
}

/// Reads one HTTP answer (headers and a `content-length` body) from `s`,
/// or `None` when nothing complete arrives within `within`.
async fn read_answer(s: &mut TcpStream, within: Duration) -> Option<Answer> {
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let status = head.split(' ').nth(1)?.parse().ok()?;
                let body = serde_json::from_slice(&buf[end + 4..end + 4 + len])
                    .unwrap_or(serde_json::Value::Null);
                return Some(Answer { status, head, body });
            }
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

/// A raw keep-alive connection that has completed one `/healthz`.
async fn healthz_connection(app: &TestApp) -> TcpStream {
    let mut s = TcpStream::connect(app.addr).await.expect("connect");
    let a = healthz_on(&mut s).await.expect("healthz answers");
    assert_eq!(a.status, 200);
    s
}

async fn healthz_on(s: &mut TcpStream) -> Option<Answer> {
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .ok()?;
    read_answer(s, Duration::from_secs(2)).await
}

/// Whether the server closed `s` (end of stream or reset) within `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn half_sent_headers_are_cut_and_over_cap_connections_get_a_fast_503() {
    let app = spawn_with(|s| {
        s.connections.max_connections = 40;
        s.connections.max_connections_per_ip = 0;
        s.connections.header_read_timeout_seconds = 1;
        s.connections.idle_timeout_seconds = 60;
    })
    .await;
    // A monitor's connection, opened before the flood.
    let mut probe = healthz_connection(&app).await;

    // 70 sockets that send half a header, against a cap of 40, opened
    // together (well inside the 1 s header timeout).
    let mut sockets = Vec::new();
    for _ in 0..70 {
        let mut s = TcpStream::connect(app.addr).await.expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\nx-slow: ")
            .await
            .expect("write");
        sockets.push(s);
    }
    let answers = futures::future::join_all(
        sockets
            .iter_mut()
            .map(|s| read_answer(s, Duration::from_millis(400))),
    )
    .await;
    let mut half_open = Vec::new();
    let mut refused = 0;
    for (answer, s) in answers.into_iter().zip(sockets) {
        match answer {
            Some(a) => {
                assert_eq!(a.status, 503, "{}", a.head);
                assert_eq!(a.body["error"]["code"], "service_unavailable");
                assert!(a.head.contains("retry-after: 5"), "{}", a.head);
                refused += 1;
            }
            None => half_open.push(s),
        }
    }
    assert!(
        refused >= 20,
        "only {refused} of 70 refused against a cap of 40"
    );
    // The monitor still gets its answer, at once.
    let started = Instant::now();
    let a = healthz_on(&mut probe)
        .await
        .expect("healthz during the flood");
    assert_eq!(a.status, 200);
    assert!(started.elapsed() < Duration::from_millis(500));

    // The header timeout (1 s) closes every half-sent request.
    for s in &mut half_open {
        assert!(
            closed_within(s, Duration::from_secs(4)).await,
            "a half-sent header was kept open"
        );
    }
    // With their places back, new connections are served again.
    let r = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    let a = healthz_on(&mut probe)
        .await
        .expect("healthz after the flood");
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let app = spawn_with(|s| {
        s.connections.header_read_timeout_seconds = 1;
        s.connections.idle_timeout_seconds = 1;
    })
    .await;
    let mut idle = healthz_connection(&app).await;
    assert!(closed_within(&mut idle, Duration::from_secs(4)).await);
    // A connection that never sends a byte is cut as well.
    let mut silent = TcpStream::connect(app.addr).await.expect("connect");
    assert!(closed_within(&mut silent, Duration::from_secs(4)).await);
}

#[tokio::test]
async fn one_address_cannot_hold_every_connection_unless_it_is_a_trusted_proxy() {
    let app = spawn_with(|s| {
        s.connections.max_connections_per_ip = 4;
    })
    .await;
    // The test client's own pooled connection counts too, so the refusal
    // comes at the fourth raw connection or before.
    let mut open = Vec::new();
    let mut answer = None;
    for _ in 0..5 {
        let mut s = TcpStream::connect(app.addr).await.expect("connect");
        match healthz_on(&mut s).await {
            Some(a) if a.status == 200 => open.push(s),
            other => {
                answer = other;
                break;
            }
        }
    }
    let a = answer.expect("a refusal within five connections");
    assert_eq!(a.status, 429, "{}", a.head);
    assert_eq!(a.body["error"]["code"], "too_many_connections");
    assert!(a.head.contains("retry-after:"), "{}", a.head);
    assert!(!open.is_empty());
    // Closing one gives its place back.
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut s = TcpStream::connect(app.addr).await.expect("connect");
        if healthz_on(&mut s).await.is_some_and(|a| a.status == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the place never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The same cap does not apply to a trusted proxy's connections.
    let proxied = spawn_with(|s| {
        s.connections.max_connections_per_ip = 2;
        s.edge.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let mut many = Vec::new();
    for i in 0..8 {
        let mut s = TcpStream::connect(proxied.addr).await.expect("connect");
        let a = healthz_on(&mut s).await.expect("answer");
        assert_eq!(a.status, 200, "proxy connection {i}: {}", a.head);
        many.push(s);
    }
}

/// A WebSocket request for `event` as `token`, from `client` behind the
/// trusted proxy.
async fn ws_from(
    app: &TestApp,
    event: &str,
    token: &str,
    client: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://{}/api/v1/queue/{event}/ws", app.addr)
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("x-queue-token", token.parse().expect("header"));
    req.headers_mut()
        .insert("x-forwarded-for", client.parse().expect("header"));
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

#[tokio::test]
async fn websockets_are_capped_per_client_behind_a_proxy() {
    let app = spawn_with(|s| {
        s.edge.trusted_proxies = "127.0.0.1".into();
        s.connections.max_websockets_per_ip = 2;
    })
    .await;
    app.create_queue("wscap", queue(0, 10)).await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let j = app.join("wscap").await;
        tokens.push(j["queue_token"].as_str().expect("token").to_owned());
    }
    let first = ws_from(&app, "wscap", &tokens[0], "203.0.113.7")
        .await
        .expect("first socket");
    let _second = ws_from(&app, "wscap", &tokens[1], "203.0.113.7")
        .await
        .expect("second socket");
    match ws_from(&app, "wscap", &tokens[2], "203.0.113.7").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 429);
            assert!(resp.headers().contains_key("retry-after"));
            let body: serde_json::Value =
                serde_json::from_slice(resp.body().as_deref().unwrap_or_default())
                    .expect("json body");
            assert_eq!(body["error"]["code"], "too_many_connections");
        }
        Err(e) => panic!("third socket: unexpected error {e}"),
        Ok(_) => panic!("a third socket from one client was accepted"),
    }
    // Another client behind the same proxy is not affected.
    let _other = ws_from(&app, "wscap", &tokens[3], "203.0.113.8")
        .await
        .expect("another client's socket");
    // Closing a socket gives its slot back.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if ws_from(&app, "wscap", &tokens[4], "203.0.113.7")
            .await
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the slot never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn websockets_over_the_process_cap_get_a_fast_socket_capacity_refusal() {
    let app = spawn_with(|s| {
        s.edge.trusted_proxies = "127.0.0.1".into();
        s.connections.max_sockets = 3;
    })
    .await;
    app.create_queue("sockcap", queue(0, 10)).await;
    let mut tokens = Vec::new();
    for _ in 0..6 {
        let j = app.join("sockcap").await;
        tokens.push(j["queue_token"].as_str().expect("token").to_owned());
    }
    // Three clients, each well under the per-client cap, fill the process.
    let mut open = Vec::new();
    for (i, client) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .iter()
        .enumerate()
    {
        open.push(
            ws_from(&app, "sockcap", &tokens[i], client)
                .await
                .unwrap_or_else(|e| panic!("socket {i}: {e}")),
        );
    }
    let refused = |r: Result<Ws, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503);
            assert_eq!(
                resp.headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                Some("2")
            );
            let body: serde_json::Value =
                serde_json::from_slice(resp.body().as_deref().unwrap_or_default())
                    .expect("json body");
            assert_eq!(body["error"]["code"], "socket_capacity");
        }
        Err(e) => panic!("over the cap: unexpected error {e}"),
        Ok(_) => panic!("a socket over the process cap was accepted"),
    };
    let started = Instant::now();
    refused(ws_from(&app, "sockcap", &tokens[3], "203.0.113.4").await);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the refusal took {:?}",
        started.elapsed()
    );
    // The refused fan can still follow its place over plain requests.
    let status = app
        .http
        .get(app.url("/api/v1/queue/sockcap/status"))
        .header("x-queue-token", &tokens[3])
        .send()
        .await
        .expect("status");
    assert_eq!(status.status(), 200);
    // A refusal takes no slot: closing one socket lets exactly one in.
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(3);
    let fourth = loop {
        match ws_from(&app, "sockcap", &tokens[3], "203.0.113.4").await {
            Ok(ws) => break ws,
            Err(_) => {
                assert!(Instant::now() < deadline, "the slot never came back");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    refused(ws_from(&app, "sockcap", &tokens[4], "203.0.113.5").await);
    drop(fourth);
}
