//! A local stand-in for Stripe's API: the endpoints waitroom calls
//! (`POST /v1/payment_intents`, `/v1/payment_intents/{id}/cancel`,
//! `/v1/refunds`) with Stripe's behaviour (idempotency-key replay,
//! `Request-Id` headers, refusals with Stripe's error codes), answering
//! complete objects in the documented shape, nulls included. Test-side
//! actions play the parts waitroom never calls (Stripe.js confirming a
//! card, a refund or dispute in the Dashboard) and return the complete
//! Event Stripe would deliver.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::stand_in_objects::{charge, intent, now, refund};
pub use crate::stand_in_objects::{error, event};

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Call {
    pub path: String,
    pub idempotency_key: Option<String>,
    pub stripe_version: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Call {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct Inner {
    pub calls: Vec<Call>,
    intents: BTreeMap<String, Value>,
    charges: BTreeMap<String, Value>,
    replies: HashMap<String, (u16, Value)>,
    /// Answered (once) instead of the next call's real answer.
    pub fail_next: Option<(u16, Value)>,
    /// Refunds answer 500 `api_error` while set.
    pub refunds_down: bool,
    seq: u64,
}

impl Inner {
    fn next(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}_standin{}", self.seq)
    }
}

/// The running stand-in.
#[derive(Clone)]
pub struct StandIn {
    pub base: String,
    pub inner: Arc<Mutex<Inner>>,
}

impl StandIn {
    pub async fn start() -> Self {
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base: format!("http://{addr}/"),
            inner,
        }
    }

    pub fn calls(&self, path: &str) -> Vec<Call> {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .iter()
            .filter(|c| c.path == path)
            .cloned()
            .collect()
    }

    pub fn intent(&self, id: &str) -> Value {
        self.inner.lock().unwrap().intents[id].clone()
    }

    pub fn fail_next(&self, status: u16, body: Value) {
        self.inner.lock().unwrap().fail_next = Some((status, body));
    }

    /// Stripe.js confirming `card` on the intent: the event Stripe sends.
    pub fn confirm(&self, pi: &str, card: &str) -> Value {
        let mut inner = self.inner.lock().unwrap();
        let ch_id = inner.next("ch");
        let ev_id = inner.next("evt");
        let mut intent = inner.intents[pi].clone();
        let decline = match card {
            "4000000000000002" => Some(("generic_decline", "Your card was declined.")),
            "4000000000009995" => Some(("insufficient_funds", "Your card has insufficient funds.")),
            _ => None,
        };
        let ch = charge(&ch_id, &intent, decline.is_none(), decline);
        inner.charges.insert(ch_id.clone(), ch);
        intent["latest_charge"] = json!(ch_id);
        intent["payment_method"] = json!(format!("pm_{ch_id}"));
        let kind = if let Some((code, message)) = decline {
            intent["status"] = json!("requires_payment_method");
            intent["payment_method"] = Value::Null;
            intent["last_payment_error"] = json!({
                "type": "card_error", "code": "card_declined", "decline_code": code,
                "message": message, "charge": ch_id, "param": null,
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "payment_method": {"id": format!("pm_{ch_id}"), "object": "payment_method",
                    "type": "card"}
            });
            "payment_intent.payment_failed"
        } else {
            intent["status"] = json!("succeeded");
            intent["amount_received"] = intent["amount"].clone();
            intent["last_payment_error"] = Value::Null;
            "payment_intent.succeeded"
        };
        inner.intents.insert(pi.to_owned(), intent.clone());
        event(&ev_id, kind, intent)
    }

    /// A refund made in the Dashboard: `charge.refunded` and
    /// `charge.refund.updated`.
    pub fn dashboard_refund(&self, pi: &str, amount: i64) -> (Value, Value) {
        let mut inner = self.inner.lock().unwrap();
        let re_id = inner.next("re");
        let (e1, e2) = (inner.next("evt"), inner.next("evt"));
        let ch_id = inner.intents[pi]["latest_charge"]
            .as_str()
            .unwrap()
            .to_owned();
        let ch = inner.charges.get_mut(&ch_id).unwrap();
        let refunded = ch["amount_refunded"].as_i64().unwrap() + amount;
        ch["amount_refunded"] = json!(refunded);
        ch["refunded"] = json!(refunded >= ch["amount"].as_i64().unwrap());
        let ch = ch.clone();
        let re = refund(&re_id, &ch, amount, "succeeded");
        (
            event(&e1, "charge.refunded", ch),
            event(&e2, "charge.refund.updated", re),
        )
    }

    /// A dispute opened by the cardholder's bank: `charge.dispute.created`.
    pub fn dispute(&self, pi: &str) -> Value {
        let mut inner = self.inner.lock().unwrap();
        let (dp_id, ev_id) = (inner.next("dp"), inner.next("evt"));
        let ch_id = inner.intents[pi]["latest_charge"]
            .as_str()
            .unwrap()
            .to_owned();
        let ch = inner.charges.get_mut(&ch_id).unwrap();
        ch["disputed"] = json!(true);
        let dispute = json!({
            "id": dp_id, "object": "dispute", "amount": ch["amount"],
            "balance_transactions": [], "charge": ch_id, "created": now(),
            "currency": ch["currency"], "evidence": {"customer_email_address": null,
                "product_description": null, "uncategorized_text": null},
            "evidence_details": {"due_by": now() + 86_400 * 7, "has_evidence": false,
                "past_due": false, "submission_count": 0},
            "is_charge_refundable": false, "livemode": false, "metadata": {},
            "payment_intent": pi, "payment_method_details": {"card": {"brand": "visa",
                "network_reason_code": "10.4"}, "type": "card"},
            "reason": "fraudulent", "status": "needs_response"
        });
        event(&ev_id, "charge.dispute.created", dispute)
    }
}

