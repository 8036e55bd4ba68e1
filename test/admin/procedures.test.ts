import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_PROGRAM, AdminProc, TypedParamType as T } from '../../src/admin/constants.js';
import { adminProcedures as P, adminProceduresByNumber } from '../../src/admin/procedures.js';
import type { TypedParam } from '../../src/admin/types.js';
import { XdrError, XdrReader, XdrWriter, type Codec } from '../../src/xdr/index.js';
import { f64, i32, i64, optStr, str, u32, u64 } from '../helpers/bytes.js';
import { V2, V3, V5, V6, V8 } from '../helpers/vectors.js';

const enc = <T>(codec: Codec<T>, value: T) => {
  const w = new XdrWriter();
  codec.encode(w, value);
  return Buffer.from(w.toBuffer());
};
const dec = <T>(codec: Codec<T>, bytes: Buffer): T => {
  const r = new XdrReader(bytes);
  const v = codec.decode(r);
  assert.equal(r.remaining, 0, 'bytes left over');
  return v;
};
const payload = (frame: Buffer) => frame.subarray(28);
const srv = (name: string) => ({ name });
const client = { server: srv('libvirtd'), id: 7n, timestamp: 1764179190n, transport: 0 };
const clientBytes = Buffer.concat([str('libvirtd'), u64(7n), i64(1764179190n), u32(0)]);
const tp = (field: string, type: number, value: Buffer) => Buffer.concat([str(field), i32(type), value]);

describe('the procedure table', () => {
  it("has procedures 1 to 20 of the admin program, version 1, with libvirt's names", () => {
    assert.equal(ADMIN_PROGRAM, 0x06900690);
    assert.deepEqual(
      [...adminProceduresByNumber.keys()].sort((a, b) => a - b),
      [...Array(20).keys()].map((i) => i + 1),
    );
    for (const [n, spec] of adminProceduresByNumber) {
      assert.equal(spec.prog, 0x06900690);
      assert.equal(spec.vers, 1);
      assert.equal(spec.proc, n);
      assert.equal(AdminProc[spec.name as keyof typeof AdminProc], n, spec.name);
    }
  });
});

