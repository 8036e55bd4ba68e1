// Builds expected wire bytes by hand, independently of src/xdr: each helper writes one XDR item with Buffer's
// own methods, so a bug in the encoder under test cannot hide in the expectation.

/** Bytes from hex text; blanks and newlines are ignored (the vectors are written in 4-byte groups). */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** A 4-byte big-endian unsigned int. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A 4-byte big-endian signed int. */
export function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** An 8-byte big-endian unsigned hyper. */
export function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

/** An 8-byte big-endian signed hyper. */
export function i64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
}

/** An 8-byte IEEE 754 double. */
export function f64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(n);
  return b;
}

/** Opaque bytes followed by zero padding to a multiple of 4 (no length word). */
export function padded(bytes: Uint8Array): Buffer {
  return Buffer.concat([bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
}

/** An XDR string: length word, UTF-8 bytes, zero padding. */
export function str(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([u32(bytes.length), padded(bytes)]);
}

/** An optional string: flag 0, or flag 1 then the string. */
export function optStr(s: string | null): Buffer {
  return s === null ? u32(0) : Buffer.concat([u32(1), str(s)]);
}

/** Header fields of a frame, in wire order. */
export interface RawHeader {
  prog: number;
  vers?: number;
  proc: number;
  type: number;
  serial: number;
  status?: number;
}

/** A whole frame: length word (counting itself), header, payload parts. */
export function frame(h: RawHeader, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat([
    u32(h.prog),
    u32(h.vers ?? 1),
    i32(h.proc),
    i32(h.type),
    u32(h.serial),
    i32(h.status ?? 0),
    ...payload,
  ]);
  return Buffer.concat([u32(body.length + 4), body]);
}

/** Header fields read back from a frame with Buffer's own methods. */
export function readHeader(f: Buffer): Required<RawHeader> & { length: number } {
  return {
    length: f.readUInt32BE(0),
    prog: f.readUInt32BE(4),
    vers: f.readUInt32BE(8),
    proc: f.readInt32BE(12),
    type: f.readInt32BE(16),
    serial: f.readUInt32BE(20),
    status: f.readInt32BE(24),
  };
}

/** A copy of `f` with its serial word replaced (to reuse a captured reply for another serial). */
export function withSerial(f: Buffer, serial: number): Buffer {
  const copy = Buffer.from(f);
  copy.writeUInt32BE(serial, 20);
  return copy;
}

/** Constants the tests spell out themselves rather than import from the code under test. */
export const ADMIN_PROG = 0x06900690;
export const KEEPALIVE_PROG = 0x6b656570;
export const CALL = 0;
export const REPLY = 1;
export const MESSAGE = 2;

/**
 * Splits a byte stream into whole frames by their length word, keeping the partial tail between chunks: the
 * tests' own reader, not the FrameDecoder under test. A length word below 4 could never advance the stream, so
 * splitting stops there (what follows stays buffered; the test sees no further frame).
 */
export class FrameSplitter {
  private tail: Buffer = Buffer.alloc(0);

  /** Adds `chunk` and returns every frame it completed, in order. */
  push(chunk: Buffer): Buffer[] {
    this.tail = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const frames: Buffer[] = [];
    while (this.tail.length >= 4) {
      const len = this.tail.readUInt32BE(0);
      if (len < 4 || this.tail.length < len) break;
      frames.push(this.tail.subarray(0, len));
      this.tail = this.tail.subarray(len);
    }
    return frames;
  }
}

/**
 * remote_protocol.x: REMOTE_PROGRAM 0x20008086, version 1, REMOTE_PROC_AUTH_LIST (66), CALL, serial 1, status OK,
 * no arguments. A client's first call: libvirtd records its identity only once it dispatched one
 * (virnetserverprogram.c), and on a socket with auth "none" this one always succeeds.
 */
export const AUTH_LIST_CALL = hex('0000001c 20008086 00000001 00000042 00000000 00000001 00000000');
