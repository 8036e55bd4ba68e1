import type { Duplex } from 'node:stream';
import type { Codec } from '../xdr/index.js';
import { MessageStatus, MessageType } from './constants.js';
import { errorPayloadCodec } from './error-payload.js';
import {
  CallAbortedError,
  CallTimeoutError,
  ConnectionClosedError,
  LibvirtError,
  type LocalError,
  ProtocolError,
  UnsupportedProcedureError,
  VirErrorNumber,
} from './errors.js';
import { FrameStream } from './frame-stream.js';
import type { KeepaliveOptions } from './keepalive.js';
import { decodePayload, encodeWith, type Message } from './message.js';

/** One remote procedure as the client sees it. */
export interface ProcedureSpec<A, R> {
  name: string;
  prog: number;
  vers: number;
  proc: number;
  args: Codec<A>;
  ret: Codec<R>;
}

export interface CallOptions {
  /** Milliseconds until the call fails with CallTimeoutError (time waiting for a window slot included). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RpcClientOptions {
  /** Default per-call timeout in milliseconds. */
  callTimeoutMs?: number;
  /**
   * Calls on the wire at once. libvirtd reads at most max_client_requests (5) calls per connection and stops
   * reading until one finishes; keeping our own window means calls never pile up inside the daemon. A call that
   * timed out keeps its slot until its late reply arrives; once every slot is held by such calls the daemon is
   * not answering and the connection is recycled.
   */
  maxInFlight?: number;
  keepalive?: KeepaliveOptions;
  /** Told when each call settles (for metrics): procedure name, milliseconds since call(), error if any. Must not throw. */
  onCall?: (procedure: string, durationMs: number, error: Error | undefined) => void;
}

interface PendingCall {
  serial: number;
  proc: number;
  prog: number;
  name: string;
  /** The frame was handed to the socket (a close after that may be the daemon's answer to it). */
  written: boolean;
  decode: (msg: Message) => void;
  fail: (err: Error) => void;
}

interface QueuedCall {
  start: () => void;
  fail: (err: Error) => void;
}

/**
 * A client connection to one daemon: many concurrent calls multiplexed by serial number, replies matched in any
 * order. Every call has a timeout and can be aborted; when the connection ends every pending call fails at once.
 */
export class RpcClient {
  private readonly stream: FrameStream;
  private readonly pending = new Map<number, PendingCall>();
  private readonly abandoned = new Set<number>();
  private readonly queue: QueuedCall[] = [];
  private nextSerial = 0;
  private readonly callTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly closeListeners = new Set<(reason: LocalError) => void>();
  private readonly onCall: RpcClientOptions['onCall'];

  constructor(socket: Duplex, options: RpcClientOptions = {}) {
    this.onCall = options.onCall;
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.maxInFlight = options.maxInFlight ?? 5;
    this.stream = new FrameStream(socket, options.keepalive);
    this.stream.on('message', (msg) => this.onMessage(msg));
    this.stream.on('close', (reason) => this.onClose(reason));
  }

  /** True once the connection has ended; every later call fails at once. */
  get closed(): boolean {
    return this.stream.closed;
  }

