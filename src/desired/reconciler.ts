/**
 * Keeps one daemon's settings as declared. libvirt forgets every runtime setting when its daemon exits, so the
 * reconciler compares the daemon with the declaration and (in enforce mode) applies the differences:
 * - on every (re)connection to the daemon: a restarted daemon is answered as soon as the gateway is back on it;
 * - every period: a change made behind the gateway's back (virt-admin) shows as drift and is reverted;
 * - when the declaration changes.
 * The daemon timeout is the exception: libvirt can set it but not read it, so it is never compared. It is applied on
 * every (re)connection and by any run that finds it not yet applied on this connection (or declared anew), and the
 * status says when it was last applied.
 * Runs never overlap; requests for a run while one is under way share one follow-up run.
 */
import type { DaemonConnection } from '../gateway/daemon-connection.js';
import { problemCodeOf } from '../http/problems.js';
import { EventType, type EventInit } from '../monitoring/events.js';
import type { Monitor } from '../monitoring/monitor.js';
import type { ChangePolicy } from '../resources/change-policy.js';
import type { AuditLog, AuditSubject } from '../security/audit.js';
import { differencesOf } from './parts.js';
import {
  DesiredMode,
  type DesiredPlan,
  type DesiredState,
  type DesiredStatus,
  type Difference,
  type Failure,
  type PlanStep,
} from './schema.js';
import { DesiredStateRefusedError, prepareDocument, type PreparedPart } from './validate.js';

/** Where a declaration comes from: the API (persisted in the state folder) or the `--desired-state` file. */
export interface Declaration {
  doc: DesiredState;
  source: 'api' | 'file';
  /** How the audit records name the source: `api`, or the file's path. */
  sourceName: string;
}

/** Why a reconciliation ran. */
export type ReconcileReason = 'connected' | 'period' | 'declared' | 'requested';

/** What one reconciliation did, for metrics. */
export interface ReconcileReport {
  daemon: string;
  durationMs: number;
  converged: boolean;
  differences: number;
  failed: boolean;
}

/** What a reconciler needs. */
export interface ReconcilerOptions {
  connection: Pick<DaemonConnection, 'name' | 'call' | 'onConnected' | 'idle'>;
  policy: ChangePolicy;
  audit: AuditLog;
  monitor: Monitor;
  /** Milliseconds between two periodic reconciliations. */
  intervalMs: number;
  /** Told about every reconciliation (metrics). */
  onReport?: (report: ReconcileReport) => void;
}

let runs = 0;

/** The reconciler of one daemon. */
export class Reconciler {
  private declaration: Declaration | null = null;
  private status: Omit<DesiredStatus, 'daemon' | 'source' | 'mode'> = {
    converged: true,
    differences: [],
    failures: [],
    lastReconcile: null,
    lastConverged: null,
    lastError: null,
  };
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopConnected: (() => void) | undefined;
  private stopped = false;
  /** The timeout set on the current connection (reset on every reconnection: the daemon may have restarted). */
  private timeoutApplied: number | null = null;
  private timeoutLastApplied: string | null = null;

  constructor(private readonly o: ReconcilerOptions) {}

  /** The daemon's name. */
  get daemon(): string {
    return this.o.connection.name;
  }

  /** The declaration in force, or null. */
  get declared(): Declaration | null {
    return this.declaration;
  }

  /** The mode in force (enforce unless declared otherwise). */
  get mode(): DesiredMode {
    return this.declaration?.doc.mode ?? DesiredMode.ENFORCE;
  }

