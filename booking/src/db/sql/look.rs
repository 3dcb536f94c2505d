//! Event looks (see `look_model.rs`). One row per event, upserted; the
//! `where exists` makes an unknown event write nothing (the foreign key
//! would fail the statement instead).

macro_rules! impl_look_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::db::LookRepo for $store {
            async fn look(&self, event: &str) -> $crate::error::Result<Option<$crate::db::EventLook>> {
                let row: Option<(
                    String,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<i64>,
                    i64,
                )> = sqlx::query_as(
                    "select event_id, display_name, accent, message, logo_type, logo_sha256,
                        cast(length(logo) as bigint), updated_at
                    from event_look where event_id = $1",
                )
                .bind(event)
                .fetch_optional(self.read())
                .await?;
                Ok(row.map(|r| $crate::db::EventLook {
                    event_id: r.0,
                    fields: $crate::db::LookFields {
                        display_name: r.1,
                        accent: r.2,
                        message: r.3,
                    },
                    logo_type: r.4,
                    logo_sha256: r.5,
                    logo_bytes: r.6,
                    updated_at: r.7,
                }))
            }

            async fn logo(&self, event: &str) -> $crate::error::Result<Option<$crate::db::Logo>> {
                let row: Option<(Option<String>, Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
                    "select logo_type, logo_sha256, logo from event_look where event_id = $1",
                )
                .bind(event)
                .fetch_optional(self.read())
                .await?;
                Ok(match row {
                    Some((Some(content_type), Some(sha256), Some(bytes))) => {
                        Some($crate::db::Logo { content_type, sha256, bytes })
                    }
                    _ => None,
                })
            }

            async fn put_fields(
                &self,
                event: &str,
                fields: &$crate::db::LookFields,
                now_ms: i64,
            ) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(
                    "insert into event_look (event_id, display_name, accent, message, updated_at)
                    select $1, $2, $3, $4, $5 where exists (select 1 from event where id = $1)
                    on conflict (event_id) do update set display_name = excluded.display_name,
                        accent = excluded.accent, message = excluded.message,
                        updated_at = excluded.updated_at",
                )
                .bind(event)
                .bind(&fields.display_name)
                .bind(&fields.accent)
                .bind(&fields.message)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done > 0)
            }

            async fn put_logo(
                &self,
                event: &str,
                logo: Option<&$crate::db::Logo>,
                now_ms: i64,
            ) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                let done = sqlx::query(
                    "insert into event_look (event_id, logo, logo_type, logo_sha256, updated_at)
                    select $1, $2, $3, $4, $5 where exists (select 1 from event where id = $1)
                    on conflict (event_id) do update set logo = excluded.logo,
                        logo_type = excluded.logo_type, logo_sha256 = excluded.logo_sha256,
                        updated_at = excluded.updated_at",
                )
                .bind(event)
                .bind(logo.map(|l| l.bytes.as_slice()))
                .bind(logo.map(|l| l.content_type.as_str()))
                .bind(logo.map(|l| l.sha256.as_str()))
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done > 0)
            }
        }
    };
}
