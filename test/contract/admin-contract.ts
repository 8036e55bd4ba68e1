// The admin contract: what virt-admin shows and does against a daemon, our AdminClient must see and do too,
// procedure by procedure (1 to 20). One suite, run against the real libvirtd (libvirtd.test.ts) and against the
// embedded daemon (embedded.test.ts). Every test restores what it changes, so tests stay independent.
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { adminProcedures as P } from '../../src/admin/procedures.js';
import type { ClientRef } from '../../src/admin/types.js';
import { LibvirtError, UnsupportedProcedureError } from '../../src/rpc/errors.js';
import {
  parseVirtAdminKeyValues,
  parseVirtAdminTable,
  type DaemonGeneration,
  type VirtAdminResult,
} from '../harness/libvirtd.js';
import { lastVirtAdminError, parseVirtAdminTime, virtAdminLine } from './contract-helpers.js';
import { openRawClient, type RawClient } from '../harness/raw-clients.js';
import { eventually, holdsFor } from '../helpers/wait.js';

/** What a contract target must offer: an admin URI, libvirtd-like client sockets and virt-admin bound to it. */
export interface AdminTarget {
  /** The libvirt generation whose behaviour the target has (a real daemon's, or what the embedded one claims). */
  generation: DaemonGeneration;
  adminUri: string;
  clientSocket: string;
  readOnlyClientSocket: string;
  virtAdmin(...args: string[]): Promise<VirtAdminResult>;
  stop(): Promise<void>;
}

/** Starts a fresh target. */
export type StartTarget = () => Promise<AdminTarget>;

/** A LibvirtError check: libvirt's code, domain and exact message. */
function libvirtError(code: number, domain: number, message: string) {
  return (e: unknown) => {
    assert.ok(e instanceof LibvirtError, `expected a LibvirtError, got ${String(e)}`);
    assert.equal(e.message, message);
    assert.deepEqual([e.libvirtCode, e.libvirtDomain], [code, domain], e.message);
    return true;
  };
}

/** Procs 7, 10 and 13 report an unknown server in words of their own (virt-admin never shows them: it looks up first). */
const NO_SERVER_62 = libvirtError(95, 62, "Server not found: no server with matching name 'nosuch' found");

/** The filters as they were set: the daemon returns each match wrapped in `*`, and `*` again would double up. */
function unwrapFilters(filters: string | null): string | null {
  if (filters === null) return null;
  return filters
    .trim()
    .split(' ')
    .filter(Boolean)
    .map((f) => f.replace(/^([^:]*):\*(.*)\*$/, '$1:$2'))
    .join(' ');
}

