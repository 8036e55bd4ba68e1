// The --desired-state file as Kubernetes mounts a ConfigMap: the file is a symlink through `..data`, and an update
// swaps `..data` atomically. The gateway must follow the swap, refuse a bad file as a whole (keeping what is in
// force), and refuse PUT while the file is the source. Against the embedded daemon: the question is the file.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import gateway from '../../src/http/app.js';
import { gatewayServerOptions } from '../../src/http/server-options.js';
import request from 'supertest';
import type { GatewayEvent } from '../../src/monitoring/events.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../harness/embedded.js';
import { eventually } from '../helpers/wait.js';
import { assertProblem, servingAnyone } from '../http/gateway.js';

describe('--desired-state file mounted as a ConfigMap', () => {
  let daemon: EmbeddedDaemonHandle;
  let app: FastifyInstance;
  let dir: string;
  let version = 0;
  const events: GatewayEvent[] = [];
  const audit: Array<Record<string, unknown>> = [];

  /** Publishes a new version of the file the way the kubelet does: a new folder, then `..data` swapped. */
  async function publish(text: string): Promise<void> {
    const folder = `..v${++version}`;
    await mkdir(join(dir, folder));
    await writeFile(join(dir, folder, 'desired.yaml'), text);
    await symlink(folder, join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  }

  const maxWorkers = async () =>
    (await request(app.server).get('/servers/libvirtd/threadpool').expect(200)).body.maxWorkers as number;

  before(async () => {
    daemon = await startEmbeddedDaemon();
    dir = await mkdtemp(join(tmpdir(), 'configmap-'));
    await publish('daemons:\n  libvirtd:\n    servers:\n      libvirtd:\n        threadpool: { maxWorkers: 31 }\n');
    await symlink('..data/desired.yaml', join(dir, 'desired.yaml'));
    // A period far longer than the test: only the watch can notice the swap in time.
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line === '') continue;
          const record = JSON.parse(line) as Record<string, unknown>;
          if (record['audit'] === true) audit.push(record);
        }
        done();
      },
    });
    app = Fastify(gatewayServerOptions({ level: 'info', stream }));
    await app.register(gateway, {
      daemons: [{ uri: daemon.adminUri }],
      callTimeoutMs: 5000,
      security: { authenticator: servingAnyone() },
      desiredState: { file: join(dir, 'desired.yaml'), intervalMs: 3_600_000 },
    });
    await app.ready();
    app.monitoring.monitor.hub.observe((e) => void events.push(e));
  });
  after(async () => {
    await app?.close();
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies the file at start and names it as the source', async () => {
    await eventually(async () => (await maxWorkers()) === 31, 'maxWorkers 31 from the file');
    const status = await request(app.server).get('/daemons/libvirtd/desired-state/status').expect(200);
    assert.equal(status.body.source, 'file');
    assert.deepEqual((await request(app.server).get('/daemons/libvirtd/desired-state').expect(200)).body, {
      servers: { libvirtd: { threadpool: { maxWorkers: 31 } } },
    });
  });

  it('refuses PUT while the file is the source (409 naming the file)', async () => {
    const res = await request(app.server).put('/daemons/libvirtd/desired-state').send({});
    const body = assertProblem(res, 409, 'ERR_DESIRED_STATE_CONFLICT');
    assert.ok(body.detail.includes(join(dir, 'desired.yaml')), body.detail);
  });

  it('follows an atomic swap of ..data, and announces desired.applied', async () => {
    await publish('daemons:\n  libvirtd:\n    servers:\n      libvirtd:\n        threadpool: { maxWorkers: 37 }\n');
    await eventually(async () => (await maxWorkers()) === 37, 'maxWorkers 37 after the swap');
    await eventually(() => events.some((e) => e.type === 'desired.applied'), 'a desired.applied event');
    const applied = events.find((e) => e.type === 'desired.applied');
    assert.deepEqual(applied && 'differences' in applied ? applied.differences : null, [
      { path: '/servers/libvirtd/threadpool/maxWorkers', desired: 37, actual: 31 },
    ]);
    // Audited like a PATCH, with the file as the actor.
    const records = audit.filter(
      (r) => r['action'] === 'threadpool.update' && (r['new'] as { maxWorkers?: number }).maxWorkers === 37,
    );
    assert.deepEqual(
      records.map((r) => [r['phase'], r['result'], r['actor'], r['old'], r['daemon'], r['server']]),
      [
        [
          'attempt',
          undefined,
          { kind: 'desired-state', name: join(dir, 'desired.yaml'), role: null },
          { maxWorkers: 31 },
          'libvirtd',
          'libvirtd',
        ],
        [
          'outcome',
          'success',
          { kind: 'desired-state', name: join(dir, 'desired.yaml'), role: null },
          { maxWorkers: 31 },
          'libvirtd',
          'libvirtd',
        ],
      ],
    );
  });

  it('keeps the declaration in force when a new file is refused, and says why in the status', async () => {
    await publish('daemons:\n  libvirtd:\n    servers:\n      libvirtd:\n        threadpool: { maxWorkers: 100000 }\n');
    let status: { lastError: { message: string } | null } = { lastError: null };
    await eventually(
      async () =>
        /refused/.test(
          (status = (await request(app.server).get('/daemons/libvirtd/desired-state/status').expect(200)).body)
            .lastError?.message ?? '',
        ),
      'the refusal in the status',
    );
    assert.match(status.lastError!.message, /maxWorkers 100000 is above this gateway's ceiling/);
    assert.equal(await maxWorkers(), 37);
    assert.equal(
      (await request(app.server).get('/daemons/libvirtd/desired-state').expect(200)).body.servers.libvirtd.threadpool
        .maxWorkers,
      37,
    );
  });
});
