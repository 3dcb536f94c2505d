//! Shared by the operator tests: apps on both backends, sign-in, calls.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

pub const OWNER_EMAIL: &str = "admin@localhost";
pub const OWNER_PASSWORD: &str = "owner-password-1";

/// Embedded defaults (SQLite, in-process queue) or production backends
/// (a fresh PostgreSQL database, Redis): every test runs on both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Embedded,
    Production,
}

/// A fresh PostgreSQL database's URL.
pub async fn fresh_postgres() -> String {
    let admin = std::env::var("WR_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("wr_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required at {admin} (WR_TEST_POSTGRES_URL): {e}")
    });
    sqlx::query(&format!("create database {name}"))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.clone(), |(b, _)| b.to_owned());
    format!("{base}/{name}")
}

pub async fn spawn_admin_app(backend: Backend) -> TestApp {
    let pg = match backend {
        Backend::Embedded => None,
        Backend::Production => Some(fresh_postgres().await),
    };
    spawn_with(move |s| {
        s.admin_password = Some(gateway::config::Secret::new(OWNER_PASSWORD));
        if let Some(url) = pg {
            s.database_url = Some(gateway::config::Secret::new(url));
            let redis =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
            s.redis_url = Some(gateway::config::Secret::new(redis));
        }
    })
    .await
}

/// An event id no other test (or earlier run, on a shared Redis) uses.
pub fn unique_event(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Generates one test per backend for each check.
#[macro_export]
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test] async fn $check() { super::$check(super::Backend::Embedded).await })*
        }
        mod production {
            $(#[tokio::test] async fn $check() { super::$check(super::Backend::Production).await })*
        }
    };
}

/// Logs in; returns the session token.
pub async fn login(app: &TestApp, email: &str, password: &str) -> String {
    let r = app
        .http
        .post(app.url("/api/v1/admin/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "login {email}");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("wr_admin="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let body: Value = r.json().await.expect("json");
    body["token"].as_str().expect("token").to_owned()
}

pub async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.http.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("request")
}

/// Creates an operator account as the owner; returns its id.
pub async fn create_operator(app: &TestApp, owner: &str, email: &str, role: &str) -> String {
    let body = json!({"email": email, "password": "password-123", "role": role});
    let r = call(
        app,
        Some(owner),
        Method::POST,
        "/api/v1/admin/operators",
        Some(body),
    )
    .await;
    assert_eq!(r.status(), 201, "create {email}");
    let v: Value = r.json().await.expect("json");
    v["id"].as_str().expect("id").to_owned()
}

pub async fn create_key(app: &TestApp, owner: &str, role: &str) -> (String, String) {
    let body = json!({"name": format!("ci {role}"), "role": role});
    let r = call(
        app,
        Some(owner),
        Method::POST,
        "/api/v1/admin/api-keys",
        Some(body),
    )
    .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.expect("json");
    (
        v["id"].as_str().expect("id").to_owned(),
        v["key"].as_str().expect("key").to_owned(),
    )
}

/// Deletes the Redis keys of `events` after a passed production test, so a
/// shared Redis does not collect test events in `wr:events` (which every
/// engine on that Redis iterates).
pub async fn forget(backend: Backend, events: &[&str]) {
    if backend != Backend::Production {
        return;
    }
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let store = queue::store::redis::RedisStore::connect(&url)
        .await
        .expect("connect for cleanup");
    for event in events {
        let event = queue::EventId::parse(event).expect("event id");
        queue::QueueStore::remove_event(&store, &event)
            .await
            .expect("forget");
    }
}
