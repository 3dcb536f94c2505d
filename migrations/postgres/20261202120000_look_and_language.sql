-- The fan-facing look of an event, set by operators: a display name, an
-- accent colour, a short message and a logo. Plain text only; pages render
-- every field as text. The logo's bytes are served from our own origin
-- (`GET /api/v1/events/{event}/logo`), so the pages' img-src 'self' holds.
create table event_look (
    event_id text primary key references event (id) on delete cascade,
    display_name text,
    -- `#rrggbb`.
    accent text,
    message text,
    -- PNG, JPEG or WebP as sniffed from its first bytes; at most 256 KiB.
    logo bytea,
    logo_type text,
    -- Hex SHA-256 of the logo: its URL carries it, so caches never serve
    -- an old logo under a new look.
    logo_sha256 text,
    -- ms since the epoch.
    updated_at bigint not null
);

-- Emails queued once per cause, whichever process saw it first (the "it's
-- your turn" email: every process follows every admission tick). Null for
-- every other email; a unique index allows any number of nulls.
alter table email_outbox add column dedupe_key text;
create unique index email_outbox_dedupe_idx on email_outbox (dedupe_key);

-- The fan's page language when they checked out or registered: the order's
-- and the account's emails are written in it (en, fr, de, es, ja; anything
-- else reads as English).
alter table "order" add column lang text not null default 'en';
alter table account_verification add column lang text not null default 'en';
