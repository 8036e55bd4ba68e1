import { KeepaliveProgram, MessageStatus, MessageType } from './constants.js';
import { encodeMessage, type MessageHeader } from './message.js';

/** Settings of our own keepalive pings (libvirt's keepalive_interval / keepalive_count). */
export interface KeepaliveOptions {
  /** Seconds of silence before a PING is sent; 0 disables pinging (we still answer PINGs). */
  intervalSeconds: number;
  /** PINGs that may go unanswered before the peer is declared dead. */
  count: number;
}

function keepaliveFrame(proc: number): Buffer {
  return encodeMessage({
    prog: KeepaliveProgram.PROGRAM,
    vers: KeepaliveProgram.VERSION,
    proc,
    type: MessageType.MESSAGE,
    serial: 0,
    status: MessageStatus.OK,
  });
}

/** The 28-byte PING frame (virkeepaliveprotocol.x). */
export const PING_FRAME = keepaliveFrame(KeepaliveProgram.PROC_PING);
/** The 28-byte PONG frame. */
export const PONG_FRAME = keepaliveFrame(KeepaliveProgram.PROC_PONG);

/** True when the header belongs to the keepalive program. */
export function isKeepalive(h: MessageHeader): boolean {
  return h.prog === KeepaliveProgram.PROGRAM;
}

/**
 * Timer logic of libvirt's virkeepalive.c: every incoming packet resets the countdown; after each silent
 * interval a PING goes out; once `count` PINGs went unanswered and one more interval passes, `onDead` fires.
 */
export class KeepaliveTimer {
  private timer: NodeJS.Timeout | undefined;
  private unanswered = 0;

  constructor(
    private readonly options: KeepaliveOptions,
    private readonly sendPing: () => void,
    private readonly onDead: () => void,
  ) {}

  /** Start (or restart) the countdown; a no-op when pinging is disabled. */
  start(): void {
    if (this.options.intervalSeconds <= 0) return;
    this.unanswered = 0;
    this.arm();
  }

  /** Any packet from the peer proves it alive. */
  touch(): void {
    if (this.timer === undefined) return;
    this.unanswered = 0;
    this.timer.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = setTimeout(() => this.tick(), this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  private tick(): void {
    if (this.unanswered >= this.options.count) {
      this.stop();
      this.onDead();
      return;
    }
    this.unanswered++;
    this.sendPing();
    this.arm();
  }
}
