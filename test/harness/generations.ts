// The two generations of real libvirt daemons the harness can run, and how each is laid out.
//
// '9': the host's own libvirt (Debian 12, 9.0.0). '11': libvirt 11.x from Debian 13, installed by
// scripts/install-libvirt11.sh into a cached root, where the daemons and virt-admin run chrooted.
// Both run, as root, inside a private mount namespace in which the test's temp dir is bound over
// /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt, so their sockets are reachable
// from the host through the temp dir and nothing of another daemon (or of another test file) is touched.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A libvirt generation: the host's 9.0.0, or the 11.x of the cached Debian 13 root. */
export type DaemonGeneration = '9' | '11';

/** The daemons the harness can run (each generation has all three). */
export type RealDaemonName = 'libvirtd' | 'virtlogd' | 'virtlockd';

/** Where install-libvirt11.sh puts the root unless LIBVIRT11_ROOT says otherwise. */
export const DEFAULT_LIBVIRT11_ROOT = '/var/cache/libvirt-admin-gateway/trixie';

/** The marker install-libvirt11.sh writes once the root is complete. */
const ROOT_MARKER = '.libvirt-admin-gateway-root';

// Socket file names, as libvirt's daemons name them (src/remote/remote_daemon.c, src/logging/log_daemon.c,
// src/locking/lock_daemon.c).
export const SOCKETS = {
  libvirtd: { admin: 'libvirt-admin-sock', client: 'libvirt-sock', readOnly: 'libvirt-sock-ro' },
  virtlogd: { admin: 'virtlogd-admin-sock', client: 'virtlogd-sock', readOnly: undefined },
  virtlockd: { admin: 'virtlockd-admin-sock', client: 'virtlockd-sock', readOnly: undefined },
} as const satisfies Record<RealDaemonName, { admin: string; client: string; readOnly: string | undefined }>;

/** The folders bound over the daemons' system paths: temp dir subfolder → path the daemons see. */
export const BOUND_DIRS = [
  ['run', '/run/libvirt'],
  ['lib', '/var/lib/libvirt'],
  ['cache', '/var/cache/libvirt'],
  ['log', '/var/log/libvirt'],
] as const;

/** The cached root of generation 11; throws with the way to install it when it is missing or incomplete. */
export function libvirt11Root(env: NodeJS.ProcessEnv = process.env): string {
  const root = env['LIBVIRT11_ROOT'] || DEFAULT_LIBVIRT11_ROOT;
  if (!existsSync(join(root, ROOT_MARKER)) || !existsSync(join(root, 'usr/sbin/libvirtd'))) {
    throw new Error(
      `libvirt 11 root not installed at ${root}: run \`sudo bash scripts/install-libvirt11.sh\` ` +
        '(or set LIBVIRT11_ROOT to where it is)',
    );
  }
  return root;
}

/** The package versions install-libvirt11.sh recorded (`libvirt-daemon` → `11.3.0-3+deb13u3`). */
export function libvirt11Packages(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(root, ROOT_MARKER), 'utf8').split('\n')) {
    const m = /^version ([^=]+)=(.+)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * Mount script for a generation-9 namespace (run by bash inside `unshare -m`, $d = the temp dir): the
 * daemons run from the host's /usr/sbin and see the temp dir's folders at the system paths.
 */
export const NAMESPACE_9 = `
mount --make-rprivate /
${BOUND_DIRS.map(([sub, path]) => `mkdir -p ${path} && mount --bind "$d/${sub}" ${path}`).join('\n')}
`;

/**
 * Mount script for a generation-11 namespace ($d = the temp dir, $r = the cached root, $inside = where the
 * temp dir appears inside the root). The shared root is made read-only in here, so no daemon can change what
 * the next test file starts from; /proc, /sys and /dev are the host's; /run, /tmp and root's home are fresh
 * tmpfs; the temp dir's folders are bound over the system paths and the temp dir itself at $inside (config
 * and pid files) and at its own path (so a file the test names there, such as a log output, is the same file for
 * the daemon).
 */
export const NAMESPACE_11 = `
mount --make-rprivate /
mount --bind "$r" "$r"
mount -o remount,bind,ro "$r"
mount -t proc proc "$r/proc"
mount --rbind /sys "$r/sys"
mount --rbind /dev "$r/dev"
mount -t tmpfs -o mode=0755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
mount -t tmpfs -o mode=0700 tmpfs "$r/root"
mkdir -p "$r/run/libvirt" "$r/run/lock" "$r$inside" "$r$d"
mount --bind "$d" "$r$inside"
mount --bind "$d" "$r$d"
${BOUND_DIRS.map(([sub, path]) => `mount --bind "$d/${sub}" "$r${path}"`).join('\n')}
`;

/** The environment of commands run inside the root: nothing of the host's leaks in. */
export const ROOT_ENV: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' };
