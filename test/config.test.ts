import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, VERSION, listenAddress, loadConfig, type Config } from '../src/config.js';

// The options of the gateway core; the other options (load, security) are tested with their modules.
const CORE = ['connect', 'listen', 'embeddedSocket', 'callTimeoutMs', 'logLevel'] as const;
type CoreConfig = Pick<Config, (typeof CORE)[number]>;

function run(argv: string[], env: NodeJS.ProcessEnv = {}): CoreConfig {
  const result = loadConfig(argv, env);
  assert.equal(result.kind, 'run');
  const config = (result as { config: Config }).config;
  return Object.fromEntries(CORE.map((key) => [key, config[key]])) as CoreConfig;
}

describe('loadConfig', () => {
  it('has defaults for everything but the daemons', () => {
    assert.deepEqual(run([], { XDG_RUNTIME_DIR: '/run/user/1000' }), {
      connect: [],
      listen: '127.0.0.1:8080',
      embeddedSocket: '/run/user/1000/libvirt-admin-gateway/libvirt-admin-sock',
      callTimeoutMs: 10000,
      logLevel: 'info',
    });
  });

  it('puts the embedded socket and its logs in the runtime folder, which --runtime-dir or its variable moves', () => {
    const config = (argv: string[], env: NodeJS.ProcessEnv) => (loadConfig(argv, env) as { config: Config }).config;
    const pick = ({ runtimeDir, embeddedSocket, allowedLogDirs }: Config) => ({
      runtimeDir,
      embeddedSocket,
      allowedLogDirs,
    });
    assert.deepEqual(
      pick(config([], { RUNTIME_DIRECTORY: '/run/libvirt-admin-gateway', XDG_RUNTIME_DIR: '/run/user/0' })),
      {
        runtimeDir: '/run/libvirt-admin-gateway',
        embeddedSocket: '/run/libvirt-admin-gateway/libvirt-admin-sock',
        allowedLogDirs: ['/run/libvirt-admin-gateway/log'],
      },
    );
    assert.deepEqual(pick(config(['--runtime-dir', '/srv/gw'], { LIBVIRT_ADMIN_GATEWAY_RUNTIME_DIR: '/elsewhere' })), {
      runtimeDir: '/srv/gw',
      embeddedSocket: '/srv/gw/libvirt-admin-sock',
      allowedLogDirs: ['/srv/gw/log'],
    });
    assert.equal(config([], { LIBVIRT_ADMIN_GATEWAY_RUNTIME_DIR: '/elsewhere' }).runtimeDir, '/elsewhere');
    // A daemon of the host logs where libvirt's daemons do; an explicit list always wins.
    assert.deepEqual(config(['--connect', 'libvirtd:///system'], {}).allowedLogDirs, ['/var/log/libvirt']);
    assert.deepEqual(config(['--allowed-log-dir', '/srv/logs'], {}).allowedLogDirs, ['/srv/logs']);
    // An explicit embedded socket stays where it is put.
    assert.equal(
      config(['--embedded-socket', '/tmp/x.sock', '--runtime-dir', '/srv/gw'], {}).embeddedSocket,
      '/tmp/x.sock',
    );
  });

  it('reads every option from the command line', () => {
    const config = run([
      '--connect',
      'libvirtd:///system',
      '--connect',
      'virtlogd:///system',
      '--listen',
      '[::1]:9000',
      '--embedded-socket',
      '/tmp/x.sock',
      '--call-timeout',
      '2500',
      '--log-level',
      'debug',
    ]);
    assert.deepEqual(config, {
      connect: ['libvirtd:///system', 'virtlogd:///system'],
      listen: '[::1]:9000',
      embeddedSocket: '/tmp/x.sock',
      callTimeoutMs: 2500,
      logLevel: 'debug',
    });
  });

  it('reads every option from the environment, URIs space-separated', () => {
    const config = run([], {
      LIBVIRT_ADMIN_GATEWAY_CONNECT: ' libvirtd:///system   virtqemud:///session ',
      LIBVIRT_ADMIN_GATEWAY_LISTEN: '0.0.0.0:80',
      LIBVIRT_ADMIN_GATEWAY_EMBEDDED_SOCKET: '/run/x',
      LIBVIRT_ADMIN_GATEWAY_CALL_TIMEOUT_MS: '500',
      LIBVIRT_ADMIN_GATEWAY_LOG_LEVEL: 'warn',
    });
    assert.deepEqual(config, {
      connect: ['libvirtd:///system', 'virtqemud:///session'],
      listen: '0.0.0.0:80',
      embeddedSocket: '/run/x',
      callTimeoutMs: 500,
      logLevel: 'warn',
    });
  });

  it("takes the embedded daemon's libvirt version: 9.0.0 by default, 11.3.0 on request, nothing else", () => {
    const version = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const result = loadConfig(argv, env);
      assert.equal(result.kind, 'run');
      return (result as { config: Config }).config.embeddedVersion;
    };
    assert.equal(version([]), '9.0.0');
    assert.equal(version(['--embedded-version', '11.3.0']), '11.3.0');
    assert.equal(version([], { LIBVIRT_ADMIN_GATEWAY_EMBEDDED_VERSION: '11.3.0' }), '11.3.0');
    assert.throws(
      () => loadConfig(['--embedded-version', '10.0.0']),
      (e: unknown) =>
        e instanceof ConfigError &&
        /invalid --embedded-version .*"10\.0\.0".*expected one of 9\.0\.0, 11\.3\.0/.test(e.message),
    );
  });

  it('lets the command line win over the environment', () => {
    const config = run(['--connect', 'virtlogd:///system', '--listen', '127.0.0.1:1'], {
      LIBVIRT_ADMIN_GATEWAY_CONNECT: 'libvirtd:///system',
      LIBVIRT_ADMIN_GATEWAY_LISTEN: '0.0.0.0:80',
    });
    assert.deepEqual(config.connect, ['virtlogd:///system']);
    assert.equal(config.listen, '127.0.0.1:1');
  });

  it('answers --help and --version without checking anything else', () => {
    const help = loadConfig(['--help', '--listen', 'garbage']);
    assert.equal(help.kind, 'help');
    assert.match((help as { text: string }).text, /--connect <admin URI>[\s\S]*LIBVIRT_ADMIN_GATEWAY_CALL_TIMEOUT_MS/);
    assert.deepEqual(loadConfig(['--version']), { kind: 'version', text: `libvirt-admin-gateway ${VERSION}\n` });
  });

  const bad: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--bogus'], {}, /Unknown option '--bogus'/],
    [['stray'], {}, /positional argument/],
    [['--listen'], {}, /argument missing/],
    [['--listen', 'localhost'], {}, /invalid --listen .*"localhost".*host:port/],
    [['--listen', 'h:70000'], {}, /port 70000 is above 65535/],
    [['--call-timeout', 'soon'], {}, /invalid --call-timeout .*"soon"/],
    [['--call-timeout', '0'], {}, /invalid --call-timeout/],
    [['--log-level', 'loud'], {}, /invalid --log-level .*expected one of fatal, error/],
    [['--connect', 'foo:///system'], {}, /invalid --connect "foo:\/\/\/system": .*Unsupported URI scheme 'foo'/],
    [['--connect', 'libvirtd:///nowhere'], {}, /Invalid URI path '\/nowhere'/],
    [[], { LIBVIRT_ADMIN_GATEWAY_CALL_TIMEOUT_MS: '1.5' }, /LIBVIRT_ADMIN_GATEWAY_CALL_TIMEOUT_MS/],
  ];
  for (const [argv, env, message] of bad) {
    it(`refuses ${JSON.stringify(argv)} ${JSON.stringify(env)}`, () => {
      assert.throws(
        () => loadConfig(argv, env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }
});

describe('listenAddress', () => {
  it('splits host and port, unwrapping IPv6', () => {
    assert.deepEqual(listenAddress('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(listenAddress('[::1]:0'), { host: '::1', port: 0 });
  });
});
