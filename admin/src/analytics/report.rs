//! From stored minutes to the report: per-minute figures (cumulative
//! counts turned into the minute's own), wait percentiles, abandonment and
//! conversion over the range.

use super::db::{MinuteRow, Totals};
use serde::Serialize;
use std::collections::BTreeMap;

/// One minute of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MinuteFigures {
    /// Start of the minute (ms since the epoch).
    pub t: i64,
    /// Tickets issued during the minute.
    pub joins: i64,
    /// Admitted during the minute.
    pub admitted: i64,
    /// Departed during the minute.
    pub departed: i64,
    /// Waiters at the minute's end.
    pub waiting: i64,
    /// Active sessions at the minute's end.
    pub active: i64,
    /// Rate-limited requests during the minute.
    pub rate_limited: i64,
    /// Joins refused for the CAPTCHA during the minute.
    pub captcha_failed: i64,
    /// Holds placed during the minute.
    pub holds: i64,
    /// Orders created during the minute.
    pub orders: i64,
    /// Revenue (minor units) during the minute.
    pub revenue: i64,
    /// Median wait of the minute's admissions (s), if any is known.
    pub wait_p50: Option<u64>,
    /// 90th percentile (s).
    pub wait_p90: Option<u64>,
}

/// Waits from join to admission over the range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Waits {
    /// Admissions whose wait is known.
    pub count: u64,
    /// Admissions whose join this service did not see (see the fold).
    pub unknown: u64,
    /// Seconds.
    pub p50: Option<u64>,
    /// Seconds.
    pub p90: Option<u64>,
    /// Seconds.
    pub p99: Option<u64>,
}

/// The range's totals and ratios.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Sums of the minutes.
    pub joins: i64,
    /// Sum.
    pub admitted: i64,
    /// Sum.
    pub departed: i64,
    /// Departed fans who joined again.
    pub returned: i64,
    /// Departed and never returned: `departed - returned`.
    pub abandoned: i64,
    /// `abandoned / joins`.
    pub abandonment_rate: Option<f64>,
    /// Sum.
    pub rate_limited: i64,
    /// Sum.
    pub captcha_failed: i64,
    /// Sum.
    pub holds: i64,
    /// Sum.
    pub orders: i64,
    /// Sum (minor units).
    pub revenue: i64,
    /// Highest queue length at a minute's end.
    pub peak_waiting: i64,
    /// Admitted → hold → paid: visitors who placed a first hold …
    pub holders: i64,
    /// … and visitors whose order was paid.
    pub buyers: i64,
    /// `holders / admitted`.
    pub hold_rate: Option<f64>,
    /// `buyers / holders`.
    pub pay_rate: Option<f64>,
    /// `buyers / admitted`.
    pub conversion: Option<f64>,
}

/// The report of a range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// Minutes with data, oldest first.
    pub minutes: Vec<MinuteFigures>,
    /// Over the range.
    pub summary: Summary,
    /// Over the range.
    pub waits: Waits,
}

/// A stored histogram (unreadable entries are skipped).
pub fn histogram(json: &str) -> BTreeMap<u64, u64> {
    let raw: BTreeMap<String, u64> = serde_json::from_str(json).unwrap_or_default();
    raw.into_iter()
        .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v)))
        .collect()
}

/// The smallest bucket below which at least `p` percent of the waits fall
/// (nearest-rank).
pub fn percentile(h: &BTreeMap<u64, u64>, p: u64) -> Option<u64> {
    let total: u64 = h.values().sum();
    if total == 0 {
        return None;
    }
    let rank = (total * p).div_ceil(100).max(1);
    let mut seen = 0;
    h.iter().find_map(|(&bucket, &n)| {
        seen += n;
        (seen >= rank).then_some(bucket)
    })
}

