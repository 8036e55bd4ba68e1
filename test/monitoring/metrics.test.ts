import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventHub } from '../../src/monitoring/event-hub.js';
import { EventType } from '../../src/monitoring/events.js';
import { FigureSnapshot, type FigureSnapshotOptions } from '../../src/monitoring/figures.js';
import { GatewayMetrics, rpcOutcome } from '../../src/monitoring/metrics.js';
import { Monitor } from '../../src/monitoring/monitor.js';
import { CallTimeoutError, LibvirtError } from '../../src/rpc/errors.js';
import { eventually, retryUntil } from '../helpers/wait.js';
import { FakeDaemon } from './fake-daemon.js';
import { parsePromText, promValue } from './prom-text.js';

/** Metrics over a monitor of `daemons` polling every 10 ms, as the monitoring plugin builds them. */
function monitored(daemons: FakeDaemon[], options: FigureSnapshotOptions = {}) {
  const sources = daemons.map((d) => d.source());
  const monitor = new Monitor(sources, { intervalMs: 10, lingerMs: 0 });
  const figures = new FigureSnapshot(monitor, sources, options);
  const metrics = new GatewayMetrics({ figures });
  const scrape = async () => parsePromText(await metrics.render());
  return { monitor, figures, metrics, scrape, close: () => (figures.close(), monitor.close()) };
}

