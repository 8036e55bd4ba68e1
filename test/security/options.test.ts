import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  SECURITY_ARGS,
  SECURITY_OPTIONS,
  securityRawConfig,
  SecurityConfigProperties,
} from '../../src/security/options.js';

const schema = Type.Object(SecurityConfigProperties, { additionalProperties: false });

describe('security options', () => {
  it('defaults to no credentials and an owner-only socket mode; the log folders come from config.ts', () => {
    const raw = securityRawConfig({}, {});
    assert.deepEqual(raw, {
      insecure: false,
      allowedLogDirs: undefined,
      listenSocketMode: '0600',
      mutationRateLimit: 60,
    });
    assert.equal(Value.Check(schema, { ...raw, allowedLogDirs: ['/var/log/libvirt'] }), true);
  });

  it('reads every option from its environment variable', () => {
    const env = {
      LIBVIRT_ADMIN_GATEWAY_TOKENS_FILE: '/etc/gw/tokens',
      LIBVIRT_ADMIN_GATEWAY_TLS_CERT: '/c.pem',
      LIBVIRT_ADMIN_GATEWAY_TLS_KEY: '/k.pem',
      LIBVIRT_ADMIN_GATEWAY_TLS_CLIENT_CA: '/ca.pem',
      LIBVIRT_ADMIN_GATEWAY_TLS_CLIENT_ROLES: '/roles',
      LIBVIRT_ADMIN_GATEWAY_INSECURE: 'true',
      LIBVIRT_ADMIN_GATEWAY_ALLOWED_LOG_DIRS: '/var/log/libvirt:/srv/logs',
      LIBVIRT_ADMIN_GATEWAY_LISTEN_SOCKET: '/run/gw.sock',
      LIBVIRT_ADMIN_GATEWAY_LISTEN_SOCKET_MODE: '0600',
      LIBVIRT_ADMIN_GATEWAY_MUTATION_RATE_LIMIT: '5',
      LIBVIRT_ADMIN_GATEWAY_ALLOWED_HOSTS: 'gw.example.com, *.svc.cluster.local,,10.0.0.7',
      LIBVIRT_ADMIN_GATEWAY_AUTH_FAILURE_LIMIT: '20',
    };
    const raw = securityRawConfig({}, env);
    assert.deepEqual(Value.Convert(schema, raw), {
      tokensFile: '/etc/gw/tokens',
      tlsCert: '/c.pem',
      tlsKey: '/k.pem',
      tlsClientCa: '/ca.pem',
      tlsClientRoles: '/roles',
      insecure: true,
      allowedLogDirs: ['/var/log/libvirt', '/srv/logs'],
      listenSocket: '/run/gw.sock',
      listenSocketMode: '0600',
      mutationRateLimit: 5,
      allowedHosts: ['gw.example.com', '*.svc.cluster.local', '10.0.0.7'],
      authFailureLimit: 20,
    });
    // Every option has an environment variable, and every flag a parseArgs declaration.
    assert.deepEqual(Object.keys(SECURITY_OPTIONS).sort(), Object.keys(SecurityConfigProperties).sort());
    for (const option of Object.values(SECURITY_OPTIONS)) assert.ok(option.flag in SECURITY_ARGS, option.flag);
  });

  it('lets flags win over the environment; repeated --allowed-log-dir replaces the default', () => {
    const raw = securityRawConfig(
      { 'tokens-file': '/flag', insecure: true, 'allowed-log-dir': ['/a', '/b'] },
      { LIBVIRT_ADMIN_GATEWAY_TOKENS_FILE: '/env', LIBVIRT_ADMIN_GATEWAY_ALLOWED_LOG_DIRS: '/c' },
    );
    assert.equal(raw['tokensFile'], '/flag');
    assert.equal(raw['insecure'], true);
    assert.deepEqual(raw['allowedLogDirs'], ['/a', '/b']);
  });

  it('reads booleans strictly', () => {
    for (const [value, expected] of [
      ['1', true],
      ['YES', true],
      ['off', false],
      ['', false],
      ['0', false],
    ] as const) {
      assert.equal(securityRawConfig({}, { LIBVIRT_ADMIN_GATEWAY_INSECURE: value })['insecure'], expected, value);
    }
    assert.throws(() => securityRawConfig({}, { LIBVIRT_ADMIN_GATEWAY_INSECURE: 'maybe' }), {
      message: 'invalid LIBVIRT_ADMIN_GATEWAY_INSECURE "maybe": expected true or false',
    });
  });

  it('rejects relative allowed directories and bad socket modes in the schema', () => {
    assert.equal(Value.Check(schema, { ...securityRawConfig({}, {}), allowedLogDirs: ['var/log'] }), false);
    assert.equal(Value.Check(schema, { ...securityRawConfig({}, {}), allowedLogDirs: [] }), false);
    assert.equal(Value.Check(schema, { ...securityRawConfig({}, {}), listenSocketMode: '0999' }), false);
  });
});

