//! HTTP: every booking route, listed here, with feature handlers in the
//! sibling modules. Input extractors turn axum's rejections into our error
//! shape (malformed JSON 400 `invalid_json`, wrong fields 422).

mod auth;
mod catalog;
mod dev_payments;
mod holds;
mod look;
mod orders;
mod tickets;
mod webhooks;

use crate::error::BookingError;
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::Router;
use serde::de::DeserializeOwned;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Every booking route; each handler's `#[utoipa::path]` gives its path,
/// method and documentation.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalog::list))
        .routes(routes!(catalog::show))
        .routes(routes!(catalog::seats))
        .routes(routes!(look::look))
        .routes(routes!(look::logo))
        .routes(routes!(holds::create))
        .routes(routes!(holds::show, holds::release))
        .routes(routes!(orders::checkout))
        .routes(routes!(orders::show))
        .routes(routes!(orders::cancel))
        .routes(routes!(webhooks::stripe_webhook))
        .routes(routes!(dev_payments::dev_form, dev_payments::dev_confirm))
        .routes(routes!(auth::register))
        .routes(routes!(auth::verify))
        .routes(routes!(auth::login))
        .routes(routes!(auth::my_orders))
        .routes(routes!(tickets::show))
        .routes(routes!(tickets::png))
        .routes(routes!(tickets::svg))
        .routes(routes!(tickets::pdf))
}

/// All booking routes, state applied.
pub fn router(state: AppState) -> Router {
    routes().split_for_parts().0.with_state(state)
}

/// The booking operations, as [`router`] serves them.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// `Json<T>` with our error mapping.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = BookingError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The body as the API document reads it (`queue::api::json_object`).
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => queue::api::from_json_value(value)
                .map(Self)
                .map_err(|why| BookingError::validation("body", why)),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(BookingError::validation("body", e.body_text()))
            }
            Err(e) => Err(BookingError::InvalidJson(e.body_text())),
        }
    }
}

/// The fan's language for emails: the page's own (`lang` in the body),
/// else the request's `Accept-Language` (a shipped language or English).
pub fn page_lang(
    lang: Option<String>,
    headers: &axum::http::HeaderMap,
) -> Result<Option<String>, BookingError> {
    use crate::email::i18n::Lang;
    let chosen = match lang {
        Some(tag) if tag.chars().count() > 35 => {
            return Err(BookingError::validation("lang", "at most 35 characters"))
        }
        Some(tag) => Lang::from_tag(&tag),
        None => headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Lang::En, Lang::from_accept_language),
    };
    Ok(Some(chosen.code().to_owned()))
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
