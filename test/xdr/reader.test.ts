import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XdrError, XdrReader, pad } from '../../src/xdr/index.js';
import { f64, hex, i32, i64, padded, str, u32, u64 } from '../helpers/bytes.js';

const reader = (...parts: Buffer[]) => new XdrReader(Buffer.concat(parts));
const truncated = (fn: () => unknown) =>
  assert.throws(fn, (e: unknown) => e instanceof XdrError && /truncated/.test(e.message));

describe('XdrReader: integers', () => {
  it('reads int, including both extremes and -1', () => {
    const r = reader(hex('00000000 7fffffff 80000000 ffffffff 0000002a'));
    assert.deepEqual([r.int(), r.int(), r.int(), r.int(), r.int()], [0, 2147483647, -2147483648, -1, 42]);
    assert.equal(r.remaining, 0);
  });

  it('reads unsigned int up to 0xffffffff', () => {
    const r = reader(hex('00000000 ffffffff 80000000'));
    assert.deepEqual([r.uint(), r.uint(), r.uint()], [0, 4294967295, 2147483648]);
  });

  it('reads hyper and unsigned hyper at their limits', () => {
    const r = reader(
      hex('80000000 00000000'),
      hex('7fffffff ffffffff'),
      hex('ffffffff ffffffff'),
      hex('ffffffff ffffffff'),
      hex('00000000 00895440'),
    );
    assert.equal(r.hyper(), -(1n << 63n));
    assert.equal(r.hyper(), (1n << 63n) - 1n);
    assert.equal(r.hyper(), -1n);
    assert.equal(r.uhyper(), (1n << 64n) - 1n);
    assert.equal(r.uhyper(), 9000000n);
  });

  it('reads doubles, NaN and infinities included', () => {
    const r = reader(hex('3ff80000 00000000'), f64(-0), f64(Infinity), f64(Number.NaN), f64(1e-300));
    assert.equal(r.double(), 1.5);
    assert.ok(Object.is(r.double(), -0));
    assert.equal(r.double(), Infinity);
    assert.ok(Number.isNaN(r.double()));
    assert.equal(r.double(), 1e-300);
  });

  it('accepts only 0 and 1 as bool', () => {
    const r = reader(u32(0), u32(1));
    assert.equal(r.bool(), false);
    assert.equal(r.bool(), true);
    for (const bad of [2, -1, 0x100]) assert.throws(() => reader(i32(bad)).bool(), XdrError);
  });

  it('fails every fixed-size read on truncated data and does not move', () => {
    truncated(() => reader(hex('000000')).int());
    truncated(() => reader(hex('000000')).uint());
    truncated(() => reader(hex('00000000 000000')).hyper());
    truncated(() => reader(hex('00000000 000000')).uhyper());
    truncated(() => reader(hex('00000000 000000')).double());
    truncated(() => reader(hex('')).bool());
    const r = reader(hex('0000'));
    truncated(() => r.int());
    assert.equal(r.position, 0);
    assert.equal(r.remaining, 2);
  });
});

describe('XdrReader: opaque and strings', () => {
  it('consumes the zero padding after fixed opaque of every length', () => {
    for (let n = 0; n <= 9; n++) {
      const data = Buffer.from([...Array(n).keys()].map((i) => i + 1));
      const r = reader(padded(data), u32(0xcafe));
      assert.deepEqual(r.fixedOpaque(n), data);
      assert.equal(r.position, n + pad(n));
      assert.equal(r.uint(), 0xcafe);
    }
  });

  it('pad() gives the bytes needed to reach a multiple of 4', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map(pad), [0, 3, 2, 1, 0, 3, 2, 1, 0]);
  });

  it('fails when the data or only its padding is missing', () => {
    truncated(() => reader(hex('0102')).fixedOpaque(3));
    truncated(() => reader(hex('010203')).fixedOpaque(3));
  });

  it('reads variable opaque within its bound and refuses longer ones', () => {
    assert.deepEqual(reader(u32(3), hex('0a0b0c00')).varOpaque(3), hex('0a0b0c'));
    assert.deepEqual(reader(u32(0)).varOpaque(0), Buffer.alloc(0));
    assert.throws(() => reader(u32(4), hex('0a0b0c0d')).varOpaque(3), /exceeds maximum 3/);
  });

  it('reads strings as UTF-8, counting bytes not characters', () => {
    const r = reader(str('libvirtd'), str('admin'), str(''), str('héllo'), u32(7));
    assert.equal(r.string(100), 'libvirtd');
    assert.equal(r.string(100), 'admin');
    assert.equal(r.string(0), '');
    assert.equal(r.string(6), 'héllo');
    assert.equal(r.uint(), 7);
    assert.throws(() => reader(str('héllo')).string(5), /string length 6 exceeds maximum 5/);
  });

  it('checks the bound before the data: a 4 MiB claim with no data fails as too long or as truncated', () => {
    assert.throws(() => reader(u32(4194305)).string(4194304), /exceeds maximum/);
    truncated(() => reader(u32(4194304)).string(4194304));
    truncated(() => reader(u32(0xffffffff)).varOpaque(0xffffffff));
  });
});

describe('XdrReader: optional data and arrays', () => {
  it('reads optional values', () => {
    const r = reader(u32(0), u32(1), str('x'));
    assert.equal(
      r.optional((x) => x.string(10)),
      null,
    );
    assert.equal(
      r.optional((x) => x.string(10)),
      'x',
    );
    assert.throws(() => reader(u32(2), str('x')).optional((x) => x.string(10)), /invalid bool/);
  });

  it('reads arrays up to their bound', () => {
    const r = reader(u32(3), u32(10), u32(20), u32(30));
    assert.deepEqual(
      r.array(3, (x) => x.uint()),
      [10, 20, 30],
    );
    assert.deepEqual(
      reader(u32(0)).array(0, (x) => x.uint()),
      [],
    );
    assert.throws(() => reader(u32(4), u32(1), u32(2), u32(3), u32(4)).array(3, (x) => x.uint()), /exceeds maximum 3/);
  });

  it('refuses a count the remaining data cannot hold before reading any element', () => {
    let reads = 0;
    const item = (x: XdrReader) => {
      reads++;
      return x.uint();
    };
    assert.throws(() => reader(u32(3), u32(1), u32(2)).array(100, item), /exceeds the data left/);
    assert.throws(() => reader(u32(16384)).array(16384, item), /exceeds the data left/);
    assert.equal(reads, 0);
  });

  it('reads a discriminated union (typed parameter values) through the primitives', () => {
    // admin_typed_param_value: a discriminant then the arm's value.
    const r = reader(i32(3), i64(-5n), i32(4), u64(7n));
    const arm = () => (r.int() === 3 ? r.hyper() : r.uhyper());
    assert.equal(arm(), -5n);
    assert.equal(arm(), 7n);
  });
});
