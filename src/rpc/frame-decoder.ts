import { FRAME_MAX, FRAME_MIN } from './constants.js';
import { ProtocolError } from './errors.js';

/**
 * Incremental splitter of a byte stream into frames. It keeps a partial tail between chunks and returns every
 * complete frame. A length word outside [FRAME_MIN, FRAME_MAX] throws: the caller must close the connection,
 * since there is no way to resynchronise a stream of length-prefixed frames.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed = false;

  /** Feed bytes; returns the complete frames (each including its length word). */
  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw new ProtocolError('frame decoder used after a framing error');
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const len = head.readUInt32BE(0);
      if (len < FRAME_MIN || len > FRAME_MAX) {
        this.failed = true;
        throw new ProtocolError(`invalid frame length ${len} (allowed ${FRAME_MIN}..${FRAME_MAX})`);
      }
      if (this.buffered < len) break;
      frames.push(this.consume(len));
    }
    return frames;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private consume(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }
}
