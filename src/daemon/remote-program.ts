import { arrayOf, struct, uint } from '../admin/codecs.js';
import type { ProcedureSpec } from '../rpc/client.js';
import { voidCodec } from '../xdr/index.js';
import { handler, type RpcProgram } from './program.js';

/**
 * The one procedure of libvirt's remote program (src/remote/remote_protocol.x) that the embedded daemon serves
 * on its `libvirtd` server: REMOTE_PROC_AUTH_LIST, which every client must call first. On a socket with auth
 * "none" it answers [REMOTE_AUTH_NONE] and marks the client authenticated (remote_daemon_dispatch.c,
 * remoteDispatchAuthList). Until then libvirtd counts the client in nclients_unauth and has no identity for it.
 */

/** remote_protocol.x: REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION. */
export const REMOTE_PROGRAM = 0x20008086;
export const REMOTE_PROTOCOL_VERSION = 1;

/** remote_protocol.x: the procedure numbers served here. */
export const RemoteProc = {
  /** REMOTE_PROC_AUTH_LIST */
  AUTH_LIST: 66,
} as const;
export type RemoteProc = (typeof RemoteProc)[keyof typeof RemoteProc];

/** remote_protocol.x: remote_auth_type. */
export const RemoteAuthType = {
  /** REMOTE_AUTH_NONE */
  NONE: 0,
} as const;

// remote_protocol.x: REMOTE_AUTH_TYPE_LIST_MAX.
const AUTH_TYPE_LIST_MAX = 20;

/** remote_auth_list_ret. */
export interface AuthListRet {
  types: number[];
}

const authList: ProcedureSpec<void, AuthListRet> = {
  name: 'AUTH_LIST',
  prog: REMOTE_PROGRAM,
  vers: REMOTE_PROTOCOL_VERSION,
  proc: RemoteProc.AUTH_LIST,
  args: voidCodec,
  ret: struct<AuthListRet>([['types', arrayOf(AUTH_TYPE_LIST_MAX, uint)]]),
};

/** The remote program with AUTH_LIST only: every other procedure is "unknown procedure". */
export function remoteProgram(): RpcProgram {
  return {
    prog: REMOTE_PROGRAM,
    vers: REMOTE_PROTOCOL_VERSION,
    procedures: new Map([
      [
        RemoteProc.AUTH_LIST,
        handler(authList, (_args, client) => {
          client.authenticate();
          return { types: [RemoteAuthType.NONE] };
        }),
      ],
    ]),
  };
}
