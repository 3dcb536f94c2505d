//! Payment settlement, each in one transaction (see `mod.rs`). Webhooks
//! arrive at least once and in any order, so every step is guarded by the
//! order's current status and the webhook event id is claimed in the same
//! transaction as the change it causes.

macro_rules! impl_settle {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn settle_success_impl(
                &self,
                s: &$crate::db::Settle,
                email: &$crate::db::NewEmail,
                tickets: &[$crate::db::NewTicket],
            ) -> $crate::error::Result<$crate::db::SettleOutcome> {
                use $crate::db::SettleOutcome;
                let mut tx = self.begin().await?;
                if !Self::claim_in_tx(&mut tx, &s.webhook, s.now).await? {
                    return Ok(SettleOutcome::Duplicate);
                }
                let Some((order_id, status, hold_id)) =
                    Self::lock_order_of_payment(&mut tx, &s.payment_id).await?
                else {
                    tx.commit().await?;
                    return Ok(SettleOutcome::AlreadySettled);
                };
                sqlx::query("update payment set status = 'succeeded', updated_at = $2 where id = $1")
                    .bind(&s.payment_id)
                    .bind(s.now)
                    .execute(&mut *tx)
                    .await?;
                if status == "cancelled" || status == "failed" {
                    // Paid after the order ended (the fan gave up, the hold
                    // expired, the intent was cancelled): the money goes back.
                    sqlx::query(r#"update "order" set status = 'refund_pending' where id = $1"#)
                        .bind(&order_id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(SettleOutcome::RefundDue);
                }
                if status != "pending" {
                    tx.commit().await?;
                    return Ok(SettleOutcome::AlreadySettled);
                }
                // Lock the hold too, so the sweeper does not expire it now.
                let (hold_status, event_id, visitor_id): (String, String, String) = sqlx::query_as(
                    "update hold set status = status where id = $1
                    returning status, event_id, visitor_id",
                )
                .bind(&hold_id)
                .fetch_one(&mut *tx)
                .await?;
                let hold_active = hold_status == "active";
                // Take every seat of the hold: still held by it, or free again
                // after the hold lapsed. Inside a savepoint, so a partial take
                // is undone while the webhook claim stays.
                let mut sp = sqlx::Acquire::begin(&mut *tx).await?;
                let seats: Vec<i64> = sqlx::query_scalar(
                    "select seat_id from hold_seat where hold_id = $1 order by seat_id",
                )
                .bind(&hold_id)
                .fetch_all(&mut *sp)
                .await?;
                let mut complete = true;
                for seat in seats {
                    let n = sqlx::query(
                        "update seat set status = 'sold', hold_id = $2
                        where id = $1
                          and (status = 'available' or (status = 'held' and hold_id = $2))",
                    )
                    .bind(seat)
                    .bind(&hold_id)
                    .execute(&mut *sp)
                    .await?
                    .rows_affected();
                    if n == 0 {
                        complete = false;
                        break;
                    }
                }
                let pools: Vec<(i64, i64)> = sqlx::query_as(
                    "select ga_pool_id, quantity from hold_ga where hold_id = $1 order by ga_pool_id",
                )
                .bind(&hold_id)
                .fetch_all(&mut *sp)
                .await?;
                for (pool, quantity) in pools {
                    if !complete {
                        break;
                    }
                    let sql = if hold_active {
                        "update ga_pool set held = held - $2, sold = sold + $2 where id = $1"
                    } else {
                        "update ga_pool set sold = sold + $2
                        where id = $1 and held + sold + $2 <= capacity"
                    };
                    let n = sqlx::query(sql)
                        .bind(pool)
                        .bind(quantity)
                        .execute(&mut *sp)
                        .await?
                        .rows_affected();
                    complete = n == 1;
                }
                if !complete {
                    sp.rollback().await?;
                    sqlx::query(r#"update "order" set status = 'refund_pending' where id = $1"#)
                        .bind(&order_id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(SettleOutcome::RefundDue);
                }
                sp.commit().await?;
                sqlx::query(
                    r#"update "order" set status = 'confirmed', confirmed_at = $2, ended_at = null
                    where id = $1"#,
                )
                .bind(&order_id)
                .bind(s.now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("update hold set status = 'completed', ended_at = $2 where id = $1")
                    .bind(&hold_id)
                    .bind(s.now)
                    .execute(&mut *tx)
                    .await?;
                Self::insert_tickets(&mut tx, &order_id, &event_id, tickets).await?;
                Self::insert_email(&mut tx, email, s.now).await?;
                tx.commit().await?;
                Ok(SettleOutcome::Confirmed($crate::db::Released {
                    hold_id,
                    event_id,
                    visitor_id,
                }))
            }

            async fn settle_failure_impl(
                &self,
                s: &$crate::db::Settle,
            ) -> $crate::error::Result<$crate::db::SettleOutcome> {
                use $crate::db::SettleOutcome;
                let mut tx = self.begin().await?;
                if !Self::claim_in_tx(&mut tx, &s.webhook, s.now).await? {
                    return Ok(SettleOutcome::Duplicate);
                }
                let Some((order_id, status, hold_id)) =
                    Self::lock_order_of_payment(&mut tx, &s.payment_id).await?
                else {
                    tx.commit().await?;
                    return Ok(SettleOutcome::AlreadySettled);
                };
                if status != "pending" {
                    // A success (or a cancellation) got there first.
                    tx.commit().await?;
                    return Ok(SettleOutcome::AlreadySettled);
                }
                sqlx::query(r#"update "order" set status = 'failed', ended_at = $2 where id = $1"#)
                    .bind(&order_id)
                    .bind(s.now)
                    .execute(&mut *tx)
                    .await?;
                // Stripe cancelled it: nothing left to cancel there.
                sqlx::query(
                    "update payment set status = 'failed', intent_cancel = 'done', updated_at = $2
                    where id = $1",
                )
                .bind(&s.payment_id)
                .bind(s.now)
                .execute(&mut *tx)
                .await?;
                let released =
                    Self::release_in_tx(&mut tx, &hold_id, $crate::db::HoldStatus::Released, s.now)
                        .await?;
                tx.commit().await?;
                Ok(SettleOutcome::Failed(released))
            }

            async fn record_refund_impl(
                &self,
                r: &$crate::db::NewRefund,
                email: Option<&$crate::db::NewEmail>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.begin().await?;
                // A cancellation may find the order `refunded` already when
                // Stripe's `charge.refunded` for this very refund overtook us.
                let (from, also, to) = if r.cancel {
                    ("confirmed", "refunded", "cancelled")
                } else {
                    ("refund_pending", "refund_pending", "refunded")
                };
                let hold: Option<String> = sqlx::query_scalar(
                    r#"update "order" set status = $3, ended_at = $2
                    where id = $1 and status in ($4, $5) returning hold_id"#,
                )
                .bind(&r.order_id)
                .bind(r.now)
                .bind(to)
                .bind(from)
                .bind(also)
                .fetch_optional(&mut *tx)
                .await?;
                // Already done by a concurrent call: nothing to do.
                let Some(hold) = hold else { return Ok(()) };
                // The mirror of `charge.refund.updated` may have recorded this
                // refund (by its provider id) first.
                sqlx::query(
                    "insert into refund (id, payment_id, provider_ref, amount, reason, created_at,
                        status)
                    values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing",
                )
                .bind(&r.id)
                .bind(&r.payment_id)
                .bind(&r.provider_ref)
                .bind(r.amount)
                .bind(&r.reason)
                .bind(r.now)
                .bind(&r.status)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "update payment set status = 'refunded', amount_refunded = amount,
                        refund_request_id = coalesce($3, refund_request_id), updated_at = $2
                    where id = $1",
                )
                .bind(&r.payment_id)
                .bind(r.now)
                .bind(&r.request_id)
                .execute(&mut *tx)
                .await?;
                if r.cancel {
                    sqlx::query(
                        "update seat set status = 'available', hold_id = null
                        where hold_id = $1 and status = 'sold'",
                    )
                    .bind(&hold)
                    .execute(&mut *tx)
                    .await?;
                    let pools: Vec<(i64, i64)> = sqlx::query_as(
                        "select ga_pool_id, quantity from hold_ga where hold_id = $1",
                    )
                    .bind(&hold)
                    .fetch_all(&mut *tx)
                    .await?;
                    for (pool, quantity) in pools {
                        sqlx::query("update ga_pool set sold = sold - $2 where id = $1")
                            .bind(pool)
                            .bind(quantity)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                if let Some(email) = email {
                    Self::insert_email(&mut tx, email, r.now).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
