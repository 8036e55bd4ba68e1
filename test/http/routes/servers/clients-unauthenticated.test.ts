// A client that is connected but has not authenticated yet (issue 14 item 7), against libvirtd 9.0.0 and the
// embedded daemon alike: both count it in nclients_unauth and refuse its info until its first call
// (REMOTE_PROC_AUTH_LIST on a socket with auth "none"), and the gateway answers 409 ERR_CLIENT_NOT_AUTHENTICATED.
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { startEmbeddedDaemon } from '../../../harness/embedded.js';
import {
  parseVirtAdminKeyValues,
  parseVirtAdminTable,
  startRealDaemons,
  type VirtAdminResult,
} from '../../../harness/libvirtd.js';
import { retryUntil } from '../../../helpers/wait.js';
import { AUTH_LIST_CALL } from '../../../helpers/bytes.js';
import { assertProblem, buildGateway } from '../../gateway.js';

interface Target {
  adminUri: string;
  clientSocket: string;
  virtAdmin(...args: string[]): Promise<VirtAdminResult>;
  stop(): Promise<void>;
}

const NO_IDENTITY = 'internal error: No identity information available for client';

const targets: Array<[string, () => Promise<Target>]> = [
  [
    'libvirtd 9.0.0',
    async () => {
      const d = await startRealDaemons({ daemons: ['libvirtd'] });
      return {
        adminUri: d.adminUri('libvirtd'),
        clientSocket: d.clientSocket,
        virtAdmin: (...a) => d.virtAdmin('libvirtd', ...a),
        stop: () => d.stop(),
      };
    },
  ],
  ['the embedded daemon', () => startEmbeddedDaemon()],
];

for (const [label, start] of targets) {
  describe(`a client that has not authenticated yet, against ${label}`, () => {
    let target: Target;
    let app: FastifyInstance;
    before(async () => {
      target = await start();
      app = await buildGateway([{ uri: target.adminUri }]);
    });
    after(async () => {
      await app?.close();
      await target?.stop();
    });

    const cli = async (...args: string[]) => {
      const r = await target.virtAdmin(...args);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const ids = async () => parseVirtAdminTable(await cli('srv-clients-list', 'libvirtd')).map((row) => row[0]!);
    const unauth = async () => parseVirtAdminKeyValues(await cli('srv-clients-info', 'libvirtd'))['nclients_unauth'];

    it('is counted as pending, its info is 409 (virt-admin fails alike), and after AUTH_LIST it is 200', async () => {
      const before = new Set(await ids());
      const socket: Socket = createConnection({ path: target.clientSocket });
      socket.on('error', () => undefined);
      try {
        const now = await retryUntil(ids, (list) => list.some((id) => !before.has(id)), 'the new client listed');
        const id = now.find((x) => !before.has(x))!;
        assert.equal(await unauth(), '1');

        const body = assertProblem(
          await request(app.server).get(`/servers/libvirtd/clients/${id}`),
          409,
          'ERR_CLIENT_NOT_AUTHENTICATED',
        );
        assert.deepEqual(body.libvirt, { code: 1, domain: 7, message: NO_IDENTITY });
        const info = await target.virtAdmin('client-info', 'libvirtd', id);
        assert.equal(info.code, 1);
        assert.ok(info.stderr.includes(`error: ${NO_IDENTITY}`), info.stderr);

        const replied = new Promise<void>((resolve) => socket.once('data', () => resolve()));
        socket.write(AUTH_LIST_CALL);
        await replied;
        const res = await request(app.server).get(`/servers/libvirtd/clients/${id}`).expect(200);
        assert.equal(res.body.processId, process.pid);
        assert.equal(await unauth(), '0');
        assert.equal(
          parseVirtAdminKeyValues(await cli('client-info', 'libvirtd', id))['unix_process_id'],
          String(process.pid),
        );
      } finally {
        socket.destroy();
      }
    });
  });
}
