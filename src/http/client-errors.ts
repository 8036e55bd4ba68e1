import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { API_RESPONSE_HEADERS, SECURITY_HEADERS } from '../security/headers.js';
import { HttpProblemCode, PROBLEMS, problemType, type ProblemDocument } from './problems.js';

/**
 * Requests node's HTTP parser refuses before any route sees them (a bad request line, `Content-Length: abc`,
 * Transfer-Encoding together with Content-Length, headers past the size limit, headers or body not received in
 * time). Node reports them as the server's `clientError`; the answer is written on the raw socket, since there is
 * no request object, but it is the same problem document, with the same security headers and an x-request-id
 * that the log line carries too.
 */

const MEDIA_TYPE = 'application/problem+json';
/** How long a client that does not read gets to take the answer before the socket is destroyed. */
const WRITE_GRACE_MS = 5000;

/** The problem code of a parser error, by node's error code (llhttp's HPE_*, or node's own). */
export function clientErrorCode(err: NodeJS.ErrnoException): HttpProblemCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return HttpProblemCode.REQUEST_TIMEOUT;
  if (err.code === 'HPE_HEADER_OVERFLOW') return HttpProblemCode.HEADERS_TOO_LARGE;
  return HttpProblemCode.BAD_REQUEST;
}

/** What to say for each kind of parser error (llhttp's own reasons are terse and internal). */
function detailOf(code: HttpProblemCode, err: NodeJS.ErrnoException): string {
  if (code === HttpProblemCode.REQUEST_TIMEOUT) return 'the request headers or body did not arrive in time';
  if (code === HttpProblemCode.HEADERS_TOO_LARGE)
    return 'the request header fields are larger than the gateway accepts';
  // llhttp's errors carry its reason ("Invalid method encountered", "Content-Length can't be present with Transfer-Encoding").
  const reason = (err as { reason?: unknown }).reason;
  return `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'}${typeof reason === 'string' ? `: ${reason}` : ''})`;
}

/** The whole raw HTTP/1.1 response for a parser error, and the request id it carries. */
export function clientErrorResponse(
  err: NodeJS.ErrnoException,
  requestId: string = randomUUID(),
): { response: string; problem: ProblemDocument } {
  const code = clientErrorCode(err);
  const { status, title } = PROBLEMS[code];
  // The request line could not be read, so there is no path to name.
  const problem: ProblemDocument = {
    type: problemType(code),
    title,
    status,
    detail: detailOf(code, err),
    instance: '',
    code,
  };
  const body = JSON.stringify(problem);
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    ...API_RESPONSE_HEADERS,
    'x-request-id': requestId,
    'content-type': `${MEDIA_TYPE}; charset=utf-8`,
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return { response: `HTTP/1.1 ${status} ${title}\r\n${head}\r\n${body}`, problem };
}

/**
 * A `clientError` listener (fastify's `clientErrorHandler` option, and the unix-socket listener's): answers with
 * a problem document where the socket can still take one, then closes it. A reset connection gets nothing.
 */
export function answerClientError(
  log: FastifyBaseLogger | undefined,
  err: NodeJS.ErrnoException,
  socket: Socket,
): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const requestId = randomUUID();
  const { response, problem } = clientErrorResponse(err, requestId);
  log?.info(
    { reqId: requestId, code: problem.code, status: problem.status, parserError: err.code },
    'request refused by the HTTP parser',
  );
  // As node's own answer (lib/_http_server.js, socketOnError): only while no response head went out on the socket.
  const current = (socket as Socket & { _httpMessage?: { _headerSent?: boolean } })._httpMessage;
  if (!socket.writable || current?._headerSent) {
    socket.destroy();
    return;
  }
  // Closed once written: destroying at once may drop the answer (the slow-client tests saw a 408 lost that way).
  socket.setTimeout(WRITE_GRACE_MS, () => socket.destroy());
  socket.end(response, () => socket.destroy());
}
