/**
 * The error of every step of libvirt's log output and filter syntax (src/util/virlog.c): the daemon sends it on the
 * wire as it is, the gateway answers it with 400.
 */
import { ErrorCode, LocalError } from '../../rpc/errors.js';

/** What libvirtd reports for every syntax error here: VIR_ERR_INVALID_ARG from VIR_FROM_NONE, with its prefix. */
export const LoggingErrorInfo = {
  /** VIR_ERR_INVALID_ARG (virterror.h). */
  CODE: 8,
  /** VIR_FROM_NONE: virlog.c defines VIR_FROM_THIS as VIR_FROM_NONE. */
  DOMAIN: 0,
  /** virErrorMsg() prefix for VIR_ERR_INVALID_ARG; the wire error has str1 = PREFIX + "%s", str2 = detail. */
  PREFIX: 'invalid argument: ',
} as const;

/** A log output/filter string was rejected; `message` is libvirtd's full text, ready to send verbatim. */
export class LoggingSyntaxError extends LocalError {
  override readonly name = 'LoggingSyntaxError';
  /** virErrorNumber libvirtd uses for this error. */
  readonly libvirtCode: number = LoggingErrorInfo.CODE;
  /** virErrorDomain libvirtd uses for this error. */
  readonly libvirtDomain: number = LoggingErrorInfo.DOMAIN;
  /** The message without the prefix (what libvirt sends as str2). */
  readonly detail: string;

  constructor(detail: string) {
    super(ErrorCode.INVALID_ARGUMENT, LoggingErrorInfo.PREFIX + detail);
    this.detail = detail;
  }
}
