//! Operators and roles: API keys, the operator key and cookies; login
//! slowdown; settings versions; the audit log. (The route-by-role matrix
//! is in `admin_matrix`.)

use crate::admin_events::new_event;
use crate::admin_sales::{buy_as_fan, expect};
use crate::admin_support::*;
use crate::helpers::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

crate::on_both_backends!(
    api_keys_the_operator_key_and_cookies_authenticate,
    wrong_passwords_are_uniform_and_slowed_down,
    settings_versions_refuse_stale_writes_and_changes_are_audited,
    door_staff_check_tickets_in_once_and_do_nothing_else,
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

/// A fan buys; the order lists signed tickets a standard JOSE library
/// verifies from `/.well-known/jwks.json`; door staff (a `door` API key or
/// login) check one in once, and can do nothing else.
async fn door_staff_check_tickets_in_once_and_do_nothing_else(backend: Backend) {
    let app = spawn_admin_app(backend).await;
    let ev = unique_event("door");
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
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        &format!("{base}/publish"),
        None,
    )
    .await;
    expect(r, 200, "publish").await;
    app.create_queue(&ev, queue(600, 100)).await;
    let (order, cred) = buy_as_fan(&app, &ev, "door-fan@example.com").await;

    let r = app
        .http
        .get(app.url(&format!("/api/v1/orders/{order}")))
        .header("x-queue-token", &cred)
        .send()
        .await
        .expect("order");
    let body = expect(r, 200, "order").await;
    let tickets = body["tickets"].as_array().expect("tickets").clone();
    assert_eq!(tickets.len(), 2, "{body}");
    for t in &tickets {
        for field in ["id", "reference", "seat", "status", "qr"] {
            assert!(t[field].is_string(), "{field} in {t}");
        }
        assert_eq!(t["status"], "valid");
    }
    let qr = tickets[0]["qr"].as_str().expect("qr").to_owned();
    let id = tickets[0]["id"].as_str().expect("id").to_owned();

    // The published keys verify it with a standard library.
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let set: JwkSet = serde_json::from_value(jwks.clone()).expect("a JWK set");
    let header = jsonwebtoken::decode_header(&qr).expect("header");
    assert_eq!(header.typ.as_deref(), Some("wr-ticket"));
    let kid = header.kid.expect("kid");
    let published = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the ticket kid is published");
    assert_eq!(published["purpose"], "ticket");
    let key = DecodingKey::from_jwk(set.find(&kid).expect("jwk")).expect("key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(&qr, &key, &validation)
        .expect("standard verification")
        .claims;
    assert_eq!(
        (claims["jti"].as_str(), claims["evt"].as_str()),
        (Some(id.as_str()), Some(ev.as_str()))
    );
    // A ticket key does not verify admission tokens.
    let admission_keys = queue::PublicKeySet::from_jwks(&jwks).expect("admission keys");
    assert!(admission_keys.verifying_key(&kid).is_none());

    // The QR code as an image.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/tickets/{id}/qr.png")))
        .send()
        .await
        .expect("png");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = r.bytes().await.expect("bytes");
    assert_eq!(&png[..4], b"\x89PNG");
    let r = app
        .http
        .get(app.url(&format!("/api/v1/tickets/{id}/qr.svg")))
        .send()
        .await
        .expect("svg");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");

    // Door staff: an API key and a login.
    let (_, door_key) = create_key(&app, ADMIN, "door").await;
    let owner = login(&app, OWNER_EMAIL, OWNER_PASSWORD).await;
    create_operator(&app, &owner, "door@example.com", "door").await;
    let door_login = login(&app, "door@example.com", "password-123").await;
    let checkin = |token: String, ticket: String, gate: &'static str| {
        let app = &app;
        let ev = ev.clone();
        async move {
            let body = json!({"ticket": ticket, "gate": gate, "event": ev});
            call(
                app,
                Some(&token),
                Method::POST,
                "/api/v1/checkin",
                Some(body),
            )
            .await
        }
    };
    let r = checkin(door_key.clone(), qr.clone(), "north").await;
    let first = expect(r, 200, "check-in").await;
    assert_eq!(first["result"], "valid", "{first}");
    assert_eq!(first["ticket"], id.as_str());
    assert_eq!(first["first_scan"]["gate"], "north");
    let r = checkin(door_login.clone(), qr.clone(), "south").await;
    let second = expect(r, 200, "second scan").await;
    assert_eq!(second["result"], "already_used", "{second}");
    assert_eq!(second["first_scan"], first["first_scan"]);
    let other = tickets[1]["reference"]
        .as_str()
        .expect("reference")
        .to_owned();
    let r = checkin(door_login.clone(), other, "south").await;
    assert_eq!(expect(r, 200, "by reference").await["result"], "valid");
    let r = checkin(door_key.clone(), "not.a.ticket".into(), "north").await;
    let bad = expect(r, 200, "garbage").await;
    assert_eq!(bad["result"], "invalid");
    let r = checkin(door_key.clone(), qr.clone(), "").await;
    expect(r, 422, "empty gate").await;
    let r = call(
        &app,
        Some(&door_key),
        Method::GET,
        &format!("/api/v1/checkin/offline/{ev}"),
        None,
    )
    .await;
    let list = expect(r, 200, "offline list").await;
    assert_eq!(list["tickets"].as_array().map(Vec::len), Some(2));

    // Door staff can do nothing else; viewers cannot check in.
    for token in [&door_key, &door_login] {
        for (method, path, body) in [
            (Method::GET, "/api/v1/admin/me".to_owned(), None),
            (Method::GET, "/api/v1/admin/events".to_owned(), None),
            (Method::GET, format!("{base}/report"), None),
            (
                Method::POST,
                format!("/api/v1/admin/tickets/{id}/reissue"),
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
    let (_, viewer) = create_key(&app, ADMIN, "viewer").await;
    let r = checkin(viewer, qr.clone(), "north").await;
    expect(r, 403, "viewer check-in").await;
    let r = call(
        &app,
        None,
        Method::POST,
        "/api/v1/checkin",
        Some(json!({"ticket": qr, "gate": "g"})),
    )
    .await;
    expect(r, 401, "anonymous check-in").await;

    // An operator reissues the second (unused) ticket; the old QR is dead.
    let second_id = tickets[1]["id"].as_str().expect("id");
    let r = call(
        &app,
        Some(ADMIN),
        Method::POST,
        &format!("/api/v1/admin/tickets/{second_id}/reissue"),
        None,
    )
    .await;
    expect(r, 409, "a used ticket is not reissued").await;
    forget(backend, &[&ev]).await;
}
