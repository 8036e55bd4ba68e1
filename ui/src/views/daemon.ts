// Everything the page shows of one daemon: its servers (gauges and plots), the clients and history of the server
// picked, its logging, and its live events. Live figures come from the samples the gateway keeps (read every
// watch interval, only the new ones); lists are read again when an event says they changed.
import { daemonPath, describeError, get, type Caller } from '../api.js';
import { h, replace } from '../dom.js';
import type { StreamEvent } from '../events.js';
import { ClientsPanel } from './clients.js';
import { FeedPanel } from './feed.js';
import { HistoryPanel } from './history.js';
import { LoggingPanel } from './logging.js';
import { ServerCard, type Figures, type ServerJson } from './servers.js';

/** GET .../samples. */
interface SamplesJson {
  intervalMs: number;
  capacity: number;
  watching: boolean;
  series: { time: number[] } & Record<keyof Figures, number[]>;
}

/** The view of one daemon. */
export class DaemonView {
  readonly el: HTMLElement;
  private readonly cards = new Map<string, ServerCard>();
  private readonly lastSample = new Map<string, number>();
  private readonly feed = new FeedPanel();
  private readonly logging: LoggingPanel;
  private readonly serverPick: HTMLSelectElement;
  private readonly serverPanels = h('div');
  private clients: ClientsPanel | null = null;
  private history: HistoryPanel | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  private constructor(
    readonly daemon: string,
    private readonly caller: Caller,
    servers: string[],
    capacity: number,
  ) {
    this.logging = new LoggingPanel(daemon, caller.role);
    for (const server of servers) this.cards.set(server, new ServerCard(daemon, server, caller.role, capacity));
    this.serverPick = h(
      'select',
      { id: 'server-pick', on: { change: () => this.pickServer(this.serverPick.value) } },
      ...servers.map((s) => h('option', { value: s }, s)),
    );
    this.el = h(
      'div',
      { class: 'daemon', 'data-daemon': daemon },
      h(
        'section',
        { 'aria-labelledby': 'h-servers' },
        h('h2', { id: 'h-servers' }, `Servers of ${daemon}`),
        h('div', { class: 'cards' }, ...[...this.cards.values()].map((c) => c.el)),
      ),
      h(
        'div',
        { class: 'two' },
        h(
          'section',
          { 'aria-labelledby': 'h-clients', class: 'wide' },
          h('h2', { id: 'h-clients' }, 'Clients'),
          h('div', { class: 'field inline' }, h('label', { for: 'server-pick' }, 'Server'), this.serverPick),
          this.serverPanels,
        ),
        h('section', { 'aria-labelledby': 'h-feed' }, h('h2', { id: 'h-feed' }, 'Live events'), this.feed.el),
      ),
      h(
        'section',
        { 'aria-labelledby': 'h-logging' },
        h('h2', { id: 'h-logging' }, `Logging of ${daemon}`),
        this.logging.el,
      ),
    );
  }

  /** Reads the daemon's servers and builds its view. */
  static async open(daemon: string, caller: Caller): Promise<DaemonView> {
    const servers = (await get<{ servers: Array<{ name: string }> }>(daemonPath(daemon, 'servers'))).body.servers.map(
      (s) => s.name,
    );
    const first =
      servers[0] === undefined
        ? null
        : (await get<SamplesJson>(daemonPath(daemon, 'servers', servers[0], 'samples') + '?limit=1')).body;
    const view = new DaemonView(daemon, caller, servers, first?.capacity ?? 3600);
    await Promise.all([...view.cards.keys()].map((s) => view.readServer(s)));
    view.pickServer(servers.find((s) => s !== 'admin') ?? servers[0] ?? '');
    void view.logging.refresh();
    void view.pollSamples(first?.intervalMs ?? 1000);
    return view;
  }

  /** Takes one event of the stream (of any daemon). */
  onEvent(event: StreamEvent): void {
    if (event.type === 'resync') {
      this.feed.add(event);
      return this.reloadAll();
    }
    if (event.data['daemon'] !== this.daemon) return;
    this.feed.add(event);
    const server = event.data['server'];
    if (event.type.startsWith('client.') && this.clients !== null && server === this.clients.server) {
      void this.clients.refresh();
      this.history?.refreshSoon();
    }
    if ((event.type === 'threadpool.changed' || event.type === 'client-limits.changed') && typeof server === 'string')
      void this.readServer(server);
    if (event.type === 'logging.changed') void this.logging.refresh();
    if (event.type === 'daemon.reachable') this.reloadAll();
  }

  /** Stops reading samples and drops the plots. */
  destroy(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const card of this.cards.values()) card.destroy();
  }

  private reloadAll(): void {
    for (const server of this.cards.keys()) void this.readServer(server);
    void this.clients?.refresh();
    void this.history?.load(false);
    void this.logging.refresh();
  }

  private pickServer(server: string): void {
    if (server === '') return;
    this.serverPick.value = server;
    this.clients = new ClientsPanel(this.daemon, server, this.caller.role);
    this.history = new HistoryPanel(this.daemon, server);
    replace(
      this.serverPanels,
      this.clients.el,
      h(
        'section',
        { 'aria-labelledby': 'h-history' },
        h('h3', { id: 'h-history' }, `Client history of ${server}`),
        this.history.el,
      ),
    );
    void this.clients.refresh();
    void this.history.load(false);
  }

  /** Reads a server's figures straight from the daemon (GET /servers/{server}). */
  private async readServer(server: string): Promise<void> {
    const card = this.cards.get(server);
    if (!card) return;
    try {
      const { threadpool, clientLimits } = (await get<ServerJson>(daemonPath(this.daemon, 'servers', server))).body;
      card.show({ ...threadpool, ...clientLimits });
    } catch (err) {
      showNotice(describeError(err, `Reading server ${server}`));
    }
  }

  /** Every interval: the new samples of each server, for its plot and gauges. */
  private async pollSamples(intervalMs: number): Promise<void> {
    if (this.closed) return;
    await Promise.all(
      [...this.cards].map(async ([server, card]) => {
        const after = this.lastSample.get(server);
        const query = after === undefined ? '' : `?after=${after}`;
        try {
          const { series } = (await get<SamplesJson>(daemonPath(this.daemon, 'servers', server, 'samples') + query))
            .body;
          const n = series.time.length;
          if (n === 0 || this.closed) return;
          this.lastSample.set(server, series.time[n - 1]!);
          card.plotSamples(series);
          // The newest sample is newer than the last read (the watcher polls the daemon every interval).
          card.show(Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v[n - 1]!])) as unknown as Figures);
        } catch {
          // Shown by the next successful read; a failing daemon is also announced by the event stream.
        }
      }),
    );
    this.timer = setTimeout(() => void this.pollSamples(intervalMs), intervalMs);
  }
}

/** Shows a message above the page (errors that belong to no form). */
export function showNotice(text: string | null): void {
  const notice = document.getElementById('notice');
  if (!notice) return;
  notice.textContent = text ?? '';
  notice.hidden = text === null;
}
