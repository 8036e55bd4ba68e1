import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, type Config } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'config-file-'));
let n = 0;
/** A config file with `text`; its path. */
function file(text: string): string {
  const path = join(dir, `gateway-${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}
function config(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const result = loadConfig(argv, { XDG_RUNTIME_DIR: '/run/user/1000', ...env });
  assert.equal(result.kind, 'run');
  return (result as { config: Config }).config;
}
function refused(argv: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}): void {
  assert.throws(
    () => loadConfig(argv, env),
    (err: unknown) => err instanceof ConfigError && pattern.test(err.message),
  );
}

describe('--config: a YAML file of options', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  const FILE = `
# Keys are the schema's camelCase names.
listen: 0.0.0.0:9000
callTimeoutMs: 2500
poolSize: 2
connect:
  - libvirtd:///system
  - virtlogd:///system
clientHistory: true
allowedHosts: [gw.example.com, "*.example.net"]
allowedLogDirs: [/var/log/libvirt, /srv/logs]
logLevel: warn
insecure: true
`;

  it('sets every kind of option: strings, integers, booleans and lists', () => {
    const c = config(['--config', file(FILE)]);
    assert.equal(c.listen, '0.0.0.0:9000');
    assert.equal(c.callTimeoutMs, 2500);
    assert.equal(c.poolSize, 2);
    assert.deepEqual(c.connect, ['libvirtd:///system', 'virtlogd:///system']);
    assert.equal(c.clientHistory, true);
    assert.deepEqual(c.allowedHosts, ['gw.example.com', '*.example.net']);
    assert.deepEqual(c.allowedLogDirs, ['/var/log/libvirt', '/srv/logs']);
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.insecure, true);
    // What the file leaves out keeps its default.
    assert.equal(c.maxInFlight, config([]).maxInFlight);
  });

  it('flags win over the environment, the environment over the file, the file over the defaults', () => {
    const path = file('listen: 127.0.0.1:9001\ncallTimeoutMs: 2000\nlogLevel: debug\n');
    const env = { LIBVIRT_ADMIN_GATEWAY_CALL_TIMEOUT_MS: '3000', LIBVIRT_ADMIN_GATEWAY_LOG_LEVEL: 'error' };
    const c = config(['--config', path, '--log-level', 'trace'], env);
    assert.equal(c.listen, '127.0.0.1:9001');
    assert.equal(c.callTimeoutMs, 3000);
    assert.equal(c.logLevel, 'trace');
    assert.equal(c.watchIntervalMs, 1000);
  });

  it('is also named by LIBVIRT_ADMIN_GATEWAY_CONFIG; --config wins', () => {
    const a = file('listen: 127.0.0.1:9002\n');
    const b = file('listen: 127.0.0.1:9003\n');
    assert.equal(config([], { LIBVIRT_ADMIN_GATEWAY_CONFIG: a }).listen, '127.0.0.1:9002');
    assert.equal(config(['--config', b], { LIBVIRT_ADMIN_GATEWAY_CONFIG: a }).listen, '127.0.0.1:9003');
  });

  it('an empty file changes nothing', () => {
    assert.deepEqual(config(['--config', file('# nothing\n')]), config([]));
  });

  it('refuses unknown keys, naming the key and the file', () => {
    const path = file('listen: 127.0.0.1:9000\npoolsize: 3\n');
    refused(['--config', path], new RegExp(`unknown key 'poolsize' in the config file ${path}.*poolSize`));
    // The flag spelling is not a key either.
    refused(['--config', file('call-timeout: 5\n')], /unknown key 'call-timeout'/);
  });

  it('refuses values the schema refuses, naming the key, the file and the value', () => {
    const cases: Array<[string, RegExp]> = [
      [
        'callTimeoutMs: 0\n',
        /invalid 'callTimeoutMs' in the config file .*: 0: Expected integer to be greater or equal to 1/,
      ],
      ['callTimeoutMs: "5000"\n', /invalid 'callTimeoutMs' .*: "5000": Expected integer/],
      ['poolSize: 1.5\n', /invalid 'poolSize' .*: 1.5/],
      ['listen: nowhere\n', /invalid 'listen' .*: "nowhere"/],
      ['logLevel: loud\n', /invalid 'logLevel'/],
      ['clientHistory: "yes"\n', /invalid 'clientHistory' .*: "yes": Expected boolean/],
      ['connect: libvirtd:///system\n', /invalid 'connect' .*: Expected array/],
      ['allowedLogDirs: [relative/dir]\n', /invalid 'allowedLogDirs'/],
    ];
    for (const [text, pattern] of cases) {
      const path = file(text);
      refused(['--config', path], pattern);
      refused(['--config', path], new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
  });

  it('refuses a file that is not YAML, not a mapping, or not there', () => {
    refused(['--config', file('listen: [unclosed\n')], /is not valid YAML/);
    refused(['--config', file('listen: a\nlisten: b\n')], /is not valid YAML.*(Map keys must be unique|unique)/s);
    refused(['--config', file('- listen\n')], /must be a mapping of option names to values/);
    refused(['--config', join(dir, 'missing.yaml')], /cannot read the config file .*missing\.yaml/);
  });

  it('cross-option checks still apply to what the file gives', () => {
    refused(['--config', file('connect: ["qemu:///system"]\n')], /invalid --connect "qemu:\/\/\/system"/);
  });
});