/** Define the whole admin contract suite against targets made by `startTarget`. */
export function defineAdminContract(targetName: string, startTarget: StartTarget): void {
  describe(`admin contract: ${targetName}`, () => {
    let target: AdminTarget;
    let admin: AdminClient;
    let server: string; // the server clients of clientSocket belong to (libvirtd's is "libvirtd")

    const virtAdmin = async (...args: string[]) => {
      const r = await target.virtAdmin(...args);
      assert.equal(r.code, 0, `virt-admin ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    /** Run a virt-admin command that must fail, and check our call fails with the same message. */
    const sameError = async (ours: () => Promise<unknown>, code: number, domain: number, ...args: string[]) => {
      const r = await target.virtAdmin(...args);
      assert.notEqual(r.code, 0, `virt-admin ${args.join(' ')} should fail`);
      await assert.rejects(ours(), libvirtError(code, domain, lastVirtAdminError(r.stderr)));
    };
    const clientIds = async () => (await admin.listClients(server)).map((c) => c.id);
    /** Open a raw client and find the id the daemon gave it. */
    const connectClient = async (path: string): Promise<{ raw: RawClient; ref: ClientRef }> => {
      const before = new Set(await clientIds());
      const raw = await openRawClient(path, { replyTimeoutMs: 2000, replyRequired: false });
      let ref: ClientRef | undefined;
      await eventually(
        async () => {
          ref = (await admin.listClients(server)).find((c) => !before.has(c.id));
          return ref !== undefined;
        },
        'the new client to be listed',
        5000,
        20,
      );
      return { raw, ref: ref! };
    };

    before(async () => {
      target = await startTarget();
      admin = await AdminClient.connect(target.adminUri);
      const names = (await admin.listServers()).map((s) => s.name);
      server = names.find((n) => n !== 'admin') ?? assert.fail(`no client server in ${names.join(', ')}`);
    });
    after(async () => {
      await admin?.close();
      await target?.stop();
    });

    it('1, 2 CONNECT_OPEN / CONNECT_CLOSE: a second connection opens and closes; open refuses flags', async () => {
      const second = await AdminClient.connect(target.adminUri);
      assert.equal((await second.getLibVersion()).number > 0, true);
      await second.close();
      assert.ok(second.closed);
      await assert.rejects(
        admin.call(P.connectOpen, { flags: 1 }),
        libvirtError(8, 62, 'unsupported flags (0x1) in function adminDispatchConnectOpen'),
      );
      assert.match(await virtAdmin('version'), /Running against daemon/);
    });

    it('3 GET_LIB_VERSION agrees with virt-admin version', async () => {
      const ours = await admin.getLibVersion();
      assert.equal(virtAdminLine(await virtAdmin('version'), 'Running against daemon').trim(), ours.text);
    });

    it('4 LIST_SERVERS agrees with virt-admin srv-list, order included', async () => {
      const rows = parseVirtAdminTable(await virtAdmin('srv-list'));
      const ours = await admin.listServers();
      assert.deepEqual(
        rows,
        ours.map((s, i) => [String(i), s.name]),
      );
      const { servers, ret } = await admin.call(P.connectListServers, { needResults: false, flags: 0 });
      assert.deepEqual([servers, ret], [[], ours.length]);
    });

    it('5 LOOKUP_SERVER finds every listed server and fails like virt-admin for an unknown one', async () => {
      for (const s of await admin.listServers()) assert.deepEqual(await admin.lookupServer(s.name), s);
      await sameError(() => admin.lookupServer('nosuch'), 95, 7, 'srv-threadpool-info', 'nosuch');
      await assert.rejects(admin.lookupServer(server.toUpperCase()), LibvirtError);
    });

    it('6 GET_THREADPOOL_PARAMETERS agrees with virt-admin srv-threadpool-info on every server', async () => {
      for (const { name } of await admin.listServers()) {
        const shown = parseVirtAdminKeyValues(await virtAdmin('srv-threadpool-info', name));
        const { extra, ...ours } = await admin.getThreadpool(name);
        assert.deepEqual(extra, []);
        assert.deepEqual(Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, String(v)])), shown, name);
      }
      await sameError(() => admin.getThreadpool('nosuch'), 95, 7, 'srv-threadpool-info', 'nosuch');
    });

    it("7 SET_THREADPOOL_PARAMETERS: our change is what virt-admin shows; errors match virt-admin's", async () => {
      const original = await admin.getThreadpool(server);
      try {
        await admin.setThreadpool(server, { minWorkers: 2, maxWorkers: 10, prioWorkers: 3 });
        const shown = parseVirtAdminKeyValues(await virtAdmin('srv-threadpool-info', server));
        assert.deepEqual([shown['minWorkers'], shown['maxWorkers'], shown['prioWorkers']], ['2', '10', '3']);
        await sameError(
          () => admin.setThreadpool(server, { minWorkers: 11 }),
          8,
          0,
          'srv-threadpool-set',
          server,
          '--min-workers',
          '11',
        );
        await sameError(
          () => admin.setThreadpool(server, { minWorkers: 0, maxWorkers: 0 }),
          8,
          0,
          'srv-threadpool-set',
          server,
          '--min-workers',
          '0',
          '--max-workers',
          '0',
        );
        // virt-admin looks the server up first (proc 5) and shows that error; proc 7 itself has its own text.
        await sameError(
          () => admin.lookupServer('nosuch'),
          95,
          7,
          'srv-threadpool-set',
          'nosuch',
          '--min-workers',
          '1',
        );
        await assert.rejects(admin.setThreadpool('nosuch', { minWorkers: 1 }), NO_SERVER_62);
        // Nothing was applied by the failed calls.
        const after = await admin.getThreadpool(server);
        assert.deepEqual([after.minWorkers, after.maxWorkers, after.prioWorkers], [2, 10, 3]);
      } finally {
        const { minWorkers, maxWorkers, prioWorkers } = original;
        await admin.setThreadpool(server, { minWorkers, maxWorkers, prioWorkers });
      }
      const restored = await admin.getThreadpool(server);
      assert.deepEqual(
        [restored.minWorkers, restored.maxWorkers, restored.prioWorkers],
        [original.minWorkers, original.maxWorkers, original.prioWorkers],
      );
    });

    it('8, 9, 10 clients: list, lookup and info of real clients agree with virt-admin', async () => {
      const rw = await connectClient(target.clientSocket);
      const ro = await connectClient(target.readOnlyClientSocket);
      try {
        const rows = parseVirtAdminTable(await virtAdmin('srv-clients-list', server));
        const ours = await admin.listClients(server);
        assert.deepEqual(
          rows.map(([id, transport, since]) => [id, transport, parseVirtAdminTime(since!)]),
          ours.map((c) => [String(c.id), ['unix', 'tcp', 'tls'][c.transport], Number(c.timestamp)]),
        );
        for (const [client, readonly] of [
          [rw, 'no'],
          [ro, 'yes'],
        ] as const) {
          const ref = await admin.lookupClient(server, client.ref.id);
          assert.deepEqual(ref, client.ref);
          const info = await admin.getClientInfo(ref);
          const shown = parseVirtAdminKeyValues(await virtAdmin('client-info', server, String(ref.id)));
          assert.equal(shown['id'], String(ref.id));
          assert.equal(shown['transport'], 'unix');
          assert.equal(parseVirtAdminTime(shown['connection_time']!), Number(ref.timestamp));
          assert.equal(shown['readonly'], readonly);
          assert.equal(info.readonly, readonly === 'yes');
          assert.equal(info.unixUserId, process.getuid!());
          assert.equal(info.unixGroupId, process.getgid!());
          assert.equal(info.unixProcessId, process.pid);
          assert.equal(info.unixUserName, userInfo().username);
          assert.deepEqual(
            [
              shown['unix_user_id'],
              shown['unix_user_name'],
              shown['unix_group_id'],
              shown['unix_group_name'],
              shown['unix_process_id'],
            ],
            [
              String(info.unixUserId),
              info.unixUserName,
              String(info.unixGroupId),
              info.unixGroupName,
              String(info.unixProcessId),
            ],
          );
        }
        const { clients, ret } = await admin.call(P.serverListClients, {
          server: { name: server },
          needResults: false,
          flags: 0,
        });
        assert.deepEqual([clients, ret], [[], ours.length]);
        await sameError(() => admin.lookupClient(server, 999999n), 96, 7, 'client-info', server, '999999');
        await sameError(() => admin.listClients('nosuch'), 95, 7, 'srv-clients-list', 'nosuch');
        await assert.rejects(admin.getClientInfo({ ...rw.ref, server: { name: 'nosuch' } }), NO_SERVER_62);
        await assert.rejects(
          admin.getClientInfo({ ...rw.ref, id: 999999n }),
          libvirtError(96, 62, "Client not found: no client with matching id '999999' found"),
        );
      } finally {
        rw.raw.close();
        ro.raw.close();
      }
    });

    it('11 CLIENT_CLOSE: the client really sees EOF and virt-admin no longer lists it', async () => {
      const { raw, ref } = await connectClient(target.clientSocket);
      try {
        await admin.closeClient(ref);
        await Promise.race([
          raw.ended,
          new Promise((_, reject) => setTimeout(() => reject(new Error('no EOF')), 3000)),
        ]);
        const rows = parseVirtAdminTable(await virtAdmin('srv-clients-list', server));
        assert.ok(!rows.some(([id]) => id === String(ref.id)));
        await sameError(() => admin.closeClient(ref), 96, 7, 'client-disconnect', server, String(ref.id));
      } finally {
        raw.close();
      }
    });

    it('11 CLIENT_CLOSE by virt-admin is seen by our client', async () => {
      const { raw, ref } = await connectClient(target.clientSocket);
      try {
        assert.match(
          await virtAdmin('client-disconnect', server, String(ref.id)),
          new RegExp(`Client '${ref.id}' disconnected`),
        );
        await raw.ended;
        assert.ok(!(await clientIds()).includes(ref.id));
      } finally {
        raw.close();
      }
    });

    it('12 GET_CLIENT_LIMITS agrees with virt-admin srv-clients-info', async () => {
      const { raw } = await connectClient(target.readOnlyClientSocket);
      try {
        const shown = parseVirtAdminKeyValues(await virtAdmin('srv-clients-info', server));
        const ours = await admin.getClientLimits(server);
        assert.deepEqual(ours.extra, []);
        assert.deepEqual(shown, {
          nclients_max: String(ours.maxClients),
          nclients: String(ours.clients),
          nclients_unauth_max: String(ours.maxUnauthClients),
          nclients_unauth: String(ours.unauthClients),
        });
        assert.ok(ours.clients >= 1);
        // On the admin server the counts include each caller, so compare the limits only.
        const adminShown = parseVirtAdminKeyValues(await virtAdmin('srv-clients-info', 'admin'));
        const adminOurs = await admin.getClientLimits('admin');
        assert.deepEqual(
          [adminShown['nclients_max'], adminShown['nclients_unauth_max']],
          [String(adminOurs.maxClients), String(adminOurs.maxUnauthClients)],
        );
        await sameError(() => admin.getClientLimits('nosuch'), 95, 7, 'srv-clients-info', 'nosuch');
      } finally {
        raw.close();
      }
    });

    it("13 SET_CLIENT_LIMITS: our change is what virt-admin shows; errors match virt-admin's", async () => {
      const original = await admin.getClientLimits(server);
      try {
        await admin.setClientLimits(server, { maxClients: 100, maxUnauthClients: 10 });
        const shown = parseVirtAdminKeyValues(await virtAdmin('srv-clients-info', server));
        assert.deepEqual([shown['nclients_max'], shown['nclients_unauth_max']], ['100', '10']);
        await sameError(
          () => admin.setClientLimits(server, { maxClients: 9 }),
          8,
          7,
          'srv-clients-set',
          server,
          '--max-clients',
          '9',
        );
        await sameError(() => admin.lookupServer('nosuch'), 95, 7, 'srv-clients-set', 'nosuch', '--max-clients', '9');
        await assert.rejects(admin.setClientLimits('nosuch', { maxClients: 9 }), NO_SERVER_62);
      } finally {
        await admin.setClientLimits(server, {
          maxClients: original.maxClients,
          maxUnauthClients: original.maxUnauthClients,
        });
      }
      const restored = await admin.getClientLimits(server);
      assert.deepEqual(
        [restored.maxClients, restored.maxUnauthClients],
        [original.maxClients, original.maxUnauthClients],
      );
    });

    it('14, 16 logging outputs: ours agree with virt-admin daemon-log-outputs, both ways', async () => {
      const original = await admin.getLoggingOutputs();
      assert.equal(virtAdminLine(await virtAdmin('daemon-log-outputs'), 'Logging outputs'), original.outputs);
      assert.ok(original.count >= 1);
      try {
        // A repeated destination replaces the earlier one.
        await admin.setLoggingOutputs('4:stderr 3:stderr');
        assert.equal(virtAdminLine(await virtAdmin('daemon-log-outputs'), 'Logging outputs'), '3:stderr');
        assert.deepEqual(await admin.getLoggingOutputs(), { outputs: '3:stderr', count: 1 });
        await virtAdmin('daemon-log-outputs', '--outputs', '2:stderr');
        assert.deepEqual(await admin.getLoggingOutputs(), { outputs: '2:stderr', count: 1 });
        for (const bad of ['foo', '9:stderr', '1:nowhere', '1:file', '1:stderr:extra']) {
          await sameError(() => admin.setLoggingOutputs(bad), 8, 0, 'daemon-log-outputs', '--outputs', bad);
        }
      } finally {
        await admin.setLoggingOutputs(original.outputs);
      }
      assert.deepEqual(await admin.getLoggingOutputs(), original);
    });

    it('15, 17 logging filters: ours agree with virt-admin daemon-log-filters, both ways', async () => {
      const original = await admin.getLoggingFilters();
      assert.equal(virtAdminLine(await virtAdmin('daemon-log-filters'), 'Logging filters'), original.filters ?? '');
      try {
        await admin.setLoggingFilters('4:event 3:remote');
        assert.equal(virtAdminLine(await virtAdmin('daemon-log-filters'), 'Logging filters'), '4:*event* 3:*remote* ');
        assert.deepEqual(await admin.getLoggingFilters(), { filters: '4:*event* 3:*remote* ', count: 2 });
        await virtAdmin('daemon-log-filters', '--filters', '1:util');
        assert.deepEqual(await admin.getLoggingFilters(), { filters: '1:*util* ', count: 1 });
        await admin.setLoggingFilters('');
        assert.deepEqual(await admin.getLoggingFilters(), { filters: null, count: 0 });
        assert.equal(virtAdminLine(await virtAdmin('daemon-log-filters'), 'Logging filters'), '');
        for (const bad of ['bad', '9:x', '1:', '1:+']) {
          await sameError(() => admin.setLoggingFilters(bad), 8, 0, 'daemon-log-filters', '--filters', bad);
        }
      } finally {
        await admin.setLoggingFilters(unwrapFilters(original.filters));
      }
      assert.deepEqual(await admin.getLoggingFilters(), original);
    });

    it('18 UPDATE_TLS_FILES fails like virt-admin srv-update-tls without a TLS listener', async () => {
      for (const { name } of await admin.listServers()) {
        await sameError(() => admin.updateTlsFiles(name), 1, 7, 'srv-update-tls', name);
      }
      await sameError(() => admin.updateTlsFiles('nosuch'), 95, 7, 'srv-update-tls', 'nosuch');
    });

    it('19 SET_DAEMON_TIMEOUT accepts what virt-admin daemon-timeout accepts', async () => {
      await admin.setDaemonTimeout(3600);
      await admin.setDaemonTimeout(0);
      await virtAdmin('daemon-timeout', '--timeout', '0');
    });

    it('20 DAEMON_SHUTDOWN: unsupported before libvirt 11.2.0; from 11.2.0 the daemon quits, closing the connection without a reply', async () => {
      const { number } = await admin.getLibVersion();
      if (number < 11_002_000) {
        await assert.rejects(admin.daemonShutdown(), (e: unknown) => {
          assert.ok(e instanceof UnsupportedProcedureError);
          assert.equal(e.libvirtCode, 39);
          assert.match(e.message, /unknown procedure: 20/);
          return true;
        });
        assert.equal((await admin.getLibVersion()).number, number);
      } else {
        // A daemon that has it: shutting down a fresh target must make virt-admin fail to connect. libvirt 11.3
        // never replies: it closes every connection as it quits (docs/libvirt-versions.md).
        const fresh = await startTarget();
        try {
          const c = await AdminClient.connect(fresh.adminUri);
          assert.equal(await c.daemonShutdown(), 'connection-closed');
          assert.ok(c.closed);
          await eventually(
            async () => (await fresh.virtAdmin('version')).code !== 0,
            'the daemon to shut down',
            15_000,
            500,
          );
        } finally {
          await fresh.stop();
        }
      }
    });

    it('every procedure with flags refuses non-zero flags like libvirt (proc 5 ignores them)', async () => {
      const { raw, ref } = await connectClient(target.readOnlyClientSocket);
      const srv = { name: server };
      try {
        const outputs = (await admin.getLoggingOutputs()).outputs;
        const cases: [Promise<unknown>, string][] = [
          [admin.call(P.connectListServers, { needResults: true, flags: 1 }), 'adminConnectListServers'],
          [
            admin.call(P.serverGetThreadpoolParameters, { server: srv, flags: 1 }),
            'adminServerGetThreadPoolParameters',
          ],
          [
            admin.call(P.serverSetThreadpoolParameters, { server: srv, params: [], flags: 1 }),
            'adminServerSetThreadPoolParameters',
          ],
          [admin.call(P.serverListClients, { server: srv, needResults: true, flags: 1 }), 'adminServerListClients'],
          [admin.call(P.serverLookupClient, { server: srv, id: ref.id, flags: 1 }), 'adminServerLookupClient'],
          [admin.call(P.clientGetInfo, { client: ref, flags: 1 }), 'adminClientGetInfo'],
          [admin.call(P.clientClose, { client: ref, flags: 2 }), 'adminClientClose'],
          [admin.call(P.serverGetClientLimits, { server: srv, flags: 1 }), 'adminServerGetClientLimits'],
          [admin.call(P.serverSetClientLimits, { server: srv, params: [], flags: 1 }), 'adminServerSetClientLimits'],
          [admin.call(P.connectGetLoggingOutputs, { flags: 1 }), 'adminConnectGetLoggingOutputs'],
          [admin.call(P.connectGetLoggingFilters, { flags: 1 }), 'adminConnectGetLoggingFilters'],
          [admin.call(P.connectSetLoggingOutputs, { outputs, flags: 1 }), 'adminConnectSetLoggingOutputs'],
          [admin.call(P.connectSetLoggingFilters, { filters: null, flags: 1 }), 'adminConnectSetLoggingFilters'],
          [admin.call(P.serverUpdateTlsFiles, { server: srv, flags: 1 }), 'adminServerUpdateTlsFiles'],
          [admin.call(P.connectSetDaemonTimeout, { timeout: 0, flags: 1 }), 'adminConnectSetDaemonTimeout'],
        ];
        // The calls run concurrently: take every outcome now, so no rejection waits unhandled for its turn.
        const outcomes = await Promise.allSettled(cases.map(([call]) => call));
        for (const [i, [, fn]] of cases.entries()) {
          const flags = fn === 'adminClientClose' ? '0x2' : '0x1';
          const outcome = outcomes[i]!;
          await assert.rejects(
            outcome.status === 'rejected' ? Promise.reject(outcome.reason) : Promise.resolve(outcome.value),
            libvirtError(8, 62, `unsupported flags (${flags}) in function ${fn}`),
          );
        }
        assert.deepEqual(await admin.call(P.connectLookupServer, { name: server, flags: 7 }), { server: srv });
        assert.equal(raw.isEnded, false);
      } finally {
        raw.close();
      }
    });
  });

  describe(`admin contract: ${targetName}: daemon timeout takes effect`, () => {
    let target: AdminTarget | undefined;
    after(() => target?.stop());

    it('19: a timeout set to 0 again keeps the daemon; a timeout left set makes it quit once idle', async () => {
      target = await startTarget();
      const t = target;
      const admin = await AdminClient.connect(t.adminUri);
      await admin.setDaemonTimeout(1);
      await admin.setDaemonTimeout(0);
      await admin.close();
      // A negative, shown by watching past the 1 s it would have waited; virt-admin's own connection would count as
      // a client, so the daemon is asked only afterwards.
      await holdsFor('the daemon stays with its timeout reset to 0', 2500);
      assert.equal((await t.virtAdmin('version')).code, 0, 'the daemon quit although the timeout was reset to 0');

      const again = await AdminClient.connect(t.adminUri);
      await again.setDaemonTimeout(1);
      await again.close();
      // virt-admin's own connection counts as a client, so poll slowly enough to leave the daemon idle.
      let last: VirtAdminResult | undefined;
      await eventually(
        async () => {
          last = await t.virtAdmin('version');
          return last.code !== 0;
        },
        'the daemon to quit after 1 s without clients',
        20_000,
        2000,
      );
      assert.match(last!.stderr, /Failed to connect/);
    });
  });
}