  /** Start reconciling on every (re)connection and every period. */
  start(): void {
    this.stopConnected = this.o.connection.onConnected(() => {
      this.timeoutApplied = null;
      void this.reconcile('connected').catch(() => undefined);
    });
    // The period skips an idle on-demand daemon: connecting would keep it from exiting when idle, and the next
    // request's connection reconciles it ('connected').
    this.timer = setInterval(() => {
      if (!this.o.connection.idle) void this.reconcile('period').catch(() => undefined);
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /** Stop; a run under way finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.stopConnected?.();
    await this.chain;
  }

  /** Replace the declaration (already checked with prepareDocument) and reconcile at once. */
  declare(declaration: Declaration | null): Promise<void> {
    this.declaration = declaration;
    return this.reconcile('declared');
  }

  /** Record an error outside a reconciliation (a refused declaration file) in the status. */
  noteError(message: string): void {
    this.status = { ...this.status, lastError: { at: new Date().toISOString(), message } };
  }

  /** The status as the API shows it. */
  snapshot(): DesiredStatus {
    const seconds = this.declaration?.doc.timeout;
    const timeout =
      seconds === undefined
        ? {}
        : {
            timeout: {
              seconds,
              state:
                this.mode === DesiredMode.OBSERVE
                  ? ('observe-only' as const)
                  : this.timeoutApplied === seconds
                    ? ('applied' as const)
                    : this.status.failures.some((f) => f.path === '/timeout')
                      ? ('failed' as const)
                      : ('pending' as const),
              lastApplied: this.timeoutLastApplied,
            },
          };
    return {
      daemon: this.daemon,
      source: this.declaration?.source ?? null,
      mode: this.mode,
      ...this.status,
      ...timeout,
    };
  }

  /** What a reconciliation would do now, without doing it (dry run). */
  async plan(doc: DesiredState | undefined = this.declaration?.doc): Promise<DesiredPlan> {
    const mode = doc?.mode ?? DesiredMode.ENFORCE;
    if (doc === undefined) return { daemon: this.daemon, mode, steps: [], failures: [] };
    const { steps, failures } = await this.compare(doc);
    const out: PlanStep[] = steps.map(({ part: _part, ...step }) => step);
    if (this.timeoutDue(doc) && doc.timeout !== undefined) out.push(timeoutStep(doc.timeout));
    return { daemon: this.daemon, mode, steps: out, failures };
  }

  /** Reconcile now (after the run under way, if any; concurrent requests share one run). */
  reconcile(reason: ReconcileReason): Promise<void> {
    if (this.queued) return this.queued;
    const run = this.chain.then(() => {
      this.queued = null;
      return this.stopped ? undefined : this.runOnce(reason);
    });
    this.queued = run;
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Read every declared part and compare; failures are per part. */
  private async compare(
    doc: DesiredState,
  ): Promise<{ steps: Array<PlanStep & { part: PreparedPart }>; failures: Failure[] }> {
    const failures: Failure[] = [];
    let parts: PreparedPart[];
    try {
      parts = await prepareDocument(this.daemon, doc, this.o.policy);
    } catch (err) {
      // The policy may have changed since the document was accepted (allowed log directories, ceilings).
      if (!(err instanceof DesiredStateRefusedError)) throw err;
      return { steps: [], failures: err.refusals.map((r) => ({ path: r.path, code: err.code, message: r.message })) };
    }
    const steps: Array<PlanStep & { part: PreparedPart }> = [];
    await Promise.all(
      parts.map(async (part) => {
        try {
          const state: unknown = await this.o.connection.call((admin, options): Promise<unknown> =>
            part.resource.fetch(admin, part.target, options),
          );
          const differences = differencesOf(
            part,
            part.prepared,
            part.resource.settings(state) as Record<string, unknown>,
          );
          if (differences.length > 0)
            steps.push({ path: part.path, action: auditAction(part), change: part.declared, differences, part });
        } catch (err) {
          failures.push(failureOf(part.path, err));
        }
      }),
    );
    // Promise.all finishes in any order: keep the document's.
    const order = parts.map((p) => p.path);
    steps.sort((a, b) => order.indexOf(a.path) - order.indexOf(b.path));
    return { steps, failures };
  }

  private async runOnce(reason: ReconcileReason): Promise<void> {
    const declaration = this.declaration;
    const started = Date.now();
    if (declaration === null) {
      this.status = { ...this.status, converged: true, differences: [], failures: [] };
      return;
    }
    const mode = declaration.doc.mode ?? DesiredMode.ENFORCE;
    let steps: Array<PlanStep & { part: PreparedPart }>;
    let failures: Failure[];
    try {
      ({ steps, failures } = await this.compare(declaration.doc));
    } catch (err) {
      steps = [];
      failures = [failureOf('', err)];
    }
    const found = steps.flatMap((s) => s.differences);
    const remaining: Difference[] = [];
    const applied: Difference[] = [];
    if (
      found.length > 0 &&
      (reason !== 'declared' || mode === DesiredMode.OBSERVE) &&
      !sameDifferences(found, this.status.differences, mode)
    ) {
      this.emit({ type: EventType.DRIFT_DETECTED, daemon: this.daemon, mode, differences: found });
    }
    for (const step of steps) {
      if (mode === DesiredMode.OBSERVE) {
        remaining.push(...step.differences);
        continue;
      }
      try {
        const after = await this.apply(step, declaration);
        remaining.push(...after);
        applied.push(...step.differences);
      } catch (err) {
        failures.push(failureOf(step.path, err));
        remaining.push(...step.differences);
      }
    }
    const seconds = declaration.doc.timeout;
    if (seconds !== undefined && this.timeoutDue(declaration.doc)) {
      try {
        await this.applyTimeout(seconds, declaration);
        applied.push(...timeoutStep(seconds).differences);
      } catch (err) {
        failures.push(failureOf('/timeout', err));
      }
    }
    if (applied.length > 0)
      this.emit({ type: EventType.DESIRED_APPLIED, daemon: this.daemon, reason, differences: applied });
    if (failures.length > 0 && JSON.stringify(failures) !== JSON.stringify(this.status.failures)) {
      this.emit({ type: EventType.RECONCILE_FAILED, daemon: this.daemon, reason, failures });
    }
    const at = new Date();
    const converged = remaining.length === 0 && failures.length === 0;
    const durationMs = Date.now() - started;
    this.status = {
      converged,
      differences: remaining,
      failures,
      lastReconcile: { at: at.toISOString(), reason, durationMs },
      lastConverged: converged ? at.toISOString() : this.status.lastConverged,
      lastError:
        failures.length > 0
          ? { at: at.toISOString(), message: failures.map((f) => `${f.path || '/'}: ${f.message}`).join('; ') }
          : this.status.lastError,
    };
    this.o.onReport?.({
      daemon: this.daemon,
      durationMs,
      converged,
      differences: remaining.length,
      failed: failures.length > 0,
    });
  }

  /** Apply one step, audited like an API change with the declaration's source as actor; returns what still differs. */
  private async apply(step: PlanStep & { part: PreparedPart }, declaration: Declaration): Promise<Difference[]> {
    const { part } = step;
    const subject = {
      ...this.auditSubject(step.action, declaration),
      ...('server' in part.target ? { server: part.target.server } : {}),
    };
    const old = Object.fromEntries(step.differences.map((d) => [d.path.slice(part.path.length + 1), d.actual]));
    this.o.audit.record({ ...subject, phase: 'attempt', old, new: part.declared });
    try {
      const state: unknown = await this.o.connection.call(async (admin, options): Promise<unknown> => {
        await part.resource.apply(admin, part.target, part.prepared, options);
        return part.resource.fetch(admin, part.target, options);
      });
      const settings = part.resource.settings(state) as Record<string, unknown>;
      this.o.audit.record({
        ...subject,
        phase: 'outcome',
        old,
        new: part.declared,
        result: 'success',
        statusCode: 200,
      });
      this.o.monitor.publish(this.daemon, { kind: 'settings', resource: part.resource, target: part.target, settings });
      return differencesOf(part, part.prepared, settings);
    } catch (err) {
      const failure = failureOf(part.path, err);
      this.o.audit.record({
        ...subject,
        phase: 'outcome',
        old,
        new: part.declared,
        result: 'failure',
        reason: failure.message,
      });
      throw err;
    }
  }

  /** Who made a reconciliation's change, for the audit: the declaration's source, as its own kind of actor. */
  private auditSubject(action: string, declaration: Declaration): AuditSubject {
    return {
      action,
      method: 'RECONCILE',
      url: `/daemons/${encodeURIComponent(this.daemon)}/desired-state`,
      requestId: `reconcile-${++runs}`,
      actor: { kind: 'desired-state', name: declaration.sourceName, role: null },
      source: { transport: 'in-process' },
      daemon: this.daemon,
    };
  }

  /** The timeout is declared, enforced, and not yet set to that value on this connection. */
  private timeoutDue(doc: DesiredState): boolean {
    return (
      doc.timeout !== undefined &&
      (doc.mode ?? DesiredMode.ENFORCE) === DesiredMode.ENFORCE &&
      this.timeoutApplied !== doc.timeout
    );
  }

  /** Set the daemon timeout, audited as PUT /daemon/timeout is (libvirt cannot read it: no old value). */
  private async applyTimeout(seconds: number, declaration: Declaration): Promise<void> {
    const subject = this.auditSubject('daemon.timeout.set', declaration);
    this.o.audit.record({ ...subject, phase: 'attempt', new: { seconds } });
    try {
      await this.o.connection.call((admin, options) => admin.setDaemonTimeout(seconds, options));
    } catch (err) {
      this.o.audit.record({
        ...subject,
        phase: 'outcome',
        new: { seconds },
        result: 'failure',
        reason: failureOf('/timeout', err).message,
      });
      throw err;
    }
    this.o.audit.record({ ...subject, phase: 'outcome', new: { seconds }, result: 'success', statusCode: 204 });
    this.timeoutApplied = seconds;
    this.timeoutLastApplied = new Date().toISOString();
  }

  private emit(event: EventInit): void {
    this.o.monitor.hub.publish(event);
  }
}

/** The audit action of a part: its resource's PATCH (the fields declared are the fields sent). */
function auditAction(part: PreparedPart): string {
  const patch = part.resource.changes.find((c) => c.method === 'PATCH') ?? part.resource.changes[0];
  return patch?.audit ?? `${part.resource.name}.update`;
}

/** The step that sets the timeout: it has no actual value (libvirt cannot read it), so `actual` is null. */
function timeoutStep(seconds: number): PlanStep {
  return {
    path: '/timeout',
    action: 'daemon.timeout.set',
    change: { seconds },
    differences: [{ path: '/timeout', desired: seconds, actual: null }],
  };
}

function failureOf(path: string, err: unknown): Failure {
  return { path, code: problemCodeOf(err), message: err instanceof Error ? err.message : String(err) };
}

// In observe mode the same drift is reported once, not every period.
function sameDifferences(found: Difference[], last: Difference[], mode: DesiredMode): boolean {
  return mode === DesiredMode.OBSERVE && JSON.stringify(found) === JSON.stringify(last);
}
