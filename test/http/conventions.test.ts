// HTTP conventions of issue 14 items 8 and 9: a wrong method on an existing path is 405 with Allow, and requests
// node's HTTP parser refuses (bad request line, bad Content-Length, Transfer-Encoding with Content-Length, headers
// too large, too slow) are answered as problem documents with the security headers and an x-request-id, on the
// TCP listener and on the unix-socket listener alike.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import gateway from '../../src/http/app.js';
import { answerClientError } from '../../src/http/client-errors.js';
import { gatewayServerOptions } from '../../src/http/server-options.js';
import { SECURITY_HEADERS } from '../../src/security/headers.js';
import { limitedServerFactory, RequestLimits } from '../../src/security/limits.js';
import { serveOnUnixSocket, type UnixHttpListener } from '../../src/security/unix-socket.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../harness/embedded.js';
import { servingAnyone } from './gateway.js';

const LIMITS = {
  maxHeaderSize: RequestLimits.HEADER_BYTES,
  headersTimeout: 300,
  requestTimeout: 600,
  connectionsCheckingInterval: 50,
  keepAliveTimeout: 5000,
};

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `bytes` on a fresh connection and reads the answer until the server closes it. */
async function raw(open: () => Socket, bytes: string): Promise<RawAnswer> {
  const socket = open();
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  if (bytes) socket.write(bytes);
  await new Promise((resolve) => socket.once('close', resolve));
  const [head, ...rest] = received.split('\r\n\r\n');
  const [statusLine, ...lines] = (head ?? '').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine?.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

function assertRawProblem(answer: RawAnswer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer));
  assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.match(answer.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(answer.headers[name], value, name);
  assert.equal(answer.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
  assert.equal(answer.headers['cache-control'], 'no-store');
  const body = JSON.parse(answer.body) as { status: number; code: string; title: string; detail: string; type: string };
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.ok(body.detail.length > 0);
}

describe('HTTP conventions', () => {
  let daemon: EmbeddedDaemonHandle;
  let app: FastifyInstance;
  let port: number;
  let dir: string;
  let unix: UnixHttpListener;
  before(async () => {
    daemon = await startEmbeddedDaemon();
    app = Fastify({ ...gatewayServerOptions(), serverFactory: limitedServerFactory(undefined, LIMITS) });
    await app.register(gateway, {
      daemons: [{ uri: daemon.adminUri }],
      callTimeoutMs: 5000,
      security: { authenticator: servingAnyone() },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
    dir = await mkdtemp(join(tmpdir(), 'conventions-'));
    unix = await serveOnUnixSocket(
      (req, res) => app.routing(req, res),
      join(dir, 'http.sock'),
      0o600,
      LIMITS,
      (err, socket) => answerClientError(app.log, err, socket),
    );
  });
  after(async () => {
    await unix?.close();
    await app?.close();
    await daemon?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a wrong method on an existing path is 405 with Allow, as a problem with the usual headers', async () => {
    const cases: Array<[method: string, url: string, allow: string]> = [
      ['DELETE', '/servers', 'GET, HEAD'],
      ['POST', '/servers/libvirtd/threadpool', 'GET, HEAD, PATCH'],
      ['PUT', '/servers/libvirtd/clients/1', 'DELETE, GET, HEAD'],
      ['GET', '/servers/admin/tls/reload', 'POST'],
    ];
    for (const [method, url, allow] of cases) {
      const res = await app.inject({ method: method as 'GET', url });
      assert.equal(res.statusCode, 405, `${method} ${url}`);
      assert.equal(res.headers['allow'], allow, `${method} ${url}`);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.ok(res.headers['x-request-id']);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      const body = res.json<{ code: string; instance: string; detail: string }>();
      assert.equal(body.code, 'ERR_METHOD_NOT_ALLOWED');
      assert.equal(body.instance, url);
      assert.match(body.detail, new RegExp(`^${method} is not served at `));
    }
    // A path no route has is still 404.
    assert.equal((await app.inject({ method: 'DELETE', url: '/servers/libvirtd/nothing' })).statusCode, 404);
  });

  const listeners: Array<[string, () => Socket]> = [
    ['the TCP listener', () => connect({ host: '127.0.0.1', port })],
    ['the unix-socket listener', () => connect({ path: join(dir, 'http.sock') })],
  ];
  for (const [label, open] of listeners) {
    it(`parser errors on ${label} are problem documents`, async () => {
      assertRawProblem(await raw(open, 'BOGUS LINE\r\n\r\n'), 400, 'ERR_BAD_REQUEST');
      assertRawProblem(
        await raw(open, 'GET /servers HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'),
        400,
        'ERR_BAD_REQUEST',
      );
      assertRawProblem(
        await raw(
          open,
          'POST /servers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
        ),
        400,
        'ERR_BAD_REQUEST',
      );
      const big = `GET /servers HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(RequestLimits.HEADER_BYTES + 10)}\r\n\r\n`;
      assertRawProblem(await raw(open, big), 431, 'ERR_HEADERS_TOO_LARGE');
    });

    it(`headers that never end on ${label} are 408 as a problem document`, async () => {
      assertRawProblem(await raw(open, 'GET /servers HTTP/1.1\r\nHost: x\r\n'), 408, 'ERR_REQUEST_TIMEOUT');
    });
  }
});
