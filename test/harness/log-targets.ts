// Daemons whose logging a test may change, each with a sandbox folder that the test, the gateway and the daemon
// all see at the same path. Log tests take the daemon under test as a parameter (a LogTarget), so the same
// corpus and attacks run against the real libvirtd, the embedded daemon and any other daemon given a starter.
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedDaemon } from './embedded.js';
import { libvirt11Root } from './generations.js';
import { startRealDaemons, type DaemonGeneration, type VirtAdminResult } from './libvirtd.js';

/** A running daemon and its log sandbox. */
export interface LogTarget {
  adminUri: string;
  /** A folder of this target only; every file the tests expect or fear the daemon to create lies in it. */
  sandbox: string;
  /** `<sandbox>/allowed`: the folder the tests allow log files in. Created empty. */
  allowed: string;
  /** `<sandbox>/outside`: a folder beside it, outside the allowed one. Created empty. */
  outside: string;
  /** The outputs the daemon starts with and goes back to on "", as virt-admin shows them. */
  defaultOutputs: string;
  /** The file of that default output, as the test sees it (inside the sandbox, outside `allowed`). */
  defaultLogFile: string;
  /** True when the daemon writes each filters string it parses into its debug log (libvirtd does). */
  echoesFilters: boolean;
  /** The files the daemon process holds open inside the sandbox, as the test sees them. */
  openFiles(): string[];
  /** Runs `virt-admin -c <adminUri> ...args`. */
  virtAdmin(...args: string[]): Promise<VirtAdminResult>;
  /** Stops the daemon and removes every folder it used. */
  stop(): Promise<void>;
}

/** Starts a fresh target. */
export type StartLogTarget = () => Promise<LogTarget>;

/**
 * The real libvirtd of ./libvirtd.ts, of either generation. Its /var/log/libvirt is `<dir>/log` (a bind mount in
 * its own mount namespace), so the sandbox is `<dir>/log`, reachable at that same path by everyone; its default
 * output `/var/log/libvirt/libvirtd.log` is `<sandbox>/libvirtd.log` for the test.
 */
function libvirtdLogTarget(generation: DaemonGeneration): StartLogTarget {
  return async () => {
    const daemons = await startRealDaemons({ generation, daemons: ['libvirtd'] });
    if (daemons.mode !== 'system') {
      await daemons.stop();
      throw new Error('the libvirtd log target needs root: its sandbox is the bind mount of a private mount namespace');
    }
    const sandbox = join(daemons.dir, 'log');
    await mkdir(join(sandbox, 'allowed'));
    await mkdir(join(sandbox, 'outside'));
    // The daemon's open files show as paths in its namespace; a chrooted (generation 11) one's behind its root,
    // where the temp dir is also bound at its own path.
    const root = generation === '11' ? libvirt11Root() : '';
    const logDir = '/var/log/libvirt/';
    return {
      adminUri: daemons.adminUri('libvirtd'),
      sandbox,
      allowed: join(sandbox, 'allowed'),
      outside: join(sandbox, 'outside'),
      defaultOutputs: '3:file:/var/log/libvirt/libvirtd.log',
      defaultLogFile: join(sandbox, 'libvirtd.log'),
      echoesFilters: true,
      openFiles: () =>
        openFilesOf(daemons.pid('libvirtd'))
          .map((path) => (root !== '' && path.startsWith(`${root}/`) ? path.slice(root.length) : path))
          .map((path) => (path.startsWith(logDir) ? join(sandbox, path.slice(logDir.length)) : path))
          .filter((path) => path.startsWith(`${sandbox}/`)),
      virtAdmin: (...args) => daemons.virtAdmin('libvirtd', ...args),
      stop: () => daemons.stop(),
    };
  };
}

/** A private libvirtd 9.0.0 (the host's). */
export const startLibvirtdLogTarget: StartLogTarget = libvirtdLogTarget('9');

/** A private libvirtd 11.3.0, chrooted in the cached Debian 13 root; virt-admin 11.3 beside it. */
export const startLibvirtd11LogTarget: StartLogTarget = libvirtdLogTarget('11');

/** The embedded daemon, in this process, with its default log file in the sandbox. */
export const startEmbeddedLogTarget: StartLogTarget = async () => {
  const sandbox = await mkdtemp(join(tmpdir(), 'log-target-'));
  await mkdir(join(sandbox, 'allowed'));
  await mkdir(join(sandbox, 'outside'));
  const embedded = await startEmbeddedDaemon({ logDir: sandbox }).catch(async (err: unknown) => {
    await rm(sandbox, { recursive: true, force: true });
    throw err;
  });
  return {
    adminUri: embedded.adminUri,
    sandbox,
    allowed: join(sandbox, 'allowed'),
    outside: join(sandbox, 'outside'),
    defaultOutputs: `3:file:${join(sandbox, 'libvirtd.log')}`,
    defaultLogFile: join(sandbox, 'libvirtd.log'),
    echoesFilters: false,
    openFiles: () => openFilesOf(process.pid).filter((path) => path.startsWith(`${sandbox}/`)),
    virtAdmin: (...args) => embedded.virtAdmin(...args),
    stop: async () => {
      await embedded.stop();
      await rm(sandbox, { recursive: true, force: true });
    },
  };
};

/** What `/proc/<pid>/fd` links to (paths only; sockets, pipes and fds closed meanwhile are left out). */
function openFilesOf(pid: number): string[] {
  const paths: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith('/')) paths.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return paths;
}

/** Every entry below `dir`, as paths relative to it, folders ending in '/', sorted. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        out.push(`${path}/`);
        await walk(path);
      } else {
        out.push(path);
      }
    }
  };
  await walk('');
  return out.sort();
}
