// `npm run bench:compare -- <report.json>...`: several benchmark reports (npm run bench -- --out <file>) side by
// side, grouped by the node version that ran them: for every row and memory figure, the median of the runs and
// their range (min-max), one column per node version. The machine is shared, so one run proves little: run each
// version a few times, alternating, and compare the spreads as well as the medians. Prints a Markdown table.
import { readFile } from 'node:fs/promises';
import type { BenchReport } from './lib/report.js';

const MiB = 1024 * 1024;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** "median (min-max)", or the one value of a single run. */
function spread(values: number[], digits: number): string {
  if (values.length === 0) return '-';
  const f = (v: number) => v.toFixed(digits);
  if (values.length === 1) return f(values[0]!);
  return `${f(median(values))} (${f(Math.min(...values))}-${f(Math.max(...values))})`;
}

/** The same measurement in every report: operation, daemon, via and concurrency. */
const rowKey = (r: BenchReport['rows'][number]) => `${r.operation} | ${r.daemon} | ${r.via} | ${r.concurrency}`;

async function main(): Promise<void> {
  const paths = process.argv.slice(2);
  if (paths.length === 0) throw new Error('usage: npm run bench:compare -- <report.json>...');
  const reports = await Promise.all(paths.map(async (p) => JSON.parse(await readFile(p, 'utf8')) as BenchReport));
  const versions = [...new Set(reports.map((r) => r.machine.node))].sort((a, b) =>
    a.localeCompare(b, 'en', { numeric: true }),
  );
  const byVersion = new Map(versions.map((v) => [v, reports.filter((r) => r.machine.node === v)]));
  const keys = [...new Set(reports.flatMap((r) => r.rows.map(rowKey)))];

  const header = ['operation', 'daemon', 'via', 'conc', ...versions.flatMap((v) => [`${v} ops/s`, `${v} p99 ms`])];
  const lines = [header, header.map(() => '---')];
  for (const key of keys) {
    const cells = key.split(' | ');
    for (const v of versions) {
      const rows = byVersion.get(v)!.flatMap((r) => r.rows.filter((row) => rowKey(row) === key));
      cells.push(
        spread(
          rows.map((r) => r.perSecond),
          0,
        ),
      );
      cells.push(
        spread(
          rows.flatMap((r) => (r.p99Ms === null ? [] : [r.p99Ms])),
          2,
        ),
      );
    }
    lines.push(cells);
  }
  const memoryKeys = [...new Set(reports.flatMap((r) => Object.keys(r.memory)))];
  for (const key of memoryKeys) {
    const bytes = key.endsWith('Bytes');
    const cells = [bytes ? `${key.replace(/Bytes$/, '')} (MiB)` : key, '', '', ''];
    for (const v of versions) {
      cells.push(
        spread(
          byVersion.get(v)!.map((r) => r.memory[key]! / (bytes ? MiB : 1)),
          bytes ? 1 : 0,
        ),
        '',
      );
    }
    lines.push(cells);
  }
  const runs = versions.map((v) => `${v}: ${byVersion.get(v)!.length} run(s)`).join(', ');
  process.stdout.write(`${lines.map((l) => `| ${l.join(' | ')} |`).join('\n')}\n\nmedian (min-max) of ${runs}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
