-- Finding events: each event has a category from a fixed list (the home
-- page offers them as a choice and translates them) and the city it takes
-- place in. The city starts as the venue's; it lives on the event so the
-- catalog filters on one table and an operator can correct it per event.
alter table event add column category text not null default 'other'
    check (category in ('music', 'sports', 'theatre', 'comedy', 'family', 'conference', 'other'));
alter table event add column city text not null default '';
update event set city = (select v.city from venue v where v.id = event.venue_id);

-- Sorting by popularity counts each listed event's sold seats; without this
-- the count would read every seat of the event.
create index seat_event_sold_idx on seat (event_id) where status = 'sold';
