-- Booking schema (docs/architecture.md, "Stores"). Money is integer minor units (cents) so
-- totals never suffer float rounding; every timestamp is `timestamptz` in UTC.
-- Table names are singular; `order` is a keyword, so it is always quoted.

-- A place where events happen; shared by many events.
create table venue (
    id bigint generated always as identity primary key,
    name text not null,
    city text not null default ''
);

-- The sale itself. `id` is the public slug used in URLs and in the queue's
-- Redis keys (`demo`), so it is text, not a surrogate number.
create table event (
    id text primary key,
    name text not null,
    description text not null default '',
    venue_id bigint not null references venue (id),
    starts_at timestamptz not null,
    -- Only published events are listed or bookable; cancelled ones stay for
    -- their orders' history.
    status text not null check (status in ('draft', 'published', 'cancelled')),
    -- An open-ended window (null) means "always on sale".
    sale_starts_at timestamptz,
    sale_ends_at timestamptz,
    currency text not null check (length(currency) = 3),
    created_at timestamptz not null
);
-- The catalog lists published events by date.
create index event_status_starts_idx on event (status, starts_at, id);

-- Named prices within an event; seats and pools point at one.
create table price_tier (
    id bigint generated always as identity primary key,
    event_id text not null references event (id),
    name text not null,
    price bigint not null check (price >= 0)
);

-- A block of the venue for one event: seated (rows of numbered seats) or
-- general admission (a counted pool).
create table section (
    id bigint generated always as identity primary key,
    event_id text not null references event (id),
    name text not null,
    kind text not null check (kind in ('seated', 'general')),
    position bigint not null default 0
);

-- A hold groups the seats one admitted fan picked. Inserted before the seats
-- point at it, so the seat's foreign key can be checked immediately.
create table hold (
    id text primary key,
    event_id text not null references event (id),
    visitor_id text not null,
    -- The admission's session hash (`cnf.sst`): only the same session may
    -- release the hold or check out.
    session_hash text not null,
    jti text not null,
    status text not null check (status in ('active', 'released', 'expired', 'completed')),
    total bigint not null default 0,
    currency text not null,
    expires_at timestamptz not null,
    created_at timestamptz not null,
    ended_at timestamptz
);
-- The sweeper scans only active holds by expiry.
create index hold_active_expiry_idx on hold (expires_at) where status = 'active';

-- One numbered seat. `status` + `hold_id` is the authority on who has it:
-- a hold takes a seat only through a conditional update
-- (`where status = 'available'`), so a seat can never be held or sold twice.
create table seat (
    id bigint generated always as identity primary key,
    event_id text not null references event (id),
    section_id bigint not null references section (id),
    row_label text not null,
    number bigint not null,
    price_tier_id bigint not null references price_tier (id),
    status text not null default 'available' check (status in ('available', 'held', 'sold')),
    hold_id text references hold (id),
    -- A held or sold seat always names its hold; an available one never does.
    check ((status = 'available') = (hold_id is null)),
    unique (section_id, row_label, number)
);
create index seat_event_idx on seat (event_id, id);
create index seat_hold_idx on seat (hold_id) where hold_id is not null;

-- General admission: a counted pool. The check constraint is the database's
-- guarantee that a pool is never oversold, whatever the application does.
create table ga_pool (
    id bigint generated always as identity primary key,
    event_id text not null references event (id),
    section_id bigint not null references section (id),
    price_tier_id bigint not null references price_tier (id),
    capacity bigint not null check (capacity >= 0),
    held bigint not null default 0 check (held >= 0),
    sold bigint not null default 0 check (sold >= 0),
    check (held + sold <= capacity)
);

-- Seats of a hold. Kept after the hold ends: a late payment uses them to
-- try to take the same seats again (or to refund).
create table hold_seat (
    hold_id text not null references hold (id),
    seat_id bigint not null references seat (id),
    price bigint not null,
    primary key (hold_id, seat_id)
);

-- General-admission places of a hold.
create table hold_ga (
    hold_id text not null references hold (id),
    ga_pool_id bigint not null references ga_pool (id),
    quantity bigint not null check (quantity > 0),
    price bigint not null,
    primary key (hold_id, ga_pool_id)
);

-- An admission token may place one hold. The primary key on `jti`, inserted
-- in the same transaction as the hold, is what makes that true across nodes.
create table consumed_admission (
    jti text primary key,
    event_id text not null,
    visitor_id text not null,
    hold_id text not null,
    consumed_at timestamptz not null
);

-- A buyer, by email. `password_hash` is null until they register.
create table customer (
    id text primary key,
    -- Stored lowercased; unique so checkout and registration meet on one row.
    email text not null unique,
    password_hash text,
    created_at timestamptz not null
);

-- One order per hold (`unique (hold_id)`): retrying checkout finds it again
-- instead of charging twice.
create table "order" (
    id text primary key,
    reference text not null unique,
    hold_id text not null unique references hold (id),
    event_id text not null references event (id),
    customer_id text not null references customer (id),
    email text not null,
    session_hash text not null,
    status text not null check (status in ('pending', 'confirmed', 'failed', 'cancelled', 'refund_pending', 'refunded')),
    total bigint not null,
    currency text not null,
    created_at timestamptz not null,
    confirmed_at timestamptz,
    ended_at timestamptz
);
create index order_customer_idx on "order" (customer_id, created_at);

-- What the order buys, copied from the hold at checkout so the receipt does
-- not change if the seat map does.
create table order_line (
    id bigint generated always as identity primary key,
    order_id text not null references "order" (id),
    seat_id bigint references seat (id),
    ga_pool_id bigint references ga_pool (id),
    description text not null,
    quantity bigint not null,
    unit_price bigint not null
);
create index order_line_order_idx on order_line (order_id);

-- One payment per order. Its id is the provider's idempotency key, so a
-- retried checkout never creates a second PaymentIntent.
create table payment (
    id text primary key,
    order_id text not null unique references "order" (id),
    provider text not null,
    provider_ref text unique,
    client_secret text,
    amount bigint not null,
    currency text not null,
    status text not null check (status in ('pending', 'succeeded', 'failed', 'refunded')),
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- Money given back (cancellation, or a payment that arrived too late).
create table refund (
    id text primary key,
    payment_id text not null references payment (id),
    provider_ref text,
    amount bigint not null,
    reason text not null,
    created_at timestamptz not null
);

-- Emails are written here in the same transaction as the change they report
-- and sent by a worker with retries, so a crash never loses or invents one.
create table email_outbox (
    id bigint generated always as identity primary key,
    kind text not null,
    recipient text not null,
    subject text not null,
    body_text text not null,
    body_html text not null,
    status text not null check (status in ('pending', 'sent', 'failed')),
    attempts bigint not null default 0,
    next_attempt_at timestamptz not null,
    last_error text,
    created_at timestamptz not null,
    sent_at timestamptz
);
create index email_outbox_due_idx on email_outbox (next_attempt_at) where status = 'pending';

-- Stripe delivers events at least once and out of order; claiming the event
-- id with `on conflict do nothing` makes handling idempotent.
create table processed_webhook_event (
    id text primary key,
    event_type text not null,
    processed_at timestamptz not null
);
