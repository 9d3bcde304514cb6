//! Merkle inclusion and consistency proofs: generation per RFC 6962 §2.1.1 / §2.1.2
//! (`PATH` and `PROOF`), verification per RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! An inclusion proof lists hashes from the leaf's sibling up to a child of the root. A
//! consistency proof from size `m` to size `n` lists the hashes that let a verifier who knows
//! only the two roots recompute both, which shows the older tree is a prefix of the newer.

use crate::hash::{Hash, node_hash};
use crate::tree::Tree;

/// A proof could not be produced or did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree (`index ≥ size`).
    #[error("leaf index out of range: expected an index below {size}, got {index}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A proof was asked for a tree size larger than the tree.
    #[error("tree size out of range: expected at most {available}, got {size}")]
    SizeOutOfRange {
        /// The size asked for.
        size: u64,
        /// The number of leaves available.
        available: u64,
    },
    /// A consistency proof from a larger to a smaller tree.
    #[error("tree sizes out of order: expected old size ≤ new size, got {old} > {new}")]
    SizeOrder {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for its index and sizes.
    #[error("wrong proof length: expected {expected} hashes, got {got}")]
    WrongLength {
        /// The length the index and sizes call for.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// The proof does not lead to the given root(s).
    #[error("proof does not verify against the root hash")]
    RootMismatch,
}

/// Generates the inclusion proof of leaf `index` in the tree of the first `size` leaves
/// (RFC 6962 §2.1.1, `PATH(index, D[0:size])`).
///
/// # Errors
/// [`ProofError::SizeOutOfRange`] if the tree has fewer than `size` leaves,
/// [`ProofError::IndexOutOfRange`] if `index ≥ size`.
pub fn prove_inclusion(tree: &Tree, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
    check_size(tree, size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    path(tree, index, 0, size, &mut proof)?;
    Ok(proof)
}

/// Generates the consistency proof between the trees of the first `old` and the first `new`
/// leaves (RFC 6962 §2.1.2, `PROOF(old, D[0:new])`). It is empty when `old` is 0 or equal to
/// `new`.
///
/// # Errors
/// [`ProofError::SizeOutOfRange`] if the tree has fewer than `new` leaves,
/// [`ProofError::SizeOrder`] if `old > new`.
pub fn prove_consistency(tree: &Tree, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
    check_size(tree, new)?;
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    let mut proof = Vec::new();
    if old > 0 {
        subproof(tree, old, 0, new, true, &mut proof)?;
    }
    Ok(proof)
}

fn check_size(tree: &Tree, size: u64) -> Result<(), ProofError> {
    if size > tree.size() {
        Err(ProofError::SizeOutOfRange {
            size,
            available: tree.size(),
        })
    } else {
        Ok(())
    }
}

fn range(tree: &Tree, start: u64, end: u64) -> Result<Hash, ProofError> {
    // Callers stay inside `check_size`, so the range always exists.
    tree.range_hash(start, end)
        .ok_or(ProofError::SizeOutOfRange {
            size: end,
            available: tree.size(),
        })
}

/// `PATH(m, D[start:end])`, appended to `out` leaf-side first.
fn path(tree: &Tree, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Result<(), ProofError> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = crate::hash::split_point(n);
    if m < k {
        path(tree, m, start, start + k, out)?;
        out.push(range(tree, start + k, end)?);
    } else {
        path(tree, m - k, start + k, end, out)?;
        out.push(range(tree, start, start + k)?);
    }
    Ok(())
}

/// `SUBPROOF(m, D[start:end], b)`, appended to `out`.
fn subproof(
    tree: &Tree,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(range(tree, start, end)?);
        }
        return Ok(());
    }
    let k = crate::hash::split_point(n);
    if m <= k {
        subproof(tree, m, start, start + k, complete, out)?;
        out.push(range(tree, start + k, end)?);
    } else {
        subproof(tree, m - k, start + k, end, false, out)?;
        out.push(range(tree, start, start + k)?);
    }
    Ok(())
}

/// The walk of the node indices `fn` and `sn` up the tree that both verification algorithms
/// make, one step per proof hash (RFC 9162 §2.1.3.2 and §2.1.4.2).
#[derive(Debug, Clone, Copy)]
struct Walk {
    f: u64,
    s: u64,
}

impl Walk {
    /// The walk of an inclusion proof of `index` in a tree of `size` leaves (`index < size`):
    /// `fn` starts at the leaf index, `sn` at the last index.
    fn inclusion(index: u64, size: u64) -> Self {
        Self {
            f: index,
            s: size - 1,
        }
    }

    /// The walk of a consistency proof from `old` to `new` leaves (`0 < old ≤ new`): `fn`
    /// starts at `old - 1` and `sn` at `new - 1`, both right-shifted until the low bit of `fn`
    /// is clear.
    fn consistency(old: u64, new: u64) -> Self {
        let mut walk = Self {
            f: old - 1,
            s: new - 1,
        };
        while walk.f & 1 == 1 {
            walk.shift();
        }
        walk
    }

    fn shift(&mut self) {
        self.f >>= 1;
        self.s >>= 1;
    }

    /// True once `sn` is 0: the walk has reached the root.
    fn done(&self) -> bool {
        self.s == 0
    }
}

impl Iterator for Walk {
    /// Whether the next proof hash is a left sibling (the low bit of `fn` is set, or `fn`
    /// equals `sn`) rather than a right one.
    type Item = bool;

