import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PeerCredentialResolver, credentialsOf, peerHolders } from '../../src/daemon/peer-credentials.js';
import { groupName, lookupName, userName } from '../../src/daemon/user-names.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

describe('peer credentials of unix sockets', () => {
  let dir: string;
  let path: string;
  let server: Server;
  const accepted: Socket[] = [];
  let onAccept: ((s: Socket) => void) | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peer cred '));
    await chmod(dir, 0o755);
    path = join(dir, 'a socket');
    server = createServer((s) => {
      accepted.push(s);
      onAccept?.(s);
    });
    await new Promise<void>((r) => server.listen(path, r));
    await chmod(path, 0o777);
  });
  after(async () => {
    for (const s of accepted) s.destroy();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts a process (optionally as another user) that connects and idles; resolves with it and our end. */
  async function connectFrom(
    options: { uid?: number; gid?: number } = {},
  ): Promise<{ child: ChildProcess; socket: Socket }> {
    const got = new Promise<Socket>((r) => (onAccept = r));
    const child = spawn(
      process.execPath,
      ['-e', `require('net').createConnection(${JSON.stringify(path)}); setTimeout(() => {}, 30000)`],
      {
        ...options,
        stdio: 'ignore',
      },
    );
    return { child, socket: await got };
  }

  test('parses ss output: peer inode -> pids holding the peer end', () => {
    const out = [
      'u_str ESTAB 0      0      /tmp/with space/sock 34049 * 33101 users:(("python3",pid=13610,fd=4))',
      'u_str ESTAB 0      0                * 33101 * 34049 users:(("virt-admin",pid=13670,fd=3),("child",pid=13700,fd=3))',
      'u_str ESTAB 0      0                * 1522  * 1523',
      'garbage',
    ].join('\n');
    const map = peerHolders(out);
    assert.deepEqual(map.get('34049'), [13670, 13700]);
    assert.deepEqual(map.get('33101'), [13610]);
    assert.equal(map.get('1523'), undefined);
  });

  test('reads effective uid and gid from /proc', () => {
    assert.deepEqual(credentialsOf(process.pid), {
      pid: process.pid,
      uid: process.geteuid!(),
      gid: process.getegid!(),
    });
    assert.equal(credentialsOf(0x7ffffff0), null);
  });

  test('resolves a peer in this process', async () => {
    const { child, socket } = await connectFrom();
    try {
      const creds = await new PeerCredentialResolver().resolve(socket);
      assert.deepEqual(creds, { pid: child.pid, uid: process.geteuid!(), gid: process.getegid!() });
    } finally {
      child.kill();
    }
  });

  // The machines this project runs its tests on are root (see .ci/run); starting a process as nobody needs it.
  test('resolves a peer running as another user, and names it from /etc/passwd and /etc/group', async () => {
    assert.ok(isRoot, 'this test starts a process as nobody and must run as root');
    const { child, socket } = await connectFrom({ uid: NOBODY, gid: NOBODY });
    try {
      const resolver = new PeerCredentialResolver();
      // Several lookups at once share one run of ss.
      const [a, b] = await Promise.all([resolver.resolve(socket), resolver.resolve(socket)]);
      assert.deepEqual(a, { pid: child.pid, uid: NOBODY, gid: NOBODY });
      assert.deepEqual(b, a);
      assert.equal(userName(NOBODY), lookupName('/etc/passwd', NOBODY));
      assert.equal(groupName(0), 'root');
    } finally {
      child.kill();
    }
  });

  test('answers null where the OS does not tell: no ss, a peer gone, a socket without descriptor', async () => {
    const { child, socket } = await connectFrom();
    assert.equal(await new PeerCredentialResolver({ ssPath: '/nonexistent/ss' }).resolve(socket), null);
    child.kill();
    await new Promise((r) => child.once('exit', r));
    assert.equal(await new PeerCredentialResolver().resolve(socket), null);
    socket.destroy();
    assert.equal(await new PeerCredentialResolver().resolve(socket), null);
    assert.equal(userName(0x7ffffff0), undefined);
    assert.equal(lookupName('/nonexistent', 0), undefined);
  });
});
