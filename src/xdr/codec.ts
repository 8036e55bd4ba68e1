import type { XdrReader } from './reader.js';
import type { XdrWriter } from './writer.js';

/** A pair of functions that write and read one XDR type; each is used on its own (passed as `item.encode`). */
export interface Codec<T> {
  // Methods (for their bivariant parameters, which the procedure table relies on) that use no `this`.
  encode(this: void, w: XdrWriter, value: T): void;
  decode(this: void, r: XdrReader): T;
}

/** The codec of an empty (void) payload. */
export const voidCodec: Codec<void> = {
  encode() {},
  decode() {},
};
