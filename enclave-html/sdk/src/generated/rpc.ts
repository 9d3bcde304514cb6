// Generated from the Rust RPC types by `cargo xtask types`. Do not edit.

/** Protocol version of the RPC. */
export const RPC_VERSION = 1;

export type Bytes = Uint8Array | string;

export type SecretInput = string | Uint8Array;

export type RelayAlg = "ES256" | "EdDSA";

export type Request = { "method": "ping" } | { "method": "status" } | { "method": "setup", "params": { 
/**
 * The passphrase (at least 8 bytes).
 */
passphrase: SecretInput, } } | { "method": "lock" } | { "method": "unlock.passphrase", "params": { 
/**
 * The passphrase.
 */
passphrase: SecretInput, } } | { "method": "unlock.prf", "params": { 
/**
 * Credential id of the passkey.
 */
credentialId: Bytes, 
/**
 * PRF output for the method's `prfInput`.
 */
prfOutput: SecretInput, } } | { "method": "unlock.gateChallenge" } | { "method": "unlock.gate", "params": { 
/**
 * Credential id.
 */
credentialId: Bytes, 
/**
 * `authenticatorData`.
 */
authenticatorData: Bytes, 
/**
 * `clientDataJSON`.
 */
clientDataJson: Bytes, 
/**
 * Assertion signature.
 */
signature: Bytes, } } | { "method": "methods.list" } | { "method": "methods.addPassphrase", "params": { 
/**
 * The new passphrase.
 */
passphrase: SecretInput, 
/**
 * Optional label.
 */
label?: string, } } | { "method": "methods.changePassphrase", "params": { 
/**
 * The method to change.
 */
methodId: string, 
/**
 * The new passphrase.
 */
passphrase: SecretInput, } } | { "method": "methods.prfInput" } | { "method": "methods.addPrf", "params": { 
/**
 * Credential id of the passkey.
 */
credentialId: Bytes, 
/**
 * The PRF input that produced `prf_output` (from `methods.prfInput`).
 */
prfInput: Bytes, 
/**
 * PRF output.
 */
prfOutput: SecretInput, 
/**
 * Optional label.
 */
label?: string, } } | { "method": "methods.addGate", "params": { 
/**
 * `attestationObject`.
 */
attestationObject: Bytes, 
/**
 * `clientDataJSON`.
 */
clientDataJson: Bytes, 
/**
 * Optional label.
 */
label?: string, } } | { "method": "methods.remove", "params": { 
/**
 * The method id.
 */
methodId: string, } } | { "method": "keys.list" } | { "method": "keys.delete", "params": { 
/**
 * The key id.
 */
keyId: string, } } | { "method": "vapid.publicKey" } | { "method": "vapid.authorization", "params": { 
/**
 * Push service origin (https).
 */
aud: string, 
/**
 * Contact (`mailto:` or `https:`).
 */
sub?: string, 
/**
 * Expiry (seconds since the epoch); at most 24 h ahead, default 12 h.
 */
exp?: number, } } | { "method": "vapid.rotate" } | { "method": "relay.createKey", "params": { 
/**
 * Algorithm.
 */
alg: RelayAlg, } } | { "method": "relay.token", "params": { 
/**
 * Signing key id (`kid`).
 */
kid: string, 
/**
 * Audience: the relay's identifier.
 */
aud: string, 
/**
 * Issuer; defaults to the caller's origin.
 */
iss?: string, 
/**
 * Optional scopes.
 */
scope?: Array<string>, 
/**
 * Lifetime in seconds (default 300, at most 3600).
 */
ttlSecs?: number, } } | { "method": "relay.jwks" } | { "method": "signal.bundle", "params": { 
/**
 * Include a one-time prekey (the first unused one) if any is left.
 */
oneTime?: boolean, } } | { "method": "signal.oneTimePrekeys" } | { "method": "signal.replenish", "params": { 
/**
 * Desired number of unused one-time prekeys.
 */
target?: number, } } | { "method": "signal.rotateSignedPrekey" } | { "method": "signal.sign", "params": { 
/**
 * The page's message.
 */
message: Bytes, } } | { "method": "envelope.prekeys", "params": { 
/**
 * How many (1 to 1000).
 */
count: number, 
/**
 * X25519 + ML-KEM-768 (default) or X25519 only.
 */
hybrid?: boolean, } } | { "method": "envelope.epochKey", "params": { 
/**
 * For a new key: X25519 + ML-KEM-768 (default) or X25519 only.
 */
hybrid?: boolean, 
/**
 * Create a new epoch key even if one exists.
 */
rotate?: boolean, } } | { "method": "envelope.open", "params": { 
/**
 * The envelope.
 */
envelope: Envelope, } } | { "method": "audit.export" } | { "method": "audit.verify" };

