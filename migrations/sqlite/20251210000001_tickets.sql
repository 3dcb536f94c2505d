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
    issued_at text not null,
    revoked_at text,
    revoked_reason text,
    -- The first admitted scan. Set once, by a conditional update
    -- (`where checked_in_at is null`), so concurrent scans admit once.
    checked_in_at text,
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
    queued_at text not null
);

-- Door staff: a role that checks tickets in and can do nothing else.
-- SQLite cannot change a check constraint, so both tables are rebuilt
-- (nothing references them).
create table operator_new (
    id text primary key,
    email text not null unique,
    password_hash text not null,
    role text not null check (role in ('door', 'viewer', 'operator', 'owner')),
    created_at bigint not null,
    session_epoch bigint not null default 0
);
insert into operator_new (id, email, password_hash, role, created_at, session_epoch)
    select id, email, password_hash, role, created_at, session_epoch from operator;
drop table operator;
alter table operator_new rename to operator;

create table api_key_new (
    id text primary key,
    name text not null,
    key_sha256 text not null unique,
    role text not null check (role in ('door', 'viewer', 'operator', 'owner')),
    created_by text not null,
    created_at bigint not null,
    revoked_at bigint
);
insert into api_key_new (id, name, key_sha256, role, created_by, created_at, revoked_at)
    select id, name, key_sha256, role, created_by, created_at, revoked_at from api_key;
drop table api_key;
alter table api_key_new rename to api_key;
