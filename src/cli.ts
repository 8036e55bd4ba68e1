#!/usr/bin/env -S node --max-semi-space-size=8 --max-old-space-size=128
// The heap flags above (also in package.json's start script and the Dockerfile's entry point) bound the resident
// size under load: left to its defaults on a large host, V8 lets garbage grow to hundreds of MiB before it
// collects. The live heap is about 35 MiB; 128 MiB of old space leaves room for bursts. Peak RSS at 1,000
// connections (npm run bench, 2026-11-28): Node 20 127 MiB (135 on defaults), Node 24 153 MiB (202 on defaults).
import { ConfigError, loadConfig } from './config.js';
import { StartupError, runGateway } from './server.js';
import { readProcessStdin, runHashToken } from './security/hash-token.js';

/** Exit status for a bad command line or environment (as getopt-style tools use). */
const EXIT_USAGE = 2;

async function main(): Promise<number> {
  // `hash-token` makes a tokens-file line; it never starts the gateway.
  if (process.argv[2] === 'hash-token') {
    return runHashToken(process.argv.slice(3), {
      readStdin: readProcessStdin,
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
    });
  }
  let invocation;
  try {
    invocation = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`libvirt-admin-gateway: ${err.message}\nTry 'libvirt-admin-gateway --help'.\n`);
    return EXIT_USAGE;
  }
  if (invocation.kind !== 'run') {
    process.stdout.write(invocation.text);
    return 0;
  }
  try {
    await runGateway(invocation.config);
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    process.stderr.write(`libvirt-admin-gateway: ${err.message}\n`);
    return err.exitCode;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`libvirt-admin-gateway: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