  /** Calls currently on the wire. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Calls waiting for a window slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** Register a listener for the end of the connection (with the reason). */
  onClosed(listener: (reason: LocalError) => void): () => void {
    if (this.stream.closeReason) {
      listener(this.stream.closeReason);
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Make one call and resolve with the decoded result. */
  call<A, R>(spec: ProcedureSpec<A, R>, args: A, options: CallOptions = {}): Promise<R> {
    const started = performance.now();
    const result = this.start(spec, args, options);
    const observe = this.onCall;
    if (observe) {
      result.then(
        () => observe(spec.name, performance.now() - started, undefined),
        (err: Error) => observe(spec.name, performance.now() - started, err),
      );
    }
    return result;
  }

  private start<A, R>(spec: ProcedureSpec<A, R>, args: A, options: CallOptions): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const closed = this.stream.closeReason;
      if (closed) return reject(new ConnectionClosedError(`${spec.name}: ${closed.message}`, { cause: closed }));
      if (options.signal?.aborted) return reject(abortError(spec.name, options.signal));

      let serial: number | undefined;
      let settled = false;
      const timeoutMs = options.timeoutMs ?? this.callTimeoutMs;
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: Error) => {
        if (settled) return;
        finish();
        reject(err);
      };
      // A call given up while on the wire leaves its serial behind, so its late reply is recognised and dropped.
      const giveUp = (err: Error) => {
        if (settled) return;
        if (serial !== undefined && this.pending.delete(serial)) this.abandon(serial);
        else this.dequeue(queued);
        fail(err);
        this.pump();
      };
      const onAbort = () => giveUp(abortError(spec.name, options.signal!));
      const timer = setTimeout(
        () => giveUp(new CallTimeoutError(`${spec.name} got no reply within ${timeoutMs} ms`)),
        timeoutMs,
      );
      options.signal?.addEventListener('abort', onAbort, { once: true });

      const queued: QueuedCall = {
        fail,
        start: () => {
          if (settled) return;
          let frame: Buffer;
          serial = this.takeSerial();
          try {
            frame = encodeWith(
              {
                prog: spec.prog,
                vers: spec.vers,
                proc: spec.proc,
                type: MessageType.CALL,
                serial,
                status: MessageStatus.OK,
              },
              spec.args,
              args,
            );
          } catch (err) {
            return fail(err as Error);
          }
          const pending: PendingCall = {
            serial,
            proc: spec.proc,
            prog: spec.prog,
            name: spec.name,
            written: false,
            fail,
            decode: (msg) => {
              if (settled) return;
              let value: R;
              try {
                value =
                  msg.header.status === MessageStatus.OK
                    ? decodePayload(msg.payload, spec.ret)
                    : this.remoteError(spec.name, msg);
              } catch (err) {
                if (err instanceof ProtocolError) {
                  // A reply we cannot decode means the peer does not speak our protocol: stop using it. This
                  // call has already left `pending`, so closing would not reach it: fail it here.
                  fail(err);
                  this.stream.close(err);
                  return;
                }
                return fail(err as Error);
              }
              finish();
              resolve(value);
            },
          };
          this.pending.set(serial, pending);
          this.stream.send(frame, () => (pending.written = true));
        },
      };
      this.queue.push(queued);
      this.pump();
    });
  }

  /** Close the socket now; pending calls fail with ConnectionClosedError. */
  destroy(reason = 'connection closed by client'): void {
    this.stream.close(new ConnectionClosedError(reason));
  }

  private takeSerial(): number {
    const s = this.nextSerial;
    this.nextSerial = (this.nextSerial + 1) >>> 0;
    return s;
  }

  private pump(): void {
    while (this.pending.size + this.abandoned.size < this.maxInFlight && this.queue.length > 0 && !this.stream.closed) {
      this.queue.shift()!.start();
    }
  }

  private dequeue(call: QueuedCall): void {
    const i = this.queue.indexOf(call);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private abandon(serial: number): void {
    this.abandoned.add(serial);
    if (this.abandoned.size >= this.maxInFlight) {
      this.stream.close(
        new ConnectionClosedError('every call slot is held by a call without a reply; connection recycled'),
      );
    }
  }

  private remoteError(name: string, msg: Message): never {
    const e = decodePayload(msg.payload, errorPayloadCodec);
    if (e.code === VirErrorNumber.RPC && e.message?.startsWith('unknown procedure')) {
      throw new UnsupportedProcedureError(name, e.message, e);
    }
    throw new LibvirtError(e.message, e);
  }

  private onMessage(msg: Message): void {
    const h = msg.header;
    if (h.type !== MessageType.REPLY) return; // the admin program sends no events; ignore stray messages
    const call = this.pending.get(h.serial);
    if (!call) {
      if (this.abandoned.delete(h.serial)) return this.pump();
      // libvirt's client treats this as fatal too: the stream can no longer be trusted.
      this.stream.close(
        new ProtocolError(`no call waiting for reply with prog ${h.prog} vers ${h.vers} serial ${h.serial}`),
      );
      return;
    }
    if (h.proc !== call.proc || h.prog !== call.prog) {
      this.stream.close(
        new ProtocolError(`reply to ${call.name} (serial ${h.serial}) carries prog ${h.prog} proc ${h.proc}`),
      );
      return;
    }
    this.pending.delete(h.serial);
    call.decode(msg);
    this.pump();
  }

  private onClose(reason: LocalError): void {
    const byPeer = reason instanceof ConnectionClosedError && reason.byPeer;
    const err = (name: string, requestWritten = false) =>
      new ConnectionClosedError(`${name}: ${reason.message}`, { cause: reason, byPeer, requestWritten });
    for (const call of this.pending.values()) call.fail(err(call.name, call.written));
    this.pending.clear();
    for (const queued of this.queue.splice(0)) queued.fail(err('queued call'));
    for (const listener of this.closeListeners) listener(reason);
    this.closeListeners.clear();
  }
}

function abortError(name: string, signal: AbortSignal): CallAbortedError {
  return new CallAbortedError(`${name} was aborted`, { cause: signal.reason });
}
