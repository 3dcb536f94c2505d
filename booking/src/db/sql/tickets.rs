//! Tickets and check-ins (see `mod.rs`). A ticket is admitted by one
//! conditional update (`where checked_in_at is null`): on PostgreSQL
//! concurrent scans queue on the row lock and re-check the condition, under
//! SQLite's single writer they run one after another, so either way exactly
//! one scan admits.

macro_rules! impl_ticket_repo {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Stores the tickets of a newly confirmed order inside `tx`.
            async fn insert_tickets(
                tx: &mut sqlx::Transaction<'static, $db>,
                order_id: &str,
                event_id: &str,
                tickets: &[$crate::db::NewTicket],
            ) -> $crate::error::Result<()> {
                for t in tickets {
                    sqlx::query(
                        "insert into ticket (id, reference, order_id, event_id, place, seat,
                            version, jws, issued_at)
                        values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(&t.id)
                    .bind(&t.reference)
                    .bind(order_id)
                    .bind(event_id)
                    .bind(&t.place)
                    .bind(&t.seat)
                    .bind(t.version)
                    .bind(&t.jws)
                    .bind(t.issued_at)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            /// The tickets of an order, oldest first, places in order
            /// (`g:1:2` before `g:1:10`).
            async fn load_tickets(
                conn: &mut <$db as sqlx::Database>::Connection,
                order_id: &str,
            ) -> $crate::error::Result<Vec<$crate::db::TicketRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::TicketRecord>(concat!(
                    ticket_select!(),
                    "where t.order_id = $1
                    order by t.issued_at, length(t.place), t.place, t.version"
                ))
                .bind(order_id)
                .fetch_all(&mut *conn)
                .await?)
            }

            async fn ticket_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                key: $crate::db::TicketKey<'_>,
            ) -> $crate::error::Result<Option<$crate::db::TicketRecord>> {
                let (sql, value) = match key {
                    $crate::db::TicketKey::Id(id) => (concat!(ticket_select!(), "where t.id = $1"), id),
                    $crate::db::TicketKey::Reference(r) => {
                        (concat!(ticket_select!(), "where t.reference = $1"), r)
                    }
                };
                Ok(sqlx::query_as::<_, $crate::db::TicketRecord>(sql)
                    .bind(value)
                    .fetch_optional(&mut *conn)
                    .await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::db::TicketRepo for $store {
            async fn ticket(
                &self,
                key: $crate::db::TicketKey<'_>,
            ) -> $crate::error::Result<Option<$crate::db::TicketRecord>> {
                let mut conn = self.read().acquire().await?;
                Self::ticket_in(&mut conn, key).await
            }

            async fn check_in(
                &self,
                scan: &$crate::db::Scan,
            ) -> $crate::error::Result<$crate::db::ScanOutcome> {
                let mut tx = self.begin().await?;
                let admitted = sqlx::query(
                    r#"update ticket set checked_in_at = $2, checked_in_gate = $3
                    where id = $1 and checked_in_at is null and revoked_at is null
                      and exists (select 1 from "order" o join event e on e.id = o.event_id
                                  where o.id = ticket.order_id and o.status = 'confirmed'
                                    and e.status <> 'cancelled')"#,
                )
                .bind(&scan.ticket_id)
                .bind(scan.at)
                .bind(&scan.gate)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                let record = Self::ticket_in(&mut *tx, $crate::db::TicketKey::Id(&scan.ticket_id)).await?;
                tx.commit().await?;
                Ok(match (admitted, record) {
                    (true, Some(r)) => $crate::db::ScanOutcome::Admitted(r),
                    (_, r) => $crate::db::ScanOutcome::Refused(r),
                })
            }

            async fn reissue(
                &self,
                old_id: &str,
                old_version: i64,
                new: &$crate::db::NewTicket,
            ) -> $crate::error::Result<Option<$crate::db::TicketRecord>> {
                let mut tx = self.begin().await?;
                let old: Option<(String, String, String)> = sqlx::query_as(
                    "update ticket set revoked_at = $2, revoked_reason = 'reissued'
                    where id = $1 and version = $3 and revoked_at is null
                      and checked_in_at is null
                    returning order_id, event_id, place",
                )
                .bind(old_id)
                .bind(new.issued_at)
                .bind(old_version)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((order_id, event_id, place)) = old else {
                    return Ok(None);
                };
                let new = $crate::db::NewTicket {
                    place,
                    ..new.clone()
                };
                Self::insert_tickets(&mut tx, &order_id, &event_id, std::slice::from_ref(&new))
                    .await?;
                let record = Self::ticket_in(&mut *tx, $crate::db::TicketKey::Id(&new.id)).await?;
                tx.commit().await?;
                Ok(record)
            }

            async fn event_tickets(
                &self,
                event: &str,
            ) -> $crate::error::Result<Vec<$crate::db::TicketRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::TicketRecord>(concat!(
                    ticket_select!(),
                    "where t.event_id = $1 order by t.id"
                ))
                .bind(event)
                .fetch_all(self.read())
                .await?)
            }

            async fn checkin_counts(
                &self,
                event: &str,
            ) -> $crate::error::Result<$crate::db::CheckinCounts> {
                let sold: i64 = sqlx::query_scalar(
                    r#"select count(*) from ticket t join "order" o on o.id = t.order_id
                    where t.event_id = $1 and t.revoked_at is null and o.status = 'confirmed'"#,
                )
                .bind(event)
                .fetch_one(self.read())
                .await?;
                let by_gate = sqlx::query_as::<_, $crate::db::GateCount>(
                    "select checked_in_gate as gate, count(*) as arrived from ticket
                    where event_id = $1 and checked_in_at is not null
                    group by checked_in_gate order by checked_in_gate",
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                Ok($crate::db::CheckinCounts {
                    sold,
                    arrived: by_gate.iter().map(|g| g.arrived).sum(),
                    by_gate,
                    per_minute: Vec::new(),
                })
            }

            async fn reminders_due(
                &self,
                after: chrono::DateTime<chrono::Utc>,
                until: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::error::Result<Vec<String>> {
                Ok(sqlx::query_scalar(
                    r#"select o.id from "order" o join event e on e.id = o.event_id
                    where o.status = 'confirmed' and e.status = 'published'
                      and e.starts_at > $1 and e.starts_at <= $2
                      and not exists (select 1 from order_reminder r where r.order_id = o.id)
                    order by e.starts_at, o.id
                    limit $3"#,
                )
                .bind(after)
                .bind(until)
                .bind(limit)
                .fetch_all(self.read())
                .await?)
            }

            async fn queue_reminder(
                &self,
                order_id: &str,
                email: &$crate::db::NewEmail,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                let fresh = sqlx::query(
                    "insert into order_reminder (order_id, queued_at) values ($1, $2)
                    on conflict (order_id) do nothing",
                )
                .bind(order_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if fresh {
                    Self::insert_email(&mut tx, email, now).await?;
                }
                tx.commit().await?;
                Ok(fresh)
            }

            async fn arrivals_since(
                &self,
                event: &str,
                since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<Vec<chrono::DateTime<chrono::Utc>>> {
                Ok(sqlx::query_scalar(
                    "select checked_in_at from ticket
                    where event_id = $1 and checked_in_at >= $2
                    order by checked_in_at",
                )
                .bind(event)
                .bind(since)
                .fetch_all(self.read())
                .await?)
            }
        }
    };
}
