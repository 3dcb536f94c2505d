//! A lock-free log-linear histogram: exact below 128, then 64 sub-buckets
//! per power of two (at most 1.6% relative error), so one fixed array of
//! atomics covers microseconds to hours. Recording never allocates, which
//! matters when 19,000 socket tasks record into one histogram.
//!
//! Snapshots serialize sparsely so the JSON summaries of several client
//! processes can be merged into exact combined percentiles.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Values below this are their own bucket.
const LINEAR: u64 = 128;
/// Sub-buckets per power of two above `LINEAR`.
const SUB_BITS: u32 = 6;
const SUBS: u64 = 1 << SUB_BITS;
/// Buckets needed to cover every `u64`.
const BUCKETS: usize = (LINEAR + (64 - 7) * SUBS) as usize;

/// Bucket of a value.
fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = u64::from(63 - v.leading_zeros());
    let sub = (v >> (e - u64::from(SUB_BITS))) & (SUBS - 1);
    (LINEAR + (e - 7) * SUBS + sub) as usize
}

/// Smallest value that lands in bucket `i`.
fn lower(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let k = i - LINEAR;
    let e = 7 + k / SUBS;
    (SUBS + k % SUBS) << (e - u64::from(SUB_BITS))
}

/// Largest value that lands in bucket `i` (percentiles report this, so
/// they never understate).
fn upper(i: usize) -> u64 {
    if i + 1 >= BUCKETS {
        return u64::MAX;
    }
    lower(i + 1) - 1
}

/// Concurrent histogram of `u64` samples.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    max: AtomicU64,
    sum: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one sample.
    pub fn record(&self, v: u64) {
        self.buckets[index(v)].fetch_add(1, Ordering::Relaxed);
        self.max.fetch_max(v, Ordering::Relaxed);
        self.sum.fetch_add(v, Ordering::Relaxed);
    }

    /// A sparse copy of the counts so far.
    pub fn snapshot(&self) -> HistSnapshot {
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let n = b.load(Ordering::Relaxed);
                (n > 0).then_some((i as u32, n))
            })
            .collect();
        HistSnapshot {
            buckets,
            max: self.max.load(Ordering::Relaxed),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

/// Non-empty buckets as `(bucket, count)`, with the exact max and sum.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HistSnapshot {
    /// `(bucket index, count)`, ascending.
    pub buckets: Vec<(u32, u64)>,
    /// Largest sample.
    pub max: u64,
    /// Sum of samples, for the mean.
    pub sum: u64,
}

/// The figures people read.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Median (bucket upper bound).
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Exact maximum.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl HistSnapshot {
    /// Adds another process's counts to these.
    pub fn merge(&mut self, other: &HistSnapshot) {
        let mut all: Vec<(u32, u64)> = Vec::with_capacity(self.buckets.len() + other.buckets.len());
        all.extend_from_slice(&self.buckets);
        all.extend_from_slice(&other.buckets);
        all.sort_unstable_by_key(|b| b.0);
        let mut merged: Vec<(u32, u64)> = Vec::with_capacity(all.len());
        for (i, n) in all {
            match merged.last_mut() {
                Some(last) if last.0 == i => last.1 += n,
                _ => merged.push((i, n)),
            }
        }
        self.buckets = merged;
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.1).sum()
    }

    /// Smallest bucket upper bound covering fraction `q` of the samples,
    /// capped by the exact max.
    pub fn quantile(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for &(i, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return upper(i as usize).min(self.max);
            }
        }
        self.max
    }

    /// Percentiles, max and mean.
    pub fn summary(&self) -> Summary {
        let count = self.count();
        Summary {
            count,
            p50: self.quantile(0.50),
            p90: self.quantile(0.90),
            p99: self.quantile(0.99),
            p999: self.quantile(0.999),
            max: self.max,
            mean: if count == 0 {
                0.0
            } else {
                self.sum as f64 / count as f64
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        for v in [
            0,
            1,
            127,
            128,
            129,
            255,
            256,
            1_000,
            65_535,
            1 << 40,
            u64::MAX,
        ] {
            let i = index(v);
            assert!(lower(i) <= v && v <= upper(i), "{v} in bucket {i}");
            if v >= LINEAR {
                assert!((upper(i) - lower(i)) as f64 / lower(i) as f64 <= 1.0 / 64.0);
            }
        }
        for i in 0..BUCKETS - 1 {
            assert_eq!(upper(i) + 1, lower(i + 1));
        }
    }

    #[test]
    fn percentiles_and_merge() {
        let a = Histogram::default();
        let b = Histogram::default();
        for v in 1..=100 {
            a.record(v);
        }
        b.record(5_000);
        let mut s = a.snapshot();
        assert_eq!(s.summary().p50, 50);
        assert_eq!(s.summary().p99, 99);
        s.merge(&b.snapshot());
        assert_eq!(s.count(), 101);
        assert_eq!(s.summary().max, 5_000);
        assert_eq!(s.quantile(1.0), 5_000);
    }
}
