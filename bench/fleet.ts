// npm run bench:fleet [-- --size 50 --reconcile-interval 5000 --restarts 8 --window 10000 --hold 20000 --seed 15 --name fleet-50]
// The fleet simulation of issue 15 (bench/lib/fleet.ts says what it does). Writes bench/results/fleet/<name>.json
// (every figure) and <name>.md (the summary), prints the summary, and exits 1 when a gateway did not converge, a
// restarted daemon was not brought back, or any daemon lost a declared setting.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildGateway, REPO_ROOT } from './lib/gateway-process.js';
import { FLEET_DOCUMENTS, runFleet, type FleetResult } from './lib/fleet.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '50' },
    'reconcile-interval': { type: 'string', default: '5000' },
    restarts: { type: 'string', default: '8' },
    window: { type: 'string', default: '10000' },
    hold: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '6' },
    timeout: { type: 'string', default: '60000' },
    name: { type: 'string' },
    // Run the gateways from src/ through tsx instead of building them (slower to start, more memory).
    tsx: { type: 'boolean', default: false },
  },
});

const size = Number(values.size);
const name = values.name ?? `fleet-${size}`;
const work = await mkdtemp(join(tmpdir(), 'fleet-bench-'));
const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const loadBefore = loadavg();
let result: FleetResult;
try {
  let gatewayCli: string | undefined;
  if (!values.tsx) {
    log('building the gateway (tsc)');
    gatewayCli = await buildGateway(join(work, 'build'));
  }
  result = await runFleet({
    size,
    dir: join(work, 'fleet'),
    ...(gatewayCli ? { gatewayCli } : {}),
    reconcileIntervalMs: Number(values['reconcile-interval']),
    restartsPerChange: Number(values.restarts),
    restartWindowMs: Number(values.window),
    holdMs: Number(values.hold),
    startConcurrency: Number(values.concurrency),
    convergeTimeoutMs: Number(values.timeout),
    seed: Number(values.seed),
    log,
  });
} finally {
  await rm(work, { recursive: true, force: true });
}
const conditions = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadAverageBefore: loadBefore.map((l) => Math.round(l * 100) / 100),
  loadAverageAfter: loadavg().map((l) => Math.round(l * 100) / 100),
  gateways: values.tsx ? 'src/cli.ts through tsx' : 'built with tsc, plain node with the shipped heap flags',
  documents: FLEET_DOCUMENTS,
};
const outDir = join(REPO_ROOT, 'bench', 'results', 'fleet');
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, `${name}.json`), `${JSON.stringify({ conditions, result }, null, 2)}\n`);
const summary = summarize(result, conditions);
await writeFile(join(outDir, `${name}.md`), summary);
process.stdout.write(summary);
if (result.failures.length > 0) {
  process.stderr.write(`FAILED:\n${result.failures.map((f) => `  ${f}`).join('\n')}\n`);
  process.exitCode = 1;
}

function summarize(r: FleetResult, c: typeof conditions): string {
  const lines = [
    `# Fleet simulation: ${r.size} gateways, each with its own embedded daemon`,
    '',
    `${c.date}, Node ${c.node}, ${c.cpus} CPUs shared with other engineers (load average ${c.loadAverageBefore.join('/')} before, ` +
      `${c.loadAverageAfter.join('/')} after), ${c.memoryGiB} GiB. Gateways: ${c.gateways}. ` +
      `--reconcile-interval ${r.reconcileIntervalMs} ms. ${r.restartsPerChange} daemons SIGKILLed and restarted per change: ` +
      `the first just before the swap (down when the file changes), the others at random times within ${r.restartWindowMs} ms ` +
      `after it (seed ${r.seed}); at least ${r.holdMs} ms from one swap to the next. Run took ${Math.round(r.durationMs / 1000)} s.`,
    '',
    `Changes: ${c.documents.length - 1} (the declarations are in the JSON; the last is a rollback to the first change). ` +
      'Convergence: ms from the atomic swap of `..data` to the `desired.applied` event (gateway clock) that completed the ' +
      "change on that gateway, each then confirmed by the gateway's status (converged, the new declaration, source file). " +
      'Restored: ms from a restarted daemon listening again to its settings read back as declared, directly from its ' +
      'admin socket (AdminClient, polled every 50 ms).',
    '',
    '| change | p50 ms | p99 ms | max ms (all converged) | not converged | undisturbed gateways p50/p99/max ms | restarts: daemon, killed at ms after the swap: restored ms after its return |',
    '|---|---|---|---|---|---|---|',
    ...r.changes.map(
      (ch) =>
        `| ${ch.change} | ${ch.p50Ms} | ${ch.p99Ms} | ${ch.allConvergedMs ?? 'never'} | ${ch.notConverged.length} | ` +
        `${ch.undisturbed.p50Ms}/${ch.undisturbed.p99Ms}/${ch.undisturbed.maxMs} | ` +
        `${ch.restarts.map((x) => `d${x.daemon} ${x.killedAfterSwapMs}: ${x.restoredMs ?? 'never'}`).join(', ')} |`,
    ),
    `| all | ${r.converge.p50Ms} | ${r.converge.p99Ms} | ${r.converge.maxMs} | | | ${r.restored.count} restarts: restored p50 ` +
      `${r.restored.p50Ms} ms, p99 ${r.restored.p99Ms} ms, max ${r.restored.maxMs} ms, ${r.restored.notRestored} not restored |`,
    '',
    `Per daemon, from its gateway's /metrics, over the ${Math.round(r.changesPhaseMs / 1000)} s of the changes ` +
      `(periodic runs alone: about ${Math.round(r.changesPhaseMs / r.reconcileIntervalMs)}): reconciliations min/p50/max ` +
      `${fmt(r.reconcilesPerDaemon)}, admin RPC calls ${fmt(r.adminCallsPerDaemon)}; failed reconciliations (daemon down) ` +
      `${r.reconcileFailuresTotal} in all. Since each gateway's start: reconciliations ${fmt(r.sinceStart.reconcilesPerDaemon)}, ` +
      `admin RPC calls ${fmt(r.sinceStart.adminCallsPerDaemon)}.`,
    `Start: daemons ${r.startMs.daemons} ms, gateways ${r.startMs.gateways} ms, first convergence ${r.startMs.initialConvergence} ms.`,
    `RSS at the end: gateways ${r.rssMiB.gatewaysEnd} MiB (${r.rssMiB.perGatewayEnd} each), daemons ${r.rssMiB.daemonsEnd} MiB ` +
      `(${r.rssMiB.perDaemonEnd} each), total ${r.rssMiB.totalEnd} MiB; peak total ${r.rssMiB.totalPeak} MiB.`,
    `Declared settings lost at the end, every daemon read directly (AdminClient: ${r.checked.adminClient} daemons, ` +
      `virt-admin 9.0.0: ${r.checked.virtAdmin} daemons): ${r.lost.length}.`,
    r.failures.length === 0 ? 'Result: PASS' : `Result: FAIL\n\n${r.failures.map((f) => `- ${f}`).join('\n')}`,
    '',
  ];
  return lines.join('\n');
}

function fmt(s: { min: number; p50: number; max: number }): string {
  return `${s.min}/${s.p50}/${s.max}`;
}
