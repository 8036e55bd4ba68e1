// A throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for localhost and
// 127.0.0.1, client certificates signed by the CA, and one signed by a CA nobody trusts.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM key and certificate of one party. */
export interface KeyPair {
  key: Buffer;
  cert: Buffer;
  keyPath: string;
  certPath: string;
}

/** The files of a test PKI; remove() deletes them. */
export interface TestPki {
  dir: string;
  ca: KeyPair;
  server: KeyPair;
  /** A client certificate with this CN, signed by the CA. */
  client(cn: string): Promise<KeyPair>;
  /** A client certificate with this CN, signed by a CA the server does not trust. */
  untrustedClient(cn: string): Promise<KeyPair>;
  remove(): Promise<void>;
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

async function selfSigned(dir: string, name: string, cn: string): Promise<KeyPair> {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  await run('openssl', [
    'req',
    '-x509',
    ...KEY_ARGS,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { keyPath, certPath, key: await readFile(keyPath), cert: await readFile(certPath) };
}

async function signed(dir: string, ca: KeyPair, name: string, cn: string, extensions: string): Promise<KeyPair> {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  const csrPath = join(dir, `${name}.csr`);
  const extPath = join(dir, `${name}.ext`);
  await writeFile(extPath, extensions);
  await run('openssl', ['req', '-new', ...KEY_ARGS, '-subj', `/CN=${cn}`, '-keyout', keyPath, '-out', csrPath]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    extPath,
    '-out',
    certPath,
  ]);
  return { keyPath, certPath, key: await readFile(keyPath), cert: await readFile(certPath) };
}

const SERVER_EXT =
  'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n';
const CLIENT_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n';

/** Makes a CA and a server certificate in a new temp dir. */
export async function makePki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'pki-'));
  const ca = await selfSigned(dir, 'ca', 'gateway test CA');
  const server = await signed(dir, ca, 'server', 'localhost', SERVER_EXT);
  let rogue: KeyPair | undefined;
  let n = 0;
  return {
    dir,
    ca,
    server,
    client: (cn) => signed(dir, ca, `client-${n++}`, cn, CLIENT_EXT),
    async untrustedClient(cn) {
      rogue ??= await selfSigned(dir, 'rogue-ca', 'rogue CA');
      return signed(dir, rogue, `rogue-${n++}`, cn, CLIENT_EXT);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
