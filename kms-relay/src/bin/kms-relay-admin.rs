//! `kms-relay-admin`: the owner's admin CLI (placeholder, filled in below).
fn main() {}
