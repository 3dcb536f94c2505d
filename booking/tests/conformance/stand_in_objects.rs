//! The objects the Stripe stand-in answers and sends, complete in Stripe's
//! documented shape (every field, nulls included): PaymentIntent, Charge,
//! Refund, Event and the error body.

use serde_json::{json, Value};

/// Stripe's error body.
pub fn error(kind: &str, code: Option<&str>, message: &str) -> Value {
    json!({"error": {
        "type": kind, "code": code, "decline_code": null, "message": message,
        "param": null, "doc_url": code.map(|c| format!("https://stripe.com/docs/error-codes/{c}")),
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_x", "charge": null
    }})
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn intent(id: &str, amount: i64, currency: &str, metadata: Value, types: Value) -> Value {
    json!({
        "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0,
        "amount_details": {"tip": {}}, "amount_received": 0, "application": null,
        "application_fee_amount": null, "automatic_payment_methods": null,
        "canceled_at": null, "cancellation_reason": null, "capture_method": "automatic",
        "client_secret": format!("{id}_secret_standin"), "confirmation_method": "automatic",
        "created": now(), "currency": currency, "customer": null, "description": null,
        "last_payment_error": null, "latest_charge": null, "livemode": false,
        "metadata": metadata, "next_action": null, "on_behalf_of": null,
        "payment_method": null, "payment_method_configuration_details": null,
        "payment_method_options": {"card": {"installments": null, "mandate_options": null,
            "network": null, "request_three_d_secure": "automatic"}},
        "payment_method_types": types, "processing": null, "receipt_email": null,
        "review": null, "setup_future_usage": null, "shipping": null,
        "statement_descriptor": null, "statement_descriptor_suffix": null,
        "status": "requires_payment_method", "transfer_data": null, "transfer_group": null
    })
}

pub fn charge(id: &str, pi: &Value, paid: bool, failure: Option<(&str, &str)>) -> Value {
    json!({
        "id": id, "object": "charge", "amount": pi["amount"],
        "amount_captured": if paid { pi["amount"].clone() } else { json!(0) },
        "amount_refunded": 0, "application": null, "application_fee": null,
        "application_fee_amount": null, "balance_transaction": if paid { json!(format!("txn_{id}")) } else { Value::Null },
        "billing_details": {"address": {"city": null, "country": null, "line1": null,
            "line2": null, "postal_code": null, "state": null},
            "email": null, "name": null, "phone": null},
        "calculated_statement_descriptor": "WAITROOM", "captured": paid, "created": now(),
        "currency": pi["currency"], "customer": null, "description": null, "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": failure.map(|_| "card_declined"),
        "failure_message": failure.map(|f| f.1), "fraud_details": {}, "livemode": false,
        "metadata": pi["metadata"], "on_behalf_of": null,
        "outcome": {"network_status": if paid { "approved_by_network" } else { "declined_by_network" },
            "reason": failure.map(|f| f.0), "risk_level": "normal", "risk_score": 20,
            "seller_message": if paid { "Payment complete." } else { "The bank declined the payment." },
            "type": if paid { "authorized" } else { "issuer_declined" }},
        "paid": paid, "payment_intent": pi["id"], "payment_method": format!("pm_{id}"),
        "payment_method_details": {"card": {"brand": "visa", "country": "US", "exp_month": 12,
            "exp_year": 2034, "funding": "credit", "last4": "0002", "network": "visa"},
            "type": "card"},
        "receipt_email": null, "receipt_number": null,
        "receipt_url": format!("https://pay.stripe.com/receipts/{id}"), "refunded": false,
        "review": null, "shipping": null, "source_transfer": null,
        "statement_descriptor": null, "statement_descriptor_suffix": null,
        "status": if paid { "succeeded" } else { "failed" },
        "transfer_data": null, "transfer_group": null
    })
}

pub fn refund(id: &str, ch: &Value, amount: i64, status: &str) -> Value {
    json!({
        "id": id, "object": "refund", "amount": amount,
        "balance_transaction": format!("txn_{id}"), "charge": ch["id"], "created": now(),
        "currency": ch["currency"], "destination_details": {"card": {"reference_status": "pending",
            "reference_type": "acquirer_reference_number", "type": "refund"}, "type": "card"},
        "failure_balance_transaction": null, "failure_reason": null, "metadata": {},
        "payment_intent": ch["payment_intent"], "reason": "requested_by_customer",
        "receipt_number": null, "source_transfer_reversal": null, "status": status,
        "transfer_reversal": null
    })
}

/// A complete Event around `object`.
pub fn event(id: &str, kind: &str, object: Value) -> Value {
    json!({
        "id": id, "object": "event", "api_version": booking::payment::stripe_api::STRIPE_VERSION,
        "created": now(), "data": {"object": object, "previous_attributes": null},
        "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null}, "type": kind
    })
}
