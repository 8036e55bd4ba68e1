// The clients of one server: who they are (the daemon's identity of each), since when, and for operators a
// disconnect button that asks first. The list is read again whenever the event stream says a client came or went.
import { allows, change, daemonPath, describeError, get, type Role } from '../api.js';
import { confirmAction, formatTime, h, replace, statusLine } from '../dom.js';

/** GET .../clients. */
interface ClientPage {
  clients: Array<{ id: number; transport: string; connectedAt: string }>;
  nextCursor: string | null;
}

/** GET .../clients/{id}. */
export interface ClientIdentity {
  id: number;
  transport: string;
  connectedAt: string;
  readonly?: boolean;
  unixUserId?: number;
  unixUserName?: string;
  unixGroupName?: string;
  processId?: number;
  saslUserName?: string;
  x509DistinguishedName?: string;
  socketAddress?: string;
}

const PAGE = 100;

/** Who a client is, in a few words. */
export function describeIdentity(identity: {
  unixUserName?: string;
  unixUserId?: number;
  saslUserName?: string;
  x509DistinguishedName?: string;
}): string {
  const parts: string[] = [];
  if (identity.unixUserName !== undefined || identity.unixUserId !== undefined) {
    parts.push(`${identity.unixUserName ?? '?'} (uid ${identity.unixUserId ?? '?'})`);
  }
  if (identity.saslUserName) parts.push(`SASL ${identity.saslUserName}`);
  if (identity.x509DistinguishedName) parts.push(identity.x509DistinguishedName);
  return parts.join(', ') || 'unknown';
}

/** The client table of one server. */
export class ClientsPanel {
  readonly el: HTMLElement;
  private readonly body = h('tbody');
  private readonly caption = h('caption');
  private readonly status = statusLine();
  private readonly identities = new Map<string, ClientIdentity | null>();
  private loading: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly daemon: string,
    readonly server: string,
    private readonly role: Role,
  ) {
    const headers = [
      'Id',
      'Transport',
      'Connected since',
      'User',
      'Process',
      'Address',
      ...(allows(role, 'operator') ? ['Action'] : []),
    ];
    this.el = h(
      'div',
      { class: 'clients' },
      h(
        'table',
        { class: 'list', 'data-clients': server },
        this.caption,
        h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
        this.body,
      ),
      this.status.el,
    );
  }

  /** Reads the list again (one read at a time; a request during a read makes one more read after it). */
  refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load().finally(() => {
      this.loading = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    let page: ClientPage;
    try {
      page = (await get<ClientPage>(`${daemonPath(this.daemon, 'servers', this.server, 'clients')}?limit=${PAGE}`))
        .body;
    } catch (err) {
      this.status.error(describeError(err, 'Reading the clients'));
      return;
    }
    await Promise.all(page.clients.map((c) => this.identify(c)));
    const more = page.nextCursor === null ? '' : ` (the ${PAGE} oldest shown)`;
    this.caption.textContent = `Clients of ${this.server}: ${page.clients.length}${more}`;
    replace(this.body, ...page.clients.map((c) => this.row(c)));
  }

  private async identify(client: { id: number; connectedAt: string }): Promise<void> {
    const key = `${client.id}@${client.connectedAt}`;
    if (this.identities.has(key)) return;
    try {
      const identity = (
        await get<ClientIdentity>(daemonPath(this.daemon, 'servers', this.server, 'clients', client.id))
      ).body;
      this.identities.set(key, identity);
    } catch {
      // Gone meanwhile, or no identity yet (libvirtd has none before a client's first call): shown as unknown.
    }
  }

  private row(client: { id: number; transport: string; connectedAt: string }): HTMLElement {
    const identity = this.identities.get(`${client.id}@${client.connectedAt}`);
    const cells = [
      h('td', { 'data-field': 'id' }, client.id),
      h('td', {}, client.transport),
      h('td', {}, h('time', { datetime: client.connectedAt }, formatTime(client.connectedAt))),
      h('td', {}, identity ? describeIdentity(identity) : 'unknown'),
      h('td', {}, identity?.processId ?? ''),
      h('td', {}, identity?.socketAddress ?? ''),
    ];
    if (allows(this.role, 'operator')) {
      const label = `Disconnect client ${client.id}`;
      cells.push(
        h(
          'td',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'danger',
              'aria-label': label,
              on: { click: () => void this.disconnect(client.id, identity) },
            },
            'Disconnect',
          ),
        ),
      );
    }
    return h('tr', { 'data-client': client.id }, ...cells);
  }

  private async disconnect(id: number, identity: ClientIdentity | null | undefined): Promise<void> {
    const who = identity
      ? `${describeIdentity(identity)}${identity.processId !== undefined ? `, process ${identity.processId}` : ''}`
      : 'identity unknown';
    if (
      !(await confirmAction(
        `Disconnect client ${id} (${who}) from server ${this.server} of ${this.daemon}? The daemon closes its connection at once.`,
        'Disconnect',
      ))
    )
      return;
    try {
      // Clients carry no ETag: an id is never reused while the daemon runs, so it names this very connection.
      await change('DELETE', daemonPath(this.daemon, 'servers', this.server, 'clients', id));
      this.status.ok(`Client ${id} was disconnected.`);
      this.body.querySelector(`tr[data-client="${id}"]`)?.remove();
      void this.refresh();
    } catch (err) {
      this.status.error(describeError(err, `Disconnecting client ${id}`));
    }
  }
}