    fn next(&mut self) -> Option<bool> {
        if self.done() {
            return None;
        }
        let left = self.f & 1 == 1 || self.f == self.s;
        if left {
            // Climb while this node is a left child (and not the root of the walk).
            while self.f & 1 == 0 && self.f != 0 {
                self.shift();
            }
        }
        self.shift();
        Some(left)
    }
}

/// The number of hashes in the inclusion proof of `index` in a tree of `size` leaves
/// (`index < size`): the iterations of RFC 9162 §2.1.3.2 step 5 until `sn` reaches 0.
fn inclusion_len(index: u64, size: u64) -> usize {
    Walk::inclusion(index, size).count()
}

/// Verifies that `leaf` is leaf `index` of the tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] if `index ≥ size` (every index, for the empty tree),
/// [`ProofError::WrongLength`] if the proof is too long or too short,
/// [`ProofError::RootMismatch`] if it does not lead to `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // Step 1: "Compare leaf_index from the inclusion_proof against tree_size. If leaf_index is
    // greater than or equal to tree_size, then fail the proof verification."
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    // Steps 2–5.
    let mut walk = Walk::inclusion(index, size);
    let mut r = *leaf;
    for p in proof {
        match walk.next() {
            None => return Err(ProofError::RootMismatch),
            Some(true) => r = node_hash(p, &r),
            Some(false) => r = node_hash(&r, p),
        }
    }
    // Step 6: "Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and
    // the root_hash are equal, then the log has proven the inclusion of hash."
    if walk.done() && r == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The number of hashes in the consistency proof from `old` to `new` (`0 < old < new`).
fn consistency_len(old: u64, new: u64) -> usize {
    let count = Walk::consistency(old, new).count();
    // One more hash to start from, unless the old root itself is the start (old a power of 2).
    if old.is_power_of_two() {
        count
    } else {
        count + 1
    }
}

/// Verifies that the tree of `old` leaves with root `old_root` is a prefix of the tree of
/// `new` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. The empty tree (`old = 0`, whose root is
/// [`crate::hash::EMPTY_ROOT`]) is a prefix of every tree and needs an empty proof.
///
/// # Errors
/// [`ProofError::SizeOrder`] if `old > new`, [`ProofError::WrongLength`] if the proof is too
/// long or too short, [`ProofError::RootMismatch`] if it does not lead to both roots.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::SizeOrder { old, new });
    }
    let expected = if old == 0 || old == new {
        0
    } else {
        consistency_len(old, new)
    };
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    if old == 0 {
        return if *old_root == crate::hash::EMPTY_ROOT {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old == new {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // Step 2: "If first is an exact power of 2, then prepend first_hash to the
    // consistency_path array."
    let (first, rest) = if old.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            // Step 1: "If consistency_path is an empty array, stop and fail".
            None => return Err(ProofError::RootMismatch),
        }
    };
    // Steps 3–4.
    let mut walk = Walk::consistency(old, new);
    // Steps 5–6.
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        match walk.next() {
            None => return Err(ProofError::RootMismatch),
            Some(true) => {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
            }
            Some(false) => sr = node_hash(&sr, c),
        }
    }
    // Step 7.
    if fr == *old_root && sr == *new_root && walk.done() {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{EMPTY_ROOT, leaf_hash};

    fn tree(n: u64) -> Tree {
        Tree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_le_bytes())))
    }

    #[test]
    fn lengths_match_generation() {
        let t = tree(70);
        for size in 1..=70 {
            for index in 0..size {
                let p = prove_inclusion(&t, index, size).unwrap();
                assert_eq!(p.len(), inclusion_len(index, size), "{index} in {size}");
            }
            for old in 1..size {
                let p = prove_consistency(&t, old, size).unwrap();
                assert_eq!(p.len(), consistency_len(old, size), "{old} to {size}");
            }
        }
    }

    #[test]
    fn generation_refuses_bad_arguments() {
        let t = tree(5);
        assert_eq!(
            prove_inclusion(&t, 5, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            prove_inclusion(&t, 0, 6),
            Err(ProofError::SizeOutOfRange {
                size: 6,
                available: 5
            })
        );
        assert_eq!(
            prove_inclusion(&t, 0, 0),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            prove_consistency(&t, 4, 3),
            Err(ProofError::SizeOrder { old: 4, new: 3 })
        );
        assert_eq!(prove_consistency(&t, 0, 5), Ok(vec![]));
        assert_eq!(prove_consistency(&t, 5, 5), Ok(vec![]));
    }

    #[test]
    fn empty_tree_cases() {
        let t = tree(3);
        let root = t.root();
        // Nothing is included in the empty tree.
        assert_eq!(
            verify_inclusion(&leaf_hash(b""), 0, 0, &[], &EMPTY_ROOT),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        // The empty tree is a prefix of every tree, with an empty proof only.
        assert_eq!(verify_consistency(0, 3, &EMPTY_ROOT, &root, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]),
            Ok(())
        );
        assert_eq!(
            verify_consistency(0, 3, &root, &root, &[]),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(0, 3, &EMPTY_ROOT, &root, &[root]),
            Err(ProofError::WrongLength {
                expected: 0,
                got: 1
            })
        );
    }

    #[test]
    fn equal_sizes_need_equal_roots() {
        let t = tree(3);
        let root = t.root();
        assert_eq!(verify_consistency(3, 3, &root, &root, &[]), Ok(()));
        assert_eq!(
            verify_consistency(3, 3, &root, &EMPTY_ROOT, &[]),
            Err(ProofError::RootMismatch)
        );
        assert!(verify_consistency(3, 3, &root, &root, &[root]).is_err());
    }
}
