// Sessions between kms-core (the `signal-fixture session` runs) and libsignal
// (@signalapp/libsignal-client from npm), in both directions and across restarts; and
// between libsignal and the key service itself (`signal-fixture service`: the RPC methods,
// sealed records in a store that survives each restart).
//
// Every fixture call is a restart of our side: the session record travels in its encoded
// form between calls. libsignal's stores keep serialized records only and are rebuilt
// (`restart()`) between rounds.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as S from '@signalapp/libsignal-client';

import {
  MemoryIdentityStore,
  MemoryKyberPreKeyStore,
  MemoryPreKeyStore,
  MemorySessionStore,
  MemorySignedPreKeyStore,
  b64,
  libsignalBundle,
  readVarint,
  runFixture,
  toB64,
} from './support.mjs';

const fixture = runFixture();
const KMS = { name: 'kms-device', deviceId: 1 };
const NOW = 1_750_000_000_000;
const text = (s) => new Uint8Array(Buffer.from(s));
const str = (b) => Buffer.from(b).toString();

// A seeded PRNG (mulberry32) so a failing run can be replayed.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(items, rand) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Our side: the fixture device's session with one peer, as serialized state. */
class Kms {
  state = null;
  seed = 1;
  constructor(peerName) {
    this.remote = { name: peerName, deviceId: 1 };
  }
  run(ops) {
    const out = runFixture(['session'], {
      state: this.state,
      local: KMS,
      remote: this.remote,
      now: NOW,
      seed: this.seed++,
      ops,
    });
    this.state = out.state;
    return out.results;
  }
  decrypt(msg, extra = {}) {
    return this.run([{ op: 'decrypt', type: msg.type, body: msg.body, ...extra }])[0];
  }
}

/** A libsignal party whose stores hold serialized state only, rebuilt by `restart()`. */
class Libsignal {
  constructor(name) {
    this.address = S.ProtocolAddress.new(name, 1);
    this.identity = S.PrivateKey.generate();
    this.registrationId = 1000 + Math.floor(Math.random() * 1000);
    this.sessions = new MemorySessionStore();
    this.identities = new MemoryIdentityStore(this.identity, this.registrationId);
    this.preKeys = new MemoryPreKeyStore();
    this.signedPreKeys = new MemorySignedPreKeyStore();
    this.kyberPreKeys = new MemoryKyberPreKeyStore();
  }
  restart() {
    const sessions = new MemorySessionStore();
    sessions.sessions = new Map(this.sessions.sessions);
    const identities = new MemoryIdentityStore(
      S.PrivateKey.deserialize(this.identity.serialize()),
      this.registrationId,
    );
    for (const [k, v] of this.identities.identities) {
      identities.identities.set(k, S.PublicKey.deserialize(v.serialize()));
    }
    this.sessions = sessions;
    this.identities = identities;
  }
  async startTo(peer, bundleJson) {
    await S.processPreKeyBundle(libsignalBundle(bundleJson), peer, this.address, this.sessions, this.identities);
  }
  async encrypt(peer, plaintext) {
    const ct = await S.signalEncrypt(plaintext, peer, this.address, this.sessions, this.identities);
    return { type: ct.type(), body: toB64(ct.serialize()) };
  }
  async decrypt(peer, msg) {
    const bytes = b64(msg.body);
    if (msg.type === S.CiphertextMessageType.PreKey) {
      return S.signalDecryptPreKey(
        S.PreKeySignalMessage.deserialize(bytes),
        peer,
        this.address,
        this.sessions,
        this.identities,
        this.preKeys,
        this.signedPreKeys,
        this.kyberPreKeys,
      );
    }
    return S.signalDecrypt(S.SignalMessage.deserialize(bytes), peer, this.address, this.sessions, this.identities);
  }
  /** A bundle in kms-core's JSON form, with the keys in this party's stores. */
  async bundle() {
    const signed = S.PrivateKey.generate();
    const signedSig = this.identity.sign(signed.getPublicKey().serialize());
    await this.signedPreKeys.saveSignedPreKey(7, S.SignedPreKeyRecord.new(7, NOW, signed.getPublicKey(), signed, signedSig));
    const otk = S.PrivateKey.generate();
    await this.preKeys.savePreKey(8, S.PreKeyRecord.new(8, otk.getPublicKey(), otk));
    const kyber = S.KEMKeyPair.generate();
    const kyberSig = this.identity.sign(kyber.getPublicKey().serialize());
    await this.kyberPreKeys.saveKyberPreKey(9, S.KyberPreKeyRecord.new(9, NOW, kyber, kyberSig));
    return {
      registrationId: this.registrationId,
      deviceId: 1,
      identityKey: toB64(this.identity.getPublicKey().serialize()),
      signedPreKeyId: 7,
      signedPreKeyPublic: toB64(signed.getPublicKey().serialize()),
      signedPreKeySignature: toB64(signedSig),
      preKeyId: 8,
      preKeyPublic: toB64(otk.getPublicKey().serialize()),
      kyberPreKeyId: 9,
      kyberPreKeyPublic: toB64(kyber.getPublicKey().serialize()),
      kyberPreKeySignature: toB64(kyberSig),
    };
  }
}

