// The real virt-admin drives the embedded daemon and the real libvirtd 9.0.0 (test/harness/libvirtd.ts) with
// the same commands, in the same order; after normalising client ids, times, pids and the default log path, both
// must print the same thing and exit with the same status. Every virt-admin command of the admin API is here,
// with its error cases.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../harness/embedded.js';
import { parseVirtAdminTable, startRealDaemons, type RealDaemons, type VirtAdminResult } from '../harness/libvirtd.js';
import { openRawClients, type RawClients } from '../harness/raw-clients.js';
import { eventually, holdsFor } from '../helpers/wait.js';

/** The two daemons, each with what tests need to address it. */
interface Target {
  name: 'embedded' | 'libvirtd';
  adminUri: string;
  adminSocket: string;
  readOnlySocket: string;
  /** The default log file, replaced by <LOG> in outputs. */
  logFile: string;
  virtAdmin(...args: string[]): Promise<VirtAdminResult>;
}

/** What is allowed to differ between two daemons: ids, times, pids and the default log path. */
function normalise(r: VirtAdminResult, logFile: string): VirtAdminResult {
  const clean = (text: string) =>
    text
      .replaceAll(logFile, '<LOG>')
      .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4}/g, '<TIME>')
      .replace(/^(id|unix_process_id)(\s*): \d+$/gm, '$1$2: <N>')
      .replace(/^(\s*)\d+(\s+)(unix|tcp|tls)\b/gm, '$1<ID>$2$3')
      .replace(/Client '\d+'/g, "Client '<ID>'")
      .replace(/ID '\d+'/g, "ID '<ID>'")
      // Table columns are as wide as their widest cell, and ids differ in length.
      .replace(/-{3,}/g, '---')
      .replace(/[ \t]+/g, ' ');
  return { code: r.code, stdout: clean(r.stdout), stderr: clean(r.stderr) };
}

