import { ErrorCode } from '../rpc/errors.js';

/**
 * Errors of the gateway layer (above the RPC layer's LibvirtError and LocalError families). Each carries a
 * stable string `code`, like the RPC errors, so the HTTP error table can map it.
 */

/** Stable codes of the gateway's own errors. */
export const GatewayErrorCode = {
  /** No usable connection to the daemon now (connect failed, connection dropped, waiting to reconnect). */
  DAEMON_UNAVAILABLE: 'ERR_DAEMON_UNAVAILABLE',
  /** No daemon of that name is configured. */
  UNKNOWN_DAEMON: 'ERR_UNKNOWN_DAEMON',
} as const;
export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

/** The daemon cannot be reached now; `retryAfterMs` says when the next connection attempt is due. */
export class DaemonUnavailableError extends Error {
  override readonly name = 'DaemonUnavailableError';
  readonly code = GatewayErrorCode.DAEMON_UNAVAILABLE;

  constructor(
    readonly daemon: string,
    message: string,
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(`daemon '${daemon}' is unavailable: ${message}`, options);
  }
}

/** A request named a daemon the gateway was not configured with. */
export class UnknownDaemonError extends Error {
  override readonly name = 'UnknownDaemonError';
  readonly code = GatewayErrorCode.UNKNOWN_DAEMON;

  constructor(
    readonly daemon: string,
    known: readonly string[],
  ) {
    super(`no daemon named '${daemon}' (known: ${known.join(', ')})`);
  }
}

/**
 * Too many calls to the daemon are running and waiting already; `retryAfterMs` says when to try again. Its code
 * is the RPC layer's ERR_OVERLOADED, which the HTTP error table answers with 503 + Retry-After.
 */
export class OverloadedError extends Error {
  override readonly name = 'OverloadedError';
  readonly code = ErrorCode.OVERLOADED;

  constructor(
    readonly daemon: string,
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(`daemon '${daemon}' is overloaded: ${message}`);
  }
}
