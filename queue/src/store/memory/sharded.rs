//! A visitor-keyed map that never rehashes everything at once. A single
//! `HashMap` doubles when full: at 400,000 visitors that moves every entry
//! inside one join (tens of milliseconds with the store locked). Split in
//! [`SHARDS`] tables, each doubling moves a 256th of that.
//!
//! The shards do not take equal shares, or they would all fill, and double,
//! within the same few thousand joins: at a million visitors that was
//! 150 MB of fresh tables to fault in and 66 MB of entries to move in under
//! a second, the store locked throughout, and joins queued behind it for
//! tens of milliseconds. Shard `i` takes a share proportional to
//! 2^(i/SHARDS), so the shards reach their thresholds at totals spread
//! evenly over each doubling, and one shard grows at a time ([`PICK`]).
//!
//! Each entry keeps its key's hash. A table that grows then moves entries
//! by their stored hash instead of hashing every id again, which read each
//! id's text from wherever it lives (a cache miss per entry); and one hash
//! per call picks both the shard and the slot.
//!
//! Hashed with foldhash, seeded per process, not SipHash: the keys are
//! visitor ids the queue minted at random (a presented id must carry the
//! queue's MAC), so no client can pick keys that collide, and SipHash over
//! the 32-character ids was a few percent of a join's CPU.

use crate::ids::VisitorId;
use foldhash::fast::RandomState;
use hashbrown::hash_table::{Entry, HashTable};
use std::collections::HashMap;
use std::hash::BuildHasher;

/// A plain visitor-keyed map with the same hasher, for the maps that stay
/// small (departures, offers, contacts).
pub(super) type VisitorMap<V> = HashMap<VisitorId, V, RandomState>;

/// Number of shards.
pub(super) const SHARDS: usize = 256;

/// Bits of the hash that pick a shard through [`PICK`].
const PICK_BITS: u32 = 14;

/// Shard by `PICK_BITS` bits of the hash: shard `i` holds a run of slots
/// proportional to 2^(i/SHARDS), so the largest share is about twice the
/// smallest (44 and 88 of 16,384 slots).
static PICK: [u8; 1 << PICK_BITS] = pick_table();

const fn pick_table() -> [u8; 1 << PICK_BITS] {
    // 2^(1/256): each shard's weight over the one before.
    const STEP: f64 = 1.002_711_275_050_202_5;
    let mut weights = [0.0; SHARDS];
    let (mut w, mut total, mut i) = (1.0, 0.0, 0);
    while i < SHARDS {
        weights[i] = w;
        total += w;
        w *= STEP;
        i += 1;
    }
    let mut table = [0u8; 1 << PICK_BITS];
    let (mut shard, mut upto, mut slot) = (0, weights[0], 0);
    while slot < table.len() {
        // The slot's middle, in units of the total weight.
        let at = (slot as f64 + 0.5) * total / table.len() as f64;
        while at >= upto && shard + 1 < SHARDS {
            shard += 1;
            upto += weights[shard];
        }
        table[slot] = shard as u8;
        slot += 1;
    }
    table
}

/// One entry and its key's hash.
struct Slot<V> {
    hash: u64,
    visitor: VisitorId,
    value: V,
}

/// Visitor → `V`, in [`SHARDS`] independently growing tables.
pub(super) struct Sharded<V> {
    hasher: RandomState,
    shards: Vec<HashTable<Slot<V>>>,
}

impl<V> Default for Sharded<V> {
    fn default() -> Self {
        Self {
            hasher: RandomState::default(),
            shards: (0..SHARDS).map(|_| HashTable::new()).collect(),
        }
    }
}

impl<V> Sharded<V> {
    /// The hash of `visitor` and its shard. The table takes its slot from
    /// the low bits and its tags from the top seven, so the shard comes
    /// from bits in between, which neither uses below 2^40 slots.
    fn locate(&self, visitor: &VisitorId) -> (u64, usize) {
        let hash = self.hasher.hash_one(visitor);
        let slot = (hash >> 40) as usize & ((1 << PICK_BITS) - 1);
        (hash, usize::from(PICK[slot]))
    }

