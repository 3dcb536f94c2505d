//! The topology run's checks: what nginx must (not) serve, joining the
//! fans, waiting for their sockets, asking every fan for its place again,
//! and the admission invariants (FIFO, rate, no double admission).

use super::fans::{self, Fan};
use super::ledger::Ledger;
use super::sale;
use anyhow::{bail, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the edge must and must not serve in production.
pub async fn edge_checks(
    http: &reqwest::Client,
    metrics_port: u16,
    lb: &str,
    ledger: &Ledger,
) -> Result<()> {
    for (path, want) in [
        ("/metrics", 404),
        ("/tests/harness.mjs", 404),
        ("/queue.html", 200),
        // The pages' translations ship with them (web/lang-*.json).
        ("/lang-ja.json", 200),
    ] {
        let (status, _) = sale::call(ledger, path, http.get(format!("{lb}{path}"))).await?;
        if status != want {
            ledger.fail(format!(
                "GET {path} through nginx answered {status}, not {want}"
            ));
        }
    }
    let m = format!("http://127.0.0.1:{metrics_port}/metrics");
    let text = http.get(&m).send().await?.text().await?;
    // Registered at start: on-call reads 0, not "no data".
    for name in [
        "waitroom_queue_store_up 1",
        "waitroom_database_up 1",
        "waitroom_departed_total",
        "waitroom_fanout_seconds",
        "waitroom_queue_store_errors_total 0",
    ] {
        if !text.contains(name) {
            ledger.fail(format!("the metrics listener does not serve {name}"));
        }
    }
    Ok(())
}

pub async fn join_all(
    lb: &str,
    event: &str,
    n: usize,
    ledger: &Arc<Ledger>,
) -> Result<Vec<Arc<Fan>>> {
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (lb, event, ledger, sem) =
            (lb.to_owned(), event.to_owned(), ledger.clone(), sem.clone());
        let source = source(i);
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await?;
            let http = fans::client(source)?;
            fans::join(&http, &lb, &event, i, source, &ledger).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(Arc::new(t.await??));
    }
    Ok(out)
}

/// Fan `i`'s source address: 127.0.<1+i/1000>.<1+(i/4)%250>, four fans each.
pub fn source(i: usize) -> std::net::IpAddr {
    let group = i / 4;
    std::net::IpAddr::from([127, 1 + (group / 250) as u8, 1, 1 + (group % 250) as u8])
}

/// Waits until every fan still waiting has a socket attached.
pub async fn settle(fans: &[Arc<Fan>], limit: Duration) -> Result<f64> {
    let started = Instant::now();
    loop {
        let missing = fans
            .iter()
            .filter(|f| {
                let s = f.seen();
                !s.attached && !s.admitted()
            })
            .count();
        if missing == 0 {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > limit {
            bail!("{missing} waiting fans have no socket after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn first_admitted(fans: &[Arc<Fan>], limit: Duration) -> Result<Arc<Fan>> {
    let started = Instant::now();
    loop {
        if let Some(f) = fans.iter().find(|f| f.seen().admission_token.is_some()) {
            return Ok(f.clone());
        }
        if started.elapsed() > limit {
            bail!("nobody was admitted within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every fan asks for its place again: same ticket, still waiting or
/// admitted.
pub async fn audit(lb: &str, event: &str, fans: &[Arc<Fan>], ledger: &Arc<Ledger>, when: &str) {
    let sem = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::new();
    for fan in fans.iter().filter(|f| !f.seen().done) {
        let (fan, lb, event, ledger, sem) = (
            fan.clone(),
            lb.to_owned(),
            event.to_owned(),
            ledger.clone(),
            sem.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await.ok()?;
            let http = fans::client(fan.source).ok()?;
            match fans::recheck(&http, &lb, &event, &fan, &ledger).await {
                Ok(state) if ["waiting", "admitted", "paused"].contains(&state.as_str()) => {
                    if state == "admitted" {
                        // Admitted while its socket was away: the fan knows.
                        fan.seen().admitted_unseen = true;
                    }
                    Some(state)
                }
                Ok(state) => {
                    ledger.fail(format!("fan {} is {state}", fan.n));
                    None
                }
                Err(e) => {
                    ledger.fail(format!("{e:#}"));
                    None
                }
            }
        }));
    }
    let mut admitted = 0;
    let mut ok = 0;
    for t in tasks {
        if let Ok(Some(state)) = t.await {
            ok += 1;
            admitted += usize::from(state == "admitted");
        }
    }
    println!(
        "audit {when}: {ok}/{} places intact ({admitted} admitted; the buyer is done)",
        fans.len() - 1
    );
}

/// FIFO and no double admission: the admitted are exactly the lowest
/// tickets, each once, at no more than the set rate, and the room's active
/// count agrees.
pub async fn admission_checks(
    http: &reqwest::Client,
    lb: &str,
    event: &str,
    fans: &[Arc<Fan>],
    rate: u32,
    open_secs: f64,
    ledger: &Ledger,
) -> Result<()> {
    let (_, room) = sale::call(
        ledger,
        "GET room",
        http.get(format!("{lb}/api/v1/queue/{event}")),
    )
    .await?;
    let mut by_ticket: Vec<(u64, bool)> = fans
        .iter()
        .map(|f| (f.ticket, f.seen().admitted()))
        .collect();
    by_ticket.sort_unstable();
    let admitted = by_ticket.iter().filter(|(_, a)| *a).count();
    if let Some(gap) = by_ticket.iter().take(admitted).find(|(_, a)| !a) {
        ledger.fail(format!(
            "ticket {} was skipped while later tickets were admitted",
            gap.0
        ));
    }
    let allowed = (f64::from(rate) / 60.0 * (open_secs + 2.0)).ceil() as usize;
    if admitted > allowed {
        ledger.fail(format!(
            "{admitted} admitted in {open_secs:.0}s at {rate}/min (at most {allowed})"
        ));
    }
    let active = room["active"].as_u64().unwrap_or(u64::MAX);
    // The buyer's session ended with the purchase.
    let done = fans.iter().filter(|f| f.seen().done).count();
    if active + done as u64 != admitted as u64 {
        ledger.fail(format!(
            "the room counts {active} active sessions, fans saw {admitted} admissions"
        ));
    }
    println!("admission: {admitted} admitted in {open_secs:.0}s at {rate}/min (bound {allowed}), room active {active} + {done} bought, waiting {}", room["waiting"]);
    Ok(())
}
