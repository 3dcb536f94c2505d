//! The role matrix: every admin route called as anonymous, viewer,
//! operator and owner, asserting each outcome, plus the live dashboard
//! socket.

use crate::admin_events::new_event;
use crate::admin_support::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

crate::on_both_backends!(every_admin_route_enforces_its_role);

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
        app.create_queue(&doomed, json!({"admit_per_minute": 60}))
            .await;
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
                Method::DELETE,
                format!("/api/v1/admin/events/{doomed}/queue"),
                None,
                Need::Operator,
                204,
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
            assert_eq!(
                v["v"],
                admin::live::LIVE_PROTOCOL,
                "the first message names the protocol"
            );
            resp.status().as_u16()
        }
        Err(Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("live socket: {e}"),
    }
}
