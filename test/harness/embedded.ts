// The embedded daemon in a private temp dir, for test files that need a daemon to talk to (the contract suite
// runs the same expectations against it and against the real libvirtd of ./libvirtd.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDaemon, type EmbeddedDaemonOptions } from '../../src/daemon/index.js';
import { runVirtAdmin, type VirtAdminResult } from './libvirtd.js';

/** A running embedded daemon and the handles tests need. */
export interface EmbeddedDaemonHandle {
  daemon: EmbeddedDaemon;
  /** The temp dir holding the sockets and the log; removed by stop(). */
  dir: string;
  /** `libvirtd:///system?socket=<admin socket>`. */
  adminUri: string;
  adminSocket: string;
  clientSocket: string;
  readOnlyClientSocket: string;
  /** The default log file (`3:file:<dir>/libvirtd.log`). */
  logFile: string;
  /** Runs `virt-admin -c <adminUri> ...args` (20 s timeout; a timeout throws). */
  virtAdmin(this: void, ...args: string[]): Promise<VirtAdminResult>;
  /** Stops the daemon and removes the temp dir; safe to call twice. */
  stop(this: void): Promise<void>;
}

/** Starts an embedded daemon whose sockets and log live in a new temp dir. */
export async function startEmbeddedDaemon(
  options: Omit<EmbeddedDaemonOptions, 'adminSocketPath'> = {},
): Promise<EmbeddedDaemonHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-'));
  let daemon: EmbeddedDaemon;
  try {
    daemon = await EmbeddedDaemon.start({ ...options, adminSocketPath: join(dir, 'libvirt-admin-sock') });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    daemon,
    dir,
    adminUri: daemon.adminUri,
    adminSocket: daemon.adminSocketPath,
    clientSocket: daemon.clientSocketPath,
    readOnlyClientSocket: daemon.readOnlyClientSocketPath,
    logFile: join(options.logDir ?? dir, 'libvirtd.log'),
    virtAdmin: (...args) => runVirtAdmin(daemon.adminUri, args),
    stop() {
      stopping ??= daemon.stop().then(() => rm(dir, { recursive: true, force: true }));
      return stopping;
    },
  };
}
