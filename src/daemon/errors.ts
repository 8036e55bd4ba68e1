import { constants as osConstants } from 'node:os';
import type { ErrorPayload } from '../rpc/error-payload.js';
import { VirErrorDomain, VirErrorNumber } from '../rpc/errors.js';
import type { ErrorTemplateStyle } from './versions.js';

export { VirErrorDomain, VirErrorNumber };

/**
 * The errors the embedded daemon sends, built the way libvirt's virerror.c fills virNetMessageError, so that a
 * client (virt-admin included) sees exactly what libvirtd 9.0.0 would send: code, domain, message, str1 (the
 * message template), str2 (the detail) and int1/int2. A daemon claiming 11.3.0 sends them with positional
 * templates (see wirePayload).
 */

/** virErrorLevel VIR_ERR_ERROR: every error libvirtd sends has it. */
const VIR_ERR_ERROR = 2;

// virErrorMsg() in virerror.c: the message template of each code; the detail replaces %s.
const TEMPLATES: Record<VirErrorNumber, string> = {
  [VirErrorNumber.INTERNAL_ERROR]: 'internal error: %s',
  [VirErrorNumber.INVALID_ARG]: 'invalid argument: %s',
  [VirErrorNumber.OPERATION_DENIED]: 'operation forbidden: %s',
  [VirErrorNumber.SYSTEM_ERROR]: '%s',
  [VirErrorNumber.RPC]: '%s',
  [VirErrorNumber.ARGUMENT_UNSUPPORTED]: 'argument unsupported: %s',
  [VirErrorNumber.NO_SERVER]: 'Server not found: %s',
  [VirErrorNumber.NO_CLIENT]: 'Client not found: %s',
};

/** An error to send back as a status=ERROR reply; `payload` is what libvirt 9.0.0 puts on the wire. */
export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  /**
   * @param templated str1 is one of virerror.c's "prefix: %s" templates (not a function name, not a bare "%s"),
   * so its form depends on the version claimed.
   */
  constructor(
    readonly payload: ErrorPayload,
    readonly templated = false,
  ) {
    super(payload.message ?? 'Unknown error');
  }

  /** virErrorNumber of the error. */
  get virCode(): number {
    return this.payload.code;
  }

  /**
   * The payload as a daemon with this template style sends it. libvirt turned its translatable templates into
   * positional ones ("internal error: %1$s") between 9.0.0 and 11.3.0; only str1 shows it, the message is the same.
   */
  wirePayload(style: ErrorTemplateStyle): ErrorPayload {
    if (style === 'plain' || !this.templated || this.payload.str1 === null) return this.payload;
    return { ...this.payload, str1: this.payload.str1.replace('%s', '%1$s') };
  }
}

/** Like virReportError(code, "%s", detail) in a C file whose VIR_FROM_THIS is `domain`. */
export function virError(code: VirErrorNumber, domain: VirErrorDomain, detail: string): DaemonError {
  const template = TEMPLATES[code];
  return new DaemonError(
    {
      code,
      domain,
      message: template.replace('%s', detail),
      level: VIR_ERR_ERROR,
      dom: null,
      str1: template,
      str2: detail,
      str3: null,
      int1: -1,
      int2: -1,
      net: null,
    },
    // virerror.c keeps a bare "%s" for the codes without a prefix (RPC, system errors) in every version.
    template !== '%s',
  );
}

/** VIR_ERR_RPC from the RPC layer (virnetserverprogram.c, virnetmessage.c): no prefix. */
export function rpcError(detail: string): DaemonError {
  return virError(VirErrorNumber.RPC, VirErrorDomain.RPC, detail);
}

/**
 * virCheckFlags(0, -1) in function `fn` of the admin module: virReportInvalidArg puts the function name in str1,
 * the argument name in str2, zeros in int1/int2, and the message carries no "invalid argument: " prefix.
 */
export function flagsError(fn: string, flags: number): DaemonError {
  return new DaemonError({
    code: VirErrorNumber.INVALID_ARG,
    domain: VirErrorDomain.ADMIN,
    message: `unsupported flags (0x${flags.toString(16)}) in function ${fn}`,
    level: VIR_ERR_ERROR,
    dom: null,
    str1: fn,
    str2: 'flags',
    str3: null,
    int1: 0,
    int2: 0,
    net: null,
  });
}

/** Throws flagsError unless every bit of `flags` is in `allowed` (virCheckFlags). */
export function checkFlags(fn: string, flags: number, allowed = 0): void {
  if ((flags & ~allowed) !== 0) throw flagsError(fn, flags);
}

/**
 * virReportSystemError(errno, fmt): the detail is followed by ": <strerror>", the template is "%s" and int1
 * carries errno (seen live: `failed to open /tmp: Is a directory` has int1 = 21).
 */
export function systemError(err: NodeJS.ErrnoException, detail: string): DaemonError {
  const errno = errnoOf(err);
  const message = `${detail}: ${strerror(err)}`;
  const base = virError(VirErrorNumber.SYSTEM_ERROR, VirErrorDomain.NONE, message);
  return new DaemonError({ ...base.payload, int1: errno });
}

/**
 * What virNetMessageSaveError sends when a call failed without reporting an error (libvirtd's GET of zero log
 * outputs): a bare internal error from the RPC domain, no templates, zeros in int1/int2.
 */
export function unsetError(): DaemonError {
  return new DaemonError({
    code: VirErrorNumber.INTERNAL_ERROR,
    domain: VirErrorDomain.RPC,
    message: 'Library function returned error but did not set virError',
    level: VIR_ERR_ERROR,
    dom: null,
    str1: null,
    str2: null,
    str3: null,
    int1: 0,
    int2: 0,
    net: null,
  });
}

// glibc's strerror() texts for the errors opening a log file can meet; libuv's own texts differ in case and
// wording, and libvirt prints glibc's.
const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ETXTBSY: 'Text file busy',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  EOVERFLOW: 'Value too large for defined data type',
  EDQUOT: 'Disk quota exceeded',
  EWOULDBLOCK: 'Resource temporarily unavailable',
  ENOTSUP: 'Operation not supported',
  EOPNOTSUPP: 'Operation not supported',
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
};

/** glibc's text for a Node system error (falls back to libuv's text for codes not in the table). */
export function strerror(err: NodeJS.ErrnoException): string {
  const known = err.code ? STRERROR[err.code] : undefined;
  if (known) return known;
  const text = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message)?.[1] ?? err.message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The positive errno number of a Node system error (Node reports it negated), or 0 when unknown. */
export function errnoOf(err: NodeJS.ErrnoException): number {
  if (err.code && err.code in osConstants.errno) {
    return osConstants.errno[err.code as keyof typeof osConstants.errno];
  }
  return typeof err.errno === 'number' ? Math.abs(err.errno) : 0;
}
