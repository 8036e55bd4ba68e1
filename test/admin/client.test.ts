// The admin client replayed against the captured virt-admin sessions: our calls must be the captured bytes, and
// the captured replies must decode to the right values.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  AdminClient,
  closeAdminConnection,
  connectAdmin,
  formatLibVersion,
  openAdminConnection,
} from '../../src/admin/client.js';
import {
  ConnectError,
  ConnectionClosedError,
  ErrorCode,
  InvalidArgumentError,
  LibvirtError,
  UnsupportedProcedureError,
} from '../../src/rpc/errors.js';
import type { RpcClient } from '../../src/rpc/client.js';
import { ADMIN_PROG, REPLY, frame, i32, optStr, readHeader, u32 } from '../helpers/bytes.js';
import { socketPair, type FakePeer, type SocketPair } from '../helpers/fake-peer.js';
import { V1, V2, V3, V4, V5, V6, V8 } from '../helpers/vectors.js';

let pair: SocketPair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

/** Open an AdminClient on a fresh pair and answer its CONNECT_OPEN with the captured V1 exchange. */
async function openSession(): Promise<{ admin: AdminClient<RpcClient>; peer: FakePeer }> {
  pair = await socketPair();
  const { local, peer } = pair;
  const opening = AdminClient.open(async () => local);
  assert.deepEqual(await peer.nextFrame(), V1.call);
  peer.send(V1.reply);
  return { admin: await opening, peer };
}

const emptyReply = (proc: number, serial: number) => frame({ prog: ADMIN_PROG, proc, type: REPLY, serial });

describe('AdminClient replaying virt-admin sessions', () => {
  it('srv-list: V1, V2, then V4 on close', async () => {
    const { admin, peer } = await openSession();
    const servers = admin.listServers();
    assert.deepEqual(await peer.nextFrame(), V2.call);
    peer.send(V2.reply);
    assert.deepEqual(await servers, [{ name: 'libvirtd' }, { name: 'admin' }]);
    const closing = admin.close();
    assert.deepEqual(await peer.nextFrame(), V4.call);
    peer.send(V4.reply);
    await closing;
    assert.ok(admin.closed);
    await peer.ended;
  });

  it('version: V3', async () => {
    const { admin, peer } = await openSession();
    const version = admin.getLibVersion();
    assert.deepEqual(await peer.nextFrame(), V3.call);
    peer.send(V3.reply);
    assert.deepEqual(await version, { number: 9000000, text: '9.0.0' });
  });

  it('lookup of an unknown server: V5 becomes a LibvirtError', async () => {
    const { admin, peer } = await openSession();
    const lookup = admin.lookupServer('nosuch');
    assert.deepEqual(await peer.nextFrame(), V5.call);
    peer.send(V5.reply);
    await assert.rejects(lookup, (e: unknown) => {
      assert.ok(e instanceof LibvirtError);
      assert.equal(e.code, ErrorCode.LIBVIRT);
      assert.equal(e.libvirtCode, 95);
      assert.equal(e.libvirtDomain, 7);
      assert.equal(e.message, "Server not found: No server named 'nosuch'");
      return true;
    });
    assert.equal(admin.closed, false);
  });

  it('srv-threadpool-info: V6 becomes a plain object', async () => {
    const { admin, peer } = await openSession();
    const lookup = admin.lookupServer('libvirtd');
    assert.equal(readHeader(await peer.nextFrame()).serial, 1);
    peer.send(frame({ prog: ADMIN_PROG, proc: 5, type: REPLY, serial: 1 }, V6.call.subarray(28, 40)));
    assert.deepEqual(await lookup, { name: 'libvirtd' });
    const info = admin.getThreadpool('libvirtd');
    assert.deepEqual(await peer.nextFrame(), V6.call);
    peer.send(V6.reply);
    assert.deepEqual(await info, {
      minWorkers: 5,
      maxWorkers: 20,
      nWorkers: 5,
      freeWorkers: 5,
      prioWorkers: 5,
      jobQueueDepth: 0,
      extra: [],
    });
  });

  it('srv-threadpool-set --min-workers 5 --max-workers 20 --priority-workers 5: V8', async () => {
    const { admin, peer } = await openSession();
    const lookup = admin.lookupServer('libvirtd');
    await peer.nextFrame();
    peer.send(frame({ prog: ADMIN_PROG, proc: 5, type: REPLY, serial: 1 }, V6.call.subarray(28, 40)));
    await lookup;
    const set = admin.setThreadpool('libvirtd', { minWorkers: 5, maxWorkers: 20, prioWorkers: 5 });
    assert.deepEqual(await peer.nextFrame(), V8.call);
    peer.send(V8.reply);
    await set;
  });
});

