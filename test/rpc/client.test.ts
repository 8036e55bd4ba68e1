import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { RpcClient, type ProcedureSpec, type RpcClientOptions } from '../../src/rpc/client.js';
import {
  CallAbortedError,
  CallTimeoutError,
  ConnectionClosedError,
  ErrorCode,
  LibvirtError,
  type LocalError,
  ProtocolError,
  UnsupportedProcedureError,
} from '../../src/rpc/errors.js';
import { XdrError, voidCodec, type Codec } from '../../src/xdr/index.js';
import { ADMIN_PROG, CALL, REPLY, frame, i32, optStr, readHeader, u32, u64, withSerial } from '../helpers/bytes.js';
import { socketPair, type SocketPair } from '../helpers/fake-peer.js';
import { V3, V5, V7 } from '../helpers/vectors.js';
import { holdsFor } from '../helpers/wait.js';

// Procedures of our own, so these tests do not depend on the admin table.
const u64Codec: Codec<bigint> = { encode: (w, v) => void w.uhyper(v), decode: (r) => r.uhyper() };
const u32Codec: Codec<number> = { encode: (w, v) => void w.uint(v), decode: (r) => r.uint() };
const spec = <A, R>(name: string, proc: number, args: Codec<A>, ret: Codec<R>): ProcedureSpec<A, R> => ({
  name,
  prog: ADMIN_PROG,
  vers: 1,
  proc,
  args,
  ret,
});
const VERSION = spec('CONNECT_GET_LIB_VERSION', 3, voidCodec, u64Codec);
const LOOKUP = spec('CONNECT_LOOKUP_SERVER', 5, voidCodec, voidCodec);
const ECHO = spec('ECHO', 19, u32Codec, u32Codec);
const SHUTDOWN = spec('CONNECT_DAEMON_SHUTDOWN', 20, u32Codec, voidCodec);

const versionReply = (serial: number, v: bigint) => frame({ prog: ADMIN_PROG, proc: 3, type: REPLY, serial }, u64(v));
const echoReply = (serial: number, v: number) => frame({ prog: ADMIN_PROG, proc: 19, type: REPLY, serial }, u32(v));
const errorReply = (proc: number, serial: number, code: number, domain: number, message: string) =>
  frame(
    { prog: ADMIN_PROG, proc, type: REPLY, serial, status: 1 },
    i32(code),
    i32(domain),
    optStr(message),
    i32(2),
    u32(0),
    optStr('%s'),
    optStr(message),
    optStr(null),
    i32(-1),
    i32(-1),
    u32(0),
  );

let pair: SocketPair;
let client: RpcClient;
const open = async (options?: RpcClientOptions) => {
  pair = await socketPair();
  client = new RpcClient(pair.local, options);
  return { client, peer: pair.peer };
};
afterEach(async () => {
  client?.destroy();
  await pair?.close();
});