const KMS_ADDRESS = S.ProtocolAddress.new(KMS.name, KMS.deviceId);

/** Offset of the first byte of field `no`'s value in a serialized SignalMessage. */
function fieldValueOffset(bytes, no) {
  let pos = 1;
  while (pos < bytes.length - 8) {
    let key;
    [key, pos] = readVarint(bytes, pos);
    const wire = Number(key & 7n);
    if (Number(key >> 3n) === no) return wire === 2 ? readVarint(bytes, pos)[1] : pos;
    if (wire === 0) [, pos] = readVarint(bytes, pos);
    else {
      let len;
      [len, pos] = readVarint(bytes, pos);
      pos += Number(len);
    }
  }
  throw new Error(`no field ${no}`);
}

function tampered(msg, offset) {
  const bytes = b64(msg.body);
  bytes[offset] ^= 0x01;
  return { type: msg.type, body: toB64(bytes) };
}

test('libsignal starts a session to our bundle; we decrypt out of order and reply', async () => {
  const a = new Libsignal('alice');
  const kms = new Kms('alice');
  await a.startTo(KMS_ADDRESS, fixture.bundles.withOneTime);
  const first = [];
  for (let i = 0; i < 3; i++) first.push(await a.encrypt(KMS_ADDRESS, text(`first ${i}`)));
  assert.ok(first.every((m) => m.type === S.CiphertextMessageType.PreKey));

  // Out of order, one fixture run (restart) each.
  for (const i of [2, 0, 1]) {
    const r = kms.decrypt(first[i]);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(str(b64(r.plaintext)), `first ${i}`);
  }
  assert.equal(kms.state.oneTimeUsed, true);
  // A replayed first message is refused, and creates no new session.
  const before = kms.state.record;
  assert.deepEqual(kms.decrypt(first[0]), { ok: false, error: 'Duplicate' });
  assert.equal(kms.state.record, before);

  const replies = kms.run([0, 1].map((i) => ({ op: 'encrypt', plaintext: toB64(text(`reply ${i}`)) })));
  assert.ok(replies.every((r) => r.ok && r.type === S.CiphertextMessageType.Whisper));
  a.restart();
  assert.equal(str(await a.decrypt(KMS_ADDRESS, replies[1])), 'reply 1');
  assert.equal(str(await a.decrypt(KMS_ADDRESS, replies[0])), 'reply 0');
  await assert.rejects(a.decrypt(KMS_ADDRESS, replies[0]));

  // libsignal now sends plain SignalMessages.
  const next = await a.encrypt(KMS_ADDRESS, text('after the reply'));
  assert.equal(next.type, S.CiphertextMessageType.Whisper);
  assert.equal(str(b64(kms.decrypt(next).plaintext)), 'after the reply');
});

test('a replayed, or MAC-, counter-, body- or PQ-tampered message is refused and changes nothing', async () => {
  const a = new Libsignal('alice');
  const kms = new Kms('alice');
  await a.startTo(KMS_ADDRESS, fixture.bundles.withoutOneTime);
  const first = await a.encrypt(KMS_ADDRESS, text('hello'));

  // A PreKey message with a bad inner MAC starts no session.
  const inner = b64(first.body);
  inner[inner.length - 1] ^= 0x01;
  assert.deepEqual(kms.decrypt({ type: first.type, body: toB64(inner) }), { ok: false, error: 'BadMac' });
  assert.equal(str(b64(kms.decrypt(first).plaintext)), 'hello');
  const [reply] = kms.run([{ op: 'encrypt', plaintext: toB64(text('r')) }]);
  await a.decrypt(KMS_ADDRESS, reply);

  const msg = await a.encrypt(KMS_ADDRESS, text('the genuine one'));
  const bytes = b64(msg.body);
  const cases = {
    mac: bytes.length - 1,
    counter: fieldValueOffset(bytes, 2),
    body: fieldValueOffset(bytes, 4) + 3,
    'pq index': fieldValueOffset(bytes, 5) + 2,
    'ratchet key': fieldValueOffset(bytes, 1) + 5,
  };
  const before = kms.state.record;
  for (const [what, offset] of Object.entries(cases)) {
    const r = kms.decrypt(tampered(msg, offset));
    assert.equal(r.ok, false, what);
    assert.equal(r.error, 'BadMac', what);
    assert.equal(kms.state.record, before, `${what}: the stored record is unchanged`);
  }
  assert.equal(str(b64(kms.decrypt(msg).plaintext)), 'the genuine one');
  const afterGenuine = kms.state.record;
  assert.deepEqual(kms.decrypt(msg), { ok: false, error: 'Duplicate' });
  assert.equal(kms.state.record, afterGenuine);
});

