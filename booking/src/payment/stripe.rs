//! Stripe through `async-stripe`: PaymentIntents and Refunds, each created
//! with an idempotency key so retries (ours or the library's) are safe.

use super::{Intent, IntentRequest, PaymentProvider, RefundRequest};
use crate::error::{BookingError, Result};
use async_trait::async_trait;
use std::collections::HashMap;
use std::str::FromStr;
use stripe::{
    Client, CreatePaymentIntent, CreateRefund, Currency, PaymentIntent, PaymentIntentId, Refund,
    RequestStrategy, StripeError,
};

/// The Stripe provider.
pub struct StripeProvider {
    client: Client,
    publishable_key: Option<String>,
}

impl StripeProvider {
    /// `api_base` defaults to Stripe's API; tests point it at a stand-in.
    pub fn new(
        secret_key: &str,
        api_base: Option<&str>,
        publishable_key: Option<String>,
    ) -> Result<Self> {
        let base = api_base.unwrap_or("https://api.stripe.com/");
        url_check(base)?;
        Ok(Self {
            client: Client::from_url(base, secret_key.to_owned()),
            publishable_key,
        })
    }

    fn with_key(&self, key: &str) -> Client {
        self.client
            .clone()
            .with_strategy(RequestStrategy::Idempotent(key.to_owned()))
    }
}

/// `Client::from_url` panics on a bad URL; check first.
fn url_check(base: &str) -> Result<()> {
    if base.starts_with("http://") || base.starts_with("https://") {
        Ok(())
    } else {
        Err(BookingError::internal(
            "stripe_api_base must be an http(s) URL",
        ))
    }
}

fn provider_error(e: StripeError) -> BookingError {
    match e {
        StripeError::Stripe(req) if req.http_status < 500 && req.http_status != 429 => {
            BookingError::internal(format!("stripe refused the request: {req:?}"))
        }
        other => BookingError::Unavailable {
            what: "payment provider",
            detail: other.to_string(),
        },
    }
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_intent(&self, req: &IntentRequest) -> Result<Intent> {
        let currency = Currency::from_str(&req.currency)
            .map_err(|_| BookingError::internal(format!("unknown currency {}", req.currency)))?;
        let mut params = CreatePaymentIntent::new(req.amount, currency);
        params.metadata = Some(HashMap::from([
            ("order_id".to_owned(), req.order_id.clone()),
            ("payment_id".to_owned(), req.payment_id.clone()),
        ]));
        let client = self.with_key(&format!("pi_{}", req.payment_id));
        let intent = PaymentIntent::create(&client, params)
            .await
            .map_err(provider_error)?;
        Ok(Intent {
            provider_ref: intent.id.to_string(),
            client_secret: intent.client_secret,
        })
    }

    async fn refund(&self, req: &RefundRequest) -> Result<String> {
        let intent = PaymentIntentId::from_str(&req.provider_ref)
            .map_err(|_| BookingError::internal("stored PaymentIntent id is malformed"))?;
        let mut params = CreateRefund::new();
        params.payment_intent = Some(intent);
        params.amount = Some(req.amount);
        let client = self.with_key(&req.idempotency_key);
        let refund = Refund::create(&client, params)
            .await
            .map_err(provider_error)?;
        Ok(refund.id.to_string())
    }

    fn publishable_key(&self) -> Option<String> {
        self.publishable_key.clone()
    }
}