export type Ceremony = { "method": "ui.setup", "params": { 
/**
 * Shown above the form (the page's words, marked as such).
 */
hint?: string, } } | { "method": "ui.unlock", "params": { 
/**
 * Shown above the form.
 */
hint?: string, } } | { "method": "passkey.unlockPrf" } | { "method": "passkey.unlockGate" } | { "method": "ui.addPassphrase", "params": { 
/**
 * A label for the method.
 */
label?: string, } } | { "method": "ui.changePassphrase", "params": { 
/**
 * The method to change.
 */
methodId: string, } } | { "method": "ui.removeMethod", "params": { 
/**
 * The method to remove.
 */
methodId: string, } } | { "method": "passkey.addPrf", "params": { 
/**
 * A label for the method.
 */
label?: string, 
/**
 * The user name the authenticator shows.
 */
userName?: string, } } | { "method": "passkey.addGate", "params": { 
/**
 * A label for the method.
 */
label?: string, 
/**
 * The user name the authenticator shows.
 */
userName?: string, } } | { "method": "storage.requestAccess" };

export type KeyKind = "vapid" | "relay" | "signal-identity" | "signal-signed-prekey" | "signal-one-time-prekey" | "signal-kyber-prekey" | "signal-state" | "audit" | "envelope-prekey" | "envelope-epoch";

export type KeyInfo = { 
/**
 * Key id.
 */
id: string, 
/**
 * Kind.
 */
kind: KeyKind, 
/**
 * Algorithm.
 */
alg: string, 
/**
 * Public key, base64url.
 */
publicKey: string, 
/**
 * Creation time, ms since the epoch.
 */
createdMs: number, };

export type Protection = "passphrase" | "authenticator-secret" | "profile-at-rest";

export type MethodInfo = { 
/**
 * Method id.
 */
id: string, 
/**
 * `passphrase`, `passkey-prf` or `passkey-gate`.
 */
kind: "passphrase" | "passkey-prf" | "passkey-gate", 
/**
 * User-visible label.
 */
label: string | null, 
/**
 * Creation time, ms since the epoch.
 */
createdMs: number, 
/**
 * The passkey's credential id (base64url), for passkey methods.
 */
credentialId: string | null, 
/**
 * The PRF input (base64url) to evaluate, for PRF methods: given to the enclave's own
 * UI only, never to a page.
 */
prfInput: string | null, 
/**
 * What an attacker must have to recover the KEK from this method.
 */
protection: Protection, };

export type OneTimePrekeyInfo = { 
/**
 * Prekey id.
 */
id: number, 
/**
 * Public key, base64url of `0x05 ‖ u`.
 */
publicKey: string, };

export type Jwk = { 
/**
 * `EC` or `OKP`.
 */
kty: string, 
/**
 * `P-256` or `Ed25519`.
 */
crv: string, 
/**
 * x coordinate (EC) or the public key (OKP), base64url.
 */
x: string, 
/**
 * y coordinate (EC only), base64url.
 */
y?: string, 
/**
 * Key id.
 */
kid?: string, 
/**
 * Algorithm (`ES256`, `EdDSA`).
 */
alg?: string, 
/**
 * Intended use, `sig`.
 */
use?: string, };

