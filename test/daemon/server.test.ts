// A NetServer on a real unix socket, with a test program whose procedures block until the test lets them go:
// client ids and registry, the 5-requests-per-client throttle, client limits and the listen backlog, programs
// that are not served, and the admin rule that drops clients of another uid.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { parseOutput } from '../../src/admin/logging/outputs.js';
import type { ProcedureSpec } from '../../src/rpc/client.js';
import { voidCodec } from '../../src/xdr/index.js';
import { type DaemonError } from '../../src/daemon/errors.js';
import { DaemonLog } from '../../src/daemon/log.js';
import { PeerCredentialResolver } from '../../src/daemon/peer-credentials.js';
import { handler, type RpcProgram } from '../../src/daemon/program.js';
import { NetServer, type NetServerConfig } from '../../src/daemon/server.js';
import { UnixService } from '../../src/daemon/service.js';
import { VERSION_TRAITS } from '../../src/daemon/versions.js';
import { CALL, frame, readHeader, u32 } from '../helpers/bytes.js';
import { RawConnection } from './raw-connection.js';
import { eventually, holdsFor } from '../helpers/wait.js';

const TEST_PROG = 0x7e57;
const SLOW: ProcedureSpec<void, void> = {
  name: 'SLOW',
  prog: TEST_PROG,
  vers: 1,
  proc: 1,
  args: voidCodec,
  ret: voidCodec,
};
const slowCall = (serial: number) => frame({ prog: TEST_PROG, proc: 1, type: CALL, serial });

