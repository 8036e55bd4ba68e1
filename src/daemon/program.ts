import { LogLevel } from '../admin/logging/priority.js';
import { MessageStatus, MessageType } from '../rpc/constants.js';
import { errorPayloadCodec } from '../rpc/error-payload.js';
import type { ProcedureSpec } from '../rpc/client.js';
import { encodeMessage, encodeWith, type MessageHeader, type Message } from '../rpc/message.js';
import { XdrReader } from '../xdr/index.js';
import type { ServerClient } from './client.js';
import { DaemonError, VirErrorDomain, VirErrorNumber, rpcError, virError } from './errors.js';
import { LogCategory, type DaemonLog } from './log.js';
import type { ErrorTemplateStyle } from './versions.js';

/**
 * How a server answers one message, in the order of libvirt's checks (virNetServerProcessMsg,
 * virNetServerProgramDispatch and virNetServerProgramDispatchCall in src/rpc/): program and version, message
 * type, status, procedure, payload, then the procedure itself. Every refusal of a CALL is an error reply with
 * the caller's prog/vers/proc/serial; everything else that is not a CALL gets no reply at all.
 */

/** One procedure of a program: its codecs (from the shared table) and what it does. */
export interface ProcedureHandler<A = unknown, R = unknown> {
  spec: ProcedureSpec<A, R>;
  run(args: A, client: ServerClient): R | Promise<R>;
}

/** A program a server serves (virNetServerProgram). */
export interface RpcProgram {
  prog: number;
  vers: number;
  procedures: ReadonlyMap<number, ProcedureHandler>;
}

/** Make a handler entry; the generic ties `run` to the table entry's argument and result types. */
export function handler<A, R>(
  spec: ProcedureSpec<A, R>,
  run: (args: A, client: ServerClient) => R | Promise<R>,
): ProcedureHandler {
  return { spec, run };
}

/**
 * The reply frame to send for a message, or null when it gets none (the client may also have been closed). Error
 * replies use the template style of the version the daemon claims.
 */
export async function processMessage(
  program: RpcProgram | undefined,
  client: ServerClient,
  msg: Message,
  log: DaemonLog,
  style: ErrorTemplateStyle = 'plain',
): Promise<Buffer | null> {
  const errorReply = (h: MessageHeader, err: DaemonError) => encodeErrorReply(h, err, client, log, style);
  const h = msg.header;
  const isCall = h.type === MessageType.CALL || h.type === MessageType.CALL_WITH_FDS;
  if (!program) {
    if (isCall) {
      // Printed with %d: a program number with the top bit set shows negative, as in libvirt.
      return errorReply(h, rpcError(`Cannot find program ${h.prog | 0} version ${h.vers | 0}`));
    }
    log.log(
      LogCategory.NET_SERVER,
      LogLevel.INFO,
      `Dropping client message, unknown program ${h.prog | 0} version ${h.vers | 0} type ${h.type} proc ${h.proc}`,
    );
    return null;
  }
  // REPLY, MESSAGE, STREAM and unknown types to a known program: dropped (libvirt sends itself a dummy reply).
  if (!isCall) return null;
  if (h.status !== MessageStatus.OK) return errorReply(h, rpcError(`Unexpected message status ${h.status >>> 0}`));
  const proc = program.procedures.get(h.proc);
  if (!proc) return errorReply(h, rpcError(`unknown procedure: ${h.proc}`));
  let args: unknown;
  try {
    // Bytes left after the arguments are ignored, as xdr_* does.
    args = proc.spec.args.decode(new XdrReader(msg.payload));
  } catch {
    return errorReply(h, rpcError('Unable to decode message payload'));
  }
  client.establishIdentity();
  log.log(
    LogCategory.NET_SERVER_PROGRAM,
    LogLevel.DEBUG,
    `prog=${h.prog} ver=${h.vers} type=${h.type} status=${h.status} serial=${h.serial} proc=${h.proc}`,
  );
  let ret: unknown;
  try {
    // Through a promise even when run() throws at once, so that every call takes the same path and replies
    // to calls that finish together keep their order.
    ret = await Promise.resolve().then(() => proc.run(args, client));
  } catch (err) {
    return errorReply(h, asDaemonError(err, log));
  }
  try {
    return encodeWith({ ...h, type: MessageType.REPLY, status: MessageStatus.OK }, proc.spec.ret, ret);
  } catch {
    return errorReply(h, rpcError('Unable to encode message payload'));
  }
}

/**
 * The ERROR reply to a call. When even the error cannot be encoded (a 4 MiB server name echoed in "No server
 * named '...'" is longer than a string may be) libvirtd drops the connection, and so do we.
 */
function encodeErrorReply(
  h: MessageHeader,
  err: DaemonError,
  client: ServerClient,
  log: DaemonLog,
  style: ErrorTemplateStyle,
): Buffer | null {
  logError(err, log);
  try {
    return encodeMessage({ ...h, type: MessageType.REPLY, status: MessageStatus.ERROR }, (w) =>
      errorPayloadCodec.encode(w, err.wirePayload(style)),
    );
  } catch {
    client.close();
    return null;
  }
}

// libvirtd logs every error it raises, but its daemonErrorLogFilter lowers "no such object" errors to debug.
function logError(err: DaemonError, log: DaemonLog): void {
  const quiet = err.virCode === VirErrorNumber.NO_SERVER || err.virCode === VirErrorNumber.NO_CLIENT;
  log.log(LogCategory.ERROR, quiet ? LogLevel.DEBUG : LogLevel.ERROR, err.message);
}

// A bug of ours must still answer the call rather than leave the client waiting.
function asDaemonError(err: unknown, log: DaemonLog): DaemonError {
  if (err instanceof DaemonError) return err;
  log.log(
    LogCategory.NET_SERVER_PROGRAM,
    LogLevel.ERROR,
    `unexpected failure: ${(err as Error)?.stack ?? String(err)}`,
  );
  return virError(
    VirErrorNumber.INTERNAL_ERROR,
    VirErrorDomain.RPC,
    `unexpected failure: ${(err as Error)?.message ?? String(err)}`,
  );
}
