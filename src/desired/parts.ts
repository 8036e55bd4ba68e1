/**
 * A desired-state document cut into parts, one per resource instance it manages (a server's threadpool, a server's
 * client limits, the daemon's logging), each with its resource declaration from src/resources/. Reading, comparing
 * and applying a part is what the API does for that resource, so the same policy checks hold.
 */
import { parseFiltersReply } from '../admin/logging/filters.js';
import { parseOutputsReply, type VirLogOutput } from '../admin/logging/outputs.js';
import { clientLimits } from '../resources/client-limits.js';
import { logging, type LoggingStrings } from '../resources/logging.js';
import type { AnySettingsResource, ResourceTarget } from '../resources/resource.js';
import { threadpool } from '../resources/threadpool.js';
import { readFilters, readOutputs } from '../security/log-strings.js';
import type { DesiredState, Difference } from './schema.js';

/** One managed resource instance of a document. */
export interface Part {
  /** JSON pointer of the part in the document: `/servers/libvirtd/threadpool`, `/logging`. */
  path: string;
  resource: AnySettingsResource;
  target: ResourceTarget;
  /** The part as declared: a body the resource's change operation accepts. */
  declared: Record<string, unknown>;
}

/**
 * The parts of a document, in the order a reconciliation applies them: each server's threadpool, then its client
 * limits, then the daemon's logging. Within a part every declared field goes in one call, and libvirt checks the
 * resulting pair (virThreadPoolSetParameters: min ≤ max; virNetServerSetClientLimits: unauth ≤ max), so there is no
 * order to keep between minWorkers and maxWorkers: the call is accepted when the declared pair is consistent.
 */
export function partsOf(daemon: string, doc: DesiredState): Part[] {
  const parts: Part[] = [];
  for (const [server, settings] of Object.entries(doc.servers ?? {})) {
    const target = { daemon, server };
    if (settings.threadpool)
      parts.push({
        path: `/servers/${server}/threadpool`,
        resource: threadpool,
        target,
        declared: settings.threadpool,
      });
    if (settings.clientLimits) {
      parts.push({
        path: `/servers/${server}/clientLimits`,
        resource: clientLimits,
        target,
        declared: settings.clientLimits,
      });
    }
  }
  if (doc.logging) parts.push({ path: '/logging', resource: logging, target: { daemon }, declared: doc.logging });
  return parts;
}

/** The differences between a part as prepared (what would be sent) and the daemon's settings now. */
export function differencesOf(part: Part, prepared: object, actual: Record<string, unknown>): Difference[] {
  if (part.resource === logging)
    return loggingDifferences(part.path, prepared, actual as { outputs: string; filters: string });
  const out: Difference[] = [];
  for (const [field, desired] of Object.entries(prepared)) {
    if (actual[field] !== desired) out.push({ path: `${part.path}/${field}`, desired, actual: actual[field] ?? null });
  }
  return out;
}

// Logging is compared as the daemon reads it, not as text: the daemon reports filters as `3:*remote* ` for a
// declared `3:remote`, and file paths in canonical form.
function loggingDifferences(
  path: string,
  prepared: LoggingStrings,
  actual: { outputs: string; filters: string },
): Difference[] {
  const out: Difference[] = [];
  if (prepared.outputs !== undefined) {
    const desired = (readOutputs(prepared.outputs).outputs ?? []).map(outputKey).join(' ');
    if (desired !== parseOutputsReply(actual.outputs).map(outputKey).join(' ')) {
      out.push({ path: `${path}/outputs`, desired: prepared.outputs, actual: actual.outputs });
    }
  }
  if (prepared.filters !== undefined) {
    const desired = readFilters(prepared.filters)
      .map((f) => `${f.level}:${f.match}`)
      .join(' ');
    if (
      desired !==
      parseFiltersReply(actual.filters)
        .map((f) => `${f.level}:${f.match}`)
        .join(' ')
    ) {
      out.push({ path: `${path}/filters`, desired: prepared.filters, actual: actual.filters });
    }
  }
  return out;
}

function outputKey(o: VirLogOutput): string {
  return `${o.level}:${o.destination}:${o.path ?? o.ident ?? ''}`;
}
