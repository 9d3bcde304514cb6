// Shared by the libsignal interop tests: the kms-core fixture runner, base64url, minimal
// protobuf reading and writing, and in-memory libsignal stores.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as S from '@signalapp/libsignal-client';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function runFixture(args = [], input = undefined) {
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

export const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
export const toB64 = (bytes) => Buffer.from(bytes).toString('base64url');

// ---- minimal protobuf reading and writing (the wire and storage formats are protobuf) ----

export function readVarint(buf, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7n;
  }
}

export function parseProto(buf) {
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

export function varint(n) {
  const out = [];
  let v = BigInt(n);
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

export function protoBytes(no, bytes) {
  return [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
}

// libsignal stores Kyber prekeys as SignedPreKeyRecordStructure
// { id = 1, public_key = 2, private_key = 3, signature = 4, fixed64 timestamp = 5 }.
export function kyberPreKeyRecord(id, publicKey, privateKey, signature, timestamp) {
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

export const addrKey = (a) => `${a.name()}.${a.deviceId()}`;

export class MemorySessionStore extends S.SessionStore {
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

export class MemoryIdentityStore extends S.IdentityKeyStore {
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

export class MemoryPreKeyStore extends S.PreKeyStore {
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

export class MemorySignedPreKeyStore extends S.SignedPreKeyStore {
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

export class MemoryKyberPreKeyStore extends S.KyberPreKeyStore {
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

export function libsignalBundle(json, tamper = {}) {
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

export const ALICE = S.ProtocolAddress.new('alice', 1);
export const BOB = S.ProtocolAddress.new('kms-device', 1);

export function alice() {
  const identity = S.PrivateKey.generate();
  return {
    identity,
    sessions: new MemorySessionStore(),
    identities: new MemoryIdentityStore(identity, 1001),
  };
}
