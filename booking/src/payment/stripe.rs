//! Stripe: PaymentIntents and Refunds over [`StripeApi`], each created with
//! an idempotency key so retries (ours or a double click) are safe.

use super::stripe_api::{IntentObject, RefundObject, StripeApi};
use super::{Intent, IntentCancel, IntentRequest, PaymentProvider, RefundMade, RefundRequest};
use crate::error::Result;
use async_trait::async_trait;

/// The Stripe provider.
pub struct StripeProvider {
    api: StripeApi,
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
        Ok(Self {
            api: StripeApi::new(base, secret_key)?,
            publishable_key,
        })
    }
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_intent(&self, req: &IntentRequest) -> Result<Intent> {
        // The checkout page confirms with Stripe.js's card element, so the
        // intent asks for cards explicitly rather than whatever the
        // Dashboard enables (`automatic_payment_methods`), which could offer
        // redirect-based methods the page cannot complete.
        let form = [
            ("amount", req.amount.to_string()),
            ("currency", req.currency.clone()),
            ("payment_method_types[0]", "card".to_owned()),
            ("metadata[order_id]", req.order_id.clone()),
            ("metadata[payment_id]", req.payment_id.clone()),
        ];
        let (intent, request_id) = self
            .api
            .post::<IntentObject>(
                "/v1/payment_intents",
                &form,
                &format!("pi_{}", req.payment_id),
            )
            .await
            .map_err(|e| e.into_booking())?;
        Ok(Intent {
            provider_ref: intent.id,
            client_secret: intent.client_secret,
            request_id,
        })
    }

    async fn cancel_intent(&self, provider_ref: &str, key: &str) -> Result<IntentCancel> {
        let form = [("cancellation_reason", "abandoned".to_owned())];
        let path = format!("/v1/payment_intents/{provider_ref}/cancel");
        match self.api.post::<IntentObject>(&path, &form, key).await {
            Ok((_, request_id)) => Ok(IntentCancel::Canceled { request_id }),
            // Already canceled is done; succeeded (or processing) is too
            // late, and the success webhook refunds it.
            Err(e) if e.code.as_deref() == Some("payment_intent_unexpected_state") => {
                let status = e.payment_intent.as_ref().map(|pi| pi.status.as_str());
                Ok(if status == Some("canceled") {
                    IntentCancel::Canceled {
                        request_id: e.request_id,
                    }
                } else {
                    IntentCancel::TooLate {
                        request_id: e.request_id,
                    }
                })
            }
            Err(e) => Err(e.into_booking()),
        }
    }

    async fn refund(&self, req: &RefundRequest) -> Result<RefundMade> {
        let form = [
            ("payment_intent", req.provider_ref.clone()),
            ("amount", req.amount.to_string()),
            ("reason", "requested_by_customer".to_owned()),
        ];
        let (refund, request_id) = self
            .api
            .post::<RefundObject>("/v1/refunds", &form, &req.idempotency_key)
            .await
            .map_err(|e| e.into_booking())?;
        Ok(RefundMade {
            provider_ref: refund.id,
            status: refund.status.unwrap_or_else(|| "succeeded".to_owned()),
            request_id,
        })
    }

    fn publishable_key(&self) -> Option<String> {
        self.publishable_key.clone()
    }
}
