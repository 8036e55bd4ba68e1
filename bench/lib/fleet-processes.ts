// The processes of the fleet benchmark: embedded daemons each in a process of its own (so that one can be SIGKILLed
// and restarted), gateways each connected to one of them, and the folder laid out as Kubernetes mounts a ConfigMap.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { adminUriFor } from '../../src/daemon/index.js';
import type { GatewayEvent } from '../../src/monitoring/events.js';
import type { DesiredState } from '../../src/desired/schema.js';
import { REPO_ROOT, SHIPPED_NODE_FLAGS } from './gateway-process.js';

/** Resident memory of a process now, in bytes (0 once it has gone). */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

/**
 * A folder laid out like a mounted ConfigMap: `desired.yaml` → `..data/desired.yaml`, `..data` → `..<version>`.
 * publish() changes it the way the kubelet does: a new versioned folder, then `..data` replaced by one rename.
 */
export class ConfigMapFolder {
  private version = 0;
  constructor(readonly dir: string) {}

  /** The path the gateways are given (`--desired-state`). */
  get file(): string {
    return join(this.dir, 'desired.yaml');
  }

  /** Publish a new version of the file; resolves right after the atomic swap (the returned time). */
  async publish(docs: Record<string, DesiredState>): Promise<number> {
    const folder = `..2026_11_29_00_00_00.${++this.version}`;
    await mkdir(join(this.dir, folder), { recursive: true });
    await writeFile(join(this.dir, folder, 'desired.yaml'), stringify({ daemons: docs }));
    await symlink(folder, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    const at = Date.now();
    if (this.version === 1) await symlink('..data/desired.yaml', this.file);
    return at;
  }
}

/** Spawns a node child and resolves once `ready` matches its output (stdout or stderr), with the match. */
function spawnUntil(
  argv: string[],
  ready: RegExp,
  what: string,
  timeoutMs: number,
): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  const child = spawn(process.execPath, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${text}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      text = (text + chunk.toString('utf8')).slice(-8000);
      const match = ready.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => text });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) during start-up:\n${text}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** One embedded daemon in its own process, on a fixed admin socket so a restart comes back at the same URI. */
export class DaemonProcess {
  private child: ChildProcess | undefined;
  readonly socket: string;
  readonly uri: string;
  constructor(
    readonly index: number,
    dir: string,
    private readonly script: string,
  ) {
    // The file name libvirtd's admin socket has, so the gateway names the daemon `libvirtd` as for a real one.
    this.socket = join(dir, 'libvirt-admin-sock');
    this.uri = adminUriFor(this.socket);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start (or start again) and resolve once it listens; the time it was ready. */
  async start(): Promise<number> {
    const { child } = await spawnUntil(
      [...SHIPPED_NODE_FLAGS, this.script, this.socket],
      /^ready$/m,
      `daemon ${this.index}`,
      60_000,
    );
    this.child = child;
    return Date.now();
  }

  /** SIGKILL, as a crash or an OOM kill would end it; resolves once it has exited (its socket file stays behind). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
  }

  /** SIGTERM, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited(child);
    clearTimeout(timer);
  }
}

/** An event as received: the gateway's event and when the benchmark read it. */
export interface ReceivedEvent {
  event: GatewayEvent;
  receivedAt: number;
}

/** Options of a gateway of the fleet. */
export interface FleetGatewayOptions {
  /** The built cli.js; src/cli.ts through tsx when absent. */
  cli?: string;
  daemonUri: string;
  dir: string;
  desiredStateFile: string;
  reconcileIntervalMs: number;
}

/** One gateway, connected to one daemon, reading the shared desired-state file, on a loopback port of its own. */
export class FleetGateway {
  private child: ChildProcess | undefined;
  private stream: IncomingMessage | undefined;
  private output: () => string = () => '';
  /** desired.applied and reconcile.failed events, in order. */
  readonly events: ReceivedEvent[] = [];
  base = '';
  constructor(
    readonly index: number,
    private readonly o: FleetGatewayOptions,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start and resolve once it listens (its port read from the banner). */
  async start(): Promise<void> {
    const entry = this.o.cli
      ? [...SHIPPED_NODE_FLAGS, this.o.cli]
      : ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli.ts')];
    const argv = [
      ...entry,
      '--connect',
      this.o.daemonUri,
      // Port 0: the kernel picks a free port, which the banner shows; --insecure: the anonymous admin on loopback.
      '--listen',
      '127.0.0.1:0',
      '--insecure',
      '--log-level',
      'warn',
      '--runtime-dir',
      join(this.o.dir, 'run'),
      '--state-dir',
      join(this.o.dir, 'state'),
      '--desired-state',
      this.o.desiredStateFile,
      '--reconcile-interval',
      String(this.o.reconcileIntervalMs),
      // The event stream is only read for the reconciler's events: no polling of the daemon for it.
      '--watch-interval',
      '3600000',
    ];
    await mkdir(join(this.o.dir, 'run'), { recursive: true, mode: 0o700 });
    const { child, match, output } = await spawnUntil(
      argv,
      /listening on (http:\/\/127\.0\.0\.1:\d+)/,
      `gateway ${this.index}`,
      120_000,
    );
    this.child = child;
    this.output = output;
    this.base = match[1]!;
  }

  /** The gateway's stderr so far. */
  stderr(): string {
    return this.output();
  }

  /** GET a JSON resource of the gateway. */
  async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.base}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`GET ${path} on gateway ${this.index}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** GET /metrics as text. */
  async metrics(): Promise<string> {
    const res = await fetch(`${this.base}/metrics`, { signal: AbortSignal.timeout(10_000) });
    return res.text();
  }

  /** Subscribe to /events for the reconciler's events; resolves once the stream is open. */
  subscribe(): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(`${this.base}/events?type=desired.applied&type=reconcile.failed`, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /events on gateway ${this.index}: ${res.statusCode}`));
          res.resume();
          return;
        }
        this.stream = res;
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').find((line) => line.startsWith('data: '));
            if (data) this.events.push({ event: JSON.parse(data.slice(6)) as GatewayEvent, receivedAt: Date.now() });
          }
        });
        res.on('error', () => undefined);
        resolve();
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Close the stream; SIGTERM, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    this.stream?.destroy();
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited(child);
    clearTimeout(timer);
  }
}
