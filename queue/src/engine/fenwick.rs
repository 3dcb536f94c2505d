//! Counts departed tickets in a range in O(log n), so every node can give
//! every local waiter an exact position without asking the store.

/// A growable Fenwick (binary indexed) tree over ticket numbers, holding a
/// 1 for every departed ticket.
#[derive(Debug, Clone, Default)]
pub struct DepartureIndex {
    tree: Vec<u32>,
    marked: Vec<u64>,
    len: u64,
}

impl DepartureIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of departed tickets recorded.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing departed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records `ticket` (>= 1) as departed. Recording one twice is a no-op,
    /// because a tick message may be applied again after a resync.
    pub fn insert(&mut self, ticket: u64) {
        if ticket == 0 {
            return;
        }
        let idx = ticket as usize;
        if idx >= self.tree.len() {
            self.grow(idx + 1);
        }
        let word = (ticket / 64) as usize;
        if word >= self.marked.len() {
            self.marked.resize(word + 1, 0);
        }
        let bit = 1u64 << (ticket % 64);
        if self.marked[word] & bit != 0 {
            return;
        }
        self.marked[word] |= bit;
        self.len += 1;
        let mut i = idx;
        while i < self.tree.len() {
            self.tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }

    /// Forgets `ticket` (its fan came back). Forgetting one that is not
    /// recorded is a no-op, like a repeated insert.
    pub fn remove(&mut self, ticket: u64) {
        let word = (ticket / 64) as usize;
        let bit = 1u64 << (ticket % 64);
        if ticket == 0 || self.marked.get(word).is_none_or(|w| w & bit == 0) {
            return;
        }
        self.marked[word] &= !bit;
        self.len -= 1;
        let mut i = ticket as usize;
        while i < self.tree.len() {
            self.tree[i] -= 1;
            i += i & i.wrapping_neg();
        }
    }

    /// Departed tickets in `1..=ticket`.
    fn prefix(&self, ticket: u64) -> u64 {
        let mut i = (ticket as usize).min(self.tree.len().saturating_sub(1));
        let mut sum = 0u64;
        while i > 0 {
            sum += u64::from(self.tree[i]);
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// Departed tickets strictly between `low` and `high`.
    pub fn count_between(&self, low: u64, high: u64) -> u64 {
        if high <= low + 1 {
            return 0;
        }
        self.prefix(high - 1) - self.prefix(low)
    }

    /// Rebuilds into a larger tree; amortised O(1) per ticket because the
    /// capacity doubles.
    fn grow(&mut self, min_len: usize) {
        let new_len = min_len.next_power_of_two().max(1024);
        let mut tree = vec![0u32; new_len];
        for (word_idx, word) in self.marked.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let mut i = word_idx * 64 + b;
                while i < new_len {
                    tree[i] += 1;
                    i += i & i.wrapping_neg();
                }
            }
        }
        self.tree = tree;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_a_naive_scan() {
        let mut idx = DepartureIndex::new();
        let departed: Vec<u64> = (1..5_000).filter(|t| t % 7 == 3 || t % 11 == 0).collect();
        for &t in &departed {
            idx.insert(t);
            idx.insert(t); // idempotent
        }
        assert_eq!(idx.len(), departed.len() as u64);
        // Returns are forgotten, once.
        let returned: Vec<u64> = departed.iter().copied().filter(|t| t % 3 == 0).collect();
        for &t in &returned {
            idx.remove(t);
            idx.remove(t);
        }
        idx.remove(4_999_999);
        let departed: Vec<u64> = departed.into_iter().filter(|t| t % 3 != 0).collect();
        assert_eq!(idx.len(), departed.len() as u64);
        for (low, high) in [(0, 10), (3, 4), (0, 5_000), (100, 2_345), (4_000, 9_000)] {
            let naive = departed.iter().filter(|&&t| t > low && t < high).count() as u64;
            assert_eq!(idx.count_between(low, high), naive, "({low}, {high})");
        }
    }
}
