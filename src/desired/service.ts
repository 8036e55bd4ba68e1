/**
 * The desired state of every daemon: where declarations come from (the API, persisted in the state folder, or the
 * `--desired-state` file), one reconciler per daemon, and the answer to a change of an enforced setting.
 *
 * Sources: with `--desired-state` the file is the only source, for every daemon: PUT answers 409 naming the file
 * (GET, status and plan still work), so two sources never disagree silently. Without it, PUT declares.
 *
 * A PATCH/PUT of a setting that a daemon in enforce mode declares is refused with 409
 * (ERR_DESIRED_STATE_CONFLICT) naming the source, unless it asks for the declared value: the reconciler would undo
 * it within a period anyway. In observe mode the change is made and shows as drift. PUT /daemon/timeout gets the
 * same answer for a declared timeout (guardTimeout).
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { ifMatchPasses, PreconditionFailedError } from '../http/if-match.js';
import { HttpProblemCode, ProblemError } from '../http/problems.js';
import type { AnySettingsResource, ResourceTarget } from '../resources/resource.js';
import { partsOf } from './parts.js';
import { Reconciler, type Declaration, type ReconcilerOptions } from './reconciler.js';
import { DesiredMode, DesiredStateFile, type DesiredState } from './schema.js';
import { documentEtag, DesiredStateStore } from './store.js';
import { prepareDocument } from './validate.js';

/** Options of the service. */
export interface DesiredStateServiceOptions extends Omit<ReconcilerOptions, 'connection'> {
  connections: ReadonlyArray<ReconcilerOptions['connection']>;
  /** The state folder for declarations made through the API; null: kept in memory only. */
  stateDir: string | null;
  /** The `--desired-state` file; when given it is the only source. */
  file: string | null;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** One daemon's declaration as GET shows it. */
export interface DeclaredDocument {
  doc: DesiredState;
  etag: string;
  source: 'api' | 'file' | null;
}

/** The reconcilers and the sources of their declarations. */
export class DesiredStateService {
  private readonly reconcilers = new Map<string, Reconciler>();
  private readonly store: DesiredStateStore;
  private watcher: FSWatcher | undefined;
  private fileTimer: NodeJS.Timeout | undefined;
  private lastFileText: string | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly o: DesiredStateServiceOptions) {
    for (const connection of o.connections) this.reconcilers.set(connection.name, new Reconciler({ ...o, connection }));
    this.store = new DesiredStateStore(o.file === null ? o.stateDir : null);
  }

  /** Load the declarations (file or state folder), start every reconciler and watch the file. */
  async start(): Promise<void> {
    if (this.o.file !== null) {
      await this.readFile();
      this.watchFile(this.o.file);
    } else {
      // A state folder that cannot be trusted (another user's, writable by others) is not read: nothing declared.
      const docs = await this.store.load().catch((err: unknown) => {
        this.o.log.warn({ err }, 'cannot read the declarations in the state folder: none in force');
        return {};
      });
      for (const [daemon, doc] of Object.entries(docs)) {
        const r = this.reconcilers.get(daemon);
        if (r === undefined)
          this.o.log.warn({ daemon }, 'desired state declared for a daemon this gateway does not serve: ignored');
        else void r.declare({ doc, source: 'api', sourceName: 'api' }).catch(() => undefined);
      }
    }
    for (const r of this.reconcilers.values()) r.start();
  }

  /** Stop watching and reconciling. */
  async close(): Promise<void> {
    this.watcher?.close();
    clearInterval(this.fileTimer);
    await Promise.all([...this.reconcilers.values()].map((r) => r.stop()));
  }

  /** The reconciler of a daemon (the routes resolve the daemon first, so it exists). */
  reconciler(daemon: string): Reconciler {
    const r = this.reconcilers.get(daemon);
    if (r === undefined) throw new Error(`no reconciler for daemon '${daemon}'`);
    return r;
  }

  /** The document in force for a daemon ({} when nothing is declared) and its ETag. */
  get(daemon: string): DeclaredDocument {
    const d = this.reconciler(daemon).declared;
    const doc = d?.doc ?? {};
    return { doc, etag: documentEtag(doc), source: d?.source ?? null };
  }

  /**
   * Declare a daemon's document through the API: refused with 409 while the file is the source, 412 when If-Match
   * fails, 400 when libvirt or the policy would refuse any part (nothing is applied then). Persisted before it is
   * applied; resolves after the first reconciliation with it.
   */
  async put(daemon: string, doc: DesiredState, ifMatch: string | string[] | undefined): Promise<DeclaredDocument> {
    if (this.o.file !== null) {
      throw new ProblemError(
        HttpProblemCode.DESIRED_STATE_CONFLICT,
        `the desired state of this gateway is declared by the file ${this.o.file} (--desired-state): change the file`,
      );
    }
    const current = this.get(daemon);
    if (!ifMatchPasses(ifMatch, current.etag)) throw new PreconditionFailedError(current.etag);
    await prepareDocument(daemon, doc, this.o.policy);
    const empty = Object.keys(doc).length === 0;
    await this.store.save(daemon, empty ? null : doc);
    await this.reconciler(daemon).declare(empty ? null : { doc, source: 'api', sourceName: 'api' });
    return this.get(daemon);
  }

