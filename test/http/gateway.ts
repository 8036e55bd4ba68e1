// Builders for HTTP tests: the app on an instance of its own (no port; supertest and inject use the server
// object), and the same app in front of a private real libvirtd and virtlogd from the harness.
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DaemonSpec } from '../../src/gateway/daemon-registry.js';
import gateway, { type AppOptions } from '../../src/http/app.js';
import { gatewayServerOptions } from '../../src/http/server-options.js';
import { Authenticator, type AuthenticatorOptions } from '../../src/security/authenticate.js';
import { startRealDaemons, type DaemonGeneration, type RealDaemonName, type RealDaemons } from '../harness/libvirtd.js';

/**
 * An authenticator that serves anyone, as --insecure does: requests that no listener accepted (fastify's inject)
 * are served too, and without credentials every caller is the anonymous admin. The explicit opt-in of in-process
 * tests; the gateway itself refuses a request whose connection none of its listeners accepted.
 */
export function servingAnyone(options: Omit<AuthenticatorOptions, 'callers'> = {}): Authenticator {
  return new Authenticator({ ...options, callers: 'anyone' });
}

/**
 * The app serving `daemons`, ready for inject/supertest. Unless `options.security.authenticator` says otherwise,
 * it serves anyone (servingAnyone()): these tests are about the routes, not about who may call them.
 */
export async function buildGateway(daemons: DaemonSpec[], options: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify(gatewayServerOptions());
  const security = { ...options.security, authenticator: options.security?.authenticator ?? servingAnyone() };
  await app.register(gateway, { daemons, callTimeoutMs: 5000, ...options, security });
  await app.ready();
  return app;
}

/** The app in front of real daemons: libvirtd (the default daemon) and virtlogd. */
export interface RealGateway {
  daemons: RealDaemons;
  app: FastifyInstance;
  /** stdout of `virt-admin -c <daemon> ...args`; fails the test unless virt-admin exits 0. */
  virtAdmin(...args: string[]): Promise<string>;
  /** The same for a given daemon. */
  virtAdminOf(name: RealDaemonName, ...args: string[]): Promise<string>;
  close(): Promise<void>;
}

/**
 * The libvirt generations the HTTP contract suites (virt-admin comparisons, errors, events, metrics, ETags) run
 * against, each with the words their describe titles carry: `for (const { generation, libvirt } of GENERATIONS)`.
 */
export const GENERATIONS: ReadonlyArray<{ generation: DaemonGeneration; libvirt: string }> = [
  { generation: '9', libvirt: 'libvirt 9.0.0' },
  { generation: '11', libvirt: 'libvirt 11.3.0' },
];

/**
 * Start libvirtd and virtlogd of a generation (default '9', the host's) and a gateway serving both (libvirtd
 * first, so it is the default). `virtAdmin` is the generation's own virt-admin.
 */
export async function startRealGateway(
  options: Partial<AppOptions> = {},
  generation: DaemonGeneration = '9',
): Promise<RealGateway> {
  const daemons = await startRealDaemons({ generation });
  let app: FastifyInstance;
  try {
    app = await buildGateway([{ uri: daemons.adminUri('libvirtd') }, { uri: daemons.adminUri('virtlogd') }], options);
  } catch (err) {
    await daemons.stop();
    throw err;
  }
  const virtAdminOf = async (name: RealDaemonName, ...args: string[]) => {
    const result = await daemons.virtAdmin(name, ...args);
    assert.equal(result.code, 0, `virt-admin ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  return {
    daemons,
    app,
    virtAdmin: (...args) => virtAdminOf('libvirtd', ...args),
    virtAdminOf,
    close: async () => {
      await app.close();
      await daemons.stop();
    },
  };
}

/** A virt-admin time (`2026-11-26 18:00:37+0000`) as ISO 8601, the way the API shows times. */
export function virtAdminTimeToIso(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})([+-]\d{2})(\d{2})$/.exec(text);
  assert.ok(m, `not a virt-admin time: ${text}`);
  return new Date(`${m[1]}T${m[2]}${m[3]}:${m[4]}`).toISOString();
}

/** Asserts an RFC 9457 problem response and returns its body. */
export function assertProblem(
  res: { status: number; headers: Record<string, string>; body: unknown; text?: string },
  status: number,
  code: string,
): Record<string, unknown> & { detail: string; libvirt?: { code: number; domain: number; message: string } } {
  const body = (
    typeof res.body === 'object' && res.body !== null && Object.keys(res.body).length > 0
      ? res.body
      : JSON.parse(res.text ?? '{}')
  ) as Record<string, unknown> & { detail: string };
  assert.equal(res.status, status, `status of ${JSON.stringify(body)}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  assert.equal(body['status'], status);
  assert.equal(body['code'], code);
  for (const member of ['type', 'title', 'detail', 'instance']) assert.equal(typeof body[member], 'string', member);
  return body;
}
