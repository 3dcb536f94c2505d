//! Operators and roles: every admin route called as anonymous, viewer,
//! operator and owner; login slowdown; settings versions; the audit log.

use crate::admin_events::new_event;
use crate::admin_support::*;
use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

crate::on_both_backends!(
    every_admin_route_enforces_its_role,
    api_keys_the_operator_key_and_cookies_authenticate,
    wrong_passwords_are_uniform_and_slowed_down,
    settings_versions_refuse_stale_writes_and_changes_are_audited,
);

#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
enum Need {
    Viewer,
    Operator,
    Owner,
}

async fn every_admin_route_enforces_its_role(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let m1 = unique_event("m1");
    let owner = login(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    create_operator(&app, &owner, "viewer@example.com", "viewer").await;
    create_operator(&app, &owner, "operator@example.com", "operator").await;
    let viewer = login(&app, "viewer@example.com", "password-123").await;
    let operator = login(&app, "operator@example.com", "password-123").await;
    app.create_queue(&m1, json!({"admit_per_minute": 60})).await;

    let callers: [(&str, Option<&str>, Option<Need>); 4] = [
        ("anonymous", None, None),
        ("viewer", Some(&viewer), Some(Need::Viewer)),
        ("operator", Some(&operator), Some(Need::Operator)),
        ("owner", Some(&owner), Some(Need::Owner)),
    ];
    for (n, (who, token, role)) in callers.into_iter().enumerate() {
        // Fresh targets for the destructive routes, made by the owner.
        let victim =
            create_operator(&app, &owner, &format!("victim{n}@example.com"), "viewer").await;
        let (key_id, _) = create_key(&app, &owner, "viewer").await;
        let (draft, doomed) = (unique_event("draft"), unique_event("doomed"));
        for ev in [&draft, &doomed] {
            let r = call(
                &app,
                Some(&owner),
                Method::POST,
                "/api/v1/admin/events",
                Some(new_event(ev)),
            )
            .await;
            assert_eq!(r.status(), 201);
        }
        let routes: Vec<(Method, String, Option<Value>, Need, u16)> = vec![
            (
                Method::GET,
                "/api/v1/admin/me".into(),
                None,
                Need::Viewer,
                200,
            ),
            (
                Method::GET,
                "/api/v1/admin/audit".into(),
                None,
                Need::Viewer,
                200,
            ),
            (
                Method::GET,
                "/api/v1/admin/events".into(),
                None,
                Need::Viewer,
                200,
            ),
            (
                Method::GET,
                format!("/api/v1/admin/events/{m1}/queue"),
                None,
                Need::Viewer,
                200,
            ),
            (
                Method::PATCH,
                format!("/api/v1/admin/events/{m1}/queue"),
                Some(json!({"admit_per_minute": 61})),
                Need::Operator,
                200,
            ),
            (
                Method::PUT,
                format!("/api/v1/admin/events/{m1}/queue"),
                Some(json!({"admit_per_minute": 60})),
                Need::Operator,
                200,
            ),
            (
                Method::POST,
                format!("/api/v1/admin/events/{m1}/queue/pause"),
                None,
                Need::Operator,
                200,
            ),
            (
                Method::POST,
                format!("/api/v1/admin/events/{m1}/queue/drain"),
                None,
                Need::Operator,
                200,
            ),
            (
                Method::POST,
                format!("/api/v1/admin/events/{m1}/queue/close"),
                None,
                Need::Operator,
                200,
            ),
            (
                Method::POST,
                format!("/api/v1/admin/events/{m1}/queue/resume"),
                None,
                Need::Operator,
                200,
            ),
            (
                Method::POST,
                "/api/v1/admin/events".into(),
                Some(new_event(&unique_event("ev"))),
                Need::Operator,
                201,
            ),
            (
                Method::GET,
                format!("/api/v1/admin/events/{draft}"),
                None,
                Need::Viewer,
                200,
            ),
            (
                Method::GET,
                format!("/api/v1/admin/events/{draft}/report"),
                None,
                Need::Viewer,
                200,
            ),
            (
                Method::GET,
                format!("/api/v1/admin/events/{draft}/orders.csv"),
                None,
                Need::Viewer,
                200,
            ),
            (
                Method::PATCH,
                format!("/api/v1/admin/events/{draft}"),
                Some(json!({"name": format!("Renamed by {who}")})),
                Need::Operator,
                200,
            ),
            (
                Method::PUT,
                format!("/api/v1/admin/events/{draft}/seat-map"),
                Some(json!({"seat_map_csv": "section,row,seats,tier,price\nFloor,,10,GA,100\n"})),
                Need::Operator,
                200,
            ),
            (
                Method::POST,
                format!("/api/v1/admin/events/{draft}/publish"),
                None,
                Need::Operator,
                200,
            ),
            (
                Method::POST,
                format!("/api/v1/admin/events/{doomed}/cancel"),
                Some(json!({"confirm": doomed})),
                Need::Operator,
                200,
            ),
            (
                Method::GET,
                "/api/v1/admin/operators".into(),
                None,
                Need::Owner,
                200,
            ),
            (
                Method::POST,
                "/api/v1/admin/operators".into(),
                Some(
                    json!({"email": format!("new-{who}@example.com"), "password": "password-123"}),
                ),
                Need::Owner,
                201,
            ),
            (
                Method::PATCH,
                format!("/api/v1/admin/operators/{victim}"),
                Some(json!({"role": "operator"})),
                Need::Owner,
                200,
            ),
            (
                Method::DELETE,
                format!("/api/v1/admin/operators/{victim}"),
                None,
                Need::Owner,
                204,
            ),
            (
                Method::GET,
                "/api/v1/admin/api-keys".into(),
                None,
                Need::Owner,
                200,
            ),
            (
                Method::POST,
                "/api/v1/admin/api-keys".into(),
                Some(json!({"name": "script"})),
                Need::Owner,
                201,
            ),
            (
                Method::DELETE,
                format!("/api/v1/admin/api-keys/{key_id}"),
                None,
                Need::Owner,
                204,
            ),
        ];
        for (method, path, body, need, ok) in routes {
            let r = call(&app, token, method.clone(), &path, body).await;
            let expected = match role {
                None => 401,
                Some(r) if r < need => 403,
                Some(_) => ok,
            };
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            assert_eq!(status, expected, "{who} {method} {path}: {text}");
            if expected >= 400 {
                let v: Value = serde_json::from_str(&text).expect("error is JSON");
                assert!(v["error"]["code"].is_string(), "{text}");
            }
        }
    }

    // The live WebSocket: any role may watch, anonymous may not.
    for (who, token, expected) in [
        ("anonymous", None, 401),
        ("viewer", Some(viewer.as_str()), 101),
        ("operator", Some(operator.as_str()), 101),
        ("owner", Some(owner.as_str()), 101),
    ] {
        let status = live_status(&app, &m1, token).await;
        assert_eq!(status, expected, "{who} live");
    }

    // Login and logout are the only public routes.
    let r = call(&app, None, Method::POST, "/api/v1/admin/logout", None).await;
    assert_eq!(r.status(), 204);
    forget(backend, &[&m1]).await;
}

/// Status of a WebSocket handshake to the live dashboard feed; on success
/// the first message is the history.
async fn live_status(app: &TestApp, event: &str, token: Option<&str>) -> u16 {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::{Error, Message};
    let mut req = format!("ws://{}/api/v1/admin/events/{event}/live", app.addr)
        .into_client_request()
        .expect("request");
    if let Some(t) = token {
        let value = format!("Bearer {t}").parse().expect("header");
        req.headers_mut().insert("authorization", value);
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut ws, resp)) => {
            let first = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
                .await
                .expect("history in time")
                .expect("a message")
                .expect("no error");
            let Message::Text(text) = first else {
                panic!("expected text, got {first:?}")
            };
            let v: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(v["type"], "history");
            resp.status().as_u16()
        }
        Err(Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("live socket: {e}"),
    }
}

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
                break;
            }
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        assert!(throttled, "{email} slowed down");
    }
    // Even the right password waits while the account is slowed down.
    let (status, _, _) = attempt(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
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
        assert_eq!(body["error"]["code"], format!("invalid_{field}"));
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
