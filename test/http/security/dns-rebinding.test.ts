// DNS rebinding, done as the browser does it once the attacker's name points at the gateway: same-origin for the
// browser, so the page may send JSON and read answers, but every request says `Host: <attacker's name>`. Against
// a loopback gateway that serves every local caller as the anonymous admin (--insecure: the browser's user would
// be served too; by default a browser lacks the local token), in front of a real libvirtd: nothing is read or
// changed, as virt-admin shows. And the gateway of the Helm chart (0.0.0.0, TLS, tokens) still answers the kubelet's probes
// and Prometheus, which come by pod IP, and the names given with --allowed-host; the unix socket takes any Host.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { startGateway, type RunningGateway } from '../../../src/server.js';
import { tokenLine } from '../../../src/security/tokens.js';
import { startRealDaemons, type RealDaemons } from '../../harness/libvirtd.js';
import { servingAnyone } from '../gateway.js';
import { startAttackGateway, type AttackGateway } from './attack-gateway.js';
import { send } from './https-client.js';
import { makePki, type TestPki } from './pki.js';

const REBOUND = ['evil.example', 'evil.example:8080', 'localhost.evil.example', '127.0.0.1.nip.io', 'x.localhost'];

function minWorkers(stdout: string): number {
  return Number(/minWorkers\s*:\s*(\d+)/.exec(stdout)?.[1]);
}

describe('DNS rebinding against an open loopback gateway and a real libvirtd', () => {
  let daemons: RealDaemons;
  let gw: AttackGateway;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    gw = await startAttackGateway([{ uri: daemons.adminUri('libvirtd') }], {
      security: { authenticator: servingAnyone() },
    });
  });
  after(async () => {
    await gw?.close();
    await daemons?.stop();
  });

  it('changes nothing: a rebound page PATCHing the threadpool gets 421, and virt-admin shows the old value', async () => {
    const info = async () => {
      const result = await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'libvirtd');
      assert.equal(result.code, 0, result.stderr);
      return minWorkers(result.stdout);
    };
    const original = await info();
    for (const host of REBOUND) {
      const res = await send(gw.url, {
        method: 'PATCH',
        path: '/servers/libvirtd/threadpool',
        headers: { host, origin: `http://${host}` },
        body: { minWorkers: original + 1 },
      });
      assert.equal(res.status, 421, `${host}: ${res.body}`);
      const problem = JSON.parse(res.body) as { code: string; detail: string };
      assert.equal(problem.code, 'ERR_HOST_NOT_ALLOWED');
      assert.match(
        problem.detail,
        /^This gateway does not answer to the host name ".*": only loopback names, its own addresses and the names given with --allowed-host are served/,
      );
    }
    assert.equal(await info(), original);
    // Every attempt is on the record, refused.
    const audit = gw.audit().filter((record) => record['action'] === 'threadpool.update');
    assert.equal(audit.length, REBOUND.length);
    assert.ok(audit.every((record) => record['result'] === 'refused' && record['statusCode'] === 421));
  });

  it('reads nothing: the clients of the daemon, its settings, its metrics and events stay hidden', async () => {
    for (const path of ['/servers/libvirtd/clients', '/daemon/logging', '/metrics', '/events', '/', '/healthz']) {
      const res = await send(gw.url, { path, headers: { host: 'evil.example:8080' } });
      assert.equal(res.status, 421, path);
      // A problem document and nothing else: no client, no setting, no metric.
      assert.deepEqual(
        Object.keys(JSON.parse(res.body) as object).sort(),
        ['code', 'detail', 'instance', 'status', 'title', 'type'],
        path,
      );
    }
  });

  it('serves the names a local client uses, on any port', async () => {
    for (const host of [
      'localhost',
      `localhost:${gw.port}`,
      'localhost:1234',
      `127.0.0.1:${gw.port}`,
      `[::1]:${gw.port}`,
    ]) {
      assert.equal((await send(gw.url, { path: '/servers/libvirtd/threadpool', headers: { host } })).status, 200, host);
    }
  });
});

describe("the Helm chart's listener (0.0.0.0, TLS, tokens) in front of a real libvirtd", () => {
  let daemons: RealDaemons;
  let pki: TestPki;
  let dir: string;
  let gateway: RunningGateway;
  let podIp: string;
  let port: string;
  const TOKEN = 'bc8f2a61e0d94f7bb1e5f0a3c2d48e97';

  before(async () => {
    // The address of a real interface of this host, as a pod's IP is one of the pod's own interfaces.
    const external = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .find((i) => !i.internal && i.family === 'IPv4');
    assert.ok(external, 'this test needs a non-loopback IPv4 interface (a pod has one: its pod IP)');
    podIp = external.address;
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    pki = await makePki();
    dir = await mkdtemp(join(tmpdir(), 'rebind-'));
    await writeFile(join(dir, 'tokens'), `${tokenLine('viewer', TOKEN, 'prometheus')}\n`);
    const invocation = loadConfig(
      [
        '--connect',
        daemons.adminUri('libvirtd'),
        '--listen',
        '0.0.0.0:0',
        '--log-level',
        'silent',
        '--tls-cert',
        pki.server.certPath,
        '--tls-key',
        pki.server.keyPath,
        '--tokens-file',
        join(dir, 'tokens'),
        '--allowed-host',
        'gw.monitoring.svc',
        '--allowed-host',
        '*.hypervisors.example.com',
        '--listen-socket',
        join(dir, 'gw.sock'),
      ],
      {},
    );
    assert.equal(invocation.kind, 'run');
    gateway = await startGateway(invocation.config, () => {});
    port = new URL(gateway.url).port;
  });
  after(async () => {
    await gateway?.close();
    await daemons?.stop();
    await pki?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("answers the kubelet's probes and Prometheus's scrape, which come to the pod IP with Host: <pod IP>:<port>", async () => {
    const base = `https://${podIp}:${port}`;
    assert.equal((await send(base, { path: '/healthz', ca: pki.ca.cert })).status, 200);
    assert.equal((await send(base, { path: '/readyz', ca: pki.ca.cert })).status, 200);
    assert.equal((await send(base, { path: '/metrics', ca: pki.ca.cert, token: TOKEN })).status, 200);
  });

  it('answers the configured names, and refuses a rebound name even with a valid token', async () => {
    const base = `https://${podIp}:${port}`;
    for (const host of ['gw.monitoring.svc', `gw.monitoring.svc:${port}`, 'node-7.hypervisors.example.com:443']) {
      assert.equal(
        (await send(base, { path: '/servers', ca: pki.ca.cert, token: TOKEN, headers: { host } })).status,
        200,
        host,
      );
    }
    for (const host of ['evil.example', 'hypervisors.example.com', 'monitoring.svc', '192.0.2.254']) {
      assert.equal(
        (await send(base, { path: '/servers', ca: pki.ca.cert, token: TOKEN, headers: { host } })).status,
        421,
        host,
      );
    }
  });

  it('takes any Host on the unix socket: no name resolves to it, and its clients send what they like', async () => {
    const socketPath = join(dir, 'gw.sock');
    for (const host of ['localhost', '%2Frun%2Fgw.sock', 'evil.example']) {
      const res = await send('http://localhost', { path: '/servers', socketPath, token: TOKEN, headers: { host } });
      assert.equal(res.status, 200, host);
    }
  });
});