fn ratio(a: i64, b: i64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Cumulative counts never go back (a reset shared counter, a row whose
/// write read older counts): carry the highest seen so far.
fn carry(seen: &mut Totals, row: &Totals) {
    let max = |a: &mut i64, b: i64| *a = (*a).max(b);
    max(&mut seen.rate_limited, row.rate_limited);
    max(&mut seen.captcha_failed, row.captcha_failed);
    max(&mut seen.returned, row.returned);
    max(&mut seen.holds, row.holds);
    max(&mut seen.holders, row.holders);
    max(&mut seen.orders, row.orders);
    max(&mut seen.buyers, row.buyers);
    max(&mut seen.revenue, row.revenue);
}

/// Builds the report of `rows`, counting cumulative figures from `base`
/// (the last minute before the range; none: from zero).
pub fn build(base: Option<&MinuteRow>, rows: &[MinuteRow]) -> Report {
    let mut seen = base.map(|b| b.totals).unwrap_or_default();
    let start = seen;
    let mut all = BTreeMap::new();
    let (mut r, mut known) = (Report::default(), 0);
    for row in rows {
        let before = seen;
        carry(&mut seen, &row.totals);
        let h = histogram(&row.waits);
        for (&k, &v) in &h {
            *all.entry(k).or_insert(0) += v;
        }
        known += row.waits_known.max(0) as u64;
        r.summary.peak_waiting = r.summary.peak_waiting.max(row.waiting);
        r.minutes.push(MinuteFigures {
            t: row.minute,
            joins: row.joins,
            admitted: row.admitted,
            departed: row.departed,
            waiting: row.waiting,
            active: row.active,
            rate_limited: seen.rate_limited - before.rate_limited,
            captcha_failed: seen.captcha_failed - before.captcha_failed,
            holds: seen.holds - before.holds,
            orders: seen.orders - before.orders,
            revenue: seen.revenue - before.revenue,
            wait_p50: percentile(&h, 50),
            wait_p90: percentile(&h, 90),
        });
    }
    let s = &mut r.summary;
    for m in &r.minutes {
        s.joins += m.joins;
        s.admitted += m.admitted;
        s.departed += m.departed;
        s.rate_limited += m.rate_limited;
        s.captcha_failed += m.captcha_failed;
        s.holds += m.holds;
        s.orders += m.orders;
        s.revenue += m.revenue;
    }
    s.returned = seen.returned - start.returned;
    s.abandoned = (s.departed - s.returned).max(0);
    s.abandonment_rate = ratio(s.abandoned, s.joins);
    s.holders = seen.holders - start.holders;
    s.buyers = seen.buyers - start.buyers;
    s.hold_rate = ratio(s.holders, s.admitted);
    s.pay_rate = ratio(s.buyers, s.holders);
    s.conversion = ratio(s.buyers, s.admitted);
    r.waits = Waits {
        count: known,
        unknown: (s.admitted.max(0) as u64).saturating_sub(known),
        p50: percentile(&all, 50),
        p90: percentile(&all, 90),
        p99: percentile(&all, 99),
    };
    r
}

/// The CSV header of [`csv_line`].
pub const CSV_HEADER: &str = "minute_utc,joins,admitted,departed,waiting,active,rate_limited,\
captcha_failed,holds,orders,revenue_minor,wait_p50_s,wait_p90_s\n";

/// One minute as a CSV line (every field is a number or a time: nothing
/// an operator typed, so nothing to quote).
pub fn csv_line(m: &MinuteFigures) -> String {
    let time = chrono::DateTime::from_timestamp_millis(m.t)
        .map(|t| t.format("%Y-%m-%dT%H:%MZ").to_string())
        .unwrap_or_default();
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    format!(
        "{time},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        m.joins,
        m.admitted,
        m.departed,
        m.waiting,
        m.active,
        m.rate_limited,
        m.captcha_failed,
        m.holds,
        m.orders,
        m.revenue,
        opt(m.wait_p50),
        opt(m.wait_p90)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(minute: i64, admitted: i64, waits: &str, totals: Totals) -> MinuteRow {
        MinuteRow {
            minute,
            admitted,
            departed: 2,
            joins: 5,
            waits: waits.to_owned(),
            waits_known: admitted,
            totals,
            ..MinuteRow::default()
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let h: BTreeMap<u64, u64> = (1..=100).map(|s| (s, 1)).collect();
        assert_eq!(percentile(&h, 50), Some(50));
        assert_eq!(percentile(&h, 90), Some(90));
        assert_eq!(percentile(&h, 99), Some(99));
        assert_eq!(percentile(&BTreeMap::new(), 50), None);
        assert_eq!(percentile(&BTreeMap::from([(7, 1)]), 99), Some(7));
    }

    #[test]
    fn cumulative_counts_become_the_minutes_own() {
        let t = |holds, returned, revenue| Totals {
            holds,
            holders: holds,
            buyers: holds / 2,
            returned,
            revenue,
            ..Totals::default()
        };
        let base = row(0, 0, "{}", t(1, 0, 100));
        let rows = [
            row(60_000, 3, r#"{"2":2,"10":1}"#, t(3, 1, 300)),
            // A write that read older counts does not make them negative.
            row(120_000, 1, r#"{"4":1}"#, t(2, 1, 250)),
            row(180_000, 0, "{}", t(5, 1, 700)),
        ];
        let r = build(Some(&base), &rows);
        let holds: Vec<i64> = r.minutes.iter().map(|m| m.holds).collect();
        assert_eq!(holds, [2, 0, 2]);
        let revenue: Vec<i64> = r.minutes.iter().map(|m| m.revenue).collect();
        assert_eq!(revenue, [200, 0, 400]);
        assert_eq!(r.summary.admitted, 4);
        assert_eq!((r.summary.departed, r.summary.returned), (6, 1));
        assert_eq!(r.summary.abandoned, 5);
        assert_eq!((r.summary.holders, r.summary.buyers), (4, 2));
        assert_eq!(r.summary.hold_rate, Some(1.0));
        assert_eq!(r.waits.count, 4);
        assert_eq!((r.waits.p50, r.waits.p90), (Some(2), Some(10)));
        assert_eq!(r.minutes[0].wait_p50, Some(2));
    }
}
