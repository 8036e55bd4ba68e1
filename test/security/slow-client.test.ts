// Slow clients: a request whose headers or body arrive too slowly is cut off with 408 at its limit, give or take
// one check interval (node sweeps connections for expired requests at an interval, 30 s unless told otherwise,
// which once let a "30 s" request run for ~58 s). The times are measured on servers made with short limits, so
// the file runs in seconds; the last suite checks that the gateway's own listeners carry the production limits.
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { gatewayServerOptions } from '../../src/http/server-options.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import {
  HTTP_SERVER_LIMITS,
  limitedServerFactory,
  RequestLimits,
  type HttpServerLimits,
} from '../../src/security/limits.js';
import { serveOnUnixSocket, type UnixHttpListener } from '../../src/security/unix-socket.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../harness/embedded.js';
import { makePki } from '../http/security/pki.js';

/** The check interval scaled as the limits below: a cut-off later than this past its limit is a failure. */
const CHECK_INTERVAL_MS = Math.round(RequestLimits.TIMEOUT_CHECK_INTERVAL_MS / 30);
/** The production limits scaled down 30 times: the same ratio of check interval to timeout (1 to 30). */
const SHORT: HttpServerLimits = {
  maxHeaderSize: RequestLimits.HEADER_BYTES,
  headersTimeout: Math.round(RequestLimits.HEADERS_TIMEOUT_MS / 30),
  requestTimeout: Math.round(RequestLimits.REQUEST_TIMEOUT_MS / 30),
  connectionsCheckingInterval: CHECK_INTERVAL_MS,
  keepAliveTimeout: Math.round(RequestLimits.KEEP_ALIVE_TIMEOUT_MS / 30),
};
/** Allowance for a loaded machine (2 shared cores): still far below the 1 s a missing interval would add. */
const SLACK_MS = 400;
/** A byte every this often: a slow client that never pauses long enough for an idle timeout. */
const TRICKLE_MS = 10;

/** Reads the body, then answers 200 with its length. */
const echoLength: RequestListener = (req, res) => {
  let length = 0;
  req.on('data', (chunk: Buffer) => (length += chunk.length));
  req.on('end', () => res.end(String(length)));
};

interface SlowResult {
  /** The status line the server sent, if any. */
  statusLine: string | undefined;
  /** From the first byte sent to the connection's close, in ms. */
  elapsedMs: number;
}

/**
 * Sends `head` at once (possibly nothing), then `trickle` one byte every TRICKLE_MS, and waits for the server to
 * answer and close. `connectTo` opens the connection (TCP port or unix socket path).
 */
async function slowRequest(connectTo: () => Socket, head: string, trickle: string): Promise<SlowResult> {
  const socket = connectTo();
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {}); // the server may reset the connection after its 408
  const started = performance.now();
  socket.write(head === '' ? trickle[0]! : head);
  let sent = head === '' ? 1 : 0;
  const timer = setInterval(() => {
    if (sent < trickle.length && socket.writable) socket.write(trickle[sent++]!);
  }, TRICKLE_MS);
  try {
    // Not events.once: it would reject on the EPIPE of a byte written as the server closes.
    await new Promise((resolve) => socket.once('close', resolve));
  } finally {
    clearInterval(timer);
  }
  return { statusLine: received.split('\r\n')[0] || undefined, elapsedMs: performance.now() - started };
}

/** A request head announcing a body of `length` bytes. */
const headWithBody = (length: number) => `POST /echo HTTP/1.1\r\nhost: localhost\r\ncontent-length: ${length}\r\n\r\n`;
/** Header lines that never end. */
const endlessHeaders = `x-slow: ${'a'.repeat(4000)}`;

/**
 * `lostAnswerOnReset`: on a unix socket, a server that closes with bytes of ours still unread resets the
 * connection, and the reset (or an EPIPE on our next byte, or a bare close on Node 24) may reach us before the
 * 408 it wrote; then the cut-off is shown by the connection's end and its time.
 */
