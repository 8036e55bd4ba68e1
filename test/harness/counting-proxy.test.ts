import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { ErrorCode } from '../../src/rpc/errors.js';
import { unixDialer } from '../../src/rpc/transport.js';
import { startCountingProxy } from './counting-proxy.js';
import { startRealDaemons, type RealDaemons } from './libvirtd.js';

describe('counting proxy', () => {
  let daemons: RealDaemons;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
  });
  after(() => daemons?.stop());

  it('forwards calls unchanged and counts the calls outstanding on the wire', async () => {
    const proxy = await startCountingProxy(daemons.adminSocket('libvirtd'));
    try {
      // The client keeps at most 3 calls on the wire; the proxy must see that bound, not the 40 asked for.
      const client = await AdminClient.open(unixDialer(proxy.path), { maxInFlight: 3 });
      const versions = await Promise.all(Array.from({ length: 40 }, () => client.getLibVersion()));
      assert.ok(versions.every((v) => v.text === versions[0]!.text));
      assert.equal(proxy.calls, 41); // CONNECT_OPEN and the 40 calls
      assert.equal(proxy.replies, 41);
      assert.equal(proxy.outstanding, 0);
      assert.ok(proxy.maxOutstanding >= 2 && proxy.maxOutstanding <= 3, `max outstanding ${proxy.maxOutstanding}`);
      assert.equal(proxy.openConnections, 1);

      const before = proxy.reset();
      assert.equal(before.calls, 41);
      assert.equal(before.connections, 1);
      assert.equal(proxy.maxOutstanding, 0);
      await client.listServers();
      assert.equal(proxy.calls, 1);
      assert.equal(proxy.maxOutstanding, 1);
      await client.close();
    } finally {
      await proxy.close();
    }
  });

  it('drops every connection on demand, as a daemon crash would', async () => {
    const proxy = await startCountingProxy(daemons.adminSocket('libvirtd'));
    try {
      const client = await AdminClient.open(unixDialer(proxy.path));
      const closed = new Promise<string>((resolve) => client.rpc.onClosed((reason) => resolve(reason.code)));
      proxy.dropAll();
      assert.equal(await closed, ErrorCode.CONNECTION_CLOSED);
    } finally {
      await proxy.close();
    }
  });

  it('in silent mode, accepts and counts calls but never answers', async () => {
    const proxy = await startCountingProxy(daemons.adminSocket('libvirtd'), { silent: true });
    try {
      await assert.rejects(
        AdminClient.open(unixDialer(proxy.path), { callTimeoutMs: 200 }),
        (err: Error & { code?: string }) => err.code === ErrorCode.TIMEOUT,
      );
      assert.equal(proxy.calls, 1);
      assert.equal(proxy.replies, 0);
    } finally {
      await proxy.close();
    }
  });
});
