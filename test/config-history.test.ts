// The options of the samples and the client history: defaults, flags and environment, bad values refused with the
// option's name, and a gateway that will not start on an unsafe state folder (exit 2) but records into a good one.
import assert from 'node:assert/strict';
import { chown, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { startGateway, StartupError } from '../src/server.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from './harness/embedded.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const result = loadConfig(argv, env);
  assert.equal(result.kind, 'run');
  return (result as { config: Config }).config;
}

describe('history options', () => {
  it('default to no history, 16 MiB, an hour of samples, and the per-user state folder', () => {
    const c = config([], { HOME: '/home/u' });
    assert.equal(c.clientHistory, false);
    assert.equal(c.clientHistoryMaxBytes, 16 * 1024 * 1024);
    assert.equal(c.samplesPerServer, 3600);
    assert.equal(
      c.stateDir,
      process.getuid!() === 0 ? '/var/lib/libvirt-admin-gateway' : '/home/u/.local/state/libvirt-admin-gateway',
    );
  });

  it('are read from flags and from the environment, flags first', () => {
    const flags = config([
      '--client-history',
      '--state-dir',
      '/srv/gw',
      '--client-history-max-bytes',
      '1048576',
      '--samples-per-server',
      '600',
    ]);
    assert.deepEqual(
      [flags.clientHistory, flags.stateDir, flags.clientHistoryMaxBytes, flags.samplesPerServer],
      [true, '/srv/gw', 1048576, 600],
    );
    const env = config([], {
      LIBVIRT_ADMIN_GATEWAY_CLIENT_HISTORY: 'true',
      LIBVIRT_ADMIN_GATEWAY_STATE_DIR: '/srv/env',
      LIBVIRT_ADMIN_GATEWAY_CLIENT_HISTORY_MAX_BYTES: '65536',
      LIBVIRT_ADMIN_GATEWAY_SAMPLES_PER_SERVER: '60',
    });
    assert.deepEqual(
      [env.clientHistory, env.stateDir, env.clientHistoryMaxBytes, env.samplesPerServer],
      [true, '/srv/env', 65536, 60],
    );
    assert.equal(config(['--state-dir', '/a'], { LIBVIRT_ADMIN_GATEWAY_STATE_DIR: '/b' }).stateDir, '/a');
  });

  for (const [argv, env, message] of [
    [['--state-dir', 'relative'], {}, /--state-dir/],
    [['--client-history-max-bytes', '1000'], {}, /--client-history-max-bytes/],
    [['--samples-per-server', '0'], {}, /--samples-per-server/],
    [['--samples-per-server', '1e3'], {}, /--samples-per-server/],
    [[], { LIBVIRT_ADMIN_GATEWAY_CLIENT_HISTORY: 'yes' }, /--client-history/],
  ] as const) {
    it(`refuses ${JSON.stringify(argv)} ${JSON.stringify(env)}`, () => {
      assert.throws(
        () => loadConfig([...argv], { ...env }),
        (err: Error) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }
});

describe('a gateway with --client-history', () => {
  let daemon: EmbeddedDaemonHandle;
  let root: string;
  before(async () => {
    daemon = await startEmbeddedDaemon();
    root = await mkdtemp(join(tmpdir(), 'gw-state-'));
  });
  after(async () => {
    await daemon?.stop();
    await rm(root, { recursive: true, force: true });
  });

  // --insecure: the in-process requests below have no connection of a listener, which only a gateway that serves
  // anyone answers; who may call is not this test's subject.
  const start = (stateDir: string) =>
    startGateway(
      config([
        '--connect',
        daemon.adminUri,
        '--listen',
        '127.0.0.1:0',
        '--log-level',
        'silent',
        '--insecure',
        '--client-history',
        '--state-dir',
        stateDir,
      ]),
      () => {},
    );

  it('refuses to start on a state folder of another user, saying which (exit 2)', async () => {
    const theirs = join(root, 'theirs');
    await mkdir(theirs, { mode: 0o700 });
    await chown(theirs, 65534, 65534);
    await assert.rejects(
      start(theirs),
      (err: Error) =>
        err instanceof StartupError && err.exitCode === 2 && /--state-dir .*belongs to uid 65534/.test(err.message),
    );
  });

  it('creates its state folder 0700 and records there', async () => {
    const dir = join(root, 'new', 'state');
    const gw = await start(dir);
    try {
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      assert.equal(gw.app.monitoring.monitor.isWatching, true, 'the history keeps the watchers polling');
      const res = await gw.app.inject({ url: '/servers/admin/client-history' });
      assert.equal(res.json().enabled, true);
    } finally {
      await gw.close();
    }
    assert.equal((await stat(join(dir, 'client-history.jsonl'))).mode & 0o777, 0o600);
  });
});
