/**
 * The client history on disk: JSON lines in the state folder, bounded by size with one rotation.
 *
 * Records are appended to `client-history.jsonl`; when the next line would take that file past half the bound,
 * it becomes `client-history.1.jsonl` (replacing the previous one) and a new file starts. The two files together
 * therefore never exceed `maxBytes`, and the history reaches back as far as half the bound holds at least. Lines
 * are written synchronously, in order, in one write per batch (a burst of events is one system call); a line cut
 * short by a crash is skipped when read, and the next line starts on a line of its own.
 *
 * A JSON-lines file rather than SQLite: the history is append-only, read newest first a page at a time, and
 * bounded to a few MiB; a file needs no native module (the image installs none), and `tail -f`, `jq` and log
 * shippers read it as it is.
 */
import { closeSync, constants, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EventActor, ConnectedClient } from './events.js';
import { openStateFile, StateDirError } from './state-dir.js';

/** File names in the state folder. */
export const HISTORY_FILE = 'client-history.jsonl';
export const ROTATED_HISTORY_FILE = 'client-history.1.jsonl';

/** Bounds of the history. */
export const HistoryLimits = {
  /** Both files together, by default: some 40,000 records of a few hundred bytes. */
  MAX_BYTES: 16 * 1024 * 1024,
  /** The smallest bound accepted. */
  MIN_BYTES: 64 * 1024,
  /** A record longer than this is not written (the identity of one client is far smaller). */
  MAX_LINE_BYTES: 16 * 1024,
} as const;

/** One record of the history. */
export interface ClientHistoryEntry {
  /** Increases with every record, across restarts. */
  seq: number;
  event: 'connected' | 'disconnected';
  /** When the gateway saw it (ISO 8601): within one watch interval of the change itself. */
  time: string;
  daemon: string;
  server: string;
  client: ConnectedClient;
  /** `disconnected` only: from the client's connect time (whole seconds, as libvirt keeps it) to `time`. */
  durationMs?: number;
  /** `disconnected` only: the caller who disconnected it through the gateway; absent when it left otherwise. */
  disconnectedBy?: EventActor;
  /**
   * True when the gateway was not watching when it happened (it was stopped, or the daemon unreachable): a client
   * found connected when watching started, or found gone. `time` is then when the gateway noticed.
   */
  gap?: true;
}

/** A record before the store numbers it. */
export type NewHistoryEntry = Omit<ClientHistoryEntry, 'seq'>;

/** What to look for; entries come newest first. */
export interface HistoryQuery {
  daemon: string;
  server: string;
  /** Only entries at or after this time (Unix ms). */
  from?: number;
  /** Only entries before this time (Unix ms). */
  to?: number;
  /** Only clients of this unix user id. */
  uid?: number;
  /** Only entries older than this seq (the cursor). */
  before?: number;
  limit: number;
}

/** A page of entries, and the seq to continue before (null when there are no more). */
export interface HistoryPage {
  entries: ClientHistoryEntry[];
  nextBefore: number | null;
}

/** Options of the store. */
export interface ClientHistoryStoreOptions {
  /** Both files together never exceed this (default HistoryLimits.MAX_BYTES). */
  maxBytes?: number;
  /** Told about records that could not be written (the disk is full, ...). */
  onError?: (err: unknown) => void;
}

