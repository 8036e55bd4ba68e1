import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isShutdownClose } from '../admin/client.js';
import type { ClientLimitParams, ThreadpoolParams } from '../admin/params.js';
import { adminProcedures } from '../admin/procedures.js';
import { ErrorCode } from '../rpc/errors.js';
import type { EventHub } from './event-hub.js';
import { readInBackground, type DaemonSource } from './source.js';

/**
 * The gateway's Prometheus metrics. Daemon figures are read at scrape time (collect callbacks), never cached:
 * a scrape shows the daemons as they are. Each figure is a metric of its own rather than one metric with a
 * `kind` label, because summing min, max and free workers means nothing (Prometheus naming guidance: a sum over
 * a label's values should make sense).
 */

/** Figures of one daemon read for one scrape; `servers` is empty when it could not be reached. */
export interface DaemonFigures {
  daemon: string;
  up: boolean;
  version?: string;
  servers: Array<{ name: string; threadpool: ThreadpoolParams; clientLimits: ClientLimitParams }>;
}

/** The daemons whose figures are exported, and the scrape's call timeout. */
export interface MetricsOptions {
  sources: readonly DaemonSource[];
  /** The event hub whose subscriber figures are exported. */
  hub?: EventHub;
  /** Milliseconds allowed for each daemon call during a scrape (default 3 s; Prometheus waits 10 s by default). */
  scrapeCallTimeoutMs?: number;
}

/** What an HTTP request is counted by. */
export interface RequestSample {
  method: string;
  /** The route pattern (`/servers/:server/threadpool`), never the raw URL: raw URLs would explode cardinality. */
  route: string;
  statusCode: number;
  /** Undefined for responses whose length is no latency (event streams): counted, not timed. */
  durationSeconds: number | undefined;
}

/** Observer of RPC calls, in the shape RpcClientOptions.onCall takes. */
export type RpcCallObserver = (procedure: string, durationMs: number, error: Error | undefined) => void;

type ServerFigures = DaemonFigures['servers'][number];

/** The per-server gauges: name, help, and the figure (libvirt's typed parameter named in the help). */
const SERVER_GAUGES: Array<[string, string, (s: ServerFigures) => number]> = [
  ['libvirt_admin_threadpool_min_workers', 'Threadpool minWorkers: workers kept alive at least.', (s) => s.threadpool.minWorkers],
  ['libvirt_admin_threadpool_max_workers', 'Threadpool maxWorkers: workers allowed at most.', (s) => s.threadpool.maxWorkers],
  ['libvirt_admin_threadpool_workers', 'Threadpool nWorkers: workers that exist now.', (s) => s.threadpool.nWorkers],
  ['libvirt_admin_threadpool_free_workers', 'Threadpool freeWorkers: workers idle now.', (s) => s.threadpool.freeWorkers],
  ['libvirt_admin_threadpool_priority_workers', 'Threadpool prioWorkers: priority workers.', (s) => s.threadpool.prioWorkers],
  [
    'libvirt_admin_threadpool_job_queue_depth',
    'Threadpool jobQueueDepth: jobs waiting for a worker.',
    (s) => s.threadpool.jobQueueDepth,
  ],
  ['libvirt_admin_server_clients', 'nclients: clients connected now.', (s) => s.clientLimits.clients],
  ['libvirt_admin_server_max_clients', 'nclients_max: clients allowed at most.', (s) => s.clientLimits.maxClients],
  [
    'libvirt_admin_server_unauth_clients',
    'nclients_unauth: clients waiting for authentication now.',
    (s) => s.clientLimits.unauthClients,
  ],
  [
    'libvirt_admin_server_max_unauth_clients',
    'nclients_unauth_max: clients allowed at most to wait for authentication.',
    (s) => s.clientLimits.maxUnauthClients,
  ],
];

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const KNOWN_ERROR_CODES = new Set<string>(Object.values(ErrorCode));

const SHUTDOWN = adminProcedures.connectDaemonShutdown.name;

/**
 * The outcome label of an RPC call: `ok`, or the error's stable code in lower case (`call_timeout`, `libvirt`).
 * A CONNECT_DAEMON_SHUTDOWN that the daemon answered by closing the connection after reading it (libvirt ≥ 11.2
 * never replies) is `ok`: the shutdown happened, as the 202 of POST /daemon/shutdown says.
 */
export function rpcOutcome(error: Error | undefined, procedure?: string): string {
  if (!error) return 'ok';
  if (procedure === SHUTDOWN && isShutdownClose(error)) return 'ok';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && KNOWN_ERROR_CODES.has(code) ? code.replace(/^ERR_/, '').toLowerCase() : 'error';
}

/**
 * Read the figures of every daemon (each call bounded by `timeoutMs`); an unreachable daemon is `up: false`. An
 * on-demand daemon with no connection open is left out (no series at all): a scrape does not connect to it.
 */
