-- Operators' reports: an event's orders in export order, and its active
-- holds (what a cancellation has to release).
create index order_event_idx on "order" (event_id, created_at, id);
create index hold_event_active_idx on hold (event_id) where status = 'active';

-- Why the organiser cancelled; the refund worker puts it in the emails it
-- sends for refunds that failed at first.
alter table event add column cancel_reason text;
-- Orders owed a refund, for the refund worker.
create index order_refund_pending_idx on "order" (created_at) where status = 'refund_pending';
