// --watch-interval: how often the event stream's watchers look at each daemon.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, usage, type Config } from '../src/config.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}): Config => {
  const result = loadConfig(argv, env);
  assert.equal(result.kind, 'run');
  return (result as { config: Config }).config;
};

describe('--watch-interval', () => {
  it('defaults to one second', () => {
    assert.equal(run([]).watchIntervalMs, 1000);
    assert.match(usage({}), /--watch-interval <ms>[\s\S]*default 1000[\s\S]*LIBVIRT_ADMIN_GATEWAY_WATCH_INTERVAL_MS/);
  });

  it('comes from the command line or the environment, the command line first', () => {
    assert.equal(run(['--watch-interval', '250']).watchIntervalMs, 250);
    assert.equal(run([], { LIBVIRT_ADMIN_GATEWAY_WATCH_INTERVAL_MS: '5000' }).watchIntervalMs, 5000);
    assert.equal(
      run(['--watch-interval', '300'], { LIBVIRT_ADMIN_GATEWAY_WATCH_INTERVAL_MS: '5000' }).watchIntervalMs,
      300,
    );
  });

  it('refuses values that are not whole milliseconds of at least 100', () => {
    for (const bad of ['0', '99', '1.5', 'fast', '-1']) {
      assert.throws(
        () => loadConfig([`--watch-interval=${bad}`], {}),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, /^invalid --watch-interval \(or LIBVIRT_ADMIN_GATEWAY_WATCH_INTERVAL_MS\)/);
          return true;
        },
        bad,
      );
    }
  });
});