describe('AdminClient behaviour', () => {
  it('reports daemon-shutdown on a 9.0.0 daemon as unsupported', async () => {
    const { admin, peer } = await openSession();
    const shutdown = admin.daemonShutdown({ preserve: true });
    const call = await peer.nextFrame();
    assert.equal(readHeader(call).proc, 20);
    assert.deepEqual(call.subarray(28), u32(1));
    peer.send(
      frame(
        { prog: ADMIN_PROG, proc: 20, type: REPLY, serial: 1, status: 1 },
        i32(39),
        i32(7),
        optStr('unknown procedure: 20'),
        i32(2),
        u32(0),
        optStr('%s'),
        optStr('unknown procedure: 20'),
        optStr(null),
        i32(-1),
        i32(-1),
        u32(0),
      ),
    );
    await assert.rejects(shutdown, UnsupportedProcedureError);
  });

  it('daemon-shutdown: a reply means done (outcome "replied")', async () => {
    const { admin, peer } = await openSession();
    const shutdown = admin.daemonShutdown();
    const call = await peer.nextFrame();
    assert.deepEqual(call, frame({ prog: ADMIN_PROG, proc: 20, type: 0, serial: 1 }, u32(0)));
    peer.send(emptyReply(20, 1));
    assert.equal(await shutdown, 'replied');
  });

  it('daemon-shutdown: the daemon closing the connection after reading the request means done, as libvirt 11.3 does', async () => {
    for (const preserve of [false, true]) {
      const { admin, peer } = await openSession();
      const shutdown = admin.daemonShutdown({ preserve });
      assert.deepEqual((await peer.nextFrame()).subarray(28), u32(preserve ? 1 : 0));
      peer.socket.end();
      assert.equal(await shutdown, 'connection-closed');
      assert.ok(admin.closed);
      await pair?.close();
      pair = undefined;
    }
  });

  it('daemon-shutdown: a reset after the request went out also means done (a call left unread, as virtlogd 11.3 does)', async () => {
    const { admin, peer } = await openSession();
    const shutdown = admin.daemonShutdown();
    await peer.nextFrame();
    // A unix socket closed with unread data resets the connection (ECONNRESET on our side).
    peer.socket.pause();
    const version = admin.getLibVersion();
    const local = pair!.local;
    while (local.writableLength > 0) await new Promise((resolve) => local.once('drain', resolve));
    await new Promise((resolve) => setImmediate(resolve));
    peer.socket.destroy();
    assert.equal(await shutdown, 'connection-closed');
    await assert.rejects(
      version,
      (e: unknown) => e instanceof ConnectionClosedError && e.byPeer && /ECONNRESET/.test(e.message),
    );
  });

  it('daemon-shutdown: our own close, or a connection already gone, is a failure, not an outcome', async () => {
    const { admin, peer } = await openSession();
    const shutdown = admin.daemonShutdown();
    await peer.nextFrame();
    admin.rpc.destroy('gave up');
    await assert.rejects(shutdown, (e: unknown) => e instanceof ConnectionClosedError && !e.byPeer && e.requestWritten);
    await assert.rejects(
      admin.daemonShutdown(),
      (e: unknown) => e instanceof ConnectionClosedError && !e.requestWritten,
    );
  });

  it('daemon-shutdown: other daemon errors pass through', async () => {
    const { admin, peer } = await openSession();
    const shutdown = admin.daemonShutdown();
    await peer.nextFrame();
    peer.send(
      frame(
        { prog: ADMIN_PROG, proc: 20, type: REPLY, serial: 1, status: 1 },
        i32(8),
        i32(62),
        optStr('unsupported flags (0x2) in function adminConnectDaemonShutdown'),
        i32(2),
        u32(0),
        optStr('adminConnectDaemonShutdown'),
        optStr('flags'),
        optStr(null),
        i32(0),
        i32(0),
        u32(0),
      ),
    );
    await assert.rejects(shutdown, (e: unknown) => e instanceof LibvirtError && e.libvirtCode === 8);
    assert.equal(admin.closed, false);
  });

  it('fails open when CONNECT_OPEN fails, and closes the socket', async () => {
    pair = await socketPair();
    const { local, peer } = pair;
    const opening = AdminClient.open(async () => local);
    await peer.nextFrame();
    peer.send(
      frame(
        { prog: ADMIN_PROG, proc: 1, type: REPLY, serial: 0, status: 1 },
        i32(8),
        i32(62),
        optStr('unsupported flags (0x1) in function adminDispatchConnectOpen'),
        i32(2),
        u32(0),
        optStr('adminDispatchConnectOpen'),
        optStr('flags'),
        optStr(null),
        i32(0),
        i32(0),
        u32(0),
      ),
    );
    await assert.rejects(
      opening,
      (e: unknown) => e instanceof LibvirtError && e.libvirtCode === 8 && e.libvirtDomain === 62,
    );
    await peer.ended;
  });

  it('close() gives up quietly when the daemon drops the connection without replying', async () => {
    const { admin, peer } = await openSession();
    const closing = admin.close(5000);
    await peer.nextFrame();
    const started = Date.now();
    peer.socket.destroy();
    await closing;
    assert.ok(Date.now() - started < 1000);
    assert.ok(admin.closed);
    await admin.close(); // a second close is a no-op
  });

  it('close() does not wait longer than its timeout for a silent daemon', async () => {
    const { admin, peer } = await openSession();
    const started = Date.now();
    await admin.close(50);
    assert.ok(Date.now() - started < 1000);
    assert.equal(readHeader(await peer.nextFrame()).proc, 2);
    assert.ok(admin.closed);
  });

  it("connect() resolves the URI and reports libvirt's connect error text", async () => {
    await assert.rejects(AdminClient.connect('foo:///system'), InvalidArgumentError);
    await assert.rejects(
      AdminClient.connect('libvirtd:///system?socket=/nonexistent/admin-sock'),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.message === "Failed to connect socket to '/nonexistent/admin-sock': No such file or directory",
    );
  });

  it('sends every setter with flags 0 and the empty OK reply resolves it', async () => {
    const { admin, peer } = await openSession();
    const client = { server: { name: 'libvirtd' }, id: 3n, timestamp: 0n, transport: 0 };
    const calls: [Promise<unknown>, number][] = [
      [admin.setClientLimits('libvirtd', { maxClients: 10 }), 13],
      [admin.closeClient(client), 11],
      [admin.setLoggingOutputs('3:stderr'), 16],
      [admin.setLoggingFilters(null), 17],
      [admin.updateTlsFiles('libvirtd'), 18],
    ];
    for (const [, proc] of calls) {
      const f = await peer.nextFrame();
      assert.equal(readHeader(f).proc, proc);
      assert.deepEqual(f.subarray(f.length - 4), u32(0), 'flags');
      peer.send(emptyReply(proc, readHeader(f).serial));
    }
    const timeout = admin.setDaemonTimeout(30);
    const f = await peer.nextFrame();
    assert.deepEqual(f.subarray(28), Buffer.concat([u32(30), u32(0)]));
    peer.send(emptyReply(19, readHeader(f).serial));
    await Promise.all([...calls.map(([p]) => p), timeout]);
  });
});