describe('GatewayMetrics', () => {
  it("serves the monitor's last poll, one metric per figure, with its age", async (t) => {
    const daemon = new FakeDaemon();
    const { scrape, close } = monitored([daemon]);
    t.after(close);
    daemon.connect('libvirtd');
    daemon.connect('libvirtd');
    Object.assign(daemon.server('libvirtd').threadpool, { nWorkers: 7, freeWorkers: 6, jobQueueDepth: 3 });
    // The first scrape waits (briefly) for the first poll; the version is read once, beside the polls.
    const m = await retryUntil(scrape, (m) => m.get('libvirt_admin_daemon_info')!.samples.length === 1, 'the version');
    const lv = { daemon: 'libvirtd', server: 'libvirtd' };
    assert.equal(promValue(m, 'libvirt_admin_daemon_up', { daemon: 'libvirtd' }), 1);
    assert.equal(promValue(m, 'libvirt_admin_daemon_info', { daemon: 'libvirtd', version: '9.0.0' }), 1);
    assert.equal(promValue(m, 'libvirt_admin_threadpool_min_workers', lv), 5);
    assert.equal(promValue(m, 'libvirt_admin_threadpool_max_workers', lv), 20);
    assert.equal(promValue(m, 'libvirt_admin_threadpool_workers', lv), 7);
    assert.equal(promValue(m, 'libvirt_admin_threadpool_free_workers', lv), 6);
    assert.equal(promValue(m, 'libvirt_admin_threadpool_priority_workers', lv), 5);
    assert.equal(promValue(m, 'libvirt_admin_threadpool_job_queue_depth', lv), 3);
    assert.equal(promValue(m, 'libvirt_admin_server_clients', lv), 2);
    assert.equal(promValue(m, 'libvirt_admin_server_max_clients', lv), 5000);
    assert.equal(promValue(m, 'libvirt_admin_server_unauth_clients', lv), 0);
    assert.equal(promValue(m, 'libvirt_admin_server_max_unauth_clients', lv), 20);
    assert.equal(promValue(m, 'libvirt_admin_threadpool_priority_workers', { daemon: 'libvirtd', server: 'admin' }), 0);
    const age = promValue(m, 'libvirt_admin_gateway_snapshot_age_seconds', { daemon: 'libvirtd' });
    assert.ok(age >= 0 && age < 5, `age ${age}`);
    for (const name of [
      'libvirt_admin_daemon_up',
      'libvirt_admin_threadpool_workers',
      'libvirt_admin_gateway_snapshot_age_seconds',
    ]) {
      assert.equal(m.get(name)!.type, 'gauge');
      assert.ok(m.get(name)!.help);
    }
    assert.equal(daemon.calls.get('getLibVersion'), 1, 'the version is read once per reach, not per poll');
    daemon.connect('libvirtd');
    await retryUntil(
      scrape,
      (m) => promValue(m, 'libvirt_admin_server_clients', lv) === 3,
      'the next poll in the next scrape',
    );
  });

  it('shows an unreachable daemon as up 0 with no stale figures, next to a reachable one', async (t) => {
    const down = new FakeDaemon('virtqemud');
    const up = new FakeDaemon('libvirtd');
    const { scrape, close } = monitored([up, down]);
    t.after(close);
    await retryUntil(scrape, (m) => promValue(m, 'libvirt_admin_daemon_up', { daemon: 'virtqemud' }) === 1, 'both up');
    down.down = true;
    const m = await retryUntil(
      scrape,
      (m) => promValue(m, 'libvirt_admin_daemon_up', { daemon: 'virtqemud' }) === 0,
      'down seen',
    );
    assert.equal(promValue(m, 'libvirt_admin_daemon_up', { daemon: 'libvirtd' }), 1);
    assert.equal(
      m.get('libvirt_admin_threadpool_workers')!.samples.filter((s) => s.labels['daemon'] === 'virtqemud').length,
      0,
    );
    assert.ok(m.get('libvirt_admin_daemon_info')!.samples.every((s) => s.labels['daemon'] === 'libvirtd'));
    // The age keeps growing from the last poll that reached it.
    assert.ok(
      m.get('libvirt_admin_gateway_snapshot_age_seconds')!.samples.some((s) => s.labels['daemon'] === 'virtqemud'),
    );
  });

  it('keeps the watchers polling only while scrapes come', async (t) => {
    const daemon = new FakeDaemon();
    const { monitor, scrape, close } = monitored([daemon], { holdMs: 100 });
    t.after(close);
    assert.equal(monitor.isWatching, false);
    await scrape();
    assert.equal(monitor.isWatching, true);
    // holdMs after the last scrape the hold ends, and with nobody else holding or subscribed the watchers stop.
    await eventually(() => !monitor.isWatching, 'the watchers stopped');
  });

  it('exports the process and Node.js runtime metrics', async () => {
    const m = parsePromText(await new GatewayMetrics({}).render());
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'process_open_fds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(m.get(name), name);
    }
    assert.ok(promValue(m, 'process_resident_memory_bytes') > 0);
  });

  it('counts HTTP requests and their latency by method, route pattern and status', async () => {
    const metrics = new GatewayMetrics({});
    const route = '/servers/:server/threadpool';
    metrics.observeRequest({ method: 'GET', route, statusCode: 200, durationSeconds: 0.002 });
    metrics.observeRequest({ method: 'GET', route, statusCode: 200, durationSeconds: 0.3 });
    metrics.observeRequest({ method: 'PATCH', route, statusCode: 412, durationSeconds: 0.01 });
    const m = parsePromText(await metrics.render());
    const get = { method: 'GET', route, status_code: '200' };
    assert.equal(promValue(m, 'libvirt_admin_gateway_http_requests_total', get), 2);
    assert.equal(m.get('libvirt_admin_gateway_http_requests_total')!.type, 'counter');
    // Latency by method and route only: the status code would multiply the bucket lines.
    const timed = { method: 'GET', route };
    assert.equal(promValue(m, 'libvirt_admin_gateway_http_request_duration_seconds_count', timed), 2);
    assert.equal(
      promValue(m, 'libvirt_admin_gateway_http_request_duration_seconds_bucket', { ...timed, le: '0.005' }),
      1,
    );
    assert.equal(promValue(m, 'libvirt_admin_gateway_http_request_duration_seconds_sum', timed), 0.302);
    const buckets = m
      .get('libvirt_admin_gateway_http_request_duration_seconds')!
      .samples.filter((s) => s.name.endsWith('_bucket'));
    assert.equal(buckets.length, 2 * 8, 'two series of seven boundaries and +Inf');
    assert.equal(promValue(m, 'libvirt_admin_gateway_http_requests_total', { method: 'PATCH', status_code: '412' }), 1);
  });

  it('records RPC call latency by daemon, procedure and outcome', async () => {
    const metrics = new GatewayMetrics({});
    const observe = metrics.rpcObserver('libvirtd');
    observe('CONNECT_LIST_SERVERS', 1.5, undefined);
    observe(
      'SERVER_SET_THREADPOOL_PARAMETERS',
      3,
      new LibvirtError('invalid argument', {
        code: 8,
        domain: 0,
        level: 2,
        str1: null,
        str2: null,
        str3: null,
        int1: -1,
        int2: -1,
      }),
    );
    observe('CONNECT_LIST_SERVERS', 5000, new CallTimeoutError('slow'));
    const m = parsePromText(await metrics.render());
    const name = 'libvirt_admin_gateway_rpc_call_duration_seconds_count';
    assert.equal(promValue(m, name, { daemon: 'libvirtd', procedure: 'CONNECT_LIST_SERVERS', outcome: 'ok' }), 1);
    assert.equal(promValue(m, name, { procedure: 'SERVER_SET_THREADPOOL_PARAMETERS', outcome: 'libvirt' }), 1);
    assert.equal(promValue(m, name, { procedure: 'CONNECT_LIST_SERVERS', outcome: 'call_timeout' }), 1);
    assert.equal(promValue(m, 'libvirt_admin_gateway_rpc_call_duration_seconds_sum', { outcome: 'ok' }), 0.0015);
  });

  it('exports the event stream figures', async () => {
    const hub = new EventHub({ queueLimit: 1 });
    const metrics = new GatewayMetrics({ hub });
    hub.subscribe();
    hub.subscribe();
    hub.publish({ type: EventType.DAEMON_REACHABLE, daemon: 'libvirtd' });
    hub.publish({ type: EventType.DAEMON_REACHABLE, daemon: 'libvirtd' }); // both queues overflow
    hub.subscribe();
    const m = parsePromText(await metrics.render());
    assert.equal(promValue(m, 'libvirt_admin_gateway_event_subscribers'), 1);
    assert.equal(promValue(m, 'libvirt_admin_gateway_events_published_total'), 2);
    assert.equal(promValue(m, 'libvirt_admin_gateway_event_subscribers_dropped_total', { reason: 'queue-full' }), 2);
    assert.equal(promValue(m, 'libvirt_admin_gateway_event_queued'), 0);
  });

  it('serves the Prometheus text content type', () => {
    assert.match(new GatewayMetrics({}).contentType, /^text\/plain; version=0\.0\.4/);
  });
});

