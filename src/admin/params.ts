import { InvalidArgumentError } from '../rpc/errors.js';
import { TypedParamType } from './constants.js';
import type { TypedParam } from './types.js';

/**
 * Typed parameter lists as plain objects. Known fields get names of their own; fields a newer daemon sends that
 * we do not know are kept in `extra` as they came, never dropped.
 */

/** Threadpool figures of a server (VIR_THREADPOOL_* in libvirt-admin.h). */
export interface ThreadpoolParams {
  minWorkers: number;
  maxWorkers: number;
  /** Workers that exist now. */
  nWorkers: number;
  /** Workers idle now. */
  freeWorkers: number;
  prioWorkers: number;
  /** Jobs waiting for a worker. */
  jobQueueDepth: number;
  extra: TypedParam[];
}

/**
 * The settable part of a threadpool (virThreadPoolNewFull's min_workers, max_workers, prio_workers): what the
 * embedded daemon's pool is built with, what a PATCH changes, what ETags and `threadpool.changed` are made of.
 */
export interface ThreadpoolSettings {
  minWorkers: number;
  maxWorkers: number;
  prioWorkers: number;
}

/** New values for SERVER_SET_THREADPOOL_PARAMETERS; an omitted field keeps its value (libvirt's -1). */
export type ThreadpoolParamsChange = Partial<ThreadpoolSettings>;

/** Client limits and counts of a server (VIR_SERVER_CLIENTS_* in libvirt-admin.h). */
export interface ClientLimitParams {
  /** nclients_max */
  maxClients: number;
  /** nclients */
  clients: number;
  /** nclients_unauth_max */
  maxUnauthClients: number;
  /** nclients_unauth */
  unauthClients: number;
  extra: TypedParam[];
}

/** The client limits that can be changed. */
export interface ClientLimitParamsChange {
  maxClients?: number;
  maxUnauthClients?: number;
}

/** Identity of a connected client (VIR_CLIENT_INFO_* in libvirt-admin.h); fields are present when known. */
export interface ClientInfoParams {
  readonly?: boolean;
  saslUserName?: string;
  sockAddr?: string;
  x509DistinguishedName?: string;
  unixUserId?: number;
  unixUserName?: string;
  unixGroupId?: number;
  unixGroupName?: string;
  unixProcessId?: number;
  selinuxContext?: string;
  extra: TypedParam[];
}

/** Wire names of the threadpool fields, in the order libvirtd sends them. */
export const THREADPOOL_FIELDS = {
  minWorkers: 'minWorkers',
  maxWorkers: 'maxWorkers',
  nWorkers: 'nWorkers',
  freeWorkers: 'freeWorkers',
  prioWorkers: 'prioWorkers',
  jobQueueDepth: 'jobQueueDepth',
} as const;

/** Wire names of the client-limit fields, in the order libvirtd sends them. */
export const CLIENT_LIMIT_FIELDS = {
  maxClients: 'nclients_max',
  clients: 'nclients',
  maxUnauthClients: 'nclients_unauth_max',
  unauthClients: 'nclients_unauth',
} as const;

/** Wire names and types of the client-info fields, in the order libvirtd sends them. */
export const CLIENT_INFO_FIELDS = {
  readonly: ['readonly', TypedParamType.BOOLEAN],
  saslUserName: ['sasl_user_name', TypedParamType.STRING],
  sockAddr: ['sock_addr', TypedParamType.STRING],
  x509DistinguishedName: ['tls_x509_dname', TypedParamType.STRING],
  unixUserId: ['unix_user_id', TypedParamType.INT],
  unixUserName: ['unix_user_name', TypedParamType.STRING],
  unixGroupId: ['unix_group_id', TypedParamType.INT],
  unixGroupName: ['unix_group_name', TypedParamType.STRING],
  unixProcessId: ['unix_process_id', TypedParamType.INT],
  selinuxContext: ['selinux_context', TypedParamType.STRING],
} as const;

/** Map uint fields by wire name; anything else (another name or type) goes to `extra`. */
function pickUints<K extends string>(
  params: TypedParam[],
  names: Record<K, string>,
): Partial<Record<K, number>> & { extra: TypedParam[] } {
  const byWire = new Map(Object.entries<string>(names).map(([key, wire]) => [wire, key]));
  const known: Record<string, number> = {};
  const extra: TypedParam[] = [];
  for (const p of params) {
    const key = byWire.get(p.field);
    if (key !== undefined && (p.type === TypedParamType.UINT || p.type === TypedParamType.INT)) known[key] = p.value;
    else extra.push(p);
  }
  return { ...(known as Partial<Record<K, number>>), extra };
}

