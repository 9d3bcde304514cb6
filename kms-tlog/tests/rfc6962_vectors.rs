//! Known-answer tests: the reference tree of the Certificate Transparency test suites
//! (eight leaves; roots of every prefix, inclusion and consistency proofs). Each vector is its
//! own test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use kms_tlog::hash::{EMPTY_ROOT, Hash, leaf_hash, root};
use kms_tlog::proof::{prove_consistency, prove_inclusion, verify_consistency, verify_inclusion};
use kms_tlog::tree::Tree;

const INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn h(s: &str) -> Hash {
    unhex(s).try_into().unwrap()
}

fn reference_tree() -> Tree {
    Tree::from_leaf_hashes(INPUTS.iter().map(|i| leaf_hash(&unhex(i))))
}

fn check_root(size: u64, want: &str) {
    let tree = reference_tree();
    assert_eq!(tree.root_at(size).unwrap(), h(want));
    let leaves: Vec<Hash> = INPUTS[..size as usize]
        .iter()
        .map(|i| leaf_hash(&unhex(i)))
        .collect();
    assert_eq!(root(&leaves), h(want));
}

#[test]
fn root_0_empty() {
    assert_eq!(
        EMPTY_ROOT,
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    check_root(
        0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
}

#[test]
fn root_1() {
    check_root(
        1,
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    );
}

#[test]
fn root_2() {
    check_root(
        2,
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    );
}

#[test]
fn root_3() {
    check_root(
        3,
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    );
}

#[test]
fn root_4() {
    check_root(
        4,
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    );
}

#[test]
fn root_5() {
    check_root(
        5,
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    );
}

#[test]
fn root_6() {
    check_root(
        6,
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    );
}

#[test]
fn root_7() {
    check_root(
        7,
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    );
}

#[test]
fn root_8() {
    check_root(
        8,
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    );
}

fn check_inclusion(index: u64, size: u64, want: &[&str]) {
    let tree = reference_tree();
    let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
    assert_eq!(prove_inclusion(&tree, index, size).unwrap(), want);
    let leaf = tree.leaf(index).unwrap();
    let root = tree.root_at(size).unwrap();
    verify_inclusion(&leaf, index, size, &want, &root).unwrap();
}

#[test]
fn inclusion_0_in_1() {
    check_inclusion(0, 1, &[]);
}

#[test]
fn inclusion_0_in_8() {
    check_inclusion(
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    );
}

#[test]
fn inclusion_5_in_8() {
    check_inclusion(
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    );
}

#[test]
fn inclusion_2_in_3() {
    check_inclusion(
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    );
}

#[test]
fn inclusion_1_in_5() {
    check_inclusion(
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    );
}

fn check_consistency(old: u64, new: u64, want: &[&str]) {
    let tree = reference_tree();
    let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
    assert_eq!(prove_consistency(&tree, old, new).unwrap(), want);
    let old_root = tree.root_at(old).unwrap();
    let new_root = tree.root_at(new).unwrap();
    verify_consistency(old, new, &old_root, &new_root, &want).unwrap();
}

#[test]
fn consistency_1_to_1() {
    check_consistency(1, 1, &[]);
}

#[test]
fn consistency_1_to_8() {
    check_consistency(
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    );
}

#[test]
fn consistency_6_to_8() {
    check_consistency(
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    );
}

#[test]
fn consistency_2_to_5() {
    check_consistency(
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    );
}
