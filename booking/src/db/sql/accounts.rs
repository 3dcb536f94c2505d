//! Customer, verification and email-outbox queries (see `mod.rs`).

macro_rules! impl_account_repos {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::db::CustomerRepo for $store {
            async fn by_email(
                &self,
                email: &str,
            ) -> $crate::error::Result<Option<$crate::db::CustomerRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::CustomerRecord>(
                    "select id, email, password_hash, email_verified_at
                    from customer where email = $1",
                )
                .bind(email)
                .fetch_optional(self.read())
                .await?)
            }

            async fn by_id(
                &self,
                id: &str,
            ) -> $crate::error::Result<Option<$crate::db::CustomerRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::CustomerRecord>(
                    "select id, email, password_hash, email_verified_at
                    from customer where id = $1",
                )
                .bind(id)
                .fetch_optional(self.read())
                .await?)
            }

            async fn spend_mail_budget(
                &self,
                email: &str,
                limit: i64,
                window: chrono::Duration,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<$crate::db::MailBudget> {
                let mut tx = self.begin().await?;
                // `set` reads the old row on both backends, so a window that
                // has run out restarts at 1 and a live one counts up.
                let (hits, start): (i64, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
                    "insert into account_mail_throttle (email, window_start, hits)
                    values ($1, $2, 1)
                    on conflict (email) do update set
                        hits = case when account_mail_throttle.window_start <= $3
                            then 1 else account_mail_throttle.hits + 1 end,
                        window_start = case when account_mail_throttle.window_start <= $3
                            then excluded.window_start
                            else account_mail_throttle.window_start end
                    returning hits, window_start",
                )
                .bind(email)
                .bind(now)
                .bind(now - window)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                if hits <= limit {
                    return Ok($crate::db::MailBudget::Send);
                }
                let left = (start + window - now).num_seconds().max(1);
                Ok($crate::db::MailBudget::Exhausted {
                    retry_after: u64::try_from(left).unwrap_or(1),
                })
            }

            async fn add_verification(
                &self,
                v: &$crate::db::VerificationRecord,
                mail: &$crate::db::NewEmail,
            ) -> $crate::error::Result<()> {
                let mut tx = self.begin().await?;
                sqlx::query(
                    "insert into account_verification
                        (token_hash, email, password_hash, created_at, expires_at, lang)
                    values ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&v.token_hash)
                .bind(&v.email)
                .bind(&v.password_hash)
                .bind(v.created_at)
                .bind(v.expires_at)
                .bind(&v.lang)
                .execute(&mut *tx)
                .await?;
                Self::insert_email(&mut tx, mail, v.created_at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn verification(
                &self,
                token_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<Option<$crate::db::VerificationRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::VerificationRecord>(
                    "select token_hash, email, password_hash, created_at, expires_at, lang
                    from account_verification
                    where token_hash = $1 and used_at is null and expires_at > $2",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(self.read())
                .await?)
            }

            async fn latest_verification(
                &self,
                email: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<Option<$crate::db::VerificationRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::VerificationRecord>(
                    "select token_hash, email, password_hash, created_at, expires_at, lang
                    from account_verification
                    where email = $1 and used_at is null and expires_at > $2
                    order by created_at desc limit 1",
                )
                .bind(email)
                .bind(now)
                .fetch_optional(self.read())
                .await?)
            }

            async fn complete_verification(
                &self,
                token_hash: &str,
                new_customer_id: &str,
                now: chrono::DateTime<chrono::Utc>,
                welcome: &$crate::db::NewEmail,
            ) -> $crate::error::Result<Option<$crate::db::CustomerRecord>> {
                let mut tx = self.begin().await?;
                // The conditional update is the single use: of two
                // concurrent completions only one sees a row.
                let used: Option<(String, String)> = sqlx::query_as(
                    "update account_verification set used_at = $2
                    where token_hash = $1 and used_at is null and expires_at > $2
                    returning email, password_hash",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((email, hash)) = used else {
                    return Ok(None);
                };
                let customer = sqlx::query_as::<_, $crate::db::CustomerRecord>(
                    "insert into customer (id, email, password_hash, created_at, email_verified_at)
                    values ($1, $2, $3, $4, $4)
                    on conflict (email) do update set
                        password_hash = excluded.password_hash,
                        email_verified_at = excluded.email_verified_at
                    returning id, email, password_hash, email_verified_at",
                )
                .bind(new_customer_id)
                .bind(&email)
                .bind(&hash)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("delete from account_verification where email = $1 and token_hash <> $2")
                    .bind(&email)
                    .bind(token_hash)
                    .execute(&mut *tx)
                    .await?;
                Self::insert_email(&mut tx, welcome, now).await?;
                tx.commit().await?;
                Ok(Some(customer))
            }

            async fn assign_order(
                &self,
                order_id: &str,
                customer_id: &str,
            ) -> $crate::error::Result<()> {
                let mut tx = self.begin().await?;
                sqlx::query(r#"update "order" set customer_id = $2 where id = $1"#)
                    .bind(order_id)
                    .bind(customer_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::db::OutboxRepo for $store {
            async fn enqueue(
                &self,
                email: &$crate::db::NewEmail,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.begin().await?;
                Self::insert_email(&mut tx, email, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn enqueue_once(
                &self,
                email: &$crate::db::NewEmail,
                key: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                let added = sqlx::query(
                    "insert into email_outbox (kind, recipient, subject, body_text, body_html,
                        status, attempts, next_attempt_at, created_at, dedupe_key)
                    values ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $7)
                    on conflict (dedupe_key) do nothing",
                )
                .bind(&email.kind)
                .bind(&email.recipient)
                .bind(&email.subject)
                .bind(&email.body_text)
                .bind(&email.body_html)
                .bind(now)
                .bind(key)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(added > 0)
            }

            async fn claim_due(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::error::Result<Vec<$crate::db::EmailRecord>> {
                let mut tx = self.begin().await?;
                let rows = sqlx::query_as::<_, $crate::db::EmailRecord>(Self::CLAIM_EMAILS)
                    .bind(now)
                    .bind(lease_until)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }

            async fn mark_sent(
                &self,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.begin().await?;
                sqlx::query(
                    "update email_outbox set status = 'sent', sent_at = $2, last_error = null
                    where id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn mark_failed(
                &self,
                id: i64,
                error: &str,
                retry_at: Option<chrono::DateTime<chrono::Utc>>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.begin().await?;
                match retry_at {
                    Some(at) => sqlx::query(
                        "update email_outbox set next_attempt_at = $2, last_error = $3 where id = $1",
                    )
                    .bind(id)
                    .bind(at)
                    .bind(error),
                    None => sqlx::query(
                        "update email_outbox set status = 'failed', last_error = $2 where id = $1",
                    )
                    .bind(id)
                    .bind(error),
                }
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn backlog(&self) -> $crate::error::Result<$crate::db::OutboxBacklog> {
                let (pending, failed): (i64, i64) = sqlx::query_as(
                    "select
                        coalesce(sum(case when status = 'pending' then 1 else 0 end), 0),
                        coalesce(sum(case when status = 'failed' then 1 else 0 end), 0)
                    from email_outbox",
                )
                .fetch_one(self.read())
                .await?;
                Ok($crate::db::OutboxBacklog { pending, failed })
            }
        }
    };
}
