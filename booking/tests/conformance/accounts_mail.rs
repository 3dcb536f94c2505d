//! Accounts, continued: registering and logging in do not reveal which
//! emails have accounts; account mails are rate limited; verification
//! links are stored hashed, expire and work once under concurrent use.

use crate::accounts::{link_token, login, register, verified_session, verify, VICTIM, VICTIM_PW};
use crate::api::post_json;
use crate::common::{Backend, TestApp};
use axum::http::{header, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// `fut`'s output and how long it took.
async fn timed<T>(fut: impl std::future::Future<Output = T>) -> (T, Duration) {
    let t = Instant::now();
    let out = fut.await;
    (out, t.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Registering an email that has an account answers exactly like a new
/// registration, takes comparable time (argon2 runs either way), changes
/// nothing, and tells the owner instead. Login does not tell unknown
/// emails from wrong passwords.
async fn duplicate_registration_is_indistinguishable(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = booking::router(app.state.clone());
    let (status, fresh) = register(&r, VICTIM, VICTIM_PW).await;
    let token = link_token(&app, VICTIM).await;
    assert_eq!(verify(&r, &token, VICTIM_PW).await.0, StatusCode::OK);
    let (dup_status, dup) = register(&r, VICTIM, "another password").await;
    assert_eq!((dup_status, &dup), (status, &fresh));
    assert_eq!(status, StatusCode::ACCEPTED);
    let notices = app.queued_emails("register_attempt").await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].recipient, VICTIM);
    assert!(app.queued_emails("verify_email").await.is_empty());
    assert_eq!(login(&r, VICTIM, VICTIM_PW).await.0, StatusCode::OK);
    assert_eq!(
        login(&r, VICTIM, "another password").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Timing: existing vs new addresses, three of each.
    let (mut new, mut existing) = (Vec::new(), Vec::new());
    for i in 0..3 {
        let owned = format!("owner{i}@example.com");
        let _ = verified_session(&app, &r, &owned, VICTIM_PW).await;
        let ((s, _), took) = timed(register(&r, &owned, "some password")).await;
        existing.push(took);
        assert_eq!(s, StatusCode::ACCEPTED);
        let fresh = format!("new{i}@example.com");
        let ((s, _), took) = timed(register(&r, &fresh, "some password")).await;
        new.push(took);
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    let (new, existing) = (median(new), median(existing));
    eprintln!("register median: new address {new:?}, existing account {existing:?}");
    assert!(
        existing * 4 >= new && new * 4 >= existing,
        "registration timing tells: new {new:?}, existing {existing:?}"
    );
    // Login: same answer, comparable time. Medians of interleaved tries:
    // one try each is at the mercy of whatever else the machine runs (the
    // tests beside this one hash passwords too), while a path that skipped
    // argon2 would be a hundred times faster every time.
    let (mut unknown_times, mut wrong_times) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let (unknown, took) = timed(login(&r, "nobody@example.com", VICTIM_PW)).await;
        unknown_times.push(took);
        let (wrong, took) = timed(login(&r, VICTIM, "wrong password")).await;
        wrong_times.push(took);
        assert_eq!(unknown, wrong);
        assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
    }
    let (unknown_time, wrong_time) = (median(unknown_times), median(wrong_times));
    eprintln!("login median: unknown email {unknown_time:?}, wrong password {wrong_time:?}");
    assert!(
        unknown_time * 4 >= wrong_time,
        "login timing tells: unknown {unknown_time:?}, wrong password {wrong_time:?}"
    );
    app.cleanup().await;
}

/// Account mails per address are limited (3 an hour), for new and existing
/// addresses alike, with `Retry-After`; concurrent requests cannot
/// overshoot.
async fn verification_mail_is_rate_limited(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = booking::router(app.state.clone());
    let attempts = (0..6).map(|_| {
        let r = r.clone();
        async move { register(&r, VICTIM, VICTIM_PW).await }
    });
    let results = futures::future::join_all(attempts).await;
    let accepted = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(accepted, 3, "{results:?}");
    let limited = results
        .iter()
        .find(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .expect("a refusal");
    assert_eq!(limited.1["error"]["code"], "rate_limited");
    assert_eq!(app.queued_emails("verify_email").await.len(), 3);
    // An address with an account runs out the same way: its link, then
    // two notices, then 429.
    let owner = "owner@example.com";
    let _ = verified_session(&app, &r, owner, VICTIM_PW).await;
    for _ in 0..2 {
        assert_eq!(
            register(&r, owner, "x password").await.0,
            StatusCode::ACCEPTED
        );
    }
    let (status, body) = register(&r, owner, "x password").await;
    assert_eq!((status, &body), (limited.0, &limited.1));
    assert_eq!(app.queued_emails("register_attempt").await.len(), 2);
    // The header says when to come back (within the hour).
    let res = tower::ServiceExt::oneshot(
        r.clone(),
        post_json(
            "/api/v1/auth/register",
            &json!({"email": owner, "password": "x password"}).to_string(),
        ),
    )
    .await
    .unwrap();
    let retry: u64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    app.cleanup().await;
}

/// Links expire after a day, and only their hash is stored; concurrent
/// uses of one link yield one session.
async fn verification_links_expire_and_work_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = booking::router(app.state.clone());
    let (status, _) = register(&r, VICTIM, VICTIM_PW).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let token = link_token(&app, VICTIM).await;
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let customers = app.db.customers();
    assert!(customers
        .verification(&token, booking::state::now())
        .await
        .unwrap()
        .is_none());
    let later = booking::state::now() + chrono::Duration::hours(25);
    assert!(customers
        .verification(&hash, later)
        .await
        .unwrap()
        .is_none());
    assert!(customers
        .complete_verification(
            &hash,
            "cus_late",
            later,
            &booking::accounts::mail::welcome(
                "x@example.com",
                "http://booking.test",
                booking::email::i18n::Lang::En,
            ),
        )
        .await
        .unwrap()
        .is_none());
    let uses = (0..6).map(|_| {
        let r = r.clone();
        let token = token.clone();
        async move { verify(&r, &token, VICTIM_PW).await.0 }
    });
    let statuses = futures::future::join_all(uses).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{statuses:?}");
    // One account, one welcome.
    let welcomes = app.queued_emails("welcome").await;
    assert_eq!(welcomes.len(), 1, "{welcomes:?}");
    assert!(welcomes[0].body_text.contains("/account.html"));
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::NOT_FOUND));
    app.cleanup().await;
}

crate::per_backend!(
    duplicate_registration_is_indistinguishable,
    verification_mail_is_rate_limited,
    verification_links_expire_and_work_once,
);
