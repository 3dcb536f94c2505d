//! The control plane of a run (few requests, so reqwest): operator
//! settings, room info, `/metrics`, and server memory from `/proc`.

use super::http::Target;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// Queue settings a scenario sets when it creates its event.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// `open`, `paused`, ...
    pub state: &'static str,
    /// Admission rate.
    pub admit_per_minute: u64,
    /// Active-session cap.
    pub max_active: u64,
    /// Admitted session lifetime.
    pub session_ttl_seconds: u64,
    /// Departure grace for waiters with neither socket nor poll.
    pub departure_grace_seconds: u64,
}

/// reqwest client with a timeout, for control calls.
pub fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()?)
}

fn settings_url(target: &Target, event: &str) -> String {
    format!("{}/api/v1/admin/events/{event}/queue", target.base)
}

async fn checked(resp: reqwest::Response, what: &str) -> Result<Value> {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{what}: HTTP {status}: {body}");
    }
    Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Creates (or, from its pre-queue, opens) the waiters scenario's event:
/// open at `rate`, sessions of an hour, departures two minutes after the
/// last socket, no cap that binds.
pub async fn open_waiters_event(
    http: &reqwest::Client,
    target: &Target,
    token: &str,
    event: &str,
    rate: u64,
) -> Result<()> {
    let settings = EventSettings {
        state: "open",
        admit_per_minute: rate,
        max_active: 1_000_000,
        session_ttl_seconds: 3_600,
        departure_grace_seconds: 120,
    };
    create_event(http, target, token, event, &settings).await
}

/// `PUT` the event's queue settings (creates the queue). The CAPTCHA is
/// switched off: the load generator measures the queue, not the edge.
pub async fn create_event(
    http: &reqwest::Client,
    target: &Target,
    token: &str,
    event: &str,
    s: &EventSettings,
) -> Result<()> {
    let body = json!({
        "state": s.state,
        "admit_per_minute": s.admit_per_minute,
        "max_active": s.max_active,
        "session_ttl_seconds": s.session_ttl_seconds,
        "departure_grace_seconds": s.departure_grace_seconds,
        "captcha": "off",
    });
    let resp = http
        .put(settings_url(target, event))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    checked(resp, "creating the event").await.map(drop)
}

/// `PATCH` some settings live.
pub async fn patch_event(
    http: &reqwest::Client,
    target: &Target,
    token: &str,
    event: &str,
    patch: Value,
) -> Result<()> {
    let resp = http
        .patch(settings_url(target, event))
        .bearer_auth(token)
        .json(&patch)
        .send()
        .await?;
    checked(resp, "changing settings").await.map(drop)
}

/// `GET /api/v1/queue/{event}`.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomInfo {
    /// Waiters in line.
    pub waiting: u64,
    /// Admitted sessions now.
    pub active: u64,
    /// Configured cap.
    pub max_active: u64,
    /// The server's own measurement, when it has one.
    pub measured_admit_per_minute: Option<u64>,
}

/// Reads the public room information.
pub async fn room_info(http: &reqwest::Client, target: &Target, event: &str) -> Result<RoomInfo> {
    let resp = http
        .get(format!("{}/api/v1/queue/{event}", target.base))
        .send()
        .await?;
    let v = checked(resp, "room info").await?;
    Ok(serde_json::from_value(v)?)
}

/// Sum of every sample of `name` (any labels) in `/metrics` of `target`.
pub async fn metric(http: &reqwest::Client, target: &Target, name: &str) -> Result<f64> {
    let text = http
        .get(format!("{}/metrics", target.base))
        .send()
        .await?
        .text()
        .await?;
    Ok(sum_metric(&text, name))
}

/// Sum of `name` over all targets.
pub async fn metric_all(http: &reqwest::Client, targets: &[Target], name: &str) -> Result<f64> {
    let mut total = 0.0;
    for t in targets {
        total += metric(http, t, name).await?;
    }
    Ok(total)
}

/// Sums the samples of `name` in Prometheus text.
pub fn sum_metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            if !(rest.starts_with(' ') || rest.starts_with('{')) {
                return None;
            }
            l.rsplit(' ').next()?.parse::<f64>().ok()
        })
        .sum()
}

/// Resident memory of a process, KiB (`VmRSS` in `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no VmRSS for pid {pid}"))
}

/// Summed RSS of `pids`, KiB; `None` when no pids were given.
pub fn rss_total(pids: &[u32]) -> Result<Option<u64>> {
    if pids.is_empty() {
        return Ok(None);
    }
    let mut total = 0;
    for &pid in pids {
        total += rss_kib(pid)?;
    }
    Ok(Some(total))
}

/// This process's RSS, KiB.
pub fn own_rss_kib() -> u64 {
    rss_kib(std::process::id()).unwrap_or(0)
}

/// Parses `123,456`.
pub fn parse_pids(list: Option<&str>) -> Result<Vec<u32>> {
    list.map_or(Ok(Vec::new()), |l| {
        l.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().with_context(|| format!("pid {s}")))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_metric_samples() {
        let text = "# TYPE waitroom_ticks_run_total counter\nwaitroom_ticks_run_total 12\nwaitroom_ticks_run_total_x 5\nwaitroom_http_requests_total{route=\"a\"} 3\nwaitroom_http_requests_total{route=\"b\"} 4\n";
        assert_eq!(sum_metric(text, "waitroom_ticks_run_total"), 12.0);
        assert_eq!(sum_metric(text, "waitroom_http_requests_total"), 7.0);
    }
}
