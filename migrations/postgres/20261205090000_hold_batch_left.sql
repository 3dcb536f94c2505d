-- `place_holds` and, after its commit, what is left of each event of the
-- batch, in one call. Every placed or refused hold must be followed by a
-- "what is left?" query that started after its commit (the waitlist is
-- told when nothing is); asked on its own, that query was one more round
-- trip and transaction for every batch, and holds waited for it one query
-- at a time per event. A procedure may commit and go on: the holds are
-- committed before the query starts.
--
-- `p_left_event`/`p_left_from`: the events to look at, each with the free
-- seat to look from (see `CatalogRepo::left`). The answer is null for an
-- event whose query failed: the holds stand committed, and the caller
-- asks on its own.
create procedure place_holds_then_left(
    p_id text[], p_event text[], p_visitor text[], p_session text[], p_jti text[],
    p_total bigint[], p_currency text[], p_now timestamptz[], p_expires timestamptz[],
    p_ga_pool bigint[], p_ga_quantity bigint[], p_ga_price bigint[],
    p_seat_count int[], p_seat_id bigint[], p_seat_price bigint[],
    p_lock_first boolean,
    p_left_event text[], p_left_from bigint[],
    -- One element per hold, in order; the taken seats of all holds one
    -- after the other, `taken_count` of them each.
    inout outcome smallint[], inout taken_count int[], inout taken bigint[],
    -- One element per event of `p_left_event`.
    inout left_seat bigint[], inout left_places boolean[]
)
language plpgsql as $$
declare
    v_n int := coalesce(array_length(p_id, 1), 0);
    v_answers int := 0;
    r record;
begin
    outcome := '{}';
    taken_count := '{}';
    taken := '{}';
    for r in select * from place_holds(p_id, p_event, p_visitor, p_session, p_jti,
            p_total, p_currency, p_now, p_expires, p_ga_pool, p_ga_quantity, p_ga_price,
            p_seat_count, p_seat_id, p_seat_price, p_lock_first)
        order by hold_index loop
        v_answers := v_answers + 1;
        if r.hold_index <> v_answers then
            raise exception 'place_holds answered hold % out of order', r.hold_index;
        end if;
        outcome := outcome || r.outcome;
        taken_count := taken_count || coalesce(cardinality(r.taken), 0);
        taken := taken || r.taken;
    end loop;
    if v_answers <> v_n then
        raise exception 'place_holds answered % of % holds', v_answers, v_n;
    end if;
    commit;
    begin
        select array_agg(l.seat order by x.k), array_agg(l.places order by x.k)
        into left_seat, left_places
        from unnest(p_left_event, p_left_from) with ordinality x (event, from_seat, k)
        cross join lateral (
            select coalesce(
                    (select s.id from seat s where s.event_id = x.event
                        and s.status = 'available' and s.id >= x.from_seat
                        order by s.id limit 1),
                    (select s.id from seat s where s.event_id = x.event
                        and s.status = 'available' order by s.id limit 1)) as seat,
                exists (select 1 from ga_pool g
                    where g.event_id = x.event and g.capacity > g.held + g.sold) as places
        ) l;
    exception when others then
        left_seat := null;
        left_places := null;
    end;
end
$$;