test('1000 alternating messages with reordering, delays and drops, both sides restarting', async () => {
  const rand = prng(0x5e55);
  const a = new Libsignal('alice');
  const kms = new Kms('alice');
  await a.startTo(KMS_ADDRESS, fixture.bundles.withOneTime);
  let sent = 0;
  let delivered = 0;
  let dropped = 0;
  let late = { toKms: [], toLibsignal: [] };
  for (let round = 0; sent < 1000; round++) {
    const n = Math.min(1000 - sent, 1 + Math.floor(rand() * 9));
    const fromLibsignal = round % 2 === 0;
    let batch = [];
    if (fromLibsignal) {
      for (let i = 0; i < n; i++) {
        const label = `a${sent + i}`;
        batch.push({ label, msg: await a.encrypt(KMS_ADDRESS, text(label)) });
      }
    } else {
      const results = kms.run(
        Array.from({ length: n }, (_, i) => ({ op: 'encrypt', plaintext: toB64(text(`k${sent + i}`)) })),
      );
      batch = results.map((r, i) => {
        assert.equal(r.ok, true, JSON.stringify(r));
        return { label: `k${sent + i}`, msg: { type: r.type, body: r.body } };
      });
    }
    sent += n;
    // The first message must arrive (it starts the session); later ones may be dropped or
    // held back until the same direction's next round.
    const key = fromLibsignal ? 'toKms' : 'toLibsignal';
    const deliver = [...late[key]];
    late[key] = [];
    for (const item of batch) {
      const x = round === 0 && item === batch[0] ? 1 : rand();
      if (x < 0.1) dropped++;
      else if (x < 0.2) late[key].push(item);
      else deliver.push(item);
    }
    shuffle(deliver, rand);
    if (fromLibsignal) {
      const results = kms.run(deliver.map(({ msg }) => ({ op: 'decrypt', type: msg.type, body: msg.body })));
      results.forEach((r, i) => {
        assert.equal(r.ok, true, `${deliver[i].label}: ${JSON.stringify(r)}`);
        assert.equal(str(b64(r.plaintext)), deliver[i].label);
      });
    } else {
      a.restart();
      for (const { label, msg } of deliver) assert.equal(str(await a.decrypt(KMS_ADDRESS, msg)), label);
    }
    delivered += deliver.length;
  }
  assert.equal(sent, 1000);
  assert.ok(dropped > 30 && delivered > 700, `dropped ${dropped}, delivered ${delivered}`);
});

test('our initiator to a libsignal bundle: libsignal decrypts, replies, and we continue', async () => {
  const b = new Libsignal('bob');
  const kms = new Kms('bob');
  const bundle = await b.bundle();
  const out = kms.run([
    { op: 'initiate', bundle },
    ...[0, 1, 2].map((i) => ({ op: 'encrypt', plaintext: toB64(text(`to bob ${i}`)) })),
  ]);
  assert.ok(out.every((r) => r.ok), JSON.stringify(out));
  const msgs = out.slice(1);
  assert.ok(msgs.every((m) => m.type === S.CiphertextMessageType.PreKey));
  for (const i of [1, 2, 0]) {
    b.restart();
    assert.equal(str(await b.decrypt(KMS_ADDRESS, msgs[i])), `to bob ${i}`);
  }
  const reply = await b.encrypt(KMS_ADDRESS, text('hello kms'));
  assert.equal(reply.type, S.CiphertextMessageType.Whisper);
  assert.equal(str(b64(kms.decrypt(reply).plaintext)), 'hello kms');
  const [next] = kms.run([{ op: 'encrypt', plaintext: toB64(text('acknowledged')) }]);
  assert.equal(next.type, S.CiphertextMessageType.Whisper);
  assert.equal(str(await b.decrypt(KMS_ADDRESS, next)), 'acknowledged');
  // A tampered bundle is refused before anything is stored.
  const fresh = new Kms('bob');
  const bad = { ...bundle, kyberPreKeySignature: toB64(b64(bundle.signedPreKeySignature)) };
  assert.deepEqual(fresh.run([{ op: 'initiate', bundle: bad }]), [{ ok: false, error: 'Signal' }]);
});

