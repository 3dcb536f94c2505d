//! A minimal HTTP/1.1 keep-alive client for the hot paths (joins).
//!
//! reqwest/hyper spend several times more CPU per request than the few
//! lines below; on a 2-core machine shared with the server under test that
//! difference is the benchmark. It speaks just enough HTTP for our server:
//! `Content-Length` bodies, keep-alive, optional source address.

use anyhow::{bail, Context, Result};
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A server address taken from `http://IP:PORT`. Only loopback addresses
/// are accepted: the load generator never sends traffic off the machine.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where to connect.
    pub addr: SocketAddr,
    /// The `http://IP:PORT` base, without a trailing slash.
    pub base: String,
}

impl Target {
    /// Parses `http://127.x.y.z:PORT[/]`.
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url
            .trim()
            .strip_prefix("http://")
            .with_context(|| format!("{url}: only http://IP:PORT URLs are supported"))?;
        let hostport = rest.trim_end_matches('/');
        let addr: SocketAddr = hostport
            .parse()
            .with_context(|| format!("{url}: expected http://IP:PORT"))?;
        if !addr.ip().is_loopback() {
            bail!("{url}: refusing a non-loopback address");
        }
        Ok(Self {
            addr,
            base: format!("http://{addr}"),
        })
    }

    /// Parses a comma-separated list.
    pub fn parse_list(urls: &str) -> Result<Vec<Self>> {
        let targets = urls
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Self::parse)
            .collect::<Result<Vec<_>>>()?;
        if targets.is_empty() {
            bail!("no URL given");
        }
        Ok(targets)
    }
}

/// Parses `127.0.0.2,127.0.0.3`; every address must be loopback.
pub fn parse_sources(list: Option<&str>) -> Result<Vec<IpAddr>> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let ip: IpAddr = s.trim().parse().with_context(|| format!("source {s}"))?;
            if !ip.is_loopback() {
                bail!("source {ip} is not a loopback address");
            }
            Ok(ip)
        })
        .collect()
}

/// Opens a TCP connection, from `source` when given. Binding first to
/// `(ip, 0)` gives each source address its own ephemeral port range, which
/// is how one machine opens more than ~28,000 connections to one port.
pub async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let stream = match source {
        None => TcpStream::connect(addr).await?,
        Some(ip) => {
            let socket = if ip.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            socket.bind(SocketAddr::new(ip, 0))?;
            socket.connect(addr).await?
        }
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// One keep-alive connection, reconnected on demand.
pub struct HttpConn {
    target: SocketAddr,
    source: Option<IpAddr>,
    stream: Option<TcpStream>,
    out: Vec<u8>,
    buf: Vec<u8>,
}

/// A parsed response; the body borrows the connection's buffer.
pub struct Response<'a> {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: &'a [u8],
}