describe('security options in loadConfig', () => {
  it('come from flags and the environment through the one config schema', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config.js');
    const invocation = loadConfig(
      [
        '--insecure',
        '--allowed-log-dir',
        '/a',
        '--allowed-log-dir',
        '/b',
        '--listen-socket',
        '/run/gw.sock',
        '--mutation-rate-limit',
        '0',
      ],
      { LIBVIRT_ADMIN_GATEWAY_TLS_CERT: '/c.pem', LIBVIRT_ADMIN_GATEWAY_TLS_KEY: '/k.pem' },
    );
    assert.equal(invocation.kind, 'run');
    if (invocation.kind !== 'run') return;
    const { insecure, allowedLogDirs, listenSocket, listenSocketMode, mutationRateLimit, tlsCert, tlsKey, tokensFile } =
      invocation.config;
    assert.deepEqual(
      { insecure, allowedLogDirs, listenSocket, listenSocketMode, mutationRateLimit, tlsCert, tlsKey, tokensFile },
      {
        insecure: true,
        allowedLogDirs: ['/a', '/b'],
        listenSocket: '/run/gw.sock',
        listenSocketMode: '0600',
        mutationRateLimit: 0,
        tlsCert: '/c.pem',
        tlsKey: '/k.pem',
        tokensFile: undefined,
      },
    );
    assert.throws(() => loadConfig([], { LIBVIRT_ADMIN_GATEWAY_INSECURE: 'maybe' }), ConfigError);
    assert.throws(() => loadConfig(['--allowed-log-dir', 'relative']), {
      name: 'ConfigError',
      message: /^invalid --allowed-log-dir \(or LIBVIRT_ADMIN_GATEWAY_ALLOWED_LOG_DIRS\) "relative"/,
    });
    assert.throws(() => loadConfig(['--listen-socket-mode', '999']), {
      name: 'ConfigError',
      message: /--listen-socket-mode/,
    });
  });

  it('take --allowed-host (repeatable, flags win) and --auth-failure-limit, refusing what is not a host name', async () => {
    const { loadConfig } = await import('../../src/config.js');
    const invocation = loadConfig(
      ['--allowed-host', 'a.example', '--allowed-host', '*.b.example', '--auth-failure-limit', '0'],
      {
        LIBVIRT_ADMIN_GATEWAY_ALLOWED_HOSTS: 'c.example',
      },
    );
    assert.equal(invocation.kind, 'run');
    if (invocation.kind !== 'run') return;
    assert.deepEqual(
      [invocation.config.allowedHosts, invocation.config.authFailureLimit],
      [['a.example', '*.b.example'], 0],
    );
    const defaults = loadConfig([], {});
    assert.equal(defaults.kind, 'run');
    if (defaults.kind !== 'run') return;
    assert.deepEqual([defaults.config.allowedHosts, defaults.config.authFailureLimit], [undefined, undefined]);
    assert.throws(() => loadConfig(['--allowed-host', 'http://x']), {
      name: 'ConfigError',
      message: '--allowed-host "http://x" is not a host name, *.domain or IP address',
    });
    assert.throws(() => loadConfig([], { LIBVIRT_ADMIN_GATEWAY_ALLOWED_HOSTS: 'ok.example,bad host' }), {
      name: 'ConfigError',
      message: /"bad host"/,
    });
    assert.throws(() => loadConfig(['--auth-failure-limit', '-1']), {
      name: 'ConfigError',
      message: /--auth-failure-limit/,
    });
  });
});
