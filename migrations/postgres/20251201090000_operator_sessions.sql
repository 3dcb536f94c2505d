-- Operator sessions that can be ended: a session token names the epoch
-- of its operator at issue, and is accepted only while the row still has
-- that epoch. Logout, a password change, a role change and deletion move
-- the epoch on, so every token issued before stops working on every
-- process at once (they all read this row on every request).
alter table operator add column session_epoch bigint not null default 0;

-- Secrets the application generates once and every process shares, such
-- as the key that signs operator sessions (so it is not derived from the
-- operator key alone, which may be short or widely known).
create table admin_secret (
    name text primary key,
    value text not null,
    created_at bigint not null
);
