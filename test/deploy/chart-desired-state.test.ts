// The chart's desiredState and desiredStateOverrides, rendered by the real Helm: one DaemonSet and ConfigMap per
// node group, each object valid for Kubernetes (kubernetes-models), `helm lint --strict` clean; the groups'
// nodeAffinity are disjoint and cover every node (evaluated here as the scheduler does, over every combination of
// the group labels); each pod mounts its own group's ConfigMap as a folder and gets --desired-state inside it; and
// every rendered document passes the gateway's own checks (the file schema and prepareDocument).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ConfigMap } from 'kubernetes-models/v1';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { DesiredStateFile } from '../../src/desired/schema.js';
import { prepareDocument } from '../../src/desired/validate.js';
import type { ChangePolicy } from '../../src/resources/change-policy.js';
import { LogOutputPolicy } from '../../src/security/log-policy.js';
import { chartDir, fixturesDir } from './helpers/chart.js';
import { ensureHelm, runHelm } from './helpers/helm.js';

type Obj = Record<string, any>;
const FIXTURE = join(fixturesDir, 'values-desired-state.yaml');
const MOUNT = '/etc/libvirt-admin-gateway/desired-state';

function render(args: string[]): Obj[] {
  const run = runHelm(['template', 'gw', chartDir, '--namespace', 'virt-admin', ...args]);
  assert.equal(run.status, 0, `helm template failed:\n${run.stderr}`);
  return parseAllDocuments(run.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

/** A nodeSelectorTerm's matchExpressions against a node's labels (In, NotIn: what the chart uses). */
function matches(exprs: Obj[], labels: Record<string, string>): boolean {
  return exprs.every((e) => {
    const has = e.key in labels && (e.values as string[]).includes(labels[e.key]!);
    if (e.operator === 'In') return has;
    if (e.operator === 'NotIn') return !has;
    throw new Error(`unexpected operator ${e.operator}`);
  });
}

function schedulable(ds: Obj, labels: Record<string, string>): boolean {
  const spec = ds.spec.template.spec;
  const selected = Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms as
    Obj[] | undefined;
  return selected && (terms === undefined || terms.some((t) => matches(t.matchExpressions ?? [], labels)));
}

describe('chart: desired state per node group', () => {
  let objects: Obj[];
  let sets: Obj[];
  let maps: Map<string, Obj>;
  before(() => {
    ensureHelm();
    objects = render(['-f', FIXTURE]);
    sets = objects.filter((o) => o.kind === 'DaemonSet');
    maps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name as string, o]));
  });

  it('renders valid objects, and helm lint --strict accepts the values', () => {
    for (const o of sets) new DaemonSet(o).validate();
    for (const o of maps.values()) new ConfigMap(o).validate();
    assert.deepEqual(
      sets.map((s) => s.metadata.name),
      ['gw-libvirt-admin-gateway', 'gw-libvirt-admin-gateway-busy', 'gw-libvirt-admin-gateway-incident'],
    );
    const lint = runHelm(['lint', '--strict', chartDir, '-f', FIXTURE]);
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  });

  it('the groups are disjoint and cover every node the chart selects', () => {
    const base = { 'kubernetes.io/os': 'linux', 'libvirt-admin-gateway/hypervisor': 'true' };
    const profiles = [undefined, 'busy', 'quiet'];
    const incidents = [undefined, 'true', 'false'];
    let checked = 0;
    for (const profile of profiles) {
      for (const incident of incidents) {
        const labels: Record<string, string> = { ...base };
        if (profile !== undefined) labels['example.com/profile'] = profile;
        if (incident !== undefined) labels['example.com/incident'] = incident;
        const running = sets.filter((s) => schedulable(s, labels)).map((s) => s.metadata.name as string);
        assert.equal(running.length, 1, `node ${JSON.stringify(labels)} runs ${JSON.stringify(running)}`);
        // First match wins, in the order of desiredStateOverrides.
        const expected =
          profile === 'busy'
            ? 'gw-libvirt-admin-gateway-busy'
            : incident === 'true'
              ? 'gw-libvirt-admin-gateway-incident'
              : 'gw-libvirt-admin-gateway';
        assert.equal(running[0], expected, JSON.stringify(labels));
        checked++;
      }
    }
    assert.equal(checked, 9);
    // A node the chart's nodeSelector does not pick runs none.
    assert.deepEqual(
      sets.filter((s) => schedulable(s, { 'kubernetes.io/os': 'linux', 'example.com/profile': 'busy' })),
      [],
    );
  });

  it("each pod mounts its own group's ConfigMap as a folder and is given the file in it", () => {
    const expected: Record<string, Obj> = {
      'gw-libvirt-admin-gateway': { threadpool: { minWorkers: 5, maxWorkers: 40 } },
      'gw-libvirt-admin-gateway-busy': { threadpool: { minWorkers: 10, maxWorkers: 80 } },
      'gw-libvirt-admin-gateway-incident': {},
    };
    for (const ds of sets) {
      const pod = ds.spec.template.spec;
      const c = pod.containers[0];
      const args = c.args as string[];
      assert.equal(args[args.indexOf('--desired-state') + 1], `${MOUNT}/desired-state.yaml`);
      const mount = (c.volumeMounts as Obj[]).find((m) => m.name === 'desired-state');
      // No subPath: kubelet's ..data symlink swap must reach the gateway's watch on the folder.
      assert.deepEqual(mount, { name: 'desired-state', mountPath: MOUNT, readOnly: true });
      const volume = (pod.volumes as Obj[]).find((v) => v.name === 'desired-state');
      const cm = maps.get(volume!.configMap.name);
      assert.ok(cm, `ConfigMap ${volume!.configMap.name} rendered`);
      const doc = parseYaml(cm.data['desired-state.yaml']) as Obj;
      assert.deepEqual(
        doc.daemons.libvirtd.servers?.libvirtd?.threadpool ?? {},
        expected[ds.metadata.name]!.threadpool ?? {},
      );
      // The state folder is mounted for the API's declarations and the client history.
      assert.ok(
        (c.env as Obj[]).some(
          (e) => e.name === 'LIBVIRT_ADMIN_GATEWAY_STATE_DIR' && e.value === '/var/lib/libvirt-admin-gateway',
        ),
      );
      assert.equal(
        (pod.volumes as Obj[]).find((v) => v.name === 'state')?.hostPath.path,
        '/var/lib/libvirt-admin-gateway',
      );
      // No checksum of the desired state: a new declaration is watched in, not rolled out by restarts.
      assert.deepEqual(
        Object.keys(ds.spec.template.metadata.annotations ?? {}).filter((k) => k.includes('desired')),
        [],
      );
    }
  });

  it("every rendered document passes the gateway's own checks", async () => {
    const policy: ChangePolicy = {
      logOutputs: new LogOutputPolicy(['/var/log/libvirt']),
      maxWorkers: 4096,
      adminConnections: () => 4,
    };
    assert.equal(maps.size, 3);
    for (const cm of maps.values()) {
      const file = parseYaml(cm.data['desired-state.yaml']) as unknown;
      assert.equal(
        Value.Errors(DesiredStateFile, file).First(),
        undefined,
        `${cm.metadata.name} matches DesiredStateFile`,
      );
      for (const [daemon, doc] of Object.entries((file as DesiredStateFile).daemons))
        await prepareDocument(daemon, doc, policy);
    }
  });

  it("helm/examples/kvm-fleet.yaml: its declarations pass the gateway's own checks too", async () => {
    const example = render(['-f', join(chartDir, '..', 'examples', 'kvm-fleet.yaml')]);
    const policy: ChangePolicy = {
      logOutputs: new LogOutputPolicy(['/var/log/libvirt']),
      maxWorkers: 4096,
      adminConnections: () => 4,
    };
    const docs = example.filter(
      (o) => o.kind === 'ConfigMap' && (o.metadata.name as string).endsWith('-desired-state'),
    );
    assert.equal(docs.length, 2);
    for (const cm of docs) {
      const file = parseYaml(cm.data['desired-state.yaml']) as unknown;
      assert.equal(Value.Errors(DesiredStateFile, file).First(), undefined, cm.metadata.name);
      for (const [daemon, doc] of Object.entries((file as DesiredStateFile).daemons))
        await prepareDocument(daemon, doc, policy);
    }
  });

  it('without overrides: one DaemonSet, no nodeAffinity of its own, no desired-state mount when nothing is declared', () => {
    const plain = render(['--set', 'insecure=true', '--set', 'tls.enabled=false']);
    const only = plain.filter((o) => o.kind === 'DaemonSet');
    assert.equal(only.length, 1);
    assert.equal(only[0]!.spec.template.spec.affinity, undefined);
    assert.ok(!(only[0]!.spec.template.spec.containers[0].args as string[]).includes('--desired-state'));
    assert.equal(plain.filter((o) => o.kind === 'ConfigMap').length, 0);
  });

  it("keeps the user's nodeAffinity terms: each gets the group's expressions, so both choose the nodes", () => {
    const withAffinity = render([
      '-f',
      FIXTURE,
      '--set-json',
      'affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[' +
        '{"matchExpressions":[{"key":"cpu.VMX","operator":"In","values":["true"]}]},' +
        '{"matchExpressions":[{"key":"cpu.SVM","operator":"In","values":["true"]}]}]}}}',
    ]);
    const groups = withAffinity.filter((o) => o.kind === 'DaemonSet');
    for (const ds of groups) new DaemonSet(ds).validate();
    const base = { 'kubernetes.io/os': 'linux', 'libvirt-admin-gateway/hypervisor': 'true' };
    const cpus: Array<Record<string, string>> = [{}, { 'cpu.VMX': 'true' }, { 'cpu.SVM': 'true' }];
    const groupLabels: Array<Record<string, string>> = [
      {},
      { 'example.com/profile': 'busy' },
      { 'example.com/incident': 'true' },
    ];
    for (const cpu of cpus) {
      for (const group of groupLabels) {
        const labels = { ...base, ...cpu, ...group };
        const running = groups.filter((s) => schedulable(s, labels)).length;
        assert.equal(running, Object.keys(cpu).length === 0 ? 0 : 1, JSON.stringify(labels));
      }
    }
  });

  it('refuses a repeated group name and a nodeSelector of two labels', () => {
    const bad = (args: string[], re: RegExp) => {
      const run = runHelm(['template', 'gw', chartDir, '-f', FIXTURE, ...args]);
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, re);
    };
    bad(['--set', 'desiredStateOverrides[1].name=busy'], /the name busy is used twice/);
    bad(['--set', 'desiredStateOverrides[0].nodeSelector.other=x'], /maximum|maxProperties|Too many|at most/i);
  });
});
