import { LibvirtErrorInfo, Problem } from './common.js';
import { ClientIdentity, ClientList, ClientSummary } from './clients.js';
import { Connection, Daemon, DaemonList, DaemonSummary, Health, Index } from './daemons.js';
import { LogFilter, LogOutput, Logging } from './logging.js';
import { Readiness, ReadinessDetails } from './monitoring.js';
import { ClientLimits, Server, ServerList, ServerSummary, Threadpool } from './servers.js';

/** Every schema with an $id: registered once with addSchema, they become the OpenAPI components. */
export const sharedSchemas = [
  LibvirtErrorInfo,
  Problem,
  Connection,
  DaemonSummary,
  DaemonList,
  Daemon,
  Index,
  Health,
  Readiness,
  ReadinessDetails,
  LogOutput,
  LogFilter,
  Logging,
  ServerSummary,
  ServerList,
  Threadpool,
  ClientLimits,
  Server,
  ClientSummary,
  ClientList,
  ClientIdentity,
] as const;
