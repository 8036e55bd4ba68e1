import { CLIENT_TRANSPORT_NAMES } from '../admin/constants.js';
import type { ClientInfoParams } from '../admin/params.js';
import type { ClientRef, TypedParam } from '../admin/types.js';
import type { ConnectionStatus } from '../gateway/daemon-connection.js';
import type { ClientIdentity } from './schemas/clients.js';

/**
 * How admin-client objects look in the API: camelCase names of our own, ISO 8601 times, transports by name.
 * Routes call these; the schemas describe the same shapes.
 */

/** A connection status as JSON. */
export function connectionJson(status: ConnectionStatus) {
  return {
    state: status.state,
    connectedSince: status.connectedSince?.toISOString() ?? null,
    lastError: status.lastError
      ? { code: status.lastError.code, message: status.lastError.message, at: status.lastError.at.toISOString() }
      : null,
    retryAt: status.retryAt?.toISOString() ?? null,
  };
}

/** The transport's name (`virClientTransport`), `unknown` for a number newer than ours. */
export function transportName(transport: number): 'unix' | 'tcp' | 'tls' | 'unknown' {
  return CLIENT_TRANSPORT_NAMES[transport] ?? 'unknown';
}

/**
 * Recently formatted connect times. A client list is asked for again and again with the same clients in it, and
 * formatting a date was the largest cost of a page of 1,000 clients; cleared when full, so it stays small.
 */
const formattedTimes = new Map<bigint, string>();
const FORMATTED_TIMES_MAX = 8192;

/** The client's connect time (Unix seconds) as ISO 8601. */
export function connectedAt(client: ClientRef): string {
  let text = formattedTimes.get(client.timestamp);
  if (text === undefined) {
    text = new Date(Number(client.timestamp) * 1000).toISOString();
    if (formattedTimes.size >= FORMATTED_TIMES_MAX) formattedTimes.clear();
    formattedTimes.set(client.timestamp, text);
  }
  return text;
}

/** A client id as a JSON number (ids are counters far below 2^53). */
export function clientId(client: ClientRef): number {
  return Number(client.id);
}

/** A client's identity: the lookup reply plus whatever CLIENT_GET_INFO reported. */
export function clientIdentityJson(client: ClientRef, info: ClientInfoParams): ClientIdentity {
  const out: ClientIdentity = {
    id: clientId(client),
    server: client.server.name,
    transport: transportName(client.transport),
    connectedAt: connectedAt(client),
  };
  if (info.readonly !== undefined) out.readonly = info.readonly;
  if (info.unixUserId !== undefined) out.unixUserId = info.unixUserId;
  if (info.unixUserName !== undefined) out.unixUserName = info.unixUserName;
  if (info.unixGroupId !== undefined) out.unixGroupId = info.unixGroupId;
  if (info.unixGroupName !== undefined) out.unixGroupName = info.unixGroupName;
  if (info.unixProcessId !== undefined) out.processId = info.unixProcessId;
  if (info.saslUserName !== undefined) out.saslUserName = info.saslUserName;
  if (info.x509DistinguishedName !== undefined) out.x509DistinguishedName = info.x509DistinguishedName;
  if (info.sockAddr !== undefined) out.socketAddress = info.sockAddr;
  if (info.selinuxContext !== undefined) out.selinuxContext = info.selinuxContext;
  if (info.extra.length > 0) out.otherParameters = Object.fromEntries(info.extra.map((p) => [p.field, paramValue(p)]));
  return out;
}

function paramValue(p: TypedParam): string | number | boolean {
  if (typeof p.value !== 'bigint') return p.value;
  return p.value <= BigInt(Number.MAX_SAFE_INTEGER) && p.value >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(p.value)
    : String(p.value);
}
