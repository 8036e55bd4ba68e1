import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { KeepaliveProgram, MessageType } from './constants.js';
import { ConnectionClosedError, LocalError, ProtocolError } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { KeepaliveTimer, PING_FRAME, PONG_FRAME, isKeepalive, type KeepaliveOptions } from './keepalive.js';
import { decodeMessage, type Message } from './message.js';

export interface FrameStreamEvents {
  message: [Message];
  close: [LocalError];
}

/**
 * A socket that speaks libvirt frames: it splits the byte stream into messages, answers keepalive PINGs,
 * optionally sends its own, and closes on any framing error (a length-prefixed stream cannot resynchronise).
 * Both the admin client and the embedded daemon sit on top of it.
 */
export class FrameStream extends EventEmitter<FrameStreamEvents> {
  private readonly decoder = new FrameDecoder();
  private readonly keepalive: KeepaliveTimer;
  private closedWith: LocalError | undefined;

  constructor(
    readonly socket: Duplex,
    keepalive: KeepaliveOptions = { intervalSeconds: 0, count: 0 },
  ) {
    super();
    this.keepalive = new KeepaliveTimer(
      keepalive,
      () => this.send(PING_FRAME),
      () => this.close(new ConnectionClosedError('connection closed due to keepalive timeout')),
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) =>
      this.close(new ConnectionClosedError(`connection lost: ${err.message}`, { cause: err, byPeer: true })),
    );
    socket.on('end', () => this.close(new ConnectionClosedError('connection closed by peer', { byPeer: true })));
    socket.on('close', () => this.close(new ConnectionClosedError('connection closed')));
    this.keepalive.start();
  }

  /** Why the stream closed, once it has. */
  get closeReason(): LocalError | undefined {
    return this.closedWith;
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Write one encoded frame; `onWritten` runs once the socket took it. Returns false once closed. */
  send(frame: Buffer, onWritten?: () => void): boolean {
    if (this.closedWith) return false;
    this.socket.write(frame, onWritten && ((err) => (err ? undefined : onWritten())));
    return true;
  }

  /** Close the socket; the first reason given is the one reported. */
  close(reason: LocalError): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    this.keepalive.stop();
    this.socket.destroy();
    this.emit('close', reason);
  }

  /** Close after queued writes are flushed (libvirt's delayed close, used after a final reply). */
  end(reason: LocalError): void {
    if (this.closedWith) return;
    this.socket.end(() => this.close(reason));
  }

  private onData(chunk: Buffer): void {
    if (this.closedWith) return;
    this.keepalive.touch();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.close(err instanceof LocalError ? err : new ProtocolError(String(err)));
      return;
    }
    for (const frame of frames) {
      if (this.closedWith) return;
      let msg: Message;
      try {
        msg = decodeMessage(frame);
      } catch (err) {
        this.close(err instanceof LocalError ? err : new ProtocolError(String(err)));
        return;
      }
      if (isKeepalive(msg.header) && msg.header.type === MessageType.MESSAGE) {
        // PING is answered at once; PONG (or anything else) only counts as a sign of life.
        if (msg.header.proc === KeepaliveProgram.PROC_PING) this.send(PONG_FRAME);
        continue;
      }
      this.emit('message', msg);
    }
  }
}
