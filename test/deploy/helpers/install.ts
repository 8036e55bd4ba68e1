// Installing the gateway the way docs/deployment.md tells a host operator to: `npm pack` in the checkout
// (its `prepare` script builds dist/), then `npm install -g` of the tarball, here under a temporary prefix
// instead of /usr/local.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './helm.js';

/** Where a throwaway global install put things. */
export interface Installed {
  /** The --prefix folder (stands for /usr/local). */
  prefix: string;
  /** The installed command, like /usr/local/bin/libvirt-admin-gateway. */
  bin: string;
}

/** Packs the checkout and installs the tarball globally under a new temporary prefix. */
export function installGlobally(): Installed {
  const prefix = mkdtempSync(join(tmpdir(), 'gateway-prefix-'));
  try {
    return installInto(prefix);
  } catch (err) {
    rmSync(prefix, { recursive: true, force: true });
    throw err;
  }
}

function installInto(prefix: string): Installed {
  const env = {
    ...process.env,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  };
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', prefix], {
      cwd: repoRoot,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    }),
  ) as Array<{ filename: string }>;
  const tarball = join(prefix, packed[0]!.filename);
  execFileSync('npm', ['install', '--global', '--omit=dev', '--prefix', prefix, tarball], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  return { prefix, bin: join(prefix, 'bin', 'libvirt-admin-gateway') };
}
