//! Checkout, order lookup and cancellation.

use super::settle::{Payments, RefundKind};
use super::{IntentRequest, PaymentProvider};
use crate::accounts::Accounts;
use crate::admission::Credentials;
use crate::db::{CheckoutOutcome, Db, NewCheckout, OrderDetail};
use crate::error::{BookingError, Result};
use crate::holds::Holds;
use crate::state::now;
use queue::api::ErrorCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Body of `POST /holds/{hold}/checkout`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// Where the confirmation goes.
    #[schema(schema_with = queue::api::schemas::fields::customer_email)]
    pub email: String,
    /// The page's language (`en`, `fr`, `de`, `es`, `ja`; others read as
    /// English): the order's emails are written in it. Without it, the
    /// request's `Accept-Language` decides.
    #[serde(default)]
    #[schema(schema_with = queue::api::schemas::fields::language)]
    pub lang: Option<String>,
}

/// What checkout answers.
#[derive(Debug, Clone, Serialize)]
pub struct CheckoutView {
    /// Order id.
    pub order_id: String,
    /// Booking reference.
    pub reference: String,
    /// Order status.
    pub status: String,
    /// Minor units.
    pub total: i64,
    /// Currency.
    pub currency: String,
    /// `stripe` or `dev`.
    pub provider: String,
    /// Payment id.
    pub payment_id: String,
    /// Stripe: for `stripe.confirmCardPayment`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Stripe: publishable key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publishable_key: Option<String>,
    /// Dev: the simulated card form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_url: Option<String>,
    /// The last declined attempt, if any: the order is still payable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_decline: Option<DeclineView>,
}

/// A declined attempt as the checkout page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeclineView {
    /// Stripe's `decline_code` (or `code`).
    pub code: Option<String>,
    /// Stripe's message for the cardholder.
    pub message: Option<String>,
}

/// Lowercases and checks an email address (shape only).
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    // Counted as sent, in characters, as the API document states it.
    let valid = raw.chars().count() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(BookingError::validation(
            "email",
            "is not a valid email address",
        ))
    }
}

fn reference() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("WR-{}", &id[..8])
}

/// The orders service: checkout, a buyer's view of an order, and its
/// cancellation.
#[derive(Clone)]
pub struct Orders {
    pub(crate) db: Db,
    /// Stripe or dev.
    pub(crate) payments: Arc<dyn PaymentProvider>,
    /// The hold a checkout pays for, and what follows its end.
    pub(crate) holds: Holds,
    /// Who is signed in (an order checked out signed in is theirs).
    pub(crate) accounts: Accounts,
    /// Refunds a confirmed order that is cancelled.
    pub(crate) settlement: Payments,
}

/// An order with its lines and payment, or 404 (no access check: for the
/// service's own use).
pub(crate) async fn order_detail(db: &Db, order_id: &str) -> Result<OrderDetail> {
    db.orders()
        .order(order_id)
        .await?
        .ok_or(BookingError::NotFound("order"))
}

impl Orders {
    /// Starts (or resumes) payment for a hold owned by the caller's session.
    #[tracing::instrument(skip_all, fields(hold = %hold_id))]
    pub async fn checkout(
        &self,
        hold_id: &str,
        creds: &Credentials,
        req: &CheckoutRequest,
    ) -> Result<CheckoutView> {
        let result = self.try_checkout(hold_id, creds, req).await;
        crate::metrics::count("waitroom_checkouts_total", "started", &result);
        result
    }

