// Private, real libvirt daemons (libvirtd, virtlogd, virtlockd) for one test file, of either generation
// (./generations.ts): the host's libvirt 9.0.0, or libvirt 11.x chrooted in the cached Debian 13 root.
//
// As root the daemons run in system mode inside a mount namespace of their own, held open by a small
// holder process for the life of the set, with /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and
// /var/log/libvirt bind-mounted from a temp dir, so a daemon already running on the machine is never touched;
// their sockets stay reachable from here through the temp dir. Without root (generation 9 only) they run in
// session mode with a throwaway HOME and XDG_RUNTIME_DIR.
// The harness never skips: when a daemon cannot start, it throws with the daemon's log.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  NAMESPACE_11,
  NAMESPACE_9,
  ROOT_ENV,
  SOCKETS,
  libvirt11Root,
  type DaemonGeneration,
  type RealDaemonName,
} from './generations.js';
import { eventually } from '../helpers/wait.js';

export type { DaemonGeneration, RealDaemonName } from './generations.js';

/** Result of one virt-admin run. */
export interface VirtAdminResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `virt-admin -c uri ...args` (20 s timeout; a timeout throws); a non-zero exit is a result, not an error. */
export function runVirtAdmin(uri: string, args: string[], env?: NodeJS.ProcessEnv): Promise<VirtAdminResult> {
  return runCommand(['virt-admin', '-c', uri, ...args], env);
}

