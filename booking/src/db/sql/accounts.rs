//! Customer and email-outbox queries (see `mod.rs`).

macro_rules! impl_account_repos {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::db::CustomerRepo for $store {
            async fn register(
                &self,
                id: &str,
                email: &str,
                hash: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                // A customer who bought without an account gets the password
                // set; one who already has a password keeps it.
                let n = sqlx::query(
                    "insert into customer (id, email, password_hash, created_at)
                    values ($1, $2, $3, $4)
                    on conflict (email) do update set password_hash = excluded.password_hash
                    where customer.password_hash is null",
                )
                .bind(id)
                .bind(email)
                .bind(hash)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn by_email(
                &self,
                email: &str,
            ) -> $crate::error::Result<Option<$crate::db::CustomerRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::CustomerRecord>(
                    "select id, email, password_hash from customer where email = $1",
                )
                .bind(email)
                .fetch_optional(self.read())
                .await?)
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
        }
    };
}
