-- Tickets: one per seat or general-admission place of a confirmed order,
-- issued in the transaction that confirms it. `jws` is the signed text the
-- QR code carries; a reissue (lost phone) revokes the row and adds a new
-- one with the next version, so an old QR scans INVALID.
create table ticket (
    id text primary key,
    -- Short code for manual entry at the door (unique, unguessable enough
    -- that it cannot be typed by chance).
    reference text not null unique,
    order_id text not null references "order" (id),
    event_id text not null references event (id),
    -- `s:<seat id>` or `g:<pool id>:<n>`: the place this ticket admits to.
    place text not null,
    -- What the door shows, e.g. "Stalls row B seat 7".
    seat text not null,
    version bigint not null,
    jws text not null,
    issued_at timestamptz not null,
    revoked_at timestamptz,
    revoked_reason text,
    -- The first admitted scan. Set once, by a conditional update
    -- (`where checked_in_at is null`), so concurrent scans admit once.
    checked_in_at timestamptz,
    checked_in_gate text
);
create index ticket_order_idx on ticket (order_id);
create index ticket_event_idx on ticket (event_id, checked_in_at);
-- At most one live ticket per place of an order: reissuing revokes first.
create unique index ticket_live_place_idx on ticket (order_id, place) where revoked_at is null;

-- Reminder emails before the event: one row per order, inserted in the
-- transaction that queues the email, so however many processes look, an
-- order is reminded once.
create table order_reminder (
    order_id text primary key references "order" (id),
    queued_at timestamptz not null
);

-- Door staff: a role that checks tickets in and can do nothing else.
alter table operator drop constraint if exists operator_role_check;
alter table operator add constraint operator_role_check
    check (role in ('door', 'viewer', 'operator', 'owner'));
alter table api_key drop constraint if exists api_key_role_check;
alter table api_key add constraint api_key_role_check
    check (role in ('door', 'viewer', 'operator', 'owner'));