/** Runs a virt-admin command line (its argv, possibly behind nsenter/chroot); a non-zero exit is a result. */
function runCommand(argv: string[], env?: NodeJS.ProcessEnv): Promise<VirtAdminResult> {
  const [file, args] = command(argv);
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: VIRT_ADMIN_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err && err.killed) {
        reject(new Error(`${argv.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
      } else if (err && typeof err.code !== 'number') {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an Error, typed through Omit<> by @types/node
        reject(err);
      } else {
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      }
    });
  });
}

/** An argv split into the program and its arguments. */
function command(argv: string[]): [string, string[]] {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty command line');
  return [file, args];
}

/** A running set of private daemons and the handles tests need. */
export interface RealDaemons {
  /** The temp dir that holds sockets, logs, pid files and state; removed by stop(). */
  dir: string;
  /** Which libvirt runs: '9' (the host's 9.0.0) or '11' (the cached Debian 13 root). */
  generation: DaemonGeneration;
  /** 'system' when running as root (private mount namespace), 'session' otherwise. */
  mode: 'system' | 'session';
  /** Path of the daemon's admin socket. */
  adminSocket(name: RealDaemonName): string;
  /** Admin URI for the gateway and the host's virt-admin, e.g. `libvirtd:///system?socket=/tmp/.../libvirt-admin-sock`. */
  adminUri(name: RealDaemonName): string;
  /** libvirtd's read-write client socket (libvirt-sock). */
  clientSocket: string;
  /** libvirtd's read-only client socket (libvirt-sock-ro); session-mode libvirtd does not create it. */
  readOnlyClientSocket: string;
  /** Pid of a running daemon; throws when it is not running. */
  pid(name: RealDaemonName): number;
  /**
   * Runs the generation's own virt-admin against the daemon (20 s timeout; a timeout throws): the host's for
   * '9', virt-admin 11.x inside the root (in the daemons' namespace) for '11'.
   */
  virtAdmin(name: RealDaemonName, ...args: string[]): Promise<VirtAdminResult>;
  /** Runs the host's virt-admin (9.0.0) against the daemon, whatever its generation. */
  hostVirtAdmin(name: RealDaemonName, ...args: string[]): Promise<VirtAdminResult>;
  /** Sends `signal` (default SIGTERM) and waits until the process is gone. */
  kill(name: RealDaemonName, signal?: NodeJS.Signals): Promise<void>;
  /** Waits until the daemon exited by itself (shutdown, --timeout), then forgets it; throws after `timeoutMs`. */
  waitForExit(name: RealDaemonName, timeoutMs?: number): Promise<void>;
  /** True while the daemon's process runs. */
  running(name: RealDaemonName): boolean;
  /** (Re)starts the daemon with the same dirs and socket paths and waits for its sockets. */
  start(name: RealDaemonName, options?: StartOptions): Promise<void>;
  /** Kills every daemon, waits for them, removes `dir`; safe to call twice. */
  stop(): Promise<void>;
}

/** Options of one daemon start. */
export interface StartOptions {
  /** Extra command-line arguments, e.g. `['--timeout', '5']` (default: those given to startRealDaemons). */
  args?: string[];
}

/** Options of startRealDaemons. */
export interface RealDaemonOptions {
  /** Which libvirt: '9' (default, the host's) or '11' (the cached root; needs root and install-libvirt11.sh). */
  generation?: DaemonGeneration;
  /** Which daemons to start, in this order (default: virtlogd, then libvirtd). */
  daemons?: RealDaemonName[];
  /** Extra command-line arguments per daemon, e.g. `{ libvirtd: ['--timeout', '5'] }`. */
  args?: Partial<Record<RealDaemonName, string[]>>;
}

const START_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 20_000;
const VIRT_ADMIN_TIMEOUT_MS = 20_000;
const POLL_MS = 50;

// The sbin dirs are missing from many non-root PATHs.
const PATH = [process.env['PATH'], '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean).join(':');

// The holder: runs first (in the new mount namespace when there is one, after the generation's mount script),
// says "ready", then waits for its stdin to close, which happens when the test process ends, whichever way.
// Then it kills each daemon whose command line names our pid file (as the daemon sees it, under $inside) and
// removes the temp dir. It leads its own process group so a terminal's Ctrl-C does not kill it first, and it
// keeps the namespace alive while no daemon runs (restarts and virt-admin 11 enter it).
const HOLDER_SCRIPT = `
d=$1; inside=$2; r=$3
set -eu
eval "$4"
echo ready
exec >/dev/null 2>&1
set +e
cat
for name in ${Object.keys(SOCKETS).join(' ')}; do
  f="$d/$name.pid"
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  if tr '\\0' '\\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$inside/$name.pid"; then kill -9 "$pid"; fi
done
sleep 1
rm -rf -- "$d"
`;

const live = new Set<RealDaemonSet>();
let exitHookInstalled = false;

/** Starts private daemons (default: generation 9, virtlogd then libvirtd) and waits until their sockets listen. */
export async function startRealDaemons(options: RealDaemonOptions = {}): Promise<RealDaemons> {
  const generation = options.generation ?? '9';
  const names = options.daemons ?? ['virtlogd', 'libvirtd'];
  const mode = process.getuid?.() === 0 ? 'system' : 'session';
  if (generation === '11' && mode !== 'system')
    throw new Error('libvirt 11 daemons run chrooted: the tests must run as root');
  const root = generation === '11' ? libvirt11Root() : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'lvd-'));
  const daemons = new RealDaemonSet(dir, generation, mode, root, options.args ?? {});
  try {
    await daemons.prepare();
    for (const name of names) await daemons.start(name);
  } catch (err) {
    await daemons.stop();
    throw err;
  }
  return daemons;
}

class RealDaemonSet implements RealDaemons {
  readonly clientSocket: string;
  readonly readOnlyClientSocket: string;
  private readonly socketDir: string;
  private readonly logDir: string;
  private readonly env: NodeJS.ProcessEnv;
  /** The temp dir as the daemons see it (inside the root for generation 11). */
  private readonly inside: string;
  private readonly pids = new Map<RealDaemonName, number>();
  private holder: ChildProcess | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly generation: DaemonGeneration,
    readonly mode: 'system' | 'session',
    private readonly root: string | undefined,
    private readonly args: Partial<Record<RealDaemonName, string[]>>,
  ) {
    this.inside = root === undefined ? dir : join('/run', basename(dir));
    if (mode === 'system') {
      this.socketDir = join(dir, 'run');
      this.logDir = join(dir, 'log');
      this.env = { ...process.env, PATH };
    } else {
      const home = join(dir, 'home');
      this.socketDir = join(dir, 'runtime', 'libvirt');
      this.logDir = join(home, '.cache', 'libvirt');
      this.env = {
        ...process.env,
        PATH,
        HOME: home,
        XDG_RUNTIME_DIR: join(dir, 'runtime'),
        XDG_CONFIG_HOME: join(home, '.config'),
        XDG_CACHE_HOME: join(home, '.cache'),
        XDG_DATA_HOME: join(home, '.local', 'share'),
      };
    }
    this.clientSocket = join(this.socketDir, SOCKETS.libvirtd.client);
    this.readOnlyClientSocket = join(this.socketDir, SOCKETS.libvirtd.readOnly);
  }

  /** Creates the directory layout and the config files, and starts the holder (and with it the namespace). */
  async prepare(): Promise<void> {
    const subdirs = this.mode === 'system' ? ['run', 'lib', 'cache', 'log'] : ['home', 'runtime'];
    for (const sub of subdirs) await mkdir(join(this.dir, sub), { mode: 0o700 });
    // Each daemon gets an empty config file so settings in /etc/libvirt cannot change the built-in defaults
    // the tests compare against.
    for (const name of Object.keys(SOCKETS)) await writeFile(join(this.dir, `${name}.conf`), '');
    live.add(this);
    installExitHook();
    const mounts = this.mode === 'session' ? '' : this.generation === '11' ? NAMESPACE_11 : NAMESPACE_9;
    const enter = this.mode === 'session' ? [] : ['unshare', '-m', '--'];
    const [file, args] = command([
      ...enter,
      'bash',
      '-c',
      HOLDER_SCRIPT,
      'bash',
      this.dir,
      this.inside,
      this.root ?? '',
      mounts,
    ]);
    const holder = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: this.env });
    this.holder = holder;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => finish(new Error(`namespace set-up timed out\n${out}${err}`)), START_TIMEOUT_MS);
      const finish = (failure?: Error) => {
        clearTimeout(timer);
        holder.stdout.removeAllListeners('data');
        holder.removeAllListeners('exit');
        if (failure) reject(failure);
        else resolve();
      };
      holder.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready\n')) finish();
      });
      holder.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      holder.once('exit', (code, signal) =>
        finish(new Error(`namespace set-up failed (${code ?? signal})\n${out}${err}`)),
      );
      holder.once('error', (e) => finish(e));
    });
    // Neither the holder nor its pipes may keep the test process alive.
    holder.stdout.destroy();
    holder.stderr.destroy();
    holder.unref();
    (holder.stdin as unknown as Socket).unref();
  }

  adminSocket(name: RealDaemonName): string {
    return join(this.socketDir, SOCKETS[name].admin);
  }

  adminUri(name: RealDaemonName): string {
    return `${name}:///${this.mode}?socket=${this.adminSocket(name)}`;
  }

  pid(name: RealDaemonName): number {
    const pid = this.pids.get(name);
    if (pid === undefined) throw new Error(`${name} is not running`);
    return pid;
  }

  running(name: RealDaemonName): boolean {
    const pid = this.pids.get(name);
    return pid !== undefined && isAlive(pid);
  }

  /** Pids of every daemon started and not yet killed (for the exit handler). */
  trackedPids(): number[] {
    return [...this.pids.values()];
  }

  virtAdmin(name: RealDaemonName, ...args: string[]): Promise<VirtAdminResult> {
    if (this.generation === '9') return this.hostVirtAdmin(name, ...args);
    // Inside the root the sockets are at the system paths.
    const uri = `${name}:///system?socket=/run/libvirt/${SOCKETS[name].admin}`;
    return runCommand([...this.inRoot(), '/usr/bin/virt-admin', '-c', uri, ...args], ROOT_ENV);
  }

  hostVirtAdmin(name: RealDaemonName, ...args: string[]): Promise<VirtAdminResult> {
    return runVirtAdmin(this.adminUri(name), args, this.env);
  }

  async kill(name: RealDaemonName, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const pid = this.pid(name);
    process.kill(pid, signal);
    await this.forget(name, pid, `${name} (pid ${pid}) after ${signal}`, EXIT_TIMEOUT_MS);
  }

  async waitForExit(name: RealDaemonName, timeoutMs = EXIT_TIMEOUT_MS): Promise<void> {
    const pid = this.pid(name);
    await this.forget(name, pid, `${name} (pid ${pid})`, timeoutMs);
  }

  async start(name: RealDaemonName, options: StartOptions = {}): Promise<void> {
    if (this.pids.has(name) && isAlive(this.pid(name))) throw new Error(`${name} is already running`);
    this.pids.delete(name);
    await rm(this.pidFile(name), { force: true });
    // A daemon killed with SIGKILL leaves its socket files behind. libvirt replaces them itself; removing
    // them here keeps a restart independent of that.
    for (const sock of Object.values(SOCKETS[name])) {
      if (sock) await unlink(join(this.socketDir, sock)).catch(() => undefined);
    }
    const launched = await this.launch(name, options.args ?? this.args[name] ?? []);
    let pid: number;
    try {
      pid = Number.parseInt((await readFile(this.pidFile(name), 'utf8')).trim(), 10);
    } catch {
      throw new Error(`${name} did not start (no pid file)\n${launched}${await this.logs()}`);
    }
    this.pids.set(name, pid);
    // Ready once the new process listens on each of its sockets. A test connect would do too, but it
    // would take client id 1 on the daemon's server and log an "End of file" error there.
    const { client, admin, readOnly } = SOCKETS[name];
    const wanted = [client, admin, ...(readOnly && this.mode === 'system' ? [readOnly] : [])];
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const sock of wanted) {
      // In system mode the daemon bound the path as it sees it, inside its namespace.
      const path = join(this.mode === 'system' ? '/run/libvirt' : this.socketDir, sock);
      const what = `${name} socket ${path} ready (start-up bound ${START_TIMEOUT_MS} ms)`;
      await eventually(
        () => listeningPaths(pid).has(path) || !isAlive(pid),
        what,
        Math.max(0, deadline - Date.now()),
        POLL_MS,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await this.logs()}`);
      });
      if (!listeningPaths(pid).has(path)) {
        this.pids.delete(name);
        throw new Error(`${name} (pid ${pid}) exited during start-up\n${launched}${await this.logs()}`);
      }
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    // The holder leads its own process group; killing the group also ends its `cat`.
    if (this.holder?.pid !== undefined) {
      try {
        process.kill(-this.holder.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const [name, pid] of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await waitUntilGone(pid, `${name} (pid ${pid}) after SIGKILL`, EXIT_TIMEOUT_MS);
    }
    this.pids.clear();
    live.delete(this);
    await rm(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }

  private async forget(name: RealDaemonName, pid: number, what: string, timeoutMs: number): Promise<void> {
    await waitUntilGone(pid, what, timeoutMs);
    this.pids.delete(name);
    // A stale pid file could later name an unrelated process (see the holder).
    await rm(this.pidFile(name), { force: true });
  }

  private pidFile(name: RealDaemonName): string {
    return join(this.dir, `${name}.pid`);
  }

  /** The command prefix that runs a program in the daemons' namespace (and root). */
  private inRoot(): string[] {
    if (this.mode === 'session') return [];
    const holder = this.holder?.pid;
    if (holder === undefined || !isAlive(holder)) throw new Error("the daemons' namespace is gone (stopped?)");
    const nsenter = ['nsenter', '-t', String(holder), '-m', '--'];
    return this.root === undefined ? nsenter : [...nsenter, 'chroot', this.root];
  }

  /** Runs the daemon's `-d` start (it returns once the daemon is initialised, or failed); returns its output. */
  private async launch(name: RealDaemonName, extra: string[]): Promise<string> {
    const argv = [
      ...this.inRoot(),
      `/usr/sbin/${name}`,
      '-d',
      '-f',
      join(this.inside, `${name}.conf`),
      '-p',
      join(this.inside, `${name}.pid`),
      ...extra,
    ];
    const [file, args] = command(argv);
    const env = this.root === undefined ? this.env : ROOT_ENV;
    return new Promise((resolve, reject) => {
      execFile(file, args, { env, timeout: START_TIMEOUT_MS }, (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (err) {
          const status = err.killed ? 'timed out' : `exit ${err.code ?? err.signal}`;
          void this.logs().then((logs) => reject(new Error(`starting ${name} failed (${status})\n${output}${logs}`)));
        } else {
          resolve(output);
        }
      });
    });
  }

  /** The tail of every daemon log file, for error messages. */
  private async logs(): Promise<string> {
    const files = await readdir(this.logDir).catch(() => [] as string[]);
    let text = '';
    for (const file of files.filter((f) => f.endsWith('.log'))) {
      const content = await readFile(join(this.logDir, file), 'utf8').catch(() => '');
      text += `--- ${join(this.logDir, file)} ---\n${content.slice(-8000)}\n`;
    }
    return text || `(no logs in ${this.logDir})\n`;
  }
}

// A test process that exits or crashes must not leave daemons behind; 'exit' handlers must be synchronous.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const daemons of live) {
      for (const pid of daemons.trackedPids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      try {
        rmSync(daemons.dir, { recursive: true, force: true });
      } catch {
        // a dying daemon may still write; the watchdog removes the dir after it
      }
    }
  });
}

/** True while the process exists and is not a zombie (killed daemons are reaped by init, not by us). */
function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Waits for the process to end; fails with "<what> still running after <ms> ms" (tests match those words). */
async function waitUntilGone(pid: number, what: string, timeoutMs: number): Promise<void> {
  await eventually(() => !isAlive(pid), `${what} gone`, timeoutMs, POLL_MS).catch(() => {
    throw new Error(`${what} still running after ${timeoutMs} ms`);
  });
}

// __SO_ACCEPTCON in /proc/net/unix's Flags column: the socket is listening (accepts connections).
const UNIX_LISTENING = 0x10000;

/** Paths of the unix sockets that `pid` listens on (its fds matched against /proc/<pid>/net/unix). */
function listeningPaths(pid: number): Set<string> {
  const paths = new Set<string>();
  let fds: string[];
  let table: string;
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
    table = readFileSync(`/proc/${pid}/net/unix`, 'utf8');
  } catch {
    return paths;
  }
  const inodes = new Set<string>();
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // the fd was closed meanwhile
    }
  }
  // Columns: Num RefCount Protocol Flags Type St Inode [Path]
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const [flags, inode, path] = [cols[3], cols[6], cols[7]];
    if (flags && inode && path && inodes.has(inode) && (Number.parseInt(flags, 16) & UNIX_LISTENING) !== 0) {
      paths.add(path);
    }
  }
  return paths;
}

/**
 * Rows (without the header) of a virt-admin table such as `srv-list` or `srv-clients-list`.
 * vshTable starts each cell at a fixed column and puts at least 3 blanks between cells, while a
 * header may hold single blanks ("Connected since"), so the header's word groups give the columns.
 */
export function parseVirtAdminTable(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const ruleAt = lines.findIndex((line) => /^-{3,}\s*$/.test(line));
  const header = lines[ruleAt - 1];
  if (ruleAt < 1 || header === undefined) throw new Error(`not a virt-admin table:\n${stdout}`);
  const starts = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index);
  return lines
    .slice(ruleAt + 1)
    .filter((line) => line.trim() !== '')
    .map((line) => starts.map((start, i) => line.slice(start, starts[i + 1]).trim()));
}

/**
 * The `key : value` lines of virt-admin outputs such as `srv-threadpool-info`, `srv-clients-info` and
 * `client-info`. Keys never hold a colon; values may (timestamps), so each line splits at its first one.
 */
export function parseVirtAdminKeyValues(stdout: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    result[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return result;
}
