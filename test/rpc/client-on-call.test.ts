// RpcClientOptions.onCall: the observer the gateway's RPC latency metric hangs on.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { RpcClient, type ProcedureSpec } from '../../src/rpc/client.js';
import { CallTimeoutError, ConnectionClosedError, LibvirtError } from '../../src/rpc/errors.js';
import type { Codec } from '../../src/xdr/index.js';
import { ADMIN_PROG, REPLY, frame, i32, optStr, readHeader, u32 } from '../helpers/bytes.js';
import { socketPair, type SocketPair } from '../helpers/fake-peer.js';
import { fakeClock } from '../helpers/fake-clock.js';

const u32Codec: Codec<number> = { encode: (w, v) => void w.uint(v), decode: (r) => r.uint() };
const ECHO: ProcedureSpec<number, number> = {
  name: 'ECHO',
  prog: ADMIN_PROG,
  vers: 1,
  proc: 19,
  args: u32Codec,
  ret: u32Codec,
};
const echoReply = (serial: number, v: number) => frame({ prog: ADMIN_PROG, proc: 19, type: REPLY, serial }, u32(v));
const errorReply = (serial: number) =>
  frame(
    { prog: ADMIN_PROG, proc: 19, type: REPLY, serial, status: 1 },
    i32(8),
    i32(0),
    optStr('invalid argument: no'),
    i32(2),
    u32(0),
    optStr('%s'),
    optStr('no'),
    optStr(null),
    i32(-1),
    i32(-1),
    u32(0),
  );

type Seen = { procedure: string; durationMs: number; error: Error | undefined };
let pair: SocketPair;
let client: RpcClient;
afterEach(async () => {
  client?.destroy();
  await pair?.close();
});

async function open() {
  pair = await socketPair();
  const seen: Seen[] = [];
  client = new RpcClient(pair.local, {
    onCall: (procedure, durationMs, error) => seen.push({ procedure, durationMs, error }),
  });
  return { peer: pair.peer, seen };
}

describe('RpcClient onCall', () => {
  it('reports a successful call with its procedure and duration', async (t) => {
    const { peer, seen } = await open();
    // The duration is the subject: measured on the fake clock (performance.now follows it), it is exact.
    const clock = fakeClock(t, { performanceNow: true });
    const call = client.call(ECHO, 7);
    const serial = readHeader(await peer.nextFrame()).serial;
    clock.tick(20);
    peer.send(echoReply(serial, 7));
    assert.equal(await call, 7);
    await Promise.resolve();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.procedure, 'ECHO');
    assert.equal(seen[0]!.error, undefined);
    assert.equal(seen[0]!.durationMs, 20);
  });

  it('reports failures with the error, and the caller still gets the rejection', async () => {
    const { peer, seen } = await open();
    const remote = client.call(ECHO, 1);
    peer.send(errorReply(readHeader(await peer.nextFrame()).serial));
    await assert.rejects(remote, LibvirtError);
    await assert.rejects(client.call(ECHO, 2, { timeoutMs: 10 }), CallTimeoutError);
    client.destroy();
    await assert.rejects(client.call(ECHO, 3), ConnectionClosedError);
    await Promise.resolve();
    assert.deepEqual(
      seen.map((s) => s.error?.constructor),
      [LibvirtError, CallTimeoutError, ConnectionClosedError],
    );
  });
});
