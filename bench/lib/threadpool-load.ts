// The worker-pool requests that `npm run bench` and `npm run bench:ab` measure, and the warm-up they share: a build
// compared by bench:ab is measured under the same conditions as the benchmark table.
import { httpLoad, type HttpRequest } from './measure.js';

/** GET and PATCH of a server's worker pool; the PATCH sets libvirt's default maxWorkers, so repeats change nothing. */
export function threadpoolRequests(server: string): { get: HttpRequest; patch: HttpRequest } {
  const path = `/servers/${server}/threadpool`;
  return {
    get: { method: 'GET', path },
    patch: { method: 'PATCH', path, body: JSON.stringify({ maxWorkers: 20 }) },
  };
}

/** Warms up the JIT on every route measured, the gateway's connection pools and libvirtd's workers. */
export async function warmUp(base: string, server: string, embeddedPrefix: string, connections: number): Promise<void> {
  const { get, patch } = threadpoolRequests(server);
  const mixed: HttpRequest[] = [
    get,
    patch,
    { method: 'GET', path: `/servers/${server}/clients?limit=100` },
    { method: 'GET', path: `${embeddedPrefix}/servers/${server}/threadpool` },
  ];
  await httpLoad({ operation: 'warm-up', daemon: 'both', base, requests: mixed, connections, durationS: 3 });
  await httpLoad({ operation: 'warm-up', daemon: 'libvirtd', base, requests: [get], connections, durationS: 2 });
}
