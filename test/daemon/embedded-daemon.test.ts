// The embedded daemon as a whole, through the typed AdminClient and raw sockets: its sockets, its log, its
// clients, the daemon timeout and, for a daemon claiming libvirt >= 11.2.0, CONNECT_DAEMON_SHUTDOWN.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { adminProcedures as P } from '../../src/admin/procedures.js';
import { EmbeddedDaemon, adminUriFor } from '../../src/daemon/index.js';
import { type LibvirtError, UnsupportedProcedureError } from '../../src/rpc/errors.js';
import { ADMIN_PROG, CALL, KEEPALIVE_PROG, MESSAGE, frame, readHeader, u32 } from '../helpers/bytes.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../harness/embedded.js';
import { RawConnection } from './raw-connection.js';
import { holdsFor } from '../helpers/wait.js';

describe('embedded daemon', { timeout: 60_000 }, () => {
  let d: EmbeddedDaemonHandle;
  before(async () => {
    d = await startEmbeddedDaemon();
  });
  after(async () => {
    await d?.stop();
  });

  test('listens on the admin socket (0700) and on libvirt-sock and libvirt-sock-ro (0777) beside it', async () => {
    assert.equal(d.clientSocket, join(d.dir, 'libvirt-sock'));
    assert.equal(d.readOnlyClientSocket, join(d.dir, 'libvirt-sock-ro'));
    assert.equal(d.adminUri, `libvirtd:///system?socket=${d.adminSocket}`);
    for (const [path, mode] of [
      [d.adminSocket, 0o700],
      [d.clientSocket, 0o777],
      [d.readOnlyClientSocket, 0o777],
    ] as const) {
      const st = await lstat(path);
      assert.ok(st.isSocket(), path);
      assert.equal(st.mode & 0o777, mode, path);
    }
    assert.equal(adminUriFor('/tmp/a b&c/sock'), 'libvirtd:///system?socket=/tmp/a%20b%26c/sock');
  });

  test('refuses a socket path a running daemon answers on, and replaces a stale socket file', async () => {
    await assert.rejects(
      EmbeddedDaemon.start({
        adminSocketPath: d.adminSocket,
        clientSocketPath: join(d.dir, 'x'),
        readOnlyClientSocketPath: join(d.dir, 'y'),
      }),
      /is in use by another process/,
    );
    const dir = await mkdtemp(join(tmpdir(), 'embedded-stale-'));
    const admin = join(dir, 'libvirt-admin-sock');
    try {
      // A daemon killed with SIGKILL leaves its socket file behind.
      const killed = spawn(process.execPath, [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(admin)}, () => process.kill(process.pid, 'SIGKILL'))`,
      ]);
      await once(killed, 'exit');
      assert.ok((await lstat(admin)).isSocket());
      const daemon = await EmbeddedDaemon.start({ adminSocketPath: admin });
      const c = await AdminClient.connect(daemon.adminUri);
      assert.equal((await c.getLibVersion()).text, '9.0.0');
      await c.close();
      await daemon.stop();
      await assert.rejects(lstat(admin), /ENOENT/, 'stop() removes the socket files');
      await writeFile(join(dir, 'libvirt-sock'), 'not a socket');
      await assert.rejects(EmbeddedDaemon.start({ adminSocketPath: admin }), /exists and is not a socket/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('answers the typed client like libvirtd 9.0.0 and does not serve CONNECT_DAEMON_SHUTDOWN', async () => {
    const c = await AdminClient.connect(d.adminUri);
    try {
      assert.deepEqual(await c.getLibVersion(), { number: 9_000_000, text: '9.0.0' });
      assert.deepEqual(
        (await c.listServers()).map((s) => s.name),
        ['libvirtd', 'admin'],
      );
      assert.deepEqual(await c.getClientLimits('admin'), {
        maxClients: 5000,
        clients: 1,
        maxUnauthClients: 0,
        unauthClients: 0,
        extra: [],
      });
      await assert.rejects(c.daemonShutdown(), UnsupportedProcedureError);
    } finally {
      await c.close();
    }
  });

  test('clients of the libvirtd server: listed, pending until AUTH_LIST, then inspected, force-disconnected for real', async () => {
    const c = await AdminClient.connect(d.adminUri);
    const rw = await RawConnection.open(d.clientSocket);
    const ro = await RawConnection.open(d.readOnlyClientSocket);
    try {
      let clients = await c.listClients('libvirtd');
      while (clients.length < 2) clients = await c.listClients('libvirtd');
      const [first, second] = clients as [(typeof clients)[0], (typeof clients)[0]];
      assert.ok(second.id > first.id);
      assert.ok(Math.abs(Number(first.timestamp) - Date.now() / 1000) < 10);
      // As in libvirtd: waiting for authentication, and no identity, until the first call (AUTH_LIST).
      assert.equal((await c.getClientLimits('libvirtd')).unauthClients, 2);
      await assert.rejects(c.getClientInfo(second), /No identity information available for client/);
      for (const conn of [rw, ro]) {
        conn.send(frame({ prog: 0x20008086, proc: 66, type: CALL, serial: 1 }));
        const reply = await conn.next();
        // remote_auth_list_ret: one type, REMOTE_AUTH_NONE.
        assert.equal(readHeader(reply).status, 0);
        assert.deepEqual(reply.subarray(28), Buffer.concat([u32(1), u32(0)]));
      }
      assert.equal((await c.getClientLimits('libvirtd')).unauthClients, 0);
      const info = await c.getClientInfo(second);
      assert.equal(info.readonly, true);
      assert.equal(info.unixUserId, process.geteuid!());
      assert.equal(info.unixProcessId, process.pid);
      assert.equal((await c.getClientInfo(first)).readonly, false);
      await c.closeClient(first);
      assert.equal(await rw.closesWithin(2000), true);
      await assert.rejects(c.closeClient(first), (e: LibvirtError) => e.libvirtCode === 96);
      assert.equal((await c.listClients('libvirtd')).length, 1);
    } finally {
      rw.destroy();
      ro.destroy();
      await c.close();
    }
  });

  test('an admin connection has no identity until it made a call, as in libvirtd', async () => {
    const c = await AdminClient.connect(d.adminUri);
    const raw = await RawConnection.open(d.adminSocket);
    try {
      let list = await c.listClients('admin');
      // The raw connection is admitted once its peer's credentials are known (a moment after connect).
      while (list.length < 2) list = await c.listClients('admin');
      const rawRef = list[1]!;
      await assert.rejects(c.getClientInfo(rawRef), /No identity information available for client/);
      raw.send(frame({ prog: ADMIN_PROG, proc: 3, type: CALL, serial: 1 }));
      await raw.next();
      assert.equal((await c.getClientInfo(rawRef)).unixProcessId, process.pid);
    } finally {
      raw.destroy();
      await c.close();
    }
  });

  test('answers PINGs and never sends one of its own', async () => {
    const raw = await RawConnection.open(d.adminSocket);
    try {
      assert.deepEqual(await raw.drain(1500), []);
      raw.send(frame({ prog: KEEPALIVE_PROG, proc: 1, type: MESSAGE, serial: 0 }));
      assert.deepEqual(readHeader(await raw.next()), {
        length: 28,
        prog: KEEPALIVE_PROG,
        vers: 1,
        proc: 2,
        type: MESSAGE,
        serial: 0,
        status: 0,
      });
    } finally {
      raw.destroy();
    }
  });

  test('log outputs and filters set through the API decide what the daemon writes where', async () => {
    const c = await AdminClient.connect(d.adminUri);
    const file = join(d.dir, 'debug.log');
    try {
      await c.setLoggingOutputs(`1:file:${file} 4:file:${d.logFile}`);
      await c.setLoggingFilters('1:rpc.netserverclient 4:util');
      await c.getLibVersion();
      await assert.rejects(c.lookupServer('nosuch'));
      await assert.rejects(c.setThreadpool('admin', { minWorkers: 99 }));
      const debug = await readFile(file, 'utf8');
      assert.match(debug, /^.*: info : libvirt version: 9\.0\.0/);
      assert.match(
        debug,
        /info : rpc\.netserverclient : RPC_SERVER_CLIENT_MSG_RX: client=admin\/\d+ len=28 prog=110102160 vers=1 proc=3 type=0 status=0 serial=\d+/,
      );
      assert.match(debug, /error : util\.error : invalid argument: minWorkers cannot be larger than maxWorkers/);
      // "no such object" errors are debug messages in libvirtd (daemonErrorLogFilter): the 4:util filter drops them.
      assert.doesNotMatch(debug, /Server not found/);
      assert.match(await readFile(d.logFile, 'utf8'), /error : util\.error : invalid argument: minWorkers/);
    } finally {
      await c.setLoggingOutputs(null);
      await c.setLoggingFilters(null);
      await c.close();
    }
  });
});

describe('embedded daemon: daemon timeout and shutdown', { timeout: 60_000 }, () => {
  test('quits (and says so) once the timeout passes with no client on any server', async () => {
    const d = await startEmbeddedDaemon();
    try {
      const c = await AdminClient.connect(d.adminUri);
      await c.setDaemonTimeout(1);
      const libvirtdClient = await RawConnection.open(d.clientSocket);
      await c.close();
      const timedOut = once(d.daemon, 'timeout');
      let quit = false;
      d.daemon.once('timeout', () => (quit = true));
      // A negative, shown by watching past the 1 s timeout.
      await holdsFor('a client of the libvirtd server keeps it alive', 1500, () => !quit && !libvirtdClient.isClosed);
      const left = Date.now();
      libvirtdClient.destroy();
      await timedOut;
      assert.ok(Date.now() - left >= 900, 'the full timeout counts from the last client leaving');
      await assert.rejects(lstat(d.adminSocket), /ENOENT/);
    } finally {
      await d.stop();
    }
  });

  test('claiming 11.3.0 it serves CONNECT_DAEMON_SHUTDOWN as 11.3 does: flags checked, then every connection closes without a reply', async () => {
    const d = await startEmbeddedDaemon({ version: '11.3.0' });
    try {
      const c = await AdminClient.connect(d.adminUri);
      assert.equal((await c.getLibVersion()).text, '11.3.0');
      await assert.rejects(
        c.call(P.connectDaemonShutdown, { flags: 2 }),
        /unsupported flags \(0x2\) in function adminConnectDaemonShutdown/,
      );
      const bystander = await AdminClient.connect(d.adminUri);
      const client = await RawConnection.open(d.clientSocket);
      const shutdown = once(d.daemon, 'shutdown');
      assert.equal(await c.daemonShutdown({ preserve: true }), 'connection-closed');
      assert.deepEqual(await shutdown, [{ preserve: true }]);
      assert.equal(c.closed, true);
      await client.closed;
      const bystanderEnd = await new Promise<Error>((resolve) => bystander.rpc.onClosed(resolve));
      assert.equal(bystanderEnd.message, 'connection closed by peer');
      await assert.rejects(lstat(d.adminSocket), /ENOENT/);
    } finally {
      await d.stop();
    }
  });

  test('CONNECT_CLOSE: the reply, then the socket closes; later frames are not read', async () => {
    const d = await startEmbeddedDaemon();
    try {
      const raw = await RawConnection.open(d.adminSocket);
      raw.send(frame({ prog: ADMIN_PROG, proc: 2, type: CALL, serial: 9 }));
      assert.equal(readHeader(await raw.next()).serial, 9);
      assert.equal(await raw.closesWithin(2000), true);
      const raw2 = await RawConnection.open(d.adminSocket);
      raw2.send(frame({ prog: ADMIN_PROG, proc: 1, type: CALL, serial: 0 }, u32(0)));
      assert.equal(readHeader(await raw2.next()).status, 0);
      raw2.destroy();
    } finally {
      await d.stop();
    }
  });
});
