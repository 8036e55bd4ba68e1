import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { startRealDaemons, type RealDaemons } from './libvirtd.js';
import { openRawClients } from './raw-clients.js';
import { retryUntil } from '../helpers/wait.js';

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
      // The daemon notices closed sockets on its own schedule: poll.
      await retryUntil(
        async () => (await admin.listClients('libvirtd')).length,
        (n) => n === 35,
        'the daemon to list 35 clients',
        5000,
      );
      clients.close();
      assert.equal(clients.count, 0);
    } finally {
      await admin.close();
    }
  });
});
