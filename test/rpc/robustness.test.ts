// Property-based robustness: random and mutated frames, split into random chunks, fed to the frame decoder, the
// message decoder, every procedure's codecs, and a live RpcClient connection. Whatever arrives, the code must
// fail only with its own typed errors, settle every call in time, and never allocate what the peer merely claims.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { adminProcedures, adminProceduresByNumber } from '../../src/admin/procedures.js';
import { RpcClient } from '../../src/rpc/client.js';
import { FRAME_MAX } from '../../src/rpc/constants.js';
import { errorPayloadCodec } from '../../src/rpc/error-payload.js';
import { LibvirtError, LocalError, ProtocolError } from '../../src/rpc/errors.js';
import { FrameDecoder } from '../../src/rpc/frame-decoder.js';
import { decodeMessage } from '../../src/rpc/message.js';
import { XdrError, XdrReader, type Codec } from '../../src/xdr/index.js';
import { ADMIN_PROG, REPLY, frame, i32, i64, optStr, readHeader, str, u32, u64 } from '../helpers/bytes.js';
import { socketPair, type SocketPair } from '../helpers/fake-peer.js';
import { ALL_FRAMES, V2, V3, V5, V6, V7 } from '../helpers/vectors.js';

const SPECS = [...adminProceduresByNumber.values()];
const CODECS: Codec<unknown>[] = [...SPECS.flatMap((s) => [s.args, s.ret]), errorPayloadCodec];

/** Valid result payloads for the procedures that return data (the others return nothing). */
const clientBytes = Buffer.concat([str('libvirtd'), u64(3n), i64(1764179190n), u32(0)]);
const SAMPLE_RET = new Map<number, Buffer>([
  [3, V3.reply.subarray(28)],
  [4, V2.reply.subarray(28)],
  [5, str('libvirtd')],
  [6, V6.reply.subarray(28)],
  [8, Buffer.concat([u32(1), clientBytes, u32(1)])],
  [9, clientBytes],
  [10, Buffer.concat([u32(2), str('readonly'), i32(6), i32(1), str('unix_user_name'), i32(7), str('root')])],
  [12, Buffer.concat([u32(1), str('nclients_max'), i32(2), u32(5000)])],
  [14, Buffer.concat([str('3:stderr'), u32(1)])],
  [15, Buffer.concat([optStr('4:*event* '), u32(1)])],
]);
const VALID_PAYLOADS = [...SAMPLE_RET.values(), V5.reply.subarray(28), ...ALL_FRAMES.map((f) => f.subarray(28))];

/** Values that hit bounds: counts, string lengths, discriminants, frame lengths. */
const INTERESTING = [
  0, 1, 2, 3, 4, 7, 8, 24, 27, 28, 32, 33, 64, 65, 16384, 16385, 4194304, 4194305, 33554432, 33554436, 33554437,
  0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

/** Only our own error types may escape a decoder. */
function expectTyped(err: unknown): void {
  if (!(err instanceof XdrError || err instanceof ProtocolError)) throw err;
}

/** Decode a payload with every codec; each either succeeds or fails with an XdrError. */
function decodeWithEveryCodec(payload: Buffer): void {
  for (const codec of CODECS) {
    try {
      codec.decode(new XdrReader(payload));
    } catch (err) {
      expectTyped(err);
    }
  }
}

/** Feed chunks to a FrameDecoder and decode every frame it returns; checks the buffering bound after each push. */
function feed(chunks: Buffer[]): void {
  const decoder = new FrameDecoder();
  try {
    for (const chunk of chunks) {
      const frames = decoder.push(chunk);
      assert.ok(decoder.pending < FRAME_MAX, `decoder holds ${decoder.pending} bytes`);
      for (const f of frames) decodeWithEveryCodec(decodeMessage(f).payload);
    }
  } catch (err) {
    expectTyped(err);
  }
}

/** Cut a buffer at the given (sorted, deduplicated) positions. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

/** One mutation of a valid frame: overwrite a word, flip a byte, truncate, extend, or break the length word. */
const mutationArb = fc.record({
  kind: fc.constantFrom('word', 'byte', 'truncate', 'extend', 'length'),
  at: fc.nat(),
  value: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 0xffffffff })),
  byte: fc.integer({ min: 0, max: 255 }),
});
type Mutation = { kind: string; at: number; value: number; byte: number };

function mutate(f: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(f);
  switch (m.kind) {
    case 'word': {
      const words = Math.floor(out.length / 4);
      out.writeUInt32BE(m.value >>> 0, ((m.at % (words - 1)) + 1) * 4); // keep the length word valid
      return out;
    }
    case 'byte': {
      const i = 4 + (m.at % (out.length - 4));
      out.writeUInt8(out.readUInt8(i) ^ (m.byte || 1), i);
      return out;
    }
    case 'truncate': {
      const cut = Buffer.from(out.subarray(0, 28 + (m.at % Math.max(1, out.length - 27))));
      cut.writeUInt32BE(cut.length, 0);
      return cut;
    }
    case 'extend': {
      const longer = Buffer.concat([out, u32(m.value), Buffer.alloc(m.byte)]);
      longer.writeUInt32BE(longer.length, 0);
      return longer;
    }
    default:
      out.writeUInt32BE(m.value >>> 0, 0);
      return out;
  }
}