describe('arguments, encoded byte for byte', () => {
  it('matches the captured calls V1, V2, V5, V6, V8', () => {
    assert.deepEqual(enc(P.connectOpen.args, { flags: 0 }), u32(0));
    assert.deepEqual(enc(P.connectListServers.args, { needResults: true, flags: 0 }), payload(V2.call));
    assert.deepEqual(enc(P.connectLookupServer.args, { name: 'nosuch', flags: 0 }), payload(V5.call));
    assert.deepEqual(
      enc(P.serverGetThreadpoolParameters.args, { server: srv('libvirtd'), flags: 0 }),
      payload(V6.call),
    );
    const params: TypedParam[] = [
      { field: 'maxWorkers', type: T.UINT, value: 20 },
      { field: 'minWorkers', type: T.UINT, value: 5 },
      { field: 'prioWorkers', type: T.UINT, value: 5 },
    ];
    assert.deepEqual(
      enc(P.serverSetThreadpoolParameters.args, { server: srv('libvirtd'), params, flags: 0 }),
      payload(V8.call),
    );
  });

  it('void procedures send nothing', () => {
    assert.deepEqual(enc(P.connectClose.args, undefined), Buffer.alloc(0));
    assert.deepEqual(enc(P.connectGetLibVersion.args, undefined), Buffer.alloc(0));
  });

  it("encodes every other procedure's arguments in admin_protocol.x order", () => {
    const cases: [Buffer, Buffer][] = [
      [enc(P.connectListServers.args, { needResults: false, flags: 3 }), Buffer.concat([u32(0), u32(3)])],
      [
        enc(P.serverListClients.args, { server: srv('admin'), needResults: true, flags: 0 }),
        Buffer.concat([str('admin'), u32(1), u32(0)]),
      ],
      [
        enc(P.serverLookupClient.args, { server: srv('libvirtd'), id: 0xfffffffffn, flags: 0 }),
        Buffer.concat([str('libvirtd'), u64(0xfffffffffn), u32(0)]),
      ],
      [enc(P.clientGetInfo.args, { client, flags: 0 }), Buffer.concat([clientBytes, u32(0)])],
      [enc(P.clientClose.args, { client, flags: 0 }), Buffer.concat([clientBytes, u32(0)])],
      [
        enc(P.serverGetClientLimits.args, { server: srv('libvirtd'), flags: 0 }),
        Buffer.concat([str('libvirtd'), u32(0)]),
      ],
      [
        enc(P.serverSetClientLimits.args, {
          server: srv('libvirtd'),
          params: [{ field: 'nclients_max', type: T.UINT, value: 10 }],
          flags: 0,
        }),
        Buffer.concat([str('libvirtd'), u32(1), tp('nclients_max', 2, u32(10)), u32(0)]),
      ],
      [enc(P.connectGetLoggingOutputs.args, { flags: 0 }), u32(0)],
      [enc(P.connectGetLoggingFilters.args, { flags: 0 }), u32(0)],
      [
        enc(P.connectSetLoggingOutputs.args, { outputs: '1:stderr', flags: 0 }),
        Buffer.concat([optStr('1:stderr'), u32(0)]),
      ],
      [enc(P.connectSetLoggingOutputs.args, { outputs: null, flags: 0 }), Buffer.concat([u32(0), u32(0)])],
      [enc(P.connectSetLoggingFilters.args, { filters: '', flags: 0 }), Buffer.concat([optStr(''), u32(0)])],
      [enc(P.connectSetLoggingFilters.args, { filters: null, flags: 0 }), Buffer.concat([u32(0), u32(0)])],
      [
        enc(P.serverUpdateTlsFiles.args, { server: srv('libvirtd'), flags: 0 }),
        Buffer.concat([str('libvirtd'), u32(0)]),
      ],
      [
        enc(P.connectSetDaemonTimeout.args, { timeout: 0xffffffff, flags: 0 }),
        Buffer.concat([u32(0xffffffff), u32(0)]),
      ],
      [enc(P.connectDaemonShutdown.args, { flags: 1 }), u32(1)],
    ];
    for (const [got, want] of cases) assert.deepEqual(got, want);
  });

  it('encodes typed parameters of every type', () => {
    const params: TypedParam[] = [
      { field: 'i', type: T.INT, value: -2 },
      { field: 'u', type: T.UINT, value: 0xffffffff },
      { field: 'l', type: T.LLONG, value: -(1n << 40n) },
      { field: 'ul', type: T.ULLONG, value: 1n << 63n },
      { field: 'd', type: T.DOUBLE, value: 0.25 },
      { field: 'b', type: T.BOOLEAN, value: true },
      { field: 's', type: T.STRING, value: 'héllo' },
    ];
    const want = Buffer.concat([
      str('x'),
      u32(7),
      tp('i', 1, i32(-2)),
      tp('u', 2, u32(0xffffffff)),
      tp('l', 3, i64(-(1n << 40n))),
      tp('ul', 4, u64(1n << 63n)),
      tp('d', 5, f64(0.25)),
      tp('b', 6, i32(1)),
      tp('s', 7, str('héllo')),
      u32(0),
    ]);
    const args = { server: srv('x'), params, flags: 0 };
    assert.deepEqual(enc(P.serverSetThreadpoolParameters.args, args), want);
    assert.deepEqual(dec(P.serverSetThreadpoolParameters.args, want), args);
  });

  it('refuses more typed parameters than the procedure allows', () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i): TypedParam => ({ field: `p${i}`, type: T.UINT, value: i }));
    assert.doesNotThrow(() =>
      enc(P.serverSetThreadpoolParameters.args, { server: srv('x'), params: many(32), flags: 0 }),
    );
    assert.throws(
      () => enc(P.serverSetThreadpoolParameters.args, { server: srv('x'), params: many(33), flags: 0 }),
      XdrError,
    );
    assert.throws(() => enc(P.serverSetClientLimits.args, { server: srv('x'), params: many(33), flags: 0 }), XdrError);
  });
});

