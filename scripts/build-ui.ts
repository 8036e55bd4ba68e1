// Builds the dashboard (ui/) into dist/ui: one script, one style sheet, the page and its icon. `npm run build`
// runs it after the TypeScript compile; the browser tests call buildUi() into a temp folder of their own, so they
// always test the sources as they are. esbuild bundles and minifies; it does not type-check (test/ui/typecheck
// does, with ui/tsconfig.json).
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const UI = join(ROOT, 'ui');

/** The default output: where the gateway looks for the page (src/http/plugins/ui.ts, DEFAULT_UI_DIR). */
export const UI_OUT_DIR = join(ROOT, 'dist', 'ui');

/** Builds the page into `outDir` (emptied first) and returns the size of each file written. */
export async function buildUi(outDir: string = UI_OUT_DIR): Promise<Record<string, number>> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(UI, 'src', 'main.ts') },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome120', 'firefox120', 'safari17'],
    platform: 'browser',
    // The page has no source maps in production: nothing to serve but the four files.
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    // The CSS imported by main.ts (ours and uPlot's) becomes app.css.
    loader: { '.css': 'css' },
  });
  for (const file of ['index.html', 'icon.svg']) await copyFile(join(UI, file), join(outDir, file));
  const sizes: Record<string, number> = {};
  for (const name of await readdir(outDir)) sizes[name] = (await stat(join(outDir, name))).size;
  return sizes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = await buildUi(process.argv[2] ?? UI_OUT_DIR);
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  // stderr: `npm pack --json` runs `prepare` and reads its stdout as JSON.
  process.stderr.write(
    `built the dashboard: ${Object.entries(sizes)
      .map(([n, s]) => `${n} ${s} B`)
      .join(', ')}; ${total} B in all\n`,
  );
}
