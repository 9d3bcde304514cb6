// Generated from the Rust RPC types by `cargo xtask types`. Do not edit.

/** Protocol version of the RPC. */
export const RPC_VERSION = 1;

export type Bytes = Uint8Array | string;

export type SecretInput = string | Uint8Array;

export type KeyId = string;

export type MethodId = string;

export type RelayAlg = "ES256" | "EdDSA";

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

export type SignalAddress = { 
/**
 * The account's name (1 to [`MAX_ADDRESS_NAME`] bytes; a service id on the Signal
 * service: `<uuid>` or `PNI:<uuid>`).
 */
name: string, 
/**
 * The device id (1 to [`MAX_DEVICE_ID`]).
 */
deviceId: number, };

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

export type SetupParams = { 
/**
 * The passphrase (at least 8 bytes).
 */
passphrase: SecretInput, };

export type UnlockPassphraseParams = { 
/**
 * The passphrase.
 */
passphrase: SecretInput, };

export type UnlockPrfParams = { 
/**
 * Credential id of the passkey.
 */
credentialId: Bytes, 
/**
 * PRF output for the method's `prfInput`.
 */
prfOutput: SecretInput, };

export type UnlockGateParams = { 
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
signature: Bytes, };

export type AddPassphraseParams = { 
/**
 * The new passphrase.
 */
passphrase: SecretInput, 
/**
 * Optional label.
 */
label?: string, };

export type ChangePassphraseParams = { 
/**
 * The method to change.
 */
methodId: MethodId, 
/**
 * The new passphrase.
 */
passphrase: SecretInput, };

export type AddPrfParams = { 
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
label?: string, };

export type AddGateParams = { 
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
label?: string, };

export type RemoveMethodParams = { 
/**
 * The method id.
 */
methodId: MethodId, };

export type DeleteKeyParams = { 
/**
 * The key id.
 */
keyId: KeyId, };

export type VapidAuthorizationParams = { 
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
exp?: number, };

export type RelayCreateKeyParams = { 
/**
 * Algorithm.
 */
alg: RelayAlg, };

export type RelayTokenParams = { 
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
ttlSecs?: number, };

export type SignalBundleParams = { 
/**
 * Include a one-time prekey (the first unused one) if any is left.
 */
oneTime?: boolean, };

export type SignalReplenishParams = { 
/**
 * Desired number of unused one-time prekeys.
 */
target?: number, };

export type SignalSignParams = { 
/**
 * The page's message.
 */
message: Bytes, };

export type SignalStartSessionParams = { 
/**
 * The peer.
 */
address: SignalAddress, 
/**
 * The peer device's prekey bundle (its `deviceId` must be the address's).
 */
bundle: PreKeyBundle, };

export type SignalEncryptParams = { 
/**
 * The peer.
 */
address: SignalAddress, 
/**
 * The message.
 */
plaintext: Bytes, 
/**
 * Our account name, when it is a service id: the first messages then carry both
 * addresses, as libsignal's do.
 */
localName?: string, };

export type SignalDecryptParams = { 
/**
 * The sender.
 */
address: SignalAddress, 
/**
 * The serialized message.
 */
message: Bytes, 
/**
 * libsignal's message type: 2 (`SignalMessage`) or 3 (`PreKeySignalMessage`).
 */
messageType: number, 
/**
 * Our account name, when it is a service id (checked against the addresses a
 * message carries).
 */
localName?: string, };

export type SignalDeleteSessionParams = { 
/**
 * The peer.
 */
address: SignalAddress, };

export type SignalIdentityParams = { 
/**
 * The peer.
 */
address: SignalAddress, };

export type SignalTrustParams = { 
/**
 * The peer.
 */
address: SignalAddress, 
/**
 * The identity key to trust for it (base64url of `0x05 ‖ u`).
 */
identityKey: string, 
/**
 * The user compared the safety number (default: no).
 */
verified?: boolean, };

