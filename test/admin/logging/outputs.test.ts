// libvirt's log output syntax: SET strings and GET replies.
// Cases marked [live] were checked by hand against libvirtd 9.0.0 (Debian 9.0.0-4+deb12u2) with virt-admin
// daemon-log-outputs/daemon-log-filters and with raw admin calls (procs 14-17) that show the exact GET bytes and
// error codes. A one-off differential run also sent 4,500 random strings (pieces like digits, '+', '-', ':', ' ',
// '\t', '\n', destinations, globs) to that libvirtd and compared error texts/codes and GET replies with these
// modules: all equal, except the GET after a SET of blanks, which libvirtd fails with a stale per-thread error
// (see formatOutputs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addOutput,
  formatOutputs,
  parseOutput,
  parseOutputs,
  parseOutputsReply,
} from '../../../src/admin/logging/outputs.js';
import { LoggingSyntaxError } from '../../../src/admin/logging/syntax-error.js';

/** Asserts that fn throws a LoggingSyntaxError with exactly libvirt's message. */
function assertLibvirtError(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof LoggingSyntaxError, `expected LoggingSyntaxError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

describe('parseOutputs: accepted strings (result shown as libvirtd GET shows it)', () => {
  const cases: [string, string, number][] = [
    ['4:stderr 3:stderr', '3:stderr', 1], // [live] a later identical output replaces the earlier one
    ['  1:stderr   2:syslog:foo  ', '1:stderr 2:syslog:foo', 2], // [live]
    ['1:journald', '1:journald', 1], // [live]
    ['3:file:/var/log/libvirt/libvirtd.log', '3:file:/var/log/libvirt/libvirtd.log', 1],
    ['1:file:/var/log/libvirt/a.log 2:file:/var/log/libvirt/a.log', '2:file:/var/log/libvirt/a.log', 1], // [live]
    ['1:file:/var/log/libvirt/a.log 2:file:/var/log/libvirt/./a.log', '2:file:/var/log/libvirt/a.log', 1], // [live]
    [
      '1:file:/var/log/libvirt/h.log 1:syslog:q 2:file:/var/log/libvirt//h.log',
      '1:syslog:q 2:file:/var/log/libvirt/h.log',
      2,
    ], // [live]
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
      {
        priority: 'warning',
        level: 3,
        destination: 'file',
        path: '/var/log/x.log',
        raw: '3:file:/var/log/../log/x.log',
      },
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
    [
      '1:file:/var/log/libvirt/a:b',
      "Log output '1:file:/var/log/libvirt/a:b' does not meet the format requirements for destination type 'file'",
    ], // [live]
  ];
  for (const [src, detail] of cases) {
    it(JSON.stringify(src), () => assertLibvirtError(() => parseOutputs(src), `invalid argument: ${detail}`));
  }
});

describe('GET outputs reply as objects', () => {
  it('parses outputs', () => {
    assert.deepEqual(parseOutputsReply('3:file:/var/log/libvirt/libvirtd.log 1:journald 2:syslog:libvirtd 4:syslog:'), [
      {
        priority: 'warning',
        level: 3,
        destination: 'file',
        path: '/var/log/libvirt/libvirtd.log',
        raw: '3:file:/var/log/libvirt/libvirtd.log',
      },
      { priority: 'debug', level: 1, destination: 'journald', raw: '1:journald' },
      { priority: 'info', level: 2, destination: 'syslog', ident: 'libvirtd', raw: '2:syslog:libvirtd' },
      { priority: 'error', level: 4, destination: 'syslog', ident: '', raw: '4:syslog:' },
    ]);
    assert.deepEqual(parseOutputsReply(null), []);
    assert.deepEqual(parseOutputsReply(''), []);
  });

  it('rejects a reply libvirt could not have produced', () => {
    assertLibvirtError(
      () => parseOutputsReply('3:stdout'),
      "invalid argument: Invalid log destination 'stdout' for log output '3:stdout'",
    );
  });
});
