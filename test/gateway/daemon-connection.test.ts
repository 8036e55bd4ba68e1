import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openAdminConnection } from '../../src/admin/client.js';
import { DaemonConnection, type AdminConnector } from '../../src/gateway/daemon-connection.js';
import { RetryLaterError } from '../../src/gateway/errors.js';
import { CallTimeoutError, ConnectError, ErrorCode } from '../../src/rpc/errors.js';
import { ADMIN_PROG, REPLY, frame, readHeader, u64 } from '../helpers/bytes.js';
import { socketPair } from '../helpers/fake-peer.js';
import { startCountingProxy, type CountingProxy } from '../harness/counting-proxy.js';
import { startRealDaemons, type RealDaemons } from '../harness/libvirtd.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { eventually, holdsFor } from '../helpers/wait.js';

const MISSING = 'libvirtd:///system?socket=/nonexistent/libvirt-admin-sock';

describe('DaemonConnection without a daemon', () => {
  it('connects on first use only', async () => {
    let attempts = 0;
    const connector: AdminConnector = async () => {
      attempts += 1;
      throw new ConnectError('refused');
    };
    const conn = new DaemonConnection({ name: 'd', uri: MISSING, callTimeoutMs: 1000, connector });
    await holdsFor('no connection attempt before the first call', 50, () => attempts === 0);
    assert.equal(conn.status.state, 'idle');
    await conn.close();
  });

  it('turns a refused connection into ERR_DAEMON_UNAVAILABLE, with the cause and when to retry', async () => {
    const conn = new DaemonConnection({
      name: 'd',
      uri: MISSING,
      callTimeoutMs: 1000,
      backoff: { initialMs: 400, maxMs: 1000 },
    });
    const err = await conn
      .call((c, o) => c.getLibVersion(o))
      .then(
        () => assert.fail('no error'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof RetryLaterError);
    assert.equal(err.code, 'ERR_DAEMON_UNAVAILABLE');
    assert.ok(err.cause instanceof ConnectError);
    assert.match(err.message, /No such file or directory/);
    assert.ok(err.retryAfterMs > 300 && err.retryAfterMs <= 400, String(err.retryAfterMs));
    const status = conn.status;
    assert.equal(status.state, 'unreachable');
    assert.equal(status.lastError?.code, 'ERR_CONNECT');
    assert.ok(status.retryAt && status.retryAt.getTime() > Date.now());
    await conn.close();
  });

  it('fails fast while waiting to retry, and backs off exponentially up to the cap', async (t) => {
    // The backoff's timers are the subject: on the fake clock the gaps are exact.
    const clock = fakeClock(t);
    const times: number[] = [];
    const connector: AdminConnector = async () => {
      times.push(Date.now());
      throw new ConnectError('refused');
    };
    // One connection: each attempt is one connector call.
    const conn = new DaemonConnection({
      name: 'd',
      uri: MISSING,
      callTimeoutMs: 1000,
      connector,
      backoff: { initialMs: 60, maxMs: 200 },
      connections: 1,
    });
    await assert.rejects(
      conn.call(async () => 1),
      { code: 'ERR_DAEMON_UNAVAILABLE' },
    );
    // Within the backoff: no new attempt, an immediate refusal.
    await clock.advance(59);
    await assert.rejects(
      conn.call(async () => 1),
      { code: 'ERR_DAEMON_UNAVAILABLE' },
    );
    assert.equal(times.length, 1);
    // Attempts continue on their own: 60, 120, 200, 200 ms apart.
    await clock.advanceUntil(() => times.length >= 5, 'five attempts', 1000);
    await conn.close();
    const gaps = times.slice(1).map((at, i) => at - times[i]!);
    assert.deepEqual(gaps, [60, 120, 200, 200]);
  });

  it('stops retrying once closed, and refuses calls', async () => {
    let attempts = 0;
    const connector: AdminConnector = async () => {
      attempts += 1;
      throw new ConnectError('refused');
    };
    const conn = new DaemonConnection({
      name: 'd',
      uri: MISSING,
      callTimeoutMs: 1000,
      connector,
      backoff: { initialMs: 20, maxMs: 20 },
    });
    await assert.rejects(conn.call(async () => 1));
    await conn.close();
    const seen = attempts;
    await holdsFor('no connection attempt after close', 100, () => attempts === seen);
    assert.equal(conn.status.state, 'closed');
    await assert.rejects(
      conn.call(async () => 1),
      { code: 'ERR_DAEMON_UNAVAILABLE' },
    );
  });
});

describe('DaemonConnection and a daemon that never answers', () => {
  let proxy: CountingProxy;
  before(async () => {
    proxy = await startCountingProxy('/nonexistent', { silent: true });
  });
  after(() => proxy?.close());

  it('fails the call with CallTimeoutError after the call timeout (connecting included)', async () => {
    const conn = new DaemonConnection({
      name: 'slow',
      uri: `libvirtd:///system?socket=${proxy.path}`,
      callTimeoutMs: 200,
    });
    const start = Date.now();
    await assert.rejects(
      conn.call((c, o) => c.listServers(o)),
      CallTimeoutError,
    );
    const took = Date.now() - start;
    assert.ok(took >= 195 && took < 1500, String(took));
    await eventually(() => conn.status.state === 'unreachable', 'state unreachable');
    assert.equal(conn.status.lastError?.code, 'ERR_CALL_TIMEOUT');
    await conn.close();
  });
});

describe('DaemonConnection with a real libvirtd', () => {
  let daemons: RealDaemons;
  let proxy: CountingProxy;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    proxy = await startCountingProxy(daemons.adminSocket('libvirtd'));
  });
  after(async () => {
    await proxy?.close();
    await daemons?.stop();
  });

  it('opens its connections and multiplexes concurrent calls over them', async () => {
    const conn = new DaemonConnection({
      name: 'libvirtd',
      uri: `libvirtd:///system?socket=${proxy.path}`,
      callTimeoutMs: 5000,
      connections: 2,
    });
    proxy.reset();
    const results = await Promise.all(Array.from({ length: 8 }, () => conn.call((c, o) => c.listServers(o))));
    assert.ok(results.every((r) => r.length === 2));
    assert.equal(proxy.connections, 2);
    assert.equal(conn.load.connections, 2);
    assert.equal(conn.status.state, 'connected');
    await conn.close();
  });

  it('the deadline covers the whole function and aborts its remaining calls', async () => {
    const conn = new DaemonConnection({ name: 'libvirtd', uri: daemons.adminUri('libvirtd'), callTimeoutMs: 300 });
    let signal: AbortSignal | undefined;
    await assert.rejects(
      conn.call(async (client, options) => {
        signal = options.signal;
        await client.listServers(options);
        await new Promise(() => undefined); // a step that never ends
      }),
      CallTimeoutError,
    );
    assert.equal(signal?.aborted, true);
    // The connection itself is fine.
    assert.equal((await conn.call((c, o) => c.listServers(o))).length, 2);
    await conn.close();
  });

  it('replaces a dropped connection by itself', async () => {
    const conn = new DaemonConnection({
      name: 'libvirtd',
      uri: `libvirtd:///system?socket=${proxy.path}`,
      callTimeoutMs: 5000,
      connections: 1,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    await conn.call((c, o) => c.listServers(o));
    proxy.reset();
    proxy.dropAll();
    await eventually(
      () => proxy.connections === conn.limits.connections && conn.status.state === 'connected',
      'reconnected without a call',
    );
    assert.equal(conn.status.lastError, null);
    assert.equal((await conn.call((c, o) => c.listServers(o))).length, 2);
    await conn.close();
  });

  it('reports unreachable while the daemon is stopped, and recovers once it is back', async () => {
    const conn = new DaemonConnection({
      name: 'libvirtd',
      uri: daemons.adminUri('libvirtd'),
      callTimeoutMs: 5000,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    await conn.call((c, o) => c.listServers(o));
    await daemons.kill('libvirtd');
    await eventually(() => conn.status.state === 'unreachable', 'unreachable');
    await assert.rejects(
      conn.call((c, o) => c.listServers(o)),
      { code: 'ERR_DAEMON_UNAVAILABLE' },
    );
    await daemons.start('libvirtd');
    await eventually(() => conn.status.state === 'connected', 'connected again', 10_000);
    assert.equal((await conn.call((c, o) => c.listServers(o))).length, 2);
    await conn.close();
  });
});

describe('DaemonConnection.close', () => {
  it('says CONNECT_CLOSE before closing the socket', async () => {
    const pair = await socketPair();
    try {
      const connector: AdminConnector = (_uri, options) => openAdminConnection(async () => pair.local, options);
      // One connection: the test drives the one socket pair by hand.
      const conn = new DaemonConnection({ name: 'd', uri: MISSING, callTimeoutMs: 2000, connector, connections: 1 });
      const calling = conn.call(async () => 'ok');
      const open = readHeader(await pair.peer.nextFrame());
      assert.equal(open.proc, 1); // CONNECT_OPEN
      pair.peer.send(frame({ prog: ADMIN_PROG, proc: 1, type: REPLY, serial: open.serial }));
      assert.equal(await calling, 'ok');
      const closing = conn.close();
      const close = readHeader(await pair.peer.nextFrame());
      assert.equal(close.proc, 2); // CONNECT_CLOSE
      pair.peer.send(frame({ prog: ADMIN_PROG, proc: 2, type: REPLY, serial: close.serial }));
      await closing;
      await pair.peer.ended;
    } finally {
      await pair.close();
    }
  });
});

describe('DaemonConnection and a daemon that answers after the deadline', () => {
  // admin_protocol.x procedure numbers, spelled out here rather than taken from the code under test.
  const CONNECT_OPEN = 1;
  const CONNECT_CLOSE = 2;
  const CONNECT_GET_LIB_VERSION = 3;
  const SERVER_SET_THREADPOOL_PARAMETERS = 7;

  it('keeps the slot of a call given up at the deadline until twice the deadline has passed', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const pair = await socketPair();
    try {
      // No keepalive: its interval timer is no part of this test.
      const connector: AdminConnector = (_uri, options) =>
        openAdminConnection(async () => pair.local, { ...options, keepalive: undefined });
      const conn = new DaemonConnection({
        name: 'd',
        uri: MISSING,
        callTimeoutMs: 1000,
        connector,
        connections: 1,
        maxInFlight: 1,
        queueLength: 0,
      });
      const first = conn.call((admin, options) => admin.setThreadpool('libvirtd', { maxWorkers: 20 }, options));
      const open = readHeader(await pair.peer.nextFrame());
      assert.equal(open.proc, CONNECT_OPEN);
      pair.peer.send(frame({ prog: ADMIN_PROG, proc: CONNECT_OPEN, type: REPLY, serial: open.serial }));
      assert.equal(readHeader(await pair.peer.nextFrame()).proc, SERVER_SET_THREADPOOL_PARAMETERS);

      // The deadline (1000 ms, to the next 10 ms): the request is answered 504, the daemon still has the call.
      t.mock.timers.tick(1010);
      await assert.rejects(first, CallTimeoutError);
      assert.equal(conn.load.inFlight, 1);
      const refused = conn.call((admin, options) => admin.getLibVersion(options));
      await assert.rejects(refused, (err: { code?: string }) => err.code === ErrorCode.OVERLOADED);

      // Twice the deadline after it was sent, and not before, the call gives its slot up; the next request goes out.
      const settle = () => new Promise((resolve) => setImmediate(resolve));
      t.mock.timers.tick(980);
      await settle();
      assert.equal(conn.load.inFlight, 1, 'still held 1990 ms after it was sent');
      t.mock.timers.tick(10);
      await settle();
      assert.equal(conn.load.inFlight, 0, 'given up 2000 ms after it was sent');
      const next = conn.call((admin, options) => admin.getLibVersion(options));
      const version = readHeader(await pair.peer.nextFrame());
      assert.equal(version.proc, CONNECT_GET_LIB_VERSION);
      pair.peer.send(
        frame(
          { prog: ADMIN_PROG, proc: CONNECT_GET_LIB_VERSION, type: REPLY, serial: version.serial },
          u64(9_000_000n),
        ),
      );
      assert.equal((await next).text, '9.0.0');

      const closing = conn.close();
      const close = readHeader(await pair.peer.nextFrame());
      assert.equal(close.proc, CONNECT_CLOSE);
      pair.peer.send(frame({ prog: ADMIN_PROG, proc: CONNECT_CLOSE, type: REPLY, serial: close.serial }));
      await closing;
    } finally {
      await pair.close();
    }
  });
});
