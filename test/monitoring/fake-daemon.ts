// An in-memory daemon behind the DaemonSource interface, for the monitoring units: tests change its state
// directly (as virt-admin or a client would) and watch what the watcher, metrics or readiness make of it.
import type { AdminClient } from '../../src/admin/client.js';
import type { ClientInfoParams, ClientLimitParams, ThreadpoolParams } from '../../src/admin/params.js';
import type { ClientRef } from '../../src/admin/types.js';
import type { CallOptions } from '../../src/rpc/client.js';
import { ConnectError, LibvirtError } from '../../src/rpc/errors.js';
import type { DaemonSource } from '../../src/monitoring/source.js';

interface FakeServer {
  threadpool: ThreadpoolParams;
  limits: ClientLimitParams;
  clients: ClientRef[];
}

/** A libvirt error as the daemon would send it. */
export function libvirtError(code: number, message: string): LibvirtError {
  return new LibvirtError(message, {
    code,
    domain: 62,
    level: 2,
    str1: null,
    str2: null,
    str3: null,
    int1: -1,
    int2: -1,
  });
}

/** A daemon with the two servers of libvirtd and its defaults. */
export class FakeDaemon {
  readonly servers = new Map<string, FakeServer>();
  logging = { outputs: '3:stderr', filters: null as string | null };
  /** When set, every call fails as an unreachable daemon does. */
  down = false;
  /** When set, reads of the server list fail with this daemon error. */
  failWith: LibvirtError | undefined;
  /** Milliseconds each listServers takes (to hold a poll in flight). */
  listDelayMs = 0;
  /** Clients that made no call yet: libvirtd has no identity for them. */
  readonly anonymous = new Set<bigint>();
  /** Calls made, by method name. */
  readonly calls = new Map<string, number>();
  private nextId = 1;

  constructor(readonly name = 'libvirtd') {
    for (const [server, prio, unauth] of [
      ['libvirtd', 5, 20],
      ['admin', 0, 0],
    ] as const) {
      this.servers.set(server, {
        threadpool: {
          minWorkers: 5,
          maxWorkers: 20,
          nWorkers: 5,
          freeWorkers: 5,
          prioWorkers: prio,
          jobQueueDepth: 0,
          extra: [],
        },
        limits: { maxClients: 5000, clients: 0, maxUnauthClients: unauth, unauthClients: 0, extra: [] },
        clients: [],
      });
    }
  }

  /** Connect a client to a server; returns its ref. */
  connect(server: string, transport = 0): ClientRef {
    const ref: ClientRef = {
      server: { name: server },
      id: BigInt(this.nextId++),
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      transport,
    };
    this.server(server).clients.push(ref);
    return ref;
  }

  /** Disconnect a client. */
  disconnect(ref: ClientRef): void {
    const s = this.server(ref.server.name);
    s.clients = s.clients.filter((c) => c.id !== ref.id);
  }

  server(name: string): FakeServer {
    const s = this.servers.get(name);
    if (!s) throw libvirtError(95, `Server not found: No server named '${name}'`);
    return s;
  }

  /** The DaemonSource the monitoring code uses. */
  source(): DaemonSource {
    return {
      name: this.name,
      call: <T>(fn: (client: AdminClient, options: CallOptions) => Promise<T>): Promise<T> => {
        if (this.down)
          return Promise.reject(
            new ConnectError(`Failed to connect socket to '/run/${this.name}': Connection refused`),
          );
        return fn(this.client(), { timeoutMs: 1000 });
      },
    };
  }

  private count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  private client(): AdminClient {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- `d` reads as `this` in the arrows below; kept to keep test/ edits small
    const d = this;
    const answer = async <T>(method: string, value: () => T): Promise<T> => {
      d.count(method);
      await Promise.resolve();
      if (d.down) throw new ConnectError('connection closed');
      return value();
    };
    const client = {
      getLibVersion: () => answer('getLibVersion', () => ({ number: 9_000_000, text: '9.0.0' })),
      listServers: async () => {
        if (d.listDelayMs) await new Promise((r) => setTimeout(r, d.listDelayMs));
        if (d.failWith) throw d.failWith;
        return answer('listServers', () => [...d.servers.keys()].map((name) => ({ name })));
      },
      getLoggingOutputs: () => answer('getLoggingOutputs', () => ({ outputs: d.logging.outputs, count: 1 })),
      getLoggingFilters: () =>
        answer('getLoggingFilters', () => ({ filters: d.logging.filters, count: d.logging.filters ? 1 : 0 })),
      getThreadpool: (server: string) => answer('getThreadpool', () => ({ ...d.server(server).threadpool })),
      getClientLimits: (server: string) =>
        answer('getClientLimits', () => ({ ...d.server(server).limits, clients: d.server(server).clients.length })),
      listClients: (server: string) => answer('listClients', () => [...d.server(server).clients]),
      getClientInfo: (ref: ClientRef): Promise<ClientInfoParams> =>
        answer('getClientInfo', () => {
          if (!d.server(ref.server.name).clients.some((c) => c.id === ref.id)) {
            throw libvirtError(96, `Client not found: no client with matching id '${ref.id}' found`);
          }
          if (d.anonymous.has(ref.id))
            throw libvirtError(1, 'internal error: No identity information available for client');
          return {
            readonly: false,
            unixUserId: 0,
            unixUserName: 'root',
            unixProcessId: 1000 + Number(ref.id),
            extra: [],
          };
        }),
    };
    return client as unknown as AdminClient;
  }
}
