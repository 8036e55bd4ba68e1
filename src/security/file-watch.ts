/**
 * Reloads the credential files when they change on disk, so that a certificate renewed by cert-manager (or a
 * tokens file updated by a config tool) is in force without a SIGHUP, which nothing sends in a pod.
 *
 * Kubernetes updates a mounted Secret or ConfigMap atomically: the files are symbolic links through `..data`,
 * itself a link to a timestamped folder, and an update writes a new folder, points `..data_tmp` at it and renames
 * `..data_tmp` over `..data` (kubelet's AtomicWriter). The file the gateway was given never changes, so watching
 * it (inotify on its inode) sees nothing; its folder sees the rename. So we watch folders (the configured path's
 * and that of the file it resolves to, re-resolved after every change) and, after a quiet period (debounce: an
 * update is several events, a cert and its key are two files), compare each file's content with what was loaded
 * last. A file whose content changed is reloaded through CredentialReloads, which keeps the old content when the
 * new one is invalid; a slow periodic check covers a file system whose events never come (some network mounts).
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { CredentialReloads, Reloadable, ReloadLogger } from './reloadable.js';

/** Timings of the watch. */
export interface FileWatchOptions {
  /** Milliseconds without events before the files are compared (default 500). */
  debounceMs?: number;
  /** Milliseconds between two checks made without any event (default 60 s; 0: none). */
  pollMs?: number;
}

/** What a file looks like now: where it leads and a digest of its bytes (or why it cannot be read). */
async function fingerprint(path: string): Promise<string> {
  try {
    const target = await realpath(path);
    const digest = createHash('sha256')
      .update(await readFile(target))
      .digest('hex');
    return `${target}\0${digest}`;
  } catch (err) {
    return `error\0${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`;
  }
}

/** Watches the files of `files` and reloads each one whose content changed; stop() ends the watch. */
export class CredentialFileWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly seen = new Map<string, string>();
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private checking: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly debounceMs: number;

  private constructor(
    private readonly files: readonly Reloadable[],
    private readonly reloads: CredentialReloads,
    private readonly log: ReloadLogger,
    options: FileWatchOptions,
  ) {
    this.debounceMs = options.debounceMs ?? 500;
    const pollMs = options.pollMs ?? 60_000;
    if (pollMs > 0) {
      this.poll = setInterval(() => this.schedule(0), pollMs);
      this.poll.unref();
    }
  }

  /** Starts watching: the files' current content is the baseline (what start-up loaded). */
  static async start(
    files: readonly Reloadable[],
    reloads: CredentialReloads,
    log: ReloadLogger,
    options: FileWatchOptions = {},
  ): Promise<CredentialFileWatch> {
    const watch = new CredentialFileWatch(files, reloads, log, options);
    for (const path of watch.paths()) watch.seen.set(path, await fingerprint(path));
    await watch.watchFolders();
    return watch;
  }

  /** Resolves once the checks scheduled so far have ended (tests, shutdown). */
  settled(): Promise<void> {
    return this.checking;
  }

  /** Stop watching. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearInterval(this.poll);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private paths(): string[] {
    return [...new Set(this.files.flatMap((file) => file.paths.map((path) => resolve(path))))];
  }

  /** Watch the folder of every path and of the file it leads to now (after a swap, a new folder may hold it). */
  private async watchFolders(): Promise<void> {
    const folders = new Set<string>();
    for (const path of this.paths()) {
      folders.add(dirname(path));
      const target = await realpath(path).catch(() => undefined);
      if (target !== undefined) folders.add(dirname(target));
    }
    for (const [folder, watcher] of this.watchers) {
      if (!folders.has(folder)) {
        watcher.close();
        this.watchers.delete(folder);
      }
    }
    for (const folder of folders) {
      if (this.stopped || this.watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, { persistent: false }, () => this.schedule(this.debounceMs));
        // A folder that goes away (the old timestamped folder of a swap) ends its watcher; the next check
        // watches wherever the files lead then.
        watcher.on('error', () => {
          watcher.close();
          if (this.watchers.get(folder) === watcher) this.watchers.delete(folder);
          this.schedule(this.debounceMs);
        });
        this.watchers.set(folder, watcher);
      } catch (err) {
        this.log.error(
          { folder, reason: (err as Error).message },
          'cannot watch a credential folder; SIGHUP still reloads',
        );
      }
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.checking = this.checking.then(() => this.check());
    }, delayMs);
    this.debounce.unref();
  }

  /** Compare every file with what was loaded last; reload those that changed, then re-resolve the folders. */
  private async check(): Promise<void> {
    if (this.stopped) return;
    const changed = new Set<string>();
    for (const path of this.paths()) {
      const now = await fingerprint(path);
      if (now !== this.seen.get(path)) changed.add(path);
      this.seen.set(path, now);
    }
    if (changed.size > 0) {
      const due = this.files.filter((file) => file.paths.some((path) => changed.has(resolve(path))));
      await this.reloads.reload(`file change (${[...changed].join(', ')})`, due);
    }
    await this.watchFolders();
  }
}