function assertCutOffAt(result: SlowResult, limitMs: number, what: string, lostAnswerOnReset = false): void {
  if (!(lostAnswerOnReset && result.statusLine === undefined)) {
    assert.equal(result.statusLine, 'HTTP/1.1 408 Request Timeout', what);
  }
  // Node counts from the first byte it parsed; the client's clock started a little earlier.
  assert.ok(
    result.elapsedMs >= limitMs - 20,
    `${what}: cut off after ${result.elapsedMs.toFixed(0)} ms, before its limit of ${limitMs} ms`,
  );
  const latest = limitMs + CHECK_INTERVAL_MS + SLACK_MS;
  assert.ok(
    result.elapsedMs < latest,
    `${what}: cut off after ${result.elapsedMs.toFixed(0)} ms, later than ${latest} ms`,
  );
}

describe('slow clients on a TCP listener made by limitedServerFactory', () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = limitedServerFactory(undefined, SHORT)(echoLength);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const tcp = () => connect(port, '127.0.0.1');

  it('a body trickled for longer than the request timeout is cut off at that timeout with 408', async (t) => {
    const result = await slowRequest(tcp, headWithBody(100_000), 'x'.repeat(100_000));
    t.diagnostic(`request timeout ${SHORT.requestTimeout} ms, cut off after ${result.elapsedMs.toFixed(0)} ms`);
    assertCutOffAt(result, SHORT.requestTimeout, 'slow body');
  });

  it('headers trickled for longer than the headers timeout are cut off at that (shorter) timeout with 408', async (t) => {
    const result = await slowRequest(tcp, '', `GET /echo HTTP/1.1\r\nhost: localhost\r\n${endlessHeaders}`);
    t.diagnostic(`headers timeout ${SHORT.headersTimeout} ms, cut off after ${result.elapsedMs.toFixed(0)} ms`);
    assertCutOffAt(result, SHORT.headersTimeout, 'slow headers');
  });

  it('a request that arrives within its time is answered, however slowly it came', async () => {
    // About half the request timeout at one byte per TRICKLE_MS: slow, but in time.
    const bytes = Math.floor(SHORT.requestTimeout / 2 / TRICKLE_MS);
    const socket = tcp();
    await once(socket, 'connect');
    socket.write(headWithBody(bytes));
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < bytes) socket.write(String(sent++ % 10));
    }, TRICKLE_MS);
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    try {
      await once(socket, 'data');
    } finally {
      clearInterval(timer);
      socket.destroy();
    }
    assert.match(received, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\d+$/);
    assert.equal(received.split('\r\n\r\n')[1], String(bytes));
  });
});

describe('slow clients on the unix socket listener', () => {
  let dir: string;
  let listener: UnixHttpListener;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slow-'));
    listener = await serveOnUnixSocket(echoLength, join(dir, 'http.sock'), 0o600, SHORT);
  });
  after(async () => {
    await listener?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('cuts a slow body off at the request timeout, as the TCP listener does', async () => {
    const result = await slowRequest(() => connect(listener.path), headWithBody(100_000), 'x'.repeat(100_000));
    assertCutOffAt(result, SHORT.requestTimeout, 'slow body on the unix socket', true);
  });

  it('cuts slow headers off at the headers timeout', async () => {
    const result = await slowRequest(
      () => connect(listener.path),
      '',
      `GET / HTTP/1.1\r\nhost: localhost\r\n${endlessHeaders}`,
    );
    assertCutOffAt(result, SHORT.headersTimeout, 'slow headers on the unix socket', true);
  });
});

