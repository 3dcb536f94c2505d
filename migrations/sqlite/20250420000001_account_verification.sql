-- Accounts must prove they own their email before they see the orders
-- placed with it. A customer row with a password but no verified_at (made
-- before verification existed) is not an account until verified.
alter table customer add column email_verified_at text;

-- A registration waiting for its emailed link. The password chosen at
-- registration lives here, not on the customer, so registering someone
-- else's email changes nothing until that mailbox's owner completes it.
-- Only a SHA-256 of the link's token is stored.
create table account_verification (
    token_hash text primary key,
    email text not null,
    password_hash text not null,
    created_at text not null,
    expires_at text not null,
    used_at text
);
create index account_verification_email_idx on account_verification (email);

-- Account mails sent per address in the current window, so registering (or
-- logging in to an unverified account) cannot flood an inbox. Counted the
-- same whether or not the address has an account.
create table account_mail_throttle (
    email text primary key,
    window_start text not null,
    hits bigint not null
);
