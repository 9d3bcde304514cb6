// Checks kms-core's Signal keys, XEdDSA signatures, prekey bundles and PQXDH responder
// against libsignal (@signalapp/libsignal-client from npm).
//
// The kms-core side comes from `cargo run -p kms-tools --bin signal-fixture`; set
// SIGNAL_FIXTURE_BIN to a prebuilt fixture binary to skip cargo.


import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';

import * as S from '@signalapp/libsignal-client';

import {
  ALICE,
  BOB,
  MemoryIdentityStore,
  MemoryKyberPreKeyStore,
  MemoryPreKeyStore,
  MemorySessionStore,
  MemorySignedPreKeyStore,
  alice,
  b64,
  kyberPreKeyRecord,
  libsignalBundle,
  parseProto,
  runFixture,
  toB64,
} from './support.mjs';

const fixture = runFixture();

// ---- tests ----

test('libsignal verifies kms-core XEdDSA signatures and rejects tampered ones', () => {
  const key = S.PublicKey.deserialize(b64(fixture.identityKey));
  assert.equal(toB64(key.serialize()), fixture.identityKey);
  assert.ok(fixture.signatures.length >= 5);
  for (const { message, signature } of fixture.signatures) {
    const msg = b64(message);
    const sig = b64(signature);
    assert.equal(key.verify(msg, sig), true, `signature over ${message}`);
    for (const bit of [0, 8 * 20 + 3, 8 * 40 + 5, 511]) {
      const bad = sig.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(key.verify(msg, bad), false, `flipped bit ${bit}`);
    }
    const otherMsg = new Uint8Array([...msg, 0]);
    assert.equal(key.verify(otherMsg, sig), false);
  }
});

test('kms-core verifies libsignal XEdDSA signatures (both Edwards sign bits)', () => {
  const items = [];
  const tampered = [];
  let signBitOne = 0;
  for (let i = 0; i < 24; i++) {
    const key = S.PrivateKey.generate();
    const msg = new TextEncoder().encode(`libsignal message ${i}`);
    const sig = key.sign(msg);
    if (sig[63] & 0x80) signBitOne++;
    const publicKey = toB64(key.getPublicKey().serialize());
    items.push({ publicKey, message: toB64(msg), signature: toB64(sig) });
    const bad = sig.slice();
    bad[i % 64] ^= 0x10;
    tampered.push({ publicKey, message: toB64(msg), signature: toB64(bad) });
  }
  assert.ok(signBitOne > 0, 'some libsignal signatures carry sign bit 1');
  const verdicts = runFixture(['verify'], [...items, ...tampered]);
  assert.deepEqual(verdicts.slice(0, items.length), items.map(() => true));
  assert.deepEqual(verdicts.slice(items.length), tampered.map(() => false));
});

