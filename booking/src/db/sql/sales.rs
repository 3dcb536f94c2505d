//! Operators' queries: event edits and status changes, the sales summary,
//! the order export and what a cancellation must undo (see `mod.rs`).
//! Sums are cast to `bigint` because PostgreSQL sums `bigint` to `numeric`.

macro_rules! impl_sales_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::db::SalesRepo for $store {
            async fn update_event(
                &self,
                id: &str,
                c: &$crate::db::EventChanges,
            ) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                let n = sqlx::query(
                    "update event set name = coalesce($2, name),
                        description = coalesce($3, description),
                        starts_at = coalesce($4, starts_at),
                        category = coalesce($5, category),
                        city = coalesce($6, city)
                    where id = $1 and status <> 'cancelled'",
                )
                .bind(id)
                .bind(&c.name)
                .bind(&c.description)
                .bind(c.starts_at)
                .bind(&c.category)
                .bind(&c.city)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn replace_seat_map(
                &self,
                id: &str,
                tiers: &[(String, i64)],
                sections: &[$crate::db::SeedSection],
            ) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                // Lock the event as a draft: nothing can be held on it (holds
                // need a published event), so its seats can go.
                let draft: Option<String> = sqlx::query_scalar(
                    "update event set status = status where id = $1 and status = 'draft'
                    returning id",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                if draft.is_none() {
                    tx.rollback().await?;
                    return Ok(false);
                }
                for table in ["seat", "ga_pool", "section", "price_tier"] {
                    sqlx::query(&format!("delete from {table} where event_id = $1"))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                Self::insert_seat_map(&mut tx, id, tiers, sections).await?;
                tx.commit().await?;
                self.seats_added().await;
                Ok(true)
            }

            async fn all_events(
                &self,
                limit: i64,
            ) -> $crate::error::Result<Vec<$crate::db::EventRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::EventRecord>(
                    "select e.id, e.name, e.description, v.name as venue_name,
                        v.city as venue_city, e.category, e.city, e.starts_at, e.status,
                        e.sale_starts_at, e.sale_ends_at, e.currency
                    from event e join venue v on v.id = e.venue_id
                    order by e.starts_at desc, e.id
                    limit $1",
                )
                .bind(limit)
                .fetch_all(self.read())
                .await?)
            }

            async fn publish_event(&self, id: &str) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                let n = sqlx::query(
                    "update event set status = 'published' where id = $1 and status = 'draft'",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn cancel_event(&self, id: &str, reason: &str) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                let n = sqlx::query(
                    "update event set status = 'cancelled', cancel_reason = $2
                    where id = $1 and status <> 'cancelled'",
                )
                .bind(id)
                .bind(reason)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn summary(
                &self,
                event: &str,
            ) -> $crate::error::Result<Option<$crate::db::SalesSummary>> {
                let currency: Option<String> =
                    sqlx::query_scalar("select currency from event where id = $1")
                        .bind(event)
                        .fetch_optional(self.read())
                        .await?;
                let Some(currency) = currency else { return Ok(None) };
                let mut s = $crate::db::SalesSummary {
                    event_id: event.to_owned(),
                    currency,
                    ..Default::default()
                };
                let seats: Vec<(String, i64)> = sqlx::query_as(
                    "select status, count(*) from seat where event_id = $1 group by status",
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                for (status, n) in seats {
                    s.capacity += n;
                    match status.as_str() {
                        "sold" => s.sold += n,
                        "held" => s.held += n,
                        _ => {}
                    }
                }
                let (capacity, held, sold): (i64, i64, i64) = sqlx::query_as(
                    "select cast(coalesce(sum(capacity), 0) as bigint),
                        cast(coalesce(sum(held), 0) as bigint),
                        cast(coalesce(sum(sold), 0) as bigint)
                    from ga_pool where event_id = $1",
                )
                .bind(event)
                .fetch_one(self.read())
                .await?;
                s.capacity += capacity;
                s.held += held;
                s.sold += sold;
                s.available = s.capacity - s.held - s.sold;
                s.active_holds = sqlx::query_scalar(
                    "select count(*) from hold where event_id = $1 and status = 'active'",
                )
                .bind(event)
                .fetch_one(self.read())
                .await?;
                let orders: Vec<(String, i64, i64)> = sqlx::query_as(
                    r#"select status, count(*), cast(coalesce(sum(total), 0) as bigint)
                    from "order" where event_id = $1 group by status"#,
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                for (status, n, total) in orders {
                    s.orders.add(&status, n);
                    if status == "confirmed" {
                        s.revenue += total;
                    }
                }
                // Ours and those made in Stripe's Dashboard, as mirrored.
                (s.refunded, s.refunds_refused, s.disputed) = sqlx::query_as(
                    r#"select cast(coalesce(sum(p.amount_refunded), 0) as bigint),
                        cast(coalesce(sum(case when p.refund_error is null then 0 else 1 end), 0)
                            as bigint),
                        cast(coalesce(sum(case when p.dispute_status is null then 0 else 1 end), 0)
                            as bigint)
                    from payment p join "order" o on o.id = p.order_id
                    where o.event_id = $1"#,
                )
                .bind(event)
                .fetch_one(self.read())
                .await?;
                Ok(Some(s))
            }

            async fn export_orders(
                &self,
                event: &str,
                after: Option<&$crate::db::ExportCursor>,
                limit: i64,
            ) -> $crate::error::Result<(
                Vec<$crate::db::OrderExportRow>,
                Vec<$crate::db::ExportLine>,
            )> {
                let (after_at, after_id) = match after {
                    Some((at, id)) => (Some(*at), Some(id.clone())),
                    None => (None, None),
                };
                let orders = sqlx::query_as::<_, $crate::db::OrderExportRow>(
                    r#"select o.id, o.reference, o.status, o.email, o.total, o.currency,
                        o.created_at, o.confirmed_at, p.provider, p.provider_ref,
                        coalesce(p.amount_refunded, 0) as refunded, p.refund_error,
                        p.dispute_status,
                        (select count(*) from ticket t
                         where t.order_id = o.id and t.revoked_at is null) as tickets,
                        (select count(*) from ticket t
                         where t.order_id = o.id and t.checked_in_at is not null) as checked_in
                    from "order" o left join payment p on p.order_id = o.id
                    where o.event_id = $1
                      and ($2 is null or o.created_at > $2 or (o.created_at = $2 and o.id > $3))
                    order by o.created_at, o.id
                    limit $4"#,
                )
                .bind(event)
                .bind(after_at)
                .bind(after_id.clone())
                .bind(limit)
                .fetch_all(self.read())
                .await?;
                let Some(last) = orders.last() else {
                    return Ok((orders, Vec::new()));
                };
                // The lines of exactly this page: after the cursor, up to
                // and including its last order.
                let lines = sqlx::query_as::<_, $crate::db::ExportLine>(
                    r#"select l.order_id, l.description, l.quantity
                    from order_line l join "order" o on o.id = l.order_id
                    where o.event_id = $1
                      and ($2 is null or o.created_at > $2 or (o.created_at = $2 and o.id > $3))
                      and (o.created_at < $4 or (o.created_at = $4 and o.id <= $5))
                    order by l.order_id, l.id"#,
                )
                .bind(event)
                .bind(after_at)
                .bind(after_id)
                .bind(last.created_at)
                .bind(&last.id)
                .fetch_all(self.read())
                .await?;
                Ok((orders, lines))
            }

            async fn refunds_due(
                &self,
                limit: i64,
            ) -> $crate::error::Result<Vec<(String, String)>> {
                // A refund Stripe refused (`refund_error`) is never retried.
                Ok(sqlx::query_as(
                    r#"select o.id, '' from "order" o join payment p on p.order_id = o.id
                    where o.status = 'refund_pending' and p.refund_error is null
                    union all
                    select o.id, coalesce(e.cancel_reason, '')
                    from event e join "order" o on o.event_id = e.id
                    join payment p on p.order_id = o.id
                    where e.status = 'cancelled' and o.status = 'confirmed'
                      and p.refund_error is null
                    limit $1"#,
                )
                .bind(limit)
                .fetch_all(self.read())
                .await?)
            }

            async fn open_sales(
                &self,
                event: &str,
            ) -> $crate::error::Result<$crate::db::OpenSales> {
                let mut open = $crate::db::OpenSales::default();
                let orders: Vec<(String, String)> = sqlx::query_as(
                    r#"select id, status from "order"
                    where event_id = $1 and status in ('pending', 'confirmed', 'refund_pending')
                    order by created_at, id"#,
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                for (id, status) in orders {
                    match status.as_str() {
                        "pending" => open.pending.push(id),
                        "confirmed" => open.confirmed.push(id),
                        _ => open.refund_pending.push(id),
                    }
                }
                open.holds = sqlx::query_scalar(
                    r#"select h.id from hold h
                    where h.event_id = $1 and h.status = 'active'
                      and not exists (select 1 from "order" o
                                      where o.hold_id = h.id and o.status = 'pending')
                    order by h.id"#,
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                Ok(open)
            }
        }
    };
}
