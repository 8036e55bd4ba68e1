// Every attempted change leaves structured audit records on the `audit` child logger: who, from where (as recorded
// when the TCP listener accepted the connection), which daemon and server, the old and the requested value, and how
// it ended (done, refused or failed). A change that reaches the daemon has two, its attempt and its outcome; one
// refused before any call has its outcome only.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import gateway from '../../../src/http/app.js';
import { gatewayServerOptions } from '../../../src/http/server-options.js';
import { Authenticator } from '../../../src/security/authenticate.js';
import { LogOutputPolicy } from '../../../src/security/log-policy.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../../harness/embedded.js';
import { openRawClients, type RawClients } from '../../harness/raw-clients.js';

type Line = Record<string, unknown>;

describe('audit records', () => {
  let embedded: EmbeddedDaemonHandle;
  let app: FastifyInstance;
  let base: string;
  let idle: RawClients;
  const lines: Line[] = [];

  before(async () => {
    embedded = await startEmbeddedDaemon();
    idle = await openRawClients(embedded.clientSocket, 1);
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Line);
        done();
      },
    });
    const tokens = TokenStore.fromEntries(
      parseTokensFile([tokenLine('viewer', 'tok-v', 'grafana'), tokenLine('admin', 'tok-a', 'alice')].join('\n')),
    );
    app = Fastify(gatewayServerOptions({ level: 'info', stream }));
    await app.register(gateway, {
      daemons: [{ uri: embedded.adminUri }],
      callTimeoutMs: 5000,
      security: { authenticator: new Authenticator({ tokens }), logPolicy: new LogOutputPolicy([embedded.dir]) },
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    idle?.close();
    await app?.close();
    await embedded?.stop();
  });

  const admin = { authorization: 'Bearer tok-a' };
  const viewer = { authorization: 'Bearer tok-v' };

  /** One request over the TCP listener. */
  const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
    fetch(`${base}${url}`, {
      method,
      headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
    });

  /** Sends one request and returns the audit records it produced. */
  async function audited(
    method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE',
    url: string,
    headers: Record<string, string>,
    payload?: unknown,
  ) {
    const from = lines.length;
    const res = await call(method, url, headers, payload);
    await res.arrayBuffer();
    // onResponse runs after the reply is sent: give it a turn.
    await new Promise((resolve) => setImmediate(resolve));
    return { status: res.status, records: lines.slice(from).filter((line) => line['audit'] === true) };
  }

  /** The outcome record of a change refused before any daemon call: the only record it leaves. */
  function only(records: Line[]): Line {
    assert.equal(records.length, 1, JSON.stringify(records));
    return checked(records[0]!, 'outcome');
  }

  /** The outcome record of a change that reached the daemon, after checking its attempt record came first. */
  function attempted(records: Line[]): Line {
    assert.equal(records.length, 2, JSON.stringify(records));
    const [attempt, outcome] = [checked(records[0]!, 'attempt'), checked(records[1]!, 'outcome')];
    for (const field of ['action', 'requestId', 'actor', 'daemon', 'server', 'client', 'old', 'new']) {
      assert.deepEqual(attempt[field], outcome[field], field);
    }
    assert.equal(attempt['result'], undefined);
    assert.equal(attempt['msg'], `audit: ${String(attempt['action'])} by token 'alice': attempt`);
    return outcome;
  }

  function checked(record: Line, phase: 'attempt' | 'outcome'): Line {
    assert.equal(record['phase'], phase);
    assert.equal(record['name'], 'audit');
    assert.deepEqual(record['source'], { transport: 'tcp', address: '127.0.0.1' });
    assert.equal(record['daemon'], 'libvirtd');
    assert.equal(typeof record['requestId'], 'string');
    return record;
  }

  it('records a successful change with who, the old and the requested value', async () => {
    const { status, records } = await audited('PATCH', '/servers/libvirtd/threadpool', admin, { minWorkers: 6 });
    assert.equal(status, 200);
    const record = attempted(records);
    assert.deepEqual(
      [
        record['action'],
        record['actor'],
        record['server'],
        record['new'],
        record['result'],
        record['statusCode'],
        record['level'],
      ],
      [
        'threadpool.update',
        { kind: 'token', name: 'alice', role: 'admin' },
        'libvirtd',
        { minWorkers: 6 },
        'success',
        200,
        30,
      ],
    );
    assert.equal((record['old'] as { minWorkers: number }).minWorkers, 5);
    assert.equal(record['msg'], "audit: threadpool.update by token 'alice': success");
    await audited('PATCH', '/servers/libvirtd/threadpool', admin, { minWorkers: 5 });
  });

  it('records every kind of change', async () => {
    const logging = (await (await call('GET', '/daemon/logging', viewer)).json()) as { raw: { outputs: string } };
    const clientId = (
      (await (await call('GET', '/servers/libvirtd/clients', viewer)).json()) as { clients: Array<{ id: number }> }
    ).clients[0]!.id;
    const changes: Array<[Parameters<typeof audited>[0], string, unknown, string, number, string]> = [
      ['PUT', '/daemon/timeout', { seconds: 0 }, 'daemon.timeout.set', 204, 'success'],
      [
        'PUT',
        '/daemon/logging',
        { outputs: logging.raw.outputs, filters: '1:qemu' },
        'logging.replace',
        200,
        'success',
      ],
      ['PATCH', '/daemon/logging', { filters: '' }, 'logging.update', 200, 'success'],
      [
        'PATCH',
        '/daemons/libvirtd/servers/admin/client-limits',
        { maxClients: 4000 },
        'client-limits.update',
        200,
        'success',
      ],
      ['PATCH', '/servers/admin/client-limits', { maxClients: 5000 }, 'client-limits.update', 200, 'success'],
      ['DELETE', `/servers/libvirtd/clients/${clientId}`, undefined, 'client.disconnect', 204, 'success'],
      ['POST', '/servers/libvirtd/tls/reload', undefined, 'tls.reload', 409, 'failure'],
      ['POST', '/daemon/shutdown', undefined, 'daemon.shutdown', 501, 'failure'],
    ];
    for (const [method, url, body, action, status, result] of changes) {
      const audit = await audited(method, url, admin, body);
      assert.equal(audit.status, status, `${method} ${url}`);
      const record = attempted(audit.records);
      // Shutdown has no body: its record shows the query's flag as the requested value.
      const requested = action === 'daemon.shutdown' ? { preserve: false } : body;
      assert.deepEqual(
        [record['action'], record['result'], record['statusCode'], record['new']],
        [action, result, status, requested],
        `${method} ${url}`,
      );
      if (result === 'failure') assert.equal(typeof record['reason'], 'string');
    }
    const disconnect = lines.filter((line) => line['action'] === 'client.disconnect').at(-1)!;
    assert.equal(
      (disconnect['old'] as { id: number }).id,
      clientId,
      'the old value names the client that was disconnected',
    );
    assert.equal(disconnect['client'], String(clientId));
    const replace = lines.filter((line) => line['action'] === 'logging.replace').at(-1)!;
    assert.deepEqual(replace['old'], { outputs: logging.raw.outputs, filters: '' });
  });

  it('records refused changes: no credentials, a bad token, a role too low, a log file outside the allowed folder', async () => {
    const cases: Array<[Record<string, string>, string, unknown, number, unknown, RegExp]> = [
      [{}, '/servers/libvirtd/threadpool', { minWorkers: 7 }, 401, null, /^Authentication required/],
      [{ authorization: 'Bearer nope' }, '/servers/libvirtd/threadpool', { minWorkers: 7 }, 401, null, /not valid/],
      [
        viewer,
        '/servers/libvirtd/threadpool',
        { minWorkers: 7 },
        403,
        { kind: 'token', name: 'grafana', role: 'viewer' },
        /needs the operator role/,
      ],
      [
        admin,
        '/daemon/logging',
        { outputs: '1:file:/etc/libvirt-gateway-test.log' },
        403,
        { kind: 'token', name: 'alice', role: 'admin' },
        /outside the allowed log directories/,
      ],
    ];
    for (const [headers, url, body, status, actor, reason] of cases) {
      const audit = await audited('PATCH', url, headers, body);
      assert.equal(audit.status, status);
      const record = only(audit.records);
      assert.deepEqual(
        [record['result'], record['statusCode'], record['actor'], record['level']],
        ['refused', status, actor, 40],
      );
      assert.match(String(record['reason']), reason);
    }
  });

  it('records a change on a connection no listener accepted (inject) as refused, from in-process', async () => {
    const from = lines.length;
    const res = await app.inject({
      method: 'PATCH',
      url: '/servers/libvirtd/threadpool',
      headers: admin,
      payload: { minWorkers: 7 },
    });
    assert.equal(res.statusCode, 401);
    await new Promise((resolve) => setImmediate(resolve));
    const records = lines.slice(from).filter((line) => line['audit'] === true);
    assert.equal(records.length, 1);
    assert.deepEqual(
      [records[0]!['result'], records[0]!['actor'], records[0]!['source']],
      ['refused', null, { transport: 'in-process' }],
    );
    assert.match(String(records[0]!['reason']), /cannot be established/);
    const pool = await embedded.virtAdmin('srv-threadpool-info', 'libvirtd');
    assert.match(pool.stdout, /minWorkers\s*: 5\b/);
  });

  it("records failed changes with the daemon's reason", async () => {
    const audit = await audited('PATCH', '/servers/libvirtd/threadpool', admin, { minWorkers: 50 });
    assert.equal(audit.status, 400);
    const record = attempted(audit.records);
    assert.deepEqual(
      [record['result'], record['reason']],
      ['failure', 'invalid argument: minWorkers cannot be larger than maxWorkers'],
    );
  });

  it('does not record reads', async () => {
    for (const url of ['/servers', '/daemon/logging', '/servers/libvirtd/threadpool']) {
      assert.deepEqual((await audited('GET', url, viewer)).records, []);
    }
    assert.deepEqual((await audited('GET', '/servers', {})).records, []);
  });
});
