//! Operators and roles: API keys, the operator key and cookies; login
//! slowdown; settings versions; the audit log. (The route-by-role matrix
//! is in `admin_matrix`.)

use crate::admin_events::new_event;
use crate::admin_sales::expect;
use crate::admin_support::*;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

crate::on_both_backends!(
    api_keys_the_operator_key_and_cookies_authenticate,
    wrong_passwords_are_uniform_and_slowed_down,
    settings_versions_refuse_stale_writes_and_changes_are_audited,
    the_door_role_checks_in_and_does_nothing_else,
);

async fn api_keys_the_operator_key_and_cookies_authenticate(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let k1 = unique_event("k1");
    // The core issue's operator key acts as an owner.
    let r = call(
        &app,
        Some(ADMIN),
        Method::GET,
        "/api/v1/admin/operators",
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let (id, key) = create_key(&app, ADMIN, "operator").await;
    let r = call(&app, Some(&key), Method::GET, "/api/v1/admin/me", None).await;
    let me: Value = r.json().await.expect("json");
    assert_eq!(
        (me["role"].as_str(), me["via"].as_str()),
        (Some("operator"), Some("api_key"))
    );
    app.create_queue(&k1, json!({})).await;
    let patch = Some(json!({"max_active": 5}));
    let r = call(
        &app,
        Some(&key),
        Method::PATCH,
        &format!("/api/v1/admin/events/{k1}/queue"),
        patch,
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = call(
        &app,
        Some(&key),
        Method::GET,
        "/api/v1/admin/api-keys",
        None,
    )
    .await;
    assert_eq!(r.status(), 403);
    // Listing never shows the key or its hash.
    let r = call(
        &app,
        Some(ADMIN),
        Method::GET,
        "/api/v1/admin/api-keys",
        None,
    )
    .await;
    let text = r.text().await.expect("text");
    assert!(!text.contains(&key) && !text.contains("sha256"), "{text}");
    // Revoked keys stop working at once.
    let r = call(
        &app,
        Some(ADMIN),
        Method::DELETE,
        &format!("/api/v1/admin/api-keys/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = call(&app, Some(&key), Method::GET, "/api/v1/admin/me", None).await;
    assert_eq!(r.status(), 401);

    // The dashboard's cookie is enough on its own.
    let token = login(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    let r = app
        .http
        .get(app.url("/api/v1/admin/me"))
        .header("cookie", format!("wr_admin={token}"))
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 200);
    let r = call(
        &app,
        Some("not-a-token"),
        Method::GET,
        "/api/v1/admin/me",
        None,
    )
    .await;
    assert_eq!(r.status(), 401);
    forget(backend, &[&k1]).await;
}

async fn wrong_passwords_are_uniform_and_slowed_down(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let attempt = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let r = call(
                app,
                None,
                Method::POST,
                "/api/v1/admin/login",
                Some(json!({"email": email, "password": password})),
            )
            .await;
            let status = r.status();
            let retry = r.headers().get("retry-after").is_some();
            let body: Value = r.json().await.expect("json");
            (status, retry, body)
        }
    };
    let (s1, _, wrong_pw) = attempt(OWNER_EMAIL, "nope-nope").await;
    let (s2, _, unknown) = attempt("ghost@example.com", "nope-nope").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(wrong_pw, unknown, "no user enumeration");
    // Per account: a few free attempts, then a wait, for real and made-up
    // accounts alike.
    for email in [OWNER_EMAIL, "ghost@example.com"] {
        let mut throttled = false;
        for _ in 0..4 {
            let (status, retry, _) = attempt(email, "still-wrong").await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                assert!(retry, "Retry-After on 429");
                throttled = true;
                if email == OWNER_EMAIL {
                    // Even the right password waits while this address
                    // is refused for the account (the first wait is 1 s).
                    let refused_at = std::time::Instant::now();
                    let (status, _, _) = attempt(OWNER_EMAIL, OWNER_PASSWORD).await;
                    assert!(
                        status == StatusCode::TOO_MANY_REQUESTS
                            || refused_at.elapsed() >= std::time::Duration::from_secs(1),
                        "right password got {status} during the wait"
                    );
                }
                break;
            }
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        assert!(throttled, "{email} slowed down");
    }
}

async fn settings_versions_refuse_stale_writes_and_changes_are_audited(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let v1 = unique_event("v1");
    let url = &format!("/api/v1/admin/events/{v1}/queue");
    let r = call(
        &app,
        Some(ADMIN),
        Method::PUT,
        url,
        Some(json!({"admit_per_minute": 60})),
    )
    .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let r = call(&app, Some(ADMIN), Method::GET, url, None).await;
    assert_eq!(r.headers()["etag"], "\"1\"");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["version"], 1);

    // A write naming the current version applies and bumps it.
    let r = app
        .http
        .patch(app.url(url))
        .bearer_auth(ADMIN)
        .header("if-match", "\"1\"")
        .json(&json!({"admit_per_minute": 90}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    // A stale version: 409, nothing changes.
    let r = app
        .http
        .patch(app.url(url))
        .bearer_auth(ADMIN)
        .header("if-match", "\"1\"")
        .json(&json!({"admit_per_minute": 5}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 409);
    let r = call(
        &app,
        Some(ADMIN),
        Method::PATCH,
        url,
        Some(json!({"admit_per_minute": 5, "version": 1})),
    )
    .await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "version_conflict");
    // No version: applies (scripts).
    let r = call(
        &app,
        Some(ADMIN),
        Method::PATCH,
        url,
        Some(json!({"max_active": 7})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        (body["admit_per_minute"].as_u64(), body["version"].as_u64()),
        (Some(90), Some(3))
    );

    // Invalid settings name their field.
    for (patch, field) in [
        (json!({"admit_per_minute": -1}), "admit_per_minute"),
        (json!({"max_active": -1}), "max_active"),
        (json!({"prequeue_at": 2_000, "opens_at": 1_000}), "opens_at"),
    ] {
        let r = call(&app, Some(ADMIN), Method::PATCH, url, Some(patch.clone())).await;
        assert_eq!(r.status(), 422, "{patch}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["field"], *field);
    }

    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        &format!("/api/v1/admin/events/{v1}/queue/pause"),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = call(
        &app,
        Some(ADMIN),
        Method::GET,
        &format!("/api/v1/admin/audit?target=event:{v1}"),
        None,
    )
    .await;
    let log: Vec<Value> = r.json().await.expect("json");
    let actions: Vec<&str> = log.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "queue.pause",
            "queue.settings.change",
            "queue.settings.change",
            "queue.settings.replace"
        ]
    );
    assert_eq!(log[0]["actor"], "admin_token");
    let before: Value =
        serde_json::from_str(log[0]["before"].as_str().expect("before")).expect("json");
    let after: Value =
        serde_json::from_str(log[0]["after"].as_str().expect("after")).expect("json");
    assert_eq!(
        (before["state"].as_str(), after["state"].as_str()),
        (Some("open"), Some("paused"))
    );
    assert!(log[0]["at"].as_i64().is_some());
    forget(backend, &[&v1]).await;
}

/// `door` (an API key or a login) may check tickets in and nothing else;
/// a viewer may not check in; nobody anonymous may. (The check-in itself
/// is in `door`.)
async fn the_door_role_checks_in_and_does_nothing_else(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let ev = unique_event("doorrole");
    let base = format!("/api/v1/admin/events/{ev}");
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        "/api/v1/admin/events",
        Some(new_event(&ev)),
    )
    .await;
    expect(r, 201, "create").await;
    let (_, door_key) = create_key(&app, ADMIN, "door").await;
    let owner = login(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    create_operator(&app, &owner, "door@example.com", "door").await;
    let door_login = login(&app, "door@example.com", "password-123").await;
    let (_, viewer) = create_key(&app, ADMIN, "viewer").await;
    let scan = json!({"ticket": "T-00000-00000", "gate": "north", "event": ev});
    for token in [&door_key, &door_login, &owner] {
        let r = call(
            &app,
            Some(token),
            Method::POST,
            "/api/v1/checkin",
            Some(scan.clone()),
        )
        .await;
        assert_eq!(expect(r, 200, "check-in").await["result"], "invalid");
        let r = call(
            &app,
            Some(token),
            Method::GET,
            &format!("/api/v1/checkin/offline/{ev}"),
            None,
        )
        .await;
        expect(r, 200, "offline list").await;
    }
    for token in [&door_key, &door_login] {
        for (method, path, body) in [
            (Method::GET, "/api/v1/admin/me".to_owned(), None),
            (Method::GET, "/api/v1/admin/events".to_owned(), None),
            (Method::GET, format!("{base}/report"), None),
            (
                Method::POST,
                "/api/v1/admin/tickets/tkt_x/reissue".to_owned(),
                None,
            ),
            (
                Method::PATCH,
                format!("{base}/queue"),
                Some(json!({"max_active": 1})),
            ),
        ] {
            let r = call(&app, Some(token), method.clone(), &path, body).await;
            expect(r, 403, &format!("door {method} {path}")).await;
        }
    }
    let r = call(
        &app,
        Some(&viewer),
        Method::POST,
        "/api/v1/checkin",
        Some(scan.clone()),
    )
    .await;
    expect(r, 403, "viewer check-in").await;
    let r = call(&app, None, Method::POST, "/api/v1/checkin", Some(scan)).await;
    expect(r, 401, "anonymous check-in").await;
}
