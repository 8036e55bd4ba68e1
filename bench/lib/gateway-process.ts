// The gateway as a child process, built the way it ships (tsc, then plain node on the JavaScript: tsx alone
// adds some 35 MiB of resident memory), so its memory and descriptors are its own and can be read from /proc:
// peak RSS (VmHWM), current RSS (VmRSS) and open fds.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, symlink } from 'node:fs/promises';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/ is two levels down). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Compiles src/ with the project's build config into `dir`/dist, beside a copy of package.json (the version is
 * read from it) and a link to node_modules; returns the path of cli.js. The repository's own dist/ is left alone.
 * `root` is the checkout to build (this one by default; bench/ab.ts builds an older commit's worktree too).
 */
export async function buildGateway(dir: string, root: string = REPO_ROOT): Promise<string> {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(dir, 'dist'), '--sourceMap', 'false'],
      { cwd: root, timeout: 180_000 },
      // Type errors still emit JavaScript; only a missing entry point is fatal (checked below).
      (err, stdout) =>
        err && err.code !== 1 && err.code !== 2
          ? reject(new Error(`tsc failed: ${err.message}\n${stdout}`))
          : resolve(),
    );
  });
  await copyFile(join(root, 'package.json'), join(dir, 'package.json'));
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  const cli = join(dir, 'dist', 'cli.js');
  readFileSync(cli); // throws when the build produced no entry point
  return cli;
}

/** The node flags the gateway ships with: those of the CLI's shebang (`#!/usr/bin/env -S node <flags>`). */
export const SHIPPED_NODE_FLAGS: readonly string[] = readFileSync(join(REPO_ROOT, 'src', 'cli.ts'), 'utf8')
  .split('\n')[0]!
  .split(' ')
  .filter((word) => word.startsWith('--'));

/** A running gateway child. */
export interface GatewayProcess {
  /** http://127.0.0.1:<port> */
  readonly base: string;
  readonly pid: number;
  /** Peak resident memory since start (or since resetPeak), in bytes. */
  peakRss(): number;
  /** Resident memory now, in bytes. */
  rss(): number;
  /** Open file descriptors now. */
  openFds(): number;
  /** Restart the peak-RSS count from the current RSS (Linux clear_refs 5). */
  resetPeak(): void;
  /** The child's stderr so far (for error messages). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Options of startGateway. */
export interface GatewayProcessOptions {
  /** The built cli.js (buildGateway); src/cli.ts through tsx when absent. */
  cli?: string;
  /** Admin URIs, the first being the default daemon. */
  connect: string[];
  /** Extra command-line arguments. */
  args?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Node's own flags; SHIPPED_NODE_FLAGS unless given ([] for node's defaults). */
  nodeFlags?: readonly string[];
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts the gateway and waits until it answers GET /daemons. */
export async function startGateway(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const port = await freePort();
  const flags = options.nodeFlags ?? SHIPPED_NODE_FLAGS;
  const entry = [...flags, ...(options.cli ? [options.cli] : ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli.ts')])];
  // --insecure: the anonymous admin over loopback TCP, so that the load needs no token and no rate limit applies
  // (as for the local operator); the figures are those of serving requests, not of checking credentials.
  const argv = [...entry, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn', '--insecure'];
  for (const uri of options.connect) argv.push('--connect', uri);
  argv.push(...(options.args ?? []));
  const child = spawn(process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_000);
  });
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitReady(base, child);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err });
  }
  const pid = child.pid!;
  return {
    base,
    pid,
    peakRss: () => statusField(pid, 'VmHWM'),
    rss: () => statusField(pid, 'VmRSS'),
    openFds: () => readdirSync(`/proc/${pid}/fd`).length,
    resetPeak: () => writeFileSync(`/proc/${pid}/clear_refs`, '5'),
    output: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitReady(base: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited with status ${child.exitCode} during start-up`);
    try {
      const res = await fetch(`${base}/daemons`);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('gateway did not answer within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A "kB" field of /proc/<pid>/status, in bytes. */
function statusField(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}
