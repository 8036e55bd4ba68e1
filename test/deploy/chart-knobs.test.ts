// The chart's adaptation knobs (issue 14, item 5) rendered by the real Helm: extra arguments, environment,
// volumes and mounts, the ServiceMonitor's relabelings, interval and timeout, the default tolerations, hypervisor
// nodes chosen by label, and the KVM fleet example (helm/examples/kvm-fleet.yaml) that uses them all. Each object
// is checked against the Kubernetes schema (kubernetes-models), the values against values.schema.json.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { parseAllDocuments } from 'yaml';
import { chartDir, compileSchema, defaultValues, describeErrors, mergeValues, readYamlMap } from './helpers/chart.js';
import { ensureHelm, repoRoot, runHelm } from './helpers/helm.js';

type Obj = Record<string, any>;

const EXAMPLE = join(repoRoot, 'helm', 'examples', 'kvm-fleet.yaml');
const TRIAL = ['--set', 'insecure=true', '--set', 'tls.enabled=false'];

function render(args: string[]): Obj[] {
  const run = runHelm(['template', 'gw', chartDir, '--namespace', 'virt-admin', ...args]);
  assert.equal(run.status, 0, `helm template failed:\n${run.stderr}`);
  return parseAllDocuments(run.stdout)
    .map((doc) => doc.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const kind = (objects: Obj[], name: string): Obj => {
  const found = objects.filter((o) => o.kind === name);
  assert.equal(found.length, 1, name);
  return found[0]!;
};
const podSpec = (objects: Obj[]): Obj => kind(objects, 'DaemonSet').spec.template.spec;
const gateway = (objects: Obj[]): Obj => podSpec(objects).containers[0];

before(() => {
  ensureHelm();
});

describe('chart knobs', () => {
  it('tolerates every NoSchedule taint by default, as node-exporter does', () => {
    const objects = render(TRIAL);
    assert.deepEqual(podSpec(objects).tolerations, [{ effect: 'NoSchedule', operator: 'Exists' }]);
    assert.deepEqual(podSpec(objects).nodeSelector, {
      'kubernetes.io/os': 'linux',
      'libvirt-admin-gateway/hypervisor': 'true',
    });
    assert.equal(podSpec(objects).affinity, undefined);
    new DaemonSet(kind(objects, 'DaemonSet')).validate();
  });

  it('adds extraArgs after its own arguments, extraEnv after its own variables', () => {
    const c = gateway(
      render([
        ...TRIAL,
        '--set-json',
        'extraArgs=["--watch-interval","2000"]',
        '--set-json',
        'extraEnv=[{"name":"NODE_NAME","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}},{"name":"X","value":"1"}]',
      ]),
    );
    assert.deepEqual(c.args.slice(-2), ['--watch-interval', '2000']);
    assert.deepEqual(c.args.slice(0, 2), ['--connect', 'libvirtd:///system']);
    assert.deepEqual(c.env.slice(-2), [
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'X', value: '1' },
    ]);
    assert.equal(c.env[0].name, 'LIBVIRT_ADMIN_GATEWAY_LISTEN');
  });

  it('mounts extraVolumes through extraVolumeMounts, beside its own volumes', () => {
    const objects = render([
      ...TRIAL,
      '--set-json',
      'extraVolumes=[{"name":"fleet-ca","configMap":{"name":"fleet-ca"}}]',
      '--set-json',
      'extraVolumeMounts=[{"name":"fleet-ca","mountPath":"/etc/fleet-ca","readOnly":true}]',
    ]);
    const spec = podSpec(objects);
    assert.deepEqual(spec.volumes.at(-1), { name: 'fleet-ca', configMap: { name: 'fleet-ca' } });
    assert.ok(spec.volumes.some((v: Obj) => v.name === 'libvirt-run'));
    assert.deepEqual(gateway(objects).volumeMounts.at(-1), {
      name: 'fleet-ca',
      mountPath: '/etc/fleet-ca',
      readOnly: true,
    });
    new DaemonSet(kind(objects, 'DaemonSet')).validate();
  });

  it('passes the ServiceMonitor its relabelings, metricRelabelings, interval and timeout; "" leaves them out', () => {
    const relabel = [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }];
    const drop = [{ sourceLabels: ['__name__'], regex: 'nodejs_.*', action: 'drop' }];
    const monitor = (extra: string[]) =>
      kind(render([...TRIAL, '--set', 'serviceMonitor.enabled=true', ...extra]), 'ServiceMonitor').spec.endpoints[0];
    const set = monitor([
      '--set-json',
      `serviceMonitor.relabelings=${JSON.stringify(relabel)}`,
      '--set-json',
      `serviceMonitor.metricRelabelings=${JSON.stringify(drop)}`,
      '--set',
      'serviceMonitor.interval=15s',
      '--set',
      'serviceMonitor.scrapeTimeout=2s',
    ]);
    assert.deepEqual(
      [set.relabelings, set.metricRelabelings, set.interval, set.scrapeTimeout],
      [relabel, drop, '15s', '2s'],
    );
    const bare = monitor(['--set', 'serviceMonitor.interval=', '--set', 'serviceMonitor.scrapeTimeout=']);
    for (const key of ['relabelings', 'metricRelabelings', 'interval', 'scrapeTimeout'])
      assert.equal(bare[key], undefined, key);
  });

  it('refuses knobs values.schema.json does not describe', () => {
    const validate = compileSchema();
    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      ['an argument that is not a string', { extraArgs: [1] }, /extraArgs\/0/],
      [
        'an env var with both value and valueFrom',
        { extraEnv: [{ name: 'A', value: 'x', valueFrom: {} }] },
        /extraEnv\/0/,
      ],
      ['an env var without a name', { extraEnv: [{ value: 'x' }] }, /extraEnv\/0/],
      ['a volume without a source', { extraVolumes: [{ name: 'v' }] }, /extraVolumes\/0/],
      [
        'a mount with a relative path',
        { extraVolumeMounts: [{ name: 'v', mountPath: 'etc' }] },
        /extraVolumeMounts\/0\/mountPath/,
      ],
      [
        'a toleration with an unknown effect',
        { tolerations: [{ operator: 'Exists', effect: 'Never' }] },
        /tolerations\/0\/effect/,
      ],
      [
        'a relabeling with a misspelt key',
        { serviceMonitor: { relabelings: [{ sourcelabels: ['a'] }] } },
        /relabelings\/0/,
      ],
      [
        'a relabeling with an unknown action',
        { serviceMonitor: { metricRelabelings: [{ action: 'delete' }] } },
        /metricRelabelings\/0\/action/,
      ],
      ['a scrape timeout that is no duration', { serviceMonitor: { scrapeTimeout: 'soon' } }, /scrapeTimeout/],
    ];
    for (const [what, over, where] of bad) {
      const ok = validate(mergeValues(defaultValues(), over));
      assert.equal(ok, false, what);
      assert.match(describeErrors(validate.errors).join('\n'), where, what);
    }
    const lint = runHelm(['lint', '--strict', chartDir, ...TRIAL, '--set-json', 'extraEnv=[{"value":"x"}]']);
    assert.notEqual(lint.status, 0, 'helm lint applies the schema too');
  });
});

