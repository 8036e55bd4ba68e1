// The gateway as a child process started the way an operator starts it (src/cli.ts), for tests that attack it
// from other processes: its start-up banner, its JSON log lines (audit records included) and a clean stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A running gateway process. */
export interface GatewayProcess {
  child: ChildProcess;
  /** The TCP base URL from the banner, e.g. http://127.0.0.1:40123. */
  url: string;
  /** The banner's lines (stderr up to the docs line). */
  banner: string[];
  /** The JSON log lines so far. */
  lines(): Array<Record<string, unknown>>;
  /** The audit records so far. */
  audit(): Array<Record<string, unknown>>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

// The gateway reads its options from the environment too: children must not inherit any.
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(
    ([k]) => !k.startsWith('LIBVIRT_ADMIN_GATEWAY_') && k !== 'RUNTIME_DIRECTORY',
  );
  return { ...Object.fromEntries(inherited), ...extra };
}

/** Starts `src/cli.ts --listen 127.0.0.1:0 ...args` and resolves once its banner is complete. */
export async function startGatewayProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--listen', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    env: cleanEnv(env),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 30 s:\n${stderr}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/\n {2}docs: .*\n/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${stderr}`));
    });
  });
  const banner = stderr.split('\n').filter((line) => line !== '');
  const url = /listening on (\S+)/.exec(banner[0] ?? '')?.[1] ?? '';
  const lines = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    child,
    url,
    banner,
    lines,
    audit: () => lines().filter((line) => line['audit'] === true),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs `src/cli.ts ...args` to its end (30 s at most): exit code and stderr. */
export function runGatewayProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: cleanEnv(env),
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
