//! Guessing operator passwords and keys: attempts are counted before they
//! are checked, budgets are per (account, address) and per address, the
//! account itself is only slowed down, failed bearer keys are throttled
//! per address, and logins, failures and lockouts are audited. Distinct
//! client addresses are real: Linux routes all of 127.0.0.0/8 to loopback,
//! so a client bound to 127.0.0.2 is another address to the server.

use crate::admin_support::*;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

crate::on_both_backends!(
    concurrent_wrong_logins_are_counted_before_they_are_checked,
    failures_from_many_addresses_slow_the_account_but_never_block_it,
    failed_bearer_keys_are_throttled_per_address,
);

/// The nominal budget of one (account, address) pair.
const PER_ACCOUNT_ADDRESS: usize = 3;

/// Attempts a budget allows beyond its free ones within `elapsed`: after
/// the free ones, one more each time the doubling wait (1 s, 2 s, 4 s, …)
/// has run out. A slow machine spreads a burst over seconds.
fn after_waits(elapsed: Duration) -> usize {
    let mut allowed = 0;
    let mut spent = Duration::ZERO;
    let mut wait = Duration::from_secs(1);
    while spent + wait <= elapsed {
        spent += wait;
        wait *= 2;
        allowed += 1;
    }
    allowed
}

/// An HTTP client whose connections come from `127.0.0.<n>`.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn login_from(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/v1/admin/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login request")
}

/// Audit entries for `target`, newest first, as (action, after JSON).
pub async fn audit_of(app: &TestApp, target: &str) -> Vec<(String, Value)> {
    let r = call(
        app,
        Some(ADMIN),
        Method::GET,
        &format!("/api/v1/admin/audit?target={target}&limit=1000"),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let rows: Vec<Value> = r.json().await.expect("json");
    rows.iter()
        .map(|e| {
            let after = e["after"]
                .as_str()
                .map_or(Value::Null, |s| serde_json::from_str(s).expect("after"));
            (e["action"].as_str().unwrap_or_default().to_owned(), after)
        })
        .collect()
}

async fn owner_id(app: &TestApp) -> String {
    let r = call(
        app,
        Some(ADMIN),
        Method::GET,
        "/api/v1/admin/operators",
        None,
    )
    .await;
    let list: Vec<Value> = r.json().await.expect("json");
    list.iter()
        .find(|o| o["email"] == OWNER_EMAIL)
        .and_then(|o| o["id"].as_str())
        .expect("owner")
        .to_owned()
}

async fn concurrent_wrong_logins_are_counted_before_they_are_checked(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let attacker = client_from(1);
    let attempts = (0..250).map(|i| {
        let (app, attacker) = (&app, &attacker);
        async move {
            let r = login_from(app, attacker, OWNER_EMAIL, &format!("guess-{i}")).await;
            let status = r.status();
            let retry = r.headers().get("retry-after").is_some();
            let body: Value = r.json().await.expect("json");
            (status, retry, body)
        }
    });
    let started = Instant::now();
    let results = futures::future::join_all(attempts).await;
    let budget = PER_ACCOUNT_ADDRESS + after_waits(started.elapsed());
    let checked = results
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let refused: Vec<_> = results
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        (1..=budget).contains(&checked),
        "{checked} of 250 parallel guesses were checked; the budget is {budget}"
    );
    assert_eq!(checked + refused.len(), 250, "only 401 or 429");
    for (_, retry, body) in &refused {
        assert!(*retry, "Retry-After on every 429");
        assert_eq!(body["error"]["code"], "too_many_attempts", "{body}");
    }

    // The owner, elsewhere, is not locked out by the attacker's address.
    let owner = client_from(2);
    let r = login_from(&app, &owner, OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(r.status(), 200, "the owner logs in from another address");

    // Every check that ran is audited, as is the lockout and the login.
    let log = audit_of(&app, &format!("operator:{}", owner_id(&app).await)).await;
    let count = |action: &str| log.iter().filter(|(a, _)| a == action).count();
    assert_eq!(count("operator.login_failed"), checked, "{log:?}");
    assert_eq!(count("operator.login"), 1, "{log:?}");
    let lockout = log
        .iter()
        .find(|(a, _)| a == "operator.lockout")
        .map(|(_, after)| after)
        .expect("lockout audited");
    assert_eq!(lockout["scope"], "account_address", "{lockout}");
    assert_eq!(lockout["ip"], "127.0.0.1", "{lockout}");
    let (_, success) = &log[0];
    assert_eq!(success["ip"], "127.0.0.2", "newest entry is the login");
}

async fn failures_from_many_addresses_slow_the_account_but_never_block_it(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    // Twelve addresses, one wrong guess each: no address budget is used
    // up, but the account has now failed more than its free ten.
    for n in 10..22 {
        let r = login_from(&app, &client_from(n), OWNER_EMAIL, "wrong-guess").await;
        assert_eq!(r.status(), 401, "first guess from 127.0.0.{n}");
    }
    let started = Instant::now();
    let r = login_from(&app, &client_from(3), OWNER_EMAIL, OWNER_PASSWORD).await;
    let took = started.elapsed();
    assert_eq!(r.status(), 200, "slowed, not blocked");
    assert!(
        took >= Duration::from_millis(900),
        "a much-guessed account is slowed down (took {took:?})"
    );
}

async fn failed_bearer_keys_are_throttled_per_address(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let session = login(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    let from_one = client_from(1);
    let guesses = (0..60).map(|i| {
        let from_one = &from_one;
        let url = app.url("/api/v1/admin/me");
        async move {
            let r = from_one
                .get(url)
                .bearer_auth(format!("wr_key_guess{i}"))
                .send()
                .await
                .expect("guess");
            (r.status(), r.headers().get("retry-after").is_some())
        }
    });
    let started = Instant::now();
    let results = futures::future::join_all(guesses).await;
    let budget = 20 + after_waits(started.elapsed());
    let wrong = results.iter().filter(|(s, _)| *s == 401).count();
    let throttled = results.iter().filter(|(s, r)| *s == 429 && *r).count();
    assert!(
        wrong <= budget,
        "{wrong} guesses checked; the budget is {budget}"
    );
    assert_eq!(wrong + throttled, 60, "{results:?}");

    // Even the right key waits while the address is refused; a signed
    // session (which cannot be guessed) and other addresses are not.
    let guess = || {
        from_one
            .get(app.url("/api/v1/admin/me"))
            .bearer_auth("wr_key_more")
            .send()
    };
    let mut refused = false;
    for _ in 0..50 {
        if guess().await.expect("guess").status() == 429 {
            refused = true;
            break;
        }
    }
    assert!(refused, "more wrong keys are refused again");
    let refused_at = Instant::now();
    let r = from_one
        .get(app.url("/api/v1/admin/me"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("me");
    assert!(
        r.status() == 429 || refused_at.elapsed() >= Duration::from_secs(1),
        "the right key got {} while the address was refused",
        r.status()
    );
    let r = from_one
        .get(app.url("/api/v1/admin/me"))
        .bearer_auth(&session)
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 200);
    let r = client_from(2)
        .get(app.url("/api/v1/admin/me"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_weak_operator_key_stops_a_production_start() {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = test_settings(dir.path());
    settings.env = gateway::config::Environment::Production;
    settings.admin_token = Some(gateway::config::Secret::new("change-me"));
    let err = match gateway::build(&settings).await {
        Ok(_) => panic!("started with operator key change-me in production"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("operator key") && err.contains("32 random bytes"),
        "{err}"
    );
}
