// The call path of a DaemonConnection over a fake admin connection whose calls the test answers by hand, and a
// deadline the test ends by hand: coalescing, admission, and what a request's deadline covers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { AdminProc } from '../../src/admin/constants.js';
import { adminProcedures as P } from '../../src/admin/procedures.js';
import type { CallOptions, ProcedureSpec, RpcClient } from '../../src/rpc/client.js';
import { CallTimeoutError, ConnectionClosedError, ErrorCode } from '../../src/rpc/errors.js';
import { DaemonConnection, type DaemonRequest, type Deadlines } from '../../src/gateway/daemon-connection.js';
import { RetryLaterError } from '../../src/gateway/errors.js';

interface WireCall {
  name: string;
  args: unknown;
  options: CallOptions | undefined;
  answer: (value: unknown) => void;
  fail: (err: Error) => void;
}

/** Deadlines the test ends by hand: every request started before end() shares the signal end() aborts. */
class ManualDeadlines implements Deadlines {
  private controller = new AbortController();

  next(): AbortSignal {
    return this.controller.signal;
  }

  /** The deadline of every request so far passes now; later requests get a fresh one. */
  end(): void {
    this.controller.abort(new CallTimeoutError('deadline passed'));
    this.controller = new AbortController();
  }
}

const CALL_TIMEOUT_MS = 60_000;