for (const variant of ['withOneTime', 'withoutOneTime']) {
  test(`libsignal starts a session from the kms-core bundle (${variant})`, async () => {
    const json = fixture.bundles[variant];
    assert.equal(json.preKeyId !== undefined, variant === 'withOneTime');
    const a = alice();
    await S.processPreKeyBundle(libsignalBundle(json), BOB, ALICE, a.sessions, a.identities);
    const session = await a.sessions.getSession(BOB);
    assert.ok(session.hasCurrentState());
    assert.equal(session.remoteRegistrationId(), json.registrationId);

    // A libsignal responder holding the kms-core private keys decrypts the first message.
    const priv = fixture.testPrivateKeys;
    const bobIdentity = S.PrivateKey.deserialize(b64(priv.identity));
    assert.equal(toB64(bobIdentity.getPublicKey().serialize()), json.identityKey);
    const plaintext = new TextEncoder().encode(`hello over ${variant}`);
    const ct = await S.signalEncrypt(plaintext, BOB, ALICE, a.sessions, a.identities);
    assert.equal(ct.type(), S.CiphertextMessageType.PreKey);

    const preKeys = new MemoryPreKeyStore();
    if (json.preKeyId !== undefined) {
      const otk = S.PrivateKey.deserialize(b64(priv.oneTimePreKey));
      assert.equal(toB64(otk.getPublicKey().serialize()), json.preKeyPublic);
      await preKeys.savePreKey(json.preKeyId, S.PreKeyRecord.new(json.preKeyId, otk.getPublicKey(), otk));
    }
    const signed = new MemorySignedPreKeyStore();
    const spk = S.PrivateKey.deserialize(b64(priv.signedPreKey));
    await signed.saveSignedPreKey(
      json.signedPreKeyId,
      S.SignedPreKeyRecord.new(
        json.signedPreKeyId,
        priv.signedPreKeyCreatedMs,
        spk.getPublicKey(),
        spk,
        b64(json.signedPreKeySignature),
      ),
    );
    const kyber = new MemoryKyberPreKeyStore();
    await kyber.saveKyberPreKey(
      json.kyberPreKeyId,
      kyberPreKeyRecord(
        json.kyberPreKeyId,
        b64(json.kyberPreKeyPublic),
        b64(priv.kyberPreKey),
        b64(json.kyberPreKeySignature),
        priv.kyberPreKeyCreatedMs,
      ),
    );
    const bobIdentities = new MemoryIdentityStore(bobIdentity, json.registrationId);
    const decrypted = await S.signalDecryptPreKey(
      S.PreKeySignalMessage.deserialize(ct.serialize()),
      ALICE,
      BOB,
      new MemorySessionStore(),
      bobIdentities,
      preKeys,
      signed,
      kyber,
    );
    assert.deepEqual(new Uint8Array(decrypted), plaintext);
  });

  test(`kms-core's PQXDH responder derives libsignal's root key (${variant})`, async () => {
    const json = fixture.bundles[variant];
    const a = alice();
    await S.processPreKeyBundle(libsignalBundle(json), BOB, ALICE, a.sessions, a.identities);
    const ct = await S.signalEncrypt(new Uint8Array([1, 2, 3]), BOB, ALICE, a.sessions, a.identities);

    // PreKeySignalMessage: version byte, then protobuf
    // { pre_key_id = 1, base_key = 2, identity_key = 3, message = 4, ..., kyber_ciphertext = 8 }.
    const msg = parseProto(ct.serialize().subarray(1));
    const baseKey = msg.get(2)[0];
    const identityKey = msg.get(3)[0];
    const kyberCiphertext = msg.get(8)[0];
    assert.equal(toB64(identityKey), toB64(a.identity.getPublicKey().serialize()));
    assert.equal(kyberCiphertext[0], 0x08);
    assert.equal(msg.has(1), variant === 'withOneTime');

    const { sharedSecret } = runFixture(['respond'], {
      variant,
      identityKey: toB64(identityKey),
      baseKey: toB64(baseKey),
      kyberCiphertext: toB64(kyberCiphertext),
    });
    const sk = b64(sharedSecret);
    assert.equal(sk.length, 32);

    // Alice's session (RecordStructure.current_session = 1) holds the root key after her first
    // ratchet step (root_key = 4) and her sending ratchet key pair (sender_chain = 6:
    // sender_ratchet_key = 1, sender_ratchet_key_private = 2). That step is
    // HKDF-SHA256(salt = PQXDH root key, ikm = DH(ratchet, Bob's signed prekey), "WhisperRatchet").
    const session = parseProto(parseProto((await a.sessions.getSession(BOB)).serialize()).get(1)[0]);
    const rootKey = session.get(4)[0];
    const senderChain = parseProto(session.get(6)[0]);
    const ratchetPrivate = S.PrivateKey.deserialize(senderChain.get(2)[0]);
    const dh = ratchetPrivate.agree(S.PublicKey.deserialize(b64(json.signedPreKeyPublic)));
    const expectRoot = (pqxdhRoot) =>
      Buffer.from(hkdfSync('sha256', dh, pqxdhRoot, 'WhisperRatchet', 64)).subarray(0, 32);
    assert.equal(toB64(expectRoot(sk)), toB64(rootKey));

    // The other variant's responder (with or without the one-time prekey) disagrees.
    const other = runFixture(['respond'], {
      variant: variant === 'withOneTime' ? 'withoutOneTime' : 'withOneTime',
      identityKey: toB64(identityKey),
      baseKey: toB64(baseKey),
      kyberCiphertext: toB64(kyberCiphertext),
    });
    assert.notEqual(toB64(expectRoot(b64(other.sharedSecret))), toB64(rootKey));
  });
}

test('libsignal refuses the kms-core bundle when a prekey signature is tampered', async () => {
  for (const tamper of [{ signedPreKeySignature: true }, { kyberPreKeySignature: true }]) {
    const a = alice();
    await assert.rejects(
      S.processPreKeyBundle(libsignalBundle(fixture.bundles.withOneTime, tamper), BOB, ALICE, a.sessions, a.identities),
    );
  }
});
