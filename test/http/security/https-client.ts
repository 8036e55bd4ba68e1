// A real HTTPS (or HTTP, over TCP or a unix socket) client for the security tests: one request, with or without
// a client certificate and a bearer token, with any headers (Host included) and a raw body if need be; event
// streams are cut after their headers.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** What one request returned. */
export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Options of one request. */
export interface SimpleRequest {
  method?: string;
  path: string;
  body?: unknown;
  token?: string;
  /** Client certificate and key (PEM). */
  cert?: Buffer;
  key?: Buffer;
  /** CA that signs the server certificate. */
  ca?: Buffer;
  /** HTTP over this unix socket instead of HTTPS. */
  socketPath?: string;
  /** More request headers (a `host` here replaces the one taken from the URL). */
  headers?: Record<string, string>;
  /** A body sent as is (no Content-Type added), instead of `body` as JSON. */
  rawBody?: string;
  /** The local address to connect from (e.g. another 127.x address: another source). */
  localAddress?: string;
}

/** Sends one request to `base` (https://host:port, or http://) and reads the whole answer (only the head of an SSE stream). */
export function send(base: string, options: SimpleRequest): Promise<SimpleResponse> {
  const url = new URL(options.path, base);
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined && options.rawBody === undefined) headers['content-type'] ??= 'application/json';
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const common = { method: options.method ?? 'GET', path: url.pathname + url.search, headers, agent: false as const };
    const req =
      options.socketPath !== undefined
        ? httpRequest({ ...common, socketPath: options.socketPath })
        : url.protocol === 'http:'
          ? httpRequest({
              ...common,
              host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
              port: url.port,
              localAddress: options.localAddress,
            })
          : httpsRequest({
              ...common,
              host: url.hostname,
              port: url.port,
              servername: 'localhost',
              localAddress: options.localAddress,
              ca: options.ca,
              cert: options.cert,
              key: options.key,
            });
    req.once('error', reject);
    req.once('response', (res) => {
      const done = (body: string) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        res.destroy();
        req.destroy();
        done('');
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => done(Buffer.concat(chunks).toString('utf8')));
      res.once('error', reject);
    });
    req.end(payload);
  });
}
