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
