/**
 * Log output/filter syntax. Cases marked [live] in the tables were checked by hand against libvirtd 9.0.0
 * (Debian 9.0.0-4+deb12u2), with virt-admin daemon-log-outputs/daemon-log-filters and with raw admin calls
 * (procs 14-17) that show the exact GET bytes and error codes: every error text below, the reply strings of the
 * accepting cases (including the trailing space and the NULL reply of GET filters), relative and odd file paths,
 * tabs, '\r'/'\v'/'\f' before a level, "+1", "01", "-0", "0x1", duplicates, and a SET of blanks (zero outputs).
 * A one-off differential run also sent 4,500 random strings (pieces like digits, '+', '-', ':', ' ', '\t', '\n',
 * destinations, globs) to that libvirtd and compared error texts/codes and GET replies with this module: all equal,
 * except the GET after a SET of blanks, which libvirtd fails with a stale per-thread error (see formatOutputs).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, LocalError } from '../../src/rpc/errors.js';
import {
  addOutput,
  canonicalizeLogPath,
  formatFilterSpecs,
  formatFiltersReply,
  formatOutputs,
  formatOutputSpecs,
  levelOfPriority,
  LoggingSyntaxError,
  parseFilter,
  parseFilters,
  parseFiltersReply,
  parseLogLevel,
  parseOutput,
  parseOutputs,
  parseOutputsReply,
  priorityName,
  splitLogList,
  type LogFilterSpec,
  type LogOutputSpec,
} from '../../src/admin/logging-syntax.js';

/** Asserts that fn throws a LoggingSyntaxError with exactly libvirt's message. */
function assertLibvirtError(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof LoggingSyntaxError, `expected LoggingSyntaxError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

describe('parseLogLevel (virStrToLong_uip then 1..4)', () => {
  const cases: [string, number | null][] = [
    ['1', 1], ['2', 2], ['3', 3], ['4', 4],
    ['+1', 1], ['01', 1], ['00000000000000000001', 1], // [live]
    ['\t1', 1], ['\n2', 2], ['\v3', 3], ['\r1', 1], ['\f2', 2], [' 4', 4], // [live] except ' 4' (cannot be sent)
    ['0', null], ['5', null], ['-1', null], ['-0', null], ['0x1', null], ['+-1', null], ['4294967297', null], // [live]
    ['', null], ['+', null], ['a', null], ['1\n', null], ['1\t', null], ['1 ', null], ['1.0', null], ['١', null],
  ];
  for (const [token, expected] of cases) {
    it(`${JSON.stringify(token)} -> ${expected}`, () => assert.equal(parseLogLevel(token), expected));
  }

  it('names the levels', () => {
    assert.deepEqual([1, 2, 3, 4].map((l) => priorityName(l as 1)), ['debug', 'info', 'warning', 'error']);
    assert.equal(levelOfPriority('warning'), 3);
    assert.equal(levelOfPriority('WARNING'), null);
    assert.equal(levelOfPriority('warn'), null);
  });
});

describe('splitLogList', () => {
  it('splits at spaces only and drops empty tokens', () => {
    assert.deepEqual(splitLogList('  1:a   2:b  '), ['1:a', '2:b']);
    assert.deepEqual(splitLogList('1:a\t2:b'), ['1:a\t2:b']);
    assert.deepEqual(splitLogList('   '), []);
    assert.deepEqual(splitLogList(''), []);
  });
});

describe('canonicalizeLogPath (g_canonicalize_filename from cwd /)', () => {
  const cases: [string, string][] = [
    ['rel.log', '/rel.log'], // [live]
    ['', '/'], // [live] then "failed to open /: Is a directory"
    ['.', '/'], // [live]
    ['/var/log/libvirt/..', '/var/log'], // [live]
    ['/var/log/libvirt/../libvirt/b.log', '/var/log/libvirt/b.log'], // [live]
    ['/var/log/libvirt/./d.log', '/var/log/libvirt/d.log'], // [live]
    ['/var/log/libvirt//e.log', '/var/log/libvirt/e.log'], // [live]
    ['/var/log/libvirt/f.log/', '/var/log/libvirt/f.log'], // [live]
    ['/../var/log/libvirt/g.log', '/var/log/libvirt/g.log'], // [live]
    ['//var/log/libvirt/c.log', '//var/log/libvirt/c.log'], // [live] two leading slashes are kept
    ['///var/log/libvirt/c.log', '/var/log/libvirt/c.log'], // [live]
    ['/', '/'],
    ['a/../../b', '/b'],
  ];
  for (const [path, expected] of cases) {
    it(`${JSON.stringify(path)} -> ${expected}`, () => assert.equal(canonicalizeLogPath(path), expected));
  }

  it('resolves a relative path from another cwd', () => {
    assert.equal(canonicalizeLogPath('x/../y.log', '/srv/'), '/srv/y.log');
    assert.equal(canonicalizeLogPath('y.log', '/srv'), '/srv/y.log');
  });
});

describe('parseOutputs: accepted strings (result shown as libvirtd GET shows it)', () => {
  const cases: [string, string, number][] = [
    ['4:stderr 3:stderr', '3:stderr', 1], // [live] a later identical output replaces the earlier one
    ['  1:stderr   2:syslog:foo  ', '1:stderr 2:syslog:foo', 2], // [live]
    ['1:journald', '1:journald', 1], // [live]
    ['3:file:/var/log/libvirt/libvirtd.log', '3:file:/var/log/libvirt/libvirtd.log', 1],
    ['1:file:/var/log/libvirt/a.log 2:file:/var/log/libvirt/a.log', '2:file:/var/log/libvirt/a.log', 1], // [live]
    ['1:file:/var/log/libvirt/a.log 2:file:/var/log/libvirt/./a.log', '2:file:/var/log/libvirt/a.log', 1], // [live]
    ['1:file:/var/log/libvirt/h.log 1:syslog:q 2:file:/var/log/libvirt//h.log', '1:syslog:q 2:file:/var/log/libvirt/h.log', 2], // [live]
    ['1:syslog:a 2:stderr 3:syslog:a', '2:stderr 3:syslog:a', 2], // [live] the replacement goes last
    ['1:stderr 1:syslog:a 2:syslog:b', '1:stderr 1:syslog:a 2:syslog:b', 3], // [live] other idents are other outputs
    ['1:stderr 1:journald 2:stderr', '1:journald 2:stderr', 2], // [live]
    ['1:syslog:x 1:syslog:x', '1:syslog:x', 1], // [live]
    ['1:syslog:', '1:syslog:', 1], // [live] an empty ident is accepted
    ['+1:stderr', '1:stderr', 1], // [live]
    ['01:stderr', '1:stderr', 1], // [live]
    ['\t1:stderr', '1:stderr', 1], // [live]
    ['\r1:stderr', '1:stderr', 1], // [live]
    ['1:file:rel.log', '1:file:/rel.log', 1], // [live] relative: resolved from the daemon's cwd, not an error
    ['1:file:', '1:file:/', 1], // [live] parses; opening "/" then fails in the daemon (code 38)
    ['1:file://var/log/libvirt/c.log', '1:file://var/log/libvirt/c.log', 1], // [live]
    ['   ', '', 0], // [live] blanks are not the default: zero outputs (libvirtd's GET then fails)
  ];
  for (const [src, reply, count] of cases) {
    it(JSON.stringify(src), () => {
      const outputs = parseOutputs(src);
      assert.ok(outputs);
      assert.equal(formatOutputs(outputs), reply);
      assert.equal(outputs.length, count);
    });
  }

  it('returns null (use the daemon default) for "" and null', () => {
    assert.equal(parseOutputs(''), null); // [live] GET then shows 3:file:/var/log/libvirt/libvirtd.log
    assert.equal(parseOutputs(null), null); // [live]
  });

  it('builds objects with the raw token, canonical path and ident', () => {
    assert.deepEqual(parseOutputs(' 3:file:/var/log/../log/x.log 2:syslog:libvirtd 1:stderr'), [
      { priority: 'warning', level: 3, destination: 'file', path: '/var/log/x.log', raw: '3:file:/var/log/../log/x.log' },
      { priority: 'info', level: 2, destination: 'syslog', ident: 'libvirtd', raw: '2:syslog:libvirtd' },
      { priority: 'debug', level: 1, destination: 'stderr', raw: '1:stderr' },
    ]);
    assert.equal(parseOutput('1:file:a.log', '/srv').path, '/srv/a.log');
  });

  it('addOutput replaces an identical output and appends', () => {
    const list = [parseOutput('1:stderr'), parseOutput('2:syslog:a')];
    assert.equal(formatOutputs(addOutput(list, parseOutput('4:stderr'))), '2:syslog:a 4:stderr');
    assert.equal(formatOutputs(addOutput(list, parseOutput('4:syslog:b'))), '1:stderr 2:syslog:a 4:syslog:b');
    assert.equal(list.length, 2);
  });
});

describe('parseOutputs: rejected strings (exact libvirtd messages)', () => {
  const cases: [string, string][] = [
    ['x', "Malformed format for log output 'x'"], // [live]
    ['4:stderr 2:stderr x', "Malformed format for log output 'x'"], // [live] only the bad token is named
    ['1 :stderr', "Malformed format for log output '1'"], // [live]
    ['1:syslog:a b', "Malformed format for log output 'b'"], // [live]
    ['5:stderr', "Invalid log priority '5' for log output '5:stderr'"], // [live]
    ['0:stderr', "Invalid log priority '0' for log output '0:stderr'"], // [live]
    ['-1:stderr', "Invalid log priority '-1' for log output '-1:stderr'"], // [live]
    ['-0:stderr', "Invalid log priority '-0' for log output '-0:stderr'"], // [live]
    ['0x1:stderr', "Invalid log priority '0x1' for log output '0x1:stderr'"], // [live]
    ['+-1:stderr', "Invalid log priority '+-1' for log output '+-1:stderr'"], // [live]
    ['4294967297:stderr', "Invalid log priority '4294967297' for log output '4294967297:stderr'"], // [live]
    ['a:stderr', "Invalid log priority 'a' for log output 'a:stderr'"], // [live]
    [':stderr', "Invalid log priority '' for log output ':stderr'"], // [live]
    [':', "Invalid log priority '' for log output ':'"], // [live]
    ['1\n:stderr', "Invalid log priority '1\n' for log output '1\n:stderr'"], // [live]
    ['9:bogus:x:y', "Invalid log priority '9' for log output '9:bogus:x:y'"], // [live] priority is checked first
    ['1:foo', "Invalid log destination 'foo' for log output '1:foo'"], // [live]
    ['1:stdout', "Invalid log destination 'stdout' for log output '1:stdout'"], // [live]
    ['1:STDERR', "Invalid log destination 'STDERR' for log output '1:STDERR'"], // [live] case-sensitive
    ['1:', "Invalid log destination '' for log output '1:'"], // [live]
    ['1::', "Invalid log destination '' for log output '1::'"], // [live]
    ['1:stderr\t2:stderr', "Invalid log destination 'stderr\t2' for log output '1:stderr\t2:stderr'"], // [live]
    ['1:stderr\t', "Invalid log destination 'stderr\t' for log output '1:stderr\t'"], // [live]
    ['1:bogus 1:file:/x', "Invalid log destination 'bogus' for log output '1:bogus'"], // [live]
    ['1:stderr:x', "Log output '1:stderr:x' does not meet the format requirements for destination type 'stderr'"], // [live]
    ['1:journald:x', "Log output '1:journald:x' does not meet the format requirements for destination type 'journald'"],
    ['1:syslog', "Log output '1:syslog' does not meet the format requirements for destination type 'syslog'"], // [live]
    ['1:file', "Log output '1:file' does not meet the format requirements for destination type 'file'"], // [live]
    ['1:syslog:a:b', "Log output '1:syslog:a:b' does not meet the format requirements for destination type 'syslog'"], // [live]
    ['1:file:/var/log/libvirt/a:b', "Log output '1:file:/var/log/libvirt/a:b' does not meet the format requirements for destination type 'file'"], // [live]
  ];
  for (const [src, detail] of cases) {
    it(JSON.stringify(src), () => assertLibvirtError(() => parseOutputs(src), `invalid argument: ${detail}`));
  }
});

describe('LoggingSyntaxError', () => {
  it('carries libvirt code 8, domain 0, the prefixed message and the detail', () => {
    try {
      parseOutputs('1:foo');
      assert.fail('expected an error');
    } catch (error) {
      assert.ok(error instanceof LoggingSyntaxError);
      assert.ok(error instanceof LocalError);
      assert.equal(error.libvirtCode, 8); // [live] 8/0
      assert.equal(error.libvirtDomain, 0);
      assert.equal(error.code, ErrorCode.INVALID_ARGUMENT);
      assert.equal(error.name, 'LoggingSyntaxError');
      assert.equal(error.detail, "Invalid log destination 'foo' for log output '1:foo'");
      assert.equal(error.message, `invalid argument: ${error.detail}`);
    }
  });
});

describe('parseFilters: accepted strings (result shown as libvirtd GET shows it)', () => {
  const cases: [string, string | null, number][] = [
    ['4:event 3:+remote', '4:*event* 3:*remote* ', 2], // [live]
    ['4:*event*', '4:**event** ', 1], // [live]
    ['1:x 2:+y 3:*z', '1:*x* 2:*y* 3:**z* ', 3], // [live]
    ['1:a:b', '1:*a* ', 1], // [live] parts after the second are ignored
    ['1:a 1:a', '1:*a* 1:*a* ', 2], // [live] duplicates are kept
    ['+1:x', '1:*x* ', 1], // [live]
    ['\t2:x', '2:*x* ', 1], // [live]
    ['\f2:x', '2:*x* ', 1], // [live]
    ['1:++', '1:*+* ', 1], // [live] only one '+' is dropped
    ['  1:x   2:y  ', '1:*x* 2:*y* ', 2], // [live]
    ['1:x\t2:y', '1:*x\t2* ', 1], // [live] a tab does not separate
    ['1:util.file', '1:*util.file* ', 1], // [live]
    ['1:a?b[c]', '1:*a?b[c]* ', 1], // [live] glob characters are kept as they are
    ['', null, 0], // [live] GET then sends a NULL string with nfilters 0
    [' ', null, 0], // [live]
  ];
  for (const [src, reply, count] of cases) {
    it(JSON.stringify(src), () => {
      const filters = parseFilters(src);
      assert.equal(formatFiltersReply(filters), reply);
      assert.equal(filters.length, count);
    });
  }

  it('null clears all filters', () => assert.deepEqual(parseFilters(null), [])); // [live]

  it('builds objects with match, stored form, stack-trace flag and raw token', () => {
    assert.deepEqual(parseFilters('3:+remote 4:*event*:x'), [
      { priority: 'warning', level: 3, match: 'remote', stored: '*remote*', stackTrace: true, raw: '3:+remote' },
      { priority: 'error', level: 4, match: '*event*', stored: '**event**', stackTrace: false, raw: '4:*event*:x' },
    ]);
  });
});

describe('parseFilters: rejected strings (exact libvirtd messages)', () => {
  const cases: [string, string][] = [
    ['1', "Malformed format for filter '1'"], // [live]
    ['x 1:y', "Malformed format for filter 'x'"], // [live]
    ['1 :x', "Malformed format for filter '1'"], // [live]
    ['1:', "Invalid match string ''"], // [live]
    ['1:+', "Invalid match string '+'"], // [live]
    ['1:+:x', "Invalid match string '+'"], // [live]
    ['1::x', "Invalid match string ''"], // [live]
    [':x', "Invalid priority '' for filter ':x'"], // [live]
    [':', "Invalid priority '' for filter ':'"], // [live]
    ['::', "Invalid priority '' for filter '::'"], // [live]
    ['+:x', "Invalid priority '+' for filter '+:x'"], // [live]
    ['0:x', "Invalid priority '0' for filter '0:x'"], // [live]
    ['5:x', "Invalid priority '5' for filter '5:x'"], // [live]
    ['a:x', "Invalid priority 'a' for filter 'a:x'"], // [live]
    ['-0:x', "Invalid priority '-0' for filter '-0:x'"], // [live]
    ['1\t:x', "Invalid priority '1\t' for filter '1\t:x'"], // [live]
    ['4294967297:x', "Invalid priority '4294967297' for filter '4294967297:x'"], // [live]
    ['1:a b:c', "Invalid priority 'b' for filter 'b:c'"], // [live]
    ['0:', "Invalid priority '0' for filter '0:'"], // priority is checked before the match
  ];
  for (const [src, detail] of cases) {
    it(JSON.stringify(src), () => assertLibvirtError(() => parseFilters(src), `invalid argument: ${detail}`));
  }
});

describe('GET replies as objects', () => {
  it('parses outputs', () => {
    assert.deepEqual(parseOutputsReply('3:file:/var/log/libvirt/libvirtd.log 1:journald 2:syslog:libvirtd 4:syslog:'), [
      { priority: 'warning', level: 3, destination: 'file', path: '/var/log/libvirt/libvirtd.log', raw: '3:file:/var/log/libvirt/libvirtd.log' },
      { priority: 'debug', level: 1, destination: 'journald', raw: '1:journald' },
      { priority: 'info', level: 2, destination: 'syslog', ident: 'libvirtd', raw: '2:syslog:libvirtd' },
      { priority: 'error', level: 4, destination: 'syslog', ident: '', raw: '4:syslog:' },
    ]);
    assert.deepEqual(parseOutputsReply(null), []);
    assert.deepEqual(parseOutputsReply(''), []);
  });

  it('parses 9.0.0 filters, stripping one pair of stars', () => {
    assert.deepEqual(parseFiltersReply('4:*event* 3:**remote** 1:*x\t2* '), [
      { priority: 'error', level: 4, match: 'event', stored: '*event*', stackTrace: false, raw: '4:*event*' },
      { priority: 'warning', level: 3, match: '*remote*', stored: '**remote**', stackTrace: false, raw: '3:**remote**' },
      { priority: 'debug', level: 1, match: 'x\t2', stored: '*x\t2*', stackTrace: false, raw: '1:*x\t2*' },
    ]);
    assert.deepEqual(parseFiltersReply(null), []);
  });

  it('parses the older unwrapped form with its + marker', () => {
    assert.deepEqual(parseFiltersReply('1:+util 2:qemu '), [
      { priority: 'debug', level: 1, match: 'util', stored: 'util', stackTrace: true, raw: '1:+util' },
      { priority: 'info', level: 2, match: 'qemu', stored: 'qemu', stackTrace: false, raw: '2:qemu' },
    ]);
  });

  it('rejects a reply libvirt could not have produced', () => {
    assertLibvirtError(() => parseOutputsReply('3:stdout'), "invalid argument: Invalid log destination 'stdout' for log output '3:stdout'");
    assertLibvirtError(() => parseFiltersReply('9:*x* '), "invalid argument: Invalid priority '9' for filter '9:*x*'");
    assertLibvirtError(() => parseFiltersReply('x '), "invalid argument: Malformed format for filter 'x'");
  });
});

describe('objects -> SET string', () => {
  it('formats outputs and filters', () => {
    const outputs: LogOutputSpec[] = [
      { level: 3, destination: 'file', path: '/var/log/libvirt/libvirtd.log' },
      { priority: 'debug', destination: 'journald' },
      { level: 2, priority: 'info', destination: 'syslog', ident: 'libvirtd' },
      { level: 4, destination: 'stderr' },
    ];
    assert.equal(formatOutputSpecs(outputs), '3:file:/var/log/libvirt/libvirtd.log 1:journald 2:syslog:libvirtd 4:stderr');
    const filters: LogFilterSpec[] = [{ level: 4, match: 'event' }, { priority: 'warning', match: 'remote', stackTrace: true }];
    assert.equal(formatFilterSpecs(filters), '4:event 3:+remote');
    assert.equal(formatOutputSpecs([]), '');
    assert.equal(formatFilterSpecs([]), '');
  });

  const outputErrors: [LogOutputSpec, string][] = [
    [{ level: 7, destination: 'stderr' }, "Invalid log priority '7' for log output '7:stderr'"],
    [{ level: 7, destination: 'stdout' }, "Invalid log priority '7' for log output '7:stdout'"],
    [{ level: 1, destination: 'stdout' }, "Invalid log destination 'stdout' for log output '1:stdout'"],
    [{ level: 1, destination: 'file:/x' }, "Invalid log destination 'file:/x' for log output '1:file:/x'"],
    [{ level: 1, destination: 'file' }, "Log output '1:file' does not meet the format requirements for destination type 'file'"],
    [{ level: 1, destination: 'syslog' }, "Log output '1:syslog' does not meet the format requirements for destination type 'syslog'"],
    [{ level: 1, destination: 'file', path: '/a:b' }, "Log output '1:file:/a:b' does not meet the format requirements for destination type 'file'"],
    [{ level: 1, destination: 'file', path: 'rel.log' }, "Log file path 'rel.log' must be absolute"],
    [{ level: 1, destination: 'file', path: '/a b' }, "Log output path '/a b' must not contain spaces"],
    [{ level: 1, destination: 'syslog', ident: 'a b' }, "Log output ident 'a b' must not contain spaces"],
    [{ level: 1, destination: 'file', path: '/x', ident: 'y' }, "'ident' is not allowed for log output destination 'file'"],
    [{ level: 1, destination: 'syslog', path: '/x' }, "'path' is not allowed for log output destination 'syslog'"],
    [{ level: 1, destination: 'stderr', path: '/x' }, "'path' is not allowed for log output destination 'stderr'"],
    [{ level: 1, destination: 'journald', ident: 'x' }, "'ident' is not allowed for log output destination 'journald'"],
    [{ destination: 'stderr' }, "Missing level or priority for log output destination 'stderr'"],
    [{ priority: 'warn', destination: 'stderr' }, "Unknown priority 'warn' for log output destination 'stderr', expected debug, info, warning or error"],
    [{ level: 1, priority: 'error', destination: 'stderr' }, "Level 1 and priority 'error' disagree for log output destination 'stderr'"],
  ];
  for (const [spec, detail] of outputErrors) {
    it(`rejects output ${JSON.stringify(spec)}`, () => assertLibvirtError(() => formatOutputSpecs([spec]), `invalid argument: ${detail}`));
  }

  const filterErrors: [LogFilterSpec, string][] = [
    [{ level: 0, match: 'x' }, "Invalid priority '0' for filter '0:x'"],
    [{ level: 1, match: '' }, "Invalid match string ''"],
    [{ level: 1, match: '', stackTrace: true }, "Invalid match string '+'"],
    [{ level: 1, match: 'a:b' }, "Log filter match 'a:b' must not contain ':' or spaces"],
    [{ level: 1, match: 'a b' }, "Log filter match 'a b' must not contain ':' or spaces"],
    [{ level: 1, match: '+x' }, "Log filter match '+x' must not start with '+' unless stackTrace is set"],
    [{ match: 'x' }, "Missing level or priority for log filter 'x'"],
  ];
  for (const [spec, detail] of filterErrors) {
    it(`rejects filter ${JSON.stringify(spec)}`, () => assertLibvirtError(() => formatFilterSpecs([spec]), `invalid argument: ${detail}`));
  }

  it('keeps a leading + in the match when stackTrace is set', () => {
    assert.equal(formatFilterSpecs([{ level: 1, match: '+x', stackTrace: true }]), '1:++x');
    assert.equal(parseFilter('1:++x').match, '+x');
  });
});

describe('round trips object -> SET string -> daemon state -> GET reply -> object', () => {
  const level = fc.constantFrom(1, 2, 3, 4);
  // Names without ' ' and ':' (the two characters the syntax cannot carry); paths are absolute and canonical.
  const segment = fc.stringMatching(/^[A-Za-z0-9_.\-+*?\t]{1,8}$/).filter((s) => s !== '.' && s !== '..');
  const output = fc.oneof(
    fc.record({ level, destination: fc.constantFrom('stderr', 'journald') }),
    fc.record({ level, destination: fc.constant('syslog'), ident: fc.stringMatching(/^[A-Za-z0-9_.\-+*\t]{0,8}$/) }),
    fc.record({ level, destination: fc.constant('file'), path: fc.array(segment, { minLength: 1, maxLength: 4 }).map((p) => `/${p.join('/')}`) }),
  );

  it('outputs', () => {
    // fast-check records have a null prototype; copy them so deepEqual compares plain objects.
    const key = (o: LogOutputSpec): string => JSON.stringify([o.destination, o.path, o.ident]);
    fc.assert(
      fc.property(fc.array(output, { maxLength: 6 }), (specs) => {
        const parsed = parseOutputs(formatOutputSpecs(specs)) ?? [];
        const reply = parseOutputsReply(formatOutputs(parsed));
        // De-duplication keeps the last of identical outputs, in the order of those last occurrences.
        const expected = specs.filter((s, i) => !specs.slice(i + 1).some((t) => key(t) === key(s))).map((s) => ({ ...s }));
        assert.deepEqual(reply.map(({ raw: _raw, priority: _priority, ...rest }) => rest), expected);
        assert.deepEqual(reply.map((o) => o.priority), expected.map((o) => priorityName(o.level as 1)));
      }),
    );
  });

  it('filters', () => {
    const filter = fc.record({ level, match: fc.stringMatching(/^[A-Za-z0-9_.\-*?\t][A-Za-z0-9_.\-+*?\t]{0,8}$/), stackTrace: fc.boolean() });
    fc.assert(
      fc.property(fc.array(filter, { maxLength: 6 }), (specs) => {
        const reply = parseFiltersReply(formatFiltersReply(parseFilters(formatFilterSpecs(specs))));
        // GET does not show the stack-trace marker, so it comes back false.
        assert.deepEqual(reply.map((f) => ({ level: f.level, match: f.match })), specs.map((s) => ({ level: s.level, match: s.match })));
        assert.ok(reply.every((f) => !f.stackTrace && f.stored === `*${f.match}*`));
      }),
    );
  });

  it('a parsed object formats back to its own token', () => {
    for (const token of ['3:file:/var/log/libvirt/libvirtd.log', '1:journald', '2:syslog:libvirtd', '4:stderr']) {
      assert.equal(formatOutputSpecs([parseOutput(token)]), token);
    }
    for (const token of ['4:event', '3:+remote', '1:*x*']) assert.equal(formatFilterSpecs([parseFilter(token)]), token);
  });
});
