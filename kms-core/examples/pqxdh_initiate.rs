//! The initiator side of PQXDH, as a peer would run it: reads a prekey bundle (JSON, as
//! `signal.bundle` returns it) on stdin and prints the `signal.respond` parameters for the
//! bundle's owner, plus the shared secret the initiator derived, as JSON.
//!
//! The browser tests use it to play a remote peer against the enclave.

use std::io::Read;

use kms_core::b64;
use kms_core::signal::{bundle::PreKeyBundle, identity::IdentityKeyPair, pqxdh};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let bundle: PreKeyBundle = serde_json::from_str(&input)?;
    let mut rng = rand::rng();
    let init = pqxdh::initiate(&IdentityKeyPair::generate(&mut rng), &bundle, &mut rng)?;
    let out = serde_json::json!({
        "params": {
            "theirIdentity": b64::encode(init.identity_key.serialize()),
            "theirEphemeral": b64::encode(init.ephemeral_public.serialize()),
            "signedPrekeyId": init.signed_pre_key_id,
            "oneTimePrekeyId": init.one_time_pre_key_id,
            "kyberPrekeyId": init.kyber_pre_key_id,
            "kyberCiphertext": b64::encode(&init.kem_ciphertext),
        },
        "sharedSecret": b64::encode(init.shared_secret.expose()),
    });
    println!("{out}");
    Ok(())
}