export type SignalSafetyNumberParams = { 
/**
 * The peer whose stored identity key to use.
 */
address: SignalAddress, 
/**
 * Our account name as the fingerprint names it (an ACI UUID, or e.g. a phone number).
 */
localName: string, 
/**
 * The peer's account name as the fingerprint names it.
 */
remoteName: string, 
/**
 * A key to use instead of the stored one (base64url of `0x05 ‖ u`): the new key of a
 * peer whose identity changed, so that the user can compare before trusting it.
 */
identityKey?: string, };

export type EnvelopePrekeysParams = { 
/**
 * How many (1 to 1000).
 */
count: number, 
/**
 * X25519 + ML-KEM-768 (default) or X25519 only.
 */
hybrid?: boolean, };

export type EnvelopeEpochKeyParams = { 
/**
 * For a new key: X25519 + ML-KEM-768 (default) or X25519 only.
 */
hybrid?: boolean, 
/**
 * Create a new epoch key even if one exists.
 */
rotate?: boolean, };

export type EnvelopeOpenParams = { 
/**
 * The envelope.
 */
envelope: Envelope, };

export type Request = { "method": "ping" } | { "method": "status" } | { "method": "setup", "params": SetupParams } | { "method": "lock" } | { "method": "unlock.passphrase", "params": UnlockPassphraseParams } | { "method": "unlock.prf", "params": UnlockPrfParams } | { "method": "unlock.gateChallenge" } | { "method": "unlock.gate", "params": UnlockGateParams } | { "method": "methods.list" } | { "method": "methods.addPassphrase", "params": AddPassphraseParams } | { "method": "methods.changePassphrase", "params": ChangePassphraseParams } | { "method": "methods.prfInput" } | { "method": "methods.addPrf", "params": AddPrfParams } | { "method": "methods.addGate", "params": AddGateParams } | { "method": "methods.remove", "params": RemoveMethodParams } | { "method": "keys.list" } | { "method": "keys.delete", "params": DeleteKeyParams } | { "method": "vapid.publicKey" } | { "method": "vapid.authorization", "params": VapidAuthorizationParams } | { "method": "vapid.rotate" } | { "method": "relay.createKey", "params": RelayCreateKeyParams } | { "method": "relay.token", "params": RelayTokenParams } | { "method": "relay.jwks" } | { "method": "signal.bundle", "params": SignalBundleParams } | { "method": "signal.oneTimePrekeys" } | { "method": "signal.replenish", "params": SignalReplenishParams } | { "method": "signal.rotateSignedPrekey" } | { "method": "signal.sign", "params": SignalSignParams } | { "method": "signal.startSession", "params": SignalStartSessionParams } | { "method": "signal.encrypt", "params": SignalEncryptParams } | { "method": "signal.decrypt", "params": SignalDecryptParams } | { "method": "signal.sessions" } | { "method": "signal.deleteSession", "params": SignalDeleteSessionParams } | { "method": "signal.identity", "params": SignalIdentityParams } | { "method": "signal.trust", "params": SignalTrustParams } | { "method": "signal.safetyNumber", "params": SignalSafetyNumberParams } | { "method": "envelope.prekeys", "params": EnvelopePrekeysParams } | { "method": "envelope.epochKey", "params": EnvelopeEpochKeyParams } | { "method": "envelope.open", "params": EnvelopeOpenParams } | { "method": "audit.export" } | { "method": "audit.verify" };

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
methodId: MethodId, } } | { "method": "ui.removeMethod", "params": { 
/**
 * The method to remove.
 */
methodId: MethodId, } } | { "method": "passkey.addPrf", "params": { 
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
userName?: string, } } | { "method": "storage.requestAccess" } | { "method": "ui.trust", "params": { 
/**
 * The peer.
 */
address: SignalAddress, 
/**
 * Our account name, for the safety number (an ACI UUID, or e.g. a phone number).
 */
localName: string, 
/**
 * The peer's account name, for the safety number.
 */
remoteName: string, 
/**
 * The key to trust when it is not the stored one (base64url of `0x05 ‖ u`): the
 * new key of a peer whose identity changed. Default: the stored key.
 */
identityKey?: string, } };

