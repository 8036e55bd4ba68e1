// Log outputs that would make libvirtd (root) write outside the allowed directory are refused with 403, and
// the real daemon's outputs are unchanged afterwards, as virt-admin reports them.
import assert from 'node:assert/strict';
import { access, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { LogOutputPolicy } from '../../../src/security/log-policy.js';
import { startRealDaemons, type RealDaemons } from '../../harness/libvirtd.js';
import { assertProblem, buildGateway } from '../gateway.js';

describe('log output attacks against a real libvirtd', () => {
  let daemons: RealDaemons;
  let app: FastifyInstance;
  let allowed: string; // the daemon's log folder (bind-mounted at its /var/log/libvirt), seen at the same path by both
  let outside: string;
  let original: { outputs: string; filters: string };

  const cli = async (command: 'daemon-log-outputs' | 'daemon-log-filters') => {
    const result = await daemons.virtAdmin('libvirtd', command);
    assert.equal(result.code, 0, result.stderr);
    return /Logging (?:outputs|filters): (.*)\n/.exec(result.stdout)![1]!;
  };
  const exists = (path: string) => access(path).then(() => true, () => false);

  before(async () => {
    daemons = await startRealDaemons();
    allowed = join(daemons.dir, 'log');
    outside = join(daemons.dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'existing.log'), 'not for libvirtd\n');
    await symlink(join(outside, 'existing.log'), join(allowed, 'escape.log'));
    await symlink(join(outside, 'target.log'), join(allowed, 'dangling.log'));
    await symlink(outside, join(allowed, 'escape-dir'));
    app = await buildGateway([{ uri: daemons.adminUri('libvirtd') }], { security: { logPolicy: new LogOutputPolicy([allowed]) } });
    await daemons.virtAdmin('libvirtd', 'daemon-log-filters', '--filters', '3:remote 4:event');
    original = { outputs: await cli('daemon-log-outputs'), filters: await cli('daemon-log-filters') };
  });
  after(async () => {
    await app?.close();
    await daemons?.stop();
  });

  const attacks: Array<[string, () => unknown, RegExp]> = [
    ['.. traversal (raw)', () => `1:file:${allowed}/../outside/x.log`, /contains '\.\.'/],
    ['.. traversal back inside (raw)', () => `1:file:${allowed}/sub/../x.log`, /contains '\.\.'/],
    ['.. traversal (object)', () => [{ level: 1, destination: 'file', path: `${allowed}/../outside/x.log` }], /contains '\.\.'/],
    ['relative path', () => '1:file:outside/x.log', /is not absolute/],
    ['relative path with ..', () => '1:file:../../etc/x.log', /is not absolute/],
    ['symlink to a file outside', () => `1:file:${allowed}/escape.log`, /symbolic link outside/],
    ['dangling symlink pointing outside', () => `1:file:${allowed}/dangling.log`, /symbolic link that points to nothing/],
    ['symlinked folder outside', () => `1:file:${allowed}/escape-dir/x.log`, /symbolic link outside/],
    ['symlink outside (object)', () => [{ priority: 'debug', destination: 'file', path: `${allowed}/escape.log` }], /symbolic link outside/],
    ['NUL in the path', () => `1:file:${allowed}/a\u0000b.log`, /control character/],
    ['newline in the path', () => `1:file:${allowed}/a.log\n.log`, /control character/],
    ['tab in the path', () => `1:file:${allowed}/a\tb.log`, /control character/],
    ['newline in the path (object)', () => [{ level: 1, destination: 'file', path: `${allowed}/a\nb.log` }], /control character/],
    ['a file outside', () => `1:file:${outside}/x.log`, /outside the allowed log directories/],
    ['one bad output among good ones', () => `3:stderr 1:file:${allowed}/fine.log 1:file:${outside}/x.log 2:journald`, /outside/],
    [
      'one bad object among good ones',
      () => [
        { priority: 'info', destination: 'file', path: `${allowed}/fine.log` },
        { priority: 'info', destination: 'file', path: `${outside}/x.log` },
      ],
      /outside/,
    ],
    ['a bad file before a syntax error', () => `1:file:${outside}/x.log 1:bogus`, /outside/],
  ];

  for (const [name, outputs, reason] of attacks) {
    it(`refuses ${name} with 403 and changes nothing`, async () => {
      for (const method of ['put', 'patch'] as const) {
        const body = method === 'put' ? { outputs: outputs(), filters: '1:qemu' } : { outputs: outputs() };
        const res = await request(app.server)[method]('/daemon/logging').send(body);
        const problem = assertProblem(res, 403, 'ERR_LOG_OUTPUT_REFUSED');
        assert.match(problem.detail, /^Log output .* refused: /);
        assert.match(problem.detail, reason);
      }
      assert.equal(await cli('daemon-log-outputs'), original.outputs);
      assert.equal(await cli('daemon-log-filters'), original.filters);
      for (const path of [join(outside, 'x.log'), join(outside, 'target.log'), join(allowed, 'fine.log')]) {
        assert.equal(await exists(path), false, `${path} was created`);
      }
      assert.equal(await readFile(join(outside, 'existing.log'), 'utf8'), 'not for libvirtd\n');
    });
  }

  it('accepts a file inside the allowed folder, as virt-admin then shows', async () => {
    const inside = join(allowed, 'gateway-test.log');
    const res = await request(app.server).patch('/daemon/logging').send({ outputs: `2:file:${inside} 3:stderr` }).expect(200);
    assert.equal(res.body.raw.outputs, `2:file:${inside} 3:stderr`);
    assert.equal(await cli('daemon-log-outputs'), `2:file:${inside} 3:stderr`);
    assert.equal(await exists(inside), true);
    // The daemon's default output is in its /var/log/libvirt, outside this test's allowed folder: restore it directly.
    assert.equal((await daemons.virtAdmin('libvirtd', 'daemon-log-outputs', '--outputs', original.outputs)).code, 0);
    assert.equal(await cli('daemon-log-outputs'), original.outputs);
  });
});
