// Attacks through the HTTP API on the daemon's logging, by a caller with the admin role, against the real
// libvirtd and the embedded daemon: log outputs that would make the daemon (root) write outside the allowed
// folder are refused with 403; strings with NUL, CR, LF and other control characters (raw or as objects, in
// outputs or filters) with 400. Either way nothing is sent: virt-admin shows the outputs and filters unchanged,
// no file appears or goes away, and no file holds what the attack tried to write.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import gateway from '../../../src/http/app.js';
import { gatewayServerOptions } from '../../../src/http/server-options.js';
import { LogOutputPolicy } from '../../../src/security/log-policy.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import {
  listTree,
  startEmbeddedLogTarget,
  startLibvirtdLogTarget,
  type LogTarget,
  type StartLogTarget,
} from '../../harness/log-targets.js';
import { assertProblem, servingAnyone } from '../gateway.js';

/** The allowed folder and one outside it, both in the target's sandbox. */
interface Folders {
  A: string;
  O: string;
}

type Body = Record<string, unknown>;

const ADMIN = { authorization: 'Bearer attacks-admin-token' };
// Every string the 400 attacks try to get written holds this word; no file may hold it afterwards.
const MARK = 'ATTACK';
const SSH_KEY = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${MARK}PlantedKey attacker@evil`;

// Refused by the directory rules: 403 ERR_LOG_OUTPUT_REFUSED.
const OUTSIDE_ATTACKS: Array<[string, (f: Folders) => unknown, RegExp]> = [
  ['.. traversal (raw)', ({ A }) => `1:file:${A}/../outside/x.log`, /contains '\.\.'/],
  ['.. traversal back inside (raw)', ({ A }) => `1:file:${A}/sub/../x.log`, /contains '\.\.'/],
  [
    '.. traversal (object)',
    ({ A }) => [{ level: 1, destination: 'file', path: `${A}/../outside/x.log` }],
    /contains '\.\.'/,
  ],
  ['relative path', () => '1:file:outside/x.log', /is not absolute/],
  ['relative path with ..', () => '1:file:../../etc/x.log', /is not absolute/],
  ['symlink to a file outside', ({ A }) => `1:file:${A}/escape.log`, /symbolic link outside/],
  ['dangling symlink pointing outside', ({ A }) => `1:file:${A}/dangling.log`, /symbolic link that points to nothing/],
  ['symlinked folder outside', ({ A }) => `1:file:${A}/escape-dir/x.log`, /symbolic link outside/],
  [
    'symlink outside (object)',
    ({ A }) => [{ priority: 'debug', destination: 'file', path: `${A}/escape.log` }],
    /symbolic link outside/,
  ],
  ['a file outside', ({ O }) => `1:file:${O}/x.log`, /outside the allowed log directories/],
  [
    'one bad output among good ones',
    ({ A, O }) => `3:stderr 1:file:${A}/fine.log 1:file:${O}/x.log 2:journald`,
    /outside/,
  ],
  [
    'one bad object among good ones',
    ({ A, O }) => [
      { priority: 'info', destination: 'file', path: `${A}/fine.log` },
      { priority: 'info', destination: 'file', path: `${O}/x.log` },
    ],
    /outside/,
  ],
];

// Refused because the gateway cannot read them as the daemon would act on them: 400 ERR_INVALID_ARGUMENT. Each
// body changes one list; PUT sends a good value for the other one, which must not be applied either.
const CONTROL_ATTACKS: Array<[string, (f: Folders) => Body, RegExp]> = [
  [
    'NUL after a path outside (raw outputs): the daemon would open the path',
    ({ O }) => ({ outputs: `1:file:${O}/${MARK}-nul.log\u0000:x` }),
    /U\+0000 \(NUL/,
  ],
  [
    'NUL in a path (object)',
    ({ O }) => ({ outputs: [{ level: 1, destination: 'file', path: `${O}/${MARK}-nul-object.log\u0000` }] }),
    /U\+0000 \(NUL/,
  ],
  ['CR at the end of a path (raw)', ({ A }) => ({ outputs: `1:file:${A}/${MARK}-cr.log\r` }), /U\+000D \(CR/],
  [
    'LF between two outputs (raw)',
    ({ A, O }) => ({ outputs: `1:file:${A}/${MARK}-lf.log\n1:file:${O}/${MARK}-lf.log` }),
    /U\+000A \(LF/,
  ],
  [
    'CR LF in a path (object)',
    ({ A }) => ({ outputs: [{ priority: 'debug', destination: 'file', path: `${A}/${MARK}-crlf.log\r\n` }] }),
    /U\+000D \(CR/,
  ],
  [
    'LF in a syslog ident (object)',
    () => ({ outputs: [{ level: 2, destination: 'syslog', ident: `${MARK}\ninjected` }] }),
    /U\+000A \(LF/,
  ],
  ['TAB in a path (raw)', ({ A }) => ({ outputs: `1:file:${A}/${MARK}\tb.log` }), /U\+0009 \(TAB/],
  ['an SSH key after a newline (raw filters)', () => ({ filters: `1:util.log 1:x\n${SSH_KEY}\n` }), /U\+000A \(LF/],
  ['CR in a filter (raw)', () => ({ filters: `1:${MARK}-cr\r` }), /U\+000D \(CR/],
  ['NUL in a filter (raw)', () => ({ filters: `1:${MARK}\u0000 1:x\n${SSH_KEY}` }), /U\+0000 \(NUL/],
  [
    'an SSH key after a newline (object filter)',
    () => ({ filters: [{ level: 1, match: `${MARK}\nssh-ed25519` }] }),
    /U\+000A \(LF/,
  ],
  ['CR LF in a filter (object)', () => ({ filters: [{ priority: 'debug', match: `${MARK}\r\nx` }] }), /U\+000D \(CR/],
  [
    'a file outside before a syntax error (libvirtd would open the file first)',
    ({ O }) => ({ outputs: `1:file:${O}/${MARK}-first.log 1:bogus` }),
    /Invalid log destination 'bogus'/,
  ],
  [
    'a file inside with a space in its name (libvirtd would open the first half)',
    ({ A }) => ({ outputs: `1:file:${A}/${MARK} half.log` }),
    /Malformed format for log output 'half\.log'/,
  ],
];

function defineLogAttacks(label: string, startTarget: StartLogTarget): void {
  describe(`log output and filter attacks against ${label}`, () => {
    let target: LogTarget;
    let app: FastifyInstance;
    let folders: Folders;
    let debugLog: string;
    let original: { outputs: string; filters: string };

    const cli = async (command: 'daemon-log-outputs' | 'daemon-log-filters') => {
      const result = await target.virtAdmin(command);
      assert.equal(result.code, 0, result.stderr);
      return /Logging (?:outputs|filters): (.*)\n/.exec(result.stdout)![1]!;
    };
    const state = async () => ({ outputs: await cli('daemon-log-outputs'), filters: await cli('daemon-log-filters') });
    /** Every file in the sandbox whose content holds `needle`. */
    const filesHolding = async (needle: string) => {
      const found: string[] = [];
      for (const path of await listTree(target.sandbox)) {
        if (path.endsWith('/') || path.endsWith('pipe.log')) continue;
        const content = await readFile(join(target.sandbox, path), 'utf8').catch(() => '');
        if (content.includes(needle)) found.push(path);
      }
      return found;
    };
    const send = async (method: 'PUT' | 'PATCH', payload: Body) => {
      const res = await app.inject({ method, url: '/daemon/logging', headers: ADMIN, payload });
      return {
        status: res.statusCode,
        headers: res.headers as Record<string, string>,
        body: res.json<unknown>(),
        text: res.body,
      };
    };

    before(async () => {
      target = await startTarget();
      const { allowed: A, outside: O } = target;
      folders = { A, O };
      await mkdir(join(A, 'sub'));
      await writeFile(join(O, 'existing.log'), 'not for the daemon\n');
      await symlink(join(O, 'existing.log'), join(A, 'escape.log'));
      await symlink(join(O, 'target.log'), join(A, 'dangling.log'));
      await symlink(O, join(A, 'escape-dir'));
      const tokens = TokenStore.fromEntries(
        parseTokensFile(tokenLine('admin', ADMIN.authorization.slice(7), 'mallory')),
      );
      app = Fastify(gatewayServerOptions());
      await app.register(gateway, {
        daemons: [{ uri: target.adminUri }],
        callTimeoutMs: 10_000,
        security: {
          authenticator: servingAnyone({ tokens }),
          logPolicy: new LogOutputPolicy([A]),
          mutationRateLimit: 0,
        },
      });
      await app.ready();
      // Log the daemon's own log code (util.log) at debug level into a file: libvirtd writes every outputs and
      // filters string it parses there, verbatim; that is where the attacks' newlines would have landed.
      debugLog = join(A, 'debug.log');
      assert.equal((await target.virtAdmin('daemon-log-outputs', '--outputs', `1:file:${debugLog}`)).code, 0);
      assert.equal((await target.virtAdmin('daemon-log-filters', '--filters', '1:util.log 3:remote')).code, 0);
      original = await state();
    });
    after(async () => {
      await app?.close();
      await target?.stop();
    });

    for (const [name, outputs, reason] of OUTSIDE_ATTACKS) {
      it(`refuses ${name} with 403 and changes nothing`, async () => {
        const tree = await listTree(target.sandbox);
        for (const method of ['PUT', 'PATCH'] as const) {
          const body =
            method === 'PUT' ? { outputs: outputs(folders), filters: '1:qemu' } : { outputs: outputs(folders) };
          const problem = assertProblem(await send(method, body), 403, 'ERR_LOG_OUTPUT_REFUSED');
          assert.match(problem.detail, /^Log output .* refused: /);
          assert.match(problem.detail, reason);
        }
        assert.deepEqual(await state(), original);
        assert.deepEqual(await listTree(target.sandbox), tree);
        assert.equal(await readFile(join(folders.O, 'existing.log'), 'utf8'), 'not for the daemon\n');
      });
    }

    for (const [name, body, reason] of CONTROL_ATTACKS) {
      it(`refuses ${name} with 400 and changes nothing`, async () => {
        const tree = await listTree(target.sandbox);
        const change = body(folders);
        for (const method of ['PUT', 'PATCH'] as const) {
          const payload = method === 'PUT' ? { outputs: '3:stderr', filters: '1:qemu', ...change } : change;
          const problem = assertProblem(await send(method, payload), 400, 'ERR_INVALID_ARGUMENT');
          assert.match(problem.detail, reason);
          assert.equal(problem.libvirt, undefined, 'the daemon was never asked');
        }
        assert.deepEqual(await state(), original);
        assert.deepEqual(await listTree(target.sandbox), tree);
        assert.deepEqual(await filesHolding(MARK), []);
        assert.deepEqual(await filesHolding('ssh-ed25519'), []);
      });
    }

    it('still applies clean filters (libvirtd then writes them into its debug log, where the newlines would have gone)', async () => {
      const res = await send('PATCH', { filters: '1:util.log 3:remote 1:clean-marker' });
      assert.equal(res.status, 200, res.text);
      assert.equal(await cli('daemon-log-filters'), '1:*util.log* 3:*remote* 1:*clean-marker* ');
      if (target.echoesFilters) {
        const lines = (await readFile(debugLog, 'utf8')).split('\n').filter((line) => line.includes('clean-marker'));
        assert.ok(
          lines.some((line) => line.endsWith('filters=1:util.log 3:remote 1:clean-marker')),
          lines.join('\n'),
        );
      }
      assert.equal(
        (await target.virtAdmin('daemon-log-filters', '--filters', original.filters.trim().replaceAll('*', ''))).code,
        0,
      );
      assert.deepEqual(await state(), original);
    });

    it('accepts a file inside the allowed folder, as virt-admin then shows', async () => {
      const inside = join(folders.A, 'gateway-test.log');
      const res = await send('PATCH', { outputs: `2:file:${inside} 3:stderr` });
      assert.equal(res.status, 200, res.text);
      assert.equal((res.body as { raw: { outputs: string } }).raw.outputs, `2:file:${inside} 3:stderr`);
      assert.equal(await cli('daemon-log-outputs'), `2:file:${inside} 3:stderr`);
      assert.ok((await readdir(folders.A)).includes('gateway-test.log'));
      const restored = await send('PATCH', { outputs: original.outputs });
      assert.equal(restored.status, 200, restored.text);
      assert.deepEqual(await state(), original);
    });
  });
}

defineLogAttacks('the real libvirtd', startLibvirtdLogTarget);
defineLogAttacks('the embedded daemon', startEmbeddedLogTarget);
