// The log corpus: outputs and filters strings an attacker (or a careless operator) might send, each with the
// gateway's decision written out by hand. For every string the gateway allows, the test sends it through the
// gateway to a daemon and checks that the daemon took it (virt-admin shows exactly the expected setting) and that
// the files that appear, and the files the daemon holds open, are exactly the ones the gateway's own reading
// named: nothing elsewhere. A refused string is sent (through the gateway, which must refuse it again) only when
// the daemon could act on it inside the sandbox alone; the others are put to the policy only.
//
// The daemon under test is a parameter (a LogTarget): ./log-corpus-libvirtd.test.ts and
// ./log-corpus-embedded.test.ts run it against libvirtd 9.0.0 and the embedded daemon.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { LoggingSyntaxError } from '../../src/admin/logging/syntax-error.js';
import gateway from '../../src/http/app.js';
import { gatewayServerOptions } from '../../src/http/server-options.js';
import { servingAnyone } from '../http/gateway.js';
import { LogOutputPolicy } from '../../src/security/log-policy.js';
import { LogStringRefusedError } from '../../src/security/log-strings.js';
import { LogOutputRefusedError } from '../../src/security/errors.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../src/security/tokens.js';
import { listTree, type LogTarget, type StartLogTarget } from '../harness/log-targets.js';

/** The folders a corpus string is built from. */
export interface Folders {
  /** The allowed folder. */
  A: string;
  /** A folder outside it, in the same sandbox. */
  O: string;
}

/** The gateway sends the string: what virt-admin shows afterwards, and the files the gateway's reading names. */
interface Allowed {
  /** '' for outputs means the daemon's default outputs (LogTarget.defaultOutputs). */
  shows: (f: Folders) => string;
  /** Outputs only: the files the daemon opens; 'default' for the daemon's default output. */
  files?: ((f: Folders) => string[]) | 'default';
}

/** The gateway refuses the string before anything is sent. */
interface Refused {
  status: 400 | 403;
  /** The token the refusal names. */
  names: (f: Folders) => string;
  /** Set when the daemon, were it sent the string, could act outside the sandbox or hang: only the policy is asked. */
  unsafeToSend?: string;
}

/** One corpus string. */
export interface CorpusEntry {
  name: string;
  list: 'outputs' | 'filters';
  text: (f: Folders) => string;
  expect: Allowed | Refused;
}

const out = (name: string, text: CorpusEntry['text'], expect: Allowed | Refused): CorpusEntry => ({
  name,
  list: 'outputs',
  text,
  expect,
});
const fil = (name: string, text: CorpusEntry['text'], expect: Allowed | Refused): CorpusEntry => ({
  name,
  list: 'filters',
  text,
  expect,
});

const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlantedKeyFromTheLogCorpus attacker@evil';
const LONG_IDENT = 'i'.repeat(20_000);
const LONG_MATCH = 'm'.repeat(20_000);
const NAME_255 = `${'é'.repeat(126)}xyz`; // 252 + 3 bytes