    /// The value of `visitor`.
    pub(super) fn get(&self, visitor: &VisitorId) -> Option<&V> {
        let (hash, shard) = self.locate(visitor);
        self.shards[shard]
            .find(hash, |s| s.visitor == *visitor)
            .map(|s| &s.value)
    }

    /// The value of `visitor`, to change.
    pub(super) fn get_mut(&mut self, visitor: &VisitorId) -> Option<&mut V> {
        let (hash, shard) = self.locate(visitor);
        self.shards[shard]
            .find_mut(hash, |s| s.visitor == *visitor)
            .map(|s| &mut s.value)
    }

    /// The value of `visitor`, made by `make` first if it has none.
    pub(super) fn get_or_insert_with(
        &mut self,
        visitor: &VisitorId,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        let (hash, shard) = self.locate(visitor);
        let slot = match self.shards[shard].entry(hash, |s| s.visitor == *visitor, |s| s.hash) {
            Entry::Occupied(slot) => slot.into_mut(),
            Entry::Vacant(slot) => slot
                .insert(Slot {
                    hash,
                    visitor: visitor.clone(),
                    value: make(),
                })
                .into_mut(),
        };
        &mut slot.value
    }

    /// Whether `visitor` has a value.
    pub(super) fn contains_key(&self, visitor: &VisitorId) -> bool {
        self.get(visitor).is_some()
    }

    /// Entries over all shards.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_one_map() {
        let mut m = Sharded::default();
        let ids: Vec<VisitorId> = (0..10_000).map(|_| VisitorId::random()).collect();
        for (i, v) in ids.iter().enumerate() {
            assert_eq!(*m.get_or_insert_with(v, || i), i);
        }
        // An existing entry is kept, not made again.
        *m.get_or_insert_with(&ids[7], || 0) += 63;
        assert_eq!(m.get(&ids[7]), Some(&70));
        if let Some(v) = m.get_mut(&ids[8]) {
            *v = 80;
        }
        assert_eq!(m.get(&ids[8]), Some(&80));
        assert_eq!(m.get(&VisitorId::random()), None);
        assert!(m.contains_key(&ids[9_999]));
        assert_eq!(m.len(), 10_000);
        // Spread over the shards, not piled into one.
        assert!(m.shards.iter().all(|s| !s.is_empty()));
    }

    #[test]
    fn the_shards_double_one_at_a_time() {
        // Where each shard grew, by entries in the map at the time, over
        // two doublings: about every shard grows twice.
        let (from, to) = (120_000_u32, 480_000_u32);
        let mut m = Sharded::default();
        let mut grew_at = Vec::new();
        for n in 0..to {
            let v = VisitorId::random();
            let (_, shard) = m.locate(&v);
            let before = m.shards[shard].capacity();
            m.get_or_insert_with(&v, || ());
            if m.shards[shard].capacity() != before && n >= from {
                grew_at.push(f64::from(n));
            }
        }
        let twice = 2 * SHARDS - SHARDS / 8..=2 * SHARDS + SHARDS / 8;
        assert!(twice.contains(&grew_at.len()), "{} growths", grew_at.len());
        // Spread evenly in the logarithm of the size, a tenth more entries
        // see about 9% of the growths (45–47 of 513 in trials); with equal
        // shares a doubling's growths come within a few percent of one
        // size, and such a tenth sees half of them (240 of 555).
        let most = grew_at
            .iter()
            .map(|&at| grew_at.iter().filter(|&&n| n >= at && n < at * 1.1).count())
            .max()
            .unwrap_or(0);
        assert!(
            most * 100 <= grew_at.len() * 20,
            "{most} of {} growths within 10%",
            grew_at.len()
        );
    }
}
