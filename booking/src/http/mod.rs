//! HTTP: every booking route, listed here, with feature handlers in the
//! sibling modules. Input extractors turn axum's rejections into our error
//! shape (malformed JSON 400 `invalid_json`, wrong fields 422).

mod auth;
mod catalog;
mod holds;
mod orders;
mod tickets;

use crate::error::BookingError;
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;

/// All booking routes, state applied.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/events", get(catalog::list))
        .route("/api/v1/events/{event}", get(catalog::show))
        .route("/api/v1/events/{event}/seats", get(catalog::seats))
        .route("/api/v1/events/{event}/holds", post(holds::create))
        .route(
            "/api/v1/holds/{hold}",
            get(holds::show).delete(holds::release),
        )
        .route("/api/v1/holds/{hold}/checkout", post(orders::checkout))
        .route("/api/v1/orders/{order}", get(orders::show))
        .route("/api/v1/orders/{order}/cancel", post(orders::cancel))
        .route("/api/v1/webhooks/stripe", post(orders::stripe_webhook))
        .route(
            "/api/v1/dev-payments/{payment}/confirm",
            get(orders::dev_form).post(orders::dev_confirm),
        )
        .route("/api/v1/auth/register", post(auth::register))
        .route("/api/v1/auth/verify", post(auth::verify))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/me/orders", get(auth::my_orders))
        .route("/api/v1/tickets/{ticket}", get(tickets::show))
        .route("/api/v1/tickets/{ticket}/qr.png", get(tickets::png))
        .route("/api/v1/tickets/{ticket}/qr.svg", get(tickets::svg))
        .with_state(state)
}

/// `Json<T>` with our error mapping.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = BookingError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(BookingError::validation("body", e.body_text()))
            }
            Err(e) => Err(BookingError::InvalidJson(e.body_text())),
        }
    }
}

/// Checks a path id: our ids are short slugs (`hold_…`, `ord_…`, `demo`).
pub fn path_id(field: &'static str, raw: &str) -> Result<String, BookingError> {
    let ok = !raw.is_empty()
        && raw.len() <= 100
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(BookingError::InvalidId {
            field,
            message: "must be 1 to 100 characters of A-Z, a-z, 0-9, '-' and '_'".to_owned(),
        })
    }
}