/** The corpus. Names of files an allowed entry creates are unique, so each entry starts from the same sandbox. */
export const LOG_CORPUS: readonly CorpusEntry[] = [
  // Outputs the gateway sends.
  out('a file inside', ({ A }) => `1:file:${A}/plain.log`, {
    shows: ({ A }) => `1:file:${A}/plain.log`,
    files: ({ A }) => [`${A}/plain.log`],
  }),
  out('"" (the default output)', () => '', { shows: () => '', files: 'default' }),
  out('repeated, leading and trailing spaces', ({ A }) => `  3:stderr   2:file:${A}/spaces.log  `, {
    shows: ({ A }) => `3:stderr 2:file:${A}/spaces.log`,
    files: ({ A }) => [`${A}/spaces.log`],
  }),
  out('a sign and zeros in the level', ({ A }) => `+1:file:${A}/sign.log 004:stderr`, {
    shows: ({ A }) => `1:file:${A}/sign.log 4:stderr`,
    files: ({ A }) => [`${A}/sign.log`],
  }),
  out('duplicates: the last one wins', ({ A }) => `1:file:${A}/dup.log 2:stderr 3:file:${A}/./dup.log`, {
    shows: ({ A }) => `2:stderr 3:file:${A}/dup.log`,
    files: ({ A }) => [`${A}/dup.log`],
  }),
  out("'//', '.' and a trailing slash", ({ A }) => `1:file:${A}//./canon.log/`, {
    shows: ({ A }) => `1:file:${A}/canon.log`,
    files: ({ A }) => [`${A}/canon.log`],
  }),
  out('a UTF-8 path', ({ A }) => `1:file:${A}/ünï-日本-😀.log`, {
    shows: ({ A }) => `1:file:${A}/ünï-日本-😀.log`,
    files: ({ A }) => [`${A}/ünï-日本-😀.log`],
  }),
  out('a combining accent, kept as sent (no normalisation)', ({ A }) => `1:file:${A}/e\u0301.log`, {
    shows: ({ A }) => `1:file:${A}/e\u0301.log`,
    files: ({ A }) => [`${A}/e\u0301.log`],
  }),
  out('a no-break space inside a name', ({ A }) => `1:file:${A}/a\u00a0b.log`, {
    shows: ({ A }) => `1:file:${A}/a\u00a0b.log`,
    files: ({ A }) => [`${A}/a\u00a0b.log`],
  }),
  out('a name of 255 bytes (NAME_MAX) in 129 characters', ({ A }) => `1:file:${A}/${NAME_255}`, {
    shows: ({ A }) => `1:file:${A}/${NAME_255}`,
    files: ({ A }) => [`${A}/${NAME_255}`],
  }),
  out('a UTF-8 syslog ident', () => '2:syslog:ïdent-日本', { shows: () => '2:syslog:ïdent-日本', files: () => [] }),
  out('a 20,000-character syslog ident', () => `2:syslog:${LONG_IDENT}`, {
    shows: () => `2:syslog:${LONG_IDENT}`,
    files: () => [],
  }),
  out('800 copies of one output', ({ A }) => Array(800).fill(`1:file:${A}/many.log`).join(' '), {
    shows: ({ A }) => `1:file:${A}/many.log`,
    files: ({ A }) => [`${A}/many.log`],
  }),
  out('a file that exists', ({ A }) => `2:file:${A}/existing.log`, {
    shows: ({ A }) => `2:file:${A}/existing.log`,
    files: ({ A }) => [`${A}/existing.log`],
  }),
  out('a symbolic link that stays inside', ({ A }) => `2:file:${A}/inner.log`, {
    shows: ({ A }) => `2:file:${A}/inner.log`,
    files: ({ A }) => [`${A}/inner.log`],
  }),
  out('every destination at once', ({ A }) => `1:stderr 2:journald 3:syslog:corpus 4:file:${A}/four.log`, {
    shows: ({ A }) => `1:stderr 2:journald 3:syslog:corpus 4:file:${A}/four.log`,
    files: ({ A }) => [`${A}/four.log`],
  }),

  // Outputs refused because the gateway cannot read them exactly as the daemon would act on them (400).
  out('NUL: the attack of issue 11', ({ O }) => `1:file:${O}/nul.log\u0000:x`, {
    status: 400,
    names: ({ O }) => `1:file:${O}/nul.log\u0000:x`,
  }),
  out('NUL at the end of a path', ({ O }) => `1:file:${O}/nul-end.log\u0000`, {
    status: 400,
    names: ({ O }) => `1:file:${O}/nul-end.log\u0000`,
  }),
  out('NUL before a second output', ({ A, O }) => `1:file:${A}/nul-first.log\u0000 1:file:${O}/nul-second.log`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/nul-first.log\u0000`,
  }),
  out('CR at the end of a path', ({ A }) => `1:file:${A}/cr.log\r`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/cr.log\r`,
  }),
  out('CR LF at the end', ({ A }) => `1:file:${A}/crlf.log\r\n`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/crlf.log\r\n`,
  }),
  out('LF between two outputs', ({ A, O }) => `1:file:${A}/lf.log\n1:file:${O}/lf.log`, {
    status: 400,
    names: ({ A, O }) => `1:file:${A}/lf.log\n1:file:${O}/lf.log`,
  }),
  out('TAB as a separator', ({ O }) => `3:stderr\t1:file:${O}/tab.log`, {
    status: 400,
    names: ({ O }) => `3:stderr\t1:file:${O}/tab.log`,
  }),
  out('TAB before the level (libvirt skips it)', ({ A }) => `\t1:file:${A}/tab-level.log`, {
    status: 400,
    names: ({ A }) => `\t1:file:${A}/tab-level.log`,
  }),
  out('ESC in a path', ({ A }) => `1:file:${A}/esc\u001b[31m.log`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/esc\u001b[31m.log`,
  }),
  out('DEL in a path', ({ A }) => `1:file:${A}/del\u007f.log`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/del\u007f.log`,
  }),
  out('C1 NEL in a path', ({ A }) => `1:file:${A}/nel\u0085.log`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/nel\u0085.log`,
  }),
  out('a line separator in an ident', () => '1:syslog:a\u2028b', { status: 400, names: () => '1:syslog:a\u2028b' }),
  out('an unpaired surrogate (sent as U+FFFD, another name)', ({ A }) => `1:file:${A}/half\ud800.log`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/half\ud800.log`,
  }),
  out('trailing garbage after a path', ({ O }) => `1:file:${O}/garbage.log:x`, {
    status: 400,
    names: ({ O }) => `1:file:${O}/garbage.log:x`,
  }),
  out('a trailing garbage token', ({ A }) => `1:file:${A}/before-garbage.log garbage`, {
    status: 400,
    names: () => 'garbage',
  }),
  out('a space in a file name', ({ A }) => `1:file:${A}/sp ace.log`, { status: 400, names: () => 'ace.log' }),
  out("a ':' in a file name", ({ A }) => `1:file:${A}/co:lon.log`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/co:lon.log`,
  }),
  out('a comma as a separator', ({ O }) => `1:stderr,1:file:${O}/comma.log`, {
    status: 400,
    names: ({ O }) => `1:stderr,1:file:${O}/comma.log`,
  }),
  out('a no-break space as a separator', ({ O }) => `1:stderr\u00a01:file:${O}/nbsp.log`, {
    status: 400,
    names: ({ O }) => `1:stderr\u00a01:file:${O}/nbsp.log`,
  }),
  out('an ideographic space as a separator', ({ O }) => `1:stderr\u30001:file:${O}/ideo.log`, {
    status: 400,
    names: ({ O }) => `1:stderr\u30001:file:${O}/ideo.log`,
  }),
  out('priority 0', ({ A }) => `0:file:${A}/p0.log`, { status: 400, names: ({ A }) => `0:file:${A}/p0.log` }),
  out('priority 5', ({ A }) => `5:file:${A}/p5.log`, { status: 400, names: ({ A }) => `5:file:${A}/p5.log` }),
  out('priority -1', ({ A }) => `-1:file:${A}/pm1.log`, { status: 400, names: ({ A }) => `-1:file:${A}/pm1.log` }),
  out('priority 2^32 + 1', ({ A }) => `4294967297:file:${A}/pbig.log`, {
    status: 400,
    names: ({ A }) => `4294967297:file:${A}/pbig.log`,
  }),
  out('a full-width digit as priority', ({ A }) => `１:file:${A}/pwide.log`, {
    status: 400,
    names: ({ A }) => `１:file:${A}/pwide.log`,
  }),
  out('an unknown destination', ({ O }) => `1:files:${O}/dest.log`, {
    status: 400,
    names: ({ O }) => `1:files:${O}/dest.log`,
  }),
  out('a name of 256 bytes', ({ A }) => `1:file:${A}/${'n'.repeat(256)}`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/${'n'.repeat(256)}`,
  }),
  out('a path longer than PATH_MAX', ({ A }) => `1:file:${A}/${'d/'.repeat(2040)}x`, {
    status: 400,
    names: ({ A }) => `1:file:${A}/${'d/'.repeat(2040)}x`,
  }),

  // Outputs refused by the directory rules (403).
  out("'..' out of the folder", ({ A }) => `1:file:${A}/../outside/dotdot.log`, {
    status: 403,
    names: ({ A }) => `1:file:${A}/../outside/dotdot.log`,
  }),
  out("'..' back into the folder", ({ A }) => `1:file:${A}/sub/../dotdot-in.log`, {
    status: 403,
    names: ({ A }) => `1:file:${A}/sub/../dotdot-in.log`,
  }),
  out('a relative path', () => '1:file:log-corpus-relative.log', {
    status: 403,
    names: () => '1:file:log-corpus-relative.log',
    unsafeToSend: "libvirtd would create it in its working folder '/'",
  }),
  out('an empty path', () => '1:file:', {
    status: 403,
    names: () => '1:file:',
    unsafeToSend: "libvirtd would open '/'",
  }),
  out("a leading '//'", ({ A }) => `1:file:/${A}/slashes.log`, {
    status: 403,
    names: ({ A }) => `1:file:/${A}/slashes.log`,
  }),
  out('a file outside', ({ O }) => `1:file:${O}/out.log`, { status: 403, names: ({ O }) => `1:file:${O}/out.log` }),
  out('a folder beside with the same prefix', ({ A }) => `1:file:${A}-evil/x.log`, {
    status: 403,
    names: ({ A }) => `1:file:${A}-evil/x.log`,
  }),
  out('the allowed folder itself', ({ A }) => `1:file:${A}`, { status: 403, names: ({ A }) => `1:file:${A}` }),
  out('a folder inside', ({ A }) => `1:file:${A}/sub`, { status: 403, names: ({ A }) => `1:file:${A}/sub` }),
  out('a symbolic link to a file outside', ({ A }) => `1:file:${A}/escape.log`, {
    status: 403,
    names: ({ A }) => `1:file:${A}/escape.log`,
  }),
  out('a dangling symbolic link', ({ A }) => `1:file:${A}/dangling.log`, {
    status: 403,
    names: ({ A }) => `1:file:${A}/dangling.log`,
  }),
  out('a symbolic link to a folder outside', ({ A }) => `1:file:${A}/escape-dir/x.log`, {
    status: 403,
    names: ({ A }) => `1:file:${A}/escape-dir/x.log`,
  }),
  out('a FIFO', ({ A }) => `1:file:${A}/pipe.log`, {
    status: 403,
    names: ({ A }) => `1:file:${A}/pipe.log`,
    unsafeToSend: 'libvirtd would block in open() until someone reads the FIFO',
  }),
  out('a good file, then one outside', ({ A, O }) => `1:file:${A}/first.log 1:file:${O}/second.log`, {
    status: 403,
    names: ({ O }) => `1:file:${O}/second.log`,
  }),

  // Filters the gateway sends.
  fil('two filters', () => '3:remote 4:event', { shows: () => '3:*remote* 4:*event* ' }),
  fil('a stack-trace marker and spaces', () => '  1:+qemu  ', { shows: () => '1:*qemu* ' }),
  fil('a sign before the level', () => '+1:util', { shows: () => '1:*util* ' }),
  fil("two '+': one is the marker", () => '1:++x', { shows: () => '1:*+x* ' }),
  fil('a UTF-8 match', () => '2:ünï-日本', { shows: () => '2:*ünï-日本* ' }),
  fil('glob characters', () => '1:a?b*', { shows: () => '1:*a?b** ' }),
  fil('a 20,000-character match', () => `1:${LONG_MATCH}`, { shows: () => `1:*${LONG_MATCH}* ` }),
  fil('duplicates are kept', () => '1:a 1:a', { shows: () => '1:*a* 1:*a* ' }),
  fil('"" (no filter)', () => '', { shows: () => '' }),
  fil('blanks (no filter)', () => '   ', { shows: () => '' }),

  // Filters refused (400).
  fil('an SSH key after a newline: the attack of issue 11', () => `1:util.log 1:x\n${SSH_KEY}\n`, {
    status: 400,
    names: () => '1:x\nssh-ed25519',
  }),
  fil('CR', () => '1:qemu\r', { status: 400, names: () => '1:qemu\r' }),
  fil('CR LF between filters', () => '1:qemu\r\n2:x', { status: 400, names: () => '1:qemu\r\n2:x' }),
  fil('NUL', () => '1:qemu\u0000 1:x', { status: 400, names: () => '1:qemu\u0000' }),
  fil('TAB (libvirt would keep it in the match)', () => '1:a\tb', { status: 400, names: () => '1:a\tb' }),
  fil('an ESC sequence', () => '1:\u001b]0;owned\u0007', { status: 400, names: () => '1:\u001b]0;owned\u0007' }),
  fil('an unpaired surrogate', () => '1:\udfff', { status: 400, names: () => '1:\udfff' }),
  fil('a third field libvirt would drop', () => '1:a:b', { status: 400, names: () => '1:a:b' }),
  fil("only '+'", () => '1:+', { status: 400, names: () => '+' }),
  fil('an empty match', () => '3:remote 1:', { status: 400, names: () => '' }),
  fil('no level', () => 'qemu', { status: 400, names: () => 'qemu' }),
  fil('priority 5', () => '5:x', { status: 400, names: () => '5:x' }),
  fil('priority 0', () => '0:x', { status: 400, names: () => '0:x' }),
  fil('an Arabic-Indic digit as priority', () => '٣:x', { status: 400, names: () => '٣:x' }),
];

const ADMIN = { authorization: 'Bearer corpus-admin-token' };

/** Runs the corpus against daemons made by `startTarget`. */
export function defineLogCorpus(startTarget: StartLogTarget): void {
  describe('log corpus', () => {
    let target: LogTarget;
    let app: FastifyInstance;
    let policy: LogOutputPolicy;
    let folders: Folders;

    const shown = async (list: 'outputs' | 'filters'): Promise<string> => {
      const r = await target.virtAdmin(`daemon-log-${list}`);
      assert.equal(r.code, 0, r.stderr);
      return /Logging (?:outputs|filters): (.*)\n/s.exec(r.stdout)![1]!.replace(/\n+$/, '');
    };
    const reset = async (list: 'outputs' | 'filters') => {
      const r = await target.virtAdmin(`daemon-log-${list}`, `--${list}`, '');
      assert.equal(r.code, 0, r.stderr);
    };

    before(async () => {
      target = await startTarget();
      const { allowed: A, outside: O } = target;
      folders = { A, O };
      await writeFile(join(A, 'existing.log'), '');
      await writeFile(join(A, 'real.log'), '');
      await symlink(join(A, 'real.log'), join(A, 'inner.log'));
      await writeFile(join(O, 'existing.log'), 'not for the daemon\n');
      await symlink(join(O, 'existing.log'), join(A, 'escape.log'));
      await symlink(join(O, 'target.log'), join(A, 'dangling.log'));
      await symlink(O, join(A, 'escape-dir'));
      await mkdir(join(A, 'sub'));
      execFileSync('mkfifo', [join(A, 'pipe.log')]);
      policy = new LogOutputPolicy([A]);
      const tokens = TokenStore.fromEntries(
        parseTokensFile(tokenLine('admin', ADMIN.authorization.slice(7), 'corpus')),
      );
      app = Fastify(gatewayServerOptions());
      await app.register(gateway, {
        daemons: [{ uri: target.adminUri }],
        callTimeoutMs: 10_000,
        // The corpus sends more changes a minute than the default rate limit lets one caller make.
        security: { authenticator: servingAnyone({ tokens }), logPolicy: policy, mutationRateLimit: 0 },
      });
      await app.ready();
    });
    after(async () => {
      await app?.close();
      await target?.stop();
    });

    it('starts from the default output and no filter', async () => {
      assert.equal(await shown('outputs'), target.defaultOutputs);
      assert.equal(await shown('filters'), '');
    });

    for (const entry of LOG_CORPUS) {
      const label = `${entry.list}: ${entry.name}`;
      if ('shows' in entry.expect) {
        const expect = entry.expect;
        it(`sends ${label}, and the daemon opens exactly the files the gateway named`, async () => {
          const text = entry.text(folders);
          const before = await listTree(target.sandbox);
          let named: string[] = [];
          if (entry.list === 'outputs') {
            const approved = await policy.approveOutputs(text);
            assert.equal(approved.wire, text);
            named = approved.outputs === null ? [] : approved.files;
            const files = expect.files === 'default' ? [] : (expect.files?.(folders) ?? []);
            assert.deepEqual(named, files, 'the files the gateway names');
          } else {
            assert.equal(policy.approveFilters(text).wire, text);
          }

          const res = await app.inject({
            method: 'PATCH',
            url: '/daemon/logging',
            headers: ADMIN,
            payload: { [entry.list]: text },
          });
          assert.equal(res.statusCode, 200, res.body);
          const want = expect.shows(folders) || (entry.list === 'outputs' ? target.defaultOutputs : '');
          assert.equal(
            res.json<{ raw: Record<string, string> }>().raw[entry.list],
            want,
            'the state the gateway reports',
          );
          assert.equal(await shown(entry.list), want, 'what virt-admin shows');

          const after = await listTree(target.sandbox);
          const created = after.filter((p) => !before.includes(p)).map((p) => join(target.sandbox, p));
          const opened = expect.files === 'default' ? [target.defaultLogFile] : named;
          assert.deepEqual(
            created.sort(),
            opened.filter((p) => !before.includes(p.slice(target.sandbox.length + 1))).sort(),
            'files that appeared',
          );
          assert.deepEqual(
            before.filter((p) => !after.includes(p)),
            [],
            'files that went away',
          );
          if (entry.list === 'outputs') {
            assert.deepEqual(
              [...new Set(target.openFiles())].sort(),
              [...new Set(opened.map((p) => realpathSync(p)))].sort(),
              'files the daemon holds open',
            );
          }

          await reset(entry.list);
          for (const path of created) await rm(path);
        });
      } else {
        const expect = entry.expect;
        it(`refuses ${label} with ${expect.status}`, async () => {
          const text = entry.text(folders);
          const token = expect.names(folders);
          const before = await listTree(target.sandbox);
          const state = { outputs: await shown('outputs'), filters: await shown('filters') };

          // The policy alone first: if it let the string through, it must not reach a daemon.
          const decision = await Promise.resolve()
            .then(async (): Promise<unknown> =>
              entry.list === 'outputs' ? policy.approveOutputs(text) : policy.approveFilters(text),
            )
            .then(
              () => null,
              (err: unknown) => err,
            );
          assert.ok(decision !== null, 'the policy let it through');
          const [kind, status] =
            decision instanceof LogOutputRefusedError
              ? ['403', 403]
              : decision instanceof LogStringRefusedError || decision instanceof LoggingSyntaxError
                ? ['400', 400]
                : [`${decision as Error}`, 0];
          assert.equal(status, expect.status, `${kind}: ${String(decision as Error)}`);
          const message = (decision as Error).message;
          assert.ok(
            message.includes(JSON.stringify(token)) || message.includes(`'${token}'`),
            `${message} should name ${JSON.stringify(token)}`,
          );
          if (expect.unsafeToSend !== undefined) return;

          for (const method of ['PATCH', 'PUT'] as const) {
            // PUT carries a good value for the other list: it must not be applied either.
            const payload =
              method === 'PATCH'
                ? { [entry.list]: text }
                : { outputs: '3:stderr', filters: '1:corpus', [entry.list]: text };
            const res = await app.inject({ method, url: '/daemon/logging', headers: ADMIN, payload });
            assert.equal(res.statusCode, expect.status, res.body);
            assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
            assert.equal(res.json<{ detail: string }>().detail, message);
          }
          assert.deepEqual({ outputs: await shown('outputs'), filters: await shown('filters') }, state);
          assert.deepEqual(await listTree(target.sandbox), before);
        });
      }
    }
  });
}
