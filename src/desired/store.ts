import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { ensureStateDir } from '../monitoring/state-dir.js';
import type { DesiredState } from './schema.js';

/** The name of the desired-state file in the state folder. */
export const STATE_FILE = 'desired-state.json';

/** The strong ETag of a daemon's document (If-Match on PUT). */
export function documentEtag(doc: DesiredState): string {
  return `"${createHash('sha256').update(JSON.stringify(doc)).digest('base64url').slice(0, 27)}"`;
}

/**
 * The declarations made through the API, kept in one JSON file of the state folder (`{ daemons: { name: doc } }`).
 * Written atomically: a new file is written and synced beside the old one, then renamed over it, so a crash leaves
 * the old declarations or the new ones, never half of them. Without a folder they live in memory only (tests).
 */
export class DesiredStateStore {
  private docs: Record<string, DesiredState> = {};

  constructor(private readonly dir: string | null) {}

  /** Read the file (none yet: nothing declared). */
  async load(): Promise<Record<string, DesiredState>> {
    if (this.dir === null) return this.docs;
    // A folder that does not exist holds no declaration: it is made on the first PUT, not at start.
    if (!existsSync(this.dir)) return this.docs;
    await ensureStateDir(this.dir);
    try {
      const parsed = JSON.parse(await readFile(this.path(), 'utf8')) as { daemons?: Record<string, DesiredState> };
      this.docs = parsed.daemons ?? {};
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return this.docs;
  }

  /** Replace one daemon's document (null: no declaration) and write the file. */
  async save(daemon: string, doc: DesiredState | null): Promise<void> {
    const next = { ...this.docs };
    if (doc === null) delete next[daemon];
    else next[daemon] = doc;
    if (this.dir !== null) {
      await ensureStateDir(this.dir);
      const tmp = `${this.path()}.${process.pid}.tmp`;
      const file = await open(tmp, 'w', 0o600);
      try {
        await file.writeFile(`${JSON.stringify({ daemons: next }, null, 2)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path()).catch(async (err: unknown) => {
        await unlink(tmp).catch(() => undefined);
        throw err;
      });
    }
    this.docs = next;
  }

  private path(): string {
    return `${this.dir}/${STATE_FILE}`;
  }
}