test('a new identity for a known address is refused unless the caller allows the change', async () => {
  const a = new Libsignal('alice');
  const kms = new Kms('alice');
  await a.startTo(KMS_ADDRESS, fixture.bundles.withoutOneTime);
  assert.equal(kms.decrypt(await a.encrypt(KMS_ADDRESS, text('one'))).ok, true);
  const known = kms.state.knownIdentity;
  assert.equal(known, toB64(a.identity.getPublicKey().serialize()));

  // Alice reinstalls: same address, new identity key, new session.
  const reinstalled = new Libsignal('alice');
  await reinstalled.startTo(KMS_ADDRESS, fixture.bundles.withoutOneTime);
  const msg = await reinstalled.encrypt(KMS_ADDRESS, text('new phone'));
  const before = kms.state.record;
  assert.deepEqual(kms.decrypt(msg), { ok: false, error: 'UntrustedIdentity' });
  assert.equal(kms.state.record, before);
  assert.equal(kms.state.knownIdentity, known);
  const r = kms.decrypt(msg, { allowIdentityChange: true });
  assert.equal(str(b64(r.plaintext)), 'new phone');
  assert.equal(kms.state.knownIdentity, toB64(reinstalled.identity.getPublicKey().serialize()));
});

test('kms-core safety numbers equal libsignal fingerprints', () => {
  for (const version of [1, 2]) {
    const local = S.PrivateKey.generate().getPublicKey();
    const remote = S.PrivateKey.generate().getPublicKey();
    const localId = version === 1 ? text('+14152222222') : crypto.getRandomValues(new Uint8Array(17));
    const remoteId = version === 1 ? text('+14153333333') : crypto.getRandomValues(new Uint8Array(17));
    const theirs = S.Fingerprint.new(5200, version, localId, local, remoteId, remote);
    const ours = runFixture(['fingerprint'], {
      version,
      iterations: 5200,
      localId: toB64(localId),
      localKey: toB64(local.serialize()),
      remoteId: toB64(remoteId),
      remoteKey: toB64(remote.serialize()),
    });
    assert.equal(ours.display, theirs.displayableFingerprint().toString());
    assert.equal(ours.scannable, toB64(theirs.scannableFingerprint().toBuffer()));
  }
});

test('the SignalMessage vector of docs/formats/signal.md is what libsignal writes', () => {
  const priv = (f) => S.PrivateKey.deserialize(new Uint8Array(32).map((_, i) => f(i)));
  const m = S.SignalMessage._new(
    4,
    new Uint8Array(32).fill(0x33),
    priv((i) => i).getPublicKey(),
    7,
    3,
    new Uint8Array(16).fill(0xaa),
    priv(() => 0x11).getPublicKey(),
    priv(() => 0x22).getPublicKey(),
    new Uint8Array([1, 1, 8, 0]),
  );
  assert.equal(
    Buffer.from(m.serialize()).toString('hex'),
    '440a21058f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f' +
      '100718032210aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2a04010108008b2b19476d72002b',
  );
});

/**
 * The key service itself (`signal-fixture service`: `Kms` over a store that travels between
 * runs, so every run is a restart that unlocks again), called with the page's RPC frames.
 */
class Service {
  store = null;
  seed = 1;
  calls(calls) {
    const out = runFixture(['service'], {
      store: this.store,
      origin: 'https://app.example',
      now: NOW,
      seed: this.seed++,
      calls,
    });
    this.store = out.store;
    return out.results;
  }
  call(method, params) {
    return this.calls([{ method, params }])[0];
  }
}

// Service ids, so the first messages carry both addresses (and are checked against them).
const SVC_NAME = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff';
const SVC_ADDRESS = S.ProtocolAddress.new(SVC_NAME, 1);
const PEER_NAME = '9d0652a3-dcc3-4d11-975f-74d61598733f';
const PEER = { name: PEER_NAME, deviceId: 1 };
const uuidBytes = (u) => new Uint8Array(Buffer.from(u.replace(/-/g, ''), 'hex'));

