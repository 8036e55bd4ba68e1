import type { ChangePolicy } from '../resources/change-policy.js';
import { toProblem } from '../http/problems.js';
import { partsOf, type Part } from './parts.js';
import type { DesiredState } from './schema.js';

/** A part of a document and the change it sends, once the policy approved it. */
export interface PreparedPart extends Part {
  prepared: object;
}

/** One reason a document is refused. */
export interface Refusal {
  path: string;
  message: string;
}

/**
 * A document libvirt would refuse, or that the gateway's policy refuses: refused as a whole (400), nothing applied.
 * The message names every reason with its path.
 */
export class DesiredStateRefusedError extends Error {
  override readonly name = 'DesiredStateRefusedError';
  readonly code = 'ERR_INVALID_ARGUMENT';
  readonly statusCode = 400;
  constructor(readonly refusals: readonly Refusal[]) {
    super(`desired state refused, nothing applied: ${refusals.map((r) => `${r.path}: ${r.message}`).join('; ')}`);
  }
}

/**
 * Checks a document part by part: first the rules libvirt applies to a declared pair (so a document cannot be
 * accepted that every daemon would refuse), then the resource's own policy check (`prepare`: worker ceiling, log
 * output directories and syntax, admin lock-out). Returns every part prepared, or throws DesiredStateRefusedError
 * with every reason.
 */
export async function prepareDocument(
  daemon: string,
  doc: DesiredState,
  policy: ChangePolicy,
): Promise<PreparedPart[]> {
  const refusals: Refusal[] = [];
  const prepared: PreparedPart[] = [];
  for (const part of partsOf(daemon, doc)) {
    const own = libvirtRules(part);
    if (own.length > 0) {
      refusals.push(...own);
      continue;
    }
    try {
      prepared.push({ ...part, prepared: (await part.resource.prepare(part.declared, part.target, policy)) as object });
    } catch (err) {
      // Only refusals of the request are the document's fault; anything else is ours and propagates.
      if (toProblem(err, part.path).problem.status >= 500) throw err;
      refusals.push({ path: part.path, message: (err as Error).message });
    }
  }
  if (refusals.length > 0) throw new DesiredStateRefusedError(refusals);
  return prepared;
}

/** What libvirt refuses in a declared pair, in its words where it has them (src/util/virthreadpool.c, virnetserver.c). */
function libvirtRules(part: Part): Readonly<Refusal[]> {
  const d = part.declared as {
    minWorkers?: number;
    maxWorkers?: number;
    maxClients?: number;
    maxUnauthClients?: number;
    outputs?: unknown;
  };
  const out: Refusal[] = [];
  if (part.resource.name === 'threadpool') {
    if (d.minWorkers !== undefined && d.maxWorkers !== undefined && d.minWorkers > d.maxWorkers) {
      out.push({ path: `${part.path}/minWorkers`, message: 'minWorkers cannot be larger than maxWorkers' });
    }
    // A pool's maxWorkers never switches between zero and non-zero; every daemon pool runs with some workers.
    if (d.maxWorkers === 0)
      out.push({
        path: `${part.path}/maxWorkers`,
        message: 'maxWorkers must not be switched from zero to non-zero and vice versa',
      });
  }
  if (
    part.resource.name === 'client-limits' &&
    d.maxClients !== undefined &&
    d.maxUnauthClients !== undefined &&
    d.maxClients < d.maxUnauthClients
  ) {
    out.push({
      path: `${part.path}/maxClients`,
      message:
        'The overall maximum number of clients must not be less than the number of clients waiting for authentication',
    });
  }
  if (part.resource.name === 'logging' && (d.outputs === '' || (Array.isArray(d.outputs) && d.outputs.length === 0))) {
    // "" asks for the daemon's default output, which the admin API cannot name beforehand: it could never be compared.
    out.push({
      path: `${part.path}/outputs`,
      message: 'declare the outputs explicitly: "" (the daemon\'s default output) cannot be kept',
    });
  }
  return out;
}
