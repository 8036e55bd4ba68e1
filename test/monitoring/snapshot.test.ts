import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClientRef } from '../../src/admin/types.js';
import { settingsEtag } from '../../src/resources/etag.js';
import { threadpool } from '../../src/resources/threadpool.js';
import {
  clientKey,
  diffSnapshot,
  newClients,
  ResourceKey,
  summarizeClient,
  type Identified,
  type Poll,
} from '../../src/monitoring/snapshot.js';

const ref = (server: string, id: number, timestamp = 1_700_000_000, transport = 0): ClientRef => ({
  server: { name: server },
  id: BigInt(id),
  timestamp: BigInt(timestamp),
  transport,
});

function poll(
  clients: Record<string, ClientRef[]>,
  over: { tp?: number; logging?: { outputs: string; filters: string } } = {},
): Poll {
  return {
    servers: Object.entries(clients).map(([name, list]) => ({
      name,
      settings: new Map<string, object>([
        ['threadpool', { minWorkers: over.tp ?? 5, maxWorkers: 20, prioWorkers: 5 }],
        ['client-limits', { maxClients: 5000, maxUnauthClients: 20 }],
      ]),
      clients: list,
    })),
    settings: new Map([['logging', over.logging ?? { outputs: '3:stderr', filters: '' }]]),
  };
}

function identify(...refs: ClientRef[]): Map<string, Identified> {
  return new Map(
    refs.map((r) => [
      clientKey(r),
      { summary: summarizeClient(r, { unixUserId: 0, unixProcessId: 42, extra: [] }), gone: false },
    ]),
  );
}

describe('summarizeClient', () => {
  it('names the transport, dates the connection and drops unknown params', () => {
    const s = summarizeClient(ref('libvirtd', 7, 1_700_000_000, 2), {
      readonly: true,
      unixUserName: 'root',
      extra: [{ field: 'x', type: 2, value: 1 }],
    });
    assert.deepEqual(s, {
      id: 7,
      transport: 'tls',
      connectedAt: '2023-11-14T22:13:20.000Z',
      identity: { readonly: true, unixUserName: 'root' },
    });
    assert.equal(summarizeClient(ref('s', 1, 0, 9), null).transport, 'unknown');
  });
});