describe('results, decoded from the wire', () => {
  it('decodes the captured replies V2, V3 and V6', () => {
    assert.deepEqual(dec(P.connectListServers.ret, payload(V2.reply)), {
      servers: [srv('libvirtd'), srv('admin')],
      ret: 2,
    });
    assert.deepEqual(dec(P.connectGetLibVersion.ret, payload(V3.reply)), { libVer: 9000000n });
    const { params } = dec(P.serverGetThreadpoolParameters.ret, payload(V6.reply));
    assert.deepEqual(params, [
      { field: 'minWorkers', type: T.UINT, value: 5 },
      { field: 'maxWorkers', type: T.UINT, value: 20 },
      { field: 'nWorkers', type: T.UINT, value: 5 },
      { field: 'freeWorkers', type: T.UINT, value: 5 },
      { field: 'prioWorkers', type: T.UINT, value: 5 },
      { field: 'jobQueueDepth', type: T.UINT, value: 0 },
    ]);
  });

  it("decodes every other procedure's result", () => {
    assert.equal(dec(P.connectOpen.ret, Buffer.alloc(0)), undefined);
    assert.deepEqual(dec(P.connectListServers.ret, Buffer.concat([u32(0), u32(2)])), { servers: [], ret: 2 });
    assert.deepEqual(dec(P.connectLookupServer.ret, str('admin')), { server: srv('admin') });
    assert.deepEqual(dec(P.serverListClients.ret, Buffer.concat([u32(1), clientBytes, u32(1)])), {
      clients: [client],
      ret: 1,
    });
    assert.deepEqual(dec(P.serverLookupClient.ret, clientBytes), { client });
    assert.deepEqual(
      dec(P.clientGetInfo.ret, Buffer.concat([u32(2), tp('readonly', 6, i32(1)), tp('unix_process_id', 1, i32(42))])),
      {
        params: [
          { field: 'readonly', type: T.BOOLEAN, value: true },
          { field: 'unix_process_id', type: T.INT, value: 42 },
        ],
      },
    );
    assert.deepEqual(dec(P.serverGetClientLimits.ret, Buffer.concat([u32(1), tp('nclients', 2, u32(3))])), {
      params: [{ field: 'nclients', type: T.UINT, value: 3 }],
    });
    assert.deepEqual(dec(P.connectGetLoggingOutputs.ret, Buffer.concat([str('3:stderr'), u32(1)])), {
      outputs: '3:stderr',
      noutputs: 1,
    });
    assert.deepEqual(dec(P.connectGetLoggingFilters.ret, Buffer.concat([u32(0), u32(0)])), {
      filters: null,
      nfilters: 0,
    });
    assert.deepEqual(dec(P.connectGetLoggingFilters.ret, Buffer.concat([optStr('4:*event* '), u32(1)])), {
      filters: '4:*event* ',
      nfilters: 1,
    });
    for (const p of [
      P.serverSetThreadpoolParameters,
      P.clientClose,
      P.serverSetClientLimits,
      P.connectSetLoggingOutputs,
      P.connectSetLoggingFilters,
      P.serverUpdateTlsFiles,
      P.connectSetDaemonTimeout,
      P.connectDaemonShutdown,
      P.connectClose,
    ]) {
      assert.equal(dec(p.ret as Codec<unknown>, Buffer.alloc(0)), undefined, p.name);
    }
  });

  it('reads any non-zero boolean typed parameter as true, as libvirt does', () => {
    const { params } = dec(P.clientGetInfo.ret, Buffer.concat([u32(1), tp('readonly', 6, i32(7))]));
    assert.deepEqual(params, [{ field: 'readonly', type: T.BOOLEAN, value: true }]);
  });

  it('fails on an unknown typed-parameter discriminant', () => {
    assert.throws(
      () => dec(P.serverGetClientLimits.ret, Buffer.concat([u32(1), tp('x', 8, u32(0))])),
      /unknown typed parameter type 8/,
    );
    assert.throws(() => dec(P.serverGetClientLimits.ret, Buffer.concat([u32(1), tp('x', 0, u32(0))])), XdrError);
  });

  it("enforces each list's maximum", () => {
    const params = (n: number) => Buffer.concat([u32(n), ...Array.from({ length: n }, () => tp('p', 2, u32(0)))]);
    assert.equal(dec(P.serverGetThreadpoolParameters.ret, params(32)).params.length, 32);
    assert.throws(() => dec(P.serverGetThreadpoolParameters.ret, params(33)), /exceeds maximum 32/);
    assert.equal(dec(P.clientGetInfo.ret, params(64)).params.length, 64);
    assert.throws(() => dec(P.clientGetInfo.ret, params(65)), /exceeds maximum 64/);
    assert.throws(() => dec(P.serverGetClientLimits.ret, params(33)), /exceeds maximum 32/);
    assert.throws(() => dec(P.connectListServers.ret, Buffer.concat([u32(16385), u32(0)])), /exceeds maximum 16384/);
    assert.throws(() => dec(P.serverListClients.ret, Buffer.concat([u32(16385), u32(0)])), /exceeds maximum 16384/);
  });

  it('enforces ADMIN_STRING_MAX (4 MiB) on every string', () => {
    assert.throws(() => dec(P.connectLookupServer.ret, u32(4194305)), /exceeds maximum 4194304/);
    assert.throws(() => dec(P.connectGetLoggingOutputs.ret, Buffer.concat([u32(4194305)])), /exceeds maximum 4194304/);
    assert.throws(() => enc(P.connectLookupServer.args, { name: 'x'.repeat(4194305), flags: 0 }), XdrError);
    assert.doesNotThrow(() => enc(P.connectLookupServer.args, { name: 'x'.repeat(4194304), flags: 0 }));
  });
});
