-- Places a batch of holds in one statement, so a batch costs one round trip
-- and one commit however many holds it carries (booking/src/db/place/).
-- Each hold runs in its own sub-block, i.e. its own subtransaction: a hold
-- that cannot be placed is rolled back to its start and changes nothing,
-- the holds before and after it stand. The steps, their order and what each
-- decides are those of a hold placed alone (booking/src/db/place/sqlite.rs):
-- the event is on sale, the admission is consumed (once: the primary key on
-- `jti`), the hold is created, every seat is taken by a conditional update or
-- none is, then the GA places.
--
-- Holds come as parallel arrays, one element per hold; their seats as flat
-- arrays, each hold's `p_seat_count` seats after the previous hold's.
-- The caller orders the holds so that, taken one after the other, their GA
-- pools and then their seats are locked in ascending id order; when that
-- cannot be (overlapping multi-seat holds), it sets `p_lock_first`, which
-- locks every pool and seat of the batch in that order first. Either way
-- two batches never wait on each other in a cycle.
--
-- One row per hold, `hold_index` counting from 1. `outcome`: 0 placed,
-- 1 admission already used, 2 seats taken (`taken` lists them), 3 too few GA
-- places left, 4 event not on sale.
create function place_holds(
    p_id text[], p_event text[], p_visitor text[], p_session text[], p_jti text[],
    p_total bigint[], p_currency text[], p_now timestamptz[], p_expires timestamptz[],
    p_ga_pool bigint[], p_ga_quantity bigint[], p_ga_price bigint[],
    p_seat_count int[], p_seat_id bigint[], p_seat_price bigint[],
    p_lock_first boolean
) returns table (hold_index int, outcome smallint, taken bigint[])
language plpgsql as $$
declare
    v_open text[] := '{}';
    v_event text;
    v_status text;
    v_next int := 1;
    v_taken bigint[];
    v_outcome smallint;
begin
    -- The share lock on each event row lasts until the commit: cancelling
    -- the sale (an update of that row) waits for these holds, then finds
    -- and releases them. Taken before any seat, as a cancel takes the event
    -- before the seats.
    foreach v_event in array
        coalesce((select array_agg(distinct e) from unnest(p_event) e), '{}') loop
        select ev.status into v_status from event ev where ev.id = v_event for share;
        if v_status = 'published' then
            v_open := v_open || v_event;
        end if;
    end loop;
    if p_lock_first then
        -- Pools before seats, as a batch without this step meets them
        -- (its GA holds come first).
        perform 1 from ga_pool g where g.id = any (p_ga_pool) order by g.id for update;
        perform 1 from seat s where s.id = any (p_seat_id) order by s.id for update;
    end if;
    for i in 1 .. coalesce(array_length(p_id, 1), 0) loop
        v_taken := '{}';
        if not (p_event[i] = any (v_open)) then
            v_outcome := 4;
        else
            <<one_hold>>
            begin
                -- The admission is consumed by the transaction that takes
                -- the seats: both happen, or neither does.
                insert into consumed_admission (jti, event_id, visitor_id, hold_id, consumed_at)
                values (p_jti[i], p_event[i], p_visitor[i], p_id[i], p_now[i])
                on conflict (jti) do nothing;
                if not found then
                    v_outcome := 1;
                    exit one_hold;
                end if;
                insert into hold (id, event_id, visitor_id, session_hash, jti, status,
                    total, currency, expires_at, created_at)
                values (p_id[i], p_event[i], p_visitor[i], p_session[i], p_jti[i], 'active',
                    p_total[i], p_currency[i], p_expires[i], p_now[i]);
                for j in v_next .. v_next + p_seat_count[i] - 1 loop
                    update seat set status = 'held', hold_id = p_id[i]
                    where id = p_seat_id[j] and event_id = p_event[i] and status = 'available';
                    if found then
                        insert into hold_seat (hold_id, seat_id, price)
                        values (p_id[i], p_seat_id[j], p_seat_price[j]);
                    else
                        v_taken := v_taken || p_seat_id[j];
                    end if;
                end loop;
                if cardinality(v_taken) > 0 then
                    v_outcome := 2;
                    raise sqlstate 'WRH01';
                end if;
                if p_ga_pool[i] is not null then
                    update ga_pool set held = held + p_ga_quantity[i]
                    where id = p_ga_pool[i] and event_id = p_event[i]
                        and held + sold + p_ga_quantity[i] <= capacity;
                    if not found then
                        v_outcome := 3;
                        raise sqlstate 'WRH01';
                    end if;
                    insert into hold_ga (hold_id, ga_pool_id, quantity, price)
                    values (p_id[i], p_ga_pool[i], p_ga_quantity[i], p_ga_price[i]);
                end if;
                v_outcome := 0;
            exception when sqlstate 'WRH01' then
                -- Rolled back to the hold's start; `v_outcome` says why.
                -- Any other error aborts the whole batch (the caller then
                -- places each hold alone).
                null;
            end;
        end if;
        v_next := v_next + p_seat_count[i];
        hold_index := i;
        outcome := v_outcome;
        taken := v_taken;
        return next;
    end loop;
end
$$;

-- Free seats only. After every hold the waitlist asks whether anything of
-- the event is left (booking/src/waitlist.rs); counting the event's seats
-- cost about a millisecond per hold at a few thousand seats, the first
-- entry here answers at once. Only a seat becoming free adds an entry.
create index seat_available_idx on seat (event_id, id) where status = 'available';
