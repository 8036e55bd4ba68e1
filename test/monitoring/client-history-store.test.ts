// The client history file: records read back newest first with every filter and the cursor, kept across a
// reopen, a line cut short by a crash skipped, and the two files within their bound under a churn of 10,000
// clients.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  ClientHistoryStore,
  HISTORY_FILE,
  ROTATED_HISTORY_FILE,
  type NewHistoryEntry,
} from '../../src/monitoring/client-history-store.js';
import { ensureStateDir } from '../../src/monitoring/state-dir.js';

const T0 = Date.parse('2026-01-01T12:00:00.000Z');

/** A connect or disconnect of client `id` (uid and pid derived from it), `seconds` after T0. */
function entry(event: 'connected' | 'disconnected', id: number, seconds: number, server = 'libvirtd'): NewHistoryEntry {
  return {
    event,
    time: new Date(T0 + seconds * 1000).toISOString(),
    daemon: 'libvirtd',
    server,
    client: {
      id,
      transport: 'unix',
      connectedAt: new Date(T0).toISOString(),
      identity: {
        readonly: true,
        unixUserId: 1000 + (id % 3),
        unixUserName: `user${id % 3}`,
        unixProcessId: 4000 + id,
      },
    },
    ...(event === 'disconnected' ? { durationMs: seconds * 1000 } : {}),
  };
}