export type Jwks = { 
/**
 * The keys.
 */
keys: Array<Jwk>, };

export type PreKeyBundle = { 
/**
 * The device's registration id.
 */
registrationId: number, 
/**
 * The device id.
 */
deviceId: number, 
/**
 * The identity public key.
 */
identityKey: string, 
/**
 * Signed prekey id.
 */
signedPreKeyId: number, 
/**
 * Signed prekey public key.
 */
signedPreKeyPublic: string, 
/**
 * XEdDSA signature by `identity_key` over `signed_pre_key_public.serialize()`.
 */
signedPreKeySignature: string, 
/**
 * One-time prekey id, when the bundle carries one.
 */
preKeyId?: number, 
/**
 * One-time prekey public key, when the bundle carries one.
 */
preKeyPublic?: string, 
/**
 * Kyber prekey id.
 */
kyberPreKeyId: number, 
/**
 * Kyber prekey public key.
 */
kyberPreKeyPublic: string, 
/**
 * XEdDSA signature by `identity_key` over `kyber_pre_key_public.serialize()`.
 */
kyberPreKeySignature: string, };

export type PrekeyUse = "one-time" | "epoch";

export type SignedPrekey = { 
/**
 * Prekey id, unique per owner.
 */
kid: string, 
/**
 * One-time or epoch.
 */
use: PrekeyUse, 
/**
 * X25519 public key, libsignal form `0x05 ‖ u`.
 */
pub_key: string, 
/**
 * ML-KEM-768 encapsulation key, `0xE7 ‖ ek` (hybrid prekeys only).
 */
pqc_pub_key?: string, 
/**
 * XEdDSA signature by the owner's identity key over [`SignedPrekey::signed_message`].
 */
sig: string, };

export type Envelope = { 
/**
 * Format id.
 */
format: string, 
/**
 * The prekey it is sealed to.
 */
kid: string, 
/**
 * The sender's ephemeral X25519 public key (`0x05 ‖ u`).
 */
epk: string, 
/**
 * The ML-KEM-768 ciphertext (`0xE7 ‖ c`), hybrid only.
 */
kem_ct?: string, 
/**
 * AES-256-GCM ciphertext ‖ tag.
 */
ct: string, };