describe('admin connections', () => {
  it('openAdminConnection sends the CONNECT_OPEN virt-admin sends and resolves with the RpcClient', async () => {
    pair = await socketPair();
    const { local, peer } = pair;
    const opening = openAdminConnection(async () => local);
    assert.deepEqual(await peer.nextFrame(), V1.call);
    peer.send(V1.reply);
    const rpc = await opening;
    assert.equal(rpc.closed, false);
    // An AdminClient over it sends its calls on it.
    const servers = AdminClient.over(rpc).listServers();
    assert.deepEqual(await peer.nextFrame(), V2.call);
    peer.send(V2.reply);
    assert.deepEqual(await servers, [{ name: 'libvirtd' }, { name: 'admin' }]);
    // closeAdminConnection: the captured CONNECT_CLOSE, then the socket.
    const closing = closeAdminConnection(rpc);
    assert.deepEqual(await peer.nextFrame(), V4.call);
    peer.send(V4.reply);
    await closing;
    assert.ok(rpc.closed);
    await peer.ended;
    await closeAdminConnection(rpc); // a second close is a no-op
  });

  it("connectAdmin resolves the URI and reports libvirt's connect error text", async () => {
    await assert.rejects(connectAdmin('foo:///system'), InvalidArgumentError);
    await assert.rejects(
      connectAdmin('libvirtd:///system?socket=/nonexistent/admin-sock'),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.message === "Failed to connect socket to '/nonexistent/admin-sock': No such file or directory",
    );
  });

  it('close() of a client over something other than an admin connection rejects and sends nothing', async () => {
    let calls = 0;
    const caller = {
      closed: false,
      call: () => {
        calls++;
        return Promise.resolve(undefined as never);
      },
    };
    await assert.rejects(AdminClient.over(caller).close(), TypeError);
    assert.equal(calls, 0);
  });
});

describe('formatLibVersion', () => {
  it('turns major*1,000,000 + minor*1,000 + micro into text', () => {
    assert.equal(formatLibVersion(9000000), '9.0.0');
    assert.equal(formatLibVersion(11002001), '11.2.1');
    assert.equal(formatLibVersion(0), '0.0.0');
  });
});
