//! Operator sessions end when they should (logout, password change, role
//! change, deletion), password changes leave no password material and no
//! look-alike before/after in the audit log, and the session cookie does
//! not work for other origins.

use crate::admin_lockout::audit_of;
use crate::admin_support::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(
    logout_and_account_changes_end_existing_sessions,
    cookie_writes_and_the_live_upgrade_refuse_other_origins,
);

async fn me_status(app: &TestApp, token: &str) -> u16 {
    call(app, Some(token), Method::GET, "/api/v1/admin/me", None)
        .await
        .status()
        .as_u16()
}

async fn patch_operator(app: &TestApp, id: &str, body: Value) {
    let path = format!("/api/v1/admin/operators/{id}");
    let r = call(app, Some(ADMIN), Method::PATCH, &path, Some(body)).await;
    assert_eq!(r.status(), 200);
}

async fn logout_and_account_changes_end_existing_sessions(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let email = "ops@example.com";
    let id = create_operator(&app, ADMIN, email, "operator").await;

    // Logout ends every session of that operator, not only its own.
    let laptop = login(&app, email, "password-123").await;
    let phone = login(&app, email, "password-123").await;
    assert_eq!(me_status(&app, &laptop).await, 200);
    let r = call(
        &app,
        Some(&laptop),
        Method::POST,
        "/api/v1/admin/logout",
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(me_status(&app, &laptop).await, 401, "logged-out token");
    assert_eq!(me_status(&app, &phone).await, 401, "other session too");

    // An owner changing the password ends the sessions.
    let before_change = login(&app, email, "password-123").await;
    patch_operator(&app, &id, json!({"password": "new-password-456"})).await;
    assert_eq!(
        me_status(&app, &before_change).await,
        401,
        "password change"
    );

    // So does a role change...
    let before_role = login(&app, email, "new-password-456").await;
    patch_operator(&app, &id, json!({"role": "viewer"})).await;
    assert_eq!(me_status(&app, &before_role).await, 401, "role change");
    // ...but a change to nothing does not.
    let current = login(&app, email, "new-password-456").await;
    patch_operator(&app, &id, json!({"role": "viewer"})).await;
    assert_eq!(me_status(&app, &current).await, 200, "no-op change");

    // And deletion.
    let path = format!("/api/v1/admin/operators/{id}");
    let r = call(&app, Some(ADMIN), Method::DELETE, &path, None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(me_status(&app, &current).await, 401, "deleted account");

    // The audit log names what changed and holds no password material.
    let log = audit_of(&app, &format!("operator:{id}")).await;
    let raw = call(
        &app,
        Some(ADMIN),
        Method::GET,
        &format!("/api/v1/admin/audit?target=operator:{id}"),
        None,
    )
    .await
    .text()
    .await
    .expect("text");
    for secret in ["password-123", "new-password-456", "$argon2"] {
        assert!(!raw.contains(secret), "{secret} in the audit log: {raw}");
    }
    let rows: Vec<Value> = serde_json::from_str(&raw).expect("json");
    let changes: Vec<&Value> = rows
        .iter()
        .filter(|e| e["action"] == "operator.change")
        .collect();
    assert_eq!(changes.len(), 2, "password and role, not the no-op: {raw}");
    for e in &changes {
        assert_ne!(e["before"], e["after"], "identical before/after: {e}");
    }
    let password_change = changes[1];
    let after: Value =
        serde_json::from_str(password_change["after"].as_str().expect("after")).expect("json");
    assert_eq!(after["password"], "changed", "{after}");
    let actions: Vec<&str> = log.iter().map(|(a, _)| a.as_str()).collect();
    assert!(actions.contains(&"operator.logout"), "{actions:?}");
}

async fn cookie_writes_and_the_live_upgrade_refuse_other_origins(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let event = unique_event("origin");
    app.create_queue(&event, queue(60, 10)).await;
    let token = login(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    let cookie = format!("wr_admin={token}");
    let own = format!("http://{}", app.addr);
    let url = app.url(&format!("/api/v1/admin/events/{event}/queue"));
    let patch = |headers: &[(&str, &str)], content_type: &str| {
        let mut req = app
            .http
            .patch(&url)
            .header("content-type", content_type)
            .body(json!({"max_active": 7}).to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        async move {
            let r = req.send().await.expect("patch");
            let status = r.status().as_u16();
            let body: Value = r.json().await.expect("json");
            (status, body["error"]["code"].as_str().map(str::to_owned))
        }
    };
    let json_ct = "application/json";
    let forbidden = (403, Some("forbidden_origin".to_owned()));
    // A sibling page riding on the cookie.
    let sibling = [
        ("cookie", cookie.as_str()),
        ("origin", "http://evil.localhost"),
    ];
    assert_eq!(patch(&sibling, json_ct).await, forbidden);
    let cross = [
        ("cookie", cookie.as_str()),
        ("sec-fetch-site", "cross-site"),
    ];
    assert_eq!(patch(&cross, json_ct).await, forbidden);
    // The dashboard itself: its own origin, JSON.
    let same = [("cookie", cookie.as_str()), ("origin", own.as_str())];
    assert_eq!(patch(&same, json_ct).await, (200, None));
    // A form-like body is refused even from the own origin.
    let form = "application/x-www-form-urlencoded";
    let unsupported = (415, Some("unsupported_media_type".to_owned()));
    assert_eq!(patch(&same, form).await, unsupported);
    assert_eq!(patch(&same, "text/plain").await, unsupported);
    // Header authentication without Origin keeps working, any body type.
    let bearer = format!("Bearer {token}");
    let header_auth = [("authorization", bearer.as_str())];
    assert_eq!(patch(&header_auth, json_ct).await, (200, None));
    let key = format!("Bearer {ADMIN}");
    assert_eq!(
        patch(&[("authorization", key.as_str())], json_ct).await,
        (200, None)
    );

    // Signing the dashboard into an account from another page is refused.
    let r = app
        .http
        .post(app.url("/api/v1/admin/login"))
        .header("origin", "http://evil.localhost")
        .json(&json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 403);

    // The live feed: a foreign page cannot open it with the cookie.
    assert_eq!(
        live(&app, &event, &cookie, "http://evil.localhost").await,
        403
    );
    assert_eq!(live(&app, &event, &cookie, &own).await, 101);
    forget(backend, &[&event]).await;
}

/// Status of a cookie-authenticated live-feed handshake from `origin`.
async fn live(app: &TestApp, event: &str, cookie: &str, origin: &str) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Error;
    let mut req = format!("ws://{}/api/v1/admin/events/{event}/live", app.addr)
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    req.headers_mut()
        .insert("origin", origin.parse().expect("origin"));
    match tokio_tungstenite::connect_async(req).await {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("live socket: {e}"),
    }
}
