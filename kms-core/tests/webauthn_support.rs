//! A software WebAuthn authenticator (ES256 and Ed25519) and a browser stand-in.
//!
//! It produces byte-exact `attestationObject` (fmt "none", CTAP2 canonical CBOR),
//! `authenticatorData`, `clientDataJSON` (member order and escaping as browsers serialize
//! it) and signatures, so the verifier sees what a real browser would hand over.
//!
//! Included by the other `webauthn_*` test files with `#[path]`; it is also built alone as a
//! test target with no tests of its own.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use ed25519_dalek::pkcs8::EncodePublicKey as _;
use p256::ecdsa::signature::Signer as _;
use p256::elliptic_curve::Generate;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};

pub const RP_ID: &str = "enclave.example";
pub const ORIGIN: &str = "https://enclave.example";
pub const TOP_ORIGIN: &str = "https://app.example";

// ---------------------------------------------------------------------------------------
// Minimal CBOR encoder (definite lengths, shortest heads).

pub fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    if n < 24 {
        vec![m | n as u8]
    } else if n <= 0xff {
        vec![m | 24, n as u8]
    } else if n <= 0xffff {
        let mut v = vec![m | 25];
        v.extend_from_slice(&(n as u16).to_be_bytes());
        v
    } else if n <= 0xffff_ffff {
        let mut v = vec![m | 26];
        v.extend_from_slice(&(n as u32).to_be_bytes());
        v
    } else {
        let mut v = vec![m | 27];
        v.extend_from_slice(&n.to_be_bytes());
        v
    }
}

pub fn int(n: i64) -> Vec<u8> {
    if n >= 0 {
        head(0, n as u64)
    } else {
        head(1, (-1 - n) as u64)
    }
}

pub fn bstr(b: &[u8]) -> Vec<u8> {
    let mut v = head(2, b.len() as u64);
    v.extend_from_slice(b);
    v
}

pub fn tstr(s: &str) -> Vec<u8> {
    let mut v = head(3, s.len() as u64);
    v.extend_from_slice(s.as_bytes());
    v
}

/// A map from already-encoded (key, value) pairs, in the order given.
pub fn map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut v = head(5, entries.len() as u64);
    for (k, val) in entries {
        v.extend_from_slice(k);
        v.extend_from_slice(val);
    }
    v
}

pub fn attestation_object(fmt: &str, att_stmt: &[u8], auth_data: &[u8]) -> Vec<u8> {
    // CTAP2 canonical order: shorter keys first ("fmt", "attStmt", "authData").
    map(&[
        (tstr("fmt"), tstr(fmt)),
        (tstr("attStmt"), att_stmt.to_vec()),
        (tstr("authData"), bstr(auth_data)),
    ])
}

// ---------------------------------------------------------------------------------------
// Browser stand-in: clientDataJSON.

#[derive(Debug, Clone)]
pub struct ClientData {
    pub typ: String,
    pub challenge: Vec<u8>,
    pub origin: String,
    pub cross_origin: Option<bool>,
    pub top_origin: Option<String>,
}

impl ClientData {
    pub fn new(typ: &str, challenge: &[u8]) -> Self {
        Self {
            typ: typ.to_owned(),
            challenge: challenge.to_vec(),
            origin: ORIGIN.to_owned(),
            cross_origin: Some(false),
            top_origin: None,
        }
    }

    /// Serialized as browsers do: type, challenge, origin, crossOrigin, then topOrigin.
    pub fn to_json(&self) -> Vec<u8> {
        let q = |s: &str| serde_json::to_string(s).unwrap();
        let mut out = format!(
            "{{\"type\":{},\"challenge\":{},\"origin\":{}",
            q(&self.typ),
            q(&kms_core::hazmat::b64::encode(&self.challenge)),
            q(&self.origin)
        );
        if let Some(c) = self.cross_origin {
            out.push_str(&format!(",\"crossOrigin\":{c}"));
        }
        if let Some(t) = &self.top_origin {
            out.push_str(&format!(",\"topOrigin\":{}", q(t)));
        }
        out.push('}');
        out.into_bytes()
    }
}

// ---------------------------------------------------------------------------------------
// Software authenticator.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Es256,
    Ed25519,
}