export type KeyKind = "vapid" | "relay" | "signal-identity" | "signal-signed-prekey" | "signal-one-time-prekey" | "signal-kyber-prekey" | "signal-state" | "signal-session" | "signal-peer-identity" | "signal-kyber-use" | "audit" | "envelope-prekey" | "envelope-epoch";

export type KeyAlg = "ES256" | "EdDSA" | "X25519" | "Kyber1024" | "x25519-aesgcm-v1" | "hybrid-mlkem768-aesgcm-v1" | "signal-session-v1" | "none";

export type KeyInfo = { 
/**
 * Key id.
 */
id: KeyId, 
/**
 * Kind.
 */
kind: KeyKind, 
/**
 * Algorithm.
 */
alg: KeyAlg, 
/**
 * Public key, base64url.
 */
publicKey: string, 
/**
 * Creation time, ms since the epoch.
 */
createdMs: number, };

export type MethodKind = "passphrase" | "passkey-prf" | "passkey-gate";

export type Protection = "passphrase" | "authenticator-secret" | "profile-at-rest";

export type MethodInfo = { 
/**
 * Method id.
 */
id: MethodId, 
/**
 * What kind of method.
 */
kind: MethodKind, 
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

export type IdentityChangeInfo = "new" | "unchanged";

export type IdentityTrust = "unconfirmed" | "confirmed" | "verified";

export type PreKeysUsedInfo = { 
/**
 * The one-time prekey, if the message used one.
 */
oneTimePreKeyId: number | null, 
/**
 * The signed prekey.
 */
signedPreKeyId: number, 
/**
 * The Kyber prekey.
 */
kyberPreKeyId: number, };

export type SignalSessionInfo = { 
/**
 * The peer.
 */
address: SignalAddress, 
/**
 * The current session's remote identity key (base64url), if there is a current one.
 */
remoteIdentityKey: string | null, 
/**
 * The current session's remote registration id.
 */
remoteRegistrationId: number | null, 
/**
 * We started the current session and the peer has not answered yet.
 */
awaitingReply: boolean, 
/**
 * Archived sessions kept for late messages.
 */
archivedSessions: number, 
/**
 * When the record was first written, ms since the epoch.
 */
createdMs: number, };

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

export type StatusResponse = { 
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
methods: Array<MethodInfo>, };

export type UnlockedResponse = { 
/**
 * The method that unlocked.
 */
methodId: MethodId, 
/**
 * When the session ends, if it is time-limited.
 */
sessionExpiresMs: number | null, };

export type ChallengeResponse = { 
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
expiresMs: number, };

export type PrfInputResponse = { 
/**
 * The input to pass as `prf.eval.first`.
 */
prfInput: string, };

export type MethodsResponse = { 
/**
 * Methods.
 */
methods: Array<MethodInfo>, };

export type MethodAddedResponse = { 
/**
 * The new method.
 */
method: MethodInfo, };

export type KeysResponse = { 
/**
 * Public data of each key.
 */
keys: Array<KeyInfo>, };

export type VapidPublicKeyResponse = { 
/**
 * Key id.
 */
keyId: KeyId, 
/**
 * base64url 65-byte uncompressed P-256 point (`applicationServerKey`).
 */
applicationServerKey: string, };

export type VapidAuthorizationResponse = { 
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
expiresAt: number, };

export type RelayKeyResponse = { 
/**
 * Key id (`kid`).
 */
kid: string, 
/**
 * Its public JWK.
 */
jwk: Jwk, };

export type RelayTokenResponse = { 
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
expiresAt: number, };

export type JwksResponse = { 
/**
 * `{"keys": [...]}`.
 */
jwks: Jwks, };

export type SignalBundleResponse = { 
/**
 * The bundle, as libsignal peers expect it.
 */
bundle: PreKeyBundle, };

export type SignalOneTimePrekeysResponse = { 
/**
 * The prekeys.
 */
prekeys: Array<OneTimePrekeyInfo>, };

export type SignalReplenishedResponse = { 
/**
 * How many were generated now.
 */
generated: number, 
/**
 * How many unused ones exist now.
 */
available: number, };

export type SignalSignedPrekeyResponse = { 
/**
 * The new signed prekey id.
 */
id: number, };

export type SignalSignatureResponse = { 
/**
 * 64 bytes, base64url.
 */
signature: string, };

export type EnvelopePrekeysResponse = { 
/**
 * The identity key that signed them (base64url of `0x05 ‖ u`).
 */
identityKey: string, 
/**
 * The prekeys, ready for upload.
 */
prekeys: Array<SignedPrekey>, };

export type EnvelopeEpochKeyResponse = { 
/**
 * The identity key that signed it.
 */
identityKey: string, 
/**
 * The epoch prekey.
 */
prekey: SignedPrekey, };

export type EnvelopeOpenedResponse = { 
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
shredded: boolean, };

export type SignalSessionStartedResponse = { 
/**
 * The peer.
 */
address: SignalAddress, 
/**
 * The peer's identity key (base64url of `0x05 ‖ u`).
 */
identityKey: string, 
/**
 * What the identity store recorded.
 */
identityChange: IdentityChangeInfo, 
/**
 * How far the user trusts the key: `unconfirmed` until the user confirms it in the
 * enclave's UI (`ui.trust`), and encrypting waits for that.
 */
trust: IdentityTrust, };

export type SignalEncryptedResponse = { 
/**
 * The serialized message, base64url.
 */
message: string, 
/**
 * libsignal's message type: 3 (`PreKeySignalMessage`) until the peer answers, then 2.
 */
messageType: number, };

export type SignalDecryptedResponse = { 
/**
 * The message, base64url: the caller asked for it.
 */
plaintext: string, 
/**
 * What the identity store recorded.
 */
identityChange: IdentityChangeInfo, 
/**
 * How far the user trusts the sender's key (replying waits for `confirmed`).
 */
trust: IdentityTrust, 
/**
 * For a message that started a session: the prekeys it used.
 */
preKeysUsed: PreKeysUsedInfo | null, };

export type SignalSessionsResponse = { 
/**
 * One entry per address, sorted by name then device id.
 */
sessions: Array<SignalSessionInfo>, };

export type SignalIdentityResponse = { 
/**
 * The peer.
 */
address: SignalAddress, 
/**
 * The stored identity key (base64url of `0x05 ‖ u`); none before first contact.
 */
identityKey: string | null, 
/**
 * How far the user trusts it.
 */
trust: IdentityTrust, 
/**
 * When the key was first stored, or last set by the user, ms since the epoch.
 */
trustedMs: number | null, };

export type SignalSafetyNumberResponse = { 
/**
 * The 60 digits both users see.
 */
safetyNumber: string, 
/**
 * Our QR code's bytes (libsignal `ScannableFingerprint`), base64url.
 */
scannable: string, 
/**
 * The fingerprint version: 2 when both names are ACI UUIDs, else 1.
 */
version: number, };

export type AuditExportResponse = { 
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
tampered: string | null, };

export type AuditVerifiedResponse = { 
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

export type Response = { "type": "done" } | { "type": "status" } & StatusResponse | { "type": "unlocked" } & UnlockedResponse | { "type": "challenge" } & ChallengeResponse | { "type": "prfInput" } & PrfInputResponse | { "type": "methods" } & MethodsResponse | { "type": "methodAdded" } & MethodAddedResponse | { "type": "keys" } & KeysResponse | { "type": "vapidPublicKey" } & VapidPublicKeyResponse | { "type": "vapidAuthorization" } & VapidAuthorizationResponse | { "type": "relayKey" } & RelayKeyResponse | { "type": "relayToken" } & RelayTokenResponse | { "type": "jwks" } & JwksResponse | { "type": "signalBundle" } & SignalBundleResponse | { "type": "signalOneTimePrekeys" } & SignalOneTimePrekeysResponse | { "type": "signalReplenished" } & SignalReplenishedResponse | { "type": "signalSignedPrekey" } & SignalSignedPrekeyResponse | { "type": "signalSignature" } & SignalSignatureResponse | { "type": "envelopePrekeys" } & EnvelopePrekeysResponse | { "type": "envelopeEpochKey" } & EnvelopeEpochKeyResponse | { "type": "envelopeOpened" } & EnvelopeOpenedResponse | { "type": "signalSessionStarted" } & SignalSessionStartedResponse | { "type": "signalEncrypted" } & SignalEncryptedResponse | { "type": "signalDecrypted" } & SignalDecryptedResponse | { "type": "signalSessions" } & SignalSessionsResponse | { "type": "signalIdentity" } & SignalIdentityResponse | { "type": "signalSafetyNumber" } & SignalSafetyNumberResponse | { "type": "auditExport" } & AuditExportResponse | { "type": "auditVerified" } & AuditVerifiedResponse;

export type ErrorCode = "NotInitialized" | "AlreadyInitialized" | "Locked" | "BadCredential" | "RateLimited" | "KeyNotFound" | "KeyConsumed" | "BadRequest" | "OriginDenied" | "NotPermitted" | "ReauthRequired" | "Misconfigured" | "Unsupported" | "Tampered" | "StorageBlocked" | "Storage" | "Conflict" | "NoSession" | "UntrustedIdentity" | "DuplicateMessage" | "DecryptFailed" | "Internal";

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

export type Policy = "page" | "enclaveUi" | "enclaveUiFresh";

/** The reply whose `type` is `T`. */
export type ResponseOf<T extends Response["type"]> = Extract<Response, { type: T }>;

/** Every method: its params (`undefined`: it takes none) and its result. */
export interface Methods {
  /**
   * Does nothing and touches no storage: a liveness check (and the round-trip benchmark).
   *
   * Audit log: nothing.
   */
  "ping": { params: undefined; result: ResponseOf<"done"> };
  /**
   * Is the enclave set up, unlocked, rate limited; which unlock methods exist.
   *
   * Audit log: nothing.
   */
  "status": { params: undefined; result: ResponseOf<"status"> };
  /**
   * First use: create the KEK and a passphrase unlock method; leaves the enclave unlocked.
   *
   * Audit log: `setup`.
   */
  "setup": { params: SetupParams; result: ResponseOf<"unlocked"> };
  /**
   * Forget the KEK and every unwrapped key.
   *
   * Audit log: `lock`.
   */
  "lock": { params: undefined; result: ResponseOf<"done"> };
  /**
   * Unlock with a passphrase.
   *
   * Audit log: `unlock.passphrase`.
   */
  "unlock.passphrase": { params: UnlockPassphraseParams; result: ResponseOf<"unlocked"> };
  /**
   * Unlock with a passkey's PRF output (obtained by the enclave page itself).
   *
   * Audit log: `unlock.prf`.
   */
  "unlock.prf": { params: UnlockPrfParams; result: ResponseOf<"unlocked"> };
  /**
   * A fresh WebAuthn challenge for a gate unlock or a gate registration.
   *
   * Audit log: `unlock.gate-challenge`.
   */
  "unlock.gateChallenge": { params: undefined; result: ResponseOf<"challenge"> };
  /**
   * Unlock with a WebAuthn assertion over the last challenge: opens a 5-minute session.
   *
   * Audit log: `unlock.gate`.
   */
  "unlock.gate": { params: UnlockGateParams; result: ResponseOf<"unlocked"> };
  /**
   * The configured unlock methods (public data only).
   *
   * Audit log: nothing.
   */
  "methods.list": { params: undefined; result: ResponseOf<"methods"> };
  /**
   * Add another passphrase method (needs the enclave unlocked).
   *
   * Audit log: `methods.add-passphrase`.
   */
  "methods.addPassphrase": { params: AddPassphraseParams; result: ResponseOf<"methodAdded"> };
  /**
   * Replace a passphrase method's passphrase (needs the enclave unlocked).
   *
   * Audit log: `methods.change-passphrase`.
   */
  "methods.changePassphrase": { params: ChangePassphraseParams; result: ResponseOf<"done"> };
  /**
   * The PRF input to use when registering a new PRF method (the enclave page passes it
   * to `navigator.credentials.create`/`get`).
   *
   * Audit log: `methods.prf-input`.
   */
  "methods.prfInput": { params: undefined; result: ResponseOf<"prfInput"> };
  /**
   * Add a passkey-PRF method (needs the enclave unlocked).
   *
   * Audit log: `methods.add-prf`.
   */
  "methods.addPrf": { params: AddPrfParams; result: ResponseOf<"methodAdded"> };
  /**
   * Register a passkey-gate method from a WebAuthn registration over the last challenge.
   *
   * Audit log: `methods.add-gate`.
   */
  "methods.addGate": { params: AddGateParams; result: ResponseOf<"methodAdded"> };
  /**
   * Remove an unlock method (never the last one).
   *
   * Audit log: `methods.remove`.
   */
  "methods.remove": { params: RemoveMethodParams; result: ResponseOf<"done"> };
  /**
   * Public data of every key in the caller's shard.
   *
   * Audit log: nothing.
   */
  "keys.list": { params: undefined; result: ResponseOf<"keys"> };
  /**
   * Delete a key of the caller's shard.
   *
   * Audit log: `keys.delete`.
   */
  "keys.delete": { params: DeleteKeyParams; result: ResponseOf<"done"> };
  /**
   * The shard's VAPID public key (created on first use).
   *
   * Audit log: `vapid.create`.
   */
  "vapid.publicKey": { params: undefined; result: ResponseOf<"vapidPublicKey"> };
  /**
   * A signed RFC 8292 `Authorization` header value.
   *
   * Audit log: `vapid.create`, `vapid.sign`.
   */
  "vapid.authorization": { params: VapidAuthorizationParams; result: ResponseOf<"vapidAuthorization"> };
  /**
   * Replace the shard's VAPID key (subscriptions must be renewed).
   *
   * Audit log: `vapid.rotate`.
   */
  "vapid.rotate": { params: undefined; result: ResponseOf<"vapidPublicKey"> };
  /**
   * Create a relay-token signing key.
   *
   * Audit log: `relay.create-key`.
   */
  "relay.createKey": { params: RelayCreateKeyParams; result: ResponseOf<"relayKey"> };
  /**
   * Issue a relay authorization token.
   *
   * Audit log: `relay.sign`.
   */
  "relay.token": { params: RelayTokenParams; result: ResponseOf<"relayToken"> };
  /**
   * The shard's relay public keys as a JWKS.
   *
   * Audit log: nothing.
   */
  "relay.jwks": { params: undefined; result: ResponseOf<"jwks"> };
  /**
   * The shard's Signal prekey bundle (identity and prekeys are created on first use).
   *
   * Audit log: `signal.create-identity`.
   */
  "signal.bundle": { params: SignalBundleParams; result: ResponseOf<"signalBundle"> };
  /**
   * All unused public one-time prekeys, for upload to a server.
   *
   * Audit log: `signal.create-identity`.
   */
  "signal.oneTimePrekeys": { params: undefined; result: ResponseOf<"signalOneTimePrekeys"> };
  /**
   * Generate one-time prekeys until `target` are available (default: the high-water mark).
   *
   * Audit log: `signal.create-identity`, `signal.replenish`.
   */
  "signal.replenish": { params: SignalReplenishParams; result: ResponseOf<"signalReplenished"> };
  /**
   * Rotate the signed prekey; the previous one is kept for a grace period.
   *
   * Audit log: `signal.create-identity`, `signal.rotate-signed-prekey`.
   */
  "signal.rotateSignedPrekey": { params: undefined; result: ResponseOf<"signalSignedPrekey"> };
  /**
   * Sign the page's own data with the identity key (XEdDSA) under the page-signature
   * domain: the signed bytes are `canonical("kms:page-signature:v1", [origin, message])`
   * ([`crate::signal::page_signature`]), which no prekey, envelope or token format can
   * start with, so the signature certifies nothing but "this origin's enclave signed
   * this message".
   *
   * Audit log: `signal.create-identity`, `signal.sign`.
   */
  "signal.sign": { params: SignalSignParams; result: ResponseOf<"signalSignature"> };
  /**
   * Start a session with a peer device from its prekey bundle (PQXDH initiator); the
   * first messages are `PreKeySignalMessage`s. The bundle's identity key is trusted on
   * first use; a key other than the trusted one is refused (`UntrustedIdentity`).
   *
   * Audit log: `signal.create-identity`, `signal.start-session`.
   */
  "signal.startSession": { params: SignalStartSessionParams; result: ResponseOf<"signalSessionStarted"> };
  /**
   * Encrypt a message to a peer with the session: the ratchet state stays in the enclave.
   *
   * Audit log: `signal.encrypt`.
   */
  "signal.encrypt": { params: SignalEncryptParams; result: ResponseOf<"signalEncrypted"> };
  /**
   * Decrypt a message from a peer; a session's first message starts the session and
   * shreds the one-time prekey it used, in the same transaction. A message that does not
   * decrypt changes nothing stored and records nothing.
   *
   * Audit log: `signal.decrypt`.
   */
  "signal.decrypt": { params: SignalDecryptParams; result: ResponseOf<"signalDecrypted"> };
  /**
   * The shard's sessions (addresses and public data only).
   *
   * Audit log: nothing.
   */
  "signal.sessions": { params: undefined; result: ResponseOf<"signalSessions"> };
  /**
   * Delete the sessions with an address (the trusted identity key stays).
   *
   * Audit log: `signal.delete-session`.
   */
  "signal.deleteSession": { params: SignalDeleteSessionParams; result: ResponseOf<"done"> };
  /**
   * The identity key trusted for an address.
   *
   * Audit log: nothing.
   */
  "signal.identity": { params: SignalIdentityParams; result: ResponseOf<"signalIdentity"> };
  /**
   * Trust an identity key for an address (a changed key, or one the user verified): an
   * authority decision, made by the user in the enclave's UI.
   *
   * Audit log: `signal.trust`.
   */
  "signal.trust": { params: SignalTrustParams; result: ResponseOf<"signalIdentity"> };
  /**
   * The safety number of our identity key and the one trusted for an address.
   *
   * Audit log: `signal.create-identity`.
   */
  "signal.safetyNumber": { params: SignalSafetyNumberParams; result: ResponseOf<"signalSafetyNumber"> };
  /**
   * Generate one-time envelope prekeys signed by the identity key; returns their public
   * parts for upload to a vending service.
   *
   * Audit log: `signal.create-identity`, `envelope.prekeys`.
   */
  "envelope.prekeys": { params: EnvelopePrekeysParams; result: ResponseOf<"envelopePrekeys"> };
  /**
   * The shard's epoch key (Tier 2 fallback), created on first use or when `rotate` is set.
   *
   * Audit log: `signal.create-identity`, `envelope.epoch-key`.
   */
  "envelope.epochKey": { params: EnvelopeEpochKeyParams; result: ResponseOf<"envelopeEpochKey"> };
  /**
   * Open an envelope sealed to one of the shard's prekeys; a one-time prekey is shredded.
   *
   * Audit log: `envelope.open`.
   */
  "envelope.open": { params: EnvelopeOpenParams; result: ResponseOf<"envelopeOpened"> };
  /**
   * The shard's audit log as JSON lines with a fresh signed checkpoint.
   *
   * Audit log: nothing.
   */
  "audit.export": { params: undefined; result: ResponseOf<"auditExport"> };
  /**
   * Verify the shard's audit log against its stored checkpoint.
   *
   * Audit log: nothing.
   */
  "audit.verify": { params: undefined; result: ResponseOf<"auditVerified"> };
}

/** A method's wire name. */
export type Method = keyof Methods;

/** The params of method `M`. */
export type ParamsOf<M extends Method> = Methods[M]["params"];

/** The result of method `M`. */
export type ResultOf<M extends Method> = Methods[M]["result"];

/** The `type` of each method's reply, for checking replies at run time. */
export const RESULT_TYPE = {
  "ping": "done",
  "status": "status",
  "setup": "unlocked",
  "lock": "done",
  "unlock.passphrase": "unlocked",
  "unlock.prf": "unlocked",
  "unlock.gateChallenge": "challenge",
  "unlock.gate": "unlocked",
  "methods.list": "methods",
  "methods.addPassphrase": "methodAdded",
  "methods.changePassphrase": "done",
  "methods.prfInput": "prfInput",
  "methods.addPrf": "methodAdded",
  "methods.addGate": "methodAdded",
  "methods.remove": "done",
  "keys.list": "keys",
  "keys.delete": "done",
  "vapid.publicKey": "vapidPublicKey",
  "vapid.authorization": "vapidAuthorization",
  "vapid.rotate": "vapidPublicKey",
  "relay.createKey": "relayKey",
  "relay.token": "relayToken",
  "relay.jwks": "jwks",
  "signal.bundle": "signalBundle",
  "signal.oneTimePrekeys": "signalOneTimePrekeys",
  "signal.replenish": "signalReplenished",
  "signal.rotateSignedPrekey": "signalSignedPrekey",
  "signal.sign": "signalSignature",
  "signal.startSession": "signalSessionStarted",
  "signal.encrypt": "signalEncrypted",
  "signal.decrypt": "signalDecrypted",
  "signal.sessions": "signalSessions",
  "signal.deleteSession": "done",
  "signal.identity": "signalIdentity",
  "signal.trust": "signalIdentity",
  "signal.safetyNumber": "signalSafetyNumber",
  "envelope.prekeys": "envelopePrekeys",
  "envelope.epochKey": "envelopeEpochKey",
  "envelope.open": "envelopeOpened",
  "audit.export": "auditExport",
  "audit.verify": "auditVerified",
} as const satisfies { readonly [M in Method]: ResultOf<M>["type"] };

/** Who may call each method. */
export const POLICY = {
  "ping": "page",
  "status": "page",
  "setup": "enclaveUi",
  "lock": "page",
  "unlock.passphrase": "enclaveUi",
  "unlock.prf": "enclaveUi",
  "unlock.gateChallenge": "enclaveUi",
  "unlock.gate": "enclaveUi",
  "methods.list": "page",
  "methods.addPassphrase": "enclaveUiFresh",
  "methods.changePassphrase": "enclaveUiFresh",
  "methods.prfInput": "enclaveUiFresh",
  "methods.addPrf": "enclaveUiFresh",
  "methods.addGate": "enclaveUiFresh",
  "methods.remove": "enclaveUiFresh",
  "keys.list": "page",
  "keys.delete": "page",
  "vapid.publicKey": "page",
  "vapid.authorization": "page",
  "vapid.rotate": "page",
  "relay.createKey": "page",
  "relay.token": "page",
  "relay.jwks": "page",
  "signal.bundle": "page",
  "signal.oneTimePrekeys": "page",
  "signal.replenish": "page",
  "signal.rotateSignedPrekey": "page",
  "signal.sign": "page",
  "signal.startSession": "page",
  "signal.encrypt": "page",
  "signal.decrypt": "page",
  "signal.sessions": "page",
  "signal.deleteSession": "page",
  "signal.identity": "page",
  "signal.trust": "enclaveUi",
  "signal.safetyNumber": "page",
  "envelope.prekeys": "page",
  "envelope.epochKey": "page",
  "envelope.open": "page",
  "audit.export": "page",
  "audit.verify": "page",
} as const satisfies { readonly [M in Method]: Policy };

/** The `type` of the reply each ceremony ends with. */
export const CEREMONY_RESULT_TYPE = {
  "ui.setup": "unlocked",
  "ui.unlock": "unlocked",
  "passkey.unlockPrf": "unlocked",
  "passkey.unlockGate": "unlocked",
  "ui.addPassphrase": "methodAdded",
  "ui.changePassphrase": "done",
  "ui.removeMethod": "done",
  "passkey.addPrf": "methodAdded",
  "passkey.addGate": "methodAdded",
  "storage.requestAccess": "done",
  "ui.trust": "signalIdentity",
} as const satisfies { readonly [C in Ceremony["method"]]: Response["type"] };

/** The reply ceremony `C` ends with. */
export type CeremonyResultOf<C extends Ceremony["method"]> =
  ResponseOf<(typeof CEREMONY_RESULT_TYPE)[C]>;
