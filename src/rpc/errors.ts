/**
 * The two error families of the RPC layer. Each error carries a stable string `code`.
 * - LibvirtError: an error the daemon sent (virNetMessageError), with libvirt's number, domain and message.
 * - LocalError subclasses: what went wrong on our side of the socket.
 */

/** Stable codes of every error this package raises. */
export const ErrorCode = {
  LIBVIRT: 'ERR_LIBVIRT',
  UNSUPPORTED: 'ERR_UNSUPPORTED_PROCEDURE',
  CONNECT: 'ERR_CONNECT',
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  TIMEOUT: 'ERR_CALL_TIMEOUT',
  ABORTED: 'ERR_CALL_ABORTED',
  PROTOCOL: 'ERR_PROTOCOL',
  INVALID_URI: 'ERR_INVALID_URI',
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  OVERLOADED: 'ERR_OVERLOADED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** virErrorNumber values the admin API uses (include/libvirt/virterror.h). */
export const VirErrorNumber = {
  INTERNAL_ERROR: 1,
  INVALID_ARG: 8,
  OPERATION_DENIED: 29,
  SYSTEM_ERROR: 38,
  RPC: 39,
  ARGUMENT_UNSUPPORTED: 74,
  NO_SERVER: 95,
  NO_CLIENT: 96,
} as const;
export type VirErrorNumber = (typeof VirErrorNumber)[keyof typeof VirErrorNumber];

/** virErrorDomain values: which libvirt module raised the error (VIR_FROM_THIS of the C file). */
export const VirErrorDomain = {
  NONE: 0,
  RPC: 7,
  ADMIN: 62,
} as const;
export type VirErrorDomain = (typeof VirErrorDomain)[keyof typeof VirErrorDomain];

/** Fields of virNetMessageError beyond the message (virnetprotocol.x). */
export interface LibvirtErrorDetails {
  code: number;
  domain: number;
  level: number;
  str1: string | null;
  str2: string | null;
  str3: string | null;
  int1: number;
  int2: number;
}

/** An error reported by the daemon; keeps libvirt's error number, domain and message. */
export class LibvirtError extends Error {
  override readonly name: string = 'LibvirtError';
  readonly code: ErrorCode = ErrorCode.LIBVIRT;
  /** virErrorNumber. */
  readonly libvirtCode: number;
  /** virErrorDomain. */
  readonly libvirtDomain: number;
  readonly details: LibvirtErrorDetails;

  constructor(message: string | null, details: LibvirtErrorDetails) {
    // libvirt's client shows a NULL message as "Unknown error" (virerror.c).
    super(message ?? 'Unknown error');
    this.libvirtCode = details.code;
    this.libvirtDomain = details.domain;
    this.details = details;
  }
}

/**
 * The daemon does not know the procedure (it answered "unknown procedure: N"). libvirt's own client turns this
 * into VIR_ERR_NO_SUPPORT; we keep the daemon's original error in the details.
 */
export class UnsupportedProcedureError extends LibvirtError {
  override readonly name = 'UnsupportedProcedureError';
  override readonly code: ErrorCode = ErrorCode.UNSUPPORTED;
  readonly procedure: string;

  constructor(procedure: string, message: string | null, details: LibvirtErrorDetails) {
    super(`${procedure} is unsupported by this daemon (${message ?? 'unknown procedure'})`, details);
    this.procedure = procedure;
  }
}

/** Base of errors raised on our side of the connection. */
export class LocalError extends Error {
  override readonly name: string = 'LocalError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The socket could not be opened. */
export class ConnectError extends LocalError {
  override readonly name = 'ConnectError';
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.CONNECT, message, options);
  }
}

/** What a ConnectionClosedError knows about how the connection ended. */
export interface ConnectionClosedOptions extends ErrorOptions {
  /** The peer ended it (EOF or a socket error such as a reset), not our side (destroy, keepalive, protocol error). */
  byPeer?: boolean;
  /** The failed call's frame had been handed to the socket before the end (the peer could have read it). */
  requestWritten?: boolean;
}

/** The connection ended (EOF, reset, keepalive timeout, local close) while a call was pending or being made. */
export class ConnectionClosedError extends LocalError {
  override readonly name = 'ConnectionClosedError';
  readonly byPeer: boolean;
  readonly requestWritten: boolean;
  constructor(message: string, options: ConnectionClosedOptions = {}) {
    const { byPeer = false, requestWritten = false, ...errorOptions } = options;
    super(ErrorCode.CONNECTION_CLOSED, message, errorOptions);
    this.byPeer = byPeer;
    this.requestWritten = requestWritten;
  }
}

/** A call got no reply within its timeout. */
export class CallTimeoutError extends LocalError {
  override readonly name = 'CallTimeoutError';
  constructor(message: string) {
    super(ErrorCode.TIMEOUT, message);
  }
}

/** A call was aborted through its AbortSignal. */
export class CallAbortedError extends LocalError {
  override readonly name = 'CallAbortedError';
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.ABORTED, message, options);
  }
}

/** The peer broke the protocol (bad frame length, undecodable payload, unexpected reply). */
export class ProtocolError extends LocalError {
  override readonly name = 'ProtocolError';
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.PROTOCOL, message, options);
  }
}

/** An argument was rejected before anything was sent (bad URI, value out of range). */
export class InvalidArgumentError extends LocalError {
  override readonly name = 'InvalidArgumentError';
  constructor(message: string, code: ErrorCode = ErrorCode.INVALID_ARGUMENT, options?: ErrorOptions) {
    super(code, message, options);
  }
}
