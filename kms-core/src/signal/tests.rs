//! The test vectors printed in `docs/formats/signal.md`.

use sha2::{Digest, Sha256};

use super::identity::IdentityKeyPair;
use super::kem::{KemAlgorithm, KemKeyPair};
use super::{pqxdh, xeddsa};
use crate::secret::Secret32;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vector_key() -> IdentityKeyPair {
    IdentityKeyPair::from_secret(Secret32::from_bytes(core::array::from_fn(|i| i as u8)))
}

#[test]
fn public_key_vector() {
    let id = vector_key();
    assert_eq!(
        hex(id.secret().expose()),
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e5f"
    );
    assert_eq!(
        hex(&id.public_key().serialize()),
        "058f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f"
    );
}

#[test]
fn xeddsa_vector() {
    let id = vector_key();
    let msg = b"kms-enclave signal vector";
    let sig = xeddsa::sign_with_nonce(id.secret(), msg, &[0x42; 64]);
    assert_eq!(
        hex(&sig),
        "611875a892a70ac741f04523f89abf79bf8ccf9172bd46e2734a6b595347beaf\
         20ba1fdeb3ff017969a3028bdb8ba1ae9d019558c6b0cdf3341d5cd3fd184e07"
    );
    id.public_key().verify(msg, &sig).unwrap();
}

#[test]
fn kem_public_key_vector() {
    let kem = KemKeyPair::from_secret_bytes(KemAlgorithm::Kyber1024, &[0x07; 64]).unwrap();
    let ser = kem.public_key().serialize();
    assert_eq!(ser.len(), 1569);
    assert_eq!(hex(&ser[..9]), "0873e5813fc0216044");
    assert_eq!(
        hex(&Sha256::digest(&ser)),
        "fa3bb5d5a18dc16fab12e0bb1add2d698fbf37bc9ce1bdd8c53808fab8435fd9"
    );
}

#[test]
fn pqxdh_kdf_vectors() {
    let s = |b| Secret32::from_bytes([b; 32]);
    let sk4 = pqxdh::kdf(&[&s(0x11), &s(0x22), &s(0x33), &s(0x44)], &s(0x55)).unwrap();
    assert_eq!(
        hex(sk4.expose()),
        "a5ed6040d5bf640f90ffc0ac2435d778dbcd064569f30d862e93eeb2a79e9960"
    );
    let sk3 = pqxdh::kdf(&[&s(0x11), &s(0x22), &s(0x33)], &s(0x55)).unwrap();
    assert_eq!(
        hex(sk3.expose()),
        "ecf5b9887969865aa6b684a5c7670ebfbec690a8379ff9fede6019a47dc6d97a"
    );
}

/// `docs/formats/signal.md` "SignalMessage" vector, produced by libsignal 0.103.0's
/// `SignalMessage._new` (node) from the same inputs.
#[test]
fn signal_message_vector_from_libsignal() {
    use super::identity::KeyPair;
    use super::wire::SignalMessage;
    let key = |b: u8| KeyPair::from_secret(Secret32::from_bytes([b; 32])).public_key();
    let ratchet = vector_key().public_key();
    let m = SignalMessage::build(
        &[0x33; 32],
        &key(0x11),
        &key(0x22),
        ratchet,
        7,
        3,
        vec![0xAA; 16],
        vec![1, 1, 8, 0],
        None,
    );
    assert_eq!(
        hex(&key(0x11).serialize()),
        "057b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13"
    );
    assert_eq!(
        hex(m.as_bytes()),
        "440a21058f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f\
         100718032210aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2a04010108008b2b19476d72002b"
    );
    assert_eq!(SignalMessage::parse(m.as_bytes()).unwrap(), m);
}
