// How the fleet benchmark reads a daemon's settings behind its gateway's back: through our AdminClient, and through
// libvirt's own virt-admin (independent of our codec), each answering which declared settings the daemon lacks.
import { isDeepStrictEqual } from 'node:util';
import { AdminClient } from '../../src/admin/client.js';
import { parseFilters, parseFiltersReply } from '../../src/admin/logging/filters.js';
import type { DesiredState } from '../../src/desired/schema.js';
import { runVirtAdmin } from '../../test/harness/libvirtd.js';

/** A declared setting and what the daemon has instead. */
export interface Missing {
  path: string;
  desired: unknown;
  actual: unknown;
}

/** The declared settings of `doc` that the daemon behind `uri` does not have, read through our AdminClient. */
export async function differencesOnDaemon(uri: string, doc: DesiredState): Promise<Missing[]> {
  const admin = await AdminClient.connect(uri, { callTimeoutMs: 10_000, connectTimeoutMs: 10_000 });
  try {
    const out: Missing[] = [];
    for (const [server, settings] of Object.entries(doc.servers ?? {})) {
      if (settings.threadpool) {
        const actual = (await admin.getThreadpool(server)) as unknown as Record<string, unknown>;
        for (const [field, desired] of Object.entries(settings.threadpool)) {
          if (actual[field] !== desired)
            out.push({ path: `/servers/${server}/threadpool/${field}`, desired, actual: actual[field] });
        }
      }
      if (settings.clientLimits) {
        const actual = (await admin.getClientLimits(server)) as unknown as Record<string, unknown>;
        for (const [field, desired] of Object.entries(settings.clientLimits)) {
          if (actual[field] !== desired)
            out.push({ path: `/servers/${server}/clientLimits/${field}`, desired, actual: actual[field] });
        }
      }
    }
    const declaredFilters = doc.logging?.filters;
    if (declaredFilters !== undefined) {
      // FLEET_DOCUMENTS declare filters as text; the list form is not compared here.
      if (typeof declaredFilters !== 'string')
        throw new Error('differencesOnDaemon compares filters declared as text only');
      // The daemon answers `3:*remote* ` for a declared `3:remote` (glob form): compared as level and match.
      const { filters } = await admin.getLoggingFilters();
      const want = parseFilters(declaredFilters).map((f) => `${f.level}:${f.match}`);
      const have = parseFiltersReply(filters).map((f) => `${f.level}:${f.match}`);
      if (!isDeepStrictEqual(want, have))
        out.push({ path: '/logging/filters', desired: declaredFilters, actual: filters });
    }
    return out;
  } finally {
    await admin.close();
  }
}

/** The same comparison through libvirt's virt-admin 9.0.0, reading its text output. */
export async function differencesByVirtAdmin(uri: string, doc: DesiredState): Promise<Missing[]> {
  const read = async (...args: string[]): Promise<string> => {
    const { code, stdout, stderr } = await runVirtAdmin(uri, args);
    if (code !== 0) throw new Error(`virt-admin ${args.join(' ')}: exit ${code}: ${stderr.trim()}`);
    return stdout;
  };
  const fields = (text: string) => new Map([...text.matchAll(/^(\w+)\s*: (\S+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  // virt-admin's names for the client limits (srv-clients-info).
  const limitNames: Record<string, string> = { maxClients: 'nclients_max', maxUnauthClients: 'nclients_unauth_max' };
  const out: Missing[] = [];
  for (const [server, settings] of Object.entries(doc.servers ?? {})) {
    if (settings.threadpool) {
      const actual = fields(await read('srv-threadpool-info', server));
      for (const [field, desired] of Object.entries(settings.threadpool)) {
        if (actual.get(field) !== desired)
          out.push({ path: `/servers/${server}/threadpool/${field}`, desired, actual: actual.get(field) });
      }
    }
    if (settings.clientLimits) {
      const actual = fields(await read('srv-clients-info', server));
      for (const [field, desired] of Object.entries(settings.clientLimits)) {
        const value = actual.get(limitNames[field] ?? field);
        if (value !== desired) out.push({ path: `/servers/${server}/clientLimits/${field}`, desired, actual: value });
      }
    }
  }
  const declaredFilters = doc.logging?.filters;
  if (typeof declaredFilters === 'string') {
    const text = (await read('daemon-log-filters')).replace(/^\s*Logging filters:\s*/, '').trim();
    const want = parseFilters(declaredFilters).map((f) => `${f.level}:${f.match}`);
    const have = parseFiltersReply(text === '' ? null : text).map((f) => `${f.level}:${f.match}`);
    if (!isDeepStrictEqual(want, have)) out.push({ path: '/logging/filters', desired: declaredFilters, actual: text });
  }
  return out;
}
