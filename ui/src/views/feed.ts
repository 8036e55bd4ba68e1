// The live feed: the newest events of the stream on top, each in one line of words.
import type { StreamEvent } from '../events.js';
import { formatTime, h } from '../dom.js';

const KEEP = 100;

/** One line about an event. */
export function describeEvent(event: StreamEvent): string {
  const d = event.data as {
    server?: string;
    client?: { id: number; identity?: { unixUserName?: string; unixProcessId?: number } | null };
    disconnectedBy?: { kind: string; name: string };
    threadpool?: Record<string, number>;
    clientLimits?: Record<string, number>;
    error?: string;
  };
  const who = d.client?.identity?.unixUserName
    ? ` (${d.client.identity.unixUserName}, process ${d.client.identity.unixProcessId ?? '?'})`
    : '';
  switch (event.type) {
    case 'client.connected':
      return `Client ${d.client?.id}${who} connected to ${d.server}`;
    case 'client.disconnected':
      return `Client ${d.client?.id}${who} left ${d.server}${d.disconnectedBy ? `, disconnected by ${d.disconnectedBy.kind} '${d.disconnectedBy.name}'` : ''}`;
    case 'threadpool.changed':
      return `Worker pool of ${d.server}: min ${d.threadpool?.['minWorkers']}, max ${d.threadpool?.['maxWorkers']}, priority ${d.threadpool?.['prioWorkers']}`;
    case 'client-limits.changed':
      return `Client limits of ${d.server}: max ${d.clientLimits?.['maxClients']}, unauthenticated ${d.clientLimits?.['maxUnauthClients']}`;
    case 'logging.changed':
      return 'Logging outputs or filters changed';
    case 'daemon.unreachable':
      return `The daemon cannot be reached: ${d.error ?? ''}`;
    case 'daemon.reachable':
      return 'The daemon answers again';
    case 'resync':
      return 'Some events were missed: everything was read again';
    default:
      return event.type;
  }
}

/** The feed of one daemon's events. */
export class FeedPanel {
  readonly list = h('ol', { class: 'feed', 'data-feed': '' });
  readonly el = h('div', {}, this.list);

  add(event: StreamEvent): void {
    const time = typeof event.data['time'] === 'string' ? event.data['time'] : new Date().toISOString();
    this.list.prepend(
      h(
        'li',
        { 'data-type': event.type },
        h('time', { datetime: time }, formatTime(time)),
        h('span', { class: `type ${event.type.replace('.', '-')}` }, event.type),
        h('span', {}, describeEvent(event)),
      ),
    );
    while (this.list.children.length > KEEP) this.list.lastElementChild?.remove();
  }
}
