// The event stream against a real libvirtd: clients that come and go seen within one watch period by 200
// concurrent subscribers, one watcher per daemon, gateway changes published once, a subscriber that stops
// reading cut off while the others go on, memory bounded, Last-Event-ID resumption, reachability.
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import request from 'supertest';
import { openRawClients } from '../harness/raw-clients.js';
import { GENERATIONS, startRealGateway, type RealGateway } from '../http/gateway.js';
import { parsePromText, promValue } from './prom-text.js';
import { SseClient } from './sse-client.js';
import { holdsFor, until } from '../helpers/wait.js';
import { logging } from '../../src/resources/logging.js';

const PERIOD = 1000; // the default watch interval
const SLACK = 750; // one poll's own duration plus delivery
const SUBSCRIBERS = 200;
const QUEUE_LIMIT = 256;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

for (const { generation, libvirt } of GENERATIONS)
  describe(`/events against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    let base: string;
    let subscribers: SseClient[] = [];

    before(async () => {
      gw = await startRealGateway(
        { monitoring: { watchIntervalMs: PERIOD, hub: { queueLimit: QUEUE_LIMIT } } },
        generation,
      );
      base = await gw.app.listen({ host: '127.0.0.1', port: 0 });
      // Two kinds of filter, half each: by daemon, and by daemon, server and type (repeated parameters).
      const urls = [
        `${base}/events?daemon=libvirtd`,
        `${base}/events?daemon=libvirtd&server=libvirtd&type=client.connected&type=client.disconnected`,
      ];
      subscribers = await Promise.all(Array.from({ length: SUBSCRIBERS }, (_, i) => SseClient.open(urls[i % 2]!)));
    });
    after(async () => {
      for (const s of subscribers) s.close();
      await gw?.close();
    });

    const clientEvents = (s: SseClient, type: string, id: number) =>
      s.find(type, (d) => d['server'] === 'libvirtd' && (d['client'] as { id: number }).id === id);
    const scrape = async () => parsePromText((await request(gw.app.server).get('/metrics').expect(200)).text);

    it('opens every stream as text/event-stream', () => {
      assert.equal(gw.app.monitoring.monitor.hub.subscriberCount, SUBSCRIBERS);
      for (const s of subscribers) {
        assert.equal(s.response.statusCode, 200);
        assert.match(s.response.headers['content-type'] ?? '', /^text\/event-stream/);
        assert.equal(s.response.headers['cache-control'], 'no-cache, no-transform');
      }
    });

    it('shows a client connecting and disconnecting to all 200 subscribers, each within one watch period', async () => {
      const started = Date.now();
      const raw = await openRawClients(gw.daemons.clientSocket, 1);
      const id = Math.max(...(await listClientIds('libvirtd')));
      await Promise.all(
        subscribers.map((s) =>
          s.until(() => clientEvents(s, 'client.connected', id).length === 1, PERIOD + SLACK, 'connected'),
        ),
      );
      const connectedBy = Math.max(...subscribers.map((s) => clientEvents(s, 'client.connected', id)[0]!.at));
      assert.ok(connectedBy - started <= PERIOD + SLACK, `connected seen after ${connectedBy - started} ms`);

      const closedAt = Date.now();
      raw.close();
      await Promise.all(
        subscribers.map((s) =>
          s.until(() => clientEvents(s, 'client.disconnected', id).length === 1, PERIOD + SLACK, 'disconnected'),
        ),
      );
      const disconnectedBy = Math.max(...subscribers.map((s) => clientEvents(s, 'client.disconnected', id)[0]!.at));
      assert.ok(disconnectedBy - closedAt <= PERIOD + SLACK, `disconnected seen after ${disconnectedBy - closedAt} ms`);

      for (const s of subscribers) {
        const [arrived] = clientEvents(s, 'client.connected', id);
        const [left] = clientEvents(s, 'client.disconnected', id);
        assert.ok(Number(left!.id) > Number(arrived!.id), 'ids increase');
        const gone = JSON.parse(left!.data) as {
          daemon: string;
          client: { transport: string; identity: Record<string, unknown> };
        };
        assert.equal(gone.daemon, 'libvirtd');
        assert.equal(gone.client.transport, 'unix');
        // The identity read while it was connected: this very process.
        assert.equal(gone.client.identity['unixProcessId'], process.pid);
        assert.equal(gone.client.identity['unixUserId'], process.getuid!());
      }
    });

    it('polls each daemon once per period however many subscribers there are', async () => {
      const listServers = async () => {
        const m = await scrape();
        const count = (daemon: string) =>
          promValue(m, 'libvirt_admin_gateway_rpc_call_duration_seconds_count', {
            daemon,
            procedure: 'CONNECT_LIST_SERVERS',
            outcome: 'ok',
          });
        return { libvirtd: count('libvirtd'), virtlogd: count('virtlogd') };
      };
      const before = await listServers();
      await holdsFor('three poll periods pass', 3 * PERIOD);
      const after = await listServers();
      for (const daemon of ['libvirtd', 'virtlogd'] as const) {
        const polls = after[daemon] - before[daemon];
        // A scrape lists servers once too; 200 watchers would make it some 600.
        assert.ok(polls >= 2 && polls <= 5, `${daemon}: ${polls} CONNECT_LIST_SERVERS in three periods`);
      }
    });

    it('publishes a change made through the gateway at once, and only once', async () => {
      // A starting point of its own (before the stream opens, so its event is not seen).
      await request(gw.app.server).patch('/servers/libvirtd/threadpool').send({ maxWorkers: 20 }).expect(200);
      const watcher = await SseClient.open(`${base}/events?type=threadpool.changed`);
      try {
        const started = Date.now();
        await request(gw.app.server).patch('/servers/libvirtd/threadpool').send({ maxWorkers: 23 }).expect(200);
        await watcher.until(() => watcher.messages.length === 1, PERIOD / 2, 'threadpool.changed');
        assert.ok(Date.now() - started < PERIOD / 2, 'without waiting for a poll');
        const event = JSON.parse(watcher.messages[0]!.data) as {
          threadpool: { maxWorkers: number };
          previous: { maxWorkers: number };
        };
        assert.equal(event.threadpool.maxWorkers, 23);
        assert.equal(event.previous.maxWorkers, 20);
        await holdsFor('the watcher does not report it again', 2 * PERIOD + SLACK, () => watcher.messages.length === 1);
        // A change made behind the gateway's back is found by the watcher.
        await gw.virtAdmin('srv-threadpool-set', 'libvirtd', '--max-workers', '21');
        await watcher.until(() => watcher.messages.length === 2, PERIOD + SLACK, 'change made by virt-admin');
      } finally {
        watcher.close();
      }
    });

    it('cuts off a subscriber that stops reading while the others go on, with memory bounded', async () => {
      const hub = gw.app.monitoring.monitor.hub;
      // A client that sends its request and never reads a byte of the answer.
      const stalled = await stalledSubscriber(base);
      await until(() => hub.subscriberCount === SUBSCRIBERS + 1, 2000);
      gc();
      const heapBefore = process.memoryUsage().heapUsed;

      // Events only the stalled subscriber wants (the others filter on libvirtd): large, so buffers fill fast.
      const big = 'x'.repeat(8000);
      let published = 0;
      const flood = async (n: number) => {
        for (let i = 0; i < n; i++) {
          gw.app.monitoring.monitor.publish('virtlogd', {
            kind: 'settings',
            resource: logging,
            target: { daemon: 'virtlogd' },
            settings: { outputs: `${big}${published++}`, filters: '' },
          });
          if (i % 50 === 49) await tick();
        }
      };
      let maxPending = 0;
      while (hub.droppedCounts.get('queue-full') !== 1 && published < 20_000) {
        await flood(100);
        maxPending = Math.max(maxPending, hub.pendingCount);
      }
      assert.equal(hub.droppedCounts.get('queue-full'), 1, `not dropped after ${published} events`);
      assert.equal(hub.subscriberCount, SUBSCRIBERS, 'only the stalled one is gone');
      assert.ok(maxPending <= QUEUE_LIMIT + 1, `at most one queue's worth waited (${maxPending})`);
      // Keep publishing well past what kernel buffers and queues could hold: the heap must not follow.
      await flood(10_000);
      gc();
      const grown = process.memoryUsage().heapUsed - heapBefore;
      const publishedBytes = published * big.length;
      assert.ok(
        grown < 40 * 1024 * 1024,
        `heap grew ${Math.round(grown / 1048576)} MiB for ${Math.round(publishedBytes / 1048576)} MiB published`,
      );
      // The stalled client finds its connection closed once it looks.
      stalled.resume();
      await until(() => stalled.destroyed || stalled.readableEnded, 5000);
      const m = await scrape();
      assert.equal(promValue(m, 'libvirt_admin_gateway_event_subscribers_dropped_total', { reason: 'queue-full' }), 1);
      assert.equal(promValue(m, 'libvirt_admin_gateway_event_subscribers'), SUBSCRIBERS);

      // The others never saw the flood, and still get what comes next.
      const raw = await openRawClients(gw.daemons.clientSocket, 1);
      const id = Math.max(...(await listClientIds('libvirtd')));
      await Promise.all(
        subscribers.map((s) =>
          s.until(
            () => clientEvents(s, 'client.connected', id).length === 1,
            PERIOD + SLACK,
            'connected after the drop',
          ),
        ),
      );
      raw.close();
      for (const s of subscribers) assert.equal(s.find('logging.changed').length, 0);
    });

    it('replays missed events after Last-Event-ID, and says resync when it cannot', async () => {
      const first = subscribers[0]!;
      const raw = await openRawClients(gw.daemons.clientSocket, 1);
      const id = Math.max(...(await listClientIds('libvirtd')));
      await first.until(() => clientEvents(first, 'client.connected', id).length === 1, PERIOD + SLACK);
      const lastSeen = clientEvents(first, 'client.connected', id)[0]!.id!;
      raw.close();
      await first.until(() => clientEvents(first, 'client.disconnected', id).length === 1, PERIOD + SLACK);
      // A client that went away after `lastSeen` comes back and is told what happened meanwhile.
      const resumed = await SseClient.open(`${base}/events?daemon=libvirtd`, { 'last-event-id': lastSeen });
      try {
        await resumed.until(() => clientEvents(resumed, 'client.disconnected', id).length === 1, 1000, 'replay');
        assert.equal(resumed.find('resync').length, 0);
      } finally {
        resumed.close();
      }
      const stranger = await SseClient.open(`${base}/events`, { 'last-event-id': '12' });
      try {
        await stranger.until(() => stranger.find('resync').length === 1, 1000, 'resync');
        const resync = JSON.parse(stranger.find('resync')[0]!.data) as { reason: string; lastEventId: number };
        assert.equal(resync.reason, 'expired');
        assert.equal(String(resync.lastEventId), stranger.find('resync')[0]!.id);
      } finally {
        stranger.close();
      }
    });

    it('reports a daemon going away and coming back', async () => {
      const watcher = await SseClient.open(
        `${base}/events?daemon=virtlogd&type=daemon.unreachable&type=daemon.reachable`,
      );
      try {
        await gw.daemons.kill('virtlogd');
        await watcher.until(() => watcher.find('daemon.unreachable').length === 1, PERIOD + SLACK, 'unreachable');
        await gw.daemons.start('virtlogd');
        await watcher.until(() => watcher.find('daemon.reachable').length === 1, 3 * PERIOD, 'reachable');
      } finally {
        watcher.close();
      }
    });

    it('refuses an unknown daemon or event type', async () => {
      await request(gw.app.server).get('/events?daemon=nosuch').expect(404);
      await request(gw.app.server).get('/events?type=client.exploded').expect(400);
    });

    async function listClientIds(server: string): Promise<number[]> {
      const res = await request(gw.app.server).get(`/servers/${server}/clients`).expect(200);
      return (res.body.clients as Array<{ id: number }>).map((c) => c.id);
    }
  });

/** An SSE request on a raw socket that is never read from. */
async function stalledSubscriber(base: string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  const socket = createConnection({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.write(`GET /events HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`);
  socket.pause();
  return socket;
}
