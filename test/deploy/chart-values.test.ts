// The chart's values against values.schema.json, with ajv: the defaults and the fixture sets pass, bad
// values fail at the paths that are wrong. Fixtures are merged over the defaults as Helm merges them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  chartDir,
  compileSchema,
  defaultValues,
  describeErrors,
  fixturesDir,
  mergeValues,
  readYamlMap,
  type Values,
} from './helpers/chart.js';

const validate = compileSchema();

function check(values: Values): string[] {
  return validate(values) ? [] : describeErrors(validate.errors);
}

describe('chart values schema', () => {
  it('accepts the default values.yaml', () => {
    assert.deepEqual(check(defaultValues()), []);
  });

  for (const name of ['values-production.yaml', 'values-mtls-inline.yaml']) {
    it(`accepts the fixture ${name} merged over the defaults`, () => {
      const merged = mergeValues(defaultValues(), readYamlMap(join(fixturesDir, name)));
      assert.deepEqual(check(merged), []);
    });
  }

  it('accepts a trial set: insecure, no TLS, no tokens', () => {
    const merged = mergeValues(defaultValues(), { insecure: true, tls: { enabled: false } });
    assert.deepEqual(check(merged), []);
  });

  it('rejects values-bad.yaml at every broken path', () => {
    const errors = check(mergeValues(defaultValues(), readYamlMap(join(fixturesDir, 'values-bad.yaml'))));
    const paths = new Set(errors.map((e) => e.split(':')[0]));
    for (const path of [
      '/daemons/0',
      '/securityContext/privileged',
      '/securityContext/capabilities/add',
      '/auth/tokens/0/role',
      '/auth/tokens/0/sha256',
    ]) {
      assert.ok(paths.has(path), `no error at ${path}; got:\n${errors.join('\n')}`);
    }
    assert.ok(errors.includes('/serviceMonitor: must NOT have additional properties (intervall)'), errors.join('\n'));
  });

  // Each bad value, and the path at which the schema must report it (so it fails for the intended reason).
  const rejected: Array<[string, Values, string]> = [
    ['an unknown top-level key', { replicas: 3 }, '/'],
    ['an empty daemon list', { daemons: [] }, '/daemons'],
    [
      'a session daemon (its socket is not in the mounted run folder)',
      { daemons: ['libvirtd:///session'] },
      '/daemons/0',
    ],
    ['a daemon URI with another query parameter', { daemons: ['libvirtd:///system?mode=legacy'] }, '/daemons/0'],
    ['a duplicate daemon', { daemons: ['virtqemud:///system', 'virtqemud:///system'] }, '/daemons'],
    ['a relative log folder', { allowedLogDirs: ['var/log/libvirt'] }, '/allowedLogDirs/0'],
    ['a port out of range', { containerPort: 70000 }, '/containerPort'],
    ['an unknown log level', { logLevel: 'verbose' }, '/logLevel'],
    [
      'a token name with a space (the tokens file splits on spaces)',
      {
        auth: { tokens: [{ role: 'viewer', sha256: 'a'.repeat(64), name: 'two words' }] },
      },
      '/auth/tokens/0/name',
    ],
    [
      'an upper-case token hash',
      { auth: { tokens: [{ role: 'viewer', sha256: 'A'.repeat(64) }] } },
      '/auth/tokens/0/sha256',
    ],
    ['a certificate that is not PEM', { tls: { cert: 'MIIB...' } }, '/tls/cert'],
    ['a hostPath type that could mount a socket or file', { hostRunDir: { type: 'Socket' } }, '/hostRunDir/type'],
    [
      'an unconfined seccomp profile',
      { podSecurityContext: { seccompProfile: { type: 'Unconfined' } } },
      '/podSecurityContext/seccompProfile/type',
    ],
    ['a misspelt probe field', { probes: { liveness: { periodSecond: 3 } } }, '/probes/liveness'],
    ['a Service of type NodePort', { service: { type: 'NodePort' } }, '/service'],
    ['a ServiceMonitor interval without a unit', { serviceMonitor: { interval: '30' } }, '/serviceMonitor/interval'],
    [
      'a NetworkPolicy peer with an unknown field',
      { networkPolicy: { ingressFrom: [{ podSelectr: {} }] } },
      '/networkPolicy/ingressFrom/0',
    ],
  ];
  for (const [what, over, path] of rejected) {
    it(`rejects ${what}`, () => {
      const errors = check(mergeValues(defaultValues(), over));
      assert.ok(
        errors.some((e) => e.startsWith(`${path}: `)),
        `no error at ${path}; got:\n${errors.join('\n')}`,
      );
    });
  }
});

describe('chart README', () => {
  it('documents every leaf value of values.yaml in its values table', () => {
    const readme = readFileSync(join(chartDir, 'README.md'), 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
    const leaves: string[] = [];
    const walk = (v: unknown, prefix: string): void => {
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) {
        for (const [k, child] of Object.entries(v)) walk(child, prefix ? `${prefix}.${k}` : k);
      } else {
        leaves.push(prefix);
      }
    };
    // Maps whose keys are the user's own (labels, selectors, resources) are documented as a whole.
    const wholeMaps = new Set(['nodeSelector', 'resources', 'updateStrategy', 'podSecurityContext', 'securityContext']);
    for (const [k, v] of Object.entries(defaultValues())) {
      if (wholeMaps.has(k)) leaves.push(k);
      else walk(v, k);
    }
    const missing = leaves.filter((leaf) => !documented.has(leaf));
    assert.deepEqual(missing, [], `values missing from the README table: ${missing.join(', ')}`);
  });
});