impl HttpConn {
    /// A connection to `target` (opened by the first request).
    pub fn new(target: SocketAddr, source: Option<IpAddr>) -> Self {
        Self {
            target,
            source,
            stream: None,
            out: Vec::with_capacity(512),
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends one request and reads the whole response. A request on a
    /// reused connection that the server had already closed is retried
    /// once on a fresh connection.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response<'_>> {
        self.out.clear();
        write!(
            self.out,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.target,
            body.len()
        )?;
        for (k, v) in headers {
            write!(self.out, "{k}: {v}\r\n")?;
        }
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(body);
        let reused = self.stream.is_some();
        let (header_end, length, close) = match self.exchange().await {
            Ok(r) => r,
            Err(Exchange::BeforeResponse(_)) if reused => {
                self.stream = None;
                self.exchange().await.map_err(Exchange::into_error)?
            }
            Err(e) => {
                self.stream = None;
                return Err(e.into_error());
            }
        };
        if close {
            self.stream = None;
        }
        let status = parse_status(&self.buf)?;
        Ok(Response {
            status,
            body: &self.buf[header_end..header_end + length],
        })
    }

    /// Writes `out` and reads one response into `buf`; returns the header
    /// length, the body length and whether the server closes.
    async fn exchange(&mut self) -> std::result::Result<(usize, usize, bool), Exchange> {
        if self.stream.is_none() {
            let s = connect(self.target, self.source)
                .await
                .map_err(|e| Exchange::Failed(e.into()))?;
            self.stream = Some(s);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Exchange::Failed(anyhow::anyhow!("no connection")));
        };
        stream
            .write_all(&self.out)
            .await
            .map_err(|e| Exchange::BeforeResponse(e.into()))?;
        self.buf.clear();
        let mut head: Option<(usize, usize, bool)> = None;
        loop {
            if let Some((end, len, close)) = head {
                if self.buf.len() >= end + len {
                    return Ok((end, len, close));
                }
            }
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(4096);
            }
            let n = stream
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| Exchange::BeforeResponse(e.into()))?;
            if n == 0 {
                let e = anyhow::anyhow!("connection closed by server");
                return Err(if self.buf.is_empty() {
                    Exchange::BeforeResponse(e)
                } else {
                    Exchange::Failed(e)
                });
            }
            if head.is_none() {
                if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                    let (len, close) = parse_head(&self.buf[..end]).map_err(Exchange::Failed)?;
                    head = Some((end + 4, len, close));
                }
            }
        }
    }
}

/// How an exchange failed: before any response byte (safe to retry on a
/// fresh connection) or later.
enum Exchange {
    BeforeResponse(anyhow::Error),
    Failed(anyhow::Error),
}

impl Exchange {
    fn into_error(self) -> anyhow::Error {
        match self {
            Exchange::BeforeResponse(e) | Exchange::Failed(e) => e,
        }
    }
}

fn parse_status(buf: &[u8]) -> Result<u16> {
    // "HTTP/1.1 201 Created"
    let code = buf.get(9..12).context("short status line")?;
    Ok(std::str::from_utf8(code)?.parse()?)
}

/// `(content length, connection: close)` from the header block.
fn parse_head(head: &[u8]) -> Result<(usize, bool)> {
    let mut length = None;
    let mut close = false;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            length = Some(std::str::from_utf8(value)?.parse::<usize>()?);
        } else if name.eq_ignore_ascii_case(b"connection") {
            close = value.eq_ignore_ascii_case(b"close");
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            bail!("chunked responses are not supported by this client");
        }
    }
    Ok((length.unwrap_or(0), close))
}

/// First position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The string value after `pattern` (e.g. `"queue_token":"`), up to the next
/// quote. Our tokens and ids never contain escapes.
pub fn str_after<'a>(body: &'a [u8], pattern: &[u8]) -> Option<&'a str> {
    let start = find(body, pattern)? + pattern.len();
    let len = body[start..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&body[start..start + len]).ok()
}

/// The unsigned integer after `pattern` (e.g. `"at":`).
pub fn u64_after(body: &[u8], pattern: &[u8]) -> Option<u64> {
    let start = find(body, pattern)? + pattern.len();
    let digits = body[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    std::str::from_utf8(&body[start..start + digits])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_fields() {
        let m = br#"{"type":"position","position":12,"ahead":11,"eta_seconds":null,"waiting":40,"at":1700000000123}"#;
        assert_eq!(str_after(m, br#""type":""#), Some("position"));
        assert_eq!(u64_after(m, br#""at":"#), Some(1_700_000_000_123));
        assert_eq!(u64_after(m, br#""eta_seconds":"#), None);
    }

    #[test]
    fn parses_heads() {
        let h = b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nContent-Length: 17\r\nConnection: close";
        assert_eq!(parse_head(h).ok(), Some((17, true)));
        assert_eq!(parse_status(h).ok(), Some(201));
    }

    #[test]
    fn refuses_remote_targets() {
        assert!(Target::parse("http://127.0.0.1:80").is_ok());
        assert!(Target::parse("http://10.0.0.1:80").is_err());
        assert!(parse_sources(Some("127.0.0.2,8.8.8.8")).is_err());
    }
}
