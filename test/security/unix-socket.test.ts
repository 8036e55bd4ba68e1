import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_SOCKET_MODE,
  listenWithMode,
  parseSocketMode,
  removeStaleSocket,
  socketModeWarning,
} from '../../src/security/unix-socket.js';

describe('socket modes', () => {
  it('parses three octal digits with an optional leading 0', () => {
    assert.equal(DEFAULT_SOCKET_MODE, 0o660);
    assert.equal(parseSocketMode('0660'), 0o660);
    assert.equal(parseSocketMode('600'), 0o600);
    for (const bad of ['', '66', '0668', '1777', 'rw-rw----', '0o660']) assert.throws(() => parseSocketMode(bad), /three octal digits/);
  });

  it('warns when every local user may connect', () => {
    assert.equal(socketModeWarning(0o660), null);
    assert.match(socketModeWarning(0o666) ?? '', /^listen socket mode 0666 lets every local user connect$/);
  });
});

describe('unix socket files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sock-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const listen = (server: Server, path: string) => () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

  it('creates the socket with exactly the requested mode', async () => {
    const path = join(dir, 'a.sock');
    const server = createServer();
    await listenWithMode(path, 0o660, listen(server, path));
    try {
      assert.equal((await stat(path)).mode & 0o777, 0o660);
    } finally {
      await close(server);
    }
  });

  it('removes a stale socket, keeps a live one and never deletes other files', async () => {
    await removeStaleSocket(join(dir, 'missing.sock'));

    const live = join(dir, 'live.sock');
    const server = createServer();
    await listen(server, live)();
    await assert.rejects(removeStaleSocket(live), /is in use by another process/);

    const file = join(dir, 'file');
    await writeFile(file, 'keep me');
    await assert.rejects(removeStaleSocket(file), /exists and is not a socket/);
    assert.equal((await stat(file)).isFile(), true);

    await close(server);

    // A process killed with SIGKILL leaves its socket file behind, with nobody accepting on it.
    const stale = join(dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`]);
    await once(child.stdout, 'data');
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal((await stat(stale)).isSocket(), true);
    await removeStaleSocket(stale);
    await assert.rejects(stat(stale), { code: 'ENOENT' });
  });
});
