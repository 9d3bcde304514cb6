//! Exhaustive and randomized checks of inclusion and consistency proofs: every honest proof
//! verifies, and any change to a hash, index, size or the proof's length makes it fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kms_tlog::hash::{Hash, leaf_hash};
use kms_tlog::proof::{prove_consistency, prove_inclusion, verify_consistency, verify_inclusion};
use kms_tlog::tree::Tree;
use proptest::prelude::*;

const MAX: u64 = 300;

fn tree(n: u64) -> Tree {
    Tree::from_leaf_hashes((0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())))
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[(bit / 8) % 32] ^= 1 << (bit % 8);
    h
}

#[test]
fn every_leaf_of_every_size_up_to_300_proves_inclusion() {
    let t = tree(MAX);
    for size in 1..=MAX {
        let root = t.root_at(size).unwrap();
        for index in 0..size {
            let leaf = t.leaf(index).unwrap();
            let proof = prove_inclusion(&t, index, size).unwrap();
            verify_inclusion(&leaf, index, size, &proof, &root)
                .unwrap_or_else(|e| panic!("{index} in {size}: {e}"));
        }
    }
}

#[test]
fn inclusion_fails_for_wrong_leaf_index_size_or_root() {
    let t = tree(MAX);
    // A dense sample: every index of sizes around powers of two, plus a stride of the rest.
    for size in (1..=MAX).filter(|s| {
        s % 7 == 0 || (s - 1).is_power_of_two() || s.is_power_of_two() || (s + 1).is_power_of_two()
    }) {
        let root = t.root_at(size).unwrap();
        for index in 0..size {
            let leaf = t.leaf(index).unwrap();
            let proof = prove_inclusion(&t, index, size).unwrap();
            assert!(
                verify_inclusion(&flip(&leaf, index as usize), index, size, &proof, &root).is_err()
            );
            assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, 3)).is_err());
            assert!(verify_inclusion(&leaf, size, size, &proof, &root).is_err());
            assert!(verify_inclusion(&leaf, index + size, size, &proof, &root).is_err());
            if size > 1 {
                let other = (index + 1) % size;
                assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
            }
            // A size is only meaningful with its own root (a checkpoint carries both).
            let bigger = t.root_at(size + 1).unwrap_or_else(|| tree(size + 1).root());
            assert!(verify_inclusion(&leaf, index, size + 1, &proof, &bigger).is_err());
            if index + 1 < size {
                let smaller = t.root_at(size - 1).unwrap();
                assert!(verify_inclusion(&leaf, index, size - 1, &proof, &smaller).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
            if !proof.is_empty() {
                assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
                assert!(
                    verify_inclusion(&leaf, index, size, &proof[..proof.len() - 1], &root).is_err()
                );
                for i in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[i] = flip(&bad[i], i);
                    assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
                }
            }
        }
    }
}

#[test]
fn every_pair_of_sizes_up_to_300_proves_consistency() {
    let t = tree(MAX);
    let roots: Vec<Hash> = (0..=MAX).map(|s| t.root_at(s).unwrap()).collect();
    for new in 0..=MAX {
        for old in 0..=new {
            let proof = prove_consistency(&t, old, new).unwrap();
            verify_consistency(old, new, &roots[old as usize], &roots[new as usize], &proof)
                .unwrap_or_else(|e| panic!("{old} to {new}: {e}"));
        }
    }
}

#[test]
fn consistency_fails_for_wrong_roots_sizes_or_proofs() {
    let t = tree(MAX);
    let roots: Vec<Hash> = (0..=MAX).map(|s| t.root_at(s).unwrap()).collect();
    for new in (1..=MAX).step_by(3) {
        for old in 1..new {
            let (r1, r2) = (roots[old as usize], roots[new as usize]);
            let proof = prove_consistency(&t, old, new).unwrap();
            assert!(verify_consistency(old, new, &flip(&r1, 1), &r2, &proof).is_err());
            assert!(verify_consistency(old, new, &r1, &flip(&r2, 2), &proof).is_err());
            assert!(verify_consistency(new, old, &r2, &r1, &proof).is_err());
            assert!(
                verify_consistency(old - 1, new, &roots[old as usize - 1], &r2, &proof).is_err()
            );
            assert!(
                verify_consistency(
                    old,
                    new + 1,
                    &r1,
                    &roots.get(new as usize + 1).copied().unwrap_or(r2),
                    &proof
                )
                .is_err()
            );
            let mut longer = proof.clone();
            longer.push(r2);
            assert!(verify_consistency(old, new, &r1, &r2, &longer).is_err());
            assert!(verify_consistency(old, new, &r1, &r2, &proof[1..]).is_err());
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i] = flip(&bad[i], i + 5);
                assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_inclusion_proofs_fail(
        size in 1u64..=MAX,
        index_seed in any::<u64>(),
        position in any::<usize>(),
        bit in 0usize..256,
        kind in 0u8..5,
    ) {
        let t = tree(size + 1000);
        let index = index_seed % size;
        let leaf = t.leaf(index).unwrap();
        let root = t.root_at(size).unwrap();
        let mut proof = prove_inclusion(&t, index, size).unwrap();
        let (mut index2, mut size2) = (index, size);
        match kind {
            0 if !proof.is_empty() => {
                let i = position % proof.len();
                proof[i] = flip(&proof[i], bit);
            }
            1 if !proof.is_empty() => { proof.remove(position % proof.len()); }
            2 => { let i = position % (proof.len() + 1); proof.insert(i, flip(&root, bit)); }
            3 if size > 1 => { index2 = (index + 1 + position as u64 % (size - 1)) % size; }
            _ => { size2 = size + 1 + (position as u64 % 1000); }
        }
        // A size is only meaningful with its own root (a checkpoint carries both).
        let root2 = t.root_at(size2).unwrap();
        prop_assert!(verify_inclusion(&leaf, index2, size2, &proof, &root2).is_err());
    }

    #[test]
    fn mutated_consistency_proofs_fail(
        new in 2u64..=MAX,
        old_seed in any::<u64>(),
        position in any::<usize>(),
        bit in 0usize..256,
        kind in 0u8..4,
    ) {
        let t = tree(new + 4);
        let old = 1 + old_seed % (new - 1);
        let (r1, r2) = (t.root_at(old).unwrap(), t.root_at(new).unwrap());
        let mut proof = prove_consistency(&t, old, new).unwrap();
        let (mut old2, mut new2) = (old, new);
        match kind {
            0 => { let i = position % proof.len(); proof[i] = flip(&proof[i], bit); }
            1 => { proof.remove(position % proof.len()); }
            2 => { let i = position % (proof.len() + 1); proof.insert(i, flip(&r2, bit)); }
            _ => {
                // A different pair of sizes.
                let delta = 1 + position as u64 % 4;
                if position % 2 == 0 {
                    new2 = new + delta;
                } else {
                    old2 = old.saturating_sub(delta).max(1);
                    if old2 == old {
                        old2 = old + 1;
                    }
                }
            }
        }
        // Changed sizes come with their own roots (a checkpoint carries both).
        let (r1, r2) = if (old2, new2) == (old, new) { (r1, r2) } else {
            (t.root_at(old2).unwrap(), t.root_at(new2).unwrap())
        };
        prop_assert!(verify_consistency(old2, new2, &r1, &r2, &proof).is_err());
    }
}
