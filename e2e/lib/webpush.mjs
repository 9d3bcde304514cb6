// RFC 8291 message encryption (`aes128gcm`, RFC 8188) with Node's crypto: an independent
// implementation beside kms-relay's, for the push tests' user agent (decrypting what the
// sender sent) and for bodies the tests tamper with.
import { createCipheriv, createDecipheriv, createECDH, createHmac, randomBytes } from "node:crypto";

const hmac = (key, ...data) => {
  const h = createHmac("sha256", key);
  for (const d of data) h.update(d);
  return h.digest();
};

/** The content-encryption key and nonce for `salt`, from the ECDH secret and auth secret. */
function keys({ ecdhSecret, authSecret, uaPublic, asPublic, salt }) {
  const prkKey = hmac(authSecret, ecdhSecret);
  const ikm = hmac(prkKey, Buffer.from("WebPush: info\0"), uaPublic, asPublic, Buffer.from([1]));
  const prk = hmac(salt, ikm);
  return {
    cek: hmac(prk, Buffer.from("Content-Encoding: aes128gcm\0\x01")).subarray(0, 16),
    nonce: hmac(prk, Buffer.from("Content-Encoding: nonce\0\x01")).subarray(0, 12),
  };
}

/** A user agent's push keys: `p256dh` and `auth` (base64url) and the private half. */
export function userAgentKeys() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: auth.toString("base64url") },
  };
}

/** Encrypts `plaintext` for the subscription `keys` ({p256dh, auth}): one record, rs 4096. */
export function encrypt(keysJson, plaintext) {
  const uaPublic = Buffer.from(keysJson.p256dh, "base64url");
  const authSecret = Buffer.from(keysJson.auth, "base64url");
  const as = createECDH("prime256v1");
  as.generateKeys();
  const asPublic = as.getPublicKey();
  const salt = randomBytes(16);
  const { cek, nonce } = keys({ ecdhSecret: as.computeSecret(uaPublic), authSecret, uaPublic, asPublic, salt });
  const cipher = createCipheriv("aes-128-gcm", cek, nonce);
  const body = Buffer.concat([cipher.update(Buffer.concat([Buffer.from(plaintext), Buffer.from([2])])), cipher.final(), cipher.getAuthTag()]);
  const header = Buffer.alloc(21);
  salt.copy(header, 0);
  header.writeUInt32BE(4096, 16);
  header[20] = asPublic.length;
  return Buffer.concat([header, asPublic, body]);
}

/** Decrypts an `aes128gcm` body with the user agent's keys (from `userAgentKeys`). */
export function decrypt(ua, body) {
  const salt = body.subarray(0, 16);
  const idlen = body[20];
  const asPublic = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  const uaPublic = ua.ecdh.getPublicKey();
  const authSecret = Buffer.from(ua.keys.auth, "base64url");
  const { cek, nonce } = keys({ ecdhSecret: ua.ecdh.computeSecret(asPublic), authSecret, uaPublic, asPublic, salt });
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  const end = padded.lastIndexOf(2);
  if (end < 0 || padded.subarray(end + 1).some((b) => b !== 0)) throw new Error("no padding delimiter");
  return padded.subarray(0, end).toString();
}