describe('RpcClient: calls and replies', () => {
  it('writes the captured GET_LIB_VERSION call and decodes the captured reply', async () => {
    const { client, peer } = await open();
    // Burn serial 0 so the next call carries serial 1 as in V3.
    const first = client.call(VERSION, undefined);
    peer.send(versionReply(readHeader(await peer.nextFrame()).serial, 1n));
    assert.equal(await first, 1n);
    const call = client.call(VERSION, undefined);
    assert.deepEqual(await peer.nextFrame(), V3.call);
    peer.send(V3.reply);
    assert.equal(await call, 9000000n);
  });

  it('numbers calls from serial 0 upwards', async () => {
    const { client, peer } = await open();
    const calls = [1, 2, 3].map((v) => client.call(ECHO, v));
    const frames = await peer.nextFrames(3);
    assert.deepEqual(
      frames.map((f) => readHeader(f).serial),
      [0, 1, 2],
    );
    assert.deepEqual(
      frames.map((f) => readHeader(f).type),
      [CALL, CALL, CALL],
    );
    for (const f of frames) peer.send(echoReply(readHeader(f).serial, f.readUInt32BE(28)));
    assert.deepEqual(await Promise.all(calls), [1, 2, 3]);
  });

  it('matches replies that come back in any order', async () => {
    const { client, peer } = await open();
    const calls = [10, 20, 30, 40, 50].map((v) => client.call(ECHO, v));
    const frames = await peer.nextFrames(5);
    for (const i of [3, 0, 4, 2, 1]) {
      const f = frames[i]!;
      peer.send(echoReply(readHeader(f).serial, f.readUInt32BE(28) + 1));
    }
    assert.deepEqual(await Promise.all(calls), [11, 21, 31, 41, 51]);
  });

  it("turns an error reply into a LibvirtError with libvirt's code, domain and message", async () => {
    const { client, peer } = await open();
    const call = client.call(LOOKUP, undefined);
    await peer.nextFrame();
    peer.send(withSerial(V5.reply, 0));
    await assert.rejects(call, (e: unknown) => {
      assert.ok(e instanceof LibvirtError);
      assert.ok(!(e instanceof UnsupportedProcedureError));
      assert.equal(e.libvirtCode, 95);
      assert.equal(e.libvirtDomain, 7);
      assert.equal(e.message, "Server not found: No server named 'nosuch'");
      assert.equal(e.details.level, 2);
      return true;
    });
    assert.equal(client.closed, false);
  });

  it('turns "unknown procedure" into UnsupportedProcedureError', async () => {
    const { client, peer } = await open();
    const call = client.call(SHUTDOWN, 0);
    await peer.nextFrame();
    peer.send(errorReply(20, 0, 39, 7, 'unknown procedure: 20'));
    await assert.rejects(call, (e: unknown) => {
      assert.ok(e instanceof UnsupportedProcedureError);
      assert.equal(e.code, ErrorCode.UNSUPPORTED);
      assert.equal(e.procedure, 'CONNECT_DAEMON_SHUTDOWN');
      assert.equal(e.libvirtCode, 39);
      return true;
    });
    // Another RPC error stays a plain LibvirtError.
    const other = client.call(SHUTDOWN, 0);
    await peer.nextFrame();
    peer.send(errorReply(20, 1, 39, 7, 'Unable to decode message payload'));
    await assert.rejects(other, (e: unknown) => e instanceof LibvirtError && !(e instanceof UnsupportedProcedureError));
  });

  it('fails a call whose arguments cannot be encoded without sending anything', async () => {
    const { client, peer } = await open();
    await assert.rejects(client.call(ECHO, -1), XdrError);
    const ok = client.call(ECHO, 7);
    const f = await peer.nextFrame();
    peer.send(echoReply(readHeader(f).serial, 7));
    assert.equal(await ok, 7);
  });

  it('ignores MESSAGE frames of the admin program', async () => {
    const { client, peer } = await open();
    const call = client.call(ECHO, 1);
    await peer.nextFrame();
    peer.send(frame({ prog: ADMIN_PROG, proc: 19, type: 2, serial: 0 }, u32(99)), echoReply(0, 1));
    assert.equal(await call, 1);
    assert.equal(client.closed, false);
  });
});

describe('RpcClient: protocol violations close the connection', () => {
  const closedWith = (c: RpcClient) => new Promise<LocalError>((resolve) => c.onClosed(resolve));

  it('a reply to no pending call closes with a ProtocolError and fails every pending call', async () => {
    const { client, peer } = await open();
    const reason = closedWith(client);
    const calls = [1, 2].map((v) => client.call(ECHO, v));
    await peer.nextFrames(2);
    peer.send(echoReply(101, 0));
    const r = await reason;
    assert.ok(r instanceof ProtocolError);
    assert.match(r.message, /no call waiting for reply with prog 110102160 vers 1 serial 101/);
    for (const c of calls) await assert.rejects(c, (e: unknown) => e instanceof ConnectionClosedError && e.cause === r);
    await peer.ended;
  });

  it('a reply carrying another procedure closes the connection', async () => {
    const { client, peer } = await open();
    const call = client.call(ECHO, 1);
    await peer.nextFrame();
    peer.send(versionReply(0, 1n));
    await assert.rejects(call, ConnectionClosedError);
    assert.ok(client.closed);
  });

  it('an undecodable reply fails its call at once with a ProtocolError and closes', async () => {
    const { client, peer } = await open();
    const call = client.call(VERSION, undefined, { timeoutMs: 10_000 });
    const other = client.call(ECHO, 1, { timeoutMs: 10_000 });
    await peer.nextFrames(2);
    const started = Date.now();
    peer.send(frame({ prog: ADMIN_PROG, proc: 3, type: REPLY, serial: 0 }, u32(0))); // 4 bytes, u64 needs 8
    await assert.rejects(call, (e: unknown) => e instanceof ProtocolError && /unable to decode/.test(e.message));
    await assert.rejects(other, ConnectionClosedError);
    assert.ok(Date.now() - started < 1000);
    assert.ok(client.closed);
  });

  it('an undecodable error payload closes the connection', async () => {
    const { client, peer } = await open();
    const call = client.call(ECHO, 1, { timeoutMs: 10_000 });
    await peer.nextFrame();
    peer.send(frame({ prog: ADMIN_PROG, proc: 19, type: REPLY, serial: 0, status: 1 }, i32(1)));
    await assert.rejects(call, ProtocolError);
    assert.ok(client.closed);
  });

  it('a bad frame length closes the connection', async () => {
    const { client, peer } = await open();
    const reason = closedWith(client);
    const call = client.call(ECHO, 1);
    await peer.nextFrame();
    peer.send(u32(0xffffffff));
    assert.ok((await reason) instanceof ProtocolError);
    await assert.rejects(call, ConnectionClosedError);
  });
});

