import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FRAME_MAX, KeepaliveProgram, MessageStatus, MessageType } from '../../src/rpc/constants.js';
import { ProtocolError } from '../../src/rpc/errors.js';
import { decodeMessage, decodePayload, encodeMessage, encodeWith } from '../../src/rpc/message.js';
import { XdrError, type Codec } from '../../src/xdr/index.js';
import { ADMIN_PROG, frame, hex, u32 } from '../helpers/bytes.js';
import { V1, V2, V3, V4, V5, V7 } from '../helpers/vectors.js';

const admin = (proc: number, type: MessageType, serial: number, status: MessageStatus = MessageStatus.OK) => ({
  prog: ADMIN_PROG,
  vers: 1,
  proc,
  type,
  serial,
  status,
});
const uintCodec: Codec<number> = { encode: (w, v) => void w.uint(v), decode: (r) => r.uint() };

describe('encodeMessage', () => {
  it('encodes the captured calls byte for byte', () => {
    assert.deepEqual(
      encodeMessage(admin(1, MessageType.CALL, 0), (w) => w.uint(0)),
      V1.call,
    );
    assert.deepEqual(encodeMessage(admin(3, MessageType.CALL, 1)), V3.call);
    assert.deepEqual(encodeMessage(admin(2, MessageType.CALL, 2)), V4.call);
    assert.deepEqual(
      encodeMessage(admin(4, MessageType.CALL, 1), (w) => w.uint(1).uint(0)),
      V2.call,
    );
  });

  it('encodes replies, keepalive messages and error statuses', () => {
    assert.deepEqual(encodeMessage(admin(1, MessageType.REPLY, 0)), V1.reply);
    assert.deepEqual(
      encodeMessage({
        prog: KeepaliveProgram.PROGRAM,
        vers: 1,
        proc: 1,
        type: MessageType.MESSAGE,
        serial: 0,
        status: MessageStatus.OK,
      }),
      V7.ping,
    );
    assert.deepEqual(
      encodeMessage(admin(5, MessageType.REPLY, 1, MessageStatus.ERROR), (w) => w.fixedOpaque(V5.reply.subarray(28))),
      V5.reply,
    );
  });

  it('back-fills the length word, counting itself', () => {
    const f = encodeWith(admin(19, MessageType.CALL, 7), uintCodec, 0xdead);
    assert.deepEqual(f, frame({ prog: ADMIN_PROG, proc: 19, type: 0, serial: 7 }, u32(0xdead)));
  });

  it('keeps negative procedures and serials above 2^31', () => {
    const f = encodeMessage(admin(-1, MessageType.CALL, 0xdeadbeef));
    assert.deepEqual(f, hex('0000001c 06900690 00000001 ffffffff 00000000 deadbeef 00000000'));
  });

  it('returns an independent copy', () => {
    const a = encodeMessage(admin(3, MessageType.CALL, 1));
    const b = encodeMessage(admin(3, MessageType.CALL, 2));
    assert.equal(a.readUInt32BE(20), 1);
    assert.equal(b.readUInt32BE(20), 2);
  });

  it('refuses a frame above the 32 MiB limit and accepts one of exactly FRAME_MAX', () => {
    const payload = FRAME_MAX - 28;
    assert.equal(
      encodeMessage(admin(3, MessageType.CALL, 1), (w) => w.fixedOpaque(Buffer.alloc(payload))).length,
      FRAME_MAX,
    );
    assert.throws(
      () => encodeMessage(admin(3, MessageType.CALL, 1), (w) => w.fixedOpaque(Buffer.alloc(payload + 4))),
      (e: unknown) => e instanceof ProtocolError && /exceeds the 33554436-byte frame limit/.test(e.message),
    );
  });

  it('refuses header values out of range', () => {
    assert.throws(() => encodeMessage(admin(3, MessageType.CALL, -1)), XdrError);
    assert.throws(() => encodeMessage(admin(2 ** 31, MessageType.CALL, 0)), XdrError);
  });
});

describe('decodeMessage', () => {
  it("decodes the captured replies' headers and payloads", () => {
    const m = decodeMessage(V2.reply);
    assert.deepEqual(m.header, {
      prog: ADMIN_PROG,
      vers: 1,
      proc: 4,
      type: MessageType.REPLY,
      serial: 1,
      status: MessageStatus.OK,
    });
    assert.deepEqual(m.payload, V2.reply.subarray(28));
    assert.deepEqual(decodeMessage(V1.reply).payload, Buffer.alloc(0));
    assert.equal(decodeMessage(V5.reply).header.status, MessageStatus.ERROR);
    assert.deepEqual(decodeMessage(V7.pong).header, {
      prog: KeepaliveProgram.PROGRAM,
      vers: 1,
      proc: 2,
      type: MessageType.MESSAGE,
      serial: 0,
      status: 0,
    });
  });

  it('reads signed proc and status and unsigned serial', () => {
    const m = decodeMessage(hex('0000001c 06900690 00000001 ffffffff 00000007 deadbeef ffffffff'));
    assert.equal(m.header.proc, -1);
    assert.equal(m.header.type, 7);
    assert.equal(m.header.serial, 0xdeadbeef);
    assert.equal(m.header.status, -1);
  });

  it('refuses a frame shorter than a header', () => {
    assert.throws(() => decodeMessage(V1.reply.subarray(0, 27)), ProtocolError);
    assert.throws(() => decodeMessage(Buffer.alloc(0)), ProtocolError);
  });

  it('skips a zero descriptor count on CALL_WITH_FDS / REPLY_WITH_FDS', () => {
    for (const type of [4, 5]) {
      const m = decodeMessage(frame({ prog: ADMIN_PROG, proc: 3, type, serial: 1 }, u32(0), u32(42)));
      assert.equal(m.header.type, type);
      assert.deepEqual(m.payload, u32(42));
    }
  });

  it('refuses descriptors: a missing count, a count over 32, any non-zero count', () => {
    assert.throws(
      () => decodeMessage(frame({ prog: ADMIN_PROG, proc: 3, type: 5, serial: 1 })),
      /lacks the descriptor count/,
    );
    assert.throws(
      () => decodeMessage(frame({ prog: ADMIN_PROG, proc: 3, type: 5, serial: 1 }, u32(33))),
      /too many file descriptors/,
    );
    assert.throws(
      () => decodeMessage(frame({ prog: ADMIN_PROG, proc: 3, type: 4, serial: 1 }, u32(1))),
      /not supported/,
    );
  });
});

describe('decodePayload', () => {
  it('decodes with a codec', () => {
    assert.equal(decodePayload(u32(5), uintCodec), 5);
  });

  it('turns malformed data into a ProtocolError that keeps the XdrError as cause', () => {
    assert.throws(
      () => decodePayload(hex('0000'), uintCodec),
      (e: unknown) =>
        e instanceof ProtocolError && e.cause instanceof XdrError && /unable to decode message payload/.test(e.message),
    );
  });
});