describe("the gateway's listeners carry the production limits", () => {
  let embedded: EmbeddedDaemonHandle;
  let dir: string;
  let gateway: RunningGateway;
  before(async () => {
    embedded = await startEmbeddedDaemon();
    dir = await mkdtemp(join(tmpdir(), 'limits-'));
    const invocation = loadConfig(
      [
        '--connect',
        embedded.adminUri,
        '--listen',
        '127.0.0.1:0',
        '--listen-socket',
        join(dir, 'http.sock'),
        '--log-level',
        'silent',
      ],
      {},
    );
    assert.equal(invocation.kind, 'run');
    gateway = await startGateway(invocation.config, () => {});
  });
  after(async () => {
    await gateway?.close();
    await embedded?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The node:http server that handles a request made by `send` (node reports each request it starts). */
  async function serverOf(send: () => Promise<IncomingMessage>): Promise<Server> {
    let seen: Server | undefined;
    const onStart = (message: unknown) => void (seen ??= (message as { server: Server }).server);
    diagnostics.subscribe('http.server.request.start', onStart);
    try {
      const res = await send();
      res.resume();
      await once(res, 'end');
      assert.equal(res.statusCode, 200);
    } finally {
      diagnostics.unsubscribe('http.server.request.start', onStart);
    }
    assert.ok(seen, 'no request was seen starting');
    return seen;
  }
  const get = (options: { port?: number; socketPath?: string }) => () =>
    new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', path: '/healthz', agent: false, ...options }, resolve)
        .on('error', reject)
        .end();
    });
  // maxHeaderSize and connectionsCheckingInterval are kept on the server, though @types/node does not say so.
  const limitsOf = (server: Server): HttpServerLimits => ({
    maxHeaderSize: (server as Server & { maxHeaderSize: number }).maxHeaderSize,
    headersTimeout: server.headersTimeout,
    requestTimeout: server.requestTimeout,
    connectionsCheckingInterval: (server as Server & { connectionsCheckingInterval: number })
      .connectionsCheckingInterval,
    keepAliveTimeout: server.keepAliveTimeout,
  });

  it('the TCP listener: header size, headers and request time, check interval, keep-alive', async () => {
    const server = await serverOf(get({ port: Number(new URL(gateway.url).port) }));
    assert.equal(server, gateway.app.server);
    assert.deepEqual(limitsOf(server), HTTP_SERVER_LIMITS);
    assert.deepEqual(HTTP_SERVER_LIMITS, {
      maxHeaderSize: 16 * 1024,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      connectionsCheckingInterval: 1_000,
      keepAliveTimeout: 10_000,
    });
  });

  it('the unix socket listener: the same limits', async () => {
    const server = await serverOf(get({ socketPath: join(dir, 'http.sock') }));
    assert.notEqual(server, gateway.app.server);
    assert.deepEqual(limitsOf(server), HTTP_SERVER_LIMITS);
  });

  it('a TLS listener from the same factory: the same limits', async () => {
    const pki = await makePki();
    try {
      const server = limitedServerFactory({ key: pki.server.key, cert: pki.server.cert })(echoLength);
      assert.deepEqual(limitsOf(server), HTTP_SERVER_LIMITS);
    } finally {
      await pki.remove();
    }
  });

  it('the app: a 256 KiB body limit and 1024-character path parameters', async () => {
    assert.equal(gateway.app.initialConfig.bodyLimit, RequestLimits.BODY_BYTES);
    assert.equal(RequestLimits.BODY_BYTES, 256 * 1024);
    assert.equal(gatewayServerOptions().bodyLimit, 256 * 1024);
    assert.equal(RequestLimits.PARAM_LENGTH, 1024);
    const body = JSON.stringify({ filters: 'x'.repeat(RequestLimits.BODY_BYTES) });
    // On the unix socket, where the caller is the anonymous admin: the limit, not authentication, answers.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
      httpRequest(
        { socketPath: join(dir, 'http.sock'), method: 'PATCH', path: '/daemon/logging', headers, agent: false },
        resolve,
      )
        .on('error', reject)
        .end(body);
    });
    let text = '';
    for await (const chunk of res) text += String(chunk);
    assert.equal(res.statusCode, 413);
    assert.equal((JSON.parse(text) as { code: string }).code, 'ERR_PAYLOAD_TOO_LARGE');
  });
});
