//! The payment side that follows Stripe's objects (see `mod.rs`): declined
//! attempts, PaymentIntents to cancel, refused refunds, and refunds and
//! disputes made outside waitroom. Each webhook is claimed in the same
//! transaction as its change, under the order's row lock.

macro_rules! impl_payment_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::db::PaymentRepo for $store {
            async fn settle_decline(
                &self,
                s: &$crate::db::Settle,
                d: &$crate::db::Decline,
            ) -> $crate::error::Result<$crate::db::SettleOutcome> {
                use $crate::db::SettleOutcome;
                let mut tx = self.begin().await?;
                if !Self::claim_in_tx(&mut tx, &s.webhook, s.now).await? {
                    return Ok(SettleOutcome::Duplicate);
                }
                let locked = Self::lock_order_of_payment(&mut tx, &s.payment_id).await?;
                // Only a payable order records attempts; a decline that
                // arrives after a success (or after the order ended) is
                // history, not news.
                if !matches!(&locked, Some((_, status, _)) if status == "pending") {
                    tx.commit().await?;
                    return Ok(SettleOutcome::AlreadySettled);
                }
                sqlx::query(
                    "update payment set failed_attempts = failed_attempts + 1,
                        last_error_code = $2, last_error_message = $3, updated_at = $4
                    where id = $1 and status = 'pending'",
                )
                .bind(&s.payment_id)
                .bind(&d.code)
                .bind(&d.message)
                .bind(s.now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(SettleOutcome::Declined)
            }

            async fn intents_to_cancel(
                &self,
                hold: Option<&str>,
                limit: i64,
            ) -> $crate::error::Result<Vec<(String, String)>> {
                Ok(sqlx::query_as(
                    r#"select p.id, p.provider_ref from payment p
                    join "order" o on o.id = p.order_id
                    where p.intent_cancel = 'due' and p.provider_ref is not null
                      and ($1 is null or o.hold_id = $1)
                    order by p.updated_at, p.id
                    limit $2"#,
                )
                .bind(hold)
                .bind(limit)
                .fetch_all(self.read())
                .await?)
            }

            async fn record_intent_cancel(
                &self,
                payment_id: &str,
                outcome: &str,
                request_id: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.begin().await?;
                sqlx::query(
                    "update payment set intent_cancel = $2,
                        cancel_request_id = coalesce($3, cancel_request_id), updated_at = $4
                    where id = $1 and intent_cancel = 'due'",
                )
                .bind(payment_id)
                .bind(outcome)
                .bind(request_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn record_refund_refused(
                &self,
                payment_id: &str,
                code: &str,
                request_id: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.begin().await?;
                sqlx::query(
                    "update payment set refund_error = $2,
                        refund_request_id = coalesce($3, refund_request_id), updated_at = $4
                    where id = $1",
                )
                .bind(payment_id)
                .bind(code)
                .bind(request_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn mirror(&self, m: &$crate::db::Mirror) -> $crate::error::Result<bool> {
                use $crate::db::MirrorChange;
                let mut tx = self.begin().await?;
                if !Self::claim_in_tx(&mut tx, &m.webhook, m.now).await? {
                    return Ok(false);
                }
                let row: Option<(String, i64, i64)> = sqlx::query_as(
                    "select order_id, amount, amount_refunded from payment where id = $1",
                )
                .bind(&m.payment_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((order_id, amount, refunded)) = row else {
                    tx.commit().await?;
                    return Ok(true);
                };
                let Some((status, _)) = Self::lock_order(&mut tx, &order_id).await? else {
                    tx.commit().await?;
                    return Ok(true);
                };
                // The refunded amount after this event, if it changes.
                let mut now_refunded = None;
                match &m.change {
                    MirrorChange::ChargeRefunded { amount_refunded } => {
                        // Cumulative and, events arriving in any order, only
                        // ever raised here.
                        if *amount_refunded > refunded {
                            now_refunded = Some(*amount_refunded);
                        }
                    }
                    MirrorChange::Refund {
                        provider_ref,
                        amount: refund_amount,
                        status: refund_status,
                        failure_reason,
                    } => {
                        let before: Option<String> =
                            sqlx::query_scalar("select status from refund where provider_ref = $1")
                                .bind(provider_ref)
                                .fetch_optional(&mut *tx)
                                .await?;
                        if before.is_some() {
                            sqlx::query(
                                "update refund set status = $2, failure_reason = $3
                                where provider_ref = $1",
                            )
                            .bind(provider_ref)
                            .bind(refund_status)
                            .bind(failure_reason)
                            .execute(&mut *tx)
                            .await?;
                        } else {
                            sqlx::query(
                                "insert into refund (id, payment_id, provider_ref, amount, reason,
                                    created_at, status, failure_reason)
                                values ($1, $2, $1, $3, 'provider', $4, $5, $6)",
                            )
                            .bind(provider_ref)
                            .bind(&m.payment_id)
                            .bind(refund_amount)
                            .bind(m.now)
                            .bind(refund_status)
                            .bind(failure_reason)
                            .execute(&mut *tx)
                            .await?;
                        }
                        let lost = |s: &str| s == "failed" || s == "canceled";
                        let was_lost = before.as_deref().is_some_and(lost);
                        if lost(refund_status) && !was_lost && refunded >= *refund_amount {
                            // The money did not go back after all.
                            now_refunded = Some(refunded - refund_amount);
                            sqlx::query(
                                "update payment set refund_error = $2, updated_at = $3
                                where id = $1",
                            )
                            .bind(&m.payment_id)
                            .bind(format!("refund_{refund_status}"))
                            .bind(m.now)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    MirrorChange::Dispute { status: dispute } => {
                        sqlx::query(
                            "update payment set dispute_status = $2, updated_at = $3 where id = $1",
                        )
                        .bind(&m.payment_id)
                        .bind(dispute)
                        .bind(m.now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                if let Some(n) = now_refunded {
                    let full = n >= amount;
                    sqlx::query(
                        "update payment set amount_refunded = $2, updated_at = $3,
                            status = case when $4 then 'refunded'
                                          when status = 'refunded' then 'succeeded'
                                          else status end
                        where id = $1",
                    )
                    .bind(&m.payment_id)
                    .bind(n)
                    .bind(m.now)
                    .bind(full)
                    .execute(&mut *tx)
                    .await?;
                    // A full refund ends a paid order; its seats stay sold
                    // (the refund was the operator's call, made in Stripe).
                    // A refund that failed later shows as `refund_error`;
                    // the order's status is left for the operator.
                    if full && (status == "confirmed" || status == "refund_pending") {
                        sqlx::query(
                            r#"update "order" set status = 'refunded', ended_at = $2 where id = $1"#,
                        )
                        .bind(&order_id)
                        .bind(m.now)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}
