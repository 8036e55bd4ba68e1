/**
 * Who may call each operation, in one table keyed by operationId (the `…OnDaemon` twin of an operation under
 * `/daemons/{daemon}` has the same entry). The security plugin copies an operation's role into its route config
 * (`requiredRole`) and into the OpenAPI document; a route may also declare `requiredRole` itself.
 *
 * viewer: every read, metrics and events included. operator: runtime tuning that a daemon forgets on restart
 * (threadpool, client limits, disconnecting a client, re-reading TLS files). admin: what can hurt the host or
 * stop service (log outputs write files as root, the daemon's timeout and shutdown). public: nothing about the
 * daemons (liveness, readiness, and the API description), so that probes and API browsers need no secret.
 */
import { Role } from './roles.js';

/** Access rule of one operation. */
export interface OperationAccess {
  role: Role | 'public';
  /** The action name in audit records (changes only). */
  action?: string;
}

/** The access table. Operations not listed fall back to viewer for reads and admin for changes. */
export const OPERATION_ACCESS: Readonly<Record<string, OperationAccess>> = {
  // The service itself.
  getIndex: { role: Role.VIEWER },
  getHealth: { role: 'public' },
  getReadiness: { role: 'public' },
  getOpenApiJson: { role: 'public' },
  getOpenApiYaml: { role: 'public' },
  getMetrics: { role: Role.VIEWER },
  streamEvents: { role: Role.VIEWER },
  listDaemons: { role: Role.VIEWER },
  // A daemon.
  getDaemon: { role: Role.VIEWER },
  setDaemonTimeout: { role: Role.ADMIN, action: 'daemon.timeout.set' },
  shutdownDaemon: { role: Role.ADMIN, action: 'daemon.shutdown' },
  getLogging: { role: Role.VIEWER },
  replaceLogging: { role: Role.ADMIN, action: 'logging.replace' },
  updateLogging: { role: Role.ADMIN, action: 'logging.update' },
  // Its servers.
  listServers: { role: Role.VIEWER },
  getServer: { role: Role.VIEWER },
  getThreadpool: { role: Role.VIEWER },
  updateThreadpool: { role: Role.OPERATOR, action: 'threadpool.update' },
  getClientLimits: { role: Role.VIEWER },
  updateClientLimits: { role: Role.OPERATOR, action: 'client-limits.update' },
  listClients: { role: Role.VIEWER },
  getClient: { role: Role.VIEWER },
  disconnectClient: { role: Role.OPERATOR, action: 'client.disconnect' },
  reloadTls: { role: Role.OPERATOR, action: 'tls.reload' },
};

/** URL prefixes of routes without an operationId that are public (the HTML API reference and its assets). */
export const PUBLIC_URL_PREFIXES: readonly string[] = ['/docs'];

/** The table entry of an operationId (`xOnDaemon` shares the entry of `x`), or undefined. */
export function operationAccess(operationId: string | undefined): OperationAccess | undefined {
  if (operationId === undefined) return undefined;
  return OPERATION_ACCESS[operationId] ?? OPERATION_ACCESS[operationId.replace(/OnDaemon$/, '')];
}

/** True for a URL under one of PUBLIC_URL_PREFIXES. */
export function isPublicUrl(url: string): boolean {
  return PUBLIC_URL_PREFIXES.some((prefix) => url === prefix || url.startsWith(`${prefix}/`));
}
