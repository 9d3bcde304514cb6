//! RFC 6962 §2.1 Merkle tree hashing (unchanged in RFC 9162 §2.1.1), with SHA-256.
//!
//! Leaves and interior nodes are domain-separated by a one-byte prefix, so a leaf can never be
//! mistaken for a node:
//!
//! - leaf hash `= SHA-256(0x00 ‖ entry)`
//! - node hash `= SHA-256(0x01 ‖ left ‖ right)`
//! - the hash of the empty tree `= SHA-256("")`
//!
//! The Merkle Tree Hash (MTH) of `n > 1` leaves splits them at `k`, the largest power of two
//! smaller than `n`: `MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]))`.

use sha2::{Digest, Sha256};

/// Length of every hash in the tree, in bytes.
pub const HASH_LEN: usize = 32;

/// A SHA-256 hash: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; HASH_LEN];

/// RFC 6962 §2.1: prefix of a leaf hash input.
pub const LEAF_PREFIX: u8 = 0x00;
/// RFC 6962 §2.1: prefix of an interior node hash input.
pub const NODE_PREFIX: u8 = 0x01;

/// The root of the empty tree, `SHA-256("")`.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The hash of a log entry: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly smaller than `n`, the split point of RFC 6962 §2.1.
/// Returns 0 for `n < 2`, where there is no split.
pub fn split_point(n: u64) -> u64 {
    if n < 2 {
        0
    } else {
        1 << (63 - (n - 1).leading_zeros())
    }
}

/// The Merkle Tree Hash of a list of leaf hashes, computed directly from the definition.
///
/// This takes `O(n)` hashing; [`crate::tree::Tree`] keeps interior nodes and answers in
/// `O(log n)`.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => EMPTY_ROOT,
        [leaf] => *leaf,
        _ => {
            // `split_point(len) < len`, so both halves are non-empty.
            let k = usize::try_from(split_point(leaves.len() as u64)).unwrap_or(0);
            let (left, right) = leaves.split_at(k);
            node_hash(&root(left), &root(right))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
        assert_eq!(root(&[]), EMPTY_ROOT);
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(0), 0);
        assert_eq!(split_point(1), 0);
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
        assert_eq!(split_point(u64::MAX), 1 << 63);
        assert_eq!(split_point((1 << 63) + 1), 1 << 63);
        assert_eq!(split_point(1 << 63), 1 << 62);
    }

    #[test]
    fn leaf_and_node_are_domain_separated() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut both = Vec::new();
        both.extend_from_slice(&a);
        both.extend_from_slice(&b);
        assert_ne!(node_hash(&a, &b), leaf_hash(&both));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }
}
