import type { XdrReader } from './reader.js';
import type { XdrWriter } from './writer.js';

/** A pair of functions that write and read one XDR type. */
export interface Codec<T> {
  encode(w: XdrWriter, value: T): void;
  decode(r: XdrReader): T;
}

/** The codec of an empty (void) payload. */
export const voidCodec: Codec<void> = {
  encode() {},
  decode() {},
};
