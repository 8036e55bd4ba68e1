// Without credentials the gateway serves the local callers of its own user (and root) only, as libvirt's admin
// socket does; --insecure serves anyone. Callers here: this process (root) and `nobody`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Authenticator } from '../../../src/security/authenticate.js';
import { getAsNobody, NOBODY } from '../../harness/other-user.js';
import { buildGateway } from '../gateway.js';

const DAEMONS = [{ uri: 'libvirtd:///system?socket=/nonexistent/libvirt-admin-sock' }];

describe('callers without credentials', () => {
  let owner: FastifyInstance;
  let open: FastifyInstance;
  let ownerUrl: string;
  let openUrl: string;
  before(async () => {
    owner = await buildGateway(DAEMONS);
    ownerUrl = await owner.listen({ host: '127.0.0.1', port: 0 });
    open = await buildGateway(DAEMONS, { security: { authenticator: new Authenticator({ anonymousCallers: 'anyone' }) } });
    openUrl = await open.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await owner?.close();
    await open?.close();
  });

  it("are served when they run as the gateway's own user", async () => {
    const res = await fetch(`${ownerUrl}/daemons`);
    assert.equal(res.status, 200);
  });

  it('are refused, saying why, when they run as another user', async () => {
    const res = await getAsNobody(`${ownerUrl}/daemons`);
    assert.equal(res.status, 403);
    const problem = JSON.parse(res.body) as { code: string; detail: string };
    assert.equal(problem.code, 'ERR_FORBIDDEN');
    assert.equal(
      problem.detail,
      `No credentials are configured, so only local callers running as the gateway's own user (uid ${process.getuid!()}) ` +
        `or root are served; this connection belongs to uid ${NOBODY}. Configure --tokens-file to serve other users`,
    );
  });

  it('reach the public routes whoever they are', async () => {
    assert.equal((await getAsNobody(`${ownerUrl}/healthz`)).status, 200);
  });

  it('are all served with --insecure', async () => {
    assert.equal((await getAsNobody(`${openUrl}/daemons`)).status, 200);
  });

  it('are served in-process (inject has no TCP connection)', async () => {
    assert.equal((await owner.inject({ url: '/daemons' })).statusCode, 200);
  });
});
