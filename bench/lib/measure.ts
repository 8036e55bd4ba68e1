// Load drivers of the benchmark: HTTP through autocannon, closed loops of in-process calls, one process per
// call, and libvirt's own C client (rawrpc). Each returns the same Figures, so one table can compare them.
import { execFile } from 'node:child_process';
import autocannon from 'autocannon';

/** One row of the benchmark table. */
export interface Figures {
  /** What was asked, e.g. "GET threadpool". */
  operation: string;
  /** Which daemon answered, e.g. "libvirtd" or "embedded". */
  daemon: string;
  /** Through what: "gateway (HTTP)", "AdminClient", "rawrpc (C)", "virt-admin". */
  via: string;
  /** Concurrent connections, workers, threads or processes. */
  concurrency: number;
  /** Operations completed. */
  count: number;
  /** Operations per second. */
  perSecond: number;
  /** Latency percentiles in milliseconds; null where the driver does not report them. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Mean latency in milliseconds (rawrpc reports only this). */
  meanMs: number | null;
  /** Failed operations: transport errors, timeouts, unexpected statuses, non-zero exits. */
  errors: number;
  /** HTTP statuses seen, for HTTP rows. */
  statuses?: Record<string, number>;
  note?: string;
}

/** p50 and p99 of latency samples in milliseconds (nearest rank). */
export function percentiles(samples: Float64Array | number[]): { p50: number | null; p99: number | null } {
  if (samples.length === 0) return { p50: null, p99: null };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99) };
}

/** A growable list of latency samples. */
class Samples {
  private data = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/** One request of an HTTP load: autocannon's request shape. */
export interface HttpRequest {
  method: 'GET' | 'PATCH' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  body?: string;
}

/** Options of httpLoad. */
export interface HttpLoadOptions {
  operation: string;
  daemon: string;
  /** Base URL of the gateway, e.g. http://127.0.0.1:8080. */
  base: string;
  /** Requests sent in rotation on each connection. */
  requests: HttpRequest[];
  connections: number;
  durationS: number;
  /** Statuses counted as success (default: any 2xx). */
  ok?: (status: number) => boolean;
}

/**
 * Drives the gateway with autocannon. Latencies come from autocannon's per-response hrtime figures (its own
 * histogram keeps whole milliseconds only, too coarse for sub-millisecond medians).
 */
export async function httpLoad(o: HttpLoadOptions): Promise<Figures> {
  const samples = new Samples();
  const statuses: Record<string, number> = {};
  const ok = o.ok ?? ((s: number) => s >= 200 && s < 300);
  let bad = 0;
  let instance!: autocannon.Instance;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: o.base,
        connections: o.connections,
        duration: o.durationS,
        timeout: 10,
        requests: o.requests.map((r) => ({
          method: r.method,
          path: r.path,
          ...(r.body !== undefined ? { body: r.body, headers: { 'content-type': 'application/json' } } : {}),
        })),
      },
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- autocannon passes an Error or null
      (err: unknown, result) => (err ? reject(err) : resolve(result)),
    );
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (ok(status)) samples.push(ms);
    else bad++;
  });
  const result = await finished;
  const { p50, p99 } = percentiles(samples.values());
  const count = samples.length;
  const seconds = result.duration || o.durationS;
  return {
    operation: o.operation,
    daemon: o.daemon,
    via: 'gateway (HTTP)',
    concurrency: o.connections,
    count,
    perSecond: count / seconds,
    p50Ms: p50,
    p99Ms: p99,
    meanMs: count ? samples.values().reduce((a, b) => a + b, 0) / count : null,
    errors: bad + result.errors,
    statuses,
  };
}

/** Runs `op` from `concurrency` workers in a closed loop for `durationMs`, timing each call. */
export async function closedLoop(
  meta: Pick<Figures, 'operation' | 'daemon' | 'via'> & { note?: string },
  concurrency: number,
  durationMs: number,
  op: (worker: number) => Promise<unknown>,
): Promise<Figures> {
  const samples = new Samples();
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await op(worker);
          samples.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const { p50, p99 } = percentiles(samples.values());
  const count = samples.length;
  return {
    ...meta,
    concurrency,
    count,
    perSecond: count / seconds,
    p50Ms: p50,
    p99Ms: p99,
    meanMs: count ? samples.values().reduce((a, b) => a + b, 0) / count : null,
    errors,
  };
}

/** Runs a command to completion; rejects on a non-zero exit or after `timeoutMs`. */
export function run(file: string, args: string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, maxBuffer: 64 << 20, env: env ?? process.env },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** One `virt-admin` process per call, `concurrency` at a time, for `durationMs`. */
export function virtAdminLoop(
  operation: string,
  uri: string,
  args: string[],
  concurrency: number,
  durationMs: number,
): Promise<Figures> {
  return closedLoop(
    { operation, daemon: 'libvirtd', via: 'virt-admin (process per call)' },
    concurrency,
    durationMs,
    () => run('virt-admin', ['-c', uri, ...args], 20_000),
  );
}

/** Compiles ../shared/bench/rawrpc.c; returns the binary's path. */
export async function buildRawrpc(source: string, outDir: string): Promise<string> {
  const bin = `${outDir}/rawrpc`;
  await run('gcc', ['-O2', '-o', bin, source, '-lvirt-admin', '-lvirt', '-lpthread']);
  return bin;
}

/** Runs rawrpc (virAdmServerGetThreadPoolParameters in a loop from `threads` threads, one connection each). */
export async function rawrpcLoad(
  bin: string,
  uri: string,
  server: string,
  seconds: number,
  threads: number,
): Promise<Figures> {
  const out = await run(bin, [uri, server, String(seconds), String(threads)], (seconds + 30) * 1000);
  // threads=8 calls=11573 calls_per_s=3858 mean_latency_us=2073.8
  const field = (name: string) => Number(new RegExp(`${name}=([0-9.]+)`).exec(out)?.[1]);
  return {
    operation: 'GET threadpool',
    daemon: 'libvirtd',
    via: 'rawrpc (libvirt C client)',
    concurrency: threads,
    count: field('calls'),
    perSecond: field('calls_per_s'),
    p50Ms: null,
    p99Ms: null,
    meanMs: field('mean_latency_us') / 1000,
    errors: 0,
  };
}