fn reply(status: u16, body: Value, request_id: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let mut res = (status, Json(body)).into_response();
    res.headers_mut()
        .insert("request-id", request_id.parse().unwrap());
    res
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut st = inner.lock().unwrap();
    let request_id = st.next("req");
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let call = Call {
        path: uri.path().to_owned(),
        idempotency_key: header("idempotency-key"),
        stripe_version: header("stripe-version"),
        form: url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect(),
    };
    st.calls.push(call.clone());
    let replay_key = call
        .idempotency_key
        .as_ref()
        .map(|k| format!("{}|{k}", call.path));
    if let Some((status, body)) = replay_key.as_ref().and_then(|k| st.replies.get(k)) {
        return reply(*status, body.clone(), &request_id);
    }
    let (status, body) = match st.fail_next.take() {
        Some(failure) => failure,
        None => answer(&mut st, &call),
    };
    // Stripe saves the result of a request that ran (a success, a card
    // error), not of one refused before running (validation, 429, 5xx).
    if (200..300).contains(&status) || status == 402 {
        if let Some(k) = replay_key {
            st.replies.insert(k, (status, body.clone()));
        }
    }
    reply(status, body, &request_id)
}

fn answer(st: &mut Inner, call: &Call) -> (u16, Value) {
    let path = call.path.as_str();
    if path == "/v1/payment_intents" {
        let id = st.next("pi");
        let metadata: serde_json::Map<String, Value> = call
            .form
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
                Some((key.to_owned(), json!(v)))
            })
            .collect();
        let types: Vec<&str> = call
            .form
            .iter()
            .filter(|(k, _)| k.starts_with("payment_method_types["))
            .map(|(_, v)| v.as_str())
            .collect();
        let amount = call.field("amount").and_then(|a| a.parse::<i64>().ok());
        let Some(amount) = amount else {
            let mut e = error(
                "invalid_request_error",
                Some("parameter_missing"),
                "Missing required param: amount.",
            );
            e["error"]["param"] = json!("amount");
            return (400, e);
        };
        let pi = intent(
            &id,
            amount,
            call.field("currency").unwrap_or("usd"),
            json!(metadata),
            json!(types),
        );
        st.intents.insert(id, pi.clone());
        return (200, pi);
    }
    if let Some(id) = path
        .strip_prefix("/v1/payment_intents/")
        .and_then(|p| p.strip_suffix("/cancel"))
    {
        let Some(pi) = st.intents.get_mut(id) else {
            return (
                404,
                error(
                    "invalid_request_error",
                    Some("resource_missing"),
                    "No such payment_intent",
                ),
            );
        };
        let status = pi["status"].as_str().unwrap_or_default().to_owned();
        if matches!(status.as_str(), "succeeded" | "canceled" | "processing") {
            let mut e = error(
                "invalid_request_error",
                Some("payment_intent_unexpected_state"),
                &format!(
                    "You cannot cancel this PaymentIntent because it has a status of {status}."
                ),
            );
            e["error"]["payment_intent"] = pi.clone();
            return (400, e);
        }
        pi["status"] = json!("canceled");
        pi["canceled_at"] = json!(now());
        pi["cancellation_reason"] = json!(call.field("cancellation_reason"));
        return (200, pi.clone());
    }
    if path == "/v1/refunds" {
        if st.refunds_down {
            return (500, error("api_error", None, "An unknown error occurred"));
        }
        let pi = call.field("payment_intent").unwrap_or_default();
        let Some(ch_id) = st
            .intents
            .get(pi)
            .and_then(|p| p["latest_charge"].as_str())
            .map(str::to_owned)
        else {
            return (
                400,
                error(
                    "invalid_request_error",
                    Some("resource_missing"),
                    "No such payment_intent",
                ),
            );
        };
        let re_id = st.next("re");
        let ch = st.charges.get_mut(&ch_id).unwrap();
        let (amount, refunded) = (
            ch["amount"].as_i64().unwrap(),
            ch["amount_refunded"].as_i64().unwrap(),
        );
        if ch["disputed"] == json!(true) {
            return (
                400,
                error(
                    "invalid_request_error",
                    Some("charge_disputed"),
                    "Charge has been disputed.",
                ),
            );
        }
        if refunded >= amount {
            return (
                400,
                error(
                    "invalid_request_error",
                    Some("charge_already_refunded"),
                    "Charge has already been refunded.",
                ),
            );
        }
        let want = call
            .field("amount")
            .and_then(|a| a.parse::<i64>().ok())
            .unwrap_or(amount - refunded);
        if want > amount - refunded {
            return (
                400,
                error(
                    "invalid_request_error",
                    Some("amount_too_large"),
                    "Refund amount is greater than unrefunded amount on charge",
                ),
            );
        }
        ch["amount_refunded"] = json!(refunded + want);
        ch["refunded"] = json!(refunded + want >= amount);
        let re = refund(&re_id, ch, want, "succeeded");
        return (200, re);
    }
    (
        404,
        error("invalid_request_error", None, "Unrecognized request URL"),
    )
}
