/**
 * What the gateway refuses to ask of a daemon whatever the caller's role: limits a daemon does not check itself.
 *
 * - Worker ceilings. libvirt accepts any unsigned worker count; `prioWorkers: 100000` made libvirtd start ~32,000
 *   threads until the host ran out. Each of minWorkers, maxWorkers and prioWorkers is capped (configurable).
 * - The admin interface itself. `maxClients: 0` on a daemon's `admin` server, with its clients disconnected, locks
 *   root's virt-admin and this gateway out of the daemon until it restarts. The admin server keeps room for the
 *   gateway's own connections plus one for virt-admin, and the gateway never disconnects its own connections.
 * - Log outputs and filters: see src/security/log-policy.ts.
 */
import type { LogOutputPolicy } from '../security/log-policy.js';

/** Defaults of the ceilings (documented in SECURITY.md; a test holds the two equal). */
export const WorkerCeilings = {
  /** Highest minWorkers, maxWorkers or prioWorkers a change may set (libvirtd's own default maxWorkers is 20). */
  MAX_WORKERS: 256,
} as const;

/** The name libvirt gives the server of every daemon's admin socket (virNetDaemonAddServer(dmn, "admin", ...)). */
export const ADMIN_SERVER = 'admin';

/** Connections the admin server must keep room for besides the gateway's own: one for virt-admin. */
export const ADMIN_CLIENTS_RESERVE = 1;

/** The policy in force. */
export interface ChangePolicy {
  /** Which log outputs and filters may be set. */
  readonly logOutputs: LogOutputPolicy;
  /** Highest worker count a threadpool change may set. */
  readonly maxWorkers: number;
  /** The admin connections the gateway holds at most to a daemon (its admin server must allow more). */
  adminConnections(daemon: string): number;
}

/** Stable codes of the policy's refusals. */
export const PolicyErrorCode = {
  /** A worker count above the configured ceiling (403). */
  ABOVE_CEILING: 'ERR_ABOVE_CEILING',
  /** A change that would cut the admin interface off (409). */
  WOULD_LOCK_OUT: 'ERR_WOULD_LOCK_OUT',
} as const;
export type PolicyErrorCode = (typeof PolicyErrorCode)[keyof typeof PolicyErrorCode];

/** A change the policy refuses; nothing was sent to the daemon. */
export class PolicyRefusedError extends Error {
  override readonly name = 'PolicyRefusedError';
  constructor(
    readonly code: PolicyErrorCode,
    message: string,
  ) {
    super(message);
  }
}
