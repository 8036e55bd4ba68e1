// Reading outputs and filters strings as the daemon will act on them: the attack strings of issue 11 and their
// neighbours, with the expected reading or refusal written out by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoggingSyntaxError } from '../../src/admin/logging/syntax-error.js';
import { ErrorCode } from '../../src/rpc/errors.js';
import {
  findForbiddenCharacter,
  LogStringRefusedError,
  readFilters,
  readOutputs,
} from '../../src/security/log-strings.js';

const DIR = '/var/log/libvirt';

/** The outputs as libvirtd's GET would list them after the string was set. */
function listed(text: string): string | null {
  const outputs = readOutputs(text).outputs;
  if (outputs === null) return null;
  return outputs
    .map((o) =>
      [o.level, o.destination, ...(o.path !== undefined ? [o.path] : o.ident !== undefined ? [o.ident] : [])].join(':'),
    )
    .join(' ');
}

/** Asserts a LogStringRefusedError (400) naming `token`, whose message matches `reason`. */
function refused(fn: () => unknown, token: string, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LogStringRefusedError, `expected LogStringRefusedError, got ${String(err)}`);
    assert.equal(err.code, ErrorCode.INVALID_ARGUMENT);
    assert.equal(err.token, token);
    assert.ok(err.message.includes(JSON.stringify(token)), err.message);
    assert.match(err.message, reason);
    return true;
  });
}

/** Asserts libvirt's own syntax error, word for word. */
function libvirtRefuses(fn: () => unknown, detail: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LoggingSyntaxError, `expected LoggingSyntaxError, got ${String(err)}`);
    assert.equal(err.message, `invalid argument: ${detail}`);
    return true;
  });
}

describe('findForbiddenCharacter', () => {
  const cases: [string, number, string, RegExp][] = [
    ['a\u0000b', 1, 'U+0000', /^NUL, where the daemon would stop reading$/],
    ['ab\n', 2, 'U+000A', /^LF, a control character$/],
    ['\r', 0, 'U+000D', /^CR/],
    ['x\ty', 1, 'U+0009', /^TAB/],
    ['\u001b[31m', 0, 'U+001B', /^ESC/],
    ['\u007f', 0, 'U+007F', /^DEL/],
    ['\u0085', 0, 'U+0085', /^NEL/],
    ['\u009b', 0, 'U+009B', /^a control character$/],
    ['日本\u2028', 2, 'U+2028', /^LINE SEPARATOR, a line break$/],
    ['\u2029', 0, 'U+2029', /^PARAGRAPH SEPARATOR/],
    ['ok\ud800', 2, 'U+D800', /surrogate/],
    ['\udc00', 0, 'U+DC00', /surrogate/],
    ['😀\u0000', 2, 'U+0000', /NUL/], // an emoji is two UTF-16 units and fine
  ];
  for (const [text, index, codePoint, reason] of cases) {
    it(`${JSON.stringify(text)}: ${codePoint} at ${index}`, () => {
      const found = findForbiddenCharacter(text);
      assert.ok(found);
      assert.deepEqual([found.index, found.codePoint], [index, codePoint]);
      assert.match(found.reason, reason);
    });
  }

  it('lets printable text through, ASCII or not', () => {
    for (const text of [
      '',
      ' ',
      '1:file:/var/log/libvirt/x.log',
      'ünï cödé 日本 😀',
      'a\u00a0b',
      'e\u0301',
      '\u00a0\u00ff\u0100',
    ]) {
      assert.equal(findForbiddenCharacter(text), null, JSON.stringify(text));
    }
  });
});