export async function readDaemonFigures(sources: readonly DaemonSource[], timeoutMs: number): Promise<DaemonFigures[]> {
  const read = await Promise.all(
    sources.map(async (source): Promise<DaemonFigures | undefined> => {
      try {
        return await readInBackground(source, async (client, given) => {
          const opts = { signal: given.signal, timeoutMs: Math.min(given.timeoutMs ?? Infinity, timeoutMs) };
          const [version, servers] = await Promise.all([client.getLibVersion(opts), client.listServers(opts)]);
          const figures = await Promise.all(
            servers.map(async ({ name }) => {
              const [threadpool, clientLimits] = await Promise.all([
                client.getThreadpool(name, opts),
                client.getClientLimits(name, opts),
              ]);
              return { name, threadpool, clientLimits };
            }),
          );
          return { daemon: source.name, up: true, version: version.text, servers: figures };
        });
      } catch {
        return { daemon: source.name, up: false, servers: [] };
      }
    }),
  );
  return read.filter((f) => f !== undefined);
}

/** The registry and the instruments the gateway feeds. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly rpcDuration: Histogram<'daemon' | 'procedure' | 'outcome'>;
  private scrape: Promise<DaemonFigures[]> | undefined;

  constructor(private readonly options: MetricsOptions) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'libvirt_admin_gateway_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'libvirt_admin_gateway_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.rpcDuration = new Histogram({
      name: 'libvirt_admin_gateway_rpc_call_duration_seconds',
      help:
        'Time from issuing an admin RPC call to its reply or failure (window wait included), by daemon, procedure ' +
        'and outcome.',
      labelNames: ['daemon', 'procedure', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.daemonGauges();
    if (options.hub) this.hubMetrics(options.hub);
  }

  /** The Content-Type of render(). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format, daemon figures read now. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Count one answered HTTP request. */
  observeRequest(s: RequestSample): void {
    const labels = { method: s.method, route: s.route, status_code: String(s.statusCode) };
    this.httpRequests.inc(labels);
    if (s.durationSeconds !== undefined) this.httpDuration.observe(labels, s.durationSeconds);
  }

  /** An RpcClientOptions.onCall observer that records calls to `daemon`. */
  rpcObserver(daemon: string): RpcCallObserver {
    return (procedure, durationMs, error) =>
      this.rpcDuration.observe({ daemon, procedure, outcome: rpcOutcome(error, procedure) }, durationMs / 1000);
  }

  /**
   * One read of the daemons per scrape: every gauge's collect runs in the same tick of Registry.metrics(), so
   * they share the call in flight, and the next scrape reads again.
   */
  private figures(): Promise<DaemonFigures[]> {
    this.scrape ??= readDaemonFigures(this.options.sources, this.options.scrapeCallTimeoutMs ?? 3000).finally(() => {
      this.scrape = undefined;
    });
    return this.scrape;
  }

  private daemonGauges(): void {
    const registers = [this.registry];
    const metrics = this;
    new Gauge({
      name: 'libvirt_admin_daemon_up',
      help: 'Whether the daemon answered the admin calls of this scrape (1) or not (0).',
      labelNames: ['daemon'],
      registers,
      async collect() {
        this.reset();
        for (const f of await metrics.figures()) this.set({ daemon: f.daemon }, f.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'libvirt_admin_daemon_info',
      help: "The daemon's libvirt version, as a label; always 1.",
      labelNames: ['daemon', 'version'],
      registers,
      async collect() {
        this.reset();
        for (const f of await metrics.figures()) if (f.version) this.set({ daemon: f.daemon, version: f.version }, 1);
      },
    });
    const perServer = (name: string, help: string, pick: (s: ServerFigures) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['daemon', 'server'],
        registers,
        async collect() {
          this.reset();
          for (const f of await metrics.figures()) {
            for (const s of f.servers) this.set({ daemon: f.daemon, server: s.name }, pick(s));
          }
        },
      });
    for (const [name, help, pick] of SERVER_GAUGES) perServer(name, help, pick);
  }

  private hubMetrics(hub: EventHub): void {
    const registers = [this.registry];
    new Gauge({
      name: 'libvirt_admin_gateway_event_subscribers',
      help: 'Clients connected to the event stream now.',
      registers,
      collect() {
        this.set(hub.subscriberCount);
      },
    });
    new Gauge({
      name: 'libvirt_admin_gateway_event_queued',
      help: 'Events waiting in the subscribers\' queues (bounded per subscriber).',
      registers,
      collect() {
        this.set(hub.pendingCount);
      },
    });
    new Counter({
      name: 'libvirt_admin_gateway_events_published_total',
      help: 'Events published on the event stream.',
      registers,
      collect() {
        this.reset();
        this.inc(hub.publishedCount);
      },
    });
    new Counter({
      name: 'libvirt_admin_gateway_event_subscribers_dropped_total',
      help: 'Event stream clients cut off by the gateway, by reason (queue-full, stalled: a reader that stopped).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of hub.droppedCounts) this.inc({ reason }, n);
      },
    });
  }
}
