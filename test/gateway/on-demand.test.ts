// The on-demand connection mode of DaemonConnection, against the embedded daemon, with the idle time on mocked
// timers: connections open per request and close (CONNECT_CLOSE) after the idle time, background reads never open
// one nor extend it, and nothing reconnects in the background. The real daemon's side (libvirtd 11.3.0 exiting
// after its --timeout) is test/gateway/on-demand-libvirtd.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { connectAdmin } from '../../src/admin/client.js';
import { ConnectionMode, DaemonConnection, type AdminConnector } from '../../src/gateway/daemon-connection.js';
import { RetryLaterError } from '../../src/gateway/errors.js';
import { ConnectError } from '../../src/rpc/errors.js';
import type { RpcClient } from '../../src/rpc/client.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../harness/embedded.js';

const IDLE_MS = 2000;

/** A connector that records every connection it opened. */
function recording(): { connector: AdminConnector; opened: RpcClient[]; open: () => number } {
  const opened: RpcClient[] = [];
  const connector: AdminConnector = async (uri, options) => {
    // No keepalive: its timer is no part of these tests.
    const rpc = await connectAdmin(uri, { ...options, keepalive: undefined });
    opened.push(rpc);
    return rpc;
  };
  return { connector, opened, open: () => opened.filter((c) => !c.closed).length };
}

/** Resolves once every connection opened so far has ended. */
function allClosed(opened: readonly RpcClient[]): Promise<void> {
  return Promise.all(opened.map((c) => new Promise<void>((resolve) => c.onClosed(() => resolve())))).then(
    () => undefined,
  );
}

/** Lets pending I/O callbacks and promise jobs run (mocked timers do not advance it). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('DaemonConnection in on-demand mode', () => {
  let embedded: EmbeddedDaemonHandle;
  before(async () => {
    embedded = await startEmbeddedDaemon();
  });
  after(() => embedded?.stop());

  function onDemand(
    t: TestContext,
    connector: AdminConnector,
    apis: Array<'setTimeout' | 'Date'> = ['setTimeout'],
  ): DaemonConnection {
    t.mock.timers.enable({ apis });
    const conn = new DaemonConnection({
      name: 'embedded',
      uri: embedded.adminUri,
      callTimeoutMs: 5000,
      connector,
      connections: 2,
      mode: ConnectionMode.ON_DEMAND,
      idleMs: IDLE_MS,
    });
    t.after(() => conn.close());
    return conn;
  }

  it('opens connections for a request and closes them with CONNECT_CLOSE after the idle time', async (t) => {
    const { connector, opened, open } = recording();
    const conn = onDemand(t, connector);
    assert.equal(conn.status.state, 'idle');
    assert.equal((await conn.call((c, o) => c.getLibVersion(o))).text, '9.0.0');
    assert.equal(open(), 2);
    assert.equal(conn.status.state, 'connected');

    t.mock.timers.tick(IDLE_MS - 1);
    await settle();
    assert.equal(open(), 2, 'still open 1 ms before the idle time');
    t.mock.timers.tick(1);
    await allClosed(opened);
    assert.equal(conn.status.state, 'idle');
    assert.equal(conn.status.lastError, null);
    // The daemon saw CONNECT_CLOSE, not a dropped socket: its admin server has no client left.
    const admin = embedded.daemon.server('admin');
    assert.equal(admin?.clients().length, 0);

    // The next request opens them again.
    await conn.call((c, o) => c.listServers(o));
    assert.equal(opened.length, 4);
    assert.equal(open(), 2);
  });

  it('each request starts the idle time afresh', async (t) => {
    const { connector, opened, open } = recording();
    const conn = onDemand(t, connector);
    await conn.call((c, o) => c.getLibVersion(o));
    t.mock.timers.tick(IDLE_MS - 500);
    await conn.call((c, o) => c.listServers(o));
    t.mock.timers.tick(IDLE_MS - 500);
    await settle();
    assert.equal(open(), 2, 'the second request restarted the idle time');
    assert.equal(opened.length, 2, 'and reused the open connections');
    t.mock.timers.tick(500);
    await allClosed(opened);
    assert.equal(conn.status.state, 'idle');
  });

  it('background reads use open connections only, and neither open one nor extend the idle time', async (t) => {
    const { connector, opened } = recording();
    const conn = onDemand(t, connector);
    // Nothing open: the read is not made (and no connection attempted).
    assert.equal(await conn.callInBackground((c, o) => c.getLibVersion(o)), undefined);
    assert.equal(opened.length, 0);
    assert.equal(conn.status.state, 'idle');

    await conn.call((c, o) => c.getLibVersion(o));
    t.mock.timers.tick(IDLE_MS - 10);
    // Open for a request: the read is made...
    assert.deepEqual(
      (await conn.callInBackground((c, o) => c.listServers(o)))?.map((s) => s.name),
      ['libvirtd', 'admin'],
    );
    // ...and the connections still close when the request's idle time ends.
    t.mock.timers.tick(10);
    await allClosed(opened);
    assert.equal(await conn.callInBackground((c, o) => c.getLibVersion(o)), undefined);
    assert.equal(opened.length, 2);
  });

  it('a background read under way when the idle time ends delays the close until it is done', async (t) => {
    const { connector, opened, open } = recording();
    const conn = onDemand(t, connector);
    await conn.call((c, o) => c.getLibVersion(o));
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    let started!: () => void;
    const inside = new Promise<void>((resolve) => (started = resolve));
    const reading = conn.callInBackground(async (c, o) => {
      await c.getLibVersion(o);
      started();
      await held;
      return c.listServers(o);
    });
    await inside;
    t.mock.timers.tick(IDLE_MS);
    await settle();
    assert.equal(open(), 2, 'kept while the read runs');
    finish();
    assert.equal((await reading)?.length, 2);
    await allClosed(opened);
    assert.equal(conn.status.state, 'idle');
  });

  it('does not reconnect in the background: only the next request tries again', async (t) => {
    let attempts = 0;
    const connector: AdminConnector = async () => {
      attempts += 1;
      throw new ConnectError('refused', { cause: Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    };
    // Date too: the backoff after a failure is measured against it.
    const conn = onDemand(t, connector, ['setTimeout', 'Date']);
    const err = await conn
      .call((c, o) => c.getLibVersion(o))
      .then(
        () => assert.fail('no error'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof RetryLaterError);
    assert.equal(err.code, 'ERR_DAEMON_UNAVAILABLE');
    assert.match(err.message, /the daemon is not running and nothing activates its socket \(in on-demand mode/);
    const tried = attempts;
    t.mock.timers.tick(60_000);
    await settle();
    assert.equal(attempts, tried, 'no attempt without a request');
    // The backoff still spaces out the requests' attempts (retryAt says when the next may try); it has passed.
    assert.equal(conn.status.state, 'unreachable');
    assert.ok(conn.status.retryAt !== null && conn.status.retryAt.getTime() <= Date.now());
    await assert.rejects(
      conn.call((c, o) => c.getLibVersion(o)),
      { code: 'ERR_DAEMON_UNAVAILABLE' },
    );
    assert.ok(attempts > tried, 'the request tried again');
  });

  it('in hold mode a background read is an ordinary call (it opens the connections)', async () => {
    const { connector, opened } = recording();
    const conn = new DaemonConnection({
      name: 'embedded',
      uri: embedded.adminUri,
      callTimeoutMs: 5000,
      connector,
      connections: 1,
    });
    try {
      assert.equal((await conn.callInBackground((c, o) => c.getLibVersion(o)))?.text, '9.0.0');
      assert.equal(opened.length, 1);
    } finally {
      await conn.close();
    }
  });
});
