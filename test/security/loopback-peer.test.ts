import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LoopbackPeers } from '../../src/security/loopback-peer.js';
import { NOBODY, nodeAsNobody } from '../harness/other-user.js';

describe('LoopbackPeers', () => {
  let server: Server;
  let port: number;
  const accepted: Socket[] = [];
  const nextAccepted = () => once(server, 'connection').then(([socket]) => socket as Socket);

  before(async () => {
    server = createServer((socket) => accepted.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const socket of accepted) socket.destroy();
    server?.close();
  });

  it("tells a connection of this process's user", async () => {
    const peers = new LoopbackPeers();
    const arrived = nextAccepted();
    const client = connect(port, '127.0.0.1');
    const socket = await arrived;
    try {
      assert.equal(await peers.uidOf(socket), process.getuid!());
      assert.equal(peers.uidOf(socket), peers.uidOf(socket), 'looked up once per connection');
    } finally {
      client.destroy();
    }
  });

  it("tells another user's connection, many at once", async () => {
    assert.equal(process.getuid!(), 0, 'runs as root, to start processes as nobody');
    const peers = new LoopbackPeers();
    const arrivals: Socket[] = [];
    const three = new Promise<void>((resolve) =>
      server.on('connection', function count(socket: Socket) {
        arrivals.push(socket);
        if (arrivals.length === 3) {
          server.off('connection', count);
          resolve();
        }
      }),
    );
    // Three connections of nobody's, held open until the parent closes them.
    const code = `const n=require('node:net');for(let i=0;i<3;i++)n.connect(${port},'127.0.0.1').on('close',()=>process.exit(0));`;
    const child = nodeAsNobody(code);
    try {
      await three;
      // Looked up together: one read of the tables answers all three.
      assert.deepEqual(await Promise.all(arrivals.map((s) => peers.uidOf(s))), [NOBODY, NOBODY, NOBODY]);
    } finally {
      for (const s of arrivals) s.destroy();
      await once(child, 'exit');
    }
  });

  it('says null for a connection it cannot find, or tables it cannot read', async () => {
    assert.equal(await new LoopbackPeers().uidOf({ remotePort: 1, localPort: 1 }), null);
    assert.equal(await new LoopbackPeers(['/nonexistent']).uidOf({ remotePort: 1, localPort: 1 }), null);
  });
});
