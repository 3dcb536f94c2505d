//! The dev provider: no money moves. Checkout returns a URL of a simulated
//! card form; confirming it (`POST /api/v1/dev-payments/{payment}/confirm`)
//! behaves like Stripe's `payment_intent.succeeded` webhook. Refused at
//! start when `production` is set.

use super::{Intent, IntentRequest, PaymentProvider, RefundRequest};
use crate::error::Result;
use async_trait::async_trait;

/// The simulated provider.
pub struct DevProvider;

#[async_trait]
impl PaymentProvider for DevProvider {
    fn name(&self) -> &'static str {
        "dev"
    }

    async fn create_intent(&self, req: &IntentRequest) -> Result<Intent> {
        Ok(Intent {
            provider_ref: format!("dev_{}", req.payment_id),
            client_secret: None,
        })
    }

    async fn refund(&self, req: &RefundRequest) -> Result<String> {
        Ok(format!("dev_re_{}", req.idempotency_key))
    }
}
