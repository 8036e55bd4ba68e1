// libvirt's log filter syntax: SET strings and GET replies.
// Cases marked [live] were checked by hand against libvirtd 9.0.0 (Debian 9.0.0-4+deb12u2) with virt-admin
// daemon-log-outputs/daemon-log-filters and with raw admin calls (procs 14-17) that show the exact GET bytes and
// error codes. A one-off differential run also sent 4,500 random strings (pieces like digits, '+', '-', ':', ' ',
// '\t', '\n', destinations, globs) to that libvirtd and compared error texts/codes and GET replies with these
// modules: all equal, except the GET after a SET of blanks, which libvirtd fails with a stale per-thread error
// (see formatOutputs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFiltersReply, parseFilters, parseFiltersReply } from '../../../src/admin/logging/filters.js';
import { LoggingSyntaxError } from '../../../src/admin/logging/syntax-error.js';

/** Asserts that fn throws a LoggingSyntaxError with exactly libvirt's message. */
function assertLibvirtError(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof LoggingSyntaxError, `expected LoggingSyntaxError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

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

describe('GET filters reply as objects', () => {
  it('parses 9.0.0 filters, stripping one pair of stars', () => {
    assert.deepEqual(parseFiltersReply('4:*event* 3:**remote** 1:*x\t2* '), [
      { priority: 'error', level: 4, match: 'event', stored: '*event*', stackTrace: false, raw: '4:*event*' },
      {
        priority: 'warning',
        level: 3,
        match: '*remote*',
        stored: '**remote**',
        stackTrace: false,
        raw: '3:**remote**',
      },
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
    assertLibvirtError(() => parseFiltersReply('9:*x* '), "invalid argument: Invalid priority '9' for filter '9:*x*'");
    assertLibvirtError(() => parseFiltersReply('x '), "invalid argument: Malformed format for filter 'x'");
  });
});
