//! Order, payment, refund and webhook queries (see `mod.rs`). The
//! settlement steps that run inside one transaction are in `settle.rs`.

macro_rules! impl_order_repo {
    ($store:ty, $db:ty) => {
        impl $store {
            /// An order with event name, lines and payment.
            async fn load_order(
                conn: &mut <$db as sqlx::Database>::Connection,
                id: &str,
            ) -> $crate::error::Result<Option<$crate::db::OrderDetail>> {
                let order = sqlx::query_as::<_, $crate::db::OrderRecord>(
                    r#"select id, reference, hold_id, event_id, customer_id, email, session_hash,
                        status, total, currency, created_at, confirmed_at, lang
                    from "order" where id = $1"#,
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(order) = order else { return Ok(None) };
                let event_name: String = sqlx::query_scalar("select name from event where id = $1")
                    .bind(&order.event_id)
                    .fetch_one(&mut *conn)
                    .await?;
                let lines = sqlx::query_as::<_, $crate::db::OrderLineRecord>(
                    "select seat_id, ga_pool_id, description, quantity, unit_price
                    from order_line where order_id = $1 order by id",
                )
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
                let payment = sqlx::query_as::<_, $crate::db::PaymentRecord>(concat!(
                    "select ",
                    payment_columns!(),
                    " from payment where order_id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                let tickets = Self::load_tickets(&mut *conn, id).await?;
                Ok(Some($crate::db::OrderDetail {
                    order,
                    event_name,
                    lines,
                    payment,
                    tickets,
                }))
            }

            /// Locks the hold of an order (its `hold_id` never changes).
            async fn lock_hold_of(
                tx: &mut sqlx::Transaction<'static, $db>,
                order_id: &str,
            ) -> $crate::error::Result<()> {
                sqlx::query(
                    r#"update hold set status = status
                    where id = (select hold_id from "order" where id = $1)"#,
                )
                .bind(order_id)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Queues an email inside `tx`.
            async fn insert_email(
                tx: &mut sqlx::Transaction<'static, $db>,
                email: &$crate::db::NewEmail,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                sqlx::query(
                    "insert into email_outbox (kind, recipient, subject, body_text, body_html,
                        status, attempts, next_attempt_at, created_at)
                    values ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
                )
                .bind(&email.kind)
                .bind(&email.recipient)
                .bind(&email.subject)
                .bind(&email.body_text)
                .bind(&email.body_html)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Claims a webhook event id inside `tx`; `false` if seen before.
            async fn claim_in_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                webhook: &Option<(String, String)>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<bool> {
                let Some((id, kind)) = webhook else { return Ok(true) };
                let n = sqlx::query(
                    "insert into processed_webhook_event (id, event_type, processed_at)
                    values ($1, $2, $3) on conflict (id) do nothing",
                )
                .bind(id)
                .bind(kind)
                .bind(now)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                Ok(n == 1)
            }

            /// Locks the order's hold, then the order row (no-op updates),
            /// and returns `(status, hold_id)`. Hold before order, as the
            /// sweeper does (it ends an expired hold's order), so the two
            /// never wait on each other in a cycle.
            async fn lock_order(
                tx: &mut sqlx::Transaction<'static, $db>,
                order_id: &str,
            ) -> $crate::error::Result<Option<(String, String)>> {
                Self::lock_hold_of(tx, order_id).await?;
                Ok(sqlx::query_as(
                    r#"update "order" set status = status where id = $1 returning status, hold_id"#,
                )
                .bind(order_id)
                .fetch_optional(&mut **tx)
                .await?)
            }

            /// The order a payment belongs to, locked as [`Self::lock_order`]
            /// does: `(order_id, status, hold_id)`, or `None` when either
            /// is gone. Every webhook that settles a payment starts here.
            async fn lock_order_of_payment(
                tx: &mut sqlx::Transaction<'static, $db>,
                payment_id: &str,
            ) -> $crate::error::Result<Option<(String, String, String)>> {
                let order_id: Option<String> =
                    sqlx::query_scalar("select order_id from payment where id = $1")
                        .bind(payment_id)
                        .fetch_optional(&mut **tx)
                        .await?;
                let Some(order_id) = order_id else {
                    return Ok(None);
                };
                Ok(Self::lock_order(tx, &order_id)
                    .await?
                    .map(|(status, hold_id)| (order_id, status, hold_id)))
            }
        }

        #[async_trait::async_trait]
        impl $crate::db::OrderRepo for $store {
            async fn checkout(
                &self,
                c: &$crate::db::NewCheckout,
            ) -> $crate::error::Result<$crate::db::CheckoutOutcome> {
                use $crate::db::CheckoutOutcome;
                let mut tx = self.begin().await?;
                // Lock the hold so the sweeper cannot expire it half-way.
                let hold: Option<(String, i64, String, chrono::DateTime<chrono::Utc>, String, String)> =
                    sqlx::query_as(
                        "update hold set status = status where id = $1
                        returning status, total, currency, expires_at, event_id, session_hash",
                    )
                    .bind(&c.hold_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((status, total, currency, expires_at, event_id, session_hash)) = hold
                else {
                    return Ok(CheckoutOutcome::NoHold);
                };
                let existing: Option<String> =
                    sqlx::query_scalar(r#"select id from "order" where hold_id = $1"#)
                        .bind(&c.hold_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let order_id = match existing {
                    Some(id) => id,
                    None => {
                        if status != "active" || expires_at <= c.now {
                            return Ok(CheckoutOutcome::HoldNotActive);
                        }
                        sqlx::query(
                            "insert into customer (id, email, password_hash, created_at)
                            values ($1, $2, null, $3) on conflict (email) do nothing",
                        )
                        .bind(&c.customer_id)
                        .bind(&c.email)
                        .bind(c.now)
                        .execute(&mut *tx)
                        .await?;
                        let customer_id: String =
                            sqlx::query_scalar("select id from customer where email = $1")
                                .bind(&c.email)
                                .fetch_one(&mut *tx)
                                .await?;
                        sqlx::query(
                            r#"insert into "order" (id, reference, hold_id, event_id, customer_id,
                                email, session_hash, status, total, currency, created_at, lang)
                            values ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11)"#,
                        )
                        .bind(&c.order_id)
                        .bind(&c.reference)
                        .bind(&c.hold_id)
                        .bind(&event_id)
                        .bind(&customer_id)
                        .bind(&c.email)
                        .bind(&session_hash)
                        .bind(total)
                        .bind(&currency)
                        .bind(c.now)
                        .bind(&c.lang)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "insert into order_line (order_id, seat_id, ga_pool_id, description,
                                quantity, unit_price)
                            select $1, hs.seat_id, null,
                                sec.name || ' row ' || s.row_label || ' seat ' || s.number, 1, hs.price
                            from hold_seat hs
                            join seat s on s.id = hs.seat_id
                            join section sec on sec.id = s.section_id
                            where hs.hold_id = $2
                            order by hs.seat_id",
                        )
                        .bind(&c.order_id)
                        .bind(&c.hold_id)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "insert into order_line (order_id, seat_id, ga_pool_id, description,
                                quantity, unit_price)
                            select $1, null, hg.ga_pool_id, sec.name, hg.quantity, hg.price
                            from hold_ga hg
                            join ga_pool p on p.id = hg.ga_pool_id
                            join section sec on sec.id = p.section_id
                            where hg.hold_id = $2",
                        )
                        .bind(&c.order_id)
                        .bind(&c.hold_id)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "insert into payment (id, order_id, provider, provider_ref, client_secret,
                                amount, currency, status, created_at, updated_at)
                            values ($1, $2, $3, null, null, $4, $5, 'pending', $6, $6)",
                        )
                        .bind(&c.payment_id)
                        .bind(&c.order_id)
                        .bind(&c.provider)
                        .bind(total)
                        .bind(&currency)
                        .bind(c.now)
                        .bind(&c.lang)
                        .execute(&mut *tx)
                        .await?;
                        c.order_id.clone()
                    }
                };
                let detail = Self::load_order(&mut *tx, &order_id).await;
                tx.commit().await?;
                match detail? {
                    Some(d) => Ok(CheckoutOutcome::Order(Box::new(d))),
                    None => Err($crate::error::BookingError::internal("order vanished")),
                }
            }

            async fn set_provider_ref(
                &self,
                payment_id: &str,
                provider_ref: &str,
                client_secret: Option<&str>,
                request_id: Option<&str>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.begin().await?;
                sqlx::query(
                    "update payment set provider_ref = $2, client_secret = $3,
                        create_request_id = $4
                    where id = $1",
                )
                .bind(payment_id)
                .bind(provider_ref)
                .bind(client_secret)
                .bind(request_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn order(
                &self,
                id: &str,
            ) -> $crate::error::Result<Option<$crate::db::OrderDetail>> {
                let mut conn = self.read().acquire().await?;
                Self::load_order(&mut conn, id).await
            }

            async fn payment(
                &self,
                id: &str,
            ) -> $crate::error::Result<Option<$crate::db::PaymentRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::PaymentRecord>(concat!(
                    "select ",
                    payment_columns!(),
                    " from payment where id = $1"
                ))
                .bind(id)
                .fetch_optional(self.read())
                .await?)
            }

            async fn payment_by_provider_ref(
                &self,
                provider_ref: &str,
            ) -> $crate::error::Result<Option<$crate::db::PaymentRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::PaymentRecord>(concat!(
                    "select ",
                    payment_columns!(),
                    " from payment where provider_ref = $1"
                ))
                .bind(provider_ref)
                .fetch_optional(self.read())
                .await?)
            }

            async fn settle_success(
                &self,
                s: &$crate::db::Settle,
                email: &$crate::db::NewEmail,
                tickets: &[$crate::db::NewTicket],
            ) -> $crate::error::Result<$crate::db::SettleOutcome> {
                self.settle_success_impl(s, email, tickets).await
            }

            async fn settle_failure(
                &self,
                s: &$crate::db::Settle,
            ) -> $crate::error::Result<$crate::db::SettleOutcome> {
                self.settle_failure_impl(s).await
            }

            async fn record_refund(
                &self,
                r: &$crate::db::NewRefund,
                email: Option<&$crate::db::NewEmail>,
            ) -> $crate::error::Result<()> {
                self.record_refund_impl(r, email).await
            }

            async fn cancel_pending(
                &self,
                order_id: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<Option<$crate::db::Released>> {
                let mut tx = self.begin().await?;
                Self::lock_hold_of(&mut tx, order_id).await?;
                let hold: Option<String> = sqlx::query_scalar(
                    r#"update "order" set status = 'cancelled', ended_at = $2
                    where id = $1 and status = 'pending' returning hold_id"#,
                )
                .bind(order_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(hold) = hold else { return Ok(None) };
                // Its PaymentIntent could still take money: cancel it at the
                // provider after this commits (retried until done).
                sqlx::query(
                    "update payment set status = 'failed', updated_at = $2,
                        intent_cancel = case when provider_ref is null then null else 'due' end
                    where order_id = $1 and status = 'pending'",
                )
                .bind(order_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let released =
                    Self::release_in_tx(&mut tx, &hold, $crate::db::HoldStatus::Released, now)
                        .await?;
                tx.commit().await?;
                Ok(released)
            }

            async fn claim_webhook(
                &self,
                id: &str,
                kind: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                let fresh =
                    Self::claim_in_tx(&mut tx, &Some((id.to_owned(), kind.to_owned())), now).await?;
                tx.commit().await?;
                Ok(fresh)
            }

            async fn orders_for_customer(
                &self,
                customer_id: &str,
            ) -> $crate::error::Result<Vec<$crate::db::OrderSummary>> {
                Ok(sqlx::query_as::<_, $crate::db::OrderSummary>(
                    r#"select o.id, o.reference, o.event_id, e.name as event_name, o.status,
                        o.total, o.currency, o.created_at
                    from "order" o join event e on e.id = o.event_id
                    where o.customer_id = $1
                    order by o.created_at desc, o.id
                    limit 200"#,
                )
                .bind(customer_id)
                .fetch_all(self.read())
                .await?)
            }
        }
    };
}
