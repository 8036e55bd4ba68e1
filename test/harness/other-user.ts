// Another user than the one running the tests (root in CI): `nobody`, through util-linux's setpriv.
import { execFile, type ChildProcess } from 'node:child_process';

/** uid and gid of `nobody`. */
export const NOBODY = 65534;

/** `node -e code` as nobody. */
export function nodeAsNobody(code: string): ChildProcess {
  return execFile('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', code]);
}

/** GET `url` as nobody: status and body. */
export function getAsNobody(url: string): Promise<{ status: number; body: string }> {
  const code =
    `require('node:http').get(${JSON.stringify(url)},(r)=>{let b='';r.setEncoding('utf8');r.on('data',(c)=>b+=c);` +
    `r.on('end',()=>{process.stdout.write(JSON.stringify({status:r.statusCode,body:b}))})}).on('error',(e)=>{console.error(e.message);process.exit(1)})`;
  return new Promise((resolve, reject) => {
    execFile('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', code], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as { status: number; body: string }),
    );
  });
}

/** An HTTP answer as another user's process saw it. */
export interface NobodyAnswer {
  status: number;
  body: string;
}

/** Any HTTP request as nobody (a separate process, so the kernel sees another user): status and body. */
export function requestAsNobody(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<NobodyAnswer> {
  const code =
    `const o=${JSON.stringify({ method: options.method ?? 'GET', headers: options.headers ?? {} })};` +
    `const r=require('node:http').request(${JSON.stringify(url)},o,(res)=>{let b='';res.setEncoding('utf8');` +
    `res.on('data',(c)=>b+=c);res.on('end',()=>process.stdout.write(JSON.stringify({status:res.statusCode,body:b})))});` +
    `r.on('error',(e)=>{console.error(e.message);process.exit(1)});r.end(${JSON.stringify(options.body ?? '')});`;
  return new Promise((resolve, reject) => {
    execFile('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', code], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as NobodyAnswer),
    );
  });
}
