/**
 * A mutable resource of a daemon, declared once: its schemas and OpenAPI text, how it is read and changed through
 * the admin API, its settable part (what the ETag versions and what events report), the policy a change must pass,
 * who may read and change it, and the audit action of each change. The HTTP routes (src/http/settings-routes.ts),
 * the change runner (src/http/change-runner.ts) and the event watcher (src/monitoring/watcher.ts) are all made from
 * these declarations: adding a field to a resource is one edit in its declaration, plus a test.
 */
import type { TObject } from '@sinclair/typebox';
import type { AdminClient } from '../admin/client.js';
import type { EventInit } from '../monitoring/events.js';
import type { CallOptions } from '../rpc/client.js';
import type { Role } from '../security/roles.js';
import type { ChangePolicy } from './change-policy.js';

/** Where a resource lives: one per server of a daemon, or one per daemon. */
export type ResourceScope = 'server' | 'daemon';

/** Which instance of a daemon resource: its daemon's name in the gateway. */
export interface DaemonTarget {
  daemon: string;
}

/** Which instance of a server resource: the daemon and the server's name. */
export interface ServerTarget extends DaemonTarget {
  server: string;
}

/** Which instance of a resource. */
export type ResourceTarget = DaemonTarget | ServerTarget;

/** The OpenAPI text of one operation; `operationId` is the default daemon's (the /daemons twin adds `OnDaemon`). */
export interface OperationText {
  operationId: string;
  summary: string;
  description: string;
}

/** One way to change a resource: PATCH (the fields given) or PUT (all of them). */
export interface ChangeOperation {
  method: 'PATCH' | 'PUT';
  /** The request body's schema. */
  body: TObject;
  text: OperationText;
  /** The action's name in audit records, e.g. `threadpool.update`. */
  audit: string;
  /** Error statuses this change may answer besides the ones every change can (OpenAPI). */
  problems?: readonly number[];
}

/**
 * The declaration of a mutable resource.
 * - State: what one read of the daemon returns; Settings: its settable part, fields in a fixed order;
 * - Change: a request body; Prepared: the change as it goes to the daemon, after the policy checks;
 * - Target: which instance (a server's, or the daemon's); Json: the representation's type.
 */
export interface SettingsResource<
  State,
  Settings extends object,
  Change,
  Prepared = Change,
  Target extends ResourceTarget = ServerTarget,
  Json = unknown,
> {
  /** Names the resource in ETags, lock keys and logs (`threadpool`, `client-limits`, `logging`). */
  readonly name: string;
  readonly scope: Target extends ServerTarget ? 'server' : 'daemon';
  /** Path below the daemon (`/logging`) or below one server (`/threadpool`). */
  readonly path: string;
  /** OpenAPI tag. */
  readonly tag: string;
  /** The representation: a schema with an `$id`, registered as an OpenAPI component. */
  readonly schema: TObject;
  /** What a 200 answer holds (OpenAPI), e.g. 'The worker pool.' */
  readonly returns: string;
  /** Text of the GET operation. */
  readonly read: OperationText;
  /** The operations that change it. */
  readonly changes: readonly ChangeOperation[];
  /** The lowest role allowed to read it, and to change it. */
  readonly access: { read: Role; change: Role };
  /** Reads the state: every daemon call it needs, with the given deadline. */
  fetch(admin: AdminClient, target: Target, options: CallOptions): Promise<State>;
  /** The settable part of a state (what ETags version, events report and audit records show). */
  settings(state: State): Settings;
  /** The state as the API shows it (matching `schema`). */
  present(state: State): Json;
  /**
   * Checks a change against the gateway's policy before anything reaches the daemon, and returns it as the daemon
   * will get it; throws the refusal.
   */
  prepare(change: Change, target: Target, policy: ChangePolicy): Promise<Prepared>;
  /** Sends a prepared change to the daemon. */
  apply(admin: AdminClient, target: Target, change: Prepared, options: CallOptions): Promise<void>;
  /** The event announcing new settings. */
  changed(target: Target, settings: Settings, previous: Settings | null, etag: string): EventInit;
}

/** A settings resource of any types (for lists of declarations). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySettingsResource = SettingsResource<any, any, any, any, any, any>;

/** The key of one resource instance within its daemon: `threadpool/libvirtd`, `logging`. */
export function resourceKey(resource: Pick<AnySettingsResource, 'name'>, target: ResourceTarget): string {
  return 'server' in target ? `${resource.name}/${target.server}` : resource.name;
}
