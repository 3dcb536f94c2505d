//! Catalog queries (see `mod.rs`).

macro_rules! impl_catalog_repo {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Creates an event's tiers, sections, seats and pools in `tx`.
            async fn insert_seat_map(
                tx: &mut sqlx::Transaction<'static, $db>,
                event_id: &str,
                tiers: &[(String, i64)],
                sections: &[$crate::db::SeedSection],
            ) -> $crate::error::Result<()> {
                let mut tier_ids = Vec::with_capacity(tiers.len());
                for (name, price) in tiers {
                    let id: i64 = sqlx::query_scalar(
                        "insert into price_tier (event_id, name, price) values ($1, $2, $3)
                        returning id",
                    )
                    .bind(event_id)
                    .bind(name)
                    .bind(*price)
                    .fetch_one(&mut **tx)
                    .await?;
                    tier_ids.push(id);
                }
                let tier = |i: usize| {
                    tier_ids.get(i).copied().ok_or_else(|| {
                        $crate::error::BookingError::internal("seed names an unknown tier")
                    })
                };
                for (position, section) in sections.iter().enumerate() {
                    let kind = if section.general.is_some() {
                        "general"
                    } else {
                        "seated"
                    };
                    let section_id: i64 = sqlx::query_scalar(
                        "insert into section (event_id, name, kind, position)
                        values ($1, $2, $3, $4) returning id",
                    )
                    .bind(event_id)
                    .bind(&section.name)
                    .bind(kind)
                    .bind(position as i64)
                    .fetch_one(&mut **tx)
                    .await?;
                    for (row, count, tier_index) in &section.rows {
                        let tier_id = tier(*tier_index)?;
                        for number in 1..=*count {
                            sqlx::query(
                                "insert into seat (event_id, section_id, row_label, number,
                                    price_tier_id, status)
                                values ($1, $2, $3, $4, $5, 'available')",
                            )
                            .bind(event_id)
                            .bind(section_id)
                            .bind(row)
                            .bind(number)
                            .bind(tier_id)
                            .execute(&mut **tx)
                            .await?;
                        }
                    }
                    if let Some((capacity, tier_index)) = section.general {
                        sqlx::query(
                            "insert into ga_pool (event_id, section_id, price_tier_id, capacity)
                            values ($1, $2, $3, $4)",
                        )
                        .bind(event_id)
                        .bind(section_id)
                        .bind(tier(tier_index)?)
                        .bind(capacity)
                        .execute(&mut **tx)
                        .await?;
                    }
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::db::CatalogRepo for $store {
            async fn list_events(
                &self,
                q: &$crate::db::EventQuery,
            ) -> $crate::error::Result<Vec<$crate::db::EventListing>> {
                self.search_events(q).await
            }

            async fn event(
                &self,
                id: &str,
            ) -> $crate::error::Result<Option<$crate::db::EventRecord>> {
                Ok(sqlx::query_as::<_, $crate::db::EventRecord>(
                    "select e.id, e.name, e.description, v.name as venue_name,
                        v.city as venue_city, e.category, e.city, e.starts_at, e.status,
                        e.sale_starts_at, e.sale_ends_at, e.currency
                    from event e join venue v on v.id = e.venue_id
                    where e.id = $1",
                )
                .bind(id)
                .fetch_optional(self.read())
                .await?)
            }

            async fn seat_map(
                &self,
                event: &str,
            ) -> $crate::error::Result<$crate::db::SeatMapData> {
                let sections = sqlx::query_as::<_, $crate::db::SectionRow>(
                    "select id, name, kind, position from section
                    where event_id = $1 order by position, id",
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                let tiers = sqlx::query_as::<_, $crate::db::TierRow>(
                    "select id, name, price from price_tier where event_id = $1 order by id",
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                let seats = sqlx::query_as::<_, $crate::db::SeatRow>(
                    "select id, section_id, row_label, number, price_tier_id, status
                    from seat where event_id = $1 order by id",
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                let pools = sqlx::query_as::<_, $crate::db::PoolRow>(
                    "select id, section_id, price_tier_id, capacity, held, sold
                    from ga_pool where event_id = $1 order by id",
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                Ok($crate::db::SeatMapData {
                    sections,
                    tiers,
                    seats,
                    pools,
                })
            }

            async fn prices(&self, event: &str) -> $crate::error::Result<$crate::db::PriceList> {
                let seats: Vec<(i64, i64)> = sqlx::query_as(
                    "select s.id, t.price from seat s join price_tier t on t.id = s.price_tier_id
                    where s.event_id = $1",
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                let pools: Vec<(i64, i64)> = sqlx::query_as(
                    "select g.id, t.price from ga_pool g join price_tier t on t.id = g.price_tier_id
                    where g.event_id = $1",
                )
                .bind(event)
                .fetch_all(self.read())
                .await?;
                Ok($crate::db::PriceList { seats, pools })
            }

            async fn available(&self, event: &str) -> $crate::error::Result<i64> {
                let n: i64 = sqlx::query_scalar(
                    "select cast(
                        (select count(*) from seat
                         where event_id = $1 and status = 'available')
                        + coalesce((select sum(capacity - held - sold) from ga_pool
                         where event_id = $1 and capacity > held + sold), 0)
                    as bigint)",
                )
                .bind(event)
                .fetch_one(self.read())
                .await?;
                Ok(n)
            }

            async fn left(&self, event: &str, from: i64) -> $crate::error::Result<$crate::db::Left> {
                // Each seat lookup stops at the first entry of
                // `seat_available_idx` at or after its start; the second
                // runs only when nothing is free from `from` on.
                let (seat, places): (Option<i64>, bool) = sqlx::query_as(
                    "select coalesce(
                            (select id from seat where event_id = $1 and status = 'available'
                                and id >= $2 order by id limit 1),
                            (select id from seat where event_id = $1 and status = 'available'
                                order by id limit 1)),
                        exists (select 1 from ga_pool
                            where event_id = $1 and capacity > held + sold)",
                )
                .bind(event)
                .bind(from)
                .fetch_one(self.read())
                .await?;
                Ok($crate::db::Left { seat, places })
            }

            async fn event_count(&self) -> $crate::error::Result<i64> {
                let n: i64 = sqlx::query_scalar("select count(*) from event")
                    .fetch_one(self.read())
                    .await?;
                Ok(n)
            }

            async fn insert_catalog(
                &self,
                seed: &$crate::db::CatalogSeed,
            ) -> $crate::error::Result<bool> {
                let mut tx = self.begin().await?;
                let venue_id: i64 = sqlx::query_scalar(
                    "insert into venue (name, city) values ($1, $2) returning id",
                )
                .bind(&seed.venue)
                .bind(&seed.city)
                .fetch_one(&mut *tx)
                .await?;
                let inserted = sqlx::query(
                    "insert into event (id, name, description, venue_id, starts_at, status,
                        sale_starts_at, sale_ends_at, currency, created_at, category, city)
                    values ($1, $2, $3, $4, $5, $6, null, null, $7, $8, $9, $10)",
                )
                .bind(&seed.event_id)
                .bind(&seed.name)
                .bind(&seed.description)
                .bind(venue_id)
                .bind(seed.starts_at)
                .bind(&seed.status)
                .bind(&seed.currency)
                .bind(seed.now)
                .bind(&seed.category)
                .bind(&seed.city)
                .execute(&mut *tx)
                .await;
                match inserted {
                    Ok(_) => {}
                    // Dropping the transaction takes the venue back too.
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(false),
                    Err(e) => return Err(e.into()),
                }
                Self::insert_seat_map(&mut tx, &seed.event_id, &seed.tiers, &seed.sections).await?;
                tx.commit().await?;
                self.seats_added().await;
                Ok(true)
            }
        }
    };
}
