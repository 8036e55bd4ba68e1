import { ADMIN_PROGRAM, ADMIN_PROTOCOL_VERSION, DaemonShutdownFlags, TypedParamType } from '../admin/constants.js';
import {
  CLIENT_LIMIT_FIELDS,
  THREADPOOL_FIELDS,
  clientInfoToParams,
  clientLimitsToParams,
  threadpoolToParams,
  type ClientInfoParams,
} from '../admin/params.js';
import { adminProcedures as P } from '../admin/procedures.js';
import type { ServerRef } from '../admin/types.js';
import { VirErrorDomain, VirErrorNumber, checkFlags, virError } from './errors.js';
import type { DaemonLog } from './log.js';
import { handler, type ProcedureHandler, type RpcProgram } from './program.js';
import type { NetServer } from './server.js';
import { cString, checkFieldNames, uintParam, validateTypedParams, type ParamSchema } from './typed-params.js';
import type { VersionTraits } from './versions.js';

/**
 * The admin program (src/admin/admin_server_dispatch.c and admin_server.c of libvirt 9.0.0): one handler per
 * procedure, with libvirt's order of checks and its errors. Note the two families of "not found" errors: the
 * generated dispatchers report virNetDaemonGetServer's own error (95/7 "No server named ..."), while the
 * hand-written ones for procs 7, 10 and 13 replace it with their own (95/62 "no server with matching name ...").
 */

/** What the admin program needs from the daemon. */
export interface AdminDaemon {
  /** Servers in listing order (libvirtd lists `libvirtd`, then `admin`). */
  readonly servers: readonly NetServer[];
  readonly log: DaemonLog;
  /** The version the daemon claims and what that changes. */
  readonly version: VersionTraits;
  setAutoShutdownTimeout(seconds: number): void;
  /**
   * CONNECT_DAEMON_SHUTDOWN: close every connection at once (the caller's too, so the call gets no reply, as in
   * libvirt 11.3), then quit.
   */
  requestShutdown(preserve: boolean): void;
}

const THREADPOOL_SCHEMA: ParamSchema = [
  [THREADPOOL_FIELDS.minWorkers, TypedParamType.UINT],
  [THREADPOOL_FIELDS.maxWorkers, TypedParamType.UINT],
  [THREADPOOL_FIELDS.prioWorkers, TypedParamType.UINT],
];
const CLIENT_LIMITS_SCHEMA: ParamSchema = [
  [CLIENT_LIMIT_FIELDS.maxClients, TypedParamType.UINT],
  [CLIENT_LIMIT_FIELDS.maxUnauthClients, TypedParamType.UINT],
];

