//! Finding events (see `mod.rs`): the catalog's filters and its three
//! keyset-paginated orders. The price and popularity keys are computed per
//! event, so the filtered rows are wrapped and the keyset applies to the
//! computed columns. The keyset clause is only written when there is a
//! cursor: PostgreSQL types each parameter, and a key of another order
//! (a number where a time is compared) would not parse.

macro_rules! impl_event_search {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Published events matching `q`, in its order, after its cursor.
            pub(in crate::db) async fn search_events(
                &self,
                q: &$crate::db::EventQuery,
            ) -> $crate::error::Result<Vec<$crate::db::EventListing>> {
                use $crate::db::{EventSort, SortKey};
                let (column, keyset) = match q.sort {
                    EventSort::Date => (
                        "starts_at",
                        "x.starts_at > $8 or (x.starts_at = $8 and x.id > $9)",
                    ),
                    EventSort::Price => (
                        "price_from",
                        "x.price_from > $8 or (x.price_from = $8 and x.id > $9)",
                    ),
                    EventSort::Popularity => {
                        ("sold desc", "x.sold < $8 or (x.sold = $8 and x.id > $9)")
                    }
                };
                let keyset = if q.after.is_some() {
                    keyset
                } else {
                    "$8 is null and $9 is null"
                };
                let sql = format!(
                    r"select * from (
                        select e.id, e.name, e.description, v.name as venue_name,
                            v.city as venue_city, e.category, e.city, e.starts_at, e.status,
                            e.sale_starts_at, e.sale_ends_at, e.currency,
                            cast(coalesce((select min(t.price) from price_tier t
                                where t.event_id = e.id), 0) as bigint) as price_from,
                            cast((select count(*) from seat s
                                    where s.event_id = e.id and s.status = 'sold')
                                + coalesce((select sum(g.sold) from ga_pool g
                                    where g.event_id = e.id), 0) as bigint) as sold
                        from event e join venue v on v.id = e.venue_id
                        where e.status = 'published'
                          and ($1 is null or e.starts_at >= $1)
                          and ($2 is null or e.starts_at < $2)
                          and ($3 is null or lower(e.name) like $3 escape '\'
                               or lower(v.name) like $3 escape '\'
                               or lower(e.city) like $3 escape '\')
                          and ($4 is null or e.category = $4)
                          and ($5 is null or lower(e.city) = $5)
                          and (($6 is null and $7 is null) or exists (
                                select 1 from price_tier t where t.event_id = e.id
                                  and ($6 is null or t.price >= $6)
                                  and ($7 is null or t.price <= $7)))
                    ) x
                    where {keyset}
                    order by x.{column}, x.id
                    limit $10"
                );
                let query = sqlx::query_as::<_, $crate::db::EventListing>(&sql)
                    .bind(q.from)
                    .bind(q.to)
                    .bind(q.text_like.clone())
                    .bind(q.category.clone())
                    .bind(q.city.clone())
                    .bind(q.min_price)
                    .bind(q.max_price);
                let query = match &q.after {
                    Some((SortKey::Date(at), id)) => query.bind(Some(*at)).bind(Some(id.clone())),
                    Some((SortKey::Price(n) | SortKey::Popularity(n), id)) => {
                        query.bind(Some(*n)).bind(Some(id.clone()))
                    }
                    None => query.bind(None::<i64>).bind(None::<String>),
                };
                Ok(query.bind(q.limit).fetch_all(self.read()).await?)
            }
        }
    };
}
