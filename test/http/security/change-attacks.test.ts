// Attacks on the change path, against a private real libvirtd and the embedded daemon, over real HTTP:
// - issue 11 item 6: a change whose caller resets the connection, or whose response waits behind an unread
//   pipelined response, is still applied *and* audited (attempt before the call, outcome after);
// - issue 11 item 7: an operator cannot take the host down with a huge worker count, nor lock the admin
//   interface with maxClients 0 on the admin server or by disconnecting the gateway's own admin connections.
// The policy attacks come from another user's process (nobody) holding an operator token; each checks with
// virt-admin that nothing changed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { AdminProc } from '../../../src/admin/constants.js';
import gateway from '../../../src/http/app.js';
import { gatewayServerOptions } from '../../../src/http/server-options.js';
import { Authenticator } from '../../../src/security/authenticate.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../../harness/embedded.js';
import {
  parseVirtAdminKeyValues,
  startRealDaemons,
  type RealDaemons,
  type VirtAdminResult,
} from '../../harness/libvirtd.js';
import { requestAsNobody } from '../../harness/other-user.js';
import { startRecordingProxy, type RecordingProxy } from '../../helpers/recording-proxy.js';
import { eventually } from '../../helpers/wait.js';

type Line = Record<string, unknown>;

const tokens = TokenStore.fromEntries(
  parseTokensFile(
    [
      tokenLine('operator', 'operator-token-0123456789abcdef', 'ops'),
      tokenLine('admin', 'admin-token-0123456789abcdef', 'root'),
    ].join('\n'),
  ),
);
const OPERATOR = { authorization: 'Bearer operator-token-0123456789abcdef', 'content-type': 'application/json' };

/** What each attack needs of a daemon: its admin socket, virt-admin on it, and its pid. */
interface Target {
  name: string;
  adminSocket: string;
  virtAdmin(...args: string[]): Promise<VirtAdminResult>;
  pid(): number;
  stop(): Promise<void>;
}

async function realLibvirtd(): Promise<Target> {
  const daemons: RealDaemons = await startRealDaemons({ daemons: ['libvirtd'] });
  return {
    name: 'real libvirtd 9.0.0',
    adminSocket: daemons.adminSocket('libvirtd'),
    virtAdmin: (...args) => daemons.virtAdmin('libvirtd', ...args),
    pid: () => daemons.pid('libvirtd'),
    stop: () => daemons.stop(),
  };
}

async function embedded(): Promise<Target> {
  const daemon: EmbeddedDaemonHandle = await startEmbeddedDaemon();
  return {
    name: 'embedded daemon',
    adminSocket: daemon.adminSocket,
    virtAdmin: daemon.virtAdmin,
    pid: () => process.pid,
    stop: daemon.stop,
  };
}

