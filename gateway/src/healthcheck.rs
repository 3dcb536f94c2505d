//! `waitroom healthcheck`: asks a running server's `/healthz` (or
//! `/readyz`) over plain HTTP and turns the answer into an exit status, so a
//! container's HEALTHCHECK needs no curl or shell in the image.

use anyhow::{bail, Context};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest answer read: the status line is all we need, the body of
/// `/readyz` (a few hundred bytes) is printed for whoever runs it by hand.
const MAX_ANSWER: u64 = 16 * 1024;

/// Where to probe a server listening on `listen`: a wildcard address
/// (`0.0.0.0`, `::`) is reached through loopback.
pub fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// `GET path` on `addr` within `timeout`: the status code and the body.
pub async fn probe(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> anyhow::Result<(u16, String)> {
    tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        // HTTP/1.0 with Connection: close: the server ends the body by
        // closing, so no chunked decoding is needed here.
        let request =
            format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: waitroom-healthcheck\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.take(MAX_ANSWER).read_to_end(&mut answer).await?;
        parse(&answer)
    })
    .await
    .with_context(|| format!("no answer from {addr} within {timeout:?}"))?
}

fn parse(answer: &[u8]) -> anyhow::Result<(u16, String)> {
    let text = String::from_utf8_lossy(answer);
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        bail!("not an HTTP answer: {status_line:?}");
    };
    if !version.starts_with("HTTP/") {
        bail!("not an HTTP answer: {status_line:?}");
    }
    let code: u16 = code
        .parse()
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or_else(String::new, |(_, b)| b.trim().to_owned());
    Ok((code, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_addresses_are_probed_on_loopback() {
        let v4: SocketAddr = "0.0.0.0:8080".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(probe_address(v4).to_string(), "127.0.0.1:8080");
        let v6: SocketAddr = "[::]:9000".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(probe_address(v6).to_string(), "[::1]:9000");
        let fixed: SocketAddr = "10.1.2.3:80".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(probe_address(fixed), fixed);
    }

    #[test]
    fn answers_are_parsed_and_garbage_is_refused() {
        let ok = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\r\n{\"status\":\"unavailable\"}";
        let (code, body) = parse(ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(code, 503);
        assert_eq!(body, "{\"status\":\"unavailable\"}");
        assert!(parse(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn probes_a_server_and_times_out_on_a_silent_one() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move {
            // First connection answers; the second is accepted and ignored.
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let n = tokio::io::AsyncReadExt::read(&mut s, &mut buf)
                    .await
                    .unwrap_or(0);
                assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /readyz HTTP/1.0"));
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\n\r\n{\"status\":\"ready\"}")
                    .await;
            }
            let silent = listener.accept().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(silent);
        });
        let (code, body) = probe(addr, "/readyz", Duration::from_secs(2))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!((code, body.as_str()), (200, "{\"status\":\"ready\"}"));
        let silent = probe(addr, "/healthz", Duration::from_millis(300)).await;
        assert!(
            silent.is_err(),
            "a server that never answers fails the check"
        );
    }
}