describe('NetServer', () => {
  let dir: string;
  let log: DaemonLog;
  const opened: Array<{ server: NetServer; conns: RawConnection[] }> = [];
  /** Calls of the slow procedure that started and wait for release. */
  let started: Array<() => void> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'net-server-'));
    await chmod(dir, 0o755);
    log = new DaemonLog({ defaultOutput: parseOutput(`3:file:${dir}/log`), libVersion: 9_000_000 });
    log.open();
  });
  afterEach(async () => {
    for (const o of opened.splice(0)) {
      for (const c of o.conns) c.destroy();
      for (const release of started) release();
      await o.server.close();
    }
    started = [];
  });
  after(async () => {
    log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const program: RpcProgram = {
    prog: TEST_PROG,
    vers: 1,
    procedures: new Map([
      [1, handler(SLOW, () => new Promise<void>((resolve) => started.push(resolve)))],
      [2, handler({ ...SLOW, proc: 2 }, (_args, client) => client.close())],
    ]),
  };

  async function startServer(
    over: Partial<NetServerConfig> = {},
    mode = 0o700,
  ): Promise<{ server: NetServer; path: string; connect: () => Promise<RawConnection> }> {
    const server = new NetServer(
      {
        name: 'test',
        minWorkers: 5,
        maxWorkers: 20,
        prioWorkers: 0,
        maxClients: 5000,
        maxUnauthClients: 0,
        maxQueuedClients: 20,
        maxClientRequests: 5,
        programs: [program],
        adminRules: false,
        authList: false,
        version: VERSION_TRAITS['9.0.0'],
        ...over,
      },
      log,
      new PeerCredentialResolver(),
    );
    const path = join(dir, `sock-${opened.length}-${Date.now()}`);
    const service = await UnixService.listen({
      path,
      mode,
      readonly: false,
      maxQueued: over.maxQueuedClients ?? 20,
      onConnection: (s, svc) => server.accept(s, svc),
    });
    server.addService(service);
    const entry = { server, conns: [] as RawConnection[] };
    opened.push(entry);
    return {
      server,
      path,
      connect: async () => {
        const c = await RawConnection.open(path);
        entry.conns.push(c);
        return c;
      },
    };
  }

  test('client ids start at 1, count up per connection and are never reused; clients list in connection order', async () => {
    const { server, connect } = await startServer();
    const a = await connect();
    await connect();
    await eventually(() => server.clients().length === 2, 'two clients');
    a.destroy();
    await eventually(() => server.clients().length === 1, 'one client left');
    await connect();
    await connect();
    await eventually(() => server.clients().length === 3, 'three clients');
    assert.deepEqual(
      server.clients().map((c) => c.id),
      [2n, 3n, 4n],
    );
    assert.equal(server.client(3n).ref().server.name, 'test');
    assert.throws(
      () => server.client(1n),
      (e: DaemonError) => e.message === "Client not found: No client with matching ID '1'" && e.payload.domain === 7,
    );
    assert.equal(server.limits().clients, 3);
  });

  test('at most 5 calls of a client are processed at once; the rest wait unread', async () => {
    const { server, connect } = await startServer();
    const conn = await connect();
    conn.send(...Array.from({ length: 8 }, (_, i) => slowCall(i)));
    await eventually(() => started.length === 5, 'five calls started');
    await holdsFor('no sixth call starts', 100, () => started.length === 5);
    assert.equal(server.pool.figures().freeWorkers, 0);
    started[3]!();
    const first = await conn.next();
    assert.equal(readHeader(first).serial, 3);
    await eventually(() => started.length === 6, 'the sixth call started');
    for (const release of started) release();
    await eventually(() => started.length === 8, 'every call started');
    for (const release of started) release();
    const serials = (await conn.take(7)).map((f) => readHeader(f).serial).sort();
    assert.deepEqual(serials, [0, 1, 2, 4, 5, 6, 7]);
  });

  test('closing its own connection: no reply is written', async () => {
    const { connect } = await startServer();
    const conn = await connect();
    conn.send(frame({ prog: TEST_PROG, proc: 2, type: CALL, serial: 1 }));
    assert.equal(await conn.closesWithin(2000), true);
    assert.equal(conn.pending, 0);
  });

  test('at its client limit the server stops accepting; waiting connections get in when a client leaves', async () => {
    const { server, connect } = await startServer({ maxClients: 2, maxQueuedClients: 2 });
    const a = await connect();
    await connect();
    await eventually(() => server.clients().length === 2, 'two clients');
    const waiting = await connect();
    waiting.send(slowCall(42));
    await holdsFor('a queued connection is not read', 200, () => started.length === 0 && server.clients().length === 2);
    await connect();
    const beyondBacklog = await connect();
    assert.equal(await beyondBacklog.closesWithin(2000), true, 'past max_queued_clients a connection is refused');
    a.destroy();
    await eventually(() => started.length === 1, 'the queued call runs once a client left');
    assert.equal(server.clients().length, 2);
    assert.deepEqual(
      server.clients().map((c) => c.id),
      [2n, 3n],
    );
  });

  test('client limits: max must not fall below the unauthenticated max; raising max accepts again', async () => {
    const { server, connect } = await startServer({ maxClients: 1 });
    await connect();
    await eventually(() => server.clients().length === 1, 'one client');
    const second = await connect();
    second.send(slowCall(1));
    await holdsFor('the second connection is not read', 100, () => started.length === 0);
    assert.throws(
      () => server.setClientLimits(undefined, 2),
      (e: DaemonError) =>
        e.payload.code === 8 &&
        e.payload.domain === 7 &&
        e.message ===
          'invalid argument: The overall maximum number of clients waiting for authentication must not be less than the overall maximum number of clients',
    );
    server.setClientLimits(3, 3);
    assert.deepEqual(server.limits(), { maxClients: 3, clients: 2, maxUnauthClients: 3, unauthClients: 0 });
    await eventually(() => started.length === 1, 'the waiting client is accepted');
  });

  test('a call to a program the server does not serve gets "Cannot find program"; other messages get nothing', async () => {
    const { connect } = await startServer({ programs: [] });
    const conn = await connect();
    conn.send(
      frame({ prog: 0x20008086, proc: 66, type: 1, serial: 1 }),
      frame({ prog: 0x20008086, proc: 66, type: CALL, serial: 2 }, u32(0)),
    );
    const reply = await conn.next();
    assert.deepEqual(readHeader(reply), {
      length: reply.length,
      prog: 0x20008086,
      vers: 1,
      proc: 66,
      type: 1,
      serial: 2,
      status: 1,
    });
    assert.match(reply.toString('latin1'), /Cannot find program 536903814 version 1/);
    assert.deepEqual(await conn.drain(100), []);
  });

  test('admin rule: a client of another uid is dropped before anything is read, and uses up an id', async () => {
    const { server, path, connect } = await startServer({ adminRules: true }, 0o777);
    const script = `
      const s = require('net').createConnection(${JSON.stringify(path)});
      s.on('connect', () => s.write(Buffer.from(${JSON.stringify(slowCall(1).toString('hex'))}, 'hex')));
      s.on('data', () => { console.log('data'); process.exit(0); });
      s.on('close', () => { console.log('closed'); process.exit(0); });
      s.on('error', () => {});`;
    const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534 });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((r) => child.once('exit', r));
    assert.equal(out.trim(), 'closed');
    assert.equal(started.length, 0);
    await connect();
    await eventually(() => server.clients().length === 1, 'our own client is admitted');
    assert.deepEqual(
      server.clients().map((c) => c.id),
      [2n],
    );
  });
});
