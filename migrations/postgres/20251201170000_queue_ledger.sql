-- The queue store (Redis) may lose data; these rows are what the queue is
-- restored from. Settings: the newest version an operator wrote, mirrored
-- to the store. Checkpoint: written by the admitting process after every
-- tick; last_ticket, head and ticket_margin only ever rise.
create table queue_settings (
    event_id text primary key,
    version bigint not null,
    settings text not null,
    updated_at bigint not null
);

create table queue_checkpoint (
    event_id text primary key,
    epoch text not null,
    last_ticket bigint not null,
    head bigint not null,
    active bigint not null,
    active_until bigint not null,
    ticket_margin bigint not null,
    at bigint not null
);
