//! Hold queries (see `mod.rs`). A seat changes hands only through a
//! conditional update whose affected-row count is checked, inside one
//! transaction, with seats visited in ascending id order so two
//! overlapping holds never wait on each other in a cycle.

macro_rules! impl_hold_repo {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Ends an active hold inside `tx` and frees what it held.
            async fn release_in_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: &str,
                status: $crate::db::HoldStatus,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<Option<$crate::db::Released>> {
                let ended: Option<(String, String)> = sqlx::query_as(
                    "update hold set status = $2, ended_at = $3
                    where id = $1 and status = 'active'
                    returning event_id, visitor_id",
                )
                .bind(id)
                .bind(status.as_str())
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
                let Some((event_id, visitor_id)) = ended else {
                    return Ok(None);
                };
                // An order still awaiting payment ends with its hold (expired:
                // `failed`; let go: `cancelled`), and its PaymentIntent is due
                // for cancelling so an old client secret cannot pay.
                let ended_order = match status {
                    $crate::db::HoldStatus::Expired => "failed",
                    _ => "cancelled",
                };
                let order: Option<String> = sqlx::query_scalar(
                    r#"update "order" set status = $2, ended_at = $3
                    where hold_id = $1 and status = 'pending' returning id"#,
                )
                .bind(id)
                .bind(ended_order)
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(order) = order {
                    sqlx::query(
                        "update payment set status = 'failed', updated_at = $2,
                            intent_cancel = case when provider_ref is null then null else 'due' end
                        where order_id = $1 and status = 'pending'",
                    )
                    .bind(&order)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                }
                sqlx::query(
                    "update seat set status = 'available', hold_id = null
                    where hold_id = $1 and status = 'held'",
                )
                .bind(id)
                .execute(&mut **tx)
                .await?;
                let pools: Vec<(i64, i64)> = sqlx::query_as(
                    "select ga_pool_id, quantity from hold_ga where hold_id = $1 order by ga_pool_id",
                )
                .bind(id)
                .fetch_all(&mut **tx)
                .await?;
                for (pool, quantity) in pools {
                    sqlx::query("update ga_pool set held = held - $2 where id = $1")
                        .bind(pool)
                        .bind(quantity)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(Some($crate::db::Released {
                    hold_id: id.to_owned(),
                    event_id,
                    visitor_id,
                }))
            }
        }

        #[async_trait::async_trait]
        impl $crate::db::HoldRepo for $store {
            async fn place(
                &self,
                h: &$crate::db::NewHold,
            ) -> $crate::error::Result<$crate::db::PlaceOutcome> {
                // Per backend: PostgreSQL places batches in one statement.
                self.place_hold_tx(h).await
            }

            async fn place_then_left(
                &self,
                h: &$crate::db::NewHold,
            ) -> $crate::error::Result<($crate::db::PlaceOutcome, Option<$crate::db::Left>)> {
                self.place_hold_then_left_tx(h).await
            }

            async fn get(
                &self,
                id: &str,
            ) -> $crate::error::Result<Option<$crate::db::HoldDetail>> {
                let hold = sqlx::query_as::<_, $crate::db::HoldRecord>(
                    "select id, event_id, visitor_id, session_hash, status, total, currency,
                        expires_at, created_at
                    from hold where id = $1",
                )
                .bind(id)
                .fetch_optional(self.read())
                .await?;
                let Some(hold) = hold else { return Ok(None) };
                let seats: Vec<(i64, i64)> = sqlx::query_as(
                    "select seat_id, price from hold_seat where hold_id = $1 order by seat_id",
                )
                .bind(id)
                .fetch_all(self.read())
                .await?;
                let ga: Vec<(i64, i64, i64)> = sqlx::query_as(
                    "select ga_pool_id, quantity, price from hold_ga where hold_id = $1",
                )
                .bind(id)
                .fetch_all(self.read())
                .await?;
                Ok(Some($crate::db::HoldDetail { hold, seats, ga }))
            }

            async fn release(
                &self,
                id: &str,
                status: $crate::db::HoldStatus,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<Option<$crate::db::Released>> {
                let mut tx = self.begin().await?;
                let released = Self::release_in_tx(&mut tx, id, status, now).await?;
                tx.commit().await?;
                Ok(released)
            }

            async fn expire_due(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::error::Result<Vec<$crate::db::Released>> {
                let mut tx = self.begin().await?;
                let due: Vec<String> = sqlx::query_scalar(Self::EXPIRED_HOLDS)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut released = Vec::with_capacity(due.len());
                for id in due {
                    if let Some(r) =
                        Self::release_in_tx(&mut tx, &id, $crate::db::HoldStatus::Expired, now)
                            .await?
                    {
                        released.push(r);
                    }
                }
                tx.commit().await?;
                Ok(released)
            }
        }
    };
}
