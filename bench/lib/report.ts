// The benchmark's one table and its JSON file.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Figures } from './measure.js';

/** A target of issue 7, checked against the figures of this run. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

/** Everything a run produced. */
export interface BenchReport {
  startedAt: string;
  durationS: number;
  machine: { cpus: number; node: string; libvirt: string };
  rows: Figures[];
  memory: Record<string, number>;
  targets: TargetCheck[];
  notes: string[];
}

const fmt = (v: number | null, digits = 2) => (v === null || Number.isNaN(v) ? '-' : v.toFixed(digits));

/** The table as text: one line per row, columns aligned. */
export function formatTable(rows: Figures[]): string {
  const header = ['operation', 'daemon', 'via', 'conc', 'ops/s', 'p50 ms', 'p99 ms', 'mean ms', 'errors'];
  const lines = rows.map((r) => [
    r.operation,
    r.daemon,
    r.via,
    String(r.concurrency),
    r.perSecond.toFixed(0),
    fmt(r.p50Ms),
    fmt(r.p99Ms),
    fmt(r.meanMs),
    r.errors === 0 ? '0' : `${r.errors}${r.statuses ? ` ${JSON.stringify(r.statuses)}` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const numeric = new Set([3, 4, 5, 6, 7]);
  const row = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [row(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(row)].join('\n');
}

/** The targets as text, one line each. */
export function formatTargets(targets: TargetCheck[]): string {
  return targets.map((t) => `${t.met ? 'MET   ' : 'NOT MET'}  ${t.target}: ${t.measured}`).join('\n');
}

/** Writes the report as JSON, creating the folder. */
export async function writeReport(path: string, report: BenchReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