describe('helm/examples/kvm-fleet.yaml', () => {
  it('matches values.schema.json and passes helm lint --strict', () => {
    const validate = compileSchema();
    const ok = validate(mergeValues(defaultValues(), readYamlMap(EXAMPLE)));
    assert.deepEqual(ok ? [] : describeErrors(validate.errors), []);
    const run = runHelm(['lint', '--strict', chartDir, '-f', EXAMPLE]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });

  it('renders a fleet-wide DaemonSet on hypervisor nodes chosen by CPU label, scraped per node', () => {
    const objects = render(['-f', EXAMPLE]);
    // The default DaemonSet, and the `busy` node group's of desiredStateOverrides (chart-desired-state.test.ts).
    const sets = objects.filter((o) => o.kind === 'DaemonSet');
    assert.deepEqual(
      sets.map((s) => s.metadata.name),
      ['gw-libvirt-admin-gateway', 'gw-libvirt-admin-gateway-busy'],
    );
    for (const s of sets) new DaemonSet(s).validate();
    const ds = sets[0]!;
    const spec = ds.spec.template.spec;
    assert.deepEqual(spec.nodeSelector, { 'kubernetes.io/os': 'linux' }, 'the default label removed by null');
    const terms = spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.deepEqual(
      terms.map((t: Obj) => t.matchExpressions[0].key),
      ['feature.node.kubernetes.io/cpu-cpuid.VMX', 'feature.node.kubernetes.io/cpu-cpuid.SVM'],
    );
    assert.deepEqual(spec.tolerations, [{ operator: 'Exists' }]);
    const c = spec.containers[0];
    const connects = c.args.flatMap((a: string, i: number) => (c.args[i - 1] === '--connect' ? [a] : []));
    assert.deepEqual(connects, ['virtqemud:///system', 'virtlogd:///system']);
    assert.deepEqual(c.args.slice(-2), ['--watch-interval', '2000']);
    assert.ok(c.env.some((e: Obj) => e.name === 'NODE_NAME' && e.valueFrom.fieldRef.fieldPath === 'spec.nodeName'));
    // The Secrets are mounted whole (no subPath), so the gateway sees kubelet's updates and reloads them.
    for (const mount of c.volumeMounts) assert.equal(mount.subPath, undefined, mount.name);
    const endpoint = kind(objects, 'ServiceMonitor').spec.endpoints[0];
    assert.deepEqual(endpoint.relabelings, [
      { sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' },
    ]);
    assert.equal(endpoint.scrapeTimeout, '5s');
    assert.equal(endpoint.metricRelabelings[0].action, 'drop');
  });
});
