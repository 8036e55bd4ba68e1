import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBundleLiteral, loadReferenceBundle } from '../../src/http/reference-bundle.js';
import { scriptServedByThePackage } from '../helpers/scalar-reference.js';

const MiB = 1024 * 1024;
/** A stand-in bundle body: large enough, and defining the global a real one defines. */
const FILLER = `${'a'.repeat(MiB)}window.Scalar={createApiReference:f}`;

/** A module source holding `literal` (written as the source would spell it) the way the package's build does. */
const source = (literal: string, rest = '";\n//#endregion\nfunction getJavaScriptFile() {}\n') =>
  Buffer.from(`import x from "y";\n//#region standalone.js?raw\nvar standalone_default = "${literal}${rest}`);

describe('reading the reference bundle out of its package', () => {
  it('decodes the three escapes the bundler writes and copies every other byte, UTF-8 included', () => {
    const decoded = decodeBundleLiteral(source(`${FILLER}\\"q\\" \\\\ back\\nline é→😀\t`), 'test');
    const expected = Buffer.concat([
      Buffer.from(FILLER),
      Buffer.from([0x22, 0x71, 0x22, 0x20, 0x5c, 0x20]),
      Buffer.from('back\nline '),
      Buffer.from([0xc3, 0xa9, 0xe2, 0x86, 0x92, 0xf0, 0x9f, 0x98, 0x80, 0x09]),
    ]);
    assert.ok(decoded.equals(expected));
  });

  it('ends at the first unescaped quote', () => {
    const decoded = decodeBundleLiteral(source(`${FILLER}\\"`, '"; var other = "\\x41";'), 'test');
    assert.equal(decoded.toString(), `${FILLER}"`);
  });

  it('refuses a source whose layout is not the one it knows, naming the package and the reason', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from('export default 1;'), /expected one `var standalone_default = "`/],
      [Buffer.concat([source(FILLER), source(FILLER)]), /expected one `var standalone_default = "`/],
      [source(`${FILLER}\\x41`), /unexpected escape \\x at byte \d+/],
      [source(`${FILLER}\\\n`), /unexpected escape/],
      [source(FILLER, ''), /the string literal does not end/],
      [source('window.Scalar={createApiReference:f}'), /the literal \(\d+ bytes\) is not the standalone bundle/],
      [source('a'.repeat(2 * MiB)), /is not the standalone bundle/],
    ];
    for (const [text, reason] of cases) {
      assert.throws(
        () => decodeBundleLiteral(text, '/x/index.js'),
        (err: Error) =>
          err.message.startsWith(
            'cannot read the API reference bundle from @scalar/fastify-api-reference (/x/index.js): ',
          ) && reason.test(err.message),
        reason.source,
      );
    }
  });

  it('reads from the installed package exactly the script its own plugin serves', async () => {
    const [ours, theirs] = await Promise.all([loadReferenceBundle(), scriptServedByThePackage()]);
    assert.ok(ours.equals(theirs), `${ours.length} bytes read, ${theirs.length} served by the package`);
  });
});
