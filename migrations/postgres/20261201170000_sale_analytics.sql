-- Sale analytics that outlive the live dashboard's hour: one row per event
-- and minute, kept for the life of the sale (and after, for its report).
--
-- Every process receives every admission tick (numbered by `seq`), and
-- adds the ticks it saw to these rows. `sale_watermark` holds the highest
-- tick added so far: a process moves it with a compare-and-set in the same
-- transaction as its additions, so each tick is added once however many
-- processes saw it, whichever of them writes, across restarts and admitter
-- handovers. Columns named `*_total` are cumulative counts (the queue
-- store's shared counters, the sales tables) read when the row was
-- written; the row keeps the larger value and the report takes the
-- differences between minutes.
create table sale_minute (
    event_id text not null,
    -- Start of the minute, ms since the epoch.
    minute bigint not null,
    -- Ticks added.
    ticks bigint not null,
    -- Tickets issued, admissions and departures during the minute.
    joins bigint not null,
    admitted bigint not null,
    departed bigint not null,
    -- Queue length and active sessions at the minute's last tick.
    waiting bigint not null,
    active bigint not null,
    -- Time from join to admission of the minute's admissions, as JSON
    -- `{"<seconds>": count}` (coarser buckets for long waits), and how many
    -- admissions that covers (a process started mid-sale does not know
    -- when earlier tickets joined).
    waits text not null,
    waits_known bigint not null,
    rate_limited_total bigint not null,
    captcha_failed_total bigint not null,
    returned_total bigint not null,
    holds_total bigint not null,
    holders_total bigint not null,
    orders_total bigint not null,
    buyers_total bigint not null,
    revenue_total bigint not null,
    primary key (event_id, minute)
);

-- The last tick added to `sale_minute` per event, the highest ticket
-- issued by then (joins are differences of it) and when it ran (a queue
-- removed and made again numbers its ticks from 1: a tick numbered below
-- the watermark but run well after it starts the count again).
create table sale_watermark (
    event_id text primary key,
    seq bigint not null,
    last_ticket bigint not null,
    at bigint not null
);

-- The sale analytics count an event's holds and the visitors who held.
create index hold_event_visitor_idx on hold (event_id, visitor_id);
