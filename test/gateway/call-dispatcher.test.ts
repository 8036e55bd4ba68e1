import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdminClient } from '../../src/admin/client.js';
import { adminProcedures as P } from '../../src/admin/procedures.js';
import type { ProcedureSpec, RpcClient } from '../../src/rpc/client.js';
import { ErrorCode } from '../../src/rpc/errors.js';
import { CallDispatcher } from '../../src/gateway/call-dispatcher.js';
import { CallGate } from '../../src/gateway/call-gate.js';

interface WireCall {
  name: string;
  args: unknown;
  answer: (value: unknown) => void;
  fail: (err: Error) => void;
}

/** A dispatcher over a fake connection whose calls the test answers by hand. */
function setup(maxInFlight = 8, queueLength = 8) {
  const wire: WireCall[] = [];
  let peak = 0;
  let open = 0;
  const rpc = {
    call(spec: ProcedureSpec<unknown, unknown>, args: unknown) {
      open++;
      peak = Math.max(peak, open);
      return new Promise((resolve, reject) => {
        const settle = () => open--;
        wire.push({
          name: spec.name,
          args,
          answer: (v) => (settle(), resolve(v)),
          fail: (e) => (settle(), reject(e)),
        });
      });
    },
  };
  const client = { rpc } as unknown as AdminClient<RpcClient>;
  const dispatcher = new CallDispatcher({
    gate: new CallGate({ daemon: 'fake', maxInFlight, queueLength }),
    pick: async () => client,
    wireTimeoutMs: 60_000,
    closed: () => false,
    close: () => undefined,
  });
  return { wire, dispatcher, peak: () => peak };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const server = { server: { name: 'libvirtd' }, flags: 0 };

describe('CallDispatcher', () => {
  it('identical concurrent reads share one call; other arguments make their own', async () => {
    const { wire, dispatcher } = setup();
    const reads = [
      dispatcher.call(P.serverGetThreadpoolParameters, server),
      dispatcher.call(P.serverGetThreadpoolParameters, server),
      dispatcher.call(P.serverGetThreadpoolParameters, { server: { name: 'admin' }, flags: 0 }),
    ];
    await tick();
    assert.deepEqual(wire.map((c) => c.name), ['SERVER_GET_THREADPOOL_PARAMETERS', 'SERVER_GET_THREADPOOL_PARAMETERS']);
    wire[0]!.answer('libvirtd pool');
    wire[1]!.answer('admin pool');
    assert.deepEqual(await Promise.all(reads), ['libvirtd pool', 'libvirtd pool', 'admin pool']);
    assert.equal(dispatcher.coalesced, 1);
  });

  it('writes are never shared', async () => {
    const { wire, dispatcher } = setup();
    const args = { server: { name: 'libvirtd' }, params: [], flags: 0 };
    const writes = [dispatcher.call(P.serverSetThreadpoolParameters, args), dispatcher.call(P.serverSetThreadpoolParameters, args)];
    await tick();
    assert.equal(wire.length, 2);
    for (const c of wire) c.answer(undefined);
    await Promise.all(writes);
  });

  it('a read that starts after a write finished never joins a read sent before it', async () => {
    const { wire, dispatcher } = setup();
    const early = dispatcher.call(P.serverGetThreadpoolParameters, server);
    const write = dispatcher.call(P.serverSetThreadpoolParameters, { server: { name: 'libvirtd' }, params: [], flags: 0 });
    await tick();
    wire[1]!.answer(undefined); // the write is done; the early read is still pending
    await write;
    const late = dispatcher.call(P.serverGetThreadpoolParameters, server);
    await tick();
    assert.equal(wire.length, 3, 'the late read made its own call');
    wire[0]!.answer('before the write');
    wire[2]!.answer('after the write');
    assert.equal(await early, 'before the write');
    assert.equal(await late, 'after the write');
  });

  it('a caller that gives up stops waiting, but the shared call goes on for the others', async () => {
    const { wire, dispatcher } = setup();
    const abort = new AbortController();
    const quitter = dispatcher.call(P.connectListServers, { needResults: true, flags: 0 }, { signal: abort.signal });
    const stayer = dispatcher.call(P.connectListServers, { needResults: true, flags: 0 });
    abort.abort();
    await assert.rejects(quitter, (err: { code?: string }) => err.code === ErrorCode.ABORTED);
    await tick();
    assert.equal(wire.length, 1);
    wire[0]!.answer(['libvirtd', 'admin']);
    assert.deepEqual(await stayer, ['libvirtd', 'admin']);
  });

  it('keeps at most maxInFlight calls on the wire, refusing past the queue', async () => {
    const { wire, dispatcher, peak } = setup(2, 3);
    const calls = Array.from({ length: 8 }, (_, i) =>
      dispatcher.call(P.serverLookupClient, { server: { name: 'libvirtd' }, id: BigInt(i), flags: 0 }),
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
  });
});
