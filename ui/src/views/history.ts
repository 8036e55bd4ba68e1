// The client history of one server as a timeline, newest first: who connected, who left after how long, and who
// disconnected them. A page at a time (cursor), filtered by unix user id if asked.
import { daemonPath, describeError, get } from '../api.js';
import { formatDuration, formatTime, h, replace, statusLine } from '../dom.js';
import { describeIdentity } from './clients.js';

/** One history entry (GET .../client-history). */
interface Entry {
  seq: number;
  event: 'connected' | 'disconnected';
  time: string;
  client: {
    id: number;
    transport: string;
    connectedAt: string;
    identity: {
      unixUserId?: number;
      unixUserName?: string;
      unixProcessId?: number;
      sockAddr?: string;
      saslUserName?: string;
      x509DistinguishedName?: string;
    } | null;
  };
  durationMs?: number;
  disconnectedBy?: { kind: string; name: string; role: string | null };
  gap?: true;
}

interface Page {
  enabled: boolean;
  entries: Entry[];
  nextCursor: string | null;
}

const PAGE = 25;

/** The timeline of one server. */
export class HistoryPanel {
  readonly el: HTMLElement;
  private readonly list = h('ol', { class: 'timeline', 'data-history': '' });
  private readonly more = h(
    'button',
    { type: 'button', hidden: true, on: { click: () => void this.load(true) } },
    'Older entries',
  );
  private readonly uid = h('input', { id: 'history-uid', type: 'number', min: 0, step: 1, inputmode: 'numeric' });
  private readonly status = statusLine();
  private cursor: string | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly daemon: string,
    readonly server: string,
  ) {
    const filter = h(
      'form',
      {
        class: 'filter',
        'aria-label': 'Filter the history',
        on: { submit: (e) => (e.preventDefault(), void this.load(false)) },
      },
      h('label', { for: this.uid.id }, 'Unix user id'),
      this.uid,
      h('button', { type: 'submit' }, 'Filter'),
    );
    this.el = h('div', { class: 'history' }, filter, this.list, this.more, this.status.el);
  }

  /** Reads the newest page again, a moment after the last call (events come in bursts). */
  refreshSoon(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.load(false), 300);
  }

  /** Reads the newest page, or (older) the page after the last one shown. */
  async load(older: boolean): Promise<void> {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (this.uid.value !== '') params.set('uid', this.uid.value);
    if (older && this.cursor !== null) params.set('cursor', this.cursor);
    let page: Page;
    try {
      page = (await get<Page>(`${daemonPath(this.daemon, 'servers', this.server, 'client-history')}?${params}`)).body;
    } catch (err) {
      this.status.error(describeError(err, 'Reading the client history'));
      return;
    }
    this.status.clear();
    if (!page.enabled) {
      this.status.ok('This gateway does not record the client history: start it with --client-history.');
      replace(this.list);
      return;
    }
    const items = page.entries.map((e) => this.item(e));
    if (older) this.list.append(...items);
    else replace(this.list, ...items);
    if (!older && items.length === 0) this.status.ok('Nothing recorded yet for this server.');
    this.cursor = page.nextCursor;
    this.more.hidden = page.nextCursor === null;
  }

  private item(e: Entry): HTMLElement {
    const who = e.client.identity ? describeIdentity(e.client.identity) : 'identity unknown';
    const pid = e.client.identity?.unixProcessId;
    const address = e.client.identity?.sockAddr;
    const what =
      e.event === 'connected'
        ? `Client ${e.client.id} connected`
        : `Client ${e.client.id} disconnected after ${formatDuration(e.durationMs ?? 0)}`;
    return h(
      'li',
      { class: `entry ${e.event}`, 'data-seq': e.seq, 'data-event': e.event, 'data-client': e.client.id },
      h('time', { datetime: e.time }, formatTime(e.time)),
      h('span', { class: 'what' }, what),
      h(
        'span',
        { class: 'who' },
        `${who} over ${e.client.transport}${pid !== undefined ? `, process ${pid}` : ''}${address ? `, from ${address}` : ''}`,
      ),
      e.disconnectedBy
        ? h('span', { class: 'by' }, `disconnected by ${e.disconnectedBy.kind} '${e.disconnectedBy.name}'`)
        : null,
      e.gap
        ? h(
            'span',
            { class: 'gap' },
            e.event === 'connected'
              ? '(already connected when watching began)'
              : '(left while the gateway was not watching)',
          )
        : null,
    );
  }
}
