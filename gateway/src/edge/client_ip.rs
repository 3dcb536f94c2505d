//! Who is asking: the client address from the socket, or from the one
//! forwarding header our proxies write (`forwarded_header`: `X-Forwarded-For`,
//! `Forwarded` or `X-Real-IP`) when (and only when) the socket's peer is a
//! trusted proxy. Only that header is read: a proxy that writes `Forwarded`
//! passes a client's own `X-Forwarded-For` through untouched, and reading
//! it would let the client pick its address. Everything keyed by client (rate limits, places per IP,
//! CAPTCHA `remoteip`) uses the [`ClientIp`] this module puts in the
//! request's extensions.

use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Only this many hops from the right of a forwarding header are read: a
/// chain of proxies is short, and a client can pad the left without limit.
const MAX_HOPS: usize = 16;

/// The client of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp {
    /// The client as best we know it.
    pub ip: IpAddr,
    /// The socket's peer (the client itself, or the last proxy).
    pub peer: IpAddr,
}

impl ClientIp {
    /// The key limits are counted under: the address, or its /64 for IPv6,
    /// because one IPv6 subscriber usually holds a whole /64.
    pub fn group(&self) -> IpGroup {
        IpGroup::of(self.ip)
    }
}

/// An IPv4 address or an IPv6 /64: what one subscriber controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpGroup(IpAddr);

impl IpGroup {
    /// The group of `ip` (IPv4-mapped IPv6 counts as the IPv4 address).
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                Self(IpAddr::V6(Ipv6Addr::from(bits)))
            }
        }
    }
}

impl fmt::Display for IpGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// The forwarding header the trusted proxies write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …` (nginx, HAProxy, most ingresses).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
    /// `X-Real-IP: client`: one address, set (not appended) by the proxy.
    XRealIp,
}

/// The proxies whose forwarding header we believe.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Parses comma-separated CIDRs (a bare address means just that one).
    pub fn parse(list: &str) -> Result<Self, String> {
        let nets = super::settings::split_list(list)
            .iter()
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("trusted_proxies: {item:?} is not an address or CIDR"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            nets,
            header: ForwardedHeader::default(),
        })
    }

    /// Reads `header` (and only it) from trusted proxies.
    pub fn reading(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// Whether `ip` is one of ours.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request that arrived from `peer` with `headers`.
    ///
    /// Reads the forwarding chain from the right, where our own proxies
    /// appended what they saw: the first hop that is not a trusted proxy is
    /// the client. Anything that does not parse stops the walk (everything
    /// left of it was written by the client and may be invented), and so
    /// does the hop limit.
    pub fn client(&self, peer: SocketAddr, headers: &axum::http::HeaderMap) -> ClientIp {
        let peer = peer.ip().to_canonical();
        let mut ip = peer;
        if self.contains(peer) {
            for hop in forwarded_hops(self.header, headers) {
                match hop {
                    Some(h) if self.contains(h) => ip = h,
                    Some(h) => {
                        ip = h;
                        break;
                    }
                    None => break,
                }
            }
        }
        ClientIp { ip, peer }
    }
}

/// The hops of `header`, right to left, at most [`MAX_HOPS`]; `None` marks
/// a hop that is not an address.
fn forwarded_hops(header: ForwardedHeader, headers: &axum::http::HeaderMap) -> Vec<Option<IpAddr>> {
    let joined = |name: &str| -> String {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let list = match header {
        ForwardedHeader::XForwardedFor => joined("x-forwarded-for"),
        ForwardedHeader::Forwarded => joined("forwarded"),
        ForwardedHeader::XRealIp => {
            // One value, written by the proxy; several lines are not ours.
            let mut values = headers.get_all("x-real-ip").iter();
            return match (values.next(), values.next()) {
                (Some(v), None) => vec![v.to_str().ok().and_then(|v| parse_hop(v.trim()))],
                _ => Vec::new(),
            };
        }
    };
    if list.is_empty() {
        return Vec::new();
    }
    let hops = list.rsplit(',').take(MAX_HOPS);
    match header {
        ForwardedHeader::Forwarded => hops
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_hop(v.trim().trim_matches('"')))
            })
            .collect(),
        _ => hops.map(|h| parse_hop(h.trim())).collect(),
    }
}