/** A daemon connection over one fake admin connection; CONNECT_OPEN is not involved (the connector is the fake). */
function setup(maxInFlight = 8, queueLength = 8) {
  const wire: WireCall[] = [];
  let peak = 0;
  let open = 0;
  let closeListener: ((reason: Error) => void) | undefined;
  const rpc = {
    closed: false,
    get inFlight() {
      return open;
    },
    queued: 0,
    onClosed(listener: (reason: Error) => void) {
      closeListener = listener;
      return () => undefined;
    },
    destroy() {
      this.closed = true;
    },
    call(spec: ProcedureSpec<unknown, unknown>, args: unknown, options?: CallOptions) {
      // CONNECT_CLOSE from close() is answered at once.
      if (spec.proc === AdminProc.CONNECT_CLOSE) return Promise.resolve(undefined);
      open++;
      peak = Math.max(peak, open);
      return new Promise((resolve, reject) => {
        const settle = () => open--;
        wire.push({
          name: spec.name,
          args,
          options,
          answer: (v) => (settle(), resolve(v)),
          fail: (e) => (settle(), reject(e)),
        });
      });
    },
  };
  const deadlines = new ManualDeadlines();
  const conn = new DaemonConnection({
    name: 'fake',
    uri: 'libvirtd:///system',
    callTimeoutMs: CALL_TIMEOUT_MS,
    connections: 1,
    maxInFlight,
    queueLength,
    connector: async () => rpc as unknown as RpcClient,
    deadlines,
  });
  /** The fake connection drops: the set forgets it, as it would a real RpcClient's close. */
  const drop = (reason: Error) => {
    rpc.closed = true;
    closeListener?.(reason);
  };
  return { wire, conn, deadlines, drop, peak: () => peak };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Runs `fn` as a request; `steps()` is how `fn` itself ends, since it goes on after the request gave up. */
function runRequest<T>(conn: DaemonConnection, fn: DaemonRequest<T>): { request: Promise<T>; steps: () => Promise<T> } {
  let steps: Promise<T> | undefined;
  const request = conn.call((admin, options) => (steps = fn(admin, options)));
  return { request, steps: () => steps ?? assert.fail('the request never ran its function') };
}
const server = { server: { name: 'libvirtd' }, flags: 0 };
const setArgs = { server: { name: 'libvirtd' }, params: [], flags: 0 };

describe('DaemonConnection: coalescing', () => {
  it('identical concurrent reads share one call; other arguments make their own', async () => {
    const { wire, conn } = setup();
    const reads = [
      conn.call(P.serverGetThreadpoolParameters, server),
      conn.call(P.serverGetThreadpoolParameters, server),
      conn.call(P.serverGetThreadpoolParameters, { server: { name: 'admin' }, flags: 0 }),
    ];
    await tick();
    assert.deepEqual(
      wire.map((c) => c.name),
      ['SERVER_GET_THREADPOOL_PARAMETERS', 'SERVER_GET_THREADPOOL_PARAMETERS'],
    );
    wire[0]!.answer('libvirtd threadpool');
    wire[1]!.answer('admin threadpool');
    assert.deepEqual(await Promise.all(reads), ['libvirtd threadpool', 'libvirtd threadpool', 'admin threadpool']);
    assert.equal(conn.load.coalesced, 1);
    await conn.close();
  });

  it('writes are never shared', async () => {
    const { wire, conn } = setup();
    const writes = [
      conn.call(P.serverSetThreadpoolParameters, setArgs),
      conn.call(P.serverSetThreadpoolParameters, setArgs),
    ];
    await tick();
    assert.equal(wire.length, 2);
    for (const c of wire) c.answer(undefined);
    await Promise.all(writes);
    await conn.close();
  });

  it('a read that starts after a write finished never joins a read sent before it', async () => {
    const { wire, conn } = setup();
    const early = conn.call(P.serverGetThreadpoolParameters, server);
    const write = conn.call(P.serverSetThreadpoolParameters, setArgs);
    await tick();
    wire[1]!.answer(undefined); // the write is done; the early read is still pending
    await write;
    const late = conn.call(P.serverGetThreadpoolParameters, server);
    await tick();
    assert.equal(wire.length, 3, 'the late read made its own call');
    wire[0]!.answer('before the write');
    wire[2]!.answer('after the write');
    assert.equal(await early, 'before the write');
    assert.equal(await late, 'after the write');
    await conn.close();
  });

  it('a caller that gives up stops waiting, but the shared call goes on for the others', async () => {
    const { wire, conn } = setup();
    const abort = new AbortController();
    const quitter = conn.call(P.connectListServers, { needResults: true, flags: 0 }, { signal: abort.signal });
    const stayer = conn.call(P.connectListServers, { needResults: true, flags: 0 });
    abort.abort();
    await assert.rejects(quitter, (err: { code?: string }) => err.code === ErrorCode.ABORTED);
    await tick();
    assert.equal(wire.length, 1);
    wire[0]!.answer(['libvirtd', 'admin']);
    assert.deepEqual(await stayer, ['libvirtd', 'admin']);
    await conn.close();
  });
});

describe('DaemonConnection: admission', () => {
  it('keeps at most maxInFlight calls on the wire, refusing past the queue', async () => {
    const { wire, conn, peak } = setup(2, 3);
    const calls = Array.from({ length: 8 }, (_, i) =>
      conn.call(P.serverLookupClient, { server: { name: 'libvirtd' }, id: BigInt(i), flags: 0 }),
    );
    const settled = Promise.allSettled(calls);
    await tick();
    assert.equal(wire.length, 2);
    // Answer as they come: the queued ones follow, never more than two at once.
    for (let answered = 0; answered < 5; answered++) {
      await tick();
      wire[answered]!.answer({ id: answered });
    }
    const results = await settled;
    assert.equal(peak(), 2);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) {
      assert.equal((r.reason as { code?: string }).code, ErrorCode.OVERLOADED);
    }
    await conn.close();
  });

  it('sends every call with a wire timeout of twice the deadline', async () => {
    const { wire, conn } = setup();
    const read = conn.call((admin, options) => admin.getLibVersion(options));
    await tick();
    assert.equal(wire[0]!.options?.timeoutMs, 2 * CALL_TIMEOUT_MS);
    assert.equal(wire[0]!.options?.signal, undefined, "the caller's deadline does not end the call on the wire");
    wire[0]!.answer({ libVer: 9_000_000n });
    assert.equal((await read).text, '9.0.0');
    await conn.close();
  });
});

