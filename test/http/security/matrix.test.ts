// The access matrix: every route × {no credentials, bad token, viewer, operator, admin, client certificates}
// gives the expected status, over a real HTTPS listener started by startGateway (the code path of the CLI),
// in front of the embedded daemon and in front of a real libvirtd. The authorized status of each route is what
// the daemon answers when the call is allowed: 2xx, except where libvirt 9.0.0 itself refuses (shutdown is 501,
// a TLS reload on a server without a TLS listener is 409) — those prove the request got past authorization.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { startGateway, type RunningGateway } from '../../../src/server.js';
import { roleAllows, type Role } from '../../../src/security/roles.js';
import { tokenLine } from '../../../src/security/tokens.js';
import { startEmbeddedDaemon } from '../../harness/embedded.js';
import { startRealDaemons } from '../../harness/libvirtd.js';
import { openRawClients, type RawClients } from '../../harness/raw-clients.js';
import { send, type SimpleRequest, type SimpleResponse } from './https-client.js';
import { makePki, type KeyPair, type TestPki } from './pki.js';

/** One caller of the matrix. */
interface Caller {
  name: string;
  token?: string;
  cert?: KeyPair;
  /** The role the gateway should see; 'none' = refused as unauthenticated, 'no-role' = known but no role. */
  role: Role | 'none' | 'no-role';
}

/** One route of the matrix, as the OpenAPI document names it. */
interface RouteCase {
  method: string;
  path: string;
  role: Role | 'public';
  /** The status when the call is allowed. */
  ok: number;
  body?: (state: DaemonState) => unknown;
}

/** What the authorized calls send back unchanged, read before the matrix runs. */
interface DaemonState {
  minWorkers: number;
  maxClients: number;
  outputs: string;
  filters: string;
}

const ROUTES: RouteCase[] = [
  { method: 'GET', path: '/', role: 'viewer', ok: 200 },
  { method: 'GET', path: '/healthz', role: 'public', ok: 200 },
  { method: 'GET', path: '/readyz', role: 'public', ok: 200 },
  { method: 'GET', path: '/readyz/details', role: 'viewer', ok: 200 },
  { method: 'GET', path: '/metrics', role: 'viewer', ok: 200 },
  { method: 'GET', path: '/events', role: 'viewer', ok: 200 },
  { method: 'GET', path: '/openapi.json', role: 'public', ok: 200 },
  { method: 'GET', path: '/openapi.yaml', role: 'public', ok: 200 },
  { method: 'GET', path: '/openapi-3.0.json', role: 'public', ok: 200 },
  { method: 'GET', path: '/openapi-3.0.yaml', role: 'public', ok: 200 },
  { method: 'GET', path: '/docs/', role: 'public', ok: 200 },
  { method: 'GET', path: '/daemons', role: 'viewer', ok: 200 },
  { method: 'GET', path: '/whoami', role: 'viewer', ok: 200 },
  ...daemonTree(''),
  ...daemonTree('/daemons/{daemon}'),
  // Declared in observe mode with nothing in it: the other cells' changes stay free.
  { method: 'GET', path: '/daemons/{daemon}/desired-state', role: 'viewer', ok: 200 },
  { method: 'PUT', path: '/daemons/{daemon}/desired-state', role: 'admin', ok: 200, body: () => ({ mode: 'observe' }) },
  { method: 'GET', path: '/daemons/{daemon}/desired-state/status', role: 'viewer', ok: 200 },
  { method: 'POST', path: '/daemons/{daemon}/desired-state/plan', role: 'viewer', ok: 200 },
];

/** The routes of one daemon, at the root (default daemon) or under /daemons/{daemon}. */
function daemonTree(prefix: string): RouteCase[] {
  const daemon = prefix === '' ? '/daemon' : prefix;
  return [
    { method: 'GET', path: daemon, role: 'viewer', ok: 200 },
    { method: 'PUT', path: `${daemon}/timeout`, role: 'admin', ok: 204, body: () => ({ seconds: 0 }) },
    { method: 'POST', path: `${daemon}/shutdown`, role: 'admin', ok: 501 },
    { method: 'GET', path: `${daemon}/logging`, role: 'viewer', ok: 200 },
    {
      method: 'PUT',
      path: `${daemon}/logging`,
      role: 'admin',
      ok: 200,
      body: (s) => ({ outputs: s.outputs, filters: s.filters }),
    },
    { method: 'PATCH', path: `${daemon}/logging`, role: 'admin', ok: 200, body: (s) => ({ filters: s.filters }) },
    { method: 'GET', path: `${prefix}/servers`, role: 'viewer', ok: 200 },
    { method: 'GET', path: `${prefix}/servers/{server}`, role: 'viewer', ok: 200 },
    { method: 'GET', path: `${prefix}/servers/{server}/threadpool`, role: 'viewer', ok: 200 },
    {
      method: 'PATCH',
      path: `${prefix}/servers/{server}/threadpool`,
      role: 'operator',
      ok: 200,
      body: (s) => ({ minWorkers: s.minWorkers }),
    },
    { method: 'GET', path: `${prefix}/servers/{server}/client-limits`, role: 'viewer', ok: 200 },
    {
      method: 'PATCH',
      path: `${prefix}/servers/{server}/client-limits`,
      role: 'operator',
      ok: 200,
      body: (s) => ({ maxClients: s.maxClients }),
    },
    { method: 'GET', path: `${prefix}/servers/{server}/clients`, role: 'viewer', ok: 200 },
    { method: 'GET', path: `${prefix}/servers/{server}/clients/{id}`, role: 'viewer', ok: 200 },
    { method: 'DELETE', path: `${prefix}/servers/{server}/clients/{id}`, role: 'operator', ok: 204 },
    { method: 'GET', path: `${prefix}/servers/{server}/samples`, role: 'viewer', ok: 200 },
    { method: 'GET', path: `${prefix}/servers/{server}/client-history`, role: 'viewer', ok: 200 },
    { method: 'POST', path: `${prefix}/servers/{server}/tls/reload`, role: 'operator', ok: 409 },
  ];
}

