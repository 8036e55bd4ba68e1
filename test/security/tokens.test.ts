import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigFileError } from '../../src/security/reloadable.js';
import {
  findToken,
  hashToken,
  parseTokensFile,
  tokenLine,
  TokenStore,
  TokensFileError,
} from '../../src/security/tokens.js';

// Independent of the code under test: the digest as `printf %s TOKEN | sha256sum` prints it.
const sha = (token: string): string => createHash('sha256').update(Buffer.from(token, 'utf8')).digest('hex');

const silent = { info: () => {}, error: () => {} };

describe('hashToken / tokenLine', () => {
  it('is the SHA-256 of the UTF-8 bytes, in lower-case hex', () => {
    assert.equal(hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(hashToken('é'), sha('é'));
  });

  it('makes `<role> <hash> [name]` lines', () => {
    assert.equal(tokenLine('operator', 'abc', 'ci'), `operator ${sha('abc')} ci`);
    assert.equal(tokenLine('viewer', 'abc'), `viewer ${sha('abc')}`);
  });
});

describe('parseTokensFile', () => {
  it('reads roles, hashes and names, skipping comments and blank lines', () => {
    const text = [
      '# tokens',
      '',
      `viewer ${sha('v')} grafana`,
      `  operator\t${sha('o').toUpperCase()}   ci runner  `,
      `admin ${sha('a')}`,
    ].join('\n');
    const entries = parseTokensFile(text);
    assert.deepEqual(
      entries.map((entry) => [entry.role, entry.hash.toString('hex'), entry.name, entry.line]),
      [
        ['viewer', sha('v'), 'grafana', 3],
        ['operator', sha('o'), 'ci runner', 4],
        ['admin', sha('a'), `token-${sha('a').slice(0, 8)}`, 5],
      ],
    );
  });

  it('names the line of an unknown role', () => {
    assert.throws(() => parseTokensFile(`\nroot ${sha('x')}`, 'f'), {
      name: 'TokensFileError',
      message: "f line 2: unknown role 'root' (expected viewer, operator or admin)",
    });
  });

  it('refuses a field that is not a SHA-256 digest without echoing it', () => {
    for (const digest of ['s3cret-plain-token', sha('x').slice(1), `${sha('x')}0`, 'g'.repeat(64), '']) {
      assert.throws(
        () => parseTokensFile(`admin ${digest}`),
        (err: unknown) => err instanceof TokensFileError && !(digest !== '' && err.message.includes(digest)),
      );
    }
  });

  it('refuses the same hash twice (its role would be ambiguous)', () => {
    assert.throws(() => parseTokensFile(`viewer ${sha('x')}\nadmin ${sha('x').toUpperCase()}`), {
      message: 'tokens file line 2: the same token hash is already on line 1',
    });
  });

  it('accepts an empty file (then no token is valid)', () => {
    assert.deepEqual(parseTokensFile('# nobody yet\n'), []);
  });
});

describe('findToken', () => {
  const entries = parseTokensFile(`viewer ${sha('one')} a\noperator ${sha('two')} b\nadmin ${sha('three')} c`);

  it('finds the entry of each token', () => {
    assert.equal(findToken(entries, 'one')?.name, 'a');
    assert.equal(findToken(entries, 'two')?.role, 'operator');
    assert.equal(findToken(entries, 'three')?.role, 'admin');
  });

  it('returns null for unknown, empty, near-miss and oversized tokens', () => {
    for (const token of ['', 'On', 'one ', 'onE', sha('one'), 'x'.repeat(5000)])
      assert.equal(findToken(entries, token), null);
  });

  it('returns null with no entries', () => {
    assert.equal(findToken([], 'one'), null);
  });
});

describe('TokenStore', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokens-'));
    file = join(dir, 'tokens');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a file and verifies its tokens', async () => {
    await writeFile(file, `operator ${sha('t1')} ci\n`);
    const store = await TokenStore.load(file);
    assert.equal(store.size, 1);
    assert.deepEqual([store.verify('t1')?.role, store.verify('t2')], ['operator', null]);
  });

  it('fails to load a missing or invalid file, naming the file', async () => {
    await assert.rejects(TokenStore.load(join(dir, 'missing')), (err: unknown) => {
      return (
        err instanceof ConfigFileError && err.message === `cannot read tokens file ${join(dir, 'missing')}: ENOENT`
      );
    });
    await writeFile(file, 'admin nothex\n');
    await assert.rejects(TokenStore.load(file), { name: 'ConfigFileError', message: new RegExp(`^${file} line 1: `) });
  });

  it('reload swaps the set; a bad file keeps the old set and logs why', async () => {
    await writeFile(file, `viewer ${sha('old')}\n`);
    const store = await TokenStore.load(file);
    await writeFile(file, `admin ${sha('new')} fresh\n`);
    assert.equal(await store.reload(silent), true);
    assert.equal(store.verify('old'), null);
    assert.equal(store.verify('new')?.name, 'fresh');

    const errors: object[] = [];
    await writeFile(file, `superuser ${sha('bad')}\n`);
    assert.equal(await store.reload({ info: () => {}, error: (obj) => errors.push(obj) }), false);
    assert.equal(store.verify('new')?.role, 'admin');
    assert.equal(store.verify('bad'), null);
    assert.equal(errors.length, 1);
    assert.match((errors[0] as { reason: string }).reason, /line 1: unknown role 'superuser'/);

    await rm(file);
    assert.equal(await store.reload(silent), false);
    assert.equal(store.verify('new')?.role, 'admin');
  });

  it('refuses a file group or others can write, at load and on reload (the old set stays, with a log line)', async () => {
    await writeFile(file, `viewer ${sha('kept')}\n`);
    await chmod(file, 0o664);
    await assert.rejects(TokenStore.load(file), {
      name: 'ConfigFileError',
      message: `refusing tokens file ${file}: ${file} is writable by its group (mode 0664); whoever can write it chooses the callers' roles. Run chmod go-w on it`,
    });
    await chmod(file, 0o644);
    const store = await TokenStore.load(file);
    await writeFile(file, `admin ${sha('planted')}\n`);
    await chmod(file, 0o646);
    const errors: Array<{ obj: object; msg: string }> = [];
    assert.equal(await store.reload({ info: () => {}, error: (obj, msg) => errors.push({ obj, msg }) }), false);
    assert.equal(store.verify('planted'), null);
    assert.equal(store.verify('kept')?.role, 'viewer');
    assert.deepEqual(
      errors.map((e) => e.msg),
      ['tokens file not reloaded; keeping the previous one'],
    );
    assert.match(
      (errors[0]!.obj as { reason: string }).reason,
      /^refusing tokens file .*: .* is writable by others \(mode 0646\)/,
    );
  });
});
