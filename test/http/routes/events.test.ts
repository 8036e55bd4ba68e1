import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { parsePromText, promValue } from '../../monitoring/prom-text.js';
import { SseClient } from '../../monitoring/sse-client.js';
import { retryUntil } from '../../helpers/wait.js';
import { startRealGateway, type RealGateway } from '../gateway.js';

describe('/events: the HTTP side', () => {
  let gw: RealGateway;
  let base: string;
  before(async () => {
    gw = await startRealGateway({ monitoring: { watchIntervalMs: 200 } });
    base = await gw.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => gw?.close());

  it('keeps the headers hooks set (request id, security headers) next to the stream headers', async () => {
    const s = await SseClient.open(`${base}/events`);
    try {
      assert.match(String(s.response.headers['x-request-id']), /\S/);
      assert.equal(s.response.headers['x-content-type-options'], 'nosniff');
      assert.equal(s.response.headers['x-accel-buffering'], 'no');
      await s.until(() => s.comments.includes('stream open'), 1000, 'opening comment');
    } finally {
      s.close();
    }
  });

  it('answers HEAD with the stream headers and an end', async () => {
    const res = await request(gw.app.server).head('/events').expect(200);
    assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
    assert.equal(gw.app.monitoring.monitor.hub.subscriberCount, 0);
  });

  it('counts a stream as a request of its route without timing it', async () => {
    const s = await SseClient.open(`${base}/events?type=daemon.reachable`);
    s.close();
    await s.closed;
    // The stream is counted when its response ends, which the client may see first: poll the metrics.
    const labels = { method: 'GET', route: '/events', status_code: '200' };
    const m = await retryUntil(
      async () => parsePromText((await request(gw.app.server).get('/metrics').expect(200)).text),
      (metrics) => promValue(metrics, 'libvirt_admin_gateway_http_requests_total', labels) >= 1,
      'the closed stream counted in libvirt_admin_gateway_http_requests_total',
    );
    const timed = m
      .get('libvirt_admin_gateway_http_request_duration_seconds')!
      .samples.filter((x) => x.labels['route'] === '/events' && x.labels['method'] === 'GET');
    assert.deepEqual(timed, []);
  });

  it('ends open streams when the gateway shuts down, without waiting for their clients', async () => {
    const streams = await Promise.all([
      SseClient.open(`${base}/events`),
      SseClient.open(`${base}/events?daemon=virtlogd`),
    ]);
    await Promise.all(streams.map((s) => s.until(() => s.comments.includes('stream open'), 1000)));
    const started = Date.now();
    await gw.app.close();
    assert.ok(Date.now() - started < 5000, `close took ${Date.now() - started} ms`);
    await Promise.all(streams.map((s) => s.closed));
    assert.equal(gw.app.monitoring.monitor.hub.subscriberCount, 0);
    assert.equal(gw.app.monitoring.monitor.isWatching, false);
  });
});
