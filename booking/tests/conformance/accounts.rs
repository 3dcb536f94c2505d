//! Customer accounts over HTTP: an account sees the orders of an email only
//! after proving it owns that email through the emailed link; a guest order
//! needs the session that placed it; registering and logging in do not
//! reveal which emails have accounts.

use crate::api::{call, get, post_json};
use crate::common::{Backend, Fan, TestApp};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};

pub const VICTIM: &str = "victim@example.com";
pub const VICTIM_PW: &str = "victim's own password";
const ATTACKER_PW: &str = "attacker password";
const SESSION_SECRET: &str = "a session key the test knows";

pub async fn register(r: &Router, email: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"email": email, "password": password}).to_string();
    call(r, post_json("/api/v1/auth/register", &body)).await
}

pub async fn login(r: &Router, email: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"email": email, "password": password}).to_string();
    call(r, post_json("/api/v1/auth/login", &body)).await
}

pub async fn verify(r: &Router, token: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"token": token, "password": password}).to_string();
    call(r, post_json("/api/v1/auth/verify", &body)).await
}

/// A request with optional session bearer and visitor credential.
fn req(method: &str, uri: &str, bearer: Option<&str>, queue: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(q) = queue {
        b = b.header("x-queue-token", q);
    }
    b.header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap()
}

async fn my_orders(r: &Router, bearer: Option<&str>) -> (StatusCode, Value) {
    call(r, req("GET", "/api/v1/me/orders", bearer, None)).await
}

async fn show(r: &Router, order: &str, bearer: Option<&str>, queue: Option<&str>) -> StatusCode {
    let uri = format!("/api/v1/orders/{order}");
    call(r, req("GET", &uri, bearer, queue)).await.0
}

async fn cancel(r: &Router, order: &str, bearer: Option<&str>, queue: Option<&str>) -> StatusCode {
    let uri = format!("/api/v1/orders/{order}/cancel");
    call(r, req("POST", &uri, bearer, queue)).await.0
}

/// A fan holds seat number `nth` and checks out over HTTP with `email`
/// (signed in when `bearer` is given); returns the fan and the order id.
async fn checkout(
    app: &TestApp,
    r: &Router,
    nth: usize,
    email: &str,
    bearer: Option<&str>,
) -> (Fan, String) {
    let fan = app.admit("demo");
    let seat = app.seats().await[nth].0;
    let hold = app.hold_seats(&fan.creds(), &[seat]).await.unwrap();
    let uri = format!("/api/v1/holds/{}/checkout", hold.hold_id);
    let mut b = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-queue-token", &fan.queue_token);
    if let Some(t) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = Body::from(json!({"email": email}).to_string());
    let (status, body) = call(r, b.body(body).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "checkout: {body}");
    let order = body["order_id"].as_str().unwrap().to_owned();
    (fan, order)
}

/// The token of the newest verification link mailed to `email`.
pub async fn link_token(app: &TestApp, email: &str) -> String {
    let mails = app.queued_emails("verify_email").await;
    let mail = mails
        .iter()
        .filter(|m| m.recipient == email)
        .max_by_key(|m| m.id)
        .unwrap_or_else(|| panic!("no verification mail to {email}"));
    let (_, rest) = mail.body_text.split_once("#verify=").expect("link in mail");
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The victim registers and completes the link; returns a session token.
pub async fn verified_session(app: &TestApp, r: &Router, email: &str, password: &str) -> String {
    let (status, body) = register(r, email, password).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let token = link_token(app, email).await;
    let (status, body) = verify(r, &token, password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// Finding: a guest checks out; registering their email gave a stranger
/// their orders. Now registering yields no session and the stranger can
/// neither list, show nor cancel the order.
async fn registering_a_buyers_email_gives_no_access(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = booking::router(app.state.clone());
    let (victim, order) = checkout(&app, &r, 0, VICTIM, None).await;
    let (status, body) = register(&r, "Victim@Example.com", ATTACKER_PW).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(
        body.get("token").is_none(),
        "registering hands out no session: {body}"
    );
    // The attacker's password is right for the pending registration, but
    // the email is not theirs: no session, and the new link goes to the
    // victim's mailbox.
    let (status, body) = login(&r, VICTIM, ATTACKER_PW).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("email_unverified")),
        "{body}"
    );
    assert!(body.get("token").is_none());
    let (status, _) = my_orders(&r, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(show(&r, &order, None, None).await, StatusCode::NOT_FOUND);
    assert_eq!(cancel(&r, &order, None, None).await, StatusCode::NOT_FOUND);
    // Every link went to the victim, none anywhere else.
    let links = app.queued_emails("verify_email").await;
    assert_eq!(links.len(), 2, "one per registration and per login");
    assert!(links.iter().all(|m| m.recipient == VICTIM));
    // The victim's order is untouched and still theirs by session.
    assert_eq!(
        show(&r, &order, None, Some(&victim.queue_token)).await,
        StatusCode::OK
    );
    app.cleanup().await;
}

/// Finding: registering first made later guest orders of that email
/// appear in the registrant's account. A link the victim did not ask for
/// does not complete the stranger's registration with the victim's
/// password either.
async fn registering_first_captures_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = booking::router(app.state.clone());
    let (status, _) = register(&r, VICTIM, ATTACKER_PW).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let unsolicited = link_token(&app, VICTIM).await;
    let (_, order) = checkout(&app, &r, 1, VICTIM, None).await;
    let (status, body) = login(&r, VICTIM, ATTACKER_PW).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = verify(&r, "A".repeat(43).as_str(), ATTACKER_PW).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // The victim opens the link they got and types their own password.
    let (status, body) = verify(&r, &unsolicited, VICTIM_PW).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(show(&r, &order, None, None).await, StatusCode::NOT_FOUND);
    // Registering for real and following that link makes it the victim's.
    let session = verified_session(&app, &r, VICTIM, VICTIM_PW).await;
    let (_, body) = my_orders(&r, Some(&session)).await;
    assert_eq!(body["orders"][0]["id"], order.as_str());
    let (status, _) = login(&r, VICTIM, ATTACKER_PW).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the stranger's password died"
    );
    // Their pending link died with it.
    let (status, _) = verify(&r, &unsolicited, ATTACKER_PW).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.cleanup().await;
}

