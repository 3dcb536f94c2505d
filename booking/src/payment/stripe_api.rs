//! A thin typed client over the Stripe endpoints waitroom uses, written to
//! Stripe's API reference rather than through `async-stripe`: that crate
//! (0.41) pins API version 2023-10-16, hides response headers (so no
//! `Request-Id` to record) and deserialises error bodies into a closed enum
//! of codes, so an error code newer than the crate (`lock_timeout`, …)
//! became a deserialisation failure instead of the error Stripe sent.
//!
//! Every call sends `Stripe-Version` and an `Idempotency-Key`, and returns
//! Stripe's `Request-Id` with the result or the error.

use crate::error::BookingError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;

/// The API version every request asks for (Stripe's `Stripe-Version`
/// header). Only long-stable fields of PaymentIntent, Refund, Charge,
/// Dispute and error bodies are read.
pub const STRIPE_VERSION: &str = "2025-09-30.clover";

/// Stripe's error body (`{"error": {...}}`), every field optional and
/// every code a plain string, so any error Stripe sends can be read.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StripeError {
    /// `card_error`, `invalid_request_error`, `api_error`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// e.g. `card_declined`, `charge_already_refunded`, `lock_timeout`.
    #[serde(default)]
    pub code: Option<String>,
    /// For card declines: the issuer's reason (`insufficient_funds`, …).
    #[serde(default)]
    pub decline_code: Option<String>,
    /// Human message; for card errors it is meant for the cardholder.
    #[serde(default)]
    pub message: Option<String>,
    /// The request parameter at fault, if any.
    #[serde(default)]
    pub param: Option<String>,
    /// For PaymentIntent errors: the intent as it is now.
    #[serde(default)]
    pub payment_intent: Option<IntentObject>,
    /// HTTP status of the answer (not part of Stripe's body).
    #[serde(skip)]
    pub http_status: u16,
    /// Stripe's `Request-Id` header (not part of Stripe's body).
    #[serde(skip)]
    pub request_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: StripeError,
}

/// The PaymentIntent fields waitroom reads.
#[derive(Debug, Clone, Deserialize)]
pub struct IntentObject {
    /// `pi_…`.
    pub id: String,
    /// `requires_payment_method`, `succeeded`, `canceled`, …
    #[serde(default)]
    pub status: String,
    /// For Stripe.js.
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// The Refund fields waitroom reads.
#[derive(Debug, Clone, Deserialize)]
pub struct RefundObject {
    /// `re_…`.
    pub id: String,
    /// `pending`, `succeeded`, `failed`, `canceled`, `requires_action`.
    #[serde(default)]
    pub status: Option<String>,
}

impl StripeError {
    /// What a fan or operator gets for this error. Card errors are the
    /// fan's (402); rate limits and Stripe's own failures are retryable
    /// (503 with `Retry-After`); anything else is a refusal of what we
    /// sent (502), logged with the request id.
    pub fn into_booking(self) -> BookingError {
        if self.kind == "card_error" {
            return BookingError::PaymentDeclined {
                decline_code: self.decline_code.or(self.code),
                message: self
                    .message
                    .unwrap_or_else(|| "Your card was declined.".to_owned()),
            };
        }
        let transient = self.http_status == 429
            || self.http_status >= 500
            || self.http_status == 0
            || self.kind == "api_error"
            // A concurrent request with the same key is still running (a
            // double click): retry shortly and get its result.
            || (self.http_status == 409 && self.kind == "idempotency_error")
            || self.code.as_deref() == Some("lock_timeout");
        if transient {
            return BookingError::Unavailable {
                what: "payment provider",
                detail: format!(
                    "stripe {} {} {:?} (request {:?}): {}",
                    self.http_status,
                    self.kind,
                    self.code,
                    self.request_id,
                    self.message.unwrap_or_default()
                ),
            };
        }
        BookingError::PaymentProvider {
            kind: self.kind,
            code: self.code,
            request_id: self.request_id,
            detail: self.message.unwrap_or_default(),
        }
    }

    /// Reads an error answer, whatever its body.
    fn from_response(http_status: u16, request_id: Option<String>, body: &[u8]) -> Self {
        let mut e = serde_json::from_slice::<ErrorBody>(body)
            .map(|b| b.error)
            .unwrap_or_else(|_| StripeError {
                kind: "api_error".to_owned(),
                message: Some(format!(
                    "unreadable error body: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                )),
                ..StripeError::default()
            });
        e.http_status = http_status;
        e.request_id = request_id;
        e
    }
}

/// A Stripe API client: base URL, secret key, HTTP client.
#[derive(Clone)]
pub struct StripeApi {
    http: reqwest::Client,
    base: String,
    secret_key: String,
}

impl StripeApi {
    /// `base` is Stripe's API (`https://api.stripe.com/`) or a stand-in.
    pub fn new(base: &str, secret_key: &str) -> Result<Self, BookingError> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(BookingError::internal(
                "stripe_api_base must be an http(s) URL",
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| BookingError::internal(format!("stripe http client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
        })
    }

    /// `POST {path}` with a form body; the decoded object and the request
    /// id, or Stripe's error (a network failure is an `api_connection_error`
    /// with status 0).
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: &str,
    ) -> Result<(T, Option<String>), StripeError> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.secret_key)
            .header("Stripe-Version", STRIPE_VERSION)
            .header("Idempotency-Key", idempotency_key)
            .form(form)
            .send()
            .await
            .map_err(|e| StripeError {
                kind: "api_connection_error".to_owned(),
                message: Some(e.to_string()),
                ..StripeError::default()
            })?;
        let status = res.status().as_u16();
        let request_id = res
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = res.bytes().await.map_err(|e| StripeError {
            kind: "api_connection_error".to_owned(),
            message: Some(e.to_string()),
            request_id: request_id.clone(),
            ..StripeError::default()
        })?;
        if !(200..300).contains(&status) {
            return Err(StripeError::from_response(status, request_id, &body));
        }
        match serde_json::from_slice::<T>(&body) {
            Ok(v) => Ok((v, request_id)),
            Err(e) => Err(StripeError {
                kind: "api_error".to_owned(),
                message: Some(format!("unexpected answer from {path}: {e}")),
                http_status: status,
                request_id,
                ..StripeError::default()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StripeError;

    #[test]
    fn unknown_codes_and_garbage_are_still_read() {
        let body = br#"{"error":{"type":"invalid_request_error","code":"brand_new_code","message":"m","extra":{"x":1}}}"#;
        let e = StripeError::from_response(400, Some("req_1".into()), body);
        assert_eq!(e.kind, "invalid_request_error");
        assert_eq!(e.code.as_deref(), Some("brand_new_code"));
        assert_eq!(e.into_booking().code(), "payment_provider_error");
        let e = StripeError::from_response(502, None, b"<html>bad gateway</html>");
        assert_eq!(e.kind, "api_error");
        assert_eq!(e.into_booking().code(), "service_unavailable");
        let card = br#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#;
        let e = StripeError::from_response(402, None, card).into_booking();
        assert_eq!((e.code(), e.status().as_u16()), ("payment_declined", 402));
    }
}