describe('readOutputs: strings the gateway sends', () => {
  const cases: [string, string | null][] = [
    ['', null], // libvirtd's default output
    [' 1:stderr   2:journald ', '1:stderr 2:journald'],
    ['+1:stderr', '1:stderr'],
    ['01:stderr 004:journald', '1:stderr 4:journald'],
    ['1:syslog:', '1:syslog:'],
    ['2:syslog:ïdent-日本', '2:syslog:ïdent-日本'],
    [`1:file:${DIR}/a.log 2:file:${DIR}/a.log`, `2:file:${DIR}/a.log`],
    [`1:file:${DIR}//./b.log/`, `1:file:${DIR}/b.log`],
    [`1:file:${DIR}/ünï-日本.log`, `1:file:${DIR}/ünï-日本.log`],
    [`1:file:${DIR}/e\u0301.log`, `1:file:${DIR}/e\u0301.log`], // no Unicode normalisation: the bytes as given
    [`1:file:${DIR}/a\u00a0b.log`, `1:file:${DIR}/a\u00a0b.log`], // a no-break space does not separate
    [`1:file:${DIR}/${'a'.repeat(255)}`, `1:file:${DIR}/${'a'.repeat(255)}`], // NAME_MAX exactly
    [`1:file:${DIR}/${'é'.repeat(127)}x`, `1:file:${DIR}/${'é'.repeat(127)}x`], // 255 bytes in 128 characters
    [`1:file:${DIR}/../libvirt/c.log`, `1:file:${DIR}/c.log`], // read as libvirt does; the policy then refuses '..'
    ['1:file:rel.log', '1:file:/rel.log'], // likewise: the policy refuses relative paths
    [`1:syslog:${'x'.repeat(60_000)}`, `1:syslog:${'x'.repeat(60_000)}`],
    [Array(2000).fill('1:stderr').join(' '), '1:stderr'],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text.length > 80 ? `${text.slice(0, 60)}… (${text.length})` : text), () =>
      assert.equal(listed(text), expected),
    );
  }

  it('lists every token, duplicates included, since libvirtd opens each file while it parses', () => {
    const { tokens, outputs } = readOutputs(`1:file:${DIR}/a.log 3:stderr 2:file:${DIR}/./a.log`);
    assert.deepEqual(
      tokens.map((t) => t.raw),
      [`1:file:${DIR}/a.log`, '3:stderr', `2:file:${DIR}/./a.log`],
    );
    assert.deepEqual(
      tokens.map((t) => t.path),
      [`${DIR}/a.log`, undefined, `${DIR}/a.log`],
    );
    assert.equal(outputs?.length, 2);
  });
});

