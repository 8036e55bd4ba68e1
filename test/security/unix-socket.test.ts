import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, statSync } from 'node:fs';
import { lstat, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_SOCKET_MODE,
  listenUnix,
  parseSocketMode,
  removeStaleSocket,
  serveOnUnixSocket,
  socketModeWarning,
} from '../../src/security/unix-socket.js';

describe('socket modes', () => {
  it('parses three octal digits with an optional leading 0; the default is the owner only', () => {
    assert.equal(DEFAULT_SOCKET_MODE, 0o600);
    assert.equal(parseSocketMode('0660'), 0o660);
    assert.equal(parseSocketMode('600'), 0o600);
    for (const bad of ['', '66', '0668', '1777', 'rw-rw----', '0o660'])
      assert.throws(() => parseSocketMode(bad), /three octal digits/);
  });

  it('says when every local user may connect', () => {
    assert.equal(socketModeWarning(0o600), null);
    assert.equal(socketModeWarning(0o660), null);
    assert.match(socketModeWarning(0o666) ?? '', /^listen socket mode 0666 lets every local user connect$/);
    assert.match(socketModeWarning(0o601) ?? '', /^listen socket mode 0601 /);
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

  it('binds with exactly the requested mode from the first instant, whatever the umask, and restores the umask', async () => {
    const loose = process.umask(0);
    try {
      for (const mode of [0o600, 0o660, 0o700, 0o777]) {
        const path = join(dir, `mode-${mode.toString(8)}.sock`);
        const server = createServer();
        // Stat'ed synchronously when node reports the socket listening: no chmod could have run yet.
        let atListening = -1;
        server.once('listening', () => (atListening = statSync(path).mode & 0o777));
        const binding = await listenUnix(server, path, mode);
        try {
          assert.equal(atListening, mode, `mode ${mode.toString(8)} at 'listening'`);
          assert.equal(lstatSync(path).mode & 0o777, mode);
          assert.equal(process.umask(), 0, 'the process umask is back');
        } finally {
          await binding.close();
        }
        await assert.rejects(lstat(path), { code: 'ENOENT' }, 'closing removes the socket file');
      }
    } finally {
      process.umask(loose);
    }
  });

  it('removes a stale socket, keeps a live one and never deletes other files or follows links', async () => {
    await removeStaleSocket(join(dir, 'missing.sock'));

    const live = join(dir, 'live.sock');
    const server = createServer();
    const binding = await listenUnix(server, live, 0o600);
    await assert.rejects(removeStaleSocket(live), /is in use by another process/);
    await assert.rejects(listenUnix(createServer(), live, 0o600), /is in use by another process/);

    const file = join(dir, 'file');
    await writeFile(file, 'keep me');
    await assert.rejects(removeStaleSocket(file), /exists and is not a socket; refusing to replace it/);
    assert.equal((await stat(file)).isFile(), true);

    // A symbolic link, even to a stale socket, is not removed, and nothing is bound through it.
    const link = join(dir, 'link.sock');
    await symlink(file, link);
    await assert.rejects(listenUnix(createServer(), link, 0o600), /link\.sock exists and is not a socket/);
    assert.equal((await lstat(link)).isSymbolicLink(), true);
    await binding.close();

    // A process killed with SIGKILL leaves its socket file behind, with nobody accepting on it.
    const stale = join(dir, 'stale.sock');
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`,
    ]);
    await once(child.stdout, 'data');
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal((await stat(stale)).isSocket(), true);
    const again = await listenUnix(createServer(), stale, 0o600);
    assert.equal((await stat(stale)).mode & 0o777, 0o600);
    await again.close();
  });

  it('fails to bind where the folder is missing, naming the path, and leaves the umask as it was', async () => {
    const umask = process.umask();
    await assert.rejects(listenUnix(createServer(), join(dir, 'no', 'such', 'x.sock'), 0o600), /\/no\/such\/x\.sock/);
    assert.equal(process.umask(), umask);
  });

  it('serves HTTP on a unix socket and removes it on close', async () => {
    const path = join(dir, 'http.sock');
    const listener = await serveOnUnixSocket((_request, response) => response.end('hello'), path, 0o600, {
      maxHeaderSize: 16384,
      requestTimeout: 30_000,
      keepAliveTimeout: 10_000,
    });
    try {
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      const socket = createConnection(path);
      socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      let reply = '';
      socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
      await once(socket, 'close');
      assert.match(reply, /^HTTP\/1\.1 200 OK[\s\S]*hello$/);
    } finally {
      await listener.close();
    }
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name === 'http.sock'),
      [],
    );
  });
});
