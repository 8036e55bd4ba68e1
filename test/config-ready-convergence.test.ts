// --ready-requires-convergence: off by default; a flag, an environment variable (true/false) and a config-file key
// like the other boolean options, flag first; a value that is not a boolean is refused with the option's name.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, type Config } from '../src/config.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const result = loadConfig(argv, env);
  assert.equal(result.kind, 'run');
  return (result as { config: Config }).config;
}

const ENV = 'LIBVIRT_ADMIN_GATEWAY_READY_REQUIRES_CONVERGENCE';

describe('--ready-requires-convergence', () => {
  it('is off by default, on with the flag or the environment', () => {
    assert.equal(config([]).readyRequiresConvergence, false);
    assert.equal(config(['--ready-requires-convergence']).readyRequiresConvergence, true);
    assert.equal(config([], { [ENV]: 'true' }).readyRequiresConvergence, true);
    assert.equal(config([], { [ENV]: 'false' }).readyRequiresConvergence, false);
  });

  it('is read from the config file, the environment winning over it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ready-conv-'));
    try {
      const file = join(dir, 'gateway.yaml');
      await writeFile(file, 'readyRequiresConvergence: true\n');
      assert.equal(config(['--config', file]).readyRequiresConvergence, true);
      assert.equal(config(['--config', file], { [ENV]: 'false' }).readyRequiresConvergence, false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a value that is not true or false, naming the option', () => {
    assert.throws(
      () => loadConfig([], { [ENV]: 'yes' }),
      (err: unknown) => err instanceof ConfigError && /--ready-requires-convergence/.test(err.message),
    );
  });
});
