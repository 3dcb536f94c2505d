//! Bots at the door, continued: places per IP, rate limits, client
//! addresses behind proxies, and admission tokens that only work for the
//! session they were issued to.

use crate::bots::{bot_app, error_code, guarded_queue, join_as};
use gateway::config::Settings;
use gateway::edge::settings::RouteLimit;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn one_ip_cannot_take_more_places_than_the_cap() {
    let app = bot_app(|s| s.edge.trusted_proxies = "127.0.0.1".into()).await;
    app.create_queue(
        "p1",
        guarded_queue(json!({"captcha": "off", "max_places_per_ip": 3})),
    )
    .await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let r = join_as(&app, "p1", None, Some("203.0.113.7")).await;
        assert_eq!(r.status(), 201);
        tokens.push(
            r.json::<Value>().await.expect("json")["queue_token"]
                .as_str()
                .expect("t")
                .to_owned(),
        );
    }
    let (status, body) = error_code(join_as(&app, "p1", None, Some("203.0.113.7")).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("too_many_places"))
    );
    // Getting an existing place back is not a new place, even at the cap.
    let again = app
        .http
        .post(app.url("/api/v1/queue/p1/join"))
        .header("x-queue-token-in-body", "1")
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-queue-token", &tokens[0])
        .send()
        .await
        .expect("rejoin");
    assert_eq!(again.status(), 200);
    // Another client is not affected; IPv6 clients count per /64.
    assert_eq!(
        join_as(&app, "p1", None, Some("203.0.113.8"))
            .await
            .status(),
        201
    );
    for (i, ip) in ["2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff::3"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            join_as(&app, "p1", None, Some(ip)).await.status(),
            201,
            "v6 #{i}"
        );
    }
    assert_eq!(
        join_as(&app, "p1", None, Some("2001:db8:5:6::99"))
            .await
            .status(),
        403
    );
    assert_eq!(
        join_as(&app, "p1", None, Some("2001:db8:5:7::1"))
            .await
            .status(),
        201
    );
    // A refused join took nothing: the room holds 3 + 1 + 3 + 1 places.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let info: Value = app
        .http
        .get(app.url("/api/v1/queue/p1"))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("json");
    assert_eq!(info["waiting"], 8, "{info}");
}

fn header(r: &reqwest::Response, name: &str) -> Option<u64> {
    r.headers().get(name)?.to_str().ok()?.parse().ok()
}

#[tokio::test]
async fn a_rate_limited_client_gets_429_with_headers_and_recovers() {
    let app = bot_app(|s| {
        s.edge.rate_limits.enabled = true;
        s.edge.rate_limits.join = RouteLimit::new(60, 2, 0, 0);
    })
    .await;
    app.create_queue("r1", guarded_queue(json!({"captcha": "off"})))
        .await;
    let first = join_as(&app, "r1", None, None).await;
    assert_eq!(first.status(), 201);
    assert_eq!(
        (
            header(&first, "ratelimit-limit"),
            header(&first, "ratelimit-remaining")
        ),
        (Some(2), Some(1))
    );
    assert_eq!(join_as(&app, "r1", None, None).await.status(), 201);
    let limited = join_as(&app, "r1", None, None).await;
    assert_eq!(limited.status(), 429);
    let wait = header(&limited, "retry-after").expect("Retry-After");
    assert!((1..=2).contains(&wait), "one per second comes back: {wait}");
    assert_eq!(header(&limited, "ratelimit-limit"), Some(2));
    assert_eq!(header(&limited, "ratelimit-remaining"), Some(0));
    assert_eq!(header(&limited, "ratelimit-reset"), Some(wait));
    let (_, body) = error_code(limited).await;
    assert_eq!(body["error"]["code"], "rate_limited");

    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(
        join_as(&app, "r1", None, None).await.status(),
        201,
        "recovered after Retry-After"
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("waitroom_rate_limited_total") && l.contains("class=\"join\"")),
        "a metric per route class"
    );
}

#[tokio::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let limits = |s: &mut Settings| {
        s.edge.rate_limits.enabled = true;
        s.edge.rate_limits.join = RouteLimit::new(1, 2, 0, 0);
    };
    // Nobody trusted: spoofed headers change nothing, all share one budget.
    let open = bot_app(limits).await;
    open.create_queue("f1", guarded_queue(json!({"captcha": "off"})))
        .await;
    let statuses: Vec<u16> = futures::future::join_all(
        ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
            .map(|ip| join_as(&open, "f1", None, Some(ip))),
    )
    .await
    .iter()
    .map(|r| r.status().as_u16())
    .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );

    // Our proxy at 127.0.0.1: each forwarded client has its own budget.
    let proxied = bot_app(|s| {
        limits(s);
        s.edge.trusted_proxies = "127.0.0.0/8, ::1".into();
    })
    .await;
    proxied
        .create_queue("f1", guarded_queue(json!({"captcha": "off"})))
        .await;
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(
            join_as(&proxied, "f1", None, Some(ip)).await.status(),
            201,
            "{ip}"
        );
    }
    assert_eq!(
        join_as(&proxied, "f1", None, Some("198.51.100.1"))
            .await
            .status(),
        201
    );
    assert_eq!(
        join_as(&proxied, "f1", None, Some("198.51.100.1"))
            .await
            .status(),
        429
    );
    // The client's own claims left of our proxy's entry are not believed.
    let r = join_as(&proxied, "f1", None, Some("198.51.100.77, 198.51.100.1")).await;
    assert_eq!(r.status(), 429, "the rightmost untrusted hop is the client");

    // Out-of-spec headers are ignored, never a 500: these count as the proxy itself.
    let huge = vec!["garbage"; 2_000].join(",");
    for xff in ["", "not an ip", "300.1.1.1", "[::1", huge.as_str()] {
        let r = join_as(&proxied, "f1", None, Some(xff)).await;
        assert!(
            r.status() == 201 || r.status() == 429,
            "{xff:.20}: {}",
            r.status()
        );
    }
    let r = proxied
        .http
        .post(proxied.url("/api/v1/queue/f1/join"))
        .header("x-queue-token-in-body", "1")
        .header("forwarded", "for=\"_hidden\";by=x, for=unknown")
        .send()
        .await
        .expect("join");
    assert!(r.status().as_u16() < 500);
}

