// The plan of calls the contract clients (go-client, perl-client) make: one per operation of the 3.0 document,
// with the document's own request examples as bodies, against the real libvirtd of test/http/gateway.ts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPENAPI_30_PATH } from '../../src/http/openapi-document.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

/** One call: the operation, the concrete path and its parameters, the body, and the status it must answer. */
export interface PlannedCall {
  operationId: string;
  method: string;
  template: string;
  path: string;
  params: Record<string, string | number>;
  body?: unknown;
  expect: number;
}

interface Doc {
  paths: Record<
    string,
    Partial<Record<(typeof METHODS)[number], { operationId: string; requestBody?: { $ref: string } }>>
  >;
  components: { requestBodies: Record<string, { content: { 'application/json': { example: unknown } } }> };
}

/**
 * Every operation but /events (a stream), deletions last (the clients they end are read before). Client ids:
 * three connected clients of libvirtd, one read, two disconnected.
 */
export async function planCalls(clients: { kept: number; victims: [number, number] }): Promise<PlannedCall[]> {
  const doc = JSON.parse(await readFile(join(ROOT, OPENAPI_30_PATH), 'utf8')) as Doc;
  const calls: PlannedCall[] = [];
  const deletes: PlannedCall[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    if (template === '/events') continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const scoped = template.startsWith('/daemons/{daemon}');
      const params: Record<string, string | number> = {};
      if (template.includes('{daemon}')) params['daemon'] = 'libvirtd';
      if (template.includes('{server}')) params['server'] = 'libvirtd';
      if (template.includes('{id}'))
        params['id'] = method === 'delete' ? clients.victims[scoped ? 1 : 0] : clients.kept;
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name]));
      let body = op.requestBody
        ? doc.components.requestBodies[op.requestBody.$ref.split('/').pop()!]!.content['application/json'].example
        : undefined;
      // The timeout example (600 s) would let the test daemon exit while idle: 0 turns auto-shutdown off.
      if (template.endsWith('/timeout')) body = { seconds: 0 };
      // Declared in observe mode: enforced, the example would undo the threadpool change the tests check after.
      if (template.endsWith('/desired-state') && method === 'put') body = { ...(body as object), mode: 'observe' };
      const expect =
        method === 'delete' || template.endsWith('/timeout')
          ? 204
          : template.endsWith('/shutdown')
            ? 501 // libvirtd 9.0.0 has no CONNECT_DAEMON_SHUTDOWN
            : template.endsWith('/tls/reload')
              ? 409 // the test daemon has no TLS listener
              : 200;
      const call = {
        operationId: op.operationId,
        method: method.toUpperCase(),
        template,
        path,
        params,
        ...(body === undefined ? {} : { body }),
        expect,
      };
      (method === 'delete' ? deletes : calls).push(call);
    }
  }
  return [...calls, ...deletes];
}
