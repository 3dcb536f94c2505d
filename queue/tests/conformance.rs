//! One conformance suite, run against every `QueueStore` backend.
//!
//! Each check is an async function taking a [`Harness`]; the macro below
//! instantiates all of them once per backend (`memory::…`, `redis::…`), so
//! both backends are held to exactly the same behaviour. Redis tests use
//! `REDIS_URL` (default `redis://127.0.0.1:6379`) and fail, never skip,
//! when it is unreachable. Every check uses a fresh random event id, so the
//! tests run in parallel against one Redis, and a passed check deletes its
//! keys again. Time is passed as `now`, so nothing sleeps except the lease
//! test (leases expire in real time).

#[path = "conformance/common.rs"]
mod common;

#[path = "conformance/admission.rs"]
mod admission;
#[path = "conformance/announcements.rs"]
mod announcements;
#[path = "conformance/basics.rs"]
mod basics;
#[path = "conformance/cluster.rs"]
mod cluster;
#[path = "conformance/departures.rs"]
mod departures;
#[path = "conformance/recovery.rs"]
mod recovery;
#[path = "conformance/redis_cost.rs"]
mod redis_cost;
#[path = "conformance/returns.rs"]
mod returns;
#[path = "conformance/together.rs"]
mod together;
#[path = "conformance/waitlist.rs"]
mod waitlist;

/// Generates one `#[tokio::test]` per check, for one backend.
macro_rules! conformance {
    ($backend:ident, $harness:path, $forget:path) => {
        mod $backend {
            conformance!(@tests $harness, $forget;
                basics::settings_round_trip,
                basics::settings_compare_and_set,
                basics::prequeue_is_shuffled_at_opening,
                basics::invalid_settings_are_refused,
                basics::unknown_event,
                basics::states_that_refuse_joins,
                basics::join_is_idempotent,
                basics::concurrent_joins_get_dense_tickets,
                basics::concurrent_joins_of_one_visitor_get_one_ticket,
                together::joins_together_keep_their_order,
                together::joins_together_are_answered_each_on_its_own,
                basics::lookup_reports_every_state,
                basics::lookup_many_spans_several_commands,
                basics::remove_event_forgets_everything,
                admission::rate_carries_the_fraction,
                admission::rate_matches_rate_budget_at_irregular_intervals,
                admission::long_gaps_release_no_burst,
                admission::cap_is_never_exceeded,
                admission::admission_follows_ticket_order_under_concurrency,
                admission::paused_and_closed_admit_nobody_and_resume_without_burst,
                admission::seq_increments_by_one,
                departures::leavers_are_skipped_and_reported_once,
                departures::idle_waiters_depart_after_the_grace,
                departures::touch_ignores_everyone_but_waiters,
                departures::looking_up_a_present_waiter_touches_it,
                returns::absent_fans_return_to_their_ticket,
                returns::returners_the_head_passed_are_admitted_first,
                returns::a_place_is_kept_only_for_place_ttl,
                returns::leaving_gives_the_place_up,
                returns::a_return_then_a_leave_ends_departed,
                recovery::restore_raises_floors_once_and_holds_the_cap,
                recovery::claims_give_lost_places_back_in_ticket_order,
                recovery::guarded_ticks_refuse_a_store_that_lost_writes,
                cluster::lease_is_exclusive_and_taken_over_after_ttl,
                cluster::subscribers_receive_published_ticks,
                cluster::snapshot_matches_the_ticks,
                cluster::counters_sum_across_nodes,
                waitlist::a_released_seat_reaches_the_first_waitlisted_fan,
                waitlist::an_unaccepted_offer_passes_to_the_next_fan,
                waitlist::concurrent_returns_never_offer_a_seat_twice,
                announcements::announcements_are_stored_published_and_cleared,
                announcements::contacts_are_kept_for_known_visitors,
            );
        }
    };
    (@tests $harness:path, $forget:path; $($module:ident :: $check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let harness = $harness().await;
                let event = harness.event.clone();
                super::$module::$check(harness).await;
                $forget(event).await;
            }
        )*
    };
}

conformance!(memory, crate::common::memory, crate::common::forget_memory);
conformance!(redis, crate::common::redis, crate::common::forget_redis);
