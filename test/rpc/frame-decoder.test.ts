import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FRAME_MAX, FRAME_MIN } from '../../src/rpc/constants.js';
import { ProtocolError } from '../../src/rpc/errors.js';
import { FrameDecoder } from '../../src/rpc/frame-decoder.js';
import { u32 } from '../helpers/bytes.js';
import { ALL_FRAMES, V1, V2, V5, V6, V7 } from '../helpers/vectors.js';

const frameError = (fn: () => unknown, re = /invalid frame length/) =>
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && re.test(e.message));

describe('FrameDecoder: splitting', () => {
  it("the limits are libvirt 9.0.0's: 28 and 33554436", () => {
    assert.equal(FRAME_MIN, 28);
    assert.equal(FRAME_MAX, 33554436);
  });

  it('returns a whole frame given in one chunk', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(V2.reply), [V2.reply]);
    assert.equal(d.pending, 0);
  });

  it('reassembles a frame split at every byte position', () => {
    for (const f of [V1.call, V5.reply, V6.reply]) {
      for (let at = 0; at <= f.length; at++) {
        const d = new FrameDecoder();
        const first = d.push(f.subarray(0, at));
        assert.deepEqual(first, at === f.length ? [f] : [], `split at ${at}`);
        assert.equal(d.pending, at === f.length ? 0 : at);
        const second = d.push(f.subarray(at));
        assert.deepEqual([...first, ...second], [f], `split at ${at}`);
        assert.equal(d.pending, 0);
      }
    }
  });

  it('reassembles frames fed one byte at a time', () => {
    const stream = Buffer.concat(ALL_FRAMES);
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    assert.deepEqual(out, ALL_FRAMES);
  });

  it('returns several frames from one chunk, in order', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(Buffer.concat(ALL_FRAMES)), ALL_FRAMES);
    assert.equal(d.pending, 0);
  });

  it('splits a stream of several frames at every position, keeping the partial tail', () => {
    const frames = [V1.reply, V2.reply, V7.ping, V5.reply];
    const stream = Buffer.concat(frames);
    for (let at = 0; at <= stream.length; at++) {
      const d = new FrameDecoder();
      const out = [...d.push(stream.subarray(0, at)), ...d.push(stream.subarray(at))];
      assert.deepEqual(out, frames, `split at ${at}`);
    }
  });

  it('splits a stream at every pair of positions', () => {
    const frames = [V7.ping, V1.reply, V7.pong];
    const stream = Buffer.concat(frames);
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const d = new FrameDecoder();
        const out = [...d.push(stream.subarray(0, a)), ...d.push(stream.subarray(a, b)), ...d.push(stream.subarray(b))];
        assert.deepEqual(out, frames, `split at ${a}/${b}`);
      }
    }
  });

  it('accepts empty chunks', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(Buffer.alloc(0)), []);
    assert.deepEqual(d.push(V1.reply), [V1.reply]);
  });
});

describe('FrameDecoder: length bounds', () => {
  it('refuses lengths shorter than a header: 0, 3, 4, 24, 27', () => {
    for (const len of [0, 3, 4, 24, 27]) {
      frameError(() => new FrameDecoder().push(Buffer.concat([u32(len), Buffer.alloc(40)])));
    }
  });

  it('accepts a bare 28-byte header', () => {
    assert.equal(new FrameDecoder().push(V1.reply).length, 1);
  });

  it('refuses FRAME_MAX + 1 and 0xffffffff as soon as the length word is complete', () => {
    for (const len of [FRAME_MAX + 1, 0x7fffffff, 0xffffffff]) {
      const d = new FrameDecoder();
      const word = u32(len);
      assert.deepEqual(d.push(word.subarray(0, 3)), []);
      frameError(() => d.push(word.subarray(3)));
    }
  });

  it('accepts a frame of exactly FRAME_MAX bytes', () => {
    const big = Buffer.alloc(FRAME_MAX);
    big.writeUInt32BE(FRAME_MAX, 0);
    V1.reply.copy(big, 4, 4);
    const d = new FrameDecoder();
    // Fed in socket-sized chunks, it stays pending until the last byte.
    let out: Buffer[] = [];
    for (let at = 0; at < big.length; at += 65536) {
      out = d.push(big.subarray(at, at + 65536));
      if (at + 65536 < big.length) assert.deepEqual(out, []);
    }
    assert.equal(out.length, 1);
    assert.equal(out[0]!.length, FRAME_MAX);
    assert.equal(d.pending, 0);
  });

  it('fails for good: after a framing error every push fails, even with valid data', () => {
    const d = new FrameDecoder();
    frameError(() => d.push(u32(3)));
    frameError(() => d.push(V1.reply), /used after a framing error/);
    frameError(() => d.push(Buffer.alloc(0)), /used after a framing error/);
  });

  it('delivers the valid frames before a bad length in the same chunk only by failing the chunk', () => {
    // The decoder throws for the whole chunk: the caller closes the connection, so nothing after the
    // bad length word can ever be taken for a frame.
    const d = new FrameDecoder();
    frameError(() => d.push(Buffer.concat([V1.reply, u32(5), Buffer.alloc(24)])));
  });
});
