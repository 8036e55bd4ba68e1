// Drives every operation of the gateway through a client generated from openapi/openapi.json
// (openapi-typescript types + openapi-fetch). test/http/openapi-client.test.ts copies this file next to the
// freshly generated `api.d.ts`, type-checks both with tsc, then runs drive() against a live gateway. It lives
// in a dot-folder so the repository's own typecheck, which cannot see the generated file, skips it.
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

/** What the test needs to know of the daemons behind the gateway. */
export interface DriveFacts {
  /** A second daemon, addressed under /daemons/{daemon}. */
  otherDaemon: string;
  /** Two clients of the default daemon's `libvirtd` server that may be disconnected. */
  victims: [number, number];
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`client check failed: ${what}`);
}

/** Calls every operation once, checks each answer, and returns `METHOD /schema/path` of every call made. */
export async function drive(baseUrl: string, facts: DriveFacts): Promise<string[]> {
  const calls: string[] = [];
  // Body-less changes must show they are not cross-site (SECURITY.md); a generated client sets this once.
  const client = createClient<paths>({ baseUrl, headers: { 'X-Requested-With': 'openapi-fetch' } });
  client.use({
    onRequest({ request, schemaPath }) {
      calls.push(`${request.method} ${schemaPath}`);
      return undefined;
    },
  });
  const daemon = facts.otherDaemon;

  // The service itself.
  const index = await client.GET('/');
  check(index.data?.service === 'libvirt-admin-gateway', 'GET /');
  check((await client.GET('/healthz')).data?.status === 'ok', 'GET /healthz');
  check((await client.GET('/readyz')).response.status === 200, 'GET /readyz');
  const readiness = await client.GET('/readyz/details');
  check(
    readiness.data?.status === 'ready' && readiness.data.daemons.every((d) => d.ready && d.version !== undefined),
    'GET /readyz/details',
  );
  const metrics = await client.GET('/metrics', { parseAs: 'text' });
  check(metrics.response.status === 200 && typeof metrics.data === 'string', 'GET /metrics');
  const events = await client.GET('/events', { parseAs: 'stream' });
  check(events.response.status === 200, 'GET /events');
  await events.data?.cancel();
  check((await client.GET('/openapi.json')).data?.['openapi'] === '3.1.0', 'GET /openapi.json');
  const yaml = await client.GET('/openapi.yaml', { parseAs: 'text' });
  check(yaml.data?.includes('openapi: 3.1.0'), 'GET /openapi.yaml');
  check((await client.GET('/openapi-3.0.json')).data?.['openapi'] === '3.0.3', 'GET /openapi-3.0.json');
  const yaml30 = await client.GET('/openapi-3.0.yaml', { parseAs: 'text' });
  check(yaml30.data?.includes('openapi: 3.0.3'), 'GET /openapi-3.0.yaml');
  const daemons = await client.GET('/daemons');
  check(
    daemons.data?.daemons.some((d) => d.name === daemon),
    'GET /daemons',
  );

  // The default daemon, then the other one by name.
  const d1 = await client.GET('/daemon');
  check(d1.data?.default === true && /^\d+\.\d+\.\d+$/.test(d1.data.libVersion), 'GET /daemon');
  const d2 = await client.GET('/daemons/{daemon}', { params: { path: { daemon } } });
  check(d2.data?.name === daemon && d2.data.libVersionNumber === d1.data.libVersionNumber, 'GET /daemons/{daemon}');

  check((await client.PUT('/daemon/timeout', { body: { seconds: 0 } })).response.status === 204, 'PUT /daemon/timeout');
  const t2 = await client.PUT('/daemons/{daemon}/timeout', { params: { path: { daemon } }, body: { seconds: 0 } });
  check(t2.response.status === 204, 'PUT /daemons/{daemon}/timeout');

  // libvirt 9.0.0 has no CONNECT_DAEMON_SHUTDOWN: the typed error response says so.
  const s1 = await client.POST('/daemon/shutdown', { params: { query: { preserve: true } } });
  check(s1.response.status === 501 && s1.error?.code === 'ERR_UNSUPPORTED_PROCEDURE', 'POST /daemon/shutdown');
  const s2 = await client.POST('/daemons/{daemon}/shutdown', { params: { path: { daemon } } });
  check(s2.response.status === 501 && s2.error?.libvirt?.code === 39, 'POST /daemons/{daemon}/shutdown');

  // Logging.
  const l1 = await client.GET('/daemon/logging');
  check(l1.data && Array.isArray(l1.data.outputs), 'GET /daemon/logging');
  const l2 = await client.PUT('/daemon/logging', {
    body: { outputs: [{ priority: 'warning', destination: 'stderr' }], filters: [{ priority: 'info', match: 'rpc' }] },
  });
  check(l2.data?.raw.outputs === '3:stderr' && l2.data.filters[0]?.match === 'rpc', 'PUT /daemon/logging');
  const l3 = await client.PATCH('/daemon/logging', { body: { filters: '' } });
  check(l3.data?.filters.length === 0 && l3.data.raw.outputs === '3:stderr', 'PATCH /daemon/logging');
  const l4 = await client.GET('/daemons/{daemon}/logging', { params: { path: { daemon } } });
  check(l4.data && l4.data.outputs.length > 0, 'GET /daemons/{daemon}/logging');
  const l5 = await client.PUT('/daemons/{daemon}/logging', {
    params: { path: { daemon } },
    body: { outputs: l4.data.outputs, filters: l4.data.filters },
  });
  check(l5.data?.raw.outputs === l4.data.raw.outputs, 'PUT /daemons/{daemon}/logging');
  const l6 = await client.PATCH('/daemons/{daemon}/logging', {
    params: { path: { daemon } },
    body: { filters: '9:bad' },
  });
  check(l6.response.status === 400 && l6.error?.code === 'ERR_INVALID_ARGUMENT', 'PATCH /daemons/{daemon}/logging');

  // Servers, threadpools, client limits.
  const list = await client.GET('/servers');
  check(
    list.data?.servers.some((s) => s.name === 'libvirtd'),
    'GET /servers',
  );
  const other = await client.GET('/daemons/{daemon}/servers', { params: { path: { daemon } } });
  const otherServer = other.data?.servers[0]?.name;
  check(otherServer, 'GET /daemons/{daemon}/servers');
  const srv = await client.GET('/servers/{server}', { params: { path: { server: 'libvirtd' } } });
  check(srv.data?.threadpool.maxWorkers === 20, 'GET /servers/{server}');
  const srv2 = await client.GET('/daemons/{daemon}/servers/{server}', {
    params: { path: { daemon, server: otherServer } },
  });
  check(srv2.data?.name === otherServer, 'GET /daemons/{daemon}/servers/{server}');

  const tp = await client.GET('/servers/{server}/threadpool', { params: { path: { server: 'admin' } } });
  check(tp.data && tp.data.minWorkers <= tp.data.maxWorkers, 'GET /servers/{server}/threadpool');
  const tp2 = await client.PATCH('/servers/{server}/threadpool', {
    params: { path: { server: 'libvirtd' } },
    body: { maxWorkers: 25 },
  });
  check(tp2.data?.maxWorkers === 25, 'PATCH /servers/{server}/threadpool');
  const tp3 = await client.GET('/daemons/{daemon}/servers/{server}/threadpool', {
    params: { path: { daemon, server: 'admin' } },
  });
  check(tp3.data !== undefined, 'GET /daemons/{daemon}/servers/{server}/threadpool');
  const tp4 = await client.PATCH('/daemons/{daemon}/servers/{server}/threadpool', {
    params: { path: { daemon, server: 'admin' } },
    body: { prioWorkers: 2 },
  });
  check(tp4.data?.prioWorkers === 2, 'PATCH /daemons/{daemon}/servers/{server}/threadpool');

  const cl = await client.GET('/servers/{server}/client-limits', { params: { path: { server: 'libvirtd' } } });
  check(cl.data?.maxClients === 5000, 'GET /servers/{server}/client-limits');
  const cl2 = await client.PATCH('/servers/{server}/client-limits', {
    params: { path: { server: 'libvirtd' } },
    body: { maxClients: 4000 },
  });
  check(cl2.data?.maxClients === 4000, 'PATCH /servers/{server}/client-limits');
  const cl3 = await client.GET('/daemons/{daemon}/servers/{server}/client-limits', {
    params: { path: { daemon, server: otherServer } },
  });
  check(cl3.data !== undefined, 'GET /daemons/{daemon}/servers/{server}/client-limits');
  const cl4 = await client.PATCH('/daemons/{daemon}/servers/{server}/client-limits', {
    params: { path: { daemon, server: otherServer } },
    body: { maxClients: 5, maxUnauthClients: 6 },
  });
  check(
    cl4.response.status === 400 && cl4.error?.code === 'ERR_INVALID_ARGUMENT',
    'PATCH /daemons/{daemon}/servers/{server}/client-limits',
  );

  // Clients: a page at a time, then who one is, then away with it.
  const ids: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.GET('/servers/{server}/clients', {
      params: { path: { server: 'libvirtd' }, query: cursor ? { limit: 1, cursor } : { limit: 1 } },
    });
    check(page.data, 'GET /servers/{server}/clients');
    ids.push(...page.data.clients.map((c) => c.id));
    cursor = page.data.nextCursor ?? undefined;
  } while (cursor);
  check(
    facts.victims.every((id) => ids.includes(id)),
    `victims listed (${ids})`,
  );
  const scopedList = await client.GET('/daemons/{daemon}/servers/{server}/clients', {
    params: { path: { daemon, server: otherServer } },
  });
  check(scopedList.data !== undefined, 'GET /daemons/{daemon}/servers/{server}/clients');
  const [first, second] = facts.victims;
  const who = await client.GET('/servers/{server}/clients/{id}', {
    params: { path: { server: 'libvirtd', id: first } },
  });
  check(who.data?.id === first && who.data.transport === 'unix', 'GET /servers/{server}/clients/{id}');
  const who2 = await client.GET('/daemons/{daemon}/servers/{server}/clients/{id}', {
    params: { path: { daemon, server: otherServer, id: 999999 } },
  });
  check(
    who2.response.status === 404 && who2.error?.code === 'ERR_UNKNOWN_CLIENT',
    'GET /daemons/{daemon}/servers/{server}/clients/{id}',
  );
  const gone = await client.DELETE('/servers/{server}/clients/{id}', {
    params: { path: { server: 'libvirtd', id: first } },
  });
  check(gone.response.status === 204, 'DELETE /servers/{server}/clients/{id}');
  const gone2 = await client.DELETE('/daemons/{daemon}/servers/{server}/clients/{id}', {
    params: { path: { daemon: index.data.defaultDaemon, server: 'libvirtd', id: second } },
  });
  check(gone2.response.status === 204, 'DELETE /daemons/{daemon}/servers/{server}/clients/{id}');

  // What the gateway recorded of a server, and who the caller is.
  const me = await client.GET('/whoami');
  check(me.data?.role === 'admin', 'GET /whoami');
  const samples = await client.GET('/servers/{server}/samples', {
    params: { path: { server: 'libvirtd' }, query: { limit: 10 } },
  });
  check(
    samples.data && samples.data.series.time.length === samples.data.series.maxWorkers.length,
    'GET /servers/{server}/samples',
  );
  const samples2 = await client.GET('/daemons/{daemon}/servers/{server}/samples', {
    params: { path: { daemon, server: otherServer }, query: { after: 0 } },
  });
  check(samples2.data?.server === otherServer, 'GET /daemons/{daemon}/servers/{server}/samples');
  const history = await client.GET('/servers/{server}/client-history', {
    params: { path: { server: 'libvirtd' }, query: { limit: 5 } },
  });
  check(history.data && Array.isArray(history.data.entries), 'GET /servers/{server}/client-history');
  const history2 = await client.GET('/daemons/{daemon}/servers/{server}/client-history', {
    params: { path: { daemon, server: otherServer }, query: { cursor: 'bm9wZQ' } },
  });
  check(
    history2.response.status === 400 && history2.error?.code === 'ERR_INVALID_CURSOR',
    'GET /daemons/{daemon}/servers/{server}/client-history',
  );

  // The desired state, declared in observe mode (nothing is changed), its status and the plan.
  const declared = await client.PUT('/daemons/{daemon}/desired-state', {
    params: { path: { daemon } },
    body: { mode: 'observe' },
  });
  check(declared.data?.mode === 'observe', 'PUT /daemons/{daemon}/desired-state');
  const desired = await client.GET('/daemons/{daemon}/desired-state', { params: { path: { daemon } } });
  check(desired.data?.mode === 'observe', 'GET /daemons/{daemon}/desired-state');
  const status = await client.GET('/daemons/{daemon}/desired-state/status', { params: { path: { daemon } } });
  check(
    status.data?.daemon === daemon && typeof status.data.converged === 'boolean',
    'GET /daemons/{daemon}/desired-state/status',
  );
  const plan = await client.POST('/daemons/{daemon}/desired-state/plan', { params: { path: { daemon } } });
  check(plan.data?.mode === 'observe' && Array.isArray(plan.data.steps), 'POST /daemons/{daemon}/desired-state/plan');

  // TLS: the harness's servers have no TLS listener.
  const tls = await client.POST('/servers/{server}/tls/reload', { params: { path: { server: 'libvirtd' } } });
  check(tls.response.status === 409 && tls.error?.code === 'ERR_NO_TLS_LISTENER', 'POST /servers/{server}/tls/reload');
  const tls2 = await client.POST('/daemons/{daemon}/servers/{server}/tls/reload', {
    params: { path: { daemon, server: otherServer } },
  });
  check(tls2.response.status === 409, 'POST /daemons/{daemon}/servers/{server}/tls/reload');

  return calls;
}