/// The owner proves the email through the link and then sees, shows and
/// cancels their guest orders; the link works once; orders placed while
/// signed in belong to the account whatever email they were sent to.
async fn verified_owner_sees_their_orders(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = booking::router(app.state.clone());
    let (_, guest_order) = checkout(&app, &r, 2, VICTIM, None).await;
    let (status, _) = register(&r, VICTIM, VICTIM_PW).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let token = link_token(&app, VICTIM).await;
    let (status, _) = login(&r, VICTIM, VICTIM_PW).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not before the link is used");
    let token_again = link_token(&app, VICTIM).await; // mailed by that login
    let (status, body) = verify(&r, &token, "not the password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = verify(&r, &token, VICTIM_PW).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["email"], VICTIM);
    for used in [&token, &token_again] {
        let (status, body) = verify(&r, used, VICTIM_PW).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "single use: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, body) = my_orders(&r, Some(&session)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["orders"][0]["id"], guest_order.as_str());
    assert_eq!(
        show(&r, &guest_order, Some(&session), None).await,
        StatusCode::OK
    );
    // Signed in, buying for a friend: the order is the account's.
    let (_, signed_in_order) = checkout(&app, &r, 3, "friend@example.com", Some(&session)).await;
    let (_, body) = my_orders(&r, Some(&session)).await;
    let ids: Vec<&str> = body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert!(ids.contains(&signed_in_order.as_str()), "{body}");
    let (status, body) = call(
        &r,
        req(
            "POST",
            &format!("/api/v1/orders/{guest_order}/cancel"),
            Some(&session),
            None,
        ),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let (status, body) = login(&r, VICTIM, VICTIM_PW).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.cleanup().await;
}

/// A guest order answers only the session that placed it (or the
/// verified account of its email): not a bare request, not another fan,
/// not another verified account.
async fn guest_order_needs_the_placing_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let r = booking::router(app.state.clone());
    let (owner, order) = checkout(&app, &r, 4, "guest@example.com", None).await;
    let other = app.admit("demo");
    let stranger = verified_session(&app, &r, "stranger@example.com", VICTIM_PW).await;
    for (bearer, queue) in [
        (None, None),
        (None, Some(other.queue_token.as_str())),
        (Some(stranger.as_str()), None),
        (Some(owner.token.as_str()), None), // an admission token is no session
    ] {
        assert_eq!(show(&r, &order, bearer, queue).await, StatusCode::NOT_FOUND);
        assert_eq!(
            cancel(&r, &order, bearer, queue).await,
            StatusCode::NOT_FOUND
        );
    }
    let (_, body) = my_orders(&r, Some(&stranger)).await;
    assert_eq!(body["orders"], json!([]));
    let (status, _) = my_orders(&r, Some(&owner.token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let page = get(&format!("/api/v1/orders/{order}"));
    assert_eq!(call(&r, page).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        show(&r, &order, None, Some(&owner.queue_token)).await,
        StatusCode::OK
    );
    assert_eq!(
        cancel(&r, &order, None, Some(&owner.queue_token)).await,
        StatusCode::OK
    );
    app.cleanup().await;
}

/// A session signed before the account's latest verification (a password
/// set before verification existed, or replaced by a later registration)
/// opens nothing; one signed after it does.
async fn sessions_from_before_verification_are_refused(backend: Backend) {
    // A known key, so the test can sign sessions of its own.
    let app = TestApp::with(backend, |c| {
        c.session_secret = Some(booking::Secret::new(SESSION_SECRET.to_owned()));
    })
    .await;
    let r = booking::router(app.state.clone());
    let (_, order) = checkout(&app, &r, 5, VICTIM, None).await;
    let fresh = verified_session(&app, &r, VICTIM, VICTIM_PW).await;
    let customer = app.db.customers().by_email(VICTIM).await.unwrap().unwrap();
    let verified = customer.email_verified_at.unwrap().timestamp();
    let mint = |iat: i64| {
        let claims = booking::accounts::SessionClaims {
            sub: customer.id.clone(),
            email: VICTIM.to_owned(),
            iat,
            exp: iat + 86_400 * 7,
            typ: "session".to_owned(),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SESSION_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let old = mint(verified - 3_600);
    assert_eq!(my_orders(&r, Some(&old)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        show(&r, &order, Some(&old), None).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cancel(&r, &order, Some(&old), None).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(my_orders(&r, Some(&mint(verified))).await.0, StatusCode::OK);
    assert_eq!(show(&r, &order, Some(&fresh), None).await, StatusCode::OK);
    app.cleanup().await;
}

crate::per_backend!(
    registering_a_buyers_email_gives_no_access,
    registering_first_captures_nothing,
    verified_owner_sees_their_orders,
    guest_order_needs_the_placing_session,
    sessions_from_before_verification_are_refused,
);