const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/** The history files of one state folder. */
export class ClientHistoryStore {
  readonly maxBytes: number;
  /** Records not written: too long, or the write failed. */
  dropped = 0;
  private fd: number;
  private size: number;
  private nextSeq: number;
  private pending: string[] = [];
  private flushScheduled = false;
  /** Counts rotations, so a reader can tell that the files changed under it. */
  private generation = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    fd: number,
    size: number,
    private rotatedSize: number,
    nextSeq: number,
    private readonly open: Map<string, ClientHistoryEntry>,
    private readonly options: ClientHistoryStoreOptions,
  ) {
    this.maxBytes = options.maxBytes ?? HistoryLimits.MAX_BYTES;
    this.fd = fd;
    this.size = size;
    this.nextSeq = nextSeq;
  }

  /** Opens (or starts) the history in `dir`, a folder checked by ensureStateDir. */
  static async open(dir: string, options: ClientHistoryStoreOptions = {}): Promise<ClientHistoryStore> {
    const maxBytes = options.maxBytes ?? HistoryLimits.MAX_BYTES;
    if (!Number.isInteger(maxBytes) || maxBytes < HistoryLimits.MIN_BYTES) {
      throw new RangeError(`the history bound must be at least ${HistoryLimits.MIN_BYTES} bytes, got ${maxBytes}`);
    }
    const texts = await Promise.all([
      readStateText(join(dir, ROTATED_HISTORY_FILE)),
      readStateText(join(dir, HISTORY_FILE)),
    ]);
    // Which clients the history shows connected, and the last seq: replayed from both files, oldest first.
    const open = new Map<string, ClientHistoryEntry>();
    let lastSeq = 0;
    for (const text of texts) {
      for (const entry of parseLines(text)) {
        lastSeq = Math.max(lastSeq, entry.seq);
        const key = sessionKey(entry.daemon, entry.server, entry.client);
        if (entry.event === 'connected') open.set(key, entry);
        else open.delete(key);
      }
    }
    const fd = openAppend(join(dir, HISTORY_FILE));
    let size = fstatSync(fd).size;
    // A line cut short by a crash: end it, so the next record starts a line of its own.
    const current = texts[1];
    if (current !== undefined && current.length > 0 && !current.endsWith('\n')) {
      writeSync(fd, '\n');
      size += 1;
    }
    const rotatedSize = texts[0] === undefined ? 0 : Buffer.byteLength(texts[0]);
    return new ClientHistoryStore(dir, fd, size, rotatedSize, lastSeq + 1, open, options);
  }

  /** Bytes both files hold now (written records only). */
  get bytesOnDisk(): number {
    return this.size + this.rotatedSize;
  }

  /** The clients the history shows connected (a connect recorded, no disconnect yet), by daemon. */
  openSessions(daemon: string): ClientHistoryEntry[] {
    return [...this.open.values()].filter((e) => e.daemon === daemon);
  }

  /** Appends a record (written in this turn's batch) and returns it numbered. */
  append(record: NewHistoryEntry): ClientHistoryEntry {
    if (this.closed) throw new Error('the client history is closed');
    const entry: ClientHistoryEntry = { seq: this.nextSeq++, ...record };
    const key = sessionKey(entry.daemon, entry.server, entry.client);
    if (entry.event === 'connected') this.open.set(key, entry);
    else this.open.delete(key);
    const line = `${JSON.stringify(entry)}\n`;
    if (Buffer.byteLength(line) > HistoryLimits.MAX_LINE_BYTES) {
      this.dropped++;
      this.options.onError?.(
        new Error(
          `client history record ${entry.seq} is longer than ${HistoryLimits.MAX_LINE_BYTES} bytes; not written`,
        ),
      );
      return entry;
    }
    this.pending.push(line);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return entry;
  }

  /** Writes what is pending now. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const lines = this.pending;
    this.pending = [];
    const half = Math.floor(this.maxBytes / 2);
    let batch = '';
    let batchBytes = 0;
    try {
      for (const line of lines) {
        const bytes = Buffer.byteLength(line);
        if (this.size + batchBytes + bytes > half) {
          this.write(batch, batchBytes);
          batch = '';
          batchBytes = 0;
          this.rotate();
        }
        batch += line;
        batchBytes += bytes;
      }
      this.write(batch, batchBytes);
    } catch (err) {
      this.dropped += lines.length;
      this.options.onError?.(err);
    }
  }

  /** One page of entries of a server, newest first. */
  async query(q: HistoryQuery): Promise<HistoryPage> {
    this.flush();
    let texts: Array<string | undefined> = [];
    // A rotation between the two reads would show some records twice or not at all: read again then.
    for (let attempt = 0; attempt < 5; attempt++) {
      const generation = this.generation;
      texts = await Promise.all([
        readStateText(join(this.dir, ROTATED_HISTORY_FILE)),
        readStateText(join(this.dir, HISTORY_FILE)),
      ]);
      if (generation === this.generation) break;
    }
    const entries: ClientHistoryEntry[] = [];
    // A cheap look at the raw line first: most lines of a busy history are of other servers.
    const serverField = `"server":${JSON.stringify(q.server)}`;
    for (const text of texts.reverse()) {
      if (text === undefined || entries.length > q.limit) continue;
      let end = text.length;
      while (end > 0 && entries.length <= q.limit) {
        const start = text.lastIndexOf('\n', end - 1) + 1;
        const line = text.slice(start, end);
        end = start - 1;
        if (!line.includes(serverField)) continue;
        const entry = parseLine(line);
        if (entry === null || !matches(entry, q)) continue;
        entries.push(entry);
      }
    }
    const more = entries.length > q.limit;
    const page = entries.slice(0, q.limit);
    return { entries: page, nextBefore: more ? page[page.length - 1]!.seq : null };
  }

  /** Writes what is pending and closes the file. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }

  private write(batch: string, bytes: number): void {
    if (bytes === 0) return;
    writeSync(this.fd, batch);
    this.size += bytes;
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(join(this.dir, HISTORY_FILE), join(this.dir, ROTATED_HISTORY_FILE));
    this.rotatedSize = this.size;
    this.generation++;
    this.fd = openAppend(join(this.dir, HISTORY_FILE));
    this.size = 0;
  }
}

/** The key of one connection of a client: ids restart with the daemon, the connect time tells them apart. */
function sessionKey(daemon: string, server: string, client: Pick<ConnectedClient, 'id' | 'connectedAt'>): string {
  return `${daemon}\u0000${server}\u0000${client.id}@${client.connectedAt}`;
}

