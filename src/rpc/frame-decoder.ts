import { FRAME_MAX, FRAME_MIN } from './constants.js';
import { ProtocolError } from './errors.js';

/** First buffer of a frame that spans chunks; it doubles as bytes arrive. */
const INITIAL_BUFFER = 1024;

/**
 * Incremental splitter of a byte stream into frames. It keeps a partial tail between chunks and returns every
 * complete frame. A length word outside [FRAME_MIN, FRAME_MAX] throws: the caller must close the connection,
 * since there is no way to resynchronise a stream of length-prefixed frames.
 *
 * A frame that spans several chunks is copied into one buffer as the bytes arrive, so a peer trickling a large
 * frame a byte at a time costs one buffer, not a chunk list. The buffer grows with what has arrived (doubling, up
 * to the announced length): a peer that announces 32 MiB and sends nothing costs nothing.
 */
export class FrameDecoder {
  /** Bytes of an incomplete length word. */
  private head = Buffer.alloc(0);
  /** The frame being filled, once its length is known: its length, its buffer so far, and the bytes arrived. */
  private frameLength = 0;
  private frame: Buffer | undefined;
  private filled = 0;
  private failed = false;

  /** Feed bytes; returns the complete frames (each including its length word). */
  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw new ProtocolError('frame decoder used after a framing error');
    const frames: Buffer[] = [];
    let data = chunk;
    while (data.length > 0) {
      if (this.frame) {
        const n = Math.min(this.frameLength - this.filled, data.length);
        this.reserve(this.filled + n);
        data.copy(this.frame, this.filled, 0, n);
        this.filled += n;
        data = data.subarray(n);
        if (this.filled === this.frameLength) {
          frames.push(this.frame);
          this.frame = undefined;
        }
        continue;
      }
      if (this.head.length > 0 || data.length < 4) {
        // The length word itself is split across chunks.
        const need = 4 - this.head.length;
        this.head = Buffer.concat([this.head, data.subarray(0, need)]);
        data = data.subarray(need);
        if (this.head.length < 4) break;
        this.startFrame(this.head.readUInt32BE(0), this.head);
        this.head = Buffer.alloc(0);
        continue;
      }
      const len = this.checkLength(data.readUInt32BE(0));
      if (data.length >= len) {
        // Whole frame in this chunk: hand out a view without copying.
        frames.push(data.subarray(0, len));
        data = data.subarray(len);
      } else {
        this.startFrame(len, data.subarray(0, 0));
      }
    }
    return frames;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.frame ? this.filled : this.head.length;
  }

  private startFrame(len: number, prefix: Buffer): void {
    this.frameLength = this.checkLength(len);
    this.frame = Buffer.allocUnsafe(Math.min(len, INITIAL_BUFFER));
    prefix.copy(this.frame, 0);
    this.filled = prefix.length;
  }

  private reserve(size: number): void {
    const frame = this.frame!;
    if (size <= frame.length) return;
    const grown = Buffer.allocUnsafe(Math.min(this.frameLength, Math.max(size, frame.length * 2)));
    frame.copy(grown, 0, 0, this.filled);
    this.frame = grown;
  }

  private checkLength(len: number): number {
    if (len < FRAME_MIN || len > FRAME_MAX) {
      this.failed = true;
      throw new ProtocolError(`invalid frame length ${len} (allowed ${FRAME_MIN}..${FRAME_MAX})`);
    }
    return len;
  }
}
