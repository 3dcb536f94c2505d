//! The dev provider: no money moves. Checkout returns a URL of a simulated
//! card form; confirming it (`POST /api/v1/dev-payments/{payment}/confirm`)
//! behaves like Stripe: a test card that declines is a failed attempt
//! (`payment_intent.payment_failed`), any other valid number pays
//! (`payment_intent.succeeded`). Refused at start when `production` is set.

use super::{Intent, IntentCancel, IntentRequest, PaymentProvider, RefundMade, RefundRequest};
use crate::error::Result;
use async_trait::async_trait;

/// The simulated provider.
pub struct DevProvider;

/// A decline as Stripe reports it: `(decline_code, message)`.
pub type Decline = (&'static str, &'static str);

/// What a dev test card does, after Stripe's test cards: `Some` declines
/// with Stripe's decline code and message, `None` pays.
pub fn test_card(number: &str) -> Option<Decline> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    match digits.as_str() {
        "4000000000000002" => Some(("generic_decline", "Your card was declined.")),
        "4000000000009995" => Some(("insufficient_funds", "Your card has insufficient funds.")),
        "4000000000009987" => Some(("lost_card", "Your card was declined.")),
        "4000000000000069" => Some(("expired_card", "Your card has expired.")),
        _ => None,
    }
}

#[async_trait]
impl PaymentProvider for DevProvider {
    fn name(&self) -> &'static str {
        "dev"
    }

    async fn create_intent(&self, req: &IntentRequest) -> Result<Intent> {
        Ok(Intent {
            provider_ref: format!("dev_{}", req.payment_id),
            client_secret: None,
            request_id: None,
        })
    }

    async fn cancel_intent(&self, _provider_ref: &str, _key: &str) -> Result<IntentCancel> {
        Ok(IntentCancel::Canceled { request_id: None })
    }

    async fn refund(&self, req: &RefundRequest) -> Result<RefundMade> {
        Ok(RefundMade {
            provider_ref: format!("dev_re_{}", req.idempotency_key),
            status: "succeeded".to_owned(),
            request_id: None,
        })
    }
}
