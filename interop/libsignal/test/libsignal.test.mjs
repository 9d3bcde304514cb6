// Checks kms-core's Signal keys, XEdDSA signatures, prekey bundles and PQXDH responder
// against libsignal (@signalapp/libsignal-client from npm).
//
// The kms-core side comes from `cargo run -p kms-tools --bin signal-fixture`; set
// SIGNAL_FIXTURE_BIN to a prebuilt fixture binary to skip cargo.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hkdfSync } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as S from '@signalapp/libsignal-client';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function runFixture(args = [], input = undefined) {
  const bin = process.env.SIGNAL_FIXTURE_BIN;
  const [cmd, cmdArgs] = bin
    ? [bin, args]
    : ['cargo', ['run', '-q', '-p', 'kms-tools', '--bin', 'signal-fixture', '--', ...args]];
  const r = spawnSync(cmd, cmdArgs, {
    cwd: repoRoot,
    input: input === undefined ? undefined : JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `signal-fixture ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const toB64 = (bytes) => Buffer.from(bytes).toString('base64url');
const fixture = runFixture();

// ---- minimal protobuf reading and writing (the wire and storage formats are protobuf) ----

function readVarint(buf, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7n;
  }
}

function parseProto(buf) {
  const fields = new Map();
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value;
    if (wire === 0) {
      [value, pos] = readVarint(buf, pos);
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      value = buf.subarray(pos, pos + Number(len));
      pos += Number(len);
    } else if (wire === 1) {
      value = buf.subarray(pos, pos + 8);
      pos += 8;
    } else if (wire === 5) {
      value = buf.subarray(pos, pos + 4);
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    if (!fields.has(no)) fields.set(no, []);
    fields.get(no).push(value);
  }
  return fields;
}

function varint(n) {
  const out = [];
  let v = BigInt(n);
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function protoBytes(no, bytes) {
  return [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
}

// libsignal stores Kyber prekeys as SignedPreKeyRecordStructure
// { id = 1, public_key = 2, private_key = 3, signature = 4, fixed64 timestamp = 5 }.
function kyberPreKeyRecord(id, publicKey, privateKey, signature, timestamp) {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64LE(BigInt(timestamp));
  return S.KyberPreKeyRecord.deserialize(
    new Uint8Array([
      ...varint((1 << 3) | 0),
      ...varint(id),
      ...protoBytes(2, publicKey),
      ...protoBytes(3, privateKey),
      ...protoBytes(4, signature),
      ...varint((5 << 3) | 1),
      ...ts,
    ]),
  );
}

// ---- in-memory stores ----

const addrKey = (a) => `${a.name()}.${a.deviceId()}`;

class MemorySessionStore extends S.SessionStore {
  sessions = new Map();
  async saveSession(address, record) {
    this.sessions.set(addrKey(address), record.serialize());
  }
  async getSession(address) {
    const bytes = this.sessions.get(addrKey(address));
    return bytes ? S.SessionRecord.deserialize(bytes) : null;
  }
  async getExistingSessions(addresses) {
    return addresses.map((a) => {
      const bytes = this.sessions.get(addrKey(a));
      if (!bytes) throw new Error(`no session for ${addrKey(a)}`);
      return S.SessionRecord.deserialize(bytes);
    });
  }
}

class MemoryIdentityStore extends S.IdentityKeyStore {
  identities = new Map();
  constructor(privateKey, registrationId) {
    super();
    this.privateKey = privateKey;
    this.registrationId = registrationId;
  }
  async getIdentityKey() {
    return this.privateKey;
  }
  async getLocalRegistrationId() {
    return this.registrationId;
  }
  async saveIdentity(address, key) {
    const old = this.identities.get(addrKey(address));
    this.identities.set(addrKey(address), key);
    return old && !old.equals(key) ? S.IdentityChange.ReplacedExisting : S.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(address, key) {
    const known = this.identities.get(addrKey(address));
    return !known || known.equals(key);
  }
  async getIdentity(address) {
    return this.identities.get(addrKey(address)) ?? null;
  }
}

class MemoryPreKeyStore extends S.PreKeyStore {
  keys = new Map();
  async savePreKey(id, record) {
    this.keys.set(id, record);
  }
  async getPreKey(id) {
    const r = this.keys.get(id);
    if (!r) throw new Error(`no prekey ${id}`);
    return r;
  }
  async removePreKey(id) {
    this.keys.delete(id);
  }
}

class MemorySignedPreKeyStore extends S.SignedPreKeyStore {
  keys = new Map();
  async saveSignedPreKey(id, record) {
    this.keys.set(id, record);
  }
  async getSignedPreKey(id) {
    const r = this.keys.get(id);
    if (!r) throw new Error(`no signed prekey ${id}`);
    return r;
  }
}

class MemoryKyberPreKeyStore extends S.KyberPreKeyStore {
  keys = new Map();
  async saveKyberPreKey(id, record) {
    this.keys.set(id, record);
  }
  async getKyberPreKey(id) {
    const r = this.keys.get(id);
    if (!r) throw new Error(`no kyber prekey ${id}`);
    return r;
  }
  async markKyberPreKeyUsed() {}
}

function libsignalBundle(json, tamper = {}) {
  const sig = (s, flip) => {
    const bytes = b64(s);
    if (flip) bytes[7] ^= 0x01;
    return bytes;
  };
  return S.PreKeyBundle.new(
    json.registrationId,
    json.deviceId,
    json.preKeyId ?? null,
    json.preKeyPublic ? S.PublicKey.deserialize(b64(json.preKeyPublic)) : null,
    json.signedPreKeyId,
    S.PublicKey.deserialize(b64(json.signedPreKeyPublic)),
    sig(json.signedPreKeySignature, tamper.signedPreKeySignature),
    S.PublicKey.deserialize(b64(json.identityKey)),
    json.kyberPreKeyId,
    S.KEMPublicKey.deserialize(b64(json.kyberPreKeyPublic)),
    sig(json.kyberPreKeySignature, tamper.kyberPreKeySignature),
  );
}

const ALICE = S.ProtocolAddress.new('alice', 1);
const BOB = S.ProtocolAddress.new('kms-device', 1);

function alice() {
  const identity = S.PrivateKey.generate();
  return {
    identity,
    sessions: new MemorySessionStore(),
    identities: new MemoryIdentityStore(identity, 1001),
  };
}

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
