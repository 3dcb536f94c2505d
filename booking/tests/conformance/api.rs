//! The HTTP surface: routes, input validation, error shapes, and
//! a full journey on a started service (workers included).

use crate::common::{config_for, Backend, TestApp, AUDIENCE, ISSUER};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use booking::{Booking, BookingError};
use queue::admission::AdmissionVerifier;
use queue::keys::SigningKeys;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

pub async fn call(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub fn post_json(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// Catalog: list, filters, pagination, one event, the seat map.
async fn catalog_routes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = booking::router(app.state.clone());
    let (status, body) = call(&r, get("/api/v1/events")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["events"][0]["id"], "demo");
    assert_eq!(body["next_cursor"], Value::Null);
    let (_, body) = call(&r, get("/api/v1/events?q=DEMO&limit=1")).await;
    assert_eq!(body["events"].as_array().unwrap().len(), 1);
    let (_, body) = call(&r, get("/api/v1/events?q=nothing")).await;
    assert_eq!(body["events"], json!([]));
    let (_, body) = call(&r, get("/api/v1/events?to=2000-01-01")).await;
    assert_eq!(body["events"], json!([]));
    for bad in ["limit=0", "limit=x", "cursor=%%%", "from=yesterday"] {
        let (status, body) = call(&r, get(&format!("/api/v1/events?{bad}"))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
    }
    let (status, body) = call(&r, get("/api/v1/events/demo")).await;
    assert_eq!(
        (status, body["name"].as_str()),
        (StatusCode::OK, Some("Demo Night"))
    );
    let (status, body) = call(&r, get("/api/v1/events/nope")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = call(&r, get("/api/v1/events/b%21d")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = call(&r, get("/api/v1/events/demo/seats")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["available_seats"], 280);
    assert_eq!(body["sections"].as_array().unwrap().len(), 3);
    assert_eq!(body["tiers"].as_array().unwrap().len(), 2);
    assert_eq!(body["sections"][2]["pool"]["available"], 500);
    app.cleanup().await;
}

/// Holds over HTTP: error codes and shapes, cookie or header credential.
async fn hold_routes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = booking::router(app.state.clone());
    let seat = app.seats().await[0].0;
    let fan = app.admit("demo");
    let hold = |body: &str, auth: bool| {
        let mut req = Request::post("/api/v1/events/demo/holds")
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::COOKIE,
                format!("other=1; wr_queue_demo={}", fan.queue_token),
            );
        if auth {
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", fan.token));
        }
        req.body(Body::from(body.to_owned())).unwrap()
    };
    let (status, body) = call(&r, hold("{not json", true)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    let (status, body) = call(&r, hold(r#"{"seats":"x"}"#, true)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = call(&r, hold(r#"{"seats":[1]}"#, false)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("admission_required"))
    );
    let (status, body) = call(&r, hold(r#"{"quantity":-1}"#, true)).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("quantity"))
    );
    let (status, body) = call(&r, hold(&json!({"seats": [seat]}).to_string(), true)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hold_id = body["hold_id"].as_str().unwrap().to_owned();
    assert!(body["expires_at"].is_string());
    let other = app.admit("demo");
    let req = Request::post("/api/v1/events/demo/holds")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", other.token))
        .header("x-queue-token", &other.queue_token)
        .body(Body::from(json!({"seats": [seat]}).to_string()))
        .unwrap();
    let (status, body) = call(&r, req).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "seats_unavailable");
    assert_eq!(body["error"]["seats"], json!([seat]));
    let (status, body) = call(&r, get("/api/v1/events/demo/seats")).await;
    assert_eq!(
        (status, body["available_seats"].as_i64()),
        (StatusCode::OK, Some(279))
    );
    let delete = |token: &str| {
        Request::delete(format!("/api/v1/holds/{hold_id}"))
            .header("x-queue-token", token)
            .body(Body::empty())
            .unwrap()
    };
    let (status, _) = call(&r, delete(&other.queue_token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&r, delete(&fan.queue_token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&r, get("/api/v1/holds/bad%20id")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.cleanup().await;
}

/// The whole journey on a started service: HTTP hold, checkout, the dev
/// payment form, and the confirmation email written by the outbox worker.
async fn started_service_journey(backend: Backend) {
    let probe = TestApp::new(backend).await; // mints tokens with its own keys
    let dir = tempfile::tempdir().unwrap();
    let (config, pg_db) = config_for(backend, &dir).await;
    let keys = Arc::new(SigningKeys::generate());
    let verifier = Arc::new(AdmissionVerifier::new(
        keys.public_keys(),
        ISSUER.to_owned(),
        AUDIENCE.to_owned(),
    ));
    let queue = probe.queue.clone();
    let db = Booking::open_db(&config).await.unwrap();
    let booking = Booking::start(config.clone(), db.clone(), verifier, queue)
        .await
        .unwrap();
    booking.ping().await.unwrap();
    let r = booking.router();
    // A token from other keys is refused with the verifier's code.
    let fan = probe.admit("demo");
    let req = Request::post("/api/v1/events/demo/holds")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", fan.token))
        .header("x-queue-token", &fan.queue_token)
        .body(Body::from(r#"{"seats":[1]}"#))
        .unwrap();
    let (status, body) = call(&r, req).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_unknown_key"))
    );
    // Now with this service's keys.
    let issuer = queue::admission::AdmissionIssuer::new(
        keys.clone(),
        ISSUER.to_owned(),
        AUDIENCE.to_owned(),
    );
    let event = queue::EventId::parse("demo").unwrap();
    let visitor = queue::VisitorId::random();
    let cred = queue::visitor::VisitorCredential::new(event.clone(), visitor.clone());
    let now = crate::common::now_ms();
    let token = issuer
        .issue(&event, &visitor, 1, now, now + 60_000, &cred.session_hash())
        .unwrap();
    let qt = queue::visitor::CredentialCodec::new(&keys).encode(&cred);
    let seats: Vec<i64> = db
        .catalog()
        .seat_map("demo")
        .await
        .unwrap()
        .seats
        .iter()
        .take(2)
        .map(|s| s.id)
        .collect();
    let req = Request::post("/api/v1/events/demo/holds")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("x-queue-token", &qt)
        .body(Body::from(json!({"seats": seats}).to_string()))
        .unwrap();
    let (status, body) = call(&r, req).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hold_id = body["hold_id"].as_str().unwrap();
    let req = Request::post(format!("/api/v1/holds/{hold_id}/checkout"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-queue-token", &qt)
        .body(Body::from(r#"{"email":"journey@example.com"}"#))
        .unwrap();
    let (status, body) = call(&r, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let confirm = body["confirm_url"].as_str().unwrap().to_owned();
    let (status, form) = (r.clone().oneshot(get(&confirm)).await.unwrap().status(), ());
    assert_eq!((status, form), (StatusCode::OK, ()));
    let (status, body) = call(&r, Request::post(&confirm).body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("confirmed")),
        "{body}"
    );
    let mail_dir = config.effective_mail_dir();
    let mut found = false;
    for _ in 0..50 {
        if std::fs::read_dir(&mail_dir).map(|d| d.count()).unwrap_or(0) > 0 {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "the outbox worker wrote the confirmation email");
    drop(booking);
    probe.cleanup().await;
    if let Some(name) = pg_db {
        crate::common::drop_pg_db(&name).await;
    }
}

#[test]
fn database_outage_is_503_with_retry_after() {
    let res = BookingError::from(sqlx::Error::PoolTimedOut).into_response();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()[header::RETRY_AFTER], "2");
}

#[tokio::test]
async fn dev_provider_refused_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, _) = config_for(Backend::Sqlite, &dir).await;
    config.production = true;
    let keys = SigningKeys::generate();
    let verifier = Arc::new(AdmissionVerifier::new(
        keys.public_keys(),
        ISSUER.to_owned(),
        AUDIENCE.to_owned(),
    ));
    let queue = Arc::new(crate::common::RecordingQueue::default());
    let db = Booking::open_db(&config).await.unwrap();
    let err = Booking::start(config, db, verifier, queue)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("dev payment provider"), "{err}");
}

crate::per_backend!(catalog_routes, hold_routes, started_service_journey);