describe('readOutputs: strings the gateway refuses with a message of its own', () => {
  const cases: [name: string, text: string, token: string, reason: RegExp][] = [
    [
      'the NUL attack of issue 11',
      '1:file:/ANY/PATH\u0000:x',
      '1:file:/ANY/PATH\u0000:x',
      /U\+0000 \(NUL, where the daemon would stop reading\)/,
    ],
    [
      'NUL hiding a second token',
      `3:stderr 1:file:${DIR}/ok.log\u0000 1:file:/etc/x`,
      `1:file:${DIR}/ok.log\u0000`,
      /U\+0000/,
    ],
    ['NUL at the end', '1:stderr\u0000', '1:stderr\u0000', /U\+0000/],
    ['LF between tokens', '1:stderr\n1:file:/etc/x', '1:stderr\n1:file:/etc/x', /U\+000A \(LF/],
    ['CR LF at the end', '1:stderr\r\n', '1:stderr\r\n', /U\+000D \(CR/],
    ['TAB as a separator', '1:stderr\t2:journald', '1:stderr\t2:journald', /U\+0009 \(TAB/],
    ['TAB before a level (strtoul would skip it)', '\t1:file:/etc/x', '\t1:file:/etc/x', /U\+0009/],
    ['VT before a level', '\u000b1:stderr', '\u000b1:stderr', /U\+000B \(VT/],
    ['ESC sequence in a path', `1:file:${DIR}/x\u001b[31m.log`, `1:file:${DIR}/x\u001b[31m.log`, /U\+001B \(ESC/],
    ['DEL in a path', `1:file:${DIR}/x\u007f`, `1:file:${DIR}/x\u007f`, /U\+007F \(DEL/],
    ['C1 NEL in an ident', '1:syslog:a\u0085b', '1:syslog:a\u0085b', /U\+0085 \(NEL/],
    ['C1 CSI in a path', `1:file:${DIR}/\u009b.log`, `1:file:${DIR}/\u009b.log`, /U\+009B/],
    ['a line separator in an ident', '1:syslog:a\u2028b', '1:syslog:a\u2028b', /U\+2028 \(LINE SEPARATOR/],
    ['an unpaired high surrogate', `1:file:${DIR}/\ud800.log`, `1:file:${DIR}/\ud800.log`, /U\+D800 .*surrogate/],
    ['an unpaired low surrogate', `1:file:${DIR}/\udc00`, `1:file:${DIR}/\udc00`, /U\+DC00/],
    [
      'a component longer than NAME_MAX',
      `1:file:${DIR}/${'a'.repeat(256)}`,
      `1:file:${DIR}/${'a'.repeat(256)}`,
      /longer than 255 bytes \(NAME_MAX\)/,
    ],
    ['NAME_MAX counted in bytes', `1:file:${DIR}/${'é'.repeat(128)}`, `1:file:${DIR}/${'é'.repeat(128)}`, /NAME_MAX/],
    [
      'a path longer than PATH_MAX',
      `1:file:${DIR}/${'d/'.repeat(2040)}x`,
      `1:file:${DIR}/${'d/'.repeat(2040)}x`,
      /longer than 4095 bytes \(PATH_MAX\)/,
    ],
  ];
  for (const [name, text, token, reason] of cases) {
    it(name, () => refused(() => readOutputs(text), token, reason));
  }
});

describe("readOutputs: strings refused in libvirt's own words (never left to the daemon)", () => {
  const cases: [string, string][] = [
    [
      `1:file:${DIR}/a:b.log`,
      `Log output '1:file:${DIR}/a:b.log' does not meet the format requirements for destination type 'file'`,
    ],
    ['1:stderr:', "Log output '1:stderr:' does not meet the format requirements for destination type 'stderr'"],
    [
      '1:stderr:garbage',
      "Log output '1:stderr:garbage' does not meet the format requirements for destination type 'stderr'",
    ],
    ['1:stderr x', "Malformed format for log output 'x'"],
    // libvirtd would have created ${DIR}/a before failing on the second half of the name.
    [`1:file:${DIR}/a b.log`, "Malformed format for log output 'b.log'"],
    ['1:file:/etc/x 1:bogus', "Invalid log destination 'bogus' for log output '1:bogus'"],
    ['1:stderr\u00a02:journald', "Invalid log destination 'stderr\u00a02' for log output '1:stderr\u00a02:journald'"],
    ['1:stderr,2:journald', "Invalid log destination 'stderr,2' for log output '1:stderr,2:journald'"],
    ['1:STDERR', "Invalid log destination 'STDERR' for log output '1:STDERR'"],
    ['0:stderr', "Invalid log priority '0' for log output '0:stderr'"],
    ['5:stderr', "Invalid log priority '5' for log output '5:stderr'"],
    ['-1:stderr', "Invalid log priority '-1' for log output '-1:stderr'"],
    ['4294967297:stderr', "Invalid log priority '4294967297' for log output '4294967297:stderr'"],
    ['１:stderr', "Invalid log priority '１' for log output '１:stderr'"], // a full-width digit is no digit
    ['1.0:stderr', "Invalid log priority '1.0' for log output '1.0:stderr'"],
    ['1', "Malformed format for log output '1'"],
  ];
  for (const [text, detail] of cases) {
    it(JSON.stringify(text), () => libvirtRefuses(() => readOutputs(text), detail));
  }
});

describe('readFilters', () => {
  const accepted: [string, [number, string][]][] = [
    ['', []],
    ['   ', []],
    [
      '3:remote 4:event',
      [
        [3, 'remote'],
        [4, 'event'],
      ],
    ],
    ['1:+qemu', [[1, 'qemu']]],
    ['+1:qemu', [[1, 'qemu']]],
    ['1:++x', [[1, '+x']]],
    ['2:ünï-日本', [[2, 'ünï-日本']]],
    ['1:*', [[1, '*']]],
    [`1:${'m'.repeat(60_000)}`, [[1, 'm'.repeat(60_000)]]],
  ];
  for (const [text, expected] of accepted) {
    it(`reads ${JSON.stringify(text.slice(0, 40))}`, () => {
      assert.deepEqual(
        readFilters(text).map((f) => [f.level, f.match]),
        expected,
      );
    });
  }

  const ownWords: [string, string, string, RegExp][] = [
    [
      'the SSH key attack of issue 11',
      '1:x\nssh-ed25519 AAAAC3Nza attacker@host\n',
      '1:x\nssh-ed25519',
      /U\+000A \(LF/,
    ],
    ['CR', '1:qemu\r', '1:qemu\r', /U\+000D/],
    ['NUL', '1:a\u0000b', '1:a\u0000b', /U\+0000/],
    ['TAB, which libvirt would keep in the match', '1:a\tb', '1:a\tb', /U\+0009/],
    ['ESC', '1:\u001b]0;title\u0007', '1:\u001b]0;title\u0007', /U\+001B/],
    ['an unpaired surrogate', '1:\ud83d', '1:\ud83d', /surrogate/],
    ['a third field libvirt would drop', '1:a:b', '1:a:b', /libvirt would ignore ":b" after the match/],
    ['empty trailing fields', '2:x::', '2:x::', /ignore "::"/],
    ['a third field after a good filter', '3:remote 1:util:junk', '1:util:junk', /ignore ":junk"/],
  ];
  for (const [name, text, token, reason] of ownWords) {
    it(`refuses ${name}`, () => refused(() => readFilters(text), token, reason));
  }

  const libvirtWords: [string, string][] = [
    ['qemu', "Malformed format for filter 'qemu'"],
    ['1:', "Invalid match string ''"],
    ['1:+', "Invalid match string '+'"],
    ['1:+:x', "Invalid match string '+'"],
    ['5:x', "Invalid priority '5' for filter '5:x'"],
    ['3:remote 0:x', "Invalid priority '0' for filter '0:x'"],
  ];
  for (const [text, detail] of libvirtWords) {
    it(`refuses ${JSON.stringify(text)} in libvirt's words`, () => libvirtRefuses(() => readFilters(text), detail));
  }
});
