import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypedParamType as T } from '../../src/admin/constants.js';
import {
  clientInfoFromParams,
  clientInfoToParams,
  clientLimitsChangeToParams,
  clientLimitsFromParams,
  clientLimitsToParams,
  threadpoolChangeToParams,
  threadpoolFromParams,
  threadpoolToParams,
} from '../../src/admin/params.js';
import type { TypedParam } from '../../src/admin/types.js';
import { InvalidArgumentError } from '../../src/rpc/errors.js';

const uint = (field: string, value: number): TypedParam => ({ field, type: T.UINT, value });

describe('threadpool parameters', () => {
  it('maps the six fields libvirtd sends (V6: 5/20/5/5/5/0)', () => {
    const params = ['minWorkers', 'maxWorkers', 'nWorkers', 'freeWorkers', 'prioWorkers', 'jobQueueDepth'].map((f, i) =>
      uint(f, [5, 20, 5, 5, 5, 0][i]!),
    );
    assert.deepEqual(threadpoolFromParams(params), {
      minWorkers: 5,
      maxWorkers: 20,
      nWorkers: 5,
      freeWorkers: 5,
      prioWorkers: 5,
      jobQueueDepth: 0,
      extra: [],
    });
  });

  it("writes the six figures as libvirtd does, in libvirtd's order, and reads them back", () => {
    const figures = { minWorkers: 5, maxWorkers: 20, nWorkers: 6, freeWorkers: 4, prioWorkers: 5, jobQueueDepth: 1 };
    const params = threadpoolToParams(figures);
    assert.deepEqual(params, [
      uint('minWorkers', 5),
      uint('maxWorkers', 20),
      uint('nWorkers', 6),
      uint('freeWorkers', 4),
      uint('prioWorkers', 5),
      uint('jobQueueDepth', 1),
    ]);
    assert.deepEqual(threadpoolFromParams(params), { ...figures, extra: [] });
  });

  it('keeps unknown fields, and known names with an unexpected type, in extra', () => {
    const unknown: TypedParam[] = [
      { field: 'futureKnob', type: T.ULLONG, value: 1n << 40n },
      { field: 'label', type: T.STRING, value: 'x' },
      { field: 'maxWorkers', type: T.STRING, value: 'twenty' },
    ];
    const tp = threadpoolFromParams([uint('minWorkers', 2), ...unknown]);
    assert.equal(tp.minWorkers, 2);
    assert.equal(tp.maxWorkers, 0);
    assert.deepEqual(tp.extra, unknown);
  });

  it('orders a change as virt-admin does (max, min, prio) and sends only what was given', () => {
    assert.deepEqual(threadpoolChangeToParams({ minWorkers: 5, maxWorkers: 20, prioWorkers: 5 }), [
      uint('maxWorkers', 20),
      uint('minWorkers', 5),
      uint('prioWorkers', 5),
    ]);
    assert.deepEqual(threadpoolChangeToParams({ prioWorkers: 0 }), [uint('prioWorkers', 0)]);
    assert.deepEqual(threadpoolChangeToParams({}), []);
  });

  it('refuses values that are no u32 before anything is sent', () => {
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) {
      assert.throws(() => threadpoolChangeToParams({ minWorkers: bad }), InvalidArgumentError);
    }
    assert.deepEqual(threadpoolChangeToParams({ maxWorkers: 0xffffffff }), [uint('maxWorkers', 0xffffffff)]);
  });
});

describe('client limits', () => {
  it("maps libvirtd's four fields to named ones", () => {
    const params = [
      uint('nclients_max', 5000),
      uint('nclients', 2),
      uint('nclients_unauth_max', 20),
      uint('nclients_unauth', 0),
    ];
    assert.deepEqual(clientLimitsFromParams(params), {
      maxClients: 5000,
      clients: 2,
      maxUnauthClients: 20,
      unauthClients: 0,
      extra: [],
    });
  });

  it("writes limits and counts as libvirtd does, in libvirtd's order, and reads them back", () => {
    const limits = { maxClients: 5000, clients: 3, maxUnauthClients: 20, unauthClients: 0 };
    const params = clientLimitsToParams(limits);
    assert.deepEqual(params, [
      uint('nclients_max', 5000),
      uint('nclients', 3),
      uint('nclients_unauth_max', 20),
      uint('nclients_unauth', 0),
    ]);
    assert.deepEqual(clientLimitsFromParams(params), { ...limits, extra: [] });
  });

  it('keeps unknown fields in extra', () => {
    const extra: TypedParam = { field: 'nclients_peak', type: T.UINT, value: 9 };
    assert.deepEqual(clientLimitsFromParams([extra]).extra, [extra]);
  });

  it('orders a change as virt-admin does (max, unauth max)', () => {
    assert.deepEqual(clientLimitsChangeToParams({ maxUnauthClients: 3, maxClients: 10 }), [
      uint('nclients_max', 10),
      uint('nclients_unauth_max', 3),
    ]);
    assert.throws(() => clientLimitsChangeToParams({ maxClients: -5 }), InvalidArgumentError);
  });
});

describe('client info', () => {
  const unixClient: TypedParam[] = [
    { field: 'readonly', type: T.BOOLEAN, value: true },
    { field: 'unix_user_id', type: T.INT, value: 0 },
    { field: 'unix_user_name', type: T.STRING, value: 'root' },
    { field: 'unix_group_id', type: T.INT, value: 0 },
    { field: 'unix_group_name', type: T.STRING, value: 'root' },
    { field: 'unix_process_id', type: T.INT, value: 4242 },
  ];

  it("maps a local client's identity", () => {
    assert.deepEqual(clientInfoFromParams(unixClient), {
      readonly: true,
      unixUserId: 0,
      unixUserName: 'root',
      unixGroupId: 0,
      unixGroupName: 'root',
      unixProcessId: 4242,
      extra: [],
    });
  });

  it('maps remote, SASL and SELinux fields', () => {
    const info = clientInfoFromParams([
      { field: 'readonly', type: T.BOOLEAN, value: false },
      { field: 'sasl_user_name', type: T.STRING, value: 'alice' },
      { field: 'sock_addr', type: T.STRING, value: '192.0.2.1;16509' },
      { field: 'tls_x509_dname', type: T.STRING, value: 'CN=alice' },
      { field: 'selinux_context', type: T.STRING, value: 'system_u:system_r:virtd_t:s0' },
    ]);
    assert.deepEqual(info, {
      readonly: false,
      saslUserName: 'alice',
      sockAddr: '192.0.2.1;16509',
      x509DistinguishedName: 'CN=alice',
      selinuxContext: 'system_u:system_r:virtd_t:s0',
      extra: [],
    });
  });

  it('keeps unknown fields and mistyped known ones in extra', () => {
    const odd: TypedParam[] = [
      { field: 'cgroup', type: T.STRING, value: '/machine' },
      { field: 'unix_process_id', type: T.LLONG, value: 4242n },
      { field: 'weight', type: T.DOUBLE, value: 0.5 },
    ];
    const info = clientInfoFromParams([...unixClient.slice(0, 1), ...odd]);
    assert.equal(info.readonly, true);
    assert.equal(info.unixProcessId, undefined);
    assert.deepEqual(info.extra, odd);
  });

  it("turns an object back into parameters in libvirtd's order, skipping absent fields", () => {
    const { extra: _extra, ...info } = clientInfoFromParams([...unixClient].reverse());
    assert.deepEqual(clientInfoToParams(info), unixClient);
    assert.deepEqual(clientInfoToParams({}), []);
  });
});
