// The SDK's error type, shared by the client and the release-log verifier.

import type { ErrorCode } from "./generated/rpc.js";

/**
 * Errors raised by the SDK itself, beside the enclave's own {@link ErrorCode}s.
 *
 * - `Timeout`, `Closed`, `HandshakeFailed`, `UnexpectedReply`: the connection.
 * - `IntegrityMismatch`: the enclave page (or its manifest) is not the pinned or logged release.
 * - `NotInLog`: no entry of the release log names the enclave's `sri-manifest.json`.
 * - `Rollback`: the log is smaller than the checkpoint this page stored before.
 * - `Fork`: the log's history differs from the checkpoint this page stored before.
 * - `QuorumNotMet`: too few configured witnesses cosigned the checkpoint, or one of them
 *   signed something that does not verify.
 * - `LogUnavailable`: the log cannot be fetched, does not parse, is not signed by the log key,
 *   or its entries do not hash to its signed root.
 * - `LogTooLarge`: the checkpoint names more entries than the SDK fetches
 *   (`MAX_LOG_SIZE`).
 * - `InvalidLogConfig`: the `log` option's key strings or quorum are invalid.
 */
export type ClientErrorCode =
  | "Timeout"
  | "Closed"
  | "HandshakeFailed"
  | "UnexpectedReply"
  | "IntegrityMismatch"
  | "NotInLog"
  | "Rollback"
  | "Fork"
  | "QuorumNotMet"
  | "LogUnavailable"
  | "LogTooLarge"
  | "InvalidLogConfig";

/** A failed request: `code` is the enclave's stable error code or a client-side one. */
export class KmsError extends Error {
  override readonly name = "KmsError";
  constructor(
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** For `RateLimited`: milliseconds until the next attempt is accepted. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
