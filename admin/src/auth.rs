//! Operator authentication, enforced by an extractor so a handler cannot
//! forget it: a handler that takes [`Operator`] only runs for a caller
//! presenting the operator key.

use crate::AdminApi;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use queue::api::ApiError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SHA-256 of a key; keys are compared as digests in constant time.
pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// An authenticated operator.
#[derive(Debug, Clone)]
pub struct Operator {
    /// How they authenticated, for logs and the audit trail.
    pub via: &'static str,
}

impl FromRequestParts<AdminApi> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AdminApi) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "operator API key required (Authorization: Bearer …)",
                )
            })?;
        if bool::from(digest(presented.trim()).ct_eq(&state.api_key_sha256)) {
            Ok(Operator { via: "api_key" })
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "invalid operator credentials",
            ))
        }
    }
}