#[tokio::test]
async fn an_admission_token_copied_to_another_session_is_refused_by_booking() {
    let app = bot_app(|_| {}).await;
    app.create_queue(
        "a1",
        guarded_queue(json!({"captcha": "off", "admit_per_minute": 6000})),
    )
    .await;
    let mine: Value = join_as(&app, "a1", None, None)
        .await
        .json()
        .await
        .expect("json");
    let theirs: Value = join_as(&app, "a1", None, None)
        .await
        .json()
        .await
        .expect("json");
    let my_cred = mine["queue_token"].as_str().expect("credential");
    let their_cred = theirs["queue_token"].as_str().expect("credential");
    let mut token = None;
    for _ in 0..100 {
        let s: Value = app
            .status("a1", my_cred)
            .await
            .json()
            .await
            .expect("status");
        if let Some(t) = s["admission_token"].as_str() {
            token = Some(t.to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = token.expect("admitted");
    let hold = |cred: &str| {
        app.http
            .post(app.url("/api/v1/events/a1/holds"))
            .bearer_auth(&token)
            .header("x-queue-token", cred)
            .json(&json!({"quantity": 1}))
            .send()
    };
    // Another session presenting the copied token: refused by booking.
    let (status, body) = error_code(hold(their_cred).await.expect("hold")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "token_wrong_session");
    // The session it was issued to gets past the token check (this event
    // has no seats in booking's catalog, so it ends there).
    let (status, body) = error_code(hold(my_cred).await.expect("hold")).await;
    assert!(status != 401 && status != 403, "{status} {body}");
}

#[tokio::test]
async fn a_signed_in_account_holds_one_place_per_event() {
    let app = bot_app(|s| s.edge.trusted_proxies = "127.0.0.1".into()).await;
    app.create_queue(
        "u1",
        guarded_queue(json!({"captcha": "off", "max_places_per_ip": 4})),
    )
    .await;
    let bearer = verified_customer(&app, "fan@example.com", "correct horse battery").await;
    let signed_in = |ip: &'static str| {
        app.http
            .post(app.url("/api/v1/queue/u1/join"))
            .header("x-queue-token-in-body", "1")
            .bearer_auth(&bearer)
            .header("x-forwarded-for", ip)
            .send()
    };
    assert_eq!(signed_in("192.0.2.10").await.expect("join").status(), 201);
    // Another address, same account: refused, and the address's count is
    // given back (it can still take its own places).
    let (status, body) = error_code(signed_in("192.0.2.11").await.expect("join")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("too_many_places"))
    );
    assert_eq!(
        join_as(&app, "u1", None, Some("192.0.2.11")).await.status(),
        201
    );
    // Other accounts and anonymous fans are unaffected.
    assert_eq!(
        join_as(&app, "u1", None, Some("192.0.2.10")).await.status(),
        201
    );
}

/// Registers `email`, follows the link the outbox worker wrote to the mail
/// folder, and returns the session token.
async fn verified_customer(app: &crate::helpers::TestApp, email: &str, password: &str) -> String {
    let r = app
        .http
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), 202);
    let mail_dir = app.data_dir().join("mail");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let token = loop {
        let found = std::fs::read_dir(&mail_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|f| std::fs::read_to_string(f.path()).ok())
            // Undo quoted-printable: soft line breaks and the escaped `=`.
            .map(|m| m.replace("=\r\n", "").replace("=3D", "="))
            .find_map(|m| {
                let (_, rest) = m.split_once("#verify=")?;
                Some(
                    rest.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect::<String>(),
                )
            });
        if let Some(token) = found {
            break token;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no verification mail in {}",
            mail_dir.display()
        );
        // The outbox worker writes the file on its own schedule; nothing
        // to await from here.
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let r = app
        .http
        .post(app.url("/api/v1/auth/verify"))
        .json(&json!({"token": token, "password": password}))
        .send()
        .await
        .expect("verify");
    assert_eq!(r.status(), 200);
    let session: Value = r.json().await.expect("json");
    session["token"].as_str().expect("session token").to_owned()
}
