import type { FastifyRequest } from 'fastify';
import type { GatewayEvent } from '../monitoring/events.js';
import type { Monitor } from '../monitoring/monitor.js';
import type { ChangePolicy } from '../resources/change-policy.js';
import { settingsEtag } from '../resources/etag.js';
import {
  resourceKey,
  type AnySettingsResource,
  type ChangeOperation,
  type ResourceTarget,
  type SettingsResource,
} from '../resources/resource.js';
import { auditResult, type AuditLog, type AuditSubject } from '../security/audit.js';
import { ifMatchPasses, PreconditionFailedError } from './if-match.js';
import { KeyedLock } from './keyed-lock.js';
import { toProblem } from './problems.js';

/** What the runner needs. */
export interface ChangeRunnerOptions {
  audit: AuditLog;
  policy: ChangePolicy;
  /** Where new settings are published as events (and where changes seen by the watchers come from). */
  monitor: Monitor;
  /** Changes of one resource that may wait for it (then 503 + Retry-After). */
  maxWaiting: number;
}

/**
 * How long settings read under a resource's lock stand for the daemon's state when nothing says otherwise. Within
 * this a burst of changes saves a read each; past it the next change reads afresh, so a change made behind the
 * gateway's back (virt-admin) while nobody watches the events shows in the audit's old value.
 */
export const KNOWN_SETTINGS_TTL_MS = 1000;

/** The settings of a resource as last read under its lock, and on which connection. */
interface KnownSettings {
  target: ResourceTarget;
  settings: object;
  etag: string;
  /** The connection they were read on: a reconnect (the daemon may have restarted) makes them stale. */
  connectedSince: number | undefined;
  /** When they were read (Date.now()). */
  readAt: number;
}

/**
 * A check every change must pass before anything else (the desired state refuses changes to settings it enforces):
 * throws the refusal. It sees the resource, the target and the request body.
 */
export type ChangeGuard = (resource: AnySettingsResource, target: ResourceTarget, body: unknown) => void;

/** The subject of a request's audit records, as the audit plugin builds it (action from the route's config). */
export type AuditSubjectOf = (request: FastifyRequest) => AuditSubject;

/**
 * Every change made through the gateway goes through here, in one order:
 *
 *   policy check → lock the resource → [read, only for If-Match or when the old state is not known] →
 *   audit `attempt` → set → get → audit `outcome` → publish the event → answer
 *
 * A PATCH therefore makes two daemon calls (set, then get) and a third only with If-Match, or for the first change
 * of a resource in a while (KNOWN_SETTINGS_TTL_MS) or since a reconnect. The old state an audit record shows is the
 * state read under the lock: changes of one resource take turns, so what the previous change read back is what this
 * one replaces. A change the watchers see from outside (virt-admin) makes that stale at once. Both audit
 * records are written from here, not when the response is sent, so a caller that resets its connection or never
 * reads its response cannot leave a change unrecorded.
 */
export class ChangeRunner {
  private readonly lock: KeyedLock;
  private readonly known = new Map<string, KnownSettings>();
  private readonly guards: ChangeGuard[] = [];

  constructor(
    private readonly o: ChangeRunnerOptions,
    private readonly subjectOf: AuditSubjectOf,
  ) {
    this.lock = new KeyedLock(o.maxWaiting);
    o.monitor.hub.observe((event) => this.forgetIfChangedElsewhere(event));
  }

  /** The policy every change passes (the desired state checks declarations with it too). */
  get policy(): ChangePolicy {
    return this.o.policy;
  }

  /** Add a check every change of a settings resource must pass (its refusal is audited like any other). */
  addGuard(guard: ChangeGuard): void {
    this.guards.push(guard);
  }

