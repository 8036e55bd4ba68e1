// /metrics with a daemon that accepts and never answers (issue 14: every scrape took 8-9 s, against Prometheus'
// 10 s timeout): the scrape serves the monitor's last poll and answers at once; the whole exposition passes the
// strict test reader and `promtool check metrics` (required under CI=true; elsewhere only where it is installed).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { EmbeddedDaemon } from '../../src/daemon/index.js';
import { buildGateway } from '../http/gateway.js';
import { retryUntil } from '../helpers/wait.js';
import { parsePromText, promValue } from './prom-text.js';

// Generous: the point is "not the call timeout" (5 s for a watcher poll), on a machine shared with other jobs.
const SCRAPE_BOUND_MS = 1000;

describe('/metrics with a daemon that never answers', () => {
  let dir: string;
  let silent: Server;
  const held: Socket[] = [];
  let embedded: EmbeddedDaemon;
  let app: FastifyInstance;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silent-daemon-'));
    const socketPath = join(dir, 'silent.sock');
    // Reads whatever comes and stays silent, as a daemon stuck in a hung worker does.
    silent = createServer((socket) => {
      held.push(socket);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve));
    embedded = await EmbeddedDaemon.start({ adminSocketPath: join(dir, 'admin.sock'), logDir: dir });
    app = await buildGateway([
      { uri: embedded.adminUri, name: 'embedded' },
      { uri: `libvirtd:///system?socket=${socketPath}`, name: 'silent' },
    ]);
  });
  after(async () => {
    await app?.close();
    await embedded?.stop();
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const timedScrape = async () => {
    const started = performance.now();
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    const ms = performance.now() - started;
    assert.equal(res.statusCode, 200);
    assert.ok(ms < SCRAPE_BOUND_MS, `/metrics took ${ms.toFixed(0)} ms`);
    return { text: res.body, ms };
  };

  it('answers every scrape within a second, the silent daemon down, the other one up', async () => {
    const first = await timedScrape();
    assert.equal(promValue(parsePromText(first.text), 'libvirt_admin_daemon_up', { daemon: 'silent' }), 0);
    // Until the embedded daemon's first poll lands, then every later scrape: all within the bound.
    const m = await retryUntil(
      async () => parsePromText((await timedScrape()).text),
      (m) => promValue(m, 'libvirt_admin_daemon_up', { daemon: 'embedded' }) === 1,
      'the embedded daemon polled',
    );
    assert.equal(promValue(m, 'libvirt_admin_daemon_up', { daemon: 'silent' }), 0);
    assert.ok(promValue(m, 'libvirt_admin_threadpool_workers', { daemon: 'embedded', server: 'admin' }) >= 0);
    assert.ok(promValue(m, 'libvirt_admin_gateway_snapshot_age_seconds', { daemon: 'embedded' }) < 10);
    assert.equal(
      m.get('libvirt_admin_threadpool_workers')!.samples.filter((s) => s.labels['daemon'] === 'silent').length,
      0,
      'no figures for a daemon never reached',
    );
    for (let i = 0; i < 5; i++) await timedScrape();
  });

  it('passes promtool check metrics', async (t) => {
    const { text } = await timedScrape();
    const result = await promtool(text);
    if (result === null) {
      // CI installs it (scripts/install-libvirt.sh): there a missing promtool is a broken setup, not a pass.
      assert.notEqual(
        process.env['CI'],
        'true',
        'promtool is missing under CI=true: run `sudo bash scripts/install-libvirt.sh` (Debian package prometheus)',
      );
      t.diagnostic('promtool is not installed (Debian package prometheus); checked with the strict reader only');
      parsePromText(text);
      return;
    }
    assert.equal(result.code, 0, result.output);
  });
});

/** `promtool check metrics` on `text`: its exit code and output, or null when promtool is not installed. */
function promtool(text: string): Promise<{ code: number | null; output: string } | null> {
  return new Promise((resolve) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ENOENT' ? null : { code: -1, output: err.message }),
    );
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}