/** Threadpool parameters as libvirtd returns them, as an object. */
export function threadpoolFromParams(params: TypedParam[]): ThreadpoolParams {
  return {
    minWorkers: 0,
    maxWorkers: 0,
    nWorkers: 0,
    freeWorkers: 0,
    prioWorkers: 0,
    jobQueueDepth: 0,
    ...pickUints(params, THREADPOOL_FIELDS),
  };
}

/** Client limits as libvirtd returns them, as an object. */
export function clientLimitsFromParams(params: TypedParam[]): ClientLimitParams {
  return {
    maxClients: 0,
    clients: 0,
    maxUnauthClients: 0,
    unauthClients: 0,
    ...pickUints(params, CLIENT_LIMIT_FIELDS),
  };
}

/** Client info parameters as an object. */
export function clientInfoFromParams(params: TypedParam[]): ClientInfoParams {
  const known = new Map<string, { key: string; type: number }>(
    Object.entries(CLIENT_INFO_FIELDS).map(([key, [wire, type]]) => [wire, { key, type }]),
  );
  const out: ClientInfoParams = { extra: [] };
  for (const p of params) {
    const k = known.get(p.field);
    if (k && k.type === p.type) (out as unknown as Record<string, unknown>)[k.key] = p.value;
    else out.extra.push(p);
  }
  return out;
}

/** Client info as typed parameters, in libvirtd's order (used by the embedded daemon). */
export function clientInfoToParams(info: Omit<ClientInfoParams, 'extra'>): TypedParam[] {
  const params: TypedParam[] = [];
  for (const [key, [field, type]] of Object.entries(CLIENT_INFO_FIELDS)) {
    const value = (info as Record<string, unknown>)[key];
    if (value !== undefined) params.push({ field, type, value } as TypedParam);
  }
  return params;
}

function uintParam(field: string, value: number): TypedParam {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new InvalidArgumentError(`${field} must be an unsigned 32-bit integer, got ${value}`);
  }
  return { field, type: TypedParamType.UINT, value };
}

/** uint fields as typed parameters, in the order of `names` (libvirtd's). */
function uintsToParams<K extends string>(names: Record<K, string>, values: Record<K, number>): TypedParam[] {
  return (Object.keys(names) as K[]).map((key) => uintParam(names[key], values[key]));
}

/** Threadpool figures as libvirtd sends them (used by the embedded daemon). */
export function threadpoolToParams(figures: Omit<ThreadpoolParams, 'extra'>): TypedParam[] {
  return uintsToParams(THREADPOOL_FIELDS, figures);
}

/** Client limits and counts as libvirtd sends them (used by the embedded daemon). */
export function clientLimitsToParams(limits: Omit<ClientLimitParams, 'extra'>): TypedParam[] {
  return uintsToParams(CLIENT_LIMIT_FIELDS, limits);
}

/** The SET parameters for a threadpool change, in the order virt-admin sends them (max, min, prio). */
export function threadpoolChangeToParams(change: ThreadpoolParamsChange): TypedParam[] {
  const params: TypedParam[] = [];
  if (change.maxWorkers !== undefined) params.push(uintParam(THREADPOOL_FIELDS.maxWorkers, change.maxWorkers));
  if (change.minWorkers !== undefined) params.push(uintParam(THREADPOOL_FIELDS.minWorkers, change.minWorkers));
  if (change.prioWorkers !== undefined) params.push(uintParam(THREADPOOL_FIELDS.prioWorkers, change.prioWorkers));
  return params;
}

/** The SET parameters for a client-limits change, in the order virt-admin sends them (max, unauth max). */
export function clientLimitsChangeToParams(change: ClientLimitParamsChange): TypedParam[] {
  const params: TypedParam[] = [];
  if (change.maxClients !== undefined) params.push(uintParam(CLIENT_LIMIT_FIELDS.maxClients, change.maxClients));
  if (change.maxUnauthClients !== undefined) {
    params.push(uintParam(CLIENT_LIMIT_FIELDS.maxUnauthClients, change.maxUnauthClients));
  }
  return params;
}
