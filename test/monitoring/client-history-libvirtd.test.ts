// The client history against a real libvirtd: clients that connect and leave (by themselves, or disconnected
// through the gateway by a named caller) are found with their identity and how long they stayed; the file
// survives a gateway restart, and what happened while the gateway was stopped is reconciled when it starts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import type { ClientHistoryEntry } from '../../src/monitoring/client-history-store.js';
import { Authenticator } from '../../src/security/authenticate.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../src/security/tokens.js';
import { eventually } from '../helpers/wait.js';
import { parseVirtAdminTable, startRealDaemons, type RealDaemons } from '../harness/libvirtd.js';
import { openRawClients, type RawClients } from '../harness/raw-clients.js';
import { buildGateway } from '../http/gateway.js';

const INTERVAL = 250;
const OPERATOR = 'history-test-operator-token-0123456789abcdef';
const VIEWER = 'history-test-viewer-token-0123456789abcdefgh';
const AS_OPERATOR = { authorization: `Bearer ${OPERATOR}`, 'x-requested-with': 'test' };
const AS_VIEWER = { authorization: `Bearer ${VIEWER}` };

describe('client history against a real libvirtd', () => {
  let daemons: RealDaemons;
  let stateDir: string;
  let app: FastifyInstance | undefined;
  const open: RawClients[] = [];

  const start = async () =>
    buildGateway([{ uri: daemons.adminUri('libvirtd') }], {
      monitoring: { watchIntervalMs: INTERVAL },
      security: {
        authenticator: new Authenticator({
          tokens: TokenStore.fromEntries(
            parseTokensFile(`${tokenLine('operator', OPERATOR, 'ops')}\n${tokenLine('viewer', VIEWER, 'grafana')}`),
          ),
        }),
        mutationRateLimit: 0,
      },
      history: { clientHistory: { stateDir } },
    });

  /** Every history entry of libvirtd's `libvirtd` server, newest first (all pages). */
  const history = async (): Promise<ClientHistoryEntry[]> => {
    const out: ClientHistoryEntry[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/servers/libvirtd/client-history?limit=50${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await request(app!.server).get(url).set(AS_VIEWER).expect(200);
      assert.equal(res.body.enabled, true);
      out.push(...res.body.entries);
      cursor = res.body.nextCursor;
    } while (cursor !== null);
    return out;
  };
  const find = (entries: ClientHistoryEntry[], event: string, id: number) =>
    entries.filter((e) => e.event === event && e.client.id === id);
  const clientIds = async () =>
    parseVirtAdminTable((await daemons.virtAdmin('libvirtd', 'srv-clients-list', 'libvirtd')).stdout).map(([id]) =>
      Number(id),
    );
  /** Opens one client and returns its id as virt-admin lists it. */
  const connectOne = async () => {
    const before = new Set(await clientIds());
    open.push(await openRawClients(daemons.readOnlyClientSocket, 1));
    const id = (await clientIds()).find((i) => !before.has(i));
    assert.ok(id !== undefined, 'virt-admin lists the new client');
    return { id, clients: open[open.length - 1]! };
  };

  before(async () => {
    daemons = await startRealDaemons();
    stateDir = join(await mkdtemp(join(tmpdir(), 'history-state-')), 'state');
    app = await start();
  });
  after(async () => {
    for (const c of open) c.close();
    await app?.close();
    await daemons?.stop();
    await rm(join(stateDir, '..'), { recursive: true, force: true });
  });

  let a: { id: number; clients: RawClients };
  let b: { id: number; clients: RawClients };
  let c: { id: number; clients: RawClients };

  it('records each client that connects, with the identity libvirtd reports', async () => {
    // The watchers run without any /events subscriber: the history holds them.
    assert.equal(app!.monitoring.monitor.isWatching, true);
    // Clients that come after the first poll are seen arriving (those found by it are recorded as a gap).
    // The first poll that reaches the daemon is the baseline: on a loaded machine the very first may time out.
    const watcher = app!.monitoring.monitor.watcher('libvirtd')!;
    await watcher.whenPrimed(10_000);
    await eventually(async () => watcher.lastReachable === true, 'a poll that reached libvirtd', 30_000);
    a = await connectOne();
    b = await connectOne();
    c = await connectOne();
    await eventually(async () => {
      const entries = await history();
      return [a, b, c].every(({ id }) => find(entries, 'connected', id).length === 1);
    }, 'three connects recorded');
    for (const { id } of [a, b, c]) {
      const [entry] = find(await history(), 'connected', id);
      assert.equal(entry!.daemon, 'libvirtd');
      assert.equal(entry!.client.transport, 'unix');
      assert.equal(entry!.client.identity?.unixProcessId, process.pid, 'this process opened it');
      assert.equal(entry!.client.identity?.unixUserId, process.getuid!());
      assert.equal(entry!.client.identity?.readonly, true, 'the read-only socket');
      assert.equal(entry!.gap, undefined);
    }
  });

  it('records a client that leaves by itself, with how long it stayed', async () => {
    const openedFor = Date.now();
    a.clients.close();
    const closedAt = Date.now();
    await eventually(async () => find(await history(), 'disconnected', a.id).length === 1, 'disconnect recorded');
    const [left] = find(await history(), 'disconnected', a.id);
    const [came] = find(await history(), 'connected', a.id);
    assert.equal(left!.durationMs, Date.parse(left!.time) - Date.parse(left!.client.connectedAt));
    // libvirt keeps connect times in whole seconds; the gateway sees the departure within a poll.
    const stayed = closedAt - Date.parse(came!.client.connectedAt);
    assert.ok(
      left!.durationMs >= stayed - 50 && left!.durationMs <= stayed + 1000 + 4 * INTERVAL,
      `${left!.durationMs} ms for ${stayed} ms`,
    );
    assert.ok(openedFor <= closedAt);
    assert.deepEqual(left!.client.identity, came!.client.identity, 'the identity read while it was connected');
    assert.equal(left!.disconnectedBy, undefined);
  });

  it('records who disconnected a client through the gateway', async () => {
    await request(app!.server).delete(`/servers/libvirtd/clients/${b.id}`).set(AS_OPERATOR).expect(204);
    assert.ok(!(await clientIds()).includes(b.id), 'virt-admin no longer lists it');
    await eventually(async () => find(await history(), 'disconnected', b.id).length === 1, 'disconnect recorded');
    const [left] = find(await history(), 'disconnected', b.id);
    assert.deepEqual(left!.disconnectedBy, { kind: 'token', name: 'ops', role: 'operator' });
    assert.equal(left!.client.identity?.unixProcessId, process.pid);
  });

  it('filters by unix user id', async () => {
    const uid = process.getuid!();
    const mine = await request(app!.server)
      .get(`/servers/libvirtd/client-history?uid=${uid}`)
      .set(AS_VIEWER)
      .expect(200);
    assert.ok(mine.body.entries.length >= 5);
    const others = await request(app!.server)
      .get(`/servers/libvirtd/client-history?uid=${uid + 4242}`)
      .set(AS_VIEWER)
      .expect(200);
    assert.deepEqual(others.body.entries, []);
  });

  it('keeps the history in a private file that survives a gateway restart, and reconciles what happened meanwhile', async () => {
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(stateDir, 'client-history.jsonl'))).mode & 0o777, 0o600);
    const beforeRestart = await history();
    await app!.close();
    app = undefined;
    // While the gateway is stopped: c leaves, d arrives.
    c.clients.close();
    await eventually(async () => !(await clientIds()).includes(c.id), 'c gone');
    const d = await connectOne();
    app = await start();
    await eventually(async () => {
      const entries = await history();
      return find(entries, 'disconnected', c.id).length === 1 && find(entries, 'connected', d.id).length === 1;
    }, 'the gap reconciled');
    const after = await history();
    // Everything recorded before the restart is still there, in the same order, with the same seqs.
    assert.deepEqual(after.slice(after.length - beforeRestart.length), beforeRestart);
    const [cLeft] = find(after, 'disconnected', c.id);
    assert.equal(cLeft!.gap, true);
    assert.equal(cLeft!.client.identity?.unixProcessId, process.pid);
    const [dCame] = find(after, 'connected', d.id);
    assert.equal(dCame!.gap, true);
    assert.equal(dCame!.client.identity?.unixProcessId, process.pid);
    // Seqs go on increasing across the restart.
    assert.ok(after[0]!.seq > beforeRestart[0]!.seq);
  });
});