/** A gateway listening on loopback TCP in front of `target` through a recording proxy, its audit captured. */
async function listeningGateway(target: Target) {
  const proxy: RecordingProxy = await startRecordingProxy(target.adminSocket);
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  const app: FastifyInstance = Fastify(gatewayServerOptions({ level: 'info', stream }));
  await app.register(gateway, {
    daemons: [{ uri: `libvirtd:///system?socket=${proxy.path}` }],
    callTimeoutMs: 10_000,
    security: { authenticator: new Authenticator({ tokens }), mutationRateLimit: 0 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const audit = (requestPath: string) => lines.filter((l) => l['audit'] === true && l['url'] === requestPath);
  return {
    app,
    proxy,
    port,
    url: `http://127.0.0.1:${port}`,
    audit,
    close: async () => (await app.close(), await proxy.close()),
  };
}

for (const start of [realLibvirtd, embedded]) {
  describe(`changes cannot escape the audit (${start.name})`, () => {
    let target: Target;
    before(async () => {
      target = await start();
    });
    after(() => target?.stop());

    const minWorkers = async () =>
      Number(parseVirtAdminKeyValues((await target.virtAdmin('srv-threadpool-info', 'libvirtd')).stdout)['minWorkers']);

    it('a change whose caller resets the connection mid-call is applied and audited', async () => {
      const gw = await listeningGateway(target);
      try {
        const before = await minWorkers();
        const body = JSON.stringify({ minWorkers: before + 1 });
        gw.proxy.delayMs = 300; // holds the daemon's answers, so the reset lands while the change is in flight
        const socket = connect(gw.port, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(
          `PATCH /servers/libvirtd/threadpool HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${OPERATOR.authorization}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
        await eventually(
          () => gw.proxy.procs.includes(AdminProc.SERVER_SET_THREADPOOL_PARAMETERS),
          'the SET call to go out',
        );
        socket.resetAndDestroy();
        await eventually(async () => (await minWorkers()) === before + 1, 'the change to be applied');
        await eventually(() => gw.audit('/servers/libvirtd/threadpool').length === 2, 'both audit records');
        const [attempt, outcome] = gw.audit('/servers/libvirtd/threadpool');
        assert.deepEqual([attempt!['phase'], outcome!['phase'], outcome!['result']], ['attempt', 'outcome', 'success']);
        assert.deepEqual(
          [attempt!['old'], attempt!['new']],
          [{ minWorkers: before, maxWorkers: 20, prioWorkers: 5 }, { minWorkers: before + 1 }],
        );
        gw.proxy.delayMs = 0;
        await target.virtAdmin('srv-threadpool-set', 'libvirtd', '--min-workers', String(before));
      } finally {
        await gw.close();
      }
    });

    it('a change waiting behind an unread pipelined response is applied and audited before any answer is read', async () => {
      const gw = await listeningGateway(target);
      const before = await minWorkers();
      const socket = connect(gw.port, '127.0.0.1');
      socket.on('error', () => undefined);
      try {
        const body = JSON.stringify({ minWorkers: before + 2 });
        await new Promise((resolve) => socket.once('connect', resolve));
        // The event stream never ends, so the PATCH's response can never be sent; nothing is read from the socket.
        socket.pause();
        socket.write(
          `GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${OPERATOR.authorization}\r\n\r\n` +
            `PATCH /servers/libvirtd/threadpool HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${OPERATOR.authorization}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
        await eventually(async () => (await minWorkers()) === before + 2, 'the pipelined change to be applied');
        await eventually(() => gw.audit('/servers/libvirtd/threadpool').length === 2, 'both audit records');
        assert.deepEqual(
          gw.audit('/servers/libvirtd/threadpool').map((l) => [l['phase'], l['result']]),
          [
            ['attempt', undefined],
            ['outcome', 'success'],
          ],
        );
        await target.virtAdmin('srv-threadpool-set', 'libvirtd', '--min-workers', String(before));
      } finally {
        socket.destroy();
        await gw.close();
      }
    });
  });

  describe(`an operator cannot take the daemon or the host down (${start.name})`, () => {
    let target: Target;
    before(async () => {
      target = await start();
    });
    after(() => target?.stop());

    const threads = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${target.pid()}/status`, 'utf8'))![1]);
    const info = async (command: string, server: string) =>
      parseVirtAdminKeyValues((await target.virtAdmin(command, server)).stdout);

    it('refuses worker counts above the ceiling before anything reaches the daemon', async () => {
      const gw = await listeningGateway(target);
      try {
        const pool = await info('srv-threadpool-info', 'libvirtd');
        const threadsBefore = threads();
        for (const change of [{ prioWorkers: 100_000 }, { maxWorkers: 257 }, { minWorkers: 5000, maxWorkers: 5000 }]) {
          const answer = await requestAsNobody(`${gw.url}/servers/libvirtd/threadpool`, {
            method: 'PATCH',
            headers: OPERATOR,
            body: JSON.stringify(change),
          });
          assert.equal(answer.status, 403, answer.body);
          assert.equal(JSON.parse(answer.body).code, 'ERR_ABOVE_CEILING');
        }
        assert.ok(!gw.proxy.procs.includes(AdminProc.SERVER_SET_THREADPOOL_PARAMETERS), 'no SET call went out');
        assert.deepEqual(await info('srv-threadpool-info', 'libvirtd'), pool);
        assert.ok(threads() <= threadsBefore + 1, `the daemon started no threads (${threadsBefore} -> ${threads()})`);
        const refusals = gw.audit('/servers/libvirtd/threadpool');
        assert.deepEqual(
          refusals.map((l) => [l['phase'], l['statusCode']]),
          [
            ['outcome', 403],
            ['outcome', 403],
            ['outcome', 403],
          ],
        );
      } finally {
        await gw.close();
      }
    });

    it("refuses admin-server client limits that leave no room for the gateway's connections and virt-admin", async () => {
      const gw = await listeningGateway(target);
      try {
        const limits = await info('srv-clients-info', 'admin');
        for (const maxClients of [0, 4]) {
          const answer = await requestAsNobody(`${gw.url}/servers/admin/client-limits`, {
            method: 'PATCH',
            headers: OPERATOR,
            body: JSON.stringify({ maxClients }),
          });
          assert.equal(answer.status, 409, answer.body);
          assert.equal(JSON.parse(answer.body).code, 'ERR_WOULD_LOCK_OUT');
        }
        assert.deepEqual(await info('srv-clients-info', 'admin'), limits);
        const lowest = await requestAsNobody(`${gw.url}/servers/admin/client-limits`, {
          method: 'PATCH',
          headers: OPERATOR,
          body: JSON.stringify({ maxClients: 5 }),
        });
        assert.equal(lowest.status, 200, 'the default 4 connections plus one for virt-admin are allowed');
        assert.equal((await info('srv-clients-info', 'admin'))['nclients_max'], '5');
        await target.virtAdmin('srv-clients-set', 'admin', '--max-clients', limits['nclients_max']!);
      } finally {
        await gw.close();
      }
    });

    it("refuses to disconnect the gateway's own admin connections", async () => {
      const gw = await listeningGateway(target);
      try {
        // Over the TCP listener: inject has no accepted connection, so the gateway would not know its caller.
        const get = async (path: string) => (await fetch(`${gw.url}${path}`, { headers: OPERATOR })).json();
        const list = (await get('/servers/admin/clients')) as { clients: Array<{ id: number }> };
        const ids = list.clients.map((c) => c.id);
        const own: number[] = [];
        for (const id of ids) {
          const client = (await get(`/servers/admin/clients/${id}`)) as { processId?: number };
          if (client.processId === process.pid) own.push(id);
        }
        assert.ok(own.length > 0, 'the gateway has admin connections of its own');
        for (const id of own) {
          const answer = await requestAsNobody(`${gw.url}/servers/admin/clients/${id}`, {
            method: 'DELETE',
            headers: { authorization: OPERATOR.authorization },
          });
          assert.equal(answer.status, 409, answer.body);
          assert.equal(JSON.parse(answer.body).code, 'ERR_WOULD_LOCK_OUT');
        }
        const listed = (await target.virtAdmin('srv-clients-list', 'admin')).stdout;
        for (const id of own) assert.match(listed, new RegExp(`^\\s*${id}\\s`, 'm'), `client ${id} is still connected`);
        assert.ok(!gw.proxy.procs.includes(AdminProc.CLIENT_CLOSE), 'no CLIENT_CLOSE went out');
        assert.equal((await fetch(`${gw.url}/servers`, { headers: OPERATOR })).status, 200);
      } finally {
        await gw.close();
      }
    });
  });
}