  /** The change guard: refuses a change of a setting enforced on its daemon (see the module comment). */
  readonly guard = (resource: AnySettingsResource, target: ResourceTarget, body: unknown): void => {
    const declared = this.reconcilers.get(target.daemon)?.declared;
    if (!declared || (declared.doc.mode ?? DesiredMode.ENFORCE) !== DesiredMode.ENFORCE) return;
    const part = partsOf(target.daemon, declared.doc).find(
      (p) =>
        p.resource.name === resource.name &&
        ('server' in p.target ? p.target.server : undefined) === ('server' in target ? target.server : undefined),
    );
    if (part === undefined) return;
    const fields = Object.entries(body as Record<string, unknown>).filter(
      ([field, value]) => field in part.declared && JSON.stringify(part.declared[field]) !== JSON.stringify(value),
    );
    if (fields.length === 0) return;
    const source =
      declared.source === 'file' ? `the file ${declared.sourceName}` : 'PUT /daemons/{daemon}/desired-state';
    throw new ProblemError(
      HttpProblemCode.DESIRED_STATE_CONFLICT,
      `${fields.map(([f]) => `${part.path}/${f}`).join(', ')} is enforced by the desired state of daemon '${target.daemon}' ` +
        `(declared by ${source}); change the declaration, or set its mode to observe`,
    );
  };

  /**
   * The same answer for PUT /daemon/timeout: refused with 409 while the daemon's document declares another timeout
   * in enforce mode (every reconnection would set the declared one again, silently undoing the request).
   */
  guardTimeout(daemon: string, seconds: number): void {
    const declared = this.reconcilers.get(daemon)?.declared;
    if (!declared || (declared.doc.mode ?? DesiredMode.ENFORCE) !== DesiredMode.ENFORCE) return;
    if (declared.doc.timeout === undefined || declared.doc.timeout === seconds) return;
    const source =
      declared.source === 'file' ? `the file ${declared.sourceName}` : 'PUT /daemons/{daemon}/desired-state';
    throw new ProblemError(
      HttpProblemCode.DESIRED_STATE_CONFLICT,
      `/timeout is enforced by the desired state of daemon '${daemon}' (declared by ${source}: ${declared.doc.timeout} s); ` +
        'change the declaration, or set its mode to observe',
    );
  }

  private watchFile(file: string): void {
    // The folder, not the file: Kubernetes updates a mounted ConfigMap by swapping a symlink (`..data`), which a
    // watch on the old file never sees. The period re-read catches whatever a watch misses.
    try {
      this.watcher = watch(dirname(file), () => this.scheduleRead());
      this.watcher.on('error', (err) => this.o.log.warn({ err, file }, 'cannot watch the desired-state file'));
      this.watcher.unref();
    } catch (err) {
      this.o.log.warn({ err, file }, 'cannot watch the desired-state file; re-read every period only');
    }
    this.fileTimer = setInterval(() => this.scheduleRead(), this.o.intervalMs);
    this.fileTimer.unref();
  }

  private scheduleRead(): void {
    this.reading = this.reading
      .then(() => this.readFile())
      .catch((err: unknown) => this.o.log.warn({ err }, 'desired-state file'));
  }

  /** Read the file; a file that cannot be read or is refused keeps the declarations in force. */
  private async readFile(): Promise<void> {
    const file = this.o.file as string;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      return this.fileRefused(`cannot read ${file}: ${(err as Error).message}`);
    }
    if (text === this.lastFileText) return;
    this.lastFileText = text;
    let parsed: unknown;
    try {
      parsed = basename(file).endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      return this.fileRefused(`${file} is not valid YAML or JSON: ${(err as Error).message}`);
    }
    const error = Value.Errors(DesiredStateFile, parsed).First();
    if (error) return this.fileRefused(`${file}${error.path}: ${error.message}`);
    const docs = (parsed as DesiredStateFile).daemons;
    // Every document is checked before any is applied: a file is accepted or refused as a whole.
    try {
      for (const [daemon, doc] of Object.entries(docs))
        if (this.reconcilers.has(daemon)) await prepareDocument(daemon, doc, this.o.policy);
    } catch (err) {
      return this.fileRefused((err as Error).message);
    }
    for (const daemon of Object.keys(docs)) {
      if (!this.reconcilers.has(daemon))
        this.o.log.warn({ daemon, file }, 'desired state declared for a daemon this gateway does not serve: ignored');
    }
    this.o.log.info({ file }, 'desired-state file read');
    await Promise.all(
      [...this.reconcilers].map(async ([daemon, r]) => {
        const doc = docs[daemon];
        const next: Declaration | null = doc === undefined ? null : { doc, source: 'file', sourceName: file };
        if (JSON.stringify(next?.doc) === JSON.stringify(r.declared?.doc)) return undefined;
        return r.declare(next).catch(() => undefined);
      }),
    );
  }

  private fileRefused(message: string): void {
    this.o.log.warn({ file: this.o.file }, `desired-state file refused, the declarations in force stay: ${message}`);
    for (const r of this.reconcilers.values()) r.noteError(`desired-state file refused: ${message}`);
  }
}
