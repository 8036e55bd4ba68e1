import type { TypedParamType } from './constants.js';

/** admin_nonnull_server: a server is named, nothing else. */
export interface ServerRef {
  name: string;
}

/** admin_nonnull_client: a client of a server as listed by the daemon. */
export interface ClientRef {
  server: ServerRef;
  /** Per-server counter, never reused; u64 on the wire. */
  id: bigint;
  /** Connect time in Unix seconds (i64 on the wire). */
  timestamp: bigint;
  /** virClientTransport number (0 unix, 1 tcp, 2 tls). */
  transport: number;
}

/** One virTypedParameter: a named value whose type travels with it. */
export type TypedParam =
  | { field: string; type: typeof TypedParamType.INT | typeof TypedParamType.UINT; value: number }
  | { field: string; type: typeof TypedParamType.LLONG | typeof TypedParamType.ULLONG; value: bigint }
  | { field: string; type: typeof TypedParamType.DOUBLE; value: number }
  | { field: string; type: typeof TypedParamType.BOOLEAN; value: boolean }
  | { field: string; type: typeof TypedParamType.STRING; value: string };
