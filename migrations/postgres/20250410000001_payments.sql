-- Payments the way Stripe models them. A declined card is a failed attempt,
-- not the end of the order: the last decline is kept on the payment so the
-- checkout page can show it, and the order stays payable until its hold
-- ends. Refunds made outside waitroom (Stripe Dashboard) are mirrored from
-- webhooks, refunds Stripe refuses are recorded with its code so they are
-- not retried forever, and disputes are marked.
alter table payment add column failed_attempts bigint not null default 0;
alter table payment add column last_error_code text;
alter table payment add column last_error_message text;
-- Minor units refunded, as Stripe's Charge `amount_refunded` says (it only
-- grows, except when a refund fails and its money comes back).
alter table payment add column amount_refunded bigint not null default 0;
-- Stripe's error code when it refused our refund (`charge_already_refunded`,
-- `charge_disputed`, ...): the refund is not tried again.
alter table payment add column refund_error text;
-- Stripe's Dispute status (`needs_response`, `won`, `lost`, ...); null when
-- the charge was never disputed.
alter table payment add column dispute_status text;
-- Cancelling the PaymentIntent of an order that ended unpaid: null (nothing
-- to cancel), 'due' (to do, retried by the refund worker), 'done', or
-- 'refused' (Stripe said it is past cancelling, e.g. it succeeded).
alter table payment add column intent_cancel text;
-- Stripe's `Request-Id` of each call made for this payment.
alter table payment add column create_request_id text;
alter table payment add column cancel_request_id text;
alter table payment add column refund_request_id text;
create index payment_intent_cancel_idx on payment (updated_at) where intent_cancel = 'due';

-- A refund's state at Stripe (`pending`, `succeeded`, `failed`, `canceled`,
-- `requires_action`), mirrored from `charge.refund.updated`.
alter table refund add column status text not null default 'succeeded';
alter table refund add column failure_reason text;
create unique index refund_provider_ref_idx on refund (provider_ref);