    async fn try_checkout(
        &self,
        hold_id: &str,
        creds: &Credentials,
        req: &CheckoutRequest,
    ) -> Result<CheckoutView> {
        let email = normalize_email(&req.email)?;
        self.holds.hold_for_owner(hold_id, creds).await?;
        let outcome = self
            .db
            .orders()
            .checkout(&NewCheckout {
                hold_id: hold_id.to_owned(),
                order_id: format!("ord_{}", uuid::Uuid::new_v4().simple()),
                reference: reference(),
                payment_id: format!("pay_{}", uuid::Uuid::new_v4().simple()),
                customer_id: format!("cus_{}", uuid::Uuid::new_v4().simple()),
                email,
                provider: self.payments.name().to_owned(),
                now: now(),
                lang: crate::email::i18n::Lang::from_tag(req.lang.as_deref().unwrap_or(""))
                    .code()
                    .to_owned(),
            })
            .await?;
        let detail = match outcome {
            CheckoutOutcome::Order(d) => *d,
            CheckoutOutcome::NoHold => return Err(BookingError::NotFound("hold")),
            CheckoutOutcome::HoldNotActive => {
                return Err(BookingError::Conflict {
                    code: ErrorCode::HoldNotActive,
                    message: "the hold has expired or was released".to_owned(),
                })
            }
        };
        self.accounts
            .claim_for_account(&detail.order, creds)
            .await?;
        let mut payment = detail
            .payment
            .clone()
            .ok_or_else(|| BookingError::internal("order without payment"))?;
        if payment.provider_ref.is_none() && detail.order.status == "pending" {
            let intent = self
                .payments
                .create_intent(&IntentRequest {
                    payment_id: payment.id.clone(),
                    order_id: detail.order.id.clone(),
                    amount: payment.amount,
                    currency: payment.currency.clone(),
                })
                .await?;
            self.db
                .orders()
                .set_provider_ref(
                    &payment.id,
                    &intent.provider_ref,
                    intent.client_secret.as_deref(),
                    intent.request_id.as_deref(),
                )
                .await?;
            payment.provider_ref = Some(intent.provider_ref);
            payment.client_secret = intent.client_secret;
        }
        let dev = payment.provider == "dev";
        Ok(CheckoutView {
            order_id: detail.order.id.clone(),
            reference: detail.order.reference.clone(),
            status: detail.order.status.clone(),
            total: detail.order.total,
            currency: detail.order.currency.clone(),
            provider: payment.provider.clone(),
            payment_id: payment.id.clone(),
            client_secret: if dev {
                None
            } else {
                payment.client_secret.clone()
            },
            publishable_key: if dev {
                None
            } else {
                self.payments.publishable_key()
            },
            // Relative: the dev form is served by whichever process answered,
            // and the configured public URL may not be reachable (port 0,
            // 0.0.0.0, a proxy in front).
            confirm_url: dev.then(|| format!("/api/v1/dev-payments/{}/confirm", payment.id)),
            last_decline: (payment.failed_attempts > 0).then(|| DeclineView {
                code: payment.last_error_code.clone(),
                message: payment.last_error_message.clone(),
            }),
        })
    }

    /// An order with its lines and payment, or 404 (no access check: for
    /// the service's own use).
    pub async fn order_detail(&self, order_id: &str) -> Result<OrderDetail> {
        order_detail(&self.db, order_id).await
    }

    /// An order, visible to the session that checked it out or to the
    /// verified account that owns it; anyone else gets 404.
    pub async fn order_for(&self, order_id: &str, creds: &Credentials) -> Result<OrderDetail> {
        let detail = self.order_detail(order_id).await?;
        let o = &detail.order;
        let by_session = creds.is_session(&o.event_id, &o.session_hash);
        if by_session || self.accounts.account_owns(o, creds).await? {
            Ok(detail)
        } else {
            Err(BookingError::NotFound("order"))
        }
    }

    /// Cancels an order: an unpaid one releases its hold and its
    /// PaymentIntent is cancelled at the provider; a confirmed one is
    /// refunded through the provider and its seats go back on sale. A
    /// refunded one (in Stripe's Dashboard, or a refund Stripe refused as
    /// already made) is 409 `already_refunded`.
    pub async fn cancel_order(&self, order_id: &str, creds: &Credentials) -> Result<OrderDetail> {
        let detail = self.order_for(order_id, creds).await?;
        match detail.order.status.as_str() {
            "pending" => {
                if let Some(released) = self.db.orders().cancel_pending(order_id, now()).await? {
                    self.holds.after_release(&released).await;
                }
            }
            "confirmed" => {
                let payment = detail
                    .payment
                    .as_ref()
                    .ok_or_else(|| BookingError::internal("confirmed order without payment"))?;
                let email = crate::email::templates::cancellation(&detail);
                self.settlement
                    .refund_order(&detail, payment, RefundKind::Cancelled, &email)
                    .await?;
            }
            "refunded" => {
                return Err(super::settle::refund_refused("charge_already_refunded"));
            }
            _ => {
                return Err(BookingError::Conflict {
                    code: ErrorCode::OrderNotCancellable,
                    message: format!(
                        "an order that is {} cannot be cancelled",
                        detail.order.status
                    ),
                })
            }
        }
        self.order_detail(order_id).await
    }
}
