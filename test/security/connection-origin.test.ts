// The accept-time record of a connection: taken from the kernel once, when one of our listeners accepts, and
// kept whatever the socket reports later.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer, Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { originOf, recordOrigins } from '../../src/security/connection-origin.js';
import { makePki, type TestPki } from '../http/security/pki.js';

describe('connection origins', () => {
  let dir: string;
  let pki: TestPki;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'origin-'));
    pki = await makePki();
  });
  after(async () => {
    await pki?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('records a TCP connection with both ends as accepted, and keeps the record after a reset', async () => {
    const server = createServer();
    recordOrigins(server);
    recordOrigins(server); // a second call adds nothing
    assert.equal(server.listeners('connection').length, 1);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const client = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    const [[accepted]] = (await Promise.all([once(server, 'connection'), once(client, 'connect')])) as [
      [Socket],
      unknown,
    ];
    accepted.on('error', () => {}); // ECONNRESET, below
    try {
      assert.deepEqual(originOf(accepted), {
        transport: 'tcp',
        remoteAddress: '127.0.0.2',
        remotePort: client.localPort,
        localAddress: '127.0.0.1',
        localPort: port,
      });
      const closed = new Promise((resolve) => accepted.once('close', resolve));
      client.resetAndDestroy();
      await closed;
      assert.equal(originOf(accepted)?.transport, 'tcp');
    } finally {
      server.close();
    }
  });

  it('records a unix connection with the listener path', async () => {
    const path = join(dir, 'x.sock');
    const server = createServer();
    recordOrigins(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const client = connect(path);
    const [accepted] = (await once(server, 'connection')) as [Socket];
    try {
      assert.deepEqual(originOf(accepted), { transport: 'unix', path });
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });

  it('records TLS connections on the TLS socket that requests arrive on', async () => {
    const server = createHttpsServer({ cert: pki.server.cert, key: pki.server.key }, (request, response) => {
      response.end(JSON.stringify(originOf(request.socket)));
    });
    recordOrigins(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const client: TLSSocket = tlsConnect({ port, host: '127.0.0.1', ca: pki.ca.cert, servername: 'localhost' });
      await once(client, 'secureConnect');
      const clientPort = client.localPort;
      client.end('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      let reply = '';
      client.on('data', (chunk: Buffer) => (reply += chunk.toString()));
      await once(client, 'close');
      const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      assert.deepEqual(body, {
        transport: 'tls',
        remoteAddress: '127.0.0.1',
        remotePort: clientPort,
        localAddress: '127.0.0.1',
        localPort: port,
      });
    } finally {
      server.close();
    }
  });

  it('closes a connection whose peer addresses are gone at accept, and knows nothing of other sockets', async () => {
    const server = createServer();
    recordOrigins(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      // A socket with no peer (what accept hands over when the peer has already reset).
      const orphan = new Socket();
      server.emit('connection', orphan);
      assert.equal(orphan.destroyed, true);
      assert.equal(originOf(orphan), undefined);
      for (const other of [undefined, null, {}, { remoteAddress: '127.0.0.1', remotePort: 1 }, 'x'])
        assert.equal(originOf(other), undefined);
    } finally {
      server.close();
    }
  });
});
