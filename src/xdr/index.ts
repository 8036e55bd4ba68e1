export { XdrError } from './errors.js';
export { XdrReader, pad } from './reader.js';
export { XdrWriter } from './writer.js';
export { type Codec, voidCodec } from './codec.js';
