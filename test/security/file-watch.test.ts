// The file watch on its own: which changes trigger a reload, of which files, debounced, and logged.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CredentialFileWatch } from '../../src/security/file-watch.js';
import { CredentialReloads, type Reloadable } from '../../src/security/reloadable.js';
import { eventually } from '../helpers/wait.js';

describe('CredentialFileWatch', () => {
  let dir: string;
  let watch: CredentialFileWatch | undefined;
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const log = {
    info: (obj: object, msg: string) => void lines.push({ obj: obj as Record<string, unknown>, msg }),
    error: (obj: object, msg: string) => void lines.push({ obj: obj as Record<string, unknown>, msg }),
  };
  const reloaded: string[] = [];
  /** A Reloadable that records its reloads and fails when its file says "bad". */
  const file = (name: string, ...paths: string[]): Reloadable => ({
    name,
    paths,
    async reload(l) {
      reloaded.push(name);
      const { readFile } = await import('node:fs/promises');
      const ok = !(await readFile(paths[0]!, 'utf8')).includes('bad');
      if (ok) l.info({ file: paths[0] }, `${name} reloaded`);
      else l.error({ file: paths[0] }, `${name} not reloaded; keeping the previous one`);
      return ok;
    },
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-watch-unit-'));
    lines.length = 0;
    reloaded.length = 0;
  });
  afterEach(async () => {
    watch?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reloads only the changed file, once for a burst of writes, and counts the outcome', async () => {
    const tokens = join(dir, 'tokens');
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    await Promise.all([writeFile(tokens, 'a\n'), writeFile(cert, 'c\n'), writeFile(key, 'k\n')]);
    const files = [file('tokens', tokens), file('tls', cert, key)];
    const reloads = new CredentialReloads(files, log);
    watch = await CredentialFileWatch.start(files, reloads, log, { debounceMs: 100, pollMs: 0 });
    // A certificate and its key written one after the other: one reload of the TLS files.
    await writeFile(cert, 'c2\n');
    await writeFile(key, 'k2\n');
    await eventually(() => reloaded.length > 0, 'a reload');
    await watch.settled();
    assert.deepEqual(reloaded, ['tls']);
    assert.deepEqual(reloads.counts.get('tls'), {
      success: 1,
      failure: 0,
      lastSuccess: reloads.counts.get('tls')!.lastSuccess,
    });
    assert.ok(
      lines.some(
        ({ msg, obj }) =>
          /^file change \(.*tls\.crt, .*tls\.key\): reloading credentials$/.test(msg) && Array.isArray(obj['files']),
      ),
    );
    assert.ok(lines.some(({ msg }) => msg === 'tls reloaded'));
  });

  it('sees a file replaced by rename (as editors save), and counts a bad one as a failure', async () => {
    const tokens = join(dir, 'tokens');
    await writeFile(tokens, 'a\n');
    const files = [file('tokens', tokens)];
    const reloads = new CredentialReloads(files, log);
    watch = await CredentialFileWatch.start(files, reloads, log, { debounceMs: 50, pollMs: 0 });
    await writeFile(`${tokens}.new`, 'bad\n');
    await rename(`${tokens}.new`, tokens);
    await eventually(() => reloads.counts.get('tokens')!.failure === 1, 'the failed reload counted');
    assert.ok(lines.some(({ msg }) => msg === 'tokens not reloaded; keeping the previous one'));
    await writeFile(tokens, 'good\n');
    await eventually(() => reloads.counts.get('tokens')!.success === 1, 'the good reload counted');
  });

  it('reloads nothing when a folder event leaves the files as they were', async () => {
    const tokens = join(dir, 'tokens');
    await writeFile(tokens, 'a\n');
    const files = [file('tokens', tokens)];
    const reloads = new CredentialReloads(files, log);
    watch = await CredentialFileWatch.start(files, reloads, log, { debounceMs: 20, pollMs: 0 });
    await writeFile(join(dir, 'unrelated'), 'x');
    await writeFile(tokens, 'a\n'); // the same bytes again
    // The change below is the witness that the events above were handled (checks run in order).
    await writeFile(tokens, 'b\n');
    await eventually(() => reloaded.length === 1, 'the one real change reloaded');
    await watch.settled();
    assert.deepEqual(reloaded, ['tokens']);
  });

  it('stops watching on stop()', async () => {
    const tokens = join(dir, 'tokens');
    await writeFile(tokens, 'a\n');
    const files = [file('tokens', tokens)];
    watch = await CredentialFileWatch.start(files, new CredentialReloads(files, log), log, {
      debounceMs: 10,
      pollMs: 0,
    });
    watch.stop();
    await writeFile(tokens, 'b\n');
    // A second watch of the same file is the witness that the change was seen by whoever still watched.
    const other = await CredentialFileWatch.start(files, new CredentialReloads(files, log), log, {
      debounceMs: 10,
      pollMs: 0,
    });
    await writeFile(tokens, 'c\n');
    await eventually(() => reloaded.length === 1, 'the second watch reloaded');
    other.stop();
    assert.deepEqual(reloaded, ['tokens']);
  });
});