describe('DaemonConnection: the deadline of a request', () => {
  it('covers waiting in the queue: the request leaves it at its deadline and its call is never sent', async () => {
    const { wire, conn, deadlines } = setup(1, 4);
    const first = conn.call((admin, options) => admin.setThreadpool('libvirtd', { maxWorkers: 20 }, options));
    await tick();
    const waiting = conn.call((admin, options) => admin.setThreadpool('libvirtd', { maxWorkers: 21 }, options));
    await tick();
    assert.equal(conn.load.queued, 1);
    deadlines.end();
    await assert.rejects(waiting, CallTimeoutError);
    await assert.rejects(first, CallTimeoutError);
    assert.equal(conn.load.queued, 0);
    wire[0]!.answer(undefined);
    await tick();
    assert.equal(wire.length, 1, 'the queued call was not sent after its deadline');
    await conn.close();
  });

  it('covers every call: a set-then-get whose set outlives the deadline sends no get', async () => {
    const { wire, conn, deadlines } = setup();
    const { request, steps } = runRequest(conn, async (admin, options) => {
      await admin.setThreadpool('libvirtd', { maxWorkers: 20 }, options);
      return admin.getThreadpool('libvirtd', options);
    });
    await tick();
    assert.deepEqual(
      wire.map((c) => c.name),
      ['SERVER_SET_THREADPOOL_PARAMETERS'],
    );
    deadlines.end();
    await assert.rejects(request, CallTimeoutError);
    await assert.rejects(steps(), CallTimeoutError);
    // The set is answered after the deadline; nothing follows it.
    wire[0]!.answer(undefined);
    await tick();
    assert.equal(wire.length, 1, 'the get was not sent after the deadline');
    await conn.close();
  });

  it('covers what the function awaits besides calls: a call it starts after the deadline is refused unsent', async () => {
    const { wire, conn, deadlines } = setup();
    let unlock!: () => void;
    const locked = new Promise<void>((resolve) => (unlock = resolve));
    const { request, steps } = runRequest(conn, async (admin, options) => {
      await locked; // e.g. waiting for the resource's lock, then an If-Match read before the set
      await admin.getThreadpool('libvirtd', options);
      return admin.setThreadpool('libvirtd', { maxWorkers: 20 }, options);
    });
    await tick();
    deadlines.end();
    await assert.rejects(request, CallTimeoutError);
    unlock();
    await assert.rejects(steps(), CallTimeoutError);
    await tick();
    assert.equal(wire.length, 0, 'nothing was sent after the deadline');
    await conn.close();
  });

  it('a call given up at the deadline keeps its slot until the daemon answers', async () => {
    const { wire, conn, deadlines } = setup(1, 0);
    const late = conn.call((admin, options) => admin.setThreadpool('libvirtd', { maxWorkers: 20 }, options));
    await tick();
    deadlines.end();
    await assert.rejects(late, CallTimeoutError);
    // The daemon is still working on it: the one slot is taken, and with no queue the next request is refused.
    assert.equal(conn.load.inFlight, 1);
    await assert.rejects(
      conn.call((admin, options) => admin.setThreadpool('libvirtd', { maxWorkers: 21 }, options)),
      (err: { code?: string }) => err.code === ErrorCode.OVERLOADED,
    );
    // Its answer (or the wire timeout, which the RpcClient turns into a failure) frees the slot.
    wire[0]!.fail(new CallTimeoutError('SERVER_SET_THREADPOOL_PARAMETERS got no reply within 120000 ms'));
    await tick();
    assert.equal(conn.load.inFlight, 0);
    const next = conn.call((admin, options) => admin.setThreadpool('libvirtd', { maxWorkers: 22 }, options));
    await tick();
    assert.equal(wire.length, 2);
    wire[1]!.answer(undefined);
    await next;
    await conn.close();
  });

  it('a lone call through AdminClient.over gets a deadline of its own', async () => {
    const { wire, conn, deadlines } = setup();
    const admin = AdminClient.over(conn);
    const version = admin.getLibVersion();
    await tick();
    assert.equal(wire.length, 1);
    deadlines.end();
    await assert.rejects(version, CallTimeoutError);
    await conn.close();
  });
});

describe('DaemonConnection: a dropped connection', () => {
  it('fails the request with ERR_DAEMON_UNAVAILABLE, whose cause is the closed connection', async () => {
    const { wire, conn, drop } = setup();
    const request = conn.call((admin, options) => admin.listServers(options));
    await tick();
    const reason = new ConnectionClosedError('connection closed by peer');
    drop(reason);
    wire[0]!.fail(new ConnectionClosedError(`CONNECT_LIST_SERVERS: ${reason.message}`, { cause: reason }));
    await assert.rejects(
      request,
      (err: unknown) =>
        err instanceof RetryLaterError &&
        err.code === 'ERR_DAEMON_UNAVAILABLE' &&
        err.cause instanceof ConnectionClosedError,
    );
    await conn.close();
  });

  it('hands the AdminClient method the ConnectionClosedError itself, before the request maps it', async () => {
    const { wire, conn, drop } = setup();
    let seen: unknown;
    const request = conn.call(async (admin, options) => {
      try {
        return await admin.listServers(options);
      } catch (err) {
        seen = err;
        throw err;
      }
    });
    await tick();
    drop(new ConnectionClosedError('connection closed by peer'));
    wire[0]!.fail(new ConnectionClosedError('CONNECT_LIST_SERVERS: connection closed by peer'));
    await assert.rejects(request, { code: 'ERR_DAEMON_UNAVAILABLE' });
    assert.ok(seen instanceof ConnectionClosedError);
    await conn.close();
  });
});
