//! Whether the Redis behind `REDIS_URL` can serve as the queue store: a
//! read-only replica answers `READONLY` to every write, and a Cluster node
//! reached through a plain `redis://` URL answers `MOVED` to most keys. Both
//! connect, load scripts and answer PING, so a PING-only readiness check
//! calls them ready. This asks the server what it is (`INFO`).
//!
//! Unreachable is a different matter: every process shares the store, so
//! all of them lose it at once, and taking them all out of the load
//! balancer would cut off the fans being told "reconnecting". That is
//! reported (readiness body, `waitroom_queue_store_up`), not failed.

use fred::clients::Client;
use fred::interfaces::ClientLike;
use fred::types::config::Config;
use fred::types::InfoKind;

/// How the URL asks to reach Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    /// `redis://` or `rediss://`: one server, which must be a primary and
    /// not a Cluster node.
    Single,
    /// `redis-sentinel://`: Sentinel picks the primary; it must be one.
    Sentinel,
    /// `redis-cluster://`: the client follows the slots; nothing to check.
    Cluster,
}

impl UrlKind {
    /// Classifies a Redis URL by its scheme.
    pub fn of(url: &str) -> Self {
        let scheme = url.split("://").next().unwrap_or_default();
        if scheme.ends_with("-cluster") {
            Self::Cluster
        } else if scheme.ends_with("-sentinel") {
            Self::Sentinel
        } else {
            Self::Single
        }
    }
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Usable.
    Ok,
    /// Reachable but unusable through this URL: the reason.
    Wrong(String),
    /// Not answering: the error.
    Unreachable(String),
}

/// Judges an `INFO` answer for a URL of `kind`.
pub fn judge(kind: UrlKind, info: &str) -> Mode {
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    if kind == UrlKind::Cluster {
        return Mode::Ok;
    }
    if let Some(role) = field("role") {
        if role != "master" {
            return Mode::Wrong(format!(
                "REDIS_URL points at a read-only {role}, not the primary: every write would fail with READONLY"
            ));
        }
    }
    if kind == UrlKind::Single && field("cluster_enabled") == Some("1") {
        return Mode::Wrong(
            "REDIS_URL points at a Redis Cluster node through a plain redis:// URL: keys of other slots answer MOVED; use redis-cluster://"
                .to_owned(),
        );
    }
    Mode::Ok
}

/// Asks the server behind `REDIS_URL` what it is.
pub struct RedisMode {
    kind: UrlKind,
    client: Client,
}

impl RedisMode {
    /// A client of its own (fails fast, reconnects forever), so the check
    /// never waits behind queue traffic.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let kind = UrlKind::of(url);
        let config = Config::from_url(url)?;
        let client = queue::store::redis::fail_fast_builder(config).build()?;
        // Connected in the background; `check` reports while it is not.
        let _ = client.init().await;
        Ok(Self { kind, client })
    }

    /// The server's mode now.
    pub async fn check(&self) -> Mode {
        if self.kind == UrlKind::Cluster {
            return Mode::Ok;
        }
        let mut info = String::new();
        for section in [InfoKind::Replication, InfoKind::Cluster] {
            match self.client.info::<String>(Some(section)).await {
                Ok(text) => info.push_str(&text),
                Err(e) => return Mode::Unreachable(e.to_string()),
            }
        }
        judge(self.kind, &info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_kinds() {
        assert_eq!(UrlKind::of("redis://h:6379/0"), UrlKind::Single);
        assert_eq!(UrlKind::of("rediss://h:6379"), UrlKind::Single);
        assert_eq!(
            UrlKind::of("redis-cluster://h:1?node=g:2"),
            UrlKind::Cluster
        );
        assert_eq!(UrlKind::of("rediss-cluster://h:1"), UrlKind::Cluster);
        assert_eq!(
            UrlKind::of("redis-sentinel://h:26379/0?sentinelServiceName=m"),
            UrlKind::Sentinel
        );
    }

    #[test]
    fn a_replica_or_a_cluster_node_through_a_plain_url_is_wrong() {
        let primary = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n# Cluster\r\ncluster_enabled:0\r\n";
        assert_eq!(judge(UrlKind::Single, primary), Mode::Ok);
        let replica = "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\n# Cluster\r\ncluster_enabled:0\r\n";
        assert!(
            matches!(judge(UrlKind::Single, replica), Mode::Wrong(m) if m.contains("READONLY"))
        );
        assert!(matches!(judge(UrlKind::Sentinel, replica), Mode::Wrong(_)));
        let node = "# Replication\r\nrole:master\r\n# Cluster\r\ncluster_enabled:1\r\n";
        assert!(
            matches!(judge(UrlKind::Single, node), Mode::Wrong(m) if m.contains("redis-cluster://"))
        );
        assert_eq!(judge(UrlKind::Cluster, node), Mode::Ok);
    }
}