/** Builds the admin program over a daemon. */
export function adminProgram(daemon: AdminDaemon): RpcProgram {
  const find = (name: string) => daemon.servers.find((s) => s.name === cString(name));
  // virNetDaemonGetServer's error.
  const server = (ref: ServerRef | string): NetServer => {
    const name = typeof ref === 'string' ? ref : ref.name;
    const found = find(name);
    if (!found) throw virError(VirErrorNumber.NO_SERVER, VirErrorDomain.RPC, `No server named '${cString(name)}'`);
    return found;
  };
  // The admin dispatchers' own error (procs 7, 10, 13).
  const adminServer = (ref: ServerRef): NetServer => {
    const found = find(ref.name);
    if (!found) {
      throw virError(
        VirErrorNumber.NO_SERVER,
        VirErrorDomain.ADMIN,
        `no server with matching name '${cString(ref.name)}' found`,
      );
    }
    return found;
  };

  const handlers: ProcedureHandler[] = [
    handler(P.connectOpen, ({ flags }) => checkFlags('adminDispatchConnectOpen', flags)),
    handler(P.connectClose, (_args, client) => client.closeAfterNextReply()),
    handler(P.connectGetLibVersion, () => ({ libVer: BigInt(daemon.version.libVersion) })),
    handler(P.connectListServers, ({ needResults, flags }) => {
      checkFlags('adminConnectListServers', flags);
      const servers = daemon.servers.map((s) => ({ name: s.name }));
      return { servers: needResults ? servers : [], ret: servers.length };
    }),
    // adminConnectLookupServer calls virCheckFlags(flags, NULL): every flag passes.
    handler(P.connectLookupServer, ({ name }) => ({ server: { name: server(name).name } })),
    handler(P.serverGetThreadpoolParameters, ({ server: ref, flags }) => {
      const srv = server(ref);
      checkFlags('adminServerGetThreadPoolParameters', flags);
      return { params: threadpoolToParams(srv.pool.figures()) };
    }),
    handler(P.serverSetThreadpoolParameters, ({ server: ref, params, flags }) => {
      const srv = adminServer(ref);
      checkFieldNames(params);
      checkFlags('adminServerSetThreadPoolParameters', flags);
      validateTypedParams(params, THREADPOOL_SCHEMA);
      srv.pool.setParameters({
        minWorkers: uintParam(params, THREADPOOL_FIELDS.minWorkers),
        maxWorkers: uintParam(params, THREADPOOL_FIELDS.maxWorkers),
        prioWorkers: uintParam(params, THREADPOOL_FIELDS.prioWorkers),
      });
    }),
    handler(P.serverListClients, ({ server: ref, needResults, flags }) => {
      const srv = server(ref);
      checkFlags('adminServerListClients', flags);
      const clients = srv.clients().map((c) => c.ref());
      return { clients: needResults ? clients : [], ret: clients.length };
    }),
    handler(P.serverLookupClient, ({ server: ref, id, flags }) => {
      const srv = server(ref);
      checkFlags('adminServerLookupClient', flags);
      return { client: srv.client(id).ref() };
    }),
    handler(P.clientGetInfo, async ({ client: ref, flags }) => {
      const srv = adminServer(ref.server);
      const target = (() => {
        try {
          return srv.client(ref.id);
        } catch {
          throw virError(
            VirErrorNumber.NO_CLIENT,
            VirErrorDomain.ADMIN,
            `no client with matching id '${ref.id}' found`,
          );
        }
      })();
      checkFlags('adminClientGetInfo', flags);
      const identity = await target.identity();
      if (!identity) {
        throw virError(
          VirErrorNumber.INTERNAL_ERROR,
          VirErrorDomain.RPC,
          'No identity information available for client',
        );
      }
      const info: Omit<ClientInfoParams, 'extra'> = { readonly: target.readonly };
      const creds = identity.creds;
      // A unix client's uid, names, gid and pid, when the OS told us who the peer is.
      if (creds) {
        info.unixUserId = creds.uid;
        if (creds.userName !== undefined) info.unixUserName = creds.userName;
        info.unixGroupId = creds.gid;
        if (creds.groupName !== undefined) info.unixGroupName = creds.groupName;
        info.unixProcessId = creds.pid;
      }
      return { params: clientInfoToParams(info) };
    }),
    handler(P.clientClose, ({ client: ref, flags }) => {
      const target = server(ref.server).client(ref.id);
      checkFlags('adminClientClose', flags);
      // Closing one's own connection drops it: the reply is never written.
      target.close();
    }),
    handler(P.serverGetClientLimits, ({ server: ref, flags }) => {
      const srv = server(ref);
      checkFlags('adminServerGetClientLimits', flags);
      return { params: clientLimitsToParams(srv.limits()) };
    }),
    handler(P.serverSetClientLimits, ({ server: ref, params, flags }) => {
      const srv = adminServer(ref);
      checkFieldNames(params);
      checkFlags('adminServerSetClientLimits', flags);
      validateTypedParams(params, CLIENT_LIMITS_SCHEMA);
      srv.setClientLimits(
        uintParam(params, CLIENT_LIMIT_FIELDS.maxClients),
        uintParam(params, CLIENT_LIMIT_FIELDS.maxUnauthClients),
      );
    }),
    handler(P.connectGetLoggingOutputs, ({ flags }) => {
      checkFlags('adminConnectGetLoggingOutputs', flags);
      const { outputs, count } = daemon.log.getOutputs();
      return { outputs, noutputs: count };
    }),
    handler(P.connectGetLoggingFilters, ({ flags }) => {
      checkFlags('adminConnectGetLoggingFilters', flags);
      const { filters, count } = daemon.log.getFilters();
      return { filters, nfilters: count };
    }),
    handler(P.connectSetLoggingOutputs, ({ outputs, flags }) => {
      checkFlags('adminConnectSetLoggingOutputs', flags);
      daemon.log.setOutputs(outputs === null ? null : cString(outputs));
    }),
    handler(P.connectSetLoggingFilters, ({ filters, flags }) => {
      checkFlags('adminConnectSetLoggingFilters', flags);
      daemon.log.setFilters(filters === null ? null : cString(filters));
    }),
    handler(P.serverUpdateTlsFiles, ({ server: ref, flags }) => {
      server(ref);
      checkFlags('adminServerUpdateTlsFiles', flags);
      // The embedded daemon listens on unix sockets only, so no server has a TLS context to reload.
      throw virError(
        VirErrorNumber.INTERNAL_ERROR,
        VirErrorDomain.RPC,
        'no tls service found, unable to update tls files',
      );
    }),
    handler(P.connectSetDaemonTimeout, ({ timeout, flags }) => {
      checkFlags('adminConnectSetDaemonTimeout', flags);
      daemon.setAutoShutdownTimeout(timeout);
    }),
  ];
  if (daemon.version.daemonShutdown) {
    handlers.push(
      // libvirt 11.3 checks the flags (an error reply for any but PRESERVE), then quits: every connection closes,
      // this one included, before a reply could be written, so the caller sees the connection end instead.
      handler(P.connectDaemonShutdown, ({ flags }) => {
        checkFlags('adminConnectDaemonShutdown', flags, DaemonShutdownFlags.PRESERVE);
        daemon.requestShutdown((flags & DaemonShutdownFlags.PRESERVE) !== 0);
      }),
    );
  }
  return {
    prog: ADMIN_PROGRAM,
    vers: ADMIN_PROTOCOL_VERSION,
    procedures: new Map(handlers.map((h) => [h.spec.proc, h])),
  };
}
