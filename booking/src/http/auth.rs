//! Customer accounts: register, verify the email, log in, my orders.

use super::ApiJson;
use crate::accounts::{AccountRequest, VerifyRequest};
use crate::admission::Credentials;
use crate::error::Result;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

/// `POST /auth/register`: 202 and a mail, whether or not the email already
/// has an account.
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AccountRequest>,
) -> Result<impl IntoResponse> {
    Ok((StatusCode::ACCEPTED, Json(state.register(&req).await?)))
}

/// `POST /auth/verify`: the emailed token and the registration's password;
/// answers a session.
pub async fn verify(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<impl IntoResponse> {
    Ok(Json(state.verify_email(&req).await?))
}

/// `POST /auth/login`.
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AccountRequest>,
) -> Result<impl IntoResponse> {
    Ok(Json(state.login(&req).await?))
}

/// `GET /me/orders`.
pub async fn my_orders(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse> {
    let creds = Credentials::from_headers(&headers);
    Ok(Json(json!({ "orders": state.my_orders(&creds).await? })))
}