  /** Changes a settings resource (PATCH/PUT): returns the new state and its ETag. */
  async change<State, Change, Target extends ResourceTarget>(
    request: FastifyRequest,
    resource: SettingsResource<State, object, Change, unknown, Target>,
    target: Target,
    operation: ChangeOperation,
    body: Change,
  ): Promise<{ state: State; etag: string }> {
    const connection = request.daemonConnection;
    const subject = { ...this.subjectOf(request), action: operation.audit };
    const key = `${target.daemon}/${resourceKey(resource, target)}`;
    let old: object | undefined;
    try {
      for (const guard of this.guards) guard(resource as AnySettingsResource, target, body);
      const prepared = await resource.prepare(body, target, this.o.policy);
      const state = await this.lock.run(key, async () => {
        const ifMatch = request.headers['if-match'];
        old = ifMatch === undefined ? this.knownSettings(key, request) : undefined;
        if (old === undefined) {
          old = resource.settings(await connection.call((admin, options) => resource.fetch(admin, target, options)));
          const current = settingsEtag(resource.name, old);
          if (!ifMatchPasses(ifMatch, current)) throw new PreconditionFailedError(current);
        }
        this.o.audit.record({ ...subject, phase: 'attempt', old, new: body });
        try {
          const after = await connection.call(async (admin, options) => {
            await resource.apply(admin, target, prepared, options);
            return resource.fetch(admin, target, options);
          });
          this.remember(key, resource.name, target, resource.settings(after), request);
          return after;
        } catch (err) {
          // It may or may not have been applied: read afresh next time.
          this.known.delete(key);
          throw err;
        }
      });
      const settings = resource.settings(state);
      this.o.audit.record({ ...subject, phase: 'outcome', old, new: body, result: 'success', statusCode: 200 });
      this.o.monitor.publish(target.daemon, { kind: 'settings', resource, target, settings });
      return { state, etag: settingsEtag(resource.name, settings) };
    } catch (err) {
      this.recordFailure(subject, err, request, { old, new: body });
      throw err;
    }
  }

  /**
   * Runs an action (disconnect a client, reload TLS files, set the timeout, shut down) with the same audit
   * records, named by the route's `config.audit`: `old` is what the action replaces, when the route could read it;
   * `status` the answer on success.
   */
  async act<T>(
    request: FastifyRequest,
    action: { old?: unknown; new?: unknown; status: number },
    run: () => Promise<T>,
  ): Promise<T> {
    const subject = this.subjectOf(request);
    const values = {
      ...(action.old === undefined ? {} : { old: action.old }),
      ...(action.new === undefined ? {} : { new: action.new }),
    };
    this.o.audit.record({ ...subject, phase: 'attempt', ...values });
    try {
      const result = await run();
      this.o.audit.record({ ...subject, phase: 'outcome', ...values, result: 'success', statusCode: action.status });
      return result;
    } catch (err) {
      this.recordFailure(subject, err, request, values);
      throw err;
    }
  }

  private recordFailure(
    subject: AuditSubject,
    err: unknown,
    request: FastifyRequest,
    values: { old?: unknown; new?: unknown },
  ): void {
    const { problem } = toProblem(err, request.url);
    this.o.audit.record({
      ...subject,
      phase: 'outcome',
      ...(values.old === undefined ? {} : { old: values.old }),
      ...(values.new === undefined ? {} : { new: values.new }),
      result: auditResult(problem.status),
      statusCode: problem.status,
      reason: problem.detail,
    });
  }

  /** The settings last read under the lock, if they still stand for the daemon's state. */
  private knownSettings(key: string, request: FastifyRequest): object | undefined {
    const known = this.known.get(key);
    if (known === undefined) return undefined;
    if (known.connectedSince !== connectedSince(request) || Date.now() - known.readAt > KNOWN_SETTINGS_TTL_MS) {
      this.known.delete(key);
      return undefined;
    }
    return known.settings;
  }

  private remember(key: string, name: string, target: ResourceTarget, settings: object, request: FastifyRequest): void {
    const etag = settingsEtag(name, settings);
    this.known.set(key, { target, settings, etag, connectedSince: connectedSince(request), readAt: Date.now() });
  }

  /**
   * A `*.changed` event whose ETag is none of those known for its daemon (and server) is a change made elsewhere:
   * forget what was known there.
   */
  private forgetIfChangedElsewhere(event: GatewayEvent): void {
    if (!('etag' in event)) return;
    const server = 'server' in event ? event.server : undefined;
    const there = [...this.known].filter(
      ([, k]) => k.target.daemon === event.daemon && ('server' in k.target ? k.target.server : undefined) === server,
    );
    if (there.some(([, k]) => k.etag === event.etag)) return;
    for (const [key] of there) this.known.delete(key);
  }
}

function connectedSince(request: FastifyRequest): number | undefined {
  return request.daemonConnection.status.connectedSince?.getTime();
}
