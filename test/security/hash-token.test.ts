import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { runHashToken } from '../../src/security/hash-token.js';
import { parseTokensFile } from '../../src/security/tokens.js';

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runHashToken(argv, {
    readStdin: async () => stdin,
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
  });
  return { code, out, err };
}

// The documented shell equivalent, run for real.
function sha256sum(token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('sh', ['-c', 'printf %s "$1" | sha256sum | cut -d" " -f1', 'sh', token], (error, stdout) =>
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an Error, typed through Omit<> by @types/node
      error ? reject(error) : resolve(stdout.trim()),
    );
    child.stdin?.end();
  });
}

describe('hash-token', () => {
  it('prints the line for a token read on stdin, matching `printf %s TOKEN | sha256sum`', async () => {
    const token = 'Zm9vYmFyLXNlY3JldC10b2tlbg';
    const digest = await sha256sum(token);
    assert.deepEqual(await run(['--role', 'operator', '--name', 'ci'], `${token}\n`), {
      code: 0,
      out: `operator ${digest} ci\n`,
      err: '',
    });
    assert.deepEqual(await run([], token), { code: 0, out: `viewer ${digest}\n`, err: '' });
  });

  it('generates a token on request, shows it once on stderr, and the line verifies it', async () => {
    const { code, out, err } = await run(['--generate', '--role', 'admin']);
    assert.equal(code, 0);
    const token = /^token \(shown once\): ([A-Za-z0-9_-]{43})\n$/.exec(err)?.[1];
    assert.ok(token !== undefined, err);
    assert.equal(out, `admin ${await sha256sum(token)}\n`);
    assert.equal(parseTokensFile(out)[0]?.role, 'admin');
  });

  it('refuses bad roles, names, options, empty and unsendable tokens with exit code 2', async () => {
    assert.deepEqual(await run(['--role', 'root'], 't'), {
      code: 2,
      out: '',
      err: "unknown role 'root' (expected viewer, operator or admin)\n",
    });
    assert.equal((await run(['--name', 'two words'], 't')).code, 2);
    assert.equal((await run(['--bogus'], 't')).code, 2);
    assert.equal((await run([], '\n')).err, 'no token on stdin\n');
    assert.match((await run([], 'has space')).err, /visible ASCII/);
  });

  it('refuses a token under 128 bits, saying how strong it is and how to make a good one', async () => {
    const weak = await run(['--role', 'admin'], 'x\n');
    assert.equal(weak.code, 2);
    assert.equal(weak.out, '');
    assert.equal(
      weak.err,
      'the token is too weak: 4 bits (length 1), at least 128 are needed. Use 32 hex digits or more (openssl rand -hex 32), ' +
        'or let hash-token --generate make one\n',
    );
    assert.match((await run([], 'f'.repeat(31))).err, /too weak: 124 bits \(length 31\)/);
    assert.match((await run([], 'correct-horse-battery')).err, /too weak: 100 bits/);
    assert.equal((await run([], 'f'.repeat(32))).code, 0);
    assert.equal((await run([], 'aB3'.repeat(7) + 'x')).code, 0);
  });

  it('prints its usage for --help', async () => {
    const { code, out } = await run(['--help']);
    assert.equal(code, 0);
    assert.match(out, /^Usage: libvirt-admin-gateway hash-token/);
  });
});
