//! A visitor-keyed map that never rehashes everything at once. A single
//! `HashMap` doubles when full: at 400,000 visitors that moves every entry
//! inside one join (tens of milliseconds with the store locked). Split in
//! [`SHARDS`] tables, each doubling moves a sixty-fourth of that.
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
pub(super) const SHARDS: usize = 64;

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
        (hash, (hash >> 40) as usize % SHARDS)
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
        let ids: Vec<VisitorId> = (0..1_000).map(|_| VisitorId::random()).collect();
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
        assert!(m.contains_key(&ids[999]));
        assert_eq!(m.len(), 1_000);
        // Spread over the shards, not piled into one.
        assert!(m.shards.iter().all(|s| !s.is_empty()));
    }
}
