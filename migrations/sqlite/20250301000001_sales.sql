-- Operators' reports: an event's orders in export order, and its active
-- holds (what a cancellation has to release).
create index order_event_idx on "order" (event_id, created_at, id);
create index hold_event_active_idx on hold (event_id) where status = 'active';
