import { XdrReader, XdrWriter, type Codec } from '../xdr/index.js';
import { FRAME_MAX, FRAME_MIN, FrameLimits, MessageType, type MessageStatus } from './constants.js';
import { ProtocolError } from './errors.js';

/** The fixed header of every libvirt RPC frame (virNetMessageHeader). */
export interface MessageHeader {
  prog: number;
  vers: number;
  proc: number;
  type: MessageType;
  serial: number;
  status: MessageStatus;
}

/** A decoded frame: its header and the payload bytes that follow it. */
export interface Message {
  header: MessageHeader;
  payload: Buffer;
}

/**
 * Encode one frame: length word, header, payload written by `writePayload`. The length is back-filled once the
 * payload is known, and a frame larger than libvirt accepts is refused here rather than by the peer.
 */
export function encodeMessage(header: MessageHeader, writePayload?: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(64);
  w.uint(0)
    .uint(header.prog)
    .uint(header.vers)
    .int(header.proc)
    .int(header.type)
    .uint(header.serial)
    .int(header.status);
  writePayload?.(w);
  if (w.length > FRAME_MAX) {
    throw new ProtocolError(`message of ${w.length} bytes exceeds the ${FRAME_MAX}-byte frame limit`);
  }
  w.patchUint(0, w.length);
  return Buffer.from(w.toBuffer());
}

/** Encode a frame whose payload is one value of a codec. */
export function encodeWith<T>(header: MessageHeader, codec: Codec<T>, value: T): Buffer {
  return encodeMessage(header, (w) => codec.encode(w, value));
}

/**
 * Decode one complete frame (length word included). Frames with file descriptors carry a count before the
 * payload; the admin protocol never passes descriptors, so a non-zero count is a protocol violation.
 */
export function decodeMessage(frame: Buffer): Message {
  if (frame.length < FRAME_MIN) throw new ProtocolError(`frame of ${frame.length} bytes is shorter than a header`);
  const r = new XdrReader(frame);
  r.uint(); // length word, already checked by the frame decoder
  const header: MessageHeader = {
    prog: r.uint(),
    vers: r.uint(),
    proc: r.int(),
    type: r.int() as MessageType,
    serial: r.uint(),
    status: r.int() as MessageStatus,
  };
  let payloadStart = FRAME_MIN;
  if (header.type === MessageType.CALL_WITH_FDS || header.type === MessageType.REPLY_WITH_FDS) {
    if (r.remaining < 4) throw new ProtocolError('frame with descriptors lacks the descriptor count');
    const nfds = r.uint();
    if (nfds > FrameLimits.NUM_FDS_MAX) throw new ProtocolError(`too many file descriptors: ${nfds}`);
    if (nfds !== 0) throw new ProtocolError('file descriptors are not supported on admin connections');
    payloadStart += 4;
  }
  return { header, payload: frame.subarray(payloadStart) };
}

/** Decode a payload with a codec, turning malformed data into a ProtocolError. */
export function decodePayload<T>(payload: Buffer, codec: Codec<T>): T {
  const r = new XdrReader(payload);
  try {
    return codec.decode(r);
  } catch (err) {
    throw new ProtocolError(`unable to decode message payload: ${(err as Error).message}`, { cause: err });
  }
}