const TOKENS = { viewer: 'tok-viewer-6f1c0a7e', operator: 'tok-operator-9b2d4e11', admin: 'tok-admin-3c8f5a20' };

function expected(route: RouteCase, caller: Caller): number {
  if (route.role === 'public') return route.ok;
  if (caller.role === 'none') return 401;
  if (caller.role === 'no-role') return 403;
  return roleAllows(caller.role, route.role) ? route.ok : 403;
}

describe('access matrix', () => {
  let pki: TestPki;
  let files: string;
  let callers: Caller[];

  before(async () => {
    pki = await makePki();
    files = await mkdtemp(join(tmpdir(), 'matrix-'));
    await writeFile(
      join(files, 'tokens'),
      `# test tokens\n${Object.entries(TOKENS)
        .map(([role, token]) => tokenLine(role as Role, token, role))
        .join('\n')}\n`,
    );
    await writeFile(join(files, 'client-roles'), 'operator ops-laptop\n');
    callers = [
      { name: 'no credentials', role: 'none' },
      { name: 'bad token', token: 'tok-nobody-00000000', role: 'none' },
      { name: 'viewer token', token: TOKENS.viewer, role: 'viewer' },
      { name: 'operator token', token: TOKENS.operator, role: 'operator' },
      { name: 'admin token', token: TOKENS.admin, role: 'admin' },
      { name: 'mTLS identity (operator)', cert: await pki.client('ops-laptop'), role: 'operator' },
      { name: 'mTLS identity without a role', cert: await pki.client('stranger'), role: 'no-role' },
      { name: 'certificate from an unknown CA', cert: await pki.untrustedClient('ops-laptop'), role: 'none' },
    ];
  });
  after(async () => {
    await pki?.remove();
    await rm(files, { recursive: true, force: true });
  });

  /** Starts the gateway over HTTPS with tokens and client certificates in front of `adminUri`. */
  async function gatewayFor(adminUri: string, logDir: string): Promise<RunningGateway> {
    const invocation = loadConfig(
      [
        '--connect',
        adminUri,
        '--listen',
        '127.0.0.1:0',
        '--log-level',
        'silent',
        '--tls-cert',
        pki.server.certPath,
        '--tls-key',
        pki.server.keyPath,
        '--tls-client-ca',
        pki.ca.certPath,
        '--tls-client-roles',
        join(files, 'client-roles'),
        '--tokens-file',
        join(files, 'tokens'),
        '--allowed-log-dir',
        logDir,
        // The desired state is kept in the test's folder, not the host's /var/lib.
        '--state-dir',
        join(logDir, 'state'),
        // The bad-token and unknown-CA callers fail on every route; the throttle has tests of its own.
        '--auth-failure-limit',
        '0',
      ],
      {},
    );
    assert.equal(invocation.kind, 'run');
    return startGateway(invocation.config, () => {});
  }

  /** Runs every cell against one gateway; the client socket gives the DELETE cells clients to disconnect. */
  async function runMatrix(gateway: RunningGateway, clientSocket: string): Promise<void> {
    const call = (caller: Caller, request: SimpleRequest): Promise<SimpleResponse> =>
      // X-Requested-With: body-less changes by certificate holders must show they are not cross-site.
      send(gateway.url, {
        ...request,
        ca: pki.ca.cert,
        token: caller.token,
        cert: caller.cert?.cert,
        key: caller.cert?.key,
        headers: { 'x-requested-with': 'matrix' },
      });
    const admin = callers.find((caller) => caller.role === 'admin')!;
    const read = async (path: string) => JSON.parse((await call(admin, { path })).body) as Record<string, unknown>;
    const pool = (await read('/servers/libvirtd/threadpool')) as { minWorkers: number };
    const limits = (await read('/servers/libvirtd/client-limits')) as { maxClients: number };
    const logging = (await read('/daemon/logging')) as { raw: { outputs: string; filters: string } };
    const state: DaemonState = { minWorkers: pool.minWorkers, maxClients: limits.maxClients, ...logging.raw };

    const idle: RawClients = await openRawClients(clientSocket, 20);
    const clientIds = ((await read('/servers/libvirtd/clients')) as { clients: Array<{ id: number }> }).clients.map(
      (c) => c.id,
    );
    try {
      const failures: string[] = [];
      let cells = 0;
      for (const route of ROUTES) {
        for (const caller of callers) {
          const want = expected(route, caller);
          // Each allowed disconnect needs a client of its own; refused ones are pointed at a live client too.
          const id = route.method === 'DELETE' && want === route.ok ? clientIds.shift() : clientIds[0];
          assert.ok(id !== undefined, 'ran out of idle clients');
          const path = route.path
            .replace('{daemon}', 'libvirtd')
            .replace('{server}', 'libvirtd')
            .replace('{id}', String(id));
          const res = await call(caller, { method: route.method, path, body: route.body?.(state) });
          cells++;
          if (res.status !== want)
            failures.push(
              `${route.method} ${path} as ${caller.name}: ${res.status}, expected ${want} ${res.body.slice(0, 200)}`,
            );
          if (res.status === 401)
            assert.match(String(res.headers['www-authenticate']), /^Bearer realm="libvirt-admin-gateway"/);
          // No error shows a stack trace or where the gateway's files are.
          if (res.status >= 400)
            assert.doesNotMatch(res.body, /\n\s+at |node_modules|\/src\/|\.ts:\d/, `${route.method} ${path}`);
          if (res.status === 401 || res.status === 403) {
            assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
            assert.equal((JSON.parse(res.body) as { status: number }).status, res.status);
          }
        }
      }
      assert.deepEqual(failures, [], `${failures.length} of ${cells} cells differ`);
      assert.equal(cells, ROUTES.length * callers.length);
    } finally {
      idle.close();
    }
  }

  it('covers every operation of the OpenAPI document', async () => {
    const embedded = await startEmbeddedDaemon();
    const gateway = await gatewayFor(embedded.adminUri, embedded.dir);
    try {
      const res = await send(gateway.url, { path: '/openapi.json', ca: pki.ca.cert });
      const doc = JSON.parse(res.body) as {
        paths: Record<
          string,
          Record<string, { 'x-required-role': string; security: unknown[]; responses: Record<string, unknown> }>
        >;
        components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
        servers: Array<{ url: string }>;
      };
      // Fetched over TLS: the document names the https address it came from.
      assert.equal(doc.servers[0]!.url, gateway.url.replace(/\/$/, ''));
      assert.match(doc.servers[0]!.url, /^https:\/\//);
      assert.deepEqual(
        Object.entries(doc.components.securitySchemes).map(([name, scheme]) => [name, scheme.type, scheme.scheme]),
        [
          ['bearerAuth', 'http', 'bearer'],
          ['mutualTLS', 'mutualTLS', undefined],
        ],
      );
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const open = op['x-required-role'] === 'public';
          // Every mode: a bearer token, a client certificate, or nothing (the default mode's unix socket, --insecure).
          assert.deepEqual(op.security, open ? [] : [{ bearerAuth: [] }, { mutualTLS: [] }, {}], `${method} ${path}`);
          assert.equal(
            '401' in op.responses && '403' in op.responses,
            !open,
            `${method} ${path} documents 401 and 403`,
          );
        }
      }
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => `${method.toUpperCase()} ${path} ${op['x-required-role']}`),
      );
      const tested = ROUTES.filter((r) => !r.path.startsWith('/docs')).map((r) => `${r.method} ${r.path} ${r.role}`);
      assert.deepEqual([...tested].sort(), [...documented].sort());
    } finally {
      await gateway.close();
      await embedded.stop();
    }
  });

  it('holds in front of the embedded daemon', async () => {
    const embedded = await startEmbeddedDaemon();
    const gateway = await gatewayFor(embedded.adminUri, embedded.dir);
    try {
      await runMatrix(gateway, embedded.clientSocket);
    } finally {
      await gateway.close();
      await embedded.stop();
    }
  });

  it('holds in front of a real libvirtd', async () => {
    const daemons = await startRealDaemons({ daemons: ['virtlogd', 'libvirtd'] });
    // libvirtd's /var/log/libvirt is bind-mounted from the harness dir; the gateway checks paths in its own view.
    const gateway = await gatewayFor(daemons.adminUri('libvirtd'), '/var/log/libvirt');
    try {
      await runMatrix(gateway, daemons.readOnlyClientSocket);
    } finally {
      await gateway.close();
      await daemons.stop();
    }
  });
});
