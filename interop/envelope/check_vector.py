"""Recomputes the x25519-aesgcm-v1 envelope test vector with pyca/cryptography, from the
description in docs/formats/envelope.md, and compares it with the vector kms-core pins.

The vector's random bytes come from a counter RNG (0, 1, 2, ...): the identity key takes
bytes 0..32, the prekey 32..64, the XEdDSA nonce 64..128, the ephemeral key 128..160.
Usage: python3 check_vector.py kms-core/tests/envelope_vector.json
"""

import base64
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def canonical(label, fields):
    out = struct.pack(">I", len(label)) + label
    for f in fields:
        out += struct.pack(">I", len(f)) + f
    return out


def public(key):
    raw = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return b"\x05" + raw


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main(path):
    with open(path, encoding="utf-8") as f:
        vector = json.load(f)
    fmt, kid, plaintext = b"x25519-aesgcm-v1", b"kid-1", b"kms"
    prekey = X25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
    eph = X25519PrivateKey.from_private_bytes(bytes(range(128, 160)))
    dh = eph.exchange(prekey.public_key())
    salt = canonical(fmt, [kid, public(eph), public(prekey), b"", b""])
    key = HKDF(hashes.SHA256(), 32, salt, b"kms:envelope:" + fmt).derive(dh)
    aad = canonical(b"kms:envelope:aad:v1", [fmt, kid])
    ct = AESGCM(key).encrypt(b"\0" * 12, plaintext, aad)
    expected = {"format": fmt.decode(), "kid": kid.decode(), "epk": b64(public(eph)), "ct": b64(ct)}
    if vector != expected:
        print(f"envelope vector mismatch:\n  pinned   {vector}\n  computed {expected}")
        return 1
    print("envelope vector: reproduced with pyca/cryptography")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
