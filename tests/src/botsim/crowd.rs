//! One scenario: fans and bots arrive together, then admission opens.

use crate::Args;
use gateway::edge::captcha::pow::solve;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

use super::{start, ADMIN, EVENT};

/// Who holds a place, and how to ask about it.
struct Place {
    bot: bool,
    ip: String,
    token: String,
}

/// What one arrival got.
struct Arrival {
    place: Option<Place>,
    /// Status codes of every join attempt.
    codes: Vec<u16>,
    /// From arrival to a place (fans: includes fetching and solving).
    took: Duration,
}

fn fan_ip(i: usize) -> String {
    format!("100.{}.{}.{}", 64 + i / 65_536, (i / 256) % 256, i % 256)
}

fn solution(c: &Value, nonce: String) -> Value {
    json!({"captcha": {"challenge": c["challenge"], "signature": c["signature"], "nonce": nonce}})
}

/// Fetches a challenge as `ip` and solves it on the blocking pool, at most
/// one solve per core at a time (a crowd of phones, each with its own CPU,
/// would be faster; this only delays the fans).
async fn solved(
    http: &reqwest::Client,
    base: &str,
    ip: &str,
    cpus: &Semaphore,
) -> anyhow::Result<Value> {
    let c: Value = http
        .get(format!("{base}/api/v1/queue/{EVENT}/challenge"))
        .header("x-forwarded-for", ip)
        .send()
        .await?
        .json()
        .await?;
    let text = c["challenge"].as_str().unwrap_or_default().to_owned();
    let bits = c["difficulty"].as_u64().unwrap_or(0) as u8;
    let _core = cpus.acquire().await?;
    let nonce = tokio::task::spawn_blocking(move || solve(&text, bits).0).await?;
    Ok(solution(&c, nonce))
}

async fn join(
    http: &reqwest::Client,
    base: &str,
    xff: &str,
    body: &Value,
) -> (u16, Option<String>) {
    let r = http
        .post(format!("{base}/api/v1/queue/{EVENT}/join"))
        .header("x-queue-token-in-body", "1")
        .header("x-forwarded-for", xff)
        .json(body)
        .send()
        .await;
    let Ok(r) = r else { return (0, None) };
    let code = r.status().as_u16();
    let token = r
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| v["queue_token"].as_str().map(str::to_owned));
    (code, token.filter(|_| code == 201))
}

