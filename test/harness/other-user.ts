// Other users than the one running the tests (root in CI): `nobody`, or any uid, through util-linux's setpriv.
import { execFile } from 'node:child_process';

/** uid and gid of `nobody`. */
export const NOBODY = 65534;

/** setpriv's arguments to run as `uid` (its own gid, no supplementary groups). */
function asUser(uid: number): string[] {
  return [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
}

/** The outcome of a program run as another user. */
export interface UserRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node ...args` as `uid` until it exits (60 s at most) and returns its exit code and output; `env` replaces
 * the environment. A non-zero exit is a result, not an error.
 */
export function runNodeAs(
  uid: number,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<UserRun> {
  return new Promise((resolve, reject) => {
    execFile(
      'setpriv',
      [...asUser(uid), process.execPath, ...args],
      { env: options.env ?? { PATH: process.env['PATH'] ?? '' }, cwd: options.cwd, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(new Error(`${err.message}\n${stderr}`));
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** `node -e code` as nobody, to its end; fails unless it exits 0. Returns its stdout. */
export async function runAsNobody(code: string): Promise<string> {
  const run = await runNodeAs(NOBODY, ['-e', code]);
  if (run.code !== 0)
    throw new Error(`node as nobody exited ${run.code}:
${run.stderr}`);
  return run.stdout;
}

/** An HTTP answer as another user's process saw it. */
export interface NobodyAnswer {
  status: number;
  body: string;
}

/** Any HTTP request as nobody (a separate process, so the kernel sees another user): status and body. */
export async function requestAsNobody(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<NobodyAnswer> {
  const code =
    `const o=${JSON.stringify({ method: options.method ?? 'GET', headers: options.headers ?? {} })};` +
    `const r=require('node:http').request(${JSON.stringify(url)},o,(res)=>{let b='';res.setEncoding('utf8');` +
    `res.on('data',(c)=>b+=c);res.on('end',()=>process.stdout.write(JSON.stringify({status:res.statusCode,body:b})))});` +
    `r.on('error',(e)=>{console.error(e.message);process.exit(1)});r.end(${JSON.stringify(options.body ?? '')});`;
  return JSON.parse(await runAsNobody(code)) as NobodyAnswer;
}
