// The chart rendered by the real Helm binary (see helpers/helm.ts for where it comes from), each object
// checked against the Kubernetes schema with kubernetes-models, and the settings that matter checked field
// by field.
//
// Checked: Helm's template engine and functions, `helm lint --strict`, Helm's own check of values.schema.json,
// the core objects' types, required fields and enums (Kubernetes OpenAPI schema via kubernetes-models), and
// the security settings, mounts, probes, arguments and environment. Not checked: unknown fields (the
// Kubernetes schemas allow them, only the API server's strict field validation rejects them, which is why
// the important fields are asserted one by one below), the ServiceMonitor against the Prometheus operator's
// CRD (no schema for it is installed; its selector and port are checked against the Service instead),
// admission policies, and behaviour on a cluster.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { chartDir, fixturesDir } from './helpers/chart.js';
import { ensureHelm, runHelm } from './helpers/helm.js';

// Loose views of rendered objects: the schema check is kubernetes-models' job, these are for reading fields.
type Obj = Record<string, any>;

const NS = 'virt-admin';
const fixture = (name: string): string[] => ['-f', join(fixturesDir, name)];
const TRIAL = ['--set', 'insecure=true', '--set', 'tls.enabled=false'];

/** Renders the chart with `helm template` and parses every document. */
function render(args: string[]): Obj[] {
  const run = runHelm(['template', 'gw', chartDir, '--namespace', NS, ...args]);
  assert.equal(run.status, 0, `helm template failed:\n${run.stderr}`);
  return parseAllDocuments(run.stdout)
    .map((doc) => {
      assert.deepEqual(doc.errors, [], 'rendered YAML does not parse');
      return doc.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null);
}

/** Validates one object against its kind's schema; throws on a schema error. */
function validateObject(o: Obj): void {
  const id = `${o.apiVersion}/${o.kind}`;
  switch (id) {
    case 'apps/v1/DaemonSet':
      return new DaemonSet(o).validate();
    case 'v1/Service':
      return new Service(o).validate();
    case 'v1/ServiceAccount':
      return new ServiceAccount(o).validate();
    case 'v1/Secret':
      return new Secret(o).validate();
    case 'v1/ConfigMap':
      return new ConfigMap(o).validate();
    case 'networking.k8s.io/v1/NetworkPolicy':
      return new NetworkPolicy(o).validate();
    case 'monitoring.coreos.com/v1/ServiceMonitor':
      return; // checked against the Service below
    default:
      throw new Error(`the chart rendered an unexpected kind ${id}`);
  }
}

function only(objects: Obj[], kind: string): Obj {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind}, got ${found.length}`);
  return found[0]!;
}

function container(objects: Obj[]): Obj {
  const containers = only(objects, 'DaemonSet').spec.template.spec.containers as Obj[];
  assert.equal(containers.length, 1);
  return containers[0]!;
}

function env(c: Obj): Record<string, string> {
  return Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value]));
}

before(() => {
  ensureHelm(); // fetches helm once, outside any single test's time
});

describe('helm lint', () => {
  for (const [name, args] of [
    ['default values', []],
    ['values-production.yaml', fixture('values-production.yaml')],
    ['values-mtls-inline.yaml', fixture('values-mtls-inline.yaml')],
  ] as Array<[string, string[]]>) {
    it(`passes --strict with ${name}`, () => {
      const run = runHelm(['lint', '--strict', chartDir, ...args]);
      assert.equal(run.status, 0, run.stdout + run.stderr);
    });
  }

  it('fails values-bad.yaml through values.schema.json', () => {
    const run = runHelm(['lint', '--strict', chartDir, ...fixture('values-bad.yaml')]);
    assert.notEqual(run.status, 0);
    assert.match(run.stdout, /values don't meet the specifications of the schema/);
    assert.match(run.stdout, /privileged/);
  });
});

describe('helm template refuses an unsafe or incomplete release', () => {
  const refusals: Array<[string, string[], RegExp]> = [
    ['the defaults: no TLS certificate or tokens yet', [], /no authentication/],
    ['TLS switched off without insecure', ['--set', 'tls.enabled=false'], /tls\.enabled is false/],
    ['tokens but no certificate', ['--set', 'auth.existingSecret=t'], /TLS needs a certificate/],
    [
      'client verification without a CA',
      [
        '--set',
        'auth.existingSecret=t',
        '--set',
        'tls.cert=-----BEGIN X-----',
        '--set',
        'tls.key=-----BEGIN X-----',
        '--set',
        'tls.verifyClients=true',
      ],
      /needs a client CA/,
    ],
    [
      'client roles without client verification',
      [...TRIAL, '--set', 'tls.clientRoles[0].role=viewer', '--set', 'tls.clientRoles[0].cn=x'],
      /tls\.clientRoles needs tls\.verifyClients/,
    ],
    [
      'a socket outside the mounted folder',
      [...TRIAL, '--set', 'daemons={virtlogd:///system?socket=/var/lib/x}'],
      /must lie under \/run\/libvirt\//,
    ],
    [
      'a ServiceMonitor without a Service',
      [...TRIAL, '--set', 'serviceMonitor.enabled=true', '--set', 'service.enabled=false'],
      /needs service\.enabled/,
    ],
  ];
  for (const [what, args, message] of refusals) {
    it(what, () => {
      const run = runHelm(['template', 'gw', chartDir, ...args]);
      assert.notEqual(run.status, 0, 'helm template should have failed');
      assert.match(run.stderr, message);
    });
  }
});

describe('rendered objects', () => {
  const sets: Array<[string, string[]]> = [
    ['values-production.yaml', fixture('values-production.yaml')],
    ['values-mtls-inline.yaml', fixture('values-mtls-inline.yaml')],
    ['a trial set (insecure, NetworkPolicy with no peers)', [...TRIAL, '--set', 'networkPolicy.enabled=true']],
  ];
  for (const [name, args] of sets) {
    it(`validate against the Kubernetes schema: ${name}`, () => {
      const objects = render(args);
      assert.ok(objects.length >= 3, 'too few objects rendered');
      for (const o of objects) {
        assert.doesNotThrow(() => validateObject(o), `${o.kind} ${o.metadata?.name}`);
        assert.equal(o.metadata.namespace, o.kind === 'ServiceMonitor' ? o.metadata.namespace : NS);
        assert.equal(o.metadata.labels['app.kubernetes.io/instance'], 'gw');
      }
    });

    it(`keep the pod least-privileged: ${name}`, () => {
      const objects = render(args);
      const pod = only(objects, 'DaemonSet').spec.template.spec as Obj;
      const c = container(objects);
      assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.privileged, false);
      assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
      for (const key of ['hostNetwork', 'hostPID', 'hostIPC', 'hostUsers', 'shareProcessNamespace']) {
        assert.equal(pod[key], undefined, `${key} must stay unset`);
      }
      assert.equal(pod.automountServiceAccountToken, false);
      // The host folders are the libvirt run folder, mounted read-only at /run/libvirt, and the gateway's own
      // state folder (declarations made through the API, client history), writable at its fixed path.
      const state = (pod.volumes as Obj[]).find((v) => v.name === 'state');
      assert.deepEqual(state?.hostPath, { path: '/var/lib/libvirt-admin-gateway', type: 'DirectoryOrCreate' });
      assert.deepEqual(
        (c.volumeMounts as Obj[]).find((m) => m.name === 'state'),
        { name: 'state', mountPath: '/var/lib/libvirt-admin-gateway' },
      );
      const hostVolumes = (pod.volumes as Obj[]).filter((v) => v.hostPath && v.name !== 'state');
      assert.equal(hostVolumes.length, 1);
      assert.match(hostVolumes[0]!.hostPath.path, /^\/(var\/)?run\/libvirt$/);
      assert.equal(hostVolumes[0]!.hostPath.type, 'Directory');
      const runMount = (c.volumeMounts as Obj[]).find((m) => m.name === hostVolumes[0]!.name)!;
      assert.deepEqual(runMount, { name: hostVolumes[0]!.name, mountPath: '/run/libvirt', readOnly: true });
      // Every mount other than the in-memory /tmp and the state folder is read-only (the root filesystem is too).
      for (const m of c.volumeMounts as Obj[])
        assert.ok(m.readOnly || m.mountPath === '/tmp' || m.name === 'state', m.mountPath);
    });
  }

  it('production: replaces the default node label with its own (null removes a default key)', () => {
    const ds = only(render(fixture('values-production.yaml')), 'DaemonSet');
    assert.deepEqual(ds.spec.template.spec.nodeSelector, {
      'kubernetes.io/os': 'linux',
      'node-role.example.com/hypervisor': 'true',
    });
  });

  it('production: serves the listed daemons over TLS with tokens, probes over HTTPS', () => {
    const objects = render(fixture('values-production.yaml'));
    const ds = only(objects, 'DaemonSet');
    const c = container(objects);
    assert.equal(
      c.image,
      'registry.example.com/infra/libvirt-admin-gateway@sha256:' +
        '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    assert.deepEqual(c.args, [
      '--connect',
      'virtqemud:///system',
      '--connect',
      'virtnetworkd:///system',
      '--connect',
      'virtstoraged:///system',
      '--connect',
      'virtlogd:///system',
      '--allowed-log-dir',
      '/var/log/libvirt',
      '--allowed-log-dir',
      '/var/log/libvirt/qemu',
    ]);
    const e = env(c);
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_LISTEN, '0.0.0.0:8080');
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_LOG_LEVEL, 'warn');
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_INSECURE, undefined);
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_TLS_CLIENT_CA, undefined);
    // The files the environment names are where the Secrets are mounted.
    const mounts = Object.fromEntries((c.volumeMounts as Obj[]).map((m) => [m.name, m.mountPath]));
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_TLS_CERT, `${mounts.tls}/tls.crt`);
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_TLS_KEY, `${mounts.tls}/tls.key`);
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_TOKENS_FILE, `${mounts.auth}/tokens.txt`);
    const volumes = Object.fromEntries((ds.spec.template.spec.volumes as Obj[]).map((v) => [v.name, v]));
    assert.equal(volumes.tls.secret.secretName, 'gateway-tls-cert-manager');
    assert.equal(volumes.auth.secret.secretName, 'gateway-tokens');
    assert.deepEqual(volumes.auth.secret.items, [{ key: 'tokens.txt', path: 'tokens.txt' }]);
    // Existing Secrets are used, none is created.
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(c.ports, [{ name: 'https', containerPort: 8080, protocol: 'TCP' }]);
    assert.equal(ds.spec.template.spec.priorityClassName, 'system-node-critical');
    assert.equal(ds.spec.template.spec.tolerations[0].key, 'node-role.example.com/hypervisor');
  });

  it('production: the headless Service and ServiceMonitor find the pods and the port', () => {
    const objects = render(fixture('values-production.yaml'));
    const svc = only(objects, 'Service');
    const sm = only(objects, 'ServiceMonitor');
    const podLabels = only(objects, 'DaemonSet').spec.template.metadata.labels as Obj;
    assert.equal(svc.spec.clusterIP, 'None');
    for (const [k, v] of Object.entries(svc.spec.selector as Obj)) assert.equal(podLabels[k], v);
    assert.deepEqual(svc.spec.ports, [
      { name: 'https', port: 8080, targetPort: 'https', protocol: 'TCP', appProtocol: 'https' },
    ]);
    assert.equal(sm.metadata.namespace, 'monitoring');
    assert.equal(sm.metadata.labels.release, 'kube-prometheus-stack');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Obj)) assert.equal(svc.metadata.labels[k], v);
    assert.deepEqual(sm.spec.namespaceSelector, { matchNames: [NS] });
    assert.deepEqual(sm.spec.endpoints, [
      {
        port: 'https',
        path: '/metrics',
        scheme: 'https',
        interval: '15s',
        scrapeTimeout: '5s',
        authorization: { type: 'Bearer', credentials: { name: 'gateway-scrape-token', key: 'token' } },
        tlsConfig: { ca: { secret: { name: 'gateway-ca', key: 'ca.crt' } }, insecureSkipVerify: false },
      },
    ]);
  });

  it('production: the NetworkPolicy admits only the listed peers on the gateway port, and no egress', () => {
    const np = only(render(fixture('values-production.yaml')), 'NetworkPolicy');
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
    assert.equal(np.spec.ingress.length, 1);
    assert.equal(np.spec.ingress[0].from.length, 2);
    assert.deepEqual(np.spec.ingress[0].ports, [{ port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(np.spec.egress, []);
  });

  it('trial: a NetworkPolicy with no peers admits nobody (an empty "from" would admit everyone)', () => {
    const np = only(render([...TRIAL, '--set', 'networkPolicy.enabled=true']), 'NetworkPolicy');
    assert.deepEqual(np.spec.ingress, []);
    assert.deepEqual(np.spec.egress, []);
  });

  it('trial: plain HTTP with the insecure switch, no Secret, probes over HTTP', () => {
    const objects = render(TRIAL);
    const c = container(objects);
    const e = env(c);
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_INSECURE, 'true');
    for (const key of ['LIBVIRT_ADMIN_GATEWAY_TLS_CERT', 'LIBVIRT_ADMIN_GATEWAY_TOKENS_FILE']) {
      assert.equal(e[key], undefined);
    }
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'http', scheme: 'HTTP' });
    assert.deepEqual(c.args, ['--connect', 'libvirtd:///system', '--allowed-log-dir', '/var/log/libvirt']);
    assert.equal(only(objects, 'ServiceAccount').automountServiceAccountToken, false);
  });

  it('passes allowedHosts as --allowed-host arguments, one value each', () => {
    const c = container(
      render([...TRIAL, '--set', 'allowedHosts[0]=gw.virt-admin.svc', '--set', 'allowedHosts[1]=*.hv.example.com']),
    );
    assert.deepEqual(c.args, [
      '--connect',
      'libvirtd:///system',
      '--allowed-log-dir',
      '/var/log/libvirt',
      '--allowed-host',
      'gw.virt-admin.svc',
      '--allowed-host',
      '*.hv.example.com',
    ]);
  });

  it('client certificates alone authenticate: no tokens file is needed', () => {
    const objects = render([
      '--set',
      'tls.existingSecret=gw-tls',
      '--set',
      'tls.verifyClients=true',
      '--set',
      'tls.clientRoles[0].role=admin',
      '--set',
      'tls.clientRoles[0].cn=ops',
    ]);
    for (const o of objects) assert.doesNotThrow(() => validateObject(o), `${o.kind} ${o.metadata?.name}`);
    const e = env(container(objects));
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_TOKENS_FILE, undefined);
    assert.equal(e.LIBVIRT_ADMIN_GATEWAY_TLS_CLIENT_CA, '/etc/libvirt-admin-gateway/tls/ca.crt');
    assert.equal(only(objects, 'ConfigMap').data['client-roles'], 'admin ops\n');
  });

  it('mTLS inline: creates the Secrets and the client-roles ConfigMap from values', () => {
    const objects = render(fixture('values-mtls-inline.yaml'));
    const secrets = objects.filter((o) => o.kind === 'Secret');
    const tls = secrets.find((s) => s.type === 'kubernetes.io/tls')!;
    const auth = secrets.find((s) => s.type === 'Opaque')!;
    const decode = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');
    assert.match(decode(tls.data['tls.crt']), /placeholder-certificate-for-chart-tests/);
    assert.match(decode(tls.data['tls.key']), /placeholder-key-for-chart-tests/);
    assert.match(decode(tls.data['ca.crt']), /placeholder-client-ca-for-chart-tests/);
    assert.equal(
      auth.stringData.tokens,
      'admin 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ops-oncall\n' +
        'viewer 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n',
    );
    const c = container(objects);
    assert.equal(env(c).LIBVIRT_ADMIN_GATEWAY_TLS_CLIENT_CA, '/etc/libvirt-admin-gateway/tls/ca.crt');
    // The handshake completes without a client certificate, so the probes stay plain HTTPS GETs.
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
    assert.equal(c.readinessProbe, undefined, 'readiness is disabled in this set');
    assert.deepEqual(c.args, [
      '--connect',
      'libvirtd:///system',
      '--connect',
      'virtlogd:///system?socket=/run/libvirt/virtlogd-admin-sock',
      '--allowed-log-dir',
      '/var/log/libvirt',
      '--tls-client-roles',
      '/etc/libvirt-admin-gateway/client-roles/client-roles',
    ]);
    const roles = only(objects, 'ConfigMap');
    assert.equal(roles.data['client-roles'], 'operator fleet-controller.virt.example.com\nviewer Grafana Agent\n');
    const mount = (c.volumeMounts as Obj[]).find((m) => m.name === 'client-roles')!;
    assert.equal(mount.mountPath, '/etc/libvirt-admin-gateway/client-roles');
    const volume = (only(objects, 'DaemonSet').spec.template.spec.volumes as Obj[]).find(
      (v) => v.name === 'client-roles',
    )!;
    assert.equal(volume.configMap.name, roles.metadata.name);
    // No ServiceAccount is created; the pods use the namespace's default one.
    assert.equal(objects.filter((o) => o.kind === 'ServiceAccount').length, 0);
    assert.equal(only(objects, 'DaemonSet').spec.template.spec.serviceAccountName, 'default');
    const svc = only(objects, 'Service');
    assert.equal(svc.spec.clusterIP, undefined);
    assert.equal(svc.spec.internalTrafficPolicy, 'Local');
    assert.equal(svc.spec.ports[0].port, 443);
    // The pods roll when a chart-made Secret changes.
    assert.match(only(objects, 'DaemonSet').spec.template.metadata.annotations['checksum/secret'], /^[0-9a-f]{64}$/);
  });
});

// `helm template` does not render NOTES.txt, so a copy of the chart gets one more template that includes it.
describe('NOTES.txt', () => {
  let copy: string;
  before(() => {
    copy = join(mkdtempSync(join(tmpdir(), 'chart-notes-')), 'chart');
    cpSync(chartDir, copy, { recursive: true });
    writeFileSync(
      join(copy, 'templates', 'zz-notes.yaml'),
      'notes: |\n{{ include (print $.Template.BasePath "/NOTES.txt") . | indent 2 }}\n',
    );
  });
  after(() => rmSync(join(copy, '..'), { recursive: true, force: true }));

  const notes = (args: string[]): string => {
    const run = runHelm(['template', 'gw', copy, '--namespace', NS, '--show-only', 'templates/zz-notes.yaml', ...args]);
    assert.equal(run.status, 0, run.stderr);
    return (parseAllDocuments(run.stdout)[0]!.toJS() as { notes: string }).notes;
  };

  it('tells how to label nodes and reach a pod over HTTPS with a token', () => {
    const text = notes(['--set', 'tls.existingSecret=t', '--set', 'auth.existingSecret=a']);
    assert.match(text, /kubectl label node NODE libvirt-admin-gateway\/hypervisor=true/);
    assert.match(text, /curl --cacert CA\.pem -H "Authorization: Bearer \$TOKEN" https:\/\/localhost:8080\/readyz/);
    assert.doesNotMatch(text, /WARNING/);
  });

  it('warns when insecure', () => {
    const text = notes(TRIAL);
    assert.match(text, /WARNING: insecure=true\. Traffic is not encrypted\. Requests are not authenticated/);
  });
});
