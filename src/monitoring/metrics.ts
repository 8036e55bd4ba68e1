import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isShutdownClose } from '../admin/client.js';
import { adminProcedures } from '../admin/procedures.js';
import { ErrorCode } from '../rpc/errors.js';
import type { EventHub } from './event-hub.js';
import type { DaemonFigures, ServerFigures } from './figures.js';

/**
 * The gateway's Prometheus metrics. Daemon figures come from the monitor's last poll of each daemon (figures.ts),
 * so a scrape makes no daemon call and answers at once whatever the daemons do; each daemon's figures carry
 * their age. Each figure is a metric of its own rather than one metric with a `kind` label, because summing
 * min, max and free workers means nothing (Prometheus naming guidance: a sum over a label's values should make
 * sense). The process and Node.js runtime metrics are prom-client's defaults (process_*, nodejs_*).
 */

/** Where the daemon figures of a scrape come from (a FigureSnapshot). */
export interface FigureSource {
  read(): Promise<DaemonFigures[]>;
}

/** The daemon figures and event hub whose figures are exported. */
export interface MetricsOptions {
  /** The daemons' last figures; without it, no daemon metrics. */
  figures?: FigureSource;
  /** The event hub whose subscriber figures are exported. */
  hub?: EventHub;
}

/** What credential reloads report to the metrics (file-watch.ts and SIGHUP feed it). */
export interface ReloadCounts {
  /** Reloads by file and result (`success`, `failure`). */
  readonly counts: ReadonlyMap<string, { success: number; failure: number; lastSuccess?: number }>;
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

/** The per-server gauges: name, help, and the figure (libvirt's typed parameter named in the help). */
const SERVER_GAUGES: Array<[string, string, (s: ServerFigures) => number]> = [
  [
    'libvirt_admin_threadpool_min_workers',
    'Threadpool minWorkers: workers kept alive at least.',
    (s) => s.threadpool.minWorkers,
  ],
  [
    'libvirt_admin_threadpool_max_workers',
    'Threadpool maxWorkers: workers allowed at most.',
    (s) => s.threadpool.maxWorkers,
  ],
  ['libvirt_admin_threadpool_workers', 'Threadpool nWorkers: workers that exist now.', (s) => s.threadpool.nWorkers],
  [
    'libvirt_admin_threadpool_free_workers',
    'Threadpool freeWorkers: workers idle now.',
    (s) => s.threadpool.freeWorkers,
  ],
  [
    'libvirt_admin_threadpool_priority_workers',
    'Threadpool prioWorkers: priority workers.',
    (s) => s.threadpool.prioWorkers,
  ],
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

// Seven boundaries from 5 ms to 10 s: enough to see a slow route or daemon, without the 15 lines per series that
// a fine-grained ladder costs (with every route and status that was ~1,300 lines per scrape).
const LATENCY_BUCKETS = [0.005, 0.025, 0.1, 0.5, 1, 2.5, 10];
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

/** The registry and the instruments the gateway feeds. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;
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
      // Not by status code: the counter has it, and each label value multiplies the bucket lines.
      help: 'Time to answer an HTTP request, by method and route pattern.',
      labelNames: ['method', 'route'],
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
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters (promtool check metrics refuses them); the same figures by type stay.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
    if (options.figures) this.daemonGauges(options.figures);
    if (options.hub) this.hubMetrics(options.hub);
  }

  /** The Content-Type of render(). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format, daemon figures as last polled. */
  async render(): Promise<string> {
    // prom-client writes NaN as `Nan` (the event loop figures before their first sample); the text format spells
    // it `NaN`, and strict readers refuse anything else.
    return (await this.registry.metrics()).replace(/ Nan$/gm, ' NaN');
  }

  /** Count one answered HTTP request. */
  observeRequest(s: RequestSample): void {
    this.httpRequests.inc({ method: s.method, route: s.route, status_code: String(s.statusCode) });
    if (s.durationSeconds !== undefined)
      this.httpDuration.observe({ method: s.method, route: s.route }, s.durationSeconds);
  }

  /** An RpcClientOptions.onCall observer that records calls to `daemon`. */
  rpcObserver(daemon: string): RpcCallObserver {
    return (procedure, durationMs, error) =>
      this.rpcDuration.observe({ daemon, procedure, outcome: rpcOutcome(error, procedure) }, durationMs / 1000);
  }

  /** One read of the snapshot per scrape: every gauge's collect runs in the same tick of Registry.metrics(). */
  private figures(source: FigureSource): Promise<DaemonFigures[]> {
    this.scrape ??= source.read().finally(() => {
      this.scrape = undefined;
    });
    return this.scrape;
  }

  private daemonGauges(source: FigureSource): void {
    const registers = [this.registry];
    const figures = () => this.figures(source);
    new Gauge({
      name: 'libvirt_admin_daemon_up',
      help: "Whether the monitor's last poll of the daemon reached it (1) or not (0).",
      labelNames: ['daemon'],
      registers,
      async collect() {
        this.reset();
        for (const f of await figures()) this.set({ daemon: f.daemon }, f.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'libvirt_admin_gateway_snapshot_age_seconds',
      help: "Seconds since the monitor's last successful poll of the daemon, whose figures this scrape shows.",
      labelNames: ['daemon'],
      registers,
      async collect() {
        this.reset();
        const now = Date.now();
        for (const f of await figures())
          if (f.at !== undefined) this.set({ daemon: f.daemon }, Math.max(0, now - f.at) / 1000);
      },
    });
    new Gauge({
      name: 'libvirt_admin_daemon_info',
      help: "The daemon's libvirt version, as a label; always 1.",
      labelNames: ['daemon', 'version'],
      registers,
      async collect() {
        this.reset();
        for (const f of await figures()) if (f.up && f.version) this.set({ daemon: f.daemon, version: f.version }, 1);
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
          for (const f of await figures()) {
            for (const s of f.servers) this.set({ daemon: f.daemon, server: s.name }, pick(s));
          }
        },
      });
    for (const [name, help, pick] of SERVER_GAUGES) perServer(name, help, pick);
  }

  /** Export the outcomes of credential reloads (called once, by the server that owns the reloads). */
  exportReloads(reloads: ReloadCounts): void {
    const registers = [this.registry];
    new Counter({
      name: 'libvirt_admin_gateway_credential_reloads_total',
      help: 'Reloads of a credential file (TLS certificate, tokens, client roles), by file and result (success, failure).',
      labelNames: ['file', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [file, n] of reloads.counts) {
          this.inc({ file, result: 'success' }, n.success);
          this.inc({ file, result: 'failure' }, n.failure);
        }
      },
    });
    new Gauge({
      name: 'libvirt_admin_gateway_credential_reload_last_success_timestamp_seconds',
      help: 'When a credential file was last loaded successfully (start-up included), in seconds since the epoch.',
      labelNames: ['file'],
      registers,
      collect() {
        this.reset();
        for (const [file, n] of reloads.counts)
          if (n.lastSuccess !== undefined) this.set({ file }, n.lastSuccess / 1000);
      },
    });
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
      help: "Events waiting in the subscribers' queues (bounded per subscriber).",
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
