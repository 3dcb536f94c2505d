//! A visitor-keyed map that never rehashes everything at once. A single
//! `HashMap` doubles when full: at 400,000 visitors that moves every entry
//! inside one join (tens of milliseconds with the store locked). Split in
//! [`SHARDS`] maps, each doubling moves a sixty-fourth of that.
//!
//! Hashed with foldhash, seeded per process, not SipHash: the keys are
//! visitor ids the queue minted at random (a presented id must carry the
//! queue's MAC), so no client can pick keys that collide, and SipHash over
//! the 32-character ids was a few percent of a join's CPU.

use crate::ids::VisitorId;
use foldhash::fast::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// A plain visitor-keyed map with the same hasher, for the maps that stay
/// small (departures, offers, contacts).
pub(super) type VisitorMap<V> = HashMap<VisitorId, V, RandomState>;

/// Number of shards.
pub(super) const SHARDS: usize = 64;

/// Visitor → `V`, in [`SHARDS`] independently growing maps.
pub(super) struct Sharded<V> {
    /// Picks the shard; seeded per process.
    pick: RandomState,
    shards: Vec<VisitorMap<V>>,
}

impl<V> Default for Sharded<V> {
    fn default() -> Self {
        Self {
            pick: RandomState::default(),
            shards: (0..SHARDS).map(|_| VisitorMap::default()).collect(),
        }
    }
}

impl<V> Sharded<V> {
    fn shard(&self, visitor: &VisitorId) -> usize {
        // The high bits: the shard's own map uses the low ones (with
        // another seed, but this keeps the two choices apart anyway).
        (self.pick.hash_one(visitor) >> 58) as usize % SHARDS
    }

    /// The value of `visitor`.
    pub(super) fn get(&self, visitor: &VisitorId) -> Option<&V> {
        self.shards[self.shard(visitor)].get(visitor)
    }

    /// Whether `visitor` has a value.
    pub(super) fn contains_key(&self, visitor: &VisitorId) -> bool {
        self.get(visitor).is_some()
    }

    /// Sets the value of `visitor`.
    pub(super) fn insert(&mut self, visitor: VisitorId, value: V) -> Option<V> {
        let shard = self.shard(&visitor);
        self.shards[shard].insert(visitor, value)
    }

    /// Removes `visitor`.
    pub(super) fn remove(&mut self, visitor: &VisitorId) -> Option<V> {
        let shard = self.shard(visitor);
        self.shards[shard].remove(visitor)
    }

    /// Entries over all shards.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
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
            assert_eq!(m.insert(v.clone(), i), None);
        }
        assert_eq!(m.insert(ids[7].clone(), 70), Some(7));
        assert_eq!(m.get(&ids[7]), Some(&70));
        assert_eq!(m.remove(&ids[8]), Some(8));
        assert_eq!(m.get(&ids[8]), None);
        assert_eq!(m.len(), 999);
        // Spread over the shards, not piled into one.
        assert!(m.shards.iter().all(|s| !s.is_empty()));
    }
}
