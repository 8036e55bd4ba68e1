/**
 * The browser bundle of the Scalar API reference (`@scalar/api-reference`'s standalone build), as bytes.
 *
 * The package we depend on, `@scalar/fastify-api-reference`, does not ship the bundle as a file: its build
 * inlines it as one string literal (`var standalone_default = "..."`) in dist/index.js, next to a Fastify plugin
 * that serves it. Importing that module costs ~20 MiB of heap for good (the 4 MB string and the OpenAPI parser it
 * imports), and its route turns the string into a new 4 MB buffer for every request. We read the file instead and
 * decode the literal once into one Buffer, without building any string on the heap.
 *
 * The literal is written by the package's bundler, which escapes only `"`, `\` and newline (other bytes, UTF-8
 * included, are as they are in the file). Anything else means the package's layout changed: we refuse it with an
 * error naming the package rather than serve a broken script; the docs tests compare the result with what the
 * package's own plugin serves.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The package that carries the bundle. */
export const BUNDLE_PACKAGE = '@scalar/fastify-api-reference';

/** What opens the literal in the package's dist/index.js. */
const OPENING = Buffer.from('var standalone_default = "');
/** The one escape sequences the bundler writes: byte after the backslash, and the byte it stands for. */
const ESCAPES: ReadonlyMap<number, number> = new Map([
  [0x22, 0x22], // \"
  [0x5c, 0x5c], // \\
  [0x6e, 0x0a], // \n
]);
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
/** A real bundle is megabytes long and defines this global; less means we found something else. */
const MIN_BYTES = 1024 * 1024;
const DEFINES = 'window.Scalar={createApiReference:';

/** Reads the bundle out of the installed package. */
export async function loadReferenceBundle(): Promise<Buffer> {
  const path = fileURLToPath(import.meta.resolve(BUNDLE_PACKAGE));
  return decodeBundleLiteral(await readFile(path), path);
}

/** The bundle's bytes from the package's module source (`where` names the file in errors). */
export function decodeBundleLiteral(source: Buffer, where: string): Buffer {
  const fail = (why: string) =>
    new Error(`cannot read the API reference bundle from ${BUNDLE_PACKAGE} (${where}): ${why}`);
  const opening = source.indexOf(OPENING);
  if (opening < 0 || source.indexOf(OPENING, opening + 1) >= 0) throw fail('expected one `var standalone_default = "`');
  const start = opening + OPENING.length;
  // Two passes over the bytes: find the end and count the escapes, then copy into a buffer of the exact size.
  let end = start;
  let escapes = 0;
  for (; end < source.length && source[end] !== QUOTE; end++) {
    if (source[end] !== BACKSLASH) continue;
    if (!ESCAPES.has(source[end + 1]!))
      throw fail(`unexpected escape \\${String.fromCharCode(source[end + 1] ?? 0x3f)} at byte ${end}`);
    escapes++;
    end++;
  }
  if (end >= source.length) throw fail('the string literal does not end');
  const bundle = Buffer.allocUnsafeSlow(end - start - escapes);
  let to = 0;
  for (let from = start; from < end;) {
    const next = source.indexOf(BACKSLASH, from);
    const stop = next < 0 || next > end ? end : next;
    to += source.copy(bundle, to, from, stop);
    if (stop === end) break;
    bundle[to++] = ESCAPES.get(source[stop + 1]!)!;
    from = stop + 2;
  }
  if (bundle.length < MIN_BYTES || bundle.indexOf(DEFINES) < 0)
    throw fail(`the literal (${bundle.length} bytes) is not the standalone bundle`);
  return bundle;
}
