-- PostgreSQL's migration of this version also adds `place_holds`, which
-- places a batch of holds in one statement. SQLite has one writer and no
-- stored functions: it places each hold with the statements in
-- booking/src/db/place/sqlite.rs.

-- Free seats only. After every hold the waitlist asks whether anything of
-- the event is left (booking/src/waitlist.rs); the first entry here answers
-- without reading the event's other seats.
create index seat_available_idx on seat (event_id, id) where status = 'available';