test('libsignal converses with the key service: its bundle, sealed sessions, shredded prekey', async () => {
  const svc = new Service();
  const bundle = svc.call('signal.bundle', { oneTime: true }).ok.bundle;
  const a = new Libsignal(PEER_NAME);
  await a.startTo(SVC_ADDRESS, bundle);
  const first = await a.encrypt(SVC_ADDRESS, text('hello, enclave'));
  assert.equal(first.type, S.CiphertextMessageType.PreKey);
  const decrypt = (m) => svc.call('signal.decrypt', { address: PEER, message: m.body, messageType: m.type, localName: SVC_NAME });
  const got = decrypt(first);
  assert.ok(got.ok, JSON.stringify(got));
  assert.equal(str(b64(got.ok.plaintext)), 'hello, enclave');
  assert.equal(got.ok.identityChange, 'new');
  assert.equal(got.ok.trust, 'unconfirmed');
  assert.equal(got.ok.preKeysUsed.oneTimePreKeyId, bundle.preKeyId);
  assert.ok(!Object.keys(svc.store.records).some((k) => k.endsWith(`/signal-otpk/${bundle.preKeyId}`)), 'shredded');
  assert.equal(decrypt(first).err.code, 'DuplicateMessage');

  // No reply until the user confirms the sender's key (`signal.trust` is the enclave UI's).
  const early = svc.call('signal.encrypt', { address: PEER, plaintext: toB64(text('too soon')), localName: SVC_NAME });
  assert.equal(early.err?.code, 'UntrustedIdentity', JSON.stringify(early));
  const stored = svc.call('signal.identity', { address: PEER }).ok;
  assert.equal(stored.identityKey, toB64(a.identity.getPublicKey().serialize()));
  assert.equal(svc.call('signal.trust', { address: PEER, identityKey: stored.identityKey }).ok.trust, 'confirmed');

  for (let turn = 0; turn < 3; turn++) {
    const r = svc.call('signal.encrypt', { address: PEER, plaintext: toB64(text(`reply ${turn}`)), localName: SVC_NAME }).ok;
    assert.equal(r.messageType, S.CiphertextMessageType.Whisper);
    a.restart();
    assert.equal(str(await a.decrypt(SVC_ADDRESS, { type: r.messageType, body: r.message })), `reply ${turn}`);
    const m = await a.encrypt(SVC_ADDRESS, text(`message ${turn}`));
    assert.equal(m.type, S.CiphertextMessageType.Whisper);
    assert.equal(str(b64(decrypt(m).ok.plaintext)), `message ${turn}`);
  }

  // The safety number the service shows is libsignal's fingerprint of the two ACIs.
  const sn = svc.call('signal.safetyNumber', { address: PEER, localName: SVC_NAME, remoteName: PEER_NAME }).ok;
  assert.equal(sn.version, 2);
  const theirs = S.Fingerprint.new(
    5200, 2,
    uuidBytes(PEER_NAME), a.identity.getPublicKey(),
    uuidBytes(SVC_NAME), S.PublicKey.deserialize(b64(bundle.identityKey)),
  );
  assert.equal(sn.safetyNumber, theirs.displayableFingerprint().toString());
});

test('the key service starts a session to a libsignal bundle and libsignal answers', async () => {
  const svc = new Service();
  const b = new Libsignal(PEER_NAME);
  const started = svc.call('signal.startSession', { address: PEER, bundle: await b.bundle() });
  assert.equal(started.ok.identityChange, 'new', JSON.stringify(started));
  assert.equal(started.ok.trust, 'unconfirmed');
  svc.call('signal.trust', { address: PEER, identityKey: started.ok.identityKey });
  const sent = svc.calls([0, 1].map((i) => ({
    method: 'signal.encrypt',
    params: { address: PEER, plaintext: toB64(text(`first ${i}`)), localName: SVC_NAME },
  })));
  assert.ok(sent.every((r) => r.ok.messageType === S.CiphertextMessageType.PreKey));
  assert.equal(str(await b.decrypt(SVC_ADDRESS, { type: 3, body: sent[1].ok.message })), 'first 1');
  assert.equal(str(await b.decrypt(SVC_ADDRESS, { type: 3, body: sent[0].ok.message })), 'first 0');
  const reply = await b.encrypt(SVC_ADDRESS, text('got both'));
  const got = svc.call('signal.decrypt', { address: PEER, message: reply.body, messageType: reply.type, localName: SVC_NAME });
  assert.equal(str(b64(got.ok.plaintext)), 'got both');
  const listed = svc.call('signal.sessions').ok.sessions;
  assert.deepEqual(listed.map((s) => [s.address.name, s.awaitingReply]), [[PEER_NAME, false]]);
  const next = svc.call('signal.encrypt', { address: PEER, plaintext: toB64(text('now plain')), localName: SVC_NAME }).ok;
  assert.equal(next.messageType, S.CiphertextMessageType.Whisper);
  assert.equal(str(await b.decrypt(SVC_ADDRESS, { type: next.messageType, body: next.message })), 'now plain');
});
