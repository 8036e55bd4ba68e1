import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { startRealDaemons, type RealDaemons } from './libvirtd.js';
import { openRawClients } from './raw-clients.js';

describe('raw clients of libvirtd', () => {
  let daemons: RealDaemons;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
  });
  after(() => daemons?.stop());

  it('opens more clients than max_anonymous_clients (20), all authenticated, and closes them', async () => {
    const admin = await AdminClient.connect(daemons.adminUri('libvirtd'));
    try {
      const clients = await openRawClients(daemons.readOnlyClientSocket, 60);
      assert.equal(clients.count, 60);
      assert.equal((await admin.listClients('libvirtd')).length, 60);
      const limits = await admin.getClientLimits('libvirtd');
      assert.equal(limits.unauthClients, 0);
      assert.equal(limits.clients, 60);
      clients.close(25);
      assert.equal(clients.count, 35);
      // The daemon notices closed sockets on its own schedule: poll (bounded) rather than sleep.
      for (let i = 0; i < 100 && (await admin.listClients('libvirtd')).length !== 35; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal((await admin.listClients('libvirtd')).length, 35);
      clients.close();
      assert.equal(clients.count, 0);
    } finally {
      await admin.close();
    }
  });
});