describe('diffSnapshot', () => {
  it('publishes nothing for the baseline', () => {
    const a = ref('libvirtd', 1);
    const { next, events } = diffSnapshot('libvirtd', undefined, poll({ libvirtd: [a], admin: [] }), identify(a));
    assert.deepEqual(events, []);
    assert.equal(next.servers.get('libvirtd')!.clients.get(clientKey(a))!.identity!.unixProcessId, 42);
  });

  it('reports a client that came and one that left, with the identity captured while it was there', () => {
    const a = ref('libvirtd', 1);
    const b = ref('libvirtd', 2);
    const base = diffSnapshot('libvirtd', undefined, poll({ libvirtd: [a] }), identify(a)).next;
    const { next, events } = diffSnapshot('libvirtd', base, poll({ libvirtd: [b] }), identify(b));
    assert.deepEqual(
      events.map((e) => [e.type, 'client' in e ? e.client.id : null]),
      [
        ['client.connected', 2],
        ['client.disconnected', 1],
      ],
    );
    const left = events[1]!;
    assert.ok(left.type === 'client.disconnected' && left.client.identity?.unixProcessId === 42);
    assert.deepEqual([...next.servers.get('libvirtd')!.clients.keys()], [clientKey(b)]);
  });

  it('tells a restarted daemon’s client from an old one with the same id', () => {
    const before = ref('libvirtd', 1, 1000);
    const after = ref('libvirtd', 1, 2000);
    const base = diffSnapshot('d', undefined, poll({ libvirtd: [before] }), identify(before)).next;
    const { events } = diffSnapshot('d', base, poll({ libvirtd: [after] }), identify(after));
    assert.deepEqual(
      events.map((e) => e.type),
      ['client.connected', 'client.disconnected'],
    );
  });

  it('reports a client gone before its identity could be read as arriving and leaving', () => {
    const base = diffSnapshot('d', undefined, poll({ libvirtd: [] }), new Map()).next;
    const quick = ref('libvirtd', 9);
    const gone = new Map([[clientKey(quick), { summary: summarizeClient(quick, null), gone: true }]]);
    const { next, events } = diffSnapshot('d', base, poll({ libvirtd: [quick] }), gone);
    assert.deepEqual(
      events.map((e) => e.type),
      ['client.connected', 'client.disconnected'],
    );
    assert.equal(next.servers.get('libvirtd')!.clients.size, 0);
  });

  it('reports settings changes with the previous values and the new ETag', () => {
    const base = diffSnapshot('d', undefined, poll({ admin: [] }), new Map()).next;
    const changed = poll({ admin: [] }, { tp: 6, logging: { outputs: '1:stderr', filters: '' } });
    changed.servers[0]!.settings.set('client-limits', { maxClients: 10, maxUnauthClients: 5 });
    const { events } = diffSnapshot('d', base, changed, new Map());
    assert.deepEqual(events, [
      {
        type: 'threadpool.changed',
        daemon: 'd',
        server: 'admin',
        threadpool: { minWorkers: 6, maxWorkers: 20, prioWorkers: 5 },
        previous: { minWorkers: 5, maxWorkers: 20, prioWorkers: 5 },
        etag: settingsEtag('threadpool', { minWorkers: 6, maxWorkers: 20, prioWorkers: 5 }),
      },
      {
        type: 'client-limits.changed',
        daemon: 'd',
        server: 'admin',
        clientLimits: { maxClients: 10, maxUnauthClients: 5 },
        previous: { maxClients: 5000, maxUnauthClients: 20 },
        etag: settingsEtag('client-limits', { maxClients: 10, maxUnauthClients: 5 }),
      },
      {
        type: 'logging.changed',
        daemon: 'd',
        logging: { outputs: '1:stderr', filters: '' },
        previous: { outputs: '3:stderr', filters: '' },
        etag: settingsEtag('logging', { outputs: '1:stderr', filters: '' }),
      },
    ]);
  });

  it('leaves resources the gateway changed during the poll to the gateway', () => {
    const a = ref('admin', 1);
    const base = diffSnapshot('d', undefined, poll({ admin: [a] }), identify(a)).next;
    // The gateway already published minWorkers 7 and the closing of client 1; this poll read the older state.
    base.servers.get('admin')!.settings.set('threadpool', { minWorkers: 7, maxWorkers: 20, prioWorkers: 5 });
    base.servers.get('admin')!.clients.delete(clientKey(a));
    const stale = new Set([
      ResourceKey.settings(threadpool, { daemon: 'd', server: 'admin' }),
      ResourceKey.client('admin', 1),
    ]);
    const { next, events } = diffSnapshot('d', base, poll({ admin: [a] }), new Map(), (k) => !stale.has(k));
    assert.deepEqual(events, []);
    assert.deepEqual(next.servers.get('admin')!.settings.get('threadpool'), {
      minWorkers: 7,
      maxWorkers: 20,
      prioWorkers: 5,
    });
    assert.equal(next.servers.get('admin')!.clients.size, 0);
  });

  it('reports the clients of a server that vanished as gone', () => {
    const a = ref('old', 1);
    const base = diffSnapshot('d', undefined, poll({ old: [a] }), identify(a)).next;
    const { events } = diffSnapshot('d', base, poll({ admin: [] }), new Map());
    assert.deepEqual(
      events.map((e) => [e.type, 'server' in e ? e.server : null]),
      [['client.disconnected', 'old']],
    );
  });
});

describe('newClients', () => {
  it('lists clients the snapshot lacks, except those the gateway just closed', () => {
    const a = ref('admin', 1);
    const b = ref('admin', 2);
    const c = ref('admin', 3);
    const base = diffSnapshot('d', undefined, poll({ admin: [a] }), identify(a)).next;
    const found = newClients(base, poll({ admin: [a, b, c] }), (k) => k !== ResourceKey.client('admin', 3));
    assert.deepEqual(found, [b]);
    assert.deepEqual(
      newClients(undefined, poll({ admin: [a] }), () => true),
      [a],
    );
  });
});
