/**
 * A configuration file that is parsed at start-up and re-read on SIGHUP or when it changes on disk (tokens,
 * client-certificate roles; file-watch.ts watches them).
 *
 * A bad file at start-up is fatal (the caller sees the error); a bad file on reload is logged and the previous
 * content stays in force, so a typo made while editing never locks everybody out or lets everybody in. A file
 * that someone other than root and the gateway's user could change is a bad file (file-permissions.ts).
 */
import { readCredentialFile, UnsafeFileError } from './file-permissions.js';

/** Minimal logger used for reload messages (pino's signature). */
export interface ReloadLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A file that could not be read or parsed; the message names the file (and the line, from the parser). */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
  readonly code = 'ERR_CONFIG_FILE';
}

/** Parses a file's text; throws an Error whose message says what is wrong (the path is passed for messages). */
export type FileParser<T> = (text: string, path: string) => T;

/** A parsed file whose content can be swapped by reload(). */
export class ReloadableFile<T> {
  protected current: T;

  protected constructor(
    /** The file's path. */
    readonly path: string,
    /** What the file is, for log messages ("tokens file"). */
    readonly what: string,
    private readonly parse: FileParser<T>,
    initial: T,
  ) {
    this.current = initial;
  }

  /** Reads and parses a file; throws ConfigFileError when it cannot be read or parsed. */
  protected static async read<T>(path: string, what: string, parse: FileParser<T>): Promise<T> {
    let text: string;
    try {
      text = await readCredentialFile(path);
    } catch (err) {
      if (err instanceof UnsafeFileError) throw new ConfigFileError(`refusing ${what} ${path}: ${err.message}`);
      throw new ConfigFileError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    try {
      return parse(text, path);
    } catch (err) {
      throw new ConfigFileError(err instanceof Error ? err.message : String(err));
    }
  }

  /** Re-reads the file; on any error keeps the current content, logs why and returns false. */
  async reload(log: ReloadLogger): Promise<boolean> {
    try {
      this.current = await ReloadableFile.read(this.path, this.what, this.parse);
      log.info({ file: this.path, entries: this.count() }, `${this.what} reloaded`);
      return true;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      log.error(
        { file: this.path, reason, entries: this.count() },
        `${this.what} not reloaded; keeping the previous one`,
      );
      return false;
    }
  }

  /** The name of what the file holds, for metrics (`tokens`, `client-roles`). */
  get name(): string {
    return this.what.replace(/ file$/, '').replace(/ /g, '-');
  }

  /** The file to watch. */
  get paths(): readonly string[] {
    return [this.path];
  }

  /** Number of entries in force (for logs). */
  count(): number {
    return Array.isArray(this.current) ? this.current.length : 1;
  }
}

/** Something that can re-read its files. */
export interface Reloadable {
  /** What it holds, as the `file` label of the reload metrics (`tokens`, `client-roles`, `tls`). */
  readonly name: string;
  /** The files it reads (what the file watch watches). */
  readonly paths: readonly string[];
  reload(log: ReloadLogger): Promise<boolean>;
}

/** Outcomes of the reloads of one Reloadable. */
export interface ReloadOutcomes {
  success: number;
  failure: number;
  /** When it was last loaded successfully (Date.now()); start-up counts. */
  lastSuccess?: number;
}

/** Something to do once the files were re-read (close what the new files no longer admit). */
export type ReloadListener = () => void | Promise<void>;

/**
 * One reload of the credential files, whatever triggers it (SIGHUP, or the file watch): the files are re-read,
 * then every listener runs, so that what was admitted under the old files (open event streams) is checked against
 * the new ones. Reloads run one after another, never interleaved. Each file's outcomes are counted for the
 * metrics (`counts`, by name).
 */
export class CredentialReloads {
  private readonly listeners = new Set<ReloadListener>();
  private queue: Promise<void> = Promise.resolve();
  private readonly outcomes = new Map<string, ReloadOutcomes>();

  constructor(
    private readonly files: readonly Reloadable[],
    private readonly log: ReloadLogger,
  ) {
    // Every file was loaded at start-up (a bad one stops the start).
    const now = Date.now();
    for (const file of files) this.outcomes.set(file.name, { success: 0, failure: 0, lastSuccess: now });
  }

  /** The outcomes of the reloads so far, by file name. */
  get counts(): ReadonlyMap<string, Readonly<ReloadOutcomes>> {
    return this.outcomes;
  }

  /** Calls `listener` after every reload; returns a function that stops it. */
  onReloaded(listener: ReloadListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Re-reads the files (`only` them when given, else every one), then runs the listeners; resolves when all are
   * done. `trigger` names the cause in the log.
   */
  reload(trigger: string, only?: readonly Reloadable[]): Promise<void> {
    const files = only ? this.files.filter((file) => only.includes(file)) : this.files;
    this.queue = this.queue.then(() => this.run(trigger, files));
    return this.queue;
  }

  private async run(trigger: string, files: readonly Reloadable[]): Promise<void> {
    this.log.info({ trigger, files: files.map((file) => file.name) }, `${trigger}: reloading credentials`);
    await Promise.all(
      files.map(async (file) => {
        const ok = await file.reload(this.log);
        const outcome = this.outcomes.get(file.name) ?? { success: 0, failure: 0 };
        if (ok) Object.assign(outcome, { success: outcome.success + 1, lastSuccess: Date.now() });
        else outcome.failure++;
        this.outcomes.set(file.name, outcome);
      }),
    );
    for (const listener of this.listeners) {
      try {
        await listener();
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        this.log.error({ reason }, 'a check after reloading credentials failed');
      }
    }
  }
}

/** Reloads on SIGHUP; returns a function that removes the handler. */
export function reloadOnSighup(reloads: CredentialReloads): () => void {
  const onHup = (): void => void reloads.reload('SIGHUP');
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGHUP', onHup);
  };
}