export type Response = { "type": "done" } | { "type": "status", 
/**
 * An unlock method exists.
 */
initialized: boolean, 
/**
 * The KEK is in memory.
 */
unlocked: boolean, 
/**
 * When the current session ends (passkey gate), ms since the epoch.
 */
sessionExpiresMs: number | null, 
/**
 * Failed unlock attempts must wait until this time, ms since the epoch.
 */
retryAfterMs: number | null, 
/**
 * Until when the enclave's UI may change unlock methods without asking the user
 * to confirm with a current one (reported to the enclave's UI only).
 */
freshUntilMs: number | null, 
/**
 * Configured unlock methods.
 */
methods: Array<MethodInfo>, } | { "type": "unlocked", 
/**
 * The method that unlocked.
 */
methodId: string, 
/**
 * When the session ends, if it is time-limited.
 */
sessionExpiresMs: number | null, } | { "type": "challenge", 
/**
 * Challenge bytes, base64url.
 */
challenge: string, 
/**
 * Relying-party id to use.
 */
rpId: string, 
/**
 * Registered gate credentials (base64url ids) for `allowCredentials`.
 */
credentialIds: Array<string>, 
/**
 * When the challenge stops being accepted.
 */
expiresMs: number, } | { "type": "prfInput", 
/**
 * The input to pass as `prf.eval.first`.
 */
prfInput: string, } | { "type": "methods", 
/**
 * Methods.
 */
methods: Array<MethodInfo>, } | { "type": "methodAdded", 
/**
 * The new method.
 */
method: MethodInfo, } | { "type": "keys", 
/**
 * Public data of each key.
 */
keys: Array<KeyInfo>, } | { "type": "vapidPublicKey", 
/**
 * Key id.
 */
keyId: string, 
/**
 * base64url 65-byte uncompressed P-256 point (`applicationServerKey`).
 */
applicationServerKey: string, } | { "type": "vapidAuthorization", 
/**
 * `Authorization` header value: `vapid t=<jwt>, k=<key>`.
 */
header: string, 
/**
 * The JWT alone.
 */
token: string, 
/**
 * Expiry, seconds since the epoch.
 */
expiresAt: number, } | { "type": "relayKey", 
/**
 * Key id (`kid`).
 */
kid: string, 
/**
 * Its public JWK.
 */
jwk: Jwk, } | { "type": "relayToken", 
/**
 * Compact JWS.
 */
token: string, 
/**
 * Token id.
 */
jti: string, 
/**
 * Expiry, seconds since the epoch.
 */
expiresAt: number, } | { "type": "jwks", 
/**
 * `{"keys": [...]}`.
 */
jwks: Jwks, } | { "type": "signalBundle", 
/**
 * The bundle, as libsignal peers expect it.
 */
bundle: PreKeyBundle, } | { "type": "signalOneTimePrekeys", 
/**
 * The prekeys.
 */
prekeys: Array<OneTimePrekeyInfo>, } | { "type": "signalReplenished", 
/**
 * How many were generated now.
 */
generated: number, 
/**
 * How many unused ones exist now.
 */
available: number, } | { "type": "signalSignedPrekey", 
/**
 * The new signed prekey id.
 */
id: number, } | { "type": "signalSignature", 
/**
 * 64 bytes, base64url.
 */
signature: string, } | { "type": "envelopePrekeys", 
/**
 * The identity key that signed them (base64url of `0x05 ‖ u`).
 */
identityKey: string, 
/**
 * The prekeys, ready for upload.
 */
prekeys: Array<SignedPrekey>, } | { "type": "envelopeEpochKey", 
/**
 * The identity key that signed it.
 */
identityKey: string, 
/**
 * The epoch prekey.
 */
prekey: SignedPrekey, } | { "type": "envelopeOpened", 
/**
 * The prekey it was sealed to.
 */
kid: string, 
/**
 * The message, base64url: the caller asked for it.
 */
plaintext: string, 
/**
 * True when a one-time prekey was consumed (false for the epoch key).
 */
shredded: boolean, } | { "type": "auditExport", 
/**
 * JSON lines, one entry per line, then the checkpoint line.
 */
jsonl: string, 
/**
 * Number of entries.
 */
size: number, 
/**
 * The audit public key (Ed25519, base64url).
 */
auditPublicKey: string, 
/**
 * Set when the stored log does not extend its signed checkpoint (entries cut or
 * rewritten): what failed. The export then carries the stored checkpoint, not a
 * fresh one.
 */
tampered: string | null, } | { "type": "auditVerified", 
/**
 * Entries in the log.
 */
size: number, 
/**
 * Entries covered by the signed checkpoint.
 */
checkpointSize: number, 
/**
 * Head hash, base64url.
 */
head: string, };

export type ErrorCode = "NotInitialized" | "AlreadyInitialized" | "Locked" | "BadCredential" | "RateLimited" | "KeyNotFound" | "KeyConsumed" | "BadRequest" | "OriginDenied" | "NotPermitted" | "ReauthRequired" | "Misconfigured" | "Unsupported" | "Tampered" | "StorageBlocked" | "Storage" | "Conflict" | "Internal";

export type ErrorBody = { 
/**
 * The stable code.
 */
code: ErrorCode, 
/**
 * A human-readable message (never secret data).
 */
message: string, 
/**
 * For `RateLimited`: milliseconds until the next attempt is accepted.
 */
retryAfterMs?: number, };

export type Outcome = { "ok": Response } | { "err": ErrorBody };

export type Reply = { 
/**
 * Protocol version.
 */
v: number, 
/**
 * The request's id; `null` when the request had none that could be read.
 */
id: number | null, } & ({ "ok": Response } | { "err": ErrorBody });