async fn fan(http: reqwest::Client, base: String, i: usize, cpus: Arc<Semaphore>) -> Arrival {
    let started = Instant::now();
    let ip = fan_ip(i);
    let mut codes = Vec::new();
    for _ in 0..3 {
        let Ok(body) = solved(&http, &base, &ip, &cpus).await else {
            continue;
        };
        let (code, token) = join(&http, &base, &ip, &body).await;
        codes.push(code);
        if let Some(token) = token {
            return Arrival {
                place: Some(Place {
                    bot: false,
                    ip,
                    token,
                }),
                codes,
                took: started.elapsed(),
            };
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Arrival {
        place: None,
        codes,
        took: started.elapsed(),
    }
}

/// A scripted bot: joins without a solution (or with a bought one replayed,
/// or a forged one; or, when `solving`, solves like a fan), spoofing the
/// forwarding header, and retries.
#[allow(clippy::too_many_arguments)]
async fn bot(
    http: reqwest::Client,
    base: String,
    j: usize,
    ips: usize,
    bought: Value,
    solving: bool,
    cpus: Arc<Semaphore>,
) -> Arrival {
    let started = Instant::now();
    let ip = format!("203.0.113.{}", 1 + j % ips.clamp(1, 250));
    // The bot claims an address; our proxy appends the one it really saw.
    let xff = format!("8.8.{}.{}, {ip}", j % 256, (j * 7) % 256);
    let mut codes = Vec::new();
    for attempt in 0..3 {
        let body = if solving {
            match solved(&http, &base, &ip, &cpus).await {
                Ok(b) => b,
                Err(_) => continue,
            }
        } else {
            match j % 10 {
                0 => bought.clone(),
                1 => {
                    let mut f = bought.clone();
                    f["captcha"]["nonce"] = format!("{}", j * 31 + attempt).into();
                    f["captcha"]["challenge"] = Value::from(
                        f["captcha"]["challenge"]
                            .as_str()
                            .unwrap_or("")
                            .replacen(".1", ".0", 1),
                    );
                    f
                }
                _ => json!({}),
            }
        };
        let (code, token) = join(&http, &base, &xff, &body).await;
        codes.push(code);
        if let Some(token) = token {
            return Arrival {
                place: Some(Place {
                    bot: true,
                    ip,
                    token,
                }),
                codes,
                took: started.elapsed(),
            };
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Arrival {
        place: None,
        codes,
        took: started.elapsed(),
    }
}

async fn info(http: &reqwest::Client, base: &str) -> anyhow::Result<Value> {
    Ok(http
        .get(format!("{base}/api/v1/queue/{EVENT}"))
        .send()
        .await?
        .json()
        .await?)
}

async fn settle(
    http: &reqwest::Client,
    base: &str,
    body: Value,
    method: reqwest::Method,
) -> anyhow::Result<()> {
    let r = http
        .request(method, format!("{base}/api/v1/admin/events/{EVENT}/queue"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "queue settings: {}", r.status());
    Ok(())
}

fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Runs `scenario` (`refuse`, `infinite` or `solving`) and prints its figures.
pub async fn run(args: &Args, scenario: &str) -> anyhow::Result<()> {
    let (base, _stop, _dir) = start(args).await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .build()?;
    for _ in 0..100 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failure = if scenario == "infinite" {
        "infinite_queue"
    } else {
        "refuse"
    };
    let total = args.fans + args.bots;
    settle(&http, &base, json!({"state": "open", "admit_per_minute": 0, "max_active": total + 1, "session_ttl_seconds": 3600,
        "departure_grace_seconds": 3600, "captcha": "on_join", "captcha_failure": failure,
        "max_places_per_ip": args.max_places_per_ip}), reqwest::Method::PUT).await?;
    let cpus = Arc::new(Semaphore::new(
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    ));
    // The one solution the bots "bought" (solved once, shared by all): used
    // here first, so every replay is a replay.
    let bought = solved(&http, &base, "198.18.0.1", &cpus).await?;
    let _ = join(&http, &base, "198.18.0.1", &bought).await;

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    // Interleaved, so fans and bots arrive over the same instant.
    for k in 0..args.fans.max(args.bots) {
        if k < args.fans {
            tasks.push(tokio::spawn(fan(
                http.clone(),
                base.clone(),
                k,
                cpus.clone(),
            )));
        }
        if k < args.bots {
            let solving = scenario == "solving";
            let bot = bot(
                http.clone(),
                base.clone(),
                k,
                args.bot_ips,
                bought.clone(),
                solving,
                cpus.clone(),
            );
            tasks.push(tokio::spawn(bot));
        }
    }
    let mut arrivals = Vec::new();
    for t in tasks {
        arrivals.push(t.await?);
    }
    let arrived_in = started.elapsed();
    let places: Vec<&Place> = arrivals.iter().filter_map(|a| a.place.as_ref()).collect();
    let fan_places = places.iter().filter(|p| !p.bot).count();
    let bot_apparent = places.iter().filter(|p| p.bot).count();
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The bench's own bought place is in the queue too.
    let real = info(&http, &base).await?["waiting"].as_u64().unwrap_or(0) as usize;
    let real = real.saturating_sub(1);
    let bot_real = real.saturating_sub(fan_places);

    // Open admission and follow every place until nobody moves for 5 s.
    settle(
        &http,
        &base,
        json!({"admit_per_minute": 600_000}),
        reqwest::Method::PATCH,
    )
    .await?;
    let mut admitted = vec![false; places.len()];
    let mut last_change = Instant::now();
    while last_change.elapsed() < Duration::from_secs(5)
        && started.elapsed() < Duration::from_secs(600)
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let polls = places
            .iter()
            .enumerate()
            .filter(|(i, _)| !admitted[*i])
            .map(|(i, p)| {
                let req = http
                    .get(format!("{base}/api/v1/queue/{EVENT}/status"))
                    .header("x-forwarded-for", &p.ip)
                    .header("x-queue-token", &p.token);
                async move { (i, req.send().await.ok()) }
            });
        for (i, r) in futures::future::join_all(polls).await {
            let Some(r) = r else { continue };
            if r.json::<Value>()
                .await
                .is_ok_and(|v| v["state"] == "admitted")
            {
                admitted[i] = true;
                last_change = Instant::now();
            }
        }
    }
    let fans_in = places
        .iter()
        .zip(&admitted)
        .filter(|(p, a)| **a && !p.bot)
        .count();
    let bots_in = places
        .iter()
        .zip(&admitted)
        .filter(|(p, a)| **a && p.bot)
        .count();
    let mut bot_codes: BTreeMap<u16, usize> = BTreeMap::new();
    for a in arrivals
        .iter()
        .filter(|a| a.place.as_ref().is_none_or(|p| p.bot))
    {
        for c in &a.codes {
            *bot_codes.entry(*c).or_default() += 1;
        }
    }
    let mut fan_took: Vec<Duration> = arrivals
        .iter()
        .filter(|a| a.place.as_ref().is_some_and(|p| !p.bot))
        .map(|a| a.took)
        .collect();
    fan_took.sort();
    let p = |q: f64| {
        fan_took
            .get(((fan_took.len() as f64 - 1.0) * q) as usize)
            .map_or(0.0, Duration::as_secs_f64)
    };

    println!("\n# scenario {scenario}: {} fans, {} bots from {} addresses, difficulty {}, max {} places per IP",
        args.fans, args.bots, args.bot_ips, args.difficulty, args.max_places_per_ip);
    println!(
        "everyone arrived in {:.1} s; fans' time to a place p50 {:.2} s, p95 {:.2} s",
        arrived_in.as_secs_f64(),
        p(0.5),
        p(0.95)
    );
    println!(
        "real places:  fans {fan_places}, bots {bot_real} -> bots' share {:.2}%",
        pct(bot_real, real)
    );
    println!("bots' answers (all attempts): {bot_codes:?}; bots told 201: {bot_apparent}");
    println!(
        "admitted:     fans {fans_in}, bots {bots_in} -> bots' share {:.2}%",
        pct(bots_in, fans_in + bots_in)
    );
    println!(
        "{}",
        json!({"scenario": scenario, "fans": args.fans, "bots": args.bots, "fan_places": fan_places,
        "bot_real_places": bot_real, "bot_apparent_places": bot_apparent, "fans_admitted": fans_in, "bots_admitted": bots_in,
        "bot_place_share_pct": pct(bot_real, real), "bot_admission_share_pct": pct(bots_in, fans_in + bots_in),
        "arrival_seconds": arrived_in.as_secs_f64(), "fan_place_p50_s": p(0.5), "fan_place_p95_s": p(0.95)})
    );
    Ok(())
}
