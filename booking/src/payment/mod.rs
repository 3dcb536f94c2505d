//! Payments behind one trait: Stripe in production, a dev provider (a
//! simulated card form) by default. The payment id is the idempotency key
//! of the provider call, so a retried checkout never charges twice.

pub mod checkout;
pub mod dev;
pub mod mirror;
pub mod settle;
pub mod stripe;
pub mod stripe_api;

use crate::error::Result;
use async_trait::async_trait;

/// A payment to start.
#[derive(Debug, Clone)]
pub struct IntentRequest {
    /// Our payment id; the idempotency key.
    pub payment_id: String,
    /// Order, sent as metadata.
    pub order_id: String,
    /// Minor units.
    pub amount: i64,
    /// ISO currency, lowercase.
    pub currency: String,
}

/// What the provider gave back.
#[derive(Debug, Clone)]
pub struct Intent {
    /// The provider's id (PaymentIntent id).
    pub provider_ref: String,
    /// For Stripe.js.
    pub client_secret: Option<String>,
    /// The provider's id of the call (Stripe `Request-Id`).
    pub request_id: Option<String>,
}

/// A refund the provider accepted.
#[derive(Debug, Clone)]
pub struct RefundMade {
    /// The provider's refund id.
    pub provider_ref: String,
    /// The provider's refund status (`succeeded`, `pending`, …).
    pub status: String,
    /// The provider's id of the call.
    pub request_id: Option<String>,
}

/// What cancelling a provider-side payment came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentCancel {
    /// Cancelled now or before: its client secret can no longer pay.
    Canceled {
        /// The provider's id of the call.
        request_id: Option<String>,
    },
    /// Past cancelling (it succeeded meanwhile): the success webhook
    /// refunds it.
    TooLate {
        /// The provider's id of the call.
        request_id: Option<String>,
    },
}

/// A refund to make.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// The provider's payment id.
    pub provider_ref: String,
    /// Minor units.
    pub amount: i64,
    /// Idempotency key (one refund per order).
    pub idempotency_key: String,
}

/// A payment service provider.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// `stripe` or `dev`, stored on the payment and returned to clients.
    fn name(&self) -> &'static str;
    /// Creates (idempotently) the provider-side payment.
    async fn create_intent(&self, req: &IntentRequest) -> Result<Intent>;
    /// Cancels (idempotently) the provider-side payment of an order that
    /// ended unpaid, so an old client secret cannot take money.
    async fn cancel_intent(
        &self,
        provider_ref: &str,
        idempotency_key: &str,
    ) -> Result<IntentCancel>;
    /// Gives money back.
    async fn refund(&self, req: &RefundRequest) -> Result<RefundMade>;
    /// The key the browser needs (Stripe publishable key).
    fn publishable_key(&self) -> Option<String> {
        None
    }
}
