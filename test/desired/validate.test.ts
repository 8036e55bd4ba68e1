// The document checks and the comparison, without a daemon: what is refused before anything is sent, and how the
// daemon's own way of reporting logging settings is read as "no difference".
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { differencesOf, partsOf } from '../../src/desired/parts.js';
import { DesiredStateRefusedError, prepareDocument } from '../../src/desired/validate.js';
import type { ChangePolicy } from '../../src/resources/change-policy.js';
import { LogOutputPolicy } from '../../src/security/log-policy.js';

describe('desired-state document checks', () => {
  let logDir: string;
  let policy: ChangePolicy;
  before(async () => {
    logDir = await mkdtemp(join(tmpdir(), 'desired-logs-'));
    policy = { logOutputs: new LogOutputPolicy([logDir]), maxWorkers: 64, adminConnections: () => 4 };
  });
  after(() => rm(logDir, { recursive: true, force: true }));

  it('prepares every part in the order it is applied: threadpool, client limits per server, then logging', async () => {
    const parts = await prepareDocument(
      'libvirtd',
      {
        logging: { filters: [{ priority: 'warning', match: 'remote' }] },
        servers: {
          libvirtd: { clientLimits: { maxClients: 10 }, threadpool: { maxWorkers: 8 } },
          admin: { threadpool: { minWorkers: 1 } },
        },
      },
      policy,
    );
    assert.deepEqual(
      parts.map((p) => [p.path, p.prepared]),
      [
        ['/servers/libvirtd/threadpool', { maxWorkers: 8 }],
        ['/servers/libvirtd/clientLimits', { maxClients: 10 }],
        ['/servers/admin/threadpool', { minWorkers: 1 }],
        ['/logging', { filters: '3:remote' }],
      ],
    );
  });

  it('refuses the whole document with every reason: libvirt rules, ceiling, lock-out, log directory, syntax', async () => {
    const err = await prepareDocument(
      'libvirtd',
      {
        servers: {
          libvirtd: {
            threadpool: { minWorkers: 9, maxWorkers: 3 },
            clientLimits: { maxClients: 1, maxUnauthClients: 2 },
          },
          admin: { threadpool: { maxWorkers: 65 }, clientLimits: { maxClients: 2 } },
        },
        logging: { outputs: '1:file:/etc/passwd', filters: '9:x' },
      },
      policy,
    ).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DesiredStateRefusedError);
    assert.deepEqual(
      err.refusals.map((r) => r.path),
      [
        '/servers/libvirtd/threadpool/minWorkers',
        '/servers/libvirtd/clientLimits/maxClients',
        '/servers/admin/threadpool',
        '/servers/admin/clientLimits',
        '/logging',
      ],
    );
    assert.match(err.message, /minWorkers cannot be larger than maxWorkers/);
    assert.match(err.message, /above this gateway's ceiling of 64/);
    assert.match(err.message, /would lock the admin interface out/);
  });

  it('refuses outputs "" (the daemon default cannot be compared) and maxWorkers 0', async () => {
    const err = (await prepareDocument(
      'd',
      { logging: { outputs: '' }, servers: { s: { threadpool: { maxWorkers: 0 } } } },
      policy,
    ).catch((e: unknown) => e)) as DesiredStateRefusedError;
    assert.deepEqual(
      err.refusals.map((r) => r.path),
      ['/servers/s/threadpool/maxWorkers', '/logging/outputs'],
    );
  });

  it("reads the daemon's logging replies as the declaration they came from", async () => {
    const [part] = await prepareDocument(
      'd',
      { logging: { outputs: `3:file:${logDir}//gw.log 2:stderr`, filters: '3:remote 4:event' } },
      policy,
    );
    // libvirtd 9.0.0 reports filters wrapped in '*' with a trailing space, and file paths canonical.
    assert.deepEqual(
      differencesOf(part!, part!.prepared, {
        outputs: `3:file:${logDir}/gw.log 2:stderr`,
        filters: '3:*remote* 4:*event* ',
      }),
      [],
    );
    assert.deepEqual(differencesOf(part!, part!.prepared, { outputs: '2:stderr', filters: '3:*remote* ' }), [
      { path: '/logging/outputs', desired: `3:file:${logDir}//gw.log 2:stderr`, actual: '2:stderr' },
      { path: '/logging/filters', desired: '3:remote 4:event', actual: '3:*remote* ' },
    ]);
  });

  it('compares only the declared fields of a part', () => {
    const [part] = partsOf('d', { servers: { s: { threadpool: { maxWorkers: 8 } } } });
    assert.deepEqual(differencesOf(part!, { maxWorkers: 8 }, { minWorkers: 1, maxWorkers: 8, prioWorkers: 3 }), []);
    assert.deepEqual(differencesOf(part!, { maxWorkers: 8 }, { minWorkers: 1, maxWorkers: 9, prioWorkers: 3 }), [
      { path: '/servers/s/threadpool/maxWorkers', desired: 8, actual: 9 },
    ]);
  });
});
