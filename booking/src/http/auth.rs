//! Customer accounts: register, verify the email, log in, my orders.

use super::ApiJson;
use crate::accounts::{AccountRequest, NewAccount, VerifyRequest};
use crate::admission::Credentials;
use crate::error::Result;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use queue::api::schemas;
use serde_json::json;

/// `POST /auth/register`: 202 and a mail, whether or not the email already
/// has an account.
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    operation_id = "register",
    tag = "accounts",
    summary = "Start a customer account: mail a link that proves the email is yours",
    description = "Answers 202 with the same body whether or not the email already has an account (so it does not reveal which emails have one); a new address gets a link (`/account.html#verify=<token>`, valid 24 hours), the owner of an existing account gets a note that someone tried to register. The password is hashed either way. At most 3 account mails per address per hour: 429 `rate_limited` with `Retry-After` after that.",
    request_body(content = NewAccount),
    responses(
        (status = 202, description = "Mail sent (or, for an existing account, a notice).", body = schemas::Registration),
        (status = 400, description = "`invalid_json`.", body = schemas::Error),
        (status = 422, description = "`validation_failed` (`error.field` is `body`, `email` or `password`).", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewAccount>,
) -> Result<impl IntoResponse> {
    let mut req = AccountRequest::from(req);
    req.lang = super::page_lang(req.lang.take(), &headers)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(state.accounts().register(&req).await?),
    ))
}

/// `POST /auth/verify`: the emailed token and the registration's password;
/// answers a session.
#[utoipa::path(
    post,
    path = "/api/v1/auth/verify",
    operation_id = "verifyEmail",
    tag = "accounts",
    summary = "Confirm a customer's email with the emailed link",
    description = "The token from the link and the password chosen at registration make the email an account; its orders (guest orders of that email and those placed while signed in) become visible to it. A link works once; the email's other pending links die with it.",
    request_body(content = VerifyRequest),
    responses(
        (status = 200, description = "A session.", body = schemas::CustomerSession),
        (status = 400, description = "`invalid_json`.", body = schemas::Error),
        (status = 401, description = "`unauthorized`: not the password chosen at registration.", body = schemas::Error),
        (status = 422, description = "`validation_failed`: `token` is not the 43 characters of a link, or `body` is of the wrong shape.", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
        (status = 404, description = "`not_found`: the link is unknown, already used or expired; register again for a new one.", body = schemas::Error),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<impl IntoResponse> {
    Ok(Json(state.accounts().verify_email(&req).await?))
}

/// `POST /auth/login`.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "login",
    tag = "accounts",
    summary = "Sign in as a customer",
    description = "Unknown email and wrong password answer the same 401 and take comparable time. The right password of an email not yet confirmed answers 403 `email_unverified` and mails a fresh link (within the per-address mail limit).",
    request_body(content = AccountRequest),
    responses(
        (status = 200, description = "A session.", body = schemas::CustomerSession),
        (status = 400, description = "`invalid_json`.", body = schemas::Error),
        (status = 401, description = "`unauthorized`: wrong email or password (the same for an unknown email).", body = schemas::Error),
        (status = 403, description = "`email_unverified`: the password is right but the email is not confirmed yet; a new link was mailed.", body = schemas::Error),
        (status = 422, description = "`validation_failed` (`error.field` is `body`).", body = schemas::Error),
        (status = 429, response = schemas::RateLimited),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(mut req): ApiJson<AccountRequest>,
) -> Result<impl IntoResponse> {
    req.lang = super::page_lang(req.lang.take(), &headers)?;
    Ok(Json(state.accounts().login(&req).await?))
}

/// `GET /me/orders`.
#[utoipa::path(
    get,
    path = "/api/v1/me/orders",
    operation_id = "myOrders",
    tag = "accounts",
    summary = "The signed-in customer's orders (once their email is confirmed)",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The orders.", body = schemas::MyOrders),
        (status = 401, description = "`unauthorized`: no valid customer session token.", body = schemas::Error),
        (status = 500, response = schemas::Internal),
        (status = 503, response = schemas::BookingUnavailable),
    )
)]
pub async fn my_orders(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let creds = Credentials::from_headers(&headers);
    Ok(Json(
        json!({ "orders": state.accounts().my_orders(&creds).await? }),
    ))
}