describe('RpcClient: timeouts and aborts', () => {
  it('times out a call with no reply, and drops its late reply', async () => {
    const { client, peer } = await open();
    const started = Date.now();
    await assert.rejects(client.call(ECHO, 1, { timeoutMs: 50 }), (e: unknown) => {
      assert.ok(e instanceof CallTimeoutError);
      assert.match(e.message, /ECHO got no reply within 50 ms/);
      return true;
    });
    assert.ok(Date.now() - started >= 45);
    await peer.nextFrame();
    peer.send(echoReply(0, 1)); // late
    const next = client.call(ECHO, 2);
    const f = await peer.nextFrame();
    assert.equal(readHeader(f).serial, 1);
    peer.send(echoReply(1, 2));
    assert.equal(await next, 2);
    assert.equal(client.closed, false);
  });

  it("uses the client's default timeout", async () => {
    const { client } = await open({ callTimeoutMs: 30 });
    await assert.rejects(client.call(ECHO, 1), CallTimeoutError);
  });

  it('aborts a call on the wire; its late reply is dropped', async () => {
    const { client, peer } = await open();
    const ac = new AbortController();
    const call = client.call(ECHO, 1, { signal: ac.signal });
    await peer.nextFrame();
    ac.abort(new Error('user gave up'));
    await assert.rejects(call, (e: unknown) => e instanceof CallAbortedError && /ECHO was aborted/.test(e.message));
    peer.send(echoReply(0, 1));
    await holdsFor('the late reply is dropped; the connection stays', 30, () => !client.closed);
  });

  it('refuses a call whose signal is already aborted without sending it', async () => {
    const { client, peer } = await open();
    await assert.rejects(client.call(ECHO, 1, { signal: AbortSignal.abort() }), CallAbortedError);
    await holdsFor('nothing is sent', 30, () => peer.received === 0);
  });

  it('aborts a call still waiting for a window slot; it is never sent', async () => {
    const { client, peer } = await open({ maxInFlight: 1 });
    const first = client.call(ECHO, 1);
    const ac = new AbortController();
    const second = client.call(ECHO, 2, { signal: ac.signal });
    assert.equal(client.queued, 1);
    ac.abort();
    await assert.rejects(second, CallAbortedError);
    assert.equal(client.queued, 0);
    const f = await peer.nextFrame();
    peer.send(echoReply(readHeader(f).serial, 1));
    assert.equal(await first, 1);
    await holdsFor('nothing is sent', 30, () => peer.received === 0);
  });

  it('a timed-out call keeps its window slot until its late reply arrives', async () => {
    const { client, peer } = await open({ maxInFlight: 2 });
    await assert.rejects(client.call(ECHO, 1, { timeoutMs: 10 }), CallTimeoutError);
    await peer.nextFrame();
    const a = client.call(ECHO, 2);
    const b = client.call(ECHO, 3);
    const fa = await peer.nextFrame();
    await holdsFor('no third call is sent: the daemon would hold three calls', 30, () => peer.received === 0);
    assert.equal(client.queued, 1);
    peer.send(echoReply(0, 1)); // the late reply frees the slot
    const fb = await peer.nextFrame();
    peer.send(echoReply(readHeader(fa).serial, 2));
    peer.send(echoReply(readHeader(fb).serial, 3));
    assert.deepEqual(await Promise.all([a, b]), [2, 3]);
  });

  it('recycles the connection once every slot of the window is held by an unanswered call', async () => {
    const { client } = await open({ maxInFlight: 3 });
    for (let i = 0; i < 3; i++) await assert.rejects(client.call(ECHO, i, { timeoutMs: 10 }), CallTimeoutError);
    assert.ok(client.closed);
  });
});

