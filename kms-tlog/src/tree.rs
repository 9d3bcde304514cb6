//! An in-memory, append-only Merkle tree that keeps the hash of every complete subtree.
//!
//! A tree of `n` leaves stores fewer than `2n` hashes. The hash of any complete subtree is a
//! lookup, and the Merkle Tree Hash of any prefix of the log (the root of an older tree size)
//! takes `O(log n)` hashing, so proofs for any pair of sizes are cheap.

use crate::hash::{EMPTY_ROOT, Hash, node_hash, split_point};

/// An append-only Merkle tree over leaf hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// `levels[h][i]` is the hash of the complete subtree of height `h` covering leaves
    /// `i·2^h .. (i+1)·2^h`. `levels[0]` holds the leaf hashes.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes, in order.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf hash and returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let mut carry = leaf;
        let mut height = 0;
        loop {
            if self.levels.len() == height {
                self.levels.push(Vec::new());
            }
            let Some(level) = self.levels.get_mut(height) else {
                break;
            };
            level.push(carry);
            // A level of even length has just completed a pair: hash it one level up.
            match level.as_slice() {
                [.., left, right] if level.len().is_multiple_of(2) => {
                    carry = node_hash(left, right);
                    height += 1;
                }
                _ => break,
            }
        }
        index
    }

    /// Drops every leaf from index `size` on, returning to the tree of the first `size` leaves.
    /// Does nothing if the tree is not larger.
    pub fn truncate(&mut self, size: u64) {
        for (height, level) in self.levels.iter_mut().enumerate() {
            let keep = size
                .checked_shr(u32::try_from(height).unwrap_or(u32::MAX))
                .unwrap_or(0);
            level.truncate(usize::try_from(keep).unwrap_or(usize::MAX));
        }
        while self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The hash of leaf `index`, if the tree has it.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.node(0, index)
    }

    /// The hash of the complete subtree of the given height covering leaves
    /// `index·2^height .. (index+1)·2^height`, if all those leaves exist.
    pub fn node(&self, height: u32, index: u64) -> Option<Hash> {
        let level = self.levels.get(usize::try_from(height).ok()?)?;
        level.get(usize::try_from(index).ok()?).copied()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        // `range_hash(0, size)` exists for every size the tree has.
        self.root_at(self.size()).unwrap_or(EMPTY_ROOT)
    }

    /// The root of the tree made of the first `size` leaves (an earlier version of the log).
    /// `None` if the tree has fewer than `size` leaves.
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        if size == 0 {
            return Some(EMPTY_ROOT);
        }
        self.range_hash(0, size)
    }

    /// The Merkle Tree Hash of leaves `start..end` (`start < end`), per RFC 6962 §2.1.
    pub(crate) fn range_hash(&self, start: u64, end: u64) -> Option<Hash> {
        let len = end.checked_sub(start).filter(|&l| l > 0)?;
        if len.is_power_of_two() && start.is_multiple_of(len) {
            return self.node(len.trailing_zeros(), start / len);
        }
        if len == 1 {
            return self.leaf(start);
        }
        let k = split_point(len);
        let left = self.range_hash(start, start + k)?;
        let right = self.range_hash(start + k, end)?;
        Some(node_hash(&left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, root};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn roots_match_the_definition() {
        let all = leaves(70);
        let tree = Tree::from_leaf_hashes(all.iter().copied());
        assert_eq!(tree.size(), 70);
        for size in 0..=70usize {
            assert_eq!(
                tree.root_at(size as u64),
                Some(root(&all[..size])),
                "size {size}"
            );
        }
        assert_eq!(tree.root(), root(&all));
        assert_eq!(tree.root_at(71), None);
    }

    #[test]
    fn unaligned_ranges_still_follow_the_definition() {
        let all = leaves(13);
        let tree = Tree::from_leaf_hashes(all.iter().copied());
        for start in 0..13usize {
            for end in start + 1..=13 {
                assert_eq!(
                    tree.range_hash(start as u64, end as u64),
                    Some(root(&all[start..end]))
                );
            }
        }
        assert_eq!(tree.range_hash(3, 3), None);
        assert_eq!(tree.range_hash(4, 3), None);
        assert_eq!(tree.range_hash(0, 14), None);
    }

    #[test]
    fn truncate_returns_to_an_earlier_tree() {
        for size in 0..40u64 {
            let mut tree = Tree::from_leaf_hashes(leaves(40));
            tree.truncate(size);
            assert_eq!(tree, Tree::from_leaf_hashes(leaves(size)), "size {size}");
        }
        let mut tree = Tree::from_leaf_hashes(leaves(5));
        tree.truncate(9);
        assert_eq!(tree.size(), 5);
    }

    #[test]
    fn nodes_are_complete_subtrees_only() {
        let tree = Tree::from_leaf_hashes(leaves(6));
        assert!(tree.node(1, 2).is_some());
        assert!(tree.node(2, 0).is_some());
        assert!(tree.node(2, 1).is_none());
        assert!(tree.node(3, 0).is_none());
        assert!(tree.node(99, 0).is_none());
    }
}
