import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LOCAL_TOKEN_BYTES, LOCAL_TOKEN_FILE, LocalToken } from '../../src/security/local-token.js';
import { prepareRuntimeDir, type RuntimeDir } from '../../src/security/runtime-dir.js';

describe('the local token', () => {
  let dir: string;
  let runtime: RuntimeDir;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-token-'));
    runtime = await prepareRuntimeDir(join(dir, 'run'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is 256 random bits, written as hex to <runtime folder>/local-token, mode 0600, new at every start', async () => {
    assert.equal(LOCAL_TOKEN_BYTES * 8, 256);
    const first = LocalToken.generate(runtime);
    assert.equal(first.path, join(dir, 'run', LOCAL_TOKEN_FILE));
    await first.write();
    const stat = await lstat(first.path);
    assert.equal(stat.mode & 0o777, 0o600);
    const text = await readFile(first.path, 'utf8');
    assert.match(text, /^[0-9a-f]{64}\n$/);
    assert.equal(first.verify(text.trim()), true);
    for (const wrong of ['', text, text.trim().toUpperCase(), text.trim().slice(1), 'x'.repeat(64)])
      assert.equal(first.verify(wrong), false);
    await assert.rejects(first.write(), /already written/);

    const second = LocalToken.generate(runtime);
    await second.write();
    const next = (await readFile(second.path, 'utf8')).trim();
    assert.notEqual(next, text.trim());
    assert.equal(first.verify(next), false);
    // The first gateway's removal leaves the file of the one that replaced it.
    await first.remove();
    assert.equal((await readFile(second.path, 'utf8')).trim(), next);
    await second.remove();
    await assert.rejects(lstat(second.path), { code: 'ENOENT' });
  });

  it('is not written until asked: a failed start leaves the file of a gateway running there', async () => {
    await writeFile(join(dir, 'run', LOCAL_TOKEN_FILE), 'running-gateway\n', { mode: 0o600 });
    const unwritten = LocalToken.generate(runtime);
    await unwritten.remove();
    assert.equal(await readFile(join(dir, 'run', LOCAL_TOKEN_FILE), 'utf8'), 'running-gateway\n');
  });
});