/// One hop: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_hop(s: &str) -> Option<IpAddr> {
    if s.len() > 64 {
        return None;
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    // `[v6]` without a port, as `Forwarded` writes it.
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|v6| v6.parse::<Ipv6Addr>().ok())
        .map(|v6| IpAddr::V6(v6).to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().expect("ip"), 40000)
    }

    #[test]
    fn untrusted_peers_cannot_claim_another_address() {
        let t = TrustedProxies::parse("").expect("empty");
        let h = headers(&[("x-forwarded-for", "9.9.9.9"), ("forwarded", "for=8.8.8.8")]);
        assert_eq!(t.client(peer("1.2.3.4"), &h).ip.to_string(), "1.2.3.4");
    }

    #[test]
    fn trusted_chains_are_read_from_the_right() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").expect("cidrs");
        // The client wrote "6.6.6.6"; our edge proxy saw 5.5.5.5 and the
        // inner proxy 10.1.1.1 forwarded it.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 5.5.5.5, 10.1.1.1")]);
        assert_eq!(t.client(peer("10.0.0.2"), &h).ip.to_string(), "5.5.5.5");
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:443\";proto=https",
        )]);
        let fwd = t.clone().reading(ForwardedHeader::Forwarded);
        assert_eq!(
            fwd.client(peer("192.168.1.1"), &h).ip.to_string(),
            "2001:db8::7"
        );
        // Several header lines form one list.
        let h = headers(&[
            ("x-forwarded-for", "7.7.7.7"),
            ("x-forwarded-for", "5.5.5.5:1234"),
        ]);
        assert_eq!(t.client(peer("10.0.0.2"), &h).ip.to_string(), "5.5.5.5");
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // The proxy writes `Forwarded`; the client sent its own
        // `X-Forwarded-For`, which the proxy passed through.
        let t = TrustedProxies::parse("10.0.0.0/8")
            .expect("cidrs")
            .reading(ForwardedHeader::Forwarded);
        let h = headers(&[("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=5.5.5.5")]);
        assert_eq!(t.client(peer("10.0.0.2"), &h).ip.to_string(), "5.5.5.5");
        let h = headers(&[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(t.client(peer("10.0.0.2"), &h).ip.to_string(), "10.0.0.2");
        // And the other way round.
        let t = t.reading(ForwardedHeader::XForwardedFor);
        let h = headers(&[("forwarded", "for=1.1.1.1")]);
        assert_eq!(t.client(peer("10.0.0.2"), &h).ip.to_string(), "10.0.0.2");
        let t = t.reading(ForwardedHeader::XRealIp);
        let h = headers(&[("x-real-ip", "5.5.5.5"), ("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(t.client(peer("10.0.0.2"), &h).ip.to_string(), "5.5.5.5");
        let h = headers(&[("x-real-ip", "5.5.5.5"), ("x-real-ip", "1.1.1.1")]);
        assert_eq!(t.client(peer("10.0.0.2"), &h).ip.to_string(), "10.0.0.2");
    }

    #[test]
    fn garbage_and_huge_headers_are_ignored() {
        let t = TrustedProxies::parse("10.0.0.0/8").expect("cidrs");
        for bad in ["", "not-an-ip", "unknown", "999.1.1.1", "_hidden"] {
            let h = headers(&[("x-forwarded-for", bad)]);
            assert_eq!(
                t.client(peer("10.0.0.2"), &h).ip.to_string(),
                "10.0.0.2",
                "{bad:?}"
            );
        }
        let huge = vec!["1.1.1.1"; 5_000].join(",") + ",4.4.4.4";
        let h = headers(&[("x-forwarded-for", &huge)]);
        assert_eq!(t.client(peer("10.0.0.2"), &h).ip.to_string(), "4.4.4.4");
        // Only trusted hops all the way: the leftmost one we read.
        let many = vec!["10.9.9.9"; 40].join(",");
        let h = headers(&[("x-forwarded-for", &many)]);
        assert_eq!(t.client(peer("10.0.0.2"), &h).ip.to_string(), "10.9.9.9");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn ipv6_clients_are_grouped_by_64() {
        let a = IpGroup::of("2001:db8:1:2:aaaa::1".parse().expect("ip"));
        let b = IpGroup::of("2001:db8:1:2:bbbb::9".parse().expect("ip"));
        let c = IpGroup::of("2001:db8:1:3::1".parse().expect("ip"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        let mapped = IpGroup::of("::ffff:1.2.3.4".parse().expect("ip"));
        assert_eq!(mapped.to_string(), "1.2.3.4");
    }
}