const validFrameArb = fc.constantFrom(
  ...ALL_FRAMES,
  ...[...SAMPLE_RET].map(([proc, p]) => frame({ prog: ADMIN_PROG, proc, type: REPLY, serial: 1 }, p)),
);
const chunkedArb = <T>(arb: fc.Arbitrary<T>) => fc.tuple(arb, fc.array(fc.nat(), { maxLength: 8 }));

describe('robustness: decoders', () => {
  it('random bytes in random chunks only ever raise typed errors', () => {
    fc.assert(
      fc.property(chunkedArb(fc.uint8Array({ maxLength: 512 })), ([bytes, cuts]) =>
        feed(split(Buffer.from(bytes), cuts)),
      ),
      { numRuns: 2000 },
    );
  });

  it('random bytes behind a valid header only ever raise typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(20), (bytes, proc) => {
        feed([frame({ prog: ADMIN_PROG, proc, type: REPLY, serial: 0 }, Buffer.from(bytes))]);
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated captured frames (lengths, counts, string lengths, discriminants) in random chunks', () => {
    fc.assert(
      fc.property(
        chunkedArb(fc.tuple(validFrameArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }))),
        ([[f, ms], cuts]) => {
          const mutated = ms.reduce(mutate, f);
          feed(split(Buffer.concat([V7.ping, mutated, V3.reply]), cuts));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('every interesting value in every word of every valid payload, with every codec', () => {
    for (const payload of VALID_PAYLOADS) {
      for (let at = 0; at + 4 <= payload.length; at += 4) {
        for (const value of INTERESTING) {
          const p = Buffer.from(payload);
          p.writeUInt32BE(value, at);
          decodeWithEveryCodec(p);
        }
      }
    }
  });

  it('a truncated payload of any length fails cleanly with every codec', () => {
    for (const payload of VALID_PAYLOADS) {
      for (let n = 0; n < payload.length; n++) decodeWithEveryCodec(payload.subarray(0, n));
    }
  });
});

describe('robustness: memory', () => {
  /** Sum of the sizes of every Buffer allocated while fn runs. */
  function bytesAllocatedBy(fn: () => void): number {
    let total = 0;
    const B = Buffer as unknown as Record<string, (...args: unknown[]) => Buffer>;
    const names = ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat'];
    const saved = names.map((n) => B[n]!);
    names.forEach((n, i) => {
      const original = saved[i]!;
      B[n] = (...args) => {
        const b = original.apply(Buffer, args);
        total += b.length;
        return b;
      };
    });
    try {
      fn();
    } finally {
      names.forEach((n, i) => (B[n] = saved[i]!));
    }
    return total;
  }

  it('the allocation counter sees allocations (so a zero below means something)', () => {
    assert.ok(bytesAllocatedBy(() => Buffer.alloc(8192)) >= 8192);
    assert.ok(bytesAllocatedBy(() => Buffer.concat([Buffer.alloc(10), Buffer.alloc(10)])) >= 20);
  });

  it('a claimed 4 MiB string with no data allocates nothing of that size', () => {
    const claim = u32(4194304);
    const used = bytesAllocatedBy(() => {
      for (const codec of [adminProcedures.connectLookupServer.ret, adminProcedures.connectGetLoggingOutputs.ret]) {
        assert.throws(() => codec.decode(new XdrReader(claim)), XdrError);
      }
    });
    assert.ok(used < 4096, `${used} bytes allocated`);
  });

  it('array counts beyond the data are refused before anything is allocated per element', () => {
    let elements = 0;
    const counting: Codec<unknown> = { encode() {}, decode: (r) => (elements++, r.uint()) };
    for (const count of [5, 100, 16384]) {
      assert.throws(
        () => new XdrReader(Buffer.concat([u32(count), u32(1), u32(2)])).array(16384, counting.decode),
        /exceeds the data left/,
      );
    }
    assert.equal(elements, 0);
    assert.throws(() => adminProcedures.serverListClients.ret.decode(new XdrReader(u32(16384))), XdrError);
  });

  it('the frame decoder does not preallocate what a length word claims', () => {
    const decoder = new FrameDecoder();
    const head = V1Header(FRAME_MAX);
    const used = bytesAllocatedBy(() => assert.deepEqual(decoder.push(head), []));
    assert.ok(used < 4096, `${used} bytes allocated`);
    assert.equal(decoder.pending, head.length);
  });

  it('the frame decoder holds at most one partial frame, however the stream is cut', () => {
    fc.assert(
      fc.property(chunkedArb(fc.array(validFrameArb, { maxLength: 6 })), ([frames, cuts]) => {
        const stream = Buffer.concat(frames);
        const decoder = new FrameDecoder();
        let out = 0;
        let fed = 0;
        for (const chunk of split(stream, cuts)) {
          out += decoder.push(chunk).length;
          fed += chunk.length;
          // What is held is the start of one frame, shorter than that frame.
          const held = decoder.pending;
          if (held >= 4) assert.ok(held < stream.readUInt32BE(fed - held));
          assert.ok(held < FRAME_MAX);
        }
        assert.equal(out, frames.length);
        assert.equal(decoder.pending, 0);
      }),
      { numRuns: 1000 },
    );
  });
});

/** A header-only frame start whose length word claims `len` bytes. */
function V1Header(len: number): Buffer {
  const f = Buffer.from(V3.call);
  f.writeUInt32BE(len, 0);
  return f;
}

describe('robustness: a live connection', () => {
  let pair: SocketPair | undefined;
  afterEach(async () => {
    await pair?.close();
    pair = undefined;
  });

  // Calls the client may make, with valid arguments.
  const CALLS: [keyof typeof adminProcedures, unknown][] = [
    ['connectGetLibVersion', undefined],
    ['connectListServers', { needResults: true, flags: 0 }],
    ['connectLookupServer', { name: 'libvirtd', flags: 0 }],
    ['serverGetThreadpoolParameters', { server: { name: 'libvirtd' }, flags: 0 }],
    ['serverListClients', { server: { name: 'libvirtd' }, needResults: true, flags: 0 }],
    ['serverLookupClient', { server: { name: 'libvirtd' }, id: 3n, flags: 0 }],
    ['clientGetInfo', { client: { server: { name: 'libvirtd' }, id: 3n, timestamp: 0n, transport: 0 }, flags: 0 }],
    ['serverGetClientLimits', { server: { name: 'libvirtd' }, flags: 0 }],
    ['connectGetLoggingOutputs', { flags: 0 }],
    ['connectGetLoggingFilters', { flags: 0 }],
    ['connectSetDaemonTimeout', { timeout: 5, flags: 0 }],
  ];

  const replyPlanArb = fc.record({
    mutations: fc.array(fc.option(fc.array(mutationArb, { minLength: 1, maxLength: 2 }), { nil: undefined }), {
      minLength: 6,
      maxLength: 6,
    }),
    junk: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
    cuts: fc.array(fc.nat(), { maxLength: 6 }),
    order: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
    end: fc.constantFrom('close', 'silent', 'ping'),
    calls: fc.array(fc.nat(CALLS.length - 1), { minLength: 1, maxLength: 6 }),
  });

  it('hostile replies: every call settles in time with a typed error or a value, never an uncaught exception', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      await fc.assert(
        fc.asyncProperty(replyPlanArb, async (plan) => {
          pair = await socketPair();
          const client = new RpcClient(pair.local, { callTimeoutMs: 150 });
          const started = Date.now();
          const calls = plan.calls.map((i) => {
            const [name, args] = CALLS[i]!;
            return client.call(adminProcedures[name] as never, args as never);
          });
          const sent = await pair.peer.nextFrames(Math.min(plan.calls.length, 5));
          // Answer each call with its valid reply, possibly mutated, in a shuffled order, then junk.
          const replies = sent.map((call, i) => {
            const h = readHeader(call);
            const valid = frame(
              { prog: ADMIN_PROG, proc: h.proc, type: REPLY, serial: h.serial },
              SAMPLE_RET.get(h.proc) ?? Buffer.alloc(0),
            );
            const ms = plan.mutations[i];
            return ms ? ms.reduce(mutate, valid) : valid;
          });
          replies.sort((a, b) => plan.order[replies.indexOf(a)]! - plan.order[replies.indexOf(b)]!);
          const bytes = Buffer.concat([...replies, ...(plan.junk ? [Buffer.from(plan.junk)] : [])]);
          for (const chunk of split(bytes, plan.cuts)) pair.peer.send(chunk);
          if (plan.end === 'close') pair.peer.socket.end();
          if (plan.end === 'ping') pair.peer.send(V7.ping);
          const results = await Promise.race([
            Promise.allSettled(calls),
            new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), 3000)),
          ]);
          assert.notEqual(results, 'hang', 'a call never settled');
          assert.ok(Date.now() - started < 3000);
          for (const r of results as PromiseSettledResult<unknown>[]) {
            if (r.status === 'rejected') {
              assert.ok(
                r.reason instanceof LocalError || r.reason instanceof LibvirtError,
                `untyped rejection: ${r.reason}`,
              );
            }
          }
          client.destroy();
          await pair.close();
          pair = undefined;
        }),
        { numRuns: 60 },
      );
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    assert.deepEqual(uncaught, []);
  });
});
