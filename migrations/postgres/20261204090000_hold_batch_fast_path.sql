-- `place_holds` (20261203090000_hold_batches.sql) with a fast path: most
-- batches place every hold they carry, so the whole batch is first tried
-- with one statement per step (admissions, holds, pools, seats, their
-- rows) in one subtransaction, instead of four statements and a
-- subtransaction per hold. If any hold of the batch cannot be placed
-- (admission used, seat taken, too few GA places, an admission twice in
-- the batch), that attempt is rolled back whole and the holds go through
-- the loop of before, one subtransaction each, which gives every hold its
-- own outcome. An attempt that succeeds is an outcome the loop could have
-- given too: every hold placed.
--
-- Lock order is that of the loop: event rows (share), then GA pools, then
-- seats, each in ascending id order. A failed attempt releases the pool
-- and seat locks it took; the loop then takes them again in that order.
create or replace function place_holds(
    p_id text[], p_event text[], p_visitor text[], p_session text[], p_jti text[],
    p_total bigint[], p_currency text[], p_now timestamptz[], p_expires timestamptz[],
    p_ga_pool bigint[], p_ga_quantity bigint[], p_ga_price bigint[],
    p_seat_count int[], p_seat_id bigint[], p_seat_price bigint[],
    p_lock_first boolean
) returns table (hold_index int, outcome smallint, taken bigint[])
-- Generic plans from the first call: the fast path's statements take their
-- row counts from arguments, and left to itself PostgreSQL planned them
-- anew on every call (their generic cost, at a guess of 1,000 holds,
-- never beats a plan for the real few), which cost more than the fast path
-- saved: about 1.1-1.7 ms against 0.8 ms for a batch of 4 (one client,
-- `synchronous_commit` off). The generic plans look seats up by index.
set plan_cache_mode = force_generic_plan
language plpgsql as $$
declare
    v_open text[] := '{}';
    v_event text;
    v_status text;
    v_next int := 1;
    v_taken bigint[];
    v_outcome smallint;
    v_holds int := coalesce(array_length(p_id, 1), 0);
    v_seats int := coalesce(array_length(p_seat_id, 1), 0);
    v_seat_hold int[];
    v_pools int;
    v_rows bigint;
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

    -- The fast path: every hold at once, or none of them. Not for one hold
    -- (the loop costs the same), nor when an event is not on sale or two
    -- holds want one seat (as when many want the same seat): one of them
    -- fails for certain.
    if v_holds > 1 and p_event <@ v_open
        and (select count(distinct s) from unnest(p_seat_id) s) = v_seats then
        begin
            insert into consumed_admission (jti, event_id, visitor_id, hold_id, consumed_at)
            select p_jti[i], p_event[i], p_visitor[i], p_id[i], p_now[i]
            from generate_series(1, v_holds) i
            on conflict (jti) do nothing;
            get diagnostics v_rows = row_count;
            -- Fewer rows: an admission used before, or twice in the batch.
            if v_rows <> v_holds then
                raise sqlstate 'WRH02';
            end if;
            insert into hold (id, event_id, visitor_id, session_hash, jti, status,
                total, currency, expires_at, created_at)
            select p_id[i], p_event[i], p_visitor[i], p_session[i], p_jti[i], 'active',
                p_total[i], p_currency[i], p_expires[i], p_now[i]
            from generate_series(1, v_holds) i;
            -- The hold, by index, of each seat of `p_seat_id`.
            select coalesce(array_agg(i order by i, k), '{}') into v_seat_hold
            from generate_series(1, v_holds) i, generate_series(1, p_seat_count[i]) k;
            -- One row per pool and event: a pool named with an event not
            -- its own is a row the update below does not find.
            select count(*) into v_pools from (
                select distinct p_ga_pool[i], p_event[i]
                from generate_series(1, v_holds) i
                where p_ga_pool[i] is not null
            ) pools;
            if v_pools > 0 then
                perform 1 from ga_pool g where g.id = any (p_ga_pool) order by g.id for update;
                update ga_pool g set held = g.held + q.quantity
                from (
                    select p_ga_pool[i] as pool, p_event[i] as event, sum(p_ga_quantity[i]) as quantity
                    from generate_series(1, v_holds) i
                    where p_ga_pool[i] is not null
                    group by 1, 2
                ) q
                where g.id = q.pool and g.event_id = q.event
                    and g.held + g.sold + q.quantity <= g.capacity;
                get diagnostics v_rows = row_count;
                -- Fewer rows: a pool short of places (or of another event).
                if v_rows <> v_pools then
                    raise sqlstate 'WRH02';
                end if;
                insert into hold_ga (hold_id, ga_pool_id, quantity, price)
                select p_id[i], p_ga_pool[i], p_ga_quantity[i], p_ga_price[i]
                from generate_series(1, v_holds) i
                where p_ga_pool[i] is not null;
            end if;
            if v_seats > 0 then
                -- Locks each seat as it takes it, in the order of
                -- `p_seat_id` (a loop over the array, each seat found by
                -- index), which the caller sorts. Locking them first with
                -- `for update`, as the pools are, made the whole batch cost
                -- more than the loop it replaces. Should a plan ever take
                -- them in another order and meet another batch in a cycle,
                -- PostgreSQL ends one with a deadlock error and the caller
                -- places that batch's holds one by one.
                update seat s set status = 'held', hold_id = p_id[x.h]
                from unnest(p_seat_id, v_seat_hold) x (seat_id, h)
                where s.id = x.seat_id and s.event_id = p_event[x.h] and s.status = 'available';
                get diagnostics v_rows = row_count;
                -- Fewer rows: a seat taken, of another event, or twice in
                -- the batch (one update of a row per statement).
                if v_rows <> v_seats then
                    raise sqlstate 'WRH02';
                end if;
                insert into hold_seat (hold_id, seat_id, price)
                select p_id[x.h], x.seat_id, x.price
                from unnest(p_seat_id, p_seat_price, v_seat_hold) x (seat_id, price, h);
            end if;
            return query select i, 0::smallint, '{}'::bigint[] from generate_series(1, v_holds) i;
            return;
        exception when sqlstate 'WRH02' then
            -- Rolled back whole; the loop below decides each hold.
            null;
        end;
    end if;

    for i in 1 .. v_holds loop
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
