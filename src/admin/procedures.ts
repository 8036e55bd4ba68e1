import { voidCodec, type Codec } from '../xdr/index.js';
import type { ProcedureSpec } from '../rpc/client.js';
import { ADMIN_PROGRAM, ADMIN_PROTOCOL_VERSION, AdminLimits, AdminProc } from './constants.js';
import {
  adminString,
  arrayOf,
  clientCodec,
  needResults,
  optionalAdminString,
  serverCodec,
  struct,
  typedParamsCodec,
  uhyper,
  uint,
} from './codecs.js';
import type { ClientRef, ServerRef, TypedParam } from './types.js';

/**
 * The procedure table of the admin program: number, argument codec and result codec of every procedure, in the
 * wire order of src/admin/admin_protocol.x. The client and the embedded daemon both use it, so the two can never
 * disagree; the contract tests against the real libvirtd keep it honest.
 */

/** `{ u32 flags }`, the argument of several procedures. */
export interface FlagsArgs {
  flags: number;
}
export interface ListArgs {
  needResults: boolean;
  flags: number;
}
export interface ServerArgs {
  server: ServerRef;
  flags: number;
}
export interface SetParamsArgs {
  server: ServerRef;
  params: TypedParam[];
  flags: number;
}
export interface ClientArgs {
  client: ClientRef;
  flags: number;
}

const flagsArgs = struct<FlagsArgs>([['flags', uint]]);
const serverArgs = struct<ServerArgs>([
  ['server', serverCodec],
  ['flags', uint],
]);
const clientArgs = struct<ClientArgs>([
  ['client', clientCodec],
  ['flags', uint],
]);
const setParamsArgs = (max: number) =>
  struct<SetParamsArgs>([
    ['server', serverCodec],
    ['params', typedParamsCodec(max)],
    ['flags', uint],
  ]);
const listArgs = struct<ListArgs>([
  ['needResults', needResults],
  ['flags', uint],
]);

/** Make a table entry of the admin program. */
function proc<A, R>(name: string, number: AdminProc, args: Codec<A>, ret: Codec<R>): ProcedureSpec<A, R> {
  return { name, prog: ADMIN_PROGRAM, vers: ADMIN_PROTOCOL_VERSION, proc: number, args, ret };
}

