import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XdrError, XdrWriter } from '../../src/xdr/index.js';
import { f64, hex, str } from '../helpers/bytes.js';

const bytes = (fn: (w: XdrWriter) => unknown, initialSize?: number) => {
  const w = new XdrWriter(initialSize);
  fn(w);
  return Buffer.from(w.toBuffer());
};
const rangeError = (fn: (w: XdrWriter) => unknown) => assert.throws(() => fn(new XdrWriter()), XdrError);

describe('XdrWriter: every type', () => {
  it('writes int and unsigned int big-endian', () => {
    assert.deepEqual(
      bytes((w) => w.int(0).int(-1).int(2147483647).int(-2147483648)),
      hex('00000000 ffffffff 7fffffff 80000000'),
    );
    assert.deepEqual(
      bytes((w) => w.uint(0).uint(0xffffffff).uint(0x06900690)),
      hex('00000000 ffffffff 06900690'),
    );
  });

  it('writes hyper and unsigned hyper', () => {
    assert.deepEqual(
      bytes((w) =>
        w
          .hyper(-1n)
          .hyper(-(1n << 63n))
          .hyper((1n << 63n) - 1n),
      ),
      hex('ffffffff ffffffff 80000000 00000000 7fffffff ffffffff'),
    );
    assert.deepEqual(
      bytes((w) => w.uhyper(9000000n).uhyper((1n << 64n) - 1n)),
      hex('00000000 00895440 ffffffff ffffffff'),
    );
  });

  it('writes doubles as IEEE 754 big-endian', () => {
    assert.deepEqual(
      bytes((w) => w.double(1.5)),
      hex('3ff80000 00000000'),
    );
    assert.deepEqual(
      bytes((w) => w.double(Number.NaN).double(-0)),
      Buffer.concat([f64(Number.NaN), f64(-0)]),
    );
  });

  it('writes bool as int 0 or 1', () => {
    assert.deepEqual(
      bytes((w) => w.bool(false).bool(true)),
      hex('00000000 00000001'),
    );
  });

  it('pads opaque data with zero bytes, even in a reused buffer', () => {
    // allocUnsafe memory may hold old bytes: fill the writer with 0xff first, then check every pad byte.
    for (let n = 0; n <= 8; n++) {
      const w = new XdrWriter(4);
      for (let i = 0; i < 16; i++) w.uint(0xffffffff);
      const data = Buffer.alloc(n, 0xab);
      const before = w.length;
      w.fixedOpaque(data);
      const out = w.toBuffer().subarray(before);
      assert.equal(out.length % 4, 0);
      assert.deepEqual(out, Buffer.concat([data, Buffer.alloc(out.length - n)]));
    }
  });

  it('writes variable opaque and strings with a length word', () => {
    assert.deepEqual(
      bytes((w) => w.varOpaque(hex('0a0b0c'), 3)),
      hex('00000003 0a0b0c00'),
    );
    assert.deepEqual(
      bytes((w) => w.string('libvirtd', 100)),
      hex('00000008 6c696276 69727464'),
    );
    assert.deepEqual(
      bytes((w) => w.string('admin', 100)),
      hex('00000005 61646d69 6e000000'),
    );
    assert.deepEqual(
      bytes((w) => w.string('', 0)),
      hex('00000000'),
    );
    assert.deepEqual(
      bytes((w) => w.string('héllo', 6)),
      str('héllo'),
    );
  });

  it('writes optional data with its flag', () => {
    assert.deepEqual(
      bytes((w) => w.optional(null, (x, v: string) => x.string(v, 9))),
      hex('00000000'),
    );
    assert.deepEqual(
      bytes((w) => w.optional(undefined, (x, v: string) => x.string(v, 9))),
      hex('00000000'),
    );
    assert.deepEqual(
      bytes((w) => w.optional('x', (x, v) => x.string(v, 9))),
      hex('00000001 00000001 78000000'),
    );
  });

  it('writes arrays with a count', () => {
    assert.deepEqual(
      bytes((w) => w.array([1, 2], 5, (x, v) => x.uint(v))),
      hex('00000002 00000001 00000002'),
    );
    assert.deepEqual(
      bytes((w) => w.array([], 0, (x, v: number) => x.uint(v))),
      hex('00000000'),
    );
  });

  it('grows from a tiny buffer without losing data', () => {
    const out = bytes((w) => {
      for (let i = 0; i < 1000; i++) w.uint(i);
    }, 1);
    assert.equal(out.length, 4000);
    for (let i = 0; i < 1000; i++) assert.equal(out.readUInt32BE(i * 4), i);
  });

  it('back-fills a u32 with patchUint and reports its length', () => {
    const w = new XdrWriter();
    w.uint(0).uint(7);
    w.patchUint(0, w.length);
    assert.equal(w.length, 8);
    assert.deepEqual(Buffer.from(w.toBuffer()), hex('00000008 00000007'));
  });
});

describe('XdrWriter: range and bound errors', () => {
  it('refuses ints outside int32 or not integers', () => {
    for (const v of [2147483648, -2147483649, 1.5, Number.NaN, Infinity]) rangeError((w) => w.int(v));
  });

  it('refuses unsigned ints outside uint32 or not integers', () => {
    for (const v of [-1, 4294967296, 0.5, Number.NaN]) rangeError((w) => w.uint(v));
  });

  it('refuses hypers outside 64 bits', () => {
    rangeError((w) => w.hyper(1n << 63n));
    rangeError((w) => w.hyper(-(1n << 63n) - 1n));
    rangeError((w) => w.uhyper(-1n));
    rangeError((w) => w.uhyper(1n << 64n));
  });

  it('refuses strings, opaque and arrays over their bound (strings counted in UTF-8 bytes)', () => {
    rangeError((w) => w.string('abcd', 3));
    rangeError((w) => w.string('é', 1));
    rangeError((w) => w.varOpaque(Buffer.alloc(4), 3));
    rangeError((w) => w.array([1, 2, 3], 2, (x, v) => x.uint(v)));
  });

  it('writes nothing for a value it refuses', () => {
    const w = new XdrWriter();
    w.uint(1);
    assert.throws(() => w.uint(-1), XdrError);
    assert.throws(() => w.string('abcd', 3), XdrError);
    assert.equal(w.length, 4);
  });
});
