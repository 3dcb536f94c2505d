-- Operators' accounts, API keys and the audit log (admin crate).
-- Times are milliseconds since the Unix epoch (bigint), like the queue's,
-- so the audit log and queue settings compare without conversions.

-- A person who runs sales. Roles are cumulative: viewer (read-only) <
-- operator (changes sales and queue settings) < owner (manages accounts).
create table operator (
    id text primary key,
    -- Lowercased by the application; the login name.
    email text not null unique,
    -- argon2id PHC string.
    password_hash text not null,
    role text not null check (role in ('viewer', 'operator', 'owner')),
    created_at bigint not null
);

-- Keys for automation. Only the SHA-256 of a key is stored: a leaked
-- database does not leak working keys. Revoked keys stay for the audit log.
create table api_key (
    id text primary key,
    name text not null,
    key_sha256 text not null unique,
    role text not null check (role in ('viewer', 'operator', 'owner')),
    created_by text not null,
    created_at bigint not null,
    revoked_at bigint
);

-- Every change an operator (or the scheduler) makes: who, what, on what,
-- the state before and after (JSON text), and when. Append-only.
create table audit_entry (
    id bigserial primary key,
    at bigint not null,
    actor text not null,
    action text not null,
    target text not null,
    before text,
    after text
);
-- Read newest first, optionally per target (an event's history).
create index audit_entry_at_idx on audit_entry (at desc, id desc);
create index audit_entry_target_idx on audit_entry (target, id desc);