describe('virt-admin: embedded daemon versus libvirtd 9.0.0', { timeout: 300_000 }, () => {
  let real: RealDaemons;
  let embedded: EmbeddedDaemonHandle;
  let targets: [Target, Target];
  const scratch = `/tmp/virt-admin-test-${randomUUID()}.log`;

  before(async () => {
    real = await startRealDaemons({ daemons: ['libvirtd'] });
    // A `stderr` log output set by a test must not end up in the test runner's output.
    const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
    embedded = await startEmbeddedDaemon({ logStreams: { stderr: quiet } });
    targets = [
      {
        name: 'embedded',
        adminUri: embedded.adminUri,
        adminSocket: embedded.adminSocket,
        readOnlySocket: embedded.readOnlyClientSocket,
        logFile: embedded.logFile,
        virtAdmin: (...args) => embedded.virtAdmin(...args),
      },
      {
        name: 'libvirtd',
        adminUri: real.adminUri('libvirtd'),
        adminSocket: real.adminSocket('libvirtd'),
        readOnlySocket: real.readOnlyClientSocket,
        // libvirtd runs in system mode inside its own mount namespace (see the harness).
        logFile: '/var/log/libvirt/libvirtd.log',
        virtAdmin: (...args) => real.virtAdmin('libvirtd', ...args),
      },
    ];
  });
  after(async () => {
    await embedded?.stop();
    await real?.stop();
    await rm(scratch, { force: true });
  });

  /** Runs the command on both daemons (embedded first) and checks they agree; returns the embedded result. */
  async function same(...args: string[]): Promise<VirtAdminResult> {
    const [emb, lib] = targets;
    const a = await emb.virtAdmin(...args);
    const b = await lib.virtAdmin(...args);
    assert.deepEqual(normalise(a, emb.logFile), normalise(b, lib.logFile), `virt-admin ${args.join(' ')}`);
    return a;
  }

  /** Like `same`, with arguments that differ per daemon (client ids). */
  async function sameWith(args: (t: Target, i: number) => string[]): Promise<VirtAdminResult> {
    const results = [];
    for (const [i, t] of targets.entries()) results.push(normalise(await t.virtAdmin(...args(t, i)), t.logFile));
    assert.deepEqual(results[0], results[1], `virt-admin ${args(targets[0], 0).join(' ')}`);
    return results[0]!;
  }

  test('version', async () => {
    const r = await same('version');
    assert.match(r.stdout, /Running against daemon: 9\.0\.0/);
  });

  test('srv-list (libvirtd lists its servers in hash order, which changes from run to run)', async () => {
    const names = [];
    for (const t of targets) {
      const r = await t.virtAdmin('srv-list');
      assert.equal(r.code, 0);
      names.push(
        parseVirtAdminTable(r.stdout)
          .map(([, name]) => name)
          .sort(),
      );
    }
    assert.deepEqual(names[0], names[1]);
    assert.deepEqual(names[0], ['admin', 'libvirtd']);
    for (const t of targets) assert.deepEqual(await t.virtAdmin('server-list'), await t.virtAdmin('srv-list'));
  });

  test('srv-threadpool-info', async () => {
    await same('srv-threadpool-info', 'libvirtd');
    const r = await same('srv-threadpool-info', 'admin');
    // The call itself occupies one of the admin server's workers.
    assert.match(r.stdout, /nWorkers {7}: 5\nfreeWorkers {4}: 4\n/);
  });

  test('unknown server: every server and client command', async () => {
    for (const args of [
      ['srv-threadpool-info', 'nosuch'],
      ['srv-threadpool-set', 'nosuch', '--min-workers', '1'],
      ['srv-clients-info', 'nosuch'],
      ['srv-clients-set', 'nosuch', '--max-clients', '10'],
      ['srv-clients-list', 'nosuch'],
      ['client-info', 'nosuch', '1'],
      ['client-disconnect', 'nosuch', '1'],
      ['srv-update-tls', 'nosuch'],
    ]) {
      const r = await same(...args);
      assert.equal(r.code, 1);
    }
  });

  test('srv-threadpool-set: validation, spawning, retiring, priority workers', async () => {
    for (const server of ['libvirtd', 'admin']) {
      for (const args of [
        ['--min-workers', '30'],
        ['--min-workers', '0', '--max-workers', '0'],
        ['--max-workers', '4'],
        ['--min-workers', '8'],
        ['--min-workers', '2', '--max-workers', '6'],
        ['--priority-workers', '1'],
        ['--priority-workers', '7'],
        ['--min-workers', '1', '--max-workers', '2'],
        ['--max-workers', '20', '--min-workers', '5', '--priority-workers', server === 'admin' ? '0' : '5'],
      ]) {
        await same('srv-threadpool-set', server, ...args);
        await same('srv-threadpool-info', server);
      }
    }
    const r = await same('srv-threadpool-set', 'admin');
    assert.match(r.stderr, /At least one of options/);
  });

  test('srv-clients-info and srv-clients-set', async () => {
    await same('srv-clients-info', 'admin');
    await same('srv-clients-info', 'libvirtd');
    for (const args of [
      ['admin', '--max-unauth-clients', '6000'],
      ['admin', '--max-clients', '1', '--max-unauth-clients', '2'],
      ['admin'],
      ['libvirtd', '--max-clients', '100', '--max-unauth-clients', '10'],
      ['libvirtd', '--max-clients', '10'],
      ['libvirtd', '--max-clients', '5000', '--max-unauth-clients', '20'],
      ['admin', '--max-clients', '7', '--max-unauth-clients', '7'],
      ['admin', '--max-clients', '5000', '--max-unauth-clients', '0'],
    ]) {
      await same('srv-clients-set', ...args);
      await same('srv-clients-info', args[0]!);
    }
  });

  test('srv-clients-list, client-info and client-disconnect', async () => {
    const admins: AdminClient[] = [];
    const raws: RawClients[] = [];
    try {
      for (const t of targets) {
        admins.push(await AdminClient.connect(t.adminUri));
        raws.push(await openRawClients(t.readOnlySocket, 2));
      }
      const adminIds = await Promise.all(admins.map(async (c) => String((await c.listClients('admin'))[0]!.id)));
      const roIds = await Promise.all(admins.map(async (c) => String((await c.listClients('libvirtd'))[1]!.id)));

      const list = await same('srv-clients-list', 'admin');
      assert.equal(parseVirtAdminTable(list.stdout).length, 2);
      assert.equal(parseVirtAdminTable((await same('client-list', 'libvirtd')).stdout).length, 2);
      await same('srv-clients-info', 'libvirtd');

      const info = await sameWith((_t, i) => ['client-info', 'admin', adminIds[i]!]);
      assert.match(info.stdout, /readonly : no\nunix_user_id : \d+\nunix_user_name : \S+/);
      const ro = await sameWith((_t, i) => ['client-info', 'libvirtd', roIds[i]!]);
      assert.match(ro.stdout, /readonly : yes/);
      await same('client-info', 'admin', '999999');
      await same('client-info', 'admin', 'abc');

      await sameWith((_t, i) => ['client-disconnect', 'libvirtd', roIds[i]!]);
      await same('srv-clients-info', 'libvirtd');
      await sameWith((_t, i) => ['client-disconnect', 'admin', adminIds[i]!]);
      for (const c of admins)
        await eventually(() => c.closed, 'the disconnected admin client sees its socket close', 5000);
      await sameWith((_t, i) => ['client-disconnect', 'admin', adminIds[i]!]);
      await same('srv-clients-list', 'admin');
    } finally {
      for (const c of admins) await c.close();
      for (const r of raws) r.close();
    }
  });

  test('daemon-log-outputs: get, set, errors, reset to the default', async () => {
    await same('daemon-log-outputs');
    for (const outputs of [
      `1:file:${scratch} 4:stderr`,
      'bad',
      '1:file',
      '5:stderr',
      '1:syslog',
      '1:foo',
      '1:file:/nonexistent-dir/x.log',
      `2:file:${scratch} 3:stderr 1:stderr 2:syslog:virt-admin-test 2:journald`,
      '',
    ]) {
      await same('daemon-log-outputs', '--outputs', outputs);
      await same('daemon-log-outputs');
    }
  });

  test('daemon-log-filters: get, set, errors, clear', async () => {
    await same('daemon-log-filters');
    for (const filters of ['1:rpc 3:+util.error 4:a:b', 'x:rpc', '1:', '1:util 2:util', '']) {
      await same('daemon-log-filters', '--filters', filters);
      await same('daemon-log-filters');
    }
  });

  test('daemon-timeout', async () => {
    await same('daemon-timeout');
    await same('daemon-timeout', '--timeout', '3600');
    await same('daemon-timeout', '--timeout', '0');
    await same('daemon-timeout', '--timeout', '-1');
  });

  test('srv-update-tls (no TLS listener)', async () => {
    for (const server of ['libvirtd', 'admin']) {
      const r = await same('srv-update-tls', server);
      assert.match(r.stderr, /no tls service found/);
    }
    await same('server-update-tls', 'admin');
  });

  test('at its client limit a server stops accepting until a client leaves', async () => {
    await same('srv-clients-set', 'admin', '--max-clients', '1');
    const holders = await Promise.all(targets.map((t) => AdminClient.connect(t.adminUri)));
    try {
      const waiting = targets.map((t) => startVirtAdmin(t.adminUri, ['version']));
      await holdsFor('virt-admin waits in the backlog', 1500, () => waiting.every((w) => !w.done));
      for (const h of holders) await h.close();
      const results = await Promise.all(waiting.map((w) => w.result));
      assert.deepEqual(results[0], results[1]);
      assert.equal(results[0]!.code, 0);
    } finally {
      for (const h of holders) await h.close();
      await same('srv-clients-set', 'admin', '--max-clients', '5000');
    }
  });
});

/** virt-admin in the background, to see whether it finishes. */
function startVirtAdmin(uri: string, args: string[]): { done: boolean; result: Promise<VirtAdminResult> } {
  const state = { done: false, result: undefined as unknown as Promise<VirtAdminResult> };
  state.result = new Promise((resolve) => {
    const child = spawn('virt-admin', ['-c', uri, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      state.done = true;
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  return state;
}