/** Every admin procedure, keyed by a camel-case name. */
export const adminProcedures = {
  connectOpen: proc('CONNECT_OPEN', AdminProc.CONNECT_OPEN, flagsArgs, voidCodec),
  connectClose: proc('CONNECT_CLOSE', AdminProc.CONNECT_CLOSE, voidCodec, voidCodec),
  connectGetLibVersion: proc(
    'CONNECT_GET_LIB_VERSION',
    AdminProc.CONNECT_GET_LIB_VERSION,
    voidCodec,
    struct<{ libVer: bigint }>([['libVer', uhyper]]),
  ),
  connectListServers: proc(
    'CONNECT_LIST_SERVERS',
    AdminProc.CONNECT_LIST_SERVERS,
    listArgs,
    struct<{ servers: ServerRef[]; ret: number }>([
      ['servers', arrayOf(AdminLimits.SERVER_LIST_MAX, serverCodec)],
      ['ret', uint],
    ]),
  ),
  connectLookupServer: proc(
    'CONNECT_LOOKUP_SERVER',
    AdminProc.CONNECT_LOOKUP_SERVER,
    struct<{ name: string; flags: number }>([
      ['name', adminString],
      ['flags', uint],
    ]),
    struct<{ server: ServerRef }>([['server', serverCodec]]),
  ),
  serverGetThreadpoolParameters: proc(
    'SERVER_GET_THREADPOOL_PARAMETERS',
    AdminProc.SERVER_GET_THREADPOOL_PARAMETERS,
    serverArgs,
    struct<{ params: TypedParam[] }>([['params', typedParamsCodec(AdminLimits.THREADPOOL_PARAMETERS_MAX)]]),
  ),
  serverSetThreadpoolParameters: proc(
    'SERVER_SET_THREADPOOL_PARAMETERS',
    AdminProc.SERVER_SET_THREADPOOL_PARAMETERS,
    setParamsArgs(AdminLimits.THREADPOOL_PARAMETERS_MAX),
    voidCodec,
  ),
  serverListClients: proc(
    'SERVER_LIST_CLIENTS',
    AdminProc.SERVER_LIST_CLIENTS,
    struct<{ server: ServerRef; needResults: boolean; flags: number }>([
      ['server', serverCodec],
      ['needResults', needResults],
      ['flags', uint],
    ]),
    struct<{ clients: ClientRef[]; ret: number }>([
      ['clients', arrayOf(AdminLimits.CLIENT_LIST_MAX, clientCodec)],
      ['ret', uint],
    ]),
  ),
  serverLookupClient: proc(
    'SERVER_LOOKUP_CLIENT',
    AdminProc.SERVER_LOOKUP_CLIENT,
    struct<{ server: ServerRef; id: bigint; flags: number }>([
      ['server', serverCodec],
      ['id', uhyper],
      ['flags', uint],
    ]),
    struct<{ client: ClientRef }>([['client', clientCodec]]),
  ),
  clientGetInfo: proc(
    'CLIENT_GET_INFO',
    AdminProc.CLIENT_GET_INFO,
    clientArgs,
    struct<{ params: TypedParam[] }>([['params', typedParamsCodec(AdminLimits.CLIENT_INFO_PARAMETERS_MAX)]]),
  ),
  clientClose: proc('CLIENT_CLOSE', AdminProc.CLIENT_CLOSE, clientArgs, voidCodec),
  serverGetClientLimits: proc(
    'SERVER_GET_CLIENT_LIMITS',
    AdminProc.SERVER_GET_CLIENT_LIMITS,
    serverArgs,
    struct<{ params: TypedParam[] }>([['params', typedParamsCodec(AdminLimits.CLIENT_LIMITS_MAX)]]),
  ),
  serverSetClientLimits: proc(
    'SERVER_SET_CLIENT_LIMITS',
    AdminProc.SERVER_SET_CLIENT_LIMITS,
    setParamsArgs(AdminLimits.CLIENT_LIMITS_MAX),
    voidCodec,
  ),
  connectGetLoggingOutputs: proc(
    'CONNECT_GET_LOGGING_OUTPUTS',
    AdminProc.CONNECT_GET_LOGGING_OUTPUTS,
    flagsArgs,
    struct<{ outputs: string; noutputs: number }>([
      ['outputs', adminString],
      ['noutputs', uint],
    ]),
  ),
  connectGetLoggingFilters: proc(
    'CONNECT_GET_LOGGING_FILTERS',
    AdminProc.CONNECT_GET_LOGGING_FILTERS,
    flagsArgs,
    struct<{ filters: string | null; nfilters: number }>([
      ['filters', optionalAdminString],
      ['nfilters', uint],
    ]),
  ),
  connectSetLoggingOutputs: proc(
    'CONNECT_SET_LOGGING_OUTPUTS',
    AdminProc.CONNECT_SET_LOGGING_OUTPUTS,
    struct<{ outputs: string | null; flags: number }>([
      ['outputs', optionalAdminString],
      ['flags', uint],
    ]),
    voidCodec,
  ),
  connectSetLoggingFilters: proc(
    'CONNECT_SET_LOGGING_FILTERS',
    AdminProc.CONNECT_SET_LOGGING_FILTERS,
    struct<{ filters: string | null; flags: number }>([
      ['filters', optionalAdminString],
      ['flags', uint],
    ]),
    voidCodec,
  ),
  serverUpdateTlsFiles: proc('SERVER_UPDATE_TLS_FILES', AdminProc.SERVER_UPDATE_TLS_FILES, serverArgs, voidCodec),
  connectSetDaemonTimeout: proc(
    'CONNECT_SET_DAEMON_TIMEOUT',
    AdminProc.CONNECT_SET_DAEMON_TIMEOUT,
    struct<{ timeout: number; flags: number }>([
      ['timeout', uint],
      ['flags', uint],
    ]),
    voidCodec,
  ),
  connectDaemonShutdown: proc('CONNECT_DAEMON_SHUTDOWN', AdminProc.CONNECT_DAEMON_SHUTDOWN, flagsArgs, voidCodec),
} as const;

/** The table keyed by procedure number, for the daemon's dispatcher. */
export const adminProceduresByNumber: ReadonlyMap<number, ProcedureSpec<unknown, unknown>> = new Map(
  Object.values(adminProcedures).map((p) => [p.proc, p as ProcedureSpec<unknown, unknown>]),
);