async function fileSize(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

describe('ClientHistoryStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'history-')), 'state');
    await ensureStateDir(dir);
  });
  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('reads records back newest first, one server at a time, with increasing seqs', async () => {
    const store = await ClientHistoryStore.open(dir);
    store.append(entry('connected', 1, 0));
    store.append(entry('connected', 2, 1, 'admin'));
    store.append(entry('disconnected', 1, 5));
    const page = await store.query({ daemon: 'libvirtd', server: 'libvirtd', limit: 10 });
    assert.deepEqual(
      page.entries.map((e) => [e.seq, e.event, e.client.id]),
      [
        [3, 'disconnected', 1],
        [1, 'connected', 1],
      ],
    );
    assert.equal(page.entries[0]!.durationMs, 5000);
    assert.equal(page.nextBefore, null);
    assert.deepEqual(
      (await store.query({ daemon: 'libvirtd', server: 'admin', limit: 10 })).entries.map((e) => e.seq),
      [2],
    );
    assert.deepEqual((await store.query({ daemon: 'virtlogd', server: 'libvirtd', limit: 10 })).entries, []);
    store.close();
  });

  it('filters by time range and unix user, and pages with a cursor without gaps or repeats', async () => {
    const store = await ClientHistoryStore.open(dir);
    for (let i = 0; i < 30; i++) store.append(entry('connected', i, i));
    const byTime = await store.query({
      daemon: 'libvirtd',
      server: 'libvirtd',
      limit: 100,
      from: T0 + 10_000,
      to: T0 + 20_000,
    });
    assert.deepEqual(
      byTime.entries.map((e) => e.client.id),
      [19, 18, 17, 16, 15, 14, 13, 12, 11, 10],
    );
    const byUid = await store.query({ daemon: 'libvirtd', server: 'libvirtd', limit: 100, uid: 1001 });
    assert.deepEqual(
      byUid.entries.map((e) => e.client.id),
      [28, 25, 22, 19, 16, 13, 10, 7, 4, 1],
    );
    const seen: number[] = [];
    let before: number | undefined;
    do {
      const page = await store.query({
        daemon: 'libvirtd',
        server: 'libvirtd',
        limit: 7,
        ...(before ? { before } : {}),
      });
      assert.ok(page.entries.length <= 7);
      seen.push(...page.entries.map((e) => e.client.id));
      before = page.nextBefore ?? undefined;
    } while (before !== undefined);
    assert.deepEqual(
      seen,
      Array.from({ length: 30 }, (_, i) => 29 - i),
    );
    store.close();
  });

  it('keeps its records, seqs and open sessions across a reopen (a gateway restart)', async () => {
    const first = await ClientHistoryStore.open(dir);
    first.append(entry('connected', 1, 0));
    first.append(entry('connected', 2, 1));
    first.append(entry('disconnected', 1, 3));
    first.close();
    const second = await ClientHistoryStore.open(dir);
    assert.deepEqual(
      second.openSessions('libvirtd').map((e) => e.client.id),
      [2],
    );
    const next = second.append(entry('disconnected', 2, 9));
    assert.equal(next.seq, 4);
    const page = await second.query({ daemon: 'libvirtd', server: 'libvirtd', limit: 10 });
    assert.deepEqual(
      page.entries.map((e) => e.seq),
      [4, 3, 2, 1],
    );
    second.close();
  });

  it('skips a line cut short by a crash, and starts the next record on a line of its own', async () => {
    const first = await ClientHistoryStore.open(dir);
    first.append(entry('connected', 1, 0));
    first.close();
    await appendFile(join(dir, HISTORY_FILE), '{"seq":2,"event":"conn');
    const second = await ClientHistoryStore.open(dir);
    second.append(entry('connected', 3, 2));
    second.flush();
    const page = await second.query({ daemon: 'libvirtd', server: 'libvirtd', limit: 10 });
    assert.deepEqual(
      page.entries.map((e) => e.client.id),
      [3, 1],
    );
    const lines = (await readFile(join(dir, HISTORY_FILE), 'utf8')).split('\n');
    assert.equal(lines[1], '{"seq":2,"event":"conn');
    assert.ok(lines[2]!.startsWith('{"seq":2,"event":"connected"'), 'the next seq after the last complete record');
    second.close();
  });

  it('stays within its size bound under a churn of 10,000 clients, keeping the newest records', async () => {
    const maxBytes = 256 * 1024;
    const store = await ClientHistoryStore.open(dir, { maxBytes });
    let largest = 0;
    for (let i = 0; i < 10_000; i++) {
      store.append(entry('connected', i, i));
      store.append(entry('disconnected', i, i + 1));
      // Written in batches as events come: check the bound after every few hundred records.
      if (i % 250 === 249) {
        store.flush();
        largest = Math.max(
          largest,
          (await fileSize(join(dir, HISTORY_FILE))) + (await fileSize(join(dir, ROTATED_HISTORY_FILE))),
        );
      }
    }
    store.flush();
    const total = (await fileSize(join(dir, HISTORY_FILE))) + (await fileSize(join(dir, ROTATED_HISTORY_FILE)));
    assert.ok(
      largest <= maxBytes && total <= maxBytes,
      `files took ${Math.max(largest, total)} bytes for a bound of ${maxBytes}`,
    );
    assert.equal(store.bytesOnDisk, total);
    // At least half the bound is history: the newest records are all there, newest first.
    assert.ok(total >= maxBytes / 2, `${total} bytes kept`);
    const page = await store.query({ daemon: 'libvirtd', server: 'libvirtd', limit: 4 });
    assert.deepEqual(
      page.entries.map((e) => [e.event, e.client.id]),
      [
        ['disconnected', 9999],
        ['connected', 9999],
        ['disconnected', 9998],
        ['connected', 9998],
      ],
    );
    assert.equal(page.entries[0]!.seq, 20_000);
    // Paging through everything kept finds no gap between the two files.
    const seqs: number[] = [];
    let before: number | undefined;
    do {
      const p = await store.query({
        daemon: 'libvirtd',
        server: 'libvirtd',
        limit: 1000,
        ...(before ? { before } : {}),
      });
      seqs.push(...p.entries.map((e) => e.seq));
      before = p.nextBefore ?? undefined;
    } while (before !== undefined);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1]! - 1);
    store.close();
  });

  it('does not write a record longer than the line limit, and says so', async () => {
    const errors: unknown[] = [];
    const store = await ClientHistoryStore.open(dir, { onError: (err) => errors.push(err) });
    const huge = entry('connected', 1, 0);
    huge.client.identity = { ...huge.client.identity, selinuxContext: 'x'.repeat(20_000) };
    store.append(huge);
    store.append(entry('connected', 2, 1));
    store.flush();
    assert.equal(store.dropped, 1);
    assert.equal(errors.length, 1);
    assert.deepEqual(
      (await store.query({ daemon: 'libvirtd', server: 'libvirtd', limit: 10 })).entries.map((e) => e.client.id),
      [2],
    );
    store.close();
  });

  it('refuses a history file that is a symlink', async () => {
    const victim = join(dir, '..', 'victim');
    await writeFile(victim, '');
    await symlink(victim, join(dir, HISTORY_FILE));
    await assert.rejects(ClientHistoryStore.open(dir), /is a symlink/);
    assert.equal(await readFile(victim, 'utf8'), '');
  });

  it('refuses a bound below 64 KiB', async () => {
    await assert.rejects(ClientHistoryStore.open(dir, { maxBytes: 1000 }), RangeError);
  });
});