describe('RpcClient: window and connection end', () => {
  it('keeps at most 5 calls on the wire and sends the rest as replies come', async () => {
    const { client, peer } = await open();
    const calls = Array.from({ length: 12 }, (_, i) => client.call(ECHO, i));
    const firstFive = await peer.nextFrames(5);
    await holdsFor('no sixth call goes out before a reply', 50, () => peer.received === 0);
    assert.equal(client.inFlight, 5);
    assert.equal(client.queued, 7);
    const outstanding = firstFive;
    let answered = 0;
    while (outstanding.length > 0) {
      const f = outstanding.shift()!;
      peer.send(echoReply(readHeader(f).serial, f.readUInt32BE(28)));
      answered++;
      if (answered <= 7) outstanding.push(await peer.nextFrame());
      assert.ok(client.inFlight <= 5);
    }
    assert.deepEqual(await Promise.all(calls), [...Array(12).keys()]);
  });

  it('honours a smaller window', async () => {
    const { client, peer } = await open({ maxInFlight: 2 });
    const calls = [1, 2, 3].map((v) => client.call(ECHO, v));
    const [a, b] = await peer.nextFrames(2);
    await holdsFor('no third call goes out', 30, () => peer.received === 0);
    peer.send(echoReply(readHeader(b!).serial, 2));
    const c = await peer.nextFrame();
    peer.send(echoReply(readHeader(a!).serial, 1), echoReply(readHeader(c).serial, 3));
    assert.deepEqual(await Promise.all(calls), [1, 2, 3]);
  });

  it('fails every pending and queued call promptly when the peer closes', async () => {
    const { client, peer } = await open();
    const calls = Array.from({ length: 8 }, (_, i) => client.call(ECHO, i, { timeoutMs: 10_000 }));
    await peer.nextFrames(5);
    const started = Date.now();
    peer.socket.end();
    const results = await Promise.allSettled(calls);
    assert.ok(Date.now() - started < 500, 'pending calls were not failed promptly');
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof ConnectionClosedError);
    }
    // A call made afterwards fails at once.
    await assert.rejects(
      client.call(ECHO, 1),
      (e: unknown) => e instanceof ConnectionClosedError && /ECHO:/.test(e.message),
    );
  });

  it('fails pending calls when the socket errors', async () => {
    const { client, peer } = await open();
    const call = client.call(ECHO, 1, { timeoutMs: 10_000 });
    await peer.nextFrame();
    pair.local.destroy(new Error('boom'));
    await assert.rejects(
      call,
      (e: unknown) => e instanceof ConnectionClosedError && /connection lost: boom/.test(e.message),
    );
  });

  it('destroy() fails pending calls and tells close listeners once', async () => {
    const { client, peer } = await open();
    const reasons: LocalError[] = [];
    client.onClosed((r) => reasons.push(r));
    const call = client.call(ECHO, 1);
    await peer.nextFrame();
    client.destroy('bye');
    await assert.rejects(call, (e: unknown) => e instanceof ConnectionClosedError && /bye/.test(e.message));
    client.destroy('again');
    assert.equal(reasons.length, 1);
    // A listener added after the end is called at once.
    let late: LocalError | undefined;
    client.onClosed((r) => (late = r));
    assert.equal(late, reasons[0]);
    await peer.ended;
  });
});

describe('RpcClient: keepalive', () => {
  it("answers the peer's PING with PONG while calls are pending", async () => {
    const { client, peer } = await open();
    const call = client.call(ECHO, 5);
    await peer.nextFrame();
    peer.send(V7.ping);
    assert.deepEqual(await peer.nextFrame(), V7.pong);
    peer.send(echoReply(0, 5));
    assert.equal(await call, 5);
  });

  it('declares a silent peer dead with its own PINGs and fails the pending call', async () => {
    const { client, peer } = await open({ keepalive: { intervalSeconds: 0.05, count: 2 } });
    const call = client.call(ECHO, 1, { timeoutMs: 10_000 });
    await peer.nextFrame();
    assert.deepEqual(await peer.nextFrames(2), [V7.ping, V7.ping]);
    await assert.rejects(
      call,
      (e: unknown) => e instanceof ConnectionClosedError && /keepalive timeout/.test(e.message),
    );
  });

  it('a peer that answers PINGs stays connected', async () => {
    const { client, peer } = await open({ keepalive: { intervalSeconds: 0.03, count: 1 } });
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(await peer.nextFrame(), V7.ping);
      peer.send(V7.pong);
    }
    assert.equal(client.closed, false);
  });
});
