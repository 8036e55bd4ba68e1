// Small tools shared by the contract suites: real-daemon targets of either libvirt generation, a raw client of a
// daemon's client socket, and readers of virt-admin's output.
import { startRealDaemons, type DaemonGeneration } from '../harness/libvirtd.js';
import type { AdminTarget } from './admin-contract.js';

/**
 * A fresh real libvirtd of the given generation as a contract target; its virt-admin is the generation's own
 * (9.0.0 on the host, 11.x inside the root).
 */
export async function realLibvirtdTarget(generation: DaemonGeneration): Promise<AdminTarget> {
  const daemons = await startRealDaemons({ generation, daemons: ['libvirtd'] });
  return {
    generation,
    adminUri: daemons.adminUri('libvirtd'),
    clientSocket: daemons.clientSocket,
    readOnlyClientSocket: daemons.readOnlyClientSocket,
    virtAdmin: (...args) => daemons.virtAdmin('libvirtd', ...args),
    stop: () => daemons.stop(),
  };
}

/** The message of virt-admin's last `error: ...` line (the daemon's own error comes last). */
export function lastVirtAdminError(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('error: '));
  const last = lines.at(-1);
  if (last === undefined) throw new Error(`virt-admin printed no error:\n${stderr}`);
  return last.slice('error: '.length);
}

/** Unix seconds from virt-admin's `%Y-%m-%d %H:%M:%S%z` timestamps (e.g. `2026-11-26 17:46:55+0000`). */
export function parseVirtAdminTime(text: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)([+-]\d\d)(\d\d)$/.exec(text.trim());
  if (!m) throw new Error(`not a virt-admin timestamp: ${text}`);
  return Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`) / 1000;
}

/** The value after `label:` on virt-admin's one-line outputs (` Logging outputs: ...`), trailing blanks kept. */
export function virtAdminLine(stdout: string, label: string): string {
  const line = stdout.split('\n').find((l) => l.trimStart().startsWith(`${label}: `));
  if (line === undefined) throw new Error(`no '${label}' line in:\n${stdout}`);
  return line.trimStart().slice(label.length + 2);
}
