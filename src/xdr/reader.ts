import { XdrError } from './errors.js';

/**
 * Cursor over a buffer of XDR data (RFC 4506). Every read checks the remaining length first, and every
 * variable-length item takes the maximum the protocol allows, so hostile input fails with an XdrError
 * instead of reading past the end or allocating without bound.
 */
export class XdrReader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  /** Bytes not yet consumed. */
  get remaining(): number {
    return this.buf.length - this.offset;
  }

  /** Position of the cursor from the start of the buffer. */
  get position(): number {
    return this.offset;
  }

  private take(n: number, what: string): number {
    if (n > this.remaining) {
      throw new XdrError(`truncated ${what}: need ${n} bytes, ${this.remaining} left`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  int(): number {
    return this.buf.readInt32BE(this.take(4, 'int'));
  }

  uint(): number {
    return this.buf.readUInt32BE(this.take(4, 'unsigned int'));
  }

  hyper(): bigint {
    return this.buf.readBigInt64BE(this.take(8, 'hyper'));
  }

  uhyper(): bigint {
    return this.buf.readBigUInt64BE(this.take(8, 'unsigned hyper'));
  }

  double(): number {
    return this.buf.readDoubleBE(this.take(8, 'double'));
  }

  /** XDR bool: only 0 and 1 are legal encodings. */
  bool(): boolean {
    const v = this.int();
    if (v !== 0 && v !== 1) throw new XdrError(`invalid bool value ${v}`);
    return v === 1;
  }

  /** Fixed-length opaque: n bytes plus padding to a multiple of 4. */
  fixedOpaque(n: number): Buffer {
    const at = this.take(n, 'opaque');
    this.take(pad(n), 'opaque padding');
    return this.buf.subarray(at, at + n);
  }

  /** Variable-length opaque with a maximum length (the XDR `<max>` bound). */
  varOpaque(max: number): Buffer {
    const n = this.uint();
    if (n > max) throw new XdrError(`opaque length ${n} exceeds maximum ${max}`);
    return this.fixedOpaque(n);
  }

  /** XDR string with a maximum length in bytes, decoded as UTF-8. */
  string(max: number): string {
    const n = this.uint();
    if (n > max) throw new XdrError(`string length ${n} exceeds maximum ${max}`);
    return this.fixedOpaque(n).toString('utf8');
  }

  /** Optional data (`type *name`): a bool flag, then the value when set. */
  optional<T>(read: (r: XdrReader) => T): T | null {
    return this.bool() ? read(this) : null;
  }

  /** Variable-length array with a maximum element count. */
  array<T>(max: number, read: (r: XdrReader) => T): T[] {
    const n = this.uint();
    if (n > max) throw new XdrError(`array length ${n} exceeds maximum ${max}`);
    // Each element takes at least 4 bytes: refuse counts the data cannot hold before allocating.
    if (n * 4 > this.remaining) throw new XdrError(`array length ${n} exceeds the data left`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }
}

/** Padding bytes that follow n bytes of opaque data. */
export function pad(n: number): number {
  return (4 - (n % 4)) % 4;
}
