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

/**
 * Try again later: the daemon cannot be reached now (ERR_DAEMON_UNAVAILABLE), or too many calls or changes are
 * running and waiting already (the RPC layer's ERR_OVERLOADED). `retryAfterMs` says when a retry makes sense; the
 * HTTP error table answers both with 503 and Retry-After.
 */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
  constructor(
    readonly code: typeof GatewayErrorCode.DAEMON_UNAVAILABLE | typeof ErrorCode.OVERLOADED,
    message: string,
    readonly retryAfterMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The daemon cannot be reached now; `retryAfterMs` is the time until the next connection attempt. */
export function daemonUnavailable(
  daemon: string,
  message: string,
  retryAfterMs: number,
  options?: ErrorOptions,
): RetryLaterError {
  return new RetryLaterError(
    GatewayErrorCode.DAEMON_UNAVAILABLE,
    `daemon '${daemon}' is unavailable: ${message}`,
    retryAfterMs,
    options,
  );
}

/** Too many calls to the daemon are running and waiting already. */
export function daemonOverloaded(daemon: string, message: string, retryAfterMs: number): RetryLaterError {
  return new RetryLaterError(ErrorCode.OVERLOADED, `daemon '${daemon}' is overloaded: ${message}`, retryAfterMs);
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