pub enum SoftKey {
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

pub struct SoftAuthenticator {
    pub key: SoftKey,
    pub credential_id: Vec<u8>,
    pub aaguid: [u8; 16],
    pub sign_count: u32,
    /// Added to every new signature count (0 = authenticator without a counter).
    pub counter_step: u32,
}

pub const UP: u8 = 0x01;
pub const UV: u8 = 0x04;
pub const BE: u8 = 0x08;
pub const BS: u8 = 0x10;
pub const AT: u8 = 0x40;
pub const ED: u8 = 0x80;

impl SoftAuthenticator {
    pub fn new(alg: Alg, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let key = match alg {
            Alg::Es256 => SoftKey::P256(<p256::ecdsa::SigningKey as Generate>::generate_from_rng(
                &mut rng,
            )),
            Alg::Ed25519 => SoftKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut rng)),
        };
        let credential_id = (0..32u8)
            .map(|i| i.wrapping_mul(7).wrapping_add(seed as u8))
            .collect();
        Self {
            key,
            credential_id,
            aaguid: [0; 16],
            sign_count: 0,
            counter_step: 1,
        }
    }

    /// The COSE_Key in CTAP2 canonical order (1, 3, -1, -2, -3).
    pub fn cose_key(&self) -> Vec<u8> {
        match &self.key {
            SoftKey::P256(sk) => {
                let point = sk.verifying_key().to_sec1_point(false);
                let bytes = point.as_bytes();
                map(&[
                    (int(1), int(2)),
                    (int(3), int(-7)),
                    (int(-1), int(1)),
                    (int(-2), bstr(&bytes[1..33])),
                    (int(-3), bstr(&bytes[33..65])),
                ])
            }
            SoftKey::Ed25519(sk) => map(&[
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (int(-2), bstr(sk.verifying_key().as_bytes())),
            ]),
        }
    }

    /// SubjectPublicKeyInfo DER, as `getPublicKey()` returns it.
    pub fn spki_der(&self) -> Vec<u8> {
        match &self.key {
            SoftKey::P256(sk) => {
                p256::pkcs8::EncodePublicKey::to_public_key_der(sk.verifying_key())
                    .unwrap()
                    .as_bytes()
                    .to_vec()
            }
            SoftKey::Ed25519(sk) => sk
                .verifying_key()
                .to_public_key_der()
                .unwrap()
                .as_bytes()
                .to_vec(),
        }
    }

    pub fn attested_credential_data(&self, cose_key: &[u8]) -> Vec<u8> {
        let mut out = self.aaguid.to_vec();
        out.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.credential_id);
        out.extend_from_slice(cose_key);
        out
    }

    pub fn next_count(&mut self) -> u32 {
        self.sign_count = self.sign_count.wrapping_add(self.counter_step);
        self.sign_count
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.key {
            SoftKey::P256(sk) => {
                let sig: p256::ecdsa::Signature = sk.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            SoftKey::Ed25519(sk) => {
                let sig: ed25519_dalek::Signature = ed25519_dalek::Signer::sign(sk, message);
                sig.to_bytes().to_vec()
            }
        }
    }

    /// Registration output with everything chosen by the caller.
    pub fn register_raw(&mut self, rp_id: &str, flags: u8, client: &ClientData) -> Registration {
        let cose = self.cose_key();
        let count = self.sign_count;
        let auth_data = auth_data(
            rp_id,
            flags | AT,
            count,
            Some(&self.attested_credential_data(&cose)),
            None,
        );
        Registration {
            attestation_object: attestation_object("none", &map(&[]), &auth_data),
            auth_data,
            client_data_json: client.to_json(),
        }
    }

    /// A normal registration: UP, UV, BE set, fmt "none".
    pub fn register(&mut self, challenge: &[u8]) -> Registration {
        self.register_raw(
            RP_ID,
            UP | UV | BE,
            &ClientData::new("webauthn.create", challenge),
        )
    }

    /// Assertion output with everything chosen by the caller; the counter advances.
    pub fn assert_raw(&mut self, rp_id: &str, flags: u8, client: &ClientData) -> Assertion {
        let count = self.next_count();
        let authenticator_data = auth_data(rp_id, flags, count, None, None);
        self.sign_assertion(authenticator_data, client.to_json())
    }

    /// Signs given authenticator data and client data as an assertion.
    pub fn sign_assertion(
        &self,
        authenticator_data: Vec<u8>,
        client_data_json: Vec<u8>,
    ) -> Assertion {
        let mut message = authenticator_data.clone();
        message.extend_from_slice(&Sha256::digest(&client_data_json));
        let signature = self.sign(&message);
        Assertion {
            authenticator_data,
            client_data_json,
            signature,
        }
    }

    /// A normal assertion: UP, UV, BE set.
    pub fn assert(&mut self, challenge: &[u8]) -> Assertion {
        self.assert_raw(
            RP_ID,
            UP | UV | BE,
            &ClientData::new("webauthn.get", challenge),
        )
    }
}

pub fn auth_data(
    rp_id: &str,
    flags: u8,
    sign_count: u32,
    attested: Option<&[u8]>,
    extensions: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Sha256::digest(rp_id.as_bytes()).to_vec();
    out.push(flags);
    out.extend_from_slice(&sign_count.to_be_bytes());
    if let Some(a) = attested {
        out.extend_from_slice(a);
    }
    if let Some(e) = extensions {
        out.extend_from_slice(e);
    }
    out
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub attestation_object: Vec<u8>,
    pub auth_data: Vec<u8>,
    pub client_data_json: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Assertion {
    pub authenticator_data: Vec<u8>,
    pub client_data_json: Vec<u8>,
    pub signature: Vec<u8>,
}

pub fn challenge(tag: u8) -> Vec<u8> {
    (0..32u8).map(|i| i ^ tag).collect()
}

pub fn reg_expect(challenge: &[u8]) -> kms_core::hazmat::webauthn::RegistrationExpectations {
    kms_core::hazmat::webauthn::RegistrationExpectations {
        rp_id: RP_ID.to_owned(),
        origin: ORIGIN.to_owned(),
        allow_cross_origin: true,
        allowed_top_origins: vec![TOP_ORIGIN.to_owned()],
        challenge: challenge.to_vec(),
        require_user_verification: true,
    }
}

pub fn assert_expect(challenge: &[u8]) -> kms_core::hazmat::webauthn::AssertionExpectations {
    kms_core::hazmat::webauthn::AssertionExpectations {
        rp_id: RP_ID.to_owned(),
        origin: ORIGIN.to_owned(),
        allow_cross_origin: true,
        allowed_top_origins: vec![TOP_ORIGIN.to_owned()],
        challenge: challenge.to_vec(),
        require_user_verification: true,
    }
}

/// A registered authenticator and its stored credential.
pub fn registered(
    alg: Alg,
    seed: u64,
) -> (SoftAuthenticator, kms_core::hazmat::webauthn::Credential) {
    let mut auth = SoftAuthenticator::new(alg, seed);
    let ch = challenge(1);
    let reg = auth.register(&ch);
    let cred = kms_core::hazmat::webauthn::verify_registration(
        &reg.attestation_object,
        &reg.client_data_json,
        &reg_expect(&ch),
    )
    .unwrap();
    (auth, cred)
}
