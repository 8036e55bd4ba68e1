import { XdrError } from './errors.js';
import { pad } from './reader.js';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

/** Growable XDR encoder (RFC 4506). Values outside the XDR type's range raise an XdrError. */
export class XdrWriter {
  private buf: Buffer;
  private offset = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.offset;
  }

  // Callers must call reserve() before touching this.buf: growing replaces the buffer, so an expression like
  // `this.buf.writeX(v, this.reserve(n))` would write into the old, too small one.
  private reserve(n: number): number {
    if (this.offset + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.offset + n));
      this.buf.copy(next, 0, 0, this.offset);
      this.buf = next;
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  int(v: number): this {
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) throw new XdrError(`int out of range: ${v}`);
    const at = this.reserve(4);
    this.buf.writeInt32BE(v, at);
    return this;
  }

  uint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > UINT32_MAX) throw new XdrError(`unsigned int out of range: ${v}`);
    const at = this.reserve(4);
    this.buf.writeUInt32BE(v, at);
    return this;
  }

  hyper(v: bigint): this {
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new XdrError(`hyper out of range: ${v}`);
    const at = this.reserve(8);
    this.buf.writeBigInt64BE(v, at);
    return this;
  }

  uhyper(v: bigint): this {
    if (v < 0n || v >= 1n << 64n) throw new XdrError(`unsigned hyper out of range: ${v}`);
    const at = this.reserve(8);
    this.buf.writeBigUInt64BE(v, at);
    return this;
  }

  double(v: number): this {
    const at = this.reserve(8);
    this.buf.writeDoubleBE(v, at);
    return this;
  }

  bool(v: boolean): this {
    return this.int(v ? 1 : 0);
  }

  /** Fixed-length opaque: the bytes, then zero padding to a multiple of 4. */
  fixedOpaque(data: Uint8Array): this {
    const at = this.reserve(data.length + pad(data.length));
    this.buf.set(data, at);
    this.buf.fill(0, at + data.length, this.offset);
    return this;
  }

  varOpaque(data: Uint8Array, max: number): this {
    if (data.length > max) throw new XdrError(`opaque length ${data.length} exceeds maximum ${max}`);
    return this.uint(data.length).fixedOpaque(data);
  }

  string(s: string, max: number): this {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > max) throw new XdrError(`string length ${bytes.length} exceeds maximum ${max}`);
    return this.uint(bytes.length).fixedOpaque(bytes);
  }

  optional<T>(v: T | null | undefined, write: (w: XdrWriter, v: T) => void): this {
    if (v === null || v === undefined) return this.bool(false);
    this.bool(true);
    write(this, v);
    return this;
  }

  array<T>(items: readonly T[], max: number, write: (w: XdrWriter, v: T) => void): this {
    if (items.length > max) throw new XdrError(`array length ${items.length} exceeds maximum ${max}`);
    this.uint(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  /** Overwrite a u32 already written at `at` (used to back-fill a frame length). */
  patchUint(at: number, v: number): this {
    this.buf.writeUInt32BE(v, at);
    return this;
  }

  /** The encoded bytes (a view, valid until the next write). */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.offset);
  }
}