function matches(entry: ClientHistoryEntry, q: HistoryQuery): boolean {
  if (entry.daemon !== q.daemon || entry.server !== q.server) return false;
  if (q.before !== undefined && entry.seq >= q.before) return false;
  const time = Date.parse(entry.time);
  if (q.from !== undefined && time < q.from) return false;
  if (q.to !== undefined && time >= q.to) return false;
  if (q.uid !== undefined && entry.client.identity?.unixUserId !== q.uid) return false;
  return true;
}

function parseLine(line: string): ClientHistoryEntry | null {
  if (line.length === 0) return null;
  try {
    const entry = JSON.parse(line) as ClientHistoryEntry;
    return typeof entry === 'object' &&
      entry !== null &&
      typeof entry.seq === 'number' &&
      typeof entry.daemon === 'string'
      ? entry
      : null;
  } catch {
    return null; // cut short by a crash
  }
}

function* parseLines(text: string | undefined): Generator<ClientHistoryEntry> {
  if (text === undefined) return;
  for (const line of text.split('\n')) {
    const entry = parseLine(line);
    if (entry !== null) yield entry;
  }
}

/** Opens a history file for appending, never through a symlink, and checks it is a regular file of ours. */
function openAppend(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, APPEND_FLAGS, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new StateDirError(`${path} is a symlink; the gateway does not follow symlinks in its state folder`);
    }
    throw new StateDirError(`cannot open ${path}: ${(err as Error).message}`);
  }
  const stats = fstatSync(fd);
  const uid = process.getuid?.() ?? 0;
  if (!stats.isFile() || stats.uid !== uid) {
    closeSync(fd);
    throw new StateDirError(`${path} is not a regular file owned by this gateway's user (uid ${uid})`);
  }
  return fd;
}

/** The text of a state file, undefined when it does not exist. */
async function readStateText(path: string): Promise<string | undefined> {
  const handle = await openStateFile(path, 'read');
  if (handle === null) return undefined;
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
