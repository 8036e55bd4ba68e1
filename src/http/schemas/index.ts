import { LibvirtErrorInfo, Problem } from './common.js';
import { ClientIdentity, ClientList, ClientSummary } from './clients.js';
import { Connection, Daemon, DaemonList, DaemonSummary, Health, Index } from './daemons.js';
import { ClientLimits } from '../../resources/client-limits.js';
import { LogFilter, LogOutput, Logging } from '../../resources/logging.js';
import { Threadpool } from '../../resources/threadpool.js';
import { activitySchemas } from './activity.js';
import { eventSchemas } from './events.js';
import { Readiness, ReadinessDetails } from './monitoring.js';
import { Server, ServerList, ServerSummary } from './servers.js';

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
  ...activitySchemas,
  ...eventSchemas,
] as const;
