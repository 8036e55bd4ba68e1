// Regenerates the README's curl tour from a real run (`npx tsx scripts/readme-tour.ts`; `--write` rewrites
// README.md, otherwise the new tour is printed). It starts a private libvirtd 9.0.0 and virtlogd with the test
// harness, opens the two idle clients the tour lists (connected to libvirtd's read-only socket, each having made
// its AUTH_LIST call), starts the gateway in front of both daemons on 127.0.0.1:8080 with its runtime folder in a
// temp dir, runs every `$ curl ...` command of the tour's console blocks in order and puts what it printed under
// it. The runtime folder is shown as /run/libvirt-admin-gateway (root's default); the log files the tour makes go
// into its log folder, never /var/log/libvirt. Runs as root (the harness runs libvirtd in system mode then).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../src/config.js';
import { startGateway } from '../src/server.js';
import { startRealDaemons } from '../test/harness/libvirtd.js';
import { openRawClients } from '../test/harness/raw-clients.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const SHOWN_RUNTIME_DIR = '/run/libvirt-admin-gateway';
const TOUR_START = '## A curl tour';
const TOUR_END = '## Configuration';

function sh(command: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', command], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an Error, typed through Omit<> by @types/node
      if (err && typeof err.code !== 'number') reject(err);
      else resolve(stdout + stderr);
    });
  });
}

const write = process.argv.includes('--write');
const readme = await readFile(README, 'utf8');
const start = readme.indexOf(TOUR_START);
const end = readme.indexOf(TOUR_END);
if (start < 0 || end < 0) throw new Error('README.md has no curl tour');

const daemons = await startRealDaemons();
const runtimeDir = await mkdtemp(join(tmpdir(), 'tour-'));
let stop: (() => Promise<void>) | undefined;
const clients = await openRawClients(daemons.readOnlyClientSocket, 2);
try {
  // Its log lines would mix with the printed tour.
  const argv = [
    '--log-level',
    'silent',
    '--runtime-dir',
    runtimeDir,
    '--allowed-log-dir',
    join(runtimeDir, 'log'),
    '--connect',
    daemons.adminUri('libvirtd'),
    '--connect',
    daemons.adminUri('virtlogd'),
  ];
  const invocation = loadConfig(argv, { ...process.env, LIBVIRT_ADMIN_GATEWAY_LISTEN: '127.0.0.1:8080' });
  const config = (invocation as { config: Config }).config;
  await mkdir(join(runtimeDir, 'log'), { recursive: true });
  const gateway = await startGateway(config, () => undefined);
  stop = () => gateway.close();
  const token = (await readFile(join(runtimeDir, 'local-token'), 'utf8')).trim();
  // The tour's own curl() (README: "first define"), with this run's token.
  const prelude = `curl() { command curl -H "Authorization: Bearer ${token}" "$@"; }\n`;
  const shown = (text: string) => text.replaceAll(runtimeDir, SHOWN_RUNTIME_DIR);

  let tour = readme.slice(start, end);
  // The command line of this run.
  tour = tour.replace(/```sh\nnode --import tsx src\/cli\.ts[^`]*```/, () =>
    [
      '```sh',
      `node --import tsx src/cli.ts --log-level warn --allowed-log-dir ${SHOWN_RUNTIME_DIR}/log \\`,
      `  --connect '${daemons.adminUri('libvirtd')}' \\`,
      `  --connect '${daemons.adminUri('virtlogd')}'`,
      '```',
    ].join('\n'),
  );
  const blocks = [...tour.matchAll(/```console\n(\$ curl [^\n]*)\n[\s\S]*?```/g)];
  let out = '';
  let last = 0;
  for (const block of blocks) {
    const command = block[1]!.slice(2);
    // The 503 example is about a daemon that is down.
    if (command.includes('retry-after')) await daemons.kill('libvirtd');
    const output = shown(await sh(prelude + command.replaceAll(SHOWN_RUNTIME_DIR, runtimeDir), process.env)).replace(
      /\n*$/,
      '\n',
    );
    out += tour.slice(last, block.index) + '```console\n' + block[1] + '\n' + output + '```';
    last = block.index + block[0].length;
  }
  out += tour.slice(last);
  if (write) {
    await writeFile(README, readme.slice(0, start) + out + readme.slice(end));
    process.stdout.write(`README.md: ${blocks.length} commands of the tour regenerated\n`);
  } else {
    process.stdout.write(out);
  }
} finally {
  clients.close();
  await stop?.();
  await daemons.stop();
  await rm(runtimeDir, { recursive: true, force: true });
}