describe('rpcOutcome', () => {
  it('maps known error codes and nothing else', () => {
    assert.equal(rpcOutcome(undefined), 'ok');
    assert.equal(rpcOutcome(new CallTimeoutError('x')), 'call_timeout');
    assert.equal(rpcOutcome(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'error');
    assert.equal(rpcOutcome(new Error('x')), 'error');
  });
});

describe('parsePromText (the test reader itself)', () => {
  it('rejects what the format forbids', () => {
    const bad = [
      'a 1',
      'a{b="1} 1\n',
      '1a 1\n',
      'a{__x="1"} 1\n',
      'a 1\nb 1\na 2\n',
      'a 1\na 1\n',
      '# TYPE a gauge\n# TYPE a gauge\n',
      'a one\n',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 2\n',
    ];
    for (const text of bad) assert.throws(() => parsePromText(text), Error, JSON.stringify(text));
  });

  it('reads escapes in label values and help', () => {
    const m = parsePromText('# HELP a say \\\\ and \\n\n# TYPE a gauge\na{x="q\\"\\\\\\n"} -Inf\n');
    assert.equal(m.get('a')!.help, 'say \\ and \n');
    assert.deepEqual(m.get('a')!.samples[0], { name: 'a', labels: { x: 'q"\\\n' }, value: -Infinity });
  });
});
