-- The look after a batch (`place_holds_then_left`), as simple statements
-- that PL/pgSQL plans once per session. As one query over `unnest` of its
-- arguments, PostgreSQL planned it anew on every call: a generic plan of
-- that query is costed ten times its custom one, so the plan cache never
-- keeps it, and planning was most of the look's cost. Here each event of
-- the batch (usually one) takes three index lookups whose generic plans
-- cost what their custom ones do, and are kept after the fifth call.
-- Same arguments, same answers.
create or replace procedure place_holds_then_left(
    p_id text[], p_event text[], p_visitor text[], p_session text[], p_jti text[],
    p_total bigint[], p_currency text[], p_now timestamptz[], p_expires timestamptz[],
    p_ga_pool bigint[], p_ga_quantity bigint[], p_ga_price bigint[],
    p_seat_count int[], p_seat_id bigint[], p_seat_price bigint[],
    p_lock_first boolean,
    p_left_event text[], p_left_from bigint[],
    inout outcome smallint[], inout taken_count int[], inout taken bigint[],
    inout left_seat bigint[], inout left_places boolean[]
)
language plpgsql as $$
declare
    v_n int := coalesce(array_length(p_id, 1), 0);
    v_answers int := 0;
    v_seat bigint;
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
        left_seat := '{}';
        left_places := '{}';
        for k in 1 .. coalesce(array_length(p_left_event, 1), 0) loop
            select s.id into v_seat from seat s
                where s.event_id = p_left_event[k] and s.status = 'available'
                    and s.id >= p_left_from[k]
                order by s.id limit 1;
            if v_seat is null then
                select s.id into v_seat from seat s
                    where s.event_id = p_left_event[k] and s.status = 'available'
                    order by s.id limit 1;
            end if;
            left_seat := left_seat || v_seat;
            left_places := left_places || exists (select 1 from ga_pool g
                where g.event_id = p_left_event[k] and g.capacity > g.held + g.sold);
        end loop;
    exception when others then
        left_seat := null;
        left_places := null;
    end;
end
$$;
